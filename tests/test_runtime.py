"""The native runtime (``wasmlite.runtime``): linear memories on mmap, tables, globals,
the VMContext layout of ``environ/vmoffsets.py``, builtins, constant expressions and
store clean-up."""

from __future__ import annotations

import ctypes
import gc

import pytest
import wasmtime

from wasmlite import Engine, Func, FuncType, Instance, Module, Store, ValType
from wasmlite.environ import module as em
from wasmlite.environ import vmoffsets as vo
from wasmlite.errors import TrapCode
from wasmlite.runtime import builtins
from wasmlite.runtime.globals import GlobalData
from wasmlite.runtime.instance import InstanceData
from wasmlite.runtime.memory import LinearMemory
from wasmlite.runtime.store import StoreData
from wasmlite.runtime.table import TABLE_ELEMENTS_LIMIT, TableData

PAGE = em.PAGE_SIZE
MEM_OOB = TrapCode.MEMORY_OUT_OF_BOUNDS + 1
TABLE_OOB = TrapCode.TABLE_OUT_OF_BOUNDS + 1


def u64(addr: int) -> int:
    return ctypes.c_uint64.from_address(addr).value


# -- linear memory ----------------------------------------------------------------------
def test_linear_memory_grow_keeps_base() -> None:
    m = LinearMemory(1, 3)
    try:
        base = m.base
        assert (m.vm[0], m.vm[1], m.vm[2]) == (base, PAGE, 3 * PAGE)
        assert m.pages == 1 and m.length == PAGE
        ctypes.memmove(base + PAGE - 4, b"abcd", 4)
        assert m.grow(1) == 1 and m.length == 2 * PAGE
        assert m.base == base == m.vm[0]
        ctypes.memmove(base + 2 * PAGE - 4, b"efgh", 4)  # new page is writable
        assert ctypes.string_at(base + PAGE - 4, 4) == b"abcd"
        assert ctypes.string_at(base + PAGE, 4) == b"\0\0\0\0"  # zero-filled
        assert m.grow(0) == 2
        assert m.grow(2) == -1 and m.pages == 2  # beyond the maximum
        assert m.grow(1) == 2 and m.grow(1) == -1
    finally:
        m.free()
    m.free()  # idempotent
    assert m.length == 0


def test_linear_memory_unbounded_and_empty() -> None:
    m = LinearMemory(0, None)
    try:
        assert m.length == 0 and m.max_pages == em.MAX_PAGES
        assert m.reserved == em.MAX_PAGES * PAGE  # the whole 4 GiB is reserved
        assert m.grow(2) == 0 and m.length == 2 * PAGE
        assert m.grow(em.MAX_PAGES) == -1
    finally:
        m.free()
    m = LinearMemory(0, 0)
    try:
        assert m.grow(1) == -1 and m.grow(0) == 0
    finally:
        m.free()
    with pytest.raises(MemoryError):
        LinearMemory(em.MAX_PAGES + 1, None)


# -- tables, globals, store data ----------------------------------------------------------
def test_table_data() -> None:
    t = TableData(em.FUNCREF, 2, 5, init=0x1234)
    assert (t.vm[0], t.vm[1]) == (ctypes.addressof(t.elements), 2)
    assert t.get(0) == t.get(1) == 0x1234
    with pytest.raises(IndexError):
        t.get(2)
    with pytest.raises(IndexError):
        t.set(-1, 0)
    assert t.grow(2, 0x99) == 2 and t.size == 4 and t.vm[1] == 4
    assert t.vm[0] == ctypes.addressof(t.elements)  # VMTable follows the reallocation
    assert [t.get(i) for i in range(4)] == [0x1234, 0x1234, 0x99, 0x99]
    assert t.grow(2, 0) == -1 and t.grow(1, 0) == 4 and t.get(4) == 0
    assert t.fill(1, 7, 3) and [t.get(i) for i in range(5)] == [0x1234, 7, 7, 7, 0]
    assert not t.fill(3, 8, 3) and t.get(3) == 7  # out of bounds writes nothing
    unbounded = TableData(em.EXTERNREF, 0, None)
    assert unbounded.grow(TABLE_ELEMENTS_LIMIT + 1, 0) == -1
    assert unbounded.grow(3, 0) == 0 and unbounded.size == 3


