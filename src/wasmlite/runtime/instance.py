"""Module instantiation at the native level (WebAssembly spec §4.5.4 "Instantiation").

:func:`allocate` builds an :class:`InstanceData` — VMContext, VMFuncRefs of the defined
functions, memories, tables, globals (initialised from their constant expressions),
passive element segments — from already resolved and type-checked imports and the
module's :class:`~wasmlite.runtime.template.InstanceTemplate` (what every instance of
the module shares: see ``runtime/template.py``); :meth:`InstanceData.initialize` then
applies the active element and data segments in order (2.0 semantics: a failing
segment traps after the earlier ones were applied; the data segments as a memory
image when they allow it) and drops active and declarative segments.  Running the
start function is the caller's job.
"""

from __future__ import annotations

import ctypes
import mmap as _mmap
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
from ..environ.vmoffsets import GLOBAL_SIZE
from ..errors import Trap, TrapCode
from . import builtins, native
from .globals import GlobalData
from .memory import LinearMemory
from .native import NULL_INDEX
from .routines import resolve
from .signals import ensure_installed
from .store import StoreData
from .table import TableData
from .template import InstanceTemplate, eval_const_expr

_M32 = 0xFFFFFFFF
_M64 = (1 << 64) - 1
_TABLE_OOB = TrapCode.TABLE_OUT_OF_BOUNDS
_MEM_OOB = TrapCode.MEMORY_OUT_OF_BOUNDS


@dataclass
class Imports:
    """Resolved imports, per index space, in import order: ``funcs`` are ``VMFuncRef``
    addresses, the others runtime objects."""

    funcs: list[int] = field(default_factory=list)
    tables: list[TableData] = field(default_factory=list)
    memories: list[LinearMemory] = field(default_factory=list)
    globals: list[GlobalData] = field(default_factory=list)


#: Per-instance arrays of at least this many bytes (the VMContext and the VMFuncRef
#: array of a module with thousands of functions) come from an anonymous mapping
#: populated in one system call: writing them then costs no page fault per page
#: (about a quarter less time for 1 MiB on the development VM).
POPULATE_MIN = 64 << 10
_POPULATE_FLAGS = (_mmap.MAP_PRIVATE | getattr(_mmap, "MAP_ANONYMOUS", 0x20)
                   | getattr(_mmap, "MAP_POPULATE", 0))


def _zeroed(array_type: type, nbytes: int) -> ctypes.Array:
    """A zero-filled instance of the ctypes array type ``array_type`` (``nbytes``
    long); big ones are backed by a populated mapping, released with the array."""
    if nbytes >= POPULATE_MIN:
        try:
            return array_type.from_buffer(_mmap.mmap(-1, nbytes, flags=_POPULATE_FLAGS))
        except (OSError, ValueError):
            pass
    return array_type()


