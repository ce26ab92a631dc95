"""Parser of WebAssembly text modules (spec §6.4–6.6), encoding straight to binary (§5).

:class:`ModuleParser` reads the fields of one module from a token stream
(:mod:`wasmlite.text.lexer`) in two passes:

1. a scan of the fields that fills every index space (types, funcs, tables, memories,
   globals, elems, datas) with its identifiers — imports first, inline imports and the
   elem/data segments of the ``table``/``memory`` abbreviations included — and parses
   the type definitions;
2. a full parse of each field in textual order that resolves identifiers, expands the
   abbreviations (inline imports/exports, inline elem/data, implicit type definitions
   appended in order of appearance, folded instructions, ``offset``/``item``
   shorthands) and encodes the binary sections as it goes.

Function bodies are encoded directly into bytes; locals and labels are resolved while
the body is read.  The output follows the encoding choices of the ``wat`` crate used by
Wasmtime (shortest LEB128s, element segment flags, datacount section only when
``memory.init``/``data.drop`` occur, a ``name`` section with every identifier), so
modules usually come out byte-identical to ``wasmtime.wat2wasm``.

Errors are :class:`~wasmlite.text.errors.WatError` with the position of the token at
fault.
"""

from __future__ import annotations

from wasmlite.binary import opcodes as _op
from wasmlite.binary.leb128 import encode_signed, encode_unsigned
from wasmlite.environ.module import HT_EXTERN, HT_FUNC, REF_BASE, heap_type, nullable, ref_type
from wasmlite.text.errors import WatError
from wasmlite.text.lexer import ATOM, LPAREN, RPAREN, STRING, Tokens
from wasmlite.text.literals import (
    F32_FORMAT,
    F64_FORMAT,
    LiteralRangeError,
    parse_float_bits,
    parse_int,
    parse_uint,
)

__all__ = ["ModuleParser", "uleb", "sleb"]

VALTYPES = {"i32": 0x7F, "i64": 0x7E, "f32": 0x7D, "f64": 0x7C, "v128": 0x7B,
            "funcref": 0x70, "externref": 0x6F}
REFTYPES = {"funcref": 0x70, "externref": 0x6F}
HEAPTYPES = {"func": 0x70, "extern": 0x6F}
#: the GC proposal's heap types and reference-type abbreviations (not implemented)
_GC_HEAPTYPES = frozenset("any eq i31 struct array none nofunc noextern exn noexn".split())
_GC_REFTYPES = frozenset("anyref eqref i31ref structref arrayref nullref nullfuncref "
                         "nullexternref exnref nullexnref".split())


def encode_valtype(t: int) -> bytes:
    """The binary encoding of valtype ``t`` (see ``environ.module``): its byte, or
    ``0x63``/``0x64`` and the heap type for a typed reference type."""
    if t < REF_BASE:
        return bytes((t,))
    ht = heap_type(t)
    return (b"\x63" if nullable(t) else b"\x64") + sleb(ht)

_U32_MAX = 0xFFFFFFFF
_U64_MAX = (1 << 64) - 1

_ULEB_CACHE = [bytes((i,)) for i in range(128)]


def uleb(n: int) -> bytes:
    """Shortest unsigned LEB128 encoding of ``n >= 0``."""
    if n < 128:
        return _ULEB_CACHE[n]
    return encode_unsigned(n)


def sleb(n: int) -> bytes:
    """Shortest signed LEB128 encoding of ``n``."""
    if 0 <= n < 64:
        return _ULEB_CACHE[n]
    return encode_signed(n)


def _name_bytes(s: bytes) -> bytes:
    return uleb(len(s)) + s


def _opcode_prefix(op: int) -> bytes:
    if op < 0x100:
        return bytes((op,))
    if op < 0x10000:
        return b"\xfc" + uleb(op & 0xFF)
    return b"\xfd" + uleb(op - 0xFD000)


# name -> (encoded opcode, immediate kind, opcode)
_INSTRS: dict[str, tuple[bytes, int, int]] = {}
for _opc, _nm in _op.OPCODE_NAMES.items():
    if _opc in (_op.SELECT, _op.SELECT_T, _op.ELSE, _op.END, _op.BLOCK, _op.LOOP, _op.IF):
        continue
    _INSTRS[_nm] = (_opcode_prefix(_opc), _op.IMMEDIATE_KINDS[_opc], _opc)

_LOCAL_OPS = {_op.LOCAL_GET, _op.LOCAL_SET, _op.LOCAL_TEE}
_GLOBAL_OPS = {_op.GLOBAL_GET, _op.GLOBAL_SET}
_TABLE_OPS = {_op.TABLE_GET, _op.TABLE_SET, _op.TABLE_GROW, _op.TABLE_SIZE, _op.TABLE_FILL}
_BLOCK_OPS = {"block": 0x02, "loop": 0x03, "if": 0x04}

# v128.const shapes: lane count, bits, float format
_SHAPES = {"i8x16": (16, 8, None), "i16x8": (8, 16, None), "i32x4": (4, 32, None),
           "i64x2": (2, 64, None), "f32x4": (4, 32, F32_FORMAT), "f64x2": (2, 64, F64_FORMAT)}

_SPACE_NAMES = ("type", "func", "table", "memory", "global", "elem", "data")
T_TYPE, T_FUNC, T_TABLE, T_MEMORY, T_GLOBAL, T_ELEM, T_DATA = range(7)
_EXTERN_SPACE = {"func": T_FUNC, "table": T_TABLE, "memory": T_MEMORY, "global": T_GLOBAL}
_EXTERN_KIND = {"func": 0, "table": 1, "memory": 2, "global": 3}


class _Space:
    """One index space: a counter and the identifiers bound in it."""

    __slots__ = ("kind", "count", "names", "ids")

    def __init__(self, kind: str):
        self.kind = kind
        self.count = 0
        self.names: dict[str, int] = {}
        self.ids: dict[int, str] = {}


