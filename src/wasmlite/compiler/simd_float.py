"""SIMD float lanes: ``f32x4``/``f64x2`` arithmetic, comparisons, rounding and the
conversions between float and integer lanes (spec §4.3.2 "Vector Operations", §4.4.3
"Vector Instructions", with the scalar numerics of §4.3.3 applied lane-wise).

Each handler pops its v128 operands bitcast to the float lane shape (``<4 x float>``
or ``<2 x double>``, see :data:`~.simd.SHAPE`) and pushes its result as a v128.

NaN results: LLVM's ``fadd``/``fsub``/``fmul``/``fdiv``/``sqrt``/rounding intrinsics and
conversions return a quiet NaN for a NaN operand (spec: an arithmetic NaN);
``llvm.minimum``/``maximum`` return a NaN operand unchanged, so ``min``/``max`` go
through :meth:`FunctionTranslator.fminmax <wasmlite.compiler.translate.FunctionTranslator.fminmax>`,
which quiets it.  ``abs`` and ``neg`` are bit operations on the sign bit (spec fabs/fneg
keep the payload), done on integer lanes so that no float transformation touches them;
``pmin``/``pmax`` are a compare and a ``select`` and return an operand as it is.

LLVM treats every NaN as quiet: it folds ``x * 1``, ``x / 1``, ``x + -0``, ``x - 0``
to ``x`` and ``x * -1``, ``x / -1``, ``-0 - x`` to ``fneg x`` (InstCombine, opt level
1 and up), and ``fptrunc (fpext x)`` to ``x`` (for vectors the SelectionDAG does it even
at opt level 0), which hands back a
signalling NaN where wasm wants it quieted (spec §4.3.3 "NaN propagation").  Where an
operand is such a constant (a ``v128.const`` or a splatted ``fN.const`` in the same
function: :func:`_const_lanes`), or a demotion takes a promotion of this function, the
result goes through ``llvm.canonicalize`` (one multiply by 1.0 on x86), which LLVM
keeps.  Constants that only appear after inlining or constant propagation at opt level
2 are not seen; there a signalling NaN may come through unquieted.
"""

from __future__ import annotations

import math
import struct
from typing import Any

from ..binary import opcodes as op
from .simd import SHAPE, Handler, V, declare, emit, pop_as, push_from

_F4 = SHAPE["f32x4"]  # <4 x float>
_D2 = SHAPE["f64x2"]  # <2 x double>
_I4 = SHAPE["i32x4"]  # <4 x i32>
_L2 = SHAPE["i64x2"]  # <2 x i64>

#: float vector type → (same-width integer vector type, LLVM name suffix, lane count)
_INFO = {_F4: (_I4, "v4f32", 4), _D2: (_L2, "v2f64", 2)}

#: float vector type → sign-bit mask literal of its integer vector type
_SIGN = {
    _F4: "<" + ", ".join(["i32 -2147483648"] * 4) + ">",
    _D2: "<" + ", ".join(["i64 -9223372036854775808"] * 2) + ">",
}
#: float vector type → everything-but-the-sign-bit mask literal
_MAGNITUDE = {
    _F4: "<" + ", ".join(["i32 2147483647"] * 4) + ">",
    _D2: "<" + ", ".join(["i64 9223372036854775807"] * 2) + ">",
}


def _bool_vec(t: str) -> str:
    """``<N x i1>`` for the vector type ``t``."""
    return t.split(" x ")[0] + " x i1>"


# -- comparisons (spec §4.3.2 vrelop: all-ones where true, zero where false) -----------

#: opcode → (fcmp predicate, float vector type)
_COMPARES = {
    op.F32X4_EQ: ("oeq", _F4), op.F32X4_NE: ("une", _F4),
    op.F32X4_LT: ("olt", _F4), op.F32X4_GT: ("ogt", _F4),
    op.F32X4_LE: ("ole", _F4), op.F32X4_GE: ("oge", _F4),
    op.F64X2_EQ: ("oeq", _D2), op.F64X2_NE: ("une", _D2),
    op.F64X2_LT: ("olt", _D2), op.F64X2_GT: ("ogt", _D2),
    op.F64X2_LE: ("ole", _D2), op.F64X2_GE: ("oge", _D2),
}


