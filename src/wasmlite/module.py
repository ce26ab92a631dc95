"""``Module``: a decoded, validated and compiled WebAssembly module
(wasmtime-py: ``wasmtime.Module``).

Pipeline: ``binary.decode_module`` (malformed → :class:`DecodeError`),
``validate.validate_module`` with the engine's feature switches (invalid →
:class:`ValidationError`), ``compiler.compile_module`` at the engine's settings.

``Module.serialize`` / ``Module.deserialize`` / ``Module.deserialize_file`` save and
load the compiled machine code (format and checks: :mod:`wasmlite.cache`); with
``Config.cache`` set, ``Module(engine, wasm)`` goes through the compile cache.
"""

from __future__ import annotations

import os
import weakref
from typing import Any

from .engine import Engine
from .environ.module import ModuleInfo
from .environ.module import canonical_types as em_canonical_types
from .errors import DecodeError, WasmtimeError, managed_arg
from .managed import Managed
from .types import ExportType, ImportType, _wrap_desc


def _wasm_bytes(wasm: Any) -> bytes:
    """The binary module for ``wasm``: a ``str`` is the text format, and so are
    ``bytes`` that do not start with a NUL byte and look like text (``(`` or ``;;``
    first); anything else is taken as the binary format."""
    if isinstance(wasm, str):
        try:
            from .text import wat2wasm  # type: ignore[attr-defined]
        except ImportError:
            raise WasmtimeError("wasmlite cannot parse the WebAssembly text format yet: "
                                "pass a binary module") from None
        return bytes(wat2wasm(wasm))
    if isinstance(wasm, (bytes, bytearray, memoryview)):
        data = bytes(wasm)
        if data[:1] != b"\0" and data.lstrip()[:1] in (b"(", b";"):
            return _wasm_bytes(data.decode("utf-8", "replace"))
        return data
    raise TypeError("expected wasm bytes")


def _features(engine: Engine) -> Any:
    from .cache import _features_of

    return _features_of(engine)


def _decode_and_validate(data: bytes, features: Any = None,
                         keep_bodies: bool = True) -> tuple[ModuleInfo, Any]:
    """Decode and validate ``data``: ``(info, bodies)``.  ``keep_bodies=False``: the
    validator keeps no body (its fast path, on several processes for a big module) and
    ``bodies`` decodes each on first use (``binary.decoder.FunctionBodies``), for lazy
    compilation."""
    from .binary import decode_module
    from .binary.decoder import FunctionBodies
    from .validate import validate_module

    info = decode_module(data, memory64=features is None or features.memory64)
    kwargs: dict[str, Any] = {} if keep_bodies else {"keep_bodies": False}
    if features is None:
        bodies = validate_module(info, **kwargs)
    else:
        bodies = validate_module(info, features, **kwargs)
    return info, (bodies if keep_bodies else FunctionBodies(info))


