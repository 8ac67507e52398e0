"""Crash consistency through real processes: `longdoc index` and `longdoc serve`
killed with SIGKILL while they build the index; every entry left on disk must
pass the index's checks, and the next run must answer from a complete index.
benchmarks/crash.py runs the same with hundreds of kills."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import httpx

from live_server import free_port
from longdoc.bench.crash import NEEDLE, answer_after, check_index, documents, kill_index_runs


def test_kill_9_during_longdoc_index_never_corrupts_the_index(tmp_path):
    report = kill_index_runs(tmp_path, runs=8, seed=3)
    assert report.runs == 8 and report.killed >= 4, report
    assert report.entries_checked > 0
    assert report.corrupt == []
    out = answer_after(tmp_path)
    assert out["answer"] == "Edda Marn keeps it [1]." and NEEDLE in out["citations"][0]["text"]
    assert out["errors"] == []


def _serve(home, port):
    env = {k: v for k, v in os.environ.items() if not k.startswith("LONGDOC_")}
    env["LONGDOC_HOME"] = str(home)
    cmd = [sys.executable, "-m", "longdoc", "serve", "--backend", "scripted", "--port", str(port)]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _wait_ready(base, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/ready", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise TimeoutError("server not ready")


def test_kill_9_of_the_server_while_it_indexes_then_restart_finishes_the_upload(tmp_path):
    home = tmp_path / "home"
    paths = documents(tmp_path / "docs", count=3, paragraphs=4000)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = _serve(home, port)
    try:
        _wait_ready(base)
        ids = []
        for p in paths:
            r = httpx.post(f"{base}/v1/files", files={"file": (p.name, p.read_bytes())}, timeout=30)
            ids.append(r.json()["id"])
        time.sleep(0.3)  # indexing the first upload
    finally:
        server.send_signal(signal.SIGKILL)
        server.wait()
    _, bad = check_index(home)
    assert bad == []
    server = _serve(home, port)
    try:
        _wait_ready(base)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            files = {f["id"]: f for f in httpx.get(f"{base}/v1/files").json()["data"]}
            if all(files[i]["status"] in ("ready", "failed") for i in ids):
                break
            time.sleep(0.2)
        assert [files[i]["status"] for i in ids] == ["ready"] * 3
        assert [files[i]["filename"] for i in ids] == [p.name for p in paths]
    finally:
        server.terminate()
        server.wait(timeout=30)
    _, bad = check_index(home)
    assert bad == []
