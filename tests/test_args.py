"""convcalc/args.py: a layer's arguments normalized once, strictly typed, per axis."""

from __future__ import annotations

import pytest

from convcalc.args import axes, boolean, integer, normalize, number, padding
from convcalc.errors import LayerError
from convcalc.layers import REGISTRY


def conv(raw, nd=2):
    return normalize(REGISTRY["conv"].schema, raw, nd, "conv")


def test_per_axis_arguments_become_tuples_once():
    a = conv({"out": 8, "k": 3, "s": [2, 1]})
    assert a["k"] == (3, 3) and a["s"] == (2, 1) and a["d"] == (1, 1)
    assert a["p"] == ((0, 0), (0, 0))  # per axis (left, right)
    assert conv({"out": 8, "k": 5}, nd=3)["k"] == (5, 5, 5)


@pytest.mark.parametrize("p, pairs", [
    (1, ((1, 1), (1, 1))),
    ([1, 2], ((1, 1), (2, 2))),
    ([[0, 1], [2, 3]], ((0, 1), (2, 3))),
    ("same", "same"), ("valid", ((0, 0), (0, 0))), ("full", "full"),
])
def test_padding_forms(p, pairs):
    assert conv({"out": 8, "k": 3, "p": p})["p"] == pairs


@pytest.mark.parametrize("raw, message", [
    ({"out": 8.0, "k": 3}, "out must be an integer, got 8.0"),  # 8.0 is not an integer
    ({"out": True, "k": 3}, "out must be an integer, got true"),  # nor is a boolean
    ({"out": 8, "k": [3, 3, 3]}, "k"),  # 3 values for 2 axes
    ({"out": 8, "k": 3, "bias": 1}, "bias must be true or false, got 1"),
    ({"out": 8}, "conv needs 'k'"),
    ({"out": 8, "k": 3, "bais": True}, "did you mean 'bias'"),
])
def test_strict_types_and_named_errors(raw, message):
    with pytest.raises(LayerError, match=message.replace("(", r"\(").replace(")", r"\)")):
        conv(raw)


@pytest.mark.parametrize("convert, value, message", [
    (integer(1), 0, "at least 1"),
    (integer(1, 4), 5, "between 1 and 4"),
    (number(0), -1.0, "at least 0"),
    (number(0, 1), 1.5, "between 0 and 1"),
    (number(None, 1), 2.0, "at most 1"),
    (number(), float("nan"), "finite"),
])
def test_range_messages_name_the_bounds_that_exist(convert, value, message):
    with pytest.raises(LayerError, match=message):
        convert(value, 2, "x")


def test_converters_keep_what_they_accept():
    assert axes()(3, 2, "k") == (3, 3)
    assert boolean(False, 2, "b") is False
    assert padding()("same", 2, "p") == "same"
    assert number()(1e-5, 2, "eps") == 1e-5
