"""Level 2: let the model read chunks one by one, then answer from what it found.

Keyword overlap misses a passage that says the same thing in other words, so
the model itself judges chunks. Reading every chunk of a long document on a
CPU takes hours; the `ranked` strategy reads the best BM25 candidates first
(the keywords include related terms and both languages) and stops once enough
relevant chunks were found.

Small models as readers almost never reply "none", even to an unrelated
passage, so the reply text alone is a poor judge. Where the backend gives
log-probabilities, relevance is 1 - P(the reply starts with "none"): a
graded score that ranks chunks even when the model's top choice is always to
quote something. Quotes are checked against the chunk; invented ones count
for nothing.
"""

from __future__ import annotations

import math
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from ..errors import BackendError
from ..index.retriever import fuse
from ..llm.base import GenerationOptions, Message
from ..prompts import PromptSet, prompts_for
from ..records import Answer, Chunk, Hit, QueryPlan, Usage
from ..retrieve import Evidence, rank, select_evidence
from ..sentences import sentences
from .answer import answer_from_evidence
from .context import Job
from .query import expand_query, make_plan

_NONE_WORDS = ("none", "无", "没有", "不相关", "no")


@dataclass
class Reading:
    chunk: Chunk
    rank_score: float
    relevance: float = 0.0  # 0..1
    quotes: list[str] = field(default_factory=list)
    failed: str | None = None


def ask_read(question: str, job: Job, plan: QueryPlan | None = None) -> Answer:
    prompts = prompts_for(question)
    corpus = job.corpus
    usage = Usage(chunks_total=len(corpus.chunks))
    notes: list[str] = []
    if plan is None:
        plan = make_plan(question, job, prompts, usage, notes)
    if job.read.strategy == "ranked" and not plan.expansions:
        with job.tracker.stage("plan"):
            note = expand_query(plan, job.llm, prompts, usage)
        if note:
            notes.append(note)
    with job.tracker.stage("retrieve"):
        order = reading_order(job, plan)
    limit = job.read.chunk_limit(len(order))
    with job.tracker.stage("read"):
        readings = read_chunks(order[:limit], plan, job, prompts, usage)
    failed = [r for r in readings if r.failed]
    if failed and len(failed) == len(readings):
        # Nothing could be read: the backend is down, not the documents silent.
        failure = failed[0].failed or "reader failed"
        text = f"(The model could not read the documents: {failure}.)"
        if job.on_token:
            job.on_token(text)
        return Answer(text, "read", [], usage, dict(job.tracker.timings), notes=notes, backend_failure=failure)
    if failed:
        notes.append(
            f"{len(failed)} of {len(readings)} chunks could not be read ({failed[0].failed}); answered from the rest"
        )
    relevant = sorted(
        (r for r in readings if r.relevance >= job.read.relevant_at and not r.failed),
        key=lambda r: (-r.relevance, -r.rank_score),
    )
    notes.append(
        f"{job.read.strategy} reading: {len(readings) - len(failed)} of {len(corpus.chunks)} chunks read, "
        f"{len(relevant)} judged relevant"
    )
    with job.tracker.stage("retrieve"):
        evidence = gather_evidence(relevant, job)
    usage.chunks_read = len(readings) - len(failed)
    searched = ""
    if not evidence:
        terms = ", ".join(plan.keywords[:8]) or plan.information
        searched = f"read {usage.chunks_read} of {len(corpus.chunks)} passages, none relevant; searched for: {terms}"
    return answer_from_evidence("read", plan, evidence, job, prompts, usage, notes, searched)


def gather_evidence(relevant: list[Reading], job: Job) -> list[Evidence]:
    """The quoted sentences first, as their own tight passages (small models
    misread facts buried in a full chunk), then chunks the quotes retrieve
    that score nearly as well as the chunks they came from."""
    if not relevant:
        return []
    counter = job.llm.token_counter()
    evidence: list[Evidence] = []
    used = 0
    for r in relevant:
        text = " ".join(r.quotes) if r.quotes else r.chunk.text
        n = counter.count(text) + 16
        if used + n > job.budget and evidence:
            break
        evidence.append(Evidence(r.chunk, r.relevance, text, n))
        used += n
    quotes = " ".join(q for r in relevant for q in r.quotes)
    if quotes and job.budget - used > 128:
        seen = {e.chunk.id for e in evidence}
        hits = job.corpus.search(quotes, k=20)
        source_best = max((h.score for h in hits if h.chunk.id in seen), default=0.0)
        more = [h for h in hits if h.chunk.id not in seen and h.score >= 0.5 * source_best > 0]
        evidence += select_evidence(more, job.budget - used, counter)
    return evidence


