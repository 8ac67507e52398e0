"""`longdoc synth` with scripted models: each filter rule, each output format
(against the field names LLaMA-Factory documents), resume, DPO pairs, verify;
and one run through the real 0.5B model (marked `model`)."""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from longdoc.api import build_corpus
from longdoc.config import Settings
from longdoc.llm.scripted import ScriptedLLM
from longdoc.progress import Tracker
from longdoc.prompts import EN
from longdoc.records import Chunk
from longdoc.synth import filters
from longdoc.synth.cache import load_record
from longdoc.synth.formats import ALPACA, DPO, SHAREGPT, Example, dataset_info, dpo_pair, rows
from longdoc.synth.job import SynthConfig
from longdoc.synth.pick import candidate_names, middle, partner, plan_seeds, spread
from longdoc.synth.records import MULTI, SINGLE, UNANSWERABLE, Draft
from longdoc.synth.run import synthesize
from longdoc.synth.views import context_for
from longdoc.synth.write import parse_draft
from longdoc.tokens import EstimateCounter

FILLER = [
    "The orchard keepers counted the pear trees again after the long frost of the winter.",
    "Carts of wool rolled down to the river market every second morning in the dry months.",
    "Nobody in the parish could remember a summer as wet as the one that ruined the hay.",
    "The schoolroom windows faced the moor, and the slates rattled whenever the gales came.",
    "Traders from the coast brought salt fish, lamp oil and news that was weeks out of date.",
    "At dusk the shepherds drove their flocks into the stone pens below the old watch tower.",
]


@dataclass(frozen=True)
class Fact:
    sentence: str
    question: str
    answer: str


EARLY = Fact("The mill at Orrin Ford was rebuilt by Tam Ashe.", "Who rebuilt the mill at Orrin Ford?", "Tam Ashe")
MIDDLE = Fact(
    "The lighthouse on Karvo Point is kept by a woman named Edda Marn.",
    "Who keeps the lighthouse on Karvo Point?",
    "Edda Marn",
)
LATE = Fact("Edda Marn was born in the village of Dunmore.", "Where was Edda Marn born?", "Dunmore")
HOP = ("In which village was the keeper of the lighthouse on Karvo Point born?", "Dunmore")
INVENTED = ("Who rebuilt the bridge at Velk Crossing?", "Velk Crossing")
FILLER_DRAFT = {"question": "What did the traders bring from the coast?", "answer": "salt fish"}


def haystack(facts: dict[int, Fact], n: int = 120) -> str:
    """`n` filler paragraphs with each fact as its own paragraph at the given index."""
    paras = [" ".join(FILLER[(i + j) % len(FILLER)] for j in range(2)) for i in range(n)]
    for at in sorted(facts, reverse=True):
        paras.insert(at, facts[at].sentence)
    return "\n\n".join(paras)


class Writer:
    """A model that drafts from the planted facts and reads perfectly: it answers a
    question from the passage holding its fact, citing it. `wrong` replaces the
    agent's answer to a question (a planted mistake); `ends` answers the plain
    full-context prompt too (the document's ends)."""

    def __init__(
        self,
        facts: list[Fact],
        wrong: dict[str, str] | None = None,
        interrupt_on: int | None = None,
        one_hop: bool = False,
    ):
        self.facts, self.wrong, self.interrupt_on, self.calls = facts, wrong or {}, interrupt_on, 0
        self.one_hop = one_hop  # multi-hop drafts ask about passage 2 alone, as the 1.5B's often do

    def __call__(self, messages) -> str:
        self.calls += 1
        if self.calls == self.interrupt_on:
            raise KeyboardInterrupt
        system, user = messages[0].content, messages[-1].content
        if system == EN.synth_single_system:
            passage = user.rsplit("Passage:\n", 1)[-1]
            fact = next((f for f in self.facts if f.sentence in passage), None)
            return json.dumps({"question": fact.question, "answer": fact.answer} if fact else FILLER_DRAFT)
        if system == EN.synth_multi_system:
            if MIDDLE.sentence in user and LATE.sentence in user:
                q, a = (LATE.question, LATE.answer) if self.one_hop else HOP
                return json.dumps({"question": q, "answer": a})
            return json.dumps(FILLER_DRAFT)
        if system == EN.synth_unanswerable_system:
            name = user.rsplit("Name:", 1)[-1].split("\n")[0].strip()  # invented in code
            passage = user.rsplit("Passage:\n", 1)[-1].split("\nName:")[0]
            topic = re.findall(r"\b[a-z]{5,}\b", passage)[0]
            return json.dumps({"question": f"What did {name} say about the {topic}?"})
        if system == EN.query_system:
            q = user.rsplit("Question:", 1)[-1].replace("Reply:", "").strip()
            return json.dumps({"information": q, "instruction": "", "keywords_en": [], "keywords_zh": []})
        if system == EN.answer_system:
            question = user.rsplit("Question:", 1)[-1].split("\nInstructions:")[0].strip()
            return self._answer(question, user)
        if user.startswith("Read the document and answer the question briefly."):  # the plain model (ends)
            question = user.rsplit("Question:", 1)[-1].replace("Answer:", "").strip()
            fact = next((f for f in self.facts if f.question == question and f.sentence in user), None)
            return fact.answer if fact else "I do not know."
        return "none"  # Level 2 readers: never reached by these tests' `rag` mode

    def _answer(self, question: str, user: str) -> str:
        def cite(sentence: str) -> str:
            n = [p.split("]", 1)[0] for p in user.split("\n\n[")[0:] if sentence in p]
            return f"[{n[0].lstrip('[') if n else 1}]"

        if question in self.wrong:
            return self.wrong[question]
        if question == HOP[0] and MIDDLE.sentence in user and LATE.sentence in user:
            return f"Edda Marn keeps the lighthouse on Karvo Point {cite(MIDDLE.sentence)}; she was born in Dunmore {cite(LATE.sentence)}."
        for f in self.facts:
            if f.question == question and f.sentence in user:
                return f"{f.sentence} {cite(f.sentence)}"
        return EN.not_found


def settings(tmp_path) -> Settings:
    return Settings(backend="scripted", model="writer", home=tmp_path / "home")


def chunk(i: int, text: str, tokens: int = 100, start: int | None = None) -> Chunk:
    start = i * 1000 if start is None else start
    return Chunk(f"d:{i}", "d.txt", i, text, tokens, start=start, end=start + len(text))


# -- the filter rules, one by one ---------------------------------------------


def test_agreement_keeps_a_matching_answer_and_drops_a_different_one():
    draft = Draft(MIDDLE.question, "Edda Marn")
    assert filters.check_agreement(SINGLE, draft, f"{MIDDLE.sentence} [2]", "en", 0.5) == (None, 1.0)
    reason, score = filters.check_agreement(SINGLE, draft, "Tam Ashe keeps it [1].", "en", 0.5)
    assert reason == filters.AGENT_DISAGREES and score < 0.5
    assert filters.check_agreement(SINGLE, draft, "The documents do not say.", "en", 0.5)[0] == filters.AGENT_DISAGREES
    # no word-for-word match: LV-Eval's score (the reference's names as keywords, then token F1) decides
    near = Draft("Who?", "Edda Marn of Dunmore")
    reason, score = filters.check_agreement(SINGLE, near, "Edda Marn, of the village Dunmore", "en", 0.5)
    assert reason is None and 0.5 <= score < 1.0
    assert filters.check_agreement(SINGLE, near, "Edda Marn, of the village Dunmore", "en", 0.95)[0] is not None
    # the agent quotes the source's fullwidth digits, the draft wrote them plain
    year = Draft("梁惠珍做了多少年医生？", "43年")
    assert filters.check_agreement(SINGLE, year, "梁惠珍做了４３年医生 [1]。", "zh", 0.5) == (None, 1.0)


