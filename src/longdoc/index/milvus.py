"""Milvus as the search engine over chunks: a retriever kind for scale-out.

The local store (index/store.py) stays the source of every chunk's text and
provenance; Milvus holds what search needs: one row per chunk, keyed by the
document's index key (content hash, type, chunk settings, tokenizer) and the
chunk's position, so an unchanged document is never sent twice and an edited
one arrives under a new key. A corpus searches only its own documents' rows
(a filter on the key), so one collection serves every user and document set.

Full-text search is Milvus's built-in BM25 function over the terms longdoc's
own analyzer (index/terms.py) made of each chunk: stems, CJK bigrams, words of
other scripts, stop words gone. They are stored joined by spaces in `terms`
and split there again by a whitespace tokenizer; a query is sent as its terms
the same way, so both stores match the same terms in English, Chinese and
every other script. The index takes the local BM25's K1 and B (index/bm25.py),
and Milvus's IDF has the same form, so with the same statistics the two rank
alike (Milvus's scores are (1 + K1) times bm25s's; `search` divides). `text`
keeps the chunk's text for whoever reads the collection.

Statistics: bm25s counts the searched documents' chunks. Milvus Lite counts
the rows of each segment, whatever the filter, so each document gets its own
partition and is flushed once stored: every search then scores a document
with that document's own statistics, in the process that stored it and in any
later one. A cluster keeps collection-wide statistics (docs/scaling.md).

The same code talks to Milvus Lite (a local path, e.g. ~/.longdoc/milvus.db)
and to a cluster (http://host:19530 with a token). pymilvus is imported where
it is used: it is an optional extra that the default local store never needs.
A dense-vector field is the place for an embedding retriever: add it to
`_schema` and fuse its ranking with this one (`hybrid_search`).
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from ..errors import ConfigError, StoreError
from ..records import Chunk, Hit, IndexedDoc
from .bm25 import K1, B, DocTerms, chunk_terms, query_terms
from .retriever import Query
from .terms import Analyzer

# Bump when the schema or an analyzer changes: a new collection is filled, the old one is left alone.
# 2: the analyzer's terms in one BM25 field (was: two analysed copies of the text, fused by RRF).
# 3: fullwidth digits and letters folded to ASCII before the terms are made.
SCHEMA_VERSION = "3"
DEFAULT_COLLECTION = f"longdoc_chunks_v{SCHEMA_VERSION}"
# Milvus limits a VARCHAR to 65,535 bytes; a longer chunk (huge --chunk-size) is searched by its start.
_MAX_TEXT_BYTES = 65_535
_KEY_BYTES = 128
_BATCH = 256  # rows per upsert: well under gRPC's message limit at any chunk size
_SET_FILE = "milvus.json"
# Hits asked beyond k, so that chunks tied with the k-th are all seen and cut in chunk order, as bm25s's are.
_TIE_SLACK = 16
_MAX_LIMIT = 16_384  # Milvus's largest top-k
# The terms field's tokenizer. A cluster splits on whitespace. Milvus Lite 3.2 has only
# `standard` (runs of word characters, lower-cased) and `jieba`; `_token` writes every
# term so that `standard` splits them exactly as whitespace would.
_CLUSTER_ANALYZER: dict[str, Any] = {"tokenizer": "whitespace"}
_LITE_ANALYZER: dict[str, Any] = {"tokenizer": "standard"}


@dataclass(frozen=True)
class MilvusTarget:
    """Where the chunks live: a Milvus Lite file or a cluster's URI."""

    uri: str
    token: str = field(default="", repr=False)
    collection: str = DEFAULT_COLLECTION

    @property
    def lite(self) -> bool:
        """Milvus Lite, which pymilvus starts for a path ending in .db."""
        return self.uri.endswith(".db")


T = TypeVar("T")


