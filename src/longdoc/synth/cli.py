"""`longdoc synth`: the commands, attached to the main `longdoc` group. The
heavy modules load inside the commands, so `longdoc --help` stays fast."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import click

from ..agents.modes import DEFAULT_MODE, MODES
from ..flags import err_console, handle_errors, resolve, settings_options

_MAKE = "make"
_TOKENS = re.compile(r"^(\d+(?:\.\d+)?)([kKmM]?)$")


class _DefaultMake(click.Group):
    """`longdoc synth PATH...` means `longdoc synth make PATH...`: the issue's
    command line, with `verify` and `audit` beside it as subcommands."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ctx.help_option_names:
            args = [_MAKE, *args]
        return super().parse_args(ctx, args)


def parse_tokens(text: str) -> int:
    """'32k' -> 32000, '1M' -> 1000000, '4000' -> 4000."""
    m = _TOKENS.match(text.strip())
    if not m:
        raise click.BadParameter(f"'{text}' is not a token count (like 4000, 32k or 1M)")
    scale = {"": 1, "k": 1000, "m": 1_000_000}[m.group(2).lower()]
    return int(float(m.group(1)) * scale)


def _names(value: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in value.split(",") if v.strip())


def _progress() -> Any:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=err_console(),
        transient=False,
    )


@click.group(cls=_DefaultMake)
def synth() -> None:
    """Write long-context training data with the agent, filtered automatically
    (`longdoc synth PATH... --out DIR`), cross-check a QA set (`longdoc synth verify DATA.jsonl`),
    or audit kept items by hand (`longdoc synth audit DIR`)."""


@synth.command(_MAKE)
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--out", "out_dir", type=click.Path(path_type=Path), required=True, help="Output folder (rerun to resume)."
)
@click.option(
    "--n", "n", type=int, default=100, show_default=True, help="Items to write over all documents and lengths."
)
@click.option("--lengths", help="Comma-separated document lengths to cut, e.g. 32k,128k [default: each file whole].")
@click.option("--kinds", default="single,multi,unanswerable", show_default=True, help="Comma-separated item kinds.")
@click.option("--format", "formats", default="sharegpt,alpaca", show_default=True, help="sharegpt, alpaca or both.")
@click.option(
    "--dpo", is_flag=True, help="Also write DPO pairs: the agent's answer chosen, the plain model's rejected."
)
@click.option(
    "--mode", type=click.Choice(list(MODES)), default=DEFAULT_MODE, show_default=True, help="How the agent answers."
)
@click.option("--seed", type=int, default=20240601, show_default=True, help="Which chunks are picked.")
@click.option("--threshold", type=float, default=0.5, show_default=True, help="Agreement needed to keep an item (0-1).")
@click.option(
    "--ends-tokens", default="4k", show_default=True, help="Drop items answerable from this many tokens at each end."
)
@click.option("--max-context", help="Cut each item's document to this many tokens around its source (e.g. 32k).")
@click.option(
    "--plant",
    type=int,
    default=0,
    show_default=True,
    help="Give this many of the items a wrong answer on purpose: the filter must drop them (never written out).",
)
@settings_options
@handle_errors
def synth_make(
    paths: tuple[Path, ...],
    out_dir: Path,
    n: int,
    lengths: str | None,
    kinds: str,
    formats: str,
    dpo: bool,
    mode: str,
    seed: int,
    threshold: float,
    ends_tokens: str,
    max_context: str | None,
    plant: int,
    debug: bool,
    **kwargs: Any,
) -> None:
    """Write questions from the documents, answer them with the agent, keep what passes the filter."""
    from .job import SynthConfig
    from .run import synthesize

    settings = resolve(kwargs)
    config = SynthConfig(
        n=n,
        lengths=tuple(parse_tokens(x) for x in _names(lengths or "")),
        kinds=_names(kinds),
        formats=_names(formats),
        dpo=dpo,
        mode=mode,
        seed=seed,
        threshold=threshold,
        ends_tokens=parse_tokens(ends_tokens),
        max_context=parse_tokens(max_context) if max_context else None,
        plant=plant,
    )
    config.check()
    with _progress() as bar:
        task = bar.add_task("synth", total=None)

        def on_item(done: int, total: int, item: str) -> None:
            bar.update(task, completed=done, total=total, description=item)

        try:
            summary = synthesize(paths, out_dir, settings, config, progress=on_item)
        except KeyboardInterrupt:
            bar.stop()
            err_console().print(f"interrupted: finished items are kept in {out_dir}; rerun the command to resume")
            sys.exit(130)
        bar.update(task, completed=bar.tasks[0].total or 0, description="done")
    dropped = ", ".join(f"{r} {k}" for r, k in summary.dropped.items()) or "none"
    click.echo(
        f"{summary.kept} kept of {summary.finished} finished ({summary.new} new; {summary.errors} to retry); "
        f"dropped: {dropped}"
    )
    if summary.redrafted:
        click.echo(f"drafts written twice: {summary.redrafted} ({summary.kept_redrafted} of them kept)")
    if summary.kept_as_single:
        click.echo(f"multi-hop drafts answered from one passage, kept as single-fact: {summary.kept_as_single}")
    if summary.planted is not None:
        from .plant import describe

        click.echo(describe(summary.planted))
    click.echo(f"files: {', '.join(f'{name} ({rows})' for name, rows in summary.rows.items())}; manifest.json")