def test_global_data_raw() -> None:
    g = GlobalData(em.I32, True, 0xFFFFFFFF)
    assert g.raw == 0xFFFFFFFF and g.vm[0] == 0xFFFFFFFF
    v = GlobalData(em.V128, False, (5 << 64) | 7)
    assert (v.vm[0], v.vm[1]) == (7, 5) and v.raw == (5 << 64) | 7
    g.raw = -1
    assert g.raw == 2**64 - 1


def test_store_data_extern_handles() -> None:
    sd = StoreData(1 << 20)
    assert u64(sd.ctx_addr + vo.STORE_MAX_STACK) == 1 << 20
    assert u64(sd.ctx_addr + vo.STORE_STACK_LIMIT) == 0
    a, b = object(), object()
    ha, hb = sd.extern_handle(a), sd.extern_handle(b)
    assert ha != hb and 0 not in (ha, hb)
    assert sd.extern_handle(a) == ha
    assert sd.extern_object(ha) is a and sd.extern_object(hb) is b
    assert sd.extern_handle(None) == 0 and sd.extern_object(0) is None
    assert sd.extern_object(999) is None


# -- VMContext layout -----------------------------------------------------------------------
LAYOUT = """(module
  (type $t0 (func (param i32) (result i32)))
  (type $t1 (func))
  (type $t2 (func (param i32) (result i32)))
  (import "h" "f" (func $f (type $t1)))
  (memory (export "mem") 2 7)
  (table 3 funcref)
  (global (mut i64) (i64.const -2))
  (func $g (type $t0) local.get 0)
  (elem (i32.const 1) $g $f)
  (func (export "grow") (param i32) (result i32) local.get 0 memory.grow)
)"""


def test_vmcontext_layout() -> None:
    engine = Engine()
    store = Store(engine)
    host = Func(store, FuncType([], []), lambda: None)
    inst = Instance(store, Module(engine, wasmtime.wat2wasm(LAYOUT)), [host])
    rt: InstanceData = inst._rt
    off = rt.offsets
    v = rt.vmctx_addr
    assert u64(v + vo.VMCTX_STORE_CTX) == store._rt.ctx_addr
    assert u64(v + vo.VMCTX_BUILTINS) == builtins.BUILTINS_ADDR
    # type ids: equal function types share the engine-wide id
    ids = [u64(v + off.type_id(t)) for t in range(3)]
    assert ids[0] == ids[2] != ids[1]
    assert ids[1] == engine._sig_id(em.FuncType((), ()))
    # memory slot -> VMMemory {base, length, maximum}
    vmmem = u64(v + off.memory(0))
    assert u64(vmmem + vo.MEMORY_LENGTH) == 2 * PAGE
    assert u64(vmmem + vo.MEMORY_MAXIMUM) == 7 * PAGE
    assert u64(vmmem + vo.MEMORY_BASE) == inst.exports(store)["mem"]._mem.base
    # table slot -> VMTable {elements, length} with the elem segment's VMFuncRefs
    vmtab = u64(v + off.table(0))
    assert u64(vmtab + vo.TABLE_LENGTH) == 3
    elems = u64(vmtab + vo.TABLE_ELEMENTS)
    assert [u64(elems + 8 * i) for i in range(3)] == [0, rt.func_refs[1], rt.func_refs[0]]
    # global slot -> VMGlobal
    assert u64(u64(v + off.global_(0))) == 2**64 - 2
    # function slots: the import is the host Func's VMFuncRef, defined ones point back
    assert u64(v + off.func(0)) == host._addr
    assert u64(host._addr + vo.FUNCREF_TYPE_ID) == ids[1]
    hostctx = u64(host._addr + vo.FUNCREF_VMCTX)
    assert u64(hostctx + vo.HOSTCTX_STORE_CTX) == store._rt.ctx_addr
    g = u64(v + off.func(1))
    assert g == rt.func_refs[1]
    assert u64(g + vo.FUNCREF_VMCTX) == v
    assert u64(g + vo.FUNCREF_TYPE_ID) == ids[0]
    assert u64(g + vo.FUNCREF_FUNC_PTR) == inst._module._compiled.function_addrs[0]


