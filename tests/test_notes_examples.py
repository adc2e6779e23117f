"""The course notes' worked examples (../shared/seeds) that test_formulas.py, test_receptive_field.py
and test_compare.py do not already cover: the AlexNet figure's neuron counts, the 32 -> 28 -> 24
shrink, what 2x2 max pooling keeps, a conv layer against its fully connected equivalent, the
dilated 3x3, the stride walk-through, the separable-convolution break-even, compound scaling and
ConvNeXt's stage depths.

Each test computes with convcalc (a one-line spec or a spec file) and compares with the notes'
number written as arithmetic. Where a note is wrong, the test asserts what is true and says so.
"""

from __future__ import annotations

from collections import Counter
from fractions import Fraction
from math import prod
from pathlib import Path

import pytest

import convcalc

from .conftest import run

ROOT = Path(__file__).resolve().parent.parent


def elements(shape: tuple[int, ...]) -> int:
    """Elements per sample of a batched shape (N, C, ...)."""
    return prod(shape[1:])


# -- AlexNet (Krizhevsky et al. 2012, figure 2's caption, quoted in the notes) ----------------


@pytest.fixture(scope="module")
def alexnet():
    return convcalc.analyze(convcalc.load(ROOT / "specs" / "alexnet_paper.yaml"))


def test_alexnet_neurons_per_layer(alexnet):
    # "the number of neurons in the network's remaining layers is given by
    #  253,440-186,624-64,896-64,896-43,264-4096-4096-1000": the outputs of conv1 .. conv5 and
    # fc6 .. fc8. All but the first are exact:
    later = ["conv2", "conv3", "conv4", "conv5", "fc6", "fc7", "fc8"]
    assert [elements(alexnet.layer(name).output) for name in later] == [
        27 * 27 * 256, 13 * 13 * 384, 13 * 13 * 384, 13 * 13 * 256, 4096, 4096, 1000]
    assert [27 * 27 * 256, 13 * 13 * 384, 13 * 13 * 256] == [186_624, 64_896, 43_264]


def test_alexnet_conv1_neurons_are_290400_not_the_captions_253440(alexnet):
    # A known inconsistency of the paper: conv1's 96 maps are 55x55 (the figure's own 55x55x48 on
    # each of the two GPUs), so 55 * 55 * 96 = 290,400. The caption's 253,440 = 96 * 2,640 is not
    # 96 square maps of any size (2,640 is not a square: 51^2 = 2,601 < 2,640 < 52^2 = 2,704).
    conv1 = alexnet.layer("conv1")
    assert conv1.output == (1, 96, 55, 55)
    assert elements(conv1.output) == 55 * 55 * 96 == 290_400 != 253_440
    assert 253_440 % 96 == 0 and 51**2 < 253_440 // 96 < 52**2


