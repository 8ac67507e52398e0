from longdoc.tokens import EstimateCounter


def test_estimate_counts_cjk_per_character_and_words_at_least_once():
    e = EstimateCounter()
    assert e.count("") == 0
    assert e.count("长城位于中国北方。") == 9
    assert e.count("a b c") == 3
    assert e.count("internationalization") == 5
    assert e.count("2024") == 4  # digits are single tokens in Qwen-style vocabularies
