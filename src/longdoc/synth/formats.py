"""The training files: ShareGPT, Alpaca, DPO pairs, and the LLaMA-Factory
`dataset_info.json` naming them, with the field names LLaMA-Factory's
data/README documents (`formatting`, `ranking`, `columns`, `tags`)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ..citations import MARKER
from ..prompts import PROMPTS
from ..verify.names import bare
from .records import SynthRecord

SHAREGPT = "sharegpt"
ALPACA = "alpaca"
FORMATS = (SHAREGPT, ALPACA)
DPO = "dpo"
FILES = {SHAREGPT: "sharegpt.jsonl", ALPACA: "alpaca.jsonl", DPO: "dpo.jsonl"}
DATASET_INFO = "dataset_info.json"
DATASET_PREFIX = "longdoc_synth_"


@dataclass(frozen=True)
class Example:
    """One kept item ready to write: the prompt parts and the verified answer."""

    system: str
    question: str
    context: str
    user: str  # the human turn: the document, then the question
    answer: str  # the agent's answer without its [n] markers
    rejected: str = ""  # the plain model's answer from the document's ends, for DPO


def clean_answer(text: str) -> str:
    """The agent's answer without citation markers: their numbers point at
    passages the agent was shown, which the trained model never sees."""
    return " ".join(MARKER.sub("", text).split())


def example(record: SynthRecord, context: str) -> Example:
    prompts = PROMPTS["zh" if record.lang == "zh" else "en"]
    user = prompts.train_user.format(context=context, question=record.question)
    return Example(
        prompts.train_system,
        record.question,
        context,
        user,
        clean_answer(record.agent_answer),
        record.ends_answer.strip(),
    )


def sharegpt(e: Example) -> dict[str, Any]:
    return {
        "conversations": [
            {"from": "system", "value": e.system},
            {"from": "human", "value": e.user},
            {"from": "gpt", "value": e.answer},
        ]
    }


def alpaca(e: Example) -> dict[str, Any]:
    # LLaMA-Factory joins instruction and input with a line break: the question, then the document.
    return {"instruction": e.question, "input": e.context, "output": e.answer, "system": e.system}


def dpo_pair(e: Example) -> dict[str, Any] | None:
    """Alpaca-style preference row, or None when the plain model said the same thing."""
    if not e.rejected or bare(clean_answer(e.rejected)) == bare(e.answer):
        return None
    return {
        "instruction": e.question,
        "input": e.context,
        "chosen": e.answer,
        "rejected": e.rejected,
        "system": e.system,
    }


def rows(fmt: str, examples: Iterable[Example]) -> list[dict[str, Any]]:
    if fmt == SHAREGPT:
        return [sharegpt(e) for e in examples]
    if fmt == ALPACA:
        return [alpaca(e) for e in examples]
    return [p for e in examples if (p := dpo_pair(e)) is not None]


def dataset_info(formats: Iterable[str]) -> dict[str, Any]:
    """LLaMA-Factory's description of each file written (its data/README's keys)."""
    info: dict[str, Any] = {}
    for fmt in formats:
        name = DATASET_PREFIX + fmt
        if fmt == SHAREGPT:
            info[name] = {
                "file_name": FILES[fmt],
                "formatting": "sharegpt",
                "columns": {"messages": "conversations"},
                "tags": {
                    "role_tag": "from",
                    "content_tag": "value",
                    "user_tag": "human",
                    "assistant_tag": "gpt",
                    "system_tag": "system",
                },
            }
        elif fmt == ALPACA:
            info[name] = {
                "file_name": FILES[fmt],
                "formatting": "alpaca",
                "columns": {"prompt": "instruction", "query": "input", "response": "output", "system": "system"},
            }
        elif fmt == DPO:
            info[name] = {
                "file_name": FILES[fmt],
                "formatting": "alpaca",
                "ranking": True,
                "columns": {
                    "prompt": "instruction",
                    "query": "input",
                    "chosen": "chosen",
                    "rejected": "rejected",
                    "system": "system",
                },
            }
    return info
