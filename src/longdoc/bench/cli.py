"""`longdoc bench`: the benchmark commands, attached to the main `longdoc` group."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console

from ..agents.modes import MODES
from ..flags import handle_errors, resolve, settings_options
from ..llm.models import DEFAULT_MODEL
from .generate import PRESETS

F = TypeVar("F", bound=Callable[..., Any])


def _preset_option(help: str) -> Callable[[F], F]:
    return click.option("--preset", type=click.Choice(list(PRESETS)), default="smoke", show_default=True, help=help)


@click.group()
def bench() -> None:
    """Benchmarks that print figures."""


@bench.command("ingest")
@click.option("--tokens", type=int, default=1_000_000, show_default=True, help="Size of the generated document.")
@click.option("--work", type=click.Path(path_type=Path), help="Working directory [default: a temporary one].")
@settings_options
@handle_errors
def bench_ingest(tokens: int, work: Path | None, debug: bool, **kwargs: Any) -> None:
    """Index a generated long text; print ingest time, query latency, memory, cached rerun."""
    import tempfile

    from ..api import token_counter
    from .ingest import run

    settings = resolve(kwargs)
    counter = token_counter(settings)
    with tempfile.TemporaryDirectory(prefix="longdoc-bench-") as tmp:
        result = run(work or Path(tmp), counter, target_tokens=tokens)
    click.echo(f"tokenizer: {counter.name}")
    click.echo(result.table())


@bench.command("generate")
@click.option(
    "--out", "out_dir", type=click.Path(path_type=Path), required=True, help="Folder for items.jsonl and the documents."
)
@_preset_option("Lengths, depths, tasks and languages.")
@click.option(
    "--lengths", help="Comma-separated document lengths in tokens, e.g. 4000,32000,1000000 (overrides the preset)."
)
@click.option("--depths", help="Comma-separated needle depths in percent, e.g. 0,50,100 (overrides the preset).")
@click.option("--tasks", help="Comma-separated tasks (overrides the preset).")
@click.option("--langs", help="Comma-separated languages: en,zh (overrides the preset).")
@click.option("--seed", type=int, help="Base seed [default: the preset's].")
@click.option("--hops", help="multi_reasoning: comma-separated chain lengths, 2-4 facts [default: 2-4 at random].")
@settings_options
@handle_errors
def bench_generate(
    out_dir: Path,
    preset: str,
    lengths: str | None,
    depths: str | None,
    tasks: str | None,
    langs: str | None,
    seed: int | None,
    hops: str | None,
    debug: bool,
    **kwargs: Any,
) -> None:
    """Generate needle-in-a-haystack items (EN/ZH), lengths in the model's tokens."""
    from ..api import token_counter
    from .generate import generate
    from .tasks import TASKS

    settings = resolve(kwargs)
    base = PRESETS[preset].gen
    configs = [
        _gen_config(c, lengths, depths, tasks, langs, seed, hops) for c in (base if isinstance(base, tuple) else [base])
    ]
    unknown = {t for c in configs for t in c.tasks} - set(TASKS)
    if unknown:
        raise click.UsageError(f"unknown task(s) {', '.join(sorted(unknown))} (choose from {', '.join(TASKS)})")
    items = generate(
        configs,
        out_dir,
        token_counter(settings),
        on_item=lambda i: click.echo(f"{i.id}: {i.tokens:,} tokens", err=True),
    )
    click.echo(f"{len(items)} items in {out_dir / 'items.jsonl'}")


def _gen_config(
    base: Any,
    lengths: str | None,
    depths: str | None,
    tasks: str | None,
    langs: str | None,
    seed: int | None,
    hops: str | None = None,
) -> Any:
    from dataclasses import replace

    def ints(v: str) -> list[int]:
        return [int(x) for x in v.split(",") if x.strip()]

    def strs(v: str) -> list[str]:
        return [x.strip() for x in v.split(",") if x.strip()]

    changes: dict[str, Any] = {}
    if lengths:
        changes["lengths"] = ints(lengths)
    if depths:
        changes["depths"] = ints(depths)
    if tasks:
        changes["tasks"] = strs(tasks)
    if langs:
        changes["langs"] = strs(langs)
    if seed is not None:
        changes["seed"] = seed
    if hops:
        changes["hops"] = ints(hops)
    return replace(base, **changes)


