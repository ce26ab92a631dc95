"""Tests of the binary decoder (``wasmlite.binary``): spec §5 and the spec testsuite's
``assert_malformed`` binary modules, real modules from the shared data, truncation and
garbage input.  Binary modules are built with ``wasmtime.wat2wasm`` (which encodes
without validating) or by hand.
"""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest
import wasmtime
from conftest import shared_dir

from wasmlite.binary import decode_module, read_instructions
from wasmlite.binary import opcodes as op
from wasmlite.binary.leb128 import (
    encode_signed,
    encode_unsigned,
    read_s32,
    read_s33,
    read_s64,
    read_u32,
    read_u64,
    read_unsigned,
)
from wasmlite.environ.module import (
    EXTERN_FUNC,
    EXTERN_GLOBAL,
    EXTERN_MEMORY,
    EXTERN_TABLE,
    EXTERNREF,
    F64,
    FUNCREF,
    HT_FUNC,
    I32,
    I64,
    V128,
    Limits,
    ref_type,
)
from wasmlite.errors import DecodeError

SHARED = shared_dir()
SPEC = SHARED / "wasm-spec" / "2.0"
HEADER = b"\x00asm\x01\x00\x00\x00"

U = encode_unsigned
S = encode_signed


def section(sid: int, payload: bytes) -> bytes:
    return bytes([sid]) + U(len(payload)) + payload


def vec(items: list[bytes]) -> bytes:
    return U(len(items)) + b"".join(items)


def name(s: str) -> bytes:
    raw = s.encode()
    return U(len(raw)) + raw


def decode_all(data: bytes, multi_memory: bool = False):
    """Decode a module and every function body, as the validator will (by default
    with WebAssembly 2.0's encodings of limits and memory instructions, which the 2.0
    suite's scripts expect: ``Features.multi_memory`` and ``memory64`` off; true: 3.0's)."""
    info = decode_module(data, memory64=multi_memory)
    bodies = [read_instructions(info.bytes, c.body_start, c.body_end,
                                has_data_count=info.data_count is not None,
                                multi_memory=multi_memory, memory64=multi_memory)
              for c in info.codes]
    return info, bodies


def malformed(data: bytes) -> DecodeError:
    with pytest.raises(DecodeError) as exc:
        decode_all(data)
    return exc.value


# -- a test encoder of instruction tuples (canonical LEB128) ------------------------------

def encode_opcode(code: int) -> bytes:
    if code < 0x100:
        return bytes([code])
    if code < 0xFD000:
        return b"\xfc" + U(code & 0xFF)
    return b"\xfd" + U(code - 0xFD000)


def encode_immediate(code: int, imm) -> bytes:
    k = op.IMMEDIATE_KINDS[code]
    if k == op.IMM_NONE:
        assert imm is None
        return b""
    if k in (op.IMM_LABELIDX, op.IMM_FUNCIDX, op.IMM_INDEX):
        return U(imm)
    if k in (op.IMM_BLOCKTYPE, op.IMM_I32, op.IMM_I64):
        return S(imm)
    if k == op.IMM_BR_TABLE:
        return vec([U(x) for x in imm[0]]) + U(imm[1])
    if k in (op.IMM_CALL_INDIRECT, op.IMM_TABLE_INIT, op.IMM_TABLE_COPY, op.IMM_MEMARG):
        return U(imm[0]) + U(imm[1])
    if k == op.IMM_SELECT_T:
        return U(len(imm)) + bytes(imm)
    if k == op.IMM_MEMIDX:
        assert imm == 0
        return b"\x00"
    if k == op.IMM_F32:
        return imm.to_bytes(4, "little")
    if k == op.IMM_F64:
        return imm.to_bytes(8, "little")
    if k in (op.IMM_REFTYPE, op.IMM_LANE):
        return bytes([imm])
    if k == op.IMM_MEMORY_INIT:
        return U(imm[0]) + b"\x00"
    if k == op.IMM_MEMORY_COPY:
        return b"\x00\x00"
    if k == op.IMM_V128:
        assert isinstance(imm, bytes) and len(imm) == 16
        return imm
    if k == op.IMM_MEMARG_LANE:
        return U(imm[0][0]) + U(imm[0][1]) + bytes([imm[1]])
    raise AssertionError(k)


def encode_instr(instr) -> bytes:
    return encode_opcode(instr[0]) + encode_immediate(instr[0], instr[1])


# -- opcode tables ---------------------------------------------------------------------

def _wat_immediate(code: int, text: str) -> str:
    k = op.IMMEDIATE_KINDS[code]
    if text == "v128.const":
        return "i32x4 1 2 3 4"
    if text == "i8x16.shuffle":
        return " ".join(str(i) for i in range(16))
    return {
        op.IMM_LANE: "1", op.IMM_MEMARG_LANE: "offset=3 1", op.IMM_MEMARG: "offset=7",
        op.IMM_INDEX: "1", op.IMM_LABELIDX: "0", op.IMM_FUNCIDX: "0", op.IMM_I32: "-5",
        op.IMM_I64: "-300", op.IMM_F32: "1.5", op.IMM_F64: "-2.5", op.IMM_REFTYPE: "extern",
        op.IMM_TABLE_INIT: "1 0", op.IMM_TABLE_COPY: "1 0", op.IMM_MEMORY_INIT: "1",
        op.IMM_CALL_INDIRECT: "1 (type 0)", op.IMM_BR_TABLE: "0 0 0",
        op.IMM_SELECT_T: "(result i64)",
    }.get(k, "")


