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
    no_documents = tmp_path / "pictures"
    no_documents.mkdir()
    (no_documents / "photo.png").write_bytes(b"\x89PNG")
    bad = [empty, zero_pdf, fake_docx, binary, unsupported, tmp_path / "missing.txt", no_documents]
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
    for path in bad:  # one line each, whichever step found the problem
        (line,) = [e for e in out["errors"] if e.startswith(f"{path}: ")]
        assert "\n" not in line and len(line) < 300
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


def _ask_json(*args, env_home, script, input=None):
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("LONGDOC_")}
    env["LONGDOC_HOME"] = str(env_home)
    r = subprocess.run(
        [sys.executable, "-m", "longdoc", "ask", "--json", "--backend", "scripted", "--model", script, *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        input=input,
    )
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout), r


def test_a_folder_is_read_recursively_and_what_it_skipped_is_counted(tmp_path, haystack, script, isolated_home):
    folder = tmp_path / "folder"
    (folder / "deep" / "er").mkdir(parents=True)
    (folder / ".git").mkdir()
    haystack.rename(folder / "deep" / "er" / "coast.txt")
    (folder / "notes.md").write_text("# Notes\n\nThe tides turn at six.\n")
    (folder / "photo.png").write_bytes(b"\x89PNG")
    (folder / "deep" / "sheet.xlsx").write_bytes(b"PK")
    (folder / "deep" / "more.png").write_bytes(b"\x89PNG")
    (folder / ".git" / "config.txt").write_text("hidden, never indexed")
    out, _ = _ask_json(
        folder, "Who keeps the lighthouse on Karvo Point?", env_home=isolated_home, script=script(PLAN, "Edda Marn [1]")
    )
    assert out["answer"] == "Edda Marn [1]" and out["citations"][0]["file"] == "coast.txt"
    assert out["errors"] == []
    assert f"{folder}: skipped 3 files of unsupported types (2 .png, 1 .xlsx)" in out["notes"]
    assert out["usage"]["chunks_total"] > 2  # coast.txt and notes.md, not the hidden file
    r = run("index", "--json", "--backend", "scripted", folder, env_home=isolated_home)
    assert sorted(d["name"] for d in json.loads(r.stdout)["documents"]) == ["coast.txt", "notes.md"]


def test_same_named_files_are_told_apart_by_their_folders(tmp_path, script, isolated_home):
    for folder in ("north", "south"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "notes.md").write_text(f"The lighthouse on Karvo Point is kept by Edda Marn ({folder}).")
    out, _ = _ask_json(
        tmp_path / "north",
        tmp_path / "south",
        "Who keeps the lighthouse on Karvo Point?",
        env_home=isolated_home,
        script=script(PLAN, "Edda Marn [1] [2]"),
    )
    assert sorted(c["file"] for c in out["citations"]) == ["north/notes.md", "south/notes.md"]


def test_a_url_is_refused_clearly_and_the_other_files_still_answer(haystack, script, isolated_home):
    out, _ = _ask_json(
        "https://example.com/report.pdf",
        haystack,
        "Who keeps the lighthouse on Karvo Point?",
        env_home=isolated_home,
        script=script(PLAN, "Edda Marn [1]"),
    )
    assert out["errors"] == [
        "https://example.com/report.pdf: URLs are not supported yet: download the file and give its path"
    ]
    assert out["answer"] == "Edda Marn [1]"


def test_a_dash_reads_the_document_from_stdin(haystack, script, isolated_home):
    out, _ = _ask_json(
        "-",
        "Who keeps the lighthouse on Karvo Point?",
        env_home=isolated_home,
        script=script(PLAN, "Edda Marn [1]"),
        input=haystack.read_text(),
    )
    assert out["citations"][0]["file"] == "stdin" and "Edda Marn" in out["citations"][0]["text"]


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (["{doc}", "  "], "the question is empty"),
        (["{doc}"], "is a document, not a question"),
        (["{doc}", "{doc}"], "is a document, not a question"),
        (["Who keeps it?"], "no documents given"),
        ([], "give one or more documents"),
    ],
)
def test_a_missing_or_empty_question_is_a_usage_error_with_the_usage_line(haystack, isolated_home, args, reason):
    r = run("ask", "--backend", "scripted", *[a.format(doc=haystack) for a in args], env_home=isolated_home)
    assert r.returncode == 2, r.stderr
    assert reason in r.stderr and "longdoc ask [OPTIONS] PATH... QUESTION" in r.stderr
    assert "Traceback" not in r.stderr


