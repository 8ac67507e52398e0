"""Level 1 without its planning call when the question's own words single out
a passage (retrieve.clear_lead); the calls the scripted model receives show
whether the plan was asked for."""

import json

import pytest

from corpora import corpus_of
from longdoc import api
from longdoc.agents.auto import ask_auto
from longdoc.agents.context import Job, ReadSettings
from longdoc.agents.rag import ask_rag
from longdoc.agents.read import ask_read
from longdoc.config import Settings, load_settings
from longdoc.errors import ConfigError
from longdoc.index.terms import script_of
from longdoc.llm.scripted import ScriptedLLM
from longdoc.prompts import EN, ZH
from longdoc.retrieve import CLEAR_RATIO, clear_lead, lead

NEEDLE = "The bell tower of Karvo was restored by the mason Edda Marn in 1931."
Q = "Which mason restored the bell tower of Karvo?"
PLAN = json.dumps({"information": Q, "keywords_en": ["bell tower", "Karvo", "mason"]})
ZH_NEEDLE = "卡尔沃角的灯塔守护人是艾达·马恩。"
ZH_Q = "卡尔沃角的灯塔守护人是谁？"


_corpus = corpus_of


def _filler(n, start=0):
    return [
        f"Paragraph {i} is about the harbour, the boats and the tides of the northern coast." for i in range(start, n)
    ]


def _clear(tmp_path):
    """The needle, and two passages that share a word or two of the question with it."""
    return _corpus(
        tmp_path,
        _filler(40) + ["The bell of the harbour chapel rings at noon."] + _filler(80, 40) + [NEEDLE] + _filler(120, 80),
    )


def _systems(llm):
    return [c.messages[0].content for c in llm.calls]


def test_a_clear_lead_skips_the_planning_call(tmp_path):
    corpus = _clear(tmp_path)
    llm = ScriptedLLM(["Edda Marn restored it [1]."])
    ans = ask_rag(Q, Job(corpus, llm, 1000, 60))
    assert _systems(llm) == [EN.answer_system]  # the answer only: no planning call
    assert ans.usage.llm_calls == 1
    assert ans.answer == "Edda Marn restored it [1]." and "Edda Marn" in ans.citations[0].text
    found = lead(corpus, Q)
    assert found is not None and found.coverage == 1.0 and found.ratio >= CLEAR_RATIO
    skipped = [n for n in ans.notes if n.startswith("plan call skipped")]
    assert skipped == [
        f"plan call skipped: the question's words rank one passage far above the rest (ratio {found.ratio:.1f})"
    ]
    assert "plan" in ans.timings  # the rule's search is timed as the planning step


def test_a_clear_lead_leaves_out_passages_that_share_little_with_the_question(tmp_path):
    # The chapel's passage shares one word ("bell"): kept whole beside a planned
    # question (its fact may be worded differently), left out when the question's
    # own words single out the needle, which then holds the answer.
    corpus = _clear(tmp_path)
    prompts = {}
    for skip in (True, False):
        llm = ScriptedLLM(["Edda Marn [1]."] if skip else [PLAN, "Edda Marn [1]."])
        ask_rag(Q, Job(corpus, llm, 1000, 60, skip_plan=skip))
        prompts[skip] = llm.calls[-1].messages[-1].content
    assert NEEDLE in prompts[True] and NEEDLE in prompts[False]
    assert "chapel" in prompts[False] and "chapel" not in prompts[True]
    assert "[2]" not in prompts[True]


def test_a_passage_no_other_matches_is_said_so(tmp_path):
    corpus = _corpus(tmp_path, [*_filler(60), NEEDLE, *_filler(90, 60)])
    ans = ask_rag(Q, Job(corpus, ScriptedLLM(["Edda Marn [1]."]), 1000, 60))
    assert any(n.endswith("(no other passage matches)") for n in ans.notes), ans.notes


def test_an_ambiguous_ranking_keeps_the_call(tmp_path):
    # Two passages hold every word of the question: neither leads by CLEAR_RATIO.
    twin = "The bell tower of Karvo was restored again by the mason Osk Tarrow."
    corpus = _corpus(tmp_path, [*_filler(30), NEEDLE, *_filler(90, 30), twin, *_filler(120, 90)])
    found = lead(corpus, Q)
    assert found is not None and found.coverage == 1.0 and found.ratio < CLEAR_RATIO
    llm = ScriptedLLM([PLAN, "Edda Marn [1]."])
    ans = ask_rag(Q, Job(corpus, llm, 1000, 60))
    assert _systems(llm) == [EN.query_system, EN.answer_system]
    assert not any(n.startswith("plan call skipped") for n in ans.notes)


def test_a_question_word_the_passage_lacks_keeps_the_call(tmp_path):
    # A far lead, but "province" is in no sentence of it: the second link of a
    # chain, or a fact told in other words, which the plan's keywords may find.
    corpus = _corpus(tmp_path, [*_filler(60), "Tam Velk was born in the town of Dunmarsh.", *_filler(90, 60)])
    q = "In which province was Tam Velk born?"
    found = lead(corpus, q)
    assert found is not None and found.ratio >= CLEAR_RATIO and found.coverage == 0.75
    assert clear_lead(corpus, q) is None
    llm = ScriptedLLM([json.dumps({"information": q, "keywords_en": ["Tam Velk", "province"]}), "Dunmarsh [1]."])
    ask_rag(q, Job(corpus, llm, 1000, 60))
    assert _systems(llm)[0] == EN.query_system


