"""What instantiating a module does the same way every time, computed once per module
(Wasmtime: the module's ``VMOffsets``, its memory images — ``MemoryImage``, built from
the data segments at compile time — and its table initialization plan).

An :class:`InstanceTemplate` holds, for one module of one engine:

* the VMContext image: builtins address and engine-wide signature ids in place, the
  other slots zero (``runtime/instance.py`` fills the store context, memories, tables,
  globals and functions of each instance);
* the signature id of every defined function, next to the function addresses, for the
  ``VMFuncRef`` array (``runtime/native.py`` fills it in one native loop);
* the initial bytes of the defined globals whose initializer is constant (no
  ``ref.func``, no ``global.get`` but of an earlier such global — 3.0 lets
  initializers read defined globals), the others being evaluated per instance; the
  offsets below may read the constant ones too;
* every element segment as a ``u32`` ``funcidx`` array (:data:`native.NULL_INDEX` for
  ``ref.null``) when all its items are ``ref.func``/``ref.null``, and its offset when
  that is constant — an active segment then fills its table with one native gather;
* the data segments as one :class:`MemoryImage` per defined memory, when every active
  data segment has a constant offset, targets a defined memory and lies within that
  memory's minimum size.  Otherwise the segments are applied one by one, as the spec
  describes (2.0 semantics: the first one out of bounds traps, earlier ones stay).

Nothing here depends on a store.  Function addresses are read at each instantiation
(``function_addrs`` as given to :func:`~wasmlite.runtime.instance.allocate`): an
``array('Q')`` is used in place, any other sequence is copied once, on first use.
"""

from __future__ import annotations

import ctypes
import os
import weakref
from array import array
from collections.abc import Sequence
from typing import Any

from ..environ.module import (
    EXTERN_MEMORY,
    PAGE_SIZE,
    REF_BASE,
    V128,
    ConstExpr,
    ModuleInfo,
    canonical_types,
    canonical_valtype,
)
from ..environ.vmoffsets import (
    GLOBAL_SIZE,
    VMCTX_BUILTINS,
    VMOffsets,
)
from . import builtins, libc
from .memory import MEMORY64_RESERVE
from .native import NULL_INDEX

_I32_CONST, _I64_CONST, _F32_CONST, _F64_CONST = 0x41, 0x42, 0x43, 0x44
#: An instance whose VMContext, VMFuncRefs and table elements take at least this many
#: bytes leaves them, when its store is freed, to the next instances of its module
#: (``InstanceTemplate.spares``): writing fresh pages costs about 4 µs per 4 KiB page
#: on the development VM (a module of 3,000 functions: 30 pages, 120 µs per instance),
#: memory already written costs a ``memmove``.  Smaller ones come from ``malloc``.
RECYCLE_MIN = 16 << 10
#: at most this many bytes of spare arrays per module ...
RECYCLE_BYTES = 16 << 20
#: ... and at most this many instances' worth (Wasmtime's pooling allocator likewise
#: keeps freed slots warm for the module that used them, up to
#: ``PoolingAllocationConfig::max_unused_warm_slots``)
WARM_SLOTS = 100

_GLOBAL_GET = 0x23
_REF_NULL, _REF_FUNC = 0xD0, 0xD2
_I32_ADD, _I32_SUB, _I32_MUL = 0x6A, 0x6B, 0x6C
_I64_ADD, _I64_SUB, _I64_MUL = 0x7C, 0x7D, 0x7E
_V128_CONST = 0xFD000 + 12
_M32 = 0xFFFFFFFF
_M64 = (1 << 64) - 1

class NotConstant(Exception):
    """A constant expression reads a global or a function reference (its value depends
    on the instance)."""


