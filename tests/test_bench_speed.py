"""`longdoc bench speed` without a model (bench/speed.py): the variant and
context parsers, the speed-ups in the table, the CLI wiring, one pass of the
measurements over a fake llama and the scripted oracle, and the KV-cache reuse
the embedded backend reports (llm/embedded.py). Nothing here is timed: the
clock is a counter."""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from longdoc.bench.speed import (
    Plan,
    Result,
    SpeedReport,
    Variant,
    describe,
    parse_contexts,
    parse_variant,
    parse_variants,
    rows,
    run,
    speedup,
)
from longdoc.cli import main
from longdoc.config import Settings
from longdoc.errors import ConfigError
from longdoc.llm.base import Completion, GenerationOptions, Message, OnToken
from longdoc.llm.embedded import EmbeddedLLM, reused_prefix
from longdoc.llm.scripted import ScriptedLLM
from longdoc.llm.vocab import LlamaSettings
from longdoc.prompts import EN
from oracle import Oracle

# --- the variant and context parsers ---


def test_a_variant_names_its_llama_cpp_settings():
    assert parse_variant("base:") == Variant("base", LlamaSettings(), "base:")
    assert parse_variant("fa:flash_attn=true").settings == LlamaSettings(flash_attn=True)
    ub = parse_variant("ub: n_batch=1024, n_ubatch=512")
    assert (ub.name, ub.settings.n_batch, ub.settings.n_ubatch) == ("ub", 1024, 512)
    assert parse_variant("small:n_batch=256").settings.n_ubatch == 256  # the pass follows a smaller batch
    kv = parse_variant("kv8:flash_attn=1,type_k=Q8_0,type_v=q8_0,use_mmap=off")
    assert kv.settings == LlamaSettings(flash_attn=True, type_k="q8_0", type_v="q8_0", use_mmap=False)


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ("flash_attn=true", "expected NAME:key=val"),
        (":flash_attn=true", "expected NAME:key=val"),
        ("a b:", "expected NAME:key=val"),
        ("x:threads=2", "unknown setting 'threads'"),
        ("x:n_batch", "is not key=value"),
        ("x:n_batch=", "is not key=value"),
        ("x:n_batch=big", "n_batch must be a whole number"),
        ("x:flash_attn=maybe", "flash_attn must be true or false"),
        ("x:n_batch=256,n_ubatch=512", "n_ubatch (512) must not exceed n_batch (256)"),
        ("x:n_batch=0", "at least 1"),
        ("x:type_k=q3", "unknown KV cache type 'q3'"),
        ("x:type_v=q8_0", "needs flash_attn=true"),
        ("x:n_batch=512,n_batch=256", "n_batch given twice"),
    ],
)
def test_a_bad_variant_says_what_is_wrong(spec, says):
    with pytest.raises(ConfigError) as e:
        parse_variant(spec)
    assert str(e.value).startswith(f"--variant {spec!r}") and says in str(e.value)


def test_variants_default_to_todays_settings_and_need_distinct_names():
    assert [v.name for v in parse_variants([])] == ["base"]
    with pytest.raises(ConfigError, match="the name a is used twice"):
        parse_variants(["a:", "b:flash_attn=true", "a:n_batch=256"])


def test_contexts_count_thousands():
    assert parse_contexts("1k,3k, 7K") == [1000, 3000, 7000]
    assert parse_contexts("2500") == [2500]
    for bad in ("", "1m", "0", "k", "-1k"):
        with pytest.raises(ConfigError, match="--contexts"):
            parse_contexts(bad)


def test_the_prompts_must_fit_the_context_window(tmp_path):
    plan = Plan(Settings(home=tmp_path, context_window=4096), tmp_path / "d.txt", "q", (), [1000, 4096])
    with pytest.raises(ConfigError, match="context window of 4096"):
        plan.check()


# --- the table ---


