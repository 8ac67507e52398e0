import json

import pytest

from corpora import corpus_of
from longdoc.agents.answer import drop_echoed_label
from longdoc.agents.context import Job
from longdoc.agents.rag import ask_rag
from longdoc.citations import is_not_found, marker_numbers, repoint_markers
from longdoc.llm.scripted import ScriptedLLM
from longdoc.prompts import EN, ZH
from longdoc.retrieve import Evidence, focus_evidence

NEEDLE = "The lighthouse on Karvo Point is kept by Edda Marn, who lit it first in 1931."
DECOY = "The lighthouse on Karvo Ridge is kept by Osk Tarrow, a retired pilot."


_corpus = corpus_of


def _filler(n, topic="the harbour, the boats and the tides"):
    return [f"Paragraph {i} is about {topic} of the northern coast in spring." for i in range(n)]


def _passage_1(llm):
    """The text of passage [1] in the answer prompt."""
    prompt = llm.calls[1].messages[-1].content
    return prompt.split("[1]", 1)[1].split("\n\n[2]")[0]


def _plan(info, *keywords):
    return json.dumps({"information": info, "instruction": "", "keywords_en": list(keywords), "keywords_zh": []})


def test_answers_from_the_planted_passage_with_a_citation(tmp_path):
    paras = _filler(200)
    paras.insert(150, NEEDLE)
    corpus = _corpus(tmp_path, paras)
    llm = ScriptedLLM(
        [
            _plan("Who keeps the lighthouse on Karvo Point?", "Karvo Point", "lighthouse keeper"),
            "Edda Marn keeps it [1].",
        ]
    )
    streamed = []
    ans = ask_rag("Who keeps the lighthouse on Karvo Point?", Job(corpus, llm, 1000, 100, on_token=streamed.append))
    assert ans.answer == "Edda Marn keeps it [1]."
    assert "".join(streamed).strip() == ans.answer
    assert ans.mode == "rag" and ans.usage.llm_calls == 2
    assert ans.citations[0].file == "coast.txt"
    assert "Edda Marn" in ans.citations[0].text
    # the planted passage is passage [1] of the answer prompt, and the budget held
    assert NEEDLE in _passage_1(llm)
    assert llm.calls[1].options.max_tokens == 100
    assert set(ans.timings) >= {"plan", "retrieve", "generate"}


def test_exact_name_beats_a_look_alike(tmp_path):
    paras = _filler(60)
    paras.insert(10, DECOY + " Karvo lighthouse, Karvo lighthouse, the lighthouse.")
    paras.insert(40, NEEDLE)
    corpus = _corpus(tmp_path, paras)
    llm = ScriptedLLM([_plan("Who keeps the lighthouse on Karvo Point?", "Karvo Point"), "Edda Marn [1]"])
    ask_rag("Who keeps the lighthouse on Karvo Point?", Job(corpus, llm, 1000, 50))
    assert NEEDLE in _passage_1(llm)
    assert "[2]" in llm.calls[1].messages[-1].content  # the look-alike is there too, ranked below


def test_nothing_found_says_so_without_an_answer_call(tmp_path):
    corpus = _corpus(tmp_path, _filler(30))
    llm = ScriptedLLM([_plan("zebra population", "zebra", "savanna")])
    ans = ask_rag("How many zebras live on the savanna?", Job(corpus, llm, 1000, 50))
    assert ans.answer.startswith(EN.not_found) and "zebra" in ans.answer
    assert ans.citations == [] and len(llm.calls) == 1


def test_model_saying_not_found_gets_no_citations(tmp_path):
    corpus = _corpus(tmp_path, _filler(30))
    llm = ScriptedLLM([_plan("boats", "boats"), "The documents do not say."])
    ans = ask_rag("What colour are the boats?", Job(corpus, llm, 1000, 50))
    assert ans.citations == []


@pytest.mark.parametrize(
    "reply, note",
    [
        ("It keeps the lighthouse on Karvo Point [1].", "only repeats the question; not used"),
        # The 1.5B replied "[1]" and nothing else; auto then took it for Level 1's answer.
        ("[1]。", "citation markers alone; not used"),
    ],
)
def test_replies_that_say_nothing_are_not_answers(tmp_path, reply, note):
    corpus = _corpus(tmp_path, [*_filler(10), NEEDLE, *_filler(10)])
    question = "Who keeps the lighthouse on Karvo Point?"
    llm = ScriptedLLM([_plan(question, "lighthouse", "Karvo Point"), reply])
    ans = ask_rag(question, Job(corpus, llm, 1000, 50))
    assert is_not_found(ans.answer, EN) and ans.citations == []
    assert any(note in n for n in ans.notes)


