"""Training memory (convcalc.training) against PyTorch.

- Every record's training rules against its examples, built in PyTorch: the bytes autograd keeps
  per layer (saved_tensors_hooks, each storage once, parameters excluded) must agree exactly, in
  float32, bfloat16 and under CPU autocast; the parameter tensors (Adam's for-loop allocates per
  tensor) must be PyTorch's.
- The timeline's peak against MemTracker over the second training iteration on fake tensors
  (convcalc.train_truth), exactly: convcalc counts one tensor more where the output's gradient is
  alive (a real loss's gradient; a sum's is a broadcast view), so the difference is from 0 to the
  output's bytes.
- The library: every spec at batch 1 and 8 (slow tier).
"""

from __future__ import annotations

import re
from math import prod

import pytest

import convcalc
import convcalc.sources
from .test_outputs import TWO_HEADS
from convcalc.layers import REGISTRY
from convcalc.training import ITEMSIZE, Setup, evaluate, fit, setup_for, timeline, train

# Every kind's examples, except kinds whose costs are unknown by declaration (an opaque import):
# their training rules refuse, located (tests/test_training_cli.py).
CASES = [(kind, text) for kind, record in REGISTRY.items() if not record.uncounted for text in record.examples]
IDS = [f"{kind}:{text}" for kind, text in CASES]
MODES = [("float32", None), ("bfloat16", None), ("float32", "bfloat16")]  # (dtype, autocast's)
MODE_IDS = ["float32", "bfloat16", "amp"]
LIBRARY = sorted(path.stem for path in __import__("pathlib").Path(convcalc.__file__).parent.joinpath("specs").glob("*.yaml"))

# What convcalc cannot check against its own PyTorch builder, and why (docs/memory.md).
STAND_INS = {
    "deform_conv": "the builder is a functional stand-in for torchvision's kernel (not installed here): it keeps "
                   "every intermediate of its sampling, the kernel keeps input, offsets and mask",
}


def _approximate_peak(kind: str, text: str, amp: str | None) -> str | None:
    """Why convcalc's peak for this example is not exact, where it is not (docs/memory.md)."""
    if kind == "pad" and "circular" in text:
        return ("circular padding's backward is a chain of slice copies whose gradients' sizes depend on how far "
                "the padding wraps: approximated by the output's gradient and two of the input's")
    if kind == "linear" and amp and text.startswith("5x10 "):
        # an open gap, not a design: its saved bytes agree with saved_tensors_hooks, its peak does not exactly
        return ("under CPU autocast a linear layer on an N-D input peaks above MemTracker by a little more than "
                "the output's gradient (2 bytes more at 5x10 -> 7, 64 at 5x16 -> 8): not yet modelled")
    if kind == "lppool" and amp and text.startswith("2x4x6x6"):
        return "under CPU autocast a 3-D lppool's power runs in the input's dtype and its pool in float32: not modelled"
    return None


def _open_peak_gap(kind: str, text: str, dtype: str, amp: str | None) -> str | None:
    """Where the timeline's peak for an example is known not to be MemTracker's yet, and why
    (marked strict: a fix shows as an unexpected pass)."""
    low = dtype != "float32" or amp is not None
    if kind == "mha" and amp and "add_bias_kv" not in text:
        return ("mha under CPU autocast: the forward's busiest moment is modelled as bfloat16's (the upcast copies "
                "beside the cast back), which over-counts autocast's input copy by up to N·E")
    if kind == "mha" and "add_bias_kv" in text and low:
        return ("mha add_bias_kv on the CPU's upcast: k and v are float32 copies of the concatenation with the "
                "learned key and value, whose slices' gradients the staged backward does not model")
    if kind == "sdpa" and low:
        return ("sdpa on the CPU's upcast: q, k and v's float32 copies and their gradients' casts back are not "
                "in its staged backward")
    if kind == "sdpa" and "causal=true" in text:
        return ("sdpa causal: over by the [L, S] mask (L·S float32) beside the forward's output, not yet modelled "
                "as let go before the backward")
    return None


def _refused(exc: Exception) -> bool:
    """PyTorch's CPU has no kernel for this dtype (FFTs in bfloat16, 3-D average pooling)."""
    return "Unsupported dtype" in str(exc) or "not implemented for" in str(exc)


def _saved_per_layer(spec, dtype, amp, batch, input_grad=True):
    t = timeline(spec, setup_for(spec, dtype=dtype, amp=amp, device="cpu"), input_grad=input_grad)
    return {f.name: f.saved[0] + f.saved[1] * batch for f in t.layers}


