"""Module instantiation at the native level (WebAssembly spec §4.5.4 "Instantiation").

:func:`allocate` builds an :class:`InstanceData` — VMContext, VMFuncRefs of the defined
functions, memories, tables, globals (initialised from their constant expressions),
evaluated element segments — from already resolved and type-checked imports;
:meth:`InstanceData.initialize` then applies the active element and data segments in
order (2.0 semantics: a failing segment traps after the earlier ones were applied) and
drops active and declarative segments.  Running the start function is the caller's job.
"""

from __future__ import annotations

import ctypes
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field

from ..environ import vmoffsets as vo
from ..environ.module import (
    F32,
    F64,
    I32,
    I64,
    PAGE_SIZE,
    V128,
    ConstExpr,
    ModuleInfo,
)
from ..environ.vmoffsets import VMOffsets
from ..errors import Trap, TrapCode, WasmtimeError
from . import builtins
from .globals import GlobalData
from .memory import LinearMemory
from .store import StoreData
from .table import TableData

# Opcodes allowed in constant expressions (binary format, spec §5.4; extended-const).
_I32_CONST, _I64_CONST, _F32_CONST, _F64_CONST = 0x41, 0x42, 0x43, 0x44
_GLOBAL_GET = 0x23
_REF_NULL, _REF_FUNC = 0xD0, 0xD2
_I32_ADD, _I32_SUB, _I32_MUL = 0x6A, 0x6B, 0x6C
_I64_ADD, _I64_SUB, _I64_MUL = 0x7C, 0x7D, 0x7E
_V128_CONST = 0xFD000 + 12
_M32 = 0xFFFFFFFF
_M64 = (1 << 64) - 1


@dataclass
class Imports:
    """Resolved imports, per index space, in import order: ``funcs`` are ``VMFuncRef``
    addresses, the others runtime objects."""

    funcs: list[int] = field(default_factory=list)
    tables: list[TableData] = field(default_factory=list)
    memories: list[LinearMemory] = field(default_factory=list)
    globals: list[GlobalData] = field(default_factory=list)


