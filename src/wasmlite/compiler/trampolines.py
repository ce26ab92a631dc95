"""Entry trampolines, host stubs and the trap routine, as LLVM IR text.

Shapes follow ``docs/architecture.md`` "The native ABI":

* ``i32 @wasmlite_entry_<t>(ptr func_ptr, ptr callee_vmctx, ptr values)`` — host → wasm;
  ``values`` is an array of 16-byte slots (arguments in, results out).  Returns 0, or the
  trap status after a ``longjmp``.
* ``R @wasmlite_hoststub_<t>(ptr host_ctx, params...)`` — wasm → host through
  ``host_ctx.callback(host_ctx, values) -> i32 status``.
* ``void @wasmlite_trap(ptr store_ctx, i32 status)`` — records the frame-pointer backtrace
  and ``longjmp``s to the innermost entry trampoline.
"""

from __future__ import annotations

import ctypes

from ..environ import vmoffsets as vo
from ..environ.module import FuncType
from .translate import LLTYPE, ST_STACK, pack_result, result_fields, result_type, unpack_result

#: How many threads are calling into Python from wasm right now (lazy compilation, host
#: calls, hotness callbacks), counted by the process's stubs around their ctypes
#: callback: they need the GIL, and the tier-up thread's IR generation, which holds it
#: for up to the switch interval (5 ms) at a time, steps aside while this is non-zero
#: (``lazy.FIRST_TIER.pause``).  Never baked into code that is cached or serialized.
GIL_WANTED = ctypes.c_int64(0)
GIL_WANTED_ADDR = ctypes.addressof(GIL_WANTED)

#: Bytes reserved for a ``jmp_buf`` (glibc: 200 on x86-64, 312 on aarch64; musl less).
JMPBUF_SIZE = 512

#: ``%fs:0x70`` as an LLVM pointer: address space 257 is the ``fs`` segment on x86-64.
_TCB_LIMIT = f"inttoptr (i64 {vo.TCB_STACK_LIMIT} to ptr addrspace(257))"

#: Declarations every compiled module needs.
COMMON_DECLS = """\
declare ptr @llvm.frameaddress.p0(i32)
declare i32 @_setjmp(ptr) returns_twice
declare void @longjmp(ptr, i32) noreturn nounwind
declare ptr @pthread_getspecific(i32)
declare i32 @pthread_setspecific(i32, ptr)
declare i64 @pthread_self()
"""


def unwind_routine() -> str:
    """``@wasmlite_unwind(ptr store_ctx, i64 fp, i64 n, i32 status)``: record the
    return address of each frame of the frame-pointer chain starting at frame address
    ``fp`` into ``store_ctx.backtrace[n..]`` (innermost first, stopping at the innermost
    entry trampoline's frame or after ``BACKTRACE_MAX`` entries), store the count and
    ``status``, and ``longjmp`` to ``store_ctx.jmpbuf``.  Shared by the trap routine and
    the SIGSEGV handler (``runtime/signals.py``), which records the faulting frame
    itself first and so starts at ``n = 1``."""
    return f"""\
define internal void @wasmlite_unwind(ptr %sc, i64 %fp0, i64 %n0, i32 %status) #2 {{
entry:
  %efpp = getelementptr i8, ptr %sc, i64 {vo.STORE_ENTRY_FP}
  %efp = load volatile i64, ptr %efpp
  %btp = getelementptr i8, ptr %sc, i64 {vo.STORE_BACKTRACE}
  br label %loop
loop:
  %fpi = phi i64 [ %fp0, %entry ], [ %nexti, %more ]
  %n = phi i64 [ %n0, %entry ], [ %n1, %more ]
  %below = icmp ult i64 %fpi, %efp
  %nonnull = icmp ne i64 %fpi, 0
  %room = icmp ult i64 %n, {vo.BACKTRACE_MAX}
  %c1 = and i1 %below, %nonnull
  %c = and i1 %c1, %room
  br i1 %c, label %body, label %done
body:
  %fp = inttoptr i64 %fpi to ptr
  %rap = getelementptr i8, ptr %fp, i64 8
  %ra = load volatile i64, ptr %rap
  %slot = getelementptr i64, ptr %btp, i64 %n
  store volatile i64 %ra, ptr %slot
  %n1 = add i64 %n, 1
  %nexti = load volatile i64, ptr %fp
  %up = icmp ugt i64 %nexti, %fpi
  br i1 %up, label %more, label %done2
more:
  br label %loop
done2:
  br label %done
done:
  %count = phi i64 [ %n, %loop ], [ %n1, %done2 ]
  %blp = getelementptr i8, ptr %sc, i64 {vo.STORE_BACKTRACE_LEN}
  store volatile i64 %count, ptr %blp
  %s64 = zext i32 %status to i64
  %tcp = getelementptr i8, ptr %sc, i64 {vo.STORE_TRAP_CODE}
  store volatile i64 %s64, ptr %tcp
  %jb = load volatile ptr, ptr %sc
  call void @longjmp(ptr %jb, i32 %status)
  unreachable
}}
"""


