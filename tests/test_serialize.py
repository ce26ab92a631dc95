"""Compiled artifacts: ``Module.serialize`` / ``deserialize`` / ``deserialize_file``
(wasmtime-py's API), the compatibility checks of ``wasmlite.cache`` and the compile
cache behind ``Config.cache``.

Modules are built from WAT with ``wasmtime.wat2wasm``; results of a deserialized
module are compared with the same module compiled normally (and, for the module's
types, with wasmtime-py).
"""

from __future__ import annotations

import pytest
import wasmtime

import wasmlite.compiler as compiler
from wasmlite import (
    Config,
    Engine,
    Func,
    FuncType,
    Instance,
    Module,
    Store,
    Trap,
    TrapCode,
    ValType,
    WasmtimeError,
)
from wasmlite import cache as ca

WAT = """
(module $demo
  (import "host" "double" (func $double (param i32) (result i32)))
  (type $binop (func (param i32 i32) (result i32)))
  (memory (export "mem") 1 2)
  (table $t 3 funcref)
  (global $counter (export "counter") (mut i64) (i64.const 7))
  (elem (i32.const 0) $add $sub $twice)
  (data (i32.const 16) "hello")
  (func $add (type $binop) (i32.add (local.get 0) (local.get 1)))
  (func $sub (type $binop) (i32.sub (local.get 0) (local.get 1)))
  (func $twice (type $binop) (call $double (local.get 0)))
  (func (export "apply") (param i32 i32 i32) (result i32)
    (global.set $counter (i64.add (global.get $counter) (i64.const 1)))
    (call_indirect (type $binop) (local.get 1) (local.get 2) (local.get 0)))
  (func (export "load8") (param i32) (result i32) (i32.load8_u (local.get 0)))
  (func (export "fdiv") (param f64 f64) (result f64) (f64.div (local.get 0) (local.get 1)))
  (func (export "swap") (param i64 f32) (result f32 i64) (local.get 1) (local.get 0))
  (func $fib (export "fib") (param i32) (result i32)
    (if (result i32) (i32.lt_u (local.get 0) (i32.const 2))
      (then (local.get 0))
      (else (i32.add (call $fib (i32.sub (local.get 0) (i32.const 1)))
                     (call $fib (i32.sub (local.get 0) (i32.const 2)))))))
  (func (export "boom") (result i32) (i32.div_s (i32.const 1) (i32.const 0)))
  (@custom "meta" "first")
  (@custom "meta" "second")
)
"""


@pytest.fixture(scope="module")
def wasm() -> bytes:
    return bytes(wasmtime.wat2wasm(WAT))


def _instance(engine: Engine, module: Module) -> tuple[Store, dict]:
    store = Store(engine)
    double = Func(store, FuncType([ValType.i32()], [ValType.i32()]), lambda x: 2 * x)
    inst = Instance(store, module, [double])
    return store, inst.exports(store)


def _results(engine: Engine, module: Module) -> list:
    """Calls covering the module's features; a trap is recorded by its code."""
    store, ex = _instance(engine, module)
    out: list = [ex["apply"](store, 0, 5, 3), ex["apply"](store, 1, 5, 3),
                 ex["apply"](store, 2, 21, 0), ex["counter"].value(store),
                 ex["load8"](store, 17), ex["fdiv"](store, 1.0, 8.0),
                 ex["swap"](store, 5, 1.5), ex["fib"](store, 15)]
    for call in (lambda: ex["boom"](store), lambda: ex["apply"](store, 3, 1, 1),
                 lambda: ex["load8"](store, 2 * 65536)):
        with pytest.raises(Trap) as info:
            call()
        out.append(info.value.trap_code)
    return out


# -- round trip ----------------------------------------------------------------------------