class InstanceData:
    """The native state of one module instance.

    ``func_refs[funcidx]`` is the ``VMFuncRef`` address of every function (imports
    first); ``elems``/``datas`` hold the (raw, evaluated) segments, emptied when dropped.
    """

    def __init__(self, store: StoreData, info: ModuleInfo):
        self.store = store
        self.info = info
        self.offsets = VMOffsets.for_module(info)
        self.vmctx = (ctypes.c_uint64 * (self.offsets.size // 8))()
        self.vmctx_addr = ctypes.addressof(self.vmctx)
        self.func_refs: list[int] = []
        self.memories: list[LinearMemory] = []
        self.tables: list[TableData] = []
        self.globals: list[GlobalData] = []
        self.elems: list[list[int]] = []
        self.datas: list[bytes] = []
        self.funcref_array: ctypes.Array | None = None

    # -- constant expressions (spec §3.3.10, §4.4.10) ---------------------------------
    def eval_const(self, expr: ConstExpr) -> int:
        """Evaluate a constant expression to a raw value (see ``runtime.globals``)."""
        stack: list[int] = []
        for op, imm, _off in expr:
            if op == _I32_CONST:
                stack.append(imm & _M32)
            elif op == _I64_CONST:
                stack.append(imm & _M64)
            elif op in (_F32_CONST, _F64_CONST):
                stack.append(imm)
            elif op == _GLOBAL_GET:
                stack.append(self.globals[imm].raw)
            elif op == _REF_NULL:
                stack.append(0)
            elif op == _REF_FUNC:
                stack.append(self.func_refs[imm])
            elif op == _V128_CONST:
                stack.append(int.from_bytes(imm, "little"))
            elif op in (_I32_ADD, _I32_SUB, _I32_MUL, _I64_ADD, _I64_SUB, _I64_MUL):
                b, a = stack.pop(), stack.pop()
                r = a + b if op in (_I32_ADD, _I64_ADD) else a - b if op in (_I32_SUB, _I64_SUB) \
                    else a * b
                stack.append(r & (_M32 if op <= _I32_MUL else _M64))
            else:
                raise WasmtimeError(f"unsupported instruction {op:#x} in a constant expression")
        if len(stack) != 1:
            raise WasmtimeError("constant expression does not produce exactly one value")
        return stack[0]

    # -- segments ---------------------------------------------------------------------
    def initialize(self) -> None:
        """Apply active element then data segments (spec §4.5.4 steps 14-15).

        Raises :class:`Trap` ("out of bounds table access" / "out of bounds memory
        access") at the first segment that does not fit; earlier ones stay applied.
        """
        info = self.info
        for i, seg in enumerate(info.elems):
            if seg.mode == "active":
                assert seg.offset is not None
                dst = self.eval_const(seg.offset) & _M32
                status = builtins.table_init(self.tables[seg.table], self.elems[i], dst, 0,
                                             len(self.elems[i]))
                if status:
                    raise Trap.from_code(TrapCode(status - vo.STATUS_TRAP_BASE))
            if seg.mode in ("active", "declarative"):
                self.elems[i] = []
        for i, seg in enumerate(info.datas):
            if seg.mode == "active":
                assert seg.offset is not None
                dst = self.eval_const(seg.offset) & _M32
                status = builtins.memory_init(self.memories[seg.memory], self.datas[i], dst, 0,
                                              len(self.datas[i]))
                if status:
                    raise Trap.from_code(TrapCode(status - vo.STATUS_TRAP_BASE))
                self.datas[i] = b""


def allocate(store: StoreData, info: ModuleInfo, function_addrs: Sequence[int],
             type_ids: Sequence[int], imports: Imports) -> InstanceData:
    """Allocate an instance (spec §4.5.3 "allocmodule") and fill its VMContext.

    ``function_addrs`` are the native addresses of the defined functions, ``type_ids``
    the engine-wide signature id of each module type.  Raises :class:`MemoryError` when a
    memory or table cannot be allocated and :class:`WasmtimeError` past the store's
    resource limits (``Store.set_limits``; counted first, as Wasmtime does).
    """
    store.bump_counts(len(info.memories), len(info.tables))
    inst = InstanceData(store, info)
    off = inst.offsets
    v = inst.vmctx
    v[vo.VMCTX_STORE_CTX // 8] = store.ctx_addr
    v[vo.VMCTX_BUILTINS // 8] = builtins.BUILTINS_ADDR
    for t, tid in enumerate(type_ids):
        v[off.type_id(t) // 8] = tid

    # functions: imports, then one VMFuncRef per defined function
    inst.func_refs = list(imports.funcs)
    n = len(info.funcs)
    inst.funcref_array = arr = (ctypes.c_uint64 * max(3 * n, 1))()
    base = ctypes.addressof(arr)
    for i, typeidx in enumerate(info.funcs):
        arr[3 * i + vo.FUNCREF_FUNC_PTR // 8] = function_addrs[i]
        arr[3 * i + vo.FUNCREF_TYPE_ID // 8] = type_ids[typeidx]
        arr[3 * i + vo.FUNCREF_VMCTX // 8] = inst.vmctx_addr
        inst.func_refs.append(base + vo.FUNCREF_SIZE * i)
    for f, addr in enumerate(inst.func_refs):
        v[off.func(f) // 8] = addr

    # memories and tables
    inst.memories = list(imports.memories)
    for mt in info.memories:
        inst.memories.append(store.new_memory(mt.limits.min, mt.limits.max))
    inst.tables = list(imports.tables)
    for tt in info.tables:
        inst.tables.append(store.new_table(tt.elem, tt.limits.min, tt.limits.max, host=False))
    for i, m in enumerate(inst.memories):
        v[off.memory(i) // 8] = m.vm_addr
    for i, t in enumerate(inst.tables):
        v[off.table(i) // 8] = t.vm_addr

    # globals, in order (an initializer may read imported and earlier globals)
    inst.globals = list(imports.globals)
    for g in info.globals:
        gd = GlobalData(g.type.valtype, g.type.mutable)
        gd.raw = inst.eval_const(g.init)
        inst.globals.append(gd)
    for i, g in enumerate(inst.globals):
        v[off.global_(i) // 8] = g.vm_addr

    # segments, evaluated
    inst.elems = [[inst.eval_const(e) for e in seg.items] for seg in info.elems]
    inst.datas = [seg.data for seg in info.datas]

    builtins.register(inst)
    store.instances.append(inst)
    return inst


# -- raw <-> Python number conversion helpers (used by the API layer) --------------------
_f32 = struct.Struct("<f")
_u32 = struct.Struct("<I")
_f64 = struct.Struct("<d")
_u64 = struct.Struct("<Q")


def f32_to_bits(x: float) -> int:
    """IEEE single bits of ``x`` (rounded; out-of-range values become infinities)."""
    try:
        return _u32.unpack(_f32.pack(x))[0]
    except OverflowError:
        return _u32.unpack(bytes(ctypes.c_float(x)))[0]


def bits_to_f32(b: int) -> float:
    return _f32.unpack(_u32.pack(b & _M32))[0]


def f64_to_bits(x: float) -> int:
    return _u64.unpack(_f64.pack(x))[0]


def bits_to_f64(b: int) -> float:
    return _f64.unpack(_u64.pack(b & _M64))[0]


def raw_to_number(valtype: int, raw: int) -> int | float:
    """A number valtype's raw value as a Python int/float (i32/i64 signed)."""
    if valtype == I32:
        raw &= _M32
        return raw - (1 << 32) if raw & 0x80000000 else raw
    if valtype == I64:
        raw &= _M64
        return raw - (1 << 64) if raw & (1 << 63) else raw
    if valtype == F32:
        return bits_to_f32(raw)
    if valtype == F64:
        return bits_to_f64(raw)
    if valtype == V128:
        return raw
    raise ValueError(f"not a number type: {valtype:#x}")


__all__ = ["Imports", "InstanceData", "allocate", "PAGE_SIZE"]