def _all_opcodes_module() -> tuple[bytes, list[int]]:
    """A module whose one function holds every instruction once, and the opcodes."""
    lines = []
    expected = []
    for code, text in op.OPCODE_NAMES.items():
        if code in (op.BLOCK, op.LOOP, op.IF, op.ELSE, op.END):
            continue
        wat_name = "select" if code == op.SELECT_T else text
        lines.append(f"{wat_name} {_wat_immediate(code, text)}")
        expected.append(code)
    lines += ["block (result i32)", "loop", "if (param i32)", "else", "end", "end", "end"]
    expected += [op.BLOCK, op.LOOP, op.IF, op.ELSE, op.END, op.END, op.END, op.END]
    wat = ("(module (type (func)) (memory 1) (table 2 funcref) (table 2 funcref)"
           " (elem func 0) (elem func 0) (data \"\") (data \"\")"
           " (func (local i32 i32)\n" + "\n".join(lines) + "))")
    return wasmtime.wat2wasm(wat), expected


def test_opcode_constants_follow_the_numbering_rules():
    assert op.I32_ADD == 0x6A
    assert op.SELECT == 0x1B and op.SELECT_T == 0x1C
    assert op.I32_TRUNC_SAT_F32_S == 0xFC00 and op.MEMORY_COPY == 0xFC0A
    assert op.TABLE_FILL == 0xFC11
    assert op.V128_LOAD == 0xFD000 and op.F64X2_CONVERT_LOW_I32X4_U == 0xFD000 + 255
    assert op.F32X4_DEMOTE_F64X2_ZERO == 0xFD000 + 94
    assert op.I8X16_SHUFFLE == 0xFD000 + 13
    for code, text in op.OPCODE_NAMES.items():
        const = text.upper().replace(".", "_").replace("/", "_")
        assert getattr(op, const) == code
        assert code in op.IMMEDIATE_KINDS
    assert set(op.OPCODE_NAMES) == set(op.IMMEDIATE_KINDS)
    assert op.OPCODES_BY_NAME["i64.load32_u"] == 0x35
    # WebAssembly 2.0: 236 SIMD instructions, 18 0xFC ones; 3.0's relaxed SIMD: 20 more
    assert sum(1 for c in op.OPCODE_NAMES if c >= 0xFD000) == 236 + 20
    assert op.I8X16_RELAXED_SWIZZLE == 0xFD000 + 0x100
    assert op.I32X4_RELAXED_DOT_I8X16_I7X16_ADD_S == 0xFD000 + 0x113
    assert sum(1 for c in op.OPCODE_NAMES if 0xFC00 <= c < 0xFD000) == 18


def test_memarg_natural_alignment():
    align = op.MEMARG_NATURAL_ALIGN
    assert align[op.I32_LOAD] == 2 and align[op.I64_LOAD] == 3
    assert align[op.I64_LOAD32_U] == 2 and align[op.I32_STORE8] == 0
    assert align[op.V128_LOAD] == 4 and align[op.V128_LOAD8X8_S] == 3
    assert align[op.V128_LOAD16_SPLAT] == 1 and align[op.V128_LOAD32_ZERO] == 2
    assert align[op.V128_STORE64_LANE] == 3 and align[op.V128_LOAD8_LANE] == 0
    memarg_kinds = (op.IMM_MEMARG, op.IMM_MEMARG_LANE)
    assert set(align) == {c for c, k in op.IMMEDIATE_KINDS.items() if k in memarg_kinds}


def test_every_opcode_decodes_as_wat2wasm_encodes_it():
    data, expected = _all_opcodes_module()
    info, (body,) = decode_all(data)
    assert [i[0] for i in body] == expected
    code = info.codes[0]
    # canonical encodings: re-encoding gives back the body's bytes exactly
    assert b"".join(encode_instr(i) for i in body) == data[code.body_start:code.body_end]
    # offsets are where each instruction starts
    offsets = [i[2] for i in body]
    assert offsets[0] == code.body_start and offsets == sorted(offsets)
    assert body[-1] == (op.END, None, code.body_end - 1)
    imm = {i[0]: i[1] for i in body}
    assert imm[op.I32_CONST] == -5 and imm[op.I64_CONST] == -300
    assert imm[op.F32_CONST] == 0x3FC00000
    assert imm[op.F64_CONST] == 0xC004000000000000
    assert imm[op.I32_LOAD] == (2, 7) and imm[op.I64_STORE8] == (0, 7)
    assert imm[op.V128_LOAD32_LANE] == ((2, 3), 1)
    assert imm[op.I16X8_EXTRACT_LANE_S] == 1
    assert imm[op.V128_CONST] == bytes([1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0])
    assert imm[op.I8X16_SHUFFLE] == bytes(range(16))
    assert imm[op.CALL_INDIRECT] == (0, 1)
    assert imm[op.BR_TABLE] == ((0, 0), 0)
    assert imm[op.SELECT_T] == (I64,) and imm[op.SELECT] is None
    assert imm[op.REF_NULL] == EXTERNREF
    # text `table.init 1 0` is table 1, elem 0; the immediate is (elemidx, tableidx)
    assert imm[op.TABLE_INIT] == (0, 1) and imm[op.TABLE_COPY] == (1, 0)
    assert imm[op.MEMORY_INIT] == (1, 0) and imm[op.MEMORY_COPY] == (0, 0)
    assert imm[op.MEMORY_SIZE] == 0 and imm[op.MEMORY_FILL] == 0
    assert imm[op.DATA_DROP] == 1 and imm[op.LOCAL_GET] == 1
    assert imm[op.BLOCK] == -1 and imm[op.LOOP] == -64
    assert info.types[imm[op.IF]].params == (I32,)


