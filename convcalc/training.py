"""Training memory and cost: what one steady-state training iteration holds, and its peak.

`timeline` is the one function that turns the records' training rules (`saved`, `backward_flops`,
`train_flops`, `autocast`, `tensors`) into memory over time. It is the training loop it models,
run on an `_Iteration` (the storages alive and their holders, the values, the gradients on their
way back): `forward` on each of the spec's steps (graph.plan), `seed` at the loss, `backward` on
the same steps in reverse, then `optimizer_step` and `zero_grad`, as PyTorch runs the second
iteration of

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

from collections import Counter
from math import prod
from typing import Any, NamedTuple

from . import limits
from .analysis import COUNTER_BYTES, analyze
from .errors import LayerError, ShapeError, UsageError
from .graph import Step, plan
from .layers import (ACT, BOOL, BUFFER, COMPLEX, FLOAT32, INPUT, INT64, LOW, MASK, MIXED, NEW, OUTPUT, PARAM,
                     PROMOTE, SIDE, UPCAST, WEIGHT, WHEN_NATIVE, WHEN_UPCAST, Keep, Stage)
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
# a gradient made in a layer's dtype for a tensor of another: (its storage, its size cast back, the
# input it belongs to, or the parameter tensor (owner, name))
Recast = tuple[int, Pair, Any]


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
    """The buffers' bytes: in the parameters' dtype, but the int64 counters (a batch norm's num_batches_tracked)."""
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
    it = _Iteration(spec, setup, input_grad)
    it.start()  # parameters, buffers, the optimizer's state and the input batch
    for step in it.steps:
        it.forward(step)
    it.end_forward()
    it.seed(it.outputs)  # loss = model(x).sum(); loss.backward()
    for step in reversed(it.steps):
        it.backward(step)
    it.end_backward()
    it.optimizer_step()
    it.zero_grad()
    return it.timeline()


class _Iteration:
    """One training iteration in progress: the storages alive and their holders (`mem`), each
    value's storage and dtype, what each layer's backward keeps, the gradients on their way back
    and the parameters' gradients. Each method is one step of the training loop `timeline` runs."""

    def __init__(self, spec: Spec, setup: Setup, input_grad: bool) -> None:
        report = analyze(spec, 1)  # shapes and parameter counts (per sample); raises on a bad spec
        self.spec, self.setup = spec, setup
        self.steps = plan(spec.nodes, spec.output_layers)
        self.layer = {layer.name: layer for layer in report.layers}
        self.shapes: dict[str, tuple[int, ...]] = {"input": spec.input}
        self.shapes.update((layer.name, layer.output[1:]) for layer in report.layers)
        self.master, self.low, self.device = setup.dtype, setup.amp, setup.device
        self.msize = ITEMSIZE[self.master]
        self.outputs = tuple(spec.output_layers)  # the layers the loss is taken of (`outputs:`, or the last)
        self.needs, self.runs = _gradients(self.steps, report.layers, input_grad)
        self.reaches = _reaching(self.steps, self.outputs)
        self.weight_bytes = sum(layer.params for layer in report.layers) * self.msize
        self.buffer_bytes = _buffer_bytes(self.steps, report.layers, self.shapes, self.msize)
        # every parameter tensor once, at the layer that owns it (a shared one is its owner's: sharing.py)
        self.uses = {step.node.name: _uses(step, layer, self.shapes) for step, layer in zip(self.steps, report.layers)}
        # the parameter tensors that get a gradient: those a layer reaching the loss reads (a dead
        # layer's stay .grad None, and the optimizer makes no state for them, as PyTorch's does not)
        self.trained = {key for step in self.steps if step.node.name in self.reaches and self.runs[step.node.name]
                        for key, _ in self.uses[step.node.name]}
        self.tensors = [size for step in self.steps for key, size in self.uses[step.node.name]
                        if key[0] == step.node.name and key in self.trained]
        self.owned = {name: 0 for name in self.layer}  # layer -> elements of its own tensors that get a gradient
        for step in self.steps:
            for key, size in self.uses[step.node.name]:
                if key[0] == step.node.name and key in self.trained:
                    self.owned[key[0]] += size
        self.grad_bytes = sum(self.tensors) * self.msize
        self.optimizer_bytes = STATE[setup.optimizer] * self.grad_bytes
        if setup.optimizer in ("adam", "adamw") and (self.device == "cpu" or setup.implementation == "fused"):
            # Adam counts its steps in a float32 scalar per parameter tensor, on the parameters' device
            # when fused, else on the CPU (device memory only when training on the CPU)
            self.optimizer_bytes += 4 * len(self.tensors)
        _check_training_rules(spec, self.steps, self.shapes)
        self.mem = _Memory()
        self.values: dict[str, int] = {}  # value -> its storage, while something will read it
        self.dtype_of: dict[str, str] = {}
        self.computes: dict[str, str] = {}  # layer -> the dtype it computes in
        self.kept: dict[str, list[int]] = {}  # layer -> storages its backward keeps
        self.named: dict[tuple[str, str], int] = {}  # (layer, Keep.name) -> storage, for SIDE keeps
        self.cache: list[int] = []  # autocast's copies of the weights, held until the forward ends
        self.seen: set[int] = set()  # storages some backward keeps, counted in `saved` once
        self.saved: Pair = (0, 0)
        self.facts: list[LayerFacts] = []
        # layer -> its backward's moments: the short-lived tensors' sizes and the record's Stage
        self.stages: dict[str, list[tuple[tuple[Pair, ...], Stage]]] = {}
        self.kept_by: dict[str, dict[int, int]] = {}  # layer -> index in its `saved` -> the storage kept
        self.grads: dict[str, int] = {}  # value -> its gradient's storage, until its layer's backward
        self.sliced: set[str] = set()  # values whose gradient is still a slice of another's storage
        self.param_grads: list[int] = []  # the parameters' .grad, to zero_grad
        self.grad_of: dict[tuple[str, str], int] = {}  # (owner, tensor) -> the storage holding its gradient
        self.low_grads: dict[tuple[str, str], int] = {}  # under autocast: the weight copies' gradients, until cast back
        self.view_grads: set[tuple[str, str]] = set()  # shared tensors whose gradient so far is a view
        # (tensor, bytes, its later gradient, under autocast): to add out of place after the layer's backward
        self.out_of_place: list[tuple[tuple[str, str], int, int, bool]] = []
        # tensor -> the backward uses still to come (layers that reach the loss and read it)
        self.uses_left = Counter(key for step in self.steps if step.node.name in self.reaches
                                 and self.runs[step.node.name] for key, _ in self.uses[step.node.name])

    def start(self) -> None:
        """The steady state: parameters, buffers and the optimizer's state, and the input batch,
        which the training loop holds for the whole iteration."""
        self.mem.alloc(self.weight_bytes + self.buffer_bytes + self.optimizer_bytes)
        input_dtype = self.steps[0].record.input_dtype or self.master
        self.input_bytes = _bytes(prod(self.spec.input), ITEMSIZE[input_dtype])
        self.values["input"] = self.mem.alloc(*self.input_bytes)
        self.mem.hold(self.values["input"])
        self.dtype_of["input"] = input_dtype
        self.mem.mark("start", "")

    def forward(self, step: Step) -> None:
        """One layer's forward: autocast's copies of its inputs, its output, what its backward keeps
        and its short-lived tensors, at once (an event); then what nothing reads any more goes."""
        node, record, a = step.node, step.record, step.node.args
        layer = self.layer[node.name]
        x, y = _x(step, self.shapes), self.shapes[node.name]
        in_dtypes = [self.dtype_of[n] for n in node.inputs]
        mode = record.autocast(a, x, self.device) if self.low else None
        compute = self.computes[node.name] = _compute_dtype(mode, in_dtypes, self.master, self.low)
        size = _itemsizes(compute, self.master, self.device)
        keeps = record.saved(a, x, y) if self.runs[node.name] else ()
        copies, transient = self._autocast_inputs(step, mode, compute, in_dtypes)
        fwd_scratch = record.scratch(a, x, y)[0]
        # its output: a view shares its input's storage
        aliases = record.trains_as_view(a)
        if aliases:
            self.values[node.name] = self.mem.hold(self.values[node.inputs[0]])
            activation: Pair = (0, 0)
        else:
            activation = _bytes(prod(y), size[ACT])
            self.values[node.name] = self.mem.alloc(*activation)
        self.dtype_of[node.name] = compute if not aliases else in_dtypes[0]
        weight_copies = self._weight_copies(layer, keeps, compute)
        holds, made, saved = self._hold_for_backward(step, keeps, copies, weight_copies, size)
        made += [self.mem.alloc(*_bytes(k.elements, size[k.dtype], k.batched)) for k in fwd_scratch
                 if self._applies(k, node, size)]
        self.mem.mark("forward", node.name)
        for sid in list(copies.values()) + made + transient:
            self.mem.drop(sid)
        self._let_go(step, holds)
        self.stages[node.name] = [
            (tuple(_bytes(k.elements, size[k.dtype], k.batched) for k in stage.scratch
                   if self._applies(k, node, size)), stage)
            for stage in record.backward_stages(a, x, y)]
        self.facts.append(self._facts(step, activation, saved))

    def _applies(self, k: Keep, node: Any, size: dict[str, int]) -> bool:
        """Whether a scratch tensor is made: one for an input's gradient (`grad_of`) only where that
        input needs one, one tagged for one side of attention's upcast (WHEN_NATIVE, WHEN_UPCAST) only
        on that side."""
        if k.grad_of is not None and not self.needs[node.inputs[k.grad_of]]:
            return False
        return k.name not in (WHEN_NATIVE, WHEN_UPCAST) or (k.name == WHEN_UPCAST) == (size[UPCAST] > size[ACT])

    def _let_go(self, step: Step, holds: list[int]) -> None:
        """After a layer's forward: what its backward keeps stays if its output reaches the loss
        (else it goes, with the output), and the values read for the last time go."""
        if step.node.name in self.reaches:
            self.kept[step.node.name] = holds
        else:
            for sid in holds:
                self.mem.drop(sid)
        for name in step.releases:
            self.mem.drop(self.values[name])

    def _autocast_inputs(self, step: Step, mode: str | None, compute: str,
                         in_dtypes: list[str]) -> tuple[dict[int, int], list[int]]:
        """Autocast copies the inputs of a listed op into the dtype it runs in (an op that pads
        first reads the padded tensor, made in the input's dtype, and autocast copies that): the
        copies by input, and the padded tensors; both go when the op ends."""
        copies: dict[int, int] = {}
        transient: list[int] = []
        if mode not in (LOW, FLOAT32, PROMOTE):
            return copies, transient
        node = step.node
        x = _x(step, self.shapes)
        xs = x if step.record.merge else (x,)
        padded = next((k for k in step.record.saved(node.args, x, self.shapes[node.name]) if k.name == "padded"), None)
        for i, (n, d) in enumerate(zip(node.inputs, in_dtypes)):
            if d != INT64 and d != compute:
                if padded is not None:
                    transient.append(self.mem.alloc(*_bytes(padded.elements, ITEMSIZE[d])))
                else:
                    copies[i] = self.mem.alloc(*_bytes(prod(xs[i]), ITEMSIZE[compute]))
        return copies, transient

    def _weight_copies(self, layer: LayerReport, keeps: tuple[Keep, ...], compute: str) -> list[int]:
        """Under autocast a listed op with float32 parameters reads low-precision copies of them,
        held in autocast's cache until the forward ends: the copies its WEIGHT keeps name, in order."""
        if self.low is None or compute == self.master or layer.params <= 0:
            return []
        csize = ITEMSIZE[compute]
        copies = [self.mem.alloc(k.elements * csize) for k in keeps if k.source == WEIGHT]
        self.cache += copies
        kept_weights = sum(k.elements for k in keeps if k.source == WEIGHT)
        if layer.params > kept_weights:
            self.cache.append(self.mem.alloc((layer.params - kept_weights) * csize))
        return copies

    def _hold_for_backward(self, step: Step, keeps: tuple[Keep, ...], copies: dict[int, int],
                           weight_copies: list[int], size: dict[str, int]) -> tuple[list[int], list[int], Pair]:
        """What the layer's backward keeps: the storages it holds (each once), the NEW tensors made
        for it (this step's reference, let go when it ends) and the bytes it is first to keep."""
        node = step.node
        upcast = size[UPCAST] > size[ACT]  # attention's math path computes a low-precision input in float32
        holds: list[int] = []
        made: list[int] = []
        saved: Pair = (0, 0)
        w = 0
        by_keep: dict[int, int] = {}
        for i, k in enumerate(keeps):
            if k.grad_of is not None and not self.needs[node.inputs[k.grad_of]]:
                if k.source == NEW:  # the forward makes it all the same (a broadcast factor's copy), then lets go
                    made.append(self.mem.alloc(*_bytes(k.elements, size[k.dtype], k.batched)))
                continue
            if k.name in (WHEN_NATIVE, WHEN_UPCAST) and (k.name == WHEN_UPCAST) != upcast:
                continue
            sid = _keep(k, step, self.values, copies, self.named, weight_copies[w:w + 1], self.mem, size)
            if k.source == NEW:
                made.append(sid)
            if k.source == WEIGHT:
                w += 1
            if k.source == BUFFER:
                saved = _add(saved, _bytes(k.elements, size[k.dtype], k.batched))
            if sid is not None:
                by_keep[i] = sid
            if sid is None or sid in holds:
                continue
            holds.append(sid)
            if sid not in self.seen:
                self.seen.add(sid)
                saved = _add(saved, self.mem.size[sid])
        self.saved = _add(self.saved, saved)
        for sid in holds:
            self.mem.hold(sid)
        self.kept_by[node.name] = by_keep
        return holds, made, saved

    def _facts(self, step: Step, activation: Pair, saved: Pair) -> LayerFacts:
        node, record, a = step.node, step.record, step.node.args
        x, y = _x(step, self.shapes), self.shapes[node.name]
        only_input, always = record.backward_flops(a, x, y)
        inputs_need = any(self.needs[n] for n in node.inputs)
        return LayerFacts(index=step.index, name=node.name, kind=node.kind, output=y, dtype=self.dtype_of[node.name],
                          saved=saved, activation=activation, grad_bytes=self.owned[node.name] * self.msize,
                          optimizer_bytes=STATE[self.setup.optimizer] * self.owned[node.name] * self.msize,
                          forward_flops=record.train_flops(a, x, y),
                          backward_flops=(always + (only_input if inputs_need else 0)) if self.runs[node.name] else 0)

    def end_forward(self) -> None:
        """The forward is over: autocast's cache lets go of its weight copies."""
        for sid in self.cache:
            self.mem.drop(sid)

    def seed(self, outputs: tuple[str, ...]) -> None:
        """The loss is taken (a scalar, held to the end of the iteration) and the outputs are let go
        (kept only if their own layers keep them). The backward starts from the loss's gradient (a
        scalar, held by the engine until the backward ends), and each output's gradient arrives as one
        tensor of its size: a sum's is a broadcast view of the scalar, any real loss's is a tensor
        (convcalc counts that). Several outputs (`outputs:`) are all in the loss (the sum of their
        sums): each one's gradient is seeded here."""
        scalar = ITEMSIZE[self.dtype_of[outputs[0]]]
        self.loss = self.mem.alloc(scalar)
        for out in outputs:
            self.mem.drop(self.values[out])
        self.seed_grad = self.mem.alloc(scalar)
        for out in outputs:
            self.grads[out] = self.mem.alloc(*_bytes(prod(self.shapes[out]), ITEMSIZE[self.dtype_of[out]]))
        self.mem.mark("backward", outputs[-1])

    def backward(self, step: Step) -> None:
        """One layer's backward, where it runs, moment by moment (the record's `backward_stages`;
        most kinds have one): at each, the gradients made by then (its inputs' and parameters') and
        its short-lived tensors are alive beside its output's gradient and what it still keeps (an
        event); then those tensors go, and what the moment let go of. At the end the rest goes, the
        casts back run, and the inputs' gradients are handed on."""
        node = step.node
        if not self.runs[node.name] or node.name not in self.grads:
            return
        g = self.grads.pop(node.name)
        kept, by_keep = self.kept.pop(node.name, []), self.kept_by.pop(node.name, {})
        new_grads: list[tuple[str, int]] = []
        slices: set[int] = set()
        recasts: list[Recast] = []
        later: list[int] = []
        made: set[int] = set()
        inputs_made = False
        for scratch, stage in self.stages[node.name]:
            if stage.inputs and not inputs_made:
                new_grads, slices, recasts = self._input_gradients(step, g)
                inputs_made = True
            wanted = [i for i in (range(len(self.uses[node.name])) if stage.params is None else stage.params)
                      if i not in made]
            made.update(wanted)
            more_later, param_recasts = self._parameter_gradients(node.name, wanted)
            later += more_later
            recasts += param_recasts
            temps = [self.mem.alloc(*pair) for pair in scratch]
            self.mem.mark("backward", node.name)
            for sid in temps:
                self.mem.drop(sid)
            for i in stage.frees:
                if by_keep.get(i) in kept:
                    kept.remove(by_keep[i])
                    self.mem.drop(by_keep[i])
        for sid in later:
            self.mem.drop(sid)
        self.mem.drop(g)
        for sid in kept:
            self.mem.drop(sid)
        self._add_out_of_place(node.name)
        new_grads += self._cast_back(node.name, recasts)
        for n, sid in new_grads:
            self._hand_on(node.name, n, sid, whole=sid not in slices)

    def _input_gradients(self, step: Step, g: int) -> tuple[list[tuple[str, int]], set[int], list[Recast]]:
        """The gradient of each input that needs one, from the output's (`g`): `g` itself through
        a view (`slices`: the storages handed on as slices, a concat's gradient), else a new tensor.
        One made in the layer's dtype for an input of another is cast back later (`recasts`: the
        storage, its size cast back, the input it belongs to)."""
        node, record = step.node, step.record
        x = _x(step, self.shapes)
        xs = x if record.merge else (x,)
        compute = self.computes[node.name]
        new_grads: list[tuple[str, int]] = []
        slices: set[int] = set()
        recasts: list[Recast] = []
        for i, n in enumerate(node.inputs):
            if not self.needs[n]:
                continue
            if record.grad_view(node.args, x, self.shapes[node.name], i):
                new_grads.append((n, self.mem.hold(g)))
                if prod(xs[i]) != prod(self.shapes[node.name]):  # a slice of the gradient (a concat's input)
                    slices.add(g)
                continue
            if self.dtype_of[n] != compute:  # made in the layer's dtype, cast to the input's below
                sid = self.mem.alloc(*_bytes(prod(xs[i]), ITEMSIZE[compute]))
                recasts.append((sid, _bytes(prod(xs[i]), ITEMSIZE[self.dtype_of[n]]), n))
            else:
                new_grads.append((n, self.mem.alloc(*_bytes(prod(xs[i]), ITEMSIZE[self.dtype_of[n]]))))
        return new_grads, slices, recasts

    def _parameter_gradients(self, name: str, indices: list[int]) -> tuple[list[int], list[Recast]]:
        """The gradients of the parameter tensors layer `name` reads (those at `indices`, in its
        `tensors` order: a staged backward makes them over several moments). The first one made for a tensor
        (at its last use in the forward) is kept as its .grad; one made at an earlier use of a shared
        tensor is added into it and let go after the layer's backward (`later`; sharing.py). Under
        autocast they are the gradients of the weights' copies, each cast to the master's dtype later
        (recasts, for the tensor (owner, name) they belong to)."""
        compute, uses = self.computes[name], [self.uses[name][i] for i in indices]
        amp = self.low is not None and compute != self.master
        # under autocast every use reads autocast's one cached copy: its gradients are summed in the
        # compute dtype, and cast back once, after the last use's backward (the first in the forward)
        table, itemsize = (self.low_grads, ITEMSIZE[compute]) if amp else (self.grad_of, self.msize)
        later: list[int] = []
        recasts: list[Recast] = []
        for key, t in uses:
            sid = self.mem.alloc(t * itemsize)
            if key not in table:  # each its own tensor
                table[key] = sid
                if not amp:
                    self.param_grads.append(sid)
                if self.layer[name].kind == "linear":
                    # a linear's weight gradient is a transposed view of mm's result, its bias's a view of
                    # a sum: the engine cannot add a later use's gradient into a view in place
                    self.view_grads.add(key)
            elif key in self.view_grads:  # added out of place, after this layer's backward
                self.view_grads.discard(key)
                self.out_of_place.append((key, t * itemsize, sid, amp))
            else:
                later.append(sid)
            self.uses_left[key] -= 1
            if amp and not self.uses_left[key]:
                recasts.append((-1, (t * self.msize, 0), key))  # the sum in `low_grads`, cast back
        return later, recasts

    def _add_out_of_place(self, name: str) -> None:
        """The engine adds a shared tensor's second gradient into its first, a view, out of place
        (old + new, a new tensor) once layer `name`'s backward has returned; the sum (contiguous)
        becomes the .grad, and both addends go."""
        for key, nbytes, sid, amp in self.out_of_place:
            table = self.low_grads if amp else self.grad_of
            total = self.mem.alloc(nbytes)
            self.mem.mark("backward", name)
            self.mem.drop(sid)
            self.mem.drop(table[key])
            if not amp:
                self.param_grads.remove(table[key])
                self.param_grads.append(total)
            table[key] = total
        self.out_of_place = []

    def _cast_back(self, name: str, recasts: list[Recast]) -> list[tuple[str, int]]:
        """The casts' backward runs after the layer's: one gradient at a time into its tensor's dtype.
        An input's is returned, to be handed on; a parameter's becomes its .grad, or is added into
        the shared tensor's and let go."""
        handed: list[tuple[str, int]] = []
        for sid, size, n in recasts:
            if not isinstance(n, str):
                sid = self.low_grads.pop(n)  # a parameter's gradient, summed over its uses
            cast = self.mem.alloc(*size)
            self.mem.mark("backward", name)
            self.mem.drop(sid)
            if isinstance(n, str):
                handed.append((n, cast))
            elif n not in self.grad_of:
                self.grad_of[n] = cast
                self.param_grads.append(cast)
            else:
                self.mem.drop(cast)  # added into the shared tensor's gradient
        return handed

    def _hand_on(self, name: str, n: str, sid: int, whole: bool) -> None:
        """Layer `name` hands value `n` a gradient (`whole`: not a slice of a larger storage). A second
        gradient for the same value is summed into a new tensor of the value's size (a slice of a
        concat's gradient holds the whole concat's storage, but the sum is the value's own), as
        PyTorch measures it on CPU tensors, real and fake alike."""
        if n not in self.grads:
            self.grads[n] = sid
            if not whole:
                self.sliced.add(n)
            return
        old = self.grads[n]
        total = self.mem.alloc(*self.mem.size[sid] if whole and n not in self.sliced
                               else _bytes(prod(self.shapes[n]), ITEMSIZE[self.dtype_of[n]]))
        self.mem.mark("backward", name)
        self.mem.drop(old)
        self.mem.drop(sid)
        self.grads[n] = total
        self.sliced.discard(n)

    def end_backward(self) -> None:
        """The backward is over: gradients no layer used (the input's) go, and the loss's."""
        for sid in self.grads.values():
            self.mem.drop(sid)
        self.mem.drop(self.seed_grad)  # the engine holds the loss's gradient until the backward ends

    def optimizer_step(self) -> None:
        """optimizer.step(): the states are updated in place; Adam's step makes temporaries."""
        for elements in _step_temporaries(self.setup.optimizer, self.setup.implementation, self.tensors):
            sid = self.mem.alloc(elements * self.msize)
            self.mem.mark("optimizer", "")
            self.mem.drop(sid)

    def zero_grad(self) -> None:
        """zero_grad(set_to_none=True): the parameters' gradients go; the iteration ends, and with it
        the loop's hold on its batch and the loss."""
        for sid in self.param_grads:
            self.mem.drop(sid)
        self.mem.drop(self.values["input"])
        self.mem.drop(self.loss)

    def timeline(self) -> Timeline:
        spec = self.spec
        return Timeline(spec.name, spec.source, self.setup, spec.input, spec.batch, tuple(self.facts),
                        tuple(self.mem.events), self.weight_bytes, self.buffer_bytes, self.grad_bytes,
                        self.optimizer_bytes, self.saved, self.input_bytes, self.setup.amp or self.master)


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
    """One report per batch size from one timeline; `fit` (the same for all, but for whether the
    report's batch fits) when `memory` is given."""
    t = timeline(spec, setup)
    found = fit(t, memory) if memory is not None else None
    out = []
    for batch in batches:
        report = evaluate(t, batch)
        inference = analyze(spec._replace(dtype=t.inference_dtype), batch).total.peak_activation_bytes
        total = report.total._replace(inference_peak_bytes=t.weight_bytes + t.buffer_bytes + inference)
        out.append(report._replace(total=total, fit=found and found._replace(fits=total.peak_bytes <= memory)))
    return out
