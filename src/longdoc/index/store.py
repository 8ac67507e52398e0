"""The on-disk index: parsed, chunked and tokenised documents, and the
retrievers over them (index/retriever.py).

Layout under `<home>/index/`:
  docs/<doc key>/          meta.json, chunks.jsonl, terms.npz, vocab.json
  sets/<kind>-<set key>/   one retriever (e.g. bm25) over one or more documents' chunks

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
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from ..chunk import ChunkSettings, chunk_document
from ..errors import ParseError
from ..parse import SUPPORTED_SUFFIXES, parse_bytes, parse_file
from ..records import Chunk, Hit, IndexedDoc
from ..tokens import TokenCounter
from .bm25 import BM25Kind, DocTerms
from .retriever import Query, Retriever, RetrieverKind, fuse
from .terms import Analyzer

# Bump when the analyzer or the on-disk layout changes, so old entries are ignored.
FORMAT_VERSION = "2"  # 2: chunks carry their page breaks
_STALE_TMP_SECONDS = 3600


class Corpus:
    """The chunks of one or more documents and the retrievers over them."""

    def __init__(self, docs: list[IndexedDoc], retrievers: Sequence[Retriever], analyzer: Analyzer) -> None:
        self.docs = docs
        self.chunks = [c for d in docs for c in d.chunks]
        self.retrievers = list(retrievers)
        self.analyzer = analyzer

    def search(self, query: Query, k: int = 20) -> list[Hit]:
        """Every retriever's ranking; several are fused, so each one's best come early."""
        rankings = [r.search(query, k) for r in self.retrievers]
        if len(rankings) == 1:
            return rankings[0]
        return fuse(rankings)[:k]


def retriever_kinds(store: IndexStore) -> list[RetrieverKind]:
    """The retrievers every corpus gets, one of each kind; add a kind here."""
    return [BM25Kind(store.analyzer, store.doc_terms)]


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
        self.kinds = retriever_kinds(self)
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
            np.savez(
                tmp / "terms.npz", ids=np.asarray(ids, dtype=np.int32), offsets=np.asarray(offsets, dtype=np.int64)
            )
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
            chunks = [c.named(name) for c in chunks]
        return IndexedDoc(key, path, name, meta["sha256"], meta["format"], meta["title"], chunks, built=False)

    def doc_terms(self, key: str) -> DocTerms:
        """The analyzer's terms of a document's chunks, as `add` stored them."""
        d = self.root / "docs" / key
        with np.load(d / "terms.npz") as z:
            ids, offsets = z["ids"], z["offsets"]
        vocab = json.loads((d / "vocab.json").read_text(encoding="utf-8"))
        return ids, offsets, vocab

    # -- retrievers over a set of documents -----------------------------------------

    def corpus(self, docs: list[IndexedDoc]) -> Corpus:
        """The retrievers over the chunks of `docs`, in the given order; each built once per set."""
        set_key = hashlib.sha256("|".join(d.key for d in docs).encode()).hexdigest()[:32]
        retrievers: list[Retriever] = []
        for kind in self.kinds:
            target = self.root / "sets" / f"{kind.name}-{set_key}"
            try:
                retriever = kind.load(target, docs)
            except (OSError, ValueError, KeyError):
                retriever = kind.build(docs)
                with _atomic_dir(target) as tmp:
                    retriever.save(tmp)
            retrievers.append(retriever)
        return Corpus(docs, retrievers, self.analyzer)

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
