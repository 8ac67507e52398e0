"""Any server speaking the OpenAI chat-completions API (vLLM, llama.cpp
server, Ollama, LM Studio, OpenAI itself), through the official `openai` client.

The client sends the request, decodes the reply or the event stream into typed
objects and names what failed with typed errors. Which failures are retried,
and how long to wait, stays with `retry.py` (the client is built with
`max_retries=0`): the client's own retries give up at once on a Retry-After
above two minutes where longdoc waits at most 30 s and tries again, do not
retry a malformed reply, and cannot retry a stream that broke before its first
token, since the stream is read after the request has returned.
"""

from __future__ import annotations

import json
from typing import Any, cast
from urllib.parse import urlsplit

import openai
from openai.types.chat import ChatCompletion, ChatCompletionChunk

from longdoc.errors import ConfigError
from longdoc.llm.base import Completion, GenerationOptions, Message, OnToken, ToolCall
from longdoc.llm.estimate import estimate_prompt_tokens
from longdoc.llm.retry import FatalFailure, RetryableFailure, RetryPolicy, one_line, status_failure, with_retries
from longdoc.tokens import EstimateCounter

# OpenAI's limit; compatible servers follow it.
_MAX_TOP_LOGPROBS = 20
# What a reply or a stream chunk raises when a field is missing or of the wrong
# kind: the client builds its objects without validating them.
_MALFORMED = (AttributeError, IndexError, KeyError, TypeError, ValueError)


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
            parts = urlsplit(self.base_url)
        except ValueError:
            parts = None
        if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
            raise ConfigError(f"LLM base URL is not an http:// or https:// URL: {base_url!r}")
        self._target = f"LLM endpoint {self.base_url}"
        self._retry = retry or RetryPolicy(max_attempts=max_attempts)
        self._counter = EstimateCounter()
        # The client would otherwise send the OPENAI_ORG_ID and OPENAI_PROJECT_ID of
        # this environment, and a bearer token without a key, to whatever server this is.
        self._headers: dict[str, str | openai.Omit] = {
            "OpenAI-Organization": openai.Omit(),
            "OpenAI-Project": openai.Omit(),
        }
        if not api_key:
            self._headers["Authorization"] = openai.Omit()
        self._client = openai.OpenAI(
            base_url=self.base_url,
            api_key=api_key or "unused",  # the client insists on one; without a key it is never sent
            max_retries=0,
            timeout=openai.Timeout(timeout, connect=min(timeout, 10.0)),
        )

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
        if on_token is None or options.tools:
            return with_retries(lambda: self._post(messages, options), target=self._target, policy=self._retry)
        return with_retries(lambda: self._stream(messages, options, on_token), target=self._target, policy=self._retry)

    def _request(self, messages: list[Message], options: GenerationOptions) -> dict[str, Any]:
        """The request's fields; a field longdoc does not set is left out, so the server's default holds."""
        request: dict[str, Any] = {
            "model": self.model,
            "messages": [_wire_message(m) for m in messages],
            "max_tokens": options.max_tokens,
            "temperature": options.temperature,
        }
        if options.stop:
            request["stop"] = list(options.stop)
        if options.repeat_penalty > 1.0:
            # The OpenAI API has no multiplicative repeat penalty; its frequency
            # penalty (0..2, additive) is the nearest standard knob.
            request["frequency_penalty"] = min(2.0, round(options.repeat_penalty - 1.0, 2))
        if options.logprobs > 0:
            request["logprobs"] = True
            request["top_logprobs"] = min(options.logprobs, _MAX_TOP_LOGPROBS)
        if options.tools:
            request["tools"] = [{"type": "function", "function": t} for t in options.tools]
        return request

    def _completion(
        self, messages: list[Message], text: str, usage: object, finish: str, top_logprobs: list[dict[str, float]]
    ) -> Completion:
        prompt, completion = getattr(usage, "prompt_tokens", None), getattr(usage, "completion_tokens", None)
        if not (isinstance(prompt, int) and isinstance(completion, int)):
            prompt, completion = estimate_prompt_tokens(messages, self._counter), self._counter.count(text)
        # Empty means not asked for, or a server that ignores the request.
        return Completion(text, prompt, completion, finish, top_logprobs or None)

    def _post(self, messages: list[Message], options: GenerationOptions) -> Completion:
        try:
            reply: object = self._client.chat.completions.create(
                **self._request(messages, options), extra_headers=self._headers
            )
        except openai.APIError as exc:
            raise _failure(exc) from exc
        except ValueError as exc:  # a body labelled JSON that is not: the client's json.loads raised
            raise RetryableFailure("malformed reply (not JSON)") from exc
        if not isinstance(reply, ChatCompletion):
            raise RetryableFailure("malformed reply (not JSON)")  # the client hands back the text
        try:
            choice = reply.choices[0]
            text = choice.message.content or ""
            calls = _tool_calls(choice.message.tool_calls)
            top = _top_logprobs(choice.logprobs)
        except _MALFORMED as exc:
            raise RetryableFailure(f"malformed reply ({type(exc).__name__})") from exc
        if not isinstance(text, str):
            raise RetryableFailure("malformed reply (content is not text)")
        completion = self._completion(messages, text, reply.usage, _finish_reason(choice.finish_reason), top)
        completion.tool_calls = calls
        return completion

    def _stream(self, messages: list[Message], options: GenerationOptions, on_token: OnToken) -> Completion:
        pieces: list[str] = []
        top_logprobs: list[dict[str, float]] = []
        usage: object = None
        finish: str | None = None

        def broken(reason: str) -> Exception:
            # Text already shown to the user cannot be taken back, so a retry
            # would print the start of the answer twice.
            if pieces:
                return FatalFailure(f"stream broke after output began: {reason}")
            return RetryableFailure(reason)

        request = {**self._request(messages, options), "stream_options": {"include_usage": True}}
        try:
            stream = self._client.chat.completions.create(**request, stream=True, extra_headers=self._headers)
        except openai.APIError as exc:
            raise _failure(exc) from exc
        with stream:
            events = iter(stream)
            while True:
                try:
                    chunk = next(events)
                except StopIteration:
                    break
                except (openai.APITimeoutError, openai.APIConnectionError) as exc:
                    # Once the server has said the reply is finished, only the
                    # trailing usage chunk can be missing: keep the answer.
                    if finish is not None:
                        break
                    raise broken(_transport_reason(exc)) from exc
                except openai.APIError as exc:  # an error event in the stream
                    raise broken(f"server error in stream: {one_line(exc.message)}") from exc
                except ValueError:
                    raise broken("malformed JSON in stream") from None
                try:
                    text, chunk_finish, chunk_top = _chunk_parts(chunk)
                except _MALFORMED:
                    raise broken("malformed chunk in stream") from None
                usage = chunk.usage or usage
                top_logprobs.extend(chunk_top)
                if text:
                    pieces.append(text)
                    on_token(text)  # outside the handlers above: a caller's exception surfaces as itself
                finish = chunk_finish or finish
        if finish is None:
            raise broken("stream ended before the reply was complete")
        return self._completion(messages, "".join(pieces), usage, finish, top_logprobs)


