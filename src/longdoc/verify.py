"""Check in code what a small model claims: that an answer's names and numbers
are in the text it was read from, which sentence of that text says it, and how
exactly a sentence names what the question asks about.

Small models fail at reading more than at finding: they take a value from a
look-alike sentence, invent a name for a question the text does not answer,
or copy the question back. Every check here is string work on text already in
memory, far cheaper than one more model call.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from difflib import SequenceMatcher

from .index.terms import Analyzer
from .sentences import sentences

# A Latin word that names something: capitalised, or holding a digit ("K-417", "1931").
_NAME_WORD = re.compile(r"\b(?:[A-Z][\w'’-]*|[\w-]*\d[\w-]*)")
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

# "该镇", "此地", "这座城市": words that point back at a place or person already
# named, not names an answer must copy from its source.
_ZH_REFERENCE = re.compile(r"[该此这那](?:座|个|位|名)?(?:城市|[镇村乡县市省州国城地处人])")


@dataclass(frozen=True)
class Support:
    """Where a text backs an answer: the sentence, and the share of the answer's names found in the text."""

    sentence: str
    names_found: float  # 0..1


def answer_names(answer: str) -> list[str]:
    """The parts of a short answer that must be copied from the source: Latin
    names and numbers, and runs of CJK characters (split at function characters)."""
    names = _latin_names(answer, skip_first=False)
    for run in _CJK.findall(_ZH_REFERENCE.sub(" ", answer).translate(_ZH_GLUE)):
        if len(run) >= 2:
            names.append(run)
    return names


def repeats_question(answer: str, question: str, analyzer: Analyzer) -> bool:
    """The answer holds words but none the question lacks: it says nothing
    ("The settlement's metalworkers craft a light..." for "Which settlement's
    metalworkers craft a light...?"). A bare "Yes" holds no terms and passes."""
    own = set(analyzer.terms(answer))
    return bool(own) and not own - set(analyzer.terms(question))


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
    blanked = _ZH_REFERENCE.sub(lambda m: " " * len(m.group()), question)
    text = blanked.translate(_ZH_GLUE)  # one character for one: positions hold
    names = []
    for m in _CJK.finditer(text):
        before = question[: m.start()].rstrip()
        at_name = not before or not _CJK.match(before[-1]) or before[-1] in _ZH_BEFORE_NAME
        if at_name and 3 <= len(m.group()) <= 4 and m.group()[0] in _ZH_SURNAMES:
            names.append(m.group())
    return names


def _latin_names(text: str, skip_first: bool) -> list[str]:
    names: list[str] = []
    for m in _NAME_WORD.finditer(text):
        word = re.sub(r"['’]s$", "", m.group()).strip("'’-")
        at_start = not text[: m.start()].strip() or text[: m.start()].rstrip().endswith((".", ":", "!", "?", "\n"))
        if not word or (at_start and (skip_first and not word[0].isdigit() or word in _OPENERS)):
            continue
        names.append(word)
    return names


def names_found(answer: str, text: str) -> float:
    """Share of the answer's names that appear in `text` (1.0 when it names nothing).
    A CJK run counts as found when most of its character bigrams are in the text,
    so "柯砚澜先生" still matches "柯砚澜"."""
    names = answer_names(answer)
    if not names:
        return 1.0
    low = text.lower()
    found = 0.0
    for n in names:
        if _CJK.fullmatch(n):
            grams = [n[i : i + 2] for i in range(len(n) - 1)]
            found += 1.0 if sum(g in text for g in grams) / len(grams) >= 0.6 else 0.0
        else:
            found += 1.0 if n.lower() in low else 0.0
    return found / len(names)


def unbacked(
    answer: str,
    passages: list[str],
    question: str,
    analyzer: Analyzer,
    about_subject: bool = True,
    asked: str = "",
) -> str | None:
    """Why the passages do not back `answer`, or None when they do: its names
    and numbers must all be in them, and at least half of the words it adds to
    the question's ("white" in "the lighthouse is painted white").
    `about_subject`: the sentences that give the answer's values must also be
    about what the question names (not for a chain of facts, whose last link
    names only the link before it).
    `asked`: the user's own words when `question` restates them: a small
    planner's restatement may drop what kind of answer is asked ("哪个省")."""
    text = " ".join(passages)
    # The answer may restate the question ("柯砚霁出生地所在省份的总督是…"): its words are not invented.
    missing = [n for n in answer_names(answer) if names_found(n, text) < 1.0 and names_found(n, question) < 1.0]
    if missing:
        return f"the passages do not name {', '.join(missing[:3])}"
    if kind := wrong_kind(question, answer) or (asked and wrong_kind(asked, answer)):
        return f"the question asks for {kind}"
    added = set(analyzer.terms(answer)) - set(analyzer.terms(question))
    if added and len(added & set(analyzer.terms(text))) * 2 < len(added):
        return "most of its words are not in the passages"
    if about_subject:
        return _said_of_something_else(answer, passages, question, analyzer)
    return None


