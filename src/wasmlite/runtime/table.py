"""Tables (WebAssembly spec §4.2.7 "Table Instances").

The elements are an array of 8-byte entries (``VMFuncRef*`` for funcref, an externref
handle for externref, 0 = null).  :data:`vm` is the ``VMTable`` structure of
``environ/vmoffsets.py``; ``table.grow`` reallocates the array and updates it.
"""

from __future__ import annotations

import ctypes

from ..environ.vmoffsets import SLOT, TABLE_SIZE

#: Upper bound on the number of elements of a table without a declared maximum (the
#: spec allows 2^32-1; this keeps a runaway ``table.grow`` from exhausting host memory).
TABLE_ELEMENTS_LIMIT = 10_000_000
_U32 = 0xFFFFFFFF


_VMTABLE = ctypes.c_uint64 * (TABLE_SIZE // SLOT)


class TableData:
    """One table.  ``elem`` is the reftype byte, ``minimum``/``maximum`` element counts,
    ``init`` the raw value of every initial element; ``elements``, an array of
    ``max(minimum, 1)`` ``c_uint64`` to reuse (a freed instance's, see
    ``InstanceData.release``), is overwritten whole.

    Raises :class:`MemoryError` when ``minimum`` exceeds the supported size.
    """

    __slots__ = ("elem", "minimum", "maximum", "elements", "vm", "vm_addr", "limiter",
                 "is_64", "index_mask", "ckey", "__weakref__")

    def __init__(self, elem: int, minimum: int, maximum: int | None, init: int = 0,
                 elements: ctypes.Array | None = None, is_64: bool = False):
        self.elem = elem
        #: the element type made module-independent (``environ.module.canonical_valtype``:
        #: a type index of its module replaced by that type's structure), for import
        #: matching
        self.ckey: object = elem
        #: a 64-bit table (memory64's table64): i64 indices
        self.is_64 = is_64
        #: what the builtins keep of an index operand (a 32-bit table's low half)
        self.index_mask = (1 << 64) - 1 if is_64 else _U32
        self.minimum = minimum
        self.maximum = maximum
        #: the owning store's ``StoreLimits`` (``Store.set_limits``), consulted by grow
        self.limiter = None
        if minimum > self.max_elements:
            raise MemoryError(f"table minimum size {minimum} is too large")
        self.vm = _VMTABLE()
        self.vm_addr = ctypes.addressof(self.vm)
        if elements is not None and len(elements) == max(minimum, 1):
            ctypes.memset(elements, 0, ctypes.sizeof(elements))
            self.elements = elements
        else:
            self.elements = (ctypes.c_uint64 * max(minimum, 1))()
        if init:
            for i in range(minimum):
                self.elements[i] = init
        self.vm[0] = ctypes.addressof(self.elements)
        self.vm[1] = minimum

    def detach(self) -> None:
        """Forget the element array (its owner's store is gone and the array may go to
        another table): the table is empty from now on."""
        self.vm[1] = 0
        self.elements = (ctypes.c_uint64 * 1)()
        self.vm[0] = ctypes.addressof(self.elements)

    @property
    def max_elements(self) -> int:
        if self.maximum is None:
            return TABLE_ELEMENTS_LIMIT
        return min(self.maximum, TABLE_ELEMENTS_LIMIT)

    @property
    def size(self) -> int:
        """Current length in elements."""
        return self.vm[1]

    def get(self, i: int) -> int:
        """Raw element ``i``; raises :class:`IndexError` out of bounds."""
        if not 0 <= i < self.vm[1]:
            raise IndexError(i)
        return self.elements[i]

    def set(self, i: int, raw: int) -> None:
        """Set raw element ``i``; raises :class:`IndexError` out of bounds."""
        if not 0 <= i < self.vm[1]:
            raise IndexError(i)
        self.elements[i] = raw

    def grow(self, delta: int, init: int) -> int:
        """``table.grow`` (spec §4.4.6): returns the old size, or ``-1`` on failure
        (beyond the maximum or the store's ``table_elements`` limit)."""
        old = self.vm[1]
        new = old + delta
        if delta < 0 or new > self.max_elements:
            return -1
        if self.limiter is not None and delta and not self.limiter.table_fits(new):
            return -1
        if delta == 0:
            return old
        if new > len(self.elements):
            cap = max(new, min(2 * len(self.elements), self.max_elements))
            try:
                arr = (ctypes.c_uint64 * cap)()
            except MemoryError:
                return -1
            ctypes.memmove(arr, self.elements, old * 8)
            self.elements = arr
            self.vm[0] = ctypes.addressof(arr)
        if init:
            for i in range(old, new):
                self.elements[i] = init
        else:
            ctypes.memset(self.vm[0] + old * 8, 0, delta * 8)
        self.vm[1] = new
        return old

    def fill(self, dst: int, raw: int, n: int) -> bool:
        """``table.fill``; ``False`` when ``dst + n`` is out of bounds (nothing written)."""
        if dst + n > self.vm[1]:
            return False
        for i in range(dst, dst + n):
            self.elements[i] = raw
        return True
