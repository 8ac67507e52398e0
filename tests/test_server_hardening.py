"""The server against an attacker and an unlucky user, over real HTTP: malformed
JSON, requests of unknown origin, a slow file in the upload queue, a full disk
quota. (The browser side of cross-site requests is in tests/test_browser_foreign.py.)"""

from __future__ import annotations

import logging
import time

import httpx
import pytest

from live_server import QUESTION, haystack, reader_model, serve, wait_until_indexed
from longdoc.config import Settings
from longdoc.llm.scripted import ScriptedLLM
from longdoc.server import ServerOptions, create_app

OPTIONS = ServerOptions(max_json_bytes=512 * 1024, parse_seconds=1.0)


@pytest.fixture(scope="module")
def llm():
    return ScriptedLLM(reader_model)


@pytest.fixture(scope="module")
def base(tmp_path_factory, llm):
    app = create_app(Settings(backend="scripted", home=tmp_path_factory.mktemp("home")), llm=llm, options=OPTIONS)
    with serve(app) as url:
        yield url


def _chat(base, content: bytes, **headers: str) -> httpx.Response:
    return httpx.post(
        f"{base}/v1/chat/completions", content=content, headers={"Content-Type": "application/json", **headers}
    )


@pytest.mark.parametrize(
    "body, reason",
    [
        (b"[" * 50_000 + b"]" * 50_000, "malformed JSON: nested too deeply"),
        (b'{"model": ' + b"9" * 5000 + b"}", "malformed JSON: Exceeds the limit"),
        (b'{"model": "longdoc-rag", "messages": [{"role": "user", "content": "\\ud800"}]}', ""),
    ],
    ids=["50k brackets", "5000 digits", "lone surrogate"],
)
def test_malformed_json_is_an_openai_shaped_400_without_a_traceback(base, body, reason, caplog):
    with caplog.at_level(logging.ERROR):
        r = _chat(base, body)
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert error["type"] == "invalid_request_error" and error["message"].startswith(reason)
    assert not [rec for rec in caplog.records if rec.levelno >= logging.ERROR]


def test_json_endpoints_want_a_json_content_type(base):
    body = b'{"model": "longdoc-rag", "messages": [{"role": "user", "content": "hi"}]}'
    for kind in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"):
        r = _chat(base, body, **{"Content-Type": kind})
        assert r.status_code == 415 and r.json()["error"]["code"] == "not_json", r.text


def test_origin_null_is_refused_like_any_foreign_origin(base):
    for origin in ("null", "http://attacker.example", "http://localhost:1"):
        up = httpx.post(f"{base}/v1/files", files={"file": ("x.txt", b"planted")}, headers={"Origin": origin})
        assert up.status_code == 403, (origin, up.text)
        assert _chat(base, b"{}", Origin=origin).status_code == 403
    assert all(f["filename"] != "x.txt" for f in httpx.get(f"{base}/v1/files").json()["data"])
    same = httpx.get(f"{base}/v1/files", headers={"Origin": base})
    assert same.status_code == 200


def test_a_slow_file_fails_alone_and_the_queue_moves_on(base):
    # Deep but allowed nesting, many times over: seconds inside lexbor's C code,
    # where the parse budget cannot stop it; the server kills the parsing child.
    slow = b"<p>x</p>" + (b"<div>" * 3900 + b"t" + b"</div>" * 3900) * 150
    first = httpx.post(f"{base}/v1/files", files={"file": ("slow.html", slow)}).json()
    second = httpx.post(f"{base}/v1/files", files={"file": ("notes.txt", haystack(n=50).encode())}).json()
    started = time.monotonic()
    done = wait_until_indexed(base, [first["id"], second["id"]], timeout=60)
    assert done[first["id"]]["status"] == "failed"
    assert "took longer than 1 s to read" in done[first["id"]]["status_details"]
    assert done[second["id"]]["status"] == "ready"
    assert time.monotonic() - started < 30  # a hang detector: the kill comes after 1 + 5 s
    third = httpx.post(f"{base}/v1/files", files={"file": ("more.txt", b"After the kill, a new child parses.")})
    assert wait_until_indexed(base, [third.json()["id"]])[third.json()["id"]]["status"] == "ready"


def test_uploads_over_the_storage_limit_are_refused_and_not_stored(tmp_path, llm):
    app = create_app(
        Settings(backend="scripted", home=tmp_path / "home"), llm=llm, options=ServerOptions(max_stored_bytes=200_000)
    )
    with serve(app) as base:
        assert httpx.post(f"{base}/v1/files", files={"file": ("a.txt", b"word " * 30_000)}).status_code == 200
        r = httpx.post(f"{base}/v1/files", files={"file": ("b.txt", b"other " * 10_000)})
        assert r.status_code == 507, r.text
        assert "over the server's limit of 200,000" in r.json()["error"]["message"]
        assert [f["filename"] for f in httpx.get(f"{base}/v1/files").json()["data"]] == ["a.txt"]


def test_the_model_sees_uploaded_names_not_stored_ones(base, llm):
    up = httpx.post(f"{base}/v1/files", files={"file": ("coast notes.txt", haystack(n=30).encode())}).json()
    wait_until_indexed(base, [up["id"]])
    body = {"model": "longdoc-rag", "messages": [{"role": "user", "content": QUESTION}], "file_ids": [up["id"]]}
    calls = len(llm.calls)
    assert httpx.post(f"{base}/v1/chat/completions", json=body, timeout=60).status_code == 200
    prompts = " ".join(m.content for call in llm.calls[calls:] for m in call.messages)
    assert "coast notes.txt" in prompts and "file-" not in prompts
