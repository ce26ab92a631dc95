"""The universal entry trampoline and host stub (``runtime/routines.py``,
``compiler/trampolines.universal_layout``): every function type they serve must pass
its values through exactly, and the types they do not serve must still work through
per-type trampolines."""

from __future__ import annotations

import struct

import pytest

import wasmlite
from wasmlite.compiler.trampolines import UNIVERSAL_FLOATS, UNIVERSAL_INTS, universal_layout
from wasmlite.environ import module as em

_WT = {"i32": wasmlite.ValType.i32, "i64": wasmlite.ValType.i64,
       "f32": wasmlite.ValType.f32, "f64": wasmlite.ValType.f64}

#: parameter lists around the limits of the universal trampolines, interleaved
SIGNATURES = [
    [],
    ["i32"],
    ["f32"],
    ["i64", "f64", "i32", "f32"],
    ["f64"] * UNIVERSAL_FLOATS + ["i32"] * UNIVERSAL_INTS,                 # both full
    ["i32", "f32"] * UNIVERSAL_INTS + ["f64"] * (UNIVERSAL_FLOATS - UNIVERSAL_INTS),
    ["i64"] * (UNIVERSAL_INTS + 1),                                        # one int too many
    ["f32"] * (UNIVERSAL_FLOATS + 1),                                      # one float too many
]
RESULTS = ["i32", "i64", "f32", "f64"]

#: bit patterns with their upper halves set, signs, NaN payloads
_BITS = {"i32": [0xFFFFFFFF, 0x80000001, 7], "i64": [0xFFFFFFFF00000001, 1 << 63, 9],
         "f32": [0x7FA00001, 0xFF800000, 0x3F800000],
         "f64": [0x7FF4000000000001, 0xBFF0000000000000, 0x0000000000000001]}


def _wat(params: list[str], result: str) -> str:
    ps = " ".join(params)
    # the export returns the last parameter of its result type (or a constant), after
    # passing every parameter through the host import and back
    same = [i for i, p in enumerate(params) if p == result]
    get = " ".join(f"local.get {i}" for i in range(len(params)))
    pick = f"local.get {same[-1]}" if same else f"{result}.const 5"
    return f"""(module
  (import "h" "f" (func $f (param {ps}) (result {result})))
  (func (export "direct") (param {ps}) (result {result}) {pick})
  (func (export "via_host") (param {ps}) (result {result}) {get} call $f))"""


def _values(params: list[str], k: int) -> list[int]:
    return [_BITS[p][(i + k) % 3] for i, p in enumerate(params)]


@pytest.mark.parametrize("strategy", ["auto", "winch", "cranelift"])
@pytest.mark.parametrize("params", SIGNATURES, ids=lambda p: ",".join(p) or "none")
def test_values_pass_through_exactly(strategy: str, params: list[str]) -> None:
    config = wasmlite.Config()
    config.strategy = strategy
    engine = wasmlite.Engine(config)
    for result in RESULTS:
        store = wasmlite.Store(engine)
        seen: list[tuple] = []
        # the host function answers with the bits of its last parameter of the result
        # type (or a fixed pattern), read back raw through struct
        same = [i for i, p in enumerate(params) if p == result]

        def host(*args: object, _same: list[int] = same, _result: str = result,
                 _seen: list[tuple] = seen) -> object:
            _seen.append(args)
            if _same:
                return args[_same[-1]]
            return {"i32": -2, "i64": -(1 << 40), "f32": 2.5, "f64": -0.125}[_result]

        ft = wasmlite.FuncType([_WT[p]() for p in params], [_WT[result]()])
        f = wasmlite.Func(store, ft, host)
        inst = wasmlite.Instance(store, wasmlite.Module(engine, _wat(params, result)), [f])
        ex = inst.exports(store)
        for k in range(3):
            vals = _values(params, k)
            expect = vals[same[-1]] if same else {"i32": 5, "i64": 5, "f32": 0x40A00000,
                                                  "f64": 0x4014000000000000}[result]
            assert ex["direct"].call_raw(store, *vals) == [expect]
            got = ex["via_host"].call_raw(store, *vals)
            # the host saw the same values: compare as bits
            args = seen[-1]
            for p, v, a in zip(params, vals, args, strict=True):
                if p == "f32":
                    assert struct.pack("<f", a) == struct.pack("<I", v) or a != a
                elif p == "f64":
                    assert struct.pack("<d", a) == struct.pack("<Q", v) or a != a
                elif p == "i32":
                    assert a & 0xFFFFFFFF == v
                else:
                    assert a & (2**64 - 1) == v
            if same and result in ("i32", "i64"):
                assert got == [expect]
            elif same:  # a float through Python: same value (NaN payloads may change)
                assert got[0] == expect or _is_nan(result, got[0])
            else:
                fixed = {"i32": 0xFFFFFFFE, "i64": (-(1 << 40)) & (2**64 - 1),
                         "f32": 0x40200000, "f64": 0xBFC0000000000000}[result]
                assert got == [fixed]


