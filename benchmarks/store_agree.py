"""Do the two stores give the same answers? Each bench item's question asked once
with the local store (bm25s files) and once with `--store milvus` (Milvus Lite
in a file, or a cluster), the same model and settings otherwise.

    python benchmarks/store_agree.py --retrieval-only                 # no LLM: ranked chunks only
    python benchmarks/store_agree.py --model qwen2.5-coder-0.5b --threads 2        # mode rag
    python benchmarks/store_agree.py --mode read --items bench-out/items --model qwen2.5-coder-1.5b

Items: --items (a folder with items.jsonl, or the file), else the smoke preset
of `longdoc bench generate` (6 items: 3 tasks x en/zh at 4k tokens) generated
into the work folder, its lengths in the tokens of --tokenizer.

With a model: prints per item both answers, both citation lists (document,
page, chunk id) and whether they are identical, then "N of M identical
citations, K of M identical answers". The model's plan (keywords) comes from
the same prompt both times, so a difference should come from the ranking; a
sampling difference in llama.cpp between two identical prompts is possible but
rare at temperature 0.

--retrieval-only calls no LLM: for each question it ranks chunks the way
Level 1 does when its keyword step is skipped (`retrieve.rank` with the
question's own words as the plan) in both stores, and prints both ranked lists
(chunk numbers, best first, the top --k), the first position where they differ,
the shared share of the top --k, where the chunk holding the item's (first)
needle ranks in each, and the chunks Level 1 would then hand the model
(`retrieve.select_evidence`: a floor at 5% of the best score, then the reading
budget), in order: what its citations are drawn from. The token counter is the model's vocabulary (loaded alone, no
weights) unless --tokenizer estimate, which loads nothing of the model.

Both stores rank the analyzer's terms with the same BM25 parameters; Milvus
scores each document with that document's statistics (Lite) or the whole
collection's (a cluster), bm25s with the searched documents' (docs/scaling.md).
On one document per question, as here, Lite and bm25s should then agree; this
script shows whether they do. Run it twice with the same --work to compare a
fresh Milvus Lite file with a reopened one.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

DEFAULT_K = 10


@dataclass(frozen=True)
class RankComparison:
    item: str
    local: list[str]  # chunk ids, best first
    milvus: list[str]
    needle_local: int | None = None  # 1-based rank of the needle's chunk, None: not in the top k
    needle_milvus: int | None = None
    # The chunks Level 1 would hand the model, in order (select_evidence: the score floor and the budget).
    evidence_local: tuple[str, ...] = ()
    evidence_milvus: tuple[str, ...] = ()

    @property
    def identical(self) -> bool:
        return self.local == self.milvus

    @property
    def same_evidence(self) -> bool:
        return self.evidence_local == self.evidence_milvus

    @property
    def same_set(self) -> bool:
        return set(self.local) == set(self.milvus)

    @property
    def same_top(self) -> bool:
        return self.local[:1] == self.milvus[:1]

    @property
    def first_difference(self) -> int | None:
        """1-based position of the first rank where the lists differ; None when identical."""
        for i, (a, b) in enumerate(zip(self.local, self.milvus), start=1):
            if a != b:
                return i
        if len(self.local) != len(self.milvus):
            return min(len(self.local), len(self.milvus)) + 1
        return None

    @property
    def overlap(self) -> float:
        """Share of the longer list's chunks that the other list holds too."""
        n = max(len(self.local), len(self.milvus))
        return len(set(self.local) & set(self.milvus)) / n if n else 1.0


CitationKey = tuple[str, int | None, str]  # (document, page, chunk id)


@dataclass(frozen=True)
class AnswerComparison:
    item: str
    answer_local: str
    answer_milvus: str
    cited_local: list[CitationKey]
    cited_milvus: list[CitationKey]

    @property
    def same_citations(self) -> bool:
        return self.cited_local == self.cited_milvus

    @property
    def same_answer(self) -> bool:
        return self.answer_local == self.answer_milvus


