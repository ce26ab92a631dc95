"""The WebAssembly 2.0 spec testsuite, run by ``wasmlite wast``.

One test per ``$WASMLITE_SHARED/wasm-spec/2.0/*.wast`` file (so ``pytest -n 2`` spreads
them).  Each file runs in its own ``python -m wasmlite.wast --json -`` process (a crash
or hang in compiled code fails that file only; the time limit is
``WASMLITE_TEST_TIMEOUT``).  The failing commands are compared with
``tests/spec_known_failures.txt``:

* an entry is ``file.wast:LINE reason`` (one failing command) or ``file.wast:* reason``
  (any failure in that file, used for whole files blocked on one missing feature);
  ``#`` starts a comment;
* a failure that is not listed fails the test;
* a listed failure that now passes is reported (a warning; a failure with
  ``WASMLITE_SPEC_STRICT=1``) so that the list shrinks.

Each test records its command counts as the properties ``wast_passed`` /
``wast_failed`` and prints ``<file>: N passed, N failed``.

``python tests/test_spec.py [--update] [-j N] [FILE...]`` runs the files (default:
all) in parallel, prints a per-file table and the total, and with ``--update`` rewrites
the known-failures file (keeping the reasons of entries that still fail; new entries
get a reason guessed from the message, to be edited by hand).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from conftest import shared_dir, subprocess_timeout  # noqa: E402

SPEC_DIR = shared_dir() / "wasm-spec" / "2.0"
WAST_FILES = sorted(SPEC_DIR.glob("*.wast"))
KNOWN_FAILURES = Path(__file__).resolve().parent / "spec_known_failures.txt"
#: The 2.0 suite runs with the proposals of 2.0 only: multi-memory and memory64 (on by
#: default as in Wasmtime) change the encodings and errors its scripts expect, and 3.0's
#: constant expressions (extended-const; gc, to which Wasmtime ties ``global.get`` of
#: defined globals) make modules valid that its scripts expect to be invalid
#: ("unknown global")
WAST_ARGS = ("-W", "multi-memory=n,memory64=n,extended-const=n,gc=n")
#: LLVM opt level the suite runs at (0 compiles about twice as fast as 1).
OPT_LEVEL = os.environ.get("WASMLITE_SPEC_OPT_LEVEL", "0")

#: Files also run at the default opt level "2", where LLVM's optimisations could change
#: semantics (NaN quieting, folding): known failures are listed as ``file.wast@O2:LINE``.
OPT2_FILES = [p for p in WAST_FILES if p.name in (
    "f32.wast", "f64.wast", "float_exprs.wast", "float_misc.wast", "conversions.wast",
    "int_exprs.wast", "i32.wast", "i64.wast", "left-to-right.wast")]

_ENTRY_RE = re.compile(r"^(\S+?\.wast(?:@O[0-9s])?):(\d+|\*)\s+(.*\S)\s*$")


def load_known_failures(path: Path = KNOWN_FAILURES) -> dict[str, dict[int | str, str]]:
    """``{file name: {line or "*": reason}}`` from the known-failures file.

    Raises ``ValueError`` for a line that is neither an entry, a comment nor blank.
    """
    known: dict[str, dict[int | str, str]] = {}
    if not path.exists():
        return known
    for n, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        text = raw.strip()
        if not text or text.startswith("#"):
            continue
        m = _ENTRY_RE.match(text)
        if m is None:
            raise ValueError(f"{path.name}:{n}: expected 'file.wast:LINE reason', got {raw!r}")
        line = m.group(2)
        known.setdefault(m.group(1), {})[line if line == "*" else int(line)] = m.group(3)
    return known


def run_file(path: Path, timeout: float | None = None, opt_level: str = OPT_LEVEL) -> dict:
    """Run one script in a subprocess at LLVM ``opt_level``; its
    :meth:`FileResult.to_json` dict.

    A crash, hang or unreadable output becomes a single failure at line 0.
    """
    cmd = [sys.executable, "-m", "wasmlite.wast", "--quiet", "--opt-level", opt_level,
           *WAST_ARGS, "--json", "-", str(path)]
    limit = timeout or subprocess_timeout()
    try:
        proc = subprocess.run(cmd, capture_output=True, timeout=limit)
    except subprocess.TimeoutExpired:
        return _whole_file_failure(path, f"did not finish within {limit:.0f} s")
    if proc.returncode in (0, 1):
        try:
            return json.loads(proc.stdout)["files"][0]
        except (ValueError, KeyError, IndexError):
            pass
    err = proc.stderr.decode("utf-8", "replace").strip().splitlines()
    return _whole_file_failure(path, f"runner exited with status {proc.returncode}: "
                                     f"{err[-1] if err else ''}")


def _whole_file_failure(path: Path, message: str) -> dict:
    return {"file": str(path), "passed": 0, "failed": 1, "seconds": 0.0,
            "outcomes": [{"line": 0, "command": "script", "passed": False,
                          "message": message}]}


def compare(name: str, result: dict, known: dict[str, dict[int | str, str]]
            ) -> tuple[list[str], list[str]]:
    """``(unexpected failures, listed failures that now pass)`` of one file's result,
    as ``file:line: message`` / ``file:line reason`` strings."""
    listed = known.get(name, {})
    wildcard = "*" in listed
    failing = {o["line"]: o for o in result["outcomes"] if not o["passed"]}
    unexpected = [f"{name}:{line}: {o['command']}: {o.get('message', '')}"
                  for line, o in sorted(failing.items())
                  if line not in listed and not wildcard]
    now_passing = [f"{name}:{line} {reason}" for line, reason in listed.items()
                   if line != "*" and line not in failing]
    if wildcard and not failing:
        now_passing.append(f"{name}:* {listed['*']}")
    return unexpected, now_passing


@pytest.mark.skipif(not WAST_FILES, reason=f"no spec testsuite in {SPEC_DIR}")
@pytest.mark.parametrize("path", WAST_FILES, ids=[p.name for p in WAST_FILES])
def test_spec_file(path: Path, record_property) -> None:
    result = run_file(path)
    record_property("wast_passed", result["passed"])
    record_property("wast_failed", result["failed"])
    record_property("wast_seconds", result.get("seconds", 0.0))
    record_property("wast_compile_seconds", result.get("compile_seconds", 0.0))
    print(f"{path.name}: {result['passed']} passed, {result['failed']} failed")
    _check(path.name, result)


def _check(name: str, result: dict) -> None:
    """Fail on failures not in the known-failures file; warn (or fail with
    ``WASMLITE_SPEC_STRICT=1``) on known failures that now pass."""
    unexpected, now_passing = compare(name, result, load_known_failures())
    if now_passing:
        msg = (f"{len(now_passing)} known failure(s) of {name} now pass; remove them "
               f"from {KNOWN_FAILURES.name}:\n" + "\n".join(now_passing))
        if os.environ.get("WASMLITE_SPEC_STRICT") == "1":
            pytest.fail(msg)
        warnings.warn(msg, stacklevel=1)
    if unexpected:
        pytest.fail(f"{len(unexpected)} unexpected failure(s) in {name}:\n"
                    + "\n".join(unexpected[:50])
                    + ("\n..." if len(unexpected) > 50 else ""))


@pytest.mark.skipif(not OPT2_FILES, reason=f"no spec testsuite in {SPEC_DIR}")
@pytest.mark.parametrize("path", OPT2_FILES, ids=[p.name + "@O2" for p in OPT2_FILES])
def test_spec_file_opt2(path: Path, record_property) -> None:
    """The files most sensitive to optimisation, at the default opt level "2"."""
    result = run_file(path, opt_level="2")
    name = path.name + "@O2"
    print(f"{name}: {result['passed']} passed, {result['failed']} failed")
    _check(name, result)


def test_known_failures_file_is_well_formed() -> None:
    known = load_known_failures()
    names = {p.name for p in WAST_FILES} | {p.name + "@O2" for p in OPT2_FILES}
    for name, entries in known.items():
        if WAST_FILES:
            assert name in names, f"{KNOWN_FAILURES.name} lists {name}, not in {SPEC_DIR}"
        assert all(reason for reason in entries.values())


# -- the runner itself -------------------------------------------------------------------
def _run(script: str):
    from wasmlite.wast import run_wast

    result = run_wast(script, opt_level="0")
    assert len(result.files) == 1
    return result.files[0]


def _failed_lines(fr) -> dict[int, str]:
    return {o.line: o.message for o in fr.outcomes if not o.passed}


def test_runner_results_are_compared_bit_for_bit() -> None:
    fr = _run("""(module
  (func (export "one") (result i32) (i32.const 1))
  (func (export "two") (result i64 f64) (i64.const -2) (f64.const 2.5))
  (func (export "snan") (result f32) (f32.reinterpret_i32 (i32.const 0x7fa00000)))
  (func (export "qnan") (result f64) (f64.div (f64.const 0) (f64.const 0)))
  (func (export "id") (param f32) (result f32) (local.get 0))
  (global (export "g") i32 (i32.const 7)))
