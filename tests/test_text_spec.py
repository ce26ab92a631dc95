"""The text-format parser against the spec testsuite and ``wasmtime.wat2wasm``.

For every ``(module ...)`` form in ``wasm-spec/2.0/*.wast`` (top level, and inside
``assert_invalid``/``assert_trap``/``assert_unlinkable`` …), extracted with the small
s-expression scanner below (independent of ``wasmlite.text``):

* text modules that ``wasmtime.wat2wasm`` accepts must come out of
  :func:`wasmlite.text.wat2wasm` byte-identical, or equal once both binaries are decoded
  with :func:`wasmlite.binary.decode_module` (types, imports, functions, tables,
  memories, globals, exports, start, segments and every body's instruction list,
  offsets and the ``name`` section left out);
* ``(module binary ...)`` forms must give wasmtime's bytes;
* every ``(assert_malformed (module quote ...))`` must be rejected with a ``WatError``.

``python tests/test_text_spec.py`` prints the overall figures and every module that is
not byte-identical.
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from conftest import shared_dir  # noqa: E402

from wasmlite.binary import decode_module, read_function_body  # noqa: E402
from wasmlite.errors import WasmtimeError  # noqa: E402
from wasmlite.text import WatError, parse_module_form, tokenize, wat2wasm  # noqa: E402

SPEC_DIR = shared_dir() / "wasm-spec" / "2.0"
WAST_FILES = sorted(SPEC_DIR.glob("*.wast"))

_SCAN_RE = re.compile(r'\(;|;;[^\n]*|"(?:[^"\\]|\\.)*"|\(|\)', re.S)
_COMMENT_RE = re.compile(r"\(;|;\)")
_HEAD_RE = re.compile(r"\(\s*([a-z_]+)(?:\s+(\$[^\s()]+))?(?:\s+(binary|quote)\b)?")


def _forms(text: str, start: int = 0, end: int | None = None):
    """Spans ``(start, end)`` of the parenthesised forms directly inside ``text[start:end]``."""
    end = len(text) if end is None else end
    depth = 0
    form_start = 0
    pos = start
    while True:
        m = _SCAN_RE.search(text, pos, end)
        if m is None:
            return
        tok = m.group()
        pos = m.end()
        if tok == "(;":
            nesting = 1
            while nesting:
                c = _COMMENT_RE.search(text, pos)
                pos = c.end()
                nesting += 1 if c.group() == "(;" else -1
        elif tok == "(":
            if depth == 0:
                form_start = m.start()
            depth += 1
        elif tok == ")":
            depth -= 1
            if depth == 0:
                yield form_start, pos


def _head(text: str, pos: int) -> tuple[str | None, str | None]:
    m = _HEAD_RE.match(text, pos)
    return (m.group(1), m.group(3)) if m else (None, None)


def module_forms(path: Path) -> list[tuple[str, str]]:
    """``(context, module text)`` for each module form of a .wast file.

    ``context`` is ``"module"`` for top-level forms or the enclosing command
    (``"assert_invalid"`` …), followed by ``"/binary"`` or ``"/quote"`` for those forms.
    """
    text = path.read_text(encoding="utf-8")
    out = []
    for s, e in _forms(text):
        kw, sub = _head(text, s)
        if kw == "module":
            out.append(("module" + (f"/{sub}" if sub else ""), text[s:e]))
        elif kw and kw.startswith("assert_"):
            for s2, e2 in _forms(text, s + 1, e - 1):
                kw2, sub2 = _head(text, s2)
                if kw2 == "module":
                    out.append((kw + (f"/{sub2}" if sub2 else ""), text[s2:e2]))
    return out


def comparable(binary: bytes) -> dict:
    """Everything of a decoded module except offsets, custom sections and names."""
    info = decode_module(binary)

    def expr(e):
        return None if e is None else [(op, imm) for op, imm, _ in e]

    return {
        "types": info.types,
        "imports": [(i.module, i.name, i.kind, i.desc) for i in info.imports],
        "funcs": info.funcs,
        "tables": info.tables,
        "memories": info.memories,
        "globals": [(g.type, expr(g.init)) for g in info.globals],
        "exports": [(e.name, e.kind, e.index) for e in info.exports],
        "start": info.start,
        "elems": [(s.mode, s.type, [expr(x) for x in s.items], s.table, expr(s.offset))
                  for s in info.elems],
        "datas": [(d.mode, d.data, d.memory, expr(d.offset)) for d in info.datas],
        "bodies": [(c.locals, [(op, imm) for op, imm, _ in read_function_body(info, i)])
                   for i, c in enumerate(info.codes)],
    }


def compare_text_module(wasmtime, text: str) -> tuple[str, str]:
    """``(outcome, detail)``: outcome is ``"skipped"`` (wasmtime rejects the text),
    ``"identical"``, ``"equal after decode"`` or ``"differ"``."""
    try:
        ref = bytes(wasmtime.wat2wasm(text))
    except Exception as e:  # wasmtime.WasmtimeError
        return "skipped", str(e).splitlines()[0]
    try:
        ours = wat2wasm(text)
    except WatError as e:
        return "differ", f"we reject it: {e}"
    if ours == ref:
        return "identical", ""
    try:
        a, b = comparable(ref), comparable(ours)
    except WasmtimeError as e:
        return "differ", f"decode failed: {e}"
    if a == b:
        return "equal after decode", ""
    return "differ", "fields differ: " + ", ".join(k for k in a if a[k] != b[k])


def quote_rejected(text: str) -> bool:
    """Whether ``wasmlite.text`` rejects the module of a ``(module quote ...)`` form."""
    try:
        # the 2.0 suite's grammar: u32 limits and offsets (3.0's memory64 reads u64s)
        form, _ = parse_module_form(tokenize(text), 0, memory64=False)
        form.to_binary(memory64=False)
    except WatError:
        return True
    return False


def _file_id(path: Path) -> str:
    return path.stem


@pytest.fixture(scope="module")
def wasmtime():
    return pytest.importorskip("wasmtime", reason="wasmtime-py is the reference wat2wasm")


@pytest.mark.skipif(not WAST_FILES, reason=f"spec testsuite not found in {SPEC_DIR}")
@pytest.mark.parametrize("path", WAST_FILES, ids=_file_id)
def test_spec_file(path: Path, wasmtime) -> None:
    """Every module form of one .wast file, as described in the module docstring."""
    problems = []
    for context, text in module_forms(path):
        sub = context.partition("/")[2]
        if sub == "quote":
            if context.startswith("assert_malformed"):
                if not quote_rejected(text):
                    problems.append(f"accepted malformed module: {text[:200]}")
            elif quote_rejected(text):
                problems.append(f"rejected quoted module: {text[:200]}")
            continue
        if sub == "binary":
            if wat2wasm(text) != bytes(wasmtime.wat2wasm(text)):
                problems.append(f"binary form differs: {text[:200]}")
            continue
        outcome, detail = compare_text_module(wasmtime, text)
        if outcome == "differ":
            problems.append(f"{detail}: {text[:300]}")
    assert not problems, "\n".join(problems)


def test_scanner_finds_modules(tmp_path: Path) -> None:
    """The scanner itself: nested forms, comments and strings with parentheses."""
    text = ('(module $a (func)) ;; (module)\n(; (module) ;)\n'
            '(assert_invalid (module quote "(") "x")\n(register "a)" $a)\n'
            '(assert_malformed (module binary "\\00asm") "y")')
    src = tmp_path / "x.wast"
    src.write_text(text)
    assert module_forms(src) == [("module", "(module $a (func))"),
                                 ("assert_invalid/quote", '(module quote "(")'),
                                 ("assert_malformed/binary", '(module binary "\\00asm")')]


def main() -> None:  # pragma: no cover - reporting tool
    import wasmtime

    counts: Counter[str] = Counter()
    details = []
    for path in WAST_FILES:
        for context, text in module_forms(path):
            sub = context.partition("/")[2]
            if sub == "quote":
                if context.startswith("assert_malformed"):
                    counts["malformed quote"] += 1
                    if quote_rejected(text):
                        counts["malformed quote rejected"] += 1
                    else:
                        details.append((path.name, "accepted malformed", text[:200]))
                else:
                    counts["other quote forms"] += 1
                    counts["other quote forms accepted"] += not quote_rejected(text)
                continue
            if sub == "binary":
                counts["binary forms"] += 1
                if wat2wasm(text) == bytes(wasmtime.wat2wasm(text)):
                    counts["binary forms identical"] += 1
                continue
            outcome, detail = compare_text_module(wasmtime, text)
            counts[f"text modules: {outcome}"] += 1
            if outcome != "identical":
                details.append((path.name, outcome, detail, text[:200]))
    for k in sorted(counts):
        print(f"{k}: {counts[k]}")
    for d in details:
        print(*d, sep=" | ")


if __name__ == "__main__":  # pragma: no cover
    main()
