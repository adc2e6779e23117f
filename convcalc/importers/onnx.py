"""ONNX files as convcalc layers, read without torch and without the onnx package.

protobuf.py reads the graph's structure (nodes, inputs, outputs, initializer shapes; never the
weights). Each node then maps to convcalc kinds by one rule in `RULES`, keyed by operator type, as
the PyTorch importer's tables do; shapes are carried along by convcalc's own shape rules, so the
constant sub-graphs exporters emit for shapes (`Shape` -> `Gather` -> `Concat` -> `Reshape`) are
evaluated as values, no layer. Every node is mapped, evaluated as a constant, a free alias
(`Identity`), or unsupported: listed with its count and place, or an opaque layer with
`allow_unknown` (its shape from the graph's value_info when the file records it).

Parameters are the initializers a layer reads (so a batch norm an exporter folded into the
preceding convolution is that convolution's bias, as in the file); ONNX stores no batch-norm
counter, so a `bn` layer's buffers (PyTorch's 2C + 1) are not checked against the file's 2C.
The graph's batch is its input's first dimension: every activation must keep it.
"""

from __future__ import annotations

import itertools
import math
import mmap
import os
import re
import stat
import struct
from typing import Any, NamedTuple

from .. import limits
from ..args import normalize
from ..errors import ConvcalcError, LayerError, SpecError, UsageError
from ..layers import REGISTRY
from ..sharing import tensor_names
from .mapping import NO_RULE, ChannelsLast, MapperBase, Mapped, Pending, Ref, Rule, rule_table
from .model import Imported, Layer, Unsupported, pad_args, padding_arg, parents, slice_layers, spec_value
from .protobuf import Model, Node, ProtobufError, Tensor, model as parse_model, values as tensor_values


def read(path: str, input_shape: tuple[int, ...] | None, allow_unknown: bool) -> Imported:
    found = load(path)
    try:
        return Mapper(found, path, input_shape, allow_unknown).run()
    except (TypeError, ValueError, IndexError, KeyError, AttributeError, OverflowError) as exc:
        # a graph damaged past what the rules check (each node's own damage is caught in map()):
        # one line, never a traceback
        raise ConvcalcError(f"the graph does not read as ONNX defines it ({type(exc).__name__}: "
                            f"{str(exc)[:80]})", file=path) from None


def load(path: str) -> Model:
    try:
        mode = os.stat(path).st_mode
        if stat.S_ISDIR(mode):
            raise SpecError("is a directory, not an ONNX file", file=path)
        if not stat.S_ISREG(mode):
            raise SpecError("not a regular file; give an ONNX file", file=path)
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if size == 0:
                raise SpecError("is empty, not an ONNX model", file=path)
            with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as buf:
                try:
                    found = parse_model(buf)
                except ProtobufError as exc:
                    raise SpecError(f"not an ONNX model: {exc}", file=path) from None
                # decode the small tensors now: the map closes with the file
                try:
                    return _detach(found, buf, os.path.dirname(os.path.abspath(path)))
                except (TypeError, ValueError, IndexError, OverflowError, struct.error) as exc:
                    raise SpecError(f"not an ONNX model: a tensor does not read as its type says "
                                    f"({type(exc).__name__})", file=path) from None
    except FileNotFoundError:
        raise SpecError("no such file", file=path) from None
    except OSError as exc:
        raise SpecError(f"cannot read: {exc.strerror}", file=path) from None


class Value(NamedTuple):
    """An initializer or a constant tensor: shape and (when small) its elements."""

    name: str
    dims: tuple[int, ...]
    data: list[Any] | None  # flat, or None when large or stored elsewhere
    numel: int


def _detach(found: Model, buf: Any, folder: str) -> Model:
    """The model with every tensor read into a `Value` while the file is mapped (small tensors
    in external data files from their file in `folder`)."""
    graph = found.graph
    initializers = {name: Value(name, t.dims, tensor_values(buf, t, folder), t.numel())
                    for name, t in graph.initializers.items()}
    nodes = []
    for n in graph.nodes:
        attrs = {k: (Value(v.name, v.dims, tensor_values(buf, v, folder), v.numel()) if isinstance(v, Tensor) else v)
                 for k, v in n.attributes.items()}
        nodes.append(n._replace(attributes=attrs))
    return found._replace(graph=graph._replace(nodes=tuple(nodes), initializers=initializers))


# --------------------------------------------------------------------------------------------
# Values while mapping




class Const(NamedTuple):
    """A constant the graph computes or stores: its full shape and elements (None when unknown)."""

    dims: tuple[int, ...]
    data: list[Any] | None
    param: str | None = None  # the initializer it is, when it is one
    numel: int = 0






class GeluStep(NamedTuple):
    """Part of GELU as exporters write it out before opset 20: x / sqrt(2) -> Erf -> + 1 -> * x
    -> * 0.5 (or x * 0.5 first). Not a layer until the pattern completes on the same x."""

    x: Any  # the Ref (or ChannelsLast) GELU is applied to
    step: str  # "div", "erf", "plus1", then "times_x" or "half_plus1"; or "half" (x * 0.5)
    # of a first step ("div", "half"), a product with a number: the scale layer it is when what
    # reads it is no step of GELU (Mapper.scaled), the number and the node that made it
    by: float = 0.0
    made: Any = None




class Call(NamedTuple):
    node: Node
    inputs: tuple[Any, ...]  # Ref, Const, Pending or None (an omitted optional input)
    opset: int
    nd: int
    batch: int

    def attr(self, name: str, default: Any = None) -> Any:
        return self.node.attributes.get(name, default)

    def x(self) -> Ref:
        first = self.inputs[0] if self.inputs else None
        if not isinstance(first, Ref):
            raise Unsupported("its input is not an activation")
        return first

    def const(self, i: int, what: str) -> list[Any] | None:
        """Input i as constant elements (None when omitted)."""
        if i >= len(self.inputs) or self.inputs[i] is None:
            return None
        value = self.inputs[i]
        if not isinstance(value, Const) or value.data is None:
            raise Unsupported(f"its {what} is computed at run time, not a constant")
        return value.data

    def param(self, i: int, what: str) -> Const | None:
        if i >= len(self.inputs) or self.inputs[i] is None:
            return None
        value = self.inputs[i]
        if not isinstance(value, Const):
            raise Unsupported(f"its {what} is computed at run time, not a stored tensor")
        return value


RULES: dict[str, Rule] = {}


rule = rule_table(RULES, "folds_bias", "bias_follows")



def _pairs(pads: list[int], nd: int) -> list[list[int]]:
    """ONNX's [x1_begin, x2_begin, ..., x1_end, x2_end, ...] -> [[begin, end], ...] per axis."""
    return [[pads[i], pads[i + nd]] for i in range(nd)]