# -- LEB128 --------------------------------------------------------------------------------

@pytest.mark.parametrize("value", [0, 1, 63, 64, 127, 128, 2**31 - 1, 2**32 - 1])
def test_leb_u32_roundtrip(value):
    enc = U(value)
    assert read_u32(enc + b"\xff", 0) == (value, len(enc))


@pytest.mark.parametrize("value", [0, -1, 63, -64, 64, -65, 2**31 - 1, -2**31])
def test_leb_s32_roundtrip(value):
    enc = S(value)
    assert read_s32(enc, 0) == (value, len(enc))
    assert read_s64(enc, 0) == (value, len(enc))


def test_leb_s33_and_64_bit_limits():
    assert read_s33(S(2**32 - 1), 0)[0] == 2**32 - 1
    assert read_s33(S(-2**32), 0)[0] == -2**32
    assert read_s64(S(-2**63), 0)[0] == -2**63
    assert read_u64(U(2**64 - 1), 0)[0] == 2**64 - 1
    # padded but within the length limit
    assert read_u32(b"\x80\x80\x80\x80\x00", 0) == (0, 5)
    assert read_s64(b"\xff" * 9 + b"\x7f", 0) == (-1, 10)


@pytest.mark.parametrize("reader,data,message,offset", [
    (read_u32, b"\x80\x80\x80\x80\x80\x00", "integer representation too long", 5),
    (read_u32, b"\x80\x80\x80\x80\x10", "integer too large", 4),
    (read_u32, b"\xff\xff\xff\xff\x1f", "integer too large", 4),
    (read_s32, b"\x80\x80\x80\x80\x70", "integer too large", 4),
    (read_s32, b"\xff\xff\xff\xff\x0f", "integer too large", 4),
    (read_s32, b"\x80\x80\x80\x80\x80\x00", "integer representation too long", 5),
    (read_s33, b"\x80\x80\x80\x80\x20", "integer too large", 4),
    (read_s64, b"\x80" * 9 + b"\x02", "integer too large", 9),
    (read_s64, b"\x80" * 10 + b"\x00", "integer representation too long", 10),
    (read_u64, b"\x80" * 9 + b"\x02", "integer too large", 9),
    (read_u32, b"\x80\x80", "unexpected end of section or function", 2),
    (read_u32, b"", "unexpected end of section or function", 0),
])
def test_leb_errors(reader, data, message, offset):
    with pytest.raises(DecodeError) as exc:
        reader(data, 0)
    assert exc.value.message == message
    assert exc.value.offset == offset


def test_leb_u1_for_limits_flags():
    assert read_unsigned(b"\x01", 0, 1) == (1, 1)
    with pytest.raises(DecodeError, match="integer too large"):
        read_unsigned(b"\x02", 0, 1)
    with pytest.raises(DecodeError, match="integer representation too long"):
        read_unsigned(b"\x81\x00", 0, 1)


# -- module structure ------------------------------------------------------------------------

