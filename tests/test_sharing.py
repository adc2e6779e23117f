"""Weight sharing (`shares:`, convcalc/sharing.py): a tensor used by several layers is counted
once, as PyTorch's `parameters()` yields it once; MACs, FLOPs and activations stay per call.

The truth is PyTorch: fvcore's own `test_param_with_reuse` model (conv2.weight = conv1.weight),
a module called in a loop and a siamese tower (torchinfo's `recursive` and `siamese`), imported
from PyTorch and ONNX, and specs with `shares:` built by torch_bridge (one Parameter object per
shared tensor), whose deduplicated parameters() must equal convcalc's count."""

from __future__ import annotations

import json

import pytest

import convcalc

SHARED = """
input: [3, 16, 16]
layers:
  - conv: {out: 3, k: 3, p: 1, name: a}
  - bn: {name: n1}
  - conv: {out: 3, k: 3, p: 1, name: b, shares: a}
  - bn: {name: n2, shares: n1}
  - conv: {out: 3, k: 3, p: 1, name: c, shares: {weight: a}}
  - add: {from: [a, c]}
"""
CONV = 3 * 3 * 3 * 3  # a's weight: out * in * k * k
BN = 2 * 3  # weight and bias
BN_BUFFERS = 2 * 3 + 1  # running mean and var, and the counter


def test_a_shared_tensor_is_counted_once_and_every_call_costs():
    report = convcalc.analyze(convcalc.loads(SHARED))
    rows = {layer.name: layer for layer in report.layers}
    assert (rows["a"].params, rows["b"].params, rows["c"].params) == (CONV + 3, 0, 3)
    assert (rows["b"].shared_params, rows["c"].shared_params) == (CONV + 3, CONV)
    assert (rows["n2"].params, rows["n2"].buffers, rows["n2"].weight_bytes) == (0, 0, 0)
    assert rows["n2"].shared_buffers == BN_BUFFERS
    assert report.total.params == (CONV + 3) + BN + 3
    assert report.total.buffers == BN_BUFFERS
    assert rows["b"].macs == rows["a"].macs == rows["c"].macs == 16 * 16 * CONV  # per call: every output position runs the whole weight
    assert rows["c"].weight_bytes == 3 * 4
    assert sum(layer.params for layer in report.layers) == report.total.params  # rows add up to the total


def test_the_json_and_the_notes_name_the_tensors_and_their_owner():
    report = convcalc.analyze(convcalc.loads(SHARED))
    layers = {layer["name"]: layer for layer in json.loads(json.dumps(report.to_dict()))["layers"]}
    assert layers["b"]["shares"] == {"weight": "a", "bias": "a"}
    assert layers["c"]["shares"] == {"weight": "a"} and layers["c"]["shared_params"] == CONV
    assert layers["n2"]["shared_buffers"] == BN_BUFFERS
    assert "shares" not in layers["a"]
    from convcalc.reporters.common import sharing_notes

    assert sharing_notes(report) == {"a": "shared by b, c", "b": "weight, bias of a", "c": "weight of a",
                                     "n1": "shared by n2", "n2": "weight, bias and buffers of n1"}


def test_a_chain_of_shares_resolves_to_the_first_owner_and_the_text_form_takes_it():
    report = convcalc.analyze(convcalc.from_text("3x8x8 | conv 3 k3 p1 name=a | conv 3 k3 p1 name=b shares=a "
                                                 "| conv 3 k3 p1 shares=b"))
    assert report.layers[2].shares == (("weight", "a"), ("bias", "a"))
    assert report.total.params == CONV + 3


def test_repeat_with_shares_is_a_block_applied_in_a_loop():
    spec = convcalc.loads("""
input: [4, 8, 8]
layers:
  - conv: {out: 4, k: 3, p: 1, name: step}
  - conv: {out: 4, k: 3, p: 1, name: again, repeat: 3, shares: step}
""")
    report = convcalc.analyze(spec)
    assert [layer.name for layer in report.layers] == ["step", "again.0", "again.1", "again.2"]
    assert report.total.params == 4 * 4 * 3 * 3 + 4
    assert report.total.macs == 4 * (8 * 8 * 4 * 4 * 3 * 3)


def test_torch_builds_one_parameter_per_shared_tensor_and_verify_agrees(torch):
    pytest.importorskip("fvcore")
    from convcalc.torch_bridge import build
    from convcalc.verify import verify

    spec = convcalc.loads(SHARED)
    model = build(spec)
    assert model.b.weight is model.a.weight and model.b.bias is model.a.bias
    assert model.c.weight is model.a.weight and model.c.bias is not model.a.bias
    assert model.n2.running_mean is model.n1.running_mean
    assert sum(p.numel() for p in model.parameters()) == convcalc.analyze(spec).total.params
    result = verify(spec, batch=2)
    assert result.ok, [(layer.name, [c for c in layer.checks if not c.ok]) for layer in result.layers if not layer.ok]


def test_fvcores_param_reuse_model_imports_with_pytorchs_count(torch):
    """fvcore's test_param_with_reuse: 180,200 before (each module's parameters() summed), 90,200
    as PyTorch and fvcore count it."""
    from convcalc.importers import read

    from tests import import_models

    model = import_models.build_param_reuse()
    report = convcalc.analyze(read("tests.import_models:build_param_reuse", (100, 8, 8)).spec())
    assert report.total.params == sum(p.numel() for p in model.parameters()) == 100 * 100 * 3 * 3 + 100 + 100
    assert report.layer("conv2").shares == (("weight", "conv1"),)