def eval_const_expr(expr: ConstExpr, global_raw: Any = None, func_ref: Any = None) -> int:
    """Evaluate a constant expression (spec §3.3.10, §4.4.10; extended-const) to a raw
    value (see ``runtime.globals``).  ``global_raw(globalidx)`` and
    ``func_ref(funcidx)`` give the raw value of a global and the ``VMFuncRef``
    address of a function; when one is ``None`` and the expression needs it,
    :class:`NotConstant` is raised.  :class:`~wasmlite.errors.WasmtimeError` for an
    instruction that is not constant (a module that skipped validation)."""
    stack: list[int] = []
    for op, imm, _off in expr:
        if op == _I32_CONST:
            stack.append(imm & _M32)
        elif op == _I64_CONST:
            stack.append(imm & _M64)
        elif op in (_F32_CONST, _F64_CONST):
            stack.append(imm)
        elif op == _GLOBAL_GET:
            if global_raw is None:
                raise NotConstant
            stack.append(global_raw(imm))
        elif op == _REF_NULL:
            stack.append(0)
        elif op == _REF_FUNC:
            if func_ref is None:
                raise NotConstant
            stack.append(func_ref(imm))
        elif op == _V128_CONST:
            stack.append(int.from_bytes(imm, "little"))
        elif op in (_I32_ADD, _I32_SUB, _I32_MUL, _I64_ADD, _I64_SUB, _I64_MUL):
            b, a = stack.pop(), stack.pop()
            r = a + b if op in (_I32_ADD, _I64_ADD) else a - b if op in (_I32_SUB, _I64_SUB) \
                else a * b
            stack.append(r & (_M32 if op <= _I32_MUL else _M64))
        else:
            from ..errors import WasmtimeError

            raise WasmtimeError(f"unsupported instruction {op:#x} in a constant expression")
    if len(stack) != 1:
        from ..errors import WasmtimeError

        raise WasmtimeError("constant expression does not produce exactly one value")
    return stack[0]


def _constant(expr: ConstExpr | None, known: dict[int, int] | None = None) -> int | None:
    """The value of ``expr`` when it depends on nothing but itself and the globals of
    ``known`` (global index -> raw value: defined globals whose initializers are
    constant), else ``None``.  WebAssembly 3.0 lets a constant expression read defined
    globals (spec 3.0 §3.3.10), so ``(global $g2 i32 (i32.add (global.get $g1) ...))``
    and a data offset ``(global.get $g2)`` are known before any instance is made."""
    if expr is None:
        return None
    global_raw = None
    if known:
        def global_raw(idx: int) -> int:
            try:
                return known[idx]
            except KeyError:  # an imported global, or one computed per instance
                raise NotConstant from None
    try:
        return eval_const_expr(expr, global_raw)
    except NotConstant:
        return None


