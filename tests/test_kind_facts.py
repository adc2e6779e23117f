"""Facts other modules once decided by a kind's name, now asked of its record (docs/architecture.md,
"The hook contract"): `depthwise` (convcalc scale's depthwise share), `features_last` (check's
alignment axis) and `side_inputs` (the YAML writer's folding)."""

from __future__ import annotations

import pytest

from convcalc import analyze
from convcalc.importers.model import Layer
from convcalc.importers.writer import groups
from convcalc.layers import REGISTRY
from convcalc.scale import measure
from convcalc.spec import from_text


def test_depthwise_share_counts_dwconv_and_one_group_per_channel():
    # 4x8x8, every conv padded to keep 8x8 (64 positions)
    report = analyze(from_text("4x8x8 | conv 4 k3 p1 groups=4 | dwconv 3 p1 multiplier=2 | conv 8 k1 "
                                "| conv 8 k3 p1 groups=2"))
    macs = [layer.macs for layer in report.layers]
    assert macs == [64 * 4 * 1 * 9, 64 * 8 * 1 * 9, 64 * 8 * 8 * 1, 64 * 8 * 4 * 9]
    # the first (groups = out = 4) and the dwconv (groups = C = 4, out 8: depthwise by kind);
    # not the 1x1 (groups 1) nor the conv with 2 groups of 4 channels
    assert measure(report).depthwise_macs == 64 * 4 * 9 + 64 * 8 * 9


def test_only_the_grouped_convolutions_can_be_depthwise():
    one_per_channel = {"groups": 4}  # 4 groups, 4 output channels
    depthwise = {name for name, record in REGISTRY.items() if record.depthwise(one_per_channel, (4, 8, 8))}
    # dwconv always; the others of the conv family (and deconv) by their groups; nothing outside it
    assert {"dwconv", "conv", "deconv"} <= depthwise
    assert not depthwise & {"gn", "channel_shuffle", "linear", "bn", "maxpool", "mha"}
    assert not REGISTRY["conv"].depthwise({"groups": 1}, (4, 8, 8))
    assert not REGISTRY["conv"].depthwise({"groups": 2}, (4, 8, 8))


def test_features_last_is_linear_alone():
    assert [name for name, record in REGISTRY.items() if record.features_last] == ["linear"]
    assert all(record.aligned for record in REGISTRY.values() if record.features_last)


def _block(kind: str, args: dict) -> list[Layer]:
    layers = [Layer("stem", "conv", {"out": 4, "k": 1}, ("input",), "Conv")]
    for b in ("b0", "b1"):
        previous = layers[-1].name
        layers += [Layer(f"{b}.pool", "maxpool", {"k": 2}, (previous,), "MaxPool"),
                   Layer(f"{b}.up", kind, args(f"{b}.pool") if callable(args) else args, (f"{b}.pool",), kind)]
    return layers


@pytest.mark.parametrize("kind, args, folded", [
    ("upsample", {"scale": 2}, True),
    ("maxunpool", lambda pool: {"k": 2, "indices": pool}, False),  # names a layer by its full name
])
def test_a_layer_with_side_inputs_keeps_its_block_flat(kind, args, folded):
    found = [g.path for g in groups(_block(kind, args))]
    assert found == (["b0", "b1"] if folded else [])
    assert bool(REGISTRY[kind].side_inputs) is not folded