def _result(model: str, variant: str, load: float, prefill: float, ask: float, **kw: Any) -> Result:
    values: dict[str, Any] = {
        "generate_tps": 10.0,
        "first_token_s": ask / 2,
        "ask_right": True,
        "read_s_per_chunk": 2.0,
        "chunks_read": 8,
        "read_right": False,
        "reader_reuse": 0.25,
    } | kw
    return Result(model, variant, {}, load, {1000: prefill}, ask_s=ask, **values)


def test_speedups_are_against_each_models_first_variant_whichever_way_a_figure_counts():
    assert speedup(125.0, 100.0, "higher") == 1.25
    assert speedup(5.0, 10.0, "lower") == 2.0
    assert speedup(5.0, 10.0, "") is None  # a share or a count: no direction
    assert speedup(None, 10.0, "lower") is None and speedup(1.0, 0.0, "lower") is None
    report = SpeedReport(
        "0.3.36",
        "AVX2 = 1",
        2,
        8192,
        {"base": "base:", "fa": "fa:flash_attn=true"},
        [
            _result("m1", "base", load=10.0, prefill=100.0, ask=30.0, read_whole_s_per_chunk=4.0),
            _result("m1", "fa", load=5.0, prefill=125.0, ask=40.0, read_s_per_chunk=None),
            _result("m2", "base", load=20.0, prefill=50.0, ask=60.0),
            _result("m2", "fa", load=20.0, prefill=100.0, ask=60.0, reader_reuse=None),
        ],
    )
    table = dict(rows(report))
    assert table["cold load s"] == ["10.0", "5.0 x2.00", "20.0", "20.0 x1.00"]
    assert table["prefill 1000 tok/s"] == ["100.0", "125.0 x1.25", "50.0", "100.0 x2.00"]
    assert table["ask (auto) s"] == ["30.0", "40.0 x0.75", "60.0", "60.0 x1.00"]
    assert table["first answer token s"] == ["15.0", "20.0 x0.75", "30.0", "30.0 x1.00"]
    assert table["Level 2 s/chunk"] == ["2.00", "-", "2.00", "2.00 x1.00"]
    assert table["reader tokens from cache"] == ["25%", "25%", "25%", "-"]  # a share: no speed-up
    assert table["answer right (auto)"] == ["yes"] * 4 and table["answer right (read)"] == ["no"] * 4
    assert table["Level 2 s/chunk, whole chunks"] == ["4.00", "-", "-", "-"]
    assert table["window speed-up"] == ["x2.00", "-", "-", "-"]  # within the variant: whole over window
    text = describe(report)
    assert "variant base: today's settings" in text and "variant fa: flash_attn=True" in text
    assert "AVX2 = 1" in text


# --- the CLI ---


def test_cli_offers_bench_speed():
    r = CliRunner().invoke(main, ["bench", "speed", "--help"])
    assert r.exit_code == 0
    for flag in ("--models", "--threads", "--variant", "--contexts", "--json", "--read-chunks", "--gen-tokens"):
        assert flag in r.output


def test_cli_refuses_a_bad_variant_before_loading_anything():
    r = CliRunner().invoke(main, ["bench", "speed", "--variant", "base:", "--variant", "fa:flash=true"])
    assert r.exit_code == 2 and "unknown setting 'flash'" in r.output


# --- one pass of the measurements, on a fake llama ---


class FakeLlama:
    """The part of llama_cpp.Llama the measurements use: a token per byte, and
    a log of each evaluation with what the cache held before it."""

    def __init__(self) -> None:
        self.cache: list[int] = []
        self.evals: list[tuple[int, int]] = []  # (tokens in the cache before, tokens evaluated)

    def tokenize(self, data: bytes, add_bos: bool = True) -> list[int]:
        return list(data)

    def reset(self) -> None:
        self.cache = []

    def eval(self, tokens: list[int]) -> None:
        self.evals.append((len(self.cache), len(tokens)))
        self.cache += tokens

    def generate(self, tokens: list[int], temp: float) -> Iterator[int]:
        assert temp == 0.0
        self.eval(tokens)
        while True:  # never stops by itself, as llama.cpp's loop ignores end-of-text
            yield 0
            self.eval([0])