def trap_routine() -> str:
    """``@wasmlite_trap(ptr store_ctx, i32 status)``: unwind (``@wasmlite_unwind``)
    from its own frame, so the first return address recorded is the trapping wasm
    function's."""
    return unwind_routine() + """\
define internal void @wasmlite_trap(ptr %sc, i32 %status) #2 {
entry:
  %fa = call ptr @llvm.frameaddress.p0(i32 0)
  %fai = ptrtoint ptr %fa to i64
  call void @wasmlite_unwind(ptr %sc, i64 %fai, i64 0, i32 %status)
  unreachable
}
"""


def morestack_routine(tls_key: int | None = None) -> str:
    """``@__morestack``: where the ``"split-stack"`` prologue of a wasm function goes when
    its frame would reach below the stack limit in ``%fs:0x70``.

    The prologue calls it before it pushes anything, in the middle of the wasm
    function's own calling sequence, so it must find the store context without the
    function's parameters: with ``tls_key`` it asks ``pthread_getspecific`` for the
    running store, which every entry trampoline publishes under that key.  (The
    argument registers are no guide: ``rdi`` holds ``vmctx`` for most wasm functions,
    but a function whose several results do not fit in registers gets a hidden
    result pointer there, and ``vmctx`` moves to ``rsi`` — reading ``rdi`` crashed the
    process on such a function's stack overflow.)  Without a key — only code compiled
    without an engine — it falls back to ``rdi``.  The routine traps "call stack
    exhausted" from its own frame: the first return address recorded lies in the
    prologue of the function that did not fit.  It runs on the caller's stack, which
    is still above the limit (the limit leaves ``STACK_MARGIN`` bytes of thread stack
    below it)."""
    find = (f"  %sc = call ptr @pthread_getspecific(i32 {tls_key})" if tls_key is not None
            else "  %sc = load ptr, ptr %vmctx")
    return f"""\
define void @__morestack(ptr %vmctx) #2 {{
entry:
{find}
  %fa = call ptr @llvm.frameaddress.p0(i32 0)
  %fai = ptrtoint ptr %fa to i64
  call void @wasmlite_unwind(ptr %sc, i64 %fai, i64 0, i32 {ST_STACK})
  unreachable
}}
"""


