"""The public embedding API (wasmtime-py's shape): modules, instances, calls, host
functions, memories, tables, globals, traps and link errors.

Modules are built from WAT with ``wasmtime.wat2wasm``; where it is cheap, results are
compared with wasmtime-py running the same module.
"""

from __future__ import annotations

import math
import struct

import pytest
import wasmtime

import wasmlite as wl
from wasmlite import (
    Caller,
    Config,
    Engine,
    ExitTrap,
    Func,
    FuncType,
    Global,
    GlobalType,
    Instance,
    Limits,
    Linker,
    Memory,
    MemoryType,
    Module,
    Store,
    Table,
    TableType,
    Trap,
    TrapCode,
    Val,
    ValType,
    WasmtimeError,
)

I32, I64, F32, F64 = ValType.i32(), ValType.i64(), ValType.f32(), ValType.f64()
FUNCREF, EXTERNREF = ValType.funcref(), ValType.externref()


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine()


@pytest.fixture
def store(engine: Engine) -> Store:
    return Store(engine)


def module(engine: Engine, wat: str) -> Module:
    return Module(engine, wasmtime.wat2wasm(wat))


def instance(store: Store, wat: str, imports: list | None = None) -> Instance:
    return Instance(store, module(store.engine, wat), imports or [])


def f32(x: float) -> float:
    return struct.unpack("<f", struct.pack("<f", x))[0]


# -- modules ----------------------------------------------------------------------------
ALL_KINDS = """(module
  (import "m" "f" (func (param i32 i64) (result f32)))
  (import "m" "t" (table 1 2 funcref))
  (import "m" "mem" (memory 1))
  (import "m" "g" (global (mut f64)))
  (func (export "f") (param externref) (result funcref) ref.null func)
  (table (export "t") 3 externref)
  (export "mem" (memory 0))
  (global (export "g") i64 (i64.const 1))
)"""


def test_module_imports_and_exports(engine: Engine) -> None:
    m = module(engine, ALL_KINDS)
    imps = m.imports
    assert [(i.module, i.name) for i in imps] == [("m", "f"), ("m", "t"), ("m", "mem"), ("m", "g")]
    assert imps[0].type == FuncType([I32, I64], [F32])
    assert imps[0].type.params == [I32, I64] and imps[0].type.results == [F32]
    assert imps[1].type.element == FUNCREF and imps[1].type.limits == Limits(1, 2)
    assert imps[2].type.limits == Limits(1, None)
    assert imps[3].type.content == F64 and imps[3].type.mutable
    exps = {e.name: e.type for e in m.exports}
    assert exps["f"] == FuncType([EXTERNREF], [FUNCREF])
    assert exps["t"].element == EXTERNREF and exps["t"].limits == Limits(3, None)
    assert exps["mem"].limits == Limits(1, None)
    assert exps["g"].content == I64 and not exps["g"].mutable


def test_module_custom_sections_and_name(engine: Engine) -> None:
    wasm = wasmtime.wat2wasm('(module $modname (func $fname))')
    wasm += b"\x00\x07\x05hello" + b"!"  # custom section "hello" with payload "!"
    m = Module(engine, wasm)
    assert m.name == "modname"
    assert m.custom_sections("hello") == [b"!"]
    assert m.custom_sections("absent") == []


def test_module_errors(engine: Engine) -> None:
    with pytest.raises(TypeError):
        Module("not an engine", b"\0asm\1\0\0\0")  # type: ignore[arg-type]
    with pytest.raises(WasmtimeError):
        Module(engine, b"\0asm\1\0\0\0\1")
    invalid = wasmtime.wat2wasm("(module (func (result i32) i64.const 0))")
    with pytest.raises(WasmtimeError, match="type mismatch"):
        Module.validate(engine, invalid)
    with pytest.raises(WasmtimeError):
        Module(engine, invalid)
    Module.validate(engine, wasmtime.wat2wasm("(module)"))


def test_module_from_file(engine: Engine, tmp_path) -> None:  # noqa: ANN001
    p = tmp_path / "m.wasm"
    p.write_bytes(wasmtime.wat2wasm('(module (func (export "f") (result i32) i32.const 42))'))
    m = Module.from_file(engine, p)
    assert Instance(Store(engine), m, []).exports  # instantiable
    s = Store(engine)
    assert Instance(s, m, []).exports(s)["f"](s) == 42


# -- calls ------------------------------------------------------------------------------
NUMERIC = """(module
  (func (export "i32") (param i32) (result i32) local.get 0 i32.const 1 i32.add)
  (func (export "i64") (param i64) (result i64) local.get 0 i64.const 1 i64.add)
  (func (export "f32") (param f32) (result f32) local.get 0 f32.const 0.5 f32.mul)
  (func (export "f64") (param f64) (result f64) local.get 0 f64.sqrt)
  (func (export "none"))
  (func (export "multi") (param i32 i64 f32 f64) (result f64 f32 i64 i32)
    local.get 3 local.get 2 local.get 1 local.get 0)
  (func (export "ext") (param externref) (result externref) local.get 0)
  (func (export "fref") (param funcref) (result funcref) local.get 0)
  (func (export "isnull") (param externref) (result i32) local.get 0 ref.is_null)
)"""


def test_call_each_value_type(store: Store) -> None:
    ex = instance(store, NUMERIC).exports(store)
    assert ex["i32"](store, 41) == 42
    assert ex["i32"](store, 0x7FFFFFFF) == -0x80000000  # wraps like wasm
    assert ex["i32"](store, 0xFFFFFFFF) == 0  # unsigned spelling accepted, as wasmtime-py
    assert ex["i64"](store, 2**63 - 1) == -(2**63)
    assert ex["f32"](store, 3.0) == 1.5
    assert ex["f32"](store, 0.1) == f32(f32(0.1) * 0.5)
    assert ex["f64"](store, 2.0) == math.sqrt(2.0)
    assert math.isnan(ex["f64"](store, -1.0))
    assert ex["none"](store) is None
    assert ex["multi"](store, 1, 2, 3.5, 4.25) == [4.25, 3.5, 2, 1]
    assert ex["i32"](store, Val.i32(1)) == 2
    assert ex["f64"](store, Val.f64(9.0)) == 3.0


