"""The ``wasmlite`` command line, shaped like Wasmtime's ``wasmtime run``.

Usage::

    wasmlite run [--dir HOST[::GUEST]]... [--env NAME[=VALUE]]... [--invoke FUNC]
                 [--argv0 NAME] [-O|--opt-level 0|1|2|s] [-W fuel=N,timeout=T]
                 [-C cache[=y|n],cache-config=PATH,strategy=auto|cranelift]
                 [--allow-precompiled] FILE [ARGS...]
    wasmlite FILE [ARGS...]              (shorthand for ``wasmlite run``)
    wasmlite compile [-O LEVEL] [-W fuel=N,epoch-interruption[=y|n]] [-o OUTPUT] MODULE
    wasmlite --version

Behaviour follows the Wasmtime CLI (``wasmtime run``, src/commands/run.rs):

* the guest's ``argv[0]`` is FILE as given (``--argv0`` overrides it), followed by ARGS;
* stdin, stdout and stderr are inherited; the environment is empty except for ``--env``
  (``--env NAME`` without a value copies ``NAME`` from the host environment);
* ``--dir HOST::GUEST`` preopens the host directory HOST as GUEST; ``--dir HOST`` alone
  preopens it under the same name;
* the exit status is the guest's ``proc_exit`` status, 0 when ``_start`` returns;
* a trap prints Wasmtime's error report (backtrace and cause) on stderr and exits with
  status 134 (what Wasmtime's ``abort`` gives on Unix);
* ``-W fuel=N`` runs the guest with N units of fuel (``Config.consume_fuel``) and
  ``-W timeout=T`` (``10s``, ``500ms``, ``2m`` or plain seconds) interrupts it after T
  through epochs (``Config.epoch_interruption``), both trapping like any other trap;
  ``-C cache`` / ``-C cache=y|n`` / ``-C cache-config=PATH`` switch the compile cache
  (``Config.cache``), ``-C strategy=auto|cranelift|winch`` sets ``Config.strategy``; several settings may share one option, comma-separated, as in
  Wasmtime's ``-W``/``-C`` option groups;
* a file that cannot be read, a malformed or invalid module, an unknown import or a bad
  ``--invoke`` argument prints a single ``Error: ...`` line on stderr and exits with 1;
* a precompiled module (``wasmlite compile``'s output, ``Module.serialize``'s format)
  runs only with ``--allow-precompiled``; without it, it is refused with Wasmtime's
  message, and one compiled for other settings, truncated or corrupt is a one-line
  error too;
* compiling everything before the run (``-C strategy=cranelift``) shows a progress bar
  on stderr when it is a terminal and the compilation takes more than a second.

``wasmlite compile MODULE`` (Wasmtime's ``wasmtime compile``, src/commands/compile.rs)
compiles every function of MODULE at the engine's opt level and writes the artifact
``Module.serialize`` produces to ``-o OUTPUT`` (default: MODULE's file name, in the
current directory, with the extension ``.cwasm``), with a progress bar as above.  The
``-O``/``-W`` settings that shape code must be given to ``run`` again.

Everything heavy (the compiler, llvmlite) is imported only once a module is to be run,
so ``wasmlite --help`` stays fast.

For cross-checking, the environment variable ``WASMLITE_CLI_ENGINE=wasmtime`` makes the
command run the module with wasmtime-py instead (a developer aid; wasmtime-py must be
installed); ``wasmlite compile`` then writes wasmtime-py's ``Module.serialize`` artifact
and ``run --allow-precompiled`` loads such an artifact (an ELF file, as Wasmtime checks).
"""

from __future__ import annotations

import argparse
import math
import os
import struct
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

#: Exit status for a trap: Wasmtime aborts, which is 128 + SIGABRT (6) on Unix.
TRAP_EXIT_STATUS = 134
#: Exit status for every other error (unreadable file, bad module, link error, ...).
ERROR_EXIT_STATUS = 1

_SUBCOMMANDS = ("run", "wast", "compile")
_TOP_LEVEL_FLAGS = ("-h", "--help", "-V", "--version", "help")
#: Options of ``run`` that take a value as the next argument.
_VALUE_OPTIONS = ("--dir", "--env", "--invoke", "--argv0", "-O", "--opt-level", "-W", "--wasm",
                  "-C", "--codegen")
