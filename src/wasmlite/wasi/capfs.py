"""Path operations beneath a directory descriptor, the way Wasmtime performs them.

Wasmtime reaches the filesystem through cap-std's ``cap-primitives``; on Linux that
means:

* opening (and ``stat`` of a path, and ``set_times`` following symlinks) is one
  ``openat2(start, path, ..., RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS)``: the kernel
  resolves the whole path and refuses whatever would leave ``start`` (absolute paths,
  ``..`` above it, symlinks leading out) with ``EXDEV``, which becomes ``EPERM``;
* the other operations (mkdir, unlink, rmdir, link, rename, symlink, readlink,
  ``set_times`` without following) split the path into a parent, opened as above, and
  a last component (``"."`` when the path ends in ``/`` or ``/.`` or is ``..``-ish),
  then make one ``*at`` system call on them.

This module does the same, so errno values and edge cases (trailing slashes,
symlinks, ``.``/``..``) are the kernel's, as they are for Wasmtime.  Where
``openat2`` does not exist (kernels before 5.6, other systems) the walk is done by
hand, component by component (:func:`resolve`), as cap-std's fallback does.

Every function takes host descriptors and guest paths (``str``) and raises
``OSError`` (a host errno) or :class:`~wasmlite.wasi.ctx.WasiError` (``EPERM`` for an
escape).
"""

from __future__ import annotations

import ctypes
import errno
import os
import platform
import stat
from typing import Any

from . import constants as C

#: Most symlinks followed while resolving one path by hand (Linux's MAXSYMLINKS).
MAX_SYMLINKS = 40
#: Open flags for walking through intermediate directories by hand.
_O_WALK = getattr(os, "O_PATH", os.O_RDONLY) | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_O_PATH = getattr(os, "O_PATH", 0)
#: ``open_dir``: what cap-std opens directories with (``O_PATH`` where there is one).
O_DIR = os.O_RDONLY | os.O_DIRECTORY | _O_PATH | os.O_CLOEXEC

_RESOLVE_NO_MAGICLINKS = 0x02
_RESOLVE_BENEATH = 0x08
_SYS_OPENAT2 = {"x86_64": 437, "aarch64": 437, "arm64": 437, "riscv64": 437, "ppc64le": 437,
                "s390x": 437, "i686": 437, "armv7l": 437}.get(platform.machine())


class _OpenHow(ctypes.Structure):
    _fields_ = [("flags", ctypes.c_uint64), ("mode", ctypes.c_uint64), ("resolve", ctypes.c_uint64)]


def _load_syscall() -> Any:
    if _SYS_OPENAT2 is None or not hasattr(os, "O_PATH"):
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.syscall
    except (OSError, AttributeError):
        return None
    fn.restype = ctypes.c_long
    return fn


_syscall = _load_syscall()
#: Whether ``openat2`` is usable: ``None`` until first tried.
_openat2_ok: bool | None = None if _syscall is not None else False


def _escape() -> Exception:
    from .ctx import WasiError
    return WasiError(C.EPERM)


def _cpath(path: str) -> bytes:
    data = os.fsencode(path)
    if b"\0" in data:
        raise OSError(errno.EINVAL, "path contains a NUL byte")
    return data


def _openat2(start: int, path: bytes, flags: int, mode: int) -> int | None:
    """``openat2`` beneath ``start``; ``None`` when it cannot be used (then the walk is
    done by hand, as cap-std does for ``ENOSYS`` and ``EPERM``)."""
    global _openat2_ok
    if _openat2_ok is False:
        return None
    how = _OpenHow(flags, mode, _RESOLVE_BENEATH | _RESOLVE_NO_MAGICLINKS)
    for _ in range(4):
        fd = _syscall(_SYS_OPENAT2, ctypes.c_int(start), ctypes.c_char_p(path), ctypes.byref(how),
                      ctypes.c_size_t(ctypes.sizeof(how)))
        if fd >= 0:
            _openat2_ok = True
            return int(fd)
        err = ctypes.get_errno()
        if err == errno.EAGAIN:
            continue
        if err == errno.ENOSYS:
            _openat2_ok = False
            return None
        if err == errno.EPERM:
            return None
        if err == errno.EXDEV:
            raise _escape()
        raise OSError(err, os.strerror(err))
    return None


def open_beneath(start: int, path: str, flags: int, mode: int = 0o666) -> int:
    """Open ``path`` relative to ``start`` without leaving it (cap-std's ``open``).

    ``flags`` are host ``os.O_*`` flags (``O_NOFOLLOW`` refuses a symlink as the last
    component with ``ELOOP``).  Returns a new host descriptor.
    """
    data = _cpath(path)
    fd = _openat2(start, data, flags | os.O_CLOEXEC, mode if flags & os.O_CREAT else 0)
    if fd is not None:
        return fd
    with resolve(start, path, not flags & os.O_NOFOLLOW) as r:
        return os.open(r.host_name, flags | os.O_CLOEXEC, mode, dir_fd=r.dir_fd)


