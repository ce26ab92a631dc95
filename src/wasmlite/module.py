"""``Module``: a decoded, validated and compiled WebAssembly module
(wasmtime-py: ``wasmtime.Module``).

Pipeline: ``binary.decode_module`` (malformed → :class:`DecodeError`),
``validate.validate_module`` (invalid → :class:`ValidationError`),
``compiler.compile_module`` at the engine's opt level.
"""

from __future__ import annotations

import os
import weakref
from typing import Any

from .engine import Engine
from .environ.module import ModuleInfo
from .errors import WasmtimeError
from .types import ExportType, ImportType, _wrap_desc


def _wasm_bytes(wasm: Any) -> bytes:
    if isinstance(wasm, str):
        try:
            from .text import wat2wasm  # type: ignore[attr-defined]
        except ImportError:
            raise WasmtimeError("wasmlite cannot parse the WebAssembly text format yet: "
                                "pass a binary module") from None
        return bytes(wat2wasm(wasm))
    if isinstance(wasm, (bytes, bytearray, memoryview)):
        data = bytes(wasm)
        if data[:4] != b"\0asm" and data.lstrip()[:1] == b"(":
            return _wasm_bytes(data.decode("utf-8", "replace"))
        return data
    raise TypeError("expected wasm bytes")


def _decode_and_validate(wasm: Any) -> tuple[ModuleInfo, list]:
    from .binary import decode_module
    from .validate import validate_module

    info = decode_module(_wasm_bytes(wasm))
    bodies = validate_module(info)
    return info, bodies


class Module:
    """A compiled module.  ``Module(engine, wasm)`` with ``wasm`` the binary (``bytes``).

    Raises :class:`TypeError` when ``engine`` is not an Engine, :class:`DecodeError` /
    :class:`ValidationError` (both :class:`WasmtimeError`) for bad modules and
    :class:`WasmtimeError` for unsupported features.
    """

    def __init__(self, engine: Engine, wasm: bytes | bytearray | str):
        if not isinstance(engine, Engine):
            raise TypeError("expected an Engine")
        from .compiler import compile_module

        info, bodies = _decode_and_validate(wasm)
        self._engine = engine
        self._info = info
        self._compiled = compile_module(info, bodies, opt_level=engine._opt_level,
                                        signals_tls_key=engine._signals_tls_key)
        if engine._signals_tls_key is not None:
            _register_code(self._compiled)
        self._type_ids = [engine._sig_id(t) for t in info.types]

    @classmethod
    def from_file(cls, engine: Engine, path: str | bytes | os.PathLike) -> Module:
        """Compile the module in file ``path``."""
        with open(path, "rb") as f:
            return cls(engine, f.read())

    @classmethod
    def validate(cls, engine: Engine, wasm: bytes | bytearray) -> None:
        """Check that ``wasm`` is a valid module without compiling it; raises like the
        constructor."""
        if not isinstance(engine, Engine):
            raise TypeError("expected an Engine")
        if not isinstance(wasm, (bytes, bytearray, memoryview)):
            raise TypeError("expected wasm bytes")
        _decode_and_validate(wasm)

    @property
    def name(self) -> str | None:
        """The module name from the ``name`` section, if any."""
        return self._info.names.module

    @property
    def imports(self) -> list[ImportType]:
        """The imports, in order."""
        info = self._info
        return [ImportType(i.module, i.name, _wrap_desc(info, i.kind, i.desc))
                for i in info.imports]

    @property
    def exports(self) -> list[ExportType]:
        """The exports, in order."""
        info = self._info
        return [ExportType(e.name, _export_type(info, e.kind, e.index)) for e in info.exports]

    def custom_sections(self, name: str) -> list[bytes]:
        """The payloads of the custom sections called ``name``, in order."""
        return [data for n, data in self._info.customs if n == name]

    def serialize(self) -> bytearray:
        raise WasmtimeError("Module.serialize is not supported by wasmlite yet")

    def __repr__(self) -> str:
        return f"<wasmlite.Module {self.name or ''}>"


def _export_type(info: ModuleInfo, kind: int, index: int) -> Any:
    from .environ import module as em
    from .types import FuncType, GlobalType, MemoryType, TableType

    if kind == em.EXTERN_FUNC:
        return FuncType._from(info.func_type(index))
    if kind == em.EXTERN_TABLE:
        return TableType._from(info.table_types()[index])
    if kind == em.EXTERN_MEMORY:
        return MemoryType._from(info.memory_types()[index])
    return GlobalType._from(info.global_types()[index])


def _register_code(code: Any) -> None:
    """Tell the signal handler where ``code``'s wasm functions are, for as long as the
    machine code lives."""
    from .runtime import signals

    for start, end in code.code_ranges:
        signals.register_code(start, end)
    weakref.finalize(code, _unregister_code, list(code.code_ranges))


def _unregister_code(ranges: list[tuple[int, int]]) -> None:
    from .runtime import signals

    for start, end in ranges:
        signals.unregister_code(start, end)