def entry_trampoline(name: str, ft: FuncType | None, tls_key: int | None = None) -> str:
    """The entry trampoline ``@<name>`` for functions of type ``ft``, or with ``ft``
    ``None`` the universal one (:func:`universal_layout`), which reads its fourth
    argument, the type's layout; the others ignore it.

    With ``tls_key`` it also publishes ``store_ctx`` as the thread's value under that
    ``pthread_key_t`` (for the signal handler and :func:`morestack_routine`), restoring
    the previous value on both exits.

    The outermost entry of a store claims ``STORE_OWNER_THREAD`` with a compare-and-swap
    from 0 to ``pthread_self()`` and clears it on exit; an entry from another thread
    while it is claimed returns ``STATUS_STORE_BUSY`` without touching the store.

    The outermost entry also sets the stack limit: ``entry frame - STORE_MAX_STACK``,
    raised to the floor of the thread's stack (the end plus a margin: the routine in
    ``STORE_STACK_LOW_FN``), into ``STORE_STACK_LIMIT``; every entry publishes the
    limit in ``%fs:0x70`` for the split-stack prologues of wasm functions (see
    :func:`morestack_routine`) and restores the previous word on both exits."""
    L = [f"define i32 @{name}(ptr %fn, ptr %cv, ptr %vals, ptr %layout) #1 {{",
         "entry:",
         f"  %jb = alloca [{JMPBUF_SIZE} x i8], align 16",
         "  %sc = load ptr, ptr %cv",
         "  %self = call i64 @pthread_self()",
         f"  %ownp = getelementptr i8, ptr %sc, i64 {vo.STORE_OWNER_THREAD}",
         "  %cx = cmpxchg ptr %ownp, i64 0, i64 %self seq_cst seq_cst",
         "  %prev = extractvalue { i64, i1 } %cx, 0",
         "  %claimed = extractvalue { i64, i1 } %cx, 1",
         "  %mine = icmp eq i64 %prev, %self",
         "  %mayenter = or i1 %claimed, %mine",
         "  br i1 %mayenter, label %enter, label %busy",
         "busy:",
         f"  ret i32 {vo.STATUS_STORE_BUSY}",
         "enter:",
         "  %own_after = select i1 %claimed, i64 0, i64 %self",
         "  %old_jb = load volatile ptr, ptr %sc",
         f"  %limp = getelementptr i8, ptr %sc, i64 {vo.STORE_STACK_LIMIT}",
         "  %old_lim = load volatile i64, ptr %limp",
         f"  %efpp = getelementptr i8, ptr %sc, i64 {vo.STORE_ENTRY_FP}",
         "  %old_efp = load volatile i64, ptr %efpp",
         "  %fa = call ptr @llvm.frameaddress.p0(i32 0)",
         "  %fai = ptrtoint ptr %fa to i64",
         "  store volatile i64 %fai, ptr %efpp",
         f"  %msp = getelementptr i8, ptr %sc, i64 {vo.STORE_MAX_STACK}",
         "  %ms = load volatile i64, ptr %msp",
         "  %fits = icmp ugt i64 %fai, %ms",
         "  %lim0 = sub i64 %fai, %ms",
         "  %lim1 = select i1 %fits, i64 %lim0, i64 1",
         "  %outer = icmp eq i64 %old_lim, 0",
         "  br i1 %outer, label %floor, label %limited",
         # a thread's outermost entry: never closer than STACK_MARGIN to the end of
         # this thread's own stack
         "floor:",
         f"  %lowfnp = getelementptr i8, ptr %sc, i64 {vo.STORE_STACK_LOW_FN}",
         "  %lowfn = load ptr, ptr %lowfnp",
         "  %floor0 = call i64 %lowfn()",
         "  %above = icmp ugt i64 %lim1, %floor0",
         "  %limf = select i1 %above, i64 %lim1, i64 %floor0",
         "  br label %limited",
         "limited:",
         "  %lim = phi i64 [ %limf, %floor ], [ %old_lim, %enter ]",
         "  store volatile i64 %lim, ptr %limp",
         # the split-stack prologues of wasm functions compare with %fs:0x70
         f"  %old_tcb = load volatile i64, ptr addrspace(257) {_TCB_LIMIT}",
         f"  store volatile i64 %lim, ptr addrspace(257) {_TCB_LIMIT}",
         "  store volatile ptr %jb, ptr %sc"]
    if tls_key is not None:
        L += [f"  %old_tls = call ptr @pthread_getspecific(i32 {tls_key})",
              f"  %st0 = call i32 @pthread_setspecific(i32 {tls_key}, ptr %sc)"]
    L += ["  %r = call i32 @_setjmp(ptr %jb) #3",
         "  %ok = icmp eq i32 %r, 0",
         "  br i1 %ok, label %call, label %trapped",
         "call:"]
    L.extend(_entry_call(ft) if ft is not None else _universal_entry_call())
    restore = [f"  store volatile i64 %old_tcb, ptr addrspace(257) {_TCB_LIMIT}",
               "  store volatile ptr %old_jb, ptr %sc",
               "  store volatile i64 %old_lim, ptr %limp",
               "  store volatile i64 %old_efp, ptr %efpp",
               "  store atomic i64 %own_after, ptr %ownp release, align 8"]
    if tls_key is not None:
        restore.insert(0, f"  call i32 @pthread_setspecific(i32 {tls_key}, ptr %old_tls)")
    L.extend(restore)
    L.append("  ret i32 0")
    L.append("trapped:")
    L.extend(restore)
    L.append("  ret i32 %r")
    L.append("}")
    return "\n".join(L) + "\n"


