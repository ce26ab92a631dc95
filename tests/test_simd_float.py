"""SIMD float lanes (``compiler/simd_float.py``): f32x4/f64x2 comparisons, sign-bit
operations, arithmetic, min/max, pmin/pmax, rounding and the float <-> integer lane
conversions (spec §4.3.2, §4.4.3; scalar numerics §4.3.3 applied lane-wise).

One module holds a loop per instruction that applies it to a table of v128 operands in
memory.  The same module runs on wasmlite (opt levels 0 and 2) and on wasmtime-py (the
reference; it has no v128 values, hence the memory round trip), and each result lane is
compared: bit for bit, except where the spec lets a NaN be any canonical or arithmetic
NaN (spec §4.3.3 "NaN propagation"), where the lane must be a NaN of that kind.  A few
Python reference checks make sure the reference agrees with the spec on the edges.
"""

from __future__ import annotations

import math
import random
import struct

import pytest
import wasmtime

import wasmlite

# memory layout: operand a, operand b, result; each region holds 4096 v128s
A, B, OUT, REGION = 0, 65536, 131072, 65536

F32_SPECIALS = [
    0x00000000, 0x80000000, 0x3F800000, 0xBF800000, 0x3F000000, 0xBF000000,  # 0 1 0.5
    0x3FC00000, 0x40200000, 0xC0200000, 0x3EFFFFFF, 0x3F7FFFFF,  # 1.5 2.5 -2.5 0.49.. 0.99..
    0x4B000001, 0x4AFFFFFF,  # 2^23 + 1, 2^23 - 0.5
    0x7F7FFFFF, 0xFF7FFFFF, 0x00800000, 0x00000001, 0x80000001, 0x807FFFFF,  # max, tiny
    0x7F800000, 0xFF800000,  # ±inf
    0x7FC00000, 0xFFC00000,  # canonical NaNs
    0x7F800001, 0xFFA00005,  # signalling NaNs
    0x7FE00001, 0xFFFFFFFF,  # quiet NaNs with a payload
    0x4F000000, 0xCF000000, 0x4EFFFFFF, 0xCF000001,  # ±2^31, just inside/outside
    0x4F800000, 0x4F7FFFFF, 0x5F000000, 0xC2C80000,  # 2^32, just below, 2^63, -100
]

F64_SPECIALS = [
    0x0000000000000000, 0x8000000000000000, 0x3FF0000000000000, 0xBFF0000000000000,
    0x3FE0000000000000, 0xBFE0000000000000, 0x3FF8000000000000, 0x4004000000000000,
    0xC004000000000000, 0x3FDFFFFFFFFFFFFF, 0x4330000000000001, 0x432FFFFFFFFFFFFF,
    0x7FEFFFFFFFFFFFFF, 0xFFEFFFFFFFFFFFFF, 0x0010000000000000, 0x0000000000000001,
    0x8000000000000001,
    0x7FF0000000000000, 0xFFF0000000000000,  # ±inf
    0x7FF8000000000000, 0xFFF8000000000000,  # canonical NaNs
    0x7FF0000000000001, 0xFFF4000000000005,  # signalling NaNs
    0x7FFC000000000001, 0xFFFFFFFFFFFFFFFF,  # quiet NaNs with a payload
    0x41E0000000000000, 0xC1E0000000000000, 0x41DFFFFFFFC00000,  # ±2^31, 2^31 - 1
    0xC1E0000000200000, 0xC1E00000001FFFFF,  # -2^31 - 1, just above it
    0x41F0000000000000, 0x41EFFFFFFFE00000,  # 2^32, 2^32 - 1
    0x47EFFFFFE0000000, 0x47EFFFFFF0000000,  # f32 max, the tie above it (rounds to inf)
    0x36A0000000000000, 0x3690000000000000,  # f32 smallest subnormal, half of it
    0x3FF0000010000000, 0x3FF0000030000000,  # ties to even on demotion
]

I32_SPECIALS = [0, 1, -1, 2**31 - 1, -2**31, 2**24 + 1, -(2**24 + 1), 2**25 + 3,
                0x7FFFFFBF, 0x7FFFFFC0, -0x7FFFFFC1, 0x01000001, 0xFFFFFF7F - 2**32]


def _rand_f32(rng: random.Random, n: int) -> list[int]:
    out = []
    for _ in range(n):
        e = rng.choice([rng.randrange(0x7F, 0x9F), rng.randrange(0, 0x100)])
        out.append((rng.getrandbits(1) << 31) | (e << 23) | rng.getrandbits(23))
    return out


