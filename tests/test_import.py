"""`convcalc import` from PyTorch: every imported model agrees with the module it came from.

The models (tests/import_models.py) are written as people write them, with functional ops. For
each, the imported spec's totals are held against the module itself (parameters and buffers
counted by PyTorch, MACs from FlopCounterMode / 2, the output shape), every conv/deconv/linear
layer's output shape and parameters against a forward hook on the module of the same name, and the
written spec is verified layer by layer the way `convcalc verify` does."""

from __future__ import annotations

import pytest

from tests import import_models

SHAPES = {**import_models.INPUTS, **import_models.TORCH_ONLY}
BUILDERS = list(SHAPES)


def source(builder: str) -> str:
    return f"tests.import_models:{builder}"


def model_counts(model, shape):
    """(params, buffers, MACs as FlopCounterMode / 2, per-sample output shape) of the module."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        y = model(torch.randn(1, *shape))
    flops = counter.get_total_flops()
    assert flops % 2 == 0
    return (sum(p.numel() for p in model.parameters()), sum(b.numel() for b in model.buffers()), flops // 2,
            tuple(y.shape[1:]))


@pytest.mark.parametrize("builder", BUILDERS)
def test_the_import_agrees_with_the_module(builder, torch):
    import convcalc
    from convcalc.importers import read

    shape = SHAPES[builder]
    model = getattr(import_models, builder)().eval()
    imported = read(source(builder), shape)
    report = convcalc.analyze(imported.spec())
    params, buffers, macs, out = model_counts(model, shape)
    # modules the forward never runs are named in a note and not counted (VideoNet's training head)
    not_run = {path: sum(p.numel() for p in model.get_submodule(path).parameters())
               for path, m in model.named_modules() if path == "aux"}
    assert [(path, p) for path, p, _ in imported.not_run] == list(not_run.items())
    assert (report.total.params, report.total.buffers, report.total.macs, report.output[1:]) == \
        (params - sum(not_run.values()), buffers, macs, out)

    seen = {}
    def hook(name):
        def record(module, inputs, output):
            output = output[0] if isinstance(output, tuple) else output  # a max pool's (values, indices)
            seen.setdefault(name, tuple(output.shape))  # the first call (a module may be called twice)

        return record

    hooks = [module.register_forward_hook(hook(name)) for name, module in model.named_modules()]
    with torch.no_grad():
        model(torch.randn(1, *shape))
    for hook in hooks:
        hook.remove()
    weighted = [layer for layer in report.layers if layer.kind in ("conv", "deconv", "linear")]
    assert weighted
    for layer in weighted:
        if layer.shares and layer.name not in seen:  # a module's second call (name_1): its first call's params
            owner = model.get_submodule(layer.shares[0][1])
            assert (layer.params, layer.shared_params) == (0, sum(p.numel() for p in owner.parameters())), layer.name
            continue
        module = model.get_submodule(layer.name)
        if isinstance(module, torch.nn.Linear) and layer.kind == "conv":  # on a channels-last view: a 1x1 conv
            assert layer.output[1:] == (seen[layer.name][-1], *seen[layer.name][1:-1]), layer.name
            continue
        assert layer.output == seen[layer.name], layer.name
        # a tensor tied to an earlier layer's (conv2.weight = conv1.weight) is counted there
        assert layer.params + layer.shared_params == sum(p.numel() for p in module.parameters()), layer.name


@pytest.mark.parametrize("builder", BUILDERS)
def test_the_written_spec_verifies_and_reads_back_as_the_import(builder, torch):
    pytest.importorskip("fvcore")
    import convcalc
    from convcalc.importers import read
    from convcalc.importers.writer import render
    from convcalc.verify import verify

    imported = read(source(builder), SHAPES[builder])
    text = render(imported)
    written = convcalc.loads(text, "written.yaml")
    assert [tuple(n) [:4] for n in written.nodes] == [tuple(n)[:4] for n in imported.spec().nodes]
    result = verify(written, batch=2)
    assert result.ok, [(layer.name, [c for c in layer.checks if not c.ok]) for layer in result.layers if not layer.ok]


def test_a_resnet_folds_into_block_templates_with_repeat(torch):
    """The small ResNet's 3 stages x 3 basic blocks fold into two templates (with and without a
    projection shortcut), the repeated blocks into `repeat:` with `start:`, so the names stay the
    module paths (layer2.1.conv1)."""
    import convcalc
    from convcalc.importers import read
    from convcalc.importers.writer import render

    imported = read(source("build_resnet"), (3, 32, 32))
    text = render(imported)
    assert "  - block: {name: layer1, use: basicblock, repeat: 3, conv1_out: 16}" in text
    assert "  - block: {name: layer2.0, use: basicblock_2, conv1_out: 32}" in text
    assert "  - block: {name: layer2, use: basicblock, repeat: 2, start: 1, conv1_out: 32}" in text
    names = [node.name for node in convcalc.loads(text).nodes]
    assert "layer2.1.conv1" in names and "layer3.0.downsample.0" in names
    flat = render(imported, folded=False)
    assert len(flat.splitlines()) == len(imported.layers) + 6  # 2 comment lines, name, input, blank, layers:
    assert len(text.splitlines()) < len(flat.splitlines()) - 25


def test_a_bottleneck_template_relates_its_widths_instead_of_repeating_them(torch):
    """In every bottleneck conv3 (and the projection) has 4 times conv1's channels: one argument
    and `${conv1_out * 4}`, not three arguments; the text reads back as the import (render checks)
    and the stage uses give conv1_out only."""
    import convcalc
    from convcalc.importers import read
    from convcalc.importers.writer import render

    imported = read("benchmarks.resnet50_model:resnet50", (3, 64, 64))
    text = render(imported)
    assert text.count('    args: {conv1_out: null}') == 2  # bottleneck, and bottleneck_2 (stride 2, projection)
    assert '      - conv: {name: conv3, out: "${conv1_out * 4}", k: 1, bias: false}' in text
    assert '      - conv: {name: downsample.0, from: input, out: "${conv1_out * 4}", k: 1, s: 2, bias: false}' in text
    assert "  - block: {name: layer3, use: bottleneck, repeat: 5, start: 1, conv1_out: 256}" in text
    written = convcalc.analyze(convcalc.loads(text))
    assert written.layer("layer3.5.conv3").output[1] == 4 * 256


def test_functional_ops_map_to_kinds(torch):
    """Functional ops are layers, each the kind that computes the same thing."""
    import convcalc
    from convcalc.importers.torch_fx import trace
    from torch import nn
    import torch.nn.functional as F

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(8, 8, 4, padding="same", padding_mode="reflect")
            self.gamma = nn.Parameter(torch.ones(8, 1, 1))

        def forward(self, x):
            a, b = x.chunk(2, dim=1)
            b = F.relu6(b)
            x = torch.cat((a, b), 1)
            n, c, h, w = x.size()
            x = x.view(n, 2, c // 2, h, w).transpose(1, 2).contiguous().view(n, c, h, w)  # channel shuffle
            x = self.gamma * self.conv(F.pad(x, (1, 2, 0, 1)))
            x = F.interpolate(x, size=(9, 11), mode="bilinear")
            x = F.max_pool2d(x, 3, 2, 1, ceil_mode=True)
            x = x.reshape(n, -1, 5, 6)  # it is [n, 8, 5, 6] already: no layer
            return F.log_softmax(x.reshape(n, -1, 6, 5), dim=1)

    imported = trace(Net().eval(), (8, 6, 7), "net", "net", False)
    kinds = [(layer.name, layer.kind, layer.args) for layer in imported.layers]
    assert kinds == [
        ("chunk.0", "split", {"parts": 2, "index": 0}),
        ("chunk.1", "split", {"parts": 2, "index": 1}),
        ("relu6", "relu6", {}),
        ("cat", "concat", {}),
        ("view", "channel_shuffle", {"groups": 2}),
        ("pad", "pad", {"p": [[0, 1], [1, 2]]}),
        ("conv_pad", "pad", {"p": [[1, 2], [1, 2]], "mode": "reflect"}),  # torch's 'same' for k 4: 1 left, 2 right
        ("conv", "conv", {"out": 8, "k": 4}),
        ("mul", "layer_scale", {}),
        ("interpolate", "upsample", {"size": [9, 11], "mode": "bilinear"}),
        ("max_pool2d", "maxpool", {"k": 3, "s": 2, "p": 1, "ceil_mode": True}),
        ("reshape", "reshape", {"shape": [8, 6, 5]}),
        ("log_softmax", "log_softmax", {}),
    ]
    report = convcalc.analyze(imported.spec())
    assert report.output == (1, 8, 6, 5)
    assert report.layer("mul").params == 8  # gamma, counted where it is read
    assert report.total.params == 8 * 8 * 4 * 4 + 8 + 8


def test_linear_over_the_last_axis_of_a_feature_map_is_linear(torch):
    """nn.Linear and F.linear on [N, C, H, W] act on W (fvcore's test_linear, ptflops' fc_multidim): a
    linear layer per row, MACs C·H·in·out, and slicing any axis before it is a crop or a slice."""
    import convcalc
    from convcalc.importers.torch_fx import trace
    from torch import nn
    import torch.nn.functional as F

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(3, 7)
            self.w = nn.Parameter(torch.ones(2, 7))

        def forward(self, x):
            return F.linear(self.fc(x)[..., 1:, :], self.w)

    net = Net().eval()
    imported = trace(net, (4, 5, 3), "net", "net", False)
    assert [(layer.kind, layer.args) for layer in imported.layers] == [
        ("linear", {"out": 7}), ("crop", {"size": [4, 7], "offset": [1, 0]}), ("linear", {"out": 2, "bias": False})]
    report = convcalc.analyze(imported.spec())
    assert [layer.macs for layer in report.layers] == [4 * 5 * 3 * 7, 0, 4 * 4 * 7 * 2]
    params, _, macs, out = model_counts(net, (4, 5, 3))
    assert (report.total.params, report.total.macs, report.output[1:]) == (params, macs, out)


class Attention(__import__("torch").nn.Module if __import__("importlib").util.find_spec("torch") else object):
    """A model with operators convcalc does not map: cross-attention, a mean over the tokens, a
    scalar add (the self-attention, the flatten and the permute to tokens map)."""

    def __init__(self):
        from torch import nn

        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.attn = nn.MultiheadAttention(8, 2, batch_first=True)
        self.attn2 = nn.MultiheadAttention(8, 2, batch_first=True)

    def forward(self, x):
        import torch

        x = self.conv(x) + 1.0
        t = x.flatten(2).permute(0, 2, 1)
        t = self.attn(t, t, t)[0]
        k = torch.relu(t)
        t = self.attn2(t, k, k)[0]  # cross-attention: q is not k
        return t.mean(1)


def build_attention():
    return Attention()


def test_what_cannot_be_mapped_is_listed_with_counts_and_places(torch):
    from convcalc.errors import ConvcalcError
    from convcalc.importers.torch_fx import trace

    with pytest.raises(ConvcalcError) as error:
        trace(Attention().eval(), (3, 4, 4), "att", "att", False)
    message = str(error.value)
    assert message.startswith("att: 3 operators convcalc cannot map: ")
    assert "operator.add (adds a number or a parameter, not another activation) ×1 (add)" in message
    assert ("torch.nn.MultiheadAttention (cross-attention (q, k and v not one tensor; convcalc's mha is "
            "self-attention)) ×1 (attn2)") in message
    assert "Tensor.mean (a mean over dims [1] (a mean over every spatial axis is global average pooling)) ×1" in message
    assert message.endswith("--allow-unknown imports each as an opaque layer whose costs are unknown (docs/import.md)")


def test_allow_unknown_makes_opaque_layers_with_the_traced_shape_and_the_module_parameters(torch):
    import convcalc
    from convcalc.importers.torch_fx import trace

    model = Attention().eval()
    report = convcalc.analyze(trace(model, (3, 4, 4), "att", "att", True).spec())
    assert [(layer.name, layer.kind, layer.output[1:]) for layer in report.layers] == [
        ("conv", "conv", (8, 4, 4)),
        ("add", "opaque", (8, 4, 4)),
        ("flatten", "reshape", (8, 16)),
        ("permute", "transpose", (16, 8)),
        ("attn", "mha", (16, 8)),
        ("relu", "relu", (16, 8)),
        ("attn2", "opaque_merge", (16, 8)),  # reads attn and relu
        ("attn2_1", "opaque_merge", (16, 16)),  # the attention weights, the module's second output
        ("mean", "opaque", (8,)),
    ]
    attention = 3 * 8 * 8 + 3 * 8 + 8 * 8 + 8  # in_proj weight and bias, out_proj weight and bias
    assert report.layer("attn").params == attention
    assert report.total.params == sum(p.numel() for p in model.parameters()) == 3 * 8 * 9 + 8 + 2 * attention
    # the conv's and attn's (projections 4·N·E², QKᵀ and times V N·N·E each): the opaque layers' are unknown
    assert report.total.macs == 8 * 3 * 9 * 16 + 4 * 16 * 8 * 8 + 2 * 16 * 16 * 8


def test_an_opaque_layer_makes_its_counts_unknown_and_the_totals_partial(tmp_path):
    """An opaque layer's MACs and FLOPs are never shown as 0: '?' in the table, an empty CSV cell,
    `unknown` in the JSON; totals that leave them out are lower bounds ('≥'), `partial` in the
    JSON, and check fails a budget it cannot decide."""
    import json

    from click.testing import CliRunner

    from convcalc.cli import cli

    spec = tmp_path / "net.yaml"
    spec.write_text("input: [3, 8, 8]\nlayers:\n  - conv: {out: 4, k: 3}\n"
                    "  - opaque: {shape: [4, 6, 6], op: mystery, params: 5}\n  - relu\n", encoding="utf-8")
    runner = CliRunner()
    data = json.loads(runner.invoke(cli, ["shapes", str(spec), "--format", "json"]).output)
    conv_macs = 4 * 3 * 9 * 36
    assert data["total"]["macs"] == conv_macs and data["total"]["partial"] == ["macs", "flops"]
    assert data["layers"][1]["unknown"] == ["macs", "flops"] and "unknown" not in data["layers"][0]
    assert data["total"]["params"] == 4 * 27 + 4 + 5
    table = runner.invoke(cli, ["shapes", str(spec), "--exact"], env={"COLUMNS": "200"}).output
    assert "│ 1 │ opaque1 │ opaque │ 1x4x6x6 │      5 │       ? │       ? │" in table
    assert f"│ ≥ {conv_macs:,} │" in table and "partial: MACs and FLOPs leave out 1 opaque" in table
    csv_row = runner.invoke(cli, ["shapes", str(spec), "--format", "csv"]).output.splitlines()[2]
    assert csv_row.startswith("net,1,opaque1,opaque,conv1,1x4x6x6,5,0,,,")
    result = runner.invoke(cli, ["check", str(spec), "--max-macs", "1G", "--max-params", "1M"])
    assert result.exit_code == 1
    assert (f"macs cannot be checked: 1 opaque layer has unknown macs, the rest add up to {conv_macs:,} "
            "(budget 1,000,000,000, --max-macs 1G)") in result.output


def test_torchvision_where_it_imports(torch):
    """torchvision's ResNet-18 imports with its published counts: 11,689,512 parameters and 1.81
    GMACs at 3x224x224 (the library's resnet18 spec has them). Skipped where torchvision does not
    import (its wheel may be built for another torch: docs/import.md)."""
    try:
        import torchvision  # noqa: F401
    except Exception as exc:  # ImportError, or RuntimeError for a torchvision built against another torch
        pytest.skip(f"torchvision does not import here: {type(exc).__name__}")
    import convcalc

    from convcalc.importers import load

    report = convcalc.analyze(load("torchvision:resnet18"))
    library = convcalc.analyze(convcalc.load("specs/resnet18.yaml"))
    assert (report.total.params, report.total.macs) == (library.total.params, library.total.macs)


# One of each family and building block of torchvision's zoo: the whole zoo is
# `python scripts/zoo.py` (docs/import.md has its table). Each runs only where torchvision imports.
ZOO_SAMPLE = ["googlenet", "convnext_tiny", "efficientnet_b0", "shufflenet_v2_x0_5", "mobilenet_v3_small",
              "lraspp_mobilenet_v3_large", "r3d_18", "s3d"]


@pytest.mark.slow
@pytest.mark.parametrize("name", ZOO_SAMPLE)
def test_torchvision_zoo_sample_agrees_with_pytorch_and_its_onnx_exports(name, torch):
    """scripts/zoo.py's check of one model: totals, every conv/linear layer's output and
    parameters against PyTorch's modules, the written spec read back, and both ONNX exports against
    PyTorch's MACs and output, the file's weights and onnxruntime."""
    try:
        import torchvision  # noqa: F401
    except Exception as exc:
        pytest.skip(f"torchvision does not import here: {type(exc).__name__}")
    pytest.importorskip("onnxruntime")
    import importlib.util
    import os

    spec = importlib.util.spec_from_file_location("zoo", os.path.join(os.path.dirname(__file__), "..", "scripts",
                                                                      "zoo.py"))
    zoo = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(zoo)
    record = zoo.one(name, ["torchscript", "dynamo"])
    problems = {part: record[part]["problems"] for part in ("import", "torchscript", "dynamo") if record[part]["problems"]}
    assert not problems, problems


def test_import_writes_a_new_file_or_its_own_and_nothing_else(tmp_path, monkeypatch, torch):
    from click.testing import CliRunner

    import convcalc
    from convcalc.cli import cli

    runner = CliRunner()
    out = tmp_path / "se.yaml"
    args = ["import", "tests.import_models:build_se", "--input", "3x32x32", "-o", str(out)]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0 and result.output == (
        f"convcalc: wrote {out}: 35 layers from tests.import_models:build_se ({len(out.read_bytes()):,} bytes)\n")
    assert out.read_text(encoding="utf-8").startswith("# imported from tests.import_models:build_se by convcalc")
    assert convcalc.analyze(convcalc.load(out)).total.params == 16 * 27 + 16 + 3 * (16 * 144 + 32 + 4 * 16 + 4 + 16 * 4 + 16) + 16 * 10 + 10
    assert runner.invoke(cli, args).exit_code == 0  # its own spec: replaced
    mine = tmp_path / "mine.yaml"
    mine.write_text("input: [3, 8, 8]\nlayers: [relu]\n", encoding="utf-8")
    result = runner.invoke(cli, args[:-1] + [str(mine)])
    assert result.exit_code == 2
    assert result.output == (f"convcalc: -o {mine} exists and is not a spec that convcalc import wrote; "
                             "remove it or choose another name\n")
    assert mine.read_text(encoding="utf-8") == "input: [3, 8, 8]\nlayers: [relu]\n"


@pytest.mark.parametrize("argument, message", [
    ("no_such_package.nets:build", "convcalc: no_such_package.nets:build: no Python module 'no_such_package' (a SOURCE "
                                   "package.module:callable imports it from the current folder or the installed packages)"),
    ("tests.import_models:missing", "convcalc: tests.import_models:missing: module 'tests.import_models' has no "
                                    "attribute 'missing'"),
    ("tests.import_models:INPUTS", "convcalc: tests.import_models:INPUTS: 'INPUTS' is a dict, not a callable that "
                                   "returns a torch.nn.Module"),
])
def test_a_source_that_is_not_a_model_is_one_line(argument, message, torch):
    from click.testing import CliRunner

    from convcalc.cli import cli

    result = CliRunner().invoke(cli, ["shapes", argument, "--input", "3x8x8"])
    assert (result.exit_code, result.output) == (2, message + "\n")


def test_a_module_source_needs_an_input_and_input_is_the_trace_input(torch):
    import json

    from click.testing import CliRunner

    from convcalc.cli import cli

    result = CliRunner().invoke(cli, ["shapes", "tests.import_models:build_se"])
    assert result.output == ("convcalc: tests.import_models:build_se: give --input, per sample and channels first "
                             "(3x224x224): a PyTorch module does not say what input it takes\n")
    # the same --input that overrides a YAML spec's input (docs/spec.md) is the input a model is traced at
    result = CliRunner().invoke(cli, ["shapes", "specs/lenet5.yaml", "--input", "1x36x36", "--format", "json"])
    assert json.loads(result.stdout)["input"] == [1, 1, 36, 36]
    result = CliRunner().invoke(cli, ["shapes", "tests.import_models:build_se", "--input", "8x16x16", "--set", "w=1"])
    assert "--set sets a spec's `args:`; an imported model has none" in result.output


class OptionalArgument(__import__("torch").nn.Module if __import__("importlib").util.find_spec("torch") else object):
    """A forward with optional arguments after the input (timm's `attn_mask=None`, `is_causal=False`)."""

    def __init__(self):
        from torch import nn

        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, x, mask=None, scale: float = 1.0):
        if mask is not None:
            x = x * mask
        return self.conv(x) if scale == 1.0 else self.conv(x) * scale


def test_optional_forward_arguments_are_fixed_at_their_defaults(torch):
    """Traced at their defaults, they are no inputs: the model is its one-input network."""
    import convcalc
    from convcalc.importers.torch_fx import trace

    report = convcalc.analyze(trace(OptionalArgument().eval(), (3, 8, 8), "opt", "opt", False).spec())
    assert [(layer.name, layer.kind, layer.output) for layer in report.layers] == [("conv", "conv", (1, 4, 6, 6))]
    assert report.total.macs == 4 * 6 * 6 * 3 * 3 * 3


@pytest.mark.parametrize("builder", BUILDERS)
def test_a_large_input_is_traced_on_the_meta_device_with_the_same_result(builder, monkeypatch, torch):
    """Above META_ABOVE input values the trace runs on the meta device (no arithmetic: a
    segmentation net at 3x1024x2048 is over a TMAC): every layer as the CPU run gives it."""
    import convcalc
    from convcalc.importers import torch_fx
    from convcalc.importers import read

    shape = SHAPES[builder]
    on_cpu = convcalc.analyze(read(source(builder), shape).spec())
    monkeypatch.setattr(torch_fx, "META_ABOVE", 0)
    devices = []
    run = torch_fx._Recorder.run
    monkeypatch.setattr(torch_fx._Recorder, "run", lambda self, x: devices.append(x.device.type) or run(self, x))
    on_meta = convcalc.analyze(read(source(builder), shape).spec())
    assert devices == ["meta"]
    assert [(r.name, r.kind, r.output, r.params, r.buffers, r.macs) for r in on_meta.layers] == \
        [(r.name, r.kind, r.output, r.params, r.buffers, r.macs) for r in on_cpu.layers]


class OddIndexing(__import__("torch").nn.Module if __import__("importlib").util.find_spec("torch") else object):
    """Indexing no rule maps: a new axis, and a slice whose bound is a tensor."""

    def __init__(self):
        from torch import nn

        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3)

    def forward(self, x):
        y = self.conv(x)
        z = y[:, :, None]
        return y[:, : y.flatten(1).argmax(1)] + z.sum()


