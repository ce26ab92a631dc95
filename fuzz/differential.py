#!/usr/bin/env python3
"""Differential fuzzer: wasmlite against wasmtime-py 50 (the oracle).

Generate mode (default) runs modules from ``wasm-tools smith`` (WebAssembly 2.0
features, seed ``i`` -> the same module every time) under both runtimes, in persistent
child processes, and compares them call by call: imports defined with default values,
the instantiation (traps included), every exported function called with zero
arguments under fuel, results bit for bit, trap codes, the fuel left, and the final
contents of every exported (and imported) memory, table and global.  Mutate mode
(``--mode mutate``) corrupts modules (``wasm-tools mutate``, truncation, byte changes)
and checks that ``wasmlite.Module`` gives wasmtime-py's valid/invalid verdict and
raises nothing but ``WasmtimeError``.  A worker that dies or hangs is restarted and
the case is a crash/hang.  What is compared, and what is judged inconclusive, is
described in ``fuzz/README.md`` and :mod:`fuzz.compare`.

Usage::

    python fuzz/differential.py [--mode generate|mutate] [--cases N | --seconds T]
        [--seed-start S] [--opt-level 0|1|2|s]... [--bounds-checks guard|explicit]
        [-j N] [--out DIR] [--shrink] [--fuel N] [--timeout T] [--raw-nans]
    python fuzz/differential.py --replay FILE.wasm... [--opt-level ...] [--mode ...]

The last line printed is ``N passed, N failed`` followed by the inconclusive and
skipped counts by reason; the failures are listed above it, grouped by kind, with
their seeds and saved files (``--out``, default ``fuzz/failures/``).  Exit status 0
when nothing failed, 1 otherwise.
"""

from __future__ import annotations

import argparse
import os
import shlex
import signal
import socket
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fuzz import tools, wasmbin  # noqa: E402
from fuzz.compare import (  # noqa: E402
    Verdict,
    compare_run,
    compare_validate,
    format_outcome,
    one_sided_taint,
)
from fuzz.pool import Worker  # noqa: E402
from fuzz.reduce import reduce_lines  # noqa: E402

FUZZ_DIR = Path(__file__).resolve().parent
DEFAULT_OUT = FUZZ_DIR / "failures"
DEFAULT_FUEL = 1_000_000


@dataclass
class Options:
    """What a campaign runs; the command-line options, as fields."""

    mode: str = "generate"
    opt_levels: tuple[str, ...] = ("2",)
    bounds_checks: str = "guard"
    #: wasmlite's Config.strategy: "auto" (lazy, tiered), "cranelift" (eager) or
    #: "winch" (lazy, the baseline compiler first)
    strategy: str = "auto"
    seeds: range | list[int] | None = None
    seconds: float | None = None
    jobs: int = 1
    out: Path | None = DEFAULT_OUT
    shrink: bool = False
    shrink_per_kind: int = 2
    shrink_attempts: int = 300
    fuel: int = DEFAULT_FUEL
    timeout: float = 60.0
    raw_nans: bool = False
    smith_args: tuple[str, ...] = ()
    quiet: bool = False


@dataclass
class CaseResult:
    """One seed at one wasmlite opt level."""

    mode: str
    seed: int | str
    opt: str
    verdict: Verdict
    wasm: bytes | None = None
    how: str = ""
    oracle: dict | None = None
    cand: dict | None = None
    saved: Path | None = None
    shrunk: Path | None = None
    shrink_note: str = ""


@dataclass
class Summary:
    """The results of a campaign and its throughput."""

    results: list[CaseResult] = field(default_factory=list)
    modules: int = 0
    seconds: float = 0.0

    def by_status(self, status: str) -> list[CaseResult]:
        return [r for r in self.results if r.verdict.status == status]

    def last_line(self) -> str:
        """``N passed, N failed`` and the other counts by reason."""
        line = f"{len(self.by_status('pass'))} passed, {len(self.by_status('fail'))} failed"
        for status, word in (("inconclusive", "inconclusive"), ("skip", "skipped")):
            rs = self.by_status(status)
            if rs:
                reasons = Counter(r.verdict.kind for r in rs)
                line += (f", {len(rs)} {word} ("
                         + ", ".join(f"{k}: {n}" for k, n in sorted(reasons.items())) + ")")
        return line


