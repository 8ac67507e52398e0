"""Load test for `longdoc serve`: N concurrent clients ask questions over
one uploaded document; prints requests/s, latency percentiles and errors.

    python benchmarks/load.py                       # 50 clients x 10 questions, non-streaming
    python benchmarks/load.py --stream --clients 50 --questions 10

The server runs in a child process (so clients and server do not share a
GIL) on 127.0.0.1, with a scripted model that plans and answers instantly:
what is measured is longdoc's own work per question (HTTP, parsing the
request, loading the index, BM25, building the prompt, streaming), not an
LLM's. Only loopback is ever used, and every run is bounded by
--clients x --questions and a per-request timeout.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

MAX_CLIENTS = 500
MAX_REQUESTS = 20_000
NEEDLE = "The lighthouse on Karvo Point is kept by Edda Marn, who first lit it in 1931."
QUESTIONS = [
    "Who keeps the lighthouse on Karvo Point?",
    "When was the lighthouse on Karvo Point first lit?",
    "What is said about the tides of the northern coast?",
    "Which boats use the harbour in spring?",
]


def _responder(messages: list) -> str:  # list[Message]; imported lazily in the server process
    """Plans with the question's own words and answers citing passage [1]."""
    from longdoc.prompts import EN

    system, user = messages[0].content, messages[-1].content
    if system == EN.query_system:
        question = user.rsplit("Question:", 1)[-1].removesuffix("Reply:").strip()
        words = [w for w in re.findall(r"\w+", question) if len(w) > 3]
        return json.dumps({"information": question, "instruction": "", "keywords_en": words, "keywords_zh": []})
    return "According to the documents, the answer is in the first passage [1]."


def serve(port: int, home: str) -> None:
    """The child process: one server with the scripted model."""
    import uvicorn

    from longdoc.config import Settings
    from longdoc.llm.scripted import ScriptedLLM
    from longdoc.server import create_app

    app = create_app(Settings(backend="scripted", home=Path(home)), llm=ScriptedLLM(_responder))
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


