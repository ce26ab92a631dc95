"""The builtin functions generated code calls (``BUILTIN_*`` in ``environ/vmoffsets.py``).

They are ``ctypes`` callbacks with the C calling convention; one array of their
addresses is shared by every VMContext (``VMCTX_BUILTINS``).  A builtin finds its
instance from the ``vmctx`` address through :data:`INSTANCES`.  Each returns a status
(0 or trap code + 1) except the ``*_grow`` ones, which return the old size or -1
(spec §4.4.6-4.4.7).
"""

from __future__ import annotations

import ctypes
from ctypes import c_int32, c_int64, c_void_p
from typing import Any

from ..environ import vmoffsets as vo
from ..errors import TrapCode

#: vmctx address -> runtime ``InstanceData``
INSTANCES: dict[int, Any] = {}

_U32 = 0xFFFFFFFF
_MEM_OOB = TrapCode.MEMORY_OUT_OF_BOUNDS + vo.STATUS_TRAP_BASE
_TABLE_OOB = TrapCode.TABLE_OUT_OF_BOUNDS + vo.STATUS_TRAP_BASE
_OUT_OF_FUEL = TrapCode.OUT_OF_FUEL + vo.STATUS_TRAP_BASE


def register(inst: Any) -> None:
    INSTANCES[inst.vmctx_addr] = inst


def unregister(inst: Any) -> None:
    INSTANCES.pop(inst.vmctx_addr, None)


def _fail(vmctx: int, exc: BaseException) -> int:
    inst = INSTANCES.get(vmctx)
    if inst is not None:
        inst.store.pending = exc
    return vo.STATUS_HOST_EXCEPTION


def _memory_grow(vmctx, memidx, delta):  # noqa: ANN001, ANN202
    try:
        m = INSTANCES[vmctx].memories[memidx]
        # a 32-bit memory's delta is the low half (callers may leave the high half unset)
        return m.grow(delta & m.index_mask)
    except BaseException:  # noqa: BLE001 - must never unwind into native code
        return -1


def _table_grow(vmctx, tableidx, init, delta):  # noqa: ANN001, ANN202
    try:
        t = INSTANCES[vmctx].tables[tableidx]
        # a 32-bit table's operands are the low halves (callers may leave the rest unset)
        return t.grow(delta & t.index_mask, init or 0)
    except BaseException:  # noqa: BLE001
        return -1


def _table_fill(vmctx, tableidx, dst, val, n):  # noqa: ANN001, ANN202
    try:
        t = INSTANCES[vmctx].tables[tableidx]
        m = t.index_mask
        return 0 if t.fill(dst & m, val or 0, n & m) else _TABLE_OOB
    except BaseException as e:  # noqa: BLE001
        return _fail(vmctx, e)


def _table_copy(vmctx, dst_tbl, src_tbl, dst, src, n):  # noqa: ANN001, ANN202
    try:
        inst = INSTANCES[vmctx]
        td, ts = inst.tables[dst_tbl], inst.tables[src_tbl]
        dst &= td.index_mask
        src &= ts.index_mask
        n &= td.index_mask & ts.index_mask   # the narrower index type's length
        if src + n > ts.size or dst + n > td.size:
            return _TABLE_OOB
        if n:
            ctypes.memmove(td.vm[0] + 8 * dst, ts.vm[0] + 8 * src, 8 * n)
        return 0
    except BaseException as e:  # noqa: BLE001
        return _fail(vmctx, e)


def _table_init(vmctx, tableidx, elemidx, dst, src, n):  # noqa: ANN001, ANN202
    try:
        inst = INSTANCES[vmctx]
        t = inst.tables[tableidx]
        items = inst.elems[elemidx]
        return table_init(t, items, dst & t.index_mask, src & _U32, n & _U32)
    except BaseException as e:  # noqa: BLE001
        return _fail(vmctx, e)


def table_init(t: Any, items: list[int], dst: int, src: int, n: int) -> int:
    """``table.init`` on a runtime table: copy ``items[src:src+n]`` to ``dst``; status."""
    if src + n > len(items) or dst + n > t.size:
        return _TABLE_OOB
    els = t.elements
    for i in range(n):
        els[dst + i] = items[src + i]
    return 0


