"""HTML: visible text in reading order; h1-h6 build the heading path; tables stay in place."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from longdoc.parse.common import BlockCollector, Parsed
from longdoc.parse.encoding import decode_text

if TYPE_CHECKING:
    from selectolax.lexbor import LexborNode

# Elements whose content is not document text.
_SKIP = frozenset("script style nav noscript template svg canvas iframe object embed select".split())
# Elements that end the running paragraph: text before and after them goes to separate blocks.
_BLOCK = frozenset(
    """address article aside blockquote body center dd details dialog dir div dl dt fieldset
    figcaption figure footer form h1 h2 h3 h4 h5 h6 header hgroup hr legend li main menu ol p
    section summary ul tbody thead tfoot tr td th caption""".split()
)
_HEADINGS = {f"h{n}": n for n in range(1, 7)}
_LAYOUT_MARKERS = "table, h1, h2, h3, h4, h5, h6"
_META_CHARSET = re.compile(rb"""<meta[^>]{0,200}?charset\s*=\s*["']?\s*([\w.:-]+)""", re.IGNORECASE)


def parse(data: bytes) -> Parsed:
    """Parse an HTML page; the <title> becomes the document title."""
    from selectolax.lexbor import LexborHTMLParser  # imported lazily to keep CLI start-up fast

    meta = _META_CHARSET.search(data[:4096])
    declared = meta.group(1).decode("ascii") if meta else None
    tree = LexborHTMLParser(decode_text(data, declared))
    title_node = tree.head.css_first("title") if tree.head else None
    title = " ".join(title_node.text().split()) if title_node else None
    blocks = BlockCollector()
    if tree.body:
        collect(tree.body, blocks)
    return Parsed(blocks.blocks, title or None)


def collect_markup(markup: str, blocks: BlockCollector) -> None:
    """Add the blocks of an HTML fragment (e.g. raw HTML inside Markdown)."""
    from selectolax.lexbor import LexborHTMLParser

    body = LexborHTMLParser(markup).body
    if body:
        collect(body, blocks)


def markup_text(markup: str) -> str:
    """The visible text of an HTML fragment, one line per block."""
    blocks = BlockCollector()
    collect_markup(markup, blocks)
    return "\n".join(b.text for b in blocks.blocks)


def collect(root: LexborNode, blocks: BlockCollector) -> None:
    """Walk `root` in document order, adding a block per paragraph-like element."""
    para = _Paragraph()
    # An explicit stack instead of recursion: real pages can nest deeper than Python allows.
    stack: list[tuple[LexborNode, bool]] = [(root, False)]
    while stack:
        node, closing = stack.pop()
        tag = node.tag or ""
        if closing:
            text = para.flush()
            if tag in _HEADINGS:
                blocks.heading(_HEADINGS[tag], text)
            else:
                blocks.add(text)
            continue
        if node.is_text_node:
            para.add(node.text_content or "")
            continue
        if not node.is_element_node or tag in _SKIP:
            continue
        if tag == "br":
            para.newline()
            continue
        if tag == "pre" or (tag == "table" and not _is_layout_table(node)):
            blocks.add(para.flush())
            if tag == "pre":
                blocks.add(node.text(deep=True).strip("\n"))
            else:
                blocks.add(_table_text(node), kind="table")
            continue
        if tag in _BLOCK:
            blocks.add(para.flush())
            stack.append((node, True))
        stack.extend((child, False) for child in reversed(list(node.iter(include_text=True))))
    blocks.add(para.flush())


def _is_layout_table(table: LexborNode) -> bool:
    """A table holding tables or headings is page layout, not data: read it like nested divs."""
    # css() also returns `table` itself when it matches, hence the identity check.
    return any(n.mem_id != table.mem_id for n in table.css(_LAYOUT_MARKERS))


class _Paragraph:
    """Inline text waiting to become a block; whitespace collapses as a browser shows it."""

    def __init__(self) -> None:
        self._lines: list[list[str]] = [[]]

    def add(self, text: str) -> None:
        self._lines[-1].append(text)

    def newline(self) -> None:
        self._lines.append([])

    def flush(self) -> str:
        lines = (" ".join("".join(parts).split()) for parts in self._lines)
        self._lines = [[]]
        return "\n".join(line for line in lines if line)


def _table_text(table: LexborNode) -> str:
    """Rows as lines, cells joined with " | "; the caption, if any, first."""
    caption = table.css_first("caption")
    lines = [_inner_text(caption)] if caption else []
    for row in table.css("tr"):
        cells = [_inner_text(cell) for cell in row.iter() if cell.tag in ("td", "th")]
        if any(cells):
            lines.append(" | ".join(cells))
    return "\n".join(line for line in lines if line)


def _inner_text(node: LexborNode) -> str:
    """The text of `node` on one line, with the same spacing rules as the rest of the page."""
    blocks = BlockCollector()
    collect(node, blocks)
    return " ".join(" ".join(b.text for b in blocks.blocks).split())
