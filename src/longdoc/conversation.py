"""Turn a chat into the one question `api.ask` answers.

A follow-up ("when did she light it first?") means nothing on its own, so the
latest turns before it are folded into the question, newest kept first. This
costs no model call (a rewrite by a 0.5B model would cost seconds and can
drop the subject), and the planner then draws keywords from the earlier turns
too, which is what a follow-up needs from retrieval. System messages are not
used: clients fill them with generic persona text that would only add noise
to the search.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .citations import MARKER
from .prompts import language_of

HISTORY_CHARS = 1200  # earlier turns kept, newest first
TURN_CHARS = 400  # of each earlier turn
# The [n] markers of earlier answers point at passages of that answer, not this one.
_MARKERS = re.compile(r"\s*" + MARKER.pattern)  # the answer's [n] citation markers

_FOLD = {
    "en": ("Earlier in this conversation:", "User: ", "Assistant: ", "Follow-up question (answer this one): "),
    "zh": ("此前的对话：", "用户：", "助手：", "后续问题（请回答这个问题）："),
}
_FOLD["other"] = _FOLD["en"]


@dataclass(frozen=True)
class Turn:
    role: str  # "user" | "assistant"
    text: str


def fold(history: list[Turn], question: str) -> str:
    """The question, preceded by as much of `history` as fits."""
    kept: list[str] = []
    room = HISTORY_CHARS
    header, user, assistant, follow_up = _FOLD[language_of(question)]
    for turn in reversed(history):
        text = _shorten(_MARKERS.sub("", turn.text))
        if not text:
            continue
        line = (user if turn.role == "user" else assistant) + text
        if len(line) > room:
            break
        kept.append(line)
        room -= len(line)
    if not kept:
        return question
    return "\n".join([header, *reversed(kept), "", follow_up + question])


def _shorten(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= TURN_CHARS else text[: TURN_CHARS - 1] + "…"
