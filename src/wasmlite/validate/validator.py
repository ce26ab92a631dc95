"""Module validation, WebAssembly 2.0 specification §3 ("Validation").

:func:`validate_module` checks a decoded :class:`~wasmlite.environ.module.ModuleInfo`
(types, imports, limits, globals, element and data segments, start function, exports)
and types every function body with the algorithm of the specification's appendix
("Validation Algorithm", §A.3): an operand stack whose entries are valtypes or
*Unknown* (the bottom type of unreachable code), and a stack of control frames that
remember their label types, the operand-stack height at entry and whether the rest of
the block is unreachable.

Errors are :class:`~wasmlite.errors.ValidationError` with the spec testsuite's wording
(``"type mismatch"``, ``"unknown local 3"``, ...) and the byte offset of the offending
instruction (0 where the decoder recorded no offset).  The one binary-format rule that
can only be checked with the instructions at hand, "data count section required"
(spec §5.5.16), raises :class:`~wasmlite.errors.DecodeError`, as the testsuite
classifies it as malformed.

Speed matters (every module load validates): the simple numeric and vector
instructions, whose type is a fixed ``[t1*] -> [t2?]``, go through precomputed
signature tables and a fast path that compares the top of the stack directly; only
unreachable code or a type error falls back to the element-by-element algorithm.
When the caller does not want the instruction lists (``keep_bodies=False``), bodies
are checked straight from their bytes by :mod:`wasmlite.validate.fast` (possibly in
worker processes, :mod:`wasmlite.validate.parallel`), and this module's algorithm runs
only on the bodies that path rejects, to raise their error.
"""

from __future__ import annotations

import dataclasses
import gc
from bisect import bisect_right
from dataclasses import dataclass
from typing import Any

from wasmlite.binary import opcodes as op
from wasmlite.binary.decoder import read_instructions
from wasmlite.environ.module import (
    BLOCKTYPE_EMPTY,
    EXTERN_FUNC,
    EXTERN_GLOBAL,
    EXTERN_MEMORY,
    EXTERN_TABLE,
    EXTERNREF,
    F32,
    F64,
    FUNCREF,
    HT_FUNC,
    I32,
    I64,
    MAX_PAGES,
    REF_BASE,
    V128,
    VAL_TYPES,
    VALTYPE_NAMES,
    FuncType,
    Limits,
    ModuleInfo,
    as_non_null,
    canonical_types,
    defaultable,
    heap_type,
    is_ref,
    nullable,
    ref_type,
)
from wasmlite.errors import DecodeError, ValidationError

__all__ = ["Features", "validate_module", "UNKNOWN"]


@dataclass(frozen=True)
class Features:
    """The WebAssembly feature switches the validator honours (wasmtime's ``Config.wasm_*``).

    Every field defaults to what Wasmtime enables and wasmlite implements: the
    proposals merged into 2.0 (``mutable_global``, ``saturating_float_to_int``,
    ``sign_extension``, ``multi_value``, ``bulk_memory``, ``reference_types``,
    ``simd``) and, from 3.0, ``multi_memory`` (several memories, memory indices in the
    memory instructions; off, the 2.0 encodings and "multiple memories"),
    ``memory64`` (64-bit memories and tables, i64 addresses; off, 2.0's limits encoding
    and ``u32`` offsets),
    ``extended_const`` (``i32``/``i64`` ``add``, ``sub`` and ``mul`` are constant
    instructions, spec 3.0 §3.3.10; off, wasmparser's "constant expression required:
    non-constant operator: i32.add") and ``gc`` are on.  wasmlite implements none of
    the GC proposal's types and instructions (they are rejected whatever the switch
    says); ``gc`` carries only the constant-expression rule Wasmtime (wasmparser)
    attaches to it: ``global.get`` in a global's initializer may read any earlier
    immutable global and a segment's offset or item any immutable global (spec 3.0
    §3.4.10); off, only imported globals, as in 2.0 ("unknown global").
    ``relaxed_simd`` (the 20 relaxed SIMD instructions; off, "relaxed SIMD support is
    not enabled") and ``tail_call`` (``return_call``, ``return_call_indirect``) are on
    too, and so is ``function_references`` (typed references ``(ref null? ht)``,
    ``call_ref``, ``return_call_ref``, ``ref.as_non_null``, ``br_on_null``,
    ``br_on_non_null``, tables with initializers; off, as in Wasmtime, a nullable
    ``(ref null $t)`` is still accepted while ``gc`` is on).  A module using a disabled
    feature fails validation with wasmparser's wording, e.g. ``"SIMD support is not
    enabled"``.
    :meth:`wasmlite.Config._features` builds one from a :class:`~wasmlite.Config`.
    """

    simd: bool = True
    relaxed_simd: bool = True
    reference_types: bool = True
    bulk_memory: bool = True
    multi_value: bool = True
    mutable_global: bool = True
    saturating_float_to_int: bool = True
    sign_extension: bool = True
    multi_memory: bool = True
    memory64: bool = True
    extended_const: bool = True
    gc: bool = True
    tail_call: bool = True
    function_references: bool = True


#: the default feature set (WebAssembly 2.0, multi-memory, memory64, relaxed SIMD, tail
#: calls and the 3.0 constant expressions)
WASM2 = Features()

#: the switches that change nothing in function bodies (the fast path's concern): the
#: fast path decodes and accepts only the 2.0 memory encodings, and constant
#: expressions are checked by :func:`_validate_module_fields` either way
_MODULE_LEVEL_FEATURES = {"multi_memory": True, "memory64": True, "extended_const": True,
                          "gc": True}

#: The bottom type of the validation algorithm ("Unknown"): what popping from the
#: polymorphic stack of unreachable code yields.  Never equal to a valtype byte.
UNKNOWN = 0
#: ``(ref bot)`` (spec 3.0 appendix, validation algorithm): the non-null reference made
#: from Unknown by ``ref.as_non_null`` and ``br_on_null``; a subtype of every
#: reference type and of no number or vector type
BOT_REF = -2

_LETTERS = {"i": I32, "I": I64, "f": F32, "F": F64, "v": V128}

_NUM_OR_VEC = frozenset((I32, I64, F32, F64, V128, UNKNOWN))
_REF_OR_UNKNOWN = frozenset((FUNCREF, EXTERNREF, UNKNOWN))

# -- signature tables ----------------------------------------------------------------------
#
# Each line: ``params:result`` in the letters above (result may be empty), then the
# spec names of the instructions with that type.


def _shapes(names: str, shapes: str) -> str:
    return " ".join(f"{s}.{n}" for s in shapes.split() for n in names.split())


