"""Every prompt longdoc sends, in English and Chinese. Edit wording here only.

Each prompt is chosen by the language of the user's question ("en" or "zh").
Small models read best with short rules, one example, and the question last.
"""

from __future__ import annotations

from dataclasses import dataclass


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
    reader_system: str  # Level 2: judge one chunk
    reader_user: str  # {question} {passage}
    agent_system: str  # Level 3: the ReAct protocol
    agent_user: str  # {question}
    agent_tools_system: str  # Level 3 with native function calling
    observation: str  # {answer}


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
    reader_system=(
        "You read one passage of a long document and copy the sentences that help answer a "
        "question, word for word. Sentences that answer it in other words (synonyms, "
        "paraphrases) help too. A sentence about a similar but different name, place or thing "
        "does not help. If nothing in the passage helps, reply: none."
    ),
    # The question comes before the passage (every call then shares a prompt
    # prefix the model can cache) and again after it (small models follow the
    # last thing they read).
    reader_user="Question: {question}\n\nPassage:\n{passage}\n\nQuestion: {question}\nHelpful sentences (or none):",
    agent_system=(
        "You answer a question about the user's documents. You cannot see the documents: you "
        "can only ask them simple questions, one at a time, with the search tool. Break the "
        "question into steps: ask for the first fact, then use its answer in the next question.\n\n"
        "Tools:\n"
        "think: write down your plan or what you have learned so far. Input: your notes.\n"
        "search: ask the documents one simple, self-contained question. Input: the question.\n\n"
        "Use exactly this format:\n"
        "Thought: what to do next\n"
        "Action: search\n"
        "Action Input: a simple question\n"
        "(then stop: the documents' answer comes back as an Observation)\n\n"
        "When you know the answer:\n"
        "Thought: I now know the answer.\n"
        "Final Answer: the answer, citing sources like [1].\n\n"
        "Example. Question: Who founded the company that built the Orla bridge?\n"
        "Thought: First find which company built the Orla bridge.\n"
        "Action: search\n"
        "Action Input: Which company built the Orla bridge?\n"
        "Observation: Brann Works built the Orla bridge [1].\n"
        "Thought: Now find who founded Brann Works.\n"
        "Action: search\n"
        "Action Input: Who founded Brann Works?\n"
        "Observation: Brann Works was founded by Ida Sole [2].\n"
        "Thought: I now know the answer.\n"
        "Final Answer: Ida Sole founded Brann Works, which built the Orla bridge [1][2]."
    ),
    agent_user="Question: {question}",
    agent_tools_system=(
        "You answer a question about the user's documents. You cannot see them: ask them "
        "simple, self-contained questions with the search tool. Questions that do not depend "
        "on each other can be asked at once, in parallel; a question that needs an earlier "
        "answer waits for it. Use think to plan before searching and to check what the answers "
        "tell you. When you can answer, reply with the answer and cite the sources' numbers "
        "like [1]. If the documents do not say, reply: The documents do not say."
    ),
    observation="Observation: {answer}",
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
        "你阅读长文档中的一个段落，逐字照抄有助于回答问题的句子。用别的说法（同义词、换一种说法）"
        "回答了问题的句子也有帮助。讲的是名字相近但不同的人、地点或事物的句子没有帮助。"
        "如果段落中没有任何有帮助的内容，只回复：none。"
    ),
    reader_user="问题：{question}\n\n段落：\n{passage}\n\n问题：{question}\n有帮助的句子（或 none）：",
    agent_system=(
        "你要回答一个关于用户文档的问题。你看不到文档，只能用 search 工具向文档提出简单的问题，每次一个。"
        "把问题拆成几步：先问第一个事实，再把它的答案用在下一个问题里。\n\n"
        "工具：\n"
        "think：写下你的计划或目前知道的内容。输入：你的笔记。\n"
        "search：向文档提出一个简单、完整的问题。输入：这个问题。\n\n"
        "严格使用以下格式：\n"
        "Thought: 下一步做什么\n"
        "Action: search\n"
        "Action Input: 一个简单的问题\n"
        "（然后停下：文档的回答会以 Observation 返回）\n\n"
        "知道答案时：\n"
        "Thought: 我已经知道答案。\n"
        "Final Answer: 答案，并像 [1] 这样注明来源。\n\n"
        "示例。问题：建造奥拉桥的公司是谁创办的？\n"
        "Thought: 先查是哪家公司建造了奥拉桥。\n"
        "Action: search\n"
        "Action Input: 哪家公司建造了奥拉桥？\n"
        "Observation: 奥拉桥由布兰工坊建造 [1]。\n"
        "Thought: 再查布兰工坊是谁创办的。\n"
        "Action: search\n"
        "Action Input: 布兰工坊是谁创办的？\n"
        "Observation: 布兰工坊由伊达·索勒创办 [2]。\n"
        "Thought: 我已经知道答案。\n"
        "Final Answer: 伊达·索勒创办了建造奥拉桥的布兰工坊 [1][2]。"
    ),
    agent_user="问题：{question}",
    agent_tools_system=(
        "你要回答一个关于用户文档的问题。你看不到文档：用 search 工具向文档提出简单、完整的问题。"
        "互不依赖的问题可以同时并行提问；依赖前一个答案的问题要等那个答案。"
        "搜索前用 think 做计划，搜索后用 think 检查答案说明了什么。"
        "能回答时，直接给出答案，并像 [1] 这样注明来源编号。如果文档中没有答案，回答：文档中没有提到。"
    ),
    observation="Observation: {answer}",
)

PROMPTS = {"en": EN, "zh": ZH}


def language_of(text: str) -> str:
    """'zh' when the text is mostly Chinese, else 'en'."""
    cjk = sum(1 for ch in text if "\u4e00" <= ch <= "\u9fff")
    latin = sum(1 for ch in text if ch.isascii() and ch.isalpha())
    return "zh" if cjk * 2 >= latin and cjk > 0 else "en"


def prompts_for(text: str) -> PromptSet:
    return PROMPTS[language_of(text)]