def test_sections_imports_exports_and_segments():
    wat = """
    (module $demo
      (type $t (func (param i32 i64) (result f64)))
      (import "env" "f" (func $imp (type $t)))
      (import "env" "tab" (table 1 2 externref))
      (import "env" "mem" (memory 1))
      (import "env" "g" (global (mut i32)))
      (func $f (type $t) (local $l v128) (local i32 i32) f64.const 0)
      (func $g data.drop 1)
      (table $tt 3 funcref)
      (memory 2 5)
      (global $gl i64 (i64.const -7))
      (export "f" (func $f))
      (export "m" (memory 0))
      (start $g)
      (elem (i32.const 0) $f $g)
      (elem func $f)
      (elem (table $tt) (i32.const 1) func $g)
      (elem declare func $f)
      (elem (i32.const 2) funcref (ref.func $f) (ref.null func))
      (elem funcref (ref.null func))
      (elem (table $tt) (i32.const 0) funcref (ref.func $g))
      (elem declare funcref (ref.func $g))
      (data (i32.const 8) "hi")
      (data "passive")
      (data (memory 0) (i32.const 16) "x")
      (@custom "hello" "payload")
    )"""
    data = wasmtime.wat2wasm(wat)
    info, bodies = decode_all(data)
    assert info.bytes == data
    assert info.types[0].params == (I32, I64) and info.types[0].results == (F64,)
    kinds = [(i.module, i.name, i.kind) for i in info.imports]
    assert kinds == [("env", "f", EXTERN_FUNC), ("env", "tab", EXTERN_TABLE),
                     ("env", "mem", EXTERN_MEMORY), ("env", "g", EXTERN_GLOBAL)]
    assert info.imports[1].desc.elem == EXTERNREF
    assert info.imports[1].desc.limits == Limits(1, 2)
    assert info.imports[2].desc.limits == Limits(1, None)
    assert info.imports[3].desc.mutable and info.imports[3].desc.valtype == I32
    assert len(info.funcs) == 2 and info.funcs[0] == 0
    assert info.codes[0].locals == [(1, V128), (2, I32)]
    assert bodies[0][0][0] == op.F64_CONST and bodies[0][-1][0] == op.END
    assert info.tables[0].elem == FUNCREF and info.tables[0].limits == Limits(3, None)
    assert info.memories[0].limits == Limits(2, 5)
    assert info.globals[0].type.valtype == I64 and not info.globals[0].type.mutable
    assert [i[:2] for i in info.globals[0].init] == [(op.I64_CONST, -7)]
    assert [(e.name, e.kind, e.index) for e in info.exports] == [
        ("f", EXTERN_FUNC, 1), ("m", EXTERN_MEMORY, 0)]
    assert info.start == 2
    modes = [(e.mode, e.type, e.table) for e in info.elems]
    # the funcidx forms are ``(ref func)`` (WebAssembly 3.0), the expression forms as written
    ref_func = ref_type(False, HT_FUNC)
    assert modes == [("active", ref_func, 0), ("passive", ref_func, 0), ("active", ref_func, 1),
                     ("declarative", ref_func, 0), ("active", FUNCREF, 0),
                     ("passive", FUNCREF, 0), ("active", FUNCREF, 1),
                     ("declarative", FUNCREF, 0)]
    assert [[i[:2] for i in item] for item in info.elems[0].items] == [
        [(op.REF_FUNC, 1)], [(op.REF_FUNC, 2)]]
    assert [i[:2] for i in info.elems[0].offset] == [(op.I32_CONST, 0)]
    assert [[i[:2] for i in item] for item in info.elems[4].items] == [
        [(op.REF_FUNC, 1)], [(op.REF_NULL, FUNCREF)]]
    assert info.elems[1].offset is None
    assert [(d.mode, d.data, d.memory) for d in info.datas] == [
        ("active", b"hi", 0), ("passive", b"passive", 0), ("active", b"x", 0)]
    assert info.data_count == 3  # wat2wasm adds it for data.drop
    assert ("hello", b"payload") in info.customs
    assert info.names.module == "demo"
    assert info.names.functions == {0: "imp", 1: "f", 2: "g"}
    assert info.names.locals.get(1, {}).get(2) == "l"
    assert info.func_name(1) == "f"


def test_const_expression_offsets_point_into_the_module():
    data = wasmtime.wat2wasm("(module (global i32 (i32.const 1234567)))")
    info = decode_module(data)
    (instr,) = info.globals[0].init
    assert instr[:2] == (op.I32_CONST, 1234567)
    assert data[instr[2]] == op.I32_CONST


def test_malformed_name_section_is_ignored():
    good = section(0, name("name") + section(1, vec([U(0) + name("f")])))
    bad = section(0, name("name") + b"\x01\x09\x05\x00\xff")
    assert decode_module(HEADER + good).names.functions == {0: "f"}
    info = decode_module(HEADER + bad)
    assert info.names.functions == {} and info.names.module is None
    assert info.customs == [("name", b"\x01\x09\x05\x00\xff")]


def test_empty_module_and_custom_sections_anywhere():
    assert decode_module(HEADER).types == []
    custom = section(0, name("c") + b"xyz")
    types = section(1, vec([b"\x60\x00\x00"]))
    info = decode_module(HEADER + custom + types + custom)
    assert info.customs == [("c", b"xyz"), ("c", b"xyz")]
    assert len(info.types) == 1


def test_read_instructions_needs_a_data_count_for_memory_init_and_data_drop():
    body = b"\xfc\x09\x00\x0b"
    data = b"\x00" * 4 + body
    assert [i[0] for i in read_instructions(data, 4, 8)] == [op.DATA_DROP, op.END]
    with pytest.raises(DecodeError, match="data count section required") as exc:
        read_instructions(data, 4, 8, has_data_count=False)
    assert exc.value.offset == 4


def test_read_instructions_accepts_memoryview_and_checks_end():
    data = b"\x41\x01\x1a\x0b"
    assert len(read_instructions(memoryview(data), 0, 4)) == 3
    with pytest.raises(DecodeError, match="section size mismatch"):
        read_instructions(data + b"\x01", 0, 5)


