"""wasmlite.compiler: WebAssembly → LLVM IR text → native code (llvmlite MCJIT).

Public entry points:

* :func:`compile_module` — every defined function of a module, plus an entry trampoline
  and a host stub per type index;
* :func:`compile_trampolines` — just the entry trampolines and host stubs for a list of
  function types (for host functions created without a module);
* :class:`CompiledCode` — the native addresses, kept alive with the LLVM engine;
* :func:`load_compiled` — a :class:`CompiledCode` from the object files of an earlier
  compilation (``CompiledCode.objects``, as stored by ``Module.serialize``).

The native ABI is ``docs/architecture.md`` "The native ABI" and
:mod:`wasmlite.environ.vmoffsets`.
"""

from __future__ import annotations

import bisect
import ctypes
import os
import struct
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from .. import progress
from ..environ.module import FuncType, ModuleInfo
from ..errors import WasmtimeError
from . import trampolines as tr
from .codegen import JitCode, check_opt_level, host_description, host_target
from .translate import DEBUG_METADATA, METADATA, ModuleTranslator

if TYPE_CHECKING:
    from .debuginfo import DebugMap

__all__ = ["CompiledCode", "compile_batch", "compile_module", "compile_osr",
           "compile_trampolines", "load_batch", "load_compiled", "module_ir",
           "host_description", "host_target"]


