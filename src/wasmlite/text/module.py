"""Top-level module forms: ``(module ...)``, inline modules, ``binary`` and ``quote``.

* :func:`wat2wasm` – WebAssembly text (spec §6) to a binary module;
* :func:`parse_module_form` – read one ``(module ...)`` form from a token stream, in any
  of the shapes the WAST script format uses (``(module $id? field*)``,
  ``(module $id? binary "..."*)``, ``(module $id? quote "..."*)``), for a WAST runner
  that tokenizes a whole script with :func:`wasmlite.text.lexer.tokenize`.
"""

from __future__ import annotations

from dataclasses import dataclass

from wasmlite.text.lexer import ATOM, LPAREN, RPAREN, STRING, Tokens, tokenize
from wasmlite.text.parser import ModuleParser

__all__ = ["ModuleForm", "parse_module_form", "wat2wasm"]


@dataclass
class ModuleForm:
    """One ``(module ...)`` form.

    ``kind`` is ``"text"`` (fields, already encoded into ``binary``), ``"binary"``
    (``binary`` holds the concatenated strings, not checked) or ``"quote"`` (``quote``
    holds the concatenated strings: module text parsed only by :meth:`to_binary`).
    ``name`` is the module's ``$id`` or ``None``; ``line``/``column`` locate the form.
    """

    kind: str
    name: str | None
    binary: bytes | None = None
    quote: bytes | None = None
    line: int = 0
    column: int = 0

    def to_binary(self, memory64: bool = True) -> bytes:
        """The binary module; a ``quote`` form is parsed now (may raise :class:`WatError`;
        ``memory64``: see :func:`wat2wasm`)."""
        if self.binary is not None:
            return self.binary
        assert self.quote is not None
        return wat2wasm(self.quote, memory64=memory64)


def parse_module_form(tokens: Tokens, index: int,
                      memory64: bool = True) -> tuple[ModuleForm, int]:
    """Read the ``(module ...)`` form at token ``index``: ``(form, index past its ')')``
    (``memory64``: see :func:`wat2wasm`).

    Raises :class:`WatError` when the form is malformed (for ``quote`` forms only the
    outer shape is checked here).
    """
    k = tokens.kinds
    v = tokens.values
    line, col = tokens.line_col(index)
    if not (index + 1 < len(k) and k[index] == LPAREN and k[index + 1] == ATOM
            and v[index + 1] == "module"):
        raise tokens.error("unexpected token: expected '(module'", index)
    i = index + 2
    name = None
    # ``(module definition $id? ...)``: the wast script's module that is compiled only
    if i < len(k) and k[i] == ATOM and v[i] == "definition":
        i += 1
    if i < len(k) and k[i] == ATOM and v[i].startswith("$") and len(v[i]) > 1:
        name = v[i]
        i += 1
    if i < len(k) and k[i] == ATOM and v[i] in ("binary", "quote"):
        kind = v[i]
        i += 1
        chunks = []
        while i < len(k) and k[i] == STRING:
            chunks.append(v[i])
            i += 1
        if i >= len(k) or k[i] != RPAREN:
            raise tokens.error("unexpected token: expected a string or ')'", i)
        data = b"".join(chunks)
        if kind == "binary":
            return ModuleForm("binary", name, binary=data, line=line, column=col), i + 1
        return ModuleForm("quote", name, quote=data, line=line, column=col), i + 1
    p = ModuleParser(tokens, i, name=name, memory64=memory64).parse()
    return ModuleForm("text", name, binary=p.encode(), line=line, column=col), p.end


def wat2wasm(text: str | bytes, memory64: bool = True) -> bytes:
    """Translate WebAssembly text to the binary format (spec §6 → §5).

    ``text`` is one module: ``(module ...)`` (including the ``binary``/``quote`` forms)
    or a bare sequence of module fields.  Returns the module's bytes; the result is not
    validated.  Raises :class:`WatError` (``"<line>:<column>: <problem>"``) for
    malformed text, e.g. an unknown instruction, an unbound identifier or a constant
    out of range.  ``memory64`` (WebAssembly 3.0, the default) reads limits and
    ``offset=`` as 64-bit numbers and accepts ``i64`` memories and tables; false keeps
    2.0's grammar ("constant out of range: i32 constant").
    """
    tokens = tokenize(text)
    k = tokens.kinds
    if (len(k) >= 2 and k[0] == LPAREN and k[1] == ATOM and tokens.values[1] == "module"):
        form, end = parse_module_form(tokens, 0, memory64)
        if end != len(k):
            raise tokens.error("unexpected token after the module", end)
        return form.to_binary(memory64)
    p = ModuleParser(tokens, 0, inline=True, memory64=memory64).parse()
    return p.encode()


