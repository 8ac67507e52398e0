"""Other words without a model call, in English and Chinese: the model's own vocabulary.

A language model's output layer gives each token of its vocabulary a vector; two
tokens the model would write in the same place get vectors that point the same
way. For whole-word tokens those neighbours are synonyms, related words and
translations: "morning" lies near "dawn" and "清晨", "一大早" near "清晨", "治愈"
near "治好", "doctor" near "physician" and "医生". WordNet (thesaurus.py) is
English only; this works for both languages from a file we ship already.

The lexicon is generated, not downloaded: the first time it is needed, the
embedded model's GGUF is read (PyPI `gguf`, llama.cpp's own reader), the rows
of whole-word tokens kept, centred and scaled to unit length, and written
beside the model (`<model>.lexicon.npy` and `.json`, ~150 MB, ~10 s and ~1.5 GB
of memory while it runs). Later processes map the file: loading takes ~0.3 s, a
question's neighbours 50-70 ms at 128k tokens.

Level 2 fuses a ranking by these words into its reading order (agents/read.py),
only with words the documents use: a neighbour the corpus never holds cannot
find a chunk.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np
import numpy.typing as npt

from .durable import write_file
from .errors import LongdocError
from .index.terms import EN_STOPWORDS, Analyzer

LEXICON_VERSION = 1
# A whole English word (the tokenizer's leading-space form, lowercase: capitalised
# tokens are names and sentence starts) or a run of one to four Chinese characters.
_EN_TOKEN = re.compile(r" [a-z]{3,}")
_ZH_TOKEN = re.compile(r"[\u4e00-\u9fff]{1,4}")
_EN_WORD = re.compile(r"(?<![A-Za-z])[a-z]{3,}")
_ZH_RUN = re.compile(r"[\u4e00-\u9fff]+")
# Question words and function words: their neighbours are other question words.
ZH_FUNCTION_WORDS = frozenset(
    "谁 哪 哪个 哪位 哪里 哪儿 哪些 什么 怎么 如何 为什么 那个 这个 那里 这里 一种 一个 一位 是否 多少".split()
)
NEIGHBOURS = 5  # per question word
MIN_SIMILARITY = 0.25  # cosine after centring; below it the neighbours are noise
_BLOCK = 8192


class LexiconMissing(LongdocError):
    """The model file to build the lexicon from is missing or unreadable."""


@dataclass
class Lexicon:
    words: list[str]  # one per row: lowercase English words and Chinese words
    vectors: npt.NDArray[np.float16]  # unit rows, centred
    _row: dict[str, int] = field(init=False, repr=False)
    _analyzer: Analyzer = field(init=False, repr=False)
    # Each word's BM25 terms, flattened: term ids, and the word each id belongs to.
    _terms: dict[str, int] = field(init=False, repr=False)  # term -> id
    _term_ids: npt.NDArray[np.int64] = field(init=False, repr=False)
    _owner: npt.NDArray[np.int64] = field(init=False, repr=False)
    _term_count: npt.NDArray[np.int64] = field(init=False, repr=False)  # terms per word

    def __post_init__(self) -> None:
        self._row = {w: i for i, w in enumerate(self.words)}
        self._analyzer = Analyzer()
        index: dict[str, int] = {}
        ids, owner = [], []
        for row, word in enumerate(self.words):
            for term in self._analyzer.terms(word):
                ids.append(index.setdefault(term, len(index)))
                owner.append(row)
        self._terms = index
        self._term_ids = np.asarray(ids, dtype=np.int64)
        self._owner = np.asarray(owner, dtype=np.int64)
        self._term_count = np.bincount(self._owner, minlength=len(self.words))

    def asked(self, text: str) -> list[str]:
        """The text's content words the lexicon knows: English words of three
        letters or more, and Chinese words cut from each run by longest match."""
        out = [w for w in _EN_WORD.findall(text.lower()) if w not in EN_STOPWORDS and w in self._row]
        for run in _ZH_RUN.findall(text):
            i = 0
            while i < len(run):
                for n in range(min(4, len(run) - i), 0, -1):
                    w = run[i : i + n]
                    if n == 1 or w in self._row:
                        break
                if n > 1 and w not in ZH_FUNCTION_WORDS:
                    out.append(w)
                i += n
        return list(dict.fromkeys(out))

    def other_words(self, text: str, holds: Callable[[Iterable[str]], Mapping[str, int]]) -> list[str]:
        """Each content word's nearest words that the documents hold (`holds`:
        term -> how many chunks hold it, as `Corpus.chunks_holding`), leaving out
        forms of the text's own words."""
        asked = self.asked(text)
        if not asked:
            return []
        known = holds(self._terms)
        held = np.fromiter((known.get(t, 0) > 0 for t in self._terms), dtype=bool, count=len(self._terms))
        own = np.zeros(len(self._terms), dtype=bool)
        own[[self._terms[t] for t in set(self._analyzer.terms(text)) if t in self._terms]] = True
        n, terms = len(self.words), self._term_count
        missing = np.bincount(self._owner, weights=~held[self._term_ids], minlength=n)
        shared = np.bincount(self._owner, weights=own[self._term_ids], minlength=n)
        # A word whose every term some chunk holds, and not only a form of the text's own words.
        usable = (terms > 0) & (missing == 0) & (shared < terms)
        rows = np.flatnonzero(usable)
        if not len(rows):
            return []
        queries = self.vectors[[self._row[w] for w in asked]].astype(np.float32)
        similar = np.empty((len(asked), len(rows)), dtype=np.float32)
        # A block of rows at a time: all of them in float32 would take 300 MB.
        for start in range(0, len(rows), _BLOCK):
            block = self.vectors[rows[start : start + _BLOCK]].astype(np.float32)
            similar[:, start : start + _BLOCK] = queries @ block.T
        out: list[str] = []
        for scores in similar:
            best = np.argsort(-scores)[:NEIGHBOURS]
            out += [self.words[rows[j]] for j in best if scores[j] >= MIN_SIMILARITY]
        return [w for w in dict.fromkeys(out) if w not in ZH_FUNCTION_WORDS]