class CompiledCode:
    """Machine code of one compilation unit (possibly several LLVM modules).

    ``function_addrs[i]`` is the native address of defined function ``i`` (funcidx minus
    the number of imported functions); ``entry_trampolines[t]`` and ``host_stubs[t]`` are
    the addresses of ``@wasmlite_entry_<t>`` / ``@wasmlite_hoststub_<t>`` for type index
    ``t``.  Timings, in seconds: ``translate_time`` (wasm → IR text, Python),
    ``parse_time``, ``opt_time`` and ``codegen_time`` (summed over the LLVM modules),
    ``llvm_time`` (their sum) and ``wall_time`` (the whole compilation, translation and
    LLVM overlapping when several modules compile on several threads).  ``ir_size`` is
    the IR text length in characters, ``num_parts`` the number of LLVM modules.

    ``part_funcs[k]`` lists the defined-function indices compiled in LLVM module ``k``
    and ``type_names[t]`` the type index whose trampolines serve type ``t``; with
    ``objects`` (:func:`load_compiled`) they rebuild the same code elsewhere.
    """

    def __init__(self, jits: list[JitCode], part_funcs: list[list[int]],
                 type_names: list[int], translate_time: float, ir_size: int,
                 wall_time: float = 0.0, num_funcs: int | None = None):
        self._jits = jits
        self.part_funcs = [list(f) for f in part_funcs]
        self.type_names = list(type_names)
        self.num_parts = len(jits)
        self.translate_time = translate_time
        self.parse_time = sum(j.parse_time for j in jits)
        self.opt_time = sum(j.opt_time for j in jits)
        self.codegen_time = sum(j.codegen_time for j in jits)
        self.llvm_time = self.parse_time + self.opt_time + self.codegen_time
        self.wall_time = wall_time
        self.ir_size = ir_size
        #: a list over every defined function (a whole module), or, for a lazily
        #: compiled batch (``num_funcs`` given), a dict over the batch's functions: a
        #: list of the module's size per batch cost cc1plus 282 KB per batch
        self.function_addrs: Any = [0] * sum(len(f) for f in part_funcs) \
            if num_funcs is None else {}
        for jit, funcs in zip(jits, part_funcs, strict=False):
            if funcs:
                table = jit.global_address("wasmlite_functions")
                addrs = (ctypes.c_uint64 * len(funcs)).from_address(table)
                for i, a in zip(funcs, addrs, strict=False):
                    self.function_addrs[i] = a
        main = jits[0]
        self.entry_trampolines = [main.function_address(f"wasmlite_entry_{u}")
                                  for u in type_names]
        self.host_stubs = [main.function_address(f"wasmlite_hoststub_{u}")
                           for u in type_names]
        # Sorted function start addresses; non-wasm code (trampolines, stubs) maps to None.
        fa = self.function_addrs
        starts: dict[int, int | None] = {
            a: i for i, a in (fa.items() if isinstance(fa, dict) else enumerate(fa)) if a}
        ends = [j.function_address("wasmlite_code_end") for j in jits]
        for a in self.entry_trampolines + self.host_stubs + ends:
            starts.setdefault(a, None)
        self._starts = sorted(starts)
        self._owner = [starts[a] for a in self._starts]
        #: ``[start, end)`` address ranges holding the wasm functions (one per LLVM
        #: module with functions; the runtime registers them with the signal handler)
        self.code_ranges: list[tuple[int, int]] = []
        for funcs, end in zip(part_funcs, ends, strict=False):
            if funcs:
                self.code_ranges.append((min(self.function_addrs[i] for i in funcs), end))

    def symbolize(self, addr: int) -> int | None:
        """The defined-function index whose code contains return address ``addr``, or
        ``None`` when it is not in a wasm function of this unit.

        A function extends from its start to the next known start (the next function,
        a trampoline or the empty ``@wasmlite_code_end`` emitted last in each LLVM
        module)."""
        if not self._starts or addr <= self._starts[0]:
            return None
        k = bisect.bisect_right(self._starts, addr - 1) - 1
        return self._owner[k] if k >= 0 else None

    def symbolize_frames(self, addr: int) -> list[tuple[int, int | None]] | None:
        """The wasm frames at return address ``addr`` (a faulting PC + 1 for frame 0),
        innermost first, as ``(defined-function index, module offset)`` pairs: the
        functions LLVM inlined at that point, then the one whose code it is.  The
        offset is that of the call (or trapping) instruction, ``None`` when the code has
        no debug information for it.  ``None`` when ``addr`` is not in a wasm function
        of this unit.

        Reads the DWARF of the kept object files (``compiler/debuginfo.py``, pyelftools)
        the first time a part is asked; a part without one (or whose DWARF cannot be
        read) gives just the enclosing function, at an unknown offset."""
        defidx = self.symbolize(addr)
        if defidx is None:
            return None
        fallback: list[tuple[int, int | None]] = [(defidx, None)]
        dm = self._debug_map(defidx)
        if dm is None:
            return fallback
        dmap, nimp = dm
        found = dmap.lookup_address(addr - 1)
        if found is None:
            return fallback
        offset, inlined = found
        frames: list[tuple[int, int | None]] = []
        for funcidx, call_offset in inlined:
            frames.append((funcidx - nimp, offset or None))
            offset = call_offset
        frames.append((defidx, offset or None))
        return frames

    def _debug_map(self, defidx: int) -> tuple[DebugMap, int] | None:
        """``(DebugMap, number of imported functions)`` of the LLVM module holding
        defined function ``defidx``; ``None`` without a readable object file."""
        part = next((k for k, funcs in enumerate(self.part_funcs) if defidx in funcs), None)
        if part is None:
            return None
        cache = self.__dict__.setdefault("_debug_maps", {})
        if part not in cache:
            jit = self._jits[part]
            entry = None
            funcs = self.part_funcs[part]
            if jit.object is not None:
                try:
                    from .debuginfo import DebugMap

                    dmap = DebugMap(jit.object)
                    if dmap.func_symbols:
                        # every defined function of the part has its symbol (the
                        # @wasmlite_functions table references them all)
                        nimp = min(dmap.func_symbols) - min(funcs)
                        addrs = self.function_addrs

                        def func_addr(funcidx: int, nimp: int = nimp) -> int | None:
                            d = funcidx - nimp
                            if isinstance(addrs, dict):
                                return addrs.get(d)
                            return addrs[d] if 0 <= d < len(addrs) else None

                        dmap.bind(func_addr)
                        entry = (dmap, nimp)
                except (ImportError, ValueError, KeyError, struct.error):
                    entry = None
            cache[part] = entry
        return cache[part]

    @property
    def engines(self) -> list:
        """The llvmlite execution engines holding the code."""
        return [j.engine for j in self._jits]

    @property
    def objects(self) -> list[bytes] | None:
        """The relocatable object file of each LLVM module (``bytes``, in
        ``part_funcs`` order), or ``None`` when the code was compiled without
        ``keep_objects``."""
        objs = [j.object for j in self._jits]
        if any(o is None for o in objs):
            return None
        return objs  # type: ignore[return-value]


def _unique_types(functypes: list[FuncType]) -> list[int]:
    """For each type index, the first index with an equal FuncType (trampolines are
    emitted once per distinct type)."""
    first: dict[FuncType, int] = {}
    return [first.setdefault(ft, i) for i, ft in enumerate(functypes)]