def op_compare(ft: Any, opcode: int, imm: None) -> None:
    """``f32x4.eq`` … ``f64x2.ge``: ordered compares except ``ne`` (true on NaN)."""
    pred, t = _COMPARES[opcode]
    it = _INFO[t][0]
    b = pop_as(ft, t)
    a = pop_as(ft, t)
    c = emit(ft, f"fcmp {pred} {t} {a}, {b}")
    push_from(ft, emit(ft, f"sext {_bool_vec(t)} {c} to {it}"), it)


# -- sign-bit operations --------------------------------------------------------------

_ABS = {op.F32X4_ABS: _F4, op.F64X2_ABS: _D2}
_NEG = {op.F32X4_NEG: _F4, op.F64X2_NEG: _D2}


def op_abs(ft: Any, opcode: int, imm: None) -> None:
    """``fNxM.abs``: clear each lane's sign bit (NaN payloads kept)."""
    t = _ABS[opcode]
    it = _INFO[t][0]
    a = pop_as(ft, it)
    push_from(ft, emit(ft, f"and {it} {a}, {_MAGNITUDE[t]}"), it)


def op_neg(ft: Any, opcode: int, imm: None) -> None:
    """``fNxM.neg``: flip each lane's sign bit (NaN payloads kept)."""
    t = _NEG[opcode]
    it = _INFO[t][0]
    a = pop_as(ft, it)
    push_from(ft, emit(ft, f"xor {it} {a}, {_SIGN[t]}"), it)


# -- arithmetic -----------------------------------------------------------------------

#: opcode → (instruction, float vector type)
_BINOPS = {
    op.F32X4_ADD: ("fadd", _F4), op.F32X4_SUB: ("fsub", _F4),
    op.F32X4_MUL: ("fmul", _F4), op.F32X4_DIV: ("fdiv", _F4),
    op.F64X2_ADD: ("fadd", _D2), op.F64X2_SUB: ("fsub", _D2),
    op.F64X2_MUL: ("fmul", _D2), op.F64X2_DIV: ("fdiv", _D2),
}


def op_binop(ft: Any, opcode: int, imm: None) -> None:
    """``fNxM.add/sub/mul/div``: IEEE 754 lane-wise, round to nearest even."""
    instr, t = _BINOPS[opcode]
    folds = _folds_to_operand(ft, instr, t, ft.stack[-2][0], ft.stack[-1][0])
    b = pop_as(ft, t)
    a = pop_as(ft, t)
    r = emit(ft, f"{instr} {t} {a}, {b}")
    push_from(ft, _canonicalize(ft, r, t) if folds else r, t)


def _canonicalize(ft: Any, v: str, t: str) -> str:
    """``llvm.canonicalize(v)``: ``v`` with a signalling NaN quieted (``t`` must be a
    legal x86 vector type: ``<2 x float>`` crashes the X86 backend)."""
    name = f"llvm.canonicalize.{_INFO[t][1]}"
    declare(ft, f"declare {t} @{name}({t})")
    return emit(ft, f"call {t} @{name}({t} {v})")


def _folds_to_operand(ft: Any, instr: str, t: str, a: str, b: str) -> bool:
    """Whether LLVM may fold ``instr t a, b`` to ``a``/``b`` or its ``fneg`` (operands
    as v128 stack values): the identities of the module docstring, every lane alike."""
    def every(v: str, values: tuple[float, ...]) -> bool:
        lanes = _const_lanes(ft, v, t)
        return lanes is not None and all(
            any(x == y and math.copysign(1.0, x) == math.copysign(1.0, y) for y in values)
            for x in lanes)
    if instr == "fmul":
        return every(a, (1.0, -1.0)) or every(b, (1.0, -1.0))
    if instr == "fdiv":
        return every(b, (1.0, -1.0))
    if instr == "fadd":
        return every(a, (-0.0,)) or every(b, (-0.0,))
    return every(b, (0.0,)) or every(a, (-0.0,))  # fsub


#: how far back :func:`_const_lanes` looks for the definition of a value
_LOOKBACK = 12