def _said_of_something_else(answer: str, passages: list[str], question: str, analyzer: Analyzer) -> str | None:
    """Why the answer's values come from sentences about something else, or None.
    Small models answer a question the text does not answer with a value from
    any sentence at hand: a colour from a news item for "what colour is the
    lighthouse", a keeper named for a look-alike place."""
    every = [s for p in passages for s in sentences(p)]
    names, words = _answer_values(answer, question)
    holders = [s for s in every if _holds_a_value(s, names, words)]
    if not holders:
        return None
    alike = [look_alike(question, s) for s in holders]
    if all(alike):
        return f"the passages say it of {alike[0]}"
    if not (_ASKS_NUMBER.search(question) or _ASKS_COLOUR.search(question)):
        return None
    # A number or colour is a word many sentences hold: the one that gives it
    # must be about the question's subject about as much as the best passage is.
    best = max(coverage(question, s, analyzer) for s in every)
    if max(coverage(question, s, analyzer) for s in holders) < best * _ON_SUBJECT:
        return "the sentences that give its value are about something else"
    return None


# The share of the best sentence's coverage of the question that a sentence
# giving the answer's value must reach to count as being about its subject.
_ON_SUBJECT = 0.5


def _answer_values(answer: str, question: str) -> tuple[list[str], list[str]]:
    """The answer's own values: names and numbers the question does not hold,
    and the colours or numbers a question asks for (words many sentences hold)."""
    names = [n for n in answer_names(answer) if names_found(n, question) < 1.0]
    words: list[str] = []
    if _ASKS_COLOUR.search(question):
        words += [m.group().lower() for m in _COLOUR.finditer(answer)]
    if _ASKS_NUMBER.search(question):
        words += _DIGITS.findall(answer)
    return names, words


def _holds_a_value(sentence: str, names: list[str], words: list[str]) -> bool:
    low = sentence.lower()
    return any(names_found(n, sentence) == 1.0 for n in names) or any(w in low for w in words)


_DIGITS = re.compile(r"\d[\d,.]*\d|\d|[〇零一二两三四五六七八九十百千万亿]{2,}")


def look_alike(question: str, text: str) -> str | None:
    """A name in `text` spelled almost like one the question asks about, which
    `text` does not hold as asked ("Douzoua" for "Douzour"), or None. Such a
    sentence is about another place or person: a decoy, not the answer.
    Latin names only: in Chinese one character apart is as often a synonym
    (守塔人, 守灯人) as another place."""
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


# Questions whose answer must be a number or a colour, whatever the wording;
# a name given in reply answers something else ("Edda Marn" for "what colour
# is the lighthouse", a question the passage does not answer).
_ASKS_NUMBER = re.compile(
    r"\b(?:what|which) year\b|\bhow (?:many|much|tall|high|long|old|far|deep|wide|heavy)\b|"
    r"哪一年|哪年|多少|多高|多长|多大|多远|多重|几[个年岁米]",
    re.IGNORECASE,
)
_NUMBER = re.compile(
    r"\d|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty|"
    r"hundred|thousand|million|dozens?|half|several|few|many|none|no)\b|[一二两三四五六七八九十百千万亿半几]",
    re.IGNORECASE,
)
# "一位看守人", "一座塔": a Chinese "one" before a measure word counts nothing
# and answers no "哪一年".
_ZH_COUNTED = re.compile(r"[一两几每][位个名座条家种只间所本件户处]")
_ASKS_COLOUR = re.compile(
    r"\b(?:what|which) colou?r\b|\bwhat is the colou?r\b|什么颜色|哪种颜色|什么色|颜色是什么|颜色为何", re.IGNORECASE
)
_COLOUR = re.compile(
    r"\b(?:red|orange|yellow|green|blue|indigo|violet|purple|pink|brown|black|white|grey|gray|silver|gold(?:en)?|"
    r"crimson|scarlet|azure|ochre|teal|cream|ivory)\b|[红橙黄绿青蓝紫粉棕褐黑白灰银金]",
    re.IGNORECASE,
)


# Kinds of place, largest first in each language. A question that asks for one
# kind ("which province") answered with a smaller one ("the town of Trofirk")
# has found a link of a chain, not the answer; a larger one may only add context
# ("杭州, 浙江省").
_PLACES = {  # kind: (the words that name it, the words that surely name it)
    "country": ("country|nation", "country|nation"),
    "province": ("province|state|region", "province|state|region"),
    "county": ("county|district", "county|district"),
    "city": ("city", "city"),
    "town": ("town|village", "town|village"),
    # Chinese place characters also sit inside names ("中国", "广州"): only the
    # clear suffixes say that an answer names another kind.
    "国家": ("国家|国", "国家"),
    "省": ("省|州", "省"),
    "市": ("市|城", "市"),
    "县": ("县|区", "县"),
    "镇": ("镇|村|乡", "镇|村|乡"),
}


