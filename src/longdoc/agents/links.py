"""Chains of facts, read on from their first link.

"In which province was Tam born?": a reader (or the answer step) that gives
the town of Velk where a province is asked has found where to look next, so
the chunks that name Velk are asked "In which province is Velk?". A question
about a place it names by a clause ("Who governs the province in which Tam was
born?") is then asked about the place the chain reached. The answer cites
every link.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..citations import MARKER
from ..prompts import PromptSet
from ..records import Answer, Chunk, QueryPlan, Usage
from ..verify.names import answer_names, bare, new_part
from ..verify.places import PlaceClause, asks_for_place, link_place, place_clause
from .answer import ReadersAnswer, answer_from_evidence, cite_every
from .context import Job
from .readings import SURE, Reading, answers_found, as_evidence, read_few, sentence_of

# Reading on from a link: the chunks that name it read, and links followed in a row.
_LINK_READS = 3
_LINK_HOPS = 2


@dataclass(frozen=True)
class Link:
    """A fact that is not the answer but says where to look next: "Tam was born
    in the town of Velk" for "in which province was Tam born?"."""

    kind: str  # the kind of place the question asks for ("province")
    place: str  # the smaller place found instead, to ask about next ("Velk")
    sentence: str  # the sentence that gives it, cited in the answer
    chunk: Chunk
    why: str  # who gave it: a reader, or the answer step


def first_link(readings: list[Reading], why: str = "a reader gave it") -> Link | None:
    """The link the most confident reader found, or None."""
    linked = [r for r in readings if r.verdict is not None and r.verdict.link and r.verdict.link_sentence]
    if not linked:
        return None
    best = max(linked, key=lambda r: (r.relevance, r.rank_score))
    assert best.verdict is not None and best.verdict.link and best.verdict.link_sentence
    kind, place = best.verdict.link
    return Link(kind, place, best.verdict.link_sentence, best.chunk, why)


def clause_link(plan: QueryPlan, job: Job, prompts: PromptSet, usage: Usage, notes: list[str]) -> Link | None:
    """For a question about a place it names by a clause ("the province in
    which Thand was born", "滕琨澜出生地所在省份"), no reader having given a link:
    ask where that place is ("滕琨澜出生地在哪个省？") of the chunks that best match
    the question's names; a smaller place a reader gives is the chain's first
    link. The 1.5B answered "none" to "滕琨澜出生在琥沅屿镇。" for the whole question."""
    clause = _clause(plan)
    if clause is None:
        return None
    asked = prompts.link_question.format(place=clause.called, kind=clause.kind)
    hop = QueryPlan(asked, asked, keywords=answer_names(clause.called), from_llm=False)
    readings = read_few(job.corpus.search(clause.called, k=_LINK_READS), hop, job, prompts, usage)
    link = first_link(readings, "a reader of the question's first step gave it")
    found = f'"{link.place}"' if link else "no smaller place"
    notes.append(f'asked "{asked}" of the {len(readings)} chunks that best match "{clause.called}": {found}')
    return link


def withheld_link(ans: Answer, plan: QueryPlan, job: Job) -> Link | None:
    """The answer step's refused answer when it named a smaller place than asked
    ("蒲蓁泓出生在澄沅岭镇。" for "which province?"), as a link from the passage it cites."""
    w = ans.withheld
    if w is None or not w.smaller_place or not w.citations:
        return None
    said = " ".join(MARKER.sub(" ", w.text).split())
    found = link_place(plan.information, said) or link_place(plan.question, said)
    cited = job.corpus.chunks_by_id([w.citations[0].chunk_id])
    if found is None or not cited:
        return None
    return Link(*found, said, cited[0], "the answer step gave it")