class MilvusIndex:
    """One connection and one collection; connects on first use."""

    def __init__(self, target: MilvusTarget) -> None:
        self.target = target
        self._client: Any = None
        # One document stored or removed at a time: Lite's drop, create and flush of a
        # partition must not interleave with another thread's for the same document.
        self._put_lock = threading.Lock()

    @contextmanager
    def _errors(self, doing: str) -> Iterator[None]:
        from pymilvus import MilvusException

        try:
            yield
        except MilvusException as e:
            raise StoreError(f"Milvus at {self.target.uri}: {doing} failed: {e.message}") from None

    def client(self) -> Any:
        if self._client is None:
            try:
                from pymilvus import MilvusClient
            except ImportError:
                raise ConfigError("the milvus store needs pymilvus: pip install 'longdoc[milvus]'") from None
            with self._errors("connecting"):
                client = MilvusClient(uri=self.target.uri, token=self.target.token)
                name = self.target.collection
                if not client.has_collection(name):
                    # Strong: a search right after indexing must see the new rows.
                    schema = _schema(client, _LITE_ANALYZER if self.target.lite else _CLUSTER_ANALYZER)
                    client.create_collection(name, schema=schema, consistency_level="Strong")
                    # sync=False: the collection is empty, so there is no build to wait
                    # for; waiting polls every index for 0.5 s, with an RPC Milvus Lite lacks.
                    client.create_index(name, _index_params(client), sync=False)
                client.load_collection(name)  # a reopened collection starts released
            self._client = client
        return self._client

    def call(self, doing: str, fn: Callable[[Any], T]) -> T:
        client = self.client()
        with self._errors(doing):
            return fn(client)

    def count(self, key: str) -> int:
        rows = self.call(
            "counting chunks",
            lambda c: c.query(
                self.target.collection, filter=f"doc_key == {json.dumps(key)}", output_fields=["count(*)"]
            ),
        )
        return int(rows[0]["count(*)"]) if rows else 0

    def missing(self, docs: Sequence[IndexedDoc]) -> list[IndexedDoc]:
        """The documents whose chunks the collection does not hold in full."""
        return [d for d in docs if self.count(d.key) != len(d.chunks)]

    def put(self, doc: IndexedDoc, terms: Sequence[Sequence[str]]) -> None:
        """Store a document's chunks with each chunk's analyzer terms."""
        with self._put_lock:
            if self.count(doc.key) != len(doc.chunks):  # another thread may have stored it meanwhile
                self._put(doc, terms)

    def _put(self, doc: IndexedDoc, terms: Sequence[Sequence[str]]) -> None:
        rows = [_row(doc.key, i, c, t) for i, (c, t) in enumerate(zip(doc.chunks, terms, strict=True))]
        name = self.target.collection
        part = ""
        if self.target.lite:
            # Its own partition, so its own segments and statistics; a partial earlier
            # copy is dropped rather than left in a segment's counts.
            part = _partition(doc.key)
            self._drop_partitions([doc.key])
            self.call("creating a partition", lambda c: c.create_partition(name, part))
        for start in range(0, len(rows), _BATCH):
            self._upsert(rows[start : start + _BATCH], part)
        if self.target.lite:
            # Sealed now, not when the process ends: the segment a search scores with
            # is then the same in this process and every later one.
            self.call("flushing", lambda c: c.flush(name))

    def forget(self, keys: Sequence[str]) -> None:
        """Delete the chunks of the documents with these index keys."""
        if not keys:
            return
        if self.target.lite:
            with self._put_lock:
                self._drop_partitions(keys)
        else:
            self.call("deleting chunks", lambda c: c.delete(self.target.collection, filter=_key_filter(keys)))

    def _upsert(self, rows: list[dict[str, Any]], partition: str) -> None:
        self.call("storing chunks", lambda c: c.upsert(self.target.collection, rows, partition_name=partition))

    def _drop_partitions(self, keys: Sequence[str]) -> None:
        for key in keys:
            self._drop_partition(_partition(key))

    def _drop_partition(self, partition: str) -> None:
        name = self.target.collection
        if self.call("checking a partition", lambda c: c.has_partition(name, partition)):
            self.call("dropping a partition", lambda c: c.drop_partition(name, partition))

    def search(self, keys: Sequence[str], terms: Sequence[str], k: int) -> list[tuple[str, float]]:
        """(row id, score) of the best of these documents' chunks that hold any of
        `terms`, best first: `k` and _TIE_SLACK more, so that the caller sees the
        chunks tied with the k-th and can cut them in chunk order."""
        if not terms or not keys or k <= 0:
            return []
        name = self.target.collection
        query = " ".join(_token(t) for t in terms)
        parts = [_partition(key) for key in keys] if self.target.lite else None
        found = self.call(
            "searching",
            lambda c: c.search(
                name,
                data=[query],
                anns_field="sparse",
                filter=_key_filter(keys),
                limit=min(k + _TIE_SLACK, _MAX_LIMIT),
                partition_names=parts,
            ),
        )
        # BM25 hits come back with the score as the distance (a cluster) or its
        # negation (Milvus Lite ranks by smallest distance); either way its size is the score,
        # (1 + K1) times bm25s's.
        return [(str(h["id"]), abs(float(h["distance"])) / (1 + K1)) for h in found[0]]


