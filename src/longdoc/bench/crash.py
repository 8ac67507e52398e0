"""Crash consistency: `longdoc index` killed with SIGKILL at random moments,
and the index checked after each kill. What must hold: every entry left on
disk passes the index's own checks (a kill leaves the old entry or none,
never half of one), and a later run answers from a complete index.

`tests/test_crash.py` runs a handful of kills; `benchmarks/crash.py` hundreds.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..chunk import ChunkSettings
from ..index.store import DamagedEntry, IndexStore, check_set
from ..tokens import EstimateCounter

NEEDLE = "The lighthouse on Karvo Point is kept by Edda Marn, who first lit it in 1931."
QUESTION = "Who keeps the lighthouse on Karvo Point?"


@dataclass
class KillReport:
    runs: int = 0
    killed: int = 0  # runs the signal reached before they finished
    entries_checked: int = 0
    corrupt: list[str] = field(default_factory=list)


def documents(folder: Path, count: int = 4, paragraphs: int = 3000) -> list[Path]:
    """Text files big enough that indexing them takes a noticeable moment; the
    needle is in the last one."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for n in range(count):
        paras = [
            f"Document {n}, paragraph {i}: the harbour, the boats and the tides of the coast."
            for i in range(paragraphs)
        ]
        if n == count - 1:
            paras.insert(paragraphs // 2, NEEDLE)
        p = folder / f"doc-{n}.txt"
        p.write_text("\n\n".join(paras), encoding="utf-8")
        paths.append(p)
    return paths


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LONGDOC_")}
    env["LONGDOC_HOME"] = str(home)
    return env


def index_command(paths: list[Path]) -> list[str]:
    return [sys.executable, "-m", "longdoc", "index", "--quiet", "--backend", "scripted", *map(str, paths)]


def check_index(home: Path) -> tuple[int, list[str]]:
    """How many entries are on disk, and those that fail the index's checks."""
    store = IndexStore(home / "index", EstimateCounter(), ChunkSettings())
    bad = []
    entries = [d for d in (home / "index" / "docs").iterdir() if not d.name.startswith(".")]
    for entry in entries:
        try:
            store.check_entry(entry)
        except DamagedEntry as e:
            bad.append(str(e))
    sets = [d for d in (home / "index" / "sets").iterdir() if not d.name.startswith(".")]
    for s in sets:
        try:
            check_set(s)
        except (OSError, ValueError, DamagedEntry) as e:
            bad.append(f"{s}: {e}")
    return len(entries) + len(sets), bad


def kill_index_runs(work: Path, runs: int, seed: int = 0) -> KillReport:
    """Start `longdoc index` `runs` times and SIGKILL each at a random moment
    within the time a full run takes; check the index after every kill. The
    home is wiped every few runs, so kills also land in first builds."""
    rng = random.Random(seed)
    paths = documents(work / "docs")
    report = KillReport()
    home = work / "home"
    t0 = time.monotonic()
    subprocess.run(index_command(paths), env=_env(home), check=True, capture_output=True)
    full = time.monotonic() - t0
    for run in range(runs):
        if run % 3 == 0:
            _wipe(home / "index")
        proc = subprocess.Popen(
            index_command(paths), env=_env(home), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        time.sleep(rng.uniform(0.0, full))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            report.killed += 1
        proc.wait()
        report.runs += 1
        checked, bad = check_index(home)
        report.entries_checked += checked
        report.corrupt.extend(bad)
    return report


def answer_after(work: Path) -> dict[str, object]:
    """`longdoc ask --json` over the documents, with a scripted model that answers from the needle."""
    replies = work / "replies.json"
    plan = json.dumps({"information": QUESTION, "keywords_en": ["Karvo Point", "lighthouse"]})
    replies.write_text(json.dumps([plan, "Edda Marn keeps it [1]."]), encoding="utf-8")
    cmd = [sys.executable, "-m", "longdoc", "ask", "--json", "--backend", "scripted", "--model", str(replies)]
    paths = documents(work / "docs")
    r = subprocess.run([*cmd, *map(str, paths), QUESTION], env=_env(work / "home"), capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"ask failed ({r.returncode}): {r.stderr.strip()}")
    out: dict[str, object] = json.loads(r.stdout)
    return out


def _wipe(index: Path) -> None:
    import shutil

    shutil.rmtree(index, ignore_errors=True)
