"""WebAssembly function bodies → LLVM IR text (one LLVM function per wasm function).

The translator walks each body once, keeping the wasm operand stack as a Python list of
``(value, llvm_type)`` pairs where ``value`` is an SSA name (``%v12``) or an LLVM literal.
Block results become ``phi`` nodes at the block's end label (loop parameters become
``phi`` nodes at the loop header, patched in when the loop ends); locals are ``alloca``s
in the entry block that ``mem2reg``/SROA turn into registers.  Code after ``br``,
``br_table``, ``return`` and ``unreachable`` is skipped up to the matching ``else`` or
``end`` (spec §3.3.8: it is stack-polymorphic and can never run).

Semantics follow the WebAssembly 2.0 specification (§4.3 numerics, §4.4 instructions);
the native ABI (vmctx layout, calling convention, traps) is ``docs/architecture.md``
"The native ABI" and :mod:`wasmlite.environ.vmoffsets`.

SIMD (v128) instructions are lowered in :mod:`.simd` and its three parts
:mod:`.simd_lanes`, :mod:`.simd_int` and :mod:`.simd_float`; a v128 is an LLVM
``<4 x i32>`` everywhere (stack, locals, globals, calls) and is bitcast to the lane shape
an instruction needs.

Raises :class:`~wasmlite.errors.WasmtimeError` for instructions it does not know.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Callable
from typing import Any

from ..binary import opcodes as op
from ..environ import vmoffsets as vo
from ..environ.module import (
    EXTERNREF,
    F32,
    F64,
    FUNCREF,
    I32,
    I64,
    REF_BASE,
    V128,
    FuncType,
    ModuleInfo,
)
from ..errors import TrapCode, WasmtimeError
from .simd import simd_handlers


#: valtype byte → LLVM type
class _LLTypes(dict):
    """``LLTYPE``: a valtype's LLVM type; every reference type, typed ones included
    (``environ.module.REF_BASE`` and up), is a ``ptr``."""

    def __missing__(self, t: int) -> str:
        if isinstance(t, int) and t >= REF_BASE:
            return "ptr"
        raise KeyError(t)


LLTYPE: dict[int, str] = _LLTypes({I32: "i32", I64: "i64", F32: "float", F64: "double",
                                   V128: "<4 x i32>", FUNCREF: "ptr", EXTERNREF: "ptr"})
#: LLVM type → its zero literal
ZERO = {"i32": "0", "i64": "0", "float": "0.0", "double": "0.0", "ptr": "null",
        "<4 x i32>": "zeroinitializer"}

# Metadata numbering shared by every module (see METADATA below).
MD_INVARIANT = "!0"
TBAA_HEAP = "!3"
TBAA_MEMLEN = "!5"
TBAA_GLOBAL = "!7"
TBAA_TABLE = "!9"
TBAA_VMCTX = "!11"
PROF_UNLIKELY = "!12"

METADATA = """\
!0 = !{}
!1 = !{!"wasmlite tbaa"}
!2 = !{!"wasm heap", !1, i64 0}
!3 = !{!2, !2, i64 0}
!4 = !{!"vmmemory length", !1, i64 0}
!5 = !{!4, !4, i64 0}
!6 = !{!"wasm global", !1, i64 0}
!7 = !{!6, !6, i64 0}
!8 = !{!"wasm table", !1, i64 0}
!9 = !{!8, !8, i64 0}
!10 = !{!"vm context", !1, i64 0}
!11 = !{!10, !10, i64 0}
!12 = !{!"branch_weights", i32 1, i32 1048576}
"""

#: Debug-info metadata shared by every module (numbered after METADATA; a module's
#: DISubprograms follow from ``MD_FIRST_SUBPROGRAM``).  Line-tables-only DWARF 4 whose
#: "line numbers" are byte offsets in the wasm module: each wasm function is a
#: DISubprogram named ``wasm_func_<funcidx>``, calls, trap calls and (with guard pages)
#: loads and stores carry ``!dbg !DILocation(line: <offset of the wasm instruction>)``,
#: so that the DWARF line table maps a return address or faulting PC back to the wasm
#: instruction, and inlined functions appear as ``DW_TAG_inlined_subroutine``s whose
#: ``DW_AT_call_line`` is the offset of the inlined ``call`` (``compiler/debuginfo.py``).
DEBUG_METADATA = """\
!llvm.dbg.cu = !{!13}
!llvm.module.flags = !{!14, !15}
!13 = distinct !DICompileUnit(language: DW_LANG_C, file: !16, producer: "wasmlite", \
isOptimized: true, runtimeVersion: 0, emissionKind: LineTablesOnly)
!14 = !{i32 2, !"Debug Info Version", i32 3}
!15 = !{i32 7, !"Dwarf Version", i32 4}
!16 = !DIFile(filename: "wasm", directory: "")
!17 = !DISubroutineType(types: !{})
"""
MD_FIRST_SUBPROGRAM = 18
#: The debug line of the first tier's call into an OSR entry: backtraces leave that
#: frame out (``LazyCode.symbolize_frames``).  No module offset reaches it.
OSR_LINE = 0xFFFFFFFF
#: Ticks a first-tier loop waits between looks at its OSR entry while it is compiled.
OSR_RETRY = 1000
if os.environ.get("WASMLITE_STRESS_TIERS", "") not in ("", "0"):  # see lazy.STRESS_TIERS
    OSR_RETRY = 5



def _musttail_safe(ft: FuncType) -> bool:
    """Whether LLVM can always honour ``musttail`` for a function of type ``ft`` on
    x86-64: every argument in a register (the vmctx and up to five integers or
    references, up to eight floats or vectors) and at most one result.  Several results
    come back through a hidden pointer (``sret``), where LLVM aborts the process with
    "failed to perform tail call elimination on a call site marked musttail" (found by
    the fuzzer); stack arguments are avoided for the same reason."""
    ints = sum(1 for t in ft.params if t not in (F32, F64, V128))
    floats = len(ft.params) - ints
    return len(ft.results) <= 1 and ints <= 5 and floats <= 8


def _i64(v: int) -> str:
    """An unsigned 64-bit constant as an LLVM ``i64`` literal (two's complement)."""
    return str(v - (1 << 64) if v >= 1 << 63 else v)


def code_start(data: bytes, entry_offset: int) -> int:
    """Module offset of a function's code (its locals declarations): just past the size
    field (a LEB128 u32) of the code entry at ``entry_offset`` in the module ``data``.
    Wasmtime's frame ``func_offset`` counts from there."""
    pos = entry_offset
    while pos < len(data) and data[pos] & 0x80:
        pos += 1
    return pos + 1


def status_of(code: TrapCode) -> int:
    """The status a trap with ``code`` carries (``TrapCode + 1``)."""
    return int(code) + vo.STATUS_TRAP_BASE


def f64_literal(bits: int) -> str:
    """LLVM literal for an f64 given by its IEEE bits (NaN payloads kept)."""
    return f"0x{bits & 0xFFFFFFFFFFFFFFFF:016X}"


def f32_literal(bits: int) -> str:
    """LLVM literal for an f32 given by its IEEE bits: the double with the same value
    (LLVM writes float constants in double format); NaN payloads are kept by moving the
    mantissa bits by hand instead of going through a C float→double conversion."""
    bits &= 0xFFFFFFFF
    sign = bits >> 31
    exp = (bits >> 23) & 0xFF
    mant = bits & 0x7FFFFF
    if exp == 0xFF:
        d = (sign << 63) | (0x7FF << 52) | (mant << 29)
    else:
        value = struct.unpack("<f", struct.pack("<I", bits))[0]
        d = struct.unpack("<Q", struct.pack("<d", value))[0]
    return f"0x{d:016X}"


def double_literal(value: float) -> str:
    """LLVM literal for a Python float (exact)."""
    return f"0x{struct.unpack('<Q', struct.pack('<d', value))[0]:016X}"


#: The integer type that carries a float's bits in a result struct (see result_fields).
_FLOAT_BITS = {"float": "i32", "double": "i64"}


def result_fields(ft: FuncType) -> list[str]:
    """LLVM types of the fields of the literal struct a function of type ``ft`` returns
    when it has several results.

    x86-64 code generation returns the first two ``f32``/``f64``/``v128`` fields in
    ``xmm0``/``xmm1`` and further scalar floats on the x87 stack, whose load quiets a
    signalling NaN (``f64.const -nan:0x7ffffffffffff`` came back ``0xfff…f``).  So a
    float field with two XMM-class fields before it carries its bits as ``i32``/``i64``
    (integers go to ``rax``, ``rdx``, ``rcx``, ``r8``, then the struct is returned
    through memory); :meth:`FunctionTranslator` bitcasts on both sides."""
    fields = []
    xmm = 0
    for t in ft.results:
        lt = LLTYPE[t]
        if lt in _FLOAT_BITS:
            if xmm >= 2:
                lt = _FLOAT_BITS[lt]
            xmm += 1
        elif lt.startswith("<"):
            xmm += 1
        fields.append(lt)
    return fields


def result_type(ft: FuncType) -> str:
    """LLVM return type of a function of type ``ft`` (void, T, or a literal struct of
    :func:`result_fields`)."""
    r = ft.results
    if not r:
        return "void"
    if len(r) == 1:
        return LLTYPE[r[0]]
    return "{" + ", ".join(result_fields(ft)) + "}"


def pack_result(lines: list[str], name: str, value: str, lt: str, field: str) -> str:
    """Append to ``lines`` what turns ``value`` (LLVM type ``lt``) into a result struct
    field of type ``field`` (:func:`result_fields`) named ``name``; returns the name to
    insert (``value`` itself when no bitcast is needed)."""
    if field == lt:
        return value
    lines.append(f"  {name} = bitcast {lt} {value} to {field}")
    return name


def unpack_result(lines: list[str], name: str, value: str, lt: str, field: str) -> str:
    """The inverse of :func:`pack_result`: ``value``, a field of type ``field`` just
    extracted, as LLVM type ``lt``."""
    if field == lt:
        return value
    lines.append(f"  {name} = bitcast {field} {value} to {lt}")
    return name


# -- numeric instruction tables -------------------------------------------------------------

_I, _L, _F, _D = "i32", "i64", "float", "double"

#: opcode → (LLVM instruction with type, type): plain binary operators
BINOPS = {
    op.I32_ADD: ("add i32", _I), op.I32_SUB: ("sub i32", _I), op.I32_MUL: ("mul i32", _I),
    op.I32_AND: ("and i32", _I), op.I32_OR: ("or i32", _I), op.I32_XOR: ("xor i32", _I),
    op.I64_ADD: ("add i64", _L), op.I64_SUB: ("sub i64", _L), op.I64_MUL: ("mul i64", _L),
    op.I64_AND: ("and i64", _L), op.I64_OR: ("or i64", _L), op.I64_XOR: ("xor i64", _L),
    op.F32_ADD: ("fadd float", _F), op.F32_SUB: ("fsub float", _F),
    op.F32_MUL: ("fmul float", _F), op.F32_DIV: ("fdiv float", _F),
    op.F64_ADD: ("fadd double", _D), op.F64_SUB: ("fsub double", _D),
    op.F64_MUL: ("fmul double", _D), op.F64_DIV: ("fdiv double", _D),
}

#: float ``BINOPS`` instruction → (left, right) operand literals with which LLVM folds the
#: operation to the other operand or its ``fneg`` (``x * 1``, ``x / -1``, ``x - 0``,
#: ``-0 - x``, ``x + -0``, ...; InstCombine at opt level 1+), losing the quieting of a
#: signalling NaN that wasm requires (spec §4.3.3 "NaN propagation"); such results go
#: through ``llvm.canonicalize`` (see ``FunctionTranslator.canonicalize``).  f32 and f64
#: literals are both written in double format.
_POS0, _NEG0 = "0x0000000000000000", "0x8000000000000000"
_ONES = frozenset(("0x3FF0000000000000", "0xBFF0000000000000"))
FOLDING_LITERALS = {
    "fadd": (frozenset((_NEG0,)), frozenset((_NEG0,))),
    "fsub": (frozenset((_NEG0,)), frozenset((_POS0,))),
    "fmul": (_ONES, _ONES),
    "fdiv": (frozenset(), _ONES),
}

#: opcode → comparison (result is i32 0/1)
COMPARES = {
    op.I32_EQ: "icmp eq i32", op.I32_NE: "icmp ne i32", op.I32_LT_S: "icmp slt i32",
    op.I32_LT_U: "icmp ult i32", op.I32_GT_S: "icmp sgt i32", op.I32_GT_U: "icmp ugt i32",
    op.I32_LE_S: "icmp sle i32", op.I32_LE_U: "icmp ule i32", op.I32_GE_S: "icmp sge i32",
    op.I32_GE_U: "icmp uge i32",
    op.I64_EQ: "icmp eq i64", op.I64_NE: "icmp ne i64", op.I64_LT_S: "icmp slt i64",
    op.I64_LT_U: "icmp ult i64", op.I64_GT_S: "icmp sgt i64", op.I64_GT_U: "icmp ugt i64",
    op.I64_LE_S: "icmp sle i64", op.I64_LE_U: "icmp ule i64", op.I64_GE_S: "icmp sge i64",
    op.I64_GE_U: "icmp uge i64",
    op.F32_EQ: "fcmp oeq float", op.F32_NE: "fcmp une float", op.F32_LT: "fcmp olt float",
    op.F32_GT: "fcmp ogt float", op.F32_LE: "fcmp ole float", op.F32_GE: "fcmp oge float",
    op.F64_EQ: "fcmp oeq double", op.F64_NE: "fcmp une double",
    op.F64_LT: "fcmp olt double", op.F64_GT: "fcmp ogt double",
    op.F64_LE: "fcmp ole double", op.F64_GE: "fcmp oge double",
}

#: opcode → (shift instruction, type, mask)
SHIFTS = {
    op.I32_SHL: ("shl", _I, 31), op.I32_SHR_S: ("ashr", _I, 31),
    op.I32_SHR_U: ("lshr", _I, 31),
    op.I64_SHL: ("shl", _L, 63), op.I64_SHR_S: ("ashr", _L, 63),
    op.I64_SHR_U: ("lshr", _L, 63),
}

#: opcode → (intrinsic, type): binary intrinsics
BIN_INTRINSICS = {
    op.I32_ROTL: ("llvm.fshl.i32", _I), op.I32_ROTR: ("llvm.fshr.i32", _I),
    op.I64_ROTL: ("llvm.fshl.i64", _L), op.I64_ROTR: ("llvm.fshr.i64", _L),
    op.F32_COPYSIGN: ("llvm.copysign.f32", _F),
    op.F64_COPYSIGN: ("llvm.copysign.f64", _D),
}

#: opcode → (intrinsic, type): fmin/fmax (spec §4.3.3: NaN if either operand is NaN,
#: -0 < +0).  ``llvm.minimum`` returns a NaN operand as it is, which may be signalling,
#: where wasm wants an arithmetic (quiet) NaN: see ``FunctionTranslator.op_fminmax``.
MINMAX = {
    op.F32_MIN: ("llvm.minimum.f32", _F), op.F32_MAX: ("llvm.maximum.f32", _F),
    op.F64_MIN: ("llvm.minimum.f64", _D), op.F64_MAX: ("llvm.maximum.f64", _D),
}

#: opcode → (intrinsic, type, extra argument text): unary intrinsics
UN_INTRINSICS = {
    op.I32_CLZ: ("llvm.ctlz.i32", _I, ", i1 false"), op.I32_CTZ: ("llvm.cttz.i32", _I, ", i1 false"),
    op.I32_POPCNT: ("llvm.ctpop.i32", _I, ""),
    op.I64_CLZ: ("llvm.ctlz.i64", _L, ", i1 false"), op.I64_CTZ: ("llvm.cttz.i64", _L, ", i1 false"),
    op.I64_POPCNT: ("llvm.ctpop.i64", _L, ""),
    op.F32_ABS: ("llvm.fabs.f32", _F, ""), op.F32_CEIL: ("llvm.ceil.f32", _F, ""),
    op.F32_FLOOR: ("llvm.floor.f32", _F, ""), op.F32_TRUNC: ("llvm.trunc.f32", _F, ""),
    op.F32_NEAREST: ("llvm.roundeven.f32", _F, ""), op.F32_SQRT: ("llvm.sqrt.f32", _F, ""),
    op.F64_ABS: ("llvm.fabs.f64", _D, ""), op.F64_CEIL: ("llvm.ceil.f64", _D, ""),
    op.F64_FLOOR: ("llvm.floor.f64", _D, ""), op.F64_TRUNC: ("llvm.trunc.f64", _D, ""),
    op.F64_NEAREST: ("llvm.roundeven.f64", _D, ""), op.F64_SQRT: ("llvm.sqrt.f64", _D, ""),
}

#: intrinsic → declaration
INTRINSIC_DECLS = {}
for _name, _t in (("llvm.fshl.i32", _I), ("llvm.fshr.i32", _I), ("llvm.fshl.i64", _L),
                  ("llvm.fshr.i64", _L)):
    INTRINSIC_DECLS[_name] = f"declare {_t} @{_name}({_t}, {_t}, {_t})"
for _name, _t in (("llvm.minimum.f32", _F), ("llvm.maximum.f32", _F),
                  ("llvm.copysign.f32", _F), ("llvm.minimum.f64", _D),
                  ("llvm.maximum.f64", _D), ("llvm.copysign.f64", _D)):
    INTRINSIC_DECLS[_name] = f"declare {_t} @{_name}({_t}, {_t})"
for _name, _t, _extra in UN_INTRINSICS.values():
    INTRINSIC_DECLS[_name] = f"declare {_t} @{_name}({_t}{', i1' if _extra else ''})"

#: opcode → (cast instruction, from type, to type)
CONVERSIONS = {
    op.I32_WRAP_I64: ("trunc", _L, _I),
    op.I64_EXTEND_I32_S: ("sext", _I, _L), op.I64_EXTEND_I32_U: ("zext", _I, _L),
    op.F32_CONVERT_I32_S: ("sitofp", _I, _F), op.F32_CONVERT_I32_U: ("uitofp", _I, _F),
    op.F32_CONVERT_I64_S: ("sitofp", _L, _F), op.F32_CONVERT_I64_U: ("uitofp", _L, _F),
    op.F64_CONVERT_I32_S: ("sitofp", _I, _D), op.F64_CONVERT_I32_U: ("uitofp", _I, _D),
    op.F64_CONVERT_I64_S: ("sitofp", _L, _D), op.F64_CONVERT_I64_U: ("uitofp", _L, _D),
    op.F32_DEMOTE_F64: ("fptrunc", _D, _F), op.F64_PROMOTE_F32: ("fpext", _F, _D),
    op.I32_REINTERPRET_F32: ("bitcast", _F, _I), op.I64_REINTERPRET_F64: ("bitcast", _D, _L),
    op.F32_REINTERPRET_I32: ("bitcast", _I, _F), op.F64_REINTERPRET_I64: ("bitcast", _L, _D),
}

#: opcode → (narrow type, full type): sign-extension operators
SIGN_EXTENDS = {
    op.I32_EXTEND8_S: ("i8", _I), op.I32_EXTEND16_S: ("i16", _I),
    op.I64_EXTEND8_S: ("i8", _L), op.I64_EXTEND16_S: ("i16", _L),
    op.I64_EXTEND32_S: ("i32", _L),
}

#: opcode → (intrinsic, from, to): saturating truncations
SAT_TRUNCS = {
    op.I32_TRUNC_SAT_F32_S: ("llvm.fptosi.sat.i32.f32", _F, _I),
    op.I32_TRUNC_SAT_F32_U: ("llvm.fptoui.sat.i32.f32", _F, _I),
    op.I32_TRUNC_SAT_F64_S: ("llvm.fptosi.sat.i32.f64", _D, _I),
    op.I32_TRUNC_SAT_F64_U: ("llvm.fptoui.sat.i32.f64", _D, _I),
    op.I64_TRUNC_SAT_F32_S: ("llvm.fptosi.sat.i64.f32", _F, _L),
    op.I64_TRUNC_SAT_F32_U: ("llvm.fptoui.sat.i64.f32", _F, _L),
    op.I64_TRUNC_SAT_F64_S: ("llvm.fptosi.sat.i64.f64", _D, _L),
    op.I64_TRUNC_SAT_F64_U: ("llvm.fptoui.sat.i64.f64", _D, _L),
}
for _name, _f, _t in SAT_TRUNCS.values():
    INTRINSIC_DECLS[_name] = f"declare {_t} @{_name}({_f})"

# Trapping truncations (spec §4.3.3 trunc_u/trunc_s): the source value x is accepted when
# lo < x (or lo <= x when the bound itself truncates into range) and x < hi.
_P31, _P32, _P63, _P64 = 2.0 ** 31, 2.0 ** 32, 2.0 ** 63, 2.0 ** 64
#: opcode → (instruction, from, to, lower bound, lower bound inclusive, upper bound)
TRUNCS = {
    # f32 cannot hold -2^31 - 1; the float just below -2^31 is out of range: -2^31 <= x
    op.I32_TRUNC_F32_S: ("fptosi", _F, _I, -_P31, True, _P31),
    op.I32_TRUNC_F32_U: ("fptoui", _F, _I, -1.0, False, _P32),
    # f64 holds -2^31 - 1 exactly, and everything in (-2^31 - 1, -2^31] truncates to -2^31
    op.I32_TRUNC_F64_S: ("fptosi", _D, _I, -_P31 - 1.0, False, _P31),
    op.I32_TRUNC_F64_U: ("fptoui", _D, _I, -1.0, False, _P32),
    op.I64_TRUNC_F32_S: ("fptosi", _F, _L, -_P63, True, _P63),
    op.I64_TRUNC_F32_U: ("fptoui", _F, _L, -1.0, False, _P64),
    op.I64_TRUNC_F64_S: ("fptosi", _D, _L, -_P63, True, _P63),
    op.I64_TRUNC_F64_U: ("fptoui", _D, _L, -1.0, False, _P64),
}

#: opcode → (access size, memory type, extension to the result type or "", result type)
LOADS = {
    op.I32_LOAD: (4, "i32", "", _I), op.I64_LOAD: (8, "i64", "", _L),
    op.F32_LOAD: (4, "float", "", _F), op.F64_LOAD: (8, "double", "", _D),
    op.I32_LOAD8_S: (1, "i8", "sext", _I), op.I32_LOAD8_U: (1, "i8", "zext", _I),
    op.I32_LOAD16_S: (2, "i16", "sext", _I), op.I32_LOAD16_U: (2, "i16", "zext", _I),
    op.I64_LOAD8_S: (1, "i8", "sext", _L), op.I64_LOAD8_U: (1, "i8", "zext", _L),
    op.I64_LOAD16_S: (2, "i16", "sext", _L), op.I64_LOAD16_U: (2, "i16", "zext", _L),
    op.I64_LOAD32_S: (4, "i32", "sext", _L), op.I64_LOAD32_U: (4, "i32", "zext", _L),
}

#: opcode → (access size, value type, memory type)
STORES = {
    op.I32_STORE: (4, _I, _I), op.I64_STORE: (8, _L, _L),
    op.F32_STORE: (4, _F, _F), op.F64_STORE: (8, _D, _D),
    op.I32_STORE8: (1, _I, "i8"), op.I32_STORE16: (2, _I, "i16"),
    op.I64_STORE8: (1, _L, "i8"), op.I64_STORE16: (2, _L, "i16"), op.I64_STORE32: (4, _L, "i32"),
}

#: opcode → (division instruction, type, signed, is remainder)
DIVS = {
    op.I32_DIV_S: ("sdiv", _I, True, False), op.I32_DIV_U: ("udiv", _I, False, False),
    op.I32_REM_S: ("srem", _I, True, True), op.I32_REM_U: ("urem", _I, False, True),
    op.I64_DIV_S: ("sdiv", _L, True, False), op.I64_DIV_U: ("udiv", _L, False, False),
    op.I64_REM_S: ("srem", _L, True, True), op.I64_REM_U: ("urem", _L, False, True),
}
INT_MIN = {_I: str(-(2 ** 31)), _L: str(-(2 ** 63))}

BLOCK_KIND, LOOP_KIND, IF_KIND = 0, 1, 2

ST_OOB = status_of(TrapCode.MEMORY_OUT_OF_BOUNDS)
ST_TABLE_OOB = status_of(TrapCode.TABLE_OUT_OF_BOUNDS)
ST_NULL = status_of(TrapCode.INDIRECT_CALL_TO_NULL)
ST_SIG = status_of(TrapCode.BAD_SIGNATURE)
ST_NULL_REF = status_of(TrapCode.NULL_REFERENCE)
ST_OVERFLOW = status_of(TrapCode.INTEGER_OVERFLOW)
ST_DIV0 = status_of(TrapCode.INTEGER_DIVISION_BY_ZERO)
ST_BADCONV = status_of(TrapCode.BAD_CONVERSION_TO_INTEGER)
ST_UNREACHABLE = status_of(TrapCode.UNREACHABLE)
ST_STACK = status_of(TrapCode.STACK_OVERFLOW)
ST_INTERRUPT = status_of(TrapCode.INTERRUPT)

# -- fuel (Config.consume_fuel), as Wasmtime's Cranelift translation counts it --------------
#: Instructions that cost no fuel; every other one costs 1.
FUEL_FREE = frozenset((op.NOP, op.DROP, op.BLOCK, op.LOOP, op.UNREACHABLE, op.RETURN,
                       op.ELSE, op.END))
#: Before these the function's pending cost is added to its fuel local and the local is
#: written back to ``STORE_FUEL`` (control leaves the function, or a callee may read it).
FUEL_SAVE_BEFORE = frozenset((op.CALL, op.CALL_INDIRECT, op.UNREACHABLE, op.RETURN,
                              op.RETURN_CALL, op.RETURN_CALL_INDIRECT, op.CALL_REF,
                              op.RETURN_CALL_REF))
#: Before these (ends of straight-line code) the pending cost is added to the local.
FUEL_FLUSH_BEFORE = frozenset((op.LOOP, op.IF, op.BR, op.BR_IF, op.BR_TABLE, op.END,
                               op.ELSE, op.BR_ON_NULL, op.BR_ON_NON_NULL))
#: Bulk operations: they also cost their length (the top operand), with a fuel check
#: first; Wasmtime charges a length above ``FUEL_BULK_SMALL`` after the operation runs.
FUEL_BULK = frozenset((op.MEMORY_COPY, op.MEMORY_FILL, op.MEMORY_INIT, op.TABLE_COPY,
                       op.TABLE_FILL, op.TABLE_INIT))
FUEL_BULK_SMALL = 128


class Frame:
    """A control frame: ``block``, ``loop``, ``if`` or the function body itself."""

    __slots__ = ("kind", "label", "end", "height", "params", "results", "incoming",
                 "header_incoming", "phi_slot", "phi_names", "else_label", "has_else",
                 "param_vals", "carry", "phi_types")

    def __init__(self, kind: int, end: str, height: int, params: tuple, results: tuple):
        self.kind = kind
        self.end = end
        self.height = height
        self.params = params
        self.results = results
        self.incoming: list[tuple[str, list[str]]] = []
        self.label = end
        self.header_incoming: list[tuple[str, list[str]]] = []
        self.phi_slot = -1
        self.phi_names: list[str] = []
        self.else_label = ""
        self.has_else = False
        self.param_vals: list[tuple[str, str]] = []
        #: a loop of an OSR entry that encloses the entry's loop: how many operand stack
        #: values below its parameters its header carries as phis too (see
        #: ``FunctionTranslator.osr_join``)
        self.carry = 0
        #: the LLVM types of a loop header's phis
        self.phi_types: list[str] = []


class ModuleTranslator:
    """Translates the functions of one module into LLVM IR text.

    ``info`` is the decoded module.  Intrinsic declarations used by the bodies accumulate in ``self.decls``.
    """

    def __init__(self, info: ModuleInfo, optsize: bool = False,
                 local_funcs: set[int] | None = None, guard_pages: bool = False,
                 consume_fuel: bool = False, epoch_interruption: bool = False,
                 hotness: tuple[int, int, int] | None = None,
                 osr: tuple[int, Callable[[int, list[int]], int], int] | None = None,
                 osr_target: tuple[int, int] | None = None,
                 checkpoint: Callable[[], None] | None = None):
        self.info = info
        #: called at every block, loop, if and call while translating (the tier-up
        #: thread passes ``lazy.FIRST_TIER.pause``: it lets waiting threads have the GIL)
        self.checkpoint = checkpoint
        #: on-stack replacement, first tier (with ``hotness``): ``(loop callback,
        #: osr_table, transfers)``; ``osr_table(defidx, loop offsets)`` gives the address
        #: of a ``u64`` per loop of the function (0: not asked for, 1: being compiled,
        #: else the OSR entry's address), checked when the counter runs out at a loop
        #: header (see :meth:`FunctionTranslator.osr_tick`); ``transfers`` is the
        #: address of a ``u64`` counting the transfers
        self.osr = osr
        #: ``(funcidx, loop offset)``: translate function ``funcidx`` as the OSR entry
        #: for its loop at that module offset, ``R (ptr vmctx, ptr state)`` (see
        #: :meth:`FunctionTranslator.osr_join`)
        self.osr_target = osr_target
        #: first tier of lazy compilation (compiler/lazy.py): ``(counters, callback,
        #: slots)`` addresses; every function entry and loop iteration decrements the
        #: function's i32 counter and calls ``callback(&slots[i])`` when it reaches 0
        self.hotness = hotness
        #: Config.consume_fuel: count fuel (``FunctionTranslator.fuel_*``; the counter is
        #: ``STORE_FUEL``, see ``environ/vmoffsets.py``).  Without it no fuel code at all.
        self.consume_fuel = consume_fuel
        #: Config.epoch_interruption: compare the engine's epoch with the store's
        #: deadline at function entries and loop headers (``FunctionTranslator.epoch_check``)
        self.epoch_interruption = epoch_interruption
        #: signals-based traps: loads and stores are not bounds-checked (an access past
        #: the memory's length faults in its guard region; see runtime/signals.py)
        self.guard_pages = guard_pages
        #: which memories are 64-bit (memory64: i64 addresses, always explicit checks)
        self.mem64 = [m.is_64 for m in info.memory_types()]
        #: which tables are 64-bit (table64: i64 indices)
        self.tab64 = [t.is_64 for t in info.table_types()]
        #: funcidx of the defined functions in the same LLVM module (None: all of them);
        #: calls to other defined functions go through their VMFuncRef like imports
        self.local_funcs = local_funcs
        self.offsets = vo.VMOffsets.for_module(info)
        self.func_types = [info.types[t] for t in info.func_typeidx()]
        self.global_types = info.global_types()
        self.table_types = info.table_types()
        self.num_imported_funcs = info.num_imported_funcs
        self.decls: set[str] = set()
        self.optsize = optsize
        #: DISubprogram definitions of the translated functions (see DEBUG_METADATA)
        self.debug_md: list[str] = []

    def signature(self, funcidx: int) -> str:
        ft = self.func_types[funcidx]
        if self.osr_target is not None and self.osr_target[0] == funcidx:
            return f"{result_type(ft)} @wasm_func_{funcidx}(ptr %vmctx, ptr %state)"
        params = "".join(f", {LLTYPE[t]} %p{i}" for i, t in enumerate(ft.params))
        return f"{result_type(ft)} @wasm_func_{funcidx}(ptr %vmctx{params})"

    def translate_function(self, funcidx: int, body: list[tuple], out: list[str]) -> None:
        """Append the IR of defined function ``funcidx`` to ``out`` (and its
        DISubprogram to ``self.debug_md``)."""
        FunctionTranslator(self, funcidx, body).run(out)

    def new_subprogram(self, funcidx: int, start: int) -> str:
        """A new DISubprogram (``!N``) for function ``funcidx`` starting at module offset
        ``start``; its definition goes to ``self.debug_md``."""
        md = f"!{MD_FIRST_SUBPROGRAM + len(self.debug_md)}"
        self.debug_md.append(
            f'{md} = distinct !DISubprogram(name: "wasm_func_{funcidx}", scope: !16, '
            f"file: !16, line: {start}, type: !17, scopeLine: {start}, "
            "spFlags: DISPFlagDefinition | DISPFlagOptimized, unit: !13)")
        return md


def _enclosing_loops(body: list[tuple], target: int) -> set[int]:
    """Module offsets of the ``loop`` instructions of ``body`` that enclose the
    instruction at module offset ``target``."""
    open_: list[tuple[int, int]] = []   # (opcode, offset) of the open blocks
    for opcode, _imm, offset in body:
        if offset == target:
            return {off for o, off in open_ if o == op.LOOP}
        if opcode in (op.BLOCK, op.LOOP, op.IF):
            open_.append((opcode, offset))
        elif opcode == op.END and open_:
            open_.pop()
    return set()


class FunctionTranslator:
    """The translation state of one function body (see the module docstring)."""

    def __init__(self, mt: ModuleTranslator, funcidx: int, body: list[tuple]):
        self.mt = mt
        self.info = mt.info
        self.offsets = mt.offsets
        self.funcidx = funcidx
        self.body = body
        self.ft = mt.func_types[funcidx]
        self.n = 0            # SSA name counter
        self.nlabel = 0       # label counter
        self.lines: list[str] = []
        self.entry: list[str] = []
        self.cache: dict[str, str] = {}  # entry-block values by key
        #: trap sites: (label, i32 status value, module offset of the instruction); each
        #: site has its own block so that its call of ``@wasmlite_trap`` (``nomerge``)
        #: keeps the site's debug location
        self.traps: list[tuple[str, str, int]] = []
        code = mt.info.codes[funcidx - mt.num_imported_funcs]
        #: module offset of the function (its code entry after the size field: where
        #: Wasmtime's ``func_offset`` counts from)
        self.start_offset = code_start(mt.info.bytes, code.offset)
        #: module offset of the wasm instruction being translated
        self.offset = self.start_offset
        self.sp = mt.new_subprogram(funcidx, self.start_offset)
        self.stack: list[tuple[str, str]] = []
        self.frames: list[Frame] = []
        self.cur = "start"
        self.reachable = True
        self.local_types: list[str] = []
        #: SSA values that are results of ``f64.promote_f32`` (see ``canonicalize``)
        self.promoted: set[str] = set()
        #: fuel cost of the instructions translated since the last flush into ``%fuel``
        self.fuel_pending = 0
        #: how ``global.set`` and ``table.set`` store: ``volatile`` with guard pages, so
        #: that LLVM keeps them in order with the (volatile) linear-memory accesses, any
        #: of which may fault (see :meth:`heap_load`)
        self.state_store = "store volatile" if mt.guard_pages else "store"
        #: translating the OSR entry for the loop at this module offset (else None)
        self.osr_loop = (mt.osr_target[1] if mt.osr_target is not None
                         and mt.osr_target[0] == funcidx else None)
        #: the loops enclosing the OSR entry's loop (module offsets): reached again by
        #: their back edges from inside, where the code before them is dead, their
        #: headers carry the whole operand stack below them as phis
        self.osr_enclosing: set[int] = set()
        if self.osr_loop is not None:
            self.osr_enclosing = _enclosing_loops(body, self.osr_loop)
        #: the OSR entry's block that loads the operand stack from the state
        self.osr_enter: list[str] = []
        #: first tier with OSR: address of this function's table of OSR entries, the
        #: index of each loop (by module offset) in it, and the 16-byte state slots the
        #: biggest transfer needs
        self.osr_table = 0
        self.osr_index: dict[int, int] = {}
        self.osr_slots = 0
        if mt.osr is not None and mt.hotness is not None:
            loops = [off for opcode, _imm, off in body if opcode == op.LOOP]
            if loops:
                self.osr_table = mt.osr[1](funcidx - mt.num_imported_funcs, loops)
                self.osr_index = {off: k for k, off in enumerate(loops)}

    # -- helpers --------------------------------------------------------------------------
    def new(self) -> str:
        self.n += 1
        return f"%v{self.n}"

    def new_label(self, prefix: str = "L") -> str:
        self.nlabel += 1
        return f"{prefix}{self.nlabel}"

    def start_block(self, label: str) -> None:
        self.lines.append(f"{label}:")
        self.cur = label

    def dbg(self, offset: int | None = None) -> str:
        """The ``!dbg`` attachment (with its leading comma) locating an instruction at
        module offset ``offset`` (default: the wasm instruction being translated)."""
        line = self.offset if offset is None else offset
        return f", !dbg !DILocation(line: {line}, scope: {self.sp})"

    def trap_label(self, status: int | str, offset: int | None = None) -> str:
        """A new trap block calling ``@wasmlite_trap`` with i32 ``status`` (a literal or
        an SSA value dominating the branch), located at ``offset`` (default: the current
        instruction); returns its label."""
        lab = f"trap{len(self.traps)}"
        self.traps.append((lab, str(status), self.offset if offset is None else offset))
        return lab

    def trap_if(self, cond: str, status: int) -> None:
        """Branch to a trap block for ``status`` when i1 ``cond`` holds."""
        ok = self.new_label("ok")
        self.lines.append(f"  br i1 {cond}, label %{self.trap_label(status)}, label %{ok}, "
                          f"!prof {PROF_UNLIKELY}")
        self.start_block(ok)

    def trap_status(self, status_val: str) -> None:
        """Trap with the dynamic i32 status ``status_val`` when it is non-zero."""
        c = self.new()
        ok = self.new_label("ok")
        L = self.lines
        L.append(f"  {c} = icmp ne i32 {status_val}, 0")
        L.append(f"  br i1 {c}, label %{self.trap_label(status_val)}, label %{ok}, "
                 f"!prof {PROF_UNLIKELY}")
        self.start_block(ok)

    def entry_value(self, key: str, text: str) -> str:
        """An SSA value computed once in the entry block; ``text`` has ``{}`` for its name."""
        v = self.cache.get(key)
        if v is None:
            v = self.cache[key] = f"%{key}"
            self.entry.append("  " + text.format(v))
        return v

    def vmctx_ptr(self, offset: int, key: str) -> str:
        """The (invariant) pointer stored at ``vmctx + offset``."""
        return self.vmctx_load(offset, key, "ptr")

    def vmctx_load(self, offset: int, key: str, ty: str) -> str:
        """The (invariant) value of type ``ty`` stored at ``vmctx + offset``."""
        v = self.cache.get(key)
        if v is None:
            a = f"%{key}.a"
            self.entry.append(f"  {a} = getelementptr i8, ptr %vmctx, i64 {offset}")
            v = self.cache[key] = f"%{key}"
            self.entry.append(f"  {v} = load {ty}, ptr {a}, !invariant.load {MD_INVARIANT}")
        return v

    def memory(self, memidx: int) -> tuple[str, str]:
        """``(base, length_ptr)`` of memory ``memidx``."""
        key = f"mem{memidx}"
        m = self.vmctx_ptr(self.offsets.memory(memidx), key)
        base = self.cache.get(key + ".base")
        if base is None:
            base = self.cache[key + ".base"] = f"%{key}.base"
            lenp = self.cache[key + ".lenp"] = f"%{key}.lenp"
            self.entry.append(f"  {base} = load ptr, ptr {m}, !invariant.load {MD_INVARIANT}")
            self.entry.append(f"  {lenp} = getelementptr i8, ptr {m}, i64 {vo.MEMORY_LENGTH}")
        return base, self.cache[key + ".lenp"]

    def builtin(self, index: int) -> str:
        b = self.vmctx_ptr(vo.VMCTX_BUILTINS, "builtins")
        key = f"builtin{index}"
        v = self.cache.get(key)
        if v is None:
            a = f"%{key}.a"
            self.entry.append(f"  {a} = getelementptr i8, ptr {b}, i64 {8 * index}")
            v = self.cache[key] = f"%{key}"
            self.entry.append(f"  {v} = load ptr, ptr {a}, !invariant.load {MD_INVARIANT}")
        return v

    def pop(self) -> str:
        return self.stack.pop()[0]

    def push(self, v: str, t: str) -> None:
        self.stack.append((v, t))

    def pop_n(self, n: int) -> list[str]:
        if n == 0:
            return []
        vals = [v for v, _ in self.stack[-n:]]
        del self.stack[-n:]
        return vals

    def top_n(self, n: int) -> list[str]:
        if n == 0:
            return []
        return [v for v, _ in self.stack[-n:]]

    def zext64(self, v: str) -> str:
        if v[0] != "%":
            return str(int(v) & 0xFFFFFFFF)
        r = self.new()
        self.lines.append(f"  {r} = zext i32 {v} to i64")
        return r

    # -- function skeleton ----------------------------------------------------------------
    def run(self, out: list[str]) -> None:
        info = self.info
        ft = self.ft
        code = info.codes[self.funcidx - self.mt.num_imported_funcs]
        lt = [LLTYPE[t] for t in ft.params]
        for count, t in code.locals:
            lt.extend([LLTYPE[t]] * count)
        self.local_types = lt
        entry = self.entry
        entry.append(f"  %sc = load ptr, ptr %vmctx, !invariant.load {MD_INVARIANT}")
        nparams = len(ft.params)
        for i, t in enumerate(lt):
            entry.append(f"  %l{i} = alloca {t}")
        osr = self.osr_loop is not None
        for i, t in enumerate(lt):
            if osr:
                # the OSR entry starts with the locals the first tier's frame had
                entry.append(f"  %osr.l{i}.p = getelementptr i8, ptr %state, i64 {16 * i}")
                entry.append(f"  %osr.l{i} = load {t}, ptr %osr.l{i}.p")
                entry.append(f"  store {t} %osr.l{i}, ptr %l{i}")
            else:
                entry.append(f"  store {t} {f'%p{i}' if i < nparams else ZERO[t]}, "
                             f"ptr %l{i}")
        self.frames.append(Frame(BLOCK_KIND, "ret", 0, (), ft.results))
        if self.mt.consume_fuel:
            # Wasmtime: the fuel counter lives in a local while the function runs; a call
            # of the function costs 1 unit, checked at once (not by an OSR entry: the
            # first tier's frame paid it)
            entry.append("  %fuel = alloca i64")
            entry.append(f"  %fuelp = getelementptr i8, ptr %sc, i64 {vo.STORE_FUEL}")
            entry.append(f"  %fuel.in = load i64, ptr %fuelp, !tbaa {TBAA_VMCTX}")
            entry.append("  store i64 %fuel.in, ptr %fuel")
            if not osr:
                self.fuel_pending = 1
                self.fuel_check()
        if self.mt.epoch_interruption and not osr:
            self.epoch_check()
        if self.mt.hotness is not None:
            self.hot_tick()
        self.translate_body()
        if self.frames:  # a body given without its final ``end``
            self.close_frame()
        self.emit_return()
        if osr and not self.osr_enter:
            raise WasmtimeError(f"internal error: no loop at offset {self.osr_loop:#x} "
                                f"in function {self.funcidx} to enter")
        if self.osr_slots:
            entry.append(f"  %osr.state = alloca [{self.osr_slots} x i128], align 16")

        attrs = "#0"
        out.append(f"define internal {self.mt.signature(self.funcidx)} {attrs} "
                   f"!dbg {self.sp} {{")
        out.append("entry:")
        out.extend(entry)
        # the stack check is LLVM's "split-stack" prologue (attributes #0): it compares
        # rsp - frame size with %fs:0x70 and calls @__morestack, which traps
        out.append("  br label %osr.enter" if osr else "  br label %start")
        out.append("start:")
        out.extend(self.lines)
        for label, status, offset in self.traps:
            out.append(f"{label}:")
            out.append(f"  call void @wasmlite_trap(ptr %sc, i32 {status}){self.dbg(offset)}")
            out.append("  unreachable")
        out.extend(self.osr_enter)
        out.append("}")

    def emit_return(self) -> None:
        """After the function frame closed: return the values on the stack."""
        L = self.lines
        if not self.reachable:
            L.append("  unreachable")
            return
        if self.mt.consume_fuel:
            self.fuel_save()
        results = self.ft.results
        if not results:
            L.append("  ret void")
        elif len(results) == 1:
            L.append(f"  ret {LLTYPE[results[0]]} {self.stack[-1][0]}")
        else:
            rt = result_type(self.ft)
            fields = result_fields(self.ft)
            vals = self.top_n(len(results))
            agg = "poison"
            for i, (v, t) in enumerate(zip(vals, results, strict=False)):
                v = pack_result(L, self.new(), v, LLTYPE[t], fields[i])
                nxt = self.new()
                L.append(f"  {nxt} = insertvalue {rt} {agg}, {fields[i]} {v}, {i}")
                agg = nxt
            L.append(f"  ret {rt} {agg}")

    # -- control flow ---------------------------------------------------------------------
    def branch_values(self, f: Frame) -> list[str]:
        if f.kind == LOOP_KIND:
            below = [v for v, _ in self.stack[:f.carry]] if f.carry else []
            return below + self.top_n(len(f.params))
        return self.top_n(len(f.results))

    def add_edge(self, f: Frame, pred: str) -> str:
        """Record an edge from block ``pred`` to frame ``f``'s target; return the label."""
        vals = self.branch_values(f)
        if f.kind == LOOP_KIND:
            f.header_incoming.append((pred, vals))
            return f.label
        f.incoming.append((pred, vals))
        return f.end

    def close_frame(self) -> None:
        """``end`` of the innermost frame (reached in reachable or dead code)."""
        f = self.frames.pop()
        L = self.lines
        if self.reachable:
            f.incoming.append((self.cur, self.top_n(len(f.results))))
            L.append(f"  br label %{f.end}")
        if f.kind == IF_KIND and not f.has_else:
            L.append(f"{f.else_label}:")
            f.incoming.append((f.else_label, [v for v, _ in f.param_vals]))
            L.append(f"  br label %{f.end}")
        if f.kind == LOOP_KIND and f.phi_names:
            phis = []
            for i, name in enumerate(f.phi_names):
                t = f.phi_types[i]
                inc = ", ".join(f"[ {vals[i]}, %{pred} ]" for pred, vals in f.header_incoming)
                phis.append(f"  {name} = phi {t} {inc}")
            L[f.phi_slot] = "\n".join(phis)
        del self.stack[f.height:]
        L.append(f"{f.end}:")
        self.cur = f.end
        inc = f.incoming
        if not inc:
            self.reachable = False
            if self.frames:
                L.append("  unreachable")
            return
        self.reachable = True
        results = f.results
        if len(inc) == 1:
            for v, t in zip(inc[0][1], results, strict=False):
                self.stack.append((v, LLTYPE[t]))
            return
        for i, t in enumerate(results):
            lt = LLTYPE[t]
            name = self.new()
            parts = ", ".join(f"[ {vals[i]}, %{pred} ]" for pred, vals in inc)
            L.append(f"  {name} = phi {lt} {parts}")
            self.stack.append((name, lt))

    def block_signature(self, bt: int) -> tuple[tuple, tuple]:
        return self.info.blocktype_signature(bt)

    def op_block(self, bt: int) -> None:
        params, results = self.block_signature(bt)
        f = Frame(BLOCK_KIND, self.new_label("B"), len(self.stack) - len(params), params,
                  results)
        self.frames.append(f)

    def op_loop(self, bt: int) -> None:
        params, results = self.block_signature(bt)
        f = Frame(LOOP_KIND, self.new_label("E"), len(self.stack) - len(params), params,
                  results)
        f.label = self.new_label("H")
        if self.offset in self.osr_enclosing:
            f.carry = f.height
        L = self.lines
        f.header_incoming.append((self.cur, self.branch_values(f)))
        L.append(f"  br label %{f.label}")
        self.start_block(f.label)
        if params or f.carry:
            f.phi_slot = len(L)
            L.append("")
            carried = list(range(f.carry)) + [f.height + i for i in range(len(params))]
            for pos in carried:
                name = self.new()
                t = self.stack[pos][1] if pos < f.carry else LLTYPE[params[pos - f.height]]
                f.phi_names.append(name)
                f.phi_types.append(t)
                self.stack[pos] = (name, t)
        self.frames.append(f)

    def op_if(self, bt: int) -> None:
        cond = self.pop()
        params, results = self.block_signature(bt)
        f = Frame(IF_KIND, self.new_label("F"), len(self.stack) - len(params), params, results)
        f.param_vals = self.stack[f.height:]
        then = self.new_label("T")
        f.else_label = self.new_label("X")
        c = self.new()
        self.lines.append(f"  {c} = icmp ne i32 {cond}, 0")
        self.lines.append(f"  br i1 {c}, label %{then}, label %{f.else_label}")
        self.start_block(then)
        self.frames.append(f)

    def op_else(self) -> None:
        f = self.frames[-1]
        if self.reachable:
            f.incoming.append((self.cur, self.top_n(len(f.results))))
            self.lines.append(f"  br label %{f.end}")
        del self.stack[f.height:]
        self.stack.extend(f.param_vals)
        f.has_else = True
        self.start_block(f.else_label)
        self.reachable = True

    def op_br(self, depth: int) -> None:
        f = self.frames[-1 - depth]
        label = self.add_edge(f, self.cur)
        self.lines.append(f"  br label %{label}")
        self.reachable = False

    def op_br_if(self, depth: int) -> None:
        cond = self.pop()
        f = self.frames[-1 - depth]
        label = self.add_edge(f, self.cur)
        c = self.new()
        cont = self.new_label("C")
        self.lines.append(f"  {c} = icmp ne i32 {cond}, 0")
        self.lines.append(f"  br i1 {c}, label %{label}, label %{cont}")
        self.start_block(cont)

    def op_br_on_null(self, depth: int) -> None:
        """``br_on_null`` (typed function references): branch with the operands below
        the reference when it is null, else continue with it."""
        ref = self.pop()
        f = self.frames[-1 - depth]
        label = self.add_edge(f, self.cur)
        c = self.new()
        cont = self.new_label("C")
        self.lines.append(f"  {c} = icmp eq ptr {ref}, null")
        self.lines.append(f"  br i1 {c}, label %{label}, label %{cont}")
        self.start_block(cont)
        self.stack.append((ref, "ptr"))

    def op_br_on_non_null(self, depth: int) -> None:
        """``br_on_non_null``: branch with the operands and the reference when it is not
        null, else drop it and continue."""
        ref = self.stack[-1][0]
        f = self.frames[-1 - depth]
        label = self.add_edge(f, self.cur)
        c = self.new()
        cont = self.new_label("C")
        self.lines.append(f"  {c} = icmp ne ptr {ref}, null")
        self.lines.append(f"  br i1 {c}, label %{label}, label %{cont}")
        self.start_block(cont)
        self.pop()

    def op_br_table(self, imm: tuple) -> None:
        targets, default = imm
        idx = self.pop()
        frames = self.frames
        cur = self.cur
        dlabel = self.add_edge(frames[-1 - default], cur)
        cases = []
        for i, depth in enumerate(targets):
            cases.append(f"i32 {i}, label %{self.add_edge(frames[-1 - depth], cur)}")
        self.lines.append(f"  switch i32 {idx}, label %{dlabel} [{' '.join(cases)}]")
        self.reachable = False

    # -- calls ----------------------------------------------------------------------------
    def call_instr(self, callee: str, ft: FuncType, first: str, kw: str = "call") -> str:
        """Emit ``kw`` (``call`` or ``musttail call``) of ``callee`` (a function symbol or
        pointer) with ``first`` and the operands of type ``ft`` popped from the stack;
        the value it returns (``""`` for no results)."""
        args = self.pop_n(len(ft.params))
        arg_text = "".join(f", {LLTYPE[t]} {a}" for t, a in zip(ft.params, args, strict=False))
        if not ft.results:
            self.lines.append(f"  {kw} void {callee}(ptr {first}{arg_text}){self.dbg()}")
            return ""
        r = self.new()
        self.lines.append(f"  {r} = {kw} {result_type(ft)} {callee}(ptr {first}{arg_text})"
                          f"{self.dbg()}")
        return r

    def emit_call(self, callee: str, ft: FuncType, first: str) -> None:
        """Call ``callee`` (a function symbol or pointer) with ``first`` and the operands
        of type ``ft`` popped from the stack; push the results."""
        r = self.call_instr(callee, ft, first)
        results = ft.results
        if not results:
            return
        rt = result_type(ft)
        if len(results) == 1:
            self.stack.append((r, rt))
            return
        fields = result_fields(ft)
        for i, t in enumerate(results):
            x = self.new()
            self.lines.append(f"  {x} = extractvalue {rt} {r}, {i}")
            x = unpack_result(self.lines, self.new(), x, LLTYPE[t], fields[i])
            self.stack.append((x, LLTYPE[t]))

    def op_call(self, funcidx: int) -> None:
        fp, cv = self.callee(funcidx)
        self.emit_call(fp, self.mt.func_types[funcidx], cv)

    def callee(self, funcidx: int) -> tuple[str, str]:
        """``(function, callee vmctx)`` to call function ``funcidx``: the symbol and this
        instance for a function of this batch, else its VMFuncRef's fields."""
        if funcidx >= self.mt.num_imported_funcs and (
                self.mt.local_funcs is None or funcidx in self.mt.local_funcs):
            return f"@wasm_func_{funcidx}", "%vmctx"
        ref = self.vmctx_ptr(self.offsets.func(funcidx), f"func{funcidx}")
        fp = self.entry_value(f"func{funcidx}.fp",
                              f"{{}} = load ptr, ptr {ref}, !invariant.load {MD_INVARIANT}")
        cv = self.cache.get(f"func{funcidx}.vmctx")
        if cv is None:
            self.entry.append(f"  %func{funcidx}.vp = getelementptr i8, ptr {ref}, "
                              f"i64 {vo.FUNCREF_VMCTX}")
            cv = self.entry_value(f"func{funcidx}.vmctx",
                                  f"{{}} = load ptr, ptr %func{funcidx}.vp, "
                                  f"!invariant.load {MD_INVARIANT}")
        return fp, cv

    def ref_callee(self) -> tuple[str, str]:
        """Pop the ``VMFuncRef*`` of a ``call_ref``, trap on null ("null reference")
        and return ``(function pointer, callee vmctx)``: the type is known statically,
        so there is no signature check."""
        L = self.lines
        ref = self.pop()
        c = self.new()
        L.append(f"  {c} = icmp eq ptr {ref}, null")
        self.trap_if(c, ST_NULL_REF)
        return self.funcref_fields(ref)

    def funcref_fields(self, ref: str) -> tuple[str, str]:
        """``(function pointer, callee vmctx)`` loaded from the ``VMFuncRef`` at ``ref``."""
        L = self.lines
        fp = self.new()
        L.append(f"  {fp} = load ptr, ptr {ref}, !tbaa {TBAA_TABLE}")
        vp = self.new()
        L.append(f"  {vp} = getelementptr i8, ptr {ref}, i64 {vo.FUNCREF_VMCTX}")
        cv = self.new()
        L.append(f"  {cv} = load ptr, ptr {vp}, !tbaa {TBAA_TABLE}")
        return fp, cv

    def op_call_ref(self, typeidx: int) -> None:
        """``call_ref $t`` (typed function references)."""
        fp, cv = self.ref_callee()
        self.emit_call(fp, self.info.types[typeidx], cv)

    def op_return_call_ref(self, typeidx: int) -> None:
        """``return_call_ref $t``: :meth:`tail_call` through the reference."""
        fp, cv = self.ref_callee()
        self.tail_call(fp, cv, self.info.types[typeidx])

    def op_ref_as_non_null(self, imm: None) -> None:
        """``ref.as_non_null``: trap ("null reference") on null."""
        ref = self.stack[-1][0]
        c = self.new()
        self.lines.append(f"  {c} = icmp eq ptr {ref}, null")
        self.trap_if(c, ST_NULL_REF)

    def op_return_call(self, funcidx: int) -> None:
        """``return_call`` (tail calls, 3.0 §4.4.8): see :meth:`tail_call`."""
        callee, cv = self.callee(funcidx)
        self.tail_call(callee, cv, self.mt.func_types[funcidx])

    def op_return_call_indirect(self, imm: tuple) -> None:
        typeidx, tableidx = imm
        fp, cv = self.indirect_callee(typeidx, tableidx)
        self.tail_call(fp, cv, self.info.types[typeidx])

    def tail_call(self, callee: str, first: str, ft: FuncType) -> None:
        """Call ``callee`` in tail position and return its results.  When its type is
        this function's (and this is not an OSR entry, whose LLVM signature differs) the
        call is ``musttail``: LLVM reuses this frame, so tail recursion of any depth runs
        in constant stack.  A callee of another type gets a plain call and return: the
        same results and traps, but a frame per call (the stack limit still traps)."""
        # (fuel was saved before the instruction: FUEL_SAVE_BEFORE)
        same = ft == self.ft and _musttail_safe(ft) and not (
            self.mt.osr_target is not None and self.mt.osr_target[0] == self.funcidx)
        r = self.call_instr(callee, ft, first, "musttail call" if same else "call")
        self.lines.append(f"  ret {result_type(ft)} {r}" if r else "  ret void")
        self.reachable = False

    def table_ptr(self, tableidx: int) -> str:
        return self.vmctx_ptr(self.offsets.table(tableidx), f"table{tableidx}")

    def table_entry(self, tableidx: int, idx: str) -> str:
        """Bounds-check ``idx`` (an i32, or an i64 for a 64-bit table) against table
        ``tableidx``; return the entry's address."""
        L = self.lines
        t = self.table_ptr(tableidx)
        lenp = self.entry_value(f"table{tableidx}.lenp",
                                f"{{}} = getelementptr i8, ptr {t}, i64 {vo.TABLE_LENGTH}")
        ln = self.new()
        L.append(f"  {ln} = load i64, ptr {lenp}, !tbaa {TBAA_TABLE}")
        i64 = self.index64(tableidx, idx)
        c = self.new()
        L.append(f"  {c} = icmp uge i64 {i64}, {ln}")
        self.trap_if(c, ST_TABLE_OOB)
        elems = self.new()
        L.append(f"  {elems} = load ptr, ptr {t}, !tbaa {TBAA_TABLE}")
        p = self.new()
        L.append(f"  {p} = getelementptr ptr, ptr {elems}, i64 {i64}")
        return p

    def op_call_indirect(self, imm: tuple) -> None:
        typeidx, tableidx = imm
        fp, cv = self.indirect_callee(typeidx, tableidx)
        self.emit_call(fp, self.info.types[typeidx], cv)

    def indirect_callee(self, typeidx: int, tableidx: int) -> tuple[str, str]:
        """Pop the table index of a ``call_indirect``, check the element (bounds, null,
        signature: traps) and return ``(function pointer, callee vmctx)``."""
        L = self.lines
        p = self.table_entry(tableidx, self.pop())
        ref = self.new()
        L.append(f"  {ref} = load ptr, ptr {p}, !tbaa {TBAA_TABLE}")
        c = self.new()
        L.append(f"  {c} = icmp eq ptr {ref}, null")
        self.trap_if(c, ST_NULL)
        expected = self.vmctx_load(self.offsets.type_id(typeidx), f"typeid{typeidx}", "i64")
        idp = self.new()
        L.append(f"  {idp} = getelementptr i8, ptr {ref}, i64 {vo.FUNCREF_TYPE_ID}")
        actual = self.new()
        L.append(f"  {actual} = load i64, ptr {idp}, !tbaa {TBAA_TABLE}")
        c = self.new()
        L.append(f"  {c} = icmp ne i64 {actual}, {expected}")
        self.trap_if(c, ST_SIG)
        return self.funcref_fields(ref)

    # -- variables ------------------------------------------------------------------------
    def global_ptr(self, globalidx: int) -> str:
        return self.vmctx_ptr(self.offsets.global_(globalidx), f"glob{globalidx}")

    def op_global_get(self, globalidx: int) -> None:
        gt = self.mt.global_types[globalidx]
        t = LLTYPE[gt.valtype]
        g = self.global_ptr(globalidx)
        v = self.new()
        # VMGlobal storage is 8-byte aligned; a v128 would otherwise be assumed 16-aligned
        if gt.mutable:
            self.lines.append(f"  {v} = load {t}, ptr {g}, align 8, !tbaa {TBAA_GLOBAL}")
        else:
            self.lines.append(f"  {v} = load {t}, ptr {g}, align 8, "
                              f"!invariant.load {MD_INVARIANT}")
        self.stack.append((v, t))

    def op_global_set(self, globalidx: int) -> None:
        gt = self.mt.global_types[globalidx]
        t = LLTYPE[gt.valtype]
        g = self.global_ptr(globalidx)
        v = self.pop()
        self.lines.append(f"  {self.state_store} {t} {v}, ptr {g}, align 8, "
                          f"!tbaa {TBAA_GLOBAL}")

    # -- memory ---------------------------------------------------------------------------
    def address(self, memarg: tuple, size: int) -> str:
        """Pop an i32 address, bounds-check ``[addr+offset, addr+offset+size)`` against the
        memory's current length, and return a pointer to it.

        With guard pages there is no check: ``addr + offset < 8 GiB`` always lies in the
        memory's reservation, whose inaccessible part faults.  ``memarg`` is
        ``(align, offset)`` for memory 0, ``(align, offset, memidx)`` for another
        (``binary.decoder``).  A 64-bit memory's address is an i64 and always checked
        (:meth:`address64`)."""
        memidx = memarg[2] if len(memarg) > 2 else 0
        if self.mt.mem64[memidx]:
            return self.address64(memidx, memarg[1], size)
        base, lenp = self.memory(memidx)
        L = self.lines
        a = self.pop()
        off = memarg[1]
        if a[0] != "%":
            ea = str((int(a) & 0xFFFFFFFF) + off)
        else:
            z = self.new()
            L.append(f"  {z} = zext i32 {a} to i64")
            if off:
                ea = self.new()
                L.append(f"  {ea} = add nuw nsw i64 {z}, {off}")
            else:
                ea = z
        if self.mt.guard_pages:
            p = self.new()
            L.append(f"  {p} = getelementptr inbounds i8, ptr {base}, i64 {ea}")
            return p
        end = self.new()
        L.append(f"  {end} = add nuw nsw i64 {ea}, {size}")
        ln = self.new()
        L.append(f"  {ln} = load i64, ptr {lenp}, !tbaa {TBAA_MEMLEN}")
        c = self.new()
        L.append(f"  {c} = icmp ugt i64 {end}, {ln}")
        self.trap_if(c, ST_OOB)
        p = self.new()
        L.append(f"  {p} = getelementptr inbounds i8, ptr {base}, i64 {ea}")
        return p

    def address64(self, memidx: int, off: int, size: int) -> str:
        """:meth:`address` for a 64-bit memory (memory64): pop an i64 address and trap
        unless ``addr + off + size <= length`` without wrapping (``off`` is a u64)."""
        base, lenp = self.memory(memidx)
        L = self.lines
        a = self.pop()
        bound = off + size
        if bound >= 1 << 64:          # no address fits: always out of bounds
            self.trap_if("true", ST_OOB)
            bound = size
        ln = self.new()
        L.append(f"  {ln} = load i64, ptr {lenp}, !tbaa {TBAA_MEMLEN}")
        # trap when length < bound or addr > length - bound (unsigned)
        short = self.new()
        L.append(f"  {short} = icmp ult i64 {ln}, {_i64(bound)}")
        room = self.new()
        L.append(f"  {room} = sub i64 {ln}, {_i64(bound)}")
        far = self.new()
        L.append(f"  {far} = icmp ugt i64 {a}, {room}")
        c = self.new()
        L.append(f"  {c} = or i1 {short}, {far}")
        self.trap_if(c, ST_OOB)
        ea = a
        if off:
            ea = self.new()
            L.append(f"  {ea} = add i64 {a}, {_i64(off)}")
        p = self.new()
        L.append(f"  {p} = getelementptr inbounds i8, ptr {base}, i64 {ea}")
        return p

    def check_range64(self, start: str, n: str, lenp: str, status: int, tbaa: str) -> None:
        """Trap with ``status`` unless ``start + n <= *lenp`` for i64 operands that may
        be any u64 (no wrapping: ``n > len or start > len - n``)."""
        L = self.lines
        ln = self.new()
        L.append(f"  {ln} = load i64, ptr {lenp}, !tbaa {tbaa}")
        c1 = self.new()
        L.append(f"  {c1} = icmp ugt i64 {n}, {ln}")
        room = self.new()
        L.append(f"  {room} = sub i64 {ln}, {n}")
        c2 = self.new()
        L.append(f"  {c2} = icmp ugt i64 {start}, {room}")
        c = self.new()
        L.append(f"  {c} = or i1 {c1}, {c2}")
        self.trap_if(c, status)

    def mem_dbg(self) -> str:
        """The ``!dbg`` of a linear-memory load or store: with guard pages it may fault
        (the signal handler's PC is then symbolized), otherwise none is needed."""
        return self.dbg() if self.mt.guard_pages else ""

    def heap_load(self, p: str, ty: str) -> str:
        """Emit a linear-memory load of ``ty`` from pointer ``p`` (from :meth:`address`)
        and return its SSA value.

        With guard pages the access itself is the bounds check: it faults past the
        memory's length.  LLVM assumes a load cannot trap, so it would delete a load
        whose value is unused or partly known, sink it into the branch that uses it, or
        move other side effects across it.  ``volatile`` forbids all three: a volatile
        access is never deleted, duplicated, merged or reordered with another volatile
        access or with a call.  Stores (:meth:`heap_store`) and the other state wasm can
        observe after a trap (``global.set``, ``table.set``: ``state_store``) are
        volatile too, so nothing is moved across an access that may fault.  With
        explicit bounds checks the compare-and-branch to the trap block orders
        everything and the accesses stay plain.  Figures: docs/architecture.md,
        "Trap-exact memory accesses"."""
        v = self.new()
        kw = "load volatile" if self.mt.guard_pages else "load"
        self.lines.append(f"  {v} = {kw} {ty}, ptr {p}, align 1, !tbaa {TBAA_HEAP}"
                          f"{self.mem_dbg()}")
        return v

    def heap_store(self, p: str, ty: str, v: str) -> None:
        """Emit a linear-memory store of ``v`` (type ``ty``) to pointer ``p``
        (``volatile`` with guard pages, see :meth:`heap_load`: LLVM would otherwise merge
        a store that faults with one before it that must happen, or reorder them)."""
        kw = "store volatile" if self.mt.guard_pages else "store"
        self.lines.append(f"  {kw} {ty} {v}, ptr {p}, align 1, !tbaa {TBAA_HEAP}"
                          f"{self.mem_dbg()}")

    def op_load(self, opcode: int, memarg: tuple) -> None:
        size, mt, ext, rt = LOADS[opcode]
        v = self.heap_load(self.address(memarg, size), mt)
        if ext:
            w = self.new()
            self.lines.append(f"  {w} = {ext} {mt} {v} to {rt}")
            v = w
        self.stack.append((v, rt))

    def op_drop(self, imm: None) -> None:
        self.stack.pop()

    def op_store(self, opcode: int, memarg: tuple) -> None:
        size, vt, mt = STORES[opcode]
        v = self.pop()
        p = self.address(memarg, size)
        if mt != vt:
            w = self.new()
            self.lines.append(f"  {w} = trunc {vt} {v} to {mt}")
            v = w
        self.heap_store(p, mt, v)

    def check_range(self, start64: str, len64: str, lenp: str, status: int,
                    tbaa: str) -> None:
        """Trap with ``status`` when ``start + len > *lenp`` (all i64)."""
        L = self.lines
        end = self.new()
        L.append(f"  {end} = add nuw nsw i64 {start64}, {len64}")
        ln = self.new()
        L.append(f"  {ln} = load i64, ptr {lenp}, !tbaa {tbaa}")
        c = self.new()
        L.append(f"  {c} = icmp ugt i64 {end}, {ln}")
        self.trap_if(c, status)

    def op_memory_size(self, memidx: int) -> None:
        _, lenp = self.memory(memidx)
        L = self.lines
        ln = self.new()
        L.append(f"  {ln} = load i64, ptr {lenp}, !tbaa {TBAA_MEMLEN}")
        pg = self.new()
        L.append(f"  {pg} = lshr i64 {ln}, 16")
        if self.mt.mem64[memidx]:
            self.stack.append((pg, _L))
            return
        r = self.new()
        L.append(f"  {r} = trunc i64 {pg} to i32")
        self.stack.append((r, _I))

    def op_memory_grow(self, memidx: int) -> None:
        delta = self.pop()
        self.grow_call(vo.BUILTIN_MEMORY_GROW, f", i32 {memidx}, i64 {self.addr64(memidx, delta)}",
                       self.mt.mem64[memidx])

    def grow_call(self, builtin: int, args: str, wide: bool) -> None:
        """Call the ``memory.grow``/``table.grow`` builtin (it returns an i64: the old
        size or -1) and push its result, truncated to i32 unless ``wide`` (a 64-bit
        memory or table)."""
        fn = self.builtin(builtin)
        r = self.new()
        self.lines.append(f"  {r} = call i64 {fn}(ptr %vmctx{args})")
        if wide:
            self.stack.append((r, _L))
            return
        t = self.new()
        self.lines.append(f"  {t} = trunc i64 {r} to i32")
        self.stack.append((t, _I))

    def addr64(self, memidx: int, v: str) -> str:
        """An address operand of memory ``memidx`` as an i64 (a 32-bit one zero-extended)."""
        return v if self.mt.mem64[memidx] else self.zext64(v)

    def op_memory_copy(self, imm: tuple) -> None:
        dst_mem, src_mem = imm
        n, s, d = self.pop(), self.pop(), self.pop()
        dbase, dlenp = self.memory(dst_mem)
        sbase, slenp = self.memory(src_mem)
        wide_n = self.mt.mem64[dst_mem] and self.mt.mem64[src_mem]
        n64 = n if wide_n else self.zext64(n)
        s64, d64 = self.addr64(src_mem, s), self.addr64(dst_mem, d)
        if self.mt.mem64[dst_mem] or self.mt.mem64[src_mem]:
            self.check_range64(s64, n64, slenp, ST_OOB, TBAA_MEMLEN)
            self.check_range64(d64, n64, dlenp, ST_OOB, TBAA_MEMLEN)
        else:
            self.check_range(s64, n64, slenp, ST_OOB, TBAA_MEMLEN)
            self.check_range(d64, n64, dlenp, ST_OOB, TBAA_MEMLEN)
        L = self.lines
        dp, sp = self.new(), self.new()
        L.append(f"  {dp} = getelementptr inbounds i8, ptr {dbase}, i64 {d64}")
        L.append(f"  {sp} = getelementptr inbounds i8, ptr {sbase}, i64 {s64}")
        self.mt.decls.add("declare void @llvm.memmove.p0.p0.i64(ptr, ptr, i64, i1)")
        L.append(f"  call void @llvm.memmove.p0.p0.i64(ptr align 1 {dp}, ptr align 1 {sp}, "
                 f"i64 {n64}, i1 false), !tbaa {TBAA_HEAP}")

    def op_memory_fill(self, memidx: int) -> None:
        n, val, d = self.pop(), self.pop(), self.pop()
        base, lenp = self.memory(memidx)
        if self.mt.mem64[memidx]:
            n64, d64 = n, d
            self.check_range64(d64, n64, lenp, ST_OOB, TBAA_MEMLEN)
        else:
            n64, d64 = self.zext64(n), self.zext64(d)
            self.check_range(d64, n64, lenp, ST_OOB, TBAA_MEMLEN)
        L = self.lines
        dp = self.new()
        L.append(f"  {dp} = getelementptr inbounds i8, ptr {base}, i64 {d64}")
        b = self.new()
        L.append(f"  {b} = trunc i32 {val} to i8")
        self.mt.decls.add("declare void @llvm.memset.p0.i64(ptr, i8, i64, i1)")
        L.append(f"  call void @llvm.memset.p0.i64(ptr align 1 {dp}, i8 {b}, i64 {n64}, "
                 f"i1 false), !tbaa {TBAA_HEAP}")

    def call_builtin(self, index: int, args: str, check: bool = True) -> str:
        fn = self.builtin(index)
        r = self.new()
        self.lines.append(f"  {r} = call i32 {fn}(ptr %vmctx{args})")
        if check:
            self.trap_status(r)
        return r

    def op_memory_init(self, imm: tuple) -> None:
        dataidx, memidx = imm
        n, s, d = self.pop(), self.pop(), self.pop()
        self.call_builtin(vo.BUILTIN_MEMORY_INIT,
                          f", i32 {memidx}, i32 {dataidx}, i64 {self.addr64(memidx, d)}, "
                          f"i32 {s}, i32 {n}")

    def op_data_drop(self, dataidx: int) -> None:
        self.call_builtin(vo.BUILTIN_DATA_DROP, f", i32 {dataidx}", check=False)

    # -- tables ---------------------------------------------------------------------------
    def op_table_get(self, tableidx: int) -> None:
        p = self.table_entry(tableidx, self.pop())
        v = self.new()
        self.lines.append(f"  {v} = load ptr, ptr {p}, !tbaa {TBAA_TABLE}")
        self.stack.append((v, "ptr"))

    def op_table_set(self, tableidx: int) -> None:
        val = self.pop()
        p = self.table_entry(tableidx, self.pop())
        self.lines.append(f"  {self.state_store} ptr {val}, ptr {p}, !tbaa {TBAA_TABLE}")

    def index64(self, tableidx: int, v: str) -> str:
        """An index operand of table ``tableidx`` as an i64 (a 32-bit one zero-extended)."""
        return v if self.mt.tab64[tableidx] else self.zext64(v)

    def op_table_size(self, tableidx: int) -> None:
        t = self.table_ptr(tableidx)
        lenp = self.entry_value(f"table{tableidx}.lenp",
                                f"{{}} = getelementptr i8, ptr {t}, i64 {vo.TABLE_LENGTH}")
        ln = self.new()
        self.lines.append(f"  {ln} = load i64, ptr {lenp}, !tbaa {TBAA_TABLE}")
        if self.mt.tab64[tableidx]:
            self.stack.append((ln, _L))
            return
        r = self.new()
        self.lines.append(f"  {r} = trunc i64 {ln} to i32")
        self.stack.append((r, _I))

    def op_table_grow(self, tableidx: int) -> None:
        n, init = self.pop(), self.pop()
        self.grow_call(vo.BUILTIN_TABLE_GROW,
                       f", i32 {tableidx}, ptr {init}, i64 {self.index64(tableidx, n)}",
                       self.mt.tab64[tableidx])

    def op_table_fill(self, tableidx: int) -> None:
        n, val, i = self.pop(), self.pop(), self.pop()
        self.call_builtin(vo.BUILTIN_TABLE_FILL,
                          f", i32 {tableidx}, i64 {self.index64(tableidx, i)}, ptr {val}, "
                          f"i64 {self.index64(tableidx, n)}")

    def op_table_copy(self, imm: tuple) -> None:
        dst, src = imm
        n, s, d = self.pop(), self.pop(), self.pop()
        n64 = n if self.mt.tab64[dst] and self.mt.tab64[src] else self.zext64(n)
        self.call_builtin(vo.BUILTIN_TABLE_COPY,
                          f", i32 {dst}, i32 {src}, i64 {self.index64(dst, d)}, "
                          f"i64 {self.index64(src, s)}, i64 {n64}")

    def op_table_init(self, imm: tuple) -> None:
        elemidx, tableidx = imm
        n, s, d = self.pop(), self.pop(), self.pop()
        self.call_builtin(vo.BUILTIN_TABLE_INIT,
                          f", i32 {tableidx}, i32 {elemidx}, i64 {self.index64(tableidx, d)}, "
                          f"i32 {s}, i32 {n}")

    def op_elem_drop(self, elemidx: int) -> None:
        self.call_builtin(vo.BUILTIN_ELEM_DROP, f", i32 {elemidx}", check=False)

    # -- numerics needing more than one instruction ----------------------------------------
    def op_div(self, opcode: int) -> None:
        instr, t, signed, is_rem = DIVS[opcode]
        L = self.lines
        b = self.pop()
        a = self.pop()
        literal = b[0] != "%"
        bval = int(b) if literal else None
        if not literal or bval == 0:
            c = self.new()
            L.append(f"  {c} = icmp eq {t} {b}, 0")
            self.trap_if(c, ST_DIV0)
        if signed and (not literal or bval == -1):
            if is_rem:
                # INT_MIN rem -1 is 0 in wasm, undefined behaviour for LLVM's srem; x rem -1
                # is 0 for every x, so divide by 1 instead.
                c = self.new()
                L.append(f"  {c} = icmp eq {t} {b}, -1")
                b2 = self.new()
                L.append(f"  {b2} = select i1 {c}, {t} 1, {t} {b}")
                b = b2
            else:
                c1, c2, c = self.new(), self.new(), self.new()
                L.append(f"  {c1} = icmp eq {t} {a}, {INT_MIN[t]}")
                L.append(f"  {c2} = icmp eq {t} {b}, -1")
                L.append(f"  {c} = and i1 {c1}, {c2}")
                self.trap_if(c, ST_OVERFLOW)
        r = self.new()
        L.append(f"  {r} = {instr} {t} {a}, {b}")
        self.stack.append((r, t))

    def op_trunc(self, opcode: int) -> None:
        instr, ft, it, lo, lo_incl, hi = TRUNCS[opcode]
        L = self.lines
        x = self.pop()
        c = self.new()
        L.append(f"  {c} = fcmp uno {ft} {x}, {x}")
        self.trap_if(c, ST_BADCONV)
        c1, c2, c = self.new(), self.new(), self.new()
        L.append(f"  {c1} = fcmp {'oge' if lo_incl else 'ogt'} {ft} {x}, {double_literal(lo)}")
        L.append(f"  {c2} = fcmp olt {ft} {x}, {double_literal(hi)}")
        L.append(f"  {c} = and i1 {c1}, {c2}")
        nc = self.new()
        L.append(f"  {nc} = xor i1 {c}, true")
        self.trap_if(nc, ST_OVERFLOW)
        r = self.new()
        L.append(f"  {r} = {instr} {ft} {x} to {it}")
        self.stack.append((r, it))

    def op_fminmax(self, opcode: int) -> None:
        name, t = MINMAX[opcode]
        b = self.pop()
        a = self.pop()
        self.stack.append((self.fminmax(name, t, a, b), t))

    def fminmax(self, name: str, t: str, a: str, b: str) -> str:
        """``name(a, b)`` (``llvm.minimum``/``maximum``, scalar or vector type ``t``) with
        a NaN result quieted: where either operand is NaN the result is ``a + b``, an
        arithmetic NaN (spec §4.3.3 fmin/fmax, §4.3.3 "NaN propagation")."""
        self.mt.decls.add(f"declare {t} @{name}({t}, {t})")
        L = self.lines
        r = self.new()
        L.append(f"  {r} = call {t} @{name}({t} {a}, {t} {b})")
        c = self.new()
        L.append(f"  {c} = fcmp uno {t} {a}, {b}")
        q = self.new()
        L.append(f"  {q} = fadd {t} {a}, {b}")
        v = self.new()
        ct = "i1" if t[0] != "<" else t.split(" x ")[0] + " x i1>"
        L.append(f"  {v} = select {ct} {c}, {t} {q}, {t} {r}")
        return v

    def canonicalize(self, v: str, t: str) -> str:
        """``llvm.canonicalize(v)`` (``t`` = ``float`` or ``double``): ``v`` with a
        signalling NaN quieted.  For results that LLVM would otherwise fold to an operand
        (``FOLDING_LITERALS``, ``fptrunc (fpext x)``); LLVM keeps the call (on x86 a
        multiplication by 1.0)."""
        name = "llvm.canonicalize.f32" if t == _F else "llvm.canonicalize.f64"
        self.mt.decls.add(f"declare {t} @{name}({t})")
        c = self.new()
        self.lines.append(f"  {c} = call {t} @{name}({t} {v})")
        return c

    def op_select(self, typed: tuple | None) -> None:
        cond = self.pop()
        b, t = self.stack.pop()
        a = self.pop()
        if typed:
            t = LLTYPE[typed[0]]
        L = self.lines
        c = self.new()
        L.append(f"  {c} = icmp ne i32 {cond}, 0")
        r = self.new()
        L.append(f"  {r} = select i1 {c}, {t} {a}, {t} {b}")
        self.stack.append((r, t))

    # -- the main loop --------------------------------------------------------------------
    @staticmethod
    def add_checkpoints(handlers: dict, checkpoint: Callable[[], None]) -> None:
        """Call ``checkpoint()`` before each block, loop, if and call."""
        for code in (op.BLOCK, op.LOOP, op.IF, op.CALL):
            h = handlers[code]

            def checked(imm: Any, _h: Callable = h) -> None:
                checkpoint()
                _h(imm)
            handlers[code] = checked

    def translate_body(self) -> None:
        stack = self.stack
        L = self.lines
        new = self.new
        push = stack.append
        ltypes = self.local_types
        mt = self.mt
        handlers = self.handlers()
        simd = simd_handlers()
        fuel = mt.consume_fuel
        if fuel or mt.epoch_interruption or mt.hotness is not None:
            self.instrument(handlers)
        if mt.checkpoint is not None:
            self.add_checkpoints(handlers, mt.checkpoint)
        if self.osr_loop is not None:
            loop = handlers[op.LOOP]

            def osr_loop(bt: int) -> None:
                if self.offset == self.osr_loop:
                    self.osr_join()
                loop(bt)
            handlers[op.LOOP] = osr_loop
        depth_dead = 0
        for opcode, imm, offset in self.body:
            self.offset = offset
            if not self.reachable:
                if opcode == op.END:
                    if depth_dead:
                        depth_dead -= 1
                        continue
                    self.close_frame()
                    if not self.frames:
                        return
                    continue
                if opcode == op.BLOCK or opcode == op.LOOP or opcode == op.IF:
                    depth_dead += 1
                elif opcode == op.ELSE and not depth_dead:
                    self.op_else()
                continue
            if fuel:
                self.fuel_before(opcode)
            if opcode == op.LOCAL_GET:
                t = ltypes[imm]
                v = new()
                L.append(f"  {v} = load {t}, ptr %l{imm}")
                push((v, t))
            elif opcode == op.LOCAL_SET:
                v, t = stack.pop()
                L.append(f"  store {ltypes[imm]} {v}, ptr %l{imm}")
            elif opcode == op.LOCAL_TEE:
                L.append(f"  store {ltypes[imm]} {stack[-1][0]}, ptr %l{imm}")
            elif opcode == op.I32_CONST:
                push((str(imm), "i32"))
            elif opcode in BINOPS:
                instr, t = BINOPS[opcode]
                b = stack.pop()[0]
                a = stack.pop()[0]
                v = new()
                L.append(f"  {v} = {instr} {a}, {b}")
                if instr[0] == "f":
                    left, right = FOLDING_LITERALS[instr[:4]]
                    if a in left or b in right:
                        v = self.canonicalize(v, t)
                push((v, t))
            elif opcode in COMPARES:
                b = stack.pop()[0]
                a = stack.pop()[0]
                c = new()
                L.append(f"  {c} = {COMPARES[opcode]} {a}, {b}")
                v = new()
                L.append(f"  {v} = zext i1 {c} to i32")
                push((v, "i32"))
            elif opcode in LOADS:
                self.op_load(opcode, imm)
            elif opcode in STORES:
                self.op_store(opcode, imm)
            elif opcode == op.I64_CONST:
                push((str(imm), "i64"))
            elif opcode == op.I32_EQZ or opcode == op.I64_EQZ:
                a = stack.pop()[0]
                c = new()
                L.append(f"  {c} = icmp eq {'i32' if opcode == op.I32_EQZ else 'i64'} {a}, 0")
                v = new()
                L.append(f"  {v} = zext i1 {c} to i32")
                push((v, "i32"))
            elif opcode in SHIFTS:
                instr, t, mask = SHIFTS[opcode]
                b = stack.pop()[0]
                a = stack.pop()[0]
                if b[0] != "%":
                    b = str(int(b) & mask)
                else:
                    m = new()
                    L.append(f"  {m} = and {t} {b}, {mask}")
                    b = m
                v = new()
                L.append(f"  {v} = {instr} {t} {a}, {b}")
                push((v, t))
            elif opcode in CONVERSIONS:
                instr, ft, t = CONVERSIONS[opcode]
                a = stack.pop()[0]
                v = new()
                L.append(f"  {v} = {instr} {ft} {a} to {t}")
                if opcode == op.F64_PROMOTE_F32:
                    self.promoted.add(v)
                elif opcode == op.F32_DEMOTE_F64 and a in self.promoted:
                    v = self.canonicalize(v, t)  # LLVM folds fptrunc (fpext x) to x
                push((v, t))
            elif opcode in BIN_INTRINSICS:
                name, t = BIN_INTRINSICS[opcode]
                mt.decls.add(INTRINSIC_DECLS[name])
                b = stack.pop()[0]
                a = stack.pop()[0]
                v = new()
                if name.startswith("llvm.fsh"):
                    L.append(f"  {v} = call {t} @{name}({t} {a}, {t} {a}, {t} {b})")
                else:
                    L.append(f"  {v} = call {t} @{name}({t} {a}, {t} {b})")
                push((v, t))
            elif opcode in UN_INTRINSICS:
                name, t, extra = UN_INTRINSICS[opcode]
                mt.decls.add(INTRINSIC_DECLS[name])
                a = stack.pop()[0]
                v = new()
                L.append(f"  {v} = call {t} @{name}({t} {a}{extra})")
                push((v, t))
            elif opcode == op.F32_NEG or opcode == op.F64_NEG:
                t = "float" if opcode == op.F32_NEG else "double"
                a = stack.pop()[0]
                v = new()
                L.append(f"  {v} = fneg {t} {a}")
                push((v, t))
            elif opcode == op.F32_CONST:
                push((f32_literal(imm), "float"))
            elif opcode == op.F64_CONST:
                push((f64_literal(imm), "double"))
            elif opcode in DIVS:
                self.op_div(opcode)
            elif opcode in MINMAX:
                self.op_fminmax(opcode)
            elif opcode in SIGN_EXTENDS:
                narrow, t = SIGN_EXTENDS[opcode]
                a = stack.pop()[0]
                w = new()
                L.append(f"  {w} = trunc {t} {a} to {narrow}")
                v = new()
                L.append(f"  {v} = sext {narrow} {w} to {t}")
                push((v, t))
            elif opcode in TRUNCS:
                self.op_trunc(opcode)
            elif opcode in SAT_TRUNCS:
                name, ft, t = SAT_TRUNCS[opcode]
                mt.decls.add(INTRINSIC_DECLS[name])
                a = stack.pop()[0]
                v = new()
                L.append(f"  {v} = call {t} @{name}({ft} {a})")
                push((v, t))
            elif opcode == op.END:
                self.close_frame()
                if not self.frames:
                    return
            else:
                h = handlers.get(opcode)
                if h is not None:
                    h(imm)
                    continue
                s = simd.get(opcode)
                if s is None:
                    self.unsupported(opcode, offset)
                s(self, opcode, imm)

    def unsupported(self, opcode: int, offset: int) -> None:
        name = op.OPCODE_NAMES.get(opcode, hex(opcode))
        raise WasmtimeError(f"unsupported instruction {name} at offset {offset:#x}")

    def handlers(self) -> dict:
        return {
            op.BLOCK: self.op_block,
            op.LOOP: self.op_loop,
            op.IF: self.op_if,
            op.ELSE: lambda imm: self.op_else(),
            op.BR: self.op_br,
            op.BR_IF: self.op_br_if,
            op.BR_TABLE: self.op_br_table,
            op.RETURN: lambda imm: self.op_br(len(self.frames) - 1),
            op.CALL: self.op_call,
            op.CALL_INDIRECT: self.op_call_indirect,
            op.RETURN_CALL: self.op_return_call,
            op.RETURN_CALL_INDIRECT: self.op_return_call_indirect,
            op.UNREACHABLE: self.op_unreachable,
            op.NOP: lambda imm: None,
            op.DROP: self.op_drop,
            op.SELECT: self.op_select,
            op.SELECT_T: self.op_select,
            op.GLOBAL_GET: self.op_global_get,
            op.GLOBAL_SET: self.op_global_set,
            op.MEMORY_SIZE: self.op_memory_size,
            op.MEMORY_GROW: self.op_memory_grow,
            op.MEMORY_COPY: self.op_memory_copy,
            op.MEMORY_FILL: self.op_memory_fill,
            op.MEMORY_INIT: self.op_memory_init,
            op.DATA_DROP: self.op_data_drop,
            op.TABLE_GET: self.op_table_get,
            op.TABLE_SET: self.op_table_set,
            op.TABLE_SIZE: self.op_table_size,
            op.TABLE_GROW: self.op_table_grow,
            op.TABLE_FILL: self.op_table_fill,
            op.TABLE_COPY: self.op_table_copy,
            op.TABLE_INIT: self.op_table_init,
            op.ELEM_DROP: self.op_elem_drop,
            op.REF_NULL: self.op_ref_null,
            op.REF_IS_NULL: self.op_ref_is_null,
            op.REF_FUNC: self.op_ref_func,
            op.CALL_REF: self.op_call_ref,
            op.RETURN_CALL_REF: self.op_return_call_ref,
            op.REF_AS_NON_NULL: self.op_ref_as_non_null,
            op.BR_ON_NULL: self.op_br_on_null,
            op.BR_ON_NON_NULL: self.op_br_on_non_null,
        }

    # -- fuel and epochs ------------------------------------------------------------------
    def instrument(self, handlers: dict) -> None:
        """Wrap the ``handlers`` that need fuel or epoch code after them (calls reload the
        fuel local, loop headers check, grows and bulk operations charge their size)."""
        fuel = self.mt.consume_fuel

        def after(h: Callable[[Any], None], post: Callable[[], None]) -> Callable[[Any], None]:
            def run(imm: Any) -> None:
                h(imm)
                post()
            return run

        def loop_header() -> None:
            if fuel:
                self.fuel_check()
            if self.mt.epoch_interruption:
                self.epoch_check()
            if self.mt.hotness is not None:
                self.hot_tick(loop=True)

        handlers[op.LOOP] = after(handlers[op.LOOP], loop_header)
        if not fuel:
            return
        for opcode in (op.CALL, op.CALL_INDIRECT, op.CALL_REF):
            handlers[opcode] = after(handlers[opcode], self.fuel_reload)
        for opcode in (op.MEMORY_GROW, op.TABLE_GROW):
            handlers[opcode] = self.fuel_grow(handlers[opcode])
        for opcode in FUEL_BULK:
            handlers[opcode] = self.fuel_bulk(handlers[opcode])

    def fuel_before(self, opcode: int) -> None:
        """Account for ``opcode`` before it is translated (reachable code only)."""
        if opcode not in FUEL_FREE:
            self.fuel_pending += 1
        if opcode in FUEL_SAVE_BEFORE:
            self.fuel_save()
        elif opcode in FUEL_FLUSH_BEFORE:
            self.fuel_flush()

    def fuel_add(self, amount: str) -> None:
        """``%fuel += pending + amount`` (``amount`` an i64 value or literal)."""
        pending = self.fuel_pending
        self.fuel_pending = 0
        L = self.lines
        v = self.new()
        L.append(f"  {v} = load i64, ptr %fuel")
        if pending:
            w = self.new()
            L.append(f"  {w} = add i64 {v}, {pending}")
            v = w
        if amount != "0":
            w = self.new()
            L.append(f"  {w} = add i64 {v}, {amount}")
            v = w
        L.append(f"  store i64 {v}, ptr %fuel")

    def fuel_flush(self) -> None:
        """Add the pending cost to the fuel local."""
        if self.fuel_pending:
            self.fuel_add("0")

    def fuel_save(self) -> None:
        """Flush, then write the fuel local back to ``STORE_FUEL``."""
        self.fuel_flush()
        v = self.new()
        self.lines.append(f"  {v} = load i64, ptr %fuel")
        self.lines.append(f"  store i64 {v}, ptr %fuelp, !tbaa {TBAA_VMCTX}")

    def fuel_reload(self) -> None:
        """Read ``STORE_FUEL`` into the fuel local (after a call: the callee and host
        functions change it)."""
        v = self.new()
        self.lines.append(f"  {v} = load i64, ptr %fuelp, !tbaa {TBAA_VMCTX}")
        self.lines.append(f"  store i64 {v}, ptr %fuel")

    def fuel_check(self, amount: str = "0", when: str | None = None) -> None:
        """Add the pending cost (and ``amount``) and, when the counter is ``>= 0`` (and
        the i1 ``when`` holds, if given), save it and call ``BUILTIN_OUT_OF_GAS``, which
        refuels from the store's reserve (continue with the reloaded counter) or returns
        the out-of-fuel status (trap)."""
        self.fuel_add(amount)
        L = self.lines
        v = self.new()
        L.append(f"  {v} = load i64, ptr %fuel")
        c = self.new()
        L.append(f"  {c} = icmp sge i64 {v}, 0")
        if when is not None:
            c2 = self.new()
            L.append(f"  {c2} = and i1 {c}, {when}")
            c = c2
        oog, cont = self.new_label("oog"), self.new_label("fuelok")
        L.append(f"  br i1 {c}, label %{oog}, label %{cont}, !prof {PROF_UNLIKELY}")
        self.start_block(oog)
        L.append(f"  store i64 {v}, ptr %fuelp, !tbaa {TBAA_VMCTX}")
        self.call_builtin(vo.BUILTIN_OUT_OF_GAS, "")
        self.fuel_reload()
        L.append(f"  br label %{cont}")
        self.start_block(cont)

    def fuel_grow(self, h: Callable[[Any], None]) -> Callable[[Any], None]:
        """``memory.grow``/``table.grow``: a successful grow also costs its delta, and
        only then is fuel checked (as Wasmtime, whose grow libcall consumes it)."""
        def run(imm: Any) -> None:
            delta = self.stack[-1][0]
            h(imm)
            r, t = self.stack[-1]      # i64 for a 64-bit memory or table (memory64)
            L = self.lines
            ok = self.new()
            L.append(f"  {ok} = icmp ne {t} {r}, -1")
            d = delta if t == _L else self.zext64(delta)
            n = self.new()
            L.append(f"  {n} = select i1 {ok}, i64 {d}, i64 0")
            self.fuel_check(n, ok)
        return run

    def fuel_bulk(self, h: Callable[[Any], None]) -> Callable[[Any], None]:
        """Bulk memory/table operations cost their length ``n`` (the top operand) too,
        as in Wasmtime: a constant ``n <= FUEL_BULK_SMALL`` is added to the pending
        cost like any instruction's; otherwise fuel is checked before the operation
        (charging ``n`` when it is that small) and a larger ``n`` is charged and checked
        after it."""
        def run(imm: Any) -> None:
            n, t = self.stack[-1]      # an i64 length for 64-bit memories and tables
            L = self.lines
            if n[0] != "%":
                k = int(n) & (0xFFFFFFFFFFFFFFFF if t == _L else 0xFFFFFFFF)
                if k <= FUEL_BULK_SMALL:  # a small constant length is a static cost
                    self.fuel_pending += k
                    h(imm)
                    return
                pre, post = "0", _i64(k)
            else:
                n64 = n if t == _L else self.zext64(n)
                small = self.new()
                L.append(f"  {small} = icmp ule i64 {n64}, {FUEL_BULK_SMALL}")
                pre, post = self.new(), self.new()
                L.append(f"  {pre} = select i1 {small}, i64 {n64}, i64 0")
                L.append(f"  {post} = select i1 {small}, i64 0, i64 {n64}")
            self.fuel_check(pre)
            h(imm)
            if post is not None:
                self.fuel_check(post)
        return run

    def hot_tick(self, loop: bool = False) -> None:
        """Count one call or loop iteration against this function's hotness counter
        (first tier only); at 0, ask for the optimizing tier (``compiler/lazy.py``).
        At a loop header (``loop``) with OSR, see :meth:`osr_tick`."""
        counters, callback, slots = self.mt.hotness  # type: ignore[misc]
        defidx = self.funcidx - self.mt.num_imported_funcs
        ptr = f"inttoptr (i64 {counters + 4 * defidx} to ptr)"
        L = self.lines
        h, h1, hot = self.new(), self.new(), self.new()
        L.append(f"  {h} = load i32, ptr {ptr}")
        L.append(f"  {h1} = sub i32 {h}, 1")
        L.append(f"  store i32 {h1}, ptr {ptr}")
        if loop and self.offset in self.osr_index:
            self.osr_tick(h1, ptr, slots + 8 * defidx)
            return
        L.append(f"  {hot} = icmp eq i32 {h1}, 0")
        ask, go = self.new_label("hot"), self.new_label("warm")
        L.append(f"  br i1 {hot}, label %{ask}, label %{go}, !prof {PROF_UNLIKELY}")
        self.start_block(ask)
        L.append(f"  call void inttoptr (i64 {callback} to ptr)(i64 {slots + 8 * defidx})"
                 f"{self.dbg()}")
        L.append(f"  br label %{go}")
        self.start_block(go)

    def osr_tick(self, count: str, counter: str, slot: int) -> None:
        """The first tier's loop header, the function's counter (``count``, just
        decremented) run out: on-stack replacement.  When the loop's entry in the OSR
        table is an address, spill the locals and the operand stack into
        ``%osr.state`` (16-byte slots: the locals, then the stack from the bottom),
        call the OSR entry and return what it returns (this frame is done); when it is
        0, ask for it (the loop callback queues the OSR entry and the function for the
        optimizing tier); then wait :data:`OSR_RETRY` more ticks before looking again.
        The call carries the line :data:`OSR_LINE`, by which backtraces drop this
        frame (the OSR entry's frame stands for the function)."""
        L = self.lines
        loop_cb = self.mt.osr[0]  # type: ignore[index]
        entry = f"inttoptr (i64 {self.osr_table + 8 * self.osr_index[self.offset]} to ptr)"
        hot, e, ready, new = self.new(), self.new(), self.new(), self.new()
        ask, go = self.new_label("hot"), self.new_label("warm")
        transfer, wait = self.new_label("osr"), self.new_label("osrwait")
        call, retry = self.new_label("osrask"), self.new_label("osrretry")
        L.append(f"  {hot} = icmp slt i32 {count}, 1")
        L.append(f"  br i1 {hot}, label %{ask}, label %{go}, !prof {PROF_UNLIKELY}")
        self.start_block(ask)
        L.append(f"  {e} = load atomic i64, ptr {entry} monotonic, align 8")
        L.append(f"  {ready} = icmp ugt i64 {e}, 1")
        L.append(f"  br i1 {ready}, label %{transfer}, label %{wait}")
        self.start_block(wait)
        L.append(f"  {new} = icmp eq i64 {e}, 0")
        L.append(f"  br i1 {new}, label %{call}, label %{retry}")
        self.start_block(call)
        L.append(f"  call void inttoptr (i64 {loop_cb} to ptr)(i64 {slot}, i64 {self.offset})"
                 f"{self.dbg()}")
        L.append(f"  br label %{retry}")
        self.start_block(retry)
        L.append(f"  store i32 {OSR_RETRY}, ptr {counter}")
        L.append(f"  br label %{go}")
        self.start_block(transfer)
        if self.mt.consume_fuel:
            self.fuel_save()
        values = [(f"%l{i}", t, True) for i, t in enumerate(self.local_types)]
        values += [(v, t, False) for v, t in self.stack]
        self.osr_slots = max(self.osr_slots, len(values), 1)
        for k, (v, t, local) in enumerate(values):
            if local:
                x = self.new()
                L.append(f"  {x} = load {t}, ptr {v}")
                v = x
            p = self.new()
            L.append(f"  {p} = getelementptr i8, ptr %osr.state, i64 {16 * k}")
            L.append(f"  store {t} {v}, ptr {p}")
        L.append(f"  atomicrmw add ptr inttoptr (i64 {self.mt.osr[2]} to ptr), "  # type: ignore[index]
                 "i64 1 monotonic")
        fp = self.new()
        L.append(f"  {fp} = inttoptr i64 {e} to ptr")
        rt = result_type(self.ft)
        call_text = f"call {rt} {fp}(ptr %vmctx, ptr %osr.state){self.dbg(OSR_LINE)}"
        if rt == "void":
            L.append(f"  {call_text}")
            L.append("  ret void")
        else:
            r = self.new()
            L.append(f"  {r} = {call_text}")
            L.append(f"  ret {rt} {r}")
        self.start_block(go)

    def osr_join(self) -> None:
        """The OSR entry reaching its loop (before the loop's own code): the operand
        stack becomes phis of what the code before computed (dead in this function:
        its entry jumps to ``osr.enter``) and what ``osr.enter`` loads from the state
        (after the locals, bottom first), as :meth:`osr_tick` stored them."""
        L = self.lines
        if self.mt.consume_fuel:
            self.fuel_flush()   # the OSR path must not pay for the code before the loop
        base = len(self.local_types)
        enter = ["osr.enter:"]
        loaded = []
        for j, (_v, t) in enumerate(self.stack):
            name = f"%osr.s{j}"
            enter.append(f"  {name}.p = getelementptr i8, ptr %state, i64 {16 * (base + j)}")
            enter.append(f"  {name} = load {t}, ptr {name}.p")
            loaded.append(name)
        enter.append("  br label %osr.join")
        self.osr_enter = enter
        pred = self.cur
        L.append("  br label %osr.join")
        self.start_block("osr.join")
        for j, (v, t) in enumerate(self.stack):
            name = self.new()
            L.append(f"  {name} = phi {t} [ {loaded[j]}, %osr.enter ], [ {v}, %{pred} ]")
            self.stack[j] = (name, t)

    def epoch_check(self) -> None:
        """Trap with "interrupt" when the engine's epoch (``*STORE_EPOCH_PTR``, read
        volatile: another thread moves it) has reached ``STORE_EPOCH_DEADLINE``."""
        ep = self.entry_value("epoch.ptr.a",
                              f"{{}} = getelementptr i8, ptr %sc, i64 {vo.STORE_EPOCH_PTR}")
        epoch = self.entry_value("epoch.ptr",
                                 f"{{}} = load ptr, ptr {ep}, !invariant.load {MD_INVARIANT}")
        dlp = self.entry_value("epoch.dlp",
                               f"{{}} = getelementptr i8, ptr %sc, i64 "
                               f"{vo.STORE_EPOCH_DEADLINE}")
        L = self.lines
        cur = self.new()
        L.append(f"  {cur} = load volatile i64, ptr {epoch}")
        dl = self.new()
        L.append(f"  {dl} = load i64, ptr {dlp}, !tbaa {TBAA_VMCTX}")
        c = self.new()
        L.append(f"  {c} = icmp uge i64 {cur}, {dl}")
        self.trap_if(c, ST_INTERRUPT)

    def op_unreachable(self, imm: None) -> None:
        self.lines.append(f"  br label %{self.trap_label(ST_UNREACHABLE)}")
        self.reachable = False

    def op_ref_null(self, reftype: int) -> None:
        self.stack.append(("null", "ptr"))

    def op_ref_is_null(self, imm: None) -> None:
        a = self.pop()
        c = self.new()
        self.lines.append(f"  {c} = icmp eq ptr {a}, null")
        v = self.new()
        self.lines.append(f"  {v} = zext i1 {c} to i32")
        self.stack.append((v, "i32"))

    def op_ref_func(self, funcidx: int) -> None:
        self.stack.append((self.vmctx_ptr(self.offsets.func(funcidx), f"func{funcidx}"), "ptr"))
