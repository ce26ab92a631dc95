"""Relaxed SIMD (WebAssembly 3.0; ``compiler/simd_relaxed.py``) side by side with
wasmtime-py 50 on this host.

The relaxed instructions may give host-dependent results; wasmlite promises Wasmtime's
on the same x86-64 CPU.  One module holds, for each of the 20 instructions, a loop that
applies it to tables of v128 operands in memory (wasmtime-py has no v128 values), in two
forms: the loads feed the instruction directly (``sink``: Cranelift may fold a load into
a ``vfmadd``) or the operands are also stored back (``regs``: they stay in registers).
Operands are the edge cases of each lane type, crossed with each other, then seeded
random lanes.  Both runtimes run the same module and every result byte is compared:

* with ``Config.strategy`` ``"auto"`` (the baseline compiler hands these functions to
  LLVM) and ``"cranelift"`` at opt levels 0 and 2; with constant operands, which LLVM
  may fold;
* Python models of the x86 instructions (``pshufb``, ``cvttps2dq``, ``pmulhrsw``,
  ``pmaddubsw``, ``blendv``, ``minps``/``maxps``, fused multiply-add) check that the
  reference behaves as ``docs/architecture.md`` says;
* the lowerings for CPUs without SSSE3/SSE4.1/FMA (Wasmtime's deterministic
  semantics) against wasmtime-py with ``wasm_relaxed_simd_deterministic``, and the
  unfused multiply-add against the model;
* with ``Config.wasm_relaxed_simd = False`` both runtimes reject the module.
"""

from __future__ import annotations

import itertools
import math
import random
import re
import struct
from fractions import Fraction
from typing import Any

import pytest
import wasmtime

import wasmlite
from wasmlite.binary import decode_module
from wasmlite.binary import opcodes as op
from wasmlite.compiler import simd_relaxed
from wasmlite.compiler.baseline import unsupported_reason
from wasmlite.compiler.baseline.simd import SIMD_OPS
from wasmlite.validate import validate_module

# memory layout: operands a, b, c, the result, a scratch area; 4096 v128s per region
A, B, C, OUT, SCRATCH, REGION = 0, 65536, 131072, 196608, 262144, 65536
MAX_VECTORS = REGION // 16

F32_EDGES = [
    0x00000000, 0x80000000, 0x3F800000, 0xBF800000, 0x3F000000, 0xBFC00000,  # 0 1 .5 -1.5
    0x3F800001, 0x3F7FFFFE, 0x34000000,  # 1 + 2^-23, 1 - 2^-23, 2^-23 (fused vs not)
    0x4F000000, 0xCF000000, 0x4EFFFFFF, 0xCF000001,  # ±2^31, just inside / outside
    0x4F800000, 0x4F7FFFFF, 0x7F7FFFFF, 0x00000001, 0x80800000,  # 2^32, max, tiny
    0x7F800000, 0xFF800000,  # ±inf
    0x7FC00000, 0xFFC00000, 0x7FA00005, 0xFFE00001,  # NaNs: canonical, signalling, payload
]
F64_EDGES = [
    0x0000000000000000, 0x8000000000000000, 0x3FF0000000000000, 0xBFF0000000000000,
    0x3FE0000000000000, 0xBFF8000000000000,
    0x3FF0000000000001, 0x3FEFFFFFFFFFFFFE, 0x3CB0000000000000,  # fused vs not
    0x41E0000000000000, 0xC1E0000000000000, 0x41DFFFFFFFC00000,  # ±2^31, 2^31 - 1
    0xC1E0000000200000, 0xC1E00000001FFFFF,  # -2^31 - 1, just above it
    0x41F0000000000000, 0x41EFFFFFFFE00000, 0x41EFFFFFFFFFFFFF,  # 2^32, 2^32 - 1, below 2^32
    0x7FEFFFFFFFFFFFFF, 0x0000000000000001,
    0x7FF0000000000000, 0xFFF0000000000000,
    0x7FF8000000000000, 0xFFF8000000000000, 0x7FF0000000000001, 0xFFF4000000000005,
]
I8_EDGES = [0x00, 0x01, 0x02, 0x0F, 0x10, 0x11, 0x1F, 0x3F, 0x40, 0x7E, 0x7F, 0x80, 0x81,
            0x8F, 0x90, 0xC0, 0xF0, 0xFE, 0xFF]
