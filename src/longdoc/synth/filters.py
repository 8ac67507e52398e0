"""The automatic filter: each rule is a function that returns why an item is
dropped, or None to let it pass. `run.py` applies them cheapest first, so an
item that will be dropped costs as few model calls as possible.

Every check is code over text already in memory: the model's word is never taken
for whether its own draft or answer is right.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ..bench.score import lveval, refused
from ..citations import MARKER, is_not_found
from ..index.store import Corpus
from ..index.terms import EN_STOPWORDS
from ..prompts import prompts_for
from ..records import Chunk
from ..sentences import sentences
from ..verify.names import answer_names, bare, names_found, proper_names
from ..widths import fold_width
from .records import MULTI, SINGLE, UNANSWERABLE, Draft

_HAN = re.compile(r"[\u4e00-\u9fff]")
_HAN_RUN = re.compile(r"[\u4e00-\u9fff]{2,}")
# English words any question may hold: they show neither a topic nor a copy.
_ASKING_WORDS = frozenset(
    "what which when where whom whose does have that this with from who how did the and was were for".split()
)
_POINTS_AT_PASSAGE = re.compile(
    r"\b(?:this|the|that) (?:passage|text|excerpt|poem|speech)\b|\bthe speaker\b|(?:这|该|本|上述)段|段落|本文|文中",
    re.I,
)
# Whom a question's "you" or "I" means, or its "he" or "they" when it names no
# one, only the passage's reader knows: "谁是你的妻子？" (a line of dialogue),
# "他们在全区农村开展了什么活动？" (a news item's "they"). A news page's 我国 is China.
_SPEAKER = re.compile(r"\b(?:you|your|yours|I|me|my|we|us|our)\b|[你您]|我(?!国)", re.I)
_SOMEONE = re.compile(r"\b(?:he|she|they|him|her|them|his|their)\b|(?:^|[，,])[他她它]们?", re.I)
_EXAMPLE_QUESTION = re.compile(r'"question": "([^"]+)"')
# The share of a question's terms that, found in a worked example, make it a copy.
_COPIED = 0.6
# The share of an answer's terms that, found in its question, make it a restatement.
_RESTATED = 0.8
_ZH_ASKS = re.compile(r"谁|什么|哪|几[个年次位天岁名]|多少|[为如]何|何[时地人处]|怎|是否|吗$|呢$")

# Why an item was dropped: the manifest counts them and each record names one.
DRAFT_UNPARSED = "draft_unparsed"  # the model's reply held no usable question
NOT_A_QUESTION = "not_a_question"  # the "question" is a statement (a source sentence copied)
VAGUE_QUESTION = "vague_question"  # names too little to mean one place in a long document ("Who is the king?")
NO_SHARED_NAME = "no_shared_name"  # multi: no other chunk shares a rare name with the picked one
ANSWER_NOT_IN_SOURCE = "answer_not_in_source"  # the chunk-local answer is not what the chunk says
QUESTION_GIVES_ANSWER = "question_gives_answer"
DUPLICATE_QUESTION = "duplicate_question"  # a kept item already asks it (small models repeat themselves)
ENTITY_NOT_IN_QUESTION = "entity_not_in_question"  # unanswerable: the invented name is not asked about
OFF_PASSAGE = "off_passage"  # unanswerable: no words of its passage, or the prompt's example copied
ENTITY_IN_DOCUMENT = "entity_in_document"  # unanswerable: the index holds the "invented" name
SOURCE_IN_ENDS = "source_in_ends"  # every source chunk lies in the document's first or last tokens
AGENT_DISAGREES = "agent_disagrees"  # the agent's answer over the whole document is another one
AGENT_ANSWERED_UNANSWERABLE = "agent_answered_unanswerable"
SOURCE_NOT_CITED = "source_not_cited"
ANSWERABLE_FROM_ENDS = "answerable_from_ends"  # the plain model answers from the two ends alone
REASONS = (
    DRAFT_UNPARSED,
    NOT_A_QUESTION,
    VAGUE_QUESTION,
    NO_SHARED_NAME,
    ANSWER_NOT_IN_SOURCE,
    QUESTION_GIVES_ANSWER,
    DUPLICATE_QUESTION,
    ENTITY_NOT_IN_QUESTION,
    OFF_PASSAGE,
    ENTITY_IN_DOCUMENT,
    SOURCE_IN_ENDS,
    AGENT_DISAGREES,
    AGENT_ANSWERED_UNANSWERABLE,
    SOURCE_NOT_CITED,
    ANSWERABLE_FROM_ENDS,
)


def check_draft(kind: str, draft: Draft | None, sources: Sequence[Chunk]) -> str | None:
    """The draft is usable: parsed, its answer copied from its chunks, and not given away by the question."""
    if draft is None:
        return DRAFT_UNPARSED
    if not is_question(draft.question):
        return NOT_A_QUESTION
    if kind != UNANSWERABLE and is_vague(draft.question):
        return VAGUE_QUESTION
    text = "\n".join(c.text for c in sources)
    if kind == UNANSWERABLE:
        if bare(draft.entity) not in bare(draft.question):
            return ENTITY_NOT_IN_QUESTION
        asked = draft.question.replace(draft.entity, " ")
        return None if on_passage(asked, text) and not copies_example(asked) else OFF_PASSAGE
    if not holds_answer(text, draft.answer):
        return ANSWER_NOT_IN_SOURCE
    if bare(draft.answer) in bare(draft.question) or restates(draft.answer, draft.question):
        return QUESTION_GIVES_ANSWER
    return None


def restates(answer: str, question: str) -> bool:
    """Most of the answer's terms (English words, Chinese character pairs) are
    the question's: the answer says the question back. The 1.5B answered
    "恩佐为什么说南非同中国建交是…自然结果？" with "恩佐说，南非同中国建交是…自然结果。",
    and "重庆有哪些关怀孤寡老人的措施？" with the headline "重庆：关怀孤寡老人"."""
    said = _answer_terms(answer)
    return len(said) >= 2 and len(said & _answer_terms(question)) >= _RESTATED * len(said)


def _answer_terms(text: str) -> set[str]:
    # Unlike `_terms`, numbers count: "5.5枚金牌" for "…获得了多少枚金牌？" is no restatement.
    folded = fold_width(text).lower()
    return {w for w in re.findall(r"[a-z0-9]+", folded) if w not in EN_STOPWORDS} | _han_pairs(folded)


def holds_answer(text: str, answer: str) -> bool:
    """The text holds the answer: all its names, or, for an answer without names
    ("white", "in the spring"), the answer word for word."""
    if answer_names(answer) and names_found(answer, text) == 1.0:
        return True
    return bare(answer) in bare(text)


def is_vague(question: str) -> bool:
    """The question names too little to mean one place in a long document: less
    than two English content words besides its question words, three Chinese
    character pairs counting as two ("Who is the king?", "谁是国王？"; "梁惠珍是谁？"
    passes), or it points at "the passage", which the reader of the whole document
    never sees, or at a person only the passage knows (`_SPEAKER`, `_SOMEONE`
    where the question names no one). From verse the 1.5B wrote such questions,
    and the agent's answer to them was a guess."""
    if _POINTS_AT_PASSAGE.search(question) or _SPEAKER.search(question):
        return True
    if _SOMEONE.search(question) and not proper_names(question):
        return True
    words = {w.lower() for w in re.findall(r"[A-Za-z]{3,}", question)} - _ASKING_WORDS - EN_STOPWORDS
    return len(words) + len(_pairs(question)) * 2 / 3 < 2