def _entry_call(ft: FuncType) -> list[str]:
    """The call section of a per-type entry trampoline: arguments loaded from their
    slots, results stored back."""
    L = []
    args = []
    for i, t in enumerate(ft.params):
        lt = LLTYPE[t]
        L.append(f"  %ap{i} = getelementptr i8, ptr %vals, i64 {vo.VALUE_SLOT * i}")
        L.append(f"  %a{i} = load {lt}, ptr %ap{i}, align 8")
        args.append(f", {lt} %a{i}")
    rt = result_type(ft)
    call = f"call {rt} %fn(ptr %cv{''.join(args)})"
    results = ft.results
    if results:
        L.append(f"  %res = {call}")
    else:
        L.append(f"  {call}")
    fields = result_fields(ft)
    for i, t in enumerate(results):
        lt = LLTYPE[t]
        if len(results) == 1:
            v = "%res"
        else:
            L.append(f"  %r{i} = extractvalue {rt} %res, {i}")
            v = unpack_result(L, f"%rb{i}", f"%r{i}", lt, fields[i])
        L.append(f"  %rp{i} = getelementptr i8, ptr %vals, i64 {vo.VALUE_SLOT * i}")
        L.append(f"  store {lt} {v}, ptr %rp{i}, align 8")
    return L


#: Argument registers the universal trampolines fill: after ``vmctx`` (``rdi``) five
#: integer registers (``rsi rdx rcx r8 r9``) and eight vector ones (``xmm0``-``xmm7``),
#: System V x86-64.
UNIVERSAL_INTS = 5
UNIVERSAL_FLOATS = 8
#: Words of a layout: a byte offset per register, then the result's mask and whether it
#: comes back in ``xmm0``.
LAYOUT_WORDS = UNIVERSAL_INTS + UNIVERSAL_FLOATS + 2
_LAYOUT_MASK = UNIVERSAL_INTS + UNIVERSAL_FLOATS
#: The value slot the universal host stub stores unused registers into.
_SCRATCH_SLOT = UNIVERSAL_INTS + UNIVERSAL_FLOATS
_UNIVERSAL_SIG = ("ptr %cv" + "".join(f", i64 %a{k}" for k in range(UNIVERSAL_INTS))
                  + "".join(f", double %f{k}" for k in range(UNIVERSAL_FLOATS)))
_INT_KINDS = {"i32", "i64", "ptr"}
_FLOAT_KINDS = {"float", "double"}


def universal_layout(ft: FuncType) -> tuple[int, ...] | None:
    """The layout that lets the universal entry trampoline and host stub serve type
    ``ft``, or ``None`` when they cannot (more than :data:`UNIVERSAL_INTS` integer or
    :data:`UNIVERSAL_FLOATS` float parameters, several results, ``v128``).

    The System V ABI passes each integer-class parameter (``i32``, ``i64``,
    references) in the next integer register and each float in the next vector
    register, whatever their order, and returns a value in ``rax`` or ``xmm0``.  So one
    routine that fills every register serves every such type once it knows which
    value slot (:data:`vmoffsets.VALUE_SLOT` bytes each) each register takes: the
    layout is ``LAYOUT_WORDS`` words, the byte offset of the slot of each integer
    register and each vector register (unused ones: slot 0 for the entry trampoline,
    which only reads them; the host stub writes them to a scratch slot), the mask of
    the result's bits (``0xFFFFFFFF`` for ``i32``/``f32``, all ones for 64-bit values,
    0 without a result) and 1 when the result is a float."""
    ints: list[int] = []
    floats: list[int] = []
    for i, t in enumerate(ft.params):
        lt = LLTYPE[t]
        if lt in _INT_KINDS:
            ints.append(i)
        elif lt in _FLOAT_KINDS:
            floats.append(i)
        else:
            return None
    if len(ints) > UNIVERSAL_INTS or len(floats) > UNIVERSAL_FLOATS or len(ft.results) > 1:
        return None
    mask = is_float = 0
    if ft.results:
        lt = LLTYPE[ft.results[0]]
        if lt not in _INT_KINDS and lt not in _FLOAT_KINDS:
            return None
        mask = 0xFFFFFFFF if lt in ("i32", "float") else 0xFFFFFFFFFFFFFFFF
        is_float = int(lt in _FLOAT_KINDS)
    unused = -1
    offs = ([vo.VALUE_SLOT * i for i in ints] + [unused] * (UNIVERSAL_INTS - len(ints))
            + [vo.VALUE_SLOT * i for i in floats]
            + [unused] * (UNIVERSAL_FLOATS - len(floats)))
    return tuple(offs) + (mask, is_float)


