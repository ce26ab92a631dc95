"""LLVM IR text → optimised machine code, through llvmlite (new pass manager + MCJIT).

Opt levels: ``"0"`` (no IR passes, fast instruction selection), ``"1"``, ``"2"``
(default) and ``"s"`` (speed level 2 without unrolling/vectorisation; the translator
puts ``optsize`` on every wasm function).

Compiled artifacts: MCJIT hands every object file it emits to an object cache
(``ExecutionEngine.set_object_cache``); :class:`JitCode` keeps that relocatable ELF
object (``JitCode.object``), and :meth:`JitCode.from_object` loads one back into a new
MCJIT engine (``ExecutionEngine.add_object_file``) without parsing, optimising or
generating code: external symbols (libc, ``pthread_*``) are resolved again at load time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import llvmlite.binding as llvm
from llvmlite.binding import ffi

from ..errors import WasmtimeError

OPT_LEVELS = ("0", "1", "2", "s")
#: The first tier of lazy compilation (not a Config.opt_level): promote locals to SSA
#: values and simplify the control flow, then generate code as at level 0 (fast
#: instruction selection, fast register allocation).
TIER1 = "t1"

_init_lock = threading.Lock()
_initialized = False


def _init() -> None:
    global _initialized
    with _init_lock:
        if not _initialized:
            llvm.initialize_native_target()
            llvm.initialize_native_asmprinter()
            llvm.initialize_native_asmparser()   # inline asm (compiler/lazy.py)
            # Parsing IR that carries the "Debug Info Version" flag runs LLVM's
            # verifier and, on any error, report_fatal_error: the process would abort
            # on a translator bug.  Without the upgrade, JitCode's own verify() raises.
            llvm.set_option("wasmlite", "-disable-auto-upgrade-debug-info")
            _initialized = True


def check_opt_level(opt_level: str, tier1: bool = False) -> str:
    """``opt_level`` as a string when it is one of :data:`OPT_LEVELS` (or, with
    ``tier1``, :data:`TIER1`, the lazy first tier's internal level); raises
    :class:`WasmtimeError` otherwise."""
    opt_level = str(opt_level)
    if opt_level not in OPT_LEVELS and not (tier1 and opt_level == TIER1):
        raise WasmtimeError(f"unknown optimization level {opt_level!r}; expected one of "
                            f"{', '.join(OPT_LEVELS)}")
    return opt_level


_host: list[tuple[str, str]] = []


def _host_cpu() -> tuple[str, str]:
    """``(cpu name, +feature,-feature list)`` of the host, asked of LLVM once (the
    feature query costs milliseconds)."""
    if not _host:
        _init()
        _host.append((llvm.get_host_cpu_name(), llvm.get_host_cpu_features().flatten()))
    return _host[0]


#: :meth:`JitCode.from_object` lays the object out and relocates it itself
#: (``elfload``), MCJIT only for what that loader does not handle; False: always MCJIT
LOAD_WITHOUT_MCJIT = True


def target_machine(opt_level: str) -> llvm.TargetMachine:
    """A new host target machine for ``opt_level``.

    Not cached: MCJIT takes ownership of the target machine it is given and frees it
    with the execution engine.
    """
    _init()
    target = llvm.Target.from_default_triple()
    cpu, features = _host_cpu()
    return target.create_target_machine(
        cpu=cpu,
        features=features,
        opt=0 if opt_level in ("0", TIER1) else (1 if opt_level == "1" else 2),
        reloc="default", codemodel="jitdefault")


def host_description() -> str:
    """Triple, CPU name and features: what compiled code depends on (for cache keys)."""
    cpu, features = _host_cpu()
    return f"{llvm.get_process_triple()} {cpu} {features} llvm{llvm.llvm_version_info}"


def host_target() -> dict[str, str]:
    """What machine code compiled here depends on, as stored in a serialized module's
    header: ``llvm`` (the LLVM version, e.g. ``"22.1.0"``), ``llvmlite`` (its version),
    ``triple`` (the process triple), ``cpu`` (the host CPU name) and ``cpu_features``
    (LLVM's ``+feature,-feature`` list for the host)."""
    import llvmlite

    cpu, features = _host_cpu()
    return {"llvm": ".".join(str(v) for v in llvm.llvm_version_info),
            "llvmlite": str(llvmlite.__version__),
            "triple": llvm.get_process_triple(),
            "cpu": cpu,
            "cpu_features": features}


def _unlocked(name: str):  # noqa: ANN202 - a ctypes function
    """The raw ctypes function behind ``llvmlite.binding.ffi.lib.<name>``.

    llvmlite serialises every C-API call with one global lock.  The two long-running
    calls used here (running the pass pipeline, MCJIT code generation) only touch the
    module, pass builder and engine they are given, each in its own ``LLVMContext``, so
    several threads may run them at once; ctypes releases the GIL during the call.
    """
    wrapper = getattr(ffi.lib, name)
    return getattr(wrapper, "_cfn", wrapper)


def _mcjit(mod: llvm.ModuleRef, tm: llvm.TargetMachine) -> llvm.ExecutionEngine:
    """An MCJIT engine for ``mod`` with llvmlite's memory manager, which reserves one
    block for an object's code, read-only and read-write data.  LLVM's default
    ``SectionMemoryManager`` maps them separately, and a big process address space (each
    guard-page memory reserves 8 GiB) can put ``.rodata`` more than 2 GiB from the code:
    the split-stack prologue reaches ``__morestack`` through a ``.rodata`` word
    addressed ``rip``-relative (32 bits) even in the large code model, and RuntimeDyld
    then aborts the process on the out-of-range relocation."""
    return llvm.create_mcjit_compiler(mod, tm, use_lmm=True)


class JitCode:
    """One LLVM module parsed, optimised and JIT-compiled; keeps the engine alive.

    Safe to construct from several threads at once (each module gets its own LLVM
    context).  ``parse_time``, ``opt_time`` and ``codegen_time`` are in seconds.
    With ``keep_object`` the relocatable object file MCJIT generated is kept in
    ``object`` (``bytes``; ``None`` otherwise), for :meth:`from_object`.
    ``on_stage`` (optional) is called with ``"parsed"``, ``"optimized"`` and
    ``"generated"`` as those stages end (progress bars).  The code MCJIT generated is
    loaded again by ``elfload`` (``image``) and the engine closed, which frees the
    module's IR, unless that loader does not take the object or ``with_mcjit`` (the
    runtime's routines, which that loader uses) keeps MCJIT's.
    """

    #: the object file MCJIT emitted (``keep_object``), else ``None``
    object: bytes | None = None

    def __init__(self, ir_text: str, opt_level: str, verify: bool = True,
                 keep_object: bool = False,
                 on_stage: Callable[[str], None] | None = None,
                 with_mcjit: bool = False):
        _init()
        tm = target_machine(opt_level)
        t0 = time.perf_counter()
        self.context = llvm.create_context()
        mod = None
        try:
            mod = llvm.parse_assembly(ir_text, context=self.context)
            if verify:
                mod.verify()
        except RuntimeError as e:  # a translator bug, never the user's module
            if mod is not None:
                mod.close()
            raise WasmtimeError(f"internal compiler error: invalid LLVM IR: {e}") from None
        mod.triple = tm.triple
        mod.data_layout = str(tm.target_data)
        t1 = time.perf_counter()
        if on_stage is not None:
            on_stage("parsed")
        if opt_level == TIER1:
            pb = llvm.create_pass_builder(tm, llvm.create_pipeline_tuning_options(0))
            pm = llvm.create_new_module_pass_manager()
            pm.add_sroa_pass()
            pm.add_simplify_cfg_pass()
            pm.run(mod, pb)
        elif opt_level != "0":
            speed = 1 if opt_level == "1" else 2
            pto = llvm.create_pipeline_tuning_options(speed_level=speed)
            if opt_level == "s":
                # llvmlite has no size level; ``optsize`` on each function (set by the
                # translator) does the rest
                pto.loop_unrolling = False
                pto.loop_vectorization = False
            pb = llvm.create_pass_builder(tm, pto)
            pm = pb.getModulePassManager()
            _unlocked("LLVMPY_RunNewModulePassManager")(pm, mod, pb)
        t2 = time.perf_counter()
        if on_stage is not None:
            on_stage("optimized")
        self.engine = _mcjit(mod, tm)
        objects: list[bytes] = []
        # a closure, not a bound method: no cycle JitCode -> engine -> JitCode
        self.engine.set_object_cache(lambda _module, data: objects.append(data), None)
        _unlocked("LLVMPY_FinalizeObject")(self.engine)
        if len(objects) != 1:
            raise WasmtimeError("internal compiler error: MCJIT emitted "
                                f"{len(objects)} object files")
        if keep_object:
            self.object = objects[0]
        if LOAD_WITHOUT_MCJIT and not with_mcjit:
            # run the object through our loader and let MCJIT go with the module's IR,
            # which it keeps as long as the engine lives (several times the code's size)
            from .elfload import load

            image = load(objects[0], llvm.address_of_symbol)
            if image is not None:
                self.image = image
                self._close_mcjit()
                mod = None
        t3 = time.perf_counter()
        if on_stage is not None:
            on_stage("generated")
        if mod is not None:
            self.module = mod
        self.parse_time = t1 - t0
        self.opt_time = t2 - t1
        self.codegen_time = t3 - t2

    #: the code of a :meth:`from_object` load (``elfload.LoadedObject``) when it was
    #: loaded without MCJIT; then ``engine`` and ``module`` do not exist
    image = None

    @classmethod
    def from_object(cls, data: bytes, opt_level: str = "2",
                    with_mcjit: bool = False) -> JitCode:
        """Load an object file kept by a previous compilation (``JitCode.object``): no IR
        parsing, optimisation or code generation; relocations and external symbols are
        resolved here.  ``compiler/elfload.py`` lays it out and relocates it (``image``)
        unless it holds something that loader does not handle, or ``with_mcjit`` (the
        runtime's own routines, which that loader uses) asks for MCJIT; then a new MCJIT
        engine loads it.

        ``data`` must be such an object for this host (the caller checks a serialized
        module's header and checksum first: LLVM does not reject every malformed
        object gracefully).  Raises :class:`WasmtimeError` when it is not an ELF object.
        """
        if not isinstance(data, (bytes, bytearray)) or data[:4] != b"\x7fELF":
            raise WasmtimeError("failed to load compiled code: not an ELF object file")
        _init()
        self = cls.__new__(cls)
        t0 = time.perf_counter()
        if LOAD_WITHOUT_MCJIT and not with_mcjit:
            from .elfload import load

            image = load(data, llvm.address_of_symbol)
            if image is not None:
                self.image = image
                self.object = bytes(data)
                self.parse_time = self.opt_time = 0.0
                self.codegen_time = time.perf_counter() - t0
                return self
        tm = target_machine(opt_level)
        self.context = llvm.create_context()
        mod = llvm.parse_assembly("", context=self.context)
        mod.triple = tm.triple
        mod.data_layout = str(tm.target_data)
        self.engine = _mcjit(mod, tm)
        self.engine.add_object_file(llvm.ObjectFileRef.from_data(bytes(data)))
        self.engine.finalize_object()
        self.module = mod
        self.object = bytes(data)
        self.parse_time = self.opt_time = 0.0
        self.codegen_time = time.perf_counter() - t0
        return self

    def close(self) -> None:
        """Free the machine code: the engine (which owns the module) before its context."""
        image = self.__dict__.pop("image", None)
        if image is not None:
            image.close()
        self._close_mcjit()

    def _close_mcjit(self) -> None:
        """Free MCJIT's engine (which owns the module and its IR) before its context."""
        engine = self.__dict__.pop("engine", None)
        self.__dict__.pop("module", None)
        if engine is not None:
            engine.close()
        context = self.__dict__.pop("context", None)
        if context is not None:
            context.close()

    def __del__(self) -> None:
        self.close()

    def function_address(self, name: str) -> int:
        image = self.__dict__.get("image")
        addr = (image.symbols.get(name, 0) if image is not None
                else self.engine.get_function_address(name))
        if not addr:
            raise WasmtimeError(f"internal compiler error: no symbol {name}")
        return addr

    def global_address(self, name: str) -> int:
        image = self.__dict__.get("image")
        addr = (image.symbols.get(name, 0) if image is not None
                else self.engine.get_global_value_address(name))
        if not addr:
            raise WasmtimeError(f"internal compiler error: no global {name}")
        return addr
