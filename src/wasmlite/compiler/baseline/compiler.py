"""The single-pass function compiler of the baseline tier (see ``__init__.py``).

Every wasm value lives in an 8-byte frame slot: locals at fixed slots, operand-stack
entry ``k`` at the ``k``-th stack slot.  Constants stay virtual on the compile-time
operand stack (``Const``) until something needs them in a slot (a control-flow merge,
a local) or folds them into an instruction's immediate.  No value lives in a register
across wasm instructions, so calls and merges need no spilling; an instruction loads
its operands into scratch registers (``rax rcx rdx``, ``xmm0 xmm1``), computes, and
stores its result into its slot.  i32 values only ever read the low 4 bytes of a
slot (32-bit loads zero-extend), so garbage in the upper half is harmless.

Frame (``rbp``-relative)::

    rbp+16+8k   stack arguments (SysV)
    rbp+8       return address
    rbp         caller's rbp
    rbp-8       vmctx
    rbp-16      VMMemory* of memory 0     rbp-24   its base
    rbp-32      the fuel counter (Config.consume_fuel)
    rbp-40      scratch (an operand kept across a builtin call)
    rbp-48      the caller's r15 (r15 holds memory 0's base while the function runs)
    rbp-56-8i   local i
    below       operand stack slots, then the outgoing stack arguments at rsp
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

from ...binary import opcodes as op
from ...environ import vmoffsets as vo
from ...environ.module import F32, F64, FUNCREF, I32, I64, V128, ModuleInfo
from ..translate import (
    FUEL_BULK,
    FUEL_BULK_SMALL,
    FUEL_FLUSH_BEFORE,
    FUEL_FREE,
    FUEL_SAVE_BEFORE,
    OSR_LINE,
    OSR_RETRY,
    ST_BADCONV,
    ST_DIV0,
    ST_INTERRUPT,
    ST_NULL,
    ST_OOB,
    ST_OVERFLOW,
    ST_SIG,
    ST_STACK,
    ST_TABLE_OOB,
    ST_UNREACHABLE,
    TRUNCS,
    code_start,
)
from . import asm as A
from .asm import R8, R9, R11, R15, RAX, RBP, RCX, RDI, RDX, RSI, RSP, mem
from .simd import SIMD_OPS, op_simd, vcopy, vload, vpush

INT_ARGS = (RSI, RDX, RCX, R8, R9)   # after rdi = vmctx
_PIN_REGS = (A.RBX, A.R12, A.R13, A.R14)
CONST, SLOT, LOCAL = 0, 1, 2
FLOATS = (F32, F64)
BLOCK, LOOP, IF = 0, 1, 2
F3, F2, P66 = b"\xf3", b"\xf2", b"\x66"

_INT_BIN = {
    op.I32_ADD: (A.ADD, False), op.I32_SUB: (A.SUB, False), op.I32_AND: (A.AND, False),
    op.I32_OR: (A.OR, False), op.I32_XOR: (A.XOR, False),
    op.I64_ADD: (A.ADD, True), op.I64_SUB: (A.SUB, True), op.I64_AND: (A.AND, True),
    op.I64_OR: (A.OR, True), op.I64_XOR: (A.XOR, True),
}
_INT_CMP = {
    op.I32_EQ: A.CC_E, op.I32_NE: A.CC_NE, op.I32_LT_S: A.CC_L, op.I32_LT_U: A.CC_B,
    op.I32_GT_S: A.CC_G, op.I32_GT_U: A.CC_A, op.I32_LE_S: A.CC_LE, op.I32_LE_U: A.CC_BE,
    op.I32_GE_S: A.CC_GE, op.I32_GE_U: A.CC_AE,
}
_I64_CMP = {op.I64_EQ - op.I32_EQ + k: v for k, v in _INT_CMP.items()}
_SHIFTS = {
    op.I32_SHL: (A.SHL, False), op.I32_SHR_S: (A.SAR, False), op.I32_SHR_U: (A.SHR, False),
    op.I32_ROTL: (A.ROL, False), op.I32_ROTR: (A.ROR, False),
    op.I64_SHL: (A.SHL, True), op.I64_SHR_S: (A.SAR, True), op.I64_SHR_U: (A.SHR, True),
    op.I64_ROTL: (A.ROL, True), op.I64_ROTR: (A.ROR, True),
}
_BITCOUNT = {op.I32_CLZ: (0xBD, False), op.I32_CTZ: (0xBC, False),
             op.I32_POPCNT: (0xB8, False), op.I64_CLZ: (0xBD, True),
             op.I64_CTZ: (0xBC, True), op.I64_POPCNT: (0xB8, True)}
# float binary: opcode -> (sse op, f64)
_FBIN = {op.F32_ADD: (0x58, False), op.F32_SUB: (0x5C, False), op.F32_MUL: (0x59, False),
         op.F32_DIV: (0x5E, False), op.F64_ADD: (0x58, True), op.F64_SUB: (0x5C, True),
         op.F64_MUL: (0x59, True), op.F64_DIV: (0x5E, True)}
# float compare: opcode -> (f64, swap operands, condition)  (eq/ne handled apart)
_FCMP = {op.F32_LT: (False, True, A.CC_A), op.F32_GT: (False, False, A.CC_A),
         op.F32_LE: (False, True, A.CC_AE), op.F32_GE: (False, False, A.CC_AE),
         op.F64_LT: (True, True, A.CC_A), op.F64_GT: (True, False, A.CC_A),
         op.F64_LE: (True, True, A.CC_AE), op.F64_GE: (True, False, A.CC_AE)}
_FROUND = {op.F32_CEIL: (False, 2), op.F32_FLOOR: (False, 1), op.F32_TRUNC: (False, 3),
           op.F32_NEAREST: (False, 0), op.F64_CEIL: (True, 2), op.F64_FLOOR: (True, 1),
           op.F64_TRUNC: (True, 3), op.F64_NEAREST: (True, 0)}
# loads: opcode -> (kind, result type); stores: opcode -> size
_LOADS = {
    op.I32_LOAD: ("d", I32), op.I64_LOAD: ("q", I64), op.F32_LOAD: ("d", F32),
    op.F64_LOAD: ("q", F64), op.I32_LOAD8_S: ("sb", I32), op.I32_LOAD8_U: ("zb", I32),
    op.I32_LOAD16_S: ("sw", I32), op.I32_LOAD16_U: ("zw", I32),
    op.I64_LOAD8_S: ("sbq", I64), op.I64_LOAD8_U: ("zb", I64),
    op.I64_LOAD16_S: ("swq", I64), op.I64_LOAD16_U: ("zw", I64),
    op.I64_LOAD32_S: ("sdq", I64), op.I64_LOAD32_U: ("d", I64),
}
_LOAD_SIZE = {"d": 4, "q": 8, "sb": 1, "zb": 1, "sw": 2, "zw": 2, "sbq": 1, "swq": 2,
              "sdq": 4}
_STORES = {op.I32_STORE: 4, op.I64_STORE: 8, op.F32_STORE: 4, op.F64_STORE: 8,
           op.I32_STORE8: 1, op.I32_STORE16: 2, op.I64_STORE8: 1, op.I64_STORE16: 2,
           op.I64_STORE32: 4}
_CONVERT = {  # opcode -> (source is i64, source unsigned, f64 result)
    op.F32_CONVERT_I32_S: (False, False, False), op.F32_CONVERT_I32_U: (False, True, False),
    op.F32_CONVERT_I64_S: (True, False, False), op.F32_CONVERT_I64_U: (True, True, False),
    op.F64_CONVERT_I32_S: (False, False, True), op.F64_CONVERT_I32_U: (False, True, True),
    op.F64_CONVERT_I64_S: (True, False, True), op.F64_CONVERT_I64_U: (True, True, True),
}
_SAT = {
    op.I32_TRUNC_SAT_F32_S: op.I32_TRUNC_F32_S, op.I32_TRUNC_SAT_F32_U: op.I32_TRUNC_F32_U,
    op.I32_TRUNC_SAT_F64_S: op.I32_TRUNC_F64_S, op.I32_TRUNC_SAT_F64_U: op.I32_TRUNC_F64_U,
    op.I64_TRUNC_SAT_F32_S: op.I64_TRUNC_F32_S, op.I64_TRUNC_SAT_F32_U: op.I64_TRUNC_F32_U,
    op.I64_TRUNC_SAT_F64_S: op.I64_TRUNC_F64_S, op.I64_TRUNC_SAT_F64_U: op.I64_TRUNC_F64_U,
}


_opcode = operator.itemgetter(0)


def _fbits(x: float, f64: bool) -> int:
    import struct

    if f64:
        return struct.unpack("<Q", struct.pack("<d", x))[0]
    return struct.unpack("<I", struct.pack("<f", x))[0]


class Frame:
    """A control frame (block, loop, if, or the function body)."""

    __slots__ = ("kind", "height", "params", "results", "label", "else_label",
                 "has_else", "targeted")

    def __init__(self, kind: int, height: int, params: tuple, results: tuple,
                 label: int) -> None:
        self.kind = kind
        self.height = height
        self.params = params
        self.results = results
        self.label = label          # end label (block/if/function) or header (loop)
        self.else_label = -1
        self.has_else = False
        self.targeted = False       # some branch goes to the end label


class Env:
    """What the compiled code depends on beyond the module: addresses of the trap
    routine, the hotness counters/callback/slots (or None), libc routines, and the
    bounds-check mode."""

    def __init__(self, trap_addr: int, guard_pages: bool,
                 hotness: tuple[int, int, int] | None, memmove: int, memset: int,
                 consume_fuel: bool = False, epoch_interruption: bool = False,
                 osr: tuple | None = None) -> None:
        #: on-stack replacement at loop headers: ``(loop callback, osr_table(defidx,
        #: loop offsets) -> table address, address of the u64 transfer counter)``, as
        #: for the LLVM first tier (``LazyCode.osr``); only with ``hotness``
        self.osr = osr if hotness is not None else None
        self.consume_fuel = consume_fuel
        self.epoch_interruption = epoch_interruption
        self.trap_addr = trap_addr
        self.guard_pages = guard_pages
        self.hotness = hotness
        self.memmove = memmove
        self.memset = memset


class ModuleShapes:
    """What every function of a module needs from it, computed once per module
    (:meth:`of`; ``ModuleInfo``'s index-space lists are rebuilt at each call, and
    building them per batch of one function cost 0.1-0.2 ms on regex's 900
    functions)."""

    __slots__ = ("info", "offsets", "func_types", "global_types", "num_imported_funcs",
                 "has_memory")

    def __init__(self, info: ModuleInfo) -> None:
        self.info = info
        self.offsets = vo.VMOffsets.for_module(info)
        self.func_types = [info.types[t] for t in info.func_typeidx()]
        self.global_types = info.global_types()
        self.num_imported_funcs = info.num_imported_funcs
        self.has_memory = bool(info.memory_types())

    @classmethod
    def of(cls, info: ModuleInfo) -> ModuleShapes:
        """The shapes of ``info``, kept on it (a module's info does not change once
        validated)."""
        shapes = info.__dict__.get("_baseline_shapes")
        if shapes is None:
            shapes = info.__dict__["_baseline_shapes"] = cls(info)
        return shapes


class FunctionCompiler:
    """Compiles one function body to position-independent x86-64 code (``self.a.b``)
    with its pc → module offset table (``self.pcs``: sorted ``(pc, offset)``)."""

    def __init__(self, module: ModuleShapes, defidx: int, body: list[tuple],
                 env: Env) -> None:
        info = module.info
        self.info = info
        self.vo = module.offsets
        self.func_types = module.func_types
        self.global_types = module.global_types
        self.env = env
        self.nimp = module.num_imported_funcs
        self.defidx = defidx
        self.body = body
        self.ft = module.func_types[self.nimp + defidx]
        code = info.codes[defidx]
        self.start_offset = code_start(info.bytes, code.offset)
        lt = list(self.ft.params)
        for count, t in code.locals:
            lt.extend([t] * count)
        self.local_types = lt
        self.a = A.Asm()
        self.pcs: list[tuple[int, int]] = []
        self.stack: list[tuple[int, int, int]] = []   # (CONST|SLOT, type, bits)
        self.max_depth = 0
        self.max_out = 0
        self.frames: list[Frame] = []
        self.traps: dict[tuple[int | None, int], int] = {}   # (status, offset) -> label
        self.cold: list[tuple[int, int, int]] = []           # hot-tick stubs
        #: loop headers' OSR stubs: (label, back label, loop offset, operand stack)
        self.osr_cold: list[tuple[int, int, int, list[tuple[int, int, int]]]] = []
        #: this function's table of OSR entries and each loop's index in it
        self.osr_table = 0
        self.osr_index: dict[int, int] = {}
        if env.osr is not None:
            loops = [off for opcode, _imm, off in body if opcode == op.LOOP]
            if loops:
                self.osr_table = env.osr[1](defidx, loops)
                self.osr_index = {off: k for k, off in enumerate(loops)}
        self.offset = self.start_offset
        self.reachable = True
        self.has_memory = module.has_memory
        #: integer locals kept in callee-saved registers (the most used first)
        self.pinned = self._pin(body, lt)
        #: bytes per frame slot: 16 in a function with v128 values (``simd.py``)
        self.ss = 16 if (V128 in lt or (body and max(map(_opcode, body)) >= 0xFD000)) \
            else 8
        #: offset below rbp of local 0's slot (after the fixed slots and the saved
        #: pinned registers; a slot spans ``ss`` bytes upwards from its offset)
        self.base_off = 48 + 8 * len(self.pinned) + self.ss
        self.fuel = env.consume_fuel
        #: what the instruction being translated emitted last (a result store, a
        #: compare), and what the previous one did: peephole fusion
        self.emitted: tuple | None = None
        self.prev: tuple | None = None
        #: fuel cost of the instructions since the last flush into the fuel slot
        self.fuel_pending = 0

    @staticmethod
    def _pin(body: list[tuple], lt: list[int]) -> dict[int, int]:
        """Up to four integer locals used at least twice, by use count, each with its
        callee-saved register (rbx, r12, r13, r14)."""
        counts: dict[int, int] = {}
        get = counts.get
        lo, hi = op.LOCAL_GET, op.LOCAL_TEE     # local.get, local.set, local.tee
        for opcode, imm, _off in body:
            if lo <= opcode <= hi:
                counts[imm] = get(imm, 0) + 1
        best = sorted((c, -i) for i, c in counts.items()
                      if c >= 2 and lt[i] not in FLOATS and lt[i] != V128)[-4:]
        return {-ni: r for (_c, ni), r in zip(reversed(best), _PIN_REGS, strict=False)}

    # -- slots ----------------------------------------------------------------------------
    def local_slot(self, i: int) -> tuple | int:
        """Where local ``i`` lives: its pinned register, or its frame slot."""
        r = self.pinned.get(i)
        if r is not None:
            return r
        return (RBP, -1, 0, -self.base_off - self.ss * i)

    def local_mem(self, i: int) -> tuple:
        """The frame slot of local ``i`` (unused when it is pinned)."""
        return (RBP, -1, 0, -self.base_off - self.ss * i)

    def slot(self, k: int) -> tuple:
        return (RBP, -1, 0, -self.base_off - self.ss * (len(self.local_types) + k))

    def push_slot(self, t: int) -> tuple:
        """Push a slot entry; return its slot (the caller stores the value there)."""
        k = len(self.stack)
        self.stack.append((SLOT, t, 0))
        if k + 1 > self.max_depth:
            self.max_depth = k + 1
        return self.slot(k)

    def push_const(self, t: int, bits: int) -> None:
        self.stack.append((CONST, t, bits))
        if len(self.stack) > self.max_depth:
            self.max_depth = len(self.stack)

    def load(self, e: tuple, k: int, reg: int, w: bool = True) -> None:
        """Load entry ``e`` (at stack index ``k``) into integer register ``reg``."""
        if e[0] == CONST:
            self.a.mov_imm(reg, e[2], w)
        elif e[0] == SLOT:
            self.a.mov(reg, self.slot(k), w)
        else:
            self.a.mov(reg, self.local_slot(e[2]), w)

    def pop_i32_into(self, *regs: int) -> None:
        """Pop the top ``len(regs)`` i32 entries into ``regs`` (deepest first)."""
        st = self.stack
        base = len(st) - len(regs)
        for k, reg in enumerate(regs):
            self.load(st[base + k], base + k, reg, False)
        del st[base:]

    def src(self, e: tuple, k: int) -> tuple:
        """The memory operand of non-constant entry ``e`` at stack index ``k``."""
        return self.slot(k) if e[0] == SLOT else self.local_slot(e[2])

    def pop_to(self, reg: int, w: bool = True) -> tuple:
        k = len(self.stack) - 1
        e = self.stack.pop()
        self.take(e, k, reg, w)
        return e

    def _fresh(self, e: tuple, k: int, xmm: bool) -> tuple | None:
        """The store record of slot entry ``e`` at index ``k`` when the last code
        emitted is that store (nothing since, no label bound at its end)."""
        rec = self.emitted
        if (e[0] == SLOT and rec is not None and rec[0] == "store" and rec[3] == k
                and rec[6] == xmm and rec[2] == len(self.a.b)
                and self.a.last_bind < rec[2]):
            return rec
        return None

    def take(self, e: tuple, k: int, reg: int, w: bool = True) -> None:
        """Load entry ``e`` (index ``k``), consumed by the instruction, into integer
        register ``reg``; when its value was just stored from a register the store is
        taken back and the register copied (32-bit moves zero-extend as loads do)."""
        rec = self._fresh(e, k, False)
        if rec is None:
            self.load(e, k, reg, w)
            return
        self.rewind(rec[1])
        self.emitted = None
        if reg != rec[4] or not w:
            self.a.mov(reg, rec[4], w)

    def ftake(self, e: tuple, k: int, xmm: int, f64: bool) -> None:
        """As :meth:`take` for a float entry into ``xmm``."""
        rec = self._fresh(e, k, True)
        if rec is None or rec[4] != xmm:
            self.fload(e, k, xmm, f64)
            return
        self.rewind(rec[1])
        self.emitted = None

    def fload(self, e: tuple, k: int, xmm: int, f64: bool) -> None:
        if e[0] == CONST:
            self.a.mov_imm(RAX, e[2], f64)
            self.a.movd_to_xmm(xmm, RAX, f64)
        else:
            self.a.sse(F2 if f64 else F3, 0x10, xmm, self.src(e, k))

    def fpop(self, xmm: int, f64: bool) -> None:
        k = len(self.stack) - 1
        self.ftake(self.stack.pop(), k, xmm, f64)

    def fstore(self, t: int, xmm: int) -> None:
        """Push a result from ``xmm`` (recorded for :meth:`op_local_set`)."""
        f64 = t == F64
        start = len(self.a.b)
        self.a.sse(F2 if f64 else F3, 0x11, xmm, self.push_slot(t))
        self.emitted = ("store", start, len(self.a.b), len(self.stack) - 1, xmm,
                        8 if f64 else 4, True)

    def istore(self, t: int, reg: int) -> None:
        """Push a result from ``reg`` (recorded for :meth:`op_local_set`)."""
        size = 4 if t == I32 or t == F32 else 8
        start = len(self.a.b)
        self.a.store(self.push_slot(t), reg, size)
        self.emitted = ("store", start, len(self.a.b), len(self.stack) - 1, reg, size,
                        False)

    def store_const(self, dst: tuple, t: int, bits: int) -> None:
        size = 4 if t == I32 or t == F32 else 8
        if not self.a.store_imm(dst, bits, size):
            self.a.mov_imm(RAX, bits)
            self.a.store(dst, RAX, 8)

    def move(self, src: int, dst: int) -> None:
        """Put the value of stack entry ``src`` into slot ``dst``."""
        e = self.stack[src]
        if e[1] == V128:
            if e[0] != SLOT or src != dst:
                vcopy(self, e, src, self.slot(dst))
        elif e[0] == CONST:
            self.store_const(self.slot(dst), e[1], e[2])
        elif e[0] == LOCAL or src != dst:
            self.a.mov(RAX, self.src(e, src))
            self.a.store(self.slot(dst), RAX)

    def materialize(self, start: int) -> None:
        """Entries ``start..`` into their own slots."""
        st = self.stack
        for k in range(start, len(st)):
            e = st[k]
            if e[0] != SLOT:
                self.move(k, k)
                st[k] = (SLOT, e[1], 0)

    def materialize_locals(self, local: int = -1) -> None:
        """Entries that read a local (``local``, or any) into their own slots."""
        st = self.stack
        for k in range(len(st)):
            e = st[k]
            if e[0] == LOCAL and (local < 0 or e[2] == local):
                self.move(k, k)
                st[k] = (SLOT, e[1], 0)

    # -- traps ----------------------------------------------------------------------------
    def trap_label(self, status: int | None) -> int:
        key = (status, self.offset)
        lab = self.traps.get(key)
        if lab is None:
            lab = self.traps[key] = self.a.label()
        return lab

    def trap_if(self, cc: int, status: int | None) -> None:
        self.a.jcc(cc, self.trap_label(status))

    # -- the function ---------------------------------------------------------------------
    def compile(self) -> None:
        a = self.a
        ft = self.ft
        a.b += b"\x55\x48\x89\xe5"          # push rbp; mov rbp, rsp
        self.pcs.append((0, self.start_offset))
        a.b += b"\x48\x8d\x84\x24"          # lea rax, [rsp - frame]
        frame_at = len(a.b)
        a.b += b"\0\0\0\0"
        a.b += b"\x64\x48\x3b\x04\x25\x70\x00\x00\x00"   # cmp rax, fs:[0x70]
        stack_trap = a.label()
        a.jcc(A.CC_B, stack_trap)
        a.b += b"\x48\x81\xec"              # sub rsp, frame
        frame_at2 = len(a.b)
        a.b += b"\0\0\0\0"
        a.store(mem(RBP, -8), RDI)
        for j, r in enumerate(self.pinned.values()):
            a.store(mem(RBP, -56 - 8 * j), r)
        ni = nf = ns = 0
        for i, t in enumerate(ft.params):
            dst = self.local_slot(i)
            if t == V128:      # in xmm0-7 (unsupported_reason: never on the stack)
                a.enc(b"\x0f\x7f", nf, dst, pfx=F3)
                nf += 1
                continue
            if t in FLOATS:
                if nf < 8:
                    a.sse(F2, 0x11, nf, dst)
                    nf += 1
                    continue
            elif ni < 5:
                a.store(dst, INT_ARGS[ni])
                ni += 1
                continue
            a.mov(RAX, mem(RBP, 16 + 8 * ns))
            a.store(dst, RAX)
            ns += 1
        nparams = len(ft.params)
        nl = len(self.local_types) - nparams
        if nl:
            if nl <= 8 and self.ss == 8:
                a.mov_imm(RAX, 0)
                for i in range(nparams, len(self.local_types)):
                    a.store(self.local_slot(i), RAX)
            else:
                a.lea(RDI, self.local_mem(len(self.local_types) - 1))
                a.mov_imm(RCX, nl * self.ss // 8)
                a.mov_imm(RAX, 0)
                a.b += b"\xf3\x48\xab"      # rep stosq
                for i, r in self.pinned.items():
                    if i >= nparams:
                        a.mov_imm(r, 0)
        if self.has_memory:
            a.mov(RDI, mem(RBP, -8))
            a.mov(RAX, mem(RDI, self.vo.memory(0)))
            a.store(mem(RBP, -16), RAX)
            a.mov(RAX, mem(RAX, vo.MEMORY_BASE))
            a.store(mem(RBP, -24), RAX)
            a.store(mem(RBP, -48), R15)
            a.mov(R15, RAX)
        if self.fuel:
            self.fuel_reload()
            self.fuel_pending = 1
            self.fuel_check()
        if self.env.epoch_interruption:
            self.epoch_check()
        if self.env.hotness is not None:
            self.hot_tick()
        end = a.label()
        self.frames.append(Frame(BLOCK, 0, (), ft.results, end))
        self.translate()
        if self.frames:
            self.close_frame()
        # epilogue (the function frame's end label was bound by close_frame)
        if self.reachable:
            self.emit_return()
        # cold code: traps and hot-tick callbacks
        for (status, offset), lab in self.traps.items():
            a.bind(lab)
            self.pcs.append((len(a.b), offset))
            if status is None:
                a.mov(RSI, RAX, False)
            else:
                a.mov_imm(RSI, status, False)
            a.mov(RDI, mem(RBP, -8))
            a.mov(RDI, mem(RDI, vo.VMCTX_STORE_CTX))
            a.mov_imm(RAX, self.env.trap_addr)
            a.call(RAX)
        for lab, back, offset in self.cold:
            a.bind(lab)
            self.pcs.append((len(a.b), offset))
            _counters, callback, slots = self.env.hotness  # type: ignore[misc]
            a.mov_imm(RDI, slots + 8 * self.defidx)
            a.mov_imm(RAX, callback)
            a.call(RAX)
            a.jmp(back)
        if self.osr_cold:
            tail = a.label()
            depth = max(len(c[3]) for c in self.osr_cold)
            size = (16 * max(len(self.local_types) + depth, 1) + 15) & ~15
            for lab, back, offset, stack in self.osr_cold:
                self.osr_stub(lab, back, offset, stack, size, tail)
            self.osr_transfer(tail)
        a.bind(stack_trap)
        self.pcs.append((len(a.b), self.start_offset))
        a.mov(RDI, mem(RDI, vo.VMCTX_STORE_CTX))     # rdi is still vmctx here
        a.mov_imm(RSI, ST_STACK, False)
        a.mov_imm(RAX, self.env.trap_addr)
        a.call(RAX)
        ss = self.ss
        frame = (self.base_off - ss + ss * (len(self.local_types) + self.max_depth)
                 + 8 * self.max_out)
        frame = (frame + 15) & ~15
        a.b[frame_at:frame_at + 4] = (-frame & 0xFFFFFFFF).to_bytes(4, "little")
        a.b[frame_at2:frame_at2 + 4] = frame.to_bytes(4, "little")

    def emit_return(self) -> None:
        a = self.a
        res = self.ft.results
        if self.fuel:
            self.fuel_save()
        if res:
            t = res[0]
            k = len(self.stack) - 1
            if t == V128:
                vload(self, self.stack[k], k, 0)
            elif t in FLOATS:
                self.fload(self.stack[k], k, 0, t == F64)
            else:
                self.take(self.stack[k], k, RAX)
        if self.has_memory:
            a.mov(R15, mem(RBP, -48))
        for j, r in enumerate(self.pinned.values()):
            a.mov(r, mem(RBP, -56 - 8 * j))
        a.b += b"\xc9\xc3"                   # leave; ret

    def hot_tick(self, loop: bool = False) -> None:
        """Count one call or loop iteration against the function's hotness counter;
        at 0 the cold stub calls the hotness callback — at a loop header with OSR
        (``loop``), at ``<= 0`` the OSR stub (:meth:`osr_stub`)."""
        counters, _cb, _slots = self.env.hotness  # type: ignore[misc]
        a = self.a
        a.mov_imm(RAX, counters + 4 * self.defidx)
        a.alu_imm(A.SUB, mem(RAX), 1, False)
        stub, back = a.label(), a.label()
        if loop and self.offset in self.osr_index:
            a.jcc(A.CC_LE, stub)
            a.bind(back)
            # at a loop header every entry is a constant or in its slot
            self.osr_cold.append((stub, back, self.offset, list(self.stack)))
            return
        a.jcc(A.CC_E, stub)
        a.bind(back)
        self.cold.append((stub, back, self.offset))

    def osr_stub(self, lab: int, back: int, offset: int,
                 stack: list[tuple[int, int, int]], size: int, tail: int) -> None:
        """The cold path of a loop header whose counter ran out (as the LLVM first
        tier's ``osr_tick``): when the loop's entry in the OSR table is an address,
        reserve ``size`` bytes of 16-byte slots below the frame, copy the operand
        stack into the slots after the locals' and jump to the function's shared
        transfer (:meth:`osr_transfer`) with the entry in ``rax``; when it is 0, call
        the loop callback (which queues the entry); then wait ``OSR_RETRY`` ticks.
        A transfer that would not fit on the wasm stack is not made."""
        a = self.a
        loop_cb, _table, _transfers = self.env.osr  # type: ignore[misc]
        counters, _cb, slots = self.env.hotness  # type: ignore[misc]
        a.bind(lab)
        self.pcs.append((len(a.b), offset))
        transfer, retry = a.label(), a.label()
        entry = self.osr_table + 8 * self.osr_index[offset]
        a.mov_imm(RAX, entry)
        a.mov(RAX, mem(RAX))
        a.alu_imm(A.CMP, RAX, 1, True)
        a.jcc(A.CC_A, transfer)
        a.test(RAX, RAX, True)
        a.jcc(A.CC_NE, retry)
        a.mov_imm(RDI, slots + 8 * self.defidx)
        a.mov_imm(RSI, offset)
        a.mov_imm(RAX, loop_cb)
        a.call(RAX)
        a.bind(retry)
        a.mov_imm(RAX, counters + 4 * self.defidx)
        a.store_imm(mem(RAX), OSR_RETRY, 4)
        a.jmp(back)
        a.bind(transfer)
        a.lea(RCX, mem(RSP, -size - 4096))
        a.b += b"\x64\x48\x3b\x0c\x25\x70\x00\x00\x00"   # cmp rcx, fs:[0x70]
        a.jcc(A.CC_B, retry)
        if self.fuel:
            pending, self.fuel_pending = self.fuel_pending, 0
            self.fuel_save()        # uses rax and rcx: the entry is loaded again
            self.fuel_pending = pending
            a.mov_imm(RAX, entry)
            a.mov(RAX, mem(RAX))
        a.alu_imm(A.SUB, RSP, size, True)
        base = len(self.local_types)
        v128_const = False
        for k, e in enumerate(stack):
            if e[1] == V128:
                v128_const = v128_const or e[0] == CONST
                vcopy(self, e, k, mem(RSP, 16 * (base + k)))
                continue
            if e[0] == CONST:
                a.mov_imm(RCX, e[2])
            else:
                assert e[0] == SLOT, "a loop header reads no local from the stack"
                a.mov(RCX, self.slot(k))
            a.store(mem(RSP, 16 * (base + k)), RCX)
        if v128_const:
            # a v128 constant went through rax: load the entry again
            a.mov_imm(RAX, entry)
            a.mov(RAX, mem(RAX))
        a.jmp(tail)

    def osr_transfer(self, tail: int) -> None:
        """The transfer every OSR stub of the function ends in (emitted once, after
        them: at a loop header every local is in its home, pinned register or slot,
        whichever the loop): copy the locals into the first 16-byte slots at ``rsp``,
        count the transfer, call the entry in ``rax`` with ``(vmctx, rsp)`` and return
        what it returns.  The call's return address maps to ``OSR_LINE``, by which
        backtraces drop this frame."""
        a = self.a
        a.bind(tail)
        for i, t in enumerate(self.local_types):
            if t == V128:
                vcopy(self, (LOCAL, V128, i), -1, mem(RSP, 16 * i))
                continue
            src = self.local_slot(i)
            if not isinstance(src, int):
                a.mov(RCX, src)
                src = RCX
            a.store(mem(RSP, 16 * i), src)
        a.mov_imm(RCX, self.env.osr[2])  # type: ignore[index]
        a.alu_imm(A.ADD, mem(RCX), 1, True)
        a.mov(RDI, mem(RBP, -8))
        a.mov(RSI, RSP)
        self.pcs.append((len(a.b), OSR_LINE))
        a.call(RAX)
        if self.has_memory:
            a.mov(R15, mem(RBP, -48))
        for j, r in enumerate(self.pinned.values()):
            a.mov(r, mem(RBP, -56 - 8 * j))
        a.b += b"\xc9\xc3"                   # leave; ret (the result is in rax / xmm0)

    def op_local_set(self, i: int, tee: bool) -> None:
        """``local.set``/``local.tee``: entries still reading local ``i`` are copied to
        their slots first; a result the previous instruction just stored to its slot
        is stored to the local instead (the slot store is taken back)."""
        a = self.a
        st = self.stack
        k = len(st) - 1
        e = st[k]
        if e[0] == LOCAL and e[2] == i:
            if not tee:
                st.pop()
            return
        st.pop()
        self.materialize_locals(i)
        dst = self.local_slot(i)
        prev = self.prev
        if e[1] == V128:
            vcopy(self, e, k, dst)  # type: ignore[arg-type]
        elif e[0] == CONST:
            self.store_const(dst, e[1], e[2])
        elif (e[0] == SLOT and prev is not None and prev[0] == "store"
              and prev[2] == len(a.b) and prev[3] == k and a.last_bind < prev[2]):
            _kind, start, _end, _k, reg, size, xmm = prev
            self.rewind(start)
            if xmm:
                a.sse(F2 if size == 8 else F3, 0x11, reg, dst)
            else:
                a.store(dst, reg, size)
        else:
            a.mov(RAX, self.src(e, k))
            a.store(dst, RAX)
        if tee:
            st.append((LOCAL, e[1], i))

    def select_v128(self, c: tuple, b: tuple, e: tuple, k: int) -> None:
        """``select`` of two v128 entries ``e`` (at ``k - 2``) and ``b`` by ``c``
        (all three popped)."""
        a = self.a
        if c[0] == CONST:
            chosen, src = (e, k - 2) if c[2] & 0xFFFFFFFF else (b, k - 1)
            if chosen[0] == CONST:
                self.push_const(V128, chosen[2])
                return
            vload(self, chosen, src, 0)
        else:
            vload(self, e, k - 2, 0)
            vload(self, b, k - 1, 1)
            a.alu_imm(A.CMP, self.src(c, k), 0, False)
            keep = a.label()
            a.jcc(A.CC_NE, keep)
            a.enc(b"\x0f\x6f", 0, 1, pfx=F3)          # movdqu xmm0, xmm1
            a.bind(keep)
        vpush(self, 0)

    def rewind(self, pos: int) -> None:
        """Take back the code emitted from ``pos`` (by the previous instruction: no
        label, fixup or trap site lies there); the current instruction starts at
        ``pos``."""
        del self.a.b[pos:]
        pcs = self.pcs
        j = len(pcs) - 1
        while j >= 0 and pcs[j][0] > pos:
            pcs[j] = (pos, pcs[j][1])
            j -= 1

    # -- fuel and epochs (as the LLVM translator: compiler/translate.py) -------------------
    def fuel_before(self, opcode: int) -> None:
        if opcode not in FUEL_FREE:
            self.fuel_pending += 1
        if opcode in FUEL_SAVE_BEFORE:
            self.fuel_save()
        elif opcode in FUEL_FLUSH_BEFORE:
            self.fuel_flush()

    def fuel_add(self, amount_in_rax: bool = False) -> None:
        """fuel += pending (+ rax)."""
        a = self.a
        pending = self.fuel_pending
        self.fuel_pending = 0
        if amount_in_rax:
            if pending:
                a.alu_imm(A.ADD, RAX, pending, True)
            a.alu_mr(A.ADD, mem(RBP, -32), RAX, True)
        elif pending:
            a.alu_imm(A.ADD, mem(RBP, -32), pending, True)

    def fuel_flush(self) -> None:
        if self.fuel_pending:
            self.fuel_add()

    def fuel_save(self) -> None:
        self.fuel_flush()
        a = self.a
        a.mov(RAX, mem(RBP, -32))
        a.mov(RCX, mem(RBP, -8))
        a.mov(RCX, mem(RCX, vo.VMCTX_STORE_CTX))
        a.store(mem(RCX, vo.STORE_FUEL), RAX)

    def fuel_reload(self) -> None:
        a = self.a
        a.mov(RAX, mem(RBP, -8))
        a.mov(RAX, mem(RAX, vo.VMCTX_STORE_CTX))
        a.mov(RAX, mem(RAX, vo.STORE_FUEL))
        a.store(mem(RBP, -32), RAX)

    def fuel_check(self, amount_in_rax: bool = False) -> None:
        """Add the pending cost (and ``rax``); when the counter is ``>= 0`` save it
        and call ``BUILTIN_OUT_OF_GAS`` (refuel and go on, or trap)."""
        self.fuel_add(amount_in_rax)
        a = self.a
        ok = a.label()
        a.alu_imm(A.CMP, mem(RBP, -32), 0, True)
        a.jcc(A.CC_L, ok)
        self.fuel_save()
        a.mov(RDI, mem(RBP, -8))
        a.mov(RAX, mem(RDI, vo.VMCTX_BUILTINS))
        a.call(mem(RAX, 8 * vo.BUILTIN_OUT_OF_GAS))
        a.test(RAX, RAX, False)
        self.trap_if(A.CC_NE, None)
        self.fuel_reload()
        a.bind(ok)

    def fuel_grow(self, h, imm) -> None:  # noqa: ANN001
        """memory.grow / table.grow: a successful grow also costs its delta, then
        fuel is checked."""
        a = self.a
        k = len(self.stack) - 1
        self.load(self.stack[k], k, RAX, False)
        a.store(mem(RBP, -40), RAX)
        h(imm)
        pending = self.fuel_pending
        k = len(self.stack) - 1
        fail, done = a.label(), a.label()
        a.alu_imm(A.CMP, self.slot(k), -1, False)
        a.jcc(A.CC_E, fail)
        a.mov(RAX, mem(RBP, -40))
        self.fuel_check(True)
        a.jmp(done)
        a.bind(fail)
        self.fuel_pending = pending
        self.fuel_add()
        a.bind(done)

    def fuel_bulk(self, h, imm) -> None:  # noqa: ANN001
        """Bulk operations also cost their length (the top operand): a small constant
        statically, otherwise checked before (if small) or after (if large)."""
        a = self.a
        k = len(self.stack) - 1
        e = self.stack[k]
        if e[0] == CONST:
            n = e[2] & 0xFFFFFFFF
            if n <= FUEL_BULK_SMALL:
                self.fuel_pending += n
                h(imm)
                return
            self.fuel_check()
            h(imm)
            a.mov_imm(RAX, n)
            self.fuel_check(True)
            return
        a.mov(RAX, self.src(e, k), False)
        a.store(mem(RBP, -40), RAX)
        a.mov_imm(RCX, 0)
        a.alu_imm(A.CMP, RAX, FUEL_BULK_SMALL, True)
        a.cmov(A.CC_A, RAX, RCX, True)
        self.fuel_check(True)
        h(imm)
        a.mov(RAX, mem(RBP, -40))
        a.mov_imm(RCX, 0)
        a.alu_imm(A.CMP, RAX, FUEL_BULK_SMALL, True)
        a.cmov(A.CC_BE, RAX, RCX, True)
        self.fuel_check(True)

    def epoch_check(self) -> None:
        """Trap "interrupt" once the engine's epoch reached the store's deadline."""
        a = self.a
        a.mov(RAX, mem(RBP, -8))
        a.mov(RAX, mem(RAX, vo.VMCTX_STORE_CTX))
        a.mov(RCX, mem(RAX, vo.STORE_EPOCH_PTR))
        a.mov(RCX, mem(RCX))
        a.alu(A.CMP, RCX, mem(RAX, vo.STORE_EPOCH_DEADLINE), True)
        self.trap_if(A.CC_AE, ST_INTERRUPT)

    # -- control flow ---------------------------------------------------------------------
    def branch(self, f: Frame) -> None:
        """Move the branch values of ``f`` into its slots (the jump follows)."""
        n = len(f.params) if f.kind == LOOP else len(f.results)
        top = len(self.stack) - n
        for i in range(n):
            self.move(top + i, f.height + i)
        if f.kind != LOOP:
            f.targeted = True

    def jump_to(self, f: Frame) -> None:
        self.branch(f)
        self.a.jmp(f.label)

    def close_frame(self) -> None:
        f = self.frames.pop()
        a = self.a
        n = len(f.results)
        if self.reachable:
            top = len(self.stack) - n
            for i in range(n):
                self.move(top + i, f.height + i)
        reach = self.reachable or f.targeted
        if f.kind == IF and not f.has_else:
            a.bind(f.else_label)
            reach = True
        if f.kind != LOOP:
            a.bind(f.label)
        del self.stack[f.height:]
        for t in f.results:
            self.push_slot(t)
        self.reachable = reach

    def block_sig(self, bt: int) -> tuple[tuple, tuple]:
        return self.info.blocktype_signature(bt)

    def op_block(self, bt: int, kind: int) -> None:
        params, results = self.block_sig(bt)
        h = len(self.stack) - len(params)
        self.materialize_locals()
        self.materialize(h)
        f = Frame(kind, h, params, results, self.a.label())
        self.frames.append(f)
        if kind == LOOP:
            self.a.bind(f.label)
            if self.fuel:
                self.fuel_check()
            if self.env.epoch_interruption:
                self.epoch_check()
            if self.env.hotness is not None:
                self.hot_tick(loop=True)

    def op_if(self, bt: int) -> None:
        k = len(self.stack) - 1
        e = self.stack.pop()
        cc = self.fused_cc(e, k)   # the movs below keep the flags
        params, results = self.block_sig(bt)
        h = len(self.stack) - len(params)
        self.materialize_locals()
        self.materialize(h)
        f = Frame(IF, h, params, results, self.a.label())
        f.else_label = self.a.label()
        a = self.a
        if e[0] == CONST:
            if not e[2] & 0xFFFFFFFF:
                a.jmp(f.else_label)
        else:
            if cc is None:
                a.alu_imm(A.CMP, self.src(e, k), 0, False)
                cc = A.CC_NE
            a.jcc(cc ^ 1, f.else_label)
        self.frames.append(f)

    def op_else(self) -> None:
        f = self.frames[-1]
        if self.reachable:
            self.branch(f)
            self.a.jmp(f.label)
        del self.stack[f.height:]
        for t in f.params:
            self.push_slot(t)
        f.has_else = True
        self.a.bind(f.else_label)
        self.reachable = True

    def op_br(self, depth: int) -> None:
        self.jump_to(self.frames[-1 - depth])
        self.reachable = False

    def op_br_if(self, depth: int) -> None:
        f = self.frames[-1 - depth]
        k = len(self.stack) - 1
        e = self.stack.pop()
        a = self.a
        if e[0] == CONST:
            if e[2] & 0xFFFFFFFF:
                self.jump_to(f)
                self.reachable = False
            return
        cc = self.fused_cc(e, k)
        if cc is None:
            a.alu_imm(A.CMP, self.src(e, k), 0, False)
            cc = A.CC_NE
        n = len(f.params) if f.kind == LOOP else len(f.results)
        top = len(self.stack) - n
        if all(self.stack[top + i][0] == SLOT and top + i == f.height + i
               for i in range(n)):
            if f.kind != LOOP:
                f.targeted = True
            a.jcc(cc, f.label)
            return
        skip = a.label()
        a.jcc(cc ^ 1, skip)
        self.jump_to(f)
        a.bind(skip)

    def op_br_table(self, imm: tuple) -> None:
        targets, default = imm
        k = len(self.stack) - 1
        e = self.stack.pop()
        a = self.a
        if e[0] == CONST:
            i = e[2] & 0xFFFFFFFF
            self.op_br(targets[i] if i < len(targets) else default)
            return
        self.take(e, k, RAX, False)
        stubs: dict[int, int] = {}
        order = [*targets, default]
        for d in order:
            if d not in stubs:
                stubs[d] = a.label()
        a.alu_imm(A.CMP, RAX, len(targets), False)
        a.jcc(A.CC_AE, stubs[default])
        if targets:
            # lea rcx, [rip + table]; movsxd rax, [rcx + rax*4]; add rax, rcx; jmp rax
            a.b += b"\x48\x8d\x0d"
            lea_end = len(a.b) + 4
            a.b += b"\0\0\0\0"
            a.movsxd(RAX, mem(RCX, 0, RAX, 2))
            a.alu(A.ADD, RAX, RCX, True)
            a.jmp_rm(RAX)
            table = len(a.b)
            a.b[lea_end - 4:lea_end] = (table - lea_end).to_bytes(4, "little", signed=True)
            a.b += bytes(4 * len(targets))
            entries = list(targets)
        else:
            table = 0
            entries = []
        where: dict[int, list[int]] = {}
        for j, t in enumerate(entries):
            where.setdefault(t, []).append(j)
        for d, lab in stubs.items():
            a.bind(lab)
            rel = (len(a.b) - table).to_bytes(4, "little", signed=True)
            for j in where.get(d, ()):
                a.b[table + 4 * j:table + 4 * j + 4] = rel
            self.jump_to(self.frames[-1 - d])
        self.reachable = False

    # -- calls ----------------------------------------------------------------------------
    def call_args(self, params: tuple) -> None:
        """Load the ``params`` operands (popped) into argument registers and the
        outgoing area; leaves ``r11`` alone."""
        a = self.a
        n = len(params)
        base = len(self.stack) - n
        ni = nf = ns = 0
        for i, t in enumerate(params):
            k = base + i
            e = self.stack[k]
            if t == V128:      # in xmm0-7 (unsupported_reason: never on the stack)
                vload(self, e, k, nf)
                nf += 1
                continue
            if t in FLOATS:
                if nf < 8:
                    self.fload(e, k, nf, t == F64)
                    nf += 1
                    continue
            elif ni < 5:
                self.load(e, k, INT_ARGS[ni])
                ni += 1
                continue
            self.load(e, k, RAX)
            a.store(mem(RSP, 8 * ns), RAX)
            ns += 1
        if ns > self.max_out:
            self.max_out = ns
        del self.stack[base:]

    def call_results(self, results: tuple) -> None:
        if results:
            t = results[0]
            if t == V128:
                vpush(self, 0)
            elif t in FLOATS:
                self.fstore(t, 0)
            else:
                self.istore(t, RAX)

    def op_call(self, funcidx: int) -> None:
        ft = self.func_types[funcidx]
        a = self.a
        a.mov(RAX, mem(RBP, -8))
        a.mov(R11, mem(RAX, self.vo.func(funcidx)))
        self.call_args(ft.params)
        a.mov(RDI, mem(R11, vo.FUNCREF_VMCTX))
        a.call(mem(R11, vo.FUNCREF_FUNC_PTR))
        self.call_results(ft.results)
        if self.fuel:
            self.fuel_reload()

    def table_entry(self, tableidx: int) -> None:
        """Pop an i32 index, bounds-check it: ``rax`` = index, ``rcx`` = elements."""
        a = self.a
        self.pop_to(RAX, False)
        a.mov(RCX, mem(RBP, -8))
        a.mov(RCX, mem(RCX, self.vo.table(tableidx)))
        a.alu(A.CMP, RAX, mem(RCX, vo.TABLE_LENGTH), True)
        self.trap_if(A.CC_AE, ST_TABLE_OOB)
        a.mov(RCX, mem(RCX, vo.TABLE_ELEMENTS))

    def op_call_indirect(self, imm: tuple) -> None:
        typeidx, tableidx = imm
        ft = self.info.types[typeidx]
        a = self.a
        self.table_entry(tableidx)
        a.mov(R11, mem(RCX, 0, RAX, 3))
        a.test(R11, R11, True)
        self.trap_if(A.CC_E, ST_NULL)
        a.mov(RAX, mem(RBP, -8))
        a.mov(RAX, mem(RAX, self.vo.type_id(typeidx)))
        a.alu(A.CMP, RAX, mem(R11, vo.FUNCREF_TYPE_ID), True)
        self.trap_if(A.CC_NE, ST_SIG)
        self.call_args(ft.params)
        a.mov(RDI, mem(R11, vo.FUNCREF_VMCTX))
        a.call(mem(R11, vo.FUNCREF_FUNC_PTR))
        self.call_results(ft.results)
        if self.fuel:
            self.fuel_reload()

    def call_builtin(self, index: int, args: list[tuple[int, bool]],
                     check: bool) -> None:
        """Pop the operands and call builtin ``index`` with ``(vmctx, *args)``; ``args``
        are ``(immediate or None for the next popped operand, 64-bit)`` in order."""
        a = self.a
        n = sum(1 for v, _ in args if v is None)
        base = len(self.stack) - n
        k = base
        for j, (v, w) in enumerate(args):
            reg = INT_ARGS[j]
            if v is None:
                self.load(self.stack[k], k, reg, w)
                k += 1
            else:
                a.mov_imm(reg, v, False)
        del self.stack[base:]
        a.mov(RDI, mem(RBP, -8))
        a.mov(RAX, mem(RDI, vo.VMCTX_BUILTINS))
        a.call(mem(RAX, 8 * index))
        if check:
            a.test(RAX, RAX, False)
            self.trap_if(A.CC_NE, None)

    # -- memory ---------------------------------------------------------------------------
    def address(self, offset: int, size: int) -> tuple:
        """Pop an i32 address; bounds-check it (explicit mode); return the operand."""
        a = self.a
        k = len(self.stack) - 1
        e = self.stack.pop()
        if e[0] == CONST:
            ea = (e[2] & 0xFFFFFFFF) + offset
            if ea + size <= 0x7FFFFFFF:
                disp = ea
                if not self.env.guard_pages:
                    a.mov(RCX, mem(RBP, -16))
                    a.mov_imm(RDX, ea + size)
                    a.alu(A.CMP, RDX, mem(RCX, vo.MEMORY_LENGTH), True)
                    self.trap_if(A.CC_A, ST_OOB)
                return (R15, -1, 0, disp)
            a.mov_imm(RAX, ea)
            offset = 0
        else:
            self.take(e, k, RAX, False)
        if offset + size > 0x7FFFFFFF:
            a.mov_imm(RDX, offset)
            a.alu(A.ADD, RAX, RDX, True)
            offset = 0
        if not self.env.guard_pages:
            a.mov(RCX, mem(RBP, -16))
            a.lea(RDX, mem(RAX, offset + size))
            a.alu(A.CMP, RDX, mem(RCX, vo.MEMORY_LENGTH), True)
            self.trap_if(A.CC_A, ST_OOB)
        return (R15, RAX, 0, offset)

    def op_load(self, opcode: int, memarg: tuple) -> None:
        kind, t = _LOADS[opcode]
        m = self.address(memarg[1], _LOAD_SIZE[kind])
        a = self.a
        if kind == "d":
            a.mov(RAX, m, False)
        elif kind == "q":
            a.mov(RAX, m, True)
        elif kind == "zb":
            a.movzx8(RAX, m)
        elif kind == "zw":
            a.movzx16(RAX, m)
        elif kind == "sb":
            a.movsx8(RAX, m, False)
        elif kind == "sw":
            a.movsx16(RAX, m, False)
        elif kind == "sbq":
            a.movsx8(RAX, m, True)
        elif kind == "swq":
            a.movsx16(RAX, m, True)
        else:
            a.movsxd(RAX, m)
        self.istore(t, RAX)

    def op_store(self, opcode: int, memarg: tuple) -> None:
        size = _STORES[opcode]
        k = len(self.stack) - 1
        e = self.stack.pop()
        # the value goes to r8 (the address computation uses rax, rcx, rdx)
        self.take(e, k, R8, size == 8)
        m = self.address(memarg[1], size)
        self.a.store(m, R8, size)

    def op_memory_size(self, memidx: int) -> None:
        a = self.a
        a.mov(RAX, mem(RBP, -16))
        a.mov(RAX, mem(RAX, vo.MEMORY_LENGTH))
        a.shift_imm(A.SHR, RAX, 16, True)
        self.istore(I32, RAX)

    def op_memory_grow(self, memidx: int) -> None:
        self.call_builtin(vo.BUILTIN_MEMORY_GROW, [(memidx, False), (None, False)], False)
        self.istore(I32, RAX)
        # the base never moves (reserved up front), nothing to reload

    def range_check(self, start: int, n: int) -> None:
        """Trap "out of bounds memory access" when ``start + n > length`` (64-bit regs)."""
        a = self.a
        a.lea(RAX, mem(start, 0, n, 0))
        a.mov(R11, mem(RBP, -16))
        a.alu(A.CMP, RAX, mem(R11, vo.MEMORY_LENGTH), True)
        self.trap_if(A.CC_A, ST_OOB)

    def op_memory_copy(self, imm: tuple) -> None:
        a = self.a
        self.pop_i32_into(RDI, RSI, RDX)
        self.range_check(RSI, RDX)
        self.range_check(RDI, RDX)
        a.mov(RAX, mem(RBP, -24))
        a.alu(A.ADD, RDI, RAX, True)
        a.alu(A.ADD, RSI, RAX, True)
        a.mov_imm(RAX, self.env.memmove)
        a.call(RAX)

    def op_memory_fill(self, memidx: int) -> None:
        a = self.a
        self.pop_i32_into(RDI, RSI, RDX)
        self.range_check(RDI, RDX)
        a.mov(RAX, mem(RBP, -24))
        a.alu(A.ADD, RDI, RAX, True)
        a.movzx8(RSI, RSI)
        a.mov_imm(RAX, self.env.memset)
        a.call(RAX)

    # -- numerics ---------------------------------------------------------------------------
    def int_bin(self, kind: int, w: bool) -> None:
        st = self.stack
        k = len(st) - 1
        b = st.pop()
        a_ = st[-1]
        if b[0] == CONST and a_[0] == CONST:
            x, y = a_[2], b[2]
            r = {A.ADD: x + y, A.SUB: x - y, A.AND: x & y, A.OR: x | y, A.XOR: x ^ y}[kind]
            st[-1] = (CONST, a_[1], r & (0xFFFFFFFFFFFFFFFF if w else 0xFFFFFFFF))
            return
        st.pop()
        self.take(a_, k - 1, RAX, w)
        asm = self.a
        if b[0] == CONST:
            v = b[2]
            v = (v - (1 << 64) if v >> 63 else v) if w else (v - (1 << 32) if v >> 31 & 1
                                                              else v)
            if -0x80000000 <= v < 0x80000000:
                asm.alu_imm(kind, RAX, v, w)
            else:
                asm.mov_imm(RCX, b[2], w)
                asm.alu(kind, RAX, RCX, w)
        else:
            asm.alu(kind, RAX, self.src(b, k), w)
        self.istore(I64 if w else I32, RAX)

    def set_flag(self, cc: int) -> None:
        """Push the i32 0/1 of condition ``cc`` on the flags just set; recorded so that
        a ``br_if`` or ``if`` right after it branches on the flags instead."""
        a = self.a
        start = len(a.b)
        a.setcc(cc, RAX)
        a.movzx8(RAX, RAX)
        a.store(self.push_slot(I32), RAX, 4)
        self.emitted = ("cmp", start, len(a.b), len(self.stack) - 1, cc)

    def fused_cc(self, e: tuple, k: int) -> int | None:
        """When entry ``e`` (just popped from index ``k``) is the flag the previous
        instruction pushed: take its materialization back and return the condition
        (the flags are still set), else None."""
        prev = self.prev
        if (e[0] == SLOT and prev is not None and prev[0] == "cmp"
                and prev[2] == len(self.a.b) and prev[3] == k
                and self.a.last_bind < prev[2]):
            self.rewind(prev[1])
            return prev[4]
        return None

    def int_cmp(self, cc: int, w: bool) -> None:
        st = self.stack
        k = len(st) - 1
        b = st.pop()
        a_ = st.pop()
        asm = self.a
        self.take(a_, k - 1, RCX, w)
        if b[0] == CONST:
            v = b[2] & (0xFFFFFFFFFFFFFFFF if w else 0xFFFFFFFF)
            sv = v - (1 << 64) if (w and v >> 63) else (v - (1 << 32) if not w and v >> 31
                                                         else v)
            if -0x80000000 <= sv < 0x80000000:
                asm.alu_imm(A.CMP, RCX, sv, w)
            else:
                asm.mov_imm(RDX, v, w)
                asm.alu(A.CMP, RCX, RDX, w)
        else:
            asm.alu(A.CMP, RCX, self.src(b, k), w)
        self.set_flag(cc)

    def op_div(self, opcode: int) -> None:
        w = opcode >= op.I64_DIV_S
        rel = opcode - (op.I64_DIV_S if w else op.I32_DIV_S)
        signed = rel in (0, 2)
        rem = rel >= 2
        a = self.a
        self.pop_to(RCX, w)
        self.pop_to(RAX, w)
        a.test(RCX, RCX, w)
        self.trap_if(A.CC_E, ST_DIV0)
        if signed:
            do, done = a.label(), a.label()
            a.alu_imm(A.CMP, RCX, -1, w)
            a.jcc(A.CC_NE, do)
            if rem:
                a.mov_imm(RDX, 0)
                a.jmp(done)
            else:
                a.mov_imm(RDX, 1 << (63 if w else 31), w)
                a.alu(A.CMP, RAX, RDX, w)
                self.trap_if(A.CC_E, ST_OVERFLOW)
            a.bind(do)
            a.sign_extend_ax(w)
            a.unary(7, RCX, w)
            a.bind(done)
        else:
            a.mov_imm(RDX, 0)
            a.unary(6, RCX, w)
        self.istore(I64 if w else I32, RDX if rem else RAX)

    def fbin(self, sse_op: int, f64: bool) -> None:
        st = self.stack
        k = len(st) - 1
        b = st.pop()
        a_ = st.pop()
        p = F2 if f64 else F3
        self.ftake(a_, k - 1, 0, f64)
        if b[0] == CONST:
            self.fload(b, k, 1, f64)
            self.a.sse(p, sse_op, 0, 1)
        else:
            self.a.sse(p, sse_op, 0, self.src(b, k))
        self.fstore(F64 if f64 else F32, 0)

    def fminmax(self, is_max: bool, f64: bool) -> None:
        a = self.a
        p = F2 if f64 else F3
        self.fpop(1, f64)
        self.fpop(0, f64)
        pp = P66 if f64 else b""
        nan, diff, done = a.label(), a.label(), a.label()
        a.sse(pp, 0x2E, 0, 1)                     # ucomis xmm0, xmm1
        a.jcc(A.CC_P, nan)
        a.jcc(A.CC_NE, diff)
        a.sse(b"", 0x54 if is_max else 0x56, 0, 1)   # andps (max) / orps (min): +-0
        a.jmp(done)
        a.bind(nan)
        a.sse(p, 0x58, 0, 1)                      # a + b: a quiet NaN
        a.jmp(done)
        a.bind(diff)
        a.sse(p, 0x5F if is_max else 0x5D, 0, 1)
        a.bind(done)
        self.fstore(F64 if f64 else F32, 0)

    def fcmp_eq(self, ne: bool, f64: bool) -> None:
        a = self.a
        self.fpop(1, f64)
        self.fpop(0, f64)
        a.sse(P66 if f64 else b"", 0x2E, 0, 1)
        if ne:
            a.setcc(A.CC_NE, RAX)
            a.setcc(A.CC_P, RCX)
            a.alu(A.OR, RAX, RCX, False)
        else:
            a.setcc(A.CC_E, RAX)
            a.setcc(A.CC_NP, RCX)
            a.alu(A.AND, RAX, RCX, False)
        a.movzx8(RAX, RAX)
        self.istore(I32, RAX)

    def fcmp(self, f64: bool, swap: bool, cc: int) -> None:
        a = self.a
        self.fpop(1, f64)
        self.fpop(0, f64)
        if swap:
            a.sse(P66 if f64 else b"", 0x2E, 1, 0)
        else:
            a.sse(P66 if f64 else b"", 0x2E, 0, 1)
        self.set_flag(cc)

    def ftrunc(self, opcode: int, sat: bool) -> None:
        """Float -> int truncation, trapping (``sat`` False) or saturating."""
        _instr, ft, it, lo, lo_incl, hi = TRUNCS[opcode]
        f64 = ft == "double"
        w = it == "i64"
        signed = _instr == "fptosi"
        a = self.a
        pp = P66 if f64 else b""
        p = F2 if f64 else F3
        self.fpop(0, f64)
        done = a.label()
        a.sse(pp, 0x2E, 0, 0)
        if sat:
            zero, low, high = a.label(), a.label(), a.label()
            a.jcc(A.CC_P, zero)
        else:
            a.jcc(A.CC_P, self.trap_label(ST_BADCONV))
            low = high = self.trap_label(ST_OVERFLOW)
        a.mov_imm(RAX, _fbits(lo, f64), f64)
        a.movd_to_xmm(1, RAX, f64)
        a.sse(pp, 0x2E, 0, 1)                     # x vs lo
        a.jcc(A.CC_B if lo_incl else A.CC_BE, low)
        a.mov_imm(RAX, _fbits(hi, f64), f64)
        a.movd_to_xmm(1, RAX, f64)
        a.sse(pp, 0x2E, 1, 0)                     # hi vs x
        a.jcc(A.CC_BE, high)
        if signed or not w:
            # i32 unsigned: the 64-bit conversion of a value in [0, 2^32)
            a.sse(p, 0x2C, RAX, 0, w or not signed)
        else:
            small = a.label()
            a.mov_imm(RAX, _fbits(2.0 ** 63, f64), f64)
            a.movd_to_xmm(1, RAX, f64)
            a.sse(pp, 0x2E, 0, 1)
            a.jcc(A.CC_B, small)
            a.sse(p, 0x5C, 0, 1)                  # x - 2^63
            a.sse(p, 0x2C, RAX, 0, True)
            a.bt_imm(7, RAX, 63, True)            # btc rax, 63
            a.jmp(done)
            a.bind(small)
            a.sse(p, 0x2C, RAX, 0, True)
        if sat:
            a.jmp(done)
            a.bind(zero)
            a.mov_imm(RAX, 0)
            a.jmp(done)
            a.bind(low)
            a.mov_imm(RAX, (1 << (63 if w else 31)) if signed else 0, w)
            a.jmp(done)
            a.bind(high)
            if signed:
                a.mov_imm(RAX, (1 << (63 if w else 31)) - 1, w)
            else:
                a.mov_imm(RAX, (1 << (64 if w else 32)) - 1, w)
        a.bind(done)
        self.istore(I64 if w else I32, RAX)

    def fconvert(self, src64: bool, unsigned: bool, f64: bool) -> None:
        a = self.a
        p = F2 if f64 else F3
        k = len(self.stack) - 1
        e = self.stack.pop()
        self.load(e, k, RAX, src64)     # 32-bit loads zero-extend
        a.sse(b"", 0x57, 0, 0)          # xorps xmm0, xmm0 (no false dependency)
        if not unsigned:
            a.sse(p, 0x2A, 0, RAX, src64)
        elif not src64:
            a.sse(p, 0x2A, 0, RAX, True)
        else:
            neg, done = a.label(), a.label()
            a.test(RAX, RAX, True)
            a.jcc(A.CC_S, neg)
            a.sse(p, 0x2A, 0, RAX, True)
            a.jmp(done)
            a.bind(neg)
            a.mov(RCX, RAX, True)
            a.shift_imm(A.SHR, RCX, 1, True)
            a.alu_imm(A.AND, RAX, 1, False)
            a.alu(A.OR, RCX, RAX, True)
            a.sse(p, 0x2A, 0, RCX, True)
            a.sse(p, 0x58, 0, 0)
            a.bind(done)
        self.fstore(F64 if f64 else F32, 0)

    # -- the main loop ----------------------------------------------------------------------
    def translate(self) -> None:  # noqa: C901 - one dispatch over the opcodes
        a = self.a
        pcs = self.pcs
        depth_dead = 0
        fuel = self.fuel
        st = self.stack
        lt = self.local_types
        local_get, i32_const = op.LOCAL_GET, op.I32_CONST
        for opcode, imm, offset in self.body:
            if (opcode == local_get or opcode == i32_const) and self.reachable and not fuel:
                # a third of all instructions: no code, no trap, nothing for the
                # peepholes (``emitted`` stays) — only an entry on the operand stack
                if opcode == local_get:
                    st.append((LOCAL, lt[imm], imm))
                else:
                    st.append((CONST, I32, imm & 0xFFFFFFFF))
                if len(st) > self.max_depth:
                    self.max_depth = len(st)
                continue
            if not self.reachable:
                if opcode == op.END:
                    if depth_dead:
                        depth_dead -= 1
                        continue
                    self.offset = offset
                    self.close_frame()
                    if not self.frames:
                        return
                    continue
                if opcode == op.BLOCK or opcode == op.LOOP or opcode == op.IF:
                    depth_dead += 1
                elif opcode == op.ELSE and not depth_dead:
                    self.offset = offset
                    self.op_else()
                continue
            self.offset = offset
            pcs.append((len(a.b), offset))
            self.prev = self.emitted
            if fuel:
                self.fuel_before(opcode)
                if opcode in FUEL_BULK:
                    self.fuel_bulk(lambda _i, o=opcode: self.op(o, _i), imm)
                    continue
                if opcode == op.MEMORY_GROW or opcode == op.TABLE_GROW:
                    self.fuel_grow(lambda _i, o=opcode: self.op(o, _i), imm)
                    continue
            h = _DISPATCH.get(opcode)
            if h is not None:
                h(self, imm)
            else:
                self.op(opcode, imm)
            if not self.frames:
                return

    def op(self, opcode: int, imm: object) -> None:  # noqa: C901 - one dispatch
        """Translate one reachable instruction that :data:`_DISPATCH` does not list."""
        a = self.a
        st = self.stack
        lt = self.local_types
        if opcode == op.LOCAL_GET:
            st.append((LOCAL, lt[imm], imm))
            if len(st) > self.max_depth:
                self.max_depth = len(st)
        elif opcode == op.I32_CONST:
            self.push_const(I32, imm & 0xFFFFFFFF)
        elif opcode == op.F32_CONST:
            self.push_const(F32, imm & 0xFFFFFFFF)
        elif opcode == op.F64_CONST:
            self.push_const(F64, imm & 0xFFFFFFFFFFFFFFFF)
        elif opcode == op.I32_EQZ or opcode == op.I64_EQZ:
            k = len(st) - 1
            e = st.pop()
            w = opcode == op.I64_EQZ
            if e[0] == CONST:
                self.load(e, k, RCX, w)
                a.test(RCX, RCX, w)
            else:
                a.alu_imm(A.CMP, self.src(e, k), 0, w)
            self.set_flag(A.CC_E)
        elif opcode == op.I32_MUL or opcode == op.I64_MUL:
            w = opcode == op.I64_MUL
            k = len(st) - 1
            self.take(st[k - 1], k - 1, RAX, w)
            e = st[k]
            if e[0] == CONST:
                self.load(e, k, RCX, w)
                a.imul(RAX, RCX, w)
            else:
                a.imul(RAX, self.src(e, k), w)
            del st[k - 1:]
            self.istore(I64 if w else I32, RAX)
        elif opcode in _SHIFTS:
            kind, w = _SHIFTS[opcode]
            k = len(st) - 1
            b = st.pop()
            e = st.pop()
            self.take(e, k - 1, RAX, w)
            if b[0] == CONST:
                a.shift_imm(kind, RAX, b[2] & (63 if w else 31), w)
            else:
                a.mov(RCX, self.src(b, k), False)
                a.shift_cl(kind, RAX, w)
            self.istore(I64 if w else I32, RAX)
        elif opcode in _BITCOUNT:
            kind, w = _BITCOUNT[opcode]
            k = len(st) - 1
            e = st.pop()
            self.load(e, k, RCX, w)
            a.bitcount(kind, RAX, RCX, w)
            self.istore(I64 if w else I32, RAX)
        elif opcode in (op.I32_DIV_S, op.I32_DIV_U, op.I32_REM_S, op.I32_REM_U,
                        op.I64_DIV_S, op.I64_DIV_U, op.I64_REM_S, op.I64_REM_U):
            self.op_div(opcode)
        elif opcode in _FBIN:
            self.fbin(*_FBIN[opcode])
        elif opcode == op.F32_EQ or opcode == op.F32_NE:
            self.fcmp_eq(opcode == op.F32_NE, False)
        elif opcode == op.F64_EQ or opcode == op.F64_NE:
            self.fcmp_eq(opcode == op.F64_NE, True)
        elif opcode in _FCMP:
            self.fcmp(*_FCMP[opcode])
        elif opcode == op.DROP:
            st.pop()
        elif opcode == op.SELECT or opcode == op.SELECT_T:
            k = len(st) - 1
            c = st.pop()
            b = st.pop()
            e = st.pop()
            t = e[1]
            if t == V128:
                self.select_v128(c, b, e, k)
            elif c[0] == CONST:
                src = k - 2 if c[2] & 0xFFFFFFFF else k - 1
                chosen = e if c[2] & 0xFFFFFFFF else b
                if chosen[0] == CONST:
                    self.push_const(t, chosen[2])
                else:
                    a.mov(RAX, self.src(chosen, src))
                    a.store(self.push_slot(t), RAX)
            else:
                self.load(e, k - 2, RAX)
                self.load(b, k - 1, RCX)
                a.alu_imm(A.CMP, self.src(c, k), 0, False)
                a.cmov(A.CC_E, RAX, RCX, True)
                a.store(self.push_slot(t), RAX)
        elif opcode == op.NOP:
            pass
        elif opcode == op.UNREACHABLE:
            a.jmp(self.trap_label(ST_UNREACHABLE))
            self.reachable = False
        elif opcode == op.GLOBAL_GET:
            gt = self.global_types[imm]
            a.mov(RAX, mem(RBP, -8))
            a.mov(RAX, mem(RAX, self.vo.global_(imm)))
            a.mov(RAX, mem(RAX))
            self.istore(gt.valtype, RAX)
        elif opcode == op.GLOBAL_SET:
            gt = self.global_types[imm]
            size = 4 if gt.valtype in (I32, F32) else 8
            self.pop_to(RCX, size == 8)
            a.mov(RAX, mem(RBP, -8))
            a.mov(RAX, mem(RAX, self.vo.global_(imm)))
            a.store(mem(RAX), RCX, size)
        elif opcode == op.I32_WRAP_I64:
            e = st.pop()
            if e[0] == CONST:
                self.push_const(I32, e[2] & 0xFFFFFFFF)
            else:
                st.append((e[0], I32, e[2]))
        elif opcode in (op.I32_REINTERPRET_F32, op.I64_REINTERPRET_F64,
                        op.F32_REINTERPRET_I32, op.F64_REINTERPRET_I64):
            t = {op.I32_REINTERPRET_F32: I32, op.I64_REINTERPRET_F64: I64,
                 op.F32_REINTERPRET_I32: F32, op.F64_REINTERPRET_I64: F64}[opcode]
            k = len(st) - 1
            if st[k][0] == LOCAL and st[k][2] in self.pinned:
                self.materialize(k)     # a float is never read from a GPR
            e = st.pop()
            st.append((e[0], t, e[2]))
        elif opcode == op.I64_EXTEND_I32_S:
            k = len(st) - 1
            e = st.pop()
            if e[0] == CONST:
                v = e[2] & 0xFFFFFFFF
                self.push_const(I64, (v - (1 << 32) if v >> 31 else v)
                                & 0xFFFFFFFFFFFFFFFF)
            else:
                a.movsxd(RAX, self.src(e, k))
                self.istore(I64, RAX)
        elif opcode == op.I64_EXTEND_I32_U:
            k = len(st) - 1
            e = st.pop()
            if e[0] == CONST:
                self.push_const(I64, e[2] & 0xFFFFFFFF)
            else:
                self.take(e, k, RAX, False)
                self.istore(I64, RAX)
        elif opcode in (op.I32_EXTEND8_S, op.I32_EXTEND16_S, op.I64_EXTEND8_S,
                        op.I64_EXTEND16_S, op.I64_EXTEND32_S):
            k = len(st) - 1
            e = st.pop()
            w = opcode >= op.I64_EXTEND8_S
            self.load(e, k, RCX, w)
            if opcode in (op.I32_EXTEND8_S, op.I64_EXTEND8_S):
                a.movsx8(RAX, RCX, w)
            elif opcode == op.I64_EXTEND32_S:
                a.movsxd(RAX, RCX)
            else:
                a.movsx16(RAX, RCX, w)
            self.istore(I64 if w else I32, RAX)
        elif opcode in _CONVERT:
            self.fconvert(*_CONVERT[opcode])
        elif opcode in TRUNCS:
            self.ftrunc(opcode, False)
        elif opcode in _SAT:
            self.ftrunc(_SAT[opcode], True)
        elif opcode == op.F32_DEMOTE_F64 or opcode == op.F64_PROMOTE_F32:
            d = opcode == op.F32_DEMOTE_F64
            self.fpop(0, d)
            a.sse(F2 if d else F3, 0x5A, 0, 0)
            self.fstore(F32 if d else F64, 0)
        elif opcode in _FROUND:
            f64, mode = _FROUND[opcode]
            self.fpop(0, f64)
            a.round_(f64, 0, 0, mode | 8)
            self.fstore(F64 if f64 else F32, 0)
        elif opcode == op.F32_SQRT or opcode == op.F64_SQRT:
            f64 = opcode == op.F64_SQRT
            self.fpop(0, f64)
            a.sse(F2 if f64 else F3, 0x51, 0, 0)
            self.fstore(F64 if f64 else F32, 0)
        elif opcode in (op.F32_MIN, op.F32_MAX, op.F64_MIN, op.F64_MAX):
            self.fminmax(opcode in (op.F32_MAX, op.F64_MAX),
                         opcode in (op.F64_MIN, op.F64_MAX))
        elif opcode in (op.F32_ABS, op.F32_NEG, op.F64_ABS, op.F64_NEG):
            f64 = opcode in (op.F64_ABS, op.F64_NEG)
            k = len(st) - 1
            e = st.pop()
            self.load(e, k, RAX, f64)
            neg = opcode in (op.F32_NEG, op.F64_NEG)
            a.bt_imm(7 if neg else 6, RAX, 63 if f64 else 31, f64)
            self.istore(F64 if f64 else F32, RAX)
        elif opcode == op.F32_COPYSIGN or opcode == op.F64_COPYSIGN:
            f64 = opcode == op.F64_COPYSIGN
            k = len(st) - 1
            b = st.pop()
            e = st.pop()
            self.load(e, k - 1, RAX, f64)
            self.load(b, k, RCX, f64)
            bit = 63 if f64 else 31
            a.bt_imm(6, RAX, bit, f64)        # btr rax, bit
            a.shift_imm(A.SHR, RCX, bit, f64)
            a.shift_imm(A.SHL, RCX, bit, f64)
            a.alu(A.OR, RAX, RCX, f64)
            self.istore(F64 if f64 else F32, RAX)
        elif opcode == op.MEMORY_SIZE:
            self.op_memory_size(imm)
        elif opcode == op.MEMORY_GROW:
            self.op_memory_grow(imm)
        elif opcode == op.MEMORY_COPY:
            self.op_memory_copy(imm)
        elif opcode == op.MEMORY_FILL:
            self.op_memory_fill(imm)
        elif opcode == op.MEMORY_INIT:
            dataidx, memidx = imm
            self.call_builtin(vo.BUILTIN_MEMORY_INIT,
                              [(memidx, False), (dataidx, False), (None, False),
                               (None, False), (None, False)], True)
        elif opcode == op.DATA_DROP:
            self.call_builtin(vo.BUILTIN_DATA_DROP, [(imm, False)], False)
        elif opcode == op.REF_NULL:
            self.push_const(imm, 0)
        elif opcode == op.REF_IS_NULL:
            k = len(st) - 1
            e = st.pop()
            self.load(e, k, RCX)
            a.test(RCX, RCX, True)
            a.setcc(A.CC_E, RAX)
            a.movzx8(RAX, RAX)
            self.istore(I32, RAX)
        elif opcode == op.REF_FUNC:
            a.mov(RAX, mem(RBP, -8))
            a.mov(RAX, mem(RAX, self.vo.func(imm)))
            self.istore(FUNCREF, RAX)
        elif opcode == op.TABLE_GET:
            t = self.info.table_types()[imm].elem
            self.table_entry(imm)
            a.mov(RAX, mem(RCX, 0, RAX, 3))
            self.istore(t, RAX)
        elif opcode == op.TABLE_SET:
            self.pop_to(RDX)
            self.table_entry(imm)
            a.store(mem(RCX, 0, RAX, 3), RDX)
        elif opcode == op.TABLE_SIZE:
            a.mov(RAX, mem(RBP, -8))
            a.mov(RAX, mem(RAX, self.vo.table(imm)))
            a.mov(RAX, mem(RAX, vo.TABLE_LENGTH), False)
            self.istore(I32, RAX)
        elif opcode == op.TABLE_GROW:
            self.call_builtin(vo.BUILTIN_TABLE_GROW,
                              [(imm, False), (None, True), (None, False)], False)
            self.istore(I32, RAX)
        elif opcode == op.TABLE_FILL:
            self.call_builtin(vo.BUILTIN_TABLE_FILL,
                              [(imm, False), (None, False), (None, True),
                               (None, False)], True)
        elif opcode == op.TABLE_COPY:
            dst, src = imm
            self.call_builtin(vo.BUILTIN_TABLE_COPY,
                              [(dst, False), (src, False), (None, False),
                               (None, False), (None, False)], True)
        elif opcode == op.TABLE_INIT:
            elemidx, tableidx = imm
            self.call_builtin(vo.BUILTIN_TABLE_INIT,
                              [(tableidx, False), (elemidx, False), (None, False),
                               (None, False), (None, False)], True)
        elif opcode == op.ELEM_DROP:
            self.call_builtin(vo.BUILTIN_ELEM_DROP, [(imm, False)], False)
        else:  # pragma: no cover - excluded by unsupported_reason
            raise NotImplementedError(op.OPCODE_NAMES.get(opcode, hex(opcode)))




def _dispatch() -> dict[int, Callable[[FunctionCompiler, Any], None]]:
    """The most frequent opcodes' handlers, looked up before :meth:`FunctionCompiler.op`
    walks its chain of tests (an ``end`` went through 16 of them).  Each does exactly
    what ``op`` does for that opcode."""
    fc = FunctionCompiler
    d: dict[int, Callable[[FunctionCompiler, Any], None]] = {
        op.LOCAL_SET: lambda s, imm: s.op_local_set(imm, False),
        op.LOCAL_TEE: lambda s, imm: s.op_local_set(imm, True),
        op.I64_CONST: lambda s, imm: s.push_const(I64, imm & 0xFFFFFFFFFFFFFFFF),
        op.BR_IF: fc.op_br_if,
        op.BLOCK: lambda s, imm: s.op_block(imm, BLOCK),
        op.LOOP: lambda s, imm: s.op_block(imm, LOOP),
        op.IF: fc.op_if,
        op.ELSE: lambda s, imm: s.op_else(),
        op.END: lambda s, imm: s.close_frame(),
        op.BR: fc.op_br,
        op.BR_TABLE: fc.op_br_table,
        op.RETURN: lambda s, imm: s.op_br(len(s.frames) - 1),
        op.CALL: fc.op_call,
        op.CALL_INDIRECT: fc.op_call_indirect,
    }
    for code, (kind, w) in _INT_BIN.items():
        d[code] = lambda s, imm, kind=kind, w=w: s.int_bin(kind, w)
    for code, cc in _INT_CMP.items():
        d[code] = lambda s, imm, cc=cc: s.int_cmp(cc, False)
    for code, cc in _I64_CMP.items():
        d[code] = lambda s, imm, cc=cc: s.int_cmp(cc, True)
    for code in _LOADS:
        d[code] = lambda s, imm, code=code: s.op_load(code, imm)
    for code in _STORES:
        d[code] = lambda s, imm, code=code: s.op_store(code, imm)
    for code in SIMD_OPS:
        d[code] = lambda s, imm, code=code: op_simd(s, code, imm)
    return d


_DISPATCH = _dispatch()
