import json
import re

import pytest

from longdoc.agents.context import Job, ReadSettings
from longdoc.agents.read import ask_read, readers_answer
from longdoc.agents.reader import Verdict
from longdoc.agents.readings import Reading
from longdoc.agents.settle import settle
from longdoc.chunk import ChunkSettings
from longdoc.index.store import IndexStore
from longdoc.index.terms import Analyzer
from longdoc.llm.scripted import ScriptedLLM
from longdoc.prompts import EN
from longdoc.records import QueryPlan
from longdoc.retrieve import Evidence, WindowTerms, reading_window, window_terms
from oracle import Oracle

# Shares no content word with the question below: only reading finds it.
FACT = "Edda Marn tends the beacon at the northern cape."
QUESTION = "Who keeps the lighthouse?"


EN_FILLER = "Paragraph {i} is about the harbour, the boats and the tides of the coast."
ZH_FILLER = "第{i}段讲的是港口、船只和海岸的潮汐。"


def _corpus(tmp_path, n=120, at=90, fact=FACT, filler=EN_FILLER):
    paras = [filler.format(i=i) for i in range(n)]
    paras.insert(at, fact)
    f = tmp_path / "coast.txt"
    f.write_text("\n\n".join(paras))
    store = IndexStore(tmp_path / "index", ScriptedLLM([]).token_counter(), ChunkSettings(size=80, overlap=0))
    return store.corpus([store.add(f)])


def _job(corpus, llm, **read):
    return Job(corpus, llm, budget=600, answer_tokens=80, read=ReadSettings(**read))


def test_ranked_finds_a_paraphrase_that_keywords_alone_rank_first(tmp_path):
    corpus = _corpus(tmp_path)
    oracle = Oracle({"lighthouse": FACT}, keywords=["lighthouse keeper", "beacon", "cape", "tends"])
    llm = ScriptedLLM(oracle)
    ans = ask_read(QUESTION, _job(corpus, llm, enough=1))
    assert FACT in ans.answer and ans.mode == "read"
    assert ans.citations and FACT in ans.citations[0].text
    assert oracle.reads <= 4  # one batch: the related keywords ranked it first
    assert ans.usage.chunks_read == oracle.reads and ans.usage.chunks_total == len(corpus.chunks)
    assert any(f'1 answered the question; "{FACT}"' in n for n in ans.notes), ans.notes  # what the reader said


def test_ranked_reads_first_what_other_words_for_the_question_find(tmp_path):
    corpus = _corpus(tmp_path, n=400, at=300)
    # The keywords only match the filler; one of the other words for "lighthouse" is "beacon".
    oracle = Oracle(
        {"lighthouse": FACT}, keywords=["harbour", "coast"], expansions={"lighthouse": ["beacon", "light tower"]}
    )
    llm = ScriptedLLM(oracle)
    ans = ask_read(QUESTION, _job(corpus, llm, enough=1))
    assert FACT in ans.answer
    assert oracle.reads <= 4  # the first batch: fusion gives the expansion's best chunk an early turn


def test_without_other_words_a_paraphrase_is_out_of_reach_of_ranked_reading(tmp_path):
    corpus = _corpus(tmp_path, n=400, at=300)
    oracle = Oracle({"lighthouse": FACT}, keywords=["harbour", "coast"])
    ans = ask_read(QUESTION, _job(corpus, ScriptedLLM(oracle), enough=1))
    assert FACT not in ans.answer
    assert any("expansion reply was empty" in n for n in ans.notes)


def test_all_reads_every_chunk_and_finds_what_bm25_cannot(tmp_path):
    corpus = _corpus(tmp_path, n=60, at=40)
    oracle = Oracle({"lighthouse": FACT})  # no helpful keywords: BM25 scores the fact 0
    llm = ScriptedLLM(oracle)
    ans = ask_read(QUESTION, _job(corpus, llm, strategy="all", concurrency=4))
    assert oracle.reads == len(corpus.chunks)
    assert FACT in ans.answer
    assert len(llm.calls) == len(corpus.chunks) + 2  # plan + every chunk + answer


