"""HTML: visible text in reading order; h1-h6 build the heading path; tables stay in place."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from longdoc.parse.common import BlockCollector, Parsed, Unreadable
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
# Block elements lexbor checks the open-element stack for at every start tag,
# which makes its tree building quadratic in their nesting depth (200,000
# nested divs took minutes); real pages nest them tens deep, not thousands.
_NESTING_TAGS = re.compile(
    r"<(/?)(?:div|section|article|aside|blockquote|ul|ol|dl|nav|header|footer|main|form|fieldset|figure|details"
    r"|center|dir|menu|address|hgroup)\b",
    re.IGNORECASE,
)
MAX_NESTING = 4000
_META_CHARSET = re.compile(rb"""<meta[^>]{0,200}?charset\s*=\s*["']?\s*([\w.:-]+)""", re.IGNORECASE)


def parse(data: bytes) -> Parsed:
    """Parse an HTML page; the <title> becomes the document title."""
    from selectolax.lexbor import LexborHTMLParser  # imported lazily to keep CLI start-up fast

    meta = _META_CHARSET.search(data[:4096])
    declared = meta.group(1).decode("ascii") if meta else None
    text = decode_text(data, declared)
    check_nesting(text)
    tree = LexborHTMLParser(text)
    title_node = tree.head.css_first("title") if tree.head else None
    title = " ".join(title_node.text().split()) if title_node else None
    blocks = BlockCollector()
    if tree.body:
        collect(tree.body, blocks)
    return Parsed(blocks.blocks, title or None)


def collect_markup(markup: str, blocks: BlockCollector) -> None:
    """Add the blocks of an HTML fragment (e.g. raw HTML inside Markdown)."""
    from selectolax.lexbor import LexborHTMLParser

    check_nesting(markup)
    body = LexborHTMLParser(markup).body
    if body:
        collect(body, blocks)


def check_nesting(markup: str) -> None:
    """Refuse markup that nests block elements deeper than MAX_NESTING."""
    depth = deepest = 0
    for m in _NESTING_TAGS.finditer(markup):
        if m.group(1):
            depth = max(0, depth - 1)
        else:
            depth += 1
            deepest = max(deepest, depth)
    if deepest > MAX_NESTING:
        raise Unreadable(f"HTML nested {deepest:,} elements deep (the limit is {MAX_NESTING:,})")


def markup_text(markup: str) -> str:
    """The visible text of an HTML fragment, one line per block."""
    blocks = BlockCollector()
    collect_markup(markup, blocks)
    return "\n".join(b.text for b in blocks.blocks)


def collect(root: LexborNode, blocks: BlockCollector) -> None:
    """Walk `root` in document order, adding a block per paragraph-like element."""
    para = _Paragraph()
    layout = _layout_tables(root)
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
        if tag == "pre" or (tag == "table" and node.mem_id not in layout):
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


def _layout_tables(root: LexborNode) -> set[int]:
    """The tables under `root` that hold tables or headings: page layout, not
    data, read like nested divs. One pass over the markers, each walking up
    only until an ancestor table already known to be layout (whose own
    ancestors were marked then): 20,000 nested tables cost 20,000 steps, where
    a query per table cost 20,000 squared."""
    layout: set[int] = set()
    for marker in root.css(_LAYOUT_MARKERS):
        node = marker.parent
        while node is not None and node.mem_id != root.mem_id:
            if node.tag == "table":
                if node.mem_id in layout:
                    break
                layout.add(node.mem_id)
            node = node.parent
    return layout


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