_SIGNATURE_TABLE = f"""
:i i32.const
:I i64.const
:f f32.const
:F f64.const
:v v128.const
i:i i32.eqz i32.clz i32.ctz i32.popcnt i32.extend8_s i32.extend16_s
ii:i {_shapes("eq ne lt_s lt_u gt_s gt_u le_s le_u ge_s ge_u add sub mul div_s div_u "
              "rem_s rem_u and or xor shl shr_s shr_u rotl rotr", "i32")}
I:i i64.eqz i32.wrap_i64
II:i {_shapes("eq ne lt_s lt_u gt_s gt_u le_s le_u ge_s ge_u", "i64")}
ff:i {_shapes("eq ne lt gt le ge", "f32")}
FF:i {_shapes("eq ne lt gt le ge", "f64")}
I:I i64.clz i64.ctz i64.popcnt i64.extend8_s i64.extend16_s i64.extend32_s
II:I {_shapes("add sub mul div_s div_u rem_s rem_u and or xor shl shr_s shr_u rotl rotr",
              "i64")}
f:f {_shapes("abs neg ceil floor trunc nearest sqrt", "f32")}
ff:f {_shapes("add sub mul div min max copysign", "f32")}
F:F {_shapes("abs neg ceil floor trunc nearest sqrt", "f64")}
FF:F {_shapes("add sub mul div min max copysign", "f64")}
f:i i32.trunc_f32_s i32.trunc_f32_u i32.reinterpret_f32 i32.trunc_sat_f32_s
    i32.trunc_sat_f32_u
F:i i32.trunc_f64_s i32.trunc_f64_u i32.trunc_sat_f64_s i32.trunc_sat_f64_u
i:I i64.extend_i32_s i64.extend_i32_u
f:I i64.trunc_f32_s i64.trunc_f32_u i64.trunc_sat_f32_s i64.trunc_sat_f32_u
F:I i64.trunc_f64_s i64.trunc_f64_u i64.reinterpret_f64 i64.trunc_sat_f64_s
    i64.trunc_sat_f64_u
i:f f32.convert_i32_s f32.convert_i32_u f32.reinterpret_i32
I:f f32.convert_i64_s f32.convert_i64_u
F:f f32.demote_f64
i:F f64.convert_i32_s f64.convert_i32_u
I:F f64.convert_i64_s f64.convert_i64_u f64.reinterpret_i64
f:F f64.promote_f32
i:v i8x16.splat i16x8.splat i32x4.splat
I:v i64x2.splat
f:v f32x4.splat
F:v f64x2.splat
v:v v128.not
    {_shapes("abs neg", "i8x16 i16x8 i32x4 i64x2 f32x4 f64x2")}
    i8x16.popcnt
    {_shapes("sqrt ceil floor trunc nearest", "f32x4 f64x2")}
    f32x4.demote_f64x2_zero f64x2.promote_low_f32x4
    i16x8.extadd_pairwise_i8x16_s i16x8.extadd_pairwise_i8x16_u
    i32x4.extadd_pairwise_i16x8_s i32x4.extadd_pairwise_i16x8_u
    {_shapes("extend_low_i8x16_s extend_high_i8x16_s extend_low_i8x16_u "
             "extend_high_i8x16_u", "i16x8")}
    {_shapes("extend_low_i16x8_s extend_high_i16x8_s extend_low_i16x8_u "
             "extend_high_i16x8_u", "i32x4")}
    {_shapes("extend_low_i32x4_s extend_high_i32x4_s extend_low_i32x4_u "
             "extend_high_i32x4_u", "i64x2")}
    i32x4.trunc_sat_f32x4_s i32x4.trunc_sat_f32x4_u f32x4.convert_i32x4_s
    f32x4.convert_i32x4_u i32x4.trunc_sat_f64x2_s_zero i32x4.trunc_sat_f64x2_u_zero
    f64x2.convert_low_i32x4_s f64x2.convert_low_i32x4_u
    i32x4.relaxed_trunc_f32x4_s i32x4.relaxed_trunc_f32x4_u
    i32x4.relaxed_trunc_f64x2_s_zero i32x4.relaxed_trunc_f64x2_u_zero
vv:v i8x16.swizzle v128.and v128.andnot v128.or v128.xor
    {_shapes("eq ne lt_s lt_u gt_s gt_u le_s le_u ge_s ge_u", "i8x16 i16x8 i32x4")}
    {_shapes("eq ne lt_s gt_s le_s ge_s", "i64x2")}
    {_shapes("eq ne lt gt le ge", "f32x4 f64x2")}
    i8x16.narrow_i16x8_s i8x16.narrow_i16x8_u i16x8.narrow_i32x4_s i16x8.narrow_i32x4_u
    {_shapes("add add_sat_s add_sat_u sub sub_sat_s sub_sat_u min_s min_u max_s max_u "
             "avgr_u", "i8x16 i16x8")}
    i16x8.q15mulr_sat_s i16x8.mul
    {_shapes("extmul_low_i8x16_s extmul_high_i8x16_s extmul_low_i8x16_u "
             "extmul_high_i8x16_u", "i16x8")}
    {_shapes("add sub mul min_s min_u max_s max_u dot_i16x8_s extmul_low_i16x8_s "
             "extmul_high_i16x8_s extmul_low_i16x8_u extmul_high_i16x8_u", "i32x4")}
    {_shapes("add sub mul extmul_low_i32x4_s extmul_high_i32x4_s extmul_low_i32x4_u "
             "extmul_high_i32x4_u", "i64x2")}
    {_shapes("add sub mul div min max pmin pmax", "f32x4 f64x2")}
    i8x16.relaxed_swizzle {_shapes("relaxed_min relaxed_max", "f32x4 f64x2")}
    i16x8.relaxed_q15mulr_s i16x8.relaxed_dot_i8x16_i7x16_s
vvv:v v128.bitselect
    {_shapes("relaxed_madd relaxed_nmadd", "f32x4 f64x2")}
    {_shapes("relaxed_laneselect", "i8x16 i16x8 i32x4 i64x2")}
    i32x4.relaxed_dot_i8x16_i7x16_add_s
v:i v128.any_true {_shapes("all_true bitmask", "i8x16 i16x8 i32x4 i64x2")}
vi:v {_shapes("shl shr_s shr_u", "i8x16 i16x8 i32x4 i64x2")}
"""

#: memory instructions: spec name → (params, result) in letters; the natural alignment
#: comes from ``opcodes.MEMARG_NATURAL_ALIGN``.
_MEMORY_TABLE = """
i:i i32.load i32.load8_s i32.load8_u i32.load16_s i32.load16_u
i:I i64.load i64.load8_s i64.load8_u i64.load16_s i64.load16_u i64.load32_s i64.load32_u
i:f f32.load
i:F f64.load
ii: i32.store i32.store8 i32.store16
iI: i64.store i64.store8 i64.store16 i64.store32
if: f32.store
iF: f64.store
i:v v128.load v128.load8x8_s v128.load8x8_u v128.load16x4_s v128.load16x4_u
    v128.load32x2_s v128.load32x2_u v128.load8_splat v128.load16_splat v128.load32_splat
    v128.load64_splat v128.load32_zero v128.load64_zero
iv: v128.store
"""

#: lane instructions: spec name → (params, result, lane count)
_LANE_TABLE = """
v:i16 i8x16.extract_lane_s i8x16.extract_lane_u
vi:v16 i8x16.replace_lane
v:i8 i16x8.extract_lane_s i16x8.extract_lane_u
vi:v8 i16x8.replace_lane
v:i4 i32x4.extract_lane
vi:v4 i32x4.replace_lane
v:I2 i64x2.extract_lane
vI:v2 i64x2.replace_lane
v:f4 f32x4.extract_lane
vf:v4 f32x4.replace_lane
v:F2 f64x2.extract_lane
vF:v2 f64x2.replace_lane
iv:v16 v128.load8_lane
iv:v8 v128.load16_lane
iv:v4 v128.load32_lane
iv:v2 v128.load64_lane
iv:16 v128.store8_lane
iv:8 v128.store16_lane
iv:4 v128.store32_lane
iv:2 v128.store64_lane
"""


def _parse_table(text: str) -> dict[int, tuple[str, str]]:
    """``opcode -> (params, result)`` (letter strings) from one of the tables above."""
    out: dict[int, tuple[str, str]] = {}
    sig: tuple[str, str] | None = None
    for tok in text.split():
        if ":" in tok:
            p, r = tok.split(":")
            sig = (p, r)
            continue
        assert sig is not None
        out[op.OPCODES_BY_NAME[tok]] = sig
    return out


def _types(letters: str) -> tuple[int, ...]:
    return tuple(_LETTERS[c] for c in letters)


# Instruction kinds, tested in the hot loop roughly in order of frequency.
K_LOCAL_GET = 1
K_CONST = 2  # [] -> [t]
K_BINARY = 3  # [t1 t2] -> [t]
K_LOCAL_SET = 4
K_LOAD = 5  # memarg, [i32] -> [t]
K_STORE = 6  # memarg, [i32 t] -> []
K_UNARY = 7  # [t1] -> [t]
K_LOCAL_TEE = 8
K_BR_IF = 9
K_END = 10
K_BLOCK = 11
K_CALL = 12
K_GENERIC = 13  # any other fixed [t1*] -> [t2?]
K_OTHER = 14  # everything handled in _BodyValidator.other

#: opcode -> (kind, params (stack order), result or None)
_DISPATCH: dict[int, tuple[int, tuple[int, ...], int | None]] = {}

for _opc, (_p, _r) in _parse_table(_SIGNATURE_TABLE).items():
    _params = _types(_p)
    _res = _LETTERS[_r] if _r else None
    if not _params and _res is not None:
        _kind = K_CONST
    elif len(_params) == 1 and _res is not None:
        _kind = K_UNARY
    elif len(_params) == 2 and _res is not None:
        _kind = K_BINARY
    else:
        _kind = K_GENERIC
    _DISPATCH[_opc] = (_kind, _params, _res)

#: memarg opcode -> (params, result, natural alignment log2)
_MEMOPS: dict[int, tuple[tuple[int, ...], int | None, int]] = {}
for _opc, (_p, _r) in _parse_table(_MEMORY_TABLE).items():
    _params = _types(_p)
    _res = _LETTERS[_r] if _r else None
    _MEMOPS[_opc] = (_params, _res, op.MEMARG_NATURAL_ALIGN[_opc])
    _DISPATCH[_opc] = (K_LOAD if _res is not None else K_STORE, _params, _res)