# -- arguments -----------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    from longdoc.agents.modes import MODES
    from longdoc.llm.backends import offered_backends
    from longdoc.llm.models import DEFAULT_MODEL

    ap = argparse.ArgumentParser(
        prog="store_agree.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--items", type=Path, help="items.jsonl or its folder [default: generate the smoke preset]")
    ap.add_argument("--mode", default="rag", choices=list(MODES), help="the mode asked in [default: rag]")
    ap.add_argument("--retrieval-only", action="store_true", help="compare the ranked chunks; no LLM call")
    ap.add_argument(
        "--k", type=int, default=DEFAULT_K, help=f"--retrieval-only: chunks compared [default: {DEFAULT_K}]"
    )
    ap.add_argument(
        "--milvus-uri",
        help="a Milvus Lite file (*.db) or http://host:19530 [default: milvus.db in the work folder]",
    )
    ap.add_argument("--milvus-token", default=None, help="a cluster's token (prefer LONGDOC_MILVUS_TOKEN)")
    ap.add_argument("--backend", default="embedded", choices=offered_backends(), help="[default: embedded]")
    ap.add_argument(
        "--model", default=DEFAULT_MODEL, help=f"model name, .gguf path or server model id [default: {DEFAULT_MODEL}]"
    )
    ap.add_argument("--base-url", help="the openai backend's endpoint, e.g. http://127.0.0.1:8080/v1")
    ap.add_argument("--threads", type=int, default=0, help="embedded model threads [default: all cores]")
    ap.add_argument("--context-window", type=int, default=8192, help="[default: 8192]")
    ap.add_argument(
        "--tokenizer",
        choices=("model", "estimate"),
        default="model",
        help="counts the generated items' tokens and, with --retrieval-only, the chunks' tokens: the "
        "model's own (as `longdoc bench generate` does; for the embedded backend its vocabulary alone is "
        "loaded) or the estimating counter (nothing of the model); answers chunk as `longdoc ask` does "
        "[default: model]",
    )
    ap.add_argument(
        "--work",
        type=Path,
        help="LONGDOC_HOME for both stores' index, the generated items and the Milvus Lite file "
        "[default: a temporary folder]",
    )
    return ap


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    ap = build_parser()
    args = ap.parse_args(argv)
    if args.k < 1:
        ap.error("--k must be at least 1")
    if args.backend == "openai" and not args.base_url and not args.retrieval_only:
        ap.error("--backend openai needs --base-url")
    uri = args.milvus_uri
    if uri and "://" not in uri and not uri.endswith(".db"):
        ap.error("--milvus-uri: a Milvus Lite file must end in .db, or give http://host:19530")
    return args


# -- comparing ---------------------------------------------------------------------


def citation_keys(answer: Any) -> list[CitationKey]:
    return [(c.file, c.page, c.chunk_id) for c in answer.citations]


def needle_rank(hits: Sequence[Any], needle: str | None) -> int | None:
    if not needle:
        return None
    return next((i for i, h in enumerate(hits, start=1) if needle in h.chunk.text), None)


def chunk_label(chunk_id: str) -> str:
    """'<doc hash>:<n>' -> '#n' (both stores chunk the same document alike)."""
    return "#" + chunk_id.rsplit(":", 1)[-1]


def ranking_summary(rows: Sequence[RankComparison], k: int) -> str:
    m = len(rows)
    if not m:
        return "no items"
    mean = 100 * sum(r.overlap for r in rows) / m
    same_needle = sum(1 for r in rows if r.needle_local == r.needle_milvus)
    return (
        f"{sum(r.identical for r in rows)} of {m} identical ranked lists (top {k}); "
        f"same set in {sum(r.same_set for r in rows)} of {m}; same first chunk in {sum(r.same_top for r in rows)} "
        f"of {m}; mean overlap {mean:.0f}%; needle's chunk at the same rank in {same_needle} of {m}; "
        f"identical Level 1 evidence (chunks, in order) in {sum(r.same_evidence for r in rows)} of {m}"
    )


def answer_summary(rows: Sequence[AnswerComparison]) -> str:
    m = len(rows)
    return (
        f"{sum(r.same_citations for r in rows)} of {m} identical citations, "
        f"{sum(r.same_answer for r in rows)} of {m} identical answers"
    )


def format_ranking(r: RankComparison) -> str:
    def rank(n: int | None) -> str:
        return "-" if n is None else str(n)

    diff = r.first_difference
    return "\n".join(
        [
            f"  local : {' '.join(chunk_label(c) for c in r.local)}",
            f"  milvus: {' '.join(chunk_label(c) for c in r.milvus)}",
            f"  Level 1 evidence: local {' '.join(chunk_label(c) for c in r.evidence_local) or '(none)'}; "
            f"milvus {' '.join(chunk_label(c) for c in r.evidence_milvus) or '(none)'}"
            f"{'' if r.same_evidence else ' (differs)'}",
            f"  identical: {'yes' if r.identical else f'no (first difference at rank {diff})'}; "
            f"overlap {100 * r.overlap:.0f}%; needle's chunk at rank {rank(r.needle_local)} local, "
            f"{rank(r.needle_milvus)} milvus",
        ]
    )