def test_every_kind_states_its_training_facts():
    for kind, record in REGISTRY.items():
        assert record.saves and len(record.backward_costs) == 2, kind


@pytest.mark.parametrize("dtype, amp", MODES, ids=MODE_IDS)
@pytest.mark.parametrize("kind, text", CASES, ids=IDS)
def test_saved_bytes_agree_with_pytorch(kind, text, dtype, amp, torch):
    """The input needs a gradient here, so that every layer's backward runs and keeps what it keeps."""
    if kind in STAND_INS:
        pytest.skip(STAND_INS[kind])
    from convcalc import train_truth

    spec = convcalc.from_text(text)
    try:
        truth = train_truth.saved(spec, 2, dtype, amp, input_grad=True)
    except (RuntimeError, NotImplementedError) as exc:
        if _refused(exc):
            pytest.skip(f"PyTorch's CPU refuses it in {amp or dtype}")
        raise
    assert _saved_per_layer(spec, dtype, amp, 2) == truth


@pytest.mark.parametrize("kind, text", CASES, ids=IDS)
def test_parameter_tensors_are_pytorchs(kind, text, torch):
    from convcalc.torch_bridge import build, module_path

    spec = convcalc.from_text(text)
    model = build(spec)
    report = convcalc.analyze(spec)
    shapes = {"input": spec.input, **{layer.name: layer.output[1:] for layer in report.layers}}
    for node, layer in zip(spec.nodes, report.layers):
        record = REGISTRY[node.kind]
        x = tuple(shapes[n] for n in node.inputs) if record.merge else shapes[node.inputs[0]]
        expected = tuple(p.numel() for p in model.get_submodule(module_path(node.name)).parameters())
        assert record.tensors(node.args, x, shapes[node.name]) == expected, node.name


def _with_parameters(text: str) -> str:
    """The example with a 1x1 convolution (a linear layer on a flat input) in front, which keeps
    its shape, named `front`: a layer reading `input` (`from=q,input,input`) reads it instead, so
    that a gradient reaches every layer."""
    head, rest = text.split("|", 1)
    dims = [int(v) for v in head.strip().split("x")]
    first = f"pwconv {dims[0]}" if len(dims) > 1 else f"linear {dims[0]}"
    rest = re.sub(r"(?<=[=,])input(?=[,\s]|$)", "front", rest)
    return f"{head}| {first} name=front |{rest}"


def _peak_agrees(spec, batch, optimizer, dtype="float32", amp=None, impl=None):
    from convcalc import train_truth

    truth = train_truth.peak(spec, batch, optimizer, dtype, amp=amp, impl=impl)
    t = timeline(spec, Setup(dtype, amp, optimizer, impl, "cpu"))
    ours = t.peak(batch)[0]
    rows = {layer.name: layer for layer in evaluate(t, batch).layers}
    # each output's gradient (the loss is taken of `outputs:`, else of the last layer)
    output_gradient = sum(prod(rows[name].output) * ITEMSIZE[rows[name].dtype] for name in spec.output_layers)
    assert 0 <= ours - truth <= output_gradient, (ours, truth)
    return ours, truth


@pytest.mark.slow
@pytest.mark.parametrize("dtype, amp", MODES, ids=MODE_IDS)
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
@pytest.mark.parametrize("kind, text", CASES, ids=IDS)
def test_peak_of_every_example_agrees_with_memtracker(kind, text, optimizer, dtype, amp, torch, request):
    if kind in STAND_INS or _approximate_peak(kind, text, amp):
        pytest.skip(STAND_INS.get(kind) or _approximate_peak(kind, text, amp))
    if _open_peak_gap(kind, text, dtype, amp):
        request.applymarker(pytest.mark.xfail(strict=True, reason=_open_peak_gap(kind, text, dtype, amp)))
    spec = convcalc.from_text(text)
    if not any(layer.params for layer in convcalc.analyze(spec).layers):
        spec = convcalc.from_text(_with_parameters(text))  # something to train, so that its backward runs
    try:
        _peak_agrees(spec, 2, optimizer, dtype, amp)
    except (RuntimeError, NotImplementedError) as exc:
        if _refused(exc):
            pytest.skip(f"PyTorch's CPU refuses it in {amp or dtype}")
        raise


@pytest.mark.parametrize("text", ["3x16x16 | conv 8 k3 p1 | bn | relu | maxpool 2 | conv 8 k3 p1 name=a | relu | "
                                  "add from=a,relu2 | gap | flatten | dropout | linear 10",
                                  "4x12x12 | conv 4 k3 name=e | relu name=r | maxpool 2 | conv 8 k3 | relu | "
                                  "deconv 4 k2 s2 name=u | concat from=r,u crop=true | conv 2 k1"])
