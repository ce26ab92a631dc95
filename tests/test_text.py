"""Unit tests of the WebAssembly text parser (``wasmlite.text``, spec §6).

Literals are checked against values computed independently (``struct``, ``fractions``,
exact IEEE rules) and, where given, against ``wasmtime.wat2wasm``; module-level
behaviour is checked by decoding our output with ``wasmlite.binary.decode_module``.
The spec-suite differential test is ``tests/test_text_spec.py``.
"""

from __future__ import annotations

import random
import struct
from fractions import Fraction

import pytest
import wasmtime

from wasmlite.binary import decode_module, read_function_body
from wasmlite.binary import opcodes as op
from wasmlite.environ.module import EXTERN_FUNC, EXTERN_GLOBAL, EXTERN_MEMORY, EXTERN_TABLE
from wasmlite.errors import WasmtimeError
from wasmlite.text import WatError, parse_module_form, tokenize, wat2wasm
from wasmlite.text.literals import (
    F32_FORMAT,
    F64_FORMAT,
    LiteralRangeError,
    parse_float_bits,
    parse_int,
    parse_uint,
)


def body(text: str, index: int = 0) -> list[tuple]:
    """``(opcode, immediate)`` list of defined function ``index`` of module ``text``."""
    info = decode_module(wat2wasm(text))
    return [(o, imm) for o, imm, _ in read_function_body(info, index)]


def const_bits(text: str) -> int:
    """The immediate of the single ``fN.const`` in ``(func (fN.const ...) drop)``."""
    return body(text)[0][1]


def f32_bits(lit: str) -> int:
    return const_bits(f"(func (f32.const {lit}) drop)")


def f64_bits(lit: str) -> int:
    return const_bits(f"(func (f64.const {lit}) drop)")


def wat_error(text: str | bytes) -> WatError:
    with pytest.raises(WatError) as info:
        wat2wasm(text)
    return info.value


# -- literals ----------------------------------------------------------------------------

def _f32_reference(value: Fraction) -> int:
    """Round a positive rational to f32 bits by brute-force search (ties to even)."""
    # candidates around the value: use float64 estimate then adjust by neighbours
    est = struct.unpack("<I", struct.pack("<f", min(float(value), 3.4e38)))[0]
    best = None
    for bits in range(max(0, est - 3), min(0x7F7FFFFF, est + 3) + 1):
        v = Fraction(struct.unpack("<f", struct.pack("<I", bits))[0])
        d = abs(v - value)
        key = (d, bits & 1)
        if best is None or key < best[0]:
            best = (key, bits)
    return best[1]


def test_f32_decimal_rounding_matches_exact_reference() -> None:
    rng = random.Random(1234)
    for _ in range(300):
        digits = "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 25)))
        exp = rng.randint(-45, 38)
        lit = f"{digits[0]}.{digits[1:] or '0'}e{exp}"
        value = Fraction(lit)
        if value == 0 or value > Fraction("3.4028234e38"):
            continue
        assert parse_float_bits(lit, F32_FORMAT) == _f32_reference(value), lit