class FakeEmbedded(ScriptedLLM):
    """The scripted oracle as the model, lending a fake llama; half of each
    reader prompt comes from the cache."""

    def __init__(self) -> None:
        super().__init__(Oracle({"lighthouse": FACT}, keywords=["lighthouse", "beacon"]))
        self.llama = FakeLlama()
        self.loads = 0

    def load(self) -> None:
        self.loads += 1

    @contextmanager
    def raw_llama(self) -> Iterator[Any]:
        yield self.llama

    def complete(
        self, messages: list[Message], options: GenerationOptions, on_token: OnToken | None = None
    ) -> Completion:
        c = super().complete(messages, options, on_token)
        if messages[0].content == EN.reader_system:
            c.cached_tokens = c.prompt_tokens // 2
        return c


FACT = "Edda Marn keeps the lighthouse beacon at the northern cape."


@dataclass
class Tick:
    now: float = 0.0

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


def test_one_pass_measures_every_figure_from_a_cold_cache(tmp_path):
    from longdoc.bench import speed

    paras = [f"Paragraph {i} is about the harbour, the boats and the tides of the coast." for i in range(80)]
    paras.insert(60, FACT)
    doc = tmp_path / "coast.txt"
    doc.write_text("\n\n".join(paras), encoding="utf-8")
    plan = Plan(
        Settings(home=tmp_path / "home", chunk_size=80, chunk_overlap=0),
        doc,
        "Who keeps the lighthouse?",
        ("Edda Marn",),
        [200, 500],
        gen_tokens=5,
        read_chunks=4,
    )
    made: list[FakeEmbedded] = []

    def make(model: str, variant: Variant) -> FakeEmbedded:
        made.append(FakeEmbedded())
        return made[-1]

    variants = parse_variants(["base:", "fa:flash_attn=true"])
    report = run(["m"], variants, plan, make, SpeedReport("v", "info", 2, 8192, {}), clock=Tick())
    assert [(r.model, r.variant) for r in report.results] == [("m", "base"), ("m", "fa")]
    assert all(f.loads == 1 for f in made)  # each variant loads its model once
    r = report.results[0]
    assert r.settings == dataclasses.asdict(LlamaSettings())
    # warm-up, two prefills, the decode prompt and its steps: each from an empty cache
    assert made[0].llama.evals[:4] == [(0, 16), (0, 200), (0, 500), (0, speed.GEN_PROMPT)]
    assert len(made[0].llama.evals) == 4 + plan.gen_tokens
    # the counter clock: one tick per reading, so each span is a tick
    assert r.load_s == 2.0 and r.prefill_tps == {200: 200.0, 500: 500.0} and r.generate_tps == 1.0
    assert r.ask_right and r.read_right and r.first_token_s is not None and r.first_token_s > 0
    assert 1 <= r.chunks_read <= 4 and r.read_s_per_chunk is not None
    assert r.reader_reuse is not None and 0.4 < r.reader_reuse <= 0.5
    # Level 2 read again with whole chunks: the baseline of the reading window
    assert r.read_whole_s_per_chunk is not None and r.read_whole_right
    plan_whole = dataclasses.replace(plan, settings=dataclasses.replace(plan.settings, read_window=0))
    (w,) = run(["m"], variants[:1], plan_whole, make, SpeedReport("v", "info", 2, 8192, {}), clock=Tick()).results
    assert w.read_whole_s_per_chunk is None and w.read_whole_right is None  # no window: nothing to compare
    assert json.loads(json.dumps(r.__dict__))["prefill_tps"] == {"200": 200.0, "500": 500.0}


