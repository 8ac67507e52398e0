"""The on-disk index: parsed, chunked and tokenised documents, and BM25 over them.

Layout under `<home>/index/`:
  docs/<doc key>/   meta.json, chunks.jsonl, terms.npz, vocab.json
  sets/<set key>/   a BM25 index over one or more documents' chunks

A doc key hashes the file's *content*, its type, the chunk settings and the
tokenizer names, so an unchanged file is never parsed or tokenised again and an
edited file gets a new key. Every directory is written to a temporary sibling
and renamed into place: a killed build leaves the old index or none.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import bm25s
import numpy as np

from ..chunk import ChunkSettings, chunk_document
from ..errors import ParseError
from ..parse import SUPPORTED_SUFFIXES, parse_bytes, parse_file
from ..records import Chunk
from ..tokens import TokenCounter
from .terms import Analyzer

# Bump when the analyzer or the on-disk layout changes, so old entries are ignored.
FORMAT_VERSION = "1"
_STALE_TMP_SECONDS = 3600


@dataclass
class IndexedDoc:
    key: str
    path: str
    name: str
    sha256: str
    format: str
    title: str | None
    chunks: list[Chunk]
    built: bool  # False when it came from the cache

    @property
    def tokens(self) -> int:
        return sum(c.tokens for c in self.chunks)


@dataclass
class Hit:
    chunk: Chunk
    score: float


class Corpus:
    """The chunks of one or more documents and a BM25 index over them."""

    def __init__(self, docs: list[IndexedDoc], retriever: bm25s.BM25, analyzer: Analyzer) -> None:
        self.docs = docs
        self.chunks = [c for d in docs for c in d.chunks]
        self._retriever = retriever
        self.analyzer = analyzer

    def scores(self, terms: list[str]) -> np.ndarray:
        """BM25 score of every chunk; a term repeated in `terms` counts again."""
        vocab = self._retriever.vocab_dict
        ids = [vocab[t] for t in terms if t in vocab]
        if not ids:
            return np.zeros(len(self.chunks), dtype=np.float32)
        return self._retriever.get_scores(ids)

    def search(self, text_or_terms: str | list[str], k: int = 20) -> list[Hit]:
        terms = self.analyzer.terms(text_or_terms) if isinstance(text_or_terms, str) else text_or_terms
        s = self.scores(terms)
        k = min(k, len(s))
        if k == 0:
            return []
        top = np.argpartition(-s, k - 1)[:k]
        top = top[np.argsort(-s[top], kind="stable")]
        return [Hit(self.chunks[i], float(s[i])) for i in top if s[i] > 0]


class IndexStore:
    def __init__(
        self,
        root: Path,
        counter: TokenCounter,
        settings: ChunkSettings,
        analyzer: Analyzer | None = None,
    ) -> None:
        self.root = root
        self.counter = counter
        self.settings = settings
        self.analyzer = analyzer or Analyzer()
        (root / "docs").mkdir(parents=True, exist_ok=True)
        (root / "sets").mkdir(parents=True, exist_ok=True)
        self._sweep_stale_tmp()

    # -- documents ---------------------------------------------------------------

    def doc_key(self, sha256: str, suffix: str) -> str:
        recipe = f"{FORMAT_VERSION}|{suffix}|{self.settings.key()}|{self.counter.name}"
        return f"{sha256[:32]}-{hashlib.sha256(recipe.encode()).hexdigest()[:12]}"

    def add(self, path: str | Path, on_stage: Callable[[str], None] | None = None) -> IndexedDoc:
        """Index one file, or load it from the cache when its content is unchanged.

        Raises ParseError (naming the file and the cause) when it cannot be used.
        """
        p = Path(path)
        suffix = p.suffix.lower()
        if not p.is_file() or suffix not in SUPPORTED_SUFFIXES:
            parse_file(p)  # raises the precise one-line error (missing, directory, type)
        try:
            data = p.read_bytes()
        except OSError as e:
            raise ParseError(str(p), e.strerror or str(e)) from None
        sha = hashlib.sha256(data).hexdigest()
        key = self.doc_key(sha, suffix)
        cached = self._load_doc(key, str(p))
        if cached is not None:
            return cached
        if on_stage:
            on_stage("parse")
        doc = parse_bytes(data, p.name, str(p))
        if on_stage:
            on_stage("chunk")
        chunks = chunk_document(doc, self.counter, self.settings)
        if not chunks:
            raise ParseError(str(p), "no text found")
        if on_stage:
            on_stage("index")
        vocab: dict[str, int] = {}
        ids: list[int] = []
        offsets = [0]
        for c in chunks:
            for t in self.analyzer.terms(c.text):
                ids.append(vocab.setdefault(t, len(vocab)))
            offsets.append(len(ids))
        meta = {
            "name": doc.name,
            "sha256": sha,
            "format": doc.format,
            "title": doc.title,
            "chunks": len(chunks),
            "tokens": sum(c.tokens for c in chunks),
            "tokenizer": self.counter.name,
            "chunking": self.settings.key(),
            "created": time.time(),
        }
        with _atomic_dir(self.root / "docs" / key) as tmp:
            np.savez(tmp / "terms.npz", ids=np.asarray(ids, dtype=np.int32), offsets=np.asarray(offsets, dtype=np.int64))
            (tmp / "vocab.json").write_text(json.dumps(list(vocab), ensure_ascii=False), encoding="utf-8")
            with open(tmp / "chunks.jsonl", "w", encoding="utf-8") as f:
                for c in chunks:
                    f.write(json.dumps(c.to_dict(), ensure_ascii=False) + "\n")
            (tmp / "meta.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
        return IndexedDoc(key, str(p), doc.name, sha, doc.format, doc.title, chunks, built=True)

    def _load_doc(self, key: str, path: str) -> IndexedDoc | None:
        d = self.root / "docs" / key
        try:
            meta = json.loads((d / "meta.json").read_text(encoding="utf-8"))
            with open(d / "chunks.jsonl", encoding="utf-8") as f:
                chunks = [Chunk.from_dict(json.loads(line)) for line in f]
        except (OSError, ValueError):
            return None
        # The name shown in citations is the one given now, not when first indexed.
        name = Path(path).name
        if name != meta["name"]:
            chunks = [Chunk.from_dict({**c.to_dict(), "doc": name}) for c in chunks]
        return IndexedDoc(key, path, name, meta["sha256"], meta["format"], meta["title"], chunks, built=False)

    def _doc_terms(self, key: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
        d = self.root / "docs" / key
        with np.load(d / "terms.npz") as z:
            ids, offsets = z["ids"], z["offsets"]
        vocab = json.loads((d / "vocab.json").read_text(encoding="utf-8"))
        return ids, offsets, vocab

    # -- BM25 over a set of documents -----------------------------------------------

    def corpus(self, docs: list[IndexedDoc]) -> Corpus:
        """BM25 over the chunks of `docs`, in the given order; built once per set."""
        set_key = hashlib.sha256("|".join(d.key for d in docs).encode()).hexdigest()[:32]
        target = self.root / "sets" / set_key
        try:
            retriever = bm25s.BM25.load(str(target), mmap=False, show_progress=False, verbosity=0)
        except (OSError, ValueError, KeyError):
            retriever = self._build_bm25(docs)
            with _atomic_dir(target) as tmp:
                retriever.save(str(tmp), show_progress=False)
        return Corpus(docs, retriever, self.analyzer)

    def _build_bm25(self, docs: list[IndexedDoc]) -> bm25s.BM25:
        vocab: dict[str, int] = {}
        corpus_ids: list[list[int]] = []
        for d in docs:
            ids, offsets, local_vocab = self._doc_terms(d.key)
            remap = np.asarray([vocab.setdefault(t, len(vocab)) for t in local_vocab], dtype=np.int64)
            global_ids = remap[ids] if len(ids) else ids
            corpus_ids.extend(global_ids[offsets[i] : offsets[i + 1]].tolist() for i in range(len(offsets) - 1))
        retriever = bm25s.BM25()
        retriever.index((corpus_ids, vocab), show_progress=False)
        return retriever

    def _sweep_stale_tmp(self) -> None:
        """Remove temporary directories left by builds that were killed."""
        now = time.time()
        for sub in ("docs", "sets"):
            for t in (self.root / sub).glob(".tmp-*"):
                try:
                    if now - t.stat().st_mtime > _STALE_TMP_SECONDS:
                        shutil.rmtree(t, ignore_errors=True)
                except OSError:
                    pass


@contextmanager
def _atomic_dir(final: Path) -> Iterator[Path]:
    """Write a directory beside `final`, then rename it into place in one step."""
    tmp = final.parent / f".tmp-{final.name}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir(parents=True)
    try:
        yield tmp
        try:
            os.replace(tmp, final)
        except OSError:
            # Another process finished the same entry first; its copy is as good as ours.
            if not final.exists():
                raise
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
