"""Receptive fields: (size, jump, start) per spatial axis, from the notes and against autograd.

size: input positions one output unit sees; jump: input distance between neighbouring output
units; start: input position where the first output unit's field begins (negative in padding).
That is the local field; a layer that also sees global context (after a global pool, an SE
product, flatten, statistics norms) says so with `global_context`, and its local field is the
dependency region of an output unit when the global branch is held constant.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest

import convcalc

from .conftest import run

ROOT = Path(__file__).resolve().parent.parent


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


def test_global_pool_and_flatten_keep_one_position_and_add_global_context():
    # The pooled map's positions all feed the output: the local field is one position's (the
    # first's, so its start), it no longer moves (jump 0), and the rest is global context.
    report = run("1x8x8 | gap")
    assert (report.receptive_field, report.global_context) == (((1, 0, 0),) * 2, True)
    report = run("1x8x8 | conv 1 k3 | flatten | linear 4")
    assert report.layer("flatten1").receptive_field == ((3, 0, 0),) * 2
    assert [layer.global_context for layer in report.layers] == [False, True, True]
    assert report.receptive_field == ((3, 0, 0),) * 2


def test_one_position_is_not_global_context():
    # a 1x1 map has nothing beyond its one position: pooling or flattening it adds no context
    report = run("1x5x5 | conv 2 k5 | gap | flatten | linear 3")
    assert report.receptive_field == ((5, 1, 0),) * 2
    assert not any(layer.global_context for layer in report.layers)


def test_merge_of_flat_inputs_keeps_one_position():
    # Found by fuzzing: flat tensors keep their field over the input's axes but have no axes of
    # their own. Each flatten keeps one input position (1, jump 0), and the add too.
    report = run("2x4x4 | flatten name=a | flatten from=input name=b | add from=a,b")
    assert report.receptive_field == ((1, 0, 0),) * 2
    assert report.global_context
    assert report.output == (1, 2 * 4 * 4)


def test_se_product_keeps_the_feature_maps_field_and_adds_global_context():
    # The gate [8,1,1] is broadcast: global context, not part of the field. The product keeps
    # a's field (3, 1, -1), so the next 3x3 conv grows it as without the gate: 3 + (3-1)*1 = 5.
    report = run("1x32x32 | conv 8 k3 p1 name=a | gap | mul from=a,gap1 | conv 8 k3 p1")
    assert report.layer("gap1").receptive_field == ((3, 0, -1),) * 2
    assert report.layer("mul1").receptive_field == ((3, 1, -1),) * 2
    assert report.receptive_field == ((3 + (3 - 1) * 1, 1, -1 - 1),) * 2
    assert [layer.global_context for layer in report.layers] == [False, True, True, True]
    plain = run("1x32x32 | conv 8 k3 p1 | conv 8 k3 p1")
    assert (plain.receptive_field, plain.global_context) == (report.receptive_field, False)


def test_pooled_branch_upsampled_and_concatenated_is_global_context():
    # ASPP's image pooling: gap, 1x1 conv, upsample back to 24x24 (every position the same
    # value: jump 0), concat with the map. The field follows the map: 3, then 3 + 2 = 5.
    report = run("1x24x24 | conv 1 k3 p1 name=a | gap | conv 1 k1 | upsample size=24x24 | concat from=a,upsample1"
                 " | conv 1 k3 p1")
    assert report.layer("upsample1").receptive_field == ((3, 0, -1),) * 2
    assert report.layer("concat1").receptive_field == ((3, 1, -1),) * 2
    assert (report.receptive_field, report.global_context) == (((5, 1, -2),) * 2, True)


def test_pooling_one_axis_whole_is_global_context_on_that_axis():
    # coordinate-attention style: pool W whole, keep H; the product's field is a's on both axes
    report = run("1x24x20 | conv 1 k3 p1 name=a | adaptive_avgpool size=null,1 name=h | mul from=a,h")
    assert report.layer("h").receptive_field == ((3, 1, -1), (3, 0, -1))
    assert report.layer("h").global_context
    assert (report.receptive_field, report.global_context) == (((3, 1, -1),) * 2, True)


@pytest.mark.parametrize("text, context", [
    ("1x8x8 | in", True),
    ("1x8x8 | in track_running_stats=true", False),  # eval mode: running stats are constants
    ("2x8x8 | gn 2", True),
    ("4x8x8 | ln over=all", True),
    ("4x8x8 | ln", False),  # over the channels at each position
    ("4x8x8 | bn", False),
])
def test_statistics_over_positions_are_global_context(text, context):
    report = run(text)
    assert (report.receptive_field, report.global_context) == (((1, 1, 0),) * 2, context)


def test_global_field_does_not_depend_on_the_input_size():
    # ResNet-50's last map: 7x7 at 224, 16x16 at 512; the pool's field is one position's either way
    spec = convcalc.load(ROOT / "specs" / "resnet50.yaml")
    small, large = convcalc.analyze(spec), convcalc.analyze(spec._replace(input=(3, 512, 512)))
    assert (small.layer("layer4.2.relu_2").output, large.layer("layer4.2.relu_2").output) == (
        (1, 2048, 224 // 32, 224 // 32), (1, 2048, 512 // 32, 512 // 32))
    for name in ("avgpool", "fc"):
        assert small.layer(name).receptive_field == large.layer(name).receptive_field
        assert small.layer(name).global_context and large.layer(name).global_context
    # the stem's 11 at jump 4, then the stages; 427 is the published figure for ResNet-50
    assert small.receptive_field == ((427, 0, -213),) * 2


def test_se_resnet50_has_resnet50s_local_field():
    """Every layer the two networks share has the same local field; SE-ResNet's also sees global
    context from the first SE block on."""
    plain = convcalc.analyze(convcalc.load(ROOT / "specs" / "resnet50.yaml"))
    se = convcalc.analyze(convcalc.load(ROOT / "specs" / "se_resnet50.yaml"))
    shared = [layer.name for layer in plain.layers if any(other.name == layer.name for other in se.layers)]
    assert "layer4.2.relu_2" in shared and len(shared) == len(plain.layers)
    for name in shared:
        assert se.layer(name).receptive_field == plain.layer(name).receptive_field, name
    assert se.layer("layer4.2.relu_2").receptive_field == ((427, 32, -213),) * 2
    assert se.layer("layer4.2.relu_2").global_context and not plain.layer("layer4.2.relu_2").global_context


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
    "1x32 | conv 1 k3 p1 name=a | conv 1 k3 p=0:2 from=input name=b | add from=a,b | conv 1 k3 s2",
    "1x30x30 | conv 1 k3 name=a | conv 1 k5 | conv 1 k3 name=c | concat from=a,c crop=true | conv 1 k3",
    "1x20x20 | pad 2 | conv 1 k3 | crop 6 | conv 1 k3 s2",
    "1x30 | conv 1 k3 s2 | pad 3:1 | conv 1 k3 d2 | crop 5 offset=2",
    "1x30 | conv 1 k3 p2 | crop 30 0 | conv 1 k3 p4 d2 | crop 30 0",  # a TCN's causal convs, chomped (x[:, :, :-k])
    "1x20x21 | conv 1 k3 | crop 12x15 offset=1x3 | conv 1 k3 s2",  # x[:, :, 1:13, 3:18]
    "1x12x13 | pad 1:2x3:0 | conv 1 k3 s2",
    "1x40x40 | pixel_unshuffle 2 | conv 1 k3 s2",  # a 2x2 window at stride 2, then a conv on the blocks
    "1x42x38 | conv 1 k3 | pixel_unshuffle 4 | conv 1 k3",
]


# Global context on spatial outputs: SE products, a pooled branch concatenated back, a pooled
# axis broadcast, statistics norms. Inputs are wide enough that no local field covers them.
GLOBAL_CHAINS = [
    "1x24x24 | conv 1 k3 p1 name=a | gap | conv 1 k1 | sigmoid | mul from=a,sigmoid1 | conv 1 k3 p1",
    "1x32x32 | conv 2 k3 s2 p1 name=a | gap | flatten | linear 1 | linear 2 | sigmoid | reshape shape=2,1,1"
    " | mul from=a,reshape1 | conv 2 k3 p1 name=m | add from=m,a | conv 1 k3 s2",
    "1x24x24 | conv 1 k3 p1 name=a | gap | conv 1 k1 | upsample size=24x24 | concat from=a,upsample1 | conv 1 k3 p1",
    "1x24x20 | conv 1 k3 p1 name=a | adaptive_avgpool size=null,1 name=h | mul from=a,h | conv 1 k3",
    "1x20x20 | conv 1 k3 | in | conv 1 k3 d2",
]


def _model(spec, torch):
    from convcalc.torch_bridge import build

    model = build(spec).double()
    for p in model.parameters():
        torch.nn.init.constant_(p, 0.5)
    return model


def _hold_global_constant(spec, model, torch):
    """Detach the global branches, found from the shapes alone: the output of a layer that
    pools an axis of more than one position to one position (or flattens such a map), a merge
    input broadcast against the merge's output, and an instance norm's statistics."""
    from convcalc.torch_bridge import module_path

    def constant_statistics(module, args, out):
        x = args[0]
        axes = tuple(range(2, x.dim()))
        mean, var = x.mean(axes, keepdim=True).detach(), x.var(axes, unbiased=False, keepdim=True).detach()
        return (x - mean) / torch.sqrt(var + module.eps)

    report = convcalc.analyze(spec)
    shapes = {"input": spec.input, **{layer.name: layer.output[1:] for layer in report.layers}}

    def detach_broadcast(y):
        return lambda module, args: tuple(
            a.detach() if any(n == 1 < m for n, m in zip(a.shape[2:], y[1:])) else a for a in args)

    for node in spec.nodes:
        module = model.get_submodule(module_path(node.name))
        x, y = shapes[node.inputs[0]], shapes[node.name]
        if len(node.inputs) > 1:
            module.register_forward_pre_hook(detach_broadcast(y))
        elif node.kind == "in":
            assert not module.affine and not module.track_running_stats
            module.register_forward_hook(constant_statistics)
        elif any(n > 1 for n in x[1:]) and (len(y) == 1 or any(m == 1 < n for n, m in zip(x[1:], y[1:]))):
            module.register_forward_hook(lambda m, args, out: out.detach())


def _hit(spec, model, torch, x):
    """Per axis, the first and last input positions whose gradient for the centre output is nonzero."""
    x = x.clone().requires_grad_(True)
    y = model(x)
    centre = tuple(n // 2 for n in y.shape[2:])
    y[(0, 0, *centre)].backward()
    hit = x.grad[0, 0].nonzero()
    return centre, [(hit[:, a].min().item(), hit[:, a].max().item()) if len(hit) else None
                    for a in range(len(spec.input) - 1)]


def _clipped(report, spec, centre):
    """The field of the centre output unit, clipped by the input's borders."""
    out = []
    for axis, (size, jump, start) in enumerate(report.receptive_field):
        first = start + centre[axis] * jump
        out.append((max(first, 0), min(first + size - 1, spec.input[axis + 1] - 1)))
    return out


