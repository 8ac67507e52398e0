"""Level 3 for models without native tool calls: one simple question at a time.

A small model does not keep to a free ReAct format, so it is asked for one
thing per call: given the question and the facts found so far, the next
simple question to ask the documents (one line), or DONE. The facts carry
what earlier answers found ("Tam Orrin was born in the town of Velk."), so
the next question names it ("In which province is Velk?"): the found entity
takes its place in what is left of the question. Code answers each simple
question with Level 1 (its own words are its keywords, so no planning call)
and, when Level 1's answer is not found or not backed by its passages, with
Level 2. After at most MAX_HOPS questions the answer step composes the answer
from the sentences every hop rests on, citing each.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from ..citations import MARKER, cite, is_not_found
from ..errors import BackendError
from ..llm.base import GenerationOptions, Message
from ..prompts import PromptSet
from ..records import Answer, QueryPlan, Usage, Withheld
from ..retrieve import Evidence, chain_order, focus_evidence, follow_up
from ..verify.names import bare
from ..verify.places import names_asked_place
from ..verify.support import wrong_kind
from .answer import answer_from_evidence, cite_every
from .context import Job
from .rag import ask_rag
from .read import ask_read
from .shape import looks_multi_hop

MAX_HOPS = 4
_DONE = re.compile(r"^\W*done\b", re.IGNORECASE)
_LABEL = re.compile(r"^\s*(?:\d+\s*[.)、:：]|[-*•]|(?:next )?(?:simple )?question\s*[:：]|问题\s*[:：])\s*", re.I)


@dataclass
class Hop:
    question: str
    value: str | None  # the short answer, None when the documents did not give one
    evidence: list[Evidence] = field(default_factory=list)
    level: str = "rag"  # which level answered it
    link: bool = False  # its value is a smaller place than the question asks for: a first link


def ask_chain(question: str, job: Job, prompts: PromptSet, usage: Usage, notes: list[str]) -> Answer:
    hops: list[Hop] = []
    while len(hops) < MAX_HOPS:
        job.tracker.progress("hop", len(hops) + 1, MAX_HOPS)
        as_is = not hops and not looks_multi_hop(question)
        if as_is:
            # A question that reads as one lookup is asked as it is: small models
            # rewrite it into another question ("What is the name of the archive?").
            step: str | None = question
        else:
            with job.tracker.stage("plan"):
                step = next_question(question, hops, job, prompts, usage, notes)
        if step is None:
            break
        hop = answer_hop(step, job, prompts, usage)
        hops.append(hop)
        if hop.value is None and as_is:
            # Asked whole, it found no answer of the kind asked (a town for "which
            # province?"): it may chain facts after all, so the model breaks it up.
            continue
        if hop.value is None:
            break  # a link is missing: the chain cannot go on
        if any(_same(hop.value, h.value or "") for h in hops[:-1]):
            break  # the same value again: asking on finds nothing new
        if hops[0].link and len(hops) > 1 and names_asked_place(question, hop.value):
            break  # from the town to the province asked for: the chain is complete
    notes.append(
        f"{len(hops)} sub-question(s): "
        + "; ".join(f"{h.question} -> {h.value or 'not found'} ({h.level}{', a link' if h.link else ''})" for h in hops)
    )
    return compose(question, hops, job, prompts, usage)


def next_question(
    question: str, hops: list[Hop], job: Job, prompts: PromptSet, usage: Usage, notes: list[str]
) -> str | None:
    """The next simple question, or None when the model says the facts suffice,
    repeats an earlier question, or cannot be asked."""
    facts = "".join(f"\n- {e.text}" for h in hops for e in h.evidence) or prompts.no_facts
    messages = [Message("system", prompts.next_system)]
    for turn, reply in prompts.next_examples:
        messages += [Message("user", turn), Message("assistant", reply)]
    messages.append(Message("user", prompts.next_user.format(question=question, facts=facts)))
    try:
        c = job.llm.complete(messages, GenerationOptions(max_tokens=60, temperature=0.0))
    except BackendError as e:
        notes.append(f"asking for the next question failed ({e})")
        return question if not hops else None
    usage.add(c.prompt_tokens, c.completion_tokens)
    step = parse_step(c.text)
    if step is None:
        return question if not hops else None  # no usable question at all: ask the question itself
    if any(_same(step, h.question) for h in hops):
        return None
    return step


def parse_step(text: str) -> str | None:
    """The question in the model's reply, or None for DONE or an empty reply."""
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    if not line or _DONE.match(line):
        return None
    return _LABEL.sub("", line).strip()[:300] or None


def _same(a: str, b: str) -> bool:
    return bare(a) == bare(b)


