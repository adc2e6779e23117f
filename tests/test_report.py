"""convcalc/report.py: the frozen Report and its JSON contract (docs/spec.md)."""

from __future__ import annotations

import json
from fractions import Fraction

from convcalc.report import SCHEMAS, plain
from convcalc.reporters import render

from .conftest import run

LAYER_KEYS = {"name", "kind", "inputs", "output", "params", "buffers", "macs", "flops", "output_bytes",
              "weight_bytes", "receptive_field", "warnings", "line", "global"}


def test_plain_numbers():
    assert plain(3) == 3 and type(plain(Fraction(6, 2))) is int
    assert plain(Fraction(1, 4)) == 0.25


def test_the_json_contract():
    report = run("3x16x16 | conv 8 k3 s2 | relu | gap | flatten | linear 10")
    d = report.to_dict()
    assert d["schema"] == SCHEMAS["shapes"] == 1
    assert set(d) >= {"schema", "name", "source", "input", "batch", "dtype", "layers", "total", "output",
                      "receptive_field", "global"}
    assert all(set(layer) == LAYER_KEYS for layer in d["layers"])
    assert d["total"]["macs"] == sum(layer["macs"] for layer in d["layers"])
    assert d["output"] == [1, 10]


def test_the_report_is_frozen_and_rendering_is_deterministic():
    a, b = run("3x16x16 | conv 8 k3 | bn | relu"), run("3x16x16 | conv 8 k3 | bn | relu")
    assert a == b
    assert render([a], "json") == render([b], "json")
    assert json.loads(render([a], "json")) == json.loads(json.dumps(a.to_dict()))
    try:
        a.layers[0].params = 0  # type: ignore[misc]
    except AttributeError:
        pass
    else:  # pragma: no cover
        raise AssertionError("a report's layers must be immutable")
