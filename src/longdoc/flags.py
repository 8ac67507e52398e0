"""What the longdoc commands share: the flags for the settings, and errors as
one line on stderr with a documented exit code."""

from __future__ import annotations

import functools
import sys
import traceback
from collections.abc import Callable
from dataclasses import fields
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from .config import PLANS, RETRIEVERS, STORES, Settings, ensure_home, load_settings
from .errors import EXIT_INTERNAL, LongdocError
from .llm.backends import BACKENDS, DEFAULT_BACKEND, offered_backends
from .thesaurus import THESAURI

_SETTING_NAMES = frozenset(f.name for f in fields(Settings))


def settings_options(f: Callable[..., Any]) -> Callable[..., Any]:
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
        click.option(
            "--read-window",
            type=int,
            help="Level 2: tokens of each chunk a reader sees, the sentences that share most with the question; "
            "0 = the whole chunk [default: 256].",
        ),
        click.option(
            "--thesaurus",
            type=click.Choice(THESAURI),
            help="Level 2: also rank chunks by an English question's synonyms (WordNet), by the model "
            "vocabulary's nearest words (lexicon, English and Chinese), both, or neither [default: wordnet].",
        ),
        click.option(
            "--plan",
            type=click.Choice(PLANS),
            help="Levels 1 and auto: skip the planning call when the question's own words single out a passage, "
            "or plan every question [default: auto].",
        ),
        click.option(
            "--retrievers",
            type=click.Choice(RETRIEVERS),
            help="How chunks are found: keywords (BM25), or fused with embeddings (pip install 'longdoc[embed]') [default: bm25].",
        ),
        click.option(
            "--store",
            type=click.Choice(STORES),
            help="Where chunks are searched: local BM25 files, or Milvus (Lite or a cluster) [default: local].",
        ),
        click.option("--milvus-uri", help="Milvus Lite file (e.g. ~/.longdoc/milvus.db) or http://host:19530."),
        click.option("--milvus-token", help="Milvus token, user:password or API key (prefer LONGDOC_MILVUS_TOKEN)."),
        click.option("--config", "config_file", type=click.Path(path_type=Path), help="Config file (TOML)."),
        click.option("--debug", is_flag=True, help="Show tracebacks."),
    ]
    for o in reversed(opts):
        f = o(f)
    return f


def resolve_with_sources(kwargs: dict[str, Any]) -> tuple[Settings, dict[str, str]]:
    """The settings from a command's `settings_options` (taken out of `kwargs`),
    the environment and the config file, and where each came from."""
    flags = {k: kwargs.pop(k) for k in list(kwargs) if k in _SETTING_NAMES}
    settings, sources = load_settings(flags, config_file=kwargs.pop("config_file"))
    ensure_home(settings.home)
    return settings, sources


def resolve(kwargs: dict[str, Any]) -> Settings:
    return resolve_with_sources(kwargs)[0]


def err_console() -> Console:
    """stderr for messages: never hard-wrapped, so a piped or logged line stays one line."""
    return Console(stderr=True, soft_wrap=True, highlight=False)


def handle_errors(f: Callable[..., Any]) -> Callable[..., Any]:
    """One line on stderr and a documented exit code; a traceback only with --debug."""

    @functools.wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        debug = kwargs.get("debug", False)
        err = err_console()
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
