"""The one tokenizer for BM25, shared by chunks and queries.

Latin words are lower-cased, stop-worded and Snowball-stemmed; runs of CJK
characters (Han, kana, Hangul syllables) are cut at Chinese function
characters and turned into overlapping bigrams (a lone character stays a
unigram). Bigrams match Chinese words of any segmentation without a
dictionary and run far faster than jieba; that speed is what lets a
million-token document index in about a second. BM25 needs a bag of terms,
not their order, so the passes below collect their terms one after another.

Every other script is searchable too: words of space-separated scripts
(Cyrillic, Greek, Arabic, Hebrew, Devanagari and the other Indic scripts, ...)
are Unicode letter runs with their combining marks, case-folded; scripts
written without spaces (Thai, Lao, Khmer, Myanmar) become character bigrams,
as CJK does. That pass only runs on text that is not pure ASCII, and it skips
the characters the first two passes own, so English and Chinese terms are
exactly what they were before it existed.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter

import regex
import Stemmer

from ..widths import fold_width

_LATIN = re.compile(r"[0-9a-z\u00c0-\u024f]+")
_CJK_RANGES = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3040-\u30ff\uac00-\ud7af"
_CJK_RUN = re.compile(f"[{_CJK_RANGES}]+")

# A letter or digit the Latin and CJK passes do not own. Latin, Han, kana and
# Common characters (fullwidth digits, circled numbers) are left out: adding
# terms for them would change the terms of English and Chinese text.
_OTHER_BASE = (
    rf"[\p{{L}}\p{{N}}--\p{{Latin}}--\p{{Han}}--\p{{Hiragana}}--\p{{Katakana}}--\p{{Common}}--[{_CJK_RANGES}]]"
)
# A word starts with such a character and keeps the combining marks after it
# (Devanagari vowel signs, Arabic harakat), which Python's `\w` would cut at.
_OTHER_WORD = regex.compile(rf"{_OTHER_BASE}(?:{_OTHER_BASE}|\p{{M}})*", regex.VERSION1)
_UNSPACED = regex.compile(r"[\p{Thai}\p{Lao}\p{Khmer}\p{Myanmar}]")
# Characters that can never start such a word (ASCII, Latin letters, CJK and the
# punctuation and fullwidth forms Chinese text uses): the standard `re` finds
# the first other one far faster than `regex` scans a Chinese chunk.
_MAYBE_OTHER = re.compile(f"[^\x00-\u024f{_CJK_RANGES}\u2000-\u206f\u3000-\u303f\uff00-\uffef]")

# bm25s's STOPWORDS_EN_PLUS, copied (tests/test_startup.py checks it still is):
# importing it from there loads bm25s, numpy and scipy, which an unchanged
# document's `longdoc index` never needs.
STOPWORDS_EN_PLUS = (
    "a about above after again against ain all am an and any are aren aren't as at be because been "
    "before being below between both but by can couldn couldn't d did didn didn't do does doesn "
    "doesn't doing don don't down during each few for from further had hadn hadn't has hasn hasn't "
    "have haven haven't having he her here hers herself him himself his how i if in into is isn isn't "
    "it it's its itself just ll m ma me mightn mightn't more most mustn mustn't my myself needn "
    "needn't no nor not now o of off on once only or other our ours ourselves out over own re s same "
    "shan shan't she she's should should've shouldn shouldn't so some such t than that that'll the "
    "their theirs them themselves then there these they this those through to too under until up ve "
    "very was wasn wasn't we were weren weren't what when where which while who whom why will with "
    "won won't wouldn wouldn't y you you'd you'll you're you've your yours yourself yourselves "
).split()
EN_STOPWORDS = frozenset(STOPWORDS_EN_PLUS) | frozenset(
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
        low = fold_width(text).lower()
        words = [w for w in _LATIN.findall(low) if w not in EN_STOPWORDS]
        stems = self._stems
        new = {w for w in words if w not in stems and not w.isdigit()}
        if new:
            new_list = list(new)
            stems.update(zip(new_list, self._stemmer.stemWords(new_list)))
        out = [w if w.isdigit() else stems[w] for w in words]
        for run in _CJK_RUN.findall(low.translate(_ZH_CUT)):
            _add_grams(out, run)
        if not low.isascii() and _MAYBE_OTHER.search(low):
            for word in _OTHER_WORD.findall(low):
                word = word.casefold()
                if _UNSPACED.match(word):
                    _add_grams(out, word)
                else:
                    out.append(word)
        return out


def _add_grams(out: list[str], run: str) -> None:
    """Overlapping character bigrams of `run`; a lone character stays a unigram."""
    if len(run) == 1:
        out.append(run)
    else:
        out.extend(map(str.__add__, run, run[1:]))


def has_cjk(text: str) -> bool:
    """Whether `text` holds Chinese, Japanese or Korean characters."""
    return _CJK_RUN.search(text) is not None


def phrase(text: str) -> str | None:
    """The lower-cased form of a multi-word keyword, worth matching verbatim."""
    p = " ".join(fold_width(text).lower().split())
    return p if " " in p and len(p) >= 5 else None


_LETTERS = re.compile(r"[a-z\u00c0-\u024f]+")


def script_of(text: str) -> str:
    """The script most of `text` is written in: "latin", "cjk" (Han, kana,
    Hangul), or another script's lower-cased Unicode name ("cyrillic",
    "arabic", ...); "" when it has no letters. Words are counted, and each CJK
    character as one: a Chinese question naming "Karvo Point" is Chinese."""
    low = text.lower()
    counts: Counter[str] = Counter()
    counts["latin"] = len(_LETTERS.findall(low))
    counts["cjk"] = sum(map(len, _CJK_RUN.findall(low)))
    if not low.isascii() and _MAYBE_OTHER.search(low):
        for word in _OTHER_WORD.findall(low):
            counts[unicodedata.name(word[0], "?").split()[0].lower()] += 1
    script, n = counts.most_common(1)[0]
    return script if n else ""