#: ``-W`` settings ``run`` and ``compile`` know
_WASM_SETTINGS = ("fuel", "timeout", "epoch-interruption")
_OPT_LEVELS = ("0", "1", "2", "s")


class CliError(Exception):
    """An error reported as one ``Error: <message>`` line, exit status 1."""


@dataclass
class RunOptions:
    """The parsed options of ``wasmlite run``.

    ``dirs`` holds ``(host_path, guest_path)`` pairs, ``env`` ``(name, value)`` pairs in
    command-line order, ``opt_level`` one of ``"0"``, ``"1"``, ``"2"``, ``"s"`` or
    ``None`` for the engine's default.  ``fuel`` is the fuel to start with (``None``: fuel
    off), ``timeout`` seconds before an epoch interrupt (``None``: none), ``cache``
    ``None`` (the default: off), ``True`` or a cache configuration file path.
    """

    file: str
    args: list[str] = field(default_factory=list)
    dirs: list[tuple[str, str]] = field(default_factory=list)
    env: list[tuple[str, str]] = field(default_factory=list)
    invoke: str | None = None
    argv0: str | None = None
    opt_level: str | None = None
    fuel: int | None = None
    timeout: float | None = None
    cache: bool | str | None = None
    #: Config.strategy: "auto" and "winch" (lazy: the baseline compiler first, tiered),
    #: "cranelift" (everything compiled first)
    strategy: str | None = None
    #: ``-W epoch-interruption``: compile with epoch checks (implied by ``timeout``)
    epoch_interruption: bool = False
    #: ``--allow-precompiled``: FILE may be a ``wasmlite compile`` artifact
    allow_precompiled: bool = False


@dataclass
class CompileOptions:
    """The parsed options of ``wasmlite compile``: the input ``module``, the ``output``
    path (``None``: the default, ``<MODULE>.cwasm``), ``opt_level`` as for
    :class:`RunOptions`, and whether the code counts fuel / checks epochs."""

    module: str
    output: str | None = None
    opt_level: str | None = None
    consume_fuel: bool = False
    epoch_interruption: bool = False


# --------------------------------------------------------------------------- parsing


def _add_opt_level(parser: argparse.ArgumentParser) -> None:
    """``-O LEVEL`` / ``--opt-level LEVEL``, as ``run`` and ``compile`` take it."""
    parser.add_argument(
        "-O", "--opt-level", dest="opt_level", metavar="LEVEL",
        help="LLVM optimisation level: 0, 1, 2 or s (also accepted as opt-level=LEVEL)",
    )


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("wasmlite")
    except Exception:  # not installed: fall back to the source tree's version
        return "0.1.0"


def _run_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="wasmlite run",
        description="Run a WebAssembly module (a WASI command, or --invoke an export).",
    )
    parser.add_argument(
        "--dir", action="append", default=[], metavar="HOST[::GUEST]",
        help="grant the guest access to host directory HOST, seen as GUEST (default: HOST)",
    )
    parser.add_argument(
        "--env", action="append", default=[], metavar="NAME[=VALUE]",
        help="pass an environment variable to the guest (without a value: copy the host's)",
    )
    parser.add_argument(
        "--invoke", metavar="FUNC",
        help="call the exported function FUNC with ARGS as its parameters, print its results",
    )
    parser.add_argument("--argv0", metavar="NAME", help="the guest's argv[0] (default: FILE)")
    _add_opt_level(parser)
    parser.add_argument(
        "-W", "--wasm", action="append", default=[], metavar="OPT[=VAL],...",
        help="WebAssembly settings: fuel=N (run with N units of fuel), timeout=T "
             "(interrupt after T, e.g. 10s or 500ms), epoch-interruption[=y|n]",
    )
    parser.add_argument(
        "--allow-precompiled", action="store_true",
        help="allow FILE to be a precompiled module (`wasmlite compile`); only run "
             "artifacts you trust: their machine code runs as is",
    )
    parser.add_argument(
        "-C", "--codegen", action="append", default=[], metavar="OPT[=VAL],...",
        help="code generation settings: cache[=y|n] (the compile cache), cache-config=PATH, "
             "strategy=auto|cranelift|winch (compile functions on first call with the "
             "baseline compiler and hot ones optimized in the background — auto, the "
             "default, and winch —, or all optimized before running — cranelift)",
    )
    parser.add_argument("file", metavar="FILE", help="the WebAssembly module to run")
    parser.add_argument("args", nargs="*", metavar="ARGS", help="arguments for the guest")
    return parser


