"""Numeric literals of the WebAssembly text format (spec §6.3.1–6.3.2).

* :func:`parse_uint` – ``u32``/``u64``-style unsigned integers (no sign);
* :func:`parse_int` – ``iN`` as used by ``i32.const``/``i64.const`` and SIMD lanes: signed
  or unsigned form, returned as the signed value;
* :func:`parse_float_bits` – ``fN`` to its IEEE 754 bit pattern, rounded to nearest, ties
  to even, with ``inf``, ``nan`` and ``nan:0x...`` payloads kept exactly.

Each function returns ``None`` when the atom is not a literal of that class at all, and
raises :class:`LiteralRangeError` when it is one whose value does not fit
("constant out of range").  Digits may be separated by single underscores.
"""

from __future__ import annotations

import re
import struct

__all__ = ["LiteralRangeError", "parse_uint", "parse_int", "parse_float_bits",
           "F32_FORMAT", "F64_FORMAT"]

_DEC = r"[0-9](?:_?[0-9])*"
_HEX = r"[0-9a-fA-F](?:_?[0-9a-fA-F])*"
_UINT_RE = re.compile(rf"(?:({_DEC})|0x({_HEX}))\Z")
_INT_RE = re.compile(rf"([+-]?)(?:({_DEC})|0x({_HEX}))\Z")
_DEC_FLOAT_RE = re.compile(rf"({_DEC})(?:\.({_DEC})?)?(?:[eE]([+-]?{_DEC}))?\Z")
_HEX_FLOAT_RE = re.compile(rf"0x({_HEX})(?:\.({_HEX})?)?(?:[pP]([+-]?{_DEC}))?\Z")
_NAN_RE = re.compile(rf"nan(?::0x({_HEX}))?\Z")

#: (mantissa bits, exponent bits) of f32 and f64
F32_FORMAT = (23, 8)
F64_FORMAT = (52, 11)


class LiteralRangeError(ValueError):
    """A well-formed literal whose value is out of range for its type."""


def parse_uint(text: str) -> int | None:
    """The value of an unsigned integer literal (``123``, ``0x1_F``), or ``None``."""
    m = _UINT_RE.match(text)
    if m is None:
        return None
    dec, hexa = m.groups()
    if dec is not None:
        return int(dec)
    return int(hexa, 16)


def parse_int(text: str, bits: int) -> int | None:
    """The value of an ``iN`` literal as a signed ``int`` (``bits`` = N), or ``None``.

    Unsigned forms may go up to ``2**N - 1`` (wrapped to the signed value), negative
    ones down to ``-2**(N-1)``; otherwise :class:`LiteralRangeError`.
    """
    m = _INT_RE.match(text)
    if m is None:
        return None
    sign, dec, hexa = m.groups()
    v = int(dec) if dec is not None else int(hexa, 16)
    if sign == "-":
        if v > 1 << (bits - 1):
            raise LiteralRangeError(text)
        return -v
    if v >= 1 << bits:
        raise LiteralRangeError(text)
    if v >= 1 << (bits - 1):
        v -= 1 << bits
    return v


def _round_ieee(p: int, q: int, mbits: int, ebits: int) -> int:
    """Bits of the positive rational ``p / q`` rounded to nearest-even in the format."""
    bias = (1 << (ebits - 1)) - 1
    emin = 1 - bias
    e = p.bit_length() - q.bit_length()
    if (p << max(0, -e)) < (q << max(0, e)):
        e -= 1
    subnormal = e < emin
    if subnormal:
        e = emin
    shift = mbits - e
    if shift >= 0:
        num, den = p << shift, q
    else:
        num, den = p, q << -shift
    m, r = divmod(num, den)
    r2 = 2 * r
    if r2 > den or (r2 == den and m & 1):
        m += 1
    if subnormal:
        return m  # m == 2**mbits gives the smallest normal, as it should
    if m == 1 << (mbits + 1):
        m >>= 1
        e += 1
    biased = e + bias
    if biased >= (1 << ebits) - 1:
        raise LiteralRangeError("float overflow")
    return (biased << mbits) | (m - (1 << mbits))


def parse_float_bits(text: str, fmt: tuple[int, int]) -> int | None:
    """IEEE bits of the ``fN`` literal ``text`` (``fmt`` = ``F32_FORMAT``/``F64_FORMAT``).

    Returns ``None`` if ``text`` is not a float literal; raises
    :class:`LiteralRangeError` when it rounds to infinity or a NaN payload is out of
    range (0 or wider than the mantissa).  Integers are float literals too.
    """
    mbits, ebits = fmt
    sign_bit = 0
    body = text
    if body[:1] in ("+", "-"):
        if body[0] == "-":
            sign_bit = 1 << (mbits + ebits)
        body = body[1:]
    exp_all = ((1 << ebits) - 1) << mbits
    c = body[:1]
    if c == "i":
        if body == "inf":
            return sign_bit | exp_all
        return None
    if c == "n":
        m = _NAN_RE.match(body)
        if m is None:
            return None
        if m.group(1) is None:
            return sign_bit | exp_all | (1 << (mbits - 1))
        payload = int(m.group(1), 16)
        if payload == 0 or payload >= 1 << mbits:
            raise LiteralRangeError(text)
        return sign_bit | exp_all | payload
    if body.startswith("0x"):
        m = _HEX_FLOAT_RE.match(body)
        if m is None:
            return None
        ip, fp, ep = m.groups()
        fp = (fp or "").replace("_", "")
        mant = int(ip.replace("_", "") + fp, 16)
        exp2 = (int(ep.replace("_", "")) if ep else 0) - 4 * len(fp)
        if mant == 0:
            return sign_bit
        mag = mant.bit_length() + exp2
        if mag > (1 << (ebits - 1)) + 2:
            raise LiteralRangeError(text)
        if mag < -(1 << (ebits - 1)) - mbits - 4:
            return sign_bit
        if exp2 >= 0:
            return sign_bit | _round_ieee(mant << exp2, 1, mbits, ebits)
        return sign_bit | _round_ieee(mant, 1 << -exp2, mbits, ebits)
    m = _DEC_FLOAT_RE.match(body)
    if m is None:
        return None
    ip, fp, ep = m.groups()
    if mbits == 52:
        try:
            v = float(body.replace("_", ""))
        except ValueError:  # pragma: no cover - regex guarantees the syntax
            return None
        if v == float("inf"):
            raise LiteralRangeError(text)
        return sign_bit | struct.unpack("<Q", struct.pack("<d", v))[0]
    fp = (fp or "").replace("_", "")
    digits = (ip.replace("_", "") + fp).lstrip("0")
    if not digits:
        return sign_bit
    exp10 = (int(ep.replace("_", "")) if ep else 0) - len(fp)
    mag = len(digits) + exp10  # value < 10**mag
    if mag > 400:
        raise LiteralRangeError(text)
    if mag < -400:
        return sign_bit
    mant = int(digits)
    if exp10 >= 0:
        return sign_bit | _round_ieee(mant * 10 ** exp10, 1, mbits, ebits)
    return sign_bit | _round_ieee(mant, 10 ** -exp10, mbits, ebits)