#: lane opcode -> (params, result, lane count, natural alignment log2 or None)
_LANEOPS: dict[int, tuple[tuple[int, ...], int | None, int, int | None]] = {}
for _opc, (_p, _r) in _parse_table(_LANE_TABLE).items():
    _lanes = int(_r.lstrip("iIfFv"))
    _r = _r[: len(_r) - len(str(_lanes))]
    _LANEOPS[_opc] = (_types(_p), _LETTERS[_r] if _r else None, _lanes,
                      op.MEMARG_NATURAL_ALIGN.get(_opc))
    _DISPATCH[_opc] = (K_OTHER, (), None)

_DISPATCH[op.LOCAL_GET] = (K_LOCAL_GET, (), None)
_DISPATCH[op.LOCAL_SET] = (K_LOCAL_SET, (), None)
_DISPATCH[op.LOCAL_TEE] = (K_LOCAL_TEE, (), None)
_DISPATCH[op.BR_IF] = (K_BR_IF, (), None)
_DISPATCH[op.END] = (K_END, (), None)
_DISPATCH[op.BLOCK] = (K_BLOCK, (), None)
_DISPATCH[op.LOOP] = (K_BLOCK, (), None)
_DISPATCH[op.CALL] = (K_CALL, (), None)
for _name in ("unreachable nop if else br br_table return call_indirect drop select "
              "return_call return_call_indirect "
              "call_ref return_call_ref ref.as_non_null br_on_null br_on_non_null "
              "select_t global.get global.set table.get table.set memory.size memory.grow "
              "memory.init data.drop memory.copy memory.fill table.init elem.drop "
              "table.copy table.grow table.size table.fill ref.null ref.is_null ref.func "
              "i8x16.shuffle").split():
    _DISPATCH[op.OPCODES_BY_NAME[_name]] = (K_OTHER, (), None)

#: the dispatch of bodies with non-defaultable locals: ``local.*`` check initialization
#: in :meth:`_BodyValidator.other`
_DISPATCH_INIT = dict(_DISPATCH)
for _opc in (op.LOCAL_GET, op.LOCAL_SET, op.LOCAL_TEE):
    _DISPATCH_INIT[_opc] = (K_OTHER, (), None)

#: constant instructions allowed in constant expressions (spec §3.3.10), with their type
_CONST_TYPES = {op.I32_CONST: I32, op.I64_CONST: I64, op.F32_CONST: F32,
                op.F64_CONST: F64, op.V128_CONST: V128}
#: the extended-const instructions (spec 3.0 §3.3.10): ``[t t] -> [t]``, their type and
#: name (wasmparser names them when ``Features.extended_const`` is off)
_EXTENDED_CONST = {opc: ((I32 if opc < op.I64_ADD else I64), op.OPCODE_NAMES[opc])
                   for opc in (op.I32_ADD, op.I32_SUB, op.I32_MUL,
                               op.I64_ADD, op.I64_SUB, op.I64_MUL)}

_NO_SIG: tuple[tuple[int, ...], tuple[int, ...]] = ((), ())


def _err(message: str, offset: int) -> ValidationError:
    return ValidationError(message, offset)


# -- module-level checks -------------------------------------------------------------------

def _check_limits(limits: Limits, bound: int, message: str, offset: int) -> None:
    """Spec §3.2.1 (limits): ``min`` and ``max`` within ``bound``, ``min <= max``."""
    if limits.min > bound:
        raise _err(message, offset)
    if limits.max is not None:
        if limits.max > bound:
            raise _err(message, offset)
        if limits.min > limits.max:
            raise _err("size minimum must not be greater than maximum", offset)


_MEMORY_LIMIT_MESSAGE = "memory size must be at most 65536 pages (4GiB)"
_MEMORY64_LIMIT_MESSAGE = "memory size must be at most 2**48 pages"
_TABLE_LIMIT_MESSAGE = "table size must be at most 2^32-1"


def _check_memory_type(ctx: _Context, mt: Any, offset: int) -> None:
    """A ``memtype`` (spec 3.0 §3.2.4): 32-bit limits within 65536 pages, 64-bit ones
    (memory64) within 2**48; shared memories (threads) are not implemented."""
    if mt.is_64:
        if not ctx.features.memory64:
            raise _err("memory64 must be enabled for 64-bit memories", offset)
        _check_limits(mt.limits, 1 << 48, _MEMORY64_LIMIT_MESSAGE, offset)
    else:
        _check_limits(mt.limits, MAX_PAGES, _MEMORY_LIMIT_MESSAGE, offset)
    if mt.shared:
        raise _err("threads must be enabled for shared memories", offset)


def _check_table_type(ctx: _Context, tt: Any, offset: int) -> None:
    """A ``tabletype``: limits within 2**32-1 elements (2**64-1 for a 64-bit table,
    memory64)."""
    if tt.is_64:
        if not ctx.features.memory64:
            raise _err("memory64 must be enabled for 64-bit tables", offset)
        _check_limits(tt.limits, (1 << 64) - 1, "table size must be at most 2^64-1", offset)
        return
    _check_limits(tt.limits, 0xFFFFFFFF, _TABLE_LIMIT_MESSAGE, offset)


class _Context:
    """The validation context ``C`` of spec §3.1.1, flattened for quick lookup."""

    def __init__(self, info: ModuleInfo, features: Features | None = None):
        self.info = info
        #: the switches (``None``: the defaults, :data:`WASM2`)
        self.features = features or WASM2
        self.types = info.types
        self.func_types: list[FuncType] = []
        self.tables = info.table_types()
        self.memories = info.memory_types()
        self.globals = info.global_types()
        self.num_imported_globals = info.num_imported_globals
        self.elem_types = [e.type for e in info.elems]
        self.num_datas = info.data_count if info.data_count is not None else len(info.datas)
        self.refs: set[int] = set()
        #: the address type of each memory and table: I64 for a 64-bit one (memory64)
        self.mem_at = [I64 if m.is_64 else I32 for m in self.memories]
        self.tab_at = [I64 if t.is_64 else I32 for t in self.tables]
        #: ``typeidx`` of every function (the type of ``ref.func``)
        self.func_typeidx: list[int] = []
        #: the module-independent form of each type (``environ.module.canonical_types``):
        #: two types with equal forms are the same type (spec 3.0 type equivalence;
        #: each type is its own recursion group)
        self.type_keys = canonical_types(info.types)

    def matches(self, a: int, b: int) -> bool:
        """``a <: b`` (spec 3.0 §3.3.1, "matching"; Unknown matches anything)."""
        if a == b or a == UNKNOWN or b == UNKNOWN:
            return True
        if a == BOT_REF:
            return is_ref(b)
        if (a < REF_BASE and b < REF_BASE) or not (is_ref(a) and is_ref(b)):
            return False
        if nullable(a) and not nullable(b):
            return False
        ha = heap_type(a)
        hb = heap_type(b)
        if ha == hb:
            return True
        if hb == HT_FUNC:
            return ha >= 0
        if ha >= 0 and hb >= 0:
            keys = self.type_keys
            return ha < len(keys) and hb < len(keys) and keys[ha] == keys[hb]
        return False


def _collect_refs(expr: list | None, refs: set[int]) -> None:
    if expr:
        for ins in expr:
            if ins[0] == op.REF_FUNC:
                refs.add(ins[1])


def _check_const_expr(ctx: _Context, expr: list | None, expected: int, where: int,
                      nglobals: int) -> None:
    """A constant expression of type ``[expected]`` (spec 3.0 §3.3.10 "Constant
    Expressions"; 2.0 §3.3.10 with the switches off).

    The constant instructions are ``t.const``, ``ref.null``, ``ref.func``,
    ``global.get`` of an immutable global and, with ``Features.extended_const``,
    ``i32``/``i64`` ``add``/``sub``/``mul``.  ``global.get`` sees the first ``nglobals``
    globals (spec 3.0 §3.4.10: a global's initializer the imported and earlier globals,
    a segment every global; the caller passes the imported ones alone when
    ``Features.gc`` is off, the 2.0 context ``C'``).  The instructions are checked in order, as wasmparser does:
    the first non-constant one or type error is reported.
    """
    stack: list[int] = []
    for opc, imm, off in expr or ():
        t = _CONST_TYPES.get(opc)
        if t is not None:
            stack.append(t)
        elif opc == op.REF_NULL:
            _check_vt(ctx, imm, off)
            stack.append(imm)
        elif opc == op.REF_FUNC:
            if imm >= len(ctx.func_types):
                raise _err(f"unknown function {imm}", off)
            stack.append(ref_type(False, ctx.func_typeidx[imm]))
        elif opc == op.GLOBAL_GET:
            if imm >= nglobals:
                raise _err(f"unknown global {imm}", off)
            g = ctx.globals[imm]
            if g.mutable:
                raise _err("constant expression required: global.get of mutable global", off)
            stack.append(g.valtype)
        elif opc in _EXTENDED_CONST:
            t, name = _EXTENDED_CONST[opc]
            if not ctx.features.extended_const:
                raise _err(f"constant expression required: non-constant operator: {name}",
                           off)
            if len(stack) < 2 or stack[-1] != t or stack[-2] != t:
                raise _err("type mismatch", off)
            stack.pop()
        elif opc != op.END:
            raise _err("constant expression required", off)
    if len(stack) != 1 or not ctx.matches(stack[0], expected):
        raise _err("type mismatch", expr[-1][2] if expr else where)


