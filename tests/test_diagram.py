"""diagram.py: blocks found in layer names, repeats, what a drawing shows, and metric values."""

from __future__ import annotations

import json

import pytest

import convcalc
from convcalc import library
from convcalc.diagram import (CROWDED, Metric, blocks, build, by_kind, collapsed_set, layer_values, model,
                              read_profile_times, stages, visible_count)
from convcalc.errors import UsageError

from .conftest import run


def library_report(name: str) -> convcalc.Report:
    return convcalc.analyze(convcalc.load(library.path(name)))


@pytest.fixture(scope="module")
def resnet50():
    return library_report("resnet50")


def test_resnet50_blocks(resnet50):
    found = {b.name: b for b in blocks(resnet50)}
    # torchvision's module paths: layer1 holds its bottlenecks layer1.0 (with the projection,
    # layer1.0.downsample), layer1.1 and layer1.2; no repeat, as layer1.0 differs from the others
    assert {name: b.depth for name, b in found.items() if name.startswith("layer1")} == {
        "layer1": 0, "layer1.0": 1, "layer1.0.downsample": 2, "layer1.1": 1, "layer1.2": 1}
    assert all(b.repeat == 1 for b in found.values())
    b = found["layer1.1"]
    assert b.layers == 3 + 3 + 3 + 1  # 3 conv, 3 bn, 3 relu (one after the add), add
    assert dict(b.kinds) == {"conv": 3, "bn": 3, "relu": 3, "add": 1}
    # params of one identity bottleneck at width 64: 1x1 256->64, 3x3 64->64, 1x1 64->256, three BNs
    one = 256 * 64 + 2 * 64 + 64 * 64 * 3 * 3 + 2 * 64 + 64 * 256 + 2 * 256
    assert b.params == one
    assert b.parent == "layer1"
    assert found["layer1"].parent is None and found["layer1"].repeat == 1


def test_resnet50_default_drawing(resnet50):
    d = build(resnet50)
    # with no repeat, the blocks one dot deep: input, the stem (conv1 bn1 relu maxpool), the 3 + 4
    # + 6 + 3 bottlenecks, then avgpool, flatten, fc
    assert len(d.nodes) == 1 + 4 + (3 + 4 + 6 + 3) + 3
    node = next(n for n in d.nodes if n.id == "layer3.1")
    assert (node.kind, node.repeat, node.last - node.first) == ("block", 1, 10 - 1)
    into = next(e for e in d.edges if e.target == "layer3.1")
    assert into.source == "layer3.0" and into.shapes == ("1x1024x14x14",)
    out = next(e for e in d.edges if e.source == "layer3.5")
    assert out.target == "layer4.0" and out.shapes == ("1x1024x14x14",)


def test_expand_draws_every_layer_once(resnet50):
    d = build(resnet50, expand=True)
    assert [n.id for n in d.nodes] == ["input"] + [layer.name for layer in resnet50.layers]
    # one edge per input of every layer: 175 layers, 16 adds read two
    assert len(d.edges) == 175 + 16
    assert sum(n.params for n in d.nodes) == resnet50.total.params


@pytest.mark.parametrize("name", library.names())
def test_every_collapse_covers_each_layer_once_and_stays_acyclic(name):
    report = library_report(name)
    all_blocks = blocks(report)
    for options in ({}, {"expand": True}, {"depth": 0}, {"depth": 1}):
        d = build(report, **options)
        covered = sorted(i for n in d.nodes for i in range(n.first, n.last + 1) if n.kind != "input")
        assert covered == list(range(len(report.layers)))
        assert sum(n.macs for n in d.nodes) == report.total.macs
        assert visible_count(report, all_blocks, collapsed_set(all_blocks, **options)) == len(d.nodes) - 1
        # a topological order of the drawn nodes exists: collapsing made no cycle
        order = {n.id: i for i, n in enumerate(d.nodes)}
        assert all(order[e.source] < order[e.target] for e in d.edges)


def renamed(text: str, names: dict[str, str]) -> convcalc.Report:
    report = run(text)
    layers = tuple(layer._replace(name=names[layer.name], inputs=tuple(names.get(i, i) for i in layer.inputs))
                   for layer in report.layers)
    return report._replace(layers=layers)


def test_a_prefix_whose_layers_are_not_contiguous_is_no_block():
    # Templates give contiguous scopes (spec names have no dots); were a report to interleave
    # them, drawing `a` as one node would make the cycle a -> mid -> a.
    report = renamed("3x8x8 | conv 4 k3 p1 | relu | conv 4 k3 p1", {"conv1": "a.x", "relu1": "mid", "conv2": "a.y"})
    assert blocks(report) == ()
    assert [n.id for n in build(report).nodes] == ["input", "a.x", "mid", "a.y"]


