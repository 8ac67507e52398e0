"""Level 2: let the model read chunks one by one, then answer from what it found.

Keyword overlap misses a passage that says the same thing in other words, so
the model itself reads chunks. Reading every chunk of a long document on a
CPU takes hours; the `ranked` strategy reads the best BM25 candidates first
(the keywords include related terms and both languages, fused with other
words for the question's phrases) and stops once enough chunks answered.

Each reader answers the question from its chunk alone (agents/reader.py), and
code keeps only answers the chunk backs, with the chunk's own sentence. The
answer step then sees those sentences, not whole chunks; answers that
disagree are settled first (`settle`): of two near-identical sentences giving
different values, the one that names the question's subject more exactly
wins (a decoy "Naithor Poina" loses to "Naithor Point").

A chain of facts ("in which province was Tam born?": Tam was born in the town
of Velk; Velk lies in the province of Sarn) is read on from its first link: a
reader, or the answer step, that gives the town where a province is asked has
found where to look next (`follow_links`).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from ..citations import MARKER
from ..errors import BackendError
from ..index.retriever import fuse
from ..index.terms import Analyzer
from ..prompts import PromptSet, prompts_for
from ..records import Answer, Chunk, Hit, QueryPlan, Usage
from ..retrieve import Evidence, follow_up, rank
from ..tokens import TokenCounter
from ..verify import (
    PlaceClause,
    answer_names,
    asks_for_place,
    bare,
    coverage,
    link_place,
    names_found,
    new_part,
    place_clause,
)
from .answer import ReadersAnswer, answer_from_evidence, cite_every, unmentioned
from .context import Job
from .query import expand_query, make_plan
from .reader import Verdict, read_chunk

# Two reader sentences this alike (share of their terms, the answers left out)
# say the same thing of two subjects: a true fact and its look-alike.
_ALIKE = 0.5
# The look-alike loses when it covers this much less of the question's terms.
_LESS_EXACT = 0.1
# A reader this sure (the 1.5B gave its paraphrased fact 1.00) outweighs an
# answer step that finds no answer in that reader's sentence.
_SURE = 0.9
# A near-certain reader (from _SURE) outweighs one this much less sure: the
# answer step may not take the lesser reader's answer over it.
_OUTWEIGH = 0.1
# How far below the most confident answer an answer may be when its sentence
# shares no word with the question (see answers_found).
_UNRELATED_MARGIN = 0.05
# Reading on from a link: the chunks that name it read, and links followed in a row.
_LINK_READS = 3
_LINK_HOPS = 2


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


@dataclass(frozen=True)
class Link:
    """A fact that is not the answer but says where to look next: "Tam was born
    in the town of Velk" for "in which province was Tam born?"."""

    kind: str  # the kind of place the question asks for ("province")
    place: str  # the smaller place found instead, to ask about next ("Velk")
    sentence: str  # the sentence that gives it, cited in the answer
    chunk: Chunk
    why: str  # who gave it: a reader, or the answer step


def ask_read(question: str, job: Job, plan: QueryPlan | None = None) -> Answer:
    prompts = prompts_for(question)
    corpus = job.corpus
    usage = Usage(chunks_total=len(corpus.chunks))
    notes: list[str] = []
    if plan is None:
        plan = make_plan(question, job, prompts, usage, notes)
    if unknown := unmentioned(plan, job):
        return answer_from_evidence("read", plan, [], job, prompts, usage, notes, unknown)
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
    answered = answers_found(readings, job.read.relevant_at)
    found, settled = settle(answered, plan.information, corpus.analyzer)
    set_aside = {r.chunk.id for r in answered} - {r.chunk.id for r in found}
    set_aside |= {r.chunk.id for r in readings if r.verdict is not None and r.verdict.look_alike}
    notes += settled
    usage.chunks_read = len(readings) - len(failed)
    notes.append(
        f"{job.read.strategy} reading: {usage.chunks_read} of {len(corpus.chunks)} chunks read, "
        f"{len(found)} answered the question" + "".join(f'; "{_short(r)}" ({r.relevance:.2f})' for r in found[:3])
    )
    named = any(_names_all(r, plan) for r in found)
    link = None if named else first_link(readings) or clause_link(plan, job, prompts, usage, notes)
    if link is not None:
        chained = follow_links(link, plan, job, prompts, usage, notes)
        if chained is not None:
            return chained
    with job.tracker.stage("retrieve"):
        evidence = gather_evidence(found, plan, job, set_aside)
    searched = ""
    if not evidence:
        terms = ", ".join(plan.keywords[:8]) or plan.information
        searched = f"read {usage.chunks_read} of {len(corpus.chunks)} passages, none answered; searched for: {terms}"
    ans = answer_from_evidence(
        "read",
        plan,
        evidence,
        job,
        prompts,
        usage,
        notes,
        searched,
        found=readers_answer(found, evidence, plan.information),
    )
    withheld = withheld_link(ans, plan, job) if link is None else None
    if withheld is not None:
        if job.on_token:
            job.on_token(f"\n\n({withheld.place} is not what was asked, but where to look next.) ")
        chained = follow_links(withheld, plan, job, prompts, usage, ans.notes)
        if chained is not None:
            return chained
    return ans


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
    readings = _read_few(job.corpus.search(clause.called, k=_LINK_READS), hop, job, prompts, usage)
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
        readings = _read_few(hits[:_LINK_READS], hop, job, prompts, usage)
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
    chain = [*chain, Link(chain[-1].kind, place, _sentence(found), found.chunk, "the last link's reader gave it")]
    clause = _clause(plan)
    asked = clause.about(place) if clause else plan.information
    about = QueryPlan(asked, asked, keywords=[place], from_llm=False)
    readings = _read_few(job.corpus.search(place, k=_LINK_READS), about, job, prompts, usage)
    answered = [r for r in answers_found(readings, job.read.relevant_at) if bare(place) in bare(_sentence(r))]
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
    evidence = [_as_evidence(k.chunk, 1.0, k.sentence, counter) for k in chain]
    for r in answered:
        text = _sentence(r)
        if all(e.text != text for e in evidence):
            evidence.append(_as_evidence(r.chunk, r.relevance, text, counter))
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
    found = ReadersAnswer(f"{values[0]} [{where + 1}]", best.relevance >= _SURE, values) if values else None
    ans = answer_from_evidence("read", plan, evidence, job, prompts, usage, notes, chained=True, found=found)
    # The answer step cites the last fact only ("Neis Quousax governs … [3]").
    return cite_every(ans, range(1, len(chain) + 1), evidence, job, prompts)