def test_too_many_locals_implementation_limit():
    body = vec([U(50_001) + b"\x7f"]) + b"\x0b"
    data = (HEADER + section(1, vec([b"\x60\x00\x00"])) + section(3, vec([b"\x00"]))
            + section(10, vec([U(len(body)) + body])))
    assert malformed(data).message.startswith("too many locals")
    ok_body = vec([U(50_000) + b"\x7f"]) + b"\x0b"
    ok = (HEADER + section(1, vec([b"\x60\x00\x00"])) + section(3, vec([b"\x00"]))
          + section(10, vec([U(len(ok_body)) + ok_body])))
    assert decode_module(ok).codes[0].locals == [(50_000, I32)]


# -- malformed modules: message and offset -----------------------------------------------

_TYPE0 = section(1, vec([b"\x60\x00\x00"]))
_FUNC0 = section(3, vec([b"\x00"]))


def _code(body: bytes) -> bytes:
    entry = b"\x00" + body
    return section(10, vec([U(len(entry)) + entry]))


def _func_module(body: bytes, extra: bytes = b"") -> bytes:
    return HEADER + _TYPE0 + _FUNC0 + extra + _code(body)


_MEM = section(5, vec([b"\x00\x01"]))
# offset of the first body byte in _func_module(...) without extra sections
_BODY0 = len(HEADER + _TYPE0 + _FUNC0) + 5

MALFORMED_CASES = [
    # (id, bytes, message, offset)
    ("empty", b"", "unexpected end", 0),
    ("short magic", b"\x00as", "unexpected end", 3),
    ("bad magic", b"\x00asn\x01\x00\x00\x00", "magic header not detected", 0),
    ("no version", b"\x00asm\x01\x00", "unexpected end", 6),
    ("bad version", b"\x00asm\x02\x00\x00\x00", "unknown binary version", 4),
    ("bad section id", HEADER + b"\x0d\x00", "malformed section id", 8),
    ("section size past end", HEADER + b"\x01\x05\x00", "length out of bounds", 9),
    ("no section size", HEADER + b"\x01", "unexpected end", 9),
    ("section too long", HEADER + b"\x01\x02\x00\x00", "section size mismatch", 10),
    ("section too short", HEADER + b"\x01\x01\x01\x60\x00\x00", "section size mismatch", 10),
    ("duplicate section", HEADER + _TYPE0 + _TYPE0,
     "unexpected content after last section", 8 + len(_TYPE0)),
    ("order", HEADER + section(3, b"\x00") + section(2, b"\x00"),
     "unexpected content after last section", 11),
    ("datacount after code", HEADER + section(10, b"\x00") + section(12, b"\x00"),
     "unexpected content after last section", 11),
    ("bad functype", HEADER + section(1, vec([b"\x61\x00\x00"])), "malformed function type", 11),
    ("bad valtype", HEADER + section(1, vec([b"\x60\x01\x40\x00"])), "malformed value type", 13),
    ("bad import kind", HEADER + section(2, vec([name("a") + name("b") + b"\x04\x00"])),
     "malformed import kind", 15),
    ("bad mutability", HEADER + section(6, vec([b"\x7f\x02\x41\x00\x0b"])),
     "malformed mutability", 12),
    ("bad reftype", HEADER + section(4, vec([b"\x7b\x00\x00"])), "malformed reference type", 11),
    ("limits flag", HEADER + section(5, vec([b"\x02\x00"])), "integer too large", 11),
    ("bad export kind", HEADER + section(7, vec([name("e") + b"\x04\x00"])),
     "malformed export kind", 13),
    ("bad utf8", HEADER + section(7, vec([name("e")[:1] + b"\xff" + b"\x00\x00"])),
     "malformed UTF-8 encoding", 11),
    ("name past end", HEADER + section(7, vec([b"\x05ab\x00\x00"])), "length out of bounds", 11),
    ("elem flags", HEADER + section(9, vec([b"\x08"])), "malformed elements segment kind", 11),
    ("elem kind", HEADER + section(9, vec([b"\x01\x01\x00"])), "malformed element kind", 12),
    ("data flags", HEADER + _MEM + section(11, vec([b"\x03"])),
     "malformed data segment kind", 16),
    ("data bytes past end", HEADER + _MEM + section(11, vec([b"\x01\x05ab"])),
     "unexpected end of section or function", 20),
    ("func without code", HEADER + _TYPE0 + _FUNC0,
     "function and code section have inconsistent lengths", 8 + len(_TYPE0 + _FUNC0)),
    ("code without func", HEADER + _TYPE0 + _code(b"\x0b"),
     "function and code section have inconsistent lengths", 8 + len(_TYPE0)),
    ("datacount mismatch", HEADER + section(12, b"\x01"),
     "data count and data section have inconsistent lengths", 11),
    ("too many locals", _func_module(b"")[:-5] + section(10, vec([b"\x08\x02\xff\xff\xff\xff\x0f\x7f\x01\x7e\x0b"])),
     "too many locals", 8 + len(_TYPE0 + _FUNC0) + 4),
    ("illegal opcode", _func_module(b"\x06\x0b"), "illegal opcode", _BODY0),
    ("illegal fc", _func_module(b"\xfc\x12\x0b"), "illegal opcode", _BODY0),
    ("illegal fd", _func_module(b"\xfd\x9a\x01\x0b"), "illegal opcode", _BODY0),
    ("memory.size zero", _func_module(b"\x3f\x01\x1a\x0b", _MEM), "zero byte expected",
     _BODY0 + len(_MEM) + 1),
    ("memory.fill zero", _func_module(b"\xfc\x0b\x01\x0b", _MEM), "zero byte expected",
     _BODY0 + len(_MEM) + 2),
    ("memory.copy zero", _func_module(b"\xfc\x0a\x00\x01\x0b", _MEM), "zero byte expected",
     _BODY0 + len(_MEM) + 3),
    ("memory.init zero", _func_module(b"\xfc\x08\x00\x01\x0b", section(12, b"\x00")),
     "zero byte expected", _BODY0 + 3 + 3),
    ("no datacount", _func_module(b"\xfc\x09\x00\x0b"), "data count section required", _BODY0),
    ("memop flags", _func_module(b"\x41\x00\x28\x20\x00\x1a\x0b", _MEM),
     "malformed memop flags", _BODY0 + len(_MEM) + 3),
    ("else outside if", _func_module(b"\x05\x0b"), "END opcode expected", _BODY0),
    ("body past end", _func_module(b"\x01"), "unexpected end of section or function",
     _BODY0 + 1),
    ("end before body end", _func_module(b"\x0b\x01"), "section size mismatch", _BODY0),
    ("bad blocktype", _func_module(b"\x02\x50\x0b\x0b"), "malformed value type", _BODY0 + 1),
    ("negative blocktype", _func_module(b"\x02\xff\x7f\x0b\x0b"), "malformed block type",
     _BODY0 + 1),
    ("select t", _func_module(b"\x1c\x01\x40\x0b"), "malformed value type", _BODY0 + 2),
    ("ref.null", _func_module(b"\xd0\x7f\x0b"), "malformed reference type", _BODY0 + 1),
    ("f64 past end", _func_module(b"\x44\x00\x00"), "unexpected end of section or function", None),
    ("v128 past end", _func_module(b"\xfd\x0c\x00\x00"), "unexpected end of section or function", None),
    ("i32.const too long", _func_module(b"\x41\x80\x80\x80\x80\x80\x00\x0b"),
     "integer representation too long", _BODY0 + 6),
    ("br_table too long", _func_module(b"\x0e\xff\xff\xff\xff\x0f\x0b"), "length out of bounds",
     _BODY0 + 1),
]


