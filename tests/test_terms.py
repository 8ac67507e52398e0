import pytest

from longdoc.chunk import ChunkSettings
from longdoc.index.store import IndexStore
from longdoc.index.terms import Analyzer, phrase
from longdoc.tokens import EstimateCounter
from multilingual import NEEDLES


def test_english_terms_are_stemmed_and_stopworded():
    a = Analyzer()
    assert a.terms("The lighthouses were standing on the points") == ["lighthous", "stand", "point"]


def test_query_and_text_share_one_tokenizer_so_inflections_match():
    a = Analyzer()
    assert a.terms("archivists catalogued") == a.terms("archivist catalogue")
    assert a.terms("Running") == a.terms("runs")


def test_chinese_becomes_bigrams_cut_at_function_characters():
    a = Analyzer()
    assert a.terms("长城的历史") == ["长城", "历史"]
    assert a.terms("北京大学") == ["北京", "京大", "大学"]
    # a lone character between function characters stays a unigram
    assert a.terms("的书的") == ["书"]


def test_mixed_text_keeps_numbers_and_both_scripts():
    terms = Analyzer().terms("2019年 Lumen公司 water")
    assert "2019" in terms and "lumen" in terms and "公司" in terms and "water" in terms


def test_phrase_only_for_multi_word_keywords():
    assert phrase("Karvo  Point") == "karvo point"
    assert phrase("lighthouse") is None


# ---------------------------------------------------------------- other scripts


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Маяк на мысе Карво", ["маяк", "на", "мысе", "карво"]),
        ("ΟΔΟΣ Οδός", ["οδοσ", "οδόσ"]),  # case-folded: the final sigma matches the medial one
        ("مَرْحَبًا بالعالم", ["مَرْحَبًا", "بالعالم"]),  # the harakat stay inside the word
        ("हिन्दी भाषा", ["हिन्दी", "भाषा"]),  # so do Devanagari vowel signs
        ("שלום עולם", ["שלום", "עולם"]),
        ("ภาษาไทย", ["ภา", "าษ", "ษา", "าไ", "ไท", "ทย"]),  # no spaces between Thai words: bigrams
        ("٢٠١٩ ১২৩", ["٢٠١٩", "১২৩"]),
    ],
)
def test_other_scripts_become_terms(text, expected):
    assert Analyzer().terms(text) == expected


def test_kana_and_hangul_are_bigrams_like_chinese():
    a = Analyzer()
    assert a.terms("カルボ岬") == ["カル", "ルボ", "ボ岬"]
    assert a.terms("등대지기") == ["등대", "대지", "지기"]


def test_fullwidth_digits_and_letters_are_the_terms_of_their_ascii_twins():
    # Mainland Chinese text writes "１９９８年" and "ＤＶＤ"; a question or a model writes "1998年".
    a = Analyzer()
    assert a.terms("２０１９年①公司") == a.terms("2019年①公司") == ["2019", "年", "公司"]
    assert a.terms("ＤＶＤ影碟机") == ["dvd", "影碟", "碟机"]
    assert phrase("Ｋａｒｖｏ　Ｐｏｉｎｔ") == "karvo point"


def test_circled_characters_add_no_terms_to_chinese_text():
    # The pass for other scripts leaves Common characters alone, so Chinese text keeps its terms.
    assert Analyzer().terms("①公司②") == ["公司"]


@pytest.mark.parametrize("text", ["🙂🙂 🎉", "!!! ... ---", "the and of it"])
def test_text_without_searchable_words_has_no_terms(text):
    assert Analyzer().terms(text) == []


@pytest.mark.parametrize("needle", NEEDLES, ids=lambda n: n.lang)
def test_the_needle_ranks_first_for_the_question_in_its_language(needle, tmp_path):
    doc = tmp_path / f"harbour-{needle.lang}.txt"
    doc.write_text(needle.haystack(), encoding="utf-8")
    store = IndexStore(tmp_path / "index", EstimateCounter(), ChunkSettings(size=128, overlap=16))
    indexed = store.add(doc)
    assert len(indexed.chunks) > 10
    hits = store.corpus([indexed]).search(needle.question, k=5)
    assert needle.needle in hits[0].chunk.text
    assert needle.name in hits[0].chunk.text


def test_a_year_asked_in_ascii_digits_finds_the_chunk_that_writes_it_fullwidth(tmp_path):
    doc = tmp_path / "news.txt"
    filler = "".join(f"第{i}段：今天天气晴朗，市场平稳，群众生活安定。" for i in range(60))
    doc.write_text(filler + "梁惠珍１９５４年开始行医，做了４３年医生。" + filler, encoding="utf-8")
    store = IndexStore(tmp_path / "index", EstimateCounter(), ChunkSettings(size=64, overlap=8))
    indexed = store.add(doc)
    hits = store.corpus([indexed]).search("谁在1954年开始行医？", k=3)
    assert "１９５４年" in hits[0].chunk.text
    hits = store.corpus([store.add(doc)]).search("1954", k=3)  # loaded back from disk
    assert hits and "１９５４年" in hits[0].chunk.text


def test_documents_without_searchable_words_index_and_find_nothing(tmp_path):
    store = IndexStore(tmp_path / "index", EstimateCounter(), ChunkSettings(size=128, overlap=16))
    emoji = tmp_path / "emoji.txt"
    emoji.write_text("🙂🙂🙂 🎉 !!!\n", encoding="utf-8")
    english = tmp_path / "coast.txt"
    english.write_text("The lighthouse on Karvo Point is kept by Edda Marn.", encoding="utf-8")
    only_emoji = store.add(emoji)
    assert store.corpus([only_emoji]).search("lighthouse", k=5) == []
    assert store.corpus([only_emoji]).search("lighthouse", k=5) == []  # loaded back from disk
    both = store.corpus([only_emoji, store.add(english)])
    assert [h.chunk.doc for h in both.search("Who keeps the lighthouse?", k=5)] == ["coast.txt"]
