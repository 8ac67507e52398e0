"""The modes `longdoc ask --mode` offers: one table that the CLI's help, `api.ask`,
the server's model list and the web page's mode picker all read.

The table names each level's answer function and imports it on the first
question: `--help` and `longdoc index` read the table, and the levels bring
retrieval, BM25 and numpy with them."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    from ..records import Answer
    from .context import Job

AnswerFn = Callable[[str, "Job"], "Answer"]


@dataclass(frozen=True)
class Level:
    """An answer function by where it lives: `module` (in this package) and its `function`."""

    module: str
    function: str

    def __call__(self, question: str, job: Job) -> Answer:
        found = getattr(importlib.import_module(f".{self.module}", __package__), self.function)
        return cast("AnswerFn", found)(question, job)


@dataclass(frozen=True)
class Mode:
    name: str
    answer: AnswerFn
    description: str  # one line, for `--help` and the server's model list
    labels: Mapping[str, str]  # the web page's mode picker, by page language


MODES: dict[str, Mode] = {
    m.name: m
    for m in (
        Mode(
            "auto",
            Level("auto", "ask_auto"),
            "the cheapest level likely to answer: Level 1, then Level 2 when its answer fails a check; "
            "Level 3 for questions that chain facts",
            {"en": "auto: picks the level that answers", "zh": "auto：自动选择合适的层级"},
        ),
        Mode(
            "rag",
            Level("rag", "ask_rag"),
            "Level 1: keyword retrieval (BM25), then one answer from the best passages",
            {"en": "rag: keyword search (fast)", "zh": "rag：关键词检索（快）"},
        ),
        Mode(
            "read",
            Level("read", "ask_read"),
            "Level 2: the model answers from the most promising chunks one by one; answers the chunk backs are kept",
            {"en": "read: the model reads passages", "zh": "read：模型逐段阅读"},
        ),
        Mode(
            "agent",
            Level("agent", "ask_agent"),
            "Level 3: a chain of simple sub-questions for questions that chain several facts",
            {"en": "agent: step by step", "zh": "agent：逐步推理"},
        ),
    )
}
DEFAULT_MODE = "auto"
