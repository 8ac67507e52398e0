"""Markdown: headings build the heading path; paragraphs, lists, code and tables become blocks."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from longdoc.parse import html
from longdoc.parse.common import BlockCollector, Parsed
from longdoc.parse.encoding import decode_text

if TYPE_CHECKING:
    from markdown_it.token import Token

# YAML front matter; without this markdown-it reads it as a rule plus a setext heading.
_FRONT_MATTER = re.compile(r"\A---\n(.{0,8000}?)\n(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.DOTALL)


def parse(data: bytes) -> Parsed:
    """Parse Markdown (CommonMark plus GFM tables) into readable blocks without markup."""
    from markdown_it import MarkdownIt  # imported lazily to keep CLI start-up fast

    text = decode_text(data)
    blocks = BlockCollector()
    front = _FRONT_MATTER.match(text)
    if front:
        blocks.add(front.group(1))
        text = text[front.end() :]
    md = MarkdownIt("commonmark").enable(["table", "strikethrough"])
    # Keep link targets as written: readable (no %-escapes) and cheaper to parse.
    md.normalizeLink = str  # type: ignore[method-assign, assignment]
    _Walker(blocks).walk(md.parse(text))
    top_headings = (b.text for b in blocks.blocks if b.kind == "heading" and len(b.heading) == 1)
    return Parsed(blocks.blocks, next(top_headings, None))


@dataclass
class _List:
    ordered: bool
    number: int
    marker: str = ""
    first_line: bool = True  # the next line of the current item carries its marker


@dataclass
class _Walker:
    """Turns markdown-it's flat token stream into blocks.

    A whole top-level list becomes one block ("- item" lines, nested lists indented),
    so its items stay together; everything else is one block per paragraph/code/table.
    """

    blocks: BlockCollector
    lists: list[_List] = field(default_factory=list)
    list_lines: list[str] = field(default_factory=list)
    table_rows: list[str] | None = None
    row: list[str] = field(default_factory=list)

    def walk(self, tokens: list[Token]) -> None:
        heading_level = 0
        for tok in tokens:
            kind = tok.type
            if kind == "heading_open":
                heading_level = int(tok.tag[1:])
            elif kind == "heading_close":
                heading_level = 0
            elif kind == "inline":
                text = _inline(tok)
                if self.table_rows is not None:
                    self.row.append(" ".join(text.split()))
                elif heading_level and not self.lists:
                    self.blocks.heading(heading_level, text)
                else:
                    self._text(text)
            elif kind in ("fence", "code_block"):
                self._text(tok.content.rstrip("\n"))
            elif kind == "html_block":
                if self.lists:
                    self._text(html.markup_text(tok.content))
                else:
                    html.collect_markup(tok.content, self.blocks)
            elif kind in ("bullet_list_open", "ordered_list_open"):
                start = int(tok.attrs.get("start", 1))
                self.lists.append(_List(kind == "ordered_list_open", start))
            elif kind == "list_item_open":
                current = self.lists[-1]
                current.marker = f"{current.number}. " if current.ordered else "- "
                current.number += 1
                current.first_line = True
            elif kind in ("bullet_list_close", "ordered_list_close"):
                self.lists.pop()
                if not self.lists:
                    self.blocks.add("\n".join(self.list_lines))
                    self.list_lines = []
            elif kind == "table_open":
                self.table_rows = []
            elif kind == "tr_close" and self.table_rows is not None:
                if any(self.row):
                    self.table_rows.append(" | ".join(self.row))
                self.row = []
            elif kind == "table_close" and self.table_rows is not None:
                rows, self.table_rows = self.table_rows, None
                if self.lists:
                    self._text("\n".join(rows))
                else:
                    self.blocks.add("\n".join(rows), kind="table")

    def _text(self, text: str) -> None:
        """A paragraph-like piece: its own block, or lines of the open list."""
        if not self.lists:
            self.blocks.add(text)
            return
        current = self.lists[-1]
        indent = "  " * (len(self.lists) - 1)
        for line in text.split("\n"):
            prefix = current.marker if current.first_line else " " * len(current.marker)
            self.list_lines.append(indent + prefix + line)
            current.first_line = False


def _inline(tok: Token) -> str:
    """Text of an inline token without markup; links keep their target in parentheses."""
    out: list[str] = []
    links: list[tuple[int, str]] = []  # (where the link text starts in `out`, href)
    for child in tok.children or ():
        kind = child.type
        if kind in ("text", "code_inline"):
            out.append(child.content)
        elif kind in ("softbreak", "hardbreak"):
            out.append("\n")
        elif kind == "image":
            out.append(child.content)  # alt text
        elif kind == "link_open":
            links.append((len(out), str(child.attrs.get("href", ""))))
        elif kind == "link_close" and links:
            start, href = links.pop()
            # Keep real URLs: a question may be about where a link points.
            if href and not href.startswith("#") and href not in "".join(out[start:]):
                out.append(f" ({href})")
        # Other tokens (emphasis, strikethrough, inline HTML tags) are markup only.
    return "".join(out).strip()
