"""Training memory and cost: what one steady-state training iteration holds, and its peak.

`timeline` is the one function that turns the records' training rules (`saved`, `backward_flops`,
`train_flops`, `autocast`, `tensors`) into memory over time. It walks the spec's steps
(graph.plan) forward, then the same steps in reverse for the backward, then the optimizer step,
as PyTorch runs the second iteration of

    loss = model(x).sum(); loss.backward(); optimizer.step(); optimizer.zero_grad(set_to_none=True)

Every tensor is a storage with holders (a value still to be read, a backward that keeps it, a
gradient still to be used) and is freed when the last one lets go, as PyTorch's reference counts
do: a view shares its input's storage, a ReLU's output lives until its backward, a batch norm's
output dies as soon as the ReLU after it has run. docs/memory.md describes the model and what it
leaves out.

Sizes are affine in the batch: each storage is `fixed + per_sample * batch` bytes and the order of
events does not depend on the batch, so the timeline is computed once, as byte pairs, and the
peak at batch N is the largest `fixed + per_sample * N` over its events: convex and piecewise
linear in N, never a line through two batches. `fit` solves for the largest batch under a budget
exactly from the same events. Pure arithmetic: no torch.
"""

from __future__ import annotations

from math import prod
from typing import Any, NamedTuple

from . import limits
from .analysis import COUNTER_BYTES, analyze
from .errors import LayerError, ShapeError, UsageError
from .graph import Step, plan
from .layers import (ACT, BOOL, BUFFER, COMPLEX, FLOAT32, INPUT, INT64, LOW, MASK, MIXED, NEW, OUTPUT, PARAM,
                     PROMOTE, SIDE, UPCAST, WEIGHT, WHEN_NATIVE, WHEN_UPCAST, Keep)
from .report import Fit, LayerReport, TrainLayer, TrainTotals, TrainingReport
from .sharing import tensor_names
from .spec.model import Spec

ITEMSIZE = {"float32": 4, "bfloat16": 2, "float16": 2, "float64": 8, "int64": 8, "bool": 1}
DTYPES = ("float32", "bfloat16", "float16", "float64")  # what training can run in (not int8)
LOW_DTYPES = ("bfloat16", "float16")
OPTIMIZERS = ("sgd", "momentum", "adam", "adamw")
IMPLS = ("for-loop", "foreach", "fused")
DEVICES = ("cuda", "cpu")
STATE = {"sgd": 0, "momentum": 1, "adam": 2, "adamw": 2}  # optimizer state tensors per parameter


class Setup(NamedTuple):
    """How the network is trained. `dtype`: the parameters' dtype (float32 under autocast);
    `amp`: autocast's low dtype, or None; `impl`: the optimizer implementation, None for
    PyTorch's default on `device` (foreach on CUDA, the for-loop on the CPU)."""

    dtype: str = "float32"
    amp: str | None = None
    optimizer: str = "sgd"
    impl: str | None = None
    device: str = "cuda"

    @property
    def implementation(self) -> str:
        if self.impl is not None:
            return self.impl
        # torch.optim's _default_to_fused_or_foreach: foreach when every parameter is on a device
        # with foreach kernels (CUDA, not the CPU); fused is never the default
        return "foreach" if self.device == "cuda" else "for-loop"


def setup_for(spec: Spec, dtype: str | None = None, amp: str | None = None, optimizer: str = "sgd",
              impl: str | None = None, device: str = "cuda") -> Setup:
    """A Setup from user choices, checked: one line naming the problem otherwise."""
    if amp is not None:
        if amp not in LOW_DTYPES:
            raise UsageError(f"--amp takes bfloat16 or float16, got '{amp}'")
        if dtype not in (None, "float32"):
            raise UsageError(f"--amp keeps float32 master weights: it does not combine with --dtype {dtype}")
        dtype = "float32"
    dtype = dtype or spec.dtype
    if dtype not in DTYPES:
        raise UsageError(f"training in {dtype} is not modelled (the spec's dtype): give --dtype "
                         f"{', '.join(DTYPES[:3])} or float64")
    if optimizer not in OPTIMIZERS:
        raise UsageError(f"--optimizer takes {', '.join(OPTIMIZERS)}, got '{optimizer}'")
    if impl is not None and impl not in IMPLS:
        raise UsageError(f"--impl takes {', '.join(IMPLS)}, got '{impl}'")
    if device not in DEVICES:
        raise UsageError(f"--device takes {' or '.join(DEVICES)}, got '{device}'")
    return Setup(dtype, amp, optimizer, impl, device)


