"""wasmlite.validate: module validation (WebAssembly 2.0 spec §3).

``validate_module(info)`` checks a decoded module and returns the decoded instruction
list of every defined function body; see :mod:`wasmlite.validate.validator`.
"""

from wasmlite.validate.validator import UNKNOWN, validate_module

__all__ = ["validate_module", "UNKNOWN"]
