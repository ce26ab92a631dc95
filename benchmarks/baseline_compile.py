"""Compile speed of the baseline compiler against LLVM's first tier, and its coverage.

``python benchmarks/baseline_compile.py [--llvm] [PROGRAM...]`` compiles every function
of each Sightglass program (default: all of them) with the baseline compiler
(``compiler/baseline``) and prints wasm instructions per second, the share of functions
(and of instructions) it takes, and the fallback reasons; with ``--llvm`` it also
compiles the same functions with ``compile_batch(..., codegen.TIER1)`` (one LLVM module)
for comparison.  Times are thread CPU time (the machine may be loaded).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from wasmlite.compiler import baseline, compile_batch  # noqa: E402
from wasmlite.compiler.codegen import TIER1  # noqa: E402
from wasmlite.module import _decode_and_validate  # noqa: E402

SIGHTGLASS = ROOT.parent / "shared" / "benchmarks" / "sightglass"


def programs(names: list[str]) -> list[Path]:
    found = sorted(SIGHTGLASS.glob("*/*.wasm"))
    if names:
        found = [p for p in found if any(n in str(p) for n in names)]
    return found


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--llvm", action="store_true", help="also time LLVM's first tier")
    ap.add_argument("programs", nargs="*")
    ns = ap.parse_args(argv)
    tot_funcs = tot_base = tot_instrs = tot_base_instrs = 0
    tot_bt = tot_lt = 0.0
    tot_li = 0
    reasons: Counter[str] = Counter()
    print(f"{'program':28} {'funcs':>6} {'baseline':>9} {'instrs':>8} {'base Mi/s':>9}"
          + (f" {'LLVM t1 ki/s':>12} {'ratio':>6}" if ns.llvm else ""))
    for path in programs(ns.programs):
        info, bodies = _decode_and_validate(path.read_bytes())
        n = len(bodies)
        mine = [i for i in range(n) if baseline.unsupported_reason(info, i, bodies[i]) is None]
        for i in range(n):
            r = baseline.unsupported_reason(info, i, bodies[i])
            if r is not None:
                reasons[r] += 1
        instrs = sum(len(bodies[i]) for i in mine)
        t0 = time.thread_time()
        part = baseline.compile_batch(info, bodies, mine, guard_pages=True)
        bt = time.thread_time() - t0
        assert sorted(part.baseline) == mine
        tot_funcs += n
        tot_base += len(mine)
        tot_instrs += sum(len(b) for b in bodies)
        tot_base_instrs += instrs
        tot_bt += bt
        name = path.parent.name if path.name == "benchmark.wasm" else path.stem
        line = (f"{name:28} {n:6} {100 * len(mine) / max(n, 1):8.1f}% {instrs:8} "
                f"{instrs / bt / 1e6:9.3f}")
        if ns.llvm and mine:
            t0 = time.thread_time()
            compile_batch(info, bodies, mine, TIER1, 1)
            lt = time.thread_time() - t0
            tot_lt += lt
            tot_li += instrs
            line += f" {instrs / lt / 1e3:12.1f} {lt / bt:6.1f}x"
        print(line, flush=True)
    print(f"{'total':28} {tot_funcs:6} {100 * tot_base / max(tot_funcs, 1):8.1f}% "
          f"{tot_base_instrs:8} {tot_base_instrs / max(tot_bt, 1e-9) / 1e6:9.3f}"
          + (f" {tot_li / max(tot_lt, 1e-9) / 1e3:12.1f} "
             f"{tot_lt / max(tot_bt, 1e-9) * tot_base_instrs / max(tot_li, 1):6.1f}x"
             if ns.llvm else ""))
    print(f"instructions taken by the baseline compiler: "
          f"{100 * tot_base_instrs / max(tot_instrs, 1):.1f}%")
    print("fallback reasons (functions):", dict(reasons))
    return 0


if __name__ == "__main__":
    sys.exit(main())
