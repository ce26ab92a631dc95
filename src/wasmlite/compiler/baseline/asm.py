"""A minimal x86-64 encoder: just the instructions the baseline compiler emits.

Operands: a register is an ``int`` (0-15: ``rax rcx rdx rbx rsp rbp rsi rdi r8..r15``,
or ``xmm0..xmm15`` where the instruction takes an XMM register); a memory operand is a
tuple ``(base, index, scale_log2, disp)`` (``index`` -1 for none), built with :func:`mem`.
Labels are small integers from :meth:`Asm.label`; forward references are patched when
the label is bound (all jumps are ``rel32``).
"""

from __future__ import annotations

RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI = range(8)
R8, R9, R10, R11, R12, R13, R14, R15 = range(8, 16)

# condition codes (the low nibble of Jcc / SETcc / CMOVcc)
CC_O, CC_NO, CC_B, CC_AE, CC_E, CC_NE, CC_BE, CC_A = range(8)
CC_S, CC_NS, CC_P, CC_NP, CC_L, CC_GE, CC_LE, CC_G = range(8, 16)

# group-1 ALU operations: the ``/n`` of 0x81/0x83 and the base of the r/m forms
ADD, OR, AND, SUB, XOR, CMP = 0, 1, 4, 5, 6, 7
# group-2 shifts: the ``/n`` of 0xD3 / 0xC1
ROL, ROR, SHL, SHR, SAR = 0, 1, 4, 5, 7


def mem(base: int, disp: int = 0, index: int = -1, scale: int = 0) -> tuple:
    """A memory operand ``[base + index << scale + disp]``."""
    return (base, index, scale, disp)


_ENCODED: dict[tuple, bytes] = {}
#: the same for the two most frequent instructions, by shorter keys
_MOVS: dict[tuple, bytes] = {}
_STORES: dict[tuple, bytes] = {}


def _encode(op: bytes, reg: int, rm: int | tuple, w: bool, pfx: bytes,
            byte_regs: bool) -> bytes:
    """The bytes of :meth:`Asm.enc`."""
    b = bytearray()
    if pfx:
        b += pfx
    if type(rm) is int:
        rex = (8 if w else 0) | ((reg >> 1) & 4) | ((rm >> 3) & 1)
        if rex or (byte_regs and (4 <= rm < 8 or 4 <= reg < 8)):
            b.append(0x40 | rex)
        b += op
        b.append(0xC0 | ((reg & 7) << 3) | (rm & 7))
        return bytes(b)
    base, index, scale, disp = rm
    if base == 5 and index < 0:
        # [rbp + disp]: frame slots, the common case
        rex = (8 if w else 0) | ((reg >> 1) & 4)
        if rex or (byte_regs and 4 <= reg < 8):
            b.append(0x40 | rex)
        b += op
        if -128 <= disp < 128:
            b.append(0x45 | ((reg & 7) << 3))
            b.append(disp & 0xFF)
        else:
            b.append(0x85 | ((reg & 7) << 3))
            b += (disp & 0xFFFFFFFF).to_bytes(4, "little")
        return bytes(b)
    rex = (8 if w else 0) | ((reg >> 1) & 4) | ((base >> 3) & 1)
    if index >= 0:
        rex |= ((index >> 3) & 1) << 1
    if rex or (byte_regs and 4 <= reg < 8):
        b.append(0x40 | rex)
    b += op
    r = (reg & 7) << 3
    if disp == 0 and (base & 7) != 5:
        mod = 0
    elif -128 <= disp < 128:
        mod = 0x40
    else:
        mod = 0x80
    if index >= 0:
        b.append(mod | r | 4)
        b.append((scale << 6) | ((index & 7) << 3) | (base & 7))
    elif (base & 7) == 4:
        b.append(mod | r | 4)
        b.append(0x24)
    else:
        b.append(mod | r | (base & 7))
    if mod == 0x40:
        b.append(disp & 0xFF)
    elif mod == 0x80:
        b += (disp & 0xFFFFFFFF).to_bytes(4, "little")
    return bytes(b)


