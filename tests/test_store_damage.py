"""A damaged index is a cache miss, never a crash: each kind of damage found on
disk is rebuilt on the next run and the damaged copy replaced, so the run after
that reads the repaired entry from the cache again."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from longdoc.chunk import ChunkSettings
from longdoc.index.store import IndexStore
from longdoc.tokens import EstimateCounter

NEEDLE = "The lighthouse on Karvo Point is kept by Edda Marn."
QUESTION = "Who keeps the lighthouse on Karvo Point?"


def _haystack() -> str:
    paras = [f"Paragraph {i} describes the harbour, the boats and the tides of the northern coast." for i in range(300)]
    paras.insert(211, NEEDLE)
    return "\n\n".join(paras)


def _store(root: Path) -> IndexStore:
    return IndexStore(root, EstimateCounter(), ChunkSettings(size=128, overlap=16))


def _truncate_last_line(p: Path) -> None:
    lines = p.read_text(encoding="utf-8").splitlines(keepends=True)
    p.write_text("".join(lines[:-1]), encoding="utf-8")


def _replace_with_file(p: Path) -> None:
    import shutil

    shutil.rmtree(p)
    p.write_text("not a directory")


DOC_DAMAGE: dict[str, Callable[[Path], None]] = {
    "chunks emptied": lambda d: (d / "chunks.jsonl").write_text(""),
    "chunks truncated by a line": lambda d: _truncate_last_line(d / "chunks.jsonl"),
    "chunks cut mid-line": lambda d: (d / "chunks.jsonl").write_bytes((d / "chunks.jsonl").read_bytes()[:-40]),
    "meta not JSON": lambda d: (d / "meta.json").write_text("{oops"),
    "meta a list": lambda d: (d / "meta.json").write_text("[]"),
    "meta missing": lambda d: (d / "meta.json").unlink(),
    "terms missing": lambda d: (d / "terms.npz").unlink(),
    "terms corrupt": lambda d: (d / "terms.npz").write_bytes(b"PK\x03\x04garbage"),
    "vocab corrupt": lambda d: (d / "vocab.json").write_text('["a"'),
    "vocab one term short": lambda d: (d / "vocab.json").write_text(
        json.dumps(json.loads((d / "vocab.json").read_text())[:-1])
    ),
    "entry is a file": _replace_with_file,
}


@pytest.mark.parametrize("damage", DOC_DAMAGE, ids=list(DOC_DAMAGE))
def test_a_damaged_document_entry_is_rebuilt_and_replaced(damage, tmp_path):
    f = tmp_path / "coast.txt"
    f.write_text(_haystack())
    store = _store(tmp_path / "index")
    first = store.add(f)
    store.corpus([first])
    DOC_DAMAGE[damage](store.root / "docs" / first.key)

    again = _store(tmp_path / "index").add(f)
    assert again.built, "the damaged entry was used"
    assert [c.text for c in again.chunks] == [c.text for c in first.chunks]
    hits = _store(tmp_path / "index").corpus([again]).search(QUESTION, k=3)
    assert NEEDLE in hits[0].chunk.text
    repaired = _store(tmp_path / "index").add(f)
    assert not repaired.built, "the damaged entry was not replaced"
    assert not list((store.root / "docs").glob(".tmp-*"))


def _bm25_set(root: Path) -> Path:
    (found,) = (root / "sets").glob("bm25-*")
    return found


SET_DAMAGE: dict[str, Callable[[Path], None]] = {
    "a file emptied": lambda d: next(p for p in sorted(d.iterdir()) if p.name != "manifest.json").write_bytes(b""),
    "a file missing": lambda d: next(p for p in sorted(d.iterdir()) if p.name != "manifest.json").unlink(),
    "manifest missing": lambda d: (d / "manifest.json").unlink(),
    "set is a file": _replace_with_file,
}


@pytest.mark.parametrize("damage", SET_DAMAGE, ids=list(SET_DAMAGE))
def test_a_damaged_retriever_set_is_rebuilt_and_replaced(damage, tmp_path):
    f = tmp_path / "coast.txt"
    f.write_text(_haystack())
    store = _store(tmp_path / "index")
    doc = store.add(f)
    store.corpus([doc])
    SET_DAMAGE[damage](_bm25_set(store.root))

    hits = _store(tmp_path / "index").corpus([doc]).search(QUESTION, k=3)
    assert NEEDLE in hits[0].chunk.text
    target = _bm25_set(store.root)
    assert target.is_dir() and (target / "manifest.json").is_file()
    assert not list((store.root / "sets").glob(".tmp-*"))


def test_a_set_built_for_other_chunks_is_not_used(tmp_path):
    import shutil

    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text(_haystack())
    b.write_text("Only one short paragraph about gulls.")
    store = _store(tmp_path / "index")
    doc_a, doc_b = store.add(a), store.add(b)
    store.corpus([doc_a])
    only_a = _bm25_set(store.root)
    store.corpus([doc_b])
    only_b = next(p for p in (store.root / "sets").glob("bm25-*") if p != only_a)
    # b's set, manifest and all, under a's name: its chunk count gives it away.
    shutil.rmtree(only_a)
    shutil.copytree(only_b, only_a)
    hits = _store(tmp_path / "index").corpus([doc_a]).search(QUESTION, k=3)
    assert NEEDLE in hits[0].chunk.text


@pytest.mark.parametrize("which", ["index", "docs", "sets"])
def test_an_index_directory_that_is_a_file_is_replaced(which, tmp_path):
    root = tmp_path / "index"
    root.mkdir()
    target = root if which == "index" else root / which
    if which == "index":
        root.rmdir()
    target.write_text("oops")
    f = tmp_path / "coast.txt"
    f.write_text(_haystack())
    store = _store(root)
    hits = store.corpus([store.add(f)]).search(QUESTION, k=3)
    assert NEEDLE in hits[0].chunk.text


def test_ask_answers_after_its_chunks_file_was_emptied(tmp_path, isolated_home):
    f = tmp_path / "coast.txt"
    f.write_text(_haystack())
    replies = tmp_path / "replies.json"
    plan = json.dumps({"information": QUESTION, "keywords_en": ["Karvo Point", "lighthouse"]})
    replies.write_text(json.dumps([plan, "Edda Marn keeps it [1]."]))

    def ask() -> subprocess.CompletedProcess[str]:
        cmd = [sys.executable, "-m", "longdoc", "ask", "--json", "--backend", "scripted", "--model", str(replies)]
        return subprocess.run([*cmd, str(f), QUESTION], capture_output=True, text=True, timeout=120)

    assert ask().returncode == 0
    for chunks in (isolated_home / "index" / "docs").glob("*/chunks.jsonl"):
        chunks.write_text("")
    for run in range(2):
        r = ask()
        assert r.returncode == 0, r.stderr
        out = json.loads(r.stdout)
        assert out["answer"] == "Edda Marn keeps it [1]." and "Edda Marn" in out["citations"][0]["text"], run
