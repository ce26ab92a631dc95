"""The sandbox: nothing a module does gets out of it, and nothing it does crashes.

Each section tries to escape and compares with wasmtime-py 50 (the ``wasmtime``
module) wherever the behaviour is defined:

1. **Out-of-bounds memory accesses** at every width, at the offsets around every
   boundary that matters, in both bounds-check modes and at every opt level.
2. **``memory.grow`` while wasm reads** near the end of memory.
3. **Table and indirect-call bounds.**
4. **WASI escapes** from a preopened directory.
5. **Stack exhaustion** at every depth, with host <-> guest recursion.

Sections 1, 2, 3 and 5 run wasmlite in child processes (:func:`run_child`; section 1
through :func:`oob_child`), so that a crash fails tests instead of killing pytest; only
the WASI guest (section 4) and the check of call_indirect's trap messages run wasmlite
in the pytest process (no memory edge, no deep stack).  Known failures: the guard-mode cases of section 1 listed in
:data:`GUARD_XFAIL` (strict xfails, issue 8).

Cost (2 cores): section 1 compiles one module per opt level and mode (0.6 s at ``-O 0``
to 3 s at ``-O 2`` with explicit checks) and makes 12,786 calls in each; it
dominates the file, which takes about 75 s of CPU time in all.
"""

from __future__ import annotations

import fcntl
import json
import os
import random
import re
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import wasmtime

import wasmlite as wl

OPT_LEVELS = ("0", "1", "2", "s")
#: ``Config.signals_based_traps``: guard pages (True) or explicit bounds checks (False)
GUARD_MODES = (True, False)
PAGE = 65536
U32 = 1 << 32


def trap_text(trap: BaseException) -> str:
    """The ``wasm trap: ...`` line of a trap's message (both runtimes word it so; Wasmtime
    adds a "memory fault at ..." line in guard mode, which is left out)."""
    m = re.search(r"wasm trap: (.*)", str(trap))
    return m.group(1).strip() if m else str(trap)


TESTS_DIR = Path(__file__).resolve().parent
#: seconds a child process may run before it counts as hung
CHILD_TIMEOUT = float(os.environ.get("WASMLITE_TEST_TIMEOUT", "600"))