def test_f32_double_rounding_case() -> None:
    # 1 + 2**-24 + 2**-60: rounding to f64 first gives 1 + 2**-24 (a tie), then 1.0 in
    # f32; rounding once gives the next f32 above 1.0.
    value = Fraction(1) + Fraction(1, 2**24) + Fraction(1, 2**60)
    lit = str(value.numerator * 10**60 // value.denominator)  # exact: 2**60 | 10**60
    lit = lit[0] + "." + lit[1:] + "e0"
    assert parse_float_bits(lit, F32_FORMAT) == 0x3F800001


def test_f64_decimal_matches_python_float() -> None:
    rng = random.Random(99)
    for _ in range(300):
        digits = "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 30)))
        lit = f"{digits}e{rng.randint(-330, 300)}"
        expected = struct.unpack("<Q", struct.pack("<d", float(lit)))[0]
        if float(lit) == float("inf"):
            with pytest.raises(LiteralRangeError):
                parse_float_bits(lit, F64_FORMAT)
        else:
            assert parse_float_bits(lit, F64_FORMAT) == expected, lit


def test_hex_floats_match_float_fromhex() -> None:
    rng = random.Random(7)
    for _ in range(300):
        mant = "".join(rng.choice("0123456789abcdef") for _ in range(rng.randint(1, 20)))
        lit = f"0x{mant[0]}.{mant[1:]}p{rng.randint(-1100, 1000)}"
        try:
            v = float.fromhex(lit)
        except OverflowError:
            with pytest.raises(LiteralRangeError):
                parse_float_bits(lit, F64_FORMAT)
            continue
        assert parse_float_bits(lit, F64_FORMAT) == struct.unpack("<Q", struct.pack("<d", v))[0]


@pytest.mark.parametrize(("lit", "bits"), [
    ("0x1p-149", 0x00000001),                  # smallest subnormal
    ("0x1p-150", 0x00000000),                  # exactly half of it: ties to even, 0
    ("0x1.000001p-150", 0x00000001),           # just above half: rounds up
    ("0x1.fffffep127", 0x7F7FFFFF),            # largest finite
    ("0x1.fffffefffffffffffp127", 0x7F7FFFFF), # just below the overflow boundary
    ("0x1p-126", 0x00800000),                  # smallest normal
    ("0x1.fffffcp-127", 0x00800000 - 1),       # largest subnormal
    ("-0", 0x80000000),
    ("+0.0", 0),
    ("inf", 0x7F800000),
    ("-inf", 0xFF800000),
    ("nan", 0x7FC00000),
    ("-nan", 0xFFC00000),
    ("nan:0x1", 0x7F800001),
    ("-nan:0x7f_ffff", 0xFFFFFFFF),
    ("1_000.5e-1_0", None),
    ("1.", 0x3F800000),
    ("1.e1", 0x41200000),
    ("0x1.", 0x3F800000),
    ("0xA.8p0", 0x41280000),
    ("123", 0x42F60000),
])
def test_f32_literals(lit: str, bits: int | None) -> None:
    if bits is None:
        bits = _f32_reference(Fraction("1000.5e-10"))
    assert f32_bits(lit) == bits


@pytest.mark.parametrize(("lit", "bits"), [
    ("0x1p-1074", 1),
    ("0x1p-1075", 0),
    ("0x1.fffffffffffff8p1023", None),         # rounds to 2**1024: out of range
    ("nan:0xf_ffff_ffff_ffff", 0x7FFFFFFFFFFFFFFF),
    ("-nan:0x8000000000000", 0xFFF8000000000000),
    ("nan", 0x7FF8000000000000),
    ("-0x0.0p0", 0x8000000000000000),
    ("1e-400", 0),
    ("2.2250738585072014e-308", 0x0010000000000000),
])
def test_f64_literals(lit: str, bits: int | None) -> None:
    if bits is None:
        assert "constant out of range" in wat_error(f"(func (f64.const {lit}) drop)").problem
    else:
        assert f64_bits(lit) == bits


@pytest.mark.parametrize("text", [
    "(func (f32.const nan:0x0) drop)",
    "(func (f32.const nan:0x80_0000) drop)",
    "(func (f64.const nan:0x10000000000000) drop)",
    "(func (f32.const 0x1p128) drop)",
    "(func (f32.const 0x1.ffffffp127) drop)",
    "(func (f32.const 1e39) drop)",
    "(func (f64.const 1e309) drop)",
    "(func (i32.const 0x1_0000_0000) drop)",
    "(func (i32.const -0x8000_0001) drop)",
    "(func (i64.const 18446744073709551616) drop)",
    "(func (i64.const -9223372036854775809) drop)",
])
def test_out_of_range_literals(text: str) -> None:
    assert wat_error(text).problem.startswith("constant out of range")


@pytest.mark.parametrize("lit", ["1__0", "_1", "1_", "0x_1", "0_x1", "0x", "1e", "1e+",
                                 ".5", "0x.p1", "nan:1", "nan:0x", "+-1", "infinity",
                                 "1.0e1_", "0x1p_1", "0x1.0p"])
def test_malformed_number_tokens(lit: str) -> None:
    for text in (f"(func (f64.const {lit}) drop)", f"(func (i64.const {lit}) drop)"):
        assert "expected a number" in wat_error(text).problem


def test_integer_literals() -> None:
    assert parse_int("0xffffffff", 32) == -1
    assert parse_int("+0xffffffff", 32) == -1
    assert parse_int("-0x80000000", 32) == -(2**31)
    assert parse_int("4294967295", 32) == -1
    assert parse_int("1_000_000", 32) == 1_000_000
    assert parse_int("0x7fff_ffff_ffff_ffff", 64) == 2**63 - 1
    assert parse_int("$x", 32) is None
    with pytest.raises(LiteralRangeError):
        parse_int("-2147483649", 32)
    assert parse_uint("0x10") == 16
    assert parse_uint("+1") is None
    instrs = body("(func (i32.const 0xffff_ffff) (i64.const -0x8000000000000000) "
                  "drop drop)")
    assert instrs[:2] == [(op.I32_CONST, -1), (op.I64_CONST, -(2**63))]


def test_v128_const_shapes() -> None:
    def v128(shape_lanes: str) -> bytes:
        return body(f"(func (v128.const {shape_lanes}) drop)")[0][1]

    assert v128("i8x16 " + " ".join(str(i - 128) for i in range(16))) == bytes(
        (i - 128) & 0xFF for i in range(16))
    assert v128("i16x8 -1 0xffff 1 2 3 4 5 6") == struct.pack("<8H", 0xFFFF, 0xFFFF,
                                                               1, 2, 3, 4, 5, 6)
    assert v128("i32x4 -1 0 1 0x8000_0000") == struct.pack("<4I", 0xFFFFFFFF, 0, 1, 2**31)
    assert v128("i64x2 -1 0x7fffffffffffffff") == struct.pack("<2Q", 2**64 - 1, 2**63 - 1)
    assert v128("f32x4 1.5 -0 nan:0x1 inf") == struct.pack("<4I", 0x3FC00000, 0x80000000,
                                                            0x7F800001, 0x7F800000)
    assert v128("f64x2 0x1p-1074 -nan") == struct.pack("<2Q", 1, 0xFFF8000000000000)
    assert "wrong number of lane literals" in wat_error(
        "(func (v128.const i32x4 1 2 3) drop)").problem
    assert "constant out of range" in wat_error(
        "(func (v128.const i8x16 256 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0) drop)").problem


def test_simd_lane_and_memarg_immediates() -> None:
    lanes = " ".join(str(31 - i) for i in range(16))
    instrs = body(f"""(memory 1)
      (func (param v128)
        (drop (i8x16.shuffle {lanes} (local.get 0) (local.get 0)))
        (drop (i16x8.extract_lane_u 7 (local.get 0)))
        (drop (v128.load16_lane offset=8 align=1 3 (i32.const 0) (local.get 0)))
        (drop (i32.load8_u offset=0x10 (i32.const 0)))
        (drop (i64.load align=4 (i32.const 0))))""")
    assert (op.I8X16_SHUFFLE, bytes(range(31, 15, -1))) in instrs
    assert (op.I16X8_EXTRACT_LANE_U, 7) in instrs
    assert (op.V128_LOAD16_LANE, ((0, 8), 3)) in instrs
    assert (op.I32_LOAD8_U, (0, 16)) in instrs
    assert (op.I64_LOAD, (2, 0)) in instrs
    assert "power of two" in wat_error(
        "(memory 1) (func (drop (i32.load align=3 (i32.const 0))))").problem
    assert "malformed lane index" in wat_error(
        "(func (param v128) (drop (i8x16.extract_lane_s 256 (local.get 0))))").problem


# -- lexical structure ---------------------------------------------------------------------

def test_string_escapes() -> None:
    wat = r'(memory 1) (data (i32.const 0) "\t\n\r\"\'\\\41\fF\u{41}\u{1F600}\u{e9}" "é")'
    info = decode_module(wat2wasm(wat))
    assert info.datas[0].data == (b"\t\n\r\"'\\A\xffA" + "\U0001F600".encode()
                                  + "é".encode() + "é".encode())


@pytest.mark.parametrize(("text", "problem"), [
    (r'(memory 1) (data (i32.const 0) "\u{D800}")', "malformed unicode escape"),
    (r'(memory 1) (data (i32.const 0) "\u{110000}")', "malformed unicode escape"),
    (r'(memory 1) (data (i32.const 0) "\q")', "unknown escape"),
    ('(memory 1) (data (i32.const 0) "a\tb")', "illegal character"),
    ('(memory 1) (data (i32.const 0) "abc', "unterminated string"),
    ("(func) (; open", "unterminated block comment"),
    ("(func) {", "unexpected character"),
    ('(func (export "a""b"))', "tokens must be separated"),
])
def test_lexical_errors(text: str, problem: str) -> None:
    assert problem in wat_error(text).problem


def test_comments_and_annotations_are_skipped() -> None:
    plain = wat2wasm('(module (func (export "f") (result i32) (i32.const 1)))')
    noisy = wat2wasm("""(module ;; line comment (func
      (; block (; nested ;) comment ;)
      (@custom "x" (after code) "(" ) (@other)
      (func (export "f") (@name "f2") (result i32) ;; trailing
        (i32.const 1)) (;;)
    ) ;; end""")
    assert plain == noisy


def test_names_must_be_utf8() -> None:
    assert "malformed UTF-8" in wat_error(r'(func (export "\ff"))').problem
    assert "malformed UTF-8" in wat_error(b'(func) ;; \xff\xfe').problem
    # data strings are raw bytes
    assert decode_module(wat2wasm(r'(memory 1) (data (i32.const 0) "\ff")')).datas[0].data \
        == b"\xff"


# -- identifiers ---------------------------------------------------------------------------

def test_identifiers_resolve_in_every_index_space() -> None:
    wat = """(module $mod
      (type $t0 (func))
      (type $t1 (func (param i32) (result i32)))
      (import "m" "f" (func $imp (type $t1)))
      (import "m" "g" (global $gi i32))
      (func $f (type $t1) (param $x i32) (result i32) (local $y i32)
        (local.set $y (local.get $x))
        (block $outer (result i32)
          (loop $l
            (br_if $l (i32.const 0))
            (br_if $outer (local.get $y) (i32.const 0)) drop)
          (call $imp (local.get $y)))
        (call_indirect $tab (type $t1) (global.get $g))
        drop)
      (table $other 0 externref)
      (table $tab 1 funcref)
      (memory $mem 1)
      (global $g (mut i32) (global.get $gi))
      (elem $e func $f)
      (data $d "x")
      (func $g2
        (elem.drop $e) (data.drop $d)
        (table.init $tab $e (i32.const 0) (i32.const 0) (i32.const 0))
        (memory.init $d (i32.const 0) (i32.const 0) (i32.const 0))
        (drop (table.size $tab)) (drop (ref.func $f)))
      (export "f" (func $f)) (export "t" (table $tab)) (export "m" (memory $mem))
      (export "g" (global $g))
      (start $g2))"""
    binary = wat2wasm(wat)
    info = decode_module(binary)
    assert info.funcs == [1, 0]
    assert info.start == 2
    assert [(e.name, e.kind, e.index) for e in info.exports] == [
        ("f", EXTERN_FUNC, 1), ("t", EXTERN_TABLE, 1), ("m", EXTERN_MEMORY, 0),
        ("g", EXTERN_GLOBAL, 1)]
    f = [(o, imm) for o, imm, _ in read_function_body(info, 0)]
    assert (op.LOCAL_SET, 1) in f and (op.LOCAL_GET, 0) in f
    assert (op.BR_IF, 0) in f and (op.BR_IF, 1) in f
    assert (op.CALL, 0) in f
    assert (op.CALL_INDIRECT, (1, 1)) in f and (op.GLOBAL_GET, 1) in f
    g2 = [(o, imm) for o, imm, _ in read_function_body(info, 1)]
    assert g2[:2] == [(op.ELEM_DROP, 0), (op.DATA_DROP, 0)]
    assert (op.TABLE_INIT, (0, 1)) in g2 and (op.TABLE_SIZE, 1) in g2
    assert (op.REF_FUNC, 1) in g2
    assert info.data_count == 1
    assert info.names.module == "mod"
    assert info.names.functions == {0: "imp", 1: "f", 2: "g2"}
    assert info.names.locals[1] == {0: "x", 1: "y"}


def test_forward_references() -> None:
    info = decode_module(wat2wasm(
        "(func (call $later)) (global i32 (global.get $g)) (func $later)"
        "(global $g i32 (i32.const 1))"))
    assert [(o, imm) for o, imm, _ in read_function_body(info, 0)][0] == (op.CALL, 1)
    assert info.globals[0].init[0][:2] == (op.GLOBAL_GET, 1)


def test_labels_shadow_and_numeric_depths() -> None:
    instrs = body("(func block $a block $a br $a br 1 end br $a end)")
    assert [i for i in instrs if i[0] == op.BR] == [(op.BR, 0), (op.BR, 1), (op.BR, 0)]


@pytest.mark.parametrize(("text", "problem"), [
    ("(func (call $nope))", "unknown func $nope"),
    ("(func (local.get $x))", "unknown local $x"),
    ("(func (br $l))", "unknown label $l"),
    ("(func (global.get $g))", "unknown global $g"),
    ("(func (table.get $t (i32.const 0)) drop)", "unknown table $t"),
    ("(func (elem.drop $e))", "unknown elem $e"),
    ("(func (data.drop $d))", "unknown data $d"),
    ("(func (type $t))", "unknown type $t"),
    ("(export \"m\" (memory $m))", "unknown memory $m"),
    ("(func $f) (func $f)", "duplicate func $f"),
    ("(global $g i32 (i32.const 0)) (global $g i32 (i32.const 0))", "duplicate global $g"),
    ("(func (param $x i32) (local $x i32))", "duplicate local $x"),
    ("(type $t (func)) (type $t (func))", "duplicate type $t"),
    ("(func block $a end $b)", "mismatching label"),
    ("(func block end $b)", "mismatching label"),
    ("(func (i32.const 0) if $a else $b end)", "mismatching label"),
    ("(type $t (func (param i32))) (func (type $t) (local.get $p) drop)", "unknown local $p"),
])
def test_identifier_errors(text: str, problem: str) -> None:
    assert problem in wat_error(text).problem


# -- abbreviations -------------------------------------------------------------------------

def test_inline_imports_and_exports() -> None:
    info = decode_module(wat2wasm("""
      (func $f (export "a") (export "b") (import "m" "f") (param i32))
      (table (export "t") (import "m" "t") 1 2 funcref)
      (memory (import "m" "mem") 1)
      (global $g (export "g") (import "m" "g") (mut f64))
      (func (export "c"))"""))
    assert [(i.module, i.name, i.kind) for i in info.imports] == [
        ("m", "f", EXTERN_FUNC), ("m", "t", EXTERN_TABLE), ("m", "mem", EXTERN_MEMORY),
        ("m", "g", EXTERN_GLOBAL)]
    assert info.imports[3].desc.mutable
    assert [(e.name, e.kind, e.index) for e in info.exports] == [
        ("a", EXTERN_FUNC, 0), ("b", EXTERN_FUNC, 0), ("t", EXTERN_TABLE, 0),
        ("g", EXTERN_GLOBAL, 0), ("c", EXTERN_FUNC, 1)]


@pytest.mark.parametrize("text", [
    "(func) (import \"m\" \"f\" (func))",
    "(global i32 (i32.const 0)) (func (import \"m\" \"f\"))",
    "(memory 1) (table (import \"m\" \"t\") 1 funcref)",
])
def test_import_after_definition_is_malformed(text: str) -> None:
    assert wat_error(text).problem.startswith("import after")


def test_table_and_memory_inline_segments() -> None:
    info = decode_module(wat2wasm("""
      (func $a) (func $b)
      (table $t funcref (elem $b $a $b))
      (table externref (elem (ref.null extern) (item ref.null extern)))
      (memory (data "ab" "c"))
      (memory $big (data "%s"))""" % ("x" * 65537)))
    assert [(t.elem, t.limits.min, t.limits.max) for t in info.tables] == [
        (0x70, 3, 3), (0x6F, 2, 2)]
    assert [(m.limits.min, m.limits.max) for m in info.memories] == [(1, 1), (2, 2)]
    e0, e1 = info.elems
    assert e0.mode == "active" and e0.table == 0
    assert [x[0][:2] for x in e0.items] == [(op.REF_FUNC, 1), (op.REF_FUNC, 0),
                                           (op.REF_FUNC, 1)]
    assert e1.table == 1 and e1.type == 0x6F and len(e1.items) == 2
    assert [(d.memory, d.data[:3], len(d.data)) for d in info.datas] == [
        (0, b"abc", 3), (1, b"xxx", 65537)]


def test_elem_and_data_segment_forms() -> None:
    info = decode_module(wat2wasm("""
      (table $t 2 funcref) (table $u 2 funcref) (memory 1) (func $f)
      (elem (i32.const 0) $f)
      (elem (table $u) (offset (i32.const 1)) func $f $f)
      (elem $p funcref (ref.func $f) (item (ref.null func)))
      (elem func $f)
      (elem declare func $f)
      (elem declare funcref (ref.func $f))
      (elem (table $u) (i32.const 0) funcref (ref.null func))
      (data (i32.const 8) "a")
      (data (memory 0) (offset (i32.const 16)) "b")
      (data $pd "c" "d")"""))
    modes = [(e.mode, e.table, len(e.items)) for e in info.elems]
    assert modes == [("active", 0, 1), ("active", 1, 2), ("passive", 0, 2),
                     ("passive", 0, 1), ("declarative", 0, 1), ("declarative", 0, 1),
                     ("active", 1, 1)]
    assert info.elems[0].offset[0][:2] == (op.I32_CONST, 0)
    assert info.elems[2].items[1][0][:2] == (op.REF_NULL, 0x70)
    assert [(d.mode, d.data) for d in info.datas] == [
        ("active", b"a"), ("active", b"b"), ("passive", b"cd")]
    assert info.datas[1].offset[0][:2] == (op.I32_CONST, 16)


def test_implicit_types_appended_in_order_and_reused() -> None:
    info = decode_module(wat2wasm("""
      (func $a (param i64))
      (func $b (block (param i32) (result i32 i32) unreachable) )
      (type $explicit (func (param f32)))
      (func $c (param f32))
      (func $d (param i64))
      (func $e (call_indirect (param f64) (i32.const 0)))
      (table 0 funcref)"""))
    sigs = [(t.params, t.results) for t in info.types]
    assert sigs == [((0x7D,), ()), ((0x7E,), ()), ((), ()), ((0x7F,), (0x7F, 0x7F)),
                    ((0x7C,), ())]
    assert info.funcs == [1, 2, 0, 1, 2]


def test_typeuse_checks_inline_signature() -> None:
    ok = decode_module(wat2wasm("(type $t (func (param i32) (result i32)))"
                                "(func (type $t) (param $x i32) (result i32) local.get $x)"))
    assert ok.funcs == [0] and len(ok.types) == 1
    assert "inline function type" in wat_error(
        "(type $t (func (param i32))) (func (type $t) (param i64))").problem


def test_block_types() -> None:
    instrs = body("""(type $t (func (result i32)))
      (func (result i32)
        (block (result i32) (i32.const 1)) drop
        (block (type $t) (i32.const 1)) drop
        (loop $l (param) (result) nop)
        (if (result f64) (i32.const 0) (then (f64.const 0)) (else (f64.const 1))) drop
        (i32.const 0) if (result i32) i32.const 1 else i32.const 2 end)""")
    blocks = [i for i in instrs if i[0] in (op.BLOCK, op.LOOP, op.IF)]
    assert blocks == [(op.BLOCK, -1), (op.BLOCK, 0), (op.LOOP, -64), (op.IF, -4),
                      (op.IF, -1)]


def test_folded_and_plain_forms_are_equal() -> None:
    folded = wat2wasm("""(func (param i32) (result i32)
      (if (result i32) (local.get 0)
        (then (i32.add (i32.const 1) (i32.mul (local.get 0) (i32.const 2))))
        (else (select (i32.const 3) (i32.const 4) (local.get 0)))))""")
    plain = wat2wasm("""(func (param i32) (result i32)
      local.get 0
      if (result i32)
        i32.const 1 local.get 0 i32.const 2 i32.mul i32.add
      else
        i32.const 3 i32.const 4 local.get 0 select
      end)""")
    assert folded == plain


def test_select_table_and_ref_instructions() -> None:
    instrs = body("""(table $a 1 funcref) (table $b 1 funcref) (elem $e func)
      (func (result i32)
        (drop (select (result i64) (i64.const 1) (i64.const 2) (i32.const 0)))
        (table.copy (i32.const 0) (i32.const 0) (i32.const 0))
        (table.copy $b $a (i32.const 0) (i32.const 0) (i32.const 0))
        (table.init $e (i32.const 0) (i32.const 0) (i32.const 0))
        (table.init $b 0 (i32.const 0) (i32.const 0) (i32.const 0))
        (drop (table.get (i32.const 0)))
        (drop (ref.is_null (ref.null extern)))
        (i32.const 0))""")
    assert (op.SELECT_T, (0x7E,)) in instrs
    assert (op.TABLE_COPY, (0, 0)) in instrs and (op.TABLE_COPY, (1, 0)) in instrs
    assert (op.TABLE_INIT, (0, 0)) in instrs and (op.TABLE_INIT, (0, 1)) in instrs
    assert (op.TABLE_GET, 0) in instrs and (op.REF_NULL, 0x6F) in instrs


def test_module_forms() -> None:
    fields = '(func (export "f") (result i32) (i32.const 42))'
    wrapped = wat2wasm(f"(module $m {fields})")
    assert decode_module(wrapped).names.module == "m"
    assert wat2wasm(f"(module {fields})") == wat2wasm(fields)
    binary = wat2wasm(f"(module {fields})")
    escaped = "".join(f"\\{b:02x}" for b in binary)
    assert wat2wasm(f'(module binary "{escaped[:39]}" "{escaped[39:]}")') == binary
    quoted = fields.replace('"', '\\"')
    tokens = tokenize(f'(module $q quote "{quoted}") (module binary "\\00asm")')
    form, end = parse_module_form(tokens, 0)
    assert (form.kind, form.name) == ("quote", "$q") and form.to_binary() == binary
    form2, end2 = parse_module_form(tokens, end)
    assert form2.kind == "binary" and form2.to_binary() == b"\x00asm"
    assert end2 == len(tokens)
    assert wat2wasm("") == b"\x00asm\x01\x00\x00\x00"
    bad, _ = parse_module_form(tokenize('(module quote "(func (i32.bogus))")'), 0)
    with pytest.raises(WatError):
        bad.to_binary()


# -- errors --------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "line", "column", "problem"), [
    ("(module\n  (func\n    i32.bogus))", 3, 5, "unknown operator"),
    ("(module\n  (func (call $missing)))", 2, 15, "unknown func $missing"),
    ('(module\n (memory 1)\n (data (i32.const 0) "ok" "\\x"))', 3, 28, "unknown escape"),
    ("(module (func (i32.const 0x1_0000_0000) drop))", 1, 26, "constant out of range"),
    ("(module\n\t(func)\n\t(oops))", 3, 3, "unknown module field"),
    ("(module (func)", 1, 15, "unexpected end"),
    ("(module) (module)", 1, 10, "unexpected token after the module"),
    ("(func) )", 1, 8, "unexpected token"),
])
def test_error_positions(text: str, line: int, column: int, problem: str) -> None:
    err = wat_error(text)
    assert (err.line, err.column) == (line, column)
    assert problem in err.problem
    assert str(err).startswith(f"{line}:{column}: ")
    assert isinstance(err, WasmtimeError)


