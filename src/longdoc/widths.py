"""Fullwidth forms read as their ASCII twins.

Chinese text from mainland sources writes digits and Latin letters fullwidth
("１９９８年", "ＤＶＤ"); a model that copies such a fact writes them plain
("1998年"). Search terms and every check that compares an answer with its
source fold both sides, so the two forms are one. The stored text is never
changed: quotes and citations show the document as it is.
"""

from __future__ import annotations

import re

# U+FF01..U+FF5E are "!".."~" shifted by 0xFEE0; U+3000 is the ideographic space.
_TO_ASCII = {c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}
_ANY = re.compile("[\uff01-\uff5e\u3000]")


def fold_width(text: str) -> str:
    """`text` with fullwidth ASCII forms and the ideographic space made ASCII."""
    if text.isascii() or not _ANY.search(text):
        return text
    return text.translate(_TO_ASCII)
