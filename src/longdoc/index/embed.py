"""Embeddings: the retriever that finds a fact told in other words.

"Who keeps the lighthouse?" shares no word with "Edda Marn tends the beacon",
so BM25 cannot rank that chunk; vectors of word meaning can. The model is
WordLlama's static token embeddings (PyPI `wordllama`, MIT), which ship inside
the wheel: a text's vector is the mean of its tokens' vectors, so embedding a
million tokens takes seconds on a CPU and nothing is fetched at run time.
benchmarks/embed_rank.py measured it against the other packaged models.

Every sentence gets a vector and a chunk scores as its best sentence: a mean
over a whole 512-token chunk drowns a one-sentence fact among twenty others.
At 128k tokens, fused with BM25, that put 5 of the 14 paraphrased facts in
the first 10% of the chunks (the chunk mean 4, BM25 alone 3): a gain, far from
what a transformer encoder would give, which is why it is not on by default
(docs/benchmarks.md).

Only the package's files are used (found with importlib, loaded with
`tokenizers` and `safetensors`): importing `wordllama` itself configures the
root logger, and its loader looks for the tokenizer where the wheel does not
put it and then tries a model hub.
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from ..errors import ConfigError
from ..records import Chunk, Hit, IndexedDoc
from ..sentences import sentence_spans
from .retriever import Query, chunks_of, top_hits

if TYPE_CHECKING:
    from tokenizers import Tokenizer

# The files of the pinned wordllama release (pyproject.toml's `embed` extra).
_PACKAGE = "wordllama"
_WEIGHTS = "weights/l2_supercat_256.safetensors"
_TOKENIZER = "tokenizers/l2_supercat_tokenizer_config.json"
MODEL_ID = "wordllama-l2_supercat_256"  # stored with the vectors: other weights mean a rebuild
_VECTORS = "vectors.npy"
_OWNERS = "owners.npy"
_META = "embed.json"
_WEIGHTS_FILE = "weights.npy"
# Texts tokenised per call: bounds the padded id matrix (batch x longest text).
_BATCH = 256
# A sentence longer than this many characters is cut into pieces of it, so a
# paragraph without end marks (a table, a list) is not one diluted vector.
_MAX_SENTENCE_CHARS = 400
# The smoothing of the rarity weights: tokens rarer than this share keep about
# their full weight, one at 1% of the text about a tenth of it.
_SIF_A = 1e-3


Vectors = npt.NDArray[np.float32]


class EmbeddingModel:
    """Static token embeddings, mean-pooled and scaled to unit length."""

    def __init__(self, tokenizer: Tokenizer, matrix: Vectors) -> None:
        self._tokenizer = tokenizer
        self._matrix = matrix

    @classmethod
    def load(cls) -> EmbeddingModel:
        spec = importlib.util.find_spec(_PACKAGE)  # finds the package without running its __init__
        if spec is None or not spec.submodule_search_locations:
            raise ConfigError("the embedding retriever needs wordllama: pip install 'longdoc[embed]'")
        root = Path(next(iter(spec.submodule_search_locations)))
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(str(root / _TOKENIZER))
        tokenizer.no_truncation()
        tokenizer.no_padding()
        matrix = load_file(str(root / _WEIGHTS))["embedding.weight"].astype(np.float32)
        return cls(tokenizer, matrix)

    @property
    def dim(self) -> int:
        return int(self._matrix.shape[1])

    def encode(self, texts: Sequence[str]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """The texts' token ids, end to end, and each text's count of them."""
        ids: list[int] = []
        lengths = np.zeros(len(texts), dtype=np.int64)
        for start in range(0, len(texts), _BATCH):
            encodings = self._tokenizer.encode_batch(list(texts[start : start + _BATCH]), add_special_tokens=False)
            for n, e in enumerate(encodings):
                ids.extend(e.ids)
                lengths[start + n] = len(e.ids)
        return np.asarray(ids, dtype=np.int64), lengths

    def pool(self, ids: npt.NDArray[np.int64], lengths: npt.NDArray[np.int64], weights: Vectors | None) -> Vectors:
        """Each text's weighted mean token vector, at unit length (zero for a text without tokens)."""
        out = np.zeros((len(lengths), self.dim), dtype=np.float32)
        rows = np.flatnonzero(lengths)
        if len(rows):
            token_vectors = self._matrix[ids]
            if weights is not None:
                token_vectors *= weights[ids][:, None]
            # Sum each text's token vectors in one pass over the flat id list.
            starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))[rows]
            out[rows] = np.add.reduceat(token_vectors, starts, axis=0)
        out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
        return out

    def embed(self, texts: Sequence[str], weights: Vectors | None = None) -> Vectors:
        return self.pool(*self.encode(texts), weights)

    def rarity(self, ids: npt.NDArray[np.int64]) -> Vectors:
        """Weights that let a text's rarer tokens speak: a / (a + p(token)), p
        its share of the documents' tokens (smooth inverse frequency). Without
        them "the", "of" and "，" pull every sentence's mean the same way."""
        p = np.bincount(ids, minlength=len(self._matrix)).astype(np.float32) / max(len(ids), 1)
        weights: Vectors = (_SIF_A / (_SIF_A + p)).astype(np.float32)
        return weights