Pair = tuple[int, int]  # bytes: (fixed, per sample)


class LayerFacts(NamedTuple):
    """One layer's training numbers, batch-free: byte pairs and per-sample FLOPs."""

    index: int
    name: str
    kind: str
    output: tuple[int, ...]  # per sample
    dtype: str  # its output's dtype
    saved: Pair  # storages autograd keeps for backward, first kept by this layer
    activation: Pair  # its forward output (0 for a view)
    grad_bytes: int  # its parameters' gradients
    optimizer_bytes: int  # its parameters' optimizer state
    forward_flops: int  # per sample
    backward_flops: int  # per sample; 0 where no backward runs (nothing before it needs a gradient)


class Event(NamedTuple):
    fixed: int
    per_sample: int
    phase: str  # "start", "forward", "backward", "optimizer"
    layer: str  # the layer running ('' in the optimizer step: it spans all)


class Timeline(NamedTuple):
    name: str
    source: str
    setup: Setup
    input: tuple[int, ...]  # per sample
    batch: int  # the spec's
    layers: tuple[LayerFacts, ...]
    events: tuple[Event, ...]
    weight_bytes: int
    buffer_bytes: int
    grad_bytes: int
    optimizer_bytes: int
    saved: Pair
    input_bytes: Pair
    inference_dtype: str  # what the inference peak is counted in

    def peak(self, batch: int) -> tuple[int, Event]:
        best = max(self.events, key=lambda e: e.fixed + e.per_sample * batch)
        return best.fixed + best.per_sample * batch, best


def _widest(dtypes: list[str]) -> str:
    """Type promotion between floats: the same dtype stays, any mix is float32 or wider."""
    kinds = set(dtypes)
    if len(kinds) == 1:
        return dtypes[0]
    return "float64" if "float64" in kinds else "float32"


class _Memory:
    """Storages with holders; `live` bytes as a pair; `mark` records a peak candidate."""

    def __init__(self) -> None:
        self.size: dict[int, Pair] = {}
        self.refs: dict[int, int] = {}
        self.live = (0, 0)
        self.events: list[Event] = []
        self.next = 0

    def alloc(self, fixed: int, per_sample: int = 0) -> int:
        sid = self.next
        self.next += 1
        self.size[sid] = (fixed, per_sample)
        self.refs[sid] = 1
        self.live = (self.live[0] + fixed, self.live[1] + per_sample)
        return sid

    def hold(self, sid: int) -> int:
        self.refs[sid] += 1
        return sid

    def drop(self, sid: int) -> None:
        self.refs[sid] -= 1
        if self.refs[sid] == 0:
            fixed, per = self.size.pop(sid)
            del self.refs[sid]
            self.live = (self.live[0] - fixed, self.live[1] - per)

    def mark(self, phase: str, layer: str) -> None:
        self.events.append(Event(self.live[0], self.live[1], phase, layer))


def _bytes(elements: int, itemsize: int, batched: bool = True) -> Pair:
    return (0, elements * itemsize) if batched else (elements * itemsize, 0)


def _add(a: Pair, b: Pair) -> Pair:
    return a[0] + b[0], a[1] + b[1]


def _compute_dtype(mode: str | None, in_dtypes: list[str], master: str, low: str | None) -> str:
    """The dtype a layer computes in: the parameters' without autocast; under it, as the record's
    `autocast` says: the low dtype (LOW), float32 (FLOAT32), the widest of the float inputs and the
    parameters (MIXED), else the widest of the float inputs (PROMOTE, and an op autocast leaves alone)."""
    floats = [d for d in in_dtypes if d != INT64]
    if low is None:
        return master
    if mode == LOW:
        return low
    if mode == FLOAT32:
        return "float32"
    if mode == MIXED:
        return _widest(floats + [master])
    return _widest(floats) if floats else master


