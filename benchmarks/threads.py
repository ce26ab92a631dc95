#!/usr/bin/env python3
"""Do two Python threads running wasm use two cores?

wasmlite calls wasm through ctypes ``CFUNCTYPE`` entry trampolines, which release the
GIL for the duration of the call (host functions take it back), so CPU-bound wasm in
two threads, each with its own Store, should run in parallel.  This benchmark runs a
CPU-bound wasm function (an integer hash loop, no host calls) ``N`` times:

* on one thread (``1 x N``), and
* on two threads at once, each doing ``N`` (``2 x N``, twice the work),

and reports the wall times and the ratio ``t(2 x N) / t(1 x N)``: about 1.0 means the two
threads ran on two cores, about 2.0 that they ran one after the other.  A Python-only
loop of similar length is measured the same way for comparison (it holds the GIL, so
its ratio is ~2 on CPython without free threading).

Usage::

    python benchmarks/threads.py [--iterations N] [--repeat R] [--runtime wasmlite|wasmtime]

Times are the best of ``R`` runs, in milliseconds.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

WAT = """
(module
  (func (export "spin") (param $n i32) (result i32)
    (local $h i32)
    (local.set $h (i32.const 0x811c9dc5))
    (block $done
      (loop $l
        (br_if $done (i32.eqz (local.get $n)))
        (local.set $h (i32.mul (i32.xor (local.get $h) (local.get $n)) (i32.const 0x01000193)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $l)))
    (local.get $h)))
"""


def _python_spin(n: int) -> int:
    h = 0x811C9DC5
    while n:
        h = ((h ^ n) * 0x01000193) & 0xFFFFFFFF
        n -= 1
    return h


def _wall(workers: list[Callable[[], Any]]) -> tuple[float, float]:
    """Run each worker on its own thread, all started together; the wall time (s) and
    the process CPU time (s) spent meanwhile."""
    barrier = threading.Barrier(len(workers) + 1)
    results: list[Any] = [None] * len(workers)

    def run(i: int, w: Callable[[], Any]) -> None:
        barrier.wait()
        results[i] = w()

    threads = [threading.Thread(target=run, args=(i, w)) for i, w in enumerate(workers)]
    for t in threads:
        t.start()
    barrier.wait()
    t0, c0 = time.perf_counter(), time.process_time()
    for t in threads:
        t.join()
    dt, dc = time.perf_counter() - t0, time.process_time() - c0
    if len(set(results)) != 1:
        raise SystemExit(f"threads disagree: {results}")
    return dt, dc


def _best(repeat: int, f: Callable[[], tuple[float, float]]) -> tuple[float, float]:
    return min(f() for _ in range(repeat))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--iterations", type=int, default=200_000_000,
                        help="loop iterations of the wasm function per thread")
    parser.add_argument("--python-iterations", type=int, default=3_000_000,
                        help="loop iterations of the Python comparison per thread")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--runtime", choices=("wasmlite", "wasmtime"), default="wasmlite")
    args = parser.parse_args(argv)

    if args.runtime == "wasmtime":
        import wasmtime as rt
    else:
        import wasmlite as rt  # type: ignore[no-redef]

    engine = rt.Engine()
    module = rt.Module(engine, WAT)

    def wasm_worker(n: int) -> Callable[[], int]:
        store = rt.Store(engine)
        spin = rt.Instance(store, module, []).exports(store)["spin"]
        spin(store, 10)  # warm up (first call builds ctypes state)
        return lambda: spin(store, n) & 0xFFFFFFFF

    load0 = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    n = args.iterations
    one = _best(args.repeat, lambda: _wall([wasm_worker(n)]))
    two = _best(args.repeat, lambda: _wall([wasm_worker(n), wasm_worker(n)]))
    pn = args.python_iterations
    py_one = _best(args.repeat, lambda: _wall([lambda: _python_spin(pn)]))
    py_two = _best(args.repeat, lambda: _wall([lambda: _python_spin(pn), lambda: _python_spin(pn)]))

    load = load0
    print(f"{args.runtime} on {os.cpu_count()} CPUs, Python {sys.version.split()[0]}, "
          f"load average {load:.2f} before the runs")
    print(f"{'workload':28} {'1 thread x N':>14} {'2 threads x N':>14} {'ratio':>7} "
          f"{'CPU/wall (2 threads)':>21}")
    for name, (a, _), (b, cb) in ((f"wasm spin, N={n}", one, two),
                                  (f"Python spin, N={pn}", py_one, py_two)):
        print(f"{name:28} {a * 1e3:>11.1f} ms {b * 1e3:>11.1f} ms {b / a:>7.2f} "
              f"{cb / b:>21.2f}")
    print("ratio ~1.0 and CPU/wall ~2: the two threads ran in parallel on two cores;\n"
          "ratio ~2.0 and CPU/wall ~1: they were serialised (or the machine is busy)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
