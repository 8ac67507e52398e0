"""The one tokenizer for BM25, shared by chunks and queries.

Latin words are lower-cased, stop-worded and Snowball-stemmed; runs of CJK
characters are cut at Chinese function characters and turned into overlapping
bigrams (a lone character stays a unigram). Bigrams match Chinese words of any
segmentation without a dictionary and run far faster than jieba; that speed is
what lets a million-token document index in about a second. BM25 needs a bag
of terms, not their order, so Latin and CJK terms are collected in two passes.
"""

from __future__ import annotations

import re

import Stemmer
from bm25s.stopwords import STOPWORDS_EN_PLUS

_LATIN = re.compile(r"[0-9a-z\u00c0-\u024f]+")
_CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3040-\u30ff\uac00-\ud7af]+")

_EN_STOP = frozenset(STOPWORDS_EN_PLUS) | frozenset(
    "also would could may might shall must get got s t d ll ve re".split()
)
# Function characters that never carry the topic; a CJK run is cut at them so
# they do not glue content words into meaningless bigrams. Other common
# bigrams are left to BM25's IDF, which weighs them near zero.
_ZH_STOP_CHARS = "的了是在和与及或也都着之这那吗呢吧啊把被很又还我你他她它们"
_ZH_CUT = str.maketrans({c: " " for c in _ZH_STOP_CHARS})


class Analyzer:
    """Turns text into BM25 terms. Cheap to build; caches stems per word."""

    def __init__(self) -> None:
        self._stemmer = Stemmer.Stemmer("english")
        self._stems: dict[str, str] = {}

    def terms(self, text: str) -> list[str]:
        low = text.lower()
        words = [w for w in _LATIN.findall(low) if w not in _EN_STOP]
        stems = self._stems
        new = {w for w in words if w not in stems and not w.isdigit()}
        if new:
            new_list = list(new)
            stems.update(zip(new_list, self._stemmer.stemWords(new_list)))
        out = [w if w.isdigit() else stems[w] for w in words]
        for run in _CJK_RUN.findall(low.translate(_ZH_CUT)):
            if len(run) == 1:
                out.append(run)
            else:
                out.extend(map(str.__add__, run, run[1:]))
        return out


def phrase(text: str) -> str | None:
    """The lower-cased form of a multi-word keyword, worth matching verbatim."""
    p = " ".join(text.lower().split())
    return p if " " in p and len(p) >= 5 else None
