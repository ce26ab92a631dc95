"""Tail calls (WebAssembly 3.0 ``return_call``, ``return_call_indirect``;
``Config.wasm_tail_call``, on by default as in Wasmtime), side by side with
wasmtime-py: results, traps and fuel; mutual tail recursion a million deep between
functions of one type runs in constant stack; calls to host functions in tail position;
validation and the switch turned off.
"""

from __future__ import annotations

from typing import Any

import pytest
import wasmtime as _wasmtime

import wasmlite as _wasmlite

IMPLS = {"wasmtime": _wasmtime, "wasmlite": _wasmlite}

WAT = """(module
  (type $t (func (param i64) (result i32)))
  (import "h" "twice" (func $twice (param i64) (result i32)))
  (table 3 funcref) (elem (i32.const 0) $even $odd)
  (func $even (export "even") (param i64) (result i32)
    (if (result i32) (i64.eqz (local.get 0)) (then (i32.const 1))
      (else (return_call $odd (i64.sub (local.get 0) (i64.const 1))))))
  (func $odd (export "odd") (param i64) (result i32)
    (if (result i32) (i64.eqz (local.get 0)) (then (i32.const 0))
      (else (return_call_indirect (type $t)
        (i64.sub (local.get 0) (i64.const 1)) (i32.const 0)))))
  (func $sum (export "sum") (param i64 i64) (result i64)
    (if (result i64) (i64.eqz (local.get 0)) (then (local.get 1))
      (else (return_call $sum (i64.sub (local.get 0) (i64.const 1))
                              (i64.add (local.get 1) (local.get 0))))))
  (func (export "other") (param i32) (result i64)
    (return_call $sum (i64.extend_i32_u (local.get 0)) (i64.const 0)))
  (func (export "host") (param i64) (result i32) (return_call $twice (local.get 0)))
  (func (export "oob") (result i32) (return_call_indirect (type $t) (i64.const 3) (i32.const 5)))
  (func (export "null") (result i32) (return_call_indirect (type $t) (i64.const 3) (i32.const 2)))
  (func (export "sig") (result i32)
    (return_call_indirect (type $t) (i64.const 3) (i32.const 1)))
  (func (export "unreachable") (result i32) (return_call $trap))
  (func $trap (result i32) unreachable))"""

CALLS: list[tuple[str, tuple]] = [
    ("even", (1_000_000,)), ("odd", (1_000_001,)), ("even", (7,)), ("sum", (1_000_000, 0)),
    ("other", (10,)), ("host", (21,)), ("oob", ()), ("null", ()), ("sig", ()),
    ("unreachable", ()),
]


def _run(rt: Any, config: Any, fuel: bool) -> list[Any]:
    engine = rt.Engine(config)
    store = rt.Store(engine)
    if fuel:
        store.set_fuel(10**9)
    twice = rt.Func(store, rt.FuncType([rt.ValType.i64()], [rt.ValType.i32()]),
                    lambda x: 2 * x)
    ex = rt.Instance(store, rt.Module(engine, WAT), [twice]).exports(store)
    out: list[Any] = []
    for name, args in CALLS:
        try:
            out.append((name, args, ex[name](store, *args)))
        except rt.Trap as e:
            out.append((name, args, "trap", str(e.trap_code)))
        if fuel:
            out.append(store.get_fuel())
    return out


@pytest.mark.parametrize("strategy", ["auto", "cranelift"])
@pytest.mark.parametrize("fuel", [False, True], ids=["nofuel", "fuel"])
def test_tail_calls_like_wasmtime(strategy: str, fuel: bool) -> None:
    wc = _wasmtime.Config()
    wc.consume_fuel = fuel
    expected = _run(_wasmtime, wc, fuel)
    config = _wasmlite.Config()
    config.strategy = strategy
    config.consume_fuel = fuel
    assert _run(_wasmlite, config, fuel) == expected
    assert ("even", (1_000_000,), 1) in expected and ("host", (21,), 42) in expected


def test_tail_call_result_type_must_match() -> None:
    wat = "(module (func $f (result i32) (return_call $g)) (func $g))"
    wasm = bytes(_wasmtime.wat2wasm(wat))
    messages = []
    for rt in IMPLS.values():
        with pytest.raises(rt.WasmtimeError) as e:
            rt.Module(rt.Engine(), wasm)
        messages.append(str(e.value))
    want = "type mismatch: current function requires result type [i32] but callee returns []"
    assert want in messages[0] and want in messages[1]


def test_switched_off_like_wasmtime() -> None:
    wasm = bytes(_wasmtime.wat2wasm("(module (func $f (return_call $f)))"))
    for rt in IMPLS.values():
        config = rt.Config()
        config.wasm_tail_call = False
        with pytest.raises(rt.WasmtimeError, match="tail calls support is not enabled"):
            rt.Module(rt.Engine(config), wasm)


def test_tail_calls_llvm_cannot_eliminate_are_plain_calls() -> None:
    """Several results (returned through a hidden pointer) or arguments on the stack:
    LLVM would abort the process on ``musttail`` (the fuzzer found it); such tail calls
    are plain calls, with Wasmtime's results at a depth the stack holds."""
    wat = """(module
      (func $mv (export "mv") (param i32) (result i32 i64 f64 i32)
        (if (result i32 i64 f64 i32) (i32.eqz (local.get 0))
          (then (i32.const 1) (i64.const 2) (f64.const 3) (i32.const 6))
          (else (return_call $mv (i32.sub (local.get 0) (i32.const 1))))))
      (func $many (export "many") (param i64 i64 i64 i64 i64 i64 i64 i64) (result i64)
        (if (result i64) (i64.eqz (local.get 0)) (then (local.get 7))
          (else (return_call $many (i64.sub (local.get 0) (i64.const 1)) (local.get 1)
            (local.get 2) (local.get 3) (local.get 4) (local.get 5) (local.get 6)
            (i64.add (local.get 7) (local.get 1)))))))"""
    results = []
    for rt in IMPLS.values():
        store = rt.Store(rt.Engine())
        ex = rt.Instance(store, rt.Module(store.engine, wat), []).exports(store)
        mv = ex["mv"](store, 2000)
        results.append((mv[:3], mv[3], ex["many"](store, 2000, 3, 0, 0, 0, 0, 0, 1)))
    assert results[0] == results[1] == ([1, 2, 3.0], 6, 6001)