(assert_return (invoke "one") (i32.const 1))
(assert_return (invoke "one") (i32.const 2))
(assert_return (invoke "two") (i64.const -2) (f64.const 2.5))
(assert_return (invoke "two") (i64.const 0xffff_ffff_ffff_fffe) (f64.const 2.5000001))
(assert_return (invoke "snan") (f32.const nan:0x200000))
(assert_return (invoke "snan") (f32.const nan:arithmetic))
(assert_return (invoke "snan") (f32.const nan:canonical))
(assert_return (invoke "qnan") (f64.const nan:canonical))
(assert_return (invoke "qnan") (f64.const nan:arithmetic))
(assert_return (invoke "id" (f32.const nan:0x1)) (f32.const nan:0x1))
(assert_return (invoke "id" (f32.const -0)) (f32.const 0))
(assert_return (get "g") (i32.const 7))
(assert_return (get "g") (i32.const 8))
(assert_return (invoke "one"))
""")
    assert _failed_lines(fr).keys() == {9, 11, 13, 14, 18, 20, 21}
    assert "expected (i32.const 0x00000002), got (i32.const 1" in _failed_lines(fr)[9]
    assert fr.passed == 8


def test_runner_traps_and_exhaustion() -> None:
    fr = _run("""(module
  (func (export "div") (param i32 i32) (result i32) (i32.div_s (local.get 0) (local.get 1)))
  (func $r (export "rec") (call $r)))