@pytest.mark.parametrize("text", [
    "(func (result i32) (param i32))",
    "(func (i32.const 1) (end))",
    "(func (then))",
    "(func i32.add (i32.const))",
    "(func (block (else)))",
    "(memory 0x1_0000_0000)",
    "(table 0 0x1_0000_0000 funcref)",
    "(func) (start 0) (start 0)",
    "(func (call_indirect (type 0) (param $x i32)))",
    "(func (i8x16.shuffle 0 1 2 (local.get 0)))",
    "(func (local.get))",
    "(func (v128.const i32x5 0 0 0 0 0))",
    "(func get_local 0)",
    "(type (func (param $x i32 i64)))",
    "(func $)",
])
def test_malformed_modules_are_rejected(text: str) -> None:
    """Malformed in WebAssembly 2.0's grammar (``memory64=False``: u32 limits)."""
    with pytest.raises(WatError):
        wat2wasm(text, memory64=False)


@pytest.mark.parametrize("text,limits", [
    ("(memory 0x1_0000_0000)", b"\x05\x07\x01\x00\x80\x80\x80\x80\x10"),
    ("(memory i64 1 0x1_0000_0000_0000)", b"\x05\x0a\x01\x05\x01\x80\x80\x80\x80\x80\x80\x40"),
    ("(table 0 0x1_0000_0000 funcref)",
     b"\x04\x09\x01\x70\x01\x00\x80\x80\x80\x80\x10"),
])
def test_3_0_limits_are_u64(text: str, limits: bytes) -> None:
    """WebAssembly 3.0's text format (the default) reads limits as u64s; their range is
    the validator's ("memory size must be at most ...")."""
    assert limits in wat2wasm(f"(module {text})")