# -- one case ---------------------------------------------------------------------------
class Slot:
    """The worker processes of one parallel lane: the oracle and one wasmlite per opt
    level."""

    def __init__(self, opts: Options):
        self.opts = opts
        self.oracle = Worker("wasmtime", {}, opts.timeout)
        self.wasmlite = {o: Worker("wasmlite", {"opt_level": o, "bounds_checks": opts.bounds_checks,
                                                "strategy": opts.strategy},
                                   opts.timeout) for o in opts.opt_levels}

    def close(self) -> None:
        self.oracle.close()
        for w in self.wasmlite.values():
            w.close()


def run_request(wasm: bytes, fuel: int) -> dict | Verdict:
    """The worker request that runs ``wasm``, or a skip verdict when the fuzzer cannot
    describe its imports."""
    try:
        iface = wasmbin.parse_interface(wasm)
    except wasmbin.Unsupported as e:
        return Verdict("skip", "unsupported module form", str(e))
    return {
        "op": "run", "wasm": wasm, "fuel": fuel,
        "provider": wasmbin.provider_module(iface.imports),
        "nimports": len(iface.imports),
        "exports": [(name, kind) for name, kind, _ in iface.exports if kind != 0],
        "funcs": [(name, (sig.params, sig.results)) for name, sig in iface.exported_funcs()],
        "func_names": sorted(set(iface.defined_func_exports().values())),
    }


def judge(slot: Slot, mode: str, wasm: bytes, opt: str, oracle: dict | None = None,
          nan_classes: bool = False) -> tuple[Verdict, dict | None, dict | None, dict | None]:
    """Run ``wasm`` under the oracle (unless its reply is given) and wasmlite at
    ``opt``; returns the verdict, the two replies it is based on, and the oracle's
    reply to the plain request (to pass back in for the next opt level)."""
    if mode == "generate":
        req = run_request(wasm, slot.opts.fuel)
        if isinstance(req, Verdict):
            return req, None, None, None
    else:
        req = {"op": "validate", "wasm": wasm}
    if oracle is None:
        oracle = slot.oracle.request(req)
    cand = slot.wasmlite[opt].request(req)
    if mode == "generate":
        verdict = compare_run(oracle, cand, nan_classes)
        if one_sided_taint(verdict):
            # only one side hit a limit: rerun both with 16x the fuel and wasmlite with
            # a big stack, to tell a limit from a runtime that runs on where it must not
            big = {**req, "fuel": req["fuel"] * 16, "big_stack": True}
            o2, c2 = slot.oracle.request(big), slot.wasmlite[opt].request(big)
            v2 = compare_run(o2, c2, nan_classes, escalated=True)
            if v2.status == "fail" or not one_sided_taint(v2):
                v2.detail += " [rerun with 16x fuel and a big wasmlite stack]"
                return v2, o2, c2, oracle
        return verdict, oracle, cand, oracle
    verdict = compare_validate(oracle, cand)
    if verdict.kind == "verdict mismatch":
        verdict = classify_verdict_mismatch(wasm, oracle, cand, verdict)
    return verdict, oracle, cand, oracle


def classify_verdict_mismatch(wasm: bytes, oracle: dict, cand: dict, verdict: Verdict) -> Verdict:
    """A verdict mismatch where wasmtime-py accepts a module only because of a feature
    it has no switch for (extended-const is on in wasmtime 50 and cannot be turned off
    from Python), or where ``wasm-tools validate --features=wasm2`` agrees with wasmlite,
    is inconclusive rather than a failure."""
    if oracle["verdict"] != "valid" or cand["verdict"] != "invalid":
        return verdict
    if tools.validate_wasm2(wasm) is None:
        return verdict
    if tools.validate_wasm2(wasm, "extended-const") is None:
        return Verdict("inconclusive", "extended-const (no wasmtime-py switch)", verdict.detail)
    return Verdict("inconclusive", "beyond wasm 2.0 per wasm-tools", verdict.detail)


def _override(base: tuple[str, ...], extra: tuple[str, ...]) -> tuple[str, ...]:
    """``base`` smith flags (``--flag value`` pairs) without the flags ``extra`` sets
    again (smith rejects a repeated flag), then ``extra``: ``--smith-args
    "--simd-enabled false"`` aims a campaign at scalar code."""
    given = {a for a in extra if a.startswith("--")}
    kept: list[str] = []
    i = 0
    while i < len(base):
        if base[i] in given:
            i += 2
            continue
        kept.append(base[i])
        i += 1
    return tuple(kept) + extra


