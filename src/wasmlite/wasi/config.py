"""``WasiConfig``: what a WASI program sees (wasmtime-py: ``wasmtime.WasiConfig``).

The configuration only records choices; :class:`wasmlite.wasi.WasiCtx` turns it into live
state (open host descriptors) when ``Store.set_wasi`` is called.
"""

from __future__ import annotations

import enum
import os
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, BinaryIO, Union

from ..errors import WasmtimeError
from ..managed import Managed

PathLike = Union[str, bytes, "os.PathLike[str]", "os.PathLike[bytes]"]


class DirPerms(enum.IntFlag):
    """What the guest may do with a preopened directory (wasmtime-py / wasmtime-wasi ``DirPerms``).

    ``READ`` allows listing and opening; ``MUTATE`` allows creating, renaming and removing
    entries and setting times.
    """

    READ = 1
    MUTATE = 2
    READ_ONLY = 1
    WRITE_ONLY = 2
    READ_WRITE = 3


class FilePerms(enum.IntFlag):
    """What the guest may do with files under a preopen (wasmtime-wasi ``FilePerms``).

    ``READ`` allows opening files for reading, ``WRITE`` for writing (including truncation).
    """

    READ = 1
    WRITE = 2
    READ_ONLY = 1
    WRITE_ONLY = 2
    READ_WRITE = 3


def _fspath_str(path: PathLike) -> str:
    if not isinstance(path, (str, bytes)) and not hasattr(path, "__fspath__"):
        # wasmtime-py calls ``path.__fspath__()``
        raise AttributeError(f"expected a path, got {type(path).__name__!r}")
    p = os.fspath(path)
    return os.fsdecode(p) if isinstance(p, bytes) else p


def _str_arg(value: Any) -> str:
    """``value`` where wasmtime-py calls ``value.encode()``: a ``str``, else
    :class:`AttributeError`."""
    if not isinstance(value, str):
        raise AttributeError(f"expected a str, got {type(value).__name__!r}")
    return value


@dataclass
class StdioSpec:
    """How one standard stream is provided.

    ``kind`` is one of ``"null"`` (stdin: empty, stdout/stderr: discarded), ``"inherit"``
    (the host process's descriptor), ``"file"`` (``value`` is a path), ``"bytes"`` (stdin
    only; ``value`` is the content), ``"stream"`` (``value`` is a binary Python file object)
    or ``"custom"`` (stdout/stderr: ``value`` is a callable taking ``bytes``).
    """

    kind: str = "null"
    value: Any = None


@dataclass
class Preopen:
    """A preopened directory: host ``path`` seen by the guest as ``guest_path``."""

    path: str
    guest_path: str
    dir_perms: DirPerms
    file_perms: FilePerms


