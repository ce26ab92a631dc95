"""SIMD (v128) lowering: the shared helpers and the handler table (spec §4.3.2 "Vector
Operations", §4.4.3 "Vector Instructions").

A v128 is an LLVM ``<4 x i32>`` (:data:`V`) on the operand stack, in locals, globals and
calls; an instruction bitcasts its operands to the lane shape it works in (:data:`SHAPE`)
and its result back to :data:`V`.  LLVM folds the bitcasts away.

The instructions themselves live in four modules, each exporting ``HANDLERS``, a dict
``opcode -> handler(ft, opcode, imm)`` where ``ft`` is the
:class:`~wasmlite.compiler.translate.FunctionTranslator`:

* :mod:`.simd_lanes` — memory, shuffles, splats, lanes, bitwise, integer comparisons,
  ``any_true``/``all_true``/``bitmask``;
* :mod:`.simd_int` — integer lane arithmetic, shifts, narrowing and widening;
* :mod:`.simd_float` — float lanes and the conversions between float and integer lanes;
* :mod:`.simd_relaxed` — the relaxed SIMD instructions (WebAssembly 3.0), as Wasmtime
  lowers them on this host's x86-64 CPU.

:func:`simd_handlers` merges them (and this module's own few) once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..binary import opcodes as op

#: the canonical LLVM type of a v128
V = "<4 x i32>"

#: lane shape name → LLVM vector type
SHAPE = {
    "i8x16": "<16 x i8>", "i16x8": "<8 x i16>", "i32x4": "<4 x i32>", "i64x2": "<2 x i64>",
    "f32x4": "<4 x float>", "f64x2": "<2 x double>",
}

#: lane shape name → (lane count, LLVM lane type)
LANES = {
    "i8x16": (16, "i8"), "i16x8": (8, "i16"), "i32x4": (4, "i32"), "i64x2": (2, "i64"),
    "f32x4": (4, "float"), "f64x2": (2, "double"),
}

Handler = Callable[[Any, int, Any], None]


def emit(ft: Any, text: str) -> str:
    """Append ``%new = text`` to the function's current block; return ``%new``."""
    v = ft.new()
    ft.lines.append(f"  {v} = {text}")
    return v


def declare(ft: Any, decl: str) -> None:
    """Add an intrinsic declaration (``declare <4 x i32> @llvm.smin.v4i32(...)``)."""
    ft.mt.decls.add(decl)


def cast(ft: Any, v: str, src: str, dst: str) -> str:
    """Bitcast ``v`` of vector type ``src`` to ``dst`` (no-op when equal)."""
    if src == dst:
        return v
    return emit(ft, f"bitcast {src} {v} to {dst}")


def pop_as(ft: Any, ty: str) -> str:
    """Pop a v128 and return it bitcast to the vector type ``ty``."""
    return cast(ft, ft.stack.pop()[0], V, ty)


def push_from(ft: Any, v: str, ty: str) -> None:
    """Push ``v`` of vector type ``ty`` as a v128."""
    ft.stack.append((cast(ft, v, ty, V), V))


def v128_literal(data: bytes) -> str:
    """LLVM literal of type :data:`V` for 16 little-endian bytes."""
    words = [int.from_bytes(data[i:i + 4], "little", signed=True) for i in range(0, 16, 4)]
    return "<" + ", ".join(f"i32 {w}" for w in words) + ">"


def mem_load(ft: Any, memarg: tuple, size: int, ty: str) -> str:
    """Linear-memory load of ``ty`` (``size`` bytes) at the popped address + offset
    (``FunctionTranslator.heap_load``)."""
    return ft.heap_load(ft.address(memarg, size), ty)


def mem_store(ft: Any, memarg: tuple, size: int, ty: str, v: str) -> None:
    """Linear-memory store of ``v`` (type ``ty``, ``size`` bytes) at the popped address."""
    ft.heap_store(ft.address(memarg, size), ty, v)


# -- the few instructions every half needs -------------------------------------------------

def op_v128_const(ft: Any, opcode: int, imm: bytes) -> None:
    ft.stack.append((v128_literal(imm), V))


def op_v128_load(ft: Any, opcode: int, imm: tuple) -> None:
    v = mem_load(ft, imm, 16, V)
    ft.stack.append((v, V))


def op_v128_store(ft: Any, opcode: int, imm: tuple) -> None:
    v = ft.stack.pop()[0]
    mem_store(ft, imm, 16, V, v)


_TABLE: dict[int, Handler] | None = None


def simd_handlers() -> dict[int, Handler]:
    """``opcode -> handler(ft, opcode, imm)`` for every SIMD instruction implemented."""
    global _TABLE
    if _TABLE is None:
        table: dict[int, Handler] = {
            op.V128_CONST: op_v128_const,
            op.V128_LOAD: op_v128_load,
            op.V128_STORE: op_v128_store,
        }
        from . import simd_float, simd_int, simd_lanes, simd_relaxed  # they import this
        for part in (simd_lanes, simd_int, simd_float, simd_relaxed):
            table.update(part.HANDLERS)
        _TABLE = table
    return _TABLE