def test_indexing_no_rule_maps_is_listed_never_a_traceback(torch):
    from convcalc.errors import ConvcalcError
    from convcalc.importers.torch_fx import trace

    with pytest.raises(ConvcalcError) as error:
        trace(OddIndexing().eval(), (3, 8, 8), "odd", "odd", False)
    assert ("operator.getitem (indexing a tensor by other than ranges (an integer, None or a tensor drops or adds "
            "an axis)) ×") in str(error.value)


def test_modules_the_forward_never_runs_are_in_the_note_the_header_and_the_json(torch):
    """VideoNet's training head (AdaptiveAvgPool3d, Flatten, Linear(8, 5): 8*5 + 5 = 45 parameters)
    is not a layer: stderr says so, the written spec's header too, and the JSON lists it."""
    import json

    from click.testing import CliRunner

    from convcalc.cli import cli

    args = ["tests.import_models:build_video", "--input", "3x4x16x16"]
    result = CliRunner().invoke(cli, ["shapes", *args, "--format", "json"])
    assert result.exit_code == 0, result.output
    assert result.stderr.strip() == ("convcalc: note: tests.import_models:build_video: not counted: 45 parameters "
                                     "and 0 buffer values in modules the forward pass never runs: aux (45 parameters)")
    document = json.loads(result.stdout)
    assert document["not_counted"] == [{"module": "aux", "params": 8 * 5 + 5, "buffers": 0}]
    written = CliRunner().invoke(cli, ["import", *args]).stdout
    assert "# not counted: 45 parameters and 0 buffer values in modules the forward pass never runs" in written
    plain = json.loads(CliRunner().invoke(cli, ["shapes", "tests.import_models:build_se", "--input", "3x32x32",
                                                "--format", "json"]).stdout)
    assert "not_counted" not in plain  # only where there is something to say


