"""PPTX: one page per slide; the slide title is the heading; text boxes, tables and notes."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from io import BytesIO
from typing import TYPE_CHECKING, cast

from longdoc.parse.common import BlockCollector, Parsed, opening_ooxml

if TYPE_CHECKING:
    from pptx.shapes.autoshape import Shape
    from pptx.shapes.base import BaseShape
    from pptx.shapes.graphfrm import GraphicFrame
    from pptx.table import Table

NOTES_PREFIX = "Speaker notes: "


def parse(data: bytes) -> Parsed:
    """Parse a presentation; block.page is the 1-based slide number."""
    import pptx  # imported lazily to keep CLI start-up fast

    with opening_ooxml(data, "PPTX"):
        presentation = pptx.Presentation(BytesIO(data))
    blocks = BlockCollector()
    first_title = None
    for number, slide in enumerate(presentation.slides, start=1):
        title_shape = slide.shapes.title
        has_title = title_shape is not None and title_shape.has_text_frame
        title = " ".join(title_shape.text_frame.text.split()) if has_title else ""
        path = (title,) if title else ()
        first_title = first_title or title
        blocks.add(title, kind="heading", page=number, heading=path)
        for shape in _shapes(slide.shapes):
            if title_shape is not None and shape.shape_id == title_shape.shape_id:
                continue
            if shape.has_table:
                blocks.add(_table_text(cast("GraphicFrame", shape).table), kind="table", page=number, heading=path)
            elif shape.has_text_frame:
                blocks.add(_text(cast("Shape", shape).text_frame.text), page=number, heading=path)
        notes = slide.notes_slide.notes_text_frame if slide.has_notes_slide else None
        if notes is not None and notes.text.strip():
            blocks.add(NOTES_PREFIX + _text(notes.text).strip(), page=number, heading=path)
    doc_title = presentation.core_properties.title or first_title
    return Parsed(blocks.blocks, doc_title or None)


def _shapes(shapes: Iterable[BaseShape]) -> Iterator[BaseShape]:
    """Shapes in slide order, with the members of groups in place of the group."""
    from pptx.shapes.group import GroupShape

    for shape in shapes:
        if isinstance(shape, GroupShape):
            yield from _shapes(shape.shapes)
        else:
            yield shape


def _text(text: str) -> str:
    # python-pptx writes a soft line break as a vertical tab.
    return text.replace("\v", "\n")


def _table_text(table: Table) -> str:
    """Rows as lines, cells joined with " | "; merged-away cells are skipped."""
    lines = []
    for row in table.rows:
        cells = [" ".join(cell.text.split()) for cell in row.cells if not cell.is_spanned]
        if any(cells):
            lines.append(" | ".join(cells))
    return "\n".join(lines)