def _itemsizes(compute: str, master: str, device: str) -> dict[str, int]:
    """Bytes per element of each dtype a Keep or a scratch tensor names, in a layer computing in
    `compute` (the `size[k.dtype]` of a Keep k)."""
    csize = ITEMSIZE[compute]
    return {ACT: csize, PARAM: ITEMSIZE[master], MASK: 1 if device == "cuda" else csize, COMPLEX: 2 * csize,
            INT64: 8, BOOL: 1, UPCAST: max(csize, 4) if device == "cpu" else csize}


def _step_temporaries(optimizer: str, impl: str, tensors: list[int]) -> list[int]:
    """The elements optimizer.step() holds in temporaries at each of its moments, beside the states
    and parameters it updates in place; `tensors`: every parameter tensor's elements, in order."""
    if optimizer in ("adam", "adamw") and impl == "for-loop":
        # per tensor: denom = (exp_avg_sq.sqrt() / bias_correction2_sqrt).add_(eps): the square
        # root and the quotient exist together, while the previous tensor's denom is still bound
        return [previous + 2 * t for previous, t in zip([0, *tensors], tensors)]
    if optimizer in ("adam", "adamw") and impl == "foreach":
        return [sum(tensors)]  # torch._foreach_sqrt over every parameter at once
    return [0]  # SGD (with or without momentum) and fused Adam: in place


def _gradients(steps: list[Step], layers: tuple[LayerReport, ...],
               input_grad: bool) -> tuple[dict[str, bool], dict[str, bool]]:
    """Which values need a gradient, and whose backward runs (a layer with parameters, or one
    reading a value that needs a gradient)."""
    needs: dict[str, bool] = {"input": input_grad and not steps[0].record.input_dtype}
    runs: dict[str, bool] = {}
    for step, layer in zip(steps, layers):
        runs[layer.name] = layer.params + layer.shared_params > 0 or any(needs[n] for n in step.node.inputs)
        needs[layer.name] = runs[layer.name]
    return needs, runs


def _reaching(steps: list[Step], outputs: tuple[str, ...]) -> set[str]:
    """The values whose output reaches the loss (a layer whose output nothing reads is dropped with
    its output, and what it kept with it)."""
    reaches = set(outputs)
    for step in reversed(steps):
        if step.node.name in reaches:
            reaches.update(step.node.inputs)
    return reaches


def _buffer_bytes(steps: list[Step], layers: tuple[LayerReport, ...], shapes: dict[str, tuple[int, ...]],
                  itemsize: int) -> int:
    """The buffers' bytes: in the parameters' dtype, but a batch norm's step counter (int64)."""
    total = 0
    for step, layer in zip(steps, layers):
        counters = step.record.counters(step.node.args, _x(step, shapes), shapes[layer.name]) if layer.buffers else 0
        total += (layer.buffers - counters) * itemsize + counters * COUNTER_BYTES
    return total


def _check_training_rules(spec: Spec, steps: list[Step], shapes: dict[str, tuple[int, ...]]) -> None:
    """A kind whose training rules cannot answer (an opaque import) fails here, located."""
    for step in steps:
        try:
            step.record.saved(step.node.args, _x(step, shapes), shapes[step.node.name])
            step.record.backward_flops(step.node.args, _x(step, shapes), shapes[step.node.name])
        except LayerError as exc:
            raise ShapeError(str(exc), file=spec.source, line=step.node.line, layer=step.node.name,
                             kind=step.node.kind) from None


