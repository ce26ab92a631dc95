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
from .linker import Linker
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

__all__ = [
    "Caller", "Config", "Engine", "ExitTrap", "ExportType", "Frame", "Func", "FuncType",
    "Global", "GlobalType", "ImportType", "Instance", "InstanceExports", "Limits", "Linker",
    "Memory", "MemoryType", "Module", "Store", "Table", "TableType", "Trap", "TrapCode", "Val",
    "ValType", "WasiConfig", "WasmtimeError", "__version__",
]


def __getattr__(name: str) -> Any:
    if name in ("WasiConfig", "DirPerms", "FilePerms"):
        from . import wasi

        return getattr(wasi, name)
    raise AttributeError(f"module 'wasmlite' has no attribute {name!r}")