def test_a_question_in_another_language_keeps_the_call(tmp_path):
    # English documents with the fact in Chinese: the question's words alone
    # single it out, but a Chinese question over English documents needs the
    # plan's English keywords, so the call stays.
    corpus = _corpus(tmp_path, [*_filler(60), ZH_NEEDLE, *_filler(90, 60)])
    found = lead(corpus, ZH_Q)
    assert found is not None and found.coverage == 1.0 and found.ratio >= CLEAR_RATIO
    assert corpus.scripts() == {"latin"} and clear_lead(corpus, ZH_Q) is None
    plan = json.dumps({"information": ZH_Q, "keywords_en": ["Karvo Point", "lighthouse keeper"], "keywords_zh": []})
    llm = ScriptedLLM([plan, "艾达·马恩 [1]"])
    ask_rag(ZH_Q, Job(corpus, llm, 1000, 60))
    assert _systems(llm) == [ZH.query_system, ZH.answer_system]


def test_a_chinese_question_over_chinese_documents_skips(tmp_path):
    paras = [f"第{i}段讲的是港口、船只和北方海岸的潮汐。" for i in range(80)]
    paras.insert(60, ZH_NEEDLE)
    corpus = _corpus(tmp_path, paras, "海岸.txt")
    llm = ScriptedLLM(["艾达·马恩 [1]"])
    ans = ask_rag(ZH_Q, Job(corpus, llm, 1000, 60))
    assert _systems(llm) == [ZH.answer_system]
    assert ans.citations[0].file == "海岸.txt"


def test_the_off_switch_keeps_the_call(tmp_path):
    corpus = _clear(tmp_path)
    llm = ScriptedLLM([PLAN, "Edda Marn [1]."])
    ask_rag(Q, Job(corpus, llm, 1000, 60, skip_plan=False))
    assert _systems(llm) == [EN.query_system, EN.answer_system]
    # The setting, as `--plan always` or LONGDOC_PLAN=always sets it.
    llm = ScriptedLLM([PLAN, "Edda Marn [1]."])
    api.ask_corpus(corpus, Q, Settings(plan="always"), llm, mode="rag")
    assert _systems(llm) == [EN.query_system, EN.answer_system]
    llm = ScriptedLLM(["Edda Marn [1]."])
    api.ask_corpus(corpus, Q, Settings(), llm, mode="rag")
    assert _systems(llm) == [EN.answer_system]


def test_the_setting_is_read_and_checked(tmp_path):
    env = {"LONGDOC_HOME": str(tmp_path)}
    assert load_settings({}, env=env)[0].plan == "auto"
    settings, sources = load_settings({}, env={**env, "LONGDOC_PLAN": "always"})
    assert settings.plan == "always" and sources["plan"] == "env LONGDOC_PLAN"
    with pytest.raises(ConfigError, match="unknown plan setting 'never'"):
        load_settings({"plan": "never"}, env=env)


def _model(answers):
    """Plans, reads and answers for NEEDLE's question; `answers` are the answer step's replies in turn."""
    replies = iter(answers)

    def model(messages):
        system, user = messages[0].content, messages[-1].content
        if system == EN.query_system:
            return PLAN
        if system == EN.expand_system:
            return ""
        if system == EN.reader_system:
            return "Edda Marn" if NEEDLE in user else "none"
        return next(replies)

    return model


def test_auto_skips_in_its_first_step_and_plans_when_it_reads(tmp_path):
    corpus = _clear(tmp_path)
    llm = ScriptedLLM(_model(["Edda Marn restored it [1]."]))
    ans = ask_auto(Q, Job(corpus, llm, 1000, 60))
    assert ans.mode == "rag" and _systems(llm) == [EN.answer_system]
    assert any(n.startswith("plan call skipped") for n in ans.notes)
    # Level 1's answer fails the checks: Level 2 reads, with a plan made then.
    llm = ScriptedLLM(_model(["The documents do not say.", "Edda Marn restored it [1]."]))
    ans = ask_auto(Q, Job(corpus, llm, 1000, 60, read=ReadSettings(strategy="all")))
    systems = _systems(llm)
    assert ans.mode == "read" and "Edda Marn" in ans.answer
    assert systems[0] == EN.answer_system and systems.count(EN.query_system) == 1
    assert systems.index(EN.query_system) == 1  # planned once Level 1 had failed
    assert ans.usage.llm_calls == len(llm.calls)


def test_level_2_always_plans(tmp_path):
    corpus = _clear(tmp_path)
    llm = ScriptedLLM(_model(["Edda Marn restored it [1]."]))
    ask_read(Q, Job(corpus, llm, 1000, 60, read=ReadSettings(strategy="all")))
    assert _systems(llm)[0] == EN.query_system


def test_script_of():
    assert script_of("Who keeps the lighthouse on 卡尔沃角?") == "latin"
    assert script_of("Karvo Point的灯塔守护人是谁？") == "cjk"
    assert script_of("Кто хранит маяк на мысе Карво?") == "cyrillic"
    assert script_of("1931?") == ""