def test_call_matches_wasmtime() -> None:
    ref_store = wasmtime.Store()
    ref = wasmtime.Instance(ref_store, wasmtime.Module(ref_store.engine, NUMERIC), [])
    ref_ex = ref.exports(ref_store)
    s = Store()
    ex = instance(s, NUMERIC).exports(s)
    for name, args in [("i32", (-5,)), ("i32", (2**31 - 1,)), ("i64", (-(2**40),)),
                       ("f32", (1e30,)), ("f64", (1e-300,)),
                       ("multi", (-1, -(2**62), 1.25, -0.0))]:
        assert ex[name](s, *args) == ref_ex[name](ref_store, *args), name


def test_references_round_trip(store: Store) -> None:
    ex = instance(store, NUMERIC).exports(store)
    obj = {"some": "object"}
    assert ex["ext"](store, obj) is obj
    assert ex["ext"](store, None) is None
    assert ex["isnull"](store, None) == 1
    assert ex["isnull"](store, 0) == 0  # 0 is an object, not null
    f = ex["none"]
    assert ex["fref"](store, f) is f
    assert ex["fref"](store, None) is None
    host = Func(store, FuncType([], [I32]), lambda: 7)
    back = ex["fref"](store, host)
    assert back is host and back(store) == 7


def test_call_argument_errors(store: Store) -> None:
    ex = instance(store, NUMERIC).exports(store)
    with pytest.raises(WasmtimeError, match="too few parameters provided: given 0, expected 1"):
        ex["i32"](store)
    with pytest.raises(WasmtimeError, match="too many parameters provided: given 2, expected 1"):
        ex["i32"](store, 1, 2)
    with pytest.raises(TypeError, match="don't know how to convert 1.5 to i32"):
        ex["i32"](store, 1.5)
    with pytest.raises(TypeError):
        ex["i64"](store, "1")
    with pytest.raises(TypeError):
        ex["f64"](store, None)
    with pytest.raises(TypeError, match="wrong type of `Val`"):
        ex["i32"](store, Val.i64(1))
    with pytest.raises(TypeError):
        ex["fref"](store, 3)
    with pytest.raises(AttributeError, match="expected a Store or Caller"):  # as wasmtime-py
        ex["i32"]("not a store", 1)  # type: ignore[arg-type]


def test_objects_from_another_store(engine: Engine) -> None:
    s1, s2 = Store(engine), Store(engine)
    ex = instance(s1, NUMERIC).exports(s1)
    with pytest.raises(WasmtimeError, match="wrong store"):
        ex["i32"](s2, 1)
    f2 = Func(s2, FuncType([], []), lambda: None)
    with pytest.raises(WasmtimeError, match="wrong store"):
        ex["fref"](s1, f2)
    mem = Memory(s1, MemoryType(Limits(1, None)))
    with pytest.raises(WasmtimeError, match="wrong store"):
        mem.size(s2)
    m = module(engine, '(module (import "" "" (memory 1)))')
    with pytest.raises(WasmtimeError, match="cross-`Store` instantiation"):
        Instance(s2, m, [mem])
    with pytest.raises(WasmtimeError):
        instance(s1, NUMERIC).exports(s2)


def test_exports_mapping(store: Store) -> None:
    inst = instance(store, NUMERIC)
    ex = inst.exports(store)
    assert list(ex) == ["i32", "i64", "f32", "f64", "none", "multi", "ext", "fref", "isnull"]
    assert len(ex) == 9 and "f64" in ex and "nope" not in ex
    assert ex.by_index[0] is ex["i32"] and ex[1] is ex["i64"]
    assert ex.get("nope") is None
    assert ex["i64"].type(store) == FuncType([I64], [I64])
    assert inst.exports(store)["i32"] is ex["i32"]


# -- host functions ---------------------------------------------------------------------
HOST = """(module
  (import "h" "f" (func $f (param i32 i64 f32 f64) (result i32 i64 f32 f64)))
  (import "h" "g" (func $g (param i32) (result i32)))
  (import "h" "v" (func $v))
  (memory (export "memory") 1)
  (data (i32.const 16) "wasm data")
  (func (export "callf") (param i32 i64 f32 f64) (result i32 i64 f32 f64)
    local.get 0 local.get 1 local.get 2 local.get 3 call $f)
  (func (export "callg") (param i32) (result i32) local.get 0 call $g i32.const 1 i32.add)
  (func (export "callv") call $v)
)"""


def host_funcs(store: Store, g=lambda x: x * 2, v=lambda: None, f=None) -> list[Func]:  # noqa: ANN001
    return [Func(store, FuncType([I32, I64, F32, F64], [I32, I64, F32, F64]),
                 f or (lambda a, b, c, d: (a + 1, b * 2, c / 2, -d))),
            Func(store, FuncType([I32], [I32]), g),
            Func(store, FuncType([], []), v)]


