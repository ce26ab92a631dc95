"""``Engine``: compilation settings plus the state shared by every Store using them
(wasmtime-py: ``wasmtime.Engine``).

The engine owns the signature registry (each distinct function type gets one id, the
value ``call_indirect`` compares: ``vmctx.type_ids[typeidx]`` and ``VMFuncRef.type_id``),
a cache of the trampolines compiled per function type for host functions, and the epoch
counter (Wasmtime's ``Engine::increment_epoch``): a native ``u64`` every Store of the
engine points to (``STORE_EPOCH_PTR``), read by code compiled with
``Config.epoch_interruption``.

The settings compiled code depends on are copied from the :class:`Config` when the
engine is created (later changes to the Config do not affect it): ``_opt_level``,
``_signals_tls_key``, ``_consume_fuel`` and ``_epoch_interruption`` (``Module`` passes
them to ``compiler.compile_module``).
"""

from __future__ import annotations

import ctypes
import os
import threading
from typing import Any

# the validator, the compiler and the LLVM library load with the package, as
# wasmtime-py loads its native library on import (not on an engine's first module)
from . import compiler as _compiler  # noqa: F401
from . import validate as _validate  # noqa: F401
from .config import Config
from .environ import module as em
from .managed import Managed

#: ``i32 entry(ptr func_ptr, ptr callee_vmctx, ptr values, ptr layout)``
ENTRY_PROTO = ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p,
                               ctypes.c_void_p)


