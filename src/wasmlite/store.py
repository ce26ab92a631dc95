"""``Store``: the owner of every runtime object — instances, functions, memories,
tables, globals, externref handles (wasmtime-py: ``wasmtime.Store``).

Objects belong to the store that created them; passing one with another store raises
:class:`WasmtimeError` ("object used with the wrong store"; wasmtime-py 50 aborts the
process there).  Where a store is expected, anything but a :class:`Store` or a
:class:`~wasmlite.Caller` raises :class:`AttributeError`, a closed store or a Caller
kept past its host call :class:`ValueError` ("already closed", "caller is no longer
valid"), as in wasmtime-py (:func:`store_of`).  Memory reservations are released when
the Store is garbage collected (``close()`` only invalidates the store).

Threads: wasm runs with the GIL released, so stores on different Python threads run
in parallel (host functions take the GIL back).  One store runs wasm on one thread at a
time: calling into it from a second thread while the first is inside wasm raises
:class:`WasmtimeError` ("store is already running WebAssembly on another thread").
"""

from __future__ import annotations

import bisect
import ctypes
import itertools
import weakref
from typing import TYPE_CHECKING, Any

from .engine import Engine
from .environ import vmoffsets as vo
from .environ.module import ModuleInfo
from .errors import Frame, Trap, TrapCode, WasmtimeError, c_int_arg, managed_arg
from .managed import Managed
from .runtime.store import StoreData

if TYPE_CHECKING:
    from .func import Func
    from .wasi import WasiConfig

_ids = itertools.count(1)
_M64 = (1 << 64) - 1


