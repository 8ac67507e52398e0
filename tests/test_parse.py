"""Tests for longdoc.parse: every format's happy path, encodings and bad inputs.

Fixture files are generated in tmp_path by the builders below.
"""

from __future__ import annotations

import hashlib
import io
import os
import time
import zipfile
from pathlib import Path

import pytest

from longdoc.errors import ParseError
from longdoc.parse import PARSERS, SUPPORTED_SUFFIXES, parse_bytes, parse_file
from longdoc.parse.common import MAX_BLOCK_CHARS, split_long
from longdoc.records import Document, full_text

ZH_TEXT = "第一章 总则\n\n为了规范长文档问答系统的开发，制定本规范。本规范适用于所有模块，包括解析、索引和检索。"


# ---------------------------------------------------------------- fixture builders


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def make_pdf(pages: list[list[str]], table_on_page: int | None = None, title: str = "") -> bytes:
    """A PDF with the given paragraphs per page; a Name/Qty table after the first paragraph
    of page `table_on_page` (1-based)."""
    from fpdf import FPDF

    pdf = FPDF()
    if title:
        pdf.set_title(title)
    pdf.set_font("helvetica", size=12)
    for number, paragraphs in enumerate(pages, start=1):
        pdf.add_page()
        for i, paragraph in enumerate(paragraphs):
            pdf.multi_cell(0, 10, paragraph)
            pdf.ln(5)
            if number == table_on_page and i == 0:
                with pdf.table() as table:
                    for cells in (("Name", "Qty"), ("apple", "3"), ("pear", "5")):
                        row = table.row()
                        for cell in cells:
                            row.cell(cell)
    return bytes(pdf.output())


def encrypt_pdf(data: bytes, user_password: str, owner_password: str = "owner") -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    writer.encrypt(user_password, owner_password)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def make_docx() -> bytes:
    """Title, headings (one Chinese), a table between two paragraphs, a merged header cell
    and a paragraph inside a content control (w:sdt)."""
    import docx
    from docx.oxml import parse_xml
    from docx.oxml.ns import nsdecls

    document = docx.Document()
    document.add_heading("Annual Report", level=0)
    document.add_heading("Intro", level=1)
    document.add_paragraph("Before the table.")
    table = document.add_table(rows=3, cols=2)
    for r, cells in enumerate((("Fruit", ""), ("apple", "3"), ("pear", "5"))):
        for c, value in enumerate(cells):
            table.cell(r, c).text = value
    table.cell(0, 0).merge(table.cell(0, 1))
    document.add_paragraph("After the table.")
    document.add_heading("细节", level=2)
    document.add_paragraph("北京是中国的首都。")
    document.add_heading("Second", level=1)
    last = document.add_paragraph("The end.")
    last._p.addnext(
        parse_xml(
            f"<w:sdt {nsdecls('w')}><w:sdtContent><w:p><w:r><w:t>In a content control</w:t>"
            "</w:r></w:p></w:sdtContent></w:sdt>"
        )
    )
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def make_pptx() -> bytes:
    """Slide 1: title, bullets, notes. Slide 2: text box, table, text box. Slide 3: no title."""
    import pptx
    from pptx.util import Inches

    prs = pptx.Presentation()
    slide = prs.slides.add_slide(prs.slide_layouts[1])
    slide.shapes.title.text = "Overview"
    slide.placeholders[1].text = "Point A\nPoint B"
    slide.notes_slide.notes_text_frame.text = "Remember to smile"

    slide = prs.slides.add_slide(prs.slide_layouts[5])
    slide.shapes.title.text = "Numbers"
    box = slide.shapes.add_textbox(Inches(1), Inches(1), Inches(3), Inches(1))
    box.text_frame.text = "Before the table"
    table = slide.shapes.add_table(2, 2, Inches(1), Inches(2), Inches(4), Inches(1)).table
    for (r, c), value in {(0, 0): "key", (0, 1): "value", (1, 0): "a", (1, 1): "1"}.items():
        table.cell(r, c).text = value
    box = slide.shapes.add_textbox(Inches(1), Inches(4), Inches(3), Inches(1))
    box.text_frame.text = "After the table"

    slide = prs.slides.add_slide(prs.slide_layouts[6])
    box = slide.shapes.add_textbox(Inches(1), Inches(1), Inches(3), Inches(1))
    box.text_frame.text = "中文幻灯片"
    out = io.BytesIO()
    prs.save(out)
    return out.getvalue()