def timeline(spec: Spec, setup: Setup, input_grad: bool = False) -> Timeline:
    """The memory of one steady-state training iteration of `spec`, as byte pairs per event.
    `input_grad`: the input needs a gradient too (tests use it to make every layer run its
    backward; a training loop's input does not)."""
    report = analyze(spec, 1)  # shapes and parameter counts (per sample); raises on a bad spec
    steps = plan(spec.nodes)
    shapes: dict[str, tuple[int, ...]] = {"input": spec.input}
    shapes.update((layer.name, layer.output[1:]) for layer in report.layers)
    master, low, device = setup.dtype, setup.amp, setup.device
    msize = ITEMSIZE[master]
    mem = _Memory()

    needs, runs = _gradients(steps, report.layers, input_grad)
    reaches = _reaching(steps, (spec.nodes[-1].name,))

    # The steady state: parameters, buffers, the optimizer's state and the input batch.
    params = sum(layer.params for layer in report.layers)
    weight_bytes = params * msize
    buffer_bytes = _buffer_bytes(steps, report.layers, shapes, msize)
    # every parameter tensor once, at the layer that owns it (a shared one is its owner's: sharing.py)
    uses = {step.node.name: _uses(step, layer, shapes) for step, layer in zip(steps, report.layers)}
    tensors = [size for step in steps for key, size in uses[step.node.name] if key[0] == step.node.name]
    optimizer_bytes = STATE[setup.optimizer] * weight_bytes
    if setup.optimizer in ("adam", "adamw") and (device == "cpu" or setup.implementation == "fused"):
        # Adam counts its steps in a float32 scalar per parameter tensor, on the parameters' device
        # when fused, else on the CPU (device memory only when training on the CPU)
        optimizer_bytes += 4 * len(tensors)
    mem.alloc(weight_bytes + buffer_bytes + optimizer_bytes)
    first = steps[0].record
    input_dtype = first.input_dtype or master
    input_bytes = _bytes(prod(spec.input), ITEMSIZE[input_dtype])
    values = {"input": mem.alloc(*input_bytes)}
    mem.hold(values["input"])  # the training loop holds its batch for the whole iteration
    dtype_of = {"input": input_dtype}
    mem.mark("start", "")

    kept: dict[str, list[int]] = {}  # layer -> storages its backward keeps
    computes: dict[str, str] = {}
    named: dict[tuple[str, str], int] = {}  # (layer, Keep.name) -> storage, for SIDE keeps
    cache: list[int] = []  # autocast's copies of the weights, held until the forward ends
    seen: set[int] = set()
    saved_total = [0, 0]
    facts: list[dict[str, Any]] = []
    scratches: dict[str, tuple[Pair, ...]] = {}  # layer -> its backward's short-lived tensors

    _check_training_rules(spec, steps, shapes)

    for step, layer in zip(steps, report.layers):
        node, record, a = step.node, step.record, step.node.args
        x, y = _x(step, shapes), shapes[node.name]
        xs = x if record.merge else (x,)
        in_dtypes = [dtype_of[n] for n in node.inputs]
        mode = record.autocast(a, x, device) if low else None
        compute = _compute_dtype(mode, in_dtypes, master, low)
        computes[node.name] = compute
        csize = ITEMSIZE[compute]
        size = _itemsizes(compute, master, device)
        upcast = size[UPCAST] > csize  # attention's math path computes a low-precision input in float32

        keeps = record.saved(a, x, y) if runs[node.name] else ()
        padded = next((k for k in record.saved(a, x, y) if k.name == "padded"), None)
        # autocast copies the inputs of a listed op into the dtype it runs in (an op that pads
        # first reads the padded tensor, made in the input's dtype, and autocast copies that)
        copies: dict[int, int] = {}
        transient: list[int] = []
        if mode in (LOW, FLOAT32, PROMOTE):
            for i, (n, d) in enumerate(zip(node.inputs, in_dtypes)):
                if d != INT64 and d != compute:
                    if padded is not None:
                        transient.append(mem.alloc(*_bytes(padded.elements, ITEMSIZE[d])))
                    else:
                        copies[i] = mem.alloc(*_bytes(prod(xs[i]), csize))
        fwd_scratch, bwd_scratch = record.scratch(a, x, y)
        # its output: a view shares its input's storage
        if record.train_view:
            values[node.name] = mem.hold(values[node.inputs[0]])
            activation: Pair = (0, 0)
        else:
            activation = _bytes(prod(y), csize)
            values[node.name] = mem.alloc(*activation)
        dtype_of[node.name] = compute if not record.train_view else in_dtypes[0]
        # under autocast a listed op with float32 parameters reads low-precision copies of them
        copied = low is not None and compute != master and layer.params > 0
        weight_copies = []
        if copied:
            kept_weights = sum(k.elements for k in keeps if k.source == WEIGHT)
            for k in keeps:
                if k.source == WEIGHT:
                    weight_copies.append(mem.alloc(k.elements * csize))
                    cache.append(weight_copies[-1])
            if layer.params > kept_weights:
                cache.append(mem.alloc((layer.params - kept_weights) * csize))
        holds: list[int] = []
        made: list[int] = []  # NEW tensors: this step's reference, dropped when it ends
        layer_saved = [0, 0]
        w = 0
        for k in keeps:
            if k.grad_of is not None and not needs[node.inputs[k.grad_of]]:
                continue
            if k.name in (WHEN_NATIVE, WHEN_UPCAST) and (k.name == WHEN_UPCAST) != upcast:
                continue
            sid = _keep(k, step, values, copies, named, weight_copies[w:w + 1], mem, size)
            if k.source == NEW:
                made.append(sid)
            if k.source == WEIGHT:
                w += 1
            if k.source == BUFFER:
                nbytes = _bytes(k.elements, size[k.dtype], k.batched)
                layer_saved = [layer_saved[0] + nbytes[0], layer_saved[1] + nbytes[1]]
            if sid is None or sid in holds:
                continue
            holds.append(sid)
            if sid not in seen:
                seen.add(sid)
                fixed, per = mem.size[sid]
                layer_saved = [layer_saved[0] + fixed, layer_saved[1] + per]
        saved_total = [saved_total[0] + layer_saved[0], saved_total[1] + layer_saved[1]]
        for sid in holds:
            mem.hold(sid)
        made += [mem.alloc(*_bytes(k.elements, size[k.dtype], k.batched)) for k in fwd_scratch]
        mem.mark("forward", node.name)
        for sid in list(copies.values()) + made + transient:
            mem.drop(sid)
        if node.name in reaches:
            kept[node.name] = holds
        else:
            for sid in holds:
                mem.drop(sid)
        for name in step.releases:
            mem.drop(values[name])
        inputs_need = any(needs[n] for n in node.inputs)
        only_input, always = record.backward_flops(a, x, y)
        scratches[node.name] = tuple(_bytes(k.elements, size[k.dtype], k.batched) for k in bwd_scratch)
        facts.append(dict(index=step.index, name=node.name, kind=node.kind, output=y, dtype=dtype_of[node.name],
                          saved=tuple(layer_saved), activation=activation,
                          grad_bytes=layer.params * msize, optimizer_bytes=STATE[setup.optimizer] * layer.params * msize,
                          forward_flops=record.train_flops(a, x, y),
                          backward_flops=(always + (only_input if inputs_need else 0)) if runs[node.name] else 0))

    # The forward is over: autocast's cache lets go of its weight copies, and the loss is taken
    # (a scalar, held to the end of the iteration): the output itself is let go (kept only if its
    # own layer keeps it). The backward starts from the loss's gradient (a scalar), and the output's
    # gradient arrives as one tensor of its size: a sum's is a broadcast view of the scalar, any
    # real loss's is a tensor (convcalc counts that).
    for sid in cache:
        mem.drop(sid)
    out = spec.nodes[-1].name
    scalar = ITEMSIZE[dtype_of[out]]
    loss = mem.alloc(scalar)
    mem.drop(values[out])
    seed = mem.alloc(scalar)
    grads = {out: mem.alloc(*_bytes(prod(shapes[out]), ITEMSIZE[dtype_of[out]]))}
    sliced: set[str] = set()  # values whose gradient is still a slice of another's storage
    mem.mark("backward", out)
    param_grads: list[int] = []
    grad_of: dict[tuple[str, str], int] = {}  # (owner, tensor) -> the storage holding its gradient
    for step, layer in zip(reversed(steps), reversed(report.layers)):
        node, record = step.node, step.record
        if not runs[node.name] or node.name not in grads:
            continue
        x = _x(step, shapes)
        xs = x if record.merge else (x,)
        compute = computes[node.name]
        g = grads.pop(node.name)
        temps: list[int] = []
        new_grads: list[tuple[str, int]] = []
        slices: set[int] = set()  # storages this layer hands on as slices (a concat's gradient)
        # gradients made in the layer's dtype for a tensor of another: (storage, size cast back,
        # the input it belongs to, or '' for a parameter)
        recasts: list[tuple[int, Pair, str]] = []
        for i, n in enumerate(node.inputs):
            if not needs[n]:
                continue
            if record.grad_view(node.args, x, shapes[node.name], i):
                new_grads.append((n, mem.hold(g)))
                if prod(xs[i]) != prod(shapes[node.name]):  # a slice of the gradient (a concat's input)
                    slices.add(g)
                continue
            if dtype_of[n] != compute:  # made in the layer's dtype, cast to the input's below
                sid = mem.alloc(*_bytes(prod(xs[i]), ITEMSIZE[compute]))
                recasts.append((sid, _bytes(prod(xs[i]), ITEMSIZE[dtype_of[n]]), n))
            else:
                new_grads.append((n, mem.alloc(*_bytes(prod(xs[i]), ITEMSIZE[dtype_of[n]]))))
        copied = low is not None and compute != master
        # A parameter's gradient: the first one made (at its last use in the forward) is kept as its
        # .grad; one made at an earlier use of a shared tensor is added into it and let go (sharing.py)
        later: list[int] = []
        if copied:  # gradients of the weights' copies, each cast to the master's dtype later
            recasts += [(mem.alloc(t * ITEMSIZE[compute]), (t * msize, 0), key) for key, t in uses[node.name]]
        elif uses[node.name]:
            first = [(key, t) for key, t in uses[node.name] if key not in grad_of]
            later = [mem.alloc(t * msize) for key, t in uses[node.name] if key in grad_of]
            if first:
                sid = mem.alloc(sum(t for _, t in first) * msize)
                param_grads.append(sid)
                grad_of.update((key, sid) for key, _ in first)
        temps += [mem.alloc(*pair) for pair in scratches[node.name]]
        mem.mark("backward", node.name)
        for sid in temps + later:
            mem.drop(sid)
        mem.drop(g)
        for sid in kept.pop(node.name, ()):
            mem.drop(sid)
        # the casts' backward runs after the layer's: one gradient at a time into its tensor's dtype
        for sid, size, n in recasts:
            cast = mem.alloc(*size)
            mem.mark("backward", node.name)
            mem.drop(sid)
            if isinstance(n, str):
                new_grads.append((n, cast))
            elif n not in grad_of:
                grad_of[n] = cast
                param_grads.append(cast)
            else:
                mem.drop(cast)  # added into the shared tensor's gradient
        for n, sid in new_grads:
            whole = sid not in slices
            if n not in grads:
                grads[n] = sid
                if not whole:
                    sliced.add(n)
                continue
            # A second gradient for the same value: summed into a new tensor of the value's size (a
            # slice of a concat's gradient holds the whole concat's storage, but the sum is the
            # value's own), as PyTorch measures it on CPU tensors, real and fake alike
            old = grads[n]
            total = mem.alloc(*mem.size[sid] if whole and n not in sliced
                              else _bytes(prod(shapes[n]), ITEMSIZE[dtype_of[n]]))
            mem.mark("backward", node.name)
            mem.drop(old)
            mem.drop(sid)
            grads[n] = total
            sliced.discard(n)
    for sid in grads.values():
        mem.drop(sid)
    mem.drop(seed)  # the engine holds the loss's gradient until the backward ends

    # optimizer.step(): the states are updated in place; Adam's step makes temporaries
    for elements in _step_temporaries(setup.optimizer, setup.implementation, tensors):
        sid = mem.alloc(elements * msize)
        mem.mark("optimizer", "")
        mem.drop(sid)
    for sid in param_grads:  # zero_grad(set_to_none=True)
        mem.drop(sid)
    mem.drop(values["input"])
    mem.drop(loss)

    layers = tuple(LayerFacts(**f) for f in facts)
    inference = setup.amp or master
    return Timeline(spec.name, spec.source, setup, spec.input, spec.batch, layers, tuple(mem.events),
                    weight_bytes, buffer_bytes, weight_bytes, optimizer_bytes, tuple(saved_total), input_bytes,
                    inference)


