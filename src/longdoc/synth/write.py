"""Question writing: the model drafts a question and its answer from the picked chunk(s).

The model sees a window of each chunk, not all of it: a sentence that holds
something a question can ask for (a name, a number), with its neighbours. Given
a whole chunk, the 1.5B copied one of its sentences as the "question" or wrote
an answer the chunk does not hold (6 of 16 Chinese drafts, 5 Dec); a retry
(`attempt` 1, 2, ...) takes the next such sentence.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass

from ..bench.generate import item_seed
from ..llm.base import LLM, GenerationOptions, Message
from ..prompts import PromptSet, language_of, prompts_for
from ..records import Chunk
from ..sentences import sentence_spans
from ..verify.names import proper_names
from .records import MULTI, SINGLE, UNANSWERABLE, Draft, Seed

_DRAFT_TOKENS = 160  # a question and a short answer; small models ramble past a cap they are not given
_JSON_OBJECT = re.compile(r"\{.*?\}", re.DOTALL)
# About a paragraph around the focus sentence: enough to say what it is about.
_WINDOW_CHARS = {"en": 480, "zh": 200}
_FACT_CHARS = {"en": (40, 400), "zh": (12, 160)}  # a sentence shorter says too little, a longer one is a list
_FACT_MARK = re.compile(r"\d|《")  # a number (full-width too), a title


@dataclass
class Drafted:
    """A draft (None when the reply was unusable), and what writing it cost."""

    draft: Draft | None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    reply: str = ""


def focus(text: str, key: str, attempt: int = 0, near: str = "") -> str:
    """The window of `text` a draft is written from: a sentence that holds a
    fact (one naming `near` when given, else one with a name or a number),
    chosen by `key` and `attempt`, grown with its neighbours to about a
    paragraph. The whole text when no sentence qualifies."""
    spans = [(a, b) for a, b in sentence_spans(text) if text[a:b].strip()]
    lang = "zh" if language_of(text) == "zh" else "en"
    shortest, longest = _FACT_CHARS[lang]
    sized = [i for i, (a, b) in enumerate(spans) if shortest <= len(text[a:b].strip()) <= longest]
    if near:
        options = [i for i in sized if near.casefold() in text[spans[i][0] : spans[i][1]].casefold()]
    else:
        options = [i for i in sized if _holds_fact(text[spans[i][0] : spans[i][1]].strip())]
    if not options:
        return text
    random.Random(item_seed(attempt // len(options), key)).shuffle(options)
    first = last = options[attempt % len(options)]
    while spans[last][1] - spans[first][0] < _WINDOW_CHARS[lang] and (first > 0 or last < len(spans) - 1):
        if last < len(spans) - 1:
            last += 1
        if first > 0 and spans[last][1] - spans[first][0] < _WINDOW_CHARS[lang]:
            first -= 1
    return text[spans[first][0] : spans[last][1]].strip()


def _holds_fact(sentence: str) -> bool:
    """A number or title, or a name (a capitalised word where no sentence or
    verse line starts); a line in capitals is a speaker's name in a play."""
    return (bool(proper_names(sentence)) or bool(_FACT_MARK.search(sentence))) and not sentence.isupper()


def messages_for(seed: Seed, chunks: Sequence[Chunk], prompts: PromptSet, attempt: int = 0) -> list[Message]:
    """The prompt that drafts `seed`'s question, in the language of its chunk."""
    picked = [chunks[i] for i in seed.chunks]
    window = focus(picked[0].text, seed.item, attempt, near=seed.entity if seed.kind == MULTI else "")
    if seed.kind == MULTI:
        system = prompts.synth_multi_system
        second = focus(picked[-1].text, seed.item, attempt, near=seed.entity)
        user = prompts.synth_multi_user.format(first=window, second=second, entity=seed.entity)
    elif seed.kind == UNANSWERABLE:
        system = prompts.synth_unanswerable_system
        user = prompts.synth_unanswerable_user.format(passage=window, entity=seed.entity)
    else:
        system, user = prompts.synth_single_system, prompts.synth_single_user.format(passage=window)
    return [Message("system", system), Message("user", user)]


def draft_item(seed: Seed, chunks: Sequence[Chunk], llm: LLM, attempt: int = 0) -> Drafted:
    """Ask the model for the question; parse its JSON in code. `attempt` > 0
    drafts from another sentence of the chunk (a retry after a failed draft)."""
    prompts = prompts_for(chunks[seed.chunks[0]].text)
    c = llm.complete(messages_for(seed, chunks, prompts, attempt), GenerationOptions(max_tokens=_DRAFT_TOKENS))
    return Drafted(parse_draft(c.text, seed.kind, prompts, seed.entity), c.prompt_tokens, c.completion_tokens, c.text)


def parse_draft(reply: str, kind: str, prompts: PromptSet, entity: str = "") -> Draft | None:
    """The draft in a reply, or None. Models wrap JSON in prose or code fences:
    the first object that parses and has the fields wins."""
    for m in _JSON_OBJECT.finditer(reply):
        try:
            data = json.loads(m.group())
        except json.JSONDecodeError:
            continue
        if not isinstance(data, dict):
            continue
        question = str(data.get("question") or "").strip()
        if kind == UNANSWERABLE:
            if question:  # the name was invented in code; check_draft sees that the question uses it
                return Draft(question, prompts.not_found, entity)
        elif kind in (SINGLE, MULTI):
            answer = str(data.get("answer") or "").strip()
            if question and answer:
                return Draft(question, answer, entity)
    return None
