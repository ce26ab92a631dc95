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

:func:`deferred` returns, without waiting for the compilation, the address of a thunk
that jumps to the routine once it is compiled: ``Module()`` and ``Store()`` take those,
and the compilation overlaps with what the program does next (a noop module's
``Module()`` waited 24 ms for it).  Nothing may run a thunk before :func:`resolve` (or
:func:`address`) returned: instantiation resolves, and no native code runs before an
instance exists but the host stubs of host functions, which take resolved addresses.
"""

from __future__ import annotations

import threading
from typing import Any

__all__ = ["address", "deferred", "prepare", "resolve", "wait", "UNIVERSAL_ENTRY",
           "UNIVERSAL_HOST_STUB"]

#: names of the universal trampolines
UNIVERSAL_ENTRY = "wasmlite_entry_universal"
UNIVERSAL_HOST_STUB = "wasmlite_hoststub_universal"

_lock = threading.Lock()
_state: dict[str, Any] = {}

#: the routines :func:`deferred` serves, each with a thunk and a cell
DEFERRED = ("wasmlite_lazy_stub", "wasmlite_lazy_failed", "wasmlite_hot_announced",
            "wasmlite_loop_announced", "wasmlite_thread_stack_low", UNIVERSAL_ENTRY,
            UNIVERSAL_HOST_STUB)
_THUNK = 16


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


def _thunks() -> tuple[Any, Any, int, Any]:
    """``(mapping, cells, first thunk address, view)``: one 16-byte thunk per name of
    :data:`DEFERRED`, ``jmp [rip + cell]`` (no register changes: the lazy stub gets
    its slot in ``r11``), in a page made read + execute, its cells in the writable
    page after it; made once per process."""
    th = _state.get("thunks")
    if th is None:
        with _lock:
            th = _state.get("thunks")
            if th is None:
                import ctypes
                import mmap

                page = mmap.PAGESIZE
                m = mmap.mmap(-1, 2 * page, prot=mmap.PROT_READ | mmap.PROT_WRITE)
                code = bytearray()
                for k in range(len(DEFERRED)):
                    disp = page + 8 * k - (_THUNK * k + 6)
                    code += b"\xff\x25" + disp.to_bytes(4, "little", signed=True)
                    code += b"\x0f\x0b" + b"\xcc" * (_THUNK - 8)   # ud2; int3...
                m.write(bytes(code))
                cells = (ctypes.c_uint64 * len(DEFERRED)).from_buffer(m, page)
                view = ctypes.c_char.from_buffer(m)
                addr = ctypes.addressof(view)
                libc = ctypes.CDLL(None, use_errno=True)
                libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
                if libc.mprotect(addr, page, mmap.PROT_READ | mmap.PROT_EXEC):
                    raise OSError(ctypes.get_errno(), "mprotect of the routine thunks failed")
                for k, a in enumerate(_state.get("resolved", ())):
                    cells[k] = a
                th = _state["thunks"] = (m, cells, addr, view)
    return th  # type: ignore[return-value]


def deferred(name: str) -> int:
    """The address of a thunk that jumps to routine ``@<name>`` (one of
    :data:`DEFERRED`), without waiting for the routines' compilation; valid to call
    once :func:`resolve` returned.  Raises :class:`ValueError` for another name."""
    if "resolved" in _state:
        return address(name)
    return _thunks()[2] + _THUNK * DEFERRED.index(name)


def resolve() -> None:
    """Wait for the routines and point the thunks of :func:`deferred` at them
    (instantiation calls it before any native code can run).  Raises what the
    compilation raised."""
    if "resolved" in _state:
        return
    addrs = [address(name) for name in DEFERRED]
    with _lock:
        th = _state.get("thunks")
        if th is not None:
            for k, a in enumerate(addrs):
                th[1][k] = a
        _state["resolved"] = addrs


def address(name: str) -> int:
    """The address of routine ``@<name>`` (compiling them all on the first call).
    Raises :class:`~wasmlite.errors.WasmtimeError` for an unknown name."""
    addrs: dict[str, int] = _state.setdefault("addrs", {})
    addr = addrs.get(name)
    if addr is None:
        addr = addrs[name] = _jit().function_address(name)
    return addr
