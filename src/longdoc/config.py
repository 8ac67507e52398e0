"""Settings, and where each one came from.

Precedence, highest first (documented in the README):
  1. command-line flags
  2. environment variables  LONGDOC_<NAME>   (e.g. LONGDOC_BACKEND=openai)
  3. the config file        $LONGDOC_HOME/config.toml, or the file named by
                            --config / LONGDOC_CONFIG
  4. built-in defaults

Everything longdoc stores lives under one home directory: `~/.longdoc`, or
`$LONGDOC_HOME` when set.

Written out rather than with pydantic-settings: that library merges the same
sources but keeps no record of which one each value came from, and that record
is what `longdoc config` prints; its validation errors also span several lines
where these are one.
"""

from __future__ import annotations

import os
import tempfile
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .llm.backends import BACKENDS, DEFAULT_BACKEND, offered_backends
from .llm.models import DEFAULT_MODEL
from .thesaurus import THESAURI


@dataclass(frozen=True)
class Settings:
    backend: str = DEFAULT_BACKEND
    model: str = DEFAULT_MODEL  # an embedded model name, a .gguf path, or a server's model id
    base_url: str | None = None  # for the openai backend, e.g. http://127.0.0.1:8080/v1
    api_key: str | None = None
    context_window: int = 8192  # tokens the model can see at once
    reading_budget: int = 0  # tokens of evidence per answer; 0 = derived from the context window
    answer_tokens: int = 512  # cap on the answer's length
    chunk_size: int = 512
    chunk_overlap: int = 48
    threads: int = 0  # llama.cpp threads; 0 = all cores
    read_strategy: str = "ranked"  # Level 2: "ranked" (best first, stops early) or "all"
    read_max_chunks: int = 0  # Level 2 ranked: chunks to read at most; 0 = max(8, 10%), at most 64
    read_concurrency: int = 0  # Level 2 reader calls in flight; 0 = 1 embedded, 8 for a server
    read_window: int = 256  # Level 2: tokens of each chunk a reader sees, around its best matches; 0 = all
    # Level 2 also ranks chunks by other words found without a model call: an English
    # question's WordNet synonyms, the model vocabulary's nearest words ("lexicon"), both, or "off"
    thesaurus: str = "wordnet"
    agent_steps: int = 5  # Level 3: tool calls before it must answer
    # Level 1 and auto's first step: "auto" skips the planning call when the
    # question's own words single out a passage; "always" plans every question
    plan: str = "auto"
    timeout: float = 120.0  # seconds per LLM request
    retrievers: str = "bm25"  # "bm25", or "bm25,embed" to fuse in embeddings (the embed extra)
    store: str = "local"  # where chunks are searched: "local" (bm25s files) or "milvus"
    milvus_uri: str | None = None  # a Milvus Lite file (e.g. ~/.longdoc/milvus.db) or http://host:19530
    milvus_token: str | None = None  # a cluster's "user:password" or API key
    home: Path = field(default_factory=lambda: Path.home() / ".longdoc")

    def effective_budget(self, prompt_reserve: int = 600) -> int:
        """Evidence tokens that fit beside the prompt, the question and the answer.

        The default caps at 3,000 tokens even for large windows: small models
        read a few well-chosen passages better than many, and on a CPU every
        prompt token costs prefill time.
        """
        room = self.context_window - self.answer_tokens - prompt_reserve
        if self.reading_budget > 0:
            return max(256, min(self.reading_budget, room))
        return max(256, min(3000, room))


STORES = ("local", "milvus")
PLANS = ("auto", "always")
# Keywords always search: a name or a code is found by its exact words.
RETRIEVERS = ("bm25", "bm25,embed")
_INT_FIELDS = {f.name for f in fields(Settings) if f.type in ("int", int)}
_FLOAT_FIELDS = {"timeout"}


