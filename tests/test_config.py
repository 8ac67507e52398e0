import pytest

from longdoc.api import open_store
from longdoc.config import Settings, load_settings
from longdoc.errors import ConfigError
from longdoc.tokens import EstimateCounter


def test_precedence_flag_over_env_over_file_over_default(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.toml").write_text('chunk-size = 300\ncontext_window = 4096\nmodel = "from-file"\n')
    env = {"LONGDOC_HOME": str(home), "LONGDOC_CONTEXT_WINDOW": "6000", "LONGDOC_MODEL": "from-env"}
    s, src = load_settings({"model": "from-flag"}, env=env)
    assert s.model == "from-flag" and src["model"] == "flag"
    assert s.context_window == 6000 and src["context_window"].startswith("env")
    assert s.chunk_size == 300 and src["chunk_size"].startswith("config")
    assert s.answer_tokens == Settings().answer_tokens and src["answer_tokens"] == "default"
    assert s.home == home


def test_bad_values_give_one_line_errors(tmp_path):
    env = {"LONGDOC_HOME": str(tmp_path)}
    with pytest.raises(ConfigError, match="must be a number"):
        load_settings({}, env={**env, "LONGDOC_CHUNK_SIZE": "big"})
    with pytest.raises(ConfigError, match="unknown backend"):
        load_settings({"backend": "gpt"}, env=env)
    with pytest.raises(ConfigError, match="base URL"):
        load_settings({"backend": "openai"}, env=env)
    (tmp_path / "config.toml").write_text("colour = 'blue'\n")
    with pytest.raises(ConfigError, match="unknown setting 'colour'"):
        load_settings({}, env=env)
    with pytest.raises(ConfigError, match="no such file"):
        load_settings({}, env=env, config_file=tmp_path / "nope.toml")


def test_the_reading_window_is_whole_chunks_or_at_least_64_tokens(tmp_path):
    env = {"LONGDOC_HOME": str(tmp_path)}
    assert load_settings({}, env=env)[0].read_window == 256
    assert load_settings({}, env={**env, "LONGDOC_READ_WINDOW": "0"})[0].read_window == 0
    assert load_settings({"read_window": 128}, env=env)[0].read_window == 128
    with pytest.raises(ConfigError, match="read window must be 0"):
        load_settings({"read_window": 32}, env=env)


def test_the_thesaurus_is_wordnet_or_off(tmp_path):
    env = {"LONGDOC_HOME": str(tmp_path)}
    assert load_settings({}, env=env)[0].thesaurus == "wordnet"
    assert load_settings({}, env={**env, "LONGDOC_THESAURUS": "off"})[0].thesaurus == "off"
    with pytest.raises(ConfigError, match="unknown thesaurus 'roget'"):
        load_settings({"thesaurus": "roget"}, env=env)


def test_the_milvus_store_is_chosen_by_setting_and_needs_a_uri(tmp_path):
    env = {"LONGDOC_HOME": str(tmp_path)}
    with pytest.raises(ConfigError, match="needs a URI"):
        load_settings({"store": "milvus"}, env=env)
    with pytest.raises(ConfigError, match=r"must end in \.db"):
        load_settings({"store": "milvus", "milvus_uri": str(tmp_path / "milvus")}, env=env)
    with pytest.raises(ConfigError, match="unknown store"):
        load_settings({"store": "elastic"}, env=env)
    assert [k.name for k in open_store(load_settings({}, env=env)[0], EstimateCounter()).kinds] == ["bm25"]
    env |= {"LONGDOC_STORE": "milvus", "LONGDOC_MILVUS_URI": "~/m.db", "LONGDOC_MILVUS_TOKEN": "u:p"}
    store = open_store(load_settings({}, env=env)[0], EstimateCounter())  # connects on first use, not here
    assert [k.name for k in store.kinds] == ["milvus"]
    assert store.milvus is not None and store.milvus.uri.endswith("/m.db") and "~" not in store.milvus.uri
    assert store.milvus.token == "u:p" and "u:p" not in repr(store.milvus)


def test_budget_leaves_room_for_prompt_and_answer():
    s = Settings(context_window=8192, answer_tokens=512)
    assert s.effective_budget() == 3000
    assert Settings(context_window=2048, answer_tokens=512).effective_budget() == 2048 - 512 - 600
    assert Settings(reading_budget=10_000).effective_budget() == 8192 - 512 - 600
