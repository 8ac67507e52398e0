"""Hostile input for the parsers: seeded mutants of a sample of every supported
format, and crafted files that attack known weak spots (zip bombs, nesting,
huge counts, lying encodings).

The rule each file is held to: it ends in a result (a parsed, chunked,
tokenised document) or in a `ParseError` with a one-line message naming the
file, within the parse budget; never another exception. `tests/test_fuzz.py`
runs a few hundred mutants per format and every crafted file;
`benchmarks/fuzz.py` runs thousands and prints the counts.
"""

from __future__ import annotations

import io
import random
import time
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache

from ..chunk import ChunkSettings, chunk_document
from ..errors import ParseError
from ..index.terms import Analyzer
from ..parse import parse_bytes
from ..parse.limits import ParseLimits, parsing_within
from ..tokens import EstimateCounter

FORMATS = ("txt", "md", "html", "pdf", "docx", "pptx")

_EN = (
    "The lighthouse on Karvo Point is kept by Edda Marn, who first lit it in 1931. "
    "Fishermen mended their nets along the quay while gulls argued over the catch."
)
_ZH = "卡尔沃角灯塔的看守人是一位名叫艾达·马恩的女士。渔民们在码头上修补渔网。"

# Byte strings that mean something to one of the parsers: inserted, they push a
# mutant down paths random bytes rarely reach.
_TOKENS = (
    b"<table><tr><td>",
    b"</td></tr></table>",
    b"<div>" * 50,
    b"<h1>",
    b"<pre>",
    b"<br>",
    b'<meta charset="base64">',
    b"<!--",
    b"<![CDATA[",
    b"&#0;",
    b"&amp;" * 20,
    b"# ",
    b"\n| a | b |\n|---|---|\n",
    b"```\n",
    b"> " * 40,
    b"- " * 40,
    b"[x](",
    b"\x00",
    b"\xff\xfe",
    b"\xfe\xff",
    b"\xef\xbb\xbf",
    b"\r",
    b"\x1b[31m",
    "灯塔🙂".encode(),
    b"%PDF-1.7\n",
    b"endobj\n",
    b"stream\n",
    b"endstream\n",
    b"/Type /Page ",
    b"/Kids [",
    b"<< /Length 999999999 >>",
    b"xref\n0 1\n",
    b"trailer\n",
    b"<w:p><w:r><w:t>",
    b"</w:t></w:r></w:p>",
    b"<w:tbl>",
    b'<!DOCTYPE x [<!ENTITY a "aaaa">]>',
    b"<p:sp>",
    b"PK\x03\x04",
)


# -- seeds: one valid sample per format -------------------------------------------


def _txt() -> bytes:
    return f"{_EN}\n\n{_ZH}\n\nПривет, мир.\n".encode()


def _md() -> bytes:
    text = (
        f"# Harbour\n\n{_EN}\n\n## 港口\n\n{_ZH}\n\n- one\n- two\n  1. nested\n\n"
        "| a | b |\n|---|---|\n| 1 | 2 |\n\n```\ncode\n```\n\n<div><b>raw html</b></div>\n"
    )
    return text.encode()


def _html() -> bytes:
    return (
        '<html><head><meta charset="utf-8"><title>Harbour</title></head><body>'
        f"<h1>Harbour</h1><p>{_EN}</p><table><tr><th>a</th><td>b</td></tr></table>"
        f"<table><tr><td><h2>Layout</h2><p>{_ZH}</p></td></tr></table><pre>pre\ntext</pre>"
        "<ul><li>one<br>two</li></ul></body></html>"
    ).encode()