def test_cli_prints_the_table_and_writes_json(tmp_path, monkeypatch):
    """The whole command, with the fake standing in for the embedded model and a short sample."""
    import types

    from longdoc import sample
    from longdoc.llm import embedded, models, vocab

    doc = tmp_path / "coast.txt"
    doc.write_text("\n\n".join([f"Paragraph {i} is about the tides of the coast." for i in range(60)] + [FACT]))
    built: list[dict[str, Any]] = []

    def fake_embedded(path: Path, **kw: Any) -> FakeEmbedded:
        built.append({"path": path, **kw})
        return FakeEmbedded()

    monkeypatch.setattr(sample, "build_sample", lambda _: sample.Sample(doc, "Who keeps the lighthouse?", ("Edda",), 9))
    monkeypatch.setattr(embedded, "EmbeddedLLM", fake_embedded)
    monkeypatch.setattr(models, "resolve_model", lambda name, home: tmp_path / f"{name}.gguf")
    fake_cpp = types.SimpleNamespace(__version__="0.3.36", llama_print_system_info=lambda: b"CPU : AVX2 = 1")
    monkeypatch.setattr(vocab, "llama_cpp_module", lambda: fake_cpp)
    out = tmp_path / "speed.json"
    args = ["--models", "a,b", "--threads", "3", "--variant", "base:", "--variant", "ub:n_batch=1024"]
    r = CliRunner().invoke(main, ["bench", "speed", *args, "--contexts", "1k,2k", "--json", str(out)])
    assert r.exit_code == 0, r.output
    assert [(b["path"].name, b["threads"], b["llama_settings"].n_batch) for b in built] == [
        ("a.gguf", 3, 512),
        ("a.gguf", 3, 1024),
        ("b.gguf", 3, 512),
        ("b.gguf", 3, 1024),
    ]
    assert "a [ub]: prefill 2000 tokens" in r.output and "prefill 2000" in r.output
    assert "variant ub: n_batch=1024" in r.output and "AVX2" in r.output
    saved = json.loads(out.read_text(encoding="utf-8"))
    assert saved["threads"] == 3 and saved["llama_cpp"] == "0.3.36"
    assert [(x["model"], x["variant"]) for x in saved["results"]] == [
        ("a", "base"),
        ("a", "ub"),
        ("b", "base"),
        ("b", "ub"),
    ]
    r = CliRunner().invoke(main, ["bench", "speed", "--contexts", "9k"])
    assert r.exit_code == 2 and "context window of 8192" in r.output


# --- the tokens the embedded backend reuses from its KV cache ---


def test_reused_prefix_mirrors_llama_cpp_generate():
    assert reused_prefix([], [1, 2, 3], logits_live=True) == 0  # an empty cache
    assert reused_prefix([1, 2, 3, 9], [1, 2, 3, 4, 5], logits_live=True) == 3
    assert reused_prefix([5], [1, 2], logits_live=True) == 0
    # the last call's prompt and its reply are cached; the new prompt goes past the reply
    assert reused_prefix([1, 2, 3, 4, 5, 7, 8], [1, 2, 3, 4, 5, 6], logits_live=True) == 5
    # the cache covers the whole prompt: its last token is evaluated again for fresh logits
    assert reused_prefix([1, 2, 3, 4], [1, 2, 3], logits_live=True) == 2
    assert reused_prefix([1, 2, 3], [1, 2, 3], logits_live=False) == 2
    # exactly the prompt, logits current: nothing to evaluate
    assert reused_prefix([1, 2, 3], [1, 2, 3], logits_live=True) == 3


class _Rendered:
    def __init__(self, prompt: str) -> None:
        self.prompt, self.added_special, self.stop, self.stopping_criteria = prompt, True, None, None


class _HistoryLlama:
    """Keeps input ids as llama_cpp.Llama does: the prompt, then the reply but its last token."""

    def __init__(self) -> None:
        self.input_ids = np.zeros(4096, dtype=np.intc)
        self.n_tokens = 0
        self._requires_eval = True

    def tokenize(self, data: bytes, add_bos: bool = True, special: bool = False) -> list[int]:
        return list(data)

    def create_completion(self, prompt: list[int], **_: Any) -> Iterator[dict[str, Any]]:
        reply = list(b"ok")
        evaluated = prompt + reply[:-1]
        self.input_ids[: len(evaluated)] = evaluated
        self.n_tokens, self._requires_eval = len(evaluated), False
        yield {"choices": [{"text": "ok", "finish_reason": "stop"}]}


