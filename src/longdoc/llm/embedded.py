"""A GGUF model run in-process by llama.cpp (through llama-cpp-python)."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from longdoc.errors import BackendError, ModelError
from longdoc.llm.base import Completion, GenerationOptions, Message, OnToken
from longdoc.llm.vocab import (
    LlamaSettings,
    LlamaTokenCounter,
    check_llama_cpp,
    llama_cpp_module,
    load_llama,
    load_token_counter,
)

__all__ = ["EmbeddedLLM", "LlamaSettings", "load_token_counter", "reused_prefix"]


def reused_prefix(evaluated: Sequence[int], prompt: Sequence[int], logits_live: bool) -> int:
    """How many of `prompt`'s tokens `llama_cpp.Llama.generate` (0.3.36) takes from
    the KV cache instead of evaluating, given the tokens the cache holds
    (`evaluated`) and whether the last one's logits are current. Mirrors its
    prefix check: the common prefix is kept; when it covers the whole prompt, the
    last token is evaluated again for fresh logits, unless the prompt is exactly
    what was evaluated and its logits are live. (It assumes llama.cpp can drop the
    cache's tail, as it can for the shipped Qwen models; for a recurrent one it
    cannot, and everything is evaluated again.)"""
    if not evaluated:
        return 0
    common = 0
    for a, b in zip(evaluated, prompt):
        if a != b:
            break
        common += 1
    if common == len(prompt):
        if len(evaluated) == len(prompt) and logits_live:
            return len(prompt)
        return max(common - 1, 0)
    return common


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
        llama_settings: LlamaSettings | None = None,
    ) -> None:
        check_llama_cpp()  # fail at construction, not at the first question
        self.model_path = Path(model_path)
        if not self.model_path.is_file():
            raise ModelError(f"model file not found: {self.model_path}")
        self.name = name or self.model_path.stem
        self.context_window = context_window
        self._threads = threads or os.cpu_count() or 1
        self.llama_settings = llama_settings or LlamaSettings()
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
        llama = load_llama(
            self.model_path,
            self.llama_settings,
            n_ctx=self.context_window,
            n_threads=self._threads,
            n_threads_batch=self._threads,
        )
        template = llama.metadata.get("tokenizer.chat_template")
        if not template:
            raise ModelError(f"model {self.model_path} has no chat template; use an instruct GGUF")
        chat_format = llama_cpp_module().llama_chat_format
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

    @contextlib.contextmanager
    def raw_llama(self) -> Iterator[Any]:
        """The loaded `llama_cpp.Llama`, with no other call running: for benchmarks
        that time llama.cpp itself (prefill, decode steps). What they evaluate
        stays in the KV cache, so the next call may reuse it."""
        with self._lock:
            self._ensure_loaded()
            yield self._llama

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
        # Read before generating: generate() keeps what the cache shares with the prompt.
        cached = reused_prefix(
            llama.input_ids[: llama.n_tokens].tolist(), prompt, not getattr(llama, "_requires_eval", True)
        )
        recorder = _TopLogprobs(options.logprobs) if options.logprobs > 0 else None
        processors = None if recorder is None else llama_cpp_module().LogitsProcessorList([recorder])
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
            cached_tokens=cached,
        )

    def _count_plain(self, text: str) -> int:
        if not text:
            return 0
        return len(self._llama.tokenize(text.encode("utf-8", "replace"), add_bos=False))
