"""Instantiation from per-module templates (issue 9 item 5): memory images mapped
copy-on-write, element segments gathered natively, globals from a pre-packed block,
exports wrapped lazily, ``InstancePre``.

Each behaviour is asserted for both ``wasmtime`` (wasmtime-py, the reference) and
``wasmlite`` (parameter ``wt``), plus a few wasmlite-only checks that the fast paths
are the ones taken (or not) where the test says.
"""

from __future__ import annotations

import ctypes
from typing import Any

import pytest
import wasmtime as _wasmtime

import wasmlite as _wasmlite
from wasmlite.runtime import native
from wasmlite.runtime.template import InstanceTemplate

IMPLS = {"wasmtime": _wasmtime, "wasmlite": _wasmlite}
PAGE = 65536


@pytest.fixture(params=list(IMPLS))
def wt(request: pytest.FixtureRequest) -> Any:
    return IMPLS[request.param]


def wasm(text: str) -> bytes:
    return bytes(_wasmtime.wat2wasm(text))


def is_null(ref: Any) -> bool:
    """A null reference as ``Table.get`` returns it (a ``Val`` holding ``None``)."""
    return ref is None or getattr(ref, "value", 0) is None


#: data in three pages (one segment straddles a page boundary), memory of 4 pages
#: growable to 6, and accessors
IMAGE_WAT = f"""(module
  (memory (export "mem") 4 6)
  (data (i32.const 16) "first")
  (data (i32.const {PAGE - 2}) "straddle")
  (data (i32.const {2 * PAGE + 100}) "third")
  (data (i32.const 18) "XY")
  (func (export "load") (param i32) (result i32) (i32.load8_u (local.get 0)))
  (func (export "store") (param i32 i32) (i32.store8 (local.get 0) (local.get 1)))
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  (func (export "size") (result i32) (memory.size)))"""


@pytest.mark.parametrize("signals", [True, False], ids=["guard", "explicit"])
def test_memory_image_is_private_to_each_instance(wt: Any, signals: bool) -> None:
    config = wt.Config()
    if not signals:
        if wt is _wasmtime:
            pytest.skip("wasmlite's bounds-check modes")
        config.signals_based_traps = False
    engine = wt.Engine(config)
    module = wt.Module(engine, wasm(IMAGE_WAT))
    store = wt.Store(engine)
    a = wt.Instance(store, module, []).exports(store)
    b = wt.Instance(store, module, []).exports(store)
    for ex in (a, b):
        mem = ex["mem"]
        assert mem.read(store, 16, 21) == b"fiXYt"  # later segments over earlier ones
        assert mem.read(store, PAGE - 2, PAGE + 6) == b"straddle"
        assert mem.read(store, 2 * PAGE + 100, 2 * PAGE + 105) == b"third"
        assert mem.read(store, 3 * PAGE, 3 * PAGE + 8) == bytes(8)
    # writes through wasm and through the API stay in their instance
    a["store"](store, 16, ord("Z"))
    a["mem"].write(store, b"!!", 2 * PAGE + 100)
    assert a["load"](store, 16) == ord("Z") and b["load"](store, 16) == ord("f")
    assert b["mem"].read(store, 2 * PAGE + 100, 2 * PAGE + 102) == b"th"
    # a new instance still starts from the module's data
    c = wt.Instance(store, module, []).exports(store)
    assert c["mem"].read(store, 16, 21) == b"fiXYt"
    assert c["mem"].read(store, 2 * PAGE + 100, 2 * PAGE + 105) == b"third"
    # growing keeps the image and adds zero pages; bounds stay exact
    assert a["grow"](store, 2) == 4 and a["size"](store) == 6
    assert a["mem"].data_len(store) == 6 * PAGE
    assert a["load"](store, 6 * PAGE - 1) == 0
    assert a["load"](store, 16) == ord("Z")
    with pytest.raises(wt.Trap, match="out of bounds memory access"):
        a["load"](store, 6 * PAGE)
    with pytest.raises(wt.Trap, match="out of bounds memory access"):
        b["load"](store, 4 * PAGE)
    assert a["grow"](store, 1) == -1
    ptr = a["mem"].data_ptr(store)
    assert bytes(ptr[PAGE - 2:PAGE + 6]) == b"straddle"


