"""Level 1: keyword RAG. Plan the query (unless the question's own words
already single out a passage), rank chunks with BM25, fill the reading budget
with the best passages, and answer from them with citations."""

from __future__ import annotations

from ..prompts import prompts_for
from ..records import Answer, QueryPlan, Usage
from ..retrieve import focus_evidence, rank, select_evidence
from .answer import answer_from_evidence
from .context import Job
from .query import make_plan, plan_without_call


def ask_rag(question: str, job: Job, plan: QueryPlan | None = None) -> Answer:
    prompts = prompts_for(question)
    usage = Usage(chunks_total=len(job.corpus.chunks))
    notes: list[str] = []
    if plan is None:
        plan = plan_without_call(question, job, notes) or make_plan(question, job, prompts, usage, notes)
    with job.tracker.stage("retrieve"):
        hits = rank(job.corpus, plan)
        counter = job.llm.token_counter()
        evidence = select_evidence(hits, job.budget, counter)
        evidence = focus_evidence(
            evidence, plan.information, job.corpus.analyzer, counter, keep_unfocused=not plan.clear_lead
        )
    return answer_from_evidence("rag", plan, evidence, job, prompts, usage, notes)
