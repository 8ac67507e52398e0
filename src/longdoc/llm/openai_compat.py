"""Any server speaking the OpenAI chat-completions API (vLLM, llama.cpp
server, Ollama, LM Studio, OpenAI itself), over plain httpx."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx

from longdoc.errors import ConfigError
from longdoc.llm.base import Completion, GenerationOptions, Message, OnToken, ToolCall
from longdoc.llm.estimate import estimate_prompt_tokens
from longdoc.llm.retry import (
    FatalFailure,
    RetryableFailure,
    RetryPolicy,
    check_response,
    one_line,
    with_retries,
)
from longdoc.tokens import EstimateCounter


@dataclass
class _Usage:
    prompt_tokens: int
    completion_tokens: int


def _usage(raw: Any) -> _Usage | None:
    if not isinstance(raw, dict):
        return None
    prompt, completion = raw.get("prompt_tokens"), raw.get("completion_tokens")
    if isinstance(prompt, int) and isinstance(completion, int):
        return _Usage(prompt, completion)
    return None


@dataclass
class _Chunk:
    text: str
    finish: str | None
    usage: _Usage | None
    top_logprobs: list[dict[str, float]]


# OpenAI's limit; compatible servers follow it.
_MAX_TOP_LOGPROBS = 20


def _top_logprobs(choice: dict[str, Any]) -> list[dict[str, float]]:
    """Per-token alternatives from a choice's `logprobs.content`, if present."""
    logprobs = choice.get("logprobs")
    content = logprobs.get("content") if isinstance(logprobs, dict) else None
    steps: list[dict[str, float]] = []
    for token in content if isinstance(content, list) else []:
        alternatives = token.get("top_logprobs") if isinstance(token, dict) else None
        step: dict[str, float] = {}
        for alt in alternatives if isinstance(alternatives, list) else []:
            if (
                isinstance(alt, dict)
                and isinstance(alt.get("token"), str)
                and isinstance(alt.get("logprob"), int | float)
            ):
                step.setdefault(alt["token"], float(alt["logprob"]))
        steps.append(step)
    return steps


def _parse_chunk(data: str) -> _Chunk:
    """One SSE `data:` payload; ValueError with a reason if it is unusable."""
    try:
        chunk = json.loads(data)
    except ValueError:
        raise ValueError("malformed JSON in stream") from None
    if not isinstance(chunk, dict):
        raise ValueError("malformed JSON in stream")
    if chunk.get("error"):
        raise ValueError(f"server error in stream: {one_line(str(chunk['error']))}")
    text: list[str] = []
    top: list[dict[str, float]] = []
    finish: str | None = None
    choices = chunk.get("choices") or []
    if not isinstance(choices, list):
        raise ValueError("malformed chunk in stream")
    for choice in choices:
        if not isinstance(choice, dict) or not isinstance(choice.get("delta") or {}, dict):
            raise ValueError("malformed chunk in stream")
        content = (choice.get("delta") or {}).get("content")
        if isinstance(content, str):
            text.append(content)
        top.extend(_top_logprobs(choice))
        if choice.get("finish_reason"):
            finish = _finish_reason(choice["finish_reason"])
    return _Chunk("".join(text), finish, _usage(chunk.get("usage")), top)


def _finish_reason(raw: Any) -> str:
    # Callers only distinguish "cut off by max_tokens" from everything else.
    return "length" if raw == "length" else "stop"


def _wire_message(m: Message) -> dict[str, Any]:
    out: dict[str, Any] = {"role": m.role, "content": m.content}
    if m.tool_calls:
        out["tool_calls"] = [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
            for c in m.tool_calls
        ]
    if m.tool_call_id is not None:
        out["tool_call_id"] = m.tool_call_id
    return out


def _tool_calls(message: dict[str, Any]) -> list[ToolCall]:
    calls = []
    for i, raw in enumerate(message.get("tool_calls") or []):
        fn = raw["function"]
        args = fn.get("arguments") or "{}"
        calls.append(
            ToolCall(
                str(raw.get("id") or f"call_{i}"), str(fn["name"]), args if isinstance(args, str) else json.dumps(args)
            )
        )
    return calls