def open_dir(start: int, path: str) -> int:
    """Open the directory ``path`` (following symlinks) beneath ``start``."""
    return open_beneath(start, path, O_DIR)


# --- creation times (statx) ---------------------------------------------------------------------------
class _Statx(ctypes.Structure):
    _fields_ = [("mask", ctypes.c_uint32), ("blksize", ctypes.c_uint32),
                ("attributes", ctypes.c_uint64), ("nlink", ctypes.c_uint32),
                ("uid", ctypes.c_uint32), ("gid", ctypes.c_uint32), ("mode", ctypes.c_uint16),
                ("_spare0", ctypes.c_uint16), ("ino", ctypes.c_uint64), ("size", ctypes.c_uint64),
                ("blocks", ctypes.c_uint64), ("attributes_mask", ctypes.c_uint64),
                ("atime", ctypes.c_int64 * 2), ("btime", ctypes.c_int64 * 2),
                ("ctime", ctypes.c_int64 * 2), ("mtime", ctypes.c_int64 * 2),
                ("rdev_major", ctypes.c_uint32), ("rdev_minor", ctypes.c_uint32),
                ("dev_major", ctypes.c_uint32), ("dev_minor", ctypes.c_uint32),
                ("_spare", ctypes.c_uint64 * 14)]


def _load_statx() -> Any:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.statx
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_uint,
                   ctypes.POINTER(_Statx)]
    fn.restype = ctypes.c_int
    return fn


_statx_fn = _load_statx()
_STATX_BTIME = 0x800
_AT_EMPTY_PATH = 0x1000
_AT_SYMLINK_NOFOLLOW = 0x100


def birth_ns(dir_fd: int, name: str | None) -> int:
    """The creation time in ns of ``name`` in ``dir_fd`` (of ``dir_fd`` itself for
    ``None``), without following a symlink: what Wasmtime reports as ``ctim`` (Rust's
    ``Metadata::created()``, from ``statx``); 0 where the host keeps none."""
    if _statx_fn is None:
        return 0
    sx = _Statx()
    if name is None:
        rc = _statx_fn(dir_fd, b"", _AT_EMPTY_PATH | _AT_SYMLINK_NOFOLLOW, _STATX_BTIME,
                       ctypes.byref(sx))
    else:
        rc = _statx_fn(dir_fd, os.fsencode(name), _AT_SYMLINK_NOFOLLOW, _STATX_BTIME,
                       ctypes.byref(sx))
    if rc != 0 or not sx.mask & _STATX_BTIME:
        return 0
    return (sx.btime[0] * 1_000_000_000 + (sx.btime[1] & 0xFFFFFFFF)) & 0xFFFFFFFFFFFFFFFF


# --- splitting a path as Rust's Path does ---------------------------------------------------------
def requires_dir(path: str) -> bool:
    """cap-std's ``path_requires_dir``: the path ends in ``/`` or ``/.``."""
    return path.endswith("/") or path.endswith("/.")


def _trim_dirname(dirname: str) -> str:
    """What Rust's ``Components::as_path`` leaves: trailing ``/`` and ``.`` components
    dropped, but not a leading ``/`` or ``.``."""
    while True:
        stripped = dirname.rstrip("/")
        if not stripped:
            return "/" if dirname else ""
        if stripped.endswith("/."):
            dirname = stripped[:-1]
            continue
        return stripped


def split_parent(path: str) -> tuple[str, str] | None:
    """cap-std's ``split_parent``: ``(dirname, basename)``; ``basename`` is ``"."``
    when the path must name a directory or ends in ``..``/``/``.  ``None`` for ``""``."""
    if path == "":
        return None
    if not requires_dir(path):
        last = path.rsplit("/", 1)[-1]
        if path == ".":
            return "", "."
        if last not in ("", ".", ".."):
            return _trim_dirname(path[:len(path) - len(last)]), last
    return path, "."


class _Parent:
    """The parent directory of a path (owned or borrowed) and the last component."""

    __slots__ = ("fd", "name", "_owned")

    def __init__(self, start: int, path: str):
        split = split_parent(path)
        if split is None:
            raise OSError(errno.ENOENT, os.strerror(errno.ENOENT))
        dirname, self.name = split
        if dirname:
            self.fd = open_dir(start, dirname)
            self._owned = True
        else:
            self.fd = start
            self._owned = False

    def __enter__(self) -> _Parent:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._owned:
            self._owned = False
            os.close(self.fd)


def strip_dir_suffix(path: str) -> str:
    """Trailing slashes dropped unless that leaves ``/`` itself."""
    while len(path) > 1 and path.endswith("/"):
        path = path[:-1]
    return path


def _single_normal(path: str) -> str | None:
    """``path`` when it is one plain component (no ``/``, not ``.`` or ``..``), which
    cap-std stats directly; else ``None`` (a trailing ``/`` must be resolved)."""
    if "/" in path or path in ("", ".", ".."):
        return None
    return path