def test_agreement_for_unanswerable_items_is_a_refusal():
    draft = Draft(INVENTED[0], EN.not_found, INVENTED[1])
    assert filters.check_agreement(UNANSWERABLE, draft, "The documents do not say.", "en", 0.5)[0] is None
    assert filters.check_agreement(UNANSWERABLE, draft, "Tam Ashe rebuilt it [1].", "en", 0.5)[0] == (
        filters.AGENT_ANSWERED_UNANSWERABLE
    )


def test_citations_must_include_the_source_chunk():
    source = chunk(3, MIDDLE.sentence)
    other = chunk(7, "Fishermen mended their nets.")
    draft = Draft(MIDDLE.question, "Edda Marn")
    assert filters.check_citations(SINGLE, draft, [source], [other, source]) is None
    assert filters.check_citations(SINGLE, draft, [source], [other]) == filters.SOURCE_NOT_CITED
    assert filters.check_citations(SINGLE, draft, [source], []) == filters.SOURCE_NOT_CITED
    # chunks overlap: the neighbour that holds the same sentence cites the source too
    neighbour = chunk(4, "Gulls cried. " + MIDDLE.sentence, start=source.start - 13)
    assert filters.check_citations(SINGLE, draft, [source], [neighbour]) is None
    # a multi-hop item cites both of its chunks
    second = chunk(9, LATE.sentence)
    hop = Draft(HOP[0], HOP[1], "Edda Marn")
    assert filters.check_citations(MULTI, hop, [source, second], [second]) == filters.SOURCE_NOT_CITED
    assert filters.check_citations(MULTI, hop, [source, second], [source, second]) is None
    assert filters.check_citations(UNANSWERABLE, Draft("q", "a", "e"), [source], []) is None
    # a multi-hop draft about passage 2 alone, answered citing passage 2: a single-fact item
    alone = Draft(LATE.question, LATE.answer, "Edda Marn")
    assert filters.one_passage_answer(MULTI, alone, [source, second], [second]) == second
    assert filters.one_passage_answer(MULTI, alone, [source, second], [other]) is None
    assert filters.one_passage_answer(SINGLE, alone, [second], [other]) is None
    # a question that carries a name from passage 1 into passage 2's fact mixed the two: not relabelled
    union = chunk(20, "The Tamsin League joined Orra, Vell and Dask. Trade with Orra and Dask was 60% of Vell's.")
    mixed = Draft("What share of the Tamsin League's trade went to Orra and Dask?", "60%", "Orra")
    assert filters.one_passage_answer(MULTI, mixed, [source, union], [union]) is None
    own = Draft("What share of Vell's trade was with Orra and Dask?", "60%", "Orra")
    assert filters.one_passage_answer(MULTI, own, [source, union], [union]) == union
    # an answer without names counts as held where it stands word for word, as check_draft counts it
    plain = Draft("What colour is the shed by the quay?", "pale green", "Edda Marn")
    shed = chunk(12, "Edda Marn painted the shed by the quay pale green.")
    assert filters.check_draft(MULTI, plain, [source, shed]) is None
    assert filters.one_passage_answer(MULTI, plain, [source, shed], [shed]) == shed


def test_items_answerable_from_the_first_and_last_tokens_are_dropped():
    chunks = [chunk(i, f"text {i}") for i in range(10)]  # 100 tokens each
    assert filters.check_depth([0], chunks, 250) == filters.SOURCE_IN_ENDS
    assert filters.check_depth([9], chunks, 250) == filters.SOURCE_IN_ENDS
    assert filters.check_depth([5], chunks, 250) is None
    assert filters.check_depth([0, 5], chunks, 250) is None  # the ends cannot chain to the middle
    assert filters.check_depth([0, 9], chunks, 250) == filters.SOURCE_IN_ENDS
    draft = Draft(MIDDLE.question, "Edda Marn")
    ends = "Gulls cried. Edda Marn walked the quay."
    assert filters.check_ends(SINGLE, draft, "Edda Marn.", ends, "en", 0.5) == filters.ANSWERABLE_FROM_ENDS
    assert filters.check_ends(SINGLE, draft, "I do not know.", ends, "en", 0.5) is None
    # a right guess from ends that never say the answer is no answer from the ends
    assert filters.check_ends(SINGLE, draft, "Edda Marn.", "Gulls cried over the quay.", "en", 0.5) is None
    guess = Draft("清房期间，分局党委召开几次常委会？", "两次")
    assert filters.check_ends(SINGLE, guess, "两次。", "新年讲话。市场平稳。", "zh", 0.5) is None
    assert (
        filters.check_ends(SINGLE, guess, "两次。", "分局党委召开两次常委会。", "zh", 0.5)
        == filters.ANSWERABLE_FROM_ENDS
    )


def test_unanswerable_items_are_checked_against_the_index(tmp_path):
    doc = tmp_path / "harbour.txt"
    doc.write_text(haystack({10: MIDDLE}, n=30), encoding="utf-8")
    corpus, _ = build_corpus([doc], settings(tmp_path), Tracker(), EstimateCounter())
    assert filters.check_unmentioned(Draft(INVENTED[0], EN.not_found, INVENTED[1]), corpus) is None
    mentioned = Draft("Who rebuilt the bridge at Karvo Point?", EN.not_found, "Karvo Point")
    assert filters.check_unmentioned(mentioned, corpus) == filters.ENTITY_IN_DOCUMENT
    elsewhere = Draft("Who rebuilt the bridge?", EN.not_found, "Velk Crossing")
    assert filters.check_draft(UNANSWERABLE, elsewhere, []) == filters.ENTITY_NOT_IN_QUESTION