class WasiConfig(Managed):
    """Configuration of a WASI preview 1 context (wasmtime-py's ``WasiConfig`` shape).

    Defaults, as Wasmtime: no arguments, no environment, an empty stdin, stdout and
    stderr discarded, no preopened directories.

    Bad arguments raise wasmtime-py's exceptions: a string that is not a ``str``
    :class:`AttributeError`, a path that is not a ``str``, ``bytes`` or ``os.PathLike``
    :class:`AttributeError`; once closed, every setting raises :class:`ValueError`
    ("already closed").
    """

    def __init__(self) -> None:
        self._argv: list[str] = []
        self._env: list[tuple[str, str]] = []
        self._stdio = [StdioSpec(), StdioSpec(), StdioSpec()]
        self._preopens: list[Preopen] = []

    # -- arguments and environment ----------------------------------------------
    @property
    def argv(self) -> list[str]:
        """The guest's ``argv`` (a list of ``str``). Assigning replaces it."""
        return list(self._argv)

    @argv.setter
    def argv(self, argv: Iterable[str]) -> None:
        args = [_str_arg(a) for a in argv]
        self._live()._argv = args

    def inherit_argv(self) -> None:
        """Give the guest this process's command line, as Wasmtime does: the arguments
        the interpreter was started with (``sys.orig_argv``, e.g. ``["python",
        "app.py", "x"]``), not the script's ``sys.argv``."""
        self._live()._argv = list(getattr(sys, "orig_argv", None) or [sys.executable, *sys.argv])

    @property
    def env(self) -> list[tuple[str, str]]:
        """The guest's environment as ``(name, value)`` pairs. Assigning replaces it."""
        return list(self._env)

    @env.setter
    def env(self, pairs: Iterable[Iterable[str]]) -> None:
        out = [(name, value) for name, value in pairs]
        for name, _ in out:  # wasmtime-py encodes the names, then the values
            _str_arg(name)
        for _, value in out:
            _str_arg(value)
        self._live()._env = out

    def inherit_env(self) -> None:
        """Give the guest every variable of this process's environment."""
        self._live()._env = list(os.environ.items())

    # -- stdio --------------------------------------------------------------------
    @property
    def stdin_file(self) -> None:
        raise AttributeError("stdin_file is write-only")

    @stdin_file.setter
    def stdin_file(self, path: PathLike) -> None:
        """Read stdin from the file at ``path``; it must exist (else :class:`WasmtimeError`)."""
        p = _fspath_str(path)
        self._live()
        if not os.path.exists(p):
            raise WasmtimeError("failed to set stdin file")
        self._stdio[0] = StdioSpec("file", p)

    @property
    def stdin_bytes(self) -> None:
        raise AttributeError("stdin_bytes is write-only")

    @stdin_bytes.setter
    def stdin_bytes(self, data: bytes) -> None:
        """(wasmlite) Serve ``data`` as the guest's stdin."""
        self._live()._stdio[0] = StdioSpec("bytes", bytes(data))

    def inherit_stdin(self) -> None:
        """Use this process's stdin (file descriptor 0)."""
        self._live()._stdio[0] = StdioSpec("inherit", 0)

    @property
    def stdout_file(self) -> None:
        raise AttributeError("stdout_file is write-only")

    @stdout_file.setter
    def stdout_file(self, path: PathLike) -> None:
        """Write stdout to ``path``, created or truncated when the context is made."""
        p = _fspath_str(path)
        self._live()._stdio[1] = StdioSpec("file", p)

    @property
    def stdout_custom(self) -> None:
        raise AttributeError("stdout_custom is write-only")

    @stdout_custom.setter
    def stdout_custom(self, callback: Callable[[bytes], Any]) -> None:
        """Call ``callback(bytes)`` for each write to stdout."""
        self._live()._stdio[1] = StdioSpec("custom", callback)

    def inherit_stdout(self) -> None:
        """Use this process's stdout (file descriptor 1)."""
        self._live()._stdio[1] = StdioSpec("inherit", 1)

    @property
    def stderr_file(self) -> None:
        raise AttributeError("stderr_file is write-only")

    @stderr_file.setter
    def stderr_file(self, path: PathLike) -> None:
        """Write stderr to ``path``, created or truncated when the context is made."""
        p = _fspath_str(path)
        self._live()._stdio[2] = StdioSpec("file", p)

    @property
    def stderr_custom(self) -> None:
        raise AttributeError("stderr_custom is write-only")

    @stderr_custom.setter
    def stderr_custom(self, callback: Callable[[bytes], Any]) -> None:
        """Call ``callback(bytes)`` for each write to stderr."""
        self._live()._stdio[2] = StdioSpec("custom", callback)

    def inherit_stderr(self) -> None:
        """Use this process's stderr (file descriptor 2)."""
        self._live()._stdio[2] = StdioSpec("inherit", 2)

    def set_stdio_stream(self, fd: int, stream: BinaryIO) -> None:
        """(wasmlite) Connect guest fd ``fd`` (0, 1 or 2) to a binary Python file object.

        stdin calls ``stream.read(n)``; stdout/stderr call ``stream.write(data)``
        (an ``io.BytesIO`` captures output in memory).
        """
        if fd not in (0, 1, 2):
            raise WasmtimeError("stdio fd must be 0, 1 or 2")
        self._live()._stdio[fd] = StdioSpec("stream", stream)

    # -- preopens -----------------------------------------------------------------
    def preopen_dir(self, path: PathLike, guest_path: str,
                    dir_perms: DirPerms | bool = DirPerms.READ_WRITE,
                    file_perms: FilePerms = FilePerms.READ_WRITE,
                    fs_mutable: bool | None = None) -> None:
        """Let the guest reach host directory ``path`` as ``guest_path``.

        ``dir_perms``/``file_perms`` restrict what may be done (older wasmtime-py);
        ``fs_mutable=False`` (newer wasmtime-py, also accepted as a ``bool`` third
        argument) makes both read-only.
        Raises :class:`WasmtimeError` when ``path`` is not a directory and, as
        wasmtime-py, :class:`AttributeError` when ``path`` is not a ``str`` (or an
        ``os.PathLike``, a wasmlite extension) or ``guest_path`` not a ``str``.
        """
        if isinstance(path, bytes) or not isinstance(path, (str, os.PathLike)):
            raise AttributeError(f"expected a str path, got {type(path).__name__!r}")
        _str_arg(guest_path)
        host = _fspath_str(path)
        self._live()
        if not os.path.isdir(host):
            raise WasmtimeError("failed to add preopen dir")
        if isinstance(dir_perms, bool):
            fs_mutable = dir_perms
        if fs_mutable is not None:
            mutable = fs_mutable
            dir_perms = DirPerms.READ_WRITE if mutable else DirPerms.READ_ONLY
            file_perms = FilePerms.READ_WRITE if mutable else FilePerms.READ_ONLY
        self._preopens.append(Preopen(host, str(guest_path), DirPerms(int(dir_perms)),
                                      FilePerms(int(file_perms))))
