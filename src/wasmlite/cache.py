"""Compiled artifacts: the serialized-module format and the on-disk compile cache.

**Serialized modules** (``Module.serialize`` / ``Module.deserialize``, wasmtime-py's
API; Wasmtime calls them "precompiled artifacts").  Layout, integers little-endian::

    MAGIC              16 bytes  b"\\0wasmlite-module"
    format version     u32       FORMAT_VERSION
    header length      u32       n
    header             n bytes   UTF-8 JSON object (below)
    wasm               the module's binary (re-decoded on load, never re-validated)
    objects            one relocatable ELF object per LLVM module of the compilation
    checksum           32 bytes  SHA-256 of everything before it

The header holds what the machine code depends on — ``wasmlite`` (package version),
``compiler`` (a digest of the compiler's source, so that a changed compiler never
loads stale code), ``llvm``, ``llvmlite``, ``triple``, ``cpu``, ``cpu_features`` and
``settings`` (the compile-relevant :class:`~wasmlite.Config` settings, see
:func:`compile_settings`) — plus how to rebuild the code: ``parts`` (defined-function
indices per object), ``type_names`` (see ``CompiledCode``) and ``sizes`` (``wasm`` and
``objects`` byte counts).  :func:`parse_artifact` checks magic, format version,
checksum and layout; :func:`check_compatible` checks the header against this host and
engine.  Both raise :class:`WasmtimeError` with Wasmtime's wording where it has one
("bytes are not a compatible serialized wasmtime module" → "... wasmlite module",
"Module was compiled with a different 'opt_level' setting: ...").

Like Wasmtime's, deserialization trusts the machine code it loads: only pass it
artifacts this program (or one you trust) wrote.  The checksum catches truncation and
corruption, not tampering.

**Compile cache** (``Config.cache``, as wasmtime-py: ``True`` or the path of a
Wasmtime cache configuration file; ``Config`` resolves either to a directory).
:class:`ModuleCache` stores serialized modules in that directory keyed by a SHA-256 of
the wasm bytes, the header fields above and the settings; ``Module(engine, wasm)``
looks there first and, on a hit, runs neither the validator nor LLVM.  Writes are
atomic (a temporary file renamed into place); an entry that fails to load is
recompiled and overwritten.

**Optimized batches** (the lazy strategy with ``Config.cache``, Wasmtime's incremental
cache role; :class:`TierCache`).  When the tier-up thread has compiled a batch of hot
functions, its object file is stored under ``tier2/<k[:2]>/<k>.obj`` (the artifact
format above, with no wasm and one object) with ``k`` = :func:`batch_key`: a SHA-256 of
the *layout key* (:func:`layout_key`: this host, wasmlite/compiler/LLVM versions, every
compile setting, the module's non-code sections and its vmctx layout) and of each
function of the batch — its index, its offset in the module and its bytes (locals and
body).  The batch is also added to the layout key's *manifest*
(``tier2/<l[:2]>/<l>.json``, a list of function-index lists).  A later process reads
the manifest once; when a function listed there is first called, the key of its batch
is recomputed from the module in hand and the object loaded instead of compiling the
first tier.  A changed function body, offset, section or setting gives another key: a
miss, never stale code.
"""

from __future__ import annotations

# hashlib, json and tempfile are imported where used: every Module() reads its settings
# here, and only a configured cache needs them (8 ms of a cold start)
import dataclasses
import os
import struct
import threading
from typing import Any

from .config import default_cache_directory
from .errors import WasmtimeError

MAGIC = b"\0wasmlite-module"
#: Bumped whenever the layout or the meaning of a header field changes.
FORMAT_VERSION = 2
_PREFIX = struct.Struct("<16sII")
_DIGEST = 32

NOT_AN_ARTIFACT = "bytes are not a compatible serialized wasmlite module"

#: Settings that shape the generated code, in header order.
SETTINGS = ("opt_level", "signals_based_traps", "tls_key", "consume_fuel",
            "epoch_interruption", "features")

_fingerprint_lock = threading.Lock()
_fingerprint: list[str] = []


