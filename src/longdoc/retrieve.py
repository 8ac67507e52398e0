"""Rank chunks for a query plan and pick the evidence that fits the reading budget."""

from __future__ import annotations

import math
import re
from collections.abc import Collection
from dataclasses import dataclass, replace

from .index.store import Corpus
from .index.terms import Analyzer, phrase, script_of
from .records import Chunk, Hit, QueryPlan
from .sentences import sentence_spans, sentences
from .tokens import TokenCounter
from .widths import fold_width

# Verbatim matches of a multi-word name ("Karvo Point") lift a chunk above
# look-alikes that only share its words ("Karvo Ridge ... a point").
PHRASE_BONUS = 0.35
# A passage is cut to its sentences that share at least this many terms with
# the question, at most FOCUS_SENTENCES of them (see focus_evidence).
FOCUS_MIN_SHARED = 2
FOCUS_SENTENCES = 3
# Hits scoring under this share of the best one match only words found almost
# everywhere (a Hindi or Russian question's function words): passages that
# only crowd the answer out. Chained facts scored 18-48% of the best on the
# bench items, so they stay.
MIN_SCORE_SHARE = 0.05
# A Level 2 reader reads a window of its chunk only when the window holds at
# least this share of the question's own terms, by weight (see reading_window).
WINDOW_COVERAGE = 0.5
# Level 1 answers without its planning call when the question's own words
# single out one passage (`clear_lead`): one sentence of the best passage holds
# at least CLEAR_COVERAGE of the question's content terms, and it scores at
# least CLEAR_RATIO times the best passage that does not overlap it.
# benchmarks/plan_skip.py chose both on generated bench items (docs/benchmarks.md,
# "Fewer calls: skipping the plan"): with them no item fired whose best passage
# lacked the answer (multi-hop, paraphrased, unanswerable, several needles).
CLEAR_RATIO = 1.5
CLEAR_COVERAGE = 1.0
# A question with fewer content terms than this says too little to be sure of.
CLEAR_MIN_TERMS = 2
# Words that ask rather than say what is sought; the answer stands in their
# place, so no passage holds them (or, in Chinese, the bigrams they glue).
_ASKING = re.compile(
    r"\bwhose\b|为什么|为何|什么|哪[个位里儿些一]?|谁|多少|怎么样|怎么|怎样|如何|是否|吗|呢|几[个位]?",
    re.IGNORECASE,
)
_CAPITALISED_RUN = re.compile(r"\b[A-Z][\w'-]*(?:\s+(?:of|the|de|van|von)?\s*[A-Z][\w'-]*)+")


@dataclass
class Evidence:
    chunk: Chunk
    score: float
    text: str  # the chunk's text, cut short only when the budget forced it
    tokens: int


def query_phrases(plan: QueryPlan) -> list[str]:
    found = {p for k in plan.keywords if (p := phrase(k))}
    for text in (plan.question, plan.information):
        text = fold_width(text)
        found.update(" ".join(m.group().lower().split()) for m in _CAPITALISED_RUN.finditer(text))
        found.update(q.lower() for q in re.findall(r"[\"“「『]([^\"”」』]{3,60})[\"”」』]", text))
    return sorted(found)


def rank(corpus: Corpus, plan: QueryPlan, k: int = 40) -> list[Hit]:
    hits = corpus.search(plan.search_texts(), k=k)
    if not hits:
        return []
    phrases = query_phrases(plan)
    if phrases:
        top = hits[0].score
        for h in hits:
            low = fold_width(h.chunk.text).lower()
            h.score += PHRASE_BONUS * top * sum(1 for p in phrases if p in low)
        hits.sort(key=lambda h: -h.score)
    return hits


@dataclass(frozen=True)
class Lead:
    """How far the question's own words put their best passage ahead."""

    hit: Hit  # the best passage by keywords alone
    ratio: float  # its score over the best passage that does not overlap it (inf: no other)
    coverage: float  # the largest share of the question's content terms one of its sentences holds


def content_terms(question: str, analyzer: Analyzer) -> set[str]:
    """The question's search terms, without its asking words (who/谁, which/哪个)."""
    return set(analyzer.terms(_ASKING.sub(" ", question)))


def lead(corpus: Corpus, question: str) -> Lead | None:
    """The best passage for the question's own words (the keyword retriever's
    scores, as Level 1 searches without a plan), and how clearly it leads.
    None when no passage shares a term with the question."""
    hits = corpus.keyword_search(question, k=8)
    if not hits:
        return None
    top = hits[0]
    # A neighbour sharing text with the best passage (chunk overlap) is the same place, not a rival.
    rival = next((h.score for h in hits[1:] if _overlap(h.chunk, top.chunk) == 0), 0.0)
    asked = content_terms(question, corpus.analyzer)
    held = max(shared_terms(asked, sentences(top.chunk.text), corpus.analyzer), default=0)
    ratio = top.score / rival if rival > 0 else math.inf
    return Lead(top, ratio, held / len(asked) if len(asked) >= CLEAR_MIN_TERMS else 0.0)


