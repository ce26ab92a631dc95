"""SIMD integer lane arithmetic: add/sub/mul, neg/abs, shifts, saturating arithmetic,
min/max, averages, popcount, Q15 multiply, dot product, narrowing and widening
(spec §4.3.2 "Vector Operations", §4.4.3 "Vector Instructions").

Every handler pops its v128 operands (LLVM ``<4 x i32>``, :data:`.simd.V`), bitcasts them
to the lane shape it works in (``<16 x i8>``, ``<8 x i16>``, ``<4 x i32>``, ``<2 x i64>``)
and pushes its result bitcast back to ``<4 x i32>``.  Only target-independent LLVM
instructions and generic intrinsics (``llvm.sadd.sat``, ``llvm.smin``, ``llvm.abs``,
``llvm.ctpop``, ...) are used, so the IR is valid for any LLVM target; the x86-64 backend
selects ``paddsb``, ``pavgb``, ``pmaddwd`` and friends from these idioms.

Semantic points (spec §4.3.2):

* shifts take an i32 count modulo the lane width (``ishl(i, k mod N)``); the count is
  masked before the LLVM ``shl``/``ashr``/``lshr``, which are poison for counts >= N;
* ``abs`` of the most negative lane is that lane (``llvm.abs`` with
  ``is_int_min_poison = false``); ``neg``/``add``/``sub``/``mul`` wrap;
* ``avgr_u`` is ``(a + b + 1) >> 1`` computed in twice the lane width;
* ``narrow_*_u`` saturates the *signed* input lanes to ``[0, 2^n - 1]``;
* ``q15mulr_sat_s`` is ``sat_s((a * b + 2^14) >> 15)``, ``dot_i16x8_s`` adds the two
  32-bit products of each pair of lanes with wrapping.

The module exports :data:`HANDLERS`, merged by :func:`.simd.simd_handlers`.
"""

from __future__ import annotations

from typing import Any

from ..binary import opcodes as op
from .simd import LANES, SHAPE, Handler, declare, emit, pop_as, push_from

#: integer lane shape name → lane width in bits
_BITS = {"i8x16": 8, "i16x8": 16, "i32x4": 32, "i64x2": 64}

#: lane shape → the shape with lanes twice as wide (and half as many of them)
_WIDER = {"i8x16": "i16x8", "i16x8": "i32x4", "i32x4": "i64x2"}


def _suffix(ty: str) -> str:
    """Intrinsic overload suffix of a vector type: ``<16 x i8>`` → ``v16i8``."""
    n, _, lane = ty[1:-1].split(" ")
    return f"v{n}{lane}"


def _vec(lane: str, values: list[int] | range) -> str:
    """LLVM constant vector ``<N x lane>`` of the integers ``values``."""
    return "<" + ", ".join(f"{lane} {x}" for x in values) + ">"


def _mask(values: list[int] | range) -> str:
    """A typed ``shufflevector`` mask operand (``<N x i32> <...>``) selecting ``values``."""
    values = list(values)
    return f"<{len(values)} x i32> " + _vec("i32", values)


def _call(ft: Any, name: str, ty: str, args: list[str], extra: str = "") -> str:
    """Call the overloaded intrinsic ``llvm.<name>.<suffix(ty)>`` returning ``ty`` whose
    arguments are all ``ty`` (plus the literal ``extra`` argument text, e.g. ``i1 false``)."""
    fn = f"@llvm.{name}.{_suffix(ty)}"
    params = ", ".join([ty] * len(args) + ([extra.split(" ")[0]] if extra else []))
    declare(ft, f"declare {ty} {fn}({params})")
    argtext = ", ".join([f"{ty} {a}" for a in args] + ([extra] if extra else []))
    return emit(ft, f"call {ty} {fn}({argtext})")


# -- handler factories -----------------------------------------------------------------------

def _binary(shape: str, instr: str) -> Handler:
    """``a b -> a <instr> b`` lane-wise (``add``, ``sub``, ``mul``)."""
    ty = SHAPE[shape]

    def handler(ft: Any, opcode: int, imm: Any) -> None:
        b = pop_as(ft, ty)
        a = pop_as(ft, ty)
        push_from(ft, emit(ft, f"{instr} {ty} {a}, {b}"), ty)
    return handler


