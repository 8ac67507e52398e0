"""Level 2 (`--mode read`) seconds per chunk read: the embedded backend, then
`python -m llama_cpp.server` with the same GGUF at each --concurrency, in one run.

    python benchmarks/read_concurrency.py --model qwen2.5-coder-0.5b --threads 2 --chunks 8
    python benchmarks/read_concurrency.py --model qwen2.5-coder-1.5b --threads 2 --concurrency 1,2,4,8
    python benchmarks/read_concurrency.py --doc report.pdf --question "Who signed the lease?"

Every run asks the same question over the same document (the bundled sample by
default) through `longdoc.api.ask` in mode read, with the ranked strategy and
--chunks as `read_max_chunks`. The embedded run reads one chunk at a time (the
embedded backend's own limit); each server run sets `read_concurrency`, the
reader calls longdoc keeps in flight against the OpenAI-compatible endpoint.

Like for like:
- The same chunks: the server run chunks the document with the GGUF's own
  tokenizer (the openai backend otherwise measures chunks with the estimating
  counter, which makes smaller chunks). Only the vocabulary is loaded for that.
- The same number of chunks read: by default longdoc's early stop (two chunks
  answered, or one naming everything the question names) is switched off for
  the timed runs, so every run reads exactly --chunks chunks; --early-stop keeps
  it, and then the chunks read may differ between runs.
- The same threads: --threads for the embedded model, and the server's
  --n_threads and --n_threads_batch; the same context window (--n_ctx).
- Each backend answers one short warm-up prompt before its timed runs.

"seconds" is the read stage alone (the reader calls), from the answer's stage
timings; "s/chunk" divides it by the chunks read; "x embedded" divides a row's
s/chunk by the embedded row's (above 1: slower). "total s" is the whole question
(plan, expansion, reading, answer; the document is indexed before the first run).

The server is started by this script on a free 127.0.0.1 port, awaited by
polling /v1/models, and stopped when the script ends (Ctrl-C included). What
llama_cpp.server (llama-cpp-python 0.3.x) does with concurrent requests: it
holds one model, and a global lock lets one request at a time reach it, so
reader calls sent together queue in the server; a queued call's wait counts
against the per-request --timeout. It serves logprobs (longdoc's reader asks
for top_logprobs) only with logits_all, its default, which keeps n_ctx x vocab
floats (about 5 GB at 8192 tokens with Qwen2.5's vocabulary) and computes the
output layer for every prompt token, which the embedded backend does not.
Its --interrupt_requests (default true) cuts a streamed reply short when
another request waits; the script turns it off.

This loads the real model, twice in turn (in this process, then in the
server's), and takes minutes; run it on otherwise idle cores.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

SERVER_LABEL = "llama_cpp.server"
EMBEDDED_LABEL = "embedded"
# What the server child keeps of this environment. llama_cpp.server reads its
# settings from the environment too (MODEL, N_CTX, HOST, PORT, CONFIG_FILE, ...),
# so nothing else is passed on.
SERVER_ENV_KEEP = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR", "PYTHONPATH", "LD_LIBRARY_PATH")
# A reader call queued in the server behind others sends nothing until it is done,
# and longdoc's default timeout (120 s per network read) would count that wait.
DEFAULT_TIMEOUT = 900.0


@dataclass
class Row:
    backend: str
    concurrency: int
    chunks: int  # chunks read, over all repeats
    seconds: float  # read-stage seconds, over all repeats
    total: float  # whole-question seconds, over all repeats
    runs: int = 1
    notes: tuple[str, ...] = ()

    @property
    def per_chunk(self) -> float | None:
        return self.seconds / self.chunks if self.chunks else None


# -- arguments -----------------------------------------------------------------


def concurrency_list(text: str) -> list[int]:
    """'1,2,4' -> [1, 2, 4]; each at least 1, no repeats, order kept."""
    values: list[int] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        try:
            n = int(part)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {part!r}") from None
        if n < 1:
            raise argparse.ArgumentTypeError(f"concurrency must be at least 1, got {n}")
        if n not in values:
            values.append(n)
    if not values:
        raise argparse.ArgumentTypeError("give at least one concurrency, e.g. 1,2,4")
    return values


def _positive(text: str) -> int:
    n = int(text)
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {n}")
    return n


def build_parser() -> argparse.ArgumentParser:
    from longdoc.llm.models import DEFAULT_MODEL, MODELS

    ap = argparse.ArgumentParser(
        prog="read_concurrency.py",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument(
        "--model",
        default=DEFAULT_MODEL,
        help=f"registry name ({', '.join(MODELS)}) or a .gguf path; both backends load this file "
        f"[default: {DEFAULT_MODEL}]",
    )
    ap.add_argument(
        "--threads",
        type=_positive,
        default=os.cpu_count() or 1,
        help="CPU threads for the embedded model and the server (--n_threads, --n_threads_batch) [default: all cores]",
    )
    ap.add_argument("--chunks", type=_positive, default=8, help="chunks each run reads (read_max_chunks) [default: 8]")
    ap.add_argument(
        "--concurrency",
        type=concurrency_list,
        default=[1, 2, 4],
        help="server runs' read_concurrency values, comma-separated [default: 1,2,4]",
    )
    ap.add_argument("--doc", type=Path, help="the document [default: the bundled sample, ~260k tokens]")
    ap.add_argument("--question", help="the question [default: the sample's own; required with --doc]")
    ap.add_argument(
        "--context-window", type=int, default=8192, help="tokens, both backends (the server's --n_ctx) [default: 8192]"
    )
    ap.add_argument("--repeats", type=_positive, default=1, help="runs per row; a row sums them [default: 1]")
    ap.add_argument(
        "--early-stop",
        action="store_true",
        help="keep longdoc's early stop (the chunks read may then differ between runs)",
    )
    ap.add_argument(
        "--skip-embedded", action="store_true", help="server runs only (no baseline: the ratio column shows -)"
    )
    ap.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        help=f"seconds per LLM request (a call queued in the server waits inside it) [default: {DEFAULT_TIMEOUT:.0f}]",
    )
    ap.add_argument(
        "--startup-timeout", type=float, default=600.0, help="seconds to wait for the server [default: 600]"
    )
    ap.add_argument(
        "--home",
        type=Path,
        help="LONGDOC_HOME for the index and the sample [default: a temporary folder; models still come "
        "from ~/.longdoc/models or $LONGDOC_MODEL_HOME]",
    )
    ap.add_argument(
        "--server-log",
        type=Path,
        help="the server's output, whose last lines are shown if it fails to start "
        "[default: llama_cpp_server.log in the --home folder]",
    )
    return ap


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    ap = build_parser()
    args = ap.parse_args(argv)
    if args.doc is not None and not args.question:
        ap.error("--doc needs --question")
    if args.context_window < 1024:
        ap.error("--context-window must be at least 1024")
    return args


# -- the table -------------------------------------------------------------------


def ratios(rows: Sequence[Row]) -> list[float | None]:
    """Each row's s/chunk over the embedded row's (None without one, or without chunks)."""
    base = next((r.per_chunk for r in rows if r.backend == EMBEDDED_LABEL), None)
    return [r.per_chunk / base if base and r.per_chunk is not None else None for r in rows]


def format_table(rows: Sequence[Row]) -> str:
    header = ("backend", "concurrency", "chunks read", "seconds", "s/chunk", "x embedded", "total s")
    lines = [header]
    for r, ratio in zip(rows, ratios(rows)):
        lines.append(
            (
                r.backend,
                str(r.concurrency),
                str(r.chunks),
                f"{r.seconds:.1f}",
                "-" if r.per_chunk is None else f"{r.per_chunk:.2f}",
                "-" if ratio is None else f"{ratio:.2f}",
                f"{r.total:.1f}",
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    out = []
    for n, line in enumerate(lines):
        cells = [c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(line, widths))]
        out.append("  ".join(cells).rstrip())
        if n == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


# -- the server ------------------------------------------------------------------


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on now (the OS picks it)."""
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def server_command(
    gguf: Path, alias: str, port: int, threads: int, context_window: int, python: str = sys.executable
) -> list[str]:
    return [
        python,
        "-m",
        "llama_cpp.server",
        "--model",
        str(gguf),
        "--model_alias",
        alias,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--n_ctx",
        str(context_window),
        "--n_batch",
        "512",  # as the embedded backend loads the model
        "--n_threads",
        str(threads),
        "--n_threads_batch",
        str(threads),
        # The default cuts a streamed reply when another request waits.
        "--interrupt_requests",
        "false",
        "--verbose",
        "false",
    ]


