"""Milvus as the search engine over chunks: a retriever kind for scale-out.

The local store (index/store.py) stays the source of every chunk's text and
provenance; Milvus holds what search needs: one row per chunk, keyed by the
document's index key (content hash, type, chunk settings, tokenizer) and the
chunk's position, so an unchanged document is never sent twice and an edited
one arrives under a new key. A corpus searches only its own documents' rows
(a filter on the key), so one collection serves every user and document set.

Full-text search is Milvus's built-in BM25 function, over two analysed copies
of the text: `text` (standard tokenizer, lower-cased, the local analyzer's
English stop words, English stems where the engine has the stemmer) and
`text_zh` (jieba), filled only for chunks with CJK characters so English
chunks do not skew the Chinese field's statistics. A query goes to the field
of each script it uses; with both, Milvus fuses the two rankings by
reciprocal rank (hybrid search). A dense-vector field is the place for an
embedding retriever: add it to `_schema` and one more `AnnSearchRequest`.

The same code talks to Milvus Lite (a local path, e.g. ~/.longdoc/milvus.db)
and to a cluster (http://host:19530 with a token). pymilvus is imported where
it is used: it is an optional extra that the default local store never needs.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from ..errors import ConfigError, StoreError
from ..records import Chunk, Hit, IndexedDoc
from .retriever import Query
from .terms import EN_STOPWORDS, has_cjk

# Bump when the schema or an analyzer changes: a new collection is filled, the old one is left alone.
SCHEMA_VERSION = "1"
DEFAULT_COLLECTION = f"longdoc_chunks_v{SCHEMA_VERSION}"
# Milvus limits a VARCHAR to 65,535 bytes; a longer chunk (huge --chunk-size) is searched by its start.
_MAX_TEXT_BYTES = 65_535
_KEY_BYTES = 128
_BATCH = 256  # rows per upsert: well under gRPC's message limit at any chunk size
_SET_FILE = "milvus.json"
# RRF's constant for the two text fields, as Milvus documents it; the fusion with
# other kinds in Corpus.search uses its own.
_RRF_K = 60

_EN_ANALYZER: dict[str, Any] = {
    "tokenizer": "standard",
    "filter": [
        "lowercase",
        {"type": "stop", "stop_words": sorted(EN_STOPWORDS)},
        {"type": "stemmer", "language": "english"},  # Milvus Lite 3.2 skips this filter
    ],
}
_ZH_ANALYZER: dict[str, Any] = {"tokenizer": "jieba"}
# (text field, its BM25 sparse field, its analyzer)
_FIELDS = (("text", "sparse", _EN_ANALYZER), ("text_zh", "sparse_zh", _ZH_ANALYZER))


@dataclass(frozen=True)
class MilvusTarget:
    """Where the chunks live: a Milvus Lite file or a cluster's URI."""

    uri: str
    token: str = field(default="", repr=False)
    collection: str = DEFAULT_COLLECTION


T = TypeVar("T")


class MilvusIndex:
    """One connection and one collection; connects on first use."""

    def __init__(self, target: MilvusTarget) -> None:
        self.target = target
        self._client: Any = None

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
                    client.create_collection(name, schema=_schema(client), consistency_level="Strong")
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

    def put(self, doc: IndexedDoc) -> None:
        rows = [_row(doc.key, i, c) for i, c in enumerate(doc.chunks)]
        for start in range(0, len(rows), _BATCH):
            self._upsert(rows[start : start + _BATCH])

    def _upsert(self, rows: list[dict[str, Any]]) -> None:
        self.call("storing chunks", lambda c: c.upsert(self.target.collection, rows))

    def forget(self, keys: Sequence[str]) -> None:
        """Delete the chunks of the documents with these index keys."""
        if keys:
            self.call("deleting chunks", lambda c: c.delete(self.target.collection, filter=_key_filter(keys)))

    def search(self, keys: Sequence[str], text: str, k: int) -> list[tuple[str, float]]:
        """(row id, score) of the best `k` chunks of these documents, best first."""
        from pymilvus import AnnSearchRequest, RRFRanker

        where = _key_filter(keys)
        fields = [sparse for _, sparse, _ in _FIELDS if _searches(sparse, text)]
        if not fields or k <= 0:
            return []
        name = self.target.collection
        if len(fields) == 1:
            found = self.call(
                "searching",
                lambda c: c.search(
                    name, data=[text], anns_field=fields[0], filter=where, limit=k, output_fields=["doc_key"]
                ),
            )
        else:
            requests = [AnnSearchRequest([text], f, {}, k, filter=where) for f in fields]
            found = self.call(
                "searching",
                lambda c: c.hybrid_search(name, requests, RRFRanker(_RRF_K), limit=k, output_fields=["doc_key"]),
            )
        # BM25 hits come back with the score as the distance (a cluster) or its
        # negation (Milvus Lite ranks by smallest distance); either way its size is the score.
        return [(str(h["id"]), abs(float(h["distance"]))) for h in found[0]]


