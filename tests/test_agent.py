import json
import re

from longdoc.agents.agent import ask_agent
from longdoc.agents.auto import _named_elsewhere, ask_auto
from longdoc.agents.chain import MAX_HOPS, parse_step, value_of
from longdoc.agents.context import Job, ReadSettings
from longdoc.agents.shape import looks_multi_hop
from longdoc.chunk import ChunkSettings
from longdoc.index.store import IndexStore
from longdoc.llm.scripted import ScriptedLLM
from longdoc.prompts import EN, ZH
from longdoc.records import Answer, Citation
from oracle import Oracle

HOP1 = "The capital of Veloria is the city of Dunmarsh."
HOP2 = "The mayor of Dunmarsh is Ilse Quorn."


COAST = "Paragraph {i} is about the harbour, the boats and the tides of the coast."
TIDES = "Paragraph {i} is about the harbour and the tides."


def _planted(tmp_path, n, planted, filler=COAST, name="c.txt"):
    """A corpus of `n` filler paragraphs with each (position, fact) of `planted` inserted in turn."""
    paras = [filler.format(i=i) for i in range(n)]
    for at, fact in planted:
        paras.insert(at, fact)
    f = tmp_path / name
    f.write_text("\n\n".join(paras))
    store = IndexStore(tmp_path / "index", ScriptedLLM([]).token_counter(), ChunkSettings(size=80, overlap=0))
    return store.corpus([store.add(f)])


def _corpus(tmp_path):
    return _planted(tmp_path, 100, [(10, HOP1), (90, HOP2)], name="atlas.txt")


def _chain_llm(chain, final="Ilse Quorn is the mayor of Dunmarsh, the capital of Veloria [1][2]."):
    oracle = Oracle(
        {"capital of Veloria": HOP1, "mayor of Dunmarsh": HOP2},
        chain=chain,
        values={"capital of Veloria": "Dunmarsh", "mayor of Dunmarsh": "Ilse Quorn"},
        final=final,
    )
    return ScriptedLLM(oracle)


def test_parse_step_reads_one_question_or_done():
    assert parse_step("What is the capital of Veloria?\nWho is the mayor?") == "What is the capital of Veloria?"
    assert parse_step("1. What is the capital of Veloria?") == "What is the capital of Veloria?"
    assert parse_step("Question: Who is the mayor of Dunmarsh?") == "Who is the mayor of Dunmarsh?"
    assert parse_step("问题：谁是邓马什的市长？") == "谁是邓马什的市长？"
    assert parse_step("DONE") is None
    assert parse_step("  Done.") is None
    assert parse_step("\n\n") is None


def test_value_of_keeps_the_value_without_markers():
    assert value_of("Dunmarsh [1].") == "Dunmarsh"
    assert value_of("邓马什 [2]。") == "邓马什"


def _next_calls(llm):
    return [c for c in llm.calls if c.messages[0].content == EN.next_system]


def test_two_hops_with_citations_for_each(tmp_path):
    corpus = _corpus(tmp_path)
    llm = _chain_llm(["What is the capital of Veloria?", "Who is the mayor of Dunmarsh?"])
    job = Job(corpus, llm, budget=600, answer_tokens=80, read=ReadSettings(enough=1))
    ans = ask_agent("Who is the mayor of the capital of Veloria?", job)
    assert ans.mode == "agent" and "Ilse Quorn" in ans.answer
    assert [c.n for c in ans.citations] == [1, 2]
    assert HOP1 in ans.citations[0].text and HOP2 in ans.citations[1].text
    # the second question was asked knowing the first hop's fact, the third saw both
    nexts = _next_calls(llm)
    assert len(nexts) == 3
    assert "none" in nexts[0].messages[-1].content and HOP1 not in nexts[0].messages[-1].content
    assert HOP1 in nexts[1].messages[-1].content and HOP2 in nexts[2].messages[-1].content
    assert any("2 sub-question(s)" in n and "Dunmarsh (rag)" in n for n in ans.notes), ans.notes
    # three next-question calls, two hop answers, the composed answer: no planning call per hop
    assert len(llm.calls) == 6
    assert not any(c.messages[0].content == EN.query_system for c in llm.calls)


