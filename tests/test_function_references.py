"""Typed function references (WebAssembly 3.0) side by side with wasmtime-py.

``call_ref``, ``return_call_ref``, ``br_on_null``, ``br_on_non_null``,
``ref.as_non_null``, typed tables with initializers and non-nullable locals: the same
results and traps as wasmtime-py 50 (``Config.wasm_function_references``, on by
default in both), with ``Config.strategy`` ``"auto"`` (baseline first tier, which hands
these functions to LLVM) and ``"cranelift"``; invalid modules rejected by both with the
same message; the switch turned off.
"""

from __future__ import annotations

import pytest

wasmtime = pytest.importorskip("wasmtime")

import wasmlite  # noqa: E402

STRATEGIES = ("auto", "cranelift")

MODULE = r"""
(module
  (type $ii (func (param i32) (result i32)))
  (type $v (func))
  (func $inc (type $ii) (i32.add (local.get 0) (i32.const 1)))
  (func $dbl (type $ii) (i32.mul (local.get 0) (i32.const 2)))
  (elem declare func $inc $dbl)
  (table $t 2 (ref null $ii) (ref.func $inc))
  (table $u 3 (ref $ii) (ref.func $dbl))
  (global $g (ref null $ii) (ref.func $dbl))

  (func (export "call") (param $which i32) (param $x i32) (result i32)
    (call_ref $ii (local.get $x)
      (select (result (ref $ii)) (ref.func $inc) (ref.func $dbl) (local.get $which))))
  (func (export "call-null") (param $x i32) (result i32)
    (call_ref $ii (local.get $x) (ref.null $ii)))
  (func (export "call-table") (param $i i32) (param $x i32) (result i32)
    (call_ref $ii (local.get $x) (table.get $t (local.get $i))))
  (func (export "call-table-u") (param $i i32) (param $x i32) (result i32)
    (call_ref $ii (local.get $x) (table.get $u (local.get $i))))
  (func (export "call-global") (param $x i32) (result i32)
    (call_ref $ii (local.get $x) (global.get $g)))
  (func (export "null-slot") (result i32)
    (table.set $t (i32.const 1) (ref.null $ii))
    (call_ref $ii (i32.const 5) (table.get $t (i32.const 1))))
  (func (export "as-non-null") (param $n i32) (result i32)
    (ref.is_null (ref.as_non_null
      (if (result (ref null $ii)) (local.get $n)
        (then (ref.null $ii)) (else (ref.func $inc))))))
  (func (export "on-null") (param $n i32) (result i32)
    (block $l (result i32)
      (call_ref $ii
        (br_on_null $l (i32.const 10)
          (if (result (ref null $ii)) (local.get $n)
            (then (ref.null $ii)) (else (ref.func $dbl)))))))
  (func (export "on-non-null") (param $n i32) (result i32)
    (call_ref $ii (i32.const 20)
      (block $l (result (ref $ii))
        (br_on_non_null $l
          (if (result (ref null $ii)) (local.get $n)
            (then (ref.null $ii)) (else (ref.func $inc))))
        (return (i32.const -2)))))
  (func (export "local-init") (param $x i32) (result i32)
    (local $f (ref $ii))
    (local.set $f (ref.func $dbl))
    (block (local.set $f (ref.func $inc)))
    (call_ref $ii (local.get $x) (local.get $f)))
  (func $count (export "count") (param $n i32) (result i32)
    (if (result i32) (i32.eqz (local.get $n))
      (then (i32.const 77))
      (else (return_call_ref $ii (i32.sub (local.get $n) (i32.const 1))
                                 (ref.func $count)))))
  (elem declare func $count)
)
"""

CALLS = [
    ("call", (0, 5)), ("call", (1, 5)), ("call-null", (3,)),
    ("call-table", (0, 7)), ("call-table", (1, 7)), ("call-table", (2, 7)),
    ("call-table-u", (2, 9)), ("call-table-u", (3, 9)), ("call-global", (4,)),
    ("null-slot", ()), ("as-non-null", (0,)), ("as-non-null", (1,)),
    ("on-null", (0,)), ("on-null", (1,)), ("on-non-null", (0,)), ("on-non-null", (1,)),
    ("local-init", (8,)), ("count", (100000,)),
]


def _outcome(mod, name: str, args: tuple) -> object:
    """``("ok", results)`` or ``("trap", message)`` of one call with either runtime."""
    engine_mod = mod
    cfg = engine_mod.Config()
    if mod is wasmlite:
        cfg.strategy = _outcome.strategy  # type: ignore[attr-defined]
    engine = engine_mod.Engine(cfg)
    store = engine_mod.Store(engine)
    inst = engine_mod.Instance(store, engine_mod.Module(engine, MODULE), [])
    try:
        return ("ok", inst.exports(store)[name](store, *args))
    except engine_mod.Trap as t:
        return ("trap", str(t).split("wasm trap: ")[-1].splitlines()[0], t.trap_code.name)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_calls_side_by_side(strategy: str) -> None:
    for name, args in CALLS:
        _outcome.strategy = strategy  # type: ignore[attr-defined]
        want = _outcome(wasmtime, name, args)
        got = _outcome(wasmlite, name, args)
        assert got == want, (name, args)