@bench.command("run")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path),
    required=True,
    help="Results folder (cached per item; rerun to resume).",
)
@click.option(
    "--items",
    "items_dir",
    type=click.Path(path_type=Path),
    help="Generated items [default: OUT/items, generated from the preset if missing].",
)
@_preset_option("Items to generate and systems to run.")
@click.option(
    "--systems",
    help=f"Comma-separated: longdoc modes ({', '.join(MODES)}; read:all reads every chunk), full, "
    "qwen-agent:assistant, qwen-agent:parallel.",
)
@click.option(
    "--qwen-agent-venv",
    type=click.Path(path_type=Path),
    help="Qwen-Agent's virtual env [default: $LONGDOC_HOME/qwen-agent-venv].",
)
@click.option("--report/--no-report", default=True, show_default=True, help="Write the report when done.")
@settings_options
@handle_errors
def bench_run(
    out_dir: Path,
    items_dir: Path | None,
    preset: str,
    systems: str | None,
    qwen_agent_venv: Path | None,
    report: bool,
    debug: bool,
    **kwargs: Any,
) -> None:
    """Answer the items with each system; score them; cache per item."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from ..api import token_counter
    from .generate import ITEMS_FILE, generate, load_items
    from .run import check_system, iter_systems, pending, run

    settings = resolve(kwargs)
    chosen = list(iter_systems(systems)) if systems else PRESETS[preset].modes
    for s in chosen:
        check_system(s)
    if items_dir is None:
        items_dir = out_dir / "items"
        if not (items_dir / ITEMS_FILE).is_file():
            click.echo(f"generating the {preset} items into {items_dir}", err=True)
            generate(PRESETS[preset].gen, items_dir, token_counter(settings))

    def qwen_agent(system: str) -> Any:
        from ..llm.models import resolve_model
        from .qwen_agent_runner import QwenAgentAnswerer, QwenAgentConfig

        venv = qwen_agent_venv or settings.home / "qwen-agent-venv"
        config = QwenAgentConfig(
            venv,
            resolve_model(settings.model, settings.home),
            settings.context_window,
            settings.threads or 1,
            settings.answer_tokens,
        )
        return QwenAgentAnswerer(system, config, out_dir / "qwen-agent")

    total = len(pending(load_items(items_dir), chosen, out_dir))
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=False,
    ) as bar:
        task = bar.add_task("bench", total=total)

        started = [0]

        def on_item(system: str, item: Any) -> None:
            # Called as each item starts: the ones before it are done.
            bar.update(task, completed=started[0], description=f"{system} {item.id}")
            started[0] += 1

        records = run(items_dir, chosen, out_dir, settings, make_answerer=qwen_agent, progress=on_item)
        bar.update(task, completed=total, description="done")
    click.echo(f"{len(records)} new results in {out_dir} ({total - len(records)} left)")
    if report:
        _write_bench_report(out_dir)


@bench.command("speed")
@click.option(
    "--models", default=DEFAULT_MODEL, show_default=True, help="Comma-separated embedded model names or .gguf paths."
)
@click.option("--threads", type=int, help="CPU threads for llama.cpp [default: the settings', else all cores].")
@click.option(
    "--variant",
    "variants",
    multiple=True,
    metavar="NAME:KEY=VAL,...",
    help="llama.cpp load settings to measure, repeatable; the first is the baseline. Keys: n_batch, n_ubatch, "
    "flash_attn, type_k, type_v (f16, q8_0, q4_0, ...; a quantized type_v needs flash_attn), use_mmap, use_mlock. "
    "E.g. base: fa:flash_attn=true ub:n_batch=1024,n_ubatch=512 [default: base:].",
)
@click.option("--contexts", default="1k,3k,7k", show_default=True, help="Prefill prompt sizes in tokens (k = 1000).")
@click.option("--gen-tokens", type=int, default=64, show_default=True, help="Decode steps timed after a 1k prompt.")
@click.option(
    "--read-chunks", type=int, default=8, show_default=True, help="Level 2: chunks to read at most (read_max_chunks)."
)
@click.option("--json", "json_path", type=click.Path(path_type=Path), help="Also write the results here as JSON.")
@click.option("--debug", is_flag=True, help="Show tracebacks.")
@handle_errors
def bench_speed(
    models: str,
    threads: int | None,
    variants: tuple[str, ...],
    contexts: str,
    gen_tokens: int,
    read_chunks: int,
    json_path: Path | None,
    debug: bool,
) -> None:
    """Time the embedded model under llama.cpp settings: load, prefill, decode, an answer, Level 2 reading."""
    import dataclasses
    import json
    import os

    from ..config import ensure_home, load_settings
    from ..llm.embedded import EmbeddedLLM
    from ..llm.models import MODELS, resolve_model
    from ..llm.vocab import llama_cpp_module
    from ..sample import build_sample
    from .speed import Plan, SpeedReport, Variant, describe, parse_contexts, parse_variants, render, run

    chosen = parse_variants(variants)
    names = [m.strip() for m in models.split(",") if m.strip()]
    if not names:
        raise click.UsageError("--models: give at least one model")
    settings, _ = load_settings({"backend": "embedded", "threads": threads})
    ensure_home(settings.home)
    sample = build_sample(settings.home / "samples")
    plan = Plan(settings, sample.path, sample.question, sample.answer_keywords, parse_contexts(contexts))
    plan = dataclasses.replace(plan, gen_tokens=gen_tokens, read_chunks=read_chunks)
    plan.check()
    n_threads = settings.threads or os.cpu_count() or 1

    def make_llm(name: str, variant: Variant) -> EmbeddedLLM:
        return EmbeddedLLM(
            resolve_model(name, settings.home),
            context_window=settings.context_window,
            threads=n_threads,
            name=name if name in MODELS else None,
            llama_settings=variant.settings,
        )

    llama_cpp = llama_cpp_module()
    report = SpeedReport(
        llama_cpp.__version__,
        llama_cpp.llama_print_system_info().decode("utf-8", "replace"),
        n_threads,
        settings.context_window,
        {v.name: v.spec for v in chosen},
    )
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    run(names, chosen, plan, make_llm, report, say=lambda m: err.print(m, style="dim", markup=False))
    out = Console(highlight=False, soft_wrap=True)
    out.print(render(report))
    out.print(describe(report))
    if json_path is not None:
        json_path.write_text(json.dumps(dataclasses.asdict(report), indent=2) + "\n", encoding="utf-8")
        err.print(f"results: {json_path}")


def _write_bench_report(out_dir: Path) -> None:
    from .report import write_report

    rep = write_report(out_dir)
    click.echo(rep.markdown)
    click.echo(f"report: {out_dir / 'report.md'}; plots: {', '.join(p.name for p in rep.images)}", err=True)


@bench.command("report")
@click.option(
    "--out", "out_dir", type=click.Path(path_type=Path, exists=True), required=True, help="The results folder of a run."
)
@click.option("--rescore", is_flag=True, help="Score the cached answers again with the current scorers first.")
@click.option(
    "--items",
    "items_dir",
    type=click.Path(path_type=Path),
    help="The items the run answered (for --rescore) [default: OUT/items].",
)
@click.option("--debug", is_flag=True, help="Show tracebacks.")
@handle_errors
def bench_report(out_dir: Path, rescore: bool, items_dir: Path | None, debug: bool) -> None:
    """Write report.md and PNG plots from a results folder."""
    if rescore:
        from .run import rescore as rescore_records

        n = rescore_records(out_dir, items_dir or out_dir / "items")
        click.echo(f"rescored {n} results", err=True)
    _write_bench_report(out_dir)
