"""Human-readable numbers both ways: `12.3 M` for people, and strict parsing of `5M`, `100MiB`.

Counts use decimal prefixes (k, M, G, T; 1 k = 1000); bytes use binary ones in output
(KiB, MiB, GiB; 1 KiB = 1024). Parsing accepts exactly: a number, then optionally one of
k K M G T (x1000 steps), KB MB GB TB (x1000 steps), KiB MiB GiB TiB (x1024 steps); anything
else is an error, digits other than ASCII's 0-9 included (a full-width '５' is no number here).
The result must be a whole number.
"""

from __future__ import annotations

import re
from fractions import Fraction
from typing import Any

_COUNT_PREFIXES = ("", " k", " M", " G", " T", " P")
_BYTE_PREFIXES = (" B", " KiB", " MiB", " GiB", " TiB", " PiB")
_UNITS = {
    "": 1, "k": 10**3, "K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12,
    "KB": 10**3, "kB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12,
    "KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40, "B": 1,
}
# ASCII only ((?a), [0-9]): \d, str.isdigit and int() also take '５' and '٣', which no one means.
_QUANTITY = r"(?a)\s*([0-9]+(?:\.[0-9]+)?|\.[0-9]+)\s*([A-Za-z]*)\s*\Z"  # compiled on first use


def _scaled(value: float, step: int, prefixes: tuple[str, ...], whole: bool = True) -> str:
    """`value` in the largest unit it reaches, three significant digits (four below 1024 of a
    binary unit). The rounding decides the unit: 999,556 rounds to 1000 k, which is 1.00 M, so
    the digits and the unit are chosen for the rounded mantissa, never the raw one."""
    i = 0
    while abs(value) >= step and i < len(prefixes) - 1:
        value /= step
        i += 1
    if i == 0 and (whole or abs(value) < 1):  # a count's exact ones; a rate below 1, three digits
        return f"{value:.0f}{prefixes[0]}" if whole else f"{value:.3g}{prefixes[0]}"
    while True:
        for digits, below in ((2, 10), (1, 100), (0, None)):
            # the first precision whose rounded mantissa stays under its decade (9.996 -> 10.0)
            if below is None or abs(round(value, digits)) < below:
                break
        if abs(round(value, digits)) < step or i == len(prefixes) - 1:
            return f"{value:.{digits}f}{prefixes[i]}"
        value /= step  # rounding reached the next unit: 999.6 k is 1.00 M
        i += 1


def count(n: int) -> str:
    """12345678 -> '12.3 M'; below 1000 the exact number."""
    return str(n) if abs(n) < 1000 else _scaled(n, 1000, _COUNT_PREFIXES)


def nbytes(n: int) -> str:
    """Bytes with binary prefixes: 1536 -> '1.50 KiB'."""
    return _scaled(n, 1024, _BYTE_PREFIXES)


def rate(value: float, unit: str = "") -> str:
    """A measured rate with an SI prefix and up to three significant digits, trailing zeros left
    out as `%.3g` does: 1.23 TFLOP/s, 1.5 TB/s, 512 B/s; the rounding carries like a count's
    (999.96 GFLOP/s is 1 TFLOP/s, never 1e+03 GFLOP/s)."""
    mantissa, _, prefix = _scaled(value, 1000, tuple(f" {p}" for p in ("", "k", "M", "G", "T", "P")),
                                  whole=False).partition(" ")
    if "." in mantissa:
        mantissa = mantissa.rstrip("0").rstrip(".")
    return f"{mantissa} {prefix}{unit}"


def number(value: Any) -> str:
    """An int as is; a fraction or float with up to 3 decimals."""
    if isinstance(value, Fraction):
        if value.denominator == 1:
            return str(value.numerator)
        value = float(value)
    if isinstance(value, float):
        return f"{value:.3f}".rstrip("0").rstrip(".")
    return str(value)


def parse_quantity(text: str, what: str = "value") -> int:
    """'5M' -> 5000000, '100MiB' -> 104857600, '1.5k' -> 1500. ValueError on anything else."""
    match = re.match(_QUANTITY, str(text))
    if not match or match.group(2) not in _UNITS:
        raise ValueError(f"{what} must be a number with an optional unit (k, M, G, T, KB, MB, GB, KiB, MiB, GiB), "
                         f"got '{text}'")
    value = Fraction(match.group(1)) * _UNITS[match.group(2)]
    if value.denominator != 1:
        raise ValueError(f"{what} '{text}' is not a whole number")
    return int(value)


def percent(growth: Fraction | None) -> str:
    """A change as a short percentage, rounded to two significant digits below 1: +20%, -16.67%,
    +0.0004%; '+inf%' for growth from zero."""
    if growth is None:
        return "+inf%"
    p = growth * 100
    if p == 0:
        return "0%"
    if p.denominator == 1:
        return f"{int(p):+,}%"
    digits = 2
    while digits < 12 and abs(p) * 10**digits < 10:  # keep two significant digits of small changes
        digits += 1
    scaled = abs(round(p * 10**digits))
    whole, frac = divmod(scaled, 10**digits)
    text = f"{whole:,}.{frac:0{digits}d}".rstrip("0").rstrip(".")
    return ("-" if p < 0 else "+") + text + "%"