@synth.command("verify")
@click.argument("data", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option("--out", "out_file", type=click.Path(path_type=Path), help="Verdicts [default: DATA.verdicts.jsonl].")
@click.option(
    "--mode", type=click.Choice(list(MODES)), default=DEFAULT_MODE, show_default=True, help="How the agent answers."
)
@click.option("--threshold", type=float, default=0.5, show_default=True, help="Agreement needed to agree (0-1).")
@settings_options
@handle_errors
def synth_verify(data: Path, out_file: Path | None, mode: str, threshold: float, debug: bool, **kwargs: Any) -> None:
    """Cross-check a QA set: the agent answers each question over its document; write verdicts and evidence.

    Each line is JSON with a question, an answer (or answers), and a document path
    (document/doc/path/file, relative to DATA) or the text inline (context/input)."""
    from collections import Counter

    from .verify import verify

    settings = resolve(kwargs)
    out = out_file or data.with_name(f"{data.stem}.verdicts.jsonl")
    with _progress() as bar:
        task = bar.add_task("verify", total=None)

        def on_line(done: int, total: int, line: int) -> None:
            bar.update(task, completed=done, total=total, description=f"line {line}")

        try:
            verdicts = verify(data, out, settings, mode=mode, threshold=threshold, progress=on_line)
        except KeyboardInterrupt:
            bar.stop()
            err_console().print(f"interrupted: verdicts so far are in {out}; rerun the command to resume")
            sys.exit(130)
        bar.update(task, completed=bar.tasks[0].total or 0, description="done")
    counts = Counter(v.verdict for v in verdicts)
    click.echo(f"{', '.join(f'{k} {n}' for k, n in sorted(counts.items())) or 'no lines'}; verdicts in {out}")


@synth.command("audit")
@click.argument("out_dir", metavar="DIR", type=click.Path(path_type=Path, exists=True, file_okay=False))
@click.option("--n", "n", type=int, default=20, show_default=True, help="Kept items to put on the sheet.")
@click.option("--seed", type=int, default=20240601, show_default=True, help="Which kept items are drawn.")
@click.option("--out", "out_file", type=click.Path(path_type=Path), help="The sheet [default: DIR/audit.md].")
@click.option(
    "--score",
    "filled",
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    help="Count a filled sheet's right? column instead of writing one.",
)
@click.option("--debug", is_flag=True, help="Show tracebacks.")
@handle_errors
def synth_audit(out_dir: Path, n: int, seed: int, out_file: Path | None, filled: Path | None, debug: bool) -> None:
    """Write a sheet of N kept items (planted probes left out) for a person to mark right or wrong,
    or, with --score, count a filled one. No model is loaded."""
    from ..durable import write_file
    from ..errors import ConfigError
    from .audit import score, sheet

    if filled is not None:
        click.echo(score(filled.read_text(encoding="utf-8"), str(filled)).line())
        return
    if n < 1:
        raise ConfigError("--n must be at least 1")
    target = out_file or out_dir / "audit.md"
    if target.exists():
        raise ConfigError(f"{target} exists (a filled sheet?): give --out another file, or remove it")
    text = sheet(out_dir, n, seed, target)
    write_file(target, text.encode("utf-8"))
    rows = sum(1 for line in text.splitlines() if line.startswith("| ")) - 2  # less the header and its rule
    click.echo(
        f"{rows} items on {target}; fill in right? (y/n) and why, then: longdoc synth audit {out_dir} --score {target}"
    )
