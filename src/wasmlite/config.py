"""``Config``: global compilation and runtime settings (wasmtime-py: ``wasmtime.Config``).

Settings are assigned as properties (``config.cranelift_opt_level = "speed"``), as in
wasmtime-py, with wasmtime-py's checks and errors (a non-``bool`` for a switch raises
:class:`TypeError` ``"expected a bool"``, an unknown choice :class:`WasmtimeError`
``"unknown opt level: x"``).  Unlike wasmtime-py they can also be read back.

What each setting does in wasmlite:

* ``cranelift_opt_level`` / ``opt_level``: the LLVM optimisation level (``"none"`` -> 0,
  ``"speed"`` -> 2, ``"speed_and_size"`` -> ``s``).
* ``wasm_simd``, ``wasm_reference_types``, ``wasm_bulk_memory``, ``wasm_multi_value``:
  feature switches of the validator (:meth:`Config._features`); a module using a
  switched-off feature fails to compile, as in Wasmtime.
* ``consume_fuel``, ``epoch_interruption``: instrument compiled code for
  ``Store.set_fuel`` / ``Store.set_epoch_deadline`` (read by the compiler and store).
* ``max_wasm_stack``, ``signals_based_traps``: see ``docs/architecture.md``.
* ``cache``: where compiled artifacts are cached (:attr:`Config.cache`).
* ``strategy``, ``profiler``, ``parallel_compilation``, ``debug_info`` and the other
  Cranelift/memory settings are checked like wasmtime-py and recorded; wasmlite has a
  single strategy (LLVM) and decides memory layout itself.
* ``wasm_multi_memory`` (on unless set false, as in Wasmtime): several memories per
  module; off, a module with more than one is invalid ("multiple memories") and the
  memory instructions' 2.0 encodings are required.
* ``wasm_memory64`` (on unless set false, as in Wasmtime): 64-bit memories and tables
  (i64 addresses and indices, explicit bounds checks).
* ``wasm_relaxed_simd`` (on unless set false, as in Wasmtime): the relaxed SIMD
  instructions, with the results Wasmtime gives on this host's x86-64 CPU (see
  ``docs/architecture.md``, "Relaxed SIMD"); off, a module using one is invalid
  ("relaxed SIMD support is not enabled").  With ``wasm_simd`` off it is off too
  (Wasmtime refuses that combination: its Engine panics).
  ``wasm_relaxed_simd_deterministic`` is recorded but has no effect.
* ``wasm_extended_const`` (on unless set false, as in Wasmtime; Wasmtime's
  ``Config::wasm_extended_const``, which wasmtime-py 50 does not expose): ``i32``/``i64``
  ``add``, ``sub`` and ``mul`` in constant expressions (spec 3.0 §3.3.10); off,
  "constant expression required: non-constant operator: i32.add" as wasmparser says.
* ``wasm_gc`` (on unless set false, as in Wasmtime): wasmlite implements no GC types or
  instructions; the switch carries the one rule Wasmtime ties to it, that constant
  expressions may ``global.get`` defined (immutable, earlier) globals, not only
  imported ones (spec 3.0 §3.4.10); off, such a module is invalid ("unknown global").
* ``wasm_tail_call`` (on unless set false, as in Wasmtime): ``return_call`` and
  ``return_call_indirect``; off, "tail calls support is not enabled".
* ``wasm_function_references`` (on unless set false, as in Wasmtime): typed function
  references (``(ref null? $t)`` types, ``call_ref``, ``return_call_ref``,
  ``ref.as_non_null``, ``br_on_null``, ``br_on_non_null``, tables with initializers);
  off, wasmparser's messages ("function references support is not enabled",
  "function references required for non-nullable types", ...).  As in Wasmtime,
  ``(ref null $t)`` alone is still accepted while ``wasm_gc`` is on.
* Proposals wasmlite does not implement (threads,
  exceptions, GC's types and instructions, ...) may be switched off freely;
  modules using them are rejected whatever the switch says.
"""

from __future__ import annotations

import os
from typing import Any

