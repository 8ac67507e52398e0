"""Markdown: headings build the heading path; paragraphs, lists, code and tables become blocks."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from longdoc.parse import html
from longdoc.parse.common import BlockCollector, Parsed
from longdoc.parse.encoding import decode_text

if TYPE_CHECKING:
    from markdown_it.tree import SyntaxTreeNode

# YAML front matter; without this markdown-it reads it as a rule plus a setext heading.
_FRONT_MATTER = re.compile(r"\A---\n(.{0,8000}?)\n(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.DOTALL)
_LISTS = ("bullet_list", "ordered_list")


def parse(data: bytes) -> Parsed:
    """Parse Markdown (CommonMark plus GFM tables) into readable blocks without markup."""
    from markdown_it import MarkdownIt  # imported lazily to keep CLI start-up fast
    from markdown_it.tree import SyntaxTreeNode

    text = decode_text(data)
    blocks = BlockCollector()
    front = _FRONT_MATTER.match(text)
    if front:
        blocks.add(front.group(1))
        text = text[front.end() :]
    md = MarkdownIt("commonmark").enable(["table", "strikethrough"])
    _collect(SyntaxTreeNode(md.parse(text)), blocks)
    title = next((b.text for b in blocks.blocks if b.kind == "heading" and len(b.heading) == 1), None)
    return Parsed(blocks.blocks, title)


def _collect(container: SyntaxTreeNode, blocks: BlockCollector) -> None:
    for node in container.children:
        if node.type == "heading":
            blocks.heading(int(node.tag[1:]), _inline(node))
        elif node.type == "table":
            blocks.add(_table(node), kind="table")
        elif node.type == "blockquote":
            _collect(node, blocks)
        elif node.type == "html_block":
            html.collect_markup(node.content, blocks)
        else:
            blocks.add(_block_text(node))


def _block_text(node: SyntaxTreeNode) -> str:
    """Plain text of any block node (used inside lists, where blocks are not split apart)."""
    if node.type in ("paragraph", "heading"):
        return _inline(node)
    if node.type in ("fence", "code_block"):
        return node.content.rstrip("\n")
    if node.type in _LISTS:
        return "\n".join(_list_lines(node, 0))
    if node.type == "table":
        return _table(node)
    if node.type == "html_block":
        return html.markup_text(node.content)
    # blockquote and anything else that only contains blocks; "hr" has no children
    return "\n".join(filter(None, (_block_text(c) for c in node.children)))


def _list_lines(node: SyntaxTreeNode, depth: int) -> list[str]:
    """Lines of a list with "-" or "1." markers, nested lists indented."""
    lines: list[str] = []
    number = int(node.attrs.get("start", 1))
    indent = "  " * depth
    for item in node.children:
        marker = f"{number}. " if node.type == "ordered_list" else "- "
        number += 1
        first = True
        for child in item.children:
            if child.type in _LISTS:
                lines.extend(_list_lines(child, depth + 1))
                continue
            for line in _block_text(child).split("\n"):
                lines.append(indent + (marker if first else " " * len(marker)) + line)
                first = False
    return lines


def _table(node: SyntaxTreeNode) -> str:
    rows = []
    for section in node.children:  # thead, tbody
        for row in section.children:
            cells = [" ".join(_inline(cell).split()) for cell in row.children]
            if any(cells):
                rows.append(" | ".join(cells))
    return "\n".join(rows)


def _inline(node: SyntaxTreeNode) -> str:
    """Text of a block holding inline content (paragraph, heading, table cell)."""
    return "".join(_inline_text(child) for child in node.children).strip()


def _inline_text(node: SyntaxTreeNode) -> str:
    if node.type in ("text", "code_inline"):
        return node.content
    if node.type in ("softbreak", "hardbreak"):
        return "\n"
    if node.type == "html_inline":
        return ""  # the tag itself; text between tags arrives as separate text nodes
    if node.type == "image":
        return node.content  # alt text
    inner = "".join(_inline_text(child) for child in node.children)
    if node.type == "link":
        href = str(node.attrs.get("href", ""))
        # Keep real URLs: a question may be about where a link points.
        if href and not href.startswith("#") and href not in inner:
            return f"{inner} ({href})"
    return inner