def _top_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="wasmlite",
        description="wasmlite: a WebAssembly runtime that compiles wasm to native code "
                    "through LLVM.",
        epilog="`wasmlite FILE [ARGS...]` is short for `wasmlite run FILE [ARGS...]`; "
               "see `wasmlite run --help`.",
    )
    parser.add_argument("-V", "--version", action="version",
                        version=f"wasmlite {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.add_parser("run", help="run a WebAssembly module", add_help=False)
    sub.add_parser("wast", help="run WebAssembly spec test scripts (.wast)", add_help=False)
    sub.add_parser("compile", help="compile a WebAssembly module ahead of time (.cwasm)",
                   add_help=False)
    sub.add_parser("help", help="show this help")
    return parser


def _split_guest_args(argv: Sequence[str]) -> tuple[list[str], list[str]]:
    """Split ``run``'s arguments into (options and FILE, guest ARGS).

    Everything after FILE belongs to the guest, even when it looks like an option, as in
    Wasmtime (``wasmlite run prog.wasm --help`` passes ``--help`` to ``prog.wasm``).
    """
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            return list(argv[: i + 2]), list(argv[i + 2:])
        if arg in _VALUE_OPTIONS:
            i += 2
            continue
        if arg.startswith("-") and arg != "-":
            i += 1
            continue
        return list(argv[: i + 1]), list(argv[i + 1:])
    return list(argv), []


def _parse_dir(spec: str) -> tuple[str, str]:
    host, sep, guest = spec.partition("::")
    if not host:
        raise CliError(f"invalid --dir `{spec}`: the host directory is empty")
    return host, (guest if sep else host)


def _parse_env(spec: str, environ: dict[str, str]) -> tuple[str, str] | None:
    name, sep, value = spec.partition("=")
    if not name:
        raise CliError(f"invalid --env `{spec}`: the variable name is empty")
    if sep:
        return name, value
    if name in environ:
        return name, environ[name]
    return None


def _parse_opt_level(value: str | None) -> str | None:
    if value is None:
        return None
    if value.startswith("opt-level="):  # Wasmtime's `-O opt-level=N` spelling
        value = value[len("opt-level="):]
    if value not in _OPT_LEVELS:
        raise CliError(f"invalid optimisation level `{value}`: expected one of 0, 1, 2, s")
    return value


def _settings(values: list[str], flag: str, known: tuple[str, ...]) -> dict[str, str]:
    """``-W a=1,b`` → ``{"a": "1", "b": ""}``; raises :class:`CliError` on an unknown key."""
    out: dict[str, str] = {}
    for value in values:
        for item in value.split(","):
            key, _, val = item.partition("=")
            key = key.strip()
            if key not in known:
                raise CliError(f"unknown {flag} option `{key}`: expected one of "
                               + ", ".join(known))
            out[key] = val.strip()
    return out


_DURATION_UNITS = (("ms", 1e-3), ("us", 1e-6), ("ns", 1e-9), ("s", 1.0), ("m", 60.0),
                   ("h", 3600.0))


def _parse_duration(text: str) -> float:
    """``"10s"``, ``"500ms"``, ``"2m"``, ``"1.5"`` (seconds) → seconds."""
    for suffix, scale in _DURATION_UNITS:
        if text.endswith(suffix):
            number, factor = text[: -len(suffix)], scale
            break
    else:
        number, factor = text, 1.0
    try:
        seconds = float(number) * factor
    except ValueError:
        seconds = -1.0
    if not seconds > 0 or math.isinf(seconds):
        raise CliError(f"invalid timeout `{text}`: expected a positive duration such as "
                       "10s or 500ms")
    return seconds


def _parse_bool(text: str, what: str) -> bool:
    if text in ("", "y", "yes", "true"):
        return True
    if text in ("n", "no", "false"):
        return False
    raise CliError(f"invalid value `{text}` for {what}: expected y or n")


def parse_run_args(argv: Sequence[str],
                   environ: dict[str, str] | None = None) -> RunOptions:
    """Parse the arguments of ``wasmlite run`` (without the word ``run``).

    Raises :class:`CliError` for a bad ``--dir``/``--env``/``--opt-level`` value;
    argparse itself exits with status 2 on a usage error, as usual.
    """
    environ = dict(os.environ) if environ is None else environ
    head, guest_args = _split_guest_args(argv)
    ns = _run_parser().parse_args(head)
    env = [pair for pair in (_parse_env(s, environ) for s in ns.env) if pair is not None]
    wasm = _settings(ns.wasm, "-W", _WASM_SETTINGS)
    codegen = _settings(ns.codegen, "-C", ("cache", "cache-config", "strategy"))
    strategy = codegen.get("strategy")
    if strategy is not None and strategy not in ("auto", "cranelift", "winch"):
        raise CliError(f"unknown strategy `{strategy}`: expected `auto`, `cranelift` "
                       "or `winch`")
    fuel = None
    if "fuel" in wasm:
        try:
            fuel = int(wasm["fuel"], 0)
        except ValueError:
            fuel = -1
        if fuel < 0:
            raise CliError(f"invalid fuel `{wasm['fuel']}`: expected a non-negative integer")
    cache: bool | str | None = None
    if "cache" in codegen and _parse_bool(codegen["cache"], "-C cache"):
        cache = True
    if codegen.get("cache-config"):
        cache = codegen["cache-config"] if cache is not False else None
    return RunOptions(
        file=ns.file,
        args=list(ns.args) + guest_args,
        dirs=[_parse_dir(s) for s in ns.dir],
        env=env,
        invoke=ns.invoke,
        argv0=ns.argv0,
        opt_level=_parse_opt_level(ns.opt_level),
        fuel=fuel,
        timeout=_parse_duration(wasm["timeout"]) if "timeout" in wasm else None,
        cache=cache,
        strategy=strategy,
        epoch_interruption=("timeout" in wasm or _parse_bool(
            wasm.get("epoch-interruption", "n"), "-W epoch-interruption")),
        allow_precompiled=ns.allow_precompiled,
    )


def _compile_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="wasmlite compile",
        description="Compile a WebAssembly module ahead of time: every function at the "
                    "opt level, written as a precompiled module for `wasmlite run "
                    "--allow-precompiled` or `Module.deserialize_file`.",
        epilog="Usage examples: `wasmlite compile example.wasm` writes example.cwasm; "
               "`wasmlite compile -o output.cwasm input.wasm`.  Code-shaping settings "
               "(-O, -W fuel, -W epoch-interruption) must be given to `run` as well.",
    )
    _add_opt_level(parser)
    parser.add_argument(
        "-W", "--wasm", action="append", default=[], metavar="OPT[=VAL],...",
        help="WebAssembly settings the code is compiled for: fuel=N (count fuel), "
             "epoch-interruption[=y|n] (check epochs; timeout=T implies it)",
    )
    parser.add_argument("-o", "--output", metavar="OUTPUT",
                        help="the path of the output compiled module; defaults to "
                             "`<MODULE>.cwasm`")
    parser.add_argument("module", metavar="MODULE",
                        help="the path of the WebAssembly to compile")
    return parser


