"""`longdoc bench speed`: how fast the embedded model runs under llama.cpp load
settings (variants), measured in one process with each model loaded once per
variant and kept warm for every figure.

Per model and variant: the cold load; prefill tokens/s at a few prompt sizes
(nothing reused from the KV cache); decode tokens/s; the sample question end
to end (`api.ask`, mode auto: seconds and time to the first answer token);
Level 2's seconds per chunk read and the share of the reader's prompt tokens
taken from the KV cache. Every variant after the first is shown as a speed-up
over the first (x1.25: a quarter faster, whichever way the figure counts).
"""

from __future__ import annotations

import gc
import re
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Protocol

from rich.table import Table

from .. import api
from ..config import Settings
from ..errors import ConfigError
from ..llm.base import LLM, Completion, GenerationOptions, Message, OnToken
from ..llm.vocab import LlamaSettings
from ..progress import Tracker
from ..prompts import EN, ZH
from ..records import Answer
from ..tokens import TokenCounter

GEN_PROMPT = 1000  # prompt tokens before the timed decode steps
_WARM_UP = 16  # tokens evaluated as part of the cold load (see measure)
_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")
_TRUE, _FALSE = ("true", "1", "yes", "on"), ("false", "0", "no", "off")
_READER_SYSTEMS = frozenset({EN.reader_system, ZH.reader_system})


@dataclass(frozen=True)
class Variant:
    name: str
    settings: LlamaSettings
    spec: str  # as given, for the report


def parse_variant(spec: str) -> Variant:
    """`NAME:key=val,key=val` (the keys are LlamaSettings' fields; `NAME:` alone
    is today's settings). ConfigError saying what is wrong otherwise."""
    name, colon, body = spec.partition(":")
    name = name.strip()
    if not colon or not _NAME.match(name):
        raise ConfigError(f"--variant {spec!r}: expected NAME:key=val,... (e.g. base: or fa:flash_attn=true)")
    kinds = {f.name: f.type for f in fields(LlamaSettings)}
    values: dict[str, Any] = {}
    for item in filter(None, (p.strip() for p in body.split(","))):
        key, eq, raw = (s.strip() for s in item.partition("="))
        if not eq or not raw:
            raise ConfigError(f"--variant {spec!r}: {item!r} is not key=value")
        if key not in kinds:
            raise ConfigError(f"--variant {spec!r}: unknown setting {key!r} (choose from {', '.join(kinds)})")
        if key in values:
            raise ConfigError(f"--variant {spec!r}: {key} given twice")
        values[key] = _coerce(spec, key, raw, str(kinds[key]))
    if "n_batch" in values and "n_ubatch" not in values:
        # A smaller batch takes the compute pass down with it, as llama.cpp would.
        values["n_ubatch"] = min(values["n_batch"], LlamaSettings.n_ubatch)
    try:
        settings = LlamaSettings(**values)
    except ConfigError as e:
        raise ConfigError(f"--variant {spec!r}: {e}") from None
    return Variant(name, settings, spec)


def _coerce(spec: str, key: str, raw: str, kind: str) -> Any:
    if kind == "bool":
        if raw.lower() in _TRUE + _FALSE:
            return raw.lower() in _TRUE
        raise ConfigError(f"--variant {spec!r}: {key} must be true or false, got {raw!r}")
    if kind == "int":
        try:
            return int(raw)
        except ValueError:
            raise ConfigError(f"--variant {spec!r}: {key} must be a whole number, got {raw!r}") from None
    return raw.lower()


def parse_variants(specs: Sequence[str]) -> list[Variant]:
    variants = [parse_variant(s) for s in specs or ["base:"]]
    names = [v.name for v in variants]
    if dupes := sorted({n for n in names if names.count(n) > 1}):
        raise ConfigError(f"--variant: the name {', '.join(dupes)} is used twice")
    return variants


def parse_contexts(text: str) -> list[int]:
    """`1k,3k,7k` -> [1000, 3000, 7000] prompt tokens (k is a thousand)."""
    sizes = []
    for item in filter(None, (p.strip().lower() for p in text.split(","))):
        m = re.fullmatch(r"(\d+)(k?)", item)
        if not m or int(m.group(1)) == 0:
            raise ConfigError(f"--contexts: {item!r} is not a token count like 3k or 2500")
        sizes.append(int(m.group(1)) * (1000 if m.group(2) else 1))
    if not sizes:
        raise ConfigError("--contexts: give at least one size, e.g. 1k,3k,7k")
    return sizes