def _intrinsic2(shape: str, name: str) -> Handler:
    """``a b -> llvm.<name>(a, b)`` lane-wise (saturating arithmetic, min, max)."""
    ty = SHAPE[shape]

    def handler(ft: Any, opcode: int, imm: Any) -> None:
        b = pop_as(ft, ty)
        a = pop_as(ft, ty)
        push_from(ft, _call(ft, name, ty, [a, b]), ty)
    return handler


def _neg(shape: str) -> Handler:
    """``ineg``: ``0 - a`` with wrapping (the most negative lane stays as it is)."""
    ty = SHAPE[shape]

    def handler(ft: Any, opcode: int, imm: Any) -> None:
        a = pop_as(ft, ty)
        push_from(ft, emit(ft, f"sub {ty} zeroinitializer, {a}"), ty)
    return handler


def _abs(shape: str) -> Handler:
    """``iabs``: ``|a|``, with ``abs(-2^(N-1)) = -2^(N-1)`` (``llvm.abs``, not poison)."""
    ty = SHAPE[shape]

    def handler(ft: Any, opcode: int, imm: Any) -> None:
        a = pop_as(ft, ty)
        push_from(ft, _call(ft, "abs", ty, [a], "i1 false"), ty)
    return handler


def _shift(shape: str, instr: str) -> Handler:
    """``v128 i32 -> v128``: shift every lane by ``count mod lane_bits`` (``shl``,
    ``ashr`` for ``shr_s``, ``lshr`` for ``shr_u``)."""
    ty = SHAPE[shape]
    n, lane = LANES[shape]
    bits = _BITS[shape]

    def handler(ft: Any, opcode: int, imm: Any) -> None:
        count = ft.stack.pop()[0]
        a = pop_as(ft, ty)
        if count.lstrip("-").isdigit():  # an i32 literal: a constant splat
            k = int(count) & (bits - 1)
            amount = _vec(lane, [k] * n)
        else:
            k = emit(ft, f"and i32 {count}, {bits - 1}")
            if bits < 32:
                k = emit(ft, f"trunc i32 {k} to {lane}")
            elif bits > 32:
                k = emit(ft, f"zext i32 {k} to {lane}")
            one = emit(ft, f"insertelement {ty} poison, {lane} {k}, i32 0")
            amount = emit(ft, f"shufflevector {ty} {one}, {ty} poison, "
                              f"<{n} x i32> zeroinitializer")
        push_from(ft, emit(ft, f"{instr} {ty} {a}, {amount}"), ty)
    return handler


def _popcnt(ft: Any, opcode: int, imm: Any) -> None:
    """``i8x16.popcnt``: the number of 1 bits of every byte (``llvm.ctpop``)."""
    ty = SHAPE["i8x16"]
    a = pop_as(ft, ty)
    push_from(ft, _call(ft, "ctpop", ty, [a]), ty)


def _avgr_u(shape: str) -> Handler:
    """``iavgr_u``: ``(a + b + 1) >> 1`` of unsigned lanes, in twice the lane width."""
    ty = SHAPE[shape]
    n, _ = LANES[shape]
    wide = f"<{n} x i{2 * _BITS[shape]}>"
    wlane = f"i{2 * _BITS[shape]}"

    def handler(ft: Any, opcode: int, imm: Any) -> None:
        b = pop_as(ft, ty)
        a = pop_as(ft, ty)
        wa = emit(ft, f"zext {ty} {a} to {wide}")
        wb = emit(ft, f"zext {ty} {b} to {wide}")
        s = emit(ft, f"add nuw nsw {wide} {wa}, {wb}")
        s = emit(ft, f"add nuw nsw {wide} {s}, {_vec(wlane, [1] * n)}")
        s = emit(ft, f"lshr {wide} {s}, {_vec(wlane, [1] * n)}")
        push_from(ft, emit(ft, f"trunc {wide} {s} to {ty}"), ty)
    return handler