def answer_hop(sub_question: str, job: Job, prompts: PromptSet, usage: Usage) -> Hop:
    """One simple question: Level 1 without a planning call, then Level 2 when
    Level 1's answer is not found (the answer step already turned an answer its
    passages do not back into "not found")."""
    quiet = replace(job, on_token=None)
    plan = QueryPlan(sub_question, sub_question, prompts.hop_instruction, from_llm=False)
    ans = ask_rag(sub_question, quiet, plan)
    usage.absorb(ans.usage)
    level = "rag"
    if not _found(ans, prompts) and _link(ans) is None:
        ans = ask_read(sub_question, quiet, plan)
        usage.absorb(ans.usage)
        level = "read"
    if (link := _link(ans)) is not None:
        # A town for "which province?": not the answer, but the link the next
        # question starts from ("which province is that town in?").
        value, citations = value_of(link.text), link.citations
    elif _found(ans, prompts):
        value, citations = value_of(ans.answer), ans.citations
    else:
        return Hop(sub_question, None, level=level)
    counter = job.llm.token_counter()
    cited = [Evidence(c, 1.0, c.text, 0) for c in job.corpus.chunks_by_id(c.chunk_id for c in citations)]
    # The cited passages' sentences about the sub-question and its answer: the fact
    # itself, and the sentence beside it a later hop or the answer may need.
    evidence = focus_evidence(cited, f"{sub_question} {value}", job.corpus.analyzer, counter)
    return Hop(sub_question, value, evidence, level, link is not None)


def _link(ans: Answer) -> Withheld | None:
    """The refused answer that is a chain's first link (a smaller place, with its passages), or None."""
    w = ans.withheld
    return w if w is not None and w.smaller_place and w.citations else None


def _found(ans: Answer, prompts: PromptSet) -> bool:
    return ans.backend_failure is None and bool(ans.citations) and not is_not_found(ans.answer, prompts)


def value_of(answer: str) -> str:
    """The short value of a hop's answer, without its markers."""
    text = MARKER.sub(" ", answer).strip()
    text = text.splitlines()[0] if text else text
    return " ".join(text.split()).strip(" .。,，;；:：\"“”'")


def compose(question: str, hops: list[Hop], job: Job, prompts: PromptSet, usage: Usage) -> Answer:
    """The answer from the sentences all hops rest on (each once), and the
    passages those sentences retrieve: a link the questions asked skipped."""
    evidence: list[Evidence] = []
    for h in hops:
        for e in h.evidence:
            if all(e.chunk.id != o.chunk.id or e.text != o.text for o in evidence):
                evidence.append(e)
    plan = QueryPlan(question, question, from_llm=False)
    if evidence:
        room = job.budget // 3 - sum(e.tokens + 16 for e in evidence)
        seen = {e.chunk.id for e in evidence}
        found = [e.text for e in evidence]
        evidence += follow_up(job.corpus, plan, found, room, job.llm.token_counter(), seen)
        evidence = chain_order(evidence, question, job.corpus.analyzer)
    searched = "" if evidence else "asked the documents: " + ("; ".join(h.question for h in hops) or question)
    step_usage = Usage(chunks_total=usage.chunks_total)
    quiet = replace(job, on_token=None)
    ans = answer_from_evidence("agent", plan, evidence, quiet, prompts, step_usage, [], searched, chained=True)
    usage.absorb(step_usage, chunks=False)
    ans = _keep_last_hop(ans, question, hops, evidence, job, prompts)
    return cite_every(ans, _hop_facts(hops, evidence), evidence, quiet, prompts)


def _hop_facts(hops: list[Hop], evidence: list[Evidence]) -> list[int]:
    """The evidence number of each answered hop's fact: its sentence naming the hop's value."""
    numbers = []
    for h in hops:
        if h.value is None or not h.evidence:
            continue
        fact = next((e for e in h.evidence if bare(h.value) in bare(e.text)), h.evidence[0])
        n = next((i + 1 for i, e in enumerate(evidence) if e.chunk.id == fact.chunk.id and e.text == fact.text), None)
        if n is not None:
            numbers.append(n)
    return numbers


def _keep_last_hop(
    ans: Answer, question: str, hops: list[Hop], evidence: list[Evidence], job: Job, prompts: PromptSet
) -> Answer:
    """When the composed answer failed a check (the 0.5B wrote "…的总督是琥沅屿镇",
    a town for "who"), the chain's last hop, if it found its value (not a first
    link) and that value is of the kind asked, already answered the question from
    passages it was checked against: its answer is given."""
    last = hops[-1] if hops else None
    if ans.withheld is None or last is None or last.value is None or last.link or not last.evidence:
        return ans
    if wrong_kind(question, last.value) is not None:
        return ans
    where = next((i for i, e in enumerate(evidence) if e.chunk.id == last.evidence[0].chunk.id), None)
    if where is None:
        return ans
    text = f"{last.value} [{where + 1}]"
    note = f"the composed answer was not used ({ans.withheld.reason}); the last sub-question's answer is given"
    citations = cite(text, evidence, prompts, job.corpus.analyzer)
    return replace(ans, answer=text, citations=citations, notes=[*ans.notes, note])
