"""``WasiConfig``: what a WASI program sees (wasmtime-py: ``wasmtime.WasiConfig``).

As in wasmtime-py 50 (whose setters feed Wasmtime's ``WasiCtxBuilder`` through the C
API), a configuration *accumulates*: setting ``argv`` or ``env`` twice appends, and
``inherit_argv()`` / ``inherit_env()`` append this process's arguments / environment.
Files are opened when they are configured: ``stdin_file`` opens the file (it must
exist), ``stdout_file`` / ``stderr_file`` create or truncate theirs at once, and
``preopen_dir`` opens the directory.  ``Store.set_wasi`` consumes the configuration:
afterwards every method raises ``ValueError("already closed")``, as wasmtime-py's.
:class:`wasmlite.wasi.WasiCtx` turns a configuration into live state.
"""

from __future__ import annotations

import enum
import os
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, BinaryIO, Union

from ..errors import WasmtimeError
from ..managed import Managed

PathLike = Union[str, bytes, "os.PathLike[str]", "os.PathLike[bytes]"]


class DirPerms(enum.IntFlag):
    """What the guest may do with a preopened directory (the ``DirPerms`` of older
    wasmtime-py releases; wasmtime-py 50 has only ``fs_mutable``).

    ``READ`` allows listing and opening; ``MUTATE`` allows creating, renaming and removing
    entries and setting times.
    """

    READ = 1
    MUTATE = 2
    READ_ONLY = 1
    WRITE_ONLY = 2
    READ_WRITE = 3


