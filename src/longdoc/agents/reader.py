"""One Level 2 reader call: the model answers the question from one chunk
alone, and code checks what it says.

The reply is trusted only as far as the chunk backs it: the answer's names
and numbers must be in the chunk, one of the chunk's sentences must hold
them (that sentence, not the model's wording, becomes the evidence), and an
answer that only repeats the question's words says nothing. Relevance is
graded from the log-probabilities where the backend gives them: 1 - P(the
reply starts with "none"), so chunks can be ranked even when a small model
never says none outright.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from ..index.terms import Analyzer
from ..llm.base import LLM, GenerationOptions, Message
from ..prompts import PromptSet
from ..verify.names import look_alike
from ..verify.places import link_place, place_for_person
from ..verify.support import repeats_question, support, wrong_kind

_NONE_WORDS = ("none", "无", "没有", "不相关", "no")
# Replies that say the passage does not answer, in words rather than "none".
_NOT_GIVEN = re.compile(
    r"(?:not (?:mentioned|stated|given|specified|provided)|does not (?:say|mention|state|answer|specify)|"
    r"doesn't (?:say|mention)|no (?:information|mention)|cannot be (?:determined|answered)|unknown|"
    r"未提及|没有提到|未提到|没有提及|无法确定|不知道|未说明|没有说明)",
    re.IGNORECASE,
)
_LOOK_ALIKE = "the sentence is about"
_LABEL = re.compile(r"^\s*(?:answer|答案|回答)\s*[:：]\s*", re.IGNORECASE)
_QUOTE_LABEL = re.compile(r"^\s*(?:sentence|quote|evidence|句子|原句|依据)\s*[:：]\s*", re.IGNORECASE)
_QUOTED = re.compile(r"[\"“「『]([^\"”」』]{8,400})[\"”」』]")


@dataclass(frozen=True)
class Verdict:
    """What one reader reply is worth once checked against its chunk."""

    relevance: float  # 0..1; from 0.5 the chunk counts as evidence
    answer: str | None  # the model's short answer, when the chunk backs it
    sentence: str | None  # the chunk's sentence that backs it
    why: str = ""  # why the reply was not taken, for notes and the replay report
    # The sentence shares a term with the question or its other words. Small
    # readers answer from any name at hand ("BEROWNE." in a cast line, "中国" in
    # a news item); a fact told in other words shares none, so an unrelated
    # answer is kept, but ranked last and never ends the reading early.
    related: bool = True
    # The sentence is about a look-alike of what the question names: its chunk
    # is kept out of the answer step too.
    look_alike: bool = False
    # A refused answer that names a smaller place than asked (the town for "which
    # province?"): not the answer, but a chain's first link, as (the kind of place
    # asked, the place named), with the chunk's sentence that gives it. Level 2
    # reads on from it.
    link: tuple[str, str] | None = None
    link_sentence: str | None = None


def reader_messages(question: str, passage: str, prompts: PromptSet) -> list[Message]:
    return [
        Message("system", prompts.reader_system),
        Message("user", prompts.reader_user.format(question=question, passage=passage.strip())),
    ]


def read_chunk(
    question: str,
    text: str,
    llm: LLM,
    prompts: PromptSet,
    analyzer: Analyzer,
    max_tokens: int,
    related: Sequence[str] = (),
) -> tuple[Verdict, int, int]:
    """Read one chunk; returns the verdict and the (prompt, completion) tokens.
    Raises BackendError when the backend gives up."""
    c = llm.complete(
        reader_messages(question, text, prompts),
        GenerationOptions(max_tokens=max_tokens, temperature=0.0, logprobs=5),
    )
    verdict = judge_reply(c.text, text, question, c.top_logprobs, analyzer, related)
    return verdict, c.prompt_tokens, c.completion_tokens


def judge_reply(
    reply: str,
    chunk_text: str,
    question: str,
    top_logprobs: list[dict[str, float]] | None,
    analyzer: Analyzer,
    related: Sequence[str] = (),
) -> Verdict:
    """`related`: other words the question's subject may go by (the plan's
    keywords, the other words for its phrases); a backing sentence must share
    a term with the question or with them."""
    answer, quote = parse_reply(reply)
    graded = 1.0 - none_probability(top_logprobs[0]) if top_logprobs else None
    if answer is None:
        return Verdict(min(graded, 0.49) if graded is not None else 0.0, None, None, "said none")
    backing = support(answer, chunk_text, question, analyzer, quote)
    link = link_place(question, answer, backing.sentence) if backing is not None else None
    why = ""
    if backing is None:
        why = "answer not in the chunk"
    elif repeats_question(answer, question, analyzer):
        why = "answer repeats the question"
    elif kind := wrong_kind(question, answer):
        why = f"the question asks for {kind}"
    elif place_for_person(question, answer, backing.sentence):
        why = "the question asks for a person (the answer names a place)"
    elif link:
        why = f"the question asks for a {link[0]}; {link[1]} is a smaller place"
    elif other := look_alike(question, backing.sentence):
        why = f"{_LOOK_ALIKE} {other}, a look-alike of what the question names"
    if why:
        # Probability mass on answering means little when what it wrote is not backed.
        low = min(graded, 0.49) if graded is not None else 0.0
        if backing is not None and link:
            return Verdict(low, None, None, why, link=link, link_sentence=backing.sentence)
        return Verdict(low, None, None, why, look_alike=why.startswith(_LOOK_ALIKE))
    assert backing is not None
    near = _shares_a_term(backing.sentence, [question, *related], analyzer)
    return Verdict(graded if graded is not None else 1.0, answer, backing.sentence, related=near)


def _shares_a_term(sentence: str, asked: list[str], analyzer: Analyzer) -> bool:
    own = set(analyzer.terms(sentence))
    return any(own & set(analyzer.terms(text)) for text in asked)


def parse_reply(reply: str) -> tuple[str | None, str]:
    """The answer (None for none) and the quoted sentence, if the reply has one."""
    lines = [ln.strip() for ln in reply.strip().splitlines() if ln.strip()]
    if not lines or is_none(lines[0]):
        return None, ""
    answer = ""
    quote = ""
    for ln in lines:
        if _QUOTE_LABEL.match(ln):
            quote = quote or _QUOTE_LABEL.sub("", ln).strip("\"“”'「」 ")
        elif not answer:
            answer = _LABEL.sub("", ln)
    if not quote:
        m = _QUOTED.search(reply)
        quote = m.group(1) if m else ""
    answer = answer.strip().strip("\"“”'「」*").strip()
    if not answer or is_none(answer) or (_NOT_GIVEN.search(answer) and len(answer) < 120):
        return None, quote
    return answer, quote


def is_none(text: str) -> bool:
    t = text.strip().strip("\"'`*.。:：").lower()
    if not t:
        return True
    first = re.split(r"[\s,.，。:：]", t, maxsplit=1)[0]
    return first in _NONE_WORDS or (t.startswith(("无", "没有")) and len(t) < 24)


def none_probability(first: dict[str, float]) -> float:
    p = 0.0
    for token, lp in first.items():
        t = token.strip().lower()
        if t and any(w.startswith(t) or t.startswith(w) for w in ("none", "无", "没有")):
            p += math.exp(lp)
    return min(1.0, p)
