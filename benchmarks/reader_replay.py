"""Choose Level 2's reader prompt by replaying reader calls over many chunks.

From generated bench items it takes the chunks a ranked reader meets: the
chunk with the fact (it must answer, with the right value), look-alike decoy
chunks and the chunk of an unanswerable question (they must not give the
planted or look-alike value), chunks of a fact chain (they should report
their link), and the two filler chunks that rank highest for the question
(they must say none). Each prompt variant reads each chunk once through the
real model; replies are cached in --cache, so the checks in code
(longdoc.agents.reader) can be changed and scored again without a model.

    .venv/bin/python benchmarks/reader_replay.py --items DIR --model qwen2.5-coder-0.5b \\
        --variants current,answer --cache replay.jsonl
"""

from __future__ import annotations

import argparse
import json
import time
from collections import defaultdict
from dataclasses import dataclass, replace
from pathlib import Path

from longdoc.agents.reader import judge_reply, reader_messages
from longdoc.api import build_corpus, llm_from_settings
from longdoc.bench.generate import Item, load_items
from longdoc.config import load_settings
from longdoc.llm.base import GenerationOptions
from longdoc.progress import Tracker
from longdoc.prompts import EN, ZH, PromptSet
from longdoc.records import Chunk, QueryPlan
from longdoc.retrieve import rank

# Candidate reader prompts, per language; "current" is what prompts.py holds (the
# "lean" wording below with a worked example before the question).
_ANSWER_TWO_LINES = {
    "en": (
        "You read one passage from a long document and answer a question from that passage alone. "
        "A passage about a similar but different name, place or thing does not answer it. "
        "If the passage does not give the answer, reply only: none\n"
        "Otherwise reply in two lines:\n"
        "Answer: the answer in a few words, as the passage writes it\n"
        "Sentence: the sentence of the passage that gives it, copied word for word",
        "Question: {question}\n\nPassage:\n{passage}\n\nQuestion: {question}\nReply (or none):",
    ),
    "zh": (
        "你阅读长文档中的一个段落，只根据这个段落回答问题。讲的是名字相近但不同的人、地点或事物的段落不能回答问题。"
        "如果段落没有给出答案，只回复：none\n"
        "否则分两行回复：\n"
        "答案：几个字的答案，按段落原文写\n"
        "句子：段落中给出答案的那个句子，逐字照抄",
        "问题：{question}\n\n段落：\n{passage}\n\n问题：{question}\n回复（或 none）：",
    ),
}
_ANSWER_SHORT = {
    "en": (
        "You read one passage from a long document and answer a question from that passage alone. "
        "A passage about a similar but different name, place or thing does not answer it. "
        "If the passage does not give the answer, reply only: none. "
        "Otherwise reply with the answer in a few words, as the passage writes it.",
        "Question: {question}\n\nPassage:\n{passage}\n\nQuestion: {question}\nAnswer (or none):",
    ),
    "zh": (
        "你阅读长文档中的一个段落，只根据这个段落回答问题。讲的是名字相近但不同的人、地点或事物的段落不能回答问题。"
        "如果段落没有给出答案，只回复：none。否则用几个字回答，按段落原文写。",
        "问题：{question}\n\n段落：\n{passage}\n\n问题：{question}\n答案（或 none）：",
    ),
}


