"""What a `longdoc synth` run leaves beside its items: the training files, the
LLaMA-Factory `dataset_info.json`, and `manifest.json` (inputs by content hash,
settings, model, code version, counts kept and dropped by reason, tokens spent,
the planted check)."""

from __future__ import annotations

import hashlib
import json
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..bench.run import code_version
from ..config import Settings
from ..durable import write_file
from .cache import load_record
from .formats import DATASET_INFO, FILES, dataset_info, example, rows
from .job import Planned, SynthConfig
from .plant import PlantSummary
from .plant import summarize as summarize_planted
from .records import SynthRecord
from .views import context_for, document_text

MANIFEST = "manifest.json"


@dataclass
class Summary:
    """The items of a run; the planted probes (--plant) are counted apart, in `planted`."""

    planned: int = 0
    finished: int = 0  # kept or dropped
    kept: int = 0
    dropped: dict[str, int] = field(default_factory=dict)  # reason -> items
    errors: int = 0  # backend failures, tried again on the next run
    redrafted: int = 0  # items whose first draft failed and was written again
    kept_redrafted: int = 0  # ... and kept: what the retry gained
    kept_as_single: int = 0  # multi-hop drafts the agent answered from one passage, kept as single-fact
    new: int = 0  # items finished by this run
    llm_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    wall_s: float = 0.0  # summed over the items, whichever run finished them
    rows: dict[str, int] = field(default_factory=dict)  # file -> rows written
    planted: PlantSummary | None = None  # the planted check; None when no item was planted

    @property
    def tokens_per_kept(self) -> float | None:
        return round((self.prompt_tokens + self.completion_tokens) / self.kept, 1) if self.kept else None


def summarize(
    records: Sequence[SynthRecord], planned: int, new: int, probes: int = 0, threshold: float = 0.5
) -> Summary:
    """`planned` counts every item, `probes` the planted ones among them."""
    items = [r for r in records if not r.planted]
    done = [r for r in items if r.error is None]
    s = Summary(planned=planned - probes, finished=len(done), kept=sum(r.kept for r in done), new=new)
    s.dropped = dict(sorted(Counter(r.reason for r in done if r.reason).items()))
    s.errors = len(records) - sum(r.error is None for r in records)
    s.redrafted = sum(r.drafts > 1 for r in done)
    s.kept_redrafted = sum(r.drafts > 1 and r.kept for r in done)
    s.kept_as_single = sum(bool(r.drafted_as) and r.kept for r in done)
    if probes or len(items) < len(records):
        s.planted = summarize_planted(records, probes, threshold)
    for r in records:  # tokens spent on failed attempts were spent too
        s.llm_calls += r.llm_calls
        s.prompt_tokens += r.prompt_tokens
        s.completion_tokens += r.completion_tokens
        s.wall_s += r.wall_s
    s.wall_s = round(s.wall_s, 3)
    return s


def write_outputs(
    out: Path,
    planned: Sequence[Planned],
    config: SynthConfig,
    settings: Settings,
    model: str,
    new: int,
    planted: set[str] | None = None,
) -> Summary:
    """The training files from the kept items (planted probes never), dataset_info.json and the manifest."""
    records: list[SynthRecord] = []
    examples = []
    probes = 0
    for p in planned:
        text: str | None = None
        for seed in p.seeds:
            record = load_record(out, seed.item)
            probes += int(record.planted if record is not None else seed.item in (planted or set()))
            if record is None:
                continue
            records.append(record)
            if record.kept and not record.planted:
                text = text if text is not None else document_text(p.view.path)
                context = context_for(text, p.corpus.docs[0], seed.chunks, config.max_context)
                examples.append(example(record, context))
    summary = summarize(records, sum(len(p.seeds) for p in planned), new, probes, config.threshold)
    for fmt in config.outputs():
        lines = rows(fmt, examples)
        body = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in lines)
        write_file(out / FILES[fmt], body.encode("utf-8"))
        summary.rows[FILES[fmt]] = len(lines)
    _write_json(out / DATASET_INFO, dataset_info(config.outputs()))
    _write_json(out / MANIFEST, manifest(out, planned, config, settings, model, summary))
    return summary


def manifest(
    out: Path, planned: Sequence[Planned], config: SynthConfig, settings: Settings, model: str, summary: Summary
) -> dict[str, Any]:
    sources: dict[str, dict[str, Any]] = {}
    views = []
    for p in planned:
        sources.setdefault(p.view.source, {"path": p.view.source, "sha256": _file_sha256(Path(p.view.source))})
        doc = p.corpus.docs[0]
        views.append(
            {
                "key": p.view.key,
                "path": p.view.path,
                "sha256": doc.sha256,
                "length": p.view.length,
                "tokens": doc.tokens,
                "chunks": len(doc.chunks),
                "items": len(p.seeds),
            }
        )
    return {
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "version": code_version(),
        "model": model,
        "settings": {
            **{k: list(v) if isinstance(v, tuple) else v for k, v in asdict(config).items()},
            "backend": settings.backend,
            "context_window": settings.context_window,
            "answer_tokens": settings.answer_tokens,
            "chunk_size": settings.chunk_size,
            "chunk_overlap": settings.chunk_overlap,
            "reading_budget": settings.effective_budget(),
        },
        "sources": list(sources.values()),
        "views": views,
        "counts": {
            "planned": summary.planned,
            "finished": summary.finished,
            "kept": summary.kept,
            "kept_as_single": summary.kept_as_single,
            "dropped": summary.dropped,
            "errors": summary.errors,
            "new": summary.new,
        },
        "tokens": {
            "llm_calls": summary.llm_calls,
            "prompt": summary.prompt_tokens,
            "completion": summary.completion_tokens,
            "per_kept_item": summary.tokens_per_kept,
        },
        "planted": None if summary.planted is None else {**asdict(summary.planted), "passed": summary.planted.passed},
        "wall_s": summary.wall_s,
        "files": {name: {"rows": n, "sha256": _file_sha256(out / name)} for name, n in summary.rows.items()},
    }


def _file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _write_json(path: Path, data: Any) -> None:
    write_file(path, json.dumps(data, ensure_ascii=False, indent=1).encode("utf-8"))
