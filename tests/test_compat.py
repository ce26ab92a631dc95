"""wasmlite as a drop-in for wasmtime-py's core API (issue 4).

Every test takes ``wt``, the module under test — ``wasmtime`` (wasmtime-py, the
reference) or ``wasmlite`` — and makes the same assertions for both, so code written
for wasmtime-py runs unchanged with ``import wasmlite as wasmtime``.

Some wasmtime-py behaviours cannot be exercised in-process (wasmtime-py 50 aborts the
interpreter with a Rust panic when reference types are switched off or an object is
used with another Store); those parameters are skipped with the reason, and the
wasmlite side is asserted on its own.  Features that belong to other parts of wasmlite
and have not landed yet are ``xfail(strict=True)`` for wasmlite only, naming the owner;
remove the mark when the feature lands.
"""

from __future__ import annotations

import ctypes
import gc
import math
import re
import sys
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import wasmtime as _wasmtime

import wasmlite as _wasmlite

IMPLS = {"wasmtime": _wasmtime, "wasmlite": _wasmlite}


@pytest.fixture(params=list(IMPLS))
def wt(request: pytest.FixtureRequest) -> Any:
    return IMPLS[request.param]


def impls(*, lite_xfail: str | None = None, wasmtime_skip: str | None = None) -> Any:
    """Parametrize ``wt`` with marks: ``lite_xfail`` (a strict xfail of the wasmlite
    case: a feature owned elsewhere that has not landed) or ``wasmtime_skip``."""
    return pytest.mark.parametrize("wt", [
        pytest.param(_wasmtime, id="wasmtime",
                     marks=[pytest.mark.skip(reason=wasmtime_skip)] if wasmtime_skip else []),
        pytest.param(_wasmlite, id="wasmlite",
                     marks=[pytest.mark.xfail(strict=True, reason=lite_xfail)] if lite_xfail else []),
    ])


def wasm(text: str) -> bytes:
    """WAT -> binary with the reference implementation's parser (one source of truth)."""
    return bytes(_wasmtime.wat2wasm(text))


def inst(wt: Any, store: Any, text: str, imports: list | None = None) -> Any:
    return wt.Instance(store, wt.Module(store.engine, wasm(text)), imports or [])


def i32(wt: Any) -> Any:
    return wt.ValType.i32()


# -- wat2wasm, Module ---------------------------------------------------------------------
def test_wat2wasm(wt: Any) -> None:
    out = wt.wat2wasm('(module (func (export "f")))')
    assert isinstance(out, bytearray) and out[:4] == b"\0asm"
    assert wt.wat2wasm(b"(module)") == bytearray(b"\0asm\x01\0\0\0")
    with pytest.raises(wt.WasmtimeError):
        wt.wat2wasm("(module (func (result i32))")


MODULE = """(module
  (import "env" "f" (func (param i32 i64) (result f32)))
  (import "env" "t" (table 1 2 funcref))
  (import "env" "mem" (memory 2 5))
  (import "env" "g" (global (mut f64)))
  (func (export "fn") (param externref) (result funcref) ref.null func)
  (table (export "tab") 3 externref)
  (export "memory" (memory 0))
  (global (export "glob") i64 (i64.const 1))
  (@custom "hello" "world")
)"""


def test_module_imports_exports(wt: Any) -> None:
    m = wt.Module(wt.Engine(), wasm(MODULE))
    imps = m.imports
    assert [(i.module, i.name) for i in imps] == [("env", "f"), ("env", "t"), ("env", "mem"),
                                                 ("env", "g")]
    f, t, mem, g = (i.type for i in imps)
    assert isinstance(f, wt.FuncType)
    assert f.params == [wt.ValType.i32(), wt.ValType.i64()] and f.results == [wt.ValType.f32()]
    assert isinstance(t, wt.TableType)
    assert t.element == wt.ValType.funcref() and t.limits == wt.Limits(1, 2)
    assert isinstance(mem, wt.MemoryType) and mem.limits == wt.Limits(2, 5)
    assert not mem.is_64 and not mem.is_shared and mem.page_size == 65536
    assert isinstance(g, wt.GlobalType) and g.content == wt.ValType.f64() and g.mutable
    exps = m.exports
    assert [e.name for e in exps] == ["fn", "tab", "memory", "glob"]
    fn, tab, memory, glob = (e.type for e in exps)
    assert fn.params == [wt.ValType.externref()] and fn.results == [wt.ValType.funcref()]
    assert tab.element == wt.ValType.externref() and tab.limits == wt.Limits(3, None)
    assert memory.limits.min == 2 and memory.limits.max == 5
    assert glob.content == wt.ValType.i64() and not glob.mutable


def test_module_text_and_validate(wt: Any, tmp_path: Path) -> None:
    engine = wt.Engine()
    # the constructor takes text too
    m = wt.Module(engine, '(module (func (export "f") (result i32) i32.const 7))')
    assert [e.name for e in m.exports] == ["f"]
    wt.Module.validate(engine, wasm("(module (func))"))
    with pytest.raises(wt.WasmtimeError):
        wt.Module.validate(engine, wasm("(module (func (result i32)))"))
    with pytest.raises(wt.WasmtimeError):
        wt.Module(engine, b"\0asm\x01\0\0\0\x01")
    with pytest.raises(TypeError, match="expected wasm bytes"):
        wt.Module.validate(engine, "(module)")
    with pytest.raises(TypeError, match="expected an Engine"):
        wt.Module(None, wasm("(module)"))
    path = tmp_path / "m.wasm"
    path.write_bytes(wasm('(module (func (export "g")))'))
    assert [e.name for e in wt.Module.from_file(engine, str(path)).exports] == ["g"]
    assert [e.name for e in wt.Module.from_file(engine, path).exports] == ["g"]


SERIALIZE_OWNER = "Module.serialize/deserialize: artifacts helper (module.py)"


def test_module_serialize_roundtrip(wt: Any, tmp_path: Path) -> None:
    engine = wt.Engine()
    m = wt.Module(engine, wasm('(module (func (export "f") (param i32) (result i32) '
                               'local.get 0 i32.const 1 i32.add))'))
    data = m.serialize()
    assert isinstance(data, (bytes, bytearray)) and len(data) > 0
    store = wt.Store(engine)
    m2 = wt.Module.deserialize(engine, data)
    assert wt.Instance(store, m2, []).exports(store)["f"](store, 41) == 42
    path = tmp_path / "m.cwasm"
    path.write_bytes(bytes(data))
    m3 = wt.Module.deserialize_file(engine, str(path))
    assert wt.Instance(store, m3, []).exports(store)["f"](store, 1) == 2
    with pytest.raises(wt.WasmtimeError):
        wt.Module.deserialize(engine, b"not a compiled module")
    with pytest.raises(TypeError):
        wt.Module.deserialize(engine, "text")


# -- Config, Engine -------------------------------------------------------------------------
def test_config_settings(wt: Any) -> None:
    c = wt.Config()
    for level in ("none", "speed", "speed_and_size"):
        c.cranelift_opt_level = level
    for strategy in ("auto", "cranelift"):
        c.strategy = strategy
    c.profiler = "none"
    c.consume_fuel = False
    c.epoch_interruption = False
    c.max_wasm_stack = 1 << 20
    c.parallel_compilation = False
    c.debug_info = False
    c.cranelift_debug_verifier = False
    c.cranelift_nan_canonicalization = True
    c.wasm_threads = False
    c.wasm_tail_call = False
    c.wasm_multi_memory = False
    c.wasm_memory64 = False
    c.wasm_relaxed_simd = False
    for flag in ("wasm_simd", "wasm_bulk_memory", "wasm_multi_value"):
        setattr(c, flag, True)
    c.cranelift_flag_enable("has_sse3")
    c.cranelift_flag_set("opt_level", "speed")
    engine = wt.Engine(c)
    store = wt.Store(engine)
    assert inst(wt, store, '(module (func (export "f") (result i32) i32.const 3))'
                ).exports(store)["f"](store) == 3


@pytest.mark.parametrize("name, value, exc, match", [
    ("cranelift_opt_level", "fast", "WasmtimeError", "unknown opt level: fast"),
    ("strategy", "llvm", "WasmtimeError", "unknown strategy: llvm"),
    ("profiler", "gprof", "WasmtimeError", "unknown profiler: gprof"),
    ("cache", False, "WasmtimeError", "caching cannot be explicitly disabled"),
    ("cache", 1, "TypeError", "expected string or bool"),
    ("consume_fuel", 1, "TypeError", "expected an? bool"),
    ("wasm_simd", "yes", "TypeError", "expected a bool"),
    ("parallel_compilation", None, "TypeError", "expected a bool"),
    ("max_wasm_stack", 1.5, "TypeError", "expected an int"),
])
def test_config_errors(wt: Any, name: str, value: Any, exc: str, match: str) -> None:
    exc_type = TypeError if exc == "TypeError" else wt.WasmtimeError
    with pytest.raises(exc_type, match=match):
        setattr(wt.Config(), name, value)