@pytest.mark.parametrize("data,message,offset",
                         [c[1:] for c in MALFORMED_CASES], ids=[c[0] for c in MALFORMED_CASES])
def test_malformed(data, message, offset):
    err = malformed(data)
    assert err.message.startswith(message), err.message
    if offset is not None:
        assert err.offset == offset
    else:
        assert err.offset == len(data)
    assert str(err).endswith(f"(at offset {err.offset:#x})")


# -- truncation and garbage ------------------------------------------------------------------

_SMALL_WAT = """
(module $small
  (import "a" "b" (func (param i32)))
  (memory 1) (table 2 funcref) (global (mut i64) (i64.const 5))
  (func $add (export "add") (param i32 i32) (result i32) (local f32)
    local.get 0 local.get 1 i32.add
    block (result i32) i32.const 3 end
    i32.add)
  (func (param i32) local.get 0 br_table 0 0 0)
  (elem (i32.const 0) $add)
  (data (i32.const 0) "abc"))
"""


def _section_ends(data: bytes) -> set[int]:
    ends = {8}
    pos = 8
    while pos < len(data):
        size, p = read_u32(data, pos + 1)
        pos = p + size
        ends.add(pos)
    return ends


def test_every_prefix_of_a_small_module():
    data = wasmtime.wat2wasm(_SMALL_WAT)
    decode_all(data)
    ends = _section_ends(data)
    for n in range(len(data)):
        prefix = data[:n]
        if n in ends:
            try:
                decode_all(prefix)
            except DecodeError as e:  # a prefix may stop between function and code
                assert "inconsistent lengths" in e.message
            continue
        err = malformed(prefix)
        assert err.message in ("unexpected end", "unexpected end of section or function",
                               "length out of bounds", "magic header not detected"), (n, err)


def _shared_wasm_files() -> list[Path]:
    roots = [SHARED / "wasi-testsuite", SHARED / "benchmarks" / "sightglass"]
    return sorted(p for r in roots if r.is_dir() for p in r.rglob("*.wasm"))


REAL_FILES = _shared_wasm_files()
needs_shared = pytest.mark.skipif(not REAL_FILES, reason=f"no .wasm files under {SHARED}")