def _pdf() -> bytes:
    """A two-page PDF written by hand (the fpdf2 the tests use is a dev extra)."""
    pages = ["The lighthouse on Karvo Point is kept by Edda Marn.", "She first lit it in 1931."]
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b""]
    kids = []
    for text in pages:
        content = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content))
        content_id = len(objects)
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents %d 0 R "
            b"/Resources << /Font << /F1 << /Type /Font /Subtype /Type1 /BaseFont /Helvetica >> >> >> >>" % content_id
        )
        kids.append(len(objects))
    objects[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (b" ".join(b"%d 0 R" % k for k in kids), len(kids))
    return _pdf_file(objects)


def _pdf_file(objects: list[bytes]) -> bytes:
    out = io.BytesIO()
    out.write(b"%PDF-1.7\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n%s\nendobj\n" % (number, body))
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


def _docx() -> bytes:
    import docx

    document = docx.Document()
    document.add_heading("Harbour", level=1)
    document.add_paragraph(_EN)
    document.add_paragraph(_ZH)
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text, table.cell(1, 1).text = "a", "b"
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def _pptx() -> bytes:
    import pptx
    from pptx.util import Inches

    presentation = pptx.Presentation()
    for title, body in (("Harbour", _EN), ("港口", _ZH)):
        slide = presentation.slides.add_slide(presentation.slide_layouts[1])
        slide.shapes.title.text = title
        slide.placeholders[1].text = body
        slide.notes_slide.notes_text_frame.text = "notes"
    slide = presentation.slides.add_slide(presentation.slide_layouts[5])
    slide.shapes.add_table(2, 2, Inches(1), Inches(2), Inches(4), Inches(1)).table.cell(0, 0).text = "a"
    out = io.BytesIO()
    presentation.save(out)
    return out.getvalue()


_SEEDS: dict[str, Callable[[], bytes]] = {
    "txt": _txt,
    "md": _md,
    "html": _html,
    "pdf": _pdf,
    "docx": _docx,
    "pptx": _pptx,
}


@cache
def seed(fmt: str) -> bytes:
    return _SEEDS[fmt]()


# -- mutants ----------------------------------------------------------------------


def _mutate_bytes(data: bytes, rng: random.Random) -> bytes:
    """One to four random edits: flips, inserted tokens or junk, cut, repeated or swapped ranges."""
    buf = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        if not buf:
            buf.extend(rng.choice(_TOKENS))
            continue
        at = rng.randrange(len(buf))
        op = rng.randrange(7)
        if op == 0:
            for _ in range(rng.randint(1, 8)):
                buf[rng.randrange(len(buf))] = rng.randrange(256)
        elif op == 1:
            buf[at:at] = rng.choice(_TOKENS) * rng.choice((1, 1, 2, 10, 200))
        elif op == 2:
            buf[at:at] = rng.randbytes(rng.randint(1, 64))
        elif op == 3:
            del buf[at : at + rng.randint(1, max(1, len(buf) // 4))]
        elif op == 4:
            del buf[rng.randint(0, len(buf)) :]
        elif op == 5:
            piece = bytes(buf[at : at + rng.randint(1, 256)])
            buf[at:at] = piece * rng.randint(1, 50)
        else:
            other = rng.randrange(len(buf))
            n = rng.randint(1, 64)
            buf[at : at + n], buf[other : other + n] = buf[other : other + n], buf[at : at + n]
    return bytes(buf)


def _mutate_zip(data: bytes, rng: random.Random) -> bytes:
    """Mutate one member of an OOXML package and zip it again, so the XML reader
    itself meets the damage; or, one time in four, the zip's own bytes."""
    if rng.random() < 0.25:
        return _mutate_bytes(data, rng)
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        members = [(info, z.read(info)) for info in z.infolist()]
    target = rng.randrange(len(members))
    xml = [i for i, (info, _) in enumerate(members) if info.filename.endswith(".xml")]
    if xml and rng.random() < 0.8:
        target = rng.choice(xml)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for i, (info, content) in enumerate(members):
            if i == target:
                if rng.random() < 0.1:
                    continue  # a missing part
                content = _mutate_bytes(content, rng)
            z.writestr(info.filename, content)
    return out.getvalue()


def mutants(fmt: str, count: int, seed_value: int = 0) -> Iterator[tuple[str, bytes]]:
    """`count` mutants of the format's sample, the same ones for the same seed."""
    rng = random.Random(f"{fmt}:{seed_value}")
    base = seed(fmt)
    mutate = _mutate_zip if fmt in ("docx", "pptx") else _mutate_bytes
    for i in range(count):
        yield f"mutant-{seed_value}-{i:05d}.{fmt}", mutate(base, rng)


# -- crafted hostile files --------------------------------------------------------


def _zip(members: dict[str, bytes], level: int = 9) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as z:
        for name, content in members.items():
            z.writestr(name, content)
    return out.getvalue()


def _with_member(package: bytes, name: str, content: bytes) -> bytes:
    with zipfile.ZipFile(io.BytesIO(package)) as z:
        members = {info.filename: z.read(info) for info in z.infolist()}
    members[name] = content
    return _zip(members)


def _zeros_member_zip(package: bytes, name: str, inflated: int) -> bytes:
    """`package` with one more member that inflates to `inflated` zero bytes,
    deflated in pieces so building it costs little memory."""
    return _bloated_part(package, name, b"", bytes(1 << 20), b"", inflated)


def _bloated_part(package: bytes, name: str, head: bytes, filler: bytes, tail: bytes, inflated: int) -> bytes:
    """`package` with part `name` replaced by head + filler repeated to about
    `inflated` bytes + tail: a part the library does read, unlike an unreferenced one."""
    with zipfile.ZipFile(io.BytesIO(package)) as z:
        members = {info.filename: z.read(info) for info in z.infolist() if info.filename != name}
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for member, content in members.items():
            z.writestr(member, content)
        with z.open(name, "w", force_zip64=True) as part:
            part.write(head)
            for _ in range(inflated // len(filler)):
                part.write(filler)
            part.write(tail)
    return out.getvalue()


_W = b'<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>'
_W_END = b"</w:t></w:r></w:p></w:body></w:document>"


def _lying_zip(package: bytes, member: str) -> bytes:
    """The member's local and central headers claim it inflates to 100 bytes."""
    data = bytearray(package)
    with zipfile.ZipFile(io.BytesIO(package)) as z:
        info = z.getinfo(member)
    for sig, size_at in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        start = 0
        while (start := data.find(sig, start)) >= 0:
            name_len_at = 26 if sig == b"PK\x03\x04" else 28
            name_len = int.from_bytes(data[start + name_len_at : start + name_len_at + 2], "little")
            name_at = start + (30 if sig == b"PK\x03\x04" else 46)
            if data[name_at : name_at + name_len] == info.filename.encode():
                data[start + size_at : start + size_at + 4] = (100).to_bytes(4, "little")
            start += 4
    return bytes(data)


def _docx_body(body: str) -> bytes:
    ns = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
    xml = f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<w:document {ns}><w:body>{body}</w:body></w:document>'
    return _with_member(seed("docx"), "word/document.xml", xml.encode())


def _pdf_many_page_refs(refs: int) -> bytes:
    """One page, listed `refs` times in the page tree."""
    content = b"BT /F1 12 Tf 72 720 Td (The same page again and again.) Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [%s] /Count %d >>" % (b" 4 0 R" * refs, refs),
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content),
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 3 0 R "
        b"/Resources << /Font << /F1 << /Type /Font /Subtype /Type1 /BaseFont /Helvetica >> >> >> >>",
    ]
    return _pdf_file(objects)


def _pdf_page_tree_cycle() -> bytes:
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Pages /Kids [2 0 R] /Count 1 /Parent 2 0 R >>",
    ]
    return _pdf_file(objects)


def _pdf_nested_arrays(depth: int) -> bytes:
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
        b"<< /Length 10 >>\nstream\n" + b"[" * depth + b"\nendstream",
    ]
    return _pdf_file(objects)


def _billion_laughs() -> bytes:
    entities = '<!ENTITY a0 "lol">' + "".join(f'<!ENTITY a{i} "{f"&a{i - 1};" * 10}">' for i in range(1, 10))
    ns = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
    xml = (
        f'<?xml version="1.0"?><!DOCTYPE w:document [{entities}]>'
        f"<w:document {ns}><w:body><w:p><w:r><w:t>&a9;</w:t></w:r></w:p></w:body></w:document>"
    )
    return _with_member(seed("docx"), "word/document.xml", xml.encode())


def _many_members(count: int) -> bytes:
    with zipfile.ZipFile(io.BytesIO(seed("docx"))) as z:
        members = {info.filename: z.read(info) for info in z.infolist()}
    members.update({f"junk/{i}.bin": b"" for i in range(count)})
    return _zip(members, level=1)


def _style_cycle() -> bytes:
    with zipfile.ZipFile(io.BytesIO(seed("docx"))) as z:
        styles = z.read("word/styles.xml")
    ns = b'w:styleId="Heading1">'
    cyclic = styles.replace(ns, ns + b'<w:basedOn w:val="Heading1"/>', 1)
    return _with_member(seed("docx"), "word/styles.xml", cyclic)


def _slides(count: int) -> bytes:
    import pptx

    presentation = pptx.Presentation()
    for i in range(count):
        presentation.slides.add_slide(presentation.slide_layouts[5]).shapes.title.text = f"Slide {i}"
    out = io.BytesIO()
    presentation.save(out)
    return out.getvalue()


def _mixed_encoding() -> bytes:
    return "Première ligne en UTF-8 : café.\n".encode() + "Deuxième ligne en Latin-1 : thé.\n".encode("latin-1") * 3


def hostile(bomb_mib: int = 1100) -> list[tuple[str, bytes]]:
    """Crafted files, each with a name that says what it attacks; the bombs
    inflate to `bomb_mib` MiB (over the default limit; the tests lower both)."""
    en = _EN.encode()
    files: list[tuple[str, bytes]] = [
        ("zip-bomb-document.docx", _zeros_member_zip(seed("docx"), "word/media/zeros.bin", bomb_mib << 20)),
        ("zip-bomb-slide.pptx", _zeros_member_zip(seed("pptx"), "ppt/media/zeros.bin", bomb_mib << 20)),
        (
            "zip-bomb-in-document-xml.docx",
            _bloated_part(seed("docx"), "word/document.xml", _W, b"a" * (1 << 20), _W_END, bomb_mib << 20),
        ),
        ("zip-member-lies-about-size.docx", _lying_zip(seed("docx"), "word/document.xml")),
        ("zip-100k-members.docx", _many_members(100_000)),
        ("billion-laughs.docx", _billion_laughs()),
        ("style-based-on-itself.docx", _style_cycle()),
        ("1m-tiny-paragraphs.docx", _docx_body("<w:p><w:r><w:t>a</w:t></w:r></w:p>" * 1_000_000)),
        ("200k-empty-paragraphs.docx", _docx_body("<w:p/>" * 200_000)),
        ("nested-tables.docx", _docx_body("<w:tbl><w:tr><w:tc>" * 2000 + "<w:p/>" + "</w:tc></w:tr></w:tbl>" * 2000)),
        ("docx-without-document.docx", _zip({"[Content_Types].xml": b"<Types/>"})),
        ("pptx-named-docx.docx", seed("pptx")),
        ("1000-slides.pptx", _slides(1000)),
        ("20k-nested-tables.html", b"<table><tr><td>" * 20_000 + b"cell" + b"</td></tr></table>" * 20_000),
        ("200k-nested-divs.html", b"<div>" * 200_000 + b"deep text" + b"</div>" * 200_000),
        ("100k-br.html", b"<p>" + b"line<br>" * 100_000 + b"</p>"),
        ("wide-table.html", b"<table>" + (b"<tr>" + b"<td>x</td>" * 300 + b"</tr>") * 300 + b"</table>"),
        ("bogus-charset-base64.html", b'<meta charset="base64"><p>' + en + b"</p>"),
        ("bogus-charset-zlib.html", b'<meta charset="zlib_codec"><p>' + en + b"</p>"),
        ("bogus-charset-rot13.html", b'<meta charset="rot13"><p>' + en + b"</p>"),
        ("unknown-charset.html", b'<meta charset="x-no-such-charset"><p>' + en + b"</p>"),
        ("utf-7-charset.html", b'<meta charset="utf-7"><p>+ADw-script+AD4-' + en + b"</p>"),
        ("one-10mb-line.html", b"<p>" + b"a" * 10_000_000 + b"</p>"),
        ("deep-blockquote.md", b"> " * 100_000 + en),
        ("deep-list.md", b"".join(b"  " * i + b"- item\n" for i in range(3000))),
        ("100k-links.md", b"[a](b) " * 100_000),
        ("100k-emphasis.md", b"*" * 100_000 + en),
        ("10mb-one-word.txt", b"x" * 10_000_000),
        ("utf16-le-no-bom.txt", (_EN + " " + _ZH).encode("utf-16-le")),
        ("utf16-be-no-bom.txt", (_EN + " " + _ZH).encode("utf-16-be")),
        ("utf32-no-bom.txt", _EN.encode("utf-32-le")),
        ("mixed-utf8-latin1.txt", _mixed_encoding()),
        ("gb18030-with-bad-bytes.txt", _ZH.encode("gb18030") * 20 + b"\x81\x20" + _ZH.encode("gb18030")),
        ("russian.txt", "Маяк на мысе Карво охраняет Эдда Марн.".encode()),
        ("greek.txt", "Ο φάρος φυλάσσεται από την Έντα.".encode()),
        ("arabic.txt", "يحرس منارة رأس كارفو امرأة تدعى إيدا مارن.".encode()),
        ("hindi.txt", "कार्वो पॉइंट के प्रकाशस्तंभ की रखवाली एडा करती है।".encode()),
        ("thai.txt", "ประภาคารที่แหลมคาร์โวมีผู้ดูแล".encode()),
        ("emoji-only.txt", "🙂🎉🌊 🚢⚓".encode()),
        ("punctuation-only.txt", b"!!! ... ??? --- ;;; ,,,"),
        ("stopwords-only.txt", b"the and of it is was to a an"),
        ("nul-bytes.txt", en + b"\x00" * 100),
        ("png-named.html", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 10),
        ("zip-named.pdf", seed("docx")),
        ("pdf-named.docx", seed("pdf")),
        ("20k-page-refs.pdf", _pdf_many_page_refs(20_000)),
        ("page-tree-cycle.pdf", _pdf_page_tree_cycle()),
        ("nested-arrays.pdf", _pdf_nested_arrays(100_000)),
        ("huge-stream-length.pdf", seed("pdf").replace(b"/Length ", b"/Length 99999999", 1)),
        ("truncated.pdf", seed("pdf")[: len(seed("pdf")) // 2]),
        ("zlib-bomb-stream.pdf", _pdf_deflate_bomb(bomb_mib)),
    ]
    return files


def _pdf_deflate_bomb(mib: int) -> bytes:
    """A page whose content stream inflates to `mib` MiB of spaces."""
    squeezer = zlib.compressobj(9)
    spaces = b" " * (1 << 20)
    parts = [squeezer.compress(spaces) for _ in range(mib)]
    stream = b"".join(parts) + squeezer.flush()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n%s\nendstream" % (len(stream), stream),
    ]
    return _pdf_file(objects)


# -- the rule ---------------------------------------------------------------------


@dataclass
class Outcome:
    name: str
    kind: str  # "ok" | "error" (a one-line ParseError naming the file) | "bad" (anything else)
    detail: str
    seconds: float


def check(name: str, data: bytes, limits: ParseLimits | None = None) -> Outcome:
    """Parse, chunk and tokenise one file, and judge the ending against the rule."""
    t0 = time.perf_counter()
    try:
        with parsing_within(limits or ParseLimits()):
            doc = parse_bytes(data, name)
        chunks = chunk_document(doc, EstimateCounter(), ChunkSettings())
        analyzer = Analyzer()
        terms = sum(len(analyzer.terms(c.text)) for c in chunks)
    except ParseError as e:
        message = str(e)
        one_line = "\n" not in message and message.startswith(name + ": ") and len(message) < 400
        kind = "error" if one_line else "bad"
        return Outcome(name, kind, message, time.perf_counter() - t0)
    except Exception as e:  # the rule is broken: this would be "internal error", exit 1
        return Outcome(name, "bad", f"{type(e).__name__}: {e}"[:300], time.perf_counter() - t0)
    return Outcome(name, "ok", f"{len(chunks)} chunks, {terms} terms", time.perf_counter() - t0)
