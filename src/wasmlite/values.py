"""``Val`` and the conversions between Python values and raw wasm values
(wasmtime-py: ``wasmtime.Val``).

Python side: i32/i64 are ``int`` (signed when read back), f32/f64 ``float``, v128 an
unsigned 128-bit ``int``, externref any Python object (``None`` = null), funcref a
:class:`~wasmlite.Func` (``None`` = null).  Raw side: see :mod:`wasmlite.runtime.globals`.
Conversion errors raise :class:`TypeError` with wasmtime-py's message
(``"don't know how to convert 1.5 to i32"``).
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING, Any

from .environ import module as em
from .errors import WasmtimeError
from .runtime.instance import bits_to_f32, bits_to_f64, f32_to_bits, f64_to_bits
from .types import ValType

if TYPE_CHECKING:
    from .store import Store

_M32 = 0xFFFFFFFF
_M64 = (1 << 64) - 1
_M128 = (1 << 128) - 1
_NAMES = em.VALTYPE_NAMES

#: set by ``wasmlite.func`` (avoids an import cycle)
FUNC_CLASS: Any = None


class Val:
    """A typed wasm value.  Build with :meth:`i32`, :meth:`i64`, :meth:`f32`, :meth:`f64`,
    :meth:`v128`, :meth:`externref`, :meth:`funcref` or :meth:`ref_null`."""

    __slots__ = ("_kind", "_val")

    def __init__(self, kind: int, val: Any):
        self._kind = kind
        self._val = val

    @classmethod
    def i32(cls, val: int) -> Val:
        """An i32; ``val`` is wrapped to a signed 32-bit value."""
        if not isinstance(val, int):
            raise TypeError("expected an integer")
        val &= _M32
        return cls(em.I32, val - (1 << 32) if val & 0x80000000 else val)

    @classmethod
    def i64(cls, val: int) -> Val:
        """An i64; ``val`` is wrapped to a signed 64-bit value."""
        if not isinstance(val, int):
            raise TypeError("expected an integer")
        val &= _M64
        return cls(em.I64, val - (1 << 64) if val & (1 << 63) else val)

    @classmethod
    def f32(cls, val: float) -> Val:
        """An f32; ``val`` is rounded to single precision."""
        if not isinstance(val, float):
            raise TypeError("expected a float")
        return cls(em.F32, bits_to_f32(f32_to_bits(val)))

    @classmethod
    def f64(cls, val: float) -> Val:
        if not isinstance(val, float):
            raise TypeError("expected a float")
        return cls(em.F64, val)

    @classmethod
    def v128(cls, val: int) -> Val:
        """A v128 given as a 128-bit int (lane 0 in the low bits); wasmlite extension."""
        if not isinstance(val, int):
            raise TypeError("expected an integer")
        return cls(em.V128, val & _M128)

    @classmethod
    def externref(cls, extern: Any) -> Val:
        return cls(em.EXTERNREF, extern)

    @classmethod
    def funcref(cls, f: Any) -> Val:
        return cls(em.FUNCREF, f)

    @classmethod
    def ref_null(cls, ty: ValType) -> Val:
        """The null reference of reftype ``ty``; other types raise :class:`WasmtimeError`."""
        if ty == ValType.externref():
            return cls.externref(None)
        if ty == ValType.funcref():
            return cls.funcref(None)
        raise WasmtimeError(f"Invalid reference type for `ref_null`: {ty}")

    @property
    def value(self) -> Any:
        """The Python value."""
        return self._val

    @property
    def type(self) -> ValType:
        return ValType._of(self._kind)

    def _as(self, kind: int) -> Any:
        return self._val if self._kind == kind else None

    def as_i32(self) -> int | None:
        return self._as(em.I32)

    def as_i64(self) -> int | None:
        return self._as(em.I64)

    def as_f32(self) -> float | None:
        return self._as(em.F32)

    def as_f64(self) -> float | None:
        return self._as(em.F64)

    def as_externref(self) -> Any:
        return self._as(em.EXTERNREF)

    def as_funcref(self) -> Any:
        return self._as(em.FUNCREF)

    def __eq__(self, rhs: object) -> bool:
        if isinstance(rhs, Val):
            return self._kind == rhs._kind and self._val == rhs._val
        return self._val == rhs

    def __hash__(self) -> int:
        return hash((self._kind, self._val))

    def __repr__(self) -> str:
        return f"Val.{_NAMES[self._kind]}({self._val!r})"


def _cannot(val: Any, kind: int) -> TypeError:
    return TypeError(f"don't know how to convert {val!r} to {_NAMES[kind]}")


def to_raw(store: Store, kind: int, val: Any) -> int:
    """Convert a Python value (or :class:`Val`) of valtype ``kind`` to its raw value.

    As in wasmtime-py, i32/i64 take ``int`` (wrapped to the width; ``bool`` is an
    ``int``), f32/f64 only ``float``, externref any object (``None`` is null) and
    funcref a ``Func`` or ``None``.  Raises :class:`TypeError` ("don't know how to
    convert 1 to f64", "wrong type of `Val` provided") for a value of the wrong type
    and :class:`WasmtimeError` for a ``Func`` of another store.
    """
    if type(val) is Val:
        if val._kind != kind:
            raise TypeError("wrong type of `Val` provided")
        val = val._val
    if kind == em.I32:
        if isinstance(val, int):
            return val & _M32
    elif kind == em.I64:
        if isinstance(val, int):
            return val & _M64
    elif kind == em.F32:
        if isinstance(val, float):
            return f32_to_bits(val)
    elif kind == em.F64:
        if isinstance(val, float):
            return f64_to_bits(val)
    elif kind == em.EXTERNREF:
        return store._rt.extern_handle(val)
    elif kind == em.FUNCREF:
        if val is None:
            return 0
        if isinstance(val, FUNC_CLASS):
            if val._store_id != store._id:
                raise WasmtimeError("object used with the wrong store")
            return val._addr
    elif kind == em.V128:
        if isinstance(val, int):
            return val & _M128
    raise _cannot(val, kind)


def from_raw(store: Store, kind: int, raw: int) -> Any:
    """Convert a raw value of valtype ``kind`` to its Python value."""
    if kind == em.I32:
        raw &= _M32
        return raw - (1 << 32) if raw & 0x80000000 else raw
    if kind == em.I64:
        raw &= _M64
        return raw - (1 << 64) if raw & (1 << 63) else raw
    if kind == em.F32:
        return bits_to_f32(raw)
    if kind == em.F64:
        return bits_to_f64(raw)
    if kind == em.EXTERNREF:
        return store._rt.extern_object(raw)
    if kind == em.FUNCREF:
        return store._func_from_addr(raw)
    return raw  # v128


# -- 16-byte value slots (entry trampolines and host stubs) -------------------------------
_FAST = {em.I32: "i12x", em.I64: "q8x", em.F32: "f12x", em.F64: "d8x"}
_OUT = {**_FAST, em.V128: "16s", em.FUNCREF: "Q8x", em.EXTERNREF: "Q8x"}


class Sig:
    """Packing and unpacking of one function type's values in 16-byte slots.

    ``buf_type`` is a ctypes array type big enough for the params and the results.
    """

    __slots__ = ("ft", "nparams", "nresults", "size", "buf_type", "fast_params",
                 "fast_results", "raw_params", "raw_results", "out_params", "out_results",
                 "conv_params", "conv_results", "float_params", "float_results")

    def __init__(self, ft: em.FuncType):
        import ctypes

        if any(t >= em.REF_BASE for t in ft.params + ft.results):
            # typed references are funcref/externref values (``environ.module.ref_storage``)
            ft = em.FuncType(tuple(map(em.ref_storage, ft.params)),
                             tuple(map(em.ref_storage, ft.results)))
        self.ft = ft
        self.nparams = len(ft.params)
        self.nresults = len(ft.results)
        nslots = max(self.nparams, self.nresults, 1)
        self.size = 16 * nslots
        self.buf_type = ctypes.c_uint64 * (2 * nslots)
        self.fast_params = _fast(ft.params)
        self.fast_results = _fast(ft.results)
        self.raw_params = struct.Struct("<" + "QQ" * self.nparams)
        self.raw_results = struct.Struct("<" + "QQ" * self.nresults)
        self.out_params = struct.Struct("<" + "".join(_OUT[k] for k in ft.params))
        self.out_results = struct.Struct("<" + "".join(_OUT[k] for k in ft.results))
        self.conv_params = any(k not in _FAST for k in ft.params)
        self.conv_results = any(k not in _FAST for k in ft.results)
        #: positions of f32/f64 values, which the fast path must check are floats
        self.float_params = _float_positions(ft.params)
        self.float_results = _float_positions(ft.results)

    @staticmethod
    def pack(store: Store, kinds: tuple[int, ...], fast: struct.Struct | None,
             raw: struct.Struct, buf: Any, vals: tuple | list,
             floats: tuple[int, ...] = ()) -> None:
        """Write ``vals`` (Python values of valtypes ``kinds``) into the slots of ``buf``.

        ``floats`` lists the positions of f32/f64 values (``Sig.float_params``): the
        fast path is taken only when they hold floats (``struct`` would take ints),
        otherwise :func:`to_raw` converts each value and raises :class:`TypeError`.
        """
        if fast is not None:
            for i in floats:
                if not isinstance(vals[i], float):
                    break
            else:
                try:
                    fast.pack_into(buf, 0, *vals)
                    return
                except (struct.error, TypeError, OverflowError):
                    pass
        words = []
        for k, v in zip(kinds, vals, strict=True):
            r = to_raw(store, k, v)
            words.append(r & _M64)
            words.append(r >> 64)
        raw.pack_into(buf, 0, *words)

    @staticmethod
    def unpack(store: Store, kinds: tuple[int, ...], out: struct.Struct, conv: bool,
               buf: Any) -> tuple:
        """Read values of valtypes ``kinds`` from the slots of ``buf``."""
        vals = out.unpack_from(buf)
        if not conv:
            return vals
        res = []
        for k, v in zip(kinds, vals, strict=True):
            if k == em.V128:
                res.append(int.from_bytes(v, "little"))
            elif k in _FAST:
                res.append(v)
            else:
                res.append(from_raw(store, k, v))
        return tuple(res)


def _float_positions(kinds: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(i for i, k in enumerate(kinds) if k in (em.F32, em.F64))


def _fast(kinds: tuple[int, ...]) -> struct.Struct | None:
    if all(k in _FAST for k in kinds):
        return struct.Struct("<" + "".join(_FAST[k] for k in kinds))
    return None


_SIGS: dict[em.FuncType, Sig] = {}


def sig_of(ft: em.FuncType) -> Sig:
    """The cached :class:`Sig` of ``ft``."""
    s = _SIGS.get(ft)
    if s is None:
        s = _SIGS[ft] = Sig(ft)
    return s
