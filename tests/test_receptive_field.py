"""Receptive fields: (size, jump, start) per spatial axis, from the notes and against autograd.

size: input positions one output unit sees; jump: input distance between neighbouring output
units; start: input position where the first output unit's field begins (negative in padding).
"""

from __future__ import annotations

from fractions import Fraction

import pytest

from .conftest import run


def rf(text: str):
    return run(text).receptive_field


def test_notes_dilated_3x3_covers_5x5():
    assert rf("1x16x16 | conv 1 k3 d2") == ((1 + 2 * (3 - 1), 1, 0),) * 2


def test_notes_three_stacked_3x3_see_7x7_with_27_not_49_weights():
    stacked = run("1x16x16 | conv 1 k3 bias=false | conv 1 k3 bias=false | conv 1 k3 bias=false")
    single = run("1x16x16 | conv 1 k7 bias=false")
    assert stacked.receptive_field == single.receptive_field == ((1 + 3 * (3 - 1), 1, 0),) * 2
    assert (stacked.total.params, single.total.params) == (3 * 3 * 3, 7 * 7)  # 27 vs 49


def test_resnet_stem():
    # conv 7x7 s2 p3: size 7, jump 2, start -3; maxpool 3x3 s2 p1: size 7 + (3-1)*2 = 11,
    # jump 2*2 = 4, start -3 - 1*2 = -5
    report = run("3x224x224 | conv 64 k7 s2 p3 | bn | relu | maxpool k3 s2 p1")
    assert report.layers[0].receptive_field == ((7, 2, -3),) * 2
    assert report.receptive_field == ((11, 4, -5),) * 2


def test_per_axis_kernels_are_per_axis():
    assert rf("1x16x16 | conv 1 k=1x5 | conv 1 k=5x1") == ((5, 1, 0), (5, 1, 0))
    assert rf("1x16x16 | conv 1 k=3x1 s=2x1") == ((3, 2, 0), (1, 1, 0))


def test_global_pool_and_flatten_see_everything():
    # 8 positions at jump 1: size 1 + (8-1)*1 = 8
    assert rf("1x8x8 | gap") == ((8, 8, 0),) * 2
    assert rf("1x8x8 | conv 1 k3 | flatten") == ((3 + (6 - 1) * 1, 6, 0),) * 2


def test_merge_of_flat_inputs_keeps_the_global_field():
    # Found by fuzzing: flat tensors keep their field over the input's axes but have no axes of
    # their own. Each flatten sees 4 positions at jump 1: 1 + (4-1)*1 = 4, jump 4*1; the add too.
    report = run("2x4x4 | flatten name=a | flatten from=input name=b | add from=a,b")
    assert report.receptive_field == ((1 + (4 - 1) * 1, 4 * 1, 0),) * 2
    assert report.output == (1, 2 * 4 * 4)


def test_se_product_sees_everything_and_stops_moving():
    # The gate [8,1,1] pools a's fields at all 32 positions: 3 + (32-1)*1 = 34 wide from -1.
    # Every position of the product sees that whole span (a's own 3 fit inside it), so the field
    # no longer moves (jump 0) and the next 3x3 conv adds nothing: 34, not 34 + 2.
    report = run("1x32x32 | conv 8 k3 p1 name=a | gap | mul from=a,gap1 | conv 8 k3 p1")
    assert report.layer("gap1").receptive_field == ((3 + 31 * 1, 32, -1),) * 2
    assert report.layer("mul1").receptive_field == ((34, 0, -1),) * 2
    assert report.receptive_field == ((34, 0, -1),) * 2


def test_merge_of_offset_fields_is_their_union():
    # a: k3 p1 -> (3, 1, -1); b: k3 p0 from input -> (3, 1, 0) on a 16-wide map cropped...; use
    # equal sizes: b = k3 p=0:2 (pads 2 on the right) -> 16 outputs, field (3, 1, 0). Union at
    # position i: [-1 + i, 2 + i]: size 2 - (-1) + 1 = 4, jump 1, start -1.
    report = run("1x16 | conv 1 k3 p1 name=a | conv 1 k3 p=0:2 from=input name=b | add from=a,b")
    assert report.receptive_field == ((4, 1, -1),)


def test_merge_takes_the_widest_input():
    report = run("1x16x16 | conv 1 k3 p1 name=a | conv 1 k5 p2 from=input name=b | add from=a,b")
    assert report.receptive_field == ((5, 1, -2),) * 2  # b's field: 5 wide, 2 into the padding


