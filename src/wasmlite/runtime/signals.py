"""Signal-based traps: the native ``SIGSEGV``/``SIGBUS`` handler behind
``Config.signals_based_traps`` (Wasmtime's name and mechanism).

With signals-based traps every 32-bit linear memory reserves :data:`GUARDED_RESERVATION`
bytes (4 GiB addressable + 4 GiB guard + 64 KiB slack) of ``PROT_NONE`` address space.
A wasm effective address ``zext(addr) + offset`` is below 8 GiB, so generated code loads
and stores at ``base + ea`` with no bounds check: an access past the memory's length
hits a ``PROT_NONE`` page and the kernel raises ``SIGSEGV``.

The handler (LLVM IR JIT-compiled once per process, installed with ``sigaction`` and
``SA_SIGINFO | SA_NODEFER | SA_ONSTACK``) claims a fault only when both hold:

1. the thread is running wasm: the thread-local value under :func:`tls_key` (a
   ``pthread_key_t``) is the running store's ``VMStoreContext*`` — entry trampolines set
   it and restore the previous value on exit (nested and cross-store entries nest);
2. the faulting PC (``uc_mcontext.gregs[REG_RIP]``) lies in a registered range of JIT
   code holding wasm functions (:func:`register_code`).

If the faulting address (``si_addr``) lies in a registered linear-memory reservation
(:func:`register_memory`) the fault is a wasm trap, status ``MEMORY_OUT_OF_BOUNDS + 1``.
Otherwise wasm code faulted somewhere no wasm access can reach — a bug of wasmlite's,
which Wasmtime would answer by aborting the process — and the status is
``STATUS_WASM_FAULT`` (the address goes to ``STORE_FAULT_ADDR``): the entry point raises
a :class:`~wasmlite.Trap` saying so and the process lives on, since nothing but wasm
frames lie between the fault and the entry trampoline.  Either way the handler records
the backtrace (the faulting PC + 1, so that it symbolizes like a return address, then
the frame-pointer chain from ``RBP`` up to the entry trampoline's frame) and
``longjmp``s to the store's innermost jump buffer.  ``SA_NODEFER`` leaves ``SIGSEGV`` unblocked, so a plain ``longjmp`` (no
signal mask restore) is correct.  Otherwise the fault is not ours: the handler puts the
previously installed handler back and returns, so that the faulting instruction runs
again and faults into it (for a signal sent with ``kill``/``raise``, ``si_code <= 0``,
it resets the default action and re-raises).  A real crash is never swallowed.

Only Linux on x86-64 is supported (:func:`supported`); elsewhere
``signals_based_traps`` falls back to explicit bounds checks.
"""

from __future__ import annotations

import ctypes
import platform
import sys
import threading

from ..environ import vmoffsets as vo
from ..errors import TrapCode
from .gclock import GCSafeLock

#: Bytes reserved per 32-bit linear memory with signals-based traps: 4 GiB addressable,
#: 4 GiB guard (so ``zext(addr) + offset`` is always inside), plus 64 KiB for the tail
#: of an 8-byte access starting just below 8 GiB.
GUARDED_RESERVATION = (8 << 30) + (64 << 10)

SIGBUS = 7
SIGSEGV = 11
SA_SIGINFO = 0x4
SA_ONSTACK = 0x08000000
SA_NODEFER = 0x40000000

# glibc x86-64 layouts
SIGACTION_SIZE = 152      # sa_handler @0, sa_mask @8 (128 bytes), sa_flags @136, sa_restorer @144
SIGACTION_FLAGS = 136
SIGINFO_CODE = 8          # si_code (int)
SIGINFO_ADDR = 16         # si_addr
UC_GREGS = 40             # ucontext_t.uc_mcontext.gregs
REG_RBP = 10
REG_RIP = 16

#: Slots of each range table (a memory reservation or a block of JIT code per slot).
TABLE_SLOTS = 16384

_ST_OOB = TrapCode.MEMORY_OUT_OF_BOUNDS + vo.STATUS_TRAP_BASE


def supported() -> bool:
    """Whether this platform has the native handler (Linux on x86-64)."""
    return sys.platform.startswith("linux") and platform.machine() in ("x86_64", "AMD64")