I16_EDGES = [x & 0xFFFF for x in (0, 1, -1, 2, 0x4000, -0x4000, 0x3FFF, 0x7FFF, -0x8000,
                                  0x7FFE, -0x7FFF, 0x00FF, 0x0100, 181, -181, 0x5A82)]
I32_EDGES = [x & 0xFFFFFFFF for x in (0, 1, -1, 2**31 - 1, -2**31, 0x7FFF0000, 32767,
                                      -32768, 0x00010001)]


def _masks(bits: int) -> list[int]:
    """Laneselect masks of ``bits``-wide lanes: all ones, none, only the top bit, all
    but the top bit, the top bit of each byte, one low bit."""
    ones = (1 << bits) - 1
    top = 1 << (bits - 1)
    return [ones, 0, top, ones ^ top, int.from_bytes(b"\x80" * (bits // 8), "little"),
            int.from_bytes(b"\x7f" * (bits // 8), "little"), 1, top | 1]


def _rand_float(rng: random.Random, bits: int) -> int:
    """A random float's bits, mostly of moderate magnitude (rounding differences show)."""
    if bits == 32:
        e = rng.choice([rng.randrange(0x70, 0x90), rng.randrange(0, 0x100)])
        return (rng.getrandbits(1) << 31) | (e << 23) | rng.getrandbits(23)
    e = rng.choice([rng.randrange(0x3F0, 0x420), rng.randrange(0, 0x800)])
    return (rng.getrandbits(1) << 63) | (e << 52) | rng.getrandbits(52)


#: operand kind → (lane bits, edge values, random lane)
KINDS: dict[str, tuple[int, list[int], Any]] = {
    "f32": (32, F32_EDGES, lambda r: _rand_float(r, 32)),
    "f64": (64, F64_EDGES, lambda r: _rand_float(r, 64)),
    "i8": (8, I8_EDGES, lambda r: r.getrandbits(8)),
    "i16": (16, I16_EDGES, lambda r: r.getrandbits(16)),
    "i32": (32, I32_EDGES, lambda r: r.getrandbits(32)),
    "i64": (64, [x | x << 32 for x in I32_EDGES], lambda r: r.getrandbits(64)),
    "m8": (8, _masks(8), lambda r: r.getrandbits(8)),
    "m16": (16, _masks(16), lambda r: r.getrandbits(16)),
    "m32": (32, _masks(32), lambda r: r.getrandbits(32)),
    "m64": (64, _masks(64), lambda r: r.getrandbits(64)),
}

#: instruction → operand kinds (``"swizzle"``: random data, every index in every lane)
OPS: dict[str, tuple[str, ...]] = {
    "i8x16.relaxed_swizzle": ("swizzle",),
    "i32x4.relaxed_trunc_f32x4_s": ("f32",),
    "i32x4.relaxed_trunc_f32x4_u": ("f32",),
    "i32x4.relaxed_trunc_f64x2_s_zero": ("f64",),
    "i32x4.relaxed_trunc_f64x2_u_zero": ("f64",),
    "f32x4.relaxed_madd": ("f32", "f32", "f32"),
    "f32x4.relaxed_nmadd": ("f32", "f32", "f32"),
    "f64x2.relaxed_madd": ("f64", "f64", "f64"),
    "f64x2.relaxed_nmadd": ("f64", "f64", "f64"),
    "i8x16.relaxed_laneselect": ("i8", "i8", "m8"),
    "i16x8.relaxed_laneselect": ("i16", "i16", "m16"),
    "i32x4.relaxed_laneselect": ("i32", "i32", "m32"),
    "i64x2.relaxed_laneselect": ("i64", "i64", "m64"),
    "f32x4.relaxed_min": ("f32", "f32"),
    "f32x4.relaxed_max": ("f32", "f32"),
    "f64x2.relaxed_min": ("f64", "f64"),
    "f64x2.relaxed_max": ("f64", "f64"),
    "i16x8.relaxed_q15mulr_s": ("i16", "i16"),
    "i16x8.relaxed_dot_i8x16_i7x16_s": ("i8", "i8"),
    "i32x4.relaxed_dot_i8x16_i7x16_add_s": ("i8", "i8", "i32"),
}
MADD = [n for n in OPS if "madd" in n]


def _pack(lanes: list[int], bits: int) -> bytes:
    return b"".join(v.to_bytes(bits // 8, "little") for v in lanes)


def _unpack(data: bytes, bits: int) -> list[int]:
    n = bits // 8
    return [int.from_bytes(data[i:i + n], "little") for i in range(0, len(data), n)]


def operands(name: str, seed: int = 0, random_vectors: int = 256) -> list[bytes]:
    """The operand tables of instruction ``name``: one ``bytes`` per operand, all of the
    same length (a multiple of 16).  Lane ``k`` of the operands runs through every
    combination of the edge values (the first edges only, for three operands), then
    ``random_vectors`` vectors of seeded random lanes follow."""
    rng = random.Random(f"{name}/{seed}")
    kinds = OPS[name]
    if kinds == ("swizzle",):
        idx = [bytes((k + 7 * i) % 256 for i in range(16)) for k in range(256)]
        idx += [rng.randbytes(16) for _ in range(random_vectors)]
        return [b"".join(rng.randbytes(16) for _ in idx), b"".join(idx)]
    specs = [KINDS[k] for k in kinds]
    cap = 24 if len(kinds) < 3 else 12
    combos = list(itertools.product(*[edges[:cap] for _, edges, _ in specs]))
    # lanes per vector differ between operands (dot_add: 16 bytes, 4 i32s)
    nvec = max(-(-len(combos) // (128 // bits)) for bits, _, _ in specs) + random_vectors
    out = []
    for j, (bits, _, rand) in enumerate(specs):
        lanes = [c[j] for c in combos]
        lanes += [rand(rng) for _ in range(nvec * (128 // bits) - len(lanes))]
        out.append(_pack(lanes, bits))
    assert len({len(x) for x in out}) == 1 and len(out[0]) // 16 <= MAX_VECTORS
    return out


def _loop(name: str, arity: int, regs: bool) -> str:
    """A function applying ``name`` to the operand tables, result table at ``OUT``."""
    regions = (A, B, C)[:arity]
    if not regs:
        args = " ".join(f"(v128.load offset={r} (local.get $i))" for r in regions)
        body = f"(v128.store offset={OUT} (local.get $i) ({name} {args}))"
        export = name
    else:
        loads = " ".join(f"(local.set {k} (v128.load offset={r} (local.get $i)))"
                         for k, r in zip("$a $b $c".split(), regions, strict=False))
        args = " ".join("$a $b $c".split()[:arity])
        gets = " ".join(f"(local.get {x})" for x in args.split())
        keep = " ".join(f"(v128.store offset={SCRATCH + 16 * k} (i32.const 0) (local.get {x}))"
                        for k, x in enumerate(args.split()))
        body = f"{loads} (v128.store offset={OUT} (local.get $i) ({name} {gets})) {keep}"
        export = name + "/regs"
    return f"""
  (func (export "{export}") (param $n i32) (local $i i32) (local $a v128) (local $b v128)
        (local $c v128)
    (loop $l
      {body}
      (local.set $i (i32.add (local.get $i) (i32.const 16)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $n)))))"""


def _arity(name: str) -> int:
    kinds = OPS[name]
    return 2 if kinds == ("swizzle",) else len(kinds)


WAT = ('(module (memory (export "mem") 5)'
       + "".join(_loop(n, _arity(n), regs) for n in OPS for regs in (False, True)) + ")")


class Runner:
    """The test module instantiated on one engine (wasmtime-py or wasmlite)."""

    def __init__(self, api: Any, strategy: str | None = None, opt: str | None = None,
                 deterministic: bool = False) -> None:
        config = api.Config()
        if strategy is not None:
            config.strategy = strategy
        if opt is not None:
            config.cranelift_opt_level = opt
        if deterministic:
            config.wasm_relaxed_simd_deterministic = True
        self.store = api.Store(api.Engine(config))
        self.instance = api.Instance(self.store, api.Module(self.store.engine, WAT), [])
        self.exports = self.instance.exports(self.store)
        self.mem = self.exports["mem"]

    def run(self, export: str, ops: list[bytes]) -> bytes:
        """Apply function ``export`` to the operand tables ``ops``; the result table."""
        n = len(ops[0])
        for region, data in zip((A, B, C), ops, strict=False):
            self.mem.write(self.store, data, region)
        self.mem.write(self.store, bytes(n), OUT)
        self.exports[export](self.store, n)
        return bytes(self.mem.read(self.store, OUT, OUT + n))


@pytest.fixture(scope="module")
def reference() -> Runner:
    return Runner(wasmtime)


WASMLITE_CONFIGS = [("auto", None), ("cranelift", "none"), ("cranelift", "speed")]


@pytest.fixture(scope="module", params=WASMLITE_CONFIGS, ids=lambda p: f"{p[0]}-{p[1]}")
def ours(request: pytest.FixtureRequest) -> Runner:
    strategy, opt = request.param
    return Runner(wasmlite, strategy, opt)


def _is_nan(x: int, bits: int) -> bool:
    frac = 23 if bits == 32 else 52
    exp = (1 << (bits - 1 - frac)) - 1
    return (x >> frac) & exp == exp and x & ((1 << frac) - 1) != 0


def _compare(name: str, ops: list[bytes], got: bytes, want: bytes, loose_nans: int) -> None:
    """Equal results, byte for byte; with ``loose_nans`` (float lane bits), a NaN lane
    of a ``relaxed_madd`` whose operands hold two NaNs or more may be any NaN (which
    one the CPU returns depends on the form Cranelift picks, see the module
    docstring of ``simd_relaxed``)."""
    if got == want:
        return
    bits = loose_nans or _result_bits(name)
    g, w = _unpack(got, bits), _unpack(want, bits)
    ins = [_unpack(x, bits) for x in ops]
    bad = []
    for k, (x, y) in enumerate(zip(g, w, strict=True)):
        if x == y:
            continue
        if loose_nans and _is_nan(x, bits) and _is_nan(y, bits) and \
                sum(_is_nan(v[k], bits) for v in ins) >= 2:
            continue
        bad.append(f"lane {k}: operands {[hex(v[k]) for v in ins]} gave {x:#x}, "
                   f"wasmtime {y:#x}")
    assert not bad, f"{name}: {len(bad)} lanes differ: " + "; ".join(bad[:5])


@pytest.mark.parametrize("form", ["sink", "regs"])
@pytest.mark.parametrize("name", list(OPS))
def test_like_wasmtime(ours: Runner, reference: Runner, name: str, form: str) -> None:
    export = name if form == "sink" else name + "/regs"
    for seed in (0, 1):
        ops = operands(name, seed)
        loose = (32 if name.startswith("f32") else 64) if name in MADD and form == "sink" else 0
        _compare(name, ops, ours.run(export, ops), reference.run(export, ops), loose)


# -- what the reference does (Wasmtime's x86-64 lowering), by Python models -----------------

def _f32(x: int) -> float:
    return struct.unpack("<f", struct.pack("<I", x))[0]


def _f64(x: int) -> float:
    return struct.unpack("<d", struct.pack("<Q", x))[0]


def _s(x: int, bits: int) -> int:
    return x - (1 << bits) if x >> (bits - 1) else x


def _round_f32(q: Fraction) -> int:
    """The bits of the f32 nearest to ``q`` (ties to even; overflow to infinity)."""
    sign = 0x80000000 if q < 0 else 0
    q = abs(q)
    if q == 0:
        return sign
    e = q.numerator.bit_length() - q.denominator.bit_length()
    if Fraction(2) ** e > q:
        e -= 1
    e = max(e, -126)  # subnormals share the smallest exponent
    scaled = q / Fraction(2) ** (e - 23)  # 24 significant bits before the point
    m = int(scaled)
    rem = scaled - m
    if rem > Fraction(1, 2) or (rem == Fraction(1, 2) and m & 1):
        m += 1
    if m == 1 << 24:
        m, e = 1 << 23, e + 1
    if e > 127:
        return sign | 0x7F800000
    if m < 1 << 23:  # subnormal
        return sign | m
    return sign | (e + 127) << 23 | (m - (1 << 23))


def _f32_bits(d: float) -> int | None:
    """The bits of the f32 nearest to the double ``d`` (``None`` for a NaN)."""
    if d != d:
        return None
    if math.isinf(d):
        return 0x7F800000 | (0x80000000 if d < 0 else 0)
    if d == 0:
        return 0x80000000 if math.copysign(1.0, d) < 0 else 0
    return _round_f32(Fraction(d))


def _f64_bits(d: float) -> int | None:
    return None if d != d else struct.unpack("<Q", struct.pack("<d", d))[0]


def _model_madd(name: str, a: int, b: int, c: int, fused: bool) -> int | None:
    """``relaxed_madd``/``nmadd`` of one lane (``None`` where the result is a NaN)."""
    bits = 32 if name.startswith("f32") else 64
    if any(_is_nan(v, bits) for v in (a, b, c)):
        return None
    conv = _f32 if bits == 32 else _f64
    x, y, z = conv(a), conv(b), conv(c)
    neg = "nmadd" in name
    if not fused or any(math.isinf(v) for v in (x, y, z)):
        # with an infinite operand the product is exactly infinite (or NaN) either way
        if bits == 32:
            p = _f32_bits((-x if neg else x) * y)  # the product is exact in a double
            # a double sum of two f32s rounded to f32 is the f32 sum (53 >= 2 * 24 + 2)
            return None if p is None else _f32_bits(_f32(p) + z)
        return _f64_bits((-x if neg else x) * y + z)
    exact = (-Fraction(x) if neg else Fraction(x)) * Fraction(y) + Fraction(z)
    if exact == 0:
        # an exact zero: +0 unless both the product and the addend are -0
        prod_neg = (struct.pack(">d", x)[0] >> 7) ^ (struct.pack(">d", y)[0] >> 7) ^ neg
        zero_neg = prod_neg and struct.pack(">d", z)[0] >> 7
        return (1 << (bits - 1)) if zero_neg else 0
    if bits == 32:
        return _round_f32(exact)
    try:
        return struct.unpack("<Q", struct.pack("<d", float(exact)))[0]
    except OverflowError:
        return 0x7FF0000000000000 | (0x8000000000000000 if exact < 0 else 0)


def _model(name: str, ops: list[bytes]) -> list[int | None]:
    """The result lanes the x86-64 instruction Wasmtime uses gives (``None``: a NaN)."""
    if name == "i8x16.relaxed_swizzle":
        out = []
        for v in range(0, len(ops[0]), 16):
            a, s = ops[0][v:v + 16], ops[1][v:v + 16]
            out += [0 if i & 0x80 else a[i & 15] for i in s]
        return out
    if "relaxed_trunc" in name:
        f64 = "f64x2" in name
        xs = _unpack(ops[0], 64 if f64 else 32)
        out = []
        for x in xs:
            v = _f64(x) if f64 else _f32(x)
            t = math.trunc(v) if math.isfinite(v) else v
            if name.endswith(("_u", "_u_zero")):  # saturating, NaN -> 0
                r = 0 if v != v or t <= 0 else min(t, 2**32 - 1)
            else:  # cvttps2dq / cvttpd2dq: NaN and out of range -> INT32_MIN
                r = t if v == v and -2**31 <= t < 2**31 else -2**31
            out.append(int(r) & 0xFFFFFFFF)
        if f64:  # two lanes per vector, then two zero lanes
            out = [w for k in range(0, len(out), 2) for w in (out[k], out[k + 1], 0, 0)]
        return out
    if "madd" in name:
        bits = 32 if name.startswith("f32") else 64
        a, b, c = (_unpack(x, bits) for x in ops)
        return [_model_madd(name, *t, fused=True) for t in zip(a, b, c, strict=True)]
    if "laneselect" in name:
        bits = {"i8x16": 8, "i16x8": 16, "i32x4": 32, "i64x2": 64}[name[:5]]
        a, b, m = (_unpack(x, bits) for x in ops)
        if bits == 16:  # bitselect
            return [x & s | y & ~s & 0xFFFF for x, y, s in zip(a, b, m, strict=True)]
        return [x if s >> (bits - 1) else y for x, y, s in zip(a, b, m, strict=True)]  # blendv
    if "relaxed_min" in name or "relaxed_max" in name:
        bits = 32 if name.startswith("f32") else 64
        conv = _f32 if bits == 32 else _f64
        a, b = (_unpack(x, bits) for x in ops)
        if "min" in name:
            return [y if conv(y) < conv(x) else x for x, y in zip(a, b, strict=True)]
        return [y if conv(x) < conv(y) else x for x, y in zip(a, b, strict=True)]
    if name == "i16x8.relaxed_q15mulr_s":
        a, b = (_unpack(x, 16) for x in ops)
        return [((_s(x, 16) * _s(y, 16) + 0x4000) >> 15) & 0xFFFF
                for x, y in zip(a, b, strict=True)]
    # dot products: pmaddubsw with b unsigned and a signed, sums saturated to i16
    a, b = ops[0], ops[1]
    sums = [max(-32768, min(32767, b[k] * _s(a[k], 8) + b[k + 1] * _s(a[k + 1], 8)))
            for k in range(0, len(a), 2)]
    if name == "i16x8.relaxed_dot_i8x16_i7x16_s":
        return [x & 0xFFFF for x in sums]
    c = _unpack(ops[2], 32)
    return [(sums[2 * k] + sums[2 * k + 1] + c[k]) & 0xFFFFFFFF for k in range(len(c))]


def _result_bits(name: str) -> int:
    """The lane width of instruction ``name``'s result."""
    return {"i8x16": 8, "i16x8": 16, "i32x4": 32, "i64x2": 64, "f32x4": 32,
            "f64x2": 64}[name[:5]]


@pytest.mark.parametrize("name", list(OPS))
def test_reference_is_the_x86_instruction(reference: Runner, name: str) -> None:
    """wasmtime-py's results are those of the instruction ``docs/architecture.md``
    names, on this host's features (the check is skipped where Wasmtime would not use
    the x86 instruction)."""
    low = simd_relaxed.host_lowering()
    needs = {"swizzle": low.ssse3, "q15mulr": low.ssse3, "dot": low.ssse3, "madd": low.fma,
             "laneselect": low.sse41 or name.startswith("i16x8")}
    if not all(ok for key, ok in needs.items() if key in name) or not low.x86:
        pytest.skip("Wasmtime uses the deterministic lowering on this host")
    ops = operands(name, 0)
    bits = _result_bits(name)
    got = _unpack(reference.run(name, ops), bits)
    want = _model(name, ops)
    assert len(got) == len(want)
    bad = [(k, hex(g), w if w is None else hex(w))
           for k, (g, w) in enumerate(zip(got, want, strict=True))
           if (not _is_nan(g, bits) if w is None else g != w)]
    assert not bad, f"{name}: {len(bad)} lanes differ from the model: {bad[:5]}"


def test_fused_differs_from_unfused() -> None:
    """The edge cases do tell a fused multiply-add from a rounded multiply and add."""
    one_up, one_down, minus_one = 0x3F800001, 0x3F7FFFFE, 0xBF800000
    fused = _model_madd("f32x4.relaxed_madd", one_up, one_down, minus_one, fused=True)
    unfused = _model_madd("f32x4.relaxed_madd", one_up, one_down, minus_one, fused=False)
    assert fused == 0xA8800000 and unfused == 0  # -2^-46 against 0


# -- constant operands (LLVM may fold the instruction) ------------------------------------

CONSTS = [
    "i32x4 0x7FA00005 0xFFC00000 0x80000000 0x4F000000",
    "f32x4 -1.5 1 0x1p31 -0x1.000002p31",
    "i32x4 0x3F800001 0x3F7FFFFE 0xBF800000 0x7F800000",
    "i8x16 0 1 15 16 17 31 127 128 129 143 255 254 7 8 0x40 0x90",
    "i16x8 -32768 32767 -1 1 0x4000 -0x4000 181 -181",
    "i64x2 0x7FF0000000000001 0x8000000000000000",
]


def _const_wat() -> str:
    funcs = []
    for name in OPS:
        for k, combo in enumerate(itertools.islice(
                itertools.product(range(len(CONSTS)), repeat=_arity(name)), 0, None, 7)):
            args = " ".join(f"(v128.const {CONSTS[i]})" for i in combo)
            funcs.append(f'(func (export "{name}/{k}") (v128.store (i32.const 0) ({name} {args})))')
    return '(module (memory (export "mem") 1) ' + "\n".join(funcs) + ")"


@pytest.mark.parametrize("strategy, opt", WASMLITE_CONFIGS)
def test_constant_operands(strategy: str, opt: str | None) -> None:
    wat = _const_wat()
    results = {}
    for api in (wasmtime, wasmlite):
        config = api.Config()
        if api is wasmlite:
            config.strategy = strategy
            if opt is not None:
                config.cranelift_opt_level = opt
        store = api.Store(api.Engine(config))
        inst = api.Instance(store, api.Module(store.engine, wat), [])
        exports = inst.exports(store)
        mem = exports["mem"]
        out = {}
        for export in re.findall(r'\(export "([^"]+/\d+)"\)', wat):
            exports[export](store)
            out[export] = bytes(mem.read(store, 0, 16))
        results[api.__name__] = out
    assert len(results["wasmtime"]) > 100
    diff = {k: (v.hex(), results["wasmtime"][k].hex())
            for k, v in results["wasmlite"].items() if v != results["wasmtime"][k]}
    assert not diff


# -- the lowerings of other CPUs -----------------------------------------------------------

DETERMINISTIC = simd_relaxed.Lowering(x86=False, fma=True, ssse3=False, sse41=False)


def test_deterministic_lowering_like_wasmtime_deterministic(monkeypatch: Any) -> None:
    """Without SSSE3/SSE4.1 (and off x86-64) Wasmtime falls back to the deterministic
    semantics, which ``wasm_relaxed_simd_deterministic`` selects on any host: wasmlite's
    fallbacks give the same (``min``/``max`` NaN lanes: any NaN, as for the 2.0 ones)."""
    monkeypatch.setattr(simd_relaxed, "host_lowering", lambda: DETERMINISTIC)
    ours = Runner(wasmlite, "cranelift", "speed")
    ref = Runner(wasmtime, deterministic=True)
    for name in OPS:
        ops = operands(name, 2, random_vectors=64)
        got, want = ours.run(name + "/regs", ops), ref.run(name + "/regs", ops)
        if "relaxed_min" in name or "relaxed_max" in name:
            bits = 32 if name.startswith("f32") else 64
            g, w = _unpack(got, bits), _unpack(want, bits)
            assert all(x == y or (_is_nan(x, bits) and _is_nan(y, bits))
                       for x, y in zip(g, w, strict=True)), name
        else:
            _compare(name, ops, got, want, 0)


def test_unfused_madd_without_fma(monkeypatch: Any) -> None:
    """Without FMA, ``relaxed_madd`` is a rounded multiply then a rounded add."""
    monkeypatch.setattr(simd_relaxed, "host_lowering",
                        lambda: simd_relaxed.Lowering(fma=False))
    for strategy, opt in WASMLITE_CONFIGS[1:]:
        ours = Runner(wasmlite, strategy, opt)
        for name in MADD:
            bits = 32 if name.startswith("f32") else 64
            ops = operands(name, 3, random_vectors=64)
            got = _unpack(ours.run(name, ops), bits)
            a, b, c = (_unpack(x, bits) for x in ops)
            for k, t in enumerate(zip(a, b, c, strict=True)):
                want = _model_madd(name, *t, fused=False)
                assert got[k] == want if want is not None else _is_nan(got[k], bits), \
                    (name, k, [hex(v) for v in t], hex(got[k]))


def test_host_lowering_reads_llvm_features() -> None:
    from wasmlite.compiler.codegen import _host_cpu

    low = simd_relaxed.host_lowering()
    features = _host_cpu()[1].split(",")
    assert low.fma == ("+fma" in features and "+avx" in features)
    assert low.ssse3 == ("+ssse3" in features)
    assert low.sse41 == ("+sse4.1" in features)


# -- the switch, the validator, the baseline compiler -----------------------------------------

SWIZZLE = ("(module (func (param v128 v128) (result v128) "
           "(i8x16.relaxed_swizzle (local.get 0) (local.get 1))))")


@pytest.mark.parametrize("name", list(OPS))
def test_switched_off_both_reject(name: str) -> None:
    arity = _arity(name)
    wat = (f"(module (func (param{' v128' * arity}) (result v128) ({name} "
           + " ".join(f"(local.get {k})" for k in range(arity)) + ")))")
    binary = wasmtime.wat2wasm(wat)
    messages = []
    for api in (wasmtime, wasmlite):
        api.Module(api.Engine(), binary)  # on by default in both
        config = api.Config()
        config.wasm_relaxed_simd = False
        engine = api.Engine(config)
        with pytest.raises(api.WasmtimeError) as exc:
            api.Module(engine, binary)
        with pytest.raises(api.WasmtimeError) as exc2:
            api.Module.validate(engine, binary)
        assert "relaxed SIMD support is not enabled" in str(exc2.value)
        messages.append(str(exc.value))
    # wasmtime: "... Invalid input WebAssembly code at offset 37: relaxed SIMD support is
    # not enabled"; wasmlite: "relaxed SIMD support is not enabled (at offset 0x25)"
    want = re.search(r"at offset (\d+): (relaxed SIMD support is not enabled)", messages[0])
    got = re.search(r"(relaxed SIMD support is not enabled) \(at offset 0x([0-9a-f]+)\)",
                    messages[1])
    assert want and got, messages
    assert (got.group(1), int(got.group(2), 16)) == (want.group(2), int(want.group(1)))


def test_switch_defaults_and_simd_off() -> None:
    config = wasmlite.Config()
    assert config.wasm_relaxed_simd is True
    assert config._features().relaxed_simd
    config.wasm_simd = False  # wasmtime-py's Engine panics here; relaxed follows SIMD
    assert config._features().relaxed_simd is False
    engine = wasmlite.Engine(config)
    with pytest.raises(wasmlite.WasmtimeError, match="SIMD support is not enabled"):
        wasmlite.Module(engine, SWIZZLE)


def test_baseline_leaves_relaxed_to_llvm() -> None:
    relaxed = {c for c, n in op.OPCODE_NAMES.items() if ".relaxed_" in n}
    assert len(relaxed) == 20 and not relaxed & SIMD_OPS
    assert set(simd_relaxed.HANDLERS) == relaxed
    for name in OPS:
        arity = _arity(name)
        wat = (f"(module (func (param{' v128' * arity}) (result v128) ({name} "
               + " ".join(f"(local.get {k})" for k in range(arity)) + ")))")
        info = decode_module(wasmtime.wat2wasm(wat))
        (body,) = validate_module(info)
        assert unsupported_reason(info, 0, body) == "v128"
