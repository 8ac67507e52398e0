"""Other words from the model's own vocabulary (lexicon.py): generated from a GGUF
file, kept beside it, and a paraphrased fact found through a real index."""

import json

import gguf
import numpy as np
import pytest

from longdoc.agents.context import Job, ReadSettings
from longdoc.agents.read import ask_read, reading_order
from longdoc.api import ask_corpus
from longdoc.chunk import ChunkSettings
from longdoc.config import Settings
from longdoc.index.store import IndexStore
from longdoc.lexicon import Lexicon, LexiconMissing, build_lexicon, lexicon_paths, load_lexicon
from longdoc.llm.scripted import ScriptedLLM
from longdoc.records import QueryPlan
from oracle import Oracle

FACT = "The ferryman Osric Vell rows travellers across the Tamsin river at dawn."
QUESTION = "Who takes people over the water in the early morning?"

# Token text as a byte-level BPE vocabulary writes it: "Ġ" is the space before a word,
# "æ¸ħæĻ¨" the UTF-8 bytes of 清晨.
_TOKENS = {
    "Ġmorning": [1.0, 0.2, 0.0, 0.0],
    "Ġdawn": [0.9, 0.3, 0.0, 0.0],
    "Ġwater": [0.0, 0.0, 1.0, 0.1],
    "Ġriver": [0.0, 0.1, 0.9, 0.2],
    "Ġcheese": [-0.5, -0.5, -0.5, 0.5],
    "Morning": [1.0, 0.2, 0.0, 0.0],  # no leading space: a piece of a word, left out
    "Ġx": [0.3, 0.3, 0.3, 0.3],  # too short
    "æ¸ħæĻ¨": [0.95, 0.25, 0.0, 0.0],
    "ä¸Ģå¤§æĹ©": [0.9, 0.2, 0.1, 0.0],  # 一大早
    "è°ģ": [0.0, 0.0, 0.0, 1.0],  # 谁
}


def _model(tmp_path, tied=False):
    path = tmp_path / "tiny.gguf"
    writer = gguf.GGUFWriter(path, "qwen2")
    writer.add_token_list(list(_TOKENS))
    matrix = np.asarray(list(_TOKENS.values()), dtype=np.float32)
    writer.add_tensor("token_embd.weight" if tied else "output.weight", matrix)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def _everything(terms):
    return dict.fromkeys(terms, 1)


def test_whole_words_are_kept_centred_and_unit_length(tmp_path):
    lexicon = build_lexicon(_model(tmp_path))
    assert lexicon.words == ["morning", "dawn", "water", "river", "cheese", "清晨", "一大早", "谁"]
    norms = np.linalg.norm(lexicon.vectors.astype(np.float32), axis=1)
    assert np.allclose(norms, 1.0, atol=1e-2)
    assert all(p.exists() for p in lexicon_paths(tmp_path / "tiny.gguf"))


def test_tied_models_give_their_input_embeddings(tmp_path):
    assert build_lexicon(_model(tmp_path, tied=True)).words[0] == "morning"


def test_neighbours_are_words_the_documents_hold(tmp_path):
    lexicon = build_lexicon(_model(tmp_path))
    near = lexicon.other_words("in the morning", _everything)
    assert {"清晨", "dawn", "一大早"} <= set(near)  # the word for the same time, in both languages
    assert "cheese" not in near and "morning" not in near  # unlike, and the question's own word
    held = {"dawn": 0}
    assert "dawn" not in lexicon.other_words("in the morning", lambda terms: {t: held.get(t, 1) for t in terms})


def test_chinese_words_are_cut_by_longest_match_and_question_words_left_out(tmp_path):
    lexicon = build_lexicon(_model(tmp_path))
    assert lexicon.asked("谁一大早过河？") == ["一大早"]
    assert "清晨" in lexicon.other_words("谁一大早过河？", _everything)
    assert "谁" not in lexicon.other_words("清晨", _everything)


def test_the_stored_lexicon_is_read_back_and_rebuilt_when_stale_or_damaged(tmp_path):
    model = _model(tmp_path)
    load_lexicon.cache_clear()
    first = load_lexicon(model)
    vectors_path, words_path = lexicon_paths(model)
    assert isinstance(load_lexicon.__wrapped__(model).vectors, np.memmap)  # read back, not rebuilt
    words_path.write_text("{not json")
    again = load_lexicon.__wrapped__(model)
    assert again.words == first.words and json.loads(words_path.read_text())["words"] == first.words
    meta = json.loads(words_path.read_text())
    meta["model_size"] = 1
    words_path.write_text(json.dumps(meta))
    assert not isinstance(load_lexicon.__wrapped__(model).vectors, np.memmap)  # stale: generated again