def test_drafts_are_checked_against_their_chunk():
    source = [chunk(0, MIDDLE.sentence)]
    assert filters.check_draft(SINGLE, None, source) == filters.DRAFT_UNPARSED
    assert filters.check_draft(SINGLE, Draft(MIDDLE.question, "Edda Marn"), source) is None
    assert filters.check_draft(SINGLE, Draft(MIDDLE.question, "Ida Sole"), source) == filters.ANSWER_NOT_IN_SOURCE
    given = Draft("Does Edda Marn keep the lighthouse?", "Edda Marn")
    assert filters.check_draft(SINGLE, given, source) == filters.QUESTION_GIVES_ANSWER
    assert filters.check_draft(SINGLE, Draft(MIDDLE.question, "a woman"), source) is None  # words, no names
    stated = Draft("Velk Arrow keeps the lighthouse on Karvo Point.", EN.not_found, "Velk Arrow")
    assert filters.check_draft(UNANSWERABLE, stated, source) == filters.NOT_A_QUESTION
    assert filters.check_draft(UNANSWERABLE, Draft("迟砚琨在1996年实现了翻两番的战略目标。", "", "迟砚琨"), []) == (
        filters.NOT_A_QUESTION
    )
    news = [chunk(0, "他说，我国在1996年实现了翻两番的战略目标。那曲地区遭受雪灾，防寒防冻物资紧缺。")]
    assert filters.check_draft(UNANSWERABLE, Draft("迟砚琨在哪一年实现了战略目标", "", "迟砚琨"), news) is None
    # a question mark alone does not make a Chinese sentence a question
    assert filters.check_draft(
        UNANSWERABLE, Draft("莫昶璟在那曲地区受雪灾群众的防寒防冻物资紧缺？", "", "莫昶璟"), news
    ) == (filters.NOT_A_QUESTION)
    assert filters.check_draft(UNANSWERABLE, Draft("莫昶璟去过那曲地区吗？", "", "莫昶璟"), news) is None
    # a question that shares no words with its passage: the prompt's example copied
    copied = Draft("What did Velk Arrow send to Dunmarsh while snow closed the pass?", EN.not_found, "Velk Arrow")
    assert filters.check_draft(UNANSWERABLE, copied, source) == filters.OFF_PASSAGE
    assert filters.check_draft(UNANSWERABLE, Draft("山口封闭期间，莫昶璟送去了什么？", "", "莫昶璟"), news) == (
        filters.OFF_PASSAGE
    )
    # the example copied, though the passage holds some of its words
    snow = [chunk(0, "Send word while the snow lies deep; none shall pass the gate.")]
    copied = Draft("What did Zairk Gileis send to Dunmarsh while snow closed the pass?", EN.not_found, "Zairk Gileis")
    assert filters.check_draft(UNANSWERABLE, copied, snow) == filters.OFF_PASSAGE
    on_topic = Draft("What did Velk Arrow paint on the lighthouse?", EN.not_found, "Velk Arrow")
    assert filters.check_draft(UNANSWERABLE, on_topic, source) is None
    # the model writes fullwidth digits plain: still the chunk's answer
    tv = [chunk(0, "去年１２月１６日，西湖电子集团的“全数字”彩电吸引了众多观众。")]
    assert filters.check_draft(SINGLE, Draft("全数字彩电是什么时候展出的？", "去年12月16日"), tv) is None
    assert filters.check_draft(SINGLE, Draft("全数字彩电是什么时候展出的？", "去年12月19日"), tv) == (
        filters.ANSWER_NOT_IN_SOURCE
    )


def test_an_answer_that_says_the_question_back_is_dropped():
    # zh10: a "why" question answered with itself, and a headline for "which measures?"
    news = [
        chunk(0, "恩佐说，南非同中国建交是两国３００多年交往的自然结果。重庆：关怀孤寡老人。委员会每年捐赠被子一床。")
    ]
    why = Draft(
        "恩佐为什么说南非同中国建交是两国300多年交往的自然结果？",
        "恩佐说，南非同中国建交是两国３００多年交往的自然结果。",
    )
    assert filters.check_draft(SINGLE, why, news) == filters.QUESTION_GIVES_ANSWER
    headline = Draft("重庆有哪些关怀孤寡老人的措施？", "重庆：关怀孤寡老人")
    assert filters.check_draft(SINGLE, headline, news) == filters.QUESTION_GIVES_ANSWER
    assert filters.check_draft(SINGLE, Draft("重庆关怀孤寡老人的措施是什么？", "每年捐赠被子一床"), news) is None
    medals = [chunk(0, "安徽省代表团在八运会上获５．５枚金牌。")]
    assert filters.check_draft(SINGLE, Draft("安徽省代表团在八运会上获得了多少枚金牌？", "5.5枚金牌"), medals) is None
    play = [chunk(0, "Duncan rode to Inverness, where Macbeth waited at the castle gate.")]
    back = Draft("Why did Duncan ride to Inverness?", "Duncan did ride to Inverness.")
    assert filters.check_draft(SINGLE, back, play) == filters.QUESTION_GIVES_ANSWER
    assert filters.check_draft(SINGLE, Draft("Who waited at the castle gate in Inverness?", "Macbeth"), play) is None


def test_vague_questions_are_drafted_again():
    # From verse the 1.5B asked "Who is the king?" (the agent guessed Macbeth; the draft said Duncan).
    play = [chunk(0, "Duncan, the king, rode to the castle of Macbeth at Inverness.")]
    assert filters.check_draft(SINGLE, Draft("Who is the king?", "Duncan"), play) == filters.VAGUE_QUESTION
    assert filters.check_draft(SINGLE, Draft("Who rode to the castle at Inverness?", "Duncan"), play) is None
    passage = Draft("Who rides to the castle in this passage?", "Duncan")
    assert filters.check_draft(SINGLE, passage, play) == filters.VAGUE_QUESTION  # the reader never sees "the passage"
    poem = Draft("Who is the speaker of the poem at the castle?", "Duncan")
    assert filters.check_draft(SINGLE, poem, play) == filters.VAGUE_QUESTION
    news = [chunk(0, "国王陛下今天访问了湛江市。")]
    assert filters.check_draft(SINGLE, Draft("谁是国王？", "陛下"), news) == filters.VAGUE_QUESTION
    assert filters.check_draft(SINGLE, Draft("国王今天访问了哪个城市？", "湛江市"), news) is None
    wto = [chunk(0, "WTO的总部在日内瓦。")]
    assert filters.check_draft(SINGLE, Draft("WTO的总部在哪里？", "日内瓦"), wto) is None  # a Latin name counts too
    assert filters.check_draft(SINGLE, Draft("这段文字中国王访问了哪里？", "湛江市"), news) == filters.VAGUE_QUESTION
    # an unanswerable question is asked about an invented name: never vague by this rule
    assert filters.check_draft(UNANSWERABLE, Draft("Who is Velk Arrow?", EN.not_found, "Velk Arrow"), play) != (
        filters.VAGUE_QUESTION
    )


def test_a_question_about_someone_only_the_passage_knows_is_vague():
    # "谁是你的妻子？" came from a line of dialogue; "…他们在全区农村开展了什么活动？" from a news
    # item's "they": whom they mean, only the passage's reader knows.
    talk = [chunk(0, "“你的妻子是谁？”“是林秀。”他说，“我们在海边住了二十年。”")]
    assert filters.check_draft(SINGLE, Draft("谁是你的妻子？", "林秀"), talk) == filters.VAGUE_QUESTION
    news = [chunk(0, "去年初，他们在全区农村开展了十万农民党员联户扶贫活动。我国粮食产量再创新高。")]
    q = "为了加大扶贫力度，去年初，他们在全区农村开展了什么活动？"
    assert filters.check_draft(SINGLE, Draft(q, "十万农民党员联户扶贫活动"), news) == filters.VAGUE_QUESTION
    assert filters.check_draft(SINGLE, Draft("我国粮食产量怎么样？", "再创新高"), news) is None  # 我国: China
    play = [chunk(0, "Macbeth said he would take the crown at Scone. Duncan rode to Inverness.")]
    assert filters.check_draft(SINGLE, Draft("What did you see at Scone?", "the crown"), play) == (
        filters.VAGUE_QUESTION
    )
    assert filters.check_draft(SINGLE, Draft("Where did he say he would take the crown?", "Scone"), play) == (
        filters.VAGUE_QUESTION
    )
    # the question names whom its "he" means
    assert filters.check_draft(SINGLE, Draft("Where did Macbeth say he would take the crown?", "Scone"), play) is None


def test_parse_draft_takes_the_first_usable_json_object():
    reply = 'Sure!\n```json\n{"question": "Who keeps it?", "answer": "Edda Marn"}\n```'
    assert parse_draft(reply, SINGLE, EN) == Draft("Who keeps it?", "Edda Marn")
    assert parse_draft('{"question": "Who?"} then {"question": "Q", "answer": "A"}', SINGLE, EN) == Draft("Q", "A")
    assert parse_draft("no json here", SINGLE, EN) is None
    assert parse_draft('{"question": "Q?"}', UNANSWERABLE, EN, "Velk") == Draft("Q?", EN.not_found, "Velk")


