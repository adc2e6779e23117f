"""Output-size rules, as tables whose expected values show their arithmetic.

The worked examples of the course notes (../shared/seeds) come first; then each rule's edge
cases. PyTorch's agreement on random configurations is in test_property.py.
"""

from __future__ import annotations

import re

import pytest

import convcalc
from convcalc.layers import adaptive_windows, pool_out, resolve_padding

from .conftest import run


def out(text: str) -> tuple[int, ...]:
    return run(text).output


# -- the course notes ------------------------------------------------------------------------


@pytest.mark.parametrize("s, size, fits", [
    (1, (7 - 3) // 1 + 1, True),  # 5: "7x7 input, 3x3 filter, stride 1 => 5x5 output"
    (2, (7 - 3) // 2 + 1, True),  # 3
    (3, (7 - 3) // 3 + 1, False),  # (7-3)/3 + 1 = 2.33: "not fit", floor gives 2
])
def test_notes_7x7_input_3x3_filter_at_strides(s, size, fits):
    report = run(f"1x7x7 | conv 1 k3 s{s}")
    assert report.output == (1, 1, size, size)
    warnings = report.layers[0].warnings
    assert (warnings == ()) is fits
    if not fits:
        # the last (7 - 3) % 3 = 1 column (and row) is never covered
        assert "the last 1 of 7 input positions are never covered" in warnings[0]


def test_notes_32x32x3_with_six_5x5_filters_gives_28x28x6():
    report = run("3x32x32 | conv 6 k5")
    assert report.output == (1, 6, 32 - 5 + 1, 32 - 5 + 1)
    # each filter has 5*5*3 = 75 weights and 1 bias
    assert report.total.params == 6 * (5 * 5 * 3 + 1)


def test_notes_6x6x3_with_20_filters_of_3x3x3_gives_4x4x20():
    assert out("3x6x6 | conv 20 k3") == (1, 20, 1 + (6 + 0 - 3) // 1, 1 + (6 + 0 - 3) // 1)


def test_notes_zero_padding_preserves_7x7():
    # (7 + 2 - 3)/1 + 1 = 7: zero-pad with (k-1)/2 = 1
    assert out("1x7x7 | conv 1 k3 p1") == (1, 1, 7, 7)
    assert out("1x7x7 | conv 1 k5 p2") == (1, 1, 7, 7)


@pytest.mark.parametrize("k, padding, size", [
    (3, "full", 5 + (3 - 1)),  # m + (k-1) = 7
    (3, "same", 5),
    (3, "valid", 5 - (3 - 1)),  # m - (k-1) = 3
    (4, "full", 5 + (4 - 1)),  # 8
    (4, "same", 5),
    (4, "valid", 5 - (4 - 1)),  # 2
])
def test_notes_full_same_valid_table_for_m5(k, padding, size):
    assert out(f"1x5x5 | conv 1 k{k} p={padding}") == (1, 1, size, size)


@pytest.mark.parametrize("k, left, right", [
    (3, (3 - 1) // 2, (3 - 1) // 2),  # odd kernel: 1 and 1
    (4, (4 - 1) // 2, (4 - 1) // 2 + 1),  # even kernel: 1 left, 2 right (the odd pixel on the right)
])
def test_notes_same_padding_split(k, left, right):
    assert resolve_padding("same", (5,), (k,), (1,), (1,)) == ((left, right),)


def test_notes_pointwise_56x56x64_to_32():
    report = run("64x56x56 | pwconv 32")
    assert report.output == (1, 32, 56, 56)
    assert report.total.params == 64 * 32 + 32
    assert report.total.macs == 56 * 56 * 32 * 64


def test_notes_conv_layer_params_are_K_F2C_plus_1():
    K, F, C = 10, 5, 7
    assert run(f"{C}x32x32 | conv {K} k{F}").total.params == K * (F**2 * C + 1)


def test_notes_transposed_conv_2x2_to_5x5():
    # Theano's tutorial figure: 3x3 filter, stride 2, 2x2 input -> (2-1)*2 + 3 = 5
    assert out("1x2x2 | deconv 1 k3 s2") == (1, 1, 5, 5)


def test_notes_textbook_edge_detector_267960_ops():
    # Goodfellow et al. fig. 9.6: a 2-tap kernel over 320x280 gives 319x280 outputs, each with
    # 2 multiplies and 1 add: 319*280*3 = 267,960 ops. Our FLOPs count 2 per MAC (k adds, the
    # first into zero), so the textbook count is 2*MACs - outputs.
    report = run("1x280x320 | conv 1 k=1x2 bias=false")
    outputs = 280 * 319
    assert report.total.macs == outputs * 2
    assert 2 * report.total.macs - outputs == 267_960
    # the same map as a dense matrix: (320*280) x (319*280) multiplies, about 16 billion ops
    dense = run("1x280x320 | flatten | linear 89320 bias=false")
    assert dense.total.macs == 320 * 280 * 319 * 280
    assert round(2 * dense.total.macs, -9) == 16_000_000_000


def test_notes_fully_connected_neuron_on_1000x1000x3_image():
    # "the neuron needs 1000 x 1000 x 3 = 3 x 10^6 weights"
    assert run("3x1000x1000 | flatten | linear 1 bias=false").total.params == 1000 * 1000 * 3


# -- convolution -----------------------------------------------------------------------------


@pytest.mark.parametrize("text, expected", [
    ("3x224x224 | conv 64 k7 s2 p3", (1, 64, (224 + 2 * 3 - 7) // 2 + 1, (224 + 2 * 3 - 7) // 2 + 1)),  # 112
    ("3x10x10 | conv 8 k3 d2", (1, 8, 10 - 2 * (3 - 1) - 1 + 1, 10 - 2 * (3 - 1) - 1 + 1)),  # 6
    ("3x10x12 | conv 8 k=3x5 s=1x2 p=1x0", (1, 8, (10 + 2 - 3) + 1, (12 - 5) // 2 + 1)),  # 10, 4
    ("2x16 | conv 4 k5 s3", (1, 4, (16 - 5) // 3 + 1)),  # 1-D: 4
    ("2x8x9x10 | conv 4 k3 p1 s2", (1, 4, (8 + 2 - 3) // 2 + 1, (9 + 2 - 3) // 2 + 1, (10 + 2 - 3) // 2 + 1)),
    ("3x7x7 | conv 5 k3 p=full", (1, 5, 7 + 2, 7 + 2)),
    ("3x7x7 | conv 5 k3 d2 p=full", (1, 5, 7 + 2 * 2 * (3 - 1) - 2 * (3 - 1), 7 + 4)),  # 11
])
def test_conv_output_size(text, expected):
    assert out(text) == expected


@pytest.mark.parametrize("n, k, s, d", [(224, 3, 2, 1), (225, 3, 2, 1), (7, 4, 3, 1), (10, 3, 4, 2), (1, 5, 3, 1)])
def test_same_padding_gives_ceil_n_over_s_at_any_stride(n, k, s, d):
    size = out(f"1x{n} | conv 1 k{k} s{s} d{d} p=same")[-1]
    assert size == -(-n // s)
    # and it covers the input exactly: no "does not fit" warning
    assert not any("does not fit" in w for w in run(f"1x{n} | conv 1 k{k} s{s} d{d} p=same").layers[0].warnings)


def test_asymmetric_padding_pairs():
    report = run("1x8x8 | conv 1 k3 p=1,1")
    assert report.output == (1, 1, 8, 8)
    from convcalc import loads, analyze

    spec = loads("input: [1, 8, 8]\nlayers:\n  - conv: {out: 1, k: 3, p: [[0, 2], [1, 1]]}\n")
    assert analyze(spec).output == (1, 1, 8 + 0 + 2 - 3 + 1, 8 + 1 + 1 - 3 + 1)


def test_depthwise_multiplier_and_separable():
    assert out("8x10x10 | dwconv 3 multiplier=2") == (1, 8 * 2, 10 - 2, 10 - 2)
    assert out("8x10x10 | sepconv 16 k3 s2 p1") == (1, 16, (10 + 2 - 3) // 2 + 1, (10 + 2 - 3) // 2 + 1)


# -- transposed convolution ------------------------------------------------------------------


@pytest.mark.parametrize("text, size", [
    ("1x4x4 | deconv 1 k3 s2 p1 output_padding=1", (4 - 1) * 2 - 2 * 1 + 1 * (3 - 1) + 1 + 1),  # 8
    ("1x4x4 | deconv 1 k4 s2 p1", (4 - 1) * 2 - 2 * 1 + (4 - 1) + 0 + 1),  # 8
    ("1x5x5 | deconv 1 k3 d2", (5 - 1) * 1 - 0 + 2 * (3 - 1) + 0 + 1),  # 9
    ("1x3x3 | deconv 1 k2 s2", (3 - 1) * 2 + (2 - 1) + 1),  # 6
])
def test_transposed_conv_output_size(text, size):
    assert out(text)[-1] == size


# -- pooling ---------------------------------------------------------------------------------


@pytest.mark.parametrize("n, k, s, p, d, ceil, expected", [
    (5, 2, 2, 0, 1, False, (5 - 2) // 2 + 1),  # 2
    (5, 2, 2, 0, 1, True, -(-(5 - 2) // 2) + 1),  # 3: ceil((5-2)/2) + 1
    (6, 2, 2, 0, 1, True, 3),  # already whole: ceil changes nothing
    # PyTorch's rule: the last window must start inside the input or left padding.
    # n=5, k=2, s=2, p=1: ceil((5+2-2)/2)+1 = 4, but window 3 starts at 3*2 = 6 >= 5+1: dropped
    (5, 2, 2, 1, 1, True, 3),
    (112, 3, 2, 1, 1, False, (112 + 2 - 3) // 2 + 1),  # ResNet's stem pool: 56
    (10, 3, 1, 1, 2, False, (10 + 2 - 2 * (3 - 1) - 1) // 1 + 1),  # dilated: 8
    (3, 3, 2, 0, 1, True, 1),
])
def test_pool_out(n, k, s, p, d, ceil, expected):
    assert pool_out(n, k, s, p, d, ceil) == expected


def test_pool_stride_defaults_to_kernel():
    assert out("3x32x32 | maxpool 2") == (1, 3, 16, 16)
    assert out("3x32x32 | avgpool 3") == (1, 3, (32 - 3) // 3 + 1, (32 - 3) // 3 + 1)  # 10


def test_ceil_mode_pool_googlenet_style():
    # GoogLeNet's maxpool 3x3 s2 with ceil_mode on 112: ceil((112-3)/2) + 1 = 56
    assert out("64x112x112 | maxpool k3 s2 ceil_mode=true") == (1, 64, 56, 56)
    assert out("64x112x112 | maxpool k3 s2") == (1, 64, 55, 55)


def test_lppool_and_global_pools():
    assert out("4x9x9 | lppool 2 3") == (1, 4, 3, 3)
    assert out("4x9x9 | gap") == (1, 4, 1, 1)
    assert out("4x5x6x7 | gap") == (1, 4, 1, 1, 1)
    assert out("4x9x9 | adaptive_avgpool 4") == (1, 4, 4, 4)
    assert out("4x9x9 | adaptive_maxpool size=2,null") == (1, 4, 2, 9)


@pytest.mark.parametrize("n, o, total, largest", [
    (7, 3, 7 + 3 - 1, 3),  # windows [0,3) [2,5) [4,7): 3+3+3 = 9
    (6, 3, 6, 2),  # exact: three windows of 2
    (5, 3, 5 + 3 - 1, 3),  # [0,2) [1,4) [3,5): 2+3+2 = 7, largest 3 = floor(5/3) + 2
    (10, 4, 10 + 4 - 2, 3),  # [0,3) [2,5) [5,8) [7,10): 3+3+3+3 = 12
    (3, 5, 3 + 5 - 1, 2),  # more outputs than inputs: [0,1) [0,2) [1,2) [1,3) [2,3)
])
def test_adaptive_windows(n, o, total, largest):
    assert adaptive_windows(n, o) == (total, largest)
    # brute force, as PyTorch computes them
    sizes = [-(-(i + 1) * n // o) - (i * n // o) for i in range(o)]
    assert (sum(sizes), max(sizes)) == (total, largest)


# -- resampling and reshaping ----------------------------------------------------------------


def test_upsample_and_unpool():
    assert out("3x5x5 | upsample 2") == (1, 3, 10, 10)
    assert out("3x5x5 | upsample 1.5") == (1, 3, 7, 7)  # floor(5 * 1.5)
    assert out("3x5x5 | upsample size=8x9 mode=bilinear") == (1, 3, 8, 9)
    assert out("3x4x4 | maxunpool 2") == (1, 3, (4 - 1) * 2 + 2, 8)


def test_flatten_linear_reshape_embedding():
    assert out("3x4x4 | flatten | linear 10") == (1, 10)
    assert out("3x4x4 | flatten | reshape shape=48,1,1") == (1, 48, 1, 1)
    assert out("3x4x4 | reshape shape=-1") == (1, 48)
    assert out("1x50 | embedding 1000 64 | conv 100 k3") == (1, 100, 50 - 2)


def test_channel_ops():
    assert out("8x4x4 | maxout 2") == (1, 4, 4, 4)
    assert out("8x4x4 | split 4 3") == (1, 2, 4, 4)
    assert out("8x4x4 | channel_shuffle 4 | shift") == (1, 8, 4, 4)


def test_batch_appears_in_shapes():
    assert run("3x8x8 | conv 4 k3", batch=16).output == (16, 4, 6, 6)


@pytest.mark.parametrize("text, pads", [
    # total padding (out-1)*s + k_eff - n with out = ceil(n/s), the odd pixel on the right
    ("3x8x8 | conv 4 k2 same", (((8 - 1) * 1 + 2 - 8) // 2, 1)),  # 1 in all: (0, 1)
    ("3x7x7 | conv 4 k4 s3 same", (1, 2)),  # (3-1)*3 + 4 - 7 = 3: (1, 2)
    ("3x8x8 | conv 4 k2 s2 same", None),  # (4-1)*2 + 2 - 8 = 0: no padding, nothing uneven
    ("3x7x7 | conv 4 k4 s3 same d2", None),  # k 4 at d 2 spans 2*(4-1)+1 = 7, odd: (3-1)*3+7-7 = 6: (3, 3)
    ("3x7x7 | conv 4 k3 s1 same", None),  # odd kernel: (7-1)*1 + 3 - 7 = 2: (1, 1)
])
def test_even_kernel_same_warning_only_when_the_padding_is_uneven(text, pads):
    warnings = run(text).layers[0].warnings
    if pads is None:
        assert warnings == ()
    else:
        assert warnings == (f"even kernel {text.split(' k')[1].split()[0]}x{text.split(' k')[1].split()[0]} "
                            f"with 'same' padding pads unevenly: ({pads}, {pads})",)


def test_upsample_scale_beyond_the_size_limit_is_an_error_not_an_overflow():
    # 8 * 1e308 is inf as a float; 8 * 1e300 is finite but far above 2^48
    for scale in ("1e308", "1e300"):
        with pytest.raises(convcalc.ConvcalcError,
                           match=re.escape(f"scale {float(scale)!r} takes an axis of 8 beyond the size limit of {2**48}")):
            run(f"3x8x8 | upsample scale={scale}")
