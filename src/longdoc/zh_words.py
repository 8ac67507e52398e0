"""Chinese text cut into words by jieba's dictionary, each word with the part
of speech the dictionary gives it ("北京" ns, a place; "政府" n).

Chinese writes no spaces and no capitals, so this is how code finds words in
it and tells a name from an ordinary word. One jieba, loaded once a process and
only when Chinese text needs it, serves every caller.
"""

from __future__ import annotations

import logging
from functools import cache
from typing import Any


def words(text: str) -> list[str]:
    """`text` cut into words the way `jieba.lcut` cuts it (dictionary and guesses)."""
    return list(_tagger().tokenizer.cut(text))


def tagged_words(text: str, guess: bool = False) -> list[tuple[str, str]]:
    """`text` cut into (word, tag) pairs in order. By the dictionary alone unless
    `guess`: then jieba's statistical model also joins characters the dictionary
    lacks into words and tags them, which glues names to their neighbours
    ("梓渡" tagged a transliterated name out of "渚梓渡灯塔"); without it, a
    character the dictionary holds no longer word for stands alone."""
    return [(p.word, p.flag) for p in _tagger().cut(text, HMM=guess)]


@cache
def _tagger() -> Any:
    # Building jieba's prefix dictionary takes ~1 s (~0.5 s once its cache file
    # is in the temp folder): loaded the first time Chinese text needs it.
    import jieba
    import jieba.posseg

    logging.getLogger("jieba").setLevel(logging.WARNING)  # its "building prefix dict" chatter
    dictionary = jieba.Tokenizer()
    dictionary.initialize()
    return jieba.posseg.POSTokenizer(dictionary)
