"""The embedding examples (``examples/*.py``) and the Python snippets of ``docs/*.md``.

Each example runs as a subprocess of this interpreter (``cwd`` = repository root) and
its output is checked against values computed here independently (``math.gcd``, the
demo's expected output, ...).  Each example imports ``wasmlite as wasmtime`` unless
``WASMLITE_EXAMPLES_RUNTIME=wasmtime``; the same script is also run under wasmtime-py
(the reference, a test dependency) and the two outputs must be identical.

The fenced ```` ```python ```` blocks of one docs page are joined, in order, into one
script that runs as a subprocess and must exit with status 0 (the snippets check their
own results with ``assert``).  A block right after an ``<!-- not-run: REASON -->``
comment is left out (e.g. one that needs a file the reader has, or a sketch).
"""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO_ROOT, subprocess_timeout

EXAMPLES = REPO_ROOT / "examples"
DOCS = REPO_ROOT / "docs"
EXAMPLE_NAMES = ["gcd", "hello", "linking", "memory", "multi_value", "wasi"]


def run_python(args: list[str], runtime: str = "wasmlite") -> subprocess.CompletedProcess[str]:
    """Run ``python ARGS`` from the repository root with the examples' runtime switch."""
    env = dict(os.environ, WASMLITE_EXAMPLES_RUNTIME=runtime)
    env.pop("NAME", None)  # the WASI example passes NAME on to the guest
    try:
        return subprocess.run([sys.executable, *args], cwd=REPO_ROOT, env=env,
                              capture_output=True, text=True, timeout=subprocess_timeout())
    except subprocess.TimeoutExpired:
        pytest.fail(f"python {' '.join(args)} did not finish within {subprocess_timeout():.0f} s")


def run_example(name: str, *args: str, runtime: str = "wasmlite") -> list[str]:
    proc = run_python([str(EXAMPLES / f"{name}.py"), *args], runtime)
    assert proc.returncode == 0, f"examples/{name}.py under {runtime} failed:\n{proc.stderr}"
    return proc.stdout.splitlines()


def test_gcd() -> None:
    lines = run_example("gcd")
    pairs = [(int(a), int(b), int(r)) for a, b, r in
             (re.fullmatch(r"gcd\((\d+), (\d+)\) = (\d+)", ln).groups()  # type: ignore[union-attr]
              for ln in lines if ln.startswith("gcd("))]
    assert len(pairs) == 5
    for a, b, r in pairs:
        assert r == math.gcd(a, b), (a, b, r)
    lcms = [tuple(map(int, re.findall(r"\d+", ln))) for ln in lines if ln.startswith("lcm(")]
    assert lcms and all(r == math.lcm(a, b) for a, b, r in lcms)
    assert lines[0] == "gcd params: ['i32', 'i32'] results: ['i32']"
    assert lines[-1] == "error: too few parameters provided: given 1, expected 2"


def test_hello() -> None:
    assert run_example("hello") == [
        "Hello, world! (called from wasm)",
        f"log_i32: {6 * 7}",
        "log_i32: -1",  # i32 arguments arrive signed
        "print_str: Hello from WebAssembly memory!",  # read through the Caller's memory
        "log_i32: 123",
        "caught: raised in a host function",
    ]


def test_linking() -> None:
    lines = run_example("linking")
    step = 5
    assert lines[0] == ("app imports: ['counter::bump', 'counter::memory', 'counter::count', "
                        "'env::report', 'env::step']")
    assert lines[1:4] == [f"step {i}: counter = {step * (i + 1)}" for i in range(3)]
    assert lines[4:] == [
        f"total from app: {3 * step}",
        f"count global from Python: {3 * step}",
        "stored at 4*10: 10",  # bump stored each new count at 4*count
        f"memory bytes 60..64: {list((3 * step).to_bytes(4, 'little'))}",
        "error: unknown import: `env::missing` has not been defined",
    ]


