"""Retrying calls to a network LLM endpoint.

The request function signals what went wrong by raising `RetryableFailure`
(worth another attempt: a timeout, a dropped connection, 429, 5xx, a garbled
reply) or `FatalFailure` (another attempt would only repeat it). Everything
else propagates untouched, so a bug or an exception from a caller's callback
is never hidden behind a retry.
"""

from __future__ import annotations

import email.utils
import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import TypeVar

from longdoc.errors import BackendError

T = TypeVar("T")

# Server messages go into a one-line error; a full HTML error page would not.
_MAX_REASON_CHARS = 300


class RetryableFailure(Exception):
    """A failure another attempt may cure (overload, a broken or garbled reply)."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


class FatalFailure(Exception):
    """A failure another attempt would only repeat (bad request, auth, unknown model)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 4
    base_delay: float = 0.5  # seconds before the 2nd attempt; doubles after that
    max_delay: float = 8.0
    # A server asking for a long pause is obeyed only up to this, so a
    # misconfigured proxy cannot park the CLI for an hour.
    retry_after_cap: float = 30.0
    sleep: Callable[[float], None] = time.sleep
    rand: Callable[[], float] = random.random  # uniform in [0, 1)

    def backoff(self, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based)."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.retry_after_cap)
        delay = min(self.max_delay, self.base_delay * 2.0 ** (attempt - 1))
        # Half fixed, half random: clients that failed together spread out
        # without any of them retrying immediately.
        return delay * (0.5 + 0.5 * self.rand())


def one_line(text: str) -> str:
    """Collapse whitespace and truncate, for use inside a one-line error."""
    flat = " ".join(text.split())
    if len(flat) > _MAX_REASON_CHARS:
        flat = flat[: _MAX_REASON_CHARS - 3] + "..."
    return flat


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or HTTP-date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    current = time.time() if now is None else now
    return max(when.timestamp() - current, 0.0)


def server_message(body: str) -> str:
    """The error text a server put in its body, OpenAI-style JSON or plain."""
    try:
        data = json.loads(body)
    except ValueError:
        return one_line(body)
    if isinstance(data, dict):
        err = data.get("error")
        if isinstance(err, dict) and isinstance(err.get("message"), str):
            return one_line(err["message"])
        if isinstance(err, str):
            return one_line(err)
        if isinstance(data.get("message"), str):
            return one_line(data["message"])
    return one_line(body)


def status_failure(status: int, reason_phrase: str, retry_after: str | None, body: str) -> Exception:
    """The failure for an HTTP error status: 429 and 5xx may pass, the rest would repeat."""
    phrase = reason_phrase or _standard_phrase(status)
    line = f"{status} {phrase}".strip()
    if status == 429 or status >= 500:
        return RetryableFailure(line, parse_retry_after(retry_after))
    message = server_message(body)
    return FatalFailure(line + (f": {message}" if message else ""))


def _standard_phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def with_retries(fn: Callable[[], T], *, target: str, policy: RetryPolicy) -> T:
    """Call `fn` until it succeeds or the policy's attempts are used up.

    `target` names what is being called (e.g. "LLM endpoint http://host/v1")
    and starts every error message."""
    if policy.max_attempts < 1:
        raise ValueError("max_attempts must be at least 1")
    reason = ""
    for attempt in range(1, policy.max_attempts + 1):
        retry_after: float | None = None
        try:
            return fn()
        except FatalFailure as exc:
            raise BackendError(f"{target}: {exc.reason}") from exc
        except RetryableFailure as exc:
            reason, retry_after = exc.reason, exc.retry_after
        if attempt < policy.max_attempts:
            policy.sleep(policy.backoff(attempt, retry_after))
    noun = "attempt" if policy.max_attempts == 1 else "attempts"
    raise BackendError(f"{target}: {reason} after {policy.max_attempts} {noun}")
