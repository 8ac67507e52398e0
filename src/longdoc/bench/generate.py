"""`longdoc bench generate`: needle-in-a-haystack items as JSONL plus one text
file per item, deterministic for a seed (same seed and tokenizer, same bytes).

Lengths are in tokens of the counter given (the model in use); a needle sits
between haystack units at the requested fraction of the haystack's tokens.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..tokens import TokenCounter
from . import haystack
from .tasks import BUILDERS, TASKS, needle_depths

ITEMS_FILE = "items.jsonl"
MANIFEST_FILE = "manifest.json"


@dataclass(frozen=True)
class GenConfig:
    lengths: list[int]
    depths: list[int]  # percent, 0-100
    tasks: list[str] = field(default_factory=lambda: list(TASKS))
    langs: list[str] = field(default_factory=lambda: list(haystack.LANGS))
    seed: int = 20240601
    # Extra items per (task, lang, length): each adds all depths again.
    repeats: int = 1
    # multi_reasoning: one item per chain length listed (2-4 facts); empty: 2-4 at random
    hops: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class Preset:
    gen: GenConfig | tuple[GenConfig, ...]  # several: one item set from all of them
    modes: list[str]


PRESETS: dict[str, Preset] = {
    # 6 items x 2 systems, under 15 min with the 0.5B model on 2 idle cores.
    # At 16k tokens and all five tasks it took ~40 min: the full-context
    # baseline's 7.7k-token prompt alone costs ~3 min a question on a CPU.
    "smoke": Preset(
        GenConfig(lengths=[4_000], depths=[50], tasks=["single_needle", "multi_reasoning", "decoy"]),
        modes=["rag", "full"],
    ),
    # The hard questions Levels 2 and 3 exist for, beside the smoke items (22
    # items): paraphrase and unanswerable at 32k, 2- and 3-fact chains and
    # decoys at 32k, one paraphrase and one 2-fact chain at 128k.
    "levels": Preset(
        (
            GenConfig(lengths=[4_000], depths=[50], tasks=["single_needle", "multi_reasoning", "decoy"]),
            GenConfig(lengths=[32_000], depths=[25, 75], tasks=["paraphrase", "unanswerable"]),
            GenConfig(lengths=[32_000], depths=[50], tasks=["multi_reasoning", "decoy"], hops=[2, 3]),
            GenConfig(lengths=[128_000], depths=[50], tasks=["paraphrase", "multi_reasoning"], langs=["en"], hops=[2]),
        ),
        modes=["rag", "read", "agent", "auto", "qwen-agent:parallel", "qwen-agent:assistant"],
    ),
    "full": Preset(
        GenConfig(lengths=[4_000, 8_000, 32_000, 128_000, 256_000, 1_000_000], depths=[0, 25, 50, 75, 100]),
        modes=["rag", "read", "read:all", "agent", "auto", "full"],
    ),
}


@dataclass
class Item:
    id: str
    task: str
    lang: str
    length: int  # requested tokens
    depth: int  # percent: where the (first) true needle was asked to go
    seed: int
    question: str
    answer: str
    keywords: list[str]
    doc: str  # path of the document, relative to the items file
    tokens: int = 0  # measured tokens of the document
    needle_depths: list[float] = field(default_factory=list)  # measured, 0..1, in needle order
    needles: list[str] = field(default_factory=list)
    decoy_values: list[str] = field(default_factory=list)
    tokenizer: str = ""
    refusal: bool = False  # the document does not answer: a refusal is right

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Item:
        return cls(**d)


def length_label(tokens: int) -> str:
    if tokens >= 1_000_000 and tokens % 1_000_000 == 0:
        return f"{tokens // 1_000_000}M"
    return f"{tokens // 1000}k" if tokens % 1000 == 0 else str(tokens)


def item_seed(base: int, key: str) -> int:
    # Not hash(): Python salts it per process, and items must be reproducible.
    return int.from_bytes(hashlib.sha256(f"{base}:{key}".encode()).digest()[:4], "big")


def build_document(
    lang: str, length: int, needles: list[tuple[str, float]], counter: TokenCounter, rng: random.Random
) -> tuple[str, list[int]]:
    """The haystack with each needle as its own paragraph at its depth.
    Returns the text and each needle's character offset (in needle order)."""
    state = rng.getstate()
    target = length - sum(counter.count(n) + 1 for n, _ in needles)
    for _ in range(3):
        # Units counted one by one do not add up to the joined text's count
        # (BPE merges across joins, separators): measure the whole and take
        # again from the same start, scaled, until within 1%.
        rng.setstate(state)
        text, offsets = _place(haystack.take(lang, max(target, 64), counter, rng), needles)
        measured = counter.count(text)
        if abs(measured - length) <= 0.01 * length:
            break
        target = round(target * length / max(measured, 1))
    return text, offsets