def test_host_function_params_and_results(store: Store) -> None:
    ex = instance(store, HOST, host_funcs(store)).exports(store)
    assert ex["callf"](store, 1, 2**40, 3.0, 1.5) == [2, 2**41, 1.5, -1.5]
    assert ex["callg"](store, 20) == 41
    assert ex["callv"](store) is None
    # results given as a list and unsigned i32 are accepted; an int for a float is not
    # (wasmtime-py: "don't know how to convert 1 to f32")
    ex = instance(store, HOST, host_funcs(store, g=lambda x: 0xFFFFFFFF,
                                          f=lambda a, b, c, d: [a, b, 1.0, d])).exports(store)
    assert ex["callg"](store, 0) == 0  # 0xFFFFFFFF is -1 as i32, plus one
    assert ex["callf"](store, 1, 2, 3.0, 4.0) == [1, 2, 1.0, 4.0]
    ex = instance(store, HOST, host_funcs(store, f=lambda a, b, c, d: [a, b, 1, d])).exports(store)
    with pytest.raises(TypeError, match="don't know how to convert 1 to f32"):
        ex["callf"](store, 1, 2, 3.0, 4.0)


def test_host_function_called_directly(store: Store) -> None:
    f = Func(store, FuncType([I32, I32], [I32]), lambda a, b: a - b)
    assert f(store, 10, 3) == 7
    assert f.type(store) == FuncType([I32, I32], [I32])
    with pytest.raises(TypeError):
        Func(store, "not a type", lambda: None)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Func("not a store", FuncType([], []), lambda: None)  # type: ignore[arg-type]


def test_host_access_caller(store: Store) -> None:
    seen = []

    def g(caller: Caller, ptr: int) -> int:
        mem = caller["memory"]
        assert isinstance(mem, Memory)
        seen.append(bytes(mem.read(caller, ptr, ptr + 9)))
        assert caller.get("nope") is None
        with pytest.raises(KeyError):
            caller["nope"]
        mem.write(caller, b"HOST", ptr)
        return len(seen)

    funcs = host_funcs(store)
    funcs[1] = Func(store, FuncType([I32], [I32]), g, access_caller=True)
    inst = instance(store, HOST, funcs)
    ex = inst.exports(store)
    assert ex["callg"](store, 16) == 2
    assert seen == [b"wasm data"]
    assert ex["memory"].read(store, 16, 25) == bytearray(b"HOSTdata\0"[:4] + b" data")


def test_host_exception_propagates(store: Store) -> None:
    class Boom(Exception):
        pass

    def g(x: int) -> int:
        raise Boom(f"boom {x}")

    ex = instance(store, HOST, host_funcs(store, g=g)).exports(store)
    with pytest.raises(Boom, match="boom 5"):
        ex["callg"](store, 5)
    # the store is usable afterwards
    assert ex["callv"](store) is None


def test_host_raises_trap_and_exit_trap(store: Store) -> None:
    trap = Trap("custom trap from the host")
    ex = instance(store, HOST, host_funcs(store, v=lambda: (_ for _ in ()).throw(trap))
                  ).exports(store)
    with pytest.raises(Trap) as info:
        ex["callv"](store)
    assert info.value is trap

    def exit_(x: int) -> int:
        raise ExitTrap(3)

    ex = instance(store, HOST, host_funcs(store, g=exit_)).exports(store)
    with pytest.raises(ExitTrap) as e:
        ex["callg"](store, 0)
    assert e.value.code == 3


def test_host_bad_results(store: Store) -> None:
    ex = instance(store, HOST, host_funcs(store, g=lambda x: None, v=lambda: 5,
                                          f=lambda a, b, c, d: (1, 2))).exports(store)
    with pytest.raises(TypeError, match="don't know how to convert None to i32"):
        ex["callg"](store, 1)
    with pytest.raises(WasmtimeError, match="produced results when it shouldn't"):
        ex["callv"](store)
    with pytest.raises(WasmtimeError, match="wrong number of results"):
        ex["callf"](store, 1, 2, 3.0, 4.0)


def test_host_exception_through_nested_wasm(store: Store) -> None:
    """host -> wasm -> host raising: the exception reaches the outermost caller."""
    wat = """(module (import "h" "f" (func $f (param i32) (result i32)))
      (func (export "run") (param i32) (result i32) local.get 0 call $f))"""
    box: dict = {}

    def f(n: int) -> int:
        if n == 0:
            raise LookupError("bottom")
        return box["run"](store, n - 1) + 1

    box["run"] = instance(store, wat, [Func(store, FuncType([I32], [I32]), f)]).exports(store)["run"]
    with pytest.raises(LookupError, match="bottom"):
        box["run"](store, 5)
    box2 = {}

    def f2(n: int) -> int:
        return n if n == 0 else box2["run"](store, n - 1) + 1

    box2["run"] = instance(store, wat, [Func(store, FuncType([I32], [I32]), f2)]).exports(store)["run"]
    assert box2["run"](store, 20) == 20


# -- memory -----------------------------------------------------------------------------
MEM = """(module
  (memory (export "mem") 1 4)
  (func (export "load") (param i32) (result i32) local.get 0 i32.load)
  (func (export "store") (param i32 i32) local.get 0 local.get 1 i32.store)
  (func (export "grow") (param i32) (result i32) local.get 0 memory.grow)
  (func (export "size") (result i32) memory.size)
)"""