def document(paragraphs: int) -> str:
    paras = [
        f"Paragraph {i} is about the harbour, the boats in spring and the tides of the northern coast."
        for i in range(paragraphs)
    ]
    paras.insert(paragraphs * 2 // 3, NEEDLE)
    return "\n\n".join(paras)


@dataclass
class Results:
    latencies: list[float] = field(default_factory=list)
    first_token: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


async def one_question(client: httpx.AsyncClient, question: str, file_id: str, stream: bool, results: Results) -> None:
    body = {
        "model": "longdoc-rag",
        "messages": [{"role": "user", "content": question}],
        "stream": stream,
        "file_ids": [file_id],
    }
    t0 = time.perf_counter()
    try:
        if not stream:
            r = await client.post("/v1/chat/completions", json=body)
            if r.status_code != 200 or not r.json()["choices"][0]["message"]["content"]:
                results.errors.append(f"{r.status_code}: {r.text[:200]}")
                return
        else:
            async with client.stream("POST", "/v1/chat/completions", json=body) as r:
                if r.status_code != 200:
                    results.errors.append(f"{r.status_code}: {(await r.aread())[:200]!r}")
                    return
                first = None
                async for line in r.aiter_lines():
                    if line == "data: [DONE]":
                        break
                    if line.startswith('data: {"error"'):
                        results.errors.append(line[:200])
                        return
                    if first is None and '"content": "' in line and '"content": ""' not in line:
                        first = time.perf_counter() - t0
                if first is not None:
                    results.first_token.append(first)
        results.latencies.append(time.perf_counter() - t0)
    except (httpx.HTTPError, ValueError, KeyError) as e:
        results.errors.append(f"{type(e).__name__}: {e}")


async def client_loop(
    base: str, file_id: str, n: int, offset: int, stream: bool, timeout: float, results: Results
) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=timeout) as client:
        for i in range(n):
            await one_question(client, QUESTIONS[(offset + i) % len(QUESTIONS)], file_id, stream, results)


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU of a process (Linux): the server's own cost per
    question, apart from the clients sharing the machine."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(base: str, path: str, ok: object, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        try:
            r = httpx.get(base + path, timeout=5)
            if r.status_code == 200 and ok(r.json()):
                return r.json()
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise SystemExit(f"server not ready: {base}{path}")
        time.sleep(0.1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clients", type=int, default=50, help="concurrent clients (default 50)")
    ap.add_argument("--questions", type=int, default=10, help="questions per client (default 10)")
    ap.add_argument("--stream", action="store_true", help="ask with stream=true (SSE)")
    ap.add_argument("--paragraphs", type=int, default=2000, help="size of the document (~20 tokens each)")
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds per request")
    ap.add_argument("--serve", nargs=2, metavar=("PORT", "HOME"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve:
        serve(int(args.serve[0]), args.serve[1])
        return
    if not (1 <= args.clients <= MAX_CLIENTS) or not (1 <= args.clients * args.questions <= MAX_REQUESTS):
        ap.error(f"keep it bounded: at most {MAX_CLIENTS} clients and {MAX_REQUESTS} requests in all")

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="longdoc-load-") as home:
        env = {k: v for k, v in os.environ.items() if not k.startswith("LONGDOC_")}
        server = subprocess.Popen([sys.executable, __file__, "--serve", str(port), home], env=env)
        try:
            wait_for(base, "/ready", lambda b: b["status"] == "ready")
            up = httpx.post(f"{base}/v1/files", files={"file": ("harbour.txt", document(args.paragraphs).encode())})
            up.raise_for_status()
            file_id = up.json()["id"]
            info = wait_for(base, f"/v1/files/{file_id}", lambda b: b["status"] in ("ready", "failed"))
            if info["status"] != "ready":
                raise SystemExit(f"upload failed: {info['status_details']}")
            results = Results()
            cpu0 = cpu_seconds(server.pid)
            t0 = time.perf_counter()

            async def run_all() -> None:
                await asyncio.gather(
                    *(
                        client_loop(base, file_id, args.questions, c, args.stream, args.timeout, results)
                        for c in range(args.clients)
                    )
                )

            asyncio.run(run_all())
            wall = time.perf_counter() - t0
            cpu1 = cpu_seconds(server.pid)
        finally:
            server.terminate()
            server.wait(timeout=30)

    total = args.clients * args.questions
    ms = [x * 1000 for x in results.latencies]
    print(
        f"document: {info['tokens']:,} tokens in {info['chunks']} chunks; "
        f"{args.clients} clients x {args.questions} questions, {'streaming' if args.stream else 'non-streaming'}"
    )
    print(f"requests: {total}  ok: {len(ms)}  errors: {len(results.errors)}  wall: {wall:.1f}s")
    print(f"throughput: {len(ms) / wall:.1f} requests/s")
    print(
        f"latency ms: p50 {percentile(ms, 50):.0f}  p95 {percentile(ms, 95):.0f}  p99 {percentile(ms, 99):.0f}  "
        f"max {max(ms, default=float('nan')):.0f}  mean {statistics.fmean(ms) if ms else float('nan'):.0f}"
    )
    if cpu0 is not None and cpu1 is not None and ms:
        print(f"server CPU: {(cpu1 - cpu0) * 1000 / len(ms):.1f} ms per request (the clients' CPU is not included)")
    if results.first_token:
        ft = [x * 1000 for x in results.first_token]
        print(
            f"first token ms: p50 {percentile(ft, 50):.0f}  p95 {percentile(ft, 95):.0f}  p99 {percentile(ft, 99):.0f}"
        )
    for e in results.errors[:5]:
        print(f"error: {e}")
    sys.exit(1 if results.errors else 0)


if __name__ == "__main__":
    main()
