"""Level 3: a ReAct loop that asks the documents one sub-question at a time.

The model never sees the documents: its tool `search` runs Level 2 on a
sub-question and returns the answer with its citations, renumbered into one
list for the whole conversation, so the final answer can cite every hop. A
`think` tool lets it plan before and after searching. The text protocol
(Thought / Action / Action Input, stopped at "Observation:") is one the
0.5B/1.5B embedded models follow, and it works on any backend.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from ..errors import BackendError
from ..llm.base import GenerationOptions, Message
from ..prompts import PromptSet, prompts_for
from ..records import Answer, Citation, Usage
from .context import Job
from .rag import _MARKER
from .read import ask_read

_FIELD = re.compile(r"^\s*(Thought|Action|Action Input|Final Answer)\s*[:：]\s*(.*)$", re.IGNORECASE)
_STEP_TOKENS = 200


@dataclass
class Hop:
    question: str
    answer: str
    citations: list[Citation] = field(default_factory=list)


@dataclass
class Move:
    """One parsed model turn."""

    thought: str = ""
    action: str = ""
    action_input: str = ""
    final: str | None = None


def parse_move(text: str) -> Move:
    """Read a ReAct turn tolerantly; multi-line values continue until the next field."""
    move = Move()
    current: str | None = None
    values: dict[str, list[str]] = {}
    for line in text.splitlines():
        m = _FIELD.match(line)
        if m:
            current = m.group(1).lower()
            if current in values and current != "final answer":
                break  # a second Action block: the model ran on past its turn
            values.setdefault(current, []).append(m.group(2))
        elif current:
            values[current].append(line)
    join = lambda k: "\n".join(values.get(k, [])).strip()  # noqa: E731
    move.thought, move.action, move.action_input = join("thought"), join("action").lower(), join("action input")
    if "final answer" in values:
        move.final = join("final answer")
    return move


def ask_agent(question: str, job: Job) -> Answer:
    prompts = prompts_for(question)
    usage = Usage(chunks_total=len(job.corpus.chunks))
    notes: list[str] = []
    hops: list[Hop] = []
    citations: list[Citation] = []
    messages = [Message("system", prompts.agent_system), Message("user", prompts.agent_user.format(question=question))]
    final: str | None = None
    for step in range(1, job.max_steps + 1):
        job.tracker.progress("agent step", step, job.max_steps)
        try:
            with job.tracker.stage("agent"):
                c = job.llm.complete(
                    messages, GenerationOptions(max_tokens=_STEP_TOKENS, temperature=0.0, stop=["Observation:", "\nObservation"])
                )
        except BackendError as e:
            notes.append(f"agent step {step} failed: {e}")
            break
        usage.add(c.prompt_tokens, c.completion_tokens)
        move = parse_move(c.text)
        if move.final is not None:
            final = move.final
            break
        if move.action.startswith("search") and move.action_input:
            hop = _search(move.action_input, job, usage, citations)
            hops.append(hop)
            observation = hop.answer
        elif move.action.startswith("think"):
            observation = "OK."
        elif not move.action and move.thought and not hops:
            # No tool call at all: treat the thought as the first sub-question.
            hop = _search(move.thought, job, usage, citations)
            hops.append(hop)
            observation = hop.answer
        else:
            observation = "Use the format: Action: search, then Action Input: a question; or Final Answer: ..."
        messages += [
            Message("assistant", c.text.strip()),
            Message("user", prompts.observation.format(answer=observation)),
        ]
    if final is None:
        notes.append(f"no final answer within {job.max_steps} steps; answering from the sub-answers")
        final = _fallback_answer(hops, prompts)
    notes.append(f"{len(hops)} sub-question(s): " + "; ".join(h.question for h in hops))
    if job.on_token:
        job.on_token(final)
    used = _cited(final, citations) or [c for h in hops for c in h.citations]
    return Answer(final, "agent", used, usage, dict(job.tracker.timings), notes=notes)


def _search(sub_question: str, job: Job, usage: Usage, citations: list[Citation]) -> Hop:
    """Level 2 on one sub-question; its [n] markers renumbered into the shared list."""
    ans = ask_read(sub_question, replace(job, on_token=None))
    usage.llm_calls += ans.usage.llm_calls
    usage.prompt_tokens += ans.usage.prompt_tokens
    usage.completion_tokens += ans.usage.completion_tokens
    usage.chunks_read += ans.usage.chunks_read
    local_to_global: dict[int, int] = {}
    for c in ans.citations:
        known = next((j for j, g in enumerate(citations, 1) if g.chunk_id == c.chunk_id), None)
        if known is None:
            citations.append(replace(c, n=len(citations) + 1))
            known = len(citations)
        local_to_global[c.n] = known
    text = _MARKER.sub(lambda m: "".join(f"[{local_to_global[int(g)]}]" for g in m.groups() if g and int(g) in local_to_global), ans.answer)
    return Hop(sub_question, text, [citations[g - 1] for g in local_to_global.values()])


def _cited(text: str, citations: list[Citation]) -> list[Citation]:
    out: list[Citation] = []
    for m in _MARKER.finditer(text):
        for g in m.groups():
            if g and 1 <= int(g) <= len(citations) and citations[int(g) - 1] not in out:
                out.append(citations[int(g) - 1])
    return out


def _fallback_answer(hops: list[Hop], prompts: PromptSet) -> str:
    if not hops:
        return prompts.not_found
    return "\n".join(f"{h.question} {h.answer}" for h in hops)