class _RangeTable:
    """A native table of ``[start, end)`` ranges the handler scans: ``u64 count`` then
    ``TABLE_SLOTS`` pairs; ``count`` is the high-water mark, a free slot is ``(0, 0)``."""

    def __init__(self) -> None:
        self.arr = (ctypes.c_uint64 * (1 + 2 * TABLE_SLOTS))()
        self.addr = ctypes.addressof(self.arr)
        self.free: list[int] = []
        self.slots: dict[tuple[int, int], list[int]] = {}
        #: ``remove`` runs from finalizers (a freed store's memories, freed code), so
        #: it goes through ``lock.later`` (see ``runtime/gclock.py``)
        self.lock = GCSafeLock()

    def add(self, start: int, end: int) -> None:
        with self.lock:
            if self.free:
                k = self.free.pop()
            else:
                k = self.arr[0]
                if k >= TABLE_SLOTS:
                    raise MemoryError("too many linear memories or compiled modules alive")
            # end first: a half-written slot (start set, end 0) never matches
            self.arr[2 + 2 * k] = end
            self.arr[1 + 2 * k] = start
            if k == self.arr[0]:
                self.arr[0] = k + 1
            self.slots.setdefault((start, end), []).append(k)

    def remove(self, start: int, end: int) -> None:
        """Free the slot of ``[start, end)``: now, or when the lock's holder releases it."""
        self.lock.later(self._remove, start, end)

    def _remove(self, start: int, end: int) -> None:
        ks = self.slots.get((start, end))
        if not ks:
            return
        k = ks.pop()
        if not ks:
            del self.slots[(start, end)]
        self.arr[1 + 2 * k] = 0
        self.arr[2 + 2 * k] = 0
        self.free.append(k)


_memories = _RangeTable()
_code = _RangeTable()
_old_segv = ctypes.create_string_buffer(SIGACTION_SIZE)
_old_bus = ctypes.create_string_buffer(SIGACTION_SIZE)
_dfl = ctypes.create_string_buffer(SIGACTION_SIZE)
_new = ctypes.create_string_buffer(SIGACTION_SIZE)
_lock = threading.Lock()
_state: dict[str, object] = {}

_libc = ctypes.CDLL(None, use_errno=True)
_libc.sigaction.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p]
_libc.sigaction.restype = ctypes.c_int
_libc.pthread_key_create.argtypes = [ctypes.POINTER(ctypes.c_uint), ctypes.c_void_p]
_libc.pthread_key_create.restype = ctypes.c_int


def register_memory(start: int, size: int) -> None:
    """Declare ``[start, start+size)`` a linear-memory reservation (faults there may be
    wasm traps).  Raises :class:`MemoryError` when the table is full."""
    _memories.add(start, start + size)


def unregister_memory(start: int, size: int) -> None:
    _memories.remove(start, start + size)


def register_code(start: int, end: int) -> None:
    """Declare ``[start, end)`` JIT code holding wasm functions."""
    _code.add(start, end)


def unregister_code(start: int, end: int) -> None:
    _code.remove(start, end)


def tls_key() -> int:
    """The ``pthread_key_t`` under which entry trampolines publish the running store's
    ``VMStoreContext*`` (created once per process)."""
    key = _state.get("key")
    if key is None:
        with _lock:
            key = _state.get("key")
            if key is None:
                k = ctypes.c_uint()
                if _libc.pthread_key_create(ctypes.byref(k), None) != 0:
                    raise OSError(ctypes.get_errno(), "pthread_key_create failed")
                key = _state["key"] = k.value
    return key  # type: ignore[return-value]