def parse_compile_args(argv: Sequence[str]) -> CompileOptions:
    """Parse the arguments of ``wasmlite compile`` (without the word ``compile``).
    Raises :class:`CliError` for bad settings; argparse exits with 2 on usage errors."""
    ns = _compile_parser().parse_args(list(argv))
    wasm = _settings(ns.wasm, "-W", _WASM_SETTINGS)
    if "fuel" in wasm:
        try:
            fuel = int(wasm["fuel"], 0)
        except ValueError:
            fuel = -1
        if fuel < 0:
            raise CliError(f"invalid fuel `{wasm['fuel']}`: expected a non-negative integer")
    if "timeout" in wasm:
        _parse_duration(wasm["timeout"])
    return CompileOptions(
        module=ns.module, output=ns.output, opt_level=_parse_opt_level(ns.opt_level),
        consume_fuel="fuel" in wasm,
        epoch_interruption=("timeout" in wasm or _parse_bool(
            wasm.get("epoch-interruption", "n"), "-W epoch-interruption")))


def default_output(module: str) -> str:
    """Where ``wasmlite compile MODULE`` writes without ``-o``: MODULE's file name, in
    the current directory, with the extension ``.cwasm`` (as ``wasmtime compile``).
    Raises :class:`CliError` when MODULE names no file (``..``, ``dir/``)."""
    name = os.path.basename(module)
    if not name or name in (".", ".."):
        raise CliError(f"'{module}' is not a valid input module path")
    stem, ext = os.path.splitext(name)
    return (stem if ext else name) + ".cwasm"


