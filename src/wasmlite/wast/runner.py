"""Running WAST scripts against wasmlite's public API.

Semantics follow the spec interpreter's script runner (``interpreter/script/run.ml``
of WebAssembly/spec) and Wasmtime's ``wasmtime-wast`` crate:

* ``module`` compiles and instantiates a module; it becomes the *current* module and,
  with ``$id``, a named one.  Imports are resolved by name among ``register``\\ ed
  instances and the ``spectest`` host module (:mod:`.spectest`).
* ``assert_return`` compares results bit for bit (floats by bit pattern, NaN patterns
  ``nan:canonical``/``nan:arithmetic`` by their spec definition, v128 lane by lane);
  ``(ref.extern n)`` is the ``n``-th :class:`ExternRef` object, compared by identity.
* ``assert_trap``/``assert_exhaustion``/``assert_uninstantiable``/``assert_unlinkable``
  match the expected text as a substring of the error message (for traps, the
  :attr:`Trap.trap_message <wasmlite.Trap.trap_message>` after ``"wasm trap: "``), or one
  of Wasmtime's wordings listed in :data:`TRAP_ALIASES`.
* ``assert_invalid`` requires a :class:`~wasmlite.errors.ValidationError`;
  ``assert_malformed`` a :class:`~wasmlite.text.WatError` or a
  :class:`~wasmlite.errors.DecodeError` that is not a validation error.  Their expected
  messages are not required to match (recorded in the outcome's ``note``).

Every command yields an :class:`Outcome`.  Compiled modules are cached by their bytes
in the :class:`WastRunner`, so a module a script instantiates many times is compiled
once per run.
"""

from __future__ import annotations

import os
import struct
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wasmlite import Config, Engine, Func, Global, Instance, Module, Store, Trap
from wasmlite.binary import decode_module
from wasmlite.cache import _features_of
from wasmlite.environ import module as em
from wasmlite.errors import DecodeError, ValidationError, WasmtimeError
from wasmlite.text import WatError, parse_module_form, tokenize, wat2wasm
from wasmlite.validate import validate_module
from wasmlite.values import from_raw, to_raw

from .script import Action, Expected, ScriptError, ScriptReader, Value, lane_values
from .spectest import spectest_exports

__all__ = ["ExternRef", "FileResult", "Outcome", "TRAP_ALIASES", "WastResult", "WastRunner",
           "run_wast", "trap_message_matches"]

_M64 = (1 << 64) - 1
_NAMES = em.VALTYPE_NAMES
_MASKS = {em.I32: 0xFFFFFFFF, em.F32: 0xFFFFFFFF, em.I64: _M64, em.F64: _M64,
          em.FUNCREF: _M64, em.EXTERNREF: _M64, em.V128: (1 << 128) - 1}
_KIND_OF = {name: kind for kind, name in _NAMES.items()}

#: Accepted alternative wordings, expected text (the spec's) -> texts that also match.
#: Where the spec interpreter and Wasmtime word an error differently, Wasmtime's wording
#: (which wasmlite follows, see ``wasmlite.errors.TRAP_MESSAGES``) is listed here:
#:
#: * ``uninitialized element 2``: the spec interpreter appends the table index, Wasmtime
#:   does not;
#: * ``undefined element`` / ``out of bounds table access``: Wasmtime reports a table
#:   index out of bounds with either text, depending on the instruction;
#: * ``indirect call type mismatch``: older Wasmtime versions say "signature mismatch";
#: * ``data segment does not fit`` / ``elements segment does not fit``: older spec
#:   wordings of the out-of-bounds segment traps at instantiation;
#: * ``call stack exhausted``: Wasmtime's ``TrapCode::StackOverflow`` wording;
#: * ``null function reference``: ``call_ref`` of null, Wasmtime's "null reference".
TRAP_ALIASES: dict[str, tuple[str, ...]] = {
    "uninitialized element 2": ("uninitialized element",),
    "undefined element": ("out of bounds table access",),
    "out of bounds table access": ("undefined element",),
    "indirect call type mismatch": ("indirect call signature mismatch",),
    "data segment does not fit": ("out of bounds memory access",),
    "elements segment does not fit": ("out of bounds table access", "undefined element"),
    "call stack exhausted": ("stack overflow",),
    "null function reference": ("null reference",),
}