def make_case(mode: str, seed: int, raw_nans: bool,
              smith_args: tuple[str, ...] = ()) -> tuple[bytes | None, str]:
    """The module of ``seed`` and how it was made (``None``: smith could not)."""
    if mode == "generate":
        how = "wasm-tools smith" + "".join(" " + a for a in smith_args)
        if raw_nans:
            how += " (NaNs not canonicalized)"
        return (tools.smith(seed, canonicalize_nans=not raw_nans,
                            flags=_override(tools.SMITH_WASM2, tuple(smith_args))), how)
    made = tools.mutate(seed)
    return (None, "") if made is None else made


# -- saving and shrinking ----------------------------------------------------------------
def case_name(r: CaseResult, bounds: str) -> str:
    return f"{r.mode}-seed{r.seed}-O{r.opt}-{bounds}"


def describe(r: CaseResult, bounds: str) -> str:
    """The text saved beside a failing case: what it is, both outcomes, how to rerun."""
    lines = [f"mode: {r.mode}", f"seed: {r.seed}", f"opt level: {r.opt}",
             f"bounds checks: {bounds}", f"verdict: {r.verdict.status} — {r.verdict.kind}",
             f"detail: {r.verdict.detail}"]
    if r.how:
        lines.append(f"made by: {r.how}")
    for who, o in (("wasmtime-py", r.oracle), ("wasmlite", r.cand)):
        lines.append(f"\n== {who} ==")
        lines += outcome_lines(o)
    return "\n".join(lines) + "\n"


def outcome_lines(o: dict | None) -> list[str]:
    if o is None:
        return ["(not run)"]
    if "process" in o:
        return [f"process {o['process']} {o.get('signal', '')}", o.get("stderr", "")]
    if "verdict" in o:
        return [f"verdict: {o['verdict']} {o.get('type', '')} {o.get('message', '')}",
                o.get("traceback", "")]
    if "internal" in o:
        return ["internal error:", o["internal"].get("traceback", "")]
    out = [f"compile: {format_outcome(o['compile'])}"]
    if "instantiate" in o:
        out.append(f"instantiate: {format_outcome(o['instantiate'])}")
    for c in o.get("calls", []):
        out.append(f"call {c['name']!r}: {format_outcome(c)}")
    for name, st in o.get("state", {}).items():
        out.append(f"{name!r}: {st}")
    return out


def save(r: CaseResult, out: Path, bounds: str) -> None:
    out.mkdir(parents=True, exist_ok=True)
    base = out / case_name(r, bounds)
    if r.wasm is not None:
        base.with_suffix(".wasm").write_bytes(r.wasm)
    base.with_suffix(".txt").write_text(describe(r, bounds))
    r.saved = base.with_suffix(".wasm")


def same_failure(slot: Slot, r: CaseResult, wasm: bytes, nan_classes: bool) -> bool:
    """Whether ``wasm`` fails like ``r`` (same kind, same opt level)."""
    v = judge(slot, r.mode, wasm, r.opt, nan_classes=nan_classes)[0]
    return v.status == "fail" and v.kind == r.verdict.kind


