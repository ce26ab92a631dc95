"""The native data layout shared by the compiler and the runtime (the "ABI").

Every structure here is made of 8-byte little-endian slots (x86-64 / aarch64, LP64).
The compiler turns these offsets into constants in LLVM IR; the runtime allocates the
structures with ``ctypes`` and fills them.  ``docs/architecture.md`` explains each one.

VMContext (one per instance; generated code receives it as its first argument)::

    0                      store_ctx   VMStoreContext*
    8                      builtins    pointer to the array of builtin functions (BUILTIN_*)
    16                     reserved
    VMOffsets.type_ids     one u64 per module type: the engine-wide signature id
    VMOffsets.memories     one VMMemory* per memidx (imported first)
    VMOffsets.tables       one VMTable* per tableidx
    VMOffsets.globals      one VMGlobal* per globalidx
    VMOffsets.funcs        one VMFuncRef* per funcidx

VMStoreContext (one per Store): see the ``STORE_*`` constants.
VMMemory:  base ptr @0, current length in bytes @8, maximum length in bytes @16.
VMTable:   elements ptr @0 (8-byte entries: VMFuncRef* for funcref, externref handle for
           externref, 0 = null), current length in elements @8.
VMGlobal:  16 bytes of value storage (i32/i64/f32/f64 bits at offset 0, little-endian).
VMFuncRef: func_ptr @0 (wasm calling convention), signature id @8, callee vmctx @16.
VMHostContext (the "vmctx" of a host function): store_ctx @0 (so that offset 0 of any
           callee context is the store context), callback @8, host id @16.
"""

from __future__ import annotations

from dataclasses import dataclass

from .module import ModuleInfo

SLOT = 8

# -- VMContext header ---------------------------------------------------------------------
VMCTX_STORE_CTX = 0
VMCTX_BUILTINS = 8
VMCTX_HEADER_SIZE = 24

# -- VMStoreContext ------------------------------------------------------------------------
STORE_JMPBUF = 0          # ptr: innermost active jump buffer (set by entry trampolines)
#: u64: the wasm stack limit (lowest address a wasm frame may reach; the outermost entry
#: trampoline also writes it to the thread's ``%fs:0x70``, which wasm prologues compare
#: with, see docs/architecture.md "Stack limit"); 0 while no wasm is running
STORE_STACK_LIMIT = 8
STORE_TRAP_CODE = 16      # i64: status of the last trap (trap code + 1, or STATUS_*)
#: i64, Config.consume_fuel: fuel consumed *relative to the fuel injected*, as Wasmtime's
#: ``VMStoreContext::fuel_consumed``: ``Store.set_fuel(n)`` writes ``-n`` (at most
#: ``2**63 - 1`` at once; the rest stays in a reserve on the Python side) and compiled
#: code adds the cost of what it runs.  A function keeps the value in a local while it
#: runs and writes it back before calls and returns; at function entries, loop headers,
#: bulk operations and after ``memory.grow``/``table.grow`` it checks ``>= 0`` and then
#: calls ``BUILTIN_OUT_OF_GAS`` (which refuels from the reserve or traps "all fuel
#: consumed by WebAssembly").  Remaining fuel = reserve - value (0 when positive).
STORE_FUEL = 24
#: u64, Config.epoch_interruption: the epoch at which wasm traps with "interrupt"
#: (``Store.set_epoch_deadline(n)`` writes current epoch + n; a new Store has 0, so
#: wasm traps at its first check until a deadline is set, as in Wasmtime).
STORE_EPOCH_DEADLINE = 32
#: ptr to the Engine's epoch counter (a u64 that ``Engine.increment_epoch`` bumps from
#: any thread); compiled code with epoch interruption reads it (volatile) at function
#: entries and loop headers and traps when it is ``>=`` the deadline.
STORE_EPOCH_PTR = 40
STORE_MAX_STACK = 48      # u64: Config.max_wasm_stack, bytes
STORE_ENTRY_FP = 56       # u64: frame address of the innermost entry trampoline
#: u64: ``pthread_self()`` of the thread running wasm in this store, 0 when none.  The
#: outermost entry trampoline claims it with a compare-and-swap from 0 and clears it on
#: exit; an entry from another thread while it is set returns STATUS_STORE_BUSY instead
#: of corrupting the jump-buffer chain.
STORE_OWNER_THREAD = 64
#: ptr to ``u64 wasmlite_thread_stack_low(void)`` (``runtime/stack.py``): the lowest
#: address wasm may reach on the calling thread (the end of its stack plus
#: STACK_MARGIN, or a quarter of a smaller stack), called by a thread's outermost entry
STORE_STACK_LOW_FN = 72
#: u64: the faulting address of the last STATUS_WASM_FAULT (signals-based traps)
STORE_FAULT_ADDR = 80
STORE_BACKTRACE_LEN = 88  # u64: number of return addresses recorded by the last trap
STORE_BACKTRACE = 96      # u64[BACKTRACE_MAX]: return addresses, innermost first
BACKTRACE_MAX = 64
STORE_CTX_SIZE = STORE_BACKTRACE + 8 * BACKTRACE_MAX