_TRAP_PREFIX = "wasm trap: "

#: Heads of module fields: a script made of these is one inline module (spec
#: interpreter, "script ::= cmd* | module-field*").
_MODULE_FIELDS = frozenset(("type", "import", "func", "table", "memory", "global", "export",
                            "start", "elem", "data"))


def trap_message_matches(expected: str, actual: str) -> bool:
    """Whether error text ``actual`` satisfies the expected text of an assertion.

    ``actual`` may carry the ``"wasm trap: "`` prefix.  Matches when ``expected`` (or one
    of its :data:`TRAP_ALIASES`) occurs in it.
    """
    if actual.startswith(_TRAP_PREFIX):
        actual = actual[len(_TRAP_PREFIX):]
    if expected in actual:
        return True
    return any(alt in actual for alt in TRAP_ALIASES.get(expected, ()))


class ExternRef:
    """The host object a script's ``(ref.extern n)`` stands for (one per ``n`` per file)."""

    __slots__ = ("n",)

    def __init__(self, n: int):
        self.n = n

    def __repr__(self) -> str:
        return f"ExternRef({self.n})"


@dataclass
class Outcome:
    """The outcome of one command: its ``line``, ``command`` name, whether it ``passed``,
    a ``message`` saying why it failed (``""`` when it passed) and an optional ``note``
    (e.g. an assert_invalid whose error text differs from the expected one)."""

    line: int
    command: str
    passed: bool
    message: str = ""
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        d: dict[str, Any] = {"line": self.line, "command": self.command, "passed": self.passed}
        if self.message:
            d["message"] = self.message
        if self.note:
            d["note"] = self.note
        return d


@dataclass
class FileResult:
    """The outcomes of one script.  Times in seconds: ``seconds`` for the whole file,
    ``compile_seconds`` spent building :class:`~wasmlite.Module`\\ s (decode, validate
    and LLVM compilation); ``modules_compiled`` / ``module_cache_hits`` count module
    builds and cache hits."""

    path: str
    outcomes: list[Outcome] = field(default_factory=list)
    seconds: float = 0.0
    compile_seconds: float = 0.0
    modules_compiled: int = 0
    module_cache_hits: int = 0

    @property
    def name(self) -> str:
        """The file's base name (``"i32.wast"``)."""
        return os.path.basename(self.path)

    @property
    def passed(self) -> int:
        return sum(1 for o in self.outcomes if o.passed)

    @property
    def failed(self) -> int:
        return sum(1 for o in self.outcomes if not o.passed)

    @property
    def failures(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.passed]

    def to_json(self) -> dict[str, Any]:
        return {"file": self.path, "passed": self.passed, "failed": self.failed,
                "seconds": round(self.seconds, 3),
                "compile_seconds": round(self.compile_seconds, 3),
                "modules_compiled": self.modules_compiled,
                "module_cache_hits": self.module_cache_hits,
                "outcomes": [o.to_json() for o in self.outcomes]}


