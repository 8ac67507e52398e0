"""Split a parsed document into token-bounded chunks at sentence boundaries.

Each chunk is a contiguous slice of the document's full text (its blocks joined
by blank lines), so its provenance is exact: character offsets, first and last
page, heading path. Blocks that fit are taken whole; larger ones are cut into
sentences (English and Chinese end marks, line breaks); a sentence still too
long is cut at whitespace, or anywhere for unbroken CJK text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterator

from .llm.base import TokenCounter
from .records import Block, Chunk, Document

# A sentence ends after . ! ? (plus closing quotes) and whitespace, after a
# Chinese end mark (no space follows in Chinese), or at a line break.
_SENTENCE_END = re.compile(r"[.!?]+[\"'”’)\]]*\s+|[。！？；…]+[”’」』）)]*\s*|\n+")


@dataclass(frozen=True)
class ChunkSettings:
    size: int = 512  # max tokens per chunk
    overlap: int = 48  # tokens of trailing sentences repeated at the next chunk's start

    def key(self) -> str:
        return f"size={self.size},overlap={self.overlap}"


@dataclass(frozen=True)
class _Piece:
    start: int
    end: int
    tokens: int
    page: int | None
    heading: tuple[str, ...]


def full_text(doc: Document) -> str:
    """The document text that block and chunk offsets point into."""
    return "\n\n".join(b.text for b in doc.blocks)


def chunk_document(doc: Document, counter: TokenCounter, settings: ChunkSettings) -> list[Chunk]:
    text = full_text(doc)
    pending = list(_pieces(doc.blocks, counter, settings.size))
    pending.reverse()  # a stack: pieces a full chunk gives back are pushed again
    chunks: list[Chunk] = []
    cur: list[_Piece] = []
    cur_tokens = 0
    while pending or cur:
        p = pending.pop() if pending else None
        # Separators between pieces cost tokens too; +1 per join is close but
        # not exact, so the finished chunk is recounted below.
        if p is not None and (not cur or cur_tokens + p.tokens + 1 <= settings.size):
            cur.append(p)
            cur_tokens += p.tokens + 1
            continue
        if p is not None:
            pending.append(p)
        body = text[cur[0].start : cur[-1].end]
        n = counter.count(body)
        while n > settings.size and len(cur) > 1:
            pending.append(cur.pop())
            body = text[cur[0].start : cur[-1].end]
            n = counter.count(body)
        chunks.append(
            Chunk(
                id=f"{doc.sha256[:10]}:{len(chunks)}",
                doc=doc.name,
                index=len(chunks),
                text=body,
                tokens=n,
                page=cur[0].page,
                page_end=cur[-1].page,
                heading=cur[0].heading,
                start=cur[0].start,
                end=cur[-1].end,
            )
        )
        cur, cur_tokens = _overlap_tail(cur, settings, pending[-1].tokens if pending else 0)
        if not pending:
            break
    return chunks


def _overlap_tail(done: list[_Piece], settings: ChunkSettings, next_tokens: int) -> tuple[list[_Piece], int]:
    """The trailing pieces of a finished chunk to repeat at the next one's start."""
    tail: list[_Piece] = []
    tokens = 0
    for q in reversed(done[1:]):  # never the whole chunk again
        grown = tokens + q.tokens + 1
        if grown > settings.overlap or grown + next_tokens + 1 > settings.size:
            break
        tail.insert(0, q)
        tokens = grown
    return tail, tokens


def _pieces(blocks: list[Block], counter: TokenCounter, size: int) -> Iterator[_Piece]:
    """Yield spans of at most `size` tokens, whole blocks where they fit."""
    for b in blocks:
        if not b.text.strip():
            continue
        n = counter.count(b.text)
        if n <= size:
            yield _Piece(b.start, b.end, n, b.page, b.heading)
            continue
        for s, e in _sentences(b.text):
            sent = b.text[s:e]
            if not sent.strip():
                continue
            m = counter.count(sent)
            if m <= size:
                yield _Piece(b.start + s, b.start + e, m, b.page, b.heading)
            else:
                for hs, he, k in _hard_split(sent, counter, size):
                    yield _Piece(b.start + s + hs, b.start + s + he, k, b.page, b.heading)


def _sentences(text: str) -> list[tuple[int, int]]:
    spans = []
    start = 0
    for m in _SENTENCE_END.finditer(text):
        spans.append((start, m.end()))
        start = m.end()
    if start < len(text):
        spans.append((start, len(text)))
    return spans


def _hard_split(text: str, counter: TokenCounter, size: int) -> list[tuple[int, int, int]]:
    """Cut an over-long sentence into windows that fit, preferring whitespace."""
    out: list[tuple[int, int, int]] = []
    # Windows start from the sentence's own chars-per-token ratio and shrink until they fit.
    start_window = max(1, int(size * 0.9 * len(text) / max(1, counter.count(text))))
    pos = 0
    while pos < len(text):
        window = start_window
        while True:
            end = min(len(text), pos + window)
            if end < len(text):
                cut = text.rfind(" ", pos + window // 2, end)
                if cut > pos:
                    end = cut + 1
            k = counter.count(text[pos:end])
            if k <= size or end - pos <= 1:
                break
            window = max(1, window * 3 // 4)
        out.append((pos, end, k))
        pos = end
    return out
