"""Does a text back an answer? Its names and numbers must be in the text, the
sentence that says it must be about what the question names, and the answer
must be of the kind asked (a number, a colour, a person, a kind of place)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..index.terms import Analyzer
from ..sentences import sentences
from ..widths import fold_width
from .names import answer_names, bare, look_alike, names_found
from .places import is_zh_place_value, smaller_place


@dataclass(frozen=True)
class Support:
    """Where a text backs an answer: the sentence, and the share of the answer's names found in the text."""

    sentence: str
    names_found: float  # 0..1


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
    # Each sentence with the one before it: text names its subject, then gives the
    # value in the next sentence ("…院长梁惠珍被评为…标兵。做了４３年医生的梁惠珍是…").
    told = [
        (ss[k], " ".join(ss[max(0, k - 1) : k + 1])) for p in passages if (ss := sentences(p)) for k in range(len(ss))
    ]
    names, words = _answer_values(answer, question)
    holders = [(s, pair) for s, pair in told if _holds_a_value(s, names, words)]
    if not holders:
        return None
    alike = [look_alike(question, s) for s, _ in holders]
    if all(alike):
        return f"the passages say it of {alike[0]}"
    if not (_ASKS_NUMBER.search(question) or _ASKS_COLOUR.search(question)):
        return None
    # A number or colour is a word many sentences hold: the one that gives it
    # must be about the question's subject about as much as the best passage is.
    best = max(coverage(question, s, analyzer) for s, _ in told)
    asked = set(analyzer.terms(question))
    # The sentence before counts only for a sentence that shares words with the
    # question itself: a value in the news item after the subject's sentence is no answer.
    on = [pair if len(asked & set(analyzer.terms(s))) >= 2 else s for s, pair in holders]
    if max(coverage(question, t, analyzer) for t in on) < best * _ON_SUBJECT:
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
    low = fold_width(sentence).lower()
    return any(names_found(n, sentence) == 1.0 for n in names) or any(w in low for w in words)


_DIGITS = re.compile(r"\d[\d,.]*\d|\d|[〇零一二两三四五六七八九十百千万亿]{2,}")

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


def wrong_kind(question: str, answer: str) -> str | None:
    """What the question asks for that the answer does not give (a number, a
    colour, a kind of place, a person), or None."""
    if _ASKS_NUMBER.search(question) and not _NUMBER.search(_ZH_COUNTED.sub("", answer)):
        return "a number"
    if "谁" in question and is_zh_place_value(answer):
        return "a person (the answer names a place)"
    if _ASKS_COLOUR.search(question) and not _COLOUR.search(answer):
        return "a colour"
    if place := smaller_place(question, answer):
        asked, given = place
        return f"a {asked} (the answer names a {given})"
    return None


def repeats_question(answer: str, question: str, analyzer: Analyzer) -> bool:
    """The answer holds words but none the question lacks: it says nothing
    ("The settlement's metalworkers craft a light..." for "Which settlement's
    metalworkers craft a light...?"). A bare "Yes" holds no terms and passes."""
    own = set(analyzer.terms(answer))
    return bool(own) and not own - set(analyzer.terms(question))


def coverage(question: str, text: str, analyzer: Analyzer) -> float:
    """Share of the question's search terms that `text` holds: how exactly it
    names what the question asks about ("Karvo Point", not "Karva Point")."""
    asked = set(analyzer.terms(question))
    if not asked:
        return 0.0
    return len(asked & set(analyzer.terms(text))) / len(asked)
