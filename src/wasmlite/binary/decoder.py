"""Decoder of the WebAssembly 2.0 binary format (spec §5) into a :class:`ModuleInfo`.

Two entry points:

* :func:`decode_module` reads the whole module — header, every section, the ``name``
  custom section — but leaves function bodies undecoded: each code entry only records
  its local declarations and where its instructions lie (``body_start``/``body_end``).
* :func:`read_instructions` decodes one function body into instruction tuples
  ``(opcode, immediate, offset)`` (shapes in :mod:`wasmlite.binary.opcodes` and
  ``docs/architecture.md``).  :func:`read_function_body` does the same for a decoded
  module's code entry and passes it the "data count section present" flag.

Errors are :class:`wasmlite.errors.DecodeError` with the wording of the spec's reference
interpreter, which the spec testsuite (``binary.wast``, ``binary-leb128.wast``,
``custom.wast``, ...) expects as message prefix:

* running off the end of the bytes: "unexpected end" (module header and section
  headers) or "unexpected end of section or function" (inside a section), at
  ``len(data)``;
* like the reference interpreter, the contents of a section (and a function body) are
  read without stopping at the section's declared end; afterwards the section must end
  exactly where its size says ("section size mismatch").  So a count that is too large
  reads into the next section and fails there, and a body without its final ``end``
  fails with "END opcode expected" when the next byte is not an instruction;
* a section size, name length or code-entry size larger than the bytes left:
  "length out of bounds"; a vector count larger than the module: "length out of bounds";
* non-custom sections out of order or repeated: "unexpected content after last
  section" (datacount, id 12, sits between element and code sections, spec §5.5.2).

The decoder accepts implementation limits of Wasmtime where the spec has none: a
function may declare at most 50 000 locals ("too many locals: locals exceed maximum",
like wasmparser); more than ``2**32 - 1`` is the spec's "too many locals".
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence

from wasmlite.binary import opcodes as _op
from wasmlite.binary.leb128 import EOS_MESSAGE, read_signed, read_unsigned
from wasmlite.environ.module import (
    EXTERN_FUNC,
    EXTERN_GLOBAL,
    EXTERN_MEMORY,
    EXTERN_TABLE,
    FUNCREF,
    GC_HEAP_TYPES,
    HT_EXTERN,
    HT_FUNC,
    REF_TYPES,
    VAL_TYPES,
    DataSegment,
    ElemSegment,
    Export,
    FunctionBody,
    FuncType,
    Global,
    GlobalType,
    Import,
    Limits,
    MemoryType,
    ModuleInfo,
    Names,
    TableType,
    ref_type,
)
from wasmlite.errors import DecodeError

__all__ = ["decode_module", "read_instructions", "read_function_body", "MAX_LOCALS",
           "WASM_MAGIC", "WASM_VERSION"]

WASM_MAGIC = b"\x00asm"
WASM_VERSION = b"\x01\x00\x00\x00"

#: Wasmtime's (wasmparser's) limit on the number of locals of one function.
MAX_LOCALS = 50_000

# Section ids (spec §5.5.2) and the order non-custom sections must follow.
SEC_CUSTOM = 0
SEC_TYPE = 1
SEC_IMPORT = 2
SEC_FUNCTION = 3
SEC_TABLE = 4
SEC_MEMORY = 5
SEC_GLOBAL = 6
SEC_EXPORT = 7
SEC_START = 8
SEC_ELEMENT = 9
SEC_CODE = 10
SEC_DATA = 11
SEC_DATACOUNT = 12
_SECTION_RANK = {SEC_TYPE: 1, SEC_IMPORT: 2, SEC_FUNCTION: 3, SEC_TABLE: 4, SEC_MEMORY: 5,
                 SEC_GLOBAL: 6, SEC_EXPORT: 7, SEC_START: 8, SEC_ELEMENT: 9,
                 SEC_DATACOUNT: 10, SEC_CODE: 11, SEC_DATA: 12}

_VALTYPE_SET = frozenset(VAL_TYPES)
_REFTYPE_SET = frozenset(REF_TYPES)
_FUNCTYPE_SET = frozenset((0x60,))
#: the type of the ``funcidx`` forms of element segments (spec 3.0 §5.5.12)
_REF_FUNC = ref_type(False, HT_FUNC)

# -- instruction dispatch tables -----------------------------------------------------------
# Kinds used by the reader loop: the IMM_* kinds of opcodes.py, with the three u32-index
# kinds merged, plus structural kinds.
_K_ILLEGAL = -1
_K_U32 = 100
_K_ELSE = 101
_K_END = 102
_K_PREFIX_FC = 103
_K_PREFIX_FD = 104
_U32_KINDS = (_op.IMM_LABELIDX, _op.IMM_FUNCIDX, _op.IMM_INDEX)


def _loop_kind(kind: int) -> int:
    return _K_U32 if kind in _U32_KINDS else kind


_KIND1: list[int] = [_K_ILLEGAL] * 256
_KIND_FC: dict[int, int] = {}
_KIND_FD: dict[int, int] = {}
for _code, _kind in _op.IMMEDIATE_KINDS.items():
    if _code < 0x100:
        _KIND1[_code] = _loop_kind(_kind)
    elif _code < 0xFD000:
        _KIND_FC[_code & 0xFF] = _loop_kind(_kind)
    else:
        _KIND_FD[_code - 0xFD000] = _loop_kind(_kind)
_KIND1[_op.ELSE] = _K_ELSE
_KIND1[_op.END] = _K_END
_KIND1[0xFC] = _K_PREFIX_FC
_KIND1[0xFD] = _K_PREFIX_FD
del _code, _kind

_BLOCK = _op.BLOCK
_LOOP = _op.LOOP
_IF = _op.IF
_MEMORY_INIT = _op.MEMORY_INIT
_DATA_DROP = _op.DATA_DROP


def _eos(data: bytes) -> DecodeError:
    return DecodeError(EOS_MESSAGE, len(data))


#: the prefixes of ``(ref null ht)`` and ``(ref ht)`` (typed function references)
REF_NULL_PREFIX = 0x63
REF_PREFIX = 0x64


def read_heap_type(data: bytes, pos: int) -> tuple[int, int]:
    """A ``heaptype`` (spec 3.0 §5.3.3), an ``s33``: ``HT_FUNC``, ``HT_EXTERN`` or a
    typeidx.  The GC proposal's abstract heap types are not implemented ("heap type
    any requires the GC proposal, which wasmlite does not implement"); other negative
    values are "malformed heap type"."""
    b = data[pos]
    if b < 0x40:
        return b, pos + 1
    if b < 0x80:
        v = b - 0x80
        pos += 1
    else:
        v, pos = read_signed(data, pos, 33)
        if v >= 0:
            return v, pos
    if v == HT_FUNC or v == HT_EXTERN:
        return v, pos
    _gc_heap_type(v, pos - 1)
    raise DecodeError("malformed heap type", pos - 1)


def _gc_heap_type(ht: int, pos: int) -> None:
    """Raise the GC proposal's message when ``ht`` is one of its abstract heap types;
    return for any other value."""
    name = GC_HEAP_TYPES.get(ht)
    if name is not None:
        raise DecodeError(f"heap type {name} requires the GC proposal, which wasmlite "
                          "does not implement", pos)


def _gc_abbreviation(b: int, pos: int) -> None:
    """Raise the GC proposal's message for a one-byte reference type abbreviation of
    one of its heap types (``anyref`` = ``0x6E`` ...); return for any other byte."""
    if 0x40 <= b < 0x80:
        _gc_heap_type(b - 0x80, pos)


def read_ref_type(data: bytes, pos: int) -> tuple[int, int]:
    """``0x63 ht`` / ``0x64 ht`` at ``pos`` (the prefix byte): the valtype and the
    position after it."""
    ht, end = read_heap_type(data, pos + 1)
    return ref_type(data[pos] == REF_NULL_PREFIX, ht), end


def _read_blocktype(data: bytes, pos: int) -> tuple[int, int]:
    """``blocktype`` (spec §5.4.1): ``0x40``, a valtype byte, or an ``s33`` typeidx >= 0;
    a typed reference type ``t`` (``0x63``/``0x64 ht``) is ``-t``."""
    b = data[pos]
    if b < 0x80:
        if b & 0x40:
            if b == REF_NULL_PREFIX or b == REF_PREFIX:
                t, end = read_ref_type(data, pos)
                return -t, end
            if b != 0x40 and b not in _VALTYPE_SET:
                raise DecodeError("malformed value type", pos)
            return b - 0x80, pos + 1
        return b, pos + 1
    v, end = read_signed(data, pos, 33)
    if v < 0:
        raise DecodeError("malformed block type", pos)
    return v, end


def _read_rare_immediate(data: bytes, pos: int, op: int, kind: int,
                         has_data_count: bool, multi_memory: bool = True,
                         memory64: bool = True) -> tuple[object, int]:
    """Immediates of the less frequent kinds; returns ``(immediate, new_pos)``.
    ``multi_memory`` false: the WebAssembly 2.0 encodings (memory indices are one
    zero byte, ``memarg`` flags below 32), see :func:`read_instructions`."""
    if kind == _op.IMM_I64:
        return read_signed(data, pos, 64)
    if kind == _op.IMM_F32:
        if pos + 4 > len(data):
            raise _eos(data)
        return int.from_bytes(data[pos:pos + 4], "little"), pos + 4
    if kind == _op.IMM_F64:
        if pos + 8 > len(data):
            raise _eos(data)
        return int.from_bytes(data[pos:pos + 8], "little"), pos + 8
    if kind == _op.IMM_BR_TABLE:
        n, pos = _read_len(data, pos)
        labels = []
        for _ in range(n):
            x, pos = read_unsigned(data, pos, 32)
            labels.append(x)
        default, pos = read_unsigned(data, pos, 32)
        return (tuple(labels), default), pos
    if kind == _op.IMM_CALL_INDIRECT:
        t, pos = read_unsigned(data, pos, 32)
        x, pos = read_unsigned(data, pos, 32)
        return (t, x), pos
    if kind == _op.IMM_MEMIDX:
        if multi_memory:
            return read_unsigned(data, pos, 32)
        if data[pos] != 0:
            raise DecodeError("zero byte expected", pos)
        return 0, pos + 1
    if kind == _op.IMM_SELECT_T:
        n, pos = _read_len(data, pos)
        types = []
        for _ in range(n):
            t = data[pos]
            if t == REF_NULL_PREFIX or t == REF_PREFIX:
                t, pos = read_ref_type(data, pos)
                types.append(t)
                continue
            if t not in _VALTYPE_SET:
                raise DecodeError("malformed value type", pos)
            types.append(t)
            pos += 1
        return tuple(types), pos
    if kind == _op.IMM_REFTYPE:
        t = data[pos]
        if t in _REFTYPE_SET:
            return t, pos + 1
        if t & 0x40 and t < 0x80 and t - 0x80 not in GC_HEAP_TYPES:
            raise DecodeError("malformed reference type", pos)
        ht, pos = read_heap_type(data, pos)
        return ref_type(True, ht), pos
    if kind == _op.IMM_MEMORY_INIT:
        x, pos = read_unsigned(data, pos, 32)
        if multi_memory:
            m, pos = read_unsigned(data, pos, 32)
            return (x, m), pos
        if data[pos] != 0:
            raise DecodeError("zero byte expected", pos)
        return (x, 0), pos + 1
    if kind == _op.IMM_MEMORY_COPY:
        if multi_memory:
            dst, pos = read_unsigned(data, pos, 32)
            src, pos = read_unsigned(data, pos, 32)
            return (dst, src), pos
        if data[pos] != 0:
            raise DecodeError("zero byte expected", pos)
        if data[pos + 1] != 0:
            raise DecodeError("zero byte expected", pos + 1)
        return (0, 0), pos + 2
    if kind == _op.IMM_TABLE_INIT or kind == _op.IMM_TABLE_COPY:
        x, pos = read_unsigned(data, pos, 32)
        y, pos = read_unsigned(data, pos, 32)
        return (x, y), pos
    if kind == _op.IMM_V128:
        if pos + 16 > len(data):
            raise _eos(data)
        return data[pos:pos + 16], pos + 16
    if kind == _op.IMM_LANE:
        return data[pos], pos + 1
    if kind == _op.IMM_MEMARG_LANE:
        memarg, pos = _read_memarg(data, pos, multi_memory, memory64)
        return (memarg, data[pos]), pos + 1
    if kind == _op.IMM_MEMARG:
        return _read_memarg(data, pos, multi_memory, memory64)
    if kind == _op.IMM_I32:
        return read_signed(data, pos, 32)
    if kind == _op.IMM_BLOCKTYPE:
        return _read_blocktype(data, pos)
    if kind == _K_U32:
        return read_unsigned(data, pos, 32)
    raise AssertionError(f"unhandled immediate kind {kind}")  # pragma: no cover


def _read_memarg(data: bytes, pos: int, multi_memory: bool = True,
                 memory64: bool = True) -> tuple[tuple[int, ...], int]:
    """``memarg`` (spec 3.0 §5.4.7): ``(align, offset)`` for memory 0 given by the
    flags alone, ``(align, offset, memidx)`` when flag bit 6 says a memory index
    follows (multi-memory; the index may be 0).  Flags of 128 or more are "malformed
    memop flags" (32 or more, and bit 6, without ``multi_memory``: WebAssembly 2.0);
    an alignment of 32-63 is left to validation ("alignment must not be larger than
    natural").  The offset is a ``u64`` with ``memory64`` (the validator checks that
    a 32-bit memory's fits in 32 bits: "offset out of range"), else a ``u32``."""
    a = data[pos]
    if a < 0x80:
        pos += 1
    else:
        a, pos = read_unsigned(data, pos, 32)
    memidx = None
    if a >= (128 if multi_memory else 32):
        raise DecodeError("malformed memop flags", pos - 1)
    if a >= 64:
        a -= 64
        memidx, pos = read_unsigned(data, pos, 32)
    o = data[pos]
    if o < 0x80:
        pos += 1
    else:
        o, pos = read_unsigned(data, pos, 64 if memory64 else 32)
    return ((a, o) if memidx is None else (a, o, memidx)), pos


def _read_len(data: bytes, pos: int) -> tuple[int, int]:
    """A vector length (``u32``); more elements than bytes in the module is
    "length out of bounds"."""
    start = pos
    n, pos = read_unsigned(data, pos, 32)
    if n > len(data):
        raise DecodeError("length out of bounds", start)
    return n, pos


def _read_expr(data: bytes, pos: int, has_data_count: bool,
               multi_memory: bool = True, memory64: bool = True) -> tuple[list[tuple], int]:
    """Decode instructions from ``pos`` up to and including the ``end`` that closes the
    expression.  Returns ``(instructions, position after that end)``.  Reads are bounded
    only by ``len(data)`` (see the module docstring)."""
    out: list[tuple] = []
    append = out.append
    kind1 = _KIND1
    ctrl = [0]  # open frames: 0 = block/loop/function, 1 = if before else, 2 = after else
    try:
        while True:
            start = pos
            op = data[pos]
            pos += 1
            k = kind1[op]
            if k == 0:
                append((op, None, start))
                continue
            if k == _K_U32:
                b = data[pos]
                if b < 0x80:
                    pos += 1
                    append((op, b, start))
                else:
                    v, pos = read_unsigned(data, pos, 32)
                    append((op, v, start))
                continue
            if k == _op.IMM_MEMARG:
                a = data[pos]
                o = data[pos + 1]
                if a < 32 and o < 0x80:
                    pos += 2
                    append((op, (a, o), start))
                else:
                    memarg, pos = _read_memarg(data, pos, multi_memory, memory64)
                    append((op, memarg, start))
                continue
            if k == _op.IMM_I32:
                b = data[pos]
                if b < 0x80:
                    pos += 1
                    append((op, b - 0x80 if b & 0x40 else b, start))
                else:
                    v, pos = read_signed(data, pos, 32)
                    append((op, v, start))
                continue
            if k == _K_END:
                ctrl.pop()
                append((op, None, start))
                if not ctrl:
                    return out, pos
                continue
            if k == _op.IMM_BLOCKTYPE:
                b = data[pos]
                if b == 0x40:
                    bt = -64
                    pos += 1
                else:
                    bt, pos = _read_blocktype(data, pos)
                ctrl.append(1 if op == _IF else 0)
                append((op, bt, start))
                continue
            if k == _K_ELSE:
                if ctrl[-1] != 1:
                    raise DecodeError("END opcode expected", start)
                ctrl[-1] = 2
                append((op, None, start))
                continue
            if k == _K_PREFIX_FC or k == _K_PREFIX_FD:
                b = data[pos]
                if b < 0x80:
                    sub = b
                    pos += 1
                else:
                    sub, pos = read_unsigned(data, pos, 32)
                if k == _K_PREFIX_FC:
                    k = _KIND_FC.get(sub, _K_ILLEGAL)
                    if k == _K_ILLEGAL:
                        raise DecodeError(f"illegal opcode fc {sub:02x}", start)
                    op = 0xFC00 | sub
                    if not has_data_count and (op == _MEMORY_INIT or op == _DATA_DROP):
                        raise DecodeError("data count section required", start)
                else:
                    k = _KIND_FD.get(sub, _K_ILLEGAL)
                    if k == _K_ILLEGAL:
                        raise DecodeError(f"illegal opcode fd {sub:02x}", start)
                    op = 0xFD000 + sub
                if k == 0:
                    append((op, None, start))
                    continue
            elif k == _K_ILLEGAL:
                raise DecodeError(f"illegal opcode {op:02x}", start)
            imm, pos = _read_rare_immediate(data, pos, op, k, has_data_count,
                                            multi_memory, memory64)
            append((op, imm, start))
    except IndexError:
        raise _eos(data) from None


def read_instructions(data: bytes, start: int, end: int, *,
                      has_data_count: bool = True, multi_memory: bool = True,
                      memory64: bool = True) -> list[tuple]:
    """Decode the instructions of a function body (spec §5.4, §5.5.13).

    ``data[start:end]`` is the body's ``expr`` (after the local declarations); the result
    is the list of ``(opcode, immediate, offset)`` tuples including the final ``end``,
    with ``offset`` the position of each opcode in ``data``.

    ``has_data_count`` must be ``False`` when the module has no data count section: then
    ``memory.init`` and ``data.drop`` are malformed ("data count section required",
    spec §5.5.16).  :func:`read_function_body` passes it from the module.
    ``multi_memory`` false decodes WebAssembly 2.0's encodings of the memory
    instructions (a memory index is one zero byte, else "zero byte expected"; ``memarg``
    flags of 32 or more are "malformed memop flags"): the validator asks for it when
    ``Features.multi_memory`` is off.  A body valid without multi-memory decodes the
    same either way.  ``memory64`` false reads ``memarg`` offsets as ``u32`` (2.0),
    true as ``u64``.

    Raises :class:`DecodeError`: "END opcode expected" (an ``else`` outside an ``if``, or
    a missing final ``end`` followed by a non-instruction byte), "section size mismatch"
    (the final ``end`` is not the last byte of the body), "unexpected end of section or
    function", "illegal opcode", "zero byte expected", "malformed memop flags", and the
    LEB128 errors.
    """
    if not isinstance(data, bytes):
        data = bytes(data)
    instrs, pos = _read_expr(data, start, has_data_count, multi_memory, memory64)
    if pos != end:
        raise DecodeError("section size mismatch", pos - 1)
    return instrs


def read_function_body(info: ModuleInfo, index: int) -> list[tuple]:
    """Instructions of the ``index``-th *defined* function of a decoded module (its code
    entry ``info.codes[index]``), see :func:`read_instructions`."""
    code = info.codes[index]
    return read_instructions(info.bytes, code.body_start, code.body_end,
                             has_data_count=info.data_count is not None)


class FunctionBodies(Sequence):
    """The instruction lists of a module's defined functions, each decoded
    (:func:`read_function_body`) the first time it is asked for and kept until
    :meth:`forget` (a lazy compiler forgets a body once it is compiled: the lists cost
    about 110 bytes per instruction, 0.7 GB for the 6,400 functions one run of
    cc1plus.wasm compiles), so what a lazily compiling module holds does not grow with
    the module.
    ``bodies[i]`` is defined function ``i``'s list; ``estimate(i)`` its instruction
    count without decoding it (half its byte size: about two bytes per instruction in
    compiled C and Rust, 1.97–2.47 on Sightglass programs).  Safe to read from several
    threads (at worst a body is decoded twice)."""

    def __init__(self, info: ModuleInfo):
        self.info = info
        self._bodies: list[list[tuple] | None] = [None] * len(info.codes)
        #: how many times a body was decoded (a forgotten one decodes again)
        self.decodes = 0

    def __len__(self) -> int:
        return len(self._bodies)

    def __getitem__(self, index):  # type: ignore[no-untyped-def, override]
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self._bodies)))]
        body = self._bodies[index]
        if body is None:
            body = self._bodies[index] = read_function_body(self.info, index)
            self.decodes += 1
        return body

    def forget(self, indices: Sequence[int]) -> None:
        """Drop the decoded lists of defined functions ``indices`` (decoded again if
        asked for)."""
        bodies = self._bodies
        for i in indices:
            bodies[i] = None

    def estimate(self, index: int) -> int:
        codes = self.info.codes
        if isinstance(codes, LazyCodes):
            start, end = codes.span(index)        # without decoding the entry
            return max(1, (end - start) // 2)
        code = codes[index]
        return max(1, (code.body_end - code.body_start) // 2)

    def estimate_all(self) -> int:
        """The sum of :meth:`estimate` over every body (about: each at least 1)."""
        codes = self.info.codes
        if isinstance(codes, LazyCodes):
            e = codes._entries
            return max(len(codes), (sum(e[2::3]) - sum(e[1::3])) // 2)
        return sum(self.estimate(i) for i in range(len(codes)))

    @property
    def decoded(self) -> int:
        """How many bodies are held decoded now."""
        return sum(b is not None for b in self._bodies)


# -- module ------------------------------------------------------------------------------

def _local_decls(d: _Decoder, body_end: int, entry: int) -> list[tuple[int, int]]:
    """A function body's local declarations, read by ``d`` from its position (just past
    the size field at ``entry``) up to the first instruction, where ``d`` stops."""
    lpos = d.pos
    decls = []
    total = 0
    for _ in range(d.vec_len()):
        count = d.u32()
        t = d.valtype()
        decls.append((count, t))
        total += count
    if total > 0xFFFF_FFFF:
        raise DecodeError("too many locals", lpos)
    if total > MAX_LOCALS:
        raise DecodeError("too many locals: locals exceed maximum", lpos)
    if d.pos > body_end:
        raise DecodeError("section size mismatch", entry)
    return decls


class LazyCodes(Sequence):
    """``ModuleInfo.codes`` of a module decoded with ``lazy_code``: the code section's
    entries found by their sizes alone, each one's local declarations decoded (and its
    :class:`FunctionBody` made) when it is first asked for.  ``entries`` holds three
    ``u64`` per function: the entry's offset, where its local declarations start and
    where its body ends.  For modules known to be valid (validated by an earlier run,
    or an artifact's): cc1plus's 35,221 entries cost 0.6 s decoded eagerly."""

    def __init__(self, data: bytes, entries: array):
        self._data = data
        self._entries = entries
        self._made: list[FunctionBody | None] = [None] * (len(entries) // 3)

    def __len__(self) -> int:
        return len(self._made)

    def __getitem__(self, index):  # type: ignore[no-untyped-def, override]
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self._made)))]
        body = self._made[index]
        if body is None:
            if index < 0:
                index += len(self._made)
            e = self._entries
            entry, lpos, end = e[3 * index], e[3 * index + 1], e[3 * index + 2]
            d = _Decoder.reader(self._data, lpos)     # one per call: threads share this
            decls = _local_decls(d, end, entry)
            body = self._made[index] = FunctionBody(decls, d.pos, end, entry)
        return body

    def span(self, index: int) -> tuple[int, int]:
        """``(start of the local declarations, end of the body)`` of entry ``index``,
        without decoding it."""
        e = self._entries
        return e[3 * index + 1], e[3 * index + 2]


