"""The table behind ``tests/test_compat_args.py``: every public callable of the API
wasmlite shares with wasmtime-py 50, every argument, and the bad values to feed it.

A *case* is one call of one callable (:class:`Api`) with every argument good but one,
which gets a bad value of its parameter's kind (:data:`BAD`): a value of a wrong type,
``None``, a closed object (wasmtime-py's ``Managed.close()``), an object of another
store; or the receiver itself is closed (``closed-receiver``).  :func:`run_case` makes
the call in a fresh little world of objects (:class:`World`) and returns what happened:
``{"ok": True}`` or ``{"exc": <type>, "msg": <message>}``.

The same cases run under both implementations.  wasmtime-py 50 aborts the process
(a Rust panic) for some of them, so ``python tests/compat_args_table.py wasmtime START``
runs the cases from index ``START`` on, one JSON line per case, and the test starts it
again after the case that killed it (see ``tests/test_compat_args.py``).
"""

from __future__ import annotations

import ctypes
import json
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: exports: a function, a memory, a table, a global, and a function that traps
EXPORTS = """(module
  (func (export "f") (param i32) (result i32) local.get 0)
  (memory (export "mem") 1 3)
  (table (export "tab") 2 10 funcref)
  (global (export "glob") (mut i32) (i32.const 0))
  (global (export "fglob") (mut funcref) (ref.null func))
  (func (export "fref") (param funcref) (result funcref) local.get 0)
  (func (export "trap") unreachable))"""
#: one function import, and a start-less command with ``_start``
IMPORTS = """(module
  (import "m" "f" (func (param i32) (result i32)))
  (func (export "_start")))"""


def _wasm(wt: Any, text: str) -> bytes:
    return bytes(wt.wat2wasm(text))


class Base:
    """What is shared by every case of one implementation: an engine and the compiled
    modules (never closed or consumed; the cases that need that make their own)."""

    def __init__(self, wt: Any):
        self.wt = wt
        self.engine = wt.Engine()
        self.exports_wasm = _wasm(wt, EXPORTS)
        self.imports_wasm = _wasm(wt, IMPORTS)
        self.module = wt.Module(self.engine, self.exports_wasm)
        self.imports_module = wt.Module(self.engine, self.imports_wasm)
        self.serialized = bytes(self.module.serialize())
        self.tmp = Path(tempfile.mkdtemp(prefix="compat-args-"))
        (self.tmp / "m.wasm").write_bytes(self.exports_wasm)
        (self.tmp / "m.cwasm").write_bytes(self.serialized)
        (self.tmp / "in.txt").write_bytes(b"input")
        (self.tmp / "dir").mkdir()


class World:
    """The objects of one case, each made on first use (``w.store``, ``w.func`` ...)
    from :data:`MAKERS`; a fresh store per case, so that no case sees another's
    effects."""

    def __init__(self, base: Base):
        self.base = base
        self.wt = base.wt
        self._made: dict[str, Any] = {}

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        made = self.__dict__["_made"]
        if name not in made:
            made[name] = MAKERS[name](self)
        return made[name]


def _i32(w: World) -> Any:
    return w.wt.ValType.i32()


def _closed(obj: Any) -> Any:
    obj.close()
    return obj


def _escaped_caller(w: World) -> Any:
    """A Caller kept after the host call that received it returned (no longer valid)."""
    kept = []
    f = w.wt.Func(w.store, w.wt.FuncType([], []), lambda caller: kept.append(caller),
                  access_caller=True)
    f(w.store)
    return kept[0]


def _trap(w: World) -> Any:
    try:
        w.exports["trap"](w.store)
    except w.wt.Trap as e:
        return e
    raise AssertionError("no trap")


def _exit_trap(w: World) -> Any:
    """The ExitTrap of a WASI program calling ``proc_exit(3)``."""
    wt = w.wt
    module = wt.Module(w.engine, wt.wat2wasm("""(module
      (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
      (memory (export "memory") 1)
      (func (export "_start") (call $exit (i32.const 3))))"""))
    linker = wt.Linker(w.engine)
    linker.define_wasi()
    w.store.set_wasi(wt.WasiConfig())
    try:
        linker.instantiate(w.store, module).exports(w.store)["_start"](w.store)
    except wt.ExitTrap as e:
        return e
    raise AssertionError("no exit")


def _consumed_config(w: World) -> Any:
    config = w.wt.Config()
    w.wt.Engine(config)
    return config


def _instance_pre(w: World) -> Any:
    linker = w.wt.Linker(w.engine)
    linker.define_func("m", "f", w.wt.FuncType([_i32(w)], [_i32(w)]), lambda x: x)
    return linker.instantiate_pre(w.imports_module)


