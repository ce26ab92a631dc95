"""``Func`` and ``Caller`` (wasmtime-py: ``wasmtime.Func``, ``wasmtime.Caller``).

A ``Func`` is a ``VMFuncRef`` (``environ/vmoffsets.py``) in a store: a wasm function of
an instance, or a host function.  Calling one from Python goes through the entry
trampoline of its type: the arguments are written into an array of 16-byte slots,
the trampoline runs the function (catching traps with ``setjmp``/``longjmp``) and a
non-zero status becomes a :class:`Trap`, or the exception a host function raised.

A host function is a ``VMHostContext`` whose callback is a ctypes callback
``int32(ptr host_ctx, ptr values)``; the JIT-compiled host stub of its type spills the
wasm arguments into slots, calls it, and traps with its status when it is not 0.
"""

from __future__ import annotations

import ctypes
import itertools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from . import values as _values
from .environ import module as em
from .environ import vmoffsets as vo
from .errors import Trap, TrapCode, WasmtimeError, str_arg
from .runtime.routines import resolve
from .store import DEAD_CALLER, Store, check_store, not_a_store, store_mismatch, store_of
from .types import FuncType
from .values import Sig, sig_of

if TYPE_CHECKING:
    from .instance import Instance

#: ``int32 callback(ptr host_ctx, ptr values)``
HOST_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.c_void_p, ctypes.c_void_p)
_host_ids = itertools.count(1)
_M64 = (1 << 64) - 1
_STACK_LIMIT_SLOT = vo.STORE_STACK_LIMIT // 8
#: Python frames a host callback needs to start and report an error
_PY_STACK_MARGIN = 60


def _probe(n: int) -> None:
    if n:
        _probe(n - 1)


def _python_stack_low() -> bool:
    """Whether fewer than ``_PY_STACK_MARGIN`` Python frames remain before
    ``RecursionError`` (probed, because the C-level calls ctypes makes count too)."""
    try:
        _probe(_PY_STACK_MARGIN)
    except RecursionError:
        return True
    return False


