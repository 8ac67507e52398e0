"""Start-up and the cached path pay only for what they use: `--help` imports no
model, retrieval or level code, and an unchanged document is neither counted
again nor its retrievers loaded. Timings are in benchmarks/startup.py; these
check the causes, which fail the same on any machine."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from longdoc.agents.modes import MODES, Level
from longdoc.chunk import ChunkSettings
from longdoc.index.bm25 import BM25Kind
from longdoc.index.store import IndexStore
from longdoc.tokens import EstimateCounter

# What `import longdoc.cli` must leave alone: each costs a tenth of a second or more.
HEAVY = ("llama_cpp", "bm25s", "numpy", "scipy", "openai", "longdoc.api", "longdoc.index.store", "longdoc.agents.rag")


def _modules_after(code: str, env: dict[str, str] | None = None) -> set[str]:
    """The modules a fresh interpreter has imported after running `code`."""
    probe = f"{code}\nimport sys, json\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, env=env, check=True
    ).stdout
    return set(json.loads(out.splitlines()[-1]))


def test_importing_the_cli_loads_no_model_retrieval_or_levels():
    loaded = _modules_after("import longdoc.cli")
    assert not [m for m in HEAVY if m in loaded]


def test_every_mode_names_an_answer_function_that_exists():
    for mode in MODES.values():
        assert isinstance(mode.answer, Level)
        module = importlib.import_module(f"longdoc.agents.{mode.answer.module}")
        assert callable(getattr(module, mode.answer.function)), mode.name


def test_the_copied_stopwords_are_still_bm25s_own():
    from bm25s.stopwords import STOPWORDS_EN_PLUS

    from longdoc.index.terms import STOPWORDS_EN_PLUS as copied

    assert tuple(copied) == tuple(STOPWORDS_EN_PLUS)


class _NoCounting:
    name = "no-counting-v1"

    def count(self, text: str) -> int:
        raise AssertionError("an unchanged document was counted again")


def test_an_unchanged_document_is_not_counted_and_its_set_not_loaded(tmp_path, monkeypatch):
    doc = tmp_path / "coast.txt"
    doc.write_text("\n\n".join(f"Paragraph {i} is about the harbour and its tides." for i in range(300)))
    first = IndexStore(tmp_path / "index", EstimateCounter(), ChunkSettings(size=128, overlap=16))
    built = first.add(doc)
    first.prepare([built])

    def refuse(*args: object) -> None:
        raise AssertionError("an intact set was loaded or built again")

    monkeypatch.setattr(BM25Kind, "load", refuse)
    monkeypatch.setattr(BM25Kind, "build", refuse)
    again = IndexStore(tmp_path / "index", _NoCounting(), ChunkSettings(size=128, overlap=16))
    monkeypatch.setattr(again, "doc_key", first.doc_key)  # the same entry, under a counter that must not count
    cached = again.add(doc)
    again.prepare([cached])
    assert not cached.built and len(cached.chunks) == len(built.chunks)


def test_prepare_builds_a_missing_set(tmp_path):
    doc = tmp_path / "coast.txt"
    doc.write_text("The lighthouse on Karvo Point is kept by Edda Marn.")
    store = IndexStore(tmp_path / "index", EstimateCounter(), ChunkSettings())
    store.prepare([store.add(doc)])
    (found,) = (tmp_path / "index" / "sets").glob("bm25-*")
    assert (found / "manifest.json").is_file()


def test_longdoc_index_on_an_unchanged_file_imports_no_retriever(tmp_path):
    doc = tmp_path / "coast.txt"
    doc.write_text("\n\n".join(f"Paragraph {i} is about the harbour and its tides." for i in range(300)))
    env = {k: v for k, v in os.environ.items() if not k.startswith("LONGDOC_")}
    env["LONGDOC_HOME"] = str(tmp_path / "home")
    run = f"from longdoc.cli import main\nmain(['index', '-q', '--backend', 'scripted', {str(doc)!r}], standalone_mode=False)"
    assert "bm25s" in _modules_after(run, env)  # the first run builds the index
    again = _modules_after(run, env)
    assert not [m for m in ("bm25s", "scipy", "openai", "llama_cpp") if m in again]


@pytest.mark.skipif(importlib.util.find_spec("llama_cpp") is None, reason="llama-cpp-python is not installed")
def test_the_model_tokenizer_loads_on_the_first_count(tmp_path):
    fake = tmp_path / "not-a-model.gguf"
    fake.write_bytes(b"GGUF but not really")
    code = (
        "from pathlib import Path\nfrom longdoc.llm.vocab import load_token_counter\n"
        f"counter = load_token_counter(Path({str(fake)!r}))\nprint(counter.name)"
    )
    assert "llama_cpp" not in _modules_after(code)  # named without loading the library or the file

    from longdoc.errors import ModelError
    from longdoc.llm.vocab import load_token_counter

    counter = load_token_counter(Path(fake))
    assert counter.name == f"gguf:not-a-model.gguf:{fake.stat().st_size}"
    with pytest.raises(ModelError, match="cannot load model"):
        counter.count("hello")