def clear_lead(
    corpus: Corpus, question: str, ratio: float = CLEAR_RATIO, coverage: float = CLEAR_COVERAGE
) -> Lead | None:
    """The lead when the question's words alone find the answer's passage, so
    a plan's keywords would add nothing: it holds the question's terms in one
    sentence and scores far above the rest (see CLEAR_RATIO), and the question
    is written in the documents' script. A question in another language keeps
    its plan, whose keywords in the documents' language are what finds them."""
    if corpus.scripts() != {script_of(question)}:
        return None
    found = lead(corpus, question)
    if found is None or found.ratio < ratio or found.coverage < coverage:
        return None
    return found


def select_evidence(hits: list[Hit], budget: int, counter: TokenCounter, label_tokens: int = 16) -> list[Evidence]:
    """Best hits first until the budget is spent; a chunk mostly repeated by an
    already chosen neighbour (chunk overlap) is skipped, and so is a hit far
    below the best (MIN_SCORE_SHARE)."""
    chosen: list[Evidence] = []
    used = 0
    floor = MIN_SCORE_SHARE * hits[0].score if hits and hits[0].score > 0 else 0.0
    for h in hits:
        if h.score < floor:
            break
        c = h.chunk
        if any(_overlap(c, e.chunk) > 0.5 for e in chosen):
            continue
        cost = c.tokens + label_tokens
        if used + cost <= budget:
            chosen.append(Evidence(c, h.score, c.text, c.tokens))
            used += cost
        elif not chosen:
            text = _truncate(c.text, budget - label_tokens, counter)
            n = counter.count(text)
            chosen.append(Evidence(c, h.score, text, n))
            used += n + label_tokens
        if budget - used < 64:
            break
    return chosen


def shared_terms(terms: set[str], texts: list[str], analyzer: Analyzer) -> list[int]:
    """How many of `terms` each text holds, in order."""
    return [len(terms & set(analyzer.terms(t))) for t in texts] if terms else [0] * len(texts)


@dataclass(frozen=True)
class WindowTerms:
    """What a reading window looks for (see `window_terms`)."""

    weights: dict[str, float]  # every asked term -> its weight
    question: frozenset[str]  # the question's own terms among them


def window_terms(plan: QueryPlan, corpus: Corpus) -> WindowTerms:
    """What each term of what is asked counts for in `reading_window`: its
    rarity among the chunks (a Chinese news page holds 管理 everywhere and 港务长
    once), twice over for the question's own terms, once for the plan's
    keywords and other words."""
    analyzer = corpus.analyzer
    asked = set(analyzer.terms(plan.information))
    other = set(analyzer.terms(" ".join([*plan.keywords, *plan.expansions]))) - asked
    rare = corpus.rarity(asked | other)
    return WindowTerms({t: (2.0 if t in asked else 1.0) * w for t, w in rare.items()}, frozenset(asked))


def reading_window(text: str, terms: WindowTerms, analyzer: Analyzer, counter: TokenCounter, size: int) -> str:
    """The run of `text`'s sentences, at most `size` tokens, whose terms weigh
    most (`window_terms`: what is asked, by rarity). A Level 2 reader reads
    this instead of the whole chunk: on a CPU its prompt costs ~85 tokens a
    second to read, and the chunk is most of the prompt (docs/benchmarks.md,
    "Level 2 reads a window").

    The whole text when `size` is 0, when the text is not much longer than the
    window, or when the best run holds less than WINDOW_COVERAGE of the
    question's own terms (by weight): a chunk that is not about what the
    question names may hold its fact in other words anywhere, and reading it
    whole is what found two paraphrased Chinese facts the window lost."""
    if size <= 0:
        return text
    spans = sentence_spans(text)
    if len(spans) < 2 or counter.count(text) <= size + size // 4:
        return text
    weights = terms.weights
    held = [set(analyzer.terms(text[a:b])) & weights.keys() for a, b in spans]
    tokens = [counter.count(text[a:b]) for a, b in spans]
    # Each asked term counts once in a run: many sentences that repeat a common
    # word do not outweigh the one that holds the rare ones. Chunks have tens of
    # sentences, so every run is tried.
    best, best_at, best_found = 0.0, (0, 0), set()
    for lo in range(len(spans)):
        found: set[str] = set()
        total = 0
        for hi in range(lo, len(spans)):
            total += tokens[hi]
            if total > size and hi > lo:
                break
            found |= held[hi]
            score = sum(weights[t] for t in found)
            if score > best:
                best, best_at, best_found = score, (lo, hi), set(found)
    asked = sum(weights.get(t, 0.0) for t in terms.question)
    if not asked or sum(weights[t] for t in best_found & terms.question) < WINDOW_COVERAGE * asked:
        return text
    # The best run's sentences from its first match to its last, then their
    # neighbours on both sides in turn, as far as the window goes.
    lo, hi = best_at
    lo = next(i for i in range(lo, hi + 1) if held[i])
    hi = next(i for i in range(hi, lo - 1, -1) if held[i])
    total = sum(tokens[lo : hi + 1])
    grew = True
    while grew:
        grew = False
        if hi + 1 < len(spans) and total + tokens[hi + 1] <= size:
            hi += 1
            total += tokens[hi]
            grew = True
        if lo > 0 and total + tokens[lo - 1] <= size:
            lo -= 1
            total += tokens[lo]
            grew = True
    return text[spans[lo][0] : spans[hi][1]].strip()