class _LazyNames(Names):
    """The ``name`` section of a module decoded with ``lazy_code``, parsed when one of
    its fields is first read (resvg's: 27 ms of a 0.2 s ``Module.deserialize``; names
    only matter to backtraces and ``Module.name``)."""

    def __init__(self, payload: bytes):  # noqa: D107 - the fields come from the payload
        self._payload = payload
        self._parsed: Names | None = None

    def _names(self) -> Names:
        parsed = self._parsed
        if parsed is None:
            parsed = self._parsed = _parse_name_section(self._payload) or Names()
        return parsed

    module = property(lambda self: self._names().module)  # type: ignore[assignment]
    functions = property(lambda self: self._names().functions)  # type: ignore[assignment]
    locals = property(lambda self: self._names().locals)  # type: ignore[assignment]


class _Decoder:
    """Section-by-section reader of one module; ``pos`` is the current offset.
    ``lazy_code``: the code section as :class:`LazyCodes`."""

    def __init__(self, data: bytes, lazy_code: bool = False, memory64: bool = True):
        self.data = data
        self.lazy_code = lazy_code
        #: 3.0 limits (flags byte, 64-bit tables and memories) and u64 memarg offsets
        self.memory64 = memory64
        self.pos = 0
        self.info = ModuleInfo(bytes=data)
        self.func_count: int | None = None
        self.code_section_offset: int | None = None

    @classmethod
    def reader(cls, data: bytes, pos: int) -> _Decoder:
        """A decoder of ``data`` at ``pos`` for its primitive readers only (no
        ``ModuleInfo``, which costs 3 µs to make: once per lazily decoded body)."""
        d = cls.__new__(cls)
        d.data = data
        d.pos = pos
        return d

    # -- primitives -------------------------------------------------------------------
    def u8(self) -> int:
        data = self.data
        pos = self.pos
        if pos >= len(data):
            raise _eos(data)
        self.pos = pos + 1
        return data[pos]

    def u32(self) -> int:
        data = self.data
        pos = self.pos
        if pos < len(data) and data[pos] < 0x80:
            self.pos = pos + 1
            return data[pos]
        v, self.pos = read_unsigned(data, pos, 32)
        return v

    def vec_len(self) -> int:
        n, self.pos = _read_len(self.data, self.pos)
        return n

    def byte_len(self) -> int:
        """A length of bytes that follow: more than are left is "length out of bounds"."""
        start = self.pos
        n = self.u32()
        if n > len(self.data) - self.pos:
            raise DecodeError("length out of bounds", start)
        return n

    def name(self) -> str:
        start = self.pos
        n = self.byte_len()
        raw = self.data[self.pos:self.pos + n]
        self.pos += n
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise DecodeError("malformed UTF-8 encoding", start) from None

    def type_byte(self, allowed: frozenset[int], message: str) -> int:
        """A one-byte type code (an ``s7`` in the reference interpreter, so a
        continuation bit is "integer representation too long")."""
        pos = self.pos
        t = self.u8()
        if t not in allowed:
            if t & 0x80:
                raise DecodeError("integer representation too long", pos + 1)
            raise DecodeError(message, pos)
        return t

    def valtype(self) -> int:
        return self._type(_VALTYPE_SET, "malformed value type")

    def reftype(self) -> int:
        return self._type(_REFTYPE_SET, "malformed reference type")

    def _type(self, allowed: frozenset, message: str) -> int:
        """A one-byte type of ``allowed`` or a typed reference type (``0x63``/``0x64
        ht``); a GC abbreviation gets the GC message, anything else ``message``."""
        b = self.data[self.pos] if self.pos < len(self.data) else 0
        if b == REF_NULL_PREFIX or b == REF_PREFIX:
            t, self.pos = read_ref_type(self.data, self.pos)
            return t
        if b not in allowed:
            _gc_abbreviation(b, self.pos)
        return self.type_byte(allowed, message)

    def limits(self) -> Limits:
        # The flag is a ``u1`` in the 2.0 reference interpreter: 2.. is "integer too
        # large", a continuation bit "integer representation too long".
        flags, self.pos = read_unsigned(self.data, self.pos, 1)
        lo = self.u32()
        hi = self.u32() if flags else None
        return Limits(lo, hi)

    def limits3(self, allowed: int) -> tuple[Limits, int]:
        """3.0 ``limits`` with their flags byte (bit 0: a maximum follows, bit 1:
        shared, bit 2: 64-bit); the bounds are ``u64`` whatever the address type (the
        validator checks their range: "memory size must be at most ...").  Flags
        outside ``allowed`` are "malformed limits flags".  Returns ``(limits, flags)``."""
        fpos = self.pos
        flags = self.data[fpos]
        self.pos += 1
        if flags & ~allowed:
            raise DecodeError("malformed limits flags", fpos)
        lo, self.pos = read_unsigned(self.data, self.pos, 64)
        hi = None
        if flags & 1:
            hi, self.pos = read_unsigned(self.data, self.pos, 64)
        return Limits(lo, hi), flags

    def table_type(self) -> TableType:
        t = self.reftype()
        if not self.memory64 and self.data[self.pos] not in (4, 5):
            return TableType(t, self.limits())
        limits, flags = self.limits3(0x05)
        return TableType(t, limits, bool(flags & 4))

    def memory_type(self) -> MemoryType:
        # without memory64, 2.0's limits, except that a 64-bit type is still read as
        # one, for the validator to name the proposal (as wasmparser does)
        if not self.memory64 and self.data[self.pos] not in (4, 5):
            return MemoryType(self.limits())
        limits, flags = self.limits3(0x07)
        return MemoryType(limits, bool(flags & 4), bool(flags & 2))

    def const_expr(self) -> list[tuple]:
        instrs, self.pos = _read_expr(self.data, self.pos, True)
        instrs.pop()  # the final ``end``
        return instrs

    def funcidx_expr(self) -> list[tuple]:
        pos = self.pos
        x = self.u32()
        return [(_op.REF_FUNC, x, pos)]

    # -- sections ---------------------------------------------------------------------
    def type_section(self) -> None:
        types = self.info.types
        for _ in range(self.vec_len()):
            self.type_byte(_FUNCTYPE_SET, "malformed function type")
            params = tuple(self.valtype() for _ in range(self.vec_len()))
            results = tuple(self.valtype() for _ in range(self.vec_len()))
            types.append(FuncType(params, results))

    def import_section(self) -> None:
        imports = self.info.imports
        for _ in range(self.vec_len()):
            offset = self.pos
            module = self.name()
            name = self.name()
            kpos = self.pos
            kind = self.u8()
            if kind == EXTERN_FUNC:
                desc: object = self.u32()
            elif kind == EXTERN_TABLE:
                desc = self.table_type()
            elif kind == EXTERN_MEMORY:
                desc = self.memory_type()
            elif kind == EXTERN_GLOBAL:
                desc = self.global_type()
            else:
                raise DecodeError("malformed import kind", kpos)
            imports.append(Import(module, name, kind, desc, offset))

    def global_type(self) -> GlobalType:
        t = self.valtype()
        pos = self.pos
        m = self.u8()
        if m > 1:
            raise DecodeError("malformed mutability", pos)
        return GlobalType(t, bool(m))

    def function_section(self) -> None:
        n = self.vec_len()
        data = self.data
        end = len(data)
        pos = self.pos
        funcs = []
        append = funcs.append
        for _ in range(n):
            # typeidx: one or two LEB128 bytes inline (cc1plus: 35,221 of them)
            b = data[pos] if pos < end else 0x80
            if b < 0x80:
                append(b)
                pos += 1
            elif pos + 1 < end and data[pos + 1] < 0x80:
                append((b & 0x7F) | (data[pos + 1] << 7))
                pos += 2
            else:
                v, pos = read_unsigned(data, pos, 32)
                append(v)
        self.pos = pos
        self.info.funcs = funcs
        self.func_count = n

    def table_section(self) -> None:
        tables = self.info.tables
        for _ in range(self.vec_len()):
            if self.data[self.pos] == 0x40:
                # typed function references: ``0x40 0x00 tabletype expr``
                if self.data[self.pos + 1] != 0x00:
                    raise DecodeError("malformed table type", self.pos + 1)
                self.pos += 2
                tables.append(self.table_type())
                self.info.table_inits[len(tables) - 1] = self.const_expr()
                continue
            tables.append(self.table_type())

    def memory_section(self) -> None:
        for _ in range(self.vec_len()):
            self.info.memories.append(self.memory_type())

    def global_section(self) -> None:
        for _ in range(self.vec_len()):
            gt = self.global_type()
            self.info.globals.append(Global(gt, self.const_expr()))

    def export_section(self) -> None:
        for _ in range(self.vec_len()):
            name = self.name()
            kpos = self.pos
            kind = self.u8()
            if kind > 3:
                raise DecodeError("malformed export kind", kpos)
            self.info.exports.append(Export(name, kind, self.u32()))

    def start_section(self) -> None:
        self.info.start = self.u32()

    def element_section(self) -> None:
        for _ in range(self.vec_len()):
            fpos = self.pos
            flags = self.u32()
            if flags > 7:
                raise DecodeError("malformed elements segment kind", fpos)
            table = 0
            offset = None
            if flags & 1:
                mode = "declarative" if flags & 2 else "passive"
            else:
                mode = "active"
                if flags & 2:
                    table = self.u32()
                offset = self.const_expr()
            if flags & 4:  # vec(expr), with a reftype unless form 4
                etype = self.reftype() if flags & 3 else FUNCREF
                items = [self.const_expr() for _ in range(self.vec_len())]
            else:  # vec(funcidx), with an elemkind unless form 0: ``(ref func)`` (3.0)
                etype = _REF_FUNC
                if flags & 3:
                    kpos = self.pos
                    if self.u8() != 0x00:
                        raise DecodeError("malformed element kind", kpos)
                items = [self.funcidx_expr() for _ in range(self.vec_len())]
            self.info.elems.append(ElemSegment(mode, etype, items, table, offset))

    def datacount_section(self) -> None:
        self.info.data_count = self.u32()

    def code_section(self) -> None:
        data = self.data
        if self.lazy_code:
            self.info.codes = LazyCodes(data, self._code_entries())
            return
        codes = self.info.codes
        for _ in range(self.vec_len()):
            entry = self.pos
            size = self.byte_len()
            body_end = self.pos + size
            decls = _local_decls(self, body_end, entry)
            codes.append(FunctionBody(decls, self.pos, body_end, entry))
            self.pos = body_end
        if len(data) < self.pos:  # pragma: no cover - byte_len guarantees it
            raise _eos(data)

    def _code_entries(self) -> array:
        """The code section's entries found by their sizes alone: an ``array('Q')`` of
        three offsets per entry (see :class:`LazyCodes`)."""
        data = self.data
        n = len(data)
        out = array("Q")
        append = out.append
        count = self.vec_len()
        pos = self.pos
        for _ in range(count):
            entry = pos
            b = data[pos] if pos < n else -1
            if 0 <= b < 0x80:
                size = b
                pos += 1
            elif b > 0 and pos + 1 < n and data[pos + 1] < 0x80:
                size = (b & 0x7F) | (data[pos + 1] << 7)     # most sizes: two bytes
                pos += 2
            else:
                size, pos = read_unsigned(data, pos, 32)
            if size > n - pos:
                raise DecodeError("length out of bounds", entry)
            append(entry)
            append(pos)
            pos += size
            append(pos)
        self.pos = pos
        return out

    def data_section(self) -> None:
        data = self.data
        for _ in range(self.vec_len()):
            fpos = self.pos
            flags = self.u32()
            memory = 0
            offset = None
            if flags == 0:
                offset = self.const_expr()
            elif flags == 2:
                memory = self.u32()
                offset = self.const_expr()
            elif flags != 1:
                raise DecodeError("malformed data segment kind", fpos)
            n = self.u32()
            if self.pos + n > len(data):
                raise _eos(data)
            init = data[self.pos:self.pos + n]
            self.pos += n
            self.info.datas.append(
                DataSegment("passive" if flags == 1 else "active", init, memory, offset))

    def custom_section(self, end: int) -> None:
        name = self.name()
        if self.pos > end:
            raise DecodeError(EOS_MESSAGE, end)
        payload = self.data[self.pos:end]
        self.pos = end
        self.info.customs.append((name, payload))
        if name == "name":
            if self.lazy_code:
                self.info.names = _LazyNames(payload)
                return
            names = _parse_name_section(payload)
            if names is not None:
                self.info.names = names

    # -- module -----------------------------------------------------------------------
    def module(self) -> ModuleInfo:
        try:
            return self._module()
        except DecodeError as err:
            # The reference interpreter decodes function bodies as part of the code
            # section, so an error inside a body is reported before any later one.
            for code in self.info.codes:
                if code.body_start >= err.offset:
                    break
                try:
                    read_instructions(self.data, code.body_start, code.body_end,
                                      multi_memory=self.memory64, memory64=self.memory64)
                except DecodeError as body_err:
                    raise body_err from err
            raise

    def _module(self) -> ModuleInfo:
        data = self.data
        n = len(data)
        if n < 4:
            raise DecodeError("unexpected end", n)
        if data[:4] != WASM_MAGIC:
            raise DecodeError("magic header not detected", 0)
        if n < 8:
            raise DecodeError("unexpected end", n)
        if data[4:8] != WASM_VERSION:
            raise DecodeError("unknown binary version", 4)
        self.pos = 8
        handlers = {
            SEC_TYPE: self.type_section, SEC_IMPORT: self.import_section,
            SEC_FUNCTION: self.function_section, SEC_TABLE: self.table_section,
            SEC_MEMORY: self.memory_section, SEC_GLOBAL: self.global_section,
            SEC_EXPORT: self.export_section, SEC_START: self.start_section,
            SEC_ELEMENT: self.element_section, SEC_DATACOUNT: self.datacount_section,
            SEC_CODE: self.code_section, SEC_DATA: self.data_section,
        }
        last_rank = 0
        code_count = 0
        has_code = False
        has_data = False
        data_at = n
        while self.pos < n:
            id_pos = self.pos
            sid = data[id_pos]
            if sid > SEC_DATACOUNT:
                raise DecodeError("malformed section id", id_pos)
            self.pos += 1
            if sid != SEC_CUSTOM:
                rank = _SECTION_RANK[sid]
                if rank <= last_rank:
                    raise DecodeError("unexpected content after last section", id_pos)
                last_rank = rank
            if self.pos >= n:
                raise DecodeError("unexpected end", n)
            size = self.byte_len()
            start = self.pos
            end = start + size
            if sid == SEC_CUSTOM:
                self.custom_section(end)
            else:
                if sid == SEC_CODE:
                    self.code_section_offset = id_pos
                    has_code = True
                elif sid == SEC_DATA:
                    has_data = True
                    data_at = id_pos
                handlers[sid]()
                if sid == SEC_CODE:
                    code_count = len(self.info.codes)
            if self.pos != end:
                raise DecodeError("section size mismatch", start)
        info = self.info
        func_count = self.func_count or 0
        if func_count != code_count:
            at = self.code_section_offset if has_code else n
            raise DecodeError("function and code section have inconsistent lengths", at)
        if info.data_count is not None and info.data_count != len(info.datas):
            raise DecodeError("data count and data section have inconsistent lengths",
                              data_at if has_data else n)
        return info


