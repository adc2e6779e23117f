"""`pad` and `crop`: explicit padding (F.pad's four modes) and cropping of the spatial axes.

Shapes and receptive fields as arithmetic; refusals against what PyTorch refuses (its padding
modules, and `narrow` for a fixed-position crop); `pad` then `conv` is `conv` with that padding;
`crop` cuts where `concat crop: true` cuts; `pad` allocates and `crop` is a view.
"""

from __future__ import annotations

import pytest

import convcalc
from convcalc.errors import ConvcalcError
from convcalc.layers import REGISTRY

from .conftest import run, yaml_report

F32 = 4


# -- shapes: n + left + right per axis; crop: size ---------------------------------------------

SHAPES = [
    ("3x8x8 | pad 1", (3, 1 + 8 + 1, 1 + 8 + 1)),
    ("3x8x8 | pad 1x2", (3, 1 + 8 + 1, 2 + 8 + 2)),
    ("3x8x9 | pad 1:2x0:3 reflect", (3, 1 + 8 + 2, 0 + 9 + 3)),
    ("2x5 | pad 4 replicate", (2, 4 + 5 + 4)),
    ("2x4x5x6 | pad 4:0x0:5x6:6 circular", (2, 4 + 4 + 0, 0 + 5 + 5, 6 + 6 + 6)),
    ("3x8x8 | pad 0", (3, 8, 8)),
    ("3x24x24 | crop 20", (3, 20, 20)),
    ("3x24x24 | crop 20x7", (3, 20, 7)),
    ("3x24x24 | crop 20x7 offset=4x17", (3, 20, 7)),
    ("2x9 | crop 9", (2, 9)),
    ("2x5x6x7 | crop 1x2x3 0", (2, 1, 2, 3)),
]


@pytest.mark.parametrize("text, shape", SHAPES)
def test_shapes(text, shape):
    assert run(text).output == (1, *shape)


def test_costs_are_zero():
    for text in ("3x8x8 | pad 2 reflect", "3x8x8 | pad 2 value=1.5", "3x24x24 | crop 20"):
        layer = run(text).layers[0]
        assert (layer.params, layer.buffers, layer.macs, layer.flops) == (0, 0, 0, 0)


# -- receptive fields: size and jump pass through; start moves by the shift times the jump -----