def test_answer_call_failure_degrades_to_cited_passages(tmp_path):
    paras = _filler(50)
    paras.insert(20, NEEDLE)
    corpus = _corpus(tmp_path, paras)
    llm = ScriptedLLM([_plan("Karvo Point keeper", "Karvo Point")], fail_on={2})
    ans = ask_rag("Who keeps Karvo Point?", Job(corpus, llm, 1000, 50))
    assert "could not answer" in ans.answer and "failure on call 2" in ans.answer
    assert ans.citations and "failure on call 2" in ans.notes[-1]


def test_broken_plan_falls_back_to_question_words(tmp_path):
    paras = _filler(50)
    paras.insert(20, NEEDLE)
    corpus = _corpus(tmp_path, paras)
    llm = ScriptedLLM(["no json here at all", "Edda Marn [1]"])
    ans = ask_rag("Who keeps the lighthouse on Karvo Point?", Job(corpus, llm, 1000, 50))
    assert NEEDLE in _passage_1(llm)
    assert any("question's words" in n for n in ans.notes)


def test_chinese_question_gets_chinese_prompts(tmp_path):
    paras = [f"第{i}段讲的是港口、船只和北方海岸的潮汐。" for i in range(80)]
    paras.insert(60, "卡尔沃角的灯塔由艾达·马恩看守，她在1931年第一次点亮了它。")
    corpus = _corpus(tmp_path, paras, "海岸.txt")
    llm = ScriptedLLM(
        [
            json.dumps(
                {
                    "information": "谁看守卡尔沃角的灯塔？",
                    "keywords_zh": ["卡尔沃角", "灯塔"],
                    "keywords_en": ["Karvo Point"],
                }
            ),
            "艾达·马恩 [1]",
        ]
    )
    ans = ask_rag("卡尔沃角的灯塔由谁看守？", Job(corpus, llm, 1000, 50, skip_plan=False))
    assert llm.calls[0].messages[0].content == ZH.query_system
    assert llm.calls[1].messages[0].content == ZH.answer_system
    assert "艾达·马恩" in _passage_1(llm)
    assert ans.citations[0].file == "海岸.txt"


def test_not_found_detection():
    assert is_not_found("The documents do not say.", EN)
    assert is_not_found("文档中没有提到。", ZH)
    assert not is_not_found("Edda Marn keeps it [1].", EN)


def test_marker_numbers_reads_every_number_of_a_list():
    assert marker_numbers("A [2][1, 3] and [3，4] but not [9] or [x].", limit=5) == [2, 1, 3, 4]


def test_a_marker_on_a_passage_without_the_answer_is_repointed(tmp_path):
    corpus = _corpus(tmp_path, [NEEDLE, *_filler(40)])
    needle, filler = (
        next(c for c in corpus.chunks if NEEDLE in c.text),
        next(c for c in corpus.chunks if NEEDLE not in c.text),
    )
    evidence = [Evidence(filler, 1.0, filler.text, 30), Evidence(needle, 0.9, NEEDLE, 20)]
    question = "Who keeps the lighthouse?"
    text, note = repoint_markers("Edda Marn keeps the lighthouse [1].", evidence, question, corpus.analyzer)
    assert text == "Edda Marn keeps the lighthouse [2]." and "[1] -> [2]" in note
    # a right marker, or an answer with no terms of its own, is left alone
    assert repoint_markers("Edda Marn keeps it [2].", evidence, question, corpus.analyzer) == (
        "Edda Marn keeps it [2].",
        None,
    )
    assert repoint_markers("The lighthouse [1].", evidence, question, corpus.analyzer)[1] is None