def _uses(step: Any, layer: Any, shapes: dict[str, tuple[int, ...]]) -> list[tuple[tuple[str, str], int]]:
    """The parameter tensors a layer reads, each as ((the layer owning it, its name), elements):
    its own, and those it shares with an earlier layer (`shares:`)."""
    if not layer.params and not layer.shared_params:
        return []
    node = step.node
    sizes = step.record.tensors(node.args, _x(step, shapes), shapes[node.name])
    owner = dict(layer.shares)
    return [((owner.get(name, node.name), name), size)
            for name, size in zip(tensor_names(node.kind, node.args, len(sizes)), sizes)]


def _x(step: Any, shapes: dict[str, tuple[int, ...]]) -> Any:
    if step.record.merge:
        return tuple(shapes[n] for n in step.node.inputs)
    return shapes[step.node.inputs[0]]


def _keep(k: Keep, step: Any, values: dict[str, int], copies: dict[int, int], named: dict[tuple[str, str], int],
          weight_copy: list[int], mem: _Memory, size: dict[str, int]) -> int | None:
    """The storage a Keep refers to (made now for NEW), or None when it costs nothing (a buffer,
    a parameter that autocast does not copy)."""
    layer = step.node.name
    if k.source == INPUT:
        return copies.get(k.index, values[step.node.inputs[k.index]])
    if k.source == OUTPUT:
        return values[layer]
    if k.source == NEW:
        sid = mem.alloc(*_bytes(k.elements, size[k.dtype], k.batched))
        if k.name:
            named[(layer, k.name)] = sid  # alive while its maker's backward keeps it
        return sid
    if k.source == SIDE:
        return named[(step.side[0][1], k.name)]
    if k.source == WEIGHT:
        return weight_copy[0] if weight_copy else None
    return None  # BUFFER: in memory anyway


