"""The Level 2 reader's checks in code (agents/reader.py, verify.py): what a
reply is worth once held against the chunk it read."""

import os

from longdoc.agents.reader import judge_reply, parse_reply, reader_messages
from longdoc.index.terms import Analyzer
from longdoc.prompts import EN, ZH
from longdoc.verify.names import answer_names, look_alike, names_found, question_names
from longdoc.verify.places import link_place, place_for_person
from longdoc.verify.support import coverage, support, unbacked, wrong_kind

A = Analyzer()
CHUNK = (
    "The boats came in at dusk. Nets were mended on the quay. "
    "The lighthouse on Karvo Point is kept by Edda Marn. The vault opens with the code K-417."
)
Q = "Who keeps the lighthouse on Karvo Point?"
SURE = [{"Edda": -0.05, "none": -3.5}]
DOUBT = [{"Edda": -1.6, "none": -0.25}]


def test_an_answer_the_chunk_backs_is_taken_with_the_chunks_own_sentence():
    v = judge_reply("Edda Marn", CHUNK, Q, SURE, A)
    assert v.answer == "Edda Marn"
    assert v.sentence == "The lighthouse on Karvo Point is kept by Edda Marn."
    assert v.relevance > 0.9


def test_a_two_line_reply_is_read_and_its_quote_checked():
    reply = "Answer: Edda Marn\nSentence: The lighthouse on Karvo Point is kept by Edda Marn."
    assert parse_reply(reply) == ("Edda Marn", "The lighthouse on Karvo Point is kept by Edda Marn.")
    v = judge_reply(reply, CHUNK, Q, SURE, A)
    assert v.sentence == "The lighthouse on Karvo Point is kept by Edda Marn."


def test_an_invented_name_counts_for_nothing_however_sure_the_model_is():
    v = judge_reply("Elihu Brand", CHUNK, Q, SURE, A)
    assert v.answer is None and v.relevance < 0.5 and v.why == "answer not in the chunk"


def test_an_answer_that_repeats_the_question_counts_for_nothing():
    v = judge_reply("The lighthouse on Karvo Point.", CHUNK, Q, SURE, A)
    assert v.answer is None and v.why == "answer repeats the question"


def test_none_in_any_wording_is_none():
    for reply in ("none", "None.", "The passage does not mention who keeps it.", "没有提到。", "无"):
        assert parse_reply(reply)[0] is None, reply
        assert judge_reply(reply, CHUNK, Q, SURE, A).answer is None


def test_relevance_is_graded_from_the_probability_of_none():
    doubtful = judge_reply("Edda Marn", CHUNK, Q, DOUBT, A)
    sure = judge_reply("Edda Marn", CHUNK, Q, SURE, A)
    assert doubtful.relevance < 0.5 < sure.relevance
    assert judge_reply("Edda Marn", CHUNK, Q, None, A).relevance == 1.0  # no log-probabilities: the check decides


def test_names_and_numbers_must_be_copied_exactly():
    assert answer_names("The code is K-417.") == ["K-417"]
    assert answer_names("Edda Marn keeps it") == ["Edda", "Marn"]
    assert names_found("K-417", CHUNK) == 1.0
    assert names_found("K-471", CHUNK) == 0.0
    assert names_found("a keeper", CHUNK) == 1.0  # nothing to check by name


def test_chinese_names_match_through_their_bigrams():
    chunk = "澄枫岭灯塔的守塔人是柯砚澜。渔民在码头补网。"
    assert names_found("柯砚澜", chunk) == 1.0
    assert names_found("守塔人柯砚澜", chunk) == 1.0  # most of its bigrams are there
    assert names_found("莫琨蓁", chunk) == 0.0
    s = support("柯砚澜", chunk, "澄枫岭灯塔的守塔人是谁？", A)
    assert s is not None and s.sentence == "澄枫岭灯塔的守塔人是柯砚澜。"