def test_builtins_through_native_pointers() -> None:
    """Call the builtins the way generated code does: through the array's C pointers."""
    engine = Engine()
    store = Store(engine)
    inst = Instance(store, Module(engine, wasmtime.wat2wasm("""(module
        (memory 1 3) (table 2 8 funcref) (func $f)
        (elem $e func $f $f) (data $d "xyz"))""")), [])
    rt = inst._rt
    arr = builtins.BUILTINS_ARRAY
    i32, ptr = ctypes.c_int32, ctypes.c_void_p
    grow = ctypes.CFUNCTYPE(i32, ptr, i32, i32)(arr[vo.BUILTIN_MEMORY_GROW])
    assert grow(rt.vmctx_addr, 0, 1) == 1
    assert grow(rt.vmctx_addr, 0, 5) == -1
    assert grow(rt.vmctx_addr, 0, -1) == -1  # 0xFFFFFFFF pages
    assert rt.memories[0].pages == 2
    tgrow = ctypes.CFUNCTYPE(i32, ptr, i32, ptr, i32)(arr[vo.BUILTIN_TABLE_GROW])
    assert tgrow(rt.vmctx_addr, 0, rt.func_refs[0], 2) == 2
    assert rt.tables[0].get(3) == rt.func_refs[0]
    tinit = ctypes.CFUNCTYPE(i32, ptr, i32, i32, i32, i32, i32)(arr[vo.BUILTIN_TABLE_INIT])
    assert tinit(rt.vmctx_addr, 0, 0, 0, 0, 2) == 0
    assert tinit(rt.vmctx_addr, 0, 0, 3, 0, 2) == TABLE_OOB
    assert tinit(rt.vmctx_addr, 0, 0, 0, 1, 2) == TABLE_OOB
    tcopy = ctypes.CFUNCTYPE(i32, ptr, i32, i32, i32, i32, i32)(arr[vo.BUILTIN_TABLE_COPY])
    assert tcopy(rt.vmctx_addr, 0, 0, 1, 0, 3) == 0
    assert tcopy(rt.vmctx_addr, 0, 0, 2, 0, 3) == TABLE_OOB
    tfill = ctypes.CFUNCTYPE(i32, ptr, i32, i32, ptr, i32)(arr[vo.BUILTIN_TABLE_FILL])
    assert tfill(rt.vmctx_addr, 0, 1, None, 2) == 0
    assert rt.tables[0].get(1) == rt.tables[0].get(2) == 0
    assert tfill(rt.vmctx_addr, 0, 4, None, 1) == TABLE_OOB
    minit = ctypes.CFUNCTYPE(i32, ptr, i32, i32, i32, i32, i32)(arr[vo.BUILTIN_MEMORY_INIT])
    assert minit(rt.vmctx_addr, 0, 0, 10, 1, 2) == 0
    assert ctypes.string_at(rt.memories[0].base + 10, 2) == b"yz"
    assert minit(rt.vmctx_addr, 0, 0, 2 * PAGE - 1, 0, 2) == MEM_OOB
    ddrop = ctypes.CFUNCTYPE(i32, ptr, i32)(arr[vo.BUILTIN_DATA_DROP])
    edrop = ctypes.CFUNCTYPE(i32, ptr, i32)(arr[vo.BUILTIN_ELEM_DROP])
    assert ddrop(rt.vmctx_addr, 0) == 0 and edrop(rt.vmctx_addr, 0) == 0
    assert minit(rt.vmctx_addr, 0, 0, 0, 0, 1) == MEM_OOB
    assert minit(rt.vmctx_addr, 0, 0, 0, 0, 0) == 0  # empty init of a dropped segment
    assert tinit(rt.vmctx_addr, 0, 0, 0, 0, 1) == TABLE_OOB
    # an unknown vmctx never crashes
    assert grow(12345, 0, 1) == -1
    assert ddrop(12345, 0) == vo.STATUS_HOST_EXCEPTION


