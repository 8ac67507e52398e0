"""Run a longdoc server for tests: uvicorn on 127.0.0.1 and a free port, in a
thread of the test process, reached over real HTTP; and a scripted model that
answers like a careful reader of the documents it is shown."""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import uvicorn
from fastapi import FastAPI

from longdoc.llm.base import Message
from longdoc.prompts import EN, ZH

NEEDLE = "The lighthouse on Karvo Point is kept by Edda Marn, who first lit it in 1931."
QUESTION = "Who keeps the lighthouse on Karvo Point?"
FAIL_QUESTION = "Please crash the pipeline"  # the scripted model raises a non-backend error for it
SLOW_QUESTION = "Take your time: who keeps the lighthouse on Karvo Point?"  # planning it takes 2 s


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve(app: FastAPI, wait_ready: bool = True) -> Iterator[str]:
    """Yields the base URL once the app serves on 127.0.0.1 and (unless not
    `wait_ready`) its model is loaded."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    base = f"http://127.0.0.1:{server.config.port}"
    try:
        while wait_ready and (ready := httpx.get(f"{base}/ready").json())["status"] == "loading":
            if time.monotonic() > deadline + 120:
                raise RuntimeError("the test server's model did not load")
            time.sleep(0.1)
        if wait_ready:
            assert ready["status"] == "ready", ready
        yield base
    finally:
        server.should_exit = True
        thread.join(timeout=20)


def wait_until_indexed(base: str, file_ids: list[str], timeout: float = 30) -> dict[str, dict]:
    """The file objects once none of them is queued or indexing."""
    deadline = time.monotonic() + timeout
    while True:
        files = {f["id"]: f for f in httpx.get(f"{base}/v1/files").json()["data"]}
        mine = {i: files[i] for i in file_ids}
        if all(f["status"] in ("ready", "failed") for f in mine.values()):
            return mine
        if time.monotonic() > deadline:
            raise TimeoutError(f"still indexing: {mine}")
        time.sleep(0.05)


def haystack(needle: str = NEEDLE, n: int = 200, at: int = 140) -> str:
    paras = [f"Paragraph {i} is about the harbour, the boats and the tides of the northern coast." for i in range(n)]
    paras.insert(at, needle)
    return "\n\n".join(paras)


def reader_model(messages: list[Message]) -> str:
    """A scripted model that plans, reads and answers from the facts it is shown:
    it knows who keeps the lighthouse and when she first lit it."""
    system, user = messages[0].content, messages[-1].content
    if system in (EN.query_system, ZH.query_system):
        question = user.rsplit("Question:", 1)[-1].removesuffix("Reply:").strip()
        if FAIL_QUESTION in question:
            raise RuntimeError("scripted crash")
        if SLOW_QUESTION in question:
            time.sleep(2)
        words = [w for w in re.findall(r"\w+", question) if len(w) > 3]
        return json.dumps({"information": question, "instruction": "", "keywords_en": words, "keywords_zh": []})
    if system in (EN.reader_system, ZH.reader_system):
        passage = user.split("Passage:", 1)[-1]
        return NEEDLE if NEEDLE in passage else "none"
    if system in (EN.answer_system, ZH.answer_system):
        passages = re.split(r"\n\n(?=\[\d+\] \()", user.split("\n\nQuestion:")[0])
        question = user.rsplit("\nInstructions:", 1)[0].split("\n\nQuestion:", 1)[-1]
        for p in passages:
            m = re.match(r"\[(\d+)\]", p.strip().removeprefix("Passages:").strip())
            if m and "Edda Marn" in p:
                fact = "She first lit it in 1931" if "first light" in question else "Edda Marn keeps it"
                return f"{fact} [{m.group(1)}]."
        return EN.not_found
    return "none"
