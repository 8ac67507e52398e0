"""`longdoc bench report`: Markdown tables and PNG plots from cached results.

Writes `report.md`, `heatmap-<system>.png` (relaxed recall by length x depth)
and `prompt-tokens.png` (prompt tokens per question against length) into the
results folder.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from statistics import mean

from .generate import length_label
from .run import Record, load_records

METRICS = ("recall", "needlebench", "lveval")


@dataclass(frozen=True)
class Report:
    markdown: str
    images: list[Path]


def _fmt(x: float) -> str:
    return f"{x:.2f}"


def _systems(records: list[Record]) -> list[str]:
    # longdoc modes first, then the baseline, then the reference implementation
    order = {"full": 1}
    return sorted({r.system for r in records}, key=lambda s: (2 if s.startswith("qwen-agent") else order.get(s, 0), s))


def summary_table(records: list[Record]) -> str:
    rows = [
        "| system | items | recall | NeedleBench | LV-Eval | decoy named | LLM calls | prompt tok | completion tok | chunks read | s / question | errors |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for s in _systems(records):
        rs = [r for r in records if r.system == s]
        chunks = [r.chunks_read for r in rs if r.chunks_read is not None]
        rows.append(
            f"| {s} | {len(rs)} | "
            + " | ".join(_fmt(mean(getattr(r, m) for r in rs)) for m in METRICS)
            + f" | {sum(r.decoy_hit for r in rs)} | {mean(r.llm_calls for r in rs):.1f} | {mean(r.prompt_tokens for r in rs):,.0f}"
            f" | {mean(r.completion_tokens for r in rs):,.0f} | {(f'{mean(chunks):.1f}' if chunks else '-')}"
            f" | {mean(r.wall_s for r in rs):.1f} | {sum(1 for r in rs if r.error)} |"
        )
    return "\n".join(rows)


def task_table(records: list[Record], metric: str = "recall") -> str:
    """Score by task x language x length (rows) and system (columns)."""
    systems = _systems(records)
    cells: dict[tuple[str, str, int], dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for r in records:
        cells[(r.task, r.lang, r.length)][r.system].append(getattr(r, metric))
    rows = ["| task | lang | length | " + " | ".join(systems) + " |", "|---|---|---|" + "---|" * len(systems)]
    for task, lang, length in sorted(cells):
        by = cells[(task, lang, length)]
        vals = [
            (_fmt(mean(by[s])) + (f" ({len(by[s])})" if len(by[s]) > 1 else "")) if by.get(s) else "-" for s in systems
        ]
        rows.append(f"| {task} | {lang} | {length_label(length)} | " + " | ".join(vals) + " |")
    return "\n".join(rows)


def task_cost_table(records: list[Record]) -> str:
    """Per task (languages and lengths pooled) and system: what it scored and what it cost."""
    rows = [
        "| task | system | items | recall | LV-Eval | decoy named | LLM calls | prompt tok | completion tok | chunks read | s / question |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for task in sorted({r.task for r in records}):
        for s in _systems(records):
            rs = [r for r in records if r.task == task and r.system == s]
            if not rs:
                continue
            chunks = [r.chunks_read for r in rs if r.chunks_read is not None]
            rows.append(
                f"| {task} | {s} | {len(rs)} | {_fmt(mean(r.recall for r in rs))} | {_fmt(mean(r.lveval for r in rs))}"
                f" | {sum(r.decoy_hit for r in rs)} | {mean(r.llm_calls for r in rs):.1f}"
                f" | {mean(r.prompt_tokens for r in rs):,.0f} | {mean(r.completion_tokens for r in rs):,.0f}"
                f" | {(f'{mean(chunks):.1f}' if chunks else '-')} | {mean(r.wall_s for r in rs):.1f} |"
            )
    return "\n".join(rows)


def heatmap(records: list[Record], system: str, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")  # no display on servers
    import matplotlib.pyplot as plt

    rs = [r for r in records if r.system == system]
    lengths = sorted({r.length for r in rs})
    depths = sorted({r.depth for r in rs})
    grid = [[float("nan")] * len(lengths) for _ in depths]
    for i, d in enumerate(depths):
        for j, n in enumerate(lengths):
            vals = [r.recall for r in rs if r.depth == d and r.length == n]
            if vals:
                grid[i][j] = mean(vals)
    fig, ax = plt.subplots(figsize=(1.2 + 0.9 * len(lengths), 1.2 + 0.5 * len(depths)), dpi=80)
    im = ax.imshow(grid, vmin=0, vmax=1, cmap="RdYlGn", aspect="auto")
    ax.set_xticks(range(len(lengths)), [length_label(n) for n in lengths])
    ax.set_yticks(range(len(depths)), [f"{d}%" for d in depths])
    ax.set_xlabel("document tokens")
    ax.set_ylabel("needle depth")
    ax.set_title(f"{system}: recall", fontsize=10)
    for i in range(len(depths)):
        for j in range(len(lengths)):
            if grid[i][j] == grid[i][j]:  # not NaN
                ax.text(j, i, f"{grid[i][j]:.2f}", ha="center", va="center", fontsize=8)
    fig.colorbar(im, ax=ax, fraction=0.05)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def tokens_plot(records: list[Record], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    fig, ax = plt.subplots(figsize=(5.5, 3.5), dpi=80)
    for s in _systems(records):
        by: dict[int, list[int]] = defaultdict(list)
        for r in records:
            if r.system == s:
                by[r.length].append(r.prompt_tokens)
        xs = sorted(by)
        ax.plot(xs, [mean(by[x]) for x in xs], marker="o", label=s)
    ax.set_xscale("log")
    ax.set_yscale("log")
    # Plain tick labels: the default log labels go through mathtext, slow and noisy.
    plain = FuncFormatter(lambda v, _: length_label(int(v)) if v >= 1000 else f"{v:g}")
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_formatter(plain)
        axis.set_minor_formatter(FuncFormatter(lambda v, _: ""))
    ax.set_xlabel("document tokens")
    ax.set_ylabel("prompt tokens per question")
    ax.legend(fontsize=7)
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def write_report(out: Path, title: str = "longdoc benchmark") -> Report:
    records = load_records(out)
    if not records:
        return Report("no results yet\n", [])
    images = []
    for s in _systems(records):
        p = out / f"heatmap-{s.replace(':', '-')}.png"
        heatmap(records, s, p)
        images.append(p)
    tp = out / "prompt-tokens.png"
    tokens_plot(records, tp)
    images.append(tp)
    models = sorted({r.model for r in records})
    md = (
        "\n\n".join(
            [
                f"# {title}",
                f"Models: {', '.join(models)}. Scores are 0-1 means; recall is the relaxed keyword recall.",
                "## Per system\n\n" + summary_table(records),
                "## Per task: score and cost\n\n" + task_cost_table(records),
                "## Relaxed keyword recall by task and length\n\n" + task_table(records, "recall"),
                "## LV-Eval score by task and length\n\n" + task_table(records, "lveval"),
                "## Plots\n\n" + "\n".join(f"![{p.stem}]({p.name})" for p in images),
            ]
        )
        + "\n"
    )
    (out / "report.md").write_text(md, encoding="utf-8")
    return Report(md, images)