def server_env(environ: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ if environ is None else environ)
    return {k: v for k, v in env.items() if k in SERVER_ENV_KEEP}


def wait_ready(base_url: str, proc: subprocess.Popen[bytes], timeout: float, log: Path | None) -> None:
    """Poll GET /v1/models until it answers 200; raise if the server exits or the time runs out."""
    import httpx

    deadline = time.monotonic() + timeout
    while True:
        code = proc.poll()
        if code is not None:
            raise RuntimeError(f"llama_cpp.server exited with code {code} before it was ready{_log_tail(log)}")
        try:
            if httpx.get(f"{base_url}/models", timeout=5.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"llama_cpp.server not ready after {timeout:.0f} s{_log_tail(log)}")
        time.sleep(0.5)


def _log_tail(log: Path | None, lines: int = 15) -> str:
    if log is None or not log.is_file():
        return ""
    tail = log.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:]
    return "; its last lines:\n" + "\n".join(tail) if tail else ""


def stop_server(proc: subprocess.Popen[bytes], grace: float = 15.0) -> None:
    """SIGTERM to the server's process group (it was started in its own session), then SIGKILL."""
    if proc.poll() is not None:
        return
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 10.0)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(wait)
            return
        except subprocess.TimeoutExpired:
            continue


@contextlib.contextmanager
def llama_cpp_server(
    gguf: Path, alias: str, threads: int, context_window: int, startup_timeout: float, log: Path | None = None
) -> Iterator[str]:
    """Start the server, wait for it, yield its base URL (…/v1); stop it on the way out."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}/v1"
    cmd = server_command(gguf, alias, port, threads, context_window)
    with contextlib.ExitStack() as stack:
        out = stack.enter_context(log.open("wb")) if log else subprocess.DEVNULL
        # Its own session: Ctrl-C in the terminal reaches this script, which stops the server itself.
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=server_env(), start_new_session=True)
        try:
            t0 = time.perf_counter()
            wait_ready(base_url, proc, startup_timeout, log)
            print(f"{SERVER_LABEL} ready on {base_url} after {time.perf_counter() - t0:.1f} s", flush=True)
            yield base_url
        finally:
            stop_server(proc)


# -- the runs ----------------------------------------------------------------------


@contextlib.contextmanager
def reading_exactly(enabled: bool = True) -> Iterator[None]:
    """Switch Level 2's early stop off: the stop test's two inputs, the count of
    chunks that answered (`ReadSettings.enough`, made unreachable) and "one chunk
    named everything the question names" (`names_all`, where the readers stop and
    where Level 2 asks whether to read on from a link). What is read, in what
    order, and the answer step stay longdoc's own."""
    if not enabled:
        yield
        return
    from longdoc import api
    from longdoc.agents import read, readings

    original_settings, original_names_all = api.read_settings, readings.names_all

    def no_stop_settings(settings: Any) -> Any:
        return replace(original_settings(settings), enough=sys.maxsize)

    api.read_settings = no_stop_settings
    read.names_all = readings.names_all = lambda r, plan: False
    try:
        yield
    finally:
        api.read_settings = original_settings
        read.names_all = readings.names_all = original_names_all