def test_a_composed_answer_that_fails_its_check_gives_the_last_hops_answer(tmp_path):
    # The 0.5B composed "…的总督是琥沅屿镇" (a town for "who") after the last hop found the governor.
    corpus = _corpus(tmp_path)
    llm = _chain_llm(
        ["What is the capital of Veloria?", "Who is the mayor of Dunmarsh?"],
        final="The mayor of the capital of Veloria is Brel Ostrava [1].",  # a name no passage holds
    )
    job = Job(corpus, llm, budget=600, answer_tokens=80, read=ReadSettings(enough=1))
    ans = ask_agent("Who is the mayor of the capital of Veloria?", job)
    assert "Ilse Quorn" in ans.answer and "Brel" not in ans.answer, ans.notes
    # the last hop's answer rests on the first hop's fact too
    assert [c.text for c in ans.citations] == [HOP1, HOP2]
    assert any("the composed answer was not used" in n for n in ans.notes), ans.notes


def test_a_composed_answer_that_cites_the_last_hop_only_cites_every_hop(tmp_path):
    corpus = _corpus(tmp_path)
    llm = _chain_llm(
        ["What is the capital of Veloria?", "Who is the mayor of Dunmarsh?"],
        final="Ilse Quorn is the mayor of Dunmarsh [2].",
    )
    job = Job(corpus, llm, budget=600, answer_tokens=80, read=ReadSettings(enough=1))
    ans = ask_agent("Who is the mayor of the capital of Veloria?", job)
    assert ans.answer == "Ilse Quorn is the mayor of Dunmarsh [1][2]."
    assert [c.text for c in ans.citations] == [HOP1, HOP2]


def test_a_composed_answer_that_passes_its_checks_stands_whatever_the_last_hop_said(tmp_path):
    # The 1.5B's last hop answered a reworded question wrongly ("the mayor of Veloria is
    # the river city of Dunmarsh"); its composed answer was right and must stand.
    corpus = _corpus(tmp_path)
    llm = _chain_llm(["What is the capital of Veloria?", "Who is the mayor of Dunmarsh?"])
    job = Job(corpus, llm, budget=600, answer_tokens=80, read=ReadSettings(enough=1))
    ans = ask_agent("Who is the mayor of the capital of Veloria?", job)
    assert "Ilse Quorn" in ans.answer and not any("was not used" in n for n in ans.notes)


def test_a_hop_level_1_cannot_back_goes_to_level_2(tmp_path):
    fact = "Dunmarsh is where the council of Veloria sits."
    corpus = _planted(tmp_path, 30, [(12, fact)], name="seat.txt")
    # The sub-question shares no word with the fact: Level 1 finds nothing, Level 2 reads.
    oracle = Oracle({"seat of government": fact}, chain=["Which town is the seat of government?"])
    llm = ScriptedLLM(oracle)
    job = Job(corpus, llm, budget=600, answer_tokens=80, read=ReadSettings(strategy="all"))
    ans = ask_agent("Which town is the seat of government?", job)
    assert any("(read)" in n for n in ans.notes), ans.notes
    assert oracle.reads == len(corpus.chunks)
    assert "Dunmarsh" in ans.answer


def test_a_missing_link_stops_the_chain_and_says_so(tmp_path):
    corpus = _corpus(tmp_path)
    llm = _chain_llm(["What is the capital of Veloria?", "Who founded the bank of Dunmarsh?"], final=None)
    job = Job(corpus, llm, budget=600, answer_tokens=80, read=ReadSettings(enough=1))
    ans = ask_agent("Who founded the bank in the capital of Veloria?", job)
    assert any("Who founded the bank of Dunmarsh? -> not found" in n for n in ans.notes), ans.notes
    assert len(_next_calls(llm)) == 2  # no question after the link that failed


def test_a_repeated_question_ends_the_chain(tmp_path):
    corpus = _corpus(tmp_path)
    same = "What is the capital of Veloria?"
    llm = _chain_llm([same, same, same], final=None)
    job = Job(corpus, llm, budget=600, answer_tokens=80, read=ReadSettings(enough=1))
    ans = ask_agent("Who is the mayor of the capital of Veloria?", job)
    assert any("1 sub-question(s)" in n for n in ans.notes), ans.notes
    assert "Dunmarsh" in ans.answer