def test_memory_image_paths() -> None:
    """Which modules get an image: constant, in-bounds segments of defined memories."""
    engine = _wasmlite.Engine()

    def images(text: str) -> Any:
        return _wasmlite.Module(engine, wasm(text))._instance_template().memory_images

    got = images(IMAGE_WAT)
    assert got is not None and len(got) == 1 and got[0].fd >= 0
    assert got[0].start == 0 and got[0].length == 2 * PAGE + 4096
    assert images("(module (memory 1))") == [None]
    assert images('(module (import "m" "m" (memory 1)) (data (i32.const 0) "a"))') is None
    assert images('(module (import "m" "g" (global i32)) (memory 1) '
                  '(data (global.get 0) "a"))') is None
    assert images(f'(module (memory 1) (data (i32.const {PAGE - 1}) "ab"))') is None
    assert images(f'(module (memory 1) (data (i32.const {PAGE + 1}) ""))') is None
    assert images(f'(module (memory 1) (data (i32.const {PAGE}) ""))') == [None]


@pytest.mark.parametrize("cow", [True, False])
def test_memory_init_cow_switch(wt: Any, cow: bool) -> None:
    """``Config.memory_init_cow = False`` copies the segments: same contents."""
    config = wt.Config()
    config.memory_init_cow = cow
    engine = wt.Engine(config)
    module = wt.Module(engine, wasm(IMAGE_WAT))
    store = wt.Store(engine)
    ex = wt.Instance(store, module, []).exports(store)
    assert ex["mem"].read(store, 16, 21) == b"fiXYt"
    assert ex["mem"].read(store, PAGE - 2, PAGE + 6) == b"straddle"
    assert ex["grow"](store, 1) == 4 and ex["load"](store, 2 * PAGE + 100) == ord("t")
    if wt is _wasmlite:
        images = module._instance_template().memory_images
        assert (images[0].fd >= 0) is cow


def test_failing_data_segment_applies_the_earlier_ones(wt: Any) -> None:
    """Spec 2.0: segments are applied in order; the first out of bounds traps."""
    engine = wt.Engine()
    store = wt.Store(engine)
    mem = wt.Memory(store, wt.MemoryType(wt.Limits(1, None)))
    module = wt.Module(engine, wasm(f"""(module (import "m" "mem" (memory 1))
        (data (i32.const 8) "applied")
        (data (i32.const {PAGE - 2}) "out of bounds")
        (data (i32.const 0) "never"))"""))
    with pytest.raises(wt.Trap, match="out of bounds memory access"):
        wt.Instance(store, module, [mem])
    assert mem.read(store, 0, 15) == bytes(8) + b"applied"


def test_data_not_applied_when_an_element_segment_traps(wt: Any) -> None:
    """Element segments come first: when one traps, the data segments of the defined
    memory are not applied, which a function left in an imported table can see."""
    engine = wt.Engine()
    store = wt.Store(engine)
    table = wt.Table(store, wt.TableType(wt.ValType.funcref(), wt.Limits(2, None)), None)
    module = wt.Module(engine, wasm(f"""(module
        (import "m" "t" (table 2 funcref))
        (memory 1)
        (data (i32.const 0) "\\2a")
        (data (i32.const {PAGE - 8}) "image too")
        (func $read (result i32) (i32.load8_u (i32.const 0)))
        (elem (i32.const 0) $read)
        (elem (i32.const 2) $read))"""))
    with pytest.raises(wt.Trap, match="out of bounds table access"):
        wt.Instance(store, module, [table])
    read = table.get(store, 0)
    assert read is not None and read(store) == 0
    assert is_null(table.get(store, 1))


