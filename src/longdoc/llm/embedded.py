"""A GGUF model run in-process by llama.cpp (through llama-cpp-python)."""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any, BinaryIO

import numpy as np
import numpy.typing as npt

from longdoc.errors import BackendError, ModelError
from longdoc.llm.base import Completion, GenerationOptions, Message, OnToken
from longdoc.llm.models import recorded_sha256

INSTALL_HINT = 'pip install "longdoc[embedded]"'
# The tokenizer is the only part of the model a counter needs; llama.cpp still
# insists on a context, so ask for the smallest one.
_VOCAB_ONLY_CTX = 256


def _llama_cpp() -> ModuleType:
    try:
        import llama_cpp
    except ImportError as exc:
        raise ModelError(
            f"the embedded backend needs llama-cpp-python ({exc}); install it with: {INSTALL_HINT}"
        ) from exc
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


def _load(model_path: Path, **params: Any) -> Any:
    llama_cpp = _llama_cpp()
    if not model_path.is_file():
        raise ModelError(f"model file not found: {model_path}")
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


class LlamaTokenCounter:
    """Exact token counts from the model's own tokenizer.

    Calls llama_tokenize directly rather than `Llama.tokenize`: the wrapper
    sizes its buffer by the training context, which is 0 for a vocab-only
    load, so every call would tokenize twice. The C call releases the GIL,
    so counting from several threads runs in parallel."""

    def __init__(self, llama: Any, name: str) -> None:
        self.name = name
        self._llama = llama  # keeps the vocabulary's memory alive
        self._llama_cpp = _llama_cpp()
        self._vocab = self._llama_cpp.llama_model_get_vocab(llama.model)

    def count(self, text: str) -> int:
        data = text.encode("utf-8", "replace")
        if not data:
            return 0
        # Every token covers at least one byte, so this buffer always suffices.
        capacity = len(data) + 1
        buffer = (self._llama_cpp.llama_token * capacity)()
        n = self._llama_cpp.llama_tokenize(self._vocab, data, len(data), buffer, capacity, False, False)
        if n < 0:
            raise RuntimeError(f"llama_tokenize needed {-n} slots, had {capacity}")
        return int(n)


def load_token_counter(model_path: Path) -> LlamaTokenCounter:
    """An exact counter without loading the weights (about half a second)."""
    llama = _load(Path(model_path), vocab_only=True, n_ctx=_VOCAB_ONLY_CTX)
    return LlamaTokenCounter(llama, counter_name(Path(model_path)))


class _TopLogprobs:
    """A llama_cpp logits processor that notes each step's top-k alternatives
    and leaves the logits alone. llama_cpp's own `logprobs` needs
    logits_all=True, which keeps n_ctx x vocab floats: 5 GB at an 8k context
    with Qwen's 152k vocabulary."""

    def __init__(self, k: int) -> None:
        self.k = k
        self.steps: list[tuple[npt.NDArray[np.intp], npt.NDArray[np.float64]]] = []

    def __call__(self, input_ids: npt.NDArray[np.intc], logits: npt.NDArray[np.single]) -> npt.NDArray[np.single]:
        # The processor runs first in the sampler chain, so `logits` is the
        # whole vocabulary in token-id order.
        shifted = logits.astype(np.float64) - float(logits.max())
        log_z = float(np.log(np.exp(shifted).sum()))
        k = min(self.k, shifted.size)
        top = np.argpartition(shifted, -k)[-k:]
        top = top[np.argsort(-shifted[top])]
        self.steps.append((top, shifted[top] - log_z))
        return logits

    def as_dicts(self, llama: Any) -> list[dict[str, float]]:
        result = []
        for ids, logprobs in self.steps:
            step: dict[str, float] = {}
            for token, logprob in zip(ids.tolist(), logprobs.tolist(), strict=True):
                text = llama.detokenize([token], special=True).decode("utf-8", "replace")
                step.setdefault(text, logprob)  # byte tokens may share a text; keep the likelier
            result.append(step)
        return result