(assert_trap (invoke "div" (i32.const 1) (i32.const 0)) "integer divide by zero")
(assert_trap (invoke "div" (i32.const 1) (i32.const 0)) "integer overflow")
(assert_trap (invoke "div" (i32.const 1) (i32.const 1)) "integer divide by zero")
(assert_exhaustion (invoke "rec") "call stack exhausted")
(invoke "div" (i32.const 1) (i32.const 0))
(assert_return (invoke "div" (i32.const 7) (i32.const 2)) (i32.const 3))
""")
    failed = _failed_lines(fr)
    assert failed.keys() == {5, 6, 8}
    assert "got trap 'wasm trap: integer divide by zero'" in failed[5]
    assert "got results" in failed[6]


def test_runner_module_definition_and_instance() -> None:
    """``(module definition $M ...)`` compiles only; each ``(module instance $I $M)``
    is a new instance of it (its own globals), the last definition when unnamed."""
    fr = _run("""(module definition $M
  (global $g (mut i32) (i32.const 0))
  (func (export "inc") (result i32) (global.set $g (i32.add (global.get $g) (i32.const 1)))
    (global.get $g)))
(module instance $A $M)
(module instance $B $M)
(assert_return (invoke $A "inc") (i32.const 1))
(assert_return (invoke $A "inc") (i32.const 2))
(assert_return (invoke $B "inc") (i32.const 1))
(module definition (memory 65536))
(module definition (func (export "f") (result i32) (i32.const 7)))
(module instance)
(assert_return (invoke "f") (i32.const 7))
(module instance $C $nope)
(module definition $bad (func (result i32)))
""")
    failed = _failed_lines(fr)
    assert failed.keys() == {14, 15}, failed
    assert "no module definition $nope" in failed[14]
    assert "module failed to compile" in failed[15]


def test_runner_module_assertions() -> None:
    fr = _run("""(assert_invalid (module (func (result i32) (i64.const 0))) "type mismatch")
(assert_invalid (module (func (result i32) (i32.const 0))) "type mismatch")
(assert_invalid (module binary "\\00asm\\02\\00\\00\\00") "unknown binary version")
(assert_malformed (module binary "\\00asm\\02\\00\\00\\00") "unknown binary version")
(assert_malformed (module quote "(func (i32.nope))") "unknown operator")
(assert_malformed (module quote "(func)") "unknown operator")
(assert_malformed (module binary "") "unexpected end")
(assert_unlinkable (module (import "spectest" "nope" (func))) "unknown import")
(assert_unlinkable (module (import "spectest" "print_i32" (func (param i64))))
  "incompatible import type")
(assert_unlinkable (module (func)) "unknown import")
(assert_trap (module (func $s unreachable) (start $s)) "unreachable")
(assert_trap (module (func)) "unreachable")
(module $m (func (export "f") (result i32) (i32.const 5)))
(assert_return (invoke "f") (i32.const 5))
""")
    failed = _failed_lines(fr)
    assert failed.keys() == {2, 3, 6, 11, 13}
    assert "module is valid" in failed[2]
    assert "got malformed" in failed[3]
    assert "module was accepted" in failed[6]
    assert "module instantiated" in failed[13]


def test_runner_linking_spectest_and_externref() -> None:
    fr = _run("""(module $a
  (global (export "g") (mut i32) (i32.const 1))
  (func (export "set") (param i32) (global.set 0 (local.get 0))))
