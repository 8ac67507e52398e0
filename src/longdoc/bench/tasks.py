"""The tasks: invented facts (needles), the question each asks, and the keywords
that score an answer. Every name is made up from syllables with a seeded RNG,
so no model can answer from memory.

Each builder returns a `Spec`: needles with the relative depth each should sit
at, the question, the gold answer and the scoring keywords.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

TASKS = ("single_needle", "multi_needle", "multi_reasoning", "decoy", "paraphrase", "unanswerable")


@dataclass(frozen=True)
class Spec:
    needles: list[tuple[str, float]]  # (sentence, depth 0..1)
    question: str
    answer: str  # the gold answer, short
    keywords: list[str]  # each must appear in a correct answer
    decoy_values: list[str] = field(default_factory=list)  # values of look-alike facts: naming one is wrong
    refusal: bool = False  # the document does not answer: the right reply says so


# --- invented names ------------------------------------------------------

_EN_ONSETS = ("br", "k", "d", "v", "th", "m", "qu", "s", "tr", "l", "g", "z", "h", "f", "r", "n")
_EN_VOWELS = ("a", "e", "i", "o", "u", "ai", "ei", "ou")
_EN_CODAS = ("n", "r", "l", "s", "th", "nd", "rk", "x", "v", "m")
_ZH_SURNAMES = "柯莫钟岑尉迟邝滕蒲幸"
_ZH_GIVEN = "砚澜珂翊琨蓁骁霁璟泓昶瑾湛峤"
_ZH_PLACE = "澄枫岚汀渚蓿桦琥梓沅漪榆"
_ZH_PLACE_SUFFIX = ("岭", "湾", "坪", "渡", "屿", "峪")


def en_word(rng: random.Random, syllables: int = 2) -> str:
    parts = [rng.choice(_EN_ONSETS) + rng.choice(_EN_VOWELS) for _ in range(syllables)]
    return ("".join(parts) + rng.choice(_EN_CODAS)).capitalize()


def en_person(rng: random.Random) -> str:
    return f"{en_word(rng, 1)} {en_word(rng, 2)}"


def zh_person(rng: random.Random) -> str:
    return rng.choice(_ZH_SURNAMES) + "".join(rng.sample(_ZH_GIVEN, 2))


def zh_place(rng: random.Random) -> str:
    return "".join(rng.sample(_ZH_PLACE, 2)) + rng.choice(_ZH_PLACE_SUFFIX)


def code(rng: random.Random) -> str:
    return f"{rng.choice('KQTVXZ')}-{rng.randrange(100, 1000)}"


class Names:
    """Invented names that never repeat within one item (a repeat would make
    a decoy or a second needle ambiguous)."""

    def __init__(self, rng: random.Random, lang: str) -> None:
        self.rng, self.lang, self.used = rng, lang, set[str]()

    def _fresh(self, make: Callable[[random.Random], str]) -> str:
        while (name := make(self.rng)) in self.used:
            pass
        self.used.add(name)
        return name

    def person(self) -> str:
        return self._fresh(en_person if self.lang == "en" else zh_person)

    def place(self) -> str:
        return self._fresh(en_word if self.lang == "en" else zh_place)

    def code(self) -> str:
        return self._fresh(code)


# --- templates -----------------------------------------------------------
# (fact, question) pairs; {p}: place, {v}: value. Objects differ so that
# decoys can keep the place and change the object, or keep both and change a word.

_SINGLE = {
    "en": [
        ("The old archive of {p} is looked after by a keeper named {v}.", "Who looks after the old archive of {p}?"),
        ("The lighthouse on {p} Point is kept by {v}.", "Who keeps the lighthouse on {p} Point?"),
        ("The bell tower of {p} was restored by the mason {v}.", "Which mason restored the bell tower of {p}?"),
    ],
    "zh": [
        ("{p}的旧档案馆由一位名叫{v}的看守人照管。", "{p}的旧档案馆由谁照管？"),
        ("{p}灯塔的守塔人是{v}。", "{p}灯塔的守塔人是谁？"),
        ("{p}的钟楼是由石匠{v}修复的。", "{p}的钟楼是由哪位石匠修复的？"),
    ],
}

_CODE = {
    "en": ("The vault in {p} opens with the code {v}.", "the code that opens the vault in {p}"),
    "zh": ("{p}的保险库的开启密码是{v}。", "{p}的保险库的开启密码"),
}

# Chains: person -> town -> province -> governor -> ... ; the question names
# only the first link.
_CHAIN = {
    "en": [
        "{a} was born in the town of {b}.",
        "The town of {b} lies in the province of {c}.",
        "The province of {c} is governed by {d}.",
        "{d} keeps a horse named {e}.",
    ],
    "zh": [
        "{a}出生在{b}镇。",
        "{b}镇位于{c}省。",
        "{c}省的总督是{d}。",
        "{d}养了一匹名叫{e}的马。",
    ],
}
_CHAIN_Q = {
    "en": [
        "In which province was {a} born?",
        "Who governs the province in which {a} was born?",
        "What is the name of the horse kept by the governor of the province where {a} was born?",
    ],
    "zh": [
        "{a}出生在哪个省？",
        "{a}出生地所在省份的总督是谁？",
        "{a}出生地所在省份的总督养的马叫什么名字？",
    ],
}

# The fact and its question share no content word (nor, in Chinese, any
# character bigram) apart from stop words: keyword search alone cannot link them.
PARAPHRASES = {
    "en": [
        (
            "Each spring the harbour master of {v} hands out cakes sweetened with cloudberry honey.",
            "In which town does the official overseeing ships distribute baked treats?",
        ),
        (
            "Every winter the blacksmiths of {v} forge a silver lantern for their patron saint.",
            "Which settlement's metalworkers craft a light of precious metal during the cold season?",
        ),
        (
            "The orchard keepers of {v} press their pears into a violet cider each autumn.",
            "Where do fruit growers turn produce into a purple drink when leaves fall?",
        ),
    ],
    "zh": [
        ("每年春天，{v}的港务长都会分发用云莓蜂蜜做的糕点。", "哪个城镇负责管理船只的官员会派送烘焙食品？"),
        ("每逢冬季，{v}的铁匠们会为守护神打造一盏银灯。", "哪个聚落的金属工匠在寒冷时节制作贵金属照明器具？"),
        ("{v}的果农每年秋天把梨酿成紫色的果酒。", "哪里的种植户在落叶时节将收获的水果制作为一种紫红饮料？"),
    ],
}


def single_needle(rng: random.Random, lang: str, depths: list[float]) -> Spec:
    names = Names(rng, lang)
    fact, q = rng.choice(_SINGLE[lang])
    p, v = names.place(), names.person()
    return Spec([(fact.format(p=p, v=v), depths[0])], q.format(p=p), v, [v])


def multi_needle(rng: random.Random, lang: str, depths: list[float]) -> Spec:
    """Several vault codes; one prompt asks for all of them."""
    names = Names(rng, lang)
    fact, ask = _CODE[lang]
    places = [names.place() for _ in depths]
    values = [names.code() for _ in depths]
    needles = [(fact.format(p=p, v=v), d) for p, v, d in zip(places, values, depths)]
    if lang == "en":
        q = "Answer each: " + " ".join(f"({i}) What is {ask.format(p=p)}?" for i, p in enumerate(places, 1))
        answer = "; ".join(values)
    else:
        q = "请分别回答：" + "".join(f"（{i}）{ask.format(p=p)}是什么？" for i, p in enumerate(places, 1))
        answer = "；".join(values)
    return Spec(needles, q, answer, values)


def multi_reasoning(rng: random.Random, lang: str, depths: list[float]) -> Spec:
    """A chain of len(depths) facts (2-4); only its last value answers."""
    hops = len(depths)
    if not 2 <= hops <= 4:
        raise ValueError("multi_reasoning chains 2 to 4 facts")
    names = Names(rng, lang)
    # The horse gets a place-like word in English and a given name in Chinese.
    horse = names.place() if lang == "en" else names.person()[1:]
    slots = {"a": names.person(), "b": names.place(), "c": names.place(), "d": names.person(), "e": horse}
    needles = [(_CHAIN[lang][i].format(**slots), d) for i, d in enumerate(depths)]
    value = slots["bcde"[hops - 1]]
    return Spec(needles, _CHAIN_Q[lang][hops - 2].format(**slots), value, [value])


def decoy(rng: random.Random, lang: str, depths: list[float]) -> Spec:
    """The true fact plus look-alikes placed elsewhere: another place with a
    near-identical name, and the same place with another landmark."""
    names = Names(rng, lang)
    i = rng.randrange(len(_SINGLE[lang]))
    fact, q = _SINGLE[lang][i]
    other_fact = _SINGLE[lang][(i + 1) % len(_SINGLE[lang])][0]
    p = names.place()
    near = p[:-1] + ("a" if p[-1] != "a" else "o") if lang == "en" else p[:-1] + ("坪" if p[-1] != "坪" else "峪")
    v, v_near, v_other = names.person(), names.person(), names.person()
    facts = [fact.format(p=p, v=v), fact.format(p=near, v=v_near), other_fact.format(p=p, v=v_other)]
    # The true fact goes at the requested depth; decoys before and after it.
    spread = [depths[0], (depths[0] + 0.35) % 1.0, (depths[0] + 0.7) % 1.0]
    return Spec(list(zip(facts, spread)), q.format(p=p), v, [v], [v_near, v_other])


# Questions about what the single-fact templates never say: the same subject,
# another attribute (same order as _SINGLE).
_UNSAID = {
    "en": [
        "In which year was the old archive of {p} founded?",
        "What colour is the lighthouse on {p} Point painted?",
        "How tall is the bell tower of {p}?",
    ],
    "zh": ["{p}的旧档案馆是哪一年建立的？", "{p}灯塔被漆成了什么颜色？", "{p}的钟楼有多高？"],
}


def unanswerable(rng: random.Random, lang: str, depths: list[float]) -> Spec:
    """A planted fact and a question it does not answer: about another
    attribute of its subject, or about the same attribute of a place the
    document never mentions. Naming the planted value is wrong."""
    names = Names(rng, lang)
    i = rng.randrange(len(_SINGLE[lang]))
    fact, same_q = _SINGLE[lang][i]
    p, v = names.place(), names.person()
    if rng.random() < 0.5:
        question = _UNSAID[lang][i].format(p=p)
    else:
        question = same_q.format(p=names.place())
    return Spec([(fact.format(p=p, v=v), depths[0])], question, "", [], [v], refusal=True)


def paraphrase(rng: random.Random, lang: str, depths: list[float]) -> Spec:
    names = Names(rng, lang)
    fact, q = rng.choice(PARAPHRASES[lang])
    v = names.place()
    return Spec([(fact.format(v=v), depths[0])], q, v, [v])


BUILDERS: dict[str, Callable[[random.Random, str, list[float]], Spec]] = {
    "single_needle": single_needle,
    "multi_needle": multi_needle,
    "multi_reasoning": multi_reasoning,
    "decoy": decoy,
    "paraphrase": paraphrase,
    "unanswerable": unanswerable,
}


def needle_depths(task: str, depth: float, rng: random.Random, hops: int | None = None) -> list[float]:
    """The depths of a task's needles. Single-fact tasks use `depth`; multi-
    needle tasks spread 2-4 needles far apart (evenly, offset by `depth`);
    a reasoning chain has `hops` facts, or 2-4 drawn at random."""
    if task not in ("multi_needle", "multi_reasoning"):
        return [depth]
    n = (hops or rng.randint(2, 4)) if task == "multi_reasoning" else 3
    step = 1.0 / n
    return [round((depth * step + i * step) % 1.0, 4) for i in range(n)]