@dataclass
class WastResult:
    """The results of a run over one or more scripts."""

    files: list[FileResult] = field(default_factory=list)

    @property
    def passed(self) -> int:
        return sum(f.passed for f in self.files)

    @property
    def failed(self) -> int:
        return sum(f.failed for f in self.files)

    @property
    def seconds(self) -> float:
        return sum(f.seconds for f in self.files)

    @property
    def compile_seconds(self) -> float:
        return sum(f.compile_seconds for f in self.files)

    def format(self) -> str:
        """Text report: each failure as ``file:line: message``, then ``file: N passed,
        N failed`` per file and ``total: N passed, N failed``."""
        lines = []
        for f in self.files:
            for o in f.failures:
                lines.append(f"{f.path}:{o.line}: {o.command}: {o.message}")
        for f in self.files:
            lines.append(f"{f.path}: {f.passed} passed, {f.failed} failed")
        lines.append(f"total: {self.passed} passed, {self.failed} failed "
                     f"({self.seconds:.1f} s, of which {self.compile_seconds:.1f} s "
                     f"building modules)")
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        return {"passed": self.passed, "failed": self.failed,
                "seconds": round(self.seconds, 3),
                "compile_seconds": round(self.compile_seconds, 3),
                "files": [f.to_json() for f in self.files]}


class _Failed:
    """Stands for a module whose definition failed."""

    def __init__(self, line: int, reason: str):
        self.line = line
        self.reason = reason


class _LinkError(Exception):
    pass


class _CommandFailed(Exception):
    """The current command failed; the message says why."""


class WastRunner:
    """Runs scripts with one :class:`~wasmlite.Engine` and a module cache.

    ``engine`` defaults to a new engine at LLVM ``opt_level`` (default ``"0"``, which compiles
    the spec suite about 3x faster than ``"1"``; ignored
    when ``engine`` is given).  ``echo`` makes the ``spectest.print*`` functions print.
    Each script runs in a fresh :class:`~wasmlite.Store`.
    """

    def __init__(self, engine: Engine | None = None, opt_level: str = "0", echo: bool = False):
        if engine is None:
            config = Config()
            config.opt_level = opt_level
            engine = Engine(config)
        self.engine = engine
        self.echo = echo
        self._cache: dict[bytes, Module | WasmtimeError] = {}

    def run_file(self, path: str | os.PathLike) -> FileResult:
        """Run the script in file ``path``."""
        with open(path, "rb") as f:
            data = f.read()
        return self.run_text(data, str(path))

    def run_text(self, text: str | bytes, path: str = "<string>") -> FileResult:
        """Run the script ``text``; ``path`` names it in the result."""
        return _ScriptRun(self, text, path).run()

    # -- module cache ------------------------------------------------------------------
    def compile(self, data: bytes, result: FileResult) -> Module:
        """The :class:`Module` of ``data``, built once per runner; raises what building
        it raised (DecodeError, ValidationError, WasmtimeError)."""
        cached = self._cache.get(data)
        if cached is not None:
            result.module_cache_hits += 1
            if isinstance(cached, WasmtimeError):
                raise cached.with_traceback(None)
            return cached
        t0 = time.perf_counter()
        try:
            if data[:4] != b"\0asm":
                decode_module(data)  # raises DecodeError (Module would sniff for text)
            module = Module(self.engine, data)
        except WasmtimeError as e:
            self._cache[data] = e
            raise
        finally:
            result.compile_seconds += time.perf_counter() - t0
            result.modules_compiled += 1
        self._cache[data] = module
        return module


