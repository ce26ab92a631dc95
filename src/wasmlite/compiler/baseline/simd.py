"""SIMD (``v128``) instructions in the baseline compiler: the integer and bitwise ones,
loads, stores, lanes and shuffles, with SSE up to SSE4.1 (the LLVM tiers assume the
same host).  A function using any other SIMD instruction is left to LLVM
(``unsupported_reason``), as is one with ``v128`` parameters, results, globals or
calls (their ABI is LLVM's).

In a function with ``v128`` values every frame slot is 16 bytes (``FunctionCompiler.ss``)
and a ``v128`` entry of the compile-time operand stack is a slot, a local, or a
constant whose ``bits`` are the 128-bit little-endian value.  An instruction loads its
vector operands into ``xmm0``/``xmm1`` (``movdqu``; constants through ``rax``), works
there (``xmm2`` for masks) and stores its result into its slot.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...binary import opcodes as op
from ...environ.module import I32, I64, V128
from . import asm as A
from .asm import RAX

if TYPE_CHECKING:
    from .compiler import FunctionCompiler

_P66, _PF3 = b"\x66", b"\xf3"
_M64 = (1 << 64) - 1
CONST, SLOT = 0, 1

#: binary operators: opcode -> (opcode bytes of ``op xmm0, xmm1``, operands swapped)
_VBIN: dict[int, tuple[bytes, bool]] = {
    op.V128_AND: (b"\x0f\xdb", False), op.V128_OR: (b"\x0f\xeb", False),
    op.V128_XOR: (b"\x0f\xef", False), op.V128_ANDNOT: (b"\x0f\xdf", True),
    op.I8X16_ADD: (b"\x0f\xfc", False), op.I16X8_ADD: (b"\x0f\xfd", False),
    op.I32X4_ADD: (b"\x0f\xfe", False), op.I64X2_ADD: (b"\x0f\xd4", False),
    op.I8X16_SUB: (b"\x0f\xf8", False), op.I16X8_SUB: (b"\x0f\xf9", False),
    op.I32X4_SUB: (b"\x0f\xfa", False), op.I64X2_SUB: (b"\x0f\xfb", False),
    op.I16X8_MUL: (b"\x0f\xd5", False), op.I32X4_MUL: (b"\x0f\x38\x40", False),
    op.I8X16_ADD_SAT_S: (b"\x0f\xec", False), op.I8X16_ADD_SAT_U: (b"\x0f\xdc", False),
    op.I8X16_SUB_SAT_S: (b"\x0f\xe8", False), op.I8X16_SUB_SAT_U: (b"\x0f\xd8", False),
    op.I16X8_ADD_SAT_S: (b"\x0f\xed", False), op.I16X8_ADD_SAT_U: (b"\x0f\xdd", False),
    op.I16X8_SUB_SAT_S: (b"\x0f\xe9", False), op.I16X8_SUB_SAT_U: (b"\x0f\xd9", False),
    op.I8X16_MIN_S: (b"\x0f\x38\x38", False), op.I8X16_MIN_U: (b"\x0f\xda", False),
    op.I8X16_MAX_S: (b"\x0f\x38\x3c", False), op.I8X16_MAX_U: (b"\x0f\xde", False),
    op.I16X8_MIN_S: (b"\x0f\xea", False), op.I16X8_MIN_U: (b"\x0f\x38\x3a", False),
    op.I16X8_MAX_S: (b"\x0f\xee", False), op.I16X8_MAX_U: (b"\x0f\x38\x3e", False),
    op.I32X4_MIN_S: (b"\x0f\x38\x39", False), op.I32X4_MIN_U: (b"\x0f\x38\x3b", False),
    op.I32X4_MAX_S: (b"\x0f\x38\x3d", False), op.I32X4_MAX_U: (b"\x0f\x38\x3f", False),
    op.I8X16_AVGR_U: (b"\x0f\xe0", False), op.I16X8_AVGR_U: (b"\x0f\xe3", False),
    op.I8X16_EQ: (b"\x0f\x74", False), op.I16X8_EQ: (b"\x0f\x75", False),
    op.I32X4_EQ: (b"\x0f\x76", False), op.I64X2_EQ: (b"\x0f\x38\x29", False),
    op.I8X16_GT_S: (b"\x0f\x64", False), op.I16X8_GT_S: (b"\x0f\x65", False),
    op.I32X4_GT_S: (b"\x0f\x66", False),
    op.I8X16_LT_S: (b"\x0f\x64", True), op.I16X8_LT_S: (b"\x0f\x65", True),
    op.I32X4_LT_S: (b"\x0f\x66", True),
}
#: ``ne``: the ``eq`` instruction, then all bits flipped
_VNE = {op.I8X16_NE: b"\x0f\x74", op.I16X8_NE: b"\x0f\x75", op.I32X4_NE: b"\x0f\x76",
        op.I64X2_NE: b"\x0f\x38\x29"}
#: shifts: opcode -> (immediate form's opcode bytes and ModRM.reg, by-xmm form, lane bits)
_VSHIFT = {
    op.I16X8_SHL: (b"\x0f\x71", 6, b"\x0f\xf1", 16),
    op.I16X8_SHR_S: (b"\x0f\x71", 4, b"\x0f\xe1", 16),
    op.I16X8_SHR_U: (b"\x0f\x71", 2, b"\x0f\xd1", 16),
    op.I32X4_SHL: (b"\x0f\x72", 6, b"\x0f\xf2", 32),
    op.I32X4_SHR_S: (b"\x0f\x72", 4, b"\x0f\xe2", 32),
    op.I32X4_SHR_U: (b"\x0f\x72", 2, b"\x0f\xd2", 32),
    op.I64X2_SHL: (b"\x0f\x73", 6, b"\x0f\xf3", 64),
    op.I64X2_SHR_U: (b"\x0f\x73", 2, b"\x0f\xd3", 64),
}
#: ``all_true``: the ``pcmpeq`` against zero of the lane size
_VALL_TRUE = {op.I8X16_ALL_TRUE: b"\x0f\x74", op.I16X8_ALL_TRUE: b"\x0f\x75",
              op.I32X4_ALL_TRUE: b"\x0f\x76", op.I64X2_ALL_TRUE: b"\x0f\x38\x29"}
_SPLATS = (op.I8X16_SPLAT, op.I16X8_SPLAT, op.I32X4_SPLAT, op.I64X2_SPLAT,
           op.F32X4_SPLAT, op.F64X2_SPLAT)
#: extract_lane: opcode -> (result type, how)
_EXTRACT = {op.I8X16_EXTRACT_LANE_S: (I32, "bs"), op.I8X16_EXTRACT_LANE_U: (I32, "b"),
            op.I16X8_EXTRACT_LANE_S: (I32, "ws"), op.I16X8_EXTRACT_LANE_U: (I32, "w"),
            op.I32X4_EXTRACT_LANE: (I32, "d"), op.I64X2_EXTRACT_LANE: (I64, "q")}
#: replace_lane: opcode -> (opcode bytes with the lane as immediate, REX.W)
_REPLACE = {op.I8X16_REPLACE_LANE: (b"\x0f\x3a\x20", False),
            op.I16X8_REPLACE_LANE: (b"\x0f\xc4", False),
            op.I32X4_REPLACE_LANE: (b"\x0f\x3a\x22", False),
            op.I64X2_REPLACE_LANE: (b"\x0f\x3a\x22", True)}
_LOADS = (op.V128_LOAD, op.V128_LOAD8_SPLAT, op.V128_LOAD16_SPLAT, op.V128_LOAD32_SPLAT,
          op.V128_LOAD64_SPLAT, op.V128_LOAD32_ZERO, op.V128_LOAD64_ZERO)

#: the SIMD instructions the baseline compiler takes
SIMD_OPS = frozenset([*_VBIN, *_VNE, *_VSHIFT, *_VALL_TRUE, *_SPLATS, *_EXTRACT, *_REPLACE,
                      *_LOADS, op.V128_STORE, op.V128_CONST, op.I8X16_SHUFFLE,
                      op.V128_NOT, op.V128_BITSELECT, op.V128_ANY_TRUE])


def const128(fc: FunctionCompiler, xmm: int, bits: int) -> None:
    """``xmm`` = the 128-bit constant ``bits`` (through ``rax``)."""
    a = fc.a
    if not bits:
        a.enc(b"\x0f\xef", xmm, xmm, pfx=_P66)                     # pxor
        return
    a.mov_imm(RAX, bits & _M64)
    a.movd_to_xmm(xmm, RAX, True)                                  # movq (upper = 0)
    if bits >> 64:
        a.mov_imm(RAX, bits >> 64)
        a.enc(b"\x0f\x3a\x22", xmm, RAX, True, pfx=_P66)           # pinsrq xmm, rax, 1
        a.b.append(1)


def vload(fc: FunctionCompiler, e: tuple, k: int, xmm: int) -> None:
    """Load ``v128`` entry ``e`` (stack index ``k``) into ``xmm``."""
    if e[0] == CONST:
        const128(fc, xmm, e[2])
    else:
        fc.a.enc(b"\x0f\x6f", xmm, fc.src(e, k), pfx=_PF3)         # movdqu


def vpush(fc: FunctionCompiler, xmm: int) -> None:
    """Push a ``v128`` result from ``xmm`` into its slot."""
    fc.a.enc(b"\x0f\x7f", xmm, fc.push_slot(V128), pfx=_PF3)       # movdqu
    fc.emitted = None


def vcopy(fc: FunctionCompiler, e: tuple, k: int, dst: tuple) -> None:
    """Store ``v128`` entry ``e`` (stack index ``k``) into the 16-byte slot ``dst``."""
    a = fc.a
    if e[0] == CONST:
        d = dst
        for half in (e[2] & _M64, e[2] >> 64):
            if not a.store_imm(d, half, 8):
                a.mov_imm(RAX, half)
                a.store(d, RAX, 8)
            d = (d[0], d[1], d[2], d[3] + 8)
    else:
        a.enc(b"\x0f\x6f", 0, fc.src(e, k), pfx=_PF3)
        a.enc(b"\x0f\x7f", 0, dst, pfx=_PF3)


def _pop2(fc: FunctionCompiler, swap: bool = False) -> None:
    """Pop two ``v128`` operands: the deeper into ``xmm0`` and the top into ``xmm1``
    (the other way round with ``swap``)."""
    st = fc.stack
    k = len(st) - 1
    x, y = (1, 0) if swap else (0, 1)
    vload(fc, st[k - 1], k - 1, x)
    vload(fc, st[k], k, y)
    del st[k - 1:]


def _pop1(fc: FunctionCompiler, xmm: int = 0) -> None:
    st = fc.stack
    k = len(st) - 1
    vload(fc, st.pop(), k, xmm)


def _all_ones(fc: FunctionCompiler, xmm: int) -> None:
    fc.a.enc(b"\x0f\x76", xmm, xmm, pfx=_P66)                      # pcmpeqd


def op_simd(fc: FunctionCompiler, opcode: int, imm: object) -> None:  # noqa: C901
    """Translate SIMD instruction ``opcode`` (one of :data:`SIMD_OPS`)."""
    a = fc.a
    st = fc.stack
    h = _VBIN.get(opcode)
    if h is not None:
        _pop2(fc, h[1])
        a.enc(h[0], 0, 1, pfx=_P66)
        vpush(fc, 0)
        return
    if opcode == op.V128_CONST:
        fc.push_const(V128, int.from_bytes(imm, "little"))  # type: ignore[arg-type]
        return
    if opcode in _LOADS:
        m = fc.address(imm[1], _LOAD_SIZES[opcode])  # type: ignore[index]
        if opcode == op.V128_LOAD:
            a.enc(b"\x0f\x6f", 0, m, pfx=_PF3)                     # movdqu
        elif opcode == op.V128_LOAD32_SPLAT or opcode == op.V128_LOAD32_ZERO:
            a.enc(b"\x0f\x6e", 0, m, pfx=_P66)                     # movd
            if opcode == op.V128_LOAD32_SPLAT:
                _splat32(fc)
        elif opcode == op.V128_LOAD64_SPLAT or opcode == op.V128_LOAD64_ZERO:
            a.enc(b"\x0f\x7e", 0, m, pfx=_PF3)                     # movq
            if opcode == op.V128_LOAD64_SPLAT:
                a.enc(b"\x0f\x6c", 0, 0, pfx=_P66)                 # punpcklqdq
        else:
            if opcode == op.V128_LOAD8_SPLAT:
                a.movzx8(RAX, m)
            else:
                a.movzx16(RAX, m)
            a.movd_to_xmm(0, RAX, False)
            _splat_small(fc, opcode == op.V128_LOAD8_SPLAT)
        vpush(fc, 0)
        return
    if opcode == op.V128_STORE:
        _pop1(fc)                      # the address computation keeps xmm0
        m = fc.address(imm[1], 16)  # type: ignore[index]
        a.enc(b"\x0f\x7f", 0, m, pfx=_PF3)
        fc.emitted = None
        return
    if opcode in _SPLATS:
        k = len(st) - 1
        e = st.pop()
        if opcode == op.F32X4_SPLAT or opcode == op.F64X2_SPLAT:
            fc.fload(e, k, 0, opcode == op.F64X2_SPLAT)
        else:
            fc.load(e, k, RAX, opcode == op.I64X2_SPLAT)
            a.movd_to_xmm(0, RAX, opcode == op.I64X2_SPLAT)
        if opcode == op.I32X4_SPLAT or opcode == op.F32X4_SPLAT:
            _splat32(fc)
        elif opcode == op.I64X2_SPLAT or opcode == op.F64X2_SPLAT:
            a.enc(b"\x0f\x6c", 0, 0, pfx=_P66)                     # punpcklqdq
        else:
            _splat_small(fc, opcode == op.I8X16_SPLAT)
        vpush(fc, 0)
        return
    if opcode in _EXTRACT:
        t, how = _EXTRACT[opcode]
        _pop1(fc)
        lane = imm
        if how in ("b", "bs"):
            a.enc(b"\x0f\x3a\x14", 0, RAX, pfx=_P66)               # pextrb eax, xmm0
        elif how in ("w", "ws"):
            a.enc(b"\x0f\xc5", RAX, 0, pfx=_P66)                   # pextrw eax, xmm0
        else:
            a.enc(b"\x0f\x3a\x16", 0, RAX, how == "q", pfx=_P66)   # pextrd/q
        a.b.append(lane)  # type: ignore[arg-type]
        if how == "bs":
            a.movsx8(RAX, RAX, False)
        elif how == "ws":
            a.movsx16(RAX, RAX, False)
        fc.istore(t, RAX)
        return
    if opcode in _REPLACE:
        code, w = _REPLACE[opcode]
        k = len(st) - 1
        x = st.pop()
        vload(fc, st.pop(), k - 1, 0)
        fc.load(x, k, RAX, w)
        a.enc(code, 0, RAX, w, pfx=_P66)
        a.b.append(imm)  # type: ignore[arg-type]
        vpush(fc, 0)
        return
    if opcode in _VSHIFT:
        by_imm, ext, by_xmm, bits = _VSHIFT[opcode]
        k = len(st) - 1
        n = st.pop()
        vload(fc, st.pop(), k - 1, 0)
        if n[0] == CONST:
            a.enc(by_imm, ext, 0, pfx=_P66)
            a.b.append(n[2] & (bits - 1))
        else:
            fc.load(n, k, RAX, False)
            a.alu_imm(A.AND, RAX, bits - 1, False)
            a.movd_to_xmm(1, RAX, False)
            a.enc(by_xmm, 0, 1, pfx=_P66)
        vpush(fc, 0)
        return
    if opcode in _VNE:
        _pop2(fc)
        a.enc(_VNE[opcode], 0, 1, pfx=_P66)
        _all_ones(fc, 1)
        a.enc(b"\x0f\xef", 0, 1, pfx=_P66)
        vpush(fc, 0)
        return
    if opcode == op.V128_NOT:
        _pop1(fc)
        _all_ones(fc, 1)
        a.enc(b"\x0f\xef", 0, 1, pfx=_P66)
        vpush(fc, 0)
        return
    if opcode == op.V128_BITSELECT:
        k = len(st) - 1
        vload(fc, st[k - 2], k - 2, 0)
        vload(fc, st[k - 1], k - 1, 1)
        vload(fc, st[k], k, 2)
        del st[k - 2:]
        a.enc(b"\x0f\xdb", 0, 2, pfx=_P66)                         # pand xmm0, c
        a.enc(b"\x0f\xdf", 2, 1, pfx=_P66)                         # pandn c, xmm1
        a.enc(b"\x0f\xeb", 0, 2, pfx=_P66)                         # por
        vpush(fc, 0)
        return
    if opcode == op.V128_ANY_TRUE:
        _pop1(fc)
        a.enc(b"\x0f\x38\x17", 0, 0, pfx=_P66)                     # ptest xmm0, xmm0
        fc.set_flag(A.CC_NE)
        return
    if opcode in _VALL_TRUE:
        _pop1(fc)
        a.enc(b"\x0f\xef", 1, 1, pfx=_P66)
        a.enc(_VALL_TRUE[opcode], 1, 0, pfx=_P66)                  # lanes that are 0
        a.enc(b"\x0f\x38\x17", 1, 1, pfx=_P66)                     # ptest
        fc.set_flag(A.CC_E)                                        # none was 0
        return
    if opcode == op.I8X16_SHUFFLE:
        lanes = bytes(imm)  # type: ignore[arg-type]
        _pop2(fc)
        low = bytes(i if i < 16 else 0x80 for i in lanes)
        high = bytes(i - 16 if i >= 16 else 0x80 for i in lanes)
        uses_a = any(i < 16 for i in lanes)
        uses_b = any(i >= 16 for i in lanes)
        if uses_a:
            const128(fc, 2, int.from_bytes(low, "little"))
            a.enc(b"\x0f\x38\x00", 0, 2, pfx=_P66)                 # pshufb xmm0, mask
        if uses_b:
            const128(fc, 2, int.from_bytes(high, "little"))
            a.enc(b"\x0f\x38\x00", 1, 2, pfx=_P66)
            if uses_a:
                a.enc(b"\x0f\xeb", 0, 1, pfx=_P66)
            else:
                vpush(fc, 1)
                return
        vpush(fc, 0)
        return
    raise AssertionError(f"SIMD opcode {opcode:#x} is not in SIMD_OPS")


_LOAD_SIZES = {op.V128_LOAD: 16, op.V128_LOAD8_SPLAT: 1, op.V128_LOAD16_SPLAT: 2,
               op.V128_LOAD32_SPLAT: 4, op.V128_LOAD64_SPLAT: 8, op.V128_LOAD32_ZERO: 4,
               op.V128_LOAD64_ZERO: 8}


def _splat32(fc: FunctionCompiler) -> None:
    fc.a.enc(b"\x0f\x70", 0, 0, pfx=_P66)                          # pshufd xmm0, xmm0, 0
    fc.a.b.append(0)


def _splat_small(fc: FunctionCompiler, byte: bool) -> None:
    """Broadcast the low byte (``byte``) or word of ``xmm0``."""
    a = fc.a
    if byte:
        a.enc(b"\x0f\xef", 1, 1, pfx=_P66)
        a.enc(b"\x0f\x38\x00", 0, 1, pfx=_P66)                     # pshufb xmm0, 0
    else:
        a.enc(b"\x0f\x70", 0, 0, pfx=b"\xf2")                      # pshuflw xmm0, xmm0, 0
        a.b.append(0)
        a.enc(b"\x0f\x6c", 0, 0, pfx=_P66)                         # punpcklqdq


__all__ = ["SIMD_OPS", "op_simd", "vcopy", "vload"]