class Module(Managed):
    """A compiled module.  ``Module(engine, wasm)`` with ``wasm`` the binary (``bytes``,
    ``bytearray``) or the text format (``str``).

    Raises :class:`TypeError` when ``engine`` is not an Engine, :class:`DecodeError` /
    :class:`ValidationError` (both :class:`WasmtimeError`) for bad modules — including
    modules using a WebAssembly feature the engine's :class:`~wasmlite.Config` switched
    off — and :class:`WasmtimeError` for unsupported features.

    With ``Config.cache`` set, the compiled code is looked up in the compile cache
    (:class:`wasmlite.cache.ModuleCache`); a hit runs neither the validator nor LLVM.
    An eager engine (``Config.strategy = "cranelift"``) stores the whole module there;
    a lazy one stores what its optimizing tier compiles, batch by batch, and loads such
    batches on first calls in later runs (:class:`wasmlite.cache.TierCache`), and
    validates a module only the first time (``ModuleCache.validated``).

    A closed engine raises :class:`ValueError`; after :meth:`close` the module's
    properties and methods, and instantiating it, raise :class:`ValueError` ("already
    closed"), as in wasmtime-py.
    """

    def __init__(self, engine: Engine, wasm: bytes | bytearray | str):
        if not isinstance(engine, Engine):
            raise TypeError("expected an Engine")
        from . import cache as ca

        data = _wasm_bytes(wasm)
        engine._live()
        mc = ca.engine_cache(engine)
        settings = ca.compile_settings(engine)
        key = None
        if mc is not None:
            key = mc.key(data, ca.host_header(settings))
            artifact = mc.load(key)
            if artifact is not None:
                try:
                    self._load(engine, artifact)
                except WasmtimeError:
                    pass  # stale or corrupt entry: compile again and overwrite it
                else:
                    mc.hits += 1
                    return
            mc.misses += 1
        if engine._lazy and mc is not None and key is not None and mc.validated(key):
            # validated by an earlier run (the marker below): decoding is enough (cc1plus:
            # 0.15 s instead of 4.7 s of validation), and the code section's local
            # declarations are decoded as functions are compiled
            from .binary import decode_module
            from .binary.decoder import FunctionBodies

            info = decode_module(data, lazy_code=True)
            bodies: Any = FunctionBodies(info)
        else:
            info, bodies = _decode_and_validate(data, _features(engine),
                                                keep_bodies=not engine._lazy)
            if engine._lazy and mc is not None and key is not None:
                mc.mark_validated(key)
        if engine._lazy:
            # lazy and tiered; with the cache, the optimizing tier's batches are stored
            # and loaded per batch (``cache.TierCache``) instead of the whole module
            tier_cache = None
            if mc is not None:
                tier_cache = ca.TierCache(mc, info, ca.host_header(settings))
            self._setup(engine, info, _lazy_code(engine, info, bodies, settings, tier_cache))
            return
        compiled = _eager_code(engine, info, bodies, settings)
        self._setup(engine, info, compiled)
        if mc is not None and key is not None:
            mc.store(key, self.serialize())

    def _setup(self, engine: Engine, info: ModuleInfo, compiled: Any) -> None:
        self._engine = engine
        self._info = info
        self._compiled = compiled
        if engine._signals_tls_key is not None:
            _register_code(compiled)
        # module-independent types (typed references name other types by index)
        self._type_ids = [engine._sig_id(t) for t in em_canonical_types(info.types)]
        self._template: Any = None

    def _instance_template(self) -> Any:
        """The module's :class:`~wasmlite.runtime.template.InstanceTemplate` (the
        store-independent part of instantiation), built on first use and kept as long as
        the module.  Whoever replaces function addresses in ``_compiled.function_addrs``
        other than in place in an ``array('Q')`` must set ``_template`` to ``None``."""
        tpl = self._template
        if tpl is None:
            from .runtime.template import InstanceTemplate

            cow = self._engine._flags.get("memory_init_cow") is not False
            tpl = self._template = InstanceTemplate(self._info, self._compiled.function_addrs,
                                                    self._type_ids, cow)
        return tpl

    def _load(self, engine: Engine, artifact: bytes | bytearray | memoryview) -> None:
        """Set this module up from a serialized module (see :mod:`wasmlite.cache`)."""
        from . import cache as ca
        from .binary import decode_module
        from .compiler import load_compiled

        header, wasm, objects = ca.parse_artifact(artifact)
        settings = ca.compile_settings(engine)
        ca.check_compatible(header, ca.host_header(settings))
        try:
            info = decode_module(wasm, lazy_code=True)
        except DecodeError as e:
            raise WasmtimeError(f"serialized module is corrupt: {e}") from None
        try:
            parts = [[int(i) for i in p] for p in header["parts"]]
            type_names = [int(t) for t in header["type_names"]]
        except (KeyError, TypeError, ValueError):
            raise WasmtimeError("serialized module is corrupt: bad header (parts)") from None
        if (len(type_names) != len(info.types)
                or sum(len(p) for p in parts) != len(info.funcs)):
            raise WasmtimeError("serialized module is corrupt: the compiled code does not "
                                "match the module")
        try:
            compiled = load_compiled(objects, parts, type_names, settings["opt_level"])
        except WasmtimeError as e:
            raise WasmtimeError(f"serialized module is corrupt: {e}") from None
        self._setup(engine, info, compiled)

    @classmethod
    def from_file(cls, engine: Engine, path: str | bytes | os.PathLike) -> Module:
        """Compile the module in file ``path`` (binary, or text as for the
        constructor).  :class:`OSError` when it cannot be read, as wasmtime-py."""
        with open(path, "rb") as f:
            return cls(engine, f.read())

    @classmethod
    def validate(cls, engine: Engine, wasm: bytes | bytearray) -> None:
        """Check that the binary module ``wasm`` is valid for ``engine``'s feature
        switches, without compiling it (wasmtime-py: ``Module.validate``).  As there,
        ``wasm`` must be ``bytes`` or ``bytearray`` (else :class:`TypeError`) in the
        binary format (the text format fails with "magic header not detected"); errors
        as for the constructor."""
        if not isinstance(wasm, (bytes, bytearray)):
            raise TypeError("expected wasm bytes")
        managed_arg(engine, Engine, 1)
        _decode_and_validate(bytes(wasm), _features(engine), keep_bodies=False)

    @classmethod
    def deserialize(cls, engine: Engine, encoded: bytes | bytearray) -> Module:
        """A module from the bytes :meth:`serialize` returned, without decoding checks,
        validation or compilation (wasmtime-py: ``Module.deserialize``).

        ``encoded`` must come from the same wasmlite (and compiler), LLVM, CPU and
        compile-relevant settings of the engine (opt level, signals-based traps, fuel,
        epochs, WebAssembly features); otherwise, or when it is truncated or corrupt,
        :class:`WasmtimeError` says why.  :class:`TypeError` unless ``bytes`` or
        ``bytearray``.  Only load artifacts you trust: the machine code is run as is.
        """
        if not isinstance(encoded, (bytes, bytearray, memoryview)):
            raise TypeError("expected bytes")
        managed_arg(engine, Engine, 1)
        self = cls.__new__(cls)
        self._load(engine, encoded)
        return self

    @classmethod
    def deserialize_file(cls, engine: Engine, path: str | os.PathLike) -> Module:
        """:meth:`deserialize` the contents of file ``path`` (wasmtime-py:
        ``Module.deserialize_file``); :class:`WasmtimeError` when it cannot be read.
        ``path`` is a ``str`` (or, a wasmlite extension, an ``os.PathLike``); anything
        else raises :class:`AttributeError`, as in wasmtime-py."""
        if not isinstance(path, (str, os.PathLike)):
            raise AttributeError(f"expected a str path, got {type(path).__name__!r}")
        managed_arg(engine, Engine, 1)
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError as e:
            raise WasmtimeError(f"failed to open file `{os.fsdecode(path)}`: "
                                f"{e.strerror or e}") from None
        return cls.deserialize(engine, data)

    def serialize(self) -> bytearray:
        """The compiled module as bytes for :meth:`deserialize` (wasmtime-py:
        ``Module.serialize``): header, the module's binary and the machine code; see
        :mod:`wasmlite.cache` for the layout."""
        from . import cache as ca

        code = self._live()._compiled
        if getattr(code, "bodies", None) is not None:  # lazily compiled: compile it all
            from . import cache as ca

            code = _eager_code(self._engine, self._info, code.bodies,
                               ca.compile_settings(self._engine))
        objects = code.objects
        if objects is None:
            raise WasmtimeError("this module was compiled without keeping its object code")
        header = dict(ca.host_header(ca.compile_settings(self._engine)),
                      parts=code.part_funcs, type_names=code.type_names)
        return ca.build_artifact(header, self._info.bytes, objects)

    @property
    def name(self) -> str | None:
        """The module name from the ``name`` section, if any."""
        return self._live()._info.names.module

    @property
    def imports(self) -> list[ImportType]:
        """The imports, in order."""
        info = self._live()._info
        return [ImportType(i.module, i.name, _wrap_desc(info, i.kind, i.desc))
                for i in info.imports]

    @property
    def exports(self) -> list[ExportType]:
        """The exports, in order."""
        info = self._live()._info
        return [ExportType(e.name, _export_type(info, e.kind, e.index)) for e in info.exports]

    def custom_sections(self, name: str) -> list[bytes]:
        """The payloads of the custom sections called ``name``, in order."""
        return [data for n, data in self._live()._info.customs if n == name]

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


