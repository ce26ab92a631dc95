"""On-stack replacement (``compiler/lazy.py``, ``FunctionTranslator.osr_tick``).

A first-tier frame whose loop runs hot moves, at that loop's header, into the OSR entry
the optimizing tier compiled for it, taking its locals and operand stack along.
Nothing observable may change: results, traps, backtraces, fuel and epochs are those of
eager compilation (``Config.strategy = "cranelift"``), which never transfers.

To make the transfer happen at a known point, the loop calls a host function every
iteration, and at iteration :data:`WAIT_AT` (past the hotness threshold, so the OSR
entry has been asked for) it waits until the optimizing tier is idle; within
``OSR_RETRY`` more iterations the frame moves."""

from __future__ import annotations

import pytest

import wasmlite
from wasmlite.compiler import lazy
from wasmlite.compiler.translate import OSR_RETRY

#: the iteration at which the host waits for the optimizing tier
WAIT_AT = lazy.HOT_THRESHOLD + 1000
#: iterations of a run: enough for the transfer to happen after WAIT_AT
N = WAIT_AT + OSR_RETRY + 2000

#: ``run(n, trap_at, interrupt_at)`` loops ``n`` times inside an ``if`` inside a block,
#: with values of two enclosing frames below the loop on the operand stack, loop
#: parameters (``i32 i64``), and locals of every number type and ``v128`` (a NaN with a
#: payload among them); it traps "out of bounds" at iteration ``trap_at`` and bumps the
#: engine's epoch (host) at ``interrupt_at``.  Four results.
WAT = """
(module
  (import "host" "tick" (func $tick (param i32)))
  (memory 1)
  (global $g (mut i64) (i64.const 0))
  (type $lp (func (param i32 i64) (result i32 i64)))
  (func $helper (param i32) (result i32) (i32.mul (local.get 0) (i32.const 3)))
  (func (export "run") (param $n i32) (param $trap_at i32) (result i64 i32 f64 i32)
    (local $i i32) (local $f f32) (local $d f64) (local $v v128) (local $acc i64)
    (local $t32 i32) (local $t64 i64)
    (local.set $f (f32.reinterpret_i32 (i32.const 0x7fa00001)))
    (local.set $v (v128.const i32x4 1 2 3 4))
    (local.set $d (f64.const 0.25))
    i64.const 5
    (block $outer (result i32 i64)
      f64.const 2.5
      (if (result i32 i64) (i32.const 1)
        (then
          i32.const 0
          i64.const 0
          (loop $l (type $lp)
            (local.set $acc) (local.set $i)
            (call $tick (local.get $i))
            (if (i32.eq (local.get $i) (local.get $trap_at))
              (then (drop (i32.load (i32.const 70000)))))
            (local.set $v (i32x4.add (local.get $v) (v128.const i32x4 1 1 1 1)))
            (local.set $d (f64.add (local.get $d) (f64.const 1)))
            (global.set $g (i64.add (global.get $g) (i64.const 1)))
            (i32.add (local.get $i) (i32.const 1))
            (i64.add (local.get $acc) (i64.extend_i32_u (call $helper (local.get $i))))
            (br_if $l (i32.lt_u (i32.add (local.get $i) (i32.const 1)) (local.get $n)))))
        (else (i32.const 0) (i64.const 0)))
      (local.set $t64) (local.set $t32)
      (local.set $d (f64.add (local.get $d)))
      (local.get $t32) (local.get $t64))
    (local.set $acc) (local.set $i)
    (i64.add (local.get $acc))
    (i32.reinterpret_f32 (local.get $f))
    (f64.add (local.get $d) (f64.convert_i32_s (i32x4.extract_lane 3 (local.get $v))))
    (i32.add (i32.wrap_i64 (global.get $g)) (local.get $i))))
"""


