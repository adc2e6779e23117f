"""Deformable convolution (`deform_conv`): its costs as arithmetic, its errors, and its PyTorch
builder against a loop-by-loop reference of torchvision's deform_conv2d (bilinear sampling at
the offset positions, 0 outside the input), and against conv2d at zero offsets."""

from __future__ import annotations

import math

import pytest

import convcalc
from convcalc.errors import ConvcalcError

from .conftest import run

# text, (C, H, W), out, k, groups, offset groups, bias, output (Ho, Wo)
GEOMETRIES = [
    ("8x16x16 | deform_conv 8 k3 p1", 8, 16, 16, 8, (3, 3), 1, 1, True, (16, 16)),
    ("4x9x9 | deform_conv 6 k3 s2 p1", 4, 9, 9, 6, (3, 3), 1, 1, True, (5, 5)),
    ("4x9x10 | deform_conv 4 k3 d2 p2 g2 offset_groups=2 bias=false", 4, 9, 10, 4, (3, 3), 2, 2, False, (9, 10)),
    ("6x7x8 | deform_conv 4 k=2x3 p=same offset_groups=3", 6, 7, 8, 4, (2, 3), 1, 3, True, (7, 8)),
]


@pytest.mark.parametrize("text, c, h, w, out, k, g, og, bias, size", GEOMETRIES, ids=[t[0] for t in GEOMETRIES])
def test_costs_are_the_two_convolutions_plus_the_sampling(text, c, h, w, out, k, g, og, bias, size):
    layer = run(text).layers[0]
    taps, positions = k[0] * k[1], size[0] * size[1]
    offsets = 2 * og * taps  # channels of the offset conv
    assert layer.output == (1, out, *size)
    assert layer.params == out * (c // g) * taps + out * bias + offsets * c * taps + offsets
    main, offset = positions * out * (c // g) * taps, positions * offsets * c * taps
    assert layer.macs == main + offset
    # 2 per MAC, both biases, 10 per sampling point (og * taps * positions), 7 per sampled value
    assert layer.flops == (2 * (main + offset) + out * positions * bias + offsets * positions
                           + 10 * og * taps * positions + 7 * c * taps * positions)


def test_published_example_counts():
    # 8 -> 8 channels, 3x3, 16x16: main 256 * 8 * 8 * 9, offsets 256 * 18 * 8 * 9
    layer = run("8x16x16 | deform_conv 8 k3 p1").layers[0]
    assert (layer.params, layer.macs) == (8 * 8 * 9 + 8 + 18 * 8 * 9 + 18, 147_456 + 331_776)
    assert layer.flops == 2 * 479_232 + 2_048 + 4_608 + 23_040 + 129_024
    assert layer.receptive_field == ((3, 1, -1),) * 2  # the nominal field, at zero offsets


@pytest.mark.parametrize("text, message", [
    ("8x16 | deform_conv 8 k3", "deform_conv is 2-D only, as torchvision's DeformConv2d: it needs an input "
                                r"\[C, H, W\], not a 1-D one"),
    ("8x4x16x16 | deform_conv 8 k3", "not a 3-D one"),
    ("6x8x8 | deform_conv 8 k3 offset_groups=4", "input channels 6 are not divisible by offset_groups 4"),
    ("6x8x8 | deform_conv 8 k3 g4", "input channels 6 are not divisible by groups 4"),
    ("6x8x8 | deform_conv 8 k3 offset_groups=0", "offset_groups must be at least 1, got 0"),
])
def test_bad_arguments(text, message):
    with pytest.raises(ConvcalcError, match=message):
        run(text)


def test_one_line_form_takes_out_positionally():
    spec = convcalc.from_text("8x16x16 | deform_conv 12 k3 s2 d2 p=same g4 offset_groups=2 bias=false")
    a = spec.nodes[0].args
    assert (a["out"], a["k"], a["s"], a["d"], a["groups"], a["offset_groups"], a["bias"]) == (
        12, (3, 3), (2, 2), (2, 2), 4, 2, False)


def reference(x, offset, weight, bias, s, pads, d, groups, offset_groups):
    """torchvision's deform_conv2d one output value at a time, in plain Python floats."""
    n, c, h, w = x.shape
    cout, cg, kh, kw = weight.shape
    ho, wo = offset.shape[2:]
    xs, offs, ws = x.tolist(), offset.tolist(), weight.tolist()
    bs = bias.tolist() if bias is not None else [0.0] * cout

    def pixel(b, ch, yy, xx):
        return xs[b][ch][yy][xx] if 0 <= yy < h and 0 <= xx < w else 0.0

    def sample(b, ch, py, px):
        y0, x0 = math.floor(py), math.floor(px)
        ly, lx = py - y0, px - x0
        return ((1 - ly) * (1 - lx) * pixel(b, ch, y0, x0) + (1 - ly) * lx * pixel(b, ch, y0, x0 + 1)
                + ly * (1 - lx) * pixel(b, ch, y0 + 1, x0) + ly * lx * pixel(b, ch, y0 + 1, x0 + 1))

    out = [[[[0.0] * wo for _ in range(ho)] for _ in range(cout)] for _ in range(n)]
    for b in range(n):
        for o in range(cout):
            group = o // (cout // groups)
            for oy in range(ho):
                for ox in range(wo):
                    acc = bs[o]
                    for cc in range(cg):
                        ch = group * cg + cc
                        og = ch // (c // offset_groups)
                        for i in range(kh):
                            for j in range(kw):
                                tap = 2 * (og * kh * kw + i * kw + j)
                                py = oy * s[0] - pads[0][0] + i * d[0] + offs[b][tap][oy][ox]
                                px = ox * s[1] - pads[1][0] + j * d[1] + offs[b][tap + 1][oy][ox]
                                acc += ws[o][cc][i][j] * sample(b, ch, py, px)
                    out[b][o][oy][ox] = acc
    return out


CASES = [  # text; offsets of a few pixels reach past every border
    "4x6x7 | deform_conv 4 k3 p1",
    "4x9x9 | deform_conv 4 k3 s2 p1",
    "4x7x7 | deform_conv 2 k3 d2 p2",
    "4x6x6 | deform_conv 6 k3 p1 g2",
    "4x6x6 | deform_conv 4 k3 p1 offset_groups=2",
    "6x7x6 | deform_conv 4 k=2x3 s=2x1 p=same g2 offset_groups=3 bias=false",
]


def built(text, torch):
    from convcalc.torch_bridge import build

    spec = convcalc.from_text(text)
    model = build(spec).double()
    return spec, model, model.get_submodule(spec.nodes[0].name)


@pytest.mark.parametrize("text", CASES)
def test_sampling_matches_the_reference_at_random_offsets(text, torch):
    from convcalc.torch_ops import deform_conv2d

    torch.manual_seed(0)
    spec, model, layer = built(text, torch)
    x = torch.randn(2, *spec.input, dtype=torch.float64)
    offset_shape = (2, 2 * layer.offset_groups * layer.weight[0, 0].numel(), *model(x).shape[2:])
    offset = torch.randn(offset_shape, dtype=torch.float64) * 2.5
    offset[0, 0, 0, 0] = -1.0  # exactly on the border of the zero padding
    ours = deform_conv2d(x, offset, layer.weight, layer.bias, layer.s, layer.pads, layer.d, layer.groups,
                         layer.offset_groups)
    expected = reference(x, offset, layer.weight, layer.bias, layer.s, layer.pads, layer.d, layer.groups,
                         layer.offset_groups)
    assert torch.allclose(ours, torch.tensor(expected, dtype=torch.float64), atol=1e-12)


@pytest.mark.parametrize("text", CASES)
def test_the_block_predicts_its_offsets_with_its_offset_conv(text, torch):
    torch.manual_seed(1)
    spec, model, layer = built(text, torch)
    for p in layer.offset.parameters():
        torch.nn.init.normal_(p, std=0.5)
    x = torch.randn(1, *spec.input, dtype=torch.float64)
    offset = layer.offset(x)
    assert offset.abs().max() > 1  # the samples really move
    expected = reference(x, offset, layer.weight, layer.bias, layer.s, layer.pads, layer.d, layer.groups,
                         layer.offset_groups)
    assert torch.allclose(model(x), torch.tensor(expected, dtype=torch.float64), atol=1e-12)


@pytest.mark.parametrize("text", CASES)
def test_at_zero_offsets_it_is_the_plain_convolution(text, torch):
    """A fresh block's offset conv is zero (as in Dai et al.), so it computes conv2d exactly."""
    import torch.nn.functional as F

    torch.manual_seed(2)
    spec, model, layer = built(text, torch)
    assert all((p == 0).all() for p in layer.offset.parameters())
    x = torch.randn(2, *spec.input, dtype=torch.float64)
    (top, bottom), (left, right) = layer.pads
    direct = F.conv2d(F.pad(x, (left, right, top, bottom)), layer.weight, layer.bias, layer.s, 0, layer.d,
                      layer.groups)
    assert model(x).shape == direct.shape
    assert torch.allclose(model(x), direct, atol=1e-12)


@pytest.mark.parametrize("dy, dx, rows", [
    (-6.0, -6.0, slice(None)),  # every tap lands above and left of the input (row 4, tap 2: exactly -1)
    (6.0, 6.0, slice(None)),  # every tap lands below and right of it (at 5 or beyond)
    (-2.0, 0.0, slice(0, 1)),  # output row 0 reads rows -3, -2 and exactly -1: all padding
])
def test_samples_outside_the_input_read_zero(dy, dx, rows, torch):
    from convcalc.torch_ops import deform_conv2d

    _, _, layer = built("3x5x5 | deform_conv 2 k3 p1", torch)
    x = torch.rand(1, 3, 5, 5, dtype=torch.float64) + 1  # positive: nothing cancels
    offset = torch.tensor([dy, dx], dtype=torch.float64).repeat(9).view(1, 18, 1, 1).expand(1, 18, 5, 5)
    y = deform_conv2d(x, offset, layer.weight, layer.bias, (1, 1), ((1, 1), (1, 1)), (1, 1), 1, 1)
    bias_only = layer.bias.view(1, 2, 1, 1).expand_as(y)
    assert torch.equal(y[:, :, rows], bias_only[:, :, rows])
    if rows != slice(None):
        assert not torch.allclose(y[:, :, 1:], bias_only[:, :, 1:])  # row 1 reads input row 0
