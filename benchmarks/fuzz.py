"""Fuzz the parsers: seeded mutants of every supported format and the crafted
hostile files (longdoc.bench.fuzz), each held to the rule: a result or a
one-line error naming the file, within the parse budget, never an internal
error. Prints counts per format and the worst times; exits 1 if any file broke
the rule.

    python benchmarks/fuzz.py                      # 1,000 mutants per format, seed 0, and the crafted files
    python benchmarks/fuzz.py --per-format 200 --seed 7 --no-hostile

Each file runs in a worker process with an address-space limit (--memory-mb),
so a file that would exhaust memory shows up as a failure of that file, not
of the run; a worker that dies or overruns --timeout counts as "bad" too.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import sys
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor, TimeoutError
from concurrent.futures.process import BrokenProcessPool

from longdoc.bench.fuzz import FORMATS, Outcome, check, hostile, mutants


def _limit_memory(megabytes: int) -> None:
    cap = megabytes * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))


def _run(files: list[tuple[str, bytes]], workers: int, memory_mb: int, timeout: float) -> list[Outcome]:
    """Every file through `check` in worker processes. A file whose worker dies
    or overruns `timeout` counts as bad; the pool is then rebuilt for the rest."""
    outcomes: dict[str, Outcome] = {}
    ctx = mp.get_context("forkserver")
    todo = list(files)
    while todo:
        pool = ProcessPoolExecutor(workers, mp_context=ctx, initializer=_limit_memory, initargs=(memory_mb,))
        futures = {name: pool.submit(check, name, data) for name, data in todo}
        failed = None
        for name, future in futures.items():
            t0 = time.perf_counter()
            try:
                outcomes[name] = future.result(timeout=timeout)
            except TimeoutError:
                outcomes[name] = Outcome(name, "bad", f"no ending within {timeout:.0f} s", timeout)
                failed = name
            except BrokenProcessPool as e:
                outcomes[name] = Outcome(name, "bad", f"worker died: {e}", time.perf_counter() - t0)
                failed = name
            if failed:
                break
        if failed:
            for process in list(pool._processes.values()):  # a worker may still be stuck on it
                process.kill()
        pool.shutdown(wait=True, cancel_futures=True)
        todo = [(n, d) for n, d in todo if n not in outcomes]
    return [outcomes[name] for name, _ in files]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--per-format", type=int, default=1000, help="mutants per format (default 1000)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--formats", default=",".join(FORMATS))
    ap.add_argument("--no-hostile", action="store_true", help="skip the crafted hostile files")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--memory-mb", type=int, default=2048, help="address-space limit per worker (default 2048)")
    ap.add_argument("--timeout", type=float, default=180.0, help="seconds before a file counts as hung")
    args = ap.parse_args()
    groups: dict[str, list[tuple[str, bytes]]] = {}
    for fmt in args.formats.split(","):
        groups[fmt] = list(mutants(fmt, args.per_format, args.seed))
    if not args.no_hostile:
        groups["crafted"] = hostile()
    print(f"seed {args.seed}, {args.per_format} mutants per format, {args.workers} workers, {args.memory_mb} MB each")
    print(f"{'group':8} {'tried':>6} {'ok':>6} {'error':>6} {'bad':>4} {'max s':>7} {'total s':>8}")
    bad: list[Outcome] = []
    slowest: list[Outcome] = []
    for group, files in groups.items():
        outcomes = _run(files, args.workers, args.memory_mb, args.timeout)
        counts = Counter(o.kind for o in outcomes)
        worst = max(outcomes, key=lambda o: o.seconds)
        print(
            f"{group:8} {len(outcomes):6} {counts['ok']:6} {counts['error']:6} {counts['bad']:4} "
            f"{worst.seconds:7.2f} {sum(o.seconds for o in outcomes):8.1f}",
            flush=True,
        )
        bad.extend(o for o in outcomes if o.kind == "bad")
        slowest.extend(sorted(outcomes, key=lambda o: -o.seconds)[:2])
    for o in sorted(slowest, key=lambda o: -o.seconds)[:8]:
        print(f"slow: {o.seconds:6.2f}s {o.name}: {o.kind}: {o.detail[:120]}")
    for o in bad[:20]:
        print(f"BAD: {o.name}: {o.detail[:200]}")
    print(f"{sum(len(f) for f in groups.values())} files, {len(bad)} broke the rule")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