#: :data:`WAT` for the baseline compiler (``Config.strategy = "winch"``), which takes
#: scalar functions of at most one result: no ``v128``, no loop parameters; values of
#: two enclosing frames below the loop, a NaN payload, more integer locals than it
#: keeps in registers.  One ``f64`` result that sums everything (exactly).
SCALAR_WAT = """
(module
  (import "host" "tick" (func $tick (param i32)))
  (memory 1)
  (global $g (mut i64) (i64.const 0))
  (func $helper (param i32) (result i32) (i32.mul (local.get 0) (i32.const 3)))
  (func (export "run") (param $n i32) (param $trap_at i32) (result f64)
    (local $i i32) (local $f f32) (local $d f64) (local $acc i64)
    (local $a i32) (local $b i32) (local $c i32) (local $e i64) (local $r f64)
    (local.set $f (f32.reinterpret_i32 (i32.const 0x7fa00001)))
    (local.set $d (f64.const 0.25))
    (local.set $e (i64.const 11))
    i64.const 5
    (block $outer (result f64)
      (f64.add (local.get $d) (f64.const 2.5))
      (if (result f64) (i32.const 1)
        (then
          (loop $l
            (call $tick (local.get $i))
            (if (i32.eq (local.get $i) (local.get $trap_at))
              (then (drop (i32.load (i32.const 70000)))))
            (local.set $d (f64.add (local.get $d) (f64.const 1)))
            (global.set $g (i64.add (global.get $g) (i64.const 1)))
            (local.set $acc (i64.add (local.get $acc)
                                     (i64.extend_i32_u (call $helper (local.get $i)))))
            (local.set $a (i32.add (local.get $a) (i32.const 1)))
            (local.set $b (i32.xor (local.get $b) (local.get $i)))
            (local.set $c (i32.add (local.get $c) (local.get $a)))
            (local.set $e (i64.add (local.get $e) (i64.const 2)))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
          (f64.const 0.5))
        (else (f64.const 0)))
      f64.add)
    (local.set $r)
    f64.convert_i64_s
    (f64.add (local.get $r))
    (f64.add (f64.convert_i64_u (local.get $acc)))
    (f64.add (f64.convert_i32_u (i32.reinterpret_f32 (local.get $f))))
    (f64.add (local.get $d))
    (f64.add (f64.convert_i64_s (global.get $g)))
    (f64.add (f64.convert_i32_u (local.get $b)))
    (f64.add (f64.convert_i32_u (local.get $c)))
    (f64.add (f64.convert_i64_s (local.get $e)))))
"""


#: :data:`SCALAR_WAT`'s counterpart with ``v128`` values, which the baseline compiler
#: keeps in 16-byte slots: ``v128`` locals (a NaN payload among the lanes), a ``v128``
#: constant and a ``v128`` slot below the loop, lanes, splats and a shuffle in it.  One
#: ``i64`` result that folds every lane.
SIMD_WAT = """
(module
  (import "host" "tick" (func $tick (param i32)))
  (memory 1)
  (func $first)   ;; "run" is defined function 1, as in the other modules
  (func (export "run") (param $n i32) (param $trap_at i32) (result i64)
    (local $i i32) (local $v v128) (local $w v128) (local $x i64)
    (local.set $v (v128.const i32x4 1 2 3 4))
    (local.set $w (v128.const i64x2 0x7ff4000000000001 -1))
    (v128.const i32x4 0x11111111 0x22222222 0x33333333 0x44444444)
    (i32x4.add (local.get $v) (local.get $v))
    (block $b (result v128)
      (loop $l
        (call $tick (local.get $i))
        (if (i32.eq (local.get $i) (local.get $trap_at))
          (then (drop (v128.load (i32.const 70000)))))
        (local.set $v (i32x4.add (local.get $v) (i32x4.splat (local.get $i))))
        (local.set $w (v128.xor (local.get $w)
          (i8x16.shuffle 4 5 6 7 0 1 2 3 28 29 30 31 24 25 26 27
                         (local.get $v) (local.get $w))))
        (local.set $x (i64.add (local.get $x) (i64x2.extract_lane 1 (local.get $w))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
      (local.get $w))
    v128.xor
    v128.xor
    (local.set $v)
    (i64.xor (i64x2.extract_lane 0 (local.get $v)) (i64x2.extract_lane 1 (local.get $v)))
    (i64.add (local.get $x))))
"""


