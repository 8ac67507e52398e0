"""Which chunks items are written from: seeded, spread over the document's depths."""

from __future__ import annotations

import random
import re
from collections.abc import Sequence

from ..bench.generate import item_seed
from ..records import Chunk
from ..verify import answer_names
from .records import MULTI, Seed

_CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]{3,}")
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


def plan_seeds(view_key: str, chunks: Sequence[Chunk], n: int, kinds: Sequence[str], seed: int) -> list[Seed]:
    """The items of one view, the same for the same seed and chunks (so a rerun resumes them).
    Kinds are dealt in turn and shuffled, so each kind is spread over the depths too."""
    rng = random.Random(item_seed(seed, view_key))
    where = spread(n, len(chunks), rng)
    dealt = [kinds[k % len(kinds)] for k in range(len(where))]
    rng.shuffle(dealt)
    seeds: list[Seed] = []
    for k, (i, kind) in enumerate(zip(where, dealt, strict=True)):
        picked: tuple[int, ...] = (i,)
        entity = ""
        if kind == MULTI and (found := partner(chunks, i, rng)):
            picked, entity = tuple(sorted((i, found[0]))), found[1]
        # Named by its chunks, not its place in the list: a rerun with another
        # --n reuses a finished item only when it is written from the same chunks.
        item_id = f"{view_key}-{kind}-" + "-".join(f"c{p}" for p in picked)
        if any(s.item == item_id for s in seeds):
            item_id += f"-{k}"  # more items than chunks
        seeds.append(Seed(item_id, kind, picked, entity))
    return seeds


def candidate_names(text: str) -> list[str]:
    """Names a passage uses that may tie it to another: Latin names and numbers,
    and three-character runs of Chinese (no word splitter is needed for a match)."""
    names = [n for n in answer_names(text) if len(n) >= _MIN_NAME and not n.isdigit()]
    for run in _CJK_RUN.findall(text):
        names.extend(run[i : i + 3] for i in range(len(run) - 2))
    return list(dict.fromkeys(names))


def partner(chunks: Sequence[Chunk], i: int, rng: random.Random) -> tuple[int, str] | None:
    """Another chunk, not next to chunk `i`, that shares a rare name with it, and
    the name. Rare: a name in many chunks is a common word, not an entity."""
    texts = [c.text.casefold() for c in chunks]
    most = max(2, len(chunks) // 50)
    options: list[tuple[int, str]] = []
    for name in candidate_names(chunks[i].text):
        folded = name.casefold()
        holders = [j for j, t in enumerate(texts) if folded in t]
        if len(holders) > most:
            continue
        options.extend((j, name) for j in holders if abs(j - i) >= 2)
    return rng.choice(options) if options else None
