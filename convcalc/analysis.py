"""Spec -> Report: walk the nodes in order, apply each kind's rules, add up the totals.

Per layer: output shape, params, buffers, MACs, FLOPs, output bytes, receptive field and
warnings. The receptive field is the local one (each kind's `rf` rule), and beside it a flag
says whether the layer also sees global context: set where a kind's `sees_all` rule says so
(global pooling, flatten, statistics norms, a broadcast merge input) and kept downstream.
Counts from the registry are per sample; here they are multiplied by the batch.
Peak activation memory simulates a batch inference walk in spec order: the input and every
output are allocated when produced and freed after their last consumer; views (flatten,
identity, dropout, split, reshape) share their input's memory; the final output stays.
"""

from __future__ import annotations

from math import ceil, prod
from typing import Any

from . import limits
from .errors import LayerError, ShapeError
from .layers import REGISTRY
from .report import LayerReport, Report, Totals
from .spec.model import DTYPE_BYTES, Spec

COUNTER_BYTES = 8  # BN's num_batches_tracked is an int64, whatever the dtype
INPUT_BYTES = {"int64": 8}  # element sizes of the input dtypes a record may name (Kind.input_dtype)


def analyze(spec: Spec, batch: int | None = None) -> Report:
    """Shapes, costs, receptive fields and memory of every layer of `spec`."""
    batch = spec.batch if batch is None else batch
    itemsize = DTYPE_BYTES[spec.dtype]
    shapes: dict[str, tuple[int, ...]] = {"input": spec.input}
    fields: dict[str, Any] = {"input": tuple((1, 1, 0) for _ in spec.input[1:])}
    globals_: dict[str, bool] = {"input": False}  # the tensor also depends on global context
    kinds: dict[str, str] = {"input": "input"}
    layers = []
    weight_bytes = 0
    for index, node in enumerate(spec.nodes):
        record = REGISTRY[node.kind]
        a = node.args
        try:
            if record.merge:
                x: Any = tuple(shapes[name] for name in node.inputs)
                r: Any = tuple(fields[name] for name in node.inputs)
            else:
                x = shapes[node.inputs[0]]
                r = fields[node.inputs[0]]
            y = record.shape(a, x)
            if max(y) > limits.MAX_SIZE:
                raise LayerError(f"output [{'x'.join(map(str, y))}] exceeds the size limit of {limits.MAX_SIZE} (2^48)")
            if node.kind == "maxunpool" and a["indices"] is not None:
                _check_unpool(spec, a, x, kinds, shapes)
            params = record.params(a, x, y)
            buffers = record.buffers(a, x, y)
            macs = record.macs(a, x, y) * batch
            flops = record.flops(a, x, y) * batch
            field = record.rf(a, x, y, r)
            if not all(type(axis[0]) is int for axis in field):
                field = _whole(field)
            if record.merge:
                global_ = any(globals_[name] for name in node.inputs) or record.sees_all(a, x, y)
            else:
                global_ = globals_[node.inputs[0]] or record.sees_all(a, x, y)
            warnings = record.warnings(a, x, y)
        except LayerError as exc:
            raise ShapeError(str(exc), file=spec.source, line=node.line, layer=node.name, kind=node.kind) from None
        shapes[node.name] = y
        fields[node.name] = field
        globals_[node.name] = global_
        kinds[node.name] = node.kind
        counters = record.counters(a, x, y)
        layer_weight_bytes = (params + buffers - counters) * itemsize + counters * COUNTER_BYTES
        weight_bytes += layer_weight_bytes
        layers.append(LayerReport(  # positional: this runs once per layer of 10,000-layer specs
            index, node.name, node.kind, node.inputs, (batch, *y), params, buffers, macs, flops,
            prod(y) * batch * itemsize, layer_weight_bytes, field, warnings, node.line, a, global_))
    # The input is in the spec's dtype, unless the layers reading it take another (token ids).
    first = REGISTRY[spec.nodes[0].kind]
    input_itemsize = INPUT_BYTES.get(first.input_dtype, itemsize) if first.input_dtype else itemsize
    input_bytes = prod(spec.input) * batch * input_itemsize
    total = Totals(
        params=sum(layer.params for layer in layers),
        buffers=sum(layer.buffers for layer in layers),
        macs=sum(layer.macs for layer in layers),
        flops=sum(layer.flops for layer in layers),
        peak_activation_bytes=peak_memory(spec, layers, input_bytes),
        weight_bytes=weight_bytes,
        activation_bytes=sum(layer.output_bytes for layer in layers),
    )
    return Report(name=spec.name, source=spec.source, input=(batch, *spec.input), batch=batch,
                  dtype=spec.dtype, layers=tuple(layers), total=total)


