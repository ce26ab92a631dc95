"""Errors and traps, shaped like wasmtime-py's (``wasmtime._error``, ``wasmtime._trap``).

This module sits below every layer of the pipeline: the decoder and validator raise
:class:`DecodeError` / :class:`ValidationError`, the runtime raises :class:`Trap`, and WASI
raises :class:`ExitTrap`.  It imports nothing from the rest of wasmlite.
"""

from __future__ import annotations

import ctypes
import enum
from typing import Any

from .managed import Managed


class ArgumentError(ctypes.ArgumentError, TypeError):
    """A value of the wrong type where wasmtime-py hands it to its C library, whose
    ``ctypes`` call raises ``ctypes.ArgumentError`` (``"argument 2: TypeError: wrong
    type"``).  wasmlite raises this subclass of both ``ctypes.ArgumentError`` and
    ``TypeError`` in the same places, so that either ``except`` catches it."""


def str_arg(value: Any) -> str:
    """``value`` where wasmtime-py calls ``value.encode("utf-8")``: a ``str``, else
    :class:`AttributeError`."""
    if not isinstance(value, str):
        raise AttributeError(f"expected a str, got {type(value).__name__!r}")
    return value


def managed_arg(value: Any, cls: type, argpos: int) -> Any:
    """``value`` where wasmtime-py passes ``value.ptr()`` to a C function taking a
    ``cls``: a live ``cls``; a closed object raises :class:`ValueError` ("already
    closed"), another kind of ``Managed`` object :class:`ArgumentError` (ctypes' pointer
    type check), anything else :class:`AttributeError` (it has no ``ptr()``)."""
    if isinstance(value, Managed):
        value._live()
        if isinstance(value, cls):
            return value
        raise ArgumentError(f"argument {argpos}: TypeError: expected {cls.__name__} instead "
                            f"of {type(value).__name__}")
    raise AttributeError(f"expected a {cls.__name__}, got {type(value).__name__!r}")


def c_int_arg(value: Any, argpos: int) -> int:
    """``value`` as ctypes takes an integer argument of wasmtime-py's C calls: any
    ``int`` (``bool`` included; wrapped to the C width by the caller), else
    :class:`ArgumentError` for argument number ``argpos``."""
    if not isinstance(value, int):
        raise ArgumentError(f"argument {argpos}: TypeError: wrong type")
    return value


class WasmtimeError(Exception, Managed):
    """Any error reported by the runtime that is not a trap (wasmtime-py: ``WasmtimeError``).

    ``message`` must be a ``str`` (else :class:`AttributeError`, as in wasmtime-py)."""

    def __init__(self, message: str):
        if not isinstance(message, str):
            raise AttributeError(f"expected a str message, got {type(message).__name__!r}")
        super().__init__(message)
        self._message = message

    def __str__(self) -> str:
        return self._message


class DecodeError(WasmtimeError):
    """A malformed binary module (spec §5).

    ``message`` is the spec's wording ("unexpected end", "integer too large", ...) and
    ``offset`` the byte offset in the module where decoding failed.  ``str()`` gives
    ``"<message> (at offset 0x<offset>)"``, wasmtime's form.
    """

    kind = "malformed"

    def __init__(self, message: str, offset: int):
        self.message = message
        self.offset = offset
        super().__init__(f"{message} (at offset {offset:#x})")


class ValidationError(DecodeError):
    """An invalid module (spec §3): decoded fine but not well typed.

    Same shape as :class:`DecodeError`; the message is the spec testsuite's wording
    ("type mismatch", "unknown local", ...).
    """

    kind = "invalid"


class TrapCode(enum.IntEnum):
    """Trap codes, numbered as wasmtime-py's ``TrapCode`` (``wasmtime.TrapCode``).

    Only the codes a WebAssembly 2.0 module can raise are listed (wasmtime-py also has
    the component-model, GC and exception-handling ones).  An ``IntEnum``, because the
    native ABI carries ``code + 1`` as the trap status; ``str`` and ``repr`` are those of
    wasmtime-py's plain ``Enum`` (``TrapCode.OUT_OF_FUEL``)."""

    STACK_OVERFLOW = 0
    MEMORY_OUT_OF_BOUNDS = 1
    HEAP_MISALIGNED = 2
    TABLE_OUT_OF_BOUNDS = 3
    INDIRECT_CALL_TO_NULL = 4
    BAD_SIGNATURE = 5
    INTEGER_OVERFLOW = 6
    INTEGER_DIVISION_BY_ZERO = 7
    BAD_CONVERSION_TO_INTEGER = 8
    UNREACHABLE = 9
    INTERRUPT = 10
    OUT_OF_FUEL = 11
    #: a null reference where a non-null one is required (``call_ref``,
    #: ``ref.as_non_null``: typed function references)
    NULL_REFERENCE = 13

    def __str__(self) -> str:
        return f"TrapCode.{self.name}"

    def __repr__(self) -> str:
        return f"<TrapCode.{self.name}: {self.value}>"

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)


