"""Lexer of the WebAssembly text format (spec §6.2, "Lexical Format").

:func:`tokenize` turns source text into a :class:`Tokens` stream of four kinds of token:

* ``LPAREN`` / ``RPAREN``: ``(`` and ``)``;
* ``ATOM``: a maximal run of ``idchar`` (spec §6.3.5) — keywords (``i32.add``,
  ``offset=8``), identifiers (``$x``), numbers (``-0x1p-3``, ``nan:0x1``) and reserved
  words are all atoms; the parser decides what an atom means where it reads it;
* ``STRING``: a string literal, stored as its decoded ``bytes`` (spec §6.3.3).

White space, line comments ``;; ...``, nested block comments ``(; ... ;)`` and
annotations ``(@id ...)`` (the annotations proposal; their contents are skipped) do
not produce tokens.  Errors are :class:`~wasmlite.text.errors.WatError` at the
``line:column`` of the offending character.
"""

from __future__ import annotations

import re

from wasmlite.text.errors import WatError

__all__ = ["LPAREN", "RPAREN", "ATOM", "STRING", "Tokens", "tokenize", "decode_string"]

LPAREN = 0
RPAREN = 1
ATOM = 2
STRING = 3

_IDCHARS = r"0-9A-Za-z!#$%&'*+\-./:<=>?@\\^_`|~"

_ATOM_RE = re.compile(r"[" + _IDCHARS + r"]+")
_FAST_RE = re.compile(
    r"[ \t\n\r]*(?:;;[^\n\r]*[ \t\n\r]*)*"
    r"(?:(\(;|\(@)|(\()|(\))"
    r'|("[^"\\\n]*(?:\\.[^"\\\n]*)*")'
    r"|([" + _IDCHARS + r"]+)"
    r"|(.|\Z))", re.S)
_BLOCK_COMMENT_RE = re.compile(r"\(;|;\)")
_ESCAPE_RE = re.compile(r"\\(?:([0-9a-fA-F]{2})|u\{([0-9a-fA-F](?:_?[0-9a-fA-F])*)\}|(.))", re.S)
_SIMPLE_ESCAPES = {"t": b"\t", "n": b"\n", "r": b"\r", '"': b'"', "'": b"'", "\\": b"\\"}
_BAD_STRING_CHAR_RE = re.compile(r"[\x00-\x1f\x7f]")


class Tokens:
    """The token stream of one source text.

    ``kinds[i]``, ``values[i]`` and ``positions[i]`` describe token ``i``: its kind
    (``LPAREN``, ``RPAREN``, ``ATOM``, ``STRING``), its value (the atom's text, the
    string's decoded ``bytes``, ``None`` for parentheses) and its character offset in
    ``text``.  An extra end-of-input position is appended to ``positions``.
    """

    __slots__ = ("text", "kinds", "values", "positions")

    def __init__(self, text: str, kinds: list[int], values: list, positions: list[int]):
        self.text = text
        self.kinds = kinds
        self.values = values
        self.positions = positions

    def __len__(self) -> int:
        return len(self.kinds)

    def line_col(self, index: int) -> tuple[int, int]:
        """1-based ``(line, column)`` of token ``index`` (end of input past the last)."""
        pos = self.positions[min(index, len(self.positions) - 1)]
        return line_col(self.text, pos)

    def error(self, message: str, index: int) -> WatError:
        """A :class:`WatError` located at token ``index``."""
        line, col = self.line_col(index)
        return WatError(message, line, col)


def line_col(text: str, pos: int) -> tuple[int, int]:
    """1-based ``(line, column)`` of character offset ``pos`` in ``text``."""
    line = text.count("\n", 0, pos) + 1
    col = pos - (text.rfind("\n", 0, pos) + 1) + 1
    return line, col


def _error_at(text: str, pos: int, message: str) -> WatError:
    line, col = line_col(text, pos)
    return WatError(message, line, col)