def _place_pattern(kind: str, words: str, asking: bool = False) -> re.Pattern[str]:
    if kind.isascii():
        return re.compile(rf"\b(?:which|what) (?:{words})\b" if asking else rf"\b(?:{words})\b", re.I)
    return re.compile(rf"哪(?:个|一个|一)?(?:{words})" if asking else words)


_PLACE_WORD = {kind: _place_pattern(kind, words) for kind, (words, _) in _PLACES.items()}
_SURE_PLACE = {kind: _place_pattern(kind, sure) for kind, (_, sure) in _PLACES.items()}
_ASKS_PLACE = {kind: _place_pattern(kind, words, asking=True) for kind, (words, _) in _PLACES.items()}
# A question about a place it names only by a clause: "Who governs the province
# in which X was born?", "X出生地所在省份的总督是谁？".
_ABOUT_PLACE = {
    kind: re.compile(rf"\bthe (?:{words}) (?:in which|where)\b", re.I)
    if kind.isascii()
    else re.compile(rf"所在的?(?:{words})份?")
    for kind, (words, _) in _PLACES.items()
}
# Each kind's smaller kinds in the same language.
_SMALLER = {
    kind: [k for k in list(_PLACES)[i + 1 :] if k.isascii() == kind.isascii()] for i, kind in enumerate(_PLACES)
}


# "…的总督是琥沅屿镇", "琥沅屿镇": a Chinese answer whose value (after its last 是/为,
# or the whole of a short answer) is a place.
_ZH_PLACE_VALUE = re.compile(r"(?:^\s*|[是为])[^，。,；;是为\s]{0,12}?[镇村乡县市省州]\s*[。.]?\s*$")


def wrong_kind(question: str, answer: str) -> str | None:
    """What the question asks for that the answer does not give (a number, a
    colour, a kind of place, a person), or None."""
    if _ASKS_NUMBER.search(question) and not _NUMBER.search(_ZH_COUNTED.sub("", answer)):
        return "a number"
    if "谁" in question and _ZH_PLACE_VALUE.search(answer):
        return "a person (the answer names a place)"
    if _ASKS_COLOUR.search(question) and not _COLOUR.search(answer):
        return "a colour"
    if place := smaller_place(question, answer):
        asked, given = place
        return f"a {asked} (the answer names a {given})"
    return None


_ASKS_PERSON = re.compile(r"\bwho(?:m|se)?\b", re.IGNORECASE)
_PLACE_OF = r"\b(?:town|village|city|county|district|province|state|region|country) of "


def place_for_person(question: str, answer: str, sentence: str) -> bool:
    """An English "who" question answered with a bare name that the sentence
    calls a place ("Honais" from "born in the town of Honais"). A reader's
    answer is a bare name, so the sentence tells the kind."""
    names = answer_names(answer)
    return (
        bool(_ASKS_PERSON.search(question))
        and bool(names)
        and all(re.search(_PLACE_OF + re.escape(n), sentence, re.IGNORECASE) for n in names)
    )


def names_asked_place(question: str, answer: str) -> bool:
    """The question asks for a kind of place and the answer names one of that kind."""
    return any(asks.search(question) and _PLACE_WORD[k].search(answer) for k, asks in _ASKS_PLACE.items())


def smaller_place(question: str, answer: str) -> tuple[str, str] | None:
    """(the kind of place asked, the smaller kind the answer names instead), or
    None. Such an answer is the first link of a chain: the town a person was
    born in, for "in which province was she born?"."""
    for kind, asks in _ASKS_PLACE.items():
        if asks.search(question) and not _PLACE_WORD[kind].search(answer):
            other = next((k for k in _SMALLER[kind] if _SURE_PLACE[k].search(answer)), None)
            if other:
                return kind, other
    return None


def new_part(answer: str, known: str) -> str:
    """The stretch of `answer` from the first to the last of its names that
    `known` (the question it answers) does not hold, or "": "Neis Quousax" of
    "The province of Rubral is governed by Neis Quousax." for "Who governs the
    province of Rubral?"."""
    spans = []
    at = 0
    for n in answer_names(answer):
        i = answer.find(n, at)
        if i < 0:
            continue
        at = i + len(n)
        if names_found(n, known) < 1.0:
            spans.append((i, at))
    return answer[spans[0][0] : spans[-1][1]] if spans else ""


