"""wasmlite.validate: module validation (WebAssembly 2.0 spec §3).

``validate_module(info, features=None)`` checks a decoded module and returns the decoded
instruction list of every defined function body; :class:`Features` switches proposals
off (``Config.wasm_*``).  See :mod:`wasmlite.validate.validator`.
"""

from wasmlite.validate.validator import UNKNOWN, WASM2, Features, validate_module

__all__ = ["Features", "validate_module", "UNKNOWN", "WASM2"]