class InstanceData:
    """The native state of one module instance, made by :func:`allocate` from the
    module's :class:`~wasmlite.runtime.template.InstanceTemplate`.

    ``func_refs[funcidx]`` is the ``VMFuncRef`` address of every function (imports
    first; a view of the VMContext's function slots); ``elems``/``datas`` hold the
    (raw, evaluated) segments, emptied when dropped.
    """

    def __init__(self, store: StoreData, template: InstanceTemplate,
                 vmctx: ctypes.Array | None = None):
        self.store = store
        self.info = template.info
        self.template = template
        self.offsets = template.offsets
        #: ``vmctx``: a freed instance's (``template.spares``), overwritten whole here
        self.vmctx = vmctx if vmctx is not None else _zeroed(template.vmctx_type,
                                                             template.vmctx_size)
        ctypes.memmove(self.vmctx, template.vmctx_image, template.vmctx_size)
        self.vmctx_addr = ctypes.addressof(self.vmctx)
        self._func_refs: ctypes.Array | None = None
        self.memories: list[LinearMemory] = []
        self.tables: list[TableData] = []
        self.globals: list[GlobalData] = []
        self.globals_block: ctypes.Array | None = None
        self.elems: list[Sequence[int]] = []
        #: the data segments' bytes by dataidx, ``b""`` once dropped: the template's
        #: tuple (active segments already dropped) until a ``data.drop`` copies it
        self.datas: Sequence[bytes] = []
        self.funcref_array: ctypes.Array | None = None

    def release(self) -> None:
        """The instance's store is gone (``StoreData.close``, after ``unregister``):
        leave its VMContext, VMFuncRefs and defined tables' elements to the next instance
        of its module (``InstanceTemplate.spares``, when big enough and not full) and
        drop them here, so that nothing reads them through this object again."""
        tpl = self.template
        vmctx, self.vmctx, self._func_refs = self.vmctx, None, None
        funcrefs, self.funcref_array = self.funcref_array, None
        defined = self.tables[len(self.tables) - len(self.info.tables):]
        elements = []
        for t in defined:
            # a grown table has a bigger array: the next instance makes its own
            elements.append(t.elements if len(t.elements) == max(t.minimum, 1) else None)
            t.detach()
        if vmctx is not None and funcrefs is not None and len(tpl.spares) < tpl.spare_cap:
            tpl.spares.append((vmctx, funcrefs, elements))

    @property
    def func_refs(self) -> ctypes.Array:
        """The VMContext's function slots as a ``c_uint64`` array indexed by
        ``funcidx``: the ``VMFuncRef`` address of every function."""
        fr = self._func_refs
        if fr is None:
            tpl = self.template
            fr = self._func_refs = (ctypes.c_uint64 * tpl.num_funcs).from_buffer(
                self.vmctx, tpl.offsets.funcs)
        return fr

    def func_ref(self, funcidx: int) -> int:
        """The ``VMFuncRef`` address of function ``funcidx``."""
        return self.vmctx[self.template.funcs_slot + funcidx]

    # -- constant expressions (spec §3.3.10, §4.4.10) ---------------------------------
    def eval_const(self, expr: ConstExpr) -> int:
        """Evaluate a constant expression to a raw value (see ``runtime.globals``)."""
        return eval_const_expr(expr, self._global_raw, self.func_ref)

    def _global_raw(self, globalidx: int) -> int:
        return self.globals[globalidx].raw

    # -- segments ---------------------------------------------------------------------
    def initialize(self) -> None:
        """Apply active element then data segments (spec §4.5.4 steps 14-15).

        Raises :class:`Trap` ("out of bounds table access" / "out of bounds memory
        access") at the first segment that does not fit; earlier ones stay applied.
        Raises :class:`MemoryError` when a memory image can be neither mapped nor
        copied.
        """
        info = self.info
        tpl = self.template
        plans = tpl.elems
        funcs_addr = self.vmctx_addr + 8 * tpl.funcs_slot
        for i, seg in enumerate(info.elems):
            if seg.mode != "active":
                continue
            plan = plans[i]
            dst = plan.offset
            if dst is None:
                assert seg.offset is not None
                dst = self.eval_const(seg.offset)
            t = self.tables[seg.table]
            dst &= _M64 if t.is_64 else _M32
            idx = plan.indices
            if idx is not None:
                n = len(idx)
                if dst + n > t.size:
                    raise Trap.from_code(_TABLE_OOB)
                if n:
                    native.gather(t.vm[0] + 8 * dst, funcs_addr, idx.buffer_info()[0], n)
            else:
                items = [self.eval_const(e) for e in seg.items]
                status = builtins.table_init(t, items, dst, 0, len(items))
                if status:
                    raise Trap.from_code(TrapCode(status - vo.STATUS_TRAP_BASE))
        images = tpl.memory_images
        if images is not None:
            nimp = tpl.num_imported_memories
            for k, image in enumerate(images):
                if image is not None:
                    image.apply(self.memories[nimp + k])
            # shared with the module until a data.drop changes it (builtins._data_drop)
            self.datas = tpl.datas_after_init
            return
        self.datas = list(tpl.datas_initial)
        for i, seg in enumerate(info.datas):
            if seg.mode == "active":
                assert seg.offset is not None
                mem = self.memories[seg.memory]
                dst = self.eval_const(seg.offset) & (_M64 if mem.is_64 else _M32)
                status = builtins.memory_init(mem, self.datas[i], dst, 0, len(self.datas[i]))
                if status:
                    raise Trap.from_code(_MEM_OOB)
                self.datas[i] = b""