def _layout_word(k: int, name: str) -> list[str]:
    return [f"  %{name}p = getelementptr i64, ptr %layout, i64 {k}",
            f"  %{name} = load i64, ptr %{name}p, align 8"]


def _register_slots(unused: int, access: str) -> list[str]:
    """For each argument register ``k``, ``%p<k>`` = the address of the value slot the
    layout names (byte offset ``unused`` for the registers it leaves unused), then
    ``access`` formatted with ``k``, the register's value name (``a<k>`` for the
    integer registers, ``f<j>`` for the vector ones) and its LLVM type."""
    L = []
    for k in range(UNIVERSAL_INTS + UNIVERSAL_FLOATS):
        L += _layout_word(k, f"o{k}")
        L += [f"  %u{k} = icmp slt i64 %o{k}, 0",
              f"  %q{k} = select i1 %u{k}, i64 {unused}, i64 %o{k}",
              f"  %p{k} = getelementptr i8, ptr %vals, i64 %q{k}"]
        reg, ty = ((f"a{k}", "i64") if k < UNIVERSAL_INTS
                   else (f"f{k - UNIVERSAL_INTS}", "double"))
        L.append(access.format(k=k, reg=reg, ty=ty))
    return L


def _universal_entry_call() -> list[str]:
    """The call section of the universal entry trampoline: every argument register
    loaded from the slot the layout names (slot 0 for unused ones), the callee called as
    returning ``{i64, double}`` (``rax`` and ``xmm0``), the right one stored to slot 0."""
    L = _register_slots(0, "  %{reg} = load {ty}, ptr %p{k}, align 8")
    args = (", ".join(f"i64 %a{k}" for k in range(UNIVERSAL_INTS)) + ", "
            + ", ".join(f"double %f{k}" for k in range(UNIVERSAL_FLOATS)))
    L += [f"  %res = call {{ i64, double }} %fn(ptr %cv, {args})",
          "  %ri = extractvalue { i64, double } %res, 0",
          "  %rf = extractvalue { i64, double } %res, 1",
          "  %rfi = bitcast double %rf to i64"]
    L += _layout_word(_LAYOUT_MASK + 1, "isf")
    L += ["  %fl = icmp ne i64 %isf, 0",
          "  %rv = select i1 %fl, i64 %rfi, i64 %ri",
          "  store i64 %rv, ptr %vals, align 8"]
    return L


def universal_host_stub(name: str) -> str:
    """The universal host stub ``@<name>``: wasm calls it as a function of any type
    :func:`universal_layout` accepts; it stores each argument register into the slot
    the layout in its VMHostContext (``HOSTCTX_LAYOUT``) names, calls the ctypes
    callback as :func:`host_stub` does, and returns slot 0, masked, in both ``rax`` and
    ``xmm0``."""
    nslots = _SCRATCH_SLOT + 1
    L = [f"define {{ i64, double }} @{name}({_UNIVERSAL_SIG.replace('%cv', '%hc')}) #1 {{",
         "entry:",
         f"  %vals = alloca [{vo.VALUE_SLOT * nslots} x i8], align 16",
         f"  %lpp = getelementptr i8, ptr %hc, i64 {vo.HOSTCTX_LAYOUT}",
         "  %layout = load ptr, ptr %lpp"]
    L += _register_slots(vo.VALUE_SLOT * _SCRATCH_SLOT,
                         "  store {ty} %{reg}, ptr %p{k}, align 8")
    L += _host_call(announce=True)
    L += ["  %r = load i64, ptr %vals, align 8"]
    L += _layout_word(_LAYOUT_MASK, "mask")
    L += ["  %rm = and i64 %r, %mask",
          "  %rd = bitcast i64 %rm to double",
          "  %ret0 = insertvalue { i64, double } poison, i64 %rm, 0",
          "  %ret1 = insertvalue { i64, double } %ret0, double %rd, 1",
          "  ret { i64, double } %ret1",
          "}"]
    return "\n".join(L) + "\n"


