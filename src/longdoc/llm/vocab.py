"""llama.cpp itself: importing it, loading a GGUF, and the model's tokenizer as a
token counter.

Apart from the generating model (embedded.py) so that counting tokens needs
neither numpy nor the weights: indexing only counts, and an unchanged document
needs no counting at all, only the counter's name for its index key.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import sys
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, BinaryIO

from longdoc.errors import ConfigError, ModelError
from longdoc.llm.models import recorded_sha256

INSTALL_HINT = 'pip install "longdoc[embedded]"'
# The tokenizer is the only part of the model a counter needs; llama.cpp still
# insists on a context, so ask for the smallest one.
_VOCAB_ONLY_CTX = 256


def _missing_llama_cpp(cause: object) -> ModelError:
    return ModelError(f"the embedded backend needs llama-cpp-python ({cause}); install it with: {INSTALL_HINT}")


def check_llama_cpp() -> None:
    """Raises ModelError unless llama-cpp-python is installed; finds it without
    importing it (loading the library takes a noticeable part of a second)."""
    if importlib.util.find_spec("llama_cpp") is None:
        raise _missing_llama_cpp("No module named 'llama_cpp'")


def llama_cpp_module() -> ModuleType:
    try:
        import llama_cpp
    except ImportError as exc:
        raise _missing_llama_cpp(exc) from exc
    return llama_cpp


@contextlib.contextmanager
def _stderr_captured() -> Iterator[BinaryIO]:
    """Send fd 2 to a temp file for the duration: llama.cpp prints load-time
    chatter from C, below Python's sys.stderr. The capture is kept so a failed
    load can quote llama.cpp's own explanation."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield sink
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def _last_line(sink: BinaryIO) -> str:
    sink.seek(0)
    lines = [ln.strip() for ln in sink.read().decode("utf-8", "replace").splitlines()]
    lines = [ln for ln in lines if ln]
    return lines[-1] if lines else ""


# KV cache element types llama.cpp accepts, by the names its own CLI uses (-ctk/-ctv).
KV_TYPES = ("f32", "f16", "q8_0", "q5_1", "q5_0", "q4_1", "q4_0", "iq4_nl")


@dataclass(frozen=True)
class LlamaSettings:
    """How llama.cpp builds the model's context; the defaults are what the embedded
    backend has always used. Threads are not here: they come from the settings."""

    n_batch: int = 512  # prompt tokens handed to one llama_decode call
    n_ubatch: int = 512  # tokens per compute pass within it (llama.cpp clamps it to n_batch)
    flash_attn: bool = False
    type_k: str = "f16"  # KV cache element types (KV_TYPES); quantized ones halve its memory or better
    type_v: str = "f16"
    use_mmap: bool = True  # map the weights (they load lazily) rather than read them in
    use_mlock: bool = False  # pin the weights in RAM

    def __post_init__(self) -> None:
        if self.n_batch < 1 or self.n_ubatch < 1:
            raise ConfigError("n_batch and n_ubatch must be at least 1")
        if self.n_ubatch > self.n_batch:
            # llama_cpp would quietly use n_batch: a variant would measure something other than it says.
            raise ConfigError(f"n_ubatch ({self.n_ubatch}) must not exceed n_batch ({self.n_batch})")
        for name in (self.type_k, self.type_v):
            if name not in KV_TYPES:
                raise ConfigError(f"unknown KV cache type {name!r} (choose from {', '.join(KV_TYPES)})")
        if self.type_v not in ("f32", "f16") and not self.flash_attn:
            # llama.cpp refuses the context otherwise; say so before a model loads.
            raise ConfigError(f"a quantized V cache (type_v={self.type_v}) needs flash_attn=true")

    def params(self, llama_cpp: ModuleType) -> dict[str, Any]:
        """`llama_cpp.Llama` keyword arguments (llama-cpp-python 0.3.36 takes each)."""
        return {
            "n_batch": self.n_batch,
            "n_ubatch": self.n_ubatch,
            "flash_attn": self.flash_attn,
            "type_k": getattr(llama_cpp, f"GGML_TYPE_{self.type_k.upper()}"),
            "type_v": getattr(llama_cpp, f"GGML_TYPE_{self.type_v.upper()}"),
            "use_mmap": self.use_mmap,
            "use_mlock": self.use_mlock,
        }