# --- the operations ---------------------------------------------------------------------------------
def create_dir(start: int, path: str) -> None:
    with _Parent(start, strip_dir_suffix(path)) as p:
        os.mkdir(p.name, 0o777, dir_fd=p.fd)


def remove_dir(start: int, path: str) -> None:
    with _Parent(start, path) as p:
        os.rmdir(p.name, dir_fd=p.fd)


def remove_file(start: int, path: str) -> None:
    with _Parent(start, path) as p:
        os.unlink(p.name, dir_fd=p.fd)


def symlink(target: str, start: int, path: str) -> None:
    """``path`` becomes a symlink to ``target``; an absolute target is an escape."""
    if target.startswith("/"):
        raise _escape()
    with _Parent(start, path) as p:
        os.symlink(target, p.name, dir_fd=p.fd)


def read_link(start: int, path: str) -> bytes:
    """The target of the symlink ``path``; an absolute target is an escape."""
    with _Parent(start, path) as p:
        target = os.readlink(os.fsencode(p.name), dir_fd=p.fd)
    if target.startswith(b"/"):
        raise _escape()
    return target


def hard_link(old_start: int, old_path: str, new_start: int, new_path: str) -> None:
    with _Parent(old_start, old_path) as old, _Parent(new_start, new_path) as new:
        os.link(old.name, new.name, src_dir_fd=old.fd, dst_dir_fd=new.fd, follow_symlinks=False)


def rename(old_start: int, old_path: str, new_start: int, new_path: str) -> None:
    """Rename; a trailing ``/`` on either path is kept for ``renameat`` (so a file
    renamed to or from ``x/`` is ``ENOTDIR``, as with Wasmtime)."""
    old_trailing, new_trailing = old_path.endswith("/"), new_path.endswith("/")
    with _Parent(old_start, strip_dir_suffix(old_path)) as old, \
            _Parent(new_start, strip_dir_suffix(new_path)) as new:
        os.rename(old.name + "/" if old_trailing else old.name,
                  new.name + "/" if new_trailing else new.name,
                  src_dir_fd=old.fd, dst_dir_fd=new.fd)


def stat_at(start: int, path: str, follow: bool) -> tuple[os.stat_result, int]:
    """cap-std's ``stat``: the metadata of what ``path`` names, and its creation time
    (:func:`birth_ns`).  One plain component without following is a
    ``fstatat``; anything else is opened with ``O_PATH`` beneath ``start``."""
    one = None if follow else _single_normal(path)
    if one is not None:
        _cpath(one)
        st = os.stat(one, dir_fd=start, follow_symlinks=False)
        return st, birth_ns(start, one)
    fd = open_beneath(start, path, os.O_RDONLY | _O_PATH | (0 if follow else os.O_NOFOLLOW))
    try:
        return os.fstat(fd), birth_ns(fd, None)
    finally:
        os.close(fd)


def set_times(start: int, path: str, follow: bool, apply: Any) -> None:
    """Set times on what ``path`` names: ``apply(fd=..., name=...)`` does it.

    Following symlinks, cap-std opens the file (for writing, else for reading) and
    uses the descriptor; without, it opens the parent and calls ``utimensat`` on the
    last component (which the kernel skips, lookup included, when nothing changes).
    """
    if follow:
        try:
            fd = open_beneath(start, path, os.O_WRONLY)
        except OSError as e:
            if e.errno not in (errno.EACCES, errno.EISDIR):
                raise
            fd = open_beneath(start, path, os.O_RDONLY)
        try:
            apply(fd, None)
        finally:
            os.close(fd)
        return
    with _Parent(start, path) as p:
        apply(p.fd, p.name)


# --- the walk by hand (no openat2) ------------------------------------------------------------------
class Resolved:
    """The result of resolving a guest path by hand: the last component inside a host
    directory.

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


def resolve(start: int, path: str, follow: bool, trailing_follows: bool = True) -> Resolved:
    """Resolve guest ``path`` relative to directory ``start`` by hand, inside it.

    Intermediate symlinks are always followed (inside the sandbox); the last
    component is followed only when ``follow`` is true, or when the path ends in
    ``/`` and ``trailing_follows`` is true (POSIX: ``link/`` names the target).  Raises
    ``WasiError``: ``ENOENT`` for an empty path or a missing intermediate directory,
    ``ENOTDIR`` when an intermediate component is not a directory, ``EPERM`` for an
    absolute path or target, or a ``..`` that leaves the root, ``ELOOP`` after
    ``MAX_SYMLINKS`` links, ``EINVAL`` for a NUL byte.
    """
    from .ctx import WasiError
    if path == "":
        raise WasiError(C.ENOENT)
    if "\0" in path:
        raise WasiError(C.EINVAL)  # the host cannot take it (Rust's CString)
    if path.startswith("/"):
        raise WasiError(C.EPERM)
    parts, trailing = _split(path)
    parts.reverse()  # a stack: the next component is parts[-1]
    stack: list[int] = [start]  # stack[0] is borrowed; the rest are ours
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