class Func:
    """A function in a store.

    ``Func(store, ty, func, access_caller=False)`` makes a host function of
    :class:`FuncType` ``ty`` that calls ``func`` with Python values (and a
    :class:`Caller` first when ``access_caller``).  ``func`` returns ``None`` for no
    results, a value for one, a tuple/list for several.  Raises :class:`TypeError` when
    ``store`` is not a :class:`Store` (a Caller is not one here, as in wasmtime-py) or
    ``ty`` not a FuncType, :class:`ValueError` when either is closed.  As in
    wasmtime-py, ``func`` is not checked: calling a non-callable raises
    :class:`TypeError` from the call.
    """

    __slots__ = ("_store_id", "_addr", "_ft", "_sig", "_entry", "_layout", "_func_ptr",
                 "_vmctx", "_host", "__weakref__")

    def __init__(self, store: Store, ty: FuncType, func: Callable[..., Any],
                 access_caller: bool = False):
        if not isinstance(store, Store):
            raise TypeError("expected a Store")
        if not isinstance(ty, FuncType):
            raise TypeError("expected a FuncType")
        st = store_of(store)
        ft = ty._live()._ft
        access_caller = bool(access_caller)
        addr, entry, binding = _new_host_funcref(st, ft, func, access_caller)
        #: (function, access_caller, (callback address, callers)): see bind_import
        self._host = (func, access_caller, binding)
        self._init(st, addr, ft, entry)
        st._funcs[addr] = self

    def _init(self, st: Store, addr: int, ft: em.FuncType, entry: int) -> None:
        self._store_id = st._id
        self._addr = addr
        self._ft = ft
        self._sig = sig_of(ft)
        self._entry = st._engine._entry_fn(entry)
        self._layout = st._engine._layout(ft)
        self._func_ptr = ctypes.c_uint64.from_address(addr + vo.FUNCREF_FUNC_PTR).value
        self._vmctx = ctypes.c_uint64.from_address(addr + vo.FUNCREF_VMCTX).value

    @classmethod
    def _from_funcref(cls, st: Store, addr: int, ft: em.FuncType, entry: int) -> Func:
        f = cls.__new__(cls)
        f._host = None
        f._init(st, addr, ft, entry)
        return f

    def type(self, store: Store) -> FuncType:
        """This function's :class:`FuncType`."""
        _check(self, store)
        return FuncType._from(self._ft)

    def __call__(self, store: Store, *params: Any) -> Any:
        """Call the function with Python values (or :class:`Val`\\ s).

        Returns ``None`` for no results, the value for one, a list for several.  Raises
        :class:`WasmtimeError` for a wrong number of arguments or a reference of another
        store, :class:`TypeError` for an argument of the wrong type, :class:`Trap` when
        wasm traps, and re-raises any exception a host function raised (e.g.
        ``ExitTrap`` from WASI ``proc_exit``).  A ``store`` that is not a Store or
        Caller raises :class:`AttributeError`, a closed one :class:`ValueError`, another
        store :class:`WasmtimeError` (wasmtime-py 50 aborts the process there).
        """
        try:
            st = store._wl_store
        except AttributeError:
            raise not_a_store(store) from None
        if st._id != self._store_id:
            raise store_mismatch(store)
        sig = self._sig
        n = len(params)
        if n != sig.nparams:
            if n > sig.nparams:
                raise WasmtimeError(f"too many parameters provided: given {n}, expected {sig.nparams}")
            raise WasmtimeError(f"too few parameters provided: given {n}, expected {sig.nparams}")
        if st._rt.ctx[_STACK_LIMIT_SLOT] and _python_stack_low():
            # re-entered from a host function with little Python stack left: a ctypes
            # callback that cannot even start would silently return garbage
            raise Trap.from_code(TrapCode.STACK_OVERFLOW)
        buf = sig.buf_type()
        if n:
            try:
                Sig.pack(st, sig.ft.params, sig.fast_params, sig.raw_params, buf, params,
                         sig.float_params)
            except WasmtimeError:  # a funcref of another store
                raise WasmtimeError("argument type mismatch\n\nCaused by:\n    value used "
                                    "with wrong store\n") from None
        try:
            status = self._entry(self._func_ptr, self._vmctx, buf, self._layout)
        except ctypes.ArgumentError as e:  # argument conversion ran out of Python stack
            if "RecursionError" in str(e):
                raise Trap.from_code(TrapCode.STACK_OVERFLOW) from None
            raise
        if status:
            raise st._trap(status)
        nr = sig.nresults
        if nr == 0:
            return None
        res = Sig.unpack(st, sig.ft.results, sig.out_results, sig.conv_results, buf)
        return res[0] if nr == 1 else list(res)

    def call_raw(self, store: Store, *params: Any) -> list[Any]:
        """Call with numbers given and returned as bit patterns (wasmlite extension).

        i32/f32 are unsigned 32-bit patterns, i64/f64 unsigned 64-bit ones, v128 a
        128-bit int; references are Python values as in :meth:`__call__`.  Unlike
        ``__call__`` this keeps every NaN payload.  Always returns a list.
        """
        st = _check(self, store)
        sig = self._sig
        ft = sig.ft
        if len(params) != sig.nparams:
            raise WasmtimeError(f"wrong number of parameters provided: given {len(params)}, "
                                f"expected {sig.nparams}")
        buf = sig.buf_type()
        words: list[int] = []
        for k, v in zip(ft.params, params, strict=True):
            r = _values.to_raw(st, k, v) if k in em.REF_TYPES else int(v)
            words += (r & _M64, (r >> 64) & _M64)
        if words:
            sig.raw_params.pack_into(buf, 0, *words)
        status = self._entry(self._func_ptr, self._vmctx, buf, self._layout)
        if status:
            raise st._trap(status)
        out = sig.raw_results.unpack_from(buf) if sig.nresults else ()
        res: list[Any] = []
        for i, k in enumerate(ft.results):
            lo, hi = out[2 * i], out[2 * i + 1]
            if k in em.REF_TYPES:
                res.append(_values.from_raw(st, k, lo))
            elif k == em.V128:
                res.append(lo | (hi << 64))
            elif k in (em.I32, em.F32):
                res.append(lo & 0xFFFFFFFF)
            else:
                res.append(lo)
        return res

    def __repr__(self) -> str:
        return f"<wasmlite.Func {self._ft}>"


def _check(obj: Any, store: Any) -> Store:
    return check_store(obj._store_id, store)


class Caller:
    """The context a host function created with ``access_caller=True`` receives first.

    ``caller["name"]`` / ``caller.get("name")`` look up an export of the calling
    instance (``KeyError`` / ``None`` when missing); a Caller can be passed wherever a
    store is expected.  It is valid only during the host call.
    """

    __slots__ = ("_wl_store", "_instance")

    def __init__(self, store: Store, instance: Instance | None):
        self._wl_store: Any = store
        self._instance = instance

    def _invalidate(self) -> None:
        """The host call returned: from now on the caller stands for no store
        (:class:`ValueError` "caller is no longer valid" where one is expected)."""
        self._wl_store = DEAD_CALLER
        self._instance = None

    @property
    def store(self) -> Store:
        """The calling store (wasmlite extension); :class:`ValueError` once the host
        call returned."""
        return store_of(self)

    def data(self) -> Any:
        return store_of(self).data()

    @property
    def wasi_ctx(self) -> Any:
        return store_of(self).wasi_ctx

    def get(self, name: str) -> Any:
        """The export ``name`` of the calling instance, or ``None`` (also once the host
        call returned); :class:`AttributeError` unless ``name`` is a ``str``, as in
        wasmtime-py."""
        str_arg(name)
        if self._instance is None:
            return None
        return self._instance._exports(store_of(self))[1].get(name)

    def __getitem__(self, name: str) -> Any:
        item = self.get(name)
        if item is None:
            raise KeyError(f"failed to find export {name}")
        return item