def test_hops_stop_at_the_limit(tmp_path):
    towns = ["Arla", "Brisk", "Corvel", "Dunmarsh", "Essa", "Fenmoor", "Galt", "Hobb"]
    facts = {f"river of {t}": f"The river of {t} is the {t}water." for t in towns}
    corpus = _planted(tmp_path, 40, [(4 * k + 2, fact) for k, fact in enumerate(facts.values())], name="rivers.txt")
    oracle = Oracle(
        facts,
        chain=[f"What is the river of {t}?" for t in towns],
        values={key: f"{t}water" for key, t in zip(facts, towns)},
    )
    llm = ScriptedLLM(oracle)
    ans = ask_agent(
        "Which is the river of the town that is named last?",
        Job(corpus, llm, budget=600, answer_tokens=80, read=ReadSettings(enough=1)),
    )
    assert any(f"{MAX_HOPS} sub-question(s)" in n for n in ans.notes), ans.notes
    assert len(_next_calls(llm)) == MAX_HOPS


def test_an_unusable_reply_asks_the_question_as_it_is(tmp_path):
    corpus = _corpus(tmp_path)
    llm = _chain_llm(["", "DONE"], final=None)
    job = Job(corpus, llm, budget=600, answer_tokens=80, read=ReadSettings(enough=1))
    ans = ask_agent("What is the name of the capital of Veloria?", job)
    assert "Dunmarsh" in ans.answer
    assert any("What is the name of the capital of Veloria? -> Dunmarsh" in n for n in ans.notes), ans.notes


def test_a_question_that_reads_as_one_lookup_is_asked_as_it_is(tmp_path):
    corpus = _corpus(tmp_path)
    # Asked first, a small model would say DONE (or rewrite it) before anything was found.
    llm = _chain_llm(["DONE"], final=None)
    job = Job(corpus, llm, budget=600, answer_tokens=80, read=ReadSettings(enough=1))
    ans = ask_agent("What is the capital of Veloria?", job)
    assert "Dunmarsh" in ans.answer
    assert any("1 sub-question(s): What is the capital of Veloria? -> Dunmarsh" in n for n in ans.notes), ans.notes
    assert len(_next_calls(llm)) == 1  # only after the first hop


def test_multi_hop_detection():
    assert looks_multi_hop("Who is the mayor of the capital of Veloria?")
    assert looks_multi_hop("Which vehicle was invented in the same century as the Fifth Symphony?")
    assert looks_multi_hop("韦洛里亚的首都的市长是谁的朋友？")
    assert not looks_multi_hop("Who keeps the lighthouse on Karvo Point?")
    assert not looks_multi_hop("卡尔沃角灯塔的看守人是谁？")


def test_auto_goes_straight_to_level_3_for_a_possessive_chain(tmp_path):
    corpus = _corpus(tmp_path)
    llm = _chain_llm(["What is the capital of Veloria?", "Who is the mayor of Dunmarsh?"])
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


def test_auto_ignores_a_name_the_planner_invented(tmp_path):
    corpus = _corpus(tmp_path)
    oracle = Oracle(
        {"mayor of dunmarsh": HOP2}, keywords=["Dunmarsh", "mayor"], restate="Who is Zembla's mayor of Dunmarsh?"
    )
    ans = ask_auto("Who is the mayor of Dunmarsh?", Job(corpus, ScriptedLLM(oracle), 600, 80, skip_plan=False))
    assert ans.mode == "rag" and HOP2 in ans.answer, ans.notes  # Zembla: not the user's, not the documents'


def test_auto_escalates_to_reading_when_level_1_finds_nothing(tmp_path):
    fact = "Edda Marn tends the beacon at the northern cape."
    corpus = _planted(tmp_path, 40, [(20, fact)], filler=TIDES)
    llm = ScriptedLLM(Oracle({"lighthouse": fact}))
    streamed = []
    job = Job(corpus, llm, 600, 80, read=ReadSettings(strategy="all"), on_token=streamed.append)
    ans = ask_auto("Who keeps the lighthouse?", job)
    assert ans.mode == "read" and fact in ans.answer
    assert "do not say" not in "".join(streamed)  # Level 1's "not found" was held back
    assert any("Level 2" in n for n in ans.notes)
    assert sum(1 for c in llm.calls if c.messages[0].content.startswith("You prepare searches")) == 1  # one plan


def _auto_corpus(tmp_path, *facts):
    return _planted(tmp_path, 60, [(10 + 20 * k, fact) for k, fact in enumerate(facts)], filler=TIDES)


