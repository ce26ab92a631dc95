"""Native loops for instantiation (Wasmtime fills its VMContexts in Rust; here the
per-function and per-element work runs as small LLVM routines instead of Python
loops).

The routines are LLVM IR JIT-compiled once per process and called through ``ctypes``;
each works on arrays of 8-byte slots:

* :func:`fill_affine` ``(dst, base, stride, n)``: ``dst[i] = base + stride * i`` — the
  VMContext's ``VMFuncRef*`` slots of the defined functions, and of the defined globals;
* :func:`fill_funcrefs` ``(dst, func_ptrs, type_ids, vmctx, n)``: the ``VMFuncRef``
  array of the defined functions (``func_ptr``, signature id, callee ``vmctx``);
* :func:`gather` ``(dst, src, idx, n)``: ``dst[i] = src[idx[i]]`` for ``u32`` indices,
  0 where ``idx[i]`` is :data:`NULL_INDEX` — an active element segment's ``funcidx``
  list resolved through the VMContext's function slots into table elements;
* :func:`relocate` ``(base, sec, rela, n, syms)``: the relocations of one section of
  an object file loaded without MCJIT (``compiler/elfload.py``).

They are compiled with the process's other routines (``routines.py``, started by
``Engine()``), so every size takes them: for three slots a ctypes call costs 1.5 µs
against 5 µs for the same work as ctypes slice assignments in Python.  Callers pass
addresses of buffers they own and sizes they checked: the routines do no bounds
checking.
"""

from __future__ import annotations

import ctypes
import threading
from typing import Any

from ..environ import vmoffsets as vo

#: The ``u32`` index :func:`gather` turns into a null reference (0).
NULL_INDEX = 0xFFFFFFFF

#: the routines' LLVM IR (compiled with the process's routines, ``routines.py``)
IR = f"""\
define void @wasmlite_fill_affine(ptr %dst, i64 %base, i64 %stride, i64 %n) {{
entry:
  %empty = icmp eq i64 %n, 0
  br i1 %empty, label %done, label %loop
loop:
  %i = phi i64 [ 0, %entry ], [ %next, %loop ]
  %off = mul i64 %i, %stride
  %v = add i64 %base, %off
  %p = getelementptr i64, ptr %dst, i64 %i
  store i64 %v, ptr %p, align 8
  %next = add i64 %i, 1
  %more = icmp ult i64 %next, %n
  br i1 %more, label %loop, label %done
done:
  ret void
}}

define void @wasmlite_fill_funcrefs(ptr %dst, ptr %fptrs, ptr %tids, i64 %vmctx, i64 %n) {{
entry:
  %empty = icmp eq i64 %n, 0
  br i1 %empty, label %done, label %loop
loop:
  %i = phi i64 [ 0, %entry ], [ %next, %loop ]
  %fpp = getelementptr i64, ptr %fptrs, i64 %i
  %fp = load i64, ptr %fpp, align 8
  %tidp = getelementptr i64, ptr %tids, i64 %i
  %tid = load i64, ptr %tidp, align 8
  %base = mul i64 %i, {vo.FUNCREF_SIZE // 8}
  %p0 = getelementptr i64, ptr %dst, i64 %base
  store i64 %fp, ptr %p0, align 8
  %p1 = getelementptr i64, ptr %p0, i64 {vo.FUNCREF_TYPE_ID // 8}
  store i64 %tid, ptr %p1, align 8
  %p2 = getelementptr i64, ptr %p0, i64 {vo.FUNCREF_VMCTX // 8}
  store i64 %vmctx, ptr %p2, align 8
  %next = add i64 %i, 1
  %more = icmp ult i64 %next, %n
  br i1 %more, label %loop, label %done
done:
  ret void
}}

define void @wasmlite_gather(ptr %dst, ptr %src, ptr %idx, i64 %n) {{
entry:
  %empty = icmp eq i64 %n, 0
  br i1 %empty, label %done, label %loop
loop:
  %i = phi i64 [ 0, %entry ], [ %next, %store ]
  %jp = getelementptr i32, ptr %idx, i64 %i
  %j = load i32, ptr %jp, align 4
  %isnull = icmp eq i32 %j, -1
  br i1 %isnull, label %store, label %fetch
fetch:
  %jz = zext i32 %j to i64
  %sp = getelementptr i64, ptr %src, i64 %jz
  %sv = load i64, ptr %sp, align 8
  br label %store
store:
  %v = phi i64 [ 0, %loop ], [ %sv, %fetch ]
  %dp = getelementptr i64, ptr %dst, i64 %i
  store i64 %v, ptr %dp, align 8
  %next = add i64 %i, 1
  %more = icmp ult i64 %next, %n
  br i1 %more, label %loop, label %done
done:
  ret void
}}

define i64 @wasmlite_relocate(i64 %base, i64 %sec, ptr %rela, i64 %n, ptr %syms) {{
entry:
  %empty = icmp eq i64 %n, 0
  br i1 %empty, label %done, label %loop
loop:
  %i = phi i64 [ 0, %entry ], [ %next, %stored ]
  %e = mul i64 %i, 3
  %offp = getelementptr i64, ptr %rela, i64 %e
  %off = load i64, ptr %offp, align 8
  %infop = getelementptr i64, ptr %offp, i64 1
  %info = load i64, ptr %infop, align 8
  %addp = getelementptr i64, ptr %offp, i64 2
  %add = load i64, ptr %addp, align 8
  %symi = lshr i64 %info, 32
  %sp = getelementptr i64, ptr %syms, i64 %symi
  %s = load i64, ptr %sp, align 8
  %unresolved = icmp eq i64 %s, 0
  br i1 %unresolved, label %fail, label %known
known:
  %type = and i64 %info, 4294967295
  %sa = add i64 %s, %add
  %secoff = add i64 %sec, %off
  %place = add i64 %base, %secoff
  %pp = inttoptr i64 %place to ptr
  %pcrel = sub i64 %sa, %place
  switch i64 %type, label %fail [
    i64 1, label %abs64
    i64 2, label %pc32
    i64 4, label %pc32
    i64 24, label %pc64
  ]
abs64:
  store i64 %sa, ptr %pp, align 1
  br label %stored
pc64:
  store i64 %pcrel, ptr %pp, align 1
  br label %stored
pc32:
  %lo = trunc i64 %pcrel to i32
  %back = sext i32 %lo to i64
  %fits = icmp eq i64 %back, %pcrel
  br i1 %fits, label %pc32ok, label %fail
pc32ok:
  store i32 %lo, ptr %pp, align 1
  br label %stored
stored:
  %next = add i64 %i, 1
  %more = icmp ult i64 %next, %n
  br i1 %more, label %loop, label %done
fail:
  ret i64 %i
done:
  ret i64 -1
}}
"""