def _failure(exc: openai.APIError) -> Exception:
    """What a failed request means for another attempt."""
    if isinstance(exc, openai.APIStatusError):
        r = exc.response
        return status_failure(r.status_code, r.reason_phrase, r.headers.get("retry-after"), r.text)
    if isinstance(exc, openai.APIConnectionError):  # timeouts included
        return RetryableFailure(_transport_reason(exc))
    return RetryableFailure(f"malformed reply ({type(exc).__name__})")


def _transport_reason(exc: openai.APIConnectionError) -> str:
    cause = exc.__cause__
    if isinstance(exc, openai.APITimeoutError):
        return f"timed out ({type(cause or exc).__name__})"
    return f"connection failed: {one_line(str(cause or '')) or type(cause or exc).__name__}"


def _chunk_parts(chunk: ChatCompletionChunk) -> tuple[str, str | None, list[dict[str, float]]]:
    """One stream chunk's text, finish reason (None until the last) and log-probabilities."""
    text: list[str] = []
    top: list[dict[str, float]] = []
    finish: str | None = None
    for choice in chunk.choices or []:
        content = choice.delta.content if choice.delta is not None else None
        if isinstance(content, str):
            text.append(content)
        top.extend(_top_logprobs(choice.logprobs))
        if choice.finish_reason:
            finish = _finish_reason(choice.finish_reason)
    return "".join(text), finish, top


def _finish_reason(raw: object) -> str:
    # Callers only distinguish "cut off by max_tokens" from everything else.
    return "length" if raw == "length" else "stop"


def _top_logprobs(logprobs: object) -> list[dict[str, float]]:
    """Per-token alternatives from a choice's `logprobs.content`, if present."""
    steps: list[dict[str, float]] = []
    for token in getattr(logprobs, "content", None) or []:
        step: dict[str, float] = {}
        for alt in getattr(token, "top_logprobs", None) or []:
            if isinstance(alt.token, str) and isinstance(alt.logprob, int | float):
                step.setdefault(alt.token, float(alt.logprob))
        steps.append(step)
    return steps


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


def _tool_calls(raw: object) -> list[ToolCall]:
    calls = []
    for i, call in enumerate(cast(list[Any], raw or [])):
        fn = call.function
        args = fn.arguments or "{}"
        name = str(fn.name)
        calls.append(ToolCall(str(call.id or f"call_{i}"), name, args if isinstance(args, str) else json.dumps(args)))
    return calls