class _PoorAnswerStep(Oracle):
    """Reads well, but its answer step, like the 1.5B's on paraphrase items,
    replaces an answer from a planted fact with `instead`."""

    def __init__(self, facts, instead, **kw):
        super().__init__(facts, **kw)
        self.instead = instead

    def __call__(self, messages) -> str:
        reply = super().__call__(messages)
        return self.instead if any(f in reply for f in self.facts.values()) and "[1]" in reply else reply


KEYWORDS = ["lighthouse keeper", "beacon", "cape", "tends"]


def test_an_answer_that_repeats_the_question_falls_back_on_the_readers_answer(tmp_path):
    oracle = _PoorAnswerStep({"lighthouse": FACT}, "It keeps the lighthouse [1].", keywords=KEYWORDS)
    ans = ask_read(QUESTION, _job(_corpus(tmp_path), ScriptedLLM(oracle), enough=1))
    assert FACT in ans.answer and ans.citations and FACT in ans.citations[0].text
    assert any("only repeats the question; the readers' answer is used" in n for n in ans.notes)


def test_a_sure_reader_outweighs_an_answer_step_that_finds_nothing(tmp_path):
    oracle = _PoorAnswerStep({"lighthouse": FACT}, EN.not_found, keywords=KEYWORDS)
    ans = ask_read(QUESTION, _job(_corpus(tmp_path), ScriptedLLM(oracle), enough=1))
    assert FACT in ans.answer and ans.citations and FACT in ans.citations[0].text
    assert any("a reader was sure of" in n for n in ans.notes)


def test_an_answer_naming_none_of_what_the_readers_found_gives_the_best_readers_answer(tmp_path):
    # The 0.5B: "William Shakespeare looks after the old archive", where a reader found "Tror Vemein".
    oracle = _PoorAnswerStep({"lighthouse": FACT}, "William Shakespeare keeps the lighthouse [1].", keywords=KEYWORDS)
    ans = ask_read(QUESTION, _job(_corpus(tmp_path), ScriptedLLM(oracle), enough=1))
    assert "Edda Marn" in ans.answer and "Shakespeare" not in ans.answer, ans.notes
    assert ans.citations and FACT in ans.citations[0].text
    assert any("naming none of what the readers found" in n for n in ans.notes), ans.notes


def test_an_answer_naming_none_of_what_the_readers_found_is_not_replaced_by_a_reader_off_the_subject(tmp_path):
    # The 1.5B: the answer step named "李鸿章" and the best reader "黄公略", from a news
    # item that does not name the person asked about; both are wrong.
    corpus = _corpus(tmp_path, fact=f"{FACT}\n\nKarvo Point has a small harbour.")
    oracle = _PoorAnswerStep({"lighthouse": FACT}, "William Shakespeare keeps the lighthouse [1].", keywords=KEYWORDS)
    ans = ask_read("Who keeps the lighthouse on Karvo Point?", _job(corpus, ScriptedLLM(oracle), enough=1))
    assert ans.answer.startswith(EN.not_found), ans.answer
    assert any("not about the question's subject" in n for n in ans.notes), ans.notes


def test_an_answer_whose_own_sentence_is_on_the_subject_stands_when_the_best_reader_is_off_it(tmp_path):
    # The 1.5B on a news question ("四川男排在首场比赛中表现如何？"): the reader of the right
    # chunk said nothing, one of another match named "广东海印队"; the answer step quoted
    # the right sentence from a retrieved passage and was thrown out with the reader's.
    off = "Osk Tarrow keeps the harbour light at the northern cape."
    on = "The lighthouse on Karvo Point is kept by Edda Marn."
    paras = [f"Paragraph {i} is about the harbour, the boats and the tides of the coast." for i in range(120)]
    paras.insert(90, on)
    paras.insert(30, off)
    f = tmp_path / "coast.txt"
    f.write_text("\n\n".join(paras))
    store = IndexStore(tmp_path / "index", ScriptedLLM([]).token_counter(), ChunkSettings(size=80, overlap=0))
    corpus = store.corpus([store.add(f)])
    oracle = _PoorAnswerStep({"lighthouse": off}, f"{on} [2]", keywords=["lighthouse", "Karvo Point", "cape"])
    ans = ask_read("Who keeps the lighthouse on Karvo Point?", _job(corpus, ScriptedLLM(oracle), enough=1))
    assert "Edda Marn" in ans.answer and "Osk Tarrow" not in ans.answer, (ans.answer, ans.notes)
    assert ans.citations and on in ans.citations[0].text
    assert any("its own sentence is about the question's subject" in n for n in ans.notes), ans.notes


