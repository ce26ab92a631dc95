"""SIMD integer lane arithmetic (``compiler/simd_int.py``) against a Python reference of
the spec's lane semantics (spec §4.3.2 "Vector Operations"), and against wasmtime-py.

One module exports one function per instruction (``v128 v128 -> v128``, ``v128 -> v128``
or ``v128 i32 -> v128``), plus shifts by constant counts and instructions applied to
``v128.const`` operands (which LLVM folds at ``-O2``); it is compiled at opt levels 0 and
2.  Inputs are vectors of edge lanes (0, ±1, the signed and unsigned bounds and their
neighbours) mixed with seeded random lanes.
"""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest
import wasmtime

import wasmlite

BITS = {"i8x16": 8, "i16x8": 16, "i32x4": 32, "i64x2": 64}
WIDER = {"i8x16": "i16x8", "i16x8": "i32x4", "i32x4": "i64x2"}


# -- lane packing --------------------------------------------------------------------------

def lanes(x: int, bits: int, signed: bool = False) -> list[int]:
    """The lanes of the 128-bit int ``x`` (lane 0 in the low bits)."""
    out = []
    for i in range(128 // bits):
        v = (x >> (i * bits)) & ((1 << bits) - 1)
        if signed and v >> (bits - 1):
            v -= 1 << bits
        out.append(v)
    return out


def pack(vals: list[int], bits: int) -> int:
    """The 128-bit int of the lanes ``vals`` (wrapped to ``bits``)."""
    assert len(vals) * bits == 128
    x = 0
    for i, v in enumerate(vals):
        x |= (v & ((1 << bits) - 1)) << (i * bits)
    return x


def sat(v: int, lo: int, hi: int) -> int:
    return max(lo, min(hi, v))


def srange(bits: int) -> tuple[int, int]:
    return -(1 << (bits - 1)), (1 << (bits - 1)) - 1


# -- the reference of every instruction ------------------------------------------------------

Ref = Callable[..., int]


def lanewise2(shape: str, f: Callable[[int, int], int], signed: bool = False) -> Ref:
    b = BITS[shape]
    return lambda x, y: pack([f(p, q) for p, q in zip(lanes(x, b, signed),
                                                       lanes(y, b, signed), strict=True)], b)


def lanewise1(shape: str, f: Callable[[int], int], signed: bool = False) -> Ref:
    b = BITS[shape]
    return lambda x: pack([f(p) for p in lanes(x, b, signed)], b)


def shift_ref(shape: str, kind: str) -> Ref:
    b = BITS[shape]

    def ref(x: int, count: int) -> int:
        k = count % b  # the spec: count mod lane width (count is an i32, any sign)
        if kind == "shl":
            return pack([v << k for v in lanes(x, b)], b)
        return pack([v >> k for v in lanes(x, b, signed=(kind == "shr_s"))], b)
    return ref


def half(x: int, shape: str, high: bool, signed: bool) -> list[int]:
    ls = lanes(x, BITS[shape], signed)
    n = len(ls) // 2
    return ls[n:] if high else ls[:n]


def narrow_ref(shape: str, signed: bool) -> Ref:
    b = BITS[shape] // 2
    lo, hi = srange(b) if signed else (0, (1 << b) - 1)
    return lambda x, y: pack([sat(v, lo, hi) for v in lanes(x, 2 * b, True)
                              + lanes(y, 2 * b, True)], b)


def extadd_ref(shape: str, signed: bool) -> Ref:
    def ref(x: int) -> int:
        ls = lanes(x, BITS[shape], signed)
        return pack([ls[i] + ls[i + 1] for i in range(0, len(ls), 2)], 2 * BITS[shape])
    return ref


def q15_ref(x: int, y: int) -> int:
    lo, hi = srange(16)
    return pack([sat((a * b + 0x4000) >> 15, lo, hi)
                 for a, b in zip(lanes(x, 16, True), lanes(y, 16, True), strict=True)], 16)


def dot_ref(x: int, y: int) -> int:
    p = [a * b for a, b in zip(lanes(x, 16, True), lanes(y, 16, True), strict=True)]
    return pack([p[i] + p[i + 1] for i in range(0, 8, 2)], 32)


def popcnt_ref(x: int) -> int:
    return pack([bin(v).count("1") for v in lanes(x, 8)], 8)


def build_ops() -> dict[str, tuple[str, Ref]]:
    """instruction name → (kind, reference); kind is ``unary``, ``binary`` or ``shift``."""
    ops: dict[str, tuple[str, Ref]] = {}
    for shape, b in BITS.items():
        lo, hi = srange(b)
        ops[f"{shape}.add"] = ("binary", lanewise2(shape, lambda p, q: p + q))
        ops[f"{shape}.sub"] = ("binary", lanewise2(shape, lambda p, q: p - q))
        ops[f"{shape}.neg"] = ("unary", lanewise1(shape, lambda p: -p))
        ops[f"{shape}.abs"] = ("unary", lanewise1(shape, abs, signed=True))
        for kind in ("shl", "shr_s", "shr_u"):
            ops[f"{shape}.{kind}"] = ("shift", shift_ref(shape, kind))
        if shape != "i8x16":
            ops[f"{shape}.mul"] = ("binary", lanewise2(shape, lambda p, q: p * q))
        if shape != "i64x2":
            for name, f, s in (("min_s", min, True), ("min_u", min, False),
                               ("max_s", max, True), ("max_u", max, False)):
                ops[f"{shape}.{name}"] = ("binary", lanewise2(shape, f, s))
        if shape in ("i8x16", "i16x8"):
            u = (1 << b) - 1
            ops[f"{shape}.add_sat_s"] = ("binary", lanewise2(
                shape, lambda p, q, lo=lo, hi=hi: sat(p + q, lo, hi), True))
            ops[f"{shape}.sub_sat_s"] = ("binary", lanewise2(
                shape, lambda p, q, lo=lo, hi=hi: sat(p - q, lo, hi), True))
            ops[f"{shape}.add_sat_u"] = ("binary", lanewise2(
                shape, lambda p, q, u=u: sat(p + q, 0, u)))
            ops[f"{shape}.sub_sat_u"] = ("binary", lanewise2(
                shape, lambda p, q, u=u: sat(p - q, 0, u)))
            ops[f"{shape}.avgr_u"] = ("binary", lanewise2(shape, lambda p, q: (p + q + 1) // 2))
    ops["i8x16.popcnt"] = ("unary", popcnt_ref)
    ops["i16x8.q15mulr_sat_s"] = ("binary", q15_ref)
    ops["i32x4.dot_i16x8_s"] = ("binary", dot_ref)
    for sign in ("s", "u"):
        signed = sign == "s"
        ops[f"i8x16.narrow_i16x8_{sign}"] = ("binary", narrow_ref("i16x8", signed))
        ops[f"i16x8.narrow_i32x4_{sign}"] = ("binary", narrow_ref("i32x4", signed))
        for src, dst in WIDER.items():
            wb = BITS[dst]
            for part in ("low", "high"):
                high = part == "high"
                ops[f"{dst}.extend_{part}_{src}_{sign}"] = (
                    "unary", lambda x, src=src, high=high, signed=signed, wb=wb:
                    pack(half(x, src, high, signed), wb))
                ops[f"{dst}.extmul_{part}_{src}_{sign}"] = (
                    "binary", lambda x, y, src=src, high=high, signed=signed, wb=wb:
                    pack([p * q for p, q in zip(half(x, src, high, signed),
                                                half(y, src, high, signed), strict=True)], wb))
            if dst != "i64x2":
                ops[f"{dst}.extadd_pairwise_{src}_{sign}"] = ("unary", extadd_ref(src, signed))
    return ops


OPS = build_ops()

#: constant shift counts tried for every shift (i32, so negative counts wrap mod width)
COUNTS = [0, 1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, -1, -8, 0x7FFFFFFF]


# -- inputs ------------------------------------------------------------------------------------

def edge_lanes(bits: int) -> list[int]:
    m = (1 << bits) - 1
    h = 1 << (bits - 1)
    return [0, 1, 2, m, m - 1, h, h - 1, h + 1, h // 2, m ^ (h // 2), 0x55 * (m // 0xFF),
            0xAA * (m // 0xFF)]


def vectors(rng: random.Random, n: int) -> list[int]:
    """``n`` vectors: edge lanes of every width in shuffled lane order, and random bits."""
    out = []
    for i in range(n):
        bits = (8, 16, 32, 64)[i % 4]
        if i % 5 == 4:
            out.append(rng.getrandbits(128))
        else:
            pool = edge_lanes(bits)
            out.append(pack([rng.choice(pool) for _ in range(128 // bits)], bits))
    return out


def fname(name: str) -> str:
    return name.replace(".", "__")


def v128_const(x: int) -> str:
    return "v128.const i64x2 " + " ".join(str(v) for v in lanes(x, 64))


CONST_A = pack([0, 1, -1, 127, -128, 126, -127, 64, -64, 85, -86, 2, -2, 100, -100, 3], 8)
CONST_B = pack([-1, 0x7FFF, -0x8000, 1, 0x8001, 0x7F80, 0x00FF, 0x8080], 16)


def module_wat() -> str:
    funcs = []
    for name, (kind, _) in OPS.items():
        f = fname(name)
        if kind == "unary":
            funcs.append(f'(func (export "{f}") (param v128) (result v128) '
                         f'(local.get 0) ({name}))')
            funcs.append(f'(func (export "{f}_const") (result v128) '
                         f'({v128_const(CONST_A)}) ({name}))')
        elif kind == "binary":
            funcs.append(f'(func (export "{f}") (param v128 v128) (result v128) '
                         f'(local.get 0) (local.get 1) ({name}))')
            funcs.append(f'(func (export "{f}_const") (result v128) '
                         f'({v128_const(CONST_A)}) ({v128_const(CONST_B)}) ({name}))')
        else:
            funcs.append(f'(func (export "{f}") (param v128 i32) (result v128) '
                         f'(local.get 0) (local.get 1) ({name}))')
            for k in COUNTS:
                funcs.append(f'(func (export "{f}_by_{k & 0xFFFFFFFF}") (param v128) '
                             f'(result v128) (local.get 0) (i32.const {k}) ({name}))')
    return "(module\n  " + "\n  ".join(funcs) + ")"


WAT = module_wat()


@pytest.fixture(scope="module", params=["0", "2"])
def run(request) -> Callable[..., int]:
    """``run(export_name, *args)`` on the module compiled at opt level 0 or 2; v128
    arguments are given as ints, others as ``wasmlite.Val``."""
    config = wasmlite.Config()
    config.opt_level = request.param
    store = wasmlite.Store(wasmlite.Engine(config))
    exports = wasmlite.Instance(store, wasmlite.Module(store.engine, WAT), []).exports(store)

    def call(name: str, *args: int) -> int:
        vals = [wasmlite.Val.v128(a) if isinstance(a, int) else a for a in args]
        return exports[name](store, *vals)
    return call


@pytest.mark.parametrize("name", [n for n, (k, _) in OPS.items() if k == "unary"])
def test_unary(run, name):
    _, ref = OPS[name]
    rng = random.Random(name)
    for x in vectors(rng, 40) + [0, 2**128 - 1]:
        assert run(fname(name), x) == ref(x), f"{name}({x:#034x})"
    assert run(fname(name) + "_const") == ref(CONST_A)


@pytest.mark.parametrize("name", [n for n, (k, _) in OPS.items() if k == "binary"])
def test_binary(run, name):
    _, ref = OPS[name]
    rng = random.Random(name)
    xs = vectors(rng, 12) + [0, 2**128 - 1]
    ys = vectors(rng, 12) + [0, 2**128 - 1]
    for x in xs:
        for y in ys[: 6]:
            assert run(fname(name), x, y) == ref(x, y), f"{name}({x:#034x}, {y:#034x})"
        y = rng.choice(ys)
        assert run(fname(name), x, y) == ref(x, y), f"{name}({x:#034x}, {y:#034x})"
        assert run(fname(name), x, x) == ref(x, x), f"{name}({x:#034x}, same)"
    assert run(fname(name) + "_const") == ref(CONST_A, CONST_B)


@pytest.mark.parametrize("name", [n for n, (k, _) in OPS.items() if k == "shift"])
def test_shift(run, name):
    """Counts taken modulo the lane width, from a parameter and from a constant."""
    _, ref = OPS[name]
    rng = random.Random(name)
    for x in vectors(rng, 8):
        for k in COUNTS + [rng.getrandbits(32) - 2**31 for _ in range(4)]:
            r = run(fname(name), x, wasmlite.Val.i32(k))
            assert r == ref(x, k), f"{name}({x:#034x}, {k})"
        for k in COUNTS:
            assert run(f"{fname(name)}_by_{k & 0xFFFFFFFF}", x) == ref(x, k), f"{name} by {k}"


def test_reference_spot_values():
    """The reference itself on values worked out by hand from the spec's definitions."""
    assert OPS["i8x16.abs"][1](0x80) == 0x80                  # abs(-128) = -128
    assert OPS["i16x8.q15mulr_sat_s"][1](0x8000, 0x8000) == 0x7FFF
    assert OPS["i32x4.dot_i16x8_s"][1](0x80008000, 0x80008000) == 0x80000000
    assert OPS["i8x16.narrow_i16x8_u"][1](0xFFFF | (0x0100 << 16), 0) == 0xFF << 8
    assert OPS["i8x16.avgr_u"][1](0xFF, 0xFE) == 0xFF
    assert OPS["i8x16.shr_s"][1](0x80, 9) == 0xC0
    assert OPS["i64x2.extend_high_i32x4_s"][1](0xFFFFFFFF << 64) == 2**64 - 1


def memory_harness_wat() -> str:
    """Each instruction reading its operands from memory (v128 at 0 and 16, i32 count at
    32) and storing its result at 48, so that wasmtime-py (which has no v128 ``Val``) can
    run the same code."""
    funcs = []
    for name, (kind, _) in OPS.items():
        args = {"unary": "(v128.load (i32.const 0))",
                "binary": "(v128.load (i32.const 0)) (v128.load (i32.const 16))",
                "shift": "(v128.load (i32.const 0)) (i32.load (i32.const 32))"}[kind]
        funcs.append(f'(func (export "{fname(name)}") '
                     f'(v128.store (i32.const 48) ({name} {args})))')
    return "(module (memory (export \"mem\") 1)\n  " + "\n  ".join(funcs) + ")"


def test_same_as_wasmtime():
    """Every instruction gives wasmtime's result on random and edge inputs."""
    wat = memory_harness_wat()
    wt_store = wasmtime.Store()
    wt = wasmtime.Instance(wt_store, wasmtime.Module(wt_store.engine, wat), [])
    wt_ex = wt.exports(wt_store)
    store = wasmlite.Store()
    wl = wasmlite.Instance(store, wasmlite.Module(store.engine, wat), [])
    wl_ex = wl.exports(store)
    rng = random.Random(1)
    inputs = vectors(rng, 24)
    for name in OPS:
        for _ in range(6):
            data = (rng.choice(inputs).to_bytes(16, "little")
                    + rng.choice(inputs).to_bytes(16, "little")
                    + rng.getrandbits(32).to_bytes(4, "little"))
            wt_ex["mem"].write(wt_store, data, 0)
            wl_ex["mem"].write(store, data, 0)
            wt_ex[fname(name)](wt_store)
            wl_ex[fname(name)](store)
            expected = wt_ex["mem"].read(wt_store, 48, 64)
            assert wl_ex["mem"].read(store, 48, 64) == expected, f"{name} on {data.hex()}"
