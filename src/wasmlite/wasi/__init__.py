"""WASI preview 1 (``wasi_snapshot_preview1``) for wasmlite.

* :class:`WasiConfig` — what the program sees (wasmtime-py's ``WasiConfig`` shape);
* :class:`WasiCtx` — live state built from a config (``Store.set_wasi`` stores one as
  ``store.wasi_ctx``);
* :func:`define_wasi` — defines every preview 1 function in a ``Linker``
  (``Linker.define_wasi()`` calls it).
"""

from .config import DirPerms, FilePerms, WasiConfig
from .ctx import FdEntry, WasiCtx, WasiError
from .preview1 import FUNCTIONS, call, define_wasi

__all__ = ["DirPerms", "FUNCTIONS", "FdEntry", "FilePerms", "WasiConfig", "WasiCtx", "WasiError",
           "call", "define_wasi"]
