"""Several outputs (`outputs:`): a detector's, a segmentation net's or a multi-task net's heads.

- The spec: a list of layers or a mapping of names to layers, resolved as `from:` is; without the
  key the output is the last layer, as before (the golden files guard that).
- The reports: the table's total row and the summary line give every output's shape, the JSON
  an `outputs` field; memory keeps every output alive to the end of the walk.
- check's `expect_output` by output name.
- verify: the built module returns a tuple or a dict, each output compared.
- Training: the loss is the sum of every output's sum; the timeline's peak against MemTracker.
- Import: a two-head model returning a dict, a tuple, or features beside a nested dict, from
  PyTorch and from both of torch's ONNX exporters, against the model's own outputs.
Bad `outputs:` are files in tests/assets/bad/ (tests/test_bad_input.py), bad `expect_output`
names in tests/assets/check/bad/ (tests/test_check.py).
"""

from __future__ import annotations

import json
import warnings
from math import prod

import pytest
from click.testing import CliRunner

import convcalc
from convcalc.cli import cli
from tests import import_models

TWO_HEADS = """name: twohead
input: [3, 16, 16]
layers:
  - conv: {out: 8, k: 3, p: 1}
  - relu: {name: trunk}
  - gap
  - flatten
  - linear: {out: 10, name: cls}
  - conv: {out: 2, k: 1, name: seg, from: trunk}
"""
NAMED = TWO_HEADS + "outputs: {logits: cls, mask: seg}\n"
LISTED = TWO_HEADS + "outputs: [cls, seg]\n"
# an output later layers read (the trunk's features), beside the head
FEATURES = """input: [3, 16, 16]
layers:
  - conv: {out: 8, k: 3, p: 1}
  - relu: {name: trunk}
  - bn: {from: trunk}
  - relu
  - gap
  - flatten
  - linear: {out: 10, name: cls}
outputs: [trunk, cls]
"""


def shapes(*args: str) -> str:
    # wide enough that no column is left out (a pipe is 80 columns: docs/spec.md's width policy)
    result = CliRunner().invoke(cli, ["shapes", *args], env={"COLUMNS": "1000"})
    assert result.exit_code == 0, result.output
    return result.stdout


def test_without_outputs_the_output_is_the_last_layer():
    spec = convcalc.loads(TWO_HEADS)
    report = convcalc.analyze(spec)
    assert (spec.outputs, spec.output_layers) == ((), ("seg",))
    assert report.output == (1, 2, 16, 16)
    assert "outputs" not in report.to_dict()


def test_named_and_listed_outputs_resolve_to_layers():
    named, listed = convcalc.loads(NAMED), convcalc.loads(LISTED)
    assert (named.outputs, named.outputs_named) == ((("logits", "cls"), ("mask", "seg")), True)
    assert (listed.outputs, listed.outputs_named) == ((("cls", "cls"), ("seg", "seg")), False)


def test_a_blocks_name_is_its_last_layer_as_in_from():
    spec = convcalc.loads("""input: [3, 8, 8]
blocks:
  unit: [conv: {out: 4, k: 3, p: 1}, relu]
layers:
  - block: {use: unit, name: stem}
  - conv: {out: 2, k: 1, name: head}
outputs: {features: stem, head: head}
""")
    assert spec.outputs == (("features", "stem.relu1"), ("head", "head"))


def test_reports_give_every_outputs_shape():
    report = convcalc.analyze(convcalc.loads(NAMED), batch=2)
    doc = report.to_dict()
    # cls: linear 10 after a global pool; seg: a 1x1 conv of the 8x16x16 trunk to 2 channels
    assert doc["outputs"] == {"logits": [2, 10], "mask": [2, 2, 16, 16]}
    assert doc["output_layers"] == {"logits": "cls", "mask": "seg"}
    assert doc["output"] == [2, 10]  # the first output, as PyTorch's out[0]
    assert doc["schema"] == 1


def test_the_table_and_summary_say_each_output(tmp_path):
    path = tmp_path / "two.yaml"
    path.write_text(NAMED)
    table = shapes(str(path))
    total = next(line for line in table.splitlines() if " total " in line)
    assert "1x10, 1x2x16x16" in total and "3x3 + global, 3x3" in total
    assert "outputs logits 1x10 (receptive field 3x3 + global), mask 1x2x16x16 (receptive field 3x3)" in table
    markdown = shapes(str(path), "--format", "markdown")
    assert "| | **total** | | 1x10, 1x2x16x16 |" in markdown
    csv_total = shapes(str(path), "--format", "csv").splitlines()[-1].split(",")
    assert csv_total[2:6] == ["total", "", "", "1x10;1x2x16x16"]
    assert json.loads(shapes(str(path), "--format", "json"))["outputs"] == {"logits": [1, 10], "mask": [1, 2, 16, 16]}


