"""What every answering level needs for one question."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..index.store import Corpus
from ..lexicon import Lexicon
from ..llm.base import LLM, OnToken
from ..progress import Tracker
from ..thesaurus import Thesaurus


@dataclass(frozen=True)
class ReadSettings:
    """Level 2 chunk reading."""

    strategy: str = "ranked"  # "ranked": best-first with early stop; "all": every chunk
    max_chunks: int = 0  # ranked: read at most this many; 0 = max(8, 10% of the chunks), at most 64
    batch_size: int = 2  # ranked: chunks read between stop checks (at least `concurrency`)
    enough: int = 2  # ranked: stop once this many chunks answered, or one answered naming all the question names
    concurrency: int = 1  # reader calls in flight at once (raise it for a server backend)
    reader_tokens: int = 160  # cap on each reader reply: small models otherwise run on
    relevant_at: float = 0.5  # judged relevance (0..1) from which a chunk counts as evidence
    # Tokens of each chunk a reader sees: the run of sentences that shares most with
    # the question (retrieve.reading_window); 0 = the whole chunk.
    window: int = 256

    def chunk_limit(self, total: int) -> int:
        if self.strategy == "all":
            return total
        if self.max_chunks > 0:
            return min(self.max_chunks, total)
        return min(total, max(8, min(64, total // 10)))


@dataclass
class Job:
    corpus: Corpus
    llm: LLM
    budget: int  # evidence tokens for the final answer
    answer_tokens: int
    tracker: Tracker = field(default_factory=Tracker)
    read: ReadSettings = field(default_factory=ReadSettings)
    on_token: OnToken | None = None
    max_steps: int = 5  # Level 3 tool calls before it must answer
    # Level 1 and auto's first step: no planning call when the question's own
    # words single out a passage (agents/query.py, plan_without_call).
    skip_plan: bool = True
    # Level 2 also ranks chunks by the question's synonyms from it (None: off or not installed).
    thesaurus: Thesaurus | None = None
    # And by the words the model's vocabulary puts nearest the question's (None: off or not built).
    lexicon: Lexicon | None = None