def format_answers(r: AnswerComparison) -> str:
    def cited(keys: list[CitationKey]) -> str:
        return "; ".join(f"{f}{'' if p is None else f' p.{p}'} {chunk_label(c)}" for f, p, c in keys) or "(none)"

    def one_line(text: str) -> str:
        return " ".join(text.split())

    return "\n".join(
        [
            f"  local answer : {one_line(r.answer_local)}",
            f"  milvus answer: {one_line(r.answer_milvus)}",
            f"  local cites  : {cited(r.cited_local)}",
            f"  milvus cites : {cited(r.cited_milvus)}",
            f"  identical citations: {'yes' if r.same_citations else 'no'}; "
            f"identical answer: {'yes' if r.same_answer else 'no'}",
        ]
    )


# -- running -----------------------------------------------------------------------


def _settings(args: argparse.Namespace, home: Path) -> tuple[Any, Any]:
    """(local, milvus) settings, alike but for the store."""
    from longdoc.config import Settings

    local = Settings(
        backend=args.backend,
        model=args.model,
        base_url=args.base_url,
        threads=args.threads,
        context_window=args.context_window,
        home=home,
    )
    uri = args.milvus_uri or str(home / "milvus.db")
    return local, replace(local, store="milvus", milvus_uri=uri, milvus_token=args.milvus_token)


def _counter(args: argparse.Namespace, settings: Any) -> Any:
    from longdoc import api
    from longdoc.tokens import EstimateCounter

    return EstimateCounter() if args.tokenizer == "estimate" else api.token_counter(settings)


def load_or_generate(items: Path | None, work: Path, counter: Any) -> tuple[list[Any], Path]:
    """The items and the folder their documents are relative to."""
    from longdoc.bench.generate import ITEMS_FILE, PRESETS, generate, load_items

    if items is None:
        folder = work / "smoke-items"
        if not (folder / ITEMS_FILE).is_file():
            print(f"generating the smoke items into {folder}", file=sys.stderr, flush=True)
            generate(PRESETS["smoke"].gen, folder, counter)
        return load_items(folder), folder
    return load_items(items), items if items.is_dir() else items.parent


def compare_retrieval(args: argparse.Namespace, home: Path) -> list[RankComparison]:
    from longdoc import api
    from longdoc.progress import Tracker
    from longdoc.records import QueryPlan
    from longdoc.retrieve import rank, select_evidence

    local, milvus = _settings(args, home)
    counter = _counter(args, local)
    items, folder = load_or_generate(args.items, home, counter)
    rows = []
    for item in items:
        doc = folder / item.doc
        plan = QueryPlan(item.question, item.question, from_llm=False)  # Level 1's plan without its keyword step
        needle = item.needles[0] if item.needles else None
        ranked, evidence = {}, {}
        for name, settings in (("local", local), ("milvus", milvus)):
            corpus, _ = api.build_corpus([doc], settings, Tracker(), counter)
            hits = rank(corpus, plan)  # as Level 1 ranks (its default depth), then the top --k compared
            ranked[name] = hits[: args.k]
            chosen = select_evidence(hits, settings.effective_budget(), counter)
            evidence[name] = tuple(e.chunk.id for e in chosen)
        row = RankComparison(
            item.id,
            [h.chunk.id for h in ranked["local"]],
            [h.chunk.id for h in ranked["milvus"]],
            needle_rank(ranked["local"], needle),
            needle_rank(ranked["milvus"], needle),
            evidence["local"],
            evidence["milvus"],
        )
        print(f"{item.id}: {item.question}\n{format_ranking(row)}", flush=True)
        rows.append(row)
    return rows


def compare_answers(args: argparse.Namespace, home: Path) -> list[AnswerComparison]:
    from longdoc import api

    local, milvus = _settings(args, home)
    llm = api.llm_from_settings(local)
    counter = _counter(args, local)
    items, folder = load_or_generate(args.items, home, counter)
    rows = []
    for item in items:
        doc = folder / item.doc
        a = api.ask([doc], item.question, local, mode=args.mode, llm=llm)
        b = api.ask([doc], item.question, milvus, mode=args.mode, llm=llm)
        row = AnswerComparison(item.id, a.answer, b.answer, citation_keys(a), citation_keys(b))
        print(f"{item.id}: {item.question} (expected: {item.answer})\n{format_answers(row)}", flush=True)
        rows.append(row)
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    with contextlib.ExitStack() as stack:
        home = args.work or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="store-agree-")))
        home.mkdir(parents=True, exist_ok=True)
        if args.retrieval_only:
            print(ranking_summary(compare_retrieval(args, home), args.k))
        else:
            print(answer_summary(compare_answers(args, home)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