_lock = threading.Lock()
_state: dict[str, Any] = {}
_u64 = ctypes.c_uint64
_ptr = ctypes.c_void_p


def _routines() -> tuple[Any, ...]:
    r = _state.get("routines")
    if r is None:
        with _lock:
            r = _state.get("routines")
            if r is None:
                from .routines import address

                # copy loops at -O0: -O2 cost 0.2 s per process
                r = (ctypes.CFUNCTYPE(None, _ptr, _u64, _u64, _u64)(
                         address("wasmlite_fill_affine")),
                     ctypes.CFUNCTYPE(None, _ptr, _ptr, _ptr, _u64, _u64)(
                         address("wasmlite_fill_funcrefs")),
                     ctypes.CFUNCTYPE(None, _ptr, _ptr, _ptr, _u64)(
                         address("wasmlite_gather")),
                     ctypes.CFUNCTYPE(ctypes.c_int64, _u64, _u64, _ptr, _u64, _ptr)(
                         address("wasmlite_relocate")))
                _state["routines"] = r
    return r


def fill_affine(dst: int, base: int, stride: int, n: int) -> None:
    """Write ``base + stride * i`` to the ``u64`` slot ``dst + 8 * i`` for ``i < n``."""
    _routines()[0](dst, base, stride, n)


def fill_funcrefs(dst: int, func_ptrs: int, type_ids: int, vmctx: int, n: int) -> None:
    """Fill ``n`` ``VMFuncRef``\\ s at ``dst`` (``vmoffsets.FUNCREF_SIZE`` bytes each)
    from the ``u64`` arrays at ``func_ptrs`` and ``type_ids`` and the callee ``vmctx``."""
    _routines()[1](dst, func_ptrs, type_ids, vmctx, n)


def gather(dst: int, src: int, idx: int, n: int) -> None:
    """``dst[i] = src[idx[i]]`` (``u64`` slots, ``u32`` indices), 0 where ``idx[i]`` is
    :data:`NULL_INDEX`, for ``i < n``."""
    _routines()[2](dst, src, idx, n)


def relocate(base: int, sec: int, rela: int, n: int, syms: int) -> int:
    """Apply ``n`` ELF64 ``Elf64_Rela`` entries (at ``rela``) to the section at ``base +
    sec``: ``R_X86_64_64`` (S + A), ``PC32``/``PLT32`` (S + A - P, which must fit in 32
    bits) and ``PC64``, with S = ``syms[symbol index]`` (``u64`` array; 0 = not
    resolved); unaligned stores.  Returns -1, or the index of the first entry it could
    not apply (another type, an unresolved symbol, out of range), whose predecessors
    are applied: an object file loaded without MCJIT (``compiler/elfload.py``)."""
    return _routines()[3](base, sec, rela, n, syms)


__all__ = ["NULL_INDEX", "fill_affine", "fill_funcrefs", "gather", "relocate"]