def test_every_output_stays_alive_in_the_inference_peak():
    """Without `outputs:` the trunk dies when the last head has read it; as an output it stays."""
    one = convcalc.analyze(convcalc.loads(FEATURES.replace("outputs: [trunk, cls]", "outputs: [cls]")))
    both = convcalc.analyze(convcalc.loads(FEATURES))
    trunk = 8 * 16 * 16 * 4  # conv1, trunk, bn and relu2 are each this size
    # with the head alone two of them live at once at most (each is freed once the next is made);
    # with the trunk an output it lives on beside bn and relu2
    assert one.total.peak_activation_bytes == 2 * trunk
    assert both.total.peak_activation_bytes == 3 * trunk


def test_a_layer_on_no_outputs_path_is_counted_and_freed_where_made():
    spec = convcalc.loads(TWO_HEADS + "  - conv: {out: 4, k: 1, name: probe, from: trunk}\n"
                          "outputs: [cls, seg]\n")
    report = convcalc.analyze(spec)
    probe = report.layer("probe")
    assert probe.params == 4 * 8 + 4
    assert report.total.params == sum(layer.params for layer in report.layers)
    assert [name for name, _ in report.heads] == ["cls", "seg"]


def test_expect_output_by_name(tmp_path):
    from convcalc.check.budgets import evaluate_limits, spec_limits

    spec = convcalc.loads(NAMED + "budget:\n  expect_output:\n    logits: [10]\n    mask: [2, 16, 15]\n")
    checks = evaluate_limits(convcalc.analyze(spec), spec_limits(spec))
    assert [(c.name, c.ok, c.actual, c.line) for c in checks] == [
        ("expect_output.logits", True, (10,), 13), ("expect_output.mask", False, (2, 16, 16), 14)]
    assert checks[1].message == "output mask [2, 16, 16] is not the expected [2, 16, 15] (line 14)"


def test_expect_output_of_a_single_output_may_name_it():
    from convcalc.check.budgets import evaluate_limits, spec_limits

    spec = convcalc.loads(TWO_HEADS + "budget: {expect_output: {seg: [2, 16, 16]}}\n")
    assert [c.ok for c in evaluate_limits(convcalc.analyze(spec), spec_limits(spec))] == [True]


@pytest.mark.parametrize("text, returns", [(NAMED, dict), (LISTED, tuple)], ids=["named", "listed"])
def test_verify_builds_a_module_returning_every_output(text, returns, torch):
    from convcalc.torch_bridge import build
    from convcalc.verify import verify

    spec = convcalc.loads(text)
    out = build(spec)(torch.randn(2, 3, 16, 16))
    assert type(out) is returns and len(out) == 2
    result = verify(spec, batch=2, use_fvcore=False)
    assert result.ok
    assert [(name, c.convcalc, c.actual) for name, c in result.outputs] == [
        (name, layer.output, layer.output) for name, layer in convcalc.analyze(spec, 2).heads]
    doc = result.to_dict()
    assert [o["name"] for o in doc["outputs"]] == [name for name, _ in spec.outputs]


def test_verify_says_when_an_output_differs(torch):
    from convcalc import verify as verify_module

    spec = convcalc.loads(NAMED)
    real = verify_module._returned
    try:  # a model that returned the mask one pixel short
        verify_module._returned = lambda s, out: {**real(s, out), "mask": (1, 2, 16, 15)}
        result = verify_module.verify(spec, use_fvcore=False)
    finally:
        verify_module._returned = real
    assert not result.ok
    assert dict(result.outputs)["mask"].actual == (1, 2, 16, 15)


def _peak_band(spec, batch, optimizer):
    from convcalc import train_truth
    from convcalc.training import ITEMSIZE, Setup, evaluate, timeline

    truth = train_truth.peak(spec, batch, optimizer)
    t = timeline(spec, Setup("float32", None, optimizer, None, "cpu"))
    ours = t.peak(batch)[0]
    rows = {layer.name: layer for layer in evaluate(t, batch).layers}
    # convcalc counts each output's gradient as a tensor (a real loss's); a sum's is a broadcast view
    gradients = sum(prod(rows[name].output) * ITEMSIZE[rows[name].dtype] for name in spec.output_layers)
    return ours, truth, gradients


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
@pytest.mark.parametrize("text", [NAMED, LISTED, FEATURES], ids=["named", "listed", "features"])
def test_training_peak_of_several_outputs_agrees_with_memtracker(text, optimizer, torch):
    ours, truth, gradients = _peak_band(convcalc.loads(text), 3, optimizer)
    assert 0 <= ours - truth <= gradients, (ours, truth)


def test_every_outputs_gradient_is_seeded():
    """The trunk as an output: its gradient exists from the start of the backward, so the peak
    holds one trunk-sized tensor more than with the head alone."""
    from convcalc.training import Setup, timeline

    setup = Setup("float32", None, "sgd", None, "cpu")
    one = timeline(convcalc.loads(FEATURES.replace("outputs: [trunk, cls]", "outputs: [cls]")), setup).peak(3)[0]
    both = timeline(convcalc.loads(FEATURES), setup).peak(3)[0]
    assert both - one == 3 * 8 * 16 * 16 * 4


