"""``WasiCtx``: the live state of a WASI preview 1 program.

Holds the arguments, the environment and the descriptor table.  Guest descriptors 0-2
are stdio, 3.. the preopened directories in the order they were configured, then files
and directories the guest opens (lowest free number first, as Wasmtime).

Path resolution (:meth:`WasiCtx.resolve`) is the sandbox: a guest path is walked one
component at a time from its directory descriptor with ``*at`` system calls
(``dir_fd=``), never handed to the host whole.  Absolute paths, ``..`` above the
preopen root and symlinks whose target is absolute or leads out are refused with
``EPERM``, as Wasmtime (cap-std) does; more than 40 symlinks give ``ELOOP``.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import WasmtimeError
from . import constants as C
from .config import DirPerms, FilePerms, StdioSpec, WasiConfig

#: Open flags for walking through intermediate directories.
_O_WALK = getattr(os, "O_PATH", os.O_RDONLY) | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
#: Most symlinks followed while resolving one path (Linux's MAXSYMLINKS).
MAX_SYMLINKS = 40


class WasiError(Exception):
    """A WASI call failed with ``errno`` (a WASI errno number, see :mod:`.constants`)."""

    def __init__(self, errno: int):
        super().__init__(errno)
        self.errno = errno


def filetype_from_mode(mode: int) -> int:
    """The WASI ``filetype`` of a host ``st_mode`` (FIFOs are ``unknown``, as Wasmtime)."""
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
    if stat.S_ISSOCK(mode):
        return C.FILETYPE_SOCKET_STREAM
    return C.FILETYPE_UNKNOWN


@dataclass
class FdEntry:
    """One guest descriptor.

    ``host_fd`` is the host descriptor (``None`` for stdio served by Python objects, see
    ``stream``); ``owned`` says whether closing the entry closes ``host_fd``.
    ``preopen`` is the guest name of a preopened directory.  ``dir_perms``/``file_perms``
    are inherited from the preopen the entry was reached through.
    """

    host_fd: int | None
    filetype: int
    rights_base: int
    rights_inheriting: int
    fdflags: int = 0
    owned: bool = True
    preopen: bytes | None = None
    stream: Any = None
    stream_kind: str = ""
    dir_perms: DirPerms = DirPerms.READ_WRITE
    file_perms: FilePerms = FilePerms.READ_WRITE
    readable: bool = True
    writable: bool = True
    is_stdio: bool = False

    @property
    def is_dir(self) -> bool:
        return self.filetype == C.FILETYPE_DIRECTORY

    def close(self) -> None:
        if self.host_fd is not None and self.owned:
            try:
                os.close(self.host_fd)
            except OSError:
                pass
        self.host_fd = None


class Resolved:
    """The result of resolving a guest path: the last component inside a host directory.

    ``dir_fd`` is a host directory descriptor, ``name`` one component (``"."`` for the
    directory itself; never contains ``/`` and is never ``..``), ``trailing_slash`` tells
    that the guest path ended in ``/``.  Use it as a context manager so the descriptors
    opened while walking are closed.
    """

    __slots__ = ("dir_fd", "name", "trailing_slash", "_owned")

    def __init__(self, dir_fd: int, name: str, trailing_slash: bool, owned: bool):
        self.dir_fd = dir_fd
        self.name = name
        self.trailing_slash = trailing_slash
        self._owned = owned

    @property
    def host_name(self) -> str:
        """``name`` with the guest's trailing slash kept (safe: the walk checked it)."""
        return self.name + "/" if self.trailing_slash else self.name

    def close(self) -> None:
        if self._owned:
            self._owned = False
            os.close(self.dir_fd)

    def __enter__(self) -> Resolved:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _split(path: str) -> tuple[list[str], bool]:
    parts = [p for p in path.split("/") if p]
    return parts, path.endswith("/")