# --------------------------------------------------------------------------- running


def _runtime() -> Any:
    """The runtime package: ``wasmlite``, or wasmtime-py when WASMLITE_CLI_ENGINE=wasmtime."""
    if os.environ.get("WASMLITE_CLI_ENGINE") == "wasmtime":
        import wasmtime

        return wasmtime
    import wasmlite

    return wasmlite


def _one_line(text: str) -> str:
    """Collapse a (possibly multi-line) message into one line."""
    return "; ".join(part.strip() for part in str(text).splitlines() if part.strip())


def _f32_str(bits_value: float) -> str:
    """Format an f32 result like Rust's ``Display`` (shortest text that round-trips)."""
    if math.isnan(bits_value):
        return "NaN"
    if math.isinf(bits_value):
        return "inf" if bits_value > 0 else "-inf"
    packed = struct.pack("<f", bits_value)
    for digits in range(1, 10):
        text = f"{bits_value:.{digits}g}"
        try:
            same = struct.pack("<f", float(text)) == packed
        except OverflowError:  # rounded past the largest f32
            same = False
        if same:
            return _plain_decimal(float(text), text)
    return _plain_decimal(bits_value, repr(bits_value))


def _f64_str(value: float) -> str:
    """Format an f64 result like Rust's ``Display``: ``1``, ``1.5``, ``NaN``, ``inf``."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return _plain_decimal(value, repr(value))


def _plain_decimal(value: float, shortest: str) -> str:
    """Rust prints floats without an exponent and without a trailing ``.0``."""
    from decimal import Decimal

    text = format(Decimal(shortest), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    if text in ("-0", "0") and math.copysign(1.0, value) < 0:
        return "-0"
    return text


def _parse_number(text: str, kind: str) -> int | float:
    """Parse an --invoke argument for a parameter of type ``kind`` (``"i32"``, ...)."""
    try:
        if kind in ("i32", "i64"):
            bits = 32 if kind == "i32" else 64
            neg = text.startswith("-")
            body = text[1:] if neg else text
            value = int(body[2:], 16) if body[:2].lower() == "0x" else int(body, 10)
            value = -value if neg else value
            if not -(1 << (bits - 1)) <= value < (1 << bits):
                raise ValueError("out of range")
            if value >= 1 << (bits - 1):  # accept unsigned spellings, as the bits
                value -= 1 << bits
            return value
        if kind in ("f32", "f64"):
            return float(text)
    except ValueError:
        raise CliError(f"failed to parse `{text}` as an {kind} argument") from None
    raise CliError(f"cannot pass a command-line argument as a parameter of type {kind}")


def _format_result(value: Any, kind: str) -> str:
    if kind == "f32":
        return _f32_str(value)
    if kind == "f64":
        return _f64_str(value)
    if kind in ("funcref", "externref") and value is None:
        return f"<null {kind}>"
    if kind == "funcref":
        return "<funcref>"
    if kind == "externref":
        return "<externref>"
    return str(value)


def _format_trap(rt: Any, trap: Any, file: str) -> str:
    """Wasmtime's report for a trap in the main module, with its wasm backtrace."""
    message = getattr(trap, "trap_message", None)
    if message is None:  # wasmtime-py: the message holds the backtrace; keep the cause
        text = str(getattr(trap, "message", trap))
        message = text.rsplit("Caused by:", 1)[-1].strip() if "Caused by:" in text else text
    frames = list(getattr(trap, "frames", None) or [])
    lines = [f"Error: failed to run main module `{file}`", "", "Caused by:"]
    if frames:
        lines.append("    0: error while executing at wasm backtrace:")
        for i, frame in enumerate(frames):
            module = frame.module_name or "<unknown>"
            name = frame.func_name or f"<wasm function {frame.func_index}>"
            offset = frame.module_offset
            where = f"{offset:#6x} - " if offset is not None else ""
            lines.append(f"       {i:>5}: {where}{module}!{name}")
        lines.append(f"    1: {message}")
    else:
        lines.append(f"    {message}")
    return "\n".join(lines)


def _val_kind(valtype: Any) -> str:
    return str(valtype).lower()


def _exit_code(code: int) -> int:
    return code & 0xFF