def test_a_missing_or_unreadable_model_is_named(tmp_path):
    with pytest.raises(LexiconMissing, match="gone.gguf"):
        load_lexicon.__wrapped__(tmp_path / "gone.gguf")
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"not a model")
    with pytest.raises(LexiconMissing, match="bad.gguf"):
        load_lexicon.__wrapped__(bad)
    assert not any(p.exists() for p in lexicon_paths(bad))  # nothing half-written left
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(_model(tmp_path).read_bytes()[:300])  # a real header, cut short
    with pytest.raises(LexiconMissing, match="cut.gguf"):
        load_lexicon.__wrapped__(cut)


def _corpus(tmp_path):
    paras = [f"Paragraph {i}: the king spoke of honour and the crown at length." for i in range(30)]
    f = tmp_path / "court.txt"
    f.write_text("\n\n".join([*paras[:20], FACT, *paras[20:]]))
    store = IndexStore(tmp_path / "index", ScriptedLLM([]).token_counter(), ChunkSettings(size=80, overlap=0))
    return store.corpus([store.add(f)])


def test_the_neighbours_rank_a_fact_that_shares_no_word_with_the_question(tmp_path):
    corpus = _corpus(tmp_path)
    plan = QueryPlan(QUESTION, QUESTION, keywords=["morning", "water"])
    lexicon = build_lexicon(_model(tmp_path))
    with_it = reading_order(Job(corpus, ScriptedLLM([]), 600, 80, lexicon=lexicon), plan)
    without = reading_order(Job(corpus, ScriptedLLM([]), 600, 80), plan)
    assert FACT in with_it[0].chunk.text
    assert FACT not in without[0].chunk.text and without[0].score == 0.0


def test_level2_reads_the_fact_the_neighbours_find_and_answers(tmp_path):
    corpus = _corpus(tmp_path)
    lexicon = build_lexicon(_model(tmp_path))
    # The oracle reads a chunk holding the fact as relevant and proposes no other words itself.
    for source, found in ((lexicon, True), (None, False)):
        llm = ScriptedLLM(Oracle({"morning": FACT}))
        ans = ask_read(QUESTION, Job(corpus, llm, 600, 80, read=ReadSettings(max_chunks=2), lexicon=source))
        assert (FACT in ans.answer) is found, (source, ans.answer, ans.notes)


def test_the_setting_reaches_level2_through_the_api_and_a_missing_model_is_noted(tmp_path, monkeypatch):
    corpus = _corpus(tmp_path)
    model = _model(tmp_path)
    for name, found in (("wordnet,lexicon", True), ("lexicon", True), ("wordnet", False)):
        settings = Settings(home=tmp_path, model=str(model), thesaurus=name, read_max_chunks=2)
        ans = ask_corpus(corpus, QUESTION, settings, ScriptedLLM(Oracle({"morning": FACT})), mode="read")
        assert (FACT in ans.answer) is found, (name, ans.answer)
    # A model name with no local GGUF and no default model installed: answered without it, and said.
    monkeypatch.setenv("LONGDOC_MODEL_HOME", str(tmp_path / "no-models"))
    settings = Settings(home=tmp_path, model="gpt-4o", thesaurus="wordnet,lexicon", read_max_chunks=2)
    ans = ask_corpus(corpus, QUESTION, settings, ScriptedLLM(Oracle({"morning": FACT})), mode="read")
    assert any("no local GGUF model" in n and "without the lexicon" in n for n in ans.notes), ans.notes


def test_only_words_the_lexicon_knows_are_asked():
    lexicon = Lexicon(["dawn"], np.ones((1, 2), dtype=np.float16))
    assert lexicon.asked("the dawn") == ["dawn"] and lexicon.asked("the dusk") == []


@pytest.mark.model
def test_the_lexicon_generated_from_the_shipped_model_finds_words_in_both_languages(tmp_path, small_model_path):
    # A link, so the generated files land in tmp_path, not beside the shared model.
    model = tmp_path / "model.gguf"
    model.symlink_to(small_model_path)
    lexicon = build_lexicon(model)
    assert len(lexicon.words) > 40_000
    assert "清晨" in lexicon.other_words("谁一大早用船把行人送到对岸？", _everything)
    assert "physician" in lexicon.other_words("Which doctor healed the town?", _everything)
    assert "早晨" in lexicon.other_words("in the morning", _everything)  # and across languages
