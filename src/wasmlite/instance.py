"""``Instance``: an instantiated module (wasmtime-py: ``wasmtime.Instance``), following
the WebAssembly spec §4.5.4 "Instantiation": imports are type-checked (spec §4.5.2
"import matching"), the instance allocated, element and data segments applied, and the
start function run.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from .environ import module as em
from .errors import WasmtimeError, managed_arg
from .func import Func, bind_import
from .globals import Global
from .memory import Memory
from .module import Module
from .runtime.instance import Imports, allocate
from .store import Store, check_store, store_of
from .table import Table
from .types import format_functype

_NAMES = em.VALTYPE_NAMES
AsExtern = Any  # Func | Table | Memory | Global


def _lim(lim: tuple[int, int | None]) -> str:
    return f"(min: {lim[0]}, max: {'none' if lim[1] is None else lim[1]})"


def _limits_match(actual: tuple[int, int | None], expected: em.Limits) -> bool:
    amin, amax = actual
    if amin < expected.min:
        return False
    if expected.max is not None and (amax is None or amax > expected.max):
        return False
    return True


def _valtype_matches(info: em.ModuleInfo, want: int, item: Any, exact: bool) -> bool:
    """Whether the type of global or table data ``item`` (its ``ckey``, see
    ``environ.module.canonical_valtype``) matches ``want``, a valtype of ``info``:
    equal when ``exact`` (mutable globals, tables), else a subtype (typed references)."""
    have = getattr(item, "ckey", None)
    if have is None:
        have = item.valtype if hasattr(item, "valtype") else item.elem
    if isinstance(have, int) and have < em.REF_BASE and want < em.REF_BASE:
        return have == want    # the 2.0 types: no subtyping among them
    w = em.canonical_valtype(want, em.canonical_types(info.types)) \
        if want >= em.REF_BASE else want
    return w == have if exact else em.canonical_matches(have, w)


def _kind_name(item: Any) -> str:
    return {Func: "func", Table: "table", Memory: "memory", Global: "global"}[type(item)]


def check_import(st: Store, info: em.ModuleInfo, imp: em.Import, item: Any) -> None:
    """Check that ``item`` matches import ``imp`` (spec §4.5.2); raises
    :class:`TypeError` for a non-extern and :class:`WasmtimeError` ("incompatible import
    type for `mod::name`") on a mismatch, with wasmtime's explanation."""
    if not isinstance(item, (Func, Table, Memory, Global)):
        raise TypeError("expected a Func, Global, Memory, SharedMemory, Tag, or Table")
    if item._store_id != st._id:
        raise WasmtimeError("cross-`Store` instantiation is not currently supported")
    check_import_type(info, imp, _kind_name(item), item)


def check_import_type(info: em.ModuleInfo, imp: em.Import, kind: str, item: Any) -> None:
    """Check that an extern of kind ``kind`` (``"func"``, ``"table"``, ``"memory"``,
    ``"global"``) matches import ``imp`` (spec §4.5.2 "import matching"); ``item`` is
    the extern, or for a function anything with the function's ``_ft``.  Raises
    :class:`WasmtimeError` ("incompatible import type for `mod::name`") with wasmtime's
    explanation on a mismatch."""
    why = None
    want = em.EXTERN_KIND_NAMES[imp.kind]
    if kind != want:
        why = f"expected {want}, but found {'function' if kind == 'func' else kind}"
    elif imp.kind == em.EXTERN_FUNC:
        ft = info.types[imp.desc]
        if item._ft != ft:
            why = (f"types incompatible: expected type `{format_functype(ft)}`, "
                   f"found type `{format_functype(item._ft)}`")
    elif imp.kind == em.EXTERN_GLOBAL:
        gt, g = imp.desc, item._global
        if gt.mutable != g.mutable:
            why = ("global types incompatible: expected "
                   f"{'mutable' if gt.mutable else 'immutable'} global, found "
                   f"{'mutable' if g.mutable else 'immutable'} global")
        elif not _valtype_matches(info, gt.valtype, g, gt.mutable):
            why = (f"global types incompatible: expected global of type `{_NAMES[gt.valtype]}`, "
                   f"found global of type `{_NAMES[g.valtype]}`")
    elif imp.kind == em.EXTERN_TABLE:
        tt, t = imp.desc, item._table
        if tt.is_64 != t.is_64:
            why = (f"table types incompatible: expected {64 if tt.is_64 else 32}-bit "
                   f"table, found {64 if t.is_64 else 32}-bit table")
        elif not _valtype_matches(info, tt.elem, t, True):
            why = (f"table types incompatible: expected table of type `{_NAMES[tt.elem]}`, "
                   f"found table of type `{_NAMES[t.elem]}`")
        elif not _limits_match((t.size, t.maximum), tt.limits):
            why = (f"table types incompatible: expected table limits "
                   f"{_lim((tt.limits.min, tt.limits.max))} doesn't match provided table "
                   f"limits {_lim((t.size, t.maximum))}")
    else:
        mt, m = imp.desc, item._mem
        if mt.is_64 != m.is_64:
            why = (f"memory types incompatible: expected {64 if mt.is_64 else 32}-bit "
                   f"memory, found {64 if m.is_64 else 32}-bit memory")
        elif not _limits_match((m.pages, m.maximum), mt.limits):
            why = (f"memory types incompatible: expected memory limits "
                   f"{_lim((mt.limits.min, mt.limits.max))} doesn't match provided memory "
                   f"limits {_lim((m.pages, m.maximum))}")
    if why is not None:
        raise WasmtimeError(f"incompatible import type for `{imp.module}::{imp.name}`\n\n"
                            f"Caused by:\n    {why}\n")


class Instance:
    """An instance of ``module`` in ``store``; ``imports`` lists one extern (``Func``,
    ``Table``, ``Memory``, ``Global``) per import of the module, in order.

    Raises :class:`WasmtimeError` for a wrong number or type of imports, :class:`Trap`
    when a segment does not fit or the start function traps, and whatever a host
    function called by the start function raised.  Bad arguments raise what
    wasmtime-py raises: :class:`TypeError` for ``imports`` that is not a sequence of
    externs, :class:`AttributeError` for a ``store`` that is not a Store/Caller or a
    ``module`` that is not a Module, :class:`ValueError` for closed ones.
    """

    def __init__(self, store: Store, module: Module, imports: Sequence[AsExtern]):
        # wasmtime-py's order: the imports (a sized sequence of externs, else
        # TypeError), the store (AttributeError/ValueError), the module
        # (AttributeError, ctypes.ArgumentError or ValueError)
        items = [None] * len(imports)
        for i, item in enumerate(imports):
            if not isinstance(item, (Func, Table, Memory, Global)):
                raise TypeError("expected a Func, Global, Memory, SharedMemory, Tag, or Table")
            items[i] = item
        st = store_of(store)
        self._init(st, managed_arg(module, Module, 2), items)

    @classmethod
    def _new(cls, st: Store, module: Module, imports: list[AsExtern],
             checked: Sequence[bool] | None = None) -> Instance:
        """An instance made by a Linker or InstancePre (arguments already checked; the
        module may have been closed since, as wasmtime-py allows).  ``checked[i]``:
        import ``i`` is already known to match (an :class:`InstancePre` checked it
        once), so only the others are type-checked here."""
        self = cls.__new__(cls)
        self._init(st, module, imports, checked)
        return self

    def _init(self, st: Store, module: Module, imports: list[AsExtern],
              checked: Sequence[bool] | None = None) -> None:
        if module._engine is not st._engine:
            raise WasmtimeError("cross-`Engine` instantiation is not currently supported")
        info = module._info
        if len(imports) != len(info.imports):
            raise WasmtimeError(f"expected {len(info.imports)} imports, found {len(imports)}")
        if checked is None:
            for imp, item in zip(info.imports, imports, strict=True):
                check_import(st, info, imp, item)
        else:
            for imp, item, ok in zip(info.imports, imports, checked, strict=True):
                if not ok:
                    check_import(st, info, imp, item)

        self._store_id = st._id
        self._module = module
        self._exports_cache: tuple[list[AsExtern], dict[str, AsExtern]] | None = None
        resolved = Imports([], [], [], [])
        for imp, item in zip(info.imports, imports, strict=True):
            if imp.kind == em.EXTERN_FUNC:
                resolved.funcs.append(bind_import(st, item, self))
            elif imp.kind == em.EXTERN_TABLE:
                resolved.tables.append(item._table)
            elif imp.kind == em.EXTERN_MEMORY:
                resolved.memories.append(item._mem)
            else:
                resolved.globals.append(item._global)
        code = module._compiled
        try:
            rt = allocate(st._rt, info, code.function_addrs, module._type_ids, resolved,
                          module._instance_template())
        except MemoryError as e:
            raise WasmtimeError(f"failed to allocate instance: {e}") from None
        self._rt = rt
        st._register_code(module, code, info)
        st._register_funcrefs(rt, code, info)

        try:
            rt.initialize()
        except MemoryError as e:
            raise WasmtimeError(f"failed to allocate instance: {e}") from None
        if info.start is not None:
            start = st._func_from_addr(rt.func_ref(info.start))
            assert start is not None
            start(st)

    def _exports(self, st: Store) -> tuple[list[AsExtern], dict[str, AsExtern]]:
        """The exports in order and by name, wrapped on first use (as wasmtime-py's
        ``Instance.exports`` does); ``st`` is the instance's store."""
        ex = self._exports_cache
        if ex is None:
            exports = self._module._info.exports
            items = [self._extern(st, e) for e in exports]
            ex = self._exports_cache = (
                items, {e.name: x for e, x in zip(exports, items, strict=True)})
        return ex

    def _extern(self, st: Store, e: em.Export) -> AsExtern:
        rt = self._rt
        if e.kind == em.EXTERN_FUNC:
            return st._func_from_addr(rt.func_ref(e.index))
        if e.kind == em.EXTERN_TABLE:
            return Table._wrap(st, rt.tables[e.index])
        if e.kind == em.EXTERN_MEMORY:
            return Memory._wrap(st, rt.memories[e.index])
        return Global._wrap(st, rt.globals[e.index])

    def exports(self, store: Store) -> InstanceExports:
        """The exports: a mapping by name, with ``by_index`` for the ordered list.
        Raises :class:`WasmtimeError` for another store (wasmtime-py 50 aborts the
        process there)."""
        st = check_store(self._store_id, store)
        return InstanceExports(self, st)


class InstanceExports(Mapping[str, AsExtern]):
    """Exports of an :class:`Instance` by name (``exports["f"]``) and by index
    (``exports.by_index[0]`` or ``exports[0]``)."""

    def __init__(self, instance: Instance, st: Store):
        self._items, self._by_name = instance._exports(st)

    @property
    def by_index(self) -> Sequence[AsExtern]:
        return tuple(self._items)

    def __getitem__(self, key: str | int) -> AsExtern:
        if isinstance(key, int):
            return self._items[key]
        return self._by_name[key]

    def __len__(self) -> int:
        return len(self._by_name)

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_name)
