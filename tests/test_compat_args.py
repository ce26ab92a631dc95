"""Bad arguments get wasmtime-py's exception (issue 8, item 5), checked side by side.

``compat_args_table.py`` lists every public callable that wasmlite shares with
wasmtime-py 50 (constructors, methods, properties, class methods) and every parameter
with its kind; each kind has bad values (a wrong type, ``None``, a closed object, an
object of another store).  A case calls one callable with one bad argument (or with its
receiver closed).  The wasmtime-py outcome of every case is computed live in a child
process (:func:`wasmtime_outcomes`): wasmtime-py 50 aborts the interpreter with a Rust
panic for some (an object used with another store), so each of those runs in a forked
grandchild, and the child is restarted after any case that still kills it.  The
wasmlite outcome is computed in this process — it must never crash.

A case passes when wasmlite raises an instance of the exception type wasmtime-py raised
(``TypeError``, ``AttributeError``, ``ValueError``, ``WasmtimeError``,
``ctypes.ArgumentError`` ...), or returns where wasmtime-py returned.  Where
wasmtime-py aborts, wasmlite's documented behaviour is asserted instead:
``WasmtimeError("object used with the wrong store")``.  Messages are compared where
wasmtime-py's are its own or Wasmtime's (see :func:`message_is_stable`).
"""

from __future__ import annotations

import ast
import builtins
import ctypes
import json
import os
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import compat_args_table as T
import pytest
import wasmtime

import wasmlite

CASES = T.cases()
TABLE = Path(T.__file__)


@pytest.fixture(scope="module")
def wasmtime_outcomes() -> dict[str, dict[str, Any]]:
    """The outcome of every case under wasmtime-py, by case id: run
    ``compat_args_table.py wasmtime START`` and start it again after a case that
    killed it (recorded as ``{"abort": returncode}``)."""
    env = {**os.environ, "RUST_BACKTRACE": "0"}
    results: dict[int, dict[str, Any]] = {}
    start = 0
    while start < len(CASES):
        proc = subprocess.run([sys.executable, str(TABLE), "wasmtime", str(start)],
                              capture_output=True, text=True, timeout=300, env=env)
        running = None
        for line in proc.stdout.splitlines():
            data = json.loads(line)
            if "start" in data:
                running = data["start"]
            else:
                results[data.pop("i")] = data
                running = None
        if running is None:
            assert proc.returncode == 0, proc.stderr
            break
        results[running] = {"abort": proc.returncode, "panic": proc.stderr.strip()[-300:]}
        start = running + 1
    assert len(results) == len(CASES), "the wasmtime-py run did not finish"
    return {case.id: results[i] for i, case in enumerate(CASES)}


@pytest.fixture(scope="module")
def lite_base() -> T.Base:
    return T.Base(wasmlite)


def exception_type(name: str) -> type[BaseException]:
    """wasmlite's counterpart of the wasmtime-py exception type called ``name``."""
    if name in ("WasmtimeError", "Trap", "ExitTrap"):
        return getattr(wasmlite, name)
    if name == "ctypes.ArgumentError":
        return ctypes.ArgumentError
    return getattr(builtins, name)


@cache
def _wasmtime_py_messages() -> tuple[str, ...]:
    """The constant beginnings of the messages wasmtime-py raises itself (string
    literals in ``raise X("...")`` and ``raise X("..." % ...)`` of its sources)."""
    prefixes = set()
    for path in Path(wasmtime.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call)
                    and node.exc.args):
                continue
            arg = node.exc.args[0]
            if isinstance(arg, ast.BinOp):
                arg = arg.left
            if isinstance(arg, ast.JoinedStr) and arg.values:
                arg = arg.values[0]
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                text = arg.value.split("%")[0].split("{")[0]
                if len(text) >= 5:
                    prefixes.add(text)
    return tuple(sorted(prefixes))


