"""The names citations give files: the shortest trailing part of each path
that tells it apart from the other files asked about. `a/notes.md` and
`b/notes.md` are cited as such; a file whose name is unique keeps its bare
name. The CLI passes real paths, the server the paths files were uploaded
under, so the model and the reader see the same names and never an internal id."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import PurePosixPath


def display_names(paths: Sequence[str]) -> list[str]:
    """One name per path, in order. Paths are compared by their components
    ('/' or '\\' separated); identical ones are numbered: `notes.md (2)`."""
    parts = [_components(p) for p in paths]
    names = []
    for i, mine in enumerate(parts):
        others = [q for j, q in enumerate(parts) if j != i and q != mine]
        depth = 1
        while depth < len(mine) and any(q[-depth:] == mine[-depth:] for q in others):
            depth += 1
        names.append("/".join(mine[-depth:]) or str(paths[i]))
    seen: Counter[str] = Counter()
    numbered = []
    for name in names:
        seen[name] += 1
        numbered.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    return numbered


def _components(path: str) -> tuple[str, ...]:
    return tuple(p for p in PurePosixPath(str(path).replace("\\", "/")).parts if p not in ("/", "."))
