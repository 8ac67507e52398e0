"""Answers as HTML: the model's Markdown (lists, tables, code) rendered by
markdown-it-py, then cleaned by nh3 to an allow-list of tags, so whatever the
model or a document put in the answer cannot run or load anything on the page."""

from __future__ import annotations

import nh3
from markdown_it import MarkdownIt

# Raw HTML in the answer is shown as text, never passed through; single line
# breaks are kept, as small models write lists without blank lines.
_MARKDOWN = MarkdownIt("commonmark", {"html": False, "breaks": True}).enable(["table", "strikethrough"])
_TAGS = {
    "p", "br", "strong", "em", "del", "code", "pre", "blockquote", "ul", "ol", "li",
    "h1", "h2", "h3", "h4", "h5", "h6", "hr", "table", "thead", "tbody", "tr", "th", "td", "a",
}  # fmt: skip
_ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}}


def answer_html(markdown: str) -> str:
    return nh3.clean(
        _MARKDOWN.render(markdown),
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )
