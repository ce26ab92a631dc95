"""Lazy, tiered compilation (``compiler/lazy.py``, ``Config.strategy = "auto"``), with
either first tier.

Functions are compiled on their first call, in batches, behind per-function thunks and
slots; hot ones are recompiled by the optimizing tier in the background.  Behaviour must
not change: results, traps and backtraces are those of eager compilation
(``Config.strategy = "cranelift"``)."""

from __future__ import annotations

import threading

import pytest

import wasmlite
from wasmlite.compiler import lazy


@pytest.fixture(autouse=True, params=["baseline", "llvm"])
def first_tier(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test with both first tiers: the baseline compiler (the default) and LLVM's
    (``WASMLITE_FIRST_TIER=llvm``, which the default keeps for the functions the
    baseline compiler does not take)."""
    monkeypatch.setenv("WASMLITE_FIRST_TIER", request.param)
    return request.param


def _engine(strategy: str = "auto", opt: str = "2") -> wasmlite.Engine:
    config = wasmlite.Config()
    config.strategy = strategy
    config.opt_level = opt
    return wasmlite.Engine(config)


def _many_functions(n: int, body_instrs: int) -> str:
    """A module exporting ``f0``..``f{n-1}``, each ``i32 -> i32`` adding its index
    ``body_instrs // 3`` times, and ``chain`` calling ``f0`` then ``f1``."""
    adds = " ".join(f"local.get 0 i32.const {1} i32.add local.set 0"
                    for _ in range(max(1, body_instrs // 4)))
    funcs = "\n".join(f'(func $f{i} (export "f{i}") (param i32) (result i32) {adds} '
                      f"local.get 0 i32.const {i} i32.add)" for i in range(n))
    return f"""(module {funcs}
      (func (export "chain") (param i32) (result i32)
        local.get 0 call $f0 call $f1))"""


def test_nothing_is_compiled_before_the_first_call() -> None:
    engine = _engine()
    module = wasmlite.Module(engine, _many_functions(3, 8))
    code = module._compiled
    assert isinstance(code, lazy.LazyCode)
    assert code.batches == 0 and code.compiled == 0
    store = wasmlite.Store(engine)
    exports = wasmlite.Instance(store, module, []).exports(store)
    assert code.batches == 0
    assert exports["f2"](store, 10) == 10 + 2 + 2   # two adds of 1, then + index
    # a small module is one batch: everything left fits in BATCH_INSTRS
    assert code.batches == 1 and code.compiled == 4
    assert exports["chain"](store, 0) == (0 + 2 + 0) + 2 + 1
    assert code.batches == 1


def test_big_modules_compile_only_what_runs() -> None:
    per_func = lazy.BATCH_INSTRS // 4
    engine = _engine(opt="0")
    module = wasmlite.Module(engine, _many_functions(12, per_func))
    code = module._compiled
    # validated without keeping a body; each is decoded when it is compiled
    assert code.bodies.decoded == 0
    store = wasmlite.Store(engine)
    exports = wasmlite.Instance(store, module, []).exports(store)
    adds = max(1, per_func // 4)
    assert exports["chain"](store, 1) == (1 + adds + 0) + adds + 1
    # chain, f0 and f1 (reached through chain's direct calls), not the other ten
    compiled = [i for i in range(code.num_funcs) if code.is_compiled(i)]
    assert 12 in compiled and 0 in compiled and 1 in compiled
    assert len(compiled) < 12
    # each decoded once, for its compilation, and not kept after it
    assert code.bodies.decodes == len(compiled)
    assert code.bodies.decoded == 0
    assert exports["f7"](store, 0) == adds + 7
    assert code.is_compiled(7)


def test_hot_functions_move_to_the_optimizing_tier() -> None:
    engine = _engine()
    module = wasmlite.Module(engine, """(module
      (func $fib (export "fib") (param i32) (result i32)
        local.get 0 i32.const 2 i32.lt_u
        if (result i32) local.get 0
        else local.get 0 i32.const 1 i32.sub call $fib
             local.get 0 i32.const 2 i32.sub call $fib i32.add end))""")
    code = module._compiled
    store = wasmlite.Store(engine)
    fib = wasmlite.Instance(store, module, []).exports(store)["fib"]
    assert fib(store, 20) == 6765            # 21,891 calls: past HOT_THRESHOLD
    assert lazy.TIERUP.wait_idle(120)
    assert code.tier2_batches == 1
    first_tier = code.parts[0].function_addrs[0]
    assert code.slots[0] != first_tier        # the slot points at the optimized code
    assert fib(store, 25) == 75025


def _trap_frames(strategy: str, opt: str) -> tuple[str, list[tuple[int, int]]]:
    engine = _engine(strategy, opt)
    module = wasmlite.Module(engine, """(module
      (func $inner (param i32) (result i32) i32.const 1 local.get 0 i32.div_u)
      (func $middle (param i32) (result i32) local.get 0 call $inner i32.const 1 i32.add)
      (func (export "outer") (param i32) (result i32) local.get 0 call $middle))""")
    store = wasmlite.Store(engine)
    outer = wasmlite.Instance(store, module, []).exports(store)["outer"]
    assert outer(store, 1) == 2
    with pytest.raises(wasmlite.Trap) as info:
        outer(store, 0)
    return (str(info.value.trap_code),
            [(f.func_index, f.module_offset) for f in info.value.frames])


@pytest.mark.parametrize("opt", ["0", "2"])
def test_traps_and_backtraces_as_when_compiled_eagerly(opt: str) -> None:
    lazy_trap = _trap_frames("auto", opt)
    assert lazy_trap == _trap_frames("cranelift", opt)
    assert lazy_trap[0] == "TrapCode.INTEGER_DIVISION_BY_ZERO"


def test_threads_calling_the_same_new_function_share_one_batch() -> None:
    engine = _engine(opt="0")
    module = wasmlite.Module(engine, _many_functions(2, 40))
    code = module._compiled
    results: list[int] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            store = wasmlite.Store(engine)
            f = wasmlite.Instance(store, module, []).exports(store)["f1"]
            results.append(f(store, 5))
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=run) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert results == [5 + 10 + 1] * 6
    assert code.batches == 1


def test_a_failed_compilation_raises_and_the_process_lives(
        monkeypatch: pytest.MonkeyPatch) -> None:
    engine = _engine()
    module = wasmlite.Module(engine, _many_functions(2, 4))
    code = module._compiled

    def broken(funcs: list[int], hotness: object = None, **options: object) -> object:
        raise RuntimeError("no code today")

    monkeypatch.setattr(code, "_compile_batch", broken)
    store = wasmlite.Store(engine)
    f0 = wasmlite.Instance(store, module, []).exports(store)["f0"]
    with pytest.raises(wasmlite.WasmtimeError, match="no code today"):
        f0(store, 1)
    monkeypatch.undo()
    assert f0(store, 1) == 2   # compiled now


def test_eager_strategy_compiles_everything_first() -> None:
    module = wasmlite.Module(_engine("cranelift"), _many_functions(2, 4))
    assert not isinstance(module._compiled, lazy.LazyCode)
    assert all(module._compiled.function_addrs)


def test_serializing_a_lazy_module_compiles_it_whole() -> None:
    engine = _engine()
    module = wasmlite.Module(engine, _many_functions(3, 8))
    loaded = wasmlite.Module.deserialize(engine, module.serialize())
    assert not isinstance(loaded._compiled, lazy.LazyCode)
    store = wasmlite.Store(engine)
    assert wasmlite.Instance(store, loaded, []).exports(store)["f1"](store, 3) == 3 + 2 + 1
