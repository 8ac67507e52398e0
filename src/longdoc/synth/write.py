"""Question writing: the model drafts a question and its answer from the picked chunk(s)."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass

from ..llm.base import LLM, GenerationOptions, Message
from ..prompts import PromptSet, prompts_for
from ..records import Chunk
from .records import MULTI, SINGLE, UNANSWERABLE, Draft, Seed

_DRAFT_TOKENS = 160  # a question and a short answer; small models ramble past a cap they are not given
_JSON_OBJECT = re.compile(r"\{.*?\}", re.DOTALL)


@dataclass
class Drafted:
    """A draft (None when the reply was unusable), and what writing it cost."""

    draft: Draft | None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    reply: str = ""


def messages_for(seed: Seed, chunks: Sequence[Chunk], prompts: PromptSet) -> list[Message]:
    """The prompt that drafts `seed`'s question, in the language of its chunk."""
    picked = [chunks[i] for i in seed.chunks]
    if seed.kind == MULTI:
        system = prompts.synth_multi_system
        user = prompts.synth_multi_user.format(first=picked[0].text, second=picked[-1].text, entity=seed.entity)
    elif seed.kind == UNANSWERABLE:
        system = prompts.synth_unanswerable_system
        user = prompts.synth_unanswerable_user.format(passage=picked[0].text, entity=seed.entity)
    else:
        system, user = prompts.synth_single_system, prompts.synth_single_user.format(passage=picked[0].text)
    return [Message("system", system), Message("user", user)]


def draft_item(seed: Seed, chunks: Sequence[Chunk], llm: LLM) -> Drafted:
    """Ask the model for the question; parse its JSON in code."""
    prompts = prompts_for(chunks[seed.chunks[0]].text)
    c = llm.complete(messages_for(seed, chunks, prompts), GenerationOptions(max_tokens=_DRAFT_TOKENS))
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