#: how to make each object of a :class:`World`
MAKERS: dict[str, Callable[[World], Any]] = {
    "engine": lambda w: w.base.engine,
    "module": lambda w: w.base.module,
    "imports_module": lambda w: w.base.imports_module,
    "store": lambda w: w.wt.Store(w.engine),
    "store2": lambda w: w.wt.Store(w.engine),
    "instance": lambda w: w.wt.Instance(w.store, w.module, []),
    "instance2": lambda w: w.wt.Instance(w.store2, w.module, []),
    "exports": lambda w: w.instance.exports(w.store),
    "exports2": lambda w: w.instance2.exports(w.store2),
    "func": lambda w: w.exports["f"],
    "fref": lambda w: w.exports["fref"],
    "mem": lambda w: w.exports["mem"],
    "tab": lambda w: w.exports["tab"],
    "glob": lambda w: w.exports["glob"],
    "fglob": lambda w: w.exports["fglob"],
    "func2": lambda w: w.exports2["f"],
    "linker": lambda w: w.wt.Linker(w.engine),
    "config": lambda w: w.wt.Config(),
    "functype": lambda w: w.wt.FuncType([_i32(w)], [_i32(w)]),
    "valtype": _i32,
    "globaltype": lambda w: w.wt.GlobalType(_i32(w), True),
    "memorytype": lambda w: w.wt.MemoryType(w.wt.Limits(1, 2)),
    "tabletype": lambda w: w.wt.TableType(w.wt.ValType.funcref(), w.wt.Limits(1, 2)),
    "limits": lambda w: w.wt.Limits(1, 2),
    "importtype": lambda w: w.imports_module.imports[0],
    "exporttype": lambda w: w.module.exports[0],
    "instance_pre": _instance_pre,
    "wasi": lambda w: w.wt.WasiConfig(),
    "trap": _trap,
    "frame": lambda w: w.trap.frames[0],
    "error": lambda w: w.wt.WasmtimeError("x"),
    "exit_trap": _exit_trap,
    "caller": _escaped_caller,
    "val": lambda w: w.wt.Val.i32(1),
    "host_func": lambda w: w.wt.Func(w.store, w.functype, lambda x: x),
    # closed / consumed objects, fresh each time
    "closed_store": lambda w: _closed(w.wt.Store(w.engine)),
    "closed_engine": lambda w: _closed(w.wt.Engine()),
    "closed_config": lambda w: _closed(w.wt.Config()),
    "consumed_config": _consumed_config,
    "closed_module": lambda w: _closed(w.wt.Module(w.engine, b"\0asm\x01\0\0\0")),
    "closed_functype": lambda w: _closed(w.wt.FuncType([], [])),
    "closed_valtype": lambda w: _closed(w.wt.ValType.i32()),
    "closed_globaltype": lambda w: _closed(w.wt.GlobalType(_i32(w), False)),
    "closed_memorytype": lambda w: _closed(w.wt.MemoryType(w.wt.Limits(1, None))),
    "closed_tabletype": lambda w: _closed(w.wt.TableType(w.wt.ValType.funcref(),
                                                          w.wt.Limits(1, None))),
    "closed_wasi": lambda w: _closed(w.wt.WasiConfig()),
}

