"""`convcalc compare`: convolution variants against hand-written specs, the notes' numbers and
closed forms, the not-applicable path, spec-vs-spec diffs, every output format, usage errors.

Every variant's expectation is written twice: as the same layers in a one-line spec written here
by hand, and as arithmetic on the shapes. Neither goes through convcalc/compare.py.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import pytest
from click.testing import CliRunner

import convcalc
from convcalc.cli import cli
from convcalc.compare import MAX_STACK, VARIANTS, ConvSetup, compare_specs, compare_variants
from convcalc.errors import ConvcalcError, UsageError
from convcalc.layers import REGISTRY
from convcalc.reporters import Format
from convcalc.reporters.comparison import bar, plot, render, specs_markdown
from convcalc.spec import from_layers

from .conftest import run

ROOT = Path(__file__).resolve().parent.parent
NOTES = ("--input", "3x7x7", "--out", "128", "-k", "3", "-p", "valid")


pytestmark = pytest.mark.usefixtures("plain_terminal")  # tests/conftest.py


def compare(*args: str):
    # A wide terminal unless a test sets COLUMNS: these tests read whole tables and lines (a pipe
    # fits 80 columns; tests/test_table_widths.py holds every command to that).
    env = {} if "COLUMNS" in os.environ else {"COLUMNS": "1000"}
    return CliRunner().invoke(cli, ["compare", *args], env=env, catch_exceptions=False)


def notes_example(*names: str):
    return compare_variants(names or ("regular", "depthwise-separable"), ConvSetup((3, 7, 7), 128, 3, p="valid"))


# --------------------------------------------------------------------------------------------
# The course notes' worked example: 7x7x3 input, 128 filters of 3x3, valid padding


def test_notes_example_numbers():
    result = notes_example()
    regular, separable = result.row("regular"), result.row("depthwise-separable")
    assert regular.macs == 128 * (3 * 3 * 3) * (5 * 5) == 86_400
    assert [stage.macs for stage in separable.stages] == [(3 * 3 * 1) * 3 * (5 * 5), (1 * 1 * 3) * 128 * (5 * 5)]
    assert [stage.macs for stage in separable.stages] == [675, 9_600]
    assert separable.macs == 10_275
    assert separable.output == regular.output == (1, 128, 5, 5)
    assert separable.macs_ratio == Fraction(10_275, 86_400) == Fraction(1, 128) + Fraction(1, 9)


def test_notes_example_table_prints_them_as_the_notes_do():
    result = compare("regular", "depthwise-separable", *NOTES)
    assert result.exit_code == 0
    assert result.stderr == ""
    rows = {line.split("│")[1].strip(): line for line in result.stdout.splitlines() if line.startswith("│ ")}
    assert " 86,400 " in rows["regular"]
    assert " 675 + 9,600 = 10,275 " in rows["depthwise-separable"]
    assert " 1/N + 1/K² = 0.119 " in rows["depthwise-separable"]
    assert "bias-free" in result.stdout


# --------------------------------------------------------------------------------------------
# Every variant against the same layers written by hand, and against arithmetic.
# Base setup: C = 8, 12x12, N = 16, k = 3, valid padding, d = 2, G = 2, width = 16 // 4 = 4.

BASE = {"input": (8, 12, 12), "out": 16, "k": 3}
VARIANT_CASES = [
    # variant, setup overrides, the same layers by hand, output, params, MACs per stage
    ("regular", {}, "conv 16 k3", (16, 10, 10), 16 * 8 * 9, [16 * 8 * 9 * 10 * 10]),
    ("pointwise", {}, "conv 16 k1", (16, 12, 12), 16 * 8, [16 * 8 * 12 * 12]),
    ("pointwise", {"s": 2}, "conv 16 k1 s2", (16, 6, 6), 16 * 8, [16 * 8 * 6 * 6]),
    ("depthwise", {}, "conv 16 k3 g8", (16, 10, 10), 16 * 9, [16 * 9 * 10 * 10]),
    ("depthwise-separable", {}, "conv 8 k3 g8 | conv 16 k1", (16, 10, 10), 8 * 9 + 8 * 16,
     [8 * 9 * 10 * 10, 8 * 16 * 10 * 10]),
    ("grouped", {}, "conv 16 k3 g2", (16, 10, 10), 16 * 4 * 9, [16 * 4 * 9 * 10 * 10]),
    ("grouped", {"groups": 4}, "conv 16 k3 g4", (16, 10, 10), 16 * 2 * 9, [16 * 2 * 9 * 10 * 10]),
    ("shuffled-grouped", {}, "conv 4 k1 g2 | channel_shuffle 2 | conv 4 k3 g4 | conv 16 k1 g2", (16, 10, 10),
     4 * 4 + 4 * 9 + 16 * 2, [4 * 4 * 12 * 12, 0, 4 * 9 * 10 * 10, 16 * 2 * 10 * 10]),
    ("dilated", {}, "conv 16 k3 d2", (16, 8, 8), 16 * 8 * 9, [16 * 8 * 9 * 8 * 8]),
    ("dilated", {"d": 3, "p": "same"}, "conv 16 k3 d3 p3", (16, 12, 12), 16 * 8 * 9, [16 * 8 * 9 * 12 * 12]),
    ("spatially-separable", {}, "conv 8 k3x1 | conv 16 k1x3", (16, 10, 10), 8 * 8 * 3 + 16 * 8 * 3,
     [8 * 8 * 3 * 10 * 12, 16 * 8 * 3 * 10 * 10]),
    ("spatially-separable", {"p": 1}, "conv 8 k3x1 p=1x0 | conv 16 k1x3 p=0x1", (16, 12, 12),
     8 * 8 * 3 + 16 * 8 * 3, [8 * 8 * 3 * 12 * 12, 16 * 8 * 3 * 12 * 12]),
    ("stacked", {"k": 5}, "conv 16 k3 | conv 16 k3", (16, 8, 8), 16 * 8 * 9 + 16 * 16 * 9,
     [16 * 8 * 9 * 10 * 10, 16 * 16 * 9 * 8 * 8]),
    ("stacked", {"k": 7, "p": 3}, "conv 16 k3 p3 | conv 16 k3 | conv 16 k3", (16, 12, 12),
     16 * 8 * 9 + 2 * 16 * 16 * 9, [16 * 8 * 9 * 16 * 16, 16 * 16 * 9 * 14 * 14, 16 * 16 * 9 * 12 * 12]),
    ("bottleneck", {}, "conv 4 k1 | conv 4 k3 | conv 16 k1", (16, 10, 10), 8 * 4 + 4 * 4 * 9 + 4 * 16,
     [8 * 4 * 12 * 12, 4 * 4 * 9 * 10 * 10, 4 * 16 * 10 * 10]),
    ("bottleneck", {"width": 2}, "conv 2 k1 | conv 2 k3 | conv 16 k1", (16, 10, 10), 8 * 2 + 2 * 2 * 9 + 2 * 16,
     [8 * 2 * 12 * 12, 2 * 2 * 9 * 10 * 10, 2 * 16 * 10 * 10]),
    # a transposed conv meets every input value with every weight once: X * out * k^2
    ("transposed", {"s": 2}, "deconv 16 k3 s2", (16, 25, 25), 8 * 16 * 9, [8 * 12 * 12 * 16 * 9]),
    ("transposed", {"s": 2, "p": "same"}, "deconv 16 k3 s2 p1 output_padding=1", (16, 24, 24), 8 * 16 * 9,
     [8 * 12 * 12 * 16 * 9]),
    # FFT size 12x12, M = 12 * (12 // 2 + 1) = 84 complex bins; 4 real MACs per complex MAC
    ("fft", {}, "fftconv 16 k3", (16, 10, 10), 16 * 8 * 9, [4 * 16 * 8 * 12 * 7]),
]


@pytest.mark.parametrize("name, overrides, layers, output, params, stage_macs", VARIANT_CASES,
                         ids=[f"{case[0]}-{i}" for i, case in enumerate(VARIANT_CASES)])
def test_variant_matches_the_same_layers_written_by_hand(name, overrides, layers, output, params, stage_macs):
    setup = ConvSetup(**{**BASE, **overrides})
    row = compare_variants([name], setup).row(name)
    hand = run(f"{'x'.join(map(str, setup.input))} | " + " | ".join(
        f"{layer} bias=false" if not layer.startswith("channel_shuffle") else layer for layer in layers.split(" | ")))
    assert row.applicable, row.reason
    assert row.output == hand.output == (1, *output)
    assert row.params == hand.total.params == params
    assert [stage.macs for stage in row.stages] == [layer.macs for layer in hand.layers] == stage_macs
    assert row.macs == hand.total.macs == sum(stage_macs)
    assert row.flops == hand.total.flops
    assert row.receptive_field == hand.receptive_field


def test_every_variant_is_covered_by_a_hand_written_case():
    assert {case[0] for case in VARIANT_CASES} == set(VARIANTS)


def test_three_d_spatially_separable_is_one_conv_per_axis():
    row = compare_variants(["spatially-separable"], ConvSetup((4, 6, 6, 6), 8, 3)).row("spatially-separable")
    hand = run("4x6x6x6 | conv 4 k3x1x1 bias=false | conv 4 k1x3x1 bias=false | conv 8 k1x1x3 bias=false")
    assert row.output == hand.output == (1, 8, 4, 4, 4)
    assert row.macs == hand.total.macs == 4 * 4 * 3 * 4 * 6 * 6 + 4 * 4 * 3 * 4 * 4 * 6 + 8 * 4 * 3 * 4 * 4 * 4


def test_bias_flag_adds_one_bias_per_output_channel_of_every_conv():
    row = compare_variants(["depthwise-separable"], ConvSetup(**BASE, bias=True)).row("depthwise-separable")
    assert row.params == (8 * 9 + 8) + (8 * 16 + 16)
    assert row.macs == 8 * 9 * 10 * 10 + 8 * 16 * 10 * 10  # MACs exclude the bias
    assert "bias=true" in row.spec


def test_dilation_widens_the_field_for_the_same_weights():
    result = compare_variants(["regular", "dilated"], ConvSetup(**BASE, d=3))
    regular, dilated = result.row("regular"), result.row("dilated")
    assert [axis[0] for axis in regular.receptive_field] == [3, 3]
    assert [axis[0] for axis in dilated.receptive_field] == [3 * (3 - 1) + 1] * 2
    assert dilated.params == regular.params
    assert dilated.notes == ("dilation 3: receptive field 7x7 with the 1,152 weights of a 3x3 kernel",)


def test_fft_note_gives_the_fft_size():
    row = compare_variants(["fft"], ConvSetup(**BASE, p=1)).row("fft")
    # padded input 14x14: N = 196 points, M = 14 * (14 // 2 + 1) = 112 bins
    assert row.notes[0].startswith("FFT size 14x14 (N = 196 points, M = 112 complex bins)")
    assert row.macs == 4 * 16 * 8 * 112


# --------------------------------------------------------------------------------------------
# Variants are layers: validated as any spec, and shown as the one-line spec that reproduces them

LAYER_SETUPS = [
    ConvSetup(**BASE),
    ConvSetup(**BASE, s=2, p="same", bias=True),
    ConvSetup(**BASE, p=1, d=3, groups=4, width=8),
    ConvSetup((8, 40), 16, 5, p="full"),  # 1-D
    ConvSetup((4, 6, 6, 6), 8, 3, p="same"),  # 3-D
]


@pytest.mark.parametrize("setup", LAYER_SETUPS, ids=lambda s: f"{s.input}-s{s.s}-p{s.p}")
def test_the_spec_a_variant_shows_reads_back_as_its_layers(setup):
    for row in compare_variants(list(VARIANTS), setup).rows:
        if not row.layers:
            continue
        built = from_layers(setup.input, row.layers, name=row.variant, batch=setup.batch, dtype=setup.dtype)
        read = convcalc.from_text(row.spec)
        assert [(n.name, n.kind, n.args) for n in read.nodes] == [(n.name, n.kind, n.args) for n in built.nodes]
        assert (read.name, read.input, read.batch, read.dtype) == (row.variant, setup.input, setup.batch, setup.dtype)


@pytest.mark.parametrize("layer, text", [
    (("conv", {"out": 8, "k": 9, "name": "big"}), "conv 8 k=9 name=big"),  # a shape error, at analysis
    (("conv", {"out": 8, "k": 0}), "conv 8 k=0"),  # an argument error, at validation
    (("conv", {"out": 8, "kernel": 3}), "conv 8 kernel=3"),  # a foreign key: the same suggestion
    (("dwconv", {"k": [3, 1, 1]}), "dwconv k=3x1x1"),  # one value per axis, too many
])
def test_layers_fail_as_the_same_one_line_spec_does(layer, text):
    with pytest.raises(ConvcalcError) as built:
        convcalc.analyze(from_layers((3, 4, 4), [layer], "<v>"))
    with pytest.raises(ConvcalcError) as read:
        convcalc.analyze(convcalc.from_text(f"3x4x4 | {text}", "<v>"))
    assert str(built.value) == str(read.value)


def test_write_line_writes_a_first_count_bare_and_the_rest_as_keys():
    from convcalc.spec.text import write_line

    layers = [("conv", {"out": 16, "k": [3, 1], "p": [[1, 0], [0, 1]], "bias": False, "name": "a"}),
              ("dwconv", {"k": 3, "s": 2}),  # its first positional argument is per axis: k=3, not a bare 3
              ("channel_shuffle", {"groups": 2}),
              ("add", {"from": ["a", "dwconv1"]})]
    text = write_line((3, 8, 8), layers, batch=2, name="net")
    assert text == ("3x8x8 batch=2 name=net | conv 16 k=3x1 p=1:0x0:1 bias=false name=a | dwconv k=3 s=2 "
                    "| channel_shuffle 2 | add from=a,dwconv1")
    assert [n.inputs for n in convcalc.from_text(text).nodes][-1] == ("a", "dwconv1")


@pytest.mark.parametrize("k", [1, 2, 3, 4, 5, 6, 7])
@pytest.mark.parametrize("s", [1, 2, 3])
def test_transposed_same_undoes_the_stride_as_torch_computes_it(k, s):
    """'same' maps n·s to n; its adjoint maps n to n·s, as PyTorch's ConvTranspose1d computes
    its size; where that needs output_padding >= s, PyTorch refuses and the variant does not
    apply."""
    torch = pytest.importorskip("torch")
    n = 10
    row = compare_variants(["transposed"], ConvSetup((2, n), 3, k, s, "same")).row("transposed")
    p, extra = REGISTRY["deconv"].adjoint_padding(k, s, "same") if row.applicable else (0, 0)
    if row.applicable:
        layer = torch.nn.ConvTranspose1d(2, 3, k, s, p, extra)
        assert layer(torch.zeros(1, 2, n)).shape[-1] == row.output[-1] == n * s
    else:
        assert "needs output_padding" in row.reason
        extra = 2 * -(-(k - s) // 2) - (k - s)  # the output_padding 'same' would need
        with pytest.raises(RuntimeError, match="output padding must be smaller"):
            torch.nn.ConvTranspose1d(2, 3, k, s, -(-(k - s) // 2), extra)(torch.zeros(1, 2, n))


def test_stacked_depth_is_written_once_in_the_table(monkeypatch):
    assert ConvSetup((16, 14, 14), 16, 7).stack_depth == (7 - 1) // 2 == 3
    text = compare("regular", "stacked", "--input", "16x14x14", "--out", "16", "-k", "7", "-p", "same").stdout
    assert "n = (K-1)/2 = 3" in text and "│ 3 stacked 3x3" not in text


def test_an_unknown_variant_name_is_a_value_error_in_the_library():
    with pytest.raises(ValueError, match="unknown variant 'regulr' \\(did you mean 'regular'\\?\\)"):
        compare_variants(["regulr"], ConvSetup(**BASE))


# --------------------------------------------------------------------------------------------
# Closed forms: each equals the analyzed ratio where the notes say it holds


CLOSED_FORM_SETUPS = [
    ConvSetup((8, 12, 12), 16, 3, p="same"),
    ConvSetup((16, 9, 9), 16, 5, p="same", groups=4, d=2),
    ConvSetup((32, 7, 7), 64, 7, p="same", groups=8, d=3),
    ConvSetup((24, 10, 10), 12, 3, p="same", groups=3),  # N < C
    ConvSetup((16, 20, 20), 16, 7, p="same", s=2, groups=2),  # stride: output sizes still equal
    ConvSetup((16, 100), 32, 5, p="same"),  # 1-D, C != N: stacked is 3·(16 + 1·32)/(16·5) = 1.8, not n·3/K = 1.2
]


@pytest.mark.parametrize("setup", CLOSED_FORM_SETUPS, ids=lambda s: f"{s.input}-{s.out}-k{s.k}-s{s.s}")
def test_closed_forms_equal_the_analyzed_ratios(setup):
    result = compare_variants(["regular", *VARIANTS], setup)
    regular = result.row("regular")
    checked = []
    for row in result.applicable:
        form = row.closed_form
        if form is None:
            continue
        assert row.output == regular.output, row.variant
        assert form.value == Fraction(row.params, regular.params) == row.params_ratio, row.variant
        if row.variant == "spatially-separable" and setup.s != 1:
            # its first stage runs at the input's width: exact for MACs at stride 1 only, as it says
            assert "stride 1" in form.holds and form.value < Fraction(row.macs, regular.macs)
        else:
            assert form.value == Fraction(row.macs, regular.macs) == row.macs_ratio, row.variant
        checked.append(row.variant)
    expected = {"pointwise", "depthwise-separable", "grouped", "dilated", "stacked"}
    assert expected | ({"spatially-separable"} if setup.nd == 2 else set()) <= set(checked)


@pytest.mark.parametrize("name, formula, value", [
    ("pointwise", "1/K²", Fraction(1, 9)),
    ("depthwise-separable", "1/N + 1/K²", Fraction(1, 128) + Fraction(1, 9)),
    ("grouped", "1/G", Fraction(1, 2)),
    ("depthwise", "1/C", Fraction(1, 3)),
    ("dilated", "1", Fraction(1)),
    ("spatially-separable", "(C + N)/(max(C, N)·K)", Fraction(3 + 128, 128 * 3)),
])
def test_closed_form_formulas_in_the_notes_letters(name, formula, value):
    row = compare_variants([name], ConvSetup((3, 7, 7), 128, 3)).row(name)
    assert (row.closed_form.formula, row.closed_form.value) == (formula, value)


@pytest.mark.parametrize("setup, formula, value", [
    # C = N: the notes' n·9/K²
    (ConvSetup((16, 14, 14), 16, 7, p="same"), "n·9/K²", Fraction(3 * 9, 7 * 7)),
    # C != N: 9·C·N for the first conv, 9·N·N for each of the other n - 1, over C·N·K²
    (ConvSetup((16, 14, 14), 32, 7, p="same"), "9·(C + (n-1)·N)/(C·K²)", Fraction(9 * (16 + 2 * 32), 16 * 7 * 7)),
    (ConvSetup((32, 14, 14), 16, 5, p="same"), "9·(C + (n-1)·N)/(C·K²)", Fraction(9 * (32 + 1 * 16), 32 * 5 * 5)),
    (ConvSetup((16, 100), 32, 5, p="same"), "3·(C + (n-1)·N)/(C·K)", Fraction(3 * (16 + 1 * 32), 16 * 5)),
    (ConvSetup((4, 9, 9, 9), 8, 5, p="same"), "27·(C + (n-1)·N)/(C·K³)", Fraction(27 * (4 + 1 * 8), 4 * 5 * 5 * 5)),
])
def test_stacked_closed_form_holds_when_c_differs_from_n(setup, formula, value):
    result = compare_variants(["regular", "stacked"], setup)
    stacked, regular = result.row("stacked"), result.row("regular")
    assert (stacked.closed_form.formula, stacked.closed_form.value) == (formula, value)
    assert Fraction(stacked.params, regular.params) == value
    assert Fraction(stacked.macs, regular.macs) == value


def test_stacked_closed_form_in_the_table_is_the_real_ratio():
    text = compare("--all", "--input", "16x100", "--out", "32", "-k", "5", "-p", "same").stdout
    row = next(line for line in text.splitlines() if line.startswith("│ stacked "))
    assert "│ 3·(C + (n-1)·N)/(C·K) = 1.8 │" in row  # 3·(16 + 32)/(16·5) = 144/80
    assert "; stacked: when C = N" not in text


def test_stacked_closed_form_is_the_notes_27_vs_49():
    setup = ConvSetup((16, 14, 14), 16, 7, p="same")
    result = compare_variants(["regular", "stacked"], setup)
    stacked = result.row("stacked")
    assert stacked.closed_form.formula == "n·9/K²"
    assert stacked.closed_form.value == Fraction(3 * 9, 7 * 7) == Fraction(27, 49)
    assert Fraction(stacked.params, result.row("regular").params) == Fraction(27, 49)
    assert Fraction(stacked.macs, result.row("regular").macs) == Fraction(27, 49)
    assert [axis[0] for axis in stacked.receptive_field] == [7, 7]
    assert stacked.notes == ("3 stacked 3x3 convs see 7x7, as one 7x7: 27 vs 49 weights per channel pair",)


# --------------------------------------------------------------------------------------------
# Not applicable


@pytest.mark.parametrize("name, setup, reason", [
    ("depthwise", ConvSetup((3, 7, 7), 128, 3), "out 128 is not a multiple of the 3 input channels"),
    ("grouped", ConvSetup((3, 7, 7), 128, 3), "grouped (conv): input channels 3 are not divisible by groups 2"),
    ("shuffled-grouped", ConvSetup((8, 7, 7), 16, 3, width=3),
     "group_reduce (pwconv): output channels 3 are not divisible by groups 2"),
    ("regular", ConvSetup((3, 4, 4), 8, 5), "conv (conv): kernel 5 is larger than the padded input 4 (4 + 0 + 0 padding) on axis H"),
    ("fft", ConvSetup((3, 7, 7), 8, 3, s=2), "stride must be 1, got 2"),
    ("stacked", ConvSetup((3, 7, 7), 8, 4), "k=4 is not one"),
    ("stacked", ConvSetup((3, 7, 7), 8, 1), "k=1 is not one"),
    ("stacked", ConvSetup((3, 7, 7), 8, 2 * (MAX_STACK + 1) + 1, p="same"),
     f"takes {MAX_STACK + 1:,} stacked 3x3 convs; this variant builds at most {MAX_STACK:,}"),
    ("stacked", ConvSetup((3, 7, 7), 8, 2**48 - 1, p="same"), f"takes {(2**48 - 2) // 2:,} stacked 3x3 convs"),
    ("spatially-separable", ConvSetup((3, 32), 8, 3), "a 1-D input has one spatial axis"),
    ("transposed", ConvSetup((3, 7, 7), 8, 4, p="same"), "needs output_padding 1"),
])
def test_not_applicable_rows_carry_the_reason(name, setup, reason):
    row = compare_variants([name], setup).row(name)
    assert not row.applicable
    assert reason in row.reason
    with pytest.raises(ValueError, match=f"variant {name} is not applicable"):
        row.macs


def test_stacked_builds_up_to_max_stack_convs():
    row = compare_variants(["stacked"], ConvSetup((3, 7, 7), 8, 2 * MAX_STACK + 1, p="same")).row("stacked")
    assert len(row.stages) == MAX_STACK
    assert [axis[0] for axis in row.receptive_field] == [2 * MAX_STACK + 1] * 2


def test_not_applicable_variant_does_not_stop_the_others():
    result = compare("regular", "depthwise", "depthwise-separable", *NOTES)
    assert result.exit_code == 0
    assert "depthwise: not applicable: out 128 is not a multiple of the 3 input channels" in result.stdout
    rows = [line for line in result.stdout.splitlines() if line.startswith("│ depthwise ")]
    assert len(rows) == 1 and "not applicable" in rows[0]
    assert "10,275" in result.stdout


def test_baseline_is_the_first_applicable_variant():
    result = notes_example("depthwise", "depthwise-separable", "regular")
    assert result.baseline == "depthwise-separable"
    assert result.row("regular").macs_ratio == Fraction(86_400, 10_275)


def test_no_applicable_variant_exits_1_with_a_note_on_stderr():
    result = compare("depthwise", "grouped", *NOTES)
    assert result.exit_code == 1
    assert result.stderr == "convcalc: no variant applies to these shapes\n"
    assert "not applicable" in result.stdout


# --------------------------------------------------------------------------------------------
# --all, formats, bars, colour


def test_all_runs_every_variant_named_first():
    data = json.loads(compare("fft", "--all", *NOTES, "--format", "json").stdout)
    names = [v["variant"] for v in data["variants"]]
    assert names == ["fft"] + [name for name in VARIANTS if name != "fft"]
    assert data["baseline"] == "fft"
    applicable = {v["variant"] for v in data["variants"] if v["applicable"]}
    assert applicable == set(VARIANTS) - {"depthwise", "grouped", "shuffled-grouped"}


def test_json_keys_and_exact_numbers():
    data = json.loads(compare("regular", "depthwise-separable", "depthwise", *NOTES, "--format", "json").stdout)
    assert (data["schema"], data["mode"], data["baseline"]) == (1, "variants", "regular")
    assert data["setup"] == {"input": [3, 7, 7], "out": 128, "k": 3, "s": 1, "p": "valid", "d": 2, "groups": 2,
                             "width": 32, "batch": 1, "dtype": "float32", "bias": False}
    regular, separable, depthwise = data["variants"]
    assert {"variant", "applicable", "reason", "spec", "closed_form", "notes", "layers", "output", "params", "macs",
            "flops", "receptive_field", "output_bytes", "weight_bytes", "peak_activation_bytes", "params_ratio",
            "macs_ratio", "flops_ratio", "macs_share"} == set(regular)
    assert [layer["macs"] for layer in separable["layers"]] == [675, 9600]
    assert separable["macs"] == 10275 and separable["params"] == 3 * 9 + 3 * 128
    assert separable["output_bytes"] == 128 * 5 * 5 * 4
    assert separable["weight_bytes"] == (3 * 9 + 3 * 128) * 4
    assert separable["macs_ratio"] == pytest.approx(137 / 1152)
    assert separable["closed_form"] == {"formula": "1/N + 1/K²", "value": pytest.approx(137 / 1152), "exact": "137/1152",
                                        "holds": "params; MACs when the output sizes are equal (e.g. -p same)"}
    assert separable["receptive_field"] == [[3, 1, 0], [3, 1, 0]]
    assert depthwise["applicable"] is False and "not a multiple" in depthwise["reason"]
    assert "macs" not in depthwise
    # the spec it expands to reproduces its numbers
    assert convcalc.analyze(convcalc.from_text(separable["spec"])).total.macs == 10275


def test_csv_has_one_row_per_variant_with_exact_numbers():
    text = compare("regular", "depthwise", "depthwise-separable", *NOTES, "--format", "csv").stdout
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [row["variant"] for row in rows] == ["regular", "depthwise", "depthwise-separable"]
    assert rows[0]["macs"] == "86400" and rows[2]["macs"] == "10275"
    assert rows[2]["stage_macs"] == "675 + 9600"
    assert rows[1]["applicable"] == "false" and "not a multiple" in rows[1]["reason"]
    assert float(rows[2]["closed_form_value"]) == pytest.approx(137 / 1152)


def test_markdown_escapes_pipes_and_keeps_exact_numbers():
    text = compare("regular", "depthwise-separable", *NOTES, "--format", "markdown").stdout
    row = next(line for line in text.splitlines() if line.startswith("| depthwise-separable"))
    assert "`dwconv k3 \\| pwconv 128`" in row
    assert "| 675 + 9,600 = 10,275 |" in row
    assert "| 1,644 |" in row  # weight bytes, exact


def test_every_format_renders_both_modes():
    for fmt in Format:
        assert compare("regular", *NOTES, "--format", fmt.value).exit_code == 0
        assert compare("specs/resnet50.yaml", "--batch", "2", "--format", fmt.value).exit_code == 0


@pytest.mark.parametrize("share, unicode, expected", [
    (Fraction(1), True, "█" * 10),
    (Fraction(1, 2), True, "█" * 5),
    (Fraction(137, 1152), True, "█▎"),  # 137/1152 of 80 eighths is 9.5, rounded to 10: a block and 2 eighths
    (Fraction(1, 1000), True, "▏"),  # a nonzero share shows at least a sliver
    (Fraction(0), True, ""),
    (Fraction(1, 2), False, "#####"),
    (Fraction(1, 1000), False, "#"),
])
def test_bars(share, unicode, expected):
    assert bar(share, unicode) == expected


def test_table_bars_are_ascii_when_the_stream_is_not_utf8(monkeypatch):
    monkeypatch.setenv("COLUMNS", "1000")  # every column
    stream = io.TextIOWrapper(io.BytesIO(), encoding="ascii")
    text = render(notes_example(), "table", stream)
    regular = next(line for line in text.splitlines() if line.startswith("| regular"))
    separable = next(line for line in text.splitlines() if line.startswith("| depthwise-separable"))
    assert "| ########## |" in regular
    assert "| #          |" in separable
    assert "█" not in text


def test_colour_only_when_asked_and_never_with_no_color(monkeypatch):
    assert "\x1b[" not in compare("regular", *NOTES).stdout
    monkeypatch.setenv("FORCE_COLOR", "1")
    assert "\x1b[" in compare("regular", *NOTES).stdout
    monkeypatch.setenv("NO_COLOR", "1")
    assert "\x1b[" not in compare("regular", *NOTES).stdout


def test_table_ascii_spells_the_closed_forms_and_arrows_in_ascii(two_specs, monkeypatch):
    monkeypatch.setenv("COLUMNS", "1000")  # every column
    stream = io.TextIOWrapper(io.BytesIO(), encoding="ascii")
    text = render(compare_variants(["regular", "depthwise-separable", "spatially-separable", "fft"],
                                   ConvSetup((3, 7, 7), 128, 3, p="valid")), "table", stream)
    text.encode("ascii")  # nothing left that the stream cannot take
    separable = next(line for line in text.splitlines() if line.startswith("| depthwise-separable"))
    assert "| 1/N + 1/K^2 = 0.119 " in separable
    assert "| (C + N)/(max(C, N)*K) = 0.341 " in text  # (3 + 128)/(128·3) = 131/384
    assert "MACs 4*out*C*M" in text
    text = render(compare_specs(convcalc.load(two_specs[0]), convcalc.load(two_specs[1])), "table", stream)
    text.encode("ascii")
    assert "| changed (by position) | fc -> head |" in text
    assert "| delta params |" in text


def test_ascii_output_end_to_end():
    env = {**os.environ, "PYTHONIOENCODING": "ascii", "COLUMNS": "1000"}
    done = subprocess.run([sys.executable, "-m", "convcalc", "compare", "--all", *NOTES], capture_output=True,
                          cwd=ROOT, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    text = done.stdout.decode("ascii")
    assert "| 1/N + 1/K^2 = 0.119 " in text


def test_table_fits_a_narrow_terminal_by_dropping_optional_columns(monkeypatch):
    monkeypatch.setenv("COLUMNS", "100")
    lines = compare("regular", "depthwise-separable", *NOTES).stdout.splitlines()
    table = [line for line in lines if line[:1] in "┌│├└"]
    assert max(len(line) for line in table) <= 100
    assert "output bytes" not in table[1] and "MACs / regular" in table[1]


NARROW = [
    ["regular", "depthwise-separable", *NOTES],
    ["--all", *NOTES],
    ["--all", "--input", "16x100", "--out", "32", "-k", "5", "-p", "same"],
    ["--all", "--input", "64x56x56", "--out", "64", "-k", "7", "-p", "same", "--groups", "4"],
    ["specs/resnet50.yaml", "specs/se_resnet50.yaml"],
    ["specs/resnet50.yaml", "--batch", "8"],
]


@pytest.mark.parametrize("args", NARROW, ids=lambda args: " ".join(args[:2]))
def test_every_line_fits_80_columns(monkeypatch, args):
    monkeypatch.setenv("COLUMNS", "80")
    result = compare(*args)
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80, max(lines, key=len)


@pytest.mark.parametrize("columns", ["80", "60", "40"])
def test_a_title_too_long_for_the_terminal_wraps_onto_indented_lines(monkeypatch, columns):
    monkeypatch.setenv("COLUMNS", columns)
    lines = compare("regular", *NOTES).stdout.splitlines()
    title = lines[:next(i for i, line in enumerate(lines) if line.startswith("┌"))]
    assert len(title) > 1 and all(len(line) <= int(columns) for line in title)
    assert all(line.startswith("  ") for line in title[1:]) and "\\n" not in "".join(title)
    assert " ".join(line.strip() for line in title) == ("convolution variants: input 3x7x7, out 128, k 3, s 1, "
                                                         "p valid (batch 1, float32, no bias)")


def test_notes_example_at_80_columns_keeps_the_notes_sum(monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    text = compare("regular", "depthwise-separable", *NOTES).stdout
    rows = {line.split("│")[1].strip(): line for line in text.splitlines() if line.startswith("│ ")}
    assert " 675 + 9,600 = 10,275 " in rows["depthwise-separable"]
    assert " 86,400 " in rows["regular"]
    # the bar and the closed forms are dropped (the note under the table names them), and so is
    # what the footer said about them
    assert "MACs bar" not in rows["regular"] and "bar:" not in text
    assert "closed form," in " ".join(text.split()) and "closed forms:" not in text
    monkeypatch.delenv("COLUMNS")
    wide = compare("regular", "depthwise-separable", *NOTES).stdout
    assert "; bar: MACs as a share of the largest (regular)" in wide and "closed forms: " in wide


def test_too_wide_stage_sums_fall_back_to_the_totals(monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    text = compare("--all", "--input", "16x100", "--out", "32", "-k", "5", "-p", "same").stdout
    rows = {line.split("│")[1].strip(): line for line in text.splitlines() if line.startswith("│ ")}
    assert "│ 460,800 │" in rows["stacked"]  # 16·32·3·100 + 32·32·3·100, without the sum
    assert 16 * 32 * 3 * 100 + 32 * 32 * 3 * 100 == 460_800
    assert " + " not in "".join(rows.values())
    assert " n/a │" in rows["spatially-separable"]  # not applicable, though the layers column is gone


def test_spec_layer_names_stay_whole_at_80_columns(monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    text = compare("specs/resnet50.yaml", "specs/se_resnet50.yaml").stdout
    rows = [line for line in text.splitlines() if line.startswith("│ added ")]
    names = [row.split("│")[2].strip() for row in rows]
    assert len(rows) == 16 * 6 and len(set(names)) == len(names)
    assert "layer4.2.se.sigmoid" in names
    assert "…" not in text


def test_spec_layer_names_too_long_are_cut_in_the_middle(tmp_path, monkeypatch):
    long = "encoder_stage3_block2_attention_projection"
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    a.write_text("name: a\ninput: [8, 4, 4]\nlayers:\n  - conv: {out: 8, k: 1, name: stem}\n")
    b.write_text("name: b\ninput: [8, 4, 4]\nlayers:\n  - conv: {out: 8, k: 1, name: stem}\n"
                 f"  - conv: {{out: 8, k: 1, name: {long}_in}}\n  - conv: {{out: 8, k: 1, name: {long}_out}}\n")
    monkeypatch.setenv("COLUMNS", "70")
    lines = compare(str(a), str(b)).stdout.splitlines()
    assert max(len(line) for line in lines) <= 70
    names = [line.split("│")[2].strip() for line in lines if line.startswith("│ added ")]
    # kind, output and bar dropped; the name gets 70 - (change 6, params 6, Δ params 8, MACs 5, Δ MACs 6,
    # each + 3, and 1) - 3 = 20 characters: 9 of its head, '…', 10 of its tail
    assert 70 - ((6 + 3) + (6 + 3) + (8 + 3) + (5 + 3) + (6 + 3) + 1) - 3 == 9 + 1 + 10
    assert names == ["encoder_s…jection_in", "encoder_s…ection_out"]


def test_help_lists_every_variant():
    text = CliRunner().invoke(cli, ["compare", "--help"]).stdout
    for name, record in VARIANTS.items():
        assert f"  {name} " in text


def test_compare_never_imports_heavy_modules():
    code = ("import sys\nfrom click.testing import CliRunner\nfrom convcalc.cli import cli\n"
            "for args in (['--all', '--input', '3x7x7', '--out', '128'], ['specs/resnet50.yaml', '--batch', '2']):\n"
            "    for fmt in ('table', 'json', 'csv', 'markdown'):\n"
            "        r = CliRunner().invoke(cli, ['compare', *args, '--format', fmt])\n"
            "        assert r.exit_code == 0, r.output\n"
            "print(sorted(m for m in ('torch', 'numpy', 'fvcore', 'matplotlib', 'rich') if m in sys.modules))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


# --------------------------------------------------------------------------------------------
# One spec against another

SMALL_A = """\
name: small
input: [3, 16, 16]
layers:
  - conv: {out: 8, k: 3, p: 1, name: stem}
  - relu
  - conv: {out: 16, k: 3, s: 2, name: down}
  - dropout
  - gap
  - flatten
  - linear: {out: 10, name: fc}