def test_memory_read_write_grow(store: Store) -> None:
    ex = instance(store, MEM).exports(store)
    mem = ex["mem"]
    assert mem.size(store) == 1 and mem.data_len(store) == 65536
    assert mem.type(store).limits == Limits(1, 4)
    assert mem.write(store, b"\x01\x02\x03\x04", 100) == 4
    assert ex["load"](store, 100) == 0x04030201
    ex["store"](store, 200, -1)
    assert mem.read(store, 200, 204) == bytearray(b"\xff" * 4)
    assert mem.read(store, -2) == bytearray(2)
    assert mem.read(store, 65530, 70000) == bytearray(6)
    with pytest.raises(IndexError):
        mem.write(store, b"ab", 65535)
    buf = mem.buffer(store)
    buf[300:303] = b"xyz"
    assert mem.read(store, 300, 303) == bytearray(b"xyz")
    assert bytes(mem.get_buffer_ptr(store, 3, 300)) == b"xyz"
    assert mem.data_ptr(store)[300] == ord("x")

    assert ex["grow"](store, 1) == 1
    assert mem.grow(store, 1) == 2
    assert ex["size"](store) == 3 and mem.data_len(store) == 3 * 65536
    ex["store"](store, 3 * 65536 - 4, 7)  # the new pages are accessible
    assert ex["load"](store, 3 * 65536 - 4) == 7
    assert ex["grow"](store, 2) == -1  # beyond the maximum of 4
    with pytest.raises(WasmtimeError, match="failed to grow memory by `2`"):
        mem.grow(store, 2)
    with pytest.raises(WasmtimeError, match="negative"):
        mem.grow(store, -1)
    assert ex["grow"](store, 0) == 3 and ex["grow"](store, 1) == 3
    assert mem.size(store) == 4


def test_memory_out_of_bounds_traps(store: Store) -> None:
    ex = instance(store, MEM).exports(store)
    for addr in (65533, 65536, -1):
        with pytest.raises(Trap) as info:
            ex["load"](store, addr)
        assert info.value.trap_code == TrapCode.MEMORY_OUT_OF_BOUNDS
        assert "wasm trap: out of bounds memory access" in str(info.value)
    assert ex["load"](store, 65532) == 0


def test_host_memory_imported(store: Store) -> None:
    mem = Memory(store, MemoryType(Limits(1, None)))
    mem.write(store, b"\x2a\0\0\0", 8)
    inst = instance(store, """(module (import "" "m" (memory 1))
        (func (export "load") (param i32) (result i32) local.get 0 i32.load)
        (func (export "grow") (param i32) (result i32) local.get 0 memory.grow))""", [mem])
    ex = inst.exports(store)
    assert ex["load"](store, 8) == 42
    assert ex["grow"](store, 2) == 1
    assert mem.size(store) == 3  # the host sees growth done by wasm
    assert ex["grow"](store, 70000) == -1
    with pytest.raises(WasmtimeError):
        MemoryType(Limits(70000, None))


# -- tables -----------------------------------------------------------------------------
TABLE = """(module
  (type $i2i (func (param i32) (result i32)))
  (table (export "t") 3 10 funcref)
  (func $double (export "double") (type $i2i) local.get 0 i32.const 2 i32.mul)
  (func $void (export "void"))
  (elem (i32.const 0) $double $void)
  (func (export "call") (param i32 i32) (result i32)
    local.get 1 local.get 0 call_indirect (type $i2i))
  (func (export "grow") (param i32) (result i32) ref.null func local.get 0 table.grow 0)
)"""


def test_table_and_call_indirect(store: Store) -> None:
    ex = instance(store, TABLE).exports(store)
    t = ex["t"]
    assert t.size(store) == 3
    assert t.get(store, 0) is ex["double"]
    # a null element is a Val (wasmtime-py), out of bounds None
    assert t.get(store, 2) == Val.funcref(None) and t.get(store, 99) is None
    assert ex["call"](store, 0, 21) == 42
    cases = [(1, TrapCode.BAD_SIGNATURE, "indirect call type mismatch"),
             (2, TrapCode.INDIRECT_CALL_TO_NULL, "uninitialized element"),
             (3, TrapCode.TABLE_OUT_OF_BOUNDS, "undefined element")]
    for idx, code, msg in cases:
        with pytest.raises(Trap) as info:
            ex["call"](store, idx, 1)
        assert info.value.trap_code == code and msg in str(info.value)
    host = Func(store, FuncType([I32], [I32]), lambda x: x + 100)
    t.set(store, 2, host)
    assert ex["call"](store, 2, 1) == 101
    assert t.grow(store, 2, host) == 3 and t.size(store) == 5
    assert ex["call"](store, 4, 5) == 105
    assert ex["grow"](store, 1) == 5 and t.get(store, 5).value is None
    assert ex["grow"](store, 100) == -1
    with pytest.raises(WasmtimeError, match="failed to grow table"):
        t.grow(store, 100, None)
    with pytest.raises(WasmtimeError, match="out of bounds"):
        t.set(store, 50, None)
    with pytest.raises(TypeError):
        t.set(store, 0, "not a func")


def test_externref_table(store: Store) -> None:
    t = Table(store, TableType(EXTERNREF, Limits(2, None)), "init")
    assert t.get(store, 0) == "init" and t.get(store, 1) == "init"
    obj = object()
    t.set(store, 1, obj)
    ex = instance(store, """(module (import "" "t" (table 1 externref))
        (func (export "get") (param i32) (result externref) local.get 0 table.get 0)
        (func (export "size") (result i32) table.size 0))""", [t]).exports(store)
    assert ex["get"](store, 1) is obj
    assert ex["size"](store) == 2
    t.set(store, 0, None)
    assert ex["get"](store, 0) is None


# -- globals ----------------------------------------------------------------------------
GLOBALS = """(module
  (import "h" "imm" (global $imm i32))
  (import "h" "mut" (global $mut (mut i64)))
  (global $g (export "g") (mut f64) (f64.const 1.5))
  (global (export "copy") i32 (global.get $imm))
  (global (export "c") f32 (f32.const -2.5))
  (func (export "read_mut") (result i64) global.get $mut)
  (func (export "bump") global.get $mut i64.const 1 i64.add global.set $mut)
  (func (export "read_g") (result f64) global.get $g)
)"""


