"""Per-Store native state: the ``VMStoreContext`` (``environ/vmoffsets.py``), the
externref handle table, the pending host exception, and ownership of every memory,
table and instance created in the Store.
"""

from __future__ import annotations

import ctypes
from typing import Any

from ..environ import vmoffsets as vo
from .memory import LinearMemory


class StoreData:
    """Native state of one Store.

    ``ctx`` is the ``VMStoreContext`` (``STORE_CTX_SIZE`` bytes, 8-byte slots);
    ``max_wasm_stack`` (bytes) is written to ``STORE_MAX_STACK``.  ``guarded``:
    signals-based traps (``Config.signals_based_traps``); installs the signal handler.
    """

    def __init__(self, max_wasm_stack: int, guarded: bool = False):
        self.ctx = (ctypes.c_uint64 * (vo.STORE_CTX_SIZE // vo.SLOT))()
        self.ctx_addr = ctypes.addressof(self.ctx)
        self.ctx[vo.STORE_MAX_STACK // 8] = max_wasm_stack
        #: externref handle ``h`` (>= 1) is ``externs[h - 1]``
        self.externs: list[Any] = []
        self._extern_ids: dict[int, int] = {}
        #: the exception a host function raised, re-raised by the entry point
        self.pending: BaseException | None = None
        self.memories: list[LinearMemory] = []
        self.instances: list[Any] = []
        #: objects that must live as long as the store (ctypes buffers, callbacks, code)
        self.keep: list[Any] = []
        self.closed = False
        #: signals-based traps: memories get guard regions, the handler is installed
        self.guarded = guarded
        if guarded:
            from .signals import ensure_installed
            ensure_installed()

    # -- externref handles ------------------------------------------------------------
    def extern_handle(self, obj: Any) -> int:
        """The handle (>= 1) of ``obj``; ``None`` is the null reference, 0."""
        if obj is None:
            return 0
        h = self._extern_ids.get(id(obj))
        if h is None:
            self.externs.append(obj)
            h = len(self.externs)
            self._extern_ids[id(obj)] = h
        return h

    def extern_object(self, handle: int) -> Any:
        """The object behind ``handle`` (``None`` for 0 or an unknown handle)."""
        if not handle or handle > len(self.externs):
            return None
        return self.externs[handle - 1]

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
        """Free every memory and unregister every instance (idempotent)."""
        if self.closed:
            return
        self.closed = True
        from .builtins import unregister
        for inst in self.instances:
            unregister(inst)
        for m in self.memories:
            m.free()
        self.memories.clear()