"""
SMALL_B = """\
name: wider
input: [3, 16, 16]
layers:
  - conv: {out: 8, k: 3, p: 1, name: stem}
  - relu
  - conv: {out: 32, k: 3, s: 2, name: down}
  - bn
  - gap
  - flatten
  - linear: {out: 10, name: head}
"""


@pytest.fixture
def two_specs(tmp_path):
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    a.write_text(SMALL_A)
    b.write_text(SMALL_B)
    return str(a), str(b)


def test_spec_against_spec_totals_and_layers(two_specs):
    result = compare_specs(convcalc.load(two_specs[0]), convcalc.load(two_specs[1]))
    # down: 16x7x7 -> 32x7x7; params 16*8*9 + 16 -> 32*8*9 + 32
    params_a = (8 * 3 * 9 + 8) + (16 * 8 * 9 + 16) + (16 * 10 + 10)
    params_b = (8 * 3 * 9 + 8) + (32 * 8 * 9 + 32) + 2 * 32 + (32 * 10 + 10)
    assert (result.total("params").a, result.total("params").b) == (params_a, params_b)
    assert result.total("params").diff == params_b - params_a
    assert result.total("params").ratio == Fraction(params_b, params_a)
    assert result.total("macs").diff == (32 - 16) * 8 * 9 * 7 * 7 + (32 - 16) * 10
    changes = [(c.change, c.a.name if c.a else None, c.b.name if c.b else None, c.matched_by, c.differs)
               for c in result.layers]
    assert changes == [
        ("changed", "down", "down", "name", ("output", "params", "macs", "flops")),
        ("removed", "dropout1", None, None, ()),
        ("added", None, "bn1", None, ()),
        ("changed", "gap1", "gap1", "name", ("output", "flops")),  # gap: one add per input element
        ("changed", "flatten1", "flatten1", "name", ("output",)),
        ("changed", "fc", "head", "position", ("name", "params", "macs", "flops")),  # the unmatched linears pair up
    ]
    assert (result.by_name, result.by_position, result.added, result.removed, result.changed) == (5, 1, 1, 1, 4)
    # the per-layer differences add up to the totals' differences
    for metric in ("params", "macs", "flops"):
        assert sum(c.diff(metric) for c in result.layers) == result.total(metric).diff
    assert result.share_metric == "macs"
    assert result.layers[0].share == 1


def test_spec_comparison_computes_its_ratios_and_the_change_of_field(two_specs):
    result = compare_specs(convcalc.load(two_specs[0]), convcalc.load(two_specs[1]))
    params_a = (8 * 3 * 9 + 8) + (16 * 8 * 9 + 16) + (16 * 10 + 10)
    params_b = (8 * 3 * 9 + 8) + (32 * 8 * 9 + 32) + 2 * 32 + (32 * 10 + 10)
    assert result.total("params").relative == Fraction(params_b - params_a, params_a)
    assert result.total("buffers").relative is None  # a has no buffers
    down = result.layers[0]
    assert down.ratio("params") == Fraction(32 * 8 * 9 + 32, 16 * 8 * 9 + 16)
    assert down.relative("params") == Fraction(32 * 8 * 9 + 32 - (16 * 8 * 9 + 16), 16 * 8 * 9 + 16)
    added = next(change for change in result.layers if change.change == "added")
    assert added.ratio("params") is None and added.relative("params") is None
    assert (result.receptive_field_delta, result.global_change) == ((0, 0), None)
    a, b = convcalc.from_text("8x16x16 | conv 8 k3 p1"), convcalc.from_text("8x16x16 | conv 8 k5 p2 | gap")
    assert (compare_specs(a, b).receptive_field_delta, compare_specs(a, b).global_change) == ((5 - 3, 5 - 3), "gained")
    assert (compare_specs(b, a).receptive_field_delta, compare_specs(b, a).global_change) == ((3 - 5, 3 - 5), "lost")
    flat = convcalc.from_text("8x16 | conv 8 k3")
    assert compare_specs(a, flat).receptive_field_delta is None  # 2-D against 1-D


def test_every_compare_format_has_renderers_and_is_a_choice():
    from convcalc.cli.compare import compare as command
    from convcalc.reporters.comparison import RENDERERS, CompareFormat

    assert set(RENDERERS) == set(CompareFormat)
    option = next(param for param in command.params if param.name == "fmt")
    assert list(option.type.choices) == [f.value for f in CompareFormat]


def test_spec_against_spec_cli_json(two_specs):
    result = compare(*two_specs, "--format", "json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert (data["mode"], data["a"]["name"], data["b"]["name"]) == ("specs", "small", "wider")
    totals = {t["metric"]: t for t in data["totals"]}
    assert totals["params"]["diff"] == totals["params"]["b"] - totals["params"]["a"]
    assert set(totals) == {"params", "buffers", "macs", "flops", "peak_activation_bytes", "weight_bytes",
                           "activation_bytes"}
    assert [(c["change"], c["matched_by"]) for c in data["layers"]][-1] == ("changed", "position")
    # 3x3 p1, then 3x3 s2: 3 + (3-1)*1 = 5 from -1; the pool keeps one position (jump 0) + global
    assert (data["a"]["receptive_field"], data["a"]["global"]) == ([[5, 0, -1], [5, 0, -1]], True)


def test_spec_against_spec_csv_and_table(two_specs):
    rows = list(csv.DictReader(io.StringIO(compare(*two_specs, "--format", "csv").stdout)))
    down = {r["metric"]: r for r in rows if r["section"] == "layer" and r["name_b"] == "down"}
    assert (down["params"]["a"], down["params"]["b"], down["params"]["diff"]) == (
        str(16 * 8 * 9 + 16), str(32 * 8 * 9 + 32), str(16 * 8 * 9 + 16))
    assert down["output"]["b"] == "1x32x7x7"
    text = compare(*two_specs).stdout
    assert "│ changed (by position) │ fc → head" in text
    assert "layers: 5 matched by name, 1 by position; 1 added, 1 removed, 4 changed" in text


def test_spec_against_spec_csv_has_relative_differences_and_the_receptive_field(two_specs):
    rows = list(csv.DictReader(io.StringIO(compare(*two_specs, "--format", "csv").stdout)))
    totals = {r["metric"]: r for r in rows if r["section"] == "total"}
    params_a = (8 * 3 * 9 + 8) + (16 * 8 * 9 + 16) + (16 * 10 + 10)
    params_b = (8 * 3 * 9 + 8) + (32 * 8 * 9 + 32) + 2 * 32 + (32 * 10 + 10)
    assert float(totals["params"]["relative"]) == pytest.approx((params_b - params_a) / params_a)
    assert float(totals["params"]["ratio"]) == pytest.approx(params_b / params_a)
    assert totals["buffers"]["relative"] == ""  # a has no buffers: no relative difference
    # 3x3 (stride 1, pad 1) then 3x3 stride 2 on both sides: 3 + (3-1)*1 = 5, then the global pool
    assert (totals["receptive_field"]["a"], totals["receptive_field"]["b"]) == ("5x5 + global", "5x5 + global")
    assert totals["receptive_field"]["diff"] == "0x0"
    down = {r["metric"]: r for r in rows if r["section"] == "layer" and r["name_b"] == "down"}
    down_a, down_b = 16 * 8 * 9 + 16, 32 * 8 * 9 + 32
    assert float(down["params"]["relative"]) == pytest.approx((down_b - down_a) / down_a)


@pytest.mark.skipif(not (ROOT / "specs" / "se_resnet50.yaml").exists(), reason="specs/se_resnet50.yaml not there")
def test_spec_against_spec_se_blocks_do_not_shrink_the_receptive_field():
    """Adding a path cannot make an output see less: SE-ResNet-50 has ResNet-50's local field
    (427, the published figure), and both end global, after the pool."""
    rows = list(csv.DictReader(io.StringIO(compare("specs/resnet50.yaml", "specs/se_resnet50.yaml",
                                                   "--format", "csv").stdout)))
    rf = next(r for r in rows if r["metric"] == "receptive_field")
    assert (rf["a"], rf["b"], rf["diff"]) == ("427x427 + global", "427x427 + global", f"{427 - 427}x{427 - 427}")
    text = compare("specs/resnet50.yaml", "specs/se_resnet50.yaml").stdout
    assert re.search(r"│ receptive field +│ 427x427 \+ global │ 427x427 \+ global │ +same │", text)


def test_spec_against_spec_says_when_global_context_is_gained():
    a = convcalc.from_text("8x16x16 | conv 8 k3 p1 | conv 8 k3 p1")
    b = convcalc.from_text("8x16x16 | conv 8 k3 p1 name=a | gap | mul from=a,gap1 | conv 8 k3 p1")
    lines = specs_markdown(compare_specs(a, b)).splitlines()
    assert "| receptive field | 5x5 | 5x5 + global | same + global | | |" in lines


def test_spec_against_spec_markdown_has_the_bar(two_specs):
    text = compare(*two_specs, "--format", "markdown").stdout
    lines = text.splitlines()
    assert "| change | layer | kind | output | params | Δ params | MACs | Δ MACs | Δ MACs bar |" in lines
    down = next(line for line in lines if line.startswith("| changed | down |"))
    assert down.endswith("| " + "█" * 10 + " |")  # the largest |Δ MACs|
    bn = next(line for line in lines if line.startswith("| added | bn1 |"))
    assert bn.endswith("| 0 | +0 |  |")  # batch norm has no MACs: no bar


def test_spec_against_itself_at_another_batch_shows_the_scaling():
    one = convcalc.analyze(convcalc.load("specs/resnet50.yaml"))
    data = json.loads(compare("specs/resnet50.yaml", "--batch", "8", "--format", "json").stdout)
    totals = {t["metric"]: t for t in data["totals"]}
    assert (data["a"]["batch"], data["b"]["batch"]) == (1, 8)
    assert totals["macs"]["b"] == 8 * totals["macs"]["a"] == 8 * one.total.macs
    assert totals["params"]["b"] == totals["params"]["a"] == one.total.params
    assert totals["peak_activation_bytes"]["ratio"] == 8
    assert data["layers"] == [] and data["per_sample"] is True
    assert (data["a"]["label"], data["b"]["label"]) == ("resnet50 @ batch 1", "resnet50 @ batch 8")
    # the same with the spec given twice and one batch per side
    twice = json.loads(compare("specs/resnet50.yaml", "specs/resnet50.yaml", "--batch", "2", "--batch", "8",
                               "--format", "json").stdout)
    assert {t["metric"]: t["ratio"] for t in twice["totals"]}["macs"] == 4


@pytest.mark.skipif(not (ROOT / "specs" / "se_resnet50.yaml").exists(), reason="specs/se_resnet50.yaml not there")
def test_resnet50_against_se_resnet50_shows_the_se_blocks():
    result = compare_specs(convcalc.load("specs/resnet50.yaml"), convcalc.load("specs/se_resnet50.yaml"))
    assert {c.change for c in result.layers} == {"added"}
    assert all(".se." in c.b.name for c in result.layers)
    assert result.added == 16 * 6  # 16 bottlenecks, each: gap, fc1, relu, fc2, sigmoid, mul
    # the SE 1x1 convs with bias: C -> C/16 -> C, per bottleneck, over widths 256, 512, 1024, 2048
    se = sum(n * ((c * (c // 16) + c // 16) + ((c // 16) * c + c)) for c, n in ((256, 3), (512, 4), (1024, 6), (2048, 3)))
    assert result.total("params").diff == se == sum(c.diff("params") for c in result.layers)


def test_text_form_specs_compare():
    data = json.loads(compare("3x8x8 | conv 4 k3", "3x8x8 | conv 8 k3", "--format", "json").stdout)
    assert {t["metric"]: t["diff"] for t in data["totals"]}["params"] == (8 - 4) * (3 * 9 + 1)


# --------------------------------------------------------------------------------------------
# Plot


@pytest.mark.parametrize("suffix, magic", [(".png", b"\x89PNG"), (".svg", b"<?xml")])
def test_plot_writes_the_file(tmp_path, suffix, magic):
    pytest.importorskip("matplotlib")
    path = tmp_path / f"variants{suffix}"
    result = compare("--all", *NOTES, "--plot", str(path))
    assert result.exit_code == 0
    assert result.stderr == f"convcalc: wrote {path}\n"
    assert path.read_bytes().startswith(magic)


def test_plot_of_two_specs(tmp_path, two_specs):
    pytest.importorskip("matplotlib")
    path = tmp_path / "specs.png"
    assert compare(*two_specs, "--plot", str(path)).exit_code == 0
    assert path.stat().st_size > 1000


@pytest.mark.parametrize("where, message", [
    ("missing/x.png", "there is no folder {tmp}/missing"),
    ("folder.png", "is a folder, not a file"),
])
def test_plot_to_a_path_that_cannot_be_written_fails_before_any_work(tmp_path, where, message):
    (tmp_path / "folder.png").mkdir()
    path = tmp_path / where
    result = compare("regular", *NOTES, "--plot", str(path))
    assert result.exit_code == 2
    assert result.stderr == f"convcalc: --plot {path}: {message.format(tmp=tmp_path)}\n"
    assert result.stdout == ""


def test_plot_that_fails_to_save_is_a_usage_error(tmp_path, monkeypatch):
    figure = pytest.importorskip("matplotlib.figure")

    def full_disk(self, *args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(figure.Figure, "savefig", full_disk)
    path = tmp_path / "x.png"
    with pytest.raises(UsageError, match=f"^--plot {path}: cannot write it: No space left on device$"):
        plot(notes_example(), str(path))
    result = compare("regular", *NOTES, "--plot", str(path))
    assert result.exit_code == 2
    assert result.stderr == f"convcalc: --plot {path}: cannot write it: No space left on device\n"


@pytest.mark.parametrize("names", [("regular", "depthwise-separable"), ("regular",), tuple(VARIANTS)])
def test_plot_title_lies_inside_the_figure(tmp_path, monkeypatch, names):
    figure = pytest.importorskip("matplotlib.figure")
    saved = []
    save = figure.Figure.savefig
    monkeypatch.setattr(figure.Figure, "savefig", lambda self, *a, **k: (saved.append(self), save(self, *a, **k)))
    plot(compare_variants(names, ConvSetup((3, 7, 7), 128, 3)), str(tmp_path / "x.png"))
    (fig,) = saved
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    renderer = FigureCanvasAgg(fig).get_renderer()
    title = fig.axes[0].title.get_window_extent(renderer)
    assert 0 <= title.x0 and title.x1 <= fig.bbox.width
    assert title.y1 <= fig.bbox.height


def test_plot_without_matplotlib_is_a_usage_error(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now fails
    result = compare("regular", *NOTES, "--plot", str(tmp_path / "x.png"))
    assert result.exit_code == 2
    assert result.stderr == "convcalc: --plot needs matplotlib: pip install 'convcalc[plot]'\n"
    assert result.stdout == ""


# --------------------------------------------------------------------------------------------
# Usage errors: one line on stderr, exit 2


@pytest.mark.parametrize("args, message", [
    (["regular", "specs/resnet50.yaml"], "give variant names or spec files, not both: 'regular' is a variant, "
                                         "'specs/resnet50.yaml' a spec"),
    (["regulr", *NOTES], "'regulr' is neither a variant (did you mean 'regular'?) nor a spec file"),
    ([], "give variant names (e.g. regular depthwise-separable) or --all"),
    (["regular"], "variants need --input (channels first, e.g. 3x7x7) and --out"),
    (["regular", "--input", "3x7x7"], "variants need --input"),
    (["regular", "--input", "3", "--out", "8"], "--input 3 has no spatial axis"),
    (["regular", "--input", "3x7y7", "--out", "8"], "--input: input must be a list of integers"),
    (["regular", "--input", "3x7x7", "--out", "8", "-p", "sme"], "-p must be valid, same, full or a non-negative "
                                                                  "integer, got 'sme' (did you mean 'same'?)"),
    (["regular", "--input", "3x7x7", "--out", "0"], "--out must be between 1 and 281474976710656 (2^48), got 0"),
    (["regular", "--input", "3x7x7", "--out", "8", "-k", "0"], "-k must be between 1 and"),
    (["regular", "--input", "3x7x7", "--out", str(2**49)], f"--out must be between 1 and {2**48} (2^48), got {2**49}"),
    (["regular", *NOTES, "--batch", "1", "--batch", "2"], "--batch is given twice; variants take one batch"),
    (["specs/resnet50.yaml", "--all"], "--all runs every variant of one convolution; it does not take spec files"),
    (["specs/resnet50.yaml"], "one spec compares with itself at another batch: give --batch N"),
    (["specs/resnet50.yaml", "specs/resnet50.yaml", "specs/resnet50.yaml"], "compare takes two specs"),
    (["specs/resnet50.yaml", "specs/resnet50.yaml", "--out", "8", "-k", "3"], "--out, -k are for variants"),
    (["specs/resnet50.yaml", "missing.yaml"], "missing.yaml: no such file"),
    (["regular", *NOTES, "--plot", "x.pdf"], "--plot writes a .png or .svg file, got 'x.pdf'"),
])
def test_usage_errors_are_one_line_with_exit_2(args, message):
    result = compare(*args)
    assert result.exit_code == 2
    assert result.stderr.startswith("convcalc: ")
    assert result.stderr.count("\n") == 1
    assert message in result.stderr
    assert result.stdout == ""


def test_click_rejects_a_bad_format_with_exit_2():
    assert compare("regular", *NOTES, "--format", "yaml").exit_code == 2
    assert compare("specs/resnet50.yaml", "--batch", "0").exit_code == 2


def test_a_missing_path_is_a_spec_that_fails_to_load(tmp_path):
    missing = os.path.join(str(tmp_path), "nothing")
    result = compare(missing, "specs/resnet50.yaml")
    assert result.exit_code == 2
    assert result.stderr == f"convcalc: {missing}: no such file\n"


def test_layers_that_differ_only_in_name_are_counted_not_listed(tmp_path):
    """A library spec against the same network imported from PyTorch matches by position and
    differs only in names: no rows of changes, a count and two examples, the pairs in the JSON."""
    a = tmp_path / "a.yaml"
    b = tmp_path / "b.yaml"
    a.write_text("name: a\ninput: [3, 8, 8]\nlayers:\n  - conv: {name: c1, out: 4, k: 3}\n  - relu: {name: r1}\n"
                 "  - conv: {name: c2, out: 5, k: 3}\n")
    b.write_text("name: b\ninput: [3, 8, 8]\nlayers:\n  - conv: {name: stem.conv, out: 4, k: 3}\n  - relu: {name: r1}\n"
                 "  - conv: {name: head, out: 6, k: 3}\n")
    result = compare_specs(convcalc.load(str(a)), convcalc.load(str(b)))
    assert result.renamed == (("c1", "stem.conv"),)  # c2 -> head changed its width: a change, not a rename
    assert [(c.change, c.a.name, c.b.name) for c in result.layers] == [("changed", "c2", "head")]
    out = compare(str(a), str(b))
    assert "1 changed; 1 differ only in name (same kind, output and counts), e.g. c1 → stem.conv" in out.stdout
    document = json.loads(compare(str(a), str(b), "--format", "json").stdout)
    assert (document["changed"], document["renamed"]) == (1, [["c1", "stem.conv"]])
