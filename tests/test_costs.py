"""Parameters, buffers, MACs and FLOPs per layer kind, with the arithmetic written out.

Conventions (docs/costs.md): MACs count the multiply-accumulates of convolutions and linear layers
without bias; FLOPs count all floating-point work, 2 per MAC plus bias adds plus elementwise work.
Everything scales with the batch except params and buffers.
"""

from __future__ import annotations

import pytest

from .conftest import run


def layer(text: str, batch: int | None = None):
    return run(text, batch).layers[-1]


@pytest.mark.parametrize("text, params, macs, flops", [
    # conv: out*(C/g)*prod(k) + out; MACs out_elements*(C/g)*prod(k); FLOPs 2*MACs + out_elements
    ("3x32x32 | conv 16 k3", 16 * 3 * 9 + 16, 16 * 30 * 30 * 3 * 9, 2 * 16 * 30 * 30 * 27 + 16 * 30 * 30),
    ("3x32x32 | conv 16 k3 bias=false", 16 * 3 * 9, 16 * 30 * 30 * 27, 2 * 16 * 30 * 30 * 27),
    ("8x10x10 | conv 16 k3 groups=4 p1", 16 * (8 // 4) * 9 + 16, 16 * 10 * 10 * 2 * 9, 2 * 16 * 100 * 18 + 1600),
    ("8x10x10 | conv 8 k=1x5 p=0x2 bias=false", 8 * 8 * 5, 8 * 10 * 10 * 8 * 5, 2 * 8 * 100 * 40),
    ("4x6x6x6 | conv 2 k3 bias=false", 2 * 4 * 27, 2 * 4 * 4 * 4 * 4 * 27, 2 * 2 * 64 * 4 * 27),
    # depthwise: groups = C; multiplier m gives C*m outputs with prod(k) weights each
    ("8x10x10 | dwconv 3 p1 bias=false", 8 * 9, 8 * 10 * 10 * 9, 2 * 8 * 100 * 9),
    ("8x10x10 | dwconv 3 multiplier=2 bias=false", 16 * 9, 16 * 8 * 8 * 9, 2 * 16 * 64 * 9),
    ("64x56x56 | pwconv 32 bias=false", 64 * 32, 32 * 56 * 56 * 64, 2 * 32 * 56 * 56 * 64),
    # separable: depthwise (no bias) + pointwise (bias)
    ("8x10x10 | sepconv 16 k3 p1", 8 * 9 + 8 * 16 + 16, 8 * 9 * 100 + 16 * 8 * 100, 2 * (8 * 9 * 100 + 16 * 8 * 100) + 16 * 100),
    # transposed conv: C*(out/g)*prod(k) + out; MACs over *input* positions
    ("8x4x4 | deconv 4 k3 s2 p1 output_padding=1", 8 * 4 * 9 + 4, 8 * 4 * 4 * 4 * 9, 2 * 8 * 16 * 4 * 9 + 4 * 8 * 8),
    ("8x4x4 | deconv 4 k2 s2 groups=2 bias=false", 8 * 2 * 4, 8 * 16 * 2 * 4, 2 * 8 * 16 * 2 * 4),
    # linear: F*out + out; MACs F*out
    ("100 | linear 10", 100 * 10 + 10, 100 * 10, 2 * 1000 + 10),
    ("3x4x4 | flatten | linear 5 bias=false", 48 * 5, 48 * 5, 2 * 48 * 5),
    ("1x20 | embedding 1000 64", 1000 * 64, 0, 0),
])
def test_learned_layers(text, params, macs, flops):
    row = layer(text)
    assert (row.params, row.macs, row.flops) == (params, macs, flops)


def test_fft_convolution_costs():
    # 3x12x12, 8 filters of 3x3, p1: FFT size 14x14 = 196 points, 14 * (14 // 2 + 1) = 112 bins
    import math

    row = layer("3x12x12 | fftconv 8 k3 p1")
    assert row.output == (1, 8, 12, 12)
    assert row.params == 8 * 3 * 9 + 8
    assert row.macs == 4 * 8 * 3 * 112
    transforms = 3 + 8 * 3 + 8  # input FFTs, kernel FFTs, inverse FFTs
    assert row.flops == round(transforms * 2.5 * 196 * math.log2(196)) + 8 * 8 * 3 * 112 + 8 * 144


def test_transposed_conv_is_not_overcounted_4x():
    # The forward-conv formula over output positions would give 8*8 * 4 * 8 * 9 = 4x this.
    row = layer("8x4x4 | deconv 4 k3 s2 p1 output_padding=1 bias=false")
    assert row.macs == (4 * 4) * 8 * 4 * 9
    assert row.macs * 4 == (8 * 8) * 4 * 8 * 9


@pytest.mark.parametrize("text, params, buffers, flops", [
    # bn in eval: 2C params, 2C + 1 buffers (running mean, var, num_batches_tracked), 2 flops/element
    ("16x8x8 | bn", 2 * 16, 2 * 16 + 1, 2 * 16 * 64),
    ("16x8x8 | bn affine=false", 0, 2 * 16 + 1, 2 * 16 * 64),
    ("32 | bn", 2 * 32, 2 * 32 + 1, 2 * 32),
    # ln over channels: 2C params; 7 flops/element + 4 per position (mean, var, eps, rsqrt)
    ("16x8x8 | ln", 2 * 16, 0, 7 * 16 * 64 + 4 * 64),
    ("16x8x8 | ln over=all", 2 * 16 * 64, 0, 7 * 16 * 64 + 4 * 1),
    ("16x8x8 | ln affine=false", 0, 0, 5 * 16 * 64 + 4 * 64),
    # instance norm: no affine, no running stats by default; statistics per channel
    ("16x8x8 | in", 0, 0, 5 * 16 * 64 + 4 * 16),
    ("16x8x8 | in affine=true track_running_stats=true", 2 * 16, 2 * 16 + 1, 2 * 16 * 64 + 2 * 16 * 64),
    ("16x8x8 | gn 4", 2 * 16, 0, 7 * 16 * 64 + 4 * 4),
    ("16x8x8 | layer_scale", 16, 0, 16 * 64),
])
def test_norms(text, params, buffers, flops):
    row = layer(text)
    assert (row.params, row.buffers, row.flops) == (params, buffers, flops)
    assert row.macs == 0


N = 16 * 8 * 8


@pytest.mark.parametrize("kind, per_element", [
    ("relu", 1), ("relu6", 2), ("leakyrelu", 2), ("elu", 4), ("gelu", 5), ("gelu approximate=tanh", 9),
    ("silu", 5), ("sigmoid", 4), ("tanh", 1), ("hardswish", 5), ("hardsigmoid", 4), ("mish", 5),
    ("softmax", 5), ("prelu", 2),
])
def test_activations(kind, per_element):
    row = layer(f"16x8x8 | {kind}")
    assert row.flops == per_element * N
    assert row.output == (1, 16, 8, 8)


def test_prelu_params():
    assert layer("16x8x8 | prelu").params == 1
    assert layer("16x8x8 | prelu per_channel=true").params == 16


@pytest.mark.parametrize("text, flops", [
    ("4x8x8 | maxpool 2", 4 * 4 * 4 * (2 * 2 - 1)),  # per output: prod(k) - 1 compares
    ("4x8x8 | avgpool 2", 4 * 4 * 4 * (2 * 2)),  # per output: prod(k) - 1 adds + 1 divide
    ("4x9x9 | lppool 2 3", 4 * 81 + 4 * 9 * (9 - 1) + 4 * 9),  # x^p per input, window sums, roots
    ("4x8x8 | gap", 4 * 64),  # per channel: 63 adds + 1 divide
    ("4x7x7 | adaptive_avgpool 3", 4 * (7 + 3 - 1) * (7 + 3 - 1)),  # window sizes 9 per axis
    ("4x7x7 | adaptive_maxpool 3", 4 * (9 * 9) - 4 * 9),
    ("4x8x8 | maxout 2", 2 * 8 * 8 * (2 - 1)),
    ("4x5x5 | upsample 2", 0),  # nearest: a copy
    ("4x5x5 | upsample 2 mode=bilinear", 4 * 10 * 10 * 3 * (2**2 - 1)),  # 3 lerps of 3 flops
    ("4x5 | upsample 2 mode=bilinear", 4 * 10 * 3 * (2**1 - 1)),
    ("4x4x4 | maxunpool 2", 0),
    ("4x8x8 | dropout", 0), ("4x8x8 | identity", 0), ("4x8x8 | flatten", 0),
    ("8x8x8 | channel_shuffle 2", 0), ("8x8x8 | shift", 0), ("8x8x8 | split 2", 0),
])
def test_free_and_elementwise(text, flops):
    row = layer(text)
    assert row.flops == flops
    assert (row.params, row.macs) == (0, 0)


def test_merges():
    add = run("4x8x8 | relu name=a | relu name=b | relu name=c | add from=a,b,c").layers[-1]
    assert add.flops == (3 - 1) * 4 * 64
    mul = run("4x8x8 | relu name=a | gap name=g | mul from=a,g").layers[-1]
    assert mul.output == (1, 4, 8, 8)
    assert mul.flops == 4 * 64
    cat = run("4x8x8 | relu name=a | conv 6 k1 name=b | concat from=a,b").layers[-1]
    assert (cat.output, cat.flops) == ((1, 10, 8, 8), 0)


def test_batch_scales_macs_flops_and_bytes_not_params():
    one, eight = layer("3x32x32 | conv 16 k3"), layer("3x32x32 | conv 16 k3", batch=8)
    assert eight.params == one.params
    assert (eight.macs, eight.flops, eight.output_bytes) == (8 * one.macs, 8 * one.flops, 8 * one.output_bytes)


@pytest.mark.parametrize("dtype, size", [("float32", 4), ("float16", 2), ("bfloat16", 2), ("int8", 1)])
def test_bytes_follow_dtype(dtype, size):
    report = run(f"3x32x32 dtype={dtype} | conv 16 k3")
    assert report.layers[0].output_bytes == 16 * 30 * 30 * size
    assert report.total.weight_bytes == (16 * 27 + 16) * size


def test_weight_bytes_count_bn_counter_as_int64():
    report = run("16x8x8 | bn")
    assert report.total.weight_bytes == (2 * 16 + 2 * 16) * 4 + 8


def test_totals_are_sums_of_rows():
    report = run("3x32x32 | conv 16 k3 | bn | relu | maxpool 2 | flatten | linear 10")
    for key in ("params", "buffers", "macs", "flops"):
        assert getattr(report.total, key) == sum(getattr(row, key) for row in report.layers)