def test_the_embedded_backend_reports_the_prompt_tokens_its_cache_held(tmp_path):
    from longdoc.agents.reader import reader_messages

    gguf = tmp_path / "fake.gguf"
    gguf.write_bytes(b"GGUF")
    llm = EmbeddedLLM(gguf, context_window=4096)
    llm._llama = _HistoryLlama()  # as if loaded: no model is read
    llm._formatter = lambda messages: _Rendered("".join(f"<{m['role']}>{m['content']}" for m in messages))
    question = "Who keeps the lighthouse?"
    first, second = (reader_messages(question, p, EN) for p in ("The boats came in.", "Nets were mended."))
    options = GenerationOptions(max_tokens=8)
    assert llm.complete(first, options).cached_tokens == 0
    rendered = ["".join(f"<{m.role}>{m.content}" for m in ms) for ms in (first, second)]
    shared = os.path.commonprefix(rendered)
    assert llm.complete(second, options).cached_tokens == len(shared.encode())
    assert question in shared  # the question sits in what consecutive reader calls share
    assert llm.complete(second, options).cached_tokens == len(rendered[1].encode()) - 1  # the same prompt again


def test_llama_settings_become_llama_cpp_arguments():
    import types

    fake = types.SimpleNamespace(GGML_TYPE_F16=1, GGML_TYPE_Q8_0=8)
    assert LlamaSettings().params(fake) == {
        "n_batch": 512,
        "n_ubatch": 512,
        "flash_attn": False,
        "type_k": 1,
        "type_v": 1,
        "use_mmap": True,
        "use_mlock": False,
    }
    assert LlamaSettings(flash_attn=True, type_k="q8_0", type_v="q8_0").params(fake)["type_v"] == 8
    assert "draft_model" not in LlamaSettings().params(fake)


def test_every_llama_setting_is_a_llama_cpp_argument():
    """Only what the installed llama-cpp-python takes is exposed (read from its signature, no model)."""
    import inspect

    llama_cpp = pytest.importorskip("llama_cpp")
    accepted = inspect.signature(llama_cpp.Llama.__init__).parameters
    assert set(LlamaSettings().params(llama_cpp)) <= set(accepted)


def test_a_variant_that_fails_is_reported_and_the_others_keep_their_figures(tmp_path):
    # llama-cpp-python 0.3.36 crashed in prefill with a draft model; the base figures were lost with it.
    doc = tmp_path / "coast.txt"
    doc.write_text("\n\n".join([*(f"Paragraph {i} is about the tides." for i in range(40)), FACT]), encoding="utf-8")
    plan = Plan(
        Settings(home=tmp_path / "home", chunk_size=80, chunk_overlap=0),
        doc,
        "Who keeps the lighthouse?",
        ("Edda Marn",),
        [200],
        gen_tokens=2,
        read_chunks=2,
    )

    class Broken(FakeEmbedded):
        def load(self) -> None:
            raise ValueError("could not broadcast input array")

    def make(model: str, variant: Variant) -> FakeEmbedded:
        return Broken() if variant.name == "bad" else FakeEmbedded()

    variants = parse_variants(["base:", "bad:flash_attn=true", "fa:flash_attn=true"])
    report = run(["m"], variants, plan, make, SpeedReport("v", "info", 2, 8192, {v.name: v.spec for v in variants}))
    assert [r.variant for r in report.results] == ["base", "fa"]
    assert report.failures == {"m [bad]": "ValueError: could not broadcast input array"}
    assert "m [bad]: failed, not measured (ValueError: could not broadcast input array)" in describe(report)
