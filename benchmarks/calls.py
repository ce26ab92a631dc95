#!/usr/bin/env python3
"""Embedding-API micro-benchmarks: wasmlite side by side with wasmtime-py.

Each operation is written once against the wasmtime-py API and run with both
``wasmlite`` and ``wasmtime`` (wasmtime-py, the ``bench`` extra) in this process:

* ``call () -> ()`` and ``call (i32) -> i32``: a Python -> wasm call of an exported
  function (``f(store)``, ``f(store, 7)``);
* ``host call () -> ()`` / ``host call (i32) -> i32``: a wasm -> Python call, measured
  as one export that calls an imported host function ``--host-loop`` times in a loop;
  the time is per host call (the one Python -> wasm call is spread over the loop);
* ``Memory.read 4 KiB`` / ``Memory.write 4 KiB``: ``mem.read(store, 0, 4096)`` and
  ``mem.write(store, data, 0)``;
* ``buffer read/write 4 KiB``: wasmlite's ``Memory.buffer(store)`` memoryview sliced
  (``bytes(buf[0:4096])``, ``buf[0:4096] = data``); wasmtime-py has no ``buffer``, so
  its column uses the fastest raw access it offers, ``ctypes.string_at`` /
  ``ctypes.memmove`` on ``Memory.data_ptr(store)`` (slicing ``get_buffer_ptr`` copies
  byte by byte and is ~100x slower);
* ``instantiate small module``: ``Instance(store, module, [])`` of a module with a
  memory, a data segment, a table, an element segment, a global and three functions;
  every repeat uses a fresh Store;
* ``instantiate 3000 funcs+3000 datas``: the same with :func:`big_wat`'s module (3000
  functions in a table, 3000 data segments, a few globals), 100 instances per store;
* ``new Store``: ``Store(engine)``.

Timing is :mod:`timeit`'s: each operation runs in a loop of ``number`` iterations
(calibrated so that one loop takes about ``--min-time`` seconds, as
``timeit.Timer.autorange``), the loop is repeated ``--repeat`` times, and the result is
the median time per operation.  Output: a table (operation, wasmlite time, wasmtime-py
time, ratio wasmlite / wasmtime-py; below 1 means wasmlite is faster), or with ``--json``
one JSON object (times in seconds).  Issue 4's target is a ratio of at most 0.2 for the
call rows; issue 9's, at most 1 for the small module's instantiation and 2 for the big
module's.

Usage::

    python benchmarks/calls.py [--repeat N] [--min-time SECONDS] [--host-loop N]
                               [--filter SUBSTRING]... [--runtime wasmlite|wasmtime]...
                               [--json]

Exit status 0, or 1 when a runtime computed a wrong result (the benchmark checks every
operation's result once before timing it).
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import json
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from types import ModuleType
from typing import Any

RUNTIMES = ("wasmlite", "wasmtime")

#: Module of the call benchmarks: two host imports, trivial exports and loops calling the
#: imports ``n`` times.
CALLS_WAT = """
(module
  (import "bench" "host_nop" (func $host_nop))
  (import "bench" "host_inc" (func $host_inc (param i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "nop"))
  (func (export "inc") (param i32) (result i32)
    (i32.add (local.get 0) (i32.const 1)))
  (func (export "loop_nop") (param $n i32)
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $n)))
        (call $host_nop)
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $next))))
  (func (export "loop_inc") (param $n i32) (result i32)
    (local $acc i32)
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $n)))
        (local.set $acc (call $host_inc (local.get $acc)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $next)))
    (local.get $acc)))
"""

#: A small self-contained module for the instantiation benchmark.
SMALL_WAT = """
(module
  (memory (export "memory") 1)
  (data (i32.const 16) "hello, world")
  (table (export "table") 4 funcref)
  (elem (i32.const 0) $get $bump $size)
  (global $counter (export "counter") (mut i32) (i32.const 0))
  (func $get (export "get") (result i32) (global.get $counter))
  (func $bump (export "bump") (param i32)
    (global.set $counter (i32.add (global.get $counter) (local.get 0))))
  (func $size (export "size") (result i32) (memory.size)))
