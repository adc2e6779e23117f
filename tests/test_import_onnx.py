"""`convcalc import` from ONNX: the test models exported by torch's two exporters read back with the
PyTorch module's MACs and output, every conv/deconv/linear layer under the module's name with the
module's output shape, the file's initializers as parameters, and onnxruntime's output shape.
Reading never imports torch or onnx (the exports here need both)."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import warnings

import pytest

from tests import import_models

pytest.importorskip("onnx")
BUILDERS = list(import_models.INPUTS)
EXPORTERS = ("torchscript", "dynamo")
_CACHE: dict[tuple[str, str], str] = {}


def onnx_check():
    """scripts/onnx_check.py: an ONNX file's MACs counted from onnxruntime's shapes, no PyTorch model."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("onnx_check", os.path.join(os.path.dirname(__file__), "..", "scripts",
                                                                             "onnx_check.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def opset(builder: str, exporter: str) -> int:
    """18 for the dynamo exporter; 13 for TorchScript's, but 17 for ConvNeXt's layer norm
    (LayerNormalization is an operator from opset 17; before it the exporter writes it out as
    ReduceMean, Sub, Pow, Sqrt, Div, which convcalc does not map: tested below)."""
    if exporter == "dynamo":
        return 18
    return 17 if builder == "build_convnext" else 13


def export(builder: str, exporter: str, folder) -> str:
    """The model exported once per session (the dynamo exporter takes a second or two)."""
    import torch

    key = (builder, exporter)
    if key not in _CACHE:
        pytest.importorskip("onnxscript") if exporter == "dynamo" else None
        path = os.path.join(folder, f"{builder}_{exporter}.onnx")
        model = getattr(import_models, builder)().eval()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(model, (torch.randn(1, *import_models.INPUTS[builder]),), path,
                              dynamo=exporter == "dynamo", opset_version=opset(builder, exporter))
        _CACHE[key] = path
    return _CACHE[key]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return str(tmp_path_factory.mktemp("onnx"))


CASES = [(b, e) for b in BUILDERS for e in EXPORTERS]


@pytest.mark.parametrize("builder, exporter", CASES)
def test_an_onnx_export_imports_as_the_module(builder, exporter, folder, torch):
    import convcalc
    from convcalc.importers import read

    from tests.test_import import model_counts

    path = export(builder, exporter, folder)
    shape = import_models.INPUTS[builder]
    report = convcalc.analyze(read(path).spec())
    model = getattr(import_models, builder)().eval()
    _, _, macs, out = model_counts(model, shape)
    assert (report.total.macs, report.output[1:]) == (macs, out)

    # the file's own count (scripts/onnx_check.py): parameters are the initializers each weighted node
    # reads (exporters share equal ones; a stored number is not one), MACs from onnxruntime's shapes
    # of every conv and matrix product, and onnxruntime's output
    file = onnx_check().independent(path)
    assert (report.total.params, report.total.macs, list(report.output)) == \
        (file["params"], file["macs"], file["output"])
    if builder == "build_convnext":  # no batch norm to fold: the file holds the module's parameters
        assert report.total.params == sum(p.numel() for p in model.parameters())

    from_torch = convcalc.analyze(read(f"tests.import_models:{builder}", shape).spec())
    ours = {layer.name: layer for layer in report.layers}
    for layer in from_torch.layers:
        if layer.kind in ("conv", "deconv", "linear"):
            assert ours[layer.name].kind == layer.kind and ours[layer.name].output == layer.output, layer.name


def test_the_names_follow_the_module_paths_in_both_exporters(folder, torch):
    from convcalc.importers import read

    for exporter in EXPORTERS:
        names = [layer.name for layer in read(export("build_resnet", exporter, folder)).layers]
        assert names[:7] == ["conv1", "relu", "layer1.0.conv1", "layer1.0.relu", "layer1.0.conv2", "layer1.0.add",
                             "layer1.0.relu_1"], exporter
        assert "layer2.0.downsample.0" in names and names[-1] == "fc"


