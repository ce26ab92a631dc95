"""``Managed``: the ``close()`` / ``with`` protocol of wasmtime-py's objects.

wasmtime-py's ``Managed`` base class owns a C pointer that ``close()`` frees early; any
later use of the object raises ``ValueError("already closed")``, and so does the use of
an object another one consumed (a ``Config`` once an ``Engine`` was made from it).
wasmlite's objects own nothing that must be freed early (memories, code and stores are
released when the last reference goes), so :meth:`Managed.close` marks the object
closed and the public methods check it (:meth:`Managed._live`) where wasmtime-py's call
``ptr()``, so that they raise the same ``ValueError`` in the same situations.
"""

from __future__ import annotations

from typing import Any, TypeVar

__all__ = ["Managed"]

_M = TypeVar("_M", bound="Managed")


class Managed:
    """Base of the API objects wasmtime-py can ``close()`` (wasmtime-py: ``Managed``).

    ``close()`` may be called any number of times; ``with obj:`` returns ``obj`` and
    closes it on exit.  After ``close()`` the object's methods and properties raise
    :class:`ValueError` ("already closed"), as in wasmtime-py.  A subclass with
    ``__slots__`` must have a ``_closed`` slot.
    """

    __slots__ = ()

    def close(self) -> None:
        """Close this object: any further use raises :class:`ValueError` ("already
        closed").  Its resources are released when it is garbage-collected."""
        object.__setattr__(self, "_closed", True)

    def _live(self: _M) -> _M:
        """``self``, unless it was closed (or consumed): then :class:`ValueError`
        ("already closed"), wasmtime-py's ``Managed.ptr()``."""
        if getattr(self, "_closed", False):
            raise ValueError("already closed")
        return self

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