def on_passage(question: str, text: str) -> bool:
    """The question uses the passage's words: two of its Chinese character pairs,
    or one English word of four letters or more that is not a question's own. A
    question that sounds like the document is what makes a refusal worth learning;
    one that does not is most often the prompt's example copied."""
    if sum(p in text for p in _pairs(question)) >= 2:
        return True
    words = {w.lower() for w in re.findall(r"[A-Za-z]{4,}", question)} - _ASKING_WORDS
    lowered = text.lower()
    return any(re.search(rf"\b{w}", lowered) for w in words)


def copies_example(question: str) -> bool:
    """Most of the question's own terms (its invented name left out) are those of
    a worked example in the unanswerable prompt: the 1.5B wrote "What did Zairk
    Gileis send to Dunmarsh while snow closed the pass?" from a passage of
    Macbeth, and a few of its words were in the passage too."""
    own = _terms(question)
    examples = _EXAMPLE_QUESTION.findall(prompts_for(question).synth_unanswerable_user)
    return bool(own) and any(len(own & _terms(e)) >= _COPIED * len(own) for e in examples)


def _terms(text: str) -> set[str]:
    return ({w.lower() for w in re.findall(r"[A-Za-z]{3,}", text)} - _ASKING_WORDS) | _pairs(text)


def _pairs(text: str) -> set[str]:
    """The Chinese character pairs of `text`, question words left out."""
    return {p for p in _han_pairs(text) if not _ZH_ASKS.search(p)}


def _han_pairs(text: str) -> set[str]:
    return {run[i : i + 2] for run in _HAN_RUN.findall(text) for i in range(len(run) - 1)}


def is_question(text: str) -> bool:
    """English: ends with a question mark. Chinese: holds a question word, with or
    without the mark. The 1.5B sometimes hands back a source sentence with the
    invented name put in, ending in "。" ("迟砚琨在1996年实现了翻两番的战略目标。")
    or in "？" ("莫昶璟在那曲地区受雪灾群众的防寒防冻物资紧缺？")."""
    text = text.strip().rstrip("\"'”’」』 ")
    if _HAN.search(text):
        return bool(_ZH_ASKS.search(text.rstrip("?？ ")))
    return text.endswith(("?", "？"))