def test_round_trip_same_engine(wasm: bytes) -> None:
    engine = Engine()
    module = Module(engine, wasm)
    data = module.serialize()
    assert isinstance(data, bytearray)
    assert data[:len(ca.MAGIC)] == ca.MAGIC
    loaded = Module.deserialize(engine, data)
    expected = _results(engine, module)
    assert expected[:3] == [8, 2, 42]
    assert expected[-3:] == [TrapCode.INTEGER_DIVISION_BY_ZERO, TrapCode.TABLE_OUT_OF_BOUNDS,
                             TrapCode.MEMORY_OUT_OF_BOUNDS]
    assert _results(engine, loaded) == expected
    # the module's metadata comes back too
    assert loaded.name == module.name == "demo"
    assert [(i.module, i.name, str(i.type)) for i in loaded.imports] == \
           [(i.module, i.name, str(i.type)) for i in module.imports]
    assert [(e.name, str(e.type)) for e in loaded.exports] == \
           [(e.name, str(e.type)) for e in module.exports]
    assert loaded.custom_sections("meta") == [b"first", b"second"]
    # and a deserialized module serializes to the same artifact
    assert loaded.serialize() == data


def test_deserialize_accepts_bytes_and_backtraces_symbolize(wasm: bytes) -> None:
    engine = Engine()
    loaded = Module.deserialize(engine, bytes(Module(engine, wasm).serialize()))
    store, ex = _instance(engine, loaded)
    with pytest.raises(Trap) as info:
        ex["boom"](store)
    assert [f.func_index for f in info.value.frames] == [9]
    assert info.value.frames[0].module_name == "demo"


def test_round_trip_without_signals_based_traps(wasm: bytes) -> None:
    config = Config()
    config.signals_based_traps = False
    config.opt_level = "0"
    engine = Engine(config)
    module = Module(engine, wasm)
    loaded = Module.deserialize(engine, module.serialize())
    assert _results(engine, loaded) == _results(engine, module)


def test_round_trip_with_fuel_and_epochs() -> None:
    wasm = bytes(wasmtime.wat2wasm(
        '(module (func (export "spin") (param i32) (result i32)'
        '  (loop $l (br_if $l (local.tee 0 (i32.sub (local.get 0) (i32.const 1)))))'
        '  (local.get 0)))'))
    engine = Engine(_config(consume_fuel=True, epoch_interruption=True))
    loaded = Module.deserialize(engine, Module(engine, wasm).serialize())
    store = Store(engine)
    store.set_epoch_deadline(1)
    spin = Instance(store, loaded, []).exports(store)["spin"]
    store.set_fuel(10_000)
    assert spin(store, 10) == 0
    store.set_fuel(10)
    with pytest.raises(Trap) as info:
        spin(store, 1000)
    assert info.value.trap_code == TrapCode.OUT_OF_FUEL
    store.set_fuel(10_000)
    engine.increment_epoch()
    with pytest.raises(Trap) as info:
        spin(store, 1000)
    assert info.value.trap_code == TrapCode.INTERRUPT