# -- picking chunks -----------------------------------------------------------


def test_picks_spread_over_depths_and_repeat_for_a_seed():
    picks = spread(10, 100, random.Random(1))
    assert [p // 10 for p in picks] == list(range(10))
    chunks = [chunk(i, f"Part {i}.") for i in range(40)]
    a = plan_seeds("v", chunks, 6, (SINGLE, UNANSWERABLE), seed=3)
    assert a == plan_seeds("v", chunks, 6, (SINGLE, UNANSWERABLE), seed=3)
    assert a != plan_seeds("v", chunks, 6, (SINGLE, UNANSWERABLE), seed=4)
    assert sorted(s.kind for s in a) == [SINGLE] * 3 + [UNANSWERABLE] * 3
    assert len({s.item for s in plan_seeds("v", chunks, 60, (SINGLE,), seed=3)}) == 60  # more items than chunks


def test_an_item_id_names_its_chunks_so_another_n_reuses_only_the_same_items():
    chunks = [chunk(i, f"Part {i}.") for i in range(40)]
    for n in (4, 8, 13):
        for s in plan_seeds("v", chunks, n, (SINGLE, UNANSWERABLE), seed=3):
            assert s.item == f"v-{s.kind}-" + "-".join(f"c{i}" for i in s.chunks)


def test_chunks_wholly_within_the_ends_are_not_picked():
    chunks = [chunk(i, "word " * 40) for i in range(20)]  # ~50 tokens each
    lo, hi = middle(chunks, ends_tokens=120)
    assert 0 < lo <= 3 and 17 <= hi < 20
    assert all(lo <= i < hi for s in plan_seeds("v", chunks, 10, (SINGLE,), seed=1, ends_tokens=120) for i in s.chunks)
    assert middle(chunks, ends_tokens=10**6) == (0, 20)  # nothing between the ends: every chunk


def test_unanswerable_items_ask_about_a_name_invented_in_code():
    chunks = [chunk(i, f"Part {i}.") for i in range(40)]
    seeds = [s for s in plan_seeds("v", chunks, 8, (UNANSWERABLE,), seed=2)]
    assert len({s.entity for s in seeds}) == 8 and all(s.entity.istitle() for s in seeds)
    zh = [chunk(i, f"第{i}段讲港口的事。") for i in range(40)]
    assert all("\u4e00" <= s.entity[0] <= "\u9fff" for s in plan_seeds("v", zh, 4, (UNANSWERABLE,), seed=2))


def test_multi_hop_partner_prefers_the_rarest_shared_name():
    texts = ["Macbeth and Banquo meet.", "Filler.", "Filler.", "Macbeth rides.", "Banquo rides.", "Macbeth waits."]
    found = partner([chunk(i, t) for i, t in enumerate(texts)], 0, random.Random(0))
    assert found == (4, "Banquo")  # in 2 chunks, where Macbeth is in 3


def test_multi_hop_partner_shares_a_rare_name():
    chunks = [chunk(i, FILLER[i % len(FILLER)]) for i in range(12)]
    chunks[2] = chunk(2, MIDDLE.sentence)
    chunks[8] = chunk(8, LATE.sentence)
    found = partner(chunks, 2, random.Random(0))
    assert found is not None and found[0] == 8 and found[1] in ("Edda", "Marn")
    assert partner(chunks, 5, random.Random(0)) is None  # filler words are in every chunk: not names


def test_chinese_multi_hop_partners_share_a_name_not_a_common_phrase():
    # Runs of three characters tied "带来了" and "被评为" passages in the 1.5B's run.
    texts = [
        "梁惠珍被评为第三届全国职工职业道德标兵，她为患者带来了希望。",
        "今天的天气晴朗，市场平稳。",
        "今天的天气晴朗，市场平稳。",
        "中国大马戏团带来了获奖项目，刘德明被评为优秀演员。",
        "今天的天气晴朗，市场平稳。",
        "湛江市惠珍联合医院院长梁惠珍做了四十三年医生。",
    ]
    found = partner([chunk(i, t) for i, t in enumerate(texts)], 0, random.Random(0))
    assert found == (5, "梁惠珍")
    assert "梁惠珍" in candidate_names(texts[5]) and "湛江市" in candidate_names(texts[5])
    assert not {"带来了", "被评为"} & set(candidate_names(texts[0]))


def test_multi_hop_partner_prefers_a_name_the_passage_is_about():
    texts = ["Then Macbeth meets Banquo, and Macbeth speaks.", "Filler.", "Filler.", "Banquo rides.", "Macbeth waits."]
    # Banquo is said once, Macbeth twice: the passage is about Macbeth
    assert partner([chunk(i, t) for i, t in enumerate(texts)], 0, random.Random(0)) == (4, "Macbeth")


def test_english_partners_are_names_not_the_capitals_that_open_verse_lines():
    # Verse opens every line with a capital: the 1.5B's run tied passages by "Commends" and "Shame".
    verse = "The king hath happily receiv'd, Macbeth,\nCommends the ingredients of our cup\nShame to our lips."
    assert candidate_names(verse) == ["Macbeth"]
    texts = [verse, "Filler.", "Filler.", "Shame, and I am ashamed.\nCommends me.", "They call him Macbeth."]
    assert partner([chunk(i, t) for i, t in enumerate(texts)], 0, random.Random(0)) == (4, "Macbeth")
    # a name inside a longer word is not the name
    ashamed = ["A man called Shame came.", "Filler.", "Filler.", "I am ashamed."]
    assert partner([chunk(i, t) for i, t in enumerate(ashamed)], 0, random.Random(0)) is None


# -- output formats -------------------------------------------------------------

# The keys LLaMA-Factory's data/README documents for dataset_info.json.
LF_TOP = {"hf_hub_url", "ms_hub_url", "script_url", "file_name", "formatting", "ranking", "subset", "folder"}
LF_COLUMNS = {
    "prompt",
    "query",
    "response",
    "history",
    "messages",
    "system",
    "tools",
    "images",
    "chosen",
    "rejected",
    "kto_tag",
}
LF_TAGS = {"role_tag", "content_tag", "user_tag", "assistant_tag", "observation_tag", "function_tag", "system_tag"}

EXAMPLE = Example("sys", "Who keeps it?", "DOC", "Document:\nDOC\n\nQuestion: Who keeps it?", "Edda Marn.", "Tam Ashe.")


def test_formats_use_the_field_names_llama_factory_documents():
    info = dataset_info((SHAREGPT, ALPACA, DPO))
    for name, entry in info.items():
        assert set(entry) - {"columns", "tags"} <= LF_TOP, name
        assert set(entry["columns"]) <= LF_COLUMNS and set(entry.get("tags", {})) <= LF_TAGS, name
        assert entry["formatting"] in ("alpaca", "sharegpt")
    share, alp, dpo = (info[f"longdoc_synth_{f}"] for f in (SHAREGPT, ALPACA, DPO))
    assert share["file_name"] == "sharegpt.jsonl" and alp["file_name"] == "alpaca.jsonl" and dpo["ranking"] is True

    (row,) = rows(SHAREGPT, [EXAMPLE])
    assert set(row) == set(share["columns"].values()) == {"conversations"}
    tags = share["tags"]
    assert [set(m) for m in row["conversations"]] == [{tags["role_tag"], tags["content_tag"]}] * 3
    roles = [m[tags["role_tag"]] for m in row["conversations"]]
    assert roles == [tags["system_tag"], tags["user_tag"], tags["assistant_tag"]] == ["system", "human", "gpt"]
    assert row["conversations"][1]["value"] == EXAMPLE.user and row["conversations"][2]["value"] == "Edda Marn."

    (row,) = rows(ALPACA, [EXAMPLE])
    assert set(row) == set(alp["columns"].values()) == {"instruction", "input", "output", "system"}
    assert (row["instruction"], row["input"], row["output"]) == ("Who keeps it?", "DOC", "Edda Marn.")

    (row,) = rows(DPO, [EXAMPLE])
    assert set(row) == set(dpo["columns"].values()) == {"instruction", "input", "chosen", "rejected", "system"}


def test_dpo_pair_only_when_the_answers_differ():
    assert dpo_pair(EXAMPLE) == {
        "instruction": "Who keeps it?",
        "input": "DOC",
        "chosen": "Edda Marn.",
        "rejected": "Tam Ashe.",
        "system": "sys",
    }
    same = Example("sys", "q", "DOC", "u", "Edda Marn.", "edda marn [1]")
    assert dpo_pair(same) is None
    assert dpo_pair(Example("sys", "q", "DOC", "u", "Edda Marn.", "")) is None


def test_context_cut_to_max_context_keeps_the_source():
    text = "\n\n".join(f"Paragraph {i} " + "word " * 40 for i in range(20))
    doc = tmp_doc(text)
    cut = context_for(text, doc, [10], max_tokens=200)
    assert "Paragraph 10 " in cut and "Paragraph 0 " not in cut and "Paragraph 19 " not in cut
    assert cut.startswith("…") and cut.endswith("…")
    assert context_for(text, doc, [10], None) == text


def tmp_doc(text: str):
    from longdoc.records import IndexedDoc

    chunks, at = [], 0
    for i, part in enumerate(text.split("\n\n")):
        chunks.append(Chunk(f"t:{i}", "t.txt", i, part, EstimateCounter().count(part), start=at, end=at + len(part)))
        at += len(part) + 2
    return IndexedDoc("k", "t.txt", "t.txt", "0" * 64, "txt", None, chunks, built=True)


# -- whole runs ---------------------------------------------------------------------


def _doc(tmp_path):
    doc = tmp_path / "harbour.txt"
    doc.write_text(haystack({0: EARLY, 60: MIDDLE, 100: LATE}), encoding="utf-8")
    return doc


def _config(**changes) -> SynthConfig:
    base = {"n": 12, "kinds": (SINGLE, MULTI, UNANSWERABLE), "mode": "rag", "ends_tokens": 300, "dpo": True}
    return SynthConfig(**{**base, **changes})


def _records(out):
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted((out / "raw").glob("*.json"))]


