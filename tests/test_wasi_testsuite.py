"""The WASI preview 1 testsuite (``$WASMLITE_SHARED/wasi-testsuite``), run through the CLI.

Every ``*.wasm`` under ``{assemblyscript,c,rust}/wasm32-wasip1/`` is one test.  Its
``.json`` (format: ``wasi-testsuite/specification.md``, legacy and operation-based forms)
gives args, env, a directory to preopen as ``/`` and the expected exit code and output.
Each run gets a fresh copy of that directory in a temporary directory, and runs
``wasmlite run [--env K=V]... [--dir root::/] TEST.wasm ARGS...`` with that temporary
directory as working directory, the way the suite's reference runner drives Wasmtime.

``tests/wasi_known_failures.txt`` lists the tests expected to fail, one per line as
``<suite>/<test> <reason>``; they are strict xfails, so one that starts passing fails
the run until it is removed from the list (the list only shrinks).  The session ends
with a ``wasi-testsuite: N passed, N failed, ...`` line (see ``conftest.py``).
"""

from __future__ import annotations

import json
import os
import shutil
import stat
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from conftest import run_wasmlite, shared_dir

SUITES = ("assemblyscript", "c", "rust")
KNOWN_FAILURES_FILE = Path(__file__).with_name("wasi_known_failures.txt")
#: ``--opt-level`` for every run; empty means the CLI's default.
OPT_LEVEL = os.environ.get("WASMLITE_WASI_OPT_LEVEL", "")


@dataclass
class WasiTest:
    """One test case: what to run and what to expect (after the specification's defaults)."""

    name: str
    wasm: Path
    args: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    root: Path | None = None
    exit_code: int = 0
    stdout: str | None = None
    stderr: str | None = None


def _suite_root() -> Path:
    return shared_dir() / "wasi-testsuite"


def load_spec(wasm: Path, name: str) -> WasiTest:
    """Read ``<test>.json`` beside ``wasm`` into a :class:`WasiTest`.

    Legacy form: ``{"args", "env", "root", "exit_code", "stdout", "stderr"}``;
    operation-based form: ``{"operations": [{"type": "run", ...}, {"type": "read", ...},
    {"type": "wait", ...}]}`` (sockets/http operations are not supported and raise
    ``ValueError``).  A missing file means all defaults.

    As in the suite's reference runner (``test-runner/wasi_test_runner``), stdout and
    stderr are compared only when the specification gives them: some tests print
    diagnostics (``rust/poll_oneoff_stdio``), and the specification's default of ``""``
    would fail them on every runtime.
    """
    spec_path = wasm.with_suffix(".json")
    spec = json.loads(spec_path.read_text()) if spec_path.exists() else {}
    test = WasiTest(name=name, wasm=wasm)
    if "operations" in spec:
        ops = spec["operations"]
        if spec.get("proposals"):
            raise ValueError(f"proposals not supported: {spec['proposals']}")
    else:
        ops = [{"type": "run", "args": spec.get("args", []), "env": spec.get("env", {}),
                "root": spec.get("root")},
               {"type": "wait", "exit_code": spec.get("exit_code", 0)}]
        if "stdout" in spec:
            ops.insert(1, {"type": "read", "id": "stdout", "payload": spec["stdout"]})
        if "stderr" in spec:
            ops.insert(2, {"type": "read", "id": "stderr", "payload": spec["stderr"]})
    for op in ops:
        kind = op.get("type")
        if kind == "run":
            test.args = [str(a) for a in op.get("args", [])]
            test.env = {str(k): str(v) for k, v in op.get("env", {}).items()}
            root = op.get("root")
            test.root = wasm.parent / root if root else None
        elif kind == "wait":
            test.exit_code = int(op.get("exit_code", 0))
        elif kind == "read":
            if op.get("id", "stdout") == "stdout":
                test.stdout = op.get("payload", "")
            else:
                test.stderr = op.get("payload", "")
        else:
            raise ValueError(f"operation {kind!r} not supported")
    return test


def discover() -> list[str]:
    """Test names ``<suite>/<stem>`` for every test program found, sorted."""
    names = []
    for suite in SUITES:
        directory = _suite_root() / suite / "wasm32-wasip1"
        if directory.is_dir():
            names += [f"{suite}/{p.stem}" for p in sorted(directory.glob("*.wasm"))]
    return names


def load_known_failures() -> dict[str, str]:
    """``{test name: reason}`` from ``wasi_known_failures.txt`` (``#`` starts a comment)."""
    known: dict[str, str] = {}
    if KNOWN_FAILURES_FILE.exists():
        for line in KNOWN_FAILURES_FILE.read_text().splitlines():
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            name, _, reason = line.partition(" ")
            known[name] = reason.strip() or "known failure"
    return known


def _params() -> list:
    names = discover()
    if not names:
        return [pytest.param(None, marks=pytest.mark.skip(
            reason=f"wasi-testsuite not found under {_suite_root()} (set WASMLITE_SHARED)"))]
    known = load_known_failures()
    params = []
    for name in names:
        marks = []
        if name in known:
            marks.append(pytest.mark.xfail(reason=known[name], strict=True))
        params.append(pytest.param(name, id=name, marks=marks))
    return params


def _copy_root(src: Path, dst: Path) -> None:
    """Copy a test's root directory, writable (the shared data is read-only)."""
    shutil.copytree(src, dst, symlinks=True)
    for dirpath, dirnames, filenames in os.walk(dst):
        for entry in [dirpath, *(os.path.join(dirpath, n) for n in dirnames + filenames)]:
            if not os.path.islink(entry):
                mode = os.stat(entry).st_mode
                os.chmod(entry, mode | stat.S_IWUSR | stat.S_IRUSR
                         | (stat.S_IXUSR if stat.S_ISDIR(mode) else 0))


def _text(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")


def test_known_failures_are_tests() -> None:
    """Every entry of the known-failures list names an existing test."""
    names = set(discover())
    if not names:
        pytest.skip(f"wasi-testsuite not found under {_suite_root()} (set WASMLITE_SHARED)")
    stale = sorted(set(load_known_failures()) - names)
    assert not stale, f"wasi_known_failures.txt names tests that do not exist: {stale}"


@pytest.mark.parametrize("name", _params())
def test_wasi(name: str, tmp_path: Path) -> None:
    suite, stem = name.split("/", 1)
    wasm = _suite_root() / suite / "wasm32-wasip1" / f"{stem}.wasm"
    test = load_spec(wasm, name)
    args: list[str] = ["run"]
    if OPT_LEVEL:
        args += ["--opt-level", OPT_LEVEL]
    for key, value in test.env.items():
        args += ["--env", f"{key}={value}"]
    if test.root is not None:
        _copy_root(test.root, tmp_path / "root")
        args += ["--dir", "root::/"]
    args += [str(wasm), *test.args]

    proc = run_wasmlite(args, cwd=tmp_path)
    stdout, stderr = _text(proc.stdout), _text(proc.stderr)
    detail = f"\n--- stdout ---\n{stdout[-3000:]}\n--- stderr ---\n{stderr[-3000:]}"
    assert proc.returncode == test.exit_code, (
        f"exit status {proc.returncode}, expected {test.exit_code}{detail}")
    if test.stdout is not None:
        assert stdout == test.stdout, f"stdout differs{detail}"
    if test.stderr is not None:
        assert stderr == test.stderr, f"stderr differs{detail}"
