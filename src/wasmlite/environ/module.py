"""The translated module: what the decoder produces and every later stage reads.

Names follow the WebAssembly specification (§2, "Structure"): ``types`` is the type
section, ``funcs`` holds the ``typeidx`` of each *defined* function, index spaces
(``funcidx``, ``tableidx``, ``memidx``, ``globalidx``) count imports first.

Encodings kept from the binary format, so no stage needs a translation table:

* a ``valtype`` is its binary byte: ``I32 = 0x7F``, ``I64 = 0x7E``, ``F32 = 0x7D``,
  ``F64 = 0x7C``, ``V128 = 0x7B``, ``FUNCREF = 0x70``, ``EXTERNREF = 0x6F``;
* a ``blocktype`` is the decoded ``s33``: ``-64`` for the empty type, a negative value
  ``v`` for one result of valtype ``v & 0x7F`` (``-1`` is ``i32``), and a ``typeidx``
  when ``>= 0`` — see :meth:`ModuleInfo.blocktype_signature`;
* an instruction is a tuple ``(opcode, immediate, offset)``: see
  :mod:`wasmlite.binary.opcodes` for opcode numbers and the shape of each immediate,
  ``offset`` is the instruction's byte offset in the module.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

I32 = 0x7F
I64 = 0x7E
F32 = 0x7D
F64 = 0x7C
V128 = 0x7B
FUNCREF = 0x70
EXTERNREF = 0x6F

NUM_TYPES = (I32, I64, F32, F64)
VEC_TYPES = (V128,)
REF_TYPES = (FUNCREF, EXTERNREF)
VAL_TYPES = NUM_TYPES + VEC_TYPES + REF_TYPES

VALTYPE_NAMES = {I32: "i32", I64: "i64", F32: "f32", F64: "f64", V128: "v128",
                 FUNCREF: "funcref", EXTERNREF: "externref"}

BLOCKTYPE_EMPTY = -64

#: External kinds, as in the import/export descriptors of the binary format.
EXTERN_FUNC = 0
EXTERN_TABLE = 1
EXTERN_MEMORY = 2
EXTERN_GLOBAL = 3
EXTERN_KIND_NAMES = {EXTERN_FUNC: "func", EXTERN_TABLE: "table", EXTERN_MEMORY: "memory",
                     EXTERN_GLOBAL: "global"}

PAGE_SIZE = 65536
MAX_PAGES = 65536

Instr = tuple  # (opcode: int, immediate: Any, offset: int)
ConstExpr = list  # list[Instr], without the final ``end``


@dataclass(frozen=True)
class FuncType:
    """``functype``: parameter and result valtypes."""

    params: tuple[int, ...]
    results: tuple[int, ...]

    def __str__(self) -> str:
        p = " ".join(VALTYPE_NAMES[t] for t in self.params)
        r = " ".join(VALTYPE_NAMES[t] for t in self.results)
        return f"(func (param {p}) (result {r}))"


@dataclass(frozen=True)
class Limits:
    """``limits``: ``min`` and optional ``max``, in pages (memories) or elements (tables)."""

    min: int
    max: int | None = None


@dataclass(frozen=True)
class TableType:
    """``tabletype``: element reftype and limits; ``is_64``: a 64-bit table (memory64
    proposal: i64 indices)."""

    elem: int
    limits: Limits
    is_64: bool = False


@dataclass(frozen=True)
class MemoryType:
    """``memtype``: limits in 64 KiB pages; ``is_64``: a 64-bit memory (memory64: i64
    addresses, at most 2**48 pages); ``shared``: a shared memory (threads, which
    wasmlite does not implement: the validator rejects it)."""

    limits: Limits
    is_64: bool = False
    shared: bool = False


@dataclass(frozen=True)
class GlobalType:
    """``globaltype``: valtype and mutability."""

    valtype: int
    mutable: bool


@dataclass
class Import:
    """An import: ``kind`` is one of the ``EXTERN_*`` constants; ``desc`` is a ``typeidx``
    (functions), :class:`TableType`, :class:`MemoryType` or :class:`GlobalType`."""

    module: str
    name: str
    kind: int
    desc: Any
    offset: int = 0


@dataclass
class Export:
    """An export: ``kind`` is an ``EXTERN_*`` constant and ``index`` the index in that space."""

    name: str
    kind: int
    index: int


@dataclass
class Global:
    """A defined global: its type and initializer (a constant expression)."""

    type: GlobalType
    init: ConstExpr


@dataclass
class ElemSegment:
    """``elem``: ``mode`` is ``"active"``, ``"passive"`` or ``"declarative"``.

    ``items`` holds one constant expression per element (the ``funcidx`` forms are
    stored as ``[(REF_FUNC, funcidx, offset)]``); ``table`` and ``offset`` are set for
    active segments only.
    """

    mode: str
    type: int
    items: list[ConstExpr]
    table: int = 0
    offset: ConstExpr | None = None


@dataclass
class DataSegment:
    """``data``: ``mode`` is ``"active"`` or ``"passive"``; ``memory`` and ``offset`` are
    set for active segments."""

    mode: str
    data: bytes
    memory: int = 0
    offset: ConstExpr | None = None


@dataclass
class FunctionBody:
    """A code-section entry.

    ``locals`` is the compressed list of ``(count, valtype)`` declarations;
    ``body_start``/``body_end`` delimit the instruction bytes (``body_end`` is just past
    the final ``end``) in the module's bytes, and ``offset`` is where the entry (its size
    field) starts.  Instructions are read with ``binary.read_instructions``.
    """

    locals: list[tuple[int, int]]
    body_start: int
    body_end: int
    offset: int


@dataclass
class Names:
    """The ``name`` custom section (spec appendix 7.4): module, function and local names."""

    module: str | None = None
    functions: dict[int, str] = field(default_factory=dict)
    locals: dict[int, dict[int, str]] = field(default_factory=dict)


@dataclass
class ModuleInfo:
    """A decoded module.  Index spaces count imported entities first."""

    types: list[FuncType] = field(default_factory=list)
    imports: list[Import] = field(default_factory=list)
    funcs: list[int] = field(default_factory=list)
    tables: list[TableType] = field(default_factory=list)
    memories: list[MemoryType] = field(default_factory=list)
    globals: list[Global] = field(default_factory=list)
    exports: list[Export] = field(default_factory=list)
    start: int | None = None
    elems: list[ElemSegment] = field(default_factory=list)
    data_count: int | None = None
    codes: list[FunctionBody] = field(default_factory=list)
    datas: list[DataSegment] = field(default_factory=list)
    customs: list[tuple[str, bytes]] = field(default_factory=list)
    names: Names = field(default_factory=Names)
    #: the module's bytes, which ``FunctionBody`` offsets point into
    bytes: bytes = b""

    # -- index spaces -------------------------------------------------------------------
    def _imports_of(self, kind: int) -> list[Import]:
        return [i for i in self.imports if i.kind == kind]

    @property
    def imported_func_types(self) -> list[int]:
        """``typeidx`` of each imported function, in import order."""
        return [i.desc for i in self._imports_of(EXTERN_FUNC)]

    @property
    def num_imported_funcs(self) -> int:
        return sum(1 for i in self.imports if i.kind == EXTERN_FUNC)

    @property
    def num_imported_tables(self) -> int:
        return sum(1 for i in self.imports if i.kind == EXTERN_TABLE)

    @property
    def num_imported_memories(self) -> int:
        return sum(1 for i in self.imports if i.kind == EXTERN_MEMORY)

    @property
    def num_imported_globals(self) -> int:
        return sum(1 for i in self.imports if i.kind == EXTERN_GLOBAL)

    def func_typeidx(self) -> list[int]:
        """``typeidx`` of every function in the function index space."""
        return self.imported_func_types + list(self.funcs)

    def func_type(self, funcidx: int) -> FuncType:
        """The type of function ``funcidx`` (imported or defined)."""
        n = self.num_imported_funcs
        if funcidx < n:
            return self.types[self.imported_func_types[funcidx]]
        return self.types[self.funcs[funcidx - n]]

    def table_types(self) -> list[TableType]:
        """Types of every table in the table index space."""
        return [i.desc for i in self._imports_of(EXTERN_TABLE)] + list(self.tables)

    def memory_types(self) -> list[MemoryType]:
        """Types of every memory in the memory index space."""
        return [i.desc for i in self._imports_of(EXTERN_MEMORY)] + list(self.memories)

    def global_types(self) -> list[GlobalType]:
        """Types of every global in the global index space."""
        return [i.desc for i in self._imports_of(EXTERN_GLOBAL)] + [g.type for g in self.globals]

    def blocktype_signature(self, blocktype: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """``(params, results)`` of a ``blocktype`` (see the module docstring)."""
        if blocktype == BLOCKTYPE_EMPTY:
            return (), ()
        if blocktype < 0:
            return (), (blocktype & 0x7F,)
        ft = self.types[blocktype]
        return ft.params, ft.results

    def func_name(self, funcidx: int) -> str | None:
        """The function's name from the ``name`` section, if any."""
        return self.names.functions.get(funcidx)
