"""The baseline compiler: wasm function bodies straight to x86-64 machine code.

The first tier of ``Config.strategy = "winch"`` (the role of Wasmtime's Winch and V8's
Liftoff): one pass over each body, no IR, machine code appended to a buffer
(:mod:`.asm` encodes, :mod:`.compiler` translates).  It follows the native ABI of the
LLVM tiers exactly (``docs/architecture.md``, "The native ABI" and "Baseline
compiler"), so baseline and LLVM code call each other through thunks and VMFuncRefs.

:func:`unsupported_reason` says which functions it leaves to LLVM's first tier (SIMD,
several results, fuel, epochs); :func:`compile_batch` compiles a batch, the supported
functions here and the others with ``fallback``, and returns one part object
(``function_addrs``, ``code_ranges``, ``symbolize``, ``symbolize_frames``).
"""

from __future__ import annotations

import bisect
import ctypes
import mmap
import operator
import time
import weakref
from collections.abc import Callable
from typing import Any

from ...binary import opcodes as op
from ...environ.module import F32, F64, V128, ModuleInfo
from ...errors import WasmtimeError
from ...runtime.libc import protect
from ...validate.validator import _uses_typed_refs
from .compiler import Env, FunctionCompiler, ModuleShapes
from .simd import SIMD_OPS

__all__ = ["BaselinePart", "compile_batch", "unsupported_reason"]

_libc = ctypes.CDLL(None)
_MEMMOVE = ctypes.cast(_libc.memmove, ctypes.c_void_p).value or 0
_MEMSET = ctypes.cast(_libc.memset, ctypes.c_void_p).value or 0


_BLOCKS = (op.BLOCK, op.LOOP, op.IF)
_MEM0 = (op.MEMORY_SIZE, op.MEMORY_GROW, op.MEMORY_FILL)
#: loads and stores (``memarg``: a third element names a memory other than 0) and the
#: lane loads/stores (``(memarg, lane)``)
_MEMARG_OPS = frozenset(o for o, k in op.IMMEDIATE_KINDS.items() if k == op.IMM_MEMARG)
_MEMARG_LANE_OPS = frozenset(o for o, k in op.IMMEDIATE_KINDS.items()
                             if k == op.IMM_MEMARG_LANE)


def trap_ir() -> str:
    """The IR of ``void @wasmlite_baseline_trap(ptr store_ctx, i32 status)``, which
    records the frame-pointer backtrace from its own frame and ``longjmp``s through
    ``@wasmlite_unwind`` (defined by the module it joins: the process's routines)."""
    return """\
define void @wasmlite_baseline_trap(ptr %sc, i32 %status) #2 {
entry:
  %fa = call ptr @llvm.frameaddress.p0(i32 0)
  %fai = ptrtoint ptr %fa to i64
  call void @wasmlite_unwind(ptr %sc, i64 %fai, i64 0, i32 %status)
  unreachable
}
"""


def _trap_address() -> int:
    """Address of the process's baseline trap routine (:func:`trap_ir`; one of the
    process's routines, ``runtime/routines.py``)."""
    from ...runtime.routines import address

    return address("wasmlite_baseline_trap")


def unsupported_reason(info: ModuleInfo, defidx: int, body: list[tuple], *,
                       consume_fuel: bool = False,
                       epoch_interruption: bool = False) -> str | None:
    """Why defined function ``defidx`` is left to LLVM's first tier, or ``None`` when
    the baseline compiler takes it.  Reasons: ``"multi-value result"`` (LLVM returns
    a struct), ``"calls a multi-value type"``, ``"v128"`` (SIMD values or
    instructions the baseline compiler does not have, ``simd.SIMD_OPS``; v128
    globals; v128 parameters beyond ``xmm7``), ``"multi-memory"`` (an access to a
    memory other than 0), ``"memory64"`` (a module with a 64-bit memory: every
    function, the baseline compiler's addresses are 32-bit), ``"typed function
    references"`` (a module whose types, globals, tables or segments use them: every
    function; the instructions of the proposal raise ``NotImplementedError`` in
    :func:`compile_batch`, which hands the function to LLVM, and typed locals,
    blocktypes or ``select`` types are plain 64-bit references there).  Fuel and
    epochs are supported (the arguments are kept for callers that measure coverage
    per setting)."""
    shapes = ModuleShapes.of(info)
    nimp = shapes.num_imported_funcs
    types = info.types
    ft = shapes.func_types[nimp + defidx]
    plain, whole = _module_shape(info)
    if plain:
        # no type has several results or a v128, no v128 global, one memory at most:
        # only SIMD instructions the baseline compiler does not have (simd.py) can make
        # a function unsupported
        if body and max(map(_opcode, body)) >= 0xFD000 and \
                not SIMD_OPS.issuperset(o for o, _i, _f in body if o >= 0xFD000):
            return "v128"
        return None
    if whole is not None:
        return whole
    if len(ft.results) > 1:
        return "multi-value result"
    if not _v128_abi_ok(ft):
        return "v128"
    gtypes = None
    for opcode, imm, _off in body:
        if opcode >= 0xFD000:
            if opcode not in SIMD_OPS:
                return "v128"
        if opcode == op.CALL or opcode == op.CALL_INDIRECT:
            cft = shapes.func_types[imm] if opcode == op.CALL else types[imm[0]]
            if len(cft.results) > 1:
                return "calls a multi-value type"
            if not _v128_abi_ok(cft):
                return "v128"
        elif opcode == op.GLOBAL_GET or opcode == op.GLOBAL_SET:
            if gtypes is None:
                gtypes = info.global_types()
            if gtypes[imm].valtype == V128:
                return "v128"
        elif opcode in _MEMARG_OPS:
            if len(imm) > 2 and imm[2]:
                return "multi-memory"
        elif opcode in _MEMARG_LANE_OPS:
            if len(imm[0]) > 2 and imm[0][2]:
                return "multi-memory"
        elif opcode in _MEM0:
            if imm:
                return "multi-memory"
        elif opcode == op.MEMORY_COPY:
            if imm != (0, 0):
                return "multi-memory"
        elif opcode == op.MEMORY_INIT:
            if imm[1]:
                return "multi-memory"
    return None