def test_config_cache_file(wt: Any, tmp_path: Path) -> None:
    good = tmp_path / "cache.toml"
    good.write_text(f'[cache]\ndirectory = "{tmp_path / "dir"}"\n')
    wt.Config().cache = str(good)
    bad = tmp_path / "bad.toml"
    bad.write_text('directory = "x"\n')
    with pytest.raises(wt.WasmtimeError, match="failed to parse config file"):
        wt.Config().cache = str(bad)
    with pytest.raises(wt.WasmtimeError, match="failed to read config file"):
        wt.Config().cache = str(tmp_path / "missing.toml")


def test_engine_and_store_arguments(wt: Any) -> None:
    with pytest.raises(TypeError, match="expected Config"):
        wt.Engine(1)
    with pytest.raises(TypeError, match="expected an Engine"):
        wt.Store(1)
    engine = wt.Engine()
    assert wt.Store(engine).engine is engine
    assert wt.Store(engine, {"k": [1]}).data() == {"k": [1]}
    assert wt.Store(engine).data() is None
    wt.Store().gc()
    assert engine.is_pulley() is False


SIMD_MODULE = "(module (func (result i32) i32.const 0 i8x16.splat i8x16.all_true))"
FEATURE_CASES = [
    ("wasm_simd", SIMD_MODULE, "SIMD support is not enabled"),
    ("wasm_simd", "(module (func (param v128)))", "SIMD support is not enabled"),
    ("wasm_bulk_memory", "(module (memory 1) (func (memory.fill (i32.const 0) (i32.const 0) "
                         "(i32.const 0))))", "bulk memory support is not enabled"),
    ("wasm_bulk_memory", '(module (memory 1) (data "x"))',
     "passive data segments require the bulk-memory proposal"),
    ("wasm_multi_value", "(module (func (result i32 i32) i32.const 1 i32.const 2))",
     "multiple values but the multi-value feature is not enabled"),
    ("wasm_multi_value", "(module (func i32.const 1 (block (param i32) drop)))",
     "may only produce a resulttype when multi-value is not enabled"),
    ("wasm_relaxed_simd", "(module (func (result v128) (i32x4.relaxed_trunc_f32x4_s "
                          "(v128.const i32x4 0 0 0 0))))", "relaxed SIMD support is not enabled"),
]
FEATURE_OWNER = ("validation with the engine's Config._features(): module.py (artifacts "
                 "helper) must pass engine.config._features() to validate_module")


def _features_lite_mark() -> list:
    """xfail the wasmlite case while module.py does not yet validate with the engine's
    features (checked, not assumed: strict xfail flips when it lands)."""
    try:
        engine = _wasmlite.Engine(_config_without(_wasmlite, "wasm_simd"))
        _wasmlite.Module.validate(engine, wasm(SIMD_MODULE))
    except _wasmlite.WasmtimeError:
        return []
    except Exception:  # noqa: BLE001 - any other failure: let the test show it
        return []
    return [pytest.mark.xfail(strict=True, reason=FEATURE_OWNER)]


def _config_without(wt: Any, flag: str) -> Any:
    c = wt.Config()
    setattr(c, flag, False)
    if flag == "wasm_simd":
        c.wasm_relaxed_simd = False  # wasmtime: relaxed SIMD needs SIMD
    return c


@pytest.mark.parametrize("flag, text, message", FEATURE_CASES)
@pytest.mark.parametrize("wt", [
    pytest.param(_wasmtime, id="wasmtime"),
    pytest.param(_wasmlite, id="wasmlite", marks=_features_lite_mark()),
])
def test_feature_switches(wt: Any, flag: str, text: str, message: str) -> None:
    binary = wasm(text)
    wt.Module.validate(wt.Engine(), binary)  # valid with the default features
    engine = wt.Engine(_config_without(wt, flag))
    with pytest.raises(wt.WasmtimeError, match=message):
        wt.Module.validate(engine, binary)
    with pytest.raises(wt.WasmtimeError, match=message):
        wt.Module(engine, binary)


@impls(wasmtime_skip="wasmtime-py 50 aborts the process (Rust panic: component-model-async "
                     "requires reference types) when wasm_reference_types is False",
       lite_xfail=None if not _features_lite_mark() else FEATURE_OWNER)
def test_feature_reference_types(wt: Any) -> None:
    binary = wasm("(module (func (param externref)))")
    wt.Module.validate(wt.Engine(), binary)
    engine = wt.Engine(_config_without(wt, "wasm_reference_types"))
    with pytest.raises(wt.WasmtimeError, match="reference types support is not enabled"):
        wt.Module.validate(engine, binary)


# -- fuel, epochs, limits, gc (Store/Engine) -------------------------------------------------
LOOP = """(module
  (import "" "tick" (func $tick))
  (func (export "count") (param i32) (result i32) (local i32)
    (block (loop
      (br_if 1 (i32.ge_u (local.get 1) (local.get 0)))
      (local.set 1 (i32.add (local.get 1) (i32.const 1)))
      (br 0)))
    (local.get 1))
  (func (export "spin") (loop (call $tick) (br 0)))
)"""
RUNTIME_OWNER = "runtime helper (store.py/engine.py/compiler): "


def test_fuel_not_configured(wt: Any) -> None:
    store = wt.Store()
    with pytest.raises(wt.WasmtimeError, match="fuel is not configured in this store"):
        store.set_fuel(10)
    with pytest.raises(wt.WasmtimeError, match="fuel is not configured in this store"):
        store.get_fuel()


def test_fuel(wt: Any) -> None:
    c = wt.Config()
    c.consume_fuel = True
    store = wt.Store(wt.Engine(c))
    assert store.get_fuel() == 0
    store.set_fuel(100_000)
    assert store.get_fuel() == 100_000
    tick = wt.Func(store, wt.FuncType([], []), lambda: None)
    ex = inst(wt, store, LOOP, [tick]).exports(store)
    assert ex["count"](store, 100) == 100
    used = 100_000 - store.get_fuel()
    assert used > 100  # at least one unit per loop iteration
    store.set_fuel(1000)
    with pytest.raises(wt.Trap) as info:
        ex["spin"](store)
    assert info.value.trap_code == wt.TrapCode.OUT_OF_FUEL
    assert store.get_fuel() == 0


def test_epoch_interruption(wt: Any) -> None:
    c = wt.Config()
    c.epoch_interruption = True
    engine = wt.Engine(c)
    store = wt.Store(engine)
    store.set_epoch_deadline(1)
    ticks = []

    def tick() -> None:  # the host advances the epoch on the third call
        ticks.append(1)
        if len(ticks) == 3:
            engine.increment_epoch()

    ex = inst(wt, store, LOOP, [wt.Func(store, wt.FuncType([], []), tick)]).exports(store)
    with pytest.raises(wt.Trap) as info:
        ex["spin"](store)
    assert info.value.trap_code == wt.TrapCode.INTERRUPT
    assert len(ticks) == 3
    store.set_epoch_deadline(1)  # a new deadline lets wasm run again
    assert ex["count"](store, 5) == 5


def test_store_limits(wt: Any) -> None:
    store = wt.Store()
    store.set_limits(memory_size=2 * 65536, table_elements=10)
    mem = wt.Memory(store, wt.MemoryType(wt.Limits(1, None)))
    assert mem.grow(store, 1) == 1
    with pytest.raises(wt.WasmtimeError):
        mem.grow(store, 1)
    ex = inst(wt, store, """(module (memory (export "m") 1)
        (func (export "grow") (result i32) (memory.grow (i32.const 2))))""").exports(store)
    assert ex["grow"](store) == -1
    with pytest.raises(wt.WasmtimeError):
        inst(wt, store, "(module (memory 3))")
    with pytest.raises(wt.WasmtimeError):
        inst(wt, store, "(module (table 11 funcref))")
    tab = wt.Table(store, wt.TableType(wt.ValType.funcref(), wt.Limits(5, None)), None)
    assert tab.grow(store, 5, None) == 5
    with pytest.raises(wt.WasmtimeError):
        tab.grow(store, 1, None)
    with pytest.raises(wt.WasmtimeError):
        wt.Memory(store, wt.MemoryType(wt.Limits(3, None)))


