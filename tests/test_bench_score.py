"""Scorers against hand-worked examples (the arithmetic is in the comments)."""

from __future__ import annotations

import pytest

from longdoc.bench.score import levenshtein, lveval, needlebench, recall, score, tokens


def test_levenshtein():
    assert levenshtein("kitten", "sitting") == 3
    assert levenshtein("", "abc") == 3
    assert levenshtein("same", "same") == 0


def test_needlebench_keyword_present_scores_full():
    assert needlebench("The keeper is Nes Nourork, I think.", "Nes Nourork", ["Nes Nourork"]) == 1.0
    # case does not matter
    assert needlebench("nes nourork", "Nes Nourork", ["Nes Nourork"]) == 1.0


def test_needlebench_keyword_missing_scores_fifth_of_similarity():
    # whitespace removed: "NesNourok" vs "NesNourork": one insertion, max len 10
    # -> similarity 0.9, keyword absent -> 0.2 * 0.9 = 0.18
    assert needlebench("Nes Nourok", "Nes Nourork", ["Nes Nourork"]) == pytest.approx(0.18)


def test_needlebench_averages_over_keywords():
    # "K-592; Z-222" has 1 of 2 keywords -> (1 + 0.2 * sim) / 2
    # pred "K-592" vs gold "K-592;Z-222": 6 deletions over 11 chars -> sim 5/11
    got = needlebench("K-592", "K-592; Z-222", ["K-592", "Z-222"])
    assert got == pytest.approx((1 + 0.2 * 5 / 11) / 2)


def test_tokens_english_drops_case_punctuation_articles():
    assert tokens("The keeper is Nes Nourork.", "en") == ["keeper", "is", "nes", "nourork"]


def test_tokens_chinese_uses_jieba_and_drops_punctuation():
    assert tokens("我爱北京。", "zh") == ["我", "爱", "北京"]


def test_lveval_english_gate_then_f1():
    # prediction tokens: [keeper, is, nes, nourork] (4); gold: [nes, nourork] (2)
    # keyword recall 2/2 passes; common 2 -> P 2/4, R 2/2 -> F1 = 2*0.5*1/1.5 = 2/3
    assert lveval("The keeper is Nes Nourork.", "Nes Nourork", ["Nes Nourork"], "en") == pytest.approx(2 / 3)


def test_lveval_gate_blocks_answers_without_the_keyword():
    # gold tokens [nes, nourork]; prediction shares only "nes": recall 1/2 = 0.5 >= 0.2 passes in English
    assert lveval("nes", "Nes Nourork", ["Nes Nourork"], "en") == pytest.approx(2 * 1 * 0.5 / 1.5)
    # but a prediction that shares words with the answer and not the keyword is gated to 0
    assert lveval("keeper of the archive", "the keeper Nes", ["Nes"], "en") == 0.0


def test_lveval_keeps_answers_apart_across_punctuation():
    # pred tokens [密码, 是, z, 499, k, 906]: all keyword tokens but t/378 -> recall 4/6 passes 0.4
    # gold tokens [z, 499, t, 378, k, 906]; common 4 -> P 4/6, R 4/6 -> F1 2/3
    got = lveval("密码是Z-499，K-906", "Z-499；T-378；K-906", ["Z-499", "T-378", "K-906"], "zh")
    assert tokens("密码是Z-499，K-906", "zh") == ["密码", "是", "z", "499", "k", "906"]
    assert got == pytest.approx(2 / 3)


def test_lveval_chinese_threshold_is_higher():
    # keyword "北京大学" -> jieba ["北京大学"]; prediction "北京" -> ["北京"]: recall 0 < 0.4 -> 0
    assert lveval("北京", "北京大学", ["北京大学"], "zh") == 0.0
    # exact answer: recall 1, F1 1
    assert lveval("北京大学", "北京大学", ["北京大学"], "zh") == 1.0


def test_relaxed_recall_ignores_case_space_punctuation_and_width():
    assert recall("The codes are k 592 and Ｚ－２２２.", ["K-592", "Z-222"]) == 1.0
    assert recall("K-592 only", ["K-592", "Z-222"]) == 0.5
    assert recall("守塔人是邝珂砚。", ["邝珂砚"]) == 1.0
    assert recall("", ["x"]) == 0.0


def test_score_flags_a_named_decoy():
    s = score("It is Dis Sukoth.", "Nair Thosir", ["Nair Thosir"], "en", ["Dis Sukoth"])
    assert s.decoy_hit and s.recall == 0.0


@pytest.mark.parametrize(
    "prediction",
    [
        "The documents do not say.",
        "The passages do not mention who keeps it.",
        "There is no information about the lighthouse's colour.",
        "文档中没有提到。",
        "段落中未提及该钟楼的高度。",
    ],
)
def test_a_refusal_scores_one_on_an_unanswerable_item(prediction):
    s = score(prediction, "", [], "en", ["Sor Reitreis"], refusal=True)
    assert (s.recall, s.needlebench, s.lveval, s.decoy_hit) == (1.0, 1.0, 1.0, False)


@pytest.mark.parametrize(
    "prediction, decoy",
    [
        ("The lighthouse is kept by Sor Reitreis [1].", True),  # the planted fact's value
        ("It was built in 1820.", False),  # an invented answer
        ("The documents do not say, but Sor Reitreis keeps a lighthouse.", True),  # refuses yet names the value
    ],
)
def test_an_answer_scores_zero_on_an_unanswerable_item(prediction, decoy):
    s = score(prediction, "", [], "en", ["Sor Reitreis"], refusal=True)
    assert s.recall == 0.0 and s.decoy_hit is decoy
