"""A second shrinking pass over the text of a module, line by line.

``wasm-tools shrink`` removes functions, exports, segments and whole blocks well, but
leaves long instruction sequences behind (dead code after a ``br`` stays, as does code
that only feeds a dropped value).  :func:`reduce_lines` takes the ``wasm-tools print``
text of a module and, in rounds until nothing more goes or the attempts run out:

* deletes whole structured instructions (a ``block``/``loop``/``if`` line through its
  ``end``, found by the printer's indentation), and unwraps ``block``/``loop`` (deletes
  the opening line and its ``end`` only);
* deletes runs of lines, halving the run length down to one line (the line-based
  "ddmin" of delta debugging).

A change is kept when the text still assembles, validates as WebAssembly 2.0 and the
predicate still holds.
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


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _matching_end(lines: list[str], i: int) -> int | None:
    """The index of the ``end`` closing the structured instruction on line ``i``."""
    depth = _indent(lines[i])
    for j in range(i + 1, len(lines)):
        if _indent(lines[j]) == depth and lines[j].strip().split(" ")[0] == "end":
            return j
        if _indent(lines[j]) < depth:
            return None
    return None


class _Reducer:
    def __init__(self, lines: list[str], interesting: Callable[[bytes], bool], budget: int):
        self.lines = lines
        self.interesting = interesting
        self.budget = budget
        self.best: bytes | None = None

    def attempt(self, candidate: list[str]) -> bool:
        if self.budget <= 0:
            return False
        self.budget -= 1
        wasm = assemble("\n".join(candidate))
        if wasm is not None and self.interesting(wasm):
            self.lines, self.best = candidate, wasm
            return True
        return False

    def structured(self) -> bool:
        progress = False
        i = 0
        while i < len(self.lines) and self.budget > 0:
            word = self.lines[i].strip().split(" ")[0]
            end = _matching_end(self.lines, i) if word in ("block", "loop", "if") else None
            if end is not None:
                ls = self.lines
                if self.attempt(ls[:i] + ls[end + 1:]):
                    progress = True
                    continue
                if word != "if" and self.attempt(ls[:i] + ls[i + 1:end] + ls[end + 1:]):
                    progress = True
                    continue
            i += 1
        return progress

    def runs(self) -> bool:
        progress = False
        chunk = max(1, len(self.lines) // 2)
        while chunk >= 1 and self.budget > 0:
            i = 0
            while i < len(self.lines) and self.budget > 0:
                if self.attempt(self.lines[:i] + self.lines[i + chunk:]):
                    progress = True
                else:
                    i += chunk
            chunk //= 2
        return progress


def reduce_lines(text: str, interesting: Callable[[bytes], bool],
                 max_attempts: int = 400) -> tuple[str, bytes | None]:
    """The smallest text found (and its binary) whose module is still
    ``interesting``; ``None`` for the binary if ``text`` itself is not valid."""
    wasm = assemble(text)
    if wasm is None:
        return text, None
    r = _Reducer(text.splitlines(), interesting, max_attempts)
    r.best = wasm
    while r.budget > 0:
        a = r.structured()
        b = r.runs()
        if not (a or b):
            break
        # reprint, so that the indentation again shows the nesting
        assert r.best is not None
        r.lines = tools.to_wat(r.best).splitlines()
    return "\n".join(r.lines) + "\n", r.best