@needs_shared
def test_prefixes_and_mutations_of_a_real_module():
    path = SHARED / "benchmarks" / "sightglass" / "richards" / "benchmark.wasm"
    data = path.read_bytes() if path.exists() else REAL_FILES[0].read_bytes()
    rng = random.Random(1234)
    ends = _section_ends(data)
    for n in sorted(rng.sample(range(len(data)), 60)):
        if n not in ends:
            malformed(data[:n])
    # random single-byte changes: decoding fails cleanly or succeeds, nothing else
    for _ in range(60):
        mutated = bytearray(data)
        mutated[rng.randrange(8, len(data))] = rng.randrange(256)
        try:
            decode_all(bytes(mutated))
        except DecodeError:
            pass


def test_garbage_and_mutations_of_a_small_module():
    data = wasmtime.wat2wasm(_SMALL_WAT)
    rng = random.Random(42)
    for _ in range(300):
        garbage = HEADER + bytes(rng.randrange(256) for _ in range(rng.randrange(1, 60)))
        try:
            decode_all(garbage)
        except DecodeError:
            pass
    for _ in range(1500):
        mutated = bytearray(data)
        for _ in range(rng.randrange(1, 4)):
            mutated[rng.randrange(8, len(data))] = rng.randrange(256)
        try:
            decode_all(bytes(mutated))
        except DecodeError:
            pass


# -- real modules ----------------------------------------------------------------------------

@needs_shared
def test_decode_every_shared_module():
    assert len(REAL_FILES) > 10
    total_instrs = 0
    for path in REAL_FILES:
        data = path.read_bytes()
        info, bodies = decode_all(data)
        assert len(info.funcs) == len(info.codes) == len(bodies)
        for code, body in zip(info.codes, bodies, strict=True):
            assert body[0][2] == code.body_start
            assert body[-1] == (op.END, None, code.body_end - 1)
        total_instrs += sum(map(len, bodies))
        # all of them are WASI commands
        assert any(i.module == "wasi_snapshot_preview1" for i in info.imports), path
        assert any(e.name == "_start" and e.kind == EXTERN_FUNC for e in info.exports), path
    assert total_instrs > 100_000


@needs_shared
def test_real_module_instructions_reencode_modulo_leb_padding():
    """Every decoded instruction re-encodes to the bytes it came from, allowing for the
    padded LEB128s that linkers leave (longer original, same opcode bytes)."""
    path = SHARED / "benchmarks" / "sightglass" / "rust-json" / "benchmark.wasm"
    if not path.exists():
        path = REAL_FILES[0]
    data = path.read_bytes()
    info, bodies = decode_all(data)
    exact = 0
    for code, body in zip(info.codes, bodies, strict=True):
        ends = [i[2] for i in body[1:]] + [code.body_end]
        for instr, end in zip(body, ends, strict=True):
            original = data[instr[2]:end]
            canonical = encode_instr(instr)
            if original == canonical:
                exact += 1
            else:
                assert original.startswith(encode_opcode(instr[0]))
                assert len(original) > len(canonical)
                # the padded form decodes on its own to the same instruction
                alone = read_instructions(original + b"\x0b", 0, len(original) + 1)
                assert alone[0][:2] == instr[:2]
    assert exact > 0


@needs_shared
def test_agrees_with_wasmtime_on_imports_and_exports():
    engine = wasmtime.Engine()
    candidates = sorted(REAL_FILES, key=lambda p: p.stat().st_size)[:3]
    for path in candidates:
        data = path.read_bytes()
        info = decode_module(data)
        module = wasmtime.Module(engine, data)
        assert [(i.module, i.name) for i in module.imports] == [
            (i.module, i.name) for i in info.imports]
        assert [e.name for e in module.exports] == [e.name for e in info.exports]
        for exp in module.exports:
            mine = next(e for e in info.exports if e.name == exp.name)
            if isinstance(exp.type, wasmtime.FuncType):
                assert mine.kind == EXTERN_FUNC
                assert len(exp.type.params) == len(info.func_type(mine.index).params)
                assert len(exp.type.results) == len(info.func_type(mine.index).results)


# -- the spec testsuite's binary modules -------------------------------------------------

_TOKEN = re.compile(r'\s+|;;[^\n]*|\(;.*?;\)|"(?:[^"\\]|\\.)*"|\(|\)|[^\s()";]+', re.S)


def _unescape(lit: str) -> bytes:
    body = lit[1:-1]
    out = bytearray()
    i = 0
    while i < len(body):
        c = body[i]
        if c != "\\":
            out += c.encode()
            i += 1
            continue
        nxt = body[i + 1]
        if nxt in "0123456789abcdefABCDEF" and i + 2 < len(body) and body[i + 2] in "0123456789abcdefABCDEF":
            out.append(int(body[i + 1:i + 3], 16))
            i += 3
        elif nxt == "u":
            j = body.index("}", i)
            out += chr(int(body[i + 3:j], 16)).encode()
            i = j + 1
        else:
            out += {"n": b"\n", "t": b"\t", "r": b"\r", "\\": b"\\", "'": b"'", '"': b'"'}[nxt]
            i += 2
    return bytes(out)