class MilvusRetriever:
    def __init__(self, index: MilvusIndex, docs: Sequence[IndexedDoc]) -> None:
        self._index = index
        self._keys = [d.key for d in docs]
        self._chunks = {_row_id(d.key, i): c for d in docs for i, c in enumerate(d.chunks)}

    def search(self, query: Query, k: int) -> list[Hit]:
        text = query if isinstance(query, str) else " ".join(query)
        found = self._index.search(self._keys, text, k)
        return [Hit(self._chunks[rid], score) for rid, score in found if rid in self._chunks and score > 0]

    def save(self, directory: Path) -> None:
        # The rows live in Milvus; the set keeps which documents it covers, for people reading the index.
        (directory / _SET_FILE).write_text(
            json.dumps({"collection": self._index.target.collection, "docs": self._keys}), encoding="utf-8"
        )


class MilvusKind:
    name = "milvus"

    def __init__(self, target: MilvusTarget) -> None:
        self.index = MilvusIndex(target)

    def build(self, docs: Sequence[IndexedDoc]) -> MilvusRetriever:
        for d in self.index.missing(docs):
            self.index.put(d)
        return MilvusRetriever(self.index, docs)

    def load(self, directory: Path, docs: Sequence[IndexedDoc]) -> MilvusRetriever:
        # Milvus, not the set's file, says what is indexed: rows deleted since the
        # set was saved (a removed document, a fresh cluster) are put back by build.
        json.loads((directory / _SET_FILE).read_text(encoding="utf-8"))
        missing = self.index.missing(docs)
        if missing:
            raise KeyError(f"Milvus lacks the chunks of {missing[0].path}")
        return MilvusRetriever(self.index, docs)

    def forget(self, keys: Sequence[str]) -> None:
        self.index.forget(keys)


def _row_id(key: str, i: int) -> str:
    return f"{key}:{i}"


def _row(key: str, i: int, chunk: Chunk) -> dict[str, Any]:
    text = _clip(chunk.text)
    return {"id": _row_id(key, i), "doc_key": key, "text": text, "text_zh": text if has_cjk(text) else ""}


def _clip(text: str) -> str:
    data = text.encode()
    return text if len(data) <= _MAX_TEXT_BYTES else data[:_MAX_TEXT_BYTES].decode(errors="ignore")


def _searches(sparse: str, text: str) -> bool:
    """Whether a query text is searched in this field: Chinese in `sparse_zh`,
    anything else (once the CJK characters are set aside) in `sparse`."""
    if sparse == "sparse_zh":
        return has_cjk(text)
    return any(ch.isalnum() and not has_cjk(ch) for ch in text)


def _key_filter(keys: Sequence[str]) -> str:
    # A literal list: Milvus Lite has no filter templates. Keys are hex and dashes,
    # and json.dumps quotes them as Milvus string literals.
    return f"doc_key in {json.dumps(list(keys))}"


def _schema(client: Any) -> Any:
    from pymilvus import DataType, Function, FunctionType

    schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("id", DataType.VARCHAR, is_primary=True, max_length=_KEY_BYTES)
    schema.add_field("doc_key", DataType.VARCHAR, max_length=_KEY_BYTES)
    for text, sparse, analyzer in _FIELDS:
        schema.add_field(
            text, DataType.VARCHAR, max_length=_MAX_TEXT_BYTES, enable_analyzer=True, analyzer_params=analyzer
        )
        schema.add_field(sparse, DataType.SPARSE_FLOAT_VECTOR)
        schema.add_function(
            Function(
                name=f"bm25_{text}",
                function_type=FunctionType.BM25,
                input_field_names=[text],
                output_field_names=[sparse],
            )
        )
    return schema


def _index_params(client: Any) -> Any:
    params = client.prepare_index_params()
    for _, sparse, _ in _FIELDS:
        params.add_index(field_name=sparse, index_type="SPARSE_INVERTED_INDEX", metric_type="BM25")
    params.add_index(field_name="doc_key", index_type="INVERTED")  # every search filters on it
    return params