def test_globals(store: Store) -> None:
    imm = Global(store, GlobalType(I32, False), 42)
    mut = Global(store, GlobalType(I64, True), -7)
    ex = instance(store, GLOBALS, [imm, mut]).exports(store)
    assert ex["copy"].value(store) == 42
    assert ex["c"].value(store) == -2.5
    assert ex["c"].type(store) == GlobalType(F32, False)
    assert ex["read_mut"](store) == -7
    ex["bump"](store)
    assert mut.value(store) == -6
    mut.set_value(store, 2**62)
    assert ex["read_mut"](store) == 2**62
    g = ex["g"]
    assert g.value(store) == 1.5
    g.set_value(store, 0.25)
    assert ex["read_g"](store) == 0.25
    with pytest.raises(WasmtimeError, match="immutable global cannot be set"):
        imm.set_value(store, 1)
    with pytest.raises(TypeError):
        g.set_value(store, "x")
    with pytest.raises(TypeError):
        Global(store, "not a type", 1)  # type: ignore[arg-type]
    ref = Global(store, GlobalType(EXTERNREF, True), None)
    assert ref.value(store) == Val.externref(None) and ref.value(store).value is None
    ref.set_value(store, [1])
    assert ref.value(store) == [1]


# -- start function, segments -----------------------------------------------------------
def test_start_function_runs_and_traps(store: Store) -> None:
    calls = []
    f = Func(store, FuncType([I32], []), calls.append)
    instance(store, """(module (import "" "f" (func $f (param i32)))
        (func $start i32.const 9 call $f) (start $start))""", [f])
    assert calls == [9]
    with pytest.raises(Trap) as info:
        instance(store, "(module (func $s unreachable) (start $s))")
    assert info.value.trap_code == TrapCode.UNREACHABLE


def test_data_and_elem_segments(store: Store) -> None:
    base = Global(store, GlobalType(I32, False), 2)
    ex = instance(store, """(module
      (import "" "base" (global $base i32))
      (memory (export "mem") 1)
      (table (export "t") 4 funcref)
      (func $a (result i32) i32.const 1)
      (func $b (result i32) i32.const 2)
      (data (i32.const 4) "abc")
      (data (global.get $base) "Z")
      (data $passive "passive!")
      (elem (global.get $base) $b $a)
      (elem $pe func $a $b)
      (elem declare func $a)
      (func (export "init") (param i32) (memory.init $passive (local.get 0) (i32.const 0) (i32.const 8)))
      (func (export "drop") data.drop $passive)
      (func (export "tinit") (param i32) (table.init $pe (local.get 0) (i32.const 0) (i32.const 2)))
      (func (export "edrop") elem.drop $pe)
      (func (export "call") (param i32) (result i32) local.get 0 call_indirect (result i32))
      (func (export "copy") (table.copy (i32.const 0) (i32.const 2) (i32.const 2)))
      (func (export "fill") (param i32) (memory.fill (local.get 0) (i32.const 0x41) (i32.const 3)))
    )""", [base]).exports(store)
    mem = ex["mem"]
    assert mem.read(store, 0, 8) == bytearray(b"\0\0Z\0abc\0")
    assert ex["call"](store, 2) == 2 and ex["call"](store, 3) == 1
    ex["init"](store, 100)
    assert mem.read(store, 100, 108) == bytearray(b"passive!")
    with pytest.raises(Trap, match="out of bounds memory access"):
        ex["init"](store, 65530)
    ex["drop"](store)
    with pytest.raises(Trap, match="out of bounds memory access"):
        ex["init"](store, 0)
    ex["tinit"](store, 0)
    assert ex["call"](store, 0) == 1 and ex["call"](store, 1) == 2
    with pytest.raises(Trap) as info:
        ex["tinit"](store, 3)
    assert info.value.trap_code == TrapCode.TABLE_OUT_OF_BOUNDS
    ex["edrop"](store)
    with pytest.raises(Trap):
        ex["tinit"](store, 0)
    ex["copy"](store)
    assert ex["t"].get(store, 0) is ex["t"].get(store, 2)
    ex["fill"](store, 10)
    assert mem.read(store, 10, 13) == bytearray(b"AAA")


def test_segment_out_of_bounds_keeps_earlier_segments(store: Store) -> None:
    """Spec 2.0: segments are applied in order; a failing one traps after the earlier
    ones were written (visible through an imported memory / table)."""
    mem = Memory(store, MemoryType(Limits(1, None)))
    wat = """(module (import "" "m" (memory 1))
      (data (i32.const 0) "first") (data (i32.const 65534) "toolong") (data (i32.const 10) "third"))"""
    with pytest.raises(Trap) as info:
        instance(store, wat, [mem])
    assert info.value.trap_code == TrapCode.MEMORY_OUT_OF_BOUNDS
    assert mem.read(store, 0, 5) == bytearray(b"first")
    assert mem.read(store, 10, 15) == bytearray(5)

    table = Table(store, TableType(FUNCREF, Limits(2, None)), None)
    wat = """(module (import "" "t" (table 2 funcref)) (import "" "m" (memory 1))
      (func $f) (elem (i32.const 0) $f) (elem (i32.const 1) $f $f)
      (data (i32.const 20) "never"))"""
    with pytest.raises(Trap, match="out of bounds table access"):
        instance(store, wat, [table, mem])
    assert isinstance(table.get(store, 0), Func) and table.get(store, 1).value is None
    assert mem.read(store, 20, 25) == bytearray(5)


# -- traps ------------------------------------------------------------------------------
TRAPS = """(module $traps
  (memory 1)
  (func $unreachable (export "unreachable") unreachable)
  (func $div_s (export "div_s") (param i32 i32) (result i32) local.get 0 local.get 1 i32.div_s)
  (func $rem_u (export "rem_u") (param i64 i64) (result i64) local.get 0 local.get 1 i64.rem_u)
  (func $trunc (export "trunc") (param f64) (result i32) local.get 0 i32.trunc_f64_s)
  (func $load (export "load") (param i32) (result i64) local.get 0 i64.load offset=8)
  (func $inner (export "nested") call $unreachable)
)"""