def _const_lanes(ft: Any, v: str, t: str) -> list[float] | None:
    """The lanes of the v128 stack value ``v`` as floats of the vector type ``t`` when
    it is a constant this function's IR makes visible (a literal, or a bitcast or splat
    of one defined in the last few lines), else ``None``."""
    data = _const_bytes(ft, v, V, 0)
    if data is None:
        return None
    fmt = "<4f" if t == _F4 else "<2d"
    return list(struct.unpack(fmt, data))


def _const_bytes(ft: Any, v: str, ty: str, depth: int) -> bytes | None:
    """Little-endian bytes of the value ``v`` of LLVM type ``ty`` if it is a constant
    (see :func:`_const_lanes`), else ``None``."""
    if v == "zeroinitializer":
        return bytes(_size(ty)) if _size(ty) else None
    if v.startswith("<"):
        elems = [e.strip().split(" ", 1) for e in v[1:-1].split(",")]
        out = b""
        for et, ev in elems:
            b = _scalar_bytes(ev.strip(), et)
            if b is None:
                return None
            out += b
        return out
    if not v.startswith("%"):
        return _scalar_bytes(v, ty)
    if depth > 4:
        return None
    prefix = f"  {v} = "
    lines = ft.lines
    for k in range(len(lines) - 1, max(-1, len(lines) - 1 - _LOOKBACK), -1):
        line = lines[k]
        if not line.startswith(prefix):
            continue
        text = line[len(prefix):]
        if text.startswith("bitcast "):
            sty, sv = _split_typed(text[len("bitcast "):].rsplit(" to ", 1)[0])
            return _const_bytes(ft, sv, sty, depth + 1)
        if text.startswith("shufflevector ") and text.endswith("zeroinitializer"):
            # a splat: shufflevector <n x T> %x, <n x T> poison, <n x i32> zeroinitializer
            first = text[len("shufflevector "):].split(", ")[0]
            vty, x = _split_typed(first)
            lane0 = _lane0_of(ft, x, vty, depth + 1)
            n = int(vty[1:].split(" x ")[0])
            return lane0 * n if lane0 is not None else None
        return None
    return None


def _lane0_of(ft: Any, v: str, vty: str, depth: int) -> bytes | None:
    """Bytes of lane 0 of ``v`` when it is ``insertelement vty poison, T c, i32 0``."""
    prefix = f"  {v} = insertelement {vty} poison, "
    lines = ft.lines
    for k in range(len(lines) - 1, max(-1, len(lines) - 1 - _LOOKBACK), -1):
        if lines[k].startswith(f"  {v} = "):
            line = lines[k]
            if not (line.startswith(prefix) and line.endswith(", i32 0")):
                return None
            lty, x = _split_typed(line[len(prefix):-len(", i32 0")])
            return _const_bytes(ft, x, lty, depth + 1)
    return None


def _split_typed(text: str) -> tuple[str, str]:
    """``"<4 x i32> %v3"`` → ``("<4 x i32>", "%v3")``; ``"float 0x3FF..."`` likewise."""
    if text.startswith("<"):
        end = text.index(">") + 1
        return text[:end], text[end:].strip()
    ty, _, v = text.partition(" ")
    return ty, v.strip()


def _size(ty: str) -> int:
    """Byte size of an LLVM scalar or vector type of the SIMD lowering (0 if unknown)."""
    scalar = {"i8": 1, "i16": 2, "i32": 4, "i64": 8, "float": 4, "double": 8}
    if ty.startswith("<"):
        n, _, lt = ty[1:-1].partition(" x ")
        return int(n) * scalar.get(lt, 0)
    return scalar.get(ty, 0)


def _scalar_bytes(v: str, ty: str) -> bytes | None:
    """Bytes of the scalar literal ``v`` of type ``ty`` (LLVM text), else ``None``."""
    try:
        if ty in ("i8", "i16", "i32", "i64"):
            n = _size(ty)
            return (int(v) % (1 << (8 * n))).to_bytes(n, "little")
        if ty in ("float", "double"):
            if v.startswith("0x"):
                d = struct.unpack("<d", int(v, 16).to_bytes(8, "little"))[0]
            else:
                d = float(v)
            return struct.pack("<f" if ty == "float" else "<d", d)
    except (ValueError, OverflowError):
        return None
    return None


