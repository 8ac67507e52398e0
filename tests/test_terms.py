from longdoc.index.terms import Analyzer, phrase


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