@pytest.mark.parametrize("name", ["torchvision:resnet18", "timm:resnet18", "mypkg.nets:build"])
def test_an_existing_file_named_like_a_source_is_read_as_a_file(name, tmp_path, monkeypatch):
    """docs/import.md: a path that exists is read as a file, whatever it looks like; a file named
    `torchvision:resnet18` in the current folder is a spec, never a model to import."""
    import json

    from click.testing import CliRunner

    from convcalc.cli import cli
    from convcalc.importers import is_source

    monkeypatch.chdir(tmp_path)
    assert is_source(name)  # no such file yet: a model to import
    (tmp_path / name).write_text("input: [3, 8, 8]\nlayers:\n  - conv: {out: 4, k: 3}\n", encoding="utf-8")
    assert not is_source(name)
    result = CliRunner().invoke(cli, ["shapes", name, "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["source"], data["total"]["params"], data["output"]) == (name, 4 * 3 * 3 * 3 + 4, [1, 4, 6, 6])
    result = CliRunner().invoke(cli, ["import", name])
    assert (result.exit_code, result.output) == (2, f"convcalc: '{name}' is a file in this folder, not a model to "
                                                    "import: an existing path is always read as a file (rename it, "
                                                    "or run from another folder)\n")


@pytest.mark.parametrize("builder", ["build_scripted", "build_traced"])
def test_a_torchscript_module_says_what_to_pass_instead(builder, torch):
    from click.testing import CliRunner

    from convcalc.cli import cli

    result = CliRunner().invoke(cli, ["shapes", source(builder), "--input", "3x8x8"])
    assert (result.exit_code, result.output) == (2, (
        f"convcalc: {source(builder)}: the model is a TorchScript module (torch.jit.script or torch.jit.trace), "
        "which torch.fx cannot trace: pass the eager torch.nn.Module it was made from, or export it to ONNX "
        "(torch.onnx.export) and import the .onnx file\n"))


class _BrokenTorchvision:
    """A meta-path finder that fails importing torchvision as a torchvision built for another
    torch does (its C++ operators are not registered): torchvision itself need not be here."""

    def find_spec(self, name, path=None, target=None):
        if name == "torchvision" or name.startswith("torchvision."):
            raise RuntimeError("operator torchvision::nms does not exist")
        return None


@pytest.mark.parametrize("argument, zoo", [("torchvision:resnet18", "torchvision"), ("timm:resnet18", "timm")])
def test_a_torch_and_torchvision_that_do_not_match_is_one_line_naming_both(argument, zoo, monkeypatch, torch):
    import importlib.metadata
    import sys
    import types

    from click.testing import CliRunner

    from convcalc.cli import cli

    for name in [n for n in sys.modules if n.split(".")[0] in ("torchvision", "timm")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setattr(sys, "meta_path", [_BrokenTorchvision(), *sys.meta_path])
    if zoo == "timm":  # timm imports torchvision on its way in: a stand-in timm that does only that
        import importlib.util

        loader = types.SimpleNamespace(create_module=lambda spec: None,
                                       exec_module=lambda module: importlib.import_module("torchvision"))
        finder = types.SimpleNamespace(find_spec=lambda name, path=None, target=None:
                                       importlib.util.spec_from_loader("timm", loader) if name == "timm" else None)
        monkeypatch.setattr(sys, "meta_path", [finder, *sys.meta_path])
    version = importlib.metadata.version
    monkeypatch.setattr(importlib.metadata, "version", lambda d: "0.19.1" if d == "torchvision" else version(d))
    result = CliRunner().invoke(cli, ["shapes", argument])
    release = torch.__version__.split("+")[0]
    assert (result.exit_code, result.output) == (2, (
        f"convcalc: {argument}: torchvision 0.19.1 does not match torch {torch.__version__} (importing it fails: "
        "operator torchvision::nms does not exist): install a matching pair, such as pip install --upgrade "
        f"torch=={release} torchvision, which picks the torchvision built for that torch (for a +cpu build add "
        "--index-url https://download.pytorch.org/whl/cpu)\n"))


def test_every_command_that_takes_a_spec_takes_allow_unknown():
    """The unsupported-operator message recommends --allow-unknown: every command that takes a
    SPEC (and so a SOURCE) has it, from the one shared option (cli/options.py)."""
    import click

    from convcalc.cli import COMMANDS, cli

    ctx = click.Context(cli)
    without = [name for name in COMMANDS
               if "--allow-unknown" not in [o for p in cli.get_command(ctx, name).params for o in p.opts]]
    assert without == []


ODD = "tests.import_models:build_odd"


@pytest.mark.parametrize("command", [["shapes"], ["check"], ["compare", ODD], ["explain"], ["import"],
                                     ["draw", "--format", "dot"], ["report"]])
def test_the_unmapped_operator_message_names_a_flag_the_command_has(command, torch):
    from click.testing import CliRunner

    from convcalc.cli import cli

    args = [command[0], ODD, *command[1:], "--input", "3x8x8"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2
    assert result.output.splitlines()[0] == (  # check goes on to its table of the specs it could not check
        f"convcalc: {ODD}: 1 operator convcalc cannot map: torch.erf ×1 (erf). --allow-unknown imports each as an "
        "opaque layer whose costs are unknown (docs/import.md)")
    result = CliRunner().invoke(cli, [*args, "--allow-unknown"])
    assert result.exit_code == 0, result.output  # the opaque layer: the next test has its shape and counts


def test_allow_unknown_on_shapes_makes_the_opaque_layer_with_the_traced_shape(torch):
    import json

    from click.testing import CliRunner

    from convcalc.cli import cli

    result = CliRunner().invoke(cli, ["shapes", ODD, "--input", "3x8x8", "--allow-unknown", "--format", "json"])
    layers = json.loads(result.stdout)["layers"]
    assert [(layer["name"], layer["kind"], layer["output"]) for layer in layers] == [
        ("conv", "conv", [1, 4, 8 - 3 + 1, 8 - 3 + 1]), ("erf", "opaque", [1, 4, 6, 6]), ("relu", "relu", [1, 4, 6, 6])]
    assert layers[1]["unknown"] == ["macs", "flops"]


@pytest.mark.parametrize("builder, shape, kind", [
    ("build_bare_bn", (3, 5, 5), "bn"),
    ("build_bare_bn1d", (3, 10), "bn"),
    ("build_bare_deconv", (4, 5, 5), "deconv"),
    ("build_bare_deconv1d", (2, 7), "deconv"),
    ("build_bare_deconv3d", (2, 3, 5, 4), "deconv"),
    ("build_functional_deconv1d", (2, 9), "deconv"),  # its own forward: traced through, F.conv_transpose1d
    ("build_functional_deconv3d", (2, 3, 4, 5), "deconv"),
])
def test_a_bare_layer_as_the_whole_model_is_that_layer(builder, shape, kind, torch):
    """A SOURCE whose callable returns one layer (nn.BatchNorm2d, nn.ConvTranspose2d) imports as
    that layer, named after the callable; shape, parameters, buffers and MACs are PyTorch's."""
    import convcalc
    from convcalc.importers import read

    model = getattr(import_models, builder)().eval()
    report = convcalc.analyze(read(source(builder), shape).spec())
    params, buffers, macs, out = model_counts(model, shape)
    assert [layer.kind for layer in report.layers] == [kind]
    assert (report.total.params, report.total.buffers, report.total.macs, report.output[1:]) == \
        (params, buffers, macs, out)
    if builder.startswith("build_bare"):
        assert report.layers[0].name == builder


def test_f_conv_transpose_maps_with_its_arguments_in_torch_order(torch):
    """F.conv_transpose2d(x, w, b, stride, padding, output_padding, groups, dilation): groups
    comes before dilation, and out is the weight's dim 1 times groups."""
    from convcalc.importers import read

    layers = read(source("build_functional_deconv"), (4, 7, 6)).layers
    assert [(layer.name, layer.kind, layer.args) for layer in layers if layer.kind == "deconv"] == [
        ("up", "deconv", {"out": 3 * 2, "k": 3, "s": 2, "p": 1, "output_padding": 1, "d": 2, "groups": 2})]


@pytest.mark.parametrize("nd, shape", [(1, (2, 11)), (2, (2, 9, 7)), (3, (2, 5, 7, 9))])
def test_max_pool_indices_and_max_unpool_import_as_maxpool_and_maxunpool(nd, shape, torch):
    """MaxPool*d(return_indices=True) then MaxUnpool*d(x, indices): a maxpool, and a maxunpool
    naming it in `indices:` (its side input); the output is PyTorch's, (in - 1)·s - 2p + k."""
    import convcalc
    from convcalc.importers.torch_fx import trace
    from torch import nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.pool = getattr(nn, f"MaxPool{nd}d")(3, 2, 1, return_indices=True)
            self.unpool = getattr(nn, f"MaxUnpool{nd}d")(3, 2, 1)

        def forward(self, x):
            y, indices = self.pool(x)
            return self.unpool(torch.relu(y), indices)

    model = Net().eval()
    imported = trace(model, shape, "net", "net", False)
    assert [(layer.name, layer.kind, layer.args) for layer in imported.layers] == [
        ("pool", "maxpool", {"k": 3, "s": 2, "p": 1}), ("relu", "relu", {}),
        ("unpool", "maxunpool", {"k": 3, "s": 2, "p": 1, "indices": "pool"})]
    report = convcalc.analyze(imported.spec())
    pooled = [(n + 2 * 1 - 3) // 2 + 1 for n in shape[1:]]
    assert report.layer("pool").output[2:] == tuple(pooled)
    assert report.output[2:] == tuple((n - 1) * 2 - 2 * 1 + 3 for n in pooled) == model(torch.randn(1, *shape)).shape[2:]


def test_max_unpool_with_another_window_or_output_size_is_listed(torch):
    """torch unpools any indices to any output_size that holds them; convcalc's maxunpool shares
    its pool's window and gives (in - 1)·s - 2p + k: anything else is unsupported, never wrong."""
    from convcalc.errors import ConvcalcError
    from convcalc.importers.torch_fx import trace
    from torch import nn
    import torch.nn.functional as F

    class Net(nn.Module):
        def forward(self, x):
            y, i = F.max_pool2d(x, 2, return_indices=True)
            a = F.max_unpool2d(y, i, 2, output_size=(9, 9))  # 9x9 holds a 2-window's positions of 9x9
            b = F.max_unpool2d(y, i, 3, 2)
            return a[:, :, :8, :8] + b[:, :, :8, :8]

    with pytest.raises(ConvcalcError) as error:
        trace(Net().eval(), (2, 9, 9), "net", "net", False)
    message = str(error.value)
    assert "max unpooling to an output_size other than (in - 1)·s - 2p + k = [8, 8]" in message
    assert "max unpooling with k, s, p ([3, 3], [2, 2], [0, 0]) on the indices of a max pool with ([2, 2], [2, 2], [0, 0])" in message


def test_pruned_and_parametrized_weights_count_dense_with_the_mask_and_sparsity_stated(torch):
    """torch.nn.utils.prune keeps `weight_orig` (a parameter) and `weight_mask` (a buffer) and
    computes the weight in a forward pre-hook; parametrize keeps `parametrizations.weight.original*`.
    Each layer counts the dense weight it computes (the mask is no parameter); the mask's sparsity
    and each parametrization's own tensors are stated: in the JSON, on stderr."""
    import json

    from click.testing import CliRunner

    from convcalc.cli import cli

    model = import_models.build_pruned().eval()
    shape = (3, 8, 8)
    result = CliRunner().invoke(cli, ["shapes", source("build_pruned"), "--input", "3x8x8", "--format", "json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    params = {layer["name"]: layer["params"] for layer in document["layers"]}
    for name in ("conv1", "conv2", "conv3", "conv4", "fc"):
        module = model.get_submodule(name)
        assert params[name] == module.weight.numel() + module.bias.numel(), name  # the dense weight it computes
    assert document["total"]["params"] == (8 * 27 + 8) + (8 * 72 + 8) + (4 * 72 + 4) + (4 * 4 + 4) + (144 * 144 + 144)
    assert document["total"]["buffers"] == 0
    assert document["output"] == [1, *model(torch.randn(1, *shape)).shape[1:]]
    masks = {name: getattr(model.get_submodule(name), "weight_mask") for name in ("conv1", "conv2")}
    assert document["pruned"] == [
        {"layer": name, "tensor": "weight", "mask": mask.numel(), "zeros": int((mask == 0).sum()),
         "sparsity": float((mask == 0).float().mean())} for name, mask in masks.items()]
    assert [entry["zeros"] for entry in document["pruned"]] == [216 // 2, 3 * 72]  # half; 3 of 8 filters
    assert document["parametrized"] == [
        {"layer": "conv3", "tensor": "weight", "by": ["_WeightNorm"], "params": 4 + 4 * 72, "buffers": 0,
         "dense": 4 * 72},
        {"layer": "conv4", "tensor": "weight", "by": ["_SpectralNorm"], "params": 16, "buffers": 4 + 4, "dense": 16},
        {"layer": "fc", "tensor": "weight", "by": ["_Orthogonal"], "params": 144 * 144, "buffers": 144 * 144,
         "dense": 144 * 144}]
    notes = result.stderr.splitlines()
    assert notes[0] == (f"convcalc: note: {source('build_pruned')}: conv1.weight is pruned (torch.nn.utils.prune): "
                        "50.0% zeros (108 of 216 in its weight_mask); counted dense, as weight_orig, and the mask "
                        "is no parameter")
    assert notes[2].endswith("conv3.weight is parametrized (torch.nn.utils.parametrize: _WeightNorm): counted as the "
                             "dense weight's 288 parameters; the parametrization holds 292 parameters and 0 buffer "
                             "values")
    written = CliRunner().invoke(cli, ["import", source("build_pruned"), "--input", "3x8x8"]).stdout
    assert "# conv2.weight is pruned (torch.nn.utils.prune): 37.5% zeros (216 of 576 in its weight_mask)" in written


def test_a_rule_table_refuses_two_rules_for_a_key_and_declarations_its_dispatcher_does_not_read():
    """Rules declare what they need from the dispatcher (importers/mapping.py): a key given two
    rules, a declaration the importer's dispatcher does not read, or a word outside the declared
    modes is refused when the rule is registered, never silently ignored."""
    from convcalc.importers.mapping import Rule, rule_table

    table: dict = {}
    rule = rule_table(table, "param_view")
    fn = rule("Relu", per_position=True)(lambda c: None)
    assert table == {"Relu": Rule(fn, per_position=True)}
    with pytest.raises(TypeError, match="Relu has two rules"):
        rule("Relu")(lambda c: None)
    with pytest.raises(TypeError, match="reads no folds_bias"):
        rule("Add", folds_bias=True)
    with pytest.raises(TypeError, match="channels_last='permute': one of keep, rule, flatten, or a function"):
        rule("Transpose", channels_last="permute")
    with pytest.raises(TypeError, match="shuffle='done': one of keep, rule, end"):
        rule("Reshape", shuffle="done")
    with pytest.raises(TypeError, match="declare one of the two"):
        rule("Gelu", per_position=True, channels_last="keep")


def test_the_dispatchers_read_declarations_and_never_test_which_rule_they_hold(torch):
    """The importers' trunks (torch_fx's _Mapper, onnx's Mapper) hold no comparison against a rule
    function (`rule is _view`, `fn in (_reshape, _transpose)`): what a rule needs is declared."""
    import ast
    import inspect

    from convcalc.importers import onnx, torch_fx

    for module, mapper in ((torch_fx, torch_fx._Mapper), (onnx, onnx.Mapper)):
        rules = {entry.fn.__name__ for table in (getattr(module, name, {}) for name in ("MODULES", "FUNCTIONS", "RULES"))
                 for entry in table.values()}
        tree = ast.parse(inspect.getsource(mapper))
        compared = [node.id for compare in ast.walk(tree) if isinstance(compare, ast.Compare)
                    for side in [compare.left, *compare.comparators]
                    for node in ast.walk(side) if isinstance(node, ast.Name) and node.id in rules]
        assert len(rules) > 20 and compared == [], (module.__name__, compared)
