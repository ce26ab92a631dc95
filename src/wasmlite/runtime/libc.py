"""Thin ``ctypes`` bindings to the libc calls the runtime needs (``mmap``, ``mprotect``,
``munmap``, ``memmove``, ``memset``).

Linux/macOS only (POSIX). Errors are reported as :class:`OSError` with ``errno``.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import mmap as _mmap
import os
import sys

_libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)

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
    if size <= 0:
        return
    size = (size + HOST_PAGE_SIZE - 1) // HOST_PAGE_SIZE * HOST_PAGE_SIZE
    if _libc.mprotect(addr, size, PROT_READ | PROT_WRITE) != 0:
        _raise("mprotect")


def release(addr: int, size: int) -> None:
    """``munmap`` a reservation made by :func:`reserve`."""
    if _libc.munmap(addr, size) != 0:
        _raise("munmap")


memmove = ctypes.memmove
memset = ctypes.memset


class _PthreadAttr(ctypes.Structure):
    # glibc's pthread_attr_t is 56 bytes on 64-bit Linux (36 on 32-bit); room to spare
    _fields_ = [("opaque", ctypes.c_byte * 128)]


def current_thread_stack_size() -> int | None:
    """The size in bytes of the calling thread's stack (``pthread_getattr_np``: a new
    thread's real size, the main thread's from ``RLIMIT_STACK``), or ``None`` where that
    call does not exist or fails (non-glibc platforms)."""
    try:
        getattr_np = _libc.pthread_getattr_np
    except AttributeError:
        return None
    attr = _PthreadAttr()
    self_ = _libc.pthread_self
    self_.restype = ctypes.c_ulong
    getattr_np.argtypes = [ctypes.c_ulong, ctypes.c_void_p]
    if getattr_np(self_(), ctypes.byref(attr)) != 0:
        return None
    size = ctypes.c_size_t(0)
    try:
        if _libc.pthread_attr_getstacksize(ctypes.byref(attr), ctypes.byref(size)) != 0:
            return None
    finally:
        _libc.pthread_attr_destroy(ctypes.byref(attr))
    return size.value or None
