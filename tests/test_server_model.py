"""The server end to end through the real embedded 0.5B model (llama.cpp on the CPU)."""

from __future__ import annotations

import httpx
import openai
import pytest

from live_server import serve, wait_until_indexed
from longdoc.config import Settings
from longdoc.server import create_app

pytestmark = pytest.mark.model

FILLER = [
    "The harbour master logged the arrival of the grain ships before dawn, as he did every spring.",
    "Fishermen mended their nets along the quay while gulls argued over the morning catch.",
    "A cold wind came down from the hills and the market stalls closed early that afternoon.",
    "The town council met on Thursdays to discuss the state of the roads and the price of salt.",
]
NEEDLE = "The lighthouse on Karvo Point is kept by a woman named Edda Marn."


def test_a_planted_fact_comes_back_through_the_openai_client(tmp_path, small_model_path, small_llm):
    paras = [" ".join(FILLER[(i + j) % len(FILLER)] for j in range(3)) for i in range(12)]
    paras.insert(8, NEEDLE)
    settings = Settings(model=str(small_model_path), threads=2, answer_tokens=64, home=tmp_path / "home")
    with serve(create_app(settings, llm=small_llm)) as base:
        r = httpx.post(f"{base}/v1/files", files={"file": ("harbour.txt", "\n\n".join(paras).encode())})
        file_id = r.json()["id"]
        assert wait_until_indexed(base, [file_id], timeout=120)[file_id]["status"] == "ready"
        client = openai.OpenAI(base_url=f"{base}/v1", api_key="unused", max_retries=0, timeout=300)
        stream = client.chat.completions.create(
            model="longdoc-rag",
            messages=[{"role": "user", "content": "Who keeps the lighthouse on Karvo Point?"}],
            stream=True,
            extra_body={"file_ids": [file_id]},
        )
        chunks = list(stream)
    answer = "".join(ch.choices[0].delta.content or "" for ch in chunks)
    assert "Marn" in answer
    final = chunks[-1]
    assert any("Edda Marn" in c["text"] and c["file"] == "harbour.txt" for c in final.citations)
    assert final.longdoc["usage"]["llm_calls"] == 2 and final.usage.prompt_tokens > 0
