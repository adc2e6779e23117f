"""Spec -> Report: walk the nodes in order, apply each kind's rules, add up the totals.

Per layer: output shape, params, buffers, MACs, FLOPs, output bytes, receptive field and
warnings. The receptive field is the local one (each kind's `rf` rule), and beside it a flag
says whether the layer also sees global context: set where a kind's `sees_all` rule says so
(global pooling, flatten, statistics norms, a broadcast merge input) and kept downstream.
Counts from the registry are per sample; here they are multiplied by the batch.
Peak activation memory simulates a batch inference walk in spec order: the input and every
output are allocated when produced and freed after their last consumer; views (flatten,
identity, dropout, split, reshape) share their input's memory; the outputs (the last layer, or
the spec's `outputs:`) stay.
"""

from __future__ import annotations

from math import prod
from typing import Any

from . import limits
from .errors import LayerError, ShapeError
from .graph import plan, walk
from .layers import REGISTRY, Side
from .report import LayerReport, Report, Totals
from .sharing import NONE, held, resolve
from .spec.model import DTYPE_BYTES, Spec

COUNTER_BYTES = 8  # BN's num_batches_tracked is an int64, whatever the dtype
INPUT_BYTES = {"int64": 8}  # element sizes of the input dtypes a record may name (Kind.input_dtype)


def analyze(spec: Spec, batch: int | None = None) -> Report:
    """Shapes, costs, receptive fields and memory of every layer of `spec`."""
    batch = spec.batch if batch is None else batch
    itemsize = DTYPE_BYTES[spec.dtype]
    # What the walk carries per tensor: (shape, local field, sees global context, its node).
    values: dict[str, Any] = {"input": (spec.input, tuple((1, 1, 0) for _ in spec.input[1:]), False, None)}
    layers = []
    weight_bytes = 0
    holding: dict = {}  # layer -> its parameter tensors and buffers, and who owns each (sharing.Held)
    for step, inputs in walk(spec.nodes, values):
        node, record, a = step.node, step.record, step.node.args
        try:
            if record.merge:
                x: Any = tuple(value[0] for value in inputs)
                r: Any = tuple(value[1] for value in inputs)
                seen = any(value[2] for value in inputs)
            else:
                x, r, seen = inputs[0], inputs[1], inputs[2]
            y = record.shape(a, x)
            if max(y) > limits.MAX_SIZE:
                raise LayerError(f"output [{'x'.join(map(str, y))}] exceeds the size limit of {limits.MAX_SIZE} (2^48)")
            if step.side:
                record.check_sides(a, x, {arg: _side(values[name]) for arg, name in step.side})
            params = record.params(a, x, y)
            buffers = record.buffers(a, x, y)
            macs = record.macs(a, x, y) * batch
            flops = record.flops(a, x, y) * batch
            field = record.field(a, x, y, r)
            global_ = seen or record.sees_all(a, x, y)
            warnings = record.warnings(a, x, y)
            counters = record.counters(a, x, y)
            shared = NONE
            if params or buffers or node.shares:
                mine = held(node.name, node.kind, a, record.tensors(a, x, y) if params else (), buffers)
                if node.shares:  # counted once, at the layer that has them first (sharing.py)
                    mine, shared = resolve(node.name, node.shares, mine, holding)
                    params -= shared.params
                    buffers -= shared.buffers
                    counters = counters if buffers else 0
                holding[node.name] = mine
        except LayerError as exc:
            raise ShapeError(str(exc), file=spec.source, line=node.line, layer=node.name, kind=node.kind) from None
        values[node.name] = (y, field, global_, node)
        layer_weight_bytes = weight_memory(params, buffers, counters, itemsize)
        weight_bytes += layer_weight_bytes
        layers.append(LayerReport(  # positional: this runs once per layer of 10,000-layer specs
            step.index, node.name, node.kind, node.inputs, (batch, *y), params, buffers, macs, flops,
            output_memory(y, batch, itemsize), layer_weight_bytes, field, warnings, node.line, a, global_,
            record.uncounted, shared.pairs, shared.params, shared.buffers))
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
        partial=tuple(metric for metric in ("macs", "flops") if any(metric in layer.unknown for layer in layers)),
    )
    return Report(name=spec.name, source=spec.source, input=(batch, *spec.input), batch=batch,
                  dtype=spec.dtype, layers=tuple(layers), total=total, args=spec.args, input_given=spec.input_given,
                  not_counted=spec.not_counted, pruned=spec.pruned, parametrized=spec.parametrized,
                  outputs=spec.outputs)


def output_memory(y: tuple[int, ...], batch: int, itemsize: int) -> int:
    """Bytes of a layer's output: its elements per sample, times the batch, times the dtype's size."""
    return prod(y) * batch * itemsize


def weight_memory(params: int, buffers: int, counters: int, itemsize: int) -> int:
    """Bytes of a layer's parameters and buffers: each in the dtype, except int64 counters (8 bytes)."""
    return (params + buffers - counters) * itemsize + counters * COUNTER_BYTES


def _side(value: Any) -> Side:
    shape, _, _, node = value
    return Side(node.kind if node is not None else "input", node.args if node is not None else {}, shape)


def peak_memory(spec: Spec, layers: list[LayerReport], input_bytes: int) -> int:
    """Largest sum of live activation bytes at any step of an inference walk in spec order."""
    storage: dict[str, str] = {"input": "input"}  # tensor -> the allocation it lives in
    size = {"input": input_bytes}
    holders = {"input": 1}  # allocation -> tensors alive in it
    live = peak = input_bytes
    for step, layer in zip(plan(spec.nodes, spec.output_layers), layers):
        node = step.node
        if step.record.view:
            home = storage[node.name] = storage[node.inputs[0]]
            holders[home] += 1
        else:
            storage[node.name] = node.name
            size[node.name] = layer.output_bytes
            holders[node.name] = 1
            live += layer.output_bytes
            peak = max(peak, live)
        for name in step.releases:  # read for the last time here, or read by nothing
            home = storage[name]
            holders[home] -= 1
            if holders[home] == 0:
                live -= size[home]
    return peak