@dataclass(frozen=True)
class Plan:
    """What is measured, the same for every model and variant."""

    settings: Settings  # for api.ask: home, context window, chunking, threads
    document: Path
    question: str
    answer_keywords: tuple[str, ...]
    contexts: list[int]
    gen_tokens: int = 64
    read_chunks: int = 8

    def check(self) -> None:
        room = self.settings.context_window
        if max(self.contexts) >= room or GEN_PROMPT + self.gen_tokens >= room:
            raise ConfigError(
                f"the prompts must fit the context window of {room} tokens: contexts up to "
                f"{max(self.contexts)}, and {GEN_PROMPT} + {self.gen_tokens} for decoding"
            )
        if self.gen_tokens < 1 or self.read_chunks < 1:
            raise ConfigError("--gen-tokens and --read-chunks must be at least 1")


@dataclass
class Result:
    """One model under one variant; seconds and tokens/s of wall-clock time."""

    model: str
    variant: str
    settings: dict[str, Any]
    load_s: float  # Llama built, plus a first short evaluation (mmap pages the weights in lazily)
    prefill_tps: dict[int, float]  # prompt tokens -> tokens/s, from an empty KV cache
    generate_tps: float  # greedy decode steps per second after a GEN_PROMPT-token prompt
    ask_s: float  # the sample question through api.ask, mode auto, index already built
    first_token_s: float | None  # until the first answer token streamed
    ask_right: bool  # the answer names every answer keyword
    read_s_per_chunk: float | None  # Level 2's read stage over the chunks it read
    chunks_read: int
    read_right: bool
    reader_reuse: float | None  # share of reader prompt tokens taken from the KV cache
    # Level 2 again with whole chunks (read_window 0): the baseline of its window
    read_whole_s_per_chunk: float | None = None
    read_whole_right: bool | None = None


@dataclass
class SpeedReport:
    llama_cpp: str  # llama_cpp.__version__
    system_info: str  # llama_print_system_info(): the CPU features the build uses
    threads: int
    context_window: int
    variants: dict[str, str]  # name -> spec
    results: list[Result] = field(default_factory=list)
    failures: dict[str, str] = field(default_factory=dict)  # "model [variant]" -> why it could not be measured


class SpeedLLM(LLM, Protocol):
    """What the measurements need: an LLM that also lends out its llama_cpp.Llama (EmbeddedLLM)."""

    def raw_llama(self) -> AbstractContextManager[Any]: ...


class _Recorder:
    """Passes calls to the model and keeps, per call, its system text and its
    prompt tokens, all and cached: how the reader's share of reuse is found."""

    def __init__(self, llm: SpeedLLM) -> None:
        self.llm = llm
        self.name = llm.name
        self.context_window = llm.context_window
        self.supports_tools = llm.supports_tools
        self.calls: list[tuple[str, int, int]] = []

    def complete(
        self, messages: list[Message], options: GenerationOptions, on_token: OnToken | None = None
    ) -> Completion:
        c = self.llm.complete(messages, options, on_token)
        system = messages[0].content if messages and messages[0].role == "system" else ""
        self.calls.append((system, c.prompt_tokens, c.cached_tokens))
        return c

    def token_counter(self) -> TokenCounter:
        return self.llm.token_counter()

    def load(self) -> None:
        self.llm.load()

    def reader_reuse(self) -> float | None:
        reads = [(p, c) for system, p, c in self.calls if system in _READER_SYSTEMS]
        total = sum(p for p, _ in reads)
        return sum(c for _, c in reads) / total if total else None


Say = Callable[[str], None]
Clock = Callable[[], float]