#: every kind of parameter, with its bad values: label -> how to make the value.
#: ``closed-*`` are closed objects, ``foreign`` an object of another store (only used
#: where the receiver or another argument pins the store, see ``Api.owned``).
BAD: dict[str, dict[str, Callable[[World], Any]]] = {
    "store": {
        "int": lambda w: 1, "None": lambda w: None, "engine": lambda w: w.wt.Engine(),
        "closed": lambda w: w.closed_store, "escaped-caller": lambda w: w.caller,
        "foreign": lambda w: w.store2,
    },
    "engine": {
        "int": lambda w: 1, "None": lambda w: None, "store": lambda w: w.store,
        "closed": lambda w: w.closed_engine,
    },
    "opt_engine": {  # None means "a new one"
        "int": lambda w: 1, "store": lambda w: w.store, "closed": lambda w: w.closed_engine,
    },
    "opt_config": {  # None means "the default"
        "int": lambda w: 1, "engine": lambda w: w.wt.Engine(), "closed": lambda w: w.closed_config,
        "consumed": lambda w: w.consumed_config,
    },
    "module": {
        "int": lambda w: 1, "None": lambda w: None, "engine": lambda w: w.wt.Engine(),
        "closed": lambda w: w.closed_module,
    },
    "functype": {
        "int": lambda w: 1, "None": lambda w: None, "valtype": lambda w: w.valtype,
        "closed": lambda w: w.closed_functype,
    },
    "valtype": {
        "int": lambda w: 1, "None": lambda w: None, "functype": lambda w: w.functype,
        "closed": lambda w: w.closed_valtype,
    },
    "globaltype": {
        "int": lambda w: 1, "None": lambda w: None, "valtype": lambda w: w.valtype,
        "closed": lambda w: w.closed_globaltype,
    },
    "memorytype": {
        "int": lambda w: 1, "None": lambda w: None, "tabletype": lambda w: w.tabletype,
        "closed": lambda w: w.closed_memorytype,
    },
    "tabletype": {
        "int": lambda w: 1, "None": lambda w: None, "memorytype": lambda w: w.memorytype,
        "closed": lambda w: w.closed_tabletype,
    },
    "limits": {
        "int": lambda w: 1, "None": lambda w: None, "tuple": lambda w: (1, 2),
        "str-min": lambda w: w.wt.Limits("1", None), "float-min": lambda w: w.wt.Limits(1.5, None),
        "None-min": lambda w: w.wt.Limits(None, None), "str-max": lambda w: w.wt.Limits(1, "2"),
    },
    "instance": {
        "int": lambda w: 1, "None": lambda w: None, "module": lambda w: w.wt.Module(w.engine, b"\0asm\x01\0\0\0"),
        "foreign": lambda w: w.instance2,
    },
    "extern": {
        "int": lambda w: 1, "None": lambda w: None, "module": lambda w: w.wt.Module(w.engine, b"\0asm\x01\0\0\0"),
        "foreign": lambda w: w.func2,
    },
    "imports": {
        "int": lambda w: 1, "None": lambda w: None, "list-int": lambda w: [1],
        "list-None": lambda w: [None], "foreign": lambda w: [w.func2],
    },
    "valtypes": {
        "int": lambda w: 1, "None": lambda w: None, "list-int": lambda w: [1],
        "list-closed": lambda w: [w.closed_valtype],
    },
    "str": {"int": lambda w: 1, "None": lambda w: None, "bytes": lambda w: b"x"},
    "int": {"str": lambda w: "1", "None": lambda w: None, "float": lambda w: 1.5},
    "opt_int": {"str": lambda w: "1", "float": lambda w: 1.5},
    "bool": {"int": lambda w: 1, "None": lambda w: None, "str": lambda w: "yes"},
    "truthy": {},  # any value is taken for its truth
    "float": {"int": lambda w: 1, "None": lambda w: None, "str": lambda w: "1.0"},
    "i32": {"float": lambda w: 1.5, "None": lambda w: None, "str": lambda w: "1",
            "val-i64": lambda w: w.wt.Val.i64(1)},
    "funcref": {"int": lambda w: 1, "str": lambda w: "x", "val-i32": lambda w: w.wt.Val.i32(1),
                "foreign": lambda w: w.func2},
    "wasm": {"int": lambda w: 1, "None": lambda w: None, "list": lambda w: [0]},
    "wasm_bytes": {"int": lambda w: 1, "None": lambda w: None, "str": lambda w: "(module)"},
    "buffer": {"None": lambda w: None, "str": lambda w: "abc", "float": lambda w: 1.5},
    "path": {"None": lambda w: None, "float": lambda w: 1.5, "list": lambda w: []},
    "callable": {"int": lambda w: 1, "None": lambda w: None},
    "wasi": {"int": lambda w: 1, "None": lambda w: None, "engine": lambda w: w.wt.Engine(),
             "closed": lambda w: w.closed_wasi},
    "strlist": {"int": lambda w: 1, "None": lambda w: None, "list-int": lambda w: [1]},
    "pairs": {"int": lambda w: 1, "None": lambda w: None, "list-int": lambda w: [1],
              "short-pair": lambda w: [("a",)], "int-name": lambda w: [(1, "b")]},
    "cache": {"int": lambda w: 1, "None": lambda w: None, "float": lambda w: 1.5},
    "enum_str": {"int": lambda w: 1, "None": lambda w: None},
    "any": {},
}

#: receivers that are wasmtime-py ``Managed`` objects: each callable on them is also
#: called with the receiver closed
MANAGED = {"config": "closed_config", "engine": "closed_engine", "store": "closed_store",
           "module": "closed_module", "linker": None, "instance_pre": None,
           "functype": "closed_functype", "valtype": "closed_valtype",
           "globaltype": "closed_globaltype", "memorytype": "closed_memorytype",
           "tabletype": "closed_tabletype", "importtype": None, "exporttype": None,
           "trap": None, "frame": None, "wasi": "closed_wasi", "error": None,
           "exit_trap": None}


@dataclass
class P:
    """A parameter: its name, its kind (a key of :data:`BAD`) and a good value (a
    :class:`World` attribute name, or a function of the world)."""

    name: str
    kind: str
    good: str | Callable[[World], Any]


