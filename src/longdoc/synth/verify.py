"""`longdoc synth verify DATA.jsonl`: cross-check a long-context QA set made by
other means. Each line gives a question, its answer, and the document (a path,
relative to the data file, or the text inline); the agent answers over the
whole document and the line gets a verdict with the agent's evidence."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .. import api
from ..config import Settings
from ..durable import write_file
from ..errors import BackendError, ConfigError, LongdocError
from ..index.store import Corpus
from ..llm.base import LLM
from ..progress import Tracker
from ..prompts import language_of
from .filters import agreement, says_not_found

AGREES = "agrees"
DISAGREES = "disagrees"
UNUSABLE = "unusable"  # the line lacks a question, an answer or a document
ERROR = "error"  # the backend gave up: tried again on the next run
_PATH_KEYS = ("document", "doc", "path", "file")
_TEXT_KEYS = ("context", "input")
_ANSWER_KEYS = ("answer", "answers", "output")


@dataclass
class Verdict:
    line: int  # 1-based line of the data file
    verdict: str
    question: str = ""
    answer: str = ""
    agent_answer: str = ""
    agreement: float = 0.0
    evidence: list[dict[str, Any]] = field(default_factory=list)  # the agent's citations
    detail: str = ""


@dataclass(frozen=True)
class QA:
    question: str
    answers: tuple[str, ...]
    document: Path


Progress = Callable[[int, int, int], None]  # (done, to do, the line starting)


def read_line(raw: dict[str, Any], base: Path, contexts: Path) -> QA | str:
    """The question, answers and document path of one line, or why it cannot be used."""
    question = str(raw.get("question") or raw.get("instruction") or "").strip()
    value = next((raw[k] for k in _ANSWER_KEYS if raw.get(k)), None)
    answers = tuple(str(a) for a in value) if isinstance(value, list) else ((str(value),) if value else ())
    if not question or not answers:
        return "needs a question and an answer"
    if path := next((str(raw[k]) for k in _PATH_KEYS if raw.get(k)), ""):
        doc = Path(path) if Path(path).is_absolute() else base / path
        return QA(question, answers, doc)
    if text := next((str(raw[k]) for k in _TEXT_KEYS if raw.get(k)), ""):
        # Inline contexts become files named by their content: lines sharing one are indexed once.
        doc = contexts / f"{hashlib.sha256(text.encode('utf-8')).hexdigest()[:16]}.txt"
        if not doc.is_file():
            doc.parent.mkdir(parents=True, exist_ok=True)
            write_file(doc, text.encode("utf-8"))
        return QA(question, answers, doc)
    return f"needs a document ({', '.join(_PATH_KEYS)}) or the text inline ({', '.join(_TEXT_KEYS)})"


def judge(qa: QA, agent_answer: str, threshold: float) -> tuple[str, float]:
    """Agrees with any of the reference answers; a reference that says the document
    does not tell agrees with an agent that says the same."""
    lang = "zh" if language_of(qa.question) == "zh" else "en"
    best = 0.0
    for ref in qa.answers:
        if says_not_found(ref):
            best = max(best, 1.0 if says_not_found(agent_answer) else 0.0)
        else:
            best = max(best, agreement(agent_answer, ref, lang))
    return (AGREES if best >= threshold else DISAGREES), round(best, 4)


def verify(
    data: Path,
    out: Path,
    settings: Settings,
    *,
    mode: str = api.DEFAULT_MODE,
    threshold: float = 0.5,
    llm: LLM | None = None,
    progress: Progress | None = None,
) -> list[Verdict]:
    """A verdict for every line not already verified in `out` (a rerun resumes;
    lines whose backend failed are tried again). Returns every verdict in `out`."""
    api.check_mode(mode)
    if not data.is_file():
        raise ConfigError(f"{data}: no such file")
    lines = data.read_text(encoding="utf-8").splitlines()
    verdicts = {v.line: v for v in _load(out) if v.verdict != ERROR}
    todo = [n for n, text in enumerate(lines, 1) if text.strip() and n not in verdicts]
    corpora: dict[Path, Corpus] = {}
    try:
        for k, n in enumerate(todo):
            if progress:
                progress(k, len(todo), n)
            if llm is None:
                llm = api.llm_from_settings(settings)
            verdicts[n] = _verify_line(n, lines[n - 1], data, out, settings, llm, mode, threshold, corpora)
            _save(out, verdicts)  # after each line: Ctrl-C keeps every verdict reached
    finally:
        _save(out, verdicts)
    return [verdicts[n] for n in sorted(verdicts)]


def _verify_line(
    n: int,
    text: str,
    data: Path,
    out: Path,
    settings: Settings,
    llm: LLM,
    mode: str,
    threshold: float,
    corpora: dict[Path, Corpus],
) -> Verdict:
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as e:
        return Verdict(n, UNUSABLE, detail=f"not JSON: {e}")
    if not isinstance(raw, dict):
        return Verdict(n, UNUSABLE, detail="not a JSON object")
    qa = read_line(raw, data.parent, out.parent / f"{out.stem}.contexts")
    if isinstance(qa, str):
        return Verdict(n, UNUSABLE, detail=qa)
    verdict = Verdict(n, ERROR, qa.question, qa.answers[0])
    try:
        if qa.document not in corpora:
            corpora[qa.document], _ = api.build_corpus([qa.document], settings, Tracker(), llm.token_counter())
        answer = api.ask_corpus(corpora[qa.document], qa.question, settings, llm, mode=mode)
    except BackendError as e:
        verdict.detail = str(e)
        return verdict
    except LongdocError as e:  # the document cannot be read: a verdict on the line, not a retry
        return Verdict(n, UNUSABLE, qa.question, qa.answers[0], detail=str(e))
    if answer.backend_failure:
        verdict.detail = answer.backend_failure
        return verdict
    verdict.agent_answer = answer.answer
    verdict.verdict, verdict.agreement = judge(qa, answer.answer, threshold)
    verdict.evidence = [asdict(c) for c in answer.citations]
    return verdict


def _load(out: Path) -> list[Verdict]:
    if not out.is_file():
        return []
    return [Verdict(**json.loads(line)) for line in out.read_text(encoding="utf-8").splitlines() if line.strip()]


def _save(out: Path, verdicts: dict[int, Verdict]) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    body = "".join(json.dumps(asdict(verdicts[n]), ensure_ascii=False) + "\n" for n in sorted(verdicts))
    write_file(out, body.encode("utf-8"))