from .errors import WasmtimeError
from .managed import Managed

#: wasmtime's ``cranelift_opt_level`` names -> wasmlite's LLVM opt levels
_CRANELIFT_OPT = {"none": "0", "speed": "2", "speed_and_size": "s"}
_OPT_LEVELS = ("0", "1", "2", "s")
_STRATEGIES = ("auto", "cranelift", "winch")
_PROFILERS = ("none", "jitdump", "vtune", "perfmap")
#: keys wasmtime accepts in the ``[cache]`` table of a cache configuration file
_CACHE_KEYS = frozenset((
    "directory", "worker-event-queue-size", "baseline-compression-level",
    "optimized-compression-level", "optimized-compression-usage-counter-threshold",
    "cleanup-interval", "optimizing-compression-task-timeout",
    "allowed-clock-drift-for-files-from-future", "file-count-soft-limit",
    "files-total-size-soft-limit", "file-count-limit-percent-if-deleting",
    "files-total-size-limit-percent-if-deleting"))

#: Default ``max_wasm_stack`` in bytes.  Wasmtime's default is 512 KiB; LLVM frames at
#: opt level 0 are larger than Cranelift's, so wasmlite allows 1 MiB by default.  The
#: native thread stack (8 MiB for the main thread on Linux) must stay larger.
DEFAULT_MAX_WASM_STACK = 1024 * 1024

#: the ``Config.wasm_*`` switches the validator honours -> ``Features`` field
_FEATURE_FLAGS = {
    "wasm_simd": "simd",
    "wasm_relaxed_simd": "relaxed_simd",
    "wasm_reference_types": "reference_types",
    "wasm_bulk_memory": "bulk_memory",
    "wasm_multi_value": "multi_value",
    "wasm_multi_memory": "multi_memory",
    "wasm_memory64": "memory64",
    "wasm_extended_const": "extended_const",
    "wasm_gc": "gc",
    "wasm_tail_call": "tail_call",
    "wasm_function_references": "function_references",
}


def _signals_supported() -> bool:
    from .runtime.signals import supported

    return supported()


def default_cache_directory() -> str:
    """The compile cache's default directory: ``$WASMLITE_CACHE_DIR``, else
    ``$XDG_CACHE_HOME/wasmlite``, else ``~/.cache/wasmlite``."""
    env = os.environ.get("WASMLITE_CACHE_DIR")
    if env:
        return env
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "wasmlite")


def _parse_toml(text: str) -> dict[str, Any]:
    try:
        import tomllib
    except ImportError:  # Python 3.10: the subset wasmtime cache files use
        return _parse_toml_subset(text)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ValueError(str(e)) from None


def _parse_toml_subset(text: str) -> dict[str, Any]:
    """Tables (``[name]``) holding ``key = "string" | integer | true | false``."""
    out: dict[str, Any] = {}
    table = out
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("[") and line.endswith("]"):
            table = out.setdefault(line[1:-1].strip(), {})
            continue
        key, eq, value = line.partition("=")
        if not eq:
            raise ValueError(f"line {n}: key with no value, expected `=`")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            table[key.strip()] = value[1:-1]
        elif value in ("true", "false"):
            table[key.strip()] = value == "true"
        else:
            try:
                table[key.strip()] = int(value.replace("_", ""))
            except ValueError:
                raise ValueError(f"line {n}: invalid value {value!r}") from None
    return out