def test_crop_concat_shifts_the_start():
    # a: 16 -> 14 (start 0); b: 14 -> 10; crop a to 10 from offset (14-10)//2 = 2
    report = run("1x16x16 | conv 1 k3 name=a | conv 1 k5 name=b | concat from=a,b crop=true")
    assert report.output == (1, 2, 10, 10)
    assert report.receptive_field == ((3 + 4, 1, 0),) * 2
    c = run("1x16x16 | conv 1 k3 name=a | conv 1 k5 name=b | conv 1 k5 name=c | concat from=a,c crop=true")
    # c: size 3+4+4 = 11 at start 0 wins over a's 3 (shifted by (14-6)//2 = 4)
    assert c.receptive_field == ((11, 1, 0),) * 2


def test_transposed_conv_has_fractional_jump():
    # k3 s2 p1: at most ceil(3/2) = 2 inputs reach one output, 1 apart: size 1 + (2-1) = 2;
    # outputs are 1/2 input apart; output 0 takes input i = (1 - 1*1)/2 = 0 through tap 1
    assert rf("1x4x4 | deconv 1 k3 s2 p1") == ((2, Fraction(1, 2), 0),) * 2
    # k2 s2 after a 2x2 pool: each output takes exactly one pooled value, i.e. 2 inputs
    assert rf("1x16 | maxpool 2 | deconv 1 k2 s2") == ((2, 1, 0),)
    # conv then its transpose: jumps multiply back to 1
    report = run("1x16x16 | conv 1 k3 s2 p1 | deconv 1 k3 s2 p1 output_padding=1")
    assert report.output == (1, 1, 16, 16)
    assert report.receptive_field[0][1] == 1


# -- against autograd ------------------------------------------------------------------------

CHAINS = [
    "1x40x40 | conv 1 k3",
    "1x40x40 | conv 1 k3 s2 p1 | conv 1 k3 d2",
    "1x48x48 | conv 1 k5 s2 | avgpool 2 | conv 1 k3 p1",
    "1x40x44 | conv 1 k=3x5 s=1x2 | conv 1 k=1x3 d=1x3",
    "1x30 | conv 1 k7 s3 p3 | conv 1 k3 d2",
    "1x14x14x14 | conv 1 k3 s2 | conv 1 k3",
    "1x40x40 | dwconv 3 s2 | pwconv 1 | avgpool k3 s2 p1",
    "1x40x40 | conv 1 k3 p1 name=a | conv 1 k5 p2 name=b | add from=a,b",
    "1x24x24 | conv 1 k3 p1 name=a | gap | conv 1 k1 | sigmoid | mul from=a,sigmoid1 | conv 1 k3 p1",
    "1x32 | conv 1 k3 p1 name=a | conv 1 k3 p=0:2 from=input name=b | add from=a,b | conv 1 k3 s2",
    "1x30x30 | conv 1 k3 name=a | conv 1 k5 | conv 1 k3 name=c | concat from=a,c crop=true | conv 1 k3",
    "1x20x20 | pad 2 | conv 1 k3 | crop 6 | conv 1 k3 s2",
    "1x30 | conv 1 k3 s2 | pad 3:1 | conv 1 k3 d2 | crop 5 offset=2",
    "1x12x13 | pad 1:2x3:0 | conv 1 k3 s2",
]


