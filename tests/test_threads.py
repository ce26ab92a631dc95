"""Threads and re-entrancy: Stores on several Python threads at once, epoch
interruption from another thread (which also shows wasm runs with the GIL released), a
Store busy on another thread, and nested Python -> wasm -> Python -> wasm calls with
traps propagating.

No test measures time (speed is ``benchmarks/threads.py``); waiting loops are bounded
by work counts, so a broken build fails instead of hanging.
"""

from __future__ import annotations

import threading

import pytest

import wasmlite as wl
from wasmlite.errors import TrapCode

HASH_WAT = """
(module
  (func (export "hash") (param $n i32) (param $seed i32) (result i32)
    (local $h i32)
    (local.set $h (local.get $seed))
    (block $done
      (loop $l
        (br_if $done (i32.eqz (local.get $n)))
        (local.set $h (i32.mul (i32.xor (local.get $h) (local.get $n)) (i32.const 0x01000193)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $l)))
    (local.get $h)))
"""

#: ``spin`` sets memory word 0 to 1 on entry, then counts its i64 budget down.  With
#: epoch interruption it reads the epoch counter every iteration, so LLVM keeps the loop.
SPIN_WAT = """
(module
  (memory (export "mem") 1)
  (func (export "spin") (param $budget i64)
    (i32.store (i32.const 0) (i32.const 1))
    (loop $l
      (local.set $budget (i64.sub (local.get $budget) (i64.const 1)))
      (br_if $l (i64.ne (local.get $budget) (i64.const 0))))))
"""

#: ``wait`` calls the host function ``poll`` until it returns non-zero.
WAIT_WAT = """
(module
  (import "" "poll" (func $poll (result i32)))
  (func (export "wait") (result i32)
    (local $n i32)
    (loop $l
      (local.set $n (i32.add (local.get $n) (i32.const 1)))
      (br_if $l (i32.eqz (call $poll))))
    (local.get $n)))
"""

#: about a minute of spinning: only reached when the test is broken
BUDGET = 1 << 36


def _py_hash(n: int, seed: int) -> int:
    h = seed
    while n:
        h = ((h ^ n) * 0x01000193) & 0xFFFFFFFF
        n -= 1
    return h - (1 << 32) if h & 0x80000000 else h


def _wait_for(mem, store, stop: threading.Event | None = None) -> None:
    """Poll memory word 0 until wasm has set it."""
    while mem.read(store, 0, 1) != b"\x01":
        if stop is not None and stop.is_set():
            return
        threading.Event().wait(0.001)


def test_stores_on_two_threads():
    engine = wl.Engine()
    module = wl.Module(engine, HASH_WAT)
    results: dict[int, list[int]] = {}
    errors: list[BaseException] = []

    def worker(k: int) -> None:
        try:
            store = wl.Store(engine)
            f = wl.Instance(store, module, []).exports(store)["hash"]
            results[k] = [f(store, 50_000 + i, k) for i in range(20)]
        except BaseException as e:  # noqa: BLE001 - reported by the main thread
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for k in range(4):
        assert results[k] == [_py_hash(50_000 + i, k) for i in range(20)]


def test_epoch_interrupt_from_another_thread():
    """Also shows that wasm runs without the GIL: the interrupting thread needs the GIL
    to see the loop start and to call ``increment_epoch``; were it held, ``spin`` would
    run out its budget and return instead of trapping."""
    cfg = wl.Config()
    cfg.epoch_interruption = True
    engine = wl.Engine(cfg)
    store = wl.Store(engine)
    store.set_epoch_deadline(1)
    ex = wl.Instance(store, wl.Module(engine, SPIN_WAT), []).exports(store)
    mem = ex["mem"]
    done = threading.Event()

    def interrupter() -> None:
        _wait_for(mem, store, done)
        engine.increment_epoch()

    t = threading.Thread(target=interrupter)
    t.start()
    try:
        with pytest.raises(wl.Trap) as info:
            ex["spin"](store, BUDGET)
    finally:
        done.set()
        t.join()
    assert info.value.trap_code == TrapCode.INTERRUPT
    # the store works again once it has a new deadline
    store.set_epoch_deadline(5)
    ex["spin"](store, 10)


def test_store_busy_on_another_thread():
    engine = wl.Engine()
    store = wl.Store(engine)
    started, release = threading.Event(), threading.Event()

    def poll() -> int:
        started.set()
        return int(release.wait(0.001))

    f = wl.Func(store, wl.FuncType([], [wl.ValType.i32()]), poll)
    ex = wl.Instance(store, wl.Module(engine, WAIT_WAT), [f]).exports(store)
    out: list[int] = []
    t = threading.Thread(target=lambda: out.append(ex["wait"](store)))
    t.start()
    try:
        assert started.wait(60)
        with pytest.raises(wl.WasmtimeError,
                           match="^store is already running WebAssembly on another thread$"):
            ex["wait"](store)
    finally:
        release.set()
        t.join()
    assert len(out) == 1 and out[0] >= 1
    assert ex["wait"](store) == 1  # free again, on this thread


REENTRY_WAT = """
(module
  (import "" "host" (func $host (param i32) (result i32)))
  (func (export "down") (param $n i32) (result i32)
    (if (result i32) (i32.eqz (local.get $n))
      (then (i32.const 1000))
      (else (i32.add (call $host (i32.sub (local.get $n) (i32.const 1))) (i32.const 1)))))
  (func (export "trap") (param i32) (result i32)
    (i32.div_u (i32.const 1) (local.get 0))))
"""


def _reentry(host_fn):
    engine = wl.Engine()
    store = wl.Store(engine)
    ref: list = []
    host = wl.Func(store, wl.FuncType([wl.ValType.i32()], [wl.ValType.i32()]),
                   lambda n: host_fn(store, ref[0], n))
    ex = wl.Instance(store, wl.Module(engine, REENTRY_WAT), [host]).exports(store)
    ref.append(ex)
    return store, ex


def test_reentrant_calls():
    store, ex = _reentry(lambda st, ex, n: ex["down"](st, n))
    assert ex["down"](store, 10) == 1010


def test_nested_trap_propagates():
    def host(st, ex, n):
        if n == 0:
            return ex["trap"](st, 0)  # traps three levels down
        return ex["down"](st, n)

    store, ex = _reentry(host)
    with pytest.raises(wl.Trap) as info:
        ex["down"](store, 3)
    assert info.value.trap_code == TrapCode.INTEGER_DIVISION_BY_ZERO
    # the store is usable afterwards
    assert ex["trap"](store, 1) == 1
    assert ex["down"](store, 0) == 1000


def test_nested_trap_caught_by_host():
    caught: list[TrapCode] = []

    def host(st, ex, n):
        try:
            ex["trap"](st, 0)
        except wl.Trap as e:
            caught.append(e.trap_code)
        return ex["down"](st, n) if n else 7

    store, ex = _reentry(host)
    assert ex["down"](store, 3) == 7 + 3
    assert caught == [TrapCode.INTEGER_DIVISION_BY_ZERO] * 3