def _rand_f64(rng: random.Random, n: int) -> list[int]:
    out = []
    for _ in range(n):
        e = rng.choice([rng.randrange(0x3FF, 0x41F), rng.randrange(0, 0x800),
                        rng.randrange(0x360, 0x480)])
        out.append((rng.getrandbits(1) << 63) | (e << 52) | rng.getrandbits(52))
    return out


_rng = random.Random(20240607)
F32_VALUES = F32_SPECIALS + _rand_f32(_rng, 24)
F64_VALUES = F64_SPECIALS + _rand_f64(_rng, 24)
I32_VALUES = [x & 0xFFFFFFFF for x in I32_SPECIALS] + [_rng.getrandbits(32) for _ in range(27)]

# instruction → (lane bits of the operands, lane bits of the result, arity, check kind)
# check kinds: "exact" (bit for bit), "nan" (a NaN lane may be any NaN the spec allows)
BINARY_F32 = ["f32x4.add", "f32x4.sub", "f32x4.mul", "f32x4.div", "f32x4.min", "f32x4.max"]
BINARY_F64 = ["f64x2.add", "f64x2.sub", "f64x2.mul", "f64x2.div", "f64x2.min", "f64x2.max"]
EXACT_BINARY = ["f32x4.pmin", "f32x4.pmax", "f64x2.pmin", "f64x2.pmax"] + [
    f"{s}.{c}" for s in ("f32x4", "f64x2") for c in ("eq", "ne", "lt", "gt", "le", "ge")]
UNARY_F32 = ["f32x4.sqrt", "f32x4.ceil", "f32x4.floor", "f32x4.trunc", "f32x4.nearest"]
UNARY_F64 = ["f64x2.sqrt", "f64x2.ceil", "f64x2.floor", "f64x2.trunc", "f64x2.nearest"]
EXACT_UNARY = ["f32x4.abs", "f32x4.neg", "f64x2.abs", "f64x2.neg",
               "i32x4.trunc_sat_f32x4_s", "i32x4.trunc_sat_f32x4_u",
               "i32x4.trunc_sat_f64x2_s_zero", "i32x4.trunc_sat_f64x2_u_zero",
               "f32x4.convert_i32x4_s", "f32x4.convert_i32x4_u",
               "f64x2.convert_low_i32x4_s", "f64x2.convert_low_i32x4_u"]
NAN_UNARY = ["f32x4.demote_f64x2_zero", "f64x2.promote_low_f32x4"]

BINARY = BINARY_F32 + BINARY_F64 + EXACT_BINARY
UNARY = UNARY_F32 + UNARY_F64 + EXACT_UNARY + NAN_UNARY


def _loop(name: str, arity: int) -> str:
    args = f"(v128.load offset={A} (local.get $i))"
    if arity == 2:
        args += f" (v128.load offset={B} (local.get $i))"
    return f"""
  (func (export "{name}") (param $n i32) (local $i i32)
    (loop $l
      (v128.store offset={OUT} (local.get $i) ({name} {args}))
      (local.set $i (i32.add (local.get $i) (i32.const 16)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $n)))))"""


WAT = ("(module (memory (export \"mem\") 3)"
       + "".join(_loop(n, 2) for n in BINARY) + "".join(_loop(n, 1) for n in UNARY) + ")")


class Runner:
    """The test module instantiated on one engine (wasmtime-py or wasmlite)."""

    def __init__(self, api, opt_level: str | None):  # noqa: ANN001 - a module
        config = api.Config()
        if opt_level is not None:
            config.opt_level = opt_level
        self.store = api.Store(api.Engine(config))
        self.instance = api.Instance(self.store, api.Module(self.store.engine, WAT), [])
        self.exports = self.instance.exports(self.store)
        self.mem = self.exports["mem"]

    def run(self, name: str, a: bytes, b: bytes | None = None) -> bytes:
        """Apply instruction ``name`` to every v128 of ``a`` (and ``b``); the results."""
        assert len(a) % 16 == 0 and 0 < len(a) <= REGION
        self.mem.write(self.store, a, A)
        if b is not None:
            self.mem.write(self.store, b, B)
        self.mem.write(self.store, bytes(len(a)), OUT)
        self.exports[name](self.store, len(a))
        return bytes(self.mem.read(self.store, OUT, OUT + len(a)))


@pytest.fixture(scope="module")
def reference() -> Runner:
    return Runner(wasmtime, None)