def test_run_keeps_good_items_records_drop_reasons_and_writes_every_file(tmp_path):
    out = tmp_path / "out"
    model = Writer([EARLY, MIDDLE, LATE])
    summary = synthesize([_doc(tmp_path)], out, settings(tmp_path), _config(), llm=ScriptedLLM(model))
    records = _records(out)
    assert len(records) == summary.planned == summary.finished == 12
    kept = [r for r in records if r["kept"]]
    assert summary.kept == len(kept) >= 1
    # each unanswerable item asks about its own invented name, which the document never uses
    unanswerable = [r for r in records if r["kind"] == UNANSWERABLE]
    assert unanswerable and all(r["kept"] and r["entity"] in r["question"] for r in unanswerable)
    assert len({r["entity"] for r in unanswerable}) == len(unanswerable)
    assert all(r["reason"] is None and r["sources"] and r["model"] == "scripted" for r in kept)
    assert all(r["reason"] in filters.REASONS for r in records if not r["kept"])
    assert sum(summary.dropped.values()) + summary.kept == 12
    share = [json.loads(line) for line in (out / "sharegpt.jsonl").read_text(encoding="utf-8").splitlines()]
    alp = [json.loads(line) for line in (out / "alpaca.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(share) == len(alp) == len(kept)
    assert all(MIDDLE.sentence in a["input"] and "[" not in a["output"] for a in alp)  # the whole document, no markers
    dpo = (out / "dpo.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(dpo) == len(kept)  # the plain model said "I do not know." every time
    info = json.loads((out / "dataset_info.json").read_text(encoding="utf-8"))
    assert set(info) == {"longdoc_synth_sharegpt", "longdoc_synth_alpaca", "longdoc_synth_dpo"}

    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["counts"]["kept"] == len(kept) and manifest["counts"]["dropped"] == summary.dropped
    assert manifest["sources"][0]["sha256"] and manifest["model"] == "scripted" and manifest["version"]
    assert manifest["tokens"]["prompt"] == sum(r["prompt_tokens"] for r in records) > 0
    assert manifest["settings"]["n"] == 12 and manifest["settings"]["kinds"] == [SINGLE, MULTI, UNANSWERABLE]
    assert manifest["files"]["sharegpt.jsonl"]["rows"] == len(kept)


def test_a_planted_wrong_agent_answer_is_dropped(tmp_path):
    out = tmp_path / "out"  # n=12 single items: every chunk is picked once
    model = Writer([EARLY, MIDDLE, LATE], wrong={MIDDLE.question: "Tam Ashe keeps the lighthouse [1]."})
    synthesize([_doc(tmp_path)], out, settings(tmp_path), _config(kinds=(SINGLE,)), llm=ScriptedLLM(model))
    records = _records(out)
    middle = [r for r in records if r["question"] == MIDDLE.question]
    assert middle and all(not r["kept"] and r["reason"] == filters.AGENT_DISAGREES for r in middle)
    assert [r["kept"] for r in records if r["question"] == LATE.question] == [True]
    # the fact in the document's first paragraph: the plain model answers it from the start alone
    early = [r for r in records if r["question"] == EARLY.question]
    assert early and all(r["reason"] == filters.ANSWERABLE_FROM_ENDS for r in early)


def test_multi_hop_items_chain_two_chunks_and_cite_both(tmp_path):
    out = tmp_path / "out"  # one multi-hop item per chunk
    config = _config(kinds=(MULTI,), n=11)
    synthesize([_doc(tmp_path)], out, settings(tmp_path), config, llm=ScriptedLLM(Writer([EARLY, MIDDLE, LATE])))
    records = _records(out)
    (hop,) = [r for r in records if r["kept"]]
    assert hop["question"] == HOP[0] and hop["entity"] in ("Edda", "Marn")
    assert len(hop["sources"]) == 2 and set(hop["sources"]) <= set(hop["cited"])
    assert filters.NO_SHARED_NAME in {r["reason"] for r in records}


def test_a_multi_hop_draft_answered_from_one_passage_is_kept_as_a_single_fact_item(tmp_path):
    out = tmp_path / "out"
    config = _config(kinds=(MULTI,), n=11)
    model = Writer([EARLY, MIDDLE, LATE], one_hop=True)
    synthesize([_doc(tmp_path)], out, settings(tmp_path), config, llm=ScriptedLLM(model))
    records = _records(out)
    (item,) = [r for r in records if r["kept"]]
    assert item["question"] == LATE.question and item["kind"] == SINGLE and item["drafted_as"] == MULTI
    assert item["sources"] == item["cited"][:1] and len(item["source_spans"]) == 1
    assert all(r["drafted_as"] == "" for r in records if not r["kept"])
    assert json.loads((out / "manifest.json").read_text(encoding="utf-8"))["counts"]["kept_as_single"] == 1


def test_run_resumes_after_an_interrupt_and_keeps_what_was_finished(tmp_path):
    out, doc, config = tmp_path / "out", _doc(tmp_path), _config()
    with pytest.raises(KeyboardInterrupt):
        synthesize(
            [doc], out, settings(tmp_path), config, llm=ScriptedLLM(Writer([EARLY, MIDDLE, LATE], interrupt_on=12))
        )
    done = {r["id"] for r in _records(out)}
    assert 0 < len(done) < 12
    # what was finished is already in the training files and the manifest
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["counts"]["finished"] == len(done)

    again = Writer([EARLY, MIDDLE, LATE])
    summary = synthesize([doc], out, settings(tmp_path), config, llm=ScriptedLLM(again))
    assert summary.new == 12 - len(done) and summary.finished == 12
    # a third run has nothing to do: a model with no replies is never called
    summary = synthesize([doc], out, settings(tmp_path), config, llm=ScriptedLLM([]))
    assert summary.new == 0 and summary.finished == 12


def test_failed_backend_calls_are_retried_on_the_next_run(tmp_path):
    out, doc, config = tmp_path / "out", _doc(tmp_path), _config(n=3, kinds=(SINGLE,))
    first = synthesize([doc], out, settings(tmp_path), config, llm=ScriptedLLM(Writer([MIDDLE]), fail_on=[1]))
    assert first.errors == 1 and first.finished == 2
    failed = next(r for r in _records(out) if r["error"])
    second = synthesize([doc], out, settings(tmp_path), config, llm=ScriptedLLM(Writer([MIDDLE])))
    assert second.new == 1 and second.errors == 0
    assert load_record(out, failed["id"]).error is None


def test_lengths_cut_views_and_max_context_cuts_contexts(tmp_path):
    out = tmp_path / "out"
    config = _config(lengths=(2000,), max_context=600, kinds=(SINGLE,), n=6)
    synthesize([_doc(tmp_path)], out, settings(tmp_path), config, llm=ScriptedLLM(Writer([EARLY, MIDDLE, LATE])))
    (view,) = (out / "docs").glob("*.txt")
    assert "-2k" in view.name and EstimateCounter().count(view.read_text(encoding="utf-8")) <= 2100
    assert all(r["view"] == str(view) for r in _records(out))
    for line in (out / "alpaca.jsonl").read_text(encoding="utf-8").splitlines():
        assert EstimateCounter().count(json.loads(line)["input"]) <= 620


def test_bad_settings_are_refused(tmp_path):
    from longdoc.errors import ConfigError

    for bad in (_config(kinds=("riddle",)), _config(formats=("csv",)), _config(n=0), _config(mode="nope")):
        with pytest.raises(ConfigError):
            synthesize([_doc(tmp_path)], tmp_path / "out", settings(tmp_path), bad, llm=ScriptedLLM([]))


# -- the planted check and the audit sheet ------------------------------------------

_SYL = ["Ka", "Lo", "Mi", "Re", "Su", "Ta", "Vo", "Ze"]


def _well(i: int) -> Fact:
    """A fact of its own for each paragraph: a place and a person found nowhere else."""
    first, last = f"{_SYL[i % 8]}ra{_SYL[i // 8].lower()}", f"{_SYL[i // 8]}m{_SYL[i % 8].lower()}"
    place = f"{_SYL[i % 8]}th{_SYL[i // 8].lower()}s Ford"
    return Fact(f"The well at {place} was dug by {first} {last}.", f"Who dug the well at {place}?", f"{first} {last}")


WELLS = [_well(i) for i in range(60)]


def _wells(tmp_path):
    """Sixty paragraphs, each with its own fact: every chunk drafts a question of its own."""
    doc = tmp_path / "wells.txt"
    paras = [" ".join([f.sentence] + [FILLER[(i + j) % len(FILLER)] for j in range(4)]) for i, f in enumerate(WELLS)]
    doc.write_text("\n\n".join(paras), encoding="utf-8")
    return doc


def _lines(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _planted_run(tmp_path, **changes):
    out = tmp_path / "out"
    config = _config(kinds=(SINGLE,), n=12, plant=4, **changes)
    summary = synthesize([_wells(tmp_path)], out, settings(tmp_path), config, llm=ScriptedLLM(Writer(WELLS)))
    return out, summary


def test_alter_gives_a_wrong_value_of_the_same_kind_from_another_chunk():
    from longdoc.synth.plant import alter
    from longdoc.synth.records import Seed
    from longdoc.verify.names import bare

    config = SynthConfig(seed=5)
    chunks = [
        chunk(0, MIDDLE.sentence + " The keeper lit the lamp in the spring of 1822, after the salt fish came."),
        chunk(1, "The mill at Orrin Ford was rebuilt by Tam Ashe in 1795 with pear trees around it."),
        chunk(2, "Traders from the coast brought lamp oil and news that was weeks out of date."),
    ]
    seed = Seed("x", SINGLE, (0,))
    wrong = alter(Draft(MIDDLE.question, "Edda Marn"), seed, chunks, config)
    assert wrong is not None and wrong.question == MIDDLE.question
    assert wrong.answer in ("Orrin Ford", "Tam Ashe")  # a name of as many words, from another chunk
    number = alter(Draft("When was the lamp lit?", "in the spring of 1822"), seed, chunks, config)
    assert number is not None and number.answer == "in the spring of 1795"
    words = alter(Draft("What came before the lamp was lit?", "salt fish"), seed, chunks, config)
    assert words is not None and len(words.answer.split()) == 2 and words.answer in chunks[1].text + chunks[2].text
    for altered, right in ((wrong, "Edda Marn"), (number, "1822"), (words, "salt fish")):
        assert bare(right) not in bare(altered.answer) and bare(altered.answer) not in bare(chunks[0].text)
    assert alter(Draft(MIDDLE.question, "Edda Marn"), seed, chunks, config) == wrong  # seeded
    # a number the document holds nowhere else is made up, as many digits; a name cannot be
    alone = [chunks[0]]
    made = alter(Draft("When?", "in the spring of 1822"), seed, alone, config)
    assert (
        made is not None and made.answer != "in the spring of 1822" and len(made.answer) == len("in the spring of 1822")
    )
    assert alter(Draft(MIDDLE.question, "Edda Marn"), seed, alone, config) is None


def test_planted_answers_are_dropped_counted_and_never_written(tmp_path):
    from longdoc.verify.names import bare

    out, summary = _planted_run(tmp_path)
    records = _records(out)
    planted = [r for r in records if r["planted"]]
    assert len(planted) == 4
    for r in planted:  # the agent answered right; the altered reference made it disagree
        assert r["planted_from"] and bare(r["planted_from"]) != bare(r["reference"])
        assert r["planted_from_agreement"] == 1.0 and r["agreement"] < 0.5
        assert not r["kept"] and r["reason"] == filters.AGENT_DISAGREES
    kept = [r for r in records if r["kept"] and not r["planted"]]
    assert kept and all(not r["planted_from"] for r in records if not r["planted"])
    assert summary.planned == 8 and summary.kept == len(kept) and summary.finished == 8
    assert summary.planted is not None and summary.planted.passed is True
    probes = {r["question"] for r in planted}
    for name in ("alpaca.jsonl", "dpo.jsonl"):
        rows_ = _lines(out / name)
        assert len(rows_) == len(kept) and not probes & {row["instruction"] for row in rows_}
    assert len(_lines(out / "sharegpt.jsonl")) == len(kept)
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["settings"]["plant"] == 4 and manifest["counts"]["kept"] == len(kept)
    assert manifest["planted"] == {
        "planted": 4,
        "finished": 4,
        "altered": 4,
        "agent_right": 4,
        "dropped": {filters.AGENT_DISAGREES: 4},
        "kept": 0,
        "passed": True,
    }
    # a rerun with the same flags resumes: the same probes, nothing to do
    again = synthesize(
        [_wells(tmp_path)], out, settings(tmp_path), _config(kinds=(SINGLE,), n=12, plant=4), llm=ScriptedLLM([])
    )
    assert again.new == 0 and again.planted == summary.planted


def test_a_planted_answer_the_filter_keeps_fails_the_check_and_is_still_not_written(tmp_path, monkeypatch):
    from longdoc.synth.plant import describe

    monkeypatch.setattr(filters, "check_agreement", lambda *args: (None, 1.0))  # a filter that lets everything by
    out, summary = _planted_run(tmp_path)
    assert summary.planted is not None and summary.planted.kept >= 1 and summary.planted.passed is False
    assert "FAILED" in describe(summary.planted)
    probes = {r["question"] for r in _records(out) if r["planted"]}
    written = _lines(out / "alpaca.jsonl")
    assert len(written) == summary.kept and not probes & {row["instruction"] for row in written}
    assert json.loads((out / "manifest.json").read_text(encoding="utf-8"))["planted"]["passed"] is False


def test_audit_sheet_holds_kept_items_only_and_scores_a_filled_copy(tmp_path):
    from longdoc.errors import ConfigError
    from longdoc.synth.audit import COLUMNS, RIGHT, score, sheet

    out, summary = _planted_run(tmp_path)
    text = sheet(out, 5, seed=1)
    table = [line for line in text.splitlines() if line.startswith("|")]
    header, rule, body = table[0], table[1], table[2:]
    assert [c.strip() for c in header.strip("|").split("|")] == list(COLUMNS)
    assert set(rule.replace("|", "").split()) == {"---"} and len(body) == 5
    kept = {r["id"]: r for r in _records(out) if r["kept"] and not r["planted"]}
    by_question = {f.question: f for f in WELLS}
    for line in body:
        cells = [c.strip() for c in line.strip("|").split("|")]
        record = kept[cells[1]]  # a kept item, never a probe
        fact = by_question[cells[2]]
        assert cells[3] == record["reference"] == fact.answer and cells[4] == fact.sentence
        assert cells[5] == fact.sentence and cells[6] == cells[7] == ""  # the backing sentence; blanks to fill
    assert "planted check: 4 planted" in text and "passed" in text and f"5 of {summary.kept} kept" in text
    assert sheet(out, 5, seed=1) == text and sheet(out, 50, seed=1).count("\n| ") == summary.kept + 2

    marks = iter(["y", "Yes", "n", "y", "N"])
    filled = "\n".join(
        line.replace("|  |  |", f"| {next(marks)} | why |") if line in body else line for line in text.splitlines()
    )
    result = score(filled)
    assert (result.right, result.total) == (3, 5) and result.line().startswith("3 of 5 right (60%); wrong: ")
    half = filled.replace("| N | why |", "|  | why |")
    with pytest.raises(ConfigError, match=rf"line \d+ \(.+\): {re.escape(RIGHT)} is empty"):
        score(half)
    with pytest.raises(ConfigError, match="'maybe'"):
        score(filled.replace("| N | why |", "| maybe | why |"))
    with pytest.raises(ConfigError, match="cells where the header has 8"):
        score(filled.replace("| N | why |", "| N |"))
    with pytest.raises(ConfigError, match="no table"):
        score("# notes\n\nnothing here\n")


def test_audit_finds_the_cut_documents_of_a_run_that_moved(tmp_path):
    from longdoc.synth.audit import sheet

    out = tmp_path / "out"
    config = _config(lengths=(2000,), kinds=(SINGLE,), n=6)
    synthesize([_wells(tmp_path)], out, settings(tmp_path), config, llm=ScriptedLLM(Writer(WELLS)))
    assert all(Path(r["view"]).is_absolute() for r in _records(out))
    moved = out.rename(tmp_path / "elsewhere")
    text = sheet(moved, 3, seed=1)
    sentences = {f.sentence for f in WELLS}
    rows = [line for line in text.splitlines() if line.startswith("| ") and line[2].isdigit()]
    assert len(rows) == 3 and "not found from here" not in text
    assert all(any(s in row for s in sentences) for row in rows)


def test_cli_synth_audit_writes_a_sheet_and_scores_it(tmp_path):
    from click.testing import CliRunner

    from longdoc.cli import main

    out, summary = _planted_run(tmp_path)
    cli = CliRunner()
    r = cli.invoke(main, ["synth", "audit", str(out), "--n", "3"])
    assert r.exit_code == 0, r.output
    assert "3 items on" in r.output and (out / "audit.md").is_file()
    r = cli.invoke(main, ["synth", "audit", str(out), "--n", "3"])
    assert r.exit_code == 2 and "exists" in r.output  # a filled sheet is never overwritten
    sheet_text = (out / "audit.md").read_text(encoding="utf-8")
    filled = tmp_path / "filled.md"
    filled.write_text(sheet_text.replace("|  |  |", "| y |  |"), encoding="utf-8")
    r = cli.invoke(main, ["synth", "audit", str(out), "--score", str(filled)])
    assert r.exit_code == 0 and "3 of 3 right (100%)" in r.output
    r = cli.invoke(main, ["synth", "audit", str(out), "--score", str(out / "audit.md")])
    assert r.exit_code == 2 and "right? is empty" in r.output
    r = cli.invoke(main, ["synth", "audit", str(tmp_path), "--out", str(tmp_path / "x.md")])
    assert r.exit_code == 2 and "manifest.json" in r.output


# -- verify ------------------------------------------------------------------------


def test_verify_cross_checks_a_qa_set_and_resumes(tmp_path):
    from longdoc.synth.verify import AGREES, DISAGREES, UNUSABLE, verify

    doc = _doc(tmp_path)
    data = tmp_path / "set.jsonl"
    lines = [
        {"document": doc.name, "question": MIDDLE.question, "answer": "Edda Marn"},
        {"document": doc.name, "question": MIDDLE.question, "answer": "Tam Ashe"},  # altered on purpose
        {"context": doc.read_text(encoding="utf-8"), "question": LATE.question, "answers": ["Dunmore"]},
        {"document": doc.name, "question": INVENTED[0], "answer": "The documents do not say."},
        {"question": "no document"},
    ]
    data.write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    out = tmp_path / "verdicts.jsonl"
    model = Writer([EARLY, MIDDLE, LATE])
    verdicts = verify(data, out, settings(tmp_path), mode="rag", llm=ScriptedLLM(model))
    assert [v.verdict for v in verdicts] == [AGREES, DISAGREES, AGREES, AGREES, UNUSABLE]
    assert verdicts[0].evidence and verdicts[0].evidence[0]["text"]
    assert len(out.read_text(encoding="utf-8").splitlines()) == 5
    assert verify(data, out, settings(tmp_path), mode="rag", llm=ScriptedLLM([])) == verdicts


def test_cli_synth_and_verify(tmp_path):
    from click.testing import CliRunner

    from longdoc.cli import main

    cli = CliRunner()
    common = ["--backend", "scripted", "--model", "echo"]
    out = tmp_path / "out"
    # the echo model copies the prompt's worked example: its answer is not in the chunk, so every item is dropped
    r = cli.invoke(
        main,
        [
            "synth",
            str(_doc(tmp_path)),
            "--out",
            str(out),
            "--n",
            "3",
            "--kinds",
            "single",
            "--ends-tokens",
            "300",
            "--plant",
            "1",
            *common,
        ],
    )
    assert r.exit_code == 0, r.output
    # the probe's draft copied the example's "Tam Ashe", which the first chunk holds; the echo
    # agent says the documents do not tell: dropped, but a drop that proves nothing
    assert "planted check: 1 planted, 1 altered (the agent's answer agreed with 0" in r.output
    assert "dropped 1 (agent_disagrees 1), kept 0: inconclusive" in r.output
    assert "0 kept of 2 finished" in r.output and "dropped: " in r.output and "answer_not_in_source" in r.output
    assert (out / "manifest.json").is_file() and (out / "sharegpt.jsonl").read_text(encoding="utf-8") == ""
    r = cli.invoke(main, ["synth", str(_doc(tmp_path)), "--out", str(out), "--kinds", "riddle", *common])
    assert r.exit_code == 2 and "unknown kind" in r.output
    r = cli.invoke(main, ["synth", str(_doc(tmp_path)), "--out", str(out), "--n", "2", "--plant", "3", *common])
    assert r.exit_code == 2 and "--plant" in r.output
    data = tmp_path / "set.jsonl"
    data.write_text(json.dumps({"document": "harbour.txt", "question": "Who?", "answer": "x"}) + "\n", encoding="utf-8")
    r = cli.invoke(main, ["synth", "verify", str(data), "--mode", "rag", *common])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "set.verdicts.jsonl").is_file() and "verdicts in" in r.output


# -- through the real model ---------------------------------------------------------


@pytest.mark.model
def test_real_model_writes_and_keeps_an_item(tmp_path, small_model_path, small_llm):
    """The 0.5B writes questions from a small document with a planted fact in
    every stretch, answers them with Level 1, and the filter keeps at least one."""
    facts = [
        "The lighthouse on Karvo Point is kept by a woman named Edda Marn.",
        "The mill at Orrin Ford was rebuilt by Tam Ashe in the spring of 1822.",
        "The bell of the chapel at Sorrel Bay was cast by the smith Ivo Dask.",
        "The ferry between Brann and Holt is run by a captain called Ada Voss.",
    ]
    paras = [" ".join(FILLER[(i + j) % len(FILLER)] for j in range(2)) for i in range(48)]
    for k, fact in enumerate(facts):
        paras.insert(8 + 10 * k + k, fact)
    doc = tmp_path / "harbour.txt"
    doc.write_text("\n\n".join(paras), encoding="utf-8")
    real = Settings(model=str(small_model_path), threads=2, home=tmp_path / "home")
    config = SynthConfig(n=4, kinds=(SINGLE,), mode="rag", ends_tokens=400)
    summary = synthesize([doc], tmp_path / "out", real, config, llm=small_llm)
    assert summary.finished == 4 and summary.kept >= 1, summary
    written = (tmp_path / "out" / "alpaca.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(written) == summary.kept
    for row in map(json.loads, written):
        assert row["instruction"] and row["output"] and "Edda Marn" in row["input"]


def test_chinese_chunks_get_chinese_prompts_and_scoring():
    from longdoc.prompts import ZH
    from longdoc.synth.records import Seed
    from longdoc.synth.write import draft_item

    zh = [chunk(0, "卡尔沃角灯塔的看守人是一位名叫艾达·马恩的女士。")]
    draft = Draft("卡尔沃角灯塔的看守人是谁？", "艾达·马恩")
    llm = ScriptedLLM([json.dumps({"question": draft.question, "answer": draft.answer}, ensure_ascii=False)])
    assert draft_item(Seed("x", SINGLE, (0,)), zh, llm).draft == draft
    messages = llm.calls[0].messages
    assert messages[0].content == ZH.synth_single_system and zh[0].text in messages[1].content
    assert filters.check_draft(SINGLE, draft, zh) is None
    assert filters.check_agreement(SINGLE, draft, "看守人是艾达·马恩 [1]。", "zh", 0.5) == (None, 1.0)
    assert filters.check_agreement(SINGLE, draft, "文档中没有提到。", "zh", 0.5)[0] == filters.AGENT_DISAGREES


# -- drafting from a focused window, and the retry ------------------------------


def test_focus_picks_a_sentence_with_a_name_and_grows_it_to_a_paragraph():
    from longdoc.synth.write import focus

    text = " ".join([*FILLER, MIDDLE.sentence, *FILLER])
    window = focus(text, "item-1")
    assert MIDDLE.sentence in window and len(window) < len(text) / 2
    assert len(window) >= 400  # neighbours added around the one sentence
    # a multi-hop draft focuses on the shared name; no sentence with a fact: the whole text
    assert "Edda Marn" in focus(" ".join([*FILLER, LATE.sentence, *FILLER]), "item-1", near="Edda Marn")
    assert focus(" ".join(FILLER), "item-1") == " ".join(FILLER)


def test_focus_moves_to_another_fact_sentence_on_a_retry():
    from longdoc.synth.write import focus

    text = "\n".join([FILLER[0], EARLY.sentence, *FILLER, *FILLER, MIDDLE.sentence, FILLER[1]])
    first, second = focus(text, "k", 0), focus(text, "k", 1)
    assert {EARLY.sentence in first, EARLY.sentence in second} == {True, False}
    assert {MIDDLE.sentence in first, MIDDLE.sentence in second} == {True, False}
    zh = "会议在北京举行。" * 3 + "１９９７年全国粮食产量达到４９２５０万吨。" + "大家都很高兴。" * 3
    assert "１９９７年" in focus(zh, "k")


def test_focus_reads_the_capitals_that_open_verse_lines_as_no_name():
    from longdoc.synth.write import focus

    verse = "Come, you spirits\nThat tend on mortal thoughts, unsex me here,\nAnd fill me from the crown to the toe."
    named = "Then Lady Macbeth sent word to Cawdor that the king would come."
    text = "\n".join([verse, verse, named, verse, verse])
    assert focus(text, "k", 0).count(named) == 1 and focus(text, "k", 1) == focus(text, "k", 0)  # the one fact sentence
    assert focus("\n".join([verse] * 4), "k") == "\n".join([verse] * 4)  # no name: the whole text


def test_a_failed_draft_is_written_once_more_from_another_sentence(tmp_path, monkeypatch):
    import longdoc.synth.run as run
    from longdoc.synth.records import Seed

    doc = tmp_path / "doc.txt"
    doc.write_text(haystack({60: MIDDLE}), encoding="utf-8")
    bad = iter(['{"question": "What is it?", "answer": "a thing the passage never says"}'])
    writer = Writer([MIDDLE])

    def first_draft_bad(messages) -> str:
        if messages[0].content == EN.synth_single_system and (reply := next(bad, None)):
            return reply
        return writer(messages)

    def at_the_fact(view_key, chunks, *args, **kwargs):
        i = next(k for k, c in enumerate(chunks) if MIDDLE.sentence in c.text)
        return [Seed(f"{view_key}-single-c{i}", SINGLE, (i,))]

    monkeypatch.setattr(run, "plan_seeds", at_the_fact)
    config = SynthConfig(n=1, kinds=(SINGLE,), mode="rag", ends_tokens=400)
    summary = synthesize([doc], tmp_path / "out", settings(tmp_path), config, llm=ScriptedLLM(first_draft_bad))
    (item,) = [p.name[: -len(".json")] for p in (tmp_path / "out" / "raw").glob("*.json")]
    record = load_record(tmp_path / "out", item)
    assert record.drafts == 2 and record.question == MIDDLE.question and record.kept, record
    assert (summary.kept, summary.redrafted, summary.kept_redrafted) == (1, 1, 1)
