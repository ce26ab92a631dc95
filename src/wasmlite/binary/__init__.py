"""wasmlite.binary: the WebAssembly 2.0 binary format (spec §5).

:func:`decode_module` turns module bytes into a :class:`~wasmlite.environ.module.ModuleInfo`;
:func:`read_instructions` / :func:`read_function_body` decode one function body into
``(opcode, immediate, offset)`` tuples (opcode numbers in :mod:`wasmlite.binary.opcodes`).
"""

from wasmlite.binary.decoder import (
    MAX_LOCALS,
    decode_module,
    read_function_body,
    read_instructions,
)

__all__ = ["MAX_LOCALS", "decode_module", "read_function_body", "read_instructions"]