def _is_nan(t: str, bits: int) -> bool:
    if t == "f32":
        return (bits >> 23) & 0xFF == 0xFF and bits & 0x7FFFFF != 0
    return (bits >> 52) & 0x7FF == 0x7FF and bits & ((1 << 52) - 1) != 0


def test_which_types_are_universal() -> None:
    I32, L, F, D = em.I32, em.I64, em.F32, em.F64
    assert universal_layout(em.FuncType((I32, L, F, D), (I32,))) is not None
    assert universal_layout(em.FuncType((I32,) * 5 + (D,) * 8, ())) is not None
    assert universal_layout(em.FuncType((I32,) * 6, ())) is None
    assert universal_layout(em.FuncType((F,) * 9, ())) is None
    assert universal_layout(em.FuncType((), (I32, I32))) is None
    assert universal_layout(em.FuncType((em.V128,), ())) is None
    assert universal_layout(em.FuncType((), (em.V128,))) is None
    lay = universal_layout(em.FuncType((D, I32, F, L), (F,)))
    # ints: slots 1 and 3, then unused; floats: slots 0 and 2; 32-bit float result
    assert lay == (16, 48, -1, -1, -1, 0, 32, -1, -1, -1, -1, -1, -1, 0xFFFFFFFF, 1)


def test_lazy_module_compiles_no_trampolines() -> None:
    """A lazy engine compiles nothing per type for a module whose types the universal
    trampolines serve; a type they do not serve gets its own when the host first calls
    a function of that type, once per engine (not in ``Module()``: most such types are
    only called from wasm)."""
    engine = wasmlite.Engine()
    wasmlite.Module(engine, '(module (func (export "f") (param i32 f64) (result i64) '
                            'i64.const 1) (func (param f32)))')
    assert engine._code == []
    six = ('(module (func (export "f") (param i32 i32 i32 i32 i32 i32) (result i32) '
           'local.get 5))')
    store = wasmlite.Store(engine)
    for compiled_before in (0, 1):
        module = wasmlite.Module(engine, six)
        assert len(engine._code) == compiled_before
        f = wasmlite.Instance(store, module, []).exports(store)["f"]
        assert f(store, 1, 2, 3, 4, 5, 6) == 6
        assert len(engine._code) == 1


@pytest.mark.parametrize("strategy", ["auto", "winch"])
def test_calls_into_python_are_counted(strategy: str) -> None:
    """``GIL_WANTED`` counts the wasm threads inside a host call (or a lazy compilation,
    or a hotness callback) — the tier-up thread steps aside while it is non-zero — and
    is back at 0 after every way out: a return, a host exception, a trap in wasm
    called back from the host, and thousands of first calls and hot ticks."""
    from wasmlite.compiler.trampolines import GIL_WANTED

    config = wasmlite.Config()
    config.strategy = strategy
    engine = wasmlite.Engine(config)
    store = wasmlite.Store(engine)
    seen: list[int] = []
    i32 = wasmlite.ValType.i32()

    def host(x: int) -> int:
        seen.append(GIL_WANTED.value)
        if x == 1:
            raise ValueError("from the host")
        if x == 2:
            inst.exports(store)["boom"](store)
        return x + 1

    f = wasmlite.Func(store, wasmlite.FuncType([i32], [i32]), host)
    funcs = " ".join(f'(func (export "f{k}") (param i32) (result i32) local.get 0 '
                     f'i32.const {k} i32.add call $h)' for k in range(40))
    wat = f"""(module (import "h" "f" (func $h (param i32) (result i32)))
      (func (export "boom") unreachable)
      (func (export "loop") (param i32) (result i32) (local i32)
        (loop $l (local.set 1 (i32.add (local.get 1) (i32.const 1)))
          (br_if $l (i32.lt_u (local.get 1) (local.get 0)))) (local.get 1))
      {funcs})"""
    inst = wasmlite.Instance(store, wasmlite.Module(engine, wat), [f])
    ex = inst.exports(store)
    assert ex["f3"](store, 10) == 14
    assert seen == [1] and GIL_WANTED.value == 0
    with pytest.raises(ValueError):
        ex["f0"](store, 1)
    assert GIL_WANTED.value == 0
    with pytest.raises(wasmlite.Trap):
        ex["f0"](store, 2)
    assert GIL_WANTED.value == 0
    for k in range(40):
        assert ex[f"f{k}"](store, 100) == 100 + k + 1
    assert ex["loop"](store, 300_000) == 300_000
    assert GIL_WANTED.value == 0