def assert_offsets(doc: Document) -> None:
    text = full_text(doc.blocks)
    for block in doc.blocks:
        assert text[block.start : block.end] == block.text
    assert doc.blocks[-1].end == len(text)


def texts(doc: Document) -> list[str]:
    return [b.text for b in doc.blocks]


def cause_of(path: Path | str) -> str:
    with pytest.raises(ParseError) as info:
        parse_file(path)
    assert "\n" not in str(info.value)
    return info.value.cause


# ---------------------------------------------------------------- API and file handling


def test_supported_suffixes_match_registry() -> None:
    assert SUPPORTED_SUFFIXES == frozenset(PARSERS)
    expected = {".txt", ".md", ".markdown", ".html", ".htm", ".pdf", ".docx", ".pptx"}
    assert expected <= SUPPORTED_SUFFIXES


def test_parse_file_fills_document_fields(tmp_path: Path) -> None:
    data = b"Hello world.\n\nSecond paragraph."
    path = write(tmp_path, "Notes.TXT", data)
    doc = parse_file(path)
    assert doc.path == str(path)
    assert doc.name == "Notes.TXT"
    assert doc.format == "txt"
    assert doc.sha256 == hashlib.sha256(data).hexdigest()
    assert texts(doc) == ["Hello world.", "Second paragraph."]
    assert all(b.page is None and b.kind == "text" for b in doc.blocks)
    assert_offsets(doc)


def test_parse_bytes_uses_name_when_no_path() -> None:
    doc = parse_bytes(b"# T\n\nbody", "dir/readme.md")
    assert (doc.path, doc.name, doc.format) == ("dir/readme.md", "readme.md", "md")
    doc = parse_bytes(b"x", "a.txt", path="/somewhere/a.txt")
    assert doc.path == "/somewhere/a.txt"


def test_missing_file(tmp_path: Path) -> None:
    assert cause_of(tmp_path / "nope.xyz") == "no such file"


def test_directory(tmp_path: Path) -> None:
    assert cause_of(tmp_path) == "is a directory"


def test_fifo_is_not_read(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.txt"
    os.mkfifo(fifo)
    assert cause_of(fifo) == "not a regular file"


@pytest.mark.parametrize("name", ["data.xyz", "Makefile"])
def test_unsupported_suffix(tmp_path: Path, name: str) -> None:
    cause = cause_of(write(tmp_path, name, b"hello"))
    assert cause.startswith("unsupported file type")
    assert ("'.xyz'" in cause) == (name == "data.xyz")
    assert ".pdf" in cause and ".docx" in cause


def test_permission_denied(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, "secret.txt", b"hidden")

    def deny(self: Path) -> bytes:
        raise PermissionError(13, "Permission denied", str(self))

    # chmod does not stop root, so simulate the OS refusing the read.
    monkeypatch.setattr(Path, "read_bytes", deny)
    assert cause_of(path) == "permission denied"


@pytest.mark.parametrize("name", ["empty.txt", "empty.md", "empty.html", "empty.pdf", "empty.docx"])
def test_zero_byte_file(tmp_path: Path, name: str) -> None:
    assert cause_of(write(tmp_path, name, b"")) == "file is empty"


@pytest.mark.parametrize("name", ["blank.txt", "blank.md", "blank.html"])
def test_whitespace_only_file(tmp_path: Path, name: str) -> None:
    assert cause_of(write(tmp_path, name, b"  \n\n\t \r\n  ")) == "no text found"


def test_library_crash_becomes_one_line_parse_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def crash(data: bytes) -> None:
        raise RuntimeError("deep inside a library\nwith a second line")

    monkeypatch.setitem(PARSERS, ".txt", ("txt", crash))
    with pytest.raises(ParseError) as info:
        parse_bytes(b"hello", "x.txt")
    assert info.value.cause == "could not read this TXT file (RuntimeError: deep inside a library)"
    assert isinstance(info.value.__cause__, RuntimeError)


# ---------------------------------------------------------------- TXT


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(ZH_TEXT.encode("utf-8"), id="utf-8"),
        pytest.param(ZH_TEXT.encode("utf-8-sig"), id="utf-8-bom"),
        pytest.param(ZH_TEXT.encode("utf-16"), id="utf-16-bom"),
        pytest.param(b"\xfe\xff" + ZH_TEXT.encode("utf-16-be"), id="utf-16-be-bom"),
        pytest.param(ZH_TEXT.encode("gb18030"), id="gb18030"),
    ],
)
def test_txt_encodings_chinese(data: bytes) -> None:
    doc = parse_bytes(data, "zh.txt")
    assert texts(doc) == ZH_TEXT.split("\n\n")
    assert_offsets(doc)


