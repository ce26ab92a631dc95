"""The official WASI testsuite, run through its own runner with wasmlite's adapter.

``$WASMLITE_SHARED/wasi-testsuite-official`` is a release of WebAssembly/wasi-testsuite:
test programs (``tests/{assemblyscript,c,rust}/testsuite/wasm32-wasip1``,
``tests/rust/testsuite/wasm32-wasip3``, ``tests/proposals/wasi-threads``) and the
runner, ``run-tests`` (Python >= 3.12).  This test runs, on a copy of it in a temporary
directory (the runner writes into the test directories, and the shared data is
read-only in CI)::

    cd COPY && PYTHON312 run-tests --runtime-adapter tests/wasi_testsuite_adapter.py \\
        --disable-colors --json-output-location results.json

with ``WASMLITE="python -m wasmlite.cli run -O LEVEL -C cache-config=CACHE.toml"``
(this interpreter's wasmlite), then reads the runner's JSON results and checks them
against ``tests/wasi_official_known_failures.txt``: every test not listed there passes
(all of wasm32-wasip1), and every listed test fails as listed (wasm32-wasip3 and
wasi-threads), so the list only shrinks.

The runner gives each program 5 seconds of wall time, compilation included.  So that a
loaded 2-core machine still fits in it, every program is first compiled once, in
parallel, into a private compile cache with the settings the command line will use (a
``wasmlite.Module`` with the same ``Config``); the runner's ``wasmlite run`` then loads
the machine code from that cache (checked: the cache gains no entry during the run).
The opt level is 0 unless ``WASMLITE_WASI_OFFICIAL_OPT_LEVEL`` says otherwise: the
WASI host code under test is the same at every level, and the 72 programs cost about
60 s of CPU to compile at level 0 against about 6 minutes at levels 1 and 2 (the older
suite, ``test_wasi_testsuite.py``, runs its programs at the default level 2).

The runner's one third-party import is ``colorama`` (its console reporter); it comes
from the project's ``test`` extra, is pure Python, and is copied beside the runner
(``PYTHONPATH``) rather than installed into the 3.12 interpreter.  The interpreter is
``$WASMLITE_RUNNER_PYTHON``, else this one if it is 3.12 or newer, else
``python3.12``/``python3.13``/``python3.14`` on ``PATH``, else pyenv's
(``$PYENV_ROOT/versions/3.1X*/bin/python3``); without one the test is skipped, saying so.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shlex
import shutil
import stat
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import run_wasmlite, shared_dir, subprocess_timeout

ADAPTER = Path(__file__).with_name("wasi_testsuite_adapter.py")
KNOWN_FAILURES_FILE = Path(__file__).with_name("wasi_official_known_failures.txt")
EXPECTATIONS = ("fail", "skip", "exit-1")
#: ``-O`` for every program (see the module docstring).
OPT_LEVEL = os.environ.get("WASMLITE_WASI_OFFICIAL_OPT_LEVEL", "0")
MIN_RUNNER_PYTHON = (3, 12)


def suite_root() -> Path:
    """The shared, read-only copy of the official suite."""
    return shared_dir() / "wasi-testsuite-official"


# --------------------------------------------------------------------------- known failures


@dataclass(frozen=True)
class KnownFailure:
    """One line of the known-failures file: ``<test> <expect> <reason>``."""

    test: str
    expect: str
    reason: str


def load_known_failures(path: Path = KNOWN_FAILURES_FILE) -> dict[str, KnownFailure]:
    """``{test: KnownFailure}`` from ``path`` (``#`` starts a comment line).

    Raises ``ValueError`` for a line without a reason, an unknown ``<expect>`` or a
    test listed twice.
    """
    known: dict[str, KnownFailure] = {}
    for number, line in enumerate(path.read_text().splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split(None, 2)
        if len(parts) < 3 or parts[1] not in EXPECTATIONS:
            raise ValueError(f"{path.name}:{number}: expected `<test> <{'|'.join(EXPECTATIONS)}>"
                             f" <reason>`, got {line!r}")
        test, expect, reason = parts
        if test in known:
            raise ValueError(f"{path.name}:{number}: {test} is listed twice")
        known[test] = KnownFailure(test, expect, reason)
    return known


def discover(root: Path) -> dict[str, list[str]]:
    """``{suite directory: [test, ...]}`` as the runner finds them: every directory under
    ``root/tests`` with a ``manifest.json``, every ``*.wasm`` in it.  Directories and
    tests are paths relative to ``root/tests``, tests without ``.wasm``."""
    tests_dir = root / "tests"
    suites: dict[str, list[str]] = {}
    for manifest in sorted(tests_dir.rglob("manifest.json")):
        directory = manifest.parent.relative_to(tests_dir).as_posix()
        suites[directory] = sorted(f"{directory}/{p.stem}" for p in manifest.parent.glob("*.wasm"))
    return suites


def _is_wasip1_suite(directory: str) -> bool:
    return directory.endswith("/wasm32-wasip1")


def test_known_failures_list() -> None:
    """The list parses, names only existing tests, and names no wasm32-wasip1 test."""
    known = load_known_failures()
    suites = discover(suite_root())
    if not suites:
        pytest.skip(f"the official WASI testsuite is not at {suite_root()} "
                    "(set WASMLITE_SHARED)")
    tests = {t for names in suites.values() for t in names}
    stale = sorted(set(known) - tests)
    assert not stale, f"{KNOWN_FAILURES_FILE.name} names tests that do not exist: {stale}"
    wasip1 = sorted(t for t in known if _is_wasip1_suite(t.rsplit("/", 1)[0]))
    assert not wasip1, f"wasm32-wasip1 tests must all pass, yet these are listed: {wasip1}"


# --------------------------------------------------------------------------- the adapter


def _load_adapter():
    spec = importlib.util.spec_from_file_location("wasi_testsuite_adapter", ADAPTER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_adapter_argv(monkeypatch: pytest.MonkeyPatch) -> None:
    """compute_argv maps the runner's (args, env, dirs) to ``wasmlite run`` options."""
    monkeypatch.setenv("WASMLITE", "/opt/py -m wasmlite.cli")
    adapter = _load_adapter()
    argv = adapter.compute_argv(
        "tests/x/prog.wasm",
        (["a b", "-c"], {"K": "v=1", "E": ""}, [(Path("tests/x/fs-tests.dir"), "fs-tests.dir")]),
        [], "wasi:cli/command", "wasm32-wasip1")
    assert argv == ["/opt/py", "-m", "wasmlite.cli", "run", "--env", "K=v=1", "--env", "E=",
                    "--dir", "tests/x/fs-tests.dir::fs-tests.dir", "--", "tests/x/prog.wasm",
                    "a b", "-c"]
    # `run` and its options given in $WASMLITE stay first
    monkeypatch.setenv("WASMLITE", "wasmlite run -O 0")
    adapter = _load_adapter()
    assert adapter.compute_argv("p.wasm", ([], {}, []), [], "wasi:cli/command",
                                "wasm32-wasip1") == ["wasmlite", "run", "-O", "0", "--", "p.wasm"]
    assert adapter.get_name() == "wasmlite"
    assert set(adapter.get_wasi_versions()) == {"wasm32-wasip1", "wasm32-wasip3"}
    assert adapter.get_wasi_worlds() == ["wasi:cli/command"]


def test_adapter_version(monkeypatch: pytest.MonkeyPatch) -> None:
    """get_version is the version ``wasmlite --version`` prints, as the protocol asks."""
    monkeypatch.setenv("WASMLITE", shlex.join([sys.executable, "-m", "wasmlite.cli"]))
    adapter = _load_adapter()
    proc = run_wasmlite(["--version"])
    assert proc.returncode == 0
    assert proc.stdout.decode().split() == ["wasmlite", adapter.get_version()]


def test_adapter_prints_nothing_as_a_script() -> None:
    """The runner runs ``ADAPTER --version`` and takes any output for a legacy adapter."""
    proc = subprocess.run([sys.executable, str(ADAPTER), "--version"], capture_output=True,
                          timeout=60)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, b"", b"")


