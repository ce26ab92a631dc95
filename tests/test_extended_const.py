"""WebAssembly 3.0 constant expressions (spec 3.0 §3.3.10 "Constant Expressions"),
side by side with wasmtime-py 50: the extended-const instructions (``i32``/``i64``
``add``, ``sub``, ``mul``, wrapping) in global initializers and segment offsets and
items; ``global.get`` of earlier defined globals (3.0 §3.4.10); offsets that then trap
at instantiation; the switches turned off.

``Config.wasm_extended_const`` (Wasmtime's ``Config::wasm_extended_const``) is not
exposed by wasmtime-py 50 nor by Wasmtime's C API, so with it off wasmlite is compared
with the message wasmparser gives for it ("constant expression required: non-constant
operator: i32.add").  ``global.get`` of defined globals is tied in Wasmtime to
``wasm_gc`` (wasmparser checks ``features.gc()``), which both switch off.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
import wasmtime as _wasmtime

import wasmlite as _wasmlite
from wasmlite.text import wat2wasm

IMPLS = {"wasmtime": _wasmtime, "wasmlite": _wasmlite}

#: globals computed from two imported ones and from each other; i32/i64 wrapping at
#: both ends; exported, and read back by functions (compiled code sees the same values)
GLOBALS_WAT = """(module
  (global $i (import "env" "i") i32)
  (global $l (import "env" "l") i64)
  (global $a (export "a") i32 (i32.add (i32.const 0x7fffffff) (i32.const 1)))
  (global $b (export "b") i32 (i32.sub (i32.const 0) (i32.const 1)))
  (global $c (export "c") i32 (i32.mul (i32.const 0x10000) (i32.const 0x10001)))
  (global $d (export "d") i64 (i64.add (i64.const 0x7fffffffffffffff) (i64.const 1)))
  (global $e (export "e") i64 (i64.sub (i64.const -0x8000000000000000) (i64.const 1)))
  (global $f (export "f") i64 (i64.mul (i64.const 0x100000001) (i64.const 0x100000001)))
  (global $g (export "g") i32
    (i32.mul (i32.const 2) (i32.add (i32.sub (global.get $i) (i32.const 665))
                                    (i32.const 2))))
  (global $h (export "h") i32 (global.get $g))
  (global $j (export "j") i32 (i32.add (global.get $h) (global.get $a)))
  (global $k (export "k") i64 (i64.mul (global.get $l) (global.get $f)))
  (global $m (export "m") (mut i64) (i64.sub (global.get $k) (global.get $e)))
  (global $n (export "n") i32 i32.const 7 global.get $c i32.sub i32.const 3 i32.mul)
  (func (export "get_j") (result i32) (global.get $j))
  (func (export "get_m") (result i64) (global.get $m)))"""

GLOBAL_NAMES = "abcdefghjkmn"


def _imports(rt: Any, store: Any, i32: int, i64: int) -> list[Any]:
    return [rt.Global(store, rt.GlobalType(rt.ValType.i32(), False), rt.Val.i32(i32)),
            rt.Global(store, rt.GlobalType(rt.ValType.i64(), False), rt.Val.i64(i64))]


def _globals(rt: Any, config: Any, i32: int, i64: int) -> list[Any]:
    store = rt.Store(rt.Engine(config))
    inst = rt.Instance(store, rt.Module(store.engine, GLOBALS_WAT),
                       _imports(rt, store, i32, i64))
    ex = inst.exports(store)
    return ([(n, ex[n].value(store)) for n in GLOBAL_NAMES]
            + [("get_j", ex["get_j"](store)), ("get_m", ex["get_m"](store))])


@pytest.mark.parametrize("strategy", ["auto", "cranelift"])
@pytest.mark.parametrize("i32, i64", [(666, 3), (-0x80000000, -0x8000000000000000),
                                      (0x7fffffff, 0x7fffffffffffffff)])
def test_global_initializers_like_wasmtime(strategy: str, i32: int, i64: int) -> None:
    """Wrapping arithmetic and chains of ``global.get``: the values of every global and
    what compiled code reads, for imports at the ends of their ranges."""
    expected = _globals(_wasmtime, _wasmtime.Config(), i32, i64)
    config = _wasmlite.Config()
    config.strategy = strategy
    assert _globals(_wasmlite, config, i32, i64) == expected
    values = dict(expected)
    # the arithmetic wraps: the spec's values, not Python's
    assert values["a"] == -0x80000000 and values["b"] == -1 and values["c"] == 0x10000
    assert values["d"] == -0x8000000000000000 and values["e"] == 0x7fffffffffffffff
    assert values["f"] == 0x200000001  # (2^32 + 1)^2 mod 2^64
    if i32 == 666:
        assert values["g"] == values["h"] == 6


#: data and element segments placed by computed offsets (an imported global, defined
#: globals, plain arithmetic), element items computed too
SEGMENTS_WAT = """(module
  (global $base (import "env" "i") i32)
  (global $four i32 (i32.const 4))
  (global $at i32 (i32.mul (global.get $four) (i32.const 3)))
  (memory (export "mem") 1)
  (table (export "tab") 10 funcref)
  (func $f1 (result i32) (i32.const 11))
  (func $f2 (result i32) (i32.const 22))
  (global $fr funcref (ref.func $f2))
  (data (i32.add (i32.mul (global.get $base) (i32.const 16))
                 (i32.mul (global.get $four) (i32.const 3))) "16base+12")
  (data (global.get $at) "at12")
  (data (offset i32.const 100 i32.const 1 i32.sub) "99")
  (data (offset (i32.sub (i32.const 0x10000) (i32.const 3))) "end")
  (elem (offset (i32.sub (global.get $four) (i32.const 3))) func $f1 $f2)
  (elem (table 0) (i32.add (global.get $base) (i32.const 1)) funcref
    (item ref.func $f2) (item (ref.null func)) (item global.get $fr))
  (func (export "call") (param i32) (result i32)
    (call_indirect (result i32) (local.get 0))))"""


def _segments(rt: Any, base: int) -> list[Any]:
    store = rt.Store(rt.Engine())
    inst = rt.Instance(store, rt.Module(store.engine, SEGMENTS_WAT),
                       [rt.Global(store, rt.GlobalType(rt.ValType.i32(), False),
                                  rt.Val.i32(base))])
    ex = inst.exports(store)
    out: list[Any] = [bytes(ex["mem"].read(store, 0, 128)),
                      bytes(ex["mem"].read(store, 0xfff0, 0x10000))]
    for k in range(10):
        try:
            out.append((k, ex["call"](store, k)))
        except rt.Trap as e:
            out.append((k, str(e.trap_code)))
    return out


@pytest.mark.parametrize("base", [2, 3, 6])
def test_segment_offsets_like_wasmtime(base: int) -> None:
    """Where the data land and what each table slot calls, offsets and items computed
    from the import ``base``, defined globals and constants."""
    expected = _segments(_wasmtime, base)
    assert _segments(_wasmlite, base) == expected
    assert expected[0][12:16] == b"at12" and expected[0][99:101] == b"99"
    assert expected[0][16 * base + 12:16 * base + 21] == b"16base+12"
    assert expected[1].endswith(b"end")
    assert (1, 11) in expected and (2, 22) in expected and (base + 1, 22) in expected


def test_constant_offsets_fold_into_the_memory_image() -> None:
    """Offsets that read defined globals are known before instantiation (the template
    folds constant globals), so the data go into the copy-on-write memory image."""
    wat = """(module (global $a i32 (i32.const 8))
      (global $b i32 (i32.mul (global.get $a) (i32.const 2)))
      (global $c (mut i32) (global.get $b))
      (memory (export "mem") 1) (data (global.get $b) "hi")
      (table 20 funcref) (elem (i32.add (global.get $b) (i32.const 1)) $f) (func $f))"""
    engine = _wasmlite.Engine()
    module = _wasmlite.Module(engine, wat)
    template = module._instance_template()
    assert template.constant_globals == {0: 8, 1: 16, 2: 16}
    assert template.global_exprs == []
    assert template.memory_images is not None and template.memory_images[0] is not None
    assert template.memory_images[0].segments == [(16, b"hi")]
    assert [plan.offset for plan in template.elems] == [17]
    store = _wasmlite.Store(engine)
    inst = _wasmlite.Instance(store, module, [])
    assert inst.exports(store)["mem"].read(store, 16, 18) == b"hi"


def _trap(rt: Any, wat: str, base: int) -> tuple[Any, ...]:
    """Instantiate ``wat`` over an imported memory and table; the trap (or ``None``) and
    what the earlier segments left in them (bytes around 0x8000, which table elements
    hold a function)."""
    store = rt.Store(rt.Engine())
    mem = rt.Memory(store, rt.MemoryType(rt.Limits(1, None)))
    tab = rt.Table(store, rt.TableType(rt.ValType.funcref(), rt.Limits(4, None)), None)
    g = rt.Global(store, rt.GlobalType(rt.ValType.i32(), False), rt.Val.i32(base))
    trap = None
    try:
        rt.Instance(store, rt.Module(store.engine, wat), [mem, tab, g])
    except rt.Trap as e:
        trap = (str(e.trap_code), str(e).strip().splitlines()[0])
    return (trap, bytes(mem.read(store, 0x7ff0, 0x8010)),
            [isinstance(tab.get(store, k), rt.Func) for k in range(4)])


TRAP_WATS = [
    # memory: offset 0x8000 * 2 = 0x10000, so its byte is past the end; the first
    # segment stays applied
    """(module (import "m" "mem" (memory 1)) (import "m" "tab" (table 4 funcref))
      (import "m" "g" (global $g i32))
      (global $k i32 (i32.const 0x8000))
      (data (i32.add (global.get $k) (i32.const 1)) "ab")
      (data (i32.mul (global.get $k) (i32.const 2)) "c"))""",
    # 0 - 1 wraps to 0xffffffff: an unsigned offset far out of bounds
    """(module (import "m" "mem" (memory 1)) (import "m" "tab" (table 4 funcref))
      (import "m" "g" (global $g i32))
      (data (i32.const 0x7ff8) "x")
      (data (i32.sub (i32.const 0) (i32.const 1)) "y"))""",
    # an offset from the imported global: in bounds or not depending on its value
    """(module (import "m" "mem" (memory 1)) (import "m" "tab" (table 4 funcref))
      (import "m" "g" (global $g i32))
      (data (i32.sub (i32.mul (global.get $g) (i32.const 0x100)) (i32.const 2)) "zz"))""",
    # table: the element segment's computed offset is past the table's 4 elements
    """(module (import "m" "mem" (memory 1)) (import "m" "tab" (table 4 funcref))
      (import "m" "g" (global $g i32))
      (func $f)
      (elem (i32.const 0) $f)
      (elem (i32.add (global.get $g) (i32.const -0x7e)) $f $f)
      (data (i32.const 0x8000) "never"))""",
]


@pytest.mark.parametrize("base", [0x80, 0x100, 0x101])
@pytest.mark.parametrize("wat", TRAP_WATS)
def test_computed_offset_traps_like_wasmtime(wat: str, base: int) -> None:
    """The trap (code and message) and what the segments before it left in the imported
    memory and table."""
    expected = _trap(_wasmtime, wat, base)
    assert _trap(_wasmlite, wat, base) == expected


def test_computed_offsets_trap() -> None:
    """The cases above do trap (so the comparison covers the traps)."""
    memory = ("TrapCode.MEMORY_OUT_OF_BOUNDS", "wasm trap: out of bounds memory access")
    table = ("TrapCode.TABLE_OUT_OF_BOUNDS",
             "wasm trap: undefined element: out of bounds table access")
    for rt in IMPLS.values():
        assert [_trap(rt, wat, 0x101)[0] for wat in TRAP_WATS] == [memory] * 3 + [table]
        assert [_trap(rt, wat, 0x80)[0] for wat in TRAP_WATS[2:]] == [None, None]
        assert _trap(rt, TRAP_WATS[2], 0x100)[0] is None  # ends exactly at the end
        # the segments before the one that traps stay applied (imported memory, table)
        trap, mem, _ = _trap(rt, TRAP_WATS[0], 0)
        assert trap == memory and mem[0x11:0x13] == b"ab"
        trap, mem, funcs = _trap(rt, TRAP_WATS[3], 0x81)
        assert trap == table and funcs == [True, False, False, False]
        assert b"never" not in mem
        assert _trap(rt, TRAP_WATS[3], 0x80)[2] == [True, False, True, True]


@pytest.mark.parametrize("rt", list(IMPLS.values()), ids=list(IMPLS))
def test_defined_memory_offset_traps(rt: Any) -> None:
    """A constant offset that does not fit a defined memory (folded from defined
    globals before instantiation; the memory image is not used then) traps as in
    Wasmtime, and a fitting one from the same globals does not."""
    wat = """(module (global $k i32 (i32.const 0x8000))
      (global $end i32 (i32.mul (global.get $k) (i32.const 2)))
      (memory (export "mem") 1)
      (data (i32.sub (global.get $end) (i32.const 1)) "a")
      (data (global.get $end) "%s"))"""
    for tail, trap in (("", None), ("b", "wasm trap: out of bounds memory access")):
        store = rt.Store(rt.Engine())
        module = rt.Module(store.engine, wat % tail)
        try:
            inst = rt.Instance(store, module, [])
        except rt.Trap as e:
            assert str(e).strip().splitlines()[0] == trap
            assert str(e.trap_code) == "TrapCode.MEMORY_OUT_OF_BOUNDS"
        else:
            assert trap is None
            assert inst.exports(store)["mem"].read(store, 0xffff, 0x10000) == b"a"


def _verdict(rt: Any, wat: str, **switches: bool) -> str:
    config = rt.Config()
    for name, value in switches.items():
        setattr(config, name, value)
    try:
        rt.Module(rt.Engine(config), wat)
    except Exception as e:  # noqa: BLE001 - the message is the verdict
        text = str(e)
        m = re.search(r"Caused by:\s*(.*?) \(at offset", text, re.S)
        return (m.group(1) if m else text.split(" (at offset")[0]).strip()
    return "valid"


#: (module, the phrase both engines' messages contain, or "valid")
VALIDATION = [
    ("(module (global i32 (i32.add (i32.const 1) (i32.const 2))))", "valid"),
    ("(module (global i64 (i64.mul (i64.const 1) (i64.const 2))))", "valid"),
    ("(module (global i32 (i32.const 0)) (global i32 (global.get 0)))", "valid"),
    ("(module (memory 1) (global i32 (i32.const 0)) (data (global.get 0) \"a\"))", "valid"),
    ("(module (table 1 funcref) (global i32 (i32.const 0)) (func $f) "
     "(elem (global.get 0) $f))", "valid"),
    ("(module (global i64 (i32.add (i32.const 1) (i32.const 2))))", "type mismatch"),
    ("(module (global i32 (i32.add (i32.const 1))))", "type mismatch"),
    ("(module (global i32 (i32.add (i64.const 1) (i64.const 2))))", "type mismatch"),
    ("(module (global i64 (i64.sub (i32.const 1) (i64.const 2))))", "type mismatch"),
    ("(module (global i32 (i32.const 1) (i32.const 2) (i32.add) (i32.const 3)))",
     "type mismatch"),
    ("(module (global i32 (global.get 0)))", "unknown global 0"),
    ("(module (global i32 (global.get 1)) (global i32 (i32.const 0)))", "unknown global 1"),
    ("(module (global (mut i32) (i32.const 0)) (global i32 (global.get 0)))",
     "constant expression required: global.get of mutable global"),
    ("(module (memory 1) (global (mut i32) (i32.const 0)) (data (global.get 0) \"a\"))",
     "constant expression required: global.get of mutable global"),
    ("(module (global f32 (f32.add (f32.const 1) (f32.const 2))))",
     "constant expression required"),
    ("(module (global i32 (i32.div_s (i32.const 1) (i32.const 2))))",
     "constant expression required"),
    ("(module (memory 1) (data (i32.and (i32.const 1) (i32.const 2))))",
     "constant expression required"),
]


@pytest.mark.parametrize("wat, phrase", VALIDATION)
def test_validation_like_wasmtime(wat: str, phrase: str) -> None:
    ours, theirs = _verdict(_wasmlite, wat), _verdict(_wasmtime, wat)
    if phrase == "valid":
        assert ours == theirs == "valid"
    else:
        assert phrase in ours and phrase in theirs, (ours, theirs)


EXTENDED = [
    ("(module (global i32 (i32.add (i32.const 1) (i32.const 2))))", "i32.add"),
    ("(module (global i64 (i64.mul (i64.const 1) (i64.const 2))))", "i64.mul"),
    ("(module (memory 1) (data (i32.sub (i32.const 1) (i32.const 0)) \"x\"))", "i32.sub"),
    ("(module (table 1 funcref) (elem (offset (i32.mul (i32.const 0) (i32.const 1)))))",
     "i32.mul"),
    ("(module (global i64 (i64.add (i64.const 1) (i64.const 2))))", "i64.add"),
    ("(module (global i64 (i64.sub (i64.const 1) (i64.const 2))))", "i64.sub"),
]


@pytest.mark.parametrize("wat, name", EXTENDED)
def test_extended_const_switched_off(wat: str, name: str) -> None:
    """``wasm_extended_const = False``: wasmparser's message for each instruction.
    wasmtime-py 50 cannot switch it off; it gives the same form for an instruction
    that is never constant, and accepts these modules (as wasmlite does with it on)."""
    assert _verdict(_wasmlite, wat) == _verdict(_wasmtime, wat) == "valid"
    assert _verdict(_wasmlite, wat, wasm_extended_const=False) == \
        f"constant expression required: non-constant operator: {name}"
    never = wat.replace(name, name.replace("add", "and").replace("sub", "or")
                        .replace("mul", "xor"))
    theirs = _verdict(_wasmtime, never)
    assert theirs.startswith("constant expression required: non-constant operator: ")
    assert _verdict(_wasmlite, never).startswith("constant expression required")


GC_RULE = [
    "(module (global i32 (i32.const 0)) (global i32 (global.get 0)))",
    "(module (memory 1) (global i32 (i32.const 0)) (data (global.get 0) \"a\"))",
    "(module (table 1 funcref) (global i32 (i32.const 0)) (global i32 (global.get 0)) "
    "(func $f) (elem (global.get 1) $f))",
    "(module (global funcref (ref.null func)) (table 1 funcref) "
    "(elem (i32.const 0) funcref (global.get 0)))",
]


@pytest.mark.parametrize("wat", GC_RULE)
def test_defined_global_get_switched_off_with_gc(wat: str) -> None:
    """``wasm_gc = False``: both reject ``global.get`` of a defined global (Wasmtime ties
    the 3.0 rule to GC, not to extended-const); wasmlite says what the 2.0 spec suite
    expects ("unknown global"), wasmparser "global.get of locally defined global"."""
    assert _verdict(_wasmlite, wat) == _verdict(_wasmtime, wat) == "valid"
    assert _verdict(_wasmlite, wat, wasm_extended_const=False) == "valid"
    theirs = _verdict(_wasmtime, wat, wasm_gc=False)
    assert theirs == "constant expression required: global.get of locally defined global"
    assert _verdict(_wasmlite, wat, wasm_gc=False) == "unknown global 0"


def test_imported_global_get_with_both_switches_off() -> None:
    """The 2.0 rules still allow ``global.get`` of an immutable imported global."""
    wat = ("(module (global (import \"m\" \"g\") i32) (memory 1) "
           "(global i32 (global.get 0)) (data (global.get 0) \"a\"))")
    assert _verdict(_wasmlite, wat, wasm_gc=False, wasm_extended_const=False) == "valid"
    assert _verdict(_wasmtime, wat, wasm_gc=False) == "valid"


def test_config_switches() -> None:
    config = _wasmlite.Config()
    assert config.wasm_extended_const is True and config.wasm_gc is True
    f = config._features()
    assert f.extended_const and f.gc
    config.wasm_extended_const = False
    config.wasm_gc = False
    f = config._features()
    assert not f.extended_const and not f.gc and f.multi_memory
    with pytest.raises(TypeError, match="expected a bool"):
        config.wasm_extended_const = 1  # type: ignore[assignment]


def test_serialized_module_keeps_its_features() -> None:
    """An artifact compiled with extended-const does not load where it is off."""
    data = _wasmlite.Module(_wasmlite.Engine(), "(module)").serialize()
    config = _wasmlite.Config()
    config.wasm_extended_const = False
    with pytest.raises(_wasmlite.WasmtimeError,
                       match="with support for WebAssembly feature `extended_const` but "
                             "it is not enabled for the host"):
        _wasmlite.Module.deserialize(_wasmlite.Engine(config), data)


TEXT_FORMS = [
    "(module (global i32 (i32.add (i32.const 1) (i32.const 2))))",
    "(module (global i64 i64.const 3 i64.const 4 i64.mul))",
    "(module (global i32 (i32.const 5)) (global i32 global.get 0 i32.const 1 i32.sub))",
    "(module (memory 1) (data (offset i32.const 1 i32.const 2 i32.sub) \"x\"))",
    "(module (memory 1) (data (i32.mul (i32.const 2) (i32.const 3)) \"x\"))",
    "(module (memory 1) (data (memory 0) (offset (i32.add (i32.const 2) (i32.const 3))) \"x\"))",
    "(module (table 3 funcref) (func) (elem (offset (i32.mul (i32.const 1) (i32.const 1))) "
    "funcref (item ref.null func) (item (ref.func 0))))",
    "(module (table 3 funcref) (func) (elem (table 0) (i32.add (i32.const 1) (i32.const 1)) "
    "func 0))",
    "(module (table 3 funcref) (func) (elem (i32.sub (i32.const 1) (i32.const 1)) 0 0))",
]


@pytest.mark.parametrize("wat", TEXT_FORMS)
def test_text_forms_like_wasmtime(wat: str) -> None:
    """Folded and flat arithmetic in ``(global)``, ``(offset)``, ``(item)`` and the
    abbreviated offsets: the binary is ``wasmtime.wat2wasm``'s."""
    assert wat2wasm(wat) == bytes(_wasmtime.wat2wasm(wat))
