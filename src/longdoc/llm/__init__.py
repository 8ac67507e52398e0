"""LLM backends behind one interface (see `base.py`), and the factory that picks one."""

from __future__ import annotations

import json
from pathlib import Path

from longdoc.errors import ConfigError
from longdoc.llm.base import (
    LLM,
    Completion,
    GenerationOptions,
    Message,
    OnToken,
)
from longdoc.llm.embedded import EmbeddedLLM
from longdoc.llm.models import MODELS, resolve_model
from longdoc.llm.openai_compat import OpenAICompatLLM
from longdoc.llm.scripted import ScriptedLLM
from longdoc.tokens import TokenCounter

BACKENDS = ("embedded", "openai", "scripted")


def make_llm(
    backend: str,
    model: str,
    *,
    home: Path,
    base_url: str | None = None,
    api_key: str | None = None,
    context_window: int = 8192,
    threads: int | None = None,
) -> LLM:
    """Build the backend named by `backend`.

    `model` is a registry name or .gguf path for "embedded", the server's model
    id for "openai", and for "scripted" a JSON file of replies or else only a
    label (it then echoes the last user message). The embedded model is
    assembled under `home` on first use.
    """
    if backend == "embedded":
        path = resolve_model(model, home)
        name = model if model in MODELS else None  # a path's file stem names itself
        return EmbeddedLLM(path, context_window=context_window, threads=threads, name=name)
    if backend == "openai":
        if not base_url:
            raise ConfigError("the openai backend needs a base URL (e.g. http://localhost:8000/v1)")
        return OpenAICompatLLM(base_url, model, api_key=api_key, context_window=context_window)
    if backend == "scripted":
        # A .json model names a file holding the list of replies: how CLI
        # tests script a whole run without a model.
        script = None
        if model.endswith(".json") and Path(model).is_file():
            script = [str(r) for r in json.loads(Path(model).read_text(encoding="utf-8"))]
        name = f"scripted:{Path(model).name}"
        return ScriptedLLM(script, context_window=context_window, name=name)
    choices = ", ".join(BACKENDS)
    raise ConfigError(f"unknown LLM backend {backend!r}; choose one of {choices}")


__all__ = [
    "BACKENDS",
    "LLM",
    "Completion",
    "GenerationOptions",
    "Message",
    "OnToken",
    "TokenCounter",
    "make_llm",
]