class _FuncCtx:
    """Per-body state: local identifiers, label stack, label numbering for names."""

    __slots__ = ("locals", "labels", "label_count", "label_names", "local_types")

    def __init__(self, local_names: dict[str, int] | None, local_types: list[int] | None):
        self.locals = local_names
        self.local_types = local_types
        self.labels: list[str | None] = []
        self.label_count = 0
        self.label_names: list[tuple[int, str]] = []


class ModuleParser:
    """Parse one module's fields from ``tokens[start:]`` and encode it (see module doc).

    ``start`` is the index of the first field token; parsing stops at the ``)`` closing
    the module (``inline=False``, the ``(module ...)`` form) or at the end of the tokens
    (``inline=True``, a module given as a bare list of fields, spec §6.6.13).  ``name``
    is the module's identifier (for the ``name`` section).  After :meth:`encode`,
    ``end`` is the index just past the closing ``)``.
    """

    def __init__(self, tokens: Tokens, start: int, *, inline: bool = False,
                 name: str | None = None, memory64: bool = True):
        #: WebAssembly 3.0's memory64 grammar: u64 limits and offsets, ``i64`` memories
        #: and tables (false: 2.0's u32 ones)
        self.memory64 = memory64
        self.toks = tokens
        self.k = tokens.kinds
        self.v = tokens.values
        self.i = start
        self.start = start
        self.inline = inline
        self.module_name = name
        self.end = start
        self.spaces = [_Space(n) for n in _SPACE_NAMES]
        self.types: list[tuple[tuple[int, ...], tuple[int, ...]]] = []
        self.type_field_names: dict[int, list[tuple[int, str]]] = {}
        self.imports: list[bytes] = []
        self.func_types: list[int] = []
        self.codes: list[bytes] = []
        self.tables: list[bytes] = []
        self.memories: list[bytes] = []
        self.globals: list[bytes] = []
        self.exports: list[bytes] = []
        self.start_func: int | None = None
        self.elems: list[bytes] = []
        self.datas: list[bytes] = []
        self.uses_data_count = False
        self.local_names: dict[int, list[tuple[int, str]]] = {}
        self._last_params: tuple[int, ...] = ()  # inline params of the last typeuse
        self._last_param_pos: dict[int, int] = {}  # their identifiers' token indices
        self.label_names: dict[int, list[tuple[int, str]]] = {}

    # -- token helpers ------------------------------------------------------------------
    def error(self, message: str, index: int | None = None) -> WatError:
        return self.toks.error(message, self.i if index is None else index)

    def _unexpected(self) -> WatError:
        i = self.i
        if i >= len(self.k):
            return self.error("unexpected end of input")
        kind = self.k[i]
        if kind == ATOM:
            return self.error(f"unexpected token {self.v[i]!r}")
        if kind == STRING:
            return self.error("unexpected token (string)")
        return self.error("unexpected token " + ("'('" if kind == LPAREN else "')'"))

    def _kind(self, off: int = 0) -> int:
        i = self.i + off
        return self.k[i] if i < len(self.k) else -1

    def _atom(self, off: int = 0) -> str | None:
        i = self.i + off
        if i < len(self.k) and self.k[i] == ATOM:
            return self.v[i]
        return None

    def _at_lp_kw(self, kw: str) -> bool:
        i = self.i
        k = self.k
        return (i + 1 < len(k) and k[i] == LPAREN and k[i + 1] == ATOM
                and self.v[i + 1] == kw)

    def _lp(self) -> None:
        if self._kind() != LPAREN:
            raise self._unexpected()
        self.i += 1

    def _rp(self) -> None:
        if self._kind() != RPAREN:
            raise self._unexpected()
        self.i += 1

    def _keyword(self, kw: str) -> None:
        if self._atom() != kw:
            raise self._unexpected()
        self.i += 1

    def _id(self) -> str | None:
        a = self._atom()
        if a is not None and a[0] == "$":
            if len(a) == 1:
                raise self.error("empty identifier")
            self.i += 1
            return a
        return None

    def _string(self) -> bytes:
        if self._kind() != STRING:
            raise self._unexpected()
        s = self.v[self.i]
        self.i += 1
        return s

    def _name(self) -> bytes:
        i = self.i
        s = self._string()
        try:
            s.decode("utf-8")
        except UnicodeDecodeError:
            raise self.error("malformed UTF-8 encoding", i) from None
        return s

    def _u32(self) -> int:
        a = self._atom()
        v = parse_uint(a) if a is not None else None
        if v is None:
            raise self._unexpected()
        if v > _U32_MAX:
            raise self.error("constant out of range: i32 constant")
        self.i += 1
        return v

    def _skip_group(self) -> None:
        """Skip from just inside a ``(`` to just past its matching ``)``."""
        depth = 1
        k = self.k
        i = self.i
        n = len(k)
        while depth:
            if i >= n:
                self.i = i
                raise self.error("unexpected end of input: unclosed '('")
            t = k[i]
            if t == LPAREN:
                depth += 1
            elif t == RPAREN:
                depth -= 1
            i += 1
        self.i = i

    def _valtype(self) -> int:
        a = self._atom()
        t = VALTYPES.get(a) if a is not None else None
        if t is None:
            if a is None and self._at_lp_kw("ref"):
                return self._ref()
            if a in _GC_REFTYPES:
                raise self.error(f"unsupported type {a}: the GC proposal is not "
                                 "implemented")
            raise self._unexpected()
        self.i += 1
        return t

    def _reftype(self) -> int:
        a = self._atom()
        t = REFTYPES.get(a) if a is not None else None
        if t is None:
            if a is None and self._at_lp_kw("ref"):
                return self._ref()
            if a in _GC_REFTYPES:
                raise self.error(f"unsupported type {a}: the GC proposal is not "
                                 "implemented")
            raise self._unexpected()
        self.i += 1
        return t

    def _at_valtype(self) -> bool:
        """Whether a valtype starts here (an atom or ``(ref ...)``)."""
        return self._kind() == ATOM or self._at_lp_kw("ref")

    def _at_reftype(self, off: int = 0) -> bool:
        return self._atom(off) in REFTYPES or self._at_lp_kw_off(off, "ref")

    def _ref(self) -> int:
        """``(ref null? heaptype)`` (typed function references)."""
        self.i += 2
        is_null = self._atom() == "null"
        if is_null:
            self.i += 1
        ht = self._heaptype()
        self._rp()
        return ref_type(is_null, ht)

    def _heaptype(self) -> int:
        """``func``, ``extern`` or a type index: ``HT_FUNC``, ``HT_EXTERN`` or the index."""
        a = self._atom()
        if a == "func":
            self.i += 1
            return HT_FUNC
        if a == "extern":
            self.i += 1
            return HT_EXTERN
        if a in _GC_HEAPTYPES:
            raise self.error(f"unsupported heap type {a}: the GC proposal is not "
                             "implemented")
        if a is not None and self._is_index():
            return self._index(T_TYPE)
        raise self._unexpected()

    def _is_index(self, off: int = 0) -> bool:
        a = self._atom(off)
        return a is not None and (a[0] == "$" or parse_uint(a) is not None)

    def _index(self, space: int) -> int:
        """Read an index (number or identifier) into index space ``space``."""
        a = self._atom()
        if a is None:
            raise self._unexpected()
        sp = self.spaces[space]
        if a[0] == "$":
            idx = sp.names.get(a)
            if idx is None:
                raise self.error(f"unknown {sp.kind} {a}")
            self.i += 1
            return idx
        return self._u32()

    # -- pass 1: index spaces -----------------------------------------------------------
    def _bind(self, space: int, ident: str | None, at: int) -> int:
        sp = self.spaces[space]
        idx = sp.count
        sp.count += 1
        if ident is not None:
            if ident in sp.names:
                raise self.error(f"duplicate {sp.kind} {ident}", at)
            sp.names[ident] = idx
            sp.ids[idx] = ident
        return idx

    def _scan(self) -> list[tuple[str, int, int, int]]:
        """Pass 1: returns ``(field keyword, token index of '(', index, extra)``."""
        fields: list[tuple[str, int, int, int]] = []
        defined = None  # keyword of the first function/table/memory/global definition
        has_start = False
        k = self.k
        n = len(k)
        while True:
            if self.i >= n:
                if self.inline:
                    self.end = self.i
                    return fields
                raise self.error("unexpected end of input: unclosed module")
            if k[self.i] == RPAREN and not self.inline:
                self.i += 1
                self.end = self.i
                return fields
            if k[self.i] != LPAREN or self._kind(1) != ATOM:
                raise self._unexpected()
            at = self.i
            kw = self.v[at + 1]
            self.i += 2
            extra = -1
            if kw == "type":
                ident = self._id()
                idx = self._bind(T_TYPE, ident, at + 2)
                self._lp()
                self._keyword("func")
                params, results, pnames = self._sig(allow_ids=True)
                self._rp()
                self._rp()
                self.types.append((tuple(params), tuple(results)))
                named = [(j, nm) for j, nm in enumerate(pnames) if nm is not None]
                if named:
                    self.type_field_names[idx] = named
                fields.append((kw, at, idx, extra))
                continue
            if kw == "import":
                self._name()
                self._name()
                self._lp()
                desc = self._atom()
                if desc not in _EXTERN_SPACE:
                    raise self._unexpected()
                if defined is not None:
                    raise self.error(f"import after {defined}", at)
                self.i += 1
                ident = self._id()
                idx = self._bind(_EXTERN_SPACE[desc], ident, at)
                self._skip_group()
                self._rp()
                fields.append((kw, at, idx, extra))
                continue
            if kw in _EXTERN_SPACE:
                ident = self._id()
                while self._at_lp_kw("export"):
                    self.i += 1
                    self._skip_group()
                is_import = self._at_lp_kw("import")
                if is_import:
                    if defined is not None:
                        raise self.error(f"import after {defined}", at)
                elif defined is None:
                    defined = kw
                idx = self._bind(_EXTERN_SPACE[kw], ident, at + 2)
                if not is_import:
                    # an address type (memory64) may come first
                    skip = 1 if self._atom() in ("i32", "i64") else 0
                    if kw == "table":
                        rskip = skip + 1
                        if self._at_lp_kw_off(skip, "ref"):   # (ref null? ht)
                            rskip = skip + (5 if self._atom(skip + 2) == "null" else 4)
                        if self._at_reftype(skip) and \
                                self._at_lp_kw_off(rskip, "elem"):
                            extra = self._bind(T_ELEM, None, at)
                    elif kw == "memory":
                        if self._at_lp_kw_off(skip, "data"):
                            extra = self._bind(T_DATA, None, at)
                self._skip_group()
                fields.append((kw, at, idx, extra))
                continue
            if kw in ("elem", "data"):
                ident = self._id()
                idx = self._bind(T_ELEM if kw == "elem" else T_DATA, ident, at + 2)
                self._skip_group()
                fields.append((kw, at, idx, extra))
                continue
            if kw == "export":
                self._skip_group()
                fields.append((kw, at, -1, extra))
                continue
            if kw == "start":
                if has_start:
                    raise self.error("multiple start sections", at)
                has_start = True
                self._skip_group()
                fields.append((kw, at, -1, extra))
                continue
            raise self.error(f"unexpected token: unknown module field {kw!r}", at + 1)

    def _at_lp_kw_off(self, off: int, kw: str) -> bool:
        i = self.i + off
        k = self.k
        return (i + 1 < len(k) and k[i] == LPAREN and k[i + 1] == ATOM
                and self.v[i + 1] == kw)

    # -- types --------------------------------------------------------------------------
    def _sig(self, allow_ids: bool) -> tuple[list[int], list[int], list[str | None]]:
        """``(param ...)* (result ...)*``: params, results, param identifiers."""
        params: list[int] = []
        names: list[str | None] = []
        self._last_param_pos: dict[int, int] = {}
        while self._at_lp_kw("param"):
            self.i += 2
            at = self.i
            ident = self._id()
            if ident is not None:
                if not allow_ids:
                    raise self.error("unexpected token: identifier not allowed here", at)
                params.append(self._valtype())
                names.append(ident)
                self._last_param_pos[len(params) - 1] = at
            else:
                while self._at_valtype():
                    params.append(self._valtype())
                    names.append(None)
            self._rp()
        results: list[int] = []
        while self._at_lp_kw("result"):
            self.i += 2
            while self._at_valtype():
                results.append(self._valtype())
            self._rp()
        if results and self._at_lp_kw("param"):
            raise self.error("unexpected token: param after result")
        return params, results, names

    def _type_for(self, params: tuple[int, ...], results: tuple[int, ...]) -> int:
        """The first type equal to ``params -> results``, appended if there is none."""
        ft = (params, results)
        try:
            return self.types.index(ft)
        except ValueError:
            self.types.append(ft)
            return len(self.types) - 1

    def _typeuse(self, allow_ids: bool = True) -> tuple[int, list[str | None] | None]:
        """``typeuse`` (spec §6.6.3): ``(typeidx, param identifiers or None)``.

        Without ``(type x)`` the inline signature's type is looked up or appended.  With
        both, they must agree ("inline function type").
        """
        idx = None
        if self._at_lp_kw("type"):
            self.i += 2
            at = self.i
            idx = self._index(T_TYPE)
            self._rp()
        at = self.i
        params, results, names = self._sig(allow_ids)
        self._last_params = tuple(params)
        if idx is not None:
            if idx >= len(self.types):
                if params or results:
                    raise self.error(f"unknown type {idx}", at)
                # not defined: an invalid module, left to the validator
                return idx, names
            if (params or results) and self.types[idx] != (tuple(params), tuple(results)):
                raise self.error("inline function type doesn't match type", at)
            return idx, (names if params else None)
        return self._type_for(tuple(params), tuple(results)), names

    def _limits(self, is64: bool = False) -> bytes:
        """``limits``: ``min max?`` (u32s in 2.0, larger values are malformed; u64s with
        ``memory64``, left to the validator), with the flags byte: bit 0 a maximum, bit
        2 a 64-bit memory or table."""
        read = self._u64 if self.memory64 else self._u32
        lo = read()
        flags = 0x04 if is64 else 0
        if self._kind() == ATOM and parse_uint(self._atom()) is not None:
            hi = read()
            return bytes((flags | 1,)) + uleb(lo) + uleb(hi)
        return bytes((flags,)) + uleb(lo)

    def _u64(self) -> int:
        a = self._atom()
        v = parse_uint(a) if a is not None else None
        if v is None:
            raise self._unexpected()
        if v >= 1 << 64:
            raise self.error("constant out of range: i64 constant")
        self.i += 1
        return v

    def _addr64(self) -> bool:
        """An address type: ``i64`` (memory64) read, else ``i32`` or nothing."""
        a = self._atom()
        if a == "i64" and self.memory64:
            self.i += 1
            return True
        if a == "i32" and self.memory64:
            self.i += 1
        return False

    def _tabletype(self) -> bytes:
        is64 = self._addr64()
        lim = self._limits(is64)
        return encode_valtype(self._reftype()) + lim

    def _globaltype(self) -> bytes:
        if self._at_lp_kw("mut"):
            self.i += 2
            t = self._valtype()
            self._rp()
            return encode_valtype(t) + b"\x01"
        return encode_valtype(self._valtype()) + b"\x00"

    # -- pass 2 -------------------------------------------------------------------------
    def parse(self) -> ModuleParser:
        """Run both passes; afterwards :meth:`encode` gives the binary."""
        try:
            return self._parse()
        except RecursionError:
            raise self.error("expression nesting too deep") from None

    def _parse(self) -> ModuleParser:
        fields = self._scan()
        end = self.i
        handlers = {"type": None, "import": self._import, "func": self._func,
                    "table": self._table, "memory": self._memory, "global": self._global,
                    "export": self._export, "start": self._start, "elem": self._elem,
                    "data": self._data}
        for kw, at, idx, extra in fields:
            h = handlers[kw]
            if h is None:
                continue
            self.i = at + 2
            h(idx, extra)
        self.i = end
        return self

    def _inline_exports(self, kind: str, idx: int) -> None:
        while self._at_lp_kw("export"):
            self.i += 2
            at = self.i
            name = self._name()
            self._rp()
            self._add_export(name, _EXTERN_KIND[kind], idx, at)

    def _add_export(self, name: bytes, kind: int, idx: int, at: int) -> None:
        self.exports.append(_name_bytes(name) + bytes((kind,)) + uleb(idx))

    def _import_desc(self, kind: str, idx: int) -> bytes:
        if kind == "func":
            tidx, names = self._typeuse()
            if names:
                named = [(j, nm) for j, nm in enumerate(names) if nm is not None]
                if named:
                    self.local_names[idx] = named
            return b"\x00" + uleb(tidx)
        if kind == "table":
            return b"\x01" + self._tabletype()
        if kind == "memory":
            return b"\x02" + self._limits(self._addr64())
        return b"\x03" + self._globaltype()

    def _import(self, idx: int, extra: int) -> None:
        mod = self._name()
        nm = self._name()
        self._lp()
        kind = self._atom()
        self.i += 1
        self._id()
        desc = self._import_desc(kind, idx)
        self._rp()
        self._rp()
        self.imports.append(_name_bytes(mod) + _name_bytes(nm) + desc)

    def _inline_import(self, kind: str, idx: int) -> bool:
        if not self._at_lp_kw("import"):
            return False
        self.i += 2
        mod = self._name()
        nm = self._name()
        self._rp()
        desc = self._import_desc(kind, idx)
        self._rp()
        self.imports.append(_name_bytes(mod) + _name_bytes(nm) + desc)
        return True

    def _func(self, idx: int, extra: int) -> None:
        self._id()
        self._inline_exports("func", idx)
        if self._inline_import("func", idx):
            return
        tidx, pnames = self._typeuse()
        self.func_types.append(tidx)
        if tidx < len(self.types):
            params = self.types[tidx][0]
        else:  # unknown type: an invalid module, only the inline params are known
            params = self._last_params
        local_names: dict[str, int] = {}
        named: list[tuple[int, str]] = []
        if pnames:
            for j, nm in enumerate(pnames):
                if nm is not None:
                    if nm in local_names:
                        raise self.error(f"duplicate local {nm}", self._last_param_pos[j])
                    local_names[nm] = j
                    named.append((j, nm))
        local_types = list(params)
        while self._at_lp_kw("local"):
            self.i += 2
            at = self.i
            ident = self._id()
            if ident is not None:
                if ident in local_names:
                    raise self.error(f"duplicate local {ident}", at)
                local_names[ident] = len(local_types)
                named.append((len(local_types), ident))
                local_types.append(self._valtype())
            else:
                while self._at_valtype():
                    local_types.append(self._valtype())
            self._rp()
        if named:
            self.local_names[idx] = named
        ctx = _FuncCtx(local_names, local_types)
        body = bytearray()
        # local declarations, consecutive equal types grouped
        groups: list[list[int]] = []
        for t in local_types[len(params):]:
            if groups and groups[-1][1] == t:
                groups[-1][0] += 1
            else:
                groups.append([1, t])
        body += uleb(len(groups))
        for cnt, t in groups:
            body += uleb(cnt)
            body += encode_valtype(t)
        self._instrs(body, ctx)
        self._rp()
        body.append(0x0B)
        if ctx.label_names:
            self.label_names[idx] = ctx.label_names
        self.codes.append(uleb(len(body)) + bytes(body))

    def _table(self, idx: int, extra: int) -> None:
        self._id()
        self._inline_exports("table", idx)
        if self._inline_import("table", idx):
            return
        if extra >= 0:
            is64 = self._addr64()
            rt = self._reftype()
            self.i += 2  # '(' 'elem'
            items, count, is_exprs = self._elem_items(rt, inline=True)
            self._rp()
            self._rp()
            self.tables.append(encode_valtype(rt) + bytes((0x05 if is64 else 0x01,))
                               + uleb(count) + uleb(count))
            off = b"\x42\x00\x0b" if is64 else b"\x41\x00\x0b"
            if is_exprs:
                seg = b"\x06" + uleb(idx) + off + encode_valtype(rt)
            else:
                seg = b"\x02" + uleb(idx) + off + b"\x00"
            self.elems.append(seg + items)
            return
        tt = self._tabletype()
        if self._kind() == LPAREN:
            # an initializer expression (typed function references)
            out = bytearray(b"\x40\x00" + tt)
            self._instrs(out, _FuncCtx(None, None))
            out.append(0x0B)
            self.tables.append(bytes(out))
        else:
            self.tables.append(tt)
        self._rp()

    def _memory(self, idx: int, extra: int) -> None:
        self._id()
        self._inline_exports("memory", idx)
        if self._inline_import("memory", idx):
            return
        is64 = self._addr64()
        if extra >= 0:
            self.i += 2  # '(' 'data'
            data = bytearray()
            while self._kind() == STRING:
                data += self._string()
            self._rp()
            self._rp()
            pages = (len(data) + 65535) // 65536
            self.memories.append(bytes((0x05 if is64 else 0x01,)) + uleb(pages) + uleb(pages))
            head = b"\x00" if idx == 0 else b"\x02" + uleb(idx)
            off = b"\x42\x00\x0b" if is64 else b"\x41\x00\x0b"
            self.datas.append(head + off + uleb(len(data)) + bytes(data))
            return
        self.memories.append(self._limits(is64))
        self._rp()

    def _global(self, idx: int, extra: int) -> None:
        self._id()
        self._inline_exports("global", idx)
        if self._inline_import("global", idx):
            return
        gt = self._globaltype()
        out = bytearray(gt)
        self._instrs(out, _FuncCtx(None, None))
        out.append(0x0B)
        self._rp()
        self.globals.append(bytes(out))

    def _export(self, idx: int, extra: int) -> None:
        at = self.i
        name = self._name()
        self._lp()
        kind = self._atom()
        if kind not in _EXTERN_SPACE:
            raise self._unexpected()
        self.i += 1
        index = self._index(_EXTERN_SPACE[kind])
        self._rp()
        self._rp()
        self._add_export(name, _EXTERN_KIND[kind], index, at)

    def _start(self, idx: int, extra: int) -> None:
        self.start_func = self._index(T_FUNC)
        self._rp()

    def _const_expr(self) -> bytes:
        out = bytearray()
        self._instrs(out, _FuncCtx(None, None))
        out.append(0x0B)
        return bytes(out)

    def _offset(self) -> bytes:
        """``(offset expr)`` or a single folded instruction (spec §6.6.12 abbreviation)."""
        if self._at_lp_kw("offset"):
            self.i += 2
            e = self._const_expr()
            self._rp()
            return e
        out = bytearray()
        self._folded(out, _FuncCtx(None, None))
        out.append(0x0B)
        return bytes(out)

    def _elem_items(self, rt: int | None, inline: bool = False) -> tuple[bytes, int, bool]:
        """An element list: ``(encoded vec, count, True if expressions)``.

        ``rt`` is the reftype when the list was introduced by one (expressions
        follow), ``None`` for ``func`` or the bare ``funcidx*`` abbreviation.
        """
        out = bytearray()
        count = 0
        if rt is None or (inline and self._kind() != LPAREN):
            # in a table of a typed reference type, the wat crate writes ``ref.func``
            # expressions with the table's type
            as_exprs = inline and rt is not None and rt != 0x70
            while self._is_index():
                x = uleb(self._index(T_FUNC))
                out += b"\xd2" + x + b"\x0b" if as_exprs else x
                count += 1
            return uleb(count) + bytes(out), count, as_exprs
        while self._kind() == LPAREN:
            if self._at_lp_kw("item"):
                self.i += 2
                out += self._const_expr()
                self._rp()
            else:
                self._folded(out, _FuncCtx(None, None))
                out.append(0x0B)
            count += 1
        return uleb(count) + bytes(out), count, True

    def _elem(self, idx: int, extra: int) -> None:
        self._id()
        mode = "passive"
        table: int | None = None
        tableuse = False  # an explicit ``(table x)``
        offset = b""
        if self._atom() == "declare":
            self.i += 1
            mode = "declare"
        else:
            if self._at_lp_kw("table"):
                self.i += 2
                table = self._index(T_TABLE)
                self._rp()
                mode = "active"
                tableuse = True
            elif self._is_index() and self._kind(1) == LPAREN:
                table = self._index(T_TABLE)
                mode = "active"
            if self._kind() == LPAREN and not self._at_lp_kw("ref"):
                offset = self._offset()
                mode = "active"
            elif mode == "active":
                raise self._unexpected()
        a = self._atom()
        if a == "func":
            self.i += 1
            rt = None
        elif a in REFTYPES or self._at_lp_kw("ref"):
            rt = self._reftype()
        elif mode == "active" and not tableuse:
            rt = None  # abbreviation: funcidx* right after the offset
        else:
            raise self._unexpected()
        items, _count, is_exprs = self._elem_items(rt)
        self._rp()
        if mode == "active":
            if is_exprs:
                if table is None and rt == 0x70:
                    head = b"\x04" + offset
                else:
                    head = b"\x06" + uleb(table or 0) + offset + encode_valtype(rt)
            elif table is None:
                head = b"\x00" + offset
            else:
                head = b"\x02" + uleb(table) + offset + b"\x00"
        elif mode == "passive":
            head = b"\x05" + encode_valtype(rt) if is_exprs else b"\x01\x00"
        else:
            head = b"\x07" + encode_valtype(rt) if is_exprs else b"\x03\x00"
        self.elems.append(head + items)

    def _data(self, idx: int, extra: int) -> None:
        self._id()
        mem: int | None = None
        offset = None
        if self._at_lp_kw("memory"):
            self.i += 2
            mem = self._index(T_MEMORY)
            self._rp()
        elif self._is_index() and self._kind(1) == LPAREN:
            mem = self._index(T_MEMORY)
        if self._kind() == LPAREN:
            offset = self._offset()
        elif mem is not None:
            raise self._unexpected()
        data = bytearray()
        while self._kind() == STRING:
            data += self._string()
        self._rp()
        payload = uleb(len(data)) + bytes(data)
        if offset is None:
            self.datas.append(b"\x01" + payload)
        elif not mem:
            self.datas.append(b"\x00" + offset + payload)
        else:
            self.datas.append(b"\x02" + uleb(mem) + offset + payload)

    # -- instructions -------------------------------------------------------------------
    def _instrs(self, out: bytearray, ctx: _FuncCtx) -> None:
        """Read instructions (plain and folded) until ``)``, or an ``end``/``else`` that
        closes no block opened here (the caller's).

        Plain ``block``/``loop``/``if`` nest without recursion (an explicit stack), so
        deeply nested plain code is fine; folded forms recurse.
        """
        k = self.k
        v = self.v
        n = len(k)
        instrs = _INSTRS
        opened: list[list] = []  # plain blocks open here: [name, label, seen_else]
        while self.i < n:
            kind = k[self.i]
            if kind == ATOM:
                name = v[self.i]
                spec = instrs.get(name)
                if spec is not None and spec[1] == 0:
                    out += spec[0]
                    self.i += 1
                    continue
                if name == "end":
                    if not opened:
                        return
                    self.i += 1
                    self._end_label(opened.pop()[1])
                    ctx.labels.pop()
                    out.append(0x0B)
                    continue
                if name == "else":
                    if not opened:
                        return
                    blk = opened[-1]
                    if blk[0] != "if" or blk[2]:
                        raise self._unexpected()
                    blk[2] = True
                    self.i += 1
                    self._end_label(blk[1])
                    out.append(0x05)
                    continue
                self.i += 1
                if name in _BLOCK_OPS:
                    label = self._id()
                    bt = self._blocktype(ctx)
                    self._open_block(out, ctx, _BLOCK_OPS[name], label, bt)
                    opened.append([name, label, False])
                    continue
                out += self._plain(name, ctx, self.i - 1)
            elif kind == LPAREN:
                self._folded(out, ctx)
            elif opened:
                raise self.error("unexpected token ')': missing 'end'")
            else:
                return
        raise self.error("unexpected end of input")

    def _blocktype(self, ctx: _FuncCtx) -> bytes:
        if self._at_lp_kw("type"):
            tidx, _ = self._typeuse(allow_ids=False)
            return sleb(tidx)
        if not (self._at_lp_kw("param") or self._at_lp_kw("result")):
            return b"\x40"
        params, results, _ = self._sig(allow_ids=False)
        if not params:
            if not results:
                return b"\x40"
            if len(results) == 1:
                return encode_valtype(results[0])
        return sleb(self._type_for(tuple(params), tuple(results)))

    def _open_block(self, out: bytearray, ctx: _FuncCtx, op: int, label: str | None,
                    bt: bytes) -> None:
        out.append(op)
        out += bt
        if label is not None:
            ctx.label_names.append((ctx.label_count, label[1:]))
        ctx.label_count += 1
        ctx.labels.append(label)

    def _end_label(self, label: str | None) -> None:
        at = self.i
        ident = self._id()
        if ident is not None and ident != label:
            raise self.error("mismatching label", at)

    def _folded(self, out: bytearray, ctx: _FuncCtx) -> None:
        start = self.i
        self.i += 1
        name = self._atom()
        if name is None:
            raise self._unexpected()
        self.i += 1
        if name == "block" or name == "loop":
            label = self._id()
            bt = self._blocktype(ctx)
            self._open_block(out, ctx, _BLOCK_OPS[name], label, bt)
            self._instrs(out, ctx)
            self._rp()
            ctx.labels.pop()
            out.append(0x0B)
            return
        if name == "if":
            label = self._id()
            bt = self._blocktype(ctx)
            while self._kind() == LPAREN and not self._at_lp_kw("then"):
                self._folded(out, ctx)
            self._open_block(out, ctx, 0x04, label, bt)
            if not self._at_lp_kw("then"):
                raise self._unexpected()
            self.i += 2
            self._instrs(out, ctx)
            self._rp()
            if self._at_lp_kw("else"):
                self.i += 2
                out.append(0x05)
                self._instrs(out, ctx)
                self._rp()
            self._rp()
            ctx.labels.pop()
            out.append(0x0B)
            return
        spec = _INSTRS.get(name)
        if spec is not None and spec[1] == 0:
            imm = spec[0]
        else:
            imm = self._plain(name, ctx, start + 1)
        while self._kind() == LPAREN:
            self._folded(out, ctx)
        self._rp()
        out += imm

    def _label(self, ctx: _FuncCtx) -> int:
        a = self._atom()
        if a is None:
            raise self._unexpected()
        if a[0] == "$":
            labels = ctx.labels
            for depth in range(len(labels)):
                if labels[-1 - depth] == a:
                    self.i += 1
                    return depth
            raise self.error(f"unknown label {a}")
        return self._u32()

    def _local(self, ctx: _FuncCtx) -> int:
        a = self._atom()
        if a is not None and a[0] == "$":
            idx = ctx.locals.get(a) if ctx.locals is not None else None
            if idx is None:
                raise self.error(f"unknown local {a}")
            self.i += 1
            return idx
        return self._u32()

    def _memarg(self, natural: int, memidx: int = 0) -> bytes:
        """``offset=`` and ``align=`` as a binary ``memarg``; for memory ``memidx`` other
        than 0, flag bit 6 and the index (multi-memory)."""
        offset = 0
        align = 1 << natural
        a = self._atom()
        if a is not None and a.startswith("offset="):
            v = parse_uint(a[7:])
            if v is None:
                raise self._unexpected()
            if v > (_U64_MAX if self.memory64 else _U32_MAX):
                raise self.error("constant out of range: i32 constant (offset)")
            offset = v
            self.i += 1
            a = self._atom()
        if a is not None and a.startswith("align="):
            v = parse_uint(a[6:])
            if v is None:
                raise self._unexpected()
            if v == 0 or v & (v - 1):
                raise self.error("alignment must be a power of two")
            align = v
            self.i += 1
        if memidx:
            return uleb(0x40 | (align.bit_length() - 1)) + uleb(memidx) + uleb(offset)
        return uleb(align.bit_length() - 1) + uleb(offset)

    def _memidx(self) -> int:
        """An optional memory index (multi-memory), else 0."""
        return self._index(T_MEMORY) if self._is_index() else 0

    def _lane_memidx(self) -> int:
        """The optional memory index of ``v128.loadN_lane``/``storeN_lane``, which a
        lane index could otherwise be: an identifier, or a number followed by a memarg
        field or by the lane index."""
        a = self._atom()
        if a is None:
            return 0
        if a[0] == "$":
            return self._index(T_MEMORY)
        b = self._atom(1)
        if parse_uint(a) is not None and b is not None and (
                b.startswith(("offset=", "align=")) or parse_uint(b) is not None):
            return self._index(T_MEMORY)
        return 0

    def _lane(self) -> int:
        a = self._atom()
        v = parse_uint(a) if a is not None else None
        if v is None:
            raise self._unexpected()
        if v > 255:
            raise self.error("malformed lane index")
        self.i += 1
        return v

    def _num_literal(self, parse, *args) -> int:
        a = self._atom()
        if a is None:
            raise self._unexpected()
        try:
            v = parse(a, *args)
        except LiteralRangeError:
            raise self.error("constant out of range") from None
        if v is None:
            raise self.error(f"unexpected token {a!r}: expected a number")
        self.i += 1
        return v

    def _v128_const(self) -> bytes:
        shape = self._atom()
        if shape not in _SHAPES:
            raise self.error("unexpected token: expected a v128 shape")
        self.i += 1
        lanes, bits, fmt = _SHAPES[shape]
        out = bytearray()
        nbytes = bits // 8
        for _ in range(lanes):
            if self._kind() != ATOM:
                raise self.error("wrong number of lane literals")
            if fmt is None:
                v = self._num_literal(parse_int, bits)
                out += (v & ((1 << bits) - 1)).to_bytes(nbytes, "little")
            else:
                out += self._num_literal(parse_float_bits, fmt).to_bytes(nbytes, "little")
        return bytes(out)

    def _plain(self, name: str, ctx: _FuncCtx, at: int) -> bytes:
        """Immediates of plain instruction ``name`` (already consumed): its encoding."""
        if name == "select":
            if self._at_lp_kw("result"):
                types: list[int] = []
                while self._at_lp_kw("result"):
                    self.i += 2
                    while self._at_valtype():
                        types.append(self._valtype())
                    self._rp()
                return b"\x1c" + uleb(len(types)) + b"".join(map(encode_valtype, types))
            return b"\x1b"
        spec = _INSTRS.get(name)
        if spec is None:
            if name in _BLOCK_OPS:
                raise self.error("unexpected token: block instruction here", at)
            raise self.error(f"unknown operator {name!r}", at)
        prefix, kind, op = spec
        if kind == _op.IMM_NONE:
            return prefix
        if kind == _op.IMM_I32:
            return prefix + sleb(self._num_literal(parse_int, 32))
        if kind == _op.IMM_I64:
            return prefix + sleb(self._num_literal(parse_int, 64))
        if kind == _op.IMM_F32:
            return prefix + self._num_literal(parse_float_bits, F32_FORMAT).to_bytes(4, "little")
        if kind == _op.IMM_F64:
            return prefix + self._num_literal(parse_float_bits, F64_FORMAT).to_bytes(8, "little")
        if kind == _op.IMM_MEMARG:
            mem = self._memidx()
            return prefix + self._memarg(_op.MEMARG_NATURAL_ALIGN[op], mem)
        if kind == _op.IMM_INDEX:
            if op in _LOCAL_OPS:
                return prefix + uleb(self._local(ctx))
            if op in _GLOBAL_OPS:
                return prefix + uleb(self._index(T_GLOBAL))
            if op in _TABLE_OPS:
                return prefix + uleb(self._index(T_TABLE) if self._is_index() else 0)
            if op == _op.DATA_DROP:
                self.uses_data_count = True
                return prefix + uleb(self._index(T_DATA))
            if op == _op.CALL_REF or op == _op.RETURN_CALL_REF:
                return prefix + uleb(self._index(T_TYPE))
            return prefix + uleb(self._index(T_ELEM))
        if kind == _op.IMM_LABELIDX:
            return prefix + uleb(self._label(ctx))
        if kind == _op.IMM_FUNCIDX:
            return prefix + uleb(self._index(T_FUNC))
        if kind == _op.IMM_BR_TABLE:
            labels = [self._label(ctx)]
            while self._is_index():  # a label: u32 or $id (not the next keyword)
                labels.append(self._label(ctx))
            return (prefix + uleb(len(labels) - 1)
                    + b"".join(uleb(x) for x in labels))
        if kind == _op.IMM_CALL_INDIRECT:
            table = self._index(T_TABLE) if self._is_index() else 0
            tidx, _ = self._typeuse(allow_ids=False)
            return prefix + uleb(tidx) + uleb(table)
        if kind == _op.IMM_MEMIDX:
            return prefix + uleb(self._memidx())
        if kind == _op.IMM_REFTYPE:
            a = self._atom()
            t = HEAPTYPES.get(a) if a is not None else None
            if t is None:
                return prefix + sleb(self._heaptype())
            self.i += 1
            return prefix + bytes((t,))
        if kind == _op.IMM_LANE:
            return prefix + bytes((self._lane(),))
        if kind == _op.IMM_MEMARG_LANE:
            mem = self._lane_memidx()
            m = self._memarg(_op.MEMARG_NATURAL_ALIGN[op], mem)
            return prefix + m + bytes((self._lane(),))
        if kind == _op.IMM_V128:
            if op == _op.V128_CONST:
                return prefix + self._v128_const()
            lanes = bytearray()
            for _ in range(16):
                if self._kind() != ATOM:
                    raise self.error("invalid lane length")
                lanes.append(self._lane())
            if self._kind() == ATOM:
                raise self.error("invalid lane length")
            return prefix + bytes(lanes)
        if kind == _op.IMM_MEMORY_INIT:
            self.uses_data_count = True
            mem = self._index(T_MEMORY) if self._is_index(1) else 0
            return prefix + uleb(self._index(T_DATA)) + uleb(mem)
        if kind == _op.IMM_MEMORY_COPY:
            if self._is_index():
                dst = self._index(T_MEMORY)
                return prefix + uleb(dst) + uleb(self._index(T_MEMORY))
            return prefix + b"\x00\x00"
        if kind == _op.IMM_TABLE_INIT:
            first = self._index(T_ELEM) if not self._is_index(1) else None
            if first is not None:
                return prefix + uleb(first) + b"\x00"
            table = self._index(T_TABLE)
            return prefix + uleb(self._index(T_ELEM)) + uleb(table)
        if kind == _op.IMM_TABLE_COPY:
            if self._is_index():
                dst = self._index(T_TABLE)
                src = self._index(T_TABLE)
                return prefix + uleb(dst) + uleb(src)
            return prefix + b"\x00\x00"
        raise self.error(f"unknown operator {name!r}", at)  # pragma: no cover

    # -- encoding -----------------------------------------------------------------------
    def encode(self) -> bytes:
        """The binary module (spec §5.5), with a ``name`` custom section."""
        out = bytearray(b"\x00asm\x01\x00\x00\x00")

        def section(sid: int, items: list[bytes]) -> None:
            if not items:
                return
            body = uleb(len(items)) + b"".join(items)
            out.append(sid)
            out.extend(uleb(len(body)))
            out.extend(body)

        types = [b"\x60" + uleb(len(p)) + b"".join(map(encode_valtype, p)) + uleb(len(r))
                 + b"".join(map(encode_valtype, r)) for p, r in self.types]
        section(1, types)
        section(2, self.imports)
        section(3, [uleb(t) for t in self.func_types])
        section(4, self.tables)
        section(5, self.memories)
        section(6, self.globals)
        section(7, self.exports)
        if self.start_func is not None:
            body = uleb(self.start_func)
            out.append(8)
            out += uleb(len(body)) + body
        section(9, self.elems)
        if self.uses_data_count:
            body = uleb(len(self.datas))
            out.append(12)
            out += uleb(len(body)) + body
        section(10, self.codes)
        section(11, self.datas)
        names = self._name_section()
        if names:
            payload = _name_bytes(b"name") + names
            out.append(0)
            out += uleb(len(payload)) + payload
        return bytes(out)

    def _name_section(self) -> bytes:
        subs = bytearray()

        def sub(sid: int, body: bytes) -> None:
            subs.append(sid)
            subs.extend(uleb(len(body)))
            subs.extend(body)

        def namemap(entries: list[tuple[int, str]]) -> bytes:
            return uleb(len(entries)) + b"".join(
                uleb(i) + _name_bytes(nm.encode()) for i, nm in entries)

        def indirect(table: dict[int, list[tuple[int, str]]]) -> bytes:
            items = sorted(table.items())
            return uleb(len(items)) + b"".join(uleb(i) + namemap(m) for i, m in items)

        if self.module_name is not None:
            sub(0, _name_bytes(self.module_name[1:].encode()))
        fn = self.spaces[T_FUNC].ids
        if fn:
            sub(1, namemap([(i, n[1:]) for i, n in sorted(fn.items())]))
        if self.local_names:
            sub(2, indirect({i: [(j, n[1:]) for j, n in m]
                             for i, m in self.local_names.items()}))
        if self.label_names:
            sub(3, indirect(self.label_names))
        for sid, space in ((4, T_TYPE), (5, T_TABLE), (6, T_MEMORY), (7, T_GLOBAL),
                           (8, T_ELEM), (9, T_DATA)):
            ids = self.spaces[space].ids
            if ids:
                sub(sid, namemap([(i, n[1:]) for i, n in sorted(ids.items())]))
        if self.type_field_names:
            sub(12, indirect({i: [(j, n[1:]) for j, n in m]
                              for i, m in self.type_field_names.items()}))
        return bytes(subs)