def _make_callback(st: Store, ft: em.FuncType, func: Callable[..., Any], access_caller: bool,
                   callers: dict[int, Instance] | None) -> Any:
    """The ctypes callback behind a host function's VMHostContexts.  With
    ``access_caller``, ``callers`` maps the address of each VMHostContext made for an
    importing instance (``bind_import``) to that instance, which the callback's
    :class:`Caller` then sees (no instance for any other context)."""
    rt = st._rt
    sig = sig_of(ft)
    arr_t = ctypes.c_char * sig.size
    params, results = ft.params, ft.results
    nparams, nresults = sig.nparams, sig.nresults
    out_params, conv_params = sig.out_params, sig.conv_params
    fast_results, raw_results = sig.fast_results, sig.raw_results
    float_results = sig.float_results
    unpack, pack = Sig.unpack, Sig.pack
    status_exc = vo.STATUS_HOST_EXCEPTION

    def callback(host_ctx: int, values: int) -> int:
        try:
            buf = arr_t.from_address(values) if (nparams or nresults) else None
            args = unpack(st, params, out_params, conv_params, buf) if nparams else ()
            if access_caller:
                caller = Caller(st, callers.get(host_ctx))  # type: ignore[union-attr]
                try:
                    r = func(caller, *args)
                finally:
                    caller._invalidate()
            else:
                r = func(*args)
            if nresults == 0:
                if r is not None:
                    raise WasmtimeError("callback produced results when it shouldn't")
            elif nresults == 1:
                pack(st, results, fast_results, raw_results, buf, (r,), float_results)
            else:
                if not isinstance(r, (tuple, list)):
                    r = tuple(r)  # any sequence, as wasmtime-py (TypeError otherwise)
                if len(r) != nresults:
                    raise WasmtimeError("callback produced wrong number of results")
                pack(st, results, fast_results, raw_results, buf, r, float_results)
            return 0
        except BaseException as e:  # noqa: B036 - re-raised by the caller of the entry
            if isinstance(e, RecursionError):
                # host <-> wasm recursion that exhausted Python's stack before the native
                # one: report it like wasm's own stack exhaustion
                e = Trap.from_code(TrapCode.STACK_OVERFLOW)
            rt.pending = e
            return status_exc

    return HOST_CALLBACK(callback)


_HOSTCTX = ctypes.c_uint64 * (vo.HOSTCTX_SIZE // 8)
_FUNCREF = ctypes.c_uint64 * (vo.FUNCREF_SIZE // 8)


def _new_host_funcref(st: Store, ft: em.FuncType, func: Callable[..., Any],
                      access_caller: bool) -> tuple[int, int, tuple[int, Any]]:
    """Make the callback of a host function and a VMHostContext + VMFuncRef for it;
    returns ``(funcref address, entry trampoline address, (callback address,
    callers))``, ``callers`` being the callback's instance map (``None`` without
    ``access_caller``)."""
    callers: dict[int, Instance] | None = {} if access_caller else None
    cb = _make_callback(st, ft, func, access_caller, callers)
    cb_addr = ctypes.cast(cb, ctypes.c_void_p).value
    addr, entry, _ = _host_funcref(st, ft, cb_addr, cb)
    return addr, entry, (cb_addr, callers)


def _host_funcref(st: Store, ft: em.FuncType, cb_addr: int, keep: Any) -> tuple[int, int, int]:
    """A VMHostContext calling the callback at ``cb_addr`` and a VMFuncRef for it, both
    kept (with ``keep``, the callback object) as long as the store; returns
    ``(funcref address, entry trampoline address, VMHostContext address)``."""
    engine = st._engine
    resolve()   # Python may call the entry trampoline at once (a host Func's __call__)
    entry, stub = engine._host_trampolines(ft)
    hostctx = _HOSTCTX()
    hostctx[vo.HOSTCTX_STORE_CTX // 8] = st._rt.ctx_addr
    hostctx[vo.HOSTCTX_CALLBACK // 8] = cb_addr
    hostctx[vo.HOSTCTX_HOST_ID // 8] = next(_host_ids)
    hostctx[vo.HOSTCTX_LAYOUT // 8] = engine._layout(ft)
    hostctx_addr = ctypes.addressof(hostctx)
    funcref = _FUNCREF()
    funcref[vo.FUNCREF_FUNC_PTR // 8] = stub
    funcref[vo.FUNCREF_TYPE_ID // 8] = engine._sig_id(ft)
    funcref[vo.FUNCREF_VMCTX // 8] = hostctx_addr
    st._rt.keep.append((keep, hostctx, funcref))
    addr = ctypes.addressof(funcref)
    st._funcref_info[addr] = (ft, entry)
    return addr, entry, hostctx_addr


def bind_import(st: Store, f: Func, instance: Instance) -> int:
    """The VMFuncRef an instance importing ``f`` should use: ``f``'s own, or for a host
    function with ``access_caller`` a VMFuncRef of its own, with a VMHostContext that
    the function's callback maps to ``instance`` (whose exports its Caller sees)."""
    host = f._host
    if host is None or not host[1]:
        return f._addr
    cb_addr, callers = host[2]
    addr, _, hostctx_addr = _host_funcref(st, f._ft, cb_addr, None)
    callers[hostctx_addr] = instance
    st._funcs[addr] = f
    return addr


_values.FUNC_CLASS = Func
