"""Citation markers in answers, and the citations they turn into.

An answer cites the passages it was given by their labels, `[1]` or `[1, 2]`.
Every level and the server read markers through this module, so they agree on
what a marker is, on which passage a number means, and on "not found".
"""

from __future__ import annotations

import re

from .index.terms import Analyzer
from .prompts import PromptSet
from .records import Chunk, Citation
from .retrieve import Evidence, shared_terms
from .sentences import sentences

# "[2]" or "[1, 2]" (a Chinese comma too); at most three digits, so "[1931]" is not one.
MARKER = re.compile(r"\[\d{1,3}(?:\s*[,，]\s*\d{1,3})*\]")
_QUOTE_CHARS = 240


def is_not_found(text: str, prompts: PromptSet) -> bool:
    """The reply says the documents do not answer: a short reply saying so, or
    one that opens by saying so and cites nothing, however long what follows
    (a list of the words searched for, a guess). A long reply that only
    mentions it further on still answers something."""
    t = text.strip().lower()
    stems = {prompts.not_found.lower().rstrip(".。"), "do not say", "does not say", "没有提到", "未提到", "没有提及"}
    if len(t) < 120 and any(s in t for s in stems):
        return True
    first = next(iter(sentences(t)), "")
    return any(s in first for s in stems) and not MARKER.search(t)


def cite(
    text: str, evidence: list[Evidence], prompts: PromptSet, analyzer: Analyzer, cite_top: bool = False
) -> list[Citation]:
    """Citations for the passages the answer points at ([n] markers); when it
    cites none, the passage that shares most terms with the answer; with
    `cite_top`, the three best passages (used when there is no answer)."""
    if is_not_found(text, prompts) and "[" not in text:
        return []
    numbers = marker_numbers(text, len(evidence))
    answer_terms = set(analyzer.terms(MARKER.sub(" ", text)))
    if cite_top:
        numbers = list(range(1, min(3, len(evidence)) + 1))
    if not numbers and answer_terms:
        overlaps = shared_terms(answer_terms, [e.text for e in evidence], analyzer)
        best = max(range(len(evidence)), key=lambda i: overlaps[i])
        if overlaps[best] > 0:
            numbers = [best + 1]
    citations = []
    for n in numbers:
        chunk = evidence[n - 1].chunk
        quote = best_quote(evidence[n - 1].text, answer_terms, analyzer)
        citations.append(Citation(file=chunk.doc, page=quote_page(chunk, quote), chunk_id=chunk.id, text=quote, n=n))
    return citations


def quote_page(chunk: Chunk, quote: str) -> int | None:
    """The page the quoted sentence is on: a chunk that begins near the end of
    page 22 and holds the quote on page 23 is cited as page 23."""
    if not chunk.page_breaks:
        return chunk.page
    needle = quote.removesuffix("…").strip()
    at = chunk.text.find(needle)
    if at < 0 and needle:  # the quote's line breaks were rejoined: match word by word
        words = needle.split()
        m = re.search(r"\s+".join(map(re.escape, words)), chunk.text)
        at = m.start() if m else -1
    return chunk.page_at(at) if at >= 0 else chunk.page


def repoint_markers(text: str, evidence: list[Evidence], question: str, analyzer: Analyzer) -> tuple[str, str | None]:
    """Small models often cite the wrong number. A marker whose passage shares
    none of the answer's own terms (those not in the question) is pointed at
    the passage that shares most of them. Returns the text and a note."""
    if not MARKER.search(text):
        return text, None  # nothing to check (and `cite` then picks the passage itself)
    own = set(analyzer.terms(MARKER.sub(" ", text))) - set(analyzer.terms(question))
    overlaps = shared_terms(own, [e.text for e in evidence], analyzer)
    if not overlaps or max(overlaps) == 0:
        return text, None
    best = overlaps.index(max(overlaps)) + 1
    moved: list[str] = []

    def fix(m: re.Match[str]) -> str:
        numbers = cited_in(m)
        if not all(1 <= n <= len(evidence) for n in numbers):
            return m.group()
        fixed = list(dict.fromkeys(best if overlaps[n - 1] == 0 else n for n in numbers))
        if fixed == numbers:
            return m.group()
        moved.append(f"{m.group()} -> [{', '.join(map(str, fixed))}]")
        return f"[{', '.join(map(str, fixed))}]"

    text = MARKER.sub(fix, text)
    return text, (
        f"citation markers pointed at passages without the answer's terms, re-pointed: {'; '.join(moved)}"
        if moved
        else None
    )


def marker_numbers(text: str, limit: int) -> list[int]:
    """The [n] numbers the text cites, first mention first, those in 1..limit."""
    numbers: list[int] = []
    for m in MARKER.finditer(text):
        for n in cited_in(m):
            if 1 <= n <= limit and n not in numbers:
                numbers.append(n)
    return numbers


def cited_in(marker: re.Match[str]) -> list[int]:
    """Every number of one marker: "[1, 2, 3]" gives [1, 2, 3]."""
    return [int(d) for d in re.findall(r"\d+", marker.group())]


def best_quote(passage: str, answer_terms: set[str], analyzer: Analyzer) -> str:
    """The sentence of the passage that shares most terms with the answer."""
    parts = sentences(passage)
    if not parts:
        return passage[:_QUOTE_CHARS]
    overlaps = shared_terms(answer_terms, parts, analyzer)
    best = parts[overlaps.index(max(overlaps))]
    return best if len(best) <= _QUOTE_CHARS else best[: _QUOTE_CHARS - 1] + "…"
