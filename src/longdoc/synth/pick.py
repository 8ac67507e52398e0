"""Which chunks items are written from: seeded, spread over the document's depths."""

from __future__ import annotations

import random
import re
from collections.abc import Sequence

from ..bench.generate import item_seed
from ..bench.tasks import Names
from ..prompts import language_of
from ..records import Chunk
from ..verify.names import answer_names, proper_names
from ..zh_words import tagged_words
from .records import MULTI, UNANSWERABLE, Seed

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
# jieba's part-of-speech tags for names: people (nr, and its nrfg, nrt), places (ns), bodies (nt).
_ZH_NAME_TAGS = frozenset({"nr", "nrfg", "nrt", "ns", "nt"})
_MIN_NAME = 3  # shorter Latin "names" ("He", "AI") are too common to tie two passages together


def spread(n: int, size: int, rng: random.Random) -> list[int]:
    """`n` chunk indexes over `size` chunks: one at random in each of `n` equal
    stretches, so the items cover every depth rather than bunching."""
    if size <= 0:
        return []
    picks = []
    for k in range(n):
        lo = k * size // n
        hi = max(lo + 1, (k + 1) * size // n)
        picks.append(rng.randrange(lo, min(hi, size)))
    return picks


def plan_seeds(
    view_key: str, chunks: Sequence[Chunk], n: int, kinds: Sequence[str], seed: int, ends_tokens: int = 0
) -> list[Seed]:
    """The items of one view, the same for the same seed and chunks (so a rerun resumes them).
    Kinds are dealt in turn and shuffled, so each kind is spread over the depths too.
    Chunks within `ends_tokens` of either end are not picked: the ends filter
    would drop their items unwritten."""
    rng = random.Random(item_seed(seed, view_key))
    lo, hi = middle(chunks, ends_tokens)
    where = [lo + i for i in spread(n, hi - lo, rng)]
    dealt = [kinds[k % len(kinds)] for k in range(len(where))]
    rng.shuffle(dealt)
    names = Names(rng, language_of(" ".join(c.text for c in chunks[lo:hi][:8])))
    seeds: list[Seed] = []
    for k, (i, kind) in enumerate(zip(where, dealt, strict=True)):
        picked: tuple[int, ...] = (i,)
        entity = ""
        if kind == MULTI and (found := partner(chunks, i, rng)):
            picked, entity = tuple(sorted((i, found[0]))), found[1]
        elif kind == UNANSWERABLE:
            # Invented in code: small models asked to invent a name ask about "the king".
            entity = names.person()
        # Named by its chunks, not its place in the list: a rerun with another
        # --n reuses a finished item only when it is written from the same chunks.
        item_id = f"{view_key}-{kind}-" + "-".join(f"c{p}" for p in picked)
        if any(s.item == item_id for s in seeds):
            item_id += f"-{k}"  # more items than chunks
        seeds.append(Seed(item_id, kind, picked, entity))
    return seeds


def middle(chunks: Sequence[Chunk], ends_tokens: int) -> tuple[int, int]:
    """[lo, hi): the chunks not wholly within the first or last `ends_tokens`
    tokens (as `filters.check_depth` counts them); all of them when none is."""
    total = sum(c.tokens for c in chunks)
    at, lo, hi = 0, None, 0
    for i, c in enumerate(chunks):
        if at + c.tokens > ends_tokens and at < total - ends_tokens:
            lo = i if lo is None else lo
            hi = i + 1
        at += c.tokens
    return (0, len(chunks)) if lo is None else (lo, hi)


def candidate_names(text: str) -> list[str]:
    """Names a passage uses that may tie it to another: Latin names and numbers,
    and the Chinese words jieba tags as names of people, places and bodies.
    (Any run of three characters would do as a match, but the rarest such runs
    are words like "带来了" and "被评为": the 1.5B then tied passages about
    nothing in common.)"""
    # Latin names capitalised where no line starts: verse opens every line with
    # a capital, and "Commends" and "Shame" tied passages as if they were people.
    latin = set(proper_names(text))
    names = [n for n in answer_names(text) if len(n) >= _MIN_NAME and (_HAN.search(n) or n in latin)]
    if _HAN.search(text):
        names.extend(w for w, tag in tagged_words(text, guess=True) if tag in _ZH_NAME_TAGS and len(w) >= 2)
    return list(dict.fromkeys(names))


def _times_said(name: str, folded_text: str) -> int:
    """How often a casefolded text says a name. Chinese has no spaces to bound a
    word; a Latin name inside a longer word ("Shame" in "ashamed") is not it."""
    if _HAN.search(name):
        return folded_text.count(name.casefold())
    return len(re.findall(rf"(?<!\w){re.escape(name.casefold())}(?!\w)", folded_text))


def partner(chunks: Sequence[Chunk], i: int, rng: random.Random) -> tuple[int, str] | None:
    """Another chunk, not next to chunk `i`, that shares a rare name with it, and
    the name: of the names chunk `i` shares, one it says twice or more (what it
    is about, not a word in passing: jieba tags "城市进行" and "福利" as names
    too), then one held by the fewest chunks. A name in many chunks is a common
    word, not an entity; in a play every character's name is in several, so
    "rare" is relative."""
    texts = [c.text.casefold() for c in chunks]
    most = max(3, len(chunks) // 8)
    options: list[tuple[bool, int, int, str]] = []  # (said once, holders, chunk, name)
    for name in candidate_names(chunks[i].text):
        said = [_times_said(name, t) for t in texts]
        holders = [j for j, k in enumerate(said) if k]
        if len(holders) > most:
            continue
        once = said[i] < 2
        options.extend((once, len(holders), j, name) for j in holders if abs(j - i) >= 2)
    if not options:
        return None
    best = min(o[:2] for o in options)
    _, _, j, name = rng.choice([o for o in options if o[:2] == best])
    return j, name
