"""The records that flow through the pipeline: parse -> chunk -> index -> plan -> retrieve -> answer."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, replace
from typing import Any

# A document's text is its blocks joined by a blank line; block and chunk offsets count it.
BLOCK_SEPARATOR = "\n\n"


@dataclass(frozen=True)
class Block:
    """One ordered piece of a parsed document, with where it came from.

    `start`/`end` are character offsets into the document's extracted text
    (the blocks joined with blank lines), so a citation can point back at it.
    """

    text: str
    page: int | None = None  # 1-based page (PDF) or slide (PPTX); None when the format has none
    heading: tuple[str, ...] = ()  # heading path, outermost first
    kind: str = "text"  # "text" | "table" | "heading"
    start: int = 0
    end: int = 0


def full_text(blocks: Iterable[Block]) -> str:
    """The document text that block and chunk offsets point into."""
    return BLOCK_SEPARATOR.join(b.text for b in blocks)


@dataclass
class Document:
    """A parsed file: its blocks in reading order and what identifies it."""

    path: str
    name: str
    sha256: str
    blocks: list[Block]
    title: str | None = None
    format: str = "txt"


@dataclass(frozen=True)
class Chunk:
    """A piece of at most `chunk_size` tokens, cut at sentence boundaries."""

    id: str  # "<doc hash prefix>:<n>", stable for the same content and settings
    doc: str  # file name shown in citations
    index: int  # position in the document
    text: str
    tokens: int
    page: int | None = None
    page_end: int | None = None
    heading: tuple[str, ...] = ()
    start: int = 0
    end: int = 0
    # (offset into `text`, page) wherever a later page begins inside the chunk,
    # so a quote is cited on its own page rather than the chunk's first.
    page_breaks: tuple[tuple[int, int], ...] = ()

    def page_at(self, offset: int) -> int | None:
        """The page that the character at `offset` (into `text`) is on."""
        page = self.page
        for at, p in self.page_breaks:
            if at > offset:
                break
            page = p
        return page

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["heading"] = list(self.heading)
        d["page_breaks"] = [list(b) for b in self.page_breaks]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Chunk:
        breaks = tuple((int(at), int(p)) for at, p in d.get("page_breaks") or ())
        return cls(**{**d, "heading": tuple(d.get("heading") or ()), "page_breaks": breaks})

    def named(self, doc: str) -> Chunk:
        return replace(self, doc=doc)


@dataclass
class IndexedDoc:
    """A document as the index holds it: its chunks and what identifies it."""

    key: str  # the index entry: content hash, type, chunk settings and tokenizer
    path: str
    name: str
    sha256: str
    format: str
    title: str | None
    chunks: list[Chunk]
    built: bool  # False when it came from the cache

    @property
    def tokens(self) -> int:
        return sum(c.tokens for c in self.chunks)

    def named(self, name: str) -> IndexedDoc:
        """The same document under the name citations should give it."""
        if name == self.name:
            return self
        return replace(self, name=name, chunks=[c.named(name) for c in self.chunks])


@dataclass
class Hit:
    """A chunk a retriever found, with its score (higher is better)."""

    chunk: Chunk
    score: float


@dataclass
class QueryPlan:
    """What a question asks for, how to answer it, and the words to search with."""

    question: str
    information: str
    instruction: str = ""
    keywords: list[str] = field(default_factory=list)
    # Other words for the question's phrases (Level 2 ranks chunks with them too).
    expansions: list[str] = field(default_factory=list)
    from_llm: bool = True  # False when the LLM's reply was unusable and we fell back
    # The question's own words single out one passage (retrieve.clear_lead), so
    # passages that share little with it are left out of the answer's prompt.
    clear_lead: bool = False

    def search_texts(self) -> list[str]:
        """Everything worth searching for, the question's own words first."""
        seen: set[str] = set()
        out = []
        for t in [self.question, self.information, *self.keywords]:
            k = t.strip().lower()
            if k and k not in seen:
                seen.add(k)
                out.append(t.strip())
        return out


@dataclass
class Citation:
    file: str
    page: int | None
    chunk_id: str
    text: str  # a short quote from the cited passage
    n: int = 0  # the [n] the answer text uses for it


@dataclass
class Usage:
    llm_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    chunks_read: int = 0  # chunks the model read (as evidence, or one by one in Level 2)
    chunks_total: int = 0  # chunks in the documents asked about

    def add(self, prompt_tokens: int, completion_tokens: int) -> None:
        self.llm_calls += 1
        self.prompt_tokens += prompt_tokens
        self.completion_tokens += completion_tokens

    def absorb(self, other: Usage, chunks: bool = True) -> None:
        """Add the work of a step run on this answer's behalf (a sub-question, an earlier level)."""
        self.llm_calls += other.llm_calls
        self.prompt_tokens += other.prompt_tokens
        self.completion_tokens += other.completion_tokens
        if chunks:
            self.chunks_read += other.chunks_read


@dataclass(frozen=True)
class Withheld:
    """An answer the model gave that code did not let stand, and why. Kept
    for the levels above: a town given for "which province?" is not the
    answer but the first link of a chain."""

    text: str
    reason: str
    citations: list[Citation] = field(default_factory=list)
    smaller_place: bool = False  # names a smaller kind of place than the question asks for


@dataclass
class Answer:
    """What `longdoc ask --json` prints; keep the shape stable."""

    answer: str
    mode: str
    citations: list[Citation] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    timings: dict[str, float] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)  # files that could not be used, one line each
    notes: list[str] = field(default_factory=list)  # why this mode, degraded steps, ...
    backend_failure: str | None = None  # set when the answer step failed after retries
    withheld: Withheld | None = None  # the model's answer that failed a check, if one did

    def to_dict(self) -> dict[str, Any]:
        return {
            "answer": self.answer,
            "mode": self.mode,
            "citations": [asdict(c) for c in self.citations],
            "usage": asdict(self.usage),
            "timings": {k: round(v, 4) for k, v in self.timings.items()},
            "errors": list(self.errors),
            "notes": list(self.notes),
        }