def test_constant_expressions() -> None:
    engine = Engine()
    store = Store(engine)
    inst = Instance(store, Module(engine, wasmtime.wat2wasm("""(module
        (global i32 (i32.const -1)) (global f32 (f32.const 1.5)) (func $f))""")), [])
    rt = inst._rt
    assert rt.globals[0].raw == 0xFFFFFFFF
    assert rt.globals[1].raw == 0x3FC00000
    ev = rt.eval_const
    assert ev([(0x41, 5, 0), (0x41, 7, 0), (0x6B, None, 0)]) == 0xFFFFFFFE  # extended-const
    assert ev([(0x42, 3, 0), (0x42, 4, 0), (0x7E, None, 0)]) == 12
    assert ev([(0x23, 0, 0)]) == 0xFFFFFFFF
    assert ev([(0xD2, 0, 0)]) == rt.func_refs[0]
    assert ev([(0xD0, 0x70, 0)]) == 0
    assert ev([(0xFD00C, bytes(range(16)), 0)]) == int.from_bytes(bytes(range(16)), "little")


def test_store_release_frees_memory() -> None:
    engine = Engine()
    store = Store(engine)
    inst = Instance(store, Module(engine, wasmtime.wat2wasm("(module (memory 1))")), [])
    vmctx = inst._rt.vmctx_addr
    mem = inst._rt.memories[0]
    assert vmctx in builtins.INSTANCES
    del inst, store
    gc.collect()
    assert vmctx not in builtins.INSTANCES
    assert mem._freed and mem.length == 0


def test_value_types_of_host_funcs_share_signature_ids() -> None:
    """A host function and a wasm function of the same type are interchangeable in
    ``call_indirect`` because both carry the engine-wide id."""
    engine = Engine()
    store = Store(engine)
    i32 = ValType.i32()
    host = Func(store, FuncType([i32], [i32]), lambda x: x + 1)
    inst = Instance(store, Module(engine, wasmtime.wat2wasm("""(module
        (type $t (func (param i32) (result i32)))
        (table (export "t") 1 funcref)
        (func (export "call") (param i32) (result i32) local.get 0 i32.const 0 call_indirect (type $t)))""")), [])
    ex = inst.exports(store)
    ex["t"].set(store, 0, host)
    assert ex["call"](store, 41) == 42
    rt = inst._rt
    assert u64(host._addr + vo.FUNCREF_TYPE_ID) == u64(rt.vmctx_addr + rt.offsets.type_id(0))


# -- signals-based traps (guard pages + SIGSEGV handler) vs explicit bounds checks --------

import subprocess  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402

from wasmlite import Config, Trap, WasmtimeError  # noqa: E402
from wasmlite.runtime import signals  # noqa: E402

GUARD_MODES = [pytest.param(True, id="signals"), pytest.param(False, id="explicit")]
needs_signals = pytest.mark.skipif(not signals.supported(),
                                   reason="signals-based traps need Linux on x86-64")

#: (load opcode name, access size, result type) and (store name, size, value type)
LOAD_OPS = [("i32.load", 4, "i32"), ("i64.load", 8, "i64"), ("f32.load", 4, "f32"),
            ("f64.load", 8, "f64"), ("i32.load8_s", 1, "i32"), ("i32.load8_u", 1, "i32"),
            ("i32.load16_s", 2, "i32"), ("i32.load16_u", 2, "i32"),
            ("i64.load8_s", 1, "i64"), ("i64.load8_u", 1, "i64"),
            ("i64.load16_s", 2, "i64"), ("i64.load16_u", 2, "i64"),
            ("i64.load32_s", 4, "i64"), ("i64.load32_u", 4, "i64")]