@pytest.mark.parametrize("text", CHAINS + GLOBAL_CHAINS)
def test_field_matches_autograd(text, torch):
    """With all-positive weights and inputs nothing cancels, so the input positions with a
    nonzero gradient for one output unit are exactly its receptive field; with the global
    branches held constant, exactly its local field."""
    spec = convcalc.from_text(text)
    report = convcalc.analyze(spec)
    model = _model(spec, torch)
    _hold_global_constant(spec, model, torch)
    centre, hit = _hit(spec, model, torch, torch.ones((1, *spec.input), dtype=torch.float64))
    assert hit == _clipped(report, spec, centre)
    assert report.global_context is (text in GLOBAL_CHAINS)


@pytest.mark.parametrize("text", GLOBAL_CHAINS)
def test_global_context_is_the_whole_input(text, torch):
    """Not held constant, the global branch makes the centre unit depend on every position of
    the input (along W only, where only W is pooled whole): the flag is not a guess. (A random
    positive input: instance norm of a constant map is 0.)"""
    spec = convcalc.from_text(text)
    report = convcalc.analyze(spec)
    torch.manual_seed(0)
    x = 0.5 + torch.rand((1, *spec.input), dtype=torch.float64)
    centre, hit = _hit(spec, _model(spec, torch), torch, x)
    whole = [(0, n - 1) for n in spec.input[1:]]
    local = _clipped(report, spec, centre)
    if "size=null,1" in text:
        assert hit == [local[0], whole[1]]
    else:
        assert hit == whole
    assert local != whole