(register "a" $a)
(module $b
  (import "a" "g" (global $g (mut i32)))
  (import "spectest" "global_i32" (global $s i32))
  (import "spectest" "print_i32" (func $p (param i32)))
  (import "spectest" "memory" (memory 1))
  (func (export "get") (result i32) (call $p (global.get $s)) (global.get $g))
  (func (export "s") (result i32) (global.get $s))
  (func (export "pages") (result i32) (memory.size))
  (func (export "ref") (param externref) (result externref) (local.get 0)))
(invoke $a "set" (i32.const 42))
(assert_return (invoke $b "get") (i32.const 42))
(assert_return (invoke "s") (i32.const 666))
(assert_return (invoke "pages") (i32.const 1))
(assert_return (invoke "ref" (ref.extern 1)) (ref.extern 1))
(assert_return (invoke "ref" (ref.extern 1)) (ref.extern 2))
(assert_return (invoke "ref" (ref.null extern)) (ref.null extern))
(assert_return (invoke "ref" (ref.extern 3)) (ref.null extern))
(assert_return (invoke $a "nope"))
(assert_return (invoke $zz "get") (i32.const 42))
""")
    assert _failed_lines(fr).keys() == {19, 21, 22, 23}


def test_runner_caches_modules_and_reports_failed_modules() -> None:
    fr = _run("""(module (func (export "f") (result i32) (i32.const 1)))