def compiler_fingerprint() -> str:
    """A digest (hex, 16 characters) of the source of everything the generated code
    depends on (``wasmlite/compiler/*.py``, ``wasmlite/environ/*.py``), computed once
    per process: a development change to the compiler invalidates old artifacts even
    when the package version stays the same."""
    import hashlib
    with _fingerprint_lock:
        if not _fingerprint:
            root = os.path.dirname(os.path.abspath(__file__))
            h = hashlib.sha256()
            for sub in ("compiler", "environ"):
                # os.scandir, not Path.glob: glob's first use costs about 25 ms (it
                # imports and compiles its pattern machinery), the hashing 1 ms
                d = os.path.join(root, sub)
                for name in sorted(e.name for e in os.scandir(d)
                                   if e.name.endswith(".py") and e.is_file()):
                    h.update(name.encode() + b"\0")
                    with open(os.path.join(d, name), "rb") as f:
                        h.update(f.read())
            _fingerprint.append(h.hexdigest()[:16])
        return _fingerprint[0]


def _version() -> str:
    from . import __version__

    return __version__


def _features_of(engine: Any) -> Any:
    """The engine's :class:`wasmlite.validate.Features` (``Config._features()``), or
    ``None`` when neither the engine nor its config provides them."""
    f = getattr(engine, "_features", None)
    if f is not None and not callable(f):
        return f
    cfg = getattr(engine, "config", None) or getattr(engine, "_config", None)
    if cfg is not None and callable(getattr(cfg, "_features", None)):
        return cfg._features()
    try:
        from .validate import Features
    except ImportError:  # pragma: no cover - older validator
        return None
    # Fallback: the Config.wasm_* flags the engine copied (as Config._features reads them)
    flags = getattr(engine, "_flags", None) or {}
    kwargs = {name: bool(flags[f"wasm_{name}"])
              for name in ("simd", "relaxed_simd", "reference_types", "bulk_memory",
                           "multi_value", "multi_memory", "memory64", "extended_const", "gc",
                           "tail_call", "function_references")
              if flags.get(f"wasm_{name}") is not None}
    # relaxed SIMD needs SIMD (Config._features)
    kwargs["relaxed_simd"] = kwargs.get("simd", True) and kwargs.get("relaxed_simd", True)
    return Features(**kwargs)


def _engine_bool(engine: Any, name: str) -> bool:
    v = getattr(engine, f"_{name}", None)
    if v is None:
        cfg = getattr(engine, "config", None) or getattr(engine, "_config", None)
        v = getattr(cfg, name, None) if cfg is not None else None
    if v is None:
        v = (getattr(engine, "_flags", None) or {}).get(name)
    return bool(v)


def compile_settings(engine: Any) -> dict[str, Any]:
    """The compile-relevant settings of ``engine`` (a :class:`~wasmlite.Engine`) as a
    JSON-able dict with the keys of :data:`SETTINGS`: ``opt_level`` (``"0"``, ``"1"``,
    ``"2"``, ``"s"``), ``signals_based_traps`` (in effect, not just requested),
    ``tls_key`` (the ``pthread_key_t`` baked into entry trampolines and the
    stack-overflow routine), ``consume_fuel``, ``epoch_interruption`` and ``features`` (the
    ``Features`` fields as a dict, or ``None``)."""
    features = _features_of(engine)
    return {
        "opt_level": str(engine._opt_level),
        "signals_based_traps": getattr(engine, "_signals_tls_key", None) is not None,
        "tls_key": getattr(engine, "_tls_key", None),
        "consume_fuel": _engine_bool(engine, "consume_fuel"),
        "epoch_interruption": _engine_bool(engine, "epoch_interruption"),
        "features": dataclasses.asdict(features) if dataclasses.is_dataclass(features) else None,
    }


def host_header(settings: dict[str, Any]) -> dict[str, Any]:
    """The header fields an artifact for this host, wasmlite and ``settings`` carries
    (everything but the per-module ``parts``, ``type_names`` and ``sizes``)."""
    from .compiler import host_target

    return {"wasmlite": _version(), "compiler": compiler_fingerprint(), **host_target(),
            "settings": settings}


# -- the artifact format ------------------------------------------------------------------

def build_artifact(header: dict[str, Any], wasm: bytes, objects: list[bytes]) -> bytearray:
    """Serialize: ``header`` (see :func:`host_header`, plus ``parts`` and ``type_names``;
    ``sizes`` is filled in here), the module's bytes and the object files."""
    import hashlib
    import json
    header = dict(header, sizes={"wasm": len(wasm), "objects": [len(o) for o in objects]})
    hb = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
    out = bytearray(_PREFIX.pack(MAGIC, FORMAT_VERSION, len(hb)))
    out += hb
    out += wasm
    for o in objects:
        out += o
    out += hashlib.sha256(out).digest()
    return out