def _place(units: list[tuple[haystack.Unit, int]], needles: list[tuple[str, float]]) -> tuple[str, list[int]]:
    total = sum(n for _, n in units)
    # Boundary i is before unit i; its token position is the sum of units before it.
    positions, acc = [], 0
    for _, n in units:
        positions.append(acc)
        acc += n
    positions.append(acc)
    at_boundary: dict[int, list[int]] = {}
    for k, (_, depth) in enumerate(needles):
        best = min(range(len(positions)), key=lambda i: abs(positions[i] - depth * total))
        at_boundary.setdefault(best, []).append(k)

    parts: list[str] = []
    offsets = [0] * len(needles)
    size = 0

    def put(text: str, sep: str) -> None:
        nonlocal size
        sep = sep if size else ""
        parts.append(sep + text)
        size += len(sep) + len(text)

    for i in range(len(units) + 1):
        for k in at_boundary.get(i, []):
            put("", haystack.PARAGRAPH)  # the separator alone, so the offset points at the needle itself
            offsets[k] = size
            put(needles[k][0], "")
        if i < len(units):
            unit = units[i][0]
            put(unit.text, haystack.PARAGRAPH if i in at_boundary else unit.sep)
    return "".join(parts) + "\n", offsets


def build_item(
    task: str,
    lang: str,
    length: int,
    depth: int,
    repeat: int,
    base_seed: int,
    counter: TokenCounter,
    hops: int | None = None,
) -> tuple[Item, str]:
    iid = (
        f"{task}-{lang}-{length_label(length)}-d{depth:03d}"
        + (f"-h{hops}" if hops else "")
        + (f"-r{repeat}" if repeat else "")
    )
    seed = item_seed(base_seed, iid)
    rng = random.Random(seed)
    spec = BUILDERS[task](rng, lang, needle_depths(task, depth / 100, rng, hops))
    text, offsets = build_document(lang, length, spec.needles, counter, rng)
    body_tokens = counter.count(_without_needles(text, spec.needles, offsets))
    # Depth is measured in the haystack alone: other needles before this one do not count.
    measured = [
        counter.count(_without_needles(text[:off], spec.needles, [o if o < off else len(text) for o in offsets]))
        / max(body_tokens, 1)
        for off in offsets
    ]
    item = Item(
        id=iid,
        task=task,
        lang=lang,
        length=length,
        depth=depth,
        seed=seed,
        question=spec.question,
        answer=spec.answer,
        keywords=spec.keywords,
        doc=f"docs/{iid}.txt",
        tokens=counter.count(text),
        needle_depths=[round(m, 4) for m in measured],
        needles=[n for n, _ in spec.needles],
        decoy_values=spec.decoy_values,
        tokenizer=counter.name,
        refusal=spec.refusal,
    )
    return item, text


def _without_needles(text: str, needles: list[tuple[str, float]], offsets: list[int]) -> str:
    """`text` with the needles at `offsets` cut out (offsets past its end are ignored)."""
    for (needle, _), off in sorted(zip(needles, offsets), key=lambda x: -x[1]):
        if off < len(text):
            text = text[:off] + text[off + len(needle) :]
    return text


def generate(
    config: GenConfig | Sequence[GenConfig],
    out_dir: Path,
    counter: TokenCounter,
    on_item: Callable[[Item], None] | None = None,
) -> list[Item]:
    """Write `items.jsonl`, `docs/*.txt` and `manifest.json` under `out_dir`;
    several configs write their items into one set."""
    configs = [config] if isinstance(config, GenConfig) else list(config)
    (out_dir / "docs").mkdir(parents=True, exist_ok=True)
    items: list[Item] = []
    for c in configs:
        for length in c.lengths:
            for task in c.tasks:
                for lang in c.langs:
                    chains: list[int | None] = list(c.hops) if task == "multi_reasoning" and c.hops else [None]
                    for hops in chains:
                        for repeat in range(c.repeats):
                            for depth in c.depths:
                                item, text = build_item(task, lang, length, depth, repeat, c.seed, counter, hops)
                                _write(out_dir / item.doc, text)
                                items.append(item)
                                if on_item:
                                    on_item(item)
    _write(out_dir / ITEMS_FILE, "".join(i.to_json() + "\n" for i in items))
    manifest = {
        "config": asdict(configs[0]) if len(configs) == 1 else [asdict(c) for c in configs],
        "tokenizer": counter.name,
        "sources": {k: asdict(v) for k, v in haystack.SOURCES.items()},
    }
    _write(out_dir / MANIFEST_FILE, json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True) + "\n")
    return items


def load_items(path: Path) -> list[Item]:
    """Items from a JSONL file, or from the `items.jsonl` in a directory."""
    if path.is_dir():
        path = path / ITEMS_FILE
    return [Item.from_dict(json.loads(line)) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _write(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + f".tmp{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
