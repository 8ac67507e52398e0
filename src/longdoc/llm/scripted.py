"""A deterministic stand-in LLM for tests and dry runs."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from longdoc.errors import BackendError
from longdoc.llm.base import Completion, GenerationOptions, Message, OnToken
from longdoc.llm.estimate import estimate_prompt_tokens
from longdoc.tokens import EstimateCounter

Responder = Callable[[list[Message]], str]

# Split after whitespace that precedes a word: pieces keep their trailing
# spaces, so the streamed pieces join back to the exact reply.
_WORD_BOUNDARY = re.compile(r"(?<=\s)(?=\S)")


@dataclass(frozen=True)
class ScriptedCall:
    messages: list[Message]
    options: GenerationOptions


def echo_last_user(messages: list[Message]) -> str:
    """The default script: repeat the last user message."""
    for m in reversed(messages):
        if m.role == "user":
            return m.content
    return ""


class ScriptedLLM:
    """Replies from a list (in order) or a function of the messages.

    Behaves like a real backend where tests can observe it: replies stream
    word by word, are cut at `options.stop` and at `options.max_tokens`
    (finish_reason "length"), and a prompt that does not fit the context
    window next to max_tokens raises BackendError, as the embedded model does.
    With `options.logprobs` each streamed word comes back as certain: {word: 0.0}.
    `fail_on` holds 1-based call numbers that raise BackendError instead;
    such calls are recorded but do not use up a scripted reply.
    """

    supports_tools = False  # the ReAct text protocol stands in

    def __init__(
        self,
        script: list[str] | Responder | None = None,
        *,
        context_window: int = 8192,
        fail_on: Iterable[int] = (),
        name: str = "scripted",
    ) -> None:
        self.name = name
        self.context_window = context_window
        self.calls: list[ScriptedCall] = []
        self._fail_on = frozenset(fail_on)
        self._counter = EstimateCounter()
        self._replies: list[str] | None = None
        self._respond: Responder = echo_last_user
        if callable(script):
            self._respond = script
        elif script is not None:
            self._replies = list(script)
        self._next_reply = 0
        # Agents may fan calls out over threads; call numbers must stay exact.
        self._lock = threading.Lock()

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
        with self._lock:
            self.calls.append(ScriptedCall(list(messages), options))
            number = len(self.calls)
            if number in self._fail_on:
                raise BackendError(f"{self.name}: scripted failure on call {number}")
            prompt_tokens = estimate_prompt_tokens(messages, self._counter)
            if prompt_tokens + options.max_tokens > self.context_window:
                raise BackendError(
                    f"{self.name}: prompt is {prompt_tokens} tokens and max_tokens is "
                    f"{options.max_tokens}; together they exceed the context window of "
                    f"{self.context_window}"
                )
            reply = self._reply(messages, number)
        text, finish = self._shape(reply, options)
        pieces = [p for p in _WORD_BOUNDARY.split(text) if p]
        if on_token is not None:
            for piece in pieces:
                on_token(piece)
        # Asked for logprobs, every word is a certain "token" with no rivals.
        top_logprobs = [{p: 0.0} for p in pieces] if options.logprobs > 0 else None
        return Completion(text, prompt_tokens, self._counter.count(text), finish, top_logprobs)

    def _reply(self, messages: list[Message], number: int) -> str:
        if self._replies is None:
            return self._respond(messages)
        if self._next_reply >= len(self._replies):
            raise AssertionError(f"{self.name}: call {number} but the script has only {len(self._replies)} replies")
        reply = self._replies[self._next_reply]
        self._next_reply += 1
        return reply

    def _shape(self, reply: str, options: GenerationOptions) -> tuple[str, str]:
        """Apply stop strings and the max_tokens cap like a real backend."""
        cut = min((i for s in options.stop if s and (i := reply.find(s)) >= 0), default=-1)
        if cut >= 0:
            reply = reply[:cut]
        if self._counter.count(reply) <= options.max_tokens:
            return reply, "stop"
        kept: list[str] = []
        room = options.max_tokens
        for piece in _WORD_BOUNDARY.split(reply):
            cost = self._counter.count(piece)
            if cost > room:
                # Unspaced text (Chinese) arrives as one long piece: keep the
                # longest prefix that fits. Prefix counts only grow, so bisect.
                lo, hi = 0, len(piece)
                while lo < hi:
                    mid = (lo + hi + 1) // 2
                    if self._counter.count(piece[:mid]) <= room:
                        lo = mid
                    else:
                        hi = mid - 1
                kept.append(piece[:lo])
                break
            kept.append(piece)
            room -= cost
        return "".join(kept), "length"