@pytest.mark.parametrize("name,args,code", [
    ("unreachable", (), TrapCode.UNREACHABLE),
    ("div_s", (1, 0), TrapCode.INTEGER_DIVISION_BY_ZERO),
    ("div_s", (-2**31, -1), TrapCode.INTEGER_OVERFLOW),
    ("rem_u", (1, 0), TrapCode.INTEGER_DIVISION_BY_ZERO),
    ("trunc", (1e10,), TrapCode.INTEGER_OVERFLOW),
    ("trunc", (math.nan,), TrapCode.BAD_CONVERSION_TO_INTEGER),
    ("load", (65530,), TrapCode.MEMORY_OUT_OF_BOUNDS),
])
def test_trap_kinds_match_wasmtime(store: Store, name: str, args: tuple, code: TrapCode) -> None:
    ex = instance(store, TRAPS).exports(store)
    with pytest.raises(Trap) as info:
        ex[name](store, *args)
    trap = info.value
    assert trap.trap_code == code
    ref_store = wasmtime.Store()
    ref = wasmtime.Instance(ref_store, wasmtime.Module(ref_store.engine, TRAPS), [])
    with pytest.raises(wasmtime.Trap) as ref_info:
        ref.exports(ref_store)[name](ref_store, *args)
    assert ref_info.value.message.endswith(trap.trap_message + "\n") or \
        ref_info.value.message.endswith(trap.trap_message)
    assert trap.frames and trap.frames[0].func_name == name


def test_trap_backtrace() -> None:
    config = Config()
    config.opt_level = "0"  # no inlining: every wasm frame is a native frame
    store = Store(Engine(config))
    m = module(store.engine, TRAPS)
    ex = Instance(store, m, []).exports(store)
    with pytest.raises(Trap) as info:
        ex["nested"](store)
    frames = info.value.frames
    assert [f.func_name for f in frames] == ["unreachable", "inner"]
    assert [f.func_index for f in frames] == [0, 5]
    assert frames[0].module_name == "traps"
    codes = m._info.codes
    for f in frames:  # each frame points into its function's code entry
        assert codes[f.func_index].offset < f.module_offset < codes[f.func_index].body_end
        assert f.func_offset >= 0
    text = str(info.value)
    assert "wasm backtrace" in text and "traps!unreachable" in text and "traps!inner" in text


def test_guest_recursion_exhausts_stack(store: Store) -> None:
    # not a tail call: the result is used after the recursive call
    ex = instance(store, """(module (global $g (mut i32) (i32.const 0))
      (func $r (export "r") (param i32) (result i32)
        local.get 0 i32.const 1 i32.add call $r global.get $g i32.add global.set $g
        i32.const 0))""").exports(store)
    for _ in range(2):  # the store stays usable after a stack overflow
        with pytest.raises(Trap) as info:
            ex["r"](store, 0)
        assert info.value.trap_code == TrapCode.STACK_OVERFLOW
        assert "call stack exhausted" in str(info.value)


def test_host_guest_recursion_exhausts_stack(store: Store) -> None:
    wat = """(module (import "h" "f" (func $f (param i32) (result i32)))
      (func (export "run") (param i32) (result i32) local.get 0 i32.const 1 i32.add call $f))"""
    box: dict = {}
    f = Func(store, FuncType([I32], [I32]), lambda n: box["run"](store, n))
    box["run"] = instance(store, wat, [f]).exports(store)["run"]
    with pytest.raises(Trap) as info:
        box["run"](store, 0)
    assert info.value.trap_code == TrapCode.STACK_OVERFLOW
    assert "call stack exhausted" in str(info.value)
    assert box["run"].type(store) == FuncType([I32], [I32])


def test_host_guest_recursion_hits_native_limit() -> None:
    """With a small ``max_wasm_stack`` the native limit is reached long before Python's
    recursion limit: the native stack check sees host frames between wasm frames."""
    config = Config()
    config.max_wasm_stack = 256 * 1024
    store = Store(Engine(config))
    wat = """(module (import "h" "f" (func $f (param i32) (result i32)))
      (func (export "run") (param i32) (result i32) local.get 0 i32.const 1 i32.add call $f))"""
    depth = []

    def f(n: int) -> int:
        depth.append(n)
        return box["run"](store, n)

    box: dict = {}
    box["run"] = instance(store, wat, [Func(store, FuncType([I32], [I32]), f)]).exports(store)["run"]
    with pytest.raises(Trap) as info:
        box["run"](store, 0)
    assert info.value.trap_code == TrapCode.STACK_OVERFLOW
    assert 5 < len(depth) < 150


def test_small_max_wasm_stack() -> None:
    config = Config()
    config.max_wasm_stack = 64 * 1024
    engine = Engine(config)
    store = Store(engine)
    wat = """(module (func $r (export "r") (param i32) (result i32)
        local.get 0 i32.eqz if (result i32) i32.const 0 else
        local.get 0 i32.const 1 i32.sub call $r i32.const 1 i32.add end))"""
    r = instance(store, wat).exports(store)["r"]
    assert r(store, 100) == 100
    with pytest.raises(Trap, match="call stack exhausted"):
        r(store, 1_000_000)


# -- linking ----------------------------------------------------------------------------
IMPORTS = """(module
  (import "m" "f" (func (param i32)))
  (import "m" "g" (global (mut i32)))
  (import "m" "mem" (memory 1 2))
  (import "m" "t" (table 1 funcref)))"""


