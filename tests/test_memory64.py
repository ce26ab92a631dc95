"""64-bit memories (WebAssembly 3.0 memory64; ``Config.wasm_memory64``, on by default
as in Wasmtime), side by side with wasmtime-py: i64 addresses and offsets up to 2**64-1
(explicit bounds checks that never wrap), ``memory.size``/``grow`` in i64, bulk memory
instructions with i64 operands, data segments at i64 offsets, host memories of
``MemoryType(..., is_64=True)`` and import matching; the switch turned off.
"""

from __future__ import annotations

from typing import Any

import pytest
import wasmtime as _wasmtime

import wasmlite as _wasmlite

IMPLS = {"wasmtime": _wasmtime, "wasmlite": _wasmlite}

WAT = """(module
  (memory (export "m") i64 1 4)
  (memory $small 1)
  (data (i64.const 65520) "0123456789AB")
  (func (export "ld") (param i64) (result i32) (i32.load8_u (local.get 0)))
  (func (export "ldo") (param i64) (result i32)
    (i32.load8_u offset=0xFFFF_FFFF_FFFF_FFF0 (local.get 0)))
  (func (export "ld64") (param i64) (result i64) (i64.load offset=8 (local.get 0)))
  (func (export "st") (param i64 i64) (i64.store (local.get 0) (local.get 1)))
  (func (export "v") (param i64) (result i32)
    (i32x4.extract_lane 1 (v128.load (local.get 0))))
  (func (export "size") (result i64) (memory.size))
  (func (export "grow") (param i64) (result i64) (memory.grow (local.get 0)))
  (func (export "fill") (param i64 i32 i64)
    (memory.fill (local.get 0) (local.get 1) (local.get 2)))
  (func (export "copy") (param i64 i64 i64)
    (memory.copy (local.get 0) (local.get 1) (local.get 2)))
  (func (export "to_small") (param i32 i64 i32)
    (memory.copy $small 0 (local.get 0) (local.get 1) (local.get 2)))
  (func (export "ld_small") (param i32) (result i32) (i32.load8_u $small (local.get 0))))"""

CALLS: list[tuple[str, tuple]] = [
    ("ld", (65520,)), ("ld", (65535,)), ("ld", (65536,)), ("ld", (-1,)), ("ld", (2**32,)),
    ("ldo", (16,)), ("ldo", (15,)), ("ld64", (65520,)), ("ld64", (65521,)), ("ld64", (-8,)),
    ("st", (65528, 5)), ("ld", (65528,)), ("st", (65529, 5)), ("st", (2**63, 1)),
    ("v", (65520,)), ("v", (65521,)),
    ("size", ()), ("grow", (1,)), ("size", ()), ("ld", (70000,)),
    ("grow", (2**40,)), ("grow", (-1,)), ("grow", (2**32,)),
    ("fill", (0, 7, 10)), ("ld", (9,)), ("fill", (0, 7, 2**64 - 1)), ("fill", (131072, 7, 0)),
    ("fill", (131073, 7, 0)), ("fill", (2**64 - 1, 7, 2)),
    ("copy", (100, 65520, 12)), ("ld", (101,)), ("copy", (0, 2**63, 1)),
    ("copy", (131072, 0, 0)), ("copy", (0, 131073, 0)),
    ("to_small", (10, 65520, 4)), ("ld_small", (12,)), ("to_small", (0, 2**33, 0)),
    ("grow", (2,)), ("size", ()), ("grow", (1,)),
]


def _run(rt: Any, config: Any) -> list[Any]:
    engine = rt.Engine(config)
    store = rt.Store(engine)
    ex = rt.Instance(store, rt.Module(engine, WAT), []).exports(store)
    out: list[Any] = []
    for name, args in CALLS:
        try:
            out.append((name, args, ex[name](store, *args)))
        except rt.Trap as e:
            out.append((name, args, "trap", str(e.trap_code)))
    out.append(bytes(ex["m"].read(store, 0, 16)))
    out.append((ex["m"].type(store).is_64, ex["m"].size(store)))
    return out


