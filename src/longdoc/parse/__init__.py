"""Read a file into a Document: ordered blocks with page, heading path and text offsets.

To support a new file type, write a module here with `parse(data: bytes) -> Parsed`
(see common.py; raise `Unreadable("cause")` for bad input) and add its suffixes to PARSERS.
"""

from __future__ import annotations

import hashlib
import logging
import stat
from collections.abc import Callable
from pathlib import Path, PurePath

from longdoc.errors import ParseError
from longdoc.parse import docx, html, markdown, pdf, pptx, text
from longdoc.parse.common import Parsed, Unreadable, describe, printable_path, with_offsets
from longdoc.parse.limits import OverLimit, budget_for_one_file
from longdoc.records import Document

__all__ = ["PARSERS", "SUPPORTED_SUFFIXES", "parse_bytes", "parse_file", "printable_path"]

# Lower-case suffix -> (Document.format, parser).
PARSERS: dict[str, tuple[str, Callable[[bytes], Parsed]]] = {
    ".txt": ("txt", text.parse),
    ".md": ("md", markdown.parse),
    ".markdown": ("md", markdown.parse),
    ".html": ("html", html.parse),
    ".htm": ("html", html.parse),
    ".pdf": ("pdf", pdf.parse),
    ".docx": ("docx", docx.parse),
    ".pptx": ("pptx", pptx.parse),
}
SUPPORTED_SUFFIXES: frozenset[str] = frozenset(PARSERS)
logger = logging.getLogger(__name__)


def parse_file(path: str | Path) -> Document:
    """Parse the file at `path`; raises ParseError (one-line cause) when it cannot be used."""
    shown = printable_path(path)
    file = Path(path)
    try:
        mode = file.stat().st_mode
        if stat.S_ISDIR(mode):
            raise ParseError(shown, "is a directory")
        if not stat.S_ISREG(mode):  # reading a FIFO or a device could block forever
            raise ParseError(shown, "not a regular file")
        _parser_for(file.name, shown)  # before reading: an unsupported file may be huge
        data = file.read_bytes()
    except FileNotFoundError:
        raise ParseError(shown, "no such file") from None
    except PermissionError:
        raise ParseError(shown, "permission denied") from None
    except OSError as e:
        raise ParseError(shown, f"cannot read file: {e.strerror or describe(e)}") from None
    return parse_bytes(data, printable_path(file.name), shown)


def parse_bytes(data: bytes, name: str, path: str | None = None) -> Document:
    """Parse file contents; the format is chosen by the suffix of `name`.

    `path` (default: `name`) is what Document.path and error messages show.
    """
    shown = name if path is None else path
    fmt, parser = _parser_for(name, shown)
    if not data:
        raise ParseError(shown, "file is empty")
    try:
        with budget_for_one_file():
            parsed = parser(data)
    except (Unreadable, OverLimit) as e:
        raise ParseError(shown, str(e)) from e
    except RecursionError as e:  # a library recursing into pathological nesting
        raise ParseError(shown, f"nested too deeply to read as {fmt.upper()}") from e
    except MemoryError as e:
        raise ParseError(shown, f"needs more memory than this machine allows to read as {fmt.upper()}") from e
    except Exception as e:  # a library choked on a malformed file: report it in one line
        raise ParseError(shown, f"could not read this {fmt.upper()} file ({describe(e)})") from e
    if not parsed.blocks:
        raise ParseError(shown, "no text found")
    if parsed.warning:
        logger.warning("%s: %s", shown, parsed.warning)
    return Document(
        path=shown,
        name=PurePath(name).name,
        sha256=hashlib.sha256(data).hexdigest(),
        blocks=with_offsets(parsed.blocks),
        title=parsed.title,
        format=fmt,
    )


def _parser_for(name: str, shown: str) -> tuple[str, Callable[[bytes], Parsed]]:
    suffix = PurePath(name).suffix.lower()
    if suffix in PARSERS:
        return PARSERS[suffix]
    what = f"'{suffix}'" if suffix else "(no extension)"
    supported = ", ".join(sorted(SUPPORTED_SUFFIXES))
    raise ParseError(shown, f"unsupported file type {what} (supported: {supported})")