@dataclass
class Api:
    """One public callable.  ``how``: ``ctor`` (``cls(*args)``), ``cmethod``
    (``getattr(cls, member)(*args)``), ``func`` (``getattr(wt, member)(*args)``),
    ``method`` (``getattr(recv, member)(*args)``), ``get``/``set`` (a property),
    ``call`` (``recv(*args)``), ``getitem`` and ``eq``.  ``recv`` is a :class:`World`
    attribute (methods) or the class name (``ctor``/``cmethod``).  ``owned``: the
    receiver belongs to a store (or the call ties its arguments to one), so an object of
    another store is a bad value too."""

    name: str
    how: str
    recv: str
    member: str = ""
    params: list[P] = field(default_factory=list)
    owned: bool = False


def _lit(v: Any) -> Callable[[World], Any]:
    return lambda w: v


def _cfg_bool(name: str) -> Api:
    return Api(f"Config.{name}", "set", "config", name, [P("enable", "bool", _lit(True))])


def _cfg_int(name: str) -> Api:
    return Api(f"Config.{name}", "set", "config", name, [P("size", "int", _lit(1 << 20))])


CONFIG_BOOLS = [
    "debug_info", "wasm_threads", "wasm_tail_call", "wasm_reference_types", "wasm_simd",
    "wasm_bulk_memory", "wasm_multi_value", "wasm_multi_memory", "wasm_memory64",
    "wasm_relaxed_simd", "wasm_relaxed_simd_deterministic", "wasm_component_model",
    "wasm_component_model_map", "wasm_component_model_implements", "wasm_exceptions",
    "wasm_function_references", "wasm_gc", "wasm_wide_arithmetic", "wasm_custom_page_sizes",
    "wasm_stack_switching", "cranelift_debug_verifier", "consume_fuel",
    "parallel_compilation", "shared_memory", "gc_support", "cranelift_nan_canonicalization",
    "memory_may_move", "native_unwind_info", "macos_use_mach_ports", "signals_based_traps",
    "memory_init_cow",
]
CONFIG_INTS = ["max_wasm_stack", "memory_reservation", "memory_guard_size",
               "memory_reservation_for_growth"]

S = P("store", "store", "store")

