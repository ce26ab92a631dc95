"""A second shrinking pass over the text of a module, line by line.

``wasm-tools shrink`` removes functions, exports, segments and whole blocks well, but
leaves long instruction sequences behind (dead code after a ``br`` stays, as does code
that only feeds a dropped value).  :func:`reduce_lines` takes the ``wasm-tools print``
text of the shrunk module and deletes runs of lines, halving the run length down to
one line (the line-based "ddmin" of delta debugging), keeping a deletion when the text
still assembles, validates as WebAssembly 2.0 and the predicate still holds.
"""

from __future__ import annotations

from collections.abc import Callable

from fuzz import tools


def assemble(text: str) -> bytes | None:
    """``wasm-tools parse`` of ``text`` if it assembles and validates as wasm2."""
    res = tools.run_tool("parse", stdin=text.encode())
    if res.returncode != 0:
        return None
    wasm = bytes(res.stdout)
    return wasm if tools.validate_wasm2(wasm) is None else None


def reduce_lines(text: str, interesting: Callable[[bytes], bool],
                 max_attempts: int = 400) -> tuple[str, bytes | None]:
    """The smallest text found (and its binary) whose module is still
    ``interesting``; ``None`` for the binary if ``text`` itself is not valid."""
    lines = text.splitlines()
    best = assemble(text)
    if best is None:
        return text, None
    attempts = 0
    chunk = max(1, len(lines) // 2)
    while chunk >= 1 and attempts < max_attempts:
        i = 0
        while i < len(lines) and attempts < max_attempts:
            candidate = lines[:i] + lines[i + chunk:]
            attempts += 1
            wasm = assemble("\n".join(candidate))
            if wasm is not None and interesting(wasm):
                lines, best = candidate, wasm
            else:
                i += chunk
        chunk //= 2
    return "\n".join(lines) + "\n", best
