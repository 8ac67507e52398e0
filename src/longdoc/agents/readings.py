"""Level 2's readers: one model call per chunk, and which readings answered.

Each reader answers the question from its chunk alone (agents/reader.py); a
reading keeps its verdict, or why the call failed. Of the readings that
answered, those whose sentence is about the question come first.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from ..errors import BackendError
from ..prompts import PromptSet
from ..records import Chunk, Hit, QueryPlan, Usage
from ..retrieve import Evidence, WindowTerms, reading_window, window_terms
from ..tokens import TokenCounter
from ..verify.names import subject_found, subject_names
from .context import Job
from .reader import Verdict, read_chunk

# A reader this sure (the 1.5B gave its paraphrased fact 1.00) outweighs an
# answer step that finds no answer in that reader's sentence.
SURE = 0.9
# How far below the most confident answer an answer may be when its sentence
# shares no word with the question (see answers_found).
_UNRELATED_MARGIN = 0.05


@dataclass
class Reading:
    chunk: Chunk
    rank_score: float
    verdict: Verdict | None = None
    failed: str | None = None

    @property
    def relevance(self) -> float:
        return self.verdict.relevance if self.verdict else 0.0

    @property
    def answered(self) -> bool:
        return self.verdict is not None and self.verdict.answer is not None


def read_chunks(order: list[Hit], plan: QueryPlan, job: Job, prompts: PromptSet, usage: Usage) -> list[Reading]:
    """Read in batches; `ranked` stops early once `enough` chunks answered with
    a sentence about the question, or one answered with a sentence that names
    everything the question names (a look-alike "Karva Point" does not)."""
    readings: list[Reading] = []
    setup = reader_setup(plan, job)
    ranked = job.read.strategy == "ranked"
    batch = max(job.read.batch_size, job.read.concurrency) if ranked else max(job.read.concurrency, 8)
    with ThreadPoolExecutor(max_workers=max(1, job.read.concurrency)) as pool:
        try:
            for start in range(0, len(order), batch):
                part = order[start : start + batch]
                readings += [_count(r, usage) for r in pool.map(lambda h: read_one(h, plan, job, prompts, setup), part)]
                job.tracker.progress("read", len(readings), len(order))
                found = [r for r in answers_found(readings, job.read.relevant_at) if _related(r)]
                if ranked and (len(found) >= job.read.enough or any(names_all(r, plan) for r in found)):
                    break
        except KeyboardInterrupt:
            pool.shutdown(wait=False, cancel_futures=True)
            raise
    return readings


@dataclass(frozen=True)
class ReaderSetup:
    """What every reader of one plan shares, worked out once per plan."""

    window: WindowTerms | None  # what the windows look for; None: readers read whole chunks
    related: tuple[str, ...]  # words a reader's sentence may share to count as about the question


def reader_setup(plan: QueryPlan, job: Job) -> ReaderSetup:
    window = window_terms(plan, job.corpus) if job.read.window else None
    return ReaderSetup(window, (*plan.keywords, *plan.expansions, *_unused_words_synonyms(plan, job)))


def read_one(
    hit: Hit, plan: QueryPlan, job: Job, prompts: PromptSet, setup: ReaderSetup
) -> tuple[Reading, tuple[int, int] | None]:
    """One reader call on one chunk (on its window, when the setup has one): the
    reading, and the (prompt, completion) tokens it used (None when the call failed)."""
    analyzer = job.corpus.analyzer
    text = hit.chunk.text
    if setup.window is not None:
        text = reading_window(text, setup.window, analyzer, job.llm.token_counter(), job.read.window)
    try:
        verdict, prompt_tokens, completion_tokens = read_chunk(
            plan.information,
            text,
            job.llm,
            prompts,
            analyzer,
            job.read.reader_tokens,
            related=setup.related,
        )
    except BackendError as e:
        return Reading(hit.chunk, hit.score, failed=str(e)), None
    return Reading(hit.chunk, hit.score, verdict), (prompt_tokens, completion_tokens)


def _unused_words_synonyms(plan: QueryPlan, job: Job) -> list[str]:
    """WordNet's words for the question's words that at most one chunk uses
    ("lighthouse" -> "beacon" in a text that never says lighthouse): a reader's
    sentence that holds one is about the question. Not for words the documents use
    often: their synonyms ("hold", "living" for "keeps") are in any filler."""
    if job.thesaurus is None:
        return []
    corpus = job.corpus

    def unused(word: str) -> bool:
        terms = corpus.analyzer.terms(word)
        return bool(terms) and all(n <= 1 for n in corpus.chunks_holding(terms).values())

    return job.thesaurus.other_words(plan.question, only=unused)


def read_few(hits: list[Hit], plan: QueryPlan, job: Job, prompts: PromptSet, usage: Usage) -> list[Reading]:
    """Read a few chunks one after another (a link's, a clause's, a place's), counting what they cost."""
    with job.tracker.stage("read"):
        setup = reader_setup(plan, job)
        readings = [_count(read_one(h, plan, job, prompts, setup), usage) for h in hits]
    usage.chunks_read += sum(1 for r in readings if not r.failed)
    return readings


def _count(result: tuple[Reading, tuple[int, int] | None], usage: Usage) -> Reading:
    reading, tokens = result
    if tokens:
        usage.add(*tokens)
    return reading


def answers_found(readings: list[Reading], relevant_at: float) -> list[Reading]:
    """The readings whose answer the chunk backs: those whose sentence shares a
    word with the question first, then the most relevant. An answer whose
    sentence shares no word with the question is kept only when the reader was
    about as sure of it as of the best: a paraphrased fact has only the
    reader's confidence for it, and filler the reader stretched into an answer
    ("The harbour master logged the ships" for "Who keeps the lighthouse?",
    0.79-0.84 beside the fact's 0.94 with the 1.5B) scores lower."""
    answered = [r for r in readings if r.answered and r.relevance >= relevant_at and not r.failed]
    best = max((r.relevance for r in answered), default=0.0)
    return sorted(
        (r for r in answered if _related(r) or r.relevance >= best - _UNRELATED_MARGIN),
        key=lambda r: (not _related(r), -r.relevance, -r.rank_score),
    )


def _related(r: Reading) -> bool:
    return r.verdict is not None and r.verdict.related


def names_all(r: Reading, plan: QueryPlan) -> bool:
    return bool(subject_names(plan.information)) and subject_found(plan.information, sentence_of(r)) == 1.0


def sentence_of(r: Reading) -> str:
    return (r.verdict.sentence if r.verdict else None) or r.chunk.text


def as_evidence(chunk: Chunk, score: float, sentence: str, counter: TokenCounter) -> Evidence:
    """A reader's sentence as its own passage; 16 tokens for its label in the prompt."""
    return Evidence(chunk, score, sentence, counter.count(sentence) + 16)
