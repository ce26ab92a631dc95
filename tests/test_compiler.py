"""Compiler tests: wasm → LLVM IR → native code, run through a minimal ctypes harness.

The harness is independent of wasmlite.runtime.

It lays out a VMStoreContext, a VMContext with its memories, tables, globals and
VMFuncRefs (``environ/vmoffsets.py``) with ctypes, and calls exported functions through
the compiled entry trampolines.  Only what the compiler tests need: constant
initializers, active data/elem segments, host imports given as Python callables.
"""

from __future__ import annotations

import ctypes
import re
import struct

from wasmlite.binary.decoder import decode_module
from wasmlite.compiler import compile_module
from wasmlite.environ import vmoffsets as vo
from wasmlite.environ.module import (
    EXTERN_FUNC,
    F32,
    F64,
    I32,
    I64,
    PAGE_SIZE,
)
from wasmlite.errors import TrapCode
from wasmlite.runtime import routines
from wasmlite.runtime.stack import thread_stack_low_routine

ENTRY = ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p)
HOST_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.c_void_p, ctypes.c_void_p)
GROW = ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.c_void_p, ctypes.c_int32, ctypes.c_int32)

_TYPE_IDS: dict = {}


def type_id(ft) -> int:
    """Engine-wide signature id of a FuncType (structural)."""
    return _TYPE_IDS.setdefault(ft, len(_TYPE_IDS) + 100)


class TrapResult(Exception):
    def __init__(self, status: int):
        super().__init__(status)
        self.status = status
        self.code = TrapCode(status - 1) if 1 <= status <= len(TrapCode) else None


def _pack(t: int, v) -> bytes:
    if t == I32:
        return struct.pack("<I", v & 0xFFFFFFFF)
    if t == I64:
        return struct.pack("<Q", v & 0xFFFFFFFFFFFFFFFF)
    if t == F32:
        return struct.pack("<f", v) if isinstance(v, float) else struct.pack("<I", v)
    if t == F64:
        return struct.pack("<d", v) if isinstance(v, float) else struct.pack("<Q", v)
    return struct.pack("<Q", v or 0)


def _unpack(t: int, raw: bytes):
    if t == I32:
        return struct.unpack("<i", raw[:4])[0]
    if t == I64:
        return struct.unpack("<q", raw[:8])[0]
    if t == F32:
        return struct.unpack("<f", raw[:4])[0]
    if t == F64:
        return struct.unpack("<d", raw[:8])[0]
    return struct.unpack("<Q", raw[:8])[0]


def _const(expr) -> int | float:
    (opcode, imm, _off), = expr
    return imm


