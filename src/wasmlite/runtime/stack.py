"""The native stack of the thread running wasm: where it ends.

Wasm functions check the stack in their prologue (LLVM's ``"split-stack"`` prologue,
see docs/architecture.md "Stack limit"): ``rsp - frame size`` is compared with the
limit that the outermost entry trampoline of a thread stores in the thread control
block (``%fs:0x70``).  That limit is ``entry frame - Config.max_wasm_stack``, but
never closer than ``vmoffsets.STACK_MARGIN`` (or a quarter of a smaller stack) to the
end of the thread's own stack, which depends on the thread (the main thread's
``RLIMIT_STACK``, ``threading.stack_size()`` for Python threads, whatever a foreign
thread was created with).

:func:`thread_stack_low_routine` returns the address of a JIT-compiled routine
``u64 wasmlite_thread_stack_low(void)``: the end of the calling thread's stack
(``pthread_getattr_np`` + ``pthread_attr_getstack``) plus that margin, computed once
per thread and cached under a ``pthread_key_t`` (glibc reads ``/proc/self/maps`` for
the main thread, so it must not run on every call).  The runtime stores the address in
every store context (``STORE_STACK_LOW_FN``); entry trampolines call it on a thread's
outermost entry.  Linux with glibc only, like the rest of the native runtime.
"""

from __future__ import annotations

import ctypes
import threading

from ..environ import vmoffsets as vo

#: ``sizeof(pthread_attr_t)`` is 56 on x86-64 glibc; 64 leaves room.
_ATTR_SIZE = 64

_lock = threading.Lock()
_state: dict[str, object] = {}


def routine_ir(key: int) -> str:
    """The IR of ``@wasmlite_thread_stack_low``, caching its answer per thread under
    ``pthread_key_t`` ``key`` (:func:`stack_key`)."""
    return f"""\
declare ptr @pthread_getspecific(i32)
declare i32 @pthread_setspecific(i32, ptr)
declare i64 @pthread_self()
declare i32 @pthread_getattr_np(i64, ptr)
declare i32 @pthread_attr_getstack(ptr, ptr, ptr)
declare i32 @pthread_attr_destroy(ptr)

define i64 @wasmlite_thread_stack_low() {{
entry:
  %cached = call ptr @pthread_getspecific(i32 {key})
  %c = ptrtoint ptr %cached to i64
  %have = icmp ne i64 %c, 0
  br i1 %have, label %done, label %compute
compute:
  %attr = alloca [{_ATTR_SIZE} x i8], align 16
  %addrp = alloca ptr, align 8
  %sizep = alloca i64, align 8
  store ptr null, ptr %addrp
  store i64 0, ptr %sizep
  %self = call i64 @pthread_self()
  %r1 = call i32 @pthread_getattr_np(i64 %self, ptr %attr)
  %ok1 = icmp eq i32 %r1, 0
  br i1 %ok1, label %get, label %fail
get:
  %r2 = call i32 @pthread_attr_getstack(ptr %attr, ptr %addrp, ptr %sizep)
  %r3 = call i32 @pthread_attr_destroy(ptr %attr)
  %low = load ptr, ptr %addrp
  %lowi = ptrtoint ptr %low to i64
  %size = load i64, ptr %sizep
  ; the margin: STACK_MARGIN, or a quarter of a smaller stack
  %quarter = lshr i64 %size, 2
  %small = icmp ult i64 %quarter, {vo.STACK_MARGIN}
  %margin = select i1 %small, i64 %quarter, i64 {vo.STACK_MARGIN}
  %floor = add i64 %lowi, %margin
  ; 1 when unknown: no floor beyond max_wasm_stack, and still non-zero for the cache
  %known = icmp ne i64 %lowi, 0
  %v = select i1 %known, i64 %floor, i64 1
  %vp = inttoptr i64 %v to ptr
  %r4 = call i32 @pthread_setspecific(i32 {key}, ptr %vp)
  ret i64 %v
fail:
  ret i64 1
done:
  ret i64 %c
}}
"""


def thread_stack_low_routine() -> int:
    """Address of ``u64 wasmlite_thread_stack_low(void)`` (a thunk to one of the
    process's routines, callable once ``routines.resolve()`` returned).  The routine returns the lowest address wasm frames may
    reach on the calling thread: the end of its stack plus a margin of
    ``vmoffsets.STACK_MARGIN`` (256 KiB), or a quarter of the stack when that is smaller
    (a 128 KiB thread keeps 32 KiB for host frames); 1 when glibc cannot tell.  Raises :class:`OSError` when no
    ``pthread_key_t`` can be created."""
    from .routines import deferred

    return deferred("wasmlite_thread_stack_low")


def stack_key() -> int:
    """The ``pthread_key_t`` under which the routine caches each thread's floor (created
    once per process).  Raises :class:`OSError` when no key can be created."""
    key = _state.get("key")
    if key is None:
        with _lock:
            key = _state.get("key")
            if key is None:
                libc = ctypes.CDLL(None, use_errno=True)
                k = ctypes.c_uint()
                if libc.pthread_key_create(ctypes.byref(k), None) != 0:
                    raise OSError(ctypes.get_errno(), "pthread_key_create failed")
                key = _state["key"] = k.value
    return key  # type: ignore[return-value]


__all__ = ["routine_ir", "stack_key", "thread_stack_low_routine"]