def _same_lower(x: Ref, k: list[int], s: list[int], d: list[int]) -> list[list[int]]:
    """auto_pad SAME_LOWER: output ceil(n/s), the odd pixel on the left."""
    pairs = []
    for n, ki, si, di in zip(x.shape[1:], k, s, d):
        total = max((-(-n // si) - 1) * si + di * (ki - 1) + 1 - n, 0)
        pairs.append([total - total // 2, total // 2])
    return pairs


# -- convolutions and dense --------------------------------------------------------------------


@rule("Conv")
def _conv(c: Call) -> Mapped:
    x, w, b = c.x(), c.param(1, "weight"), c.param(2, "bias")
    if len(w.dims) != c.nd + 2:
        raise Unsupported(f"a {len(w.dims) - 2}-D convolution in a {c.nd}-D network")
    k = list(w.dims[2:])
    s = list(c.attr("strides", [1] * c.nd))
    d = list(c.attr("dilations", [1] * c.nd))
    group = c.attr("group", 1)
    args: dict[str, Any] = {"out": w.dims[0], "k": spec_value(k)}
    if spec_value(s) != 1:
        args["s"] = spec_value(s)
    auto = c.attr("auto_pad", "NOTSET")
    if auto == "SAME_UPPER":
        args["p"] = "same"
    elif auto == "SAME_LOWER":
        args["p"] = padding_arg(_same_lower(x, k, s, d))
    elif auto in ("NOTSET", ""):
        pads = list(c.attr("pads", [0] * (2 * c.nd)))
        if any(pads):
            args["p"] = padding_arg(_pairs(pads, c.nd))
    if spec_value(d) != 1:
        args["d"] = spec_value(d)
    if group != 1:
        args["groups"] = group
    if b is None:
        args["bias"] = False
    return Mapped([("conv", args)], [x], w.numel + (b.numel if b else 0))


@rule("ConvTranspose")
def _deconv(c: Call) -> Mapped:
    x, w, b = c.x(), c.param(1, "weight"), c.param(2, "bias")
    if len(w.dims) != c.nd + 2:
        raise Unsupported(f"a {len(w.dims) - 2}-D transposed convolution in a {c.nd}-D network")
    if c.attr("output_shape") is not None or c.attr("auto_pad", "NOTSET") not in ("NOTSET", ""):
        raise Unsupported("output_shape or auto_pad (convcalc's deconv takes explicit padding)")
    group = c.attr("group", 1)
    pairs = _pairs(list(c.attr("pads", [0] * (2 * c.nd))), c.nd)
    if any(a != e for a, e in pairs):
        raise Unsupported("uneven padding")
    args: dict[str, Any] = {"out": w.dims[1] * group, "k": spec_value(w.dims[2:])}
    for key, value, default in (("s", c.attr("strides"), 1), ("p", [a for a, _ in pairs], 0),
                                ("output_padding", c.attr("output_padding"), 0), ("d", c.attr("dilations"), 1)):
        if value is not None and spec_value(value) != default:
            args[key] = spec_value(value)
    if group != 1:
        args["groups"] = group
    if b is None:
        args["bias"] = False
    return Mapped([("deconv", args)], [x], w.numel + (b.numel if b else 0))


def _linear(x: Ref, out: int, params: int, bias: bool) -> Mapped:
    """A product by a stored matrix over the last axis: `linear`, flat or not (MatMul of [N, ..., F])."""
    return Mapped([("linear", {"out": out} if bias else {"out": out, "bias": False})], [x], params)


@rule("Gemm")
def _gemm(c: Call) -> Mapped:
    x, w, b = c.x(), c.param(1, "weight"), c.param(2, "bias")
    if len(x.shape) != 1:
        raise Unsupported(f"a Gemm of a [{'x'.join(map(str, (c.batch, *x.shape)))}] tensor (ONNX's Gemm takes a matrix)")
    if c.attr("transA", 0) or c.attr("alpha", 1.0) != 1.0 or c.attr("beta", 1.0) != 1.0 or len(w.dims) != 2:
        raise Unsupported("a Gemm with transA, alpha or beta")
    out = w.dims[0] if c.attr("transB", 0) else w.dims[1]
    if b is not None and b.numel != out:
        raise Unsupported("a Gemm whose C is not a bias per output")
    return _linear(x, out, w.numel + (b.numel if b else 0), b is not None)


def _matmul_channels_last(mapper: Any, c: Call, x: Ref) -> Mapped:
    """A product of a channels-last view by a stored [C, out] matrix (nn.Linear on it): a 1x1 conv,
    whose bias the next Add may be."""
    w = c.param(1, "weight")
    if len(w.dims) != 2 or w.dims[0] != x.shape[0]:
        raise Unsupported("a matrix product of a channels-last view by other than a [C, out] matrix")
    return Mapped([("conv", {"out": w.dims[1], "k": 1, "bias": False})], [x], w.numel)


@rule("MatMul", channels_last=_matmul_channels_last, bias_follows=True)
def _matmul(c: Call) -> Mapped:
    if len(c.inputs) == 2 and all(isinstance(v, Ref) for v in c.inputs):  # two activations: q @ kᵀ, p @ v
        u, v = c.inputs
        if len(u.shape) != len(v.shape) or len(u.shape) < 2:
            raise Unsupported("a product of activations of different ranks, or of fewer than 2 axes per sample")
        return Mapped([("matmul", {})], [u, v])
    x, w = c.x(), c.param(1, "weight")
    if len(w.dims) != 2 or w.dims[0] != x.shape[-1]:
        raise Unsupported("a matrix product with a stored tensor other than an [F, out] matrix")
    return _linear(x, w.dims[1], w.numel, False)


# -- normalization -------------------------------------------------------------------------------


@rule("BatchNormalization")
def _bn(c: Call) -> Mapped:
    x = c.x()
    if c.attr("training_mode", 0) or len(c.node.outputs) > 1 and any(c.node.outputs[1:]):
        raise Unsupported("batch norm in training mode")
    scale, bias = c.param(1, "scale"), c.param(2, "bias")
    args = {} if abs(c.attr("epsilon", 1e-5) - 1e-5) < 1e-12 else {"eps": _float(c.attr("epsilon"))}
    return Mapped([("bn", args)], [x], scale.numel + bias.numel)


def _float(value: float) -> float:
    """A float32 attribute as the decimal people wrote (1e-3, not 0.0010000000474974513)."""
    return float(f"{value:.7g}")


@rule("InstanceNormalization")
def _in(c: Call) -> Mapped:
    scale, bias = c.param(1, "scale"), c.param(2, "bias")
    args: dict[str, Any] = {"affine": True}
    if abs(c.attr("epsilon", 1e-5) - 1e-5) > 1e-12:
        args["eps"] = _float(c.attr("epsilon"))
    return Mapped([("in", args)], [c.x()], scale.numel + bias.numel)


def _ln_channels_last(mapper: Any, c: Call, x: Ref) -> Mapped:
    """A layer norm over the last axis of a channels-last view: convcalc's ln over the channels."""
    scale, bias = c.param(1, "scale"), c.param(2, "bias")
    if c.attr("axis", -1) % (len(x.shape) + 1) != len(x.shape) or bias is None or scale.numel != x.shape[0]:
        raise Unsupported("a layer norm of a channels-last view over other than the channels, or without a bias")
    args: dict[str, Any] = {}
    if abs(c.attr("epsilon", 1e-5) - 1e-5) > 1e-12:
        args["eps"] = _float(c.attr("epsilon"))
    return Mapped([("ln", args)], [x], scale.numel + bias.numel)


@rule("LayerNormalization", channels_last=_ln_channels_last)
def _ln(c: Call) -> Mapped:
    x = c.x()
    axis = c.attr("axis", -1) % (len(x.shape) + 1)
    scale, bias = c.param(1, "scale"), c.param(2, "bias")
    last = len(x.shape) > 1 and axis == len(x.shape)  # tokens [N, E] over E (ViT): ln over=last
    if (axis != 1 and not last) or bias is None:
        raise Unsupported("a layer norm over the last axes only, or without a bias (convcalc's ln normalizes "
                          "the channels at each position, the last axis, or the whole sample)")
    args: dict[str, Any] = {"over": "last"} if last else {} if len(x.shape) == 1 else {"over": "all"}
    if abs(c.attr("epsilon", 1e-5) - 1e-5) > 1e-12:
        args["eps"] = _float(c.attr("epsilon"))
    return Mapped([("ln", args)], [x], scale.numel + bias.numel)


@rule("GroupNormalization")
def _gn(c: Call) -> Mapped:
    x = c.x()
    scale, bias = c.param(1, "scale"), c.param(2, "bias")
    if scale.numel != x.shape[0]:
        raise Unsupported("a group norm with a scale per group (opset 18's; convcalc's gn has one per channel)")
    args: dict[str, Any] = {"groups": c.attr("num_groups")}
    if abs(c.attr("epsilon", 1e-5) - 1e-5) > 1e-12:
        args["eps"] = _float(c.attr("epsilon"))
    return Mapped([("gn", args)], [x], scale.numel + bias.numel)


@rule("LRN")
def _lrn(c: Call) -> Mapped:
    return Mapped([("lrn", {"size": c.attr("size"), "alpha": _float(c.attr("alpha", 1e-4)),
                            "beta": _float(c.attr("beta", 0.75)), "k": _float(c.attr("bias", 1.0))})], [c.x()])


# -- activations -------------------------------------------------------------------------------

_SIMPLE = {"Relu": "relu", "Sigmoid": "sigmoid", "Tanh": "tanh", "HardSwish": "hardswish", "Mish": "mish"}


@rule(*_SIMPLE, per_position=True)
def _simple(c: Call) -> Mapped:
    return Mapped([(_SIMPLE[c.node.op_type], {})], [c.x()])


@rule("LeakyRelu", per_position=True)
def _leaky(c: Call) -> Mapped:
    alpha = _float(c.attr("alpha", 0.01))
    return Mapped([("leakyrelu", {} if alpha == 0.01 else {"slope": alpha})], [c.x()])


@rule("Elu", per_position=True)
def _elu(c: Call) -> Mapped:
    alpha = _float(c.attr("alpha", 1.0))
    return Mapped([("elu", {} if alpha == 1.0 else {"alpha": alpha})], [c.x()])


@rule("HardSigmoid", per_position=True)
def _hardsigmoid(c: Call) -> Mapped:
    if abs(c.attr("alpha", 0.2) - 1 / 6) > 1e-6 or abs(c.attr("beta", 0.5) - 0.5) > 1e-6:
        raise Unsupported("a hard sigmoid other than relu6(x + 3) / 6")
    return Mapped([("hardsigmoid", {})], [c.x()])


@rule("Clip", per_position=True)
def _clip(c: Call) -> Any:
    if isinstance(c.inputs[0], Const):  # max(pad, 0) on sizes (timm's pad_same as TorchScript exports it)
        data = c.const(0, "input")
        low, high = (c.attr("min"), c.attr("max")) if c.opset < 11 else (
            (c.const(1, "minimum") or [None])[0], (c.const(2, "maximum") or [None])[0])
        return Const(c.inputs[0].dims, [min(max(v, low) if low is not None else v, high) if high is not None
                                        else (max(v, low) if low is not None else v) for v in data])
    if c.opset < 11:
        low, high = c.attr("min", -math.inf), c.attr("max", math.inf)
    else:
        low_data, high_data = c.const(1, "minimum"), c.const(2, "maximum")
        low = low_data[0] if low_data else -math.inf
        high = high_data[0] if high_data else math.inf
    if low == 0 and high == 6:
        return Mapped([("relu6", {})], [c.x()])
    if low == 0 and high == math.inf:
        return Mapped([("relu", {})], [c.x()])
    raise Unsupported(f"a clip to [{low}, {high}] (convcalc has relu and relu6)")


@rule("Gelu", per_position=True)
def _gelu(c: Call) -> Mapped:
    approximate = c.attr("approximate", "none")
    return Mapped([("gelu", {} if approximate == "none" else {"approximate": approximate})], [c.x()])


@rule("PRelu")
def _prelu(c: Call) -> Mapped:
    x, slope = c.x(), c.param(1, "slope")
    if slope.numel not in (1, x.shape[0]):
        raise Unsupported("a PRelu slope that is neither one nor one per channel")
    return Mapped([("prelu", {"per_channel": True} if slope.numel > 1 else {})], [x], slope.numel)


def _softmax(c: Call, kind: str) -> Mapped:
    x = c.x()
    axis = c.attr("axis", -1 if c.opset >= 13 else 1) % (len(x.shape) + 1)
    if axis == 0 or (c.opset < 13 and (axis != 1 or len(x.shape) > 1)) or (kind == "log_softmax" and axis != 1):
        raise Unsupported(f"{kind} over an axis other than the channels" + (" or a later one" if kind == "softmax" else ""))
    return Mapped([(kind, {} if axis == 1 else {"dim": -1 if axis == len(x.shape) else axis})], [x])


@rule("Softmax")
def _softmax_rule(c: Call) -> Mapped:
    return _softmax(c, "softmax")


@rule("LogSoftmax")
def _log_softmax_rule(c: Call) -> Mapped:
    return _softmax(c, "log_softmax")


# -- merges and elementwise -------------------------------------------------------------------


@rule("Add", channels_last="rule", folds_bias=True)
@rule("Mul", "Sub", "Div", channels_last="rule")
def _binary(c: Call) -> Any:
    a, b = c.inputs[0], c.inputs[1]
    op = c.node.op_type
    if isinstance(a, Const) and isinstance(b, Const):
        return _fold(op, a, b)
    step = _gelu_step(op, a, b)
    if isinstance(step, GeluStep) and step.step in ("div", "half"):
        number = _number(b if isinstance(b, Const) else a)
        if number is not None:
            return step._replace(by=1 / number if op == "Div" else number, made=c)
    if step is not None:
        return step
    if isinstance(a, Ref) and isinstance(b, Ref) and op in ("Add", "Mul"):
        if op == "Add" and a.shape != b.shape:
            raise Unsupported("a broadcasting add")
        if len(a.shape) != len(b.shape):
            raise Unsupported("a product of tensors of different ranks")
        return Mapped([(op.lower(), {})], [a, b])
    x, p = (a, b) if isinstance(a, Ref) else (b, a)
    if isinstance(b, ChannelsLast) and op in ("Mul", "Div"):
        x, p = b, a
    elif isinstance(a, ChannelsLast):
        x, p = a, b
    activation = x.ref if isinstance(x, ChannelsLast) else x
    number = _number(p) if isinstance(activation, Ref) and isinstance(p, Const) \
        and len(p.dims) <= len(activation.shape) + 1 else None
    if number is not None and (op == "Mul" or op == "Div" and x is a and number != 0):
        # attention's scaling (q·√scale, scores / √d), x * 0.5: one multiply per element
        return Mapped([("scale", {"by": number if op == "Mul" else 1 / number})], [x])
    if op == "Mul" and isinstance(x, Ref) and isinstance(p, Const) and p.param is not None:
        wanted = (x.shape[0],) + (1,) * (len(x.shape) - 1)
        if p.dims in (wanted, (1,) + wanted):
            return Mapped([("layer_scale", {})], [x], p.numel)
    if op == "Add" and isinstance(x, Ref) and isinstance(p, Const) and p.param is not None \
            and p.dims in (x.shape, (1, *x.shape)):
        return Mapped([("pos_embed", {})], [x], p.numel)  # ViT's x + pos_embedding, a learned [1, N, E]
    raise Unsupported("with a constant or a parameter (an affine transform convcalc has no kind for)")


def _number(value: Any) -> float | None:
    """A constant that is one finite number (any rank of size-1 axes), else None."""
    if not isinstance(value, Const) or value.data is None or len(value.data) != 1 or math.prod(value.dims) != 1:
        return None
    number = value.data[0]
    if isinstance(number, bool) or not isinstance(number, (int, float)) or not math.isfinite(number):
        return None
    return float(number)


def _continues_gelu(op: str, inputs: tuple[Any, ...]) -> bool:
    """Whether an operator reading GELU's first step is GELU's next step."""
    if op == "Erf":
        return isinstance(inputs[0], GeluStep) and inputs[0].step == "div"
    return op in ("Add", "Mul") and len(inputs) == 2 and _gelu_step(op, *inputs) is not None


def _scalar(value: Any, wanted: float) -> bool:
    return (isinstance(value, Const) and value.data is not None and len(value.data) == 1
            and isinstance(value.data[0], float) and abs(value.data[0] - wanted) < 1e-6)


def _gelu_step(op: str, a: Any, b: Any) -> Any:
    """The next step of GELU written out (GeluStep), GELU itself when it completes, or None."""
    activation = (Ref, ChannelsLast)
    if op == "Div" and isinstance(a, activation) and _scalar(b, math.sqrt(2)):
        return GeluStep(a, "div")
    if op == "Mul" and isinstance(a, activation) and _scalar(b, 1 / math.sqrt(2)):
        return GeluStep(a, "div")
    if op == "Add":
        step, one_ = (a, b) if isinstance(a, GeluStep) else (b, a)
        if isinstance(step, GeluStep) and step.step == "erf" and _scalar(one_, 1.0):
            return step._replace(step="plus1")
    if op != "Mul":
        return None
    gelu = None
    for u, v in ((a, b), (b, a)):
        if isinstance(u, activation) and _scalar(v, 0.5):
            return GeluStep(u, "half")
        if not isinstance(u, GeluStep):
            continue
        if u.step == "plus1":
            if v == u.x:
                return GeluStep(u.x, "times_x")
            if _scalar(v, 0.5):
                return GeluStep(u.x, "half_plus1")
            if isinstance(v, GeluStep) and v.step == "half" and v.x == u.x:
                gelu = u.x
        elif u.step == "times_x" and _scalar(v, 0.5) or u.step == "half_plus1" and v == u.x:
            gelu = u.x
    return Mapped([("gelu", {})], [gelu]) if gelu is not None else None


@rule("Erf", channels_last="rule")
def _erf(c: Call) -> GeluStep:
    x = c.inputs[0]
    if isinstance(x, GeluStep) and x.step == "div":
        return x._replace(step="erf")
    raise Unsupported("an Erf that is not part of GELU")


def _divide(u: Any, v: Any) -> Any:
    """ONNX's Div: integers divide truncating toward zero, as onnxruntime does (-15 / 2 = -7), not
    as Python's // (-8). TorchScript exports `-(-h // s)` as Neg, Div, Neg, so the file then pads
    otherwise than the PyTorch code did: convcalc reads what the file computes."""
    if isinstance(u, int) and isinstance(v, int):
        if v == 0:
            raise Unsupported("an integer division by zero")
        q = abs(u) // abs(v)
        return q if (u < 0) == (v < 0) else -q
    return u / v


def _fold(op: str, a: Const, b: Const) -> Const:
    if a.data is None or b.data is None:
        raise Unsupported("arithmetic on large constants")
    x, y = a.data, b.data
    if len(x) != len(y):
        if len(x) == 1:
            x = x * len(y)
        elif len(y) == 1:
            y = y * len(x)
        else:
            raise Unsupported("broadcasting constants")
    fn = {"Add": lambda u, v: u + v, "Mul": lambda u, v: u * v, "Sub": lambda u, v: u - v,
          "Div": _divide, "Mod": _modulo, "Equal": lambda u, v: u == v, "Less": lambda u, v: u < v,
          "Greater": lambda u, v: u > v, "And": lambda u, v: bool(u and v), "Or": lambda u, v: bool(u or v)}[op]
    dims = a.dims if len(a.dims) >= len(b.dims) else b.dims
    return Const(dims, [fn(u, v) for u, v in zip(x, y)])


def _modulo(u: Any, v: Any) -> Any:
    """ONNX's Mod (fmod 0, integers): the remainder takes the divisor's sign, as Python's % does."""
    if v == 0:
        raise Unsupported("a modulo by zero")
    return u % v


@rule("Mod", "Equal", "Less", "Greater", "And", "Or")
def _compare(c: Call) -> Const:
    """Shape arithmetic on constants (nn.MultiheadAttention's checks, as the TorchScript exporter
    writes them: embed_dim % num_heads, a shape == -1 before a Where): folded."""
    a, b = c.inputs[0], c.inputs[1]
    if not (isinstance(a, Const) and isinstance(b, Const)):
        raise Unsupported("on an activation (convcalc folds it on constants only)")
    if c.node.op_type == "Mod" and c.attr("fmod", 0):
        raise Unsupported("a floating-point modulo (fmod)")
    return _fold(c.node.op_type, a, b)


@rule("Where")
def _where(c: Call) -> Const:
    """A choice between constants by a constant condition (the TorchScript exporter's
    `shape == -1 ? 1 : shape` for an Expand): folded."""
    values = [c.const(i, "input") for i in range(3)]
    if any(len(v) != len(values[0]) and len(v) != 1 for v in values) or len({len(v) for v in values}) > 2:
        raise Unsupported("broadcasting constants")
    n = max(len(v) for v in values)
    cond, yes, no = ([v[0]] * n if len(v) == 1 else v for v in values)
    dims = max((v.dims for v in c.inputs), key=len)
    return Const(dims, [u if k else w for k, u, w in zip(cond, yes, no)])


@rule("Expand")
def _expand(c: Call) -> Const:
    """A parameter expanded along the batch only (ViT's class_token.expand(B, -1, -1)): the same
    values per sample, the parameter itself; the concatenation in front of the tokens reads it."""
    value, shape = c.inputs[0], c.const(1, "shape")
    if not isinstance(value, Const):
        raise Unsupported("an Expand of an activation")
    dims = list(value.dims)
    full = [max(u, v) for u, v in zip([1] * (len(shape) - len(dims)) + dims, shape)] if len(shape) >= len(dims) else None
    if full is None or full[1:] != dims[1:] or (dims and dims[0] != 1) or full[0] not in (1, c.batch):
        raise Unsupported("an Expand other than of a [1, ...] parameter along the batch")
    return value


@rule("Concat")
def _concat(c: Call) -> Any:
    if all(isinstance(v, Const) for v in c.inputs):
        data: list[Any] = []
        for v in c.inputs:
            if v.data is None:
                raise Unsupported("concatenating large constants")
            data += v.data
        return Const((len(data),), data)
    if (len(c.inputs) == 2 and isinstance(c.inputs[0], Const) and c.inputs[0].param is not None
            and isinstance(c.inputs[1], Ref) and len(c.inputs[1].shape) == 2
            and c.attr("axis") % 3 == 1 and c.inputs[0].dims == (1, 1, c.inputs[1].shape[1])):
        # ViT's cat([class_token.expand(B, -1, -1), x], dim=1): a learned [1, 1, E] token in front
        return Mapped([("cls_token", {})], [c.inputs[1]], c.inputs[0].numel)
    if not all(isinstance(v, Ref) for v in c.inputs):
        raise Unsupported("concatenating an activation with a constant")
    axis = c.attr("axis") % (len(c.inputs[0].shape) + 1)
    if axis != 1:
        raise Unsupported("concatenation along an axis other than the channels")
    if len(c.inputs) == 1:
        return c.inputs[0]
    return Mapped([("concat", {})], list(c.inputs))


# -- pooling -----------------------------------------------------------------------------------


def _pool(c: Call, kind: str) -> Mapped:
    x = c.x()
    if len(c.node.outputs) > 1 and c.node.outputs[1]:
        raise Unsupported("a max pool that returns its indices")
    if c.attr("auto_pad", "NOTSET") not in ("NOTSET", "", "VALID"):
        raise Unsupported(f"auto_pad {c.attr('auto_pad')}")
    k = list(c.attr("kernel_shape"))
    s = list(c.attr("strides", [1] * c.nd))
    pairs = _pairs(list(c.attr("pads", [0] * (2 * c.nd))), c.nd)
    before: list[tuple[str, dict[str, Any]]] = []
    if any(a != e for a, e in pairs) or any(a > kk // 2 for (a, _), kk in zip(pairs, k)):
        # TensorFlow's SAME padding of a stride-2 pool pads one more at the end: a pad layer first,
        # filled with -inf for a max pool (never the maximum), zeros for an average that counts them
        if kind == "maxpool":
            before = [("pad", {"p": padding_arg(pairs), "value": float("-inf")})]
        elif c.attr("count_include_pad", 0):
            before = [("pad", {"p": padding_arg(pairs)})]
        else:
            raise Unsupported("an average pool with uneven padding that it does not count")
        pairs = [[0, 0]] * c.nd
    args: dict[str, Any] = {"k": spec_value(k)}
    if s != k:
        args["s"] = spec_value(s)
    if any(a for a, _ in pairs):
        args["p"] = spec_value([a for a, _ in pairs])
    if kind == "maxpool" and spec_value(c.attr("dilations", [1] * c.nd)) != 1:
        args["d"] = spec_value(c.attr("dilations"))
    if c.attr("ceil_mode", 0):
        args["ceil_mode"] = True
    if kind == "avgpool" and not c.attr("count_include_pad", 0) and any(a for a, _ in pairs):
        args["count_include_pad"] = False
    return Mapped(before + [(kind, args)], [x])


@rule("MaxPool")
def _maxpool(c: Call) -> Mapped:
    return _pool(c, "maxpool")


@rule("AveragePool")
def _avgpool(c: Call) -> Mapped:
    return _pool(c, "avgpool")


@rule("GlobalAveragePool")
def _gap(c: Call) -> Mapped:
    return Mapped([("gap", {})], [c.x()])


@rule("GlobalMaxPool")
def _gmp(c: Call) -> Mapped:
    return Mapped([("adaptive_maxpool", {"size": 1})], [c.x()])


class Widened(NamedTuple):
    """An activation with a size-1 axis put in (Unsqueeze): torch's dynamo exporter writes a 1-D
    adaptive average pool as Unsqueeze, a 2-D ReduceMean and Squeeze back. Only that mean and the
    Squeeze of the same axis may read it."""

    ref: Ref
    axis: int  # in full indexing (batch = 0), of the widened rank


@rule("ReduceMean")
def _mean(c: Call) -> Mapped:
    if isinstance(c.inputs[0], Widened):  # the 1-D pool's detour: the mean over every spatial axis
        wide = c.inputs[0]
        axes = c.attr("axes") if c.opset < 18 else c.const(1, "axes")
        rank = len(wide.ref.shape) + 2
        if axes is None or sorted(a % rank for a in axes) != list(range(2, rank)) or not c.attr("keepdims", 1):
            raise Unsupported("a mean of a widened activation other than global average pooling")
        return Mapped([("gap", {})], [wide.ref], widened=wide.axis)
    x = c.x()
    axes = c.attr("axes") if c.opset < 18 else c.const(1, "axes")
    rank = len(x.shape) + 1
    if axes is None or sorted(a % rank for a in axes) != list(range(2, rank)):
        raise Unsupported("a mean over axes other than every spatial one (that is global average pooling)")
    if c.attr("keepdims", 1):
        return Mapped([("gap", {})], [x])
    return Mapped([("gap", {}), ("flatten", {})], [x])


# -- shapes ------------------------------------------------------------------------------------


def _as_shape(c: Call, x: Ref, full: list[int]) -> Any:
    """An activation given a new full shape [N, ...]: an alias, flatten or reshape layer."""
    if full[0] != c.batch:
        raise Unsupported("it changes the batch dimension")
    out = tuple(full[1:])
    if out == x.shape:
        return x
    if len(out) == 1 and len(x.shape) > 1:
        return Mapped([("flatten", {})], [x])
    if (len(out) == len(x.shape) + 1 and 1 < out[0] < x.shape[0] and out[0] * out[1] == x.shape[0]
            and out[2:] == x.shape[1:]):
        return Pending(x, out[0], False)  # maybe a channel shuffle
    if len(out) > 8:
        raise Unsupported(f"a reshape to a rank-{len(out) + 1} tensor (convcalc's transpose numbers up to 8 axes)")
    return Mapped([("reshape", {"shape": list(out)})], [x])


@rule("Reshape", shuffle="rule", channels_last="flatten")
def _reshape(c: Call) -> Any:
    data = c.inputs[0]
    target = c.const(1, "shape")
    if isinstance(data, Pending):
        full = [c.batch, *data.ref.shape]
        if not data.transposed:
            raise Unsupported("a view of the channels as two axes")
        shape = _resolve_reshape([c.batch, data.groups, data.ref.shape[0] // data.groups, *data.ref.shape[1:]],
                                 target, c.attr("allowzero", 0))
        if shape != full:
            raise Unsupported("a view of the channels as two axes")
        return Mapped([("channel_shuffle", {"groups": data.groups})], [data.ref])
    if isinstance(data, Const):
        if data.data is None:
            raise Unsupported("reshaping a large constant")
        return Const(tuple(_resolve_reshape(list(data.dims), target, 0)), data.data)
    if isinstance(data, BatchMerged):  # the heads given back their own axis: the (transposed) heads
        full = _resolve_reshape([c.batch * data.ref.shape[0], *data.shape], target, c.attr("allowzero", 0))
        if full != [c.batch, data.ref.shape[0], *data.shape]:
            raise Unsupported("a reshape of heads merged into the batch other than back to [B, H, ...]")
        rank = len(data.ref.shape) + 1
        return Mapped([("transpose", {"dim0": rank - 2, "dim1": rank - 1})], [data.ref]) if data.swapped else data.ref
    x = c.x()
    full = _resolve_reshape([c.batch, *x.shape], target, c.attr("allowzero", 0))
    if len(x.shape) >= 3 and full == [c.batch * x.shape[0], *x.shape[1:]]:
        return BatchMerged(x, x.shape[1:])  # the dynamo exporter's kᵀ in SDPA: [B·H, N, d], transposed, back
    if len(full) == 1 and c.batch == 1:
        return Storage(x)  # every element in one row: maybe torch's as_strided, a Gather follows
    return _as_shape(c, x, full)


class BatchMerged(NamedTuple):
    """Heads [B, H, N, d] reshaped to [B·H, N, d] (torch's dynamo exporter transposes k so in
    scaled_dot_product_attention): only a Transpose of the last two axes and the Reshape back to
    [B, H, ...] read it; `shape` is the merged tensor's per-matrix [N, d] (swapped when transposed)."""

    ref: Ref
    shape: tuple[int, ...]
    swapped: bool = False


class Storage(NamedTuple):
    """An activation reshaped to one row, batch included (torch's dynamo exporter writes
    `as_strided` as this and a Gather): only a Gather that puts every element back is mapped."""

    ref: Ref


def _resolve_reshape(dims: list[int], target: list[int], allowzero: int) -> list[int]:
    out = [dims[i] if v == 0 and not allowzero and i < len(dims) else v for i, v in enumerate(target)]
    total = math.prod(dims)
    if -1 in out:
        known = math.prod(v for v in out if v != -1)
        if known == 0 or total % known:
            raise Unsupported("a reshape that does not divide")
        out[out.index(-1)] = total // known
    if math.prod(out) != total:
        raise Unsupported("a reshape that changes the number of elements")
    return out


@rule("Flatten", channels_last="flatten")
def _flatten(c: Call) -> Any:
    x = c.x()
    axis = c.attr("axis", 1) % (len(x.shape) + 1)
    if axis != 1:
        raise Unsupported(f"a flatten at axis {axis}")
    return _as_shape(c, x, [c.batch, math.prod(x.shape)])


def _axes(c: Call) -> list[int] | None:
    return c.attr("axes") if c.opset < 13 else c.const(1, "axes")


@rule("Squeeze", "Unsqueeze")
def _squeeze(c: Call) -> Any:
    data = c.inputs[0]
    axes = _axes(c)
    if isinstance(data, Widened):  # back from the detour: the axis it put in
        rank = len(data.ref.shape) + 2
        if c.node.op_type == "Squeeze" and axes and [a % rank for a in axes] == [data.axis]:
            return data.ref
        raise Unsupported("a reshape of a widened activation other than back")
    dims = list(data.dims) if isinstance(data, Const) else [c.batch, *c.x().shape]
    if c.node.op_type == "Unsqueeze" and isinstance(data, Ref) and axes and len(axes) == 1:
        rank = len(dims) + 1
        axis = axes[0] % rank
        if 2 <= axis and len(dims) - 1 < 3 and len(dims) > 2:  # a spatial axis of size 1 in a 1-D or 2-D map
            return Widened(data, axis)
    if c.node.op_type == "Unsqueeze":
        rank = len(dims) + len(axes)
        for a in sorted(v % rank for v in axes):
            dims.insert(a, 1)
    else:
        rank = len(dims)
        drop = {a % rank for a in axes} if axes else {i for i, v in enumerate(dims) if v == 1}
        dims = [v for i, v in enumerate(dims) if i not in drop]
    if isinstance(data, Const):
        return Const(tuple(dims), data.data)
    if not dims:
        raise Unsupported("it changes the batch dimension")
    return _as_shape(c, c.x(), dims)


@rule("Transpose", shuffle="rule", channels_last="rule")
def _transpose(c: Call) -> Any:
    data = c.inputs[0]
    perm = list(c.attr("perm", []))
    if isinstance(data, Pending) and not data.transposed and perm[:3] == [0, 2, 1] and perm[3:] == list(range(3, len(perm))):
        return data._replace(transposed=True)
    if isinstance(data, Ref) and len(data.shape) > 2 and perm == [0, *range(2, len(data.shape) + 1), 1]:
        return ChannelsLast(data)
    moved = [i for i, p in enumerate(perm) if p != i]
    if isinstance(data, Ref) and len(perm) == len(data.shape) + 1 and len(moved) == 2 and moved[0] > 0 \
            and perm[moved[0]] == moved[1]:  # two axes swapped (tokens, heads): a transpose layer
        return Mapped([("transpose", {"dim0": moved[0], "dim1": moved[1]})], [data])
    if isinstance(data, BatchMerged) and perm == [*range(len(perm) - 2), len(perm) - 1, len(perm) - 2]:
        return data._replace(shape=(*data.shape[:-2], data.shape[-1], data.shape[-2]), swapped=not data.swapped)
    if isinstance(data, ChannelsLast) and perm == [0, len(data.ref.shape), *range(1, len(data.ref.shape))]:
        return data.ref
    if isinstance(data, Const) and data.data is not None:  # of a constant (torch's F.pad argument reversed)
        dims = list(data.dims)
        perm = perm or list(reversed(range(len(dims))))
        strides = [math.prod(dims[i + 1:]) for i in range(len(dims))]
        out = [dims[p] for p in perm]
        picked = [data.data[sum(index[perm.index(axis)] * strides[axis] for axis in range(len(dims)))]
                  for index in itertools.product(*(range(n) for n in out))]
        return Const(tuple(out), picked)
    raise Unsupported("a transpose other than to channels-last and back (or of a channels-last input first)")


@rule("Shape")
def _shape(c: Call) -> Const:
    data = c.inputs[0]
    dims = list(data.dims) if isinstance(data, Const) else [c.batch, *c.x().shape]
    start, end = c.attr("start", 0), c.attr("end")
    dims = dims[start:end] if end is not None else dims[start:]
    return Const((len(dims),), dims)


@rule("Gather")
def _gather(c: Call) -> Any:
    storage = c.inputs[0]
    if isinstance(storage, Storage):  # as_strided back to the same shape and strides: the tensor itself
        x = storage.ref
        index = c.const(1, "indices")
        if c.attr("axis", 0) == 0 and tuple(c.inputs[1].dims) == (c.batch, *x.shape) and index == list(range(len(index))):
            return x
        raise Unsupported("a gather of an activation's elements (as_strided)")
    data, index = c.const(0, "data"), c.const(1, "indices")
    if c.attr("axis", 0) != 0:
        raise Unsupported("a gather along an axis other than 0")
    picked = [data[i % len(data)] for i in index]
    dims = c.inputs[1].dims
    return Const(tuple(dims), picked)


@rule("Slice")
def _slice(c: Call) -> Any:
    if isinstance(c.inputs[0], Ref):
        return _activation_slice(c, c.inputs[0])
    data, dims = c.const(0, "data"), list(c.inputs[0].dims) or [1]
    starts, ends, axes, steps = _slice_args(c)
    ranges = [range(n) for n in dims]  # per axis, the indices kept, as Python's slicing keeps them
    for axis, start, end, step in zip(axes, starts, ends, steps):
        if step == 0:
            raise Unsupported("a slice with step 0")
        n = dims[axis % len(dims)]
        ranges[axis % len(dims)] = range(n)[slice(max(min(start, n), -n - 1), max(min(end, n), -n - 1), step)]
    return _pick(data, dims, ranges)


def _slice_args(c: Call) -> tuple[list[int], list[int], list[int], list[int]]:
    """Slice's starts, ends, axes and steps: inputs from opset 10, attributes before it."""
    if c.opset < 10:
        starts, ends = list(c.attr("starts")), list(c.attr("ends"))
        return starts, ends, list(c.attr("axes", range(len(starts)))), [1] * len(starts)
    starts, ends = c.const(1, "starts"), c.const(2, "ends")
    return starts, ends, c.const(3, "axes") or list(range(len(starts))), c.const(4, "steps") or [1] * len(starts)


def _pick(data: list[Any], dims: list[int], ranges: list[Any]) -> Const:
    """The elements of a small constant at the product of per-axis index lists, row-major."""
    strides = [math.prod(dims[i + 1:]) for i in range(len(dims))]
    picked = [data[sum(i * st for i, st in zip(index, strides))] for index in itertools.product(*ranges)]
    return Const(tuple(len(r) for r in ranges), picked)


class Parts(NamedTuple):
    """Split of an activation into equal parts of its channels: a split layer per output read."""

    ref: Ref
    parts: int


@rule("Split")
def _split(c: Call) -> Parts:
    x = c.x()
    axis = c.attr("axis", 0) % (len(x.shape) + 1)
    sizes = c.const(1, "split") if c.opset >= 13 else c.attr("split")
    n = len(c.node.outputs)
    if axis != 1 or (sizes is not None and len(set(sizes)) != 1) or x.shape[0] % n:
        raise Unsupported("a split into parts that are not equal parts of the channels")
    return Parts(x, n)


def _activation_slice(c: Call, x: Ref) -> Any:
    """x[:, a:b] (GhostNet's, DPN's; ShuffleNet's x.chunk(2, dim=1) as TorchScript exports it),
    x[:, :, :-k] (a TCN's chomp), x[:, :, a:b, c:d] (U-Net's centre crop): ranges of any axes but
    the batch, as the layers `slice_layers` gives (slice, split, crop). ONNX clamps starts and ends
    to the axis as Python's slicing does for a step of 1 (an end of 2^63 - 1 is "to the end")."""
    starts, ends, axes, steps = _slice_args(c)
    dims = (c.batch, *x.shape)
    ranges = [(0, n, 1) for n in dims]
    if not len(starts) == len(ends) == len(axes) == len(steps) or len(set(a % len(dims) for a in axes)) != len(axes) \
            or any(not -len(dims) <= a < len(dims) for a in axes) or 0 in steps:
        raise ValueError("Slice's starts, ends, axes and steps do not fit the tensor")
    for axis, start, end, step in zip(axes, starts, ends, steps):
        if axis % len(dims) == 0 and (start, step) == (0, 1) and end >= 2 ** 31 - 1:
            continue  # the whole batch
        if axis % len(dims) == 0:
            raise Unsupported("a slice of the batch axis")
        ranges[axis % len(dims)] = slice(start, end, step).indices(dims[axis % len(dims)])
    layers = slice_layers(x.shape, ranges[1:])
    return Mapped(layers, [x]) if layers else x


@rule("Neg", "Abs", "Floor", "Ceil", "Sqrt", "Reciprocal", "Not")
def _unary(c: Call) -> Const:
    """Arithmetic on constants (TorchScript's `-(-h // s)` in a padding computation, the
    attention's scale 1 / √d from q's shape): folded."""
    data = c.const(0, "input")
    if c.node.op_type in ("Sqrt", "Reciprocal") and any(v <= 0 if c.node.op_type == "Sqrt" and v else v == 0
                                                        for v in data):
        raise Unsupported(f"a {c.node.op_type} of a constant out of its domain")
    fn = {"Neg": lambda v: -v, "Abs": abs, "Floor": math.floor, "Ceil": math.ceil, "Sqrt": math.sqrt,
          "Reciprocal": lambda v: 1 / v, "Not": lambda v: not v}[c.node.op_type]
    return Const(c.inputs[0].dims, [fn(v) for v in data])


@rule("Cast")
def _cast(c: Call) -> Any:
    value = c.inputs[0]
    if isinstance(value, Const):
        if value.data is not None and c.attr("to") in _INTEGER_TYPES:  # as onnxruntime: toward zero
            return value._replace(data=[int(v) for v in value.data])
        if value.data is not None and c.attr("to") in _FLOAT_TYPES:
            return value._replace(data=[float(v) for v in value.data])
        return value
    raise Unsupported("a cast of an activation")


_INTEGER_TYPES = {2, 3, 4, 5, 6, 7, 12, 13}  # TensorProto's uint8, int8, uint16, int16, int32, int64, uint32, uint64
_FLOAT_TYPES = {1, 10, 11, 16}  # float, float16, double, bfloat16


@rule("Constant")
def _constant(c: Call) -> Const:
    tensor = c.attr("value")
    if isinstance(tensor, Value):
        return Const(tensor.dims, tensor.data, None, tensor.numel)
    for key in ("value_int", "value_float"):
        if c.attr(key) is not None:
            return Const((), [c.attr(key)])
    for key in ("value_ints", "value_floats"):
        if c.attr(key) is not None:
            return Const((len(c.attr(key)),), list(c.attr(key)))
    raise Unsupported("a constant of a kind convcalc does not read")


@rule("ConstantOfShape")
def _constant_of_shape(c: Call) -> Const:
    dims = c.const(0, "shape")
    tensor = c.attr("value")
    fill = tensor.data[0] if isinstance(tensor, Value) and tensor.data else 0.0
    n = math.prod(dims)
    return Const(tuple(dims), [fill] * n if n <= 4096 else None)


@rule("Identity", channels_last="rule")
def _identity(c: Call) -> Any:
    return c.inputs[0]


@rule("Dropout", per_position=True)
def _dropout(c: Call) -> Mapped:
    ratio = c.attr("ratio", 0.5) if c.opset < 12 else (c.const(1, "ratio") or [0.5])[0]
    ratio = _float(ratio)
    return Mapped([("dropout", {} if ratio == 0.5 else {"p": ratio})], [c.x()])


# -- resampling and padding ------------------------------------------------------------------------


@rule("Resize", "Upsample")
def _resize(c: Call) -> Mapped:
    x = c.x()
    mode = c.attr("mode", "nearest")
    if c.node.op_type == "Upsample":
        scales, sizes = (c.attr("scales") if c.opset < 9 else c.const(1, "scales")), None
        transform, nearest = "asymmetric", "floor"
    else:
        scales = c.const(2, "scales") if c.opset >= 11 else c.const(1, "scales")
        sizes = c.const(3, "sizes") if c.opset >= 11 else None
        transform = c.attr("coordinate_transformation_mode", "half_pixel" if c.opset >= 11 else "asymmetric")
        nearest = c.attr("nearest_mode", "round_prefer_floor")
        if c.attr("antialias", 0) or c.attr("axes") is not None or c.attr("keep_aspect_ratio_policy", "stretch") != "stretch":
            raise Unsupported("a resize with antialias, axes or an aspect ratio policy")
    args: dict[str, Any] = {}
    if mode == "nearest":
        if transform != "asymmetric" or nearest != "floor":
            raise Unsupported(f"nearest resizing with {transform} coordinates and {nearest} rounding "
                              "(PyTorch's nearest is asymmetric and floor)")
    elif mode == "linear":
        if transform == "align_corners":
            args["align_corners"] = True
        elif transform not in ("half_pixel", "pytorch_half_pixel"):
            raise Unsupported(f"linear resizing with {transform} coordinates")
        args["mode"] = "bilinear"
    else:
        raise Unsupported(f"{mode} resizing")
    if sizes:
        if sizes[:2] != [c.batch, x.shape[0]]:
            raise Unsupported("a resize of the batch or the channels")
        size = {"size": spec_value(sizes[2:])}
    elif scales:
        if scales[:2] != [1.0, 1.0]:
            raise Unsupported("a resize of the batch or the channels")
        size = {"scale": spec_value([int(v) if float(v).is_integer() else _float(v) for v in scales[2:]])}
    else:
        raise Unsupported("a resize without scales or sizes")
    if transform == "pytorch_half_pixel" and any(v == 1 for v in x.shape[1:]):
        raise Unsupported("pytorch_half_pixel on an axis of size 1")
    return Mapped([("upsample", {**size, **args})], [x])


@rule("Pad")
def _pad(c: Call) -> Mapped:
    x = c.x()
    pads = c.attr("pads") if c.opset < 11 else c.const(1, "pads")
    value = (c.attr("value", 0.0) if c.opset < 11 else (c.const(2, "constant value") or [0.0])[0])
    if c.opset >= 18 and c.const(3, "axes") is not None:
        raise Unsupported("a pad with axes")
    rank = len(x.shape) + 1
    if len(pads) != 2 * rank or any(pads[i] or pads[i + rank] for i in (0, 1)):
        raise Unsupported("padding of the batch or the channels")
    if any(v < 0 for v in pads):
        raise Unsupported("negative padding (a crop)")
    pairs = [[pads[i], pads[i + rank]] for i in range(2, rank)]
    mode = {"constant": "constant", "reflect": "reflect", "edge": "replicate", "wrap": "circular"}.get(
        c.attr("mode", "constant"))
    if mode is None:
        raise Unsupported(f"padding mode {c.attr('mode')}")
    return Mapped([("pad", pad_args(pairs, mode, value))], [x])


@rule("DepthToSpace")
def _depth_to_space(c: Call) -> Mapped:
    if c.attr("mode", "DCR") != "CRD":
        raise Unsupported("depth to space in DCR order (PyTorch's pixel_shuffle is CRD)")
    return Mapped([("pixel_shuffle", {"factor": c.attr("blocksize")})], [c.x()])


# --------------------------------------------------------------------------------------------
# The walk


_PART = re.compile(r"[^A-Za-z0-9_-]")


class Mapper(MapperBase):
    def __init__(self, found: Model, source: str, input_shape: tuple[int, ...] | None, allow_unknown: bool) -> None:
        super().__init__(source, allow_unknown)
        self.model = found
        self.graph = found.graph
        self.opset = found.opsets.get("", found.opsets.get("ai.onnx", 0))
        self.values: dict[str, Any] = {}
        self.init_owners: dict[str, tuple[str, int, str]] = {}  # initializer -> (layer, position, kind) reading it first
        self.input_shape = input_shape
        self.weighted: dict[str, int] = {}  # conv/linear operators per module path (TorchScript's names)
        self.has_children: set[str] = set()
        self.biasless: dict[str, str] = {}  # 1x1 convs made from a channels-last MatMul -> its output's name
        self.readers: dict[str, int] = {}  # how many node inputs read each value
        self.last_first = ""  # the input's name when the graph takes it channels-last
        self.scopes: dict[str, int] = {}
        self.modules: dict[str, str] = {}

    def error(self, message: str) -> ConvcalcError:
        return ConvcalcError(message, file=self.source)

    def run(self) -> Imported:
        graph = self.graph
        count = max(graph.node_count, len(graph.nodes))  # the reader decodes no node past the limit
        if count > limits.MAX_LAYERS:
            raise self.error(f"the graph has {count} nodes, over the limit of {limits.MAX_LAYERS}")
        self.check_outputs()
        for name, value in graph.initializers.items():
            self.values[name] = Const(value.dims, value.data, name, value.numel)
        inputs = [info for info in graph.inputs if info.name not in graph.initializers]
        if len(inputs) != 1:
            raise self.error(f"the graph has {len(inputs)} inputs; convcalc imports models with one input tensor")
        self.last_first = _channels_last_input(graph, inputs[0])
        batch, shape = self.input(inputs[0])
        self.batch, self.nd = batch, len(shape) - 1
        self.values[inputs[0].name] = Ref("input", shape)
        for node in graph.nodes:
            self.count_scope(node)
            for name in node.inputs:
                self.readers[name] = self.readers.get(name, 0) + 1
        for node in graph.nodes:
            self.map(node)
        self.check_mapped()
        outputs = self.graph_outputs(batch)
        out = outputs[0][1]
        if len(outputs) == 1 and self.layers[-1].name != out.name:
            at = next(i for i, layer in enumerate(self.layers) if layer.name == out.name)
            if any(out.name in layer.inputs for layer in self.layers[at + 1:]):
                raise self.error(f"the graph's output '{out.name}' is read by later layers; a convcalc spec's output "
                                 "is its last layer")
            self.layers.append(self.layers.pop(at))
        stem = os.path.splitext(os.path.basename(self.source))[0]
        name = re.sub(r"[^A-Za-z0-9_.-]", "_", stem) or "model"
        origin = (f"imported from {self.source} by convcalc (ONNX opset {self.opset}, IR version "
                  f"{self.model.ir_version}{', made by ' + self.model.producer if self.model.producer else ''})",
                  f"input {'x'.join(map(str, shape))} per sample, channels first"
                  + (" (the graph's input is channels-last, transposed by its first node)" if self.last_first else ""))
        several = tuple((name, ref.name) for name, ref in outputs) if len(outputs) > 1 else ()
        return Imported(name, self.source, shape, tuple(self.layers), origin, tuple(self.modules.items()),
                        outputs=several, outputs_named=bool(several))

    def graph_outputs(self, batch: Any) -> list[tuple[str, Ref]]:
        """The graph's outputs, each (its value's name, the layer making it), checked against the
        shapes the graph declares. One is the spec's output (its last layer); several are its
        `outputs:`, named as the graph names them (a dict's keys, for torch's exporters)."""
        graph = self.graph
        if not graph.outputs:
            raise self.error("the graph has no outputs")
        found: list[tuple[str, Ref]] = []
        seen: dict[str, str] = {}
        for info in graph.outputs:
            out = self.values.get(info.name)
            shown = f" '{info.name}'" if len(graph.outputs) > 1 else ""
            if not isinstance(out, Ref) or out.name == "input":
                raise self.error(f"the graph's output{shown} is not made by a layer convcalc maps")
            declared = info.dims
            if declared and all(isinstance(v, int) and v > 0 for v in declared) and tuple(declared[1:]) != out.shape:
                raise self.error(f"cannot import exactly: the graph says its output{shown} is "
                                 f"[{'x'.join(map(str, declared))}], convcalc's layers give "
                                 f"[{'x'.join(map(str, (batch, *out.shape)))}]")
            if out.name in seen:
                raise self.error(f"the graph's outputs '{seen[out.name]}' and '{info.name}' are the same layer "
                                 f"'{out.name}'; a convcalc spec's outputs are different layers")
            seen[out.name] = info.name
            found.append((info.name, out))
        return found

    def check_outputs(self) -> None:
        """ONNX defines each value once (onnxruntime refuses a graph that does not): a name two nodes
        write is refused, naming both, before one of them would silently be dead and counted."""
        given = {info.name for info in self.graph.inputs} | set(self.graph.initializers)
        writer: dict[str, tuple[int, Node]] = {}
        for i, node in enumerate(self.graph.nodes):
            for out in filter(None, node.outputs):  # "" is an omitted optional output
                if out in given:
                    raise self.error(f"the value '{out}' is the graph's input or initializer and also written by "
                                     f"{_named(i, node)}; ONNX defines each value once")
                if out in writer:
                    raise self.error(f"the value '{out}' is written by two nodes, {_named(*writer[out])} and "
                                     f"{_named(i, node)}; ONNX defines each value once")
                writer[out] = (i, node)

    def input(self, info: Any) -> tuple[int, tuple[int, ...]]:
        dims = info.dims
        if not dims or len(dims) < 2:
            raise self.error(f"the graph's input '{info.name}' has no shape [N, C, ...] convcalc can read")
        batch = dims[0] if isinstance(dims[0], int) and dims[0] > 0 else 1
        known = [v if isinstance(v, int) and v > 0 else None for v in dims[1:]]
        if self.last_first:  # [N, H, W, C] read as [N, C, H, W]: --input and the spec are channels first
            known = [known[-1], *known[:-1]]
        given = self.input_shape
        if given is not None:
            if len(given) != len(known) or any(k is not None and k != g for k, g in zip(known, given)):
                raise UsageError(f"--input {'x'.join(map(str, given))} does not fit the graph's input "
                                 f"[{'x'.join('?' if v is None else str(v) for v in known)}] (per sample)")
            return batch, tuple(given)
        if None in known:
            raise UsageError(f"{self.source}: the graph's input [{'x'.join('?' if v is None else str(v) for v in known)}] "
                             "has dynamic sizes; give --input, per sample and channels first (3x224x224)")
        if len(known) > 4:
            raise self.error(f"the input has {len(known) - 1} spatial axes; convcalc handles 1-D, 2-D and 3-D")
        return batch, tuple(known)  # type: ignore[arg-type]

    # -- names -----------------------------------------------------------------------------------

    def scope(self, node: Node) -> tuple[str, str]:
        """(module path, operator) from the node's name or the exporter's metadata."""
        namespace = node.metadata.get("namespace")
        if namespace:  # torch's dynamo exporter: ": pkg.Net/layer1: Sequential/layer1.0: Block/add: aten.add"
            parts = [part.split(": ", 1) for part in namespace.split("/")]
            path = ""
            for head, *cls in parts[1:-1]:  # (a part without ": class" is a damaged or foreign namespace)
                path = head
                self.modules.setdefault(head, (cls[0] if cls else "").rsplit(".", 1)[-1])
            return path, parts[-1][0] if parts else node.op_type.lower()
        if node.name.startswith("/"):  # torch's TorchScript exporter: "/layer1/layer1.0/conv1/Conv"
            # Each part is a module's name under its parent, written as the parent's last part and
            # the child's for a container's children ("downsample", then "downsample.0").
            parts = [p for p in node.name.split("/") if p]
            path, last = "", ""
            for part in parts[:-1]:
                if last and part.startswith(last + "."):
                    path = path[: len(path) - len(last)] + part
                else:
                    path = f"{path}.{part}" if path else part
                last = part
            op = re.sub(r"_[0-9]+$", "", parts[-1]) if parts else node.op_type
            return path, op.lower()
        return "", node.op_type.lower()

    def count_scope(self, node: Node) -> None:
        path, _ = self.scope(node)
        if path:
            self.scopes[path] = self.scopes.get(path, 0) + 1
            if node.op_type in _WEIGHTED_OPS:
                self.weighted[path] = self.weighted.get(path, 0) + 1
            self.has_children.update(parents(path))
            for parent in parents(path):  # a module with submodules is never one operator
                self.scopes[parent] = self.scopes.get(parent, 0) + 2

    def base(self, node: Node) -> str:
        weight = node.inputs[1] if len(node.inputs) > 1 else ""
        if node.op_type in ("Conv", "ConvTranspose", "Gemm", "MatMul") and weight.endswith(".weight") \
                and self.readers.get(weight, 0) <= 1:  # a weight several nodes read: named by each node's module
            return weight[: -len(".weight")]
        path, op = self.scope(node)
        if path and node.metadata.get("namespace") is None and self.scopes.get(path) == 1:
            name = path  # a module with one operator is that operator
        elif path and node.metadata.get("namespace") is None and self.weighted.get(path) == 1 \
                and path not in self.has_children:
            # a conv or linear module whose forward runs a few operators (nn.Linear on N-D: MatMul, Add
            # of its bias; timm's Conv2dSame: Pad, Conv): the weighted one is the module, the others
            # are named beside it (conv1_pad), as the PyTorch import names them
            name = path if node.op_type in _WEIGHTED_OPS else f"{path}_{op}"
        elif path and node.metadata.get("namespace") and self.modules.get(path, "").lower().rstrip("0123456789d") \
                in _LEAF_CLASSES:
            name = path
        else:
            name = f"{path}.{op}" if path else (op or node.op_type.lower())
        return ".".join(_PART.sub("_", part) or "_" for part in name.split("."))

    # -- one node --------------------------------------------------------------------------------

    def map(self, node: Node) -> None:
        inputs = tuple(self.values.get(name) if name else None for name in node.inputs)
        missing = [name for name, value in zip(node.inputs, inputs) if name and value is None]
        if missing:
            raise self.error(f"node '{node.name or node.op_type}' reads '{missing[0]}', which no earlier node makes")
        inputs = self.scaled(node, inputs)
        call = Call(node, inputs, self.opset, self.nd, self.batch)
        if any(isinstance(v, Ref) and v.name.startswith("?") and not v.shape for v in inputs):
            # it reads what an unsupported operator made, whose shape the file does not record: that
            # operator is listed already, and nothing after it can be mapped exactly
            for out in node.outputs:
                if out:
                    self.values[out] = Ref(f"?{self.base(node)}", ())
            return
        if self.last_first and node.inputs and node.inputs[0] == self.last_first \
                and self.read_input(node, inputs[0]):
            return
        rule = RULES.get(node.op_type, NO_RULE)
        try:
            if node.domain not in ("", "ai.onnx"):
                raise Unsupported(f"domain {node.domain}")
            if rule.fn is None:
                raise Unsupported("")
            pending = [v for v in inputs if isinstance(v, Pending)]
            if pending and rule.shuffle not in ("rule", "keep"):  # the middle of a channel shuffle
                raise Unsupported("a view of the channels as two axes")
            views = [v for v in inputs if isinstance(v, ChannelsLast) or isinstance(v, GeluStep)
                     and isinstance(v.x, ChannelsLast)]
            folded = self.fold_bias(call) if rule.folds_bias and not views else None
            if folded is not None:
                result = folded
            elif pending and rule.shuffle == "keep":
                result = pending[0]
            else:
                result = self.channels_last(call, rule) if views else rule.fn(call)
        except Unsupported as exc:
            result = self.unknown(call, str(exc))
        except (IndexError, KeyError, TypeError, ValueError, AttributeError, ZeroDivisionError, OverflowError):
            # an input or attribute missing or of the wrong form: a broken file, said as one line
            raise self.error(f"node '{node.name or node.op_type}' ({node.op_type}) is not as ONNX defines it: "
                             "an input or attribute is missing or malformed") from None
        if isinstance(result, Parts):
            for i, out in enumerate(node.outputs):
                if out:
                    self.values[out] = self.emit(call, Mapped([("split", {"parts": result.parts, "index": i})],
                                                              [result.ref])) if self.readers.get(out) else Const((), None)
            return
        if isinstance(result, Mapped):
            widened = result.widened
            product = rule.bias_follows and result.layers[-1][0] == "linear"
            result = self.emit(call, result)
            if product and not result.name.startswith("?"):
                self.biasless[result.name] = node.outputs[0]  # the Add of its bias may follow
            if widened is not None:
                result = Widened(result, widened)
        if node.outputs:
            self.values[node.outputs[0]] = result
        for extra in node.outputs[1:]:
            if extra:
                self.values[extra] = Const((), None)

    def scaled(self, node: Node, inputs: tuple[Any, ...]) -> tuple[Any, ...]:
        """A product with a number that looked like GELU's first step (x * 0.5, x / √2), read by
        an operator that is not GELU's next step: the scale layer it is, made once."""
        if _continues_gelu(node.op_type, inputs):
            return inputs
        out = list(inputs)
        for i, (name, value) in enumerate(zip(node.inputs, inputs)):
            if isinstance(value, GeluStep) and value.made is not None and isinstance(value.x, Ref):
                self.values[name] = out[i] = self.emit(value.made, Mapped([("scale", {"by": value.by})], [value.x]))
        return tuple(out)

    def read_input(self, node: Node, x: Ref) -> bool:
        """A node reading the graph's channels-last input: its Transpose to channels first is the
        input itself, its Shape the shape the file has ([N, H, W, C]); False for any other."""
        if node.op_type == "Transpose":
            self.values[node.outputs[0]] = x
            return True
        if node.op_type == "Shape":
            call = Call(node, (Const((), None),), self.opset, self.nd, self.batch)
            dims = [self.batch, *x.shape[1:], x.shape[0]]
            start, end = call.attr("start", 0), call.attr("end")
            dims = dims[start:end] if end is not None else dims[start:]
            self.values[node.outputs[0]] = Const((len(dims),), dims)
            return True
        return False

    def channels_last(self, call: Call, rule: Rule) -> Any:
        """An operator reading a channels-last view, as its rule declares: the bias of the 1x1 conv
        before it (`folds_bias`), the view kept (`keep`), the rule reading it (`rule`: the Transpose
        back, the arithmetic of GELU written out), the rule's channels-last form or a per-position
        rule on the channels-first tensor (then still a view), or a flatten of it; else unsupported."""
        if rule.folds_bias:
            folded = self.fold_bias(call)
            if folded is not None:
                return folded
        if rule.channels_last == "keep":
            return call.inputs[0]
        if rule.channels_last == "rule":
            result = rule.fn(call)
            if isinstance(result, Mapped) and any(isinstance(v, ChannelsLast) for v in result.inputs):
                if len(result.inputs) != 1:
                    raise Unsupported("a merge of channels-last views")
                return ChannelsLast(self.emit(call, result._replace(inputs=[result.inputs[0].ref])))
            return result
        view = call.inputs[0]
        if not isinstance(view, ChannelsLast) or any(isinstance(v, (Ref, ChannelsLast)) for v in call.inputs[1:]):
            # with another tensor (attention's k.permute(0, 2, 3, 1) times q): the view made the
            # transposes it is, each a view, then the operator's own rule
            return rule.fn(call._replace(inputs=tuple(self.moved(call, v) for v in call.inputs)))
        x = view.ref
        first = call._replace(inputs=(x, *call.inputs[1:]))
        if callable(rule.channels_last):
            mapped = rule.channels_last(self, call, x)
        elif rule.per_position:
            mapped = rule.fn(first)
        elif rule.channels_last == "flatten" and self.flat_view(call, view):
            # Keras' Flatten of an NHWC tensor: the same values in another order, the same count
            return self.emit(first, Mapped([("flatten", {})], [x]))
        else:
            raise Unsupported("an operator on a channels-last view (after a Transpose)")
        ref = self.emit(first, mapped)
        if rule.bias_follows:
            self.biasless[ref.name] = call.node.outputs[0]  # the Add of its bias may follow
        return ChannelsLast(ref)

    def moved(self, call: Call, value: Any) -> Any:
        """A channels-last view [..., C] as the transpose layers that make it from [C, ...]: the
        channels swapped one axis on at a time (PyTorch's numbering); any other value as it is."""
        if not isinstance(value, ChannelsLast):
            return value
        rank = len(value.ref.shape)
        if rank > 8:
            raise Unsupported("a channels-last view of more than 8 axes read with another tensor")
        swaps = [("transpose", {"dim0": i, "dim1": i + 1}) for i in range(1, rank)]
        return self.emit(call, Mapped(swaps, [value.ref]))

    def flat_view(self, call: Call, view: ChannelsLast) -> bool:
        """Whether a Reshape or Flatten makes the channels-last view one row per sample."""
        shape = (*view.ref.shape[1:], view.ref.shape[0])
        if call.node.op_type == "Flatten":
            return call.attr("axis", 1) % (len(shape) + 1) == 1
        target = call.const(1, "shape")
        full = _resolve_reshape([self.batch, *shape], target, call.attr("allowzero", 0))
        return full == [self.batch, math.prod(shape)]

    def fold_bias(self, call: Call) -> ChannelsLast | Ref | None:
        """The Add of a stored [out] bias right after a MatMul that only it reads: the bias of the
        1x1 conv a channels-last MatMul is (nn.Linear on a channels-last view), or of the linear
        layer a MatMul over the last axis is (nn.Linear on [N, ..., F] as TorchScript exports it)."""
        a, b = call.inputs[0], call.inputs[1]
        view, bias = (a, b) if isinstance(a, (ChannelsLast, Ref)) else (b, a)
        ref = view.ref if isinstance(view, ChannelsLast) else view
        if not (isinstance(ref, Ref) and isinstance(bias, Const) and bias.param is not None):
            return None
        made = self.biasless.get(ref.name)
        out = ref.shape[0] if isinstance(view, ChannelsLast) else ref.shape[-1]
        if made is None or self.readers.get(made, 0) != 1 or bias.numel != out \
                or bias.dims not in ((bias.numel,), (1, bias.numel)):
            return None
        at = next(i for i, layer in enumerate(self.layers) if layer.name == ref.name)
        layer = self.layers[at]
        args = {k: v for k, v in layer.args.items() if k != "bias"}
        self.layers[at] = layer._replace(args=args, params=(layer.params or 0) + bias.numel)
        del self.biasless[ref.name]
        return view

    def emit(self, call: Call, mapped: Mapped) -> Ref:
        """The rule's layers, each one's shape by convcalc's own rule (the file need not record
        it); the last holds the node's initializers. An argument convcalc's kind refuses makes the
        operator unsupported, as its rule's Unsupported does."""
        shapes: list[Any] = [tuple(ref.shape for ref in mapped.inputs)]
        tensors: tuple[int, ...] = ()
        last = len(mapped.layers) - 1

        def facts(i: int, kind: str, args: dict[str, Any]) -> tuple[Any, Any, Any, Any]:
            nonlocal tensors
            record = REGISTRY[kind]
            a = record.prepare(normalize(record.schema, args, self.nd, kind), self.nd)
            x = shapes[-1] if record.merge else shapes[-1][0]
            y = record.shape(a, x)
            tensors = record.tensors(a, x, y) if i == last else ()
            shares, params = self.tied(call, kind, a, tensors, mapped.params) if i == last else ((), None)
            shapes.append((y,))
            return y, params, None, shares

        try:
            name = self.chain(mapped.layers, tuple(ref.name for ref in mapped.inputs), self.base(call.node),
                              call.node.op_type, facts)
        except (LayerError, Unsupported) as exc:
            return self.unknown(call, str(exc))
        if tensors:
            for position, init in enumerate(self.initializers(call)):
                self.init_owners.setdefault(init.param, (name, position, mapped.layers[-1][0]))
        return Ref(name, shapes[-1][0]) if mapped.layers else mapped.inputs[0]

    @staticmethod
    def initializers(call: Call) -> list[Const]:
        return [v for v in call.inputs if isinstance(v, Const) and v.param is not None]

    def tied(self, call: Call, kind: str, a: dict[str, Any], tensors: tuple[int, ...],
             params: int | None) -> tuple[tuple[tuple[str, str], ...], int | None]:
        """The initializers of a node that an earlier layer reads already (a module called twice, a
        weight tied to another's: exporters store such a tensor once) as `shares:` pairs, and the
        parameters left that are its own. The i-th initializer a node reads is its kind's i-th
        tensor (Conv's W, B; BatchNormalization's scale, B), those after them its buffers."""
        inits = self.initializers(call)
        if not tensors:
            return (), params  # shape or axes constants, not parameters
        owners = [self.init_owners.get(init.param) if _distinct(init) else None for init in inits]
        if not any(owners):
            return (), params
        first = owners[0]
        if all(o is not None and o[0] == first[0] and o[1] == i and o[2] == kind for i, o in enumerate(owners)):
            return (("*", first[0]),), 0 if params is not None else None  # the same node's tensors again
        names = tensor_names(kind, a, len(tensors))
        pairs = []
        for i, (init, owner) in enumerate(zip(inits, owners)):
            if owner is None:
                continue
            layer, position, their_kind = owner
            if i >= len(names) or position != i or their_kind != kind:
                raise Unsupported(f"it reads {init.param}, which {layer} (a {their_kind}) reads too in another role: "
                                  "convcalc's shares: ties a tensor of one name between layers of one kind")
            pairs.append((names[i], layer))
            params = None if params is None else params - init.numel
        return tuple(pairs), params

    def unknown(self, call: Call, reason: str) -> Any:
        node = call.node
        what = node.op_type + (f" ({reason})" if reason else "")
        base = self.base(node)
        info = self.graph.value_info.get(node.outputs[0]) if node.outputs else None
        if info is None and node.outputs and self.graph.outputs and node.outputs[0] == self.graph.outputs[0].name:
            info = self.graph.outputs[0]
        dims = info.dims if info is not None else None
        known = dims is not None and len(dims) > 0 and all(isinstance(v, int) and v > 0 for v in dims)
        if not self.allow_unknown or not known:
            self.listed(what + ("" if known or not self.allow_unknown else
                                " (and the file does not record its output shape)"), base)
            return Ref(f"?{base}", tuple(dims[1:]) if known else ())
        if dims[0] != self.batch:
            self.listed(what + " (it changes the batch dimension)", base)
            return Ref(f"?{base}", tuple(dims[1:]))
        refs = [r for r in (_activation_of(v) for v in call.inputs) if r is not None]
        params = sum(v.numel for v in call.inputs if isinstance(v, Const) and v.param is not None)
        inputs = tuple(dict.fromkeys(ref.name for ref in refs)) or ("input",)
        args: dict[str, Any] = {"shape": list(dims[1:]), "op": node.op_type}
        if params:
            args["params"] = params
        name = self.unique(base)
        kind = "opaque_merge" if len(inputs) > 1 else "opaque"
        self.layers.append(Layer(name, kind, args, inputs, node.op_type, tuple(dims[1:]), params))
        return Ref(name, tuple(dims[1:]))


def _named(i: int, node: Node) -> str:
    """A node as a message names it: its name and operator, or its operator and place."""
    return f"'{node.name}' ({node.op_type})" if node.name else f"node {i} ({node.op_type})"


def _distinct(init: Const) -> bool:
    """Whether several nodes reading this initializer read one parameter (a module called twice,
    a tied weight): exporters also store equal tensors once, and a fresh model's batch norms all
    hold ones and zeros, so a tensor of one repeated value is counted per reader, as PyTorch
    counts such untied tensors (docs/import.md). A large tensor is not decoded: it is not one
    value repeated unless it was tied."""
    return init.data is None or len(set(init.data)) > 1


def _activation_of(value: Any) -> Ref | None:
    """The activation a value is made from: itself, or what a view or pending pattern holds."""
    if isinstance(value, GeluStep):
        value = value.x
    if isinstance(value, (ChannelsLast, Storage, Parts, Pending, Widened)):
        value = value.ref
    return value if isinstance(value, Ref) else None


def _channels_last_input(graph: Any, info: Any) -> str:
    """The input's name when the graph takes it channels-last and every node that reads it is a
    Transpose to channels first (tf2onnx's NHWC graphs: [N, H, W, C] -> perm [0, 3, 1, 2]) or a Shape
    (of a graph with dynamic sizes); else ""."""
    rank = len(info.dims or ())
    readers = [node for node in graph.nodes if info.name in node.inputs]
    to_first = [0, rank - 1, *range(1, rank - 1)]
    transposes = [node for node in readers if node.op_type == "Transpose"]
    if rank >= 3 and transposes and all(list(node.attributes.get("perm", [])) == to_first for node in transposes) \
            and all(node.op_type in ("Transpose", "Shape") for node in readers):  # Shape: a dynamic size read
        return info.name
    return ""


_WEIGHTED_OPS = ("Conv", "ConvTranspose", "Gemm", "MatMul")


# torch.nn leaf classes whose dynamo-exported operator is the module itself (named by its path)
_LEAF_CLASSES = {"relu", "relu6", "sigmoid", "tanh", "silu", "hardswish", "hardsigmoid", "leakyrelu", "elu", "gelu",
                 "maxpool", "avgpool", "adaptiveavgpool", "adaptivemaxpool", "dropout", "flatten", "pixelshuffle",
                 "batchnorm", "layernorm", "groupnorm", "instancenorm", "upsample", "softmax", "logsoftmax",
                 "identity", "zeropad", "constantpad", "reflectionpad", "replicationpad", "prelu", "mish",
                 "localresponsenorm", "linear", "conv", "convtranspose"}