STORE_OPS = [("i32.store", 4, "i32"), ("i64.store", 8, "i64"), ("f32.store", 4, "f32"),
             ("f64.store", 8, "f64"), ("i32.store8", 1, "i32"), ("i32.store16", 2, "i32"),
             ("i64.store8", 1, "i64"), ("i64.store16", 2, "i64"), ("i64.store32", 4, "i64")]
BIG_OFFSET = 0xFFFFFFFF


def _access_wat() -> str:
    funcs = []
    for k, (name, _, rt) in enumerate(LOAD_OPS):
        funcs.append(f'(func (export "l{k}") (param i32) (result {rt}) '
                     f'({name} (local.get 0)))')
        funcs.append(f'(func (export "l{k}big") (param i32) (result {rt}) '
                     f'({name} offset={BIG_OFFSET} (local.get 0)))')
        funcs.append(f'(func (export "l{k}drop") (param i32) (drop ({name} (local.get 0))))')
    for k, (name, _, vt) in enumerate(STORE_OPS):
        funcs.append(f'(func (export "s{k}") (param i32) ({name} (local.get 0) ({vt}.const 1)))')
        funcs.append(f'(func (export "s{k}big") (param i32) '
                     f'({name} offset={BIG_OFFSET} (local.get 0) ({vt}.const 1)))')
    return "(module (memory (export \"mem\") 1 3)\n" + "\n".join(funcs) + ")"


def _engine(signals_based_traps: bool) -> Engine:
    config = Config()
    config.signals_based_traps = signals_based_traps
    return Engine(config)


def _assert_oob(call, *args) -> Trap:  # noqa: ANN001
    with pytest.raises(Trap) as info:
        call(*args)
    assert "out of bounds memory access" in str(info.value)
    assert info.value.trap_code == TrapCode.MEMORY_OUT_OF_BOUNDS
    return info.value


def test_config_signals_based_traps_default() -> None:
    assert Config().signals_based_traps is signals.supported()
    with pytest.raises(TypeError):
        Config().signals_based_traps = 1  # type: ignore[assignment]
    assert _engine(False)._signals_tls_key is None


@pytest.mark.parametrize("guard", GUARD_MODES)
def test_loads_and_stores_at_the_boundary(guard: bool) -> None:
    engine = _engine(guard)
    store = Store(engine)
    module = Module(engine, wasmtime.wat2wasm(_access_wat()))
    ex = Instance(store, module, []).exports(store)
    mem = ex["mem"]
    limit = 65536
    for k, (_, size, _) in enumerate(LOAD_OPS):
        mem.write(store, bytes([0x80] * size), limit - size)
        assert ex[f"l{k}"](store, limit - size) != 0  # last valid bytes
        ex[f"l{k}drop"](store, limit - size)
        frame = _assert_oob(ex[f"l{k}"], store, limit - size + 1).frames[0]
        assert frame.func_index == 3 * k  # frame 0 is the faulting function
        _assert_oob(ex[f"l{k}"], store, limit)
        _assert_oob(ex[f"l{k}"], store, BIG_OFFSET)
        _assert_oob(ex[f"l{k}drop"], store, limit - size + 1)
        _assert_oob(ex[f"l{k}drop"], store, BIG_OFFSET)
        _assert_oob(ex[f"l{k}big"], store, 0)
        _assert_oob(ex[f"l{k}big"], store, 1)
        _assert_oob(ex[f"l{k}big"], store, BIG_OFFSET)
    for k, (_, size, _) in enumerate(STORE_OPS):
        mem.write(store, bytes(8), limit - 8)
        ex[f"s{k}"](store, limit - size)
        assert any(mem.read(store, limit - size, limit))
        before = mem.read(store, limit - 8, limit)
        frame = _assert_oob(ex[f"s{k}"], store, limit - size + 1).frames[0]
        assert frame.func_index == 3 * len(LOAD_OPS) + 2 * k
        assert mem.read(store, limit - 8, limit) == before  # nothing partially written
        _assert_oob(ex[f"s{k}"], store, BIG_OFFSET)
        _assert_oob(ex[f"s{k}big"], store, 0)
        _assert_oob(ex[f"s{k}big"], store, BIG_OFFSET)
    # memory.grow makes the next page accessible; the one after still traps
    assert mem.grow(store, 1) == 1
    ex["s0"](store, 2 * limit - 4)
    assert ex["l0"](store, 2 * limit - 4) == 1
    _assert_oob(ex["l0"], store, 2 * limit - 3)
    assert mem.grow(store, 1) == 2
    with pytest.raises(WasmtimeError):
        mem.grow(store, 1)  # beyond the maximum of 3 pages
    assert ex["l1"](store, 3 * limit - 8) == 0
    _assert_oob(ex["l1"], store, 3 * limit - 7)


