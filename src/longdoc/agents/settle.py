"""Look-alike answers set aside: of two readers' sentences that say nearly the
same thing of two subjects with different answers, the one that names the
question's subject more exactly wins (a decoy "Naithor Poina" loses to
"Naithor Point"). Readings that say different things (the links of a chain of
facts) all stay."""

from __future__ import annotations

from ..index.terms import Analyzer
from ..verify.support import coverage
from .readings import Reading, sentence_of

# Two reader sentences this alike (share of their terms, the answers left out)
# say the same thing of two subjects: a true fact and its look-alike.
_ALIKE = 0.5
# The look-alike loses when it covers this much less of the question's terms.
_LESS_EXACT = 0.1


def settle(found: list[Reading], question: str, analyzer: Analyzer) -> tuple[list[Reading], list[str]]:
    """Drop look-alikes: of two readings whose sentences say nearly the same
    thing with different answers, keep the one whose sentence covers more of
    the question's terms. Readings that say different things (the links of a
    chain of facts) all stay. Returns the kept readings and a note per drop."""
    kept: list[Reading] = []
    notes: list[str] = []
    exact = {id(r): coverage(question, sentence_of(r), analyzer) for r in found}
    for r in sorted(found, key=lambda r: -exact[id(r)]):
        rival = next((k for k in kept if _look_alike(k, r, analyzer)), None)
        if rival is not None and exact[id(r)] <= exact[id(rival)] - _LESS_EXACT:
            notes.append(
                f'set aside a look-alike: "{sentence_of(r)}" names the question\'s subject less exactly than '
                f'"{sentence_of(rival)}"'
            )
            continue
        kept.append(r)
    order = {id(r): i for i, r in enumerate(found)}
    return sorted(kept, key=lambda r: order[id(r)]), notes


def _look_alike(a: Reading, b: Reading, analyzer: Analyzer) -> bool:
    answer_a = (a.verdict.answer if a.verdict else None) or ""
    answer_b = (b.verdict.answer if b.verdict else None) or ""
    if not answer_a or not answer_b or answer_a.lower() == answer_b.lower():
        return False
    values = set(analyzer.terms(answer_a)) | set(analyzer.terms(answer_b))
    ta = set(analyzer.terms(sentence_of(a))) - values
    tb = set(analyzer.terms(sentence_of(b))) - values
    if not ta or not tb:
        return False
    return len(ta & tb) / len(ta | tb) >= _ALIKE