def test_a_sure_reader_whose_sentence_lacks_the_questions_names_does_not_outweigh_it(tmp_path):
    other = "Osk Tarrow keeps the harbour light at the northern cape. Karvo Point lies to the south."
    corpus = _corpus(tmp_path, fact=other)
    oracle = _PoorAnswerStep({"lighthouse": other}, EN.not_found, keywords=["lighthouse", "keeps", "cape"])
    ans = ask_read("Who keeps the lighthouse on Karvo Point?", _job(corpus, ScriptedLLM(oracle), enough=1))
    assert "Osk Tarrow" not in ans.answer and ans.answer.startswith(EN.not_found), ans.notes
    assert any('1 answered the question; "Osk Tarrow' in n for n in ans.notes), ans.notes


ZH_FACT = "瓦恩霍尔特的果农每年秋天把梨酿成紫色的果酒。"
ZH_QUESTION = "哪里的种植户在落叶时节将收获的水果制作为一种紫红饮料？"


def test_a_sure_reader_of_a_chinese_fact_told_in_other_words_outweighs_a_not_found(tmp_path):
    # The 1.5B: the fact's reader said 瓦恩霍尔特 (1.00) and the answer step found nothing;
    # every run of the question's characters used to count as a name the reader's
    # sentence had to hold, and a paraphrase holds none of them.
    oracle = _PoorAnswerStep({"紫红饮料": ZH_FACT}, "文档中没有提到。", keywords=["果农", "果酒", "秋天"])
    ans = ask_read(ZH_QUESTION, _job(_corpus(tmp_path, fact=ZH_FACT, filler=ZH_FILLER), ScriptedLLM(oracle), enough=1))
    assert "瓦恩霍尔特" in ans.answer, (ans.answer, ans.notes)
    assert ans.citations and ZH_FACT in ans.citations[0].text
    assert any("a reader was sure of" in n for n in ans.notes), ans.notes


def test_a_sure_chinese_reader_whose_sentence_lacks_the_questions_name_does_not_outweigh_a_not_found(tmp_path):
    # The 1.5B: "山东" at 1.00 from a news sentence for "蒲蓁泓出生在哪个省？".
    news = "这位老工人出生在山东省，十六岁进厂。"
    oracle = _PoorAnswerStep({"出生": news}, "文档中没有提到。", keywords=["蒲蓁泓", "出生", "省"])
    ans = ask_read(
        "蒲蓁泓出生在哪个省？", _job(_corpus(tmp_path, fact=news, filler=ZH_FILLER), ScriptedLLM(oracle), enough=1)
    )
    assert "山东" not in ans.answer and ans.answer.startswith("文档中没有提到"), (ans.answer, ans.notes)


def test_ranked_respects_its_chunk_limit(tmp_path):
    corpus = _corpus(tmp_path)
    oracle = Oracle({"lighthouse": FACT})
    ans = ask_read(QUESTION, _job(corpus, ScriptedLLM(oracle), max_chunks=6))
    assert oracle.reads == 6
    assert ans.answer.startswith("The documents do not say")
    assert "read 6 of" in ans.answer


def test_reader_failures_are_marked_unread_and_the_rest_still_answer(tmp_path):
    corpus = _corpus(tmp_path, n=30, at=5)
    oracle = Oracle({"lighthouse": FACT})
    llm = ScriptedLLM(oracle, fail_on={6, 7})  # two readers after the one that finds the fact
    ans = ask_read(QUESTION, _job(corpus, llm, strategy="all"))
    assert FACT in ans.answer
    assert any("2 of" in n and "could not be read" in n for n in ans.notes)