def _elem_drop(vmctx, elemidx):  # noqa: ANN001, ANN202
    try:
        INSTANCES[vmctx].elems[elemidx] = []
        return 0
    except BaseException as e:  # noqa: BLE001
        return _fail(vmctx, e)


def memory_init(m: Any, data: bytes, dst: int, src: int, n: int) -> int:
    """``memory.init`` on a runtime memory: copy ``data[src:src+n]`` to ``dst``; status."""
    if src + n > len(data) or dst + n > m.length:
        return _MEM_OOB
    if n:
        ctypes.memmove(m.base + dst, data[src:src + n], n)
    return 0


def _memory_init(vmctx, memidx, dataidx, dst, src, n):  # noqa: ANN001, ANN202
    try:
        inst = INSTANCES[vmctx]
        m = inst.memories[memidx]
        return memory_init(m, inst.datas[dataidx], dst & m.index_mask,
                           src & _U32, n & _U32)
    except BaseException as e:  # noqa: BLE001
        return _fail(vmctx, e)


def _data_drop(vmctx, dataidx):  # noqa: ANN001, ANN202
    try:
        inst = INSTANCES[vmctx]
        datas = inst.datas
        if datas[dataidx]:
            if type(datas) is tuple:  # still the module's (runtime/instance.py)
                inst.datas = datas = list(datas)
            datas[dataidx] = b""
        return 0
    except BaseException as e:  # noqa: BLE001
        return _fail(vmctx, e)


def _out_of_gas(vmctx):  # noqa: ANN001, ANN202
    """Compiled code found ``STORE_FUEL >= 0`` (Wasmtime's ``out_of_gas`` libcall): refuel
    from the store's reserve (0) or trap "all fuel consumed by WebAssembly"."""
    try:
        return 0 if INSTANCES[vmctx].store.refuel() else _OUT_OF_FUEL
    except BaseException as e:  # noqa: BLE001
        return _fail(vmctx, e)


_CALLBACKS = {
    vo.BUILTIN_MEMORY_GROW: ctypes.CFUNCTYPE(c_int64, c_void_p, c_int32, c_int64)(_memory_grow),
    vo.BUILTIN_TABLE_GROW: ctypes.CFUNCTYPE(c_int64, c_void_p, c_int32, c_void_p, c_int64)(
        _table_grow),
    vo.BUILTIN_TABLE_FILL: ctypes.CFUNCTYPE(c_int32, c_void_p, c_int32, c_int64, c_void_p,
                                            c_int64)(_table_fill),
    vo.BUILTIN_TABLE_COPY: ctypes.CFUNCTYPE(c_int32, c_void_p, c_int32, c_int32, c_int64,
                                            c_int64, c_int64)(_table_copy),
    vo.BUILTIN_TABLE_INIT: ctypes.CFUNCTYPE(c_int32, c_void_p, c_int32, c_int32, c_int64,
                                            c_int32, c_int32)(_table_init),
    vo.BUILTIN_ELEM_DROP: ctypes.CFUNCTYPE(c_int32, c_void_p, c_int32)(_elem_drop),
    vo.BUILTIN_MEMORY_INIT: ctypes.CFUNCTYPE(c_int32, c_void_p, c_int32, c_int32, c_int64,
                                             c_int32, c_int32)(_memory_init),
    vo.BUILTIN_DATA_DROP: ctypes.CFUNCTYPE(c_int32, c_void_p, c_int32)(_data_drop),
    vo.BUILTIN_OUT_OF_GAS: ctypes.CFUNCTYPE(c_int32, c_void_p)(_out_of_gas),
}

#: The array every VMContext points to at ``VMCTX_BUILTINS``.
BUILTINS_ARRAY = (c_void_p * vo.NUM_BUILTINS)(
    *[ctypes.cast(_CALLBACKS[i], c_void_p).value for i in range(vo.NUM_BUILTINS)])
BUILTINS_ADDR = ctypes.addressof(BUILTINS_ARRAY)