API: list[Api] = [
    Api("wat2wasm", "func", "", "wat2wasm", [P("wat", "wasm", _lit("(module)"))]),
    # -- Config ---------------------------------------------------------------------------
    Api("Config()", "ctor", "Config"),
    *[_cfg_bool(n) for n in CONFIG_BOOLS],
    *[_cfg_int(n) for n in CONFIG_INTS],
    Api("Config.epoch_interruption", "set", "config", "epoch_interruption",
        [P("enabled", "truthy", _lit(True))]),
    Api("Config.strategy", "set", "config", "strategy", [P("strategy", "enum_str", _lit("auto"))]),
    Api("Config.cranelift_opt_level", "set", "config", "cranelift_opt_level",
        [P("opt_level", "enum_str", _lit("speed"))]),
    Api("Config.profiler", "set", "config", "profiler", [P("profiler", "enum_str", _lit("none"))]),
    Api("Config.cache", "set", "config", "cache", [P("enabled", "cache", _lit(True))]),
    Api("Config.target", "set", "config", "target",
        [P("triple", "str", _lit("x86_64-unknown-linux-gnu"))]),
    Api("Config.cranelift_flag_enable", "method", "config", "cranelift_flag_enable",
        [P("flag", "str", _lit("has_sse3"))]),
    Api("Config.cranelift_flag_set", "method", "config", "cranelift_flag_set",
        [P("key", "str", _lit("opt_level")), P("value", "str", _lit("speed"))]),
    # -- Engine ---------------------------------------------------------------------------
    Api("Engine()", "ctor", "Engine", params=[P("config", "opt_config", "config")]),
    Api("Engine.increment_epoch", "method", "engine", "increment_epoch"),
    Api("Engine.is_pulley", "method", "engine", "is_pulley"),
    # -- Store ----------------------------------------------------------------------------
    Api("Store()", "ctor", "Store", params=[P("engine", "opt_engine", "engine"),
                                            P("data", "any", _lit(None))]),
    Api("Store.data", "method", "store", "data"),
    Api("Store.gc", "method", "store", "gc"),
    Api("Store.set_fuel", "method", "store", "set_fuel", [P("fuel", "int", _lit(1))]),
    Api("Store.get_fuel", "method", "store", "get_fuel"),
    Api("Store.set_wasi", "method", "store", "set_wasi", [P("wasi", "wasi", "wasi")]),
    Api("Store.set_epoch_deadline", "method", "store", "set_epoch_deadline",
        [P("ticks_after_current", "int", _lit(1))]),
    Api("Store.set_limits", "method", "store", "set_limits",
        [P(n, "int", _lit(-1)) for n in ("memory_size", "table_elements", "instances",
                                         "tables", "memories")]),
    Api("Store.engine", "get", "store", "engine"),
    # -- Module ---------------------------------------------------------------------------
    Api("Module()", "ctor", "Module", params=[P("engine", "engine", "engine"),
                                              P("wasm", "wasm", _lit("(module)"))]),
    Api("Module.from_file", "cmethod", "Module", "from_file",
        [P("engine", "engine", "engine"), P("path", "path", lambda w: str(w.base.tmp / "m.wasm"))]),
    Api("Module.validate", "cmethod", "Module", "validate",
        [P("engine", "engine", "engine"), P("wasm", "wasm_bytes", lambda w: w.base.exports_wasm)]),
    Api("Module.deserialize", "cmethod", "Module", "deserialize",
        [P("engine", "engine", "engine"),
         P("encoded", "wasm_bytes", lambda w: w.base.serialized)]),
    Api("Module.deserialize_file", "cmethod", "Module", "deserialize_file",
        [P("engine", "engine", "engine"),
         P("path", "path", lambda w: str(w.base.tmp / "m.cwasm"))]),
    Api("Module.imports", "get", "module", "imports"),
    Api("Module.exports", "get", "module", "exports"),
    Api("Module.serialize", "method", "module", "serialize"),
    # -- Instance -------------------------------------------------------------------------
    Api("Instance()", "ctor", "Instance",
        params=[S, P("module", "module", "imports_module"),
                P("imports", "imports", lambda w: [w.host_func])], owned=True),
    Api("Instance.exports", "method", "instance", "exports", [S], owned=True),
    # -- Linker ---------------------------------------------------------------------------
    Api("Linker()", "ctor", "Linker", params=[P("engine", "engine", "engine")]),
    Api("Linker.allow_shadowing", "set", "linker", "allow_shadowing",
        [P("allow", "bool", _lit(True))]),
    Api("Linker.define", "method", "linker", "define",
        [S, P("module", "str", _lit("m")), P("name", "str", _lit("f")),
         P("item", "extern", "host_func")], owned=True),
    Api("Linker.define_func", "method", "linker", "define_func",
        [P("module", "str", _lit("m")), P("name", "str", _lit("f")),
         P("ty", "functype", "functype"), P("func", "callable", _lit(lambda x: x)),
         P("access_caller", "truthy", _lit(False))]),
    Api("Linker.define_instance", "method", "linker", "define_instance",
        [S, P("name", "str", _lit("i")), P("instance", "instance", "instance")], owned=True),
    Api("Linker.define_wasi", "method", "linker", "define_wasi"),
    Api("Linker.define_module", "method", "linker", "define_module",
        [S, P("name", "str", _lit("i")), P("module", "module", "module")]),
    Api("Linker.instantiate", "method", "linker", "instantiate",
        [S, P("module", "module", "module")]),
    Api("Linker.get_default", "method", "linker", "get_default", [S, P("name", "str", _lit("x"))]),
    Api("Linker.get", "method", "linker", "get",
        [S, P("module", "str", _lit("m")), P("name", "str", _lit("f"))]),
    Api("Linker.define_unknown_imports_as_traps", "method", "linker",
        "define_unknown_imports_as_traps", [P("module", "module", "imports_module")]),
    Api("Linker.define_unknown_imports_as_default_values", "method", "linker",
        "define_unknown_imports_as_default_values",
        [S, P("module", "module", "imports_module")]),
    Api("Linker.instantiate_pre", "method", "linker", "instantiate_pre",
        [P("module", "module", "module")]),
    # -- InstancePre ----------------------------------------------------------------------
    Api("InstancePre.instantiate", "method", "instance_pre", "instantiate", [S]),
    Api("InstancePre.module", "get", "instance_pre", "module"),
    # -- Func, Caller ---------------------------------------------------------------------
    Api("Func()", "ctor", "Func",
        params=[S, P("ty", "functype", "functype"), P("func", "callable", _lit(lambda x: x)),
                P("access_caller", "truthy", _lit(False))]),
    Api("Func.type", "method", "func", "type", [S], owned=True),
    Api("Func.__call__", "call", "func", params=[S, P("param0", "i32", _lit(1))], owned=True),
    Api("Func.__call__(funcref)", "call", "fref",
        params=[S, P("param0", "funcref", "func")], owned=True),
    Api("Caller.get", "method", "caller", "get", [P("name", "str", _lit("x"))]),
    Api("Caller.__getitem__", "getitem", "caller", params=[P("name", "str", _lit("x"))]),
    # -- Memory ---------------------------------------------------------------------------
    Api("Memory()", "ctor", "Memory", params=[S, P("ty", "memorytype", "memorytype")]),
    Api("Memory.type", "method", "mem", "type", [S], owned=True),
    Api("Memory.grow", "method", "mem", "grow", [S, P("delta", "int", _lit(1))], owned=True),
    Api("Memory.size", "method", "mem", "size", [S], owned=True),
    Api("Memory.data_ptr", "method", "mem", "data_ptr", [S], owned=True),
    Api("Memory.data_len", "method", "mem", "data_len", [S], owned=True),
    Api("Memory.page_size", "method", "mem", "page_size", [S], owned=True),
    Api("Memory.page_size_log2", "method", "mem", "page_size_log2", [S], owned=True),
    Api("Memory.get_buffer_ptr", "method", "mem", "get_buffer_ptr",
        [S, P("size", "opt_int", _lit(4)), P("offset", "int", _lit(0))], owned=True),
    Api("Memory.read", "method", "mem", "read",
        [S, P("start", "opt_int", _lit(0)), P("stop", "opt_int", _lit(4))], owned=True),
    Api("Memory.write", "method", "mem", "write",
        [S, P("value", "buffer", _lit(b"ab")), P("start", "opt_int", _lit(0))], owned=True),
    # -- Table ----------------------------------------------------------------------------
    Api("Table()", "ctor", "Table",
        params=[S, P("ty", "tabletype", "tabletype"), P("init", "funcref", _lit(None))]),
    Api("Table.type", "method", "tab", "type", [S], owned=True),
    Api("Table.size", "method", "tab", "size", [S], owned=True),
    Api("Table.grow", "method", "tab", "grow",
        [S, P("amt", "int", _lit(1)), P("init", "funcref", _lit(None))], owned=True),
    Api("Table.get", "method", "tab", "get", [S, P("idx", "int", _lit(0))], owned=True),
    Api("Table.set", "method", "tab", "set",
        [S, P("idx", "int", _lit(0)), P("val", "funcref", "func")], owned=True),
    # -- Global ---------------------------------------------------------------------------
    Api("Global()", "ctor", "Global",
        params=[S, P("ty", "globaltype", "globaltype"), P("val", "i32", _lit(1))]),
    Api("Global.type", "method", "glob", "type", [S], owned=True),
    Api("Global.value", "method", "glob", "value", [S], owned=True),
    Api("Global.set_value", "method", "glob", "set_value",
        [S, P("val", "i32", _lit(2))], owned=True),
    Api("Global.set_value(funcref)", "method", "fglob", "set_value",
        [S, P("val", "funcref", "func")], owned=True),
    # -- types ----------------------------------------------------------------------------
    Api("FuncType()", "ctor", "FuncType",
        params=[P("params", "valtypes", lambda w: [_i32(w)]),
                P("results", "valtypes", lambda w: [])]),
    Api("FuncType.params", "get", "functype", "params"),
    Api("FuncType.results", "get", "functype", "results"),
    *[Api(f"ValType.{k}", "cmethod", "ValType", k)
      for k in ("i32", "i64", "f32", "f64", "externref", "funcref")],
    Api("ValType()", "ctor", "ValType"),
    Api("ValType.__eq__", "eq", "valtype", params=[P("other", "valtype", "valtype")]),
    Api("ValType.__str__", "method", "valtype", "__str__"),
    Api("GlobalType()", "ctor", "GlobalType",
        params=[P("valtype", "valtype", "valtype"), P("mutable", "truthy", _lit(True))]),
    Api("GlobalType.content", "get", "globaltype", "content"),
    Api("GlobalType.mutable", "get", "globaltype", "mutable"),
    Api("MemoryType()", "ctor", "MemoryType",
        params=[P("limits", "limits", "limits"), P("is_64", "truthy", _lit(False)),
                P("shared", "truthy", _lit(False)), P("page_size_log2", "int", _lit(16))]),
    *[Api(f"MemoryType.{k}", "get", "memorytype", k)
      for k in ("limits", "is_64", "is_shared", "page_size", "page_size_log2")],
    Api("TableType()", "ctor", "TableType",
        params=[P("valtype", "valtype", lambda w: w.wt.ValType.funcref()),
                P("limits", "limits", "limits")]),
    Api("TableType.element", "get", "tabletype", "element"),
    Api("TableType.limits", "get", "tabletype", "limits"),
    Api("Limits()", "ctor", "Limits", params=[P("min", "any", _lit(1)), P("max", "any", _lit(2))]),
    *[Api(f"ImportType.{k}", "get", "importtype", k) for k in ("module", "name", "type")],
    *[Api(f"ExportType.{k}", "get", "exporttype", k) for k in ("name", "type")],
    # -- Val ------------------------------------------------------------------------------
    Api("Val.i32", "cmethod", "Val", "i32", [P("val", "int", _lit(1))]),
    Api("Val.i64", "cmethod", "Val", "i64", [P("val", "int", _lit(1))]),
    Api("Val.f32", "cmethod", "Val", "f32", [P("val", "float", _lit(1.0))]),
    Api("Val.f64", "cmethod", "Val", "f64", [P("val", "float", _lit(1.0))]),
    Api("Val.externref", "cmethod", "Val", "externref", [P("extern", "any", _lit(1))]),
    Api("Val.funcref", "cmethod", "Val", "funcref", [P("f", "any", _lit(None))]),
    Api("Val.ref_null", "cmethod", "Val", "ref_null",
        [P("ty", "valtype", lambda w: w.wt.ValType.funcref())]),
    *[Api(f"Val.{k}", "method", "val", k)
      for k in ("as_i32", "as_i64", "as_f32", "as_f64", "as_externref", "as_funcref")],
    Api("Val.value", "get", "val", "value"),
    Api("Val.type", "get", "val", "type"),
    # -- Trap, Frame, WasmtimeError -------------------------------------------------------
    Api("Trap()", "ctor", "Trap", params=[P("message", "str", _lit("boom"))]),
    Api("Trap.message", "get", "trap", "message"),
    Api("Trap.frames", "get", "trap", "frames"),
    Api("Trap.trap_code", "get", "trap", "trap_code"),
    Api("Trap.__str__", "method", "trap", "__str__"),
    *[Api(f"Frame.{k}", "get", "frame", k)
      for k in ("func_index", "func_name", "module_name", "module_offset", "func_offset")],
    Api("WasmtimeError()", "ctor", "WasmtimeError", params=[P("message", "str", _lit("boom"))]),
    Api("WasmtimeError.__str__", "method", "error", "__str__"),
    Api("TrapCode()", "ctor", "TrapCode", params=[P("value", "enum_str", _lit(0))]),
    # -- close() of every Managed object (closing twice is fine) -------------------------
    *[Api(f"{cls}.close", "method", recv, "close") for cls, recv in (
        ("Config", "config"), ("Engine", "engine"), ("Store", "store"), ("Module", "module"),
        ("Linker", "linker"), ("InstancePre", "instance_pre"), ("FuncType", "functype"),
        ("ValType", "valtype"), ("GlobalType", "globaltype"), ("MemoryType", "memorytype"),
        ("TableType", "tabletype"), ("ImportType", "importtype"),
        ("ExportType", "exporttype"), ("Trap", "trap"), ("Frame", "frame"),
        ("WasiConfig", "wasi"), ("WasmtimeError", "error"), ("ExitTrap", "exit_trap"))],
    Api("ExitTrap.__str__", "method", "exit_trap", "__str__"),
    # -- WasiConfig -----------------------------------------------------------------------
    Api("WasiConfig()", "ctor", "WasiConfig"),
    Api("WasiConfig.argv", "set", "wasi", "argv", [P("argv", "strlist", _lit(["a"]))]),
    Api("WasiConfig.env", "set", "wasi", "env", [P("pairs", "pairs", _lit([("A", "b")]))]),
    Api("WasiConfig.stdin_file", "set", "wasi", "stdin_file",
        [P("path", "path", lambda w: str(w.base.tmp / "in.txt"))]),
    Api("WasiConfig.stdout_file", "set", "wasi", "stdout_file",
        [P("path", "path", lambda w: str(w.base.tmp / "out.txt"))]),
    Api("WasiConfig.stderr_file", "set", "wasi", "stderr_file",
        [P("path", "path", lambda w: str(w.base.tmp / "err.txt"))]),
    Api("WasiConfig.stdout_custom", "set", "wasi", "stdout_custom",
        [P("callback", "any", _lit(print))]),
    Api("WasiConfig.stderr_custom", "set", "wasi", "stderr_custom",
        [P("callback", "any", _lit(print))]),
    Api("WasiConfig.preopen_dir", "method", "wasi", "preopen_dir",
        [P("path", "str", lambda w: str(w.base.tmp / "dir")), P("guest_path", "str", _lit("/d")),
         P("fs_mutable", "truthy", _lit(True))]),
    *[Api(f"WasiConfig.{k}", "method", "wasi", k)
      for k in ("inherit_argv", "inherit_env", "inherit_stdin", "inherit_stdout",
                "inherit_stderr")],
]