#: The text of each trap, as Wasmtime words it (after the ``wasm trap: `` prefix).
TRAP_MESSAGES: dict[TrapCode, str] = {
    TrapCode.STACK_OVERFLOW: "call stack exhausted",
    TrapCode.MEMORY_OUT_OF_BOUNDS: "out of bounds memory access",
    TrapCode.HEAP_MISALIGNED: "misaligned memory access",
    TrapCode.TABLE_OUT_OF_BOUNDS: "undefined element: out of bounds table access",
    TrapCode.INDIRECT_CALL_TO_NULL: "uninitialized element",
    TrapCode.BAD_SIGNATURE: "indirect call type mismatch",
    TrapCode.INTEGER_OVERFLOW: "integer overflow",
    TrapCode.INTEGER_DIVISION_BY_ZERO: "integer divide by zero",
    TrapCode.BAD_CONVERSION_TO_INTEGER: "invalid conversion to integer",
    TrapCode.UNREACHABLE: "wasm `unreachable` instruction executed",
    TrapCode.INTERRUPT: "interrupt",
    TrapCode.OUT_OF_FUEL: "all fuel consumed by WebAssembly",
    TrapCode.NULL_REFERENCE: "null reference",
}


class Frame(Managed):
    """One frame of a wasm backtrace (wasmtime-py: ``Frame``).

    ``func_index`` is the funcidx in its module, ``func_name`` the name from the ``name``
    section (or ``None``), ``module_name`` the module's name (or ``None``),
    ``func_offset`` the offset of the trapping point from the start of the function body
    and ``module_offset`` the same point as an offset in the module's bytes.  Once
    closed, reading them raises :class:`ValueError` ("already closed").
    """

    __slots__ = ("_fields", "_closed")

    def __init__(self, func_index: int, func_name: str | None, module_name: str | None,
                 func_offset: int, module_offset: int):
        self._fields = (func_index, func_name, module_name, func_offset, module_offset)

    @property
    def func_index(self) -> int:
        return self._live()._fields[0]

    @property
    def func_name(self) -> str | None:
        return self._live()._fields[1]

    @property
    def module_name(self) -> str | None:
        return self._live()._fields[2]

    @property
    def func_offset(self) -> int:
        return self._live()._fields[3]

    @property
    def module_offset(self) -> int:
        return self._live()._fields[4]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Frame) and other._fields == self._fields

    def __hash__(self) -> int:
        return hash(self._fields)

    def __repr__(self) -> str:
        names = ("func_index", "func_name", "module_name", "func_offset", "module_offset")
        return "Frame(" + ", ".join(f"{n}={v!r}" for n, v in zip(names, self._fields,
                                                                 strict=True)) + ")"


def format_backtrace(frames: list[Frame]) -> str:
    """Format frames the way Wasmtime prints a wasm backtrace."""
    lines = []
    for i, f in enumerate(frames):
        module = f.module_name or "<unknown>"
        name = f.func_name or f"<wasm function {f.func_index}>"
        lines.append(f"{i:>5}: {f.module_offset:#8x} - {module}!{name}")
    return "\n".join(lines)


class Trap(Exception, Managed):
    """A WebAssembly trap (wasmtime-py: ``Trap``).

    ``trap_code`` is a :class:`TrapCode` (``None`` for a trap raised by host code with a
    message of its own), ``frames`` the wasm backtrace, innermost first.  ``message``
    must be a ``str`` (else :class:`AttributeError`, as in wasmtime-py).  Once closed,
    ``message``, ``frames``, ``trap_code`` and ``str()`` raise :class:`ValueError`
    ("already closed").
    """

    def __init__(self, message: str, trap_code: TrapCode | None = None,
                 frames: list[Frame] | None = None):
        if not isinstance(message, str):
            raise AttributeError(f"expected a str message, got {type(message).__name__!r}")
        super().__init__(message)
        self._message = message
        self._trap_code = trap_code
        self._frames: list[Frame] = list(frames or [])

    @classmethod
    def from_code(cls, code: TrapCode, frames: list[Frame] | None = None) -> Trap:
        """The trap for ``code``, with Wasmtime's message ``"wasm trap: <text>"``."""
        return cls("wasm trap: " + TRAP_MESSAGES[code], code, frames)

    @property
    def trap_code(self) -> TrapCode | None:
        """Why the trap happened; ``None`` for a trap made with a message of its own."""
        return self._live()._trap_code

    @property
    def frames(self) -> list[Frame]:
        """The wasm backtrace, innermost frame first."""
        return self._live()._frames

    @property
    def message(self) -> str:
        """The full message: backtrace (when there are frames) and cause, as wasmtime-py."""
        if not self._live()._frames:
            return self._message
        return (f"error while executing at wasm backtrace:\n{format_backtrace(self._frames)}"
                f"\n\nCaused by:\n    {self._message}\n")

    @property
    def trap_message(self) -> str:
        """Just the cause, e.g. ``"wasm trap: integer divide by zero"``."""
        return self._message

    def __str__(self) -> str:
        return self.message


class ExitTrap(WasmtimeError):
    """Raised when a WASI program calls ``proc_exit`` (wasmtime-py: ``ExitTrap``).

    ``code`` is the exit status, an ``int`` in ``0..255`` for the process.  Once
    closed, ``str()`` raises :class:`ValueError` ("already closed"), as in wasmtime-py.
    """

    def __init__(self, code: int):
        self.code = code
        super().__init__(f"Exited with i32 exit status {code}")

    def __str__(self) -> str:
        # wasmtime-py's comes from Wasmtime: once closed, its message is gone too
        return self._live()._message