def test_reading_onnx_imports_neither_torch_nor_onnx_and_ignores_the_spec_size_limit(folder, torch):
    from convcalc import limits

    path = export("build_resnet", "torchscript", folder)
    assert os.path.getsize(path) > limits.MAX_FILE_BYTES  # 270,906 float32 weights: over 1 MiB
    code = ("import sys; from click.testing import CliRunner; from convcalc.cli import cli; "
            f"r = CliRunner().invoke(cli, ['shapes', {path!r}, '--format', 'json']); "
            "print(r.exit_code, 'torch' in sys.modules, 'onnx' in sys.modules, 'numpy' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          env={**os.environ, "PYTHONPATH": os.getcwd()})
    assert done.stdout.split() == ["0", "False", "False", "False"]


def test_a_dynamic_input_needs_an_input_shape(folder, torch, tmp_path):
    from click.testing import CliRunner

    import convcalc
    from convcalc.cli import cli
    from convcalc.importers import read

    model = import_models.SENet().eval()
    path = str(tmp_path / "dynamic.onnx")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (torch.randn(1, 3, 32, 32),), path, dynamo=False, opset_version=13,
                          input_names=["x"], dynamic_axes={"x": {0: "n", 2: "h", 3: "w"}})
    result = CliRunner().invoke(cli, ["shapes", path])
    assert result.exit_code == 2
    assert result.output.strip().endswith("the graph's input [3x?x?] has dynamic sizes; give --input, per sample "
                                          "and channels first (3x224x224)")
    report = convcalc.analyze(read(path, (3, 64, 48)).spec())
    assert report.layers[0].output == (1, 16, 32, 24)
    result = CliRunner().invoke(cli, ["shapes", path, "--input", "4x64x48"])
    assert result.exit_code == 2 and "does not fit the graph's input [3x?x?]" in result.output


def test_what_cannot_be_read_is_one_line(folder, tmp_path, torch):
    from click.testing import CliRunner

    from convcalc.cli import cli

    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"\xff\xff\xff\xff not protobuf")
    result = CliRunner().invoke(cli, ["shapes", str(junk)])
    assert result.exit_code == 2 and result.output.count("\n") == 1
    assert result.output.startswith(f"convcalc: {junk}: not an ONNX model: ")
    result = CliRunner().invoke(cli, ["shapes", str(tmp_path / "missing.onnx")])
    assert result.output == f"convcalc: {tmp_path / 'missing.onnx'}: no such file\n"

    path = export("build_dilated", "dynamo", folder)  # the 1-D pool through a 2-D detour, then damaged:
    import onnx                                         # the mean no longer over every axis

    model = onnx.load(path)
    for node in model.graph.node:
        if node.op_type == "ReduceMean":
            node.attribute.append(onnx.helper.make_attribute("keepdims", 0))
    broken = str(tmp_path / "detour.onnx")
    onnx.save(model, broken)
    result = CliRunner().invoke(cli, ["shapes", broken])
    assert result.exit_code == 2 and result.output.count("\n") == 1
    assert "ReduceMean (a mean of a widened activation other than global average pooling) ×1 (pool)" in result.output


def test_an_imported_onnx_spec_written_and_verified(folder, torch):
    pytest.importorskip("fvcore")
    import convcalc
    from convcalc.importers import read
    from convcalc.importers.writer import render
    from convcalc.verify import verify

    imported = read(export("build_unet", "torchscript", folder))
    written = convcalc.loads(render(imported), "unet.yaml")
    result = verify(written, batch=2)
    assert result.ok


def _channels_last_copy(path: str, out: str, shape_reader: bool = False) -> None:
    """The exported graph as tf2onnx writes a Keras model: the input [N, H, W, C] and a Transpose to
    channels first as the first node, everything after it unchanged (and, as tf2onnx writes for a
    model with dynamic sizes, a Shape of the input)."""
    import onnx
    from onnx import helper

    model = onnx.load(path)
    graph = model.graph
    old = graph.input[0]
    dims = [d.dim_value for d in old.type.tensor_type.shape.dim]
    nhwc = helper.make_tensor_value_info("nhwc", old.type.tensor_type.elem_type, [dims[0], *dims[2:], dims[1]])
    rank = len(dims)
    graph.node.insert(0, helper.make_node("Transpose", ["nhwc"], [old.name], perm=[0, rank - 1, *range(1, rank - 1)]))
    if shape_reader:
        graph.node.insert(0, helper.make_node("Shape", ["nhwc"], ["nhwc_shape"]))
    graph.input.remove(old)
    graph.input.insert(0, nhwc)
    onnx.save(model, out)