class _ScriptRun:
    """The state of one script run: store, registered and named instances."""

    def __init__(self, runner: WastRunner, text: str | bytes, path: str):
        self.runner = runner
        self.text = text
        self.result = FileResult(path)
        self.store = Store(runner.engine)
        self._st = self.store._wl_store
        self.registry: dict[str, dict[str, Any]] = {
            "spectest": spectest_exports(self.store, runner.echo)}
        self.named: dict[str, Instance | _Failed] = {}
        #: ``(module definition ...)`` modules by name (``None``: the last one)
        self.definitions: dict[str | None, Module] = {}
        self.current: Instance | _Failed | None = None
        self.externs: dict[int, ExternRef] = {}
        #: the engine's WebAssembly features, for ``assert_invalid``/``assert_malformed``
        self.features = _features_of(runner.engine)

    # -- driver ------------------------------------------------------------------------
    def run(self) -> FileResult:
        t0 = time.perf_counter()
        try:
            self._run()
        finally:
            self.result.seconds = time.perf_counter() - t0
        return self.result

    def _run(self) -> None:
        outcomes = self.result.outcomes
        try:
            tokens = tokenize(self.text)
            self.reader = reader = ScriptReader(tokens)
            forms = list(reader.forms())
        except WatError as e:
            outcomes.append(Outcome(e.line, "script", False, f"cannot read script: {e.problem}"))
            return
        if forms and forms[0][0] in _MODULE_FIELDS:
            # an inline module: the whole script is the fields of one module
            try:
                self._define(None, 1)
                outcomes.append(Outcome(1, "module", True))
            except _CommandFailed as e:
                outcomes.append(Outcome(1, "module", False, str(e)))
            return
        for head, start, end in forms:
            line = reader.line(start)
            handler = getattr(self, "_cmd_" + head, None)
            if handler is None:
                outcomes.append(Outcome(line, head or "?", False, f"unknown command {head!r}"))
                continue
            try:
                note = handler(start, end, line)
                outcomes.append(Outcome(line, head, True, note=note or ""))
            except _CommandFailed as e:
                outcomes.append(Outcome(line, head, False, str(e)))
            except ScriptError as e:
                outcomes.append(Outcome(line, head, False, f"script error: {e}"))
            except Exception as e:  # an internal error of wasmlite: report, go on
                outcomes.append(Outcome(line, head, False,
                                        f"internal error: {type(e).__name__}: {e}"))

    # -- modules -----------------------------------------------------------------------
    def _module_bytes(self, i: int | None) -> tuple[str | None, str, bytes]:
        """``(name, kind, bytes)`` of the module form at ``i`` (``None``: the whole
        script is an inline module); raises WatError."""
        if i is None:
            return None, "text", wat2wasm(self.text, self.features.memory64)
        form, _ = parse_module_form(self.reader.tokens, i, self.features.memory64)
        return form.name, form.kind, form.to_binary(self.features.memory64)

    def _link(self, module: Module) -> list[Any]:
        items = []
        for imp in module.imports:
            exports = self.registry.get(imp.module)
            item = exports.get(imp.name or "") if exports is not None else None
            if item is None:
                raise _LinkError(f"unknown import: `{imp.module}::{imp.name}` has not been "
                                 f"defined")
            items.append(item)
        return items

    def _define(self, i: int | None, line: int) -> Instance:
        """Compile, link and instantiate the module form at ``i``; on success it becomes
        the current module.  Failures raise :class:`_CommandFailed`."""
        name = None
        try:
            name, _, data = self._module_bytes(i)
            try:
                module = self.runner.compile(data, self.result)
            except WasmtimeError as e:
                raise _CommandFailed(f"module failed to compile: {_one_line(e)}") from None
            try:
                inst = Instance(self.store, module, self._link(module))
            except _LinkError as e:
                raise _CommandFailed(f"module failed to link: {e}") from None
            except Trap as e:
                raise _CommandFailed(f"module failed to instantiate: {e.trap_message}") from None
            except WasmtimeError as e:
                raise _CommandFailed(f"module failed to link: {_one_line(e)}") from None
        except WatError as e:
            failed = _Failed(line, f"text parse error: {e}")
            self._set_current(None, failed)
            raise _CommandFailed(failed.reason) from None
        except _CommandFailed as e:
            self._set_current(name, _Failed(line, str(e)))
            raise
        except Exception as e:
            self._set_current(name, _Failed(line, f"internal error: {type(e).__name__}: {e}"))
            raise
        self._set_current(name, inst)
        return inst

    def _set_current(self, name: str | None, inst: Instance | _Failed) -> None:
        self.current = inst
        if name is not None:
            self.named[name] = inst

    def _instance(self, name: str | None) -> Instance:
        inst = self.current if name is None else self.named.get(name)
        if inst is None:
            raise _CommandFailed(f"no module {name or '(current)'} defined")
        if isinstance(inst, _Failed):
            raise _CommandFailed(f"module {name or '(current)'} unavailable: line "
                                 f"{inst.line}: {inst.reason}")
        return inst

    # -- actions -----------------------------------------------------------------------
    def _extern_ref(self, n: int) -> ExternRef:
        ref = self.externs.get(n)
        if ref is None:
            ref = self.externs[n] = ExternRef(n)
        return ref

    def _arg_raw(self, kind: int, v: Value) -> int:
        kind = em.ref_storage(kind)   # a typed reference parameter takes a 2.0 reference
        if _NAMES[kind] != v.type:
            raise ScriptError(f"argument {v.type} for a parameter of type {_NAMES[kind]}")
        if kind == em.EXTERNREF:
            obj = None if v.raw is None else self._extern_ref(v.raw)
            return to_raw(self._st, kind, obj)
        if kind == em.FUNCREF:
            if v.raw is not None:
                raise ScriptError("non-null funcref arguments are not supported")
            return 0
        return v.raw  # type: ignore[return-value]

    def _do(self, act: Action) -> list[tuple[int, int]]:
        """Perform an action: its results as ``(valtype, raw bits)``; raises Trap and
        whatever the call raised."""
        inst = self._instance(act.module)
        exports = inst.exports(self.store)
        item = exports.get(act.name)
        if item is None:
            raise _CommandFailed(f"unknown export {act.name!r}")
        if act.kind == "get":
            if not isinstance(item, Global):
                raise _CommandFailed(f"export {act.name!r} is not a global")
            return [_global_raw(self.store, item)]
        if not isinstance(item, Func):
            raise _CommandFailed(f"export {act.name!r} is not a function")
        params, results = _func_kinds(self.store, item)
        if len(act.args) != len(params):
            raise ScriptError(f"{len(act.args)} arguments for a function with "
                              f"{len(params)} parameters")
        raws = [self._arg_raw(k, v) for k, v in zip(params, act.args, strict=True)]
        out = _call_raw(self.store, item, params, results, raws)
        return [(k, r & _MASKS[em.ref_storage(k)]) for k, r in zip(results, out, strict=True)]

    # -- result matching ---------------------------------------------------------------
    def _matches(self, exp: Expected, kind: int, raw: int) -> bool:
        if exp.kind == "either":
            return any(self._matches(e, kind, raw) for e in exp.data)  # type: ignore[union-attr]
        kind = em.ref_storage(kind)   # a typed reference is a funcref/externref value
        if exp.type != _NAMES[kind] and not (exp.type == "ref" and em.is_ref(kind)):
            return False
        k = exp.kind
        if k == "bits":
            return raw == exp.data
        if k.startswith("nan:"):
            return _nan_matches(k, 32 if kind == em.F32 else 64, raw)
        if k == "lanes":
            shape, pats = exp.data  # type: ignore[misc]
            bits = 128 // len(pats)
            for pat, lane in zip(pats, lane_values(raw, shape), strict=True):
                if isinstance(pat, str):
                    if not _nan_matches(pat, bits, lane):
                        return False
                elif pat != lane:
                    return False
            return True
        if k == "null":
            return raw == 0
        if k == "func":
            return raw != 0
        if k == "extern":
            obj = from_raw(self._st, kind, raw)
            if exp.data is None:
                return obj is not None
            return obj is not None and obj is self.externs.get(exp.data)  # type: ignore[arg-type]
        raise ScriptError(f"unknown result pattern {k}")

    def _show(self, kind: int, raw: int, exp: Expected | None) -> str:
        kind = em.ref_storage(kind)
        name = _NAMES[kind]
        if kind in (em.I32, em.I64):
            bits = 32 if kind == em.I32 else 64
            signed = raw - (1 << bits) if raw >> (bits - 1) else raw
            return f"({name}.const {signed} (0x{raw:0{bits // 4}x}))"
        if kind == em.F32:
            f = struct.unpack("<f", struct.pack("<I", raw))[0]
            return f"(f32.const {f!r} (0x{raw:08x}))"
        if kind == em.F64:
            f = struct.unpack("<d", struct.pack("<Q", raw))[0]
            return f"(f64.const {f!r} (0x{raw:016x}))"
        if kind == em.V128:
            shape = "i32x4"
            if exp is not None and exp.kind == "lanes":
                shape = exp.data[0]  # type: ignore[index]
            lanes = " ".join(hex(x) for x in lane_values(raw, shape))
            return f"(v128.const {shape} {lanes})"
        if raw == 0:
            return f"(ref.null {name[:-3]})"
        if kind == em.EXTERNREF:
            return f"(ref.extern {from_raw(self._st, kind, raw)!r})"
        return f"(ref.func 0x{raw:x})"

    # -- commands ----------------------------------------------------------------------
    def _cmd_module(self, i: int, end: int, line: int) -> None:
        r = self.reader
        kw = r.values[i + 2] if i + 2 < len(r.kinds) else None
        if kw == "definition":
            self._define_only(i, line)
        elif kw == "instance":
            self._instantiate_definition(i, line)
        else:
            self._define(i, line)

    def _compile_form(self, i: int) -> tuple[str | None, Module]:
        """``(name, Module)`` of the module form at ``i``; a text or compile error is
        the command's failure."""
        try:
            name, _, data = self._module_bytes(i)
        except WatError as e:
            raise _CommandFailed(f"text parse error: {e}") from None
        try:
            return name, self.runner.compile(data, self.result)
        except WasmtimeError as e:
            raise _CommandFailed(f"module failed to compile: {_one_line(e)}") from None

    def _define_only(self, i: int, line: int) -> None:
        """``(module definition $M? ...)``: compile the module, instantiate nothing; a
        later ``(module instance $I? $M?)`` does (the last definition when unnamed)."""
        name, module = self._compile_form(i)
        self.definitions[None] = module
        if name is not None:
            self.definitions[name] = module

    def _instantiate_definition(self, i: int, line: int) -> None:
        r = self.reader
        inst_name, j = r.read_id(i + 3)
        def_name, j = r.read_id(j)
        r.expect_rparen(j)
        module = self.definitions.get(def_name)
        if module is None:
            raise _CommandFailed(f"no module definition {def_name or '(last)'}")
        try:
            inst = Instance(self.store, module, self._link(module))
        except _LinkError as e:
            failed = _Failed(line, f"module failed to link: {e}")
        except Trap as e:
            failed = _Failed(line, f"module failed to instantiate: {e.trap_message}")
        except WasmtimeError as e:
            failed = _Failed(line, f"module failed to link: {_one_line(e)}")
        else:
            self._set_current(inst_name, inst)
            return
        self._set_current(inst_name, failed)
        raise _CommandFailed(failed.reason)

    def _cmd_register(self, i: int, end: int, line: int) -> None:
        r = self.reader
        as_name, j = r.read_string(i + 2)
        mod, j = r.read_id(j)
        r.expect_rparen(j)
        inst = self._instance(mod)
        self.registry[as_name] = dict(inst.exports(self.store).items())

    def _cmd_invoke(self, i: int, end: int, line: int) -> None:
        act, _ = self.reader.read_action(i)
        try:
            self._do(act)
        except Trap as e:
            raise _CommandFailed(f"unexpected trap: {e.trap_message}") from None

    _cmd_get = _cmd_invoke

    def _cmd_assert_return(self, i: int, end: int, line: int) -> None:
        r = self.reader
        act, j = r.read_action(i + 2)
        expected = []
        while j < end - 1:
            e, j = r.read_result(j)
            expected.append(e)
        try:
            results = self._do(act)
        except Trap as e:
            raise _CommandFailed(f"{act.name}: unexpected trap: {e.trap_message}") from None
        if len(results) != len(expected):
            raise _CommandFailed(f"{act.name}: expected {len(expected)} results, got "
                                 f"{len(results)}")
        for n, (exp, (kind, raw)) in enumerate(zip(expected, results, strict=True)):
            if not self._matches(exp, kind, raw):
                got = ", ".join(self._show(k, v, exp) for k, v in results)
                raise _CommandFailed(f"{act.name}: result {n}: expected {exp}, got {got}")

    def _expect_trap(self, act: Action, text: str) -> None:
        try:
            results = self._do(act)
        except Trap as e:
            if not trap_message_matches(text, e.trap_message):
                raise _CommandFailed(f"{act.name}: expected trap {text!r}, got trap "
                                     f"{e.trap_message!r}") from None
            return
        got = ", ".join(self._show(k, v, None) for k, v in results)
        raise _CommandFailed(f"{act.name}: expected trap {text!r}, got results [{got}]")

    def _cmd_assert_trap(self, i: int, end: int, line: int) -> None:
        r = self.reader
        if r.is_form(i + 2, "module"):
            text, _ = r.read_string(r.match[i + 2])
            self._expect_instantiation_failure(i + 2, text, trap=True)
            return
        act, j = r.read_action(i + 2)
        text, j = r.read_string(j)
        self._expect_trap(act, text)

    def _cmd_assert_exhaustion(self, i: int, end: int, line: int) -> None:
        r = self.reader
        act, j = r.read_action(i + 2)
        text, j = r.read_string(j)
        self._expect_trap(act, text)

    def _cmd_assert_uninstantiable(self, i: int, end: int, line: int) -> None:
        r = self.reader
        text, _ = r.read_string(r.match[i + 2])
        self._expect_instantiation_failure(i + 2, text, trap=True)

    def _cmd_assert_unlinkable(self, i: int, end: int, line: int) -> None:
        r = self.reader
        text, _ = r.read_string(r.match[i + 2])
        self._expect_instantiation_failure(i + 2, text, trap=False)

    def _expect_instantiation_failure(self, i: int, text: str, trap: bool) -> None:
        what = "trap" if trap else "link error"
        _, module = self._compile_form(i)
        try:
            Instance(self.store, module, self._link(module))
        except _LinkError as e:
            got = str(e)
            if trap:
                raise _CommandFailed(f"expected {what} {text!r}, got link error {got!r}") from None
        except Trap as e:
            got = e.trap_message
            if not trap:
                raise _CommandFailed(f"expected {what} {text!r}, got trap {got!r}") from None
        except WasmtimeError as e:
            got = _one_line(e)
            if trap:
                raise _CommandFailed(f"expected {what} {text!r}, got link error {got!r}") from None
        else:
            raise _CommandFailed(f"expected {what} {text!r}, module instantiated")
        if not trap_message_matches(text, got):
            raise _CommandFailed(f"expected {what} {text!r}, got {got!r}")

    def _cmd_assert_invalid(self, i: int, end: int, line: int) -> str:
        r = self.reader
        text, _ = r.read_string(r.match[i + 2])
        try:
            _, _, data = self._module_bytes(i + 2)
        except WatError as e:
            raise _CommandFailed(f"expected invalid {text!r}, text parse error: {e}") from None
        try:
            validate_module(decode_module(data, memory64=self.features.memory64), self.features)
        except ValidationError as e:
            return "" if text in e.message else f"message {e.message!r}, expected {text!r}"
        except DecodeError as e:
            raise _CommandFailed(f"expected invalid {text!r}, got malformed "
                                 f"{e.message!r}") from None
        raise _CommandFailed(f"expected invalid {text!r}, module is valid")

    def _cmd_assert_malformed(self, i: int, end: int, line: int) -> str:
        r = self.reader
        text, _ = r.read_string(r.match[i + 2])
        try:
            _, _, data = self._module_bytes(i + 2)
            validate_module(decode_module(data, memory64=self.features.memory64), self.features)
        except ValidationError as e:
            raise _CommandFailed(f"expected malformed {text!r}, got invalid "
                                 f"{e.message!r}") from None
        except DecodeError as e:
            return "" if text in e.message else f"message {e.message!r}, expected {text!r}"
        except WatError as e:
            return "" if text in e.problem else f"message {e.problem!r}, expected {text!r}"
        raise _CommandFailed(f"expected malformed {text!r}, module was accepted")