@pytest.mark.parametrize("optimizer, impl", [("sgd", None), ("momentum", None), ("adam", None), ("adamw", "foreach")])
def test_peak_agrees_with_memtracker(text, optimizer, impl, torch):
    _peak_agrees(convcalc.from_text(text), 3, optimizer, impl=impl)


# Layers whose output reaches no loss: their parameters' .grad stays None, so no optimizer makes state
# for them (PyTorch's Adam and SGD skip a parameter without a gradient).
DEAD_LAYER = "3x8x8 | conv 4 k3 p1 name=a | conv 4 k3 p1 name=dead | relu from=a | gap | flatten | linear 10"
DEAD_HEAD = TWO_HEADS + "outputs: [cls]\n"  # the segmentation head reaches no loss


@pytest.mark.parametrize("batch", [1, 3])
@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam", "adamw"])
@pytest.mark.parametrize("spec", [DEAD_LAYER, DEAD_HEAD], ids=["dead-layer", "dead-head"])
def test_a_layer_reaching_no_loss_gets_no_optimizer_state(spec, optimizer, batch, torch):
    _peak_agrees(convcalc.from_text(spec) if "|" in spec else convcalc.loads(spec), batch, optimizer)


def test_optimizer_state_counts_only_the_parameters_with_a_gradient():
    spec = convcalc.from_text(DEAD_LAYER)
    live = (3 * 4 * 9 + 4) + (4 * 10 + 10)  # conv a and the linear layer; the dead conv's 4 * 4 * 9 + 4 are not
    expected = {"sgd": 0, "momentum": live * 4, "adam": 2 * live * 4 + 4 * 4, "adamw": 2 * live * 4 + 4 * 4}
    for optimizer, state in expected.items():  # Adam: exp_avg and exp_avg_sq, and a float32 step per tensor
        t = timeline(spec, setup_for(spec, optimizer=optimizer, device="cpu"))
        report = evaluate(t, 2)
        assert (t.optimizer_bytes, report.total.optimizer_bytes) == (state, state)
        assert report.total.grad_bytes == live * 4
        assert report.total.weight_bytes == (live + 4 * 4 * 9 + 4) * 4
        dead = next(layer for layer in report.layers if layer.name == "dead")
        assert (dead.grad_bytes, dead.optimizer_bytes) == (0, 0)
        assert sum(layer.optimizer_bytes for layer in report.layers) == state - (4 * 4 if "adam" in optimizer else 0)


def _dense_block(layers: int) -> str:
    """A DenseNet block as torchvision writes it (and `convcalc import` reads it): each layer
    concatenates the input and every earlier layer's output, so each value gets one gradient slice
    from every later concat."""
    lines, previous = ["name: dense", "input: [4, 8, 8]", "layers:"], ["input"]
    for i in range(layers):
        source = f"concat: {{name: cat{i}, from: [{', '.join(previous)}]}}" if i else "identity: {name: cat0}"
        lines += [f"  - {source}", f"  - bn: {{name: bn{i}}}", f"  - relu: {{name: relu{i}}}",
                  f"  - conv: {{name: conv{i}, out: 4, k: 3, p: 1}}"]
        previous.append(f"conv{i}")
    lines += [f"  - concat: {{name: out, from: [{', '.join(previous)}]}}", "  - gap: {name: gap}"]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("batch", [1, 8])
@pytest.mark.parametrize("layers", [3, 6, 8])
def test_a_dense_block_with_many_concat_inputs_agrees_with_memtracker(layers, batch, torch):
    """The sum of a value's gradient slices is a tensor of the value's size, not of the concat's
    whole gradient (torchvision's DenseNet-121 imported was 8.5% over at batch 8 before)."""
    _peak_agrees(convcalc.loads(_dense_block(layers)), batch, "sgd")


@pytest.mark.slow
@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
@pytest.mark.parametrize("batch", [1, 8])
@pytest.mark.parametrize("name", LIBRARY)
def test_saved_bytes_of_the_library_agree_with_pytorch(name, batch, dtype, torch):
    from convcalc import train_truth

    spec = convcalc.sources.load_argument(name)
    try:
        truth = train_truth.saved(spec, batch, dtype)
    except (RuntimeError, NotImplementedError) as exc:
        if _refused(exc):
            pytest.skip(f"PyTorch's CPU refuses {name} in {dtype}")
        raise
    assert _saved_per_layer(spec, dtype, None, batch, input_grad=False) == truth


