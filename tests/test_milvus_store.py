"""The Milvus store through Milvus Lite, a Milvus engine in this process: the
same code a cluster gets, against a local .db file."""

import io
import time
from dataclasses import replace

import pytest

from longdoc.chunk import ChunkSettings
from longdoc.config import Settings
from longdoc.index.milvus import MilvusIndex, MilvusTarget, _token
from longdoc.index.store import IndexStore
from longdoc.server.files import FileStore
from longdoc.server.options import ServerOptions
from longdoc.tokens import EstimateCounter
from test_store import NEEDLE, _haystack

# scripts/test installs the milvus extra; it is missing only where the platform has no wheels for it.
pytest.importorskip("milvus_lite", reason="milvus-lite is not installed (the 'milvus' extra; scripts/test installs it)")

ZH_NEEDLE = "卡尔沃角的灯塔由艾达·马恩看守。"


def _zh_haystack(n=200, needle_at=None):
    return _haystack(n, needle_at, ZH_NEEDLE, "第{i}段讲述北方海岸的港口、船只和潮汐。")


def _store(tmp_path, milvus=True):
    target = MilvusTarget(str(tmp_path / "milvus.db")) if milvus else None
    root = tmp_path / ("index" if milvus else "local-index")
    return IndexStore(root, EstimateCounter(), ChunkSettings(size=128, overlap=16), milvus=target)


def _milvus(store) -> MilvusIndex:
    return store.kinds[0].index


@pytest.fixture
def store(tmp_path):
    return _store(tmp_path)


def test_index_then_search_english_and_chinese(store, tmp_path):
    en, zh = tmp_path / "notes.txt", tmp_path / "笔记.txt"
    en.write_text(_haystack(needle_at=300))
    zh.write_text(_zh_haystack(needle_at=120), encoding="utf-8")
    docs = [store.add(en), store.add(zh)]
    assert [k.name for k in store.kinds] == ["milvus"]
    corpus = store.corpus(docs)
    assert all(_milvus(store).count(d.key) == len(d.chunks) for d in docs)

    hit = corpus.search("Who keeps the lighthouse on Karvo Point?", k=5)[0]
    assert NEEDLE in hit.chunk.text and hit.chunk.doc == "notes.txt" and hit.score > 0
    hit = corpus.search("谁看守卡尔沃角的灯塔？", k=5)[0]
    assert ZH_NEEDLE in hit.chunk.text and hit.chunk.doc == "笔记.txt"
    # Both scripts in one query: one BM25 field holds English stems and Chinese bigrams alike.
    top = corpus.search(["Karvo Point lighthouse", "灯塔看守"], k=2)
    assert {NEEDLE in h.chunk.text or ZH_NEEDLE in h.chunk.text for h in top} == {True}
    assert {h.chunk.doc for h in top} == {"notes.txt", "笔记.txt"}


def test_a_corpus_searches_only_its_own_documents(store, tmp_path):
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text(_haystack(60, needle_at=30))
    b.write_text(_haystack(80))
    doc_a, doc_b = store.add(a), store.add(b)
    store.corpus([doc_a, doc_b])
    hits = store.corpus([doc_b]).search("Karvo Point lighthouse harbour", k=5)
    assert hits and all(h.chunk.doc == "b.txt" for h in hits)


def test_unchanged_documents_are_not_sent_again_and_an_edit_is(store, tmp_path, monkeypatch):
    f = tmp_path / "notes.txt"
    f.write_text(_haystack(100, needle_at=10))
    first = store.add(f)
    store.corpus([first])

    def no_upsert(*a, **k):
        raise AssertionError("sent an unchanged document to Milvus again")

    monkeypatch.setattr(MilvusIndex, "put", no_upsert)
    reopened = _store(tmp_path)  # a new process: a new connection to the same file
    again = reopened.add(f)
    assert not again.built
    assert NEEDLE in reopened.corpus([again]).search("Karvo Point lighthouse", k=1)[0].chunk.text
    monkeypatch.undo()

    f.write_text(_haystack(100) + "\n\nThe lighthouse on Karvo Point is now kept by Oren Vask.")
    edited = reopened.add(f)
    assert edited.built and edited.key != first.key
    hits = reopened.corpus([edited]).search("Who keeps the lighthouse on Karvo Point?", k=3)
    assert "Oren Vask" in hits[0].chunk.text
    assert not any("Edda Marn" in h.chunk.text for h in hits)


def test_removing_a_document_deletes_its_chunks_and_a_later_use_restores_them(store, tmp_path):
    f = tmp_path / "notes.txt"
    f.write_text(_haystack(80, needle_at=40))
    doc = store.add(f)
    store.corpus([doc])
    store.forget([doc.key])
    assert _milvus(store).count(doc.key) == 0
    # The document used again (uploaded anew): its set on disk no longer matches Milvus, so it is rebuilt.
    assert NEEDLE in store.corpus([doc]).search("Karvo Point lighthouse", k=1)[0].chunk.text
    assert _milvus(store).count(doc.key) == len(doc.chunks)


