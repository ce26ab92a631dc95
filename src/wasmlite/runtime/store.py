"""Per-Store native state: the ``VMStoreContext`` (``environ/vmoffsets.py``), fuel, the
externref handle table and its collector, resource limits, the pending host exception,
and ownership of every memory, table and instance created in the Store.

Fuel follows Wasmtime (``Store::set_fuel``/``get_fuel``): ``STORE_FUEL`` holds the fuel
consumed relative to the amount injected, ``-min(fuel, 2**63 - 1)`` right after
:meth:`StoreData.set_fuel`; the rest waits in :attr:`StoreData.fuel_reserve` and
:meth:`StoreData.refuel` (``BUILTIN_OUT_OF_GAS``) moves it in when compiled code runs dry.

Externref handles: a Python object passed to wasm as an ``externref`` gets a handle
(>= 1, 0 is null) that keeps it alive.  :meth:`StoreData.gc` (``Store.gc``) releases
every handle that no table or global of the store holds, unless wasm is running on the
store (a live wasm frame may hold handles no table shows); it also runs by itself when
the number of live handles doubles, protecting the handles an API call is still
converting (the last :data:`RECENT_HANDLES` looked up).
"""

from __future__ import annotations

import collections
import ctypes
from typing import Any

from ..environ import vmoffsets as vo
from ..environ.module import EXTERNREF
from ..errors import WasmtimeError
from .builtins import unregister
from .globals import GlobalData
from .memory import LinearMemory
from .stack import thread_stack_low_routine
from .table import TableData

_M64 = (1 << 64) - 1
_I64_MAX = (1 << 63) - 1
_FUEL = vo.STORE_FUEL // 8
_LIMIT = vo.STORE_STACK_LIMIT // 8

#: Handles protected from the automatic collection: an API call converting several
#: values (``Func.__call__`` with many externref parameters) holds at most this many
#: handles that no table or global shows yet (wasm functions have at most 1000 params).
RECENT_HANDLES = 1024
#: The automatic collection runs once this many handles are live, then whenever the
#: count doubles since the last collection.
GC_MIN_HANDLES = 4096

#: Wasmtime's default ``instance``/``table``/``memory`` count limits of a Store.
DEFAULT_COUNT_LIMIT = 10_000


class StoreLimits:
    """A Store's resource limits (Wasmtime's ``StoreLimits``, set by ``Store.set_limits``).

    ``memory_size`` (bytes, per linear memory) and ``table_elements`` (per table) are
    ``None`` when unlimited; ``instances``, ``tables`` and ``memories`` cap how many
    module instances, and memories and tables defined by modules, the store may create
    (host-created memories and tables do not count, as in Wasmtime).
    """

    __slots__ = ("memory_size", "table_elements", "instances", "tables", "memories")

    def __init__(self, memory_size: int | None = None, table_elements: int | None = None,
                 instances: int = DEFAULT_COUNT_LIMIT, tables: int = DEFAULT_COUNT_LIMIT,
                 memories: int = DEFAULT_COUNT_LIMIT):
        self.memory_size = memory_size
        self.table_elements = table_elements
        self.instances = instances
        self.tables = tables
        self.memories = memories

    def memory_fits(self, pages: int) -> bool:
        """Whether a memory of ``pages`` 64 KiB pages is within ``memory_size``."""
        return self.memory_size is None or pages * 65536 <= self.memory_size

    def table_fits(self, elements: int) -> bool:
        """Whether a table of ``elements`` elements is within ``table_elements``."""
        return self.table_elements is None or elements <= self.table_elements