def test_memory_cli_runs_on_several_outputs(tmp_path):
    path = tmp_path / "two.yaml"
    path.write_text(NAMED)
    result = CliRunner().invoke(cli, ["memory", str(path), "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["total"]["peak_bytes"] > 0


# -- import --------------------------------------------------------------------------------------

def _model_outputs(builder):
    """The model's own outputs, flattened as the importer names them: {name: per-sample shape}."""
    import torch

    out = getattr(import_models, builder)().eval()(torch.randn(1, *import_models.SEVERAL_OUTPUTS[builder]))
    found = {}
    items = out.items() if isinstance(out, dict) else enumerate(out)
    for key, value in items:
        if isinstance(value, dict):
            found.update((f"{key}.{k}", tuple(v.shape[1:])) for k, v in value.items())
        else:
            found[str(key)] = tuple(value.shape[1:])
    return found


@pytest.mark.parametrize("builder, named", [("build_two_heads", True), ("build_two_heads_tuple", False),
                                            ("build_features_and_logits", True)])
def test_a_pytorch_model_with_several_outputs_imports(builder, named, tmp_path, torch):
    from convcalc.importers import read
    from convcalc.importers.writer import render

    imported = read(f"tests.import_models:{builder}", import_models.SEVERAL_OUTPUTS[builder])
    spec = imported.spec()
    report = convcalc.analyze(spec)
    assert spec.outputs_named is named
    expected = _model_outputs(builder)
    got = {name: layer.output[1:] for name, layer in report.heads}
    if named:
        assert got == expected
    else:  # a tuple: by position, each named by its layer
        assert list(got.values()) == list(expected.values())
    model = getattr(import_models, builder)()
    assert (report.total.params, report.total.buffers) == (sum(p.numel() for p in model.parameters()),
                                                           sum(b.numel() for b in model.buffers()))
    # written and read back: the same outputs
    path = tmp_path / "spec.yaml"
    path.write_text(render(imported))
    assert convcalc.load(path).outputs == spec.outputs


def test_an_imported_model_with_several_outputs_verifies_and_trains(torch):
    from convcalc.importers import read
    from convcalc.verify import verify

    spec = read("tests.import_models:build_two_heads", (3, 16, 16)).spec()
    assert verify(spec, use_fvcore=False).ok
    ours, truth, gradients = _peak_band(spec, 2, "sgd")
    assert 0 <= ours - truth <= gradients, (ours, truth)


@pytest.mark.parametrize("exporter", ["torchscript", pytest.param("dynamo", marks=pytest.mark.slow)])
@pytest.mark.parametrize("builder", ["build_two_heads", "build_features_and_logits"])
def test_an_onnx_graph_with_several_outputs_imports(builder, exporter, tmp_path, torch):
    from convcalc.importers import read

    if exporter == "dynamo":
        pytest.importorskip("onnxscript")
    model = getattr(import_models, builder)().eval()
    shape = import_models.SEVERAL_OUTPUTS[builder]
    expected = _model_outputs(builder)
    names = ["out_" + name.replace(".", "_") for name in expected]  # as ONNX value names ('0' is refused)
    path = str(tmp_path / f"{builder}_{exporter}.onnx")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (torch.randn(1, *shape),), path, dynamo=exporter == "dynamo",
                          opset_version=18 if exporter == "dynamo" else 13,
                          output_names=names)
    spec = read(path).spec()
    report = convcalc.analyze(spec)
    assert spec.outputs_named
    assert {name: layer.output[1:] for name, layer in report.heads} == \
        dict(zip(names, expected.values()))
    from_torch = convcalc.analyze(read(f"tests.import_models:{builder}", shape).spec())
    assert report.total.macs == from_torch.total.macs
    assert [layer for _, layer in spec.outputs] == [layer for _, layer in from_torch.outputs]


def test_a_model_returning_its_input_or_one_tensor_twice_is_refused(torch):
    from convcalc.errors import ConvcalcError
    from convcalc.importers import torch_fx

    class Twice(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = torch.nn.Conv2d(3, 4, 1)

        def forward(self, x):
            y = self.conv(x)
            return {"a": y, "b": y}

    class Passes(Twice):
        def forward(self, x):
            return self.conv(x), x

    with pytest.raises(ConvcalcError, match=r"the same tensor \('conv'\) as outputs a and b"):
        torch_fx.trace(Twice(), (3, 8, 8), "twice", "twice", False)
    with pytest.raises(ConvcalcError, match="returns its input as output 1"):
        torch_fx.trace(Passes(), (3, 8, 8), "passes", "passes", False)
