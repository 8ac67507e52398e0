"""Where does Level 2's ranked reading order put a paraphrased fact?

For each fact below (the bench generator's paraphrase facts, used to tune the
expansion prompt, plus held-out ones never used to tune it), build a haystack
of `--tokens` tokens with the fact at 60% depth, plan the question with the
real model, and report the rank of the fact's chunk: by keywords alone
(Level 1's ranking), fused with the ranking by the model's other words for
the question's phrases, fused with WordNet's synonyms as well (thesaurus.py:
what `--mode read` reads first by default), and with the model vocabulary's
nearest words too (lexicon.py, `--thesaurus wordnet,lexicon`), or instead of
WordNet's (`--thesaurus lexicon`). Ranked reading reads at most 10% of the chunks, so a rank inside that
share means the reader sees the fact. No chunk is read here: it measures the
ranking, not the reader.

With `--answer`, each question is then answered by Level 2 end to end with the
default settings, and the answer checked for the fact's name: how many of the
misses are the ranking's and how many the reading's.

    .venv/bin/python benchmarks/paraphrase_rank.py [--model qwen2.5-coder-1.5b] [--tokens 128000] [--answer]
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from longdoc.agents.context import Job, ReadSettings
from longdoc.agents.query import expand_query, plan_query
from longdoc.agents.read import reading_order
from longdoc.api import ask_corpus, build_corpus, llm_from_settings
from longdoc.bench.generate import build_document
from longdoc.bench.tasks import PARAPHRASES
from longdoc.config import load_settings
from longdoc.lexicon import load_lexicon
from longdoc.llm.models import resolve_model
from longdoc.progress import Tracker
from longdoc.prompts import prompts_for
from longdoc.records import Hit, Usage
from longdoc.retrieve import rank
from longdoc.thesaurus import load_thesaurus

# The rankings compared: (column, key, with the model's other words, other sources).
COLUMNS = [
    ("keywords", "keywords", False, ()),
    ("+ model's words", "fused", True, ()),
    ("+ model's words + WordNet (default)", "synonyms", True, ("wordnet",)),
    ("+ model's words + WordNet + lexicon", "lexicon", True, ("wordnet", "lexicon")),
    ("+ model's words + lexicon", "lexonly", True, ("lexicon",)),
    ("+ WordNet, no expansion call", "nocall-wordnet", False, ("wordnet",)),
    ("+ WordNet + lexicon, no expansion call", "nocall", False, ("wordnet", "lexicon")),
]

# Never used to tune the expansion prompt: (fact, question).
HELD_OUT = {
    "en": [
        ("Edda Marn tends the beacon that guards the northern cape.", "Who keeps the lighthouse?"),
        (
            "The ferryman Osric Vell rows travellers across the Tamsin river at dawn.",
            "Who takes people over the water by boat in the early morning?",
        ),
        (
            "Physician Lira Quade cured the fever that swept Dunmore in the year of the flood.",
            "Which doctor healed the sickness that spread through the town?",
        ),
        (
            "Captain Idris Tolle sank the pirate galley off the Sorrel coast.",
            "Which naval commander destroyed the raiders' vessel?",
        ),
    ],
    "zh": [
        ("艾达·马恩看守着北岬角上的航标灯。", "谁负责照看海边的指路明灯？"),
        ("摆渡人韦尔每天清晨载着旅客渡过塔姆河。", "谁一大早用船把行人送到对岸？"),
        ("医师奎德治好了在洪水那年席卷邓莫尔的热病。", "哪位大夫治愈了那场流行的疾病？"),
        ("船长托勒在索雷尔海岸击沉了海盗的战船。", "哪位航海指挥官摧毁了强盗的船只？"),
    ],
}


# The name each held-out fact's answer must hold; the bench's facts name the town.
_HELD_OUT_NAMES = ("Marn", "Vell", "Quade", "Tolle", "马恩", "韦尔", "奎德", "托勒")
_TOWNS = {"en": "Varnholt", "zh": "瓦恩霍尔特"}


def expected_name(fact: str) -> str:
    return next(n for n in (*_TOWNS.values(), *_HELD_OUT_NAMES) if n in fact)


def paraphrase_facts() -> list[tuple[str, str, str, str]]:
    """(lang, fact, question, set) for the bench's paraphrase facts and the held-out ones."""
    facts = [(lang, f.format(v=_TOWNS[lang]), q, "bench") for lang in ("en", "zh") for f, q in PARAPHRASES[lang]]
    return facts + [(lang, f, q, "held out") for lang in ("en", "zh") for f, q in HELD_OUT[lang]]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="qwen2.5-coder-1.5b")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--tokens", type=int, default=128_000)
    ap.add_argument("--answer", action="store_true", help="also answer each question with Level 2 (~1-5 min each)")
    args = ap.parse_args()
    settings = load_settings({"model": args.model, "threads": args.threads})[0]
    llm = llm_from_settings(settings)
    counter = llm.token_counter()
    work = Path(tempfile.mkdtemp(prefix="longdoc-prank-"))
    facts = paraphrase_facts()
    print(f"model {args.model}; haystacks of {args.tokens:,} tokens, fact at 60% depth\n")
    print("| lang | set | question | chunks | " + " | ".join(name for name, *_ in COLUMNS) + " | expansions |")
    print("|---|---|---|---|" + "---|" * (len(COLUMNS) + 1))
    inside = {(lang, key): 0 for lang in ("en", "zh") for _, key, *_ in COLUMNS}
    answered, answers = {"en": 0, "zh": 0}, []
    sources = {"wordnet": load_thesaurus(), "lexicon": load_lexicon(resolve_model(settings.model, settings.home))}
    for i, (lang, fact, question, source) in enumerate(facts):
        text, _ = build_document(lang, args.tokens, [(fact, 0.6)], counter, random.Random(i))
        doc = work / f"doc-{i}.txt"
        doc.write_text(text, encoding="utf-8")
        corpus, _ = build_corpus([doc], settings, Tracker(), counter)
        prompts = prompts_for(question)
        usage = Usage()
        t0 = time.perf_counter()
        plan, _ = plan_query(question, llm, prompts, usage)
        expand_query(plan, llm, prompts, usage)
        seconds = time.perf_counter() - t0
        total = len(corpus.chunks)
        target = {c.id for c in corpus.chunks if fact in c.text}
        limit = ReadSettings().chunk_limit(total)
        ranks = []
        for _, key, expanded, used in COLUMNS:
            if key == "keywords":
                hits = rank(corpus, plan, k=total)
            else:  # Level 2's own reading order (agents/read.py) with these sources of other words
                job = Job(
                    corpus,
                    llm,
                    0,
                    0,
                    thesaurus=sources["wordnet"] if "wordnet" in used else None,
                    lexicon=sources["lexicon"] if "lexicon" in used else None,
                )
                hits = reading_order(job, plan if expanded else replace(plan, expansions=[]))
            ranks.append(_position(hits, target))
            inside[(lang, key)] += ranks[-1] is not None and ranks[-1] <= limit
        shown = ", ".join(plan.expansions).replace("|", "/")
        cells = " | ".join(str(r or "unranked") for r in ranks)
        print(f"| {lang} | {source} | {question} | {total} | {cells} | {shown} ({seconds:.0f} s) |", flush=True)
        if args.answer:
            t0 = time.perf_counter()
            ans = ask_corpus(corpus, question, settings, llm, mode="read")
            name = expected_name(fact)
            right = name in ans.answer
            answered[lang] += right
            answers.append(
                f"| {lang} | {question} | {name} | {ans.answer.replace('|', '/')[:120]} | {'yes' if right else 'no'} "
                f"| {ans.usage.chunks_read} | {ans.usage.prompt_tokens:,} | {time.perf_counter() - t0:.0f} |"
            )
    print("\nfact's chunk within the first 10% (the ranked reading limit):")
    for name, key, *_ in COLUMNS:
        en, zh = inside[("en", key)], inside[("zh", key)]
        print(f"- {name}: {en + zh}/{len(facts)} (en {en}, zh {zh})")
    if args.answer:
        print("\nLevel 2 end to end (`--mode read`, default settings):\n")
        print("| lang | question | expected | answer | right | chunks read | prompt tokens | s |")
        print("|---|---|---|---|---|---|---|---|")
        print("\n".join(answers))
        total_right = answered["en"] + answered["zh"]
        print(f"\nanswered right: {total_right}/{len(facts)} (en {answered['en']}, zh {answered['zh']})")


def _position(hits: list[Hit], target: set[str]) -> int | None:
    for i, h in enumerate(hits, 1):
        if h.chunk.id in target:
            return i
    return None


if __name__ == "__main__":
    main()
