from longdoc.agents.agent import ask_agent, parse_move
from longdoc.agents.auto import ask_auto, looks_multi_hop
from longdoc.agents.context import Job, ReadSettings
from longdoc.chunk import ChunkSettings
from longdoc.index.store import IndexStore
from longdoc.llm.scripted import ScriptedLLM
from oracle import Oracle

HOP1 = "The capital of Veloria is the city of Dunmarsh."
HOP2 = "The mayor of Dunmarsh is Ilse Quorn."


def _corpus(tmp_path):
    paras = [f"Paragraph {i} is about the harbour, the boats and the tides of the coast." for i in range(100)]
    paras.insert(10, HOP1)
    paras.insert(90, HOP2)
    f = tmp_path / "atlas.txt"
    f.write_text("\n\n".join(paras))
    store = IndexStore(tmp_path / "index", ScriptedLLM([]).token_counter(), ChunkSettings(size=80, overlap=0))
    return store.corpus([store.add(f)])


def test_parse_move_forms():
    m = parse_move("Thought: find the capital\nAction: search\nAction Input: What is the capital of Veloria?")
    assert (m.action, m.action_input, m.final) == ("search", "What is the capital of Veloria?", None)
    m = parse_move("Thought: done.\nFinal Answer: Ilse Quorn [1][2].\nIt is a long answer.")
    assert m.final == "Ilse Quorn [1][2].\nIt is a long answer."
    m = parse_move("Action: search\nAction Input: a\nObservation: made up\nAction: search\nAction Input: b")
    assert m.action_input.startswith("a")
    assert parse_move("just prose").action == ""


def test_two_hops_with_citations_for_each(tmp_path):
    corpus = _corpus(tmp_path)
    moves = [
        "Thought: First the capital.\nAction: search\nAction Input: What is the capital of Veloria?",
        "Thought: Now the mayor.\nAction: think\nAction Input: the capital is Dunmarsh",
        "Action: search\nAction Input: Who is the mayor of Dunmarsh?",
        "Thought: I now know the answer.\nFinal Answer: Ilse Quorn is the mayor of Dunmarsh, the capital of Veloria [1][2].",
    ]
    oracle = Oracle({"capital of Veloria": HOP1, "mayor of Dunmarsh": HOP2}, agent_moves=moves)
    llm = ScriptedLLM(oracle)
    job = Job(corpus, llm, budget=600, answer_tokens=80, read=ReadSettings(enough=1))
    ans = ask_agent("Who is the mayor of the capital of Veloria?", job)
    assert ans.mode == "agent" and "Ilse Quorn" in ans.answer
    assert [c.n for c in ans.citations] == [1, 2]
    assert HOP1 in ans.citations[0].text and HOP2 in ans.citations[1].text
    # the second observation carried the first hop's citation number through
    agent_calls = [c for c in llm.calls if c.messages[0].content.startswith("You answer a question about the user's")]
    assert "[1]" in agent_calls[1].messages[-1].content
    assert any("2 sub-question(s)" in n for n in ans.notes)


def test_step_limit_still_answers(tmp_path):
    corpus = _corpus(tmp_path)
    moves = ["Action: search\nAction Input: What is the capital of Veloria?"] * 2
    llm = ScriptedLLM(Oracle({"capital of Veloria": HOP1}, agent_moves=moves))
    job = Job(corpus, llm, budget=600, answer_tokens=80, read=ReadSettings(enough=1), max_steps=2)
    ans = ask_agent("Who is the mayor of the capital of Veloria?", job)
    assert "Dunmarsh" in ans.answer and any("within 2 steps" in n for n in ans.notes)


def test_multi_hop_detection():
    assert looks_multi_hop("Who is the mayor of the capital of Veloria?")
    assert looks_multi_hop("Which vehicle was invented in the same century as the Fifth Symphony?")
    assert looks_multi_hop("韦洛里亚的首都的市长是谁的朋友？")
    assert not looks_multi_hop("Who keeps the lighthouse on Karvo Point?")
    assert not looks_multi_hop("卡尔沃角灯塔的看守人是谁？")


def test_auto_goes_straight_to_level_3_for_a_possessive_chain(tmp_path):
    corpus = _corpus(tmp_path)
    moves = [
        "Action: search\nAction Input: What is the capital of Veloria?",
        "Action: search\nAction Input: Who is the mayor of Dunmarsh?",
        "Final Answer: Ilse Quorn [2].",
    ]
    llm = ScriptedLLM(Oracle({"capital of Veloria": HOP1, "mayor of Dunmarsh": HOP2}, agent_moves=moves))
    ans = ask_auto("Who is Veloria's capital's mayor?", Job(corpus, llm, 600, 80, read=ReadSettings(enough=1)))
    assert ans.mode == "agent" and "Quorn" in ans.answer
    assert "Level 3" in ans.notes[0]


def test_auto_answers_with_level_1_when_it_can(tmp_path):
    corpus = _corpus(tmp_path)
    llm = ScriptedLLM(Oracle({"mayor of dunmarsh": HOP2}, keywords=["Dunmarsh", "mayor"]))
    streamed = []
    ans = ask_auto("Who is the mayor of Dunmarsh?", Job(corpus, llm, 600, 80, on_token=streamed.append))
    assert ans.mode == "rag" and HOP2 in ans.answer
    assert "".join(streamed) == ans.answer
    assert any("Level 1" in n for n in ans.notes)


def test_auto_escalates_to_reading_when_level_1_finds_nothing(tmp_path):
    fact = "Edda Marn tends the beacon at the northern cape."
    paras = [f"Paragraph {i} is about the harbour and the tides." for i in range(40)]
    paras.insert(20, fact)
    f = tmp_path / "c.txt"
    f.write_text("\n\n".join(paras))
    store = IndexStore(tmp_path / "i", ScriptedLLM([]).token_counter(), ChunkSettings(size=80, overlap=0))
    corpus = store.corpus([store.add(f)])
    llm = ScriptedLLM(Oracle({"lighthouse": fact}))
    streamed = []
    job = Job(corpus, llm, 600, 80, read=ReadSettings(strategy="all"), on_token=streamed.append)
    ans = ask_auto("Who keeps the lighthouse?", job)
    assert ans.mode == "read" and fact in ans.answer
    assert "do not say" not in "".join(streamed)  # Level 1's "not found" was held back
    assert any("Level 2" in n for n in ans.notes)
    assert sum(1 for c in llm.calls if c.messages[0].content.startswith("You prepare searches")) == 1  # one plan
