"""Runner (scripted LLM): scores, caches per item, resumes after an interruption;
the report writes its tables and plots."""

from __future__ import annotations

import json

import pytest

import longdoc
from longdoc.bench.generate import GenConfig, generate, load_items
from longdoc.bench.report import write_report
from longdoc.bench.run import FULL, cache_path, check_system, fit_middle_out, load_records, run
from longdoc.config import Settings
from longdoc.errors import ConfigError
from longdoc.llm.scripted import ScriptedLLM
from longdoc.tokens import EstimateCounter


class Reader:
    """Answers with the first planted fact it can see in the prompt: a model
    that reads perfectly, so scores show what reached the prompt."""

    def __init__(self, needles: list[str], interrupt_on: int | None = None):
        self.needles, self.interrupt_on, self.calls = needles, interrupt_on, 0

    def __call__(self, messages) -> str:
        self.calls += 1
        if self.calls == self.interrupt_on:
            raise KeyboardInterrupt
        text = "\n".join(m.content for m in messages)
        return next((n for n in self.needles if n in text), "I do not know.")


@pytest.fixture()
def items_dir(tmp_path):
    d = tmp_path / "items"
    generate(
        GenConfig(lengths=[1500, 12000], depths=[50], tasks=["single_needle", "decoy"], langs=["en"], seed=5),
        d,
        EstimateCounter(),
    )
    return d


def _settings(tmp_path) -> Settings:
    return Settings(backend="scripted", model="reader", home=tmp_path / "home")


def _needles(items_dir) -> list[str]:
    return [n for i in load_items(items_dir) for n in i.needles[:1]]


def test_check_system_accepts_modes_variants_baseline_and_reference():
    for s in ("rag", "read:all", "read:ranked", "agent", "auto", "full", "qwen-agent:assistant", "qwen-agent:parallel"):
        check_system(s)
    for bad in ("nope", "rag:sideways", "qwen-agent:other"):
        with pytest.raises(ConfigError):
            check_system(bad)


def test_full_context_keeps_head_and_tail():
    c = EstimateCounter()
    text = " ".join(f"w{i}" for i in range(3000))
    cut = fit_middle_out(text, 500, c)
    assert c.count(cut) <= 500 and cut.startswith("w0 ") and cut.endswith(" w2999") and "w1500 " not in cut


def test_run_scores_and_resumes_after_interrupt(items_dir, tmp_path):
    out = tmp_path / "results"
    settings = _settings(tmp_path)
    systems = ["rag", FULL]
    reader = Reader(_needles(items_dir), interrupt_on=5)
    with pytest.raises(KeyboardInterrupt):
        run(items_dir, systems, out, settings, llm=ScriptedLLM(reader))
    done = {p.stem for p in (out / "raw").rglob("*.json")}
    assert 0 < len(done) < 8 and not list((out / "raw").rglob("*.tmp*"))

    reader2 = Reader(_needles(items_dir))
    new = run(items_dir, systems, out, settings, llm=ScriptedLLM(reader2))
    assert len(new) == 8 - len(done)
    records = load_records(out)
    assert len(records) == 8
    # nothing cached is answered again
    assert run(items_dir, systems, out, settings, llm=ScriptedLLM(Reader([], interrupt_on=1))) == []

    by = {(r.system, r.item): r for r in records}
    # the full-context baseline sees a short document whole, and the middle of a long one not at all
    assert by[(FULL, "single_needle-en-1500-d050")].recall == 1.0
    assert by[(FULL, "single_needle-en-12k-d050")].recall == 0.0
    assert by[(FULL, "single_needle-en-12k-d050")].prompt_tokens > 5000
    for r in records:
        assert r.llm_calls >= 1 and r.wall_s >= 0 and r.model
        assert r.version.startswith(longdoc.__version__)  # in a checkout, also "+g<commit>"
    rag = by[("rag", "single_needle-en-12k-d050")]
    assert rag.chunks_total and rag.chunks_total > 1
    saved = json.loads(cache_path(out, "rag", "single_needle-en-12k-d050").read_text(encoding="utf-8"))
    assert saved["recall"] == rag.recall
    # the level that answered, and its notes, are kept so a failure's step can be read later
    assert rag.mode == "rag" and saved["mode"] == "rag" and isinstance(saved["notes"], list)


def test_report_writes_tables_and_plots(items_dir, tmp_path):
    out = tmp_path / "results"
    run(items_dir, ["rag", FULL], out, _settings(tmp_path), llm=ScriptedLLM(Reader(_needles(items_dir))))
    rep = write_report(out)
    md = (out / "report.md").read_text(encoding="utf-8")
    assert md == rep.markdown
    assert "| rag | 4 |" in md and "| full | 4 |" in md
    assert "| single_needle | en | 12k |" in md and "| decoy | en | 1500 |" in md
    names = sorted(p.name for p in rep.images)
    assert names == ["heatmap-full.png", "heatmap-rag.png", "prompt-tokens.png"]
    for p in rep.images:
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and p.stat().st_size < 200_000


def test_cli_generate_run_report(tmp_path):
    from click.testing import CliRunner

    from longdoc.cli import main

    cli = CliRunner()
    items, out = tmp_path / "items", tmp_path / "out"
    common = ["--backend", "scripted", "--model", "echo"]
    r = cli.invoke(
        main,
        [
            "bench",
            "generate",
            "--out",
            str(items),
            "--lengths",
            "1500",
            "--depths",
            "0,100",
            "--tasks",
            "single_needle",
            "--langs",
            "en,zh",
            *common,
        ],
    )
    assert r.exit_code == 0, r.output
    assert len(load_items(items)) == 4
    r = cli.invoke(main, ["bench", "run", "--out", str(out), "--items", str(items), "--systems", "rag,full", *common])
    assert r.exit_code == 0, r.output
    assert "8 new results" in r.output and "| single_needle | zh | 1500 |" in r.output
    # the baseline hands the whole short document to the model
    assert all(rec.prompt_tokens > 1500 for rec in load_records(out) if rec.system == FULL)
    # a scorer change: rescoring rewrites the cached scores from the cached answers, no model needed
    path = cache_path(out, "rag", "single_needle-en-1500-d000")
    tampered = {**json.loads(path.read_text(encoding="utf-8")), "recall": 0.123}
    path.write_text(json.dumps(tampered), encoding="utf-8")
    r = cli.invoke(main, ["bench", "report", "--out", str(out), "--rescore", "--items", str(items)])
    assert r.exit_code == 0 and (out / "heatmap-rag.png").is_file()
    assert json.loads(path.read_text(encoding="utf-8"))["recall"] != 0.123
    r = cli.invoke(main, ["bench", "run", "--out", str(out), "--items", str(items), "--systems", "bogus", *common])
    assert r.exit_code == 2 and "unknown system" in r.output


def test_failed_items_are_recorded_then_retried(items_dir, tmp_path):
    out = tmp_path / "results"
    settings = _settings(tmp_path)
    first = run(items_dir, [FULL], out, settings, llm=ScriptedLLM(Reader(_needles(items_dir)), fail_on=[1]))
    assert [r.error is not None for r in first] == [True, False, False, False]
    again = run(items_dir, [FULL], out, settings, llm=ScriptedLLM(Reader(_needles(items_dir))))
    assert [r.item for r in again] == [first[0].item] and again[0].error is None
