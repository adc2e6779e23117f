"""`convcalc explain`: the course notes' worked examples (../shared/seeds), each reproduced with its
numbers and its working; every registry kind explains every number it reports; a derivation's
value is always the one `convcalc shapes` reports (a property test); the formats and the command.

Expected values are written as the notes write them, as arithmetic.
"""

from __future__ import annotations

import json
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import pytest
from click.testing import CliRunner

import convcalc
from convcalc.cli import cli
from convcalc.explain import explain
from convcalc.layers import REGISTRY
from convcalc.report import SCHEMAS
from convcalc.reporters.explanation import render
from convcalc.working import Term, symbols

ROOT = Path(__file__).resolve().parent.parent


def explained(text: str, *names: str, batch: int | None = None):
    spec = convcalc.from_text(text)
    return explain(spec, convcalc.analyze(spec, batch), names)


def layer(text: str, name: str | None = None, batch: int | None = None):
    result = explained(text, batch=batch)
    return result.layer(name) if name else result.layers[0]


def row(q) -> tuple[str, str, str, object]:
    """(formula, substituted, steps, value) of a quantity."""
    return q.formula, q.substituted, q.steps, q.value


# -- the notes' worked examples ----------------------------------------------------------------


@pytest.mark.parametrize("s, out", [(1, (7 - 3) // 1 + 1), (2, (7 - 3) // 2 + 1), (3, (7 - 3) // 3 + 1)])
def test_7x7_input_3x3_filter_at_strides_1_2_3(s, out):
    # "7x7 input, filter 3x3: stride 1 => 5x5, stride 2 => 3x3, stride 3 => (7 - 3)/3 + 1 = 2.3 (not fit)"
    ex = layer(f"3x7x7 | conv 1 k3 s{s}")
    h = ex.quantity("H'")
    assert row(h) == ("floor((H + p + p - d*(k - 1) - 1) / s) + 1",
                      f"floor((7 + 0 + 0 - 1*(3 - 1) - 1) / {s}) + 1", f"{(7 - 3) // s} + 1", out)
    assert out == {1: 5, 2: 3, 3: 2}[s]
    if s == 3:
        quotient = ex.quantity("H' exact")
        assert quotient.value == Fraction(7 - 3, 3) + 1 and quotient.shown == "2.33"
        assert quotient.substituted == "(7 + 0 + 0 - 1*(3 - 1) - 1) / 3 + 1" and not quotient.reported
        assert "does not fit" in quotient.note and "the last 1 of 7 input positions are never covered" in quotient.note
    else:  # the stride fits: no quotient to show
        with pytest.raises(KeyError):
            ex.quantity("H' exact")


def test_the_issues_stride_2_working():
    assert layer("3x7x7 | conv 1 k3 s2").quantity("W'").substituted == "floor((7 + 0 + 0 - 1*(3 - 1) - 1) / 2) + 1"


def test_7x7_with_zero_padding_1_keeps_7():
    # "zero-pad with 1 pixel border: output size (7 + 2 - 3)/1 + 1 = 7"
    h = layer("3x7x7 | conv 1 k3 p1").quantity("H'")
    assert row(h) == ("floor((H + p + p - d*(k - 1) - 1) / s) + 1", "floor((7 + 1 + 1 - 1*(3 - 1) - 1) / 1) + 1",
                      "6 + 1", (7 + 2 - 3) // 1 + 1)


@pytest.mark.parametrize("k, rows", [
    # the notes' table (m = 5, s = 1): type, output, # zeros left, right, total
    (3, [("full", 5 + (3 - 1), 3 - 1, 3 - 1, 2 * (3 - 1)), ("same", 5, (3 - 1) // 2, (3 - 1) // 2, 3 - 1),
         ("valid", 5 - (3 - 1), 0, 0, 0)]),
    # k = 4: same pads floor((k - 1)/2) = 1 on the left and one more, 2, on the right
    (4, [("full", 5 + (4 - 1), 4 - 1, 4 - 1, 2 * (4 - 1)), ("same", 5, (4 - 1) // 2, (4 - 1) // 2 + 1, 4 - 1),
         ("valid", 5 - (4 - 1), 0, 0, 0)]),
])
def test_the_notes_padding_schemes_for_m5(k, rows):
    ex = layer(f"1x5 | conv 1 k{k} p=same")
    table = ex.section("padding").table
    assert table[0] == ("axis", "scheme", "output", "left", "right", "total")
    assert [(scheme, int(out), int(left), int(right), int(total)) for _, scheme, out, left, right, total in table[1:]] \
        == rows
    left, right = ex.quantity("p_l"), ex.quantity("p_r")
    assert (left.value, right.value) == rows[1][2:4]
    assert left.formula == "floor(total / 2)" and right.formula == "total - floor(total / 2)"
    (total,) = left.where
    assert total.formula == "max((ceil(L / s) - 1)*s + d*(k - 1) + 1 - L, 0)" and total.value == k - 1
    notes = " ".join(ex.section("padding").notes)
    assert ("cannot split evenly" in notes) == (k % 2 == 0)
    assert [w.code for w in ex.warnings] == (["even-kernel-same"] if k % 2 == 0 else [])


def test_full_padding_resolves_to_k_minus_1_a_side():
    ex = layer("1x5 | conv 1 k3 p=full")
    assert row(ex.quantity("p_l"))[0::3] == ("d*(k - 1)", 3 - 1)
    assert ex.quantity("L'").value == 5 + (3 - 1)


def test_32x32x3_with_six_5x5x3_filters():
    # "6 5x5 filters => 6 separate activation maps ... a new image of size 28x28x6";
    # "# weights = 5*5*3 = 75 (and +1 bias parameter)"
    ex = layer("3x32x32 | conv 6 k5")
    assert ex.output == (1, 6, 28, 28)
    params = ex.quantity("params")
    assert row(params) == ("K*(fan_in + 1)", "6*(75 + 1)", "", 6 * (5 * 5 * 3 + 1))
    (fan_in,) = params.where
    assert row(fan_in) == ("(C / g)*k*k", "(3 / 1)*5*5", "", 5 * 5 * 3)
    assert ex.quantity("values").value == 28 * 28 * 6


def test_6x6x3_with_twenty_3x3x3_filters():
    ex = layer("3x6x6 | conv 20 k3")
    assert [ex.quantity(s).value for s in ("K", "H'", "W'")] == [20, 6 - 3 + 1, 6 - 3 + 1]
    assert ex.quantity("params").substituted == "20*(27 + 1)"


def test_32_shrinks_to_28_then_24_under_5x5_convolutions():
    result = explained("3x32x32 | conv 3 k5 | conv 3 k5")
    assert [layer.quantity("H'").substituted for layer in result.layers] == [
        "floor((32 + 0 + 0 - 1*(5 - 1) - 1) / 1) + 1", "floor((28 + 0 + 0 - 1*(5 - 1) - 1) / 1) + 1"]
    assert [layer.quantity("H'").value for layer in result.layers] == [32 - 4, 32 - 4 - 4]


@pytest.mark.parametrize("text", ["64x56x56 | conv 32 k1", "64x56x56 | pwconv 32"])
def test_1x1_convolution_reduces_64_channels_to_32(text):
    # "56x56x64 image + 32 1x1x64 filters -> 56x56x32"; each filter a 64-dim dot product
    ex = layer(text)
    assert ex.output == (1, 32, 56, 56)
    assert ex.quantity("params").where[0].value == 64 * 1 * 1
    assert ex.quantity("MACs").value == 56 * 56 * 32 * 64


def test_3x3_with_dilation_2_covers_5x5_with_9_weights():
    ex = layer("1x7x7 | conv 1 k3 d2 bias=false")
    r = ex.quantity("r_out (H)")
    assert row(r) == ("r_in + d*(k - 1)*j_in", "1 + 2*(3 - 1)*1", "1 + 4", 2 * (3 - 1) + 1)
    assert ex.quantity("params").value == 3 * 3
    assert ex.quantity("H'").substituted == "floor((7 + 0 + 0 - 2*(3 - 1) - 1) / 1) + 1"


def test_transposed_3x3_takes_2x2_to_5x5_and_equals_a_conv_over_the_zero_stuffed_input():
    ex = layer("1x2x2 | deconv 1 k3 s2")
    assert ex.output == (1, 1, 5, 5)
    assert row(ex.quantity("H'", "output shape")) == ("(H - 1)*s - 2*p + d*(k - 1) + op + 1",
                                                      "(2 - 1)*2 - 2*0 + 1*(3 - 1) + 0 + 1",
                                                      "2 - 0 + 2 + 0 + 1", 5)
    stuffed = ex.section("transposed")
    values = {q.symbol: q.value for q in stuffed.quantities}
    # 2 inputs with 2 - 1 zeros between: 3 positions; 3 - 1 - 0 = 2 zeros around
    assert values["z_H"] == (2 - 1) * 2 + 1 and values["q_l (H)"] == values["q_r (H)"] == 3 - 1 - 0
    stride_1 = ex.quantity("H'", "transposed")
    assert stride_1.formula == "z_H + q_l + q_r - d*(k - 1)" and stride_1.value == 3 + 2 + 2 - 3 + 1
    assert stride_1.reported  # checked against the report: the two roads meet
    # MACs over input positions; the forward formula over output positions counts the zeros too
    assert ex.quantity("MACs").value == 2 * 2 * 3 * 3
    assert ex.quantity("MACs over outputs").value == 5 * 5 * 3 * 3
    assert ex.drawing[0].n == 3 and ex.drawing[0].left == 2 and ex.transposed


def test_regular_86400_against_depthwise_separable_675_plus_9600():
    # "Regular: 128 x (3x3x3) x (5x5); Depthwise Separable: (3x3x1) x 3 x (5x5) + (1x1x3) x 128 x (5x5)"
    ex = layer("3x7x7 | sepconv 128 k3 bias=false")
    macs = ex.quantity("MACs")
    assert row(macs) == ("C*k*k*H'*W' + K*C*H'*W'", "3*3*3*5*5 + 128*3*5*5", "675 + 9,600",
                         (3 * 3 * 1) * 3 * (5 * 5) + (1 * 1 * 3) * 128 * (5 * 5))
    assert macs.value == 10_275
    regular = ex.quantity("regular MACs")
    assert regular.value == 128 * (3 * 3 * 3) * (5 * 5) == 86_400
    # the ratio, and compare's closed form 1/N + 1/K^2 beside it
    assert Fraction(10_275, 86_400) == Fraction(1, 128) + Fraction(1, 3 * 3)
    assert "1/N + 1/K² = 0.119 (equal)" in regular.note
    # as two layers, the two terms of the sum
    two = explained("3x7x7 | dwconv 3 bias=false | pwconv 128 bias=false")
    assert [ly.quantity("MACs").value for ly in two.layers] == [(3 * 3 * 1) * 3 * (5 * 5), (1 * 1 * 3) * 128 * (5 * 5)]
    assert "1/C = 0.333 (equal)" in two.layers[0].quantity("regular MACs").note


def test_grouped_convolution_against_the_regular_one():
    ex = layer("8x9x9 | conv 8 k3 g4")
    assert ex.quantity("params").where[0].formula == "(C / g)*k*k"
    assert ex.quantity("regular MACs").value == 4 * ex.quantity("MACs").value
    assert "1/G = 0.25 (equal)" in ex.quantity("regular MACs").note


@pytest.fixture(scope="module")
def alexnet():
    spec = convcalc.load(ROOT / "specs" / "alexnet_paper.yaml")
    return explain(spec, convcalc.analyze(spec))


def test_alexnet_neuron_counts_and_the_captions_253440(alexnet):
    # "the number of neurons in the network's remaining layers is given by
    #  253,440-186,624-64,896-64,896-43,264-4096-4096-1000": conv1 .. conv5, fc6 .. fc8
    names = ["conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7", "fc8"]
    values = [alexnet.layer(name).quantity("values") for name in names]
    assert [q.value for q in values] == [55 * 55 * 96, 27 * 27 * 256, 13 * 13 * 384, 13 * 13 * 384, 13 * 13 * 256,
                                         4096, 4096, 1000]
    assert values[0].substituted == "96*55*55"
    # conv1's 96 maps are 55x55 (the figure's own 55x55x48 per GPU): 290,400. 253,440 = 96 * 2,640, and
    # 2,640 is no square (51^2 < 2,640 < 52^2): no square maps of any size give the caption's count.
    assert values[0].value == 290_400 != 253_440
    assert 253_440 not in {layer.quantity("values").value for layer in alexnet.layers}
    assert 51 ** 2 < 253_440 // 96 < 52 ** 2


def test_alexnets_150528_input_is_224x224x3_which_does_not_fit_11x11_at_stride_4():
    ex = layer("3x224x224 | conv 96 k11 s4")
    assert ex.inputs == ((1, 3, 224, 224),) and 224 * 224 * 3 == 150_528
    quotient = ex.quantity("H' exact")
    assert quotient.value == Fraction(224 - 11, 4) + 1 and quotient.shown == "54.25"
    assert "the last 1 of 224 input positions are never covered" in quotient.note


def test_edge_detection_267960_operations_against_16_billion_for_the_matrix():
    # Goodfellow et al. fig. 9.6: a 320x280 image, the kernel [-1, 1] along the width: 319x280 out,
    # 319*280*3 = 267,960 operations (2 multiplies, 1 add per output); the matrix has 320*280*319*280,
    # over eight billion, entries, and multiplying by it takes over sixteen billion operations.
    ex = layer("1x280x320 | conv 1 k=1x2 bias=false")
    assert ex.output == (1, 1, 280, 319)
    textbook = ex.quantity("FLOPs textbook")
    assert row(textbook) == ("2*MACs - K*H'*W'", "2*178640 - 1*280*319", "357,280 - 89,320", 319 * 280 * 3)
    assert textbook.value == 267_960 and not textbook.reported
    assert ex.quantity("FLOPs").value == 2 * 280 * 319 * 2  # convcalc's convention: 2 per MAC
    assert ex.quantity("dense params").value == 320 * 280 * 319 * 280 > 8 * 10**9
    assert ex.quantity("dense FLOPs").value == 2 * 320 * 280 * 319 * 280 > 16 * 10**9


def test_fully_connected_equivalent_is_the_notes_formula():
    # "(W x H x C + 1) x (W' x H' x K)" against K(F^2 C + 1): the 32x32x3, six 5x5 case
    dense = layer("3x32x32 | conv 6 k5").quantity("dense params")
    assert dense.value == (32 * 32 * 3 + 1) * (28 * 28 * 6) == 14_455_392
    assert dense.formula == "C*H*W*K*H'*W' + K*H'*W'"
    assert "14,455,392 against 456" in dense.note


# -- every kind, every number ------------------------------------------------------------------

EXAMPLES = [(kind, text) for kind, record in REGISTRY.items() for text in record.examples]
SECTIONS = ("output shape", "parameters", "MACs", "FLOPs", "receptive field", "memory")


@pytest.mark.parametrize("kind, text", EXAMPLES, ids=[f"{k}:{t}" for k, t in EXAMPLES])
def test_every_kind_explains_every_number_it_reports(kind, text):
    spec = convcalc.from_text(text)
    report = convcalc.analyze(spec, 2)
    result = explain(spec, report)
    assert [ly.name for ly in result.layers] == [ly.name for ly in report.layers]
    for ex, reported in zip(result.layers, report.layers):
        assert tuple(s.title for s in ex.sections if s.title in SECTIONS) == SECTIONS
        shape = ex.section("output shape").quantities
        assert tuple(q.value for q in shape if q.reported) == reported.output[1:]
        assert ex.quantity("params").value == reported.params
        assert ex.quantity("MACs x batch").value == reported.macs
        assert ex.quantity("FLOPs x batch").value == reported.flops
        field = [q.value for q in ex.section("receptive field").quantities if q.symbol != "global"]
        assert field == [v for axis in reported.receptive_field for v in axis]
        assert ex.quantity("global").value == reported.global_context
        assert ex.quantity("output bytes").value == reported.output_bytes
        assert ex.quantity("weight bytes").value == reported.weight_bytes
        # every number with its working: symbols in the formula, or a note that says why it is what it is
        for section in ex.sections:
            for q in section.quantities:
                if isinstance(q.term, str) or q.value == 0:
                    continue
                assert any(True for _ in symbols(q.term)) or q.note or section.title == "receptive field", \
                    (ex.name, section.title, q.symbol, q.formula)


@pytest.mark.parametrize("kind, text", EXAMPLES, ids=[f"{k}:{t}" for k, t in EXAMPLES])
def test_the_records_window_facts_reproduce_the_output(kind, text):
    # window() and zero_stuffed(), which explain and --draw read, give the shape rule's sizes;
    # regular_equivalent() names a compare variant and a conv with the same output
    from convcalc.compare import VARIANTS
    from convcalc.layers import effective, window_out

    spec = convcalc.from_text(text)
    report = convcalc.analyze(spec)
    shapes = {"input": spec.input, **{ly.name: ly.output[1:] for ly in report.layers}}
    for node, reported in zip(spec.nodes, report.layers):
        record, x, y = REGISTRY[node.kind], shapes[node.inputs[0]], reported.output[1:]
        window = record.window(node.args, x)
        if window is not None and not node.args.get("ceil_mode"):
            assert tuple(window_out(n, effective(w.k, w.d), w.s, w.left, w.right) for n, w in zip(x[1:], window)) \
                == y[1:]
        stuffed = record.zero_stuffed(node.args, x)
        if stuffed is not None:
            assert tuple(window_out(z, span, 1, left, right) for z, left, right, span in stuffed) == y[1:]
            assert window is None
        regular = record.regular_equivalent(node.args, x)
        if regular is not None:
            variant, args = regular
            assert variant in VARIANTS and args["groups"] == 1
            assert REGISTRY["conv"].shape(args, x) == y


def test_quantities_checked_against_the_report_fail_loudly(monkeypatch):
    # the check is real: a rule that drifted from what the report holds is a bug, raised
    from convcalc import explain as module

    real = module.quantity

    def off_by_one(symbol, meaning, term, expected=None, **kwargs):
        return real(symbol, meaning, term, None if expected is None else expected + 1, **kwargs)

    monkeypatch.setattr(module, "quantity", off_by_one)
    with pytest.raises(AssertionError, match="explain: K works out to 6 but the report holds 7"):
        explained("3x32x32 | conv 6 k5")


hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, strategies as st  # noqa: E402

from convcalc.errors import ConvcalcError  # noqa: E402

TEMPLATES = st.sampled_from([t for record in REGISTRY.values() for t in record.draws])


@given(st.integers(1, 3), st.data(), TEMPLATES, st.integers(1, 3))
def test_every_derivation_ends_at_the_value_shapes_reports(nd, data, template, batch):
    m = data.draw(st.integers(1, 3))
    channels = m * data.draw(st.integers(1, 3))
    n = tuple(data.draw(st.integers(2, 12 if nd < 3 else 6)) for _ in range(nd))
    k, s = data.draw(st.integers(1, 4)), data.draw(st.integers(1, 3))
    text = f"{channels}x{'x'.join(map(str, n))} | " + template.format(
        c=data.draw(st.integers(1, 6)), k=k, s=s, d=data.draw(st.integers(1, 3)), m=m,
        pp=data.draw(st.integers(0, k // 2)), p=data.draw(st.sampled_from(["same", "valid", "full", 0, 1, 2])),
        op=data.draw(st.integers(0, s - 1)), mode=data.draw(st.sampled_from(["nearest", "bilinear"])),
        idx=data.draw(st.integers(0, m - 1)))
    try:
        spec = convcalc.from_text(text)
        report = convcalc.analyze(spec, batch)
    except ConvcalcError:
        hypothesis.assume(False)
    doc = explain(spec, report).to_dict()  # every reported value was checked on the way
    for ex, reported in zip(doc["layers"], report.layers):
        values = {q["quantity"]: q["value"] for s in ex["sections"] for q in s["quantities"] if q["reported"]}
        assert values["params"] == reported.params
        assert values["MACs x batch" if batch > 1 else "MACs"] == reported.macs
        assert values["FLOPs x batch" if batch > 1 else "FLOPs"] == reported.flops
        assert values["output bytes"] == reported.output_bytes


# -- formats -----------------------------------------------------------------------------------


def test_json_has_formula_substitution_and_value_for_every_quantity():
    doc = json.loads(render(explained("3x7x7 | conv 1 k4 s2 p=same"), "json"))
    assert doc["schema"] == SCHEMAS["explain"] == 1
    (ex,) = doc["layers"]
    quantities = [q for s in ex["sections"] for q in s["quantities"]]
    assert all({"quantity", "formula", "substituted", "value", "reported"} <= set(q) for q in quantities)
    h = next(q for q in quantities if q["quantity"] == "H'")
    assert (h["formula"], h["substituted"], h["value"]) == (
        "floor((H + p_l + p_r - d*(k - 1) - 1) / s) + 1", "floor((7 + 1 + 2 - 1*(4 - 1) - 1) / 2) + 1", 4)
    p_l = next(q for q in quantities if q["quantity"] == "p_l (H)")
    # TensorFlow's same: ceil(7/2) = 4 outputs need (4 - 1)*2 + 4 - 7 = 3 zeros, 1 before and 2 after
    assert p_l["where"][0]["quantity"] == "total" and p_l["where"][0]["value"] == (4 - 1) * 2 + 4 - 7
    assert [w["code"] for w in ex["warnings"]] == ["even-kernel-same"]


def test_markdown_formulas_are_latex():
    text = render(explained("3x7x7 | conv 1 k3 s2"), "markdown")
    assert r"$\left\lfloor \frac{H + p + p - d \cdot \left(k - 1\right) - 1}{s} \right\rfloor + 1$" in text
    assert r"$= \left\lfloor \frac{7 + 0 + 0 - 1 \cdot \left(3 - 1\right) - 1}{2} \right\rfloor + 1$" in text
    assert "| `H'` |" in text and "**output shape**" in text


def test_the_table_fits_the_terminal_and_shows_the_working(monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    result = CliRunner().invoke(cli, ["explain", "-e", "4x224x224 | deconv 8 k4 s2 p1 g2"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert max(map(len, lines)) <= 80
    assert "│ = (224 - 1)*2 - 2*1 + 1*(4 - 1) + 0  │" in result.stdout  # wrapped, not cut
    assert "│   + 1                                │" in result.stdout
    monkeypatch.setenv("COLUMNS", "140")
    wide = CliRunner().invoke(cli, ["explain", "-e", "4x224x224 | deconv 8 k4 s2 p1 g2"], catch_exceptions=False)
    assert max(map(len, wide.stdout.splitlines())) <= 140
    assert "= (224 - 1)*2 - 2*1 + 1*(4 - 1) + 0 + 1 " in wide.stdout


# -- the command ---------------------------------------------------------------------------------


def run(*args: str):
    return CliRunner().invoke(cli, ["explain", *args], catch_exceptions=False)


def test_layers_by_name_or_index():
    spec = "3x8x8 | conv 4 k3 name=a | relu name=b | maxpool 2 name=c"
    both = json.loads(run("-e", spec, "c", "0", "--format", "json").stdout)
    assert [ly["name"] for ly in both["layers"]] == ["a", "c"]  # in the network's order


def test_a_library_spec_and_one_layer():
    result = run("resnet50", "conv1", "--format", "json")
    (ex,) = json.loads(result.stdout)["layers"]
    assert ex["output"] == [1, 64, 112, 112]


@pytest.mark.parametrize("args, message", [
    (("-e", "3x8x8 | conv 4 k3", "conv"), "has no layer 'conv' (did you mean 'conv1'?)"),
    ((), "give a spec and optionally layer names"),
    (("-e", "3x8x8 | relu", "--draw", "x.svg"), "--draw found no layer with a window"),
    (("-e", "3x8x8 | relu", "relu1", "--draw", "x.svg"), "'relu1' is a relu"),
    (("-e", "3x8x8 | conv 4 k3", "--draw", "x.gif"), "--draw writes a .png or .svg file"),
    (("-e", "3x8x8 | conv 4 k3", "--batch", "0"), "--batch must be from 1"),
])
def test_mistakes_are_one_line_and_exit_2(args, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run(*args)
    assert result.exit_code == 2
    assert message in result.stderr and result.stderr.count("\n") == 1 and result.stdout == ""


def test_explain_never_imports_torch():
    code = ("import sys; from convcalc.cli import main; sys.argv = ['convcalc', 'explain', 'resnet50', 'conv1', "
            "'--format', 'json']\ntry: main()\nexcept SystemExit: pass\n"
            "print(sorted(m for m in ('torch', 'numpy', 'matplotlib') if m in sys.modules), file=sys.stderr)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert done.stderr.strip().splitlines()[-1] == "[]"
    assert json.loads(done.stdout)["layers"][0]["name"] == "conv1"


def test_terms_never_reach_the_report():
    spec = convcalc.from_text("3x8x8 | conv 4 k3 p=same | dwconv 3 p=same")
    report = convcalc.analyze(spec)
    explain(spec, report)
    again = convcalc.analyze(spec)
    assert report == again
    assert not any(isinstance(v, Term) for ly in report.layers for v in (*ly.output, ly.params, ly.macs))


def test_the_memory_section_says_what_training_keeps_as_convcalc_memory_counts_it():
    """Per layer, the bytes autograd keeps for the backward pass: the conv its input (3*32*32 values),
    the relu its output (6*28*28), the max pool its input's already kept (the relu's output) plus its
    int64 indices (6*14*14 * 8 bytes) — the numbers `convcalc memory` sums, at the batch given."""
    document = json.loads(run("-e", "3x32x32 | conv 6 k5 | relu | maxpool 2", "--batch", "2", "--format", "json").stdout)
    saved = {layer["name"]: next(q["value"] for q in layer["sections"][-1]["quantities"] if q["quantity"] == "saved bytes")
             for layer in document["layers"]}
    assert saved == {"conv1": 3 * 32 * 32 * 4 * 2, "relu1": 6 * 28 * 28 * 4 * 2, "maxpool1": 6 * 14 * 14 * 8 * 2}

    from convcalc.spec import read_line
    from convcalc.training import setup_for, timeline

    spec = read_line("3x32x32 | conv 6 k5 | relu | maxpool 2").build()
    facts = {f.name: f.saved[0] + f.saved[1] * 2 for f in timeline(spec, setup_for(spec)).layers}
    assert facts == saved
