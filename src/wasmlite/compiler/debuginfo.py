"""Mapping native code addresses back to wasm instructions through the DWARF that the
translator's debug metadata makes LLVM emit (``translate.DEBUG_METADATA``).

The object file MCJIT produced for an LLVM module (``JitCode.object``, a relocatable
x86-64/aarch64 ELF file) holds line-tables-only DWARF 4:

* ``.debug_line``: rows ``(address, line)`` where the line is the byte offset in the wasm
  module of the instruction the machine code came from (calls, trap calls, and with
  guard pages loads and stores; other instructions inherit the previous row);
* ``.debug_info``: a ``DW_TAG_subprogram`` named ``wasm_func_<funcidx>`` per function and,
  inside it, a tree of ``DW_TAG_inlined_subroutine``\\ s (``DW_AT_abstract_origin`` → the
  inlined function's subprogram, ``DW_AT_call_line`` → offset of the inlined ``call``).

Code may sit in several sections (``.ltext``, and ``.ltext.unlikely.`` for functions
LLVM finds cold, e.g. ones that always trap), each relocated to its own address by MCJIT,
while the DWARF addresses of a relocatable object are section offsets.  To tell them
apart, :class:`DebugMap` parses a copy of the object whose symbols in code section ``k``
are moved by ``k << SECTION_SHIFT`` (pyelftools applies the debug sections' relocations
with those symbol values), and :meth:`DebugMap.bind` maps each section to its runtime
address through the address of a ``wasm_func_<funcidx>`` symbol in it.

pyelftools is imported here only, and this module only when a trap's frames are built.
"""

from __future__ import annotations

import bisect
import io
import struct
from collections.abc import Callable
from typing import Any

from elftools.elf.elffile import ELFFile

#: code section ``k``'s offsets become ``k << SECTION_SHIFT`` + offset in the parsed DWARF
SECTION_SHIFT = 40
_SHF_EXECINSTR = 0x4
_SYM = struct.Struct("<IBBHQQ")  # Elf64_Sym: name, info, other, shndx, value, size