def asks_for_place(question: str, kind: str) -> bool:
    """The question asks for a place of this kind ("which province"), not about one."""
    return bool(_ASKS_PLACE[kind].search(question))


@dataclass(frozen=True)
class PlaceClause:
    """A question about a place it names only by a clause: "Who governs the
    province in which Thand Damork was born?", "滕琨澜出生地所在省份的总督是谁？"."""

    kind: str  # "province", "省"
    called: str  # what the question calls the place: "the place where Thand Damork was born", "滕琨澜出生地"
    before: str  # the question's words before the clause ("Who governs "; "" in Chinese)
    after: str  # and after it ("?"; "的总督是谁？")

    def about(self, place: str) -> str:
        """The question asked of the place once found: "Who governs the province of Rubral?", "岚榆坪省的总督是谁？"."""
        if self.kind.isascii():
            return f"{self.before}the {self.kind} of {place}{self.after}"
        return f"{self.before}{place}{self.after}"


def place_clause(question: str) -> PlaceClause | None:
    """The clause by which the question names the place it asks about, or None."""
    for kind, about in _ABOUT_PLACE.items():
        if m := about.search(question):
            if kind.isascii():
                clause = question[m.end() :].strip().rstrip("?？").strip()
                called = f"the place where {clause}"
                return PlaceClause(kind, called, question[: m.start()], "?") if clause else None
            called = question[: m.start()].strip()
            return PlaceClause(kind, called, "", question[m.end() :]) if called else None
    return None


def _smaller_in_sentence(question: str, answer: str, sentence: str) -> tuple[str, str] | None:
    """smaller_place for an answer that is a bare name ("Honais") whose sentence
    says what it is ("born in the town of Honais"), and for questions about a
    place named by a clause; else None."""
    for kind, about in _ABOUT_PLACE.items():
        if not (about.search(question) or _ASKS_PLACE[kind].search(question)) or _PLACE_WORD[kind].search(answer):
            continue
        for smaller in _SMALLER[kind]:
            sure = _PLACES[smaller][1]
            called = smaller.isascii() and any(
                re.search(rf"\b(?:{sure}) of {re.escape(n)}", sentence, re.I) for n in answer_names(answer)
            )
            if called or _SURE_PLACE[smaller].search(answer):
                return kind, smaller
    return None


def link_place(question: str, answer: str, sentence: str = "") -> tuple[str, str] | None:
    """(the kind of place asked, the smaller place the answer names instead),
    or None: "Das Thounoth was born in the town of Trofirk." for "In which
    province was Das Thounoth born?" gives ("province", "Trofirk"), and so does
    "Trofirk" for "Who governs the province in which Das Thounoth was born?"
    when `sentence` calls it a town. The place is what to ask about next."""
    place = smaller_place(question, answer) or _smaller_in_sentence(question, answer, sentence)
    if place is None:
        return None
    asked, given = place
    names = [n for n in answer_names(answer) if names_found(n, question) < 1.0]
    named = [n for n in names if _SURE_PLACE[given].search(n)] or names
    return (asked, named[-1]) if named else None


def coverage(question: str, text: str, analyzer: Analyzer) -> float:
    """Share of the question's search terms that `text` holds: how exactly it
    names what the question asks about ("Karvo Point", not "Karva Point")."""
    asked = set(analyzer.terms(question))
    if not asked:
        return 0.0
    return len(asked & set(analyzer.terms(text))) / len(asked)


def support(answer: str, text: str, question: str, analyzer: Analyzer, quote: str = "") -> Support | None:
    """The sentence of `text` that backs `answer`, or None when the answer's
    names are not in the text (invented, or taken from elsewhere). A `quote` the
    model gave is used when it really is one of the text's sentences."""
    found = names_found(answer, text)
    if found < 1.0 and answer_names(answer):
        return None
    parts = sentences(text)
    if not parts:
        return None
    if quote:
        q = bare(quote)
        for s in parts:
            if len(q) >= 4 and q in bare(s) and names_found(answer, s) == 1.0:
                return Support(s, found)
    answer_terms = set(analyzer.terms(answer))
    asked = set(analyzer.terms(question))

    def score(s: str) -> tuple[float, int, int]:
        terms = set(analyzer.terms(s))
        return names_found(answer, s), len(answer_terms & terms), len(asked & terms)

    best = max(parts, key=score)
    named, shared_answer, _ = score(best)
    # All the names must be in the text; one sentence need only hold some of them
    # ("Edda Marn, who came from Dunmore" may take two sentences to say).
    if named == 0.0 or (not answer_names(answer) and shared_answer == 0):
        return None
    return Support(best, found)


def bare(text: str) -> str:
    """Letters and digits only, lower-cased: two wordings of one text compare equal."""
    return re.sub(r"[\W_]+", "", text.lower())
