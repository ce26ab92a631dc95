"""``Linker``: resolves a module's imports by name (wasmtime-py: ``wasmtime.Linker``).

Definitions are either items of a particular store (:meth:`Linker.define`,
:meth:`Linker.define_instance`) or store-independent host functions
(:meth:`Linker.define_func`, and WASI through :meth:`Linker.define_wasi`), which become a
:class:`Func` in each store the linker instantiates into.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

from .engine import Engine
from .environ import module as em
from .errors import WasmtimeError, managed_arg, str_arg
from .func import Func
from .globals import Global
from .instance import Instance, _kind_name, check_import_type
from .managed import Managed
from .memory import Memory
from .module import Module
from .store import Store, store_of
from .table import Table
from .types import FuncType, GlobalType, MemoryType, TableType, ValType
from .values import Val

_EXTERNS = (Func, Table, Memory, Global)


class _HostDef:
    """A ``define_func`` definition: one :class:`Func` per store, made on demand."""

    def __init__(self, ft: em.FuncType, func: Callable[..., Any], access_caller: bool):
        self.ft = self._ft = ft  # _ft: as a Func's, for check_import_type
        self.func = func
        self.access_caller = access_caller
        self.per_store: weakref.WeakKeyDictionary[Store, Func] = weakref.WeakKeyDictionary()

    def get(self, st: Store) -> Func:
        f = self.per_store.get(st)
        if f is None:
            f = self.per_store[st] = Func(st, FuncType._from(self.ft), self.func,
                                          self.access_caller)
        return f


def _resolve(st: Store, item: Any) -> Any:
    """The item a definition stands for in ``st``: a ``define_func`` definition's
    :class:`Func` for ``st``, else the item itself, whatever its store (as in
    wasmtime-py, ``get`` returns it; ``instantiate`` rejects it with "cross-`Store`
    instantiation is not currently supported", and any use with ``st`` raises "object
    used with the wrong store")."""
    if isinstance(item, _HostDef):
        return item.get(st)
    return item


def _instantiate(defs: dict[tuple[str, str], Any], st: Store, module: Module) -> Instance:
    """Instantiate ``module`` in ``st`` with its imports taken from ``defs`` by name."""
    found = [defs.get((imp.module, imp.name)) for imp in module._info.imports]
    return _instantiate_found(found, st, module)


def _instantiate_found(found: list[Any], st: Store, module: Module,
                       checked: list[bool] | None = None) -> Instance:
    """Instantiate ``module`` in ``st`` with ``found[i]`` (a definition, or ``None``
    when undefined) for import ``i``; ``checked`` as for ``Instance._new``."""
    hostdefs = [d.ft for d in found if type(d) is _HostDef and st not in d.per_store]
    if len(hostdefs) > 1:
        st._engine._prepare_trampolines(hostdefs)
    items = []
    for imp, item in zip(module._info.imports, found, strict=True):
        if item is None:
            raise WasmtimeError(f"unknown import: `{imp.module}::{imp.name}` has not been "
                                "defined")
        items.append(item.get(st) if type(item) is _HostDef else item)
    return Instance._new(st, module, items, checked)


class Linker(Managed):
    """A set of named definitions for instantiating modules of ``engine``.

    Arguments are checked as wasmtime-py checks them (its exception types): a name that
    is not a ``str`` raises :class:`AttributeError`, a store that is not a Store or
    Caller :class:`AttributeError`, a closed linker, store, module or engine
    :class:`ValueError` ("already closed"); see each method for the rest.
    """

    def __init__(self, engine: Engine):
        self.engine = managed_arg(engine, Engine, 1)
        self._defs: dict[tuple[str, str], Any] = {}
        self._shadowing = False

    # wasmtime-py exposes this as a write-only property
    def _set_shadowing(self, allow: bool) -> None:
        self._live()._shadowing = bool(allow)  # any value, for its truth (a C bool)

    allow_shadowing = property(lambda self: self._shadowing, _set_shadowing,
                               doc="Whether a later definition may replace an earlier one "
                                   "(default ``False``: it raises WasmtimeError); any "
                                   "value is taken for its truth.")

    def _insert(self, module: str, name: str, item: Any) -> None:
        key = (module, name)
        if key in self._defs and not self._shadowing:
            raise WasmtimeError(f"import of `{module}::{name}` defined twice")
        self._defs[key] = item

    def close(self) -> None:
        """Close the linker (wasmtime-py's ``Managed.close``): its definitions are
        dropped and any further use raises :class:`ValueError` ("already closed")."""
        self._defs.clear()
        super().close()

    def define(self, store: Store, module: str, name: str, item: Any) -> None:
        """Define ``module::name`` as ``item`` (a Func, Table, Memory or Global of
        ``store``).  Raises :class:`WasmtimeError` when already defined (unless
        shadowing is allowed) or when ``item`` belongs to another store (wasmtime-py 50
        aborts the process there), :class:`TypeError` when ``item`` is not one of
        those."""
        if not isinstance(item, _EXTERNS):
            raise TypeError("expected a Func, Global, Memory, SharedMemory, Tag, or Table")
        str_arg(module)
        str_arg(name)
        self._live()
        st = store_of(store)
        if item._store_id != st._id:
            raise WasmtimeError("object used with the wrong store")
        self._insert(module, name, item)

    def define_func(self, module: str, name: str, ty: FuncType, func: Callable[..., Any],
                    access_caller: bool = False) -> None:
        """Define ``module::name`` as a host function usable in any store.  As in
        wasmtime-py, ``func`` is not checked here (calling a non-callable raises
        :class:`TypeError` in the call) and ``access_caller`` is taken for its truth;
        :class:`TypeError` unless ``ty`` is a :class:`FuncType`."""
        str_arg(module)
        str_arg(name)
        if not isinstance(ty, FuncType):
            raise TypeError("expected a FuncType")
        self._live()
        self._insert(module, name, _HostDef(ty._live()._ft, func, bool(access_caller)))

    def define_instance(self, store: Store, name: str, instance: Instance) -> None:
        """Define every export of ``instance`` under module name ``name``;
        :class:`TypeError` unless ``instance`` is an :class:`Instance`,
        :class:`WasmtimeError` when it belongs to another store (wasmtime-py 50 aborts
        the process there)."""
        if not isinstance(instance, Instance):
            raise TypeError("expected an `Instance`")
        str_arg(name)
        self._live()
        exports = instance.exports(store)
        for export_name, item in exports.items():
            self._insert(name, export_name, item)

    def define_module(self, store: Store, name: str, module: Module) -> None:
        """Instantiate ``module`` with this linker and define its exports as ``name``;
        :class:`TypeError` unless ``module`` is a :class:`Module`."""
        if not isinstance(module, Module):
            raise TypeError("expected a `Module`")
        str_arg(name)
        self._live()
        st = store_of(store)
        self.define_instance(st, name, _instantiate(self._defs, st, module._live()))

    def define_wasi(self) -> None:
        """Define the WASI preview 1 functions (``wasi_snapshot_preview1``); they use the
        context set with ``Store.set_wasi``."""
        from .wasi import define_wasi

        self._live()
        define_wasi(self)

    def define_unknown_imports_as_traps(self, module: Module) -> None:
        """Define every function import of ``module`` that is not defined yet as a
        function that fails when called: the call raises :class:`WasmtimeError`
        ("unknown import: `m::n` has not been defined"), as in wasmtime-py.  Other kinds
        of imports are left undefined.  :class:`TypeError` unless ``module`` is a
        :class:`Module`."""
        if not isinstance(module, Module):
            raise TypeError("expected a `Module`")
        self._live()
        info = module._live()._info
        for imp in info.imports:
            key = (imp.module, imp.name)
            if key in self._defs or imp.kind != em.EXTERN_FUNC:
                continue

            def trap(*_args: Any, _key: tuple[str, str] = key) -> None:
                # an error, not a Trap: Wasmtime's host function fails with the
                # UnknownImportError, which wasmtime-py raises as a WasmtimeError
                raise WasmtimeError(f"unknown import: `{_key[0]}::{_key[1]}` has not "
                                    "been defined")

            self._defs[key] = _HostDef(info.types[imp.desc], trap, False)

    def define_unknown_imports_as_default_values(self, store: Store, module: Module) -> None:
        """Define every import of ``module`` that is not defined yet as a new item of
        ``store`` holding default values (wasmtime-py:
        ``Linker.define_unknown_imports_as_default_values``; Wasmtime's
        ``ExternType::default_value``), in import order:

        * a function: a host :class:`Func` that ignores its arguments and returns the
          default value of each result type (0, 0.0, a zero v128 or a null reference);
        * a global: a :class:`Global` of the import's type (same mutability) holding the
          default value of its content type;
        * a memory: a :class:`Memory` of the import's type, at its minimum size, zeroed;
        * a table: a :class:`Table` of the import's type, at its minimum size, every
          element null.

        The definitions belong to ``store`` (as with :meth:`define`): instantiating
        with this linker in another store raises :class:`WasmtimeError`
        ("cross-`Store` instantiation is not currently supported").  An import whose
        ``module::name`` is already defined (with any type) is left alone.  A memory or
        table over the store's ``set_limits`` raises :class:`WasmtimeError` ("no
        default value exists for `m::n` with type `...`", caused by the limit); the
        imports before it stay defined.  :class:`TypeError` when ``module`` is not a
        :class:`Module`.
        """
        if not isinstance(module, Module):
            raise TypeError("expected a `Module`")
        self._live()
        st = store_of(store)
        info = module._live()._info
        for imp in info.imports:
            key = (imp.module, imp.name)
            if key in self._defs:
                continue
            try:
                item = _default_extern(st, info, imp)
            except WasmtimeError as e:
                raise WasmtimeError(
                    f"no default value exists for `{imp.module}::{imp.name}` with type "
                    f"`{_extern_type_debug(imp)}`\n\nCaused by:\n    {e}\n") from None
            self._insert(imp.module, imp.name, item)

    def instantiate(self, store: Store, module: Module) -> Instance:
        """Instantiate ``module`` with its imports resolved by name.  Raises
        :class:`WasmtimeError` ("unknown import: `m::n` has not been defined",
        "incompatible import type for `m::n`") and what :class:`Instance` raises;
        for a ``module`` that is not a :class:`Module`, :class:`AttributeError` (or
        ``ctypes.ArgumentError`` for another wasmlite object), as in wasmtime-py."""
        self._live()
        st = store_of(store)
        return _instantiate(self._defs, st, managed_arg(module, Module, 3))

    def instantiate_pre(self, module: Module) -> InstancePre:
        """Check now that every import of ``module`` is defined, with a matching type;
        the returned :class:`InstancePre` instantiates it in any store (wasmtime-py:
        ``Linker.instantiate_pre``).  Raises :class:`WasmtimeError` ("unknown import:
        ..." for the first undefined import, else "incompatible import type for ..."
        for the first mismatch, as Wasmtime) and ``TypeError`` for a non-Module."""
        if not isinstance(module, Module):
            raise TypeError("expected a `Module`")
        self._live()
        info = module._live()._info
        found = []
        for imp in info.imports:
            d = self._defs.get((imp.module, imp.name))
            if d is None:
                raise WasmtimeError(f"unknown import: `{imp.module}::{imp.name}` "
                                    "has not been defined")
            found.append(d)
        # then, as Wasmtime's Linker::instantiate_pre, the definitions' types
        for imp, d in zip(info.imports, found, strict=True):
            check_import_type(info, imp, "func" if type(d) is _HostDef else _kind_name(d), d)
        return InstancePre._make(module, dict(self._defs))

    def get(self, store: Store, module: str, name: str) -> Any:
        """The item defined as ``module::name``; raises :class:`WasmtimeError` when none."""
        str_arg(module)
        str_arg(name)
        self._live()
        st = store_of(store)
        item = self._defs.get((module, name))
        if item is None:
            raise WasmtimeError("item not defined in linker")
        return _resolve(st, item)

    def get_default(self, store: Store, name: str) -> Func:
        """The default export of module ``name``: its ``""`` function, else ``_start``,
        else a function that does nothing (Wasmtime's ``Linker::get_default``)."""
        str_arg(name)
        self._live()
        st = store_of(store)
        for export in ("", "_start"):
            item = self._defs.get((name, export))
            if item is not None:
                f = _resolve(st, item)
                if not isinstance(f, Func):
                    raise WasmtimeError(f"default export in '{name}' is not a function")
                return f
        return Func(st, FuncType([], []), lambda: None)


class InstancePre(Managed):
    """A module whose imports were resolved by a :class:`Linker` (wasmtime-py:
    ``InstancePre``, made by :meth:`Linker.instantiate_pre`).

    It keeps the linker's definitions as they were at ``instantiate_pre`` time; later
    changes to the linker do not affect it.  Once closed, :meth:`instantiate` and
    :attr:`module` raise :class:`ValueError` ("already closed")."""

    @classmethod
    def _make(cls, module: Module, defs: dict[tuple[str, str], Any]) -> InstancePre:
        """Resolve ``module``'s imports in ``defs`` (every one defined) and do the
        store-independent work of instantiation once: the module's instance template
        (``runtime/template.py``) and the type check of every import defined by
        ``define_func`` (its :class:`Func` in any store has the definition's type);
        imports defined as items of a store are checked at each :meth:`instantiate`."""
        pre = cls.__new__(cls)
        info = module._info
        pre._module = module
        pre._found = found = [defs[(imp.module, imp.name)] for imp in info.imports]
        # define_func definitions passed check_import_type in Linker.instantiate_pre
        pre._checked = [type(d) is _HostDef for d in found]
        module._instance_template()
        return pre

    @property
    def module(self) -> Module:
        """The :class:`Module` this was made from."""
        return self._live()._module

    def instantiate(self, store: Store) -> Instance:
        """Instantiate the module in ``store``.  Raises :class:`WasmtimeError` (an import
        of the wrong type, a definition from another store) or a :class:`Trap` from the
        start function."""
        self._live()
        return _instantiate_found(self._found, store_of(store), self._module, self._checked)


def _default_value(ty: ValType) -> Val:
    """The default value of ``ty`` (spec §4.2.1 "default value"): zero or a null."""
    if ty in (ValType.funcref(), ValType.externref()):
        return Val.ref_null(ty)
    zero = {ValType.i32(): Val.i32, ValType.i64(): Val.i64, ValType.v128(): Val.v128}.get(ty)
    if zero is not None:
        return zero(0)
    return Val.f32(0.0) if ty == ValType.f32() else Val.f64(0.0)


def _default_func(ty: FuncType) -> Callable[..., Any]:
    """A host function body that ignores its arguments and returns the default value of
    each result of ``ty``."""
    defaults = [_default_value(t) for t in ty.results]

    def default(*_args: Any) -> Any:
        if not defaults:
            return None
        return defaults[0] if len(defaults) == 1 else list(defaults)

    return default


def _default_extern(st: Store, info: em.ModuleInfo, imp: em.Import) -> Any:
    """A new item of ``st`` matching import ``imp`` and holding default values
    (Wasmtime's ``ExternType::default_value``); raises :class:`WasmtimeError` when the
    store's limits refuse a memory or table."""
    if imp.kind == em.EXTERN_FUNC:
        ft = FuncType._from(info.types[imp.desc])
        return Func(st, ft, _default_func(ft))
    if imp.kind == em.EXTERN_GLOBAL:
        gt = GlobalType._from(imp.desc)
        return Global(st, gt, _default_value(gt.content))
    if imp.kind == em.EXTERN_MEMORY:
        return Memory(st, MemoryType._from(imp.desc))
    tt = TableType._from(imp.desc)
    return Table(st, tt, None)


def _extern_type_debug(imp: em.Import) -> str:
    """Wasmtime's ``{:?}`` of a memory or table import's ``ExternType``, as its
    ``define_unknown_imports_as_default_values`` error shows it."""
    lim = imp.desc.limits
    limits = (f"limits: Limits {{ min: {lim.min}, max: "
              f"{'None' if lim.max is None else f'Some({lim.max})'} }}")
    if imp.kind == em.EXTERN_MEMORY:
        idx = "I64" if imp.desc.is_64 else "I32"
        return (f"Memory(MemoryType {{ ty: Memory {{ idx_type: {idx}, {limits}, shared: false, "
                "page_size_log2: 16 } })")
    heap = "Func" if imp.desc.elem == em.FUNCREF else "Extern"
    return (f"Table(TableType {{ element: (ref null {heap.lower()}), ty: Table {{ idx_type: I32, "
            f"{limits}, ref_type: WasmRefType {{ nullable: true, heap_type: {heap} }} }} }})")
