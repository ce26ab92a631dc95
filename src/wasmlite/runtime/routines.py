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


def _process_values() -> dict[str, int]:
    """The process-specific values the routines' IR embeds, by the name of the symbol
    that stands for each in :func:`_symbolic_ir`: addresses of Python-owned cells and
    ctypes callbacks, and the two ``pthread_key_t``\\ s."""
    import ctypes

    from ..compiler import lazy
    from ..compiler import trampolines as tr
    from . import signals, stack

    return {"wasmlite_sym_gil_wanted": tr.GIL_WANTED_ADDR,
            "wasmlite_sym_first_call": lazy._FIRST_CALL_ADDR,
            "wasmlite_sym_hot": lazy._HOT_ADDR,
            "wasmlite_sym_loop": lazy._LOOP_ADDR,
            "wasmlite_sym_old_bus": ctypes.addressof(signals._old_bus),
            "wasmlite_sym_old_segv": ctypes.addressof(signals._old_segv),
            "wasmlite_sym_dfl": ctypes.addressof(signals._dfl),
            "wasmlite_sym_code_table": signals._code.addr,
            "wasmlite_sym_memory_table": signals._memories.addr,
            "wasmlite_sym_tls_key": signals.tls_key(),
            "wasmlite_sym_stack_key": stack.stack_key()}


def _symbolic_ir(ir: str, values: dict[str, int]) -> str:
    """``ir`` with every value of ``values`` replaced by a reference to its symbol, so
    that the text, and the machine code compiled from it, is the same in every process
    of this wasmlite, LLVM and CPU (:func:`_compile` caches that code on disk; loading it
    resolves the symbols to this process's values with ``llvm.add_symbol``).  Addresses
    (long numbers, unique in the text) become ``ptrtoint`` constant expressions or, in
    inline assembly, symbol operands; the keys, small numbers, are replaced where
    ``pthread_getspecific``/``pthread_setspecific`` take them."""
    import re

    decls = []
    for name, value in values.items():
        if name.endswith("_key"):
            expr = f"ptrtoint (ptr @{name} to i32)"
            ir = re.sub(rf"(@pthread_[gs]etspecific\(i32 ){value}\b", rf"\g<1>{expr}", ir)
        else:
            ir = ir.replace(f"$${value}", f"$${name}")
            ir = ir.replace(f"i64 {value}", f"i64 ptrtoint (ptr @{name} to i64)")
        decls.append(f"@{name} = external global i8")
    return "\n".join(decls) + "\n" + ir


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


def _cache_path(ir: str) -> str | None:
    """Where the machine code of ``ir`` (symbolic) for this LLVM and CPU is kept:
    ``<default cache directory>/routines/<BLAKE2b digest>.o``; None when
    ``WASMLITE_ROUTINES_CACHE=0``.  (BLAKE2b from ``_blake2``: ``hashlib`` loads
    OpenSSL, 6-10 ms of every cold start.)"""
    import os

    from ..compiler.codegen import host_target
    from ..config import default_cache_directory

    if os.environ.get("WASMLITE_ROUTINES_CACHE", "1") == "0":
        return None
    h = _blake2b()(repr(sorted(host_target().items())).encode(), digest_size=32)
    h.update(ir.encode())
    return os.path.join(default_cache_directory(), "routines", h.hexdigest() + ".o")


def _blake2b() -> Any:
    try:
        from _blake2 import blake2b
    except ImportError:     # an interpreter without it: hashlib's
        from hashlib import blake2b
    return blake2b


def _digest(data: bytes) -> bytes:
    return _blake2b()(data, digest_size=32).digest()


def cached_jit(ir: str, check: str, *, with_mcjit: bool = False) -> Any:
    """A :class:`~wasmlite.compiler.codegen.JitCode` of ``ir`` at opt level 0, its
    machine code kept in the routines cache: the process-specific values ``ir`` embeds
    (:func:`_process_values`: Python-owned cells, callbacks, TLS keys) become symbols
    (:func:`_symbolic_ir`, resolved with ``llvm.add_symbol``), so the same text — and
    the same cache entry — serves every process of this wasmlite, LLVM and CPU.  The
    first such process compiles and stores the object; the others load it.  Without a
    usable cache directory, or a process value of 0, it compiles.  ``check``: a symbol
    the code defines (a loaded entry without it is compiled again); ``with_mcjit``: load
    with MCJIT (the routines themselves, which ``elfload`` uses).  A loaded JitCode has
    the entry's path in ``cached_from``."""
    import os

    import llvmlite.binding as llvm

    from ..compiler.codegen import JitCode

    values = _process_values()
    path = None
    if all(values.values()):
        ir = _symbolic_ir(ir, values)
        for name, value in values.items():
            llvm.add_symbol(name, value)
        try:
            path = _cache_path(ir)
        except Exception:  # noqa: BLE001 - no usable cache directory: compile
            path = None
    # (a key 0 cannot be a symbol's value: the JIT takes it for "not found")
    if path is not None:
        try:
            with open(path, "rb") as f:
                data = f.read()
            # the object, then its digest: a damaged file is never given to LLVM
            obj, digest = data[:-32], data[-32:]
            if len(data) > 32 and _digest(obj) == digest:
                jit = JitCode.from_object(obj, "0", with_mcjit=with_mcjit)
                jit.function_address(check)
                jit.cached_from = path
                return jit
        except Exception:  # noqa: BLE001 - missing or unusable: compile instead
            pass
    jit = JitCode(ir, "0", keep_object=path is not None, with_mcjit=with_mcjit)
    if path is not None and jit.object:
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            tmp = f"{path}.{os.getpid()}.tmp"
            with open(tmp, "wb") as f:
                f.write(jit.object + _digest(jit.object))
            os.replace(tmp, path)
        except OSError:
            pass
    return jit


def _compile() -> None:
    """Compile the routines — or load their machine code from the routines cache, which
    the first process of this wasmlite, LLVM and CPU fills (the routines' ``.pyc``:
    about 30 ms of LLVM work per process otherwise, on the path of every short run) —
    and keep the :class:`~wasmlite.compiler.codegen.JitCode` in ``_state["jit"]``."""
    try:
        # MCJIT: the loader of compiled code relocates with one of these
        jit = _state["jit"] = cached_jit(_ir(), UNIVERSAL_ENTRY, with_mcjit=True)
        _state["cached"] = getattr(jit, "cached_from", None)
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
                from .libc import protect

                protect(addr, page, mmap.PROT_READ | mmap.PROT_EXEC)
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
