"""Level 3: answer a question that chains facts, one sub-question at a time.

Backends with native function calling (OpenAI-compatible servers) get an
agent with real tools: `search` runs Level 2 on a sub-question and returns
the answer with its citations, renumbered into one list for the whole
conversation so the final answer can cite every hop; `think` lets it plan
before and after searching; the searches of one turn run in parallel.
Models without tool calls (the embedded ones) follow a structured chain of
simple questions instead (agents/chain.py): small models do not keep to a
free ReAct format.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

from ..citations import MARKER, cited_in, marker_numbers
from ..errors import BackendError
from ..llm.base import GenerationOptions, Message, ToolCall
from ..prompts import PromptSet, prompts_for
from ..records import Answer, Citation, Usage
from .chain import ask_chain
from .context import Job
from .read import ask_read

_STEP_TOKENS = 200


@dataclass
class Hop:
    question: str
    answer: str
    citations: list[Citation] = field(default_factory=list)


def ask_agent(question: str, job: Job) -> Answer:
    prompts = prompts_for(question)
    usage = Usage(chunks_total=len(job.corpus.chunks))
    notes: list[str] = []
    hops: list[Hop] = []
    citations: list[Citation] = []
    if not job.llm.supports_tools:
        ans = ask_chain(question, job, prompts, usage, notes)
        ans.usage, ans.notes = usage, notes + ans.notes
        ans.timings = dict(job.tracker.timings)
        if job.on_token:
            job.on_token(ans.answer)
        return ans
    final = _native_loop(question, job, prompts, usage, notes, hops, citations)
    if final is None:
        notes.append(f"no final answer within {job.max_steps} steps; answering from the sub-answers")
        final = _fallback_answer(hops, prompts)
    notes.append(f"{len(hops)} sub-question(s): " + "; ".join(h.question for h in hops))
    if job.on_token:
        job.on_token(final)
    used = _cited(final, citations) or [c for h in hops for c in h.citations]
    return Answer(final, "agent", used, usage, dict(job.tracker.timings), notes=notes)


TOOLS: list[dict[str, Any]] = [
    {
        "name": "search",
        "description": (
            "Ask the user's documents one simple, self-contained question. Returns a short "
            "answer whose [n] markers are source numbers you can cite. Several searches that "
            "do not depend on each other may be called at once."
        ),
        "parameters": {
            "type": "object",
            "properties": {"question": {"type": "string", "description": "The question, with names spelled out."}},
            "required": ["question"],
        },
    },
    {
        "name": "think",
        "description": "Write down a plan or what the answers so far show. Searches nothing; use it before and after searching.",
        "parameters": {
            "type": "object",
            "properties": {"thought": {"type": "string"}},
            "required": ["thought"],
        },
    },
]


def _native_loop(
    question: str,
    job: Job,
    prompts: PromptSet,
    usage: Usage,
    notes: list[str],
    hops: list[Hop],
    citations: list[Citation],
) -> str | None:
    """Native function calling: independent searches of one turn run in parallel."""
    messages = [Message("system", prompts.agent_tools_system), Message("user", question)]
    for step in range(1, job.max_steps + 1):
        job.tracker.progress("agent step", step, job.max_steps)
        try:
            with job.tracker.stage("agent"):
                c = job.llm.complete(
                    messages, GenerationOptions(max_tokens=_STEP_TOKENS * 2, temperature=0.0, tools=TOOLS)
                )
        except BackendError as e:
            notes.append(f"agent step {step} failed: {e}")
            return None
        usage.add(c.prompt_tokens, c.completion_tokens)
        if not c.tool_calls:
            return c.text.strip()
        messages.append(Message("assistant", c.text, tool_calls=tuple(c.tool_calls)))
        searches = {call.id: q for call in c.tool_calls if call.name == "search" and (q := _argument(call, "question"))}
        with ThreadPoolExecutor(max_workers=max(1, min(len(searches), job.read.concurrency))) as pool:
            answers = dict(zip(searches, pool.map(lambda q: _sub_answer(q, job), searches.values())))
        for call in c.tool_calls:
            if call.id in answers:
                hop = _register(searches[call.id], answers[call.id], usage, citations)
                hops.append(hop)
                result = hop.answer
            elif call.name == "think":
                result = "Noted."
            else:
                result = f"unknown tool or missing argument in {call.name}({call.arguments}); use search(question) or think(thought)"
            messages.append(Message("tool", result, tool_call_id=call.id))
    return None


def _argument(call: ToolCall, name: str) -> str:
    try:
        value = json.loads(call.arguments or "{}").get(name, "")
    except (ValueError, AttributeError):
        return ""
    return str(value).strip()


def _sub_answer(sub_question: str, job: Job) -> Answer:
    """Level 2 on one sub-question (safe to run several at once)."""
    return ask_read(sub_question, replace(job, on_token=None))


def _register(sub_question: str, ans: Answer, usage: Usage, citations: list[Citation]) -> Hop:
    """Add a sub-answer's usage and citations to the run; its [n] markers are
    renumbered into the one list the final answer cites from."""
    usage.absorb(ans.usage)
    local_to_global: dict[int, int] = {}
    for c in ans.citations:
        known = next((j for j, g in enumerate(citations, 1) if g.chunk_id == c.chunk_id), None)
        if known is None:
            citations.append(replace(c, n=len(citations) + 1))
            known = len(citations)
        local_to_global[c.n] = known
    text = MARKER.sub(
        lambda m: "".join(f"[{local_to_global[n]}]" for n in cited_in(m) if n in local_to_global), ans.answer
    )
    return Hop(sub_question, text, [citations[g - 1] for g in local_to_global.values()])


def _cited(text: str, citations: list[Citation]) -> list[Citation]:
    return [citations[n - 1] for n in marker_numbers(text, len(citations))]


def _fallback_answer(hops: list[Hop], prompts: PromptSet) -> str:
    if not hops:
        return prompts.not_found
    return "\n".join(f"{h.question} {h.answer}" for h in hops)
