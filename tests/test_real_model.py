"""Level 1 end to end through the real embedded 0.5B model (llama.cpp, on the CPU)."""

import json
import subprocess
import sys

import pytest

from longdoc.api import ask
from longdoc.config import load_settings

pytestmark = pytest.mark.model

EN_FILLER = [
    "The harbour master logged the arrival of the grain ships before dawn, as he did every spring.",
    "Fishermen mended their nets along the quay while gulls argued over the morning catch.",
    "A cold wind came down from the hills and the market stalls closed early that afternoon.",
    "The town council met on Thursdays to discuss the state of the roads and the price of salt.",
    "Children ran along the sea wall, daring each other to touch the spray of the breaking waves.",
    "In the old customs house, clerks copied manifests by lamplight long after the bells had rung.",
]
ZH_FILLER = [
    "港务长每年春天都会在黎明前记录运粮船的到达时间。",
    "渔民们在码头上修补渔网，海鸥为早上的渔获争吵不休。",
    "一阵冷风从山上吹下来，那天下午市场的摊位早早就收了。",
    "镇议会每周四开会，讨论道路的状况和盐的价格。",
    "孩子们沿着海堤奔跑，互相怂恿去摸拍岸浪花溅起的水沫。",
    "在旧海关大楼里，书记员们在灯下抄写货单，直到钟声响过很久。",
]


def _haystack(filler, needle, n, at):
    paras = [" ".join(filler[(i + j) % len(filler)] for j in range(3)) for i in range(n)]
    paras.insert(at, needle)
    return "\n\n".join(paras)


def _settings(model_path):
    return load_settings({"model": str(model_path), "threads": 2})[0]


def test_finds_a_planted_fact_in_an_english_document(tmp_path, small_model_path, small_llm):
    needle = "The lighthouse on Karvo Point is kept by a woman named Edda Marn."
    doc = tmp_path / "harbour.txt"
    doc.write_text(_haystack(EN_FILLER, needle, 60, 41))  # ~4k tokens
    ans = ask([doc], "Who keeps the lighthouse on Karvo Point?", _settings(small_model_path), llm=small_llm)
    assert "Marn" in ans.answer
    assert any("Edda Marn" in c.text for c in ans.citations)
    assert ans.usage.llm_calls == 2 and 0 < ans.usage.prompt_tokens < 8192


def test_finds_a_planted_fact_in_a_chinese_document(tmp_path, small_model_path, small_llm):
    needle = "卡尔沃角灯塔的看守人是一位名叫艾达·马恩的女士。"
    doc = tmp_path / "港口.txt"
    doc.write_text(_haystack(ZH_FILLER, needle, 50, 33))  # ~4k tokens
    ans = ask([doc], "卡尔沃角灯塔的看守人是谁？", _settings(small_model_path), llm=small_llm)
    assert "马恩" in ans.answer
    assert any("马恩" in c.text for c in ans.citations)


def test_cli_json_through_the_real_model(tmp_path, small_model_path, isolated_home):
    needle = "The lighthouse on Karvo Point is kept by a woman named Edda Marn."
    doc = tmp_path / "harbour.txt"
    doc.write_text(_haystack(EN_FILLER, needle, 60, 20))
    bad = tmp_path / "broken.pdf"
    bad.write_bytes(b"%PDF-1.7\n1 0 obj")
    cmd = [
        sys.executable,
        "-m",
        "longdoc",
        "ask",
        "--json",
        "--model",
        str(small_model_path),
        "--threads",
        "2",
        str(doc),
        str(bad),
        "Who keeps the lighthouse on Karvo Point?",
    ]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert set(out) >= {"answer", "mode", "citations", "usage", "timings"}
    assert "Marn" in out["answer"] and out["mode"] == "rag"
    assert out["citations"][0]["file"] == "harbour.txt" and out["citations"][0]["chunk_id"]
    assert out["usage"]["llm_calls"] == 2
    assert len(out["errors"]) == 1 and "broken.pdf" in out["errors"][0]