_opcode = operator.itemgetter(0)
_SSE_CLASS = (F32, F64, V128)


def _v128_abi_ok(ft: Any) -> bool:
    """Whether the baseline compiler can pass ``ft``'s parameters: ``v128`` ones only
    in ``xmm0``-``xmm7`` (System V; never on the stack)."""
    return V128 not in ft.params or sum(t in _SSE_CLASS for t in ft.params) <= 8


_plain: dict[int, tuple[Any, bool, str | None]] = {}


def _module_shape(info: ModuleInfo) -> tuple[bool, str | None]:
    """``(plain, reason)``, worked out once per module (this runs at every first-tier
    compilation): ``plain`` when no type of ``info`` has several results or a v128, no
    global is a v128 and it has at most one 32-bit memory, no 64-bit table and no typed
    reference; ``reason`` why *every* function of it goes to LLVM (``"memory64"``,
    ``"typed function references"``), else ``None``."""
    got = _plain.get(id(info))
    if got is not None and got[0]() is info:
        return got[1], got[2]
    memories = info.memory_types()
    whole = None
    if any(m.is_64 for m in memories) or any(t.is_64 for t in info.table_types()):
        whole = "memory64"
    elif _uses_typed_refs(info):
        whole = "typed function references"
    plain = (whole is None and len(memories) <= 1
             and all(len(t.results) <= 1 and V128 not in t.params and V128 not in t.results
                     for t in info.types)
             and all(g.valtype != V128 for g in info.global_types()))
    if len(_plain) > 256:
        _plain.clear()
    _plain[id(info)] = (weakref.ref(info), plain, whole)
    return plain, whole


class _ExecMemory:
    """Machine code copied into a private mapping, then made read + execute."""

    def __init__(self, code: bytes) -> None:
        size = max(len(code), 1)
        size = (size + mmap.PAGESIZE - 1) // mmap.PAGESIZE * mmap.PAGESIZE
        self.map = mmap.mmap(-1, size, prot=mmap.PROT_READ | mmap.PROT_WRITE)
        self.map.write(code)
        self._view = ctypes.c_char.from_buffer(self.map)
        self.addr = ctypes.addressof(self._view)
        self.size = size
        protect(self.addr, size, mmap.PROT_READ | mmap.PROT_EXEC)