def test_store_gc_releases_externrefs(wt: Any) -> None:
    store = wt.Store()
    ident = inst(wt, store, """(module (func (export "id") (param externref) (result externref)
        local.get 0))""").exports(store)["id"]

    class Obj:
        pass

    obj = Obj()
    ref = weakref.ref(obj)
    assert ident(store, obj) is obj
    del obj
    store.gc()
    gc.collect()
    assert ref() is None


# -- Instance --------------------------------------------------------------------------------
EXPORTS = """(module
  (func $f (export "f") (result i32) i32.const 1)
  (memory (export "mem") 1)
  (table (export "tab") 1 funcref)
  (global (export "glob") (mut i32) (i32.const 9))
)"""


def test_instance_exports(wt: Any) -> None:
    store = wt.Store()
    ex = inst(wt, store, EXPORTS).exports(store)
    assert list(ex) == ["f", "mem", "tab", "glob"] and len(ex) == 4
    assert "f" in ex and "nope" not in ex
    assert isinstance(ex["f"], wt.Func) and isinstance(ex["mem"], wt.Memory)
    assert isinstance(ex["tab"], wt.Table) and isinstance(ex["glob"], wt.Global)
    by_index = ex.by_index
    assert len(by_index) == 4 and isinstance(by_index[0], wt.Func)
    assert isinstance(by_index[3], wt.Global) and by_index[3].value(store) == 9
    assert ex.get("nope") is None
    with pytest.raises(KeyError):
        ex["nope"]
    assert dict(ex.items()).keys() == {"f", "mem", "tab", "glob"}


def test_instance_import_errors(wt: Any) -> None:
    store = wt.Store()
    m = wt.Module(store.engine, wasm('(module (import "m" "f" (func (param i32))))'))
    with pytest.raises(wt.WasmtimeError, match="expected 1 imports, found 0"):
        wt.Instance(store, m, [])
    with pytest.raises(wt.WasmtimeError,
                       match=r"incompatible import type for `m::f`(.|\n)*types incompatible"):
        wt.Instance(store, m, [wt.Func(store, wt.FuncType([], []), lambda: None)])
    g = wt.Global(store, wt.GlobalType(i32(wt), False), 1)
    with pytest.raises(wt.WasmtimeError, match=r"(.|\n)*expected func, but found global"):
        wt.Instance(store, m, [g])
    with pytest.raises(TypeError, match="expected a Func, Global, Memory"):
        wt.Instance(store, m, [1])
    other = wt.Store(store.engine)
    f = wt.Func(other, wt.FuncType([i32(wt)], []), lambda x: None)
    with pytest.raises(wt.WasmtimeError, match="cross-`Store` instantiation is not currently supported"):
        wt.Instance(store, m, [f])


def test_start_function_trap(wt: Any) -> None:
    store = wt.Store()
    with pytest.raises(wt.Trap) as info:
        inst(wt, store, "(module (func $s unreachable) (start $s))")
    assert info.value.trap_code == wt.TrapCode.UNREACHABLE


# -- Linker ----------------------------------------------------------------------------------
USER = """(module
  (import "a" "next" (func $next (result i32)))
  (func (export "twice") (result i32) (i32.add (call $next) (call $next)))
)"""
COUNTER = """(module
  (global $n (mut i32) (i32.const 0))
  (func (export "next") (result i32)
    (global.set $n (i32.add (global.get $n) (i32.const 1))) (global.get $n))
)"""


def test_linker_define_and_instantiate(wt: Any) -> None:
    engine = wt.Engine()
    store = wt.Store(engine)
    linker = wt.Linker(engine)
    assert linker.engine is engine
    user = wt.Module(engine, wasm(USER))
    with pytest.raises(wt.WasmtimeError, match="unknown import: `a::next` has not been defined"):
        linker.instantiate(store, user)
    calls = []
    linker.define(store, "a", "next",
                  wt.Func(store, wt.FuncType([], [i32(wt)]), lambda: calls.append(1) or len(calls)))
    assert linker.instantiate(store, user).exports(store)["twice"](store) == 3
    with pytest.raises(wt.WasmtimeError, match="import of `a::next` defined twice"):
        linker.define_func("a", "next", wt.FuncType([], [i32(wt)]), lambda: 0)
    linker.allow_shadowing = True
    linker.define_func("a", "next", wt.FuncType([], [i32(wt)]), lambda: 10)
    assert linker.instantiate(store, user).exports(store)["twice"](store) == 20
    assert linker.get(store, "a", "next")(store) == 10
    with pytest.raises(wt.WasmtimeError, match="item not defined in linker"):
        linker.get(store, "a", "missing")


def test_linker_instantiate_pre(wt: Any) -> None:
    engine = wt.Engine()
    linker = wt.Linker(engine)
    user = wt.Module(engine, wasm(USER))
    with pytest.raises(wt.WasmtimeError, match="unknown import: `a::next` has not been defined"):
        linker.instantiate_pre(user)
    with pytest.raises(TypeError):
        linker.instantiate_pre("not a module")
    linker.define_func("a", "next", wt.FuncType([], [i32(wt)]), lambda: 21)
    pre = linker.instantiate_pre(user)
    assert isinstance(pre, wt.InstancePre)
    for _ in range(2):  # one InstancePre, several stores
        store = wt.Store(engine)
        assert pre.instantiate(store).exports(store)["twice"](store) == 42


def test_linker_unknown_imports_as_default_values(wt: Any) -> None:
    engine = wt.Engine()
    store = wt.Store(engine)
    module = wt.Module(engine, wasm("""(module
      (import "m" "i" (func $i (param i32) (result i32 f64)))
      (import "m" "r" (func $r (result externref)))
      (import "m" "n" (func $n))
      (func (export "f") (result i32 f64 i32)
        (call $n) (call $i (i32.const 7)) (ref.is_null (call $r))))"""))
    linker = wt.Linker(engine)
    linker.define_unknown_imports_as_default_values(store, module)
    assert linker.instantiate(store, module).exports(store)["f"](store) == [0, 0.0, 1]


def test_linker_unknown_imports_as_traps(wt: Any) -> None:
    engine = wt.Engine()
    store = wt.Store(engine)
    module = wt.Module(engine, wasm('(module (import "m" "f" (func)) (import "m" "g" (global i32)) '
                                    '(func (export "run") call 0))'))
    linker = wt.Linker(engine)
    linker.define_unknown_imports_as_traps(module)
    with pytest.raises(wt.WasmtimeError, match="unknown import: `m::g` has not been defined"):
        linker.instantiate(store, module)  # only functions are defined
    linker.define(store, "m", "g", wt.Global(store, wt.GlobalType(i32(wt), False), 0))
    run = linker.instantiate(store, module).exports(store)["run"]
    with pytest.raises(wt.WasmtimeError, match="unknown import: `m::f` has not been defined"):
        run(store)


DEFAULTS = """(module
  (import "m" "g" (global $g (mut i32)))
  (import "m" "gi64" (global $gi64 i64))
  (import "m" "gf32" (global $gf32 (mut f32)))
  (import "m" "gf64" (global $gf64 f64))
  (import "m" "gext" (global $gext (mut externref)))
  (import "m" "gfun" (global $gfun funcref))
  (import "m" "mem" (memory 2 5))
  (import "m" "t" (table 3 funcref))
  (import "m" "te" (table 1 10 externref))
  (import "m" "f" (func $f (result i32)))
  (func (export "globals") (result i32 i64 f32 f64 i32 i32)
    global.get $g global.get $gi64 global.get $gf32 global.get $gf64
    (ref.is_null (global.get $gext)) (ref.is_null (global.get $gfun)))
  (func (export "bump") (global.set $g (i32.add (global.get $g) (i32.const 1))))
  (func (export "memory") (result i32 i32)
    memory.size (i32.load (i32.const 131068)))
  (func (export "tables") (result i32 i32 i32 i32)
    (table.size 0) (ref.is_null (table.get 0 (i32.const 2)))
    (table.size 1) (ref.is_null (table.get 1 (i32.const 0))))
  (func (export "call") (result i32) call $f))"""