#: opcode → (intrinsic base name, float vector type)
_UNARY = {
    op.F32X4_SQRT: ("sqrt", _F4), op.F32X4_CEIL: ("ceil", _F4),
    op.F32X4_FLOOR: ("floor", _F4), op.F32X4_TRUNC: ("trunc", _F4),
    op.F32X4_NEAREST: ("roundeven", _F4),
    op.F64X2_SQRT: ("sqrt", _D2), op.F64X2_CEIL: ("ceil", _D2),
    op.F64X2_FLOOR: ("floor", _D2), op.F64X2_TRUNC: ("trunc", _D2),
    op.F64X2_NEAREST: ("roundeven", _D2),
}


def op_unary(ft: Any, opcode: int, imm: None) -> None:
    """``fNxM.sqrt/ceil/floor/trunc/nearest`` (``nearest`` rounds ties to even)."""
    base, t = _UNARY[opcode]
    name = f"llvm.{base}.{_INFO[t][1]}"
    declare(ft, f"declare {t} @{name}({t})")
    a = pop_as(ft, t)
    push_from(ft, emit(ft, f"call {t} @{name}({t} {a})"), t)


#: opcode → (llvm.minimum/maximum base name, float vector type)
_MINMAX = {
    op.F32X4_MIN: ("minimum", _F4), op.F32X4_MAX: ("maximum", _F4),
    op.F64X2_MIN: ("minimum", _D2), op.F64X2_MAX: ("maximum", _D2),
}


def op_minmax(ft: Any, opcode: int, imm: None) -> None:
    """``fNxM.min/max``: NaN if either lane is NaN (quieted), ``-0 < +0``."""
    base, t = _MINMAX[opcode]
    b = pop_as(ft, t)
    a = pop_as(ft, t)
    push_from(ft, ft.fminmax(f"llvm.{base}.{_INFO[t][1]}", t, a, b), t)


#: opcode → (True for pmin, float vector type)
_PMINMAX = {
    op.F32X4_PMIN: (True, _F4), op.F32X4_PMAX: (False, _F4),
    op.F64X2_PMIN: (True, _D2), op.F64X2_PMAX: (False, _D2),
}


def op_pminmax(ft: Any, opcode: int, imm: None) -> None:
    """``pmin``: ``b < a ? b : a``; ``pmax``: ``a < b ? b : a`` (an operand as it is)."""
    is_min, t = _PMINMAX[opcode]
    b = pop_as(ft, t)
    a = pop_as(ft, t)
    c = emit(ft, f"fcmp olt {t} {b}, {a}" if is_min else f"fcmp olt {t} {a}, {b}")
    push_from(ft, emit(ft, f"select {_bool_vec(t)} {c}, {t} {b}, {t} {a}"), t)


# -- conversions ----------------------------------------------------------------------

_ZERO_HIGH = "<4 x i32> <i32 0, i32 1, i32 2, i32 3>"
_LOW_HALF = "<2 x i32> <i32 0, i32 1>"


def op_trunc_sat_f32x4(ft: Any, opcode: int, imm: None) -> None:
    """``i32x4.trunc_sat_f32x4_s/u``: saturating, NaN → 0 (spec trunc_sat_u/s)."""
    kind = "fptosi" if opcode == op.I32X4_TRUNC_SAT_F32X4_S else "fptoui"
    name = f"llvm.{kind}.sat.v4i32.v4f32"
    declare(ft, f"declare {_I4} @{name}({_F4})")
    a = pop_as(ft, _F4)
    push_from(ft, emit(ft, f"call {_I4} @{name}({_F4} {a})"), _I4)


def op_trunc_sat_f64x2_zero(ft: Any, opcode: int, imm: None) -> None:
    """``i32x4.trunc_sat_f64x2_s/u_zero``: two saturated lanes, the upper two zero."""
    kind = "fptosi" if opcode == op.I32X4_TRUNC_SAT_F64X2_S_ZERO else "fptoui"
    name = f"llvm.{kind}.sat.v2i32.v2f64"
    declare(ft, f"declare <2 x i32> @{name}({_D2})")
    a = pop_as(ft, _D2)
    r = emit(ft, f"call <2 x i32> @{name}({_D2} {a})")
    push_from(ft, emit(ft, f"shufflevector <2 x i32> {r}, <2 x i32> zeroinitializer, "
                           f"{_ZERO_HIGH}"), _I4)