def _shifted(obj: bytes, code_sections: set[int]) -> bytes:
    """A copy of the ELF64 little-endian object ``obj`` whose symbols defined in one of
    ``code_sections`` have ``shndx << SECTION_SHIFT`` added to their value."""
    elf = ELFFile(io.BytesIO(obj))
    symtab = elf.get_section_by_name(".symtab")
    out = bytearray(obj)
    if symtab is None:
        return bytes(out)
    base = symtab["sh_offset"]
    for k in range(symtab["sh_size"] // _SYM.size):
        pos = base + k * _SYM.size
        name, info, other, shndx, value, size = _SYM.unpack_from(out, pos)
        if shndx in code_sections:
            _SYM.pack_into(out, pos, name, info, other, shndx,
                           value + (shndx << SECTION_SHIFT), size)
    return bytes(out)


class DebugMap:
    """The line table and inlining tree of one object file (ELF64, little-endian).

    ``func_symbols`` maps the funcidx of each ``wasm_func_<funcidx>`` symbol to its
    ``(section index, offset)``; ``sections`` maps each code section index to its size.
    Raises ``ValueError`` when ``obj`` is not such an ELF object; an object without
    DWARF gives empty tables (every lookup returns ``[]``).  Call :meth:`bind` before
    :meth:`lookup_address`."""

    def __init__(self, obj: bytes):
        if obj[:6] != b"\x7fELF\x02\x01":
            raise ValueError("not an ELF64 little-endian object file")
        plain = ELFFile(io.BytesIO(obj))
        self.sections: dict[int, int] = {
            i: sec["sh_size"] for i, sec in enumerate(plain.iter_sections())
            if sec["sh_flags"] & _SHF_EXECINSTR and sec["sh_size"]}
        self.func_symbols: dict[int, tuple[int, int]] = {}
        symtab = plain.get_section_by_name(".symtab")
        if symtab is not None:
            for sym in symtab.iter_symbols():
                name = sym.name
                if name.startswith("wasm_func_") and sym["st_shndx"] in self.sections:
                    try:
                        funcidx = int(name[len("wasm_func_"):])
                    except ValueError:
                        continue
                    self.func_symbols[funcidx] = (sym["st_shndx"], sym["st_value"])
        #: (runtime start, section index, size) of the bound sections, sorted
        self._runtime: list[tuple[int, int, int]] = []
        elf = ELFFile(io.BytesIO(_shifted(obj, set(self.sections))))
        #: sorted row start addresses and, for each, the line (0: no location) or -1 for
        #: the end of a sequence
        self._addrs: list[int] = []
        self._lines: list[int] = []
        #: (depth, low, high, funcidx, call line) of every subprogram / inlined subroutine
        #: address range; depth 0 is a concrete function
        self._scopes: list[tuple[int, int, int, int, int]] = []
        if not elf.has_dwarf_info():
            return
        dwarf = elf.get_dwarf_info()
        rows: list[tuple[int, int]] = []
        for cu in dwarf.iter_CUs():
            prog = dwarf.line_program_for_CU(cu)
            if prog is not None:
                for entry in prog.get_entries():
                    st = entry.state
                    if st is not None:
                        rows.append((st.address, -1 if st.end_sequence else st.line))
            top = cu.get_top_DIE()
            self._walk(dwarf, cu, top, 0)
        rows.sort(key=lambda r: r[0])
        self._addrs = [a for a, _ in rows]
        self._lines = [line for _, line in rows]

    def _walk(self, dwarf: Any, cu: Any, die: Any, depth: int) -> None:
        """Record the address ranges of the subprograms and inlined subroutines below
        ``die``; ``depth`` is the inlining depth of its children."""
        for child in die.iter_children():
            tag = child.tag
            if tag == "DW_TAG_subprogram":
                d = 0
            elif tag == "DW_TAG_inlined_subroutine":
                d = depth
            else:
                self._walk(dwarf, cu, child, depth)
                continue
            funcidx = _funcidx(child)
            call_line = child.attributes.get("DW_AT_call_line")
            line = call_line.value if call_line is not None else 0
            if funcidx is not None:
                for lo, hi in _ranges(dwarf, cu, child):
                    self._scopes.append((d, lo, hi, funcidx, line))
            self._walk(dwarf, cu, child, d + 1)

    def bind(self, func_addr: Callable[[int], int | None]) -> None:
        """Locate each code section at run time: ``func_addr(funcidx)`` is the runtime
        address of function ``funcidx`` (``None`` when unknown)."""
        runtime = {}
        for funcidx, (shndx, value) in self.func_symbols.items():
            if shndx not in runtime:
                addr = func_addr(funcidx)
                if addr is not None:
                    runtime[shndx] = addr - value
        self._runtime = sorted((start, shndx, self.sections[shndx])
                               for shndx, start in runtime.items())

    def lookup_address(self, addr: int) -> tuple[int, list[tuple[int, int]]] | None:
        """:meth:`lookup` for the runtime code address ``addr`` (``None`` when it is in
        no bound section)."""
        k = bisect.bisect_right(self._runtime, (addr, 1 << 62)) - 1
        if k < 0:
            return None
        start, shndx, size = self._runtime[k]
        if addr >= start + size:
            return None
        return self.lookup((shndx << SECTION_SHIFT) + addr - start)

    def line_at(self, pc: int) -> int:
        """The wasm offset (line) of the row covering DWARF address ``pc`` (0: none)."""
        k = bisect.bisect_right(self._addrs, pc) - 1
        if k < 0:
            return 0
        return max(self._lines[k], 0)

    def lookup(self, pc: int) -> tuple[int, list[tuple[int, int]]]:
        """``(offset, inlined)`` at DWARF address ``pc`` (a faulting instruction, or
        inside a call instruction): ``offset`` is the module offset of the wasm
        instruction there (0: unknown) and ``inlined`` the ``(funcidx, call offset)``
        of each inlined function whose code ``pc`` is in, innermost first (the call
        offset is that of the ``call`` instruction the function was inlined for, in
        the next function out).  Line-tables-only DWARF has no entry for a concrete
        function without inlined code; the caller knows it from the symbol table."""
        chain = sorted((s for s in self._scopes if s[0] > 0 and s[1] <= pc < s[2]),
                       key=lambda s: s[0])
        return self.line_at(pc), [(s[3], s[4]) for s in reversed(chain)]


def _funcidx(die: Any) -> int | None:
    """The funcidx of a subprogram or inlined-subroutine DIE (from the name
    ``wasm_func_<funcidx>`` of the DIE or of its abstract origin), or ``None``."""
    for _ in range(3):
        name = die.attributes.get("DW_AT_name")
        if name is not None:
            text = name.value.decode() if isinstance(name.value, bytes) else str(name.value)
            if text.startswith("wasm_func_"):
                try:
                    return int(text[len("wasm_func_"):])
                except ValueError:
                    return None
            return None
        if "DW_AT_abstract_origin" in die.attributes:
            die = die.get_DIE_from_attribute("DW_AT_abstract_origin")
        elif "DW_AT_specification" in die.attributes:
            die = die.get_DIE_from_attribute("DW_AT_specification")
        else:
            return None
    return None


def _ranges(dwarf: Any, cu: Any, die: Any) -> list[tuple[int, int]]:
    """The ``[low, high)`` address ranges of ``die`` (``DW_AT_low_pc``/``high_pc`` or
    ``DW_AT_ranges``)."""
    attrs = die.attributes
    if "DW_AT_low_pc" in attrs and "DW_AT_high_pc" in attrs:
        lo = attrs["DW_AT_low_pc"].value
        hi_attr = attrs["DW_AT_high_pc"]
        hi = hi_attr.value
        if hi_attr.form != "DW_FORM_addr":
            hi += lo
        return [(lo, hi)]
    if "DW_AT_ranges" in attrs:
        rl = dwarf.range_lists()
        if rl is None:
            return []
        base = 0
        top = cu.get_top_DIE()
        if "DW_AT_low_pc" in top.attributes:
            base = top.attributes["DW_AT_low_pc"].value
        out = []
        for entry in rl.get_range_list_at_offset(attrs["DW_AT_ranges"].value, cu=cu):
            if hasattr(entry, "begin_offset"):
                if getattr(entry, "is_absolute", False):
                    out.append((entry.begin_offset, entry.end_offset))
                else:
                    out.append((base + entry.begin_offset, base + entry.end_offset))
            elif hasattr(entry, "base_address"):
                base = entry.base_address
        return out
    return []
