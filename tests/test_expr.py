"""convcalc/spec/expr.py: `${...}` expressions: integer and float arithmetic, the rounding
functions scaled networks use, whole-number results, and the bounds (test_limits.py has the
integer bound's hostile cases)."""

from __future__ import annotations

import math

import pytest

from convcalc import limits
from convcalc.errors import LayerError
from convcalc.spec.expr import Computed, evaluate_expression as evaluate, make_divisible


@pytest.mark.parametrize("text, names, value", [
    ("7 // 2", {}, 3),
    ("-7 // 2", {}, -4),  # floor division, as Python
    ("7 % 3", {}, 1),
    ("c * 6", {"c": 16}, 96),
    ("32 * 1.25", {}, 40),  # a whole float is the integer
    ("c * w", {"c": 32, "w": 0.5}, 16),
    ("+3 - -2", {}, 5),
    ("(1 + 2) * 3", {}, 9),
    ("1e3 / 8", {}, 125),
    ("round(2.5)", {}, 2),  # halves to even: Python's round, which torchvision's int(round(x)) uses
    ("round(3.5)", {}, 4),
    ("round(inp * t)", {"inp": 16, "t": 6}, 96),
    ("ceil(3 * 1.1)", {}, 4),  # 3 * 1.1 is 3.3000000000000003 in floats: ceil 4, as torchvision's depth rule
    ("ceil(n * d)", {"n": 2, "d": 1.1}, 3),
    ("floor(7 / 2)", {}, 3),
    ("floor(-0.5)", {}, -1),
    ("min(3, 1, 2)", {}, 1),
    ("max(1, 2.5 * 2)", {}, 5),
    ("max(1, c // 4)", {"c": 3}, 1),
])
def test_values(text, names, value):
    result = evaluate(text, names)
    assert result == value and type(result) is int


@pytest.mark.parametrize("text, names, value", [
    ("7 / 2", {}, 3.5),
    ("c * w", {"c": 32, "w": 1.2}, 32 * 1.2),  # 38.4, computed as Python computes it
    ("1.1 * 1.1", {}, 1.1 * 1.1),
    ("d / 3", {"d": 1}, 1 / 3),
])
def test_a_fraction_stays_a_float_that_remembers_its_expression(text, names, value):
    result = evaluate(text, names)
    assert isinstance(result, Computed) and result == value and result.text == text
    assert repr(result) == repr(value)  # in JSON and messages, a plain float


# torchvision's _make_divisible(v, 8): max(8, int(v + 4) // 8 * 8), plus 8 when that is below 0.9 * v
@pytest.mark.parametrize("v, d, expected", [
    (32 * 1.0, 8, 32),
    (32 * 0.5, 8, 16),
    (24 * 0.75, 8, 24),  # 18: int(18 + 4) // 8 * 8 = 16 is below 0.9 * 18 = 16.2, so 16 + 8
    (32 * 0.35, 8, 16),  # 11.2: int(15.2) // 8 * 8 = 8 is below 10.08, so 16
    (40 * 1.1, 8, 48),  # 44: int(48) // 8 * 8 = 48 (halves go up)
    (112 * 1.1, 8, 120),  # 123.2: int(127.2) = 127, // 8 * 8 = 120, not below 110.88
    (1280 * 1.4, 8, 1792),
    (3, 8, 8),  # never below d
    (100, 1, 100),
    (20, 16, 32),  # 20: int(28) // 16 * 16 = 16 is 20% below 20 (below 0.9 * 20 = 18), so 16 + 16
    (17, 16, 16),  # 17: 16 is not below 0.9 * 17 = 15.3
])
def test_make_divisible_is_torchvisions_rule(v, d, expected):
    assert make_divisible(v, d) == expected
    assert evaluate(f"make_divisible({v!r}, {d})", {}) == expected


def test_make_divisible_in_an_expression_with_names():
    assert evaluate("make_divisible(c * width, 8)", {"c": 320, "width": 1.1}) == 352  # 352.0 exactly
    assert evaluate("make_divisible(c * width, 8)", {"c": 192, "width": 1.4}) == 272  # 268.8 -> 272


@pytest.mark.parametrize("text, names, message", [
    ("7 / 0", {}, "division by zero in expression '7 / 0'"),
    ("7 % 0", {}, "division by zero in expression '7 % 0'"),
    ("7.5 // 0.0", {}, "division by zero in expression '7.5 // 0.0'"),
    ("1e400", {}, "a value in expression '1e400' is not a finite number"),
    ("1e30 * 1e30", {}, "outside the limit of -2\\^96 to 2\\^96"),  # 1e60: finite, and beyond the bound
    ("ceil(1e29)", {}, "outside the limit of -2\\^96 to 2\\^96"),
    ("make_divisible(10, 2.5)", {}, "make_divisible\\(\\) needs a whole number, got 2.5"),
    ("make_divisible(10, 0)", {}, "make_divisible\\(\\) needs a divisor of 1 or more, got 0"),
    ("round(1, 2)", {}, "round\\(\\) takes 1 argument, got 2 in expression 'round\\(1, 2\\)'"),
    ("make_divisible(10)", {}, "make_divisible\\(\\) takes 2 arguments, got 1"),
    ("rnd(1.5)", {}, "unknown function 'rnd' in expression 'rnd\\(1.5\\)' \\(did you mean 'round'\\?\\)"),
    ("ceil", {}, "unknown name 'ceil' in expression 'ceil' \\(a function is called: name\\(...\\)\\)"),
    ("x * 2", {"x": True}, "'x' is not a number in expression 'x \\* 2'"),
    ("x * 2", {"x": "relu"}, "'x' is not a number"),
    ("min(1, 2", {}, "missing '\\)' in expression 'min\\(1, 2'"),
    ("2 ** 3", {}, "unexpected '\\*' in expression '2 \\*\\* 3'"),  # no powers: their values explode
    ("a.b", {"a": 1}, "unexpected '.b' in expression 'a.b'"),
])
def test_mistakes_are_one_message_naming_the_expression(text, names, message):
    with pytest.raises(LayerError, match=message):
        evaluate(text, names)


def test_a_float_argument_is_bounded_like_an_integer():
    big = float(limits.MAX_EXPR_VALUE) * 2
    with pytest.raises(LayerError, match="outside the limit"):
        evaluate("x", {"x": big})
    with pytest.raises(LayerError, match="not a finite number"):
        evaluate("x", {"x": math.nan})
    assert evaluate("x / 2", {"x": float(limits.MAX_EXPR_VALUE)}) == limits.MAX_EXPR_VALUE // 2