def _corrupt(what: str) -> WasmtimeError:
    return WasmtimeError(f"serialized module is corrupt: {what}")


def parse_artifact(data: bytes | bytearray | memoryview) -> tuple[dict[str, Any], bytes,
                                                                  list[bytes]]:
    """``(header, wasm, objects)`` of a serialized module.

    Raises :class:`WasmtimeError`: ``"bytes are not a compatible serialized wasmlite
    module"`` (wrong magic, too short to hold one), ``"Module was serialized with
    artifact format version N ..."``, ``"serialized module is truncated or corrupt
    (checksum mismatch)"`` and ``"serialized module is corrupt: ..."`` for a header
    that does not describe the payload."""
    import hashlib
    import json
    data = memoryview(data).cast("B")
    if len(data) < _PREFIX.size + _DIGEST or bytes(data[:len(MAGIC)]) != MAGIC:
        raise WasmtimeError(NOT_AN_ARTIFACT)
    _magic, version, hlen = _PREFIX.unpack_from(data, 0)
    if version != FORMAT_VERSION:
        raise WasmtimeError(f"Module was serialized with artifact format version {version}, "
                            f"but this wasmlite reads version {FORMAT_VERSION}")
    body = data[:len(data) - _DIGEST]
    if hashlib.sha256(body).digest() != bytes(data[len(body):]):
        raise WasmtimeError("serialized module is truncated or corrupt (checksum mismatch)")
    pos = _PREFIX.size
    if pos + hlen > len(body):
        raise _corrupt("header length out of range")
    try:
        header = json.loads(bytes(body[pos:pos + hlen]).decode())
        sizes = header["sizes"]
        wasm_size = int(sizes["wasm"])
        obj_sizes = [int(n) for n in sizes["objects"]]
    except (ValueError, KeyError, TypeError) as e:
        raise _corrupt(f"bad header ({e})") from None
    if not isinstance(header, dict) or wasm_size < 0 or any(n <= 0 for n in obj_sizes):
        raise _corrupt("bad header")
    pos += hlen
    if pos + wasm_size + sum(obj_sizes) != len(body):
        raise _corrupt("payload sizes do not match the header")
    wasm = bytes(body[pos:pos + wasm_size])
    pos += wasm_size
    objects = []
    for n in obj_sizes:
        objects.append(bytes(body[pos:pos + n]))
        pos += n
    return header, wasm, objects


#: the ``Features`` fields in the order of wasmparser's ``WasmFeatures`` bits, which is
#: the order Wasmtime reports a missing one in (by that name: ``relaxed_simd``)
_FEATURE_ORDER = ("mutable_global", "saturating_float_to_int", "sign_extension",
                  "reference_types", "multi_value", "bulk_memory", "simd", "relaxed_simd",
                  "tail_call", "multi_memory", "memory64", "extended_const",
                  "function_references", "gc")


def _check_bool(got: Any, expected: Any, what: str) -> None:
    if bool(got) != bool(expected):
        raise WasmtimeError(f"Module was compiled {'with' if got else 'without'} {what} "
                            f"but it {'is' if expected else 'is not'} enabled for the host")