def test_an_answer_in_ascii_digits_is_backed_by_a_fullwidth_source():
    chunk = "１９９７年９月，梁惠珍被评为“双十佳”标兵。做了４３年医生的梁惠珍是该疗法的创立者。"
    assert names_found("43年", chunk) == 1.0
    assert names_found("34年", chunk) == 0.0
    s = support("43年", chunk, "梁惠珍做了多少年医生？", A)
    assert s is not None and s.sentence.startswith("做了４３年医生")
    assert names_found("ＤＶＤ", "The DVD player") == 1.0


def test_a_number_in_chinese_text_is_a_name_without_the_characters_around_it():
    # Chinese has no spaces: the run of characters glued to "74" is not part of the name.
    assert question_names("一台从正面看类似背投影电视的74厘米彩电吸引了多少观众？") == ["74"]
    assert answer_names("Lumen公司成立于2019年") == ["Lumen", "2019", "公司成立"]


def test_chinese_question_words_are_no_names():
    assert answer_names("瑞士银行和瑞士联合银行合并后，裁员了多少人？") == ["瑞士银行", "瑞士联合银行合并后", "裁员"]
    assert answer_names("村子离多伦多有多远？") == ["村子离多伦多有"]


def test_coverage_tells_the_exact_subject_from_a_look_alike():
    exact = coverage(Q, "The lighthouse on Karvo Point is kept by Edda Marn.", A)
    alike = coverage(Q, "The lighthouse on Karva Point is kept by Ivo Tull.", A)
    assert exact > alike


def test_support_without_names_needs_a_shared_word():
    assert support("cloudberry honey cakes", "They bake cakes with cloudberry honey.", "What do they bake?", A)
    assert support("violet cider", "They bake cakes with cloudberry honey.", "What do they make?", A) is None


def test_an_answer_of_the_wrong_kind_is_not_taken():
    colour = "What colour is the lighthouse on Karvo Point painted?"
    v = judge_reply("Edda Marn", CHUNK, colour, SURE, A)
    assert v.answer is None and v.why == "the question asks for a colour"
    year = "In which year was the vault built? What year?"
    assert judge_reply("K-417", CHUNK, year, SURE, A).answer == "K-417"  # it holds a number
    assert judge_reply("Edda Marn", CHUNK, "灯塔有多高？", SURE, A).why == "the question asks for a number"


def test_question_names_pass_over_a_sentences_first_word():
    from longdoc.verify.names import question_names

    assert question_names("Who keeps the lighthouse on Sorrel Point?") == ["Sorrel", "Point"]
    assert question_names("Summarize chapter 3.") == ["3"]
    assert question_names("Karvo is where? Tell me.") == []
    assert question_names("谁是灯塔看守人？") == []  # Chinese names cannot be told from other words


def test_chinese_person_names_are_surname_led_runs_of_three_or_four_characters():
    from longdoc.verify.names import zh_person_names

    assert zh_person_names("蒲璟砚在什么时期创作了这部作品？") == ["蒲璟砚"]
    assert zh_person_names("谁是张小三的父亲？") == ["张小三"]
    assert zh_person_names("蒲璟砚和柯砚霁是什么关系？") == ["蒲璟砚", "柯砚霁"]
    # two-character runs (mostly words: "黄金"), runs too long to be a name, and
    # runs where a name cannot stand ("什么时期创作") are not judged
    assert zh_person_names("黄金的价格是多少？") == []
    assert zh_person_names("蒲璟砚在什么时期创作了这部作品？") == ["蒲璟砚"]
    assert zh_person_names("哪个聚落的金属工匠在寒冷时节制作贵金属照明器具？") == []
    assert zh_person_names("琥渚屿灯塔被漆成了什么颜色？") == []


