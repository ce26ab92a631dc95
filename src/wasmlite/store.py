"""``Store``: the owner of every runtime object — instances, functions, memories,
tables, globals, externref handles (wasmtime-py: ``wasmtime.Store``).

Objects belong to the store that created them; passing one with another store raises
:class:`WasmtimeError` ("object used with the wrong store").  Memory reservations are
released when the Store is garbage collected.
"""

from __future__ import annotations

import itertools
import threading
import weakref
from typing import TYPE_CHECKING, Any

from .engine import Engine
from .environ import vmoffsets as vo
from .environ.module import ModuleInfo
from .errors import Frame, Trap, TrapCode, WasmtimeError
from .runtime.store import StoreData

if TYPE_CHECKING:
    from .func import Func
    from .wasi import WasiConfig

_ids = itertools.count(1)


class Store:
    """A collection of instances and host objects.

    ``engine`` defaults to a new ``Engine()``; ``data`` is any user value, returned by
    :meth:`data`.  Raises :class:`TypeError` when ``engine`` is not an :class:`Engine`.
    """

    def __init__(self, engine: Engine | None = None, data: Any = None):
        if engine is None:
            engine = Engine()
        elif not isinstance(engine, Engine):
            raise TypeError("expected an Engine")
        self._engine = engine
        self._data = data
        self._id = next(_ids)
        self._wl_store = self
        self._rt = StoreData(effective_max_stack(engine._max_wasm_stack),
                             engine._signals_tls_key is not None)
        #: VMFuncRef address -> Func wrapper (created lazily)
        self._funcs: dict[int, Func] = {}
        #: VMFuncRef address -> (FuncType, entry trampoline address)
        self._funcref_info: dict[int, tuple[Any, int]] = {}
        #: id(runtime memory/table/global) -> its API wrapper
        self._wrappers: dict[int, Any] = {}
        #: compiled code of every module instantiated here, for backtraces
        self._codes: list[tuple[Any, ModuleInfo]] = []
        self._wasi_ctx: Any = None
        self._fuel: int | None = None
        self._finalizer = weakref.finalize(self, self._rt.close)

    @property
    def engine(self) -> Engine:
        return self._engine

    def data(self) -> Any:
        """The user data given to the constructor."""
        return self._data

    # -- WASI -------------------------------------------------------------------------
    def set_wasi(self, wasi: WasiConfig) -> None:
        """Configure WASI for this store: the context is ``wasmlite.wasi.WasiCtx(wasi)``,
        available as :attr:`wasi_ctx` to the functions ``Linker.define_wasi`` adds."""
        from .wasi import WasiConfig, WasiCtx

        if not isinstance(wasi, WasiConfig):
            raise TypeError("expected a WasiConfig")
        self._wasi_ctx = WasiCtx(wasi)

    @property
    def wasi_ctx(self) -> Any:
        """The ``WasiCtx`` set by :meth:`set_wasi` (``None`` before)."""
        return self._wasi_ctx

    # -- compatibility ----------------------------------------------------------------
    def gc(self) -> None:
        """Accepted for compatibility: externrefs live as long as the store."""

    def set_fuel(self, fuel: int) -> None:
        """Fuel is not implemented: raises :class:`WasmtimeError` unless the engine was
        configured with ``consume_fuel`` (then it is only recorded)."""
        if not self._engine._flags.get("consume_fuel"):
            raise WasmtimeError("fuel is not configured in this store")
        self._fuel = fuel

    def get_fuel(self) -> int:
        if not self._engine._flags.get("consume_fuel") or self._fuel is None:
            raise WasmtimeError("fuel is not configured in this store")
        return self._fuel

    def set_epoch_deadline(self, ticks_after_current: int) -> None:
        """Accepted for compatibility (epoch interruption is not implemented yet)."""

    def set_limits(self, memory_size: int = -1, table_elements: int = -1,
                   instances: int = -1, tables: int = -1, memories: int = -1) -> None:
        """Accepted for compatibility (resource limits are not enforced yet)."""

    # -- internals --------------------------------------------------------------------
    def _func_from_addr(self, addr: int) -> Func | None:
        """The :class:`Func` of the VMFuncRef at ``addr`` (``None`` for 0)."""
        if not addr:
            return None
        f = self._funcs.get(addr)
        if f is None:
            from .func import Func

            info = self._funcref_info.get(addr)
            if info is None:
                raise WasmtimeError(f"unknown function reference {addr:#x}")
            f = self._funcs[addr] = Func._from_funcref(self, addr, info[0], info[1])
        return f

    def _trap(self, status: int) -> BaseException:
        """The exception for a non-zero entry status (a pending host exception is
        returned as is)."""
        if status == vo.STATUS_HOST_EXCEPTION:
            exc = self._rt.take_pending()
            return exc if exc is not None else WasmtimeError("host function failed")
        try:
            code = TrapCode(status - vo.STATUS_TRAP_BASE)
        except ValueError:
            return Trap(f"wasm trap: unknown trap status {status}")
        return Trap.from_code(code, self._frames())

    def _frames(self) -> list[Frame]:
        """Frames of the last trap's backtrace (innermost first).

        ``CompiledCode.symbolize`` maps a return address to a defined-function index, or
        to ``(index, module offset of the instruction)``; without an instruction offset
        the frame points at the function's start.  ``func_offset`` is relative to the
        function's start (its locals declarations), as in Wasmtime.
        """
        frames = []
        for ret in self._rt.backtrace():
            for code, info in self._codes:
                r = code.symbolize(ret)
                if r is None:
                    continue
                offset = None
                if isinstance(r, tuple):
                    r, offset = r
                funcidx = info.num_imported_funcs + r
                start = _func_start(info, r)
                if offset is None:
                    offset = start
                frames.append(Frame(funcidx, info.func_name(funcidx), info.names.module,
                                    offset - start, offset))
                break
        return frames


def _func_start(info: ModuleInfo, defidx: int) -> int:
    """Module offset where defined function ``defidx`` starts (just after the code
    entry's size field)."""
    if defidx >= len(info.codes):
        return 0
    pos = info.codes[defidx].offset
    data = info.bytes
    while pos < len(data) and data[pos] & 0x80:
        pos += 1
    return pos + 1


def effective_max_stack(requested: int) -> int:
    """``Config.max_wasm_stack`` capped so that wasm (plus the host frames between
    nested calls) cannot run past the native thread stack: at most the stack size of new
    threads (``threading.stack_size()``, else the ``RLIMIT_STACK`` soft limit, else
    glibc's 2 MiB default for unlimited) minus 256 KiB for the interpreter."""
    size = threading.stack_size()
    if not size:
        try:
            import resource

            soft = resource.getrlimit(resource.RLIMIT_STACK)[0]
            size = soft if soft != resource.RLIM_INFINITY else 2 << 20
        except (ImportError, OSError, ValueError):
            size = 2 << 20
    return max(64 << 10, min(requested, size - (256 << 10)))


def store_of(store: Any) -> Store:
    """The :class:`Store` behind a store or a :class:`~wasmlite.Caller`; anything else
    raises :class:`TypeError` ("expected a Store")."""
    try:
        return store._wl_store
    except AttributeError:
        raise TypeError("expected a Store") from None


def check_store(obj_store_id: int, store: Any) -> Store:
    """``store_of(store)``, raising :class:`WasmtimeError` unless it owns the object."""
    st = store_of(store)
    if st._id != obj_store_id:
        raise WasmtimeError("object used with the wrong store")
    return st
