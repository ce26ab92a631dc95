"""LEB128 integers of the WebAssembly binary format (spec §5.2.2).

Every reader takes ``(data, pos)`` and returns ``(value, new_pos)``.  The spec's limits
apply: an ``uN`` / ``sN`` takes at most ``ceil(N / 7)`` bytes ("integer representation
too long", reported at the offset just past the last allowed byte) and the unused bits
of the last byte must be zero (unsigned) or a sign extension (signed) ("integer too
large", reported at the offset of that byte).  Running off the end of ``data`` raises
"unexpected end of section or function" at ``len(data)``.  All errors are
:class:`wasmlite.errors.DecodeError`; the wording is the reference interpreter's.
"""

from __future__ import annotations

from wasmlite.errors import DecodeError

EOS_MESSAGE = "unexpected end of section or function"


def read_unsigned(data: bytes, pos: int, bits: int) -> tuple[int, int]:
    """Read an unsigned LEB128 integer of at most ``bits`` bits (``u1``, ``u32``, ``u64``)."""
    result = 0
    shift = 0
    n = bits
    end = len(data)
    while True:
        if n <= 0:
            raise DecodeError("integer representation too long", pos)
        if pos >= end:
            raise DecodeError(EOS_MESSAGE, end)
        b = data[pos]
        pos += 1
        if n < 7 and (b & 0x7F) >= (1 << n):
            raise DecodeError("integer too large", pos - 1)
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7
        n -= 7


def read_signed(data: bytes, pos: int, bits: int) -> tuple[int, int]:
    """Read a signed LEB128 integer of at most ``bits`` bits (``s32``, ``s33``, ``s64``)."""
    result = 0
    shift = 0
    n = bits
    end = len(data)
    while True:
        if n <= 0:
            raise DecodeError("integer representation too long", pos)
        if pos >= end:
            raise DecodeError(EOS_MESSAGE, end)
        b = data[pos]
        pos += 1
        if n < 7:
            mask = (-1 << (n - 1)) & 0x7F
            if (b & mask) != 0 and (b & mask) != mask:
                raise DecodeError("integer too large", pos - 1)
        result |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            if b & 0x40:
                result -= 1 << shift
            return result, pos
        n -= 7


def read_u32(data: bytes, pos: int) -> tuple[int, int]:
    """``u32``: an unsigned integer in ``0 .. 2**32-1``, at most 5 bytes."""
    b = data[pos] if pos < len(data) else 0x80
    if b < 0x80:
        return b, pos + 1
    return read_unsigned(data, pos, 32)


def read_u64(data: bytes, pos: int) -> tuple[int, int]:
    """``u64``: an unsigned integer in ``0 .. 2**64-1``, at most 10 bytes."""
    return read_unsigned(data, pos, 64)


def read_s32(data: bytes, pos: int) -> tuple[int, int]:
    """``s32``: a signed integer in ``-2**31 .. 2**31-1``, at most 5 bytes."""
    return read_signed(data, pos, 32)


def read_s33(data: bytes, pos: int) -> tuple[int, int]:
    """``s33`` (block types): a signed integer in ``-2**32 .. 2**32-1``, at most 5 bytes."""
    return read_signed(data, pos, 33)


def read_s64(data: bytes, pos: int) -> tuple[int, int]:
    """``s64``: a signed integer in ``-2**63 .. 2**63-1``, at most 10 bytes."""
    return read_signed(data, pos, 64)


def encode_unsigned(value: int) -> bytes:
    """The shortest unsigned LEB128 encoding of ``value >= 0`` (for tests and tools)."""
    out = bytearray()
    while True:
        b = value & 0x7F
        value >>= 7
        if value:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def encode_signed(value: int) -> bytes:
    """The shortest signed LEB128 encoding of ``value`` (for tests and tools)."""
    out = bytearray()
    while True:
        b = value & 0x7F
        value >>= 7
        if (value == 0 and not b & 0x40) or (value == -1 and b & 0x40):
            out.append(b)
            return bytes(out)
        out.append(b | 0x80)