#: results that put floats past the two XMM return registers (x86-64 code generation
#: returns two further floats on the x87 stack, whose load quiets a signalling NaN, and
#: a struct with more through memory)
_MULTI = [
    [("f32", 0x7FA00001), ("f64", 0x7FF4000000000001), ("f64", 0xFFF7FFFFFFFFFFFF),
     ("f32", 0xFF800001), ("i64", 0x8000000000000001)],
    [("f32", 0x7FA00001), ("f32", 0x7F800001), ("f64", 0xFFF7FFFFFFFFFFFF),
     ("i64", 0x3FFFFFF)],
    [("f32", 0x7FA00001), ("f64", 0x7FF4000000000001), ("f64", 0xFFF7FFFFFFFFFFFF),
     ("f32", 0xFF800001), ("i64", 0x8000000000000001), ("f64", 0x7FF0000000000002)],
]


def _const(t: str, b: int) -> str:
    if t == "i64":
        return f"i64.const {b}"
    sign_bit, mantissa = (31, (1 << 23) - 1) if t == "f32" else (63, (1 << 52) - 1)
    return f"{t}.const {'-' if b >> sign_bit else ''}nan:{hex(b & mantissa)}"


def _multi_wat(results: list[tuple[str, int]]) -> str:
    types = " ".join(t for t, _ in results)
    consts = " ".join(_const(t, b) for t, b in results)
    sets = " ".join(f"local.set {i}" for i in reversed(range(len(results))))
    bits = {"f32": "i32.reinterpret_f32 i64.extend_i32_u", "f64": "i64.reinterpret_f64",
            "i64": ""}
    gets = " ".join(f"local.get {i} {bits[t]}" for i, (t, _) in enumerate(results))
    locals_ = " ".join(t for t, _ in results)
    return f"""(module
  (func $f (export "direct") (result {types}) {consts})
  (func (export "bits") (result {' '.join(['i64'] * len(results))}) (local {locals_})
    call $f {sets} {gets}))"""


@pytest.mark.parametrize("strategy", ["auto", "winch", "cranelift"])
@pytest.mark.parametrize("results", _MULTI, ids=lambda r: ",".join(t for t, _ in r))
def test_multi_value_float_results_keep_nan_payloads(
        strategy: str, results: list[tuple[str, int]]) -> None:
    config = wasmlite.Config()
    config.strategy = strategy
    engine = wasmlite.Engine(config)
    store = wasmlite.Store(engine)
    module = wasmlite.Module(engine, _multi_wat(results))
    ex = wasmlite.Instance(store, module, []).exports(store)
    want = [b for _, b in results]
    # wasm → wasm call: the bits compared inside wasm's own registers
    assert [v & (1 << 64) - 1 for v in ex["bits"](store)] == want
    # entry trampoline: the f64 results read back raw (f32 results become Python
    # floats, which cannot hold an f32 signalling NaN's bits)
    got = ex["direct"](store)
    for (t, b), v in zip(results, got, strict=True):
        if t == "f64":
            assert struct.unpack("<Q", struct.pack("<d", v))[0] == b
        elif t == "i64":
            assert v & (1 << 64) - 1 == b


_DEFERRED_SCRIPT = """
import ctypes, wasmlite
from wasmlite.runtime import routines
engine = wasmlite.Engine()
wat = '''(module (import "h" "f" (func $h (param i32) (result i32)))
  (func (export "f") (param i32) (result i32) (call $h (i32.add (local.get 0) (i32.const 1)))))'''
module = wasmlite.Module(engine, wat)
store = wasmlite.Store(engine)
# nothing so far waited for the routines: the module's lazy stub and the store's
# stack-floor routine are thunks of the deferred page
_, cells, first, _ = routines._thunks()
code = module._compiled
assert "resolved" not in routines._state
assert first <= code._stub_addr < first + 4096, hex(code._stub_addr)
assert code.slots[0] == code._stub_addr
host = wasmlite.Func(store, wasmlite.FuncType([wasmlite.ValType.i32()], [wasmlite.ValType.i32()]),
                     lambda x: 2 * x)
inst = wasmlite.Instance(store, module, [host])
assert [cells[k] for k in range(len(routines.DEFERRED))] == \\
    [routines.address(n) for n in routines.DEFERRED]
print(inst.exports(store)["f"](store, 20))
"""