HINDI = "नमस्ते"  # its vowel signs are combining marks, which Milvus Lite's tokenizer would cut at
EN_QUERIES = [
    "Who keeps the lighthouse on Karvo Point?",
    "harbour boats tides",  # every chunk of filler: equal scores, in chunk order
    ["Karvo Point lighthouse", "lighthouse keeper", "Karvo lighthouse Karvo"],  # several texts, terms repeated
    HINDI,
]
ZH_QUERIES = ["谁看守卡尔沃角的灯塔？", "北方海岸的港口", "灯塔的守塔人是谁？"]


def _both_stores(tmp_path):
    """The same English and Chinese documents in both stores, both in one Milvus collection."""
    en, zh = tmp_path / "notes.txt", tmp_path / "笔记.txt"
    en.write_text(_haystack(120, needle_at=70) + f"\n\nThe keeper greets visitors with {HINDI}.", encoding="utf-8")
    zh.write_text(_zh_haystack(120, needle_at=50), encoding="utf-8")
    stores = {"milvus": _store(tmp_path, milvus=True), "local": _store(tmp_path, milvus=False)}
    docs = {name: [s.add(en), s.add(zh)] for name, s in stores.items()}
    return stores, docs


def _rankings(store, docs):
    """Each query's ranking, as (chunk id, score), in each document alone."""
    out = []
    for doc, queries in zip(docs, (EN_QUERIES, ZH_QUERIES), strict=True):
        corpus = store.corpus([doc])
        out += [[(h.chunk.id, h.score) for h in corpus.search(q, k=20)] for q in queries]
    return out


def _same_ranking(a, b):
    assert [cid for cid, _ in a] == [cid for cid, _ in b]
    assert [s for _, s in a] == pytest.approx([s for _, s in b], rel=1e-6)


def test_milvus_ranks_as_the_local_bm25_in_english_and_chinese_and_after_reopening(tmp_path):
    stores, docs = _both_stores(tmp_path)
    local = _rankings(stores["local"], docs["local"])
    milvus = _rankings(stores["milvus"], docs["milvus"])
    assert all(local) and len(local[1]) == 20
    for a, b in zip(milvus, local, strict=True):
        _same_ranking(a, b)  # the same chunks in the same order, ties included, and the same scores

    # Milvus Lite closed (as at a process's exit) and opened again: the rows are read
    # back from its segments, and every document is still scored with its own statistics.
    from milvus_lite.server_manager import server_manager_instance

    server_manager_instance.release_server(_milvus(stores["milvus"]).target.uri)
    reopened = _store(tmp_path, milvus=True)
    again = [reopened.add(d.path) for d in docs["milvus"]]
    assert not any(d.built for d in again)
    assert _rankings(reopened, again) == milvus


def test_a_chinese_question_matches_no_chunk_through_its_function_characters(store, tmp_path):
    zh = tmp_path / "笔记.txt"
    zh.write_text(_zh_haystack(200, needle_at=120), encoding="utf-8")  # every chunk holds 的
    doc = store.add(zh)
    assert all("的" in c.text for c in doc.chunks)
    hits = store.corpus([doc]).search("谁看守卡尔沃角的灯塔？", k=len(doc.chunks))
    # Only the chunks with the needle's words, not every chunk through 的, 是 or 谁.
    assert hits and all(ZH_NEEDLE[:5] in h.chunk.text for h in hits)
    assert len(hits) < len(doc.chunks) / 4


def test_terms_are_written_as_tokens_both_tokenizers_keep_whole():
    assert [_token(t) for t in ("lighthous", "灯塔", "2024")] == ["lighthous", "灯塔", "2024"]
    hindi, times, cherokee = _token(HINDI), _token("a×b"), _token("ꮳꮃ".casefold())
    assert hindi == "_" + HINDI.encode().hex() and times.startswith("_") and cherokee.startswith("_")
    assert all(t.replace("_", "").isalnum() and t == t.lower() for t in (hindi, times, cherokee))


def test_deleting_an_uploaded_file_deletes_its_chunks_from_milvus(tmp_path):
    settings = replace(Settings(), home=tmp_path, store="milvus", milvus_uri=str(tmp_path / "milvus.db"))
    files = FileStore(settings, EstimateCounter, ServerOptions())
    files.start()
    try:
        f, _ = files.add("notes.txt", io.BytesIO(_haystack(60, needle_at=30).encode()))
        deadline = time.monotonic() + 60
        while files.get(f.id).status in ("queued", "indexing") and time.monotonic() < deadline:
            time.sleep(0.05)
        assert files.get(f.id).status == "ready"
        store = files._store()
        key = store.doc_key(f.sha256, f.suffix)
        assert _milvus(store).count(key) == files.get(f.id).chunks > 0
        files.delete(f.id)
        assert _milvus(store).count(key) == 0
    finally:
        files.stop()