def test_alexnet_input_150528_is_224x224x3_which_does_not_give_55x55():
    # "The network's input is 150,528-dimensional" = 224 * 224 * 3. With conv1's k11 s4 p0,
    # (224 - 11)/4 + 1 = 54.25: 54x54 and an uncovered last column. 227 gives (227 - 11)/4 + 1 = 55,
    # which is why specs/alexnet_paper.yaml takes 3x227x227.
    at_224 = run("3x224x224 | conv 96 k11 s4")
    assert elements(at_224.input) == 224 * 224 * 3 == 150_528
    assert at_224.output == (1, 96, (224 - 11) // 4 + 1, (224 - 11) // 4 + 1) == (1, 96, 54, 54)
    assert "the last 1 of 224 input positions are never covered" in at_224.layers[0].warnings[0]
    at_227 = run("3x227x227 | conv 96 k11 s4")
    assert at_227.output == (1, 96, (227 - 11) // 4 + 1, (227 - 11) // 4 + 1) == (1, 96, 55, 55)
    assert at_227.layers[0].warnings == ()


def test_alexnet_has_conv1_to_conv5_pool1_to_pool3_fc6_to_fc8(alexnet):
    # "CONV1, ..., CONV5", "POOL1, ..., POOL3", "FC6, FC7, and FC8"; and "96 filters (size: 11x11)
    # learned by AlexNet", each over the 3 input channels.
    kinds = Counter(layer.kind for layer in alexnet.layers)
    assert (kinds["conv"], kinds["maxpool"], kinds["linear"]) == (5, 3, 3)
    assert alexnet.layer("conv1").params == 96 * (11 * 11 * 3) + 96


# -- spatial arithmetic -----------------------------------------------------------------------


def test_repeated_5x5_shrinks_32_to_28_to_24_and_on_until_nothing_is_left():
    # "a 32x32 input convolved repeatedly with 5x5 filters: volume shrinks spatially
    # (32 -> 28 -> 24 ...)", each layer losing 5 - 1 = 4. Seven layers reach 4x4;
    report = run("3x32x32 | conv 3 k5 repeat=7")
    assert [layer.output[-1] for layer in report.layers] == [32 - (5 - 1) * i for i in range(1, 8)]
    assert [layer.output[-1] for layer in report.layers][:2] == [28, 24]
    # an eighth 5x5 window does not fit in 4x4.
    with pytest.raises(convcalc.ConvcalcError, match="kernel 5 is larger than the padded input 4"):
        run("3x32x32 | conv 3 k5 repeat=8")
    # Zero-padding with (k - 1)/2 = 2 keeps 32x32 through all of them.
    assert [layer.output[-1] for layer in run("3x32x32 | conv 3 k5 p2 repeat=8").layers] == [32] * 8


@pytest.mark.parametrize("s, windows", [
    (1, [(1, 3), (2, 4), (3, 5), (4, 6), (5, 7)]),  # "1~3, 2~4, 3~5, 4~6, 5~7"
    (2, [(1, 3), (3, 5), (5, 7)]),  # "1~3, 3~5, 5~7"
])
def test_stride_walk_over_7_with_a_3x3_filter(s, windows):
    # "7x7x3 with a 3x3x3 filter: stride 1 examines columns 1~3, 2~4, ...; stride 2: 1~3, 3~5, 5~7"
    # (1-based). Output unit i sees input [start + i*jump, start + i*jump + size - 1], 0-based.
    report = run(f"3x7x7 | conv 1 k3 s{s}")
    size, jump, start = report.receptive_field[1]
    seen = [(start + i * jump + 1, start + i * jump + size) for i in range(report.output[-1])]
    assert seen == windows
    assert report.output[-1] == (7 - 3) // s + 1


@pytest.mark.parametrize("f", [3, 5, 7, 11])
def test_stride_1_and_padding_half_the_filter_keep_the_size(f):
    # "If S = 1 and P = (F - 1)/2, then W' = W and H' = H" (Keras' padding='same' for odd F)
    report = run(f"3x20x27 | conv 8 k{f} p{(f - 1) // 2}")
    assert report.output == (1, 8, 20, 27)
    assert report.output == run(f"3x20x27 | conv 8 k{f} p=same").output


def test_2x2_max_pooling_discards_75_percent_of_activations():
    # "the most common form: 2x2 max pooling with stride 2 - discards 75% of activations";
    # "the depth dimension remains unchanged"; "pooling introduces no parameters".
    report = run("64x32x32 | maxpool 2")
    assert report.output == (1, 64, (32 - 2) // 2 + 1, (32 - 2) // 2 + 1)
    kept = Fraction(elements(report.output), 64 * 32 * 32)
    assert kept == Fraction(1, 4) and 1 - kept == Fraction(75, 100)
    assert report.total.params == 0


# -- parameters -------------------------------------------------------------------------------


@pytest.mark.parametrize("c, w, k, f", [
    (3, 32, 6, 5),  # the notes' 32x32x3 with six 5x5 filters -> 28x28x6
    (3, 6, 20, 3),  # 6x6x3 with 20 3x3x3 filters -> 4x4x20
    (3, 7, 1, 3),  # 7x7x3 with one 3x3x3 filter -> 5x5x1
])
def test_fully_connected_equivalent_of_a_conv_layer(c, w, k, f):
    # "In the fully-connected case, the total number of required parameters
    #  = (W x H x C + 1) x (W' x H' x K)", against the conv's K(F^2 C + 1).
    w2 = w - f + 1  # W' = (W - F + 2P)/S + 1 with P = 0, S = 1
    conv = run(f"{c}x{w}x{w} | conv {k} k{f}")
    dense = run(f"{c}x{w}x{w} | flatten | linear {w2 * w2 * k}")
    assert elements(conv.output) == elements(dense.output) == w2 * w2 * k
    assert conv.total.params == k * (f * f * c + 1)
    assert dense.total.params == (w * w * c + 1) * (w2 * w2 * k)
    # every output sees all W*H*C inputs instead of F*F*C of them
    assert dense.total.macs == (w * w * c) * (w2 * w2 * k)
    assert conv.total.macs == (f * f * c) * (w2 * w2 * k)


def test_fully_connected_table_row_the_notes_compare_with():
    # The 32x32x3 / six 5x5 filters case in numbers: 456 conv parameters against 14,455,392.
    assert run("3x32x32 | conv 6 k5").total.params == 6 * (5 * 5 * 3 + 1) == 456
    assert run("3x32x32 | flatten | linear 4704").total.params == (32 * 32 * 3 + 1) * (28 * 28 * 6) == 14_455_392


def test_fully_connected_neuron_on_one_150x150_channel_has_22500_weights():
    # "must deal with very high-dimensional inputs (e.g. 150 x 150 = 22,500-dimensional inputs per channel)"
    assert run("1x150x150 | flatten | linear 1 bias=false").total.params == 150 * 150 == 22_500


def test_dilated_3x3_has_9_weights_per_channel_pair_and_covers_5x5():
    # "3x3 filter with dilation rate 2 => the same field of view as 5x5 filter (but only uses 9
    # parameters)": 9 weights per (input, output) channel pair, field 2*(3 - 1) + 1 = 5.
    c, k = 4, 8
    dilated = run(f"{c}x16x16 | conv {k} k3 d2 p2 bias=false")
    dense5 = run(f"{c}x16x16 | conv {k} k5 p2 bias=false")
    plain3 = run(f"{c}x16x16 | conv {k} k3 p1 bias=false")
    assert dilated.total.params == k * c * 3 * 3 and dense5.total.params == k * c * 5 * 5
    assert dilated.receptive_field == dense5.receptive_field
    assert [axis[0] for axis in dilated.receptive_field] == [2 * (3 - 1) + 1] * 2
    # "a wider field of view at the same computational cost": the MACs of the plain 3x3
    assert dilated.output == plain3.output == (1, k, 16, 16)
    assert dilated.total.macs == plain3.total.macs == 16 * 16 * k * c * 3 * 3


@pytest.mark.parametrize("c, n, k", [
    (8, 1, 3), (8, 2, 1), (8, 2, 2), (8, 2, 3), (16, 3, 1), (16, 32, 3), (3, 128, 3), (32, 64, 1),
])
def test_depthwise_separable_pays_off_when_k2_exceeds_n_over_n_minus_1(c, n, k):
    # The notes' break-even: separable / regular = 1/N + 1/K^2, below 1 exactly when
    # K^2 > N/(N - 1), i.e. K^2 (N - 1) > N. (The notes write "K^2 > (N - 1)/N", which is
    # inverted: it holds for every K >= 1, yet a 1x1 "separable" conv always costs more.)
    regular = run(f"{c}x9x9 | conv {n} k{k} p=same bias=false").total.macs
    separable = run(f"{c}x9x9 | dwconv {k} p=same bias=false | pwconv {n} bias=false").total.macs
    assert Fraction(separable, regular) == Fraction(1, n) + Fraction(1, k * k)
    assert (separable < regular) == (k * k * (n - 1) > n)


# -- scaling ----------------------------------------------------------------------------------


@pytest.mark.parametrize("depth, width, resolution", [
    (2, 1, 1), (1, 2, 1), (1, 1, 2), (2, 2, 2), (3, Fraction(3, 2), Fraction(3, 2)),
])
def test_compound_scaling_flops_grow_as_depth_width2_resolution2(depth, width, resolution):
    # EfficientNet: d = alpha^phi, w = beta^phi, r = gamma^phi with alpha * beta^2 * gamma^2 ~ 2,
    # because MACs grow linearly with depth and quadratically with width and resolution: exactly
    # so for a stack of equal-width convs (a real stem's 3 input channels make it approximate).
    def macs(n: int, channels: int, size: int) -> int:
        return run(f"{channels}x{size}x{size} | conv {channels} k3 p1 bias=false repeat={n}").total.macs

    base = macs(2, 16, 32)
    scaled = macs(int(2 * depth), int(16 * width), int(32 * resolution))
    assert Fraction(scaled, base) == depth * width**2 * resolution**2


def test_convnext_changes_resnet50_stage_depths_3_4_6_3_to_3_3_9_3():
    # "#blocks from (3, 4, 6, 3) to (3, 3, 9, 3)": one residual add per block, per stage
    def depths(name: str) -> list[int]:
        spec = convcalc.load(ROOT / "specs" / f"{name}.yaml")
        # torchvision's names: a block's add is STAGE.BLOCK.add (layer1.0.add, features.1.0.add)
        return list(Counter(node.name.rsplit(".", 2)[0] for node in spec.nodes if node.kind == "add").values())

    assert depths("resnet50") == depths("resnext50_32x4d") == [3, 4, 6, 3]
    assert depths("convnext_tiny") == [3, 3, 9, 3]