def _as_evidence(chunk: Chunk, score: float, sentence: str, counter: TokenCounter) -> Evidence:
    """A reader's sentence as its own passage; 16 tokens for its label in the prompt."""
    return Evidence(chunk, score, sentence, counter.count(sentence) + 16)


def _clause(plan: QueryPlan) -> PlaceClause | None:
    return place_clause(plan.information) or place_clause(plan.question)


def _read_few(hits: list[Hit], plan: QueryPlan, job: Job, prompts: PromptSet, usage: Usage) -> list[Reading]:
    """Read a few chunks one after another (a link's, a clause's, a place's), counting what they cost."""
    with job.tracker.stage("read"):
        readings = [_count(read_one(h, plan, job, prompts), usage) for h in hits]
    usage.chunks_read += sum(1 for r in readings if not r.failed)
    return readings


def _count(result: tuple[Reading, tuple[int, int] | None], usage: Usage) -> Reading:
    reading, tokens = result
    if tokens:
        usage.add(*tokens)
    return reading


def readers_answer(found: list[Reading], evidence: list[Evidence], question: str) -> ReadersAnswer | None:
    """The best reader's checked answer, cited to its sentence (the first
    passage): what the answer step falls back on when its own answer says nothing."""
    if not found or not evidence or evidence[0].chunk.id != found[0].chunk.id:
        return None
    answer = found[0].verdict.answer if found[0].verdict else None
    if not answer:
        return None
    # Sure: confident, and its sentence names all the question names ("山东" from a
    # news sentence for "蒲蓁泓出生在哪个省？" also came at 1.00, naming no 蒲蓁泓).
    sentence = _sentence(found[0])
    on_subject = names_found(question, sentence) == 1.0
    sure = found[0].relevance >= _SURE and on_subject
    values = tuple(r.verdict.answer for r in found if r.verdict is not None and r.verdict.answer)
    best = found[0].relevance
    outweighed = tuple(
        r.verdict.answer
        for r in found[1:]
        if best >= _SURE and r.relevance <= best - _OUTWEIGH and r.verdict is not None and r.verdict.answer
    )
    if not sure and (via := bridge(question, answer, sentence, evidence[1:])) is not None:
        # The second link of a chain, joined to the question by a passage code found.
        return ReadersAnswer(f"{answer} [1][{via + 2}]", True, values, outweighed)
    return ReadersAnswer(f"{answer} [1]", sure, values, outweighed, on_subject)


def bridge(question: str, answer: str, sentence: str, passages: list[Evidence]) -> int | None:
    """The index of a passage that joins a reader's sentence to the question:
    it names everything the question names and a name of the sentence other
    than the answer. "Das Thounoth was born in the town of Trofirk." joins
    "Trofirk lies in the province of Veigoul." to "In which province was Das
    Thounoth born?"; the 1.5B's answer step saw both and said the documents do
    not say. None when no passage does, or the question names nothing."""
    if not answer_names(question):
        return None
    between = [n for n in answer_names(sentence) if names_found(n, answer) < 1.0 and names_found(n, question) < 1.0]
    for i, e in enumerate(passages):
        if names_found(question, e.text) == 1.0 and any(names_found(n, e.text) == 1.0 for n in between):
            return i
    return None


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


def _names_all(r: Reading, plan: QueryPlan) -> bool:
    return bool(answer_names(plan.information)) and names_found(plan.information, _sentence(r)) == 1.0


