"""What `longdoc synth` stores: one record per item, cached as it is finished."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

SINGLE = "single"  # one chunk answers
MULTI = "multi"  # two chunks that share a name, chained
UNANSWERABLE = "unanswerable"  # about a name the document never uses
KINDS = (SINGLE, MULTI, UNANSWERABLE)


@dataclass(frozen=True)
class View:
    """The document items are asked over: a whole file, or a stretch of one cut to a length."""

    key: str  # names the items: "<source hash prefix>-<length label>"
    path: str  # the file indexed and given as context
    source: str  # the file it came from
    length: int | None  # the requested tokens; None for the whole file


@dataclass(frozen=True)
class Seed:
    """What one item is written from: its kind and the chunk(s) it starts at."""

    item: str
    kind: str
    chunks: tuple[int, ...]  # indexes into the view's chunks, in reading order
    entity: str = ""  # multi: the name the two chunks share ("" when none was found)


@dataclass(frozen=True)
class Draft:
    """A question and its chunk-local answer, as the model wrote them."""

    question: str
    answer: str  # for unanswerable items the not-found reply of the question's language
    entity: str = ""  # multi: the shared name; unanswerable: the invented one


@dataclass
class SynthRecord:
    """One item, kept or dropped, with everything needed to audit it."""

    id: str
    kind: str
    view: str  # path of the document the question is asked over
    source: str
    lang: str
    depth: float  # where the (first) source chunk starts, 0..1 of the document
    sources: list[str]  # chunk ids the question was written from
    source_spans: list[list[int]] = field(default_factory=list)  # [start, end) of each source chunk in `view`'s text
    question: str = ""
    reference: str = ""  # the chunk-local answer
    entity: str = ""
    agent_answer: str = ""
    cited: list[str] = field(default_factory=list)  # chunk ids the agent's answer cites
    agreement: float = 0.0  # 0..1: how well the agent's answer matches the reference
    ends_answer: str = ""  # the plain model's answer from the document's two ends (DPO `rejected`)
    kept: bool = False
    reason: str | None = None  # why it was dropped (filters.py names them)
    model: str = ""
    mode: str = ""
    drafts: int = 0  # drafting calls made (a failed draft is retried once)
    llm_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    wall_s: float = 0.0
    error: str | None = None  # a backend failure: the item is tried again on the next run
    planted: bool = False  # a probe of the planted check (--plant): never written to the training files
    planted_from: str = ""  # the draft's own answer, replaced in `reference` by a wrong one ("" if not altered)
    planted_from_agreement: float | None = None  # the agent's answer against `planted_from`: was the agent right?
    version: str = ""
    drafted_as: str = ""  # "multi" for a multi-hop draft the agent answered from one passage: kept as single

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SynthRecord:
        return cls(**d)
