"""The LLM backends: one table that the settings, the CLI and `api` read.

A backend says how to build its LLM from the settings, which tokenizer chunks
are measured with when it is chosen (known before the model is loaded), and
how many calls it takes at once. To add one, write its `LLM` (see base.py) and
add a row here.

Each backend's module is imported when it is built, not here: the table is read
by `--help` and the settings, and the OpenAI SDK alone takes half a second to import.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from longdoc.errors import ConfigError
from longdoc.llm.base import LLM
from longdoc.llm.models import MODELS, resolve_model
from longdoc.tokens import EstimateCounter, TokenCounter


@dataclass(frozen=True)
class BackendOptions:
    """What building a backend needs (the LLM part of `Settings`)."""

    model: str
    home: Path
    base_url: str | None = None
    api_key: str | None = None
    context_window: int = 8192
    threads: int | None = None  # None: all cores
    timeout: float = 120.0  # seconds per network read


@dataclass(frozen=True)
class Backend:
    name: str
    description: str  # for --help and error messages
    build: Callable[[BackendOptions], LLM]
    # The tokenizer chunks are measured with: the model's own where it is at hand
    # without loading the weights, else the conservative estimate.
    token_counter: Callable[[BackendOptions], TokenCounter]
    read_concurrency: int  # Level 2 reader calls in flight unless the settings say otherwise
    needs_base_url: bool = False
    offered: bool = True  # listed in --help; the scripted backend is for tests and dry runs


def _embedded(o: BackendOptions) -> LLM:
    from longdoc.llm.embedded import EmbeddedLLM

    name = o.model if o.model in MODELS else None  # a path's file stem names itself
    return EmbeddedLLM(resolve_model(o.model, o.home), context_window=o.context_window, threads=o.threads, name=name)


def _openai(o: BackendOptions) -> LLM:
    from longdoc.llm.openai_compat import OpenAICompatLLM

    if not o.base_url:
        raise ConfigError("the openai backend needs a base URL (e.g. http://localhost:8000/v1)")
    return OpenAICompatLLM(o.base_url, o.model, api_key=o.api_key, context_window=o.context_window, timeout=o.timeout)


def _scripted(o: BackendOptions) -> LLM:
    # A .json model names a file holding the list of replies: how CLI tests
    # script a whole run without a model. Any other model is only a label,
    # and the replies echo the last user message.
    from longdoc.llm.scripted import ScriptedLLM

    script = None
    if o.model.endswith(".json") and Path(o.model).is_file():
        script = [str(r) for r in json.loads(Path(o.model).read_text(encoding="utf-8"))]
    return ScriptedLLM(script, context_window=o.context_window, name=f"scripted:{Path(o.model).name}")


def _embedded_counter(o: BackendOptions) -> TokenCounter:
    from longdoc.llm.vocab import load_token_counter

    return load_token_counter(resolve_model(o.model, o.home))


def _estimate(_: BackendOptions) -> TokenCounter:
    return EstimateCounter()


BACKENDS: dict[str, Backend] = {
    b.name: b
    for b in (
        Backend(
            "embedded",
            "a GGUF model run in this process by llama.cpp",
            _embedded,
            _embedded_counter,
            # llama.cpp runs one generation at a time; more readers would only queue.
            read_concurrency=1,
        ),
        Backend(
            "openai",
            "any server with the OpenAI chat-completions API (--base-url)",
            _openai,
            _estimate,
            read_concurrency=8,
            needs_base_url=True,
        ),
        Backend(
            "scripted",
            "canned replies, for tests and dry runs",
            _scripted,
            _estimate,
            read_concurrency=8,
            offered=False,
        ),
    )
}
DEFAULT_BACKEND = "embedded"


def offered_backends() -> list[str]:
    return [b.name for b in BACKENDS.values() if b.offered]


def backend_named(name: str) -> Backend:
    if name not in BACKENDS:
        raise ConfigError(f"unknown LLM backend {name!r}; choose one of {', '.join(offered_backends())}")
    return BACKENDS[name]


def make_llm(
    backend: str,
    model: str,
    *,
    home: Path,
    base_url: str | None = None,
    api_key: str | None = None,
    context_window: int = 8192,
    threads: int | None = None,
    timeout: float = 120.0,
) -> LLM:
    """Build the backend named `backend`. `model` is a registry name or .gguf
    path (embedded), the server's model id (openai), or a JSON file of replies
    or a label (scripted). The embedded model is assembled under `home` on first use."""
    options = BackendOptions(model, home, base_url, api_key, context_window, threads, timeout)
    return backend_named(backend).build(options)
