"""Reading WAST scripts: commands, actions, argument constants and result patterns.

The script format is the one of the WebAssembly spec interpreter
(``interpreter/README.md`` of WebAssembly/spec, "Scripts")::

    script  ::= cmd*
    cmd     ::= module | (register "name" $id?) | action | assertion
    module  ::= (module $id? field*) | (module $id? binary "..."*) | (module $id? quote "..."*)
    action  ::= (invoke $id? "name" const*) | (get $id? "name")
    const   ::= (i32.const n) | (i64.const n) | (f32.const z) | (f64.const z)
              | (v128.const shape lit*) | (ref.null func|extern) | (ref.extern n)
    result  ::= const | (f32.const nan:canonical|nan:arithmetic) | (f64.const ...)
              | (v128.const fNxM lane-pattern*) | (ref.func) | (ref.extern) | (either result*)

The whole script is tokenized once with :func:`wasmlite.text.tokenize`; a
:class:`ScriptReader` walks the top-level forms and decodes the pieces of one command on
demand, so an error in one command is reported at its line and the next one still runs.
Errors are :class:`ScriptError`.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field

from wasmlite.text.lexer import ATOM, LPAREN, RPAREN, STRING, Tokens
from wasmlite.text.literals import (
    F32_FORMAT,
    F64_FORMAT,
    LiteralRangeError,
    parse_float_bits,
    parse_int,
)

__all__ = ["ScriptError", "ScriptReader", "Value", "Expected", "Action", "V128_SHAPES",
           "lane_values"]


class ScriptError(Exception):
    """A command the runner cannot read (bad constant, unknown command, ...)."""


#: v128 shape -> (lane count, lane bits, float format or None)
V128_SHAPES: dict[str, tuple[int, int, tuple[int, int] | None]] = {
    "i8x16": (16, 8, None), "i16x8": (8, 16, None), "i32x4": (4, 32, None),
    "i64x2": (2, 64, None), "f32x4": (4, 32, F32_FORMAT), "f64x2": (2, 64, F64_FORMAT),
}

_NUM_FORMATS = {"f32": F32_FORMAT, "f64": F64_FORMAT}
_NUM_BITS = {"i32": 32, "i64": 64, "f32": 32, "f64": 64}


@dataclass
class Value:
    """An argument constant.

    ``type`` is a valtype name (``"i32"`` … ``"v128"``, ``"funcref"``, ``"externref"``).
    ``raw`` is the value's bit pattern for numbers and v128 (an unsigned int of the
    type's width); for ``externref`` the number ``n`` of ``(ref.extern n)``; ``None``
    for a null reference.
    """

    type: str
    raw: int | None


@dataclass
class Expected:
    """A result pattern.

    ``kind`` is one of:

    * ``"bits"``: ``type`` is a number type and ``data`` the exact bit pattern;
    * ``"nan:canonical"`` / ``"nan:arithmetic"``: ``type`` ``f32`` or ``f64``;
    * ``"lanes"``: ``type`` ``v128``; ``data`` is ``(shape, [lane pattern])`` where a
      lane pattern is an ``int`` bit pattern or one of the two NaN pattern strings;
    * ``"null"``: a null reference of ``type`` (``funcref``/``externref``; ``"ref"``:
      any reference type, the pattern ``(ref.null)``);
    * ``"extern"``: ``(ref.extern n)``, ``data`` = ``n`` (``None``: any non-null);
    * ``"func"``: ``(ref.func)``: any non-null funcref;
    * ``"either"``: ``data`` is a list of :class:`Expected`, one of which must match.
    """

    type: str
    kind: str
    data: object = None

    def __str__(self) -> str:
        if self.kind == "bits":
            width = _NUM_BITS.get(self.type, 128) // 4
            return f"({self.type}.const 0x{self.data:0{width}x})"
        if self.kind.startswith("nan:"):
            return f"({self.type}.const {self.kind})"
        if self.kind == "lanes":
            shape, lanes = self.data  # type: ignore[misc]
            return f"(v128.const {shape} {' '.join(_lane_str(x) for x in lanes)})"
        if self.kind == "null":
            return f"(ref.null {self.type[:-3]})" if self.type != "ref" else "(ref.null)"
        if self.kind == "extern":
            return "(ref.extern)" if self.data is None else f"(ref.extern {self.data})"
        if self.kind == "func":
            return "(ref.func)"
        return "(either " + " ".join(str(e) for e in self.data) + ")"  # type: ignore[union-attr]


def _lane_str(x: object) -> str:
    return x if isinstance(x, str) else hex(x)  # type: ignore[arg-type]


@dataclass
class Action:
    """``(invoke $id? "name" const*)`` or ``(get $id? "name")``."""

    kind: str
    module: str | None
    name: str
    args: list[Value] = field(default_factory=list)


def lane_values(raw: int, shape: str) -> list[int]:
    """The lanes of the 128-bit ``raw`` in ``shape``, lane 0 first, as unsigned ints."""
    lanes, bits, _ = V128_SHAPES[shape]
    mask = (1 << bits) - 1
    return [(raw >> (bits * i)) & mask for i in range(lanes)]


class ScriptReader:
    """Walks the token stream of a script.

    ``forms()`` yields ``(head, start, end)`` for each top-level form: its head atom
    (``"module"``, ``"assert_return"``, ...), the index of its ``(`` and the index past
    its ``)``.  The ``read_*`` methods decode parts of a form starting at a token index
    and return ``(value, next index)``.
    """

    def __init__(self, tokens: Tokens):
        self.tokens = tokens
        self.kinds = tokens.kinds
        self.values = tokens.values
        self.match = self._match_parens()
        self._newlines: list[int] | None = None

    def _match_parens(self) -> dict[int, int]:
        """Index of each ``(`` -> index just past its ``)``."""
        match: dict[int, int] = {}
        stack: list[int] = []
        for i, k in enumerate(self.kinds):
            if k == LPAREN:
                stack.append(i)
            elif k == RPAREN:
                if not stack:
                    raise self.tokens.error("unexpected ')'", i)
                match[stack.pop()] = i + 1
        if stack:
            raise self.tokens.error("unclosed '('", stack[-1])
        return match

    def line(self, index: int) -> int:
        """The 1-based line of token ``index``."""
        if self._newlines is None:
            text = self.tokens.text
            self._newlines = [m.start() for m in re.finditer("\n", text)]
        pos = self.tokens.positions[min(index, len(self.tokens.positions) - 1)]
        return bisect.bisect_left(self._newlines, pos) + 1

    def forms(self):
        """Yield ``(head, start, end)`` for each top-level form (see the class doc)."""
        k = self.kinds
        i = 0
        n = len(k)
        while i < n:
            if k[i] != LPAREN:
                raise self.tokens.error("unexpected token: expected '('", i)
            end = self.match[i]
            head = self.values[i + 1] if i + 1 < n and k[i + 1] == ATOM else ""
            yield head, i, end
            i = end

    # -- helpers -----------------------------------------------------------------------
    def error(self, message: str, index: int) -> ScriptError:
        line, col = self.tokens.line_col(index)
        return ScriptError(f"{message} (at {line}:{col})")

    def is_form(self, i: int, *heads: str) -> bool:
        """Whether a form whose head is one of ``heads`` starts at ``i``."""
        k = self.kinds
        return (i + 1 < len(k) and k[i] == LPAREN and k[i + 1] == ATOM
                and (not heads or self.values[i + 1] in heads))

    def head(self, i: int) -> str | None:
        """The head atom of the form at ``i`` (``None`` if there is no form there)."""
        return self.values[i + 1] if self.is_form(i) else None

    def read_id(self, i: int) -> tuple[str | None, int]:
        """An optional ``$id`` at ``i``."""
        if i < len(self.kinds) and self.kinds[i] == ATOM and self.values[i].startswith("$"):
            return self.values[i], i + 1
        return None, i

    def read_string(self, i: int) -> tuple[str, int]:
        """A string at ``i``, decoded as UTF-8."""
        if i >= len(self.kinds) or self.kinds[i] != STRING:
            raise self.error("expected a string", i)
        try:
            return self.values[i].decode("utf-8"), i + 1
        except UnicodeDecodeError:
            raise self.error("malformed UTF-8 in a name", i) from None

    def expect_rparen(self, i: int) -> int:
        if i >= len(self.kinds) or self.kinds[i] != RPAREN:
            raise self.error("expected ')'", i)
        return i + 1

    def _atom(self, i: int) -> str:
        if i >= len(self.kinds) or self.kinds[i] != ATOM:
            raise self.error("expected an atom", i)
        return self.values[i]

    # -- actions -----------------------------------------------------------------------
    def read_action(self, i: int) -> tuple[Action, int]:
        """An ``(invoke ...)`` or ``(get ...)`` form at ``i``."""
        kind = self.head(i)
        if kind not in ("invoke", "get"):
            raise self.error("expected an action (invoke or get)", i)
        end = self.match[i]
        j = i + 2
        mod, j = self.read_id(j)
        name, j = self.read_string(j)
        args = []
        if kind == "invoke":
            while j < end - 1:
                v, j = self.read_const(j)
                args.append(v)
        self.expect_rparen(j)
        return Action(kind, mod, name, args), end

    def _num(self, op: str, text: str, i: int) -> int:
        try:
            if op in _NUM_FORMATS:
                v = parse_float_bits(text, _NUM_FORMATS[op])
            else:
                v = parse_int(text, _NUM_BITS[op])
        except LiteralRangeError:
            raise self.error(f"constant out of range: {text}", i) from None
        if v is None:
            raise self.error(f"malformed {op} literal: {text}", i)
        return v & ((1 << _NUM_BITS[op]) - 1)

    def read_const(self, i: int) -> tuple[Value, int]:
        """An argument constant at ``i``."""
        head = self.head(i)
        if head is None:
            raise self.error("expected a constant", i)
        end = self.match[i]
        j = i + 2
        if head in ("i32.const", "i64.const", "f32.const", "f64.const"):
            op = head[:3]
            v = self._num(op, self._atom(j), j)
            self.expect_rparen(j + 1)
            return Value(op, v), end
        if head == "v128.const":
            shape = self._atom(j)
            if shape not in V128_SHAPES:
                raise self.error(f"unknown v128 shape {shape}", j)
            lanes, bits, _ = V128_SHAPES[shape]
            lane_op = ("f" if shape[0] == "f" else "i") + str(max(bits, 32))
            raw = 0
            for n in range(lanes):
                a = self._atom(j + 1 + n)
                v = self._lane(shape, lane_op, a, j + 1 + n)
                raw |= v << (bits * n)
            self.expect_rparen(j + 1 + lanes)
            return Value("v128", raw), end
        if head == "ref.null":
            t = self._atom(j)
            if t not in ("func", "extern"):
                raise self.error(f"unknown reference type {t}", j)
            self.expect_rparen(j + 1)
            return Value(t + "ref", None), end
        if head == "ref.extern":
            n = self._num("i64", self._atom(j), j)
            self.expect_rparen(j + 1)
            return Value("externref", n), end
        raise self.error(f"unknown constant {head}", i)

    def _lane(self, shape: str, lane_op: str, text: str, i: int) -> int:
        lanes, bits, fmt = V128_SHAPES[shape]
        if fmt is not None:
            return self._num(lane_op, text, i)
        try:
            v = parse_int(text, bits)
        except LiteralRangeError:
            raise self.error(f"constant out of range: {text}", i) from None
        if v is None:
            raise self.error(f"malformed lane literal: {text}", i)
        return v & ((1 << bits) - 1)

    # -- results -----------------------------------------------------------------------
    def read_result(self, i: int) -> tuple[Expected, int]:
        """A result pattern at ``i``."""
        head = self.head(i)
        if head is None:
            raise self.error("expected a result", i)
        end = self.match[i]
        j = i + 2
        if head in ("f32.const", "f64.const"):
            a = self._atom(j)
            if a in ("nan:canonical", "nan:arithmetic"):
                self.expect_rparen(j + 1)
                return Expected(head[:3], a), end
        if head == "v128.const":
            shape = self._atom(j)
            if shape not in V128_SHAPES:
                raise self.error(f"unknown v128 shape {shape}", j)
            lanes, bits, _ = V128_SHAPES[shape]
            lane_op = ("f" if shape[0] == "f" else "i") + str(max(bits, 32))
            pats: list[int | str] = []
            for n in range(lanes):
                a = self._atom(j + 1 + n)
                if a in ("nan:canonical", "nan:arithmetic") and shape[0] == "f":
                    pats.append(a)
                else:
                    pats.append(self._lane(shape, lane_op, a, j + 1 + n))
            self.expect_rparen(j + 1 + lanes)
            return Expected("v128", "lanes", (shape, pats)), end
        if head == "ref.func":
            # ``(ref.func)`` or ``(ref.func idx)``: any non-null function reference
            return Expected("funcref", "func"), end
        if head == "ref.extern":
            if self.kinds[j] == RPAREN:
                return Expected("externref", "extern", None), end
            n = self._num("i64", self._atom(j), j)
            self.expect_rparen(j + 1)
            return Expected("externref", "extern", n), end
        if head == "ref.null":
            if self.kinds[j] == RPAREN:
                # ``(ref.null)``: a null reference of any type (3.0 scripts)
                return Expected("ref", "null"), end
            v, _ = self.read_const(i)
            return Expected(v.type, "null"), end
        if head == "either":
            alts = []
            while j < end - 1:
                e, j = self.read_result(j)
                alts.append(e)
            return Expected("", "either", alts), end
        v, _ = self.read_const(i)
        return Expected(v.type, "bits", v.raw), end
