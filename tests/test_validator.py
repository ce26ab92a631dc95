"""Tests for ``wasmlite.validate`` (WebAssembly 2.0 spec §3).

Valid modules come from ``wasmtime.wat2wasm`` and from the real programs in the shared
data; invalid function bodies are hand-assembled with :func:`make_module` (WAT tools
refuse to encode many of them).  The ``assert_invalid`` modules of the 2.0 spec
testsuite are checked against the expected message and against wasmtime-py's own
verdict.
"""

from __future__ import annotations

import re
import struct
from pathlib import Path

import pytest
import wasmtime
from conftest import shared_dir

from wasmlite.binary import opcodes as op
from wasmlite.binary.decoder import decode_module
from wasmlite.errors import DecodeError, ValidationError
from wasmlite.validate import Features, validate_module

I32, I64, F32, F64, V128, FUNCREF, EXTERNREF = 0x7F, 0x7E, 0x7D, 0x7C, 0x7B, 0x70, 0x6F

# -- a tiny module assembler -------------------------------------------------------------


def uleb(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def sleb(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if (n == 0 and not b & 0x40) or (n == -1 and b & 0x40):
            out.append(b)
            return bytes(out)
        out.append(b | 0x80)


def vec(items: list[bytes]) -> bytes:
    return uleb(len(items)) + b"".join(items)


def name(s: str) -> bytes:
    return uleb(len(s.encode())) + s.encode()


def section(sid: int, payload: bytes) -> bytes:
    return bytes([sid]) + uleb(len(payload)) + payload


def functype(params, results) -> bytes:
    return b"\x60" + vec([bytes([t]) for t in params]) + vec([bytes([t]) for t in results])


def limits(mn: int, mx: int | None = None) -> bytes:
    return (b"\x00" + uleb(mn)) if mx is None else (b"\x01" + uleb(mn) + uleb(mx))


def make_module(*, types=(), imports=(), funcs=(), tables=(), memories=(), globals_=(),
                exports=(), start=None, elems=(), datacount=None, datas=None) -> bytes:
    """Assemble a binary module.

    ``types``: ``(params, results)``; ``imports``: raw import entries (bytes);
    ``funcs``: ``(typeidx, locals, body)`` with ``locals`` a list of ``(count, valtype)``
    and ``body`` the instruction bytes *without* the final ``end``; ``tables``,
    ``memories``, ``globals_``, ``elems``, ``datas``: raw entries; ``exports``:
    ``(name, kind, index)``.
    """
    out = b"\x00asm\x01\x00\x00\x00"
    if types:
        out += section(1, vec([functype(p, r) for p, r in types]))
    if imports:
        out += section(2, vec(list(imports)))
    if funcs:
        out += section(3, vec([uleb(t) for t, _, _ in funcs]))
    if tables:
        out += section(4, vec(list(tables)))
    if memories:
        out += section(5, vec(list(memories)))
    if globals_:
        out += section(6, vec(list(globals_)))
    if exports:
        out += section(7, vec([name(n) + bytes([k]) + uleb(i) for n, k, i in exports]))
    if start is not None:
        out += section(8, uleb(start))
    if elems:
        out += section(9, vec(list(elems)))
    if datacount is not None:
        out += section(12, uleb(datacount))
    if funcs:
        codes = []
        for _, locs, body in funcs:
            entry = vec([uleb(c) + bytes([t]) for c, t in locs]) + body + b"\x0b"
            codes.append(uleb(len(entry)) + entry)
        out += section(10, vec(codes))
    if datas is not None:
        out += section(11, vec(list(datas)))
    return out


def func_module(body: bytes, params=(), results=(), locals_=(), **kw) -> bytes:
    """A module with one function of type ``params -> results`` and the given body."""
    types = [(params, results)] + list(kw.pop("extra_types", []))
    return make_module(types=types, funcs=[(0, list(locals_), body)], **kw)


def i32c(n: int) -> bytes:
    return b"\x41" + sleb(n)


def i64c(n: int) -> bytes:
    return b"\x42" + sleb(n)


F32C = b"\x43" + struct.pack("<f", 1.0)
F64C = b"\x44" + struct.pack("<d", 1.0)
V128C = b"\xfd" + uleb(12) + bytes(16)


def simd(sub: int, rest: bytes = b"") -> bytes:
    return b"\xfd" + uleb(sub) + rest


#: the WebAssembly 2.0 rules these tests were written for (multi-memory, memory64 and
#: 3.0's constant expressions off)
V2 = Features(multi_memory=False, memory64=False, extended_const=False, gc=False)


def validate(data: bytes, features: Features = V2):
    return validate_module(decode_module(data, memory64=features.memory64), features)


def expect_invalid(data: bytes, message: str) -> ValidationError:
    with pytest.raises(ValidationError) as info:
        validate(data)
    assert info.value.message.startswith(message), info.value.message
    return info.value


MEM = [limits(1)]
FUNCTABLE = [bytes([FUNCREF]) + limits(1)]
EXTERNTABLE = [bytes([EXTERNREF]) + limits(1)]


# -- valid modules -------------------------------------------------------------------------

VALID_WAT = [
    """(module (func (export "f") (param i32 i32) (result i32)
         local.get 0 local.get 1 i32.add))""",
    """(module (memory 1) (func (param i32) (result i64)
         (i64.load offset=8 align=8 (local.get 0))
         (i64.store (i32.const 0) (i64.const 3)) ))""",
    # multi-value blocks with parameters, br_table on labels of equal type
    """(module (type $t (func (param i32 i32) (result i32 i32)))
       (func (result i32)
         (i32.const 1) (i32.const 2) (block $b (type $t))
         drop
         (block $a (result i32)
           (block $c (result i32)
             (br_table $a $c $a (i32.const 5) (i32.const 0))))
         i32.add))""",
    # unreachable code: polymorphic stack
    """(module (func (result i32) unreachable i32.add)
       (func (result f64) (return (f64.const 1)) select)
       (func (block (br 0) drop drop i64.eqz drop))
       (func (result i32) (loop (result i32) (br 0)))
       (func (result externref) unreachable (select (result externref)))
       (func unreachable ref.is_null drop))""",
    # if with params, else
    """(module (func (param i32) (result i32)
         (i32.const 7)
         (if (param i32) (result i32) (local.get 0)
           (then (i32.const 1) i32.add) (else (i32.const 2) i32.sub))))""",
    # reference types, tables, bulk memory, declared function references
    """(module (table $t 2 funcref) (table $e 1 externref) (memory 1)
       (elem declare func $f)
       (elem $seg funcref (ref.func $f) (ref.null func))
       (data $d "abc")
       (func $f (result funcref)
         (table.set $t (i32.const 0) (ref.func $f))
         (drop (table.grow $e (ref.null extern) (i32.const 1)))
         (table.fill $t (i32.const 0) (ref.null func) (i32.const 1))
         (table.copy $t $t (i32.const 0) (i32.const 0) (i32.const 1))
         (table.init $t $seg (i32.const 0) (i32.const 0) (i32.const 1))
         (elem.drop $seg)
         (memory.init $d (i32.const 0) (i32.const 0) (i32.const 1))
         (data.drop $d)
         (memory.copy (i32.const 0) (i32.const 1) (i32.const 1))
         (memory.fill (i32.const 0) (i32.const 1) (i32.const 1))
         (drop (memory.grow (memory.size)))
         (drop (table.size $e))
         (call_indirect $t (result funcref) (i32.const 0))
         (drop)
         (table.get $t (i32.const 0))))""",
    # globals: imported immutable in constant expressions, mutable set
    """(module (import "m" "g" (global $g i32)) (global $h (mut i32) (global.get $g))
       (global $r funcref (ref.func $f))
       (func $f (global.set $h (i32.add (global.get $g) (global.get $h)))))""",
    # numeric ops, saturating conversions, sign extension
    """(module (func (param f32 f64) (result i64)
         (i64.add (i64.trunc_sat_f32_s (local.get 0)) (i64.trunc_sat_f64_u (local.get 1)))
         (i64.extend32_s)
         (drop (i32.extend8_s (i32.wrap_i64 (i64.const 1))))
         (drop (f64.promote_f32 (f32.demote_f64 (local.get 1))))))""",
    # SIMD
    """(module (memory 1) (func (param v128) (result i32)
         (v128.store offset=16 (i32.const 0)
           (i8x16.shuffle 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 31
             (local.get 0) (v128.load8_lane 15 (i32.const 0) (local.get 0))))
         (v128.store64_lane 1 (i32.const 0) (local.get 0))
         (drop (f64x2.extract_lane 1 (f64x2.splat (f64.const 1))))
         (drop (v128.bitselect (local.get 0) (local.get 0) (local.get 0)))
         (drop (i32x4.dot_i16x8_s (local.get 0) (local.get 0)))
         (i8x16.replace_lane 15 (local.get 0) (i32.const 1))
         (i64x2.shl (i32.const 3))
         (i8x16.all_true)))""",
    # start function and exports of every kind
    """(module (func $s) (start $s) (memory (export "m") 1)
       (table (export "t") 1 funcref) (global (export "g") i32 (i32.const 0))
       (export "s" (func $s)))""",
]


@pytest.mark.parametrize("wat", VALID_WAT)
def test_valid_wat(wat):
    data = wasmtime.wat2wasm(wat)
    info = decode_module(bytes(data))
    bodies = validate_module(info)
    assert len(bodies) == len(info.codes)
    for body in bodies:
        assert body[-1][0] == op.END


def test_returns_bodies_in_order():
    data = wasmtime.wat2wasm("""(module (import "m" "f" (func))
        (func (result i32) i32.const 7) (func nop))""")
    bodies = validate(bytes(data))
    assert [[ins[:2] for ins in b] for b in bodies] == [
        [(op.I32_CONST, 7), (op.END, None)], [(op.NOP, None), (op.END, None)]]


def test_every_opcode_is_known():
    from wasmlite.validate.validator import _DISPATCH
    assert set(_DISPATCH) == set(op.OPCODE_NAMES)


def _program_paths() -> list[Path]:
    root = shared_dir()
    paths = sorted((root / "benchmarks" / "sightglass").glob("*/*.wasm"))
    for lang in ("c", "assemblyscript", "rust"):
        paths += sorted((root / "wasi-testsuite" / lang / "wasm32-wasip1").glob("*.wasm"))
    return paths


@pytest.mark.parametrize("path", _program_paths(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_real_programs_validate(path):
    info = decode_module(path.read_bytes())
    bodies = validate_module(info)
    assert len(bodies) == len(info.funcs)


# -- invalid function bodies ---------------------------------------------------------------

INVALID_BODIES = [
    # (id, kwargs for func_module, expected message)
    ("empty-stack", dict(body=b"\x6a", results=(I32,)), "type mismatch"),
    ("wrong-operand", dict(body=i32c(1) + i64c(1) + b"\x6a" + b"\x1a"), "type mismatch"),
    ("missing-result", dict(body=b"", results=(I32,)), "type mismatch"),
    ("extra-value", dict(body=i32c(1)), "type mismatch"),
    ("result-type", dict(body=i64c(1), results=(I32,)), "type mismatch"),
    ("unknown-local", dict(body=b"\x20\x01\x1a", params=(I32,)), "unknown local"),
    ("local-set-type", dict(body=i64c(0) + b"\x21\x00", params=(I32,)), "type mismatch"),
    ("local-tee-type", dict(body=F32C + b"\x22\x00\x1a", locals_=[(1, F64)]),
     "type mismatch"),
    ("unknown-global", dict(body=b"\x23\x00\x1a"), "unknown global"),
    ("unknown-function", dict(body=b"\x10\x05"), "unknown function"),
    ("call-args", dict(body=i64c(0) + b"\x10\x00", params=(I32,)), "type mismatch"),
    ("unknown-label", dict(body=b"\x02\x40\x0c\x02\x0b"), "unknown label"),
    ("br-value", dict(body=b"\x02\x7f\x0c\x00\x0b\x1a"), "type mismatch"),
    ("br_if-cond", dict(body=b"\x02\x40" + i64c(0) + b"\x0d\x00\x0b"), "type mismatch"),
    ("br_table-arity", dict(body=b"\x02\x40\x02\x7f" + i32c(0) + b"\x0e\x01\x00\x01\x0b\x1a\x0b"),
     "type mismatch"),
    ("br_table-types", dict(body=b"\x02\x7e\x02\x7f" + i32c(0) + i32c(0)
                            + b"\x0e\x01\x00\x01\x0b\x1a" + i64c(0) + b"\x0b\x1a"),
     "type mismatch"),
    ("br_table-unknown-label", dict(body=i32c(0) + b"\x0e\x00\x03"), "unknown label"),
    ("block-result", dict(body=b"\x02\x7f\x0b\x1a"), "type mismatch"),
    ("block-leftover", dict(body=b"\x02\x40" + i32c(1) + b"\x0b"), "type mismatch"),
    ("block-no-outer-access", dict(body=i32c(1) + b"\x02\x40\x1a\x0b\x1a"), "type mismatch"),
    ("block-params", dict(body=b"\x02\x01\x1a\x0b", extra_types=[((I32,), ())]),
     "type mismatch"),
    ("unknown-blocktype", dict(body=b"\x02\x05\x0b"), "unknown type"),
    ("loop-label-is-params", dict(body=i32c(0) + b"\x03\x01\x1a" + i32c(1) + b"\x0d\x00"
                                  + b"\x0b", extra_types=[((I32,), ())]),
     "type mismatch"),
    ("if-cond", dict(body=i64c(0) + b"\x04\x40\x0b"), "type mismatch"),
    ("if-without-else-result", dict(body=i32c(0) + b"\x04\x7f" + i32c(1) + b"\x0b\x1a"),
     "type mismatch"),
    ("else-branch", dict(body=i32c(0) + b"\x04\x7f" + i32c(1) + b"\x05" + i64c(1)
                         + b"\x0b\x1a"), "type mismatch"),
    ("return-type", dict(body=i64c(0) + b"\x0f", results=(I32,)), "type mismatch"),
    ("drop-empty", dict(body=b"\x1a"), "type mismatch"),
    ("select-mixed", dict(body=i32c(0) + i64c(0) + i32c(0) + b"\x1b\x1a"), "type mismatch"),
    ("select-ref", dict(body=b"\xd0\x70\xd0\x70" + i32c(0) + b"\x1b\x1a"), "type mismatch"),
    ("select-unreachable-ref", dict(body=b"\x00\xd0\x70" + i32c(0) + b"\x1b\x1a"),
     "type mismatch"),
    ("select-t-arity", dict(body=i32c(0) + i32c(0) + i32c(0) + b"\x1c\x02\x7f\x7f\x1a"),
     "invalid result arity"),
    ("select-t-type", dict(body=i32c(0) + i32c(0) + i32c(0) + b"\x1c\x01\x7e\x1a"),
     "type mismatch"),
    ("unreachable-still-typed", dict(body=b"\x00" + i64c(0) + b"\x6a\x1a"), "type mismatch"),
    ("unreachable-bad-result", dict(body=b"\x00" + i64c(0), results=(I32,)), "type mismatch"),
    ("load-no-memory", dict(body=i32c(0) + b"\x28\x02\x00\x1a"), "unknown memory"),
    ("load-alignment", dict(body=i32c(0) + b"\x28\x03\x00\x1a", memories=MEM),
     "alignment must not be larger than natural"),
    ("store8-alignment", dict(body=i32c(0) + i32c(0) + b"\x3a\x01\x00", memories=MEM),
     "alignment must not be larger than natural"),
    ("store-value-type", dict(body=i32c(0) + i32c(0) + b"\x37\x03\x00", memories=MEM),
     "type mismatch"),
    ("memory-size-no-memory", dict(body=b"\x3f\x00\x1a"), "unknown memory"),
    ("memory-grow-type", dict(body=i64c(0) + b"\x40\x00\x1a", memories=MEM), "type mismatch"),
    ("memory-fill-no-memory", dict(body=i32c(0) * 3 + b"\xfc\x0b\x00"), "unknown memory"),
    ("memory-copy-type", dict(body=i32c(0) * 2 + i64c(0) + b"\xfc\x0a\x00\x00", memories=MEM),
     "type mismatch"),
    ("memory-init-unknown-data", dict(body=i32c(0) * 3 + b"\xfc\x08\x01\x00", memories=MEM,
                                      datacount=1, datas=[b"\x01\x00"]),
     "unknown data segment"),
    ("data-drop-unknown", dict(body=b"\xfc\x09\x00", datacount=0, datas=[]),
     "unknown data segment"),
    ("global-immutable", dict(body=i32c(0) + b"\x24\x00",
                              globals_=[bytes([I32, 0]) + i32c(0) + b"\x0b"]),
     "global is immutable"),
    ("global-set-type", dict(body=i64c(0) + b"\x24\x00",
                             globals_=[bytes([I32, 1]) + i32c(0) + b"\x0b"]),
     "type mismatch"),
    ("table-get-unknown", dict(body=i32c(0) + b"\x25\x00\x1a"), "unknown table"),
    ("table-set-type", dict(body=i32c(0) + b"\xd0\x6f\x26\x00", tables=FUNCTABLE),
     "type mismatch"),
    ("table-grow-type", dict(body=b"\xd0\x70" + i64c(1) + b"\xfc\x0f\x00\x1a",
                             tables=FUNCTABLE), "type mismatch"),
    ("table-size-unknown", dict(body=b"\xfc\x10\x00\x1a"), "unknown table"),
    ("table-fill-type", dict(body=i32c(0) + b"\xd0\x70" + i32c(1) + b"\xfc\x11\x00",
                             tables=EXTERNTABLE), "type mismatch"),
    ("table-copy-types", dict(body=i32c(0) * 3 + b"\xfc\x0e\x00\x01",
                              tables=FUNCTABLE + EXTERNTABLE), "type mismatch"),
    ("table-init-unknown-elem", dict(body=i32c(0) * 3 + b"\xfc\x0c\x00\x00", tables=FUNCTABLE),
     "unknown elem segment"),
    ("table-init-types", dict(body=i32c(0) * 3 + b"\xfc\x0c\x00\x00", tables=EXTERNTABLE,
                              elems=[b"\x01\x00\x00"]), "type mismatch"),
    ("elem-drop-unknown", dict(body=b"\xfc\x0d\x02"), "unknown elem segment"),
    ("call-indirect-no-table", dict(body=i32c(0) + b"\x11\x00\x00"), "unknown table"),
    ("call-indirect-externref-table", dict(body=i32c(0) + b"\x11\x00\x00", tables=EXTERNTABLE),
     "type mismatch"),
    ("call-indirect-unknown-type", dict(body=i32c(0) + b"\x11\x07\x00", tables=FUNCTABLE),
     "unknown type"),
    ("call-indirect-index-type", dict(body=i64c(0) + b"\x11\x00\x00", tables=FUNCTABLE),
     "type mismatch"),
    ("ref-is-null-number", dict(body=i32c(0) + b"\xd1\x1a"), "type mismatch"),
    ("ref-func-unknown", dict(body=b"\xd2\x04\x1a"), "unknown function"),
    ("ref-func-undeclared", dict(body=b"\xd2\x00\x1a"), "undeclared function reference"),
    ("sat-trunc-type", dict(body=F32C + b"\xfc\x02\x1a"), "type mismatch"),
    ("extend-type", dict(body=i32c(0) + b"\xc2\x1a"), "type mismatch"),
    ("simd-binop-type", dict(body=V128C + i32c(0) + simd(110) + b"\x1a"), "type mismatch"),
    ("simd-extract-lane", dict(body=V128C + simd(27, b"\x04") + b"\x1a"),
     "invalid lane index"),
    ("simd-replace-lane-type", dict(body=V128C + i32c(0) + simd(30, b"\x00") + b"\x1a"),
     "type mismatch"),
    ("simd-shuffle-lane", dict(body=V128C + V128C + simd(13, bytes(15) + b"\x20") + b"\x1a"),
     "invalid lane index"),
    ("simd-load-lane", dict(body=i32c(0) + V128C + simd(86, b"\x02\x00\x04") + b"\x1a",
                            memories=MEM), "invalid lane index"),
    ("simd-load-lane-align", dict(body=i32c(0) + V128C + simd(85, b"\x02\x00\x00") + b"\x1a",
                                  memories=MEM), "alignment must not be larger than natural"),
    ("simd-load-align", dict(body=i32c(0) + simd(0, b"\x05\x00") + b"\x1a", memories=MEM),
     "alignment must not be larger than natural"),
    ("simd-shift-type", dict(body=V128C + i64c(1) + simd(107) + b"\x1a"), "type mismatch"),
    ("simd-splat-type", dict(body=i32c(1) + simd(18) + b"\x1a"), "type mismatch"),
    ("simd-bitmask-result", dict(body=V128C + simd(100), results=(I64,)), "type mismatch"),
]


@pytest.mark.parametrize("kw,message", [(k, m) for _, k, m in INVALID_BODIES],
                         ids=[i for i, _, _ in INVALID_BODIES])
def test_invalid_body(kw, message):
    kw = dict(kw)
    body = kw.pop("body")
    expect_invalid(func_module(body, **kw), message)


def test_error_offset_points_at_instruction():
    data = func_module(i32c(1) + i64c(2) + b"\x6a\x1a")
    err = expect_invalid(data, "type mismatch")
    assert data[err.offset] == 0x6A


def test_data_count_required_is_malformed():
    data = func_module(b"\xfc\x09\x00", datas=[b"\x01\x00"])
    with pytest.raises(DecodeError) as info:
        validate(data)
    assert not isinstance(info.value, ValidationError)
    assert info.value.message == "data count section required"


def test_decode_errors_from_bodies_propagate():
    data = func_module(b"\xff")  # not an opcode
    with pytest.raises(DecodeError) as info:
        validate(data)
    assert not isinstance(info.value, ValidationError)


def test_huge_local_count():
    """More locals than the decoder admits (``ModuleInfo`` built by other means) go
    through the compressed lookup; the last of 100 001 locals is an f64."""
    def module(body: bytes):
        info = decode_module(func_module(body, locals_=[(1, I32)]))
        info.codes[0].locals = [(100000, I32), (1, F64)]
        return info

    validate_module(module(b"\x20" + uleb(100000) + b"\x1a" + b"\x20" + uleb(99999) + b"\x1a"))
    with pytest.raises(ValidationError, match="unknown local"):
        validate_module(module(b"\x20" + uleb(100001) + b"\x1a"))
    with pytest.raises(ValidationError, match="type mismatch"):
        validate_module(module(i32c(0) + b"\x21" + uleb(100000)))


# -- invalid module fields -----------------------------------------------------------------

GLOBAL_I32 = bytes([I32, 0])
IMPORT_GLOBAL_I32 = name("m") + name("g") + b"\x03" + GLOBAL_I32
IMPORT_MUT_GLOBAL_I32 = name("m") + name("g") + b"\x03" + bytes([I32, 1])

INVALID_MODULES = [
    ("func-unknown-type", dict(types=[((), ())], funcs=[(3, [], b"")]), "unknown type"),
    ("import-unknown-type", dict(imports=[name("m") + name("f") + b"\x00\x02"]),
     "unknown type"),
    ("memory-too-large", dict(memories=[limits(65537)]),
     "memory size must be at most 65536 pages (4GiB)"),
    ("memory-max-too-large", dict(memories=[limits(0, 65537)]),
     "memory size must be at most 65536 pages (4GiB)"),
    ("memory-min-max", dict(memories=[limits(2, 1)]),
     "size minimum must not be greater than maximum"),
    ("table-min-max", dict(tables=[bytes([FUNCREF]) + limits(2, 1)]),
     "size minimum must not be greater than maximum"),
    ("imported-memory-limits", dict(imports=[name("m") + name("m") + b"\x02" + limits(3, 2)]),
     "size minimum must not be greater than maximum"),
    ("multiple-memories", dict(memories=[limits(1), limits(1)]), "multiple memories"),
    ("multiple-memories-import", dict(imports=[name("m") + name("m") + b"\x02" + limits(1)],
                                      memories=[limits(1)]), "multiple memories"),
    ("global-type", dict(globals_=[GLOBAL_I32 + i64c(0) + b"\x0b"]), "type mismatch"),
    ("global-empty-init", dict(globals_=[GLOBAL_I32 + b"\x0b"]), "type mismatch"),
    ("global-two-values", dict(globals_=[GLOBAL_I32 + i32c(0) + i32c(0) + b"\x0b"]),
     "type mismatch"),
    ("global-non-const", dict(globals_=[GLOBAL_I32 + i32c(0) + i32c(0) + b"\x6a\x0b"]),
     "constant expression required"),
    ("global-nop", dict(globals_=[GLOBAL_I32 + b"\x01" + i32c(0) + b"\x0b"]),
     "constant expression required"),
    ("global-get-defined", dict(globals_=[GLOBAL_I32 + i32c(0) + b"\x0b",
                                          GLOBAL_I32 + b"\x23\x00\x0b"]), "unknown global"),
    ("global-get-mutable-import", dict(imports=[IMPORT_MUT_GLOBAL_I32],
                                       globals_=[GLOBAL_I32 + b"\x23\x00\x0b"]),
     "constant expression required"),
    ("global-get-import-type", dict(imports=[IMPORT_GLOBAL_I32],
                                    globals_=[bytes([I64, 0]) + b"\x23\x00\x0b"]),
     "type mismatch"),
    ("global-ref-func-unknown", dict(globals_=[bytes([FUNCREF, 0]) + b"\xd2\x00\x0b"]),
     "unknown function"),
    ("global-ref-null-type", dict(globals_=[bytes([FUNCREF, 0]) + b"\xd0\x6f\x0b"]),
     "type mismatch"),
    ("elem-unknown-table", dict(types=[((), ())], funcs=[(0, [], b"")],
                                elems=[b"\x00" + i32c(0) + b"\x0b" + vec([b"\x00"])]),
     "unknown table"),
    ("elem-unknown-function", dict(tables=FUNCTABLE,
                                   elems=[b"\x00" + i32c(0) + b"\x0b" + vec([b"\x05"])]),
     "unknown function"),
    ("elem-offset-type", dict(types=[((), ())], funcs=[(0, [], b"")], tables=FUNCTABLE,
                              elems=[b"\x00" + i64c(0) + b"\x0b" + vec([b"\x00"])]),
     "type mismatch"),
    ("elem-offset-non-const", dict(tables=FUNCTABLE,
                                   elems=[b"\x00" + i32c(0) + i32c(0) + b"\x6a\x0b" + vec([])]),
     "constant expression required"),
    ("elem-table-type", dict(tables=EXTERNTABLE,
                             elems=[b"\x00" + i32c(0) + b"\x0b" + vec([])]), "type mismatch"),
    ("elem-expr-type", dict(tables=FUNCTABLE,
                            elems=[b"\x05\x70" + vec([b"\xd0\x6f\x0b"])]), "type mismatch"),
    ("data-unknown-memory", dict(datas=[b"\x00" + i32c(0) + b"\x0b" + vec([])]),
     "unknown memory"),
    ("data-offset-type", dict(memories=MEM, datas=[b"\x00" + F32C + b"\x0b" + vec([])]),
     "type mismatch"),
    ("start-unknown", dict(start=0), "unknown function"),
    ("start-type", dict(types=[((I32,), ())], funcs=[(0, [], b"")], start=0),
     "start function"),
    ("export-duplicate", dict(types=[((), ())], funcs=[(0, [], b"")],
                              exports=[("a", 0, 0), ("a", 0, 0)]), "duplicate export name"),
    ("export-unknown-func", dict(exports=[("a", 0, 0)]), "unknown function"),
    ("export-unknown-table", dict(exports=[("a", 1, 0)]), "unknown table"),
    ("export-unknown-memory", dict(exports=[("a", 2, 0)]), "unknown memory"),
    ("export-unknown-global", dict(exports=[("a", 3, 0)]), "unknown global"),
]


@pytest.mark.parametrize("kw,message", [(k, m) for _, k, m in INVALID_MODULES],
                         ids=[i for i, _, _ in INVALID_MODULES])
def test_invalid_module(kw, message):
    expect_invalid(make_module(**kw), message)


def test_declared_function_references():
    ref_body = b"\xd2\x00\x1a"
    fn = dict(types=[((), ())], funcs=[(0, [], ref_body)])
    # declared by an export, an element segment or a global initializer
    validate(make_module(**fn, exports=[("f", 0, 0)]))
    validate(make_module(**fn, elems=[b"\x03\x00" + vec([b"\x00"])]))
    validate(make_module(**fn, globals_=[bytes([FUNCREF, 0]) + b"\xd2\x00\x0b"]))
    # the start function does not declare it
    expect_invalid(make_module(**fn, start=0), "undeclared function reference")


# -- the spec testsuite's assert_invalid modules -------------------------------------------

def _toplevel_sexprs(text: str) -> list[str]:
    """The top-level s-expressions of a ``.wast`` script (comments and strings skipped)."""
    out = []
    i, n, depth, start = 0, len(text), 0, 0
    while i < n:
        c = text[i]
        if text.startswith(";;", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
            continue
        if text.startswith("(;", i):
            nest = 1
            i += 2
            while nest and i < n:
                if text.startswith("(;", i):
                    nest, i = nest + 1, i + 2
                elif text.startswith(";)", i):
                    nest, i = nest - 1, i + 2
                else:
                    i += 1
            continue
        if c == '"':
            i += 1
            while text[i] != '"':
                i += 2 if text[i] == "\\" else 1
        elif c == "(":
            if depth == 0:
                start = i
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                out.append(text[start:i + 1])
        i += 1
    return out


_STRING = re.compile(r'"((?:[^"\\]|\\.)*)"', re.S)


def _wast_string(s: str) -> bytes:
    """Decode the body of a WAST string literal to bytes."""
    out = bytearray()
    i = 0
    while i < len(s):
        c = s[i]
        if c != "\\":
            out += c.encode()
            i += 1
            continue
        e = s[i + 1]
        if e in "0123456789abcdefABCDEF":
            out.append(int(s[i + 1:i + 3], 16))
            i += 3
        elif e == "u":
            j = s.index("}", i)
            out += chr(int(s[i + 3:j], 16)).encode()
            i = j + 1
        else:
            out += {"n": b"\n", "t": b"\t", "r": b"\r", "\\": b"\\", "'": b"'",
                    '"': b'"'}[e]
            i += 2
    return bytes(out)


def _assert_invalid_cases() -> list[tuple[str, str, str]]:
    """``(id, module_text, expected_message)`` for every assert_invalid of the 2.0 suite."""
    cases = []
    for path in sorted((shared_dir() / "wasm-spec" / "2.0").glob("*.wast")):
        count = 0
        for sexpr in _toplevel_sexprs(path.read_text()):
            if not sexpr.startswith("(assert_invalid"):
                continue
            count += 1
            body = sexpr[len("(assert_invalid"):].strip()
            module = _toplevel_sexprs(body)[0]
            message = _STRING.findall(body[len(module):])[-1]
            cases.append((f"{path.stem}-{count}", module, message))
    return cases


def _string_literals(text: str) -> list[str]:
    """The bodies of the string literals in ``text``, outside comments."""
    out = []
    i, n = 0, len(text)
    while i < n:
        if text.startswith(";;", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif text.startswith("(;", i):
            i = text.index(";)", i) + 2
        elif text[i] == '"':
            m = _STRING.match(text, i)
            out.append(m.group(1))
            i = m.end()
        else:
            i += 1
    return out


def _module_bytes(module: str) -> bytes | None:
    """Bytes of a ``(module ...)`` from a script; ``None`` if wat2wasm refuses its text."""
    m = re.match(r"\(module(\s+\$\S+)?\s+binary\b", module)
    if m:
        return b"".join(_wast_string(s) for s in _string_literals(module[m.end():]))
    try:
        return bytes(wasmtime.wat2wasm(module))
    except wasmtime.WasmtimeError:
        return None


_SPEC_INVALID = _assert_invalid_cases()
_ENGINE = wasmtime.Engine()


def _run_spec_invalid(cases):
    """Validate every case; returns counts and a list of failures."""
    stats = {"rejected, message matches": 0, "rejected with another message": 0,
             "accepted": 0, "skipped: wat2wasm refuses the text": 0}
    failures = []
    for case_id, module, message in cases:
        data = _module_bytes(module)
        if data is None:
            stats["skipped: wat2wasm refuses the text"] += 1
            continue
        try:
            validate(data)
        except ValidationError as e:
            if e.message.startswith(message):
                stats["rejected, message matches"] += 1
            else:
                stats["rejected with another message"] += 1
                failures.append((case_id, message, e.message))
            continue
        except DecodeError as e:
            stats["rejected with another message"] += 1
            failures.append((case_id, message, "malformed: " + e.message))
            continue
        stats["accepted"] += 1
        try:
            wasmtime.Module.validate(_ENGINE, data)
            verdict = "wasmtime accepts it too"
        except wasmtime.WasmtimeError:
            verdict = "wasmtime rejects it"
        failures.append((case_id, message, f"accepted ({verdict})"))
    return stats, failures


def test_spec_assert_invalid():
    """Every ``assert_invalid`` module of the 2.0 testsuite that can be encoded is rejected
    with the expected message."""
    assert len(_SPEC_INVALID) > 2000
    stats, failures = _run_spec_invalid(_SPEC_INVALID)
    print(stats)
    assert stats["rejected, message matches"] > 1800
    assert not failures, failures[:20]


def test_spec_modules_validate():
    """Every module the 2.0 testsuite defines at top level (all valid) validates; text
    modules that wat2wasm refuses are skipped and counted."""
    counts = {"valid": 0, "skipped: quoted text": 0, "skipped: wat2wasm refuses": 0}
    failures = []
    for path in sorted((shared_dir() / "wasm-spec" / "2.0").glob("*.wast")):
        for sexpr in _toplevel_sexprs(path.read_text()):
            if not sexpr.startswith("(module"):
                continue
            if re.match(r"\(module(\s+\$\S+)?\s+quote\b", sexpr):
                counts["skipped: quoted text"] += 1
                continue
            data = _module_bytes(sexpr)
            if data is None:
                counts["skipped: wat2wasm refuses"] += 1
                continue
            try:
                validate(data)
                counts["valid"] += 1
            except DecodeError as e:
                failures.append((path.name, str(e), sexpr[:80]))
    print(counts)
    assert counts["valid"] > 1500
    assert not failures, failures[:10]


# -- feature switches (wasmlite.validate.Features, Config.wasm_*) ----------------------------
from wasmlite.validate import WASM2  # noqa: E402

FEATURE_MODULES = [
    # (features switched off, module text, wasmparser's message)
    ("simd", "(module (func (param v128)))", "SIMD support is not enabled"),
    ("simd", "(module (func (local v128)))", "SIMD support is not enabled"),
    ("simd", "(module (global v128 (v128.const i64x2 0 0)))", "SIMD support is not enabled"),
    ("simd", "(module (func (result i32) i32.const 0 i8x16.splat i8x16.all_true))",
     "SIMD support is not enabled"),
    ("simd", '(module (import "m" "g" (global v128)))', "SIMD support is not enabled"),
    ("reference_types", "(module (func (param externref)))",
     "reference types support is not enabled"),
    ("reference_types", "(module (func (result i32) ref.null func ref.is_null))",
     "reference types support is not enabled"),
    ("reference_types", "(module (table 1 funcref) (table 1 funcref))", "multiple tables"),
    ("reference_types", "(module (table 1 externref))", "reference types support is not enabled"),
    ("reference_types", "(module (table 1 funcref) (func (drop (table.size 0))))",
     "reference types support is not enabled"),
    ("reference_types", "(module (func (result i32) "
     "(select (result i32) (i32.const 1) (i32.const 2) (i32.const 0))))",
     "reference types support is not enabled"),
    ("bulk_memory", "(module (memory 1) (func (memory.copy (i32.const 0) (i32.const 0) "
     "(i32.const 0))))", "bulk memory support is not enabled"),
    ("bulk_memory", '(module (memory 1) (data "x") (func (data.drop 0)))',
     "data count section requires the bulk-memory proposal"),
    ("bulk_memory", '(module (memory 1) (data "x"))',
     "passive data segments require the bulk-memory proposal"),
    ("bulk_memory", "(module (func $f) (elem func $f))", "bulk memory support is not enabled"),
    ("multi_value", "(module (type (func (result i32 i64))))",
     "func type returns multiple values but the multi-value feature is not enabled"),
    ("multi_value", "(module (func i32.const 1 (block (param i32) drop)))",
     "blocks, loops, and ifs may only produce a resulttype when multi-value is not enabled"),
    ("mutable_global", '(module (import "m" "g" (global (mut i32))))',
     "mutable global support is not enabled"),
    ("mutable_global", '(module (global (export "g") (mut i32) (i32.const 0)))',
     "mutable global support is not enabled"),
    ("saturating_float_to_int", "(module (func (result i32) f32.const 0 i32.trunc_sat_f32_s))",
     "saturating float to int conversions support is not enabled"),
    ("sign_extension", "(module (func (result i32) i32.const 0 i32.extend8_s))",
     "sign extension operations support is not enabled"),
    ("relaxed_simd", "(module (func (param v128 v128) (result v128) "
     "(i8x16.relaxed_swizzle (local.get 0) (local.get 1))))",
     "relaxed SIMD support is not enabled"),
    ("relaxed_simd", "(module (func (param v128 v128 v128) (result v128) "
     "(f64x2.relaxed_nmadd (local.get 0) (local.get 1) (local.get 2))))",
     "relaxed SIMD support is not enabled"),
]


@pytest.mark.parametrize("feature, text, message", FEATURE_MODULES)
def test_feature_switched_off(feature: str, text: str, message: str) -> None:
    info = decode_module(wasmtime.wat2wasm(text))
    validate_module(info)  # valid WebAssembly 2.0
    validate_module(info, WASM2)
    with pytest.raises(ValidationError, match=re.escape(message)):
        validate_module(info, Features(**{feature: False}))


def test_features_other_switches_keep_module_valid() -> None:
    """Switching off one feature does not reject a module that uses only others."""
    info = decode_module(wasmtime.wat2wasm(
        "(module (func (param v128) (result i32) i32.const 0 i32.extend8_s))"))
    validate_module(info, Features(reference_types=False, bulk_memory=False,
                                   multi_value=False, saturating_float_to_int=False))
    with pytest.raises(ValidationError):
        validate_module(info, Features(simd=False))
    with pytest.raises(TypeError, match="expected a Features"):
        validate_module(info, {"simd": False})  # type: ignore[arg-type]


def test_config_features() -> None:
    import wasmlite

    c = wasmlite.Config()
    assert c._features() == WASM2
    c.wasm_simd = False
    c.wasm_bulk_memory = False
    f = c._features()
    assert not f.simd and not f.bulk_memory and f.reference_types and f.multi_value
    c.wasm_reference_types = False
    c.wasm_multi_value = False
    # relaxed SIMD needs SIMD (Wasmtime's Engine refuses the combination)
    assert c._features() == Features(simd=False, relaxed_simd=False, bulk_memory=False,
                                     reference_types=False, multi_value=False)
