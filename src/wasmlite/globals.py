"""``Global`` (wasmtime-py: ``wasmtime.Global``), backed by
:class:`wasmlite.runtime.globals.GlobalData`."""

from __future__ import annotations

from typing import Any

from .environ.module import GlobalType as _GlobalType
from .errors import WasmtimeError
from .runtime.globals import GlobalData
from .store import Store, check_store, store_of
from .types import GlobalType
from .values import Val, from_raw, to_raw


class Global:
    """A global in a store.  ``Global(store, ty, val)`` creates one of
    :class:`GlobalType` ``ty`` holding ``val``.

    Bad arguments raise what wasmtime-py raises: a ``ty`` that is not a GlobalType
    :class:`TypeError`, a value of the wrong type :class:`TypeError`, a ``store`` that is
    not a Store or Caller :class:`AttributeError`, a closed store or type
    :class:`ValueError`, another store :class:`WasmtimeError` (wasmtime-py 50 aborts the
    process there)."""

    __slots__ = ("_store_id", "_global", "__weakref__")

    def __init__(self, store: Store, ty: GlobalType, val: Any):
        if not isinstance(ty, GlobalType):
            raise TypeError("expected a GlobalType")
        gt = ty._live()._gt
        st = store_of(store)
        g = GlobalData(gt.valtype, gt.mutable, _value_arg(st, gt.valtype, val))
        st._rt.keep.append(g)
        self._store_id = st._id
        self._global = g
        st._wrappers[id(g)] = self

    @classmethod
    def _wrap(cls, st: Store, g: GlobalData) -> Global:
        w = st._wrappers.get(id(g))
        if w is None:
            w = cls.__new__(cls)
            w._store_id = st._id
            w._global = g
            st._wrappers[id(g)] = w
        return w

    def type(self, store: Store) -> GlobalType:
        check_store(self._store_id, store)
        return GlobalType._from(_GlobalType(self._global.valtype, self._global.mutable))

    def value(self, store: Store) -> Any:
        """The current value as a Python value; a null reference comes back as a
        :class:`Val` (``Val.funcref(None)``/``Val.externref(None)``, equal to ``None``),
        as in wasmtime-py."""
        st = check_store(self._store_id, store)
        v = from_raw(st, self._global.valtype, self._global.raw)
        return Val(self._global.valtype, None) if v is None else v

    def raw_value(self, store: Store) -> int:
        """The value's bit pattern (wasmlite extension): i32/f32 as unsigned 32-bit,
        i64/f64 as unsigned 64-bit, v128 as 128-bit ints; keeps NaN payloads."""
        check_store(self._store_id, store)
        return self._global.raw

    def set_value(self, store: Store, val: Any) -> None:
        """Set the value; raises :class:`WasmtimeError` for an immutable global."""
        st = check_store(self._store_id, store)
        g = self._global
        raw = _value_arg(st, g.valtype, val)
        if not g.mutable:
            raise WasmtimeError("immutable global cannot be set")
        g.raw = raw


def _value_arg(st: Store, valtype: int, val: Any) -> int:
    """:func:`to_raw` of a global's value, with Wasmtime's words for a reference of
    another store."""
    try:
        return to_raw(st, valtype, val)
    except WasmtimeError:
        raise WasmtimeError("type mismatch: attempt to set global to value of wrong type"
                            "\n\nCaused by:\n    value used with wrong store\n") from None