def test_all_readers_failing_is_a_backend_failure(tmp_path):
    corpus = _corpus(tmp_path, n=10, at=5)
    llm = ScriptedLLM(Oracle({}), fail_on=set(range(2, 100)))
    ans = ask_read(QUESTION, _job(corpus, llm, strategy="all"))
    assert ans.backend_failure and ans.citations == []


def _reading(corpus, sentence, answer, relevance=0.9):
    return Reading(corpus.chunks[0], 1.0, Verdict(relevance, answer, sentence))


def test_settle_sets_aside_a_look_alike_that_names_the_subject_less_exactly(tmp_path):
    corpus = _corpus(tmp_path, n=5, at=2)
    q = "Who keeps the lighthouse on Naithor Point?"
    true = _reading(corpus, "The lighthouse on Naithor Point is kept by Brin Holt.", "Brin Holt", 0.8)
    decoy = _reading(corpus, "The lighthouse on Naithor Poina is kept by Vess Arn.", "Vess Arn", 0.95)
    kept, notes = settle([decoy, true], q, corpus.analyzer)
    assert kept == [true]
    assert len(notes) == 1 and "Naithor Poina" in notes[0] and "less exactly" in notes[0]


def test_settle_keeps_the_links_of_a_chain_and_agreeing_answers(tmp_path):
    corpus = _corpus(tmp_path, n=5, at=2)
    q = "In which province was Tam Orrin born?"
    born = _reading(corpus, "Tam Orrin was born in the town of Velk.", "Velk")
    lies = _reading(corpus, "The town of Velk lies in the province of Sarn.", "Sarn")
    again = _reading(corpus, "Records say Tam Orrin was born in the town of Velk.", "Velk")
    kept, notes = settle([born, lies, again], q, corpus.analyzer)
    assert kept == [born, lies, again] and notes == []


def test_chunk_limit_defaults():
    assert ReadSettings().chunk_limit(30) == 8
    assert ReadSettings().chunk_limit(300) == 30
    assert ReadSettings().chunk_limit(5000) == 64
    assert ReadSettings(strategy="all").chunk_limit(5000) == 5000


def test_fusion_interleaves_the_best_of_each_ranking(tmp_path):
    from longdoc.index.retriever import fuse
    from longdoc.records import Hit

    chunks = _corpus(tmp_path, n=200, at=10).chunks
    a = [Hit(c, 1.0) for c in chunks[:6]]
    b = [Hit(c, 1.0) for c in chunks[10:16]]
    order = [h.chunk.id for h in fuse([a, b])]
    assert order[:2] == [chunks[0].id, chunks[10].id] or order[:2] == [chunks[10].id, chunks[0].id]
    assert set(order) == {c.id for c in chunks[:6] + chunks[10:16]}


# The question's own words name it: a window of its chunk can be read instead.
NAMED = "Edda Marn keeps the lighthouse on the northern cape."
NAMED_Q = "Who keeps the lighthouse on the northern cape?"


def _terms(analyzer, question, other=""):
    asked = set(analyzer.terms(question))
    weights = {t: 1.0 for t in analyzer.terms(other)} | {t: 2.0 for t in asked}
    return WindowTerms(weights, frozenset(asked))


def _scene(n_before=30, n_after=30, fact=NAMED):
    """A long chunk of talk about other things, with the fact in the middle."""
    talk = [f"Line {i}: the gulls are loud over the grey water this morning." for i in range(n_before + n_after)]
    return " ".join(talk[:n_before] + [fact] + talk[n_before:])


def test_a_reader_sees_the_window_of_its_chunk_around_what_is_asked():
    counter = ScriptedLLM([]).token_counter()
    analyzer = Analyzer()
    text = _scene()
    window = reading_window(text, _terms(analyzer, NAMED_Q, "beacon"), analyzer, counter, 128)
    assert NAMED in window and counter.count(window) <= 128 < counter.count(text)
    # neighbours on both sides, not only the sentences before the fact
    before, after = window.split(NAMED)
    assert before.strip() and after.strip()
    assert window in text  # a slice of the chunk: its line breaks and wording kept


