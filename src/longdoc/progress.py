"""Stage timing and progress display, decoupled: the pipeline reports stages,
the caller decides how (or whether) to show them."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

Display = Callable[[str], None]
# (stage, done, total): e.g. ("read", 12, 40) while Level 2 reads chunks.
ProgressHook = Callable[[str, int, int], None]


@dataclass
class Tracker:
    """Times named stages (seconds, summed when a stage repeats) and tells a
    display what is happening now."""

    display: Display | None = None
    on_progress: ProgressHook | None = None
    timings: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def stage(self, name: str, detail: str = "") -> Iterator[None]:
        self.show(f"{name}{': ' + detail if detail else ''}")
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.timings[name] = self.timings.get(name, 0.0) + time.perf_counter() - t0

    def show(self, message: str) -> None:
        if self.display is not None:
            self.display(message)

    def progress(self, stage: str, done: int, total: int, detail: str = "") -> None:
        """Report countable progress (chunks read of planned, ...)."""
        if self.on_progress is not None:
            self.on_progress(stage, done, total)
        self.show(f"{stage}: {done}/{total}{' ' + detail if detail else ''}")
