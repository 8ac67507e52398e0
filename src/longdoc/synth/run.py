"""`longdoc synth`: write items, answer them with the agent, filter, cache each
item as it is finished (`raw/<item>.json`), so an interrupted run resumes where
it stopped and Ctrl-C keeps what was done; the training files and the manifest
are written from the cache at the end of every run, interrupted or not."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .. import api
from ..bench.generate import Item
from ..bench.run import Answerer, code_version, full_context_answerer
from ..config import Settings
from ..errors import BackendError, NoInputError
from ..llm.base import LLM
from ..progress import Tracker
from ..prompts import language_of
from ..records import Chunk
from ..verify.names import bare
from . import filters, plant
from .cache import finished, load_record, save_record
from .job import Planned, SynthConfig
from .manifest import Summary, write_outputs
from .pick import plan_seeds
from .records import MULTI, SINGLE, UNANSWERABLE, Draft, Seed, SynthRecord
from .views import views_of
from .write import draft_item

# A failed draft is written once more from another sentence: a second call costs
# a few seconds, the item behind it the agent's whole answer.
_DRAFTS = 2

Progress = Callable[[int, int, str], None]  # (items done, items to do, the item starting)


def plan(paths: Sequence[str | Path], out: Path, settings: Settings, config: SynthConfig, llm: LLM) -> list[Planned]:
    """Index every input, cut its views, and deal the `n` items over the views."""
    tracker = Tracker()
    store = api.open_store(settings, llm.token_counter())
    report = api.index_files(paths, store, tracker)
    if not report.docs:
        raise NoInputError(f"no usable input: {'; '.join(report.errors) or 'no files given'}")
    views = [v for d in report.docs for v in views_of(d, config.lengths, out, config.seed)]
    planned = []
    for k, view in enumerate(views):
        share = config.n // len(views) + (1 if k < config.n % len(views) else 0)
        if share == 0:
            continue
        indexed = api.index_files([view.path], store, tracker)
        if not indexed.docs:
            raise NoInputError(f"no usable input: {'; '.join(indexed.errors)}")
        corpus = store.corpus(indexed.docs)
        planned.append(
            Planned(
                view,
                corpus,
                plan_seeds(view.key, corpus.docs[0].chunks, share, config.kinds, config.seed, config.ends_tokens),
            )
        )
    return planned


def synthesize(
    paths: Sequence[str | Path],
    out: Path,
    settings: Settings,
    config: SynthConfig,
    *,
    llm: LLM | None = None,
    progress: Progress | None = None,
) -> Summary:
    """Write what is not cached yet; then the training files and the manifest from
    every finished item, also when interrupted (Ctrl-C keeps what was done)."""
    config.check()
    llm = llm or api.llm_from_settings(settings)
    planned = plan(paths, out, settings, config, llm)
    todo = [(p, s) for p in planned for s in p.seeds if not finished(out, s.item)]
    work = Work(llm, settings, config, full_context_answerer(settings, llm, window=2 * config.ends_tokens))
    work.planted = plant.choose(planned, config)
    work.kept = {
        bare(r.question)
        for p in planned
        for s in p.seeds
        if (r := load_record(out, s.item)) and r.kept and not r.planted
    }
    new = 0
    try:
        for k, (p, seed) in enumerate(todo):
            if progress:
                progress(k, len(todo), seed.item)
            save_record(out, make_item(p, seed, work))
            new += 1
    finally:
        summary = write_outputs(out, planned, config, settings, llm.name, new, work.planted)
    return summary


@dataclass
class Work:
    """What every item of a run shares: the model, the settings, the ends answerer,
    the questions kept so far (a repeat is dropped), and the items planted (--plant)."""

    llm: LLM
    settings: Settings
    config: SynthConfig
    ends: Answerer
    kept: set[str] = field(default_factory=set)
    planted: set[str] = field(default_factory=set)


def make_item(p: Planned, seed: Seed, work: Work) -> SynthRecord:
    """Draft one item, answer it with the agent and filter it; the record says
    whether it was kept, or the first rule it failed."""
    t0 = time.perf_counter()
    chunks = p.corpus.docs[0].chunks
    sources = [chunks[i] for i in seed.chunks]
    total = sum(c.tokens for c in chunks) or 1
    record = SynthRecord(
        id=seed.item,
        kind=seed.kind,
        view=p.view.path,
        source=p.view.source,
        lang="zh" if language_of(sources[0].text) == "zh" else "en",
        depth=round(sum(c.tokens for c in chunks[: seed.chunks[0]]) / total, 4),
        sources=[c.id for c in sources],
        source_spans=[[c.start, c.end] for c in sources],
        model=work.llm.name,
        mode=work.config.mode,
        version=code_version(),
        planted=seed.item in work.planted,
    )
    try:
        record.reason = _filtered(record, p, seed, work)
    except BackendError as e:  # a backend that gave up: not a verdict on the item, so it is retried
        record.error = str(e)
    record.kept = record.reason is None and record.error is None
    if record.kept and not record.planted:
        work.kept.add(bare(record.question))
    record.wall_s = round(time.perf_counter() - t0, 3)
    return record


def _filtered(record: SynthRecord, p: Planned, seed: Seed, work: Work) -> str | None:
    """Fills `record` step by step; returns the drop reason, or None to keep it.
    The rules run cheapest first: code checks before the agent, the agent before the ends check."""
    config = work.config
    chunks = p.corpus.docs[0].chunks
    sources = [chunks[i] for i in seed.chunks]
    if seed.kind == MULTI and len(seed.chunks) < 2:
        return filters.NO_SHARED_NAME
    if seed.kind != UNANSWERABLE and (reason := filters.check_depth(seed.chunks, chunks, config.ends_tokens)):
        return reason
    draft, reason = _draft(record, seed, chunks, work)
    if reason:
        return reason
    assert draft is not None  # check_draft drops a missing draft
    if reason := filters.check_duplicate(draft, work.kept):
        return reason
    if seed.kind == UNANSWERABLE and (reason := filters.check_unmentioned(draft, p.corpus)):
        return reason
    if record.planted:  # a probe: its answer made wrong on purpose, then filtered like any item
        wrong = plant.alter(draft, seed, chunks, config)
        if wrong is None:
            return plant.NO_WRONG_VALUE
        record.planted_from, record.reference, draft = draft.answer, wrong.answer, wrong
    answer = api.ask_corpus(p.corpus, draft.question, work.settings, work.llm, mode=config.mode)
    u = answer.usage
    _spend(record, u.llm_calls, u.prompt_tokens, u.completion_tokens)
    if answer.backend_failure:
        raise BackendError(answer.backend_failure)
    record.agent_answer = answer.answer
    record.cited = [c.chunk_id for c in answer.citations]
    if record.planted_from:  # was the agent right, before the alteration?
        record.planted_from_agreement = filters.agreement(answer.answer, record.planted_from, record.lang)
    reason, record.agreement = filters.check_agreement(seed.kind, draft, answer.answer, record.lang, config.threshold)
    if reason:
        return reason
    by_id = {c.id: c for c in chunks}
    cited = [by_id[i] for i in record.cited if i in by_id]
    if reason := filters.check_citations(seed.kind, draft, sources, cited):
        one = filters.one_passage_answer(seed.kind, draft, sources, cited)
        if one is None:
            return reason
        # The 1.5B often asks a multi-hop draft about passage 2 alone ("梁惠珍…做了多少年医生？"),
        # and the agent rightly answers it from that passage: a single-fact item, so labelled.
        record.kind, record.drafted_as = SINGLE, MULTI
        record.sources, record.source_spans = [one.id], [[one.start, one.end]]
        draft = Draft(draft.question, draft.answer)
    if seed.kind == UNANSWERABLE and not config.dpo:
        return None  # the ends check has nothing to test here; its answer is only wanted as DPO `rejected`
    item = Item(seed.item, record.kind, record.lang, 0, 0, config.seed, draft.question, draft.answer, [], p.view.path)
    outcome = work.ends(item, Path(p.view.path))
    _spend(record, outcome.llm_calls, outcome.prompt_tokens, outcome.completion_tokens)
    if outcome.error:
        raise BackendError(outcome.error)
    record.ends_answer = outcome.prediction
    return filters.check_ends(record.kind, draft, outcome.prediction, outcome.context, record.lang, config.threshold)


def _draft(record: SynthRecord, seed: Seed, chunks: Sequence[Chunk], work: Work) -> tuple[Draft | None, str | None]:
    """Draft until a draft passes `filters.check_draft`, at most `_DRAFTS` times,
    each from another sentence of the chunk: the draft and None, or the last
    draft and why it failed."""
    sources = [chunks[i] for i in seed.chunks]
    draft, reason = None, None
    for attempt in range(_DRAFTS):
        drafted = draft_item(seed, chunks, work.llm, attempt)
        _spend(record, 1, drafted.prompt_tokens, drafted.completion_tokens)
        record.drafts = attempt + 1
        draft = drafted.draft
        if draft is not None:
            record.question, record.reference, record.entity = draft.question, draft.answer, draft.entity
        if not (reason := filters.check_draft(seed.kind, draft, sources)):
            break
    return draft, reason


def _spend(record: SynthRecord, calls: int, prompt: int, completion: int) -> None:
    record.llm_calls += calls
    record.prompt_tokens += prompt
    record.completion_tokens += completion