def test_linker_default_values_every_kind(wt: Any) -> None:
    """Globals, memories and tables too, as Wasmtime's ``ExternType::default_value``:
    a global of the import's type (mutability kept) holding 0 or null, a memory and a
    table of the import's type at their minimum size, zeroed / null."""
    engine = wt.Engine()
    store = wt.Store(engine)
    module = wt.Module(engine, wasm(DEFAULTS))
    linker = wt.Linker(engine)
    linker.define_unknown_imports_as_default_values(store, module)
    ex = linker.instantiate(store, module).exports(store)
    assert ex["globals"](store) == [0, 0, 0.0, 0.0, 1, 1]
    assert ex["memory"](store) == [2, 0]
    assert ex["tables"](store) == [3, 1, 1, 1]
    assert ex["call"](store) == 0

    kinds = {n: type(linker.get(store, "m", n)) for n in
             ("g", "gi64", "gf32", "gf64", "gext", "gfun", "mem", "t", "te", "f")}
    assert kinds == {"g": wt.Global, "gi64": wt.Global, "gf32": wt.Global, "gf64": wt.Global,
                     "gext": wt.Global, "gfun": wt.Global, "mem": wt.Memory, "t": wt.Table,
                     "te": wt.Table, "f": wt.Func}
    g = linker.get(store, "m", "g")
    assert g.type(store).mutable and g.type(store).content == wt.ValType.i32()
    assert not linker.get(store, "m", "gi64").type(store).mutable
    assert linker.get(store, "m", "gext").value(store) == None  # noqa: E711 - a null Val
    mem = linker.get(store, "m", "mem")
    assert mem.type(store).limits == wt.Limits(2, 5) and mem.size(store) == 2
    assert mem.read(store, 0, 8) == bytearray(8)
    te = linker.get(store, "m", "te")
    assert te.type(store).limits == wt.Limits(1, 10) and te.size(store) == 1
    assert te.type(store).element == wt.ValType.externref()
    assert te.get(store, 0) == None  # noqa: E711

    # the definitions are items of the store: a second instance shares them
    ex["bump"](store)
    assert g.value(store) == 1
    ex2 = linker.instantiate(store, module).exports(store)
    assert ex2["globals"](store)[0] == 1
    # ... and only of that store (wasmtime-py aborts the process when the module imports
    # a memory or table from another store: test_default_values_other_store_wasmlite)
    small = wt.Module(engine, wasm('(module (import "m" "f" (func (result i32))) '
                                   '(import "m" "g" (global (mut i32))))'))
    linker.define_unknown_imports_as_default_values(store, small)
    with pytest.raises(wt.WasmtimeError,
                       match="cross-`Store` instantiation is not currently supported"):
        linker.instantiate(wt.Store(engine), small)
    # defined already: nothing happens
    linker.define_unknown_imports_as_default_values(store, module)
    assert linker.get(store, "m", "g").value(store) == 1


def test_linker_default_values_keep_definitions(wt: Any) -> None:
    """A name defined already, whatever its type, is kept; a name imported twice is
    defined once."""
    engine = wt.Engine()
    store = wt.Store(engine)
    linker = wt.Linker(engine)
    linker.define_func("m", "g", wt.FuncType([], []), lambda: None)
    module = wt.Module(engine, wasm('(module (import "m" "g" (global i32)) '
                                    '(import "m" "x" (global i32)) (import "m" "x" (global i32)))'))
    linker.define_unknown_imports_as_default_values(store, module)
    assert isinstance(linker.get(store, "m", "g"), wt.Func)
    assert isinstance(linker.get(store, "m", "x"), wt.Global)
    with pytest.raises(wt.WasmtimeError, match=r"incompatible import type for `m::g`\n\n"
                                               r"Caused by:\n    expected global, but found function"):
        linker.instantiate(store, module)
    twice = wt.Module(engine, wasm('(module (import "a" "x" (global i32)) (import "a" "x" (memory 1)))'))
    linker.define_unknown_imports_as_default_values(store, twice)
    with pytest.raises(wt.WasmtimeError, match="expected memory, but found global"):
        linker.instantiate(store, twice)


@pytest.mark.parametrize("text, limits, message", [
    ('(module (import "m" "ok" (global f32)) (import "m" "mem" (memory 2 9)))',
     {"memory_size": 65536},
     "no default value exists for `m::mem` with type `Memory(MemoryType { ty: Memory { "
     "idx_type: I32, limits: Limits { min: 2, max: Some(9) }, shared: false, page_size_log2: "
     "16 } })`\n\nCaused by:\n    memory minimum size of 2 pages exceeds memory limits\n"),
    ('(module (import "m" "ok" (table 0 funcref)) (import "m" "t" (table 3 externref)))',
     {"table_elements": 2},
     "no default value exists for `m::t` with type `Table(TableType { element: (ref null "
     "extern), ty: Table { idx_type: I32, limits: Limits { min: 3, max: None }, ref_type: "
     "WasmRefType { nullable: true, heap_type: Extern } } })`\n\nCaused by:\n    table "
     "minimum size of 3 elements exceeds table limits\n"),
    ('(module (import "m" "ok" (func)) (import "m" "t" (table 4 5 funcref)))',
     {"table_elements": 2},
     "no default value exists for `m::t` with type `Table(TableType { element: (ref null "
     "func), ty: Table { idx_type: I32, limits: Limits { min: 4, max: Some(5) }, ref_type: "
     "WasmRefType { nullable: true, heap_type: Func } } })`\n\nCaused by:\n    table "
     "minimum size of 4 elements exceeds table limits\n"),
])
def test_linker_default_values_over_limits(wt: Any, text: str, limits: dict,
                                           message: str) -> None:
    """A memory or table the store's limits refuse: Wasmtime's error, word for word; the
    imports before it stay defined."""
    engine = wt.Engine()
    store = wt.Store(engine)
    store.set_limits(**limits)
    linker = wt.Linker(engine)
    with pytest.raises(wt.WasmtimeError) as info:
        linker.define_unknown_imports_as_default_values(store, wt.Module(engine, wasm(text)))
    assert str(info.value) == message
    linker.get(store, "m", "ok")


def test_close_and_with(wt: Any) -> None:
    """Objects wasmtime-py can close support ``close()`` and ``with``."""
    with wt.Engine() as engine, wt.Store(engine) as store:
        with wt.Module(engine, wasm(COUNTER)) as module:
            assert wt.Instance(store, module, []).exports(store)["next"](store) == 1
        with wt.Linker(engine) as linker, wt.WasiConfig() as wasi:
            assert linker.engine is engine
            store.set_wasi(wasi)
    for obj in (wt.Config(), wt.FuncType([], []), wt.ValType.i32(),
                wt.MemoryType(wt.Limits(1, None)), wt.WasmtimeError("x")):
        obj.close()
        obj.close()  # closing twice is fine


def test_closed_objects(wt: Any) -> None:
    """A closed object raises ValueError("already closed") when used; what it made
    keeps working (tests/test_compat_args.py checks every callable)."""
    engine = wt.Engine()
    store = wt.Store(engine)
    module = wt.Module(engine, wasm(COUNTER))
    instance = wt.Instance(store, module, [])
    module.close()
    with pytest.raises(ValueError, match="already closed"):
        module.exports  # noqa: B018 - reading it raises
    with pytest.raises(ValueError, match="already closed"):
        wt.Instance(store, module, [])
    assert instance.exports(store)["next"](store) == 1  # the instance lives on
    ft = wt.FuncType([i32(wt)], [])
    ft.close()
    with pytest.raises(ValueError, match="already closed"):
        wt.Func(store, ft, lambda x: None)
    vt = wt.ValType.i32()
    vt.close()
    assert wt.ValType.i32() == wt.ValType.i32()  # other ValTypes are not closed
    with pytest.raises(ValueError, match="already closed"):
        vt == wt.ValType.i32()  # noqa: B015 - the comparison raises
    f = instance.exports(store)["next"]
    store.close()
    for use in (lambda: f(store), lambda: store.gc(), lambda: wt.Func(store, wt.FuncType([], []),
                                                                      lambda: None)):
        with pytest.raises(ValueError, match="already closed"):
            use()
    engine.close()
    with pytest.raises(ValueError, match="already closed"):
        wt.Store(engine)
    with pytest.raises(ValueError, match="already closed"):
        wt.Linker(engine)


def test_config_consumed_by_engine(wt: Any) -> None:
    """An Engine consumes its Config: a second Engine, or a new setting, raises
    ValueError, as in wasmtime-py."""
    config = wt.Config()
    config.consume_fuel = True
    wt.Engine(config)
    with pytest.raises(ValueError, match="already closed"):
        wt.Engine(config)
    with pytest.raises(ValueError, match="already closed"):
        config.wasm_simd = False
    with pytest.raises(TypeError, match="expected a bool"):
        config.wasm_simd = "no"  # the value is checked first, as in wasmtime-py