def test_auto_escalates_when_level_1_cites_a_look_alike(tmp_path):
    true = "The lighthouse on Karvo Point is kept by Edda Marn."
    decoy = "The lighthouse on Karva Point is kept by Osk Tarrow."
    corpus = _auto_corpus(tmp_path, decoy, true)
    q = "Who keeps the lighthouse on Karvo Point?"
    plan = json.dumps({"information": q, "keywords_en": ["lighthouse"]})

    def model(messages):
        system, user = messages[0].content, messages[-1].content
        if system == EN.query_system:
            return plan
        if system == EN.expand_system:
            return ""
        if system == EN.reader_system:
            return "Edda Marn" if true in user else "Osk Tarrow" if decoy in user else "none"
        # Given both, a small model takes the look-alike's value, as the 0.5B did on the bench.
        said = decoy if decoy in user else true
        n = re.findall(r"\[(\d+)\][^\[]*" + re.escape(said), user)[0]
        return f"{'Osk Tarrow' if said == decoy else 'Edda Marn'} [{n}]."

    ans = ask_auto(q, Job(corpus, ScriptedLLM(model), 600, 80, read=ReadSettings(strategy="all")))
    # Level 1's answer is refused (it names what the passages say of Karva), and
    # Level 2 keeps the look-alike's chunk out of its answer step.
    assert any("the passages say it of Karva" in n for n in ans.notes), ans.notes
    assert ans.mode == "read" and "Edda Marn" in ans.answer and "Osk Tarrow" not in ans.answer


def test_auto_counts_a_long_not_found_as_not_found(tmp_path):
    fact = "Edda Marn tends the beacon at the northern cape."
    corpus = _auto_corpus(tmp_path, fact)
    words = ", ".join(f"keyword{i}" for i in range(40))
    oracle = Oracle({"lighthouse": fact})

    def model(messages):
        if messages[0].content == EN.answer_system and "Question: Who keeps the lighthouse?" in messages[-1].content:
            if fact not in messages[-1].content:
                return f"The documents do not say. I searched for {words}."
        return oracle(messages)

    ans = ask_auto(
        "Who keeps the lighthouse?", Job(corpus, ScriptedLLM(model), 600, 80, read=ReadSettings(strategy="all"))
    )
    assert ans.mode == "read" and fact in ans.answer


def test_auto_reads_when_what_level_1_cites_lacks_words_the_documents_never_use(tmp_path):
    # A Chinese paraphrase: the question's runs ("金属工匠") look like names to the
    # check, but the documents never use them; Level 2 reads, Level 3 would only
    # ask the same question again (the 1.5B did so on the bench).
    fact = "每年冬天，海载镇的铁匠们为守护圣人打造一盏银灯。"
    corpus = _planted(tmp_path, 40, [(25, fact)], filler="第{i}段讲的是港口、船只和海岸的潮汐。")
    q = "哪个聚落的金属工匠在寒冷时节制作贵金属照明器具？"

    def model(messages):
        system, user = messages[0].content, messages[-1].content
        if system == ZH.query_system:
            return json.dumps({"information": q, "keywords_zh": ["港口"]})
        if system == ZH.expand_system:
            return ""
        if system == ZH.reader_system:
            return f"海载镇\n句子：{fact}" if fact in user else "无"
        if fact in user:
            n = (re.findall(r"\[(\d+)\][^\[]*" + re.escape(fact), user) or ["1"])[0]
            return f"海载镇 [{n}]。"
        return "港口 [1]。"  # Level 1 answers from the filler it was given

    ans = ask_auto(q, Job(corpus, ScriptedLLM(model), 600, 80, read=ReadSettings(strategy="all")))
    assert ans.mode == "read" and "海载镇" in ans.answer, ans.notes
    assert any("Level 2 read chunks" in n for n in ans.notes)


def test_names_the_cited_passages_lack_but_other_passages_hold_are_a_chain(tmp_path):
    corpus = _corpus(tmp_path)
    job = Job(corpus, ScriptedLLM([]), 600, 80)
    cited = Answer("Ilse Quorn [1]", "rag", [Citation("atlas.txt", None, "c1", HOP2, 1)])
    assert _named_elsewhere("Which mayor serves the capital of Veloria?", cited, job)  # Veloria: in HOP1
    assert not _named_elsewhere("Which mayor serves the capital of Zembla?", cited, job)  # never mentioned


BORN = "Len Veisound was born in the town of Kahund."
LIES = "The town of Kahund lies in the province of Trouvaiv."