@pytest.mark.parametrize("strategy", ["auto", "cranelift"])
@pytest.mark.parametrize("signals", [True, False], ids=["guard", "explicit"])
def test_64_bit_memory_like_wasmtime(strategy: str, signals: bool) -> None:
    expected = _run(_wasmtime, _wasmtime.Config())
    config = _wasmlite.Config()
    config.strategy = strategy
    config.signals_based_traps = signals
    assert _run(_wasmlite, config) == expected
    traps = [o for o in expected if isinstance(o, tuple) and len(o) > 2 and o[2] == "trap"]
    assert len(traps) > 10 and ("size", (), 4) in expected


def test_data_segment_past_4_gib_traps_at_instantiation() -> None:
    wat = """(module (memory i64 1) (data (i64.const 0x1_0000_0000) "x"))"""
    codes = []
    for rt in IMPLS.values():
        store = rt.Store(rt.Engine())
        with pytest.raises(rt.Trap) as e:
            rt.Instance(store, rt.Module(store.engine, wat), [])
        codes.append(str(e.value.trap_code))
    assert codes[0] == codes[1] == "TrapCode.MEMORY_OUT_OF_BOUNDS"


def test_host_memory64_and_import_matching() -> None:
    """``MemoryType(limits, is_64=True)``: a host 64-bit memory satisfies a 64-bit
    import and not a 32-bit one (and the reverse), with Wasmtime's message."""
    wat64 = '(module (import "a" "m" (memory i64 1)) (func (export "ld") (param i64) ' \
            '(result i32) (i32.load8_u (local.get 0))))'
    wat32 = '(module (import "a" "m" (memory 1)))'
    results = []
    for rt in IMPLS.values():
        store = rt.Store(rt.Engine())
        mt = rt.MemoryType(rt.Limits(1, None), is_64=True)
        m64 = rt.Memory(store, mt)
        m32 = rt.Memory(store, rt.MemoryType(rt.Limits(1, None)))
        m64.write(store, b"\x09", 3)
        ex = rt.Instance(store, rt.Module(store.engine, wat64), [m64]).exports(store)
        errors = []
        for wat, mem in ((wat64, m32), (wat32, m64)):
            with pytest.raises(rt.WasmtimeError) as e:
                rt.Instance(store, rt.Module(store.engine, wat), [mem])
            errors.append(str(e.value))
        results.append((mt.is_64, m64.type(store).is_64, m32.type(store).is_64,
                        ex["ld"](store, 3), m64.grow(store, 1), m64.size(store), errors))
    assert results[0] == results[1]
    assert results[1][:6] == (True, True, False, 9, 1, 2)


def test_switched_off_like_wasmtime() -> None:
    for wat in ("(module (memory i64 1))", '(module (import "a" "m" (memory i64 1)))'):
        wasm = bytes(_wasmtime.wat2wasm(wat))
        messages = []
        for rt in IMPLS.values():
            config = rt.Config()
            config.wasm_memory64 = False
            with pytest.raises(rt.WasmtimeError) as e:
                rt.Module(rt.Engine(config), wasm)
            messages.append(str(e.value))
        assert "memory64 must be enabled for 64-bit memories" in messages[0]
        assert "memory64 must be enabled for 64-bit memories" in messages[1]


@pytest.mark.parametrize("wat,message", [
    ("(module (memory i64 0x1_0000_0000_0001))", "memory size must be at most 2**48 pages"),
    ("(module (memory 0x1_0001))", "memory size must be at most 65536 pages"),
    ("(module (memory 1) (func (drop (i32.load offset=0x1_0000_0000 (i32.const 0)))))",
     "offset out of range"),
    ("(module (memory i64 1) (func (drop (i32.load (i32.const 0)))))", "type mismatch"),
    ("(module (memory i64 1) (func (result i32) (memory.size)))", "type mismatch"),
])
def test_invalid_like_wasmtime(wat: str, message: str) -> None:
    wasm = bytes(_wasmtime.wat2wasm(wat))
    for rt in IMPLS.values():
        with pytest.raises(rt.WasmtimeError):
            rt.Module(rt.Engine(), wasm)
    with pytest.raises(_wasmlite.WasmtimeError, match=message.replace("*", r"\*")):
        _wasmlite.Module(_wasmlite.Engine(), wasm)


