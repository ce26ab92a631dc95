"""Persistent worker processes (``fuzz/worker.py``) with crash and hang detection.

A :class:`Worker` keeps one child process running and sends it requests one at a
time.  :meth:`Worker.request` returns the child's reply, or, when the child dies
(a signal, an exit) or does not answer within the time limit, kills it, starts a new
one for the next request and returns ``{"process": "crash", "signal": "SIGSEGV", ...}``
or ``{"process": "hang", ...}`` for the request it was on.  The child's stderr goes to
a file, whose part written during the failed request comes back as ``"stderr"``
(``faulthandler``'s traceback for a fatal signal).
"""

from __future__ import annotations

import json
import os
import pickle
import select
import signal
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

WORKER = Path(__file__).resolve().parent / "worker.py"
#: a fresh process after this many requests bounds what a long run can leak
RECYCLE_AFTER = 400
#: seconds a worker may take to start (import wasmtime / wasmlite, make an Engine)
START_TIMEOUT = 120.0


class Worker:
    """One child process running ``runtime`` (``"wasmlite"`` or ``"wasmtime"``) with
    ``opts`` (``opt_level``, ``bounds_checks``); see the module docstring."""

    def __init__(self, runtime: str, opts: dict, timeout: float):
        self.runtime = runtime
        self.opts = opts
        self.timeout = timeout
        self.proc: subprocess.Popen | None = None
        self.served = 0
        self.err = tempfile.TemporaryFile()

    def _start(self) -> None:
        env = dict(os.environ)
        env.setdefault("PYTHONFAULTHANDLER", "1")
        self.err.seek(0)
        self.err.truncate()
        self.proc = subprocess.Popen(
            [sys.executable, str(WORKER), self.runtime, json.dumps(self.opts)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.err, env=env,
            start_new_session=True)
        self.served = 0
        hello = self._read(time.monotonic() + START_TIMEOUT)
        if not isinstance(hello, dict) or hello.get("ready") != self.runtime:
            detail = self._stderr_tail()
            self._kill()
            raise RuntimeError(f"{self.runtime} worker failed to start: {hello!r}\n{detail}")

    def _read_exact(self, n: int, deadline: float) -> bytes | None:
        assert self.proc is not None and self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        chunks = []
        while n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                raise TimeoutError
            chunk = os.read(fd, min(n, 1 << 20))
            if not chunk:
                return None
            chunks.append(chunk)
            n -= len(chunk)
        return b"".join(chunks)

    def _read(self, deadline: float) -> Any:
        head = self._read_exact(4, deadline)
        if head is None:
            return None
        body = self._read_exact(struct.unpack("<I", head)[0], deadline)
        return None if body is None else pickle.loads(body)

    def _stderr_tail(self, since: int = 0) -> str:
        self.err.flush()
        self.err.seek(since)
        data = self.err.read()
        self.err.seek(0, os.SEEK_END)
        return data[-6000:].decode(errors="replace")

    def _kill(self) -> int | None:
        proc, self.proc = self.proc, None
        if proc is None:
            return None
        if proc.poll() is None:  # never signal a pid that was already reaped
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        for stream in (proc.stdin, proc.stdout):
            try:
                if stream:
                    stream.close()
            except OSError:
                pass
        return proc.wait()

    def request(self, req: dict, timeout: float | None = None) -> dict:
        """Send ``req`` and return the reply (see the module docstring)."""
        if self.proc is None or self.served >= RECYCLE_AFTER:
            self._kill()
            self._start()
        assert self.proc is not None and self.proc.stdin is not None
        self.err.seek(0, os.SEEK_END)
        since = self.err.tell()
        limit = self.timeout if timeout is None else timeout
        start = time.monotonic()
        # the worker dumps every thread's stack shortly before the limit: a hang's
        # report then shows where it waited
        body = pickle.dumps({**req, "limit": limit}, protocol=pickle.HIGHEST_PROTOCOL)
        try:
            self.proc.stdin.write(struct.pack("<I", len(body)) + body)
            self.proc.stdin.flush()
            reply = self._read(start + limit)
        except TimeoutError:
            self._kill()
            return {"process": "hang", "seconds": limit, "stderr": self._stderr_tail(since)}
        except (BrokenPipeError, OSError):
            reply = None
        self.served += 1
        if reply is None:
            proc = self.proc
            try:
                rc = proc.wait(timeout=10) if proc else None
            except subprocess.TimeoutExpired:
                rc = None
            self._kill()
            if rc is not None and rc < 0:
                try:
                    sig = signal.Signals(-rc).name
                except ValueError:
                    sig = f"signal {-rc}"
            else:
                sig = f"exit {rc}"
            return {"process": "crash", "signal": sig, "stderr": self._stderr_tail(since)}
        reply["seconds"] = time.monotonic() - start
        return reply

    def close(self) -> None:
        """Stop the child process."""
        proc = self.proc
        if proc is not None and proc.stdin is not None:
            try:
                proc.stdin.close()
                proc.wait(timeout=5)
                self.proc = None
            except (OSError, subprocess.TimeoutExpired):
                pass
        self._kill()
        self.err.close()
