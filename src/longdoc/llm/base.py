"""The one small interface every LLM backend implements."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from longdoc.tokens import TokenCounter

OnToken = Callable[[str], None]


@dataclass(frozen=True)
class ToolCall:
    """A function call the model asked for (native tool calling)."""

    id: str
    name: str
    arguments: str  # JSON text, as the model wrote it


@dataclass(frozen=True)
class Message:
    role: str  # "system" | "user" | "assistant" | "tool"
    content: str
    tool_calls: tuple[ToolCall, ...] = ()  # on an assistant turn that called tools
    tool_call_id: str | None = None  # on a "tool" message: the call it answers


@dataclass
class Completion:
    text: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str = "stop"  # "stop" | "length"
    # With GenerationOptions.logprobs > 0 and a backend that supports it: for
    # each generated token, its top alternatives as {token text: log probability}.
    top_logprobs: list[dict[str, float]] | None = None
    tool_calls: list[ToolCall] = field(default_factory=list)
    # Prompt tokens taken from the backend's KV cache rather than evaluated
    # (the embedded model reuses the longest prefix shared with its previous call).
    cached_tokens: int = 0


@dataclass
class GenerationOptions:
    max_tokens: int = 512
    temperature: float = 0.0
    stop: list[str] = field(default_factory=list)
    logprobs: int = 0  # how many top alternatives per token to return (0: none)
    # Above 1 discourages tokens already generated: stops small models looping in lists.
    repeat_penalty: float = 1.0
    # OpenAI-style function schemas ({"name", "description", "parameters"}); only
    # for backends whose `supports_tools` is true.
    tools: list[dict[str, Any]] = field(default_factory=list)


@runtime_checkable
class LLM(Protocol):
    name: str
    context_window: int
    supports_tools: bool  # native function calling (OpenAI-style `tools`)

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

    def load(self) -> None:
        """Get ready to answer now rather than at the first call (the embedded
        model reads its weights); a no-op for the others."""
        ...
