"""Kinds of place: what a question asks for ("which province") and what an
answer names instead. A smaller place than asked ("the town of Trofirk") is the
first link of a chain of facts, not the answer; a question may also name the
place it asks about by a clause ("the province in which Thand was born")."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .names import answer_names, names_found

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


def is_zh_place_value(answer: str) -> bool:
    """A Chinese answer whose value is a place ("…的总督是琥沅屿镇")."""
    return bool(_ZH_PLACE_VALUE.search(answer))


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
