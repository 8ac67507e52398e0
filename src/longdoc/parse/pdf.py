"""PDF: text per page in pypdf's layout order; tables come out as whatever text pypdf finds."""

from __future__ import annotations

import logging
import re
from io import BytesIO
from typing import TYPE_CHECKING

from longdoc.parse.common import PARAGRAPH_BREAK, BlockCollector, Parsed, Unreadable
from longdoc.parse.limits import spend

if TYPE_CHECKING:
    from pypdf import PdfReader


# pypdf logs a warning for every oddity it recovers from ("EOF marker not found", ...). Users
# should see our one-line cause instead, so its logger is kept quiet.
logging.getLogger("pypdf").setLevel(logging.CRITICAL + 1)

# Control characters some PDFs map glyphs to; they are not text.
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
NO_TEXT_CAUSE = "no extractable text (scanned PDF? OCR is not supported)"


def parse(data: bytes) -> Parsed:
    """Parse a PDF into blocks carrying their 1-based page numbers."""
    reader = _open(data)
    blocks = BlockCollector()
    failed = 0
    seen: set[int] = set()
    for number, page in enumerate(reader.pages, start=1):
        spend()
        # A page tree may list one page object many times (20,000 references
        # to one page made a 120 KB file take 15 s); its text is read once.
        ref = page.indirect_reference
        if ref is not None:
            if ref.idnum in seen:
                continue
            seen.add(ref.idnum)
        try:
            text = page.extract_text()
        except Exception:  # one damaged page should not cost the rest of the document
            failed += 1
            continue
        text = _CONTROLS.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
        for paragraph in PARAGRAPH_BREAK.split(text):
            blocks.add(paragraph, page=number)
    if not blocks.blocks:
        if failed:
            raise Unreadable("could not extract text from any page (corrupt PDF?)")
        raise Unreadable(NO_TEXT_CAUSE)
    warning = f"skipped {failed} of {number} PDF pages: text extraction failed" if failed else None
    return Parsed(blocks.blocks, _title(reader), warning)


def _open(data: bytes) -> PdfReader:
    from pypdf import PdfReader  # imported lazily to keep CLI start-up fast
    from pypdf.errors import DependencyError, PdfReadError

    if b"%PDF-" not in data[:1024]:
        raise Unreadable("not a PDF file (no %PDF header)")
    try:
        reader = PdfReader(BytesIO(data))
        # Many PDFs are encrypted only to restrict printing or copying: they open with "".
        if reader.is_encrypted and not reader.decrypt(""):
            raise Unreadable("PDF is encrypted (password required)")
        if len(reader.pages) == 0:
            raise Unreadable("PDF has no pages")
    except DependencyError as e:
        raise Unreadable("PDF uses AES encryption, which needs the 'cryptography' package") from e
    except PdfReadError as e:
        raise Unreadable("not a valid PDF (truncated or corrupt)") from e
    return reader


def _title(reader: PdfReader) -> str | None:
    try:
        title = reader.metadata.title if reader.metadata else None
    except Exception:  # broken metadata is common and the title is optional
        return None
    if not title:
        return None
    return " ".join(str(title).split()) or None
