"""Folding a chat's earlier turns into the question the pipeline answers."""

from longdoc.conversation import HISTORY_CHARS, Turn, fold


def test_a_first_question_is_asked_as_it_is():
    assert fold([], "Who keeps the lighthouse?") == "Who keeps the lighthouse?"


def test_earlier_turns_come_first_without_their_citation_markers():
    history = [
        Turn("user", "Who keeps the lighthouse on Karvo Point?"),
        Turn("assistant", "Edda Marn keeps it [1, 2]."),
    ]
    q = fold(history, "When did she first light it?")
    assert q == (
        "Earlier in this conversation:\n"
        "User: Who keeps the lighthouse on Karvo Point?\n"
        "Assistant: Edda Marn keeps it.\n"
        "\n"
        "Follow-up question (answer this one): When did she first light it?"
    )


def test_the_newest_turns_are_kept_when_the_history_is_long():
    history = [Turn("user", f"Question number {i} " + "x" * 300) for i in range(20)]
    q = fold(history, "And the last one?")
    assert "Question number 19" in q and "Question number 0 " not in q
    assert len(q) < HISTORY_CHARS + 200
    assert q.index("Question number 18") < q.index("Question number 19")  # still in order


def test_a_chinese_follow_up_gets_a_chinese_frame():
    history = [Turn("user", "卡尔沃角的灯塔由谁看守？"), Turn("assistant", "艾达·马恩 [1]")]
    q = fold(history, "她哪一年第一次点亮灯塔？")
    assert q.startswith("此前的对话：\n用户：卡尔沃角的灯塔由谁看守？\n助手：艾达·马恩\n")
    assert q.endswith("后续问题（请回答这个问题）：她哪一年第一次点亮灯塔？")