def _q15mulr_sat_s(ft: Any, opcode: int, imm: Any) -> None:
    """``i16x8.q15mulr_sat_s``: ``sat_s16((a * b + 2^14) >> 15)`` (arithmetic shift).

    Only ``-2^15 * -2^15`` overflows (to ``2^15``), so an upper clamp suffices."""
    ty = SHAPE["i16x8"]
    wide = "<8 x i32>"
    b = pop_as(ft, ty)
    a = pop_as(ft, ty)
    wa = emit(ft, f"sext {ty} {a} to {wide}")
    wb = emit(ft, f"sext {ty} {b} to {wide}")
    p = emit(ft, f"mul nsw {wide} {wa}, {wb}")
    p = emit(ft, f"add nsw {wide} {p}, {_vec('i32', [0x4000] * 8)}")
    p = emit(ft, f"ashr {wide} {p}, {_vec('i32', [15] * 8)}")
    p = _call(ft, "smin", wide, [p, _vec("i32", [0x7FFF] * 8)])
    push_from(ft, emit(ft, f"trunc {wide} {p} to {ty}"), ty)


def _dot_i16x8_s(ft: Any, opcode: int, imm: Any) -> None:
    """``i32x4.dot_i16x8_s``: ``r[i] = a[2i]*b[2i] + a[2i+1]*b[2i+1]`` in 32 bits, the
    addition wrapping (``-2^15 * -2^15 * 2`` gives ``-2^31``)."""
    ty = SHAPE["i16x8"]
    wide = "<8 x i32>"
    half = "<4 x i32>"
    b = pop_as(ft, ty)
    a = pop_as(ft, ty)
    wa = emit(ft, f"sext {ty} {a} to {wide}")
    wb = emit(ft, f"sext {ty} {b} to {wide}")
    p = emit(ft, f"mul nsw {wide} {wa}, {wb}")
    even = emit(ft, f"shufflevector {wide} {p}, {wide} poison, {_mask(range(0, 8, 2))}")
    odd = emit(ft, f"shufflevector {wide} {p}, {wide} poison, {_mask(range(1, 8, 2))}")
    push_from(ft, emit(ft, f"add {half} {even}, {odd}"), half)


def _narrow(shape: str, signed: bool) -> Handler:
    """``narrow``: the lanes of ``a`` then those of ``b`` (signed, of ``shape``), each
    saturated to the signed (``_s``) or unsigned (``_u``) range of half the width."""
    src = SHAPE[shape]
    n, lane = LANES[shape]
    bits = _BITS[shape] // 2
    both = f"<{2 * n} x {lane}>"
    dst = f"<{2 * n} x i{bits}>"
    lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)

    def handler(ft: Any, opcode: int, imm: Any) -> None:
        b = pop_as(ft, src)
        a = pop_as(ft, src)
        ab = emit(ft, f"shufflevector {src} {a}, {src} {b}, {_mask(range(2 * n))}")
        ab = _call(ft, "smax", both, [ab, _vec(lane, [lo] * (2 * n))])
        ab = _call(ft, "smin", both, [ab, _vec(lane, [hi] * (2 * n))])
        push_from(ft, emit(ft, f"trunc {both} {ab} to {dst}"), dst)
    return handler


def _half(ft: Any, v: str, shape: str, high: bool, signed: bool) -> tuple[str, str]:
    """The low or high half of the lanes of ``v`` (of ``shape``), sign- or zero-extended
    to twice the width; returns ``(value, llvm_type)``."""
    ty = SHAPE[shape]
    n, _ = LANES[shape]
    h = n // 2
    wide = f"<{h} x i{2 * _BITS[shape]}>"
    sel = emit(ft, f"shufflevector {ty} {v}, {ty} poison, "
                   f"{_mask(range(h, n) if high else range(h))}")
    ext = "sext" if signed else "zext"
    return emit(ft, f"{ext} <{h} x i{_BITS[shape]}> {sel} to {wide}"), wide


def _extend(shape: str, high: bool, signed: bool) -> Handler:
    """``vextend_{low,high}_{s,u}``: half of the lanes of ``shape`` widened."""
    ty = SHAPE[shape]

    def handler(ft: Any, opcode: int, imm: Any) -> None:
        a = pop_as(ft, ty)
        v, wide = _half(ft, a, shape, high, signed)
        push_from(ft, v, wide)
    return handler


def _extmul(shape: str, high: bool, signed: bool) -> Handler:
    """``extmul_{low,high}_{s,u}``: the products of half of the lanes of ``a`` and ``b``,
    both widened first (the exact product always fits the wide lane)."""
    ty = SHAPE[shape]

    def handler(ft: Any, opcode: int, imm: Any) -> None:
        b = pop_as(ft, ty)
        a = pop_as(ft, ty)
        wa, wide = _half(ft, a, shape, high, signed)
        wb, _ = _half(ft, b, shape, high, signed)
        push_from(ft, emit(ft, f"mul {wide} {wa}, {wb}"), wide)
    return handler


