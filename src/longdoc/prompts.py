"""Every prompt longdoc sends, in English and Chinese. Edit wording here only.

Each prompt is chosen by the language of the user's question: English, Chinese,
or another script (the English prompts, answering in the question's language).
Small models read best with short rules, one example, and the question last.
"""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class PromptSet:
    query_system: str
    query_user: str  # {question}
    answer_system: str
    answer_user: str  # {passages} {question} {instruction}
    passage_label: str  # {n} {source}
    not_found: str  # what to say when the documents do not contain the answer
    default_instruction: str
    expand_system: str  # Level 2: other words for the question's phrases (to rank chunks)
    expand_user: str  # {question}
    reader_system: str  # Level 2: answer from one chunk, or none
    reader_user: str  # {question} {passage}
    link_question: str  # {place} {kind}: Level 2's question about a chain's first link (the town for "which province?")
    next_system: str  # Level 3: the next simple question, given the facts found so far, or DONE
    next_examples: tuple[tuple[str, str], ...]  # worked examples: (user turn, reply), sent as earlier turns
    next_user: str  # {question} {facts}
    no_facts: str  # {facts} before anything was found
    hop_instruction: str  # Level 3: how one simple question is answered (a value to put in the next)
    compose_system: str  # Level 3: the answer from facts found step by step (answer_user's format)
    compose_example: tuple[str, str]  # a worked example: (user turn in answer_user's format, reply)
    agent_tools_system: str  # Level 3 with native function calling
    # `longdoc synth` (src/longdoc/synth/): questions written from chunks, and the training prompt.
    synth_single_system: str  # one question a single passage answers, and its answer
    synth_single_user: str  # {passage}
    synth_multi_system: str  # one question that needs two passages sharing a name
    synth_multi_user: str  # {first} {second} {entity}
    synth_unanswerable_system: str  # a question about an invented name the document never uses
    synth_unanswerable_user: str  # {passage} {entity} (the name, invented in code)
    train_system: str  # the system turn of the training data written
    train_user: str  # {context} {question}: the human turn of the training data