class FilePerms(enum.IntFlag):
    """What the guest may do with files under a preopen (the ``FilePerms`` of older
    wasmtime-py releases).

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


def _c_string(s: str) -> str:
    """What Wasmtime receives for a Python ``str``: its UTF-8 bytes as a C string, so a
    NUL ends it (``UnicodeEncodeError`` for lone surrogates, as wasmtime-py)."""
    s.encode("utf-8")
    return s.split("\0", 1)[0]


@dataclass
class StdioSpec:
    """How one standard stream is provided.

    ``kind`` is one of ``"null"`` (stdin: empty, stdout/stderr: discarded), ``"inherit"``
    (the host process's descriptor ``value``), ``"fd"`` (``value`` is a host descriptor
    opened from a configured file; the configuration owns it), ``"bytes"`` (stdin only;
    ``value`` is the content), ``"stream"`` (``value`` is a binary Python file object)
    or ``"custom"`` (stdout/stderr: ``value`` is a callable taking ``bytes``).
    """

    kind: str = "null"
    value: Any = None


@dataclass
class Preopen:
    """A preopened directory: the open host descriptor ``fd`` (owned by the
    configuration) of ``path``, seen by the guest as ``guest_path``; ``dir_mutable``
    allows changing entries and times under it, ``file_mutable`` writing to files
    (Wasmtime's ``FsPerms::ReadWrite`` is both)."""

    path: str
    guest_path: str
    fd: int
    dir_mutable: bool
    file_mutable: bool


class WasiConfig(Managed):
    """Configuration of a WASI preview 1 context (wasmtime-py's ``WasiConfig``).

    Defaults, as Wasmtime: no arguments, no environment, an empty stdin, stdout and
    stderr discarded, no preopened directories.  Wasmtime's monotonic clock counts from
    the moment the configuration is made; so does wasmlite's.
    """

    def __init__(self) -> None:
        self._argv: list[str] = []
        self._env: list[tuple[str, str]] = []
        self._stdio = [StdioSpec(), StdioSpec(), StdioSpec()]
        self._preopens: list[Preopen] = []
        self._monotonic_origin = time.monotonic_ns()
        self._closed = False

    def _release(self) -> None:
        for spec in self._stdio:
            if spec.kind == "fd":
                _close_quietly(spec.value)
        for pre in self._preopens:
            _close_quietly(pre.fd)
        self._stdio = [StdioSpec(), StdioSpec(), StdioSpec()]
        self._preopens = []

    def close(self) -> None:
        """Release the files this configuration opened; afterwards it cannot be used
        (``ValueError("already closed")``), as wasmtime-py's ``close()``."""
        if not self._closed:
            self._release()
            self._closed = True

    def _consume(self) -> None:
        """Mark the configuration used up (``Store.set_wasi``): wasmtime-py hands its
        pointer to the store, so later use raises ``ValueError("already closed")``."""
        self.close()

    def __del__(self) -> None:
        try:
            self._release()
        except Exception:
            pass

    # -- arguments and environment ----------------------------------------------
    @property
    def argv(self) -> list[str]:
        """The guest's ``argv`` so far (a list of ``str``; reading it is a wasmlite
        addition).  Assigning a list *appends* its strings, as wasmtime-py 50 does."""
        self._live()
        return list(self._argv)

    @argv.setter
    def argv(self, argv: Iterable[str]) -> None:
        args = [_c_string(_str_arg(a)) for a in argv]
        self._live()._argv.extend(args)

    def inherit_argv(self) -> None:
        """Append this process's command line, as Wasmtime does: the arguments the
        interpreter was started with (``sys.orig_argv``, e.g. ``["python", "app.py",
        "x"]``), not the script's ``sys.argv``."""
        self._live()
        self._argv.extend(getattr(sys, "orig_argv", None) or [sys.executable, *sys.argv])

    @property
    def env(self) -> list[tuple[str, str]]:
        """The guest's environment so far, as ``(name, value)`` pairs (reading it is a
        wasmlite addition).  Assigning *appends* the pairs, as wasmtime-py 50 does;
        a name given twice is seen twice by the guest."""
        self._live()
        return list(self._env)

    @env.setter
    def env(self, pairs: Iterable[Iterable[str]]) -> None:
        out = [(name, value) for name, value in pairs]
        for name, _ in out:  # wasmtime-py encodes the names, then the values
            _str_arg(name)
        for _, value in out:
            _str_arg(value)
        self._live()._env.extend((_c_string(n), _c_string(v)) for n, v in out)

    def inherit_env(self) -> None:
        """Append every variable of this process's environment, as the C library has
        it now (like Rust's ``std::env::vars()``; Python's ``os.environ`` misses what
        native code set)."""
        self._live()
        self._env.extend(_host_environ())

    # -- stdio --------------------------------------------------------------------
    def _set_stdio(self, fd: int, spec: StdioSpec) -> None:
        old = self._stdio[fd]
        if old.kind == "fd":
            _close_quietly(old.value)
        self._stdio[fd] = spec

    @property
    def stdin_file(self) -> None:
        raise AttributeError("stdin_file is write-only")

    @stdin_file.setter
    def stdin_file(self, path: PathLike) -> None:
        """Read stdin from the file at ``path``, opened now; it must exist (else
        :class:`WasmtimeError` "failed to set stdin file")."""
        p = _fspath_str(path)
        self._live()
        try:
            fd = os.open(p, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            raise WasmtimeError("failed to set stdin file") from None
        self._set_stdio(0, StdioSpec("fd", fd))

    @property
    def stdin_bytes(self) -> None:
        raise AttributeError("stdin_bytes is write-only")

    @stdin_bytes.setter
    def stdin_bytes(self, data: bytes) -> None:
        """(wasmlite) Serve ``data`` as the guest's stdin."""
        self._live()
        self._set_stdio(0, StdioSpec("bytes", bytes(data)))

    def inherit_stdin(self) -> None:
        """Use this process's stdin (file descriptor 0)."""
        self._live()
        self._set_stdio(0, StdioSpec("inherit", 0))

    def _create(self, fd: int, path: PathLike, what: str) -> None:
        p = _fspath_str(path)
        self._live()
        try:
            host = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC,
                           0o666)
        except OSError:
            raise WasmtimeError(f"failed to set {what} file") from None
        self._set_stdio(fd, StdioSpec("fd", host))

    @property
    def stdout_file(self) -> None:
        raise AttributeError("stdout_file is write-only")

    @stdout_file.setter
    def stdout_file(self, path: PathLike) -> None:
        """Write stdout to ``path``, created or truncated now (else
        :class:`WasmtimeError` "failed to set stdout file")."""
        self._create(1, path, "stdout")

    @property
    def stdout_custom(self) -> None:
        raise AttributeError("stdout_custom is write-only")

    @stdout_custom.setter
    def stdout_custom(self, callback: Callable[[bytes], Any]) -> None:
        """Call ``callback(bytes)`` for each write to stdout, in pieces of at most
        4096 bytes (as Wasmtime).  It returns ``None`` or the number of bytes taken;
        anything else fails the write (a negative number is taken as an errno,
        others and exceptions give ``EIO``) and, as in Wasmtime, every later write to
        that stream too, with ``EIO`` and without calling it."""
        self._live()
        self._set_stdio(1, StdioSpec("custom", callback))

    def inherit_stdout(self) -> None:
        """Use this process's stdout (file descriptor 1)."""
        self._live()
        self._set_stdio(1, StdioSpec("inherit", 1))

    @property
    def stderr_file(self) -> None:
        raise AttributeError("stderr_file is write-only")

    @stderr_file.setter
    def stderr_file(self, path: PathLike) -> None:
        """Write stderr to ``path``, created or truncated now."""
        self._create(2, path, "stderr")

    @property
    def stderr_custom(self) -> None:
        raise AttributeError("stderr_custom is write-only")

    @stderr_custom.setter
    def stderr_custom(self, callback: Callable[[bytes], Any]) -> None:
        """Call ``callback(bytes)`` for each write to stderr (see ``stdout_custom``)."""
        self._live()
        self._set_stdio(2, StdioSpec("custom", callback))

    def inherit_stderr(self) -> None:
        """Use this process's stderr (file descriptor 2)."""
        self._live()
        self._set_stdio(2, StdioSpec("inherit", 2))

    def set_stdio_stream(self, fd: int, stream: BinaryIO) -> None:
        """(wasmlite) Connect guest fd ``fd`` (0, 1 or 2) to a binary Python file object.

        stdin calls ``stream.read(n)``; stdout/stderr call ``stream.write(data)``
        (an ``io.BytesIO`` captures output in memory).
        """
        self._live()
        if fd not in (0, 1, 2):
            raise WasmtimeError("stdio fd must be 0, 1 or 2")
        self._set_stdio(fd, StdioSpec("stream", stream))

    # -- preopens -----------------------------------------------------------------
    def preopen_dir(self, path: PathLike, guest_path: str,
                    fs_mutable: bool | DirPerms = True,
                    file_perms: FilePerms | None = None, *,
                    dir_perms: DirPerms | None = None) -> None:
        """Let the guest reach host directory ``path`` as ``guest_path`` (wasmtime-py 50:
        ``preopen_dir(path, guest_path, fs_mutable=True)``).

        The directory is opened now; it gets the next descriptor after those already
        preopened (the first is 3).  ``fs_mutable=False`` makes everything under it
        read-only, as Wasmtime's ``FsPerms::ReadOnly``: creating, removing, renaming,
        linking, setting times, opening a file for writing (or with ``O_CREAT`` /
        ``O_TRUNC``) and truncating all fail with ``EPERM``.  The ``DirPerms`` /
        ``FilePerms`` arguments of older wasmtime-py releases are accepted too
        (``dir_perms`` without ``MUTATE`` forbids changing entries, ``file_perms``
        without ``WRITE`` writing to files).  Raises :class:`WasmtimeError`
        ("failed to add preopen dir") when ``path`` is not a directory.
        Raises :class:`AttributeError` when ``path`` is not a ``str`` (or an
        ``os.PathLike``, a wasmlite extension) or ``guest_path`` not a ``str``, as
        wasmtime-py does.
        """
        if isinstance(path, bytes) or not isinstance(path, (str, os.PathLike)):
            raise AttributeError(f"expected a str path, got {type(path).__name__!r}")
        _str_arg(guest_path)
        self._live()
        if isinstance(fs_mutable, DirPerms) or dir_perms is not None or file_perms is not None:
            dperms = DirPerms(int(dir_perms if dir_perms is not None else
                                  (fs_mutable if isinstance(fs_mutable, DirPerms)
                                   else DirPerms.READ_WRITE)))
            fperms = FilePerms(int(file_perms if file_perms is not None else FilePerms.READ_WRITE))
            dir_mutable = bool(dperms & DirPerms.MUTATE)
            file_mutable = bool(fperms & FilePerms.WRITE)
        else:
            dir_mutable = file_mutable = bool(fs_mutable)
        host = _fspath_str(path)
        try:
            fd = os.open(host, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except OSError:
            raise WasmtimeError("failed to add preopen dir") from None
        self._preopens.append(Preopen(host, _c_string(str(guest_path)), fd, dir_mutable,
                                      file_mutable))


def _host_environ() -> list[tuple[str, str]]:
    """The process environment from the C library's ``environ``, in its order."""
    try:
        import ctypes
        env = ctypes.POINTER(ctypes.c_char_p).in_dll(ctypes.CDLL(None), "environ")
        out = []
        i = 0
        while env[i] is not None:
            key, sep, value = env[i].partition(b"=")
            if sep:
                out.append((os.fsdecode(key), os.fsdecode(value)))
            i += 1
        return out
    except (OSError, ValueError, AttributeError):
        return list(os.environ.items())


def _close_quietly(fd: int) -> None:
    try:
        os.close(fd)
    except OSError:
        pass
