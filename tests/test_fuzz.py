"""The parsers against hostile input (longdoc.bench.fuzz): seeded mutants of a
sample of every format, and crafted files aimed at known weak spots. Every file
must end in a result or a one-line error naming it, never another exception;
`benchmarks/fuzz.py` runs thousands more and prints the counts."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from longdoc.bench.fuzz import FORMATS, check, hostile, mutants
from longdoc.parse.limits import MiB, ParseLimits

PER_FORMAT = 300
# The bombs and the limit scaled down together, so building them stays cheap.
LIMITS = ParseLimits(seconds=60.0, max_inflated_bytes=64 * MiB)
# Within the limits but 3-30 s of CPU each, and failing in ways the others
# cover: benchmarks/fuzz.py runs them.
SLOW = {"1m-tiny-paragraphs.docx", "100k-links.md", "deep-list.md", "wide-table.html"}


@pytest.mark.parametrize("fmt", FORMATS)
def test_mutants_end_in_a_result_or_a_one_line_error(fmt):
    outcomes = [check(name, data, LIMITS) for name, data in mutants(fmt, PER_FORMAT, seed_value=1)]
    bad = [f"{o.name}: {o.detail}" for o in outcomes if o.kind == "bad"]
    assert not bad, bad[:5]
    kinds = {o.kind for o in outcomes}
    assert kinds == {"ok", "error"}, kinds  # the mutants reach both endings, or they test little


@pytest.fixture(scope="module")
def crafted():
    return hostile(bomb_mib=70)


def test_crafted_files_end_in_a_result_or_a_one_line_error(crafted):
    assert len(crafted) >= 40
    outcomes = {name: check(name, data, LIMITS) for name, data in crafted if name not in SLOW}
    bad = [f"{o.name}: {o.detail}" for o in outcomes.values() if o.kind == "bad"]
    assert not bad, bad
    for name in ("zip-bomb-document.docx", "zip-bomb-slide.pptx", "zip-bomb-in-document-xml.docx"):
        assert "MiB, over the limit of 64 MiB (a zip bomb?)" in outcomes[name].detail
    assert "nested 200,000 elements deep" in outcomes["200k-nested-divs.html"].detail
    for name in ("bogus-charset-base64.html", "utf16-le-no-bom.txt", "utf16-be-no-bom.txt", "mixed-utf8-latin1.txt"):
        assert outcomes[name].kind == "ok", outcomes[name]
    for name in ("russian.txt", "arabic.txt", "hindi.txt", "thai.txt", "emoji-only.txt", "stopwords-only.txt"):
        assert outcomes[name].kind == "ok", outcomes[name]


# One of each kind of attack; the rest take seconds each through the whole index
# and are covered in-process above.
THROUGH_THE_CLI = {
    "zip-bomb-document.docx",
    "zip-member-lies-about-size.docx",
    "billion-laughs.docx",
    "20k-nested-tables.html",
    "200k-nested-divs.html",
    "bogus-charset-base64.html",
    "utf16-le-no-bom.txt",
    "mixed-utf8-latin1.txt",
    "russian.txt",
    "emoji-only.txt",
    "punctuation-only.txt",
    "nul-bytes.txt",
    "20k-page-refs.pdf",
    "page-tree-cycle.pdf",
    "pdf-named.docx",
}


def test_the_command_line_never_exits_1_on_hostile_files(crafted, tmp_path, isolated_home):
    """Through `longdoc index`, in a process with 3 GB of address space: each
    file that fails gets one line naming it, and the run exits 0."""
    folder = tmp_path / "hostile"
    folder.mkdir()
    picked = [(n, d) for n, d in crafted if n in THROUGH_THE_CLI]
    for name, data in picked:
        (folder / name).write_bytes(data)
    for fmt in FORMATS:
        for name, data in mutants(fmt, 10, seed_value=2):
            (folder / name).write_bytes(data)

    # The child limits itself before importing longdoc: a preexec_fn would fork this
    # test process, and once an earlier test has loaded gRPC (the Milvus client) its
    # fork handler can abort the child before exec.
    limited = (
        "import resource, runpy, sys; "
        "resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30)); "
        "sys.argv[0] = 'longdoc'; runpy.run_module('longdoc', run_name='__main__')"
    )
    r = subprocess.run(
        [sys.executable, "-c", limited, "index", "--json", str(folder)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    out = json.loads(r.stdout)
    assert len(out["documents"]) + len(out["errors"]) == len(picked) + 10 * len(FORMATS)
    for line in out["errors"]:
        assert "\n" not in line and line.startswith(str(folder)) and "internal error" not in line
    assert "Traceback" not in r.stderr and "RuntimeWarning" not in r.stderr
