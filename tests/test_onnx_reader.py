"""The ONNX reader on small hand-built graphs (onnx.helper, no torch): external data only from real
files inside the model's folder, the node limit checked before the nodes are decoded, a value
written twice refused, Slice of any axis and MatMul + Add over the last axis mapped to kinds."""

from __future__ import annotations

import struct

import pytest

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

import convcalc  # noqa: E402
from convcalc.errors import ConvcalcError  # noqa: E402
from convcalc.importers import protobuf, read  # noqa: E402


def _save(path, nodes, shape, out_shape=None, initializers=(), opset=13):
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info(nodes[-1].output[0], TensorProto.FLOAT, out_shape)], list(initializers))
    onnx.save_model(helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)]), str(path))
    return str(path)


def _ints(name, values):
    return helper.make_tensor(name, TensorProto.INT64, (len(values),), values)


# -- external data -----------------------------------------------------------------------------


def _external_tensor(location: str) -> protobuf.Tensor:
    """A 4-element int64 tensor whose data, as the file says, is in `location`."""
    return protobuf.Tensor("pads", (4,), 7, True, None, (), (("location", location), ("offset", "0"),
                                                             ("length", str(4 * 8))))


def test_external_data_is_read_only_from_a_real_file_inside_the_models_real_folder(tmp_path):
    data = struct.pack("<4q", 1, 2, 3, 4)
    (tmp_path / "secret.bin").write_bytes(data)
    model = tmp_path / "model"
    (model / "sub").mkdir(parents=True)
    (model / "pads.bin").write_bytes(data)
    (model / "sub" / "inner.bin").write_bytes(data)
    (model / "leak.bin").symlink_to("../secret.bin")  # a file link out of the folder
    (model / "outside").symlink_to(tmp_path)  # a folder link out of it
    (model / "alias.bin").symlink_to("sub/inner.bin")  # a link that stays inside: its real file is
    (tmp_path / "linked").symlink_to(model)  # the model's folder reached through a link: its real one
    for folder, location in ((model, "pads.bin"), (model, "sub/inner.bin"), (model, "alias.bin"),
                             (tmp_path / "linked", "pads.bin")):
        assert protobuf.values(b"", _external_tensor(location), str(folder)) == [1, 2, 3, 4], location
    for location in ("leak.bin", "outside/secret.bin", "outside/model/pads.bin/..", "sub", "."):
        assert protobuf.values(b"", _external_tensor(location), str(model)) is None, location


def test_a_symlinked_external_pad_amount_never_reaches_the_spec(tmp_path):
    """A Pad whose amounts are in `pads.bin -> ../secret.bin`: the secret's values are not read,
    so the Pad is unsupported (its amounts unknown), and they appear in no message."""
    (tmp_path / "secret.bin").write_bytes(struct.pack("<6q", 0, 0, 7013, 0, 0, 9029))
    model = tmp_path / "model"
    model.mkdir()
    (model / "pads.bin").symlink_to("../secret.bin")
    pads = _ints("pads", [0, 0, 0, 0, 0, 0])
    pads.ClearField("int64_data")
    pads.data_location = TensorProto.EXTERNAL
    for key, value in (("location", "pads.bin"), ("offset", "0"), ("length", str(6 * 8))):
        pads.external_data.add(key=key, value=value)
    path = _save(model / "m.onnx", [helper.make_node("Pad", ["x", "pads"], ["y"])], [1, 2, 10], initializers=[pads])
    with pytest.raises(ConvcalcError, match="cannot map: Pad") as error:
        read(path).spec()
    message = str(error.value).replace(str(tmp_path), "TMP")  # the folder's name may hold any digit
    assert "7013" not in message and "9029" not in message


# -- limits and malformed graphs ---------------------------------------------------------------


def test_the_node_limit_is_checked_before_the_nodes_past_it_are_decoded(tmp_path, monkeypatch):
    limit, nodes = 50, 400
    monkeypatch.setattr(convcalc.limits, "MAX_LAYERS", limit)
    chain = [helper.make_node("Relu", [f"v{i}" if i else "x"], [f"v{i + 1}"]) for i in range(nodes)]
    path = _save(tmp_path / "long.onnx", chain, [1, 2, 8])
    decoded = []
    real = protobuf.node
    monkeypatch.setattr(protobuf, "node", lambda buf, span: decoded.append(span) or real(buf, span))
    with pytest.raises(ConvcalcError, match=f"the graph has {nodes} nodes, over the limit of {limit}"):
        read(path)
    assert len(decoded) <= limit + 1