class WasiCtx:
    """State of one WASI instance, built from a :class:`WasiConfig` (``Store.set_wasi``).

    Raises :class:`WasmtimeError` when a configured file or directory cannot be opened.
    ``close()`` releases every host descriptor the context opened.
    """

    def __init__(self, config: WasiConfig | None = None):
        config = config or WasiConfig()
        self.args: list[bytes] = [a.encode("utf-8") for a in config._argv]
        self.environ: list[bytes] = [f"{k}={v}".encode() for k, v in config._env]
        self.fds: dict[int, FdEntry] = {}
        self.exit_code: int | None = None
        try:
            for fd, spec in enumerate(config._stdio):
                self.fds[fd] = self._open_stdio(fd, spec)
                self.fds[fd].is_stdio = True
            for pre in config._preopens:
                try:
                    host = os.open(pre.path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
                except OSError as e:
                    raise WasmtimeError(f"failed to open preopen directory {pre.path!r}: {e}") from None
                self.fds[len(self.fds)] = FdEntry(
                    host, C.FILETYPE_DIRECTORY, C.DIRECTORY_RIGHTS,
                    C.DIRECTORY_RIGHTS | C.FILE_RIGHTS, preopen=pre.guest_path.encode("utf-8"),
                    dir_perms=pre.dir_perms, file_perms=pre.file_perms)
        except BaseException:
            self.close()
            raise

    # -- construction -----------------------------------------------------------------
    @staticmethod
    def _open_stdio(fd: int, spec: StdioSpec) -> FdEntry:
        rights = C.STDIN_RIGHTS if fd == 0 else C.STDOUT_RIGHTS
        if spec.kind == "inherit":
            try:
                ft = filetype_from_mode(os.fstat(spec.value).st_mode)
            except OSError:
                ft = C.FILETYPE_UNKNOWN
            return FdEntry(spec.value, ft, rights, rights, owned=False)
        if spec.kind == "file":
            try:
                if fd == 0:
                    host = os.open(spec.value, os.O_RDONLY | os.O_CLOEXEC)
                else:
                    host = os.open(spec.value, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC,
                                   0o666)
            except OSError as e:
                raise WasmtimeError(f"failed to open stdio file {spec.value!r}: {e}") from None
            return FdEntry(host, C.FILETYPE_UNKNOWN, rights, rights)
        if spec.kind == "bytes":
            return FdEntry(None, C.FILETYPE_UNKNOWN, rights, rights, stream=[spec.value, 0],
                           stream_kind="bytes")
        if spec.kind in ("stream", "custom"):
            return FdEntry(None, C.FILETYPE_UNKNOWN, rights, rights, stream=spec.value,
                           stream_kind=spec.kind)
        return FdEntry(None, C.FILETYPE_UNKNOWN, rights, rights, stream_kind="null")

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
        """The directory entry for ``fd``: ``EBADF`` if closed, ``ENOTDIR`` if not a directory."""
        entry = self.fds.get(fd)
        if entry is None:
            raise WasiError(C.EBADF)
        if not entry.is_dir:
            raise WasiError(C.ENOTDIR)
        return entry

    def insert(self, entry: FdEntry) -> int:
        """Give ``entry`` the lowest free guest descriptor number and return it."""
        fd = 0
        while fd in self.fds:
            fd += 1
        self.fds[fd] = entry
        return fd

    # -- sandboxed path resolution ------------------------------------------------------
    def resolve(self, base: FdEntry, path: str, follow: bool,
                trailing_follows: bool = True) -> Resolved:
        """Resolve guest ``path`` relative to directory ``base`` inside the sandbox.

        Intermediate symlinks are always followed (inside the sandbox); the last
        component is followed only when ``follow`` is true, or when the path ends in
        ``/`` and ``trailing_follows`` is true (POSIX: ``link/`` names the target).  Raises ``WasiError``:
        ``ENOENT`` for an empty path or a missing intermediate directory, ``ENOTDIR`` when
        an intermediate component is not a directory, ``EPERM`` for an absolute path or
        target, or a ``..`` that leaves the root, ``ELOOP`` after ``MAX_SYMLINKS`` links,
        ``EILSEQ`` for a NUL byte.
        """
        if path == "":
            raise WasiError(C.ENOENT)
        if "\0" in path:
            raise WasiError(C.EILSEQ)
        if path.startswith("/"):
            raise WasiError(C.EPERM)
        parts, trailing = _split(path)
        parts.reverse()  # a stack: the next component is parts[-1]
        stack: list[int] = [base.host_fd]  # stack[0] is borrowed; the rest are ours
        links = 0
        name = "."
        try:
            while parts:
                comp = parts.pop()
                last = not parts
                if comp == ".":
                    if last:
                        name = "."
                    continue
                if comp == "..":
                    if len(stack) == 1:
                        raise WasiError(C.EPERM)
                    os.close(stack.pop())
                    if last:
                        name = "."
                    continue
                if last and not (follow or (trailing and trailing_follows)):
                    name = comp
                    break
                try:
                    st = os.stat(comp, dir_fd=stack[-1], follow_symlinks=False)
                except OSError as e:
                    if last:
                        name = comp
                        break
                    raise WasiError(C.errno_from_oserror(e)) from None
                if stat.S_ISLNK(st.st_mode):
                    links += 1
                    if links > MAX_SYMLINKS:
                        raise WasiError(C.ELOOP)
                    try:
                        target = os.readlink(comp, dir_fd=stack[-1])
                    except OSError as e:
                        raise WasiError(C.errno_from_oserror(e)) from None
                    if target.startswith("/"):
                        raise WasiError(C.EPERM)
                    tparts, ttrail = _split(target)
                    if last and ttrail:
                        trailing = True
                    if not tparts:
                        tparts = ["."]
                    parts.extend(reversed(tparts))
                    continue
                if last:
                    name = comp
                    break
                if not stat.S_ISDIR(st.st_mode):
                    raise WasiError(C.ENOTDIR)
                try:
                    stack.append(os.open(comp, _O_WALK, dir_fd=stack[-1]))
                except OSError as e:
                    raise WasiError(C.errno_from_oserror(e)) from None
        except BaseException:
            for fd in stack[1:]:
                os.close(fd)
            raise
        for fd in stack[1:-1]:
            os.close(fd)
        return Resolved(stack[-1], name, trailing, len(stack) > 1)

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
