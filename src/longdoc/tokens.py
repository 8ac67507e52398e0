"""Token counting when the model's own tokenizer is not at hand.

The estimate is deliberately conservative (it over-counts) so that chunks and
prompts built from it never overflow a real model's context window:
  - each CJK character, digit and punctuation mark counts as one token
    (Qwen-style BPE vocabularies average ~0.7 tokens per Chinese character
    and split numbers into single digits);
  - Latin letters count one token per four, and at least one per word
    (English averages ~4.5 characters per token);
  - each line break counts as one token; other whitespace is free.
Measured against the Qwen2.5 tokenizer it over-counts English prose by ~25%
and Chinese prose by ~40%.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol, runtime_checkable


@runtime_checkable
class TokenCounter(Protocol):
    """Counts tokens. `name` goes into index keys, so chunks made with one
    tokenizer are never mistaken for chunks made with another."""

    name: str

    def count(self, text: str) -> int: ...


def count_many(counter: TokenCounter, texts: Sequence[str]) -> list[int]:
    """Count many texts, in parallel threads: the model tokenizer is a C call
    that releases the GIL, and exact counting is most of the cost of indexing."""
    if len(texts) < 64 or isinstance(counter, EstimateCounter):
        return [counter.count(t) for t in texts]
    workers = min(4, os.cpu_count() or 1)
    # One task per slice: a future per text would cost more than the counting.
    step = -(-len(texts) // (workers * 4))
    slices = [texts[i : i + step] for i in range(0, len(texts), step)]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        parts = pool.map(lambda part: [counter.count(t) for t in part], slices)
        return [n for part in parts for n in part]


_LATIN_RUN = re.compile(r"[A-Za-z\u00c0-\u024f]+")
_SPACES = (" ", "\t", "\r", "\f", "\v", "\u3000", "\xa0")


class EstimateCounter:
    """Conservative token estimate; see the module docstring for the rule."""

    name = "estimate-v1"

    def count(self, text: str) -> int:
        # Counted with C-level string operations only: this runs over every
        # block of a million-token document while it is being chunked.
        runs = _LATIN_RUN.findall(text)
        letters = sum(map(len, runs))
        spaces = sum(map(text.count, _SPACES))
        others = len(text) - letters - spaces  # CJK, digits, punctuation, line breaks
        return max(len(runs), -(-letters // 4)) + others