def test_caller_after_host_call(wt: Any) -> None:
    """A Caller kept after its host call stands for no store any more."""
    store = wt.Store()
    kept = []
    f = wt.Func(store, wt.FuncType([], []), lambda caller: kept.append(caller),
                access_caller=True)
    f(store)
    caller = kept[0]
    assert caller.get("memory") is None
    with pytest.raises(ValueError, match="caller is no longer valid"):
        f(caller)
    with pytest.raises(AttributeError):
        caller.get(1)
    with pytest.raises(TypeError, match="expected a Store"):
        wt.Func(caller, wt.FuncType([], []), lambda: None)  # a Caller is not a Store here


def test_bad_store_arguments(wt: Any) -> None:
    """Where a store is expected, wasmtime-py raises AttributeError for anything that
    is not a Store or Caller (Func() and Store methods check their types: TypeError)."""
    store = wt.Store()
    ex = inst(wt, store, EXPORTS).exports(store)
    for use in (lambda: ex["f"](1), lambda: ex["mem"].size(None), lambda: ex["glob"].value("s"),
                lambda: ex["tab"].get(store.engine, 0),
                lambda: wt.Linker(store.engine).get(1, "m", "f")):
        with pytest.raises(AttributeError):
            use()
    with pytest.raises(TypeError, match="expected a Store"):
        wt.Func(1, wt.FuncType([], []), lambda: None)
    with pytest.raises(ctypes.ArgumentError):
        store.set_fuel(1.5)
    with pytest.raises(ctypes.ArgumentError):
        ex["tab"].get(store, "0")


def test_linker_type_mismatch(wt: Any) -> None:
    engine = wt.Engine()
    linker = wt.Linker(engine)
    linker.define_func("a", "next", wt.FuncType([i32(wt)], []), lambda x: None)
    with pytest.raises(wt.WasmtimeError,
                       match=r"incompatible import type for `a::next`(.|\n)*types incompatible"):
        linker.instantiate(wt.Store(engine), wt.Module(engine, wasm(USER)))


def test_linker_define_func_in_several_stores(wt: Any) -> None:
    engine = wt.Engine()
    linker = wt.Linker(engine)
    linker.define_func("a", "next", wt.FuncType([], [i32(wt)]), lambda: 4)
    user = wt.Module(engine, wasm(USER))
    for _ in range(2):
        store = wt.Store(engine)
        assert linker.instantiate(store, user).exports(store)["twice"](store) == 8


def test_linker_define_func_access_caller(wt: Any) -> None:
    engine = wt.Engine()
    store = wt.Store(engine)
    linker = wt.Linker(engine)
    seen = []

    def read(caller: Any, ptr: int, n: int) -> int:
        mem = caller["memory"]
        assert isinstance(mem, wt.Memory)
        seen.append(bytes(mem.read(caller, ptr, ptr + n)))
        assert caller.get("nope") is None
        with pytest.raises(KeyError):
            caller["nope"]
        assert caller.get("nope") is None
        return n * 2

    linker.define_func("host", "read", wt.FuncType([i32(wt), i32(wt)], [i32(wt)]), read,
                       access_caller=True)
    ex = linker.instantiate(store, wt.Module(engine, wasm("""(module
        (import "host" "read" (func $read (param i32 i32) (result i32)))
        (memory (export "memory") 1)
        (data (i32.const 8) "hello")
        (func (export "run") (result i32) (call $read (i32.const 8) (i32.const 5))))"""))
                            ).exports(store)
    assert ex["run"](store) == 10
    assert seen == [b"hello"]


def test_linker_define_instance_and_module(wt: Any) -> None:
    engine = wt.Engine()
    store = wt.Store(engine)
    user = wt.Module(engine, wasm(USER))
    linker = wt.Linker(engine)
    counter = inst(wt, store, COUNTER)
    linker.define_instance(store, "a", counter)
    assert linker.instantiate(store, user).exports(store)["twice"](store) == 1 + 2
    assert counter.exports(store)["next"](store) == 3  # shared state
    with pytest.raises(TypeError, match="expected an `Instance`"):
        linker.define_instance(store, "b", 1)

    linker2 = wt.Linker(engine)
    linker2.define_module(store, "a", wt.Module(engine, wasm(COUNTER)))
    ex = linker2.instantiate(store, user).exports(store)
    assert ex["twice"](store) == 1 + 2  # a reactor: instantiated once, state kept
    assert ex["twice"](store) == 3 + 4
    with pytest.raises(TypeError, match="expected a `Module`"):
        linker2.define_module(store, "b", 1)


def test_linker_get_default(wt: Any) -> None:
    engine = wt.Engine()
    store = wt.Store(engine)
    linker = wt.Linker(engine)
    started = []
    linker.define_func("host", "hit", wt.FuncType([], []), lambda: started.append(1))
    linker.define_module(store, "cmd", wt.Module(engine, wasm("""(module
        (import "host" "hit" (func $hit))
        (func (export "_start") (call $hit)))""")))
    start = linker.get_default(store, "cmd")
    assert isinstance(start, wt.Func)
    start(store)
    assert started == [1]
    assert linker.get_default(store, "nothing")(store) is None  # an empty default


# -- Func, Caller ----------------------------------------------------------------------------
def test_func_type_and_call(wt: Any) -> None:
    store = wt.Store()
    ex = inst(wt, store, """(module
      (func (export "add") (param i32 i64 f32 f64) (result f64)
        (f64.add (f64.add (f64.convert_i32_s (local.get 0)) (f64.convert_i64_s (local.get 1)))
                 (f64.add (f64.promote_f32 (local.get 2)) (local.get 3))))
      (func (export "swap") (param i32 i32) (result i32 i32) local.get 1 local.get 0)
      (func (export "none")))""").exports(store)
    add = ex["add"]
    ty = add.type(store)
    assert isinstance(ty, wt.FuncType)
    assert ty.params == [wt.ValType.i32(), wt.ValType.i64(), wt.ValType.f32(), wt.ValType.f64()]
    assert ty.results == [wt.ValType.f64()]
    assert add(store, 1, 2, 0.5, 0.25) == 3.75
    assert add(store, wt.Val.i32(-1), wt.Val.i64(-2), wt.Val.f32(1.5), wt.Val.f64(2.0)) == 0.5
    assert add(store, 2**32 + 1, 0, 0.0, 0.0) == 1.0  # ints wrap to the width
    assert add(store, True, 0, 0.0, 0.0) == 1.0
    assert ex["swap"](store, 1, 2) == [2, 1]
    assert ex["none"](store) is None


def test_func_call_errors(wt: Any) -> None:
    store = wt.Store()
    f = inst(wt, store, """(module (func (export "f") (param i32 f64) (result i32)
        local.get 0))""").exports(store)["f"]
    with pytest.raises(wt.WasmtimeError, match="too few parameters provided: given 1, expected 2"):
        f(store, 1)
    with pytest.raises(wt.WasmtimeError, match="too many parameters provided: given 3, expected 2"):
        f(store, 1, 2.0, 3)
    with pytest.raises(TypeError, match="don't know how to convert 'x' to i32"):
        f(store, "x", 1.0)
    with pytest.raises(TypeError, match="don't know how to convert 1.5 to i32"):
        f(store, 1.5, 1.0)
    with pytest.raises(TypeError, match="don't know how to convert 1 to f64"):
        f(store, 1, 1)
    with pytest.raises(TypeError, match="wrong type of `Val` provided"):
        f(store, wt.Val.i64(1), 1.0)
    with pytest.raises(TypeError, match="expected a Store"):
        wt.Func(1, wt.FuncType([], []), lambda: None)
    with pytest.raises(TypeError, match="expected a FuncType"):
        wt.Func(store, 1, lambda: None)


def test_host_function_results(wt: Any) -> None:
    store = wt.Store()
    I32, I64, F32, F64 = (wt.ValType.i32(), wt.ValType.i64(), wt.ValType.f32(),
                          wt.ValType.f64())
    multi = wt.Func(store, wt.FuncType([I32], [I32, I64, F32, F64]),
                    lambda x: (x + 1, x * 2**40, 0.5, -1.25))
    assert multi(store, 3) == [4, 3 * 2**40, 0.5, -1.25]
    ex = inst(wt, store, """(module
      (import "" "multi" (func $m (param i32) (result i32 i64 f32 f64)))
      (func (export "sum") (param i32) (result f64) (local f64)
        (call $m (local.get 0))
        (local.set 1)
        (f64.promote_f32)
        (local.get 1) (f64.add)
        (local.set 1)
        (f64.convert_i64_s) (local.get 1) (f64.add)
        (local.set 1)
        (f64.convert_i32_s) (local.get 1) (f64.add)))""", [multi]).exports(store)
    assert ex["sum"](store, 1) == 2 + 2**40 + 0.5 - 1.25
    cases = [
        (wt.FuncType([], [I32, I32]), lambda: (1,), wt.WasmtimeError,
         "callback produced wrong number of results"),
        (wt.FuncType([], []), lambda: 1, wt.WasmtimeError,
         "callback produced results when it shouldn't"),
        (wt.FuncType([], [I32]), lambda: "x", TypeError, "don't know how to convert 'x' to i32"),
        (wt.FuncType([], [F32]), lambda: 1, TypeError, "don't know how to convert 1 to f32"),
    ]
    for ty, fn, exc, msg in cases:
        with pytest.raises(exc, match=msg):
            wt.Func(store, ty, fn)(store)