def load_llama(model_path: Path, settings: LlamaSettings | None = None, **params: Any) -> Any:
    """A `llama_cpp.Llama` over the GGUF, built with `settings` (llama.cpp's defaults
    when None: the vocabulary-only load needs no context to speak of); ModelError
    with llama.cpp's own reason when it fails."""
    llama_cpp = llama_cpp_module()
    if not model_path.is_file():
        raise ModelError(f"model file not found: {model_path}")
    if settings is not None:
        params = {**settings.params(llama_cpp), **params}
    with _stderr_captured() as sink:
        try:
            return llama_cpp.Llama(model_path=str(model_path), verbose=False, **params)
        except (ValueError, RuntimeError, OSError) as exc:
            detail = _last_line(sink) or str(exc)
            raise ModelError(f"cannot load model {model_path}: {detail}") from exc


def counter_name(model_path: Path) -> str:
    """Identifies the tokenizer in index keys: the verified hash when assembly
    recorded one (free), else file name and size (hashing 1 GB just for a
    name would cost seconds on every start)."""
    sha = recorded_sha256(model_path)
    if sha:
        return f"gguf:{sha[:16]}"
    return f"gguf:{model_path.name}:{model_path.stat().st_size}"


@dataclass(frozen=True)
class _Vocab:
    llama: Any  # keeps the vocabulary's memory alive
    llama_cpp: ModuleType
    vocab: Any

    @staticmethod
    def load(model_path: Path) -> _Vocab:
        llama = load_llama(model_path, vocab_only=True, n_ctx=_VOCAB_ONLY_CTX)
        llama_cpp = llama_cpp_module()
        return _Vocab(llama, llama_cpp, llama_cpp.llama_model_get_vocab(llama.model))


class LlamaTokenCounter:
    """Exact token counts from the model's own tokenizer.

    The vocabulary loads on the first count (about half a second), not when
    the counter is made: an unchanged document needs only the counter's name.
    Calls llama_tokenize directly rather than `Llama.tokenize`: the wrapper
    sizes its buffer by the training context, which is 0 for a vocab-only
    load, so every call would tokenize twice. The C call releases the GIL,
    so counting from several threads runs in parallel."""

    def __init__(self, model_path: Path, name: str) -> None:
        self.name = name
        self._path = model_path
        self._lock = threading.Lock()  # count_many counts from several threads
        self._loaded: _Vocab | None = None

    def _vocab(self) -> _Vocab:
        with self._lock:
            if self._loaded is None:
                self._loaded = _Vocab.load(self._path)
            return self._loaded

    def count(self, text: str) -> int:
        data = text.encode("utf-8", "replace")
        if not data:
            return 0
        v = self._loaded or self._vocab()
        # Every token covers at least one byte, so this buffer always suffices.
        capacity = len(data) + 1
        buffer = (v.llama_cpp.llama_token * capacity)()
        n = v.llama_cpp.llama_tokenize(v.vocab, data, len(data), buffer, capacity, False, False)
        if n < 0:
            raise RuntimeError(f"llama_tokenize needed {-n} slots, had {capacity}")
        return int(n)


def load_token_counter(model_path: Path) -> LlamaTokenCounter:
    """An exact counter; the file and llama.cpp are checked now, the vocabulary loads when first needed."""
    path = Path(model_path)
    check_llama_cpp()
    if not path.is_file():
        raise ModelError(f"model file not found: {path}")
    return LlamaTokenCounter(path, counter_name(path))
