"""BM25 (bm25s) over the analyzer's terms: the first retriever.

It is built from the term ids each document's index entry already holds, so a
new set of documents costs one BM25 build and no re-tokenising.

bm25s (and scipy with it, a third of a second) is imported where an index is
built or loaded: naming the kind, as `longdoc index` does to check that a set
is on disk, needs neither.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from ..records import Chunk, Hit, IndexedDoc
from .retriever import Query, chunks_of, top_hits
from .terms import Analyzer

if TYPE_CHECKING:
    import bm25s

# A document's terms as stored: each chunk's term ids (slices of `ids` between
# consecutive `offsets`) and the document's own vocabulary.
DocTerms = tuple[npt.NDArray[np.int32], npt.NDArray[np.int64], list[str]]
# Several texts of one query often repeat a name; counted at most this often,
# it does not drown the query's other words.
_MAX_TERM_REPEAT = 3
# BM25's parameters, bm25s's defaults with its "lucene" method: IDF log(1 + (N - df + 0.5) / (df + 0.5)),
# term part tf / (tf + K1 * (1 - B + B * dl / avgdl)). The Milvus store gives its index the same.
K1 = 1.5
B = 0.75


# Saved instead of a model when the documents hold no searchable term at all
# (emoji, punctuation or stopwords only): bm25s cannot index an empty vocabulary.
_NO_TERMS = "no-terms"


def query_terms(analyzer: Analyzer, query: Query) -> list[str]:
    """A query's terms; with several texts, a term counts at most _MAX_TERM_REPEAT times."""
    if isinstance(query, str):
        return analyzer.terms(query)
    terms: list[str] = []
    counts: dict[str, int] = {}
    for text in query:
        for t in analyzer.terms(text):
            if counts.get(t, 0) < _MAX_TERM_REPEAT:
                counts[t] = counts.get(t, 0) + 1
                terms.append(t)
    return terms


def chunk_terms(doc_terms: DocTerms) -> list[list[str]]:
    """Each chunk's terms, in order, from a document's stored terms."""
    ids, offsets, vocab = doc_terms
    return [[vocab[t] for t in ids[offsets[i] : offsets[i + 1]].tolist()] for i in range(len(offsets) - 1)]


class BM25Retriever:
    def __init__(self, model: bm25s.BM25 | None, chunks: list[Chunk], analyzer: Analyzer) -> None:
        self._model = model
        self._chunks = chunks
        self._analyzer = analyzer

    def terms(self, query: Query) -> list[str]:
        return query_terms(self._analyzer, query)

    def scores(self, terms: list[str]) -> npt.NDArray[np.float32]:
        """BM25 score of every chunk; a term repeated in `terms` counts again."""
        if self._model is None:
            return np.zeros(len(self._chunks), dtype=np.float32)
        vocab = self._model.vocab_dict
        ids = [vocab[t] for t in terms if t in vocab]
        if not ids:
            return np.zeros(len(self._chunks), dtype=np.float32)
        scores: npt.NDArray[np.float32] = self._model.get_scores(ids)
        return scores

    def search(self, query: Query, k: int) -> list[Hit]:
        s = self.scores(self.terms(query))
        return top_hits(self._chunks, s, k)

    def save(self, directory: Path) -> None:
        if self._model is None:
            (directory / _NO_TERMS).write_text(str(len(self._chunks)), encoding="utf-8")
        else:
            self._model.save(str(directory), show_progress=False)


class BM25Kind:
    name = "bm25"

    def __init__(self, analyzer: Analyzer, doc_terms: Callable[[str], DocTerms]) -> None:
        self._analyzer = analyzer
        self._doc_terms = doc_terms  # a document's stored terms, by its index key

    def build(self, docs: Sequence[IndexedDoc]) -> BM25Retriever:
        vocab: dict[str, int] = {}
        corpus_ids: list[list[int]] = []
        for d in docs:
            ids, offsets, local_vocab = self._doc_terms(d.key)
            remap = np.asarray([vocab.setdefault(t, len(vocab)) for t in local_vocab], dtype=np.int64)
            global_ids = remap[ids] if len(ids) else ids
            corpus_ids.extend(global_ids[offsets[i] : offsets[i + 1]].tolist() for i in range(len(offsets) - 1))
        if not vocab:
            return BM25Retriever(None, chunks_of(docs), self._analyzer)
        import bm25s

        model = bm25s.BM25(k1=K1, b=B, method="lucene")
        model.index((corpus_ids, vocab), show_progress=False)
        return BM25Retriever(model, chunks_of(docs), self._analyzer)

    def load(self, directory: Path, docs: Sequence[IndexedDoc]) -> BM25Retriever:
        chunks = chunks_of(docs)
        if (directory / _NO_TERMS).is_file():
            return BM25Retriever(None, chunks, self._analyzer)
        import bm25s

        model = bm25s.BM25.load(str(directory), mmap=False, show_progress=False, verbosity=0)
        indexed = model.scores.get("num_docs") if isinstance(model.scores, dict) else None
        if indexed != len(chunks):
            raise ValueError(f"the stored BM25 index covers {indexed} chunks, not {len(chunks)}")
        return BM25Retriever(model, chunks, self._analyzer)
