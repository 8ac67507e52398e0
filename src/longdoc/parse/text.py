"""Plain text: one block per paragraph (paragraphs are separated by blank lines)."""

from __future__ import annotations

from longdoc.parse.common import PARAGRAPH_BREAK, BlockCollector, Parsed
from longdoc.parse.encoding import decode_text


def parse(data: bytes) -> Parsed:
    """Parse plain text; markup such as `<p>` is kept as ordinary characters."""
    blocks = BlockCollector()
    for paragraph in PARAGRAPH_BREAK.split(decode_text(data)):
        blocks.add(paragraph)
    return Parsed(blocks.blocks)
