"""The library entry points: index files and ask questions over them.

The CLI and the server are thin layers over these functions.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from .agents.context import Job, ReadSettings
from .agents.modes import DEFAULT_MODE, MODES
from .chunk import ChunkSettings
from .config import Settings
from .errors import ConfigError, NoInputError, ParseError
from .index.milvus import MilvusTarget
from .index.store import Corpus, IndexStore
from .lexicon import Lexicon, LexiconMissing, load_lexicon
from .llm import BackendOptions, backend_named
from .llm.base import LLM, OnToken
from .llm.models import DEFAULT_MODEL, MODELS, assembled
from .names import display_names
from .parse import printable_path
from .progress import Tracker
from .records import Answer, IndexedDoc
from .thesaurus import Thesaurus, ThesaurusMissing, load_thesaurus, sources
from .tokens import TokenCounter

__all__ = [
    "DEFAULT_MODE",
    "MODES",
    "IndexReport",
    "ask",
    "ask_corpus",
    "backend_options",
    "build_corpus",
    "index_files",
    "llm_from_settings",
    "open_store",
    "read_settings",
    "token_counter",
]


@dataclass
class IndexReport:
    docs: list[IndexedDoc] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # one line per file that failed

    @property
    def built(self) -> int:
        return sum(1 for d in self.docs if d.built)


def backend_options(settings: Settings) -> BackendOptions:
    return BackendOptions(
        settings.model,
        settings.home,
        base_url=settings.base_url,
        api_key=settings.api_key,
        context_window=settings.context_window,
        threads=settings.threads or None,
        timeout=settings.timeout,
    )


def token_counter(settings: Settings) -> TokenCounter:
    """The tokenizer chunks are measured with, known before the model loads (see `Backend.token_counter`)."""
    return backend_named(settings.backend).token_counter(backend_options(settings))


def llm_from_settings(settings: Settings) -> LLM:
    return backend_named(settings.backend).build(backend_options(settings))


def open_store(settings: Settings, counter: TokenCounter) -> IndexStore:
    milvus = None
    if settings.store == "milvus" and settings.milvus_uri:
        milvus = MilvusTarget(_milvus_uri(settings.milvus_uri), settings.milvus_token or "")
    chunking = ChunkSettings(settings.chunk_size, settings.chunk_overlap)
    kinds = tuple(settings.retrievers.split(","))
    return IndexStore(settings.home / "index", counter, chunking, milvus=milvus, retrievers=kinds)


def _milvus_uri(uri: str) -> str:
    """A server URI as given; a Milvus Lite file path with `~` expanded (pymilvus does not)."""
    return uri if "://" in uri else str(Path(uri).expanduser())


def index_files(
    paths: Sequence[str | Path], store: IndexStore, tracker: Tracker, names: Sequence[str] | None = None
) -> IndexReport:
    """Index every file it can; a file that fails is reported and skipped.
    Documents are named `names` (default: the shortest part of each path that
    tells same-named files apart), which citations and the model see."""
    report = IndexReport()
    shown = list(names) if names is not None else display_names([printable_path(os.path.abspath(p)) for p in paths])
    for p, name in zip(paths, shown, strict=True):
        try:
            with tracker.stage("index", name):
                doc = store.add(p, on_stage=partial(_show_stage, tracker, name))
            report.docs.append(doc.named(name))
        except ParseError as e:
            report.errors.append(str(e))
    return report


def _show_stage(tracker: Tracker, name: str, stage: str) -> None:
    tracker.show(f"{stage}: {name}")


def build_corpus(
    paths: Sequence[str | Path],
    settings: Settings,
    tracker: Tracker,
    counter: TokenCounter,
    names: Sequence[str] | None = None,
) -> tuple[Corpus, IndexReport]:
    store = open_store(settings, counter)
    report = index_files(paths, store, tracker, names)
    if not report.docs:
        detail = "; ".join(report.errors) or "no files given"
        raise NoInputError(f"no usable input: {detail}")
    with tracker.stage("load index"):
        corpus = store.corpus(report.docs)
    return corpus, report


def read_settings(settings: Settings) -> ReadSettings:
    concurrency = settings.read_concurrency or backend_named(settings.backend).read_concurrency
    return ReadSettings(
        strategy=settings.read_strategy,
        max_chunks=settings.read_max_chunks,
        concurrency=concurrency,
        window=settings.read_window,
    )


def ask(
    paths: Sequence[str | Path],
    question: str,
    settings: Settings,
    *,
    mode: str = DEFAULT_MODE,
    llm: LLM | None = None,
    tracker: Tracker | None = None,
    on_token: OnToken | None = None,
    names: Sequence[str] | None = None,
) -> Answer:
    """Answer `question` from the files in `paths` (cited as `names`, see
    `index_files`). Files that fail to parse are listed in `Answer.errors`;
    the others are still used."""
    check_mode(mode)
    tracker = tracker or Tracker()
    if llm is None:
        with tracker.stage("load model"):
            llm = llm_from_settings(settings)
    corpus, report = build_corpus(paths, settings, tracker, llm.token_counter(), names)
    answer = ask_corpus(corpus, question, settings, llm, mode=mode, tracker=tracker, on_token=on_token)
    answer.errors = report.errors + answer.errors
    return answer


def check_mode(mode: str) -> None:
    if mode not in MODES:
        raise ConfigError(f"unknown mode '{mode}' (choose from {', '.join(MODES)})")


def _other_words_sources(
    settings: Settings, tracker: Tracker, level2: bool = True
) -> tuple[Thesaurus | None, Lexicon | None, list[str]]:
    """The sources of other words the setting names, and a note for each that could not
    be loaded. Only where Level 2 may run, the one level that uses them: loading
    WordNet takes ~70 ms, the lexicon ~0.3 s."""
    notes: list[str] = []
    if not level2:
        return None, None, notes
    try:
        thesaurus = load_thesaurus(settings.thesaurus)
    except ThesaurusMissing as e:
        thesaurus = None
        notes.append(f"{e}: Level 2 ranked chunks without synonyms")
    lexicon = None
    if "lexicon" in sources(settings.thesaurus):
        try:
            model = lexicon_model(settings)
            with tracker.stage("lexicon", model.name):  # generated on first use: ~10 s
                lexicon = load_lexicon(model)
        except LexiconMissing as e:
            notes.append(f"{e}: Level 2 ranked chunks without the lexicon")
    return thesaurus, lexicon, notes


def lexicon_model(settings: Settings) -> Path:
    """The GGUF the lexicon is generated from: the model in use when it is a local
    one, else the default embedded model when it is installed. Never assembles a
    model (a server may serve one by a registry name)."""
    path = Path(settings.model).expanduser()
    if path.suffix.lower() == ".gguf" and path.is_file():
        return path
    for name in (settings.model, DEFAULT_MODEL):
        spec = MODELS.get(name)
        found = assembled(spec, settings.home) if spec is not None else None
        if found is not None:
            return found
    raise LexiconMissing(f"no local GGUF model to build the lexicon from ({settings.model} is not one)")


def ask_corpus(
    corpus: Corpus,
    question: str,
    settings: Settings,
    llm: LLM,
    *,
    mode: str = DEFAULT_MODE,
    tracker: Tracker | None = None,
    on_token: OnToken | None = None,
) -> Answer:
    """Answer `question` from documents already indexed and loaded (`build_corpus`):
    what a chat session asks one question after another."""
    check_mode(mode)
    tracker = tracker or Tracker()
    thesaurus, lexicon, missing = _other_words_sources(settings, tracker, level2=mode != "rag")
    job = Job(
        corpus,
        llm,
        budget=settings.effective_budget(),
        answer_tokens=settings.answer_tokens,
        tracker=tracker,
        read=read_settings(settings),
        on_token=on_token,
        max_steps=settings.agent_steps,
        skip_plan=settings.plan == "auto",
        thesaurus=thesaurus,
        lexicon=lexicon,
    )
    answer = MODES[mode].answer(question, job)
    if answer.mode == "read":
        answer.notes += missing
    answer.timings = dict(tracker.timings)
    return answer