class MilvusRetriever:
    def __init__(self, index: MilvusIndex, analyzer: Analyzer, docs: Sequence[IndexedDoc]) -> None:
        self._index = index
        self._analyzer = analyzer
        self._keys = [d.key for d in docs]
        chunks = [(_row_id(d.key, i), c) for d in docs for i, c in enumerate(d.chunks)]
        self._rows = {rid: (n, c) for n, (rid, c) in enumerate(chunks)}  # row id -> (position, chunk)

    def search(self, query: Query, k: int) -> list[Hit]:
        found = self._index.search(self._keys, query_terms(self._analyzer, query), k)
        # Equal scores in chunk order, as the local store's top_hits orders them.
        ranked = sorted((-score, *self._rows[rid]) for rid, score in found if rid in self._rows and score > 0)
        return [Hit(chunk, -neg) for neg, _, chunk in ranked[:k]]

    def save(self, directory: Path) -> None:
        # The rows live in Milvus; the set keeps which documents it covers, for people reading the index.
        (directory / _SET_FILE).write_text(
            json.dumps({"collection": self._index.target.collection, "docs": self._keys}), encoding="utf-8"
        )


class MilvusKind:
    name = "milvus"

    def __init__(self, target: MilvusTarget, analyzer: Analyzer, doc_terms: Callable[[str], DocTerms]) -> None:
        self.index = MilvusIndex(target)
        self._analyzer = analyzer
        self._doc_terms = doc_terms  # a document's stored terms, by its index key

    def build(self, docs: Sequence[IndexedDoc]) -> MilvusRetriever:
        for d in self.index.missing(docs):
            self.index.put(d, chunk_terms(self._doc_terms(d.key)))
        return MilvusRetriever(self.index, self._analyzer, docs)

    def load(self, directory: Path, docs: Sequence[IndexedDoc]) -> MilvusRetriever:
        # Milvus, not the set's file, says what is indexed: rows deleted since the
        # set was saved (a removed document, a fresh cluster) are put back by build.
        json.loads((directory / _SET_FILE).read_text(encoding="utf-8"))
        missing = self.index.missing(docs)
        if missing:
            raise KeyError(f"Milvus lacks the chunks of {missing[0].path}")
        return MilvusRetriever(self.index, self._analyzer, docs)

    def forget(self, keys: Sequence[str]) -> None:
        self.index.forget(keys)


def _row_id(key: str, i: int) -> str:
    return f"{key}:{i}"


def _row(key: str, i: int, chunk: Chunk, terms: Sequence[str]) -> dict[str, Any]:
    return {"id": _row_id(key, i), "doc_key": key, "text": _clip(chunk.text), "terms": _terms_text(terms)}


def _clip(text: str) -> str:
    data = text.encode()
    return text if len(data) <= _MAX_TEXT_BYTES else data[:_MAX_TEXT_BYTES].decode(errors="ignore")


def _token(term: str) -> str:
    """A term as one token that either tokenizer keeps whole and unchanged. Terms
    of letters and digits already in lower case pass as they are; any other
    (a combining mark, a sign such as ×, a case that lower-casing would change)
    is written as `_` and its UTF-8 in hex. No term holds `_`, so the two never meet."""
    return term if term.isalnum() and term.lower() == term else "_" + term.encode().hex()


def _terms_text(terms: Sequence[str]) -> str:
    """The terms joined by spaces, cut after the last whole term within the VARCHAR limit."""
    text = " ".join(_token(t) for t in terms)
    if len(text.encode()) <= _MAX_TEXT_BYTES:
        return text
    cut = text.encode()[: _MAX_TEXT_BYTES + 1].decode(errors="ignore")
    return cut[: cut.rfind(" ")] if " " in cut else ""


def _partition(key: str) -> str:
    """A document's Milvus Lite partition (letters, digits and underscores)."""
    return "doc_" + re.sub(r"\W", "_", key)


def _key_filter(keys: Sequence[str]) -> str:
    # A literal list: Milvus Lite has no filter templates. Keys are hex and dashes,
    # and json.dumps quotes them as Milvus string literals.
    return f"doc_key in {json.dumps(list(keys))}"


def _schema(client: Any, analyzer: dict[str, Any]) -> Any:
    from pymilvus import DataType, Function, FunctionType

    schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("id", DataType.VARCHAR, is_primary=True, max_length=_KEY_BYTES)
    schema.add_field("doc_key", DataType.VARCHAR, max_length=_KEY_BYTES)
    schema.add_field("text", DataType.VARCHAR, max_length=_MAX_TEXT_BYTES)
    schema.add_field(
        "terms", DataType.VARCHAR, max_length=_MAX_TEXT_BYTES, enable_analyzer=True, analyzer_params=analyzer
    )
    schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    schema.add_function(
        Function(
            name="bm25_terms",
            function_type=FunctionType.BM25,
            input_field_names=["terms"],
            output_field_names=["sparse"],
        )
    )
    return schema


def _index_params(client: Any) -> Any:
    params = client.prepare_index_params()
    params.add_index(
        field_name="sparse",
        index_type="SPARSE_INVERTED_INDEX",
        metric_type="BM25",
        params={"bm25_k1": K1, "bm25_b": B},
    )
    params.add_index(field_name="doc_key", index_type="INVERTED")  # every search filters on it
    return params