def evaluate(t: Timeline, batch: int) -> TrainingReport:
    """The timeline at one batch size: per-layer and total bytes and FLOPs, and the peak."""
    peak, event = t.peak(batch)
    spec_dtype = t.inference_dtype
    layers = tuple(TrainLayer(f.index, f.name, f.kind, (batch, *f.output), f.dtype,
                              f.saved[0] + f.saved[1] * batch, f.activation[0] + f.activation[1] * batch,
                              f.grad_bytes, f.optimizer_bytes, f.forward_flops * batch, f.backward_flops * batch)
                   for f in t.layers)
    total = TrainTotals(
        weight_bytes=t.weight_bytes, buffer_bytes=t.buffer_bytes, grad_bytes=t.grad_bytes,
        optimizer_bytes=t.optimizer_bytes, saved_bytes=t.saved[0] + t.saved[1] * batch,
        input_bytes=t.input_bytes[0] + t.input_bytes[1] * batch, peak_bytes=peak,
        inference_peak_bytes=0, forward_flops=sum(layer.forward_flops for layer in layers),
        backward_flops=sum(layer.backward_flops for layer in layers), peak_phase=event.phase,
        peak_layer=event.layer)
    return TrainingReport(t.name, t.source, batch, t.setup.dtype, t.setup.amp, t.setup.optimizer,
                          t.setup.implementation, t.setup.device, layers, total, None, spec_dtype)


