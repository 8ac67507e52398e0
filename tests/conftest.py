"""Shared fixtures. Real-model tests load the 0.5B embedded model once per session
where `scripts/setup` assembled it (~/.longdoc/models, shared by every LONGDOC_HOME)."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(autouse=True)
def isolated_home(tmp_path, monkeypatch):
    """Every test gets its own LONGDOC_HOME, so no test sees another's index."""
    home = tmp_path / "longdoc-home"
    monkeypatch.setenv("LONGDOC_HOME", str(home))
    for k in list(os.environ):
        if k.startswith("LONGDOC_") and k != "LONGDOC_HOME":
            monkeypatch.delenv(k)
    return home


@pytest.fixture(scope="session")
def small_model_path():
    from longdoc.config import home_dir
    from longdoc.llm.models import MODELS, ready_model

    # The session's real home, read before any test changes LONGDOC_HOME.
    return ready_model(MODELS["qwen2.5-coder-0.5b"], home_dir())


@pytest.fixture(scope="session")
def small_llm(small_model_path):
    from longdoc.llm.embedded import EmbeddedLLM

    return EmbeddedLLM(small_model_path, context_window=8192, threads=2)


@pytest.fixture(scope="session")
def default_llm():
    """The default 1.5B model: for the tests the 0.5B cannot pass (paraphrase reading, multi-hop)."""
    from longdoc.config import home_dir
    from longdoc.llm.embedded import EmbeddedLLM
    from longdoc.llm.models import MODELS, ready_model

    return EmbeddedLLM(ready_model(MODELS["qwen2.5-coder-1.5b"], home_dir()), context_window=8192, threads=2)
