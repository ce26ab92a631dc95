"""Lazy compilation: a function body is compiled when it is first called.

Each defined function ``i`` of a lazily compiled module has a **slot** (a ``u64`` in
``LazyCode.slots``) holding the address of its current machine code, and a **thunk**,
16 bytes of x86-64 that jump through the slot::

    movabs r11, &slots[i]        ; 49 BB imm64
    jmp    qword ptr [r11]       ; 41 FF 23

The thunk's address is the function's code address for everything else: the
``func_ptr`` of its VMFuncRef (so calls from other batches, ``call_indirect``, tables,
other instances and entry trampolines all go through it) never changes.  A slot starts
at the **lazy stub** (one per process, :func:`lazy_stub`), which saves the argument
registers, calls :func:`_on_first_call` with ``r11`` (the slot's address), restores them
and jumps to the address it returned; the callback compiles a *batch* — the function and
the not yet compiled functions it calls directly, breadth first, up to
:data:`BATCH_INSTRS` instructions — on a compiler thread (LLVM's recursion gets a full
thread stack, whatever is left of the wasm thread's), stores the new addresses in the
slots and returns the function's.  Later calls pay one extra indirect jump.  A batch is
one LLVM module: calls inside it are direct (and may be inlined), calls out of it go
through the callee's VMFuncRef, as calls between the parts of an eager compilation do.

The stub runs in the middle of a call, so it keeps the calling convention whole: the
six integer argument registers, ``r10``, ``r11`` and ``xmm0``–``xmm7`` are saved, the
stack (with any stack arguments and a hidden result pointer's target) is untouched,
and it builds a frame-pointer frame so the stack stays walkable.  A compilation that
fails (an internal compiler error: the module was validated) makes the stub jump to
``@wasmlite_lazy_failed`` instead, which traps with ``STATUS_COMPILE_ERROR`` through
the running store (found under the store TLS key, as ``__morestack`` does); the
exception is kept for the thread and raised by the call (:func:`take_error`).
"""

from __future__ import annotations

import bisect
import ctypes
import mmap
import os
import threading
import time
import weakref
from array import array
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from ..environ import vmoffsets as vo
from ..environ.module import ModuleInfo
from ..errors import WasmtimeError
from ..runtime.gclock import GCSafeLock
from ..runtime.libc import protect
from .trampolines import GIL_WANTED as _GIL_WANTED
from .translate import OSR_LINE

#: Bytes of machine code per thunk.
THUNK_SIZE = 16
#: Instructions per optimized batch made to fill the compile cache, at most (give or
#: take a batch): the background jobs queued one per first-tier batch are merged
#: (``_TierUp._coalesce``).
FILL_INSTRS = 20_000
#: Seconds a background batch waits for more to merge while none is queued.
FILL_WAIT = 0.1
#: Instructions compiled per batch, at least: the first-called function and the
#: functions it calls directly, breadth first, until the batch holds this many
#: wasm instructions.
BATCH_INSTRS = 4000
#: The same for a first tier without a fixed cost per batch (the baseline compiler):
#: the called function alone, so that nothing is compiled before it is called (on
#: pulldown-cmark 147 functions compiled instead of 206, regex 295 instead of 419)
#: and no callee needs decoding on the wasm thread to pick the batch.
SINGLE_BATCH = 0
_CALL = 0x10

_CALLBACK_TYPE = ctypes.CFUNCTYPE(ctypes.c_uint64, ctypes.c_uint64)
_HOT_TYPE = ctypes.CFUNCTYPE(None, ctypes.c_uint64)
_LOOP_TYPE = ctypes.CFUNCTYPE(None, ctypes.c_uint64, ctypes.c_uint64)

#: Calls plus loop iterations after which a first-tier function is recompiled by the
#: optimizing tier, in the background.
HOT_THRESHOLD = 2000
#: Instructions an optimizing batch may hold: the hot function and its direct callees
#: that ran in the first tier, breadth first (calls between them become direct and may
#: be inlined).
TIER2_BATCH_INSTRS = 6000
#: see ``LazyCode.warm_callees``
WARM_TICKS = 200
SMALL_CALLEE = 200
#: Ticks after a function became hot by its calls before one of its loops, in a frame
#: still running first-tier code, asks for an OSR entry.
OSR_DELAY = 10_000
#: Instructions above which, after the baseline tier (``Config.strategy = "winch"``),
#: a function's OSR entries and its first optimized code are compiled at LLVM's
#: first-tier level (then, in the background, at the optimizing one): on ed25519's
#: 26,620-instruction function an OSR entry takes 16-22 s at ``-O 1``/``-O 2`` and
#: 0.8 s at that level, and the run's thread CPU went 9.6 s -> 6.0-6.5 s
OSR_BIG_INSTRS = 5000
#: ``WASMLITE_STRESS_TIERS=1`` (tests and the fuzzer's ``--stress-tiers``): functions
#: and loops turn hot after a few ticks, so that the optimizing tier and on-stack
#: replacement run in the middle of nearly every call, at whatever point the
#: background compilation lands
STRESS_TIERS = os.environ.get("WASMLITE_STRESS_TIERS", "") not in ("", "0")
if STRESS_TIERS:
    HOT_THRESHOLD, OSR_DELAY = 20, 30