def _session(strategy: str, trap_at: int = -1, interrupt_at: int = -1,
             fuel: bool = False, wat: str = WAT) -> tuple:
    """Run ``wat`` (:data:`WAT`) under ``strategy`` at opt level 2: ``(outcome, fuel
    left, transfers)``, where the outcome is the results or ``(trap code, frames)``
    with each frame's ``(func_index, module_offset)``."""
    config = wasmlite.Config()
    config.strategy = strategy
    config.opt_level = "2"
    config.consume_fuel = fuel
    config.epoch_interruption = interrupt_at >= 0
    engine = wasmlite.Engine(config)
    store = wasmlite.Store(engine)
    if fuel:
        store.set_fuel(10**9)
    if interrupt_at >= 0:
        store.set_epoch_deadline(1)

    def tick(i: int) -> None:
        if i == WAIT_AT:
            assert lazy.TIERUP.wait_idle(120)
        if i == interrupt_at:
            engine.increment_epoch()

    ty = wasmlite.FuncType([wasmlite.ValType.i32()], [])
    module = wasmlite.Module(engine, wat)
    inst = wasmlite.Instance(store, module, [wasmlite.Func(store, ty, tick)])
    run = inst.exports(store)["run"]
    try:
        outcome: object = run(store, N, trap_at)
    except wasmlite.Trap as t:
        outcome = (t.trap_code, [(f.func_index, f.module_offset) for f in t.frames])
    code = module._compiled
    transfers = code.osr_transfers if isinstance(code, lazy.LazyCode) else 0
    if strategy == "winch":
        # the frame that moved ran baseline code, not LLVM's first tier
        from wasmlite.compiler.baseline import BaselinePart

        run_def = 1   # defined function 1 ($helper is 0)
        assert any(isinstance(p, BaselinePart) and run_def in p.baseline for p in code.parts)
    return outcome, store.get_fuel() if fuel else None, transfers


_CASES = [(-1, -1, False), (N - 100, -1, False), (-1, N - 100, False), (-1, -1, True),
          (N - 100, -1, True)]
_IDS = ["results", "trap", "interrupt", "fuel", "fuel-trap"]


@pytest.mark.parametrize(("trap_at", "interrupt_at", "fuel"), _CASES, ids=_IDS)
def test_osr_changes_nothing_observable(trap_at: int, interrupt_at: int, fuel: bool) -> None:
    """Results (a NaN payload, a v128 lane, loop parameters, values below the loop),
    the trap and its frames, an epoch interrupt at a loop header and the fuel left are
    those of eager compilation — and the first-tier frame did move."""
    lazy_outcome, lazy_fuel, transfers = _session("auto", trap_at, interrupt_at, fuel)
    eager_outcome, eager_fuel, _ = _session("cranelift", trap_at, interrupt_at, fuel)
    assert transfers == 1
    assert lazy_outcome == eager_outcome
    assert lazy_fuel == eager_fuel
    if trap_at < 0 and interrupt_at < 0:
        assert eager_outcome[1] == 0x7fa00001


@pytest.mark.parametrize("wat", [SCALAR_WAT, SIMD_WAT], ids=["scalar", "simd"])
@pytest.mark.parametrize(("trap_at", "interrupt_at", "fuel"), _CASES, ids=_IDS)
def test_osr_from_baseline_code_changes_nothing_observable(
        trap_at: int, interrupt_at: int, fuel: bool, wat: str) -> None:
    """The same from a frame of the baseline compiler (``"winch"``): its locals (in
    registers and frame slots, 16-byte ones for ``v128``), the constants and slots below
    the loop and the fuel counter move into the OSR entry; the trap's frames are eager
    compilation's (the baseline frame is dropped from backtraces)."""
    lazy_outcome, lazy_fuel, transfers = _session("winch", trap_at, interrupt_at, fuel, wat)
    eager_outcome, eager_fuel, _ = _session("cranelift", trap_at, interrupt_at, fuel, wat)
    assert transfers == 1
    assert lazy_outcome == eager_outcome
    assert lazy_fuel == eager_fuel


