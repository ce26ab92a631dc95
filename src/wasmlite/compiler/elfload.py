"""Load the relocatable object files LLVM emitted for us without MCJIT.

A serialized module and the compile cache's optimized batches keep the ELF object file
each LLVM module was compiled to (``JitCode.object``).  MCJIT's RuntimeDyld loads such
an object in about 10 ms per MB (resvg's 6.9 MB of objects: 113 ms); Wasmtime maps its
artifacts and is done.  The objects our code generator makes are simple — the large
code model (``.ltext``, ``.ldata``, ``.rodata*``), absolute 64-bit relocations for
addresses, PC-relative 32-bit ones for constants, a handful of external symbols
(``_setjmp``, ``longjmp``, ``pthread_*``) — so this module lays the allocated sections
out in one mapping itself, applies those relocations and makes the code executable:
:func:`load` returns a :class:`LoadedObject`, or ``None`` for anything it does not
know (another relocation or section type, an unresolved symbol), which the caller then
gives to MCJIT as before.

Only what runs is loaded: debug sections (``.debug_*``), ``.eh_frame`` and notes are
not (MCJIT registers unwind tables with the process; wasm frames are walked by frame
pointer and left by ``longjmp``, never unwound).

ELF64 x86-64 only (System V ABI, "ELF-64 Object File Format" and the x86-64 psABI's
relocation types 1, 2, 4 and 24).
"""

from __future__ import annotations

import ctypes
import mmap
import struct
from array import array

from ..runtime.libc import protect
from ..runtime.native import relocate

_EHDR = struct.Struct("<16sHHIQQQIHHHHHH")
_SHDR = struct.Struct("<IIQQQQIIQQ")
_SYM = struct.Struct("<IBBHQQ")
_RELA = struct.Struct("<QQq")

_SHT_PROGBITS, _SHT_SYMTAB, _SHT_RELA, _SHT_NOBITS = 1, 2, 4, 8
_SHT_X86_64_UNWIND = 0x70000001
_SHF_WRITE, _SHF_ALLOC, _SHF_EXECINSTR, _SHF_TLS = 1, 2, 4, 0x400
_SHN_UNDEF, _SHN_ABS = 0, 0xFFF1
_EM_X86_64 = 62
_PAGE = mmap.PAGESIZE


class LoadedObject:
    """An object file's allocated sections in one private mapping, relocated: code
    read + execute, read-only data read-only, data read/write.  ``symbols`` maps each
    global symbol it defines to its address; ``size`` is the mapping's length in bytes.
    The mapping lives as long as this object."""

    def __init__(self, mem: mmap.mmap, base: int, symbols: dict[str, int]):
        self._mem = mem
        self.base = base
        self.size = len(mem)
        self.symbols = symbols

    def close(self) -> None:
        """Unmap the code (nothing may run in it any more)."""
        mem = self.__dict__.pop("_mem", None)
        if mem is not None:
            try:
                mem.close()
            except BufferError:   # a view still exists: leave it to the collector
                pass


class _Unsupported(Exception):
    pass


def load(data: bytes, resolve: object) -> LoadedObject | None:
    """Load ELF object ``data`` (``resolve(name) -> address or 0`` for undefined
    symbols); ``None`` when it has something this loader does not handle (the caller
    falls back to MCJIT).  Raises :class:`OSError` when the mapping cannot be made or
    protected."""
    try:
        return _load(data, resolve)
    except (_Unsupported, struct.error, IndexError, KeyError, ValueError):
        return None