class MemoryImage:
    """The initial contents of one defined memory (Wasmtime's ``MemoryImage``).

    ``segments`` are the ``(offset, bytes)`` of its active data segments in order, all
    within the memory's minimum size.  They are written once to a ``memfd`` (``fd``; a
    sparse file: only the segments' pages hold memory), and :meth:`apply` maps
    ``[start, start + length)`` of it ``MAP_PRIVATE | MAP_FIXED`` over the instance's
    memory: the pages are shared until an instance writes to them, and nothing is
    copied at instantiation.  ``start`` and ``length`` are multiples of the host page
    size.  Where ``memfd_create`` is missing or fails, or with ``cow`` false
    (``Config.memory_init_cow = False``), ``fd`` is -1 and :meth:`apply` copies the
    segments.  The descriptor is closed when the image is collected.
    """

    __slots__ = ("segments", "start", "length", "fd", "__weakref__")

    def __init__(self, segments: list[tuple[int, bytes]], cow: bool = True):
        self.segments = segments
        page = libc.HOST_PAGE_SIZE
        self.start = min(off for off, d in segments) // page * page
        end = -(-max(off + len(d) for off, d in segments) // page) * page
        self.length = end - self.start
        self.fd = fd = _image_file(segments, end) if cow else -1
        if fd >= 0:
            weakref.finalize(self, os.close, fd)

    def apply(self, mem: Any) -> None:
        """Give the fresh :class:`~wasmlite.runtime.memory.LinearMemory` ``mem`` (all
        zero, at least as long as the image's end) the image's contents.  Raises
        :class:`MemoryError` when neither the mapping nor the fallback can be made."""
        if self.fd >= 0:
            addr = mem.base + self.start
            try:
                libc.map_private_fixed(addr, self.length, self.fd, self.start)
                return
            except OSError:
                pass
            # a failed MAP_FIXED may have unmapped the range: map fresh zero pages back
            # over it before copying the segments
            try:
                libc.map_anonymous_fixed(addr, self.length)
            except OSError as e:
                raise MemoryError(f"cannot map the initial memory image: {e}") from None
        for off, d in self.segments:
            ctypes.memmove(mem.base + off, d, len(d))


def _image_file(segments: list[tuple[int, bytes]], size: int) -> int:
    """A ``memfd`` of ``size`` bytes holding ``segments`` (later ones over earlier
    ones), or -1 when one cannot be made."""
    if not hasattr(os, "memfd_create"):
        return -1
    try:
        fd = os.memfd_create("wasmlite-memory-image", os.MFD_CLOEXEC)
    except OSError:
        return -1
    try:
        os.ftruncate(fd, size)
        for off, d in segments:
            view = memoryview(d)
            pos = off
            while view:
                n = os.pwrite(fd, view, pos)
                view, pos = view[n:], pos + n
    except OSError:
        os.close(fd)
        return -1
    return fd


class ElemPlan:
    """One element segment: ``indices`` (``array('I')`` of ``funcidx``, ``NULL_INDEX``
    for null) when every item is ``ref.func``/``ref.null``, else ``None`` (evaluated
    per instance); ``offset`` the raw constant offset of an active segment, or ``None``
    when it reads a global."""

    __slots__ = ("indices", "offset")

    def __init__(self, indices: array | None, offset: int | None):
        self.indices = indices
        self.offset = offset


class InstanceTemplate:
    """Everything instantiation needs from ``info`` that does not depend on the store
    or the imports (see the module docstring).  ``type_ids`` are the engine-wide
    signature ids of the module's types (``Engine._sig_id``); ``function_addrs`` the
    native addresses of the defined functions (read only by :meth:`func_ptrs`);
    ``memory_init_cow`` false (Wasmtime's ``Config::memory_init_cow``) copies the data
    segments into each instance instead of mapping them.

    Raises :class:`~wasmlite.errors.WasmtimeError` for a constant expression that is
    not one (possible only for modules that skipped validation).
    """

    def __init__(self, info: ModuleInfo, function_addrs: Sequence[int],
                 type_ids: Sequence[int], memory_init_cow: bool = True):
        self.info = info
        self.offsets = off = VMOffsets.for_module(info)
        nslots = off.size // 8
        self.vmctx_type = ctypes.c_uint64 * nslots
        self.vmctx_size = off.size
        #: slot numbers (8-byte units) of the function, memory, table and global slots
        self.funcs_slot = off.funcs // 8
        self.memories_slot = off.memories // 8
        self.tables_slot = off.tables // 8
        self.globals_slot = off.globals // 8
        image = array("Q", bytes(off.size))
        image[VMCTX_BUILTINS // 8] = builtins.BUILTINS_ADDR
        t0 = off.type_ids // 8
        image[t0:t0 + len(type_ids)] = array("Q", type_ids)
        self.vmctx_image = image.tobytes()
        self.num_imported_funcs = nimp = info.num_imported_funcs
        self.num_funcs = nfuncs = nimp + len(info.funcs)
        self.num_defined_funcs = len(info.funcs)
        self.funcref_type = ctypes.c_uint64 * max(3 * len(info.funcs), 1)
        self.func_type_ids = array("Q", [type_ids[t] for t in info.funcs])
        self._addrs_src = function_addrs
        self._addrs = function_addrs if _is_u64_array(function_addrs) \
            else array("Q", function_addrs)
        self.num_imported_memories = sum(1 for i in info.imports if i.kind == EXTERN_MEMORY)
        #: the per-instance arrays of freed instances, for the next ones
        #: (``InstanceData.release``): (VMContext, VMFuncRef array, element array of
        #: each defined table or ``None``), at most ``spare_cap`` of them
        self.spares: list[tuple[Any, Any, list[Any]]] = []
        per = (off.size + 24 * len(info.funcs)
               + sum(8 * max(t.limits.min, 1) for t in info.tables))
        self.spare_cap = min(WARM_SLOTS, RECYCLE_BYTES // per) if per >= RECYCLE_MIN else 0
        #: typed references: the module-independent types (``canonical_valtype``) of the
        #: defined tables and globals, which import matching elsewhere compares; ``None``
        #: when no defined table or global has a typed reference type
        self.table_ckeys: list[Any] | None = None
        self.global_ckeys: list[Any] | None = None
        if any(tt.elem >= REF_BASE for tt in info.tables) or \
                any(g.type.valtype >= REF_BASE for g in info.globals):
            ct = canonical_types(info.types)
            self.table_ckeys = [canonical_valtype(tt.elem, ct) for tt in info.tables]
            self.global_ckeys = [canonical_valtype(g.type.valtype, ct) for g in info.globals]

        # globals: one block of VMGlobals; constant initial values pre-packed
        self.num_imported_globals = info.num_imported_globals
        ng = len(info.globals)
        self.globals_type = ctypes.c_uint64 * max(ng * GLOBAL_SIZE // 8, 1)
        gimage = array("Q", bytes(max(ng, 1) * GLOBAL_SIZE))
        #: defined-global index -> init expression, for those evaluated per instance
        self.global_exprs: list[tuple[int, ConstExpr]] = []
        #: global index -> raw value of the defined globals whose initializers are
        #: constant (3.0 initializers and segment offsets may read them)
        self.constant_globals: dict[int, int] = {}
        nimpg = info.num_imported_globals
        for i, g in enumerate(info.globals):
            raw = _constant(g.init, self.constant_globals)
            if raw is None:
                self.global_exprs.append((i, g.init))
                continue
            self.constant_globals[nimpg + i] = raw
            slot = i * GLOBAL_SIZE // 8
            gimage[slot] = raw & _M64
            if g.type.valtype == V128:
                gimage[slot + 1] = (raw >> 64) & _M64
        self.globals_image = gimage.tobytes()

        # element segments
        self.elems: list[ElemPlan] = []
        for seg in info.elems:
            idx = array("I")
            for e in seg.items:
                if len(e) == 1 and e[0][0] == _REF_FUNC and 0 <= e[0][1] < nfuncs:
                    idx.append(e[0][1])
                elif len(e) == 1 and e[0][0] == _REF_NULL:
                    idx.append(NULL_INDEX)
                else:
                    idx = None
                    break
            offset = _constant(seg.offset, self.constant_globals) \
                if seg.mode == "active" else None
            self.elems.append(ElemPlan(idx, offset))
        self.passive_elems = [i for i, seg in enumerate(info.elems) if seg.mode == "passive"]

        # data segments
        self.datas_initial = [seg.data for seg in info.datas]
        self.datas_after_init = tuple(b"" if seg.mode == "active" else seg.data
                                      for seg in info.datas)
        self.memory_images: list[MemoryImage | None] | None = self._memory_images(
            info, memory_init_cow)

    def _memory_images(self, info: ModuleInfo,
                       cow: bool) -> list[MemoryImage | None] | None:
        """One image (or ``None``: nothing to write) per defined memory, or ``None``
        when the segments must be applied one by one."""
        nimp = self.num_imported_memories
        per_mem: list[list[tuple[int, bytes]]] = [[] for _ in info.memories]
        for seg in info.datas:
            if seg.mode != "active":
                continue
            off = _constant(seg.offset, self.constant_globals)
            m = seg.memory - nimp
            if off is None or not 0 <= m < len(info.memories):
                return None
            mt = info.memories[m]
            off &= _M64 if mt.is_64 else _M32   # memory64: an i64 offset
            if mt.is_64 and mt.limits.min > MEMORY64_RESERVE:
                return None  # cannot be allocated: the instantiation fails first
            if off + len(seg.data) > mt.limits.min * PAGE_SIZE:
                return None  # traps: the slow path applies the earlier ones first
            if seg.data:
                per_mem[m].append((off, seg.data))
        return [MemoryImage(segs, cow) if segs else None for segs in per_mem]

    def func_ptrs(self, function_addrs: Sequence[int]) -> array:
        """The defined functions' addresses as an ``array('Q')``: ``function_addrs``
        itself when it is one (read in place, so later changes show), else the copy made
        from the sequence this template was built with (which must not have changed)."""
        if function_addrs is self._addrs_src:
            return self._addrs
        if _is_u64_array(function_addrs):
            return function_addrs  # type: ignore[return-value]
        return array("Q", function_addrs)


def _is_u64_array(x: Any) -> bool:
    return isinstance(x, array) and x.typecode == "Q"


__all__ = ["ElemPlan", "InstanceTemplate", "MemoryImage", "NotConstant",
           "eval_const_expr"]