def test_a_reader_sees_the_whole_chunk_when_nothing_says_where_to_look():
    counter = ScriptedLLM([]).token_counter()
    analyzer = Analyzer()
    text = _scene()
    assert reading_window(text, _terms(analyzer, "Which mill burned?"), analyzer, counter, 128) == text  # no term
    assert reading_window(text, _terms(analyzer, NAMED_Q), analyzer, counter, 0) == text  # the window is off
    short = _scene(2, 2)
    assert reading_window(short, _terms(analyzer, NAMED_Q), analyzer, counter, 128) == short  # fits already
    # A fact told in other words: the chunk holds its other words ("beacon") but not
    # the question's own, so it may be about anything, and is read whole.
    told = _scene(fact=FACT)
    assert reading_window(told, _terms(analyzer, QUESTION, "beacon cape"), analyzer, counter, 128) == told


def test_a_window_goes_where_the_rare_words_are(tmp_path):
    # Many sentences that each hold a common word of the question ("harbour")
    # do not outweigh the one that holds its rare words.
    counter = ScriptedLLM([]).token_counter()
    talk = [f"Line {i}: the harbour was busy and the harbour boats went out." for i in range(24)]
    fact = "The harbour master Ilse Varn hands out cloudberry cakes each spring."
    port = " ".join(talk[:8] + [fact] + talk[8:])
    f = tmp_path / "port.txt"
    f.write_text("\n\n".join([port, *(f"Paragraph {i} is about the harbour and its tides." for i in range(200))]))
    store = IndexStore(tmp_path / "index", counter, ChunkSettings(size=512, overlap=0))
    corpus = store.corpus([store.add(f)])
    plan = QueryPlan("Who hands out cakes at the harbour?", "Who hands out cakes at the harbour?", keywords=["harbour"])
    terms = window_terms(plan, corpus)
    assert terms.weights[corpus.analyzer.terms("cakes")[0]] > terms.weights[corpus.analyzer.terms("harbour")[0]]
    window = reading_window(corpus.chunks[0].text, terms, corpus.analyzer, counter, 96)
    assert fact in window and counter.count(window) <= 96


def _reader_prompts(corpus, question, fact, window):
    llm = ScriptedLLM(Oracle({"lighthouse": fact}, keywords=["lighthouse keeper", "beacon"]))
    ans = ask_read(question, _job(corpus, llm, enough=1, window=window))
    assert fact in ans.answer
    return [c.messages[-1].content for c in llm.calls if c.messages[0].content == EN.reader_system]


def test_level_2_reads_windows_of_long_chunks_about_the_question(tmp_path):
    f = tmp_path / "coast.txt"
    f.write_text("\n\n".join([_scene(40, 40), _scene(80, 40, fact=FACT)]))
    store = IndexStore(tmp_path / "index", ScriptedLLM([]).token_counter(), ChunkSettings(size=512, overlap=0))
    corpus = store.corpus([store.add(f)])
    windowed, whole = ([p for p in _reader_prompts(corpus, NAMED_Q, NAMED, w) if NAMED in p] for w in (128, 0))
    assert windowed and whole and max(map(len, windowed)) < min(map(len, whole)) / 2
    # The paraphrased fact's chunk is read whole, window or not.
    told = [p for p in _reader_prompts(corpus, QUESTION, FACT, 128) if FACT in p]
    assert told and told == [p for p in _reader_prompts(corpus, QUESTION, FACT, 0) if FACT in p]


BORN = "Tam Orrin was born in the town of Velk."
LIES = "Velk lies in the province of Sarn."
CHAIN_Q = "In which province was Tam Orrin born?"


def _chain_corpus(tmp_path, lies=LIES, born=BORN):
    return _atlas(tmp_path, {30: born, 90: lies})