class Instance:
    """One instance of a module in its own store context.

    ``imports`` maps ``(module, name)`` to a Python callable taking and returning plain
    values (or raising :class:`TrapResult` to trap with a status).
    """

    def __init__(self, wasm: bytes, opt_level: str = "0", imports: dict | None = None,
                 max_stack: int = 256 * 1024, memory_pages_max: int = 4):
        self.info = info = decode_module(wasm)
        self.code = compile_module(info, opt_level=opt_level)
        self.offsets = off = vo.VMOffsets.for_module(info)
        self.keep: list = []
        self.store = ctypes.create_string_buffer(vo.STORE_CTX_SIZE)
        store_addr = ctypes.addressof(self.store)
        struct.pack_into("<Q", self.store, vo.STORE_MAX_STACK, max_stack)
        # this harness runs code without an instance: resolve the routines' thunks
        # (the stack-floor routine below is one) as instantiation would
        routines.resolve()
        struct.pack_into("<Q", self.store, vo.STORE_STACK_LOW_FN, thread_stack_low_routine())
        self.vmctx = ctypes.create_string_buffer(off.size)
        self.vmctx_addr = ctypes.addressof(self.vmctx)
        struct.pack_into("<Q", self.vmctx, vo.VMCTX_STORE_CTX, store_addr)
        # builtins: memory.grow only; the others trap with "unreachable" if used
        self.grow_cb = GROW(self._memory_grow)
        builtins = (ctypes.c_void_p * vo.NUM_BUILTINS)()
        builtins[vo.BUILTIN_MEMORY_GROW] = ctypes.cast(self.grow_cb, ctypes.c_void_p).value
        self.keep.append(builtins)
        struct.pack_into("<Q", self.vmctx, vo.VMCTX_BUILTINS, ctypes.addressof(builtins))
        for t, ft in enumerate(info.types):
            struct.pack_into("<Q", self.vmctx, off.type_id(t), type_id(ft))
        # memories
        self.memories = []
        for m, mt in enumerate(info.memory_types()):
            maxp = mt.limits.max if mt.limits.max is not None else memory_pages_max
            buf = ctypes.create_string_buffer(max(maxp, 1) * PAGE_SIZE)
            vmmem = (ctypes.c_uint64 * 3)(ctypes.addressof(buf), mt.limits.min * PAGE_SIZE,
                                          maxp * PAGE_SIZE)
            self.memories.append((buf, vmmem))
            struct.pack_into("<Q", self.vmctx, off.memory(m), ctypes.addressof(vmmem))
        for d in info.datas:
            if d.mode == "active":
                buf = self.memories[d.memory][0]
                start = _const(d.offset)
                ctypes.memmove(ctypes.addressof(buf) + start, d.data, len(d.data))
        # globals
        self.globals = []
        for g, gl in enumerate(info.globals):
            cell = ctypes.create_string_buffer(vo.GLOBAL_SIZE)
            cell[:8] = _pack(gl.type.valtype, _const(gl.init)).ljust(8, b"\0")
            self.globals.append(cell)
            struct.pack_into("<Q", self.vmctx, off.global_(g), ctypes.addressof(cell))
        # functions
        self.funcrefs = []
        nimp = info.num_imported_funcs
        imp_funcs = [i for i in info.imports if i.kind == EXTERN_FUNC]
        for f, t in enumerate(info.func_typeidx()):
            ref = (ctypes.c_uint64 * 3)()
            ft = info.types[t]
            ref[1] = type_id(ft)
            if f < nimp:
                imp = imp_funcs[f]
                fn = (imports or {})[(imp.module, imp.name)]
                cb = HOST_CALLBACK(self._host_callback(fn, ft))
                hostctx = (ctypes.c_uint64 * 3)(store_addr,
                                                ctypes.cast(cb, ctypes.c_void_p).value, f)
                self.keep += [cb, hostctx]
                ref[0] = self.code.host_stubs[t]
                ref[2] = ctypes.addressof(hostctx)
            else:
                ref[0] = self.code.function_addrs[f - nimp]
                ref[2] = self.vmctx_addr
            self.funcrefs.append(ref)
            struct.pack_into("<Q", self.vmctx, off.func(f), ctypes.addressof(ref))
        # tables
        self.tables = []
        for ti, tt in enumerate(info.table_types()):
            n = tt.limits.min
            elems = (ctypes.c_uint64 * max(n, 1))()
            vmtable = (ctypes.c_uint64 * 2)(ctypes.addressof(elems), n)
            self.tables.append((elems, vmtable))
            struct.pack_into("<Q", self.vmctx, off.table(ti), ctypes.addressof(vmtable))
        for seg in info.elems:
            if seg.mode == "active":
                elems = self.tables[seg.table][0]
                start = _const(seg.offset)
                for k, item in enumerate(seg.items):
                    (_op, fidx, _o), = item
                    elems[start + k] = ctypes.addressof(self.funcrefs[fidx]) \
                        if fidx is not None else 0

    def _memory_grow(self, vmctx, memidx, delta):
        buf, vmmem = self.memories[memidx]
        old = vmmem[1] // PAGE_SIZE
        if old + delta > vmmem[2] // PAGE_SIZE:
            return -1
        vmmem[1] = (old + delta) * PAGE_SIZE
        return old

    @staticmethod
    def _host_callback(fn, ft):
        def callback(hostctx, values):
            args = [_unpack(t, ctypes.string_at(values + 16 * i, 16))
                    for i, t in enumerate(ft.params)]
            try:
                res = fn(*args)
            except TrapResult as e:
                return e.status
            if len(ft.results) == 1:
                res = (res,)
            for i, (t, v) in enumerate(zip(ft.results, res or (), strict=False)):
                ctypes.memmove(values + 16 * i, _pack(t, v), len(_pack(t, v)))
            return 0
        return callback

    @property
    def memory(self) -> ctypes.Array:
        return self.memories[0][0]

    def backtrace(self) -> list[int | None]:
        """Defined-function indices of the frames recorded by the last trap."""
        n = struct.unpack_from("<Q", self.store, vo.STORE_BACKTRACE_LEN)[0]
        addrs = struct.unpack_from(f"<{n}Q", self.store, vo.STORE_BACKTRACE)
        return [self.code.symbolize(a) for a in addrs]

    def func_index(self, name: str) -> int:
        for e in self.info.exports:
            if e.name == name and e.kind == EXTERN_FUNC:
                return e.index
        raise KeyError(name)

    def call(self, name: str, *args):
        """Call export ``name``; returns None, one value or a tuple; raises TrapResult."""
        f = self.func_index(name)
        t = self.info.func_typeidx()[f]
        ft = self.info.types[t]
        n = max(len(ft.params), len(ft.results), 1)
        values = ctypes.create_string_buffer(16 * n)
        for i, (ty, v) in enumerate(zip(ft.params, args, strict=False)):
            raw = _pack(ty, v)
            values[16 * i:16 * i + len(raw)] = raw
        entry = ENTRY(self.code.entry_trampolines[t])
        ref = self.funcrefs[f]
        status = entry(ref[0], ref[2], ctypes.addressof(values))
        assert struct.unpack_from("<Q", self.store, vo.STORE_STACK_LIMIT)[0] == 0
        if status:
            assert struct.unpack_from("<Q", self.store, vo.STORE_TRAP_CODE)[0] == status
            raise TrapResult(status)
        res = [_unpack(ty, values.raw[16 * i:16 * i + 16]) for i, ty in enumerate(ft.results)]
        if not res:
            return None
        return res[0] if len(res) == 1 else tuple(res)


# ------------------------------------------------------------------------------------------
# Tests
# ------------------------------------------------------------------------------------------

import math  # noqa: E402

import pytest  # noqa: E402
import wasmtime  # noqa: E402