def test_round_trip_several_llvm_modules(wasm: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    # big modules compile as several LLVM modules (one object file each); force that
    partition = compiler._partition
    monkeypatch.setattr(compiler, "_partition", lambda bodies, parts: partition(bodies, 3))
    engine = Engine(_config(strategy="cranelift"))   # eager: the parts are compiled now
    module = Module(engine, wasm)
    assert module._compiled.num_parts == 3
    loaded = Module.deserialize(engine, module.serialize())
    assert loaded._compiled.num_parts == 3
    assert _results(engine, loaded) == _results(engine, module)


def test_deserialize_file(wasm: bytes, tmp_path) -> None:  # noqa: ANN001
    engine = Engine()
    module = Module(engine, wasm)
    path = tmp_path / "demo.cwasm"
    path.write_bytes(module.serialize())
    assert _results(engine, Module.deserialize_file(engine, str(path))) == \
        _results(engine, module)
    with pytest.raises(WasmtimeError, match="failed to open file"):
        Module.deserialize_file(engine, str(tmp_path / "missing.cwasm"))


def test_deserialize_in_another_engine_with_equal_settings(wasm: bytes) -> None:
    data = Module(Engine(), wasm).serialize()
    engine = Engine()
    assert _results(engine, Module.deserialize(engine, data))[:3] == [8, 2, 42]


def test_deserialize_argument_types(wasm: bytes) -> None:
    engine = Engine()
    data = Module(engine, wasm).serialize()
    with pytest.raises(TypeError):
        Module.deserialize(engine, "not bytes")  # type: ignore[arg-type]
    with pytest.raises(AttributeError):  # as wasmtime-py (None has no ``ptr()``)
        Module.deserialize(None, data)  # type: ignore[arg-type]


# -- rejected artifacts -------------------------------------------------------------------

def _config(**settings: object) -> Config:
    config = Config()
    for name, value in settings.items():
        setattr(config, name, value)
    return config


MISMATCHES = [
    ({"opt_level": "0"}, "different 'opt_level' setting: expected '2' but host has '0'"),
    ({"cranelift_opt_level": "speed_and_size"}, "'opt_level' setting"),
    ({"wasm_simd": False}, "with support for WebAssembly feature `simd` but it is not"),
    # wasmtime-py 50 words it so too (its feature bits' names, in their order)
    ({"wasm_relaxed_simd": False},
     "with support for WebAssembly feature `relaxed_simd` but it is not"),
    ({"consume_fuel": True}, "without fuel support but it is enabled for the host"),
    ({"epoch_interruption": True}, "without epoch interruption but it is enabled"),
]


@pytest.mark.parametrize(("settings", "message"), MISMATCHES,
                         ids=[next(iter(s)) for s, _ in MISMATCHES])
def test_mismatched_config_rejected(wasm: bytes, settings: dict, message: str) -> None:
    data = Module(Engine(), wasm).serialize()
    with pytest.raises(WasmtimeError, match=message.replace("(", r"\(")):
        Module.deserialize(Engine(_config(**settings)), data)


def test_mismatched_signals_based_traps_rejected(wasm: bytes) -> None:
    engine = Engine()
    if engine._signals_tls_key is None:
        pytest.skip("signals-based traps are not supported on this platform")
    data = Module(engine, wasm).serialize()
    with pytest.raises(WasmtimeError, match="with signals-based traps but it is not enabled"):
        Module.deserialize(Engine(_config(signals_based_traps=False)), data)
    other = Module(Engine(_config(signals_based_traps=False)), wasm).serialize()
    with pytest.raises(WasmtimeError, match="without signals-based traps but it is enabled"):
        Module.deserialize(engine, other)


def _rebuild(data: bytes, **changes: object) -> bytearray:
    header, wasm_bytes, objects = ca.parse_artifact(data)
    header.update(changes)
    return ca.build_artifact(header, wasm_bytes, objects)


@pytest.mark.parametrize(("changes", "message"), [
    ({"wasmlite": "0.0.1"}, "incompatible wasmlite version '0.0.1"),
    ({"compiler": "0" * 16}, "incompatible wasmlite version"),
    ({"llvm": "3.4.0"}, "compiled with LLVM 3.4.0"),
    ({"triple": "riscv64-unknown-linux-gnu"}, "compiled for target 'riscv64"),
    ({"cpu": "i486"}, "compiled for CPU 'i486'"),
    ({"cpu_features": "+nothing"}, "other CPU features"),
])
def test_other_build_or_host_rejected(wasm: bytes, changes: dict, message: str) -> None:
    engine = Engine()
    data = _rebuild(Module(engine, wasm).serialize(), **changes)
    with pytest.raises(WasmtimeError, match=message):
        Module.deserialize(engine, data)


def test_inconsistent_header_rejected(wasm: bytes) -> None:
    engine = Engine()
    data = Module(engine, wasm).serialize()
    with pytest.raises(WasmtimeError, match="does not match the module"):
        Module.deserialize(engine, _rebuild(data, type_names=[0]))
    with pytest.raises(WasmtimeError, match="corrupt"):
        Module.deserialize(engine, _rebuild(data, parts=[[0, 0, 1, 2, 3, 4, 5, 6, 7]]))
    header, wasm_bytes, objects = ca.parse_artifact(data)
    with pytest.raises(WasmtimeError, match="not an ELF object"):
        Module.deserialize(engine, ca.build_artifact(header, wasm_bytes, [b"junk" * 8]))


def test_other_format_version_rejected(wasm: bytes) -> None:
    engine = Engine()
    data = Module(engine, wasm).serialize()
    data[16] = ca.FORMAT_VERSION + 1
    with pytest.raises(WasmtimeError, match="artifact format version"):
        Module.deserialize(engine, data)


def test_truncated_corrupt_and_garbage_rejected(wasm: bytes) -> None:
    engine = Engine()
    data = bytes(Module(engine, wasm).serialize())
    for n in (0, 5, 16, 24, 60, len(data) // 2, len(data) - 33, len(data) - 1):
        with pytest.raises(WasmtimeError, match="not a compatible|truncated or corrupt"):
            Module.deserialize(engine, data[:n])
    for pos in (20, 40, len(data) // 3, len(data) // 2, len(data) - 40, len(data) - 1):
        bad = bytearray(data)
        bad[pos] ^= 0x5A
        with pytest.raises(WasmtimeError, match="truncated or corrupt"):
            Module.deserialize(engine, bad)
    for garbage in (b"garbage" * 20, wasm, b"\x7fELF" + bytes(200)):
        with pytest.raises(WasmtimeError, match="not a compatible serialized wasmlite module"):
            Module.deserialize(engine, garbage)


# -- the compile cache --------------------------------------------------------------------

def _cached_engine(directory, **settings: object) -> Engine:  # noqa: ANN001
    """An engine caching in ``directory``; eager (whole modules cached) unless
    ``strategy="auto"`` is given (optimized batches cached, tests/test_tier_cache.py)."""
    conf = directory.parent / f"{directory.name}.toml"
    conf.write_text(f'[cache]\ndirectory = "{directory}"\n')
    config = _config(**{"strategy": "cranelift", **settings})
    config.cache = str(conf)
    return Engine(config)


def _count_compiles(monkeypatch: pytest.MonkeyPatch) -> list:
    calls: list = []
    compile_module = compiler.compile_module

    def counting(*args: object, **kwargs: object) -> object:
        calls.append(1)
        return compile_module(*args, **kwargs)

    monkeypatch.setattr(compiler, "compile_module", counting)
    return calls


def test_cache_hit_skips_llvm(wasm: bytes, tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    directory = tmp_path / "cache"
    engine = _cached_engine(directory)
    calls = _count_compiles(monkeypatch)
    first = Module(engine, wasm)
    assert calls == [1]
    entries = list(directory.rglob("*.cwasm"))
    assert len(entries) == 1
    assert not list(directory.rglob(".tmp-*"))

    # a hit: neither compile_module nor LLVM's code generator nor the validator runs
    def no_llvm(*args: object, **kwargs: object) -> None:
        raise AssertionError("LLVM was called on a cache hit")

    engine2 = _cached_engine(directory)
    with monkeypatch.context() as m:
        m.setattr(compiler, "compile_module", no_llvm)
        m.setattr(compiler.JitCode, "__init__", no_llvm)
        m.setattr("wasmlite.validate.validate_module", no_llvm)
        second = Module(engine2, wasm)
    assert _results(engine2, second) == _results(engine, first)
    assert ca.engine_cache(engine2).hits >= 1


def test_cache_key_covers_settings_and_bytes(wasm: bytes, tmp_path,  # noqa: ANN001
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    directory = tmp_path / "cache"
    calls = _count_compiles(monkeypatch)
    Module(_cached_engine(directory), wasm)
    Module(_cached_engine(directory, opt_level="0"), wasm)
    Module(_cached_engine(directory), bytes(wasmtime.wat2wasm("(module)")))
    assert len(calls) == 3
    assert len(list(directory.rglob("*.cwasm"))) == 3
    Module(_cached_engine(directory, opt_level="0"), wasm)
    assert len(calls) == 3


@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty", "stale"])
def test_corrupt_cache_entry_recompiled(wasm: bytes, tmp_path,  # noqa: ANN001
                                        monkeypatch: pytest.MonkeyPatch, damage: str) -> None:
    directory = tmp_path / "cache"
    engine = _cached_engine(directory)
    Module(engine, wasm)
    (entry,) = directory.rglob("*.cwasm")
    good = entry.read_bytes()
    entry.write_bytes({"garbage": b"not an artifact" * 10, "truncated": good[:len(good) // 2],
                       "empty": b"", "stale": bytes(_rebuild(good, wasmlite="0.0.0"))}[damage])
    calls = _count_compiles(monkeypatch)
    engine2 = _cached_engine(directory)
    module = Module(engine2, wasm)
    assert calls == [1]
    assert _results(engine2, module)[:3] == [8, 2, 42]
    # the entry was overwritten with a good artifact
    assert Module.deserialize(engine, entry.read_bytes()).name == "demo"
    Module(_cached_engine(directory), wasm)
    assert calls == [1]


def test_unwritable_cache_is_not_an_error(wasm: bytes, tmp_path) -> None:  # noqa: ANN001
    blocker = tmp_path / "file"
    blocker.write_text("a file where the cache directory should be")
    engine = _cached_engine(blocker)
    assert _results(engine, Module(engine, wasm))[:3] == [8, 2, 42]


# -- validation with the engine's features, module metadata --------------------------------

SIMD_WAT = '(module (func (export "f") (result v128) (v128.const i32x4 1 2 3 4)))'


def test_validate_uses_engine_features() -> None:
    wasm = bytes(wasmtime.wat2wasm(SIMD_WAT))
    Module.validate(Engine(), wasm)
    off = Engine(_config(wasm_simd=False))
    with pytest.raises(WasmtimeError, match="SIMD support is not enabled"):
        Module.validate(off, wasm)
    with pytest.raises(WasmtimeError, match="SIMD support is not enabled"):
        Module(off, wasm)
    # as wasmtime-py: bytes or bytearray in the binary format only
    Module.validate(Engine(), bytearray(wasm))
    with pytest.raises(TypeError):
        Module.validate(Engine(), "(module)")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Module.validate(Engine(), memoryview(wasm))  # type: ignore[arg-type]
    with pytest.raises(WasmtimeError, match="magic header not detected"):
        Module.validate(Engine(), b"(module)")


def test_imports_exports_match_wasmtime(wasm: bytes) -> None:
    ours = Module(Engine(), wasm)
    ref = wasmtime.Module(wasmtime.Engine(), wasm)
    assert isinstance(ours.imports, list) and isinstance(ours.exports, list)
    assert [(i.module, i.name, type(i.type).__name__) for i in ours.imports] == \
           [(i.module, i.name, type(i.type).__name__) for i in ref.imports]
    assert [(e.name, type(e.type).__name__) for e in ours.exports] == \
           [(e.name, type(e.type).__name__) for e in ref.exports]
    for mine, theirs in zip(ours.exports, ref.exports, strict=True):
        if isinstance(theirs.type, wasmtime.FuncType):
            assert [str(p) for p in mine.type.params] == [str(p) for p in theirs.type.params]
            assert [str(r) for r in mine.type.results] == [str(r) for r in theirs.type.results]


def test_from_file(wasm: bytes, tmp_path) -> None:  # noqa: ANN001
    path = tmp_path / "demo.wasm"
    path.write_bytes(wasm)
    engine = Engine()
    assert Module.from_file(engine, str(path)).name == "demo"
    assert Module.from_file(engine, path).exports[0].name == "mem"
    text = tmp_path / "demo.wat"
    text.write_text(WAT)
    assert Module.from_file(engine, text).name == "demo"
    with pytest.raises(OSError):
        Module.from_file(engine, tmp_path / "missing.wasm")
