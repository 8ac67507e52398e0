"""Index and query time of the two stores on one ~1M-token text: the local
bm25s files and Milvus (Lite, in this process, or a cluster with --milvus-uri).

Each step prints wall seconds and this process's user CPU seconds; the CPU is
the fairer figure on a shared machine. Milvus Lite serves from threads of this
process, so its work is in the CPU column; a cluster's is not (its column then
shows only the client's share). Chunks are counted with the estimating
tokenizer, so no model is loaded.

    python benchmarks/store_speed.py [--tokens 1000000] [--queries 100] [--milvus-uri URI --milvus-token T]
"""

from __future__ import annotations

import argparse
import random
import resource
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from longdoc.bench.ingest import generate_text
from longdoc.chunk import ChunkSettings
from longdoc.index.milvus import MilvusTarget
from longdoc.index.store import IndexStore
from longdoc.index.terms import Analyzer
from longdoc.tokens import EstimateCounter


def _cpu() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_utime


@contextmanager
def timed(label: str) -> Iterator[None]:
    wall, cpu = time.perf_counter(), _cpu()
    yield
    print(f"{label:<40} {time.perf_counter() - wall:8.2f} s wall {_cpu() - cpu:8.2f} s user CPU", flush=True)


def query_times(search: Callable[[str], Any], queries: list[str]) -> None:
    wall: list[float] = []
    cpu = _cpu()
    for q in queries:
        t = time.perf_counter()
        search(q)
        wall.append((time.perf_counter() - t) * 1000)
    per_cpu = (_cpu() - cpu) * 1000 / len(queries)
    p50, p95 = statistics.median(wall), statistics.quantiles(wall, n=20)[-1]
    print(f"{'  query p50 / p95 / user CPU per query':<40} {p50:8.1f} ms {p95:8.1f} ms {per_cpu:8.1f} ms", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tokens", type=int, default=1_000_000)
    ap.add_argument("--queries", type=int, default=100)
    ap.add_argument("--milvus-uri", help="a cluster (http://host:19530); default: Milvus Lite in a temporary .db")
    ap.add_argument("--milvus-token", default="")
    args = ap.parse_args()

    counter, settings = EstimateCounter(), ChunkSettings()
    with tempfile.TemporaryDirectory(prefix="store-speed-") as tmp:
        work = Path(tmp)
        text = work / "haystack.txt"
        tokens = generate_text(text, args.tokens, counter)
        rng = random.Random(11)
        words = [w for w in Analyzer().terms(text.read_text(encoding="utf-8")[:200_000]) if len(w) > 3]
        queries = [" ".join(rng.sample(words, 4)) for _ in range(args.queries)]

        local = IndexStore(work / "index", counter, settings)
        with timed("parse + chunk + terms (shared)"):
            doc = local.add(text)
        print(f"{tokens:,} tokens, {len(doc.chunks):,} chunks")

        target = MilvusTarget(args.milvus_uri or str(work / "milvus.db"), args.milvus_token)
        milvus = IndexStore(work / "index", counter, settings, milvus=target)
        for name, store in (("local bm25s", local), (f"milvus {target.uri}", milvus)):
            print(name)
            with timed("  build the search index"):
                corpus = store.corpus([doc])
            query_times(lambda q, c=corpus: c.search(q, k=20), queries)
            reopened = IndexStore(work / "index", counter, settings, milvus=store.milvus)
            with timed("  reopen, unchanged file (checks only)"):
                reopened.corpus([reopened.add(text)])
        if args.milvus_uri:
            milvus.forget([doc.key])  # leave the cluster as it was


if __name__ == "__main__":
    main()
