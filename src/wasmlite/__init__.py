"""wasmlite: a WebAssembly runtime that compiles wasm to native code through LLVM.

The public API follows wasmtime-py's, so ``import wasmlite as wasmtime`` works.
"""

from .errors import ExitTrap, Frame, Trap, TrapCode, WasmtimeError

__version__ = "0.1.0"

__all__ = ["ExitTrap", "Frame", "Trap", "TrapCode", "WasmtimeError", "__version__"]
