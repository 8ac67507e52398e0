"""Turn a question into a search plan: the information asked for, the
instructions about the answer, and keywords in English and Chinese; or, for
Level 1, see that the question's own words already find the passage and skip
that call (`plan_without_call`)."""

from __future__ import annotations

import json
import math
import re

from ..errors import BackendError
from ..llm.base import LLM, GenerationOptions, Message
from ..prompts import PromptSet
from ..records import QueryPlan, Usage
from ..retrieve import clear_lead
from .context import Job

_WORD = re.compile(r"[^\W_]+")


def plan_query(question: str, llm: LLM, prompts: PromptSet, usage: Usage) -> tuple[QueryPlan, str | None]:
    """Ask the LLM for a plan; on failure fall back to the question's own words.

    Returns the plan and, when it degraded, a note saying why.
    """
    messages = [
        Message("system", prompts.query_system),
        Message("user", prompts.query_user.format(question=question)),
    ]
    try:
        c = llm.complete(messages, GenerationOptions(max_tokens=200, temperature=0.0, repeat_penalty=1.15))
    except BackendError as e:
        return QueryPlan(
            question, question, from_llm=False
        ), f"keyword step skipped ({e}); searched with the question's words"
    usage.add(c.prompt_tokens, c.completion_tokens)
    plan = parse_plan(c.text, question)
    note = None if plan.from_llm else "keyword reply was not valid JSON; searched with the question's words"
    copied = copied_from_example(plan.keywords, question, prompts.query_user)
    if copied:
        plan.keywords = [k for k in plan.keywords if k not in copied]
        dropped = f"dropped keywords copied from the prompt's example: {', '.join(copied[:4])}"
        note = f"{note}; {dropped}" if note else dropped
    return plan, note


def copied_from_example(keywords: list[str], question: str, example: str) -> list[str]:
    """The keywords that come from the planning prompt's worked example and not
    from the question, when there are two or more: the model copied the example
    (the 0.5B searched a Chinese question for "2019年审计对绿源公司的用水有什么结论？").
    One such keyword alone may be a fair synonym ("water use")."""
    seen, asked = _bare(example), _bare(question)
    copied = [k for k in keywords if (b := _bare(k)) and b in seen and b not in asked]
    return list(dict.fromkeys(copied)) if len(copied) >= 2 else []


def make_plan(question: str, job: Job, prompts: PromptSet, usage: Usage, notes: list[str]) -> QueryPlan:
    with job.tracker.stage("plan"):
        plan, note = plan_query(question, job.llm, prompts, usage)
    if note:
        notes.append(note)
    return plan


def plan_without_call(question: str, job: Job, notes: list[str]) -> QueryPlan | None:
    """A plan from the question alone when its own words rank one passage far
    above the rest (retrieve.clear_lead): the planning call would cost about as
    much as the answer and add nothing Level 1 needs. None when the call is
    needed, or `job.skip_plan` is off. Only Level 1 (and auto's first step)
    use this: Levels 2 and 3 need the plan's other words."""
    if not job.skip_plan:
        return None
    with job.tracker.stage("plan"):
        found = clear_lead(job.corpus, question)
    if found is None:
        return None
    ratio = "no other passage matches" if math.isinf(found.ratio) else f"ratio {found.ratio:.1f}"
    notes.append(f"plan call skipped: the question's words rank one passage far above the rest ({ratio})")
    analyzer = job.corpus.analyzer
    words = [w for w in _WORD.findall(question) if analyzer.terms(w)]
    return QueryPlan(question, question, keywords=list(dict.fromkeys(words)), from_llm=False, clear_lead=True)


def expand_query(plan: QueryPlan, llm: LLM, prompts: PromptSet, usage: Usage) -> str | None:
    """Fill `plan.expansions` with other words a passage might use for the
    question's phrases. Returns a note when the step failed; the plan then
    keeps its keywords only."""
    messages = [
        Message("system", prompts.expand_system),
        Message("user", prompts.expand_user.format(question=plan.information)),
    ]
    try:
        c = llm.complete(messages, GenerationOptions(max_tokens=120, temperature=0.0, repeat_penalty=1.3))
    except BackendError as e:
        return f"expansion step skipped ({e}); ranked chunks by keywords only"
    usage.add(c.prompt_tokens, c.completion_tokens)
    plan.expansions = parse_expansions(c.text)
    return None if plan.expansions else "expansion reply was empty; ranked chunks by keywords only"