#: guards the slot registry below; finalizers edit it through ``_lock.later``
_lock = GCSafeLock()
#: registered slot arrays: sorted start addresses, and (end, weakref to LazyCode)
_slot_starts: list[int] = []
_slot_owners: list[tuple[int, Any]] = []
_errors = threading.local()
_executor: list[ThreadPoolExecutor] = []


def _compile_pool() -> ThreadPoolExecutor:
    """The process's compiler threads (one per core)."""
    if not _executor:
        with _lock:
            if not _executor:
                _executor.append(ThreadPoolExecutor(max_workers=os.cpu_count() or 1,
                                                    thread_name_prefix="wasmlite-compile"))
    return _executor[0]


def take_error() -> BaseException | None:
    """The exception of the last failed lazy compilation on this thread (then cleared),
    for the ``STATUS_COMPILE_ERROR`` trap status."""
    err = getattr(_errors, "error", None)
    _errors.error = None
    return err


def _asm(lines: list[str]) -> str:
    return "\\0A".join(lines)


def stub_ir(tls_key: int) -> str:
    """The IR of ``@wasmlite_lazy_stub`` (calls :func:`_on_first_call` through its
    ctypes callback) and ``@wasmlite_lazy_failed`` (traps through the store published
    under ``tls_key``); ``@wasmlite_trap``, the declarations and the attribute groups
    come from the module it joins (``trampolines.trap_routine``, ``COMMON_DECLS``,
    ``attributes``)."""
    from .trampolines import GIL_WANTED_ADDR

    callback = _FIRST_CALL_ADDR
    count = f"movabsq $${GIL_WANTED_ADDR}, %rax"
    save = [f"movdqu %xmm{k}, {16 * k}(%rsp)" for k in range(8)]
    load = [f"movdqu {16 * k}(%rsp), %xmm{k}" for k in range(8)]
    regs = ["rdi", "rsi", "rdx", "rcx", "r8", "r9", "r10", "r11"]
    body = _asm(["pushq %rbp", "movq %rsp, %rbp"]
                + [f"pushq %{r}" for r in regs]
                + ["subq $$128, %rsp"] + save
                + [count, "lock incq (%rax)",
                   "movq %r11, %rdi", f"movabsq $${callback}, %rax", "callq *%rax",
                   # the target replaces the saved r11, popped last-in first
                   "movq %rax, 128(%rsp)", count, "lock decq (%rax)"]
                + load + ["addq $$128, %rsp"]
                + [f"popq %{r}" for r in reversed(regs)]
                + ["popq %rbp", "jmpq *%r11"])
    return f"""\
define void @wasmlite_lazy_stub() naked nounwind {{
  call void asm sideeffect "{body}", "~{{memory}}"()
  unreachable
}}

define void @wasmlite_lazy_failed() #2 {{
entry:
  %sc = call ptr @pthread_getspecific(i32 {tls_key})
  call void @wasmlite_trap(ptr %sc, i32 {vo.STATUS_COMPILE_ERROR})
  unreachable
}}

{_announced("wasmlite_hot_announced", _HOT_ADDR, count)}
{_announced("wasmlite_loop_announced", _LOOP_ADDR, count)}
"""


def _announced(name: str, callback: int, count: str) -> str:
    """A naked routine ``@<name>`` that calls the ctypes callback at ``callback`` with
    the caller's arguments, counted in ``trampolines.GIL_WANTED`` (the hotness
    callbacks of generated code go through these)."""
    body = _asm(["pushq %rbp", "movq %rsp, %rbp", count, "lock incq (%rax)",
                 f"movabsq $${callback}, %rax", "callq *%rax",
                 count, "lock decq (%rax)", "popq %rbp", "retq"])
    return f"""\
define void @{name}() naked nounwind {{
  call void asm sideeffect "{body}", "~{{memory}}"()
  unreachable
}}"""


def lazy_stub() -> tuple[int, int]:
    """``(lazy stub, failure routine)`` addresses: thunks to the process's routines
    (``runtime/routines.py``, :func:`~wasmlite.runtime.routines.deferred`), which trap through the store published under the
    process's key (``signals.tls_key()``, the one every engine uses)."""
    from ..runtime.routines import deferred

    return deferred("wasmlite_lazy_stub"), deferred("wasmlite_lazy_failed")


def _owner_of(slot: int) -> LazyCode | None:
    with _lock:
        k = bisect.bisect_right(_slot_starts, slot) - 1
        if k < 0:
            return None
        end, ref = _slot_owners[k]
        return ref() if slot < end else None