def op_convert_i32x4(ft: Any, opcode: int, imm: None) -> None:
    """``f32x4.convert_i32x4_s/u``: each lane rounded to nearest even."""
    kind = "sitofp" if opcode == op.F32X4_CONVERT_I32X4_S else "uitofp"
    a = pop_as(ft, _I4)
    push_from(ft, emit(ft, f"{kind} {_I4} {a} to {_F4}"), _F4)


def op_convert_low_i32x4(ft: Any, opcode: int, imm: None) -> None:
    """``f64x2.convert_low_i32x4_s/u``: the two low i32 lanes, exactly."""
    kind = "sitofp" if opcode == op.F64X2_CONVERT_LOW_I32X4_S else "uitofp"
    a = pop_as(ft, _I4)
    low = emit(ft, f"shufflevector {_I4} {a}, {_I4} poison, {_LOW_HALF}")
    push_from(ft, emit(ft, f"{kind} <2 x i32> {low} to {_D2}"), _D2)


def op_demote_f64x2_zero(ft: Any, opcode: int, imm: None) -> None:
    """``f32x4.demote_f64x2_zero``: two rounded lanes, the upper two +0.0."""
    promoted = ft.stack[-1][0] in _promoted(ft)
    a = pop_as(ft, _D2)
    r = emit(ft, f"fptrunc {_D2} {a} to <2 x float>")
    r = emit(ft, f"shufflevector <2 x float> {r}, <2 x float> zeroinitializer, {_ZERO_HIGH}")
    # fptrunc (fpext x) folds to x even at opt level 0 (SelectionDAG)
    push_from(ft, _canonicalize(ft, r, _F4) if promoted else r, _F4)


def op_promote_low_f32x4(ft: Any, opcode: int, imm: None) -> None:
    """``f64x2.promote_low_f32x4``: the two low f32 lanes, exactly."""
    a = pop_as(ft, _F4)
    low = emit(ft, f"shufflevector {_F4} {a}, {_F4} poison, {_LOW_HALF}")
    push_from(ft, emit(ft, f"fpext <2 x float> {low} to {_D2}"), _D2)
    _promoted(ft).add(ft.stack[-1][0])


def _promoted(ft: Any) -> set[str]:
    """The v128 values of this function that are results of ``f64x2.promote_low_f32x4``."""
    seen = ft.__dict__.get("_simd_promoted")
    if seen is None:
        seen = ft.__dict__["_simd_promoted"] = set()
    return seen


HANDLERS: dict[int, Handler] = {
    **{o: op_compare for o in _COMPARES},
    **{o: op_abs for o in _ABS},
    **{o: op_neg for o in _NEG},
    **{o: op_binop for o in _BINOPS},
    **{o: op_unary for o in _UNARY},
    **{o: op_minmax for o in _MINMAX},
    **{o: op_pminmax for o in _PMINMAX},
    op.I32X4_TRUNC_SAT_F32X4_S: op_trunc_sat_f32x4,
    op.I32X4_TRUNC_SAT_F32X4_U: op_trunc_sat_f32x4,
    op.I32X4_TRUNC_SAT_F64X2_S_ZERO: op_trunc_sat_f64x2_zero,
    op.I32X4_TRUNC_SAT_F64X2_U_ZERO: op_trunc_sat_f64x2_zero,
    op.F32X4_CONVERT_I32X4_S: op_convert_i32x4,
    op.F32X4_CONVERT_I32X4_U: op_convert_i32x4,
    op.F64X2_CONVERT_LOW_I32X4_S: op_convert_low_i32x4,
    op.F64X2_CONVERT_LOW_I32X4_U: op_convert_low_i32x4,
    op.F32X4_DEMOTE_F64X2_ZERO: op_demote_f64x2_zero,
    op.F64X2_PROMOTE_LOW_F32X4: op_promote_low_f32x4,
}
