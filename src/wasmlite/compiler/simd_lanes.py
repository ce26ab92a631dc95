"""SIMD lanes, memory and bitwise instructions (spec §4.4.3 "Vector Instructions",
§4.3.2 "Vector Operations"; binary format §5.4.8).

Covered here (``v128.const``, ``v128.load`` and ``v128.store`` are in :mod:`.simd`):

* memory: ``v128.loadMxN_s/u`` (load ``M*N`` bits, extend each lane to twice its width),
  ``v128.loadN_splat``, ``v128.load32_zero``/``load64_zero``, ``v128.loadN_lane`` and
  ``v128.storeN_lane``; every access is bounds-checked for the bytes it really touches
  (8 for ``load8x8``, 1 for ``load8_lane`` ...) through ``ft.address``;
* ``i8x16.shuffle`` (a constant ``shufflevector``), ``i8x16.swizzle`` (per-lane, indices
  >= 16 select 0), the six ``splat``\\ s, every ``extract_lane`` and ``replace_lane``
  (float lanes move as integer bits, so NaN payloads are kept);
* integer comparisons (lanes of all ones or all zeros, ``sext <N x i1>``);
* ``v128.not/and/andnot/or/xor/bitselect/any_true`` and ``iNxM.all_true/bitmask``.

Handlers have the signature ``handler(ft, opcode, imm)`` of :mod:`.simd`; ``ft`` is the
:class:`~wasmlite.compiler.translate.FunctionTranslator`.  Immediates: memarg
``(align_log2, offset)``, lane index ``int``, memarg+lane ``((align_log2, offset), lane)``,
shuffle lanes 16 ``bytes``.
"""

from __future__ import annotations

from typing import Any

from ..binary import opcodes as op
from .simd import (
    LANES,
    SHAPE,
    Handler,
    V,
    declare,
    emit,
    mem_load,
    mem_store,
    pop_as,
    push_from,
)

#: integer LLVM type → its width in bits
_BITS = {"i8": 8, "i16": 16, "i32": 32, "i64": 64}

#: integer vector type whose lanes hold the bits of each shape's lanes
_INT_SHAPE = {
    "i8x16": "<16 x i8>", "i16x8": "<8 x i16>", "i32x4": "<4 x i32>", "i64x2": "<2 x i64>",
    "f32x4": "<4 x i32>", "f64x2": "<2 x i64>",
}

#: scalar (stack) type of each shape's lanes
_SCALAR = {"i8x16": "i32", "i16x8": "i32", "i32x4": "i32", "i64x2": "i64",
           "f32x4": "float", "f64x2": "double"}


def _splat(ft: Any, x: str, n: int, lt: str) -> str:
    """``<n x lt>`` with every lane ``x`` (of type ``lt``)."""
    vt = f"<{n} x {lt}>"
    one = emit(ft, f"insertelement {vt} poison, {lt} {x}, i32 0")
    return emit(ft, f"shufflevector {vt} {one}, {vt} poison, <{n} x i32> zeroinitializer")


def _to_lane(ft: Any, x: str, st: str, lt: str) -> str:
    """Scalar ``x`` of stack type ``st`` as lane type ``lt`` (wrap or bitcast)."""
    if st == lt:
        return x
    if st in ("float", "double"):
        return emit(ft, f"bitcast {st} {x} to {lt}")
    return emit(ft, f"trunc {st} {x} to {lt}")


# -- memory ------------------------------------------------------------------------------

#: load-extend opcode → (lanes, narrow lane type, wide lane type, extension)
_LOAD_EXTEND = {
    op.V128_LOAD8X8_S: (8, "i8", "i16", "sext"),
    op.V128_LOAD8X8_U: (8, "i8", "i16", "zext"),
    op.V128_LOAD16X4_S: (4, "i16", "i32", "sext"),
    op.V128_LOAD16X4_U: (4, "i16", "i32", "zext"),
    op.V128_LOAD32X2_S: (2, "i32", "i64", "sext"),
    op.V128_LOAD32X2_U: (2, "i32", "i64", "zext"),
}