_LIST_SEP = r"[,，、;；/]"


def parse_expansions(text: str, limit: int = 40) -> list[str]:
    """The words after "phrase:" on each line, split at commas. A line without a
    colon counts only when it is a bare list of short items (the 0.5B answers a
    Chinese question with "金属工匠、铜匠、铁匠"); otherwise it is the model talking."""
    out: list[str] = []
    for line in text.splitlines():
        line = re.sub(r"^\s*(?:[-*•]|\d+[.)、])\s*", "", line)
        _, colon, words = line.partition(":")
        if not colon:
            _, colon, words = line.partition("：")
        if not colon and not _bare_list(line):
            continue
        for w in re.split(_LIST_SEP, words if colon else line):
            w = w.strip().strip("\"“”'.。")
            if w and len(w) <= 40 and w.lower() not in (o.lower() for o in out):
                out.append(w)
    return out[:limit]


def _bare_list(line: str) -> bool:
    """Two or more items, each a few words or a short Chinese term, and no sentence
    ("Das Thounoth, a German city in the province of Saxony, was born in 1945.")."""
    items = [w.strip().rstrip("。.") for w in re.split(_LIST_SEP, line)]
    if len(items) < 2 or not all(items):
        return False
    return all(len(w.split()) <= 3 and len(w) <= (8 if not w.isascii() else 30) for w in items)


def parse_plan(text: str, question: str) -> QueryPlan:
    """Read the LLM's JSON tolerantly: code fences, prose around it, trailing
    commas, single quotes, or a reply cut off mid-list."""
    data = _loose_json(text)
    if not isinstance(data, dict):
        keywords = _quoted_strings(text)
        return QueryPlan(question, question, keywords=keywords[:16], from_llm=bool(keywords))
    info = data.get("information")
    info = info.strip() if isinstance(info, str) and info.strip() else question
    instr = data.get("instruction") or data.get("instructions") or ""
    keywords = []
    for k, v in data.items():
        if k.startswith("keyword") and isinstance(v, list):
            keywords += [str(x).strip() for x in v if isinstance(x, (str, int, float)) and str(x).strip()]
        elif k.startswith("keyword") and isinstance(v, str):
            keywords += [x.strip() for x in re.split(r"[,，;；]", v) if x.strip()]
    instr = instr.strip() if isinstance(instr, str) else ""
    if _bare(info) == _bare(question):
        # Nothing was split off the question, so there was no instruction to
        # find: small models copy the prompt example's ("Answer in about 100
        # words") and then answer at length.
        instr = ""
    return QueryPlan(question, info, instr, list(dict.fromkeys(keywords))[:24])


def _bare(text: str) -> str:
    return re.sub(r"[\W_]+", "", text).lower()


def _loose_json(text: str) -> object:
    t = re.sub(r"```(?:json)?", "", text).strip()
    start = t.find("{")
    if start < 0:
        return None
    t = t[start:]
    end = t.rfind("}")
    candidates = [t[: end + 1]] if end >= 0 else []
    # A reply cut off by the token cap: close what is open.
    candidates.append(_close_brackets(t))
    for c in candidates:
        for variant in (c, re.sub(r",\s*([}\]])", r"\1", c), c.replace("'", '"')):
            try:
                return json.loads(variant)
            except ValueError:
                continue
    return None


def _close_brackets(t: str) -> str:
    t = t.rstrip().rstrip(",")
    if t.count('"') % 2:
        t += '"'
    stack = []
    in_str = False
    prev = ""
    for ch in t:
        if ch == '"' and prev != "\\":
            in_str = not in_str
        elif not in_str and ch in "[{":
            stack.append("]" if ch == "[" else "}")
        elif not in_str and ch in "]}" and stack:
            stack.pop()
        prev = ch
    return t + "".join(reversed(stack))


def _quoted_strings(text: str) -> list[str]:
    return [
        s for s in re.findall(r'"([^"\n]{1,60})"', text) if not s.startswith(("keyword", "information", "instruction"))
    ]