EN = PromptSet(
    query_system=(
        "You prepare searches over a long document. Split the user's question into the "
        "information it asks for and any instructions about the answer (length, language, "
        "format). Then write search keywords for the information: names, places, numbers, "
        "key terms, each in English and in Chinese, plus synonyms: other words a passage "
        "with the answer might use instead of the question's words. "
        "Reply with JSON only, no other text."
    ),
    query_user=(
        'Example question: "In about 100 words, what did the 2019 audit say about Lumen '
        "Corp's water use?\"\n"
        'Example reply: {{"information": "What did the 2019 audit say about Lumen Corp\'s '
        'water use?", "instruction": "Answer in about 100 words.", "keywords_en": ["2019 '
        'audit", "Lumen Corp", "water use", "water consumption", "inspection", "review"], '
        '"keywords_zh": ["2019年审计", "Lumen公司", "用水", "水资源消耗", "检查"]}}\n\n'
        "Question: {question}\nReply:"
    ),
    answer_system=(
        "You answer questions using only the numbered passages from the user's documents. "
        "Rules:\n"
        "1. Use a fact only if its passage is about exactly what the question names: the same "
        "name, place and thing. A similar name (another ridge, another company, another year) "
        "is a different thing: ignore it.\n"
        "2. Answer exactly what is asked (if asked for a person, give the person, not the place).\n"
        "3. After each fact, cite its passage number in brackets, like [2].\n"
        "4. If the passages do not contain the answer, reply only: The documents do not say.\n"
        "5. Be brief unless the instructions ask for more."
    ),
    answer_user="Passages:\n\n{passages}\n\nQuestion: {question}\nInstructions: {instruction}\nAnswer:",
    passage_label="[{n}] ({source})",
    not_found="The documents do not say.",
    # "Briefly" alone made the 0.5B model reply with a bare "[2]".
    default_instruction="Answer in English in one full sentence, citing passage numbers.",
    # Keyword search cannot find a passage that shares no words with the
    # question. Other words for each of its phrases give it words to find. One
    # short line per phrase, because small models loop on long lists and fail
    # to vary whole sentences (docs/benchmarks.md).
    expand_system=(
        "A search engine only finds the exact words a document uses, and the document words "
        "things differently from the question. For each key phrase of the question, write one "
        "line: the phrase, a colon, then six other words or short phrases a document might use "
        "for it: synonyms, the usual name of the job, object or thing, more specific kinds, "
        "plain everyday words. Nothing else."
    ),
    expand_user=(
        "Question: Which vehicle carries the post between villages?\n"
        "vehicle: cart, wagon, coach, van, carriage, lorry\n"
        "carries the post: delivers mail, brings letters, mail round, postman, courier, parcels\n"
        "villages: hamlets, towns, parishes, settlements, farms, valley\n\n"
        "Question: {question}\n"
    ),
    # The reader answers from its chunk alone; code checks the answer against the
    # chunk (agents/reader.py). Chosen by replaying 155 chunks through both models
    # (benchmarks/reader_replay.py, docs/benchmarks.md): answering found the fact
    # in 16/24 chunks with the 0.5B and 22/24 with the 1.5B, where copying
    # "helpful sentences" found 6/24 with the 0.5B. The worked example (one
    # answer, one none) lifted the links of fact chains the 1.5B reported from
    # 15/40 to 27/40. It sits before the question, so every call shares it as a
    # prompt prefix the model can cache.
    reader_system=(
        "You read one passage from a long document and answer a question from that passage alone.\n"
        "- If the passage says nothing about what the question asks, reply only: none\n"
        "- If it answers the question, or gives a fact the question needs, reply with that answer or "
        "fact in a few words, copying names exactly as the passage writes them.\n"
        "- A passage about a similar but different name or place does not answer: reply none."
    ),
    reader_user=(
        "Example.\nQuestion: Who rebuilt the mill at Orrin Ford?\nPassage:\nRain fell all week. The mill at "
        "Orrin Ford was rebuilt by Tam Ashe in the spring. Grain prices rose.\nAnswer (or none): Tam Ashe\n\n"
        "Question: Who rebuilt the mill at Orrin Ford?\nPassage:\nThe mill at Orrin Bend burned down. "
        "Nobody came to the fair.\nAnswer (or none): none\n\n"
        "Question: {question}\n\nPassage:\n{passage}\n\nQuestion: {question}\nAnswer (or none):"
    ),
    # Told the link as a known fact beside the whole question, the 0.5B gave the link back.
    link_question="In which {kind} is {place}?",
    # Worked examples go as earlier chat turns: written into the question's own
    # message, the 1.5B model copied their lines into its reply.
    next_system=(
        "You answer a question about some documents step by step. You cannot see the documents: "
        "you can only ask them simple questions, each about one fact. Given the question and the "
        "facts found so far, write the next simple question to ask, naming things exactly as the "
        "facts name them. Write only that question. If the facts already answer the question, "
        "write only: DONE"
    ),
    next_examples=(
        (
            "Question: Who founded the company that built the bridge in the capital of Veloria?\n"
            "Facts found so far: none",
            "What is the capital of Veloria?",
        ),
        (
            "Question: Who founded the company that built the bridge in the capital of Veloria?\n"
            "Facts found so far:\n- The capital of Veloria is the city of Dunmarsh.",
            "Which company built the bridge in Dunmarsh?",
        ),
        (
            "Question: Who founded the company that built the bridge in the capital of Veloria?\n"
            "Facts found so far:\n- The capital of Veloria is the city of Dunmarsh.\n"
            "- The bridge in Dunmarsh was built by Brann Works.\n- Brann Works was founded by Ida Sole.",
            "DONE",
        ),
    ),
    next_user="Question: {question}\nFacts found so far:{facts}",
    no_facts=" none",
    # A full sentence, with no example value: the 0.5B copied the example's
    # name ("Dunmarsh", "邓马什") as the answer (docs/benchmarks.md, levels).
    hop_instruction="Answer in one short sentence that names the person, place or value asked for, citing the passage number.",
    # Both models failed to chain two or three facts they were given under the
    # plain answer prompt, and chained them with this worked example (docs/benchmarks.md).
    compose_system=(
        "You answer a question from facts that were found one step at a time in the user's documents. "
        "The facts form a chain: a name that one fact gives is what the next fact is about. Follow the "
        "chain from what the question names to the answer. Cite each fact you use by its number, like "
        "[1][2]. If the facts do not lead to the answer, reply only: The documents do not say."
    ),
    compose_example=(
        "Passages:\n\n[1] (notes.txt)\nAnn Hale works at the harbour of Bross.\n\n[2] (notes.txt)\n"
        "The harbour master of Bross is Ivo Dask.\n\n[3] (notes.txt)\nIvo Dask commands the ship Wren.\n\n"
        "Question: Which ship is commanded by the harbour master of the harbour where Ann Hale works?\n"
        "Instructions: Answer in English in one full sentence, citing passage numbers.\nAnswer:",
        "Ann Hale works at the harbour of Bross [1], whose harbour master Ivo Dask [2] commands the ship Wren [3].",
    ),
    agent_tools_system=(
        "You answer a question about the user's documents. You cannot see them: ask them "
        "simple, self-contained questions with the search tool. Questions that do not depend "
        "on each other can be asked at once, in parallel; a question that needs an earlier "
        "answer waits for it. Use think to plan before searching and to check what the answers "
        "tell you. When you can answer, reply with the answer and cite the sources' numbers "
        "like [1]. If the documents do not say, reply: The documents do not say."
    ),
    # Small models copy a worked example's shape well and its content too: the
    # examples use names found in no document, and the code checks every draft
    # (synth/filters.py) rather than trusting the model.
    synth_single_system=(
        "You write one exam question about a passage from a long document. Rules:\n"
        "1. The passage alone must answer it.\n"
        "2. Name the exact subject (names, places, dates) so the question can only mean this passage.\n"
        "3. The question must not contain its answer.\n"
        "4. The answer is a short phrase copied from the passage.\n"
        'Reply with JSON only: {"question": "...", "answer": "..."}'
    ),
    synth_single_user=(
        "Example passage:\nThe mill at Orrin Ford was rebuilt by Tam Ashe in the spring of 1822.\n"
        'Example reply: {{"question": "Who rebuilt the mill at Orrin Ford?", "answer": "Tam Ashe"}}\n\n'
        "Passage:\n{passage}\n\nReply:"
    ),
    synth_multi_system=(
        "You write one question that needs two passages of a long document together. Both passages "
        "mention the same name. Ask for a fact that passage 2 gives, but refer to the shared name only "
        "by what passage 1 says about it, so that a reader needs both passages. The answer is a short "
        "phrase copied from passage 2 and must not be in the question. "
        'Reply with JSON only: {"question": "...", "answer": "..."}'
    ),
    synth_multi_user=(
        "Example.\nPassage 1:\nThe lighthouse on Karvo Point is kept by Edda Marn.\nPassage 2:\n"
        "Edda Marn was born in the village of Dunmore.\nShared name: Edda Marn\n"
        'Reply: {{"question": "In which village was the keeper of the lighthouse on Karvo Point born?", '
        '"answer": "Dunmore"}}\n\n'
        "Passage 1:\n{first}\nPassage 2:\n{second}\nShared name: {entity}\nReply:"
    ),
    synth_unanswerable_system=(
        "You write one question that sounds like a question about the document the passage comes from, "
        "but asks about the person named below, whom the document never mentions. Ask what this person "
        "did, said or was (an act, a role, a date) in what the passage talks of; the name is a person's, "
        "so never put it in place of a thing or a place. Use the name exactly as given. "
        'Reply with JSON only: {"question": "..."}'
    ),
    # The name is invented in code (synth/pick.py): asked to invent one, small
    # models asked about "the king" and "the witch", names the document uses.
    # The second example is a passage without a person: the 1.5B put the name in
    # place of a thing ("柯澜湛在什么时间发生爆裂？").
    synth_unanswerable_user=(
        "Example passage:\nThe mill at Orrin Ford was rebuilt by Tam Ashe in the spring of 1822.\nName: Velk Arrow\n"
        'Example reply: {{"question": "Which mill did Velk Arrow rebuild in the spring of 1822?"}}\n\n'
        "Example passage:\nHeavy snow closed the pass above Dunmarsh for six weeks.\nName: Ida Sole\n"
        'Example reply: {{"question": "What did Ida Sole send to Dunmarsh while snow closed the pass?"}}\n\n'
        "Passage:\n{passage}\nName: {entity}\n\nReply:"
    ),
    train_system=(
        "You answer questions about the document the user gives, using only that document. "
        "Be brief. If the document does not say, reply: The documents do not say."
    ),
    train_user="Document:\n{context}\n\nQuestion: {question}",
)