def check_duplicate(draft: Draft, kept_questions: set[str]) -> str | None:
    """A question a kept item already asks (compared as letters and digits) adds nothing."""
    return DUPLICATE_QUESTION if bare(draft.question) in kept_questions else None


def check_unmentioned(draft: Draft, corpus: Corpus) -> str | None:
    """Unanswerable items: the index must not hold the name the question asks about."""
    return ENTITY_IN_DOCUMENT if corpus.mentions(draft.entity) else None


def check_depth(picked: Sequence[int], chunks: Sequence[Chunk], ends_tokens: int) -> str | None:
    """Dropped when every source chunk lies within the first or last `ends_tokens`
    tokens: a model that reads only the two ends could answer it. One source in the
    middle is enough for a multi-hop item, since the ends alone cannot chain to it."""
    starts = [0]
    for c in chunks:
        starts.append(starts[-1] + c.tokens)
    total = starts[-1]

    def in_ends(i: int) -> bool:
        return starts[i + 1] <= ends_tokens or starts[i] >= total - ends_tokens

    return SOURCE_IN_ENDS if all(in_ends(i) for i in picked) else None


def says_not_found(text: str) -> bool:
    return is_not_found(text, prompts_for(text)) or refused(text)


def agreement(prediction: str, reference: str, lang: str) -> float:
    """0..1: 1 when the prediction holds the reference (letters and digits compared),
    else LV-Eval's score (keyword gate, then token F1) with the reference's names as
    the keywords; 0 for a reply that says the documents do not tell."""
    text = MARKER.sub(" ", prediction)
    if not text.strip() or says_not_found(text):
        return 0.0
    if bare(reference) and bare(reference) in bare(text):
        return 1.0
    return lveval(text, reference, answer_names(reference), "zh" if lang == "zh" else "en")


def check_agreement(kind: str, draft: Draft, answer: str, lang: str, threshold: float) -> tuple[str | None, float]:
    """The agent's answer over the whole document agrees with the chunk-local one;
    for unanswerable items, the agent says the documents do not tell."""
    if kind == UNANSWERABLE:
        ok = says_not_found(MARKER.sub(" ", answer))
        return (None, 1.0) if ok else (AGENT_ANSWERED_UNANSWERABLE, 0.0)
    score = agreement(answer, draft.answer, lang)
    return (None if score >= threshold else AGENT_DISAGREES), score


def check_citations(kind: str, draft: Draft, sources: Sequence[Chunk], cited: Sequence[Chunk]) -> str | None:
    """Each source chunk is cited: the chunk itself, or a neighbour overlapping it
    that holds the answer (or the shared name), since chunks overlap and the
    sentence may sit in both."""
    if kind == UNANSWERABLE:
        return None
    marks = [bare(draft.answer)] + ([bare(draft.entity)] if kind == MULTI and draft.entity else [])

    def covered(s: Chunk) -> bool:
        return any(
            c.id == s.id or (c.start < s.end and s.start < c.end and any(m and m in bare(c.text) for m in marks))
            for c in cited
        )

    return None if all(covered(s) for s in sources) else SOURCE_NOT_CITED


def one_passage_answer(kind: str, draft: Draft, sources: Sequence[Chunk], cited: Sequence[Chunk]) -> Chunk | None:
    """For a multi-hop item whose citations miss a source: the one source that
    holds the answer, when the agent's answer, which agreed, cites it (the
    question then needed no other passage), else None."""
    if kind != MULTI:
        return None
    holders = [s for s in sources if holds_answer(s.text, draft.answer)]
    if len(holders) != 1 or check_citations(SINGLE, draft, holders, cited) is not None:
        return None
    return holders[0] if asked_of_its_sentence(draft, holders[0].text) else None


def asked_of_its_sentence(draft: Draft, text: str) -> bool:
    """The question names only what the sentence giving its answer names. A
    draft written to join two passages, then answered from one, can mix them:
    "吉尔吉斯斯坦、哈萨克斯坦和乌兹别克斯坦三国的贸易额…" (the union named a sentence
    before) for "吉与俄、哈、乌三国的贸易额…"; "吕纯操在南极期间遭遇了什么不幸？" for a
    misfortune "归来后"."""
    return any(
        holds_answer(sentence, draft.answer) and names_found(draft.question, sentence) == 1.0
        for sentence in sentences(text)
    )


def check_ends(kind: str, draft: Draft, ends_answer: str, ends_text: str, lang: str, threshold: float) -> str | None:
    """The plain model, given only the document's first and last tokens
    (`ends_text`), must not reach the answer: otherwise the item does not need
    long context. A right guess the ends do not back is no answer from them: the
    1.5B said "两次" for "…召开几次常委会？" from ends that never say it."""
    if kind == UNANSWERABLE or not holds_answer(ends_text, draft.answer):
        return None
    return ANSWERABLE_FROM_ENDS if agreement(ends_answer, draft.answer, lang) >= threshold else None
