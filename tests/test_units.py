"""convcalc/units.py: numbers for people (rounded counts, binary bytes, percentages) and the strict
parsing of quantities like `5M` and `16MiB`. Expected values are the arithmetic they stand for."""

from __future__ import annotations

from fractions import Fraction

import pytest

from convcalc.units import count, nbytes, number, parse_quantity, percent


@pytest.mark.parametrize("n, text", [
    (999, "999"),  # below 1000: exact
    (1000, "1.00 k"),
    (61_706, "61.7 k"),  # LeNet-5's params: 61.706 k, three significant digits
    (25_557_032, "25.6 M"),  # ResNet-50's params
    (4_089_184_256, "4.09 G"),
    (-12_345, "-12.3 k"),
])
def test_count_keeps_three_significant_digits(n, text):
    assert count(n) == text


@pytest.mark.parametrize("n, text", [
    (1023, "1023 B"),
    (1536, "1.50 KiB"),  # 1536 / 1024
    (9 * 1024**2 + 196 * 1024, "9.19 MiB"),  # 9.191... MiB
    (3 * 1024**3, "3.00 GiB"),
])
def test_nbytes_uses_binary_prefixes(n, text):
    assert nbytes(n) == text


@pytest.mark.parametrize("value, text", [(7, "7"), (Fraction(10, 2), "5"), (Fraction(1, 3), "0.333"), (0.5, "0.5")])
def test_number_is_exact_when_whole(value, text):
    assert number(value) == text


@pytest.mark.parametrize("text, value", [
    ("600", 600), ("5k", 5 * 10**3), ("5K", 5 * 10**3), ("1.5M", 1_500_000), ("4.2G", 4_200_000_000),
    ("16MiB", 16 * 2**20), ("1.5KiB", 1536), ("2GB", 2 * 10**9), (" 3 M ", 3 * 10**6), (".5k", 500),
])
def test_parse_quantity(text, value):
    assert parse_quantity(text) == value


@pytest.mark.parametrize("text, message", [
    ("1.0001k", "is not a whole number"),  # 1000.1
    ("5 parsecs", "must be a number with an optional unit"),
    ("5m", "must be a number with an optional unit"),  # milli is not a unit here; M is
    ("-5M", "must be a number with an optional unit"),
    ("５M", "must be a number with an optional unit"),  # full-width digit
])
def test_parse_quantity_refuses(text, message):
    with pytest.raises(ValueError, match=message):
        parse_quantity(text)


@pytest.mark.parametrize("growth, text", [
    (Fraction(1, 5), "+20%"),
    (Fraction(-1, 6), "-16.67%"),  # -16.666...: two decimals
    (Fraction(4, 10**6), "+0.0004%"),  # small changes keep two significant digits
    (Fraction(0), "0%"),
    (Fraction(10), "+1,000%"),
    (None, "+inf%"),  # growth from zero
])
def test_percent(growth, text):
    assert percent(growth) == text