@dataclass
class Case:
    """One call: ``api`` with parameter ``param`` (an index, or ``None`` for the
    receiver) given the bad value ``label``."""

    api: Api
    param: int | None
    label: str

    @property
    def id(self) -> str:
        where = "receiver" if self.param is None else self.api.params[self.param].name
        return f"{self.api.name}:{where}={self.label}"


def cases() -> list[Case]:
    """Every case of :data:`API`, in a fixed order."""
    out = []
    for api in API:
        if api.recv in MANAGED and api.how not in ("ctor", "cmethod", "func"):
            out.append(Case(api, None, "closed"))
        for i, p in enumerate(api.params):
            for label in BAD[p.kind]:
                if label == "foreign" and p.kind == "store" and not api.owned:
                    continue
                out.append(Case(api, i, label))
    return out


def _good(w: World, p: P) -> Any:
    return getattr(w, p.good) if isinstance(p.good, str) else p.good(w)


def _call(w: World, case: Case) -> Any:
    api = case.api
    args = [BAD[p.kind][case.label](w) if i == case.param else _good(w, p)
            for i, p in enumerate(api.params)]
    wt = w.wt
    if api.how in ("ctor", "cmethod"):
        cls = getattr(wt, api.recv)
        return cls(*args) if api.how == "ctor" else getattr(cls, api.member)(*args)
    if api.how == "func":
        return getattr(wt, api.member)(*args)
    if case.param is None:
        closed = MANAGED.get(api.recv)
        recv = getattr(w, closed) if closed else _closed(getattr(w, api.recv))
    else:
        recv = getattr(w, api.recv)
    if api.how == "method":
        return getattr(recv, api.member)(*args)
    if api.how == "get":
        return getattr(recv, api.member)
    if api.how == "set":
        return setattr(recv, api.member, args[0])
    if api.how == "call":
        return recv(*args)
    if api.how == "getitem":
        return recv[args[0]]
    if api.how == "eq":
        return recv == args[0]
    raise AssertionError(api.how)


