"""The on-disk index: parsed, chunked and tokenised documents, and the
retrievers over them (index/retriever.py).

Layout under `<home>/index/`:
  docs/<doc key>/          meta.json, chunks.jsonl, terms.npz, vocab.json
  sets/<kind>-<set key>/   one retriever (e.g. bm25) over one or more documents'
                           chunks, and manifest.json

A doc key hashes the file's *content*, its type, the chunk settings and the
tokenizer names, so an unchanged file is never parsed or tokenised again and an
edited file gets a new key. Every directory is written to a temporary sibling,
flushed to disk and renamed into place (longdoc/durable.py): a killed build
leaves the old index or none.

What is read back is checked first: meta.json and manifest.json hold the
SHA-256 of every other file of their directory, and meta.json the chunk count.
An entry that fails any check (truncated, emptied, missing, not a directory)
is a cache miss: it is built again and the damaged copy replaced, so one bad
disk write costs one rebuild, not every later run.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import shutil
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..chunk import ChunkSettings, chunk_document
from ..durable import TMP_PREFIX, atomic_dir, discard
from ..errors import ConfigError, ParseError
from ..parse import SUPPORTED_SUFFIXES, parse_bytes, parse_file, printable_path
from ..records import Chunk, Document, Hit, IndexedDoc
from ..tokens import TokenCounter
from ..widths import fold_width
from .bm25 import BM25Kind, DocTerms
from .embed import EmbeddingKind
from .milvus import MilvusKind, MilvusTarget
from .retriever import Forgets, Query, Retriever, RetrieverKind, fuse
from .terms import Analyzer, script_of

# A document's script is judged from this many of its chunks, spread over it.
_SCRIPT_SAMPLE = 16
# Bump when the analyzer or the on-disk layout changes, so old entries are ignored.
FORMAT_VERSION = "4"  # 2: chunks carry their page breaks; 3: checksums, terms for every script; 4: fullwidth digits and letters searchable
_STALE_TMP_SECONDS = 3600
_MANIFEST = "manifest.json"


class DamagedEntry(Exception):
    """An index entry on disk that fails its checks."""


class Corpus:
    """The chunks of one or more documents and the retrievers over them."""

    def __init__(
        self,
        docs: list[IndexedDoc],
        retrievers: Sequence[Retriever],
        analyzer: Analyzer,
        doc_terms: Callable[[str], DocTerms],
    ) -> None:
        self.docs = docs
        self.chunks = [c for d in docs for c in d.chunks]
        self.retrievers = list(retrievers)
        self.analyzer = analyzer
        self._folded: str | None = None
        self._scripts: frozenset[str] | None = None
        self._by_id: dict[str, Chunk] | None = None
        self._doc_terms = doc_terms
        self._chunk_freq: Counter[str] | None = None

    def chunks_by_id(self, ids: Iterable[str]) -> list[Chunk]:
        """The chunks with these ids, in their order; ids of no chunk here are skipped."""
        if self._by_id is None:
            self._by_id = {c.id: c for c in self.chunks}
        return [self._by_id[i] for i in ids if i in self._by_id]

    def rarity(self, terms: Iterable[str]) -> dict[str, float]:
        """How rare each term is among the chunks, as BM25's IDF weighs it:
        log(1 + N / chunks holding it); a term no chunk holds counts as held by one."""
        n = len(self.chunks)
        return {t: math.log(1 + n / max(1, held)) for t, held in self.chunks_holding(terms).items()}

    def chunks_holding(self, terms: Iterable[str]) -> dict[str, int]:
        """How many chunks hold each term. Counted once per corpus, on first use,
        from the terms the index stored for each chunk."""
        if self._chunk_freq is None:
            self._chunk_freq = Counter()
            for d in self.docs:
                self._chunk_freq.update(self._doc_chunks_holding(d))
        return {t: self._chunk_freq[t] for t in terms}

    def _doc_chunks_holding(self, doc: IndexedDoc) -> dict[str, int]:
        """Each term of the document -> how many of its chunks hold it."""
        try:
            ids, offsets, vocab = self._doc_terms(doc.key)
        except (OSError, ValueError, KeyError, DamagedEntry):  # gone or damaged since it was loaded
            return Counter(t for c in doc.chunks for t in set(self.analyzer.terms(c.text)))
        if not len(ids):
            return {}
        chunk_of = np.repeat(np.arange(len(offsets) - 1), np.diff(offsets))
        pairs = np.unique(chunk_of * len(vocab) + ids)  # each (chunk, term) once
        counts = np.bincount(pairs % len(vocab), minlength=len(vocab))
        return {vocab[i]: int(counts[i]) for i in np.flatnonzero(counts)}

    def mentions(self, name: str) -> bool:
        """Whether any chunk holds `name` (case-insensitive): a name the documents
        never use cannot be what an answer from them is about."""
        if self._folded is None:
            self._folded = fold_width("\n".join(c.text for c in self.chunks)).casefold()
        return fold_width(name).casefold() in self._folded

    def scripts(self) -> frozenset[str]:
        """The script each document is mostly written in ("latin", "cjk", ...;
        see `script_of`), judged from a sample of its chunks."""
        if self._scripts is None:
            found = set()
            for d in self.docs:
                step = max(1, len(d.chunks) // _SCRIPT_SAMPLE)
                found.add(script_of(" ".join(c.text for c in d.chunks[::step][:_SCRIPT_SAMPLE])))
            self._scripts = frozenset(found)
        return self._scripts

    def keyword_search(self, query: Query, k: int = 20) -> list[Hit]:
        """The keyword retriever's ranking (BM25, local or Milvus's), with its
        own scores: fused rankings (`search`) keep only ranks."""
        return self.retrievers[0].search(query, k) if self.retrievers else []

    def search(self, query: Query, k: int = 20) -> list[Hit]:
        """Every retriever's ranking; several are fused, so each one's best come early."""
        rankings = [r.search(query, k) for r in self.retrievers]
        if len(rankings) == 1:
            return rankings[0]
        return fuse(rankings)[:k]


def retriever_kinds(store: IndexStore) -> list[RetrieverKind]:
    """The retrievers every corpus gets, one of each kind; add a kind here.
    With a Milvus target, Milvus's BM25 takes the place of the local one."""
    kinds: list[RetrieverKind] = [
        MilvusKind(store.milvus, store.analyzer, store.doc_terms)
        if store.milvus is not None
        else BM25Kind(store.analyzer, store.doc_terms)
    ]
    if "embed" in store.retrievers:
        kinds.append(EmbeddingKind())
    return kinds