def _nan_matches(pattern: str, bits: int, raw: int) -> bool:
    """``nan:canonical``: exactly the canonical NaN (either sign); ``nan:arithmetic``:
    any NaN with the quiet bit set (spec §4.3.3, "NaN Propagation")."""
    if bits == 32:
        exp_quiet, mag = 0x7FC00000, raw & 0x7FFFFFFF
    else:
        exp_quiet, mag = 0x7FF8000000000000, raw & 0x7FFFFFFFFFFFFFFF
    if pattern == "nan:canonical":
        return mag == exp_quiet
    return mag & exp_quiet == exp_quiet


def _func_kinds(store: Store, func: Func) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """``(param valtypes, result valtypes)`` of ``func`` as valtype bytes."""
    ft = getattr(func, "_ft", None)
    if ft is not None:
        return tuple(ft.params), tuple(ft.results)
    ty = func.type(store)
    return (tuple(_KIND_OF[str(t)] for t in ty.params),
            tuple(_KIND_OF[str(t)] for t in ty.results))


def _global_raw(store: Store, g: Global) -> tuple[int, int]:
    """``(valtype, raw bits)`` of global ``g`` (through ``Global.raw_value``)."""
    kind = _KIND_OF[str(g.type(store).content)]
    return kind, g.raw_value(store) & _MASKS[em.ref_storage(kind)]


