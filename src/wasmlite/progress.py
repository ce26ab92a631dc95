"""Progress bars for long compilations (``wasmlite compile``, an eager ``wasmlite run``).

The compiler reports what it has done through :func:`expect` (work to come) and
:func:`advance` (work done), in *units* of its own choosing (``compiler.compile_module``:
wasm instructions, weighted by the stage of the pipeline they went through).  Both are a
single global read and nothing else unless a :class:`ProgressBar` is active, so a
compilation nobody watches pays nothing.

A :class:`ProgressBar` is made by the command line only when its output stream is a
terminal (:func:`terminal_progress`); it shows nothing for its first ``delay`` seconds
(a short compilation prints nothing) and then draws a ``tqdm`` bar from a thread of its
own, redrawn a few times a second, so the elapsed time keeps moving while LLVM runs a long
stage.  The bar is erased when the compilation ends: the program's own output starts on a
clean line.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from typing import IO, Any

#: The active progress bar, or None (the common case: no one is watching).
_current: ProgressBar | None = None


def expect(units: float) -> None:
    """Add ``units`` of work to the active bar's total (nothing without one)."""
    bar = _current
    if bar is not None:
        bar.expect(units)


def advance(units: float) -> None:
    """Mark ``units`` of work done on the active bar (nothing without one)."""
    bar = _current
    if bar is not None:
        bar.advance(units)


def active() -> bool:
    """Whether a progress bar is collecting progress (callers may skip bookkeeping)."""
    return _current is not None


class ProgressBar:
    """Collects progress while active (a context manager) and draws it with ``tqdm`` on
    ``stream`` once the work has taken longer than ``delay`` seconds.

    ``description`` is the bar's label.  Thread-safe: compiler threads may report at
    once.  Only one bar is active at a time (an inner one replaces the outer one for its
    duration).
    """

    def __init__(self, description: str, stream: IO[str] | None = None,
                 delay: float = 1.0, interval: float = 0.25):
        self.description = description
        self.stream = stream if stream is not None else sys.stderr
        self.delay = delay
        self.interval = interval
        self.total = 0.0
        self.done = 0.0
        #: whether a bar was drawn (it was visible at some point)
        self.shown = False
        self._lock = threading.Lock()
        self._finished = threading.Event()
        self._thread: threading.Thread | None = None
        self._outer: ProgressBar | None = None
        self._started = 0.0

    def expect(self, units: float) -> None:
        with self._lock:
            self.total += units

    def advance(self, units: float) -> None:
        with self._lock:
            self.done += units

    def __enter__(self) -> ProgressBar:
        global _current
        self._outer = _current
        _current = self
        self._started = time.time()
        self._thread = threading.Thread(target=self._draw, name="wasmlite-progress",
                                        daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        global _current
        _current = self._outer
        self._finished.set()
        if self._thread is not None:
            self._thread.join()

    def _draw(self) -> None:
        if self._finished.wait(self.delay):
            return
        from tqdm import tqdm

        cols, rows = _terminal_size(self.stream)
        bar: Any = tqdm(total=100, desc=self.description, file=self.stream, leave=False,
                        bar_format="{desc}: {percentage:3.0f}%|{bar}| [{elapsed}<{remaining}]",
                        ncols=cols, nrows=rows)
        bar.start_t = self._started   # elapsed time counts from the start of the work
        self.shown = True
        try:
            while True:
                with self._lock:
                    total, done = self.total, self.done
                pct = min(100.0, 100.0 * done / total) if total > 0 else 0.0
                bar.n = round(pct, 1)
                bar.refresh()
                if self._finished.wait(self.interval):
                    break
        finally:
            bar.close()


def _terminal_size(stream: IO[str]) -> tuple[int, int]:
    """``(columns, rows)`` of the terminal behind ``stream``; ``$COLUMNS`` (or 80) and
    24 when it reports none (a pseudo-terminal nobody sized: tqdm would then draw
    nothing)."""
    try:
        cols, rows = os.get_terminal_size(stream.fileno())
    except (AttributeError, ValueError, OSError):
        cols = rows = 0
    if cols <= 0:
        try:
            cols = int(os.environ.get("COLUMNS", "80"))
        except ValueError:
            cols = 80
    return max(cols, 20), (rows if rows > 0 else 24)


def terminal_progress(description: str, stream: IO[str] | None = None,
                      delay: float = 1.0) -> contextlib.AbstractContextManager[Any]:
    """A :class:`ProgressBar` on ``stream`` (default ``sys.stderr``) when it is a
    terminal, else a context that does nothing (no thread, no ``tqdm`` import).
    ``WASMLITE_PROGRESS=0`` switches bars off, ``=1`` forces them on;
    ``WASMLITE_PROGRESS_DELAY`` (seconds) replaces ``delay`` (tests)."""
    stream = stream if stream is not None else sys.stderr
    setting = os.environ.get("WASMLITE_PROGRESS", "")
    try:
        delay = float(os.environ.get("WASMLITE_PROGRESS_DELAY", delay))
    except ValueError:
        pass
    if setting == "0":
        return contextlib.nullcontext()
    try:
        tty = stream.isatty()
    except (AttributeError, ValueError):
        tty = False
    if not tty and setting != "1":
        return contextlib.nullcontext()
    return ProgressBar(description, stream, delay)


__all__ = ["ProgressBar", "active", "advance", "expect", "terminal_progress"]