def run(opts: RunOptions) -> int:
    """Run a module as ``wasmlite run`` does and return the process exit status.

    Raises :class:`CliError` for errors reported on one line; traps are reported here
    (on stderr) and give :data:`TRAP_EXIT_STATUS`.
    """
    try:
        with open(opts.file, "rb") as f:
            data = f.read()
    except OSError as e:
        raise CliError(f"failed to read input file `{opts.file}`: {e.strerror or e}") from None

    rt = _runtime()
    config = rt.Config()
    if opts.opt_level is not None:
        if rt.__name__ == "wasmtime":
            config.cranelift_opt_level = "none" if opts.opt_level == "0" else (
                "speed_and_size" if opts.opt_level == "s" else "speed")
        else:
            config.opt_level = opts.opt_level
    if opts.strategy is not None:
        config.strategy = opts.strategy
    if opts.fuel is not None:
        config.consume_fuel = True
    if opts.timeout is not None or opts.epoch_interruption:
        config.epoch_interruption = True
    if opts.cache is not None:
        try:
            config.cache = opts.cache
        except rt.WasmtimeError as e:
            raise CliError(f"failed to configure the compile cache: {_one_line(e)}") from None
    engine = rt.Engine(config)
    module = _load_module(rt, engine, data, opts)

    store = rt.Store(engine)
    if opts.fuel is not None:
        store.set_fuel(opts.fuel)
    if opts.timeout is not None:
        store.set_epoch_deadline(1)
        timer = threading.Timer(opts.timeout, engine.increment_epoch)
        timer.daemon = True
        timer.start()
    wasi = rt.WasiConfig()
    wasi.argv = [opts.argv0 if opts.argv0 is not None else opts.file, *opts.args]
    wasi.env = [list(pair) for pair in opts.env]
    wasi.inherit_stdin()
    wasi.inherit_stdout()
    wasi.inherit_stderr()
    for host, guest in opts.dirs:
        if not os.path.isdir(host):
            raise CliError(f"failed to open directory `{host}` for --dir: not a directory")
        wasi.preopen_dir(host, guest)
    store.set_wasi(wasi)
    linker = rt.Linker(engine)
    linker.define_wasi()

    try:
        try:
            instance = linker.instantiate(store, module)
        except rt.Trap:
            raise
        except rt.WasmtimeError as e:
            if isinstance(e, rt.ExitTrap):
                raise
            raise CliError(f"failed to instantiate `{opts.file}`: {_one_line(e)}") from None
        exports = instance.exports(store)
        init = _get_export(exports, "_initialize")
        if init is not None:
            init(store)
        if opts.invoke is not None:
            return _invoke(rt, store, exports, opts)
        start = _get_export(exports, "_start")
        if start is not None:
            start(store)
        return 0
    except rt.ExitTrap as e:
        return _exit_code(e.code)
    except rt.Trap as trap:
        sys.stdout.flush()
        print(_format_trap(rt, trap, opts.file), file=sys.stderr)
        return TRAP_EXIT_STATUS
    except rt.WasmtimeError as e:
        raise CliError(f"failed to run main module `{opts.file}`: {_one_line(e)}") from None


def _is_precompiled(rt: Any, data: bytes) -> bool:
    """Whether ``data`` is a precompiled module of runtime ``rt`` (wasmlite's artifact
    magic; an ELF file for wasmtime-py, as Wasmtime checks)."""
    if rt.__name__ == "wasmtime":
        return data[:4] == b"\x7fELF"
    from ..cache import MAGIC

    return data[:len(MAGIC)] == MAGIC


def _load_module(rt: Any, engine: Any, data: bytes, opts: RunOptions) -> Any:
    """The module of FILE for ``run``: deserialized when it is a precompiled module
    (only with ``--allow-precompiled``), else compiled — with a progress bar when
    everything is compiled first."""
    if _is_precompiled(rt, data):
        if not opts.allow_precompiled:
            raise CliError(f"cannot load precompiled module `{opts.file}` unless "
                           "--allow-precompiled is passed")
        try:
            return rt.Module.deserialize(engine, data)
        except rt.WasmtimeError as e:
            raise CliError(f"failed to load precompiled module `{opts.file}`: "
                           f"{_one_line(e)}") from None
    try:
        if opts.strategy == "cranelift" and rt.__name__ != "wasmtime":
            from ..progress import terminal_progress

            with terminal_progress("Compiling"):
                return rt.Module(engine, data)
        return rt.Module(engine, data)
    except rt.WasmtimeError as e:
        raise CliError(f"failed to compile module `{opts.file}`: {_one_line(e)}") from None


