#!/usr/bin/env python3
"""Run the Sightglass benchmark programs under wasmlite (and optionally wasmtime-py).

The programs live in ``$WASMLITE_SHARED/benchmarks/sightglass/`` (default:
``../shared`` beside the repository).  Each directory holds ``benchmark.wasm`` (or, for
``shootout``, several ``shootout-*.wasm``), its inputs (``*.input``) and the expected
output (``<stem>.stdout.expected`` / ``<stem>.stderr.expected``).  As in Sightglass,
a program runs with its directory preopened as ``.`` (it opens ``./default.input``), and
imports ``bench.start`` / ``bench.end`` (no params, no results), which mark the measured
region.

For every program the harness reports the compile time (``Module(engine, bytes)``) and
the time between ``bench.start`` and ``bench.end``, and checks the captured stdout and
stderr against the expected files.  Each run happens in a fresh subprocess, so a crash
fails one program, not the whole run.

Usage::

    python benchmarks/sightglass.py [--filter NAME]... [--repeat N] [--opt-level 0|1|2|s]
                                    [--compare] [--json FILE]

``--compare`` also runs every program under wasmtime-py (``pip install wasmtime``, the
``bench`` extra) with the same harness and prints, per program, both compile and run
times, their ratios (wasmlite / wasmtime) and the geometric means of the ratios.
Times are the median over ``--repeat`` runs, in milliseconds.  Exit status: 0 when every
program produced its expected output, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
#: Programs not run (none: every program of the set runs, blake3-simd included).
EXCLUDED: tuple[str, ...] = ()
RUNTIMES = ("wasmlite", "wasmtime")


def ensure_bytecode() -> None:
    """Write the bytecode of every wasmlite source file that has none (what ``pip
    install`` does for an installed package).  Each measured run is a fresh process;
    without the ``.pyc`` files (an editable install under ``PYTHONDONTWRITEBYTECODE``,
    as on the CI machines) every run would first recompile the runtime's Python
    sources, some 0.2–0.3 s that a user's installation never pays."""
    import compileall

    import wasmlite

    compileall.compile_dir(Path(wasmlite.__file__).parent, quiet=1)


def sightglass_dir() -> Path:
    """``$WASMLITE_SHARED/benchmarks/sightglass`` (``../shared`` beside the repository)."""
    env = os.environ.get("WASMLITE_SHARED")
    shared = Path(env) if env else REPO_ROOT.parent / "shared"
    return (shared / "benchmarks" / "sightglass").resolve()


@dataclass(frozen=True)
class Program:
    """One benchmark program.

    ``name`` is the directory name, or the file stem for the several programs of
    ``shootout``; ``stdout_expected`` / ``stderr_expected`` are ``None`` when the
    directory has no expectation for that stream.
    """

    name: str
    wasm: Path
    stdout_expected: Path | None
    stderr_expected: Path | None

    @property
    def directory(self) -> Path:
        return self.wasm.parent


def discover(root: Path | None = None) -> list[Program]:
    """Every program under ``root`` (default :func:`sightglass_dir`), sorted by name."""
    root = sightglass_dir() if root is None else root
    programs = []
    if not root.is_dir():
        return programs
    for directory in sorted(p for p in root.iterdir() if p.is_dir()):
        if directory.name in EXCLUDED:
            continue
        for wasm in sorted(directory.glob("*.wasm")):
            stem = wasm.stem
            name = directory.name if stem == "benchmark" else stem
            out = directory / f"{stem}.stdout.expected"
            err = directory / f"{stem}.stderr.expected"
            programs.append(Program(name, wasm, out if out.exists() else None,
                                    err if err.exists() else None))
    return programs


@dataclass
class RunResult:
    """One run of one program under one runtime.

    Times are in seconds: ``compile_s`` for ``Module(engine, bytes)``, ``run_s`` from
    ``bench.start`` to ``bench.end`` (``None`` if the program never reached both),
    ``run_cpu_s`` the CPU time of the running thread over the same span (less
    disturbed by other load on a shared machine), ``total_s`` for instantiation plus
    ``_start``.  ``ok`` is true when the program
    exited with status 0 and its output matched; ``error`` says what went wrong.
    """

    program: str
    runtime: str
    ok: bool = False
    compile_s: float | None = None
    run_s: float | None = None
    run_cpu_s: float | None = None
    total_s: float | None = None
    exit_code: int | None = None
    error: str | None = None
    mismatches: list[str] = field(default_factory=list)


