"""What a question's wording says about how it must be answered: whether it
chains facts ("X's capital's mayor"), so that one lookup cannot answer it."""

from __future__ import annotations

import re

# Strong signs that facts must be chained: a possessive chain ("X's capital's
# mayor"), a comparison across facts ("the same century as"), Chinese 同一.
_CHAINED = [
    re.compile(r"'s\s+\w+(?:\s+\w+)?'s\b", re.I),
    re.compile(r"\bsame\s+\w+\s+as\b", re.I),
    re.compile(r"同一|同样的|相同的"),
]
# Weaker signs, also common in one-hop questions ("the name of the daughter
# of Polonius"): Level 1 tries first, and Level 3 follows if it fails.
_NESTED = [
    re.compile(r"\b(?:of|in|by|for)\s+(?:the|a|an)\s+\w+(?:\s+\w+)?\s+(?:of|that|which|who|whose)\b", re.I),
    re.compile(r"\b(?:who|which|what|where)\b[^?]*\b(?:who|which|that)\b[^?]*\b(?:was|were|is|are|did)\b", re.I),
    re.compile(r"的[^，。？?的]{1,12}的[^，。？?]"),
    re.compile(r"所在|出生地|所属"),
]


def chains_facts(question: str) -> bool:
    """Plainly chains facts: Level 3 at once."""
    return any(p.search(question) for p in _CHAINED)


def looks_multi_hop(question: str) -> bool:
    """May chain facts (also common in one-hop questions)."""
    return any(p.search(question) for p in _CHAINED + _NESTED)