def check_compatible(header: dict[str, Any], host: dict[str, Any]) -> None:
    """Raise :class:`WasmtimeError` unless an artifact with ``header`` runs on ``host``
    (:func:`host_header` of the engine loading it).  Messages follow Wasmtime's
    (``"Module was compiled with incompatible Wasmtime version ..."``, ``"Module was
    compiled without fuel support but it is enabled for the host"``, ...)."""
    def get(key: str) -> Any:
        return header.get(key)

    if (get("wasmlite"), get("compiler")) != (host["wasmlite"], host["compiler"]):
        raise WasmtimeError(
            f"Module was compiled with incompatible wasmlite version "
            f"'{get('wasmlite')} (compiler {get('compiler')})' but this is "
            f"'{host['wasmlite']} (compiler {host['compiler']})'")
    if (get("llvm"), get("llvmlite")) != (host["llvm"], host["llvmlite"]):
        raise WasmtimeError(
            f"Module was compiled with LLVM {get('llvm')} (llvmlite {get('llvmlite')}) but "
            f"this host has LLVM {host['llvm']} (llvmlite {host['llvmlite']})")
    if get("triple") != host["triple"]:
        raise WasmtimeError(f"Module was compiled for target '{get('triple')}' but the "
                            f"host is '{host['triple']}'")
    if (get("cpu"), get("cpu_features")) != (host["cpu"], host["cpu_features"]):
        raise WasmtimeError(f"Module was compiled for CPU '{get('cpu')}' with other CPU "
                            f"features than the host's ('{host['cpu']}')")
    got = get("settings")
    want = host["settings"]
    if not isinstance(got, dict):
        raise _corrupt("bad header (settings)")
    if str(got.get("opt_level")) != want["opt_level"]:
        raise WasmtimeError(f"Module was compiled with a different 'opt_level' setting: "
                            f"expected '{got.get('opt_level')}' but host has "
                            f"'{want['opt_level']}'")
    _check_bool(got.get("signals_based_traps"), want["signals_based_traps"],
                "signals-based traps")
    if got.get("tls_key") != want["tls_key"]:
        raise WasmtimeError(
            f"Module was compiled for the store TLS key {got.get('tls_key')} "
            f"but this process uses key {want['tls_key']}; compile it again")
    _check_bool(got.get("consume_fuel"), want["consume_fuel"], "fuel support")
    _check_bool(got.get("epoch_interruption"), want["epoch_interruption"],
                "epoch interruption")
    gf, wf = got.get("features"), want["features"]
    if gf != wf:
        if isinstance(gf, dict) and isinstance(wf, dict):
            names = set(gf) | set(wf)
            for name in [n for n in _FEATURE_ORDER if n in names] + \
                    sorted(names - set(_FEATURE_ORDER)):
                if bool(gf.get(name)) != bool(wf.get(name)):
                    _check_bool(gf.get(name), wf.get(name),
                                f"support for WebAssembly feature `{name}`")
        raise WasmtimeError("Module was compiled with a different set of WebAssembly "
                            "features than the host's")


# -- the compile cache ---------------------------------------------------------------------

class ModuleCache:
    """A directory of serialized modules keyed by :meth:`key`.

    Entries are ``<directory>/<key[:2]>/<key>.cwasm``.  Every operation is best effort:
    unreadable entries are misses, failed writes are ignored (the module was compiled
    anyway).  ``hits`` and ``misses`` count the modules ``Module`` loaded from the
    cache or had to compile, ``stores`` the entries written.
    """

    def __init__(self, directory: str | os.PathLike[str]):
        self.directory = os.fspath(directory)
        self.hits = 0
        self.misses = 0
        self.stores = 0

    @classmethod
    def from_setting(cls, setting: Any) -> ModuleCache | None:
        """The cache for a ``Config.cache`` value: ``None``/``False`` → no cache,
        ``True`` → ``config.default_cache_directory()``, a ``str``/path → that directory
        (``Config.cache`` resolves wasmtime-py's ``True`` or cache configuration file
        to the directory).  Other types raise :class:`TypeError`."""
        if setting is None or setting is False:
            return None
        if setting is True:
            return _shared(default_cache_directory())
        if isinstance(setting, (str, os.PathLike)):
            return _shared(os.fspath(setting))
        raise TypeError("expected a bool or a cache directory")

    @staticmethod
    def key(wasm: bytes, host: dict[str, Any]) -> str:
        """Hex SHA-256 of the wasm bytes and ``host`` (:func:`host_header`: versions,
        target, CPU and settings)."""
        import hashlib
        import json
        h = hashlib.sha256(b"wasmlite-cache\0%d\0" % FORMAT_VERSION)
        h.update(json.dumps(host, sort_keys=True, separators=(",", ":")).encode())
        h.update(b"\0")
        h.update(wasm)
        return h.hexdigest()

    def path(self, key: str) -> str:
        return os.path.join(self.directory, key[:2], key + ".cwasm")

    def load(self, key: str) -> bytes | None:
        """The stored artifact for ``key``, or ``None``."""
        try:
            with open(self.path(key), "rb") as f:
                return f.read()
        except OSError:
            return None

    def validated(self, key: str) -> bool:
        """Whether a lazy ``Module()`` of this wasmlite validated the module of ``key``
        (:meth:`key`: its bytes, this host and every setting, the WebAssembly features
        included) before: its marker ``<key[:2]>/<key>.valid`` exists.  Such a module
        is decoded, not validated again — as a cached module's code is loaded, not
        compiled: the cache directory is trusted with native code anyway."""
        return os.path.exists(os.path.join(self.directory, key[:2], key + ".valid"))

    def mark_validated(self, key: str) -> None:
        """Leave the marker :meth:`validated` looks for (best effort)."""
        self._write(os.path.join(self.directory, key[:2], key + ".valid"), b"")

    def store(self, key: str, data: bytes | bytearray) -> bool:
        """Write ``data`` for ``key`` atomically (temporary file, then ``os.replace``);
        ``False`` when it could not be written."""
        if not self._write(self.path(key), data):
            return False
        self.stores += 1
        return True

    def _write(self, path: str, data: bytes | bytearray) -> bool:
        import tempfile
        tmp = None
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=os.path.dirname(path))
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, path)
            tmp = None
        except OSError:
            return False
        finally:
            if tmp is not None:
                try:
                    os.unlink(tmp)
                except OSError:
                    pass
        return True

    def tier2_path(self, key: str, suffix: str) -> str:
        """Where the optimized-batch entry (``.obj``) or manifest (``.json``) of ``key``
        lives."""
        return os.path.join(self.directory, "tier2", key[:2], key + suffix)

    def _read(self, path: str) -> bytes | None:
        try:
            with open(path, "rb") as f:
                return f.read()
        except OSError:
            return None

    def __repr__(self) -> str:
        return f"<wasmlite.cache.ModuleCache {self.directory!r}>"