def _import_runtime(runtime: str) -> Any:
    if runtime == "wasmtime":
        import wasmtime

        return wasmtime
    import wasmlite

    return wasmlite


def _describe_mismatch(stream: str, actual: bytes, expected: bytes) -> str:
    n = next((i for i, (a, b) in enumerate(zip(actual, expected, strict=False)) if a != b),
             min(len(actual), len(expected)))
    return (f"{stream} differs at byte {n} (got {len(actual)} bytes, expected "
            f"{len(expected)}): got {actual[n:n + 60]!r}, expected {expected[n:n + 60]!r}")


def run_program(program: Program, runtime: str = "wasmlite",
                opt_level: str | None = None, bounds_checks: str | None = None,
                strategy: str | None = None, cache: str | None = None) -> RunResult:
    """Compile and run ``program`` in this process under ``runtime`` and check its output.

    ``runtime`` is ``"wasmlite"`` or ``"wasmtime"`` (wasmtime-py; ``opt_level`` maps to
    its Cranelift setting).  ``bounds_checks`` (``"guard"`` or ``"explicit"``) sets
    wasmlite's ``Config.signals_based_traps``, ``strategy`` (``"auto"``: lazy and tiered,
    ``"cranelift"``: everything compiled first) its ``Config.strategy``; ``cache`` (a
    Wasmtime cache configuration file) sets ``Config.cache``.  Errors in the program
    (traps, bad exit status, wrong output) are recorded in the result, not raised.
    """
    result = RunResult(program.name, runtime)
    rt = _import_runtime(runtime)
    config = rt.Config()
    if opt_level is not None:
        if runtime == "wasmtime":
            config.cranelift_opt_level = {"0": "none", "s": "speed_and_size"}.get(
                opt_level, "speed")
        else:
            config.opt_level = opt_level
    if bounds_checks is not None and runtime == "wasmlite":
        config.signals_based_traps = bounds_checks == "guard"
    if strategy is not None and runtime == "wasmlite":
        config.strategy = strategy
    if cache is not None:
        config.cache = cache
    engine = rt.Engine(config)
    data = program.wasm.read_bytes()

    t0 = time.perf_counter()
    try:
        module = rt.Module(engine, data)
    except Exception as e:
        result.error = f"compile error: {type(e).__name__}: {e}"
        return result
    result.compile_s = time.perf_counter() - t0

    marks: dict[str, int] = {}

    def bench_start() -> None:
        marks["start_cpu"] = time.thread_time_ns()
        marks["start"] = time.perf_counter_ns()

    def bench_end() -> None:
        marks["end"] = time.perf_counter_ns()
        marks["end_cpu"] = time.thread_time_ns()

    linker = rt.Linker(engine)
    linker.define_wasi()
    linker.define_func("bench", "start", rt.FuncType([], []), bench_start)
    linker.define_func("bench", "end", rt.FuncType([], []), bench_end)

    with tempfile.TemporaryDirectory(prefix="sightglass-") as tmp:
        out_path, err_path = os.path.join(tmp, "stdout"), os.path.join(tmp, "stderr")
        store = rt.Store(engine)
        wasi = rt.WasiConfig()
        wasi.argv = [program.wasm.name]
        wasi.stdout_file = out_path
        wasi.stderr_file = err_path
        wasi.preopen_dir(str(program.directory), ".")
        store.set_wasi(wasi)

        t1 = time.perf_counter()
        try:
            instance = linker.instantiate(store, module)
            instance.exports(store)["_start"](store)
            result.exit_code = 0
        except rt.ExitTrap as e:
            result.exit_code = e.code
        except Exception as e:
            result.error = f"{type(e).__name__}: {e}"
        result.total_s = time.perf_counter() - t1
        del store
        stdout = Path(out_path).read_bytes() if os.path.exists(out_path) else b""
        stderr = Path(err_path).read_bytes() if os.path.exists(err_path) else b""

    if "start" in marks and "end" in marks:
        result.run_s = (marks["end"] - marks["start"]) / 1e9
        result.run_cpu_s = (marks["end_cpu"] - marks["start_cpu"]) / 1e9
    for stream, actual, expected_path in (("stdout", stdout, program.stdout_expected),
                                          ("stderr", stderr, program.stderr_expected)):
        if expected_path is not None:
            expected = expected_path.read_bytes()
            if actual != expected:
                result.mismatches.append(_describe_mismatch(stream, actual, expected))
    if result.error is None and result.exit_code != 0:
        result.error = f"exit status {result.exit_code}"
    if result.error is None and result.run_s is None:
        result.error = "bench.start/bench.end were not both called"
    result.ok = result.error is None and not result.mismatches
    return result


