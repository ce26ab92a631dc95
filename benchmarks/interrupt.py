#!/usr/bin/env python3
"""What fuel and epoch interruption cost: the Sightglass shootout programs run with
``Config.consume_fuel``, with ``Config.epoch_interruption``, and with neither.

Each program (``$WASMLITE_SHARED/benchmarks/sightglass/shootout/shootout-*.wasm``, run as
``benchmarks/sightglass.py`` runs them: WASI, directory preopened, ``bench.start`` /
``bench.end`` around the measured region) is compiled once per mode and run
``--repeat`` times; the time between ``bench.start`` and ``bench.end`` is kept (median).
Fuel runs get ``2**64 - 1`` fuel, epoch runs a deadline that is never reached, so both
only pay for their checks.  The output is the run time per mode and the ratios
``fuel / plain`` and ``epoch / plain`` per program, with their geometric means.

Usage::

    python benchmarks/interrupt.py [--filter NAME]... [--repeat N] [--opt-level 0|1|2|s]
                                   [--runtime wasmlite|wasmtime] [--json FILE]

Programs whose plain run takes under 0.1 ms get no ratio (noise).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

_HERE = Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location("sightglass_bench", _HERE / "sightglass.py")
assert _spec is not None and _spec.loader is not None
sightglass = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = sightglass  # dataclasses look their module up
_spec.loader.exec_module(sightglass)

MODES = ("plain", "fuel", "epoch")


def _runtime(name: str) -> Any:
    if name == "wasmtime":
        import wasmtime

        return wasmtime
    import wasmlite

    return wasmlite


def run_mode(program: Any, mode: str, repeat: int, rt: Any, opt_level: str | None) -> list[float]:
    """Run times (s) of ``repeat`` runs of ``program`` in ``mode``; raises
    ``RuntimeError`` when a run fails or prints something unexpected."""
    config = rt.Config()
    if opt_level is not None and hasattr(config, "opt_level"):
        config.opt_level = opt_level
    if mode == "fuel":
        config.consume_fuel = True
    elif mode == "epoch":
        config.epoch_interruption = True
    engine = rt.Engine(config)
    module = rt.Module(engine, program.wasm.read_bytes())
    marks: dict[str, int] = {}
    linker = rt.Linker(engine)
    linker.define_wasi()
    linker.define_func("bench", "start", rt.FuncType([], []),
                       lambda: marks.__setitem__("start", time.perf_counter_ns()))
    linker.define_func("bench", "end", rt.FuncType([], []),
                       lambda: marks.__setitem__("end", time.perf_counter_ns()))
    times = []
    for _ in range(repeat):
        marks.clear()
        with tempfile.TemporaryDirectory(prefix="interrupt-bench-") as tmp:
            out = os.path.join(tmp, "stdout")
            store = rt.Store(engine)
            if mode == "fuel":
                store.set_fuel(2 ** 64 - 1)
            elif mode == "epoch":
                store.set_epoch_deadline(2 ** 62)
            wasi = rt.WasiConfig()
            wasi.argv = [program.wasm.name]
            wasi.stdout_file = out
            wasi.stderr_file = os.path.join(tmp, "stderr")
            wasi.preopen_dir(str(program.directory), ".")
            store.set_wasi(wasi)
            try:
                linker.instantiate(store, module).exports(store)["_start"](store)
            except rt.ExitTrap as e:
                if e.code != 0:
                    raise RuntimeError(f"{program.name} ({mode}): exit status {e.code}") from None
            del store
            if program.stdout_expected is not None and \
                    Path(out).read_bytes() != program.stdout_expected.read_bytes():
                raise RuntimeError(f"{program.name} ({mode}): unexpected output")
        if "start" not in marks or "end" not in marks:
            raise RuntimeError(f"{program.name} ({mode}): bench.start/end not called")
        times.append((marks["end"] - marks["start"]) / 1e9)
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--filter", action="append", default=[], metavar="NAME")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--opt-level", choices=("0", "1", "2", "s"), default=None)
    parser.add_argument("--runtime", choices=("wasmlite", "wasmtime"), default="wasmlite")
    parser.add_argument("--json", metavar="FILE")
    args = parser.parse_args(argv)
    rt = _runtime(args.runtime)

    programs = [p for p in sightglass.discover() if p.name.startswith("shootout-")]
    if args.filter:
        programs = [p for p in programs if any(f in p.name for f in args.filter)]
    if not programs:
        print(f"no shootout programs under {sightglass.sightglass_dir()}", file=sys.stderr)
        return 1

    print(f"{args.runtime}, median of {args.repeat} runs, times in ms")
    print(f"{'program':24} {'plain':>9} {'fuel':>9} {'epoch':>9} {'fuel x':>8} {'epoch x':>8}")
    rows: list[dict[str, Any]] = []
    ratios: dict[str, list[float]] = {"fuel": [], "epoch": []}
    for p in programs:
        row: dict[str, Any] = {"program": p.name}
        try:
            for mode in MODES:
                row[mode] = statistics.median(run_mode(p, mode, args.repeat, rt, args.opt_level))
        except Exception as e:  # noqa: BLE001 - one program failing is reported, not fatal
            print(f"{p.name:24} FAILED: {e}")
            continue
        cells = []
        for mode in ("fuel", "epoch"):
            r = row[mode] / row["plain"] if row["plain"] >= 1e-4 else None
            row[f"{mode}_ratio"] = r
            if r is not None:
                ratios[mode].append(r)
            cells.append("-" if r is None else f"{r:.2f}")
        rows.append(row)
        print(f"{p.name:24} {row['plain'] * 1e3:>9.2f} {row['fuel'] * 1e3:>9.2f} "
              f"{row['epoch'] * 1e3:>9.2f} {cells[0]:>8} {cells[1]:>8}", flush=True)
    gm = {m: sightglass._geomean(v) for m, v in ratios.items()}
    print(f"{'geometric mean':24} {'':>9} {'':>9} {'':>9} "
          f"{'-' if gm['fuel'] is None else format(gm['fuel'], '.2f'):>8} "
          f"{'-' if gm['epoch'] is None else format(gm['epoch'], '.2f'):>8}")
    if args.json:
        Path(args.json).write_text(json.dumps({"rows": rows, "geomean": gm}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