def _check_vt(ctx: _Context, t: int, offset: int, limit: int | None = None) -> None:
    """The type index of a typed reference type ``t`` must exist (below ``limit``,
    default every type): "unknown type N"."""
    if t >= REF_BASE:
        h = heap_type(t)
        if h >= (len(ctx.types) if limit is None else limit):
            raise _err(f"unknown type {h}: type index out of bounds", offset)


def _validate_module_fields(ctx: _Context) -> None:
    info = ctx.info
    ntypes = len(info.types)
    for i, ft in enumerate(info.types):
        for t in ft.params + ft.results:
            _check_vt(ctx, t, 0, i + 1)   # earlier types and the type itself
    for imp in info.imports:
        if imp.kind == EXTERN_FUNC:
            if not (0 <= imp.desc < ntypes):
                raise _err(f"unknown type {imp.desc}", imp.offset)
        elif imp.kind == EXTERN_TABLE:
            _check_vt(ctx, imp.desc.elem, imp.offset)
            _check_table_type(ctx, imp.desc, imp.offset)
        elif imp.kind == EXTERN_MEMORY:
            _check_memory_type(ctx, imp.desc, imp.offset)
        elif imp.kind == EXTERN_GLOBAL:
            _check_vt(ctx, imp.desc.valtype, imp.offset)
        else:  # pragma: no cover - the decoder rejects other kinds
            raise _err("malformed import kind", imp.offset)
    for typeidx in info.funcs:
        if not (0 <= typeidx < ntypes):
            raise _err(f"unknown type {typeidx}", 0)
    ctx.func_typeidx = info.func_typeidx()
    ctx.func_types = [info.types[t] for t in ctx.func_typeidx]
    for table in info.tables:
        _check_vt(ctx, table.elem, 0)
        _check_table_type(ctx, table, 0)
    for g in info.globals:
        _check_vt(ctx, g.type.valtype, 0)
    for e in info.elems:
        _check_vt(ctx, e.type, 0)
    for memory in info.memories:
        _check_memory_type(ctx, memory, 0)
    if len(ctx.memories) > 1 and not ctx.features.multi_memory:
        raise _err("multiple memories", 0)

    # C.refs: function indices occurring outside function bodies (spec §3.4.10).
    refs = ctx.refs
    for g in info.globals:
        _collect_refs(g.init, refs)
    for e in info.elems:
        for item in e.items:
            _collect_refs(item, refs)
        _collect_refs(e.offset, refs)
    for init in info.table_inits.values():
        _collect_refs(init, refs)
    for d in info.datas:
        _collect_refs(d.offset, refs)
    for ex in info.exports:
        if ex.kind == EXTERN_FUNC:
            refs.add(ex.index)

    # constant expressions (spec 3.0 §3.4.10): a global's initializer sees the imported
    # and the earlier globals, the segments every global; 2.0 (``gc`` off): the imported
    nimported = ctx.num_imported_globals
    see_defined = ctx.features.gc   # Wasmtime ties the 3.0 global.get rule to GC
    for i, table in enumerate(info.tables):
        init = info.table_inits.get(i)
        if init is not None:
            _check_const_expr(ctx, init, table.elem, 0, nimported)
        elif not defaultable(table.elem):
            raise _err("type mismatch: non-defaultable element type", 0)
    for i, g in enumerate(info.globals):
        _check_const_expr(ctx, g.init, g.type.valtype, 0,
                          nimported + i if see_defined else nimported)
    nseg = len(ctx.globals) if see_defined else nimported
    for e in info.elems:
        for item in e.items:
            _check_const_expr(ctx, item, e.type, 0, nseg)
        if e.mode == "active":
            if e.table >= len(ctx.tables):
                raise _err(f"unknown table {e.table}", 0)
            if not ctx.matches(e.type, ctx.tables[e.table].elem):
                raise _err("type mismatch", 0)
            _check_const_expr(ctx, e.offset, ctx.tab_at[e.table], 0, nseg)
    for d in info.datas:
        if d.mode == "active":
            if d.memory >= len(ctx.memories):
                raise _err(f"unknown memory {d.memory}", 0)
            _check_const_expr(ctx, d.offset, ctx.mem_at[d.memory], 0, nseg)
    if info.start is not None:
        if info.start >= len(ctx.func_types):
            raise _err(f"unknown function {info.start}", 0)
        ft = ctx.func_types[info.start]
        if ft.params or ft.results:
            raise _err("start function", 0)
    names: set[str] = set()
    spaces = {EXTERN_FUNC: (len(ctx.func_types), "function"),
              EXTERN_TABLE: (len(ctx.tables), "table"),
              EXTERN_MEMORY: (len(ctx.memories), "memory"),
              EXTERN_GLOBAL: (len(ctx.globals), "global")}
    for ex in info.exports:
        count, what = spaces[ex.kind]
        if ex.index >= count:
            raise _err(f"unknown {what} {ex.index}", 0)
        if ex.name in names:
            raise _err("duplicate export name", 0)
        names.add(ex.name)


# -- function bodies -----------------------------------------------------------------------

class _ExpandedLocals:
    """Local types looked up through the compressed declarations (for huge counts)."""

    def __init__(self, params: tuple[int, ...], decls: list[tuple[int, int]]):
        self.bounds: list[int] = []
        self.kinds: list[int] = []
        n = 0
        for t in params:
            n += 1
            self.bounds.append(n)
            self.kinds.append(t)
        for count, t in decls:
            if count:
                n += count
                self.bounds.append(n)
                self.kinds.append(t)
        self.total = n

    def __len__(self) -> int:
        return self.total

    def __getitem__(self, index: int) -> int:
        if not (0 <= index < self.total):
            raise IndexError(index)
        return self.kinds[bisect_right(self.bounds, index)]


