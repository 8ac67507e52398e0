"""What one file may cost to parse: time, text, and (for DOCX/PPTX) the bytes
its zip inflates to. A file over a limit gets a one-line error instead of
minutes of CPU or gigabytes of memory; the numbers are in the README.

The limits of the parse in progress live in a context variable that
`parse_bytes` sets: the checks happen deep inside the format parsers (every
block they add, every page), and threading a parameter through each parser
and the libraries' callbacks would change every parser's signature for a
concern none of them owns. A context variable is also per thread, so the
server's concurrent parses each keep their own deadline.
"""

from __future__ import annotations

import io
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

MiB = 1024 * 1024


@dataclass(frozen=True)
class ParseLimits:
    seconds: float = 120.0  # wall time for one file
    max_chars: int = 200_000_000  # text extracted (~50M tokens)
    max_inflated_bytes: int = 1024 * MiB  # what a DOCX/PPTX zip may declare it inflates to, all parts together


class OverLimit(Exception):
    """A file over one of the limits; the message is the one-line cause."""


@dataclass
class _Budget:
    limits: ParseLimits
    deadline: float
    chars: int = 0


_current: ContextVar[_Budget | None] = ContextVar("longdoc_parse_budget", default=None)


@contextmanager
def parsing_within(limits: ParseLimits) -> Iterator[None]:
    """Parse under `limits` (the default ones apply otherwise)."""
    token = _current.set(_Budget(limits, time.monotonic() + limits.seconds))
    try:
        yield
    finally:
        _current.reset(token)


@contextmanager
def budget_for_one_file() -> Iterator[None]:
    """A fresh budget for one file, under the limits in force (the defaults when none are)."""
    outer = _current.get()
    with parsing_within(outer.limits if outer else ParseLimits()):
        yield


def spend(chars: int = 0) -> None:
    """Count text added and check the clock; raises OverLimit past a limit."""
    budget = _current.get()
    if budget is None:
        return
    budget.chars += chars
    if budget.chars > budget.limits.max_chars:
        raise OverLimit(f"holds more than {budget.limits.max_chars:,} characters of text (the limit per file)")
    if time.monotonic() > budget.deadline:
        raise OverLimit(f"took longer than {budget.limits.seconds:.0f} s to read (the limit per file)")


def check_zip(data: bytes, kind: str) -> None:
    """Refuse a zip that declares it inflates to more than the limit, before any
    library unpacks it. The declared sizes are what counts: Python's zipfile
    never returns more than a member declares (and fails its CRC check if the
    data holds more), so a member that lies gets smaller, not larger."""
    budget = _current.get()
    limit = (budget.limits if budget else ParseLimits()).max_inflated_bytes
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            infos = z.infolist()
    except (zipfile.BadZipFile, ValueError, OSError):
        return  # not a zip at all: the format's parser says so in its own words
    total = sum(i.file_size for i in infos)
    if total > limit:
        raise OverLimit(
            f"this {kind} inflates to {total / MiB:,.0f} MiB, over the limit of {limit / MiB:,.0f} MiB (a zip bomb?)"
        )
