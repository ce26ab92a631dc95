"""``Managed``: the ``close()`` / ``with`` protocol of wasmtime-py's objects.

wasmtime-py's ``Managed`` base class owns a C pointer that ``close()`` frees early.
wasmlite's objects own nothing that outlives their Python references (memories, code
and stores are released when the last reference goes), so :meth:`Managed.close` only
marks the object closed; the object stays usable.  It exists so that code written for
wasmtime-py (``with Store() as store: ...``, ``module.close()``) runs unchanged.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Managed"]


class Managed:
    """Base of the API objects wasmtime-py can ``close()`` (wasmtime-py: ``Managed``).

    ``close()`` may be called any number of times; ``with obj:`` returns ``obj`` and
    closes it on exit.  Unlike wasmtime-py, a closed object is not invalidated.
    """

    __slots__ = ()

    def close(self) -> None:
        """Accepted for compatibility; wasmlite frees resources when the object is
        garbage-collected."""

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