def lexicon_paths(model: Path) -> tuple[Path, Path]:
    """Where the lexicon generated from `model` is kept: its vectors and its words."""
    return model.with_name(model.stem + ".lexicon.npy"), model.with_name(model.stem + ".lexicon.json")


def build_lexicon(model: Path) -> Lexicon:
    """Generate the lexicon from a GGUF model's output layer (its input embeddings
    when the two are tied) and store it beside the model, atomically."""
    vectors_path, words_path = lexicon_paths(model)
    words, matrix = _read_vocabulary(model)
    keep = [i for i, w in enumerate(words) if w is not None and (_EN_TOKEN.fullmatch(w) or _ZH_TOKEN.fullmatch(w))]
    kept_words = [str(words[i]).strip() for i in keep]
    rows = matrix[keep].astype(np.float32)
    rows -= rows.mean(axis=0)
    rows /= np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-6)
    vectors = rows.astype(np.float16)
    stat = model.stat()
    meta = {"version": LEXICON_VERSION, "model_size": stat.st_size, "model_mtime": stat.st_mtime, "words": kept_words}
    buffer = io.BytesIO()
    np.save(buffer, vectors)
    write_file(vectors_path, buffer.getvalue())
    write_file(words_path, json.dumps(meta, ensure_ascii=False).encode())  # last: it vouches for the vectors
    return Lexicon(kept_words, vectors)


@cache
def load_lexicon(model: Path) -> Lexicon:
    """The lexicon of `model`: read from beside it, or generated once if missing or stale."""
    vectors_path, words_path = lexicon_paths(model)
    try:
        stat = model.stat()
    except OSError as e:
        raise LexiconMissing(f"the model {model} is not there to build the lexicon from ({e.strerror})") from e
    try:
        meta = json.loads(words_path.read_text(encoding="utf-8"))
        fresh = (meta.get("version"), meta.get("model_size"), meta.get("model_mtime")) == (
            LEXICON_VERSION,
            stat.st_size,
            stat.st_mtime,
        )
        if fresh:
            vectors = np.load(vectors_path, mmap_mode="r")
            if vectors.shape[0] == len(meta["words"]):
                return Lexicon(list(meta["words"]), vectors)
    except (OSError, ValueError, KeyError):
        pass  # missing or damaged: generate it again
    try:
        return build_lexicon(model)
    except Exception as e:  # gguf's reader raises many kinds of error on a damaged file
        raise LexiconMissing(f"cannot build the lexicon from {model.name}: {e}") from e


def _read_vocabulary(model: Path) -> tuple[list[str | None], npt.NDArray[np.float32]]:
    """The model's tokens as text (None where not valid UTF-8) and one vector per token."""
    import gguf  # only when the lexicon is built

    reader = gguf.GGUFReader(model)
    tensors = {t.name: t for t in reader.tensors}
    tensor = tensors.get("output.weight") or tensors.get("token_embd.weight")
    field_ = reader.fields.get("tokenizer.ggml.tokens")
    if tensor is None or field_ is None:
        raise ValueError("no token vectors or vocabulary in the file")
    matrix = gguf.quants.dequantize(tensor.data, tensor.tensor_type)
    raw = [bytes(field_.parts[i]).decode("utf-8") for i in field_.data]
    return [_token_text(t) for t in raw], matrix


def _byte_decoder() -> dict[str, int]:
    # Byte-level BPE writes each byte as a printable character; undo that mapping.
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    chars, extra = list(printable), 0
    for b in range(256):
        if b not in printable:
            printable.append(b)
            chars.append(256 + extra)
            extra += 1
    return {chr(c): b for b, c in zip(printable, chars, strict=True)}


_BYTES = _byte_decoder()


def _token_text(token: str) -> str | None:
    try:
        return bytes(_BYTES[c] for c in token).decode("utf-8")
    except (KeyError, UnicodeDecodeError):
        return None