class EmbeddedLLM:
    """Runs the model in this process. The weights load on first use (or on
    `load()`), so building one is cheap for commands that never generate."""

    supports_tools = False  # the ReAct text protocol stands in

    def __init__(
        self,
        model_path: Path,
        context_window: int = 8192,
        threads: int | None = None,
        name: str | None = None,
    ) -> None:
        _llama_cpp()  # fail at construction, not at the first question
        self.model_path = Path(model_path)
        if not self.model_path.is_file():
            raise ModelError(f"model file not found: {self.model_path}")
        self.name = name or self.model_path.stem
        self.context_window = context_window
        self._threads = threads or os.cpu_count() or 1
        # llama_cpp.Llama keeps per-call state (KV cache, sampler): one call at a time.
        self._lock = threading.Lock()
        self._llama: Any = None
        self._formatter: Any = None
        self._counter_lock = threading.Lock()
        self._counter: LlamaTokenCounter | None = None

    def load(self) -> None:
        with self._lock:
            self._ensure_loaded()

    def _ensure_loaded(self) -> None:
        if self._llama is not None:
            return
        llama = _load(
            self.model_path,
            n_ctx=self.context_window,
            n_batch=512,
            n_threads=self._threads,
            n_threads_batch=self._threads,
        )
        template = llama.metadata.get("tokenizer.chat_template")
        if not template:
            raise ModelError(f"model {self.model_path} has no chat template; use an instruct GGUF")
        chat_format = _llama_cpp().llama_chat_format
        eos, bos = llama.token_eos(), llama.token_bos()
        self._formatter = chat_format.Jinja2ChatFormatter(
            template=template,
            eos_token=self._token_text(llama, eos),
            bos_token=self._token_text(llama, bos),
            stop_token_ids=[eos],
        )
        self._llama = llama

    @staticmethod
    def _token_text(llama: Any, token: int) -> str:
        if token < 0:
            return ""
        return str(llama.detokenize([token], special=True).decode("utf-8", "replace"))

    def token_counter(self) -> LlamaTokenCounter:
        # A separate vocab-only copy: counting must not wait for a generation
        # holding the main lock, and must not force the weights to load.
        with self._counter_lock:
            if self._counter is None:
                self._counter = load_token_counter(self.model_path)
            return self._counter

    def complete(
        self,
        messages: list[Message],
        options: GenerationOptions,
        on_token: OnToken | None = None,
    ) -> Completion:
        if options.max_tokens < 1:
            raise ValueError("max_tokens must be at least 1")
        with self._lock:
            self._ensure_loaded()
            return self._generate(messages, options, on_token)

    def _generate(self, messages: list[Message], options: GenerationOptions, on_token: OnToken | None) -> Completion:
        llama = self._llama
        # Render with the GGUF's own template, exactly as create_chat_completion
        # would, but keep the tokens: the count and the overflow check are then
        # on precisely what the model sees.
        rendered = self._formatter(messages=[{"role": m.role, "content": m.content} for m in messages])
        prompt = llama.tokenize(
            rendered.prompt.encode("utf-8", "replace"),
            add_bos=not rendered.added_special,
            special=True,
        )
        budget = len(prompt) + options.max_tokens
        if budget > self.context_window:
            raise BackendError(
                f"{self.name}: prompt is {len(prompt)} tokens and max_tokens is "
                f"{options.max_tokens}; together they exceed the context window of "
                f"{self.context_window} by {budget - self.context_window} tokens"
            )
        recorder = _TopLogprobs(options.logprobs) if options.logprobs > 0 else None
        processors = None if recorder is None else _llama_cpp().LogitsProcessorList([recorder])
        stream = llama.create_completion(
            prompt=prompt,
            max_tokens=options.max_tokens,
            temperature=options.temperature,
            repeat_penalty=options.repeat_penalty,
            stop=list(options.stop) + list(rendered.stop or []),
            stopping_criteria=rendered.stopping_criteria,
            logits_processor=processors,
            stream=True,
        )
        pieces: list[str] = []
        finish = "stop"
        try:
            while True:
                try:
                    chunk = next(stream)
                except StopIteration:
                    break
                except (RuntimeError, ValueError, OSError) as exc:
                    raise BackendError(f"{self.name}: generation failed: {exc}") from exc
                choice = chunk["choices"][0]
                if choice["text"]:
                    pieces.append(choice["text"])
                    # Outside the try above: a caller's exception surfaces as itself.
                    if on_token is not None:
                        on_token(choice["text"])
                if choice.get("finish_reason") == "length":
                    finish = "length"
        finally:
            stream.close()  # ends generation at once if on_token raised
        text = "".join(pieces)
        return Completion(
            text,
            len(prompt),
            self._count_plain(text),
            finish,
            top_logprobs=None if recorder is None else recorder.as_dicts(llama),
        )

    def _count_plain(self, text: str) -> int:
        if not text:
            return 0
        return len(self._llama.tokenize(text.encode("utf-8", "replace"), add_bos=False))
