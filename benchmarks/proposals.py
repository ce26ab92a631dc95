#!/usr/bin/env python3
"""What the WebAssembly 3.0 proposals cost, side by side with wasmtime-py in one run.

Each row is one small module exported function called once per repeat (after a warm-up
call, so compilation is not in the timing; ``Config.strategy = "cranelift"`` compiles
everything first in wasmlite, as Wasmtime does):

* ``tail-call loop``: mutual tail recursion (``return_call`` between two functions of
  one type, and ``return_call_indirect`` through a table), 10 million calls, which runs
  in constant stack in both;
* ``memory64 sum``: summing 16 MiB of a 64-bit memory with i64 addresses (explicitly
  bounds-checked in wasmlite) against the same loop over a 32-bit memory;
* ``multi-memory copy``: ``memory.copy`` of 1 MiB from memory 1 to memory 0, 64 times.

The output is a table of median seconds per call and the ratio wasmlite / wasmtime-py.

Usage::

    python benchmarks/proposals.py [--repeat N] [--filter NAME]...
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

TAIL_WAT = """(module
  (type $t (func (param i64 i64) (result i64)))
  (table 1 funcref) (elem (i32.const 0) $ping)
  (func $ping (export "ping") (param i64 i64) (result i64)
    (if (result i64) (i64.eqz (local.get 0)) (then (local.get 1))
      (else (return_call $pong (i64.sub (local.get 0) (i64.const 1))
                               (i64.add (local.get 1) (local.get 0))))))
  (func $pong (param i64 i64) (result i64)
    (return_call_indirect (type $t) (local.get 0) (i64.xor (local.get 1) (i64.const 1))
                          (i32.const 0))))"""

SUM_WAT = """(module
  (memory {at} 256)
  (func (export "sum") (result i64) (local $i {at}) (local $s i64)
    (loop $l
      (local.set $s (i64.add (local.get $s) (i64.load (local.get $i))))
      (local.set $i ({at}.add (local.get $i) ({at}.const 8)))
      (br_if $l ({at}.lt_u (local.get $i) ({at}.const 16777216))))
    (local.get $s)))"""

COPY_WAT = """(module
  (memory $a 32) (memory $b 32)
  (func (export "copy")
    (local $k i32)
    (loop $l
      (memory.copy $a $b (i32.const 0) (i32.const 65536) (i32.const 1048576))
      (local.set $k (i32.add (local.get $k) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $k) (i32.const 64))))))"""

#: (row name, module text, export, arguments, expected result or None)
ROWS: list[tuple[str, str, str, tuple, Any]] = [
    ("tail-call loop (10M calls)", TAIL_WAT, "ping", (10_000_000, 0), None),
    ("memory64 sum (16 MiB, i64 addresses)", SUM_WAT.format(at="i64"), "sum", (), 0),
    ("same sum, 32-bit memory", SUM_WAT.format(at="i32"), "sum", (), 0),
    ("multi-memory copy (64 x 1 MiB)", COPY_WAT, "copy", (), None),
]


def _runtime(name: str) -> Any:
    if name == "wasmlite":
        import wasmlite
        return wasmlite
    import wasmtime
    return wasmtime


def time_row(rt_name: str, wat: str, export: str, args: tuple, repeat: int) -> tuple[float, Any]:
    """Median seconds of ``export(*args)`` over ``repeat`` calls after one warm-up, and
    its result."""
    rt = _runtime(rt_name)
    config = rt.Config()
    if rt_name == "wasmlite":
        config.strategy = "cranelift"
    engine = rt.Engine(config)
    store = rt.Store(engine)
    f: Callable[..., Any] = rt.Instance(store, rt.Module(engine, wat), []).exports(store)[export]
    result = f(store, *args)
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        f(store, *args)
        times.append(time.perf_counter() - t)
    return statistics.median(times), result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--filter", action="append", default=[])
    ns = p.parse_args(argv)
    print("| operation | wasmlite | wasmtime-py | wasmlite / wasmtime-py |")
    print("| --- | ---: | ---: | ---: |")
    for name, wat, export, args, expected in ROWS:
        if ns.filter and not any(f in name for f in ns.filter):
            continue
        ours, r1 = time_row("wasmlite", wat, export, args, ns.repeat)
        theirs, r2 = time_row("wasmtime", wat, export, args, ns.repeat)
        if r1 != r2 or (expected is not None and r1 != expected):
            print(f"{name}: results differ: wasmlite {r1!r}, wasmtime-py {r2!r}",
                  file=sys.stderr)
            return 1
        print(f"| {name} | {ours * 1e3:.2f} ms | {theirs * 1e3:.2f} ms | {ours / theirs:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