class OpenAICompatLLM:
    supports_tools = True

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str | None = None,
        context_window: int = 8192,
        timeout: float = 120.0,
        max_attempts: int = 4,
        *,
        retry: RetryPolicy | None = None,
    ) -> None:
        """`timeout` bounds each network read, not the whole reply: a CPU-bound
        server may take minutes for a long answer but never goes that long
        without sending a streamed token. `retry` overrides `max_attempts`."""
        self.name = f"openai:{model}"
        self.model = model
        self.context_window = context_window
        self.base_url = base_url.rstrip("/")
        # Checked here, not left to the retry loop: retrying a malformed URL only wastes time.
        try:
            scheme = httpx.URL(self.base_url).scheme
        except httpx.InvalidURL:
            scheme = ""
        if scheme not in ("http", "https"):
            raise ConfigError(f"LLM base URL is not an http:// or https:// URL: {base_url!r}")
        self._url = f"{self.base_url}/chat/completions"
        self._target = f"LLM endpoint {self.base_url}"
        self._retry = retry or RetryPolicy(max_attempts=max_attempts)
        self._counter = EstimateCounter()
        headers: dict[str, str] = {}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        self._client = httpx.Client(headers=headers, timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)))

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> OpenAICompatLLM:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def token_counter(self) -> EstimateCounter:
        return self._counter

    def load(self) -> None:
        pass  # nothing to load

    def complete(
        self,
        messages: list[Message],
        options: GenerationOptions,
        on_token: OnToken | None = None,
    ) -> Completion:
        payload: dict[str, Any] = {
            "model": self.model,
            "messages": [_wire_message(m) for m in messages],
            "max_tokens": options.max_tokens,
            "temperature": options.temperature,
        }
        if options.stop:
            payload["stop"] = list(options.stop)
        if options.repeat_penalty > 1.0:
            # The OpenAI API has no multiplicative repeat penalty; its frequency
            # penalty (0..2, additive) is the nearest standard knob.
            payload["frequency_penalty"] = min(2.0, round(options.repeat_penalty - 1.0, 2))
        if options.logprobs > 0:
            payload["logprobs"] = True
            payload["top_logprobs"] = min(options.logprobs, _MAX_TOP_LOGPROBS)
        if options.tools:
            payload["tools"] = [{"type": "function", "function": t} for t in options.tools]
        if on_token is None or options.tools:
            return with_retries(lambda: self._post(messages, payload), target=self._target, policy=self._retry)
        payload["stream"] = True
        payload["stream_options"] = {"include_usage": True}
        return with_retries(
            lambda: self._stream(messages, payload, on_token),
            target=self._target,
            policy=self._retry,
        )

    def _completion(
        self,
        messages: list[Message],
        text: str,
        usage: _Usage | None,
        finish: str,
        top_logprobs: list[dict[str, float]],
    ) -> Completion:
        if usage is None:
            usage = _Usage(estimate_prompt_tokens(messages, self._counter), self._counter.count(text))
        # Empty means not asked for, or a server that ignores the request.
        return Completion(text, usage.prompt_tokens, usage.completion_tokens, finish, top_logprobs or None)

    def _post(self, messages: list[Message], payload: dict[str, Any]) -> Completion:
        response = self._client.post(self._url, json=payload)
        check_response(response)
        try:
            body = response.json()
            choice = body["choices"][0]
            text = choice["message"].get("content") or ""
            calls = _tool_calls(choice["message"])
        except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
            raise RetryableFailure(f"malformed reply ({type(exc).__name__})") from exc
        if not isinstance(text, str):
            raise RetryableFailure("malformed reply (content is not text)")
        completion = self._completion(
            messages,
            text,
            _usage(body.get("usage")),
            _finish_reason(choice.get("finish_reason")),
            _top_logprobs(choice),
        )
        completion.tool_calls = calls
        return completion

    def _stream(self, messages: list[Message], payload: dict[str, Any], on_token: OnToken) -> Completion:
        pieces: list[str] = []
        top_logprobs: list[dict[str, float]] = []
        usage: _Usage | None = None
        finish: str | None = None
        done = False

        def broken(reason: str) -> Exception:
            # Text already shown to the user cannot be taken back, so a retry
            # would print the start of the answer twice.
            if pieces:
                return FatalFailure(f"stream broke after output began: {reason}")
            return RetryableFailure(reason)

        with self._client.stream("POST", self._url, json=payload) as response:
            if response.status_code >= 400:
                response.read()
                check_response(response)
            try:
                for line in response.iter_lines():
                    if not line.startswith("data:"):
                        continue  # SSE comments, event names, keep-alives
                    data = line[5:].strip()
                    if data == "[DONE]":
                        done = True
                        break
                    try:
                        chunk = _parse_chunk(data)
                    except ValueError as exc:
                        raise broken(str(exc)) from None
                    usage = chunk.usage or usage
                    top_logprobs.extend(chunk.top_logprobs)
                    if chunk.text:
                        pieces.append(chunk.text)
                        on_token(chunk.text)
                    finish = chunk.finish or finish
            except httpx.TimeoutException as exc:
                # Once the server has said the reply is finished, only the
                # trailing usage chunk can be missing: keep the answer.
                if finish is None:
                    raise broken(f"timed out ({type(exc).__name__})") from exc
            except httpx.TransportError as exc:
                if finish is None:
                    reason = one_line(str(exc)) or type(exc).__name__
                    raise broken(f"connection failed: {reason}") from exc
        if not done and finish is None:
            raise broken("stream ended before the reply was complete")
        return self._completion(messages, "".join(pieces), usage, finish or "stop", top_logprobs)