def fit(t: Timeline, memory: int) -> Fit:
    """The largest batch whose training peak is at most `memory` bytes (0 when not even one
    sample fits), solved from the events: each is fixed + per_sample * N <= memory."""
    best = limits.MAX_SIZE
    for e in t.events:
        if e.fixed > memory:
            return Fit(memory, 0, None)
        if e.per_sample:
            best = min(best, (memory - e.fixed) // e.per_sample)
    if best < 1:
        return Fit(memory, 0, None)
    return Fit(memory, best, t.peak(best)[0])


def train(spec: Spec, setup: Setup, batch: int | None = None, memory: int | None = None) -> TrainingReport:
    """The training report of `spec` at `batch` (the spec's by default), with the largest batch
    that fits `memory` bytes when given."""
    return reports(spec, setup, (spec.batch if batch is None else batch,), memory)[0]


def reports(spec: Spec, setup: Setup, batches: tuple[int, ...], memory: int | None = None) -> list[TrainingReport]:
    """One report per batch size from one timeline; `fit` (the same for all) when `memory` is given."""
    t = timeline(spec, setup)
    found = fit(t, memory) if memory is not None else None
    out = []
    for batch in batches:
        report = evaluate(t, batch)
        inference = analyze(spec._replace(dtype=t.inference_dtype), batch).total.peak_activation_bytes
        total = report.total._replace(inference_peak_bytes=t.weight_bytes + t.buffer_bytes + inference)
        out.append(report._replace(total=total, fit=found))
    return out