from wasmlite.errors import TRAP_MESSAGES, WasmtimeError  # noqa: E402

LEVELS = ["0", "2"]

I32_VALUES = [0, 1, -1, 2, -2, 7, -7, 31, 32, 33, 2 ** 31 - 1, -2 ** 31, 0x12345678,
              -0x789ABCDE]
I64_VALUES = [0, 1, -1, 2, 7, -7, 63, 64, 65, 2 ** 63 - 1, -2 ** 63, 0x123456789ABCDEF0,
              -2 ** 32, 2 ** 32, 2 ** 31, -2 ** 31]
_COMMON_F = [0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 1.5, 2.5, -2.5, 3.5, math.inf, -math.inf,
             math.nan, -0.99, 2.0 ** 31, -2.0 ** 31, 2.0 ** 32, 2.0 ** 63, -2.0 ** 63,
             2.0 ** 64, 1e-45, 3.4028234663852886e38]
F32_VALUES = _COMMON_F + [4294967040.0, 2147483520.0, -2147483904.0, 9223371487098961920.0,
                          18446742974197923840.0, -9223373136366403584.0]
F64_VALUES = _COMMON_F + [2147483647.9, -2147483648.9, -2147483649.0, 4294967295.9,
                          9223372036854774784.0, 18446744073709549568.0,
                          -9223372036854777856.0, 0.49999999999999994, 4503599627370497.0,
                          5e-324, -1.7976931348623157e308]
VALUES = {"i32": I32_VALUES, "i64": I64_VALUES, "f32": F32_VALUES, "f64": F64_VALUES}

BINARY = {
    "i32": "add sub mul div_s div_u rem_s rem_u and or xor shl shr_s shr_u rotl rotr "
           "eq ne lt_s lt_u gt_s gt_u le_s le_u ge_s ge_u",
    "f32": "add sub mul div min max copysign eq ne lt gt le ge",
}
BINARY["i64"] = BINARY["i32"]
BINARY["f64"] = BINARY["f32"]
UNARY = {
    "i32": "clz ctz popcnt eqz extend8_s extend16_s",
    "i64": "clz ctz popcnt eqz extend8_s extend16_s extend32_s",
    "f32": "abs neg ceil floor trunc nearest sqrt",
}
UNARY["f64"] = UNARY["f32"]
CMP_RESULT = {"eq", "ne", "lt_s", "lt_u", "gt_s", "gt_u", "le_s", "le_u", "ge_s", "ge_u",
              "lt", "gt", "le", "ge", "eqz"}
CONVERSIONS = [
    ("i32.wrap_i64", "i64", "i32"),
    ("i64.extend_i32_s", "i32", "i64"), ("i64.extend_i32_u", "i32", "i64"),
] + [(f"{it}.trunc{sat}_{ft}_{s}", ft, it) for it in ("i32", "i64") for ft in ("f32", "f64")
     for s in "su" for sat in ("", "_sat")] + [
    (f"{ft}.convert_{it}_{s}", it, ft) for ft in ("f32", "f64") for it in ("i32", "i64")
    for s in "su"] + [
    ("f32.demote_f64", "f64", "f32"), ("f64.promote_f32", "f32", "f64"),
    ("i32.reinterpret_f32", "f32", "i32"), ("i64.reinterpret_f64", "f64", "i64"),
    ("f32.reinterpret_i32", "i32", "f32"), ("f64.reinterpret_i64", "i64", "f64"),
]


def _numeric_cases() -> list[tuple[str, tuple[str, ...], str]]:
    """(instruction, param types, result type) of every numeric instruction tested."""
    cases = []
    for t, names in BINARY.items():
        for n in names.split():
            cases.append((f"{t}.{n}", (t, t), "i32" if n in CMP_RESULT else t))
    for t, names in UNARY.items():
        for n in names.split():
            cases.append((f"{t}.{n}", (t,), "i32" if n in CMP_RESULT else t))
    for name, src, dst in CONVERSIONS:
        cases.append((name, (src,), dst))
    return cases


NUMERIC_CASES = _numeric_cases()


def _numeric_wat() -> str:
    funcs = []
    for name, params, result in NUMERIC_CASES:
        ps = " ".join(params)
        gets = " ".join(f"local.get {i}" for i in range(len(params)))
        funcs.append(f'(func (export "{name}") (param {ps}) (result {result}) {gets} {name})')
    return "(module\n" + "\n".join(funcs) + ")"


NUMERIC_WASM = wasmtime.wat2wasm(_numeric_wat())


def _same(a, b) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        if math.isnan(a) and math.isnan(b):
            return True
        return a == b and math.copysign(1, a) == math.copysign(1, b)
    return a == b


def _reference(wasm: bytes):
    store = wasmtime.Store()
    inst = wasmtime.Instance(store, wasmtime.Module(store.engine, wasm), [])
    return store, inst.exports(store)


def _outcome_ref(store, exports, name, args):
    try:
        return ("ok", exports[name](store, *args))
    except wasmtime.Trap as e:
        return ("trap", str(e))


def _outcome(inst: Instance, name, args):
    try:
        return ("ok", inst.call(name, *args))
    except TrapResult as e:
        return ("trap", e.code)