def _eager_code(engine: Engine, info: ModuleInfo, bodies: list, settings: dict) -> Any:
    """Every function compiled now, at the engine's settings (``Config.strategy =
    "cranelift"``, the compile cache, ``Module.serialize``)."""
    from .compiler import compile_module

    return compile_module(info, bodies, opt_level=settings["opt_level"],
                          signals_tls_key=engine._signals_tls_key,
                          tls_key=settings["tls_key"], keep_objects=True,
                          consume_fuel=settings["consume_fuel"],
                          epoch_interruption=settings["epoch_interruption"])


class _PerType:
    """The entry trampolines (``which`` 0) or host stubs (1) of a lazy module's types
    by type index, each asked of the engine (``Engine._host_trampolines``) on first
    use: the universal ones serve most types, and the others are compiled only when
    the host calls a function of that type (cc1plus: 0.31 s of LLVM in every
    ``Module()`` for types only its internal calls use)."""

    def __init__(self, engine: Engine, types: list, which: int) -> None:
        self._engine = engine
        self._types = types
        self._which = which

    def __len__(self) -> int:
        return len(self._types)

    def __getitem__(self, t: int) -> int:
        return self._engine._host_trampolines(self._types[t])[self._which]


def _lazy_code(engine: Engine, info: ModuleInfo, bodies: list, settings: dict,
               tier_cache: Any = None) -> Any:
    """A ``LazyCode`` for ``info`` (``Config.strategy = "auto"``): nothing compiled yet
    but the entry trampolines and host stubs of its types (the engine's, shared).
    ``tier_cache``: the compile cache's optimized batches (``cache.TierCache``)."""
    from .compiler import compile_batch, compile_osr, load_batch
    from .compiler.codegen import TIER1
    from .compiler.lazy import OSR_BIG_INSTRS, SINGLE_BATCH, LazyCode

    entry, stub = _PerType(engine, info.types, 0), _PerType(engine, info.types, 1)
    guard_key = engine._signals_tls_key
    optimized = settings["opt_level"]
    # the first tier; an engine at opt level 0 has just one tier
    first = TIER1 if optimized != "0" else "0"

    def batch(funcs: list[int], hotness: Any = None, level: str = first,
              osr: Any = None) -> Any:
        return compile_batch(info, bodies, funcs, level, guard_key,
                             consume_fuel=settings["consume_fuel"],
                             epoch_interruption=settings["epoch_interruption"],
                             tls_key=settings["tls_key"], hotness=hotness, osr=osr)

    def tier2(funcs: list[int], quick: bool = False) -> Any:
        return batch(funcs, None, TIER1 if quick else optimized)

    def osr_entry(defidx: int, loop_offset: int, quick: bool = False) -> Any:
        return compile_osr(info, bodies, defidx, loop_offset,
                           TIER1 if quick else optimized, guard_key,
                           consume_fuel=settings["consume_fuel"],
                           epoch_interruption=settings["epoch_interruption"],
                           tls_key=settings["tls_key"])

    def load_tier2(funcs: list[int], obj: bytes) -> Any:
        return load_batch(obj, funcs, len(info.funcs), optimized)

    if getattr(engine, "_baseline", False):
        # the baseline compiler first (default; "auto" and "winch"); the functions it
        # does not take (SIMD, several results) go through LLVM at level 0 — its code
        # generation, not SROA, is their cost: blake3-simd's seven SIMD functions
        # compile in 0.50 s at level 0 against 0.85 s at TIER1 —; hot functions tier
        # up to LLVM at the engine's opt level, whatever it is, and hot loops of frames
        # still in baseline code enter it by on-stack replacement
        from .compiler import baseline

        def first_batch(funcs: list[int], hotness: Any = None, osr: Any = None) -> Any:
            return baseline.compile_batch(
                info, bodies, funcs, guard_pages=guard_key is not None, hotness=hotness,
                consume_fuel=settings["consume_fuel"],
                epoch_interruption=settings["epoch_interruption"],
                fallback=lambda fb: batch(fb, hotness, "0", osr=osr), osr=osr)

        return LazyCode(info, bodies, settings["tls_key"], first_batch,
                        entry, stub,
                        _register_range if guard_key is not None else None, tier2,
                        osr_entry, tier_cache, load_tier2,
                        batch_instrs=SINGLE_BATCH, big_instrs=OSR_BIG_INSTRS,
                        warm_callees=True)

    tiered = first != optimized
    return LazyCode(info, bodies, settings["tls_key"], batch, entry, stub,
                    _register_range if guard_key is not None else None,
                    tier2 if tiered else None, osr_entry if tiered else None,
                    tier_cache, load_tier2)


def _register_range(start: int, end: int, part: Any) -> None:
    """Tell the signal handler about one lazily compiled batch, for its lifetime."""
    from .runtime import signals

    signals.register_code(start, end)
    weakref.finalize(part, _unregister_code, [(start, end)])


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