class _BodyValidator:
    """Validates one function body (spec appendix A.3, "Validation Algorithm").

    A control frame is the list ``[opcode, start_types, end_types, height, unreachable,
    label_types, inits_height]``.

    Non-defaultable locals (typed function references: a non-nullable reference type)
    must be set before they are read (spec 3.0 appendix, "local initialization"):
    ``uninit`` holds those not set yet, ``inits`` those set, in order, and a frame
    remembers the height of ``inits`` at its start, to which ``end`` and ``else``
    return.  Only bodies with such locals pay for this: their ``local.*`` go through
    :meth:`other` (:data:`_DISPATCH_INIT`).
    """

    def __init__(self, ctx: _Context, ftype: FuncType, locals_, instrs: list,
                 uninit: set[int] | None = None):
        self.ctx = ctx
        self.locals = locals_
        self.stack: list[int] = []
        self.ctrls: list[list] = [
            [op.BLOCK, (), ftype.results, 0, False, ftype.results, 0]]
        self.instrs = instrs
        self.uninit = uninit
        self.inits: list[int] = []

    # -- the algorithm's primitives -----------------------------------------------------
    def pop(self, expect: int, offset: int) -> int:
        stack = self.stack
        frame = self.ctrls[-1]
        if len(stack) == frame[3]:
            if frame[4]:
                return UNKNOWN
            raise _err("type mismatch", offset)
        actual = stack.pop()
        if actual != expect and actual != UNKNOWN and expect != UNKNOWN and \
                not self.ctx.matches(actual, expect):
            raise _err("type mismatch", offset)
        return actual

    def pop_vals(self, types: tuple[int, ...], offset: int) -> list[int]:
        out = [0] * len(types)
        for i in range(len(types) - 1, -1, -1):
            out[i] = self.pop(types[i], offset)
        return out

    def push_ctrl(self, opcode: int, start: tuple, end: tuple) -> None:
        labels = start if opcode == op.LOOP else end
        self.ctrls.append([opcode, start, end, len(self.stack), False, labels,
                           len(self.inits)])
        self.stack.extend(start)

    def pop_ctrl(self, offset: int) -> list:
        frame = self.ctrls[-1]
        self.pop_vals(frame[2], offset)
        if len(self.stack) != frame[3]:
            raise _err("type mismatch", offset)
        self.ctrls.pop()
        if self.uninit is not None:
            self.reset_locals(frame)
        return frame

    def reset_locals(self, frame: list) -> None:
        """Forget the initialization of the locals set inside ``frame``."""
        inits = self.inits
        while len(inits) > frame[6]:
            self.uninit.add(inits.pop())  # type: ignore[union-attr]

    def valtype(self, t: int, offset: int) -> int:
        """``t``, whose type index (typed references) must exist."""
        if t >= REF_BASE:
            _check_vt(self.ctx, t, offset)
        return t

    def pop_ref(self, offset: int) -> int:
        """Pop a reference (or Unknown): "type mismatch: expected ref but found t"."""
        t = self.pop(UNKNOWN, offset)
        if t != UNKNOWN and t != BOT_REF and not is_ref(t):
            raise _err(f"type mismatch: expected ref but found {VALTYPE_NAMES[t]}", offset)
        return t

    def set_unreachable(self) -> None:
        frame = self.ctrls[-1]
        del self.stack[frame[3]:]
        frame[4] = True

    def label(self, labelidx: int, offset: int) -> list:
        if labelidx >= len(self.ctrls):
            raise _err(f"unknown label {labelidx}", offset)
        return self.ctrls[-1 - labelidx]

    def blocktype(self, bt: int, offset: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
        if bt == BLOCKTYPE_EMPTY:
            return _NO_SIG
        if bt < 0:
            if bt <= -REF_BASE:
                return (), (self.valtype(-bt, offset),)
            t = bt & 0x7F
            if t not in VAL_TYPES:
                raise DecodeError("malformed value type", offset)
            return (), (t,)
        if bt >= len(self.ctx.types):
            raise _err(f"unknown type {bt}", offset)
        ft = self.ctx.types[bt]
        return ft.params, ft.results

    def call_ref_type(self, typeidx: int, offset: int) -> FuncType:
        """The function type ``typeidx`` of ``call_ref`` / ``return_call_ref``."""
        if typeidx >= len(self.ctx.types):
            raise _err(f"unknown type {typeidx}: type index out of bounds", offset)
        return self.ctx.types[typeidx]

    def memory(self, offset: int, memidx: int = 0) -> None:
        if memidx >= len(self.ctx.memories):
            raise _err(f"unknown memory {memidx}", offset)

    def indirect_type(self, imm: tuple[int, int], off: int) -> Any:
        """The function type of a ``call_indirect``/``return_call_indirect`` with
        immediate ``(typeidx, tableidx)``: the table must exist and hold functions."""
        typeidx, tableidx = imm
        elem = self.table(tableidx, off)
        if typeidx >= len(self.ctx.types):
            raise _err(f"unknown type {typeidx}", off)
        if not self.ctx.matches(elem, FUNCREF):
            raise _err("type mismatch", off)
        return self.ctx.types[typeidx]

    def table(self, tableidx: int, offset: int) -> int:
        tables = self.ctx.tables
        if tableidx >= len(tables):
            raise _err(f"unknown table {tableidx}", offset)
        return tables[tableidx].elem

    def data(self, dataidx: int, offset: int) -> None:
        if self.ctx.info.data_count is None:
            raise DecodeError("data count section required", offset)
        if dataidx >= self.ctx.num_datas:
            raise _err(f"unknown data segment {dataidx}", offset)

    def elem(self, elemidx: int, offset: int) -> int:
        if elemidx >= len(self.ctx.elem_types):
            raise _err(f"unknown elem segment {elemidx}", offset)
        return self.ctx.elem_types[elemidx]

    # -- the main loop ------------------------------------------------------------------
    def run(self) -> None:
        stack = self.stack
        ctrls = self.ctrls
        locals_ = self.locals
        pop = self.pop
        pop_vals = self.pop_vals
        dispatch = _DISPATCH if self.uninit is None else _DISPATCH_INIT
        func_types = self.ctx.func_types
        memories = self.ctx.memories
        mem_at = self.ctx.mem_at
        memops = _MEMOPS
        h = 0  # operand-stack height of the innermost frame
        instrs = self.instrs
        n = len(instrs)
        i = 0
        for opc, imm, off in instrs:
            i += 1
            try:
                kind, params, res = dispatch[opc]
            except KeyError:
                raise _err("unknown operator", off) from None
            if kind == K_LOCAL_GET:
                try:
                    stack.append(locals_[imm])
                except IndexError:
                    raise _err(f"unknown local {imm}", off) from None
            elif kind == K_CONST:
                stack.append(res)
            elif kind == K_BINARY:
                if len(stack) - 2 >= h and stack[-1] == params[1] and stack[-2] == params[0]:
                    stack.pop()
                    stack[-1] = res
                else:
                    pop(params[1], off)
                    pop(params[0], off)
                    stack.append(res)
            elif kind == K_LOCAL_SET:
                try:
                    t = locals_[imm]
                except IndexError:
                    raise _err(f"unknown local {imm}", off) from None
                if len(stack) > h and stack[-1] == t:
                    stack.pop()
                else:
                    pop(t, off)
            elif kind == K_LOAD:
                if len(imm) > 2:
                    self.memory(off, imm[2])
                    at = mem_at[imm[2]]
                elif not memories:
                    raise _err("unknown memory 0", off)
                else:
                    at = mem_at[0]
                if imm[0] > memops[opc][2]:
                    raise _err("alignment must not be larger than natural", off)
                if at == I32 and imm[1] > 0xFFFFFFFF:
                    raise _err("offset out of range", off)
                if len(stack) > h and stack[-1] == at:
                    stack[-1] = res
                else:
                    pop(at, off)
                    stack.append(res)
            elif kind == K_STORE:
                if len(imm) > 2:
                    self.memory(off, imm[2])
                    at = mem_at[imm[2]]
                elif not memories:
                    raise _err("unknown memory 0", off)
                else:
                    at = mem_at[0]
                if imm[0] > memops[opc][2]:
                    raise _err("alignment must not be larger than natural", off)
                if at == I32 and imm[1] > 0xFFFFFFFF:
                    raise _err("offset out of range", off)
                if len(stack) - 2 >= h and stack[-1] == params[1] and stack[-2] == at:
                    del stack[-2:]
                else:
                    pop(params[1], off)
                    pop(at, off)
            elif kind == K_UNARY:
                if len(stack) > h and stack[-1] == params[0]:
                    stack[-1] = res
                else:
                    pop(params[0], off)
                    stack.append(res)
            elif kind == K_LOCAL_TEE:
                try:
                    t = locals_[imm]
                except IndexError:
                    raise _err(f"unknown local {imm}", off) from None
                if not (len(stack) > h and stack[-1] == t):
                    pop(t, off)
                    stack.append(t)
            elif kind == K_BR_IF:
                if imm >= len(ctrls):
                    raise _err(f"unknown label {imm}", off)
                labels = ctrls[-1 - imm][5]
                if not labels and len(stack) > h and stack[-1] == I32:
                    stack.pop()
                else:
                    pop(I32, off)
                    pop_vals(labels, off)
                    stack.extend(labels)
            elif kind == K_END:
                frame = ctrls[-1]
                ends = frame[2]
                k = len(ends)
                if not (len(stack) == h + k and tuple(stack[h:]) == ends):
                    self.pop_ctrl(off)
                else:
                    ctrls.pop()
                    del stack[h:]
                    if self.uninit is not None:
                        self.reset_locals(frame)
                if frame[0] == op.IF and frame[1] != ends:
                    raise _err("type mismatch", off)
                if not ctrls:
                    if i != n:
                        raise DecodeError("operators remaining after end of function",
                                          instrs[i][2])
                    return
                stack.extend(ends)
                h = ctrls[-1][3]
            elif kind == K_BLOCK:
                start, ends = self.blocktype(imm, off)
                if start:
                    pop_vals(start, off)
                self.push_ctrl(opc, start, ends)
                h = ctrls[-1][3]
            elif kind == K_CALL:
                if imm >= len(func_types):
                    raise _err(f"unknown function {imm}", off)
                ft = func_types[imm]
                fp = ft.params
                k = len(fp)
                if k:
                    if len(stack) - k >= h and tuple(stack[-k:]) == fp:
                        del stack[-k:]
                    else:
                        pop_vals(fp, off)
                stack.extend(ft.results)
            elif kind == K_GENERIC:
                pop_vals(params, off)
                if res is not None:
                    stack.append(res)
            else:
                self.other(opc, imm, off)
                h = ctrls[-1][3]
        raise DecodeError("unexpected end of section or function",
                          instrs[-1][2] if instrs else 0)

    def other(self, opc: int, imm, off: int) -> None:
        """The instructions not handled inline in :meth:`run`."""
        stack = self.stack
        pop = self.pop
        ctx = self.ctx
        if opc == op.UNREACHABLE:
            self.set_unreachable()
        elif opc == op.NOP:
            pass
        elif opc == op.IF:
            start, ends = self.blocktype(imm, off)
            pop(I32, off)
            if start:
                self.pop_vals(start, off)
            self.push_ctrl(opc, start, ends)
        elif opc == op.ELSE:
            frame = self.ctrls[-1]
            if frame[0] != op.IF:
                raise DecodeError("else found outside of an `if` block", off)
            self.pop_ctrl(off)
            self.push_ctrl(op.ELSE, frame[1], frame[2])
        elif opc == op.LOCAL_GET or opc == op.LOCAL_SET or opc == op.LOCAL_TEE:
            # only for bodies with non-defaultable locals (_DISPATCH_INIT)
            try:
                t = self.locals[imm]
            except IndexError:
                raise _err(f"unknown local {imm}", off) from None
            uninit = self.uninit
            if opc == op.LOCAL_GET:
                if imm in uninit:  # type: ignore[operator]
                    raise _err(f"uninitialized local: {imm}", off)
                stack.append(t)
            else:
                pop(t, off)
                if imm in uninit:  # type: ignore[operator]
                    uninit.remove(imm)  # type: ignore[union-attr]
                    self.inits.append(imm)
                if opc == op.LOCAL_TEE:
                    stack.append(t)
        elif opc == op.BR:
            self.pop_vals(self.label(imm, off)[5], off)
            self.set_unreachable()
        elif opc == op.BR_TABLE:
            targets, default = imm
            pop(I32, off)
            arity = len(self.label(default, off)[5])
            for lbl in targets:
                types = self.label(lbl, off)[5]
                if len(types) != arity:
                    raise _err("type mismatch", off)
                stack.extend(self.pop_vals(types, off))
            self.pop_vals(self.label(default, off)[5], off)
            self.set_unreachable()
        elif opc == op.RETURN:
            self.pop_vals(self.ctrls[0][5], off)
            self.set_unreachable()
        elif opc == op.RETURN_CALL or opc == op.RETURN_CALL_INDIRECT or \
                opc == op.RETURN_CALL_REF:
            # tail calls (3.0 §3.3.8): the callee's results are the function's
            if opc == op.RETURN_CALL:
                if imm >= len(ctx.func_types):
                    raise _err(f"unknown function {imm}", off)
                ft = ctx.func_types[imm]
            elif opc == op.RETURN_CALL_REF:
                ft = self.call_ref_type(imm, off)
            else:
                ft = self.indirect_type(imm, off)
            want = self.ctrls[0][5]
            if len(ft.results) != len(want) or \
                    not all(map(ctx.matches, ft.results, want)):
                raise _err("type mismatch: current function requires result type "
                           f"[{' '.join(VALTYPE_NAMES[t] for t in want)}] but callee "
                           f"returns [{' '.join(VALTYPE_NAMES[t] for t in ft.results)}]", off)
            if opc == op.RETURN_CALL_INDIRECT:
                pop(ctx.tab_at[imm[1]], off)
            elif opc == op.RETURN_CALL_REF:
                pop(ref_type(True, imm), off)
            self.pop_vals(ft.params, off)
            self.set_unreachable()
        elif opc == op.CALL_REF:
            ft = self.call_ref_type(imm, off)
            pop(ref_type(True, imm), off)
            self.pop_vals(ft.params, off)
            stack.extend(ft.results)
        elif opc == op.REF_AS_NON_NULL:
            t = self.pop_ref(off)
            stack.append(as_non_null(t) if is_ref(t) else BOT_REF)
        elif opc == op.BR_ON_NULL:
            t = self.pop_ref(off)
            labels = self.label(imm, off)[5]
            self.pop_vals(labels, off)
            stack.extend(labels)
            stack.append(as_non_null(t) if is_ref(t) else BOT_REF)
        elif opc == op.BR_ON_NON_NULL:
            labels = self.label(imm, off)[5]
            if not labels:
                raise _err("type mismatch: br_on_non_null target has no label types", off)
            last = labels[-1]
            if not is_ref(last):
                raise _err("type mismatch: br_on_non_null target does not end with heap "
                           "type", off)
            t = self.pop_ref(off)
            if is_ref(t) and not ctx.matches(as_non_null(t), last):
                raise _err("type mismatch", off)
            rest = labels[:-1]
            self.pop_vals(rest, off)
            stack.extend(rest)
        elif opc == op.CALL_INDIRECT:
            ft = self.indirect_type(imm, off)
            pop(ctx.tab_at[imm[1]], off)
            self.pop_vals(ft.params, off)
            stack.extend(ft.results)
        elif opc == op.DROP:
            pop(UNKNOWN, off)
        elif opc == op.SELECT:
            pop(I32, off)
            t1 = pop(UNKNOWN, off)
            t2 = pop(UNKNOWN, off)
            if t1 not in _NUM_OR_VEC or t2 not in _NUM_OR_VEC:
                raise _err("type mismatch", off)
            if t1 != t2 and t1 != UNKNOWN and t2 != UNKNOWN:
                raise _err("type mismatch", off)
            stack.append(t2 if t1 == UNKNOWN else t1)
        elif opc == op.SELECT_T:
            if len(imm) != 1:
                raise _err("invalid result arity", off)
            t = self.valtype(imm[0], off)
            pop(I32, off)
            pop(t, off)
            pop(t, off)
            stack.append(t)
        elif opc == op.GLOBAL_GET:
            if imm >= len(ctx.globals):
                raise _err(f"unknown global {imm}", off)
            stack.append(ctx.globals[imm].valtype)
        elif opc == op.GLOBAL_SET:
            if imm >= len(ctx.globals):
                raise _err(f"unknown global {imm}", off)
            g = ctx.globals[imm]
            if not g.mutable:
                raise _err("global is immutable", off)
            pop(g.valtype, off)
        elif opc == op.TABLE_GET:
            t = self.table(imm, off)
            pop(ctx.tab_at[imm], off)
            stack.append(t)
        elif opc == op.TABLE_SET:
            t = self.table(imm, off)
            pop(t, off)
            pop(ctx.tab_at[imm], off)
        elif opc == op.TABLE_SIZE:
            self.table(imm, off)
            stack.append(ctx.tab_at[imm])
        elif opc == op.TABLE_GROW:
            t = self.table(imm, off)
            at = ctx.tab_at[imm]
            pop(at, off)
            pop(t, off)
            stack.append(at)
        elif opc == op.TABLE_FILL:
            t = self.table(imm, off)
            at = ctx.tab_at[imm]
            pop(at, off)
            pop(t, off)
            pop(at, off)
        elif opc == op.TABLE_COPY:
            dst, src = imm
            t1 = self.table(dst, off)
            t2 = self.table(src, off)
            if not ctx.matches(t2, t1):
                raise _err("type mismatch", off)
            # the length has the narrower of the two index types (table64)
            dt, st = ctx.tab_at[dst], ctx.tab_at[src]
            self.pop_vals((dt, st, I32 if I32 in (dt, st) else I64), off)
        elif opc == op.TABLE_INIT:
            elemidx, tableidx = imm
            t1 = self.table(tableidx, off)
            t2 = self.elem(elemidx, off)
            if not ctx.matches(t2, t1):
                raise _err("type mismatch", off)
            self.pop_vals((ctx.tab_at[tableidx], I32, I32), off)
        elif opc == op.ELEM_DROP:
            self.elem(imm, off)
        elif opc == op.MEMORY_SIZE:
            self.memory(off, imm or 0)
            stack.append(ctx.mem_at[imm or 0])
        elif opc == op.MEMORY_GROW:
            self.memory(off, imm or 0)
            at = ctx.mem_at[imm or 0]
            pop(at, off)
            stack.append(at)
        elif opc == op.MEMORY_FILL:
            self.memory(off, imm or 0)
            at = ctx.mem_at[imm or 0]
            self.pop_vals((at, I32, at), off)
        elif opc == op.MEMORY_COPY:
            self.memory(off, imm[0])
            self.memory(off, imm[1])
            # the length has the smaller of the two address types (memory64)
            dt, st = ctx.mem_at[imm[0]], ctx.mem_at[imm[1]]
            self.pop_vals((dt, st, I32 if I32 in (dt, st) else I64), off)
        elif opc == op.MEMORY_INIT:
            dataidx, memidx = imm
            self.memory(off, memidx)
            self.data(dataidx, off)
            self.pop_vals((ctx.mem_at[memidx], I32, I32), off)
        elif opc == op.DATA_DROP:
            self.data(imm, off)
        elif opc == op.REF_NULL:
            stack.append(self.valtype(imm, off))
        elif opc == op.REF_IS_NULL:
            self.pop_ref(off)
            stack.append(I32)
        elif opc == op.REF_FUNC:
            if imm >= len(ctx.func_types):
                raise _err(f"unknown function {imm}", off)
            if imm not in ctx.refs:
                raise _err("undeclared function reference", off)
            stack.append(ref_type(False, ctx.func_typeidx[imm]))
        elif opc == op.I8X16_SHUFFLE:
            for lane in imm:
                if lane >= 32:
                    raise _err("invalid lane index", off)
            pop(V128, off)
            pop(V128, off)
            stack.append(V128)
        elif opc in _LANEOPS:
            params, res, lanes, align = _LANEOPS[opc]
            if align is not None:
                memarg, lane = imm
                memidx = memarg[2] if len(memarg) > 2 else 0
                self.memory(off, memidx)
                if memarg[0] > align:
                    raise _err("alignment must not be larger than natural", off)
                if ctx.mem_at[memidx] == I64:   # the address operand (memory64)
                    params = (I64, *params[1:])
                elif memarg[1] > 0xFFFFFFFF:
                    raise _err("offset out of range", off)
            else:
                lane = imm
            if lane >= lanes:
                raise _err("invalid lane index", off)
            self.pop_vals(params, off)
            if res is not None:
                stack.append(res)
        else:  # pragma: no cover - every opcode of the dispatch table is handled above
            raise _err("unknown operator", off)


def _body_validator(ctx: _Context, ftype: FuncType, decls: list[tuple[int, int]],
                    instrs: list, offset: int) -> _BodyValidator:
    """A :class:`_BodyValidator` for a body with local declarations ``decls`` (its
    entry at ``offset``): typed locals must name existing types, non-defaultable ones
    start uninitialized."""
    uninit = None
    n = len(ftype.params)
    for count, t in decls:
        if t >= REF_BASE:
            _check_vt(ctx, t, offset)
            if not defaultable(t):
                if uninit is None:
                    uninit = set()
                uninit.update(range(n, n + count))
        n += count
    return _BodyValidator(ctx, ftype, _body_locals(ftype, decls), instrs, uninit)


def _body_locals(ftype: FuncType, decls: list[tuple[int, int]]):
    total = len(ftype.params) + sum(c for c, _ in decls)
    if total <= 1 << 16:
        out = list(ftype.params)
        for count, t in decls:
            out.extend([t] * count)
        return out
    return _ExpandedLocals(ftype.params, decls)


def validate_module(info: ModuleInfo, features: Features | None = None, *,
                    keep_bodies: bool = True,
                    workers: int | None = None) -> list[list[tuple]] | None:
    """Validate ``info`` (WebAssembly 2.0 spec §3) and return the decoded bodies.

    ``features`` (default: :data:`WASM2`, everything in 2.0) switches proposals off:
    a module using one that is off raises :class:`~wasmlite.errors.ValidationError`
    with wasmparser's message (``"SIMD support is not enabled"``, ``"bulk memory
    support is not enabled"``, ...; see :func:`_check_features`).

    With ``keep_bodies`` (the default) returns one list of ``(opcode, immediate,
    offset)`` instructions per defined function, in order, each ending with the
    function's final ``end`` (the output of ``binary.read_instructions``), so later
    stages need not decode them again.  With ``keep_bodies=False`` returns ``None`` and
    keeps nothing of a body once it is checked (a compiler re-reads a body when it
    needs it, with ``binary.read_function_body``): memory stays flat however big the
    module, and validation is several times faster (no instruction tuples are built).

    ``workers`` (only with ``keep_bodies=False``): how many worker processes check the
    bodies (``None``: chosen by size, see :mod:`wasmlite.validate.parallel`; ``0`` or
    ``1``: this process only).  The result and the error reported are the same either
    way.

    With ``keep_bodies`` each body is decoded (``read_instructions``) and then checked
    by :class:`_BodyValidator` (the reference path).  Without, bodies are checked by
    the single-pass fast path (:mod:`wasmlite.validate.fast`), and a body it rejects
    goes through the reference path, which raises the error.  Either way errors come
    in module order: for each body in turn, its decoding errors, then its first
    validation error.

    Raises :class:`~wasmlite.errors.ValidationError` (spec testsuite wording, byte
    offset) for an invalid module; :class:`~wasmlite.errors.DecodeError` from
    ``read_instructions`` (malformed bodies) propagates unchanged, and "data count
    section required" is raised as a ``DecodeError`` too (spec §5.5.16).
    """
    if features is not None and not isinstance(features, Features):
        raise TypeError("expected a Features")
    # multi-memory and the constant-expression rules change nothing on the fast path,
    # which decodes and accepts only the 2.0 memory encodings (one memory, memory index
    # 0) and never sees a constant expression
    restricted = features is not None and \
        dataclasses.replace(features, **_MODULE_LEVEL_FEATURES) != WASM2
    if restricted:
        _check_module_features(info, features)  # type: ignore[arg-type]
    ctx = _Context(info, features)
    multi_memory, memory64 = ctx.features.multi_memory, ctx.features.memory64
    _validate_module_fields(ctx)
    if len(info.codes) != len(info.funcs):
        raise DecodeError("function and code section have inconsistent lengths", 0)
    data = info.bytes
    nimported = info.num_imported_funcs
    has_data_count = info.data_count is not None
    # the fast path knows 32-bit table indices only (table64: the reference path), and
    # no typed references
    if keep_bodies or restricted or I64 in ctx.tab_at or _uses_typed_refs(info):
        # The instruction lists are wanted (or feature checks need them): decoding
        # them costs about what the fast path saves, so the reference path runs.
        # The cyclic garbage collector is paused meanwhile: the millions of tuples
        # built here cannot form cycles, and its passes over them cost ~15-20 %.
        bodies: list[list[tuple]] = []
        gc_was_on = gc.isenabled()
        gc.disable()
        try:
            for i, body in enumerate(info.codes):
                ftype = ctx.func_types[nimported + i]
                instrs = read_instructions(data, body.body_start, body.body_end,
                                           has_data_count=has_data_count,
                                           multi_memory=multi_memory, memory64=memory64)
                if restricted:
                    _check_body_features(body.locals, instrs, features, body.offset)  # type: ignore[arg-type]
                _body_validator(ctx, ftype, body.locals, instrs, body.offset).run()
                bodies.append(instrs)
        finally:
            if gc_was_on:
                gc.enable()
        return bodies if keep_bodies else None

    env = _fast_env(ctx)
    from wasmlite.validate import parallel

    rejected = parallel.rejected_bodies(info, ctx.func_types, env, workers)
    for i in rejected:
        _reference_body(ctx, i)
    return None


def _uses_typed_refs(info: ModuleInfo) -> bool:
    """Whether a type, import, table or global of ``info`` uses a typed reference type
    (function references), or a table has an initializer."""
    for ft in info.types:
        if any(t >= REF_BASE for t in ft.params) or any(t >= REF_BASE for t in ft.results):
            return True
    for imp in info.imports:
        if imp.kind == EXTERN_TABLE and imp.desc.elem >= REF_BASE:
            return True
        if imp.kind == EXTERN_GLOBAL and imp.desc.valtype >= REF_BASE:
            return True
    # (element segment types are not looked at: the funcidx forms are all ``(ref
    # func)``, and the fast path only compares them for ``table.init``, for equality;
    # nor are local declarations: the fast path rejects a body with a typed local,
    # ``parallel._locals``, and the reference path checks it)
    return bool(info.table_inits) or any(t.elem >= REF_BASE for t in info.tables) or \
        any(g.type.valtype >= REF_BASE for g in info.globals)


def _fast_env(ctx: _Context) -> tuple:
    """The module facts of :func:`wasmlite.validate.fast.body_env` for ``ctx``."""
    from wasmlite.validate import fast

    # the fast path knows 32-bit addresses only: with a 64-bit memory 0 (memory64) it
    # leaves every body that touches memory to the reference path
    nmem = 0 if ctx.mem_at and ctx.mem_at[0] == I64 else len(ctx.memories)
    # the funcidx forms' ``(ref func)`` segments go where funcref ones do (the fast
    # path has tables of the 2.0 types only, and compares for equality)
    elem_types = [FUNCREF if t == _REF_FUNC_ELEM else t for t in ctx.elem_types]
    return fast.body_env(ctx.func_types, ctx.types, ctx.globals, ctx.tables,
                         nmem, elem_types, ctx.num_datas, ctx.refs,
                         ctx.info.data_count is not None)


def _reference_body(ctx: _Context, index: int) -> None:
    """Check defined function ``index`` with the reference path (decode, then
    :class:`_BodyValidator`); raises its decoding or validation error."""
    info = ctx.info
    body = info.codes[index]
    ftype = ctx.func_types[info.num_imported_funcs + index]
    instrs = read_instructions(info.bytes, body.body_start, body.body_end,
                               has_data_count=info.data_count is not None,
                               multi_memory=ctx.features.multi_memory,
                               memory64=ctx.features.memory64)
    _body_validator(ctx, ftype, body.locals, instrs, body.offset).run()


# -- feature switches ------------------------------------------------------------------------

_SIMD_OFF = "SIMD support is not enabled"
_REF_OFF = "reference types support is not enabled"
_BULK_OFF = "bulk memory support is not enabled"
_MULTI_VALUE_OFF = "func type returns multiple values but the multi-value feature is not enabled"
_MULTI_VALUE_BLOCK_OFF = ("blocks, loops, and ifs may only produce a resulttype when "
                          "multi-value is not enabled")
_MUT_GLOBAL_OFF = "mutable global support is not enabled"
_SAT_OFF = "saturating float to int conversions support is not enabled"
_SIGN_EXT_OFF = "sign extension operations support is not enabled"
_RELAXED_OFF = "relaxed SIMD support is not enabled"

_REF_OPS = frozenset(op.OPCODES_BY_NAME[n] for n in (
    "ref.null ref.is_null ref.func table.get table.set table.size table.grow table.fill "
    "select_t").split())
_BULK_OPS = frozenset(op.OPCODES_BY_NAME[n] for n in (
    "memory.init data.drop memory.copy memory.fill table.init elem.drop table.copy").split())
_SAT_OPS = frozenset(op.OPCODES_BY_NAME[n] for n in (
    "i32.trunc_sat_f32_s i32.trunc_sat_f32_u i32.trunc_sat_f64_s i32.trunc_sat_f64_u "
    "i64.trunc_sat_f32_s i64.trunc_sat_f32_u i64.trunc_sat_f64_s i64.trunc_sat_f64_u").split())
_SIGN_EXT_OPS = frozenset(op.OPCODES_BY_NAME[n] for n in (
    "i32.extend8_s i32.extend16_s i64.extend8_s i64.extend16_s i64.extend32_s").split())
_FIRST_SIMD_OPCODE = op.OPCODES_BY_NAME["v128.load"]
#: the relaxed SIMD instructions (WebAssembly 3.0, ``Features.relaxed_simd``)
RELAXED_SIMD_OPS = frozenset(c for c, n in op.OPCODE_NAMES.items() if ".relaxed_" in n)


_FUNC_REFS_OFF = "function references support is not enabled"
#: ``(ref func)``: the type of the ``funcidx`` forms of element segments, in 2.0 too
_REF_FUNC_ELEM = ref_type(False, HT_FUNC)
#: the instructions of typed function references (WebAssembly 3.0)
FUNCTION_REFERENCES_OPS = frozenset((op.CALL_REF, op.RETURN_CALL_REF, op.REF_AS_NON_NULL,
                                     op.BR_ON_NULL, op.BR_ON_NON_NULL))


def _check_valtype(t: int, features: Features, offset: int) -> None:
    if t == V128 and not features.simd:
        raise _err(_SIMD_OFF, offset)
    if (t == FUNCREF or t == EXTERNREF) and not features.reference_types:
        raise _err(_REF_OFF, offset)
    if t >= REF_BASE and not features.function_references:
        # as wasmparser: ``(ref null $t)`` is also GC's, non-nullable types are not
        if not nullable(t):
            raise _err("function references required for non-nullable types", offset)
        if heap_type(t) >= 0 and not features.gc:
            raise _err("function references required for index reference types", offset)


def _check_module_features(info: ModuleInfo, features: Features) -> None:
    """The module-level uses of switched-off features (types, imports, tables, globals,
    segments, exports).  Numeric and vector value types are checked everywhere a
    valtype occurs; ``funcref`` as a table element type is plain MVP."""
    for ft in info.types:
        for t in ft.params + ft.results:
            _check_valtype(t, features, 0)
        if len(ft.results) > 1 and not features.multi_value:
            raise _err(_MULTI_VALUE_OFF, 0)
    for imp in info.imports:
        if imp.kind == EXTERN_GLOBAL:
            _check_valtype(imp.desc.valtype, features, imp.offset)
            if imp.desc.mutable and not features.mutable_global:
                raise _err(_MUT_GLOBAL_OFF, imp.offset)
        elif imp.kind == EXTERN_TABLE and imp.desc.elem != FUNCREF:
            _check_valtype(imp.desc.elem, features, imp.offset)
    tables = info.table_types()
    for tt in info.tables:
        if tt.elem >= REF_BASE:
            _check_valtype(tt.elem, features, 0)
    if info.table_inits and not features.function_references:
        raise _err("tables with expression initializers require the function-references "
                   "proposal", 0)
    if not features.reference_types:
        if len(tables) > 1:
            raise _err("multiple tables", 0)
        for tt in tables:
            if tt.elem != FUNCREF:
                raise _err(_REF_OFF, 0)
    for g in info.globals:
        _check_valtype(g.type.valtype, features, 0)
        for ins in g.init or ():
            _check_instr_features(ins, features)
    if not features.mutable_global:
        gtypes = info.global_types()
        for ex in info.exports:
            if ex.kind == EXTERN_GLOBAL and ex.index < len(gtypes) and gtypes[ex.index].mutable:
                raise _err(_MUT_GLOBAL_OFF, 0)
    for e in info.elems:
        if e.mode != "active" and not features.bulk_memory:
            raise _err(_BULK_OFF, 0)
        if e.type != FUNCREF and e.type != _REF_FUNC_ELEM:
            _check_valtype(e.type, features, 0)
        if not features.reference_types:
            if e.mode == "active" and e.table != 0:
                raise _err(_REF_OFF, 0)
            for item in e.items:
                if len(item) != 1 or item[0][0] != op.REF_FUNC:
                    raise _err(_REF_OFF, item[0][2] if item else 0)
    if not features.bulk_memory:
        if info.data_count is not None:
            raise _err("data count section requires the bulk-memory proposal", 0)
        for d in info.datas:
            if d.mode != "active":
                raise _err("passive data segments require the bulk-memory proposal", 0)


def _check_instr_features(ins: tuple, features: Features) -> None:
    opc, imm, off = ins
    if opc >= _FIRST_SIMD_OPCODE:
        if opc in RELAXED_SIMD_OPS and not features.relaxed_simd:
            raise _err(_RELAXED_OFF, off)
        if not features.simd:
            raise _err(_SIMD_OFF, off)
    elif opc in _REF_OPS:
        if not features.reference_types:
            raise _err(_REF_OFF, off)
        if opc == op.SELECT_T:
            for t in imm:
                _check_valtype(t, features, off)
        elif opc == op.REF_NULL:
            _check_valtype(imm, features, off)
    elif opc in _BULK_OPS:
        if not features.bulk_memory:
            raise _err(_BULK_OFF, off)
        if not features.reference_types and opc in (op.TABLE_INIT, op.TABLE_COPY) and \
                (imm[1] != 0 if opc == op.TABLE_INIT else imm != (0, 0)):
            raise _err(_REF_OFF, off)
    elif opc in _SAT_OPS:
        if not features.saturating_float_to_int:
            raise _err(_SAT_OFF, off)
    elif opc in _SIGN_EXT_OPS:
        if not features.sign_extension:
            raise _err(_SIGN_EXT_OFF, off)
    elif opc == op.CALL_INDIRECT:
        if imm[1] != 0 and not features.reference_types:
            raise _err(_REF_OFF, off)
    elif opc in FUNCTION_REFERENCES_OPS:
        if not features.function_references:
            raise _err(_FUNC_REFS_OFF, off)
        if opc == op.RETURN_CALL_REF and not features.tail_call:
            raise _err("tail calls support is not enabled", off)
    elif opc == op.RETURN_CALL or opc == op.RETURN_CALL_INDIRECT:
        if not features.tail_call:
            raise _err("tail calls support is not enabled", off)
    elif opc in (op.BLOCK, op.LOOP, op.IF):
        if imm >= 0:
            if not features.multi_value:
                raise _err(_MULTI_VALUE_BLOCK_OFF, off)
        elif imm != BLOCKTYPE_EMPTY:
            _check_valtype(-imm if imm <= -REF_BASE else imm & 0x7F, features, off)


def _check_body_features(decls: list[tuple[int, int]], instrs: list, features: Features,
                         offset: int) -> None:
    """The uses of switched-off features in one function body: local declarations
    and instructions (opcodes, blocktypes, typed ``select``, ``ref.null``)."""
    for _count, t in decls:
        _check_valtype(t, features, offset)
    for ins in instrs:
        _check_instr_features(ins, features)