def test_constant_offsets_from_imported_globals(wt: Any) -> None:
    engine = wt.Engine()
    store = wt.Store(engine)
    g = wt.Global(store, wt.GlobalType(wt.ValType.i32(), False), wt.Val.i32(100))
    module = wt.Module(engine, wasm("""(module
        (import "m" "g" (global $g i32))
        (memory (export "mem") 1)
        (table (export "t") 200 funcref)
        (global (export "sum") i32 (global.get $g))
        (global (export "f") funcref (ref.func $f))
        (func $f (export "fx") (result i32) (i32.const 9))
        (data (global.get $g) "at100")
        (elem (global.get $g) $f))"""))
    ex = wt.Instance(store, module, [g]).exports(store)
    assert ex["mem"].read(store, 100, 105) == b"at100"
    assert ex["sum"].value(store) == 100
    assert ex["t"].get(store, 100)(store) == 9
    assert is_null(ex["t"].get(store, 99))
    assert ex["f"].value(store)(store) == 9


def many_funcs_wat(n: int) -> str:
    funcs = "\n".join(f"(func $f{i} (type $r) (i32.const {i * 3}))" for i in range(n))
    refs = " ".join(f"$f{i}" for i in range(n))
    return f"""(module
        (type $r (func (result i32)))
        (import "m" "h" (func $h (type $r)))
        (table (export "t") {n + 3} funcref)
        {funcs}
        (elem (i32.const 1) func $h {refs})
        (elem (table 0) (i32.const {n + 2}) funcref (ref.null func))
        (elem $p func {refs})
        (func (export "call") (param i32) (result i32)
          (call_indirect (type $r) (local.get 0)))
        (func (export "init") (param i32 i32 i32) (table.init $p (local.get 0)
          (local.get 1) (local.get 2)))
        (global (export "g") funcref (ref.func $f4)))"""


def test_element_segments_and_function_references(wt: Any) -> None:
    n = 300
    engine = wt.Engine()
    module = wt.Module(engine, wasm(many_funcs_wat(n)))
    store = wt.Store(engine)
    h = wt.Func(store, wt.FuncType([], [wt.ValType.i32()]), lambda: -1)
    ex1 = wt.Instance(store, module, [h]).exports(store)
    ex2 = wt.Instance(store, module, [h]).exports(store)
    call, t = ex1["call"], ex1["t"]
    assert call(store, 1) == -1
    for i in (0, 1, 150, n - 1):
        assert call(store, i + 2) == 3 * i
    with pytest.raises(wt.Trap, match="uninitialized element"):
        call(store, 0)
    with pytest.raises(wt.Trap, match="uninitialized element"):
        call(store, n + 2)
    # the table holds this instance's functions; the other instance's are different
    assert t.get(store, 9)(store) == 21
    assert ex2["t"].get(store, 9)(store) == 21
    assert is_null(t.get(store, 0)) and is_null(t.get(store, n + 2))
    assert ex1["g"].value(store)(store) == 12
    # a passive segment, copied at run time
    ex1["init"](store, 0, 5, 2)
    assert call(store, 0) == 15 and call(store, 1) == 18
    with pytest.raises(wt.Trap, match="out of bounds table access"):
        ex1["init"](store, n, 0, 4)