def _load(data: bytes, resolve) -> LoadedObject:  # noqa: ANN001, C901 - one pass per table
    (ident, _etype, machine, _v, _entry, _phoff, shoff, _flags, _ehsize, _phentsize,
     _phnum, shentsize, shnum, _shstrndx) = _EHDR.unpack_from(data, 0)
    if ident[:4] != b"\x7fELF" or ident[4] != 2 or ident[5] != 1 or machine != _EM_X86_64:
        raise _Unsupported("not an ELF64 little-endian x86-64 object")
    if shentsize != _SHDR.size:
        raise _Unsupported("section header size")
    shdrs = [_SHDR.unpack_from(data, shoff + k * shentsize) for k in range(shnum)]

    # layout: code, then read-only data, then writable data, each group page aligned
    groups: list[list[int]] = [[], [], []]
    for k, (_name, typ, flags, _a, _off, _size, _link, _info, _align, _es) in enumerate(shdrs):
        if not flags & _SHF_ALLOC or typ == _SHT_X86_64_UNWIND:
            continue          # debug info, notes, unwind tables, relocations, symbols
        if typ not in (_SHT_PROGBITS, _SHT_NOBITS) or flags & _SHF_TLS:
            raise _Unsupported(f"section type {typ:#x}")   # constructors, TLS, ...
        groups[0 if flags & _SHF_EXECINSTR else 2 if flags & _SHF_WRITE else 1].append(k)
    where: dict[int, int] = {}
    bounds: list[tuple[int, int]] = []
    pos = 0
    for g in groups:
        start = pos = -(-pos // _PAGE) * _PAGE
        for k in g:
            align = max(shdrs[k][8], 1)
            pos = -(-pos // align) * align
            where[k] = pos
            pos += shdrs[k][5]
        bounds.append((start, pos))
    total = max(-(-pos // _PAGE) * _PAGE, _PAGE)

    symtab = next((s for s in shdrs if s[1] == _SHT_SYMTAB), None)
    if symtab is None:
        raise _Unsupported("no symbol table")
    strtab = shdrs[symtab[6]]
    str_off = strtab[4]

    def name_at(i: int) -> str:
        o = str_off + i
        return data[o:data.index(b"\0", o)].decode()

    syms = list(_SYM.iter_unpack(data[symtab[4]:symtab[4] + symtab[5]]))
    mem = mmap.mmap(-1, total, prot=mmap.PROT_READ | mmap.PROT_WRITE)
    base = ctypes.addressof(ctypes.c_char.from_buffer(mem))
    try:
        # symbol addresses (absolute), resolved once per symbol
        sym_addr: list[int | None] = [None] * len(syms)

        def address(i: int) -> int:
            a = sym_addr[i]
            if a is None:
                st_name, _info, _other, shndx, value, _size = syms[i]
                if shndx == _SHN_UNDEF:
                    a = resolve(name_at(st_name))
                    if not a:
                        raise _Unsupported(f"unresolved symbol {name_at(st_name)}")
                elif shndx == _SHN_ABS:
                    a = value
                elif shndx in where:
                    a = base + where[shndx] + value
                else:
                    raise _Unsupported("symbol in a section not loaded")
                sym_addr[i] = a
            return a

        # the relocations of each loaded section by one native loop (Python's was
        # 95 ms for resvg's 43,000), with every symbol's address in a u64 array (0
        # for an undefined one that does not resolve: the loop stops at its use)
        view = memoryview(data)
        for k, off in where.items():
            if shdrs[k][1] == _SHT_PROGBITS:        # NOBITS stays zero
                size, src = shdrs[k][5], shdrs[k][4]
                mem[off:off + size] = view[src:src + size]
        addrs = array("Q", bytes(8 * len(syms)))
        for i in range(1, len(syms)):
            try:
                addrs[i] = address(i)
            except _Unsupported:
                pass
        syms_ptr = addrs.buffer_info()[0]
        for (_n, typ, _f, _a, off, size, _link, info, _al, _es) in shdrs:
            if typ != _SHT_RELA or info not in where or not size:
                continue
            rela = array("Q", data[off:off + size])
            n = len(rela) // 3
            if relocate(base, where[info], rela.buffer_info()[0], n, syms_ptr) != -1:
                raise _Unsupported("a relocation this loader does not apply")

        symbols: dict[str, int] = {}
        for i, (st_name, st_info, _other, shndx, _value, _size) in enumerate(syms):
            if st_info >> 4 in (1, 2) and shndx != _SHN_UNDEF and st_name:   # global, weak
                symbols[name_at(st_name)] = address(i)
        for (start, end), prot in zip(bounds, (mmap.PROT_READ | mmap.PROT_EXEC,
                                               mmap.PROT_READ), strict=False):
            if end > start:
                protect(base + start, end - start, prot)
    except BaseException:
        mem.close()
        raise
    return LoadedObject(mem, base, symbols)