def test_passages_are_cut_to_the_sentences_that_share_the_question_s_terms(tmp_path):
    scene = "OFFICER. See where he comes. ANGELO. Here is the note of how much your chain weighs."
    corpus = _corpus(tmp_path, [f"{scene} {NEEDLE} DROMIO. I buy a rope!", *_filler(40)])
    llm = ScriptedLLM(
        [_plan("Who keeps the lighthouse on Karvo Point?", "Karvo Point", "lighthouse"), "Edda Marn [1]."]
    )
    ans = ask_rag("Who keeps the lighthouse on Karvo Point?", Job(corpus, llm, 1000, 100))
    assert _passage_1(llm).splitlines()[1] == NEEDLE  # the fact alone, not the scene around it
    assert "ANGELO" not in llm.calls[1].messages[-1].content
    assert NEEDLE in ans.citations[0].text


def test_a_passage_without_sentences_that_share_the_question_s_terms_is_kept_whole(tmp_path):
    corpus = _corpus(tmp_path, [NEEDLE + " Gulls circled the harbour. The tide was low.", *_filler(40)])
    chunk = next(c for c in corpus.chunks if NEEDLE in c.text)
    counter = ScriptedLLM([]).token_counter()
    whole = Evidence(chunk, 1.0, chunk.text, chunk.tokens)
    # A paraphrase question shares no terms: the passage stays as it was.
    assert focus_evidence([whole], "Who tends the beacon?", corpus.analyzer, counter) == [whole]
    (cut,) = focus_evidence([whole], "Who keeps the lighthouse on Karvo Point?", corpus.analyzer, counter)
    assert cut.text == NEEDLE and cut.tokens == counter.count(NEEDLE) < whole.tokens


def test_a_passage_label_copied_into_the_answer_becomes_a_citation():
    sources = ["notes.txt", "a.txt, p. 3"]
    assert (
        drop_echoed_label("[1]（notes.txt）\n沅梓岭灯塔的守塔人是邝珂砚。", sources)
        == "沅梓岭灯塔的守塔人是邝珂砚。[1]"
    )
    assert drop_echoed_label("[2] (a.txt, p. 3)\nEdda Marn keeps it [2].", sources) == "Edda Marn keeps it [2]."
    # a citation first, a parenthesis that is no label, or a label alone: left as they are
    for text in ("[1] Edda Marn keeps it.", "[1] (Edda Marn) keeps it.", "[1]（notes.txt）"):
        assert drop_echoed_label(text, sources) == text


def test_an_answer_naming_what_the_passages_do_not_is_not_used(tmp_path):
    paras = _filler(60)
    paras.insert(30, NEEDLE)
    corpus = _corpus(tmp_path, paras)
    llm = ScriptedLLM([_plan("Who is the harbour master of Karvo Point?", "Karvo Point"), "Elihu Brand is [1]."])
    streamed = []
    ans = ask_rag("Who is the harbour master of Karvo Point?", Job(corpus, llm, 1000, 100, on_token=streamed.append))
    assert is_not_found(ans.answer, EN) and "Elihu" not in ans.answer
    assert ans.citations == []
    assert any("Elihu Brand" in n and "do not name Elihu" in n for n in ans.notes)
    assert "not used" in "".join(streamed)  # what was streamed is withdrawn where the user saw it


def test_an_answer_of_the_wrong_kind_is_not_used(tmp_path):
    paras = _filler(60)
    paras.insert(30, NEEDLE)
    corpus = _corpus(tmp_path, paras)
    q = "What colour is the lighthouse on Karvo Point painted?"
    llm = ScriptedLLM([_plan(q, "Karvo Point"), "Edda Marn [1]."])
    ans = ask_rag(q, Job(corpus, llm, 1000, 100))
    assert is_not_found(ans.answer, EN) and any("asks for a colour" in n for n in ans.notes)


def test_the_kind_asked_counts_when_the_plan_restates_the_question_without_it(tmp_path):
    # The 0.5B restated "蒲蓁泓出生在哪个省？" without "哪个省", and its town passed.
    paras = _filler(60)
    paras.insert(30, "Len Veisound was born in the town of Kahund.")
    corpus = _corpus(tmp_path, paras)
    q = "In which province was Len Veisound born?"
    llm = ScriptedLLM([_plan("Where was Len Veisound born?", "Len Veisound"), "He was born in the town of Kahund [1]."])
    ans = ask_rag(q, Job(corpus, llm, 1000, 100))
    assert is_not_found(ans.answer, EN) and any("asks for a province" in n for n in ans.notes), ans.notes
    assert ans.withheld is not None and ans.withheld.smaller_place


