"""Type objects of the public API, shaped like wasmtime-py's (``wasmtime._types``):
:class:`ValType`, :class:`FuncType`, :class:`GlobalType`, :class:`Limits`,
:class:`TableType`, :class:`MemoryType`, :class:`ImportType`, :class:`ExportType`.

Each wraps the corresponding structure of :mod:`wasmlite.environ.module` (WebAssembly
spec §2.3), which the rest of wasmlite uses.  Every one is a new object (``ValType.i32()
is not ValType.i32()``), so that closing one (``Managed.close``: then its properties
raise :class:`ValueError`, "already closed") closes no other, as in wasmtime-py.
"""

from __future__ import annotations

from .environ import module as em
from .errors import WasmtimeError, c_int_arg
from .managed import Managed

_NAMES = em.VALTYPE_NAMES


class ValType(Managed):
    """A value type (spec §2.3.4): ``i32``, ``i64``, ``f32``, ``f64``, ``v128``,
    ``funcref`` or ``externref``.  Build with the class methods; compare with ``==``
    (comparing a closed one raises :class:`ValueError`)."""

    __slots__ = ("_kind", "_closed")

    def __init__(self) -> None:
        raise WasmtimeError("cannot construct directly")

    @classmethod
    def _of(cls, kind: int) -> ValType:
        if isinstance(kind, int) and kind >= em.REF_BASE:
            # typed function references other than funcref/externref: wasmtime-py 50
            # cannot describe them either (its C API panics with this message)
            raise WasmtimeError("`support for non-externref and non-funcref references` is "
                                "not implemented")
        if kind not in _NAMES:
            raise WasmtimeError(f"unknown value type {kind:#x}")
        ty = object.__new__(cls)
        ty._kind = kind
        return ty

    @classmethod
    def i32(cls) -> ValType:
        return cls._of(em.I32)

    @classmethod
    def i64(cls) -> ValType:
        return cls._of(em.I64)

    @classmethod
    def f32(cls) -> ValType:
        return cls._of(em.F32)

    @classmethod
    def f64(cls) -> ValType:
        return cls._of(em.F64)

    @classmethod
    def v128(cls) -> ValType:
        return cls._of(em.V128)

    @classmethod
    def funcref(cls) -> ValType:
        return cls._of(em.FUNCREF)

    @classmethod
    def externref(cls) -> ValType:
        return cls._of(em.EXTERNREF)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ValType):
            return False
        return other._live()._kind == self._live()._kind

    def __hash__(self) -> int:
        return hash(self._kind)

    def __str__(self) -> str:
        return _NAMES[self._live()._kind]

    def __repr__(self) -> str:
        return str(self)


def _kinds(types: object) -> list[ValType]:
    out = []
    for t in types:  # type: ignore[attr-defined]
        if not isinstance(t, ValType):
            raise TypeError("expected ValType")
        out.append(t)
    return out


def _valtype_kind(valtype: object) -> int:
    """The kind of a :class:`ValType` argument: :class:`TypeError` ("expected valtype")
    for anything else, :class:`ValueError` for a closed one (wasmtime-py's
    ``take_owned_valtype``)."""
    if not isinstance(valtype, ValType):
        raise TypeError("expected valtype")
    return valtype._live()._kind


def format_functype(ft: em.FuncType) -> str:
    """Wasmtime's text for a function type, e.g. ``(func (param i32) (result i32))``."""
    s = "(func"
    if ft.params:
        s += " (param " + " ".join(_NAMES[t] for t in ft.params) + ")"
    if ft.results:
        s += " (result " + " ".join(_NAMES[t] for t in ft.results) + ")"
    return s + ")"


class FuncType(Managed):
    """A function type (spec §2.3.5): ``FuncType(params, results)`` with lists of
    :class:`ValType`.  Raises :class:`TypeError` for anything else and
    :class:`ValueError` for a closed ValType."""

    __slots__ = ("_ft", "_closed")

    def __init__(self, params: list[ValType], results: list[ValType]):
        ps, rs = _kinds(params), _kinds(results)
        self._ft = em.FuncType(tuple(t._live()._kind for t in ps),
                               tuple(t._live()._kind for t in rs))

    @classmethod
    def _from(cls, ft: em.FuncType) -> FuncType:
        ty = object.__new__(cls)
        ty._ft = ft
        return ty

    @property
    def params(self) -> list[ValType]:
        return [ValType._of(k) for k in self._live()._ft.params]

    @property
    def results(self) -> list[ValType]:
        return [ValType._of(k) for k in self._live()._ft.results]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FuncType) and other._ft == self._ft

    def __hash__(self) -> int:
        return hash(self._ft)

    def __str__(self) -> str:
        return format_functype(self._ft)

    __repr__ = __str__


