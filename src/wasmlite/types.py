"""Type objects of the public API, shaped like wasmtime-py's (``wasmtime._types``):
:class:`ValType`, :class:`FuncType`, :class:`GlobalType`, :class:`Limits`,
:class:`TableType`, :class:`MemoryType`, :class:`ImportType`, :class:`ExportType`.

Each wraps the corresponding structure of :mod:`wasmlite.environ.module` (WebAssembly
spec §2.3), which the rest of wasmlite uses.
"""

from __future__ import annotations

from .environ import module as em
from .errors import WasmtimeError
from .managed import Managed

_NAMES = em.VALTYPE_NAMES


class ValType(Managed):
    """A value type (spec §2.3.4): ``i32``, ``i64``, ``f32``, ``f64``, ``v128``,
    ``funcref`` or ``externref``.  Build with the class methods; compare with ``==``."""

    __slots__ = ("_kind",)
    _cache: dict[int, ValType] = {}

    def __init__(self) -> None:
        raise WasmtimeError("cannot construct directly")

    @classmethod
    def _of(cls, kind: int) -> ValType:
        ty = cls._cache.get(kind)
        if ty is None:
            if kind not in _NAMES:
                raise WasmtimeError(f"unknown value type {kind:#x}")
            ty = object.__new__(cls)
            ty._kind = kind
            cls._cache[kind] = ty
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
        return isinstance(other, ValType) and other._kind == self._kind

    def __hash__(self) -> int:
        return hash(self._kind)

    def __str__(self) -> str:
        return _NAMES[self._kind]

    def __repr__(self) -> str:
        return str(self)


def _kinds(types: object, what: str) -> tuple[int, ...]:
    out = []
    for t in types:  # type: ignore[attr-defined]
        if not isinstance(t, ValType):
            raise TypeError("expected ValType")
        out.append(t._kind)
    return tuple(out)


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
    :class:`ValType`.  Raises :class:`TypeError` for anything else."""

    __slots__ = ("_ft",)

    def __init__(self, params: list[ValType], results: list[ValType]):
        self._ft = em.FuncType(_kinds(params, "params"), _kinds(results, "results"))

    @classmethod
    def _from(cls, ft: em.FuncType) -> FuncType:
        ty = object.__new__(cls)
        ty._ft = ft
        return ty

    @property
    def params(self) -> list[ValType]:
        return [ValType._of(k) for k in self._ft.params]

    @property
    def results(self) -> list[ValType]:
        return [ValType._of(k) for k in self._ft.results]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FuncType) and other._ft == self._ft

    def __hash__(self) -> int:
        return hash(self._ft)

    def __str__(self) -> str:
        return format_functype(self._ft)

    __repr__ = __str__


class GlobalType(Managed):
    """A global type (spec §2.3.10): content :class:`ValType` and mutability."""

    __slots__ = ("_gt",)

    def __init__(self, valtype: ValType, mutable: bool):
        if not isinstance(valtype, ValType):
            raise TypeError("expected valtype")
        self._gt = em.GlobalType(valtype._kind, bool(mutable))

    @classmethod
    def _from(cls, gt: em.GlobalType) -> GlobalType:
        ty = object.__new__(cls)
        ty._gt = gt
        return ty

    @property
    def content(self) -> ValType:
        return ValType._of(self._gt.valtype)

    @property
    def mutable(self) -> bool:
        return self._gt.mutable

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

    __slots__ = ("_tt",)

    def __init__(self, valtype: ValType, limits: Limits):
        if not isinstance(valtype, ValType):
            raise TypeError("expected valtype")
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
        return ValType._of(self._tt.elem)

    @property
    def limits(self) -> Limits:
        return Limits(self._tt.limits.min, self._tt.limits.max)

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
    ``is_64``, ``shared`` and ``page_size_log2 != 16`` (memory64, threads, custom page
    sizes) are not supported: they raise :class:`WasmtimeError`.
    """

    __slots__ = ("_mt",)

    def __init__(self, limits: Limits, is_64: bool = False, shared: bool = False,
                 page_size_log2: int = 16):
        if not isinstance(limits, Limits):
            raise TypeError("expected Limits")
        if not isinstance(limits.min, int) or (limits.max is not None
                                               and not isinstance(limits.max, int)):
            raise TypeError("limits must be integers")
        # wasmtime-py's checks and wasmtime's messages, in their order
        if limits.min >= 1 << 32:
            raise WasmtimeError("minimum size too large")
        if limits.max and limits.max >= 1 << 32:
            raise WasmtimeError("maximum size too large")
        if is_64 or shared or page_size_log2 != 16:
            raise WasmtimeError("memory64, shared memories and custom page sizes are not "
                                "supported by wasmlite")
        if limits.min < 0 or (limits.max is not None and limits.max < 0):
            raise WasmtimeError("memory's minimum byte size must fit in a u64")
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
        return Limits(self._mt.limits.min, self._mt.limits.max)

    @property
    def is_64(self) -> bool:
        return False

    @property
    def is_shared(self) -> bool:
        return False

    @property
    def page_size(self) -> int:
        return em.PAGE_SIZE

    @property
    def page_size_log2(self) -> int:
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
        return self._module

    @property
    def name(self) -> str | None:
        return self._name

    @property
    def type(self) -> AsExternType:
        return self._type

    def __repr__(self) -> str:
        return f"ImportType({self._module!r}, {self._name!r}, {self._type!r})"


class ExportType(Managed):
    """One export of a module: ``name`` and ``type`` (an extern type)."""

    def __init__(self, name: str, ty: AsExternType):
        self._name = name
        self._type = ty

    @property
    def name(self) -> str:
        return self._name

    @property
    def type(self) -> AsExternType:
        return self._type

    def __repr__(self) -> str:
        return f"ExportType({self._name!r}, {self._type!r})"
