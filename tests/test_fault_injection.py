"""The whole pipeline (`api.ask`, Level 1) against an OpenAI-compatible endpoint
that misbehaves: a real HTTP server on 127.0.0.1 (tests/test_llm.py's FakeServer)
answering with 429 and Retry-After, 5xx, garbage, cut streams, or nothing at all.
Each fault is retried; when the retries run out the answer degrades: it says
what failed, and still cites the best passages it read."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from longdoc.api import ask
from longdoc.config import Settings
from longdoc.llm.openai_compat import OpenAICompatLLM
from longdoc.llm.retry import RetryPolicy
from test_llm import FakeServer, Reply, SleepLog, chat_body, json_reply, sse_reply

NEEDLE = "The lighthouse on Karvo Point is kept by Edda Marn."
QUESTION = "Who keeps the lighthouse on Karvo Point?"
PLAN = json.dumps({"information": QUESTION, "instruction": "", "keywords_en": ["Karvo Point", "lighthouse"]})


@pytest.fixture
def endpoint() -> Iterator[FakeServer]:
    srv = FakeServer()
    yield srv
    srv.close()


def _ask(server: FakeServer, tmp_path, timeout: float = 5.0, stream: bool = False):
    doc = tmp_path / "coast.txt"
    paras = [f"Paragraph {i} is about the harbour and the tides of the northern coast." for i in range(200)]
    paras.insert(150, NEEDLE)
    doc.write_text("\n\n".join(paras))
    sleeps = SleepLog()
    llm = OpenAICompatLLM(
        server.base_url, "m", timeout=timeout, retry=RetryPolicy(max_attempts=3, sleep=sleeps, rand=lambda: 0.5)
    )
    settings = Settings(backend="openai", base_url=server.base_url, home=tmp_path / "home")
    tokens: list[str] = []
    answer = ask([doc], QUESTION, settings, mode="rag", llm=llm, on_token=tokens.append if stream else None)
    return answer, sleeps, tokens


def test_429_with_retry_after_and_5xx_are_retried_then_answered(endpoint, tmp_path):
    endpoint.replies = [
        json_reply({"error": {"message": "slow down"}}, 429, {"Retry-After": "2"}),
        json_reply(chat_body(PLAN)),
        Reply(502, b"<html>bad gateway</html>"),
        Reply(503, b""),
        json_reply(chat_body("Edda Marn keeps it [1].")),
    ]
    answer, sleeps, _ = _ask(endpoint, tmp_path)
    assert answer.answer == "Edda Marn keeps it [1]." and answer.backend_failure is None
    assert sleeps.delays[0] == 2.0 and len(sleeps.delays) == 3
    assert NEEDLE in answer.citations[0].text


def test_garbage_then_failures_degrade_to_the_best_passages_with_the_reason(endpoint, tmp_path):
    endpoint.replies = [
        Reply(200, b"{not json", {"Content-Type": "application/json"}),
        json_reply({"choices": "nope"}),
        Reply(200, b"<html>", {"Content-Type": "text/html"}),
    ] + [Reply(500, b"boom")] * 3
    answer, _, _ = _ask(endpoint, tmp_path)
    assert any("keyword step skipped" in n for n in answer.notes), answer.notes
    assert (
        answer.backend_failure is not None
        and "500" in answer.backend_failure
        and "3 attempts" in answer.backend_failure
    )
    assert answer.answer.startswith("(The model could not answer:") and "passages are cited below" in answer.answer
    assert answer.citations and NEEDLE in answer.citations[0].text  # found by the question's own words
    assert answer.usage.chunks_read >= 1


def test_an_endpoint_that_never_answers_times_out_and_degrades(endpoint, tmp_path):
    endpoint.replies = [Reply(delay=3.0, body=b"late")] * 6
    answer, _, _ = _ask(endpoint, tmp_path, timeout=0.5)
    assert "timed out" in (answer.backend_failure or "")
    assert answer.citations and NEEDLE in answer.citations[0].text


def test_cut_streams_are_retried_before_the_first_token(endpoint, tmp_path):
    endpoint.replies = [
        json_reply(chat_body(PLAN)),
        Reply(events=[json.dumps({"choices": []})], end_stream=False),
        Reply(events=["{garbled"]),
        sse_reply(["Edda Marn ", "keeps it [1]."]),
    ]
    answer, _, tokens = _ask(endpoint, tmp_path, stream=True)
    assert tokens == ["Edda Marn ", "keeps it [1]."]
    assert answer.answer == "Edda Marn keeps it [1]." and answer.backend_failure is None