#: Bytes kept free between the wasm stack limit and the end of the thread's native stack
#: (room for host functions that wasm near its limit calls, and for the trap routine);
#: a quarter of the stack on threads whose stack is smaller than 1 MiB.
STACK_MARGIN = 256 << 10
#: Offset of the split-stack limit in the x86-64 thread control block (glibc's
#: ``tcbhead_t.__private_ss``, read by LLVM's ``"split-stack"`` prologues as ``%fs:0x70``).
TCB_STACK_LIMIT = 0x70

# -- VMMemory, VMTable, VMGlobal, VMFuncRef, VMHostContext ---------------------------------
MEMORY_BASE = 0
MEMORY_LENGTH = 8
MEMORY_MAXIMUM = 16
MEMORY_SIZE = 24

TABLE_ELEMENTS = 0
TABLE_LENGTH = 8
TABLE_SIZE = 16

GLOBAL_SIZE = 16

FUNCREF_FUNC_PTR = 0
FUNCREF_TYPE_ID = 8
FUNCREF_VMCTX = 16
FUNCREF_SIZE = 24

HOSTCTX_STORE_CTX = 0
HOSTCTX_CALLBACK = 8
HOSTCTX_HOST_ID = 16
#: the type's layout for the universal host stub (``trampolines.universal_layout``)
HOSTCTX_LAYOUT = 24
HOSTCTX_SIZE = 32

#: Size of one value slot in the array passed to entry trampolines and host callbacks.
VALUE_SLOT = 16

# -- statuses returned by entry trampolines and host callbacks ------------------------------
STATUS_OK = 0
#: A trap with TrapCode ``c`` is status ``c + STATUS_TRAP_BASE``.
STATUS_TRAP_BASE = 1
#: A host function raised a Python exception; the Store holds it to re-raise.
STATUS_HOST_EXCEPTION = 1000
#: An entry trampoline was called for a store that runs wasm on another thread.
STATUS_STORE_BUSY = 1001
#: wasm code faulted (SIGSEGV/SIGBUS) at an address outside every linear memory: no trap
#: the spec defines, a wasmlite bug; the signal handler turns it into this status, with
#: the address in STORE_FAULT_ADDR, rather than letting the process die
STATUS_WASM_FAULT = 1002
#: compiling a function on its first call failed (an internal compiler error); the
#: exception is kept for the thread (compiler/lazy.py ``take_error``)
STATUS_COMPILE_ERROR = 1003

# -- builtin functions (array at VMContext.builtins; C calling convention) ------------------
# Each returns an i32: a status (0 = ok, else trap code + 1) unless noted.
BUILTIN_MEMORY_GROW = 0   # i64 (ptr vmctx, i32 memidx, i64 delta_pages) -> old pages or -1
#                           (a 32-bit memory reads the low half of the delta)
# (the i64 operands are table64's; a 32-bit table reads only their low halves)
BUILTIN_TABLE_GROW = 1    # i64 (ptr vmctx, i32 tableidx, ptr init, i64 delta) -> old size or -1
BUILTIN_TABLE_FILL = 2    # i32 (ptr vmctx, i32 tableidx, i64 dst, ptr val, i64 len) -> status
BUILTIN_TABLE_COPY = 3    # i32 (ptr vmctx, i32 dst_tbl, i32 src_tbl, i64 dst, i64 src, i64 len)
BUILTIN_TABLE_INIT = 4    # i32 (ptr vmctx, i32 tableidx, i32 elemidx, i64 dst, i32 src, i32 len)
BUILTIN_ELEM_DROP = 5     # i32 (ptr vmctx, i32 elemidx) -> 0
BUILTIN_MEMORY_INIT = 6   # i32 (ptr vmctx, i32 memidx, i32 dataidx, i64 dst, i32 src, i32 len)
#                           (a 32-bit memory reads the low half of dst)
BUILTIN_DATA_DROP = 7     # i32 (ptr vmctx, i32 dataidx) -> 0
BUILTIN_OUT_OF_GAS = 8    # i32 (ptr vmctx) -> 0 after refuelling STORE_FUEL, else status
NUM_BUILTINS = 9


@dataclass(frozen=True)
class VMOffsets:
    """Offsets of the per-index slots of one module's VMContext, in bytes."""

    num_types: int
    num_memories: int
    num_tables: int
    num_globals: int
    num_funcs: int

    @classmethod
    def for_module(cls, info: ModuleInfo) -> VMOffsets:
        return cls(len(info.types), len(info.memory_types()), len(info.table_types()),
                   len(info.global_types()), len(info.func_typeidx()))

    @property
    def type_ids(self) -> int:
        return VMCTX_HEADER_SIZE

    @property
    def memories(self) -> int:
        return self.type_ids + SLOT * self.num_types

    @property
    def tables(self) -> int:
        return self.memories + SLOT * self.num_memories

    @property
    def globals(self) -> int:
        return self.tables + SLOT * self.num_tables

    @property
    def funcs(self) -> int:
        return self.globals + SLOT * self.num_globals

    @property
    def size(self) -> int:
        return self.funcs + SLOT * self.num_funcs

    def type_id(self, typeidx: int) -> int:
        return self.type_ids + SLOT * typeidx

    def memory(self, memidx: int) -> int:
        return self.memories + SLOT * memidx

    def table(self, tableidx: int) -> int:
        return self.tables + SLOT * tableidx

    def global_(self, globalidx: int) -> int:
        return self.globals + SLOT * globalidx

    def func(self, funcidx: int) -> int:
        return self.funcs + SLOT * funcidx
