"""`convcalc verify --train`: convcalc's training numbers beside PyTorch's, layer by layer.

Per layer: the bytes autograd keeps for the backward (saved_tensors_hooks on a train-mode forward,
each storage once, parameters excluded: convcalc.train_truth.saved) and the backward's FLOPs under
FlopCounterMode's convention (2 per multiply-add of conv, transposed conv and matmul: the record's
`flop_counter_backward`, against FlopCounterMode's formulas, attributed per layer by autograd hooks:
convcalc.train_truth.backward_flops). For the whole network: the peak of the second training iteration with
SGD against MemTracker (convcalc.train_truth.peak), which may exceed MemTracker's by the output's
gradient (docs/memory.md). On the CPU, in float32, on fake tensors: no memory is allocated.

A known disagreement is shown, not failed: FlopCounterMode ignores `groups` in the backward of a
grouped convolution in torch 2.13 (docs/costs.md), so where a grouped layer's count is exactly
what ignoring the groups gives, the row says so and convcalc's count stands. torch is imported
here: import this module lazily.
"""

from __future__ import annotations

from math import prod
from typing import Any, NamedTuple

from .analysis import analyze
from .layers import REGISTRY
from .report import SCHEMAS
from .spec.model import Spec

GROUPS_IGNORED = "FlopCounterMode ignores groups in the backward (docs/costs.md)"


class TrainCheck(NamedTuple):
    metric: str  # "saved_bytes" or "flop_counter_backward"
    convcalc: int
    actual: int | None  # None: not measured
    known: str = ""  # why a disagreement is expected (convcalc's value stands)

    @property
    def ok(self) -> bool:
        return self.actual is None or self.convcalc == self.actual or bool(self.known)

    def to_dict(self) -> dict[str, Any]:
        return {"metric": self.metric, "convcalc": self.convcalc, "actual": self.actual, "ok": self.ok,
                "known": self.known or None}


class TrainLayerCheck(NamedTuple):
    index: int
    name: str
    kind: str
    checks: tuple[TrainCheck, ...]

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)

    def check(self, metric: str) -> TrainCheck:
        return next(c for c in self.checks if c.metric == metric)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "ok": self.ok, "checks": [c.to_dict() for c in self.checks]}


class TrainVerification(NamedTuple):
    name: str
    source: str
    batch: int
    layers: tuple[TrainLayerCheck, ...]
    peak: TrainCheck  # convcalc's SGD peak against MemTracker's
    output_gradient: int  # bytes convcalc's peak may exceed MemTracker's by
    notes: tuple[str, ...]

    @property
    def ok(self) -> bool:
        peak_ok = self.peak.actual is None or 0 <= self.peak.convcalc - self.peak.actual <= self.output_gradient
        return peak_ok and all(layer.ok for layer in self.layers)

    def to_dict(self) -> dict[str, Any]:
        return {"schema": SCHEMAS["verify"], "train": True, "name": self.name, "source": self.source,
                "batch": self.batch, "ok": self.ok, "layers": [layer.to_dict() for layer in self.layers],
                "peak": self.peak.to_dict(), "output_gradient_bytes": self.output_gradient, "notes": list(self.notes)}


def verify_train(spec: Spec, batch: int | None = None) -> TrainVerification:
    """convcalc's saved bytes, backward FLOPs and SGD peak beside PyTorch's (float32, CPU)."""
    from . import train_truth
    from .training import ITEMSIZE, evaluate, setup_for, timeline

    batch = spec.batch if batch is None else batch
    spec = spec._replace(dtype="float32")
    t = timeline(spec, setup_for(spec, "float32", optimizer="sgd", device="cpu"))
    mine = evaluate(t, batch)
    report = analyze(spec, batch)
    saved = train_truth.saved(spec, batch)
    flops = train_truth.backward_flops(spec, batch)
    peak = train_truth.peak(spec, batch, "sgd")
    shapes = {"input": spec.input, **{layer.name: layer.output[1:] for layer in report.layers}}
    needs = {"input": False}
    layers = []
    for node, row, fact in zip(spec.nodes, report.layers, mine.layers):
        record = REGISTRY[node.kind]
        x = tuple(shapes[n] for n in node.inputs) if record.merge else shapes[node.inputs[0]]
        input_grad = any(needs[n] for n in node.inputs)
        needs[node.name] = row.params > 0 or input_grad
        runs = needs[node.name]
        expected = record.flop_counter_backward(node.args, x, shapes[node.name], input_grad) * batch if runs else 0
        known = ""
        # FlopCounterMode's grouped-backward quirk (Kind.flop_counter_backward_ungrouped), per sample
        ungrouped = record.flop_counter_backward_ungrouped(node.args, x, shapes[node.name], input_grad)
        if runs and ungrouped is not None and flops[node.name] != expected and flops[node.name] == ungrouped * batch:
            known = GROUPS_IGNORED
        layers.append(TrainLayerCheck(row.index, node.name, node.kind, (
            TrainCheck("saved_bytes", fact.saved_bytes, saved[node.name]),
            TrainCheck("flop_counter_backward", expected, flops[node.name], known),
        )))
    rows = {layer.name: layer for layer in mine.layers}  # every output's gradient (`outputs:`): a sum's is a view
    output_gradient = sum(prod(rows[name].output) * ITEMSIZE[rows[name].dtype] for name in spec.output_layers)
    notes = ("saved bytes: saved_tensors_hooks on a train-mode forward (float32, fake CPU tensors); backward FLOPs: "
             "FlopCounterMode's formulas over loss.backward(), per layer by autograd hooks; peak: MemTracker over "
             "the second SGD iteration, which convcalc may exceed by the output's gradient (a sum's is a view)",)
    return TrainVerification(spec.name, spec.source, batch, tuple(layers),
                             TrainCheck("peak_bytes", mine.total.peak_bytes, peak), output_gradient, notes)