def focus_evidence(
    evidence: list[Evidence],
    question: str,
    analyzer: Analyzer,
    counter: TokenCounter,
    keep_unfocused: bool = True,
) -> list[Evidence]:
    """Each passage cut to its sentences that share terms with the question (in
    their order, joined by " … "). Small models overlook a one-line fact inside
    a page of dialogue: the 0.5B model answered "The documents do not say." from
    such a passage. With this, on the same bench items, its Level 1 recall went
    from 0.67 to 1.00 (smoke) and 0.60 to 0.70 (16k set) with 25-47% fewer prompt
    tokens (docs/benchmarks.md). A passage where no sentence shares enough is
    kept whole: its answer may be worded differently, unless `keep_unfocused`
    is off (the question's words single out another passage, which holds the
    answer on every item of benchmarks/plan_skip.py): then it is left out, as
    it would cost a whole chunk of prefill for nothing."""
    asked = set(analyzer.terms(question))
    focused: list[Evidence] = []
    for e in evidence:
        parts = sentences(e.text)
        shared = shared_terms(asked, parts, analyzer)
        best = sorted(range(len(parts)), key=lambda i: -shared[i])[:FOCUS_SENTENCES]
        # A sentence that shares most of the question's terms outranks ones that
        # share two common words with it (a Hindi question's के, की, करता).
        floor = max(FOCUS_MIN_SHARED, (shared[best[0]] + 1) // 2) if best else FOCUS_MIN_SHARED
        keep = sorted(i for i in best if shared[i] >= floor)
        if not keep and not keep_unfocused:
            continue
        if not keep or len(keep) == len(parts):
            focused.append(e)
            continue
        text = " … ".join(parts[i] for i in keep)
        focused.append(Evidence(e.chunk, e.score, text, counter.count(text)))
    return focused


def follow_up(
    corpus: Corpus,
    plan: QueryPlan,
    found: list[str],
    room: int,
    counter: TokenCounter,
    exclude: Collection[str] = (),
) -> list[Evidence]:
    """Passages that the question's keywords and the sentences `found` so far
    retrieve, within `room` tokens, each cut to its sentences that share the
    question's or those sentences' terms: the next link of a chain of facts
    ("Velk lies in the province of Sarn" after "Tam was born in Velk"), told
    where the question's own words do not reach. Chunks in `exclude` stay out."""
    if room <= 128:
        return []
    hits = rank(corpus, replace(plan, keywords=plan.keywords + found))
    more = select_evidence([h for h in hits if h.chunk.id not in exclude], room, counter)
    return focus_evidence(more, " ".join([plan.information, *found]), corpus.analyzer, counter)


def chain_order(evidence: list[Evidence], question: str, analyzer: Analyzer) -> list[Evidence]:
    """Facts in the order a chain runs: first the one that shares most with the
    question, then each time the one that shares most with what the last one
    added ("born in Velk", then "Velk lies in Sarn", then "Sarn is governed by
    ..."). Small models follow a chain given in order and lose it given out of
    order. Passages that join no link keep their place after the chain."""
    left = list(evidence)
    seen = set(analyzer.terms(question))
    frontier = set(seen)
    ordered: list[Evidence] = []
    while left:
        shared = [len(frontier & set(analyzer.terms(e.text))) for e in left]
        best = max(range(len(left)), key=lambda i: shared[i])
        if shared[best] == 0:
            break
        e = left.pop(best)
        terms = set(analyzer.terms(e.text))
        frontier = terms - seen or frontier
        seen |= terms
        ordered.append(e)
    return ordered + left


def _overlap(a: Chunk, b: Chunk) -> float:
    if a.doc != b.doc:
        return 0.0
    inter = min(a.end, b.end) - max(a.start, b.start)
    return max(0, inter) / max(1, min(a.end - a.start, b.end - b.start))


def _truncate(text: str, tokens: int, counter: TokenCounter) -> str:
    n = counter.count(text)
    if n <= tokens:
        return text
    cut = int(len(text) * tokens / n * 0.95)
    while cut > 0 and counter.count(text[:cut]) > tokens:
        cut = int(cut * 0.9)
    return text[:cut]