def test_osr_entry_is_compiled_once_per_loop() -> None:
    """Two frames of the same function running the same hot loop (two calls) share one
    OSR entry; later calls run the optimized function itself."""
    config = wasmlite.Config()
    config.opt_level = "2"
    engine = wasmlite.Engine(config)
    store = wasmlite.Store(engine)
    ty = wasmlite.FuncType([wasmlite.ValType.i32()], [])

    def tick(i: int) -> None:
        if i == WAIT_AT:
            assert lazy.TIERUP.wait_idle(120)

    module = wasmlite.Module(engine, WAT)
    inst = wasmlite.Instance(store, module, [wasmlite.Func(store, ty, tick)])
    run = inst.exports(store)["run"]
    first = run(store, N, -1)
    code = module._compiled
    assert (code.osr_entries, code.osr_transfers) == (1, 1)
    assert lazy.TIERUP.wait_idle(120)
    assert list(run(store, N, -1)) == [first[0], first[1], first[2], first[3] + N]
    assert (code.osr_entries, code.osr_transfers) == (1, 1)


#: ``nest(n)``: an outer loop of 4 iterations, with an ``i64`` and an ``f64`` computed
#: from ``n`` on the operand stack below it, around an inner loop of ``n`` iterations; the frame moves in
#: the inner loop, and the OSR entry's outer loop then runs again (its header is
#: reached by the back edge only, so it carries the values below it itself)
NESTED_WAT = """
(module
  (import "host" "tick" (func $tick (param i32)))
  (func (export "nest") (param $n i32) (result i64)
    (local $i i32) (local $j i32) (local $acc i64)
    (i64.extend_i32_u (local.get $n))
    (f64.convert_i32_u (local.get $n))
    (loop $outer
      (local.set $j (i32.const 0))
      (loop $inner
        (call $tick (i32.add (i32.mul (local.get $i) (local.get $n)) (local.get $j)))
        (local.set $acc (i64.add (local.get $acc) (i64.extend_i32_u (local.get $j))))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br_if $inner (i32.lt_u (local.get $j) (local.get $n))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $outer (i32.lt_u (local.get $i) (i32.const 4))))
    i64.trunc_f64_s
    i64.add
    local.get $acc
    i64.add))
"""


def test_osr_in_a_loop_nest() -> None:
    """The frame moves inside the inner loop of the first outer iteration; the outer
    loop's later iterations run in the OSR entry, with the values below it intact."""
    n = WAIT_AT + OSR_RETRY + 500
    results = []
    for strategy in ("auto", "cranelift"):
        config = wasmlite.Config()
        config.strategy = strategy
        config.opt_level = "2"
        engine = wasmlite.Engine(config)
        store = wasmlite.Store(engine)

        def tick(k: int) -> None:
            if k == WAIT_AT:
                assert lazy.TIERUP.wait_idle(120)

        ty = wasmlite.FuncType([wasmlite.ValType.i32()], [])
        module = wasmlite.Module(engine, NESTED_WAT)
        inst = wasmlite.Instance(store, module, [wasmlite.Func(store, ty, tick)])
        results.append(inst.exports(store)["nest"](store, n))
        if strategy == "auto":
            assert module._compiled.osr_transfers == 1
    assert results[0] == results[1] == 2 * n + 4 * (n * (n - 1) // 2)


@pytest.mark.parametrize("wat", [WAT, NESTED_WAT], ids=["blocks", "nest"])
def test_every_loop_has_a_valid_osr_entry(wat: str) -> None:
    """An OSR entry compiles (valid IR, LLVM's verifier) for every loop of the test
    modules, at every optimizing level, in both bounds-check modes."""
    from wasmlite.binary import opcodes as op
    from wasmlite.compiler import compile_osr

    module = wasmlite.Module(wasmlite.Engine(), wat)
    info, bodies = module._info, module._compiled.bodies
    loops = [(i, off) for i, body in enumerate(bodies) for o, _imm, off in body if o == op.LOOP]
    assert loops
    for opt in ("1", "2", "s"):
        for guard in (None, module._engine._signals_tls_key):
            for i, off in loops:
                code = compile_osr(info, bodies, i, off, opt, guard)
                assert code.function_addrs[i]