def test_deferred_routine_thunks_lead_to_the_routines() -> None:
    # Module() and Store() take thunks without waiting for the routines' compilation;
    # instantiation must point them at the routines before wasm runs (a thunk with an
    # empty cell would jump to 0), in a fresh process where nothing resolved them yet
    import subprocess
    import sys

    r = subprocess.run([sys.executable, "-c", _DEFERRED_SCRIPT], capture_output=True,
                       text=True, timeout=120, check=False)
    assert r.returncode == 0, (r.returncode, r.stderr)
    assert r.stdout.strip() == "42"


_CACHED_ROUTINES_SCRIPT = """
import wasmlite
from wasmlite.runtime import routines
engine = wasmlite.Engine()
wat = '''(module (import "h" "f" (func $h (param i32) (result i32)))
  (import "h" "g" (func $g (param f64) (result i32 i64))) (memory 1)
  (func (export "g") (param f64) (result i64) (local i64)
    (call $g (local.get 0)) (local.set 1) (i64.extend_i32_s) (local.get 1) (i64.add))
  (func $rec (param i32) (result i32) (call $rec (local.get 0)))
  (func (export "f") (param i32) (result i32) (call $h (i32.add (local.get 0) (i32.const 1))))
  (func (export "oob") (result i32) (i32.load (i32.const 70000)))
  (func (export "deep") (result i32) (call $rec (i32.const 1)))
  (func (export "hot") (param i32) (result i32) (local i32)
    (loop $l (local.set 1 (i32.add (local.get 1) (local.get 0)))
      (br_if $l (local.tee 0 (i32.sub (local.get 0) (i32.const 1)))))
    (local.get 1)))'''
store = wasmlite.Store(engine)
host = wasmlite.Func(store, wasmlite.FuncType([wasmlite.ValType.i32()], [wasmlite.ValType.i32()]),
                     lambda x: 2 * x)
two = wasmlite.Func(store, wasmlite.FuncType([wasmlite.ValType.f64()],
                                            [wasmlite.ValType.i32(), wasmlite.ValType.i64()]),
                    lambda x: (int(x), 10 * int(x)))
ex = wasmlite.Instance(store, wasmlite.Module(engine, wat), [host, two]).exports(store)
out = [ex["f"](store, 20), ex["hot"](store, 100000), ex["g"](store, 2.5)]
for name in ("oob", "deep"):
    try:
        ex[name](store)
    except wasmlite.Trap as t:
        out.append(str(t.trap_code))
print(out, routines._state.get("cached") is not None)
"""


def test_routines_load_from_the_routines_cache(tmp_path) -> None:
    # the first process compiles the routines and stores their machine code; the next
    # loads it and resolves its symbols to its own addresses and keys (lazy stub, host
    # stub, signal handler, stack floor, hotness callbacks all used); a damaged entry
    # is compiled again, never loaded
    import os
    import subprocess
    import sys

    env = dict(os.environ, WASMLITE_CACHE_DIR=str(tmp_path), WASMLITE_ROUTINES_CACHE="1")

    def run() -> tuple[str, bool]:
        r = subprocess.run([sys.executable, "-c", _CACHED_ROUTINES_SCRIPT], env=env,
                           capture_output=True, text=True, timeout=120, check=False)
        assert r.returncode == 0, (r.returncode, r.stderr)
        results, cached = r.stdout.strip().rsplit(" ", 1)
        return results, cached == "True"

    first = run()
    assert not first[1]
    # the routines, and the engine's trampolines of the type with two results (which
    # the universal ones do not serve)
    entries = list((tmp_path / "routines").glob("*.o"))
    assert len(entries) == 2
    # hot(100000): 5,000,050,000 wrapped to i32
    assert first[0] == str([42, 5000050000 - 2**32, 22, "TrapCode.MEMORY_OUT_OF_BOUNDS",
                            "TrapCode.STACK_OVERFLOW"])
    assert run() == (first[0], True)
    for entry in entries:
        data = bytearray(entry.read_bytes())
        data[len(data) // 2] ^= 0xFF
        entry.write_bytes(bytes(data))
    assert run() == (first[0], False)
    assert run() == (first[0], True)       # stored again