@pytest.mark.parametrize("text", CHAINS)
def test_field_matches_autograd(text, torch):
    """With all-positive weights and inputs nothing cancels, so the input positions with a
    nonzero gradient for one output unit are exactly its receptive field."""
    import convcalc
    from convcalc.torch_bridge import build

    spec = convcalc.from_text(text)
    report = convcalc.analyze(spec)
    model = build(spec).double()
    for p in model.parameters():
        torch.nn.init.constant_(p, 0.5)
    x = torch.ones((1, *spec.input), dtype=torch.float64, requires_grad=True)
    y = model(x)
    centre = tuple(n // 2 for n in y.shape[2:])
    y[(0, 0, *centre)].backward()
    hit = x.grad[0, 0].nonzero()
    for axis, (size, jump, start) in enumerate(report.receptive_field):
        lo, hi = hit[:, axis].min().item(), hit[:, axis].max().item()
        first = start + centre[axis] * jump
        # clipped by the input's borders only where the field reaches outside it
        assert lo == max(first, 0), (axis, lo, first)
        assert hi == min(first + size - 1, spec.input[axis + 1] - 1), (axis, hi, first + size - 1)


@pytest.mark.parametrize("k, s, p, d", [(2, 2, 0, 1), (3, 2, 1, 1), (4, 2, 1, 1), (5, 2, 2, 1), (3, 1, 0, 2),
                                        (3, 2, 0, 2), (5, 3, 1, 2), (4, 3, 0, 3)])
def test_transposed_field_is_exact_for_one_layer(k, s, p, d, torch):
    """The largest field over output positions, and output 0's first input, against autograd."""
    import convcalc
    from convcalc.torch_bridge import build

    spec = convcalc.from_text(f"1x20 | deconv 1 k{k} s{s} p{p} d{d}")
    (size, jump, start), = convcalc.analyze(spec).receptive_field
    model = build(spec).double()
    for param in model.parameters():
        torch.nn.init.constant_(param, 0.5)
    extents, first_of_output_0 = [], None
    for o in range(model(torch.ones(1, 1, 20, dtype=torch.float64)).shape[-1]):
        x = torch.ones(1, 1, 20, dtype=torch.float64, requires_grad=True)
        model(x)[0, 0, o].backward()
        hit = x.grad[0, 0].nonzero()[:, 0]
        if len(hit):
            extents.append(hit.max().item() - hit.min().item() + 1)
            if o == 0:
                first_of_output_0 = hit.min().item()
    assert max(extents) == size
    assert jump == Fraction(1, s)
    if first_of_output_0 is not None and start >= 0:
        assert first_of_output_0 == start


def test_transposed_field_bounds_autograd(torch):
    """A transposed conv's field is position dependent; the analytic size bounds every unit
    and is reached (rounded up) by some unit."""
    import math

    import convcalc
    from convcalc.torch_bridge import build

    spec = convcalc.from_text("1x12x12 | deconv 1 k5 s2 p2 | conv 1 k3")
    (size, _, _), _ = convcalc.analyze(spec).receptive_field
    model = build(spec).double()
    for p in model.parameters():
        torch.nn.init.constant_(p, 0.5)
    extents = []
    for o in range(6, 14):
        x = torch.ones((1, 1, 12, 12), dtype=torch.float64, requires_grad=True)
        model(x)[0, 0, o, 10].backward()
        rows = x.grad[0, 0].nonzero()[:, 0]
        extents.append(rows.max().item() - rows.min().item() + 1)
    assert max(extents) <= math.ceil(size)
    assert max(extents) == math.ceil(size)


@pytest.mark.parametrize("text, reached", [
    ("1x8 | upsample 2 | upsample 2 mode=bilinear", True),  # 1 + 0.5 -> 2: at most 2 inputs
    ("1x8 | upsample 2 | conv 1 k3", True),  # 1 + 2*0.5 = 2
    # position-dependent fields, where the rule is a bound: adaptive windows at an average jump
    # of 10/3, and chained transposed convs
    ("1x10 | adaptive_avgpool 3 | adaptive_avgpool 2", False),
    ("1x9 | deconv 1 k3 s2 | deconv 1 k3 s2 | conv 1 k3", False),
])
def test_sizes_are_whole_and_bound_every_unit(text, reached, torch):
    """After fractional jumps the size is rounded up: a whole count of input positions that no
    output unit exceeds (autograd with positive weights: nonzero gradients are the field)."""
    import convcalc
    from convcalc.torch_bridge import build

    spec = convcalc.from_text(text)
    (size, _, _), = convcalc.analyze(spec).receptive_field
    assert type(size) is int
    model = build(spec).double()
    for p in model.parameters():
        torch.nn.init.constant_(p, 0.5)
    extents = []
    for o in range(model(torch.ones((1, *spec.input), dtype=torch.float64)).shape[-1]):
        x = torch.ones((1, *spec.input), dtype=torch.float64, requires_grad=True)
        model(x)[0, 0, o].backward()
        hit = x.grad[0, 0].nonzero()[:, 0]
        extents.append(hit.max().item() - hit.min().item() + 1)
    assert max(extents) <= size
    assert (max(extents) == size) is reached


def test_transposed_field_of_a_huge_kernel_is_solved_not_searched():
    # k = 2^40 taps, s 3, d 2, p 5: the taps j with 2j = 5 (mod 3) are j = 1 (mod 3); the largest
    # below 2^40 is 2^40 - 3, so the first output's first input is (5 - 2*(2^40 - 3)) / 3.
    k = 2**40
    report = run(f"1x3 | deconv 1 k{k} s3 p5 d2")
    assert report.output == (1, 1, (3 - 1) * 3 - 2 * 5 + 2 * (k - 1) + 1)
    (_, jump, start), = report.receptive_field
    assert (jump, start) == (Fraction(1, 3), (5 - 2 * (k - 3)) // 3)