def allocate(store: StoreData, info: ModuleInfo, function_addrs: Sequence[int],
             type_ids: Sequence[int], imports: Imports,
             template: InstanceTemplate | None = None) -> InstanceData:
    """Allocate an instance (spec §4.5.3 "allocmodule") and fill its VMContext.

    ``function_addrs`` are the native addresses of the defined functions, ``type_ids``
    the engine-wide signature id of each module type; ``template`` the module's
    :class:`~wasmlite.runtime.template.InstanceTemplate` built from the same three
    (made here when ``None``).  The VMContext is a copy of the template's image; the
    per-function slots and ``VMFuncRef``\\ s are filled by native loops
    (``runtime/native.py``), the defined globals are one block initialized from the
    template's bytes (initializers that read globals or function references are
    evaluated here, in order).  Raises :class:`MemoryError` when a memory or table
    cannot be allocated and :class:`WasmtimeError` past the store's resource limits
    (``Store.set_limits``; counted first, as Wasmtime does), :class:`ValueError` when
    ``function_addrs`` does not have one address per defined function.
    """
    # the first point where wasm code can run: the routines' thunks must lead somewhere
    # and the signal handler be in place (both cheap checks after the first time)
    resolve()
    if store.check_handler:
        ensure_installed()
        store.check_handler = False
    if template is None:
        template = InstanceTemplate(info, function_addrs, type_ids)
    fptrs = template.func_ptrs(function_addrs)
    if len(fptrs) != template.num_defined_funcs:  # the native loop reads that many
        raise ValueError(f"{len(fptrs)} function addresses for "
                         f"{template.num_defined_funcs} functions")
    store.bump_counts(len(info.memories), len(info.tables))
    spare = None
    if template.spares:
        try:
            spare = template.spares.pop()
        except IndexError:  # another thread took the last one
            pass
    inst = InstanceData(store, template, spare[0] if spare is not None else None)
    v = inst.vmctx
    vaddr = inst.vmctx_addr
    v[vo.VMCTX_STORE_CTX // 8] = store.ctx_addr

    # functions: imports, then one VMFuncRef per defined function
    nimp = template.num_imported_funcs
    f0 = template.funcs_slot
    if nimp:
        v[f0:f0 + nimp] = imports.funcs
    n = template.num_defined_funcs
    # a spare array is overwritten whole (three words per function)
    inst.funcref_array = arr = spare[1] if spare is not None else _zeroed(
        template.funcref_type, 3 * 8 * n)
    if n:
        base = ctypes.addressof(arr)
        native.fill_funcrefs(base, fptrs.buffer_info()[0],
                             template.func_type_ids.buffer_info()[0], vaddr, n)
        native.fill_affine(vaddr + 8 * (f0 + nimp), base, vo.FUNCREF_SIZE, n)

    # memories and tables
    memories = inst.memories = list(imports.memories)
    for mt in info.memories:
        memories.append(store.new_memory(mt.limits.min, mt.limits.max, mt.is_64))
    tables = inst.tables = list(imports.tables)
    for k, tt in enumerate(info.tables):
        tables.append(store.new_table(tt.elem, tt.limits.min, tt.limits.max, host=False,
                                      elements=spare[2][k] if spare is not None else None,
                                      is_64=tt.is_64))
    m0, t0 = template.memories_slot, template.tables_slot
    for i, m in enumerate(memories):
        v[m0 + i] = m.vm_addr
    for i, t in enumerate(tables):
        v[t0 + i] = t.vm_addr

    # globals: imported ones, then one block holding the defined ones, constant
    # initializers in place; the others evaluated in order (they may read imported and
    # earlier globals, and function references)
    gl = inst.globals = list(imports.globals)
    g0 = template.globals_slot
    for i, g in enumerate(gl):
        v[g0 + i] = g.vm_addr
    if info.globals:
        block = inst.globals_block = template.globals_type.from_buffer_copy(
            template.globals_image)
        at = GlobalData.at
        nimpg = len(gl)
        for i, g in enumerate(info.globals):
            gl.append(at(block, i, g.type.valtype, g.type.mutable))
        native.fill_affine(vaddr + 8 * (g0 + nimpg), ctypes.addressof(block),
                           GLOBAL_SIZE, len(info.globals))
        for i, expr in template.global_exprs:
            gl[nimpg + i].raw = inst.eval_const(expr)

    # typed references: the module-independent types of defined tables and globals,
    # for import matching elsewhere (worked out once, by the template)
    if template.table_ckeys is not None:
        for k, key in enumerate(template.table_ckeys):
            tables[len(imports.tables) + k].ckey = key
        for i, key in enumerate(template.global_ckeys):  # type: ignore[arg-type]
            gl[len(imports.globals) + i].ckey = key

    # tables with an initializer (typed function references): filled with its value
    # (it reads imported globals and functions only)
    ntimp = len(imports.tables)
    for k, expr in info.table_inits.items():
        raw = inst.eval_const(expr)
        if raw:
            t = tables[ntimp + k]
            t.fill(0, raw, t.size)

    # segments: passive element segments evaluated now (active ones are applied and
    # declarative ones dropped by initialize)
    elems: list[Sequence[int]] = [()] * len(info.elems)
    for i in template.passive_elems:
        idx = template.elems[i].indices
        if idx is not None:
            fr = inst.func_ref
            elems[i] = [0 if j == NULL_INDEX else fr(j) for j in idx]
        else:
            elems[i] = [inst.eval_const(e) for e in info.elems[i].items]
    inst.elems = elems

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


__all__ = ["Imports", "InstanceData", "InstanceTemplate", "allocate", "PAGE_SIZE"]