GROW_WAT = """(module (memory (export "mem") 0)
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  (func (export "sum") (param i32 i32) (result i32) (local i32)
    (block (loop
      (br_if 1 (i32.ge_u (local.get 0) (local.get 1)))
      (local.set 2 (i32.add (local.get 2) (i32.load8_u (local.get 0))))
      (local.set 0 (i32.add (local.get 0) (i32.const 1)))
      (br 0)))
    (local.get 2)))"""


@pytest.mark.parametrize("guard", GUARD_MODES)
def test_memory_grow_then_access(guard: bool) -> None:
    engine = _engine(guard)
    store = Store(engine)
    ex = Instance(store, Module(engine, wasmtime.wat2wasm(GROW_WAT)), []).exports(store)
    _assert_oob(ex["sum"], store, 0, 1)
    assert ex["grow"](store, 2) == 0
    ex["mem"].write(store, b"\x01" * 10, 131072 - 10)
    assert ex["sum"](store, 0, 131072) == 10
    _assert_oob(ex["sum"], store, 131000, 131073)


NESTED_WAT = """(module
  (import "host" "h" (func $h (param i32) (result i32)))
  (memory 1)
  (func (export "outer") (param i32) (result i32)
    (i32.add (call $h (local.get 0)) (i32.const 1)))
  (func (export "inner") (param i32) (result i32) (i32.load (local.get 0))))"""


@pytest.mark.parametrize("guard", GUARD_MODES)
def test_trap_in_nested_call_lands_in_innermost_entry(guard: bool) -> None:
    engine = _engine(guard)
    store = Store(engine)
    seen: list[str] = []
    ex: dict = {}

    def h(addr: int) -> int:
        try:
            return ex["inner"](store, addr)
        except Trap as t:  # the inner entry got the trap; the outer call goes on
            seen.append(str(t))
            return 41

    hf = Func(store, FuncType([ValType.i32()], [ValType.i32()]), h)
    inst = Instance(store, Module(engine, wasmtime.wat2wasm(NESTED_WAT)), [hf])
    ex.update({e: inst.exports(store)[e] for e in ("outer", "inner")})
    assert ex["outer"](store, 0) == 1
    assert ex["outer"](store, 70000) == 42
    assert len(seen) == 1 and "out of bounds memory access" in seen[0]
    assert ex["outer"](store, 0) == 1  # state restored after the nested trap

    def h2(addr: int) -> int:  # lets the trap propagate through the host frame
        return ex2["inner"](store, addr)

    hf2 = Func(store, FuncType([ValType.i32()], [ValType.i32()]), h2)
    inst2 = Instance(store, Module(engine, wasmtime.wat2wasm(NESTED_WAT)), [hf2])
    ex2 = {e: inst2.exports(store)[e] for e in ("outer", "inner")}
    _assert_oob(ex2["outer"], store, 70000)
    assert ex2["outer"](store, 4) == 1