def _extadd_pairwise(shape: str, signed: bool) -> Handler:
    """``extadd_pairwise_{s,u}``: ``r[i] = ext(a[2i]) + ext(a[2i+1])`` in twice the width."""
    ty = SHAPE[shape]
    n, _ = LANES[shape]
    wty = f"<{n} x i{2 * _BITS[shape]}>"
    half = f"<{n // 2} x i{2 * _BITS[shape]}>"
    ext = "sext" if signed else "zext"

    def handler(ft: Any, opcode: int, imm: Any) -> None:
        a = pop_as(ft, ty)
        w = emit(ft, f"{ext} {ty} {a} to {wty}")
        even = emit(ft, f"shufflevector {wty} {w}, {wty} poison, {_mask(range(0, n, 2))}")
        odd = emit(ft, f"shufflevector {wty} {w}, {wty} poison, {_mask(range(1, n, 2))}")
        push_from(ft, emit(ft, f"add {half} {even}, {odd}"), half)
    return handler


# -- the table -------------------------------------------------------------------------------

def _table() -> dict[int, Handler]:
    t: dict[int, Handler] = {}
    for shape in ("i8x16", "i16x8", "i32x4", "i64x2"):
        up = shape.upper()
        t[getattr(op, f"{up}_ABS")] = _abs(shape)
        t[getattr(op, f"{up}_NEG")] = _neg(shape)
        t[getattr(op, f"{up}_ADD")] = _binary(shape, "add")
        t[getattr(op, f"{up}_SUB")] = _binary(shape, "sub")
        t[getattr(op, f"{up}_SHL")] = _shift(shape, "shl")
        t[getattr(op, f"{up}_SHR_S")] = _shift(shape, "ashr")
        t[getattr(op, f"{up}_SHR_U")] = _shift(shape, "lshr")
        if shape != "i8x16":
            t[getattr(op, f"{up}_MUL")] = _binary(shape, "mul")
        if shape != "i64x2":
            for name in ("min_s", "min_u", "max_s", "max_u"):
                t[getattr(op, f"{up}_{name.upper()}")] = _intrinsic2(
                    shape, {"min_s": "smin", "min_u": "umin", "max_s": "smax",
                            "max_u": "umax"}[name])
        if shape in ("i8x16", "i16x8"):
            t[getattr(op, f"{up}_ADD_SAT_S")] = _intrinsic2(shape, "sadd.sat")
            t[getattr(op, f"{up}_ADD_SAT_U")] = _intrinsic2(shape, "uadd.sat")
            t[getattr(op, f"{up}_SUB_SAT_S")] = _intrinsic2(shape, "ssub.sat")
            t[getattr(op, f"{up}_SUB_SAT_U")] = _intrinsic2(shape, "usub.sat")
            t[getattr(op, f"{up}_AVGR_U")] = _avgr_u(shape)
    t[op.I8X16_POPCNT] = _popcnt
    t[op.I16X8_Q15MULR_SAT_S] = _q15mulr_sat_s
    t[op.I32X4_DOT_I16X8_S] = _dot_i16x8_s
    t[op.I8X16_NARROW_I16X8_S] = _narrow("i16x8", True)
    t[op.I8X16_NARROW_I16X8_U] = _narrow("i16x8", False)
    t[op.I16X8_NARROW_I32X4_S] = _narrow("i32x4", True)
    t[op.I16X8_NARROW_I32X4_U] = _narrow("i32x4", False)
    for src, dst in _WIDER.items():
        s, d = src.upper(), dst.upper()
        for sign in ("S", "U"):
            signed = sign == "S"
            for part in ("LOW", "HIGH"):
                high = part == "HIGH"
                t[getattr(op, f"{d}_EXTEND_{part}_{s}_{sign}")] = _extend(src, high, signed)
                t[getattr(op, f"{d}_EXTMUL_{part}_{s}_{sign}")] = _extmul(src, high, signed)
            if dst != "i64x2":
                t[getattr(op, f"{d}_EXTADD_PAIRWISE_{s}_{sign}")] = _extadd_pairwise(src, signed)
    return t


#: opcode → handler for every instruction of this module
HANDLERS: dict[int, Handler] = _table()
