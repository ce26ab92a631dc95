"""Linear memories (WebAssembly spec §4.2.8 "Memory Instances") on ``mmap``.

A memory reserves its whole maximum up front (4 GiB when the type has no maximum) with
``mmap(PROT_NONE)`` and ``mprotect``s the accessible prefix as it grows, so ``base``
never moves: generated code can cache it.  The :data:`vm` array is the ``VMMemory``
structure of ``environ/vmoffsets.py`` (``base``, ``length`` and ``maximum`` in bytes).
"""

from __future__ import annotations

import ctypes

from ..environ.module import MAX_PAGES, PAGE_SIZE
from ..environ.vmoffsets import MEMORY_SIZE, SLOT
from . import libc, signals

_VMMEMORY = ctypes.c_uint64 * (MEMORY_SIZE // SLOT)

#: Reservations of freed guarded memories (``signals.GUARDED_RESERVATION`` bytes each),
#: reset to ``PROT_NONE`` with their pages dropped, which new guarded memories take
#: before reserving address space: an instance's memory then costs one ``mmap`` fewer,
#: no ``munmap`` of 8 GiB, and no update of the signal handler's table (a pooled
#: reservation stays registered: nothing can touch it).  At most :data:`POOL_MAX`
#: (list appends and pops are atomic, so finalizers may free into it): 1 TiB of
#: address space and no memory.
_POOL: list[int] = []
POOL_MAX = 128

#: The most pages a 64-bit memory can have here (8 GiB of address space, what a
#: guarded 32-bit memory reserves): memory64 allows 2**48, but generated code keeps the
#: base of a memory fixed, so its whole size is reserved up front.
MEMORY64_RESERVE = 2 * MAX_PAGES


def _pooled() -> int:
    """A guarded reservation registered with the signal handler: one from the pool,
    else a new one.  Raises :class:`OSError` when no address space is left and
    :class:`MemoryError` when the handler's table is full."""
    try:
        return _POOL.pop()
    except IndexError:
        pass
    base = libc.reserve(signals.GUARDED_RESERVATION)
    try:
        signals.register_memory(base, signals.GUARDED_RESERVATION)
    except MemoryError:
        libc.release(base, signals.GUARDED_RESERVATION)
        raise
    return base


class LinearMemory:
    """One linear memory.

    ``minimum``/``maximum`` are in 64 KiB pages (``maximum`` ``None`` = 65536 pages).
    ``guarded``: signals-based traps (an 8 GiB reservation, see ``runtime/signals.py``).
    ``is_64``: a 64-bit memory (memory64); it reserves at most :data:`MEMORY64_RESERVE`
    pages (its base never moves), and ``grow`` past them fails as a growth the host
    refuses does (-1), whatever its maximum.
    Raises :class:`MemoryError` when the address space cannot be reserved or the initial
    pages cannot be committed.
    """

    __slots__ = ("minimum", "maximum", "reserved", "base", "vm", "vm_addr", "_freed", "view",
                 "guarded", "limiter", "is_64", "index_mask", "__weakref__")

    def __init__(self, minimum: int, maximum: int | None, guarded: bool = False,
                 is_64: bool = False):
        self.is_64 = is_64
        #: what the builtins keep of an address operand: a 32-bit memory's low half
        #: (compiled code may leave the high half of the register unset)
        self.index_mask = (1 << 64) - 1 if is_64 else 0xFFFFFFFF
        if is_64:
            if minimum > MEMORY64_RESERVE:
                raise MemoryError(f"cannot allocate a 64-bit memory of {minimum} pages: "
                                  f"wasmlite reserves at most {MEMORY64_RESERVE}")
        elif minimum > MAX_PAGES or (maximum is not None and maximum > MAX_PAGES):
            raise MemoryError("memory size must be at most 65536 pages (4GiB)")
        self.minimum = minimum
        self.maximum = maximum
        if is_64:
            max_pages = MEMORY64_RESERVE if maximum is None else min(maximum, MEMORY64_RESERVE)
        else:
            max_pages = MAX_PAGES if maximum is None else maximum
        #: signals-based traps: reserve 4 GiB + guard whatever the maximum, and register
        #: the reservation with the signal handler (runtime/signals.py)
        self.guarded = guarded
        #: the owning store's ``StoreLimits`` (``Store.set_limits``), consulted by grow
        self.limiter = None
        if guarded:
            self.reserved = signals.GUARDED_RESERVATION
        else:
            self.reserved = max(max_pages * PAGE_SIZE, libc.HOST_PAGE_SIZE)
        try:
            self.base = _pooled() if guarded else libc.reserve(self.reserved)
        except OSError as e:
            raise MemoryError(f"cannot reserve {self.reserved} bytes for a linear memory: {e}") from None
        self._freed = False
        #: cached ``memoryview`` of the accessible bytes (``Memory.buffer``)
        self.view: memoryview | None = None
        self.vm = _VMMEMORY()
        self.vm_addr = ctypes.addressof(self.vm)
        self.vm[0] = self.base
        self.vm[1] = 0
        self.vm[2] = max_pages * PAGE_SIZE
        if minimum:
            try:
                libc.make_accessible(self.base, minimum * PAGE_SIZE)
            except OSError as e:
                self.free()
                raise MemoryError(f"cannot allocate {minimum} pages of linear memory: {e}") from None
        self.vm[1] = minimum * PAGE_SIZE

    @property
    def length(self) -> int:
        """Current length in bytes."""
        return self.vm[1]

    @property
    def pages(self) -> int:
        """Current size in pages."""
        return self.vm[1] // PAGE_SIZE

    @property
    def max_pages(self) -> int:
        """The largest size this memory may reach, in pages."""
        return self.vm[2] // PAGE_SIZE

    def grow(self, delta: int) -> int:
        """``memory.grow`` (spec §4.4.7): add ``delta`` pages.

        Returns the old size in pages, or ``-1`` when the result would exceed the maximum
        or the store's ``memory_size`` limit, or the pages cannot be committed.
        ``delta`` is an unsigned page count.
        """
        old = self.pages
        if delta < 0:
            return -1
        new = old + delta
        if new > self.max_pages:
            return -1
        if self.limiter is not None and delta and not self.limiter.memory_fits(new):
            return -1
        if delta:
            try:
                libc.make_accessible(self.base + old * PAGE_SIZE, delta * PAGE_SIZE)
            except OSError:
                return -1
            self.vm[1] = new * PAGE_SIZE
        return old

    def free(self) -> None:
        """Release the reservation (idempotent).  The memory must not be used after."""
        if not self._freed:
            self._freed = True
            used = self.vm[1]
            self.vm[1] = 0
            self.view = None
            if self.guarded:
                if len(_POOL) < POOL_MAX:
                    try:
                        libc.reset(self.base, used)
                    except OSError:
                        pass
                    else:
                        _POOL.append(self.base)
                        return
                signals.unregister_memory(self.base, self.reserved)
            libc.release(self.base, self.reserved)