def _zh_news(n):
    return [f"第{i}段：本报讯，李明指出，今年港口的渔船和潮汐观测都有新的进展，工人们在码头忙碌。" for i in range(n)]


def test_a_chinese_person_the_documents_never_name_is_refused_without_the_answer_call(tmp_path):
    # The 1.5B answered "蒲璟砚在春秋战国时期…" from a sentence about something else.
    corpus = _corpus(tmp_path, _zh_news(40))
    q = "蒲璟砚在什么时期创作了这部作品？"
    llm = ScriptedLLM([json.dumps({"information": q, "instruction": "", "keywords_en": [], "keywords_zh": ["蒲璟砚"]})])
    ans = ask_rag(q, Job(corpus, llm, 1000, 100))
    assert is_not_found(ans.answer, ZH) and "蒲璟砚" in ans.answer
    assert len(llm.calls) == 1  # the plan only


def test_a_number_asked_plainly_is_found_in_documents_that_write_it_fullwidth(tmp_path):
    # Mainland news writes "７４厘米"; the question and the model write "74厘米". Before
    # widths were folded, Level 1 answered "the documents never mention 一台…的74厘米".
    paras = _zh_news(40)
    paras.insert(20, "第二届全国电子新产品展览会上，一台７４厘米的“全数字”彩电吸引了众多观众。")
    corpus = _corpus(tmp_path, paras)
    q = "一台74厘米的“全数字”彩电吸引了什么人？"
    plan = json.dumps({"information": q, "instruction": "", "keywords_en": [], "keywords_zh": ["74厘米", "全数字"]})
    llm = ScriptedLLM([plan, "一台74厘米的全数字彩电吸引了众多观众[1]。"])
    ans = ask_rag(q, Job(corpus, llm, 1000, 100))
    assert len(llm.calls) == 2 and not is_not_found(ans.answer, ZH), ans.answer
    assert "７４厘米" in _passage_1(llm) and ans.citations and "７４厘米" in ans.citations[0].text
    assert corpus.mentions("74厘米") and corpus.mentions("７４厘米") and not corpus.mentions("47厘米")


def test_a_chinese_name_counts_as_mentioned_when_any_character_pair_is_in_the_documents(tmp_path):
    # "李明说" is not in the text, "李明指出" is: the question is about a known person.
    corpus = _corpus(tmp_path, _zh_news(40))
    q = "李明说了什么？"
    plan = json.dumps({"information": q, "instruction": "", "keywords_en": [], "keywords_zh": ["李明"]})
    llm = ScriptedLLM([plan, "李明指出港口的渔船有新的进展[1]。"])
    ans = ask_rag(q, Job(corpus, llm, 1000, 100))
    assert not is_not_found(ans.answer, ZH) and len(llm.calls) == 2


def test_chinese_names_are_not_judged_over_documents_in_another_language(tmp_path):
    # A Chinese question may name a person of an English play in translation ("李尔王").
    corpus = _corpus(tmp_path, [*_filler(30), "King Lear divides his kingdom between his daughters."])
    q = "李尔王把王国分给了谁？"
    plan = json.dumps({"information": q, "instruction": "", "keywords_en": ["Lear", "kingdom"], "keywords_zh": []})
    llm = ScriptedLLM([plan, "他把王国分给了他的女儿们[1]。"])
    ans = ask_rag(q, Job(corpus, llm, 1000, 100))
    assert len(llm.calls) == 2 and "never mention" not in ans.answer


def test_a_question_about_a_name_the_documents_never_use_is_answered_without_the_model(tmp_path):
    paras = _filler(60)
    paras.insert(30, NEEDLE)
    corpus = _corpus(tmp_path, paras)
    llm = ScriptedLLM([_plan("Who keeps the lighthouse on Sorrel Point?", "Sorrel Point", "lighthouse")])
    ans = ask_rag("Who keeps the lighthouse on Sorrel Point?", Job(corpus, llm, 1000, 100))
    assert is_not_found(ans.answer, EN) and "never mention Sorrel" in ans.answer
    assert len(llm.calls) == 1  # the plan; no answer call on passages about another point
    # a sentence's first word says nothing by its capital; names inside it do
    assert corpus.mentions("karvo point") and not corpus.mentions("Sorrel")