def handler_ir(key: int) -> str:
    """The LLVM IR of ``@wasmlite_signal_handler(i32 sig, ptr siginfo, ptr ucontext)``
    with the TLS key and the addresses of the native tables baked in; it calls
    ``@wasmlite_unwind`` (``trampolines.unwind_routine``), which the process's routines
    module (``routines.py``) defines."""
    rip = UC_GREGS + 8 * REG_RIP
    rbp = UC_GREGS + 8 * REG_RBP
    return f"""\
declare ptr @pthread_getspecific(i32)
declare void @longjmp(ptr, i32) noreturn nounwind
declare i32 @sigaction(i32, ptr, ptr)
declare i32 @raise(i32)

define internal i1 @in_table(i64 %tbl, i64 %x) {{
entry:
  %tp = inttoptr i64 %tbl to ptr
  %n = load volatile i64, ptr %tp
  br label %loop
loop:
  %i = phi i64 [ 0, %entry ], [ %i1, %next ]
  %more = icmp ult i64 %i, %n
  br i1 %more, label %body, label %no
body:
  %k = shl i64 %i, 1
  %k1 = add i64 %k, 1
  %sp = getelementptr i64, ptr %tp, i64 %k1
  %s = load volatile i64, ptr %sp
  %ep = getelementptr i64, ptr %sp, i64 1
  %e = load volatile i64, ptr %ep
  %ge = icmp uge i64 %x, %s
  %lt = icmp ult i64 %x, %e
  %in = and i1 %ge, %lt
  %i1 = add i64 %i, 1
  br i1 %in, label %yes, label %next
next:
  br label %loop
yes:
  ret i1 1
no:
  ret i1 0
}}

define void @wasmlite_signal_handler(i32 %sig, ptr %info, ptr %uc) {{
entry:
  %sc = call ptr @pthread_getspecific(i32 {key})
  %has = icmp ne ptr %sc, null
  br i1 %has, label %c1, label %chain
c1:
  %ripp = getelementptr i8, ptr %uc, i64 {rip}
  %rip = load volatile i64, ptr %ripp
  %incode = call i1 @in_table(i64 {_code.addr}, i64 %rip)
  br i1 %incode, label %c2, label %chain
c2:
  %ap = getelementptr i8, ptr %info, i64 {SIGINFO_ADDR}
  %addr = load volatile i64, ptr %ap
  %inmem = call i1 @in_table(i64 {_memories.addr}, i64 %addr)
  %fap = getelementptr i8, ptr %sc, i64 {vo.STORE_FAULT_ADDR}
  store volatile i64 %addr, ptr %fap
  %status = select i1 %inmem, i32 {_ST_OOB}, i32 {vo.STATUS_WASM_FAULT}
  %btp = getelementptr i8, ptr %sc, i64 {vo.STORE_BACKTRACE}
  %rip1 = add i64 %rip, 1
  store volatile i64 %rip1, ptr %btp
  %rbpp = getelementptr i8, ptr %uc, i64 {rbp}
  %rbp = load volatile i64, ptr %rbpp
  call void @wasmlite_unwind(ptr %sc, i64 %rbp, i64 1, i32 %status)
  unreachable
chain:
  %cp = getelementptr i8, ptr %info, i64 {SIGINFO_CODE}
  %code = load volatile i32, ptr %cp
  %fault = icmp sgt i32 %code, 0
  br i1 %fault, label %restore, label %reraise
restore:
  %isbus = icmp eq i32 %sig, {SIGBUS}
  %old = select i1 %isbus, i64 {ctypes.addressof(_old_bus)}, i64 {ctypes.addressof(_old_segv)}
  %oldp = inttoptr i64 %old to ptr
  %r1 = call i32 @sigaction(i32 %sig, ptr %oldp, ptr null)
  ret void
reraise:
  %dflp = inttoptr i64 {ctypes.addressof(_dfl)} to ptr
  %r2 = call i32 @sigaction(i32 %sig, ptr %dflp, ptr null)
  %r3 = call i32 @raise(i32 %sig)
  ret void
}}
"""


def _handler_addr() -> int:
    addr = _state.get("handler")
    if addr is None:
        from .routines import address

        addr = _state["handler"] = address("wasmlite_signal_handler")
        ctypes.c_uint64.from_buffer(_new, 0).value = addr
        ctypes.c_int.from_buffer(_new, SIGACTION_FLAGS).value = SA_SIGINFO | SA_NODEFER | SA_ONSTACK
    return addr  # type: ignore[return-value]


_cur = ctypes.create_string_buffer(SIGACTION_SIZE)
_cur_handler = ctypes.c_uint64.from_buffer(_cur, 0)


def _current(sig: int) -> int:
    """The handler address installed for ``sig`` (with ``_lock`` held: one buffer)."""
    if _libc.sigaction(sig, None, _cur) != 0:
        raise OSError(ctypes.get_errno(), "sigaction failed")
    return _cur_handler.value


def ensure_installed() -> None:
    """Install the handler for ``SIGSEGV`` and ``SIGBUS`` unless it is the installed one
    already (another library, e.g. ``faulthandler.enable()``, may have replaced it since;
    the replaced handler becomes the one faults that are not wasm traps go to).

    Called whenever a Store with signals-based traps is created.  Raises
    :class:`OSError` when ``sigaction`` fails.
    """
    addr = _handler_addr()
    with _lock:
        for sig, old in ((SIGSEGV, _old_segv), (SIGBUS, _old_bus)):
            if _current(sig) == addr:
                continue
            if _libc.sigaction(sig, _new, old) != 0:
                raise OSError(ctypes.get_errno(), "sigaction failed")


def installed() -> bool:
    """Whether the handler is the current ``SIGSEGV`` handler."""
    addr = _state.get("handler")
    if addr is None:
        return False
    with _lock:
        return _current(SIGSEGV) == addr


__all__ = ["GUARDED_RESERVATION", "ensure_installed", "installed", "register_code",
           "register_memory", "supported", "tls_key", "unregister_code",
           "unregister_memory"]
