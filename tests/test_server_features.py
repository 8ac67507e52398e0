"""The server's collections, folder paths, duplicate uploads, PDF pages,
Markdown answers and failure reasons in Chinese, over real HTTP."""

from __future__ import annotations

import re

import httpx
import pytest

from live_server import NEEDLE, QUESTION, haystack, reader_model, serve, wait_until_indexed
from longdoc.config import Settings
from longdoc.llm.scripted import ScriptedLLM
from longdoc.prompts import EN
from longdoc.server import ServerOptions, create_app
from longdoc.server.i18n import translate
from test_parse import make_pdf

TABLE_QUESTION = "List who keeps the lighthouse on Karvo Point as a table"
MARKDOWN = (
    "Lighthouse keepers of the northern coast:\n\n| keeper | first lit |\n|---|---|\n| Edda Marn [1] | 1931 |\n\n"
    "- harbour\n- boats\n\n<script>alert(1)</script>"
)
PDF_FACT = NEEDLE
ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}


def model(messages):
    """reader_model, and a Markdown answer for TABLE_QUESTION (in the passage's words:
    an answer whose words the passages lack is withdrawn)."""
    if messages[0].content == EN.answer_system and "as a table" in messages[-1].content:
        return MARKDOWN
    return reader_model(messages)


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    settings = Settings(backend="scripted", home=tmp_path_factory.mktemp("home"))
    app = create_app(settings, llm=ScriptedLLM(model), options=ServerOptions(max_upload_bytes=512 * 1024))
    with serve(app) as url:
        yield url