@pytest.mark.parametrize("builder", ["build_resnet", "build_se", "build_dilated"])
def test_a_channels_last_input_transposed_first_imports_as_the_channels_first_graph(builder, folder, tmp_path, torch):
    """tf2onnx's NHWC graphs take [N, H, W, C] and transpose it to channels first: convcalc reads the
    input channels first (as --input is everywhere) and the rest as the original graph, which
    onnxruntime runs to the same output."""
    import numpy
    import onnxruntime

    import convcalc
    from convcalc.importers import read

    path = export(builder, "torchscript", folder)
    nhwc = str(tmp_path / f"{builder}_nhwc.onnx")
    _channels_last_copy(path, nhwc, shape_reader=builder == "build_se")
    shape = import_models.INPUTS[builder]
    original, last = convcalc.analyze(read(path).spec()), convcalc.analyze(read(nhwc).spec())
    assert last.input[1:] == shape  # channels first, as the model's own
    assert [(r.name, r.kind, r.output, r.params, r.macs) for r in last.layers] == \
        [(r.name, r.kind, r.output, r.params, r.macs) for r in original.layers]
    session = onnxruntime.InferenceSession(nhwc, providers=["CPUExecutionProvider"])
    x = numpy.random.randn(1, *shape[1:], shape[0]).astype(numpy.float32)
    assert tuple(session.run(None, {"nhwc": x})[0].shape) == last.output
    assert "channels-last" in read(nhwc).origin[1]
    # --input stays channels first: the graph's [H, W, C] is checked as [C, H, W]
    assert read(nhwc, shape).input == shape
    with pytest.raises(Exception, match="does not fit the graph's input"):
        read(nhwc, (*shape[1:], shape[0]))


def test_a_layer_norm_written_out_before_opset_17_fails_with_the_list(tmp_path, torch):
    from click.testing import CliRunner

    from convcalc.cli import cli

    path = str(tmp_path / "convnext13.onnx")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(import_models.build_convnext().eval(), (torch.randn(1, 3, 32, 32),), path, dynamo=False,
                          opset_version=13)
    result = CliRunner().invoke(cli, ["shapes", path])
    assert result.exit_code == 2 and result.output.count("\n") == 1
    assert "ReduceMean (an operator on a channels-last view (after a Transpose))" in result.output