# Where the timeline's peak is known not to be MemTracker's yet (issue 23), and why: marked, strict,
# so that the fix shows as an unexpected pass.
_VIT_PEAK = (
    "under at batch 1 with Adam: the class token's expand is a no-op, so its .grad is a view of cat's "
    "whole gradient, kept to the step (not affine in the batch)")
PEAK_GAPS = {("vit_b_16", 1, "adam"): _VIT_PEAK, ("vit_b_32", 1, "adam"): _VIT_PEAK}


@pytest.mark.slow
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
@pytest.mark.parametrize("batch", [1, 8])
@pytest.mark.parametrize("name", LIBRARY)
def test_peak_of_the_library_agrees_with_memtracker(name, batch, optimizer, torch, request):
    if (name, batch, optimizer) in PEAK_GAPS:
        request.applymarker(pytest.mark.xfail(strict=True, reason=PEAK_GAPS[name, batch, optimizer]))
    _peak_agrees(convcalc.sources.load_argument(name), batch, optimizer)


# --------------------------------------------------------------------------------------------
# The timeline's arithmetic, without torch


def test_a_conv_bn_relu_keeps_what_autograd_keeps():
    """conv keeps the input (not the network's: it needs no gradient, but the weight's gradient
    reads it), bn its input (the conv's output) and 4 statistics, relu its output; bn's output
    dies when relu has run."""
    spec = convcalc.from_text("3x8x8 | conv 4 k3 p1 | bn | relu")
    t = timeline(spec, setup_for(spec, device="cpu"))
    saved = {f.name: f.saved for f in t.layers}
    assert saved["conv1"] == (0, 3 * 8 * 8 * 4)
    assert saved["bn1"] == (4 * 4 * 4, 4 * 8 * 8 * 4)  # running mean and var, batch mean and 1/std: 4 x C
    assert saved["relu1"] == (0, 4 * 8 * 8 * 4)


def test_dropout_keeps_a_bool_mask_on_cuda_and_a_noise_tensor_on_the_cpu():
    spec = convcalc.from_text("3x8x8 | conv 4 k1 | dropout")
    cuda = timeline(spec, setup_for(spec, device="cuda")).layers[1].saved
    cpu = timeline(spec, setup_for(spec, device="cpu")).layers[1].saved
    assert (cuda, cpu) == ((0, 4 * 8 * 8 * 1), (0, 4 * 8 * 8 * 4))


def test_amp_keeps_low_precision_copies_of_the_input_and_weights():
    """Under autocast the first conv keeps a bfloat16 copy of the float32 input and of its weight."""
    spec = convcalc.from_text("3x8x8 | conv 4 k3 p1 bias=false")
    t = timeline(spec, setup_for(spec, amp="bfloat16"))
    assert t.layers[0].saved == (4 * 3 * 3 * 3 * 2, 3 * 8 * 8 * 2)
    assert t.layers[0].dtype == "bfloat16"
    assert t.weight_bytes == 4 * 3 * 3 * 3 * 4  # the master weights stay float32


def test_the_peak_is_not_a_line_through_two_batches():
    """The peak is the largest of affine functions of the batch: convex, and not the line through
    batch 1 and 8 (ResNet-18 with Adam peaks in the optimizer step at batch 1, in the backward at 8)."""
    spec = convcalc.sources.load_argument("resnet18")
    t = timeline(spec, setup_for(spec, optimizer="adam", device="cpu"))
    p1, e1 = t.peak(1)
    p8, e8 = t.peak(8)
    p4, _ = t.peak(4)
    assert (e1.phase, e8.phase) == ("optimizer", "backward")
    assert p4 < p1 + (p8 - p1) * 3 // 7  # below the chord: the line would overstate batch 4


def test_adams_for_loop_step_holds_two_copies_of_the_largest_tensor():
    """VGG-16's classifier weight (25088 x 4096) dominates: the for-loop step holds its square root
    and its quotient at once, beside the previous tensor's quotient (the last conv's bias, 512);
    foreach holds a square root of every parameter at once. Both peak in the step."""
    spec = convcalc.sources.load_argument("vgg16")
    loop, foreach = (timeline(spec, setup_for(spec, optimizer="adam", impl=impl)).peak(1)
                     for impl in ("for-loop", "foreach"))
    assert loop[1].phase == foreach[1].phase == "optimizer"
    assert loop[0] - foreach[0] == (2 * 25088 * 4096 + 512) * 4 - 138_357_544 * 4


def test_fit_is_the_largest_batch_under_the_budget():
    spec = convcalc.sources.load_argument("resnet18")
    t = timeline(spec, setup_for(spec, optimizer="adam"))
    budget = 2 * 2**30
    found = fit(t, budget)
    assert t.peak(found.max_batch)[0] <= budget < t.peak(found.max_batch + 1)[0]
    assert found.peak_bytes == t.peak(found.max_batch)[0]
    assert fit(t, t.peak(1)[0] - 1).max_batch == 0  # not even one sample