@pytest.mark.parametrize("text, last_map", [
    ("1x20x20 | conv 1 k3 s2 | conv 1 k3 | gap", "conv2"),
    ("1x20x16 | conv 1 k3 s2 p1 | avgpool 2 | flatten | linear 3", "avgpool1"),  # not max: ties
    ("1x30 | conv 1 k5 s3 | adaptive_avgpool 1 | flatten | linear 2", "conv1"),
])
def test_flat_and_pooled_outputs_keep_the_last_maps_first_position(text, last_map, torch):
    """After a global pool or flatten + linear, the field is the last map's first unit's (autograd
    on that unit), at jump 0; not held constant, the output depends on the union of every unit's
    field: the extent the last map covers, which is what the global context adds."""
    from convcalc.torch_bridge import module_path

    spec = convcalc.from_text(text)
    report = convcalc.analyze(spec)
    last = report.layer(last_map)
    assert report.global_context and not last.global_context
    assert report.receptive_field == tuple((size, 0, start) for size, _, start in last.receptive_field)
    model = _model(spec, torch)
    seen = {}
    model.get_submodule(module_path(last_map)).register_forward_hook(lambda m, args, out: seen.update(map=out))
    x = torch.ones((1, *spec.input), dtype=torch.float64, requires_grad=True)
    y = model(x)
    first_unit = (0, 0) + (0,) * (seen["map"].dim() - 2)
    (grad,) = torch.autograd.grad(seen["map"][first_unit], x, retain_graph=True)
    y[(0, 0) + (0,) * (y.dim() - 2)].backward()
    for axis, ((size, jump, start), n) in enumerate(zip(last.receptive_field, last.output[2:])):
        one = grad[0, 0].nonzero()[:, axis]
        assert (one.min().item(), one.max().item()) == (max(start, 0), start + size - 1)
        every = x.grad[0, 0].nonzero()[:, axis]
        assert (every.min().item(), every.max().item()) == (
            max(start, 0), min(start + (n - 1) * jump + size - 1, spec.input[axis + 1] - 1))


