"""The CLI as users run it: a subprocess, exit codes, stdout/stderr, with the scripted backend."""

import json
import subprocess
import sys

import pytest

NEEDLE = "The lighthouse on Karvo Point is kept by Edda Marn."
PLAN = json.dumps(
    {"information": "Who keeps the lighthouse on Karvo Point?", "keywords_en": ["Karvo Point", "lighthouse"]}
)


def run(*args, env_home, timeout=120):
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("LONGDOC_")}
    env["LONGDOC_HOME"] = str(env_home)
    return subprocess.run(
        [sys.executable, "-m", "longdoc", *map(str, args)], capture_output=True, text=True, timeout=timeout, env=env
    )


@pytest.fixture
def script(tmp_path):
    def make(*replies):
        p = tmp_path / "replies.json"
        p.write_text(json.dumps(list(replies)))
        return p

    return make


@pytest.fixture
def haystack(tmp_path):
    paras = [f"Paragraph {i} is about the harbour and the tides of the northern coast." for i in range(300)]
    paras.insert(200, NEEDLE)
    f = tmp_path / "coast.txt"
    f.write_text("\n\n".join(paras))
    return f


def test_ask_json_shape(haystack, script, isolated_home):
    r = run(
        "ask",
        "--json",
        "--backend",
        "scripted",
        "--model",
        script(PLAN, "Edda Marn keeps it [1]."),
        haystack,
        "Who keeps the lighthouse on Karvo Point?",
        env_home=isolated_home,
    )
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["answer"] == "Edda Marn keeps it [1]."
    assert out["mode"] == "rag"
    assert out["citations"][0]["file"] == "coast.txt"
    assert out["citations"][0]["page"] is None
    assert out["citations"][0]["chunk_id"].endswith(tuple("0123456789"))
    assert "Edda Marn" in out["citations"][0]["text"]
    assert out["usage"]["llm_calls"] == 2 and out["usage"]["prompt_tokens"] > 0
    assert {"plan", "retrieve", "generate", "index"} <= set(out["timings"])
    assert "Traceback" not in r.stderr


def test_ask_plain_streams_answer_then_sources(haystack, script, isolated_home):
    r = run(
        "ask",
        "--backend",
        "scripted",
        "--model",
        script(PLAN, "Edda Marn keeps it [1]."),
        haystack,
        "Who keeps the lighthouse on Karvo Point?",
        env_home=isolated_home,
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("Edda Marn keeps it [1].")
    assert "Sources" in r.stdout and "coast.txt" in r.stdout
    assert "LLM calls" in r.stderr


def test_bad_inputs_each_get_one_line_and_the_good_file_still_answers(tmp_path, haystack, script, isolated_home):
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    zero_pdf = tmp_path / "zero.pdf"
    zero_pdf.write_bytes(b"")
    fake_docx = tmp_path / "fake.docx"
    fake_docx.write_text("not a zip at all")
    binary = tmp_path / "image.txt"
    binary.write_bytes(bytes(range(256)) * 40)
    unsupported = tmp_path / "data.xyz"
    unsupported.write_text("hello")
    bad = [empty, zero_pdf, fake_docx, binary, unsupported, tmp_path / "missing.txt", tmp_path]
    r = run(
        "ask",
        "--json",
        "--backend",
        "scripted",
        "--model",
        script(PLAN, "Edda Marn [1]"),
        *bad,
        haystack,
        "Who keeps the lighthouse on Karvo Point?",
        env_home=isolated_home,
    )
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["answer"] == "Edda Marn [1]"
    assert len(out["errors"]) == len(bad)
    for path, line in zip(bad, out["errors"]):
        assert str(path) in line and "\n" not in line and len(line) < 300
    assert "Traceback" not in r.stderr


def test_only_bad_inputs_exit_3(tmp_path, script, isolated_home):
    empty = tmp_path / "empty.txt"
    empty.write_text("   \n")
    r = run("ask", "--backend", "scripted", "--model", script(PLAN), empty, "Who?", env_home=isolated_home)
    assert r.returncode == 3
    assert "empty.txt" in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_usage_errors_exit_2(haystack, isolated_home):
    assert run("ask", "--backend", "openai", haystack, "q", env_home=isolated_home).returncode == 2
    assert run("ask", "only-a-question", env_home=isolated_home).returncode == 2


def test_unreachable_endpoint_exits_4_with_one_line(haystack, isolated_home):
    r = run(
        "ask",
        "--backend",
        "openai",
        "--base-url",
        "http://127.0.0.1:9/v1",
        haystack,
        "What about the harbour tides?",
        env_home=isolated_home,
    )
    assert r.returncode == 4, r.stderr
    assert "could not answer" in r.stdout and "coast.txt" in r.stdout  # the best passages are still shown
    assert "Traceback" not in r.stderr


def test_index_reports_then_reuses(haystack, isolated_home):
    first = run("index", "--json", "--backend", "scripted", haystack, env_home=isolated_home)
    assert first.returncode == 0, first.stderr
    doc = json.loads(first.stdout)["documents"][0]
    assert doc["cached"] is False and doc["chunks"] >= 2
    second = json.loads(run("index", "--json", "--backend", "scripted", haystack, env_home=isolated_home).stdout)
    assert second["documents"][0]["cached"] is True and second["documents"][0]["key"] == doc["key"]
    haystack.write_text(haystack.read_text() + "\n\nOne more line.")
    third = json.loads(run("index", "--json", "--backend", "scripted", haystack, env_home=isolated_home).stdout)
    assert third["documents"][0]["cached"] is False


def test_config_shows_sources(isolated_home):
    isolated_home.mkdir(parents=True, exist_ok=True)
    (isolated_home / "config.toml").write_text("chunk_size = 300\n")
    r = run("config", "--model", "x.gguf", env_home=isolated_home)
    assert r.returncode == 0, r.stderr
    lines = {line.split()[0]: line for line in r.stdout.splitlines()}
    assert "(flag)" in lines["model"] and "config" in lines["chunk_size"] and "(default)" in lines["backend"]


def test_help_offers_the_backends_and_modes_of_their_tables(isolated_home):
    from longdoc.agents.modes import MODES
    from longdoc.llm.backends import BACKENDS

    r = run("ask", "--help", env_home=isolated_home)
    assert r.returncode == 0, r.stderr
    text = " ".join(r.stdout.split())
    assert "[embedded|openai]" in text and "scripted" not in text  # the test backend is not offered
    assert all(b.description in text for b in BACKENDS.values() if b.offered)
    assert f"[{'|'.join(MODES)}]" in text and "[default: auto]" in text