def _host_call(announce: bool = False) -> list[str]:
    """Call the VMHostContext's callback with the value slots; trap on a non-zero
    status.  With ``announce`` the call is counted in :data:`GIL_WANTED` (only for code
    that lives and dies with this process)."""
    count = f"ptr inttoptr (i64 {GIL_WANTED_ADDR} to ptr), i64 1 seq_cst"
    return [f"  %cbp = getelementptr i8, ptr %hc, i64 {vo.HOSTCTX_CALLBACK}",
            "  %cb = load ptr, ptr %cbp",
            *([f"  %gw0 = atomicrmw add {count}"] if announce else []),
            "  %st = call i32 %cb(ptr %hc, ptr %vals)",
            *([f"  %gw1 = atomicrmw sub {count}"] if announce else []),
            "  %bad = icmp ne i32 %st, 0",
            "  br i1 %bad, label %trap, label %ok",
            "trap:",
            "  %sc = load ptr, ptr %hc",
            "  call void @wasmlite_trap(ptr %sc, i32 %st)",
            "  unreachable",
            "ok:"]


def host_stub(name: str, ft: FuncType, announce: bool = False) -> str:
    """The host stub ``@<name>``: a wasm-callable function of type ``ft`` that calls the
    ctypes callback of its VMHostContext and traps with a non-zero status; with
    ``announce`` it counts the call in :data:`GIL_WANTED` (not for code that is cached
    or serialized: the counter's address is this process's)."""
    params = ft.params
    results = ft.results
    nslots = max(len(params), len(results), 1)
    sig = "".join(f", {LLTYPE[t]} %p{i}" for i, t in enumerate(params))
    rt = result_type(ft)
    L = [f"define {rt} @{name}(ptr %hc{sig}) #1 {{",
         "entry:",
         f"  %vals = alloca [{vo.VALUE_SLOT * nslots} x i8], align 16"]
    for i, t in enumerate(params):
        L.append(f"  %ap{i} = getelementptr i8, ptr %vals, i64 {vo.VALUE_SLOT * i}")
        L.append(f"  store {LLTYPE[t]} %p{i}, ptr %ap{i}, align 8")
    L += _host_call(announce)
    vals = []
    for i, t in enumerate(results):
        lt = LLTYPE[t]
        L.append(f"  %rp{i} = getelementptr i8, ptr %vals, i64 {vo.VALUE_SLOT * i}")
        L.append(f"  %r{i} = load {lt}, ptr %rp{i}, align 8")
        vals.append((lt, f"%r{i}"))
    if not results:
        L.append("  ret void")
    elif len(results) == 1:
        L.append(f"  ret {vals[0][0]} {vals[0][1]}")
    else:
        fields = result_fields(ft)
        agg = "poison"
        for i, (lt, v) in enumerate(vals):
            v = pack_result(L, f"%rb{i}", v, lt, fields[i])
            L.append(f"  %agg{i} = insertvalue {rt} {agg}, {fields[i]} {v}, {i}")
            agg = f"%agg{i}"
        L.append(f"  ret {rt} {agg}")
    L.append("}")
    return "\n".join(L) + "\n"


def attributes(optsize: bool, guard_pages: bool = False) -> str:
    """Attribute groups: #0 wasm functions, #1 trampolines and stubs, #2 the trap routine,
    #3 the ``returns_twice`` call site.

    With ``guard_pages`` (signals-based traps) wasm functions get ``"no-builtins"``: LLVM
    must not turn loops over linear memory into ``memcpy``/``memset`` calls, whose faults
    would happen outside wasm code, where the signal handler does not claim them."""
    size = " optsize" if optsize else ""
    if guard_pages:
        size += ' "no-builtins"'
    return (f'attributes #0 = {{ nounwind "frame-pointer"="all" "disable-tail-calls"="true" '
            f'"split-stack"{size} }}\n'
            f'attributes #1 = {{ nounwind "frame-pointer"="all" }}\n'
            'attributes #2 = { noreturn cold noinline nomerge nounwind "frame-pointer"="all" }\n'
            'attributes #3 = { returns_twice }\n')
