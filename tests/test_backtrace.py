"""Wasm backtraces as precise as Wasmtime's: each frame's ``module_offset`` is the offset
of the trapping instruction (frame 0) or of the ``call`` / ``call_indirect`` (callers),
``func_offset`` that minus the function's start, and functions LLVM inlined at opt
levels 1, 2 and s still have their frames.  Expected offsets come from the decoder
(each instruction's offset) and from wasmtime-py running the same module."""

from __future__ import annotations

from typing import Any

import pytest
import wasmtime

import wasmlite
from wasmlite.binary import opcodes as op
from wasmlite.binary.decoder import decode_module, read_function_body
from wasmlite.compiler.translate import code_start

# $callee traps on a zero divisor; $twice calls it from two sites, $via_table through
# call_indirect; $load reads out of bounds of its memory.
WAT = """
(module $bt
  (memory 1)
  (table 1 funcref)
  (elem (i32.const 0) $callee)
  (type $t (func (param i32) (result i32)))
  (func $callee (param i32) (result i32)
    (i32.div_u (i32.const 100) (local.get 0)))
  (func $twice (export "twice") (param i32 i32) (result i32)
    (i32.add
      (call $callee (local.get 0))
      (call $callee (local.get 1))))
  (func $via_table (export "via_table") (param i32) (result i32)
    (call_indirect (type $t) (local.get 0) (i32.const 0)))
  (func $load (param i32) (result i32)
    (i32.load offset=8 (local.get 0)))
  (func $load_caller (export "load") (param i32) (result i32)
    (i32.add (i32.const 1) (call $load (local.get 0))))
  (func $unreach (export "unreach")
    nop
    unreachable))
"""

OPT_LEVELS = ["0", "1", "2", "s"]


def _frames(trap: Any) -> list[tuple[int, str | None, int, int]]:
    return [(f.func_index, f.func_name, f.func_offset, f.module_offset) for f in trap.frames]


def _run_wasmlite(opt: str, export: str, *args: int) -> wasmlite.Trap:
    config = wasmlite.Config()
    config.opt_level = opt
    engine = wasmlite.Engine(config)
    store = wasmlite.Store(engine)
    instance = wasmlite.Instance(store, wasmlite.Module(engine, WAT), [])
    with pytest.raises(wasmlite.Trap) as info:
        instance.exports(store)[export](store, *args)
    return info.value


def _run_wasmtime(export: str, *args: int) -> wasmtime.Trap:
    engine = wasmtime.Engine()
    store = wasmtime.Store(engine)
    instance = wasmtime.Instance(store, wasmtime.Module(engine, WAT), [])
    with pytest.raises(wasmtime.Trap) as info:
        instance.exports(store)[export](store, *args)
    return info.value


def _offsets() -> tuple[dict[int, list[tuple[int, int]]], list[int]]:
    """``(instructions, starts)``: per funcidx, its ``(opcode, offset)`` list, and each
    defined function's start offset (Wasmtime's ``func_offset`` origin)."""
    info = decode_module(wasmlite.wat2wasm(WAT))
    nimp = info.num_imported_funcs
    instrs = {nimp + i: [(o, off) for o, _imm, off in read_function_body(info, i)]
              for i in range(len(info.codes))}
    starts = [code_start(info.bytes, c.offset) for c in info.codes]
    return instrs, starts


def _nth(instrs: list[tuple[int, int]], opcode: int, n: int = 0) -> int:
    return [off for o, off in instrs if o == opcode][n]


@pytest.mark.parametrize("opt", OPT_LEVELS)
@pytest.mark.parametrize("which", [0, 1])
def test_trap_in_callee_from_each_call_site(opt: str, which: int) -> None:
    """The caller frame points at the ``call`` that was running (first or second)."""
    args = (0, 1) if which == 0 else (1, 0)
    trap = _run_wasmlite(opt, "twice", *args)
    instrs, starts = _offsets()
    div = _nth(instrs[0], op.I32_DIV_U)
    call = _nth(instrs[1], op.CALL, which)
    assert _frames(trap) == [(0, "callee", div - starts[0], div),
                             (1, "twice", call - starts[1], call)]
    assert _frames(trap) == _frames(_run_wasmtime("twice", *args))


@pytest.mark.parametrize("opt", OPT_LEVELS)
def test_call_indirect_frame(opt: str) -> None:
    trap = _run_wasmlite(opt, "via_table", 0)
    instrs, starts = _offsets()
    call = _nth(instrs[2], op.CALL_INDIRECT)
    assert trap.frames[1].module_offset == call
    assert trap.frames[1].func_offset == call - starts[2]
    assert _frames(trap) == _frames(_run_wasmtime("via_table", 0))


@pytest.mark.parametrize("opt", OPT_LEVELS)
def test_out_of_bounds_load_frames(opt: str) -> None:
    """A load past the memory (a fault with signals-based traps) points at the load."""
    trap = _run_wasmlite(opt, "load", 65536)
    assert trap.trap_code == wasmlite.TrapCode.MEMORY_OUT_OF_BOUNDS
    instrs, _ = _offsets()
    assert trap.frames[0].module_offset == _nth(instrs[3], op.I32_LOAD)
    assert _frames(trap) == _frames(_run_wasmtime("load", 65536))


@pytest.mark.parametrize("opt", OPT_LEVELS)
def test_unreachable_frame(opt: str) -> None:
    trap = _run_wasmlite(opt, "unreach")
    instrs, starts = _offsets()
    unreachable = _nth(instrs[5], op.UNREACHABLE)
    assert _frames(trap) == [(5, "unreach", unreachable - starts[5], unreachable)]
    assert _frames(trap) == _frames(_run_wasmtime("unreach"))


def test_inlined_frames_are_kept_at_o2() -> None:
    """At -O2 $callee is small enough to be inlined into $twice; both frames remain."""
    trap = _run_wasmlite("2", "twice", 1, 0)
    assert [f.func_name for f in trap.frames] == ["callee", "twice"]
    assert "bt!callee" in trap.message and "bt!twice" in trap.message