class TimmSamePad(__import__("torch").nn.Conv2d if __import__("importlib").util.find_spec("torch") else object):
    """timm's Conv2dSame ceiling, -(-h // s): TorchScript exports the floor division of sizes as an
    ONNX Div, which truncates toward zero, so the file pads W=15 at stride 2 by 1, not PyTorch's 3."""

    def forward(self, x):
        import torch.nn.functional as F

        h, w = x.shape[-2:]
        ph = (-(-h // self.stride[0]) - 1) * self.stride[0] + self.kernel_size[0] - h
        pw = (-(-w // self.stride[1]) - 1) * self.stride[1] + self.kernel_size[1] - w
        return F.conv2d(F.pad(x, [pw // 2, pw - pw // 2, ph // 2, ph - ph // 2]), self.weight, self.bias, self.stride)


def test_integer_division_in_a_file_truncates_as_onnxruntime_does(tmp_path, torch):
    """convcalc reads what the file computes (onnxruntime's shapes), even where the exporter
    changed the model's arithmetic; PyTorch itself pads 15 to 18 here."""
    import onnxruntime

    import convcalc
    from convcalc.importers import read

    model = TimmSamePad(4, 8, 4, stride=2).eval()
    path = str(tmp_path / "same.onnx")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (torch.randn(1, 4, 15, 15),), path, dynamo=False, opset_version=13)
    report = convcalc.analyze(read(path).spec())
    session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    runtime = session.run(None, {session.get_inputs()[0].name: torch.randn(1, 4, 15, 15).numpy()})[0].shape
    # the file: -15 / 2 = -7 (truncated), so ceil = 7 and the pad (7 - 1) * 2 + 4 - 15 = 1 -> 16 wide,
    # (16 - 4) // 2 + 1 = 7 outputs; PyTorch: ceil 8, pad 3 -> 18 wide, 8 outputs
    assert report.output == tuple(runtime) == (1, 8, 7, 7)
    assert tuple(model(torch.randn(1, 4, 15, 15)).shape) == (1, 8, 8, 8)
    assert report.total.macs == 8 * 7 * 7 * 4 * 4 * 4 == onnx_check().independent(path)["macs"]


@pytest.mark.parametrize("op, extra", [("MaxPool", {}), ("AveragePool", {"count_include_pad": 1})])
def test_a_pool_with_uneven_padding_is_a_pad_then_the_pool(op, extra, tmp_path):
    """TensorFlow's SAME padding of a stride-2 pool on an even size pads one more at the end (tf2onnx
    writes pads [0, 0, 1, 1]): a pad layer (-inf for a max pool, which is never the maximum; zeros for an
    average that counts them) and the unpadded pool, with onnxruntime's output."""
    import numpy
    import onnxruntime
    from onnx import TensorProto, helper

    import convcalc
    from convcalc.importers import read

    node = helper.make_node(op, ["x"], ["y"], kernel_shape=[3, 3], strides=[2, 2], pads=[0, 0, 1, 1], **extra)
    graph = helper.make_graph([node], "pool", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 8, 8])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    path = str(tmp_path / "pool.onnx")
    with open(path, "wb") as f:
        f.write(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString())
    report = convcalc.analyze(read(path).spec())
    assert [(layer.kind, layer.output) for layer in report.layers] == [
        ("pad", (1, 4, 9, 9)),  # 8 + 0 + 1
        ("maxpool" if op == "MaxPool" else "avgpool", (1, 4, 4, 4)),  # (9 - 3) // 2 + 1
    ]
    assert read(path).layers[0].args.get("value", 0.0) == (float("-inf") if op == "MaxPool" else 0.0)
    session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    x = numpy.random.randn(1, 4, 8, 8).astype(numpy.float32)
    assert session.run(None, {"x": x})[0].shape == report.output


def _mutants(path: str):
    """Copies of an exported graph with one node damaged each way a hostile or broken file might:
    an input dropped, every attribute dropped, each int attribute set to 0, -1 or 2^62."""
    import onnx

    model = onnx.load(path)
    for i, node in enumerate(model.graph.node):
        if node.input:
            copy = onnx.ModelProto()
            copy.CopyFrom(model)
            del copy.graph.node[i].input[-1]
            yield f"{node.op_type}#{i} without its last input", copy
        if node.attribute:
            copy = onnx.ModelProto()
            copy.CopyFrom(model)
            del copy.graph.node[i].attribute[:]
            yield f"{node.op_type}#{i} without attributes", copy
        for j, attribute in enumerate(node.attribute):
            for value in (0, -1, 2 ** 62):
                copy = onnx.ModelProto()
                copy.CopyFrom(model)
                a = copy.graph.node[i].attribute[j]
                if a.type == onnx.AttributeProto.INT:
                    a.i = value
                elif a.type == onnx.AttributeProto.INTS and a.ints:
                    a.ints[:] = [value] * len(a.ints)
                else:
                    continue
                yield f"{node.op_type}#{i} with {a.name} = {value}", copy


@pytest.mark.slow
@pytest.mark.parametrize("builder, exporter", [("build_convnext", "dynamo"), ("build_shuffle", "torchscript"),
                                               ("build_functional", "torchscript"), ("build_unet", "torchscript")])
def test_a_damaged_node_is_an_error_or_an_import_never_a_traceback(builder, exporter, folder, tmp_path, torch):
    """Every node of real exports damaged in turn: convcalc imports it (the damage may not matter,
    or be another valid graph) or fails with its one-line error; no other exception escapes."""
    from convcalc.errors import ConvcalcError
    from convcalc.importers import read

    path = export(builder, exporter, folder)
    target = str(tmp_path / "mutant.onnx")
    escaped = []
    for what, model in _mutants(path):
        with open(target, "wb") as f:
            f.write(model.SerializeToString())
        try:
            read(target).spec()
        except ConvcalcError:
            pass
        except Exception as exc:  # a traceback a user would see
            escaped.append(f"{what}: {type(exc).__name__}: {exc}"[:200])
    assert not escaped, escaped[:10]


def test_small_tensors_in_an_external_data_file_are_read_from_it_and_nothing_else(folder, tmp_path, torch):
    """torch's dynamo exporter may keep a shape argument (ConvNeXt's as_strided index) in the
    external data file: convcalc reads such small tensors there, only inside the model's folder,
    and the weights never. Every tensor moved out gives the same import as the file with them in."""
    import onnx

    import convcalc
    from convcalc.importers import read

    path = export("build_convnext", "dynamo", folder)
    inline = convcalc.analyze(read(path).spec())
    outside = str(tmp_path / "external.onnx")
    onnx.save_model(onnx.load(path), outside, save_as_external_data=True, all_tensors_to_one_file=True,
                    location="external.onnx.data", size_threshold=0)
    stored = onnx.load(outside, load_external_data=False).graph.initializer
    assert stored and all(t.data_location == onnx.TensorProto.EXTERNAL for t in stored)  # all in external.onnx.data
    moved = convcalc.analyze(read(outside).spec())
    assert [(r.name, r.kind, r.output, r.params, r.macs) for r in moved.layers] == \
        [(r.name, r.kind, r.output, r.params, r.macs) for r in inline.layers]

    # a location outside the model's folder is never opened: the shape argument is then unknown
    model = onnx.load(outside, load_external_data=False)
    for tensor in model.graph.initializer:
        for entry in tensor.external_data:
            if entry.key == "location":
                entry.value = "../external.onnx.data"
    os.makedirs(tmp_path / "inner")
    escaped = str(tmp_path / "inner" / "escaped.onnx")
    onnx.save_model(model, escaped)
    from convcalc.errors import ConvcalcError

    with pytest.raises(ConvcalcError, match="cannot map"):
        read(escaped).spec()


def test_a_keras_cnn_converted_by_tf2onnx_reads_channels_first_and_exactly():
    """tests/assets/keras_small_tf2onnx.onnx is tf2onnx's own output (scripts/keras_asset.py): an
    NHWC input of 21x20x3 transposed by the first node, SAME padding that is uneven on W, a SAME
    stride-2 max pool written with pads [1, 0, 1, 1], batch norm folded to a conv and a Mul."""
    import onnxruntime

    import convcalc
    from convcalc.importers import read

    path = os.path.join(os.path.dirname(__file__), "assets", "keras_small_tf2onnx.onnx")
    report = convcalc.analyze(read(path).spec())
    assert report.input[1:] == (3, 21, 20)  # channels first, as everywhere in convcalc
    # SAME at stride 2: ceil(21 / 2) = 11, ceil(20 / 2) = 10; the pool: ceil(11 / 2) = 6, ceil(10 / 2) = 5
    assert [layer.output[1:] for layer in report.layers if layer.kind in ("conv", "maxpool")] == \
        [(8, 11, 10), (8, 11, 10), (8, 6, 5), (16, 6, 5), (16, 6, 5)]
    pad = next(layer for layer in report.layers if layer.kind == "pad")
    assert pad.output[1:] == (8, 11 + 1 + 1, 10 + 0 + 1)  # pool pads: (6-1)*2+3-11 = 2, (5-1)*2+3-10 = 1
    assert report.total.macs == (8 * 11 * 10 * 3 * 3 * 3      # the stride-2 conv
                                 + 8 * 11 * 10 * 3 * 3        # the depthwise conv
                                 + 2 * 16 * 6 * 5 * 8         # the two 1x1 convs
                                 + 16 * 10)                   # the dense layer
    # Keras gave every layer the same bias values (one unseeded initializer reused) and tf2onnx
    # stored equal tensors once: the depthwise conv reads the first conv's 8 biases and the second
    # 1x1 conv the first one's 16, so the file holds each once and convcalc counts each once, saying so
    assert report.total.params == (8 * 27 + 8) + 8 + (8 * 9 + 0) + (16 * 8 + 16) + (16 * 8 + 0) + (16 * 10 + 10)
    assert [(layer.name, dict(layer.shares)) for layer in report.layers if layer.shares] == \
        [("conv_1", {"bias": "conv"}), ("conv_3", {"bias": "conv_2"})]
    pytest.importorskip("onnxruntime")
    session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    import numpy

    assert session.run(None, {"input": numpy.zeros((1, 21, 20, 3), numpy.float32)})[0].shape == report.output
    assert onnx_check().independent(path) == {"macs": report.total.macs, "params": report.total.params,
                                              "output": list(report.output)}


# What older opsets write that convcalc does not map (each fails with the list, tested below):
# a layer norm written out before opset 17, and at opset 9 PixelShuffle as a rank-6 reshape and a
# bilinear Upsample with asymmetric coordinates (not PyTorch's half-pixel: the export itself differs).
OLD_OPSET_GAPS = {("build_convnext", 9): "ReduceMean", ("build_convnext", 11): "ReduceMean",
                  ("build_sr", 9): "Upsample"}


@pytest.mark.slow
@pytest.mark.parametrize("builder", BUILDERS)
@pytest.mark.parametrize("exporter, version", [("torchscript", 9), ("torchscript", 11), ("torchscript", 20),
                                               ("dynamo", 21)])
def test_old_and_new_opsets_read_exactly(builder, exporter, version, tmp_path, torch):
    """Each test model from TorchScript's exporter at opsets 9 (Slice with attributes), 11 and 20
    (its newest) and the dynamo exporter at 21 (GELU is an operator from 20): convcalc's MACs,
    parameters and output are the file's own, as scripts/onnx_check.py counts them from
    onnxruntime's shapes; what an old opset writes that convcalc does not map fails with the list."""
    if exporter == "dynamo":
        pytest.importorskip("onnxscript")
    from convcalc.errors import ConvcalcError
    from convcalc.importers import read

    path = str(tmp_path / f"{builder}_{version}.onnx")
    model = getattr(import_models, builder)().eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (torch.randn(1, *import_models.INPUTS[builder]),), path,
                          dynamo=exporter == "dynamo", opset_version=version)
    gap = OLD_OPSET_GAPS.get((builder, version))
    if gap:
        with pytest.raises(ConvcalcError, match=f"cannot map: .*{gap}"):
            read(path).spec()
        return
    read(path).spec()  # imports at all (a clean error would fail here with its message)
    check = onnx_check()
    assert check.independent(path) == check.ours(path)


@pytest.mark.slow
@pytest.mark.parametrize("source", ["keras", "build_convnext-dynamo", "build_resnet-torchscript"])
def test_damaged_bytes_are_an_error_or_an_import_never_a_traceback(source, folder, tmp_path, torch):
    """Bytes of real files flipped, cut out and put in (1 to 8 places, 400 files each, seeded): convcalc
    reads each as a model or says in one line why not; a field of the wrong wire type once raised
    TypeError from the protobuf reader."""
    import random

    from convcalc.errors import ConvcalcError
    from convcalc.importers import read

    if source == "keras":
        path = os.path.join(os.path.dirname(__file__), "assets", "keras_small_tf2onnx.onnx")
    else:
        path = export(*source.split("-"), folder)
    original = open(path, "rb").read()
    rng = random.Random(source)
    target = str(tmp_path / "damaged.onnx")
    escaped = []
    for _ in range(400):
        data = bytearray(original)
        for _ in range(rng.randint(1, 8)):
            at, how = rng.randrange(len(data)), rng.random()
            if how < 0.6:
                data[at] = rng.randrange(256)
            elif how < 0.8:
                del data[at:at + rng.randint(1, 50)]
            else:
                data[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 20)))
        with open(target, "wb") as f:
            f.write(data)
        try:
            read(target).spec()
        except ConvcalcError:
            pass
        except Exception as exc:
            escaped.append(f"{type(exc).__name__}: {exc}"[:160])
    assert not escaped, escaped[:5]


def test_the_checker_counts_a_grouped_transposed_conv_as_pytorch_does(tmp_path, torch):
    """scripts/onnx_check.py's count of a grouped ConvTranspose is each input value times its
    group's C_out/g filters' k taps: 8*8*8 inputs * (12/4)*3*3 = 13,824 MACs, as FlopCounterMode
    and convcalc count it (and the conv before it, 8*8*8 * 3*3*3 = 13,824)."""
    from torch.utils.flop_counter import FlopCounterMode

    model = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.ConvTranspose2d(8, 12, 3, stride=2, groups=4)).eval()
    path = str(tmp_path / "grouped.onnx")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (torch.randn(1, 3, 10, 10),), path, dynamo=False, opset_version=13)
    with FlopCounterMode(display=False) as counter:
        model(torch.randn(1, 3, 10, 10))
    check = onnx_check()
    assert check.independent(path)["macs"] == check.ours(path)["macs"] == counter.get_total_flops() // 2 == \
        8 * 8 * 8 * 3 * 3 * 3 + 8 * 8 * 8 * (12 // 4) * 3 * 3


# -- attention ---------------------------------------------------------------------------------
# The attention models of tests/import_models that both exporters' files import exactly (the ViT
# replica's nn.MultiheadAttention, exported, does not yet: docs/import.md).
ONNX_ATTENTION = {"build_sdpa_block": (3, 16, 20), "build_scaled_by_numbers": (3, 8, 8)}


@pytest.mark.parametrize("builder, exporter", [(b, e) for b in ONNX_ATTENTION for e in EXPORTERS])
def test_an_attention_export_imports_as_the_module(builder, exporter, tmp_path, torch):
    """SDPA as both exporters write it out (TorchScript at opset 17: the scale 1/√d from q's shape,
    Sqrt folded, q and kᵀ each times its root; dynamo: kᵀ through [B·H, N, d] and back, q and kᵀ
    times a stored root), and products with numbers (Mul, Div): the PyTorch module's parameters,
    MACs (FlopCounterMode / 2 on SDPA's math path) and output, and the scalings as scale layers of
    one multiply per element."""
    import convcalc
    from convcalc.importers import read

    from tests.test_import_attention import truth

    shape = ONNX_ATTENTION[builder]
    model = getattr(import_models, builder)().eval()
    path = str(tmp_path / f"{builder}_{exporter}.onnx")
    if exporter == "dynamo":
        pytest.importorskip("onnxscript")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (torch.randn(1, *shape),), path, dynamo=exporter == "dynamo",
                          opset_version=17 if exporter == "torchscript" else 18)
    report = convcalc.analyze(read(path).spec())
    params, buffers, macs, out = truth(getattr(import_models, builder)(), shape)
    assert (report.total.params, report.total.buffers, report.total.macs, report.output[1:]) == \
        (params, buffers, macs, out)
    scales = [layer for layer in report.layers if layer.kind == "scale"]
    assert all(layer.flops == layer.macs + math.prod(layer.output[1:]) for layer in scales)
    if builder == "build_sdpa_block":  # q [4 heads, 20 tokens, 6] and kᵀ [4, 6, 20], each scaled once
        assert sorted(math.prod(layer.output[1:]) for layer in scales) == [4 * 20 * 6, 4 * 6 * 20]
    else:  # x * 0.5, 3 * x, x / 4, x * -2 on the stem's [4, 6, 6]
        assert [math.prod(layer.output[1:]) for layer in scales] == [4 * 6 * 6] * 4