def _agree(ours, ref) -> bool:
    if ours[0] != ref[0]:
        return False
    if ours[0] == "trap":
        return ours[1] is not None and TRAP_MESSAGES[ours[1]] in ref[1]
    return _same(ours[1], ref[1])


@pytest.fixture(scope="module", params=LEVELS)
def numeric_instance(request):
    return Instance(NUMERIC_WASM, opt_level=request.param)


@pytest.mark.parametrize("name,params,result", NUMERIC_CASES, ids=[c[0] for c in NUMERIC_CASES])
def test_numeric_matches_wasmtime(numeric_instance, name, params, result):
    """Every numeric instruction on edge-case operands gives the same value or trap as
    Wasmtime (NaNs compare as NaN, zeros by sign)."""
    store, exports = _reference(NUMERIC_WASM) if not hasattr(test_numeric_matches_wasmtime,
                                                               "_ref") else \
        test_numeric_matches_wasmtime._ref
    test_numeric_matches_wasmtime._ref = (store, exports)
    if len(params) == 1:
        inputs = [(a,) for a in VALUES[params[0]]]
    else:
        vals = VALUES[params[0]]
        inputs = [(a, b) for a in vals for b in vals]
    bad = []
    for args in inputs:
        ours = _outcome(numeric_instance, name, args)
        ref = _outcome_ref(store, exports, name, args)
        if not _agree(ours, ref):
            bad.append((args, ours, ref))
    assert not bad, bad[:5]


TRAP_STATUS_CASES = [
    ("i32.div_s", (1, 0), TrapCode.INTEGER_DIVISION_BY_ZERO),
    ("i32.div_s", (-2 ** 31, -1), TrapCode.INTEGER_OVERFLOW),
    ("i64.div_s", (-2 ** 63, -1), TrapCode.INTEGER_OVERFLOW),
    ("i64.rem_u", (5, 0), TrapCode.INTEGER_DIVISION_BY_ZERO),
    ("i32.trunc_f32_s", (math.nan,), TrapCode.BAD_CONVERSION_TO_INTEGER),
    ("i32.trunc_f64_u", (4294967296.0,), TrapCode.INTEGER_OVERFLOW),
    ("i64.trunc_f64_s", (-9223372036854777856.0,), TrapCode.INTEGER_OVERFLOW),
]


@pytest.mark.parametrize("name,args,code", TRAP_STATUS_CASES)
def test_trap_status_values(numeric_instance, name, args, code):
    """A trap returns status TrapCode + 1 from the entry trampoline and records it in the
    store context; the store's saved state is restored."""
    with pytest.raises(TrapResult) as e:
        numeric_instance.call(name, *args)
    assert e.value.status == int(code) + 1
    assert e.value.code == code


def test_rem_s_int_min_minus_one_is_zero(numeric_instance):
    assert numeric_instance.call("i32.rem_s", -2 ** 31, -1) == 0
    assert numeric_instance.call("i64.rem_s", -2 ** 63, -1) == 0


def test_float_min_max_signed_zero_and_nan(numeric_instance):
    inst = numeric_instance
    assert math.copysign(1, inst.call("f64.min", 0.0, -0.0)) == -1
    assert math.copysign(1, inst.call("f64.max", -0.0, 0.0)) == 1
    assert math.copysign(1, inst.call("f32.min", -0.0, 0.0)) == -1
    assert math.isnan(inst.call("f32.max", math.nan, 1.0))
    assert math.isnan(inst.call("f64.min", 1.0, math.nan))
    assert inst.call("f64.nearest", 2.5) == 2.0
    assert inst.call("f64.nearest", -3.5) == -4.0
    assert math.copysign(1, inst.call("f32.nearest", -0.5)) == -1


def test_conversion_boundaries(numeric_instance):
    """The exact edges of the trapping float→int conversions."""
    inst = numeric_instance
    assert inst.call("i32.trunc_f64_s", -2147483648.9) == -2 ** 31
    with pytest.raises(TrapResult):
        inst.call("i32.trunc_f64_s", -2147483649.0)
    assert inst.call("i32.trunc_f64_s", 2147483647.9) == 2 ** 31 - 1
    with pytest.raises(TrapResult):
        inst.call("i32.trunc_f64_s", 2147483648.0)
    assert inst.call("i32.trunc_f32_s", -2147483648.0) == -2 ** 31
    with pytest.raises(TrapResult):
        inst.call("i32.trunc_f32_s", -2147483904.0)
    assert inst.call("i32.trunc_f32_u", -0.99) == 0
    with pytest.raises(TrapResult):
        inst.call("i32.trunc_f32_u", -1.0)
    assert inst.call("i32.trunc_f32_u", 4294967040.0) == -256
    assert inst.call("i64.trunc_f64_u", 18446744073709549568.0) == -2048
    with pytest.raises(TrapResult):
        inst.call("i64.trunc_f64_u", 2.0 ** 64)
    assert inst.call("i64.trunc_f32_s", -2.0 ** 63) == -2 ** 63
    with pytest.raises(TrapResult):
        inst.call("i64.trunc_f32_s", 2.0 ** 63)
    assert inst.call("i32.trunc_sat_f32_s", math.nan) == 0
    assert inst.call("i64.trunc_sat_f64_u", -5.0) == 0
    assert inst.call("i32.trunc_sat_f64_u", 1e10) == -1