(module (func (export "f") (result i32) (i32.const 1)))
(module (func (export "f") (result i32) (i32.const 1)))
(assert_return (invoke "f") (i32.const 1))
(module (func (result i32) (i64.const 1)))
(assert_return (invoke "f") (i32.const 1))
""")
    assert fr.modules_compiled == 2 and fr.module_cache_hits == 2
    failed = _failed_lines(fr)
    assert failed.keys() == {5, 6}
    assert "line 5: module failed to compile: type mismatch" in failed[6]


def test_runner_inline_module_and_unreadable_script() -> None:
    fr = _run('(func (export "f")) (memory 1)')
    assert (fr.passed, fr.failed) == (1, 0)
    fr = _run('(module) (assert_return (invoke "f")')
    assert fr.failed == 1 and fr.outcomes[0].command == "script"


def test_trap_message_aliases() -> None:
    from wasmlite.wast import trap_message_matches

    assert trap_message_matches("uninitialized element 2", "wasm trap: uninitialized element")
    assert trap_message_matches("unreachable", "wasm trap: wasm `unreachable` instruction executed")
    assert not trap_message_matches("integer overflow", "wasm trap: integer divide by zero")


def test_cli_main(tmp_path: Path, capsys) -> None:
    from wasmlite.wast import main

    good = tmp_path / "good.wast"
    good.write_text('(module (func (export "f") (result i32) (i32.const 1)))\n'
                    '(assert_return (invoke "f") (i32.const 1))\n')
    bad = tmp_path / "bad.wast"
    bad.write_text('(module (func (export "f") (result i32) (i32.const 1)))\n'
                   '(assert_return (invoke "f") (i32.const 3))\n')
    out = tmp_path / "out.json"
    assert main([str(good)]) == 0
    assert main(["--json", str(out), str(good), str(bad)]) == 1
    text = capsys.readouterr().out
    assert f"{bad}:2: assert_return: f: result 0: expected (i32.const 0x00000003)" in text
    assert f"{good}: 2 passed, 0 failed" in text
    assert "total: 3 passed, 1 failed" in text
    data = json.loads(out.read_text())
    assert (data["passed"], data["failed"]) == (3, 1)
    assert data["files"][1]["outcomes"][1] == {
        "line": 2, "command": "assert_return", "passed": False,
        "message": "f: result 0: expected (i32.const 0x00000003), got (i32.const 1 (0x00000001))"}
    assert main([str(tmp_path / "missing.wast")]) == 2
    assert main([]) == 2


def test_compare_with_known_failures(tmp_path: Path) -> None:
    listing = tmp_path / "known.txt"
    listing.write_text("# comment\na.wast:3 compiler bug: x\na.wast:9 runtime bug: y\n"
                       "b.wast:* SIMD not yet compiled\n")
    known = load_known_failures(listing)
    result = {"outcomes": [{"line": 3, "command": "c", "passed": False, "message": "m"},
                           {"line": 4, "command": "c", "passed": False, "message": "m4"},
                           {"line": 5, "command": "c", "passed": True}]}
    unexpected, now_passing = compare("a.wast", result, known)
    assert unexpected == ["a.wast:4: c: m4"]
    assert now_passing == ["a.wast:9 runtime bug: y"]
    assert compare("b.wast", result, known) == ([], [])
    assert compare("b.wast", {"outcomes": []}, known) == ([], ["b.wast:* SIMD not yet compiled"])
    listing.write_text("a.wast:x nope\n")
    with pytest.raises(ValueError):
        load_known_failures(listing)


# -- script use: table, totals, --update --------------------------------------------------
def _guess_reason(message: str) -> str:
    if "SIMD is not supported" in message:
        return "SIMD not yet compiled"
    return "unclassified: " + message[:100]


def _write_known(results: dict[str, dict], known: dict[str, dict[int | str, str]]) -> None:
    lines = [
        "# Known failures of tests/test_spec.py: 'file.wast:LINE reason' (one command) or",
        "# 'file.wast:* reason' (any failure in the file).  Reasons start with a category:",
        "# 'SIMD not yet compiled', 'compiler bug: ...', 'runtime bug: ...',",
        "# 'text parser bug: ...'.  Regenerate with: python tests/test_spec.py --update",
    ]
    for name in sorted(set(results) | set(known)):
        old = known.get(name, {})
        res = results.get(name)
        if res is None:  # not run this time: keep as is
            lines += [f"{name}:{line} {reason}" for line, reason in old.items()]
            continue
        failing = {o["line"]: o.get("message", "") for o in res["outcomes"] if not o["passed"]}
        if not failing:
            continue
        if "*" in old:
            lines.append(f"{name}:* {old['*']}")
            continue
        reasons = {line: old.get(line) or _guess_reason(msg) for line, msg in failing.items()}
        if name.startswith("simd_") and all(r == "SIMD not yet compiled"
                                            for r in reasons.values()):
            lines.append(f"{name}:* SIMD not yet compiled")
            continue
        lines += [f"{name}:{line} {reason}" for line, reason in sorted(reasons.items())]
    KNOWN_FAILURES.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _main(argv: list[str]) -> int:
    import argparse
    from concurrent.futures import ThreadPoolExecutor

    ap = argparse.ArgumentParser(description="Run the spec testsuite and print a table.")
    ap.add_argument("files", nargs="*", help="spec files (default: all)")
    ap.add_argument("--update", action="store_true", help="rewrite the known-failures file")
    ap.add_argument("-j", type=int, default=os.cpu_count() or 2, help="parallel processes")
    args = ap.parse_args(argv)
    files = [Path(f) for f in args.files] or WAST_FILES
    opt2 = {p.name for p in OPT2_FILES}
    jobs = [(p.name, p, OPT_LEVEL) for p in files]
    jobs += [(p.name + "@O2", p, "2") for p in files if p.name in opt2]
    with ThreadPoolExecutor(args.j) as pool:
        outs = pool.map(lambda job: run_file(job[1], opt_level=job[2]), jobs)
        results = dict(zip((job[0] for job in jobs), outs, strict=True))
    known = load_known_failures()
    total_p = total_f = unexpected_n = 0
    total_s = total_c = 0.0
    print(f"{'file':40} {'passed':>7} {'failed':>7} {'unexpected':>10} {'seconds':>8} "
          f"{'compile':>8}")
    for name, res in results.items():
        unexpected, now_passing = compare(name, res, known)
        if "@" not in name:
            total_p += res["passed"]
            total_f += res["failed"]
        total_s += res.get("seconds", 0.0)
        total_c += res.get("compile_seconds", 0.0)
        unexpected_n += len(unexpected)
        print(f"{name:40} {res['passed']:7} {res['failed']:7} {len(unexpected):10} "
              f"{res.get('seconds', 0):8.1f} {res.get('compile_seconds', 0):8.1f}")
        for u in unexpected[:5]:
            print("    unexpected: " + u)
        for u in now_passing[:5]:
            print("    now passes: " + u)
    print(f"total (opt level {OPT_LEVEL}, every file): {total_p} passed, {total_f} failed; "
          f"{unexpected_n} unexpected failures (including the @O2 runs)")
    print(f"scripts ran for {total_s:.1f} s in total (summed over processes), of which "
          f"{total_c:.1f} s ({100 * total_c / max(total_s, 1e-9):.0f} %) built modules "
          "(decode, validate, LLVM compile)")
    if args.update:
        _write_known(results, known)
        print(f"wrote {KNOWN_FAILURES}")
    return 0 if unexpected_n == 0 else 1


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