def run_child(code: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter (``python -c``), where this file is importable
    as ``test_sandbox``, so that a crash kills the child and not pytest.  Returns the
    completed process (text stdout/stderr); a hang past ``timeout`` seconds fails the
    calling test."""
    prelude = f"import sys\nsys.path.insert(0, {str(TESTS_DIR)!r})\n"
    try:
        return subprocess.run([sys.executable, "-c", prelude + code], capture_output=True,
                              text=True, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"child process hung for {timeout} s; stdout: {e.stdout!r}")


def crash_text(r: subprocess.CompletedProcess[str]) -> str:
    """A description of how a child ended, for assertion messages."""
    return f"return code {r.returncode}\nstdout: {r.stdout[-2000:]}\nstderr: {r.stderr[-3000:]}"


def engine(opt: str, guard: bool) -> wl.Engine:
    config = wl.Config()
    config.opt_level = opt
    config.signals_based_traps = guard
    return wl.Engine(config)


# ==========================================================================================
# 1. Out-of-bounds memory accesses
# ==========================================================================================
#
# One module per (opt level, bounds-check mode) holds a function for every (access,
# form); it imports its memory, so the same code runs against memories of several
# layouts.  wasmtime-py runs the same module against the same layouts and gives the
# expected outcome of every call (value or trap, the globals set before and after the
# access, the bytes of memory around the boundaries); a Python model of the spec's
# bounds check (trap iff ``addr + offset + size > length``) checks the oracle.


@dataclass(frozen=True)
class Access:
    """One memory instruction: ``op`` (its WAT name), ``size`` (bytes it accesses),
    ``kind`` (the value type it loads or stores), ``lane`` (for load/store lane)."""

    op: str
    size: int
    kind: str
    store: bool = False
    lane: int | None = None
    #: "only partly used": WAT that turns the loaded value (on the stack) into one i64,
    #: reading only part of it (a part LLVM may narrow the load to, or know statically)
    part: str = ""

    @property
    def key(self) -> str:
        return self.op.replace(".", "_")

    def instr(self, offset: int) -> str:
        """The instruction with memarg ``offset``; the address is on the stack (and, for
        lane forms and stores, the vector or value is pushed here)."""
        off = f" offset={offset}" if offset else ""
        if self.lane is not None:
            vec = "(v128.const i8x16 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16)"
            return f"{vec} {self.op}{off} {self.lane}"
        if self.store:
            return f"{STORE_VALUE[self.kind]} {self.op}{off}"
        return f"{self.op}{off}"


STORE_VALUE = {
    "i32": "(i32.const 0x11223344)",
    "i64": "(i64.const 0x1122334455667788)",
    "f32": "(f32.reinterpret_i32 (i32.const 0x11223344))",
    "f64": "(f64.reinterpret_i64 (i64.const 0x1122334455667788))",
    "v128": "(v128.const i8x16 0xa1 0xa2 0xa3 0xa4 0xa5 0xa6 0xa7 0xa8 "
            "0xa9 0xaa 0xab 0xac 0xad 0xae 0xaf 0xb0)",
}

#: the loaded value (on the stack) as two i64s, all of it used
TO_PAIR = {
    "i32": "i64.extend_i32_u (i64.const 0)",
    "i64": "(i64.const 0)",
    "f32": "i32.reinterpret_f32 i64.extend_i32_u (i64.const 0)",
    "f64": "i64.reinterpret_f64 (i64.const 0)",
    "v128": "local.tee $v i64x2.extract_lane 0 (i64x2.extract_lane 1 (local.get $v))",
}
#: the loaded value as one i64, all of it used
TO_I64 = {
    "i32": "i64.extend_i32_u",
    "i64": "",
    "f32": "i32.reinterpret_f32 i64.extend_i32_u",
    "f64": "i64.reinterpret_f64",
    "v128": "local.tee $v i64x2.extract_lane 0 (i64x2.extract_lane 1 (local.get $v)) i64.xor",
}

_LOW_BYTE_I32 = "(i32.const 0xff) i32.and i64.extend_i32_u"


def _loads() -> list[Access]:
    out = []
    for op, size in (("i32.load", 4), ("i32.load8_s", 1), ("i32.load8_u", 1),
                     ("i32.load16_s", 2), ("i32.load16_u", 2)):
        out.append(Access(op, size, "i32", part=_LOW_BYTE_I32))
    for op, size in (("i64.load", 8), ("i64.load8_s", 1), ("i64.load8_u", 1),
                     ("i64.load16_s", 2), ("i64.load16_u", 2), ("i64.load32_s", 4),
                     ("i64.load32_u", 4)):
        out.append(Access(op, size, "i64", part="i32.wrap_i64 " + _LOW_BYTE_I32))
    out.append(Access("f32.load", 4, "f32", part="i32.reinterpret_f32 " + _LOW_BYTE_I32))
    out.append(Access("f64.load", 8, "f64",
                      part="i64.reinterpret_f64 i32.wrap_i64 " + _LOW_BYTE_I32))
    byte0 = "i8x16.extract_lane_u 0 i64.extend_i32_u"
    out.append(Access("v128.load", 16, "v128", part=byte0))
    # extending loads: the _u forms read a lane half that is statically zero
    for op, part in (("v128.load8x8_s", "i8x16.extract_lane_u 1"),
                     ("v128.load8x8_u", "i8x16.extract_lane_u 1"),
                     ("v128.load16x4_s", "i16x8.extract_lane_u 1"),
                     ("v128.load16x4_u", "i16x8.extract_lane_u 1"),
                     ("v128.load32x2_s", "i32x4.extract_lane 3"),
                     ("v128.load32x2_u", "i32x4.extract_lane 3")):
        out.append(Access(op, 8, "v128", part=part + " i64.extend_i32_u"))
    for op, size in (("v128.load8_splat", 1), ("v128.load16_splat", 2),
                     ("v128.load32_splat", 4), ("v128.load64_splat", 8)):
        out.append(Access(op, size, "v128", part=byte0))
    # the zero-extending loads: a lane that is statically zero
    out.append(Access("v128.load32_zero", 4, "v128", part="i32x4.extract_lane 1 i64.extend_i32_u"))
    out.append(Access("v128.load64_zero", 8, "v128", part="i64x2.extract_lane 1"))
    # lane loads: a lane the load does not replace (known from the v128.const)
    for op, size, lane in (("v128.load8_lane", 1, 15), ("v128.load16_lane", 2, 7),
                           ("v128.load32_lane", 4, 3), ("v128.load64_lane", 8, 1)):
        out.append(Access(op, size, "v128", lane=lane, part="i64x2.extract_lane 0"))
    return out


def _stores() -> list[Access]:
    out = []
    for op, size, kind in (("i32.store", 4, "i32"), ("i32.store8", 1, "i32"),
                           ("i32.store16", 2, "i32"), ("i64.store", 8, "i64"),
                           ("i64.store8", 1, "i64"), ("i64.store16", 2, "i64"),
                           ("i64.store32", 4, "i64"), ("f32.store", 4, "f32"),
                           ("f64.store", 8, "f64"), ("v128.store", 16, "v128")):
        out.append(Access(op, size, kind, store=True))
    for op, size, lane in (("v128.store8_lane", 1, 15), ("v128.store16_lane", 2, 7),
                           ("v128.store32_lane", 4, 3), ("v128.store64_lane", 8, 1)):
        out.append(Access(op, size, "v128", store=True, lane=lane))
    return out


LOADS = _loads()
STORES = _stores()
ACCESSES = LOADS + STORES
ACCESS_BY_KEY = {acc.key: acc for acc in ACCESSES}

#: How a load's value is used.  Every form sets global $before before the access and
#: global $after after it, and returns two i64s.
LOAD_FORMS = {
    "use": "{load} {to_pair}",
    "drop": "{load} drop (i64.const 0) (i64.const 0)",
    "local": "{load} local.set ${kind} (i64.const 0) (i64.const 0)",
    "mask0": "{load} {to_i64} (i64.const 0) i64.and (i64.const 0)",
    "part": "{load} {part} (i64.const 0)",
    "br": "(block {load} br 0) (i64.const 0) (i64.const 0)",
    # the access comes before another trap (issue 8: it must not move past it)
    "race": "{load} local.set ${kind} (if (global.get $one) (then unreachable)) "
            "local.get ${kind} {to_pair}",
    "loop": "(loop $l {load} {to_i64} local.get $acc i64.add local.set $acc "
            "(br_if $l (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) "
            "(i32.const 3)))) local.get $acc (i64.const 0)",
    # a byte store to the same address first: it happens even when the load then traps
    "prior": "(i32.store8 (local.get $a) (i32.const 0x5a)) {load} {to_pair}",
}
STORE_FORMS = {
    "use": "{access}",
    "prior": "(i32.store8 (local.get $a) (i32.const 0x5a)) {access}",
    "race": "{access} (if (global.get $one) (then unreachable))",
}
#: memarg offsets of the "off" functions (use form, address from the caller)
OFFSETS = (1, PAGE, 0x7FFFFFFF, 0x80000000, 0xFFFFFFF0, 0xFFFFFFFF)
#: constant addresses of the "const" functions: the last valid byte(s), straddling and
#: first invalid byte of a one-page memory, and the top of the 32-bit range (offset
#: 0xFFFFFFFF on top: effective address ~8 GiB, the end of a guard-page reservation)
CONSTS = ((PAGE - 16, 0), (PAGE - 1, 0), (PAGE, 0), (0xFFFFFFFF, 0), (0xFFFFFFFF, 0xFFFFFFFF))


def _expand(acc: Access, form: str, offset: int = 0, const: int | None = None) -> str:
    addr = "(local.get $a)" if const is None else f"(i32.const {const})"
    if acc.store:
        return STORE_FORMS[form].format(access=f"{addr} {acc.instr(offset)}") + \
            " (i64.const 0) (i64.const 0)"
    return LOAD_FORMS[form].format(load=f"{addr} {acc.instr(offset)}", kind=acc.kind,
                                   to_pair=TO_PAIR[acc.kind], to_i64=TO_I64[acc.kind],
                                   part=acc.part)


def variants(acc: Access) -> dict[str, str]:
    """The variants of an access, by name: each form (address from the caller, offset
    0), each memarg offset (``o<hex>``, use form) and each constant address (``c<i>``,
    use form, and for loads ``c<i>drop``)."""
    forms = STORE_FORMS if acc.store else LOAD_FORMS
    out = {form: _expand(acc, form) for form in forms}
    for off in OFFSETS:
        out[f"o{off:x}"] = _expand(acc, "use", offset=off)
    for i, (const, off) in enumerate(CONSTS):
        out[f"c{i}"] = _expand(acc, "use", offset=off, const=const)
        if not acc.store:
            out[f"c{i}drop"] = _expand(acc, "drop", offset=off, const=const)
    return out


def _access_func(acc: Access) -> str:
    """``(func (export "<key>") (param $a i32) (param $sel i32) (result i64 i64))``: sets
    global $before, runs variant number ``$sel`` (``br_table``), sets global $after.

    One function per access rather than per variant: LLVM's cost is mostly per function
    (about 7 ms each at opt level 2), so this keeps the compile time down."""
    arms = list(variants(acc).values())
    n = len(arms)
    lines = [f'(func (export "{acc.key}") (param $a i32) (param $sel i32) (result i64 i64)',
             "  (local $v v128) (local $i i32) (local $acc i64) (local $i32 i32) (local $i64 i64)"
             " (local $f32 f32) (local $f64 f64) (local $v128 v128)",
             "  (global.set $before (i32.const 1))", "  block $default"]
    lines += [f"  block $b{k}" for k in reversed(range(n))]
    lines.append("  local.get $sel br_table " + " ".join(f"$b{k}" for k in range(n))
                 + " $default")
    for arm in arms:
        lines.append(f"  end {arm} (global.set $after (i32.const 1)) return")
    lines.append("  end unreachable)")
    return "\n".join(lines)


def oob_wat() -> str:
    """The module of section 1: one function per access (:func:`_access_func`), the
    globals ``before``, ``after`` and ``one`` (a 1 LLVM cannot see), and ``grow``
    (memory.grow).  The memory is imported."""
    lines = ['(module (import "env" "mem" (memory 0))',
             '(global $before (export "before") (mut i32) (i32.const 0))',
             '(global $after (export "after") (mut i32) (i32.const 0))',
             '(global $one (export "one") (mut i32) (i32.const 1))',
             '(func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))']
    lines += [_access_func(acc) for acc in ACCESSES]
    lines.append(")")
    return "\n".join(lines)


@dataclass(frozen=True)
class Layout:
    """A memory the module of section 1 is instantiated with: ``Limits(minimum,
    maximum)`` pages, then grown by ``grow`` pages with wasm's ``memory.grow``."""

    name: str
    minimum: int
    maximum: int | None
    grow: int = 0

    @property
    def length(self) -> int:
        return (self.minimum + self.grow) * PAGE

    @property
    def reservation(self) -> int:
        """The end of the explicit-checks reservation (docs/architecture.md "Memories":
        the memory's maximum, at least one 4 KiB host page; guard mode reserves 8 GiB +
        64 KiB whatever it is, reached by a memarg offset of 0xFFFFFFFF)."""
        return max(U32 if self.maximum is None else self.maximum * PAGE, 4096)

    def windows(self) -> list[tuple[int, int]]:
        """``[start, end)`` ranges holding every valid address the calls touch."""
        n = self.length
        out = [(0, min(32, n))] if n else []
        if n > 32:
            out.append((n - 32, n))
        if self.grow and self.minimum:
            out.append((self.minimum * PAGE - 16, self.minimum * PAGE + 16))
        return out


LAYOUTS = {
    lay.name: lay for lay in (
        Layout("1p", 1, None),      # the usual memory: one page, no maximum
        Layout("0p", 0, None),      # a 0-page memory: every access is out of bounds
        Layout("0p0", 0, 0),        # ... whose maximum is 0 (explicit: a 4 KiB reservation)
        Layout("grown", 1, 4, 1),   # after memory.grow: 2 of 4 pages
        Layout("grown0", 0, 1, 1),  # grown from 0 to its maximum, 1 page
        Layout("1p1", 1, 1),        # explicit checks: the reservation ends at the length
    )
}
#: the layouts every variant of every access runs against; the others run the ``use``
#: and ``drop`` forms and the offset and constant-address variants
MAIN_LAYOUT = "1p"
SIDE_FORMS = ("use", "drop")


def pattern(start: int, end: int) -> bytes:
    """The initial bytes of memory ``[start, end)`` (none is 0)."""
    return bytes((x * 37 + 11) & 0xFF or 1 for x in range(start, end))


def _targets(lay: Layout, size: int, main: bool) -> list[int]:
    """Effective addresses around the boundaries of ``lay`` for an access of ``size``."""
    n, r = lay.length, lay.reservation
    out = [n - size, n - size + 1, n, r - size + 1, r, U32 - 1]
    if main:
        out += [0, 1, n - 1, 0x80000000, U32 - size]
    return out


def calls_of(acc: Access, group: str) -> list[tuple[str, str, int]]:
    """The calls of one test: ``(layout, variant, address)``.  ``group`` is a form name,
    ``"offsets"`` or ``"consts"``."""
    names = list(variants(acc))
    out: list[tuple[str, str, int]] = []
    for lay in LAYOUTS.values():
        main = lay.name == MAIN_LAYOUT
        if group == "consts":
            out += [(lay.name, v, 0) for v in names if v.startswith("c")]
            continue
        if group == "offsets":
            for v in names:
                if v.startswith("o"):
                    off = int(v[1:], 16)
                    eas = _targets(lay, acc.size, main=False) + [off, off + U32 - 1]
                    out += [(lay.name, v, ea - off) for ea in eas if 0 <= ea - off < U32]
            continue
        if main or group in SIDE_FORMS:
            out += [(lay.name, group, a) for a in _targets(lay, acc.size, main)
                    if 0 <= a < U32]
    return list(dict.fromkeys(out))  # dedupe, keep order


def effective(acc: Access, variant: str, a: int) -> int:
    """The effective address ``addr + memarg offset`` (spec §4.4.7) of the access."""
    if variant.startswith("o"):
        return a + int(variant[1:], 16)
    if variant.startswith("c"):
        const, off = CONSTS[int(variant[1:].removesuffix("drop"))]
        return const + off
    return a


class OobRun:
    """One runtime (wasmlite at one opt level and mode, or wasmtime-py) with an
    instance of :func:`oob_wat` per layout."""

    def __init__(self, mod: Any, eng: Any, module: Any):
        self.mod = mod
        self.inst: dict[str, tuple[Any, Any, dict]] = {}
        for lay in LAYOUTS.values():
            store = mod.Store(eng)
            mem = mod.Memory(store, mod.MemoryType(mod.Limits(lay.minimum, lay.maximum)))
            exports = mod.Instance(store, module, [mem]).exports(store)
            ex = {name: exports[name] for name in
                  ["before", "after", "grow"] + [acc.key for acc in ACCESSES]}
            if lay.grow:
                assert ex["grow"](store, lay.grow) == lay.minimum
            assert mem.data_len(store) == lay.length
            self.inst[lay.name] = (store, mem, ex)
            self.reset(lay)

    def reset(self, lay: Layout) -> None:
        store, mem, ex = self.inst[lay.name]
        for start, end in lay.windows():
            mem.write(store, pattern(start, end), start)
        ex["before"].set_value(store, 0)
        ex["after"].set_value(store, 0)

    def call(self, acc: Access, lay: Layout, variant: str, a: int) -> tuple:
        """``(outcome, before, after, windows)``: outcome ``("ok", v0, v1)`` or
        ``("trap", trap code name, message)``; windows the bytes of
        :meth:`Layout.windows` after the call (``None`` when nothing can write)."""
        store, mem, ex = self.inst[lay.name]
        try:
            v = ex[acc.key](store, a, VARIANT_INDEX[acc.key][variant])
            outcome: tuple = ("ok", *v)
        except self.mod.Trap as t:
            outcome = ("trap", t.trap_code.name, trap_text(t))
        obs = (outcome, ex["before"].value(store), ex["after"].value(store))
        writes = acc.store or variant == "prior"
        windows = tuple(bytes(mem.read(store, s, e)) for s, e in lay.windows()) if writes else None
        self.reset(lay) if writes else (ex["before"].set_value(store, 0),
                                        ex["after"].set_value(store, 0))
        return (*obs, windows)


#: variant name -> its ``$sel`` in the access's function
VARIANT_INDEX = {acc.key: {v: i for i, v in enumerate(variants(acc))} for acc in ACCESSES}


def groups_of(acc: Access) -> tuple[str, ...]:
    """The test groups of an access: its forms, ``offsets`` and ``consts``."""
    return (*(STORE_FORMS if acc.store else LOAD_FORMS), "offsets", "consts")


# -- running the calls in child processes ----------------------------------------------------
#
# A crash (the SIGSEGV) must fail tests, not kill pytest: each runtime runs all
# its calls in a child process that writes one JSON line per group of calls.  A child
# that dies is restarted without the group it died in, which is recorded as crashed.
# The results are shared between pytest-xdist workers through files under a lock.

RUNTIMES = ["wasmtime"] + [f"{opt}-{'guard' if g else 'explicit'}"
                           for opt in OPT_LEVELS for g in GUARD_MODES]


def _encode(obs: tuple) -> list:
    outcome, before, after, windows = obs
    return [list(outcome), before, after, None if windows is None else [w.hex() for w in windows]]


def oob_child(runtime: str, out: str, skip: list[list[str]]) -> None:
    """Child process body: run every group of calls of section 1 under ``runtime``
    (``"wasmtime"`` or ``"<opt>-guard"``/``"<opt>-explicit"``) and append ``["start",
    key, group]`` then ``["done", key, group, observations]`` lines to ``out``; groups in
    ``skip`` (``[key, group]`` pairs) are left out."""
    if runtime == "wasmtime":
        mod, eng = wasmtime, wasmtime.Engine()
    else:
        opt, mode = runtime.split("-")
        mod, eng = wl, engine(opt, mode == "guard")
    run = OobRun(mod, eng, mod.Module(eng, oob_wat()))
    done = {tuple(x) for x in skip}
    with open(out, "a") as f:
        for acc in ACCESSES:
            for group in groups_of(acc):
                if (acc.key, group) in done:
                    continue
                f.write(json.dumps(["start", acc.key, group]) + "\n")
                f.flush()
                obs = [_encode(run.call(acc, LAYOUTS[lay], v, a))
                       for lay, v, a in calls_of(acc, group)]
                f.write(json.dumps(["done", acc.key, group, obs]) + "\n")
                f.flush()


def _run_runtime(runtime: str, out: Path, limit: threading.Semaphore) -> None:
    """Run :func:`oob_child` for ``runtime`` until every group is done or crashed;
    a crashed group is written as ``["crashed", key, group, description]``."""
    out.unlink(missing_ok=True)
    code = ("import sys, json, test_sandbox as t\n"
            "t.oob_child(sys.argv[1], sys.argv[2], json.loads(sys.argv[3]))")
    for _attempt in range(50):
        lines = [json.loads(x) for x in out.read_text().splitlines()] if out.exists() else []
        finished = [x[1:3] for x in lines if x[0] in ("done", "crashed")]
        with limit:
            try:
                r = subprocess.run([sys.executable, "-c", code, runtime, str(out),
                                    json.dumps(finished)], capture_output=True, text=True,
                                   timeout=CHILD_TIMEOUT, cwd=TESTS_DIR)
                status = r.returncode
                detail = r.stderr[-1500:]
            except subprocess.TimeoutExpired:
                status, detail = "hung", f"no result within {CHILD_TIMEOUT} s"
        lines = [json.loads(x) for x in out.read_text().splitlines()] if out.exists() else []
        ended = {tuple(x[1:3]) for x in lines if x[0] in ("done", "crashed")}
        started = [tuple(x[1:3]) for x in lines if x[0] == "start"]
        open_groups = [g for g in started if g not in ended]
        if status == 0 and not open_groups:
            return
        with out.open("a") as f:
            if open_groups:
                key, group = open_groups[-1]
                f.write(json.dumps(["crashed", key, group,
                                    f"child ended with {status}: {detail}"]) + "\n")
            else:  # died before its first group (compilation, instantiation)
                for acc in ACCESSES:
                    for group in groups_of(acc):
                        if (acc.key, group) not in ended:
                            f.write(json.dumps(["crashed", acc.key, group,
                                                f"child ended with {status} before "
                                                f"running: {detail}"]) + "\n")
                return


_OOB_CACHE: dict[str, dict[tuple[str, str], Any]] = {}


def _results_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.getbasetemp()
    # under pytest-xdist the parent of each worker's basetemp is the session's directory
    return (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "sandbox-oob"


@pytest.fixture(scope="session")
def oob_results(tmp_path_factory: pytest.TempPathFactory):
    """``get(runtime)`` -> ``{(key, group): observations, or a crash description}``.

    The first use runs every runtime's child (a few at a time); other xdist workers wait
    on the lock and read the files."""
    root = _results_dir(tmp_path_factory)
    root.mkdir(parents=True, exist_ok=True)
    with open(root / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (root / "complete").exists():
            limit = threading.Semaphore(max(2, os.cpu_count() or 2))
            threads = [threading.Thread(target=_run_runtime,
                                        args=(rt, root / f"{rt}.jsonl", limit))
                       for rt in RUNTIMES]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            (root / "complete").write_text("")
        fcntl.flock(lock, fcntl.LOCK_UN)

    def get(runtime: str) -> dict[tuple[str, str], Any]:
        if runtime not in _OOB_CACHE:
            res: dict[tuple[str, str], Any] = {}
            for line in (root / f"{runtime}.jsonl").read_text().splitlines():
                x = json.loads(line)
                if x[0] == "done":
                    res[(x[1], x[2])] = x[3]
                elif x[0] == "crashed":
                    res[(x[1], x[2])] = "CRASHED: " + x[3]
            _OOB_CACHE[runtime] = res
        return _OOB_CACHE[runtime]

    return get


def model_check(acc: Access, lay: Layout, variant: str, a: int, obs: list) -> str | None:
    """What the spec says about one observed call, checked against wasmtime-py's run
    (so that the expectations wasmlite is compared with are the spec's): ``None`` or
    the first disagreement."""
    outcome, before, after, windows = obs
    oob = effective(acc, variant, a) + acc.size > lay.length
    form = variant if variant in LOAD_FORMS or variant in STORE_FORMS else "use"
    if before != 1:
        return "global $before not set"
    if oob:
        if outcome != ["trap", "MEMORY_OUT_OF_BOUNDS", "out of bounds memory access"]:
            return f"expected an out-of-bounds trap, got {outcome}"
    elif form == "race":
        if outcome[:2] != ["trap", "UNREACHABLE"]:
            return f"expected the unreachable trap, got {outcome}"
    elif outcome[0] != "ok" or after != 1:
        return f"expected a result, got {outcome}"
    if outcome[0] == "trap" and after != 0:
        return "global $after set after the trap"
    if windows is not None and outcome[0] == "trap" and form != "race":
        want = [bytearray(pattern(s, e)) for s, e in lay.windows()]
        if form == "prior" and a < lay.length:  # the byte store before the access
            for (s, e), w in zip(lay.windows(), want, strict=True):
                if s <= a < e:
                    w[a - s] = 0x5A
        if [bytes(w).hex() for w in want] != windows:
            return "memory changed by a trapping access"
    return None


class GuardModeDivergence(pytest.fail.Exception):  # type: ignore[misc,name-defined]
    """An out-of-bounds access that did not trap where Wasmtime traps (or trapped with
    another code, or lost a write made before it): the only failure the known guard-mode
    xfails accept (``xfail(raises=...)``); a crash or any other difference still fails.
    A ``pytest.fail`` exception, so that it is reported without a traceback."""


def _guard_kind(got: list, want: list) -> bool:
    """Whether a difference is of the known guard-mode kind: Wasmtime trapped out of
    bounds and wasmlite did not (or with another code, or after losing a prior write)."""
    oob = ["trap", "MEMORY_OUT_OF_BOUNDS", "out of bounds memory access"]
    return want[0] == oob and (got[0] != oob or got[1:3] == want[1:3])


def _oob_id(opt: str, guard: bool, acc: Access, group: str) -> str:
    return f"O{opt}-{'guard' if guard else 'explicit'}-{acc.op}-{group}"


#: Guard-page mode (``signals_based_traps``), by form: {opt level: accesses} that are not
#: yet trap-exact.  Empty: this suite found, and the compiler now prevents (every
#: guard-mode access is ``volatile``; docs/architecture.md "Trap-exact memory
#: accesses"), loads deleted when left by ``br``, unused, and-ed with 0 or xor-ed to 0
#: in a loop; loads narrowed to the part used or folded where the part is known; a
#: load moved past the ``unreachable`` after it; and a byte store deleted because a
#: wider store to the same address followed (and trapped).  A case added here must be a
#: strict xfail, so that it fails (XPASS) once fixed and the mark goes.
GUARD_XFAIL: dict[str, dict[str, frozenset[str]]] = {}
GUARD_XFAIL_REASON = "issue 8: guard-mode loads not yet trap-exact (lead)"
GUARD_XFAIL_REASON_STORES = ("issue 8: guard-mode stores not yet trap-exact: a store "
                             "overwritten by a trapping store is deleted (lead)")


def guard_xfail(opt: str, guard: bool, acc: Access, group: str) -> str | None:
    """The xfail reason of a known guard-mode failure, or ``None``."""
    if guard and acc.op in GUARD_XFAIL.get(group, {}).get(opt, ()):
        return GUARD_XFAIL_REASON_STORES if acc.store else GUARD_XFAIL_REASON
    return None


def _oob_params() -> list:
    out = []
    for opt in OPT_LEVELS:
        for guard in GUARD_MODES:
            for acc in ACCESSES:
                for group in groups_of(acc):
                    marks = ()
                    if reason := guard_xfail(opt, guard, acc, group):
                        marks = pytest.mark.xfail(strict=True, reason=reason,
                                                  raises=GuardModeDivergence)
                    out.append(pytest.param(opt, guard, acc, group, marks=marks,
                                            id=_oob_id(opt, guard, acc, group)))
    return out


@pytest.mark.parametrize("opt,guard,acc,group", _oob_params())
def test_out_of_bounds_access(oob_results, opt: str, guard: bool, acc: Access,
                              group: str) -> None:
    """Every call of one (access, group) at one opt level and bounds-check mode gives
    what wasmtime-py gives: the same value or the same trap, the same side effects
    before the access (global $before, a prior byte store) and none after it (global
    $after), the same bytes of memory around every boundary."""
    calls = calls_of(acc, group)
    want = oob_results("wasmtime")[(acc.key, group)]
    # pytest.fail(pytrace=False): rendering a traceback costs 0.3 s, and hundreds of
    # these are known failures (xfail)
    if isinstance(want, str):
        pytest.fail(f"wasmtime-py: {want}", pytrace=False)
    if len(want) != len(calls):
        pytest.fail(f"wasmtime-py ran {len(want)} calls, not {len(calls)}", pytrace=False)
    wrong = [f"{lay} {v} addr={a:#x}: {why}"
             for (lay, v, a), obs in zip(calls, want, strict=True)
             if (why := model_check(acc, LAYOUTS[lay], v, a, obs))]
    if wrong:
        pytest.fail("wasmtime-py disagrees with the spec model:\n" + "\n".join(wrong),
                    pytrace=False)
    got = oob_results(f"{opt}-{'guard' if guard else 'explicit'}")[(acc.key, group)]
    if isinstance(got, str):
        pytest.fail(got, pytrace=False)
    diffs, other = [], []
    for (lay, v, a), g, w in zip(calls, got, want, strict=True):
        if g != w:
            (diffs if _guard_kind(g, w) else other).append(
                f"{lay} {v} addr={a:#x} (ea {effective(acc, v, a):#x}, length "
                f"{LAYOUTS[lay].length:#x}): wasmlite {g} != wasmtime {w}")
    if other:
        pytest.fail(f"{len(other)} of {len(calls)} calls differ:\n" + "\n".join(other[:12]),
                    pytrace=False)
    if diffs:
        raise GuardModeDivergence(f"{len(diffs)} of {len(calls)} calls differ:\n"
                                  + "\n".join(diffs[:12]), pytrace=False)


# ==========================================================================================
# 2. memory.grow while wasm reads
# ==========================================================================================
#
# What the API allows.  A Store is single-threaded in both runtimes: Wasmtime's C API
# requires that a store not be used from two threads at once, and wasmtime-py does not
# lock it, so ``Memory.grow`` from a second thread while wasm runs in the store is a data
# race there (undefined behaviour), not a feature.  The defined ways to grow a memory
# that wasm is reading are: wasm's own ``memory.grow``, and a host function called from
# the wasm (``Caller``) that calls ``Memory.grow``.  Memories grown by another thread
# while one reads need the threads proposal's shared memories (wasmtime-py's
# ``SharedMemory``), which wasmlite does not implement (WebAssembly 2.0).  So:
#
# * the defined cases run under both runtimes and are compared;
# * two threads, each with its own Store of one shared Module, one reading and trapping
#   near the end of its memory while the other grows, creates and frees memories
#   (registering and unregistering reservations with the signal handler) — defined in
#   both runtimes, compared;
# * wasmlite alone: ``Memory.grow`` from another Python thread while the store runs wasm
#   (wasmlite does not reject it, and its memories never move) — nothing crashes, every
#   read returns the right byte or traps "out of bounds memory access", and no read
#   traps below an address that an earlier read could access.

GROW_WAT = """
(module
  (import "host" "grow" (func $grow (param i32) (result i32)))
  (memory (export "mem") 1 6)
  (global $sum (export "sum") (mut i64) (i64.const 0))
  (global $iters (export "iters") (mut i32) (i32.const 0))
  (func $end (result i32) (i32.mul (memory.size) (i32.const 65536)))
  ;; each iteration reads the last word of memory, then the host grows it by a page
  ;; (and writes the new page count into the first and last words of the new page);
  ;; ends reading past the end
  (func (export "run") (param $n i32) (result i32) (local $i i32)
    (loop $l
      (global.set $sum (i64.add (global.get $sum)
        (i64.extend_i32_u (i32.load (i32.sub (call $end) (i32.const 4))))))
      (global.set $iters (i32.add (global.get $iters) (i32.const 1)))
      (drop (call $grow (i32.const 1)))
      (br_if $l (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1)))
                          (local.get $n))))
    (i32.load (call $end)))
  ;; an address that is out of bounds, then valid once the host has grown the memory
  (func (export "after_host_grow") (result i32) (local $p i32)
    (local.set $p (call $end))
    (drop (call $grow (i32.const 1)))
    (i32.load (local.get $p)))
  ;; ... the same with wasm's own memory.grow
  (func (export "after_wasm_grow") (result i32) (local $p i32)
    (local.set $p (call $end))
    (drop (memory.grow (i32.const 1)))
    (i32.store (local.get $p) (memory.size))
    (i32.store (i32.sub (call $end) (i32.const 4)) (memory.size))
    (i32.load (local.get $p)))
  ;; reads the first word of the next page before and after growing: traps first
  (func (export "before_grow") (result i32) (local $p i32)
    (local.set $p (call $end))
    (drop (i32.load (local.get $p)))
    (drop (call $grow (i32.const 1)))
    (i32.load (local.get $p))))
"""


def grow_session(mod: Any, eng: Any) -> list:
    """Run the calls of :data:`GROW_WAT` under ``mod`` (wasmlite or wasmtime) and return
    what each did: value or trap, the globals and the memory size after it."""
    store = mod.Store(eng)
    module = mod.Module(eng, GROW_WAT)

    def grow(caller: Any, n: int) -> int:
        mem = caller["mem"]
        try:
            old = mem.grow(caller, n)
        except mod.WasmtimeError:
            return -1
        end = mem.data_len(caller)
        for addr in (old * PAGE, end - 4):  # the first and last words of the new pages
            mem.write(caller, (end // PAGE).to_bytes(4, "little"), addr)
        return old

    ty = mod.FuncType([mod.ValType.i32()], [mod.ValType.i32()])
    host = mod.Func(store, ty, grow, access_caller=True)
    ex = mod.Instance(store, module, [host]).exports(store)
    out = []
    for name, args in (("run", (3,)), ("after_host_grow", ()), ("after_wasm_grow", ()),
                       ("before_grow", ()), ("run", (1,)), ("run", (5,)), ("run", (1,))):
        try:
            res: list = ["ok", ex[name](store, *args)]
        except mod.Trap as t:
            res = ["trap", t.trap_code.name, trap_text(t)]
        out.append([name, res, ex["sum"].value(store), ex["iters"].value(store),
                    ex["mem"].size(store)])
    return out


GROW_CONFIGS = [(opt, guard) for opt in OPT_LEVELS for guard in GUARD_MODES]


@pytest.fixture(scope="module")
def grow_results() -> dict:
    """wasmlite's :func:`grow_session` at every opt level and mode, run in one child."""
    code = ("import json, test_sandbox as t\n"
            "print(json.dumps({f'{o}-{g}': t.grow_session(t.wl, t.engine(o, g))"
            " for o, g in t.GROW_CONFIGS}))")
    r = run_child(code)
    assert r.returncode == 0, crash_text(r)
    return json.loads(r.stdout.splitlines()[-1])


@pytest.mark.parametrize("opt,guard", GROW_CONFIGS,
                         ids=[f"O{o}-{'guard' if g else 'explicit'}" for o, g in GROW_CONFIGS])
def test_grow_from_host_call_while_reading(grow_results: dict, opt: str, guard: bool) -> None:
    """wasm reading near the end of memory while a host function it calls (and wasm's
    own memory.grow) grows the memory: every read sees the new bounds at once (no length
    cached across a call or a grow), as in wasmtime-py."""
    want = json.loads(json.dumps(grow_session(wasmtime, wasmtime.Engine())))
    oob = ["trap", "MEMORY_OUT_OF_BOUNDS", "out of bounds memory access"]
    # the spec's answers, so that the comparison is not vacuous
    assert [w[1] for w in want] == [oob, ["ok", 5], ["ok", 6], oob, oob, oob, oob]
    # (sum, iterations, pages): run(3) reads 0 (page 1 has no mark), 2, 3 and grows to 4
    # pages; the grows in the last runs fail at the maximum, 6 pages
    assert [w[2:] for w in want] == [[5, 3, 4], [5, 3, 5], [5, 3, 6], [5, 3, 6],
                                     [11, 4, 6], [41, 9, 6], [47, 10, 6]]
    assert grow_results[f"{opt}-{guard}"] == want


THREAD_WAT = """
(module
  (memory (export "mem") 1 64)
  (func (export "probe") (param $a i32) (result i32) (i32.load8_u (local.get $a)))
  ;; the sum of the bytes at lo, lo+step, ... below hi
  (func (export "scan") (param $lo i32) (param $hi i32) (param $step i32) (result i32)
    (local $s i32)
    (loop $l
      (local.set $s (i32.add (local.get $s) (i32.load8_u (local.get $lo))))
      (br_if $l (i32.lt_u (local.tee $lo (i32.add (local.get $lo) (local.get $step)))
                          (local.get $hi))))
    (local.get $s))
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))
"""


def _outcome(mod: Any, f: Any, store: Any, *args: int) -> Any:
    """``f(store, *args)``, or the name of its trap code."""
    try:
        return f(store, *args)
    except mod.Trap as t:
        return t.trap_code.name


def _api_outcome(mod: Any, fn: Any) -> Any:
    """``fn()``, or ``[exception type name, message]`` for a WasmtimeError or
    IndexError."""
    try:
        return fn()
    except (mod.WasmtimeError, IndexError) as e:
        return [type(e).__name__, str(e)]


def two_stores_session(mod: Any, eng: Any, rounds: int = 150) -> dict:
    """Two threads, each with its own Store of one Module: ``reader`` traps out of bounds
    near the end of its memory over and over while ``churn`` creates stores, grows their
    memories with memory.grow, reads them and closes them.  Returns what each saw
    (deterministic, so that runs under wasmlite and wasmtime-py can be compared)."""
    module = mod.Module(eng, THREAD_WAT)
    out: dict[str, list] = {}
    start = threading.Barrier(2)

    def reader() -> None:
        store = mod.Store(eng)
        ex = mod.Instance(store, module, []).exports(store)
        ex["mem"].write(store, bytes(range(1, 17)), PAGE - 16)
        seen = []
        start.wait()
        for i in range(rounds):
            seen.append([_outcome(mod, ex["probe"], store, PAGE - 1 - i % 16),
                         _outcome(mod, ex["probe"], store, PAGE + i % 7),
                         _outcome(mod, ex["scan"], store, PAGE - 64, PAGE + 64, 8)])
        out["reader"] = seen

    def churn() -> None:
        seen = []
        start.wait()
        for i in range(rounds // 5):
            store = mod.Store(eng)
            ex = mod.Instance(store, module, []).exports(store)
            old = ex["grow"](store, i % 4)
            end = (old + i % 4) * PAGE
            ex["mem"].write(store, b"\x07", end - 1)
            seen.append([old, _outcome(mod, ex["scan"], store, 4095, end, 4096),
                         _outcome(mod, ex["probe"], store, end - 1),
                         _outcome(mod, ex["probe"], store, end)])
            store.close()
        out["churn"] = seen

    threads = [threading.Thread(target=reader), threading.Thread(target=churn)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


@pytest.mark.parametrize("guard", GUARD_MODES, ids=["guard", "explicit"])
def test_two_stores_on_two_threads_one_growing(guard: bool) -> None:
    """One thread traps out of bounds again and again while another creates, grows and
    frees memories (the signal handler's tables change under it): no crash, and each
    thread sees exactly what it sees under wasmtime-py."""
    want = two_stores_session(wasmtime, wasmtime.Engine())
    assert want["reader"][0] == [16, "MEMORY_OUT_OF_BOUNDS", "MEMORY_OUT_OF_BOUNDS"]
    assert want["churn"][3] == [1, 7, 7, "MEMORY_OUT_OF_BOUNDS"]
    r = run_child("import json, test_sandbox as t\n"
                  f"print(json.dumps(t.two_stores_session(t.wl, t.engine('2', {guard}))))")
    assert r.returncode == 0, crash_text(r)
    assert json.loads(r.stdout.splitlines()[-1]) == json.loads(json.dumps(want))


def cross_thread_grow(opt: str, guard: bool) -> dict:
    """wasmlite only: one thread calls ``probe`` and ``scan`` in a loop on a Store while
    another thread grows that store's memory page by page with ``Memory.grow`` (and marks
    the first byte of each new page with its index).  Returns counts, and the list of
    inconsistencies: a value other than 0 or the page's mark, a trap other than "out of
    bounds memory access", a trap at an address below one an earlier read could
    access."""
    eng = engine(opt, guard)
    store = wl.Store(eng)
    ex = wl.Instance(store, wl.Module(eng, THREAD_WAT), []).exports(store)
    mem = ex["mem"]
    done = threading.Event()
    started = threading.Event()

    def grower() -> None:
        started.wait()
        for k in range(1, 64):
            mem.grow(store, 1)
            mem.write(store, bytes([k]), k * PAGE)
            time.sleep(0.0005)  # lets the reader in (wasm runs without the GIL)
        done.set()

    bad: list[str] = []
    counts = {"ok": 0, "trap": 0, "scan_ok": 0, "scan_trap": 0, "during": 0}
    highest_ok = -1
    rng = random.Random(8)
    # the first trap of a module loads its debug info (slow): not while growing
    assert _outcome(wl, ex["probe"], store, PAGE) == "MEMORY_OUT_OF_BOUNDS"
    t = threading.Thread(target=grower)
    t.start()
    final = 0
    while final < 200:  # keep reading while growing, then 200 reads more
        if done.is_set():
            final += 1
        else:
            counts["during"] += 1
        started.set()
        a = rng.randrange(PAGE - 16, 64 * PAGE + 16)
        if rng.random() < 0.2:
            a -= a % PAGE  # a page's first byte, which holds its mark
        r = _outcome(wl, ex["probe"], store, a)
        if isinstance(r, int):
            counts["ok"] += 1
            highest_ok = max(highest_ok, a)
            if r not in (0, a // PAGE if a % PAGE == 0 else 0):
                bad.append(f"read {r} at {a:#x}")
        else:
            counts["trap"] += 1
            if r != "MEMORY_OUT_OF_BOUNDS":
                bad.append(f"trap {r} at {a:#x}")
            elif a <= highest_ok:
                bad.append(f"trap at {a:#x} after a read at {highest_ok:#x}")
        s = _outcome(wl, ex["scan"], store, PAGE - 512, 64 * PAGE, 13)  # ~0.3 ms
        if isinstance(s, int):
            counts["scan_ok"] += 1
        elif s != "MEMORY_OUT_OF_BOUNDS":
            bad.append(f"scan trapped {s}")
        else:
            counts["scan_trap"] += 1
    t.join()
    if _outcome(wl, ex["probe"], store, 64 * PAGE - 1) != 0:
        bad.append("the last byte is not readable after growing")
    if _outcome(wl, ex["probe"], store, 64 * PAGE) != "MEMORY_OUT_OF_BOUNDS":
        bad.append("the byte past the end is readable")
    return {"bad": bad, **counts}


@pytest.mark.parametrize("opt,guard", [("0", True), ("0", False), ("2", True), ("2", False)],
                         ids=["O0-guard", "O0-explicit", "O2-guard", "O2-explicit"])
def test_memory_grow_from_another_thread_while_reading(opt: str, guard: bool) -> None:
    """wasmlite only (in wasmtime-py, using a Store from two threads at once is a data
    race; wasmlite does not reject ``Memory.grow`` while the store runs wasm on another
    thread): nothing crashes and every read is consistent with a memory that only
    grows.  How many reads overlap the growth varies from run to run; the counts are
    in the assertion message."""
    r = run_child("import json, test_sandbox as t\n"
                  f"print(json.dumps(t.cross_thread_grow({opt!r}, {guard})))")
    assert r.returncode == 0, crash_text(r)
    res = json.loads(r.stdout.splitlines()[-1])
    assert res["bad"] == [], res
    assert res["ok"] and res["trap"] and res["scan_ok"] and res["scan_trap"], res
    assert res["during"] > 0, res


# ==========================================================================================
# 3. Tables and indirect calls
# ==========================================================================================

TABLE_WAT = """
(module
  (type $v_i (func (result i32)))
  (type $i_i (func (param i32) (result i32)))
  (func $f10 (type $v_i) (i32.const 10))
  (func $f11 (type $v_i) (i32.const 11))
  (func $f12 (type $v_i) (i32.const 12))
  (func $sq (type $i_i) (i32.mul (local.get 0) (local.get 0)))
  (table $t (export "t") 4 8 funcref)
  (table $u (export "u") 2 externref)
  (elem (table $t) (i32.const 0) func $f10 $sq)
  (elem $seg func $f11 $f12)
  (global $after (export "after") (mut i32) (i32.const 0))
  ;; every function sets $after after its last instruction that may trap
  (func (export "call") (param $i i32) (result i32)
    (call_indirect $t (type $v_i) (local.get $i)) (global.set $after (i32.const 1)))
  (func (export "call_sq") (param $i i32) (param $x i32) (result i32)
    (call_indirect $t (type $i_i) (local.get $x) (local.get $i))
    (global.set $after (i32.const 1)))
  (func (export "get_is_null") (param $i i32) (result i32)
    (ref.is_null (table.get $t (local.get $i))) (global.set $after (i32.const 1)))
  (func (export "set") (param $i i32) (param $j i32)
    (table.set $t (local.get $i) (table.get $t (local.get $j)))
    (global.set $after (i32.const 1)))
  (func (export "set_null") (param $i i32)
    (table.set $t (local.get $i) (ref.null func)) (global.set $after (i32.const 1)))
  (func (export "fill") (param $i i32) (param $j i32) (param $n i32)
    (table.fill $t (local.get $i) (table.get $t (local.get $j)) (local.get $n))
    (global.set $after (i32.const 1)))
  (func (export "copy") (param $d i32) (param $s i32) (param $n i32)
    (table.copy $t $t (local.get $d) (local.get $s) (local.get $n))
    (global.set $after (i32.const 1)))
  (func (export "init") (param $d i32) (param $s i32) (param $n i32)
    (table.init $t $seg (local.get $d) (local.get $s) (local.get $n))
    (global.set $after (i32.const 1)))
  (func (export "drop_seg") (elem.drop $seg))
  (func (export "grow") (param $n i32) (result i32)
    (table.grow $t (ref.null func) (local.get $n)))
  (func (export "size") (result i32) (table.size $t))
  (func (export "grow_u") (param $n i32) (result i32)
    (table.grow $u (ref.null extern) (local.get $n)))
  (func (export "get_u_is_null") (param $i i32) (result i32)
    (ref.is_null (table.get $u (local.get $i))) (global.set $after (i32.const 1)))
  (func (export "fill_u") (param $i i32) (param $n i32)
    (table.fill $u (local.get $i) (ref.null extern) (local.get $n))
    (global.set $after (i32.const 1))))
"""

M1 = 0xFFFFFFFF
#: (export, args) in order; the table starts as [f10, sq, null, null] (size 4, max 8)
TABLE_CALLS = [
    ("call", (0,)), ("call", (1,)), ("call", (2,)), ("call", (3,)), ("call", (4,)),
    ("call", (M1,)), ("call", (0x80000000,)), ("call_sq", (1, 7)), ("call_sq", (0, 7)),
    ("call_sq", (4, 7)),
    ("get_is_null", (3,)), ("get_is_null", (4,)), ("get_is_null", (M1,)),
    ("set", (3, 0)), ("set", (4, 0)), ("set", (M1, 0)), ("set", (0, 4)), ("set_null", (4,)),
    ("fill", (2, 0, 2)), ("fill", (3, 0, 2)), ("fill", (4, 0, 0)), ("fill", (5, 0, 0)),
    ("fill", (1, 0, M1)), ("fill", (0, 1, 0)),
    ("copy", (0, 2, 2)), ("copy", (2, 3, 2)), ("copy", (3, 0, 2)), ("copy", (4, 0, 0)),
    ("copy", (0, 4, 0)), ("copy", (5, 0, 0)), ("copy", (0, 5, 0)), ("copy", (1, 0, M1)),
    ("init", (2, 0, 2)), ("init", (3, 0, 2)), ("init", (2, 1, 2)), ("init", (4, 2, 0)),
    ("init", (5, 0, 0)), ("init", (0, 3, 0)),
    ("drop_seg", ()), ("init", (0, 0, 0)), ("init", (0, 0, 1)),
    ("grow", (0,)), ("grow", (5,)), ("grow", (M1,)), ("grow", (3,)), ("size", ()),
    ("call", (6,)), ("call", (7,)), ("call", (8,)), ("get_is_null", (7,)),
    ("get_is_null", (8,)), ("fill", (7, 0, 1)), ("fill", (8, 0, 0)), ("fill", (7, 0, 2)),
    ("grow", (1,)), ("grow", (0,)),
    ("get_u_is_null", (1,)), ("get_u_is_null", (2,)), ("fill_u", (2, 0)),
    ("fill_u", (1, 2)), ("grow_u", (3,)), ("get_u_is_null", (4,)), ("get_u_is_null", (5,)),
    ("grow_u", (M1,)), ("grow_u", (0x10000000,)),
    # the store's limit (set_limits(table_elements=1000)) applies to each table
    ("grow_u", (900,)), ("grow_u", (200,)), ("grow_u", (95,)), ("grow_u", (1,)),
]


def table_session(mod: Any, eng: Any) -> list:
    """Run :data:`TABLE_CALLS` under ``mod`` (wasmlite or wasmtime); after each call
    observe the outcome, whether $after was set, and every element of table $t (by
    calling it: its number, or the trap of calling it)."""
    store = mod.Store(eng)
    store.set_limits(table_elements=1000)
    ex = mod.Instance(store, mod.Module(eng, TABLE_WAT), []).exports(store)
    out = []
    for name, args in TABLE_CALLS:
        ex["after"].set_value(store, 0)
        res = _outcome(mod, ex[name], store, *args)
        after = ex["after"].value(store)
        size = ex["t"].size(store)
        elems = [_outcome(mod, ex["call"], store, i) for i in range(size)]
        out.append([name, list(args), res, after, elems, ex["u"].size(store)])
    # the API's view: the same bounds
    t = ex["t"]
    out.append(["api", t.size(store), t.get(store, t.size(store)) is None,
                _api_outcome(mod, lambda: t.grow(store, 1, None)),
                _api_outcome(mod, lambda: t.set(store, t.size(store), None))])
    return out


@pytest.fixture(scope="module")
def table_results() -> dict:
    """wasmlite's :func:`table_session` at every opt level, run in one child."""
    code = ("import json, test_sandbox as t\n"
            "print(json.dumps({o: t.table_session(t.wl, t.engine(o, True))"
            " for o in t.OPT_LEVELS}, default=str))")
    r = run_child(code)
    assert r.returncode == 0, crash_text(r)
    return json.loads(r.stdout.splitlines()[-1])


@pytest.mark.parametrize("opt", OPT_LEVELS, ids=[f"O{o}" for o in OPT_LEVELS])
def test_table_and_indirect_call_bounds(table_results: dict, opt: str) -> None:
    """call_indirect out of bounds, to null and with the wrong signature; table.get/
    set/fill/copy/init at and past the end (with n = 0 and with overflowing ranges),
    after elem.drop, and table.grow past the maximum and the store's limit: the same
    outcomes, side effects and table contents as wasmtime-py."""
    want = json.loads(json.dumps(table_session(wasmtime, wasmtime.Engine()), default=str))
    by_call = {(w[0], tuple(w[1])): w[2] for w in want[:-1]}
    # the spec's answers for a few, so that the comparison is not vacuous
    assert by_call[("call", (0,))] == 10
    assert by_call[("call", (1,))] == "BAD_SIGNATURE"
    assert by_call[("call", (2,))] == "INDIRECT_CALL_TO_NULL"
    assert by_call[("call", (4,))] == "TABLE_OUT_OF_BOUNDS"
    assert by_call[("fill", (3, 0, 2))] == "TABLE_OUT_OF_BOUNDS"
    assert by_call[("grow", (5,))] == -1
    got = table_results[opt]
    diffs = [f"{g} != {w}" for g, w in zip(got, want, strict=True) if g != w]
    assert not diffs, "\n".join(diffs)


def test_indirect_call_trap_messages() -> None:
    """The wording of the three call_indirect traps, as wasmtime-py's."""
    texts = []
    for mod in (wl, wasmtime):
        store = mod.Store(mod.Engine())
        ex = mod.Instance(store, mod.Module(store.engine, TABLE_WAT), []).exports(store)
        row = []
        for i in (1, 2, 4):
            with pytest.raises(mod.Trap) as info:
                ex["call"](store, i)
            row.append(trap_text(info.value))
        texts.append(row)
    assert texts[0] == texts[1]
    assert texts[1] == ["indirect call type mismatch", "uninitialized element",
                        "undefined element: out of bounds table access"]


# ==========================================================================================
# 4. WASI escapes
# ==========================================================================================
#
# The same WAT guest runs under wasmlite (``Linker.define_wasi``) and wasmtime-py, each
# on its own copy of a directory tree with three preopens: ``/sandbox`` (fd 3),
# ``/other`` (fd 4) and ``/ro`` (fd 5, ``fs_mutable=False``).  Beside them lies
# ``outside/`` with a secret.  The guest tries to get out (``..``, absolute paths,
# symlinks made by the host and by itself, hard links, renames across preopens, ``..``
# from an opened directory, a directory the host swaps for a symlink between two calls,
# writes through a read-only preopen); every errno must be Wasmtime's, and afterwards
# nothing outside the preopens has changed and the preopens hold the same tree.

_RO = (1 << 1) | (1 << 2)                           # fd_read | fd_seek
_RW = _RO | (1 << 6)                                # ... | fd_write
_O_CREAT, _O_DIRECTORY, _O_TRUNC = 1, 2, 8
#: a directory's rights: every path_* right, fd_readdir, fd_filestat_get/set_times
_DIR_RIGHTS = sum(1 << b for b in (9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 20, 21, 23, 24,
                                   25, 26))
_ALL_RIGHTS = (1 << 30) - 1
_WASI_FUNCS = {
    "path_open": "i32 i32 i32 i32 i32 i64 i64 i32 i32", "fd_read": "i32 i32 i32 i32",
    "fd_write": "i32 i32 i32 i32", "fd_close": "i32", "path_symlink": "i32 i32 i32 i32 i32",
    "path_link": "i32 i32 i32 i32 i32 i32 i32", "path_rename": "i32 i32 i32 i32 i32 i32",
    "path_unlink_file": "i32 i32 i32", "path_remove_directory": "i32 i32 i32",
    "path_create_directory": "i32 i32 i32", "path_filestat_get": "i32 i32 i32 i32 i32",
    "path_filestat_set_times": "i32 i32 i32 i32 i64 i64 i32",
    "path_readlink": "i32 i32 i32 i32 i32 i32", "fd_filestat_set_size": "i32 i64",
    "fd_filestat_set_times": "i32 i64 i64 i32", "fd_allocate": "i32 i64 i64",
}
#: guest memory: path 1 at 1024, path 2 at 2048, read data at 4096, results at 8192 (fd),
#: 8196 (bytes read), 8200 (filestat), 8300 (readlink length), 8400 (readlink buffer)
WASI_GUEST = "(module\n" + "".join(
    f'  (import "wasi_snapshot_preview1" "{n}" (func ${n} (param {p}) (result i32)))\n'
    for n, p in _WASI_FUNCS.items()) + f"""
  (memory (export "memory") 1)
  (data (i32.const 9000) "PWNED")
  ;; open path 1 for reading, read up to 64 bytes, close
  (func (export "read") (param $dirfd i32) (param $follow i32) (param $len i32) (result i32)
    (local $err i32) (local $fd i32)
    (i32.store (i32.const 8196) (i32.const 0))
    (local.set $err (call $path_open (local.get $dirfd) (local.get $follow) (i32.const 1024)
      (local.get $len) (i32.const 0) (i64.const {_RO}) (i64.const {_RO}) (i32.const 0)
      (i32.const 8192)))
    (if (local.get $err) (then (return (local.get $err))))
    (local.set $fd (i32.load (i32.const 8192)))
    (i32.store (i32.const 8800) (i32.const 4096))
    (i32.store (i32.const 8804) (i32.const 64))
    (local.set $err (call $fd_read (local.get $fd) (i32.const 8800) (i32.const 1)
      (i32.const 8196)))
    (drop (call $fd_close (local.get $fd)))
    (local.get $err))
  ;; open path 1 for writing with $oflags, write "PWNED", close
  (func (export "write") (param $dirfd i32) (param $follow i32) (param $len i32)
    (param $oflags i32) (result i32)
    (local $err i32) (local $fd i32)
    (local.set $err (call $path_open (local.get $dirfd) (local.get $follow) (i32.const 1024)
      (local.get $len) (local.get $oflags) (i64.const {_RW}) (i64.const {_RW}) (i32.const 0)
      (i32.const 8192)))
    (if (local.get $err) (then (return (local.get $err))))
    (local.set $fd (i32.load (i32.const 8192)))
    (i32.store (i32.const 8800) (i32.const 9000))
    (i32.store (i32.const 8804) (i32.const 5))
    (local.set $err (call $fd_write (local.get $fd) (i32.const 8800) (i32.const 1)
      (i32.const 8196)))
    (drop (call $fd_close (local.get $fd)))
    (local.get $err))
  ;; open path 1 for reading, then try to change the file through the fd: the errnos of
  ;; fd_write, fd_filestat_set_size, fd_filestat_set_times and fd_allocate at 8600..8612
  (func (export "fdops") (param $dirfd i32) (param $follow i32) (param $len i32) (result i32)
    (local $err i32) (local $fd i32)
    (local.set $err (call $path_open (local.get $dirfd) (local.get $follow) (i32.const 1024)
      (local.get $len) (i32.const 0) (i64.const {_RO}) (i64.const {_RO}) (i32.const 0)
      (i32.const 8192)))
    (if (local.get $err) (then (return (local.get $err))))
    (local.set $fd (i32.load (i32.const 8192)))
    (i32.store (i32.const 8800) (i32.const 9000))
    (i32.store (i32.const 8804) (i32.const 5))
    (i32.store (i32.const 8600) (call $fd_write (local.get $fd) (i32.const 8800) (i32.const 1)
      (i32.const 8196)))
    (i32.store (i32.const 8604) (call $fd_filestat_set_size (local.get $fd) (i64.const 0)))
    (i32.store (i32.const 8608) (call $fd_filestat_set_times (local.get $fd) (i64.const 0)
      (i64.const 0) (i32.const 5)))
    (i32.store (i32.const 8612) (call $fd_allocate (local.get $fd) (i64.const 0)
      (i64.const 100)))
    (call $fd_close (local.get $fd)))
  (func (export "fd_set_times") (param $fd i32) (result i32)
    (call $fd_filestat_set_times (local.get $fd) (i64.const 0) (i64.const 0) (i32.const 5)))
  ;; open path 1 as a directory and keep it open (its fd at 8192)
  (func (export "opendir") (param $dirfd i32) (param $follow i32) (param $len i32) (result i32)
    (call $path_open (local.get $dirfd) (local.get $follow) (i32.const 1024) (local.get $len)
      (i32.const {_O_DIRECTORY}) (i64.const {_DIR_RIGHTS}) (i64.const {_ALL_RIGHTS})
      (i32.const 0) (i32.const 8192)))
  (func (export "symlink") (param $tlen i32) (param $dirfd i32) (param $len i32) (result i32)
    (call $path_symlink (i32.const 1024) (local.get $tlen) (local.get $dirfd) (i32.const 2048)
      (local.get $len)))
  (func (export "link") (param $ofd i32) (param $follow i32) (param $olen i32) (param $nfd i32)
    (param $nlen i32) (result i32)
    (call $path_link (local.get $ofd) (local.get $follow) (i32.const 1024) (local.get $olen)
      (local.get $nfd) (i32.const 2048) (local.get $nlen)))
  (func (export "rename") (param $ofd i32) (param $olen i32) (param $nfd i32) (param $nlen i32)
    (result i32)
    (call $path_rename (local.get $ofd) (i32.const 1024) (local.get $olen) (local.get $nfd)
      (i32.const 2048) (local.get $nlen)))
  (func (export "unlink") (param $dirfd i32) (param $len i32) (result i32)
    (call $path_unlink_file (local.get $dirfd) (i32.const 1024) (local.get $len)))
  (func (export "rmdir") (param $dirfd i32) (param $len i32) (result i32)
    (call $path_remove_directory (local.get $dirfd) (i32.const 1024) (local.get $len)))
  (func (export "mkdir") (param $dirfd i32) (param $len i32) (result i32)
    (call $path_create_directory (local.get $dirfd) (i32.const 1024) (local.get $len)))
  (func (export "stat") (param $dirfd i32) (param $follow i32) (param $len i32) (result i32)
    (call $path_filestat_get (local.get $dirfd) (local.get $follow) (i32.const 1024)
      (local.get $len) (i32.const 8200)))
  ;; set atime and mtime to the epoch (fstflags atim | mtim)
  (func (export "set_times") (param $dirfd i32) (param $follow i32) (param $len i32) (result i32)
    (call $path_filestat_set_times (local.get $dirfd) (local.get $follow) (i32.const 1024)
      (local.get $len) (i64.const 0) (i64.const 0) (i32.const 5)))
  (func (export "readlink") (param $dirfd i32) (param $len i32) (result i32)
    (call $path_readlink (local.get $dirfd) (i32.const 1024) (local.get $len) (i32.const 8400)
      (i32.const 256) (i32.const 8300))))
"""


def make_wasi_tree(base: Path) -> None:
    """The host's tree: ``outside/`` (not preopened) and the three preopens, with the
    symlinks a guest may try to escape through."""
    (base / "outside" / "dir").mkdir(parents=True)
    (base / "outside" / "secret.txt").write_text("SECRET")
    root = base / "root"
    (root / "sub" / "deeper").mkdir(parents=True)
    (root / "swap").mkdir()
    (root / "inside.txt").write_text("inside")
    (root / "sub" / "file.txt").write_text("file")
    (root / "swap" / "x.txt").write_text("x")
    for name, target in (
            ("lnk_in", "inside.txt"), ("lnk_in_abs", str(root / "inside.txt")),
            ("lnk_out", "../outside/secret.txt"),
            ("lnk_out_abs", str(base / "outside" / "secret.txt")),
            ("lnk_outdir", "../outside"), ("lnk_dotdot", ".."), ("lnk_sub", "sub"),
            ("sub/lnk_up", "../inside.txt"), ("sub/lnk_up2", "../../outside/secret.txt"),
            ("dangling_out", "../outside/created.txt")):
        os.symlink(target, root / name)
    (base / "other").mkdir()
    (base / "other" / "o.txt").write_text("other")
    (base / "ro").mkdir()
    (base / "ro" / "r.txt").write_text("readonly")


def snapshot(top: Path, base: Path) -> list:
    """Every entry under ``top``: relative path, kind, and contents, link target (the
    path of ``base`` written as ``<base>``) or, for a directory, nothing; and for files
    the modification time."""
    out = []
    for dirpath, dirs, files in os.walk(top):
        for name in dirs + files:
            p = Path(dirpath) / name
            if p.is_symlink():
                entry = ["l", os.readlink(p).replace(str(base), "<base>")]
            elif p.is_dir():
                entry = ["d", None]
            else:
                entry = ["f", p.read_bytes().decode(errors="replace"), p.stat().st_mtime_ns]
            out.append([str(p.relative_to(top)), *entry])
    return sorted(out)


#: The guest's steps.  fds: 3 /sandbox, 4 /other, 5 /ro, ``$name`` a directory opened by
#: an earlier ``opendir`` step named ``name``.  ``host_swap`` is done by the host.
R, OT, RO_FD = 3, 4, 5
WASI_STEPS: list[tuple] = [
    # reads: .., absolute paths, symlinks in and out
    ("read", R, 1, "inside.txt"), ("read", R, 1, "../outside/secret.txt"),
    ("read", R, 1, "/sandbox/inside.txt"), ("read", R, 1, "/inside.txt"),
    ("read", R, 1, "/etc/passwd"), ("read", R, 1, "sub/../inside.txt"),
    ("read", R, 1, "sub/../../outside/secret.txt"), ("read", R, 1, "sub/deeper/../../inside.txt"),
    ("read", R, 1, "lnk_in"), ("read", R, 0, "lnk_in"), ("read", R, 1, "lnk_in_abs"),
    ("read", R, 1, "lnk_out"), ("read", R, 0, "lnk_out"), ("read", R, 1, "lnk_out_abs"),
    ("read", R, 1, "lnk_outdir/secret.txt"), ("read", R, 1, "lnk_dotdot/outside/secret.txt"),
    ("read", R, 1, "lnk_dotdot/root/inside.txt"), ("read", R, 1, "lnk_sub/../inside.txt"),
    ("read", R, 1, "lnk_sub/../../outside/secret.txt"),
    ("read", R, 1, "lnk_outdir/../root/inside.txt"), ("read", R, 1, "sub/lnk_up"),
    ("read", R, 1, "sub/lnk_up2"), ("read", OT, 1, "../root/inside.txt"),
    ("read", R, 1, "../other/o.txt"), ("read", RO_FD, 1, "r.txt"), ("read", R, 1, ".."),
    ("read", R, 1, "inside.txt/.."), ("read", R, 1, "sub/./../inside.txt"),
    # directories opened by the guest: .. from them
    ("opendir", R, 1, "sub", "sub"), ("read", "$sub", 1, "file.txt"),
    ("read", "$sub", 1, "../inside.txt"), ("read", "$sub", 1, "lnk_up"),
    ("read", "$sub", 1, "deeper/../../inside.txt"), ("opendir", R, 1, "lnk_outdir", "od"),
    ("opendir", R, 1, "..", "up"), ("opendir", R, 1, "lnk_sub", "ls"),
    ("read", "$ls", 1, "../inside.txt"), ("opendir", R, 1, "lnk_dotdot", "ldd"),
    # writes and creation outside
    ("write", R, 1, "../outside/secret.txt", _O_TRUNC), ("write", R, 1, "lnk_out", _O_TRUNC),
    ("write", R, 1, "lnk_out_abs", 0), ("write", R, 1, "dangling_out", _O_CREAT),
    ("write", R, 0, "dangling_out", _O_CREAT), ("write", R, 1, "lnk_outdir/new.txt", _O_CREAT),
    ("write", R, 1, "sub/lnk_up2", _O_TRUNC), ("write", R, 1, "new_inside.txt", _O_CREAT),
    ("mkdir", R, "../outside/newdir"), ("mkdir", R, "lnk_outdir/newdir"),
    ("mkdir", R, "lnk_dotdot/newdir"), ("mkdir", R, "/newdir"),
    ("unlink", R, "../outside/secret.txt"), ("unlink", R, "lnk_outdir/secret.txt"),
    ("rmdir", R, "../outside/dir"), ("rmdir", R, "lnk_outdir/dir"),
    ("set_times", R, 1, "lnk_out"), ("set_times", R, 1, "../outside/secret.txt"),
    ("set_times", R, 1, "lnk_outdir/secret.txt"),
    ("stat", R, 1, "lnk_out"), ("stat", R, 0, "lnk_out"), ("stat", R, 1, "../outside"),
    ("stat", R, 1, "lnk_outdir"), ("stat", R, 0, "lnk_outdir"), ("readlink", R, "lnk_out"),
    ("readlink", R, "lnk_out_abs"), ("readlink", R, "../outside"),
    # symlinks made by the guest
    ("symlink", "../outside/secret.txt", R, "g_out"), ("read", R, 1, "g_out"),
    ("write", R, 1, "g_out", _O_TRUNC), ("symlink", "/etc/passwd", R, "g_abs"),
    ("read", R, 1, "g_abs"), ("symlink", "sub", R, "g_in"), ("read", R, 1, "g_in/file.txt"),
    ("symlink", "..", R, "g_up"), ("read", R, 1, "g_up/outside/secret.txt"),
    ("symlink", "g_loop", R, "g_loop"), ("read", R, 1, "g_loop"),
    ("symlink", "../outside/created2.txt", R, "g_dangling"),
    ("write", R, 1, "g_dangling", _O_CREAT), ("symlink", "inside.txt", R, "../outside/g_x"),
    ("symlink", "x", R, "lnk_outdir/g_y"), ("symlink", "../../outside", R, "sub/g_z"),
    ("read", R, 1, "sub/g_z/secret.txt"),
    # hard links
    ("link", R, 0, "../outside/secret.txt", R, "h1"), ("link", R, 1, "lnk_out", R, "h2"),
    ("link", R, 0, "lnk_out", R, "h3"), ("read", R, 1, "h3"),
    ("link", R, 0, "inside.txt", R, "../outside/h4"),
    ("link", R, 0, "lnk_outdir/secret.txt", R, "h5"), ("link", R, 0, "inside.txt", OT, "h6"),
    ("link", R, 0, "inside.txt", RO_FD, "h7"), ("link", RO_FD, 0, "r.txt", R, "h8"),
    ("link", "$sub", 0, "../inside.txt", R, "h9"), ("write", R, 1, "h8", _O_TRUNC),
    ("link", RO_FD, 1, "r.txt", R, "h10"), ("link", R, 1, "inside.txt", R, "h11"),
    ("link", R, 1, "nonexist", R, "h12"), ("link", RO_FD, 0, "nonexist", R, "h13"),
    ("link", R, 1, "inside.txt", RO_FD, "h14"), ("link", R, 1, "../outside/secret.txt", R, "h15"),
    ("link", 99, 0, "inside.txt", RO_FD, "h16"), ("link", RO_FD, 0, "r.txt", 99, "h17"),
    # renames, within and across preopens
    ("rename", R, "inside.txt", R, "../outside/stolen.txt"),
    ("rename", R, "../outside/secret.txt", R, "stolen.txt"),
    ("rename", R, "lnk_outdir/secret.txt", R, "stolen2.txt"),
    ("rename", R, "inside.txt", R, "lnk_outdir/stolen3.txt"),
    ("rename", R, "new_inside.txt", OT, "moved.txt"), ("read", OT, 1, "moved.txt"),
    ("rename", OT, "o.txt", R, "o_moved.txt"), ("read", R, 1, "o_moved.txt"),
    ("rename", R, "sub/deeper", OT, "deeper_moved"), ("rename", R, "inside.txt", RO_FD, "x.txt"),
    ("rename", RO_FD, "r.txt", R, "r_stolen.txt"), ("rename", R, "lnk_out", OT, "lnk_moved"),
    ("read", OT, 1, "lnk_moved"), ("rename", "$sub", "../inside.txt", R, "i2.txt"),
    # a directory the guest opened is swapped for a symlink to outside by the host
    ("opendir", R, 1, "swap", "swap"), ("host_swap",), ("read", R, 1, "swap/secret.txt"),
    ("read", "$swap", 1, "x.txt"), ("read", "$swap", 1, "../inside.txt"),
    ("write", R, 1, "swap/secret.txt", _O_TRUNC), ("opendir", R, 1, "swap", "swap2"),
    # the read-only preopen
    ("write", RO_FD, 1, "r.txt", _O_TRUNC), ("write", RO_FD, 1, "new.txt", _O_CREAT),
    ("mkdir", RO_FD, "d"), ("unlink", RO_FD, "r.txt"), ("set_times", RO_FD, 1, "r.txt"),
    ("symlink", "r.txt", RO_FD, "l"), ("rename", RO_FD, "r.txt", RO_FD, "r2.txt"),
    ("read", RO_FD, 1, "r.txt"), ("fdops", R, 1, "lnk_in"), ("fdops", RO_FD, 1, "r.txt"),
    ("opendir", RO_FD, 1, ".", "rodot"), ("write", "$rodot", 1, "r.txt", _O_TRUNC),
    ("mkdir", "$rodot", "d2"), ("fdops", "$rodot", 1, "r.txt"),
    ("link", "$rodot", 0, "r.txt", R, "h18"), ("rename", "$rodot", "r.txt", R, "r3.txt"),
    ("read", RO_FD, 1, "r.txt"), ("fd_set_times", RO_FD), ("fd_set_times", "$rodot"),
    ("fd_set_times", R), ("fd_set_times", "$sub"),
]


class WasiGuest:
    """:data:`WASI_GUEST` under ``mod`` (wasmlite or wasmtime) with the preopens of
    ``base`` (a tree made by :func:`make_wasi_tree`)."""

    def __init__(self, mod: Any, base: Path):
        self.base = base
        eng = mod.Engine()
        cfg = mod.WasiConfig()
        cfg.preopen_dir(str(base / "root"), "/sandbox")
        cfg.preopen_dir(str(base / "other"), "/other")
        cfg.preopen_dir(str(base / "ro"), "/ro", False)
        self.store = mod.Store(eng)
        self.store.set_wasi(cfg)
        linker = mod.Linker(eng)
        linker.define_wasi()
        self.ex = linker.instantiate(self.store, mod.Module(eng, WASI_GUEST)).exports(self.store)
        self.mem = self.ex["memory"]
        self.fds: dict[str, int] = {}

    def _s(self, text: str, addr: int) -> int:
        data = text.encode()
        self.mem.write(self.store, data, addr)
        return len(data)

    def _u32(self, addr: int) -> int:
        return int.from_bytes(self.mem.read(self.store, addr, addr + 4), "little")

    def _fd(self, fd: int | str) -> int:
        # a failed opendir leaves no fd: use one that is surely not open
        return self.fds.get(fd[1:], 999) if isinstance(fd, str) else fd

    def step(self, step: tuple) -> list:
        """Run one step; returns what it observed (errno and data, never fd numbers)."""
        op, *a = step
        f, st = self.ex.get(op), self.store
        if op == "host_swap":  # replace root/swap by a symlink to ../outside
            root = self.base / "root"
            os.rename(root / "swap", root / "swap_old")
            os.symlink("../outside", root / "swap")
            return []
        if op == "read":
            err = f(st, self._fd(a[0]), a[1], self._s(a[2], 1024))
            n = self._u32(8196) if err == 0 else 0
            return [err, bytes(self.mem.read(st, 4096, 4096 + n)).decode(errors="replace")]
        if op == "write":
            return [f(st, self._fd(a[0]), a[1], self._s(a[2], 1024), a[3])]
        if op == "fd_set_times":
            return [f(st, self._fd(a[0]))]
        if op == "fdops":
            err = f(st, self._fd(a[0]), a[1], self._s(a[2], 1024))
            return [err, [self._u32(8600 + 4 * i) for i in range(4)] if err == 0 else None]
        if op == "opendir":
            err = f(st, self._fd(a[0]), a[1], self._s(a[2], 1024))
            if err == 0:
                self.fds[a[3]] = self._u32(8192)
            return [err]
        if op == "symlink":
            return [f(st, self._s(a[0], 1024), self._fd(a[1]), self._s(a[2], 2048))]
        if op == "link":
            return [f(st, self._fd(a[0]), a[1], self._s(a[2], 1024), self._fd(a[3]),
                      self._s(a[4], 2048))]
        if op == "rename":
            return [f(st, self._fd(a[0]), self._s(a[1], 1024), self._fd(a[2]),
                      self._s(a[3], 2048))]
        if op in ("unlink", "rmdir", "mkdir", "readlink"):
            err = f(st, self._fd(a[0]), self._s(a[1], 1024))
            if op == "readlink" and err == 0:
                n = self._u32(8300)
                return [err, bytes(self.mem.read(st, 8400, 8400 + n)).decode()
                        .replace(str(self.base), "<base>")]
            return [err]
        if op in ("stat", "set_times"):
            err = f(st, self._fd(a[0]), a[1], self._s(a[2], 1024))
            if op == "stat" and err == 0:
                return [err, self.mem.read(st, 8216, 8217)[0]]  # filetype
            return [err]
        raise ValueError(op)


def test_wasi_escapes_match_wasmtime(tmp_path: Path) -> None:
    """Every escape attempt of :data:`WASI_STEPS` gets Wasmtime's errno; nothing outside
    the preopens is read, written, created or removed; the preopens end up the same."""
    results = {}
    for name, mod in (("wasmtime", wasmtime), ("wasmlite", wl)):
        base = tmp_path / name[:6]  # "wasmti"/"wasmli": paths of the same length
        make_wasi_tree(base)
        outside = snapshot(base / "outside", base)
        guest = WasiGuest(mod, base)
        results[name] = [guest.step(s) for s in WASI_STEPS]
        assert snapshot(base / "outside", base) == outside, f"{name} changed outside/"
        assert sorted(p.name for p in base.iterdir()) == ["other", "outside", "ro", "root"]
        assert not any("SECRET" in str(r) for r in results[name]), name
        results[name + " tree"] = [snapshot(base / d, base) for d in ("root", "other", "ro")]
    opened = {s[4]: r for s, r in zip(WASI_STEPS, results["wasmtime"], strict=True)
              if s[0] == "opendir"}
    assert all(opened[d] == [0] for d in ("sub", "ls", "swap", "rodot")), opened
    diffs = [f"{s}: wasmtime {w}, wasmlite {g}"
             for s, w, g in zip(WASI_STEPS, results["wasmtime"], results["wasmlite"],
                                strict=True) if w != g]
    assert not diffs, f"{len(diffs)} of {len(WASI_STEPS)} steps differ:\n" + "\n".join(diffs)
    # the trees, without modification times (both runtimes wrote at their own times)
    trees = [[[e[:3] for e in t] for t in results[k + " tree"]] for k in ("wasmtime", "wasmlite")]
    assert trees[0] == trees[1]


# ==========================================================================================
# 5. Stack exhaustion
# ==========================================================================================
#
# Where the stack runs out is the embedder's choice (wasmlite's default limit is 1 MiB,
# Wasmtime's 512 KiB, and frames differ), so depths near the limit are not compared
# with wasmtime-py; what is: shallow calls give the same values, very deep ones trap
# "call stack exhausted", and a trap caught by a host function at a given level of
# host <-> wasm recursion gives the same result.  Everything runs in child processes.

STACK_WAT = """
(module
  (import "host" "h" (func $h (param i32) (result i32)))
  ;; rec(n) = rec(n-1) * 31 + n (not an accumulator LLVM could turn into a loop)
  (func $rec (export "rec") (param $n i32) (result i32)
    (if (result i32) (i32.eqz (local.get $n)) (then (i32.const 0))
      (else (i32.add (i32.mul (call $rec (i32.sub (local.get $n) (i32.const 1)))
                              (i32.const 31)) (local.get $n)))))
  ;; the same with sixteen i64 locals live across the call (big frames)
  (func $rec_big (export "rec_big") (param $n i32) (result i32)
    (local $a i64) (local $b i64) (local $c i64) (local $d i64) (local $e i64) (local $f i64)
    (local $g i64) (local $h i64) (local $i i64) (local $j i64) (local $k i64) (local $l i64)
    (local $m i64) (local $o i64) (local $p i64) (local $q i64) (local $r i32)
    (if (i32.eqz (local.get $n)) (then (return (i32.const 0))))
    (local.set $a (i64.extend_i32_u (local.get $n)))
    (local.set $b (i64.mul (local.get $a) (i64.const 3)))
    (local.set $c (i64.mul (local.get $b) (i64.const 5)))
    (local.set $d (i64.mul (local.get $c) (i64.const 7)))
    (local.set $e (i64.add (local.get $d) (local.get $a)))
    (local.set $f (i64.xor (local.get $e) (local.get $b)))
    (local.set $g (i64.rotl (local.get $f) (local.get $c)))
    (local.set $h (i64.add (local.get $g) (local.get $d)))
    (local.set $i (i64.mul (local.get $h) (local.get $e)))
    (local.set $j (i64.xor (local.get $i) (local.get $f)))
    (local.set $k (i64.add (local.get $j) (local.get $g)))
    (local.set $l (i64.rotr (local.get $k) (local.get $h)))
    (local.set $m (i64.sub (local.get $l) (local.get $i)))
    (local.set $o (i64.xor (local.get $m) (local.get $j)))
    (local.set $p (i64.add (local.get $o) (local.get $k)))
    (local.set $q (i64.mul (local.get $p) (local.get $l)))
    (local.set $r (call $rec_big (i32.sub (local.get $n) (i32.const 1))))
    (i32.add (i32.mul (local.get $r) (i32.const 31)) (i32.wrap_i64
      (i64.add (i64.add (i64.add (i64.add (local.get $a) (local.get $b))
        (i64.add (local.get $c) (local.get $d))) (i64.add (i64.add (local.get $e) (local.get $f))
        (i64.add (local.get $g) (local.get $h)))) (i64.add (i64.add (i64.add (local.get $i)
        (local.get $j)) (i64.add (local.get $k) (local.get $l))) (i64.add (i64.add (local.get $m)
        (local.get $o)) (i64.add (local.get $p) (local.get $q))))))))
  ;; the same with six v128 locals live across the call
  (func $rec_v128 (export "rec_v128") (param $n i32) (result i32)
    (local $a v128) (local $b v128) (local $c v128) (local $d v128) (local $e v128)
    (local $f v128) (local $r i32)
    (if (i32.eqz (local.get $n)) (then (return (i32.const 0))))
    (local.set $a (i32x4.splat (local.get $n)))
    (local.set $b (i32x4.mul (local.get $a) (v128.const i32x4 3 5 7 11)))
    (local.set $c (i32x4.add (local.get $b) (v128.const i32x4 13 17 19 23)))
    (local.set $d (v128.xor (local.get $c) (local.get $a)))
    (local.set $e (i32x4.mul (local.get $d) (local.get $b)))
    (local.set $f (i32x4.sub (local.get $e) (local.get $c)))
    (local.set $r (call $rec_v128 (i32.sub (local.get $n) (i32.const 1))))
    (i32.add (i32.mul (local.get $r) (i32.const 31)) (i32x4.extract_lane 2
      (i32x4.add (i32x4.add (i32x4.add (local.get $a) (local.get $b))
                            (i32x4.add (local.get $c) (local.get $d)))
                 (i32x4.add (local.get $e) (local.get $f))))))
  ;; wasm -> host -> wasm ...: ping(n) = h(n - 1) + 1, where the host calls ping again;
  ;; ping(0) recurses in wasm to depth $deep (global, 0: none)
  (global $deep (export "deep") (mut i32) (i32.const 0))
  (func (export "ping") (param $n i32) (result i32)
    (if (result i32) (i32.eqz (local.get $n))
      (then (call $rec (global.get $deep)))
      (else (i32.add (call $h (i32.sub (local.get $n) (i32.const 1))) (i32.const 1))))))
"""

STACK_KINDS = ("rec", "rec_big", "rec_v128")
HUGE = 10_000_000


def _rec_model(n: int) -> int:
    r = 0
    for k in range(1, n + 1):
        r = (r * 31 + k) & 0xFFFFFFFF
    return r - (1 << 32) if r & 0x80000000 else r


def _stack_outcome(mod: Any, f: Any, store: Any, *args: int) -> Any:
    """``f(store, *args)``, the trap code name, or the name of a Python exception."""
    try:
        return f(store, *args)
    except mod.Trap as t:
        return t.trap_code.name if t.trap_code is not None else trap_text(t)
    except Exception as e:  # a host exception propagating (RecursionError, ...)
        return type(e).__name__


class StackGuest:
    """:data:`STACK_WAT` under ``mod``; the host function ``h(k)`` calls ``ping(k)``
    back through its Caller, and at level ``catch`` catches a trap and returns 1000."""

    def __init__(self, mod: Any, eng: Any):
        self.mod = mod
        self.store = mod.Store(eng)
        self.catch: int | None = None
        ty = mod.FuncType([mod.ValType.i32()], [mod.ValType.i32()])
        host = mod.Func(self.store, ty, self._h, access_caller=True)
        ex = mod.Instance(self.store, mod.Module(eng, STACK_WAT), [host]).exports(self.store)
        self.ex = {k: ex[k] for k in (*STACK_KINDS, "ping", "deep")}

    def _h(self, caller: Any, k: int) -> int:
        if k == self.catch:
            try:
                return self.ex["ping"](caller, k)
            except self.mod.Trap:
                return 1000
        return self.ex["ping"](caller, k)

    def __call__(self, name: str, *args: int) -> Any:
        return _stack_outcome(self.mod, self.ex[name], self.store, *args)

    def usable(self) -> bool:
        """Whether the store still works after an exhaustion."""
        self.catch = None
        self.ex["deep"].set_value(self.store, 0)
        return self("rec", 100) == _rec_model(100) and self("ping", 3) == 3

    def ping_catching(self, n: int, catch: int | None, deep: int) -> Any:
        """ping(n) with wasm recursing ``deep`` at the bottom, the trap caught at host
        level ``catch`` (None: nowhere)."""
        self.catch = catch
        self.ex["deep"].set_value(self.store, deep)
        try:
            return self("ping", n)
        finally:
            self.catch = None
            self.ex["deep"].set_value(self.store, 0)


def _max_depth(g: StackGuest, kind: str) -> int:
    """The deepest ``kind(n)`` that returns (binary search)."""
    lo, hi = 0, HUGE
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if isinstance(g(kind, mid), int):
            lo = mid
        else:
            hi = mid - 1
    return lo


#: (n, catch level, deep) of :meth:`StackGuest.ping_catching`: an exhaustion at the
#: bottom of n levels of host <-> wasm recursion, caught at level catch or nowhere
CATCHES = [(n, c, HUGE) for n in (1, 2, 5, 20, 40) for c in (None, 0, n // 2, n - 1)]


def _settle_tiers(g: StackGuest) -> None:
    """Make every function of :data:`STACK_WAT` hot and wait for the optimizing tier.

    Under tiered compilation (the default strategy) a hot function's first-tier code is
    replaced, on a background thread, by optimized code with smaller frames, so the
    depth where the stack runs out moves while a sweep runs (CI run of e8e8297: rec(21833)
    returned after rec(21832) had trapped).  Once the tier-up is done the code, and so
    the limit, stays put."""
    from wasmlite.compiler import lazy

    for kind in STACK_KINDS:
        g(kind, HUGE)
    for _ in range(lazy.HOT_THRESHOLD + 1):
        g("ping", 1)
    assert lazy.TIERUP.wait_idle(300), "tier-up still busy after 300 s"


def stack_session(mod: Any, eng: Any, sweep: bool) -> dict:
    """What :data:`STACK_WAT` does under ``mod``: the values of shallow calls, huge
    depths, the caught exhaustions of :data:`CATCHES`, and (``sweep``, wasmlite) the
    inconsistencies found at every depth around the limit of each kind of frame and at
    every depth of host <-> wasm recursion up to past its limit."""
    g = StackGuest(mod, eng)
    out: dict[str, Any] = {
        "shallow": [g(k, n) for k in STACK_KINDS for n in (0, 1, 100, 1000)]
        + [g("ping", n) for n in (0, 1, 10, 40)],
        "huge": [g(k, HUGE) for k in STACK_KINDS] + [g.usable()],
        "catches": [g.ping_catching(*c) for c in CATCHES] + [g.usable()],
    }
    if not sweep:
        return out
    if mod is wl:
        _settle_tiers(g)
    bad: list[str] = []
    depths = {}
    for kind in STACK_KINDS:
        d = depths[kind] = _max_depth(g, kind)
        for n in range(max(0, d - 3), d + 4):
            r = g(kind, n)
            if n <= d and not isinstance(r, int):
                bad.append(f"{kind}({n}) = {r} below the limit {d}")
            if n > d and r != "STACK_OVERFLOW":
                bad.append(f"{kind}({n}) = {r} past the limit {d}")
            if not g.usable():
                bad.append(f"store unusable after {kind}({n})")
    if depths["rec"] < 1000:
        bad.append(f"only {depths['rec']} levels of wasm recursion: {depths}")
    # every depth of host <-> wasm recursion, until past the first failure
    first = None
    for n in range(1, 100_000):
        r = g("ping", n)
        if r == n:
            if first is not None:
                bad.append(f"ping({n}) returned after ping({first}) failed")
        elif r in ("STACK_OVERFLOW", "RecursionError"):
            first = n if first is None else first
            if not g.usable():
                bad.append(f"store unusable after ping({n})")
        else:
            bad.append(f"ping({n}) = {r}")
        if first is not None and n > first + 5:
            break
    out["sweep"] = {"bad": bad, "depths": depths, "ping_limit": first}
    return out


@pytest.fixture(scope="module")
def stack_reference() -> dict:
    """wasmtime-py's :func:`stack_session` (a child process too)."""
    r = run_child("import json, test_sandbox as t\n"
                  "print(json.dumps(t.stack_session(t.wasmtime, t.wasmtime.Engine(), False)))")
    assert r.returncode == 0, crash_text(r)
    return json.loads(r.stdout.splitlines()[-1])


RECURSION_LIMITS = (None, 20_000)


@pytest.fixture(scope="module")
def stack_results() -> dict:
    """wasmlite's :func:`stack_session` at every opt level, with Python's recursion limit
    as it is and raised: one child per limit; ``{(limit, opt): result}``, where a
    result is the child's crash description if it died before printing it."""
    out: dict = {}
    for limit in RECURSION_LIMITS:
        setlimit = f"sys.setrecursionlimit({limit})\n" if limit else ""
        r = run_child(f"import json, sys, test_sandbox as t\n{setlimit}"
                      "for o in t.OPT_LEVELS:\n"
                      "    print(json.dumps([o, t.stack_session(t.wl, t.engine(o, True), True)]),"
                      " flush=True)\n", timeout=CHILD_TIMEOUT)
        done = dict(json.loads(line) for line in r.stdout.splitlines() if line.startswith("["))
        for opt in OPT_LEVELS:
            out[(limit, opt)] = done.get(opt, crash_text(r))
    return out


@pytest.mark.parametrize("opt", OPT_LEVELS, ids=[f"O{o}" for o in OPT_LEVELS])
@pytest.mark.parametrize("recursion_limit", RECURSION_LIMITS, ids=["pylimit", "pylimit20000"])
def test_stack_exhaustion(stack_results: dict, stack_reference: dict, opt: str,
                          recursion_limit: int | None) -> None:
    """wasm recursion with small, big (sixteen i64 locals) and v128 frames, and
    wasm -> host -> wasm -> ... recursion, at every depth around where the stack runs
    out, with Python's recursion limit as it is and raised: each call returns its value
    or traps "call stack exhausted" (or the host's RecursionError propagates), never a
    crash, and the store stays usable; the shallow calls, huge depths and exhaustions
    caught at a host level give what wasmtime-py gives."""
    got = stack_results[(recursion_limit, opt)]
    assert not isinstance(got, str), got
    assert got.pop("sweep")["bad"] == []
    assert stack_reference["shallow"][:4] == [_rec_model(n) for n in (0, 1, 100, 1000)]
    assert stack_reference["huge"] == ["STACK_OVERFLOW"] * 3 + [True]
    # caught at host level c, the trap leaves ping(n) = 1000 + (n - c)
    assert stack_reference["catches"] == [
        "STACK_OVERFLOW" if c is None else 1000 + n - c for n, c, _ in CATCHES] + [True]
    assert got == stack_reference


THREAD_SIZES = (128 << 10, 256 << 10, 512 << 10, 1 << 20, 8 << 20)


def thread_stack_session(mod: Any, size: int, where: str) -> dict:
    """Deep recursion, host <-> wasm recursion and a caught exhaustion on a Python thread
    with a ``size``-byte stack, the Store made on the main thread or on that thread."""
    out: dict[str, Any] = {}
    eng = mod.Engine()
    g = StackGuest(mod, eng) if where == "main" else None

    def body() -> None:
        guest = g or StackGuest(mod, eng)
        out["res"] = [guest("rec", HUGE), guest("rec", 100) == _rec_model(100),
                      guest("rec_v128", HUGE), guest("ping", 100_000),
                      guest.ping_catching(5, 2, HUGE), guest.usable()]

    threading.stack_size(size)
    t = threading.Thread(target=body)
    t.start()
    t.join()
    return out


@pytest.fixture(scope="module")
def thread_stack_results() -> dict:
    """wasmlite's :func:`thread_stack_session` for every size of :data:`THREAD_SIZES`
    (one child; a size missing from its output is where it died)."""
    r = run_child("import json, test_sandbox as t\n"
                  "for size in t.THREAD_SIZES:\n"
                  "    print(json.dumps([size, [t.thread_stack_session(t.wl, size, w)"
                  " for w in ('main', 'thread')]]), flush=True)\n")
    done = dict(json.loads(line) for line in r.stdout.splitlines() if line.startswith("["))
    return {size: done.get(size, crash_text(r)) for size in THREAD_SIZES}


@pytest.mark.parametrize("size", THREAD_SIZES, ids=[f"{s >> 10}KiB" for s in THREAD_SIZES])
def test_stack_exhaustion_on_small_thread_stacks(thread_stack_results: dict, size: int) -> None:
    """On a thread whose stack is smaller than ``max_wasm_stack`` (1 MiB), with the
    Store made on the main thread or on the thread: a trap, never a crash.  (wasmtime-py
    50 itself dies with SIGSEGV on threads of 512 KiB or less, so it is compared only on
    the 8 MiB thread.)"""
    got = thread_stack_results[size]
    assert not isinstance(got, str), got
    for res in got:
        assert res["res"][:3] == ["STACK_OVERFLOW", True, "STACK_OVERFLOW"], res
        assert res["res"][3] in ("STACK_OVERFLOW", "RecursionError"), res
        assert res["res"][4:] == [1003, True], res
    if size == THREAD_SIZES[-1]:
        r = run_child("import json, test_sandbox as t\n"
                      f"print(json.dumps(t.thread_stack_session(t.wasmtime, {size}, 'main')))")
        assert r.returncode == 0, crash_text(r)
        assert json.loads(r.stdout.splitlines()[-1])["res"] == got[0]["res"]