CONTROL_WAT = r"""
(module
  (type $ii (func (param i32) (result i32)))
  (type $ll (func (param i64) (result i64)))
  (func $swap (export "swap") (param i32 i32) (result i32 i32)
    local.get 1 local.get 0)
  (func (export "br_table") (param i32) (result i32)
    (block $d (block $c (block $b (block $a
      (br_table $a $b $c $a $d (local.get 0)))
      (return (i32.const 100)))
      (return (i32.const 101)))
      (return (i32.const 102)))
    (i32.const 103))
  (func (export "br_table_value") (param i32) (result i32)
    (block $out (result i32)
      (block $inner (result i32)
        (br_table $inner $out $inner (i32.const 7) (local.get 0)))
      (i32.const 1000) (i32.add)))
  (func (export "fact_loop") (param i64) (result i64) (local i64)
    (local.set 1 (i64.const 1))
    (block $done (loop $top
      (br_if $done (i64.eqz (local.get 0)))
      (local.set 1 (i64.mul (local.get 1) (local.get 0)))
      (local.set 0 (i64.sub (local.get 0) (i64.const 1)))
      (br $top)))
    (local.get 1))
  (func (export "loop_params") (param i32) (result i32)
    ;; sum 1..n with the accumulator and counter carried as loop parameters
    (i32.const 0) (local.get 0)
    (loop $l (param i32 i32) (result i32)
      (if (param i32 i32) (result i32) (i32.eqz (local.get 0))
        (then (drop))
        (else
          (local.set 0 (i32.sub (local.get 0) (i32.const 1)))
          (i32.add) (local.get 0) (i32.const 1) (i32.add) (i32.add)
          (local.get 0)
          (br $l)))))
  (func (export "multi_block") (param i32 i32) (result i32)
    (local.get 0) (local.get 1)
    (block (param i32 i32) (result i32 i32)
      (call $swap))
    (i32.sub))
  (func (export "if_no_else") (param i32) (result i32)
    (i32.const 5)
    (if (param i32) (result i32) (local.get 0) (then (i32.const 10) (i32.mul))))
  (func (export "select") (param i32 i64 i64) (result i64)
    (select (local.get 1) (local.get 2) (local.get 0)))
  (func (export "select_f") (param i32 f64 f64) (result f64)
    (select (result f64) (local.get 1) (local.get 2) (local.get 0)))
  (func (export "dead_code") (param i32) (result i32)
    (block $b (result i32)
      (br $b (local.get 0))
      (i32.const 1) (drop) (unreachable) (i32.const 3) (i32.add)
      (block (loop (br 0))) (if (param i32) (result i32) (then) (else))))
  (func (export "early_return") (param i32) (result i32)
    (if (local.get 0) (then (return (i32.const 1))))
    (i32.const 2))
  (func (export "unreachable") (unreachable))
  (func $even (export "even") (param i32) (result i32)
    (if (result i32) (i32.eqz (local.get 0)) (then (i32.const 1))
      (else (call $odd (i32.sub (local.get 0) (i32.const 1))))))
  (func $odd (param i32) (result i32)
    (if (result i32) (i32.eqz (local.get 0)) (then (i32.const 0))
      (else (call $even (i32.sub (local.get 0) (i32.const 1))))))
  (func $rec (export "runaway") (call $rec))
  (func $rec2 (export "runaway_i") (param i32) (result i32)
    (i32.add (call $rec2 (i32.add (local.get 0) (i32.const 1))) (i32.const 1)))
  (global $g (mut i32) (i32.const 42))
  (global $k i64 (i64.const -7))
  (func (export "globals") (param i32) (result i64)
    (global.set $g (i32.add (global.get $g) (local.get 0)))
    (i64.add (i64.extend_i32_s (global.get $g)) (global.get $k)))
)
"""

CONTROL_CASES = [
    ("swap", [(1, 2), (-5, 7)]),
    ("br_table", [(i,) for i in range(-1, 7)]),
    ("br_table_value", [(i,) for i in range(-1, 4)]),
    ("fact_loop", [(0,), (1,), (5,), (20,)]),
    ("loop_params", [(0,), (1,), (10,), (100,)]),
    ("multi_block", [(10, 3), (3, 10)]),
    ("if_no_else", [(0,), (1,)]),
    ("select", [(0, 1, 2), (1, 1, 2), (-1, -2 ** 63, 5)]),
    ("select_f", [(0, 1.5, -0.0), (7, 1.5, -0.0)]),
    ("dead_code", [(9,)]),
    ("early_return", [(0,), (1,)]),
    ("unreachable", [()]),
    ("even", [(0,), (7,), (1000,)]),
    ("globals", [(1,), (5,)]),
]


@pytest.fixture(scope="module", params=LEVELS)
def control_instance(request):
    return Instance(wasmtime.wat2wasm(CONTROL_WAT), opt_level=request.param)