def _load_cache_config(path: str) -> str:
    """The cache directory named by wasmtime's cache configuration file ``path``
    (``[cache]`` table, optional ``directory``); errors as wasmtime words them."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        raise WasmtimeError(f"failed to read config file: {path}\n\nCaused by:\n    "
                            f"{e.strerror} (os error {e.errno})\n") from None
    try:
        doc = _parse_toml(text)
        cache = doc.get("cache")
        if not isinstance(cache, dict) or set(doc) != {"cache"}:
            raise ValueError("missing field `cache`" if cache is None else
                             "unknown field, expected `cache`")
        unknown = set(cache) - _CACHE_KEYS
        if unknown:
            raise ValueError(f"unknown field `{sorted(unknown)[0]}`")
        directory = cache.get("directory", default_cache_directory())
        if not isinstance(directory, str):
            raise ValueError("`directory` must be a string")
    except ValueError as e:
        raise WasmtimeError(f"failed to parse config file: {path}\n\nCaused by:\n    "
                            f"{e}\n") from None
    return os.path.abspath(os.path.expanduser(directory))


def _check_bool(value: Any) -> None:
    if not isinstance(value, bool):
        raise TypeError("expected a bool")


class Config(Managed):
    """Settings for an :class:`~wasmlite.Engine` (wasmtime-py's ``Config``).

    wasmlite-specific: :attr:`opt_level` (``"0"``, ``"1"``, ``"2"``, ``"s"``), which
    :attr:`cranelift_opt_level` maps onto, and :meth:`_features`, the validator's
    feature set.  Invalid values raise :class:`WasmtimeError`, values of the wrong type
    :class:`TypeError`, both with wasmtime-py's messages.  Once closed, or once an
    :class:`~wasmlite.Engine` was made from it (the engine consumes it, as in
    wasmtime-py), setting anything raises :class:`ValueError` ("already closed").
    """

    def __init__(self) -> None:
        self._opt_level = "2"
        self._max_wasm_stack = DEFAULT_MAX_WASM_STACK
        self._signals_based_traps = _signals_supported()
        #: every other setting by wasmtime-py's name (copied by ``Engine``)
        self._flags: dict[str, Any] = {
            "consume_fuel": False, "epoch_interruption": False, "cache": None,
            "strategy": "auto", "parallel_compilation": True,
        }

    # -- code generation ---------------------------------------------------------------
    @property
    def opt_level(self) -> str:
        """LLVM optimisation level: ``"0"``, ``"1"``, ``"2"`` (default) or ``"s"``."""
        return self._opt_level

    @opt_level.setter
    def opt_level(self, level: str | int) -> None:
        level = str(level)
        if level not in _OPT_LEVELS:
            raise WasmtimeError(f"unknown opt level {level!r}: expected one of 0, 1, 2, s")
        self._live()._opt_level = level

    @property
    def cranelift_opt_level(self) -> str:
        """wasmtime's names: ``"none"`` (-> ``"0"``), ``"speed"`` (-> ``"2"``, the
        default), ``"speed_and_size"`` (-> ``"s"``); opt level ``"1"`` reads as
        ``"speed"``.  Anything else raises :class:`WasmtimeError` ("unknown opt level: x")."""
        for name, lvl in _CRANELIFT_OPT.items():
            if lvl == self._opt_level:
                return name
        return "speed"

    @cranelift_opt_level.setter
    def cranelift_opt_level(self, opt_level: str) -> None:
        if not isinstance(opt_level, str) or opt_level not in _CRANELIFT_OPT:
            raise WasmtimeError(f"unknown opt level: {opt_level}")
        self._live()._opt_level = _CRANELIFT_OPT[opt_level]

    @property
    def strategy(self) -> str:
        """wasmtime's compilation strategy, ``"auto"`` (the default), ``"cranelift"`` or
        ``"winch"``; anything else raises :class:`WasmtimeError`.  In wasmlite
        ``"auto"`` compiles each function when it is first called (``compiler/lazy.py``)
        with the baseline compiler (``compiler/baseline``; LLVM's quick first tier for
        the functions it does not take: SIMD, several results) and recompiles hot
        functions with LLVM at :attr:`opt_level` in the background; ``"winch"`` (Wasmtime's
        baseline compiler) is the same.  ``"cranelift"`` compiles every function at
        :attr:`opt_level` before the module is returned, as Wasmtime's Cranelift does.
        The environment variable ``WASMLITE_FIRST_TIER=llvm`` makes LLVM's quick tier
        the first tier of every function (for tests and benchmarks of that path)."""
        return self._flags["strategy"]

    @strategy.setter
    def strategy(self, strategy: str) -> None:
        if strategy not in _STRATEGIES:
            raise WasmtimeError(f"unknown strategy: {strategy}")
        self._live()._flags["strategy"] = strategy

    @property
    def profiler(self) -> str | None:
        """wasmtime's profiler choice (``"none"``, ``"jitdump"``, ``"vtune"``,
        ``"perfmap"``); recorded, wasmlite emits no profiling data."""
        return self._flags.get("profiler")

    @profiler.setter
    def profiler(self, profiler: str) -> None:
        if profiler not in _PROFILERS:
            raise WasmtimeError(f"unknown profiler: {profiler}")
        self._live()._flags["profiler"] = profiler

    @property
    def parallel_compilation(self) -> bool:
        """Whether big modules may be compiled on several threads (default ``True``)."""
        return self._flags["parallel_compilation"]

    @parallel_compilation.setter
    def parallel_compilation(self, enable: bool) -> None:
        _check_bool(enable)
        self._live()._flags["parallel_compilation"] = enable

    @property
    def cache(self) -> str | None:
        """The directory compiled artifacts are cached in, or ``None`` (the default:
        no cache).

        Set as in wasmtime-py: ``True`` for the default location
        (:func:`default_cache_directory`), or the path of a
        Wasmtime cache configuration file (TOML, a ``[cache]`` table whose optional
        ``directory`` names the directory).  ``False`` raises :class:`WasmtimeError`
        ("caching cannot be explicitly disabled"), other types :class:`TypeError`, an
        unreadable or malformed file :class:`WasmtimeError`.
        """
        return self._flags["cache"]

    @cache.setter
    def cache(self, enabled: bool | str) -> None:
        if isinstance(enabled, bool):
            if not enabled:
                raise WasmtimeError("caching cannot be explicitly disabled")
            self._live()._flags["cache"] = default_cache_directory()
        elif isinstance(enabled, str):
            self._live()._flags["cache"] = _load_cache_config(enabled)
        else:
            raise TypeError("expected string or bool")

    # -- runtime -------------------------------------------------------------------------
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
        self._live()._max_wasm_stack = size

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
        _check_bool(enable)
        self._live()._signals_based_traps = enable

    @property
    def consume_fuel(self) -> bool:
        """Whether wasm consumes fuel (``Store.set_fuel``/``get_fuel``); out of fuel it
        traps with ``TrapCode.OUT_OF_FUEL``.  Default ``False``."""
        return self._flags["consume_fuel"]

    @consume_fuel.setter
    def consume_fuel(self, enable: bool) -> None:
        if not isinstance(enable, bool):
            raise TypeError("expected an bool")  # sic, wasmtime-py's message
        self._live()._flags["consume_fuel"] = enable

    @property
    def epoch_interruption(self) -> bool:
        """Whether wasm checks the engine's epoch (``Engine.increment_epoch``) against
        the store's deadline (``Store.set_epoch_deadline``) and traps with
        ``TrapCode.INTERRUPT`` past it.  Default ``False``; any value is taken for its
        truth, as wasmtime-py does."""
        return self._flags["epoch_interruption"]

    @epoch_interruption.setter
    def epoch_interruption(self, enabled: Any) -> None:
        self._live()._flags["epoch_interruption"] = bool(enabled)

    # -- WebAssembly features ----------------------------------------------------------
    def _feature(name: str) -> property:  # type: ignore[misc]  # noqa: N805
        def get(self: Config) -> bool:
            return self._flags.get(name, True)

        def set_(self: Config, enable: bool) -> None:
            _check_bool(enable)
            self._live()._flags[name] = enable

        return property(get, set_, doc=f"Wasmtime's ``{name}``: switches the validator's "
                                       f"``Features.{_FEATURE_FLAGS[name]}``.")

    wasm_simd = _feature("wasm_simd")
    wasm_relaxed_simd = _feature("wasm_relaxed_simd")
    wasm_reference_types = _feature("wasm_reference_types")
    wasm_bulk_memory = _feature("wasm_bulk_memory")
    wasm_multi_value = _feature("wasm_multi_value")
    wasm_multi_memory = _feature("wasm_multi_memory")
    wasm_memory64 = _feature("wasm_memory64")
    wasm_extended_const = _feature("wasm_extended_const")
    wasm_gc = _feature("wasm_gc")
    wasm_tail_call = _feature("wasm_tail_call")
    wasm_function_references = _feature("wasm_function_references")
    del _feature

    def _features(self) -> Any:
        """The :class:`wasmlite.validate.Features` these settings select (WebAssembly
        2.0 with the ``wasm_*`` switches applied).  Relaxed SIMD needs SIMD: with
        ``wasm_simd`` off it is off whatever ``wasm_relaxed_simd`` says (Wasmtime's
        Engine refuses the combination)."""
        from .validate import Features

        return Features(simd=self.wasm_simd,
                        relaxed_simd=self.wasm_simd and self.wasm_relaxed_simd,
                        reference_types=self.wasm_reference_types,
                        bulk_memory=self.wasm_bulk_memory, multi_value=self.wasm_multi_value,
                        multi_memory=self.wasm_multi_memory, memory64=self.wasm_memory64,
                        extended_const=self.wasm_extended_const, gc=self.wasm_gc,
                        tail_call=self.wasm_tail_call,
                        function_references=self.wasm_function_references)

    # -- accepted for compatibility ------------------------------------------------------
    def _flag(name: str, kind: type = bool) -> property:  # type: ignore[misc]  # noqa: N805
        def get(self: Config) -> Any:
            return self._flags.get(name)

        def set_(self: Config, value: Any) -> None:
            if kind is bool and not isinstance(value, bool):
                raise TypeError("expected a bool")
            if kind is int and (not isinstance(value, int) or isinstance(value, bool)):
                raise TypeError("expected an int")
            if kind is str and not isinstance(value, str):
                raise TypeError("expected a str")
            self._live()._flags[name] = value

        return property(get, set_, doc=f"wasmtime-py's ``{name}``: checked and recorded; "
                                       "no effect in wasmlite.")

    debug_info = _flag("debug_info")
    wasm_threads = _flag("wasm_threads")
    wasm_relaxed_simd_deterministic = _flag("wasm_relaxed_simd_deterministic")
    wasm_exceptions = _flag("wasm_exceptions")
    wasm_wide_arithmetic = _flag("wasm_wide_arithmetic")
    wasm_custom_page_sizes = _flag("wasm_custom_page_sizes")
    wasm_stack_switching = _flag("wasm_stack_switching")
    wasm_component_model = _flag("wasm_component_model")
    wasm_component_model_map = _flag("wasm_component_model_map")
    wasm_component_model_implements = _flag("wasm_component_model_implements")
    cranelift_debug_verifier = _flag("cranelift_debug_verifier")
    cranelift_nan_canonicalization = _flag("cranelift_nan_canonicalization")
    shared_memory = _flag("shared_memory")
    gc_support = _flag("gc_support")
    memory_may_move = _flag("memory_may_move")
    native_unwind_info = _flag("native_unwind_info")
    macos_use_mach_ports = _flag("macos_use_mach_ports")
    memory_init_cow = _flag("memory_init_cow")
    memory_reservation = _flag("memory_reservation", int)
    memory_guard_size = _flag("memory_guard_size", int)
    memory_reservation_for_growth = _flag("memory_reservation_for_growth", int)
    target = _flag("target", str)
    del _flag

    def cranelift_flag_enable(self, flag: str) -> None:
        """Checked like wasmtime-py (``TypeError`` unless a ``str``); no effect."""
        if not isinstance(flag, str):
            raise TypeError("expected a str")
        self._live()

    def cranelift_flag_set(self, key: str, value: str) -> None:
        """Checked like wasmtime-py (``TypeError`` unless ``str``\\ s); no effect."""
        if not isinstance(key, str):
            raise TypeError("expected a str for key")
        if not isinstance(value, str):
            raise TypeError("expected a str for value")
        self._live()
