"""wasmlite.text: the WebAssembly text format (spec §6), encoded to the binary format.

:func:`wat2wasm` translates a text module to bytes (which then go through
:func:`wasmlite.binary.decode_module` like any binary); errors are :class:`WatError`
with ``line:column``.  For WAST scripts, :func:`tokenize` reads a whole script and
:func:`parse_module_form` one ``(module ...)`` form in it (text, ``binary`` or
``quote``); :mod:`wasmlite.text.literals` parses numeric literals (for ``(i32.const ..)``
arguments and results of WAST commands).
"""

from wasmlite.text.errors import WatError
from wasmlite.text.lexer import Tokens, tokenize
from wasmlite.text.module import ModuleForm, parse_module_form, wat2wasm

__all__ = ["ModuleForm", "Tokens", "WatError", "parse_module_form", "tokenize", "wat2wasm"]