def test_a_value_two_nodes_write_is_refused_naming_both(tmp_path):
    nodes = [helper.make_node("Relu", ["x"], ["y"], name="first"), helper.make_node("Sigmoid", ["x"], ["y"]),
             helper.make_node("Tanh", ["y"], ["z"], name="last")]
    path = _save(tmp_path / "twice.onnx", nodes, [1, 2, 8])
    with pytest.raises(ConvcalcError, match=r"the value 'y' is written by two nodes, 'first' \(Relu\) and "
                                            r"node 1 \(Sigmoid\); ONNX defines each value once"):
        read(path)


# -- Slice and MatMul + Add ----------------------------------------------------------------------


def _slice(starts, ends, axes, steps=None, opset=13):
    if opset < 10:
        return helper.make_node("Slice", ["x"], ["y"], starts=starts, ends=ends, axes=axes), []
    names = ["x", "starts", "ends", "axes"] + (["steps"] if steps else [])
    inits = [_ints("starts", starts), _ints("ends", ends), _ints("axes", axes)] + ([_ints("steps", steps)] if steps else [])
    return helper.make_node("Slice", names, ["y"]), inits


BIG = 2 ** 63 - 1  # "to the end", as exporters write it


@pytest.mark.parametrize("opset", [9, 13])
@pytest.mark.parametrize("shape, starts, ends, axes, layers", [
    ([1, 4, 10], [0], [-3], [2], [("crop", {"size": 10 - 3, "offset": 0})]),  # a TCN's chomp: x[:, :, :-3]
    ([1, 4, 9, 12], [2, 3], [2 + 5, 3 + 6], [2, 3], [("crop", {"size": [5, 6]})]),  # U-Net's centre crop
    ([1, 7, 9, 12], [1, 0, -4], [BIG, 5, BIG], [2, 1, 3], [("slice", {"begin": 0, "end": 5}),
                                                             ("crop", {"size": [8, 4], "offset": [1, 8]})]),
    ([1, 6, 5], [0, 3], [BIG, BIG], [0, 1], [("split", {"parts": 2, "index": 1})]),  # the whole batch
])
def test_a_slice_of_any_axes_is_a_slice_split_or_crop(shape, starts, ends, axes, layers, opset, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    import numpy as np

    node, inits = _slice(starts, ends, axes, opset=opset)
    path = _save(tmp_path / "slice.onnx", [node], shape, initializers=inits, opset=opset)
    imported = read(path)
    assert [(layer.kind, layer.args) for layer in imported.layers] == layers
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    (y,) = session.run(None, {"x": np.zeros(shape, dtype=np.float32)})
    assert convcalc.analyze(imported.spec()).output == y.shape


@pytest.mark.parametrize("starts, ends, axes, steps, reason", [
    ([0], [BIG], [2], [2], "a slice with step 2 on axis L"),
    ([0], [1], [0], [1], "a slice of the batch axis"),
    ([4], [4], [1], [1], "an empty slice 4:4 of axis C"),
])
def test_a_slice_no_kind_keeps_exactly_is_refused_saying_why(starts, ends, axes, steps, reason, tmp_path):
    node, inits = _slice(starts, ends, axes, steps)
    path = _save(tmp_path / "slice.onnx", [node], [2, 4, 10], initializers=inits)
    with pytest.raises(ConvcalcError, match=f"cannot map: Slice \\({reason}"):
        read(path)


@pytest.mark.parametrize("shape", [[1, 6], [1, 3, 6], [1, 2, 3, 6]])
def test_matmul_and_the_add_of_its_bias_are_one_linear_over_the_last_axis(shape, tmp_path):
    """nn.Linear on [N, ..., 6] as TorchScript exports it: MatMul by a stored [6, 4], then Add of a
    stored [4]: one linear layer with its bias, 6·4 + 4 parameters, rows·6·4 MACs."""
    import numpy as np

    w = numpy_helper.from_array(np.ones((6, 4), dtype=np.float32), "fc.weight")
    b = numpy_helper.from_array(np.ones(4, dtype=np.float32), "fc.bias")
    nodes = [helper.make_node("MatMul", ["x", "fc.weight"], ["m"]), helper.make_node("Add", ["m", "fc.bias"], ["y"])]
    path = _save(tmp_path / "fc.onnx", nodes, shape, initializers=[w, b])
    imported = read(path)
    assert [(layer.name, layer.kind, layer.args) for layer in imported.layers] == [("fc", "linear", {"out": 4})]
    report = convcalc.analyze(imported.spec())
    rows = int(np.prod(shape[1:-1]))
    assert (report.total.params, report.total.macs, report.output) == (6 * 4 + 4, rows * 6 * 4, (1, *shape[1:-1], 4))
