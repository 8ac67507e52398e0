"""The generator: deterministic, needles where asked, lengths as asked."""

from __future__ import annotations

import random
import re

import pytest

from longdoc.bench import haystack
from longdoc.bench.generate import GenConfig, _without_needles, build_item, generate, load_items
from longdoc.bench.tasks import BUILDERS, PARAPHRASES, TASKS, needle_depths
from longdoc.tokens import EstimateCounter

COUNTER = EstimateCounter()


def _files(root):
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_same_seed_same_bytes(tmp_path):
    config = GenConfig(lengths=[2000], depths=[0, 60], seed=7)
    generate(config, tmp_path / "a", COUNTER)
    generate(config, tmp_path / "b", COUNTER)
    a, b = _files(tmp_path / "a"), _files(tmp_path / "b")
    assert a == b and len(a) == 2 + 2 * len(TASKS) * 2  # items, manifest, one doc per item


def test_other_seed_other_items(tmp_path):
    generate(GenConfig(lengths=[2000], depths=[50], tasks=["single_needle"], seed=1), tmp_path / "a", COUNTER)
    generate(GenConfig(lengths=[2000], depths=[50], tasks=["single_needle"], seed=2), tmp_path / "b", COUNTER)
    assert _files(tmp_path / "a")["items.jsonl"] != _files(tmp_path / "b")["items.jsonl"]


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("length", [4000, 16000])
@pytest.mark.parametrize("task", ["single_needle", "decoy", "paraphrase"])
def test_needle_at_requested_depth_and_length(lang, length, task):
    for depth in (0, 25, 50, 75, 100):
        item, text = build_item(task, lang, length, depth, 0, 11, COUNTER)
        assert abs(COUNTER.count(text) - length) <= 0.02 * length
        # Measured here, independently: the haystack tokens before the true
        # needle (the first) over all haystack tokens.
        needle = item.needles[0]
        at = text.index(needle)
        others = [(n, 0.0) for n in item.needles]
        offsets = [text.index(n) for n in item.needles]
        body = _without_needles(text, others, offsets)
        before = _without_needles(text[:at], others, [o if o < at else len(text) for o in offsets])
        assert abs(COUNTER.count(before) / COUNTER.count(body) - depth / 100) <= 0.02, (item.id, depth)


def test_multi_needle_tasks_spread_their_needles():
    rng = random.Random(3)
    for task in ("multi_needle", "multi_reasoning"):
        for depth in (0.0, 0.5, 1.0):
            depths = sorted(needle_depths(task, depth, rng))
            assert 2 <= len(depths) <= 4
            assert min(b - a for a, b in zip(depths, depths[1:])) >= 0.24  # far apart


def test_multi_reasoning_chain_answer_is_the_last_link():
    spec = BUILDERS["multi_reasoning"](random.Random(5), "en", [0.1, 0.4, 0.7])
    assert len(spec.needles) == 3 and "govern" in spec.question
    assert spec.answer in spec.needles[2][0]


def test_items_round_trip_and_needles_are_in_the_documents(tmp_path):
    generate(GenConfig(lengths=[3000], depths=[30], seed=3), tmp_path, COUNTER)
    items = load_items(tmp_path)
    assert {i.task for i in items} == set(TASKS) and {i.lang for i in items} == {"en", "zh"}
    for item in items:
        doc = (tmp_path / item.doc).read_text(encoding="utf-8")
        assert all(n in doc for n in item.needles)
        assert all(k in " ".join(item.needles) for k in item.keywords)
        # invented: the answer is nowhere in the haystack itself
        assert all(doc.count(k) == " ".join(item.needles).count(k) for k in item.keywords)


def _content_words(text: str) -> set[str]:
    stop = {
        "the",
        "of",
        "a",
        "in",
        "which",
        "where",
        "do",
        "does",
        "each",
        "every",
        "their",
        "for",
        "into",
        "when",
        "during",
        "with",
        "out",
        "its",
        "s",
    }
    return {w for w in re.findall(r"[a-z]+", text.lower()) if w not in stop}


def test_paraphrase_question_shares_no_content_word_with_the_fact():
    for fact, question in PARAPHRASES["en"]:
        assert not _content_words(fact.format(v="")) & _content_words(question), question
    for fact, question in PARAPHRASES["zh"]:
        f = fact.format(v="")
        bigrams = {f[i : i + 2] for i in range(len(f) - 1)}
        shared = {question[i : i + 2] for i in range(len(question) - 1)} & bigrams
        assert not shared, (question, shared)


def test_pfr_tags_and_ids_are_stripped():
    line = "19980101-01-001-002/m  中共中央/nt  [中国/ns  人民/n]nt  ，/w  江/nr  泽民/nr"
    assert haystack.strip_pfr(line) == "中共中央中国人民，江泽民"
    assert all("/" not in u.text for u in haystack.chinese_units()[:200])


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_unanswerable_items_ask_what_the_document_never_says(tmp_path, lang):
    items = generate(
        GenConfig(lengths=[2000], depths=[0, 25, 50, 75, 100], tasks=["unanswerable"], langs=[lang]), tmp_path, COUNTER
    )
    assert len(items) == 5 and all(i.refusal and i.keywords == [] and i.answer == "" for i in items)
    for item in items:
        text = (tmp_path / item.doc).read_text(encoding="utf-8")
        planted = item.decoy_values[0]
        assert planted in text and item.needles[0] in text  # the fact is there, its value is the wrong answer
        assert planted not in item.question


def test_unanswerable_items_cover_both_kinds():
    kinds = set()
    for seed in range(40):
        spec = BUILDERS["unanswerable"](random.Random(seed), "en", [0.5])
        fact = spec.needles[0][0]
        place_in_fact = all(
            w in fact
            for w in re.findall(r"\b[A-Z][a-z]+\b", spec.question)
            if w not in ("In", "What", "How", "Who", "Which", "Point")
        )
        kinds.add("other attribute" if place_in_fact else "unknown place")
    assert kinds == {"other attribute", "unknown place"}


def test_multi_reasoning_chains_of_the_lengths_asked(tmp_path):
    items = generate(
        GenConfig(lengths=[2000], depths=[50], tasks=["multi_reasoning"], langs=["en"], hops=[2, 3]), tmp_path, COUNTER
    )
    assert [len(i.needles) for i in items] == [2, 3]
    assert [i.id for i in items] == ["multi_reasoning-en-2k-d050-h2", "multi_reasoning-en-2k-d050-h3"]
    assert needle_depths("multi_reasoning", 0.5, random.Random(1), hops=4) == [0.125, 0.375, 0.625, 0.875]


def test_several_configs_make_one_item_set(tmp_path):
    configs = (
        GenConfig(lengths=[2000], depths=[50], tasks=["single_needle"], langs=["en"]),
        GenConfig(lengths=[3000], depths=[25, 75], tasks=["unanswerable"], langs=["zh"]),
    )
    items = generate(configs, tmp_path, COUNTER)
    assert (
        [i.id for i in load_items(tmp_path)]
        == [i.id for i in items]
        == [
            "single_needle-en-2k-d050",
            "unanswerable-zh-3k-d025",
            "unanswerable-zh-3k-d075",
        ]
    )