def test_funcrefs_of_several_instances_are_told_apart() -> None:
    """``Store._func_from_addr`` finds a defined function by its VMFuncRef's address
    range: every table entry maps back to its own instance's function."""
    engine = _wasmlite.Engine()
    store = _wasmlite.Store(engine)
    sizes = (5, 40)
    modules = [_wasmlite.Module(engine, wasm(many_funcs_wat(n))) for n in sizes]
    h = _wasmlite.Func(store, _wasmlite.FuncType([], [_wasmlite.ValType.i32()]), lambda: -1)
    insts = [(n, _wasmlite.Instance(store, m, [h]))
             for n, m in zip(sizes, modules, strict=True) for _ in range(3)]
    for n, inst in insts:
        ex = inst.exports(store)
        rt = inst._rt
        for i in range(n):
            f = ex["t"].get(store, i + 2)
            assert f._addr == rt.func_refs[i + 1]
            assert ctypes.c_uint64.from_address(f._addr + 16).value == rt.vmctx_addr
            assert f(store) == 3 * i
        assert ex["t"].get(store, 1) is h
    with pytest.raises(_wasmlite.WasmtimeError, match="unknown function reference"):
        store._func_from_addr(insts[0][1]._rt.func_refs[1] + 8)


def test_sparse_image_of_a_large_memory(wt: Any) -> None:
    engine = wt.Engine()
    module = wt.Module(engine, wasm(f"""(module (memory (export "mem") 1000)
        (data (i32.const 3) "low")
        (data (i32.const {1000 * PAGE - 4}) "high"))"""))
    store = wt.Store(engine)
    mem = wt.Instance(store, module, []).exports(store)["mem"]
    assert mem.read(store, 0, 8) == b"\0\0\0low\0\0"
    assert mem.read(store, 500 * PAGE, 500 * PAGE + 4) == bytes(4)
    assert mem.read(store, 1000 * PAGE - 8, 1000 * PAGE) == b"\0\0\0\0high"


def test_globals_block(wt: Any) -> None:
    engine = wt.Engine()
    store = wt.Store(engine)
    module = wt.Module(engine, wasm("""(module
        (global (export "a") (mut i32) (i32.const -7))
        (global (export "b") i64 (i64.const 0x123456789))
        (global (export "c") f32 (f32.const 1.5))
        (global (export "d") (mut f64) (f64.const -2.25))
        (global (export "e") (mut externref) (ref.null extern))
        (global (export "v") v128 (v128.const i32x4 1 2 3 4))
        (func (export "bump") (global.set 0 (i32.add (global.get 0) (i32.const 1)))))"""))
    ex1 = wt.Instance(store, module, []).exports(store)
    ex2 = wt.Instance(store, module, []).exports(store)
    assert [ex1[k].value(store) for k in "abcde"] == [-7, 0x123456789, 1.5, -2.25, None]
    ex1["bump"](store)
    ex1["d"].set_value(store, 8.0)
    assert ex1["a"].value(store) == -6 and ex2["a"].value(store) == -7
    assert ex1["d"].value(store) == 8.0 and ex2["d"].value(store) == -2.25


def test_instance_pre(wt: Any) -> None:
    engine = wt.Engine()
    linker = wt.Linker(engine)
    calls = []
    linker.define_func("m", "f", wt.FuncType([wt.ValType.i32()], []), calls.append)
    linker.define_func("m", "wrong", wt.FuncType([], []), lambda: None)
    module = wt.Module(engine, wasm("""(module (import "m" "f" (func $f (param i32)))
        (memory (export "mem") 1) (data (i32.const 0) "pre")
        (start $s) (func $s (call $f (i32.const 3))))"""))
    pre = linker.instantiate_pre(module)
    for _ in range(3):
        store = wt.Store(engine)
        inst = pre.instantiate(store)
        assert inst.exports(store)["mem"].read(store, 0, 3) == b"pre"
    assert calls == [3, 3, 3]
    # instantiate_pre checks every import is defined, then their types
    bad = wt.Module(engine, wasm('(module (import "m" "wrong" (func (param i32))))'))
    with pytest.raises(wt.WasmtimeError, match="incompatible import type for `m::wrong`"):
        linker.instantiate_pre(bad)
    bad = wt.Module(engine, wasm('(module (import "m" "wrong" (func (param i32)))'
                                 ' (import "m" "nope" (func)))'))
    with pytest.raises(wt.WasmtimeError, match="unknown import: `m::nope`"):
        linker.instantiate_pre(bad)
    # store items are checked per store: another store's memory is rejected
    store = wt.Store(engine)
    other = wt.Store(engine)
    linker.define(store, "m", "mem", wt.Memory(store, wt.MemoryType(wt.Limits(1, None))))
    uses = wt.Module(engine, wasm('(module (import "m" "mem" (memory 1)))'))
    pre = linker.instantiate_pre(uses)
    pre.instantiate(store)
    with pytest.raises(wt.WasmtimeError, match="cross-`Store`"):
        pre.instantiate(other)


