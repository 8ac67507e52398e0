"""Mode `auto`: the cheapest level likely to answer, and why it was chosen.

Questions that plainly chain facts ("X's capital's mayor") go to Level 3 at
once. Otherwise Level 1 answers, and its answer is checked in code before it
counts: it must not say the documents do not say, the passages it cites must
hold its names and values, and they must name what the question names
exactly ("Karvo Point", not "Karva Point"). When it fails a check, Level 3
takes questions that may chain facts and Level 2 reads chunks (with the same
query plan) for the rest.
"""

from __future__ import annotations

from dataclasses import replace

from ..citations import MARKER, is_not_found
from ..llm.base import OnToken
from ..prompts import PromptSet, prompts_for
from ..records import Answer, Usage
from ..verify.names import answer_names, names_found
from ..verify.support import coverage, unbacked
from .agent import ask_agent
from .context import Job
from .query import make_plan, plan_without_call
from .rag import ask_rag
from .read import ask_read
from .shape import chains_facts, looks_multi_hop

# An answer whose cited sentences hold less than this share of the question's
# terms was likely taken from a passage about something else (a paraphrased
# fact that keyword search cannot reach leaves Level 1 only such passages).
_FEW_SHARED = 1 / 3
_NOT_NAMED = "the passages it cites do not name"


def ask_auto(question: str, job: Job) -> Answer:
    if chains_facts(question):
        ans = ask_agent(question, job)
        ans.notes.insert(0, "auto: the question chains several facts, so Level 3 (agent) answered")
        return ans
    prompts = prompts_for(question)
    usage = Usage()
    notes: list[str] = []
    skipped = plan_without_call(question, job, notes)
    plan = skipped or make_plan(question, job, prompts, usage, notes)
    gate = _HeldAnswer(job.on_token)
    level1 = ask_rag(question, replace(job, on_token=gate), plan)
    level1.usage.absorb(usage)
    weak = weakness(level1, plan.information, job, prompts, asked=question)
    if level1.backend_failure is not None or weak is None:
        # A failing backend would fail Level 2 as well: report it instead of retrying everything.
        gate.flush()
        level1.notes = notes + level1.notes + ["auto: Level 1 (keyword RAG) found an answer"]
        return level1
    why = weak
    # Cited passages that do not name what the question names may be the second
    # link of a chain ("Kahund lies in Trouvaiv" for "where was Len born?"); a
    # town for "which province?" is its first link.
    chain_link = (level1.withheld is not None and level1.withheld.smaller_place) or (
        weak.startswith(_NOT_NAMED) and _named_elsewhere(question, level1, job)
    )
    if looks_multi_hop(question) or chain_link:
        ans = ask_agent(question, job)
        escalation = f"auto: Level 1 {why} and the question may chain facts, so Level 3 (agent) answered"
    else:
        if skipped is not None:
            # Level 2 ranks and reads with the plan's keywords and other words: plan now.
            plan = make_plan(question, job, prompts, level1.usage, notes)
        ans = ask_read(question, job, plan)
        escalation = f"auto: Level 1 {why}, so Level 2 read chunks"
    # Level 1's passages are not counted as read again: Level 2 reports its own reading.
    ans.usage.absorb(level1.usage, chunks=False)
    ans.notes = notes + [escalation] + [f"Level 1: {n}" for n in level1.notes] + ans.notes
    return ans


def weakness(ans: Answer, question: str, job: Job, prompts: PromptSet, asked: str = "") -> str | None:
    """Why Level 1's answer should not be trusted, or None when it passes every check.
    `question`: the plan's restatement; `asked`: the user's own words, when they differ."""
    if not ans.citations:
        if not is_not_found(ans.answer, prompts):
            return "cited no passage"
        return "found no answer its passages back" if ans.usage.chunks_read else "found no passages"
    if is_not_found(ans.answer, prompts):
        return "the passages it found did not answer"
    passages = [c.text for c in job.corpus.chunks_by_id(c.chunk_id for c in ans.citations)]
    reason = unbacked(MARKER.sub(" ", ans.answer), passages, question, job.corpus.analyzer, asked=asked)
    if reason:
        return f"its answer is not backed by the passages it cites ({reason})"
    quotes = " ".join(c.text for c in ans.citations)
    if missing := _unnamed(question, ans, job, asked):
        return f"{_NOT_NAMED} {', '.join(missing[:3])} as the question does"
    few_words = len(set(job.corpus.analyzer.terms(question))) < 3  # too few to judge by
    if not few_words and coverage(question, quotes, job.corpus.analyzer) < _FEW_SHARED:
        return "the sentences it cites share few of the question's words"
    return None


def _unnamed(question: str, ans: Answer, job: Job, asked: str = "") -> list[str]:
    """What the question names (Latin names, Chinese runs) that the cited passages
    do not. A name of the plan's restatement that neither the user wrote nor the
    documents use was the planner's invention (the 0.5B added "山东省")."""
    quotes = " ".join(c.text for c in ans.citations)
    names = answer_names(question)
    if asked:
        names = [n for n in names if names_found(n, asked) == 1.0 or job.corpus.mentions(n)]
    return [n for n in names if names_found(n, quotes) < 1.0]


def _named_elsewhere(question: str, ans: Answer, job: Job) -> bool:
    """Most of what the cited passages lack is in other passages: the next link
    of a chain, for Level 3. Words the documents never use mean the fact is told
    in other words ("金属工匠" for "blacksmiths"), which Level 2's reading finds;
    Chinese runs cannot be told from names, so this decides, not the wording."""
    missing = _unnamed(question, ans, job)
    return sum(job.corpus.mentions(n) for n in missing) * 2 >= len(missing) > 0


class _HeldAnswer:
    """Holds Level 1's streamed answer until the checks above have passed it,
    so an escalated run shows only the answer that counts. (A one-sentence
    answer takes seconds, so little is lost by not streaming it.)"""

    def __init__(self, on_token: OnToken | None) -> None:
        self.on_token = on_token
        self.held: list[str] = []

    def __call__(self, piece: str) -> None:
        self.held.append(piece)

    def flush(self) -> None:
        if self.on_token is not None and self.held:
            self.on_token("".join(self.held))
        self.held = []
