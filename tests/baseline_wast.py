"""Run spec scripts under ``Config.strategy = "winch"`` (a helper of
``tests/test_baseline.py``): ``python tests/baseline_wast.py [--opt-level L]
[--signals 0|1] FILE...`` prints the JSON of the results (one process per call, so a
crash in compiled code fails the caller's file only)."""

from __future__ import annotations

import argparse
import json
import sys


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--opt-level", default="0")
    p.add_argument("--signals", type=int, default=1)
    p.add_argument("files", nargs="+")
    ns = p.parse_args(argv)
    from wasmlite import Config, Engine
    from wasmlite.wast import run_wast

    config = Config()
    config.strategy = "winch"
    config.opt_level = ns.opt_level
    config.signals_based_traps = bool(ns.signals)
    # the 2.0 suite (see test_spec.WAST_ARGS)
    config.wasm_multi_memory = False
    config.wasm_memory64 = False
    config.wasm_extended_const = False
    config.wasm_gc = False
    result = run_wast(ns.files, engine=Engine(config))
    json.dump({"files": [f.to_json() for f in result.files]}, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
