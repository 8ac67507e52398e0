"""Level 2 on a ~128k-token document with one paraphrased fact: `ranked` against `all`.

Runs `--mode read` with the ranked strategy for real, then estimates `all`
from a timed sample of chunks (reading all of them on a CPU takes longer than
an hour with the 1.5B model). Prints answer, chunks read, prompt tokens, time.

    .venv/bin/python benchmarks/level2_paraphrase.py [--model qwen2.5-coder-1.5b] [--threads 2]
        [--fact "..." --question "..." --expect NAME] [--sample 0 to skip the `all` estimate]
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

from longdoc.agents.context import Job, ReadSettings
from longdoc.agents.readings import read_one, reader_setup
from longdoc.api import ask, build_corpus, llm_from_settings
from longdoc.config import load_settings
from longdoc.progress import Tracker
from longdoc.prompts import EN
from longdoc.records import Hit, QueryPlan
from longdoc.sample import PLAYS, texts_dir

FACT = "Edda Marn tends the beacon that guards the northern cape."
QUESTION = "Who keeps the lighthouse?"


def build_document(path: Path, target_tokens: int, counter, fact: str, depth: float = 0.6) -> int:
    paras: list[str] = []
    for p in PLAYS:
        paras += [
            x.strip() for x in (texts_dir() / f"{p}_gut.txt").read_text(encoding="utf-8").split("\n\n") if x.strip()
        ]
    out: list[str] = []
    tokens = 0
    for para in paras:
        if tokens >= target_tokens:
            break
        out.append(para)
        tokens += counter.count(para) + 1
    out.insert(int(len(out) * depth), fact)
    path.write_text("\n\n".join(out), encoding="utf-8")
    return tokens


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="qwen2.5-coder-1.5b")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--tokens", type=int, default=128_000)
    ap.add_argument("--sample", type=int, default=12, help="chunks timed to estimate the `all` strategy (0: skip)")
    ap.add_argument("--fact", default=FACT)
    ap.add_argument("--question", default=QUESTION)
    ap.add_argument("--expect", default="Marn", help="the word a right answer contains")
    args = ap.parse_args()
    settings = load_settings({"model": args.model, "threads": args.threads})[0]
    llm = llm_from_settings(settings)
    work = Path(tempfile.mkdtemp(prefix="longdoc-l2-"))
    doc = work / "plays-128k.txt"
    tokens = build_document(doc, args.tokens, llm.token_counter(), args.fact)
    print(f"document: {tokens:,} tokens, fact at 60% depth; model {args.model}, {args.threads} threads")

    t0 = time.perf_counter()
    ans = ask([doc], args.question, settings, mode="read", llm=llm)
    wall = time.perf_counter() - t0
    u = ans.usage
    print("\n== ranked (measured)")
    print(f"answer: {ans.answer}")
    print(f"found the fact: {args.expect in ans.answer}")
    print(f"chunks read: {u.chunks_read} of {u.chunks_total} ({u.chunks_read / u.chunks_total:.1%})")
    print(f"LLM calls: {u.llm_calls}, prompt tokens: {u.prompt_tokens:,}, completion tokens: {u.completion_tokens:,}")
    print(f"wall time: {wall:.1f} s; stages: " + ", ".join(f"{k} {v:.1f}s" for k, v in ans.timings.items()))
    for note in ans.notes:
        print(f"note: {note}")

    if args.sample < 1:
        return
    # `all`: time a random sample of reader calls, including the fact's chunk.
    corpus, _ = build_corpus([doc], settings, Tracker(), llm.token_counter())
    job = Job(corpus, llm, settings.effective_budget(), settings.answer_tokens, read=ReadSettings(strategy="all"))
    plan = QueryPlan(args.question, args.question)
    rng = random.Random(3)
    fact_chunk = next(c for c in corpus.chunks if args.fact in c.text)
    sample = [fact_chunk] + rng.sample([c for c in corpus.chunks if c is not fact_chunk], args.sample - 1)
    setup = reader_setup(plan, job)
    t0 = time.perf_counter()
    prompt_tokens = 0
    verdicts = []
    for c in sample:
        reading, used = read_one(Hit(c, 0.0), plan, job, EN, setup)
        prompt_tokens += used[0] if used else 0
        verdicts.append((c is fact_chunk, round(reading.relevance, 2), reading.answered))
    per_chunk = (time.perf_counter() - t0) / len(sample)
    n = len(corpus.chunks)
    print("\n== all (estimated from a sample)")
    print(
        f"sampled {len(sample)} chunks: {per_chunk:.1f} s and {prompt_tokens / len(sample):.0f} prompt tokens per chunk"
    )
    print(
        f"estimate for all {n} chunks: {per_chunk * n / 60:.0f} min, {prompt_tokens / len(sample) * n:,.0f} prompt tokens"
    )
    print(
        "fact chunk relevance / answer verified:",
        verdicts[0][1:],
        "; others relevant:",
        sum(1 for f, r, q in verdicts[1:] if r >= 0.5),
        "of",
        len(verdicts) - 1,
    )


if __name__ == "__main__":
    main()