def _atlas(tmp_path, placed: dict[int, str]):
    """120 paragraphs of filler with the facts at the given paragraphs."""
    paras = [f"Paragraph {i} is about the harbour, the boats and the tides of the coast." for i in range(120)]
    for at, fact in placed.items():
        paras[at] = fact
    f = tmp_path / "atlas.txt"
    f.write_text("\n\n".join(paras))
    store = IndexStore(tmp_path / "index", ScriptedLLM([]).token_counter(), ChunkSettings(size=80, overlap=0))
    return store.corpus([store.add(f)])


class _ChainModel:
    """Readers that give the town for "which province?" (a link) and, asked
    about the town, the province; an answer step that names the town (`town_answer`) or
    says nothing, until it is shown the province's sentence."""

    def __init__(
        self,
        reader_link: bool = True,
        town_answer: bool = False,
        known_again: bool = False,
        lies: str = LIES,
        second_link: bool = False,
        blind: bool = False,
    ):
        self.lies = lies
        self.second_link = second_link  # readers asked the whole question answer from the second fact
        self.blind = blind  # the answer step never finds the answer
        self.reader_link = reader_link
        self.town_answer = town_answer
        self.known_again = known_again  # asked about the town, readers give the town again
        self.known_reads = 0

    def __call__(self, messages) -> str:
        system, user = messages[0].content, messages[-1].content
        if system == EN.query_system:
            return json.dumps({"information": CHAIN_Q, "keywords_en": ["Tam Orrin", "province"], "keywords_zh": []})
        if system == EN.expand_system:
            return ""
        if system == EN.reader_system:
            passage = user.rsplit("Passage:\n", 1)[-1]
            if "Question: In which province is Velk?" in user:
                self.known_reads += 1
                if self.known_again and "Velk" in passage:
                    return "the town of Velk"
                return "Sarn" if self.lies in passage else ("the town of Velk" if self.known_again else "none")
            if self.second_link and self.lies in passage:
                return "Sarn"
            return "the town of Velk" if self.reader_link and BORN in passage else "none"
        if self.blind:
            return EN.not_found
        if system in (EN.answer_system, EN.compose_system):
            if self.lies in user:
                n = re.findall(r"\[(\d+)\][^\[]*" + re.escape(self.lies), user)
                return f"Sarn [{n[0]}]"
            if self.town_answer and BORN in user:
                return "Tam Orrin was born in the town of Velk. [1]"
            return EN.not_found
        raise AssertionError(system[:60])


def test_a_readers_smaller_place_is_a_link_read_on_from(tmp_path):
    corpus = _chain_corpus(tmp_path)
    model = _ChainModel()
    ans = ask_read(CHAIN_Q, _job(corpus, ScriptedLLM(model)))
    assert ans.answer.startswith("Sarn"), ans.answer
    assert model.known_reads >= 1
    assert any(
        'read on from a link: "Velk" (a reader gave it); asked "In which province is Velk?"' in n for n in ans.notes
    ), ans.notes
    cited = " ".join(c.text for c in ans.citations)
    assert "Sarn" in cited


def test_the_answer_steps_refused_town_is_a_link_read_on_from(tmp_path):
    # Said without the word "province", the second fact is out of the question's reach.
    lies = "Velk belongs to Sarn."
    corpus = _chain_corpus(tmp_path, lies=lies)
    model = _ChainModel(reader_link=False, town_answer=True, lies=lies)
    ans = ask_read(CHAIN_Q, _job(corpus, ScriptedLLM(model)))
    assert ans.answer.startswith("Sarn"), ans.answer
    assert any("the answer step gave it" in n for n in ans.notes), ans.notes
    assert ans.withheld is None  # the chained answer stands


def test_a_link_that_leads_nowhere_leaves_the_answer_not_found(tmp_path):
    # The province sentence names another town: nothing read from the link answers.
    corpus = _chain_corpus(tmp_path, lies="Darrow lies in the province of Sarn.")
    model = _ChainModel()
    ans = ask_read(CHAIN_Q, _job(corpus, ScriptedLLM(model)))
    assert ans.answer.startswith(EN.not_found), ans.answer
    assert any("read on from a link" in n and n.endswith(" 0 answered") for n in ans.notes), ans.notes