class BaselinePart:
    """The code of one batch: baseline functions in one executable mapping, plus the
    LLVM part of the batch's fallback functions (or ``None``).  Quacks like
    ``CompiledCode`` for ``LazyCode``: ``function_addrs`` (a dict over the batch's
    functions), ``code_ranges``, ``symbolize``, ``symbolize_frames``.  ``baseline`` and
    ``fallback`` list the defined-function indices compiled each way; ``reasons`` maps
    the fallback ones to :func:`unsupported_reason`.  ``compile_time`` (seconds) and
    ``instructions`` (wasm instructions compiled by the baseline compiler)."""

    def __init__(self, num_funcs: int) -> None:
        #: defined-function index -> address, for this batch's functions (a list of
        #: the module's size per batch held cc1plus's 6,000 one-function batches at
        #: 282 KB each: 1.7 GB)
        self.function_addrs: dict[int, int] = {}
        self.code_ranges: list[tuple[int, int]] = []
        self.baseline: list[int] = []
        self.fallback: list[int] = []
        self.reasons: dict[int, str] = {}
        self.llvm: Any = None
        self._mem: _ExecMemory | None = None
        self._starts: list[int] = []          # absolute function starts, sorted
        self._funcs: list[int] = []           # defidx per start
        self._ends: list[int] = []
        self._pcs: list[list[int]] = []       # per function: relative pcs
        self._offs: list[list[int]] = []      # per function: module offsets
        self.compile_time = 0.0
        self.instructions = 0

    def symbolize(self, addr: int) -> int | None:
        """The defined-function index whose code holds return address ``addr``."""
        k = bisect.bisect_right(self._starts, addr - 1) - 1
        if k >= 0 and addr - 1 < self._ends[k]:
            return self._funcs[k]
        if self.llvm is not None:
            return self.llvm.symbolize(addr)
        return None

    def symbolize_frames(self, addr: int) -> list[tuple[int, int | None]] | None:
        """``[(defidx, module offset)]`` for return address ``addr`` (a faulting PC + 1
        for frame 0): the offset of the calling or trapping instruction."""
        k = bisect.bisect_right(self._starts, addr - 1) - 1
        if k >= 0 and addr - 1 < self._ends[k]:
            rel = addr - 1 - self._starts[k]
            pcs = self._pcs[k]
            j = bisect.bisect_right(pcs, rel) - 1
            return [(self._funcs[k], self._offs[k][j] if j >= 0 else None)]
        if self.llvm is not None:
            return self.llvm.symbolize_frames(addr)
        return None


def compile_batch(info: ModuleInfo, bodies: list[list[tuple]], funcs: list[int], *,
                  guard_pages: bool, hotness: tuple[int, int, int] | None = None,
                  consume_fuel: bool = False, epoch_interruption: bool = False,
                  fallback: Callable[[list[int]], Any] | None = None,
                  osr: tuple | None = None) -> BaselinePart:
    """Compile defined functions ``funcs``: those :func:`unsupported_reason` accepts
    with the baseline compiler, the others with ``fallback(funcs)`` (LLVM's first
    tier; required when there are any).  ``guard_pages``: signals-based traps (no
    explicit bounds checks).  ``hotness``: ``(counters, callback, slots)`` addresses,
    as for the LLVM first tier (``compiler/lazy.py``); ``osr``: on-stack replacement at
    loop headers, as there (``(loop callback, osr_table, transfer counter)``)."""
    t0 = time.perf_counter()
    part = BaselinePart(len(info.funcs))
    mine: list[int] = []
    for i in funcs:
        why = unsupported_reason(info, i, bodies[i], consume_fuel=consume_fuel,
                                 epoch_interruption=epoch_interruption)
        if why is None:
            mine.append(i)
        else:
            part.fallback.append(i)
            part.reasons[i] = why
    placed: list[tuple[int, int, int, FunctionCompiler]] = []
    code = bytearray()
    if mine:
        env = Env(_trap_address(), guard_pages, hotness, _MEMMOVE, _MEMSET,
                  consume_fuel, epoch_interruption, osr)
        shapes = ModuleShapes.of(info)
        for i in list(mine):
            fc = FunctionCompiler(shapes, i, bodies[i], env)
            try:
                fc.compile()
            except NotImplementedError as e:
                # an instruction the baseline compiler does not have (tail calls, ...):
                # found while compiling, so that no scan of every body looks for them
                mine.remove(i)
                part.fallback.append(i)
                part.reasons[i] = str(e)
                continue
            start = len(code)
            code += fc.a.b
            placed.append((i, start, len(code), fc))
            pad = -len(code) & 15
            code += b"\xcc" * pad
            part.instructions += len(bodies[i])
    if part.fallback:
        if fallback is None:
            raise WasmtimeError("internal error: no fallback compiler for "
                                f"{len(part.fallback)} functions")
        llvm = fallback(part.fallback)
        part.llvm = llvm
        for i in part.fallback:
            part.function_addrs[i] = llvm.function_addrs[i]
        part.code_ranges.extend(llvm.code_ranges)
    if mine:
        exe = _ExecMemory(bytes(code))
        part._mem = exe
        base = exe.addr
        for i, start, end, fc in placed:
            part.function_addrs[i] = base + start
            part._starts.append(base + start)
            part._ends.append(base + end)
            part._funcs.append(i)
            part._pcs.append([p for p, _ in fc.pcs])
            part._offs.append([o for _, o in fc.pcs])
        part.baseline = mine
        part.code_ranges.append((base, base + len(code)))
    part.compile_time = time.perf_counter() - t0
    return part
