"""The error raised for malformed WebAssembly text."""

from __future__ import annotations

from wasmlite.errors import WasmtimeError

__all__ = ["WatError"]


class WatError(WasmtimeError):
    """Malformed WebAssembly text (spec §6).

    ``problem`` says what is wrong (``"unknown operator"``, ``"constant out of range"``,
    ``"unknown func $f"`` ...), ``line`` and ``column`` (1-based, in characters) where.
    ``str()`` is ``"<line>:<column>: <problem>"``.
    """

    def __init__(self, problem: str, line: int = 0, column: int = 0):
        self.problem = problem
        self.line = line
        self.column = column
        super().__init__(f"{line}:{column}: {problem}")