def test_a_module_called_in_a_loop_imports_as_shares_and_writes_back(torch):
    from convcalc.importers import read
    from convcalc.importers.writer import render

    from tests import import_models

    imported = read("tests.import_models:build_refine", (3, 16, 16))
    text = render(imported)
    assert "shares: step.0" in text and "shares: {weight: fc}" in text
    written = convcalc.loads(text, "written.yaml")
    report = convcalc.analyze(written)
    assert report.total.params == sum(p.numel() for p in import_models.build_refine().parameters())
    assert report.layer("step.1_2").shared_buffers == 2 * 8 + 1


@pytest.mark.parametrize("exporter", ["torchscript", "dynamo"])
def test_a_tied_initializer_in_onnx_is_counted_once(exporter, tmp_path, torch):
    pytest.importorskip("onnx")
    from tests.test_import_onnx import export

    from convcalc.importers import read

    report = convcalc.analyze(read(export("build_param_reuse", exporter, str(tmp_path))).spec())
    assert report.total.params == 100 * 100 * 3 * 3 + 100 + 100
    assert report.layer("conv2").shares == (("weight", "conv1"),)


LOOP = """
input: [4, 8, 8]
layers:
  - conv: {out: 4, k: 3, p: 1, name: step}
  - relu
  - conv: {out: 4, k: 3, p: 1, name: again, repeat: 3, shares: step}
"""

# a head tied to the stem's weight (its own bias), and a linear block applied in a loop: a linear's
# gradients are views (the weight's of mm's result, transposed), into which the engine adds a second
# use's gradient out of place (a new tensor beside both); a third is added in place
TIED = """
input: [3, 4, 4]
layers:
  - flatten
  - linear: {out: 48, name: stem}
  - relu
  - linear: {out: 48, name: head, shares: {weight: stem}}
"""
LINEAR_LOOP = """
input: [16]
layers:
  - linear: {out: 16, name: step}
  - relu
  - linear: {out: 16, name: again, repeat: 3, shares: step}
"""


def test_training_keeps_one_gradient_and_one_optimizer_state_per_shared_tensor():
    from convcalc.training import Setup, train

    report = train(convcalc.loads(LOOP), Setup(optimizer="adam"), 2)
    weights = 4 * 4 * 3 * 3 + 4  # step's weight and bias, used four times
    assert report.total.weight_bytes == weights * 4
    assert report.total.grad_bytes == weights * 4
    assert report.total.optimizer_bytes == 2 * weights * 4  # Adam: exp_avg and exp_avg_sq, once
    assert sum(layer.grad_bytes for layer in report.layers) == report.total.grad_bytes


@pytest.mark.parametrize("text", [SHARED, LOOP, TIED, LINEAR_LOOP], ids=["shared", "loop", "tied", "linear-loop"])
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
@pytest.mark.parametrize("batch", [1, 3])
def test_the_training_peak_of_a_shared_weight_spec_agrees_with_memtracker(text, optimizer, batch, torch):
    """tests/test_training.py's procedure: MemTracker over the second iteration of a model whose
    shared layers hold one Parameter object (torch_bridge), on fake CPU tensors."""
    from tests.test_training import _peak_agrees

    _peak_agrees(convcalc.loads(text), batch, optimizer)


def test_a_tied_linear_weights_second_gradient_is_added_out_of_place():
    """After the stem's backward (the weight's second use) the weight's first gradient, the second
    and their sum (the new .grad) are alive at once; by the optimizer's step only the sum is left
    (and the loss's gradient, held by the engine to the end of the backward, has gone)."""
    from convcalc.training import Setup, timeline

    events = timeline(convcalc.loads(TIED), Setup("float32", None, "sgd", None, "cpu")).events
    summed = [e for e in events if (e.phase, e.layer) == ("backward", "stem")][-1]
    step = next(e for e in events if e.phase == "optimizer")
    assert summed.fixed - step.fixed == 2 * (48 * 48 * 4) + 4


def test_the_training_peak_of_a_linear_loop_under_autocast_agrees_with_memtracker(torch):
    """Every use reads autocast's one cached copy: their low-precision gradients are summed (the
    second out of place: a linear's first is a view) and cast back once."""
    from tests.test_training import _peak_agrees

    for batch in (1, 3):
        _peak_agrees(convcalc.loads(LINEAR_LOOP), batch, "sgd", "float32", "bfloat16")


@pytest.mark.xfail(strict=True, reason=(
    "under CPU autocast the tied head is over MemTracker by 384 * N - 192 B at the head's backward (N the "
    "batch: 192 at 1, 960 at 3), beyond the output gradient's band; the forward also copies the tied weight "
    "again at the head (48 * 48 * 2 B, autocast's cache holds one): not yet modelled"))
@pytest.mark.parametrize("batch", [1, 3])
def test_the_training_peak_of_a_tied_head_under_autocast_agrees_with_memtracker(batch, torch):
    from tests.test_training import _peak_agrees

    _peak_agrees(convcalc.loads(TIED), batch, "sgd", "float32", "bfloat16")
