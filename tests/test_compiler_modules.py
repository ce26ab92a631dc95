"""Compiler tests on real programs: every sightglass benchmark and a sample of the
wasi-testsuite modules translate to LLVM IR that LLVM parses and verifies.

Only parsing and verification run here (no optimisation, no code generation) to keep
the suite fast; end-to-end behaviour is in ``test_compiler.py`` and the sightglass and
wasi-testsuite suites.
"""

from __future__ import annotations

import os
from pathlib import Path

import llvmlite.binding as llvm
import pytest

from wasmlite.binary.decoder import decode_module
from wasmlite.compiler import module_ir
from wasmlite.compiler.codegen import _init

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("WASMLITE_SHARED") or REPO_ROOT.parent / "shared").resolve()
SIGHTGLASS = SHARED / "benchmarks" / "sightglass"
WASI = SHARED / "wasi-testsuite"

def _sightglass_modules() -> list[str]:
    return sorted(str(p.relative_to(SIGHTGLASS)) for p in SIGHTGLASS.glob("*/*.wasm"))


def _wasi_modules() -> list[str]:
    picked = []
    for lang in ("c", "rust", "assemblyscript"):
        picked += sorted(str(p.relative_to(WASI)) for p in
                         (WASI / lang / "wasm32-wasip1").glob("*.wasm"))[:4]
    return picked


def _verify(path: Path) -> int:
    _init()
    info = decode_module(path.read_bytes())
    ir = module_ir(info, opt_level="0")
    mod = llvm.parse_assembly(ir, context=llvm.create_context())
    mod.verify()
    names = {f.name for f in mod.functions}
    nimp = info.num_imported_funcs
    assert all(f"wasm_func_{nimp + i}" in names for i in range(len(info.funcs)))
    return len(info.funcs)


needs_shared = pytest.mark.skipif(not SIGHTGLASS.is_dir(),
                                  reason=f"shared data not found at {SHARED}")


@needs_shared
@pytest.mark.parametrize("name", _sightglass_modules() if SIGHTGLASS.is_dir() else [])
def test_sightglass_module_translates_to_valid_ir(name):
    assert _verify(SIGHTGLASS / name) > 0


@needs_shared
@pytest.mark.parametrize("name", _wasi_modules() if WASI.is_dir() else [])
def test_wasi_module_translates_to_valid_ir(name):
    assert _verify(WASI / name) > 0