def test_a_questions_subject_is_its_names_not_its_ordinary_words():
    from longdoc.verify.names import subject_found, subject_names

    # names jieba's dictionary lacks fall apart into characters; known places keep their tag
    assert subject_names("蒲蓁泓出生在哪个省？") == ["蒲蓁泓"]
    assert subject_names("渚梓渡灯塔的守塔人是谁？") == ["渚梓渡", "守塔人"]
    assert subject_names("四川男排在首场比赛中表现如何？") == ["四川"]
    assert subject_names("鲁迅出生在哪里？") == ["鲁迅"]
    # a paraphrase names nothing: no sentence has to repeat its words
    assert subject_names("哪里的种植户在落叶时节将收获的水果制作为一种紫红饮料？") == []
    assert subject_names("谁一大早用船把行人送到对岸？") == []  # two lone characters, not where a name stands
    assert subject_names("李蓁的父亲是谁？") == ["李蓁"]  # two where a name stands, led by a surname
    # the word after a question word is what is asked, not a name ("城镇" is tagged a place)
    assert subject_names("哪个城镇负责管理船只的官员会派送烘焙食品？") == []
    assert subject_names("Who keeps the lighthouse on Karvo Point?") == ["Karvo", "Point"]
    fact = "瓦恩霍尔特的果农每年秋天把梨酿成紫色的果酒。"
    assert subject_found("哪里的种植户在落叶时节将收获的水果制作为一种紫红饮料？", fact) == 1.0
    assert subject_found("蒲蓁泓出生在哪个省？", "他出生在山东省的一个小村庄。") == 0.0
    assert subject_found("蒲蓁泓出生在哪个省？", "蒲蓁泓生于山东。") == 1.0
    assert subject_found("渚梓渡灯塔的守塔人是谁？", "渚梓度灯塔的守塔人是柯砚澜。") == 0.5  # a look-alike place


def test_a_chinese_one_before_a_measure_word_is_not_a_year():
    year = "梓汀坪的旧档案馆是哪一年建立的？"
    assert wrong_kind(year, "梓汀坪的旧档案馆由一位名叫幸湛砚的看守人照管。") == "a number"
    assert wrong_kind(year, "梓汀坪的旧档案馆建于一九三一年。") is None
    assert wrong_kind("琥渚屿灯塔的颜色是什么？", "琥渚屿灯塔的守塔人是钟泓珂") == "a colour"
    assert wrong_kind("What is the colour of the lighthouse?", "It is kept by Edda Marn.") == "a colour"


def test_a_near_spelling_of_the_questions_name_is_a_look_alike():
    q = "Who looks after the old archive of Douzour?"
    assert look_alike(q, "The old archive of Douzoua is looked after by Thox Vouthal.") == "Douzoua"
    assert look_alike(q, "The old archive of Douzour is looked after by Theim Thaithul.") is None
    assert look_alike("Who crossed the Tamsin River?", "Boats crossed the Tamsin Rivers.") is None  # inflected
    assert look_alike(q, "The keeper Dorian lives near the sea.") is None  # shares only a letter or two


def test_the_reader_refuses_a_look_alikes_sentence():
    chunk = "Rain fell. The old archive of Douzoua is looked after by a keeper named Thox Vouthal. Wind rose."
    v = judge_reply("Thox Vouthal", chunk, "Who looks after the old archive of Douzour?", SURE, A)
    assert v.answer is None and v.look_alike and "Douzoua" in v.why


def test_an_answer_said_of_something_else_is_unbacked():
    q = "Who looks after the old archive of Douzour?"
    decoy = ["The old archive of Douzoua is looked after by a keeper named Thox Vouthal."]
    assert unbacked("Douzour's archive is kept by Thox Vouthal.", decoy, q, A) == "the passages say it of Douzoua"
    colour = "琥渚屿灯塔被漆成了什么颜色？"
    news = ["琥渚屿灯塔的守塔人是钟泓珂。", "今年的麦子长得黄色金灿灿，农民很高兴。"]
    assert unbacked("琥渚屿灯塔被漆成了黄色。", news, colour, A) == (
        "the sentences that give its value are about something else"
    )
    assert unbacked("琥渚屿灯塔被漆成了黄色。", ["琥渚屿灯塔被漆成了黄色，守塔人是钟泓珂。"], colour, A) is None
    # The last link of a chain names only the link before it.
    assert unbacked("Thox Vouthal.", decoy, q, A, about_subject=False) is None
    # a value in the sentence after the subject's is about something else when it shares no words with the question
    assert unbacked("琥渚屿灯塔被漆成了黄色。", ["".join(news)], colour, A) == (
        "the sentences that give its value are about something else"
    )