@pytest.mark.parametrize("n", [0, 1, 5, 64, 65, 1000])
def test_native_routines(n: int) -> None:
    """The fill and gather routines, empty, small and big."""
    from array import array

    size = 3 * n + 2
    dst = (ctypes.c_uint64 * size)()
    native.fill_affine(ctypes.addressof(dst), 1000, 24, n)
    assert list(dst) == [1000 + 24 * i for i in range(n)] + [0] * (size - n)
    fptrs = array("Q", range(7, 7 + n))
    tids = array("Q", range(50_000, 50_000 + n))
    dst = (ctypes.c_uint64 * size)()
    native.fill_funcrefs(ctypes.addressof(dst), fptrs.buffer_info()[0],
                         tids.buffer_info()[0], 99, n)
    want = [x for i in range(n) for x in (7 + i, 50_000 + i, 99)]
    assert list(dst) == want + [0, 0]
    src = array("Q", [(i + 1) * 11 for i in range(max(n, 1))])
    idx = array("I", [(i * 7) % max(n, 1) if i % 3 else native.NULL_INDEX
                      for i in range(n)])
    dst = (ctypes.c_uint64 * size)(*([5] * size))
    native.gather(ctypes.addressof(dst), src.buffer_info()[0], idx.buffer_info()[0], n)
    want = [0 if j == native.NULL_INDEX else src[j] for j in idx]
    assert list(dst) == want + [5] * (size - n)


def test_template_reads_array_function_addresses_in_place() -> None:
    """An ``array('Q')`` of function addresses is read at each instantiation, so an
    address replaced in place (a recompiled function) reaches the next instance."""
    from array import array

    engine = _wasmlite.Engine()
    module = _wasmlite.Module(engine, wasm("(module (func) (func))"))
    addrs = array("Q", module._compiled.function_addrs)
    tpl = InstanceTemplate(module._info, addrs, module._type_ids)
    assert tpl.func_ptrs(addrs) is addrs
    listed = list(addrs)
    tpl2 = InstanceTemplate(module._info, listed, module._type_ids)
    assert tpl2.func_ptrs(listed) == addrs


def test_data_drop_is_per_instance(wt: Any) -> None:
    """The dropped state of a passive data segment belongs to its instance (wasmlite
    shares the module's segment table until a drop copies it)."""
    engine = wt.Engine()
    module = wt.Module(engine, wasm("""(module (memory (export "mem") 1)
        (data (i32.const 0) "active")
        (data $p "passive")
        (func (export "init") (param i32) (memory.init $p (local.get 0) (i32.const 0)
          (i32.const 7)))
        (func (export "drop") (data.drop $p)))"""))
    store = wt.Store(engine)
    a = wt.Instance(store, module, []).exports(store)
    b = wt.Instance(store, module, []).exports(store)
    a["drop"](store)
    a["drop"](store)
    with pytest.raises(wt.Trap, match="out of bounds memory access"):
        a["init"](store, 100)
    b["init"](store, 100)
    assert b["mem"].read(store, 100, 107) == b"passive"
    assert a["mem"].read(store, 0, 6) == b"active"
    c = wt.Instance(store, module, []).exports(store)
    c["init"](store, 8)
    assert c["mem"].read(store, 0, 15) == b"active\0\0passive"


