"""Relaxed SIMD (WebAssembly 3.0): the 20 instructions with Wasmtime's results on x86-64.

The relaxed instructions let an engine return any of a few results where hardware
differs (spec §4.3.2, the ``relaxed_*`` operations, each a set of allowed results).
wasmlite gives exactly what Wasmtime gives on the same host: Cranelift lowers each to
one x86 instruction when the CPU has it, and to the deterministic semantics otherwise
(Wasmtime's ``code_translator.rs``, with ``Config.wasm_relaxed_simd_deterministic``
off).  :func:`host_lowering` reads the host's features the way Cranelift's x64 backend
does, so the choice is the same for the same CPU:

* ``i8x16.relaxed_swizzle`` — ``pshufb`` (SSSE3): an index with bit 7 set selects 0,
  any other selects lane ``index & 15`` (16 → lane 0); without SSSE3, ``i8x16.swizzle``;
* ``i32x4.relaxed_trunc_f32x4_s`` / ``_f64x2_s_zero`` — ``cvttps2dq`` / ``cvttpd2dq``
  (every x86-64): NaN and out-of-range lanes give ``INT32_MIN``;
  ``_f32x4_u`` / ``_f64x2_u_zero`` — the saturating ``trunc_sat`` conversions (NaN → 0);
* ``relaxed_madd`` / ``relaxed_nmadd`` — fused (``vfmadd213``/``vfnmadd213``, as inline
  assembly) when the CPU has AVX and FMA, else a rounded multiply then add (``-a * b +
  c`` for ``nmadd``);
* ``relaxed_laneselect`` — ``pblendvb``/``blendvps``/``blendvpd`` (SSE4.1): each lane of
  ``a`` where the top bit of the mask's lane is set, else of ``b``; ``i16x8`` (which
  has no such instruction) and CPUs without SSE4.1 take ``v128.bitselect``;
* ``relaxed_min`` / ``relaxed_max`` — ``pmin`` / ``pmax`` (``minps``/``maxps``): ``b <
  a ? b : a`` and ``a < b ? b : a``, so where either lane is NaN, or both are zeros,
  the lane of ``a`` comes back as it is;
* ``i16x8.relaxed_q15mulr_s`` — ``pmulhrsw`` (SSSE3): ``(a * b + 2^14) >> 15`` wrapped
  to 16 bits (``-2^15 * -2^15`` gives ``-2^15``); without SSSE3 ``q15mulr_sat_s``;
* ``relaxed_dot_i8x16_i7x16_s`` — ``pmaddubsw`` (SSSE3) with ``b`` as the unsigned
  and ``a`` as the signed bytes, each pair of products added with signed saturation;
  ``..._add_s`` then adds pairs of those 16-bit sums (``pmaddwd`` with ones) and ``c``
  with wrapping; without SSSE3 both operands are signed, the 16-bit sums wrap and
  ``..._add_s`` adds its four products exactly.

NaN payloads: ``pmin``/``pmax`` return an operand unchanged, like Wasmtime.  The fused
multiply-add returns one NaN operand quieted; which one, when several are NaNs, depends
on the CPU and on the instruction form: wasmlite always uses the form Cranelift picks
for operands in registers, but Cranelift picks ``vfmadd132`` when it can fold a load of
``a`` or ``b`` into the instruction, so there the two may differ.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..binary import opcodes as op
from .simd import SHAPE, Handler, declare, emit, pop_as, push_from

_B16 = SHAPE["i8x16"]   # <16 x i8>
_W8 = SHAPE["i16x8"]    # <8 x i16>
_I4 = SHAPE["i32x4"]    # <4 x i32>
_F4 = SHAPE["f32x4"]    # <4 x float>
_D2 = SHAPE["f64x2"]    # <2 x double>


@dataclass(frozen=True)
class Lowering:
    """Which of Cranelift's x86-64 lowerings of the relaxed instructions apply (the
    ``has_*`` / ``is_x86`` queries of Wasmtime's ``FuncEnvironment``).

    wasmlite generates x86-64 code only (the baseline compiler, inline assembly), so
    ``x86=False`` serves the tests of the deterministic semantics (which Cranelift uses
    off x86-64); with it, ``fma`` still means the x86 ``vfmadd`` instructions."""

    #: the host is x86-64: ``cvtt*2dq`` truncation, ``pmin``/``pmax`` for min/max
    x86: bool = True
    #: AVX and FMA (Cranelift's ``has_native_fma``): ``relaxed_madd`` is fused
    fma: bool = True
    #: SSSE3: ``pshufb``, ``pmulhrsw``, ``pmaddubsw``
    ssse3: bool = True
    #: SSE4.1: ``blendv`` for ``relaxed_laneselect`` (not ``i16x8``)
    sse41: bool = True


_host: list[Lowering] = []


def host_lowering() -> Lowering:
    """The :class:`Lowering` of this host, from LLVM's host triple and CPU features
    (what the target machine compiles for; the compile cache keys on them too)."""
    if not _host:
        import llvmlite.binding as llvm

        from .codegen import _host_cpu

        _cpu, features = _host_cpu()
        have = set(features.split(","))
        x86 = llvm.get_process_triple().startswith(("x86_64", "amd64"))
        _host.append(Lowering(
            x86=x86,
            fma=x86 and "+avx" in have and "+fma" in have,
            ssse3=x86 and "+ssse3" in have,
            sse41=x86 and "+sse4.1" in have,
        ))
    return _host[0]


def _lowering(ft: Any) -> Lowering:
    """The lowering for the function ``ft`` is translating: the host's (tests replace
    :func:`host_lowering` to reach the other paths)."""
    return host_lowering()


def _vec(lane: str, values: list[int]) -> str:
    """LLVM constant vector of integer ``lane``\\ s."""
    return "<" + ", ".join(f"{lane} {x}" for x in values) + ">"


def _lanes(ty: str) -> tuple[int, str]:
    """``(lane count, lane type)`` of an LLVM vector type: ``<16 x i8>`` → ``(16, "i8")``."""
    n, _, lane = ty[1:-1].split(" ")
    return int(n), lane


def _x86(ft: Any, name: str, ret: str, args: list[tuple[str, str]]) -> str:
    """Call the x86 intrinsic ``llvm.x86.<name>`` (``args``: ``(type, value)``)."""
    declare(ft, f"declare {ret} @llvm.x86.{name}({', '.join(t for t, _ in args)})")
    return emit(ft, f"call {ret} @llvm.x86.{name}("
                    + ", ".join(f"{t} {v}" for t, v in args) + ")")


# -- i8x16.relaxed_swizzle ------------------------------------------------------------------

def _ssse3_binop(ft: Any, intrinsic: str, ty: str, fallback: Any) -> None:
    """``a op b`` by the SSSE3 intrinsic ``llvm.x86.<intrinsic>`` on vectors of type
    ``ty``; without SSSE3, ``fallback()`` (the deterministic instruction)."""
    if not _lowering(ft).ssse3:
        fallback()
        return
    b = pop_as(ft, ty)
    a = pop_as(ft, ty)
    push_from(ft, _x86(ft, intrinsic, ty, [(ty, a), (ty, b)]), ty)


def op_relaxed_swizzle(ft: Any, opcode: int, imm: None) -> None:
    """``pshufb a, s``: lane i is 0 if ``s[i] & 0x80``, else ``a[s[i] & 15]``."""
    from .simd_lanes import op_swizzle

    _ssse3_binop(ft, "ssse3.pshuf.b.128", _B16,
                 lambda: op_swizzle(ft, op.I8X16_SWIZZLE, None))


# -- truncation -----------------------------------------------------------------------------

def op_relaxed_trunc_s(ft: Any, opcode: int, imm: None) -> None:
    """``i32x4.relaxed_trunc_f32x4_s`` / ``_f64x2_s_zero``: ``cvttps2dq`` /
    ``cvttpd2dq`` (NaN and out-of-range lanes ``INT32_MIN``; the f64 form zeroes the
    upper two lanes); off x86-64, the ``trunc_sat`` instructions."""
    f32 = opcode == op.I32X4_RELAXED_TRUNC_F32X4_S
    if not _lowering(ft).x86:
        from .simd_float import op_trunc_sat_f32x4, op_trunc_sat_f64x2_zero

        if f32:
            op_trunc_sat_f32x4(ft, op.I32X4_TRUNC_SAT_F32X4_S, None)
        else:
            op_trunc_sat_f64x2_zero(ft, op.I32X4_TRUNC_SAT_F64X2_S_ZERO, None)
        return
    t = _F4 if f32 else _D2
    a = pop_as(ft, t)
    name = "sse2.cvttps2dq" if f32 else "sse2.cvttpd2dq"
    push_from(ft, _x86(ft, name, _I4, [(t, a)]), _I4)


def op_relaxed_trunc_u(ft: Any, opcode: int, imm: None) -> None:
    """``i32x4.relaxed_trunc_f32x4_u`` / ``_f64x2_u_zero``: Wasmtime translates them as
    ``i32x4.trunc_sat_f32x4_u`` / ``trunc_sat_f64x2_u_zero`` on every host."""
    from .simd_float import op_trunc_sat_f32x4, op_trunc_sat_f64x2_zero

    if opcode == op.I32X4_RELAXED_TRUNC_F32X4_U:
        op_trunc_sat_f32x4(ft, op.I32X4_TRUNC_SAT_F32X4_U, None)
    else:
        op_trunc_sat_f64x2_zero(ft, op.I32X4_TRUNC_SAT_F64X2_U_ZERO, None)


# -- multiply-add ---------------------------------------------------------------------------

#: opcode → (float vector type, x86 mnemonic with FMA, negate the product)
_MADD = {
    op.F32X4_RELAXED_MADD: (_F4, "vfmadd213ps", False),
    op.F32X4_RELAXED_NMADD: (_F4, "vfnmadd213ps", True),
    op.F64X2_RELAXED_MADD: (_D2, "vfmadd213pd", False),
    op.F64X2_RELAXED_NMADD: (_D2, "vfnmadd213pd", True),
}


def op_relaxed_madd(ft: Any, opcode: int, imm: None) -> None:
    """``relaxed_madd a b c`` = ``a * b + c``, ``relaxed_nmadd`` = ``-(a * b) + c``.

    With FMA, one rounding: the instruction Cranelift emits for operands in registers,
    ``vfmadd213ps a, b, c`` (``a = b * a + c``; ``vfnmadd213`` for ``nmadd``), as inline
    assembly.  ``llvm.fma`` would round the same way, but LLVM is free to swap the
    multiplicands (which changes the NaN a lane with several NaN operands returns: the
    CPU takes them in operand order) and at opt level 0 it keeps ``nmadd``'s negation
    as an ``xor`` of ``a``'s sign (which flips a NaN's sign, where ``vfnmadd`` returns
    the NaN as it is).  Without FMA, a rounded multiply then add, like Cranelift's
    ``fmul`` and ``fadd`` (``nmadd`` negates ``a`` first)."""
    t, mnemonic, negate = _MADD[opcode]
    c = pop_as(ft, t)
    b = pop_as(ft, t)
    a = pop_as(ft, t)
    if _lowering(ft).fma:
        # AT&T operand order: $3 = c, $2 = b, $0 = the result, tied to $1 = a
        r = emit(ft, f'call {t} asm "{mnemonic} $3, $2, $0", "=x,0,x,x"'
                     f"({t} {a}, {t} {b}, {t} {c})")
    else:
        if negate:
            a = emit(ft, f"fneg {t} {a}")
        r = emit(ft, f"fadd {t} {emit(ft, f'fmul {t} {a}, {b}')}, {c}")
    push_from(ft, r, t)


# -- laneselect -----------------------------------------------------------------------------

#: opcode → integer lane shape
_LANESELECT = {
    op.I8X16_RELAXED_LANESELECT: "i8x16", op.I16X8_RELAXED_LANESELECT: "i16x8",
    op.I32X4_RELAXED_LANESELECT: "i32x4", op.I64X2_RELAXED_LANESELECT: "i64x2",
}


def op_relaxed_laneselect(ft: Any, opcode: int, imm: None) -> None:
    """``relaxed_laneselect a b m``: ``blendv`` (lane of ``a`` where the mask lane's top
    bit is set, else of ``b``) for i8/i32/i64 lanes with SSE4.1; otherwise
    ``v128.bitselect`` (``a & m | b & ~m``, bit by bit)."""
    shape = _LANESELECT[opcode]
    ty = SHAPE[shape]
    m = pop_as(ft, ty)
    b = pop_as(ft, ty)
    a = pop_as(ft, ty)
    n, lane = _lanes(ty)
    if shape != "i16x8" and _lowering(ft).sse41:
        top = emit(ft, f"icmp slt {ty} {m}, zeroinitializer")
        push_from(ft, emit(ft, f"select <{n} x i1> {top}, {ty} {a}, {ty} {b}"), ty)
        return
    on = emit(ft, f"and {ty} {a}, {m}")
    not_m = emit(ft, f"xor {ty} {m}, {_vec(lane, [-1] * n)}")
    off = emit(ft, f"and {ty} {b}, {not_m}")
    push_from(ft, emit(ft, f"or {ty} {on}, {off}"), ty)


# -- min / max ------------------------------------------------------------------------------

#: relaxed min/max opcode → the instruction Wasmtime's x86-64 translation matches
_MINMAX = {
    op.F32X4_RELAXED_MIN: (op.F32X4_PMIN, op.F32X4_MIN),
    op.F32X4_RELAXED_MAX: (op.F32X4_PMAX, op.F32X4_MAX),
    op.F64X2_RELAXED_MIN: (op.F64X2_PMIN, op.F64X2_MIN),
    op.F64X2_RELAXED_MAX: (op.F64X2_PMAX, op.F64X2_MAX),
}


def op_relaxed_minmax(ft: Any, opcode: int, imm: None) -> None:
    """``relaxed_min``/``relaxed_max``: ``pmin``/``pmax`` on x86-64 (``minps``/``maxps``
    order: the first operand when either is NaN or both are zeros), elsewhere the
    deterministic ``min``/``max``."""
    from .simd_float import op_minmax, op_pminmax

    pseudo, exact = _MINMAX[opcode]
    if _lowering(ft).x86:
        op_pminmax(ft, pseudo, None)
    else:
        op_minmax(ft, exact, None)


# -- q15 multiply, dot products -------------------------------------------------------------

def op_relaxed_q15mulr_s(ft: Any, opcode: int, imm: None) -> None:
    """``i16x8.relaxed_q15mulr_s``: ``pmulhrsw`` (``-2^15 * -2^15`` wraps to
    ``-2^15``) with SSSE3, else ``i16x8.q15mulr_sat_s``."""
    from .simd_int import _q15mulr_sat_s

    _ssse3_binop(ft, "ssse3.pmul.hr.sw.128", _W8,
                 lambda: _q15mulr_sat_s(ft, op.I16X8_Q15MULR_SAT_S, None))


def _products(ft: Any, a: str, b: str, wide: str) -> tuple[str, str]:
    """The 16 products of the signed bytes of ``a`` and ``b`` in the vector type
    ``wide`` (``<16 x i16>`` or ``<16 x i32>``), split into the even and odd lanes."""
    wa = emit(ft, f"sext {_B16} {a} to {wide}")
    wb = emit(ft, f"sext {_B16} {b} to {wide}")
    p = emit(ft, f"mul nsw {wide} {wa}, {wb}")
    even = emit(ft, f"shufflevector {wide} {p}, {wide} poison, <8 x i32> "
                    + _vec("i32", list(range(0, 16, 2))))
    odd = emit(ft, f"shufflevector {wide} {p}, {wide} poison, <8 x i32> "
                   + _vec("i32", list(range(1, 16, 2))))
    return even, odd


def _pmaddubsw(ft: Any, a: str, b: str) -> str:
    """``pmaddubsw``: the ``<8 x i16>`` sums of the products of each pair of bytes, ``b``
    unsigned and ``a`` signed, saturated (Cranelift puts ``b`` in the destination,
    which the instruction reads as unsigned)."""
    return _x86(ft, "ssse3.pmadd.ub.sw.128", _W8, [(_B16, b), (_B16, a)])


def op_relaxed_dot_s(ft: Any, opcode: int, imm: None) -> None:
    """``i16x8.relaxed_dot_i8x16_i7x16_s a b``: ``pmaddubsw`` with SSSE3; else both
    operands signed and the pair sums wrapped to 16 bits (``-128 * -128 * 2`` gives
    ``-2^15``), as Wasmtime's deterministic translation."""
    b = pop_as(ft, _B16)
    a = pop_as(ft, _B16)
    if _lowering(ft).ssse3:
        r = _pmaddubsw(ft, a, b)
    else:
        even, odd = _products(ft, a, b, "<16 x i16>")
        r = emit(ft, f"add {_W8} {even}, {odd}")
    push_from(ft, r, _W8)


