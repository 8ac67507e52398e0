"""The last step of every level: answer from the chosen passages, with citations."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace

from ..citations import MARKER, cite, is_not_found, repoint_markers
from ..errors import BackendError
from ..index.terms import Analyzer
from ..llm.base import LLM, GenerationOptions, Message, OnToken
from ..prompts import PromptSet
from ..records import Answer, QueryPlan, Usage, Withheld
from ..retrieve import Evidence
from ..verify.names import answer_names, names_found, question_names, subject_found, zh_person_names
from ..verify.places import smaller_place
from ..verify.support import repeats_question, support, unbacked
from .context import Job

# What is left of an answer of citation markers alone: space and punctuation.
_NOTHING_SAID = " \t\n.,;:!?。，；：！？、"


def answer_from_evidence(
    mode: str,
    plan: QueryPlan,
    evidence: list[Evidence],
    job: Job,
    prompts: PromptSet,
    usage: Usage,
    notes: list[str],
    searched: str = "",
    chained: bool = False,
    found: ReadersAnswer | None = None,
) -> Answer:
    """The final step of every level: answer from the chosen passages, or say
    plainly that nothing was found (never an LLM call on empty evidence).
    `chained`: the passages are facts found one after another (Level 3), to be
    followed from one to the next rather than each checked against the question.
    `found`: an answer already checked against the passages (Level 2's readers'),
    used when the model's own answer only repeats the question, or says the
    passages do not answer while a reader was sure they do."""
    unknown = unmentioned(plan, job)
    if unknown:
        evidence, searched = [], unknown
    if not evidence:
        text = f"{prompts.not_found} ({searched or _searched(plan, evidence, job)})"
        if job.on_token:
            job.on_token(text)
        return Answer(text, mode, [], usage, dict(job.tracker.timings), notes=notes)
    if usage.chunks_read == 0:
        usage.chunks_read = len(evidence)
    withheld: Withheld | None = None
    with job.tracker.stage("generate"):
        text, failure = _generate(plan, evidence, prompts, job.llm, job.answer_tokens, usage, job.on_token, chained)
    if failure:
        notes.append(f"answer step failed: {failure}")
    elif not MARKER.sub(" ", text).strip(_NOTHING_SAID):
        # The 1.5B replied "[1]" and nothing else to "谁不执行政府指导价…？": a citation of
        # no answer, which the checks downstream would have nothing to test.
        notes.append(
            f'the model answered "{text.strip()}", citation markers alone; '
            + ("the readers' answer is used" if found else "not used")
        )
        text = found.text if found else f"{prompts.not_found} ({_searched(plan, evidence, job)})"
        if job.on_token:
            job.on_token(f"\n\n(That is no answer.) {text}")
    elif not is_not_found(text, prompts) and repeats_question(
        MARKER.sub(" ", text), plan.information, job.corpus.analyzer
    ):
        said = " ".join(text.split())[:200]
        text = found.text if found else f"{prompts.not_found} ({_searched(plan, evidence, job)})"
        notes.append(
            f'the model answered "{said}", which only repeats the question; '
            + ("the readers' answer is used" if found else "not used")
        )
        if job.on_token:
            job.on_token(f"\n\n(That only repeats the question.) {text}")
    elif is_not_found(text, prompts) and found is not None and found.sure:
        # A small answer step misses a fact told in other words even in the one
        # sentence it is given; the reader that found it was sure.
        notes.append(f'the answer step found no answer, but a reader was sure of "{found.text}"; it is used')
        text = found.text
        if job.on_token:
            job.on_token(f"\n\n(A reader found it.) {text}")
    elif found is not None and not is_not_found(text, prompts) and not found.named_by(plain := MARKER.sub(" ", text)):
        said = " ".join(text.split())[:200]
        if not found.on_subject and told_of_subject(plain, evidence, plan.information, job.corpus.analyzer):
            # The 1.5B, for "四川男排在首场比赛中表现如何？": the reader of the right chunk said
            # nothing, one of another match named "广东海印队", and the answer step quoted the
            # right sentence from a retrieved passage. A reader off the subject outweighs
            # nothing; the answer still has to pass the checks below.
            notes.append(
                f'the model answered "{said}", naming none of what the readers found, '
                "but its own sentence is about the question's subject and the best reader's is not: it is kept"
            )
        else:
            # The answer step took a name from a passage the readers did not answer
            # from (the 0.5B: "William Shakespeare looks after the archive", where a
            # reader found "Tror Vemein").
            # A best reader whose sentence is not about the question's subject is no
            # better (the 1.5B's "黄公略" from a news item, for a question about 滕琨澜).
            instead = found.text if found.on_subject else f"{prompts.not_found} ({_searched(plan, evidence, job)})"
            notes.append(
                f'the model answered "{said}", naming none of what the readers found; '
                + (
                    "the best reader's answer is used"
                    if found.on_subject
                    else "and the best reader's sentence is not about the question's subject: neither is used"
                )
            )
            text = instead
            if job.on_token:
                job.on_token(f"\n\n(That names none of what the readers found.) {text}")
    elif found is not None and not is_not_found(text, prompts) and found.passed_over(MARKER.sub(" ", text)):
        # The 1.5B, given "渚漪岭" (0.99) and "德钦" (0.88) from a list of copper mines,
        # answered with the list.
        said = " ".join(text.split())[:200]
        notes.append(
            f'the model answered "{said}", from a reader far less sure than the best; the best reader\'s answer is used'
        )
        text = found.text
        if job.on_token:
            job.on_token(f"\n\n(A surer reader found another answer.) {text}")
    if not failure and not is_not_found(text, prompts):
        reason = unbacked(
            MARKER.sub(" ", text),
            [e.chunk.text for e in evidence],
            plan.information,
            job.corpus.analyzer,
            about_subject=not chained,
            asked=plan.question,
        )
        if reason:
            # An invented name or value is worse than none: small models make one
            # up for questions the documents do not answer (a harbour master "Elihu").
            notes.append(f'the model answered "{" ".join(text.split())[:200]}", but {reason}; not used')
            withheld = Withheld(
                text,
                reason,
                cite(text, evidence, prompts, job.corpus.analyzer),
                any(smaller_place(q, MARKER.sub(" ", text)) is not None for q in (plan.information, plan.question)),
            )
            text = f"{prompts.not_found} ({_searched(plan, evidence, job)})"
            if job.on_token:  # what was streamed is withdrawn in plain sight
                job.on_token(f"\n\n({reason}: not used.) {text}")
        elif found is None or text != found.text:
            # The readers' answer cites what code chose: a chain's joining passage
            # lacks the answer's terms by nature.
            text, note = repoint_markers(text, evidence, plan.information, job.corpus.analyzer)
            if note:
                notes.append(note)
    citations = cite(text, evidence, prompts, job.corpus.analyzer, cite_top=bool(failure))
    return Answer(
        text,
        mode,
        citations,
        usage,
        dict(job.tracker.timings),
        notes=notes,
        backend_failure=failure,
        withheld=withheld,
    )


@dataclass(frozen=True)
class ReadersAnswer:
    """An answer Level 2's readers found and code checked, cited to passage [1]."""

    text: str
    sure: bool  # sure enough to stand against the answer step's "not found"
    values: tuple[str, ...] = ()  # every reader's checked answer, the best first
    # The other readers' answers that the best reader, near certain, clearly outweighs.
    outweighed: tuple[str, ...] = ()
    # Its sentence names everything the question names (or a passage joins it to them).
    on_subject: bool = True

    def named_by(self, answer: str) -> bool:
        """The answer names one of the readers' answers, or they name nothing to look for."""
        named = [v for v in self.values if answer_names(v)]
        return not named or any(names_found(v, answer) > 0.0 for v in named)

    def passed_over(self, answer: str) -> bool:
        """The answer takes an outweighed reader's answer and not the best one."""
        best = self.values[0] if self.values else ""
        return (
            bool(answer_names(best))
            and names_found(best, answer) == 0.0
            and any(names_found(v, answer) > 0.0 for v in self.outweighed if answer_names(v))
        )