# -- optimized batches of the lazy strategy ----------------------------------------------

#: Bumped whenever what a batch key covers or a batch entry holds changes.
BATCH_FORMAT = 1
_SECTION_CUSTOM = 0
_SECTION_CODE = 10


def _leb_u32(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data) or shift > 28:
            raise ValueError("bad LEB128")
        b = data[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7


def layout_digest(info: Any) -> str:
    """Hex SHA-256 of what every function's code is compiled against besides its own
    body: each section of the module but the custom sections and the code section (the
    types, imports, function types — so the index space —, tables, memories, globals,
    exports, start, elements, data count and data), and the module's vmctx layout
    (``VMOffsets``; its code is also in :func:`compiler_fingerprint`)."""
    import hashlib
    import json

    from .environ.vmoffsets import VMCTX_HEADER_SIZE, VMOffsets

    data = info.bytes
    h = hashlib.sha256(b"wasmlite-layout\0")
    pos = 8
    try:
        while pos < len(data):
            sid = data[pos]
            size, start = _leb_u32(data, pos + 1)
            end = start + size
            if sid not in (_SECTION_CUSTOM, _SECTION_CODE):
                h.update(b"%d:%d\0" % (sid, size))
                h.update(data[start:end])
            pos = end
    except ValueError:  # pragma: no cover - the module was decoded already
        h.update(data)
    off = VMOffsets.for_module(info)
    h.update(json.dumps([VMCTX_HEADER_SIZE, dataclasses.astuple(off), off.size]).encode())
    return h.hexdigest()


def layout_key(info: Any, host: dict[str, Any]) -> str:
    """Hex SHA-256 of :func:`layout_digest` and ``host`` (:func:`host_header`: wasmlite
    and compiler digest, LLVM and llvmlite versions, target and CPU, and every compile
    setting: opt level, bounds checks, TLS key, fuel, epochs, features)."""
    import hashlib
    import json
    h = hashlib.sha256(b"wasmlite-tier2\0%d\0" % BATCH_FORMAT)
    h.update(json.dumps(host, sort_keys=True, separators=(",", ":")).encode())
    h.update(b"\0" + layout_digest(info).encode())
    return h.hexdigest()


def batch_key(layout: str, info: Any, funcs: list[int]) -> str:
    """Hex SHA-256 of ``layout`` (:func:`layout_key`) and, for each defined function of
    ``funcs`` (sorted), its index, its entry's offset in the module (backtraces map code
    to module offsets) and its bytes (local declarations and instructions)."""
    import hashlib
    h = hashlib.sha256(b"wasmlite-batch\0" + layout.encode())
    data = info.bytes
    for i in sorted(funcs):
        code = info.codes[i]
        h.update(b"\0%d:%d:%d\0" % (i, code.offset, code.body_end - code.offset))
        h.update(data[code.offset:code.body_end])
    return h.hexdigest()


class TierCache:
    """The optimized batches of one module in a :class:`ModuleCache` (see the module
    docstring).  ``lookups``, ``hits`` and ``stores`` count batch loads tried, loaded and
    written.  Every operation is best effort: what cannot be read is a miss, what cannot
    be written is skipped."""

    def __init__(self, cache: ModuleCache, info: Any, host: dict[str, Any]):
        self.cache = cache
        self.info = info
        self.layout = layout_key(info, host)
        self._batches: dict[int, list[list[int]]] | None = None
        self._lock = threading.Lock()
        self.lookups = 0
        self.hits = 0
        self.stores = 0

    def _manifest(self) -> list[list[int]]:
        import json
        raw = self.cache._read(self.cache.tier2_path(self.layout, ".json"))
        if raw is None:
            return []
        try:
            doc = json.loads(raw)
            n = len(self.info.funcs)
            return [[int(i) for i in b] for b in doc
                    if isinstance(b, list) and b and all(
                        isinstance(i, int) and 0 <= i < n for i in b)]
        except (ValueError, TypeError):
            return []

    def batches_with(self, i: int) -> list[list[int]]:
        """The cached batches (sorted defined-function indices) that hold function
        ``i``, as listed in the manifest read on first use."""
        if self._batches is None:
            with self._lock:
                if self._batches is None:
                    index: dict[int, list[list[int]]] = {}
                    for b in self._manifest():
                        for j in b:
                            index.setdefault(j, []).append(b)
                    self._batches = index
        return self._batches.get(i, [])

    def forget(self, funcs: list[int]) -> None:
        """Stop offering batch ``funcs`` (its entry was missing or would not load)."""
        with self._lock:
            for j in funcs:
                lst = (self._batches or {}).get(j)
                if lst and funcs in lst:
                    lst.remove(funcs)

    def load(self, funcs: list[int]) -> bytes | None:
        """The object file of batch ``funcs`` compiled from this module's current
        bytes and settings, or ``None`` (no entry, or truncated/corrupt/foreign)."""
        self.lookups += 1
        key = batch_key(self.layout, self.info, funcs)
        raw = self.cache._read(self.cache.tier2_path(key, ".obj"))
        if raw is None:
            return None
        try:
            header, _wasm, objects = parse_artifact(raw)
        except WasmtimeError:
            return None
        if header.get("batch_key") != key or header.get("funcs") != sorted(funcs) \
                or len(objects) != 1:
            return None
        self.hits += 1
        return objects[0]

    def store(self, funcs: list[int], obj: bytes) -> bool:
        """Write batch ``funcs``'s object file and list the batch in the manifest."""
        import json
        funcs = sorted(funcs)
        key = batch_key(self.layout, self.info, funcs)
        entry = build_artifact({"batch_key": key, "funcs": funcs, "layout": self.layout},
                               b"", [obj])
        if not self.cache._write(self.cache.tier2_path(key, ".obj"), entry):
            return False
        with _manifest_lock:
            batches = self._manifest()
            if funcs not in batches:
                batches.append(funcs)
                self.cache._write(self.cache.tier2_path(self.layout, ".json"),
                                  json.dumps(batches, separators=(",", ":")).encode())
        self.stores += 1
        return True


_manifest_lock = threading.Lock()


_caches: dict[str, ModuleCache] = {}
_caches_lock = threading.Lock()


def _shared(directory: str) -> ModuleCache:
    """One :class:`ModuleCache` per directory and process (so its counters add up)."""
    directory = os.path.abspath(os.path.expanduser(directory))
    with _caches_lock:
        c = _caches.get(directory)
        if c is None:
            c = _caches[directory] = ModuleCache(directory)
        return c


def engine_cache(engine: Any) -> ModuleCache | None:
    """The compile cache ``engine`` uses (``Config.cache``), or ``None``."""
    c = getattr(engine, "_module_cache", False)
    if c is not False:
        return c
    setting = getattr(engine, "_cache", None)
    if setting is None:
        setting = (getattr(engine, "_flags", None) or {}).get("cache")
    c = ModuleCache.from_setting(setting)
    try:
        engine._module_cache = c
    except AttributeError:  # pragma: no cover - an engine with __slots__
        pass
    return c
