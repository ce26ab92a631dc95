"""The baseline compiler (``compiler/baseline``, ``Config.strategy = "winch"``).

* the scalar spec scripts under ``strategy="winch"``, in both bounds-check modes
  (each file in its own process: ``tests/baseline_wast.py``);
* traps and backtrace offsets side by side with wasmtime-py, in both modes;
* stack exhaustion (deep recursion, huge frames);
* the fallback predicate, and calls across the tiers: baseline -> LLVM -> baseline,
  host functions, ``call_indirect``, tier-up to LLVM of a hot function.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import wasmtime

import wasmlite
from wasmlite.binary.decoder import decode_module, read_function_body
from wasmlite.compiler import baseline
from wasmlite.compiler.lazy import TIERUP
from wasmlite.runtime import signals

sys.path.insert(0, str(Path(__file__).resolve().parent))
from conftest import shared_dir, subprocess_timeout  # noqa: E402

SPEC_DIR = shared_dir() / "wasm-spec" / "2.0"
#: the scalar scripts run under the baseline compiler
SCALAR = [
    "address", "align", "block", "br", "br_if", "br_table", "bulk", "call",
    "call_indirect", "conversions", "data", "elem", "endianness", "exports", "f32",
    "f32_bitwise", "f32_cmp", "f64", "f64_bitwise", "f64_cmp", "fac", "float_exprs",
    "float_literals", "float_memory", "float_misc", "forward", "func", "func_ptrs",
    "global", "i32", "i64", "if", "imports", "int_exprs", "int_literals", "labels",
    "left-to-right", "linking", "load", "local_get", "local_set", "local_tee", "loop",
    "memory", "memory_copy", "memory_fill", "memory_grow", "memory_init",
    "memory_redundancy", "memory_size", "memory_trap", "names", "nop", "ref_func",
    "ref_is_null", "ref_null", "return", "select", "skip-stack-guard-page", "stack",
    "start", "store", "switch", "table", "table_copy", "table_fill", "table_get",
    "table_grow", "table_init", "table_set", "table_size", "traps", "unreachable",
    "unreached-valid", "unwind",
]
#: scripts also run with explicit bounds checks
EXPLICIT = ["address", "align", "bulk", "call_indirect", "endianness", "float_memory",
            "load", "memory", "memory_copy", "memory_fill", "memory_grow", "memory_init",
            "memory_trap", "store", "traps"]
#: the SIMD scripts: the baseline compiler takes the functions whose SIMD instructions
#: are in ``baseline/simd.py`` (681 of the 1,400 these scripts compile), LLVM the rest
SIMD = sorted(p.stem for p in SPEC_DIR.glob("simd_*.wast"))
#: SIMD scripts also run with explicit bounds checks
SIMD_EXPLICIT = ["simd_address", "simd_align", "simd_load", "simd_load_splat",
                 "simd_load_zero", "simd_store"]
#: "file:line" -> reason, for commands that fail under the baseline compiler
KNOWN_FAILURES: dict[str, str] = {}
HELPER = Path(__file__).resolve().parent / "baseline_wast.py"

MODES = [pytest.param(True, id="guard", marks=pytest.mark.skipif(
    not signals.supported(), reason="guard pages need Linux on x86-64")),
    pytest.param(False, id="explicit")]


def _run_script(name: str, signals_mode: bool) -> dict:
    path = SPEC_DIR / f"{name}.wast"
    if not path.exists():
        pytest.skip(f"no {path}")
    cmd = [sys.executable, str(HELPER), "--signals", str(int(signals_mode)), str(path)]
    proc = subprocess.run(cmd, capture_output=True, timeout=subprocess_timeout())
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")[-2000:]
    return json.loads(proc.stdout)["files"][0]


def _check_script(name: str, signals_mode: bool) -> None:
    result = _run_script(name, signals_mode)
    print(f"{name}.wast: {result['passed']} passed, {result['failed']} failed")
    bad = [f"{name}.wast:{o['line']}: {o['command']}: {o.get('message', '')}"
           for o in result["outcomes"]
           if not o["passed"] and f"{name}.wast:{o['line']}" not in KNOWN_FAILURES]
    assert not bad, "\n".join(bad[:30])


@pytest.mark.parametrize("name", SCALAR)
def test_spec_script(name: str) -> None:
    _check_script(name, signals.supported())


@pytest.mark.parametrize("name", EXPLICIT)
def test_spec_script_explicit_bounds(name: str) -> None:
    _check_script(name, False)


@pytest.mark.parametrize("name", SIMD)
def test_simd_spec_script(name: str) -> None:
    _check_script(name, signals.supported())


@pytest.mark.parametrize("name", SIMD_EXPLICIT)
def test_simd_spec_script_explicit_bounds(name: str) -> None:
    _check_script(name, False)


# -- helpers ---------------------------------------------------------------------------
def _engine(guard: bool = True, opt: str = "2", **flags: Any) -> wasmlite.Engine:
    config = wasmlite.Config()
    config.strategy = "winch"
    config.opt_level = opt
    config.signals_based_traps = guard
    for k, v in flags.items():
        setattr(config, k, v)
    return wasmlite.Engine(config)


def _parts(module: wasmlite.Module) -> list[Any]:
    return [p for p in module._compiled.parts if isinstance(p, baseline.BaselinePart)]


def _baseline_funcs(module: wasmlite.Module) -> set[int]:
    return {i for p in _parts(module) for i in p.baseline}


def _frames(trap: Any) -> list[tuple[int, str | None, int, int]]:
    return [(f.func_index, f.func_name, f.func_offset, f.module_offset)
            for f in trap.frames]


def _both(wat: str, export: str, *args: Any, guard: bool = True,
          imports: tuple = ()) -> tuple[Any, Any, wasmlite.Module]:
    """Call ``export`` in wasmlite (winch) and wasmtime-py: ``(wasmlite outcome,
    wasmtime outcome, wasmlite module)``, an outcome being the result or the trap."""
    engine = _engine(guard)
    store = wasmlite.Store(engine)
    module = wasmlite.Module(engine, wat)
    inst = wasmlite.Instance(store, module, [f(store) for f in imports])
    try:
        mine = inst.exports(store)[export](store, *args)
    except wasmlite.Trap as e:
        mine = e
    wengine = wasmtime.Engine()
    wstore = wasmtime.Store(wengine)
    winst = wasmtime.Instance(wstore, wasmtime.Module(wengine, wat), [])
    try:
        theirs = winst.exports(wstore)[export](wstore, *args)
    except wasmtime.Trap as e:
        theirs = e
    return mine, theirs, module


BT_WAT = """
(module $bt
  (memory 1)
  (table 2 funcref)
  (elem (i32.const 0) $callee)
  (type $t (func (param i32) (result i32)))
  (func $callee (param i32) (result i32)
    (i32.div_u (i32.const 100) (local.get 0)))
  (func $twice (export "twice") (param i32 i32) (result i32)
    (i32.add (call $callee (local.get 0)) (call $callee (local.get 1))))
  (func $via_table (export "via_table") (param i32) (result i32)
    (call_indirect (type $t) (local.get 0) (local.get 0)))
  (func $load (param i32) (result i32) (i32.load offset=8 (local.get 0)))
  (func $load_caller (export "load") (param i32) (result i32)
    (i32.add (i32.const 1) (call $load (local.get 0))))
  (func $store (export "store") (param i32 i64)
    (i64.store16 offset=3 (local.get 0) (local.get 1)))
  (func $unreach (export "unreach") nop unreachable)
  (func $trunc (export "trunc") (param f64) (result i32) (i32.trunc_f64_s (local.get 0)))
  (func $ovf (export "ovf") (param i64) (result i64)
    (i64.div_s (local.get 0) (i64.const -1)))
  (func $rem (export "rem") (param i32 i32) (result i32) (i32.rem_s (local.get 0) (local.get 1)))
  (func $wrongtype (export "wrongtype") (call_indirect (param i64) (i64.const 1) (i32.const 0)))
  (func $vec (param i32) (result i32) (local v128)  ;; left to LLVM (float SIMD)
    (drop (f32x4.abs (local.get 1)))
    (call $callee (local.get 0)))
  (func $cross (export "cross") (param i32) (result i32)
    (i32.add (i32.const 1) (call $vec (local.get 0)))))