class Store(Managed):
    """A collection of instances and host objects.

    ``engine`` defaults to a new ``Engine()``; ``data`` is any user value, returned by
    :meth:`data`.  Raises :class:`TypeError` when ``engine`` is not an :class:`Engine`
    and :class:`ValueError` when it is closed.  After :meth:`close`, using the store or
    any object of it raises :class:`ValueError` ("already closed").
    """

    _closed = False

    @property
    def _wl_store(self) -> Store:
        """The store itself (a :class:`~wasmlite.Caller` has the same attribute).  A
        property, not an attribute: a store that referred to itself would be a cycle,
        and its instances and memories would wait for Python's cycle collector instead
        of going when the last reference does (a full collection every few thousand
        instances: 25 µs per instance in ``benchmarks/calls.py``)."""
        return self

    def __init__(self, engine: Engine | None = None, data: Any = None):
        if engine is None:
            engine = Engine()
        elif not isinstance(engine, Engine):
            raise TypeError("expected an Engine")
        engine._live()
        self._engine = engine
        self._data = data
        self._id = next(_ids)
        self._rt = StoreData(engine._max_wasm_stack,
                             engine._signals_tls_key is not None, engine._epoch_addr)
        #: VMFuncRef address -> Func wrapper (created lazily)
        self._funcs: dict[int, Func] = {}
        #: VMFuncRef address -> (FuncType, entry trampoline address)
        self._funcref_info: dict[int, tuple[Any, int]] = {}
        #: id(runtime memory/table/global) -> its API wrapper
        self._wrappers: dict[int, Any] = {}
        #: the VMFuncRef arrays of the instances made here, sorted by address:
        #: ``_funcref_starts[i]`` is where ``_funcref_ranges[i] = (start, end,
        #: ModuleInfo, compiled code)`` begins (``_func_from_addr`` finds a defined
        #: function's type and entry trampoline there)
        self._funcref_starts: list[int] = []
        self._funcref_ranges: list[tuple[int, int, ModuleInfo, Any]] = []
        #: compiled code of every module instantiated here, for backtraces
        self._codes: list[tuple[Any, ModuleInfo]] = []
        self._code_ids: set[int] = set()
        self._wasi_ctx: Any = None
        self._finalizer = weakref.finalize(self, self._rt.close)

    @property
    def engine(self) -> Engine:
        return self._engine

    def close(self) -> None:
        """Close the store (wasmtime-py: ``Managed.close``): using it, or any object of
        it, raises :class:`ValueError` ("already closed") from now on.  Its memories
        and code are released when the last reference to them goes."""
        self._closed = True
        self._id = -1  # objects of this store no longer match it

    def data(self) -> Any:
        """The user data given to the constructor."""
        return self._live()._data

    # -- WASI -------------------------------------------------------------------------
    def set_wasi(self, wasi: WasiConfig) -> None:
        """Configure WASI for this store: the context is ``wasmlite.wasi.WasiCtx(wasi)``,
        available as :attr:`wasi_ctx` to the functions ``Linker.define_wasi`` adds.

        As in wasmtime-py, the configuration is consumed: using it afterwards (even for
        another ``set_wasi``) raises ``ValueError("already closed")``."""
        from .wasi import WasiConfig, WasiCtx

        self._live()
        ctx = WasiCtx(managed_arg(wasi, WasiConfig, 2))
        wasi._consume()
        if self._wasi_ctx is not None:
            self._wasi_ctx.close()
        self._wasi_ctx = ctx

    @property
    def wasi_ctx(self) -> Any:
        """The ``WasiCtx`` set by :meth:`set_wasi` (``None`` before)."""
        return self._wasi_ctx

    # -- externref collection -----------------------------------------------------
    def gc(self) -> None:
        """Release the Python objects passed to wasm as ``externref`` that no table or
        global of this store holds any more (wasmtime-py: ``Store.gc``).

        An object stays alive while wasm can reach it: while a table element or global
        holds it, or while wasm runs on this store (so a call from a host function
        that wasm called does nothing).  The store also collects by itself when the
        number of live externrefs doubles."""
        self._live()._rt.gc()

    # -- fuel ---------------------------------------------------------------------
    def set_fuel(self, fuel: int) -> None:
        """Set the fuel left to ``fuel`` (wasmtime-py: ``Store.set_fuel``).

        Code compiled with ``Config.consume_fuel`` consumes one unit per instruction
        (none for ``nop``, ``drop``, ``block``, ``loop``, ``end``, ``else``,
        ``return``, ``unreachable``), one per function call, and the size of bulk
        memory/table operations and of successful ``memory.grow``/``table.grow``; it
        checks at function entries, loop headers and those operations and traps with
        ``TrapCode.OUT_OF_FUEL`` ("all fuel consumed by WebAssembly") when the fuel is
        used up.  A store starts with 0.  Raises :class:`WasmtimeError` ("fuel is not
        configured in this store") unless the engine's config has ``consume_fuel`` and
        ``ctypes.ArgumentError`` (:class:`~wasmlite.errors.ArgumentError`) for a
        non-integer, as wasmtime-py; like wasmtime-py (a C ``uint64_t``) it takes
        ``fuel`` modulo ``2**64``, so ``-1`` is the most fuel there is."""
        self._live()
        c_int_arg(fuel, 2)
        if not self._engine._consume_fuel:
            raise WasmtimeError("fuel is not configured in this store")
        self._rt.set_fuel(fuel & _M64)

    def get_fuel(self) -> int:
        """The fuel left (wasmtime-py: ``Store.get_fuel``); raises
        :class:`WasmtimeError` ("fuel is not configured in this store") unless the
        engine's config has ``consume_fuel``."""
        if not self._live()._engine._consume_fuel:
            raise WasmtimeError("fuel is not configured in this store")
        return self._rt.get_fuel()

    # -- epochs -------------------------------------------------------------------
    def set_epoch_deadline(self, ticks_after_current: int) -> None:
        """Trap wasm ``ticks_after_current`` epochs after the engine's current one
        (wasmtime-py: ``Store.set_epoch_deadline``).

        Only code compiled with ``Config.epoch_interruption`` checks it (at function
        entries and loop headers), trapping with ``TrapCode.INTERRUPT`` ("wasm trap:
        interrupt") once ``Engine.increment_epoch`` has reached the deadline.  A new
        store's deadline is 0, so such code traps at once until one is set, as in
        Wasmtime.  Raises ``ctypes.ArgumentError`` for a non-integer, as wasmtime-py;
        ``ticks_after_current`` is taken modulo ``2**64`` (a C ``uint64_t`` in
        wasmtime-py) and the deadline saturates at ``2**64 - 1`` (never)."""
        self._live()
        c_int_arg(ticks_after_current, 2)
        deadline = min(self._engine._current_epoch + (ticks_after_current & _M64), _M64)
        self._rt.ctx[vo.STORE_EPOCH_DEADLINE // 8] = deadline

    # -- resource limits ----------------------------------------------------------
    def set_limits(self, memory_size: int = -1, table_elements: int = -1,
                   instances: int = -1, tables: int = -1, memories: int = -1) -> None:
        """Limit the resources of this store (wasmtime-py: ``Store.set_limits``).

        ``memory_size``: bytes per linear memory (``memory.grow`` beyond it returns -1,
        ``Memory.grow`` raises, instantiating a module whose memory starts bigger raises
        :class:`WasmtimeError` "memory minimum size of N pages exceeds memory limits");
        ``table_elements``: elements per table (likewise); ``instances``, ``tables``,
        ``memories``: how many instances, and memories/tables defined by modules, the
        store may create ("resource limit exceeded: instance count too high at N").  A
        negative value means the default: unlimited sizes, 10000 of each count.  Each
        call replaces all the limits, as in wasmtime-py.  ``ctypes.ArgumentError`` for a
        non-integer, as wasmtime-py."""
        self._live()
        for pos, v in enumerate((memory_size, table_elements, instances, tables, memories), 2):
            c_int_arg(v, pos)
        from .runtime.store import DEFAULT_COUNT_LIMIT, StoreLimits

        def count(v: int) -> int:
            return v if v >= 0 else DEFAULT_COUNT_LIMIT

        self._rt.set_limits(StoreLimits(
            memory_size if memory_size >= 0 else None,
            table_elements if table_elements >= 0 else None,
            count(instances), count(tables), count(memories)))

    # -- internals --------------------------------------------------------------------
    def _func_from_addr(self, addr: int) -> Func | None:
        """The :class:`Func` of the VMFuncRef at ``addr`` (``None`` for 0)."""
        if not addr:
            return None
        f = self._funcs.get(addr)
        if f is None:
            from .func import Func

            info = self._funcref_info.get(addr) or self._defined_funcref(addr)
            if info is None:
                raise WasmtimeError(f"unknown function reference {addr:#x}")
            f = self._funcs[addr] = Func._from_funcref(self, addr, info[0], info[1])
        return f

    def _register_code(self, module: Any, code: Any, info: ModuleInfo) -> None:
        """Keep ``module`` alive as long as this store and record its compiled code
        for backtraces (once per module)."""
        key = id(code)
        if key not in self._code_ids:
            self._code_ids.add(key)
            self._rt.keep.append(module)
            self._codes.append((code, info))

    def _register_funcrefs(self, rt: Any, code: Any, info: ModuleInfo) -> None:
        """Record instance ``rt``'s VMFuncRef array (of module ``info`` compiled as
        ``code``) for :meth:`_func_from_addr`."""
        n = len(info.funcs)
        if not n:
            return
        start = ctypes.addressof(rt.funcref_array)
        i = bisect.bisect(self._funcref_starts, start)
        self._funcref_starts.insert(i, start)
        self._funcref_ranges.insert(i, (start, start + vo.FUNCREF_SIZE * n, info, code))

    def _defined_funcref(self, addr: int) -> tuple[Any, int] | None:
        """``(FuncType, entry trampoline address)`` of the defined function whose
        VMFuncRef is at ``addr``, or ``None`` when no instance of this store has one
        there."""
        i = bisect.bisect(self._funcref_starts, addr) - 1
        if i < 0:
            return None
        start, end, info, code = self._funcref_ranges[i]
        if addr >= end or (addr - start) % vo.FUNCREF_SIZE:
            return None
        typeidx = info.funcs[(addr - start) // vo.FUNCREF_SIZE]
        return info.types[typeidx], code.entry_trampolines[typeidx]

    def _trap(self, status: int) -> BaseException:
        """The exception for a non-zero entry status (a pending host exception is
        returned as is)."""
        if status == vo.STATUS_HOST_EXCEPTION:
            exc = self._rt.take_pending()
            return exc if exc is not None else WasmtimeError("host function failed")
        if status == vo.STATUS_STORE_BUSY:
            return WasmtimeError("store is already running WebAssembly on another thread")
        if status == vo.STATUS_COMPILE_ERROR:
            from .compiler.lazy import take_error

            err = take_error()
            if isinstance(err, WasmtimeError):
                return err
            return WasmtimeError(f"failed to compile a function on its first call: {err}")
        if status == vo.STATUS_WASM_FAULT:
            addr = self._rt.ctx[vo.STORE_FAULT_ADDR // 8]
            return Trap(f"wasm code faulted at address {addr:#x}, outside its linear "
                        "memories (a wasmlite bug: please report it with the module)",
                        None, self._frames())
        try:
            code = TrapCode(status - vo.STATUS_TRAP_BASE)
        except ValueError:
            return Trap(f"wasm trap: unknown trap status {status}")
        return Trap.from_code(code, self._frames())

    def _frames(self) -> list[Frame]:
        """Frames of the last trap's backtrace (innermost first).

        ``CompiledCode.symbolize_frames`` maps each recorded return address (the
        faulting PC + 1 for a memory fault) to the wasm frames at that point: the
        functions LLVM inlined there, then the enclosing one, each with the module
        offset of its trapping or calling instruction (from the code's DWARF line
        table), as Wasmtime reports them; ``func_offset`` is that offset minus the
        function's start (its locals declarations).  Without an offset the frame points
        at the function's start.
        """
        frames = []
        for ret in self._rt.backtrace():
            for code, info in self._codes:
                found = code.symbolize_frames(ret)
                if found is None:
                    continue
                for defidx, offset in found:
                    funcidx = info.num_imported_funcs + defidx
                    start = _func_start(info, defidx)
                    if offset is None:
                        offset = start
                    frames.append(Frame(funcidx, info.func_name(funcidx),
                                        info.names.module, offset - start, offset))
                break
        return frames


def _func_start(info: ModuleInfo, defidx: int) -> int:
    """Module offset where defined function ``defidx`` starts (just after the code
    entry's size field)."""
    if defidx >= len(info.codes):
        return 0
    from .compiler.translate import code_start

    return code_start(info.bytes, info.codes[defidx].offset)


class _DeadCaller:
    """What a :class:`~wasmlite.Caller` stands for once its host call returned."""

    _closed = True
    _id = -1


DEAD_CALLER = _DeadCaller()


def not_a_store(store: Any) -> AttributeError:
    # wasmtime-py: "'int' object has no attribute '_context'"
    return AttributeError(f"expected a Store or Caller, got {type(store).__name__!r} "
                          "(it has no store context)")


def _closed_error(st: Any) -> ValueError:
    if st is DEAD_CALLER:
        return ValueError("caller is no longer valid")
    return ValueError("already closed")


def store_of(store: Any) -> Store:
    """The :class:`Store` behind a store or a :class:`~wasmlite.Caller` (wasmtime-py's
    ``store._context()``).  Raises :class:`AttributeError` for anything else,
    :class:`ValueError` for a closed store ("already closed") or a Caller kept past its
    host call ("caller is no longer valid")."""
    try:
        st = store._wl_store
    except AttributeError:
        raise not_a_store(store) from None
    if st._closed:
        raise _closed_error(st)
    return st


def check_store(obj_store_id: int, store: Any) -> Store:
    """``store_of(store)``, raising :class:`WasmtimeError` ("object used with the wrong
    store") unless it owns the object."""
    st = store_of(store)
    if st._id != obj_store_id:
        raise WasmtimeError("object used with the wrong store")
    return st


def store_mismatch(store: Any) -> Exception:
    """The error for ``store`` not being the store of an object, when a fast path found
    that ``store._wl_store._id`` differs: closed, dead caller or another store."""
    st = store._wl_store
    if st._closed:
        return _closed_error(st)
    return WasmtimeError("object used with the wrong store")