def test_host_function_exceptions(wt: Any) -> None:
    store = wt.Store()

    def boom() -> None:
        raise ValueError("boom")

    f = wt.Func(store, wt.FuncType([], []), boom)
    ex = inst(wt, store, """(module (import "" "f" (func $f))
        (func (export "g") (call $f)))""", [f]).exports(store)
    with pytest.raises(ValueError, match="boom"):
        ex["g"](store)
    with pytest.raises(wt.Trap, match="custom trap"):
        wt.Func(store, wt.FuncType([], []), lambda: (_ for _ in ()).throw(wt.Trap("custom trap")))(store)


def test_caller_sees_callers_exports(wt: Any) -> None:
    store = wt.Store()
    out = []

    def log(caller: Any, ptr: int, n: int) -> None:
        mem = caller["mem"]
        out.append(mem.read(caller, ptr, ptr + n).decode())
        mem.write(caller, b"OK", ptr)
        out.append(caller["g"].value(caller))

    log_f = wt.Func(store, wt.FuncType([i32(wt), i32(wt)], []), log, access_caller=True)
    ex = inst(wt, store, """(module (import "" "log" (func $log (param i32 i32)))
        (memory (export "mem") 1) (global (export "g") i32 (i32.const 77))
        (data (i32.const 16) "hi there")
        (func (export "run") (result i32)
          (call $log (i32.const 16) (i32.const 8)) (i32.load16_u (i32.const 16))))""",
              [log_f]).exports(store)
    assert ex["run"](store) == int.from_bytes(b"OK", "little")
    assert out == ["hi there", 77]


# -- Memory ----------------------------------------------------------------------------------
def test_memory(wt: Any) -> None:
    store = wt.Store()
    ex = inst(wt, store, """(module (memory (export "mem") 1 3)
        (data (i32.const 0) "\\01\\02\\03")
        (func (export "load") (param i32) (result i32) (i32.load8_u (local.get 0))))""").exports(store)
    mem = ex["mem"]
    assert mem.type(store).limits == wt.Limits(1, 3)
    assert mem.size(store) == 1 and mem.data_len(store) == 65536
    assert mem.read(store, 0, 4) == bytearray(b"\1\2\3\0")
    assert mem.read(store, -2) == bytearray(2) and mem.read(store, 5, 2) == bytearray()
    assert mem.write(store, b"\xaa\xbb", 10) == 2
    assert ex["load"](store, 11) == 0xBB
    assert mem.write(store, bytearray(b"\x07"), -1) == 1
    assert ex["load"](store, 65535) == 7
    with pytest.raises(IndexError):
        mem.write(store, b"abc", 65534)
    with pytest.raises(IndexError):
        mem.write(store, b"a", 65536)
    ptr = mem.data_ptr(store)
    assert ptr[1] == 2
    ptr[1] = 42
    assert ex["load"](store, 1) == 42
    buf = mem.get_buffer_ptr(store)
    assert len(buf) == 65536 and buf[0] == 1
    view = memoryview(buf).cast("B")  # writable, no copy
    view[100] = 0x5A
    assert ex["load"](store, 100) == 0x5A
    part = mem.get_buffer_ptr(store, 4, 8)
    assert len(part) == 4 and bytes(part) == bytes(mem.read(store, 8, 12))
    assert mem.grow(store, 1) == 1 and mem.size(store) == 2 and mem.data_len(store) == 131072
    assert mem.type(store).limits.min == 1  # the type it was created with
    with pytest.raises(wt.WasmtimeError, match="failed to grow memory by `5`"):
        mem.grow(store, 5)
    with pytest.raises(wt.WasmtimeError, match="cannot grow by negative amount"):
        mem.grow(store, -1)
    host = wt.Memory(store, wt.MemoryType(wt.Limits(2, None)))
    assert host.size(store) == 2 and host.read(store, 0, 3) == bytearray(3)


def test_memory_numpy_view(wt: Any) -> None:
    np = pytest.importorskip("numpy", reason="numpy is optional (it is in the test extra)")
    store = wt.Store()
    mem = wt.Memory(store, wt.MemoryType(wt.Limits(1, None)))
    arr = np.frombuffer(mem.get_buffer_ptr(store), dtype=np.uint8)
    arr[0:4] = [1, 2, 3, 4]
    assert mem.read(store, 0, 4) == bytearray(b"\1\2\3\4")


def test_memory_type_errors(wt: Any) -> None:
    with pytest.raises(wt.WasmtimeError, match="maximum page size cannot be smaller"):
        wt.MemoryType(wt.Limits(2, 1))
    with pytest.raises(wt.WasmtimeError, match="minimum size is too large"):
        wt.MemoryType(wt.Limits(70000, None))
    with pytest.raises(wt.WasmtimeError, match="maximum size is too large"):
        wt.MemoryType(wt.Limits(1, 70000))
    with pytest.raises(TypeError, match="expected Limits"):
        wt.MemoryType(1)
    with pytest.raises(TypeError, match="expected Limits"):
        wt.TableType(wt.ValType.funcref(), 1)


# -- Table -----------------------------------------------------------------------------------
def test_table(wt: Any) -> None:
    store = wt.Store()
    double = wt.Func(store, wt.FuncType([i32(wt)], [i32(wt)]), lambda x: 2 * x)
    ex = inst(wt, store, """(module
      (type $t (func (param i32) (result i32)))
      (table (export "tab") 2 4 funcref)
      (func (export "call") (param i32 i32) (result i32)
        (call_indirect (type $t) (local.get 1) (local.get 0))))""").exports(store)
    tab = ex["tab"]
    assert tab.size(store) == 2
    assert tab.type(store).limits == wt.Limits(2, 4)
    assert tab.type(store).element == wt.ValType.funcref()
    null = tab.get(store, 0)
    assert isinstance(null, wt.Val) and null.value is None and null == None  # noqa: E711
    assert tab.get(store, 10) is None  # out of bounds
    tab.set(store, 1, double)
    got = tab.get(store, 1)
    assert isinstance(got, wt.Func) and got(store, 4) == 8
    assert ex["call"](store, 1, 21) == 42
    with pytest.raises(wt.Trap) as info:
        ex["call"](store, 0, 1)
    assert info.value.trap_code == wt.TrapCode.INDIRECT_CALL_TO_NULL
    assert tab.grow(store, 2, double) == 2 and tab.size(store) == 4
    assert ex["call"](store, 3, 5) == 10
    assert tab.type(store).limits.min == 2
    with pytest.raises(wt.WasmtimeError, match="failed to grow table by `1`"):
        tab.grow(store, 1, None)
    with pytest.raises(wt.WasmtimeError, match="out of bounds table access"):
        tab.set(store, 4, None)
    with pytest.raises(TypeError, match="don't know how to convert 5 to funcref"):
        tab.set(store, 0, 5)


def test_externref_table(wt: Any) -> None:
    store = wt.Store()
    tab = wt.Table(store, wt.TableType(wt.ValType.externref(), wt.Limits(2, None)), "init")
    assert tab.get(store, 0) == "init"
    obj = {"any": object()}
    tab.set(store, 1, obj)
    ex = inst(wt, store, """(module (import "" "t" (table 1 externref))
        (func (export "get") (param i32) (result externref) (table.get 0 (local.get 0))))""",
              [tab]).exports(store)
    assert ex["get"](store, 1) is obj
    tab.set(store, 0, None)
    assert ex["get"](store, 0) is None
    assert tab.get(store, 0).value is None