def measure(
    llm: SpeedLLM, model: str, variant: Variant, plan: Plan, say: Say = lambda _: None, clock: Clock = time.perf_counter
) -> Result:
    """Every figure for one loaded model; `llm` is built but not loaded yet."""
    say(f"{model} [{variant.name}]: loading")
    t0 = clock()
    llm.load()
    load_s = clock() - t0
    with llm.raw_llama() as llama:
        tokens = _document_tokens(llama, plan.document.read_text(encoding="utf-8"), max(*plan.contexts, GEN_PROMPT))
        # With mmap the weights are read on first use: count that use as part of loading.
        load_s += _timed_eval(llama, tokens[:_WARM_UP], clock)
        prefill = {}
        for n in plan.contexts:
            say(f"{model} [{variant.name}]: prefill {n} tokens")
            prefill[n] = n / _timed_eval(llama, tokens[:n], clock)
        say(f"{model} [{variant.name}]: decode {plan.gen_tokens} tokens")
        generate_tps = plan.gen_tokens / _decode_seconds(llama, tokens[:GEN_PROMPT], plan.gen_tokens, clock)

    recorder = _Recorder(llm)
    paths = [plan.document]
    # Indexed once, untimed: the figures are for asking, not for the first indexing.
    api.build_corpus(paths, plan.settings, Tracker(), recorder.token_counter())
    say(f"{model} [{variant.name}]: the sample question (auto)")
    first: list[float] = []

    def on_token(piece: str) -> None:
        if piece and not first:
            first.append(clock())

    t0 = clock()
    auto = api.ask(paths, plan.question, plan.settings, mode="auto", llm=recorder, on_token=on_token)
    ask_s = clock() - t0

    say(f"{model} [{variant.name}]: Level 2, up to {plan.read_chunks} chunks")
    recorder.calls.clear()
    read_settings = replace(plan.settings, read_strategy="ranked", read_max_chunks=plan.read_chunks)
    read = api.ask(paths, plan.question, read_settings, mode="read", llm=recorder)
    chunks = read.usage.chunks_read
    reuse = recorder.reader_reuse()
    whole_s, whole_right = None, None
    if read_settings.read_window:
        say(f"{model} [{variant.name}]: Level 2 again, whole chunks (the window's baseline)")
        whole = api.ask(paths, plan.question, replace(read_settings, read_window=0), mode="read", llm=recorder)
        whole_s = _per_chunk(whole)
        whole_right = _names_all(whole.answer, plan.answer_keywords)
    return Result(
        model=model,
        variant=variant.name,
        settings=_as_dict(variant.settings),
        load_s=load_s,
        prefill_tps=prefill,
        generate_tps=generate_tps,
        ask_s=ask_s,
        first_token_s=first[0] - t0 if first else None,
        ask_right=_names_all(auto.answer, plan.answer_keywords),
        read_s_per_chunk=_per_chunk(read),
        chunks_read=chunks,
        read_right=_names_all(read.answer, plan.answer_keywords),
        reader_reuse=reuse,
        read_whole_s_per_chunk=whole_s,
        read_whole_right=whole_right,
    )


def _per_chunk(answer: Answer) -> float | None:
    seconds, chunks = answer.timings.get("read"), answer.usage.chunks_read
    return seconds / chunks if chunks and seconds is not None else None


def _document_tokens(llama: Any, text: str, needed: int) -> list[int]:
    # A slice does: tokenizing the whole ~270k-token sample would take seconds.
    tokens: list[int] = llama.tokenize(text[: needed * 8].encode("utf-8"), add_bos=False)
    if len(tokens) < needed:
        tokens = llama.tokenize(text.encode("utf-8"), add_bos=False)
    if len(tokens) < needed:
        raise ConfigError(f"the document has {len(tokens)} tokens; the largest prompt needs {needed}")
    return tokens


def _timed_eval(llama: Any, tokens: list[int], clock: Clock) -> float:
    # reset() empties the cache's bookkeeping, so eval() drops every cell and
    # evaluates all of `tokens`: nothing is reused from the previous prompt.
    llama.reset()
    t0 = clock()
    llama.eval(tokens)
    return clock() - t0


def _decode_seconds(llama: Any, prompt: list[int], steps: int, clock: Clock) -> float:
    """Seconds for `steps` decode steps after the prompt's first token: generate()
    is the bare loop (greedy at temp 0, no end-of-text stop), so every step runs."""
    llama.reset()
    stamps: list[float] = []
    tokens = llama.generate(prompt, temp=0.0)
    try:
        for _ in range(steps + 1):
            next(tokens)
            stamps.append(clock())
    finally:
        tokens.close()
    return stamps[-1] - stamps[0]


def _names_all(answer: str, keywords: Sequence[str]) -> bool:
    return all(k.lower() in answer.lower() for k in keywords)


def _as_dict(settings: LlamaSettings) -> dict[str, Any]:
    return {f.name: getattr(settings, f.name) for f in fields(settings)}


def run(
    models: Sequence[str],
    variants: Sequence[Variant],
    plan: Plan,
    make_llm: Callable[[str, Variant], SpeedLLM],
    report: SpeedReport,
    say: Say = lambda _: None,
    clock: Clock = time.perf_counter,
) -> SpeedReport:
    plan.check()
    for model in models:
        for variant in variants:
            llm = make_llm(model, variant)
            try:
                report.results.append(measure(llm, model, variant, plan, say, clock))
            except Exception as e:  # a setting llama.cpp cannot run must not lose the other variants' figures
                what, why = f"{model} [{variant.name}]", f"{type(e).__name__}: {e}"
                report.failures[what] = why
                say(f"{what}: failed: {why}")
            # Free this model before the next loads: two in memory would skew both.
            del llm
            gc.collect()
    return report


