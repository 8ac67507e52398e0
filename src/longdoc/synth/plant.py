"""The planted check (`--plant K`): K items get a wrong answer on purpose, and
the filter must drop every one of them.

After an item's draft passes the draft checks, its chunk-local answer is
altered: each name, number or run of Chinese characters in it is replaced by
one of the same kind from another chunk of the document (seeded), so the
agent's answer, right or not, no longer agrees with the recorded one. The
filter then runs as for any item. Probes are marked in their records
(`planted`, `planted_from`), counted apart in the manifest, and never written
to the training files, kept or not: they test the filter, they are not data.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from ..bench.generate import item_seed
from ..records import Chunk
from ..sentences import sentences
from ..verify.names import answer_names, bare
from . import filters
from .job import Planned, SynthConfig
from .records import MULTI, UNANSWERABLE, Draft, Seed, SynthRecord

# A probe whose answer has no value of a kind the document holds elsewhere: not
# altered and not answered (it would test nothing).
NO_WRONG_VALUE = "plant_no_wrong_value"

_NAME, _NUMBER, _HAN, _WORDS = "name", "number", "han", "words"
_NAME_RUN = re.compile(r"[A-Z][A-Za-z'’-]*(?:[ \t]+[A-Z][A-Za-z'’-]*)*")
_NUMBER_WORD = re.compile(r"[\w-]*\d[\w-]*")
_HAN_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_LOWER_WORD = re.compile(r"[a-z]+")
# Words a phrase taken as a wrong plain-word answer must not begin or end with.
_EDGE = frozenset("a an the of and or to in on at by for with from as was were is are be his her its their".split())


def choose(planned: Sequence[Planned], config: SynthConfig) -> set[str]:
    """The items to plant: K of those that can reach the agent (answerable kinds
    past the code-only checks), drawn seeded over every view."""
    if config.plant <= 0:
        return set()
    eligible = [
        s.item
        for p in planned
        for s in p.seeds
        if s.kind != UNANSWERABLE
        and not (s.kind == MULTI and len(s.chunks) < 2)
        and filters.check_depth(s.chunks, p.corpus.docs[0].chunks, config.ends_tokens) is None
    ]
    rng = random.Random(item_seed(config.seed, "plant"))
    return set(rng.sample(eligible, min(config.plant, len(eligible))))


def alter(draft: Draft, seed: Seed, chunks: Sequence[Chunk], config: SynthConfig) -> Draft | None:
    """`draft` with a wrong answer of the same kind, or None when the document
    offers no value that is surely wrong: one that is not in the source chunks
    or the question and shares no word with the value it replaces. Whether the
    agent's answer still agrees with it is left to the filter: that is the test."""
    rng = random.Random(item_seed(config.seed, f"{seed.item}:plant"))
    sources = [chunks[i] for i in seed.chunks]
    others = [
        c
        for k, c in enumerate(chunks)
        if k not in seed.chunks and all(c.end <= s.start or c.start >= s.end for s in sources)
    ]
    rng.shuffle(others)
    taken = bare(" ".join(c.text for c in sources) + " " + draft.question)
    original = draft.answer
    slots = _values(original) or [(0, len(original), _WORDS)]
    used: set[str] = set()
    parts, at = [], 0
    for start, end, kind in slots:
        value = original[start:end]
        wrong = _wrong_value(value, kind, others, taken, used, rng)
        if wrong is None:
            return None
        used.add(bare(wrong))
        parts += [original[at:start], wrong]
        at = end
    altered = "".join([*parts, original[at:]])
    if bare(altered) == bare(original) or bare(altered) in taken:
        return None
    return Draft(draft.question, altered, draft.entity)


def _values(answer: str) -> list[tuple[int, int, str]]:
    """Where an answer's values are: (start, end, kind), names next to each
    other joined into one ("Edda Marn"), in reading order."""
    spans: list[tuple[int, int, str]] = []
    for name in answer_names(answer):
        i = answer.find(name)
        while i >= 0 and any(i < e and s < i + len(name) for s, e, _ in spans):
            i = answer.find(name, i + 1)
        if i < 0:
            continue
        kind = _NUMBER if any(ch.isdigit() for ch in name) else _HAN if _HAN_RUN.fullmatch(name) else _NAME
        spans.append((i, i + len(name), kind))
    merged: list[tuple[int, int, str]] = []
    for s, e, kind in sorted(spans):
        if merged and kind == _NAME == merged[-1][2] and not answer[merged[-1][1] : s].strip():
            merged[-1] = (merged[-1][0], e, _NAME)
        else:
            merged.append((s, e, kind))
    return merged