class IndexStore:
    def __init__(
        self,
        root: Path,
        counter: TokenCounter,
        settings: ChunkSettings,
        analyzer: Analyzer | None = None,
        milvus: MilvusTarget | None = None,
        retrievers: Sequence[str] = ("bm25",),
    ) -> None:
        self.root = root
        self.counter = counter
        self.settings = settings
        self.analyzer = analyzer or Analyzer()
        self.milvus = milvus
        self.retrievers = tuple(retrievers)
        self.kinds = retriever_kinds(self)
        for d in (root, root / "docs", root / "sets"):
            _usable_dir(d)
        self._sweep_stale_tmp()

    # -- documents ---------------------------------------------------------------

    def doc_key(self, sha256: str, suffix: str) -> str:
        recipe = f"{FORMAT_VERSION}|{suffix}|{self.settings.key()}|{self.counter.name}"
        return f"{sha256[:32]}-{hashlib.sha256(recipe.encode()).hexdigest()[:12]}"

    def add(
        self,
        path: str | Path,
        on_stage: Callable[[str], None] | None = None,
        parse: Callable[[bytes, str, str], Document] = parse_bytes,
    ) -> IndexedDoc:
        """Index one file, or load it from the cache when its content is unchanged.

        `parse` turns its bytes into a Document (the server parses in a child
        process). Raises ParseError (naming the file and the cause) when it cannot be used.
        """
        p = Path(path)
        shown = printable_path(p)
        suffix = p.suffix.lower()
        if not p.is_file() or suffix not in SUPPORTED_SUFFIXES:
            parse_file(p)  # raises the precise one-line error (missing, directory, type)
        try:
            data = p.read_bytes()
        except OSError as e:
            raise ParseError(shown, e.strerror or str(e)) from None
        sha = hashlib.sha256(data).hexdigest()
        key = self.doc_key(sha, suffix)
        entry = self.root / "docs" / key
        try:
            cached = self._load_doc(entry, shown)
        except DamagedEntry:
            cached, damaged = None, True
        else:
            damaged = False
        if cached is not None:
            return cached
        if on_stage:
            on_stage("parse")
        doc = parse(data, printable_path(p.name), shown)
        if on_stage:
            on_stage("chunk")
        chunks = chunk_document(doc, self.counter, self.settings)
        if not chunks:
            raise ParseError(shown, "no text found")
        if on_stage:
            on_stage("index")
        vocab: dict[str, int] = {}
        ids: list[int] = []
        offsets = [0]
        for c in chunks:
            for t in self.analyzer.terms(c.text):
                ids.append(vocab.setdefault(t, len(vocab)))
            offsets.append(len(ids))
        terms = io.BytesIO()
        np.savez(terms, ids=np.asarray(ids, dtype=np.int32), offsets=np.asarray(offsets, dtype=np.int64))
        files = {
            "chunks.jsonl": "".join(json.dumps(c.to_dict(), ensure_ascii=False) + "\n" for c in chunks).encode(),
            "terms.npz": terms.getvalue(),
            "vocab.json": json.dumps(list(vocab), ensure_ascii=False).encode(),
        }
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
            "files": {name: _sha256(data) for name, data in files.items()},
        }
        with atomic_dir(entry, replace_existing=damaged) as tmp:
            for name, content in files.items():
                (tmp / name).write_bytes(content)
            (tmp / "meta.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
        return IndexedDoc(key, shown, doc.name, sha, doc.format, doc.title, chunks, built=True)

    def _load_doc(self, entry: Path, path: str) -> IndexedDoc | None:
        """The entry as stored; None when there is none. Raises DamagedEntry
        when it is there but fails a check."""
        if not entry.exists() and not entry.is_symlink():
            return None
        try:
            meta = _checked_meta(entry)
            chunks_file = _checked_file(entry, meta, "chunks.jsonl")
            chunks = [Chunk.from_dict(json.loads(line)) for line in chunks_file.decode("utf-8").splitlines()]
            if len(chunks) != meta["chunks"]:
                raise DamagedEntry(f"{len(chunks)} chunks stored, meta.json says {meta['chunks']}")
            self._doc_terms(entry, meta, len(chunks))
        except (OSError, ValueError, KeyError, TypeError, DamagedEntry) as e:
            raise DamagedEntry(f"{entry}: {e}") from e
        # The name shown in citations is the one given now, not when first indexed.
        name = Path(path).name
        if name != meta["name"]:
            chunks = [c.named(name) for c in chunks]
        return IndexedDoc(entry.name, path, name, meta["sha256"], meta["format"], meta["title"], chunks, built=False)

    def check_entry(self, entry: Path) -> None:
        """Raises DamagedEntry unless the document entry passes every check `add` makes."""
        self._load_doc(entry, entry.name)

    def doc_terms(self, key: str) -> DocTerms:
        """The analyzer's terms of a document's chunks, as `add` stored them (checked)."""
        entry = self.root / "docs" / key
        meta = _checked_meta(entry)
        return self._doc_terms(entry, meta, meta["chunks"])

    @staticmethod
    def _doc_terms(entry: Path, meta: dict[str, Any], n_chunks: int) -> DocTerms:
        with np.load(io.BytesIO(_checked_file(entry, meta, "terms.npz"))) as z:
            ids, offsets = z["ids"], z["offsets"]
        vocab = json.loads(_checked_file(entry, meta, "vocab.json").decode("utf-8"))
        if len(offsets) != n_chunks + 1 or (len(ids) and int(ids.max()) >= len(vocab)):
            raise DamagedEntry("the stored terms do not match the chunks")
        return ids, offsets, vocab

    def forget(self, keys: Sequence[str]) -> None:
        """Delete what a remote search engine holds for these documents, which
        their owner removed. The local entries stay: a cache keyed by content,
        which a file with the same bytes reuses."""
        for kind in self.kinds:
            if isinstance(kind, Forgets):
                kind.forget(keys)

    # -- retrievers over a set of documents -----------------------------------------

    def corpus(self, docs: list[IndexedDoc]) -> Corpus:
        """The retrievers over the chunks of `docs`, in the given order; each built once per set."""
        retrievers: list[Retriever] = []
        for kind in self.kinds:
            target = self._set_dir(kind, docs)
            try:
                check_set(target)
                retriever = kind.load(target, docs)
            except Exception:  # missing, damaged, or from a build that cannot be read back: build it again
                retriever = self._build_set(kind, docs, target)
            retrievers.append(retriever)
        return Corpus(docs, retrievers, self.analyzer, self.doc_terms)

    def prepare(self, docs: list[IndexedDoc]) -> None:
        """Build the retrievers `docs` lack. A set already on disk is only checked
        against its manifest, not loaded: `longdoc index` on unchanged files then
        never imports the retrievers' libraries; `corpus` still rebuilds a set
        it cannot read back."""
        for kind in self.kinds:
            target = self._set_dir(kind, docs)
            try:
                check_set(target)
            except Exception:  # missing or damaged, as in `corpus`
                self._build_set(kind, docs, target)

    def _set_dir(self, kind: RetrieverKind, docs: Sequence[IndexedDoc]) -> Path:
        set_key = hashlib.sha256("|".join(d.key for d in docs).encode()).hexdigest()[:32]
        return self.root / "sets" / f"{kind.name}-{set_key}"

    @staticmethod
    def _build_set(kind: RetrieverKind, docs: Sequence[IndexedDoc], target: Path) -> Retriever:
        damaged = target.exists() or target.is_symlink()
        retriever = kind.build(docs)
        with atomic_dir(target, replace_existing=damaged) as tmp:
            retriever.save(tmp)
            _write_manifest(tmp)
        return retriever

    def _sweep_stale_tmp(self) -> None:
        """Remove temporary directories left by builds that were killed."""
        now = time.time()
        for sub in ("docs", "sets"):
            for t in (self.root / sub).glob(f"{TMP_PREFIX}*"):
                try:
                    if now - t.stat().st_mtime > _STALE_TMP_SECONDS:
                        shutil.rmtree(t, ignore_errors=True)
                except OSError:
                    pass


def _usable_dir(d: Path) -> None:
    """Make `d` a directory: an index directory that is a file (a damaged or
    foreign entry in longdoc's own cache) is replaced."""
    try:
        if (d.exists() or d.is_symlink()) and not d.is_dir():
            discard(d)
        d.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ConfigError(f"index directory {d} is not usable: {e.strerror or e}") from None


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _checked_meta(entry: Path) -> dict[str, Any]:
    meta = json.loads((entry / "meta.json").read_text(encoding="utf-8"))
    if not isinstance(meta, dict) or not isinstance(meta.get("files"), dict) or not isinstance(meta["chunks"], int):
        raise DamagedEntry("meta.json is not an index entry's")
    return meta


def _checked_file(entry: Path, meta: dict[str, Any], name: str) -> bytes:
    data = (entry / name).read_bytes()
    if _sha256(data) != meta["files"].get(name):
        raise DamagedEntry(f"{name} does not match its checksum")
    return data


def _write_manifest(directory: Path) -> None:
    files = {p.name: _sha256(p.read_bytes()) for p in sorted(directory.iterdir()) if p.is_file()}
    (directory / _MANIFEST).write_text(json.dumps(files), encoding="utf-8")


def check_set(directory: Path) -> None:
    """Raises unless every file the retriever saved is there as it was written."""
    files = json.loads((directory / _MANIFEST).read_text(encoding="utf-8"))
    if not isinstance(files, dict):
        raise DamagedEntry(f"{directory / _MANIFEST} is not a manifest")
    for name, digest in files.items():
        if _sha256((directory / name).read_bytes()) != digest:
            raise DamagedEntry(f"{directory / name} does not match its checksum")