def _place_chain(
    tmp_path, whole_finds_the_town=True, restated="In which province was Len Veisound born?", province_hop=True
):
    """A 2-hop question whose whole-question lookup finds only the town (or,
    without `whole_finds_the_town`, nothing), and a model that answers each
    prompt from the facts it is shown (without `province_hop`, it misses the
    province when asked for it alone, and finds it while composing)."""
    corpus = _planted(tmp_path, 60, [(15, BORN), (45, LIES)], name="atlas.txt")

    def model(messages):
        system, user = messages[0].content, messages[-1].content
        if system == EN.query_system:
            return json.dumps({"information": restated, "keywords_en": ["Len"]})
        if system == EN.next_system:
            facts = user.split("Facts found so far:", 1)[1]
            if "Trouvaiv" in facts:
                # Like the 1.5B, asks on where the chain from a town is complete.
                return "Which town of Trouvaiv was Len Veisound born in?" if whole_finds_the_town else "DONE"
            return "Which province is Kahund in?" if "Kahund" in facts else "Where was Len Veisound born?"
        if system in (EN.reader_system, EN.expand_system):
            return "none" if system == EN.reader_system else ""
        asked = user.rsplit("Question:", 1)[-1]
        n = lambda fact: (re.findall(r"\[(\d+)\][^\[]*" + re.escape(fact), user) or ["1"])[0]  # noqa: E731
        if system == EN.compose_system:
            if not province_hop:
                return f"Len Veisound was born in the province of Trouvaiv [{n(LIES)}]."
            return f"Len Veisound was born in Kahund [{n(BORN)}], in the province of Trouvaiv [{n(LIES)}]."
        if "In which province" in asked and BORN in user and whole_finds_the_town:
            return f"Len Veisound was born in the town of Kahund [{n(BORN)}]."  # a link, not the answer
        if "Where was Len" in asked and BORN in user:
            return f"Len Veisound was born in the town of Kahund [{n(BORN)}]."
        if "Kahund in" in asked and LIES in user and province_hop:
            return f"Kahund lies in the province of Trouvaiv [{n(LIES)}]."
        return EN.not_found

    return Job(corpus, ScriptedLLM(model), budget=600, answer_tokens=80, read=ReadSettings(max_chunks=4))


def test_a_town_found_for_which_province_is_kept_as_the_first_link(tmp_path):
    ans = ask_agent("In which province was Len Veisound born?", _place_chain(tmp_path))
    assert "Trouvaiv" in ans.answer, ans.notes
    hops = next(n for n in ans.notes if "sub-question(s)" in n)
    assert hops.startswith("2 sub-question(s)") and "town of Kahund (rag, a link)" in hops, hops
    assert "Which province is Kahund in? -> Kahund lies in the province of Trouvaiv" in hops, hops
    assert {c.text for c in ans.citations} >= {BORN, LIES}


def test_an_answer_that_goes_past_a_first_link_is_kept(tmp_path):
    # The 0.5B's composed "蒲蓁泓出生在漪榆渡省" was once replaced by its first link, the town.
    ans = ask_agent("In which province was Len Veisound born?", _place_chain(tmp_path, province_hop=False))
    assert "Trouvaiv" in ans.answer, ans.notes
    assert any("-> not found" in n for n in ans.notes) and not any("was not used" in n for n in ans.notes), ans.notes


def test_a_question_asked_whole_that_finds_nothing_is_broken_up(tmp_path):
    ans = ask_agent("In which province was Len Veisound born?", _place_chain(tmp_path, whole_finds_the_town=False))
    assert "Trouvaiv" in ans.answer, ans.notes
    assert any("3 sub-question(s)" in n and "not found" in n for n in ans.notes), ans.notes


def test_auto_sends_a_question_whose_answer_is_a_smaller_place_to_level_3(tmp_path):
    ans = ask_auto("In which province was Len Veisound born?", _place_chain(tmp_path))
    assert ans.mode == "agent" and "Trouvaiv" in ans.answer, ans.notes
    assert any("the answer names a town" in n for n in ans.notes)
    assert ans.notes and "Level 3" in next(n for n in ans.notes if n.startswith("auto:"))


def test_auto_sends_a_town_on_to_level_3_when_the_plan_dropped_which_province(tmp_path):
    job = _place_chain(tmp_path, restated="Where was Len Veisound born?")
    ans = ask_auto("In which province was Len Veisound born?", job)
    assert ans.mode == "agent" and "Trouvaiv" in ans.answer, ans.notes
    assert "Level 3" in next(n for n in ans.notes if n.startswith("auto:"))
