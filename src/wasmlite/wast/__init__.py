"""wasmlite.wast: the WAST script runner (the spec interpreter's script format).

* :func:`run_wast` runs scripts and returns a :class:`WastResult` with one
  :class:`Outcome` per command (``module``, ``register``, actions and assertions);
* :class:`WastRunner` keeps one Engine and a compiled-module cache across scripts;
* :func:`main` is the ``wasmlite wast`` command line.

See :mod:`wasmlite.wast.runner` for the semantics of each command and
:mod:`wasmlite.wast.spectest` for the ``spectest`` host module.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from .. import Config, Engine
from .runner import (
    TRAP_ALIASES,
    ExternRef,
    FileResult,
    Outcome,
    WastResult,
    WastRunner,
    run_wast,
    trap_message_matches,
)

__all__ = ["ExternRef", "FileResult", "Outcome", "TRAP_ALIASES", "WastResult", "WastRunner",
           "main", "run_wast", "trap_message_matches"]


#: ``-W`` proposal names (Wasmtime's) -> the :class:`~wasmlite.Config` switch
WAST_PROPOSALS = {"multi-memory": "wasm_multi_memory", "memory64": "wasm_memory64",
                  "tail-call": "wasm_tail_call",
                  "relaxed-simd": "wasm_relaxed_simd", "simd": "wasm_simd",
                  "reference-types": "wasm_reference_types",
                  "bulk-memory": "wasm_bulk_memory", "multi-value": "wasm_multi_value",
                  "extended-const": "wasm_extended_const", "gc": "wasm_gc",
                  "function-references": "wasm_function_references"}


def main(argv: Sequence[str] | None = None) -> int:
    """``wasmlite wast [--json OUT] [--opt-level L] [-W PROPOSAL=y|n] [--quiet] [--echo]
    FILE...``.

    ``-W`` switches a proposal as Wasmtime's ``-W`` does (``-W multi-memory=n``: the
    WebAssembly 2.0 rules for memories); :data:`WAST_PROPOSALS` lists the names.

    ``argv`` are the arguments after ``wast`` (default ``sys.argv[1:]``).  Prints each
    failure as ``file:line: command: message``, then ``file: N passed, N failed`` per
    file and the total (``--quiet``: only the summary lines).  ``--json OUT`` also writes
    the machine-readable results (:meth:`WastResult.to_json`) to ``OUT`` (``-`` for
    stdout, in which case the text report goes to stderr).  Returns the exit status:
    0 when no command failed, 1 otherwise, 2 for usage errors or unreadable files.
    """
    parser = argparse.ArgumentParser(
        prog="wasmlite wast", description="Run WebAssembly spec test scripts (.wast).")
    parser.add_argument("files", nargs="+", metavar="FILE", help="a .wast script")
    parser.add_argument("--json", metavar="OUT",
                        help="write machine-readable results to OUT ('-' for stdout)")
    parser.add_argument("--opt-level", default="0", choices=["0", "1", "2", "s"],
                        help="LLVM optimisation level for the modules (default: 0, about 3x faster "
                             "to compile than 1 on the spec suite)")
    parser.add_argument("-W", "--wasm", action="append", default=[],
                        metavar="PROPOSAL[=y|n],...",
                        help="switch WebAssembly proposals on or off (" +
                             ", ".join(WAST_PROPOSALS) + ")")
    parser.add_argument("--quiet", "-q", action="store_true",
                        help="print only the per-file and total counts")
    parser.add_argument("--echo", action="store_true",
                        help="make spectest.print* print their arguments")
    try:
        args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    except SystemExit as e:
        return int(e.code or 0) if e.code in (0, None) else 2
    config = Config()
    config.opt_level = args.opt_level
    for value in args.wasm:
        for item in value.split(","):
            name, _, val = item.partition("=")
            attr = WAST_PROPOSALS.get(name.strip())
            if attr is None or val.strip() not in ("", "y", "n", "yes", "no", "true",
                                                    "false"):
                print(f"wasmlite wast: unknown -W setting `{item}` (expected "
                      f"{', '.join(WAST_PROPOSALS)}, with =y or =n)", file=sys.stderr)
                return 2
            setattr(config, attr, val.strip() in ("", "y", "yes", "true"))
    runner = WastRunner(Engine(config), echo=args.echo)
    result = WastResult()
    out = sys.stderr if args.json == "-" else sys.stdout
    for path in args.files:
        try:
            fr = runner.run_file(path)
        except OSError as e:
            print(f"wasmlite wast: cannot read {path}: {e.strerror or e}", file=sys.stderr)
            return 2
        result.files.append(fr)
        if not args.quiet:
            for o in fr.failures:
                print(f"{fr.path}:{o.line}: {o.command}: {o.message}", file=out)
    for fr in result.files:
        print(f"{fr.path}: {fr.passed} passed, {fr.failed} failed", file=out)
    print(f"total: {result.passed} passed, {result.failed} failed", file=out)
    if args.json:
        text = json.dumps(result.to_json(), indent=1)
        if args.json == "-":
            sys.stdout.write(text + "\n")
        else:
            with open(args.json, "w", encoding="utf-8") as f:
                f.write(text + "\n")
    return 0 if result.failed == 0 else 1