def _on_first_call(slot: int) -> int:
    """The lazy stub's callback (runs on the wasm thread, with the GIL): compile the
    function of ``slot`` if no one has, return its code address; on failure keep the
    exception for :func:`take_error` and return the failure routine."""
    owner = _owner_of(slot)
    try:
        if owner is None:
            raise WasmtimeError(f"internal error: no lazily compiled function at {slot:#x}")
        return owner.ensure_compiled((slot - owner.slots_addr) // 8)
    except BaseException as e:  # noqa: BLE001 - must not escape a ctypes callback
        _errors.error = e
        return lazy_stub()[1]


_FIRST_CALL_CB = _CALLBACK_TYPE(_on_first_call)
_FIRST_CALL_ADDR = ctypes.cast(_FIRST_CALL_CB, ctypes.c_void_p).value or 0


def _on_hot(slot: int) -> None:
    """The first tier's hotness callback (on the wasm thread, with the GIL): queue the
    function of ``slot`` for the optimizing tier.  Never raises."""
    try:
        owner = _owner_of(slot)
        if owner is not None:
            i = (slot - owner.slots_addr) // 8
            owner.request_tier2(i)
            if owner.osr:
                # a loop of a frame still in the first tier asks for an OSR entry only
                # after this many more ticks: a function hot by its calls does not get
                # one for every loop its last first-tier frames run through
                owner.counters[i] = OSR_DELAY
    except BaseException:  # noqa: BLE001, S110 - must not escape a ctypes callback
        pass


_HOT_CB = _HOT_TYPE(_on_hot)
_HOT_ADDR = ctypes.cast(_HOT_CB, ctypes.c_void_p).value or 0


def _on_hot_loop(slot: int, loop_offset: int) -> None:
    """The first tier's loop callback (on the wasm thread, with the GIL): the loop at
    module offset ``loop_offset`` of the function of ``slot`` ran hot and has no OSR
    entry yet: queue one, and the function, for the optimizing tier.  Never raises."""
    try:
        owner = _owner_of(slot)
        if owner is not None:
            i = (slot - owner.slots_addr) // 8
            owner.request_osr(i, loop_offset)
            owner.request_tier2(i)
    except BaseException:  # noqa: BLE001, S110 - must not escape a ctypes callback
        pass


_LOOP_CB = _LOOP_TYPE(_on_hot_loop)
_LOOP_ADDR = ctypes.cast(_LOOP_CB, ctypes.c_void_p).value or 0


def _callbacks() -> tuple[int, int]:
    """``(hot callback, hot-loop callback)`` for generated code: the process's routines
    that call :func:`_on_hot` / :func:`_on_hot_loop` counted in ``GIL_WANTED``."""
    from ..runtime.routines import deferred

    return deferred("wasmlite_hot_announced"), deferred("wasmlite_loop_announced")


class _FirstTierGate:
    """Counts the first-tier compilations in progress.  The tier-up thread pauses its
    Python work (IR generation, ``compiler._part_ir`` and every few blocks of a
    function, ``ModuleTranslator(checkpoint=...)``) while there are any, and while wasm
    code waits to enter Python (``trampolines.GIL_WANTED``, counted by the stubs): both
    need the GIL, and the wasm thread is waiting for the first tier or a host call,
    not for the optimized code.  LLVM's own work runs without the GIL and is not
    paused."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.active = 0

    def __enter__(self) -> None:
        with self.cond:
            self.active += 1

    def __exit__(self, *exc: object) -> None:
        with self.cond:
            self.active -= 1
            if not self.active:
                self.cond.notify_all()

    def pause(self, limit: float = 0.5) -> None:
        """On the tier-up thread: wait until no first-tier compilation runs and no wasm
        thread waits to call into Python (at most ``limit`` seconds, so that a program
        compiling all the time still tiers up)."""
        if not (self.active or _GIL_WANTED.value) or \
                threading.current_thread() is not TIERUP.thread:
            return
        end = time.monotonic() + limit
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return
            if self.active:
                with self.cond:
                    self.cond.wait_for(lambda: not self.active, left)
            elif _GIL_WANTED.value:
                # sleeping releases the GIL to the waiting thread at once (a thread
                # asking for it otherwise waits for the switch interval)
                time.sleep(_YIELD_S)
            else:
                return


#: how long the tier-up thread sleeps at a time while wasm waits for the GIL
_YIELD_S = 0.0002
FIRST_TIER = _FirstTierGate()


class _TierUp:
    """One background thread compiling hot functions with the optimizing tier, in the
    order they became hot — and, with ``Config.cache``, once no hot function waits, the
    other functions that ran (``background`` jobs), so that the cache holds optimized
    code for all of them.  At interpreter exit the queues are dropped and the batch in
    progress finishes before LLVM is torn down."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        #: (weakref to a LazyCode, its method to call, the arguments): hot batches and
        #: OSR entries, in order
        self.jobs: deque[tuple[Any, str, tuple]] = deque()
        #: the same for background batches (Config.cache), run when no hot job waits
        self.fill: deque[tuple[Any, str, tuple]] = deque()
        self.thread: threading.Thread | None = None
        self.stopping = False
        self.busy = False

    def submit(self, code: LazyCode, batch: Any, background: bool = False,
               method: str = "_compile_tier2") -> None:
        """Queue ``code.<method>(batch[, background])`` (``_compile_tier2`` takes the
        flag, ``_compile_osr_entry`` does not)."""
        args = (batch, background) if method == "_compile_tier2" else (batch,)
        with self.cond:
            if self.stopping:
                return
            queue = self.fill if background else self.jobs
            queue.append((weakref.ref(code), method, args))
            if self.thread is None:
                self.thread = threading.Thread(target=self._run, name="wasmlite-tierup",
                                               daemon=True)
                self.thread.start()
                import atexit

                atexit.register(self.stop)
            self.cond.notify()

    def _run(self) -> None:
        while True:
            with self.cond:
                while not self.jobs and not self.fill and not self.stopping:
                    self.cond.wait()
                if self.stopping:
                    return
                background = not self.jobs
                ref, method, args = (self.fill if background else self.jobs).popleft()
                self.busy = True
                if background:
                    # interpreter exit during the wait: this batch counts as in progress
                    # and finishes, as before merging (short runs still fill the cache)
                    args = self._coalesce(ref, args)
            try:
                code = ref()
                if code is not None:
                    getattr(code, method)(*args)
            except BaseException:  # noqa: BLE001 - the first tier's code keeps running
                pass
            finally:
                with self.cond:
                    self.busy = False
                    self.cond.notify_all()

    def _coalesce(self, ref: Any, args: tuple) -> tuple:
        """The arguments of background job ``args`` of ``ref()`` with the batches of the
        background jobs of the same module queued right after it merged in, up to
        :data:`FILL_INSTRS` instructions (with ``self.cond`` held).  The first tier
        queues one job per batch it compiled — one function each for the baseline
        compiler —, and each optimized batch is one LLVM compilation and, in the next
        run, one cache entry and one JIT engine to load: cc1plus's 6,373 functions made
        as many entries, whose loading took most of a cached start."""
        code = ref()
        if code is None:
            return args
        batch = list(args[0])
        size = sum(code._instrs(j) for j in batch)
        fill = self.fill
        end = time.monotonic() + FILL_WAIT
        while size < FILL_INSTRS and not self.jobs and not self.stopping:
            if not fill:
                # the first tier may be compiling the next function right now
                left = end - time.monotonic()
                if left <= 0 or not self.cond.wait(left):
                    break
                continue
            ref2, method2, args2 = fill[0]
            if ref2() is not code or method2 != "_compile_tier2":
                break
            fill.popleft()
            batch.extend(args2[0])
            size += sum(code._instrs(j) for j in args2[0])
        return (sorted(set(batch)), *args[1:])

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait until no job is queued or running (tests, benchmarks); False on timeout."""
        with self.cond:
            return self.cond.wait_for(
                lambda: not self.jobs and not self.fill and not self.busy, timeout)

    def stop(self) -> None:
        with self.cond:
            self.stopping = True
            self.jobs.clear()
            self.fill.clear()
            self.cond.notify_all()
            self.cond.wait_for(lambda: not self.busy, 60)


TIERUP = _TierUp()


class _Thunks:
    """``n`` thunks in an executable mapping of their own."""

    def __init__(self, slots_addr: int, n: int):
        size = max(THUNK_SIZE * n, 1)
        size = (size + mmap.PAGESIZE - 1) // mmap.PAGESIZE * mmap.PAGESIZE
        self.map = mmap.mmap(-1, size, prot=mmap.PROT_READ | mmap.PROT_WRITE)
        # n copies of "mov r11, imm64; jmp [r11]; ud2; int3", then each imm64 (the
        # address of slot i) written a byte lane at a time: eight strided slice
        # assignments instead of a Python loop over the functions (cc1plus: 35,221)
        code = bytearray(b"\x49\xbb" + bytes(8) + b"\x41\xff\x23\x0f\x0b\xcc") * n
        addrs = array("Q", range(slots_addr, slots_addr + 8 * n, 8)).tobytes()
        for k in range(8):
            code[2 + k:THUNK_SIZE * n:THUNK_SIZE] = addrs[k::8]
        code += bytes(size - len(code))
        self.map.write(bytes(code))
        self._view = ctypes.c_char.from_buffer(self.map)
        self.addr = ctypes.addressof(self._view)
        protect(self.addr, size, mmap.PROT_READ | mmap.PROT_EXEC)


class LazyCode:
    """The code of a lazily compiled module; quacks like ``CompiledCode`` for the
    runtime and the API (``function_addrs``, ``entry_trampolines``, ``host_stubs``,
    ``symbolize``, ``symbolize_frames``, ``code_ranges``).

    ``function_addrs[i]`` is defined function ``i``'s thunk.  ``compile_batch(funcs)``
    is the compiler (``funcs``: defined-function indices; returns a ``CompiledCode``
    whose ``function_addrs`` has their addresses); ``on_code(start, end, part)`` is told
    of every new code range (for the signal handler).  Counters: ``batches``,
    ``compiled`` (functions), ``compile_time`` (seconds, summed over batches) of the
    first tier; ``tier2_batches``, ``tier2_time`` of the optimizing tier;
    ``cache_loads``, ``cache_funcs``, ``cache_time`` of optimized batches loaded from
    the compile cache.

    With ``tier_cache`` (a ``cache.TierCache``) every optimized batch is stored in the
    compile cache once installed (at opt level 0, which has one tier, every batch), and a function's first call loads a cached optimized
    batch holding it (``load_optimized(funcs, object)`` → ``CompiledCode``) instead of
    compiling the first tier.
    """

    def __init__(self, info: ModuleInfo, bodies: list[list[tuple]], tls_key: int,
                 compile_batch: Callable[..., Any],
                 entry_trampolines: list[int], host_stubs: list[int],
                 on_code: Callable[[int, int, Any], None] | None = None,
                 compile_optimized: Callable[..., Any] | None = None,
                 compile_osr: Callable[..., Any] | None = None,
                 tier_cache: Any = None,
                 load_optimized: Callable[[list[int], bytes], Any] | None = None,
                 batch_instrs: int = BATCH_INSTRS, big_instrs: int | None = None,
                 warm_callees: bool = False):
        self.info = info
        #: an optimized batch takes only the callees that ran at least
        #: :data:`WARM_TICKS` ticks or are small (:data:`SMALL_CALLEE`): behind slow
        #: baseline code, the hot function's code must land soon, not wait for cold
        #: callees' -O2 (ctype's batch of isalnum & co. held two cold 3,000- and
        #: 4,500-instruction functions and did not land within the 3 s run)
        self.warm_callees = warm_callees
        #: functions with more instructions tier up alone, first to
        #: ``compile_optimized(batch, quick=True)`` (LLVM's first-tier level: seconds
        #: sooner), then in the background to the optimizing level; None: no such step
        self.big_instrs = big_instrs
        #: instructions per first-tier batch (:data:`BATCH_INSTRS` or :data:`SINGLE_BATCH`)
        self.batch_instrs = batch_instrs
        self._compile_osr = compile_osr
        self.bodies = bodies
        self.tls_key = tls_key
        self._compile_batch = compile_batch
        self._compile_optimized = compile_optimized
        self.entry_trampolines = entry_trampolines
        self.host_stubs = host_stubs
        self._on_code = on_code
        n = len(info.funcs)
        self.num_funcs = n
        stub, _fail = lazy_stub()
        self._stub_addr = stub
        self.slots = (ctypes.c_uint64 * max(n, 1)).from_buffer_copy(
            array("Q", [stub]) * max(n, 1))
        self.slots_addr = ctypes.addressof(self.slots)
        self._thunks = _Thunks(self.slots_addr, n)
        base = self._thunks.addr
        self.function_addrs = list(range(base, base + THUNK_SIZE * n, THUNK_SIZE))
        #: hotness counters of the first tier (i32 per function), and what the first
        #: tier's code is instrumented with (``ModuleTranslator(hotness=...)``)
        self.counters = (ctypes.c_int32 * max(n, 1)).from_buffer_copy(
            array("i", [HOT_THRESHOLD]) * max(n, 1))
        self.hotness: tuple[int, int, int] | None = None
        if compile_optimized is not None:
            self.hotness = (ctypes.addressof(self.counters), _callbacks()[0], self.slots_addr)
        self._optimized: set[int] = set()
        #: on-stack replacement (first tier at loop headers): whether the first tier
        #: has it (the translator gets ``(loop callback, self._osr_table, transfer
        #: counter)`` per batch, so that no bound method keeps ``self`` in a cycle), and
        #: per defined function its table of OSR entries (``u64`` per loop: 0 not asked,
        #: 1 compiling, else the entry) and the index of each loop offset in it
        self.osr = compile_optimized is not None and compile_osr is not None
        self._osr_transfers = ctypes.c_uint64(0)
        self._osr_tables: dict[int, tuple[Any, dict[int, int]]] = {}
        self.osr_entries = 0
        self.osr_time = 0.0
        self.tier2_batches = 0
        self.tier2_time = 0.0
        #: the compile cache's optimized batches of this module (``cache.TierCache``)
        #: and how to load one (``compiler.load_batch``); None without Config.cache
        self._tier_cache = tier_cache
        self._load_optimized = load_optimized
        #: optimized batches loaded from the cache, their functions, seconds spent
        self.cache_loads = 0
        self.cache_funcs = 0
        self.cache_time = 0.0
        self._lock = threading.Lock()
        self._pending: dict[int, Future] = {}
        self._callees: dict[int, list[int]] = {}
        #: instructions of the functions neither compiled nor being compiled
        total = getattr(bodies, "estimate_all", None)
        self._left_instrs = (total() if total is not None
                             else sum(self._instrs(j) for j in range(len(bodies))))
        self.parts: list[Any] = []
        self.code_ranges: list[tuple[int, int]] = []
        self._range_starts: list[int] = []
        self._range_parts: list[tuple[int, Any]] = []
        self.batches = 0
        self.compiled = 0
        self.compile_time = 0.0
        with _lock:
            k = bisect.bisect(_slot_starts, self.slots_addr)
            _slot_starts.insert(k, self.slots_addr)
            _slot_owners.insert(k, (self.slots_addr + 8 * max(n, 1), weakref.ref(self)))
        weakref.finalize(self, _lock.later, _unregister, self.slots_addr)

    # -- compiling ---------------------------------------------------------------------
    def is_compiled(self, i: int) -> bool:
        return self.slots[i] != self._stub_addr

    def ensure_compiled(self, i: int) -> int:
        """Compile defined function ``i`` (and its batch) unless done — or load an
        optimized batch holding it from the compile cache —; its code address.
        Raises what the compiler raised."""
        while True:
            with self._lock:
                addr = self.slots[i]
                if addr != self._stub_addr:
                    return addr
                fut = self._pending.get(i)
                if fut is None:
                    cached = self._cached_batch(i)
                    if cached is not None:
                        fresh = [j for j in cached if not self.is_compiled(j)]
                        self._left_instrs -= sum(self._instrs(j) for j in fresh)
                        fut = _compile_pool().submit(self._load_cached, cached, fresh)
                        batch = fresh
                    else:
                        batch = self._pick_batch(i)
                        fut = _compile_pool().submit(self._compile, batch)
                    for j in batch:
                        self._pending[j] = fut
            # a cached batch that would not load leaves the slot at the stub: go round
            # again and compile the first tier
            fut.result()

    def _cached_batch(self, i: int) -> list[int] | None:
        """An optimized batch holding ``i`` that the compile cache lists and that does
        not overlap a compilation in progress (with ``self._lock`` held), or None."""
        if self._tier_cache is None:
            return None
        for batch in self._tier_cache.batches_with(i):
            if not any(j in self._pending or j in self._optimized for j in batch):
                return batch
        return None

    def _load_cached(self, batch: list[int], fresh: list[int]) -> None:
        """Load optimized ``batch`` from the compile cache and install it (its functions
        count as optimized: the first tier never compiles them); on a miss or a bad
        entry, forget it (``fresh``: its functions that were not compiled yet)."""
        assert self._tier_cache is not None and self._load_optimized is not None
        t0 = time.perf_counter()
        part = None
        try:
            obj = self._tier_cache.load(batch)
            if obj is not None:
                part = self._load_optimized(batch, obj)
        except Exception:  # noqa: BLE001 - whatever the entry holds: compile instead
            part = None
        with self._lock:
            for j in fresh:
                self._pending.pop(j, None)
            if part is None:
                self._tier_cache.forget(batch)
                self._left_instrs += sum(self._instrs(j) for j in fresh)
                return
            self._install(part, batch)
            self._optimized.update(batch)
            self.cache_loads += 1
            self.cache_funcs += len(batch)
            self.cache_time += time.perf_counter() - t0

    def compile_all(self) -> None:
        """Compile every function not compiled yet (in batches of :data:`BATCH_INSTRS`)."""
        for i in range(self.num_funcs):
            if not self.is_compiled(i):
                self.ensure_compiled(i)

    def _instrs(self, i: int) -> int:
        """Defined function ``i``'s instruction count, or its estimate when the bodies
        are decoded on demand (``binary.decoder.FunctionBodies``) and ``i``'s is not."""
        estimate = getattr(self.bodies, "estimate", None)
        return estimate(i) if estimate is not None else len(self.bodies[i])

    def _direct_callees(self, i: int) -> list[int]:
        c = self._callees.get(i)
        if c is None:
            nimp = self.info.num_imported_funcs
            seen: dict[int, None] = {}
            for op, imm, _off in self.bodies[i]:
                if op == _CALL and imm >= nimp:
                    seen[imm - nimp] = None
            c = self._callees[i] = list(seen)
        return c

    def _pick_batch(self, i: int) -> list[int]:
        """``i`` and the functions reachable from it by direct calls that are neither
        compiled nor being compiled, breadth first, up to BATCH_INSTRS instructions —
        or, when all that is left to compile fits in BATCH_INSTRS, all of it (a small
        module costs one LLVM compilation, as eagerly)."""
        if self._left_instrs <= BATCH_INSTRS:
            left = [j for j in range(self.num_funcs)
                    if not self.is_compiled(j) and j not in self._pending]
            self._left_instrs = 0
            return left
        batch, size = self._callee_batch(
            i, self.batch_instrs,
            lambda j: j not in self._pending and not self.is_compiled(j))
        self._left_instrs -= size
        return batch

    def _callee_batch(self, i: int, budget: int,
                      take: Callable[[int], bool]) -> tuple[list[int], int]:
        """``i`` and the functions it reaches by direct calls for which ``take`` holds,
        breadth first, until they hold ``budget`` instructions: ``(sorted indices,
        instructions)``."""
        batch = [i]
        taken = {i}
        size = self._instrs(i)
        # a spent budget (batches of one) decodes no callee
        queue = deque(self._direct_callees(i) if size < budget else ())
        while queue and size < budget:
            j = queue.popleft()
            if j in taken or not take(j):
                continue
            taken.add(j)
            batch.append(j)
            size += self._instrs(j)
            queue.extend(self._direct_callees(j))
        return sorted(batch), size

    def _compile(self, batch: list[int]) -> None:
        t0 = time.perf_counter()
        try:
            with FIRST_TIER:
                if self.osr:
                    osr = (_callbacks()[1], self._osr_table,
                           ctypes.addressof(self._osr_transfers))
                    part = self._compile_batch(batch, self.hotness, osr=osr)
                else:
                    part = self._compile_batch(batch, self.hotness)
        except BaseException:
            with self._lock:
                for j in batch:
                    self._pending.pop(j, None)
                self._left_instrs += sum(self._instrs(j) for j in batch)
            raise
        with self._lock:
            self._install(part, batch)
            for j in batch:
                self._pending.pop(j, None)
            self._forget(batch)
            self.batches += 1
            self.compiled += len(batch)
            self.compile_time += time.perf_counter() - t0
        if self._tier_cache is not None:
            if self.hotness is None:
                # one tier only (opt level 0): this is the final code, cache it too —
                # off the calling thread's path
                objects = part.objects
                if objects and batch == sorted(batch):
                    _compile_pool().submit(self._tier_cache.store, batch, objects[0])
            else:
                # the next run should start hot for everything that runs, not only for
                # what got hot: optimize the batch in the background, after hot batches
                TIERUP.submit(self, sorted(batch), background=True)

    def _forget(self, batch: list[int]) -> None:
        """Drop the decoded bodies of ``batch`` once its code is in place (lazily decoded
        bodies only: ``binary.decoder.FunctionBodies``); a later compilation decodes
        them again."""
        forget = getattr(self.bodies, "forget", None)
        if forget is not None:
            forget(batch)

    def _install(self, part: Any, batch: list[int]) -> None:
        """Make ``part``'s code known (backtraces, the signal handler) and point the
        slots of ``batch`` at it (with ``self._lock`` held)."""
        self._add_part(part)
        for j in batch:
            self.slots[j] = part.function_addrs[j]

    def _add_part(self, part: Any) -> None:
        """Make ``part``'s code known to backtraces and the signal handler (with
        ``self._lock`` held)."""
        ranges = list(part.code_ranges)
        if self._on_code is not None:
            for start, end in ranges:
                self._on_code(start, end, part)
        self.parts.append(part)
        for start, end in ranges:
            k = bisect.bisect(self._range_starts, start)
            self._range_starts.insert(k, start)
            self._range_parts.insert(k, (end, part))
            self.code_ranges.append((start, end))

    # -- the optimizing tier -------------------------------------------------------------
    def request_tier2(self, i: int) -> None:
        """Queue hot function ``i`` — with its direct callees that ran in the first tier,
        breadth first, up to TIER2_BATCH_INSTRS instructions — for the optimizing
        tier on the background thread (nothing when that is done or queued)."""
        if self._compile_optimized is None:
            return
        with self._lock:
            if i in self._optimized:
                return
            quick = self._is_big(i)
            batch = [i] if quick else self._callee_batch(i, TIER2_BATCH_INSTRS,
                                                         self._joins_tier2)[0]
            self._optimized.update(batch)
        if quick:
            TIERUP.submit(self, batch, method="_compile_quick")
        else:
            TIERUP.submit(self, batch)

    def _is_big(self, i: int) -> bool:
        """Whether function ``i`` tiers up in two steps (``big_instrs``)."""
        return self.big_instrs is not None and self._instrs(i) > self.big_instrs

    def _joins_tier2(self, j: int) -> bool:
        """Whether callee ``j`` joins a hot function's optimized batch: it ran in the
        first tier and is not optimized or queued; with ``warm_callees``, it also ran
        :data:`WARM_TICKS` ticks or is small, and is not big."""
        ticks = HOT_THRESHOLD - self.counters[j]
        if j in self._optimized or not self.is_compiled(j) or ticks <= 0:
            return False
        if not self.warm_callees:
            return True
        return ((ticks >= WARM_TICKS or self._instrs(j) <= SMALL_CALLEE)
                and not self._is_big(j))

    def _compile_quick(self, batch: list[int]) -> None:
        """A big hot function at LLVM's first-tier level (see ``big_instrs``), then
        queued for the optimizing level behind every hot batch."""
        self._optimize(batch, quick=True)
        TIERUP.submit(self, batch, background=True, method="_compile_final")

    def _compile_final(self, batch: list[int]) -> None:
        """The optimizing level for a batch :meth:`_compile_quick` compiled."""
        self._optimize(batch)

    def _compile_tier2(self, batch: list[int], background: bool = False) -> None:
        if background:
            # a batch queued to fill the cache: what a hot batch has not optimized since
            with self._lock:
                batch = [j for j in batch if j not in self._optimized]
                self._optimized.update(batch)
            if not batch:
                return
        self._optimize(batch)

    def _optimize(self, batch: list[int], quick: bool = False) -> None:
        """Compile ``batch`` with ``compile_optimized`` (``quick``: at the first tier's
        LLVM level), point its slots at the code and — optimized code only, on this
        background thread, after the code is in use — keep it in the compile cache."""
        assert self._compile_optimized is not None
        t0 = time.perf_counter()
        part = self._compile_optimized(batch, quick=quick)
        with self._lock:
            self._install(part, batch)
            self._forget(batch)
            self.tier2_batches += 1
            self.tier2_time += time.perf_counter() - t0
        objects = part.objects
        if (not quick and self._tier_cache is not None and objects
                and batch == sorted(batch)):
            self._tier_cache.store(batch, objects[0])

    # -- on-stack replacement ----------------------------------------------------------
    @property
    def osr_transfers(self) -> int:
        """How many first-tier frames moved to an OSR entry so far."""
        return self._osr_transfers.value

    def _osr_table(self, i: int, loops: list[int]) -> int:
        """The address of defined function ``i``'s table of OSR entries, one ``u64`` per
        loop (``loops``: their module offsets, in body order), made on first use."""
        with self._lock:
            entry = self._osr_tables.get(i)
            if entry is None:
                table = (ctypes.c_uint64 * len(loops))()
                entry = self._osr_tables[i] = (table, {off: k for k, off in enumerate(loops)})
            return ctypes.addressof(entry[0])

    def request_osr(self, i: int, loop_offset: int) -> None:
        """Queue the OSR entry of defined function ``i`` at its loop at ``loop_offset``
        for the background thread (nothing when it is done or queued)."""
        if self._compile_osr is None:
            return
        with self._lock:
            entry = self._osr_tables.get(i)
            if entry is None or loop_offset not in entry[1]:
                return
            table, index = entry
            k = index[loop_offset]
            if table[k] != 0:
                return
            table[k] = 1
        TIERUP.submit(self, (i, loop_offset), method="_compile_osr_entry")

    def _compile_osr_entry(self, job: tuple[int, int]) -> None:
        assert self._compile_osr is not None
        i, loop_offset = job
        t0 = time.perf_counter()
        part = self._compile_osr(i, loop_offset, quick=self._is_big(i))
        with self._lock:
            self._add_part(part)
            table, index = self._osr_tables[i]
            table[index[loop_offset]] = part.function_addrs[i]
            self.osr_entries += 1
            self.osr_time += time.perf_counter() - t0

    # -- backtraces --------------------------------------------------------------------
    def _part_at(self, addr: int) -> Any:
        k = bisect.bisect_right(self._range_starts, addr - 1) - 1
        if k < 0:
            return None
        end, part = self._range_parts[k]
        return part if addr - 1 < end else None

    def symbolize(self, addr: int) -> int | None:
        """As ``CompiledCode.symbolize``, over every batch compiled so far."""
        part = self._part_at(addr)
        return None if part is None else part.symbolize(addr)

    def symbolize_frames(self, addr: int) -> list[tuple[int, int | None]] | None:
        """As ``CompiledCode.symbolize_frames``, over every batch compiled so far; the
        first tier's frame that transferred to an OSR entry gives no frame (the entry's
        frame, above it, stands for the function)."""
        part = self._part_at(addr)
        if part is None:
            return None
        frames = part.symbolize_frames(addr)
        if frames and frames[-1][1] == OSR_LINE:
            return []
        return frames


def _unregister(slots_addr: int) -> None:
    """Drop a freed ``LazyCode``'s slots from the registry (under ``_lock``)."""
    k = bisect.bisect_left(_slot_starts, slots_addr)
    if k < len(_slot_starts) and _slot_starts[k] == slots_addr:
        del _slot_starts[k]
        del _slot_owners[k]


__all__ = ["BATCH_INSTRS", "HOT_THRESHOLD", "LazyCode", "THUNK_SIZE", "TIERUP",
           "lazy_stub", "take_error"]
