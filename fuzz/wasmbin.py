"""Just enough of the WebAssembly binary format for the fuzzer.

* :func:`parse_interface` reads a module's type, import and export sections
  (spec §5.5.4, §5.5.5, §5.5.10) into an :class:`Interface`: what the module imports
  and which exports are functions it defines.
* :func:`provider_module` encodes the module that defines every import with a default
  value: functions that return zeros of their result types, globals holding 0 / null,
  memories and tables of the import's limits (minimum size, null elements).  The
  fuzzer instantiates it first and passes its exports, in import order, to the module
  under test, so both runtimes see the very same imports.

Only the WebAssembly 2.0 forms are understood (``wasm-tools smith`` with GC,
function references, memory64, threads and custom page sizes off produces no others);
anything else raises :class:`Unsupported`.  This deliberately does not use wasmlite's
decoder: the fuzzer must not trust the code under test to describe its own input.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: valtype byte -> name (spec §5.3.4), as wasmtime-py's ``str(ValType)`` prints them
VALTYPES = {0x7F: "i32", 0x7E: "i64", 0x7D: "f32", 0x7C: "f64", 0x7B: "v128",
            0x70: "funcref", 0x6F: "externref"}
REFTYPES = (0x70, 0x6F)


class Unsupported(Exception):
    """The module uses a binary form this parser does not know (or is malformed)."""


@dataclass(frozen=True)
class FuncSig:
    """A function type: valtype bytes of the parameters and results."""

    params: tuple[int, ...]
    results: tuple[int, ...]


@dataclass(frozen=True)
class Import:
    """One import: ``kind`` is ``"func"`` (``desc`` a :class:`FuncSig`), ``"table"``
    (``(reftype, min, max|None, 64-bit)``), ``"memory"`` (``(min, max|None, 64-bit)``) or
    ``"global"``
    (``(valtype, mutable)``)."""

    module: str
    name: str
    kind: str
    desc: object


@dataclass
class Interface:
    """What the fuzzer needs to know of a module: its imports (in order), the type of
    every function (by funcidx, imported ones first) and the exports as ``(name, kind
    byte, index)``."""

    imports: list[Import] = field(default_factory=list)
    funcs: list[FuncSig] = field(default_factory=list)
    exports: list[tuple[str, int, int]] = field(default_factory=list)

    @property
    def imported_funcs(self) -> int:
        return sum(1 for i in self.imports if i.kind == "func")

    def exported_funcs(self) -> list[tuple[str, FuncSig]]:
        """``(name, type)`` of each exported function, in export order."""
        return [(name, self.funcs[idx]) for name, kind, idx in self.exports if kind == 0]

    def defined_func_exports(self) -> dict[int, str]:
        """funcidx -> first export name, for exported functions the module defines."""
        out: dict[int, str] = {}
        n = self.imported_funcs
        for name, kind, idx in self.exports:
            if kind == 0 and idx >= n and idx not in out:
                out[idx] = name
        return out


class _Reader:
    def __init__(self, data: bytes, pos: int = 0, end: int | None = None):
        self.data = data
        self.pos = pos
        self.end = len(data) if end is None else end

    def byte(self) -> int:
        if self.pos >= self.end:
            raise Unsupported("unexpected end")
        b = self.data[self.pos]
        self.pos += 1
        return b

    def u32(self, bits: int = 32) -> int:
        """An unsigned LEB128 of at most ``bits`` bits (its byte count only is checked)."""
        result = shift = 0
        while True:
            b = self.byte()
            result |= (b & 0x7F) << shift
            if not b & 0x80:
                return result
            shift += 7
            if shift > bits + 3:
                raise Unsupported("LEB128 too long")

    def name(self) -> str:
        n = self.u32()
        if self.pos + n > self.end:
            raise Unsupported("unexpected end")
        raw = self.data[self.pos:self.pos + n]
        self.pos += n
        return raw.decode("utf-8", errors="surrogateescape")

    def valtype(self) -> int:
        b = self.byte()
        if b not in VALTYPES:
            raise Unsupported(f"valtype {b:#x}")
        return b

    def limits(self) -> tuple[int, int | None, bool]:
        """``(min, max or None, 64-bit)``: the 3.0 limits of a table or memory (flag bit 0
        a maximum, bit 2 64-bit: memory64; shared memories are not supported)."""
        flag = self.byte()
        if flag not in (0, 1, 4, 5):
            raise Unsupported(f"limits flag {flag:#x}")
        mn = self.u32(64)
        return mn, (self.u32(64) if flag & 1 else None), bool(flag & 4)


def parse_interface(wasm: bytes) -> Interface:
    """Read the imports and exports of ``wasm``; raises :class:`Unsupported`."""
    if wasm[:8] != b"\0asm\1\0\0\0":
        raise Unsupported("not a core module")
    r = _Reader(wasm, 8)
    types: list[FuncSig] = []
    iface = Interface()
    while r.pos < r.end:
        sid = r.byte()
        size = r.u32()
        s = _Reader(wasm, r.pos, r.pos + size)
        r.pos += size
        if sid == 1:
            for _ in range(s.u32()):
                form = s.byte()
                if form != 0x60:
                    raise Unsupported(f"type form {form:#x}")
                params = tuple(s.valtype() for _ in range(s.u32()))
                results = tuple(s.valtype() for _ in range(s.u32()))
                types.append(FuncSig(params, results))
        elif sid == 2:
            for _ in range(s.u32()):
                mod, name, kind = s.name(), s.name(), s.byte()
                if kind == 0:
                    t = s.u32()
                    if t >= len(types):
                        raise Unsupported("unknown type")
                    iface.imports.append(Import(mod, name, "func", types[t]))
                    iface.funcs.append(types[t])
                elif kind == 1:
                    rt = s.valtype()
                    if rt not in REFTYPES:
                        raise Unsupported("table of non-reference type")
                    mn, mx, is64 = s.limits()
                    iface.imports.append(Import(mod, name, "table", (rt, mn, mx, is64)))
                elif kind == 2:
                    iface.imports.append(Import(mod, name, "memory", s.limits()))
                elif kind == 3:
                    vt = s.valtype()
                    mut = s.byte()
                    if mut not in (0, 1):
                        raise Unsupported("global mutability")
                    iface.imports.append(Import(mod, name, "global", (vt, bool(mut))))
                else:
                    raise Unsupported(f"import kind {kind:#x}")
        elif sid == 3:
            for _ in range(s.u32()):
                t = s.u32()
                if t >= len(types):
                    raise Unsupported("unknown type")
                iface.funcs.append(types[t])
        elif sid == 7:
            for _ in range(s.u32()):
                name, kind, idx = s.name(), s.byte(), s.u32()
                if kind == 0 and idx >= len(iface.funcs):
                    raise Unsupported("unknown function")
                iface.exports.append((name, kind, idx))
    return iface


# -- encoding -----------------------------------------------------------------------------
def _u32(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _vec(items: list[bytes]) -> bytes:
    return _u32(len(items)) + b"".join(items)


def _name(s: str) -> bytes:
    raw = s.encode("utf-8", errors="surrogateescape")
    return _u32(len(raw)) + raw


def _section(sid: int, body: bytes) -> bytes:
    return bytes([sid]) + _u32(len(body)) + body


def _limits(mn: int, mx: int | None, is64: bool = False) -> bytes:
    flag = 4 if is64 else 0
    if mx is None:
        return bytes([flag]) + _u32(mn)
    return bytes([flag | 1]) + _u32(mn) + _u32(mx)


#: the constant instruction that pushes the zero (or null) value of each valtype
ZERO_CONST = {
    0x7F: b"\x41\x00", 0x7E: b"\x42\x00", 0x7D: b"\x43" + bytes(4), 0x7C: b"\x44" + bytes(8),
    0x7B: b"\xfd\x0c" + bytes(16), 0x70: b"\xd0\x70", 0x6F: b"\xd0\x6f",
}


def provider_module(imports: list[Import]) -> bytes:
    """A module exporting, as ``"0"``, ``"1"``, ... in order, one definition per import
    of ``imports`` with its type and a default value (see the module docstring)."""
    types: list[bytes] = []
    funcs: list[bytes] = []
    code: list[bytes] = []
    tables: list[bytes] = []
    mems: list[bytes] = []
    globs: list[bytes] = []
    exports: list[bytes] = []
    for i, imp in enumerate(imports):
        if imp.kind == "func":
            sig = imp.desc
            assert isinstance(sig, FuncSig)
            types.append(b"\x60" + _vec([bytes([p]) for p in sig.params])
                         + _vec([bytes([r]) for r in sig.results]))
            funcs.append(_u32(len(types) - 1))
            body = b"\x00" + b"".join(ZERO_CONST[r] for r in sig.results) + b"\x0b"
            code.append(_u32(len(body)) + body)
            exports.append(_name(str(i)) + b"\x00" + _u32(len(funcs) - 1))
        elif imp.kind == "table":
            rt, mn, mx, is64 = imp.desc  # type: ignore[misc]
            tables.append(bytes([rt]) + _limits(mn, mx, is64))
            exports.append(_name(str(i)) + b"\x01" + _u32(len(tables) - 1))
        elif imp.kind == "memory":
            mn, mx, is64 = imp.desc  # type: ignore[misc]
            mems.append(_limits(mn, mx, is64))
            exports.append(_name(str(i)) + b"\x02" + _u32(len(mems) - 1))
        else:
            vt, mut = imp.desc  # type: ignore[misc]
            globs.append(bytes([vt, 1 if mut else 0]) + ZERO_CONST[vt] + b"\x0b")
            exports.append(_name(str(i)) + b"\x03" + _u32(len(globs) - 1))
    out = bytearray(b"\0asm\1\0\0\0")
    if types:
        out += _section(1, _vec(types))
    if funcs:
        out += _section(3, _vec(funcs))
    if tables:
        out += _section(4, _vec(tables))
    if mems:
        out += _section(5, _vec(mems))
    if globs:
        out += _section(6, _vec(globs))
    out += _section(7, _vec(exports))
    if code:
        out += _section(10, _vec(code))
    return bytes(out)
