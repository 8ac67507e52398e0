"""The server over real HTTP: uvicorn on 127.0.0.1, the official openai client,
and the scripted model (tests/live_server.py) in place of an LLM."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time

import httpx
import openai
import pytest

from live_server import (
    FAIL_QUESTION,
    NEEDLE,
    QUESTION,
    SLOW_QUESTION,
    free_port,
    haystack,
    reader_model,
    serve,
    wait_until_indexed,
)
from longdoc import api
from longdoc.config import Settings
from longdoc.errors import ConfigError
from longdoc.llm.scripted import ScriptedLLM
from longdoc.prompts import EN
from longdoc.server import ServerOptions, check_bind, create_app

LIMITS = ServerOptions(max_upload_bytes=256 * 1024, max_json_bytes=64 * 1024, keepalive_seconds=1)


@pytest.fixture(scope="module")
def llm():
    return ScriptedLLM(reader_model)


@pytest.fixture(scope="module")
def base(tmp_path_factory, llm):
    app = create_app(Settings(backend="scripted", home=tmp_path_factory.mktemp("home")), llm=llm, options=LIMITS)
    with serve(app) as url:
        yield url


@pytest.fixture(scope="module")
def coast(base):
    """A ready document with the planted fact, uploaded once for the module."""
    r = httpx.post(f"{base}/v1/files", files={"file": ("coast.txt", haystack().encode())})
    assert r.status_code == 200, r.text
    f = wait_until_indexed(base, [r.json()["id"]])[r.json()["id"]]
    assert f["status"] == "ready", f
    return f


@pytest.fixture
def client(base):
    return openai.OpenAI(base_url=f"{base}/v1", api_key="unused", max_retries=0)


def _ask(client, file_id, question=QUESTION, **kw):
    return client.chat.completions.create(
        model=kw.pop("model", "longdoc-rag"),
        messages=kw.pop("messages", [{"role": "user", "content": question}]),
        extra_body={"file_ids": [file_id]},
        **kw,
    )


# -- service ---------------------------------------------------------------------------


def test_health_ready_info_and_page(base):
    assert httpx.get(f"{base}/health").json()["status"] == "ok"
    ready = httpx.get(f"{base}/ready")
    assert ready.status_code == 200 and ready.json()["status"] == "ready"
    info = httpx.get(f"{base}/v1/info").json()
    assert ".pdf" in info["file_types"] and info["max_upload_bytes"] == LIMITS.max_upload_bytes
    page = httpx.get(f"{base}/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert httpx.get(f"{base}/static/app.js").status_code == 200


def test_models_are_the_modes_api_has(base, client, monkeypatch):
    assert [m.id for m in client.models.list()] == [f"longdoc-{m}" for m in api.MODES]
    info = httpx.get(f"{base}/v1/info").json()
    assert [m["id"] for m in info["modes"]] == info["models"] and info["default_model"] == "longdoc-auto"
    assert info["modes"][1]["labels"] == dict(api.MODES["rag"].labels)
    assert client.models.retrieve("longdoc-read").model_extra["description"] == api.MODES["read"].description
    monkeypatch.setattr(api, "MODES", {"rag": api.MODES["rag"]})  # a build where the other levels do not exist yet
    assert [m.id for m in client.models.list()] == ["longdoc-rag"]
    with pytest.raises(openai.BadRequestError) as e:
        client.chat.completions.create(model="longdoc-agent", messages=[{"role": "user", "content": "hi"}])
    assert "unknown model 'longdoc-agent'" in str(e.value) and "longdoc-rag" in str(e.value)


# -- files ------------------------------------------------------------------------------


def test_upload_several_then_list_get_delete(base):
    files = [
        ("file", ("harbour notes.md", b"# Harbour\n\nThe tides turn at six.\n")),
        ("file", ("../../etc/evil.txt", "卡尔沃角的灯塔由艾达·马恩看守。".encode())),
        ("file", ("empty.txt", b"")),
        ("file", ("broken.pdf", b"%PDF-1.4 this is not really a pdf")),
    ]
    r = httpx.post(f"{base}/v1/files", files=files)
    assert r.status_code == 200, r.text
    data = r.json()["data"]
    assert [f["filename"] for f in data] == ["harbour notes.md", "evil.txt", "empty.txt", "broken.pdf"]
    # Indexing starts at once, so a bad file may already have failed when the upload answers.
    assert all(f["id"].startswith("file-") and f["status"] in ("queued", "indexing", "ready", "failed") for f in data)
    done = wait_until_indexed(base, [f["id"] for f in data])
    md, zh, empty, pdf = (done[f["id"]] for f in data)
    assert md["status"] == zh["status"] == "ready" and md["chunks"] >= 1
    assert empty["status"] == "failed" and empty["status_details"] == "file is empty"
    assert pdf["status"] == "failed" and "PDF" in pdf["status_details"]

    listed = {f["id"] for f in httpx.get(f"{base}/v1/files").json()["data"]}
    assert {f["id"] for f in data} <= listed
    assert httpx.get(f"{base}/v1/files/{md['id']}").json()["filename"] == "harbour notes.md"
    deleted = httpx.delete(f"{base}/v1/files/{md['id']}")
    assert deleted.status_code == 200 and deleted.json()["deleted"] is True
    assert httpx.get(f"{base}/v1/files/{md['id']}").status_code == 404
    assert md["id"] not in {f["id"] for f in httpx.get(f"{base}/v1/files").json()["data"]}


def test_files_survive_a_restart(tmp_path):
    settings = Settings(backend="scripted", home=tmp_path)
    with serve(create_app(settings, llm=ScriptedLLM(reader_model))) as base:
        files = [("file", ("a.txt", b"Alpha harbour notes.")), ("file", ("b.md", b"# Beta\n\nTides."))]
        ids = [f["id"] for f in httpx.post(f"{base}/v1/files", files=files).json()["data"]]
        wait_until_indexed(base, ids)
    with serve(create_app(settings, llm=ScriptedLLM(reader_model))) as base:
        listed = httpx.get(f"{base}/v1/files").json()["data"]
    assert [(f["id"], f["filename"], f["status"]) for f in listed] == [
        (ids[0], "a.txt", "ready"),
        (ids[1], "b.md", "ready"),
    ]


def test_openai_files_api_and_download(base, client):
    created = client.files.create(file=("tides.txt", b"High tide is at six in the evening."), purpose="assistants")
    assert created.id.startswith("file-") and created.filename == "tides.txt"
    assert client.files.retrieve(created.id).bytes == len(b"High tide is at six in the evening.")
    assert created.id in [f.id for f in client.files.list()]
    r = httpx.get(f"{base}/v1/files/{created.id}/content")
    assert r.content == b"High tide is at six in the evening."
    assert r.headers["content-disposition"].startswith("attachment")
    assert client.files.delete(created.id).deleted


def test_unknown_or_malformed_file_ids_are_404(base, client, coast):
    for path in (
        "/v1/files/file-000000000000000000000000",
        "/v1/files/..%2F..%2Fetc%2Fpasswd",
        f"/v1/files/{coast['id']}/passages/nope:1",
        "/v1/files/file-000000000000000000000000/content",
    ):
        r = httpx.get(f"{base}{path}")
        assert r.status_code == 404, path
        assert r.json()["error"]["message"]
    assert httpx.delete(f"{base}/v1/files/file-000000000000000000000000").status_code == 404
    with pytest.raises(openai.NotFoundError, match="no such file"):
        _ask(client, "file-000000000000000000000000")


def test_unsupported_types_are_refused_and_nothing_is_stored(base):
    before = len(httpx.get(f"{base}/v1/files").json()["data"])
    for files in (
        [("file", ("tool.exe", b"MZ"))],
        [("file", ("README", b"text"))],
        [("file", ("ok.txt", b"fine")), ("file", ("virus.exe", b"MZ"))],
    ):
        r = httpx.post(f"{base}/v1/files", files=files)
        assert r.status_code == 415 and "not supported" in r.json()["error"]["message"]
    assert len(httpx.get(f"{base}/v1/files").json()["data"]) == before
    r = httpx.post(f"{base}/v1/files", json={"file": "x"})
    assert r.status_code == 415 and "multipart" in r.json()["error"]["message"]
    assert httpx.post(f"{base}/v1/files", files={"other": ("a.txt", b"x")}).status_code == 400


def test_body_limits_give_413(base):
    big = b"word " * (LIMITS.max_upload_bytes // 5 + 20_000)
    r = httpx.post(f"{base}/v1/files", files={"file": ("big.txt", big)})
    assert r.status_code == 413 and "too large" in r.json()["error"]["message"]
    r = httpx.post(f"{base}/v1/chat/completions", content=b'{"x": "' + b"a" * LIMITS.max_json_bytes + b'"}')
    assert r.status_code == 413

    def chunked():  # no Content-Length: counted as it arrives
        for _ in range(LIMITS.max_json_bytes // 4096 + 2):
            yield b" " * 4096

    r = httpx.post(f"{base}/v1/chat/completions", content=chunked())
    assert r.status_code == 413


# -- bad requests -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{not json", "malformed JSON"),
        (b"[1, 2]", "must be a JSON object"),
        (b'{"model": "longdoc-rag"}', "messages: Field required"),
        (b'{"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}', "unknown model 'gpt-4o'"),
        (b'{"model": "longdoc-rag", "messages": [{"role": "assistant", "content": "hi"}]}', "last message"),
        (b'{"model": "longdoc-rag", "messages": [{"role": "user", "content": "  "}]}', "question is empty"),
        (
            b'{"model": "longdoc-rag", "messages": [{"role": "user", "content": [{"type": "image_url"}]}]}',
            "only text content",
        ),
        (b'{"model": "longdoc-rag", "messages": [{"role": "wizard", "content": "hi"}]}', "messages.0.role"),
    ],
)
def test_bad_chat_requests_get_400_with_a_reason(base, body, reason):
    r = httpx.post(f"{base}/v1/chat/completions", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 400
    assert reason in r.json()["error"]["message"]


def test_asking_a_failed_file_is_409_with_its_reason(base, client):
    r = httpx.post(f"{base}/v1/files", files={"file": ("blank.txt", b"")})
    wait_until_indexed(base, [r.json()["id"]])
    with pytest.raises(openai.ConflictError, match="could not be indexed: file is empty"):
        _ask(client, r.json()["id"])


# -- security ------------------------------------------------------------------------------


def test_token_is_required_when_set(tmp_path):
    app = create_app(
        Settings(backend="scripted", home=tmp_path),
        llm=ScriptedLLM(reader_model),
        options=ServerOptions(token="s3cret"),
    )
    with serve(app) as base:
        assert httpx.get(f"{base}/v1/files").status_code == 401
        wrong = httpx.get(f"{base}/v1/files", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401 and wrong.headers["www-authenticate"] == "Bearer"
        r = httpx.post(f"{base}/v1/files", files={"file": ("a.txt", b"x" * 100_000)})
        assert r.status_code == 401 and "bearer token" in r.json()["error"]["message"]
        with pytest.raises(openai.AuthenticationError):
            openai.OpenAI(base_url=f"{base}/v1", api_key="nope", max_retries=0).models.list()
        good = openai.OpenAI(base_url=f"{base}/v1", api_key="s3cret", max_retries=0)
        assert good.models.list().data
        # No documents yet: a clear 400 rather than an empty answer.
        with pytest.raises(openai.BadRequestError, match="no documents"):
            good.chat.completions.create(model="longdoc-rag", messages=[{"role": "user", "content": "hi"}])
        # The page and the probes stay reachable; the page then asks for the token.
        assert httpx.get(f"{base}/").status_code == 200
        assert httpx.get(f"{base}/health").status_code == 200
        assert httpx.get(f"{base}/v1/info").json()["auth_required"] is True


def test_no_public_bind_without_a_token_nor_on_a_busy_port(isolated_home):
    for host in ("0.0.0.0", "::", "192.168.1.20", "example.com"):
        with pytest.raises(ConfigError, match="without a token"):
            check_bind(host, None)
    for host in ("127.0.0.1", "localhost", "::1", "127.0.0.2"):
        check_bind(host, None)
    check_bind("0.0.0.0", "s3cret")
    serve_cmd = [sys.executable, "-m", "longdoc", "serve", "--backend", "scripted"]
    r = subprocess.run([*serve_cmd, "--host", "0.0.0.0"], capture_output=True, text=True, timeout=60, check=False)
    assert r.returncode == 2 and "without a token" in r.stderr
    with socket.create_server(("127.0.0.1", 0)) as busy:
        port = str(busy.getsockname()[1])
        r = subprocess.run([*serve_cmd, "--port", port], capture_output=True, text=True, timeout=60, check=False)
    assert r.returncode == 2 and f"cannot listen on 127.0.0.1:{port}" in r.stderr


def test_longdoc_serve_runs_with_the_token_from_the_environment(isolated_home):
    port = free_port()
    env = {**os.environ, "LONGDOC_TOKEN": "from-env"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "longdoc", "serve", "--backend", "scripted", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/ready").status_code == 200:
                    break
            except httpx.ConnectError:
                pass
            assert proc.poll() is None, "longdoc serve exited early"
            assert time.monotonic() < deadline, "longdoc serve did not become ready"
            time.sleep(0.1)
        assert httpx.get(f"{url}/v1/models").status_code == 401
        assert httpx.get(f"{url}/v1/models", headers={"Authorization": "Bearer from-env"}).status_code == 200
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    assert "Application shutdown complete" in err  # a clean stop on SIGTERM


def test_foreign_hosts_and_cross_site_posts_are_refused(base):
    r = httpx.get(f"{base}/v1/files", headers={"Host": "attacker.example"})
    assert r.status_code == 403  # DNS rebinding: a foreign name pointed at 127.0.0.1
    r = httpx.post(f"{base}/v1/files", files={"file": ("a.txt", b"x")}, headers={"Origin": "https://attacker.example"})
    assert r.status_code == 403 and "cross-origin" in r.json()["error"]["message"]
    assert httpx.get(f"{base}/v1/files", headers={"Origin": base}).status_code == 200


# -- chat -------------------------------------------------------------------------------------


def test_chat_answers_with_citations_and_usage(client, coast):
    resp = _ask(client, coast["id"])
    assert resp.choices[0].message.content == "Edda Marn keeps it [1]."
    assert resp.choices[0].finish_reason == "stop" and resp.model == "longdoc-rag"
    c = resp.citations[0]
    assert c["file"] == "coast.txt" and c["file_id"] == coast["id"] and c["n"] == 1
    assert "Edda Marn" in c["text"] and c["page"] is None
    u = resp.usage
    assert u.prompt_tokens > 0 and u.total_tokens == u.prompt_tokens + u.completion_tokens
    extra = resp.longdoc
    assert extra["mode"] == "rag" and extra["usage"]["llm_calls"] == 2 and extra["errors"] == []
    assert {"plan", "retrieve", "generate"} <= set(extra["timings"])


def test_the_model_sees_upload_names_never_stored_ids(client, coast, llm):
    _ask(client, coast["id"])
    prompts = "\n".join(m.content for call in llm.calls[-2:] for m in call.messages)
    assert "(coast.txt)" in prompts  # the passage label
    assert "file-" not in prompts


def test_citation_opens_its_passage(base, client, coast):
    c = _ask(client, coast["id"]).citations[0]
    p = httpx.get(f"{base}/v1/files/{c['file_id']}/passages/{c['chunk_id']}").json()
    assert p["filename"] == "coast.txt" and NEEDLE in p["text"] and c["text"] in p["text"]


def test_chat_streams_tokens_progress_and_citations(client, coast):
    chunks = list(_ask(client, coast["id"], stream=True))
    text = "".join(ch.choices[0].delta.content or "" for ch in chunks)
    assert text == "Edda Marn keeps it [1]."
    assert sum(1 for ch in chunks if ch.choices[0].delta.content) >= 4  # word by word, not all at once
    statuses = [ch.longdoc["status"] for ch in chunks if (ch.model_extra or {}).get("longdoc", {}).get("status")]
    assert "plan" in statuses and "index: coast.txt" in statuses  # stored names never leak
    final = chunks[-1]
    assert final.choices[0].finish_reason == "stop"
    assert final.citations[0]["file_id"] == coast["id"] and final.usage.prompt_tokens > 0
    assert final.longdoc["mode"] == "rag"


def test_a_quiet_stream_sends_keepalive_comments(base, coast):
    body = {
        "model": "longdoc-rag",
        "stream": True,
        "file_ids": [coast["id"]],
        "messages": [{"role": "user", "content": SLOW_QUESTION}],
    }
    with httpx.stream("POST", f"{base}/v1/chat/completions", json=body, timeout=30) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        lines = [line for line in r.iter_lines() if line]
    assert ": keepalive" in lines  # sent after keepalive_seconds (1 s here) of silence
    assert lines[-1] == "data: [DONE]" and "Edda Marn" in "".join(lines)


def test_a_client_that_leaves_stops_its_question(base, coast, llm):
    before = len(llm.calls)
    body = {"model": "longdoc-rag", "file_ids": [coast["id"]], "messages": [{"role": "user", "content": SLOW_QUESTION}]}
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(f"{base}/v1/chat/completions", json=body, timeout=httpx.Timeout(30, read=0.5))
    time.sleep(3)  # the plan call (2 s) ends; the pipeline then sees that nobody waits
    assert [c.messages[0].content for c in llm.calls[before:]] == [EN.query_system]  # planned, never answered


def test_level_2_reading_progress_reaches_the_stream(client, coast):
    chunks = list(_ask(client, coast["id"], model="longdoc-read", stream=True))
    progress = [ch.longdoc["progress"] for ch in chunks if "progress" in (ch.model_extra or {}).get("longdoc", {})]
    assert progress and progress[0]["stage"] == "read" and progress[-1]["done"] <= progress[-1]["total"]
    assert chunks[-1].longdoc["mode"] == "read"
    assert "Edda Marn" in "".join(ch.choices[0].delta.content or "" for ch in chunks)


def test_follow_up_questions_keep_the_conversation(client, coast, llm):
    first = _ask(client, coast["id"])
    messages = [
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": QUESTION},
        {"role": "assistant", "content": first.choices[0].message.content},
        {"role": "user", "content": "When did she first light it?"},
    ]
    resp = _ask(client, coast["id"], messages=messages)
    assert resp.choices[0].message.content == "She first lit it in 1931 [1]."
    plan_prompt = llm.calls[-2].messages[-1].content
    assert "Karvo Point" in plan_prompt and "Edda Marn keeps it." in plan_prompt  # earlier turns, markers dropped
    assert "helpful assistant" not in plan_prompt


def test_failures_inside_a_question_are_reported(client, coast):
    with pytest.raises(openai.InternalServerError, match="scripted crash"):
        _ask(client, coast["id"], question=FAIL_QUESTION)
    with pytest.raises(openai.APIError, match="scripted crash"):
        list(_ask(client, coast["id"], question=FAIL_QUESTION, stream=True))


def test_without_file_ids_every_ready_document_is_used(base, coast):
    body = {"model": "longdoc-rag", "messages": [{"role": "user", "content": QUESTION}]}
    r = httpx.post(f"{base}/v1/chat/completions", json=body, timeout=30)
    assert r.status_code == 200 and r.json()["citations"][0]["file_id"] == coast["id"]


def test_concurrent_uploads_and_questions_do_not_interfere(base, coast):
    results: dict[str, object] = {}

    def upload(i: int) -> None:
        text = haystack(f"Buoy {i} is painted colour number {i * 7}.", n=60, at=i)
        r = httpx.post(f"{base}/v1/files", files={"file": (f"buoys-{i}.txt", text.encode())}, timeout=30)
        results[f"u{i}"] = r.json()["id"] if r.status_code == 200 else r.text

    def ask(i: int) -> None:
        c = openai.OpenAI(base_url=f"{base}/v1", api_key="unused", max_retries=0)
        try:
            if i % 2:
                stream = _ask(c, coast["id"], stream=True)
                results[f"a{i}"] = "".join(ch.choices[0].delta.content or "" for ch in stream)
            else:
                results[f"a{i}"] = _ask(c, coast["id"]).choices[0].message.content
        except Exception as e:  # collected: the assertion below shows it
            results[f"a{i}"] = e

    threads = [threading.Thread(target=upload, args=(i,)) for i in range(6)]
    threads += [threading.Thread(target=ask, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert [results[f"a{i}"] for i in range(12)] == ["Edda Marn keeps it [1]."] * 12, results
    ids = [results[f"u{i}"] for i in range(6)]
    done = wait_until_indexed(base, ids)
    assert all(f["status"] == "ready" and f["chunks"] >= 1 for f in done.values()), done
