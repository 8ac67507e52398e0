import os
import time

import pytest

from longdoc.chunk import ChunkSettings
from longdoc.errors import ParseError
from longdoc.index import store as store_mod
from longdoc.index.store import IndexStore
from longdoc.tokens import EstimateCounter

NEEDLE = "The lighthouse on Karvo Point is kept by Edda Marn."


def _haystack(n=400, needle_at=None):
    paras = [f"Paragraph {i} describes the harbour, the boats and the tides of the northern coast." for i in range(n)]
    if needle_at is not None:
        paras.insert(needle_at, NEEDLE)
    return "\n\n".join(paras)


@pytest.fixture
def store(tmp_path):
    return IndexStore(tmp_path / "index", EstimateCounter(), ChunkSettings(size=128, overlap=16))


def test_index_then_search_finds_the_planted_passage(store, tmp_path):
    f = tmp_path / "notes.txt"
    f.write_text(_haystack(needle_at=300))
    doc = store.add(f)
    assert doc.built and len(doc.chunks) > 20
    hits = store.corpus([doc]).search("Who keeps the lighthouse on Karvo Point?", k=5)
    assert NEEDLE in hits[0].chunk.text
    assert hits[0].chunk.doc == "notes.txt"


def test_unchanged_file_is_not_parsed_again_and_edit_reindexes(store, tmp_path, monkeypatch):
    f = tmp_path / "notes.txt"
    f.write_text(_haystack(needle_at=10))
    first = store.add(f)
    store.corpus([first])

    def no_parsing(*a, **k):
        raise AssertionError("parsed an unchanged file")

    monkeypatch.setattr(store_mod, "parse_bytes", no_parsing)
    monkeypatch.setattr(store_mod, "chunk_document", no_parsing)
    again = store.add(f)
    assert not again.built and again.key == first.key
    assert [c.text for c in again.chunks] == [c.text for c in first.chunks]
    store.corpus([again])  # BM25 loads from disk too

    monkeypatch.undo()
    f.write_text(_haystack(needle_at=10) + "\n\nA new closing paragraph.")
    edited = store.add(f)
    assert edited.built and edited.key != first.key


def test_same_content_under_another_name_reuses_the_index_with_the_new_name(store, tmp_path):
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text(_haystack(50))
    b.write_text(_haystack(50))
    store.add(a)
    doc_b = store.add(b)
    assert not doc_b.built and doc_b.name == "b.txt" and doc_b.chunks[0].doc == "b.txt"


def test_chunk_settings_are_part_of_the_key(tmp_path):
    f = tmp_path / "a.txt"
    f.write_text(_haystack(50))
    s1 = IndexStore(tmp_path / "i", EstimateCounter(), ChunkSettings(size=128))
    s2 = IndexStore(tmp_path / "i", EstimateCounter(), ChunkSettings(size=256))
    assert s1.add(f).key != s2.add(f).key


def test_several_documents_in_one_corpus(store, tmp_path):
    docs = []
    for i in range(3):
        f = tmp_path / f"d{i}.txt"
        f.write_text(_haystack(100, needle_at=50 if i == 2 else None))
        docs.append(store.add(f))
    corpus = store.corpus(docs)
    assert len(corpus.chunks) == sum(len(d.chunks) for d in docs)
    assert corpus.search("Karvo Point lighthouse", k=3)[0].chunk.doc == "d2.txt"


def test_a_build_killed_mid_write_leaves_no_index(store, tmp_path, monkeypatch):
    f = tmp_path / "a.txt"
    f.write_text(_haystack(60))

    def crash(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(store_mod.np, "savez", crash)
    with pytest.raises(KeyboardInterrupt):
        store.add(f)
    assert not any((store.root / "docs").iterdir())  # neither a final nor a temporary directory
    monkeypatch.undo()
    assert store.add(f).built


def test_stale_temporary_directories_are_swept(tmp_path):
    root = tmp_path / "index"
    IndexStore(root, EstimateCounter(), ChunkSettings())
    stale = root / "docs" / ".tmp-abc-1234"
    stale.mkdir()
    old = time.time() - 7200
    os.utime(stale, (old, old))
    IndexStore(root, EstimateCounter(), ChunkSettings())
    assert not stale.exists()


def test_bad_files_raise_parse_errors_naming_the_file(store, tmp_path):
    with pytest.raises(ParseError, match="missing.txt"):
        store.add(tmp_path / "missing.txt")
    with pytest.raises(ParseError, match="is a directory"):
        store.add(tmp_path)
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    with pytest.raises(ParseError, match="empty.txt"):
        store.add(empty)