def test_backward_flops_respect_groups_and_skip_the_first_input_gradient():
    """conv1 on the input: only its weight gradient (2 per MAC) and bias (1 per output); the
    grouped conv2: input and weight gradients, each 2 per MAC with C/g input channels."""
    spec = convcalc.from_text("8x10x10 | conv 16 k3 p1 | conv 32 k3 p1 g4 bias=false")
    report = train(spec, setup_for(spec), batch=2)
    conv1, conv2 = report.layers
    macs1 = 16 * 10 * 10 * (8 * 3 * 3)
    macs2 = 32 * 10 * 10 * (16 // 4 * 3 * 3)
    assert conv1.backward_flops == 2 * (2 * macs1 + 16 * 10 * 10)
    assert conv2.backward_flops == 2 * (2 * macs2 + 2 * macs2)


def test_training_forward_flops_count_batch_statistics():
    spec = convcalc.from_text("4x5x5 | bn | dropout")
    layers = train(spec, setup_for(spec), batch=1).layers
    assert [layer.forward_flops for layer in layers] == [4 * 5 * 5 * (5 + 2), 4 * 5 * 5]


def test_an_int8_spec_needs_a_training_dtype():
    spec = convcalc.loads("input: [3, 8, 8]\ndtype: int8\nlayers: [{conv: {out: 4, k: 3}}]")
    with pytest.raises(convcalc.ConvcalcError, match="training in int8 is not modelled"):
        setup_for(spec)
    with pytest.raises(convcalc.ConvcalcError, match="--amp keeps float32 master weights"):
        setup_for(spec, dtype="bfloat16", amp="bfloat16")


@pytest.mark.gpu
@pytest.mark.parametrize("name", ["resnet50", "mobilenet_v2"])
@pytest.mark.parametrize("amp", [None, "bfloat16"])
def test_peak_agrees_with_cuda(name, amp, torch):
    """On a GPU: the peak against torch.cuda.max_memory_allocated over the second iteration at
    batch 64 (SGD with momentum). CUDA's caching allocator rounds every block up to 512 bytes and
    cuDNN takes workspaces, which convcalc does not model: within 5%."""
    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA device")
    from convcalc.torch_bridge import SpecModel, example_input

    spec = convcalc.sources.load_argument(name)
    model = SpecModel(spec).train().cuda()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    x = example_input(spec, 64, device="cuda")

    def iteration():
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=amp is not None):
            loss = model(x).sum()
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)

    iteration()
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    iteration()
    torch.cuda.synchronize()
    truth = torch.cuda.max_memory_allocated()
    ours = train(spec, setup_for(spec, amp=amp, optimizer="momentum", device="cuda"), batch=64).total.peak_bytes
    assert abs(ours - truth) <= 0.05 * truth, (ours, truth)


def test_verify_train_shows_flop_counters_grouped_conv_error_without_failing(torch):
    """FlopCounterMode counts a grouped conv's backward as if ungrouped: at 8 groups, with the input
    gradient, 9 times the forward's 2 per multiply-add instead of 2 times."""
    from click.testing import CliRunner

    from convcalc.cli import cli

    text = "16x32x32 | conv 16 k3 p1 | bn | relu | conv 64 k3 p1 g8 | gap | flatten | linear 10"
    result = CliRunner().invoke(cli, ["verify", "--train", "-e", text, "--batch", "2", "--format", "json"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    import json

    doc = json.loads(result.stdout)
    assert doc["train"] and doc["ok"]
    conv2 = next(layer for layer in doc["layers"] if layer["name"] == "conv2")
    forward = 2 * (2 * 64 * 32 * 32 * (16 // 8 * 3 * 3))  # batch 2, 2 per multiply-add
    flops = next(c for c in conv2["checks"] if c["metric"] == "flop_counter_backward")
    assert (flops["convcalc"], flops["actual"]) == (2 * forward, (8 + 1) * forward)
    assert flops["known"] and flops["ok"]
    assert doc["peak"]["convcalc"] == doc["peak"]["actual"]


@pytest.mark.slow
@pytest.mark.parametrize("name", ["resnext50_32x4d", "mobilenet_v2", "unet", "shufflenet_v2_x1_0"])
def test_verify_train_agrees_on_library_specs(name, torch):
    from convcalc.verify_train import verify_train

    result = verify_train(convcalc.sources.load_argument(name), 1)
    assert result.ok, [layer.name for layer in result.layers if not layer.ok]