def _upload(base, name, data, path=None, collection=None, headers=None):
    form = {k: v for k, v in (("path", path), ("collection_id", collection)) if v}
    r = httpx.post(f"{base}/v1/files", files={"file": (name, data)}, data=form, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


def _ready(base, f):
    return wait_until_indexed(base, [f["id"]])[f["id"]]


def _chat(base, **body):
    body = {"model": "longdoc-rag", "messages": [{"role": "user", "content": QUESTION}], **body}
    return httpx.post(f"{base}/v1/chat/completions", json=body, timeout=30, headers=body.pop("headers", None))


def test_the_same_bytes_uploaded_twice_are_stored_once_and_said_so(base):
    first = _upload(base, "tides.txt", b"High tide is at six in the evening.")
    again = _upload(base, "tides copy.txt", b"High tide is at six in the evening.")
    assert first["duplicate"] is False and again["duplicate"] is True
    assert again["id"] == first["id"] and again["filename"] == "tides.txt"
    listed = [f["id"] for f in httpx.get(f"{base}/v1/files").json()["data"]]
    assert listed.count(first["id"]) == 1


def test_folder_paths_are_kept_and_same_named_files_are_cited_apart(base):
    north = _upload(base, "notes.md", f"# North\n\n{NEEDLE}\n".encode(), path="harbours/north/notes.md")
    south = _upload(base, "notes.md", f"# South\n\n{NEEDLE} South.\n".encode(), path="../../harbours/south/notes.md")
    assert north["path"] == "harbours/north/notes.md" and south["path"] == "harbours/south/notes.md"
    assert north["filename"] == "notes.md"
    _ready(base, north), _ready(base, south)
    r = _chat(base, file_ids=[north["id"], south["id"]])
    assert r.status_code == 200, r.text
    assert {c["file"] for c in r.json()["citations"]} <= {"north/notes.md", "south/notes.md"}
    assert r.json()["citations"]


def test_collections_group_files_and_are_asked_as_one(base):
    coll = httpx.post(f"{base}/v1/collections", json={"name": "Harbour"}).json()
    assert coll["id"].startswith("col-") and coll["file_ids"] == []
    empty = _chat(base, collection_id=coll["id"])
    assert empty.status_code == 400 and "has no documents" in empty.json()["error"]["message"]
    inside = _upload(base, "coast.txt", haystack().encode(), collection=coll["id"])
    outside = _upload(base, "other.txt", b"Nothing about lighthouses here at all.")
    assert httpx.get(f"{base}/v1/collections/{coll['id']}").json()["file_ids"] == [inside["id"]]
    _ready(base, inside), _ready(base, outside)
    r = _chat(base, collection_id=coll["id"])
    assert r.status_code == 200 and r.json()["citations"][0]["file_id"] == inside["id"]

    added = httpx.post(f"{base}/v1/collections/{coll['id']}/files", json={"file_ids": [outside["id"]]}).json()
    assert added["file_ids"] == [inside["id"], outside["id"]]
    renamed = httpx.patch(f"{base}/v1/collections/{coll['id']}", json={"name": "Coast"}).json()
    assert renamed["name"] == "Coast"
    assert httpx.post(f"{base}/v1/collections", json={"name": "Coast"}).status_code == 409
    assert httpx.post(f"{base}/v1/collections", json={"name": "  "}).status_code == 400
    removed = httpx.delete(f"{base}/v1/collections/{coll['id']}/files/{outside['id']}").json()
    assert removed["file_ids"] == [inside["id"]]
    httpx.delete(f"{base}/v1/files/{inside['id']}")  # a deleted file leaves its collections
    assert httpx.get(f"{base}/v1/collections/{coll['id']}").json()["file_ids"] == []
    assert httpx.delete(f"{base}/v1/collections/{coll['id']}").json()["deleted"] is True
    assert httpx.get(f"{base}/v1/collections/{coll['id']}").status_code == 404
    assert httpx.get(f"{base}/v1/files/{outside['id']}").status_code == 200  # its files stay
    r = httpx.post(f"{base}/v1/files", files={"file": ("a.txt", b"x")}, data={"collection_id": "col-" + "0" * 24})
    assert r.status_code == 404 and "no such collection" in r.json()["error"]["message"]
    assert _chat(base, collection_id="col-nope").status_code == 404


def test_answers_come_rendered_as_sanitised_markdown(base):
    coast = _ready(base, _upload(base, "karvo.txt", haystack(n=30, at=10).encode()))
    body = {"messages": [{"role": "user", "content": TABLE_QUESTION}], "file_ids": [coast["id"]]}
    r = _chat(base, **body)
    html = r.json()["longdoc"]["answer_html"]
    assert r.json()["choices"][0]["message"]["content"] == MARKDOWN
    assert "<table>" in html and "<td>Edda Marn [1]</td>" in html and "<li>harbour</li>" in html
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_pdf_pages_render_and_the_quote_is_found_on_its_page(base):
    pdf = make_pdf([["The first page is about the cranes on the quay."], ["Some words first.", PDF_FACT]])
    f = _ready(base, _upload(base, "ledger.pdf", pdf))
    image = httpx.get(f"{base}/v1/files/{f['id']}/pages/2/image")
    assert image.status_code == 200 and image.headers["content-type"] == "image/png"
    assert image.content.startswith(b"\x89PNG")
    found = httpx.get(f"{base}/v1/files/{f['id']}/pages/2/quote", params={"text": PDF_FACT}).json()
    assert found["boxes"], found
    for b in found["boxes"]:
        assert 0 <= b["x"] < 1 and 0 <= b["y"] < 0.5 and 0 < b["w"] <= 1 and 0 < b["h"] < 0.1  # near the top
    # pypdf's line breaks differ from PDFium's: the quote as a citation gives it still matches
    spaced = re.sub(r" ", "\n", PDF_FACT, count=3)
    assert httpx.get(f"{base}/v1/files/{f['id']}/pages/2/quote", params={"text": spaced}).json()["boxes"]
    assert httpx.get(f"{base}/v1/files/{f['id']}/pages/1/quote", params={"text": PDF_FACT}).json()["boxes"] == []
    missing = httpx.get(f"{base}/v1/files/{f['id']}/pages/9/image")
    assert missing.status_code == 404 and "has no page 9" in missing.json()["error"]["message"]
    txt = _upload(base, "plain.txt", b"Just text.")
    assert httpx.get(f"{base}/v1/files/{txt['id']}/pages/1/image").status_code == 400
    cited = _chat(base, file_ids=[f["id"]]).json()["citations"][0]
    assert cited["page"] == 2
    passage = httpx.get(f"{base}/v1/files/{f['id']}/passages/{cited['chunk_id']}").json()
    assert passage["format"] == "pdf" and passage["page"] == 1  # one chunk: the quote's page is what counts


def test_failure_reasons_come_in_chinese_when_asked_for(base):
    empty = _ready(base, _upload(base, "空.txt", b"   \n", headers=ZH))
    zh_file = httpx.get(f"{base}/v1/files/{empty['id']}", headers=ZH).json()
    assert zh_file["status_details"] == "没有找到文字"
    assert httpx.get(f"{base}/v1/files/{empty['id']}").json()["status_details"] == "no text found"
    cases = [
        _chat(base, messages=[{"role": "user", "content": " "}], headers=ZH),
        _chat(base, model="gpt-4o", headers=ZH),
        _chat(base, file_ids=[empty["id"]], headers=ZH),
        _chat(base, messages=[{"role": "user", "content": "x" * 5000}], headers=ZH),
        httpx.post(f"{base}/v1/files", files={"file": ("tool.exe", b"MZ")}, headers=ZH),
        httpx.post(f"{base}/v1/files", json={}, headers=ZH),
        httpx.get(f"{base}/v1/files/file-000000000000000000000000", headers=ZH),
        httpx.post(f"{base}/v1/chat/completions", content=b"[1]", headers=ZH),
        httpx.get(f"{base}/v1/files", headers={**ZH, "Origin": "https://attacker.example"}),
    ]
    for r in cases:
        message = r.json()["error"]["message"]
        assert re.search(r"[\u4e00-\u9fff]", message), message
        english = re.sub(
            r"'[^']*'|\S*[./]\S*|file-\w+|gpt-4o|longdoc-\w+|longdoc|[A-Z]\w+Error|%PDF|OCR|PDF|JSON", "", message
        )
        assert not re.search(r"[A-Za-z]{4,}", english), message


def test_every_catalog_entry_translates_a_message_in_english():
    messages = [
        "notes.md: file is empty",
        "x.pdf: could not read this PDF file (PdfReadError: EOF marker not found)",
        "a.pdf (file-0123456789abcdef01234567) could not be indexed: PDF is encrypted (password required)",
        "the question is 5,000 characters; the limit is 4,000",
    ]
    expected = [
        "notes.md：文件是空的",
        "x.pdf：无法读取这个 PDF 文件（PdfReadError: EOF marker not found）",
        "a.pdf（file-0123456789abcdef01234567）未能建立索引：PDF 已加密（需要密码）",
        "问题有 5,000 个字符，上限是 4,000",
    ]
    assert [translate(m, "zh") for m in messages] == expected
    assert translate("notes.md: something new", "zh") == "notes.md: something new"  # unknown: left as it is
    assert translate("file is empty", "en") == "file is empty"
