"""``WasiCtx``: the live state of a WASI preview 1 program.

Holds the arguments, the environment and the descriptor table, as Wasmtime's
preview 1 adapter (``wasmtime_wasi::p1``) does.  Guest descriptors 0-2 are stdin,
stdout and stderr, 3.. the preopened directories in the order they were configured.
A new descriptor takes the *highest* number freed so far (``fd_close``,
``fd_renumber``), else one more than the highest number in use — Wasmtime keeps the
freed numbers in an ordered set and pops its last element.  So after closing 7 then
6 the next open gets 7, then 6, then the first never-used number.

Paths are resolved beneath a directory descriptor by :mod:`wasmlite.wasi.capfs`, the
sandbox: as Wasmtime (cap-std), absolute paths, ``..`` above the preopen root and
symlinks whose target is absolute or leads out are refused with ``EPERM``.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import WasmtimeError
from . import constants as C
from .capfs import Resolved, resolve
from .config import StdioSpec, WasiConfig


class WasiError(Exception):
    """A WASI call failed with ``errno`` (a WASI errno number, see :mod:`.constants`)."""

    def __init__(self, errno: int):
        super().__init__(errno)
        self.errno = errno


def filetype_from_mode(mode: int) -> int:
    """The WASI ``filetype`` of a host ``st_mode`` (FIFOs and sockets are ``unknown``
    here; Wasmtime has no FIFO type and refuses sockets)."""
    if stat.S_ISREG(mode):
        return C.FILETYPE_REGULAR_FILE
    if stat.S_ISDIR(mode):
        return C.FILETYPE_DIRECTORY
    if stat.S_ISLNK(mode):
        return C.FILETYPE_SYMBOLIC_LINK
    if stat.S_ISCHR(mode):
        return C.FILETYPE_CHARACTER_DEVICE
    if stat.S_ISBLK(mode):
        return C.FILETYPE_BLOCK_DEVICE
    return C.FILETYPE_UNKNOWN


#: Kinds of descriptor, as Wasmtime's preview 1 adapter has them.
STDIN, STDOUT, STDERR, DIRECTORY, FILE = "stdin", "stdout", "stderr", "dir", "file"


@dataclass
class FdEntry:
    """One guest descriptor (Wasmtime's ``p1::Descriptor``).

    ``kind`` is ``"stdin"``, ``"stdout"``, ``"stderr"``, ``"dir"`` or ``"file"``; it
    travels with the entry when ``fd_renumber`` moves it.  ``host_fd`` is the host
    descriptor (``None`` for stdio served by Python objects, see ``stream`` /
    ``stream_kind``); ``owned`` says whether closing the entry closes it.
    ``preopen`` is the guest name of a preopened directory.  ``readable`` /
    ``writable`` are the mode the host descriptor was opened with; ``dir_mutable`` /
    ``file_mutable`` the permissions of the preopen the entry was reached through.
    Files carry their own ``position`` (Wasmtime does not use the host offset),
    ``append`` and ``nonblock`` flags.  ``isatty`` tells whether a stdio entry is a
    terminal (filetype ``character_device``, else ``unknown``); ``broken`` that an
    output callback failed (later writes fail with ``EIO``, as Wasmtime's stream).
    """

    kind: str
    host_fd: int | None = None
    owned: bool = True
    preopen: bytes | None = None
    stream: Any = None
    stream_kind: str = ""
    isatty: bool = False
    readable: bool = True
    writable: bool = False
    dir_mutable: bool = True
    file_mutable: bool = True
    position: int = 0
    append: bool = False
    nonblock: bool = False
    broken: bool = False

    @property
    def is_dir(self) -> bool:
        return self.kind == DIRECTORY

    @property
    def is_file(self) -> bool:
        return self.kind == FILE

    @property
    def is_stdio(self) -> bool:
        return self.kind in (STDIN, STDOUT, STDERR)

    def close(self) -> None:
        if self.host_fd is not None and self.owned:
            try:
                os.close(self.host_fd)
            except OSError:
                pass
        self.host_fd = None


def _dup(fd: int) -> int:
    return os.dup(fd)  # new descriptors are close-on-exec in Python


class WasiCtx:
    """State of one WASI instance, built from a :class:`WasiConfig` (``Store.set_wasi``).

    The context duplicates the host descriptors the configuration opened, so the
    configuration can be closed (``Store.set_wasi`` consumes it) or used again.
    ``monotonic_origin`` is the host ``time.monotonic_ns()`` that the guest's monotonic
    clock counts from (when the configuration was made, as Wasmtime).
    ``close()`` releases every host descriptor the context opened.
    """

    def __init__(self, config: WasiConfig | None = None):
        config = config or WasiConfig()
        config._live()
        self.args: list[bytes] = [a.encode("utf-8") for a in config._argv]
        self.environ: list[bytes] = [f"{k}={v}".encode() for k, v in config._env]
        self.monotonic_origin: int = config._monotonic_origin
        self.fds: dict[int, FdEntry] = {}
        self.free: set[int] = set()
        self.exit_code: int | None = None
        try:
            for kind, spec in zip((STDIN, STDOUT, STDERR), config._stdio, strict=True):
                self.insert(self._open_stdio(kind, spec))
            for pre in config._preopens:
                self.insert(FdEntry(DIRECTORY, _dup(pre.fd), preopen=pre.guest_path.encode("utf-8"),
                                    readable=True, writable=pre.dir_mutable,
                                    dir_mutable=pre.dir_mutable, file_mutable=pre.file_mutable))
        except BaseException:
            self.close()
            raise

    # -- construction -----------------------------------------------------------------
    @staticmethod
    def _open_stdio(kind: str, spec: StdioSpec) -> FdEntry:
        if spec.kind == "inherit":
            try:
                tty = os.isatty(spec.value)
            except OSError:
                tty = False
            return FdEntry(kind, spec.value, owned=False, isatty=tty)
        if spec.kind == "fd":
            try:
                host = _dup(spec.value)
            except OSError as e:
                raise WasmtimeError(f"failed to open stdio file: {e}") from None
            return FdEntry(kind, host)
        if spec.kind == "bytes":
            return FdEntry(kind, stream=[spec.value, 0], stream_kind="bytes")
        if spec.kind in ("stream", "custom"):
            return FdEntry(kind, stream=spec.value, stream_kind=spec.kind)
        return FdEntry(kind, stream_kind="null")

    def close(self) -> None:
        """Close every host descriptor this context owns."""
        for entry in self.fds.values():
            entry.close()
        self.fds.clear()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass

    # -- descriptor table -------------------------------------------------------------
    def get(self, fd: int) -> FdEntry:
        """The entry for guest ``fd``; ``WasiError(EBADF)`` when there is none."""
        entry = self.fds.get(fd)
        if entry is None:
            raise WasiError(C.EBADF)
        return entry

    def get_dir(self, fd: int) -> FdEntry:
        """The directory entry for ``fd``: ``EBADF`` when ``fd`` is closed or is not a
        directory (Wasmtime's ``get_dir_fd``; only ``path_open`` says ``ENOTDIR`` for a
        file)."""
        entry = self.fds.get(fd)
        if entry is None or not entry.is_dir:
            raise WasiError(C.EBADF)
        return entry

    def get_file(self, fd: int) -> FdEntry:
        """The regular-file entry for ``fd`` (Wasmtime's ``get_file``): ``EBADF`` for a
        closed descriptor, a directory or stdio."""
        entry = self.fds.get(fd)
        if entry is None or not entry.is_file:
            raise WasiError(C.EBADF)
        return entry

    def insert(self, entry: FdEntry) -> int:
        """Give ``entry`` a guest descriptor number and return it: the highest freed
        number if any (Wasmtime's ``BTreeSet::pop_last``), else one more than the
        highest number in use (0 for an empty table).  ``ELOOP`` when all 2**32 are used."""
        if self.free:
            fd = max(self.free)
            self.free.discard(fd)
        elif not self.fds:
            fd = 0
        else:
            fd = max(self.fds) + 1
            if fd > 0xFFFFFFFF:
                if len(self.fds) >= 1 << 32:
                    raise WasiError(C.ELOOP)
                fd = next(n for n in range(0xFFFFFFFF, -1, -1) if n not in self.fds)
        self.fds[fd] = entry
        return fd

    def remove(self, fd: int) -> FdEntry:
        """Take ``fd`` out of the table (its number becomes free); ``EBADF`` if unused."""
        entry = self.fds.pop(fd, None)
        if entry is None:
            raise WasiError(C.EBADF)
        self.free.add(fd)
        return entry

    def renumber(self, fd: int, to: int) -> None:
        """``fd_renumber``: close ``to`` and move ``fd``'s entry there (``EBADF`` unless
        both are open; nothing happens when they are the same)."""
        if fd not in self.fds or to not in self.fds:
            raise WasiError(C.EBADF)
        if fd == to:
            return
        self.remove(to).close()
        entry = self.fds.pop(fd)
        self.free.add(fd)
        self.free.discard(to)
        self.fds[to] = entry

    # -- sandboxed path resolution ------------------------------------------------------
    def resolve(self, base: FdEntry, path: str, follow: bool,
                trailing_follows: bool = True) -> Resolved:
        """Resolve guest ``path`` under directory entry ``base`` by hand (see
        :func:`wasmlite.wasi.capfs.resolve`)."""
        if base.host_fd is None:
            raise WasiError(C.EBADF)
        return resolve(base.host_fd, path, follow, trailing_follows)

    def with_path(self, fd: int, path: str, follow: bool, fn: Callable[[Resolved], Any],
                  trailing_follows: bool = True) -> Any:
        """Resolve ``path`` under directory ``fd`` and call ``fn(resolved)``.

        Host ``OSError`` raised by ``fn`` becomes the matching ``WasiError``.
        """
        entry = self.get_dir(fd)
        with self.resolve(entry, path, follow, trailing_follows) as r:
            try:
                return fn(r)
            except OSError as e:
                raise WasiError(C.errno_from_oserror(e)) from None