def test_a_value_given_in_the_sentence_after_its_subject_is_backed():
    # The 1.5B's right answer "梁惠珍做了43年医生" was thrown out: the question restates the
    # sentence before the one that gives the number.
    q = "广东省惠珍联合医院院长梁惠珍被评为第三届全国职工职业道德‘双十佳’标兵，做了多少年医生？"
    text = (
        "１９９７年９月，广东省湛江市惠珍联合医院院长梁惠珍被评为第三届全国职工职业道德“双十佳”标兵。"
        "做了４３年医生的梁惠珍是“中西医结合不开刀疏通输卵管阻塞疗法”的创立者。"
    )
    assert unbacked("梁惠珍做了43年医生。", [text], q, A) is None


def test_what_every_reader_call_shares_comes_before_the_chunk():
    """The system text, the worked example and the question open the prompt and
    the chunk follows: consecutive reader calls then share that whole opening,
    and llama.cpp takes it from its KV cache instead of evaluating it again."""
    for prompts, question in ((EN, Q), (ZH, "谁看守卡尔沃角的灯塔？")):
        first = reader_messages(question, "The boats came in at dusk.", prompts)
        second = reader_messages(question, "Nets were mended on the quay.", prompts)
        assert [m.role for m in first] == ["system", "user"] and first[0] == second[0]
        user = first[1].content
        assert user.index(question) < user.index("The boats came in at dusk.")
        assert question in os.path.commonprefix([first[1].content, second[1].content])


def test_a_smaller_place_than_the_question_asks_for_is_the_wrong_kind():
    asks = "In which province was Das Thounoth born?"
    assert (
        wrong_kind(asks, "Das Thounoth was born in the town of Trofirk [1]") == "a province (the answer names a town)"
    )
    assert wrong_kind(asks, "born in the town of Trofirk [1], which lies in the province of Veigoul [2]") is None
    assert wrong_kind(asks, "Veigoul") is None  # a bare name may be of any kind
    assert wrong_kind("蒲蓁泓出生在哪个省？", "蒲蓁泓出生在澄沅岭镇。") == "a 省 (the answer names a 镇)"
    assert wrong_kind("哪个城市举办了博览会？", "浙江省杭州") is None  # a larger place only adds context
    assert wrong_kind("哪个国家？", "中国") is None


def test_a_chinese_word_that_points_back_is_not_a_name_to_find():
    answer = "蒲蓁泓出生在澄沅岭镇 [1]，该镇位于漪榆渡省 [2]。"
    assert answer_names(answer) == ["1", "2", "蒲蓁泓出生", "澄沅岭镇", "漪榆渡省"]
    assert answer_names("这座城市的市长是张三") == ["市长", "张三"]
    assert answer_names("日本国") == ["日本国"]  # 本国 here is part of a name


def test_a_place_given_for_who_is_the_wrong_kind():
    from longdoc.verify.support import wrong_kind

    assert wrong_kind("滕琨澜出生地所在省份的总督是谁？", "滕琨澜出生地所在省份的总督是琥沅屿镇。") is not None
    assert wrong_kind("滕琨澜出生地所在省份的总督是谁？", "琥沅屿镇的总督是蒲珂霁") is None
    assert wrong_kind("渚梓渡灯塔的守塔人是谁？", "渚梓渡灯塔的守塔人是蒲昶珂。") is None
    assert wrong_kind("滕琨澜出生地所在省份的总督是谁？", "琥沅屿镇 ") is not None  # a reader's bare value
    assert wrong_kind("渚梓渡灯塔的守塔人是谁？", "蒲昶珂") is None