def home_dir(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    return Path(env.get("LONGDOC_HOME") or Path.home() / ".longdoc").expanduser()


def ensure_home(home: Path) -> None:
    """Create the home directory if needed and check that longdoc can write
    there; raises ConfigError (a usage error) naming it and the cause."""
    try:
        home.mkdir(parents=True, exist_ok=True)
        # A real write, not os.access: it also catches read-only mounts and full disks.
        with tempfile.TemporaryFile(dir=home):
            pass
    except OSError as e:
        cause = "it is not a directory" if isinstance(e, FileExistsError | NotADirectoryError) else e.strerror or e
        raise ConfigError(
            f"LONGDOC_HOME {home} is not usable: {cause} (set LONGDOC_HOME to a writable directory)"
        ) from None


def load_settings(
    flags: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
    config_file: Path | None = None,
) -> tuple[Settings, dict[str, str]]:
    """Resolve settings by precedence; also return where each value came from."""
    env = os.environ if env is None else env
    home = home_dir(env)
    values: dict[str, Any] = {"home": home}
    sources: dict[str, str] = {f.name: "default" for f in fields(Settings)}
    sources["home"] = "env LONGDOC_HOME" if env.get("LONGDOC_HOME") else "default"

    path = config_file or (Path(env["LONGDOC_CONFIG"]) if env.get("LONGDOC_CONFIG") else home / "config.toml")
    if path.is_file():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
            raise ConfigError(f"config file {path}: {e}") from None
        for k, v in data.items():
            name = k.replace("-", "_")
            _check_name(name, f"config file {path}")
            values[name] = _coerce(name, v, f"config file {path}")
            sources[name] = f"config {path}"
    elif config_file is not None:
        raise ConfigError(f"config file {path}: no such file")

    for f in fields(Settings):
        if f.name == "home":
            continue
        raw = env.get(f"LONGDOC_{f.name.upper()}")
        if raw not in (None, ""):
            values[f.name] = _coerce(f.name, raw, f"LONGDOC_{f.name.upper()}")
            sources[f.name] = f"env LONGDOC_{f.name.upper()}"

    for k, v in (flags or {}).items():
        if v is None:
            continue
        _check_name(k, "flag")
        values[k] = _coerce(k, v, f"--{k.replace('_', '-')}")
        sources[k] = "flag"

    settings = replace(Settings(), **values)
    backend = BACKENDS.get(settings.backend)
    if backend is None:
        raise ConfigError(f"unknown backend '{settings.backend}' (choose from {', '.join(offered_backends())})")
    if backend.needs_base_url and not settings.base_url:
        raise ConfigError(f"the {backend.name} backend needs a base URL (--base-url or LONGDOC_BASE_URL)")
    if settings.retrievers not in RETRIEVERS:
        raise ConfigError(f"unknown retrievers '{settings.retrievers}' (choose {' or '.join(RETRIEVERS)})")
    if settings.store not in STORES:
        raise ConfigError(f"unknown store '{settings.store}' (choose {' or '.join(STORES)})")
    if settings.store == "milvus" and not settings.milvus_uri:
        raise ConfigError("the milvus store needs a URI (--milvus-uri or LONGDOC_MILVUS_URI)")
    if settings.milvus_uri and "://" not in settings.milvus_uri and not settings.milvus_uri.endswith(".db"):
        # pymilvus starts Milvus Lite only for a path ending in .db
        raise ConfigError(
            f"--milvus-uri: a Milvus Lite file must end in .db, or give http://host:19530 (got {settings.milvus_uri})"
        )
    if settings.plan not in PLANS:
        raise ConfigError(f"unknown plan setting '{settings.plan}' (choose {' or '.join(PLANS)})")
    if settings.thesaurus not in THESAURI:
        raise ConfigError(f"unknown thesaurus '{settings.thesaurus}' (choose {' or '.join(THESAURI)})")
    if settings.read_strategy not in ("ranked", "all"):
        raise ConfigError(f"unknown read strategy '{settings.read_strategy}' (choose ranked or all)")
    if settings.chunk_size < 64:
        raise ConfigError("chunk size must be at least 64 tokens")
    if settings.read_window != 0 and settings.read_window < 64:
        raise ConfigError("read window must be 0 (whole chunks) or at least 64 tokens")
    if settings.context_window < 1024:
        raise ConfigError("context window must be at least 1024 tokens")
    return settings, sources


def _check_name(name: str, where: str) -> None:
    if name not in {f.name for f in fields(Settings)} or name == "home":
        raise ConfigError(f"{where}: unknown setting '{name}'")


def _coerce(name: str, value: Any, where: str) -> Any:
    try:
        if name in _INT_FIELDS:
            return int(value)
        if name in _FLOAT_FIELDS:
            return float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{where}: {name} must be a number, got {value!r}") from None
    return str(value)
