"""Ingest benchmark: index a generated ~1M-token text, then query it.

Prints parse+chunk+index seconds, BM25 query latency (p50/p95 over 100 keyword
queries), peak RSS, the time of a second run on the unchanged file, and, as the
baseline measured in the same run, the reference design's per-query cost
(re-tokenise every chunk and rebuild BM25 for each question).
"""

from __future__ import annotations

import random
import resource
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

import bm25s

from ..chunk import ChunkSettings
from ..index.store import IndexStore
from ..index.terms import Analyzer
from ..sample import PLAYS, texts_dir
from ..tokens import TokenCounter


@dataclass
class IngestResult:
    tokens: int
    chunks: int
    ingest_s: float
    query_p50_ms: float
    query_p95_ms: float
    peak_rss_mb: float
    second_run_s: float
    baseline_query_s: float

    def table(self) -> str:
        rows = [
            ("document tokens", f"{self.tokens:,}", ""),
            ("chunks", f"{self.chunks:,}", ""),
            ("parse+chunk+index", f"{self.ingest_s:.2f} s", "target < 5 s"),
            ("query p50 (100 queries)", f"{self.query_p50_ms:.2f} ms", "target < 10 ms"),
            ("query p95", f"{self.query_p95_ms:.2f} ms", ""),
            ("peak RSS", f"{self.peak_rss_mb:.0f} MB", "target < 1500 MB"),
            ("second run, unchanged file", f"{self.second_run_s:.3f} s", "target < 0.5 s"),
            ("baseline: rebuild BM25 per query", f"{self.baseline_query_s:.2f} s", "the reference's way"),
            (
                "speed-up per query vs baseline",
                f"{self.baseline_query_s * 1000 / max(self.query_p50_ms, 1e-6):,.0f}x",
                "",
            ),
        ]
        w = max(len(r[0]) for r in rows)
        return "\n".join(f"{a:<{w}}  {b:>12}  {c}" for a, b, c in rows)


def generate_text(path: Path, target_tokens: int, counter: TokenCounter, seed: int = 7) -> int:
    """Write a text of about `target_tokens` tokens: play paragraphs shuffled
    with a fixed seed (shuffling avoids a corpus of exact repeats)."""
    paras: list[str] = []
    for p in PLAYS:
        text = (texts_dir() / f"{p}_gut.txt").read_text(encoding="utf-8")
        paras += [x.strip() for x in text.split("\n\n") if x.strip()]
    per_para = counter.count("\n\n".join(paras[:2000])) / 2000
    rng = random.Random(seed)
    out = [rng.choice(paras) for _ in range(int(target_tokens / per_para))]
    body = "\n\n".join(out)
    path.write_text(body, encoding="utf-8")
    return counter.count(body)


def run(work: Path, counter: TokenCounter, target_tokens: int = 1_000_000, queries: int = 100) -> IngestResult:
    work.mkdir(parents=True, exist_ok=True)
    doc_path = work / "haystack-1m.txt"
    tokens = generate_text(doc_path, target_tokens, counter)
    index_root = work / "index"
    settings = ChunkSettings()

    t0 = time.perf_counter()
    store = IndexStore(index_root, counter, settings)
    doc = store.add(doc_path)
    corpus = store.corpus([doc])
    ingest = time.perf_counter() - t0

    rng = random.Random(11)
    words = [w for w in Analyzer().terms(doc_path.read_text(encoding="utf-8")[:200_000]) if len(w) > 3]
    qs = [" ".join(rng.sample(words, 4)) for _ in range(queries)]
    lat = []
    for q in qs:
        t = time.perf_counter()
        corpus.search(q, k=20)
        lat.append((time.perf_counter() - t) * 1000)

    t0 = time.perf_counter()
    store2 = IndexStore(index_root, counter, settings)
    again = store2.add(doc_path)
    store2.corpus([again])
    second = time.perf_counter() - t0
    assert not again.built

    base = []
    analyzer = Analyzer()
    for q in qs[:3]:
        t = time.perf_counter()
        r = bm25s.BM25()
        r.index([analyzer.terms(c.text) for c in doc.chunks], show_progress=False)
        qt = [term for term in analyzer.terms(q) if term in r.vocab_dict]
        r.get_scores(qt) if qt else None
        base.append(time.perf_counter() - t)

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return IngestResult(
        tokens=tokens,
        chunks=len(doc.chunks),
        ingest_s=ingest,
        query_p50_ms=statistics.median(lat),
        query_p95_ms=sorted(lat)[int(len(lat) * 0.95) - 1],
        peak_rss_mb=peak,
        second_run_s=second,
        baseline_query_s=statistics.median(base),
    )