def message_is_stable(exc: str, msg: str) -> bool:
    """Whether wasmtime-py's message for this outcome is worth matching word for word:
    every ``ValueError`` and ``WasmtimeError`` ("already closed", Wasmtime's errors) and
    any ``TypeError`` whose text wasmtime-py raises itself ("expected a FuncType", "don't
    know how to convert ...").  Not: ``AttributeError`` and ``ctypes.ArgumentError``,
    whose texts name wasmtime-py's internals (``'int' object has no attribute
    '_context'``, ctypes' argument numbers), Python's own ``TypeError`` texts, and texts
    holding an object's address."""
    if "object at 0x" in msg:
        return False
    if exc in ("ValueError", "WasmtimeError", "Trap"):
        return True
    return exc == "TypeError" and msg.startswith(_wasmtime_py_messages())


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_argument(case: T.Case, wasmtime_outcomes: dict[str, dict[str, Any]],
                      lite_base: T.Base) -> None:
    expected = wasmtime_outcomes[case.id]
    got, exc = T.run_case(lite_base, case)
    if "abort" in expected:
        # wasmtime-py 50 aborts the process; wasmlite raises its documented error
        assert expected["abort"] != 0
        assert isinstance(exc, wasmlite.WasmtimeError), (got, expected)
        assert str(exc).startswith(("object used with the wrong store",
                                    "cross-`Store` instantiation")), got
        return
    if "ok" in expected:
        assert exc is None, f"wasmtime-py accepts this; wasmlite raised {got}"
        return
    assert isinstance(exc, exception_type(expected["exc"])), (
        f"wasmtime-py raises {expected['exc']}: {expected['msg']!r}; wasmlite {got}")
    if message_is_stable(expected["exc"], expected["msg"]):
        assert got["msg"] == expected["msg"]


def test_wasmtime_py_messages_found() -> None:
    """The message rule above has something to work with."""
    messages = _wasmtime_py_messages()
    assert "expected a FuncType" in messages and "expected Limits" in messages
    assert message_is_stable("TypeError", "don't know how to convert 'x' to i32")
    assert not message_is_stable("TypeError", "'int' object is not iterable")


# -- the table covers the shared API -----------------------------------------------------
#: shared names that are not callables with arguments of their own
NOT_CALLABLES = {
    "Managed": "the abstract base class; its close/with protocol is checked per class",
    "Storelike": "a typing alias",
    "TrapCode": "an enum; TrapCode(value) is in the table, its members are constants",
}
#: constructors that are not public API in wasmtime-py (objects come from other calls)
NO_PUBLIC_CONSTRUCTOR = {
    "Caller": "made by wasmtime-py for a host call (its argument is a C pointer)",
    "ExportType": "made by Module.exports (wasmtime-py's takes a C pointer)",
    "ImportType": "made by Module.imports (wasmtime-py's takes a C pointer)",
    "Frame": "made by Trap.frames (wasmtime-py's takes a C pointer)",
    "InstancePre": "made by Linker.instantiate_pre",
    "Instance": None,  # public: in the table
    "Val": "Val(kind, value) takes wasmtime-py's C value kind; the class methods are public",
    "ExitTrap": "wasmtime-py's is WasmtimeError's (message); wasmlite's takes the exit "
                "code, which its WASI raises — made by proc_exit, not by users",
}
#: members inherited from Exception
EXCEPTION_MEMBERS = {"args", "add_note", "with_traceback"}


def test_table_covers_the_shared_api() -> None:
    """Every public callable wasmlite shares with wasmtime-py (found by introspection)
    is in the table, so a new method cannot be left out."""
    covered = {a.name.split("(")[0] + ("()" if a.how == "ctor" else "") for a in T.API}
    missing = []
    for name in sorted(set(dir(wasmtime)) & set(dir(wasmlite))):
        if name.startswith("_") or name in NOT_CALLABLES:
            continue
        ours, theirs = getattr(wasmlite, name), getattr(wasmtime, name)
        if not isinstance(theirs, type):
            if name not in covered:
                missing.append(name)
            continue
        if NO_PUBLIC_CONSTRUCTOR.get(name) is None and f"{name}()" not in covered:
            missing.append(f"{name}()")
        members = {m for m in dir(theirs) if not m.startswith("_")}
        members &= {m for m in dir(ours) if not m.startswith("_")}
        for m in sorted(members - EXCEPTION_MEMBERS):
            if f"{name}.{m}" not in covered:
                missing.append(f"{name}.{m}")
    assert missing == []


def test_case_count() -> None:
    """The table is systematic: every parameter of every callable gets its bad values
    (the figure goes into the report)."""
    params = sum(len(a.params) for a in T.API)
    assert len(T.API) >= 150 and params >= 100 and len(CASES) >= 700
