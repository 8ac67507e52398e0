"""Level 1: keyword RAG. Plan the query, rank chunks with BM25, fill the
reading budget with the best passages, and answer from them with citations."""

from __future__ import annotations

import re

from ..errors import BackendError
from ..index.terms import Analyzer
from ..llm.base import LLM, GenerationOptions, Message, OnToken
from ..prompts import PromptSet, prompts_for
from ..records import Answer, Citation, QueryPlan, Usage
from ..retrieve import Evidence, focus_evidence, rank, select_evidence, sentences, shared_terms
from .context import Job
from .query import plan_query

MARKER = re.compile(r"\[\d{1,3}(?:\s*[,，]\s*\d{1,3})*\]")
_QUOTE_CHARS = 240


def ask_rag(question: str, job: Job, plan: QueryPlan | None = None) -> Answer:
    prompts = prompts_for(question)
    usage = Usage(chunks_total=len(job.corpus.chunks))
    notes: list[str] = []
    if plan is None:
        plan = make_plan(question, job, prompts, usage, notes)
    with job.tracker.stage("retrieve"):
        hits = rank(job.corpus, plan)
        counter = job.llm.token_counter()
        evidence = select_evidence(hits, job.budget, counter)
        evidence = focus_evidence(evidence, plan.information, job.corpus.analyzer, counter)
    return answer_from_evidence("rag", plan, evidence, job, prompts, usage, notes)


def make_plan(question: str, job: Job, prompts: PromptSet, usage: Usage, notes: list[str]) -> QueryPlan:
    with job.tracker.stage("plan"):
        plan, note = plan_query(question, job.llm, prompts, usage)
    if note:
        notes.append(note)
    return plan


def answer_from_evidence(
    mode: str,
    plan: QueryPlan,
    evidence: list[Evidence],
    job: Job,
    prompts: PromptSet,
    usage: Usage,
    notes: list[str],
    searched: str = "",
) -> Answer:
    """The final step of every level: answer from the chosen passages, or say
    plainly that nothing was found (never an LLM call on empty evidence)."""
    if not evidence:
        what = searched or ", ".join(plan.keywords[:8]) or plan.information
        text = f"{prompts.not_found} ({what})" if searched else f"{prompts.not_found} (searched {len(job.corpus.chunks)} passages for: {what})"
        if job.on_token:
            job.on_token(text)
        return Answer(text, mode, [], usage, dict(job.tracker.timings), notes=notes)
    if usage.chunks_read == 0:
        usage.chunks_read = len(evidence)
    with job.tracker.stage("generate"):
        text, failure = _generate(plan, evidence, prompts, job.llm, job.answer_tokens, usage, job.on_token)
    if failure:
        notes.append(f"answer step failed: {failure}")
    else:
        text, note = repoint_markers(text, evidence, plan.information, job.corpus.analyzer)
        if note:
            notes.append(note)
    citations = cite(text, evidence, prompts, job.corpus.analyzer, cite_top=bool(failure))
    return Answer(text, mode, citations, usage, dict(job.tracker.timings), notes=notes, backend_failure=failure)


def source_label(e: Evidence) -> str:
    c = e.chunk
    if c.page is None:
        return c.doc
    pages = f"p. {c.page}" if c.page_end in (None, c.page) else f"pp. {c.page}-{c.page_end}"
    return f"{c.doc}, {pages}"


def format_passages(evidence: list[Evidence], prompts: PromptSet) -> str:
    return "\n\n".join(
        f"{prompts.passage_label.format(n=i, source=source_label(e))}\n{e.text.strip()}"
        for i, e in enumerate(evidence, 1)
    )


def _generate(
    plan: QueryPlan,
    evidence: list[Evidence],
    prompts: PromptSet,
    llm: LLM,
    answer_tokens: int,
    usage: Usage,
    on_token: OnToken | None,
) -> tuple[str, str | None]:
    """The answer text, and the failure when the backend gave up."""
    messages = [
        Message("system", prompts.answer_system),
        Message(
            "user",
            prompts.answer_user.format(
                passages=format_passages(evidence, prompts),
                question=plan.information,
                instruction=plan.instruction or prompts.default_instruction,
            ),
        ),
    ]
    try:
        c = llm.complete(messages, GenerationOptions(max_tokens=answer_tokens, temperature=0.0), on_token)
    except BackendError as e:
        # Degrade: the user still gets the best passages, with the reason.
        text = f"(The model could not answer: {e}. The most relevant passages are cited below.)"
        if on_token:
            on_token(text)
        return text, str(e)
    usage.add(c.prompt_tokens, c.completion_tokens)
    return drop_echoed_label(c.text.strip(), [source_label(e) for e in evidence]), None


_ECHOED_LABEL = re.compile(r"^\[(\d{1,3})\]\s*[（(]([^）)\n]{1,200})[）)]\s*")


def drop_echoed_label(text: str, sources: list[str]) -> str:
    """Small models sometimes begin the answer by copying a passage's label
    ("[1]（notes.txt）" then a line break). Keep the number, as a citation at the end."""
    m = _ECHOED_LABEL.match(text)
    if not m or m.group(2).strip() not in sources:
        return text
    rest = text[m.end():].strip()
    if not rest:
        return text
    return rest if MARKER.search(rest) else f"{rest}[{m.group(1)}]"


def is_not_found(text: str, prompts: PromptSet) -> bool:
    t = text.strip().lower()
    stems = {prompts.not_found.lower().rstrip(".。"), "do not say", "does not say", "没有提到", "未提到", "没有提及"}
    return len(t) < 120 and any(s in t for s in stems)


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
    return [
        Citation(
            file=evidence[n - 1].chunk.doc,
            page=evidence[n - 1].chunk.page,
            chunk_id=evidence[n - 1].chunk.id,
            text=best_quote(evidence[n - 1].text, answer_terms, analyzer),
            n=n,
        )
        for n in numbers
    ]


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
    return text, (f"citation markers pointed at passages without the answer's terms, re-pointed: {'; '.join(moved)}" if moved else None)


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
