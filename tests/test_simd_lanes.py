"""SIMD lanes, memory and bitwise instructions (``compiler/simd_lanes.py``): the
extending / splatting / zeroing / single-lane loads and stores, ``i8x16.shuffle`` and
``swizzle``, splats, ``extract_lane``/``replace_lane``, integer comparisons,
``v128.not/and/andnot/or/xor/bitselect/any_true`` and ``all_true``/``bitmask``
(spec §4.3.2, §4.4.3).

One module exports a function per instruction form; it is compiled at opt levels 0 and 2,
and with and without guard pages (``Config.signals_based_traps``), and every result is
compared with a lane-wise Python reference written from the spec.  v128 values cross the
API as 128-bit ints, lane 0 in the low bits.
"""

from __future__ import annotations

import random

import pytest

import wasmlite

M128 = (1 << 128) - 1
PAGE = 65536
OFF = 3  # the memarg offset every memory instruction of the module uses

SHAPES = {"i8x16": 8, "i16x8": 16, "i32x4": 32, "i64x2": 64}


def lanes(x: int, bits: int) -> list[int]:
    """The lanes of v128 ``x`` as unsigned ints, lane 0 first."""
    m = (1 << bits) - 1
    return [(x >> (bits * i)) & m for i in range(128 // bits)]


def join(ls: list[int], bits: int) -> int:
    """The v128 whose lanes are ``ls`` (wrapped to ``bits``), lane 0 first."""
    m = (1 << bits) - 1
    return sum((v & m) << (bits * i) for i, v in enumerate(ls))


def signed(v: int, bits: int) -> int:
    return v - (1 << bits) if v >> (bits - 1) else v


# -- the module --------------------------------------------------------------------------

SHUFFLE = [0, 31, 16, 15, 1, 1, 30, 2, 17, 8, 8, 23, 5, 24, 0, 19]
EXTRACT_LANES = {"i8x16": (0, 7, 15), "i16x8": (0, 5, 7), "i32x4": (0, 3),
                 "i64x2": (0, 1), "f32x4": (0, 2, 3), "f64x2": (0, 1)}
CMP = {s: ("eq", "ne", "lt_s", "lt_u", "gt_s", "gt_u", "le_s", "le_u", "ge_s", "ge_u")
       for s in ("i8x16", "i16x8", "i32x4")}
CMP["i64x2"] = ("eq", "ne", "lt_s", "gt_s", "le_s", "ge_s")
LOAD_EXTEND = {"8x8_s": (8, True), "8x8_u": (8, False), "16x4_s": (16, True),
               "16x4_u": (16, False), "32x2_s": (32, True), "32x2_u": (32, False)}
LANE_IDX = {8: 13, 16: 6, 32: 1, 64: 1}  # the lane each loadN_lane / storeN_lane uses


def _module_wat() -> str:
    f = ['(memory (export "mem") 1)']

    def fn(name: str, params: str, result: str, body: str) -> None:
        res = f"(result {result})" if result else ""
        f.append(f'(func (export "{name}") (param {params}) {res} {body})')

    lp = "(local.get 0)"
    lp1 = "(local.get 1)"
    fn("shuffle", "v128 v128", "v128",
       f"(i8x16.shuffle {' '.join(map(str, SHUFFLE))} {lp} {lp1})")
    fn("swizzle", "v128 v128", "v128", f"(i8x16.swizzle {lp} {lp1})")
    fn("shuffle_self", "v128", "v128",  # both operands the same value
       f"(i8x16.shuffle {' '.join(map(str, SHUFFLE))} {lp} {lp})")
    for s in ("i8x16", "i16x8", "i32x4"):
        fn(f"{s}.splat", "i32", "v128", f"({s}.splat {lp})")
    fn("i64x2.splat", "i64", "v128", f"(i64x2.splat {lp})")
    fn("f32x4.splat", "i32", "v128", f"(f32x4.splat (f32.reinterpret_i32 {lp}))")
    fn("f64x2.splat", "i64", "v128", f"(f64x2.splat (f64.reinterpret_i64 {lp}))")
    # constant operands (literals on the operand stack)
    fn("splat_const", "", "v128", "(i8x16.splat (i32.const 0x1ff))")
    fn("extract_const", "", "i32",
       "(i16x8.extract_lane_s 3 (v128.const i16x8 0 1 2 -32768 4 5 6 7))")
    for s, ls in EXTRACT_LANES.items():
        for i in ls:
            if s in ("i8x16", "i16x8"):
                fn(f"{s}.extract_lane_s {i}", "v128", "i32", f"({s}.extract_lane_s {i} {lp})")
                fn(f"{s}.extract_lane_u {i}", "v128", "i32", f"({s}.extract_lane_u {i} {lp})")
            elif s == "f32x4":
                fn(f"{s}.extract_lane {i}", "v128", "i32",
                   f"(i32.reinterpret_f32 ({s}.extract_lane {i} {lp}))")
            elif s == "f64x2":
                fn(f"{s}.extract_lane {i}", "v128", "i64",
                   f"(i64.reinterpret_f64 ({s}.extract_lane {i} {lp}))")
            else:
                fn(f"{s}.extract_lane {i}", "v128", "i32" if s == "i32x4" else "i64",
                   f"({s}.extract_lane {i} {lp})")
            st = {"i64x2": "i64", "f64x2": "i64"}.get(s, "i32")
            x = {"f32x4": f"(f32.reinterpret_i32 {lp1})",
                 "f64x2": f"(f64.reinterpret_i64 {lp1})"}.get(s, lp1)
            fn(f"{s}.replace_lane {i}", f"v128 {st}", "v128", f"({s}.replace_lane {i} {lp} {x})")
    for s, names in CMP.items():
        for n in names:
            fn(f"{s}.{n}", "v128 v128", "v128", f"({s}.{n} {lp} {lp1})")
    fn("v128.not", "v128", "v128", f"(v128.not {lp})")
    for n in ("and", "andnot", "or", "xor"):
        fn(f"v128.{n}", "v128 v128", "v128", f"(v128.{n} {lp} {lp1})")
    fn("v128.bitselect", "v128 v128 v128", "v128", f"(v128.bitselect {lp} {lp1} (local.get 2))")
    fn("v128.any_true", "v128", "i32", f"(v128.any_true {lp})")
    for s in SHAPES:
        fn(f"{s}.all_true", "v128", "i32", f"({s}.all_true {lp})")
        fn(f"{s}.bitmask", "v128", "i32", f"({s}.bitmask {lp})")
    # memory: every access at address + OFF
    for n in LOAD_EXTEND:
        fn(f"v128.load{n}", "i32", "v128", f"(v128.load{n} offset={OFF} {lp})")
    for b in (8, 16, 32, 64):
        fn(f"v128.load{b}_splat", "i32", "v128", f"(v128.load{b}_splat offset={OFF} {lp})")
        k = LANE_IDX[b]
        fn(f"v128.load{b}_lane", "i32 v128", "v128",
           f"(v128.load{b}_lane offset={OFF} {k} {lp} {lp1})")
        f.append(f'(func (export "v128.store{b}_lane") (param i32 v128) '
                 f"(v128.store{b}_lane offset={OFF} {k} {lp} {lp1}))")
        f.append(f'(func (export "drop.load{b}_splat") (param i32) '
                 f"(drop (v128.load{b}_splat offset={OFF} {lp})))")
        f.append(f'(func (export "drop.load{b}_lane") (param i32) '
                 f"(drop (v128.load{b}_lane offset={OFF} 0 {lp} (v128.const i64x2 0 0))))")
    for b in (32, 64):
        fn(f"v128.load{b}_zero", "i32", "v128", f"(v128.load{b}_zero offset={OFF} {lp})")
        f.append(f'(func (export "drop.load{b}_zero") (param i32) '
                 f"(drop (v128.load{b}_zero offset={OFF} {lp})))")
    f.append('(func (export "drop.load8x8_s") (param i32) '
             f"(drop (v128.load8x8_s offset={OFF} {lp})))")
    # a constant address: the access folds to a literal effective address
    fn("load64_lane_const", "", "v128",
       "(v128.load64_lane 1 (i32.const 8) (v128.const i64x2 -1 -1))")
    return "(module\n  " + "\n  ".join(f) + ")"


WAT = _module_wat()
CONFIGS = [("0", True), ("2", True), ("0", False), ("2", False)]


@pytest.fixture(scope="module", params=CONFIGS, ids=lambda c: f"O{c[0]}-guard{int(c[1])}")
def env(request):
    """``(store, exports, memory)`` of the module compiled under one configuration."""
    level, guard = request.param
    cfg = wasmlite.Config()
    cfg.opt_level = level
    cfg.signals_based_traps = guard and cfg.signals_based_traps
    store = wasmlite.Store(wasmlite.Engine(cfg))
    inst = wasmlite.Instance(store, wasmlite.Module(store.engine, WAT), [])
    ex = inst.exports(store)
    mem = ex["mem"]
    data = bytes(random.Random(7).getrandbits(8) for _ in range(PAGE))
    mem.write(store, data, 0)
    return store, ex, mem


def call(env, name: str, *args):
    """Call export ``name``; v128 arguments are passed as :func:`V` values."""
    store, ex, _ = env
    return ex[name](store, *args)


def V(x: int) -> wasmlite.Val:  # noqa: N802 (reads like the value type)
    """A v128 argument from a (possibly negative) int."""
    return wasmlite.Val.v128(x & M128)


_rng = random.Random(20240611)
EDGE8 = [0, 1, 0x7F, 0x80, 0xFF, 0xFE, 0x81, 0x7E, 0x10, 0x0F, 0x20, 0x40, 0xC0, 0x55,
         0xAA, 0x01]
VECTORS = [0, M128, join(EDGE8, 8), join(list(reversed(EDGE8)), 8),
           join([0, 1, 0x7FFF, 0x8000, 0xFFFF, 0x8001, 0x7FFE, 0x100], 16),
           join([0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 1], 32),
           join([0x8000000000000000, 0x7FFFFFFFFFFFFFFF], 64),
           join([0xFFFFFFFFFFFFFFFF, 0x8000000000000000], 64),
           1 << 127, 1] + [_rng.getrandbits(128) for _ in range(6)]
# lane-equal pairs matter for comparisons: add copies with some lanes changed
VECTORS += [v ^ (0xFF << 40) for v in VECTORS[2:8]]


# -- shuffles, splats, lanes -------------------------------------------------------------

def test_shuffle(env):
    for a in VECTORS[:8]:
        for b in VECTORS[8:]:
            both = lanes(a, 8) + lanes(b, 8)
            assert call(env, "shuffle", V(a), V(b)) == join([both[k] for k in SHUFFLE], 8)
        both = lanes(a, 8) * 2
        assert call(env, "shuffle_self", V(a)) == join([both[k] for k in SHUFFLE], 8)


def test_swizzle(env):
    idx_sets = [list(range(16)), list(range(15, -1, -1)),
                [16, 17, 31, 32, 0x7F, 0x80, 0xFF, 15, 0, 14, 0xF0, 0x10, 1, 0x8F, 2, 64],
                [_rng.randrange(0, 24) for _ in range(16)],
                [_rng.randrange(0, 256) for _ in range(16)]]
    for a in VECTORS:
        la = lanes(a, 8)
        for idx in idx_sets:
            want = join([la[k] if k < 16 else 0 for k in idx], 8)
            assert call(env, "swizzle", V(a), V(join(idx, 8))) == want


def test_splats(env):
    for x in (0, 1, -1, 0x1FF, 0x12345678, -0x80000000, 0x7FFFFFFF, 0xABCD):
        x32 = signed(x & 0xFFFFFFFF, 32)
        assert call(env, "i8x16.splat", x32) == join([x] * 16, 8)
        assert call(env, "i16x8.splat", x32) == join([x] * 8, 16)
        assert call(env, "i32x4.splat", x32) == join([x] * 4, 32)
    for x in (0, -1, 0x0123456789ABCDEF, -2**63, 2**63 - 1):
        assert call(env, "i64x2.splat", x) == join([x] * 2, 64)
    # float lanes keep their bits, NaN payloads included (signalling and negative too)
    for bits in (0x7FA00001, 0xFFC00000, 0x80000000, 0x3F800000, 0x7F800001):
        assert call(env, "f32x4.splat", signed(bits, 32)) == join([bits] * 4, 32)
    for bits in (0x7FF4000000000001, 0xFFF8000000000000, 0x8000000000000000):
        assert call(env, "f64x2.splat", signed(bits, 64)) == join([bits] * 2, 64)
    assert call(env, "splat_const") == M128
    assert call(env, "extract_const") == -32768


def test_extract_lane(env):
    nan_vecs = [join([0x7FA00001, 0xFFC00001, 0xFF800001, 0x7FC00000], 32),
                join([0x7FF0000000000001, 0xFFF4000000000005], 64)]
    for a in VECTORS + nan_vecs:
        for s, ls in EXTRACT_LANES.items():
            bits = {"f32x4": 32, "f64x2": 64}.get(s) or SHAPES[s]
            la = lanes(a, bits)
            for i in ls:
                if s in ("i8x16", "i16x8"):
                    assert call(env, f"{s}.extract_lane_s {i}", V(a)) == signed(la[i], bits)
                    assert call(env, f"{s}.extract_lane_u {i}", V(a)) == la[i]
                else:
                    assert call(env, f"{s}.extract_lane {i}", V(a)) == signed(la[i], bits)


def test_replace_lane(env):
    xs = {32: [0, -1, 0x1234, -0x7FFFFFFF - 1, 0x7FA00001, 0x1FF - 0x200],
          64: [0, -1, 2**63 - 1, -2**63, 0x7FF4000000000001]}
    for a in VECTORS[:10]:
        for s, ls in EXTRACT_LANES.items():
            bits = {"f32x4": 32, "f64x2": 64}.get(s) or SHAPES[s]
            for i in ls:
                for x in xs[64 if bits == 64 else 32]:
                    la = lanes(a, bits)
                    la[i] = x
                    assert call(env, f"{s}.replace_lane {i}", V(a), x) == join(la, bits), (s, i)


# -- comparisons and bitwise -------------------------------------------------------------

def _cmp(name: str, x: int, y: int, bits: int) -> bool:
    if name.endswith("_s"):
        x, y = signed(x, bits), signed(y, bits)
    return {"eq": x == y, "ne": x != y, "lt": x < y, "gt": x > y, "le": x <= y,
            "ge": x >= y}[name.split("_")[0]]


def test_integer_comparisons(env):
    pairs = [(a, b) for a in VECTORS for b in VECTORS[::3]] + [(a, a) for a in VECTORS]
    for s, names in CMP.items():
        bits = SHAPES[s]
        ones = (1 << bits) - 1
        for n in names:
            for a, b in pairs:
                want = join([ones if _cmp(n, x, y, bits) else 0
                             for x, y in zip(lanes(a, bits), lanes(b, bits), strict=True)], bits)
                assert call(env, f"{s}.{n}", V(a), V(b)) == want, (s, n, hex(a), hex(b))


def test_bitwise(env):
    for a in VECTORS:
        assert call(env, "v128.not", V(a)) == M128 ^ a
        assert call(env, "v128.any_true", V(a)) == int(a != 0)
        for b in VECTORS[::2]:
            assert call(env, "v128.and", V(a), V(b)) == a & b
            assert call(env, "v128.andnot", V(a), V(b)) == a & (M128 ^ b)
            assert call(env, "v128.or", V(a), V(b)) == a | b
            assert call(env, "v128.xor", V(a), V(b)) == a ^ b
            for c in VECTORS[1::4]:
                assert (call(env, "v128.bitselect", V(a), V(b), V(c))
                        == (a & c) | (b & (M128 ^ c)))


def test_all_true_and_bitmask(env):
    vecs = VECTORS + [join([1] * 16, 8), join([0x100] * 8, 16), join([1 << 31] * 4, 32),
                      join([1, 1 << 63], 64), join([1] * 15 + [0], 8), 1 << 64]
    for a in vecs:
        for s, bits in SHAPES.items():
            la = lanes(a, bits)
            assert call(env, f"{s}.all_true", V(a)) == int(all(la)), (s, hex(a))
            want = sum(1 << i for i, x in enumerate(la) if x >> (bits - 1))
            assert call(env, f"{s}.bitmask", V(a)) == want, (s, hex(a))


# -- memory ------------------------------------------------------------------------------

def _mem(env) -> bytes:
    store, _, mem = env
    return bytes(mem.read(store, 0, PAGE))


def _le(b: bytes) -> int:
    return int.from_bytes(b, "little")


ADDRS = [0, 1, 5, 1000, 4093]


def test_load_extend(env):
    m = _mem(env)
    for n, (bits, sign) in LOAD_EXTEND.items():
        for a in ADDRS + [PAGE - 8 - OFF]:
            ea = a + OFF
            src = lanes(_le(m[ea:ea + 8]), bits)
            want = join([signed(x, bits) if sign else x for x in src], 2 * bits)
            assert call(env, f"v128.load{n}", a) == want, (n, a)
        with pytest.raises(wasmlite.Trap, match="out of bounds memory access"):
            call(env, f"v128.load{n}", PAGE - 7 - OFF)


def test_load_splat_and_zero(env):
    m = _mem(env)
    for bits in (8, 16, 32, 64):
        size = bits // 8
        for a in ADDRS + [PAGE - size - OFF]:
            ea = a + OFF
            x = _le(m[ea:ea + size])
            assert call(env, f"v128.load{bits}_splat", a) == join([x] * (128 // bits), bits)
            if bits >= 32:
                assert call(env, f"v128.load{bits}_zero", a) == x
        for name in [f"load{bits}_splat"] + ([f"load{bits}_zero"] if bits >= 32 else []):
            with pytest.raises(wasmlite.Trap, match="out of bounds memory access"):
                call(env, f"v128.{name}", PAGE - size - OFF + 1)
            with pytest.raises(wasmlite.Trap, match="out of bounds memory access"):
                call(env, f"v128.{name}", -1)  # 0xFFFFFFFF + offset: past 4 GiB


def test_load_lane(env):
    m = _mem(env)
    base = VECTORS[2] ^ (VECTORS[9] << 1) & M128
    for bits in (8, 16, 32, 64):
        size = bits // 8
        k = LANE_IDX[bits]
        for a in ADDRS + [PAGE - size - OFF]:
            la = lanes(base, bits)
            la[k] = _le(m[a + OFF:a + OFF + size])
            assert call(env, f"v128.load{bits}_lane", a, V(base)) == join(la, bits)
        with pytest.raises(wasmlite.Trap, match="out of bounds memory access"):
            call(env, f"v128.load{bits}_lane", PAGE - size - OFF + 1, V(base))
    assert call(env, "load64_lane_const") == (_le(m[8:16]) << 64) | (2**64 - 1)


def test_store_lane(env):
    store, _, mem = env
    v = VECTORS[-1]
    for bits in (8, 16, 32, 64):
        size = bits // 8
        x = lanes(v, bits)[LANE_IDX[bits]].to_bytes(size, "little")
        for a in [0, 7, 2001, PAGE - size - OFF]:
            before = _mem(env)
            assert call(env, f"v128.store{bits}_lane", a, V(v)) is None
            after = _mem(env)
            ea = a + OFF
            assert after == before[:ea] + x + before[ea + size:]
        # out of bounds by one byte: traps and writes nothing
        before = _mem(env)
        with pytest.raises(wasmlite.Trap, match="out of bounds memory access"):
            call(env, f"v128.store{bits}_lane", PAGE - size - OFF + 1, V(v))
        assert _mem(env) == before
    mem.write(store, bytes(random.Random(7).getrandbits(8) for _ in range(PAGE)), 0)


def test_dropped_loads_still_trap(env):
    names = [f"drop.load{b}_{k}" for b in (8, 16, 32, 64) for k in ("splat", "lane")]
    names += ["drop.load32_zero", "drop.load64_zero", "drop.load8x8_s"]
    for name in names:
        call(env, name, 0)  # in bounds: no trap
        with pytest.raises(wasmlite.Trap, match="out of bounds memory access"):
            call(env, name, PAGE)