def test_the_known_link_given_again_is_not_followed_twice(tmp_path):
    corpus = _chain_corpus(tmp_path, lies="Velk has a busy market.")
    model = _ChainModel(known_again=True)
    ans = ask_read(CHAIN_Q, _job(corpus, ScriptedLLM(model)))
    assert ans.answer.startswith(EN.not_found), ans.answer
    assert sum("read on from a link" in n for n in ans.notes) == 1, ans.notes
    assert model.known_reads == 1  # the market chunk, asked about Velk once


def test_no_link_is_followed_when_a_reader_answered_with_every_name_of_the_question(tmp_path):
    corpus = _chain_corpus(tmp_path, lies="Tam Orrin was born in the province of Sarn.")
    model = _ChainModel()

    def reader_answers(messages):
        if messages[0].content == EN.reader_system and "Tam Orrin was born in the province" in messages[-1].content:
            return "Sarn"
        return model(messages)

    ans = ask_read(CHAIN_Q, _job(corpus, ScriptedLLM(reader_answers)))
    assert ans.answer.startswith("Sarn"), ans.answer
    assert not any("read on from a link" in n for n in ans.notes)


def test_a_readers_answer_from_a_chains_second_fact_stands_when_a_passage_joins_it_to_the_question(tmp_path):
    corpus = _chain_corpus(tmp_path)
    model = _ChainModel(reader_link=False, second_link=True, blind=True)
    ans = ask_read(CHAIN_Q, _job(corpus, ScriptedLLM(model)))
    assert ans.answer.startswith("Sarn [1][2]"), ans.answer
    cited = [c.text for c in ans.citations]
    assert any(LIES in c for c in cited) and any(BORN in c for c in cited), cited


def test_without_a_passage_joining_it_to_the_question_a_second_fact_is_not_enough(tmp_path):
    # The first fact names another town: nothing joins "Velk lies in Sarn" to Tam Orrin.
    corpus = _chain_corpus(tmp_path, born="Tam Orrin was born in the town of Darrow.")
    model = _ChainModel(reader_link=False, second_link=True, blind=True)
    ans = ask_read(CHAIN_Q, _job(corpus, ScriptedLLM(model)))
    assert ans.answer.startswith(EN.not_found), ans.answer


def test_a_near_certain_reader_outweighs_a_far_less_sure_one_the_answer_step_took(tmp_path):
    corpus = _corpus(tmp_path, n=20, at=5)
    a, b = corpus.chunks[0], corpus.chunks[1]
    smiths = "渚漪岭的铁匠们在寒冷时节制作贵金属照明器具。"
    mines = "德钦地区铜矿已初步具备大型矿床规模。"
    best = Reading(a, 1.0, Verdict(0.99, "渚漪岭", smiths, related=True))
    less = Reading(b, 0.5, Verdict(0.88, "德钦", mines, related=True))
    evidence = [Evidence(a, 0.99, smiths, 20), Evidence(b, 0.88, mines, 20)]
    question = "哪个聚落的金属工匠在寒冷时节制作贵金属照明器具？"
    found = readers_answer([best, less], evidence, question)
    assert found is not None and found.outweighed == ("德钦",)
    assert found.passed_over("德钦地区铜矿已初步具备大型矿床规模。")
    assert not found.passed_over("渚漪岭 [1]") and not found.passed_over("德钦和渚漪岭")
    # Two readers about as sure: neither outweighs the other.
    close = Reading(b, 0.5, Verdict(0.95, "德钦", mines, related=True))
    found = readers_answer([best, close], evidence, question)
    assert found is not None and not found.passed_over("德钦地区铜矿")


GOVERNS = "The province of Sarn is governed by Ida Vell."
GOVERNOR_Q = "Who governs the province in which Tam Orrin was born?"


def _three_hop_corpus(tmp_path, governs=GOVERNS):
    return _atlas(tmp_path, {20: BORN, 60: LIES, 100: governs})


