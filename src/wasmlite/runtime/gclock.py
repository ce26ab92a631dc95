"""A mutex for process-wide registries that garbage-collector finalizers also edit.

CPython runs a finalizer (``weakref.finalize``, ``__del__``) on whichever thread
allocates when a collection starts — which can be inside a critical section of the
very lock the finalizer needs.  With a plain ``threading.Lock`` the thread then waits
for itself forever: a ``Module`` creation hung when a collection freed an older
module's ``LazyCode`` while the new one was registering its slots
(``tests/test_gclock.py`` reproduces it with ``gc.set_threshold``).

:class:`GCSafeLock` is used as ``with lock:`` on the normal paths; finalizers call
:meth:`GCSafeLock.later` instead, which never blocks: it runs the edit at once when
the lock is free, and otherwise queues it for the holder, who runs it before
releasing.  An edit is therefore never lost and never runs inside another critical
section.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from typing import Any


class GCSafeLock:
    """A non-reentrant mutex plus a queue of deferred edits (see the module docstring)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._later: deque[tuple[Callable[..., Any], tuple]] = deque()

    def __enter__(self) -> GCSafeLock:
        self._lock.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self._run_later()
        finally:
            self._lock.release()
        self._drain()

    def later(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run ``fn(*args)`` under the lock: now if it is free, else when its holder
        (possibly this very thread, further up the stack) releases it.  Never blocks,
        never raises: safe in a finalizer."""
        self._later.append((fn, args))
        self._drain()

    def _drain(self) -> None:
        # an edit queued by another thread just after the holder's last look
        while self._later and self._lock.acquire(blocking=False):
            try:
                self._run_later()
            finally:
                self._lock.release()

    def _run_later(self) -> None:
        while self._later:
            fn, args = self._later.popleft()
            try:
                fn(*args)
            except Exception:  # noqa: BLE001 - a finalizer's edit must not break the holder
                pass
