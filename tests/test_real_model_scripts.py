"""Level 1 through the real embedded 0.5B model over documents in Russian, Arabic,
Hindi, Japanese and Korean: one planted fact in each (tests/multilingual.py); the
answer must name the keeper and cite the passage that says so."""

import pytest

from longdoc.api import ask
from longdoc.config import load_settings
from multilingual import NEEDLES

pytestmark = pytest.mark.model


@pytest.mark.parametrize("needle", NEEDLES, ids=lambda n: n.lang)
def test_finds_a_planted_fact_in_another_script(needle, tmp_path, small_model_path, small_llm):
    doc = tmp_path / f"harbour-{needle.lang}.txt"
    doc.write_text(needle.haystack(), encoding="utf-8")
    settings = load_settings({"model": str(small_model_path), "threads": 2})[0]
    ans = ask([doc], needle.question, settings, llm=small_llm, mode="rag")
    assert needle.name in ans.answer, ans.answer
    assert any(needle.name in c.text for c in ans.citations), ans.citations
    assert ans.backend_failure is None