def test_instance_link_errors(store: Store) -> None:
    m = module(store.engine, IMPORTS)
    f = Func(store, FuncType([I32], []), lambda x: None)
    g = Global(store, GlobalType(I32, True), 0)
    mem = Memory(store, MemoryType(Limits(1, 2)))
    t = Table(store, TableType(FUNCREF, Limits(1, None)), None)
    Instance(store, m, [f, g, mem, t])
    with pytest.raises(WasmtimeError, match="expected 4 imports, found 0"):
        Instance(store, m, [])
    with pytest.raises(TypeError):
        Instance(store, m, [f, g, mem, 3])
    bad = [
        ([Func(store, FuncType([], []), lambda: None), g, mem, t],
         "types incompatible: expected type `(func (param i32))`, found type `(func)`"),
        ([f, Global(store, GlobalType(I32, False), 0), mem, t],
         "expected mutable global, found immutable global"),
        ([f, Global(store, GlobalType(I64, True), 0), mem, t], "global types incompatible"),
        ([f, g, Memory(store, MemoryType(Limits(1, None))), t],
         "expected memory limits (min: 1, max: 2) doesn't match provided memory limits "
         "(min: 1, max: none)"),
        ([f, g, mem, Table(store, TableType(EXTERNREF, Limits(1, None)), None)],
         "expected table of type `funcref`, found table of type `externref`"),
        ([g, g, mem, t], "expected func, but found global"),
    ]
    for imports, why in bad:
        with pytest.raises(WasmtimeError) as info:
            Instance(store, m, imports)
        assert str(info.value).startswith("incompatible import type for `m::")
        assert why in str(info.value)


def test_linker(store: Store) -> None:
    engine = store.engine
    linker = Linker(engine)
    got = []
    linker.define_func("m", "f", FuncType([I32], []), got.append)
    m = module(engine, IMPORTS)
    with pytest.raises(WasmtimeError, match=r"unknown import: `m::g` has not been defined"):
        linker.instantiate(store, m)
    linker.define(store, "m", "g", Global(store, GlobalType(I32, True), 5))
    linker.define(store, "m", "mem", Memory(store, MemoryType(Limits(1, 1))))
    linker.define(store, "m", "t", Table(store, TableType(FUNCREF, Limits(1, None)), None))
    linker.instantiate(store, m)
    with pytest.raises(WasmtimeError, match="import of `m::f` defined twice"):
        linker.define_func("m", "f", FuncType([], []), lambda: None)
    linker.allow_shadowing = True
    linker.define_func("m", "f", FuncType([], []), lambda: None)
    with pytest.raises(WasmtimeError, match="incompatible import type for `m::f`"):
        linker.instantiate(store, m)
    assert isinstance(linker.get(store, "m", "g"), Global)
    with pytest.raises(WasmtimeError):
        linker.get(store, "m", "absent")

    # define_instance + get_default + a module importing another instance's exports
    provider = instance(store, """(module (memory (export "memory") 1)
        (func (export "") (result i32) i32.const 11)
        (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add))""")
    linker.define_instance(store, "prov", provider)
    assert linker.get_default(store, "prov")(store) == 11
    assert linker.get_default(store, "nothing")(store) is None
    user = linker.instantiate(store, module(engine, """(module
        (import "prov" "add" (func $add (param i32 i32) (result i32)))
        (func (export "run") (result i32) i32.const 2 i32.const 3 call $add))"""))
    assert user.exports(store)["run"](store) == 5
    # define_func functions work in any store of the engine
    other = Store(engine)
    linker2 = Linker(engine)
    linker2.define_func("m", "f", FuncType([I32], [I32]), lambda x: x * 3)
    wat = """(module (import "m" "f" (func $f (param i32) (result i32)))
        (func (export "run") (param i32) (result i32) local.get 0 call $f))"""
    for s in (store, other):
        assert linker2.instantiate(s, module(engine, wat)).exports(s)["run"](s, 4) == 12


def test_linker_access_caller_sees_importing_instance(store: Store) -> None:
    linker = Linker(store.engine)

    def peek(caller: Caller, ptr: int) -> int:
        return caller["memory"].read(caller, ptr, ptr + 1)[0]

    linker.define_func("h", "peek", FuncType([I32], [I32]), peek, access_caller=True)
    wat = """(module (import "h" "peek" (func $p (param i32) (result i32)))
      (memory (export "memory") 1) (data (i32.const 0) "%s")
      (func (export "run") (result i32) i32.const 0 call $p))"""
    a = linker.instantiate(store, module(store.engine, wat % "A"))
    b = linker.instantiate(store, module(store.engine, wat % "B"))
    assert a.exports(store)["run"](store) == ord("A")
    assert b.exports(store)["run"](store) == ord("B")


# -- config, values ---------------------------------------------------------------------
def test_config(tmp_path, monkeypatch) -> None:  # noqa: ANN001
    c = Config()
    assert c.opt_level == "2" and c.cranelift_opt_level == "speed"
    assert (c.consume_fuel, c.epoch_interruption, c.cache, c.strategy) == (False, False, None, "auto")
    assert c.wasm_simd and c.wasm_reference_types and c.wasm_relaxed_simd
    c.cranelift_opt_level = "none"
    assert c.opt_level == "0"
    c.cranelift_opt_level = "speed_and_size"
    assert c.opt_level == "s"
    c.opt_level = "1"
    with pytest.raises(WasmtimeError):
        c.opt_level = "3"
    with pytest.raises(WasmtimeError):
        c.cranelift_opt_level = "fast"
    c.wasm_simd = True
    c.consume_fuel = False
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    c.cache = True  # the default directory
    assert c.cache == str(tmp_path / "xdg" / "wasmlite")
    toml = tmp_path / "cache.toml"
    toml.write_text('[cache]\ndirectory = "' + str(tmp_path / "cachedir") + '"\n')
    c.cache = str(toml)
    assert c.cache == str(tmp_path / "cachedir")
    c.epoch_interruption = 1  # any value, for its truth (as wasmtime-py)
    assert c.epoch_interruption is True
    c.epoch_interruption = False
    with pytest.raises(TypeError):
        Engine("config")  # type: ignore[arg-type]
    e = Engine(c)
    assert e._opt_level == "1"
    s = Store(e)
    assert instance(s, NUMERIC).exports(s)["i32"](s, 1) == 2