@pytest.mark.parametrize("encoding", ["cp1252", "latin-1"])
def test_txt_encodings_western(encoding: str) -> None:
    text = "Grüße aus München! Schöne Äpfel, crème brûlée, naïve façade.\n\nZweiter Absatz: Öl."
    if encoding == "cp1252":
        text += " \u201cQuoted\u201d \u2014 5\u20ac."
    doc = parse_bytes(text.encode(encoding), "w.txt")
    assert texts(doc) == text.split("\n\n")


def test_txt_non_utf8_bytes_late_in_a_big_file() -> None:
    # Detection must look where the non-UTF-8 bytes are, not only at the (ASCII) start.
    data = b"plain ascii line\n" * 20_000 + "caf\u00e9 cr\u00e8me na\u00efve".encode("cp1252")
    assert parse_bytes(data, "late.txt").blocks[-1].text.endswith("café crème naïve")


def test_txt_keeps_markup_as_text() -> None:
    text = '<div class="x">Hello <b>there</b></div>\n<p>Tom & Jerry &amp; co</p>'
    text += "\n\n<script>alert(1)</script>"
    doc = parse_bytes(text.encode(), "page.txt")
    assert full_text(doc.blocks) == text


def test_txt_line_endings_normalised() -> None:
    doc = parse_bytes(b"one\r\ntwo\r\n\r\nthree\rfour", "crlf.txt")
    assert texts(doc) == ["one\ntwo", "three\nfour"]


def test_txt_paragraph_split_on_blank_lines_with_spaces() -> None:
    doc = parse_bytes(b"  first\n   \n\t\n\nsecond\nstill second\n\n\n", "p.txt")
    assert texts(doc) == ["first", "second\nstill second"]
    assert_offsets(doc)


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + os.urandom(2000), id="png"),
        pytest.param(b"\x7fELF\x02\x01\x01" + bytes(200) + os.urandom(500), id="elf"),
        pytest.param(os.urandom(5000), id="random"),
        pytest.param(bytes(range(1, 32)) * 100, id="control-chars"),
        pytest.param(None, id="zip"),
    ],
)
def test_binary_file_named_txt(tmp_path: Path, data: bytes | None) -> None:
    if data is None:
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as archive:
            archive.writestr("a.txt", "hello " * 100)
        data = out.getvalue()
    assert cause_of(write(tmp_path, "binary.txt", data)).startswith("looks like a binary file")


def test_huge_single_line_txt_is_split_into_bounded_blocks(tmp_path: Path) -> None:
    original = "lorem ipsum dolor sit amet " * 1_900_000  # ~51 MB, no newline
    path = tmp_path / "huge.txt"
    path.write_bytes(original.encode())
    started = time.perf_counter()
    doc = parse_file(path)
    elapsed = time.perf_counter() - started
    assert len(doc.blocks) > 2000
    assert max(len(b.text) for b in doc.blocks) <= MAX_BLOCK_CHARS
    # Cuts fall on spaces, so no word is broken and nothing is lost.
    assert full_text(doc.blocks).replace("\n\n", " ") == original.strip()
    assert_offsets(doc)
    assert elapsed < 30  # generous: only guards against pathological slowness


