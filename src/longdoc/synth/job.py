"""A synth run's settings, and the items planned over each document."""

from __future__ import annotations

from dataclasses import dataclass

from .. import api
from ..errors import ConfigError
from ..index.store import Corpus
from .formats import DPO, FORMATS
from .records import KINDS, Seed, View


@dataclass(frozen=True)
class SynthConfig:
    n: int = 100  # items over all documents and lengths
    lengths: tuple[int, ...] = ()  # documents cut to these many tokens; () for each file whole
    kinds: tuple[str, ...] = KINDS
    formats: tuple[str, ...] = FORMATS
    dpo: bool = False
    mode: str = api.DEFAULT_MODE
    seed: int = 20240601
    threshold: float = 0.5  # agreement (filters.agreement) needed to keep an item
    ends_tokens: int = 4000  # the item must not be answerable from this many tokens at each end
    max_context: int | None = None  # cut each item's context to this many tokens
    plant: int = 0  # items whose answer is made wrong on purpose, to check the filter drops them (plant.py)

    def check(self) -> None:
        api.check_mode(self.mode)
        if self.n < 1:
            raise ConfigError("--n must be at least 1")
        if not self.kinds:
            raise ConfigError(f"--kinds names none (choose from {', '.join(KINDS)})")
        if bad := [k for k in self.kinds if k not in KINDS]:
            raise ConfigError(f"unknown kind(s) {', '.join(bad)} (choose from {', '.join(KINDS)})")
        if bad := [f for f in self.formats if f not in FORMATS]:
            raise ConfigError(f"unknown format(s) {', '.join(bad)} (choose from {', '.join(FORMATS)})")
        if not 0.0 <= self.threshold <= 1.0:
            raise ConfigError("--threshold must be between 0 and 1")
        if not 0 <= self.plant <= self.n:
            raise ConfigError("--plant must be between 0 and --n")

    def outputs(self) -> tuple[str, ...]:
        return (*self.formats, DPO) if self.dpo else self.formats


@dataclass
class Planned:
    """One view, indexed, and the items planned over it."""

    view: View
    corpus: Corpus
    seeds: list[Seed]
