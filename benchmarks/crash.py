"""Kill `longdoc index` with SIGKILL at random moments, many times, and check
the index after every kill (longdoc.bench.crash): each entry left on disk must
pass the index's own checks, and a last `longdoc ask` must answer from it.

    python benchmarks/crash.py                 # 120 kills, seed 0
    python benchmarks/crash.py --runs 300 --seed 5

Prints the runs, how many the signal reached mid-run, the entries checked and
the corrupt ones; exits 1 if any entry was corrupt or the last answer is wrong.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from longdoc.bench.crash import NEEDLE, answer_after, kill_index_runs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=120)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="longdoc-crash-") as work:
        t0 = time.perf_counter()
        report = kill_index_runs(Path(work), args.runs, args.seed)
        out = answer_after(Path(work))
        wall = time.perf_counter() - t0
    answered = NEEDLE in str(out.get("citations"))
    print(f"runs: {report.runs}  killed mid-run: {report.killed}  entries checked: {report.entries_checked}")
    print(f"corrupt entries: {len(report.corrupt)}  last ask answered from the index: {answered}  ({wall:.0f} s)")
    for line in report.corrupt[:10]:
        print(f"CORRUPT: {line}")
    sys.exit(0 if answered and not report.corrupt else 1)


if __name__ == "__main__":
    main()
