from longdoc.agents.query import parse_expansions, parse_plan, plan_query
from longdoc.llm.scripted import ScriptedLLM
from longdoc.prompts import EN, ZH, language_of
from longdoc.records import Usage

Q = "In 50 words, who runs the Karvo Point lighthouse?"


def test_plain_json():
    p = parse_plan(
        '{"information": "Who runs the Karvo Point lighthouse?", "instruction": "In 50 words.", '
        '"keywords_en": ["Karvo Point", "lighthouse keeper"], "keywords_zh": ["卡尔沃角", "灯塔"]}',
        Q,
    )
    assert p.from_llm and p.information == "Who runs the Karvo Point lighthouse?"
    assert p.instruction == "In 50 words."
    assert p.keywords == ["Karvo Point", "lighthouse keeper", "卡尔沃角", "灯塔"]


def test_an_instruction_the_question_does_not_hold_is_dropped():
    # The 0.5B model copies the prompt example's instruction into plain questions.
    q = "Who runs the Karvo Point lighthouse?"
    p = parse_plan(
        '{"information": "Who runs the Karvo Point lighthouse?", "instruction": "Answer in about 100 words.", '
        '"keywords_en": ["lighthouse", "lighthouse", "Karvo"]}',
        q,
    )
    assert p.instruction == "" and p.keywords == ["lighthouse", "Karvo"]


def test_code_fence_trailing_comma_and_prose():
    p = parse_plan('Sure!\n```json\n{"information": "x", "keywords_en": ["a", "b",],}\n```', Q)
    assert p.information == "x" and p.keywords == ["a", "b"]


def test_truncated_reply_is_closed():
    p = parse_plan('{"information": "who runs it", "keywords_en": ["Karvo Point", "light', Q)
    assert p.information == "who runs it"
    assert p.keywords[0] == "Karvo Point"


def test_garbage_falls_back_to_the_question():
    p = parse_plan("I cannot help with that.", Q)
    assert not p.from_llm and p.information == Q and p.keywords == []
    assert p.search_texts() == [Q]


def test_plan_query_degrades_when_backend_fails():
    llm = ScriptedLLM([], fail_on={1})
    plan, note = plan_query(Q, llm, EN, Usage())
    assert plan.information == Q and "failure on call 1" in note


def test_language_detection():
    assert language_of("长城有多长？") == "zh"
    assert language_of("How long is the wall?") == "en"
    assert language_of("What does 长城 mean?") == "en"


def test_expansions_are_the_words_after_each_phrase():
    reply = "lighthouse: beacon, light tower, Beacon\n1. keeps: tends, minds.\nThe keeper of it.\n守塔人：看守、灯塔看守人；守护"
    assert parse_expansions(reply) == ["beacon", "light tower", "tends", "minds", "看守", "灯塔看守人", "守护"]


def test_a_bare_list_without_phrases_counts_but_a_sentence_does_not():
    # What the 0.5B replied to Chinese questions, and to an English one.
    assert parse_expansions("金属工匠、铜匠、铁匠") == ["金属工匠", "铜匠", "铁匠"]
    assert parse_expansions("- blacksmiths, silversmiths, smithy") == ["blacksmiths", "silversmiths", "smithy"]
    assert parse_expansions("Das Thounoth, a German city in the province of Saxony, was born on 12 July 1945.") == []
    assert parse_expansions("这是一个关于港口和渔船的很长的句子、没有别的内容") == []
    assert parse_expansions("The keeper of it.") == []


def test_keywords_copied_from_the_prompts_example_are_dropped():
    from longdoc.agents.query import copied_from_example

    q = "哪个城镇负责管理船只的官员会派送烘焙食品？"
    # what the 0.5B replied: no JSON, quoted strings from the example among its own
    reply = f'"{q}", "用100字左右回答。", "船管理官", "2019年审计对绿源公司的用水有什么结论？"'
    plan, note = plan_query(q, ScriptedLLM([reply]), ZH, Usage())
    assert plan.keywords == [q, "船管理官"], plan.keywords
    assert note is not None and "用100字左右回答。" in note
    # one keyword that the example also has may be a fair synonym, and the question's own words stay
    assert (
        copied_from_example(["water use", "Lumen Corp"], "What did Lumen Corp say about water use?", EN.query_user)
        == []
    )
    assert copied_from_example(["water use", "harbour"], "How much water was used?", EN.query_user) == []
