"""`longdoc synth audit`: a sheet to check kept items by hand, and its score.

The sheet is a Markdown table of N kept items drawn at random (seeded; planted
probes never): the question, the chunk-local answer, the answer the training
files hold, and the source sentence that backs it, with a `right?` and a `why`
column for a person to fill in. `score` reads a filled sheet back.
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..sentences import sentences
from ..verify.names import answer_names, bare, names_found
from .cache import RAW_DIR
from .formats import clean_answer
from .manifest import MANIFEST
from .plant import PlantSummary, describe
from .records import SynthRecord
from .views import VIEWS_DIR, document_text

RIGHT = "right?"
COLUMNS = ("#", "item", "question", "answer (chunk)", "answer (trained, short)", "source", RIGHT, "why")
_YES, _NO = ("y", "yes"), ("n", "no")
_SHORT = 240  # characters of an answer or a source sentence shown
_CELL_SPLIT = re.compile(r"(?<!\\)\|")
_RULE = re.compile(r"^:?-+:?$")


def kept_records(out: Path) -> list[SynthRecord]:
    """The kept items of a run, planted probes left out, in id order."""
    records = []
    for path in sorted((out / RAW_DIR).glob("*.json")):
        record = SynthRecord.from_dict(json.loads(path.read_text(encoding="utf-8")))
        if record.kept and not record.planted and record.error is None:
            records.append(record)
    return records


def sheet(out: Path, n: int, seed: int, target: Path | None = None) -> str:
    """The audit sheet of `n` kept items of the run in `out` (all of them when fewer)."""
    manifest_path = out / MANIFEST
    if not manifest_path.is_file():
        raise ConfigError(f"{out} holds no {MANIFEST}: run `longdoc synth make ... --out {out}` first")
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    kept = kept_records(out)
    if not kept:
        raise ConfigError(f"{out} has no kept items to audit")
    picked = sorted(random.Random(seed).sample(kept, min(n, len(kept))), key=lambda r: r.id)
    texts: dict[str, str] = {}
    lines = [*_header(out, manifest, len(picked), len(kept), seed, target), ""]
    lines.append(_row(COLUMNS))
    lines.append(_row(["---"] * len(COLUMNS)))
    for k, r in enumerate(picked, 1):
        if r.view not in texts:
            found = view_file(r.view, out)
            texts[r.view] = document_text(found) if found else ""
        answer = _short(clean_answer(r.agent_answer))
        lines.append(_row([str(k), r.id, r.question, r.reference, answer, backing(r, texts[r.view]), "", ""]))
    return "\n".join(lines) + "\n"


def _header(out: Path, m: dict[str, Any], n: int, kept: int, seed: int, target: Path | None) -> list[str]:
    counts = m.get("counts", {})
    dropped = ", ".join(f"{r} {k}" for r, k in counts.get("dropped", {}).items()) or "none"
    settings = m.get("settings", {})
    lines = [
        f"# Audit of `longdoc synth` items: {out}",
        "",
        f"- run: model {m.get('model')}, mode {settings.get('mode')}, threshold {settings.get('threshold')}, "
        f"code {m.get('version')}, created {m.get('created')}",
        f"- sources: {', '.join(s['path'] for s in m.get('sources', []))}",
        f"- counts: {counts.get('planned')} planned, {counts.get('finished')} finished, {counts.get('kept')} kept; "
        f"dropped: {dropped}; {counts.get('errors')} to retry",
    ]
    if planted := m.get("planted"):
        fields = {k: v for k, v in planted.items() if k in PlantSummary.__dataclass_fields__}
        lines.append(f"- {describe(PlantSummary(**fields))}")
    lines += [
        f"- this sheet: {n} of {kept} kept items (planted probes left out), drawn with seed {seed}",
        "",
        f"Fill `{RIGHT}` with y or n (is the trained answer right for the question, by the document?) "
        f"and say `why`; then `longdoc synth audit {out} --score {target or 'THIS_FILE'}`.",
    ]
    return lines


def view_file(view: str, out: Path) -> Path | None:
    """The document an item was asked over: its recorded path, or the copy of a
    cut view under the run's own `docs/` (runs before 7 Dec recorded paths
    relative to where they were started; a run folder may also have moved)."""
    for path in (Path(view), out / VIEWS_DIR / Path(view).name):
        if path.is_file():
            return path
    return None


def backing(record: SynthRecord, text: str) -> str:
    """The sentence of each source chunk that best backs the answer: the one
    holding it, else the most of its names, else (the first hop of a chain)
    the shared name."""
    if not text:
        return f"(the document is not found from here: {record.view})"
    found = []
    for start, end in record.source_spans:
        candidates = sentences(text[start:end])
        if candidates:
            found.append(_short(max(candidates, key=lambda s: _backs(record, s))))
    return " … ".join(found) or "(the record has no source offsets: made before they were recorded)"


def _backs(record: SynthRecord, sentence: str) -> tuple[bool, float, bool]:
    ref = bare(record.reference)
    names = names_found(record.reference, sentence) if answer_names(record.reference) else 0.0
    return (bool(ref) and ref in bare(sentence), names, bool(record.entity) and bare(record.entity) in bare(sentence))


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _SHORT else text[: _SHORT - 1].rstrip() + "…"


def _row(cells: Any) -> str:
    return "| " + " | ".join(" ".join(str(c).split()).replace("|", "\\|") for c in cells) + " |"


@dataclass
class Score:
    right: int
    total: int
    wrong: list[str]  # item ids marked n

    def line(self) -> str:
        pct = 100 * self.right / self.total if self.total else 0.0
        tail = f"; wrong: {', '.join(self.wrong)}" if self.wrong else ""
        return f"{self.right} of {self.total} right ({pct:.0f}%){tail}"


def score(text: str, name: str = "the sheet") -> Score:
    """Count a filled sheet's `right?` column (y/yes or n/no, any case). Any
    other value, an empty cell or a row of the wrong width is an error naming the row."""
    header: list[str] | None = None
    right, total, wrong = 0, 0, []
    for number, line in enumerate(text.splitlines(), 1):
        cells = _cells(line)
        if cells is None:
            if header is not None and total:
                break  # the table has ended
            continue
        if header is None:
            if RIGHT in [c.lower() for c in cells]:
                header = [c.lower() for c in cells]
            continue
        if all(_RULE.match(c) for c in cells):
            continue
        if len(cells) != len(header):
            raise ConfigError(f"{name}, line {number}: {len(cells)} cells where the header has {len(header)}")
        item = cells[header.index("item")] if "item" in header else f"line {number}"
        value = cells[header.index(RIGHT)].strip().lower()
        if value not in _YES + _NO:
            said = f"'{value}'" if value else "empty"
            raise ConfigError(f"{name}, line {number} ({item}): {RIGHT} is {said}; fill in y or n")
        total += 1
        if value in _YES:
            right += 1
        else:
            wrong.append(item)
    if header is None:
        raise ConfigError(f"{name} holds no table with a '{RIGHT}' column")
    if not total:
        raise ConfigError(f"{name}: the table has no rows")
    return Score(right, total, wrong)


def _cells(line: str) -> list[str] | None:
    line = line.strip()
    if not (line.startswith("|") and line.endswith("|")) or len(line) < 2:
        return None
    return [c.strip().replace("\\|", "|") for c in _CELL_SPLIT.split(line[1:-1])]