def test_against_wasmtime_on_generated_literals() -> None:
    wasmtime = pytest.importorskip("wasmtime", reason="wasmtime-py is the reference")
    rng = random.Random(5)
    lits = []
    for _ in range(200):
        digits = "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 18)))
        lits.append(f"{digits[0]}.{digits[1:]}e{rng.randint(-50, 40)}")
        hexd = "".join(rng.choice("0123456789abcdef") for _ in range(rng.randint(1, 12)))
        lits.append(f"-0x{hexd}.{hexd[::-1]}p{rng.randint(-160, 100)}")
    consts = []
    for lit in lits:
        try:
            parse_float_bits(lit, F32_FORMAT)
            consts.append(f"(drop (f32.const {lit}))")
        except LiteralRangeError:
            pass
        consts.append(f"(drop (f64.const {lit}))")
    wat = "(module (func " + " ".join(consts) + "))"
    assert wat2wasm(wat) == bytes(wasmtime.wat2wasm(wat))


def test_deep_nesting() -> None:
    n = 5000
    plain = body("(func " + "block " * n + "end " * n + ")")
    assert len(plain) == 2 * n + 1
    assert "nesting too deep" in wat_error(
        "(func " + "(block " * n + ")" * n + ")").problem


@pytest.mark.parametrize("text", [
    "(func block)", "(func block else end)", "(func (i32.const 0) if else else end)",
    "(func (block end))", "(func end)",
])
def test_unbalanced_plain_blocks(text: str) -> None:
    wat_error(text)


def test_type_definition_takes_no_func_identifier() -> None:
    assert "unexpected token" in wat_error("(type $t (func $f (param i32)))").problem


def test_flat_br_table_stops_at_the_next_keyword():
    """Labels of a flat ``br_table`` end where the next instruction (``end``) starts."""
    text = """(module (func (param i32)
      block $a block local.get 0 br_table 0 $a 1 end end))"""
    assert bytes(wat2wasm(text)) == bytes(wasmtime.wat2wasm(text))
