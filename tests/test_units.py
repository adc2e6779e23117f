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



# Every unit boundary, both signs, with the step of its scale: 1000 for counts, 1024 for bytes.
# `step - 0.6` units rounds to step - 1 (999 k, 1023 KiB) and stays; `step - 0.4` units rounds to
# the step itself, which is 1.00 of the next unit. 9.996 and 99.96 units carry a decade (10.0, 100).
_SCALES = [(count, 1000, ["", " k", " M", " G", " T", " P"]),
           (nbytes, 1024, [" B", " KiB", " MiB", " GiB", " TiB", " PiB"])]


def _boundary_cases():  # type: ignore[no-untyped-def]
    for fmt, step, units in _SCALES:
        for power in range(len(units) - 1):
            unit, nxt, base = units[power], units[power + 1], step**power
            yield fmt, (10 * step - 6) * base // 10, f"{step - 1}{unit}"
            if power:  # below one unit the numbers are whole: no rounding to carry
                yield fmt, (10 * step - 4) * base // 10, f"1.00{nxt}"
                yield fmt, (10**4 - 4) * base // 10**3, f"10.0{unit}"
                yield fmt, (10**5 - 4) * base // 10**3, f"100{unit}"


_BOUNDARIES = [(fmt, sign * n, ("-" if sign < 0 else "") + text)
               for fmt, n, text in _boundary_cases() for sign in (1, -1)]


@pytest.mark.parametrize("fmt, n, text", _BOUNDARIES, ids=[f"{f.__name__}-{n}" for f, n, _ in _BOUNDARIES])
def test_rounding_carries_into_the_next_unit(fmt, n, text):
    assert fmt(n) == text


def test_999556_is_a_million():  # the issue's own number: 999.556 k rounds to 1000 k, i.e. 1.00 M
    assert count(999_556) == "1.00 M"


hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, strategies as st  # noqa: E402


@given(st.integers(min_value=-(10**17), max_value=10**17), st.sampled_from(_SCALES))
def test_printed_numbers_read_back_within_their_rounding(n, scale):
    fmt, step, units = scale
    text = fmt(n)
    mantissa_text, _, unit = text.partition(" ")
    power = units.index(f" {unit}" if unit else "")
    mantissa = Fraction(mantissa_text)
    decimals = len(mantissa_text.partition(".")[2])
    # what was printed, read back, is within half a unit of its last digit of the true value
    assert abs(mantissa * step**power - n) <= Fraction(1, 2) / 10**decimals * step**power
    assert abs(mantissa) < step  # never "1000 k" or "1024 KiB"
    if power:
        assert 3 <= len(mantissa_text.lstrip("-").replace(".", "")) <= 4  # 3 significant digits (4 for 1000-1023)


@pytest.mark.parametrize("value, unit, text", [
    (999.96e9, "FLOP/s", "1 TFLOP/s"),  # 0.99996 T: the rounding carries into the prefix
    (999.4e9, "FLOP/s", "999 GFLOP/s"),
    (9.996e12, "FLOP/s", "10 TFLOP/s"),  # 9.996 rounds to 10.0; the trailing zero left out, as %.3g does
    (1.234e12, "B/s", "1.23 TB/s"),
    (1.5e12, "B/s", "1.5 TB/s"),
    (512.0, "B/s", "512 B/s"),
    (999.7, "B/s", "1 kB/s"),  # 999.7 rounds to 1000 at three digits
    (0.25, "B/s", "0.25 B/s"),
])
def test_rate_keeps_up_to_three_significant_digits_and_carries(value, unit, text):
    from convcalc.units import rate

    assert rate(value, unit) == text


@pytest.mark.parametrize("seconds, text", [(0.9994, "999 ms"), (0.9996, "1,000 ms"), (12.5, "12,500 ms")])
def test_a_drawings_time_is_never_in_e_notation(seconds, text):
    from convcalc.diagram import Metric
    from convcalc.reporters.drawing import value_text

    assert value_text(Metric.TIME, seconds) == text