def reading_order(job: Job, plan: QueryPlan) -> list[Hit]:
    """`all`: document order. `ranked`: the keyword ranking fused with the
    ranking by the question's other words, then the unmatched rest."""
    chunks = job.corpus.chunks
    if job.read.strategy == "all":
        return [Hit(c, 0.0) for c in chunks]
    rankings = [rank(job.corpus, plan, k=len(chunks))]
    if plan.expansions:
        rankings.append(job.corpus.search(" ".join(plan.expansions), k=len(chunks)))
    hits = fuse(rankings)
    seen = {h.chunk.id for h in hits}
    return hits + [Hit(c, 0.0) for c in chunks if c.id not in seen]


def read_chunks(order: list[Hit], plan: QueryPlan, job: Job, prompts: PromptSet, usage: Usage) -> list[Reading]:
    """Read in batches; `ranked` stops early once `enough` relevant chunks were found."""
    readings: list[Reading] = []
    batch = job.read.batch_size if job.read.strategy == "ranked" else max(job.read.concurrency, 8)
    with ThreadPoolExecutor(max_workers=max(1, job.read.concurrency)) as pool:
        try:
            for start in range(0, len(order), batch):
                part = order[start : start + batch]
                results = list(pool.map(lambda h: read_one(h, plan, job, prompts), part))
                for reading, completion_usage in results:
                    readings.append(reading)
                    if completion_usage:
                        usage.add(*completion_usage)
                job.tracker.progress("read", len(readings), len(order))
                found = sum(1 for r in readings if r.relevance >= job.read.relevant_at)
                if job.read.strategy == "ranked" and found >= job.read.enough:
                    break
        except KeyboardInterrupt:
            pool.shutdown(wait=False, cancel_futures=True)
            raise
    return readings


def read_one(hit: Hit, plan: QueryPlan, job: Job, prompts: PromptSet) -> tuple[Reading, tuple[int, int] | None]:
    """One reader call on one chunk: the reading, and the (prompt, completion) tokens
    it used (None when the call failed)."""
    messages = [
        Message("system", prompts.reader_system),
        Message("user", prompts.reader_user.format(question=plan.information, passage=hit.chunk.text.strip())),
    ]
    try:
        c = job.llm.complete(
            messages, GenerationOptions(max_tokens=job.read.reader_tokens, temperature=0.0, logprobs=5)
        )
    except BackendError as e:
        return Reading(hit.chunk, hit.score, failed=str(e)), None
    relevance, quotes = judge(c.text, hit.chunk.text, c.top_logprobs)
    return Reading(hit.chunk, hit.score, relevance, quotes), (c.prompt_tokens, c.completion_tokens)


def judge(reply: str, chunk_text: str, top_logprobs: list[dict[str, float]] | None) -> tuple[float, list[str]]:
    """Relevance in 0..1 and the verified quotes of one reader reply."""
    said_none = _is_none(reply)
    quotes = [] if said_none else verified_quotes(reply, chunk_text)
    if top_logprobs:
        relevance = 1.0 - _none_probability(top_logprobs[0])
        if not quotes:
            # Probability mass on quoting means little when nothing it wrote is in the chunk.
            relevance = min(relevance, 0.49)
        return relevance, quotes
    return (1.0 if quotes else 0.0), quotes


def _is_none(reply: str) -> bool:
    t = reply.strip().strip("\"'`*.。:：").lower()
    if not t:
        return True
    first = re.split(r"[\s,.，。:：]", t, maxsplit=1)[0]
    return first in _NONE_WORDS or (t.startswith(("无", "没有")) and len(t) < 24)


def _none_probability(first: dict[str, float]) -> float:
    p = 0.0
    for token, lp in first.items():
        t = token.strip().lower()
        if t and any(w.startswith(t) or t.startswith(w) for w in ("none", "无", "没有")):
            p += math.exp(lp)
    return min(1.0, p)


def verified_quotes(reply: str, chunk_text: str) -> list[str]:
    """Sentences of the reply that really are in the chunk (or nearly: small
    models drop a word or change punctuation when they copy)."""
    norm_chunk = _norm(chunk_text)
    chunk_words = set(norm_chunk.split())
    out = []
    for s in sentences(reply):
        s = s.strip("\"“”'")
        n = _norm(s)
        if len(n) < 4:
            continue
        if n in norm_chunk:
            out.append(s)
            continue
        words = n.split()
        if len(words) >= 4 and sum(w in chunk_words for w in words) / len(words) >= 0.8:
            out.append(s)
        elif len(words) < 4 and _cjk_overlap(n, norm_chunk) >= 0.8:
            out.append(s)
    return out


def _norm(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


def _cjk_overlap(s: str, text: str) -> float:
    """Share of the character bigrams of `s` found in `text` (for Chinese quotes)."""
    s = s.replace(" ", "")
    grams = [s[i : i + 2] for i in range(len(s) - 1)]
    if not grams:
        return 0.0
    t = text.replace(" ", "")
    return sum(g in t for g in grams) / len(grams)