def exc_name(e: BaseException) -> str:
    """``e``'s type as the two implementations share it: ``WasmtimeError``, ``Trap``,
    ``ExitTrap``, ``ctypes.ArgumentError`` or a builtin's name."""
    t = type(e)
    if t.__name__ in ("WasmtimeError", "Trap", "ExitTrap") and t.__module__.startswith(
            ("wasmtime", "wasmlite")):
        return t.__name__
    if t is ctypes.ArgumentError:
        return "ctypes.ArgumentError"
    return t.__name__ if t.__module__ == "builtins" else f"{t.__module__}.{t.__name__}"


def _message(e: BaseException) -> str:
    try:
        return str(e)
    except Exception as inner:  # noqa: BLE001 - e.g. a closed Trap's str()
        return f"<str() raised {type(inner).__name__}>"


def run_case(base: Base, case: Case) -> tuple[dict[str, Any], BaseException | None]:
    """Run ``case`` in a fresh :class:`World` of ``base``; the outcome as JSON data, and
    the exception itself (``None`` when the call returned)."""
    w = World(base)
    try:
        _call(w, case)
    except Exception as e:  # noqa: BLE001 - what the call raised is the result
        return {"exc": exc_name(e), "msg": _message(e)}, e
    return {"ok": True}, None


def run_forked(base: Base, case: Case) -> dict[str, Any]:
    """:func:`run_case` in a forked child, so that an abort (a Rust panic in
    wasmtime-py) ends the child only: ``{"abort": signal, "panic": first stderr line}``."""
    import os

    with tempfile.TemporaryFile() as err:
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: run, report, and leave without cleanup
            os.close(r)
            os.dup2(err.fileno(), 2)
            try:
                data = json.dumps(run_case(base, case)[0])
            except BaseException as e:  # noqa: BLE001 - report whatever happened
                data = json.dumps({"exc": exc_name(e), "msg": _message(e)})
            os.write(w, data.encode())
            os._exit(0)
        os.close(w)
        chunks = []
        while chunk := os.read(r, 1 << 16):
            chunks.append(chunk)
        os.close(r)
        _, status = os.waitpid(pid, 0)
        if os.WIFSIGNALED(status) or not chunks:
            err.seek(0)
            lines = [ln for ln in err.read().decode(errors="replace").splitlines()
                     if ln.strip() and not ln.startswith(("thread ", "note:"))]
            return {"abort": os.WTERMSIG(status) if os.WIFSIGNALED(status) else -1,
                    "panic": lines[0] if lines else ""}
        return json.loads(b"".join(chunks))


#: labels whose cases wasmtime-py may abort on: run in a forked child
RISKY = {"foreign"}


def main(argv: list[str]) -> None:
    """``compat_args_table.py IMPL START``: run cases ``START..`` under ``IMPL``, writing
    ``{"i": index, ...outcome}`` per case (a ``{"start": index}`` line first, so that the
    parent knows which case a crash interrupted).  :data:`RISKY` cases run forked where
    ``os.fork`` exists."""
    import importlib
    import os

    wt = importlib.import_module(argv[1])
    base = Base(wt)
    out = sys.stdout
    for i, case in enumerate(cases()):
        if i < int(argv[2]):
            continue
        out.write(json.dumps({"start": i}) + "\n")
        out.flush()
        if case.label in RISKY and hasattr(os, "fork"):
            outcome = run_forked(base, case)
        else:
            outcome = run_case(base, case)[0]
        out.write(json.dumps({"i": i, **outcome}) + "\n")
        out.flush()


if __name__ == "__main__":
    main(sys.argv)