TABLE_WAT = """(module
  (type $r (func (result i32)))
  (table $t (export "t") i64 4 10 funcref)
  (table $u i64 2 funcref)
  (table $s 3 funcref)
  (elem (table $t) (i64.const 1) func $one $two)
  (func $one (result i32) (i32.const 1))
  (func $two (result i32) (i32.const 2))
  (func (export "call") (param i64) (result i32) (call_indirect $t (type $r) (local.get 0)))
  (func (export "size") (result i64) (table.size $t))
  (func (export "grow") (param i64) (result i64) (table.grow $t (ref.null func) (local.get 0)))
  (func (export "is_null") (param i64) (result i32) (ref.is_null (table.get $t (local.get 0))))
  (func (export "set") (param i64) (table.set $t (local.get 0) (ref.func $two)))
  (func (export "fill") (param i64 i64) (table.fill $t (local.get 0) (ref.func $one) (local.get 1)))
  (func (export "copy_tu") (param i64 i64 i64)
    (table.copy $u $t (local.get 0) (local.get 1) (local.get 2)))
  (func (export "copy_st") (param i32 i64 i32)
    (table.copy $s $t (local.get 0) (local.get 1) (local.get 2)))
  (func (export "call_s") (param i32) (result i32) (call_indirect $s (type $r) (local.get 0)))
  (func (export "u_null") (param i64) (result i32) (ref.is_null (table.get $u (local.get 0)))))"""

TABLE_CALLS: list[tuple[str, tuple]] = [
    ("call", (1,)), ("call", (2,)), ("call", (0,)), ("call", (4,)), ("call", (2**32 + 1,)),
    ("call", (-1,)), ("size", ()), ("grow", (3,)), ("size", ()), ("grow", (2**40,)),
    ("grow", (-1,)), ("is_null", (6,)), ("is_null", (7,)), ("set", (6,)), ("call", (6,)),
    ("set", (7,)), ("fill", (3, 2)), ("call", (4,)), ("fill", (6, 2)), ("fill", (2**63, 0)),
    ("fill", (7, 0)), ("copy_tu", (0, 1, 2)), ("u_null", (1,)), ("copy_tu", (1, 1, 2)),
    ("copy_tu", (0, 2**32, 0)), ("copy_st", (0, 1, 3)), ("call_s", (1,)),
    ("copy_st", (1, 6, 3)), ("grow", (1,)), ("grow", (0,)),
]


@pytest.mark.parametrize("strategy", ["auto", "cranelift"])
def test_64_bit_table_like_wasmtime(strategy: str) -> None:
    """table64: i64 indices in every table instruction and ``call_indirect``, a table
    copy between a 64-bit and a 32-bit table (i32 length)."""
    results = []
    for rt in IMPLS.values():
        config = rt.Config()
        if rt is _wasmlite:
            config.strategy = strategy
        engine = rt.Engine(config)
        store = rt.Store(engine)
        ex = rt.Instance(store, rt.Module(engine, TABLE_WAT), []).exports(store)
        out: list[Any] = []
        for name, args in TABLE_CALLS:
            try:
                out.append((name, args, ex[name](store, *args)))
            except rt.Trap as e:
                out.append((name, args, "trap", str(e.trap_code)))
        out.append((ex["t"].size(store), ex["t"].type(store).limits.max))
        results.append(out)
    assert results[0] == results[1]
    assert ("size", (), 7) in results[1] and sum(o[2] == "trap" for o in results[1][:-1]) > 6
