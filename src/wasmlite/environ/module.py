"""The translated module: what the decoder produces and every later stage reads.

Names follow the WebAssembly specification (§2, "Structure"): ``types`` is the type
section, ``funcs`` holds the ``typeidx`` of each *defined* function, index spaces
(``funcidx``, ``tableidx``, ``memidx``, ``globalidx``) count imports first.

Encodings kept from the binary format, so no stage needs a translation table:

* a ``valtype`` is its binary byte: ``I32 = 0x7F``, ``I64 = 0x7E``, ``F32 = 0x7D``,
  ``F64 = 0x7C``, ``V128 = 0x7B``, ``FUNCREF = 0x70``, ``EXTERNREF = 0x6F``; the other
  reference types of typed function references (``(ref null? ht)``, WebAssembly 3.0)
  are ints from ``REF_BASE = 0x100`` up, made by :func:`ref_type` and read by
  :func:`is_ref`, :func:`heap_type` and :func:`nullable`: ``(ref null func)`` and
  ``(ref null extern)`` *are* ``FUNCREF`` and ``EXTERNREF``, so code written for the
  2.0 types keeps working unchanged;
* a ``blocktype`` is the decoded ``s33``: ``-64`` for the empty type, a negative value
  ``v`` for one result of valtype ``v & 0x7F`` (``-1`` is ``i32``), ``-t`` for one
  result of a typed reference type ``t >= REF_BASE``, and a ``typeidx`` when ``>= 0``
  — see :meth:`ModuleInfo.blocktype_signature`;
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

#: heap types (spec 3.0 §2.3.3) as their ``s33`` encoding: the abstract ``func`` and
#: ``extern``; a non-negative heap type is a ``typeidx``
HT_FUNC = -0x10
HT_EXTERN = -0x11
#: the abstract heap types of the GC proposal, which wasmlite does not implement
#: (``s33`` → text name)
GC_HEAP_TYPES = {-0x12: "any", -0x13: "eq", -0x14: "i31", -0x15: "struct", -0x16: "array",
                 -0x17: "exn", -0x0C: "noexn", -0x0D: "nofunc", -0x0E: "noextern",
                 -0x0F: "none"}
#: the first typed reference type: ``REF_BASE + 2 * code + nullable`` where ``code``
#: is 0 for ``func``, 1 for ``extern`` and ``2 + typeidx`` for a type index
REF_BASE = 0x100


def ref_type(is_nullable: bool, heap: int) -> int:
    """The valtype ``(ref null? heap)``; ``heap`` is ``HT_FUNC``, ``HT_EXTERN`` or a
    ``typeidx``.  ``(ref null func)`` is ``FUNCREF`` and ``(ref null extern)``
    ``EXTERNREF``."""
    if heap == HT_FUNC:
        if is_nullable:
            return FUNCREF
        code = 0
    elif heap == HT_EXTERN:
        if is_nullable:
            return EXTERNREF
        code = 1
    else:
        code = heap + 2
    return REF_BASE + 2 * code + (1 if is_nullable else 0)


def is_ref(t: int) -> bool:
    """Whether valtype ``t`` is a reference type (``funcref``, ``externref`` or typed)."""
    return t == FUNCREF or t == EXTERNREF or t >= REF_BASE


def heap_type(t: int) -> int:
    """The heap type of reference type ``t``: ``HT_FUNC``, ``HT_EXTERN`` or a typeidx."""
    if t == FUNCREF:
        return HT_FUNC
    if t == EXTERNREF:
        return HT_EXTERN
    code = (t - REF_BASE) >> 1
    return HT_FUNC if code == 0 else HT_EXTERN if code == 1 else code - 2


def nullable(t: int) -> bool:
    """Whether reference type ``t`` admits null."""
    return t == FUNCREF or t == EXTERNREF or bool((t - REF_BASE) & 1)


def as_non_null(t: int) -> int:
    """``(ref ht)`` for reference type ``t = (ref null? ht)``."""
    return ref_type(False, heap_type(t))


def as_nullable(t: int) -> int:
    """``(ref null ht)`` for reference type ``t = (ref null? ht)``."""
    return ref_type(True, heap_type(t))


def ref_storage(t: int) -> int:
    """The 2.0 type whose machine values ``t``'s are: ``EXTERNREF`` for references to
    ``extern``, ``FUNCREF`` for every other reference type (a ``VMFuncRef*``, 0 is
    null), ``t`` itself for a number or vector type."""
    if t < REF_BASE:
        return t
    return EXTERNREF if heap_type(t) == HT_EXTERN else FUNCREF


def defaultable(t: int) -> bool:
    """Whether a local of type ``t`` has a default value (non-nullable references do
    not, spec 3.0 §3.2.4, "defaultable")."""
    return t < REF_BASE or nullable(t)


def valtype_name(t: int) -> str:
    """``t`` as wasmparser prints it: ``i32``, ``funcref``, ``(ref func)``, ``(ref null
    $type)`` (wasmparser does not print the index of a concrete heap type)."""
    if t < REF_BASE:
        return _BASE_NAMES[t]
    ht = heap_type(t)
    h = "func" if ht == HT_FUNC else "extern" if ht == HT_EXTERN else "$type"
    return f"(ref null {h})" if nullable(t) else f"(ref {h})"


class _ValtypeNames(dict):
    """``VALTYPE_NAMES``: a dict of the 2.0 names that names typed references too."""

    def __missing__(self, t: int) -> str:
        if isinstance(t, int) and t >= REF_BASE:
            return valtype_name(t)
        raise KeyError(t)


_BASE_NAMES = {I32: "i32", I64: "i64", F32: "f32", F64: "f64", V128: "v128",
               FUNCREF: "funcref", EXTERNREF: "externref"}
VALTYPE_NAMES: dict[int, str] = _ValtypeNames(_BASE_NAMES)

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


def canonical_types(types: list[FuncType]) -> list[FuncType]:
    """``types`` made independent of their module (spec 3.0 type equivalence, each type
    its own recursion group): a type index in a typed reference is replaced by the
    canonical type it names (``"self"`` for the type itself), as the tuple ``("ref",
    nullable, type)``.  Types without typed references are returned unchanged, so the
    engine's signature ids (``Engine._sig_id``) of 2.0 types stay what they were."""
    out: list[FuncType] = []
    for i, ft in enumerate(types):
        if all(t < REF_BASE for t in ft.params) and all(t < REF_BASE for t in ft.results):
            out.append(ft)
            continue

        def key(t: int, i: int = i) -> Any:
            if t < REF_BASE or heap_type(t) < 0:
                return t
            h = heap_type(t)
            return ("ref", nullable(t), out[h] if h < i else "self" if h == i else ("fwd", h))
        out.append(FuncType(tuple(map(key, ft.params)), tuple(map(key, ft.results))))
    return out


