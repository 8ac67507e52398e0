"""Turn the bytes of a text-like file (TXT, Markdown, HTML) into a str."""

from __future__ import annotations

import codecs
import re

from longdoc.parse.common import Unreadable

# UTF-32 LE must be tested before UTF-16 LE: its BOM starts with the UTF-16 LE one.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)

# Binary checks and encoding detection look at a sample only, so a 50 MB file stays fast.
_SAMPLE_BYTES = 64 * 1024
# Control characters that do not occur in real text (tab, LF, VT, FF, CR and ESC do).
_BINARY_CONTROLS = re.compile(r"[\x00-\x08\x0e-\x1a\x1c-\x1f]")
_MAX_CONTROL_RATIO = 0.03

# Bytes 0x00-0x2F are never part of a multi-byte character in the encodings detection can
# return (GB18030, Big5, Shift-JIS, EUC-*): cutting just after one never splits a character.
_SAFE_CUT = re.compile(rb"[\x00-\x2f]")
_SAFE_END_BYTES = (b"\n", b" ", b"\t", b",", b".")

# Decode with a superset of what was detected or declared: the superset reads every byte the
# narrower one does, plus the characters real files use anyway (WHATWG does the same).
_SUPERSETS = {
    "ascii": "cp1252",
    "iso8859-1": "cp1252",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "shift_jis": "cp932",
    "euc_kr": "cp949",
}

# Declarations browsers ignore too (WHATWG): UTF-7 can hide markup, and a page
# that says UTF-16 or UTF-32 in ASCII bytes is not in that encoding.
_NEVER_DECLARED = frozenset({"utf-7", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "utf-32-be"})

# When detection scores several encodings the same, take the one most likely for EN/ZH users.
_PREFERRED_ON_TIE = ("gb18030", "cp1252", "big5")

BINARY_CAUSE = "looks like a binary file, not text"


def decode_text(data: bytes, declared: str | None = None) -> str:
    """Decode text bytes: BOM, then strict UTF-8, then `declared`, then detection.

    Line endings come back as "\\n". Raises Unreadable for binary data.
    """
    text = _decode(data, declared)
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


def _decode(data: bytes, declared: str | None) -> str:
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            text = data[len(bom) :].decode(encoding, errors="replace")
            _reject_binary(text[:_SAMPLE_BYTES])
            return text
    wide = _utf16_or_32_without_bom(data)
    if wide is not None:
        return wide
    # Every encoding we may pick maps bytes below 0x80 to the same characters as latin-1.
    _reject_binary(data[:_SAMPLE_BYTES].decode("latin-1"))
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        bad_at = e.start
    if declared:
        widened = _widen(declared)
        if widened and widened not in _NEVER_DECLARED:
            try:
                return data.decode(widened)
            except (UnicodeDecodeError, LookupError):
                pass  # a wrong declaration is common; fall back to detection
    detected: str | None
    try:
        detected = _detect(_sample_around(data, bad_at))
    except Unreadable:
        detected = None  # no one encoding fits: pieces of text in different encodings
    if detected is None or not data[:bad_at].isascii():
        # UTF-8 text before the first bad byte: text pasted together from files in
        # different encodings. Each line is read as UTF-8 when it is, else as detected.
        fallback = detected or "cp1252"
        return "\n".join(_decode_line(line, fallback) for line in data.split(b"\n"))
    return data.decode(detected, errors="replace")


def _decode_line(line: bytes, fallback: str) -> str:
    try:
        return line.decode("utf-8")
    except UnicodeDecodeError:
        return line.decode(fallback, errors="replace")


def _utf16_or_32_without_bom(data: bytes) -> str | None:
    """The text of UTF-16 (or UTF-32) without a byte-order mark, which Windows tools still
    write; None unless the bytes decode strictly and almost all to printable
    text (random binary data does not: lone surrogates and unassigned code
    points give it away). Only files with NUL bytes in most of their odd or even
    places are tried: Latin text in UTF-16, which would otherwise be refused as binary."""
    sample = data[: _SAMPLE_BYTES & ~3]
    half = len(sample) // 2
    # Latin text in UTF-16 has a NUL in every other byte; a stray NUL in other
    # text must not turn it into a page of CJK look-alikes.
    if len(sample) < 8 or max(sample[0::2].count(0), sample[1::2].count(0)) < 0.3 * half:
        return None
    for encoding in ("utf-32-le", "utf-32-be", "utf-16-le", "utf-16-be"):
        try:
            text = sample.decode(encoding)
        except UnicodeDecodeError:
            continue
        printable = sum(1 for ch in text if ch.isprintable() or ch in "\n\r\t")
        if printable >= 0.98 * len(text) and "\x00" not in text:
            return data.decode(encoding, errors="replace")
    return None


def _reject_binary(sample: str) -> None:
    if "\x00" in sample or len(_BINARY_CONTROLS.findall(sample)) > len(sample) * _MAX_CONTROL_RATIO:
        raise Unreadable(BINARY_CAUSE)


def _widen(name: str) -> str | None:
    """The codec to decode a detected or declared encoding with; None if Python
    lacks it or it is not a text encoding (a page may declare charset=base64)."""
    try:
        canonical = codecs.lookup(name).name
        b"".decode(canonical)  # LookupError for bytes-to-bytes codecs (base64, zlib, rot13)
    except LookupError:
        return None
    return _SUPERSETS.get(canonical, canonical)


def _sample_around(data: bytes, pos: int) -> bytes:
    """About 64 KB of `data` from just before the first non-UTF-8 byte, cut between characters.

    Text before that byte is valid UTF-8 (usually ASCII) and says little about the encoding.
    """
    lo = max(0, pos - 4096)
    if lo:
        m = _SAFE_CUT.search(data, lo, pos)
        lo = m.end() if m else pos
    hi = min(len(data), lo + _SAMPLE_BYTES)
    if hi < len(data):
        cut = max(data.rfind(b, hi - 4096, hi) for b in _SAFE_END_BYTES)
        if cut > lo:
            hi = cut + 1
    return data[lo:hi]


def _detect(sample: bytes) -> str:
    from charset_normalizer import from_bytes  # imported lazily: only needed for legacy encodings

    matches = from_bytes(sample)
    best = matches.best()
    if best is None:
        raise Unreadable(f"{BINARY_CAUSE} (no text encoding fits)")
    tied = {m.encoding for m in matches if m.percent_chaos <= best.percent_chaos}
    encoding = next((e for e in _PREFERRED_ON_TIE if e in tied), best.encoding)
    return _widen(encoding) or "utf-8"