def cite_every(ans: Answer, needed: Iterable[int], evidence: list[Evidence], job: Job, prompts: PromptSet) -> Answer:
    """An answer resting on a chain of facts cites each of them (evidence numbers
    `needed`): a small model's answer step cites the last fact only. Markers it
    left out go before its first one."""
    cited = {c.n for c in ans.citations}
    missing = "".join(f"[{n}]" for n in dict.fromkeys(needed) if n not in cited)
    if not ans.citations or not missing or ans.backend_failure:
        return ans
    first = MARKER.search(ans.answer)
    text = (
        f"{ans.answer[: first.start()]}{missing}{ans.answer[first.start() :]}" if first else f"{ans.answer} {missing}"
    )
    if job.on_token:
        job.on_token(f" {missing}")
    return replace(ans, answer=text, citations=cite(text, evidence, prompts, job.corpus.analyzer))


def told_of_subject(answer: str, evidence: list[Evidence], question: str, analyzer: Analyzer) -> bool:
    """Some passage backs `answer` with a sentence that names all the question names."""
    for e in evidence:
        backing = support(answer, e.text, question, analyzer)
        if backing is not None and subject_found(question, backing.sentence) == 1.0:
            return True
    return False


def unmentioned(plan: QueryPlan, job: Job) -> str:
    """Says which names of the question the documents never mention, or "".
    No passage can answer about what the documents never name (a place or a
    person the question invents); small models would answer about a look-alike
    instead. Chinese names are judged only over documents all in Chinese: a
    Chinese question may name a person of an English document in translation."""
    unknown = [n for n in question_names(plan.question) if not job.corpus.mentions(n)]
    if job.corpus.scripts() == {"cjk"}:
        # A Chinese name is unmentioned only when none of its character pairs is in
        # the documents: "李明说" must not count when they write "李明指出".
        unknown += [
            n
            for n in zh_person_names(plan.question)
            if not any(job.corpus.mentions(n[i : i + 2]) for i in range(len(n) - 1))
        ]
    return f"the documents never mention {', '.join(unknown[:3])}" if unknown else ""