"""

BT_CALLS = [("twice", (0, 1)), ("twice", (1, 0)), ("twice", (3, 4)),
            ("via_table", (0,)), ("via_table", (1,)), ("via_table", (2,)),
            ("load", (65536,)), ("load", (65528,)), ("load", (65527,)), ("load", (-1,)),
            ("store", (65534, 7)), ("store", (65533, 7)), ("unreach", ()),
            ("trunc", (float("nan"),)), ("trunc", (3e9,)), ("trunc", (-2147483648.9,)),
            ("ovf", (-2 ** 63,)), ("ovf", (5,)), ("rem", (-2 ** 31, -1)), ("rem", (7, 0)),
            ("wrongtype", ()), ("cross", (0,)), ("cross", (5,))]


@pytest.mark.parametrize("guard", MODES)
@pytest.mark.parametrize(("export", "args"), BT_CALLS,
                         ids=[f"{e}{a}" for e, a in BT_CALLS])
def test_traps_and_backtraces_match_wasmtime(guard: bool, export: str,
                                             args: tuple) -> None:
    mine, theirs, module = _both(BT_WAT, export, *args, guard=guard)
    if isinstance(theirs, wasmtime.Trap):
        assert isinstance(mine, wasmlite.Trap), mine
        assert str(mine.trap_code).split(".")[-1] == str(theirs.trap_code).split(".")[-1]
        assert _frames(mine) == _frames(theirs)
    else:
        assert mine == theirs
    funcs = _baseline_funcs(module)
    assert 1 in funcs or 0 in funcs
    assert 11 not in funcs      # $vec went to LLVM


def test_fallback_predicate() -> None:
    wat = """(module (memory 1) (global $v (mut v128) (v128.const i64x2 0 0))
      (func $multi (result i32 i32) (i32.const 1) (i32.const 2))
      (func $calls_multi (result i32) (call $multi) (i32.add))
      (func $simd (result i32) (i32x4.extract_lane 0 (v128.const i32x4 1 2 3 4)))
      (func $vlocal (local v128))
      (func $vglobal (drop (global.get $v)))
      (func $vparam (param v128))
      (func $block (result i32) (block (result i32 i32) (i32.const 1) (i32.const 2)) (i32.add))
      (func $plain (param i32 i64 f32 f64) (result f64) (local.get 3))
      (func $fsimd (param v128) (result v128) (f32x4.add (local.get 0) (local.get 0)))
      (func $nine (param f32 f32 f32 f32 f32 f32 f32 f32 v128))
      (func $eight (param f32 f32 f32 f32 f32 f32 f32 v128 i32) (result v128) (local.get 7)))"""
    info = decode_module(wasmlite.wat2wasm(wat))
    bodies = [read_function_body(info, i) for i in range(len(info.codes))]
    reasons = [baseline.unsupported_reason(info, i, b) for i, b in enumerate(bodies)]
    # SIMD values and the integer SIMD instructions are the baseline compiler's; float
    # SIMD, v128 globals and v128 parameters past xmm7 are LLVM's
    assert reasons == ["multi-value result", "calls a multi-value type", None, None,
                       "v128", None, None, None, "v128", "v128", None]
    assert baseline.unsupported_reason(info, 7, bodies[7], consume_fuel=True,
                                       epoch_interruption=True) is None


def test_mixed_batch_runs_both_compilers() -> None:
    """A batch with baseline and LLVM functions calling each other both ways."""
    wat = """(module
      (func $multi (param i32) (result i32 i32) (local.get 0) (call $double (local.get 0)))
      (func $double (param i32) (result i32) (i32.mul (local.get 0) (i32.const 2)))
      (func $vec (param i32) (result i32) (local v128)
        (call $multi (local.get 0)) (i32.add) (drop (f32x4.abs (local.get 1))))
      (func (export "go") (param i32) (result i32)
        (i32.add (call $vec (local.get 0)) (i32.const 1000))))"""
    engine = _engine()
    store = wasmlite.Store(engine)
    module = wasmlite.Module(engine, wat)
    inst = wasmlite.Instance(store, module, [])
    assert inst.exports(store)["go"](store, 7) == 1021
    parts = _parts(module)
    assert {i for p in parts for i in p.baseline} == {1, 3}
    assert {i: r for p in parts for i, r in p.reasons.items()} == {
        0: "multi-value result", 2: "calls a multi-value type"}


def test_host_calls_and_call_indirect() -> None:
    wat = """(module
      (import "env" "add" (func $add (param i32 f64 i64 f32 i32 i32 i32 f64) (result f64)))
      (table 4 funcref) (elem (i32.const 1) $twice $host_sum)
      (type $un (func (param i32) (result i32)))
      (func $twice (param i32) (result i32) (i32.shl (local.get 0) (i32.const 1)))
      (func $host_sum (param i32) (result i32)
        (i32.trunc_f64_s (call $add (local.get 0) (f64.const 0.5) (i64.const 10)
          (f32.const 0.25) (i32.const 1) (i32.const 2) (i32.const 3) (f64.const 0.25))))
      (func $many (param i32 i32 i32 i32 i32 i32 i32 f64 f64 f64 f64 f64 f64 f64 f64 f64 f64)
        (result f64)
        (f64.add (f64.convert_i32_s (local.get 6)) (local.get 16)))
      (func (export "dispatch") (param i32 i32) (result i32)
        (call_indirect (type $un) (local.get 1) (local.get 0)))
      (func (export "many") (result f64)
        (call $many (i32.const 1) (i32.const 2) (i32.const 3) (i32.const 4) (i32.const 5)
          (i32.const 6) (i32.const 7) (f64.const 1) (f64.const 2) (f64.const 3)
          (f64.const 4) (f64.const 5) (f64.const 6) (f64.const 7) (f64.const 8)
          (f64.const 9) (f64.const 10.5))))"""
    engine = _engine()
    store = wasmlite.Store(engine)
    module = wasmlite.Module(engine, wat)
    ft = wasmlite.FuncType([wasmlite.ValType.i32(), wasmlite.ValType.f64(),
                            wasmlite.ValType.i64(), wasmlite.ValType.f32()]
                           + [wasmlite.ValType.i32()] * 3 + [wasmlite.ValType.f64()],
                           [wasmlite.ValType.f64()])
    add = wasmlite.Func(store, ft, lambda *a: float(sum(a)))
    inst = wasmlite.Instance(store, module, [add])
    ex = inst.exports(store)
    assert ex["dispatch"](store, 1, 21) == 42
    assert ex["dispatch"](store, 2, 4) == 21     # 4 + .5 + 10 + .25 + 6 + .25
    assert ex["many"](store) == 17.5
    for idx, code in ((0, wasmlite.TrapCode.INDIRECT_CALL_TO_NULL),
                      (4, wasmlite.TrapCode.TABLE_OUT_OF_BOUNDS)):
        with pytest.raises(wasmlite.Trap) as info:
            ex["dispatch"](store, idx, 1)
        assert info.value.trap_code == code
    assert _baseline_funcs(module) == {0, 1, 2, 3, 4}

    def boom(*_a: Any) -> float:
        raise ValueError("from the host")

    store2 = wasmlite.Store(engine)
    inst2 = wasmlite.Instance(store2, module, [wasmlite.Func(store2, ft, boom)])
    with pytest.raises(ValueError, match="from the host"):
        inst2.exports(store2)["dispatch"](store2, 2, 1)


@pytest.mark.parametrize("guard", MODES)
def test_stack_exhaustion(guard: bool) -> None:
    wat = """(module
      (func $rec (export "rec") (param i32) (result i32)
        (i32.add (call $rec (i32.add (local.get 0) (i32.const 1))) (i32.const 1)))
      (func $big (export "big") (param i32) (result i32) (local i64 i64 i64 i64)
        (local f64 f64 f64 f64 f64 f64 f64 f64 f64 f64 f64 f64 f64 f64 f64 f64 f64 f64)
        (if (result i32) (i32.eqz (local.get 0)) (then (i32.const 0))
          (else (call $big (i32.sub (local.get 0) (i32.const 1)))))))"""
    engine = _engine(guard)
    store = wasmlite.Store(engine)
    module = wasmlite.Module(engine, wat)
    ex = wasmlite.Instance(store, module, []).exports(store)
    for _ in range(2):
        with pytest.raises(wasmlite.Trap) as info:
            ex["rec"](store, 0)
        assert info.value.trap_code == wasmlite.TrapCode.STACK_OVERFLOW
        assert "call stack exhausted" in str(info.value)
        assert info.value.frames and info.value.frames[0].func_name == "rec"
    assert ex["big"](store, 1000) == 0
    with pytest.raises(wasmlite.Trap) as info:
        ex["big"](store, 10 ** 8)
    assert info.value.trap_code == wasmlite.TrapCode.STACK_OVERFLOW
    assert _baseline_funcs(module) == {0, 1}


def test_huge_frame_traps_instead_of_overrunning_the_stack() -> None:
    """A frame bigger than the margin below the stack limit (45,000 i64 locals =
    360 KiB, the margin is 256 KiB) must trap, not run past the end of the thread's stack (subprocess)."""
    code = r"""
import wasmlite
wat = '(module (func $f (export "f") (param i32) (result i32) (local ' + 'i64 ' * 45000 + \
      ') (if (result i32) (local.get 0) (then (call $f (i32.sub (local.get 0) (i32.const 1))))' \
      ' (else (i32.const 7)))))'
c = wasmlite.Config(); c.strategy = "winch"
e = wasmlite.Engine(c); s = wasmlite.Store(e)
f = wasmlite.Instance(s, wasmlite.Module(e, wat), []).exports(s)["f"]
print(f(s, 0))
try:
    f(s, 100000)
except wasmlite.Trap as t:
    print(t.trap_code)
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=subprocess_timeout())
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split() == ["7", "TrapCode.STACK_OVERFLOW"]


def test_hot_function_tiers_up_to_llvm() -> None:
    wat = """(module
      (func $sum (export "sum") (param i32) (result i64) (local i64)
        (block (loop
          (br_if 1 (i32.eqz (local.get 0)))
          (local.set 1 (i64.add (local.get 1) (i64.extend_i32_u (local.get 0))))
          (local.set 0 (i32.sub (local.get 0) (i32.const 1)))
          (br 0)))
        (local.get 1)))"""
    engine = _engine(opt="1")
    store = wasmlite.Store(engine)
    module = wasmlite.Module(engine, wat)
    f = wasmlite.Instance(store, module, []).exports(store)["sum"]
    assert f(store, 100000) == 5000050000
    assert TIERUP.wait_idle(120)
    code = module._compiled
    assert code.tier2_batches == 1
    assert not isinstance(code._part_at(code.slots[0] + 1), baseline.BaselinePart)
    assert f(store, 1000) == 500500


def test_big_hot_function_tiers_up_quickly_then_fully(monkeypatch: pytest.MonkeyPatch) -> None:
    """A hot function above ``lazy.OSR_BIG_INSTRS`` first gets LLVM's first-tier level,
    alone (seconds sooner on a huge function), then the optimizing level from the
    background queue; its long-running frame moves by OSR meanwhile.  The results
    stay right through all three codes."""
    from wasmlite.compiler import lazy

    monkeypatch.setattr(lazy, "OSR_BIG_INSTRS", 10)
    wat = """(module
      (func $sum (export "sum") (param i32) (result i64) (local i64)
        (block (loop
          (br_if 1 (i32.eqz (local.get 0)))
          (local.set 1 (i64.add (local.get 1) (call $f (local.get 0))))
          (local.set 0 (i32.sub (local.get 0) (i32.const 1)))
          (br 0)))
        (local.get 1))
      (func $f (param i32) (result i64) (i64.extend_i32_u (local.get 0))))"""
    engine = _engine(opt="2")
    store = wasmlite.Store(engine)
    module = wasmlite.Module(engine, wat)
    f = wasmlite.Instance(store, module, []).exports(store)["sum"]
    assert f(store, 3_000_000) == 3_000_000 * 3_000_001 // 2
    assert TIERUP.wait_idle(120)
    code = module._compiled
    assert code.big_instrs == 10
    # $sum (big): quick, then final; $f (small): one optimized batch
    assert code.tier2_batches == 3
    assert code.osr_entries >= 1
    assert f(store, 1000) == 500500


@pytest.mark.parametrize("guard", MODES)
def test_fuel_and_epochs(guard: bool) -> None:
    wat = """(module (memory 1)
      (func (export "spin") (param i32) (result i32)
        (loop (br_if 0 (local.tee 0 (i32.sub (local.get 0) (i32.const 1)))))
        (local.get 0))
      (func (export "fill") (param i32) (memory.fill (i32.const 0) (i32.const 1) (local.get 0))))"""
    engine = _engine(guard, consume_fuel=True)
    store = wasmlite.Store(engine)
    store.set_fuel(10_000)
    module = wasmlite.Module(engine, wat)
    ex = wasmlite.Instance(store, module, []).exports(store)
    wengine_cfg = wasmtime.Config()
    wengine_cfg.consume_fuel = True
    wengine = wasmtime.Engine(wengine_cfg)
    wstore = wasmtime.Store(wengine)
    wstore.set_fuel(10_000)
    wex = wasmtime.Instance(wstore, wasmtime.Module(wengine, wat), []).exports(wstore)
    for name, arg in (("spin", 100), ("fill", 50), ("fill", 1000), ("spin", 3)):
        assert ex[name](store, arg) == wex[name](wstore, arg)
        assert store.get_fuel() == wstore.get_fuel()
    with pytest.raises(wasmlite.Trap) as info:
        ex["spin"](store, 10 ** 6)
    assert info.value.trap_code == wasmlite.TrapCode.OUT_OF_FUEL
    assert _baseline_funcs(module) == {0, 1}

    engine = _engine(guard, epoch_interruption=True)
    store = wasmlite.Store(engine)
    store.set_epoch_deadline(1)
    ex = wasmlite.Instance(store, wasmlite.Module(engine, wat), []).exports(store)
    assert ex["spin"](store, 1000) == 0
    engine.increment_epoch()
    with pytest.raises(wasmlite.Trap) as info:
        ex["spin"](store, 1000)
    assert info.value.trap_code == wasmlite.TrapCode.INTERRUPT


def test_cli_strategy_winch(tmp_path: Path) -> None:
    wat = tmp_path / "hello.wat"
    wat.write_text("""(module
      (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
      (memory (export "memory") 1) (data (i32.const 8) "hello\\n")
      (func (export "_start") (i32.store (i32.const 0) (i32.const 8))
        (i32.store (i32.const 4) (i32.const 6))
        (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 20)))))""")
    cmd = [sys.executable, "-m", "wasmlite.cli", "run", "-C", "strategy=winch", str(wat)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=subprocess_timeout())
    assert (proc.returncode, proc.stdout) == (0, "hello\n"), proc.stderr
    cmd[5] = "strategy=liftoff"
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=subprocess_timeout())
    assert proc.returncode == 1
    assert "expected `auto`, `cranelift` or `winch`" in proc.stderr


def test_config_strategy_winch() -> None:
    config = wasmlite.Config()
    config.strategy = "winch"
    assert config.strategy == "winch"
    engine = wasmlite.Engine(config)
    assert engine._lazy and engine._baseline
    with pytest.raises(wasmlite.WasmtimeError):
        config.strategy = "liftoff"


SIMD_FLOW_WAT = """
(module
  (memory 1)
  (func $mix (param f32 v128 f64 i32 v128) (result v128)
    (i32x4.add (local.get 1)
      (i32x4.add (local.get 4)
        (i32x4.splat (i32.add (local.get 3) (i32.trunc_f32_s (local.get 0)))))))
  (func (export "flow") (param $c i32) (result i64) (local $v v128) (local $w v128)
    (local.set $v (v128.const i32x4 1 2 3 4))
    (local.set $w (call $mix (f32.const 2.5) (local.get $v) (f64.const 1)
                             (local.get $c) (v128.const i64x2 -1 0x7ff4000000000001)))
    (block $b (result v128)
      (local.get $w)
      (br_if $b (local.get $c))
      (drop)
      (v128.const i8x16 9 8 7 6 5 4 3 2 1 0 1 2 3 4 5 6))
    (local.get $v)
    (local.get $c)
    (select (result v128))
    (if (result v128) (i32.and (local.get $c) (i32.const 2))
      (then (v128.not (local.get $w)))
      (else (i8x16.shuffle 31 30 29 28 27 26 25 24 7 6 5 4 3 2 1 0
                           (local.get $v) (local.get $w))))
    (v128.xor)
    (local.tee $v)
    (v128.store offset=16 (i32.const 0) (local.get $v))
    (i64x2.extract_lane 0)
    (i64.add (i64.load offset=24 (i32.const 0)))
    (i64.add (i64.extend_i32_u (v128.any_true (local.get $w))))
    (i64.add (i64.extend_i32_u (i32x4.all_true (local.get $w))))))
"""


@pytest.mark.parametrize("guard", MODES)
@pytest.mark.parametrize("c", [0, 1, 2, 3, -1])
def test_simd_values_through_control_flow_and_calls(guard: bool, c: int) -> None:
    """v128 parameters after floats and integers, a v128 result, block results, a
    br_if carrying a v128, select, if/else, tee, store and load: as wasmtime computes
    them, every function compiled by the baseline compiler."""
    mine, theirs, module = _both(SIMD_FLOW_WAT, "flow", c, guard=guard)
    assert mine == theirs
    assert _baseline_funcs(module) == {0, 1}