def test_usage_line_version_and_completion_of_paths(isolated_home):
    import os

    from longdoc import __version__

    assert "longdoc ask [OPTIONS] PATH... QUESTION" in run("ask", "--help", env_home=isolated_home).stdout
    for flag in ("--version", "-V"):
        assert run(flag, env_home=isolated_home).stdout.strip() == f"longdoc, version {__version__}"
    env = {**os.environ, "_LONGDOC_COMPLETE": "bash_complete", "COMP_WORDS": "longdoc ask ", "COMP_CWORD": "2"}
    r = subprocess.run(
        [sys.executable, "-c", "from longdoc.cli import main; main(prog_name='longdoc')"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert r.stdout.splitlines()[0] == "file,"  # bash completes the argument as a file path


def test_piped_stderr_is_not_hard_wrapped(tmp_path, haystack, script, isolated_home):
    missing = tmp_path / ("a-rather-long-folder-name-" * 4) / "missing-report-with-a-long-name.pdf"
    r = run(
        "ask",
        "--backend",
        "scripted",
        "--model",
        script(PLAN, "Edda Marn [1]"),
        missing,
        haystack,
        "Who keeps it?",
        env_home=isolated_home,
    )
    assert r.returncode == 0, r.stderr
    line = next(line for line in r.stderr.splitlines() if "missing-report" in line)
    assert str(missing) in line and len(line) > 120


def test_quiet_and_verbose(haystack, script, isolated_home):
    args = [haystack, "Who keeps the lighthouse on Karvo Point?"]
    quiet = run(
        "ask", "-q", "--backend", "scripted", "--model", script(PLAN, "Edda Marn [1]"), *args, env_home=isolated_home
    )
    assert quiet.returncode == 0 and quiet.stderr == ""
    verbose = run(
        "ask", "-v", "--backend", "scripted", "--model", script(PLAN, "Edda Marn [1]"), *args, env_home=isolated_home
    )
    assert "stages: " in verbose.stderr and "generate" in verbose.stderr and "chunks read: " in verbose.stderr


def test_chat_answers_follow_ups_over_one_index(haystack, isolated_home, monkeypatch):
    from click.testing import CliRunner

    from live_server import reader_model
    from longdoc import api
    from longdoc.cli import main
    from longdoc.llm.scripted import ScriptedLLM

    llm = ScriptedLLM(reader_model)
    built = []
    monkeypatch.setattr(api, "llm_from_settings", lambda settings: built.append(1) or llm)
    haystack.write_text(
        haystack.read_text().replace(
            NEEDLE, "The lighthouse on Karvo Point is kept by Edda Marn, who first lit it in 1931."
        )
    )
    questions = "Who keeps the lighthouse on Karvo Point?\n\nWhen did she first light it?\n/exit\nnever asked\n"
    r = CliRunner().invoke(main, ["chat", "--mode", "rag", "--backend", "scripted", str(haystack)], input=questions)
    assert r.exit_code == 0, r.output
    assert "Edda Marn keeps it [1]." in r.output and "She first lit it in 1931 [1]." in r.output
    assert built == [1] and len(llm.calls) == 4  # one model; two questions, two calls each
    follow_up_plan = llm.calls[2].messages[-1].content
    assert "Karvo Point" in follow_up_plan and "When did she first light it?" in follow_up_plan
    assert (isolated_home / "chat_history").read_text().count("first light it") == 1


def test_chat_refuses_a_document_on_stdin(isolated_home):
    r = run("chat", "--backend", "scripted", "-", env_home=isolated_home)
    assert r.returncode == 2 and "reads its questions from stdin" in r.stderr


def test_chat_runs_as_a_command_with_piped_questions(haystack, script, isolated_home):
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("LONGDOC_")}
    env["LONGDOC_HOME"] = str(isolated_home)
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "longdoc",
            "chat",
            "--mode",
            "rag",
            "--backend",
            "scripted",
            "--model",
            str(script(PLAN, "Edda Marn [1].")),
            str(haystack),
        ],
        input="Who keeps the lighthouse on Karvo Point?\n",
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert r.returncode == 0, r.stderr
    assert "Edda Marn [1]." in r.stdout and "coast.txt" in r.stdout
    assert "1 documents" in r.stderr or "1 document" in r.stderr


@pytest.mark.parametrize(
    "home, args",
    [("a-file", ["index", "coast.txt"]), ("a-file/below", ["serve", "--backend", "scripted", "--port", "1"])],
    ids=["index, home is a file", "serve, home below a file"],
)
def test_an_unusable_home_is_a_one_line_usage_error(tmp_path, haystack, home, args):
    (tmp_path / "a-file").write_text("not a directory")
    r = run(*[str(tmp_path / a) if a.endswith(".txt") else a for a in args], env_home=tmp_path / home, timeout=60)
    assert r.returncode == 2, r.stderr
    assert r.stderr.count("\n") == 1 and "LONGDOC_HOME" in r.stderr and "not usable" in r.stderr, r.stderr
    assert "http://" not in r.stderr  # serve said nothing about listening


def test_a_read_only_home_is_named_as_such(tmp_path, monkeypatch):
    import tempfile

    from longdoc.config import ensure_home
    from longdoc.errors import ConfigError

    def read_only(*a, **k):
        raise OSError(30, "Read-only file system")

    monkeypatch.setattr(tempfile, "TemporaryFile", read_only)
    with pytest.raises(ConfigError, match="is not usable: Read-only file system"):
        ensure_home(tmp_path)


def test_a_file_name_that_is_not_utf8_is_indexed_and_shown_escaped(tmp_path, isolated_home):
    import os

    name = os.fsdecode(b"caf\xe9.txt")
    (tmp_path / name).write_text(NEEDLE)
    r = run("index", "--json", tmp_path / name, tmp_path / os.fsdecode(b"missing-\xff.txt"), env_home=isolated_home)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["documents"][0]["file"].endswith("caf\\xe9.txt")
    assert out["errors"] == [str(tmp_path / "missing-\\xff.txt") + ": no such file"]