def op_load_extend(ft: Any, opcode: int, imm: tuple) -> None:
    """``v128.load8x8_s`` ...: 8 bytes, each lane extended to twice its width."""
    n, narrow, wide, ext = _LOAD_EXTEND[opcode]
    src = f"<{n} x {narrow}>"
    dst = f"<{n} x {wide}>"
    x = mem_load(ft, imm, 8, src)
    w = emit(ft, f"{ext} {src} {x} to {dst}")
    push_from(ft, w, dst)


#: load-splat / load-zero opcode → lane type
_LOAD_SCALAR = {
    op.V128_LOAD8_SPLAT: "i8", op.V128_LOAD16_SPLAT: "i16",
    op.V128_LOAD32_SPLAT: "i32", op.V128_LOAD64_SPLAT: "i64",
    op.V128_LOAD32_ZERO: "i32", op.V128_LOAD64_ZERO: "i64",
}


def op_load_splat(ft: Any, opcode: int, imm: tuple) -> None:
    """``v128.loadN_splat``: one N-bit value in every lane."""
    lt = _LOAD_SCALAR[opcode]
    n = 128 // _BITS[lt]
    x = mem_load(ft, imm, _BITS[lt] // 8, lt)
    push_from(ft, _splat(ft, x, n, lt), f"<{n} x {lt}>")


def op_load_zero(ft: Any, opcode: int, imm: tuple) -> None:
    """``v128.load32_zero``/``load64_zero``: the value in lane 0, zeros elsewhere."""
    lt = _LOAD_SCALAR[opcode]
    n = 128 // _BITS[lt]
    vt = f"<{n} x {lt}>"
    x = mem_load(ft, imm, _BITS[lt] // 8, lt)
    push_from(ft, emit(ft, f"insertelement {vt} zeroinitializer, {lt} {x}, i32 0"), vt)


#: load-lane / store-lane opcode → lane type
_LANE_ACCESS = {
    op.V128_LOAD8_LANE: "i8", op.V128_LOAD16_LANE: "i16",
    op.V128_LOAD32_LANE: "i32", op.V128_LOAD64_LANE: "i64",
    op.V128_STORE8_LANE: "i8", op.V128_STORE16_LANE: "i16",
    op.V128_STORE32_LANE: "i32", op.V128_STORE64_LANE: "i64",
}


def op_load_lane(ft: Any, opcode: int, imm: tuple) -> None:
    """``v128.loadN_lane memarg lane``: [i32 addr, v128] → v128 with lane replaced."""
    memarg, lane = imm
    lt = _LANE_ACCESS[opcode]
    vt = f"<{128 // _BITS[lt]} x {lt}>"
    v = pop_as(ft, vt)
    x = mem_load(ft, memarg, _BITS[lt] // 8, lt)
    push_from(ft, emit(ft, f"insertelement {vt} {v}, {lt} {x}, i32 {lane}"), vt)


def op_store_lane(ft: Any, opcode: int, imm: tuple) -> None:
    """``v128.storeN_lane memarg lane``: [i32 addr, v128] → [], stores one lane."""
    memarg, lane = imm
    lt = _LANE_ACCESS[opcode]
    vt = f"<{128 // _BITS[lt]} x {lt}>"
    v = pop_as(ft, vt)
    x = emit(ft, f"extractelement {vt} {v}, i32 {lane}")
    mem_store(ft, memarg, _BITS[lt] // 8, lt, x)


# -- shuffles, splats, lanes -------------------------------------------------------------

B16 = SHAPE["i8x16"]


def op_shuffle(ft: Any, opcode: int, imm: bytes) -> None:
    """``i8x16.shuffle l0..l15``: lane i of the result is lane ``l_i`` of ``a ++ b``."""
    b = pop_as(ft, B16)
    a = pop_as(ft, B16)
    mask = ", ".join(f"i32 {k}" for k in imm)
    push_from(ft, emit(ft, f"shufflevector {B16} {a}, {B16} {b}, <16 x i32> <{mask}>"), B16)


def op_swizzle(ft: Any, opcode: int, imm: None) -> None:
    """``i8x16.swizzle a s``: lane i is ``a[s[i]]`` when ``s[i] < 16``, else 0."""
    s = pop_as(ft, B16)
    a = pop_as(ft, B16)
    # Each index, clamped to 16 (unsigned), selects a lane of ``a ++ 0`` (32 bytes), so
    # any index >= 16 reads a zero and no access is out of range (poison).  LLVM turns the
    # 16 variable lane reads into a byte permute where the target has one (vpermb, tbl).
    wide = emit(ft, f"shufflevector {B16} {a}, {B16} zeroinitializer, <32 x i32> <"
                + ", ".join(f"i32 {k}" for k in range(32)) + ">")
    clamp = emit(ft, f"call {B16} @llvm.umin.v16i8({B16} {s}, {B16} <"
                 + ", ".join(["i8 16"] * 16) + ">)")
    declare(ft, f"declare {B16} @llvm.umin.v16i8({B16}, {B16})")
    r = "zeroinitializer"
    for i in range(16):
        k = emit(ft, f"extractelement {B16} {clamp}, i32 {i}")
        x = emit(ft, f"extractelement <32 x i8> {wide}, i8 {k}")
        r = emit(ft, f"insertelement {B16} {r}, i8 {x}, i32 {i}")
    push_from(ft, r, B16)


#: splat opcode → shape
_SPLAT = {
    op.I8X16_SPLAT: "i8x16", op.I16X8_SPLAT: "i16x8", op.I32X4_SPLAT: "i32x4",
    op.I64X2_SPLAT: "i64x2", op.F32X4_SPLAT: "f32x4", op.F64X2_SPLAT: "f64x2",
}


def op_splat(ft: Any, opcode: int, imm: None) -> None:
    """``S.splat x``: every lane ``x`` (wrapped to the lane width; float bits kept)."""
    shape = _SPLAT[opcode]
    n, _ = LANES[shape]
    vt = _INT_SHAPE[shape]
    lt = vt.split(" x ")[1][:-1]
    x = _to_lane(ft, ft.stack.pop()[0], _SCALAR[shape], lt)
    push_from(ft, _splat(ft, x, n, lt), vt)


#: extract_lane opcode → (shape, extension of a narrow lane to i32 or None)
_EXTRACT = {
    op.I8X16_EXTRACT_LANE_S: ("i8x16", "sext"), op.I8X16_EXTRACT_LANE_U: ("i8x16", "zext"),
    op.I16X8_EXTRACT_LANE_S: ("i16x8", "sext"), op.I16X8_EXTRACT_LANE_U: ("i16x8", "zext"),
    op.I32X4_EXTRACT_LANE: ("i32x4", None), op.I64X2_EXTRACT_LANE: ("i64x2", None),
    op.F32X4_EXTRACT_LANE: ("f32x4", None), op.F64X2_EXTRACT_LANE: ("f64x2", None),
}


def op_extract_lane(ft: Any, opcode: int, lane: int) -> None:
    """``S.extract_lane[_s|_u] lane``: the lane as a scalar (float lanes bit-exact)."""
    shape, ext = _EXTRACT[opcode]
    vt = _INT_SHAPE[shape]
    lt = vt.split(" x ")[1][:-1]
    st = _SCALAR[shape]
    x = emit(ft, f"extractelement {vt} {pop_as(ft, vt)}, i32 {lane}")
    if ext:
        x = emit(ft, f"{ext} {lt} {x} to i32")
    elif st != lt:
        x = emit(ft, f"bitcast {lt} {x} to {st}")
    ft.stack.append((x, st))


#: replace_lane opcode → shape
_REPLACE = {
    op.I8X16_REPLACE_LANE: "i8x16", op.I16X8_REPLACE_LANE: "i16x8",
    op.I32X4_REPLACE_LANE: "i32x4", op.I64X2_REPLACE_LANE: "i64x2",
    op.F32X4_REPLACE_LANE: "f32x4", op.F64X2_REPLACE_LANE: "f64x2",
}


def op_replace_lane(ft: Any, opcode: int, lane: int) -> None:
    """``S.replace_lane lane``: [v128, scalar] → v128 with that lane replaced."""
    shape = _REPLACE[opcode]
    vt = _INT_SHAPE[shape]
    lt = vt.split(" x ")[1][:-1]
    x = _to_lane(ft, ft.stack.pop()[0], _SCALAR[shape], lt)
    v = pop_as(ft, vt)
    push_from(ft, emit(ft, f"insertelement {vt} {v}, {lt} {x}, i32 {lane}"), vt)


# -- integer comparisons -----------------------------------------------------------------

_CMP_NAMES = ("eq", "ne", "lt_s", "lt_u", "gt_s", "gt_u", "le_s", "le_u", "ge_s", "ge_u")
_PRED = {"eq": "eq", "ne": "ne", "lt_s": "slt", "lt_u": "ult", "gt_s": "sgt",
         "gt_u": "ugt", "le_s": "sle", "le_u": "ule", "ge_s": "sge", "ge_u": "uge"}

#: comparison opcode → (shape, icmp predicate)
_CMP: dict[int, tuple[str, str]] = {}
for _shape in ("i8x16", "i16x8", "i32x4"):
    for _name in _CMP_NAMES:
        _CMP[getattr(op, f"{_shape}_{_name}".upper())] = (_shape, _PRED[_name])
for _name in ("eq", "ne", "lt_s", "gt_s", "le_s", "ge_s"):
    _CMP[getattr(op, f"I64X2_{_name}".upper())] = ("i64x2", _PRED[_name])


def op_icmp(ft: Any, opcode: int, imm: None) -> None:
    """``S.eq`` ... ``S.ge_u``: per lane, all ones where the relation holds, else 0."""
    shape, pred = _CMP[opcode]
    n, lt = LANES[shape]
    vt = SHAPE[shape]
    b = pop_as(ft, vt)
    a = pop_as(ft, vt)
    c = emit(ft, f"icmp {pred} {vt} {a}, {b}")
    push_from(ft, emit(ft, f"sext <{n} x i1> {c} to {vt}"), vt)


# -- bitwise -----------------------------------------------------------------------------

_ONES = "<i32 -1, i32 -1, i32 -1, i32 -1>"


def op_not(ft: Any, opcode: int, imm: None) -> None:
    """``v128.not``."""
    a = ft.stack.pop()[0]
    ft.stack.append((emit(ft, f"xor {V} {a}, {_ONES}"), V))


_BINARY = {op.V128_AND: "and", op.V128_OR: "or", op.V128_XOR: "xor"}


def op_bitwise(ft: Any, opcode: int, imm: None) -> None:
    """``v128.and/or/xor``."""
    b = ft.stack.pop()[0]
    a = ft.stack.pop()[0]
    ft.stack.append((emit(ft, f"{_BINARY[opcode]} {V} {a}, {b}"), V))


def op_andnot(ft: Any, opcode: int, imm: None) -> None:
    """``v128.andnot a b`` = ``a & ~b``."""
    b = ft.stack.pop()[0]
    a = ft.stack.pop()[0]
    nb = emit(ft, f"xor {V} {b}, {_ONES}")
    ft.stack.append((emit(ft, f"and {V} {a}, {nb}"), V))


def op_bitselect(ft: Any, opcode: int, imm: None) -> None:
    """``v128.bitselect v1 v2 c`` = ``(v1 & c) | (v2 & ~c)``."""
    c = ft.stack.pop()[0]
    v2 = ft.stack.pop()[0]
    v1 = ft.stack.pop()[0]
    x = emit(ft, f"xor {V} {v1}, {v2}")
    y = emit(ft, f"and {V} {x}, {c}")
    ft.stack.append((emit(ft, f"xor {V} {y}, {v2}"), V))


def op_any_true(ft: Any, opcode: int, imm: None) -> None:
    """``v128.any_true``: 1 if any bit is set, else 0."""
    w = emit(ft, f"bitcast {V} {ft.stack.pop()[0]} to i128")
    c = emit(ft, f"icmp ne i128 {w}, 0")
    ft.stack.append((emit(ft, f"zext i1 {c} to i32"), "i32"))


_ALL_TRUE = {op.I8X16_ALL_TRUE: "i8x16", op.I16X8_ALL_TRUE: "i16x8",
             op.I32X4_ALL_TRUE: "i32x4", op.I64X2_ALL_TRUE: "i64x2"}
_BITMASK = {op.I8X16_BITMASK: "i8x16", op.I16X8_BITMASK: "i16x8",
            op.I32X4_BITMASK: "i32x4", op.I64X2_BITMASK: "i64x2"}


def _lane_bits(ft: Any, shape: str, pred: str) -> str:
    """``i<n>`` whose bit i is ``icmp pred lane_i, 0`` (bit 0 = lane 0: the bitcast of an
    ``<n x i1>`` puts element 0 in the low bit on little-endian targets)."""
    n, _ = LANES[shape]
    vt = SHAPE[shape]
    c = emit(ft, f"icmp {pred} {vt} {pop_as(ft, vt)}, zeroinitializer")
    return emit(ft, f"bitcast <{n} x i1> {c} to i{n}")


def op_all_true(ft: Any, opcode: int, imm: None) -> None:
    """``S.all_true``: 1 if every lane is non-zero, else 0."""
    shape = _ALL_TRUE[opcode]
    n, _ = LANES[shape]
    m = _lane_bits(ft, shape, "ne")
    c = emit(ft, f"icmp eq i{n} {m}, -1")
    ft.stack.append((emit(ft, f"zext i1 {c} to i32"), "i32"))


def op_bitmask(ft: Any, opcode: int, imm: None) -> None:
    """``S.bitmask``: bit i of the i32 result is the sign bit of lane i."""
    shape = _BITMASK[opcode]
    n, _ = LANES[shape]
    m = _lane_bits(ft, shape, "slt")
    ft.stack.append((emit(ft, f"zext i{n} {m} to i32"), "i32"))


HANDLERS: dict[int, Handler] = {
    **dict.fromkeys(_LOAD_EXTEND, op_load_extend),
    **dict.fromkeys((op.V128_LOAD8_SPLAT, op.V128_LOAD16_SPLAT, op.V128_LOAD32_SPLAT,
                     op.V128_LOAD64_SPLAT), op_load_splat),
    op.V128_LOAD32_ZERO: op_load_zero,
    op.V128_LOAD64_ZERO: op_load_zero,
    **dict.fromkeys((op.V128_LOAD8_LANE, op.V128_LOAD16_LANE, op.V128_LOAD32_LANE,
                     op.V128_LOAD64_LANE), op_load_lane),
    **dict.fromkeys((op.V128_STORE8_LANE, op.V128_STORE16_LANE, op.V128_STORE32_LANE,
                     op.V128_STORE64_LANE), op_store_lane),
    op.I8X16_SHUFFLE: op_shuffle,
    op.I8X16_SWIZZLE: op_swizzle,
    **dict.fromkeys(_SPLAT, op_splat),
    **dict.fromkeys(_EXTRACT, op_extract_lane),
    **dict.fromkeys(_REPLACE, op_replace_lane),
    **dict.fromkeys(_CMP, op_icmp),
    op.V128_NOT: op_not,
    **dict.fromkeys(_BINARY, op_bitwise),
    op.V128_ANDNOT: op_andnot,
    op.V128_BITSELECT: op_bitselect,
    op.V128_ANY_TRUE: op_any_true,
    **dict.fromkeys(_ALL_TRUE, op_all_true),
    **dict.fromkeys(_BITMASK, op_bitmask),
}