class StoreData:
    """Native state of one Store.

    ``ctx`` is the ``VMStoreContext`` (``STORE_CTX_SIZE`` bytes, 8-byte slots);
    ``max_wasm_stack`` (bytes) is written to ``STORE_MAX_STACK``.  ``guarded``:
    signals-based traps (``Config.signals_based_traps``; instantiation installs the
    signal handler).
    ``epoch_addr`` is the address of the engine's epoch counter (``STORE_EPOCH_PTR``;
    0: a private counter that stays 0).
    """

    def __init__(self, max_wasm_stack: int, guarded: bool = False, epoch_addr: int = 0):
        self.ctx = (ctypes.c_uint64 * (vo.STORE_CTX_SIZE // vo.SLOT))()
        self.ctx_addr = ctypes.addressof(self.ctx)
        self.ctx[vo.STORE_MAX_STACK // 8] = max_wasm_stack
        self.ctx[vo.STORE_STACK_LOW_FN // 8] = thread_stack_low_routine()
        if not epoch_addr:
            self._epoch = ctypes.c_uint64(0)
            epoch_addr = ctypes.addressof(self._epoch)
        self.ctx[vo.STORE_EPOCH_PTR // 8] = epoch_addr
        #: fuel not yet injected into ``STORE_FUEL`` (beyond ``2**63 - 1``)
        self.fuel_reserve = 0
        #: externref handle ``h`` (>= 1) is ``externs[h - 1]`` (``None`` once released)
        self.externs: list[Any] = []
        self._extern_ids: dict[int, int] = {}
        self._free_handles: list[int] = []
        self._recent: collections.deque[int] = collections.deque(maxlen=RECENT_HANDLES)
        self._gc_threshold = GC_MIN_HANDLES
        self.limits = StoreLimits()
        #: instances, and memories/tables defined by modules, created so far (Wasmtime
        #: counts failed instantiations too)
        self.instance_count = 0
        self.memory_count = 0
        self.table_count = 0
        #: the exception a host function raised, re-raised by the entry point
        self.pending: BaseException | None = None
        self.memories: list[LinearMemory] = []
        self.instances: list[Any] = []
        #: objects that must live as long as the store (ctypes buffers, callbacks, code,
        #: host-created tables and globals)
        self.keep: list[Any] = []
        self.closed = False
        #: signals-based traps: memories get guard regions, the handler is installed
        #: when the store's first instance is made (``instance.allocate``: the first
        #: point where wasm code can run, and where the routines are resolved)
        self.guarded = guarded
        #: ``signals.ensure_installed`` still to be called (two ``sigaction`` calls,
        #: 5–10 µs: once per store, as when stores installed it on creation)
        self.check_handler = guarded

    @property
    def running(self) -> bool:
        """Whether wasm is running on this store (an entry trampoline is active)."""
        return self.ctx[_LIMIT] != 0

    # -- fuel (Wasmtime: Store::set_fuel / get_fuel / refuel) --------------------------
    def get_fuel(self) -> int:
        """Fuel left: the reserve plus what compiled code has not consumed (>= 0)."""
        consumed = self.ctx[_FUEL]
        if consumed > _I64_MAX:
            consumed -= 1 << 64
        return min(max(self.fuel_reserve - consumed, 0), _M64)

    def set_fuel(self, fuel: int) -> None:
        """Make ``fuel`` (``0 <= fuel < 2**64``) the fuel left."""
        injected = min(fuel, _I64_MAX)
        self.fuel_reserve = fuel - injected
        self.ctx[_FUEL] = (-injected) & _M64

    def refuel(self) -> bool:
        """Out of injected fuel: move the reserve in; ``False`` when no fuel is left."""
        fuel = self.get_fuel()
        if fuel <= 0:
            return False
        self.set_fuel(fuel)
        return True

    # -- resource limits (Wasmtime: StoreLimits, Store::bump_resource_counts) ----------
    def set_limits(self, limits: StoreLimits) -> None:
        """Replace the limits (memories and tables already created see the new ones)."""
        old = self.limits
        for name in StoreLimits.__slots__:
            setattr(old, name, getattr(limits, name))

    def bump_counts(self, memories: int, tables: int) -> None:
        """Count one more instance defining ``memories`` memories and ``tables`` tables;
        raises :class:`WasmtimeError` ("resource limit exceeded: instance count too high
        at 3") past a limit, as Wasmtime does before allocating anything."""
        lim = self.limits
        n = self.instance_count + 1
        if n > lim.instances:
            raise WasmtimeError(f"resource limit exceeded: instance count too high at {n}")
        m = self.memory_count + memories
        if m > lim.memories:
            self.instance_count = n
            raise WasmtimeError(f"resource limit exceeded: memory count too high at {m}")
        t = self.table_count + tables
        if t > lim.tables:
            self.instance_count, self.memory_count = n, m
            raise WasmtimeError(f"resource limit exceeded: table count too high at {t}")
        self.instance_count, self.memory_count, self.table_count = n, m, t

    def new_memory(self, minimum: int, maximum: int | None,
                   is_64: bool = False) -> LinearMemory:
        """A linear memory owned by this store and subject to its ``memory_size`` limit
        (``is_64``: a 64-bit memory, never guarded: its accesses are checked explicitly).

        Raises :class:`WasmtimeError` ("memory minimum size of 3 pages exceeds memory
        limits") when ``minimum`` is over the limit and :class:`MemoryError` when it
        cannot be allocated."""
        if not self.limits.memory_fits(minimum):
            raise WasmtimeError(f"memory minimum size of {minimum} pages exceeds memory limits")
        m = LinearMemory(minimum, maximum, self.guarded and not is_64, is_64)
        m.limiter = self.limits
        self.memories.append(m)
        return m

    def new_table(self, elem: int, minimum: int, maximum: int | None,
                  init: int = 0, host: bool = True,
                  elements: ctypes.Array | None = None, is_64: bool = False) -> TableData:
        """A table owned by this store and subject to its ``table_elements`` limit
        (``host``: created by the embedder, kept alive by the store; ``elements``: an
        element array to reuse, see :class:`TableData`).

        Raises :class:`WasmtimeError` ("table minimum size of 11 elements exceeds table
        limits") and :class:`MemoryError` like :meth:`new_memory`."""
        if not self.limits.table_fits(minimum):
            raise WasmtimeError(f"table minimum size of {minimum} elements exceeds table limits")
        t = TableData(elem, minimum, maximum, init, elements, is_64)
        t.limiter = self.limits
        if host:
            self.keep.append(t)
        return t

    # -- externref handles ------------------------------------------------------------
    def extern_handle(self, obj: Any) -> int:
        """The handle (>= 1) of ``obj``; ``None`` is the null reference, 0."""
        if obj is None:
            return 0
        h = self._extern_ids.get(id(obj))
        if h is None:
            if len(self._extern_ids) >= self._gc_threshold and not self.running:
                self.gc(protect_recent=True)
                self._gc_threshold = max(GC_MIN_HANDLES, 2 * len(self._extern_ids))
            if self._free_handles:
                h = self._free_handles.pop()
                self.externs[h - 1] = obj
            else:
                self.externs.append(obj)
                h = len(self.externs)
            self._extern_ids[id(obj)] = h
        self._recent.append(h)
        return h

    def extern_object(self, handle: int) -> Any:
        """The object behind ``handle`` (``None`` for 0 or an unknown handle)."""
        if not handle or handle > len(self.externs):
            return None
        return self.externs[handle - 1]

    def _tables_and_globals(self) -> tuple[list[TableData], list[GlobalData]]:
        tables: dict[int, TableData] = {}
        globs: dict[int, GlobalData] = {}
        for inst in self.instances:
            for t in inst.tables:
                tables[id(t)] = t
            for g in inst.globals:
                globs[id(g)] = g
        for obj in self.keep:
            if isinstance(obj, TableData):
                tables[id(obj)] = obj
            elif isinstance(obj, GlobalData):
                globs[id(obj)] = obj
        return list(tables.values()), list(globs.values())

    def gc(self, protect_recent: bool = False) -> int:
        """Release the externref handles no externref table or global of the store
        holds; returns how many were released.

        Does nothing while wasm runs on the store (its frames may hold handles).
        ``protect_recent`` also keeps the last :data:`RECENT_HANDLES` handles looked up
        (the automatic collection, which may run in the middle of an API call)."""
        if self.running or not self._extern_ids:
            return 0
        live: set[int] = set()
        tables, globs = self._tables_and_globals()
        for t in tables:
            if t.elem == EXTERNREF and t.size:
                live.update(t.elements[:t.size])
        for g in globs:
            if g.valtype == EXTERNREF:
                live.add(g.vm[0])
        if protect_recent:
            live.update(self._recent)
        else:
            self._recent.clear()
        released = 0
        externs = self.externs
        for oid, h in list(self._extern_ids.items()):
            if h not in live:
                del self._extern_ids[oid]
                externs[h - 1] = None
                self._free_handles.append(h)
                released += 1
        return released

    # -- backtrace --------------------------------------------------------------------
    def backtrace(self) -> list[int]:
        """Return addresses recorded by the last trap, innermost first."""
        n = min(self.ctx[vo.STORE_BACKTRACE_LEN // 8], vo.BACKTRACE_MAX)
        base = vo.STORE_BACKTRACE // 8
        return [self.ctx[base + i] for i in range(n)]

    def take_pending(self) -> BaseException | None:
        exc, self.pending = self.pending, None
        return exc

    def close(self) -> None:
        """Free every memory, unregister every instance and release every externref
        (idempotent)."""
        if self.closed:
            return
        self.closed = True
        for inst in self.instances:
            unregister(inst)
            inst.release()
        # each instance refers to this store: without the list, the instances and
        # the store go by reference counting, not by a cycle collection
        self.instances.clear()
        for m in self.memories:
            m.free()
        self.memories.clear()
        self.externs.clear()
        self._extern_ids.clear()
        self._free_handles.clear()
        self._recent.clear()
