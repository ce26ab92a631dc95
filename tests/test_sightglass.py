"""Sightglass benchmark programs as correctness tests (no timing).

Each program of ``$WASMLITE_SHARED/benchmarks/sightglass`` runs
once under wasmlite through the harness ``benchmarks/sightglass.py`` (in a subprocess,
with its directory preopened as ``.`` and ``bench.start``/``bench.end`` defined), and
must exit with status 0 and print exactly its ``*.stdout.expected`` /
``*.stderr.expected``.  Speed is measured by ``benchmarks/sightglass.py`` itself.

Opt level: most programs run at the engine's default level (2).  The few in
:data:`COMPILED_AT_O0` run at ``-O 0``: at level 2 their compilation alone takes
10-115 s each on the development box (``benchmarks/sightglass.py`` prints the figures),
over 80 % of the whole set's compile time, which would dominate a 2-core CI run; at
level 0 the whole set takes about a minute.  ``WASMLITE_SIGHTGLASS_OPT_LEVEL`` (0, 1, 2,
s) runs every program at that level instead.
"""

from __future__ import annotations

import importlib.util
import os
import sys

import pytest
from conftest import REPO_ROOT, subprocess_timeout

_spec = importlib.util.spec_from_file_location(
    "sightglass_harness", REPO_ROOT / "benchmarks" / "sightglass.py")
sightglass = importlib.util.module_from_spec(_spec)
sys.modules["sightglass_harness"] = sightglass
_spec.loader.exec_module(sightglass)


#: Programs whose compile at level 2 is too slow for CI; checked at -O 0 (see above).
COMPILED_AT_O0 = frozenset({"bz2", "pulldown-cmark", "regex", "rust-json", "shootout-ed25519",
                            "shootout-switch"})
FORCED_OPT_LEVEL = os.environ.get("WASMLITE_SIGHTGLASS_OPT_LEVEL") or None


def opt_level_for(name: str) -> str | None:
    """The ``--opt-level`` a program runs at in this test (``None``: the default)."""
    if FORCED_OPT_LEVEL:
        return FORCED_OPT_LEVEL
    return "0" if name in COMPILED_AT_O0 else None


def _params() -> list:
    programs = sightglass.discover()
    if not programs:
        return [pytest.param(None, marks=pytest.mark.skip(
            reason=f"no programs under {sightglass.sightglass_dir()} (set WASMLITE_SHARED)"))]
    return [pytest.param(p, id=p.name) for p in programs]


def test_discovery_finds_every_program() -> None:
    """Each directory (but the excluded ones) contributes at least one program."""
    root = sightglass.sightglass_dir()
    if not root.is_dir():
        pytest.skip(f"no sightglass directory at {root} (set WASMLITE_SHARED)")
    dirs = {p.name for p in root.iterdir() if p.is_dir()} - set(sightglass.EXCLUDED)
    found = {p.directory.name for p in sightglass.discover()}
    assert found == dirs


@pytest.mark.parametrize("program", _params())
def test_sightglass(program: sightglass.Program) -> None:
    result = sightglass.run_isolated(program, "wasmlite", opt_level_for(program.name),
                                     timeout=subprocess_timeout())
    assert result.error is None, result.error
    assert not result.mismatches, "\n".join(result.mismatches)
    assert result.ok
    assert result.run_s is not None  # the program reached bench.start and bench.end


def test_o0_list_names_programs() -> None:
    """The -O 0 list only names programs that exist (it can only shrink)."""
    names = {p.name for p in sightglass.discover()}
    if not names:
        pytest.skip(f"no programs under {sightglass.sightglass_dir()} (set WASMLITE_SHARED)")
    assert COMPILED_AT_O0 <= names
