"""How chunks are found: the retriever interface, and fusing rankings.

A `RetrieverKind` builds one retriever over a set of documents and keeps it on
disk; `IndexStore.corpus` opens one retriever of every kind it lists, and
`Corpus.search` fuses their rankings. A new way of finding chunks (embeddings,
a remote engine) is a module with a kind and its retriever, plus its line in
`retriever_kinds` (index/store.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from ..records import Chunk, Hit, IndexedDoc

# A text, or several texts that say what is sought in different words (the
# question, the information it asks for, keywords), the question's own first.
Query = str | list[str]


class Retriever(Protocol):
    def search(self, query: Query, k: int) -> list[Hit]:
        """At most `k` chunks that match, best first, each with a score above 0."""
        ...

    def save(self, directory: Path) -> None:
        """Write what this retriever's kind loads back (the directory is new and empty)."""
        ...


class RetrieverKind(Protocol):
    name: str  # names the directory a set's retriever of this kind is kept in

    def build(self, docs: Sequence[IndexedDoc]) -> Retriever:
        """A retriever over the documents' chunks, in their order."""
        ...

    def load(self, directory: Path, docs: Sequence[IndexedDoc]) -> Retriever:
        """The retriever `save` wrote for these documents. Raises OSError,
        ValueError or KeyError when there is none or it cannot be read."""
        ...


@runtime_checkable
class Forgets(Protocol):
    """A kind that keeps documents' chunks outside longdoc's own files (a remote
    engine) and deletes them when a document is removed."""

    def forget(self, keys: Sequence[str]) -> None: ...


def chunks_of(docs: Sequence[IndexedDoc]) -> list[Chunk]:
    """The documents' chunks in order: the rows a retriever's scores are indexed by."""
    return [c for d in docs for c in d.chunks]


def top_hits(chunks: Sequence[Chunk], scores: npt.NDArray[np.float32], k: int) -> list[Hit]:
    """The `k` best-scoring chunks, best first, those scoring above 0; equal
    scores in chunk order (the Milvus store breaks ties the same way)."""
    n = len(scores)
    k = min(k, n)
    if k == 0:
        return []
    kth = np.partition(scores, n - k)[n - k]  # the k-th best score
    # Every chunk that ties with the k-th is a candidate, in chunk order; a stable sort keeps that order.
    candidates = np.flatnonzero(scores >= kth) if kth > 0 else np.flatnonzero(scores > 0)
    top = candidates[np.argsort(-scores[candidates], kind="stable")][:k]
    return [Hit(chunks[i], float(scores[i])) for i in top]


def fuse(rankings: list[list[Hit]], k: float = 2.0, weights: Sequence[float] | None = None) -> list[Hit]:
    """Reciprocal rank fusion. A small `k` interleaves the lists' best entries,
    so each way of searching gets its first picks read early; a list weighted
    below 1 gets its first picks in after the others' first few."""
    scores: dict[str, float] = {}
    chunk_of: dict[str, Hit] = {}
    for hits, weight in zip(rankings, weights or [1.0] * len(rankings), strict=True):
        for i, h in enumerate(hits):
            scores[h.chunk.id] = scores.get(h.chunk.id, 0.0) + weight / (k + i + 1)
            chunk_of.setdefault(h.chunk.id, h)
    order = sorted(scores, key=lambda cid: -scores[cid])
    return [Hit(chunk_of[cid].chunk, scores[cid]) for cid in order]