@pytest.mark.parametrize("name,inputs", CONTROL_CASES, ids=[c[0] for c in CONTROL_CASES])
def test_control_matches_wasmtime(control_instance, name, inputs):
    store, exports = _reference(wasmtime.wat2wasm(CONTROL_WAT))
    for args in inputs:
        ours = _outcome(control_instance, name, args)
        ref = _outcome_ref(store, exports, name, args)
        if isinstance(ref[1], list):
            ref = (ref[0], tuple(ref[1]))
        assert _agree(ours, ref), (args, ours, ref)


@pytest.mark.parametrize("name", ["runaway", "runaway_i"])
def test_stack_overflow_traps(control_instance, name):
    """Infinite recursion traps with STACK_OVERFLOW (also at opt level 2, where tail-call
    elimination could otherwise turn it into an endless loop); the harness stays usable."""
    args = (0,) if name == "runaway_i" else ()
    with pytest.raises(TrapResult) as e:
        control_instance.call(name, *args)
    assert e.value.code == TrapCode.STACK_OVERFLOW
    assert control_instance.call("even", 10) == 1


def test_backtrace_names_wasm_frames():
    wat = """(module
      (func $inner (param i32) (result i32) (i32.div_u (i32.const 1) (local.get 0)))
      (func $middle (param i32) (result i32) (i32.add (call $inner (local.get 0)) (i32.const 1)))
      (func (export "outer") (param i32) (result i32) (i32.mul (call $middle (local.get 0)) (i32.const 3))))"""
    inst = Instance(wasmtime.wat2wasm(wat), opt_level="0")
    assert inst.call("outer", 1) == 6
    with pytest.raises(TrapResult) as e:
        inst.call("outer", 0)
    assert e.value.code == TrapCode.INTEGER_DIVISION_BY_ZERO
    frames = [f for f in inst.backtrace() if f is not None]
    assert frames == [0, 1, 2]


MEMORY_WAT = """
(module
  (memory 1 3)
  (data (i32.const 16) "\\01\\02\\03\\04\\05\\06\\07\\08")
  (func (export "load8_s") (param i32) (result i32) (i32.load8_s (local.get 0)))
  (func (export "load16_u") (param i32) (result i32) (i32.load16_u offset=2 (local.get 0)))
  (func (export "load32") (param i32) (result i32) (i32.load (local.get 0)))
  (func (export "load64") (param i32) (result i64) (i64.load offset=8 (local.get 0)))
  (func (export "load64_32s") (param i32) (result i64) (i64.load32_s (local.get 0)))
  (func (export "loadf64") (param i32) (result f64) (f64.load (local.get 0)))
  (func (export "store8") (param i32 i32) (i32.store8 (local.get 0) (local.get 1)))
  (func (export "store64") (param i32 i64) (i64.store offset=4 (local.get 0) (local.get 1)))
  (func (export "storef32") (param i32 f32) (f32.store (local.get 0) (local.get 1)))
  (func (export "big_offset") (param i32) (result i32) (i32.load offset=4294967295 (local.get 0)))
  (func (export "size") (result i32) (memory.size))
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  (func (export "fill") (param i32 i32 i32) (memory.fill (local.get 0) (local.get 1) (local.get 2)))
  (func (export "copy") (param i32 i32 i32) (memory.copy (local.get 0) (local.get 1) (local.get 2)))
)
"""

MEMORY_STEPS = [
    ("load8_s", (16,)), ("load8_s", (65535,)), ("load8_s", (65536,)), ("load8_s", (-1,)),
    ("load16_u", (65532,)), ("load16_u", (65533,)), ("load32", (65532,)), ("load32", (65533,)),
    ("load64", (16,)), ("load64", (65520,)), ("load64", (65521,)), ("load64_32s", (17,)),
    ("loadf64", (16,)), ("big_offset", (0,)), ("big_offset", (1,)),
    ("store8", (65535, 0x1FF)), ("load32", (65532,)), ("store8", (65536, 1)),
    ("store64", (65524, -1)), ("store64", (65525, -1)), ("load64", (65512,)),
    ("storef32", (100, 1.5)), ("load32", (100,)),
    ("fill", (65530, 0xAB, 6)), ("fill", (65530, 0xCD, 7)), ("load32", (65532,)),
    ("fill", (65536, 0, 0)), ("fill", (65537, 0, 0)),
    ("copy", (0, 16, 8)), ("load64", (-8,)), ("copy", (65530, 16, 7)), ("copy", (17, 16, 7)),
    ("load64", (9,)), ("copy", (65536, 65536, 0)), ("copy", (0, 65537, 0)),
    ("size", ()), ("grow", (1,)), ("size", ()), ("load32", (131068,)), ("load32", (131069,)),
    ("grow", (2,)), ("grow", (0,)), ("size", ()),
]


@pytest.mark.parametrize("level", LEVELS)
def test_memory_matches_wasmtime(level):
    """Loads, stores, bulk memory and memory.grow at the edges of linear memory give the
    same values and the same "out of bounds memory access" traps as Wasmtime."""
    wasm = wasmtime.wat2wasm(MEMORY_WAT)
    inst = Instance(wasm, opt_level=level)
    store, exports = _reference(wasm)
    for name, args in MEMORY_STEPS:
        ours = _outcome(inst, name, args)
        ref = _outcome_ref(store, exports, name, args)
        assert _agree(ours, ref), (name, args, ours, ref)


