"""Names in answers and questions: what an answer must have copied from its
source (Latin names and numbers, runs of Chinese characters), whether a text
holds them, and a name spelled almost like one asked about (a decoy)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from difflib import SequenceMatcher

from ..widths import fold_width
from ..zh_words import tagged_words

# A Latin word that names something: capitalised, or holding a digit ("K-417", "1931").
# Its letters are any word characters but CJK ones: Chinese writes no spaces, so
# "的74厘米" must give "74", not the whole run of characters glued to the number.
_W = r"[^\W\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]"
_SENTENCE_ENDS = (".", ":", "!", "?", "\n", ";", '"', "'", "“", "‘", "(", "[")
_NAME_WORD = re.compile(rf"(?<!{_W})(?:[A-Z](?:{_W}|['’-])*|(?:{_W}|-)*\d(?:{_W}|-)*)")

# Han characters only: kana and Hangul answers attach endings to names ("마른입니다"),
# so a name cannot be checked character by character there.
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")

# Words that open a sentence or a question without naming anything in it.
_OPENERS = frozenset(
    "The A An It He She They This That These Those There In On At By From Of For To With As Yes No According "
    "Answer Who Whom Whose What Which Where When Why How Is Are Was Were Do Does Did Can Could Will Would "
    "Should Has Have Had Please Tell Name List Give Find".split()
)

# Chinese characters an answer wraps a name in ("是", "由", "在") carry no name,
# nor do a question's words ("谁", "哪个", "什么").
_ZH_GLUE = str.maketrans(
    {c: " " for c in "的了是在和与及或也都着之这那由为于被把对从到给向个位名叫谁哪什么几吗呢怎如何"}
)

# Question words of two characters whose first is no glue on its own ("多" is in
# "许多", "多伦多"): "裁员了多少人" asks about 裁员, it names no "多少人".
_ZH_ASKING = re.compile(r"多[少久大长高远重]")

# "该镇", "此地", "这座城市": words that point back at a place or person already
# named, not names an answer must copy from its source.
_ZH_REFERENCE = re.compile(r"[该此这那](?:座|个|位|名)?(?:城市|[镇村乡县市省州国城地处人])")


def answer_names(answer: str) -> list[str]:
    """The parts of a short answer that must be copied from the source: Latin
    names and numbers, and runs of CJK characters (split at function characters)."""
    names = _latin_names(answer, skip_first=False)
    for run in _CJK.findall(_ZH_ASKING.sub(" ", _ZH_REFERENCE.sub(" ", answer)).translate(_ZH_GLUE)):
        if len(run) >= 2:
            names.append(run)
    return names


def question_names(question: str) -> list[str]:
    """The Latin proper names and numbers a question asks about. A sentence's
    first word is passed over however it is spelled ("Summarize", "Karvo"):
    capitals there say nothing."""
    return _latin_names(question, skip_first=True)


# Common single-character Chinese surnames. A question's run of three or four Han
# characters that opens with one reads as a person's name ("蒲璟砚"); two-character
# runs are passed over, too many are words ("黄金").
_ZH_SURNAMES = frozenset(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁"
    "任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴"
    "莫孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮柯纪"
    "梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳时穆农司卓古吉缪简"
    "车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师仇栾隋商刁沙荣巫寇桑郎甄丛"
    "仲虞敖巩佘池查麻苑迟邝尉幸"
)

# Where a name may stand in a question: at its start, or after these characters
# ("谁是张小三的父亲", "蒲璟砚和柯砚霁"); elsewhere a surname character mostly starts
# a word ("什么时期创作").
_ZH_BEFORE_NAME = frozenset("是和与及对给向被把让叫由")


def zh_person_names(question: str) -> list[str]:
    """Runs of a Chinese question that read as a person's name: three or four Han
    characters between function characters or punctuation, the first a common
    surname, where a name may stand ("蒲璟砚" in "蒲璟砚在什么时期创作了…").
    Other Chinese words cannot be told from names, so only these are judged."""
    names = []
    for run, _, at_name in _zh_runs(question, _ZH_REFERENCE):
        if at_name and 3 <= len(run) <= 4 and run[0] in _ZH_SURNAMES:
            names.append(run)
    return names


def _zh_runs(question: str, *blank: re.Pattern[str]) -> Iterator[tuple[str, str, bool]]:
    """The question's runs of Han characters between function characters (and
    what the `blank` patterns match), each with the text before it and whether
    a name may stand there."""
    text = question
    for pattern in blank:
        text = pattern.sub(lambda m: " " * len(m.group()), text)
    text = text.translate(_ZH_GLUE)  # one character for one: positions hold
    for m in _CJK.finditer(text):
        before = question[: m.start()].rstrip()
        at_name = not before or not _CJK.match(before[-1]) or before[-1] in _ZH_BEFORE_NAME
        yield m.group(), before, at_name


# Words that ask ("哪个城市", "什么职务"): the word after them is what is asked
# about, not a name the answer's sentence must repeat.
_ZH_ASKS = ("哪", "哪个", "哪位", "哪座", "哪家", "哪所", "哪些", "哪一", "什么", "几")

# jieba's dictionary tags places "ns" and organisations "nt"; its two-character
# person names ("nr") are as often ordinary words ("紫红", "钟楼"), so those
# count only where a name may stand.
_ZH_NAME_TAGS = ("ns", "nt")
_ZH_PERSON_TAGS = ("nr", "nrt")


def subject_names(question: str) -> list[str]:
    """What a question names, which a sentence must name too to be about the
    question's subject: its Latin names and numbers, and in Chinese the words
    that read as names. Chinese has no capitals; a name jieba's dictionary lacks
    falls apart into single characters ("蒲蓁泓", "渚梓渡"), known places and
    organisations carry their tags ("四川", "北京"). The rest are ordinary words,
    which a fact told in other words need not share ("哪里的种植户在落叶时节将收获
    的水果制作为一种紫红饮料？" names nothing)."""
    names = _latin_names(question, skip_first=False)
    for run, before, at_name in _zh_runs(question, _ZH_ASKING, _ZH_REFERENCE):
        asked = before.endswith(_ZH_ASKS)
        # Characters in a row the dictionary holds no longer word for: three make
        # a name; two only where a name may stand, led by a surname ("李蓁的父亲";
        # "一大早用船" names no "用船").
        alone, alone_at = "", 0
        for i, (word, tag) in enumerate([*tagged_words(run), ("", "")]):
            if len(word) == 1:
                alone, alone_at = alone + word, alone_at if alone else i
                continue
            if len(alone) >= 3 or len(alone) == 2 and alone_at == 0 and at_name and alone[0] in _ZH_SURNAMES:
                names.append(alone)
            alone = ""
            first = i == 0
            if first and asked or len(word) < 2:
                continue
            if tag in _ZH_NAME_TAGS or tag in _ZH_PERSON_TAGS and (len(word) >= 3 or first and at_name):
                names.append(word)
    return names


def subject_found(question: str, text: str) -> float:
    """Share of the question's names (`subject_names`) that `text` holds; 1.0
    when the question names nothing."""
    return names_found_of(subject_names(question), text)


def _latin_names(text: str, skip_first: bool) -> list[str]:
    names: list[str] = []
    text = fold_width(text)
    opening = len(text) - len(text.lstrip())  # where the text's first word begins
    for m in _NAME_WORD.finditer(text):
        word = re.sub(r"['’]s$", "", m.group()).strip("'’-")
        # Only the character before the spaces and tabs ahead of the word counts
        # (a line break too: verse opens each line with a capital); looking back
        # one character, not slicing the text, keeps a long text linear.
        i = m.start()
        while i > 0 and text[i - 1] in " \t":
            i -= 1
        at_start = m.start() <= opening or text[i - 1] in _SENTENCE_ENDS
        if not word or (at_start and (skip_first and not word[0].isdigit() or word in _OPENERS)):
            continue
        names.append(word)
    return names


def proper_names(text: str) -> list[str]:
    """The Latin words a running text capitalises where no sentence or line
    starts: names, not the capitals that open every line of verse ("Commends",
    "Shame"). Numbers are left out."""
    return [n for n in _latin_names(text, skip_first=True) if not n[0].isdigit()]


def names_found(answer: str, text: str) -> float:
    """Share of the answer's names that appear in `text` (1.0 when it names nothing).
    A CJK run counts as found when most of its character bigrams are in the text,
    so "柯砚澜先生" still matches "柯砚澜"."""
    return names_found_of(answer_names(answer), text)


def names_found_of(names: list[str], text: str) -> float:
    """Share of `names` that appear in `text` (1.0 for none), as `names_found` counts them."""
    if not names:
        return 1.0
    text = fold_width(text)
    low = text.lower()
    found = 0.0
    for n in names:
        if _CJK.fullmatch(n):
            grams = [n[i : i + 2] for i in range(len(n) - 1)]
            found += 1.0 if sum(g in text for g in grams) / len(grams) >= 0.6 else 0.0
        else:
            found += 1.0 if n.lower() in low else 0.0
    return found / len(names)


def new_part(answer: str, known: str) -> str:
    """The stretch of `answer` from the first to the last of its names that
    `known` (the question it answers) does not hold, or "": "Neis Quousax" of
    "The province of Rubral is governed by Neis Quousax." for "Who governs the
    province of Rubral?"."""
    spans = []
    at = 0
    answer = fold_width(answer)
    for n in answer_names(answer):
        i = answer.find(n, at)
        if i < 0:
            continue
        at = i + len(n)
        if names_found(n, known) < 1.0:
            spans.append((i, at))
    return answer[spans[0][0] : spans[-1][1]] if spans else ""


def bare(text: str) -> str:
    """Letters and digits only, lower-cased: two wordings of one text compare equal."""
    return re.sub(r"[\W_]+", "", fold_width(text).lower())


def look_alike(question: str, text: str) -> str | None:
    """A name in `text` spelled almost like one the question asks about, which
    `text` does not hold as asked ("Douzoua" for "Douzour"), or None. Such a
    sentence is about another place or person: a decoy, not the answer.
    Latin names only: in Chinese one character apart is as often a synonym
    (守塔人, 守灯人) as another place."""
    text = fold_width(text)
    low = text.lower()
    words: set[str] = {w.strip("'’-") for w in _NAME_WORD.findall(text)}
    for name in question_names(question):
        n = name.lower()
        if len(n) < 4 or not n.isalpha() or re.search(rf"\b{re.escape(n)}\b", low):
            continue
        for w in words:
            x = w.lower()
            if x == n or x.startswith(n) or n.startswith(x) or abs(len(x) - len(n)) > 2 or x[:2] != n[:2]:
                continue  # inflections ("Rivers"), and words that only share a letter or two
            if SequenceMatcher(None, n, x).ratio() >= _NEAR_SPELLING:
                return w
    return None


# How alike two spellings must be to be one name misspelt or a look-alike:
# "Douzour"/"Douzoua" 0.86, "Point"/"Poina" 0.8, "Kahund"/"Kaland" 0.67.
_NEAR_SPELLING = 0.75
