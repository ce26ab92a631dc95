"""The ``spectest`` host module the spec testsuite imports from.

Contents follow the spec interpreter's ``interpreter/host/spectest.ml``:

* ``print``, ``print_i32``, ``print_i64``, ``print_f32``, ``print_f64``,
  ``print_i32_f32``, ``print_f64_f64``: functions without results (they print their
  arguments when ``echo`` is set, else do nothing);
* ``global_i32`` (i32 666), ``global_i64`` (i64 666), ``global_f32`` (f32 666.6),
  ``global_f64`` (f64 666.6), all immutable;
* ``table``: a funcref table, limits 10..20;
* ``memory``: a memory, limits 1..2 pages.
"""

from __future__ import annotations

from typing import Any

from wasmlite import (
    Func,
    FuncType,
    Global,
    GlobalType,
    Limits,
    Memory,
    MemoryType,
    Store,
    Table,
    TableType,
    ValType,
)
from wasmlite.environ.module import FUNCREF
from wasmlite.store import store_of

__all__ = ["spectest_exports"]

_PRINTS: dict[str, list[str]] = {
    "print": [], "print_i32": ["i32"], "print_i64": ["i64"], "print_f32": ["f32"],
    "print_f64": ["f64"], "print_i32_f32": ["i32", "f32"], "print_f64_f64": ["f64", "f64"],
}


def spectest_exports(store: Store, echo: bool = False) -> dict[str, Any]:
    """The exports of a new ``spectest`` instance in ``store``: name -> extern."""
    out: dict[str, Any] = {}
    for name, params in _PRINTS.items():
        ty = FuncType([getattr(ValType, p)() for p in params], [])

        def fn(*args: Any, _name: str = name) -> None:
            if echo:
                print(f"{_name}: {' '.join(str(a) for a in args)}")

        out[name] = Func(store, ty, fn)
    out["global_i32"] = Global(store, GlobalType(ValType.i32(), False), 666)
    out["global_i64"] = Global(store, GlobalType(ValType.i64(), False), 666)
    out["global_f32"] = Global(store, GlobalType(ValType.f32(), False), 666.6)
    out["global_f64"] = Global(store, GlobalType(ValType.f64(), False), 666.6)
    out["table"] = Table(store, TableType(ValType.funcref(), Limits(10, 20)), None)
    # the reference interpreter's (table i64 10 20 funcref) (memory64's table64), which
    # wasmtime-py's TableType cannot describe: made on the runtime store
    st = store_of(store)
    out["table64"] = Table._wrap(st, st._rt.new_table(FUNCREF, 10, 20, is_64=True))
    out["memory"] = Memory(store, MemoryType(Limits(1, 2)))
    return out