def test_split_long_prefers_sentence_ends() -> None:
    text = "Alpha beta gamma delta. Epsilon zeta eta theta iota kappa lambda mu"
    pieces = split_long(text, limit=40)
    assert pieces[0] == "Alpha beta gamma delta."
    assert all(len(p) <= 40 for p in pieces)
    assert " ".join(pieces) == text
    assert split_long("x" * 25, limit=10) == ["x" * 10, "x" * 10, "x" * 5]
    assert split_long("甲乙丙丁戊。己庚辛壬癸子丑", limit=8)[0] == "甲乙丙丁戊。"
    # The chunker's sentence rule: a closing quote stays with its sentence, "3.5" is no end.
    assert split_long('He said "Stop it." Then version 3.5 came out', limit=30)[0] == 'He said "Stop it."'
    assert split_long("他说：“快走。”我们就走了，走得很远很远很远", limit=12)[0] == "他说：“快走。”"


# ---------------------------------------------------------------- Markdown


MARKDOWN = """---
title: Front matter title
---
# Guide

Intro with **bold**, _em_, `code` and a [link](https://example.org).

## Install

- step one
- step two
  - nested step

| Name | Qty |
|------|-----|
| apple | 3 |

After the table.

```python
print("hi")
```

# 第二部分

> 引用的中文段落。
"""


def test_markdown_blocks_headings_and_table(tmp_path: Path) -> None:
    doc = parse_file(write(tmp_path, "guide.md", MARKDOWN.encode()))
    assert doc.format == "md"
    assert doc.title == "Guide"
    got = [(b.kind, b.text, b.heading) for b in doc.blocks]
    assert got == [
        ("text", "title: Front matter title", ()),
        ("heading", "Guide", ("Guide",)),
        ("text", "Intro with bold, em, code and a link (https://example.org).", ("Guide",)),
        ("heading", "Install", ("Guide", "Install")),
        ("text", "- step one\n- step two\n  - nested step", ("Guide", "Install")),
        ("table", "Name | Qty\napple | 3", ("Guide", "Install")),
        ("text", "After the table.", ("Guide", "Install")),
        ("text", 'print("hi")', ("Guide", "Install")),
        ("heading", "第二部分", ("第二部分",)),
        ("text", "引用的中文段落。", ("第二部分",)),
    ]
    assert_offsets(doc)


def test_markdown_gb18030_and_markdown_suffix() -> None:
    text = "# 标题\n\n" + ZH_TEXT
    doc = parse_bytes(text.encode("gb18030"), "zh.markdown")
    assert doc.blocks[0].text == "标题"
    assert doc.blocks[-1].text.startswith("为了规范")
    assert doc.blocks[-1].heading == ("标题",)


# ---------------------------------------------------------------- HTML


HTML = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title> Test   Page </title>
<style>body { color: red }</style><script>var hidden = 1;</script></head>
<body>
<nav><a href="/">Home</a> | <a href="/about">About</a></nav>
<h1>Main Title</h1>
<p>First <b>bold</b> paragraph<br>with a line break.</p>
<h2>Data</h2>
<p>Before the table.</p>
<table><tr><th>Name</th><th>Qty</th></tr><tr><td>apple</td><td>3</td></tr></table>
<p>After the table.</p>
<ul><li>item one</li><li>item two</li></ul>
<blockquote>A quotation.</blockquote>
<pre>  indented
    code</pre>
