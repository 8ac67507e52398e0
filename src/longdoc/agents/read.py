"""Level 2: let the model read chunks one by one, then answer from what it found.

Keyword overlap misses a passage that says the same thing in other words, so
the model itself reads chunks. Reading every chunk of a long document on a
CPU takes hours; the `ranked` strategy reads the best BM25 candidates first
(the keywords include related terms and both languages, fused with other
words for the question's phrases) and stops once enough chunks answered.

Each reader answers the question from its chunk alone (agents/readings.py,
agents/reader.py), and code keeps only answers the chunk backs, with the
chunk's own sentence. The answer step then sees those sentences, not whole
chunks; answers that disagree are settled first (agents/settle.py: a decoy
"Naithor Poina" loses to "Naithor Point").

A chain of facts ("in which province was Tam born?": Tam was born in the town
of Velk; Velk lies in the province of Sarn) is read on from its first link: a
reader, or the answer step, that gives the town where a province is asked has
found where to look next (agents/links.py).
"""

from __future__ import annotations

from ..index.retriever import fuse
from ..index.store import Corpus
from ..lexicon import Lexicon
from ..prompts import prompts_for
from ..records import Answer, Hit, QueryPlan, Usage
from ..retrieve import Evidence, follow_up, rank
from ..thesaurus import Thesaurus
from ..verify.names import answer_names, names_found, subject_found, subject_names
from .answer import ReadersAnswer, answer_from_evidence, unmentioned
from .context import Job
from .links import clause_link, first_link, follow_links, withheld_link
from .query import expand_query, make_plan
from .readings import SURE, Reading, answers_found, as_evidence, names_all, read_chunks, sentence_of
from .settle import settle

# The thesaurus's ranking counts half: its first pick is read after the first three of
# the keywords and of the model's words, which find most facts (a chain's next link is
# often the keywords' second pick). Searched in one list with the model's words, the
# rarer synonyms buried those: 12/14 against 14/14 on the 32k items (docs/benchmarks.md).
SYNONYMS_WEIGHT = 0.5
# The lexicon's ranking (lexicon.py) counts half too: at full weight its words, found for
# every word of the question, pushed a keyword's fact past the reading limit (1 of 14).
LEXICON_WEIGHT = 0.5
# A near-certain reader (from SURE) outweighs one this much less sure: the
# answer step may not take the lesser reader's answer over it.
_OUTWEIGH = 0.1


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
    named = any(names_all(r, plan) for r in found)
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
    sentence = sentence_of(found[0])
    on_subject = subject_found(question, sentence) == 1.0
    sure = found[0].relevance >= SURE and on_subject
    values = tuple(r.verdict.answer for r in found if r.verdict is not None and r.verdict.answer)
    best = found[0].relevance
    outweighed = tuple(
        r.verdict.answer
        for r in found[1:]
        if best >= SURE and r.relevance <= best - _OUTWEIGH and r.verdict is not None and r.verdict.answer
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
    if not subject_names(question):
        return None
    between = [n for n in answer_names(sentence) if names_found(n, answer) < 1.0 and names_found(n, question) < 1.0]
    for i, e in enumerate(passages):
        if subject_found(question, e.text) == 1.0 and any(names_found(n, e.text) == 1.0 for n in between):
            return i
    return None


def _short(r: Reading) -> str:
    return " ".join(((r.verdict.answer if r.verdict else None) or "").split())[:80]


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
        text = sentence_of(r)
        if any(e.text == text for e in evidence):
            continue  # repeated filler told by many chunks would outvote the one fact
        e = as_evidence(r.chunk, r.relevance, text, counter)
        if used + e.tokens > job.budget and evidence:
            break
        evidence.append(e)
        used += e.tokens
    # With answers in hand, the rest only needs room for the next link of a chain.
    room = (job.budget // 3 if evidence else job.budget) - used
    seen = {e.chunk.id for e in evidence} | set_aside
    return evidence + follow_up(job.corpus, plan, [e.text for e in evidence], room, counter, seen)


def other_words_rankings(
    corpus: Corpus, question: str, expansions: list[str], thesaurus: Thesaurus | None, lexicon: Lexicon | None
) -> tuple[list[list[Hit]], list[float]]:
    """The chunks ranked by each source of other words for the question that
    gives any (the model's `expansions`, WordNet's, the lexicon's), with the
    weight each counts for beside the keywords' ranking (1.0)."""
    synonyms = thesaurus.other_words(question) if thesaurus else []
    neighbours = lexicon.other_words(question, corpus.chunks_holding) if lexicon else []
    rankings, weights = [], []
    for words, weight in ((expansions, 1.0), (synonyms, SYNONYMS_WEIGHT), (neighbours, LEXICON_WEIGHT)):
        if words:
            rankings.append(corpus.search(" ".join(words), k=len(corpus.chunks)))
            weights.append(weight)
    return rankings, weights


def reading_order(job: Job, plan: QueryPlan) -> list[Hit]:
    """`all`: document order. `ranked`: the keyword ranking fused with the
    rankings by the question's other words (the model's, WordNet's, the lexicon's),
    then the unmatched rest."""
    chunks = job.corpus.chunks
    if job.read.strategy == "all":
        return [Hit(c, 0.0) for c in chunks]
    rankings, weights = other_words_rankings(job.corpus, plan.question, plan.expansions, job.thesaurus, job.lexicon)
    hits = fuse([rank(job.corpus, plan, k=len(chunks)), *rankings], weights=[1.0, *weights])
    seen = {h.chunk.id for h in hits}
    return hits + [Hit(c, 0.0) for c in chunks if c.id not in seen]