def _call_raw(store: Store, func: Func, params: tuple[int, ...], results: tuple[int, ...],
              raws: list[int]) -> list[int]:
    """Call ``func`` with raw argument bits, returning raw result bits.

    Numbers go through ``Func.call_raw`` as bit patterns, so signalling NaNs keep their
    payloads; references are converted between store handles and Python values here.
    """
    st = store._wl_store
    params = tuple(map(em.ref_storage, params))     # typed references: their 2.0 type
    results = tuple(map(em.ref_storage, results))
    args = [from_raw(st, k, r) if k in em.REF_TYPES else r
            for k, r in zip(params, raws, strict=True)]
    out = func.call_raw(store, *args)
    return [to_raw(st, k, v) if k in em.REF_TYPES else v
            for k, v in zip(results, out, strict=True)]


def _one_line(e: BaseException) -> str:
    return " ".join(str(e).split())


def _is_script_text(s: str) -> bool:
    return "(" in s and not os.path.exists(s)


def run_wast(scripts: str | os.PathLike | bytes | Iterable[str | os.PathLike], *,
             engine: Engine | None = None, opt_level: str = "0",
             echo: bool = False) -> WastResult:
    """Run WAST scripts and return their per-command outcomes.

    ``scripts`` is a path, script text (a ``str`` containing ``(`` that is not an
    existing path, or ``bytes``), or an iterable of paths.  ``engine`` / ``opt_level``
    / ``echo`` are as for :class:`WastRunner`; all scripts share its module cache.
    Raises ``OSError`` for unreadable files; everything a script does is reported as
    outcomes, not raised.
    """
    runner = WastRunner(engine, opt_level, echo)
    result = WastResult()
    if isinstance(scripts, bytes):
        result.files.append(runner.run_text(scripts))
    elif isinstance(scripts, str) and _is_script_text(scripts):
        result.files.append(runner.run_text(scripts))
    elif isinstance(scripts, (str, os.PathLike)):
        result.files.append(runner.run_file(scripts))
    else:
        for p in scripts:
            result.files.append(runner.run_file(Path(p)))
    return result
