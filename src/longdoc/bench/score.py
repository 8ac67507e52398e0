"""Scorers, each 0..1 (hand-worked examples in tests/test_bench_score.py).

- `needlebench`: NeedleBench's keyword score. Per keyword: 1 if it appears in
  the prediction, else 0.2 x the prediction's Levenshtein similarity to the gold
  answer (whitespace removed); averaged over the keywords.
- `lveval`: LV-Eval's two-stage metric. Stage 1 gates: the recall of the answer
  keywords' tokens in the prediction must reach 0.2 (English) or 0.4 (Chinese),
  else 0. Stage 2: token F1 between prediction and gold answer. English tokens
  are lower-cased words without punctuation or articles; Chinese ones are jieba
  words. (LV-Eval's filler-word blacklist is not applied.)
- `recall`: relaxed keyword recall: the fraction of keywords found after NFKC,
  case folding and dropping spaces and punctuation ("K-592" matches "k 592").

An item the document does not answer is scored by `refused`: every score is 1
when the prediction says the documents do not tell (in any common wording,
English or Chinese) and names none of the planted values, else 0.
"""

from __future__ import annotations

import re
import string
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from ..zh_words import words

LVEVAL_GATE = {"en": 0.2, "zh": 0.4}
_PUNCT = set(string.punctuation) | set("，。！？；：、“”‘’（）《》【】—…·「」『』")
_ARTICLES = re.compile(r"\b(a|an|the)\b")


@dataclass(frozen=True)
class Scores:
    needlebench: float
    lveval: float
    recall: float
    decoy_hit: bool  # the prediction names a look-alike fact's value

    def as_dict(self) -> dict[str, float | bool]:
        return {
            "needlebench": self.needlebench,
            "lveval": self.lveval,
            "recall": self.recall,
            "decoy_hit": self.decoy_hit,
        }


def levenshtein(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def needlebench(prediction: str, answer: str, keywords: list[str]) -> float:
    pred = re.sub(r"\s+", "", prediction)
    gold = re.sub(r"\s+", "", answer)
    longest = max(len(pred), len(gold))
    similarity = 1.0 - levenshtein(pred, gold) / longest if longest else 1.0
    lowered = prediction.lower()
    per_keyword = [1.0 if k.lower() in lowered else 0.2 * similarity for k in keywords]
    return sum(per_keyword) / len(per_keyword) if per_keyword else 0.0


def tokens(text: str, lang: str) -> list[str]:
    # Punctuation becomes a space, not nothing: "Z-499；T-378" must stay two answers.
    text = "".join(" " if ch in _PUNCT else ch for ch in text.lower())
    if lang == "zh":
        return [t for t in words(text) if t.strip()]
    return _ARTICLES.sub(" ", text).split()


def f1(pred: list[str], gold: list[str]) -> float:
    common = sum((Counter(pred) & Counter(gold)).values())
    if common == 0:
        return 0.0
    precision, recall_ = common / len(pred), common / len(gold)
    return 2 * precision * recall_ / (precision + recall_)


def lveval(prediction: str, answer: str, keywords: list[str], lang: str) -> float:
    pred = tokens(prediction, lang)
    kw = [t for k in keywords for t in tokens(k, lang)]
    if kw:
        found = sum((Counter(pred) & Counter(kw)).values())
        if found / len(kw) < LVEVAL_GATE[lang]:
            return 0.0
    return f1(pred, tokens(answer, lang))


def _squash(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    return "".join(ch for ch in text if not ch.isspace() and ch not in _PUNCT and unicodedata.category(ch)[0] != "P")


def recall(prediction: str, keywords: list[str]) -> float:
    pred = _squash(prediction)
    return sum(1 for k in keywords if _squash(k) in pred) / len(keywords) if keywords else 0.0


# Ways a reply says the documents do not answer (systems word it differently).
_REFUSALS = re.compile(
    r"\b(?:do(?:es)?|did) not (?:say|state|mention|specify|contain|provide|include|give)|\bno (?:information|mention|answer|details?)\b"
    r"|\bnot (?:mentioned|stated|specified|provided|given|found|available|say)|\bcannot be (?:determined|found|answered)"
    r"|\b(?:doesn't|don't) (?:say|mention|state|contain|provide)|\bunable to (?:find|determine|answer)|\bthere is no\b"
    r"|没有提[到及]|未提[到及]|没有(?:说明|记载|相关|给出|关于|信息)|未(?:说明|记载|给出)|无法(?:确定|回答|得知|找到)|并未|不知道|找不到|没有找到",
    re.IGNORECASE,
)


def refused(prediction: str, planted: Sequence[str] = ()) -> bool:
    """The prediction declines to answer and names no planted value."""
    pred = _squash(prediction)
    return bool(_REFUSALS.search(prediction)) and not any(_squash(v) in pred for v in planted)


def score(
    prediction: str,
    answer: str,
    keywords: list[str],
    lang: str,
    decoy_values: Sequence[str] = (),
    refusal: bool = False,
) -> Scores:
    pred = _squash(prediction)
    if refusal:
        ok = 1.0 if refused(prediction, decoy_values) else 0.0
        return Scores(ok, ok, ok, decoy_hit=any(_squash(v) in pred for v in decoy_values))
    return Scores(
        needlebench=round(needlebench(prediction, answer, keywords), 4),
        lveval=round(lveval(prediction, answer, keywords, lang), 4),
        recall=round(recall(prediction, keywords), 4),
        decoy_hit=any(_squash(v) in pred for v in decoy_values),
    )
