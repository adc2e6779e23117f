"""Hold convcalc's reading of ONNX files against the files themselves, with no PyTorch model:

    python scripts/onnx_check.py model.onnx [more.onnx ...]

For each file: MACs counted independently from the graph (onnxruntime runs it and gives every
Conv/ConvTranspose/Gemm/MatMul output's shape; MACs = output elements x input channels per group x kernel
elements, or M x K x N), the parameters the weighted nodes read (initializers of more than one
element, so a stored scalar is not counted), and onnxruntime's output shape, against
`convcalc shapes FILE`'s totals. Used for graphs made outside PyTorch (tf2onnx's Keras exports,
docs/import.md). Needs onnx and onnxruntime (`pip install 'convcalc[onnx]'`).
"""

from __future__ import annotations

import math
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

WEIGHTED = {"Conv": (1, 2), "ConvTranspose": (1, 2), "Gemm": (1, 2), "MatMul": (1,), "BatchNormalization": (1, 2),
            "LayerNormalization": (1, 2), "Add": (0, 1), "Mul": (0, 1), "PRelu": (1,)}


def independent(path: str) -> dict:
    import numpy
    import onnx
    import onnxruntime

    model = onnx.load(path)  # every value's shape as onnxruntime computes it: each made an output
    graph = model.graph
    first = graph.input[0]
    wanted = [out for node in graph.node for out in node.output if out and out not in {o.name for o in graph.output}]
    graph.output.extend([onnx.ValueInfoProto(name=name) for name in wanted])
    session = onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    shape = [d.dim_value or 1 for d in first.type.tensor_type.shape.dim]
    values = session.run(None, {first.name: numpy.random.randn(*shape).astype(numpy.float32)})
    dims = {out.name: list(numpy.shape(v)) for out, v in zip(session.get_outputs(), values)}
    dims[first.name] = shape
    output = dims[session.get_outputs()[0].name]
    size = initializer_dims(graph)
    dims.update(size)
    macs = 0
    for node in graph.node:
        if node.op_type == "Conv":
            w = dims[node.input[1]]
            macs += math.prod(dims[node.output[0]]) * w[1] * math.prod(w[2:])
        elif node.op_type == "ConvTranspose":  # each input value meets its group's C_out/g filters' k taps
            w = dims[node.input[1]]  # [C_in, C_out / g, k...]
            macs += math.prod(dims[node.input[0]]) * math.prod(w[1:])
        elif node.op_type in ("Gemm", "MatMul"):
            a, out = dims[node.input[0]], dims[node.output[0]]
            k = a[-1] if not any(x.name == "transA" and x.i for x in node.attribute) else a[-2]
            macs += math.prod(out) * k
    return {"macs": macs, "params": file_params(graph), "output": list(output)}


def initializer_dims(graph) -> dict[str, list[int]]:
    """Each initializer's dims by name, and by the names TorchScript's Identity nodes hand them on as."""
    size = {t.name: list(t.dims) for t in graph.initializer}
    for node in graph.node:
        if node.op_type == "Identity" and node.input[0] in size:
            size[node.output[0]] = size[node.input[0]]
    return size


def file_params(graph) -> int:
    """The parameters a file holds: the elements of the initializers its weighted nodes read; a
    stored single number (a scalar operand) is not one. A tensor several nodes read is counted once
    when its values differ (a module called twice, a tied weight: one parameter), but at each read
    when it is one value repeated (exporters store equal tensors once: a fresh model's batch norms)."""
    from onnx import numpy_helper

    size = {name: math.prod(dims) for name, dims in initializer_dims(graph).items()}
    stored = {t.name: t for t in graph.initializer}
    alias = {node.output[0]: node.input[0] for node in graph.node if node.op_type == "Identity" and node.input[0] in stored}
    counted, total = set(), 0
    for node in graph.node:
        for i in WEIGHTED.get(node.op_type, ()):
            if i >= len(node.input) or node.input[i] not in size or size[node.input[i]] <= 1:
                continue
            name = alias.get(node.input[i], node.input[i])
            if name in counted:
                continue
            if name in stored and len(set(numpy_helper.to_array(stored[name]).flat)) > 1:
                counted.add(name)
            total += size[name]
    return total


def ours(path: str) -> dict:
    sys.path.insert(0, ROOT)
    import convcalc
    from convcalc.importers import read

    report = convcalc.analyze(read(path).spec())
    return {"macs": report.total.macs, "params": report.total.params, "output": list(report.output)}


def main() -> int:
    sys.path.insert(0, ROOT)
    bad = 0
    for path in sys.argv[1:]:
        from convcalc.errors import ConvcalcError

        try:
            want, got = independent(path), ours(path)
        except ConvcalcError as exc:
            bad += 1
            print(f"{os.path.basename(path):32} FAILS   {exc}")
            continue
        except Exception as exc:  # onnxruntime refuses the file: nothing to hold convcalc against
            bad += 1
            print(f"{os.path.basename(path):32} INVALID onnxruntime cannot run it: {str(exc).splitlines()[0][:200]}")
            continue
        same = want == got
        bad += not same
        print(f"{os.path.basename(path):32} {'exact' if same else 'DIFFERS'}  MACs {got['macs']:,} "
              f"params {got['params']:,} output {'x'.join(map(str, got['output']))}"
              + ("" if same else f"   file: {want}"))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