def follow_links(
    link: Link, plan: QueryPlan, job: Job, prompts: PromptSet, usage: Usage, notes: list[str]
) -> Answer | None:
    """Ask the chunks that name the link's place the question about it ("In
    which province is Velk?"); a smaller place found there in turn is followed
    too (up to _LINK_HOPS). Returns the answer from the chain's sentences, or
    None when no chunk named by a link answered."""
    chain = [link]
    for _ in range(_LINK_HOPS):
        seen = {k.chunk.id for k in chain}
        asked = prompts.link_question.format(place=link.place, kind=link.kind)
        hop = QueryPlan(asked, asked, keywords=[link.place], from_llm=False)
        hits = [h for h in job.corpus.search(link.place, k=_LINK_READS + len(seen)) if h.chunk.id not in seen]
        readings = read_few(hits[:_LINK_READS], hop, job, prompts, usage)
        answered = answers_found(readings, job.read.relevant_at)
        notes.append(
            f'read on from a link: "{link.place}" ({link.why}); asked "{asked}" of {len(readings)} chunks naming it, '
            f"{len(answered)} answered"
        )
        if answered and not any(asks_for_place(q, link.kind) for q in (plan.information, plan.question)):
            return ask_of_place(chain, answered[0], plan, job, prompts, usage, notes)
        if answered:
            return answer_from_chain(chain, answered, asked, plan, job, prompts, usage, notes)
        further = first_link(readings, "a reader of the last link gave it")
        if further is None or any(bare(further.place) == bare(k.place) for k in chain):
            return None  # no further link, or a known one again
        chain.append(further)
        link = further
    return None


def ask_of_place(
    chain: list[Link], found: Reading, plan: QueryPlan, job: Job, prompts: PromptSet, usage: Usage, notes: list[str]
) -> Answer | None:
    """The question asked about a place it named by a clause ("Who governs the
    province in which Thand was born?") and the chain has found that place
    ("Rubral"): ask the question itself of the chunks that name it; a reader
    whose sentence names the place answers. None when none does."""
    assert found.verdict is not None and found.verdict.answer
    # A reader may answer with its whole sentence ("Honais lies in the province of Rubral."):
    # the place is what it names beyond the link asked about.
    place = new_part(found.verdict.answer, chain[-1].place) or found.verdict.answer
    chain = [*chain, Link(chain[-1].kind, place, sentence_of(found), found.chunk, "the last link's reader gave it")]
    clause = _clause(plan)
    asked = clause.about(place) if clause else plan.information
    about = QueryPlan(asked, asked, keywords=[place], from_llm=False)
    readings = read_few(job.corpus.search(place, k=_LINK_READS), about, job, prompts, usage)
    answered = [r for r in answers_found(readings, job.read.relevant_at) if bare(place) in bare(sentence_of(r))]
    notes.append(
        f'the chain reached "{place}", the place the question is about; asked "{asked}" of '
        f"{len(readings)} chunks naming it, {len(answered)} answered"
    )
    return answer_from_chain(chain, answered, asked, plan, job, prompts, usage, notes) if answered else None


def answer_from_chain(
    chain: list[Link],
    answered: list[Reading],
    asked: str,
    plan: QueryPlan,
    job: Job,
    prompts: PromptSet,
    usage: Usage,
    notes: list[str],
) -> Answer:
    """The answer from the links' sentences, in order, then the sentences the
    last link's readers answered from; the best reader's answer cites its own."""
    counter = job.llm.token_counter()
    evidence = [as_evidence(k.chunk, 1.0, k.sentence, counter) for k in chain]
    for r in answered:
        text = sentence_of(r)
        if all(e.text != text for e in evidence):
            evidence.append(as_evidence(r.chunk, r.relevance, text, counter))
    best = answered[0]
    where = next(i for i, e in enumerate(evidence) if e.chunk.id == best.chunk.id)
    # A reader that answered `asked` with its whole sentence gives the names the
    # question did not hold: "Rubral" in "The province of Rubral is governed by
    # Neis Quousax." would let an answer step's "The province of Rubral governs…" pass.
    values = tuple(
        new_part(r.verdict.answer, asked) or r.verdict.answer
        for r in answered
        if r.verdict is not None and r.verdict.answer
    )
    found = ReadersAnswer(f"{values[0]} [{where + 1}]", best.relevance >= SURE, values) if values else None
    ans = answer_from_evidence("read", plan, evidence, job, prompts, usage, notes, chained=True, found=found)
    # The answer step cites the last fact only ("Neis Quousax governs … [3]").
    return cite_every(ans, range(1, len(chain) + 1), evidence, job, prompts)


def _clause(plan: QueryPlan) -> PlaceClause | None:
    return place_clause(plan.information) or place_clause(plan.question)