class GlobalType(Managed):
    """A global type (spec §2.3.10): content :class:`ValType` and mutability."""

    __slots__ = ("_gt", "_closed")

    def __init__(self, valtype: ValType, mutable: bool):
        mutable = bool(mutable)  # any value, for its truth (wasmtime-py)
        self._gt = em.GlobalType(_valtype_kind(valtype), mutable)

    @classmethod
    def _from(cls, gt: em.GlobalType) -> GlobalType:
        ty = object.__new__(cls)
        ty._gt = gt
        return ty

    @property
    def content(self) -> ValType:
        return ValType._of(self._live()._gt.valtype)

    @property
    def mutable(self) -> bool:
        return self._live()._gt.mutable

    def __eq__(self, other: object) -> bool:
        return isinstance(other, GlobalType) and other._gt == self._gt

    def __hash__(self) -> int:
        return hash(self._gt)

    def __repr__(self) -> str:
        t = _NAMES[self._gt.valtype]
        return f"(global (mut {t}))" if self._gt.mutable else f"(global {t})"


class Limits:
    """Limits (spec §2.3.8): ``min`` and optional ``max`` (pages or elements)."""

    def __init__(self, min: int, max: int | None):  # noqa: A002 - wasmtime-py's names
        self.min = min
        self.max = max

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Limits) and (self.min, self.max) == (other.min, other.max)

    def __hash__(self) -> int:
        return hash((self.min, self.max))

    def __repr__(self) -> str:
        return f"Limits({self.min}, {self.max})"

    def _limits(self) -> em.Limits:
        return em.Limits(self.min, self.max)


def _check_limits(limits: object, bound: int, what: str) -> None:
    if not isinstance(limits, Limits):
        raise TypeError("expected Limits")
    if not isinstance(limits.min, int) or (limits.max is not None and not isinstance(limits.max, int)):
        raise TypeError("limits must be integers")
    if limits.min < 0 or limits.min > bound:
        raise WasmtimeError(f"{what} minimum size too large")
    if limits.max is not None and (limits.max < 0 or limits.max > bound):
        raise WasmtimeError(f"{what} maximum size too large")
    if limits.max is not None and limits.max < limits.min:
        raise WasmtimeError(f"{what} maximum size must be at least the minimum size")


class TableType(Managed):
    """A table type (spec §2.3.9): element reftype and :class:`Limits` in elements."""

    __slots__ = ("_tt", "_closed")

    def __init__(self, valtype: ValType, limits: Limits):
        if not isinstance(limits, Limits):
            raise TypeError("expected Limits")
        _valtype_kind(valtype)
        _check_limits(limits, 0xFFFFFFFF, "table")
        if valtype._kind not in em.REF_TYPES:
            raise WasmtimeError("table element type must be a reference type")
        self._tt = em.TableType(valtype._kind, limits._limits())

    @classmethod
    def _from(cls, tt: em.TableType) -> TableType:
        ty = object.__new__(cls)
        ty._tt = tt
        return ty

    @property
    def element(self) -> ValType:
        return ValType._of(self._live()._tt.elem)

    @property
    def limits(self) -> Limits:
        lim = self._live()._tt.limits
        return Limits(lim.min, lim.max)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TableType) and other._tt == self._tt

    def __hash__(self) -> int:
        return hash(self._tt)

    def __repr__(self) -> str:
        lim = self._tt.limits
        return f"(table {lim.min}{'' if lim.max is None else ' ' + str(lim.max)} {_NAMES[self._tt.elem]})"