class ShrinkServer:
    """Answers ``fuzz/_predicate.py`` for one shrink: does this file still fail with
    ``kind`` at ``opt``?"""

    def __init__(self, slot: Slot, r: CaseResult, nan_classes: bool):
        self.slot, self.r, self.nan_classes = slot, r, nan_classes
        self.dir = tempfile.mkdtemp(prefix="wasmlite-shrink-")
        self.path = os.path.join(self.dir, "sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(self.path)
        self.sock.listen(4)
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()
        self.script = os.path.join(self.dir, "predicate.sh")
        with open(self.script, "w") as f:
            f.write(f'#!/bin/sh\nexec "{sys.executable}" -S "{FUZZ_DIR / "_predicate.py"}" '
                    f'"{self.path}" "$1"\n')
        os.chmod(self.script, 0o755)

    def interesting(self, wasm: bytes) -> bool:
        return same_failure(self.slot, self.r, wasm, self.nan_classes)

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                data = b""
                while not data.endswith(b"\n"):
                    chunk = conn.recv(4096)
                    if not chunk:
                        break
                    data += chunk
                try:
                    ok = self.interesting(Path(data.decode().strip()).read_bytes())
                except Exception:  # noqa: BLE001 - an unreadable attempt is uninteresting
                    ok = False
                try:
                    conn.sendall(b"1" if ok else b"0")
                except OSError:
                    pass

    def close(self) -> None:
        self.sock.close()
        for name in ("sock", "predicate.sh"):
            try:
                os.unlink(os.path.join(self.dir, name))
            except OSError:
                pass
        os.rmdir(self.dir)


def shrink(slot: Slot, r: CaseResult, opts: Options) -> None:
    """Shrink ``r.wasm`` with ``wasm-tools shrink``, keeping the failure kind, then
    delete lines of its text while it still fails so (:mod:`fuzz.reduce`); writes
    ``<name>.shrunk.wasm``/``.wat``/``.txt`` beside the saved case."""
    assert r.wasm is not None and r.saved is not None
    server = ShrinkServer(slot, r, opts.raw_nans)
    target = r.saved.with_suffix(".shrunk.wasm")
    try:
        res = tools.run_tool("shrink", server.script, str(r.saved), "-o", str(target),
                             "--attempts", str(opts.shrink_attempts),
                             timeout=max(600.0, opts.timeout * 20))
    except Exception as e:  # noqa: BLE001 - a shrink that times out is reported, not fatal
        res = None
        r.shrink_note = f"wasm-tools shrink failed: {e}"
    finally:
        server.close()
    if res is not None and (res.returncode != 0 or not target.exists()):
        r.shrink_note = ("wasm-tools shrink failed: "
                         + res.stderr.decode(errors="replace").strip()[-500:])
    small = target.read_bytes() if target.exists() and not r.shrink_note else r.wasm
    text, reduced = reduce_lines(tools.to_wat(small),
                                 lambda w: same_failure(slot, r, w, opts.raw_nans),
                                 max_attempts=opts.shrink_attempts)
    if reduced is not None:
        small = reduced
    elif r.shrink_note:
        return
    target.write_bytes(small)
    v, o, c, _ = judge(slot, r.mode, small, r.opt, nan_classes=opts.raw_nans)
    sr = CaseResult(r.mode, r.seed, r.opt, v, small, r.how + " (shrunk)", o, c)
    target.with_suffix(".wat").write_text(text if reduced is not None else tools.to_wat(small))
    target.with_suffix(".txt").write_text(describe(sr, opts.bounds_checks))
    r.shrunk = target


# -- the campaign -----------------------------------------------------------------------
class Campaign:
    """Runs ``opts`` on ``opts.jobs`` lanes (threads, each with its own workers)."""

    def __init__(self, opts: Options):
        self.opts = opts
        self.lock = threading.Lock()
        self.summary = Summary()
        self.seeds = iter(opts.seeds) if opts.seeds is not None else None
        self.next_seed = 0
        self.deadline = time.monotonic() + opts.seconds if opts.seconds else None
        self.errors: list[str] = []

    def take_seed(self) -> int | None:
        with self.lock:
            if self.deadline is not None and time.monotonic() >= self.deadline:
                return None
            if self.seeds is not None:
                return next(self.seeds, None)
            seed = self.next_seed
            self.next_seed += 1
            return seed

    def record(self, r: CaseResult) -> None:
        with self.lock:
            self.summary.results.append(r)
            status = r.verdict.status
            if status in ("pass", "skip"):
                # a long run keeps only what the report needs of the cases that passed
                r.wasm = r.oracle = r.cand = None
            if status in ("fail", "inconclusive"):
                if self.opts.out is not None:
                    out = self.opts.out if status == "fail" else self.opts.out / "inconclusive"
                    save(r, out, self.opts.bounds_checks)
                if not self.opts.quiet:
                    word = "FAIL" if status == "fail" else "inconclusive"
                    print(f"{word} {r.verdict.kind}: {r.mode} seed {r.seed} O{r.opt} "
                          f"-> {r.saved or '(not saved)'}", flush=True)

    def lane(self, slot: Slot) -> None:
        opts = self.opts
        while True:
            seed = self.take_seed()
            if seed is None:
                return
            wasm, how = make_case(opts.mode, seed, opts.raw_nans, opts.smith_args)
            with self.lock:
                self.summary.modules += 1
            if wasm is None:
                for opt in opts.opt_levels:
                    self.record(CaseResult(opts.mode, seed, opt,
                                           Verdict("skip", "no module from smith"), None, how))
                continue
            base = None
            for opt in opts.opt_levels:
                v, o, c, base = judge(slot, opts.mode, wasm, opt, base, opts.raw_nans)
                self.record(CaseResult(opts.mode, seed, opt, v, wasm, how, o, c))

    def _lanes(self, target: Any, items: list | None = None) -> None:
        slots = [Slot(self.opts) for _ in range(self.opts.jobs)]
        threads = []
        for i, slot in enumerate(slots):
            args: tuple = (slot,) if items is None else (slot, items[i::len(slots)])
            t = threading.Thread(target=self._guard, args=(target, args), daemon=True)
            t.start()
            threads.append(t)
        try:
            for t in threads:
                t.join()
        finally:
            for slot in slots:
                slot.close()

    def _guard(self, target: Any, args: tuple) -> None:
        import traceback

        try:
            target(*args)
        except Exception:  # noqa: BLE001 - reported after the run
            with self.lock:
                self.errors.append(traceback.format_exc())

    def shrink_lane(self, slot: Slot, items: list[CaseResult]) -> None:
        for r in items:
            shrink(slot, r, self.opts)
            if not self.opts.quiet:
                print(f"shrunk {case_name(r, self.opts.bounds_checks)}: "
                      f"{r.shrunk or r.shrink_note}", flush=True)

    def run(self) -> Summary:
        start = time.monotonic()
        self._lanes(self.lane)
        self.summary.seconds = time.monotonic() - start
        if self.opts.shrink and self.opts.out is not None:
            picked: list[CaseResult] = []
            per_kind: Counter = Counter()
            for r in sorted(self.summary.by_status("fail"), key=lambda r: (str(r.seed), r.opt)):
                if per_kind[r.verdict.kind] < self.opts.shrink_per_kind and r.saved:
                    per_kind[r.verdict.kind] += 1
                    picked.append(r)
            if picked:
                self._lanes(self.shrink_lane, picked)
        return self.summary


def report(summary: Summary, opts: Options) -> str:
    """The report: failures grouped by kind (seed and file each), throughput, last line."""
    lines = []
    groups: dict[str, list[CaseResult]] = defaultdict(list)
    for r in summary.by_status("fail"):
        groups[r.verdict.kind].append(r)
    if groups:
        lines.append("Failures by kind:")
        for kind, rs in sorted(groups.items(), key=lambda kv: -len(kv[1])):
            lines.append(f"  {kind}: {len(rs)}")
            for r in sorted(rs, key=lambda r: (str(r.seed), r.opt)):
                extra = f" (shrunk: {r.shrunk})" if r.shrunk else ""
                lines.append(f"    seed {r.seed} O{r.opt}: {r.saved or '(not saved)'}{extra}")
    rate = summary.modules / summary.seconds if summary.seconds else 0.0
    lines.append(f"{summary.modules} modules in {summary.seconds:.1f} s ({rate:.2f} modules/s, "
                 f"{opts.jobs} jobs, mode {opts.mode}, opt levels {','.join(opts.opt_levels)}, "
                 f"bounds checks {opts.bounds_checks})")
    lines.append(summary.last_line())
    return "\n".join(lines)


def replay(files: list[str], opts: Options) -> int:
    """Run saved ``.wasm`` files and print both outcomes and the verdict."""
    slot = Slot(opts)
    failed = 0
    try:
        for path in files:
            wasm = Path(path).read_bytes()
            for opt in opts.opt_levels:
                v, o, c, _ = judge(slot, opts.mode, wasm, opt, nan_classes=opts.raw_nans)
                r = CaseResult(opts.mode, path, opt, v, wasm, "", o, c)
                print(describe(r, opts.bounds_checks))
                failed += v.status == "fail"
    finally:
        slot.close()
    return 1 if failed else 0


def parse_args(argv: list[str] | None) -> tuple[Options, argparse.Namespace]:
    p = argparse.ArgumentParser(
        prog="fuzz/differential.py",
        description="Differential fuzzing of wasmlite against wasmtime-py (see fuzz/README.md).")
    p.add_argument("--mode", choices=("generate", "mutate"), default="generate",
                   help="generate: run smith modules and compare; mutate: compare the "
                        "valid/invalid verdicts of corrupted modules (default generate)")
    p.add_argument("--opt-level", action="append", choices=("0", "1", "2", "s"),
                   help="wasmlite Config.opt_level; repeat for several (default 2)")
    p.add_argument("--bounds-checks", choices=("guard", "explicit"), default="guard",
                   help="guard: Config.signals_based_traps = True (default); explicit: False")
    p.add_argument("--strategy", choices=("auto", "cranelift", "winch"), default="auto",
                   help="wasmlite's Config.strategy: auto = functions compiled on first "
                        "call, tiered (default); cranelift = all compiled up front; "
                        "winch = on first call by the baseline compiler, tiered")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--cases", type=int, help="number of seeds (modules) to run (default 100)")
    g.add_argument("--seconds", type=float, help="run new seeds until this many seconds passed")
    p.add_argument("--seed-start", type=int, default=0, help="first seed (default 0)")
    p.add_argument("--seed", type=int, action="append", dest="seed_list", metavar="SEED",
                   help="run just this seed (repeatable; instead of --cases/--seconds)")
    p.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1,
                   help="parallel lanes, each with its own worker processes (default: all cores)")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT,
                   help=f"where failing cases are saved (default {DEFAULT_OUT})")
    p.add_argument("--shrink", action="store_true",
                   help="shrink failing cases with wasm-tools shrink (the first "
                        "--shrink-per-kind of each kind)")
    p.add_argument("--shrink-per-kind", type=int, default=2)
    p.add_argument("--shrink-attempts", type=int, default=300)
    p.add_argument("--fuel", type=int, default=DEFAULT_FUEL,
                   help=f"fuel for the instantiation and for each call (default {DEFAULT_FUEL})")
    p.add_argument("--timeout", type=float, default=60.0,
                   help="seconds one runtime may take for one module before it is a hang "
                        "(default 60)")
    p.add_argument("--raw-nans", action="store_true",
                   help="do not canonicalize NaNs in generated modules; compare float "
                        "results by NaN class instead of bits")
    p.add_argument("--smith-args", default="", metavar="ARGS",
                   help="extra wasm-tools smith flags for generate mode, to aim a campaign "
                        "(e.g. \"--max-memory32-bytes 0 --min-memories 1\"); seeds then "
                        "name other modules")
    p.add_argument("--replay", nargs="+", metavar="FILE",
                   help="run these .wasm files instead of seeds and print both outcomes")
    p.add_argument("--stress-tiers", action="store_true",
                   help="make functions and loops hot after a few ticks "
                        "(WASMLITE_STRESS_TIERS=1): the optimizing tier and on-stack "
                        "replacement run in the middle of nearly every call")
    p.add_argument("-q", "--quiet", action="store_true", help="no line per failure while running")
    a = p.parse_args(argv)
    if a.stress_tiers:
        os.environ["WASMLITE_STRESS_TIERS"] = "1"   # the workers inherit it
    cases = a.cases if a.cases is not None else (None if a.seconds else 100)
    opts = Options(
        mode=a.mode, opt_levels=tuple(dict.fromkeys(a.opt_level or ["2"])),
        bounds_checks=a.bounds_checks, strategy=a.strategy,
        seeds=(a.seed_list if a.seed_list else
               range(a.seed_start, a.seed_start + cases) if cases is not None else None),
        seconds=a.seconds, jobs=max(1, a.jobs), out=a.out, shrink=a.shrink,
        shrink_per_kind=a.shrink_per_kind, shrink_attempts=a.shrink_attempts, fuel=a.fuel,
        timeout=a.timeout, raw_nans=a.raw_nans, quiet=a.quiet,
        smith_args=tuple(shlex.split(a.smith_args)))
    return opts, a


def main(argv: list[str] | None = None) -> int:
    opts, a = parse_args(argv)
    if a.replay:
        return replay(a.replay, opts)
    if opts.seeds is None:
        # --seconds: seeds from --seed-start on, as many as time allows
        opts.seeds = range(a.seed_start, 1 << 62)
    campaign = Campaign(opts)
    # SIGTERM (a batch system's stop) ends the campaign like Ctrl-C: with the report of
    # what ran so far
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    started = time.monotonic()
    try:
        summary = campaign.run()
    except KeyboardInterrupt:
        summary = campaign.summary
        summary.seconds = time.monotonic() - started
        print("interrupted: the report covers the modules that finished", file=sys.stderr)
    for err in campaign.errors:
        print("fuzzer error:\n" + err, file=sys.stderr)
    print(report(summary, opts))
    return 1 if summary.by_status("fail") or campaign.errors else 0


if __name__ == "__main__":
    sys.exit(main())
