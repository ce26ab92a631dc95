"""Thin ``ctypes`` bindings to the libc calls the runtime needs (``mmap``, ``mprotect``,
``munmap``, ``memmove``, ``memset``).

Linux/macOS only (POSIX). Errors are reported as :class:`OSError` with ``errno``.
"""

from __future__ import annotations

import ctypes
import mmap as _mmap
import os
import sys

_libc = ctypes.CDLL(None, use_errno=True)

_libc.mmap.restype = ctypes.c_void_p
_libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                       ctypes.c_int, ctypes.c_long]
_libc.mprotect.restype = ctypes.c_int
_libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
_libc.munmap.restype = ctypes.c_int
_libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
_libc.madvise.restype = ctypes.c_int
_libc.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]

PROT_NONE = 0
PROT_READ = _mmap.PROT_READ
PROT_WRITE = _mmap.PROT_WRITE
MAP_PRIVATE = _mmap.MAP_PRIVATE
MAP_ANONYMOUS = getattr(_mmap, "MAP_ANONYMOUS", 0x20)
MAP_NORESERVE = getattr(_mmap, "MAP_NORESERVE", 0x4000 if sys.platform.startswith("linux") else 0)
MAP_FIXED = getattr(_mmap, "MAP_FIXED", 0x10)
MAP_FAILED = ctypes.c_void_p(-1).value
MADV_DONTNEED = getattr(_mmap, "MADV_DONTNEED", 4)

#: The host's virtual-memory page size in bytes.
HOST_PAGE_SIZE = _mmap.PAGESIZE


def _raise(what: str) -> None:
    err = ctypes.get_errno()
    raise OSError(err, f"{what}: {os.strerror(err)}")


def reserve(size: int) -> int:
    """Reserve ``size`` bytes of address space, inaccessible (``PROT_NONE``).

    Returns the base address.  Raises :class:`OSError` when the kernel refuses.
    """
    addr = _libc.mmap(None, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0)
    if addr is None or addr == MAP_FAILED:
        _raise("mmap")
    return addr


def make_accessible(addr: int, size: int) -> None:
    """``mprotect`` ``[addr, addr+size)`` read/write (``size`` rounded up to host pages)."""
    protect(addr, size, PROT_READ | PROT_WRITE)


def protect(addr: int, size: int, prot: int) -> None:
    """``mprotect`` ``[addr, addr+size)`` to ``prot`` (``PROT_*`` bits; ``size`` rounded
    up to host pages; nothing when it is not positive).  Raises :class:`OSError` when
    the kernel refuses."""
    if size <= 0:
        return
    size = (size + HOST_PAGE_SIZE - 1) // HOST_PAGE_SIZE * HOST_PAGE_SIZE
    if _libc.mprotect(addr, size, prot) != 0:
        _raise("mprotect")


def map_private_fixed(addr: int, size: int, fd: int, offset: int) -> None:
    """Map ``size`` bytes of file ``fd`` from ``offset`` copy-on-write (``MAP_PRIVATE |
    MAP_FIXED``, read/write) over ``[addr, addr+size)``, replacing what was mapped there
    (a memory image over the start of a linear memory's reservation).  ``addr``,
    ``size`` and ``offset`` must be multiples of :data:`HOST_PAGE_SIZE`.  Raises
    :class:`OSError` when the kernel refuses (the range is then unchanged)."""
    got = _libc.mmap(addr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED, fd, offset)
    if got is None or got == MAP_FAILED:
        _raise("mmap")


def map_anonymous_fixed(addr: int, size: int) -> None:
    """Map fresh zero pages, read/write, over ``[addr, addr+size)`` (``MAP_FIXED``):
    puts back the anonymous memory a failed :func:`map_private_fixed` may have removed.
    Raises :class:`OSError` when the kernel refuses."""
    got = _libc.mmap(addr, size, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0)
    if got is None or got == MAP_FAILED:
        _raise("mmap")


def reset(addr: int, size: int) -> None:
    """Make ``[addr, addr+size)`` of a reservation inaccessible again and drop its pages
    (fresh ``PROT_NONE`` anonymous pages mapped over it, ``MAP_FIXED``; ``size`` rounded
    up to host pages), as :func:`reserve` left it.  Raises :class:`OSError` when the
    kernel refuses."""
    if size <= 0:
        return
    size = (size + HOST_PAGE_SIZE - 1) // HOST_PAGE_SIZE * HOST_PAGE_SIZE
    got = _libc.mmap(addr, size, PROT_NONE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0)
    if got is None or got == MAP_FAILED:
        _raise("mmap")


def release(addr: int, size: int) -> None:
    """``munmap`` a reservation made by :func:`reserve`."""
    if _libc.munmap(addr, size) != 0:
        _raise("munmap")


memmove = ctypes.memmove
memset = ctypes.memset