class SameTokenizer:
    """An LLM that chunks with another counter (the GGUF's), so both backends index the same chunks."""

    def __init__(self, llm: Any, counter: Any) -> None:
        self._llm = llm
        self._counter = counter
        self.name = llm.name
        self.context_window = llm.context_window
        self.supports_tools = llm.supports_tools

    def token_counter(self) -> Any:
        return self._counter

    def load(self) -> None:
        self._llm.load()

    def complete(self, messages: Any, options: Any, on_token: Any = None) -> Any:
        return self._llm.complete(messages, options, on_token)

    def close(self) -> None:
        close = getattr(self._llm, "close", None)
        if close is not None:
            close()


def warm_up(llm: Any) -> None:
    from longdoc.llm.base import GenerationOptions, Message

    llm.complete([Message("user", "Reply with the word ready.")], GenerationOptions(max_tokens=4, temperature=0.0))


def run_row(
    label: str,
    settings: Any,
    llm: Any,
    doc: Path,
    question: str,
    repeats: int,
    exact: bool,
    say: Callable[[str], None] = print,
) -> Row:
    """Ask `repeats` times in mode read; sum the read stage's seconds and the chunks read."""
    from longdoc import api

    row = Row(label, settings.read_concurrency, 0, 0.0, 0.0, runs=0)
    notes: list[str] = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        with reading_exactly(exact):
            answer = api.ask([doc], question, settings, mode="read", llm=llm)
        total = time.perf_counter() - t0
        read_s = answer.timings.get("read", 0.0)
        row.chunks += answer.usage.chunks_read
        row.seconds += read_s
        row.total += total
        row.runs += 1
        if answer.backend_failure:
            notes.append(f"backend failure: {answer.backend_failure}")
        notes += [n for n in answer.notes if "could not be read" in n]
        say(
            f"  {label} x{settings.read_concurrency}: {answer.usage.chunks_read} chunks, read {read_s:.1f} s, "
            f"question {total:.1f} s; answer: {' '.join(answer.answer.split())[:120]}"
        )
    row.notes = tuple(dict.fromkeys(notes))
    return row


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    # SIGTERM and SIGHUP end the script through its finally blocks, as Ctrl-C does.
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda signum, frame: sys.exit(128 + signum))

    from longdoc.config import Settings
    from longdoc.llm.models import MODELS, resolve_model
    from longdoc.llm.vocab import load_token_counter
    from longdoc.sample import build_sample

    with contextlib.ExitStack() as stack:
        home = args.home or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="read-concurrency-")))
        gguf = resolve_model(args.model, home)  # the function the embedded backend loads with
        alias = args.model if args.model in MODELS else gguf.stem
        if args.doc is None:
            sample = build_sample(home / "samples")
            doc, question = sample.path, args.question or sample.question
        else:
            doc, question = args.doc, args.question
        base = Settings(
            model=str(gguf),
            home=home,
            threads=args.threads,
            context_window=args.context_window,
            read_strategy="ranked",
            read_max_chunks=args.chunks,
            timeout=args.timeout,
        )
        exact = not args.early_stop
        print(f"model: {gguf}\ndocument: {doc}\nquestion: {question}")
        print(
            f"threads {args.threads}, context {args.context_window}, {args.chunks} chunks a run"
            f"{'' if exact else ' at most (early stop on)'}, {args.repeats} run(s) a row",
            flush=True,
        )
        rows: list[Row] = []
        if not args.skip_embedded:
            from longdoc import api

            settings = replace(base, backend="embedded", read_concurrency=1)
            llm = api.llm_from_settings(settings)
            llm.load()
            warm_up(llm)
            rows.append(run_row(EMBEDDED_LABEL, settings, llm, doc, question, args.repeats, exact))
            del llm
            gc.collect()  # frees the weights before the server loads its own copy
        counter = load_token_counter(gguf)
        log = args.server_log or home / "llama_cpp_server.log"
        with llama_cpp_server(gguf, alias, args.threads, args.context_window, args.startup_timeout, log) as base_url:
            from longdoc import api

            for n, c in enumerate(args.concurrency):
                settings = replace(base, backend="openai", base_url=base_url, model=alias, read_concurrency=c)
                llm = SameTokenizer(api.llm_from_settings(settings), counter)
                try:
                    if n == 0:
                        warm_up(llm)
                    rows.append(run_row(SERVER_LABEL, settings, llm, doc, question, args.repeats, exact))
                finally:
                    llm.close()
    print()
    print(format_table(rows))
    for r in rows:
        for note in r.notes:
            print(f"note ({r.backend} x{r.concurrency}): {note}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
