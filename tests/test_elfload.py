"""``compiler/elfload.py``: object files loaded and relocated without MCJIT.

A module compiled eagerly keeps its object files; loaded back by ``elfload`` and by
MCJIT (``codegen.LOAD_WITHOUT_MCJIT`` off), both must run the same code: results,
traps, backtraces, a ``br_table`` (a jump table of absolute addresses in ``.rodata``),
float constants (PC-relative loads from ``.rodata.cst*``), the entry trampolines'
``_setjmp``.  What the loader does not handle comes back ``None``.
"""

from __future__ import annotations

import pytest
import wasmtime

from wasmlite import Config, Engine, Instance, Module, Store, Trap
from wasmlite import cache as ca
from wasmlite.compiler import codegen, elfload

WAT = """
(module
  (memory (export "mem") 1)
  (data (i32.const 8) "\\2a\\00\\00\\00")
  (global $g (mut f64) (f64.const 2.5))
  (func $pick (param i32) (result i32)
    (block $d (block $c (block $b (block $a
      (br_table $a $b $c $d (local.get 0)))
      (return (i32.const 10)))
      (return (i32.const 20)))
      (return (i32.const 30)))
    (i32.const 40))
  (func (export "pick") (param i32) (result i32) (call $pick (local.get 0)))
  (func (export "scale") (param f64) (result f64)
    (global.set $g (f64.mul (global.get $g) (f64.const 1.5)))
    (f64.add (f64.mul (local.get 0) (f64.const 3.25)) (global.get $g)))
  (func (export "load") (param i32) (result i32) (i32.load (local.get 0)))
  (func $deep (param i32) (result i32)
    (if (result i32) (i32.eqz (local.get 0))
      (then (unreachable))
      (else (call $deep (i32.sub (local.get 0) (i32.const 1))))))
  (func (export "deep") (param i32) (result i32) (call $deep (local.get 0))))
"""


def _run(module: Module) -> tuple:
    store = Store(module._engine)
    ex = Instance(store, module, []).exports(store)
    picks = [ex["pick"](store, i) for i in range(-1, 6)]
    scales = [ex["scale"](store, x) for x in (1.0, -2.0, 0.5)]
    loads = [ex["load"](store, 8)]
    with pytest.raises(Trap) as oob:
        ex["load"](store, 65535)
    with pytest.raises(Trap) as deep:
        ex["deep"](store, 3)
    return (picks, scales, loads, str(oob.value).splitlines()[0],
            [(f.func_index, f.module_offset) for f in deep.value.frames])


@pytest.mark.parametrize("opt_level", ["0", "2"])
def test_loaded_without_mcjit_runs_as_with_it(opt_level: str,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    config = Config()
    config.opt_level = opt_level
    config.strategy = "cranelift"           # eager: the artifact holds every function
    engine = Engine(config)
    data = Module(engine, bytes(wasmtime.wat2wasm(WAT))).serialize()
    mine = Module.deserialize(engine, data)
    assert all(j.image is not None for j in mine._compiled._jits)
    monkeypatch.setattr(codegen, "LOAD_WITHOUT_MCJIT", False)
    theirs = Module.deserialize(engine, data)
    assert all(j.image is None for j in theirs._compiled._jits)
    got, want = _run(mine), _run(theirs)
    assert got == want
    assert got[0] == [40, 10, 20, 30, 40, 40, 40] and got[2] == [42]
    assert len(got[4]) == 5


def test_what_the_loader_does_not_handle_is_none() -> None:
    engine = Engine()
    data = Module(engine, bytes(wasmtime.wat2wasm(WAT))).serialize()
    _header, _wasm, objects = ca.parse_artifact(data)
    import llvmlite.binding as llvm

    obj = objects[0]
    assert elfload.load(obj, llvm.address_of_symbol) is not None
    # an external symbol that does not resolve (the entry trampolines call _setjmp)
    assert elfload.load(obj, lambda name: 0) is None
    assert elfload.load(obj[:200], llvm.address_of_symbol) is None
    assert elfload.load(b"\x7fELF" + bytes(60), llvm.address_of_symbol) is None