INVALID = [
    # a nullable reference where a non-null one is needed
    '(module (type $t (func (result i32))) (func (param (ref null $t)) (result (ref $t)) '
    '(local.get 0)))',
    # funcref is not a (ref null $t)
    '(module (type $t (func (result i32))) (func (param funcref) (result i32) '
    '(call_ref $t (local.get 0))))',
    # externref is not a (ref func)
    '(module (func (param externref) (result (ref func)) (local.get 0)))',
    # reading a non-defaultable local before it is set
    '(module (func (local (ref func)) (local.get 0) drop))',
    # set inside a block only
    '(module (elem declare func 0) (func (local (ref func)) '
    '(block (local.set 0 (ref.func 0))) (local.get 0) drop))',
    # a non-defaultable table needs an initializer
    '(module (table 1 (ref func)) (func))',
    # the initializer's type
    '(module (type $t (func (result i32))) (func $f (result i64) (i64.const 1)) '
    '(table 1 (ref null $t) (ref.func $f)))',
    # br_on_null of a number, br_on_non_null to a label without a reference
    '(module (func (result i32) (br_on_null 0 (i32.const 1)) (i32.const 0)))',
    '(module (func (param i32) (unreachable) (br_on_non_null 0)))',
    '(module (func (param funcref) (block (result i32) (br_on_non_null 0 (local.get 0))) '
    '(drop)))',
    # unknown types
    '(module (type (func (param (ref null 1)))) (type (func)))',
    '(module (func (call_ref 5 (ref.null func))))',
    '(module (func (local (ref null 5))))',
    # return_call_ref's results must be the function's
    '(module (type $t (func (result i64))) (func (result i32) '
    '(return_call_ref $t (ref.null $t))))',
]


def _message(mod, wat: str, **switches: bool) -> str | None:
    cfg = mod.Config()
    for k, v in switches.items():
        setattr(cfg, k, v)
    try:
        mod.Module(mod.Engine(cfg), wat)
    except Exception as e:  # noqa: BLE001 - the message is what is compared
        return str(e).strip().splitlines()[-1].strip()
    return None


def _core(msg: str | None) -> str | None:
    """The validator's message without the offset and the wrapping lines, which the two
    runtimes word differently."""
    if msg is None:
        return None
    if "Invalid input WebAssembly code at offset" in msg:
        msg = msg.split(": ", 2)[-1] if msg.count(": ") >= 2 else msg
    return msg.split(" (at offset")[0].strip()


@pytest.mark.parametrize("wat", INVALID)
def test_invalid_modules(wat: str) -> None:
    want = _message(wasmtime, wat)
    got = _message(wasmlite, wat)
    assert want is not None and got is not None, (want, got)
    w, g = _core(want), _core(got)
    # wasmparser names the types ("expected (ref $type), found funcref"); wasmlite says
    # "type mismatch" with the types only where a typed reference is involved
    assert g == w or (w.startswith("type mismatch") and g.startswith("type mismatch")), \
        (w, g)


SWITCH_OFF = [
    ('(module (type $t (func (result i32))) (func (result i32) '
     '(call_ref $t (ref.null $t))))', "function references support is not enabled"),
    ('(module (func (param (ref func))))',
     "function references required for non-nullable types"),
    ('(module (table 1 funcref (ref.null func)))',
     "tables with expression initializers require the function-references proposal"),
    ('(module (func (ref.as_non_null (ref.null func)) drop))',
     "function references support is not enabled"),
]


@pytest.mark.parametrize("wat,message", SWITCH_OFF)
def test_switch_off(wat: str, message: str) -> None:
    want = _message(wasmtime, wat, wasm_function_references=False)
    got = _message(wasmlite, wat, wasm_function_references=False)
    assert want is not None and message in want
    assert got is not None and message in got
    # on (the default) both accept it
    assert _message(wasmtime, wat) is None
    assert _message(wasmlite, wat) is None


def test_nullable_typed_ref_accepted_with_switch_off() -> None:
    """As in Wasmtime, ``(ref null $t)`` alone is GC's too: accepted while ``wasm_gc``
    is on, rejected with both off."""
    wat = '(module (type (func)) (func (param (ref null 0))))'
    assert _message(wasmtime, wat, wasm_function_references=False) is None
    assert _message(wasmlite, wat, wasm_function_references=False) is None
    got = _message(wasmlite, wat, wasm_function_references=False, wasm_gc=False)
    assert got is not None and "function references required" in got


def test_export_types_like_wasmtime() -> None:
    """wasmtime-py 50 cannot describe typed references in a ``ValType``; wasmlite
    raises its message (instead of crashing), and ``(ref null func)`` is funcref."""
    e = wasmlite.Engine()
    m = wasmlite.Module(e, '(module (type $t (func)) (func (export "f") (param (ref $t))) '
                           '(func (export "g") (param (ref null func))))')
    f, g = m.exports
    with pytest.raises(wasmlite.WasmtimeError, match="non-funcref references"):
        f.type.params  # noqa: B018
    assert [str(p) for p in g.type.params] == ["funcref"]


@pytest.mark.parametrize("wat", ['(module (func (param (ref null any))))',
                                 '(module (func (param (ref eq))))',
                                 '(module (func (param nullfuncref)))'])
def test_gc_heap_types_rejected_clearly(wat: str) -> None:
    """The GC proposal's heap types are not implemented: binary (abbreviated or not)
    and text say so."""
    b = wasmtime.wat2wasm(wat)
    with pytest.raises(wasmlite.WasmtimeError, match="GC proposal"):
        wasmlite.Module(wasmlite.Engine(), b)
    with pytest.raises(wasmlite.WasmtimeError, match="GC proposal"):
        wasmlite.Module(wasmlite.Engine(), wat)