def _wrong_value(
    value: str, kind: str, others: Sequence[Chunk], taken: str, used: set[str], rng: random.Random
) -> str | None:
    """A value of the same kind from another chunk: the same shape first (as many
    words, as many digits, a run of Chinese characters as long), any shape of the
    kind next (a stretch as long of a longer run); a number the document lacks is
    made up from this one."""
    own = set(value.casefold().split())

    def fits(candidate: str) -> bool:
        b = bare(candidate)
        return (
            bool(b)
            and b not in taken
            and b not in used
            and b not in bare(value)
            and bare(value) not in b
            and not (own & set(candidate.casefold().split()))
        )

    for strict in (True, False) if kind != _WORDS else (True,):
        for chunk in others:
            candidates = _candidates(chunk.text, kind, value, strict)
            rng.shuffle(candidates)
            for candidate in candidates:
                if fits(candidate):
                    return candidate
    if kind == _NUMBER:
        made = re.sub(r"\d+", lambda m: _other_number(m.group(), rng), value)
        return made if fits(made) else None
    return None


def _candidates(text: str, kind: str, value: str, strict: bool) -> list[str]:
    found: list[str] = []
    for sentence in sentences(text):
        if kind == _NAME:
            for m in _NAME_RUN.finditer(sentence):
                words = m.group().split()[1 if m.start() == 0 else 0 :]  # a sentence's first word names nothing
                if words and answer_names(" ".join(words)) == words:
                    if not strict or len(words) == len(value.split()):
                        found.append(" ".join(words))
        elif kind == _NUMBER:
            found += [
                m.group() for m in _NUMBER_WORD.finditer(sentence) if not strict or _shape(m.group()) == _shape(value)
            ]
        elif kind == _HAN:
            n = len(value)
            runs = [r for r in answer_names(sentence) if _HAN_RUN.fullmatch(r)]
            found += (
                [r for r in runs if len(r) == n]
                if strict
                else [r[i : i + n] for r in runs if len(r) > n for i in range(len(r) - n + 1)]
            )
        else:
            n = min(4, max(1, len(value.split())))
            words = sentence.split()
            for i in range(len(words) - n + 1):
                window = words[i : i + n]
                if all(_LOWER_WORD.fullmatch(w) for w in window) and window[0] not in _EDGE and window[-1] not in _EDGE:
                    found.append(" ".join(window))
    return found


def _shape(text: str) -> str:
    return re.sub(r"[^\W\d_]", "a", re.sub(r"\d", "9", text))


def _other_number(digits: str, rng: random.Random) -> str:
    """Another number with as many digits."""
    lo, hi = (10 ** (len(digits) - 1) if len(digits) > 1 else 0), 10 ** len(digits)
    made = digits
    while made == digits:
        made = str(rng.randrange(lo, hi))
    return made


@dataclass
class PlantSummary:
    """The planted check of a run: probes planned, finished, altered; what the
    filter did with them. It passes when none was kept and the agent's answer was
    right on some altered probe before the alteration: a probe the agent got wrong
    anyway is dropped whether or not the rule works, so it proves nothing."""

    planted: int = 0  # probes planned
    finished: int = 0  # probes kept or dropped (an item to retry is neither)
    altered: int = 0  # probes whose answer was made wrong (the others were dropped before)
    agent_right: int = 0  # altered probes whose agent answer agrees with the answer before the alteration
    dropped: dict[str, int] = field(default_factory=dict)  # reason -> probes
    kept: int = 0  # probes the filter kept: the check fails

    @property
    def passed(self) -> bool | None:
        """False: a probe was kept; True: none, and the agent was right on one at least; None: neither yet."""
        return False if self.kept else (True if self.agent_right else None)


def summarize(records: Sequence[SynthRecord], planted: int, threshold: float) -> PlantSummary:
    from collections import Counter

    done = [r for r in records if r.planted and r.error is None]
    altered = [r for r in done if r.planted_from]
    return PlantSummary(
        planted=planted,
        finished=len(done),
        altered=len(altered),
        agent_right=sum(1 for r in altered if (r.planted_from_agreement or 0.0) >= threshold),
        dropped=dict(sorted(Counter(r.reason for r in done if r.reason).items())),
        kept=sum(r.kept for r in done),
    )


def describe(p: PlantSummary) -> str:
    """One line for the CLI and the audit sheet."""
    dropped = sum(p.dropped.values())
    reasons = ", ".join(f"{r} {n}" for r, n in p.dropped.items())
    verdict = {
        True: "passed",
        False: "FAILED: the filter kept a planted wrong answer (raw/ records with planted and kept true)",
        None: "inconclusive: "
        + ("no planted answer has reached the agent" if not p.altered else "the agent was right on no altered probe"),
    }[p.passed]
    unfinished = f", {p.planted - p.finished} not finished" if p.finished < p.planted else ""
    return (
        f"planted check: {p.planted} planted{unfinished}, {p.altered} altered (the agent's answer agreed with "
        f"{p.agent_right} of them before the alteration); dropped {dropped}{f' ({reasons})' if reasons else ''}, "
        f"kept {p.kept}: {verdict}"
    )