FIELDS = [
    # pad 2: output 0 is input -2
    ("1x16 | pad 2", ((1, 1, 0 - 2 * 1),)),
    # conv k3 s2 -> (3, 2, 0); pad 1:0 -> start 0 - 1*2
    ("1x16 | conv 1 k3 s2 | pad 1:0", ((3, 2, 0 - 1 * 2),)),
    # per axis: H pads 3 at jump 1, W pads 0
    ("1x10x10 | pad 3:1x0:2", ((1, 1, -3), (1, 1, 0))),
    # crop 4 of 16: offset (16 - 4) // 2 = 6
    ("1x16 | crop 4", ((1, 1, 6),)),
    # conv k3 s2 on 16 -> 7 outputs, field (3, 2, 0); crop 4: offset (7 - 4) // 2 = 1 -> start 0 + 1*2
    ("1x16 | conv 1 k3 s2 | crop 4", ((3, 2, 0 + 1 * 2),)),
    # fixed offsets: H from 5, W from 0
    ("1x12x12 | crop 4 offset=5x0", ((1, 1, 5), (1, 1, 0))),
    # pad then crop back: start -2 + 2 = 0
    ("1x16 | pad 2 | crop 16", ((1, 1, -2 + (20 - 16) // 2),)),
]


@pytest.mark.parametrize("text, field", FIELDS)
def test_receptive_fields(text, field):
    assert run(text).receptive_field == field


# Chains through pad and crop are checked against autograd with the others, in
# tests/test_receptive_field.py's CHAINS.


# -- refusals: exactly where PyTorch refuses ---------------------------------------------------

# (spatial size, (left, right) per axis, mode): reflect needs each pad < n, circular each pad <= n,
# constant and replicate take any pad
PADS = [
    ((3,), ((2, 2),), "reflect"),
    ((3,), ((3, 0),), "reflect"),
    ((3,), ((0, 3),), "reflect"),
    ((1,), ((0, 0),), "reflect"),
    ((1,), ((1, 0),), "reflect"),
    ((3, 4), ((2, 2), (3, 3)), "reflect"),
    ((3, 4), ((3, 0), (0, 0)), "reflect"),
    ((2, 2, 2), ((1, 1),) * 3, "reflect"),
    ((2, 2, 2), ((0, 0), (0, 0), (2, 0)), "reflect"),
    ((3,), ((3, 3),), "circular"),
    ((3,), ((4, 0),), "circular"),
    ((1,), ((1, 1),), "circular"),
    ((2, 5), ((2, 5), (0, 0)), "circular"),
    ((2, 5), ((0, 0), (5, 5)), "circular"),
    ((2, 2, 2), ((2, 2),) * 3, "circular"),
    ((2, 2, 2), ((0, 0), (3, 0), (0, 0)), "circular"),
    ((1,), ((5, 5),), "replicate"),
    ((1, 1, 1), ((4, 0), (0, 4), (2, 2)), "replicate"),
    ((1,), ((7, 3),), "constant"),
    ((2, 3), ((0, 9), (9, 0)), "constant"),
]
PYTORCH_PAD = {"constant": "ConstantPad", "reflect": "ReflectionPad", "replicate": "ReplicationPad",
               "circular": "CircularPad"}


def pad_text(n, pads, mode) -> str:
    return f"2x{'x'.join(map(str, n))} | pad {'x'.join(f'{l}:{r}' for l, r in pads)} {mode}"


@pytest.mark.parametrize("n, pads, mode", PADS, ids=[pad_text(*case) for case in PADS])
def test_pad_refuses_what_pytorch_refuses(n, pads, mode, torch):
    cls = getattr(torch.nn, f"{PYTORCH_PAD[mode]}{len(n)}d")
    padding = tuple(v for pair in reversed(pads) for v in pair)  # PyTorch: last axis first
    module = cls(padding, 0.0) if mode == "constant" else cls(padding)
    try:
        theirs = tuple(module(torch.zeros(1, 2, *n)).shape[1:])
    except RuntimeError:
        theirs = None
    try:
        ours = run(pad_text(n, pads, mode)).output[1:]
    except ConvcalcError as exc:
        assert mode in str(exc)
        ours = None
    assert ours == theirs


def test_fill_value_is_constant_only_as_in_pytorch(torch):
    with pytest.raises(RuntimeError, match="doesn't take in value"):
        torch.nn.functional.pad(torch.zeros(1, 1, 3), (1, 1), mode="reflect", value=1.0)
    with pytest.raises(ConvcalcError, match="value 1.0 only applies to constant padding, not reflect"):
        run("1x3 | pad 1 reflect value=1.0")
    assert run("1x3 | pad 1 value=1.0").output == (1, 1, 1 + 3 + 1)


def test_a_negative_pad_is_a_crop(torch):
    """F.pad crops with a negative pad; convcalc asks for `crop`, which cuts the same."""
    from convcalc.torch_bridge import build

    message = "p must not be negative, got {}: F.pad crops with a negative pad, convcalc writes that as `crop`"
    with pytest.raises(ConvcalcError) as caught:
        run("1x5 | pad -1")
    assert str(caught.value).endswith(message.format(-1))
    with pytest.raises(ConvcalcError) as caught:
        yaml_report("input: [1, 5]\nlayers: [{pad: {p: [[-1, 0]]}}]\n")
    assert str(caught.value).endswith(message.format([[-1, 0]]))
    x = torch.arange(5.0).view(1, 1, 5)
    crop = build(convcalc.from_text("1x5 | crop 4 offset=1"))
    assert torch.equal(torch.nn.functional.pad(x, (-1, 0)), crop(x))


@pytest.mark.parametrize("text, message", [
    ("1x5x5 | pad same", "p must be an integer or a list of 2 (an integer or a [left, right] pair per spatial "
                         "axis), got 'same': a pad has no kernel for same, valid or full to refer to"),
    ("1x5x5 | pad 1x2x3", "got [1, 2, 3]"),
    ("1x5x5 | pad 1 mode=zeros", "mode must be one of constant, reflect, replicate, circular, got 'zeros'"),
    ("12 | pad 1", "pad needs a feature map [C, ...], got the flat [12]"),
    ("1x5x5 | crop 3x3x3", "size must be an integer or a list of 2 integers"),
    ("1x5x5 | crop 2 offset=-1", "offset must be at least 0, got -1"),
])
def test_argument_errors(text, message):
    with pytest.raises(ConvcalcError) as caught:
        run(text)
    assert message in str(caught.value)


# (size n, crop size, offset or None for centred): PyTorch's `narrow` refuses the same crops
CROPS = [(5, 5, None), (5, 3, None), (5, 6, None), (6, 3, 3), (6, 3, 4), (6, 1, 5), (6, 1, 6), (1, 1, 0), (4, 9, 0)]


@pytest.mark.parametrize("n, size, offset", CROPS)
def test_crop_refuses_what_narrow_refuses(n, size, offset, torch):
    start = (n - size) // 2 if offset is None else offset
    try:
        theirs = tuple(torch.zeros(1, 1, n).narrow(2, start, size).shape[1:])
    except RuntimeError:
        theirs = None
    text = f"1x{n} | crop {size}" + ("" if offset is None else f" offset={offset}")
    try:
        ours = run(text).output[1:]
    except ConvcalcError:
        ours = None
    assert ours == theirs


# -- pad then conv is conv with that padding ---------------------------------------------------

PAD_THEN_CONV = [
    ("3x9x9", "1", "conv 4 k3"),
    ("3x9x10", "1:2x0:1", "conv 4 k4 s2"),
    ("2x17", "3", "conv 2 k5 s3 d2"),
    ("2x6x7x8", "2x0x1", "conv 2 k3 s2"),
]


@pytest.mark.parametrize("shape, p, conv", PAD_THEN_CONV)
def test_pad_then_conv_is_conv_with_padding(shape, p, conv, torch):
    from convcalc.torch_bridge import build

    padded = convcalc.from_text(f"{shape} | pad {p} | {conv}")
    direct = convcalc.from_text(f"{shape} | {conv} p={p}")
    a, b = convcalc.analyze(padded), convcalc.analyze(direct)
    assert a.output == b.output
    assert a.receptive_field == b.receptive_field
    assert (a.total.params, a.total.macs, a.total.flops) == (b.total.params, b.total.macs, b.total.flops)
    torch.manual_seed(0)
    first, second = build(padded).double(), build(direct).double()
    for p1, p2 in zip(first.parameters(), second.parameters(), strict=True):
        p2.data.copy_(p1.data)
    x = torch.randn(2, *padded.input, dtype=torch.float64)
    assert torch.allclose(first(x), second(x), atol=1e-12)


def test_pad_order_is_first_axis_first(torch):
    """`pad 1:2x0:3` pads H by 1 and 2, W by 0 and 3 (F.pad wants (0, 3, 1, 2))."""
    from convcalc.torch_bridge import build

    x = torch.arange(1.0, 1 + 4 * 5).view(1, 1, 4, 5)
    y = build(convcalc.from_text("1x4x5 | pad 1:2x0:3 value=-1"))(x)
    assert y.shape == (1, 1, 1 + 4 + 2, 0 + 5 + 3)
    assert torch.equal(y[:, :, 1:1 + 4, 0:5], x)
    assert torch.equal(y, torch.nn.functional.pad(x, (0, 3, 1, 2), value=-1.0))


# -- crop cuts where concat crop: true cuts ----------------------------------------------------

@pytest.mark.parametrize("n", range(1, 9))
def test_centre_crop_offsets_match_concat(n, torch):
    """For every m <= n, `crop m` and concat's crop keep the same positions: from (n - m) // 2."""
    from convcalc import torch_ops

    x = torch.arange(float(n)).view(1, 1, n)
    for m in range(1, n + 1):
        spec = convcalc.from_text(f"1x{n} | crop {m}")
        (_, _, start), = convcalc.analyze(spec).receptive_field
        assert start == (n - m) // 2
        kept = REGISTRY["crop"].build(spec.nodes[0].args, (1, n), (1, m))(x)
        assert torch.equal(kept, torch_ops.Concat((m,))(x))


def test_crop_then_concat_equals_concat_with_crop(torch):
    # a: 13x12 -> 11x10 (k3), b: 11x10 -> 8x7 (k4); concat crops a from ((11-8)//2, (10-7)//2) = (1, 1)
    from convcalc.torch_bridge import build

    head = "2x13x12 | conv 2 k3 name=a | conv 2 k4 name=b"
    merged = convcalc.from_text(f"{head} | concat from=a,b crop=true")
    cropped = convcalc.from_text(f"{head} | crop 8x7 from=a name=ca | concat from=ca,b")
    m, c = convcalc.analyze(merged), convcalc.analyze(cropped)
    assert m.output == c.output == (1, 2 + 2, 8, 7)
    assert c.layer("ca").receptive_field == ((3, 1, 0 + 1 * 1),) * 2
    assert m.receptive_field == c.receptive_field
    torch.manual_seed(0)
    first, second = build(merged).double(), build(cropped).double()
    for p1, p2 in zip(first.parameters(), second.parameters(), strict=True):
        p2.data.copy_(p1.data)
    x = torch.randn(2, *merged.input, dtype=torch.float64)
    assert torch.equal(first(x), second(x))


# -- memory: pad allocates its output, crop is a view ------------------------------------------

def test_pad_allocates_a_new_tensor(torch):
    assert REGISTRY["pad"].view is False
    report = run("3x8x8 | relu name=a | pad 1 | relu from=a")
    i, r, q = 3 * 8 * 8 * F32, 3 * 8 * 8 * F32, 3 * 10 * 10 * F32
    # step 0: input + a; step 1: a (read again later) + pad1; step 2: a + relu2
    assert report.total.peak_activation_bytes == max(i + r, r + q, r + r)
    x = torch.zeros(1, 3, 8, 8)
    from convcalc.torch_bridge import build

    y = build(convcalc.from_text("3x8x8 | pad 0"))(x)
    assert y.untyped_storage().data_ptr() != x.untyped_storage().data_ptr()


def test_crop_is_a_view(torch):
    assert REGISTRY["crop"].view is True
    report = run("3x8x8 | crop 6 name=c | relu from=input name=r | concat from=c,r crop=true")
    i, r, o = 3 * 8 * 8 * F32, 3 * 8 * 8 * F32, (3 + 3) * 6 * 6 * F32
    # c aliases the input, which stays alive until the concat: i + r + o at the last step
    assert report.total.peak_activation_bytes == i + r + o
    x = torch.zeros(1, 3, 8, 8)
    from convcalc.torch_bridge import build

    y = build(convcalc.from_text("3x8x8 | crop 6"))(x)
    assert y.untyped_storage().data_ptr() == x.untyped_storage().data_ptr()
