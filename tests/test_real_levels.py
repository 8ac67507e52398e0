"""Levels 2 and 3 end to end through the real embedded model.

Most use the default 1.5B model: measured on our probes, the 0.5B reader
says "none" to a paraphrased fact as readily as to filler (P(none) 0.80 on
the fact's chunk against 0.66-0.74 on others), so it cannot pass them.
"""

import pytest

from longdoc.api import ask
from longdoc.config import load_settings
from test_real_model import EN_FILLER, ZH_FILLER, _haystack

pytestmark = [pytest.mark.model, pytest.mark.slow]


def _settings(**flags):
    return load_settings({"threads": 2, **flags})[0]


def test_level2_finds_an_english_paraphrase(tmp_path, default_llm):
    # No content word of the question appears in the fact.
    fact = "Edda Marn tends the beacon that guards the northern cape."
    doc = tmp_path / "harbour.txt"
    doc.write_text(_haystack(EN_FILLER, fact, 120, 77))  # ~8k tokens
    ans = ask([doc], "Who keeps the lighthouse?", _settings(read_strategy="all"), mode="read", llm=default_llm)
    assert "Marn" in ans.answer, ans
    assert ans.mode == "read" and ans.usage.chunks_read == ans.usage.chunks_total
    assert any("Edda Marn" in c.text for c in ans.citations)


def test_level2_finds_a_chinese_paraphrase(tmp_path, default_llm):
    fact = "艾达·马恩照管着守护北岬的航标灯。"
    doc = tmp_path / "港口.txt"
    doc.write_text(_haystack(ZH_FILLER, fact, 100, 64))  # ~8k tokens
    ans = ask([doc], "谁是灯塔看守人？", _settings(read_strategy="all"), mode="read", llm=default_llm)
    assert "马恩" in ans.answer, ans
    assert any("马恩" in c.text for c in ans.citations)


def test_level2_answers_a_chinese_question_that_names_nothing_from_a_fact_in_other_words(tmp_path, default_llm):
    # No character pair of the question is in the fact; its reader's sentence names
    # none of the question's words, which must not count against it (the question
    # names nothing: no person, no place).
    fact = "瓦恩霍尔特的果农每年秋天把梨酿成紫色的果酒。"
    doc = tmp_path / "果园.txt"
    doc.write_text(_haystack(ZH_FILLER, fact, 100, 64))  # ~8k tokens
    question = "哪里的种植户在落叶时节将收获的水果制作为一种紫红饮料？"
    ans = ask([doc], question, _settings(read_strategy="all"), mode="read", llm=default_llm)
    assert "瓦恩霍尔特" in ans.answer, ans
    assert any("瓦恩霍尔特" in c.text for c in ans.citations)


def test_ranked_level2_finds_a_paraphrase_through_the_models_other_words(tmp_path, default_llm):
    # BM25 scores the fact's chunk 0 for the question's words; only the model's
    # other words ("physician", "cured", ...) can bring it into the first batch.
    fact = "Physician Lira Quade cured the fever that swept Dunmore in the year of the flood."
    doc = tmp_path / "chronicle.txt"
    doc.write_text(_haystack(EN_FILLER, fact, 400, 300))  # ~22k tokens, ~45 chunks
    ans = ask(
        [doc],
        "Which doctor healed the sickness that spread through the town?",
        _settings(read_max_chunks=4),
        mode="read",
        llm=default_llm,
    )
    assert "Quade" in ans.answer, ans
    assert ans.usage.chunks_read <= 4 < ans.usage.chunks_total // 8


def test_ranked_level2_finds_a_paraphrase_the_model_has_no_words_for_through_wordnet(tmp_path, default_llm):
    # The 1.5B's other words for "Who keeps the lighthouse?" are "keeper, guardian,
    # caretaker, watchman" (docs/benchmarks.md): only WordNet's "beacon" ranks the fact.
    # With --thesaurus off (7 Dec) the same four reads gave "The harbour master keeps
    # the lighthouse. [1]" from the filler.
    fact = "Edda Marn tends the beacon that guards the northern cape."
    doc = tmp_path / "harbour.txt"
    doc.write_text(_haystack(EN_FILLER, fact, 400, 300))  # ~22k tokens, ~45 chunks
    ans = ask([doc], "Who keeps the lighthouse?", _settings(read_max_chunks=4), mode="read", llm=default_llm)
    assert "Marn" in ans.answer, ans
    assert any(fact in c.text for c in ans.citations)
    assert ans.usage.chunks_read <= 4 < ans.usage.chunks_total // 8


def test_level3_answers_a_two_hop_question(tmp_path, default_llm):
    hop1 = "The capital of Veloria is the river city of Dunmarsh."
    hop2 = "The mayor of Dunmarsh is a former sailor named Ilse Quorn."
    paras = _haystack(EN_FILLER, hop1, 100, 8).split("\n\n")
    paras.insert(90, hop2)
    doc = tmp_path / "atlas.txt"
    doc.write_text("\n\n".join(paras))
    ans = ask([doc], "Who is the mayor of the capital of Veloria?", _settings(), mode="agent", llm=default_llm)
    assert "Quorn" in ans.answer, ans
    assert ans.mode == "agent"
    quoted = " ".join(c.text for c in ans.citations)
    assert "Dunmarsh" in quoted and "Quorn" in quoted