ZH = PromptSet(
    query_system=(
        "你负责在长文档中检索。把用户的问题拆成两部分：要查找的信息，以及对回答的要求（长度、语言、格式）。"
        "然后为要查找的信息写检索关键词：人名、地名、数字、关键术语，每个都给出中文和英文，"
        "再加上同义词：含有答案的段落可能用来代替问题中词语的其他说法。"
        "只输出 JSON，不要输出其他文字。"
    ),
    query_user=(
        '示例问题："用100字左右说明，2019年审计对绿源公司的用水有什么结论？"\n'
        '示例回答：{{"information": "2019年审计对绿源公司的用水有什么结论？", "instruction": '
        '"用100字左右回答。", "keywords_en": ["2019 audit", "Lvyuan company", "water use"], '
        '"keywords_zh": ["2019年审计", "绿源公司", "用水", "水资源消耗", "检查"]}}\n\n'
        "问题：{question}\n回答："
    ),
    answer_system=(
        "你只根据用户文档中带编号的段落回答问题。规则：\n"
        "1. 只有当段落讲的正是问题所问的对象（同一个名字、地点、事物）时，才使用其中的事实。"
        "名字相近的（另一座山、另一家公司、另一年）是不同的对象，不要使用。\n"
        "2. 准确回答所问的内容（问的是人，就回答人，不要回答地点）。\n"
        "3. 每个事实后用方括号注明段落编号，例如 [2]。\n"
        "4. 如果段落中没有答案，只回答：文档中没有提到。\n"
        "5. 除非要求详细，否则简要回答。"
    ),
    answer_user="段落：\n\n{passages}\n\n问题：{question}\n要求：{instruction}\n回答：",
    passage_label="[{n}]（{source}）",
    not_found="文档中没有提到。",
    default_instruction="用中文一句完整的话回答，并注明段落编号。",
    expand_system=(
        "搜索引擎只能找到文档中原样出现的词，而文档的说法和问题不同。对问题中的每个关键短语写一行："
        "短语、冒号，然后是文档可能用来表达它的六个其他词语：同义词、这种职业或事物的通常名称、"
        "更具体的种类、日常说法。不要写其他内容。"
    ),
    expand_user=(
        "问题：哪种车辆在村庄之间运送邮件？\n"
        "车辆：马车、货车、卡车、客车、大车、面包车\n"
        "运送邮件：送信、邮递、投递、邮差、信件、包裹\n"
        "村庄：村子、乡村、小镇、屯子、乡里、村落\n\n"
        "问题：{question}\n"
    ),
    reader_system=(
        "你阅读长文档中的一个段落，只根据这个段落回答问题。\n"
        "- 如果段落完全没有讲到问题所问的内容，只回复：none\n"
        "- 如果段落回答了问题，或者给出了问题需要的某个事实，就用几个字写出这个答案或事实，名字照段落原文写。\n"
        "- 讲的是名字相近但不同的名字或地点的段落不能回答问题：回复 none。"
    ),
    reader_user=(
        "示例。\n问题：奥林渡口的磨坊是谁重建的？\n段落：\n雨下了一整周。奥林渡口的磨坊由谭阿什在春天重建。"
        "粮价上涨了。\n答案（或 none）：谭阿什\n\n"
        "问题：奥林渡口的磨坊是谁重建的？\n段落：\n奥林湾的磨坊烧毁了。没有人来赶集。\n答案（或 none）：none\n\n"
        "问题：{question}\n\n段落：\n{passage}\n\n问题：{question}\n答案（或 none）："
    ),
    link_question="{place}在哪个{kind}？",
    next_system=(
        "你一步一步回答一个关于文档的问题。你看不到文档，只能向文档提出简单的问题，每个问题只问一个事实。"
        "根据问题和目前找到的事实，写出接下来要问的简单问题，名称照事实中的写法写。只写这个问题。"
        "如果这些事实已经回答了问题，只写：DONE"
    ),
    next_examples=(
        ("问题：建造维洛里亚首都那座桥的公司是谁创办的？\n目前找到的事实：无", "维洛里亚的首都是哪里？"),
        (
            "问题：建造维洛里亚首都那座桥的公司是谁创办的？\n目前找到的事实：\n- 维洛里亚的首都是邓马什市。",
            "邓马什的那座桥是哪家公司建造的？",
        ),
        (
            "问题：建造维洛里亚首都那座桥的公司是谁创办的？\n目前找到的事实：\n- 维洛里亚的首都是邓马什市。\n"
            "- 邓马什的那座桥由布兰工坊建造。\n- 布兰工坊由伊达·索勒创办。",
            "DONE",
        ),
    ),
    next_user="问题：{question}\n目前找到的事实：{facts}",
    no_facts="无",
    hop_instruction="用一句简短的话回答，写出所问的人名、地名或数值，并注明段落编号。",
    compose_system=(
        "你根据在用户文档中一步一步找到的事实回答问题。这些事实连成一条链：一个事实给出的名称，就是下一个事实所讲的对象。"
        "从问题提到的对象出发，顺着这条链找到答案。用编号注明用到的每个事实，例如 [1][2]。"
        "如果这些事实推不出答案，只回答：文档中没有提到。"
    ),
    compose_example=(
        "段落：\n\n[1]（笔记.txt）\n安海在布罗斯港工作。\n\n[2]（笔记.txt）\n布罗斯港的港务长是伊沃·达斯克。\n\n"
        "[3]（笔记.txt）\n伊沃·达斯克指挥着雷恩号。\n\n问题：安海工作的那个港口的港务长指挥着哪艘船？\n"
        "要求：用中文一句完整的话回答，并注明段落编号。\n回答：",
        "安海在布罗斯港工作 [1]，该港的港务长伊沃·达斯克 [2] 指挥着雷恩号 [3]。",
    ),
    agent_tools_system=(
        "你要回答一个关于用户文档的问题。你看不到文档：用 search 工具向文档提出简单、完整的问题。"
        "互不依赖的问题可以同时并行提问；依赖前一个答案的问题要等那个答案。"
        "搜索前用 think 做计划，搜索后用 think 检查答案说明了什么。"
        "能回答时，直接给出答案，并像 [1] 这样注明来源编号。如果文档中没有答案，回答：文档中没有提到。"
    ),
    synth_single_system=(
        "你为长文档中的一个段落出一道考题。规则：\n"
        "1. 只靠这个段落就能回答。\n"
        "2. 写出确切的对象（人名、地名、日期），使问题只能指这个段落。\n"
        "3. 问题中不能包含答案。\n"
        "4. 答案是从段落中照抄的简短短语。\n"
        '只输出 JSON：{"question": "...", "answer": "..."}'
    ),
    synth_single_user=(
        "示例段落：\n奥林渡口的磨坊由谭阿什在1822年春天重建。\n"
        '示例回答：{{"question": "奥林渡口的磨坊是谁重建的？", "answer": "谭阿什"}}\n\n'
        "段落：\n{passage}\n\n回答："
    ),
    synth_multi_system=(
        "你出一道需要把长文档中两个段落结合起来才能回答的问题。两个段落提到同一个名字。"
        "问段落2给出的一个事实，但不要直接写出这个共同的名字，而是用段落1对它的描述来指代它，"
        "使读者必须读两个段落。答案是从段落2照抄的简短短语，且不能出现在问题中。"
        '只输出 JSON：{"question": "...", "answer": "..."}'
    ),
    synth_multi_user=(
        "示例。\n段落1：\n卡尔沃角灯塔的看守人是艾达·马恩。\n段落2：\n艾达·马恩出生在敦莫尔村。\n"
        "共同的名字：艾达·马恩\n"
        '回答：{{"question": "卡尔沃角灯塔的看守人出生在哪个村子？", "answer": "敦莫尔村"}}\n\n'
        "段落1：\n{first}\n段落2：\n{second}\n共同的名字：{entity}\n回答："
    ),
    synth_unanswerable_system=(
        "你出一道问题，听起来像是关于这个段落所在文档的问题，但问的是下面给出的这个人，文档中从未提到此人。"
        "问此人在段落说到的事情里做了什么、说了什么、担任什么职务或在何时做某事；这是人名，"
        "不要用它代替段落里的事物或地方。名字照原样写。"
        '只输出 JSON：{"question": "..."}'
    ),
    synth_unanswerable_user=(
        "示例段落：\n奥林渡口的磨坊由谭阿什在1822年春天重建。\n名字：维尔克\n"
        '示例回答：{{"question": "维尔克在1822年春天重建了哪座磨坊？"}}\n\n'
        "示例段落：\n一场大雪使邓马什以北的山口封闭了六个星期。\n名字：艾达\n"
        '示例回答：{{"question": "山口封闭期间，艾达给邓马什送去了什么物资？"}}\n\n'
        "段落：\n{passage}\n名字：{entity}\n\n回答："
    ),
    train_system="你只根据用户给出的文档回答问题。简要回答。如果文档中没有答案，回答：文档中没有提到。",
    train_user="文档：\n{context}\n\n问题：{question}",
)