def op_relaxed_dot_add_s(ft: Any, opcode: int, imm: None) -> None:
    """``i32x4.relaxed_dot_i8x16_i7x16_add_s a b c``: with SSSE3 the 16-bit sums of
    ``pmaddubsw`` sign-extended and added in pairs (``pmaddwd`` with ones); else the
    exact sum of the four signed products of each lane (Wasmtime's deterministic
    translation: no 16-bit step); then ``+ c``, wrapping."""
    c = pop_as(ft, _I4)
    b = pop_as(ft, _B16)
    a = pop_as(ft, _B16)
    if _lowering(ft).ssse3:
        d = emit(ft, f"sext {_W8} {_pmaddubsw(ft, a, b)} to <8 x i32>")
    else:
        even, odd = _products(ft, a, b, "<16 x i32>")
        d = emit(ft, f"add nsw <8 x i32> {even}, {odd}")
    even = emit(ft, f"shufflevector <8 x i32> {d}, <8 x i32> poison, <4 x i32> "
                    + _vec("i32", [0, 2, 4, 6]))
    odd = emit(ft, f"shufflevector <8 x i32> {d}, <8 x i32> poison, <4 x i32> "
                   + _vec("i32", [1, 3, 5, 7]))
    s = emit(ft, f"add nsw {_I4} {even}, {odd}")
    push_from(ft, emit(ft, f"add {_I4} {s}, {c}"), _I4)


HANDLERS: dict[int, Handler] = {
    op.I8X16_RELAXED_SWIZZLE: op_relaxed_swizzle,
    op.I32X4_RELAXED_TRUNC_F32X4_S: op_relaxed_trunc_s,
    op.I32X4_RELAXED_TRUNC_F64X2_S_ZERO: op_relaxed_trunc_s,
    op.I32X4_RELAXED_TRUNC_F32X4_U: op_relaxed_trunc_u,
    op.I32X4_RELAXED_TRUNC_F64X2_U_ZERO: op_relaxed_trunc_u,
    **{o: op_relaxed_madd for o in _MADD},
    **{o: op_relaxed_laneselect for o in _LANESELECT},
    **{o: op_relaxed_minmax for o in _MINMAX},
    op.I16X8_RELAXED_Q15MULR_S: op_relaxed_q15mulr_s,
    op.I16X8_RELAXED_DOT_I8X16_I7X16_S: op_relaxed_dot_s,
    op.I32X4_RELAXED_DOT_I8X16_I7X16_ADD_S: op_relaxed_dot_add_s,
}
