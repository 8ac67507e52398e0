"""DOCX: body paragraphs and tables in document order; "Title"/"Heading N" styles build headings."""

from __future__ import annotations

import re
from collections.abc import Iterator
from io import BytesIO
from typing import TYPE_CHECKING, Any

from longdoc.parse.common import BlockCollector, Parsed, opening_ooxml

if TYPE_CHECKING:
    from docx.document import Document as DocxDocument
    from docx.table import Table

# python-docx reports built-in style names in English whatever the Word UI language was.
_HEADING_STYLE = re.compile(r"heading\s*([1-9])$", re.IGNORECASE)


def parse(data: bytes) -> Parsed:
    """Parse a Word document; headers, footers and comments are left out."""
    import docx  # imported lazily to keep CLI start-up fast
    from docx.oxml.ns import qn
    from docx.table import Table

    with opening_ooxml(data, "DOCX"):
        document = docx.Document(BytesIO(data))
    levels = _heading_levels(document)
    blocks = BlockCollector()
    title = None
    table_tag = qn("w:tbl")
    for element in _body_elements(document.element.body):
        if element.tag == table_tag:
            blocks.add(_table_text(Table(element, document)), kind="table")
            continue
        # Reading the style id off the XML: `Paragraph.style` costs ~1 ms per paragraph.
        level = levels.get(element.style)
        text = _paragraph_text(element)
        if level is None:
            blocks.add(text)
            continue
        blocks.heading(level, text)
        if level == 0 and title is None:
            title = " ".join(text.split()) or None
    return Parsed(blocks.blocks, title or document.core_properties.title or None)


def _paragraph_text(p: Any) -> str:
    """What `CT_P.text` returns, without the XPath query it compiles per paragraph
    (two thirds of the time of a DOCX with a million short paragraphs)."""
    from docx.oxml.ns import qn

    out: list[str] = []
    for child in p.iterchildren(qn("w:r"), qn("w:hyperlink")):
        runs = [child] if child.tag == qn("w:r") else child.iterchildren(qn("w:r"))
        for run in runs:
            out.extend(str(e) for e in run.iterchildren(*_RUN_CONTENT))
    return "".join(out)


# The run children CT_R.text reads, in its order of precedence (document order).
_RUN_CONTENT = tuple(
    f"{{http://schemas.openxmlformats.org/wordprocessingml/2006/main}}{t}"
    for t in ("br", "cr", "noBreakHyphen", "ptab", "t", "tab")
)


def _body_elements(body: Any) -> Iterator[Any]:
    """The body's <w:p> and <w:tbl> elements in order, including those in content controls."""
    from docx.oxml.ns import qn

    wanted = (qn("w:p"), qn("w:tbl"))
    sdt, sdt_content = qn("w:sdt"), qn("w:sdtContent")
    for child in body.iterchildren():
        if child.tag in wanted:
            yield child
        elif child.tag == sdt:
            for content in child.iterchildren(sdt_content):
                yield from _body_elements(content)


def _heading_levels(document: DocxDocument) -> dict[str | None, int]:
    """Paragraph style id -> heading level: 0 for Title, N for Heading N.

    A custom style based on a heading style counts as that heading.
    """
    from docx.enum.style import WD_STYLE_TYPE

    levels: dict[str | None, int] = {}
    for style in document.styles:
        if style.type != WD_STYLE_TYPE.PARAGRAPH:
            continue
        base, hops = style, 0
        while base is not None and hops < 10:  # a cycle of based-on styles must not hang us
            name = (base.name or "").strip()
            m = _HEADING_STYLE.match(name)
            if name.lower() == "title" or m:
                levels[style.style_id] = int(m.group(1)) if m else 0
                break
            base, hops = base.base_style, hops + 1
    return levels


def _table_text(table: Table) -> str:
    """Rows as lines, cells joined with " | "; a merged cell is written once per row."""
    lines = []
    for row in table.rows:
        cells: list[object] = []
        texts: list[str] = []
        for cell in row.cells:
            # A horizontally merged cell comes back once per grid column it spans.
            if cells and cell is cells[-1]:
                continue
            cells.append(cell)
            texts.append(" ".join(cell.text.split()))
        if any(texts):
            lines.append(" | ".join(texts))
    return "\n".join(lines)