# Questions in other scripts (Cyrillic, Arabic, Devanagari, Hangul, kana, ...)
# get the English prompts but an answer in their own language: told to answer
# in English, the 0.5B model replied "The documents do not say." to Korean and
# Japanese passages that held the answer rather than transliterate the name.
# Questions in other scripts (Russian, Arabic, Hindi, Japanese, Korean...) get the
# English prompts and an instruction to answer in their language. Asked to "write
# names exactly", the 0.5B model echoed a Hindi question back; asked to say who or
# what it is "with the passage's words", it answered all five languages of
# tests/multilingual.py (3 other wordings: 1, 2 and 4 of 5).
OTHER = replace(
    EN,
    default_instruction=(
        "Answer in the language of the question in one full sentence with the passage's words, "
        "saying who or what it is, citing passage numbers, like [1]."
    ),
)

PROMPTS = {"en": EN, "zh": ZH, "other": OTHER}


def language_of(text: str) -> str:
    """'zh' when the text is mostly Chinese, 'other' when it is mostly another
    script than Latin (Japanese counts as other once it has kana), else 'en'."""
    han = kana = latin = other = 0
    for ch in text:
        if "\u4e00" <= ch <= "\u9fff":
            han += 1
        elif "\u3040" <= ch <= "\u30ff":
            kana += 1
        elif ch.isascii():
            latin += ch.isalpha()
        elif ch.isalpha():
            other += 1
    if kana:
        return "other" if (kana + han) * 2 >= latin else "en"
    if han and han * 2 >= latin:
        return "zh"
    return "other" if other > latin else "en"


def prompts_for(text: str) -> PromptSet:
    return PROMPTS[language_of(text)]
