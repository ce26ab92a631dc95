"""``Table`` (wasmtime-py: ``wasmtime.Table``), backed by
:class:`wasmlite.runtime.table.TableData`."""

from __future__ import annotations

from typing import Any

from .environ.module import Limits as _Limits
from .environ.module import TableType as _TableType
from .errors import WasmtimeError, c_int_arg
from .runtime.table import TableData
from .store import Store, check_store, store_of
from .types import TableType
from .values import Val, from_raw, to_raw


class Table:
    """A table in a store.  ``Table(store, ty, init)`` creates one of
    :class:`TableType` ``ty`` with every element ``init`` (a ``Func``/``None`` for
    funcref, any object for externref).

    Bad arguments raise what wasmtime-py raises: a ``store`` that is not a Store or
    Caller :class:`AttributeError`, a closed store or type :class:`ValueError`, another
    store :class:`WasmtimeError` (wasmtime-py 50 aborts the process there), an index
    that is not an ``int`` ``ctypes.ArgumentError``, a value of the wrong type
    :class:`TypeError`."""

    __slots__ = ("_store_id", "_table", "__weakref__")

    def __init__(self, store: Store, ty: TableType, init: Any):
        if not isinstance(ty, TableType):  # wasmtime-py reads ``ty.element`` first
            raise AttributeError(f"expected a TableType, got {type(ty).__name__!r}")
        tt = ty._live()._tt
        st = store_of(store)
        raw = _ref_arg(st, tt.elem, init)
        try:  # subject to Store.set_limits; the store keeps it alive
            t = st._rt.new_table(tt.elem, tt.limits.min, tt.limits.max, raw)
        except MemoryError as e:
            raise WasmtimeError(str(e)) from None
        self._store_id = st._id
        self._table = t
        st._wrappers[id(t)] = self

    @classmethod
    def _wrap(cls, st: Store, t: TableData) -> Table:
        w = st._wrappers.get(id(t))
        if w is None:
            w = cls.__new__(cls)
            w._store_id = st._id
            w._table = t
            st._wrappers[id(t)] = w
        return w

    def type(self, store: Store) -> TableType:
        """The type the table was created with (its minimum is the initial size, as in
        wasmtime-py; :meth:`size` gives the current one)."""
        check_store(self._store_id, store)
        t = self._table
        return TableType._from(_TableType(t.elem, _Limits(t.minimum, t.maximum), t.is_64))

    def size(self, store: Store) -> int:
        """Current size in elements."""
        check_store(self._store_id, store)
        return self._table.size

    def grow(self, store: Store, amt: int, init: Any) -> int:
        """Add ``amt`` elements set to ``init``; returns the old size.  Raises
        :class:`WasmtimeError` when the table cannot grow (a negative ``amt`` is taken
        modulo ``2**64``, as a C ``uint64_t`` in wasmtime-py) and :class:`TypeError`
        when ``amt`` is not an ``int``."""
        st = check_store(self._store_id, store)
        raw = _ref_arg(st, self._table.elem, init)
        if not isinstance(amt, int):
            raise TypeError(f"{type(amt).__name__!r} object cannot be interpreted as an "
                            "integer")
        old = self._table.grow(amt, raw) if amt >= 0 else -1
        if old < 0:
            raise WasmtimeError(f"failed to grow table by `{amt & 0xFFFFFFFFFFFFFFFF}`")
        return old

    def get(self, store: Store, idx: int) -> Any:
        """Element ``idx``: a ``Func`` (funcref) or the Python object (externref).

        As in wasmtime-py, an element whose value is falsy — a null reference, or an
        externref holding e.g. ``0`` or ``""`` — comes back wrapped in a :class:`Val`
        (``Val.funcref(None)``, ``Val.externref(0)``; ``val.value`` unwraps it, and a
        null one compares equal to ``None``), and an out-of-bounds ``idx`` gives ``None``.
        """
        st = check_store(self._store_id, store)
        c_int_arg(idx, 3)
        try:
            raw = self._table.get(idx)
        except IndexError:
            return None
        v = from_raw(st, self._table.elem, raw)
        return v if v else Val(self._table.elem, v)

    def set(self, store: Store, idx: int, val: Any) -> None:
        """Set element ``idx``; raises :class:`WasmtimeError` out of bounds."""
        st = check_store(self._store_id, store)
        raw = _ref_arg(st, self._table.elem, val)
        c_int_arg(idx, 3)
        try:
            self._table.set(idx, raw)
        except IndexError:
            raise WasmtimeError("wasm trap: undefined element: out of bounds table access") from None


def _ref_arg(st: Store, elem: int, val: Any) -> int:
    """:func:`to_raw` of a table element, with Wasmtime's words for a reference of
    another store."""
    try:
        return to_raw(st, elem, val)
    except WasmtimeError:
        raise WasmtimeError("type mismatch: value does not match table element type\n\n"
                            "Caused by:\n    reference used with wrong store\n") from None