# -- Global ----------------------------------------------------------------------------------
def test_global(wt: Any) -> None:
    store = wt.Store()
    imm = wt.Global(store, wt.GlobalType(wt.ValType.i32(), False), 42)
    mut = wt.Global(store, wt.GlobalType(wt.ValType.f64(), True), 1.5)
    ex = inst(wt, store, """(module
      (import "" "imm" (global $imm i32)) (import "" "mut" (global $mut (mut f64)))
      (global (export "copy") i32 (global.get $imm))
      (func (export "bump") (global.set $mut (f64.add (global.get $mut) (f64.const 1)))))""",
              [imm, mut]).exports(store)
    assert ex["copy"].value(store) == 42
    ty = ex["copy"].type(store)
    assert ty.content == wt.ValType.i32() and not ty.mutable
    ex["bump"](store)
    assert mut.value(store) == 2.5
    mut.set_value(store, 0.25)
    ex["bump"](store)
    assert mut.value(store) == 1.25
    with pytest.raises(wt.WasmtimeError, match="immutable global cannot be set"):
        imm.set_value(store, 1)
    with pytest.raises(TypeError, match="don't know how to convert 'x' to f64"):
        mut.set_value(store, "x")
    with pytest.raises(TypeError, match="expected a GlobalType"):
        wt.Global(store, 1, 1)
    ref = wt.Global(store, wt.GlobalType(wt.ValType.funcref(), True), None)
    assert isinstance(ref.value(store), wt.Val) and ref.value(store).value is None
    ref.set_value(store, wt.Func(store, wt.FuncType([], [i32(wt)]), lambda: 5))
    assert ref.value(store)(store) == 5


# -- Val, types ------------------------------------------------------------------------------
def test_val(wt: Any) -> None:
    Val = wt.Val
    assert Val.i32(2**31).value == -(2**31) and Val.i32(-1).as_i32() == -1
    assert Val.i64(2**63).value == -(2**63) and Val.i64(5).as_i64() == 5
    assert Val.f32(0.1).value == pytest.approx(0.1, rel=1e-7) and Val.f32(0.1).value != 0.1
    assert Val.f32(1.5).as_f32() == 1.5 and Val.f64(0.1).as_f64() == 0.1
    assert math.isnan(Val.f64(math.nan).value)
    obj = object()
    assert Val.externref(obj).value is obj and Val.externref(obj).as_externref() is obj
    assert Val.externref(None).value is None
    assert Val.i32(3).as_i64() is None and Val.externref(1).as_i32() is None
    assert Val.i32(7) == 7 and Val.i32(7) == Val.i32(7) and Val.i32(7) != Val.i64(7)
    types = [Val.i32(1).type, Val.i64(1).type, Val.f32(1.0).type, Val.f64(1.0).type,
             Val.externref(None).type, Val.funcref(None).type]
    assert types == [wt.ValType.i32(), wt.ValType.i64(), wt.ValType.f32(), wt.ValType.f64(),
                     wt.ValType.externref(), wt.ValType.funcref()]
    assert Val.ref_null(wt.ValType.externref()) == Val.externref(None)
    assert Val.ref_null(wt.ValType.funcref()).value is None
    with pytest.raises(wt.WasmtimeError, match="Invalid reference type for `ref_null`"):
        Val.ref_null(wt.ValType.i32())
    for ctor, bad in ((Val.i32, 1.0), (Val.i64, "1"), (Val.f32, 1), (Val.f64, None)):
        with pytest.raises(TypeError):
            ctor(bad)


def test_val_references_through_wasm(wt: Any) -> None:
    store = wt.Store()
    ex = inst(wt, store, """(module
      (func (export "ext") (param externref) (result externref) local.get 0)
      (func (export "fn") (param funcref) (result funcref) local.get 0)
      (func (export "isnull") (param externref) (result i32) (ref.is_null (local.get 0))))"""
              ).exports(store)

    class Anything:
        pass

    for obj in (Anything(), [1, 2], "text", 12345, 0.5, b"x"):
        assert ex["ext"](store, obj) is obj
        assert ex["ext"](store, wt.Val.externref(obj)) is obj
    assert ex["isnull"](store, None) == 1 and ex["isnull"](store, 0) == 0
    host = wt.Func(store, wt.FuncType([], [i32(wt)]), lambda: 11)
    back = ex["fn"](store, wt.Val.funcref(host))
    assert isinstance(back, wt.Func) and back(store) == 11
    assert ex["fn"](store, host)(store) == 11
    assert ex["fn"](store, None) is None


def test_types(wt: Any) -> None:
    VT = wt.ValType
    assert [str(t) for t in (VT.i32(), VT.i64(), VT.f32(), VT.f64(), VT.funcref())] == [
        "i32", "i64", "f32", "f64", "funcref"]
    assert VT.i32() == VT.i32() and VT.i32() != VT.i64() and VT.i32() != "i32"
    with pytest.raises(wt.WasmtimeError, match="cannot construct directly"):
        VT()
    ft = wt.FuncType([VT.i32(), VT.f64()], [VT.externref()])
    assert ft.params == [VT.i32(), VT.f64()] and ft.results == [VT.externref()]
    with pytest.raises(TypeError, match="expected ValType"):
        wt.FuncType([1], [])
    gt = wt.GlobalType(VT.i64(), True)
    assert gt.content == VT.i64() and gt.mutable is True
    with pytest.raises(TypeError, match="expected valtype"):
        wt.GlobalType(1, False)
    tt = wt.TableType(VT.funcref(), wt.Limits(1, None))
    assert tt.element == VT.funcref() and tt.limits == wt.Limits(1, None)
    mt = wt.MemoryType(wt.Limits(1, 2))
    assert mt.limits.min == 1 and mt.limits.max == 2 and mt.page_size_log2 == 16
    lim = wt.Limits(3, None)
    assert lim.min == 3 and lim.max is None and lim == wt.Limits(3, None) and lim != wt.Limits(3, 4)


# -- Trap, Frame, TrapCode, ExitTrap, WasmtimeError -----------------------------------------
TRAPPING = """(module $mod
  (func $inner (export "inner") (param i32) (result i32)
    (i32.div_s (i32.const 1) (local.get 0)))
  (func $outer (export "outer") (param i32) (result i32)
    (call $inner (local.get 0)))
)"""


def test_trap_frames(wt: Any) -> None:
    config = wt.Config()
    config.cranelift_opt_level = "none"  # wasmlite: LLVM may inline $inner at higher levels
    store = wt.Store(wt.Engine(config))
    binary = wasm(TRAPPING)
    ex = wt.Instance(store, wt.Module(store.engine, binary), []).exports(store)
    assert ex["outer"](store, 2) == 0
    with pytest.raises(wt.Trap) as info:
        ex["outer"](store, 0)
    trap = info.value
    assert isinstance(trap, Exception)
    assert trap.trap_code == wt.TrapCode.INTEGER_DIVISION_BY_ZERO
    assert "wasm trap: integer divide by zero" in trap.message
    assert str(trap) == trap.message
    frames = trap.frames
    assert [(f.func_index, f.func_name, f.module_name) for f in frames] == [
        (0, "inner", "mod"), (1, "outer", "mod")]
    for f in frames:
        assert isinstance(f, wt.Frame)
        # func_offset is relative to the function's start, module_offset to the module's
        assert 0 <= f.func_offset < f.module_offset < len(binary)
    assert "mod!inner" in trap.message and "mod!outer" in trap.message


@impls()
def test_trap_message_format(wt: Any) -> None:
    config = wt.Config()
    config.cranelift_opt_level = "none"
    store = wt.Store(wt.Engine(config))
    ex = inst(wt, store, TRAPPING).exports(store)
    with pytest.raises(wt.Trap) as info:
        ex["outer"](store, 0)
    assert re.fullmatch(r"error while executing at wasm backtrace:\n"
                        r"    0: +0x[0-9a-f]+ - mod!inner\n"
                        r"    1: +0x[0-9a-f]+ - mod!outer\n\n"
                        r"Caused by:\n    wasm trap: integer divide by zero\n",
                        info.value.message)


@pytest.mark.parametrize("body, code", [
    ("unreachable", "UNREACHABLE"),
    ("(drop (i32.load (i32.const 70000)))", "MEMORY_OUT_OF_BOUNDS"),
    ("(drop (i32.trunc_f32_s (f32.const nan)))", "BAD_CONVERSION_TO_INTEGER"),
    ("(drop (i32.div_s (i32.const 0x80000000) (i32.const -1)))", "INTEGER_OVERFLOW"),
    ("(call_indirect (i32.const 5))", "TABLE_OUT_OF_BOUNDS"),
    ("(call $self)", "STACK_OVERFLOW"),
])
def test_trap_codes(wt: Any, body: str, code: str) -> None:
    store = wt.Store()
    f = inst(wt, store, f"""(module (memory 1) (table 1 funcref)
        (func $self (export "f") {body}))""").exports(store)["f"]
    with pytest.raises(wt.Trap) as info:
        f(store)
    assert info.value.trap_code == getattr(wt.TrapCode, code)