class Engine(Managed):
    """A compilation environment.  ``config`` defaults to ``Config()``; anything else
    raises :class:`TypeError`.  The engine consumes ``config``, as in wasmtime-py: using
    it again (for another engine, or to change a setting) raises :class:`ValueError`
    ("already closed"), and so does a closed one.  A closed engine cannot make stores,
    modules or linkers (:class:`ValueError`); those it made keep working."""

    def __init__(self, config: Config | None = None):
        if config is None:
            config = Config()
        elif not isinstance(config, Config):
            raise TypeError("expected Config")
        config._live()
        self._opt_level = config.opt_level
        self._max_wasm_stack = config.max_wasm_stack
        from .runtime import signals

        #: the pthread key under which entry trampolines publish the running store
        #: (runtime/signals.py; the stack-overflow routine and the signal handler read it)
        self._tls_key: int = signals.tls_key()
        #: the same key when traps are signals-based, else None
        self._signals_tls_key: int | None = None
        if config.signals_based_traps and signals.supported():
            self._signals_tls_key = self._tls_key
        self._flags = dict(config._flags)
        #: Config.strategy "auto": functions are compiled on their first call
        self._lazy = self._flags.get("strategy", "auto") in ("auto", "winch")
        #: the first tier of a lazy engine: the baseline compiler ("auto", the default,
        #: and "winch"), or LLVM's first tier with ``WASMLITE_FIRST_TIER=llvm`` (a
        #: developer setting, for tests and benchmarks of that path)
        self._baseline = self._lazy and (self._flags.get("strategy", "auto") == "winch"
                                         or os.environ.get("WASMLITE_FIRST_TIER") != "llvm")
        #: opt level of the entry trampolines and host stubs: "winch" compiles them at
        #: 0 (six times faster to compile, a few instructions more per host call)
        self._trampoline_level = "0" if self._baseline else self._opt_level
        #: Config.consume_fuel / Config.epoch_interruption: code compiled for this engine
        #: counts fuel / checks the epoch (``compile_module(consume_fuel=...,
        #: epoch_interruption=...)``)
        self._consume_fuel = bool(getattr(config, "consume_fuel", False))
        self._epoch_interruption = bool(getattr(config, "epoch_interruption", False))
        #: the epoch counter (u64); its address goes into every Store's context
        self._epoch = ctypes.c_uint64(0)
        self._epoch_addr = ctypes.addressof(self._epoch)
        self._epoch_lock = threading.Lock()
        self._lock = threading.Lock()
        self._sig_ids: dict[em.FuncType, int] = {}
        self._trampolines: dict[em.FuncType, tuple[int, int]] = {}
        self._layouts: dict[em.FuncType, Any] = {}
        self._code: list[Any] = []
        self._entry_fns: dict[int, Any] = {}
        from .runtime import routines

        routines.prepare()
        config.close()  # consumed

    def _sig_id(self, ft: em.FuncType) -> int:
        """The engine-wide signature id of ``ft`` (ids start at 1)."""
        sid = self._sig_ids.get(ft)
        if sid is None:
            with self._lock:
                sid = self._sig_ids.setdefault(ft, len(self._sig_ids) + 1)
        return sid

    def _layout(self, ft: em.FuncType) -> int:
        """The address of ``ft``'s layout for the universal trampolines
        (``trampolines.universal_layout``; kept by the engine), 0 when they do not
        serve ``ft``."""
        lay = self._layouts.get(ft)
        if lay is None:
            from .compiler.trampolines import LAYOUT_WORDS, universal_layout

            words = universal_layout(ft)
            if words is None:
                lay = 0
            else:
                arr = (ctypes.c_int64 * LAYOUT_WORDS)(
                    *(w - (1 << 64) if w >= 1 << 63 else w for w in words))
                lay = (ctypes.addressof(arr), arr)
            with self._lock:
                lay = self._layouts.setdefault(ft, lay)
        return lay[0] if lay else 0

    def _host_trampolines(self, ft: em.FuncType) -> tuple[int, int]:
        """``(entry trampoline, host stub)`` addresses for ``ft``: the process's
        universal ones when they serve ``ft`` (:meth:`_layout`; thunks, callable once
        ``routines.resolve()`` returned), else compiled once."""
        t = self._trampolines.get(ft)
        if t is None and self._layout(ft):
            from .runtime import routines

            # thunks: Module() does not wait for the routines (routines.deferred)
            t = (routines.deferred(routines.UNIVERSAL_ENTRY),
                 routines.deferred(routines.UNIVERSAL_HOST_STUB))
            with self._lock:
                self._trampolines[ft] = t
        if t is None:
            from .compiler import compile_trampolines

            code = compile_trampolines([ft], self._trampoline_level, self._signals_tls_key,
                                       tls_key=self._tls_key)
            t = (code.entry_trampolines[0], code.host_stubs[0])
            with self._lock:
                self._code.append(code)
                self._trampolines[ft] = t
        return t

    def _prepare_trampolines(self, fts: list[em.FuncType]) -> None:
        """Compile the trampolines of every type of ``fts`` not cached yet, in one LLVM
        module (one compilation instead of one per type)."""
        missing = list(dict.fromkeys(ft for ft in fts
                                     if ft not in self._trampolines and not self._layout(ft)))
        if len(missing) < 2:
            return
        from .compiler import compile_trampolines

        code = compile_trampolines(missing, self._trampoline_level, self._signals_tls_key,
                                   tls_key=self._tls_key)
        with self._lock:
            self._code.append(code)
            for i, ft in enumerate(missing):
                self._trampolines.setdefault(ft, (code.entry_trampolines[i], code.host_stubs[i]))

    def _entry_fn(self, addr: int) -> Any:
        """A cached ctypes function object for the entry trampoline at ``addr``."""
        fn = self._entry_fns.get(addr)
        if fn is None:
            fn = self._entry_fns[addr] = ENTRY_PROTO(addr)
        return fn

    def increment_epoch(self) -> None:
        """Add one to the engine's epoch (Wasmtime: ``Engine::increment_epoch``).

        Safe to call from any thread, also while wasm runs on others: code compiled
        with ``Config.epoch_interruption`` reads the counter at function entries and
        loop headers and traps with ``TrapCode.INTERRUPT`` ("wasm trap: interrupt") once
        it reaches its store's deadline (``Store.set_epoch_deadline``).  Without epoch
        interruption it only moves the counter."""
        self._live()
        with self._epoch_lock:
            self._epoch.value = (self._epoch.value + 1) & 0xFFFFFFFFFFFFFFFF

    @property
    def _current_epoch(self) -> int:
        """The epoch counter's value."""
        return self._epoch.value

    def is_pulley(self) -> bool:
        """Whether the engine runs Pulley bytecode (wasmtime-py): never in wasmlite."""
        self._live()
        return False
