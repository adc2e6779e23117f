"""working.Term: a number that carries the expression that made it, so that the registry's own
rules, run on Terms, show their derivation (convcalc explain)."""

from __future__ import annotations

import math
from fractions import Fraction

from convcalc.layers import REGISTRY, resolve_padding, window_out
from convcalc.working import Term, addends, definitions, exact, latex, steps, sym, symbols, text


def test_the_conv_output_rule_shows_its_working_with_the_notes_numbers():
    # the example: 7 wide, k 3, stride 2, no padding
    m, k, s, d, p = sym("m", 7), sym("k", 3), sym("s", 2), sym("d", 1), sym("p", 0)
    out = window_out(m, d * (k - 1) + 1, s, p, p)
    assert out.value == (7 - 3) // 2 + 1 == 3
    assert text(out) == "floor((m + p + p - d*(k - 1) - 1) / s) + 1"
    assert text(out, values=True) == "floor((7 + 0 + 0 - 1*(3 - 1) - 1) / 2) + 1"
    assert latex(out) == r"\left\lfloor \frac{m + p + p - d \cdot \left(k - 1\right) - 1}{s} \right\rfloor + 1"


def test_exact_turns_the_floor_into_the_notes_quotient():
    m, k, s = sym("m", 7), sym("k", 3), sym("s", 3)
    out = (m - k) // s + 1
    assert out.value == 2
    assert exact(out).value == Fraction(7 - 3, 3) + 1 == Fraction(7, 3)
    assert text(exact(out), values=True) == "(7 - 3) / 3 + 1"


def test_rewrites_keep_the_value():
    a, b, c = sym("a", 5), sym("b", 2), sym("c", 7)
    assert text((a + 1) - 1) == "a" and ((a + 1) - 1).value == 5
    assert text(a - (b + c)) == "a - b - c" and (a - (b + c)).value == 5 - 2 - 7
    assert text(a - (b - c)) == "a - b + c" and (a - (b - c)).value == 5 - 2 + 7
    assert text(1 * a * 1 + 0) == "a"
    ceil = -(-a // b)
    assert text(ceil) == "ceil(a / b)" and ceil.value == 3


def test_comparisons_and_conversions_use_the_value():
    a = sym("a", 4)
    assert a == 4 and a < 5 and a >= 4 and bool(a) and int(a) == 4 and float(a) == 4.0
    assert math.gcd(a, 6) == 2 and list(range(a)) == [0, 1, 2, 3]
    assert Fraction(a, 8) == Fraction(1, 2)
    assert math.floor(sym("h", 5) * 1.5).value == 7 and text(math.floor(sym("h", 5) * 1.5)) == "floor(h*1.5)"


def test_steps_evaluate_the_top_level_sum():
    # the notes' depthwise-separable count: (3*3*1)*3*(5*5) + (1*1*3)*128*(5*5)
    c, k, n, p = sym("C", 3), sym("k", 3), sym("N", 128), sym("P", 25)
    total = c * k * k * p + n * c * p
    assert total.value == 10_275
    assert steps(total) == "675 + 9,600"
    assert [sign for sign, _ in addends(total - c)] == ["+", "+", "-"]
    assert steps(c + k) == ""  # nothing new to say


def test_same_padding_is_traced_through_the_rule_with_its_total_named():
    # TensorFlow's rule on 5 positions, k 4, stride 1: total 3, left 1, right 2
    (pair,) = resolve_padding("same", (sym("m", 5),), (sym("k", 4),), (sym("s", 1),), (sym("d", 1),))
    left, right = pair
    assert (left.value, right.value) == (1, 2)
    assert text(left) == "floor(total / 2)" and text(right) == "total - floor(total / 2)"
    (total,) = [t for t in [left.args[0]] if t.op == "def"]
    assert text(total.args[0]) == "max((ceil(m / s) - 1)*s + d*(k - 1) + 1 - m, 0)"
    assert total.value == 3


def test_registry_rules_accept_terms_and_agree_with_ints():
    conv = REGISTRY["conv"]
    a = {"out": 6, "k": (5, 5), "s": (1, 1), "d": (1, 1), "p": ((0, 0), (0, 0)), "groups": 1, "bias": True}
    traced = {**a, "out": sym("K", 6), "k": (sym("k", 5),) * 2}
    x, tx = (3, 32, 32), (sym("C", 3), sym("H", 32), sym("W", 32))
    y = conv.shape(a, x)
    assert y == (6, 28, 28) == tuple(t.value for t in conv.shape(traced, tx))
    params = conv.params(traced, tx, y)
    assert params.value == conv.params(a, x, y) == 6 * (5 * 5 * 3 + 1)
    # the notes' K*(F*F*C + 1), with the weights per filter named
    assert text(params) == "K*(fan_in + 1)" and text(params, values=True) == "6*(75 + 1)"
    (fan_in,) = definitions(params)
    assert text(fan_in.args[0]) == "C*k*k"  # groups 1 is a plain number here: C/1 is C
    assert set(symbols(params)) == {"K", "fan_in"} and set(symbols(fan_in.args[0])) == {"C", "k"}
    grouped = conv.params({**traced, "groups": sym("g", 1)}, tx, y)
    assert text(definitions(grouped)[0].args[0]) == "(C / g)*k*k" and grouped.value == 456


def test_a_term_is_never_mistaken_for_an_int():
    assert not isinstance(sym("a", 1), int)
    assert type(Term(3, "num").value) is int
