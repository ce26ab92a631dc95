"""``Config``: global compilation and runtime settings (wasmtime-py: ``wasmtime.Config``).

Settings are assigned as properties (``config.cranelift_opt_level = "speed"``), as in
wasmtime-py; unlike wasmtime-py they can also be read back.  Setters wasmlite does not
act on (yet) are accepted and remembered, so programs written for wasmtime-py run.
"""

from __future__ import annotations

from typing import Any

from .errors import WasmtimeError

#: wasmtime's ``cranelift_opt_level`` names -> wasmlite's LLVM opt levels
_CRANELIFT_OPT = {"none": "0", "speed": "2", "speed_and_size": "s"}
_OPT_LEVELS = ("0", "1", "2", "s")

#: Default ``max_wasm_stack`` in bytes.  Wasmtime's default is 512 KiB; LLVM frames at
#: opt level 0 are larger than Cranelift's, so wasmlite allows 1 MiB by default.  The
#: native thread stack (8 MiB for the main thread on Linux) must stay larger.
DEFAULT_MAX_WASM_STACK = 1024 * 1024


def _signals_supported() -> bool:
    from .runtime.signals import supported

    return supported()


class Config:
    """Settings for an :class:`~wasmlite.Engine`.

    wasmlite-specific: :attr:`opt_level` (``"0"``, ``"1"``, ``"2"``, ``"s"``), which
    :attr:`cranelift_opt_level` maps onto.  Invalid values raise :class:`WasmtimeError`,
    values of the wrong type :class:`TypeError`.
    """

    def __init__(self) -> None:
        self._opt_level = "2"
        self._max_wasm_stack = DEFAULT_MAX_WASM_STACK
        self._signals_based_traps = _signals_supported()
        self._flags: dict[str, Any] = {}

    # -- settings wasmlite acts on -------------------------------------------------------
    @property
    def opt_level(self) -> str:
        """LLVM optimisation level: ``"0"``, ``"1"``, ``"2"`` (default) or ``"s"``."""
        return self._opt_level

    @opt_level.setter
    def opt_level(self, level: str | int) -> None:
        level = str(level)
        if level not in _OPT_LEVELS:
            raise WasmtimeError(f"unknown opt level {level!r}: expected one of 0, 1, 2, s")
        self._opt_level = level

    @property
    def cranelift_opt_level(self) -> str:
        """wasmtime's names: ``"none"`` (-> ``"0"``), ``"speed"`` (-> ``"2"``),
        ``"speed_and_size"`` (-> ``"s"``)."""
        for name, lvl in _CRANELIFT_OPT.items():
            if lvl == self._opt_level:
                return name
        return "speed"

    @cranelift_opt_level.setter
    def cranelift_opt_level(self, opt_level: str) -> None:
        if not isinstance(opt_level, str):
            raise TypeError("expected a string")
        if opt_level not in _CRANELIFT_OPT:
            raise WasmtimeError(f"unknown opt level: {opt_level}")
        self._opt_level = _CRANELIFT_OPT[opt_level]

    @property
    def max_wasm_stack(self) -> int:
        """Bytes of native stack wasm may use below the outermost host->wasm entry; past
        it a call traps with "call stack exhausted"."""
        return self._max_wasm_stack

    @max_wasm_stack.setter
    def max_wasm_stack(self, size: int) -> None:
        if not isinstance(size, int) or isinstance(size, bool):
            raise TypeError("expected an int")
        if size <= 0:
            raise WasmtimeError("max_wasm_stack must be positive")
        self._max_wasm_stack = size

    @property
    def signals_based_traps(self) -> bool:
        """Wasmtime's setting: ``True`` (the default where supported: Linux on x86-64)
        removes the bounds checks of loads and stores; each memory reserves 8 GiB of
        address space whose inaccessible part faults, and a ``SIGSEGV`` handler turns the
        fault into an "out of bounds memory access" trap (``docs/architecture.md``).
        ``False``: every access is bounds-checked explicitly.  Setting ``True`` on an
        unsupported platform is accepted and falls back to explicit checks."""
        return self._signals_based_traps

    @signals_based_traps.setter
    def signals_based_traps(self, enable: bool) -> None:
        if not isinstance(enable, bool):
            raise TypeError("expected a bool")
        self._signals_based_traps = enable

    # -- accepted for compatibility ------------------------------------------------------
    def _flag(name: str, kind: type = bool) -> property:  # type: ignore[misc]  # noqa: N805
        def get(self: Config) -> Any:
            return self._flags.get(name)

        def set_(self: Config, value: Any) -> None:
            if kind is bool and not isinstance(value, bool):
                raise TypeError("expected a bool")
            self._flags[name] = value

        return property(get, set_, doc=f"wasmtime-py's ``{name}``; accepted, no effect yet.")

    debug_info = _flag("debug_info")
    wasm_threads = _flag("wasm_threads")
    wasm_tail_call = _flag("wasm_tail_call")
    wasm_reference_types = _flag("wasm_reference_types")
    wasm_simd = _flag("wasm_simd")
    wasm_bulk_memory = _flag("wasm_bulk_memory")
    wasm_multi_value = _flag("wasm_multi_value")
    wasm_multi_memory = _flag("wasm_multi_memory")
    wasm_memory64 = _flag("wasm_memory64")
    wasm_relaxed_simd = _flag("wasm_relaxed_simd")
    wasm_relaxed_simd_deterministic = _flag("wasm_relaxed_simd_deterministic")
    wasm_exceptions = _flag("wasm_exceptions")
    wasm_function_references = _flag("wasm_function_references")
    wasm_gc = _flag("wasm_gc")
    wasm_wide_arithmetic = _flag("wasm_wide_arithmetic")
    wasm_custom_page_sizes = _flag("wasm_custom_page_sizes")
    wasm_component_model = _flag("wasm_component_model")
    cranelift_debug_verifier = _flag("cranelift_debug_verifier")
    cranelift_nan_canonicalization = _flag("cranelift_nan_canonicalization")
    epoch_interruption = _flag("epoch_interruption")
    consume_fuel = _flag("consume_fuel")
    parallel_compilation = _flag("parallel_compilation")
    shared_memory = _flag("shared_memory")
    gc_support = _flag("gc_support")
    memory_may_move = _flag("memory_may_move")
    native_unwind_info = _flag("native_unwind_info")
    macos_use_mach_ports = _flag("macos_use_mach_ports")
    memory_init_cow = _flag("memory_init_cow")
    strategy = _flag("strategy", str)
    profiler = _flag("profiler", str)
    cache = _flag("cache", object)
    memory_reservation = _flag("memory_reservation", int)
    memory_guard_size = _flag("memory_guard_size", int)
    memory_reservation_for_growth = _flag("memory_reservation_for_growth", int)
    target = _flag("target", str)
    del _flag

    def cranelift_flag_enable(self, flag: str) -> None:
        """Accepted for compatibility; no effect."""

    def cranelift_flag_set(self, key: str, value: str) -> None:
        """Accepted for compatibility; no effect."""