def _parse_name_section(payload: bytes) -> Names | None:
    """The ``name`` custom section (spec §7.4.1); ``None`` when it is malformed (Wasmtime
    ignores a malformed name section)."""
    names = Names()
    d = _Decoder(payload)
    try:
        end = len(payload)
        while d.pos < end:
            sub = d.u8()
            size = d.byte_len()
            sub_end = d.pos + size
            if sub == 0:
                names.module = d.name()
            elif sub == 1:
                for _ in range(d.vec_len()):
                    idx = d.u32()
                    names.functions[idx] = d.name()
            elif sub == 2:
                for _ in range(d.vec_len()):
                    func = d.u32()
                    local_names = names.locals.setdefault(func, {})
                    for _ in range(d.vec_len()):
                        idx = d.u32()
                        local_names[idx] = d.name()
            else:
                d.pos = sub_end
            if d.pos != sub_end:
                return None
    except DecodeError:
        return None
    return names


def decode_module(data: bytes | bytearray | memoryview, *,
                  lazy_code: bool = False, memory64: bool = True) -> ModuleInfo:
    """Decode a binary module (spec §5.5) into a :class:`ModuleInfo`.

    Function bodies are not decoded: use :func:`read_function_body` (or
    :func:`read_instructions`) on ``info.codes``.  ``info.bytes`` is ``bytes(data)``; all
    offsets point into it.  Raises :class:`DecodeError` (messages in the module docstring).
    ``lazy_code``: for a module known to be valid, ``info.codes`` is a
    :class:`LazyCodes` (local declarations decoded on first use; their errors raised
    then).  ``memory64`` false decodes limits as WebAssembly 2.0 does (a ``u1`` flag,
    ``u32`` bounds; ``Features.memory64`` off); true, 3.0's flags byte with 64-bit tables
    and memories ("malformed limits flags" for unknown bits).
    """
    data = bytes(data)
    try:
        return _Decoder(data, lazy_code, memory64).module()
    except IndexError:
        raise _eos(data) from None