def compile_file(opts: CompileOptions) -> int:
    """Run ``wasmlite compile``: compile MODULE eagerly at the settings and write the
    precompiled module; returns the exit status (0).  Raises :class:`CliError` for an
    unreadable input, a bad module or an unwritable output."""
    output = opts.output if opts.output is not None else default_output(opts.module)
    try:
        with open(opts.module, "rb") as f:
            data = f.read()
    except OSError as e:
        raise CliError(f"failed to read input file `{opts.module}`: "
                       f"{e.strerror or e}") from None
    rt = _runtime()
    config = rt.Config()
    if opts.opt_level is not None:
        if rt.__name__ == "wasmtime":
            config.cranelift_opt_level = "none" if opts.opt_level == "0" else (
                "speed_and_size" if opts.opt_level == "s" else "speed")
        else:
            config.opt_level = opts.opt_level
    if rt.__name__ != "wasmtime":
        config.strategy = "cranelift"   # everything compiled now, at the opt level
    config.consume_fuel = opts.consume_fuel
    config.epoch_interruption = opts.epoch_interruption
    engine = rt.Engine(config)
    try:
        if rt.__name__ == "wasmtime":
            artifact = rt.Module(engine, data).serialize()
        else:
            from ..progress import terminal_progress

            with terminal_progress("Compiling"):
                artifact = rt.Module(engine, data).serialize()
    except rt.WasmtimeError as e:
        raise CliError(f"failed to compile module `{opts.module}`: {_one_line(e)}") from None
    try:
        with open(output, "wb") as f:
            f.write(artifact)
    except OSError as e:
        raise CliError(f"failed to write output: {output}: {e.strerror or e}") from None
    return 0


def _get_export(exports: Any, name: str) -> Any:
    try:
        return exports[name]
    except (KeyError, IndexError):
        return None


def _invoke(rt: Any, store: Any, exports: Any, opts: RunOptions) -> int:
    name = opts.invoke
    func = _get_export(exports, name)
    if func is None or not isinstance(func, rt.Func):
        raise CliError(f"failed to find a function export named `{name}` in `{opts.file}`")
    ty = func.type(store)
    params = [_val_kind(p) for p in ty.params]
    results = [_val_kind(r) for r in ty.results]
    if len(opts.args) != len(params):
        raise CliError(f"function `{name}` expects {len(params)} argument(s), "
                       f"got {len(opts.args)}")
    values = [_parse_number(text, kind) for text, kind in zip(opts.args, params, strict=True)]
    out = func(store, *values)
    if not results:
        values_out: list[Any] = []
    elif len(results) == 1:
        values_out = [out]
    else:
        values_out = list(out)
    sys.stdout.write("".join(_format_result(v, k) + "\n" for v, k in zip(values_out, results, strict=True)))
    sys.stdout.flush()
    return 0


# --------------------------------------------------------------------------- entry point


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``wasmlite`` console script; returns the exit status.

    ``argv`` excludes the program name (default: ``sys.argv[1:]``).
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in _TOP_LEVEL_FLAGS:
        parser = _top_parser()
        if argv[:1] == ["help"]:
            parser.print_help()
            return 0
        parser.parse_args(argv)
        parser.print_help(sys.stderr)
        return 2
    if argv[0] == "wast":
        from ..wast import main as wast_main

        return wast_main(argv[1:])
    command = "run"
    if argv[0] in _SUBCOMMANDS:
        command, argv = argv[0], argv[1:]
    try:
        if command == "compile":
            return compile_file(parse_compile_args(argv))
        opts = parse_run_args(argv)
        return run(opts)
    except CliError as e:
        sys.stdout.flush()
        print(f"Error: {e}", file=sys.stderr)
        return ERROR_EXIT_STATUS
    except KeyboardInterrupt:
        return 130
    except Exception as e:  # a bug in wasmlite: still one line, unless asked for more
        if os.environ.get("WASMLITE_TRACEBACK"):
            raise
        sys.stdout.flush()
        print(f"Error: internal error: {type(e).__name__}: {_one_line(e)} "
              "(set WASMLITE_TRACEBACK=1 for the Python traceback)", file=sys.stderr)
        return ERROR_EXIT_STATUS


if __name__ == "__main__":
    sys.exit(main())