<noscript>Enable JS</noscript><template><p>template text</p></template>
<h2>中文</h2><div>北京是中国的首都。</div>
</body></html>"""


def test_html_blocks_headings_and_table(tmp_path: Path) -> None:
    doc = parse_file(write(tmp_path, "page.html", HTML.encode()))
    assert doc.format == "html"
    assert doc.title == "Test Page"
    got = [(b.kind, b.text, b.heading) for b in doc.blocks]
    assert got == [
        ("heading", "Main Title", ("Main Title",)),
        ("text", "First bold paragraph\nwith a line break.", ("Main Title",)),
        ("heading", "Data", ("Main Title", "Data")),
        ("text", "Before the table.", ("Main Title", "Data")),
        ("table", "Name | Qty\napple | 3", ("Main Title", "Data")),
        ("text", "After the table.", ("Main Title", "Data")),
        ("text", "item one", ("Main Title", "Data")),
        ("text", "item two", ("Main Title", "Data")),
        ("text", "A quotation.", ("Main Title", "Data")),
        ("text", "indented\n    code", ("Main Title", "Data")),
        ("heading", "中文", ("Main Title", "中文")),
        ("text", "北京是中国的首都。", ("Main Title", "中文")),
    ]
    for dropped in ("hidden", "Home", "Enable JS", "template text", "color"):
        assert dropped not in full_text(doc.blocks)
    assert_offsets(doc)


def test_html_meta_charset_gbk() -> None:
    page = '<html><head><meta http-equiv="Content-Type" content="text/html; charset=gb2312">'
    page += "<title>中文标题</title></head><body><p>北京是中国的首都。</p></body></html>"
    doc = parse_bytes(page.encode("gb18030"), "zh.htm")
    assert doc.title == "中文标题"
    assert texts(doc) == ["北京是中国的首都。"]


def test_html_layout_table_is_read_as_content() -> None:
    page = "<table><tr><td><h1>Head</h1><p>Body text</p><table><tr><td>a</td><td>b</td></tr>"
    page += "</table></td></tr></table>"
    doc = parse_bytes(page.encode(), "layout.html")
    assert [(b.kind, b.text) for b in doc.blocks] == [
        ("heading", "Head"),
        ("text", "Body text"),
        ("table", "a | b"),
    ]


# ---------------------------------------------------------------- PDF


def test_pdf_pages_and_table_in_place(tmp_path: Path) -> None:
    data = make_pdf(
        [
            ["Page one opening paragraph."],
            ["Page two before the table.", "Page two after the table."],
        ],
        table_on_page=2,
        title="My PDF",
    )
    doc = parse_file(write(tmp_path, "doc.pdf", data))
    assert doc.format == "pdf"
    assert doc.title == "My PDF"
    assert [b.page for b in doc.blocks][0] == 1
    page2 = "\n".join(b.text for b in doc.blocks if b.page == 2)
    in_order = ("before the table", "Name", "apple", "pear", "after the table")
    positions = [page2.index(s) for s in in_order]
    assert positions == sorted(positions)
    assert "Page one opening paragraph." in "\n".join(b.text for b in doc.blocks if b.page == 1)
    assert_offsets(doc)


def test_pdf_encrypted_with_password(tmp_path: Path) -> None:
    data = encrypt_pdf(make_pdf([["Secret text."]]), user_password="s3cret")
    assert cause_of(write(tmp_path, "locked.pdf", data)) == "PDF is encrypted (password required)"


def test_pdf_encrypted_with_empty_user_password_is_read(tmp_path: Path) -> None:
    data = encrypt_pdf(make_pdf([["Open to all readers."]]), user_password="")
    doc = parse_file(write(tmp_path, "restricted.pdf", data))
    assert "Open to all readers." in full_text(doc.blocks)


def test_pdf_truncated_is_reported_without_log_noise(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    data = make_pdf([["Some text."], ["More text."]])
    cause = cause_of(write(tmp_path, "cut.pdf", data[: len(data) // 2]))
    assert cause == "not a valid PDF (truncated or corrupt)"
    assert capfd.readouterr().err == ""


def test_pdf_not_a_pdf(tmp_path: Path) -> None:
    cause = cause_of(write(tmp_path, "fake.pdf", b"<html>not a pdf</html>"))
    assert cause == "not a PDF file (no %PDF header)"


def test_pdf_without_text(tmp_path: Path) -> None:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.rect(20, 20, 100, 100, style="F")  # a drawing, like a scanned page: no text layer
    cause = cause_of(write(tmp_path, "scan.pdf", bytes(pdf.output())))
    assert cause == "no extractable text (scanned PDF? OCR is not supported)"


# ---------------------------------------------------------------- DOCX


def test_docx_order_headings_and_table(tmp_path: Path) -> None:
    doc = parse_file(write(tmp_path, "report.docx", make_docx()))
    assert doc.format == "docx"
    assert doc.title == "Annual Report"
    got = [(b.kind, b.text, b.heading) for b in doc.blocks]
    assert got == [
        ("heading", "Annual Report", ("Annual Report",)),
        ("heading", "Intro", ("Annual Report", "Intro")),
        ("text", "Before the table.", ("Annual Report", "Intro")),
        ("table", "Fruit\napple | 3\npear | 5", ("Annual Report", "Intro")),
        ("text", "After the table.", ("Annual Report", "Intro")),
        ("heading", "细节", ("Annual Report", "Intro", "细节")),
        ("text", "北京是中国的首都。", ("Annual Report", "Intro", "细节")),
        ("heading", "Second", ("Annual Report", "Second")),
        ("text", "The end.", ("Annual Report", "Second")),
        ("text", "In a content control", ("Annual Report", "Second")),
    ]
    assert all(b.page is None for b in doc.blocks)
    assert_offsets(doc)


def test_docx_custom_style_based_on_heading() -> None:
    import docx
    from docx.enum.style import WD_STYLE_TYPE

    document = docx.Document()
    style = document.styles.add_style("Chapter Head", WD_STYLE_TYPE.PARAGRAPH)
    style.base_style = document.styles["Heading 1"]
    document.add_paragraph("Chapter One", style="Chapter Head")
    document.add_paragraph("Body.")
    out = io.BytesIO()
    document.save(out)
    doc = parse_bytes(out.getvalue(), "styled.docx")
    assert [(b.kind, b.heading) for b in doc.blocks] == [
        ("heading", ("Chapter One",)),
        ("text", ("Chapter One",)),
    ]


def test_docx_not_a_zip(tmp_path: Path) -> None:
    cause = cause_of(write(tmp_path, "bad.docx", b"This is plain text."))
    assert cause == "not a valid DOCX (zip) file"


def test_docx_zip_without_word_parts(tmp_path: Path) -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("hello.txt", "hi")
    cause = cause_of(write(tmp_path, "parts.docx", out.getvalue()))
    assert cause == "not a valid DOCX file (required parts are missing)"


def test_docx_that_is_really_a_pptx(tmp_path: Path) -> None:
    cause = cause_of(write(tmp_path, "slides.docx", make_pptx()))
    assert cause == "not a DOCX file (it holds another kind of Office document)"


def test_docx_password_protected_or_old_doc(tmp_path: Path) -> None:
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(512)
    cause = cause_of(write(tmp_path, "old.docx", ole))
    assert "password-protected or an old binary Office file" in cause


# ---------------------------------------------------------------- PPTX


def test_pptx_slides_titles_tables_notes(tmp_path: Path) -> None:
    doc = parse_file(write(tmp_path, "deck.pptx", make_pptx()))
    assert doc.format == "pptx"
    assert doc.title == "Overview"
    got = [(b.page, b.kind, b.text, b.heading) for b in doc.blocks]
    assert got == [
        (1, "heading", "Overview", ("Overview",)),
        (1, "text", "Point A\nPoint B", ("Overview",)),
        (1, "text", "Speaker notes: Remember to smile", ("Overview",)),
        (2, "heading", "Numbers", ("Numbers",)),
        (2, "text", "Before the table", ("Numbers",)),
        (2, "table", "key | value\na | 1", ("Numbers",)),
        (2, "text", "After the table", ("Numbers",)),
        (3, "text", "中文幻灯片", ()),
    ]
    assert_offsets(doc)


def test_pptx_corrupt(tmp_path: Path) -> None:
    data = make_pptx()
    cause = cause_of(write(tmp_path, "cut.pptx", data[: len(data) // 2]))
    assert cause == "not a valid PPTX (zip) file"


# ---------------------------------------------------------------- limits and hostile input


def test_a_file_over_the_time_or_text_budget_gets_a_one_line_error() -> None:
    from longdoc.parse.limits import ParseLimits, parsing_within

    text = ("A paragraph about the harbour.\n\n" * 50).encode()
    with parsing_within(ParseLimits(seconds=0.0)), pytest.raises(ParseError, match=r"^slow.txt: took longer than 0 s"):
        parse_bytes(text, "slow.txt")
    with parsing_within(ParseLimits(max_chars=100)), pytest.raises(ParseError, match="more than 100 characters"):
        parse_bytes(text, "big.txt")
    assert parse_bytes(text, "fine.txt").blocks  # each file gets a budget of its own


def test_pdf_pages_that_fail_are_reported_with_the_file_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from pypdf import PageObject

    real = PageObject.extract_text
    calls = []

    def second_page_fails(self: PageObject, *a: object, **k: object) -> str:
        calls.append(1)
        if len(calls) == 2:
            raise ValueError("damaged content stream")
        return real(self, *a, **k)

    monkeypatch.setattr(PageObject, "extract_text", second_page_fails)
    path = write(tmp_path, "report.pdf", make_pdf([["Page one."], ["Page two."], ["Page three."]]))
    doc = parse_file(path)
    assert [b.page for b in doc.blocks] == [1, 3]
    assert f"{path}: skipped 1 of 3 PDF pages: text extraction failed" in caplog.messages


def test_html_layout_detection_is_linear_in_nested_tables() -> None:
    # 20,000 nested tables: a CSS query per table made this take minutes.
    started = time.perf_counter()
    doc = parse_bytes(b"<table><tr><td>" * 20_000 + b"cell" + b"</td></tr></table>" * 20_000, "t.html")
    assert [b.text for b in doc.blocks] == ["cell"]
    assert time.perf_counter() - started < 30  # a hang detector, not a speed goal: it takes about 1 s


def test_html_nested_too_deep_is_refused_in_one_line() -> None:
    with pytest.raises(ParseError, match="nested 10,000 elements deep"):
        parse_bytes(b"<div>" * 10_000 + b"text", "deep.html")


@pytest.mark.parametrize("charset", ["base64", "zlib_codec", "rot13", "utf-7", "no-such-charset"])
def test_html_charset_that_is_not_a_text_encoding_is_ignored(charset: str) -> None:
    data = f'<meta charset="{charset}"><p>Café au lait, 咖啡</p>'.encode()
    assert parse_bytes(data, "page.html").blocks[0].text == "Café au lait, 咖啡"


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be", "utf-32-le"])
def test_txt_without_a_byte_order_mark_in_utf16_or_32(encoding: str) -> None:
    text = "The lighthouse keeper, Edda Marn. 灯塔的看守人。"
    assert parse_bytes(text.encode(encoding), "w.txt").blocks[0].text == text


def test_txt_mixing_utf8_and_latin1_lines_is_read_line_by_line() -> None:
    data = "Première ligne : café.\n".encode() + "Deuxième ligne : thé.\n".encode("latin-1")
    assert parse_bytes(data, "mixed.txt").blocks[0].text == "Première ligne : café.\nDeuxième ligne : thé."


def test_docx_zip_bomb_is_refused_before_it_is_inflated() -> None:
    from longdoc.bench.fuzz import _zeros_member_zip
    from longdoc.parse.limits import MiB, ParseLimits, parsing_within

    bomb = _zeros_member_zip(make_docx(), "word/media/zeros.bin", 40 * MiB)
    assert len(bomb) < 200_000
    with (
        parsing_within(ParseLimits(max_inflated_bytes=32 * MiB)),
        pytest.raises(ParseError, match=r"^bomb.docx: this DOCX inflates to 4\d MiB, over the limit of 32 MiB"),
    ):
        parse_bytes(bomb, "bomb.docx")


def test_a_stray_nul_in_english_text_is_not_read_as_utf16() -> None:
    text = b"The lighthouse keeper lives on the point.\n\nAnother paragraph here."
    with pytest.raises(ParseError, match="binary"):
        parse_bytes(text[:10] + b"\x00" + text[10:], "a.txt")