@pytest.mark.parametrize("guard", GUARD_MODES)
def test_two_threads_one_trapping(guard: bool) -> None:
    engine = _engine(guard)
    module = Module(engine, wasmtime.wat2wasm(GROW_WAT))
    results: dict[str, object] = {}

    def run(name: str, trapping: bool) -> None:
        store = Store(engine)
        ex = Instance(store, module, []).exports(store)
        ex["grow"](store, 16)
        ex["mem"].write(store, b"\x02" * 1000, 5000)
        out = []
        for _ in range(30):
            try:
                out.append(ex["sum"](store, 0, 16 * 65536 + (8 if trapping else 0)))
            except Trap as t:
                out.append("oob" if "out of bounds memory access" in str(t) else str(t))
        results[name] = out

    threads = [threading.Thread(target=run, args=("ok", False)),
               threading.Thread(target=run, args=("trap", True))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results["ok"] == [2000] * 30
    assert results["trap"] == ["oob"] * 30


def _run_python(code: str, *flags: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *flags, "-c", code], capture_output=True,
                          text=True, timeout=120)


CRASH_PRELUDE = """
import ctypes, wasmlite, wasmtime
from wasmlite.runtime import signals
engine = wasmlite.Engine()
store = wasmlite.Store(engine)
# the first instantiation installs the handler (the first point where wasm can run)
wasmlite.Instance(store, wasmlite.Module(engine, b"\\0asm\\1\\0\\0\\0"), [])
assert signals.installed()
"""


@needs_signals
@pytest.mark.parametrize("flags", [pytest.param((), id="plain"),
                                   pytest.param(("-X", "faulthandler"), id="faulthandler")])
def test_non_wasm_segfault_is_not_swallowed(flags: tuple[str, ...]) -> None:
    r = _run_python(CRASH_PRELUDE + "ctypes.string_at(0)\nprint('survived')", *flags)
    assert r.returncode == -11, (r.returncode, r.stderr)
    assert "survived" not in r.stdout
    if flags:
        assert "Segmentation fault" in r.stderr


@needs_signals
def test_fault_in_reservation_outside_wasm_is_not_swallowed() -> None:
    # a host function (not wasm code) reading a guard page while wasm is on the stack
    code = CRASH_PRELUDE + """
mem = wasmlite.Memory(store, wasmlite.MemoryType(wasmlite.Limits(1, None)))
base = mem.data_ptr(store)
addr = ctypes.cast(base, ctypes.c_void_p).value + 3 * 65536
ft = wasmlite.FuncType([], [])
host = wasmlite.Func(store, ft, lambda: ctypes.string_at(addr, 4))
wat = '(module (import "" "h" (func $h)) (func (export "f") (call $h)))'
inst = wasmlite.Instance(store, wasmlite.Module(engine, wasmtime.wat2wasm(wat)), [host])
try:
    inst.exports(store)["f"](store)
except BaseException as e:
    print("caught", type(e).__name__)
print("survived")
"""
    r = _run_python(code)
    assert r.returncode == -11, (r.returncode, r.stdout, r.stderr)
    assert "survived" not in r.stdout


@needs_signals
def test_handler_reinstalled_after_faulthandler() -> None:
    # faulthandler.enable() replaces the handler; the next instantiation puts it back
    # (chaining to faulthandler), so wasm traps work and other crashes still reach
    # faulthandler
    code = CRASH_PRELUDE + """
import faulthandler
faulthandler.enable()
assert not signals.installed()
store = wasmlite.Store(engine)
wat = '(module (memory 1) (func (export "f") (result i32) (i32.load (i32.const 65536))))'
inst = wasmlite.Instance(store, wasmlite.Module(engine, wasmtime.wat2wasm(wat)), [])
assert signals.installed()
try:
    inst.exports(store)["f"](store)
except wasmlite.Trap as t:
    print("trap:", "out of bounds memory access" in str(t))
ctypes.string_at(0)
"""
    r = _run_python(code)
    assert "trap: True" in r.stdout, r.stderr
    assert r.returncode == -11
    assert "Segmentation fault" in r.stderr