def _whole(field: Any) -> Any:
    """A field's size counts input positions: after fractional jumps (upsampling, transposed
    conv, adaptive pools) a window spans a fractional width, and the positions it can touch are
    at most its ceiling. Jumps and starts stay exact fractions."""
    return tuple((size if type(size) is int else ceil(size), jump, start) for size, jump, start in field)


def _check_unpool(spec: Spec, a: dict[str, Any], x: tuple[int, ...], kinds: dict[str, str],
                  shapes: dict[str, tuple[int, ...]]) -> None:
    source = a["indices"]
    if kinds.get(source) != "maxpool":
        raise LayerError(f"indices must name a maxpool, '{source}' is a {kinds.get(source)}")
    # The nodes by name, built once per spec and kept for its next unpool: a scan per unpool made
    # 50,000 pool/unpool pairs quadratic (minutes). The table holds the nodes tuple it indexes,
    # so `is` cannot confuse it with another spec's.
    table = getattr(_check_unpool, "table", None)
    if table is None or table[0] is not spec.nodes:
        table = (spec.nodes, {n.name: n for n in spec.nodes})
        setattr(_check_unpool, "table", table)
    pool = table[1][source].args
    if (pool["k"], pool["s"], pool["p"]) != (a["k"], a["s"], a["p"]):
        raise LayerError(f"k, s and p must match those of the maxpool '{source}'")
    if shapes[source] != x:
        raise LayerError(f"the input must have the shape of the maxpool '{source}' output")


def _reads(node: Any) -> tuple[str, ...]:
    """Tensors a node reads: its inputs, and for maxunpool the maxpool it takes positions from."""
    indices = node.args.get("indices") if node.kind == "maxunpool" else None
    return node.inputs + ((indices,) if indices else ())


def peak_memory(spec: Spec, layers: list[LayerReport], input_bytes: int) -> int:
    """Largest sum of live activation bytes at any step of an inference walk in spec order."""
    last_use: dict[str, int] = {}
    for i, node in enumerate(spec.nodes):
        for name in _reads(node):
            last_use[name] = i
    last_use[spec.nodes[-1].name] = len(spec.nodes)  # the network's output survives the walk
    storage: dict[str, str] = {"input": "input"}  # tensor -> the allocation it lives in
    size = {"input": input_bytes}
    holders = {"input": 1}  # allocation -> tensors alive in it
    live = peak = input_bytes
    for i, (node, layer) in enumerate(zip(spec.nodes, layers)):
        if REGISTRY[node.kind].view:
            home = storage[node.name] = storage[node.inputs[0]]
            holders[home] += 1
        else:
            storage[node.name] = node.name
            size[node.name] = layer.output_bytes
            holders[node.name] = 1
            live += layer.output_bytes
            peak = max(peak, live)
        # Release what this step read for the last time, and an output that nothing reads.
        for name in {*_reads(node), node.name}:
            if last_use.get(name, i) <= i:
                home = storage[name]
                holders[home] -= 1
                if holders[home] == 0:
                    live -= size[home]
    return peak
