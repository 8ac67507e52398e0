"""The embedding retriever (index/embed.py) through the real WordLlama weights
that the `embed` extra installs: a small local model, not an LLM."""

import importlib.util

import numpy as np
import pytest

from longdoc.chunk import ChunkSettings
from longdoc.config import load_settings
from longdoc.errors import ConfigError
from longdoc.index.embed import EmbeddingKind
from longdoc.index.retriever import fuse
from longdoc.index.store import IndexStore
from longdoc.records import Chunk, Hit
from longdoc.tokens import EstimateCounter

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("wordllama") is None,
    reason="wordllama is not installed: scripts/test installs it (pip install 'longdoc[embed]')",
)

FILLER = [
    "The harbour fills with fishing boats when the autumn tides run high.",
    "Merchants argue over the price of salt and rope in the market square.",
    "A cold wind blows from the hills and the farmers bring their sheep down early.",
    "The council meets each month to settle quarrels about grazing land.",
    "Children play along the river bank while their mothers wash linen.",
]
PARAPHRASE = "Edda Marn tends the beacon that guards the northern cape."
NEEDLE = "The vault code of Brightwater is 7341."


def _document(tmp_path):
    paras = [f"{FILLER[i % len(FILLER)]} Entry {i}." for i in range(240)]
    paras[70] = "The old mill on the southern road was pulled down in 1950."
    paras[150] = PARAPHRASE
    paras[200] = NEEDLE
    f = tmp_path / "coast.txt"
    f.write_text("\n\n".join(paras), encoding="utf-8")
    return f


@pytest.fixture
def store(tmp_path):
    return IndexStore(
        tmp_path / "index", EstimateCounter(), ChunkSettings(size=128, overlap=16), retrievers=("bm25", "embed")
    )


def test_a_paraphrase_is_found_above_filler_and_a_needle_is_not_lost(store, tmp_path):
    doc = store.add(_document(tmp_path))
    corpus = store.corpus([doc])
    bm25, embed = corpus.retrievers
    question = "Who keeps the lighthouse?"
    assert all(PARAPHRASE not in h.chunk.text for h in bm25.search(question, k=5))  # no shared word
    assert PARAPHRASE in embed.search(question, k=3)[0].chunk.text
    assert PARAPHRASE in " ".join(h.chunk.text for h in corpus.search(question, k=2))
    assert NEEDLE in corpus.search("What is the vault code of Brightwater?", k=2)[0].chunk.text


def test_vectors_are_kept_on_disk_and_load_back_to_the_same_ranking(store, tmp_path):
    doc = store.add(_document(tmp_path))
    first = store.corpus([doc])
    assert len(list((store.root / "sets").glob("embed-*"))) == 1
    kind = store.kinds[1]
    built = kind.build  # a second corpus over the same documents must load, not embed again
    kind.build = lambda docs: pytest.fail("embedded the same documents again")
    again = store.corpus([doc])
    kind.build = built
    query = ["Who keeps the lighthouse?", "lighthouse keeper"]
    assert [h.chunk.id for h in again.retrievers[1].search(query, k=10)] == [
        h.chunk.id for h in first.retrievers[1].search(query, k=10)
    ]


def test_vectors_of_other_documents_are_not_loaded(store, tmp_path):
    doc = store.add(_document(tmp_path))
    retriever = EmbeddingKind().build([doc])
    retriever.save(tmp_path)
    fewer = type(doc)(**{**doc.__dict__, "chunks": doc.chunks[:-1]})
    with pytest.raises(ValueError):
        EmbeddingKind().load(tmp_path, [fewer])


def test_fusion_reads_each_rankings_best_first():
    chunks = [Chunk(f"d:{i}", "d.txt", i, f"text {i}", 3) for i in range(6)]
    keywords = [Hit(chunks[i], 10.0 - i) for i in (0, 1, 2)]
    meanings = [Hit(chunks[i], 0.9 - i / 10) for i in (5, 4, 1)]
    order = [h.chunk.index for h in fuse([keywords, meanings])]
    # The chunk both rank comes first, then each ranking's own first, before either's third.
    assert order[0] == 1 and set(order[1:3]) == {0, 5} and order[3:] in ([2, 4], [4, 2])
    assert set(order) == {0, 1, 2, 4, 5}


def test_a_ranking_weighted_at_half_gets_its_first_pick_in_after_the_others_first_three():
    chunks = [Chunk(f"d:{i}", "d.txt", i, f"text {i}", 3) for i in range(9)]
    keywords = [Hit(chunks[i], 1.0) for i in (0, 1, 2)]
    words = [Hit(chunks[i], 1.0) for i in (3, 4, 5)]
    synonyms = [Hit(chunks[i], 1.0) for i in (6, 7, 8)]
    order = [h.chunk.index for h in fuse([keywords, words, synonyms], weights=[1.0, 1.0, 0.5])]
    assert order[:7] == [0, 3, 1, 4, 2, 5, 6]  # 1/3, 1/3, 1/4, 1/4, 1/5, 1/5, then 0.5/3
    assert [h.chunk.index for h in fuse([keywords, words, synonyms])][:3] == [0, 3, 6]


def test_an_empty_query_or_text_without_tokens_scores_nothing(store, tmp_path):
    doc = store.add(_document(tmp_path))
    retriever = EmbeddingKind().build([doc])
    assert retriever.search([], k=5) == []
    vectors = retriever.model.embed(["", "beacon"])
    assert not vectors[0].any() and np.isclose(np.linalg.norm(vectors[1]), 1.0)


def test_the_retrievers_setting(tmp_path):
    env = {"LONGDOC_HOME": str(tmp_path)}
    assert load_settings(env=env)[0].retrievers == "bm25"
    assert load_settings({"retrievers": "bm25,embed"}, env=env)[0].retrievers == "bm25,embed"
    with pytest.raises(ConfigError, match="unknown retrievers"):
        load_settings({"retrievers": "embed"}, env=env)