def decode_string(text: str, pos: int, raw: str) -> bytes:
    """Decode the body ``raw`` of a string literal (without its quotes) to bytes.

    ``pos`` is the offset of the opening quote in ``text``, for error positions.
    Spec §6.3.3: characters are encoded in UTF-8; escapes are ``\\t \\n \\r \\" \\' \\\\``,
    ``\\hh`` (one byte) and ``\\u{hex}`` (a Unicode scalar value, in UTF-8).
    """
    bad = _BAD_STRING_CHAR_RE.search(raw)
    if bad:
        raise _error_at(text, pos + 1 + bad.start(), "illegal character in string")
    if "\\" not in raw:
        return raw.encode("utf-8", "surrogatepass")
    out = bytearray()
    last = 0
    for m in _ESCAPE_RE.finditer(raw):
        out += raw[last:m.start()].encode("utf-8", "surrogatepass")
        last = m.end()
        hh, uni, other = m.groups()
        if hh is not None:
            out.append(int(hh, 16))
        elif uni is not None:
            code = int(uni.replace("_", ""), 16)
            if code > 0x10FFFF or 0xD800 <= code < 0xE000:
                raise _error_at(text, pos + 1 + m.start(), "malformed unicode escape")
            out += chr(code).encode("utf-8")
        elif other in _SIMPLE_ESCAPES:
            out += _SIMPLE_ESCAPES[other]
        else:
            raise _error_at(text, pos + 1 + m.start(), "unknown escape in string")
    out += raw[last:].encode("utf-8", "surrogatepass")
    return bytes(out)


def tokenize(source: str | bytes) -> Tokens:
    """Split WebAssembly text into tokens (spec §6.2).

    ``source`` may be ``str`` or UTF-8 ``bytes`` (invalid UTF-8 raises
    ``WatError("malformed UTF-8 encoding")``).  Raises :class:`WatError` for characters
    that cannot start a token, unterminated strings or block comments, bad escapes and
    tokens that are not separated (``"a""b"``, ``x"a"``).
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        raw = bytes(source)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            prefix = raw[:e.start].decode("utf-8")
            raise _error_at(prefix, len(prefix), "malformed UTF-8 encoding") from None
    else:
        text = source
    kinds: list[int] = []
    values: list = []
    positions: list[int] = []
    add_kind = kinds.append
    add_value = values.append
    add_pos = positions.append
    n = len(text)
    pos = 0
    depth_ann = 0  # > 0 while inside an annotation: its tokens are dropped
    prev_end = -1  # end offset of the previous ATOM/STRING token
    while True:
        restart = -1
        for m in _FAST_RE.finditer(text, pos):
            li = m.lastindex
            if li == 5:  # atom
                start = m.start(5)
                if start == prev_end:
                    raise _error_at(text, start, "unknown operator: tokens must be separated")
                prev_end = m.end()
                if not depth_ann:
                    add_kind(ATOM)
                    add_value(m.group(5))
                    add_pos(start)
            elif li == 2:
                if depth_ann:
                    depth_ann += 1
                else:
                    add_kind(LPAREN)
                    add_value(None)
                    add_pos(m.start(2))
            elif li == 3:
                if depth_ann:
                    depth_ann -= 1
                else:
                    add_kind(RPAREN)
                    add_value(None)
                    add_pos(m.start(3))
            elif li == 4:  # string
                start = m.start(4)
                if start == prev_end:
                    raise _error_at(text, start, "unknown operator: tokens must be separated")
                end = prev_end = m.end()
                value = decode_string(text, start, text[start + 1:end - 1])
                if not depth_ann:
                    add_kind(STRING)
                    add_value(value)
                    add_pos(start)
            elif li == 1:  # "(;" or "(@"
                start = m.start(1)
                if text[start + 1] == ";":
                    restart = _skip_block_comment(text, start)
                else:
                    am = _ATOM_RE.match(text, start + 2)
                    if am is None:
                        raise _error_at(text, start + 2, "malformed annotation id")
                    depth_ann += 1
                    restart = am.end()
                break
            else:  # end of input, or a character that starts no token
                start = m.start(6)
                if start < n:
                    ch = text[start]
                    if ch == '"':
                        raise _error_at(text, start, "unterminated string")
                    raise _error_at(text, start, f"unexpected character {ch!r}")
                break
        if restart < 0:
            break
        pos = restart
    if depth_ann:
        raise _error_at(text, n, "unterminated annotation")
    positions.append(n)
    return Tokens(text, kinds, values, positions)


def _skip_block_comment(text: str, pos: int) -> int:
    """Offset just past the block comment that starts at ``pos`` (comments nest)."""
    depth = 0
    i = pos
    search = _BLOCK_COMMENT_RE.search
    while True:
        m = search(text, i)
        if m is None:
            raise _error_at(text, pos, "unterminated block comment")
        if m.group() == "(;":
            depth += 1
        else:
            depth -= 1
            if depth == 0:
                return m.end()
        i = m.end()