def _searched(plan: QueryPlan, evidence: list[Evidence], job: Job) -> str:
    what = ", ".join(plan.keywords[:8]) or plan.information
    if evidence:
        return f"read {len(evidence)} of {len(job.corpus.chunks)} passages found for: {what}"
    return f"searched {len(job.corpus.chunks)} passages for: {what}"


def source_label(e: Evidence) -> str:
    c = e.chunk
    if c.page is None:
        return c.doc
    pages = f"p. {c.page}" if c.page_end in (None, c.page) else f"pp. {c.page}-{c.page_end}"
    return f"{c.doc}, {pages}"


def format_passages(evidence: list[Evidence], prompts: PromptSet) -> str:
    return "\n\n".join(
        f"{prompts.passage_label.format(n=i, source=source_label(e))}\n{e.text.strip()}"
        for i, e in enumerate(evidence, 1)
    )


def _generate(
    plan: QueryPlan,
    evidence: list[Evidence],
    prompts: PromptSet,
    llm: LLM,
    answer_tokens: int,
    usage: Usage,
    on_token: OnToken | None,
    chained: bool = False,
) -> tuple[str, str | None]:
    """The answer text, and the failure when the backend gave up."""
    example = prompts.compose_example
    messages = [
        *(
            [Message("system", prompts.compose_system), Message("user", example[0]), Message("assistant", example[1])]
            if chained
            else [Message("system", prompts.answer_system)]
        ),
        Message(
            "user",
            prompts.answer_user.format(
                passages=format_passages(evidence, prompts),
                question=plan.information,
                instruction=plan.instruction or prompts.default_instruction,
            ),
        ),
    ]
    try:
        c = llm.complete(messages, GenerationOptions(max_tokens=answer_tokens, temperature=0.0), on_token)
    except BackendError as e:
        # Degrade: the user still gets the best passages, with the reason.
        text = f"(The model could not answer: {e}. The most relevant passages are cited below.)"
        if on_token:
            on_token(text)
        return text, str(e)
    usage.add(c.prompt_tokens, c.completion_tokens)
    return drop_echoed_label(c.text.strip(), [source_label(e) for e in evidence]), None


_ECHOED_LABEL = re.compile(r"^\[(\d{1,3})\]\s*[（(]([^）)\n]{1,200})[）)]\s*")


def drop_echoed_label(text: str, sources: list[str]) -> str:
    """Small models sometimes begin the answer by copying a passage's label
    ("[1]（notes.txt）" then a line break). Keep the number, as a citation at the end."""
    m = _ECHOED_LABEL.match(text)
    if not m or m.group(2).strip() not in sources:
        return text
    rest = text[m.end() :].strip()
    if not rest:
        return text
    return rest if MARKER.search(rest) else f"{rest}[{m.group(1)}]"