def settle(found: list[Reading], question: str, analyzer: Analyzer) -> tuple[list[Reading], list[str]]:
    """Drop look-alikes: of two readings whose sentences say nearly the same
    thing with different answers, keep the one whose sentence covers more of
    the question's terms. Readings that say different things (the links of a
    chain of facts) all stay. Returns the kept readings and a note per drop."""
    kept: list[Reading] = []
    notes: list[str] = []
    exact = {id(r): coverage(question, _sentence(r), analyzer) for r in found}
    for r in sorted(found, key=lambda r: -exact[id(r)]):
        rival = next((k for k in kept if _look_alike(k, r, analyzer)), None)
        if rival is not None and exact[id(r)] <= exact[id(rival)] - _LESS_EXACT:
            notes.append(
                f'set aside a look-alike: "{_sentence(r)}" names the question\'s subject less exactly than '
                f'"{_sentence(rival)}"'
            )
            continue
        kept.append(r)
    order = {id(r): i for i, r in enumerate(found)}
    return sorted(kept, key=lambda r: order[id(r)]), notes


def _short(r: Reading) -> str:
    return " ".join(((r.verdict.answer if r.verdict else None) or "").split())[:80]


def _sentence(r: Reading) -> str:
    return (r.verdict.sentence if r.verdict else None) or r.chunk.text


def _look_alike(a: Reading, b: Reading, analyzer: Analyzer) -> bool:
    answer_a = (a.verdict.answer if a.verdict else None) or ""
    answer_b = (b.verdict.answer if b.verdict else None) or ""
    if not answer_a or not answer_b or answer_a.lower() == answer_b.lower():
        return False
    values = set(analyzer.terms(answer_a)) | set(analyzer.terms(answer_b))
    ta = set(analyzer.terms(_sentence(a))) - values
    tb = set(analyzer.terms(_sentence(b))) - values
    if not ta or not tb:
        return False
    return len(ta & tb) / len(ta | tb) >= _ALIKE


def gather_evidence(found: list[Reading], plan: QueryPlan, job: Job, set_aside: set[str]) -> list[Evidence]:
    """The sentences the readers' answers rest on, each its own tight passage
    (small models misread facts buried in a whole chunk), once each, then in
    what is left of the budget the passages the question's keywords and those
    sentences retrieve (`follow_up`): the next link of a chain of facts, and
    what a reader missed (the reference's summary step retrieves the same way).
    Passages set aside as look-alikes stay out."""
    counter = job.llm.token_counter()
    evidence: list[Evidence] = []
    used = 0
    for r in found:
        text = _sentence(r)
        if any(e.text == text for e in evidence):
            continue  # repeated filler told by many chunks would outvote the one fact
        e = _as_evidence(r.chunk, r.relevance, text, counter)
        if used + e.tokens > job.budget and evidence:
            break
        evidence.append(e)
        used += e.tokens
    # With answers in hand, the rest only needs room for the next link of a chain.
    room = (job.budget // 3 if evidence else job.budget) - used
    seen = {e.chunk.id for e in evidence} | set_aside
    return evidence + follow_up(job.corpus, plan, [e.text for e in evidence], room, counter, seen)


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
    """Read in batches; `ranked` stops early once `enough` chunks answered with
    a sentence about the question, or one answered with a sentence that names
    everything the question names (a look-alike "Karva Point" does not)."""
    readings: list[Reading] = []
    ranked = job.read.strategy == "ranked"
    batch = max(job.read.batch_size, job.read.concurrency) if ranked else max(job.read.concurrency, 8)
    with ThreadPoolExecutor(max_workers=max(1, job.read.concurrency)) as pool:
        try:
            for start in range(0, len(order), batch):
                part = order[start : start + batch]
                readings += [_count(r, usage) for r in pool.map(lambda h: read_one(h, plan, job, prompts), part)]
                job.tracker.progress("read", len(readings), len(order))
                found = [r for r in answers_found(readings, job.read.relevant_at) if _related(r)]
                if ranked and (len(found) >= job.read.enough or any(_names_all(r, plan) for r in found)):
                    break
        except KeyboardInterrupt:
            pool.shutdown(wait=False, cancel_futures=True)
            raise
    return readings


def read_one(hit: Hit, plan: QueryPlan, job: Job, prompts: PromptSet) -> tuple[Reading, tuple[int, int] | None]:
    """One reader call on one chunk: the reading, and the (prompt, completion) tokens
    it used (None when the call failed)."""
    try:
        verdict, prompt_tokens, completion_tokens = read_chunk(
            plan.information,
            hit.chunk.text,
            job.llm,
            prompts,
            job.corpus.analyzer,
            job.read.reader_tokens,
            related=[*plan.keywords, *plan.expansions],
        )
    except BackendError as e:
        return Reading(hit.chunk, hit.score, failed=str(e)), None
    return Reading(hit.chunk, hit.score, verdict), (prompt_tokens, completion_tokens)