def _three_hop_model(whole_question_link: bool):
    """Readers that say "none" to the whole question (as the 1.5B did to the
    first fact) unless `whole_question_link`; each simple question they answer
    from its own sentence; the answer step names the governor when shown him."""

    def reply(messages) -> str:
        system, user = messages[0].content, messages[-1].content
        if system == EN.query_system:
            return json.dumps({"information": GOVERNOR_Q, "keywords_en": ["Tam Orrin", "province"], "keywords_zh": []})
        if system == EN.expand_system:
            return ""
        if system == EN.reader_system:
            passage = user.rsplit("Passage:\n", 1)[-1]
            if f"Question: {GOVERNOR_Q}" in user:
                return "Velk" if whole_question_link and BORN in passage else "none"
            if "Question: In which province is the place where Tam Orrin was born?" in user:
                return "Velk" if BORN in passage else "none"
            if "Question: In which province is Velk?" in user:
                return "Sarn" if LIES in passage else "none"
            if "Question: Who governs the province of Sarn?" in user:
                return "Ida Vell" if GOVERNS in passage else "none"
            return "none"
        if system in (EN.answer_system, EN.compose_system):
            n = re.findall(r"\[(\d+)\][^\[]*" + re.escape(GOVERNS), user)
            return f"Ida Vell [{n[0]}]" if n else EN.not_found
        raise AssertionError(system[:60])

    return reply


@pytest.mark.parametrize("whole_question_link", [True, False])
def test_a_question_about_a_place_named_by_a_clause_is_answered_through_three_facts(tmp_path, whole_question_link):
    ans = ask_read(GOVERNOR_Q, _job(_three_hop_corpus(tmp_path), ScriptedLLM(_three_hop_model(whole_question_link))))
    assert ans.answer.startswith("Ida Vell"), (ans.answer, ans.notes)
    # Every fact of the chain is cited, though the answer step cited the last only.
    assert [c.text for c in ans.citations] == [BORN, LIES, GOVERNS], ans.citations
    assert ans.answer.startswith("Ida Vell [1][2][3]"), ans.answer
    asked_first = any('asked "In which province is the place where Tam Orrin was born?"' in n for n in ans.notes)
    assert asked_first != whole_question_link, ans.notes  # asked only when no reader gave the town
    assert any(
        'the chain reached "Sarn"' in n and 'asked "Who governs the province of Sarn?"' in n for n in ans.notes
    ), ans.notes


def test_a_chain_that_ends_at_a_place_without_its_fact_says_not_found(tmp_path):
    corpus = _three_hop_corpus(tmp_path, governs="The province of Sarn has wide rivers and few roads.")
    ans = ask_read(GOVERNOR_Q, _job(corpus, ScriptedLLM(_three_hop_model(whole_question_link=True))))
    assert ans.answer.startswith(EN.not_found), ans.answer
    assert any('the chain reached "Sarn"' in n and n.endswith(" 0 answered") for n in ans.notes), ans.notes


def test_an_answer_naming_only_the_place_of_a_readers_whole_sentence_gives_way_to_the_reader(tmp_path):
    # The 0.5B's reader answered with its whole sentence and its answer step wrote
    # "The province of Rubral governs the province in which Thand Damork was born [2]."
    model = _three_hop_model(whole_question_link=True)

    def sentence_reader(messages):
        system, user = messages[0].content, messages[-1].content
        if system == EN.reader_system and "Who governs the province of Sarn?" in user:
            return GOVERNS if GOVERNS in user else "none"
        if system == EN.answer_system or system == EN.compose_system:
            return "The province of Sarn governs the province in which Tam Orrin was born [2]."
        return model(messages)

    ans = ask_read(GOVERNOR_Q, _job(_three_hop_corpus(tmp_path), ScriptedLLM(sentence_reader)))
    assert ans.answer.startswith("Ida Vell [1][2][3]"), (ans.answer, ans.notes)
    assert any("naming none of what the readers found" in n for n in ans.notes), ans.notes