def run_isolated(program: Program, runtime: str = "wasmlite", opt_level: str | None = None,
                 timeout: float | None = None, bounds_checks: str | None = None,
                 strategy: str | None = None, cache: str | None = None) -> RunResult:
    """:func:`run_program` in a fresh Python subprocess (a crash or hang fails one run)."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", str(program.wasm),
           "--runtime", runtime]
    if opt_level is not None:
        cmd += ["--opt-level", opt_level]
    if bounds_checks is not None:
        cmd += ["--bounds-checks", bounds_checks]
    if strategy is not None:
        cmd += ["--strategy", strategy]
    if cache is not None:
        cmd += ["--cache", cache]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return RunResult(program.name, runtime, error=f"timed out after {timeout:.0f} s")
    lines = proc.stdout.strip().splitlines()
    if proc.returncode == 0 and lines:
        try:
            return RunResult(**json.loads(lines[-1]))
        except (ValueError, TypeError):
            pass
    tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
    return RunResult(program.name, runtime,
                     error=f"worker exited with status {proc.returncode}: {tail}")


def _ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1e3:.1f}"


#: Run times below this (seconds) are noise; they get no ratio (noop, nestedloop).
MIN_RATIO_TIME = 1e-4


def _ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or a < MIN_RATIO_TIME or b < MIN_RATIO_TIME:
        return None
    return a / b


def _geomean(values: list[float]) -> float | None:
    values = [v for v in values if v is not None and v > 0]
    return math.exp(sum(map(math.log, values)) / len(values)) if values else None


def _median(values: list[float | None]) -> float | None:
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def _summarise(runs: list[RunResult]) -> RunResult:
    first = runs[0]
    failed = next((r for r in runs if not r.ok), None)
    summary = RunResult(first.program, first.runtime, ok=failed is None,
                        compile_s=_median([r.compile_s for r in runs]),
                        run_s=_median([r.run_s for r in runs]),
                        run_cpu_s=_median([r.run_cpu_s for r in runs]),
                        total_s=_median([r.total_s for r in runs]),
                        exit_code=(failed or first).exit_code)
    if failed is not None:
        summary.error, summary.mismatches = failed.error, failed.mismatches
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--filter", action="append", default=[], metavar="NAME",
                        help="run only programs whose name contains NAME (repeatable)")
    parser.add_argument("--repeat", type=int, default=1, metavar="N",
                        help="runs per program and runtime; times are medians (default 1)")
    parser.add_argument("--opt-level", choices=("0", "1", "2", "s"), default=None,
                        help="wasmlite's optimisation level (default: the engine's)")
    parser.add_argument("--bounds-checks", choices=("guard", "explicit"), default=None,
                        help="wasmlite's bounds checks: guard pages (Config.signals_based_"
                             "traps, the default on Linux x86-64) or explicit compares")
    parser.add_argument("--strategy", choices=("auto", "cranelift", "winch"), default=None,
                        help="wasmlite's Config.strategy: auto (functions compiled on "
                             "first call, tiered; the default), cranelift (all compiled "
                             "before running) or winch (on first call, the baseline "
                             "compiler first, tiered)")
    parser.add_argument("--cpu-time", action="store_true",
                        help="compare the running thread's CPU time between bench.start "
                             "and bench.end instead of wall time (steadier on a loaded "
                             "machine)")
    parser.add_argument("--compare", action="store_true",
                        help="also run under wasmtime-py and print ratios")
    parser.add_argument("--timeout", type=float, default=1800,
                        help="seconds allowed per run (default 1800)")
    parser.add_argument("--json", metavar="FILE", help="also write all results as JSON")
    parser.add_argument("--cache", metavar="TOML",
                        help="Config.cache: a Wasmtime cache configuration file (each run "
                             "starts from what earlier runs left there; not cold)")
    parser.add_argument("--worker", metavar="WASM", help=argparse.SUPPRESS)
    parser.add_argument("--runtime", choices=RUNTIMES, default="wasmlite",
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if not args.worker:
        ensure_bytecode()
    if args.worker:  # one run in this process; the result as JSON on the last line
        wasm = Path(args.worker).resolve()
        program = next((p for p in discover(wasm.parent.parent) if p.wasm == wasm), None)
        if program is None:
            program = Program(wasm.stem, wasm, None, None)
        result = run_program(program, args.runtime, args.opt_level, args.bounds_checks,
                             args.strategy, args.cache)
        print(json.dumps(asdict(result)))
        return 0

    programs = discover()
    if not programs:
        print(f"no programs found under {sightglass_dir()} (set WASMLITE_SHARED)",
              file=sys.stderr)
        return 1
    if args.filter:
        programs = [p for p in programs if any(f in p.name for f in args.filter)]
    runtimes = RUNTIMES if args.compare else ("wasmlite",)
    if args.compare:
        try:
            import wasmtime  # noqa: F401
        except ImportError:
            print("--compare needs wasmtime-py: pip install wasmtime", file=sys.stderr)
            return 1

    results: dict[tuple[str, str], RunResult] = {}
    for program in programs:
        for runtime in runtimes:
            runs = [run_isolated(program, runtime, args.opt_level, args.timeout,
                                 args.bounds_checks, args.strategy, args.cache)
                    for _ in range(max(1, args.repeat))]
            res = results[program.name, runtime] = _summarise(runs)
            status = "ok" if res.ok else "FAIL: " + "; ".join(
                [res.error] if res.error else res.mismatches)
            print(f"{program.name:24} {runtime:9} compile {_ms(res.compile_s):>9} ms   "
                  f"run {_ms(res.run_s):>9} ms (cpu {_ms(res.run_cpu_s)} ms)   {status}",
                  flush=True)

    if args.compare:
        _print_table(programs, results, args.cpu_time)
    if args.json:
        Path(args.json).write_text(json.dumps([asdict(r) for r in results.values()], indent=1))
    failed = [name for (name, rt), r in results.items() if rt == "wasmlite" and not r.ok]
    print(f"\nwasmlite: {len(programs) - len(failed)} of {len(programs)} programs correct"
          + (f"; failed: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


def _to_result(r: RunResult) -> float | None:
    """Seconds from ``Module()`` to ``_start``'s return: compile, instantiate, run."""
    return None if r.compile_s is None or r.total_s is None else r.compile_s + r.total_s