TABLE_WAT = """
(module
  (type $v_i (func (result i32)))
  (type $i_i (func (param i32) (result i32)))
  (table 5 funcref)
  (elem (i32.const 0) $one $two $double)
  (func $one (result i32) (i32.const 1))
  (func $two (result i32) (i32.const 2))
  (func $double (param i32) (result i32) (i32.mul (local.get 0) (i32.const 2)))
  (func (export "call_v") (param i32) (result i32) (call_indirect (type $v_i) (local.get 0)))
  (func (export "call_i") (param i32 i32) (result i32)
    (call_indirect (type $i_i) (local.get 1) (local.get 0)))
  (func (export "size") (result i32) (table.size 0))
  (func (export "is_null") (param i32) (result i32) (ref.is_null (table.get 0 (local.get 0))))
  (func (export "set") (param i32 i32) (table.set 0 (local.get 0) (table.get 0 (local.get 1))))
  (func (export "set_func") (param i32) (table.set 0 (local.get 0) (ref.func $two)))
)
"""

TABLE_STEPS = [
    ("call_v", (0,)), ("call_v", (1,)), ("call_v", (2,)), ("call_v", (3,)), ("call_v", (5,)),
    ("call_v", (-1,)), ("call_i", (2, 21)), ("call_i", (0, 1)), ("size", ()),
    ("is_null", (0,)), ("is_null", (4,)), ("is_null", (5,)), ("set", (4, 0)),
    ("call_v", (4,)), ("set", (5, 0)), ("set_func", (3,)), ("call_v", (3,)), ("set", (0, 2)),
    ("call_i", (0, 4)), ("call_v", (0,)),
]


@pytest.mark.parametrize("level", LEVELS)
def test_tables_and_call_indirect_match_wasmtime(level):
    """call_indirect's three checks (bounds, null, signature) and table.get/set/size."""
    wasm = wasmtime.wat2wasm(TABLE_WAT)
    inst = Instance(wasm, opt_level=level)
    store, exports = _reference(wasm)
    for name, args in TABLE_STEPS:
        ours = _outcome(inst, name, args)
        ref = _outcome_ref(store, exports, name, args)
        assert _agree(ours, ref), (name, args, ours, ref)


HOST_WAT = """
(module
  (import "env" "add3" (func $add3 (param i32 i64 f64) (result f64)))
  (import "env" "pair" (func $pair (param i32) (result i32 i64)))
  (import "env" "fail" (func $fail (param i32)))
  (func (export "use_add3") (param i32) (result f64)
    (call $add3 (local.get 0) (i64.const 10) (f64.const 0.5)))
  (func (export "use_pair") (param i32) (result i64) (local i64)
    (call $pair (local.get 0)) (local.set 1) (i64.extend_i32_s) (local.get 1) (i64.add))
  (func $inner (export "use_fail") (param i32) (call $fail (local.get 0)))
  (func (export "nested_fail") (param i32) (call $inner (local.get 0)))
)
"""


@pytest.mark.parametrize("level", LEVELS)
def test_host_stubs(level):
    """Imported host functions go through the host stubs: arguments and results cross
    in 16-byte slots, and a non-zero callback status traps with that status."""
    calls = []

    def fail(x):
        calls.append(x)
        if x:
            raise TrapResult(x)

    imports = {("env", "add3"): lambda a, b, c: a + b + c,
               ("env", "pair"): lambda a: (a * 2, -a),
               ("env", "fail"): fail}
    inst = Instance(wasmtime.wat2wasm(HOST_WAT), opt_level=level, imports=imports)
    assert inst.call("use_add3", 4) == 14.5
    assert inst.call("use_pair", 21) == 21
    assert inst.call("use_fail", 0) is None
    with pytest.raises(TrapResult) as e:
        inst.call("nested_fail", 1000)
    assert e.value.status == 1000
    with pytest.raises(TrapResult) as e:
        inst.call("use_fail", int(TrapCode.UNREACHABLE) + 1)
    assert e.value.code == TrapCode.UNREACHABLE
    assert calls == [0, 1000, 10]
    # after traps, normal calls still work
    assert inst.call("use_add3", 1) == 11.5


def test_v128_values_pass_through_locals_calls_globals_and_memory():
    """v128 params, results, locals, mutable globals, v128.load/store and v128.const
    keep all 128 bits (lane 0 in the low bits of the Python int)."""
    import wasmlite
    wat = """(module
      (global $g (mut v128) (v128.const i32x4 1 2 3 4))
      (memory 1)
      (func $id (param v128) (result v128) local.get 0)
      (func (export "f") (param v128) (result v128 v128)
        (local v128)
        (local.set 1 (call $id (local.get 0)))
        (v128.store offset=3 (i32.const 13) (local.get 1))
        (v128.load (i32.const 16))
        (global.set $g (v128.const i64x2 -1 7))
        (global.get $g))
      (func (export "oob") (v128.store (i32.const 65521) (v128.const i64x2 0 0))))"""
    store = wasmlite.Store()
    inst = wasmlite.Instance(store, wasmlite.Module(store.engine, wat), [])
    x = 0x0102030405060708090A0B0C0D0E0F10
    assert inst.exports(store)["f"](store, wasmlite.Val.v128(x)) == [x, (7 << 64) | (2**64 - 1)]
    with pytest.raises(wasmlite.Trap, match="out of bounds memory access"):
        inst.exports(store)["oob"](store)


