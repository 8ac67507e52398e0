"""The reference implementation, side by side: Qwen-Agent 0.0.34 answers the
same items through the same GGUF, served by llama-cpp-python's OpenAI-compatible
server on 127.0.0.1, which this runner starts and stops.

Qwen-Agent lives in its own virtual environment (its pins clash with ours),
made by benchmarks/qwen_agent_setup.sh in $LONGDOC_HOME/qwen-agent-venv.
Each question runs `qwen_agent_worker.py` in that environment. Qwen-Agent does
not report token usage, so its requests go through a small counting proxy
here, which asks the server for non-streamed replies (they carry `usage`) and
streams each back as one chunk when the client asked for a stream.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

from ..errors import ConfigError
from .generate import Item
from .run import Outcome

WORKER = Path(__file__).with_name("qwen_agent_worker.py")
AGENTS = {"qwen-agent:assistant": "assistant", "qwen-agent:parallel": "parallel"}
MODEL_ALIAS = "qwen"


@dataclass
class QwenAgentConfig:
    venv: Path
    model_path: Path  # the GGUF longdoc's embedded backend uses
    context_window: int = 8192
    threads: int = 1
    max_tokens: int = 512  # the same answer cap longdoc gets; the reference has none by default
    max_ref_tokens: int = (
        4000  # Assistant's evidence budget: the value Qwen-Agent's own docs use (ParallelDocQA fixes 4500)
    )
    timeout: float = 1800.0  # seconds per question


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Usage:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.calls = self.prompt = self.completion = 0

    def reset(self) -> None:
        with self.lock:
            self.calls = self.prompt = self.completion = 0

    def add(self, usage: dict[str, int]) -> None:
        with self.lock:
            self.calls += 1
            self.prompt += int(usage.get("prompt_tokens", 0))
            self.completion += int(usage.get("completion_tokens", 0))


def _proxy(upstream: str, usage: _Usage) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:  # keep stderr for the progress bar
            pass

        def do_GET(self) -> None:
            r = httpx.get(upstream + self.path, timeout=30)
            self._send(r.status_code, r.content, "application/json")

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
            wants_stream = bool(body.pop("stream", False))
            body.pop("stream_options", None)
            r = httpx.post(upstream + self.path, json=body, timeout=None)
            if r.status_code != 200:
                self._send(r.status_code, r.content, "application/json")
                return
            reply = r.json()
            usage.add(reply.get("usage") or {})
            if not wants_stream:
                self._send(200, r.content, "application/json")
                return
            choice = reply["choices"][0]
            chunk = {
                "id": reply.get("id", "x"),
                "object": "chat.completion.chunk",
                "created": reply.get("created", 0),
                "model": reply.get("model", MODEL_ALIAS),
                "choices": [
                    {
                        "index": 0,
                        "delta": {"role": "assistant", "content": choice["message"].get("content") or ""},
                        "finish_reason": choice.get("finish_reason"),
                    }
                ],
            }
            data = f"data: {json.dumps(chunk)}\n\ndata: [DONE]\n\n".encode()
            self._send(200, data, "text/event-stream")

        def _send(self, status: int, data: bytes, ctype: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


class QwenAgentAnswerer:
    """A context manager: entering starts the model server and the proxy,
    leaving stops both. Call it with an item to answer it."""

    def __init__(self, system: str, config: QwenAgentConfig, log_dir: Path) -> None:
        if system not in AGENTS:
            raise ConfigError(f"unknown Qwen-Agent system '{system}' ({', '.join(AGENTS)})")
        python = config.venv / "bin" / "python"
        if not python.is_file():
            raise ConfigError(f"no Qwen-Agent environment at {config.venv} (benchmarks/qwen_agent_setup.sh creates it)")
        self.agent, self.config, self.python, self.log_dir = AGENTS[system], config, python, log_dir
        self.usage = _Usage()
        self._server: subprocess.Popen[bytes] | None = None
        self._proxy: ThreadingHTTPServer | None = None

    def __enter__(self) -> QwenAgentAnswerer:
        port = free_port()
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.log_dir / "llama-server.log", "ab")
        self._server = subprocess.Popen(
            [
                str(self.python),
                "-m",
                "llama_cpp.server",
                "--model",
                str(self.config.model_path),
                "--model_alias",
                MODEL_ALIAS,
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--n_ctx",
                str(self.config.context_window),
                "--n_threads",
                str(self.config.threads),
                "--n_threads_batch",
                str(self.config.threads),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own group, to stop it whole
        )
        upstream = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(upstream + "/v1/models", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if self._server.poll() is not None or time.monotonic() > deadline:
                self.__exit__()
                raise ConfigError(f"llama-cpp-python server did not start; see {self.log_dir / 'llama-server.log'}")
            time.sleep(0.5)
        self._proxy = _proxy(upstream, self.usage)
        self.base_url = f"http://127.0.0.1:{self._proxy.server_address[1]}/v1"
        return self

    def __exit__(self, *exc: object) -> None:
        if self._proxy is not None:
            self._proxy.shutdown()
            self._proxy = None
        if self._server is not None and self._server.poll() is None:
            os.killpg(self._server.pid, signal.SIGTERM)
            try:
                self._server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self._server.pid, signal.SIGKILL)
                self._server.wait()
        self._server = None

    def __call__(self, item: Item, doc: Path) -> Outcome:
        self.usage.reset()
        job = {
            "agent": self.agent,
            "question": item.question,
            "file": str(doc.resolve()),
            "base_url": self.base_url,
            "model": MODEL_ALIAS,
            "max_tokens": self.config.max_tokens,
            "max_ref_tokens": self.config.max_ref_tokens,
            # Qwen-Agent's default input limit assumes a 32k model: keep prompts inside our window.
            "max_input_tokens": self.config.context_window - self.config.max_tokens - 256,
        }
        env = {**os.environ, "QWEN_AGENT_DEFAULT_WORKSPACE": str(self.log_dir / "workspace")}
        t0 = time.perf_counter()
        try:
            p = subprocess.run(
                [str(self.python), str(WORKER), json.dumps(job, ensure_ascii=False)],
                capture_output=True,
                text=True,
                env=env,
                timeout=self.config.timeout,
            )
            lines = [ln for ln in p.stdout.splitlines() if ln.startswith("{")]
            result = json.loads(lines[-1]) if lines else {"error": (p.stderr or "no output").strip()[-500:]}
        except subprocess.TimeoutExpired:
            result = {"error": f"timed out after {self.config.timeout:.0f}s"}
        with self.usage.lock:
            calls, prompt, completion = self.usage.calls, self.usage.prompt, self.usage.completion
        return Outcome(
            result.get("answer", ""),
            calls,
            prompt,
            completion,
            timings={"answer": time.perf_counter() - t0},
            error=result.get("error"),
        )