def _store_key(tls_key: int | None, signals_tls_key: int | None) -> int | None:
    """The key entry trampolines publish the store context under (see compile_module)."""
    return signals_tls_key if tls_key is None else tls_key


def _trampolines_ir(functypes: list[FuncType], names: list[int], out: list[str],
                    tls_key: int | None = None, announce: bool = False) -> None:
    for i, ft in enumerate(functypes):
        if names[i] == i:
            out.append(tr.entry_trampoline(f"wasmlite_entry_{i}", ft, tls_key))
            out.append(tr.host_stub(f"wasmlite_hoststub_{i}", ft, announce))


def _read_bodies(info: ModuleInfo) -> list[list[tuple]]:
    from ..binary.decoder import read_function_body

    return [read_function_body(info, i) for i in range(len(info.codes))]


#: An empty function emitted last: functions are laid out in module order, so its address
#: bounds the code of the module's last wasm function (see CompiledCode.symbolize).
CODE_END = "define void @wasmlite_code_end() #1 {\n  ret void\n}"

#: A module is split into several LLVM modules, compiled on several threads, when it has
#: at least this many instructions per part.
INSTRS_PER_PART = 40_000
MAX_PARTS = 4


def _partition(bodies: list[list[tuple]], parts: int | None) -> list[list[int]]:
    """Split defined-function indices into contiguous groups of similar total size."""
    n = len(bodies)
    total = sum(len(b) for b in bodies)
    if parts is None:
        parts = min(os.cpu_count() or 1, MAX_PARTS, max(1, total // INSTRS_PER_PART))
    parts = max(1, min(parts, n))
    if parts == 1:
        return [list(range(n))]
    groups: list[list[int]] = [[] for _ in range(parts)]
    acc = 0
    for i, b in enumerate(bodies):
        k = min(parts - 1, acc * parts // max(total, 1))
        groups[k].append(i)
        acc += len(b)
    return [g for g in groups if g] or [[]]


def _translator_options(consume_fuel: bool, epoch_interruption: bool) -> dict[str, bool]:
    """Keyword arguments of :class:`ModuleTranslator` for the interruption settings; only
    the ones switched on are passed.  Raises :class:`WasmtimeError` when the translator
    does not know one of them (yet)."""
    opts = {k: True for k, v in (("consume_fuel", consume_fuel),
                                 ("epoch_interruption", epoch_interruption)) if v}
    if opts:
        import inspect

        known = inspect.signature(ModuleTranslator).parameters
        for k in opts:
            if k not in known:
                raise WasmtimeError(f"{k} is not supported by the wasmlite compiler yet")
    return opts


def _part_ir(info: ModuleInfo, bodies: list[list[tuple]], funcs: list[int],
             opt_level: str, with_trampolines: bool, local: set[int] | None,
             signals_tls_key: int | None = None, options: dict[str, Any] | None = None,
             tls_key: int | None = None) -> str:
    from .lazy import FIRST_TIER, TIERUP

    guard = signals_tls_key is not None
    tls_key = _store_key(tls_key, signals_tls_key)
    # the tier-up thread steps aside for the first tier and host calls (FIRST_TIER)
    # between functions and, within a function, at its blocks and calls
    checkpoint = FIRST_TIER.pause if threading.current_thread() is TIERUP.thread else None
    mt = ModuleTranslator(info, optsize=(opt_level == "s"), local_funcs=local,
                          guard_pages=guard, checkpoint=checkpoint, **(options or {}))
    nimp = info.num_imported_funcs
    text: list[str] = []

    for i in funcs:
        FIRST_TIER.pause()   # on the tier-up thread, the first tier goes first
        mt.translate_function(nimp + i, bodies[i], text)
    out = [METADATA, tr.COMMON_DECLS, "\n".join(sorted(mt.decls)), tr.trap_routine(),
           tr.morestack_routine(tls_key)]
    out.append("\n".join(text))
    if funcs:
        refs = ", ".join(f"ptr @wasm_func_{nimp + i}" for i in funcs)
        out.append(f"@wasmlite_functions = global [{len(funcs)} x ptr] [{refs}]")
    else:
        out.append("@wasmlite_functions = global [0 x ptr] zeroinitializer")
    if with_trampolines:
        _trampolines_ir(info.types, _unique_types(info.types), out, tls_key)
    out.append(CODE_END)
    out.append(tr.attributes(opt_level == "s", guard))
    out.append(DEBUG_METADATA)
    out.append("\n".join(mt.debug_md))
    return "\n".join(out)


def module_ir(info: ModuleInfo, bodies: list[list[tuple]] | None = None,
              opt_level: str = "2", signals_tls_key: int | None = None, *,
              tls_key: int | None = None) -> str:
    """The LLVM IR text of a whole module as one LLVM module (functions, trampolines,
    stubs, trap routine).  ``signals_tls_key`` and ``tls_key`` as for
    :func:`compile_module`.  Raises
    :class:`WasmtimeError` for SIMD ("SIMD is not supported yet ...")."""
    if bodies is None:
        bodies = _read_bodies(info)
    _check_bodies(info, bodies)
    return _part_ir(info, bodies, list(range(len(bodies))), opt_level, True, None,
                    signals_tls_key, tls_key=tls_key)


def _check_bodies(info: ModuleInfo, bodies: list[list[tuple]]) -> None:
    if len(bodies) != len(info.funcs):
        raise WasmtimeError("function and code section have inconsistent lengths")


def compile_module(info: ModuleInfo, bodies: list[list[tuple]] | None = None,
                   opt_level: str = "2", parts: int | None = None,
                   signals_tls_key: int | None = None, *, keep_objects: bool = False,
                   consume_fuel: bool = False,
                   epoch_interruption: bool = False,
                   tls_key: int | None = None) -> CompiledCode:
    """Compile every defined function of ``info`` to native code.

    ``bodies`` are the instruction lists of the defined functions (as produced by
    ``validate_module`` or ``binary.decoder.read_function_body``; read from the module when
    ``None``).  ``opt_level`` is ``"0"``, ``"1"``, ``"2"`` or ``"s"``.  Big modules are
    split into ``parts`` LLVM modules (default: by size, at most one per CPU) compiled on
    as many threads; calls between parts go through the callee's VMFuncRef.  Raises
    :class:`WasmtimeError` for SIMD instructions and unknown opt levels.

    ``signals_tls_key`` selects signals-based traps (``Config.signals_based_traps``): the
    ``pthread_key_t`` of ``runtime.signals.tls_key()``; loads and stores then have no
    bounds checks and rely on the memories' guard regions and the signal handler.
    ``None`` (default): explicit bounds checks.

    ``tls_key`` is the ``pthread_key_t`` under which entry trampolines publish the
    running store's context for the thread, whatever the bounds checks (default:
    ``signals_tls_key``); the stack-overflow routine finds the store through it.
    With neither key the routine reads the ``vmctx`` argument register instead, which
    is wrong for functions whose results LLVM returns through a hidden pointer
    (several results that do not fit in registers): such code may crash on stack
    exhaustion, so the runtime always passes a key.

    ``keep_objects`` keeps the object file of every LLVM module
    (``CompiledCode.objects``, for ``Module.serialize``).  ``consume_fuel`` and
    ``epoch_interruption`` (``Config``'s settings) are passed on to the translator
    (``ModuleTranslator(consume_fuel=True, ...)``); :class:`WasmtimeError` when it
    does not support them.
    """
    opt_level = check_opt_level(opt_level)
    options = _translator_options(consume_fuel, epoch_interruption)
    t_start = time.perf_counter()
    if bodies is None:
        bodies = _read_bodies(info)
    _check_bodies(info, bodies)
    groups = _partition(bodies, parts)
    nimp = info.num_imported_funcs
    translate_time = 0.0
    ir_size = 0
    stages = [_stage_reporter(bodies, g) for g in groups] if progress.active() else None
    if stages is not None:
        progress.expect(sum(len(b) for b in bodies))
    if len(groups) == 1:
        t0 = time.perf_counter()
        ir = _part_ir(info, bodies, groups[0], opt_level, True, None, signals_tls_key,
                      options, tls_key)
        translate_time = time.perf_counter() - t0
        if stages is not None:
            stages[0]("translated")
        jits = [JitCode(ir, opt_level, keep_object=True,
                        on_stage=stages[0] if stages is not None else None)]
        ir_size = len(ir)
    else:
        futures = []
        with ThreadPoolExecutor(max_workers=len(groups)) as pool:
            try:
                for k, funcs in enumerate(groups):
                    t0 = time.perf_counter()
                    ir = _part_ir(info, bodies, funcs, opt_level, k == 0,
                                  {nimp + i for i in funcs}, signals_tls_key, options,
                                  tls_key)
                    translate_time += time.perf_counter() - t0
                    ir_size += len(ir)
                    on_stage = None
                    if stages is not None:
                        on_stage = stages[k]
                        on_stage("translated")
                    futures.append(pool.submit(JitCode, ir, opt_level, True, True,
                                               on_stage))
                    del ir
            finally:
                jits = [f.result() for f in futures]
    return CompiledCode(jits, groups, _unique_types(info.types), translate_time, ir_size,
                        time.perf_counter() - t_start)


#: Shares of a part's compile time by stage, measured at opt level 2 (sightglass
#: quicksort: translation 2.5 %, IR parsing 2 %, optimisation 52 %, code generation
#: 43.5 %): how far a progress bar moves when a part's stage ends.
STAGE_SHARES = {"translated": 0.025, "parsed": 0.02, "optimized": 0.52, "generated": 0.435}


def _stage_reporter(bodies: list[list[tuple]], funcs: list[int]) -> Any:
    """A callback moving the progress bar by the part's instruction count times the
    share of the stage that just ended (``JitCode``'s ``on_stage``)."""
    size = sum(len(bodies[i]) for i in funcs)

    def on_stage(stage: str) -> None:
        progress.advance(size * STAGE_SHARES.get(stage, 0.0))

    return on_stage


def compile_batch(info: ModuleInfo, bodies: list[list[tuple]], funcs: list[int],
                  opt_level: str = "2", signals_tls_key: int | None = None, *,
                  consume_fuel: bool = False, epoch_interruption: bool = False,
                  tls_key: int | None = None, keep_objects: bool = True,
                  hotness: tuple[int, int, int] | None = None,
                  osr: tuple[int, Any] | None = None) -> CompiledCode:
    """Compile the defined functions ``funcs`` (indices into ``info.funcs``) of a module
    as one LLVM module, without trampolines: a batch of lazy compilation
    (``compiler/lazy.py``).  Calls among ``funcs`` are direct, calls to other defined
    functions go through their VMFuncRef (all calls do with ``hotness``).  The result's ``function_addrs`` has one entry
    per defined function, 0 for those not in ``funcs``.  ``opt_level`` may also be
    ``codegen.TIER1``.  ``hotness`` instruments the code for tier-up and ``osr`` (with
    it) for on-stack replacement at loop headers (see ``ModuleTranslator``).  Other
    arguments as for :func:`compile_module`."""
    opt_level = check_opt_level(opt_level, tier1=True)
    options: dict[str, Any] = dict(_translator_options(consume_fuel, epoch_interruption))
    if hotness is not None:
        options["hotness"] = hotness
        if osr is not None:
            options["osr"] = osr
    t0 = time.perf_counter()
    nimp = info.num_imported_funcs
    # the first tier calls even its batch's functions through their VMFuncRefs (their
    # thunks), so that a call reaches the optimized code as soon as it is installed
    local = set() if hotness is not None else {nimp + i for i in funcs}
    ir = _part_ir(info, bodies, funcs, opt_level, False, local, signals_tls_key, options,
                  tls_key)
    t1 = time.perf_counter()
    jit = JitCode(ir, opt_level, keep_object=keep_objects)
    return CompiledCode([jit], [funcs], [], t1 - t0, len(ir), time.perf_counter() - t0,
                        num_funcs=len(info.funcs))


def compile_osr(info: ModuleInfo, bodies: list[list[tuple]], defidx: int, loop_offset: int,
                opt_level: str = "2", signals_tls_key: int | None = None, *,
                consume_fuel: bool = False, epoch_interruption: bool = False,
                tls_key: int | None = None) -> CompiledCode:
    """The OSR entry of defined function ``defidx`` for its ``loop`` at module offset
    ``loop_offset``: the function translated as ``R (ptr vmctx, ptr state)``, starting
    at that loop with the locals and the operand stack read from ``state`` (16-byte
    slots, as the first tier's transfer stores them; ``FunctionTranslator.osr_tick``),
    compiled at ``opt_level`` as one LLVM module in which every call goes through the
    callee's VMFuncRef.  ``function_addrs[defidx]`` of the result is the entry (its
    symbol and DWARF name the function, so backtraces through it are the function's).
    Other arguments as for :func:`compile_batch` (``opt_level`` may also be
    ``codegen.TIER1``); raises what the compiler raises."""
    opt_level = check_opt_level(opt_level, tier1=True)
    options: dict[str, Any] = dict(_translator_options(consume_fuel, epoch_interruption))
    nimp = info.num_imported_funcs
    options["osr_target"] = (nimp + defidx, loop_offset)
    t0 = time.perf_counter()
    ir = _part_ir(info, bodies, [defidx], opt_level, False, set(), signals_tls_key, options,
                  tls_key)
    t1 = time.perf_counter()
    jit = JitCode(ir, opt_level, keep_object=True)
    return CompiledCode([jit], [[defidx]], [], t1 - t0, len(ir), time.perf_counter() - t0,
                        num_funcs=len(info.funcs))


def compile_trampolines(functypes: list[FuncType], opt_level: str = "2",
                        signals_tls_key: int | None = None, *,
                        tls_key: int | None = None) -> CompiledCode:
    """Entry trampolines and host stubs for ``functypes`` (indexed like the list);
    ``signals_tls_key`` and ``tls_key`` as for :func:`compile_module`."""
    opt_level = check_opt_level(opt_level)
    t0 = time.perf_counter()
    names = _unique_types(list(functypes))
    out = [METADATA, tr.COMMON_DECLS, tr.trap_routine(),
           "@wasmlite_functions = global [0 x ptr] zeroinitializer"]
    # an engine's trampolines count host calls (``announce``): they are never part of
    # a module's artifact, but at opt level 0 they go through the routines cache, where
    # that counter's address (and the TLS keys) are symbols (``routines.cached_jit``:
    # WASI's types cost about 15 ms of LLVM per process otherwise)
    _trampolines_ir(list(functypes), names, out, _store_key(tls_key, signals_tls_key),
                    announce=True)
    out.append(CODE_END)
    out.append(tr.attributes(False))
    ir = "\n".join(out)
    t1 = time.perf_counter()
    if opt_level == "0":
        from ..runtime.routines import cached_jit

        jit = cached_jit(ir, "wasmlite_code_end")
    else:
        jit = JitCode(ir, opt_level)
    return CompiledCode([jit], [[]], names, t1 - t0, len(ir), time.perf_counter() - t0)


def load_compiled(objects: list[bytes], part_funcs: list[list[int]], type_names: list[int],
                  opt_level: str = "2") -> CompiledCode:
    """The :class:`CompiledCode` of an earlier :func:`compile_module` call, rebuilt from
    its ``objects``, ``part_funcs`` and ``type_names`` without running LLVM's parser,
    optimiser or code generator (each object file is loaded into its own MCJIT engine,
    as it was compiled).

    The objects must come from a compilation for this host and these settings (the
    caller checks; see ``wasmlite.cache``).  Raises :class:`WasmtimeError` when the
    lists do not fit together, an object is not an ELF file or lacks a symbol.
    """
    opt_level = check_opt_level(opt_level)
    if not objects or len(objects) != len(part_funcs):
        raise WasmtimeError("compiled code has inconsistent parts")
    n = sum(len(f) for f in part_funcs)
    if sorted(i for f in part_funcs for i in f) != list(range(n)):
        raise WasmtimeError("compiled code has inconsistent function lists")
    if any(not 0 <= u <= t for t, u in enumerate(type_names)):
        raise WasmtimeError("compiled code has inconsistent type lists")
    t0 = time.perf_counter()
    jits: list[JitCode] = []
    try:
        for obj in objects:
            jits.append(JitCode.from_object(obj, opt_level))
        return CompiledCode(jits, part_funcs, type_names, 0.0, 0, time.perf_counter() - t0)
    except BaseException:
        for j in jits:
            j.close()
        raise


def load_batch(obj: bytes, funcs: list[int], num_funcs: int,
               opt_level: str = "2") -> CompiledCode:
    """The :class:`CompiledCode` of a :func:`compile_batch` result rebuilt from its
    object file (``CompiledCode.objects[0]``, as the compile cache stores optimized
    batches): ``funcs`` are the batch's defined-function indices, ``num_funcs`` the
    module's number of defined functions.  The object must come from this host and
    these settings (the caller's cache key says so).  Raises :class:`WasmtimeError` when
    it is not an ELF object or lacks a symbol."""
    if not funcs or any(not 0 <= i < num_funcs for i in funcs):
        raise WasmtimeError("compiled code has inconsistent function lists")
    t0 = time.perf_counter()
    jit = JitCode.from_object(obj, check_opt_level(opt_level))
    try:
        return CompiledCode([jit], [sorted(funcs)], [], 0.0, 0, time.perf_counter() - t0,
                            num_funcs=num_funcs)
    except BaseException:
        jit.close()
        raise