def _parse_sexprs(text: str) -> list:
    stack: list[list] = [[]]
    for m in _TOKEN.finditer(text):
        tok = m.group(0)
        if tok[0].isspace() or tok.startswith(";;") or tok.startswith("(;"):
            continue
        if tok == "(":
            stack.append([])
        elif tok == ")":
            done = stack.pop()
            stack[-1].append(done)
        else:
            stack[-1].append(tok)
    return stack[0]


def _binary_module(sexpr) -> bytes | None:
    if not (isinstance(sexpr, list) and sexpr and sexpr[0] == "module"):
        return None
    rest = [t for t in sexpr[1:] if not (isinstance(t, str) and t.startswith("$"))]
    if not rest or rest[0] != "binary":
        return None
    return b"".join(_unescape(t) for t in rest[1:])


def _spec_binary_cases() -> tuple[list, list]:
    malformed_cases, valid = [], []
    if not SPEC.is_dir():
        return malformed_cases, valid
    for path in sorted(SPEC.glob("*.wast")):
        text = path.read_text()
        if "binary" not in text:
            continue
        for i, form in enumerate(_parse_sexprs(text)):
            if not isinstance(form, list) or not form:
                continue
            if form[0] == "assert_malformed":
                data = _binary_module(form[1])
                if data is not None:
                    malformed_cases.append(
                        pytest.param(data, _unescape(form[2]).decode(), id=f"{path.stem}-{i}"))
            elif form[0] == "module":
                data = _binary_module(form)
                if data is not None:
                    valid.append(pytest.param(data, id=f"{path.stem}-{i}"))
    return malformed_cases, valid


SPEC_MALFORMED, SPEC_VALID = _spec_binary_cases()


def test_spec_cases_were_found():
    if not SPEC.is_dir():
        pytest.skip(f"no spec testsuite at {SPEC}")
    assert len(SPEC_MALFORMED) > 700
    assert len(SPEC_VALID) > 20


@pytest.mark.parametrize("data,message", SPEC_MALFORMED)
def test_spec_assert_malformed_binary(data, message):
    err = malformed(data)
    assert err.message.startswith(message), f"{err.message!r} != {message!r}"


@pytest.mark.parametrize("data", SPEC_VALID)
def test_spec_binary_modules_decode(data):
    decode_all(data)


def test_lazy_code_section_matches_the_eager_one():
    """``decode_module(lazy_code=True)`` (modules known to be valid: cached, or an
    artifact's) finds the same entries as the eager decoder, decoding each one's local
    declarations only when asked; its errors come then, with the same message."""
    from wasmlite.binary.decoder import FunctionBodies, LazyCodes

    wat = """(module $lazy
      (type $t (func (param i32) (result i32)))
      (func $first (type $t) (local i64 i64) (local f32) local.get 0)
      (func (type $t) (local.get 0) (i32.const 1) (i32.add))
      (func (type $t) (local v128) (local $big i32) (local.get 0)
        (block (result i32) (i32.const 2) (i32.const 3) (i32.mul)) (i32.add)))"""
    datas = [bytes(wasmtime.wat2wasm(wat))]
    path = SHARED / "benchmarks" / "sightglass" / "bz2" / "benchmark.wasm"
    if path.exists():
        datas.append(path.read_bytes())
    for data in datas:
        eager = decode_module(data)
        lazy = decode_module(data, lazy_code=True)
        assert isinstance(lazy.codes, LazyCodes) and len(lazy.codes) == len(eager.codes)
        assert lazy.codes._made.count(None) == len(eager.codes)   # nothing decoded yet
        # instruction estimates without decoding: about half the bytes of each entry
        fb = FunctionBodies(lazy)
        spans = [lazy.codes.span(i) for i in range(len(eager.codes))]
        assert all(s <= c.body_start for (s, _), c in zip(spans, eager.codes, strict=True))
        assert [e for _, e in spans] == [c.body_end for c in eager.codes]
        assert len(eager.codes) <= fb.estimate_all() <= sum(e - s for s, e in spans)
        assert lazy.codes._made.count(None) == len(eager.codes)
        for i in reversed(range(len(eager.codes))):
            assert lazy.codes[i] == eager.codes[i]
        assert list(lazy.codes) == eager.codes and lazy.codes[-1] == eager.codes[-1]
        # the name section is parsed when first read
        assert (lazy.names.functions, lazy.names.module, lazy.names.locals) == \
            (eager.names.functions, eager.names.module, eager.names.locals)
        assert lazy.func_name(len(eager.funcs) - 1) == eager.func_name(len(eager.funcs) - 1)
    assert decode_module(datas[0], lazy_code=True).names.module == "lazy"
    body = vec([U(50_001) + b"\x7f"]) + b"\x0b"
    bad = (HEADER + section(1, vec([b"\x60\x00\x00"])) + section(3, vec([b"\x00"]))
           + section(10, vec([U(len(body)) + body])))
    codes = decode_module(bad, lazy_code=True).codes
    with pytest.raises(DecodeError, match="too many locals"):
        codes[0]
    with pytest.raises(DecodeError, match="length out of bounds"):
        decode_module(bad[:-2], lazy_code=True)