def test_caller_sees_the_importing_instance(wt: Any) -> None:
    """One host function with ``access_caller`` imported by several instances: each
    call's Caller sees the exports of the instance that called."""
    engine = wt.Engine()
    store = wt.Store(engine)
    seen = []

    def peek(caller: Any) -> int:
        mem = caller.get("mem")
        seen.append(None if mem is None else mem.read(caller, 0, 1))
        return 0 if mem is None else mem.read(caller, 0, 1)[0]

    f = wt.Func(store, wt.FuncType([], [wt.ValType.i32()]), peek, access_caller=True)
    module = wt.Module(engine, wasm("""(module (import "h" "peek" (func $p (result i32)))
        (memory (export "mem") 1)
        (func (export "set") (param i32) (i32.store8 (i32.const 0) (local.get 0)))
        (func (export "run") (result i32) (call $p)))"""))
    exs = [wt.Instance(store, module, [f]).exports(store) for _ in range(3)]
    for i, ex in enumerate(exs):
        ex["set"](store, 10 + i)
    assert [ex["run"](store) for ex in reversed(exs)] == [12, 11, 10]
    # called from Python, the function has no calling instance
    assert f(store) == 0
    assert seen[-1] is None


def test_native_loops_fill_small_and_big_modules() -> None:
    """The native loops (``runtime/native.py``) fill the function references, global
    slots and table elements of small and big modules alike."""
    engine = _wasmlite.Engine()
    store = _wasmlite.Store(engine)
    for n in (1, 3, 100):
        funcs = " ".join(f"(func $f{i} (result i32) i32.const {i})" for i in range(n))
        refs = " ".join(f"$f{i}" for i in reversed(range(n)))
        wat = f"""(module (table (export "t") {n + 2} funcref)
          (elem (i32.const 1) func {refs})
          (global (export "g") i32 (i32.const 7)) (global (export "h") i64 (i64.const 9))
          {funcs}
          (func (export "call") (param i32) (result i32)
            local.get 0 call_indirect (result i32)))"""
        inst = _wasmlite.Instance(store, _wasmlite.Module(engine, wat), [])
        ex = inst.exports(store)
        assert [ex["call"](store, 1 + k) for k in range(n)] == list(reversed(range(n)))
        assert ex["t"].get(store, 0).value is None and ex["t"].get(store, n + 1).value is None
        assert (ex["g"].value(store), ex["h"].value(store)) == (7, 9)


def test_freed_memory_reservations_are_reused_clean() -> None:
    """A guarded memory's reservation goes back to a pool when its store is freed and
    the next memory takes it: zero-filled, its data segments applied, inaccessible past
    its length again (an access there traps, it does not read the old pages)."""
    import gc

    from wasmlite.runtime import memory as rm

    wat = """(module (memory (export "m") 1) (data (i32.const 8) "seg")
      (func (export "grow") (result i32) i32.const 1 memory.grow)
      (func (export "load") (param i32) (result i32) local.get 0 i32.load8_u)
      (func (export "store") (param i32 i32) local.get 0 local.get 1 i32.store8))"""
    engine = _wasmlite.Engine()
    module = _wasmlite.Module(engine, wat)
    if engine._signals_tls_key is None:
        pytest.skip("bounds checks are explicit on this host: no guarded reservations")
    store = _wasmlite.Store(engine)
    ex = _wasmlite.Instance(store, module, []).exports(store)
    base = ex["m"].data_ptr(store)
    assert ex["grow"](store) == 1
    for addr in (0, 8, 65535, 65536, 131071):
        ex["store"](store, addr, 0xAB)
    gc.collect()       # other tests' garbage first: its memories go to the pool too
    del ex, store      # no reference cycle: the store and its memory go at once
    assert rm._POOL and ctypes.cast(rm._POOL[-1], ctypes.c_void_p).value == \
        ctypes.cast(base, ctypes.c_void_p).value
    store = _wasmlite.Store(engine)
    ex = _wasmlite.Instance(store, module, []).exports(store)
    assert ctypes.cast(ex["m"].data_ptr(store), ctypes.c_void_p).value == \
        ctypes.cast(base, ctypes.c_void_p).value
    assert [ex["load"](store, a) for a in (0, 8, 9, 10, 65535)] == [0, ord("s"), ord("e"),
                                                                    ord("g"), 0]
    with pytest.raises(_wasmlite.Trap, match="out of bounds memory access"):
        ex["load"](store, 65536)
    assert ex["grow"](store) == 1
    assert [ex["load"](store, a) for a in (65536, 131071)] == [0, 0]


