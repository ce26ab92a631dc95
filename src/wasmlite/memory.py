"""``Memory``: a linear memory (wasmtime-py: ``wasmtime.Memory``), backed by
:class:`wasmlite.runtime.memory.LinearMemory`.
"""

from __future__ import annotations

import ctypes
from typing import Any

from .environ.module import PAGE_SIZE
from .environ.module import Limits as _Limits
from .environ.module import MemoryType as _MemoryType
from .errors import WasmtimeError, c_int_arg, managed_arg
from .runtime.memory import LinearMemory
from .store import Store, check_store, store_of
from .types import MemoryType


class Memory:
    """A linear memory in a store.  ``Memory(store, ty)`` creates one of
    :class:`MemoryType` ``ty`` (raises :class:`WasmtimeError` when it cannot be
    allocated or exceeds the store's ``set_limits``).

    Every method takes the store first: anything but a Store or Caller raises
    :class:`AttributeError`, a closed store :class:`ValueError`, another store
    :class:`WasmtimeError` ("object used with the wrong store"; wasmtime-py 50 aborts the
    process there)."""

    __slots__ = ("_store_id", "_mem", "__weakref__")

    def __init__(self, store: Store, ty: MemoryType):
        st = store_of(store)
        mt = managed_arg(ty, MemoryType, 2)._mt
        lim = mt.limits
        try:
            mem = st._rt.new_memory(lim.min, lim.max, mt.is_64)  # subject to set_limits
        except MemoryError as e:
            raise WasmtimeError(str(e)) from None
        self._store_id = st._id
        self._mem = mem
        st._wrappers[id(mem)] = self

    @classmethod
    def _wrap(cls, st: Store, mem: LinearMemory) -> Memory:
        m = st._wrappers.get(id(mem))
        if m is None:
            m = cls.__new__(cls)
            m._store_id = st._id
            m._mem = mem
            st._wrappers[id(mem)] = m
        return m

    def _m(self, store: Any) -> LinearMemory:
        check_store(self._store_id, store)
        return self._mem

    def type(self, store: Store) -> MemoryType:
        """The type the memory was created with (its minimum is the initial size, as
        in wasmtime-py; :meth:`size` gives the current one)."""
        m = self._m(store)
        return MemoryType._from(_MemoryType(_Limits(m.minimum, m.maximum), m.is_64))

    def grow(self, store: Store, delta: int) -> int:
        """Grow by ``delta`` pages; returns the old size in pages.

        Raises :class:`WasmtimeError` for a negative ``delta`` or when the memory cannot
        grow (beyond its maximum or out of host memory); as wasmtime-py,
        :class:`TypeError` for a ``delta`` that does not compare with ``0`` and
        ``ctypes.ArgumentError`` for one that is not an ``int``.
        """
        if delta < 0:
            raise WasmtimeError("cannot grow by negative amount")
        m = self._m(store)
        c_int_arg(delta, 3)
        old = m.grow(delta)
        if old < 0:
            raise WasmtimeError(f"failed to grow memory by `{delta}`")
        return old

    def size(self, store: Store) -> int:
        """Current size in pages."""
        return self._m(store).pages

    def data_len(self, store: Store) -> int:
        """Current size in bytes."""
        return self._m(store).length

    def data_ptr(self, store: Store) -> ctypes._Pointer:
        """A ``POINTER(c_ubyte)`` to byte 0; accesses must stay below :meth:`data_len`."""
        return ctypes.cast(self._m(store).base, ctypes.POINTER(ctypes.c_ubyte))

    def page_size(self, store: Store) -> int:
        self._m(store)
        return PAGE_SIZE

    def page_size_log2(self, store: Store) -> int:
        self._m(store)
        return 16

    def get_buffer_ptr(self, store: Store, size: int | None = None, offset: int = 0) -> ctypes.Array:
        """A ctypes ``c_ubyte`` array over ``[offset, offset+size)`` (default: from
        ``offset`` to the end), sharing the memory's bytes (wasmtime-py's method).

        It supports the buffer protocol, so ``memoryview(arr)`` is a writable view and,
        when NumPy is installed, ``numpy.frombuffer(arr, dtype=numpy.uint8)`` an array
        over wasm memory without a copy (writes go to wasm memory).  Both stay valid
        until the memory grows or the store is freed; take a new one after growing.
        Raises :class:`IndexError` for a range outside the memory.
        """
        m = self._m(store)
        if size is None:
            size = m.length - offset
        if offset < 0 or size < 0 or offset + size > m.length:
            raise IndexError("index out of range")
        return (ctypes.c_ubyte * size).from_address(m.base + offset)

    def buffer(self, store: Store) -> memoryview:
        """A writable ``memoryview`` (format ``B``, one item per byte) over the whole
        current memory, without a copy (wasmlite extension; in wasmtime-py use
        ``memoryview(memory.get_buffer_ptr(store))``).

        Valid until the memory grows (it does not see new pages) and only while the
        store lives.  ``numpy.frombuffer(memory.buffer(store), dtype=numpy.uint8)``
        (NumPy optional) is an array over the same bytes.
        """
        m = self._m(store)
        n = m.length
        view = m.view
        if view is None or len(view) != n:
            if n == 0:
                view = memoryview(bytearray())
            else:
                view = memoryview((ctypes.c_ubyte * n).from_address(m.base)).cast("B")
            m.view = view
        return view

    def read(self, store: Store, start: int | None = 0, stop: int | None = None) -> bytearray:
        """A copy of ``memory[start:stop]`` (slice semantics: negative indices count from
        the end, out-of-range bounds are clipped)."""
        m = self._m(store)
        start, stop, _ = slice(start, stop).indices(m.length)
        if stop <= start:
            return bytearray()
        return bytearray(ctypes.string_at(m.base + start, stop - start))

    def write(self, store: Store, value: bytes | bytearray | memoryview,
              start: int | None = None) -> int:
        """Copy ``value`` to ``start`` (negative counts from the end); returns the number
        of bytes written.  Raises :class:`IndexError` when it does not fit."""
        m = self._m(store)
        size = m.length
        start = slice(start, None).indices(size)[0]
        if start >= size:
            raise IndexError("index out of range")
        data = bytes(value)
        n = len(data)
        if n == 0:
            return 0
        if start + n > size:
            raise IndexError("index out of range")
        ctypes.memmove(m.base + start, data, n)
        return n