@pytest.mark.parametrize("text", ["1x12x10 | conv 1 k3 | linear 4", "1x9 | conv 1 k3 s2 | linear 2 | relu",
                                  "1x6x7x8 | conv 1 k3 p1 | linear 3 bias=false"])
def test_a_linear_on_a_feature_map_reads_its_whole_last_axis(text, torch):
    """nn.Linear over the last axis: output (i, j) reads every position of that axis (global
    context, the axis's field kept at its first position's, jump 0, as after a global pool) and
    only its own position on the others (the field so far, still moving). Autograd on one output
    unit: the other axes hit that field, the last axis the extent the map before it covers."""
    spec = convcalc.from_text(text)
    report = convcalc.analyze(spec)
    conv = report.layer("conv1")
    (*before, (size, jump, start)) = conv.receptive_field
    assert report.receptive_field == (*before, (size, 0, start)) and report.global_context
    model = _model(spec, torch)
    centre, hit = _hit(spec, model, torch, torch.ones((1, *spec.input), dtype=torch.float64))
    n = conv.output[-1]  # the positions of the axis the linear layer maps
    assert hit[:-1] == _clipped(report, spec, centre)[:-1]
    assert hit[-1] == (max(start, 0), min(start + (n - 1) * jump + size - 1, spec.input[-1] - 1))


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


def test_pixel_shuffle_field_bounds_every_unit_and_is_reached(torch):
    """Sub-pixel upsampling: output position o reads input o // r, so the field's jump is 1/r and
    a following 3-wide conv reaches 2 input positions (4 with the conv before): sizes are whole,
    no output unit's field exceeds them, and some unit's field equals them (autograd)."""
    import convcalc
    from convcalc.torch_bridge import build

    spec = convcalc.from_text("1x6x6 | conv 4 k3 p1 | pixel_shuffle 2 | conv 1 k3 p1")
    field = convcalc.analyze(spec).receptive_field
    # the first conv sees 3; the last conv's 3 taps step 1/2 input positions apart: 3 + (3 - 1) / 2
    assert [axis[0] for axis in field] == [3 + (3 - 1) // 2] * 2
    model = build(spec).double()
    for p in model.parameters():
        torch.nn.init.constant_(p, 0.5)
    extents = []
    for o in range(1, 11):  # away from the borders, where padding clips the field
        x = torch.ones((1, *spec.input), dtype=torch.float64, requires_grad=True)
        model(x)[0, 0, o, o].backward()
        hit = x.grad[0, 0].nonzero()
        extents.append(tuple(hit[:, a].max().item() - hit[:, a].min().item() + 1 for a in range(2)))
    assert max(extents) == (4, 4)


def test_transposed_field_of_a_huge_kernel_is_solved_not_searched():
    # k = 2^40 taps, s 3, d 2, p 5: the taps j with 2j = 5 (mod 3) are j = 1 (mod 3); the largest
    # below 2^40 is 2^40 - 3, so the first output's first input is (5 - 2*(2^40 - 3)) / 3.
    k = 2**40
    report = run(f"1x3 | deconv 1 k{k} s3 p5 d2")
    assert report.output == (1, 1, (3 - 1) * 3 - 2 * 5 + 2 * (k - 1) + 1)
    (_, jump, start), = report.receptive_field
    assert (jump, start) == (Fraction(1, 3), (5 - 2 * (k - 3)) // 3)