@dataclass(frozen=True)
class Metric:
    label: str
    value: Callable[[Result], float | None]
    faster: str  # "higher" or "lower" is faster; "" for no speed-up
    show: Callable[[float], str]


def metrics(contexts: Sequence[int]) -> list[Metric]:
    def one(v: float) -> str:
        return f"{v:.1f}"

    def yes(v: float) -> str:
        return "yes" if v else "no"

    def prefill_at(n: int) -> Callable[[Result], float | None]:
        return lambda r: r.prefill_tps.get(n)

    prefill = [Metric(f"prefill {n} tok/s", prefill_at(n), "higher", one) for n in contexts]
    return [
        Metric("cold load s", lambda r: r.load_s, "lower", one),
        *prefill,
        Metric("decode tok/s", lambda r: r.generate_tps, "higher", one),
        Metric("ask (auto) s", lambda r: r.ask_s, "lower", one),
        Metric("first answer token s", lambda r: r.first_token_s, "lower", one),
        Metric("answer right (auto)", lambda r: float(r.ask_right), "", yes),
        Metric("Level 2 s/chunk", lambda r: r.read_s_per_chunk, "lower", lambda v: f"{v:.2f}"),
        Metric("chunks read", lambda r: r.chunks_read, "", lambda v: f"{v:.0f}"),
        Metric("reader tokens from cache", lambda r: r.reader_reuse, "", lambda v: f"{v:.0%}"),
        Metric("answer right (read)", lambda r: float(r.read_right), "", yes),
        Metric("Level 2 s/chunk, whole chunks", lambda r: r.read_whole_s_per_chunk, "lower", lambda v: f"{v:.2f}"),
        Metric("window speed-up", _window_speedup, "", lambda v: f"x{v:.2f}"),
        Metric("answer right (read, whole chunks)", _whole_right, "", yes),
    ]


def _window_speedup(r: Result) -> float | None:
    return speedup(r.read_s_per_chunk, r.read_whole_s_per_chunk, "lower")


def _whole_right(r: Result) -> float | None:
    return None if r.read_whole_right is None else float(r.read_whole_right)


def speedup(value: float | None, base: float | None, faster: str) -> float | None:
    """How many times faster than the baseline (above 1: faster)."""
    if not faster or value is None or base is None or value <= 0 or base <= 0:
        return None
    return value / base if faster == "higher" else base / value


def rows(report: SpeedReport) -> list[tuple[str, list[str]]]:
    """The table's rows: a label, then one cell per result; a result that is
    not its model's first variant carries its speed-up over that one."""
    baseline: dict[str, Result] = {}
    for r in report.results:
        baseline.setdefault(r.model, r)
    contexts = sorted({n for r in report.results for n in r.prefill_tps})
    table = []
    for m in metrics(contexts):
        cells = []
        for r in report.results:
            v = m.value(r)
            cell = "-" if v is None else m.show(v)
            base = baseline[r.model]
            ratio = None if base is r else speedup(v, m.value(base), m.faster)
            cells.append(cell if ratio is None else f"{cell} x{ratio:.2f}")
        table.append((m.label, cells))
    return table


def render(report: SpeedReport) -> Table:
    table = Table(title=f"longdoc bench speed: {report.threads} threads, llama-cpp-python {report.llama_cpp}")
    table.add_column("", no_wrap=True)
    for r in report.results:
        table.add_column(f"{r.model}\n{r.variant}", justify="right")
    for label, cells in rows(report):
        table.add_row(label, *cells)
    return table


def describe(report: SpeedReport) -> str:
    """The facts beside the table: the build, and each variant's settings that differ from today's."""
    default = _as_dict(LlamaSettings())
    lines = [f"llama.cpp system info: {report.system_info.strip()}"]
    for name, spec in report.variants.items():
        changed = {k: v for k, v in _as_dict(parse_variant(spec).settings).items() if default[k] != v}
        shown = ", ".join(f"{k}={v}" for k, v in changed.items()) or "today's settings"
        lines.append(f"variant {name}: {shown}")
    lines += [f"{what}: failed, not measured ({why})" for what, why in report.failures.items()]
    lines.append("speed-ups (xN) are against each model's first variant; above 1 is faster")
    return "\n".join(lines)