# Answer when the passage holds even a little of what the question needs (a
# link of a chain of facts), and the second line only when the model has one.
_ANSWER_LEANING = {
    "en": (
        "You read one passage from a long document and answer a question from that passage alone.\n"
        "- If the passage says nothing about what the question asks, reply only: none\n"
        "- If it answers the question, or gives a fact the question needs, reply with that answer or "
        "fact in a few words, copying names exactly as the passage writes them.\n"
        "- A passage about a similar but different name or place does not answer: reply none.",
        "Question: {question}\n\nPassage:\n{passage}\n\nQuestion: {question}\nAnswer (or none):",
    ),
    "zh": (
        "你阅读长文档中的一个段落，只根据这个段落回答问题。\n"
        "- 如果段落完全没有讲到问题所问的内容，只回复：none\n"
        "- 如果段落回答了问题，或者给出了问题需要的某个事实，就用几个字写出这个答案或事实，名字照段落原文写。\n"
        "- 讲的是名字相近但不同的名字或地点的段落不能回答问题：回复 none。",
        "问题：{question}\n\n段落：\n{passage}\n\n问题：{question}\n答案（或 none）：",
    ),
}
# The reader before this replay (copy the helpful sentences), kept to replay against.
_COPY = {
    "en": (
        "You read one passage of a long document and copy the sentences that help answer a "
        "question, word for word. Sentences that answer it in other words (synonyms, "
        "paraphrases) help too. A sentence about a similar but different name, place or thing "
        "does not help. If nothing in the passage helps, reply: none.",
        "Question: {question}\n\nPassage:\n{passage}\n\nQuestion: {question}\nHelpful sentences (or none):",
    ),
    "zh": (
        "你阅读长文档中的一个段落，逐字照抄有助于回答问题的句子。用别的说法（同义词、换一种说法）"
        "回答了问题的句子也有帮助。讲的是名字相近但不同的人、地点或事物的句子没有帮助。"
        "如果段落中没有任何有帮助的内容，只回复：none。",
        "问题：{question}\n\n段落：\n{passage}\n\n问题：{question}\n有帮助的句子（或 none）：",
    ),
}


def _variant(table: dict[str, tuple[str, str]] | None, lang: str) -> PromptSet:
    base = EN if lang == "en" else ZH
    if table is None:
        return base
    system, user = table[lang]
    return replace(base, reader_system=system, reader_user=user)


VARIANTS = {
    "current": None,
    "copy": _COPY,
    "answer2": _ANSWER_TWO_LINES,
    "answer1": _ANSWER_SHORT,
    "lean": _ANSWER_LEANING,
}


@dataclass
class Case:
    id: str
    item: Item
    chunk: Chunk
    label: str  # "answer" | "decoy" | "unsaid" | "hop" | "filler"
    value: str  # the value an "answer" case must give; the value a "decoy"/"unsaid" case must not give


def cases_for(item: Item, chunks: list[Chunk], ranked: list[Chunk]) -> list[Case]:
    out: list[Case] = []

    def holding(text: str) -> Chunk | None:
        return next((c for c in chunks if text in c.text), None)

    labelled: set[str] = set()
    if item.task in ("single_needle", "paraphrase", "decoy"):
        c = holding(item.needles[0])
        if c:
            out.append(Case(f"{item.id}/answer", item, c, "answer", item.answer))
            labelled.add(c.id)
    if item.task == "decoy":
        for k, (needle, value) in enumerate(zip(item.needles[1:], item.decoy_values, strict=False)):
            c = holding(needle)
            if c and c.id not in labelled:
                out.append(Case(f"{item.id}/decoy{k}", item, c, "decoy", value))
                labelled.add(c.id)
    if item.task == "unanswerable":
        c = holding(item.needles[0])
        if c:
            out.append(Case(f"{item.id}/unsaid", item, c, "unsaid", item.decoy_values[0]))
            labelled.add(c.id)
    if item.task == "multi_reasoning":
        for k, needle in enumerate(item.needles):
            c = holding(needle)
            if c and c.id not in labelled:
                out.append(Case(f"{item.id}/hop{k}", item, c, "hop", ""))
                labelled.add(c.id)
    fillers = [c for c in ranked if c.id not in labelled and not any(n in c.text for n in item.needles)][:2]
    out += [Case(f"{item.id}/filler{k}", item, c, "filler", "") for k, c in enumerate(fillers)]
    return out


