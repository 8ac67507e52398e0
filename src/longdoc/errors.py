"""Errors users see, each with a one-line message and an exit code.

Exit codes (documented in the README):
  0  success
  1  unexpected internal error (a bug; rerun with --debug for the traceback)
  2  usage error (bad flag or setting)
  3  no usable input: every file given failed to parse
  4  LLM backend failure after retries (unreachable, timeouts, 429/5xx)
  5  model not installed or failed its checksum
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_USAGE = 2
EXIT_NO_INPUT = 3
EXIT_BACKEND = 4
EXIT_MODEL = 5


class LongdocError(Exception):
    """Base for errors that are shown to the user as one line."""

    exit_code = EXIT_INTERNAL


class ConfigError(LongdocError):
    exit_code = EXIT_USAGE


class ParseError(LongdocError):
    """A file could not be read; names the file and the cause."""

    exit_code = EXIT_NO_INPUT

    def __init__(self, path: str, cause: str) -> None:
        super().__init__(f"{path}: {cause}")
        self.path = path
        self.cause = cause

    def __reduce__(self) -> tuple[type[ParseError], tuple[str, str]]:
        # Pickled as its two parts: the server's parsing child process sends it back.
        return type(self), (self.path, self.cause)


class NoInputError(LongdocError):
    exit_code = EXIT_NO_INPUT


class BackendError(LongdocError):
    """The LLM backend failed after retries."""

    exit_code = EXIT_BACKEND


class ModelError(LongdocError):
    """The embedded model is missing or damaged."""

    exit_code = EXIT_MODEL


class StoreError(LongdocError):
    """The search store (a Milvus server or file) failed: a service, like the backend."""

    exit_code = EXIT_BACKEND