def test_memory() -> None:
    lines = run_example("memory")
    page = 65536
    out = dict(ln.split(": ", 1) for ln in lines)
    assert out["limits"] == "min 2, max 3"
    assert out["size"] == f"2 pages = {2 * page} bytes"
    assert out["bytes at 0x1000"] == "[1, 2, 3, 4]"
    assert out["load(0x1002)"] == "3"
    assert out["load(0x2000), load(0x2001)"] == "255 16"
    assert out["read(0x3000)"] == "200"
    assert out["trap"] == "MEMORY_OUT_OF_BOUNDS - wasm trap: out of bounds memory access"
    assert "write past the end: IndexError" in lines
    assert out["read past the end"] == "2 bytes"
    assert out["grow from Python by 1, old size"] == "2"
    assert out["size now"] == "3"
    assert out["grow from wasm beyond the maximum"] == "-1"
    assert "grow from Python beyond the maximum: WasmtimeError" in lines
    assert out["the new page is zeroed and usable"] == "0"
    assert out["load(0x4000) after a buffer write"] == "99"
    assert out["buffer length"] == str(3 * page)


def test_multi_value() -> None:
    out = dict(ln.split(" = ", 1) for ln in run_example("multi_value") if " = " in ln)
    assert out["swap(1, 2**40)"] == str([2**40, 1])
    assert out["minmax(7, -3)"] == out["minmax(-3, 7)"] == "[-3, 7]"
    q, r = divmod(12345, 100)
    assert out["divmod_packed(12345, 100)"] == str(q * 1000 + r)
    assert out["split(3.25)"] == "[3, 0.25]"
    assert out["divmod(17, 5) from Python"] == str(list(divmod(17, 5)))


def test_wasi_demo_output() -> None:
    expected = (EXAMPLES / "demo.expected").read_text().splitlines()
    assert run_example("wasi") == [*expected, "[exit status 0]"]


def test_wasi_demo_args_and_preopen() -> None:
    lines = run_example("wasi", "/ex/demo.c")
    text = (EXAMPLES / "demo.c").read_bytes()
    nlines, nwords = text.count(b"\n"), len(text.split())
    assert 'argv[1] = "/ex/demo.c"' == lines[-3].strip()
    assert lines[-2] == f"/ex/demo.c: {nlines} lines, {nwords} words, {len(text)} bytes"
    assert lines[-1] == "[exit status 0]"


@pytest.mark.parametrize("name", EXAMPLE_NAMES)
def test_example_matches_wasmtime_py(name: str) -> None:
    """The same script prints the same under wasmtime-py (``import wasmtime``)."""
    pytest.importorskip("wasmtime", reason="wasmtime-py (the test extra) is not installed")
    args = ["/ex/demo.c"] if name == "wasi" else []
    assert run_example(name, *args) == run_example(name, *args, runtime="wasmtime")


# -- docs/*.md snippets ----------------------------------------------------------------
_FENCE = re.compile(r"^```python[ \t]*\n(.*?)^```[ \t]*$", re.M | re.S)
_NOT_RUN = re.compile(r"<!--\s*not-run:[^>]*-->\s*$")


def doc_snippets(path: Path) -> list[str]:
    """The ```` ```python ```` blocks of ``path`` that are not marked ``not-run``."""
    text = path.read_text(encoding="utf-8")
    blocks = []
    for m in _FENCE.finditer(text):
        before = text[:m.start()].rstrip("\n")
        if _NOT_RUN.search(before.splitlines()[-1] if before else ""):
            continue
        blocks.append(m.group(1))
    return blocks


DOC_PAGES = sorted(p for p in DOCS.glob("*.md") if p.name != "architecture.md")


def test_docs_pages_exist() -> None:
    names = {p.name for p in DOC_PAGES}
    for page in ("README.md", "engine-store-module.md", "functions.md", "memory.md",
                 "tables-globals.md", "values-and-types.md", "linking.md", "wasi.md",
                 "traps-and-errors.md", "interruption.md", "serialization-and-cache.md",
                 "cli.md"):
        assert page in names
    index = (DOCS / "README.md").read_text(encoding="utf-8")
    for p in DOC_PAGES:
        if p.name != "README.md":
            assert f"({p.name})" in index, f"docs/README.md does not link {p.name}"


@pytest.mark.parametrize("page", [p.name for p in DOC_PAGES if doc_snippets(p)])
def test_docs_snippets_run(page: str, tmp_path: Path) -> None:
    script = tmp_path / f"{Path(page).stem}_snippets.py"
    script.write_text("\n\n".join(doc_snippets(DOCS / page)), encoding="utf-8")
    proc = run_python([str(script)])
    assert proc.returncode == 0, (f"the python blocks of docs/{page} failed:\n"
                                  f"{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")