def test_val() -> None:
    assert Val.i32(0xFFFFFFFF).value == -1
    assert Val.i64(2**64 - 1).value == -1
    assert Val.f32(0.1).value == f32(0.1)
    assert Val.f64(0.1).value == 0.1
    assert Val.i32(1).type == I32 and Val.funcref(None).type == FUNCREF
    assert Val.ref_null(EXTERNREF).value is None
    with pytest.raises(WasmtimeError):
        Val.ref_null(I32)
    with pytest.raises(TypeError):
        Val.i32(1.0)  # type: ignore[arg-type]
    assert Val.i32(3) == Val.i32(3) and Val.i32(3) != Val.i64(3)
    assert Val.i64(5).as_i64() == 5 and Val.i64(5).as_i32() is None


def test_store_data_and_types() -> None:
    s = Store(data={"x": 1})
    assert s.data() == {"x": 1}
    with pytest.raises(TypeError):
        Store("engine")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        FuncType([1], [])  # type: ignore[list-item]
    assert str(FuncType([I32], [F64])) == "(func (param i32) (result f64))"
    assert str(ValType.externref()) == "externref"
    assert wl.WasiConfig is not None


def test_module_from_wat_text(engine: Engine) -> None:
    m = Module(engine, '(module (func (export "f") (result i32) i32.const 5))')
    s = Store(engine)
    assert Instance(s, m, []).exports(s)["f"](s) == 5


def test_define_unknown_imports_as_traps(store: Store) -> None:
    linker = Linker(store.engine)
    m = module(store.engine, """(module (import "x" "missing" (func $m))
        (func (export "run") call $m))""")
    linker.define_unknown_imports_as_traps(m)
    with pytest.raises(WasmtimeError, match="x::missing"):  # wasmtime-py: not a Trap
        linker.instantiate(store, m).exports(store)["run"](store)


def test_wasi_proc_exit_is_exit_trap(engine: Engine) -> None:
    store = Store(engine)
    store.set_wasi(wl.WasiConfig())
    assert store.wasi_ctx is not None
    linker = Linker(engine)
    linker.define_wasi()
    m = module(engine, """(module
        (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
        (memory (export "memory") 1)
        (func (export "_start") i32.const 7 call $exit unreachable))""")
    with pytest.raises(ExitTrap) as info:
        linker.instantiate(store, m).exports(store)["_start"](store)
    assert info.value.code == 7


def test_call_raw_keeps_nan_payloads(store: Store) -> None:
    ex = instance(store, """(module
      (global (export "g") f32 (f32.const nan:0x200001))
      (func (export "f32") (param f32) (result f32) local.get 0)
      (func (export "pair") (param i32 f64) (result f64 i32) local.get 1 local.get 0)
      (func (export "neg") (param f32) (result f32) local.get 0 f32.neg))""").exports(store)
    snan = 0x7FA00001  # a signalling NaN: lost when converted to a Python float
    assert ex["f32"].call_raw(store, snan) == [snan]
    assert ex["neg"].call_raw(store, snan) == [snan | 0x80000000]
    assert ex["pair"].call_raw(store, 0xFFFFFFFF, 0x7FF0000000000001) == [0x7FF0000000000001,
                                                                          0xFFFFFFFF]
    assert ex["g"].raw_value(store) == 0x7FA00001
    with pytest.raises(WasmtimeError):
        ex["f32"].call_raw(store)


def test_deep_recursion_on_small_thread_stack() -> None:
    """max_wasm_stack is capped to the thread stack size: a deep recursion on a thread
    with a 1 MiB stack traps instead of overflowing the native stack."""
    import threading

    config = Config()
    config.max_wasm_stack = 64 << 20  # far more than the thread has
    engine = Engine(config)
    old = threading.stack_size(1 << 20)
    try:
        store = Store(engine)
        r = instance(store, """(module (func $r (export "r") (param i32) (result i32)
            local.get 0 i32.eqz if (result i32) i32.const 0 else
            local.get 0 i32.const 1 i32.sub call $r i32.const 1 i32.add end))""").exports(store)["r"]
        result: list = []

        def run() -> None:
            try:
                result.append(r(store, 10_000_000))
            except Trap as t:
                result.append(t)

        t = threading.Thread(target=run)
        t.start()
        t.join()
    finally:
        threading.stack_size(old)
    assert isinstance(result[0], Trap) and result[0].trap_code == TrapCode.STACK_OVERFLOW


def test_caller_is_a_store_and_expires(store: Store) -> None:
    kept: list = []

    def g(caller: Caller, x: int) -> int:
        kept.append(caller)
        assert caller.store is store
        # a Caller works wherever a store is expected, including calling wasm again
        inner = caller["inner"]
        return inner(caller, x) + caller["memory"].size(caller)

    wat = """(module (import "h" "g" (func $g (param i32) (result i32)))
      (memory (export "memory") 2)
      (func (export "inner") (param i32) (result i32) local.get 0 i32.const 10 i32.mul)
      (func (export "run") (param i32) (result i32) local.get 0 call $g))"""
    ex = instance(store, wat, [Func(store, FuncType([I32], [I32]), g, access_caller=True)]
                  ).exports(store)
    assert ex["run"](store, 4) == 42
    assert kept[0].get("memory") is None  # only valid during the call