class Asm:
    """Machine code of one function being assembled, in ``self.b``."""

    __slots__ = ("b", "fixups", "labels", "last_bind")

    def __init__(self) -> None:
        self.b = bytearray()
        self.labels: list[int] = []          # label -> position, -1 while unbound
        self.fixups: list[list[int]] = []    # label -> positions of rel32 fields
        #: position of the most recently bound label (peepholes never rewrite code
        #: a label points into)
        self.last_bind = -1

    # -- labels ------------------------------------------------------------------------
    def label(self) -> int:
        self.labels.append(-1)
        self.fixups.append([])
        return len(self.labels) - 1

    def bind(self, lab: int) -> None:
        pos = len(self.b)
        self.labels[lab] = pos
        self.last_bind = pos
        b = self.b
        for at in self.fixups[lab]:
            b[at:at + 4] = (pos - at - 4).to_bytes(4, "little", signed=True)
        self.fixups[lab] = []

    def _rel32(self, lab: int) -> None:
        b = self.b
        target = self.labels[lab]
        if target >= 0:
            b += (target - len(b) - 4).to_bytes(4, "little", signed=True)
        else:
            self.fixups[lab].append(len(b))
            b += b"\0\0\0\0"

    def jmp(self, lab: int) -> None:
        self.b.append(0xE9)
        self._rel32(lab)

    def jcc(self, cc: int, lab: int) -> None:
        self.b += bytes((0x0F, 0x80 | cc))
        self._rel32(lab)

    # -- generic encoding --------------------------------------------------------------
    def enc(self, op: bytes, reg: int, rm: int | tuple, w: bool = False,
            pfx: bytes = b"", byte_regs: bool = False) -> None:
        """``[pfx] [REX] op ModRM [SIB] [disp]`` with ``reg`` in ModRM.reg and ``rm`` a
        register or memory operand.  ``byte_regs``: an 8-bit register operand (forces a
        REX prefix for ``spl``..``dil``).  Encodings are memoized (frame slots recur)."""
        key = (op, reg, rm, w, pfx, byte_regs)
        code = _ENCODED.get(key)
        if code is None:
            if len(_ENCODED) > 200_000:
                _ENCODED.clear()
            code = _ENCODED[key] = _encode(op, reg, rm, w, pfx, byte_regs)
        self.b += code

    # -- integer instructions ------------------------------------------------------------
    def mov(self, dst: int, src: int | tuple, w: bool = True) -> None:
        """``mov reg, reg/mem`` (32-bit moves zero-extend)."""
        key = (dst, src, w)
        code = _MOVS.get(key)
        if code is None:
            if len(_MOVS) > 100_000:
                _MOVS.clear()
            code = _MOVS[key] = _encode(b"\x8b", dst, src, w, b"", False)
        self.b += code

    def store(self, dst: tuple, src: int, size: int = 8) -> None:
        """``mov mem, reg`` of ``size`` bytes."""
        key = (dst, src, size)
        code = _STORES.get(key)
        if code is None:
            if len(_STORES) > 100_000:
                _STORES.clear()
            if size == 8:
                code = _encode(b"\x89", src, dst, True, b"", False)
            elif size == 4:
                code = _encode(b"\x89", src, dst, False, b"", False)
            elif size == 2:
                code = _encode(b"\x89", src, dst, False, b"\x66", False)
            else:
                code = _encode(b"\x88", src, dst, False, b"", True)
            _STORES[key] = code
        self.b += code

    def mov_imm(self, reg: int, value: int, w: bool = True) -> None:
        """``reg = value`` (zero-extended 32-bit, sign-extended 32-bit or 64-bit form)."""
        b = self.b
        if not w:
            value &= 0xFFFFFFFF
        else:
            value &= 0xFFFFFFFFFFFFFFFF
        if value <= 0xFFFFFFFF:
            if value == 0:
                self.enc(b"\x33", reg, reg)  # xor r32, r32
                return
            if reg >= 8:
                b.append(0x41)
            b.append(0xB8 | (reg & 7))
            b += value.to_bytes(4, "little")
        elif value >= 0xFFFFFFFF80000000:
            self.enc(b"\xc7", 0, reg, True)
            b += (value & 0xFFFFFFFF).to_bytes(4, "little")
        else:
            b.append(0x48 | ((reg >> 3) & 1))
            b.append(0xB8 | (reg & 7))
            b += value.to_bytes(8, "little")

    def store_imm(self, dst: tuple, value: int, size: int) -> bool:
        """``mov mem, imm32`` of 4 or 8 bytes (sign-extended); False when a 64-bit value
        does not fit (nothing emitted)."""
        if size == 8:
            value &= 0xFFFFFFFFFFFFFFFF
            if 0x80000000 <= value < 0xFFFFFFFF80000000:
                return False
            self.enc(b"\xc7", 0, dst, True)
        else:
            self.enc(b"\xc7", 0, dst)
        self.b += (value & 0xFFFFFFFF).to_bytes(4, "little")
        return True

    def lea(self, dst: int, src: tuple) -> None:
        self.enc(b"\x8d", dst, src, True)

    def alu(self, kind: int, dst: int, src: int | tuple, w: bool) -> None:
        """``add/or/and/sub/xor/cmp dst, src`` (reg, reg/mem)."""
        self.enc(bytes((kind * 8 + 3,)), dst, src, w)

    def alu_mr(self, kind: int, dst: tuple | int, src: int, w: bool) -> None:
        """``add/.../cmp mem, reg``."""
        self.enc(bytes((kind * 8 + 1,)), src, dst, w)

    def alu_imm(self, kind: int, dst: int | tuple, imm: int, w: bool) -> None:
        """``add/.../cmp dst, imm`` (imm fits a signed 32-bit field)."""
        if -128 <= imm < 128:
            self.enc(b"\x83", kind, dst, w)
            self.b.append(imm & 0xFF)
        else:
            self.enc(b"\x81", kind, dst, w)
            self.b += (imm & 0xFFFFFFFF).to_bytes(4, "little")

    def test(self, a: int | tuple, b: int, w: bool) -> None:
        self.enc(b"\x85", b, a, w)

    def imul(self, dst: int, src: int | tuple, w: bool) -> None:
        self.enc(b"\x0f\xaf", dst, src, w)

    def imul_imm(self, dst: int, src: int | tuple, imm: int, w: bool) -> None:
        self.enc(b"\x69", dst, src, w)
        self.b += (imm & 0xFFFFFFFF).to_bytes(4, "little")

    def shift_cl(self, kind: int, dst: int, w: bool) -> None:
        self.enc(b"\xd3", kind, dst, w)

    def shift_imm(self, kind: int, dst: int, imm: int, w: bool) -> None:
        self.enc(b"\xc1", kind, dst, w)
        self.b.append(imm & 0xFF)

    def unary(self, n: int, rm: int | tuple, w: bool) -> None:
        """Group 3 (0xF7 /n): 2 not, 3 neg, 4 mul, 6 div, 7 idiv."""
        self.enc(b"\xf7", n, rm, w)

    def sign_extend_ax(self, w: bool) -> None:
        """``cdq`` / ``cqo``."""
        if w:
            self.b.append(0x48)
        self.b.append(0x99)

    def setcc(self, cc: int, reg: int) -> None:
        self.enc(bytes((0x0F, 0x90 | cc)), 0, reg, byte_regs=True)

    def movzx8(self, dst: int, src: int | tuple) -> None:
        self.enc(b"\x0f\xb6", dst, src, byte_regs=True)

    def movzx16(self, dst: int, src: int | tuple) -> None:
        self.enc(b"\x0f\xb7", dst, src)

    def movsx8(self, dst: int, src: int | tuple, w: bool) -> None:
        self.enc(b"\x0f\xbe", dst, src, w, byte_regs=True)

    def movsx16(self, dst: int, src: int | tuple, w: bool) -> None:
        self.enc(b"\x0f\xbf", dst, src, w)

    def movsxd(self, dst: int, src: int | tuple) -> None:
        self.enc(b"\x63", dst, src, True)

    def cmov(self, cc: int, dst: int, src: int | tuple, w: bool) -> None:
        self.enc(bytes((0x0F, 0x40 | cc)), dst, src, w)

    def bitcount(self, kind: int, dst: int, src: int | tuple, w: bool) -> None:
        """``popcnt`` (0xB8), ``tzcnt`` (0xBC), ``lzcnt`` (0xBD)."""
        self.enc(bytes((0x0F, kind)), dst, src, w, pfx=b"\xf3")

    def bt_imm(self, n: int, dst: int, imm: int, w: bool) -> None:
        """0F BA /n ib: 5 bts, 6 btr, 7 btc."""
        self.enc(b"\x0f\xba", n, dst, w)
        self.b.append(imm)

    def call(self, rm: int | tuple) -> None:
        self.enc(b"\xff", 2, rm)

    def jmp_rm(self, rm: int | tuple) -> None:
        self.enc(b"\xff", 4, rm)

    # -- SSE ----------------------------------------------------------------------------
    def sse(self, pfx: bytes, op: int, dst: int, src: int | tuple, w: bool = False) -> None:
        """``pfx 0F op /r`` (movss/movsd 0x10, arithmetic 0x51-0x5F, ucomis 0x2E, ...)."""
        self.enc(bytes((0x0F, op)), dst, src, w, pfx=pfx)

    def movd_to_xmm(self, xmm: int, src: int | tuple, w: bool) -> None:
        self.enc(b"\x0f\x6e", xmm, src, w, pfx=b"\x66")

    def movd_from_xmm(self, dst: int | tuple, xmm: int, w: bool) -> None:
        self.enc(b"\x0f\x7e", xmm, dst, w, pfx=b"\x66")

    def round_(self, f64: bool, dst: int, src: int | tuple, mode: int) -> None:
        self.enc(b"\x0f\x3a" + (b"\x0b" if f64 else b"\x0a"), dst, src, pfx=b"\x66")
        self.b.append(mode)