def collect(args: argparse.Namespace) -> list[Case]:
    settings = load_settings({"model": args.model, "threads": args.threads})[0]
    llm = llm_from_settings(settings)  # the weights load at the first call, never with --report-only
    cache = _load_cache(args.cache)
    cases: list[Case] = []
    for item in load_items(args.items):
        if args.tasks and item.task not in args.tasks:
            continue
        corpus, _ = build_corpus([args.items / item.doc], settings, Tracker(), llm.token_counter())
        ranked = [h.chunk for h in rank(corpus, QueryPlan(item.question, item.question), k=10)]
        cases += cases_for(item, corpus.chunks, ranked)
    todo = (
        [] if args.report_only else [(v, c) for v in args.variants for c in cases if (llm.name, v, c.id) not in cache]
    )
    print(f"{len(cases)} cases, {len(todo)} reader calls to make", flush=True)
    with args.cache.open("a", encoding="utf-8") as out:
        for n, (variant, case) in enumerate(todo, 1):
            t0 = time.perf_counter()
            c = llm.complete(
                reader_messages(case.item.question, case.chunk.text, _variant(VARIANTS[variant], case.item.lang)),
                GenerationOptions(max_tokens=args.max_tokens, temperature=0.0, logprobs=5),
            )
            row = {
                "model": llm.name,
                "variant": variant,
                "case": case.id,
                "reply": c.text,
                "first": c.top_logprobs[0] if c.top_logprobs else {},
                "prompt_tokens": c.prompt_tokens,
                "completion_tokens": c.completion_tokens,
                "seconds": round(time.perf_counter() - t0, 2),
            }
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
            out.flush()
            cache[(llm.name, variant, case.id)] = row
            if n % 20 == 0:
                print(f"  {n}/{len(todo)}", flush=True)
    report(cases, cache, llm.name, args.variants, args.verbose)
    return cases


def report(
    cases: list[Case], cache: dict[tuple[str, str, str], dict], model: str, variants: list[str], verbose: bool
) -> None:
    from longdoc.index.terms import Analyzer

    analyzer = Analyzer()
    for variant in variants:
        tally: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        tokens = [0, 0, 0.0]
        for case in cases:
            row = cache.get((model, variant, case.id))
            if row is None:
                continue
            r = judge_reply(
                row["reply"], case.chunk.text, case.item.question, [row["first"]] if row["first"] else None, analyzer
            )
            accepted = r.relevance >= 0.5 and r.answer is not None
            value_in = (
                bool(case.value)
                and accepted
                and case.value.lower() in (r.answer or "").lower() + (r.sentence or "").lower()
            )
            if case.label == "answer":
                good = value_in
            elif case.label == "hop":
                good = accepted
            elif case.label in ("decoy", "unsaid"):
                good = not value_in
            else:  # filler: an unrelated answer is kept but cannot stop the reading, so only a related one hurts
                good = not (accepted and r.related)
            key = f"{case.label}-{case.item.lang}"
            tally[key][0] += good
            tally[key][1] += 1
            tokens[0] += row["prompt_tokens"]
            tokens[1] += row["completion_tokens"]
            tokens[2] += row["seconds"]
            if verbose and not good:
                print(f"  [{variant}] {case.id}: {row['reply'][:100]!r} -> {r}")
        cells = "  ".join(f"{k} {g}/{n}" for k, (g, n) in sorted(tally.items()))
        n = sum(t[1] for t in tally.values()) or 1
        print(
            f"{model} {variant}: {cells}  | right {sum(t[0] for t in tally.values())}/{n}"
            f"  completion tokens/call {tokens[1] / n:.1f}  s/call {tokens[2] / n:.2f}"
        )


def _load_cache(path: Path) -> dict[tuple[str, str, str], dict]:
    cache: dict[tuple[str, str, str], dict] = {}
    if path.is_file():
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                cache[(row["model"], row["variant"], row["case"])] = row
    return cache


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--items", type=Path, required=True)
    p.add_argument("--model", default="qwen2.5-coder-0.5b")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--variants", default=",".join(VARIANTS))
    p.add_argument("--tasks", default="")
    p.add_argument("--max-tokens", type=int, default=80)
    p.add_argument("--cache", type=Path, default=Path("reader-replay.jsonl"))
    p.add_argument("--verbose", action="store_true", help="print every case judged wrong")
    p.add_argument("--report-only", action="store_true", help="score what the cache holds; no model calls")
    args = p.parse_args()
    args.variants = [v for v in args.variants.split(",") if v]
    args.tasks = [t for t in args.tasks.split(",") if t]
    collect(args)


if __name__ == "__main__":
    main()