def sentence_units(chunks: Sequence[Chunk]) -> tuple[list[str], npt.NDArray[np.int32]]:
    """Every chunk's sentences (long ones in pieces), and the chunk each belongs to."""
    texts: list[str] = []
    owners: list[int] = []
    for n, c in enumerate(chunks):
        for a, b in sentence_spans(c.text):
            s = c.text[a:b].strip()
            for i in range(0, len(s), _MAX_SENTENCE_CHARS):
                texts.append(s[i : i + _MAX_SENTENCE_CHARS])
                owners.append(n)
    return texts, np.asarray(owners, dtype=np.int32)


@dataclass
class EmbeddingRetriever:
    model: EmbeddingModel
    chunks: list[Chunk]
    vectors: Vectors  # one row per sentence, unit length (float16 on disk: half the bytes, same ranking)
    owners: npt.NDArray[np.int32]  # the chunk of each row
    weights: Vectors | None  # each token's rarity in these documents; None: a plain mean

    def scores(self, query: Query) -> Vectors:
        """Each chunk's best sentence's cosine to the nearest of the query's texts."""
        texts = [query] if isinstance(query, str) else list(query)
        best = np.full(len(self.chunks), -1.0, dtype=np.float32)
        if not texts or not len(self.owners):
            return best
        q = self.model.embed(texts, self.weights)
        by_row = (self.vectors @ q.T).max(axis=1)
        np.maximum.at(best, self.owners, by_row)
        return best

    def search(self, query: Query, k: int) -> list[Hit]:
        s = self.scores(query)
        return top_hits(self.chunks, s, k)

    def save(self, directory: Path) -> None:
        np.save(directory / _VECTORS, self.vectors.astype(np.float16))
        np.save(directory / _OWNERS, self.owners)
        if self.weights is not None:
            np.save(directory / _WEIGHTS_FILE, self.weights)
        meta = {
            "model": MODEL_ID,
            "chunks": len(self.chunks),
            "rows": len(self.owners),
            "rarity": self.weights is not None,
        }
        (directory / _META).write_text(json.dumps(meta), encoding="utf-8")


class EmbeddingKind:
    name = "embed"

    def __init__(self, per_sentence: bool = True, rarity: bool = False) -> None:
        # The measured best (benchmarks/embed_rank.py): per sentence, a plain mean.
        self.per_sentence = per_sentence
        self.rarity = rarity
        self._model: EmbeddingModel | None = None  # loaded once, on the first build or load

    def model(self) -> EmbeddingModel:
        if self._model is None:
            self._model = EmbeddingModel.load()
        return self._model

    def build(self, docs: Sequence[IndexedDoc]) -> EmbeddingRetriever:
        chunks = chunks_of(docs)
        if self.per_sentence:
            texts, owners = sentence_units(chunks)
        else:
            texts, owners = [c.text for c in chunks], np.arange(len(chunks), dtype=np.int32)
        model = self.model()
        ids, lengths = model.encode(texts)
        weights = model.rarity(ids) if self.rarity else None
        return EmbeddingRetriever(model, chunks, model.pool(ids, lengths, weights), owners, weights)

    def load(self, directory: Path, docs: Sequence[IndexedDoc]) -> EmbeddingRetriever:
        chunks = chunks_of(docs)
        meta = json.loads((directory / _META).read_text(encoding="utf-8"))
        if meta["model"] != MODEL_ID or meta["chunks"] != len(chunks):
            raise ValueError(f"the stored vectors are {meta['model']} over {meta['chunks']} chunks")
        vectors = np.load(directory / _VECTORS, allow_pickle=False).astype(np.float32)
        owners = np.load(directory / _OWNERS, allow_pickle=False)
        if len(vectors) != meta["rows"] or len(owners) != meta["rows"] or (len(owners) and owners.max() >= len(chunks)):
            raise ValueError("the stored vectors do not match their chunks")
        weights = np.load(directory / _WEIGHTS_FILE, allow_pickle=False) if meta["rarity"] else None
        return EmbeddingRetriever(self.model(), chunks, vectors, owners, weights)