def canonical_valtype(t: int, ctypes: list[FuncType]) -> Any:
    """Valtype ``t`` of a module whose :func:`canonical_types` are ``ctypes``, made
    module-independent (``t`` itself unless it names a type index)."""
    if t < REF_BASE or heap_type(t) < 0:
        return t
    h = heap_type(t)
    return ("ref", nullable(t), ctypes[h] if h < len(ctypes) else ("fwd", h))


def canonical_matches(a: Any, b: Any) -> bool:
    """``a <: b`` for two :func:`canonical_valtype` results (import matching)."""
    if a == b:
        return True

    def parts(k: Any) -> tuple[bool, Any] | None:
        if isinstance(k, tuple):
            return k[1], k[2]
        return (nullable(k), heap_type(k)) if is_ref(k) else None
    pa, pb = parts(a), parts(b)
    if pa is None or pb is None or (pa[0] and not pb[0]):
        return False
    return pa[1] == pb[1] or (pb[1] == HT_FUNC and not isinstance(pa[1], int))


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
    #: initializer expressions of *defined* tables that have one (typed function
    #: references: ``(table 10 (ref $t) (ref.func $f))``), by defined-table index
    table_inits: dict[int, ConstExpr] = field(default_factory=dict)

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
            return (), ((blocktype & 0x7F) if blocktype > -REF_BASE else -blocktype,)
        ft = self.types[blocktype]
        return ft.params, ft.results

    def func_name(self, funcidx: int) -> str | None:
        """The function's name from the ``name`` section, if any."""
        return self.names.functions.get(funcidx)