def test_dropped_store_frees_its_memories_without_the_cycle_collector() -> None:
    """A store, its instances and their memories go when the last reference does (no
    reference cycle left for ``gc``): the memory's reservation is released or pooled
    at once, with the cycle collector off."""
    import gc
    import weakref

    engine = _wasmlite.Engine()
    module = _wasmlite.Module(engine, '(module (memory (export "m") 1))')
    was = gc.isenabled()
    gc.disable()
    try:
        store = _wasmlite.Store(engine)
        inst = _wasmlite.Instance(store, module, [])
        mem = inst._rt.memories[0]
        refs = [weakref.ref(store), weakref.ref(store._rt), weakref.ref(inst._rt)]
        del store, inst
        assert [r() for r in refs] == [None, None, None]
        assert mem._freed
    finally:
        if was:
            gc.enable()


def test_freed_instance_arrays_go_to_the_next_instance_clean() -> None:
    """A big instance's VMContext, VMFuncRefs and table elements go to the next
    instance of its module when its store is freed (``InstanceTemplate.spares``): the
    next instance sees none of the old one's state (a table slot it set, a grown
    table, its globals), and the old instance object no longer reaches them."""
    import gc

    n = 3000
    funcs = "\n".join(f"(func $f{i} (result i32) i32.const {i})" for i in range(n))
    refs = " ".join(f"$f{i}" for i in range(n))
    wat = f"""(module
      (type $r (func (result i32)))
      (table $t (export "t") {n + 10} funcref)
      (table $u (export "u") 2 funcref)
      (elem (table $t) (i32.const 0) func {refs})
      (global $g (export "g") (mut i32) (i32.const 5))
      {funcs}
      (func (export "call") (param i32) (result i32)
        local.get 0 call_indirect $t (type $r))
      (func (export "fill") (param i32)
        (table.set $t (local.get 0) (ref.func $f7))
        (drop (table.grow $u (ref.func $f9) (i32.const 100)))
        (global.set $g (i32.const 99))))"""
    engine = _wasmlite.Engine()
    module = _wasmlite.Module(engine, wat)
    tpl = module._instance_template()
    assert tpl.spare_cap > 0
    was = gc.isenabled()
    gc.disable()
    try:
        store = _wasmlite.Store(engine)
        old = _wasmlite.Instance(store, module, [])
        ex = old.exports(store)
        ex["fill"](store, n + 5)
        assert ex["call"](store, n + 5) == 7 and ex["u"].size(store) == 102
        vmctx = ctypes.addressof(old._rt.vmctx)
        before = len(tpl.spares)
        del ex, store
        assert len(tpl.spares) == before + 1 and old._rt.vmctx is None
        store = _wasmlite.Store(engine)
        new = _wasmlite.Instance(store, module, [])
        assert ctypes.addressof(new._rt.vmctx) == vmctx and len(tpl.spares) == before
        ex = new.exports(store)
        assert [ex["call"](store, i) for i in (0, 1, n // 2, n - 1)] == [0, 1, n // 2, n - 1]
        with pytest.raises(_wasmlite.Trap, match="uninitialized element"):
            ex["call"](store, n + 5)
        assert ex["t"].get(store, n + 5).value is None
        assert ex["u"].size(store) == 2 and ex["u"].get(store, 1).value is None
        assert ex["g"].value(store) == 5
    finally:
        if was:
            gc.enable()