"""

#: Size of the big module of the instantiation benchmark (issue 9: "a module with
#: thousands of functions and data segments").
BIG_FUNCS = 3000
BIG_DATAS = 3000
#: distance between the big module's data segments, bytes
BIG_DATA_STRIDE = 300


def big_wat(funcs: int = BIG_FUNCS, datas: int = BIG_DATAS) -> str:
    """A module with ``funcs`` functions (``$f<i>`` returns ``i``), all of them in a
    funcref table through one element segment and reachable by ``call_indirect`` from
    the export ``call``, ``datas`` active data segments (segment ``i`` holds
    ``"seg<i>."`` at ``1024 + BIG_DATA_STRIDE * i``), a memory just big enough, and a
    few globals."""
    pages = (1024 + BIG_DATA_STRIDE * datas) // 65536 + 1
    parts = ["(module",
             f"  (memory (export \"memory\") {pages})",
             f"  (table {funcs} funcref)",
             "  (type $r (func (result i32)))",
             "  (global $g0 (export \"g0\") (mut i32) (i32.const 7))",
             "  (global $g1 i64 (i64.const 8))",
             "  (global $g2 f64 (f64.const 9.5))",
             "  (func (export \"call\") (param i32) (result i32)",
             "    (call_indirect (type $r) (local.get 0)))"]
    parts += [f"  (func $f{i} (type $r) (i32.const {i}))" for i in range(funcs)]
    parts.append("  (elem (i32.const 0) " + " ".join(f"$f{i}" for i in range(funcs)) + ")")
    parts += [f"  (data (i32.const {1024 + BIG_DATA_STRIDE * i}) \"seg{i}.\")"
              for i in range(datas)]
    parts.append(")")
    return "\n".join(parts)


#: instances made in one store before the instantiation benchmark takes a new store
INSTANCES_PER_STORE = 1000
KIB4 = 4096


@dataclass
class Row:
    """One operation's result: median seconds per operation for each runtime (``None``
    when the runtime was not run) and ``ratio`` = wasmlite / wasmtime-py."""

    operation: str
    wasmlite_s: float | None
    wasmtime_s: float | None
    ratio: float | None
    note: str = ""


@dataclass
class Op:
    """An operation to time: ``fresh()`` builds its state (a new one per repeat) and
    returns a ``(run, check)`` pair; ``run()`` does the operation once and ``check()``
    raises ``AssertionError`` when the operations done so far left a wrong result.
    ``per`` operations happen per ``run()`` call (the host-call loops)."""

    name: str
    fresh: Callable[[], tuple[Callable[[], Any], Callable[[], None]]]
    per: int = 1
    note: str = ""


def build_ops(rt: ModuleType, runtime: str, host_loop: int) -> list[Op]:
    """The operations for runtime module ``rt`` (``wasmlite`` or ``wasmtime``); the same
    wasmtime-py-shaped code for both."""
    engine = rt.Engine()
    calls_module = rt.Module(engine, CALLS_WAT)
    small_module = rt.Module(engine, SMALL_WAT)
    big_module = rt.Module(engine, big_wat())
    data = bytes(range(256)) * (KIB4 // 256)

    def calls_instance() -> tuple[Any, dict[str, Any]]:
        store = rt.Store(engine)
        counter = [0]

        def host_nop() -> None:
            counter[0] += 1

        linker = rt.Linker(engine)
        linker.define_func("bench", "host_nop", rt.FuncType([], []), host_nop)
        linker.define_func("bench", "host_inc", rt.FuncType([rt.ValType.i32()],
                                                            [rt.ValType.i32()]),
                           lambda x: x + 1)
        inst = linker.instantiate(store, calls_module)
        ex = inst.exports(store)
        return store, {"counter": counter, **{k: ex[k] for k in
                                               ("nop", "inc", "loop_nop", "loop_inc",
                                                "memory")}}

    def call_nop() -> tuple[Callable[[], Any], Callable[[], None]]:
        store, ex = calls_instance()
        f = ex["nop"]

        def check() -> None:
            assert f(store) is None

        return (lambda: f(store)), check

    def call_inc() -> tuple[Callable[[], Any], Callable[[], None]]:
        store, ex = calls_instance()
        f = ex["inc"]

        def check() -> None:
            assert f(store, 7) == 8
            assert f(store, -1) == 0

        return (lambda: f(store, 7)), check

    def host_nop() -> tuple[Callable[[], Any], Callable[[], None]]:
        store, ex = calls_instance()
        f, counter = ex["loop_nop"], ex["counter"]
        calls = [0]

        def run() -> None:
            calls[0] += 1
            f(store, host_loop)

        def check() -> None:
            assert counter[0] == calls[0] * host_loop, (counter[0], calls[0])

        return run, check

    def host_inc() -> tuple[Callable[[], Any], Callable[[], None]]:
        store, ex = calls_instance()
        f = ex["loop_inc"]

        def check() -> None:
            assert f(store, host_loop) == host_loop

        return (lambda: f(store, host_loop)), check

    def mem_read() -> tuple[Callable[[], Any], Callable[[], None]]:
        store, ex = calls_instance()
        mem = ex["memory"]
        mem.write(store, data, 0)

        def check() -> None:
            assert bytes(mem.read(store, 0, KIB4)) == data

        return (lambda: mem.read(store, 0, KIB4)), check

    def mem_write() -> tuple[Callable[[], Any], Callable[[], None]]:
        store, ex = calls_instance()
        mem = ex["memory"]

        def check() -> None:
            assert bytes(mem.read(store, 0, KIB4)) == data

        return (lambda: mem.write(store, data, 0)), check

    def buf_read() -> tuple[Callable[[], Any], Callable[[], None]]:
        store, ex = calls_instance()
        mem = ex["memory"]
        mem.write(store, data, 0)
        if runtime == "wasmlite":
            def run() -> bytes:
                return bytes(mem.buffer(store)[0:KIB4])
        else:
            def run() -> bytes:
                return ctypes.string_at(mem.data_ptr(store), KIB4)

        def check() -> None:
            assert run() == data

        return run, check

    def buf_write() -> tuple[Callable[[], Any], Callable[[], None]]:
        store, ex = calls_instance()
        mem = ex["memory"]
        if runtime == "wasmlite":
            def run() -> None:
                mem.buffer(store)[0:KIB4] = data
        else:
            def run() -> None:
                ctypes.memmove(mem.data_ptr(store), data, KIB4)

        def check() -> None:
            assert bytes(mem.read(store, 0, KIB4)) == data

        return run, check

    def instantiate(module: Any, check_instance: Callable[[Any, Any], None],
                    per_store: int = INSTANCES_PER_STORE,
                    ) -> tuple[Callable[[], Any], Callable[[], None]]:
        # Instances live as long as their store (in both runtimes), and each memory
        # reserves address space (8 GiB + 64 KiB in wasmlite, about 4 GiB in Wasmtime),
        # so a fresh store every INSTANCES_PER_STORE instances keeps the process within
        # the address space; the store's creation (and the release of the old one's
        # instances) is amortised over them.
        state: dict[str, Any] = {"store": rt.Store(engine), "made": []}

        def run() -> None:
            made = state["made"]
            if len(made) >= per_store:
                state["store"], state["made"] = rt.Store(engine), []
                made = state["made"]
            made.append(rt.Instance(state["store"], module, []))

        def check() -> None:
            check_instance(state["store"], state["made"][-1])

        return run, check

    def check_small(store: Any, inst: Any) -> None:
        ex = inst.exports(store)
        ex["bump"](store, 5)
        assert ex["get"](store) == 5
        assert ex["memory"].read(store, 16, 28) == b"hello, world"

    def check_big(store: Any, inst: Any) -> None:
        ex = inst.exports(store)
        for i in (0, 1, BIG_FUNCS // 2, BIG_FUNCS - 1):
            assert ex["call"](store, i) == i
        for i in (0, BIG_DATAS // 3, BIG_DATAS - 1):
            at = 1024 + BIG_DATA_STRIDE * i
            want = f"seg{i}.".encode()
            assert ex["memory"].read(store, at, at + len(want)) == want
        assert ex["g0"].value(store) == 7

    def instantiate_small() -> tuple[Callable[[], Any], Callable[[], None]]:
        return instantiate(small_module, check_small)

    def instantiate_big() -> tuple[Callable[[], Any], Callable[[], None]]:
        return instantiate(big_module, check_big, 100)

    def new_store() -> tuple[Callable[[], Any], Callable[[], None]]:
        made: list[Any] = []

        def run() -> None:
            made.append(rt.Store(engine))

        def check() -> None:
            assert made and made[-1].engine is engine
            made.clear()

        return run, check

    buf_note = ("wasmlite: a slice of Memory.buffer(store); wasmtime-py (no buffer()): "
                "ctypes.string_at / ctypes.memmove on Memory.data_ptr(store)")
    return [
        Op("call () -> ()", call_nop),
        Op("call (i32) -> i32", call_inc),
        Op("host call () -> ()", host_nop, per=host_loop, note="wasm -> Python, per call"),
        Op("host call (i32) -> i32", host_inc, per=host_loop, note="wasm -> Python, per call"),
        Op("Memory.read 4 KiB", mem_read),
        Op("Memory.write 4 KiB", mem_write),
        Op("buffer read 4 KiB", buf_read, note=buf_note),
        Op("buffer write 4 KiB", buf_write, note=buf_note),
        Op("instantiate small module", instantiate_small),
        Op(f"instantiate {BIG_FUNCS} funcs+{BIG_DATAS} datas", instantiate_big),
        Op("new Store", new_store),
    ]


def calibrate(op: Op, min_time: float, max_number: int = 1_000_000) -> int:
    """The loop count for ``op``, as ``timeit.Timer.autorange``: 1, 2, 5, 10, 20, ...
    until one loop takes at least ``min_time`` seconds.  Also checks ``op``'s result
    (raises ``AssertionError`` when it is wrong)."""
    run, check = op.fresh()
    run()
    check()
    number = 1
    while True:
        for mult in (1, 2, 5):
            n = number * mult
            run, check = op.fresh()
            t = _loop(run, n)
            check()
            if t >= min_time or n >= max_number:
                return n
        number *= 10


def time_once(op: Op, number: int) -> float:
    """Seconds per operation of one timed loop of ``number`` iterations on fresh state
    (the result is checked after the loop)."""
    run, check = op.fresh()
    t = _loop(run, number)
    check()
    return t / (number * op.per)


def _loop(run: Callable[[], Any], number: int) -> float:
    """Time ``number`` calls of ``run`` with the garbage collector off, as ``timeit``."""
    it = range(number)
    gc_was_on = gc.isenabled()
    gc.disable()
    try:
        t0 = time.perf_counter()
        for _ in it:
            run()
        return time.perf_counter() - t0
    finally:
        if gc_was_on:
            gc.enable()


def _import(runtime: str) -> ModuleType | None:
    try:
        if runtime == "wasmtime":
            import wasmtime

            return wasmtime
        import wasmlite

        return wasmlite
    except ImportError:
        return None


def run(runtimes: tuple[str, ...] = RUNTIMES, repeat: int = 5, min_time: float = 0.2,
        host_loop: int = 1000, filters: list[str] | None = None,
        log: Callable[[str], None] | None = None) -> tuple[list[Row], list[str]]:
    """Time every operation under each of ``runtimes``; returns the rows and a list of
    errors (a runtime that is missing or computed a wrong result).

    The repeats of one operation alternate between the runtimes, so a change in machine
    load during the run affects both columns alike; each result is the median.
    """
    errors: list[str] = []
    ops: dict[str, dict[str, Op]] = {}
    order: list[str] = []
    for runtime in runtimes:
        rt = _import(runtime)
        if rt is None:
            errors.append(f"{runtime}: not installed (pip install -e '.[bench]')")
            continue
        for op in build_ops(rt, runtime, host_loop):
            if filters and not any(f.lower() in op.name.lower() for f in filters):
                continue
            if op.name not in ops:
                ops[op.name] = {}
                order.append(op.name)
            ops[op.name][runtime] = op
    results: dict[str, dict[str, float]] = {name: {} for name in order}
    notes: dict[str, str] = {}
    for name in order:
        numbers: dict[str, int] = {}
        for runtime, op in ops[name].items():
            notes[name] = op.note
            try:
                numbers[runtime] = calibrate(op, min_time)
            except Exception as e:  # a wrong result or an API difference
                errors.append(f"{runtime}: {name}: {type(e).__name__}: {e}")
        samples: dict[str, list[float]] = {r: [] for r in numbers}
        for _ in range(repeat):
            for runtime, number in numbers.items():
                samples[runtime].append(time_once(ops[name][runtime], number))
        for runtime, ts in samples.items():
            results[name][runtime] = statistics.median(ts)
            if log:
                log(f"{runtime:9} {name:26} {_fmt(results[name][runtime])}")
    rows = []
    for name in order:
        a = results[name].get("wasmlite")
        b = results[name].get("wasmtime")
        rows.append(Row(name, a, b, a / b if a is not None and b else None, notes.get(name, "")))
    return rows, errors


def _fmt(t: float | None) -> str:
    if t is None:
        return "-"
    if t < 1e-6:
        return f"{t * 1e9:.0f} ns"
    if t < 1e-3:
        return f"{t * 1e6:.2f} us"
    return f"{t * 1e3:.2f} ms"


def format_table(rows: list[Row]) -> str:
    """The rows as a Markdown table."""
    lines = ["| operation | wasmlite | wasmtime-py | wasmlite / wasmtime-py |",
             "| --- | ---: | ---: | ---: |"]
    for r in rows:
        ratio = "-" if r.ratio is None else f"{r.ratio:.3f}"
        lines.append(f"| {r.operation} | {_fmt(r.wasmlite_s)} | {_fmt(r.wasmtime_s)} | {ratio} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repeat", type=int, default=5, help="timed loops per operation (median)")
    p.add_argument("--min-time", type=float, default=0.2,
                   help="seconds one timed loop should last at least (default 0.2)")
    p.add_argument("--host-loop", type=int, default=1000,
                   help="host calls per wasm call in the host-call rows (default 1000)")
    p.add_argument("--filter", action="append", default=[],
                   help="only operations whose name contains this (repeatable)")
    p.add_argument("--runtime", action="append", choices=RUNTIMES,
                   help="run only this runtime (repeatable; default both)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead")
    args = p.parse_args(argv)
    if args.repeat < 1 or args.min_time <= 0 or args.host_loop < 1:
        p.error("--repeat and --host-loop must be at least 1, --min-time positive")
    runtimes = tuple(args.runtime) if args.runtime else RUNTIMES
    log = None if args.json else (lambda s: print(s, file=sys.stderr, flush=True))
    rows, errors = run(runtimes, args.repeat, args.min_time, args.host_loop, args.filter, log)
    if args.json:
        versions = {}
        for name in runtimes:
            rt = _import(name)
            versions[name] = getattr(rt, "__version__", None) if rt else None
        print(json.dumps({"python": platform.python_version(), "machine": platform.machine(),
                          "repeat": args.repeat, "host_loop": args.host_loop,
                          "versions": versions, "rows": [asdict(r) for r in rows],
                          "errors": errors}, indent=2))
    else:
        print(format_table(rows))
        notes = sorted({r.note for r in rows if r.note and "buffer" in r.note})
        for n in notes:
            print(f"\nbuffer rows: {n}")
        for e in errors:
            print(f"error: {e}", file=sys.stderr)
    wrong = [e for e in errors if "not installed" not in e]
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
