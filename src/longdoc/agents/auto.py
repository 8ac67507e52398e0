"""Mode `auto`: the cheapest level likely to answer, and why it was chosen.

Questions that plainly chain facts ("X's capital's mayor") go to Level 3 at
once. Otherwise Level 1 answers; when it finds nothing, or the model says the
passages do not answer, Level 3 takes questions that may chain facts and
Level 2 reads chunks (with the same query plan) for the rest.
"""

from __future__ import annotations

import re
from dataclasses import replace

from ..citations import is_not_found
from ..llm.base import OnToken
from ..prompts import prompts_for
from ..records import Answer, Usage
from .agent import ask_agent
from .context import Job
from .query import make_plan
from .rag import ask_rag
from .read import ask_read

# Strong signs that facts must be chained: a possessive chain ("X's capital's
# mayor"), a comparison across facts ("the same century as"), Chinese 同一.
_CHAINED = [
    re.compile(r"'s\s+\w+(?:\s+\w+)?'s\b", re.I),
    re.compile(r"\bsame\s+\w+\s+as\b", re.I),
    re.compile(r"同一|同样的|相同的"),
]
# Weaker signs, also common in one-hop questions ("the name of the daughter
# of Polonius"): Level 1 tries first, and Level 3 follows if it fails.
_NESTED = [
    re.compile(r"\b(?:of|in|by|for)\s+(?:the|a|an)\s+\w+(?:\s+\w+)?\s+(?:of|that|which|who|whose)\b", re.I),
    re.compile(r"\b(?:who|which|what|where)\b[^?]*\b(?:who|which|that)\b[^?]*\b(?:was|were|is|are|did)\b", re.I),
    re.compile(r"的[^，。？?]{1,12}的[^，。？?]{1,12}的"),
]


def looks_multi_hop(question: str) -> bool:
    return any(p.search(question) for p in _CHAINED + _NESTED)


def ask_auto(question: str, job: Job) -> Answer:
    if any(p.search(question) for p in _CHAINED):
        ans = ask_agent(question, job)
        ans.notes.insert(0, "auto: the question chains several facts, so Level 3 (agent) answered")
        return ans
    prompts = prompts_for(question)
    usage = Usage()
    notes: list[str] = []
    plan = make_plan(question, job, prompts, usage, notes)
    gate = _NotFoundGate(job.on_token, prompts.not_found)
    level1 = ask_rag(question, replace(job, on_token=gate), plan)
    level1.usage.absorb(usage)
    if level1.backend_failure is not None or not is_not_found(level1.answer, prompts):
        # A failing backend would fail Level 2 as well: report it instead of retrying everything.
        gate.flush()
        level1.notes = notes + level1.notes + ["auto: Level 1 (keyword RAG) found an answer"]
        return level1
    why = "found no passages" if not level1.citations else "the passages it found did not answer"
    if looks_multi_hop(question):
        ans = ask_agent(question, job)
        escalation = f"auto: Level 1 {why} and the question may chain facts, so Level 3 (agent) answered"
    else:
        ans = ask_read(question, job, plan)
        escalation = f"auto: Level 1 {why}, so Level 2 read chunks"
    # Level 1's passages are not counted as read again: Level 2 reports its own reading.
    ans.usage.absorb(level1.usage, chunks=False)
    ans.notes = notes + [escalation] + ans.notes
    return ans


class _NotFoundGate:
    """Streams Level 1's answer, except a "not found" reply: the first characters
    are held back until they show which it is, so an escalated run shows only
    the answer that counts."""

    _HOLD = 40

    def __init__(self, on_token: OnToken | None, not_found: str) -> None:
        self.on_token = on_token
        self.not_found = not_found.lower()
        self.held = ""
        self.open = False

    def __call__(self, piece: str) -> None:
        if self.on_token is None:
            return
        if self.open:
            self.on_token(piece)
            return
        self.held += piece
        head = self.held.lstrip().lower()[: len(self.not_found)]
        if len(self.held) >= self._HOLD and not self.not_found.startswith(head[: len(self.not_found)]):
            self.flush()

    def flush(self) -> None:
        if self.on_token is not None and not self.open:
            self.open = True
            if self.held:
                self.on_token(self.held)
