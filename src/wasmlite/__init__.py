"""wasmlite: a WebAssembly runtime that compiles wasm to native code through LLVM.

The public API follows wasmtime-py's, so ``import wasmlite as wasmtime`` works.
``WasiConfig`` is loaded on first use from :mod:`wasmlite.wasi`.
"""

from typing import Any

from .config import Config
from .engine import Engine
from .errors import ExitTrap, Frame, Trap, TrapCode, WasmtimeError
from .func import Caller, Func
from .globals import Global
from .instance import Instance, InstanceExports
from .linker import InstancePre, Linker
from .managed import Managed
from .memory import Memory
from .module import Module
from .store import Store
from .table import Table
from .types import (
    ExportType,
    FuncType,
    GlobalType,
    ImportType,
    Limits,
    MemoryType,
    TableType,
    ValType,
)
from .values import Val

__version__ = "0.1.0"

#: What wasmtime-py calls ``Storelike``: where a store is expected, a :class:`Store` or
#: the :class:`Caller` of a host function.
Storelike = Store | Caller


def wat2wasm(wat: str | bytes) -> bytearray:
    """Translate the WebAssembly text format to the binary format (wasmtime-py's
    ``wat2wasm``): ``wat`` is a ``str`` or UTF-8 ``bytes``; returns a ``bytearray``.

    Raises :class:`WasmtimeError` (``WatError``, ``"<line>:<column>: <problem>"``) for
    malformed text and :class:`TypeError` for other argument types.  The result is not
    validated (``Module`` does that).
    """
    from .text import wat2wasm as _wat2wasm

    if isinstance(wat, (bytes, bytearray, memoryview)):
        wat = bytes(wat).decode("utf-8")
    elif not isinstance(wat, str):
        raise TypeError("expected a str or bytes")
    return bytearray(_wat2wasm(wat))


__all__ = [
    "Caller", "Config", "Engine", "ExitTrap", "ExportType", "Frame", "Func", "FuncType",
    "Global", "GlobalType", "ImportType", "Instance", "InstanceExports", "InstancePre",
    "Limits", "Linker", "Managed", "Memory", "MemoryType", "Module", "Store", "Table", "TableType", "Trap", "TrapCode", "Val",
    "Storelike", "ValType", "WasiConfig", "WasmtimeError", "__version__", "wat2wasm",
]


def __getattr__(name: str) -> Any:
    if name in ("WasiConfig", "DirPerms", "FilePerms"):
        from . import wasi

        return getattr(wasi, name)
    raise AttributeError(f"module 'wasmlite' has no attribute {name!r}")
