"""`longdoc bench run`: answer every item with every system, score, cache.

A system is a longdoc mode from `api.MODES`, optionally with a Level-2 read
strategy ("read:all"), or "full" (the full-context baseline), or a Qwen-Agent
agent ("qwen-agent:assistant", "qwen-agent:parallel"; see qwen_agent_runner).
Each (system, item) result is written to `raw/<system>/<item id>.json` as soon
as it exists, so an interrupted run resumes where it stopped.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field, replace
from functools import cache
from itertools import groupby
from pathlib import Path
from typing import Protocol

from .. import __version__, api
from ..config import Settings
from ..errors import ConfigError, LongdocError
from ..llm.base import LLM, GenerationOptions, Message
from ..progress import Tracker
from ..tokens import TokenCounter
from .generate import Item, load_items
from .score import score

FULL = "full"
QWEN_AGENT = "qwen-agent"
RAW_DIR = "raw"


@dataclass
class Outcome:
    """What a system did for one question."""

    prediction: str
    llm_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    chunks_read: int | None = None  # None where the system does not say
    chunks_total: int | None = None
    timings: dict[str, float] = field(default_factory=dict)
    error: str | None = None
    # Which level answered and why: without them a failure's step cannot be read from results.
    mode: str = ""
    notes: list[str] = field(default_factory=list)
    # The text the model was shown, where a system shows it one (the plain
    # model's cut of the document): `longdoc synth` checks it holds the answer.
    context: str = ""


@dataclass
class Record:
    """One scored (system, item) result: a line of the results, a cache file."""

    system: str
    item: str
    task: str
    lang: str
    length: int
    depth: int
    model: str
    prediction: str
    needlebench: float
    lveval: float
    recall: float
    decoy_hit: bool
    llm_calls: int
    prompt_tokens: int
    completion_tokens: int
    chunks_read: int | None
    chunks_total: int | None
    wall_s: float
    timings: dict[str, float] = field(default_factory=dict)
    error: str | None = None
    version: str = ""  # longdoc's version (and git commit) that produced the record
    mode: str = ""  # the level that answered (auto names the one it chose)
    notes: list[str] = field(default_factory=list)


class Answerer(Protocol):
    def __call__(self, item: Item, doc: Path) -> Outcome: ...


def check_system(spec: str) -> None:
    mode, _, variant = spec.partition(":")
    if spec == FULL:
        return
    if mode == QWEN_AGENT:
        if variant not in ("assistant", "parallel"):
            raise ConfigError(f"unknown system '{spec}': use qwen-agent:assistant or qwen-agent:parallel")
        return
    if mode not in api.MODES:
        raise ConfigError(
            f"unknown system '{spec}' (choose from {', '.join((*api.MODES, FULL))}, optionally mode:ranked|all, or qwen-agent:...)"
        )
    if variant not in ("", "ranked", "all"):
        raise ConfigError(f"unknown read strategy in '{spec}' (ranked or all)")


def longdoc_answerer(mode_spec: str, settings: Settings, llm: LLM) -> Answerer:
    mode, _, strategy = mode_spec.partition(":")
    if strategy:
        settings = replace(settings, read_strategy=strategy)

    def answer(item: Item, doc: Path) -> Outcome:
        tracker = Tracker()
        try:
            a = api.ask([doc], item.question, settings, mode=mode, llm=llm, tracker=tracker)
        except LongdocError as e:
            return Outcome("", timings=dict(tracker.timings), error=str(e))
        u = a.usage
        return Outcome(
            a.answer,
            u.llm_calls,
            u.prompt_tokens,
            u.completion_tokens,
            u.chunks_read,
            u.chunks_total,
            dict(a.timings),
            a.backend_failure,
            a.mode,
            list(a.notes),
        )

    return answer


# The baseline's own prompt: a plain long-context model gets the text and the question.
_FULL_PROMPT = {
    "en": "Read the document and answer the question briefly.\n\nDocument:\n{doc}\n\nQuestion: {q}\nAnswer:",
    "zh": "阅读下面的文档，简要回答问题。\n\n文档：\n{doc}\n\n问题：{q}\n回答：",
}


def fit_middle_out(text: str, budget: int, counter: TokenCounter) -> str:
    """`text` cut to `budget` tokens by dropping its middle, the usual way
    long-context benchmarks truncate: a model sees the start and the end."""
    if counter.count(text) <= budget:
        return text
    marker = "\n...\n"
    budget -= counter.count(marker)
    lo, hi = 0, len(text) // 2
    while lo < hi:  # the largest half-width whose head + tail fits
        mid = (lo + hi + 1) // 2
        if counter.count(text[:mid]) + counter.count(text[-mid:]) <= budget:
            lo = mid
        else:
            hi = mid - 1
    return text[:lo] + marker + text[len(text) - lo :]


def full_context_answerer(settings: Settings, llm: LLM, window: int | None = None) -> Answerer:
    """The plain model over the document cut middle-out to what fits its context,
    or to `window` tokens when smaller (`longdoc synth` asks from the two ends only)."""
    counter = llm.token_counter()

    def answer(item: Item, doc: Path) -> Outcome:
        template = _FULL_PROMPT[item.lang]
        overhead = counter.count(template.format(doc="", q=item.question)) + 32  # chat-template tokens
        budget = llm.context_window - settings.answer_tokens - overhead
        if window is not None:
            budget = min(budget, window)
        t0 = time.perf_counter()
        text = fit_middle_out(doc.read_text(encoding="utf-8"), budget, counter)
        t1 = time.perf_counter()
        prompt = template.format(doc=text, q=item.question)
        try:
            c = llm.complete([Message("user", prompt)], GenerationOptions(max_tokens=settings.answer_tokens))
        except LongdocError as e:
            return Outcome("", timings={"truncate": t1 - t0}, error=str(e))
        return Outcome(
            c.text,
            1,
            c.prompt_tokens,
            c.completion_tokens,
            timings={"truncate": t1 - t0, "generate": time.perf_counter() - t1},
            context=text,
        )

    return answer


def cache_path(out: Path, system: str, item_id: str) -> Path:
    return out / RAW_DIR / system.replace(":", "-") / f"{item_id}.json"


def load_records(out: Path) -> list[Record]:
    records = []
    for path in sorted((out / RAW_DIR).glob("*/*.json")):
        records.append(Record(**json.loads(path.read_text(encoding="utf-8"))))
    return records


def _save(path: Path, record: Record) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    tmp.write_text(json.dumps(asdict(record), ensure_ascii=False, indent=1), encoding="utf-8")
    os.replace(tmp, path)  # atomic: an interrupt never leaves half a record to resume from


def evaluate(item: Item, system: str, model: str, outcome: Outcome, wall: float) -> Record:
    s = score(outcome.prediction, item.answer, item.keywords, item.lang, item.decoy_values, item.refusal)
    return Record(
        system=system,
        item=item.id,
        task=item.task,
        lang=item.lang,
        length=item.length,
        depth=item.depth,
        model=model,
        prediction=outcome.prediction,
        needlebench=s.needlebench,
        lveval=s.lveval,
        recall=s.recall,
        decoy_hit=s.decoy_hit,
        llm_calls=outcome.llm_calls,
        prompt_tokens=outcome.prompt_tokens,
        completion_tokens=outcome.completion_tokens,
        chunks_read=outcome.chunks_read,
        chunks_total=outcome.chunks_total,
        wall_s=round(wall, 3),
        timings={k: round(v, 4) for k, v in outcome.timings.items()},
        error=outcome.error,
        version=code_version(),
        mode=outcome.mode,
        notes=list(outcome.notes),
    )


@cache
def code_version() -> str:
    """The package version, plus the git commit when run from a checkout ("0.1.0+g1a2b3c4",
    "+dirty" with uncommitted changes), so results can be tied to the code behind them."""
    here = Path(__file__).resolve().parent
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5
        )
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=here,
            capture_output=True,
            text=True,
            timeout=5,
        )
    except (OSError, subprocess.SubprocessError):
        return __version__
    if sha.returncode != 0:
        return __version__
    return f"{__version__}+g{sha.stdout.strip()}" + (".dirty" if dirty.stdout.strip() else "")


def rescore(out: Path, items_dir: Path) -> int:
    """Score the cached predictions again with the current scorers (after a
    scorer fix, without asking any model again). Returns the records rewritten."""
    items = {i.id: i for i in load_items(items_dir)}
    n = 0
    for path in sorted((out / RAW_DIR).glob("*/*.json")):
        record = Record(**json.loads(path.read_text(encoding="utf-8")))
        item = items.get(record.item)
        if item is None:
            continue
        s = score(record.prediction, item.answer, item.keywords, item.lang, item.decoy_values, item.refusal)
        _save(path, replace(record, needlebench=s.needlebench, lveval=s.lveval, recall=s.recall, decoy_hit=s.decoy_hit))
        n += 1
    return n


Progress = Callable[[str, Item], None]  # called before each item is answered


def pending(items: list[Item], systems: list[str], out: Path) -> list[tuple[str, Item]]:
    """What has no result yet. A cached error counts as none: it is retried."""
    return [(s, i) for s in systems for i in items if not _done(cache_path(out, s, i.id))]


def _done(path: Path) -> bool:
    return path.is_file() and json.loads(path.read_text(encoding="utf-8")).get("error") is None


def run(
    items_dir: Path,
    systems: list[str],
    out: Path,
    settings: Settings,
    *,
    llm: LLM | None = None,
    make_answerer: Callable[[str], Answerer] | None = None,
    progress: Progress | None = None,
) -> list[Record]:
    """Answer what is not cached yet; return the new records. `llm` overrides
    the backend from `settings`; `make_answerer` builds the Qwen-Agent systems
    (it may start a server, so only when one of them has work)."""
    for s in systems:
        check_system(s)
    items = load_items(items_dir)
    new: list[Record] = []
    # One system at a time, so a Qwen-Agent server is stopped before the next starts.
    for system, group in groupby(pending(items, systems, out), key=lambda t: t[0]):
        with ExitStack() as stack:
            if system.startswith(QWEN_AGENT):
                if make_answerer is None:
                    raise ConfigError(f"{system} needs the Qwen-Agent runner (longdoc bench run does this)")
                answer = stack.enter_context(_managed(make_answerer(system)))
                model_name = f"{QWEN_AGENT}/{settings.model}"
            else:
                if llm is None:
                    llm = api.llm_from_settings(settings)
                answer = (
                    full_context_answerer(settings, llm) if system == FULL else longdoc_answerer(system, settings, llm)
                )
                model_name = llm.name
            for _, item in group:
                if progress:
                    progress(system, item)
                t0 = time.perf_counter()
                outcome = answer(item, items_dir / item.doc)
                record = evaluate(item, system, model_name, outcome, time.perf_counter() - t0)
                _save(cache_path(out, system, item.id), record)
                new.append(record)
    return new


class _managed:
    """Enter an answerer that is a context manager (a server to stop), or pass a plain one through."""

    def __init__(self, answerer: Answerer) -> None:
        self.answerer = answerer

    def __enter__(self) -> Answerer:
        enter = getattr(self.answerer, "__enter__", None)
        return enter() if enter else self.answerer

    def __exit__(self, *exc: object) -> None:
        leave = getattr(self.answerer, "__exit__", None)
        if leave:
            leave(*exc)


def iter_systems(spec: str) -> Iterator[str]:
    for s in spec.split(","):
        if s.strip():
            yield s.strip()
