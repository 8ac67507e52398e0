"""When may Level 1 skip its planning call? Offline, with no model: the rule of
`retrieve.clear_lead` measured on generated bench items.

    python benchmarks/plan_skip.py                      # the table in docs/benchmarks.md
    python benchmarks/plan_skip.py --lengths 4k --repeats 1 --tokenizer estimate   # a minute

Generates items with the bench generator (`bench/generate.py`: single_needle,
decoy, paraphrase, multi_reasoning, unanswerable and multi_needle, in English
and Chinese, at each length, depth and repeat), indexes each document alone
(an IndexStore in a temporary folder, the default chunking), and measures for
its question what the rule looks at (`retrieve.lead`): the keyword retriever's
best passage for the question's own words, its score over the best passage
that does not overlap it (the ratio), the largest share of the question's
content terms one of its sentences holds (the coverage), and whether the
question is in the documents' script. Then, for each (R, C) of --ratios x
--coverages, the rule fires on an item when ratio >= R and coverage >= C (and
the scripts match), and a firing is right only when that best passage holds
the answer:

  single_needle, paraphrase  the planted fact
  decoy                      the true fact (a look-alike's is wrong)
  multi_reasoning            every fact of the chain (the answer needs them all)
  multi_needle               every needle (the question asks for all)
  unanswerable               never: nothing answers it

A skip is safe only when it is right: the plan's keywords could have found a
better passage otherwise. The table gives, per setting and task, the firings
out of the items and how many were right; "unsafe" counts the wrong ones.
The rule in use (retrieve.CLEAR_RATIO, CLEAR_COVERAGE) is marked.

The token counter is the default model's vocabulary (loaded alone, no weights:
what `longdoc bench generate` uses) unless --tokenizer estimate.

--compare AUTO ALWAYS reads two `longdoc bench run` result folders made on the
same items with the same model, one with `--plan auto` and one with `--plan
always`, and prints per task and language how many questions skipped the call
and, on those, the seconds of the plan step and of the whole question in each
run and the recall in each (no model runs here):

    longdoc bench run --out runs/plan-always --items items --systems rag,auto --plan always
    longdoc bench run --out runs/plan-auto --items items --systems rag,auto --plan auto
    python benchmarks/plan_skip.py --compare runs/plan-auto runs/plan-always
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TASKS = ("single_needle", "decoy", "paraphrase", "multi_reasoning", "unanswerable", "multi_needle")
LANGS = ("en", "zh")


@dataclass(frozen=True)
class Measured:
    """What the rule sees for one item, and whether its best passage answers."""

    item: str
    task: str
    lang: str
    length: int
    ratio: float  # 0 when nothing matched
    coverage: float
    same_script: bool
    right: bool  # the best passage holds the answer (see the module docstring)

    def fires(self, ratio: float, coverage: float) -> bool:
        return self.same_script and self.ratio >= ratio and self.coverage >= coverage


def answer_needles(task: str, needles: list[str]) -> list[str]:
    """The needles the best passage must hold for a skip to be right (empty: none can)."""
    if task == "unanswerable":
        return []
    if task in ("multi_reasoning", "multi_needle"):
        return needles
    return needles[:1]  # the true fact comes first (decoys after it)


def holds_answer(task: str, needles: list[str], text: str) -> bool:
    wanted = answer_needles(task, needles)
    return bool(wanted) and all(n in text for n in wanted)


def measure(corpus: Any, item: Any) -> Measured:
    from longdoc.index.terms import script_of
    from longdoc.retrieve import lead

    found = lead(corpus, item.question)
    return Measured(
        item.id,
        item.task,
        item.lang,
        item.length,
        found.ratio if found else 0.0,
        found.coverage if found else 0.0,
        corpus.scripts() == {script_of(item.question)},
        found is not None and holds_answer(item.task, item.needles, found.hit.chunk.text),
    )


def run_items(args: argparse.Namespace, counter: Any, work: Path, log: Any = None) -> list[Measured]:
    from longdoc.bench.generate import build_item
    from longdoc.chunk import ChunkSettings
    from longdoc.config import Settings
    from longdoc.index.store import IndexStore

    defaults = Settings()
    store = IndexStore(work / "index", counter, ChunkSettings(defaults.chunk_size, defaults.chunk_overlap))
    out: list[Measured] = []
    started = time.perf_counter()
    for length in args.lengths:
        for task in args.tasks:
            for lang in args.langs:
                for repeat in range(args.repeats):
                    for depth in args.depths:
                        item, text = build_item(task, lang, length, depth, repeat, args.seed, counter)
                        path = work / f"{item.id}.txt"
                        path.write_text(text, encoding="utf-8")
                        corpus = store.corpus([store.add(path)])
                        out.append(measure(corpus, item))
                        path.unlink()
        if log:
            print(f"{length} tokens: {len(out)} items, {time.perf_counter() - started:.0f} s", file=log)
    return out


def _cell(rows: list[Measured], ratio: float, coverage: float) -> str:
    fired = [m for m in rows if m.fires(ratio, coverage)]
    return f"{len(fired)}/{len(rows)} ({sum(m.right for m in fired)})"


def unsafe(rows: list[Measured], ratio: float, coverage: float) -> int:
    return sum(1 for m in rows if m.fires(ratio, coverage) and not m.right)


def grid_table(
    rows: list[Measured], ratios: Sequence[float], coverages: Sequence[float], chosen: tuple[float, float]
) -> str:
    """Markdown: one line per (R, C); per task, fired/items (right), then the unsafe firings."""
    tasks = [t for t in TASKS if any(m.task == t for m in rows)]
    head = "| R | C | " + " | ".join(tasks) + " | unsafe |"
    lines = [head, "|" + "---|" * (len(tasks) + 3)]
    for c in coverages:
        for r in ratios:
            mark = " **(in use)**" if (r, c) == chosen else ""
            cells = [_cell([m for m in rows if m.task == t], r, c) for t in tasks]
            lines.append(f"| {r:g} | {c:g}{mark} | " + " | ".join(cells) + f" | {unsafe(rows, r, c)} |")
    return "\n".join(lines)


def detail_table(rows: list[Measured], ratio: float, coverage: float) -> str:
    """Markdown: the rule in use per task and language: firings, right, precision."""
    lines = ["| task | lang | items | fired | right | precision |", "|---|---|---|---|---|---|"]
    for t in TASKS:
        for lang in LANGS:
            sel = [m for m in rows if m.task == t and m.lang == lang]
            if not sel:
                continue
            fired = [m for m in sel if m.fires(ratio, coverage)]
            right = sum(m.right for m in fired)
            precision = f"{right / len(fired):.2f}" if fired else "–"
            lines.append(f"| {t} | {lang} | {len(sel)} | {len(fired)} | {right} | {precision} |")
    return "\n".join(lines)


def ratio_spread(rows: list[Measured], coverage: float) -> str:
    """Per task, the ratios of the items whose best passage reaches the coverage (what R separates)."""
    lines = []
    for t in TASKS:
        for right in (True, False):
            rs = sorted(m.ratio for m in rows if m.task == t and m.coverage >= coverage and m.right == right)
            if rs:
                shown = ", ".join("inf" if math.isinf(r) else f"{r:.2f}" for r in (rs[0], rs[len(rs) // 2], rs[-1]))
                lines.append(f"{t} ({'right' if right else 'wrong'}, {len(rs)} items): min, median, max ratio {shown}")
    return "\n".join(lines)


SKIPPED = "plan call skipped"


def compare_table(auto: list[Any], always: list[Any]) -> str:
    """Markdown: per system, task and language, the questions answered in both
    runs, those the auto run skipped the call for, and on those the mean plan
    step and wall seconds and the recall in each run; then every question's recall."""
    paired = {(r.system, r.item): r for r in always}
    groups: dict[tuple[str, str, str], list[tuple[Any, Any]]] = {}
    for r in auto:
        other = paired.get((r.system, r.item))
        if other is not None and r.error is None and other.error is None:
            groups.setdefault((r.system, r.task, r.lang), []).append((r, other))
    lines = [
        "| system | task | lang | questions | skipped | plan s (auto / always) | wall s (auto / always) "
        "| recall skipped (auto / always) | recall all (auto / always) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]

    def mean(xs: list[float]) -> str:
        return f"{sum(xs) / len(xs):.2f}" if xs else "–"

    for (system, task, lang), pairs in sorted(groups.items()):
        hit = [(a, b) for a, b in pairs if any(n.startswith(SKIPPED) for n in a.notes)]
        plan = f"{mean([a.timings.get('plan', 0.0) for a, _ in hit])} / {mean([b.timings.get('plan', 0.0) for _, b in hit])}"
        wall = f"{mean([a.wall_s for a, _ in hit])} / {mean([b.wall_s for _, b in hit])}"
        rec_hit = f"{mean([a.recall for a, _ in hit])} / {mean([b.recall for _, b in hit])}"
        rec_all = f"{mean([a.recall for a, _ in pairs])} / {mean([b.recall for _, b in pairs])}"
        lines.append(
            f"| {system} | {task} | {lang} | {len(pairs)} | {len(hit)} | {plan} | {wall} | {rec_hit} | {rec_all} |"
        )
    return "\n".join(lines)


def _tokens(v: str) -> int:
    v = v.strip().lower()
    return int(float(v[:-1]) * 1000) if v.endswith("k") else int(v)


def _list(convert: Any) -> Any:
    def parse(v: str) -> list[Any]:
        try:
            out = [convert(x) for x in v.split(",") if x.strip()]
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a comma-separated list: {v}") from None
        if not out:
            raise argparse.ArgumentTypeError("empty list")
        return out

    return parse


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument(
        "--lengths", type=_list(_tokens), default=[4000, 16000, 32000, 128000], help="[default: 4k,16k,32k,128k]"
    )
    ap.add_argument("--depths", type=_list(int), default=[0, 25, 50, 75, 100], help="percent [default: 0,25,50,75,100]")
    ap.add_argument("--repeats", type=int, default=2, help="items per (task, language, length, depth) [default: 2]")
    ap.add_argument("--seed", type=int, default=20240601, help="base seed [default: the generator's, 20240601]")
    ap.add_argument("--tasks", type=_list(str), default=list(TASKS), help=f"[default: {','.join(TASKS)}]")
    ap.add_argument("--langs", type=_list(str), default=list(LANGS), help="[default: en,zh]")
    ap.add_argument("--ratios", type=_list(float), default=[1.0, 1.2, 1.5, 2.0, 3.0], help="R values to try")
    ap.add_argument("--coverages", type=_list(float), default=[0.6, 0.75, 0.8, 1.0], help="C values to try")
    ap.add_argument(
        "--compare",
        nargs=2,
        type=Path,
        metavar=("AUTO", "ALWAYS"),
        help="compare two `longdoc bench run` result folders (--plan auto, --plan always) instead",
    )
    ap.add_argument(
        "--tokenizer",
        choices=("model", "estimate"),
        default="model",
        help="the default model's vocabulary (no weights), as `longdoc bench generate`, or the estimating counter",
    )
    return ap


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    from longdoc.bench.tasks import TASKS as KNOWN

    ap = build_parser()
    args = ap.parse_args(argv)
    if args.repeats < 1:
        ap.error("--repeats must be at least 1")
    if bad := [t for t in args.tasks if t not in KNOWN]:
        ap.error(f"unknown task(s): {', '.join(bad)}")
    if bad := [lang for lang in args.langs if lang not in LANGS]:
        ap.error(f"unknown language(s): {', '.join(bad)}")
    if any(not 0 <= d <= 100 for d in args.depths):
        ap.error("--depths are percentages, 0 to 100")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    from longdoc import api
    from longdoc.config import Settings
    from longdoc.retrieve import CLEAR_COVERAGE, CLEAR_RATIO
    from longdoc.tokens import EstimateCounter

    args = parse_args(argv)
    if args.compare:
        from longdoc.bench.run import load_records

        auto, always = (load_records(d) for d in args.compare)
        if not auto or not always:
            print(f"no results in {args.compare[0] if not auto else args.compare[1]}", file=sys.stderr)
            return 1
        print(compare_table(auto, always))
        return 0
    counter = EstimateCounter() if args.tokenizer == "estimate" else api.token_counter(Settings())
    with tempfile.TemporaryDirectory(prefix="plan-skip-") as tmp:
        rows = run_items(args, counter, Path(tmp), log=sys.stderr)
    chosen = (CLEAR_RATIO, CLEAR_COVERAGE)
    ratios = sorted({*args.ratios, CLEAR_RATIO})
    coverages = sorted({*args.coverages, CLEAR_COVERAGE})
    print(f"{len(rows)} items, tokenizer {counter.name}; cells: fired/items (right)\n")
    print(grid_table(rows, ratios, coverages, chosen))
    print(f"\nIn use: R = {CLEAR_RATIO:g}, C = {CLEAR_COVERAGE:g}\n")
    print(detail_table(rows, *chosen))
    print(f"\nRatios where one sentence holds at least {CLEAR_COVERAGE:g} of the question's terms:")
    print(ratio_spread(rows, CLEAR_COVERAGE))
    return 0


if __name__ == "__main__":
    sys.exit(main())
