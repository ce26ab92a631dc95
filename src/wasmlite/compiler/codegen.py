"""LLVM IR text → optimised machine code, through llvmlite (new pass manager + MCJIT).

Opt levels: ``"0"`` (no IR passes, fast instruction selection), ``"1"``, ``"2"``
(default) and ``"s"`` (speed level 2 without unrolling/vectorisation; the translator
puts ``optsize`` on every wasm function).
"""

from __future__ import annotations

import threading
import time

import llvmlite.binding as llvm
from llvmlite.binding import ffi

from ..errors import WasmtimeError

OPT_LEVELS = ("0", "1", "2", "s")

_init_lock = threading.Lock()
_initialized = False


def _init() -> None:
    global _initialized
    with _init_lock:
        if not _initialized:
            llvm.initialize_native_target()
            llvm.initialize_native_asmprinter()
            _initialized = True


def check_opt_level(opt_level: str) -> str:
    opt_level = str(opt_level)
    if opt_level not in OPT_LEVELS:
        raise WasmtimeError(f"unknown optimization level {opt_level!r}; expected one of "
                            f"{', '.join(OPT_LEVELS)}")
    return opt_level


def target_machine(opt_level: str) -> llvm.TargetMachine:
    """A new host target machine for ``opt_level``.

    Not cached: MCJIT takes ownership of the target machine it is given and frees it
    with the execution engine.
    """
    _init()
    target = llvm.Target.from_default_triple()
    return target.create_target_machine(
        cpu=llvm.get_host_cpu_name(),
        features=llvm.get_host_cpu_features().flatten(),
        opt=0 if opt_level == "0" else (1 if opt_level == "1" else 2),
        reloc="default", codemodel="jitdefault")


def host_description() -> str:
    """Triple, CPU name and features: what compiled code depends on (for cache keys)."""
    _init()
    return (f"{llvm.get_process_triple()} {llvm.get_host_cpu_name()} "
            f"{llvm.get_host_cpu_features().flatten()} llvm{llvm.llvm_version_info}")


def _unlocked(name: str):  # noqa: ANN202 - a ctypes function
    """The raw ctypes function behind ``llvmlite.binding.ffi.lib.<name>``.

    llvmlite serialises every C-API call with one global lock.  The two long-running
    calls used here (running the pass pipeline, MCJIT code generation) only touch the
    module, pass builder and engine they are given, each in its own ``LLVMContext``, so
    several threads may run them at once; ctypes releases the GIL during the call.
    """
    wrapper = getattr(ffi.lib, name)
    return getattr(wrapper, "_cfn", wrapper)


class JitCode:
    """One LLVM module parsed, optimised and JIT-compiled; keeps the engine alive.

    Safe to construct from several threads at once (each module gets its own LLVM
    context).  ``parse_time``, ``opt_time`` and ``codegen_time`` are in seconds.
    """

    def __init__(self, ir_text: str, opt_level: str, verify: bool = True):
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
        if opt_level != "0":
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
        self.engine = llvm.create_mcjit_compiler(mod, tm)
        _unlocked("LLVMPY_FinalizeObject")(self.engine)
        t3 = time.perf_counter()
        self.module = mod
        self.parse_time = t1 - t0
        self.opt_time = t2 - t1
        self.codegen_time = t3 - t2

    def close(self) -> None:
        """Free the machine code: the engine (which owns the module) before its context."""
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
        addr = self.engine.get_function_address(name)
        if not addr:
            raise WasmtimeError(f"internal compiler error: no symbol {name}")
        return addr

    def global_address(self, name: str) -> int:
        addr = self.engine.get_global_value_address(name)
        if not addr:
            raise WasmtimeError(f"internal compiler error: no global {name}")
        return addr