def test_unknown_opt_level():
    wasm = wasmtime.wat2wasm("(module)")
    with pytest.raises(WasmtimeError, match="optimization level"):
        compile_module(decode_module(wasm), opt_level="3")


def test_compile_trampolines_only():
    from wasmlite.compiler import compile_trampolines
    from wasmlite.environ.module import FuncType

    types = [FuncType((I32,), (I32,)), FuncType((), ()), FuncType((I32,), (I32,))]
    code = compile_trampolines(types, opt_level="0")
    assert len(code.entry_trampolines) == 3 and len(code.host_stubs) == 3
    assert all(code.entry_trampolines) and all(code.host_stubs)
    assert code.entry_trampolines[0] == code.entry_trampolines[2]
    assert code.function_addrs == []


@pytest.mark.parametrize("parts", [1, 2])
def test_symbolize_and_parts(parts):
    """Function addresses map back to their defined-function index, addresses outside
    the unit's wasm code to None; a module split in LLVM parts (calls across parts go
    through VMFuncRefs) behaves the same."""
    wasm = wasmtime.wat2wasm(CONTROL_WAT)
    info = decode_module(wasm)
    code = compile_module(info, opt_level="0", parts=parts)
    assert code.num_parts == parts
    for i, a in enumerate(code.function_addrs):
        assert code.symbolize(a + 1) == i
    assert code.symbolize(min(code.function_addrs)) is None
    assert code.symbolize(max(code.entry_trampolines) + 1) is None
    assert code.symbolize(0) is None
    # the even/odd mutual recursion crosses the part boundary when split
    inst = Instance(wasm, opt_level="0")
    inst.code = code
    for f, ref in enumerate(inst.funcrefs):
        ref[0] = code.function_addrs[f]
    store, exports = _reference(wasm)
    for name, args in [("even", (101,)), ("loop_params", (10,)), ("fact_loop", (15,))]:
        assert inst.call(name, *args) == exports[name](store, *args)


def test_guard_pages_remove_load_store_checks_only() -> None:
    """With ``signals_tls_key`` loads/stores have no bounds check (one trap site
    remains for the bulk operation) but carry a debug location (for the signal
    handler's backtrace), they are volatile, and entry trampolines
    publish the store context under the TLS key."""
    from wasmlite.compiler import module_ir

    wat = """(module (memory 1)
      (func (param i32) (result i32)
        (i32.store (local.get 0) (i32.load offset=4 (local.get 0)))
        (drop (i64.load (local.get 0)))
        (memory.fill (local.get 0) (i32.const 0) (i32.const 8))
        (i32.load8_u (local.get 0))))"""
    info = decode_module(wasmtime.wat2wasm(wat))
    oob = f"@wasmlite_trap(ptr %sc, i32 {TrapCode.MEMORY_OUT_OF_BOUNDS + 1})"
    explicit = module_ir(info)
    guarded = module_ir(info, signals_tls_key=7)
    # four accesses + memory.fill check, each branching to its own trap call (located at
    # its wasm instruction)
    assert explicit.count(oob) == 5 and guarded.count(oob) == 1
    # every linear-memory access is volatile with guard pages (trap-exact: LLVM may not
    # delete, sink or reorder one), plain with explicit checks
    assert len(re.findall(r" = load volatile i\d+, ptr %v\d+, align 1, !tbaa !3, !dbg ",
                          guarded)) == 3
    assert len(re.findall(r"  store volatile i\d+ %v\d+, ptr %v\d+, align 1, !tbaa !3, !dbg ",
                          guarded)) == 1
    assert "!tbaa !3, !dbg" not in explicit
    assert not re.findall(r"(load|store) volatile [^\n]*!tbaa !3", explicit)
    assert "@pthread_setspecific(i32 7, ptr %sc)" in guarded
    assert "call i32 @pthread_setspecific" not in explicit
    assert '"no-builtins"' in guarded and '"no-builtins"' not in explicit


_BROKEN_IR_WITH_DEBUG_INFO = """
define i32 @f(i1 %c) {
entry:
  br i1 %c, label %a, label %b
a:
  %x = add i32 1, 2
  br label %b
b:
  ret i32 %x
}
!llvm.module.flags = !{!0}
!0 = !{i32 2, !"Debug Info Version", i32 3}
"""


def test_invalid_ir_with_debug_info_raises_instead_of_aborting() -> None:
    """IR that fails LLVM's verifier and carries the "Debug Info Version" flag (as all
    of the translator's does) is an internal compiler error, not an abort of the
    process (LLVM's debug-info upgrade on parsing used to ``report_fatal_error``).
    In a child process, so that a regression cannot take the test run down."""
    import subprocess
    import sys

    code = ("from wasmlite.compiler.codegen import JitCode\n"
            "from wasmlite.errors import WasmtimeError\n"
            f"ir = {_BROKEN_IR_WITH_DEBUG_INFO!r}\n"
            "try:\n"
            "    JitCode(ir, '0')\n"
            "except WasmtimeError as e:\n"
            "    print('raised', 'does not dominate' in str(e))\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.split() == ["raised", "True"]