def test_instances_of_different_structure_are_no_repeat():
    same = renamed("3x8x8 | conv 4 k3 p1 | relu | conv 4 k3 p1 | relu",
                   {"conv1": "s.0.c", "relu1": "s.0.r", "conv2": "s.1.c", "relu2": "s.1.r"})
    assert {b.name: b.repeat for b in blocks(same)} == {"s": 2, "s.0": 1, "s.1": 1}
    other = renamed("3x8x8 | conv 4 k3 p1 | relu | conv 4 k3 p1 | bn",
                    {"conv1": "s.0.c", "relu1": "s.0.r", "conv2": "s.1.c", "bn1": "s.1.r"})
    assert {b.name: b.repeat for b in blocks(other)} == {"s": 1, "s.0": 1, "s.1": 1}
    gap = renamed("3x8x8 | conv 4 k3 p1 | relu | conv 4 k3 p1 | relu",
                  {"conv1": "s.0.c", "relu1": "s.0.r", "conv2": "s.2.c", "relu2": "s.2.r"})
    assert {b.name: b.repeat for b in blocks(gap)} == {"s": 1, "s.0": 1, "s.2": 1}


def test_a_named_repeat_of_one_layer_collapses():
    report = run("3x16x16 | conv 8 k3 p1 name=c repeat=4 | relu")
    d = build(report)
    assert [(n.id, n.repeat) for n in d.nodes] == [("input", 1), ("c", 4), ("relu1", 1)]
    assert d.nodes[1].params == 8 * 3 * 9 + 8 + 3 * (8 * 8 * 9 + 8)


def test_side_inputs_are_marked_edges():
    report = run("3x8x8 | maxpool 2 name=p | relu | maxunpool 2 indices=p")
    d = build(report, expand=True)
    assert [(e.source, e.target, e.side) for e in d.edges] == [
        ("input", "p", False), ("p", "relu1", False), ("relu1", "maxunpool1", False), ("p", "maxunpool1", True)]
    assert d.edges[-1].shapes == ("1x3x4x4",)


def test_metric_values(resnet50):
    layers = resnet50.layers
    assert layer_values(resnet50, Metric.MEMORY)[0] == 1 * 64 * 112 * 112 * 4
    assert layer_values(resnet50, Metric.RF)[0] == 7
    assert layer_values(resnet50, Metric.MACS)[0] == 64 * 3 * 7 * 7 * 112 * 112
    d = build(resnet50, metric=Metric.MEMORY)
    b = next(n for n in d.nodes if n.id == "layer1.1")
    outputs = [layer.output_bytes for layer in layers[b.first:b.last + 1]]
    assert b.value == max(outputs)  # memory: the block's largest output, not their sum
    d = build(resnet50, metric=Metric.PARAMS)
    assert next(n for n in d.nodes if n.id == "layer1.1").value == sum(layer.params for layer in layers[b.first:b.last + 1])
    with pytest.raises(UsageError, match="--by time needs --profile"):
        layer_values(resnet50, Metric.TIME)


def test_crowded_drawings_open_as_an_overview():
    inception = library_report("inception_v3")
    m = model(inception)
    assert visible_count(inception, m.blocks, collapsed_set(m.blocks)) > CROWDED
    assert m.collapsed == collapsed_set(m.blocks, depth=0)
    assert "Mixed_5b" in m.collapsed and "Mixed_5b.branch1x1" not in m.collapsed
    assert model(inception, expand=True).collapsed == frozenset()


def test_profile_times(tmp_path, resnet50):
    profile = {"schema": 1, "name": "resnet50", "batches": [
        {"batch": 1, "layers": [{"name": "conv1", "median_s": 0.002}, {"name": "fc", "median_s": 0.0005}]}]}
    path = tmp_path / "p.json"
    path.write_text(json.dumps(profile))
    times = read_profile_times(str(path), resnet50)
    assert times == {"conv1": 0.002, "fc": 0.0005}
    d = build(resnet50, metric=Metric.TIME, times=times)
    assert next(n for n in d.nodes if n.id == "conv1").value == 0.002
    assert next(n for n in d.nodes if n.id == "bn1").value == 0.0

    other = dict(profile, name="lenet5", batches=[{"batch": 1, "layers": [{"name": "c1", "median_s": 1.0}]}])
    path.write_text(json.dumps(other))
    with pytest.raises(UsageError, match="none of its layers is a layer of 'resnet50'"):
        read_profile_times(str(path), resnet50)
    path.write_text("{not json")
    with pytest.raises(UsageError, match="not valid JSON"):
        read_profile_times(str(path), resnet50)
    path.write_text(json.dumps({"schema": 1, "name": "resnet50"}))
    with pytest.raises(UsageError, match="no batches"):
        read_profile_times(str(path), resnet50)


def test_shares_by_kind_and_stage(resnet50):
    kinds = {s.label: s for s in by_kind(resnet50)}
    assert kinds["conv"].layers == 1 + 4 * 4 + 12 * 3  # the stem, a projection per stage, 3 per bottleneck
    assert sum(s.macs for s in kinds.values()) == resnet50.total.macs
    assert by_kind(resnet50)[0].label == "conv"
    stage = [(s.label, s.layers) for s in stages(resnet50)]
    assert stage == [("conv1…maxpool", 4), ("layer1", 3 * 10 + 2), ("layer2", 4 * 10 + 2), ("layer3", 6 * 10 + 2),
                     ("layer4", 3 * 10 + 2), ("avgpool…fc", 3)]
    assert sum(s.params for s in stages(resnet50)) == resnet50.total.params
