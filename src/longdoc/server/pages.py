"""PDF pages for the citation viewer: a page as a PNG, and where a quoted
sentence sits on it, from PDFium's character boxes (pypdfium2).

The quote comes from pypdf's text, whose spacing and line breaks differ from
PDFium's, so both are compared with whitespace folded; a quote that still does
not match is looked for by its first words. PDFium is not thread-safe: every
call holds one lock.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

import pypdfium2 as pdfium

from .errors import ApiError

_LOCK = threading.Lock()
SCALE = 1.5  # 108 dpi: sharp enough to read, a few hundred KB a page
_MIN_WORDS = 4  # the shortest prefix of a quote worth looking for


@dataclass(frozen=True)
class Box:
    """A highlighted area, in fractions of the page's width and height from its top left."""

    x: float
    y: float
    w: float
    h: float


def page_png(pdf: Path, page: int, cache: Path, shown: str) -> bytes:
    """The page (1-based) as a PNG, rendered once and kept under `cache`."""
    target = cache / f"{page}.png"
    if target.is_file():
        return target.read_bytes()
    with _LOCK, _opened(pdf, page, shown) as doc:
        image = doc[page - 1].render(scale=SCALE).to_pil()
    out = BytesIO()
    image.save(out, format="PNG", optimize=True)
    data = out.getvalue()
    cache.mkdir(parents=True, exist_ok=True)
    tmp = cache / f".tmp-{page}.png"
    tmp.write_bytes(data)
    tmp.replace(target)
    return data


def find_quote(pdf: Path, page: int, quote: str, shown: str) -> list[Box]:
    """The boxes around `quote` on the page (1-based); none when it is not found there."""
    with _LOCK, _opened(pdf, page, shown) as doc:
        p = doc[page - 1]
        width, height = p.get_size()
        text_page = p.get_textpage()
        text = text_page.get_text_range()
        span = _locate(text, quote)
        if span is None:
            return []
        start, end = span
        boxes = []
        for i in range(text_page.count_rects(start, end - start)):
            left, bottom, right, top = text_page.get_rect(i)
            boxes.append(Box(left / width, (height - top) / height, (right - left) / width, (top - bottom) / height))
        return boxes


def _locate(text: str, quote: str) -> tuple[int, int] | None:
    """Where `quote` is in `text` (start, end), comparing with whitespace folded and
    case ignored; failing that, where its first words are."""
    folded, index = _fold(text)
    words = quote.removesuffix("…").split()
    for n in dict.fromkeys([len(words), 12, 8, _MIN_WORDS]):
        if not 0 < n <= len(words):
            continue
        needle = " ".join(words[:n]).lower()
        at = folded.find(needle)
        if at >= 0:
            return index[at], index[at + len(needle) - 1] + 1
    return None


def _fold(text: str) -> tuple[str, list[int]]:
    """`text` lower-cased with each run of whitespace made one space, and for each of
    its characters the index of the character it came from."""
    out: list[str] = []
    index: list[int] = []
    for m in re.finditer(r"\s+|\S+", text):
        if m.group().isspace():
            if out and out[-1] != " ":
                out.append(" ")
                index.append(m.start())
        else:
            out.extend(m.group().lower())
            index.extend(range(m.start(), m.end()))
    return "".join(out), index


class _opened:
    """The PDF, open for one call, with its failures as API errors."""

    def __init__(self, pdf: Path, page: int, shown: str) -> None:
        self.pdf, self.page, self.shown = pdf, page, shown
        self.doc: pdfium.PdfDocument | None = None

    def __enter__(self) -> pdfium.PdfDocument:
        try:
            self.doc = pdfium.PdfDocument(self.pdf)
        except pdfium.PdfiumError:
            raise ApiError(409, f"could not render page {self.page} of {self.shown}", code="page_unreadable") from None
        if not 1 <= self.page <= len(self.doc):
            self.doc.close()
            raise ApiError(404, f"{self.shown} has no page {self.page}", code="page_not_found", param="page")
        return self.doc

    def __exit__(self, *exc: object) -> None:
        if self.doc is not None:
            self.doc.close()