def test_the_small_reader_answers_from_the_facts_chunk_and_says_none_to_filler(tmp_path, small_model_path, small_llm):
    from longdoc.agents.reader import read_chunk
    from longdoc.api import build_corpus
    from longdoc.progress import Tracker
    from longdoc.prompts import EN
    from longdoc.records import QueryPlan
    from longdoc.retrieve import rank

    needle = "The lighthouse on Karvo Point is kept by a woman named Edda Marn."
    question = "Who keeps the lighthouse on Karvo Point?"
    doc = tmp_path / "harbour.txt"
    doc.write_text(_haystack(EN_FILLER, needle, 60, 41))
    settings = _settings(model=str(small_model_path))
    corpus, _ = build_corpus([doc], settings, Tracker(), small_llm.token_counter())
    ranked = [h.chunk for h in rank(corpus, QueryPlan(question, question), k=len(corpus.chunks))]
    fact = next(c for c in ranked if needle in c.text)
    filler = [c for c in ranked if needle not in c.text][:3]  # the filler a ranked reader meets first

    def read(chunk):
        return read_chunk(question, chunk.text, small_llm, EN, corpus.analyzer, 160)[0]

    found = read(fact)
    assert found.answer and "Marn" in found.answer and found.relevance >= 0.5, found
    assert found.sentence == needle
    for chunk in filler:
        verdict = read(chunk)
        assert verdict.answer is None or verdict.relevance < 0.5, verdict


def test_level2_reads_a_window_of_the_facts_chunk_and_answers_as_from_the_whole(tmp_path, small_model_path, small_llm):
    needle = "The lighthouse on Karvo Point is kept by a woman named Edda Marn."
    doc = tmp_path / "harbour.txt"
    doc.write_text(_haystack(EN_FILLER, needle, 60, 41))
    question = "Who keeps the lighthouse on Karvo Point?"
    runs = {}
    for window in (256, 0):
        settings = _settings(model=str(small_model_path), read_window=window)
        runs[window] = ask([doc], question, settings, mode="read", llm=small_llm)
    for ans in runs.values():
        assert "Marn" in ans.answer and any(needle in c.text for c in ans.citations), ans
    windowed, whole = runs[256].usage, runs[0].usage
    assert windowed.chunks_read == whole.chunks_read
    assert windowed.prompt_tokens < whole.prompt_tokens - 150  # the fact's chunk cut to its window


@pytest.mark.parametrize(
    "question",
    ["What colour is the lighthouse on Karvo Point painted?", "Who keeps the lighthouse on Sorrel Point?"],
    ids=["another-attribute", "another-place"],
)
def test_a_question_the_document_does_not_answer_is_refused(tmp_path, small_model_path, small_llm, question):
    from longdoc.citations import is_not_found
    from longdoc.prompts import EN

    needle = "The lighthouse on Karvo Point is kept by a woman named Edda Marn."
    doc = tmp_path / "harbour.txt"
    doc.write_text(_haystack(EN_FILLER, needle, 60, 41))
    ans = ask([doc], question, _settings(model=str(small_model_path)), llm=small_llm)  # auto
    assert is_not_found(ans.answer, EN), ans
    assert "Marn" not in ans.answer


def test_level2_reads_on_from_the_first_link_of_a_chinese_chain(tmp_path, small_model_path, small_llm):
    # The first fact gives a town where a province is asked: Level 2 asks which
    # province that town is in of the chunks that name it.
    paras = _haystack(ZH_FILLER, "蒲蓁泓出生在澄沅岭镇。", 100, 20).split("\n\n")
    paras.insert(80, "澄沅岭镇位于漪榆渡省。")
    doc = tmp_path / "地方志.txt"
    doc.write_text("\n\n".join(paras))
    ans = ask([doc], "蒲蓁泓出生在哪个省？", _settings(model=str(small_model_path)), mode="read", llm=small_llm)
    assert "漪榆渡" in ans.answer, ans
    assert any("read on from a link" in n and "澄沅岭镇" in n for n in ans.notes), ans.notes
    assert any("澄沅岭镇位于漪榆渡省" in c.text for c in ans.citations), ans.citations


def test_level2_answers_a_three_fact_chain_through_a_place_named_by_a_clause(tmp_path, small_model_path, small_llm):
    # No reader can answer the question from one chunk: the town, its province
    # and the province's governor are told far apart. Level 2 asks where the
    # place of the clause is, reads on from the town, then asks who governs the province.
    paras = _haystack(EN_FILLER, "Thand Damork was born in the town of Honais.", 120, 20).split("\n\n")
    paras.insert(60, "The town of Honais lies in the province of Rubral.")
    paras.insert(100, "The province of Rubral is governed by Neis Quousax.")
    doc = tmp_path / "gazetteer.txt"
    doc.write_text("\n\n".join(paras))
    question = "Who governs the province in which Thand Damork was born?"
    ans = ask([doc], question, _settings(model=str(small_model_path)), mode="read", llm=small_llm)
    assert "Neis Quousax" in ans.answer, ans
    cited = " ".join(c.text for c in ans.citations)
    assert "Honais" in cited and "Rubral" in cited and "Neis Quousax" in cited, ans.citations
    assert any('the chain reached "Rubral"' in n for n in ans.notes), ans.notes
