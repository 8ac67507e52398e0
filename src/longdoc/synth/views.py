"""The documents items are asked over: each input whole, or a stretch of it cut
to each of `--lengths` tokens (so one long file gives 32k and 128k items), and
the context a training item carries, cut to `--max-context` tokens around its sources."""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path

from ..bench.generate import item_seed, length_label
from ..durable import write_file
from ..parse import parse_file
from ..records import IndexedDoc, full_text
from .records import View

VIEWS_DIR = "docs"
_GAP = "\n…\n"  # where a context cut to --max-context leaves text out
_PLAIN = (".txt", ".md")  # files the ends check can read as they are


def document_text(path: str | Path) -> str:
    """The text chunk offsets point into (the same parse the index made)."""
    return full_text(parse_file(path).blocks)


def views_of(doc: IndexedDoc, lengths: Sequence[int], out: Path, seed: int) -> list[View]:
    """One view per length: a seeded stretch of whole chunks of about that many
    tokens, written as text under `out/docs/`; the whole file for no lengths,
    or when it is no longer than the length asked for (once)."""
    prefix = doc.sha256[:10]
    text = "" if Path(doc.path).suffix.lower() in _PLAIN and not lengths else document_text(doc.path)
    views: list[View] = []
    wanted: list[int | None] = list(lengths) or [None]
    for length in wanted:
        if length is None or doc.tokens <= length:
            if all(v.length is not None for v in views):  # the whole file, once
                views.append(_whole(doc, text, out, prefix))
            continue
        first, last = _stretch(doc, length, random.Random(item_seed(seed, f"{prefix}-{length}")))
        label = length_label(length)
        body = text[doc.chunks[first].start : doc.chunks[last].end]
        views.append(View(f"{prefix}-{label}", str(_write(out, doc, prefix, label, body)), doc.path, length))
    return views


def _whole(doc: IndexedDoc, text: str, out: Path, prefix: str) -> View:
    """The whole file; as plain text under `out/docs/` unless it is plain text
    already, since the ends check and the contexts read the view as text."""
    if Path(doc.path).suffix.lower() in _PLAIN:
        return View(f"{prefix}-all", doc.path, doc.path, None)
    return View(f"{prefix}-all", str(_write(out, doc, prefix, "all", text)), doc.path, None)


def _write(out: Path, doc: IndexedDoc, prefix: str, label: str, body: str) -> Path:
    # Absolute: records name it, and `synth audit` may run from another folder.
    target = (out / VIEWS_DIR / f"{Path(doc.name).stem}-{prefix}-{label}.txt").absolute()
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.is_file() or target.read_text(encoding="utf-8") != body:  # a rerun leaves it untouched
        write_file(target, body.encode("utf-8"))
    return target


def _stretch(doc: IndexedDoc, length: int, rng: random.Random) -> tuple[int, int]:
    """First and last chunk of a run of about `length` tokens starting at a seeded chunk."""
    tokens = [c.tokens for c in doc.chunks]
    left = sum(tokens)
    fits = []
    for i, t in enumerate(tokens):  # starts with `length` tokens still after them
        if left >= length:
            fits.append(i)
        left -= t
    fits = fits or [0]
    first = rng.choice(fits)
    last, total = first, tokens[first]
    while last + 1 < len(tokens) and total + tokens[last + 1] <= length:
        last += 1
        total += tokens[last]
    return first, last


def context_for(text: str, doc: IndexedDoc, picked: Sequence[int], max_tokens: int | None) -> str:
    """The document as a training item's context: whole, or cut to `max_tokens`
    keeping the source chunks and the chunks nearest them (the answer must stay in)."""
    chunks = doc.chunks
    if not max_tokens or sum(c.tokens for c in chunks) <= max_tokens:
        return text
    keep = set(picked)
    used = sum(chunks[i].tokens for i in keep)
    for step in range(1, len(chunks)):
        grew = False
        for i in sorted({j + d for j in picked for d in (-step, step)}):
            if 0 <= i < len(chunks) and i not in keep and used + chunks[i].tokens <= max_tokens:
                keep.add(i)
                used += chunks[i].tokens
                grew = True
        if not grew:
            break
    runs: list[tuple[int, int]] = []
    for i in sorted(keep):
        if runs and i == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], i)
        else:
            runs.append((i, i))
    parts = [text[chunks[a].start : chunks[b].end] for a, b in runs]
    head = _GAP.lstrip("\n") if runs[0][0] > 0 else ""
    tail = _GAP.rstrip("\n") if runs[-1][1] < len(chunks) - 1 else ""
    return head + _GAP.join(parts) + tail
