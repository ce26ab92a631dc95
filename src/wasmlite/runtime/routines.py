"""The process's native routines: one LLVM module, JIT-compiled once per process.

Code that does not depend on any module, engine or store lives here, compiled together
on first use (``-O0``: they are short, and each separate MCJIT compilation costs some
5 ms of fixed work, which a cold start paid six times):

* the SIGSEGV/SIGBUS handler (``signals.handler_ir``);
* the lazy-compilation stub and its failure routine (``compiler/lazy.py``);
* the thread-stack-floor routine (``stack.py``);
* the instantiation loops (``native.py``);
* the baseline compiler's trap routine (``compiler/baseline``);
* the universal entry trampoline and host stub (``compiler/trampolines.py``,
  :func:`~wasmlite.compiler.trampolines.universal_layout`), which serve every function
  type of up to five integer and eight float parameters and one result, so that a
  module's types need no trampolines of their own.

:func:`address` returns a routine's address; the machine code lives as long as the
process.  Every piece is emitted with the process's store key (``signals.tls_key()``).
"""

from __future__ import annotations

import threading
from typing import Any

__all__ = ["address", "prepare", "wait", "UNIVERSAL_ENTRY", "UNIVERSAL_HOST_STUB"]

#: names of the universal trampolines
UNIVERSAL_ENTRY = "wasmlite_entry_universal"
UNIVERSAL_HOST_STUB = "wasmlite_hoststub_universal"

_lock = threading.Lock()
_state: dict[str, Any] = {}


def _ir() -> str:
    from ..compiler import lazy
    from ..compiler import trampolines as tr
    from ..compiler.baseline import trap_ir
    from . import native, signals, stack

    key = signals.tls_key()
    pieces = [tr.trap_routine(),
              signals.handler_ir(key),
              lazy.stub_ir(key),
              stack.routine_ir(stack.stack_key()),
              native.IR,
              trap_ir(),
              tr.entry_trampoline(UNIVERSAL_ENTRY, None, key),
              tr.universal_host_stub(UNIVERSAL_HOST_STUB)]
    decls: dict[str, None] = dict.fromkeys(tr.COMMON_DECLS.splitlines())
    body: list[str] = []
    for piece in pieces:
        for line in piece.splitlines():
            if line.startswith("declare "):
                decls[line] = None
            elif not line.startswith("attributes #"):
                body.append(line)
    return "\n".join([*decls, *body, tr.attributes(False)])


def _compile() -> None:
    from ..compiler.codegen import JitCode

    try:
        _state["jit"] = JitCode(_ir(), "0")
    except BaseException as e:  # noqa: BLE001 - re-raised by _jit on the caller's thread
        _state["error"] = e


def prepare() -> None:
    """Start compiling the routines on a background thread unless that has started
    (``Engine()`` calls it: the compilation, some 20 ms of mostly LLVM work without the
    GIL, then overlaps with decoding and validating the first module).  The process
    waits for the thread at exit, so LLVM is never torn down under it."""
    if "thread" in _state or "jit" in _state:
        return
    with _lock:
        if "thread" in _state or "jit" in _state:
            return
        import atexit

        t = threading.Thread(target=_compile, name="wasmlite-routines", daemon=True)
        _state["thread"] = t
        atexit.register(t.join)
        t.start()


def wait() -> None:
    """Wait for the background compilation :func:`prepare` started, if any (before
    forking: a child must not inherit LLVM's locks mid-compilation)."""
    t = _state.get("thread")
    if t is not None:
        t.join()


def _jit() -> Any:
    jit = _state.get("jit")
    if jit is None:
        with _lock:
            t = _state.get("thread")
            if t is None and "jit" not in _state:
                _compile()
        if t is not None:
            t.join()
        jit = _state.get("jit")
        if jit is None:
            raise _state["error"]
    return jit


def address(name: str) -> int:
    """The address of routine ``@<name>`` (compiling them all on the first call).
    Raises :class:`~wasmlite.errors.WasmtimeError` for an unknown name."""
    addrs: dict[str, int] = _state.setdefault("addrs", {})
    addr = addrs.get(name)
    if addr is None:
        addr = addrs[name] = _jit().function_address(name)
    return addr