def _print_table(programs: list[Program], results: dict[tuple[str, str], RunResult],
                 cpu_time: bool = False) -> None:
    """Per program and as geometric means: time to result (``Module()`` through the
    end of ``_start``, cold, no cache) and run time (``bench.start`` to ``bench.end``),
    wasmlite's, wasmtime-py's and their ratio."""
    run_label = "run cpu ms" if cpu_time else "run ms"
    header = (f"{'program':24} {'to result ms':>21} {'ratio':>7}   {run_label:>21} {'ratio':>7}")
    sub = f"{'':24} {'wasmlite':>10} {'wasmtime':>10} {'':>7}   {'wasmlite':>10} {'wasmtime':>10}"
    print("\n" + header + "\n" + sub)
    result_ratios, run_ratios = [], []
    for p in programs:
        a, b = results[p.name, "wasmlite"], results[p.name, "wasmtime"]
        ta, tb = _to_result(a), _to_result(b)
        tr = _ratio(ta, tb) if a.ok and b.ok else None
        ra, rb = (a.run_cpu_s, b.run_cpu_s) if cpu_time else (a.run_s, b.run_s)
        rr = _ratio(ra, rb) if a.ok and b.ok else None
        result_ratios.append(tr)
        run_ratios.append(rr)
        fmt = lambda r: "-" if r is None else f"{r:.2f}"  # noqa: E731
        mark = "" if a.ok else "  (wasmlite failed)"
        print(f"{p.name:24} {_ms(ta):>10} {_ms(tb):>10} {fmt(tr):>7}   "
              f"{_ms(ra):>10} {_ms(rb):>10} {fmt(rr):>7}{mark}")
    gt, gr = _geomean(result_ratios), _geomean(run_ratios)
    print(f"{'geometric mean':24} {'':>21} {('-' if gt is None else f'{gt:.2f}'):>7}   "
          f"{'':>21} {('-' if gr is None else f'{gr:.2f}'):>7}")


if __name__ == "__main__":
    sys.exit(main())