@pytest.fixture(scope="module", params=["0", "2"])
def ours(request: pytest.FixtureRequest) -> Runner:
    return Runner(wasmlite, request.param)


def _pack(values: list[int], bits: int) -> bytes:
    per = 128 // bits
    values = values + [0] * (-len(values) % per)
    return b"".join(v.to_bytes(bits // 8, "little") for v in values)


def _unpack(data: bytes, bits: int) -> list[int]:
    n = bits // 8
    return [int.from_bytes(data[i:i + n], "little") for i in range(0, len(data), n)]


def _is_nan(x: int, bits: int) -> bool:
    exp, frac = (0xFF, 23) if bits == 32 else (0x7FF, 52)
    return (x >> frac) & exp == exp and x & ((1 << frac) - 1) != 0


def _is_canonical(x: int, bits: int) -> bool:
    frac = 23 if bits == 32 else 52
    return _is_nan(x, bits) and x & ((1 << frac) - 1) == 1 << (frac - 1)


def _is_arithmetic(x: int, bits: int) -> bool:
    frac = 23 if bits == 32 else 52
    return _is_nan(x, bits) and bool(x >> (frac - 1) & 1)


def _pairs(values: list[int]) -> tuple[list[int], list[int]]:
    return [x for x in values for _ in values], [y for _ in values for y in values]


def _lane_bits(name: str) -> int:
    return 32 if name.startswith("f32x4") else 64


def _check_nan_lanes(name: str, ins: list[list[int]], in_bits: int, got: list[int],
                     want: list[int], out_bits: int) -> None:
    """Lane by lane: equal bits, or (reference NaN) a NaN allowed by the spec: canonical
    when every NaN operand is canonical, else arithmetic (spec §4.3.3)."""
    assert len(got) == len(want) >= len(ins[0])
    for k in range(len(ins[0])):  # the lanes past the inputs are padding
        g, w = got[k], want[k]
        operands = [x[k] for x in ins]
        if _is_nan(w, out_bits):
            nan_ops = [x for x in operands if _is_nan(x, in_bits)]
            if all(_is_canonical(x, in_bits) for x in nan_ops):
                ok = _is_canonical(g, out_bits)
            else:
                ok = _is_arithmetic(g, out_bits)
        else:
            ok = g == w
        assert ok, f"{name} lane {k}: operands {[hex(x) for x in operands]} " \
                   f"gave {g:#x}, reference {w:#x}"


@pytest.mark.parametrize("name", BINARY_F32 + BINARY_F64)
def test_binary_arith(ours: Runner, reference: Runner, name: str) -> None:
    bits = _lane_bits(name)
    a, b = _pairs(F32_VALUES if bits == 32 else F64_VALUES)
    pa, pb = _pack(a, bits), _pack(b, bits)
    got = _unpack(ours.run(name, pa, pb), bits)
    want = _unpack(reference.run(name, pa, pb), bits)
    _check_nan_lanes(name, [a, b], bits, got, want, bits)


@pytest.mark.parametrize("name", EXACT_BINARY)
def test_binary_exact(ours: Runner, reference: Runner, name: str) -> None:
    bits = _lane_bits(name)
    a, b = _pairs(F32_VALUES if bits == 32 else F64_VALUES)
    pa, pb = _pack(a, bits), _pack(b, bits)
    assert ours.run(name, pa, pb) == reference.run(name, pa, pb)


@pytest.mark.parametrize("name", UNARY_F32 + UNARY_F64)
def test_unary_arith(ours: Runner, reference: Runner, name: str) -> None:
    bits = _lane_bits(name)
    a = F32_VALUES if bits == 32 else F64_VALUES
    pa = _pack(a, bits)
    got = _unpack(ours.run(name, pa), bits)
    want = _unpack(reference.run(name, pa), bits)
    _check_nan_lanes(name, [a], bits, got, want, bits)


def _unary_input(name: str) -> tuple[list[int], int]:
    if "convert" in name:
        return I32_VALUES, 32
    if name.endswith("f64x2_s_zero") or name.endswith("f64x2_u_zero") or name.startswith("f64x2"):
        return F64_VALUES, 64
    return F32_VALUES, 32


@pytest.mark.parametrize("name", EXACT_UNARY)
def test_unary_exact(ours: Runner, reference: Runner, name: str) -> None:
    values, bits = _unary_input(name)
    pa = _pack(values, bits)
    assert ours.run(name, pa) == reference.run(name, pa)


def test_demote(ours: Runner, reference: Runner) -> None:
    pa = _pack(F64_VALUES, 64)
    got, want = ours.run("f32x4.demote_f64x2_zero", pa), reference.run(
        "f32x4.demote_f64x2_zero", pa)
    # two f32 results per v128, then two zero lanes
    g32, w32 = _unpack(got, 32), _unpack(want, 32)
    assert g32[2::4] == g32[3::4] == [0] * (len(g32) // 4)
    low = lambda v: [x for k, x in enumerate(v) if k % 4 < 2]  # noqa: E731
    _check_nan_lanes("f32x4.demote_f64x2_zero", [F64_VALUES], 64, low(g32), low(w32), 32)


def test_promote(ours: Runner, reference: Runner) -> None:
    # promote reads the two low f32 lanes of each v128
    lanes = [x for k in range(0, len(F32_VALUES), 2) for x in (*F32_VALUES[k:k + 2], 0, 0)]
    pa = _pack(lanes, 32)
    got = _unpack(ours.run("f64x2.promote_low_f32x4", pa), 64)
    want = _unpack(reference.run("f64x2.promote_low_f32x4", pa), 64)
    _check_nan_lanes("f64x2.promote_low_f32x4", [F32_VALUES], 32, got, want, 64)


# -- Python reference checks on the edges ---------------------------------------------

def _f32(x: float) -> int:
    return struct.unpack("<I", struct.pack("<f", x))[0]


def _f64(x: float) -> int:
    return struct.unpack("<Q", struct.pack("<d", x))[0]


def test_min_max_signed_zero_and_nan(ours: Runner) -> None:
    a = [_f32(0.0), _f32(-0.0), 0x7F800001, _f32(1.0)]
    b = [_f32(-0.0), _f32(0.0), _f32(1.0), 0xFFA00000]
    mn = _unpack(ours.run("f32x4.min", _pack(a, 32), _pack(b, 32)), 32)
    mx = _unpack(ours.run("f32x4.max", _pack(a, 32), _pack(b, 32)), 32)
    assert mn[:2] == [_f32(-0.0)] * 2 and mx[:2] == [_f32(0.0)] * 2
    for r in mn[2:] + mx[2:]:  # a signalling NaN operand gives a quiet NaN
        assert _is_arithmetic(r, 32)


def test_pmin_pmax_return_operand(ours: Runner) -> None:
    # pmin = b < a ? b : a, pmax = a < b ? b : a: NaN and ±0 come back as they are
    a = [0x7FA00001, _f32(1.0), _f32(0.0), _f32(-0.0)]
    b = [_f32(1.0), 0xFFA00002, _f32(-0.0), _f32(0.0)]
    pa, pb = _pack(a, 32), _pack(b, 32)
    assert _unpack(ours.run("f32x4.pmin", pa, pb), 32) == [
        y if struct.unpack("<f", y.to_bytes(4, "little"))[0]
        < struct.unpack("<f", x.to_bytes(4, "little"))[0] else x for x, y in zip(a, b, strict=True)]
    assert _unpack(ours.run("f32x4.pmax", pa, pb), 32) == a


def test_abs_neg_keep_nan_payload(ours: Runner) -> None:
    a = [0x7FA00001, 0xFFC00123, _f32(-0.0), _f32(-2.5)]
    assert _unpack(ours.run("f32x4.abs", _pack(a, 32)), 32) == [x & 0x7FFFFFFF for x in a]
    assert _unpack(ours.run("f32x4.neg", _pack(a, 32)), 32) == [x ^ 0x80000000 for x in a]
    d = [0x7FF4000000000005, 0x8000000000000000]
    assert _unpack(ours.run("f64x2.neg", _pack(d, 64)), 64) == [x ^ 1 << 63 for x in d]


def test_nearest_ties_to_even(ours: Runner) -> None:
    xs = [0.5, 1.5, 2.5, -2.5, -0.5, 4503599627370497.0, 0.49999999999999994, -3.5]
    got = _unpack(ours.run("f64x2.nearest", _pack([_f64(x) for x in xs], 64)), 64)
    want = [_f64(math.copysign(float(round(x)), x)) for x in xs]
    assert got == want


def test_trunc_sat_bounds(ours: Runner) -> None:
    xs = [2.0**31, -2.0**31 - 1, 2.0**32, -1.0, math.nan, math.inf, -math.inf, 2.0**31 - 1]

    def sat(x: float, lo: int, hi: int) -> int:
        return 0 if math.isnan(x) else max(lo, min(hi, int(x) if math.isfinite(x)
                                                    else (hi if x > 0 else lo)))
    got_s = _unpack(ours.run("i32x4.trunc_sat_f64x2_s_zero", _pack([_f64(x) for x in xs], 64)),
                    32)
    got_u = _unpack(ours.run("i32x4.trunc_sat_f64x2_u_zero", _pack([_f64(x) for x in xs], 64)),
                    32)
    for k, x in enumerate(xs):
        v, lane = divmod(k, 2)
        assert got_s[4 * v + lane] == sat(x, -2**31, 2**31 - 1) & 0xFFFFFFFF
        assert got_u[4 * v + lane] == sat(x, 0, 2**32 - 1)
        assert got_s[4 * v + 2 + lane] == got_u[4 * v + 2 + lane] == 0


def test_compare_all_ones(ours: Runner) -> None:
    a = [_f64(1.0), 0x7FF8000000000000]
    b = [_f64(1.0), 0x7FF8000000000000]
    pa, pb = _pack(a, 64), _pack(b, 64)
    assert _unpack(ours.run("f64x2.eq", pa, pb), 64) == [2**64 - 1, 0]
    assert _unpack(ours.run("f64x2.ne", pa, pb), 64) == [0, 2**64 - 1]


# -- NaN quieting where LLVM would fold the operation away ------------------------------

FOLD_WAT = """(module
  (func (export "mul_one") (param v128) (result v128)
    (f32x4.mul (local.get 0) (v128.const f32x4 1 1 1 1)))
  (func (export "one_mul") (param v128) (result v128)
    (f32x4.mul (v128.const f32x4 1 -1 1 -1) (local.get 0)))
  (func (export "mul_neg_one_splat") (param v128) (result v128)
    (f32x4.mul (local.get 0) (f32x4.splat (f32.const -1))))
  (func (export "div_one") (param v128) (result v128)
    (f64x2.div (local.get 0) (v128.const f64x2 1 1)))
  (func (export "div_neg_one_splat") (param v128) (result v128)
    (f64x2.div (local.get 0) (f64x2.splat (f64.const -1))))
  (func (export "sub_zero") (param v128) (result v128)
    (f32x4.sub (local.get 0) (v128.const f32x4 0 0 0 0)))
  (func (export "neg_zero_sub") (param v128) (result v128)
    (f64x2.sub (v128.const f64x2 -0 -0) (local.get 0)))
  (func (export "add_neg_zero") (param v128) (result v128)
    (f64x2.add (local.get 0) (v128.const f64x2 -0 -0)))
  (func (export "promote_demote") (param v128) (result v128)
    (f32x4.demote_f64x2_zero (f64x2.promote_low_f32x4 (local.get 0))))
)"""

#: export → (lane bits of the operand, lane bits of the result, result lanes to check)
FOLD_CASES = {
    "mul_one": (32, 32, 4), "one_mul": (32, 32, 4), "mul_neg_one_splat": (32, 32, 4),
    "sub_zero": (32, 32, 4), "promote_demote": (32, 32, 2), "div_one": (64, 64, 2),
    "div_neg_one_splat": (64, 64, 2), "neg_zero_sub": (64, 64, 2), "add_neg_zero": (64, 64, 2),
}

SNAN_LANES = {32: [0x7FA00001, 0xFF800123, 0x7F800002, 0xFFBFFFFF],
              64: [0x7FF4000000000001, 0xFFF0000000000123]}


@pytest.mark.parametrize("opt_level", ["0", "2"])
def test_identity_operations_quiet_signalling_nan(opt_level: str) -> None:
    """``x * 1``, ``x / -1``, ``x - 0``, ``-0 - x``, ``demote(promote x)`` … of a
    signalling NaN give an arithmetic NaN (spec §4.3.3), which LLVM's identity folds
    would lose."""
    config = wasmlite.Config()
    config.opt_level = opt_level
    store = wasmlite.Store(wasmlite.Engine(config))
    module = wasmlite.Module(store.engine, FOLD_WAT)
    exports = wasmlite.Instance(store, module, []).exports(store)
    for name, (in_bits, out_bits, checked) in FOLD_CASES.items():
        arg = int.from_bytes(_pack(SNAN_LANES[in_bits], in_bits), "little")
        result = exports[name](store, wasmlite.Val.v128(arg))
        lanes = _unpack(result.to_bytes(16, "little"), out_bits)[:checked]
        for lane in lanes:
            assert _is_arithmetic(lane, out_bits), f"{name} at opt level {opt_level}: {lane:#x}"