class MemoryType(Managed):
    """A memory type (spec §2.3.9): :class:`Limits` in 64 KiB pages (at most 65536).

    Limits that are out of range raise :class:`WasmtimeError` with Wasmtime's message
    ("maximum page size cannot be smaller than the minimum page size", "minimum size is
    too large for this memory type's index type", ...), non-``Limits`` :class:`TypeError`.
    ``is_64`` makes a 64-bit memory (memory64: i64 addresses; its minimum byte size must
    fit in a u64).  ``shared`` and ``page_size_log2 != 16`` (threads, custom page sizes)
    are not supported: they raise :class:`WasmtimeError`.  Limits that are not
    ints raise what wasmtime-py raises (:class:`TypeError` when they do not compare
    with ints, else ``ctypes.ArgumentError``).
    """

    __slots__ = ("_mt", "_closed")

    def __init__(self, limits: Limits, is_64: bool = False, shared: bool = False,
                 page_size_log2: int = 16):
        if not isinstance(limits, Limits):
            raise TypeError("expected Limits")
        # wasmtime-py's checks, in its order: the bounds (TypeError when they do not
        # compare with ints), then ctypes' conversions (ctypes.ArgumentError for
        # non-ints), then Wasmtime's own checks
        bound = 1 << 64 if is_64 else 1 << 32
        if limits.min >= bound:
            raise WasmtimeError("minimum size too large")
        if limits.max and limits.max >= bound:
            raise WasmtimeError("maximum size too large")
        c_int_arg(limits.min, 1)
        if limits.max:
            c_int_arg(limits.max, 3)
        c_int_arg(page_size_log2, 6)
        if shared or page_size_log2 != 16:
            raise WasmtimeError("shared memories and custom page sizes are not "
                                "supported by wasmlite")
        if limits.min < 0 or (limits.max is not None and limits.max < 0):
            raise WasmtimeError("memory's minimum byte size must fit in a u64")
        if is_64:
            if limits.min * em.PAGE_SIZE >= 1 << 64:
                raise WasmtimeError("memory's minimum byte size must fit in a u64\n\n"
                                    "Caused by:\n    size overflow calculating memory size")
            self._mt = em.MemoryType(limits._limits(), True)
            return
        if limits.min > em.MAX_PAGES:
            raise WasmtimeError("minimum size is too large for this memory type's index type")
        if limits.max is not None and limits.max > em.MAX_PAGES:
            raise WasmtimeError("maximum size is too large for this memory type's index type")
        if limits.max is not None and limits.max < limits.min:
            raise WasmtimeError("maximum page size cannot be smaller than the minimum page size")
        self._mt = em.MemoryType(limits._limits())

    @classmethod
    def _from(cls, mt: em.MemoryType) -> MemoryType:
        ty = object.__new__(cls)
        ty._mt = mt
        return ty

    @property
    def limits(self) -> Limits:
        lim = self._live()._mt.limits
        return Limits(lim.min, lim.max)

    @property
    def is_64(self) -> bool:
        return self._live()._mt.is_64

    @property
    def is_shared(self) -> bool:
        self._live()
        return False

    @property
    def page_size(self) -> int:
        self._live()
        return em.PAGE_SIZE

    @property
    def page_size_log2(self) -> int:
        self._live()
        return 16

    def __eq__(self, other: object) -> bool:
        return isinstance(other, MemoryType) and other._mt == self._mt

    def __hash__(self) -> int:
        return hash(self._mt)

    def __repr__(self) -> str:
        lim = self._mt.limits
        return f"(memory {lim.min}{'' if lim.max is None else ' ' + str(lim.max)})"


AsExternType = FuncType | TableType | MemoryType | GlobalType


def _wrap_desc(info: em.ModuleInfo, kind: int, desc: object) -> AsExternType:
    if kind == em.EXTERN_FUNC:
        return FuncType._from(info.types[desc])  # type: ignore[index]
    if kind == em.EXTERN_TABLE:
        return TableType._from(desc)  # type: ignore[arg-type]
    if kind == em.EXTERN_MEMORY:
        return MemoryType._from(desc)  # type: ignore[arg-type]
    return GlobalType._from(desc)  # type: ignore[arg-type]


class ImportType(Managed):
    """One import of a module: ``module``, ``name`` and ``type`` (an extern type)."""

    def __init__(self, module: str, name: str, ty: AsExternType):
        self._module = module
        self._name = name
        self._type = ty

    @property
    def module(self) -> str:
        return self._live()._module

    @property
    def name(self) -> str | None:
        return self._live()._name

    @property
    def type(self) -> AsExternType:
        return self._live()._type

    def __repr__(self) -> str:
        return f"ImportType({self._module!r}, {self._name!r}, {self._type!r})"


class ExportType(Managed):
    """One export of a module: ``name`` and ``type`` (an extern type)."""

    def __init__(self, name: str, ty: AsExternType):
        self._name = name
        self._type = ty

    @property
    def name(self) -> str:
        return self._live()._name

    @property
    def type(self) -> AsExternType:
        return self._live()._type

    def __repr__(self) -> str:
        return f"ExportType({self._name!r}, {self._type!r})"
