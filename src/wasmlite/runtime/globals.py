"""Globals (WebAssembly spec §4.2.9 "Global Instances").

:data:`vm` is the 16-byte ``VMGlobal`` of ``environ/vmoffsets.py``.  Values are kept
*raw*: i32/f32 as their 32-bit pattern (zero-extended), i64/f64 as their 64-bit
pattern, references as pointer-sized handles, v128 as a 128-bit unsigned int.
"""

from __future__ import annotations

import ctypes

from ..environ.module import V128
from ..environ.vmoffsets import GLOBAL_SIZE, SLOT

_M64 = (1 << 64) - 1
_VMGLOBAL = ctypes.c_uint64 * (GLOBAL_SIZE // SLOT)


class GlobalData:
    """One global of valtype ``valtype`` (a valtype byte)."""

    __slots__ = ("valtype", "mutable", "vm", "vm_addr", "_block", "ckey", "__weakref__")

    def __init__(self, valtype: int, mutable: bool, raw: int = 0):
        self.valtype = valtype
        #: ``valtype`` made module-independent (``environ.module.canonical_valtype``)
        self.ckey: object = valtype
        self.mutable = mutable
        self.vm = _VMGLOBAL()
        self.vm_addr = ctypes.addressof(self.vm)
        self._block = None
        self.raw = raw

    @classmethod
    def at(cls, block: ctypes.Array, index: int, valtype: int, mutable: bool) -> GlobalData:
        """The global whose ``VMGlobal`` is slot ``index`` (``GLOBAL_SIZE`` bytes each) of
        the ctypes array ``block`` (an instance's defined globals, allocated together),
        keeping its current bytes as the value."""
        g = cls.__new__(cls)
        g.valtype = valtype
        g.ckey = valtype
        g.mutable = mutable
        g.vm_addr = addr = ctypes.addressof(block) + index * GLOBAL_SIZE
        g.vm = _VMGLOBAL.from_address(addr)
        g._block = block  # the storage of ``vm``
        return g

    @property
    def raw(self) -> int:
        """The raw value (see the module docstring)."""
        if self.valtype == V128:
            return self.vm[0] | (self.vm[1] << 64)
        return self.vm[0]

    @raw.setter
    def raw(self, value: int) -> None:
        if self.valtype == V128:
            self.vm[0] = value & _M64
            self.vm[1] = (value >> 64) & _M64
        else:
            self.vm[0] = value & _M64
