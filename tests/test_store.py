import json
import math
import os
import time

import pytest

from longdoc.chunk import ChunkSettings
from longdoc.errors import ParseError
from longdoc.index import store as store_mod
from longdoc.index.store import IndexStore
from longdoc.records import Hit
from longdoc.tokens import EstimateCounter

NEEDLE = "The lighthouse on Karvo Point is kept by Edda Marn."


def _haystack(
    n=400,
    needle_at=None,
    needle=NEEDLE,
    filler="Paragraph {i} describes the harbour, the boats and the tides of the northern coast.",
):
    paras = [filler.format(i=i) for i in range(n)]
    if needle_at is not None:
        paras.insert(needle_at, needle)
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


class SynonymKind:
    """A second kind of retriever, as an embedding one would be: it finds a
    chunk by a word the query does not use, and keeps its state on disk."""

    name = "synonyms"

    def __init__(self, synonyms):
        self.synonyms = synonyms
        self.builds = 0

    def build(self, docs):
        self.builds += 1
        return SynonymRetriever([c for d in docs for c in d.chunks], self.synonyms)

    def load(self, directory, docs):
        chunks = [c for d in docs for c in d.chunks]
        assert json.loads((directory / "chunks.json").read_text()) == [c.id for c in chunks]
        return SynonymRetriever(chunks, self.synonyms)


class SynonymRetriever:
    def __init__(self, chunks, synonyms):
        self.chunks, self.synonyms = chunks, synonyms

    def search(self, query, k):
        text = query if isinstance(query, str) else " ".join(query)
        wanted = [self.synonyms[w] for w in text.lower().split() if w in self.synonyms]
        hits = [Hit(c, 1.0) for c in self.chunks if any(w in c.text.lower() for w in wanted)]
        return hits[:k]

    def save(self, directory):
        (directory / "chunks.json").write_text(json.dumps([c.id for c in self.chunks]))


def test_a_second_retriever_is_built_once_kept_on_disk_and_fused(store, tmp_path):
    f = tmp_path / "coast.txt"
    paras = _haystack(200).split("\n\n")
    paras[30] = "The old lighthouse on the southern cape was pulled down in 1950."  # the words, not the answer
    paras[150] = "Edda Marn tends the beacon that guards the northern cape."  # the answer, in other words
    f.write_text("\n\n".join(paras))
    doc = store.add(f)
    kind = SynonymKind({"lighthouse": "beacon"})
    store.kinds.append(kind)
    corpus = store.corpus([doc])
    assert kind.builds == 1 and len(list((store.root / "sets").glob("synonyms-*"))) == 1
    query = ["Who keeps the lighthouse?", "lighthouse keeper"]
    bm25_only = corpus.retrievers[0].search(query, k=5)
    assert "southern cape" in bm25_only[0].chunk.text
    assert all("beacon" not in h.chunk.text for h in bm25_only)  # keyword search cannot find it
    fused = corpus.search(query, k=5)
    first_two = " ".join(h.chunk.text for h in fused[:2])
    assert "southern cape" in first_two and "beacon" in first_two  # each retriever's best, read first

    again = store.corpus([doc])  # loaded from disk, not built again
    assert kind.builds == 1
    assert [h.chunk.id for h in again.search(query, k=5)] == [h.chunk.id for h in fused]


def test_rarity_counts_the_chunks_holding_a_term_from_the_stored_terms_or_the_text(store, tmp_path):
    f = tmp_path / "notes.txt"
    f.write_text(_haystack(needle_at=300))
    doc = store.add(f)
    harbour, karvo, velk = (store.analyzer.terms(w)[0] for w in ("harbour", "karvo", "velk"))
    holding = {harbour: len(doc.chunks), karvo: 1, velk: 0}  # every chunk, the needle's, none
    expected = {t: math.log(1 + len(doc.chunks) / max(1, n)) for t, n in holding.items()}
    assert store.corpus([doc]).rarity(expected) == pytest.approx(expected)
    # The stored terms gone since the document was loaded: counted from the chunks' text.
    corpus = store.corpus([doc])
    (store.root / "docs" / doc.key / "terms.npz").unlink()
    assert corpus.rarity(expected) == pytest.approx(expected)
