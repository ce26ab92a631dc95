"""wasmlite.validate: module validation (WebAssembly 2.0 spec §3).

``validate_module(info, features=None, *, keep_bodies=True, workers=None)`` checks a
decoded module and returns the decoded instruction list of every defined function body
(``None`` with ``keep_bodies=False``, which keeps nothing and is several times faster);
:class:`Features` switches proposals off (``Config.wasm_*``).  See
:mod:`wasmlite.validate.validator` (the reference path), :mod:`wasmlite.validate.fast`
(the single-pass verdict) and :mod:`wasmlite.validate.parallel` (worker processes).
"""

from wasmlite.validate.validator import UNKNOWN, WASM2, Features, validate_module

__all__ = ["Features", "validate_module", "UNKNOWN", "WASM2"]