def test_trap_from_host(wt: Any) -> None:
    trap = wt.Trap("my message")
    assert trap.message == "my message" and str(trap) == "my message"
    assert trap.trap_code is None and trap.frames == []
    names = ["STACK_OVERFLOW", "MEMORY_OUT_OF_BOUNDS", "HEAP_MISALIGNED", "TABLE_OUT_OF_BOUNDS",
             "INDIRECT_CALL_TO_NULL", "BAD_SIGNATURE", "INTEGER_OVERFLOW",
             "INTEGER_DIVISION_BY_ZERO", "BAD_CONVERSION_TO_INTEGER", "UNREACHABLE", "INTERRUPT",
             "OUT_OF_FUEL"]
    assert all(hasattr(wt.TrapCode, n) for n in names)
    assert len({getattr(wt.TrapCode, n) for n in names}) == len(names)


def test_errors(wt: Any) -> None:
    err = wt.WasmtimeError("some problem")
    assert isinstance(err, Exception) and str(err) == "some problem"
    assert issubclass(wt.ExitTrap, wt.WasmtimeError)
    assert not issubclass(wt.Trap, wt.WasmtimeError)


# -- WASI ------------------------------------------------------------------------------------
WASI = """(module
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $args_sizes (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_get" (func $args_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_sizes_get" (func $env_sizes (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_get" (func $env_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_open" (func $path_open
    (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 256) "to stderr")
  (data (i32.const 300) "new.txt")
  ;; write [ptr, ptr+len) to fd; returns the errno
  (func $write (param $fd i32) (param $ptr i32) (param $len i32) (result i32)
    (i32.store (i32.const 0) (local.get $ptr))
    (i32.store (i32.const 4) (local.get $len))
    (call $fd_write (local.get $fd) (i32.const 0) (i32.const 1) (i32.const 8)))
  (func (export "echo") (result i32)
    (i32.store (i32.const 0) (i32.const 1024))
    (i32.store (i32.const 4) (i32.const 1024))
    (drop (call $fd_read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 8)))
    (call $write (i32.const 1) (i32.const 1024) (i32.load (i32.const 8))))
  (func (export "stderr") (result i32) (call $write (i32.const 2) (i32.const 256) (i32.const 9)))
  (func (export "args") (result i32)
    (drop (call $args_sizes (i32.const 16) (i32.const 20)))
    (drop (call $args_get (i32.const 4096) (i32.const 8192)))
    (drop (call $write (i32.const 1) (i32.const 8192) (i32.load (i32.const 20))))
    (i32.load (i32.const 16)))
  (func (export "env") (result i32)
    (drop (call $env_sizes (i32.const 16) (i32.const 20)))
    (drop (call $env_get (i32.const 4096) (i32.const 8192)))
    (drop (call $write (i32.const 1) (i32.const 8192) (i32.load (i32.const 20))))
    (i32.load (i32.const 16)))
  ;; create new.txt in preopen fd 3 and write "hi" into it; returns the errno
  (func (export "create") (result i32) (local $e i32)
    (local.set $e (call $path_open (i32.const 3) (i32.const 0) (i32.const 300) (i32.const 7)
      (i32.const 1) (i64.const 0x1fffffff) (i64.const 0x1fffffff) (i32.const 0) (i32.const 24)))
    (if (local.get $e) (then (return (local.get $e))))
    (i32.store8 (i32.const 400) (i32.const 104))
    (i32.store8 (i32.const 401) (i32.const 105))
    (call $write (i32.load (i32.const 24)) (i32.const 400) (i32.const 2)))
  (func (export "exit") (param i32) (call $proc_exit (local.get 0)))
)"""


def wasi_run(wt: Any, config: Any) -> tuple[Any, Any]:
    engine = wt.Engine()
    store = wt.Store(engine)
    store.set_wasi(config)
    linker = wt.Linker(engine)
    linker.define_wasi()
    return store, linker.instantiate(store, wt.Module(engine, wasm(WASI))).exports(store)


def test_wasi_stdio_files(wt: Any, tmp_path: Path) -> None:
    stdin, stdout, stderr = tmp_path / "in", tmp_path / "out", tmp_path / "err"
    stdin.write_bytes(b"from stdin")
    config = wt.WasiConfig()
    config.inherit_stdin()
    config.stdin_file = str(stdin)  # the last setting wins
    config.stdout_file = str(stdout)
    config.stderr_file = str(stderr)
    store, ex = wasi_run(wt, config)
    assert ex["echo"](store) == 0 and ex["stderr"](store) == 0
    del store, ex
    gc.collect()
    assert stdout.read_bytes() == b"from stdin"
    assert stderr.read_bytes() == b"to stderr"
    with pytest.raises(wt.WasmtimeError, match="failed to set stdin file"):
        wt.WasiConfig().stdin_file = str(tmp_path / "missing")


def test_wasi_stdout_custom_and_args(wt: Any) -> None:
    chunks: list[bytes] = []
    config = wt.WasiConfig()
    config.argv = ["prog", "arg one", "ünï"]
    config.env = [("KEY", "value"), ("EMPTY", "")]
    config.stdout_custom = chunks.append
    store, ex = wasi_run(wt, config)
    assert ex["args"](store) == 3
    assert b"".join(chunks) == "prog\0arg one\0ünï\0".encode()
    chunks.clear()
    assert ex["env"](store) == 2
    assert b"".join(chunks) == b"KEY=value\0EMPTY=\0"


def test_wasi_inherit(wt: Any, capfd: pytest.CaptureFixture[str],
                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WASMLITE_COMPAT_VAR", "42")
    config = wt.WasiConfig()
    config.inherit_argv()
    config.inherit_env()
    config.inherit_stdout()
    config.inherit_stderr()
    store, ex = wasi_run(wt, config)
    assert ex["args"](store) == len(sys.orig_argv)  # the process's command line
    assert ex["env"](store) >= 1
    assert ex["stderr"](store) == 0
    out, err = capfd.readouterr()
    assert out.startswith("\0".join(sys.orig_argv) + "\0")
    assert "WASMLITE_COMPAT_VAR=42\0" in out
    assert err == "to stderr"


@pytest.mark.parametrize("mutable", [True, False])
def test_wasi_preopen_dir(wt: Any, tmp_path: Path, mutable: bool) -> None:
    config = wt.WasiConfig()
    config.preopen_dir(str(tmp_path), "/sandbox", mutable)
    store, ex = wasi_run(wt, config)
    errno = ex["create"](store)
    if mutable:
        assert errno == 0
        del store, ex
        gc.collect()
        assert (tmp_path / "new.txt").read_bytes() == b"hi"
    else:
        assert errno != 0 and not (tmp_path / "new.txt").exists()
    with pytest.raises(wt.WasmtimeError, match="failed to add preopen dir"):
        wt.WasiConfig().preopen_dir(str(tmp_path / "missing"), "/x")


@pytest.mark.parametrize("code", [0, 3])
def test_wasi_exit(wt: Any, code: int) -> None:
    store, ex = wasi_run(wt, wt.WasiConfig())
    with pytest.raises(wt.ExitTrap) as info:
        ex["exit"](store, code)
    assert info.value.code == code
    assert isinstance(info.value, wt.WasmtimeError)


# -- wasmlite-only: paths wasmtime-py cannot take in-process ----------------------------------
def test_wrong_store_errors_wasmlite() -> None:
    """wasmtime-py aborts the process (Rust panic "object used with the wrong store") for
    these; wasmlite raises WasmtimeError with the same words."""
    wl = _wasmlite
    engine = wl.Engine()
    s1, s2 = wl.Store(engine), wl.Store(engine)
    ex = inst(wl, s1, EXPORTS).exports(s1)
    checks: list[Callable[[], Any]] = [
        lambda: ex["f"](s2), lambda: ex["mem"].size(s2), lambda: ex["tab"].size(s2),
        lambda: ex["glob"].value(s2), lambda: wl.Linker(engine).define(s2, "m", "f", ex["f"]),
    ]
    for check in checks:
        with pytest.raises(wl.WasmtimeError, match="object used with the wrong store"):
            check()



def test_default_values_other_store_wasmlite() -> None:
    """wasmtime-py 50 aborts the process (Rust panic "object used with the wrong store")
    when a linker holding a default memory or table of one store instantiates in
    another; wasmlite raises the error it gives for functions and globals."""
    wl = _wasmlite
    engine = wl.Engine()
    for imp in ("(memory 1)", "(table 1 funcref)"):
        module = wl.Module(engine, wasm(f'(module (import "m" "x" {imp}))'))
        linker = wl.Linker(engine)
        linker.define_unknown_imports_as_default_values(wl.Store(engine), module)
        with pytest.raises(wl.WasmtimeError,
                           match="cross-`Store` instantiation is not currently supported"):
            linker.instantiate(wl.Store(engine), module)