# --------------------------------------------------------------------------- the runner


def _python_version(python: str) -> tuple[int, int] | None:
    try:
        proc = subprocess.run([python, "-c", "import sys; print(*sys.version_info[:2])"],
                              capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    words = proc.stdout.split()
    if proc.returncode != 0 or len(words) != 2 or not all(w.isdigit() for w in words):
        return None  # e.g. a pyenv shim for a version that is not selected
    return int(words[0]), int(words[1])


def find_runner_python() -> tuple[str | None, str]:
    """(an interpreter >= 3.12 for the runner, "") or (None, why there is none)."""
    explicit = os.environ.get("WASMLITE_RUNNER_PYTHON")
    if explicit:
        version = _python_version(explicit)
        if version is not None and version >= MIN_RUNNER_PYTHON:
            return explicit, ""
        return None, f"WASMLITE_RUNNER_PYTHON={explicit} is not a Python >= 3.12"
    candidates: list[str] = []
    if sys.version_info[:2] >= MIN_RUNNER_PYTHON:
        candidates.append(sys.executable)
    for name in ("python3.12", "python3.13", "python3.14"):
        found = shutil.which(name)
        if found:
            candidates.append(found)
    pyenv_root = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")
    versions = []
    for python in (pyenv_root / "versions").glob("3.*/bin/python3"):
        parts = python.parent.parent.name.split(".")
        if len(parts) >= 2 and parts[1].isdigit():
            versions.append(((int(parts[1]), python.parent.parent.name), str(python)))
    candidates += [python for key, python in sorted(versions) if (3, key[0]) >= MIN_RUNNER_PYTHON]
    for python in candidates:
        version = _python_version(python)
        if version is not None and version >= MIN_RUNNER_PYTHON:
            return python, ""
    return None, ("no Python >= 3.12 for the WASI testsuite runner: none of python3.12, "
                  f"python3.13, python3.14 on PATH runs, none under {pyenv_root}/versions; "
                  "set WASMLITE_RUNNER_PYTHON")


def test_runner_python_is_checked(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """An interpreter that does not run, or is older than 3.12, is refused with a reason."""
    monkeypatch.setenv("WASMLITE_RUNNER_PYTHON", str(tmp_path / "no-such-python"))
    python, why = find_runner_python()
    assert python is None and "is not a Python >= 3.12" in why
    if sys.version_info[:2] < MIN_RUNNER_PYTHON:
        monkeypatch.setenv("WASMLITE_RUNNER_PYTHON", sys.executable)
        assert find_runner_python()[0] is None
    else:
        monkeypatch.setenv("WASMLITE_RUNNER_PYTHON", sys.executable)
        assert find_runner_python() == (sys.executable, "")


def _copy_writable(src: Path, dst: Path) -> None:
    """Copy the suite, with write permission (the shared data has none)."""
    shutil.copytree(src, dst, symlinks=True)
    for dirpath, dirnames, filenames in os.walk(dst):
        for entry in [dirpath, *(os.path.join(dirpath, n) for n in dirnames + filenames)]:
            if not os.path.islink(entry):
                mode = os.stat(entry).st_mode
                os.chmod(entry, mode | stat.S_IRUSR | stat.S_IWUSR
                         | (stat.S_IXUSR if stat.S_ISDIR(mode) else 0))


_PRECOMPILE = """
import sys
import wasmlite
config = wasmlite.Config()
config.opt_level = sys.argv[1]
config.cache = sys.argv[2]
# eager: whole modules go into the cache (a lazy engine caches optimized batches only
# as they are compiled); `wasmlite run`'s lazy engine finds them there
config.strategy = "cranelift"
engine = wasmlite.Engine(config)
for path in sys.argv[3:]:
    with open(path, "rb") as f:
        data = f.read()
    try:
        wasmlite.Module(engine, data)
    except wasmlite.WasmtimeError as e:
        print(f"{path}: {str(e).splitlines()[0]}")
"""


def _cache_entries(directory: Path) -> set[str]:
    return {p.name for p in directory.rglob("*.cwasm")}


def child_env(tmp_path: Path) -> dict[str, str]:
    """The environment of the runner and of every wasmlite it starts.

    Python's bytecode cache goes to a private directory (``PYTHONPYCACHEPREFIX``), even
    where ``PYTHONDONTWRITEBYTECODE`` is set: without it each of the 126 ``wasmlite
    run`` processes spends over a second recompiling wasmlite's source before the
    program starts, on the runner's 5-second clock.
    """
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(tmp_path / "pycache")
    return env


def precompile(programs: list[Path], cache_config: Path, env: dict[str, str]) -> list[str]:
    """Compile ``programs`` into the cache, as ``wasmlite run -O OPT_LEVEL -C
    cache-config=...`` would, on every core; returns the lines of the programs wasmlite
    cannot compile (components, shared memories)."""
    workers = max(1, min(os.cpu_count() or 1, 4))
    # largest first, dealt round-robin, so that the workers finish together
    ordered = sorted(programs, key=lambda p: p.stat().st_size, reverse=True)
    procs = [
        subprocess.Popen([sys.executable, "-c", _PRECOMPILE, OPT_LEVEL, str(cache_config),
                          *map(str, ordered[i::workers])],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        for i in range(workers)
    ]
    # a hang guard: each program may take the time one CLI subprocess may
    deadline = time.monotonic() + subprocess_timeout() * -(-len(programs) // workers)
    failed: list[str] = []
    try:
        for proc in procs:
            try:
                out, err = proc.communicate(timeout=max(1.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pytest.fail(f"precompiling {len(programs)} programs at -O {OPT_LEVEL} did not "
                            f"finish within {subprocess_timeout():.0f} s per program")
            assert proc.returncode == 0, f"precompiling failed:\n{out}\n{err}"
            failed += out.splitlines()
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    return failed


TIMEOUT_FAILURE = "Wait(exit_code="  # the runner's message starts so ...
TIMEOUT_SUFFIX = "failed: timeout expired"  # ... and ends so when 5 s have passed


def _timed_out(record: dict) -> bool:
    """Whether the runner's only complaint about a test is its 5-second wall clock.

    After a timeout the runner kills the process and adds a second failure holding
    only what the process had printed (``==STDOUT==``/``==STDERR==`` sections).
    """
    failures = [f.strip() for f in record["failures"]]
    if not failures or not (failures[0].startswith(TIMEOUT_FAILURE)
                            and failures[0].endswith(TIMEOUT_SUFFIX)):
        return False
    return all(f == "" or f.startswith(("==STDOUT==", "==STDERR==")) for f in failures[1:])


def run_runner(python: str, root: Path, env: dict[str, str], json_path: Path,
               exclude: Path | None = None) -> dict:
    """Run ``run-tests`` in ``root`` with wasmlite's adapter; its JSON results.

    Fails the test when the runner does not finish, or ends other than with 0 (all
    passed) or 1 (some failed) and a JSON file.
    """
    command = [python, "run-tests", "--runtime-adapter", str(ADAPTER), "--disable-colors",
               "--json-output-location", str(json_path)]
    if exclude is not None:
        command += ["--exclude-filter", str(exclude)]
    try:
        proc = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True,
                              timeout=subprocess_timeout())
    except subprocess.TimeoutExpired:
        pytest.fail(f"{shlex.join(command)} did not finish within {subprocess_timeout():.0f} s")
    if proc.returncode not in (0, 1) or not json_path.exists():
        pytest.fail(f"{shlex.join(command)} exited with {proc.returncode}\n--- stdout ---\n"
                    f"{proc.stdout[-6000:]}\n--- stderr ---\n{proc.stderr[-3000:]}")
    return json.loads(json_path.read_text())


def _results_by_test(results: dict, directories: dict[str, str]) -> dict[str, dict]:
    """``{test: the runner's record}``, test named ``<suite directory>/<name>``."""
    by_test: dict[str, dict] = {}
    for suite in results["results"]:
        directory = directories.get(suite["name"])
        assert directory is not None, f"the runner reported an unknown suite {suite['name']!r}"
        for record in suite["tests"]:
            by_test[f"{directory}/{record['name']}"] = record
    return by_test


def _suite_names(root: Path) -> dict[str, str]:
    """``{the runner's suite name: suite directory}``, from each ``manifest.json``."""
    names: dict[str, str] = {}
    for directory in discover(root):
        manifest = json.loads((root / "tests" / directory / "manifest.json").read_text())
        names[manifest.get("name", directory)] = directory
    return names


def outcome(record: dict) -> str:
    """``passed``, ``failed`` or ``skipped``: the runner's verdict on one test."""
    if not record["executed"]:
        return "skipped"
    return "failed" if record["failures"] else "passed"


def summarize(by_test: dict[str, dict], suites: dict[str, list[str]],
              seconds: dict[str, float]) -> list[str]:
    """One line per suite directory: passed, failed and skipped counts, and seconds."""
    lines = []
    for directory, tests in suites.items():
        counts = {"passed": 0, "failed": 0, "skipped": 0}
        for test in tests:
            if test in by_test:
                counts[outcome(by_test[test])] += 1
        lines.append(f"{directory}: {counts['passed']} passed, {counts['failed']} failed, "
                     f"{counts['skipped']} skipped ({seconds.get(directory, 0.0):.1f} s)")
    return lines


def test_timeout_records_are_told_apart() -> None:
    """Only a record whose complaint is the runner's clock is retried."""
    def record(*failures: str) -> dict:
        return {"executed": True, "failures": list(failures)}

    assert _timed_out(record("Wait(exit_code=0) failed: timeout expired", ""))
    assert _timed_out(record("Wait(exit_code=99) failed: timeout expired",
                             "\n\n==STDOUT==\npartial\n\n==STDERR==\nx"))
    assert not _timed_out(record())
    assert not _timed_out(record("Wait(exit_code=0) failed: expected 0, got 134"))
    assert not _timed_out(record("Wait(exit_code=0) failed: timeout expired",
                                 "Read(id='stdout') failed"))
    assert outcome({"executed": False, "failures": []}) == "skipped"
    assert outcome(record()) == "passed"


def test_official_wasi_testsuite(tmp_path: Path, record_property) -> None:
    """Run ``run-tests`` with wasmlite's adapter; compare with the known failures.

    A test the runner fails only on its 5-second clock is run once more (a second
    ``run-tests`` with every other test excluded), and the second verdict stands: the
    clock is wall time, and a loaded machine stretches it; a program that hangs or is
    slow for its own reasons times out twice.  Retried tests are named in the summary.
    """
    if not (suite_root() / "run-tests").exists():
        pytest.skip(f"the official WASI testsuite is not at {suite_root()} "
                    "(set WASMLITE_SHARED)")
    python, why = find_runner_python()
    if python is None:
        pytest.skip(why)
    colorama = importlib.util.find_spec("colorama")
    if colorama is None or colorama.origin is None:
        pytest.skip("colorama, the runner's one dependency, is not installed "
                    "(it is in the project's test extra: pip install -e '.[test]')")

    started = time.monotonic()
    root = tmp_path / "wasi-testsuite"
    _copy_writable(suite_root(), root)
    deps = tmp_path / "runner-deps"
    shutil.copytree(Path(colorama.origin).parent, deps / "colorama")
    cache_dir = tmp_path / "cache"
    cache_config = tmp_path / "cache.toml"
    cache_config.write_text(f"[cache]\ndirectory = {json.dumps(str(cache_dir))}\n")
    env = child_env(tmp_path)

    suites = discover(root)
    programs = [root / "tests" / f"{t}.wasm" for tests in suites.values() for t in tests]
    precompile(programs, cache_config, env)
    compiled = _cache_entries(cache_dir)
    precompiled_at = time.monotonic()

    env["WASMLITE"] = shlex.join([sys.executable, "-m", "wasmlite.cli", "run", "-O", OPT_LEVEL,
                                  "-C", f"cache-config={cache_config}"])
    env["PYTHONPATH"] = os.pathsep.join([str(deps), *filter(None, [env.get("PYTHONPATH")])])
    results = run_runner(python, root, env, tmp_path / "results.json")
    directories = _suite_names(root)
    by_test = _results_by_test(results, directories)
    seconds = {directories[r["name"]]: r["duration_s"] for r in results["results"]}
    retry_lines = []

    known = load_known_failures()
    # a listed `fail` fails whether or not the clock ran out: no need to retry those
    retried = sorted(t for t, record in by_test.items() if _timed_out(record)
                     and (t not in known or known[t].expect != "fail"))
    if retried:
        exclude: dict[str, dict[str, str]] = {}
        for suite in results["results"]:
            directory = directories[suite["name"]]
            exclude[suite["name"]] = {r["name"]: "not retried" for r in suite["tests"]
                                      if f"{directory}/{r['name']}" not in retried}
        exclude_path = tmp_path / "retry-exclude.json"
        exclude_path.write_text(json.dumps(exclude))
        again = _results_by_test(
            run_runner(python, root, env, tmp_path / "retry.json", exclude_path), directories)
        for test in retried:
            by_test[test] = again[test]
        outcomes = [outcome(again[t]) for t in retried]
        retry_lines.append("retried after the runner's 5 s timeout: "
                           + ", ".join(f"{t} ({o})" for t, o in zip(retried, outcomes, strict=True)))
    finished = time.monotonic()
    summary = summarize(by_test, suites, seconds) + retry_lines
    summary.append(f"{finished - started:.0f} s in all: {precompiled_at - started:.0f} s "
                   f"copying and compiling {len(programs)} programs at -O {OPT_LEVEL}, "
                   f"{finished - precompiled_at:.0f} s in run-tests")
    record_property("wasi_official_summary", summary)

    problems: list[str] = []
    expected = {t for tests in suites.values() for t in tests}
    if set(by_test) != expected:
        problems.append(f"the runner reported {sorted(set(by_test) ^ expected)} "
                        "differently from the programs found")
    exit1: list[str] = []
    for test, record in sorted(by_test.items()):
        verdict = outcome(record)
        entry = known.get(test)
        if entry is None:
            if verdict != "passed":
                detail = "\n    ".join(record["failures"])[:2000]
                problems.append(f"{test} {verdict}\n    {detail}")
        elif (entry.expect, verdict) in (("fail", "failed"), ("skip", "skipped")):
            pass
        elif (entry.expect, verdict) == ("exit-1", "passed"):
            exit1.append(test)
        else:
            problems.append(f"{test} {verdict}, but {KNOWN_FAILURES_FILE.name} says "
                            f"`{entry.expect}`: update the list")
    for test in exit1:
        # it passed only if wasmlite really ran it; it must still be unloadable
        wasm = root / "tests" / f"{test}.wasm"
        run = run_wasmlite(["run", "-O", OPT_LEVEL, str(wasm)])
        stderr = run.stderr.decode(errors="replace")
        if run.returncode != 1 or not stderr.startswith("Error: failed to compile module"):
            problems.append(f"{test} is listed as `exit-1` (passes only because wasmlite "
                            f"cannot load it), but wasmlite now loads it (status "
                            f"{run.returncode}, stderr {stderr[:300]!r}): update the list")
    grown = _cache_entries(cache_dir) - compiled
    if grown:
        problems.append(f"the runner's wasmlite runs compiled {len(grown)} module(s) that "
                        "precompiling did not put into the cache (its settings differ)")
    assert not problems, "\n".join(summary) + "\n\n" + "\n".join(problems)