def test_a_smaller_place_given_for_the_one_asked_is_a_link_to_ask_about_next():
    en = "In which province was Das Thounoth born?"
    assert link_place(en, "Das Thounoth was born in the town of Trofirk.") == ("province", "Trofirk")
    assert link_place(en, "the town of Trofirk") == ("province", "Trofirk")
    assert link_place(en, "the province of Veigoul") is None  # the answer, not a link
    assert link_place(en, "Veigoul") is None
    assert link_place("蒲蓁泓出生在哪个省？", "蒲蓁泓出生在澄沅岭镇。") == ("省", "澄沅岭镇")
    assert link_place("蒲蓁泓出生在哪个省？", "漪榆渡省") is None
    # A reader's link keeps the chunk's sentence it rests on.
    chunk = "Rain fell. Das Thounoth was born in the town of Trofirk. The fair was late."
    v = judge_reply("the town of Trofirk", chunk, en, None, Analyzer())
    assert v.answer is None and v.link == ("province", "Trofirk")
    assert v.link_sentence == "Das Thounoth was born in the town of Trofirk."


def test_a_name_the_sentence_calls_a_place_does_not_answer_who():
    q = "Who governs the province in which Thand Damork was born?"
    born = "Thand Damork was born in the town of Honais."
    assert place_for_person(q, "Honais", born)
    assert not place_for_person(q, "Neis Quousax", "The province of Rubral is governed by Neis Quousax.")
    assert not place_for_person("In which town was Thand Damork born?", "Honais", born)
    v = judge_reply("Honais", f"Rain fell. {born} The fair was late.", q, None, Analyzer())
    assert v.answer is None and "a person" in v.why


def test_a_place_named_by_a_clause_is_asked_about_once_found():
    from longdoc.verify.places import place_clause

    en = place_clause("Who governs the province in which Thand Damork was born?")
    assert en is not None and (en.kind, en.called) == ("province", "the place where Thand Damork was born")
    assert en.about("Rubral") == "Who governs the province of Rubral?"
    zh = place_clause("滕琨澜出生地所在省份的总督是谁？")
    assert zh is not None and (zh.kind, zh.called) == ("省", "滕琨澜出生地")
    assert zh.about("岚榆坪省") == "岚榆坪省的总督是谁？"
    assert place_clause("In which province was Thand Damork born?") is None
    assert place_clause("Who keeps the lighthouse on Karvo Point?") is None


def test_a_bare_name_the_sentence_calls_a_town_is_a_link():
    q = "Who governs the province in which Thand Damork was born?"
    born = "Thand Damork was born in the town of Honais."
    assert link_place(q, "Honais", born) == ("province", "Honais")
    assert link_place("In which province was Thand Damork born?", "Honais", born) == ("province", "Honais")
    assert link_place(q, "Neis Quousax", "The province of Rubral is governed by Neis Quousax.") is None
    assert link_place("滕琨澜出生地在哪个省？", "琥沅屿镇", "滕琨澜出生在琥沅屿镇。") == ("省", "琥沅屿镇")
    assert link_place("In which province was Thand Damork born?", "Honais") is None  # no sentence says what it is


def test_the_new_part_of_a_readers_whole_sentence_is_what_the_question_lacks():
    from longdoc.verify.names import new_part

    assert new_part("The province of Rubral is governed by Neis Quousax.", "Who governs the province of Rubral?") == (
        "Neis Quousax"
    )
    assert new_part("Honais lies in the province of Rubral.", "Honais") == "Rubral"
    assert new_part("岚榆坪省的总督是蒲珂霁。", "岚榆坪省的总督是谁？") == "蒲珂霁"
    assert new_part("Rubral", "Who governs the province of Rubral?") == ""
