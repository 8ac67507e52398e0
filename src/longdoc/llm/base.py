"""The one small interface every LLM backend implements."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Protocol, runtime_checkable

OnToken = Callable[[str], None]


@dataclass(frozen=True)
class Message:
    role: str  # "system" | "user" | "assistant"
    content: str


@dataclass
class Completion:
    text: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str = "stop"  # "stop" | "length"
    # With GenerationOptions.logprobs > 0 and a backend that supports it: for
    # each generated token, its top alternatives as {token text: log probability}.
    top_logprobs: list[dict[str, float]] | None = None


@dataclass
class GenerationOptions:
    max_tokens: int = 512
    temperature: float = 0.0
    stop: list[str] = field(default_factory=list)
    logprobs: int = 0  # how many top alternatives per token to return (0: none)


@runtime_checkable
class TokenCounter(Protocol):
    """Counts tokens. `name` goes into index keys, so chunks made with one
    tokenizer are never mistaken for chunks made with another."""

    name: str

    def count(self, text: str) -> int: ...


@runtime_checkable
class LLM(Protocol):
    name: str
    context_window: int

    def complete(
        self,
        messages: list[Message],
        options: GenerationOptions,
        on_token: OnToken | None = None,
    ) -> Completion:
        """Generate a reply. Streams text pieces to `on_token` when given.
        Raises `longdoc.errors.BackendError` once retries are exhausted."""
        ...

    def token_counter(self) -> TokenCounter:
        """The model's own tokenizer when at hand, else a conservative estimate."""
        ...
