"""Parse uploads in a child process, so one hostile or pathological file cannot
stall or sink the server.

The parse budget (parse/limits.py) stops most slow files from inside, but a
library can spend minutes in C code that never returns to check it (lexbor on
deep nesting, a PDF filter), or grow until the machine runs out of memory. In
a child process with an address-space limit the first is killed at the
server's timeout and the second fails alone; either way the file gets a
one-line reason and the queue moves on to the next upload. The child is kept
between files (starting one costs about a second of imports) and replaced
after it is killed or dies.
"""

from __future__ import annotations

import logging
import multiprocessing
import resource
import threading
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool

from ..errors import ParseError
from ..parse import parse_bytes
from ..parse.limits import ParseLimits, parsing_within
from ..records import Document

log = logging.getLogger("longdoc.server")

# Beyond the parse budget, for the child to notice it and say so itself.
_GRACE_SECONDS = 5.0


def _limit_memory(megabytes: int) -> None:
    cap = megabytes * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))


def _parse(data: bytes, name: str, shown: str, limits: ParseLimits) -> Document:
    with parsing_within(limits):
        return parse_bytes(data, name, shown)


class ParserProcess:
    """`parse(data, name, shown)` like `parse_bytes`, run in a child process."""

    def __init__(self, seconds: float, memory_mb: int) -> None:
        self._limits = ParseLimits(seconds=seconds)
        self._memory_mb = memory_mb
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()  # one parse at a time: the indexer has one thread

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                1,
                mp_context=multiprocessing.get_context("spawn"),  # the server has threads: never fork it
                initializer=_limit_memory,
                initargs=(self._memory_mb,),
            )
        return self._pool

    def parse(self, data: bytes, name: str, shown: str) -> Document:
        with self._lock:
            future: Future[Document] = self._executor().submit(_parse, data, name, shown, self._limits)
            try:
                return future.result(timeout=self._limits.seconds + _GRACE_SECONDS)
            except FutureTimeout:
                self._discard(kill=True)
                raise ParseError(
                    shown, f"took longer than {self._limits.seconds:.0f} s to read (the server's limit per file)"
                ) from None
            except BrokenProcessPool:
                self._discard(kill=False)
                raise ParseError(
                    shown, f"the parser ran out of memory or crashed reading it (limit {self._memory_mb:,} MB)"
                ) from None

    def _discard(self, kill: bool) -> None:
        pool, self._pool = self._pool, None
        if pool is None:
            return
        if kill:
            # ProcessPoolExecutor cannot cancel a running call; its worker is ended by its pid.
            for process in list(getattr(pool, "_processes", {}).values()):
                process.kill()
        pool.shutdown(wait=True, cancel_futures=True)  # reaps the child and frees its semaphores

    def close(self) -> None:
        with self._lock:
            self._discard(kill=True)
