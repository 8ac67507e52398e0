"""The Qwen-Agent runner's counting proxy, against a fake model server (the
real side-by-side needs Qwen-Agent's own venv and runs by hand)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from longdoc.bench.qwen_agent_runner import QwenAgentAnswerer, QwenAgentConfig, _proxy, _Usage
from longdoc.errors import ConfigError

REPLY = {
    "id": "c1",
    "object": "chat.completion",
    "created": 1,
    "model": "qwen",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "Sor Reitreis."}, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 1200, "completion_tokens": 7, "total_tokens": 1207},
}


@pytest.fixture()
def upstream():
    seen: list[dict] = []

    class Fake(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):
            seen.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            data = json.dumps(REPLY).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Fake)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", seen
    server.shutdown()


def test_proxy_counts_usage_and_turns_a_reply_into_one_stream_chunk(upstream):
    url, seen = upstream
    usage = _Usage()
    proxy = _proxy(url, usage)
    base = f"http://127.0.0.1:{proxy.server_address[1]}"
    try:
        r = httpx.post(
            base + "/v1/chat/completions", json={"model": "qwen", "messages": [], "stream": True}, timeout=10
        )
        assert r.headers["content-type"].startswith("text/event-stream")
        events = [line[6:] for line in r.text.splitlines() if line.startswith("data: ")]
        assert events[-1] == "[DONE]"
        assert json.loads(events[0])["choices"][0]["delta"]["content"] == "Sor Reitreis."
        assert "stream" not in seen[0]  # the server is asked for a whole reply, which carries usage
        r = httpx.post(base + "/v1/chat/completions", json={"model": "qwen", "messages": []}, timeout=10)
        assert r.json()["choices"][0]["message"]["content"] == "Sor Reitreis."
    finally:
        proxy.shutdown()
    assert (usage.calls, usage.prompt, usage.completion) == (2, 2400, 14)


def test_missing_venv_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="no Qwen-Agent environment"):
        QwenAgentAnswerer("qwen-agent:assistant", QwenAgentConfig(tmp_path / "nope", tmp_path / "m.gguf"), tmp_path)
