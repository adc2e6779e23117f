"""Cross-check convcalc against what PyTorch really does, layer by layer.

For each layer of a spec, convcalc's numbers are compared, under each tool's own convention,
with:

- **torch**: the output shape seen by a forward hook on the built module (batch included) and the
  module's real `parameters()` and `buffers()` counts;
- **fvcore**: `FlopCountAnalysis(...).by_module()`, which counts one per multiply-add of conv and
  linear (bias ignored), 2 per element for eval batch norm, and a few more ops (each registry
  record's `fvcore` rule says what fvcore should report); the operators fvcore does not support
  are collected per layer and reported, never dropped;
- **flop_counter**: `torch.utils.flop_counter.FlopCounterMode`, which counts 2 per multiply-add of
  conv, transposed conv and linear and nothing else: 2 x convcalc's MACs (each record's
  `flop_counter` rule; the FFT convolution has none).

Shapes, parameters and FlopCounterMode run on the meta device when they can (no memory is
allocated, so a 4K input or a huge model verifies in a blink); fvcore's tracer needs real tensors,
so it runs on the CPU, and the result says so. torch and fvcore are imported here: import this
module lazily.
"""

from __future__ import annotations

import contextlib
import io
import logging
import warnings
from typing import Any, NamedTuple

import torch

from .analysis import analyze
from .layers import REGISTRY
from .report import SCHEMAS, args_dict, spec_label
from .spec.model import Spec
from .torch_bridge import build, example_input, module_path


METRICS = ("shape", "params", "buffers", "fvcore", "flop_counter")


class Check(NamedTuple):
    metric: str  # one of METRICS
    convcalc: Any  # convcalc's value under the tool's convention
    actual: Any  # what the tool reported (None: the tool did not run)

    @property
    def ok(self) -> bool:
        return self.actual is None or self.convcalc == self.actual

    def to_dict(self) -> dict[str, Any]:
        return {"metric": self.metric, "convcalc": _jsonable(self.convcalc), "actual": _jsonable(self.actual),
                "ok": self.ok}


class LayerCheck(NamedTuple):
    index: int
    name: str
    kind: str
    checks: tuple[Check, ...]
    unsupported: dict[str, int]  # fvcore's unsupported operators in this layer -> times seen
    macs: int  # convcalc's own MACs (docs/costs.md), shown beside the tools' counts

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)

    def check(self, metric: str) -> Check | None:
        return next((c for c in self.checks if c.metric == metric), None)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "ok": self.ok, "macs": self.macs,
                "checks": [c.to_dict() for c in self.checks], "fvcore_unsupported": self.unsupported}


class Verification(NamedTuple):
    name: str
    source: str
    batch: int
    layers: tuple[LayerCheck, ...]
    total: tuple[Check, ...]
    notes: tuple[str, ...]
    versions: dict[str, str]
    macs: int  # convcalc's total MACs
    args: dict[str, Any] = {}  # the spec's `args:` values (--set)
    input: tuple[int, ...] = ()  # per sample
    input_given: bool = False  # from --input

    @property
    def label(self) -> str:
        return spec_label(self.name, self.source, self.args, self.input, self.input_given)

    @property
    def ok(self) -> bool:
        return all(layer.ok for layer in self.layers) and all(check.ok for check in self.total)

    @property
    def unsupported(self) -> dict[str, int]:
        total: dict[str, int] = {}
        for layer in self.layers:
            for op, n in layer.unsupported.items():
                total[op] = total.get(op, 0) + n
        return dict(sorted(total.items()))

    def to_dict(self) -> dict[str, Any]:
        return {"schema": SCHEMAS["verify"], "name": self.name, "source": self.source, "batch": self.batch, "ok": self.ok,
                "macs": self.macs,
                "layers": [layer.to_dict() for layer in self.layers],
                "total": [c.to_dict() for c in self.total],
                "fvcore_unsupported": self.unsupported, "notes": list(self.notes), "versions": self.versions,
                "input": list(self.input), "args": args_dict(self.args)}


def _jsonable(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


class _Run(NamedTuple):
    shapes: dict[str, tuple[int, ...]]
    params: dict[str, int]
    buffers: dict[str, int]
    flops: dict[str, int]  # FlopCounterMode per layer, and "" for the whole model


def _run(spec: Spec, batch: int, device: str) -> _Run:
    """Build on `device`, run one forward pass with hooks under FlopCounterMode."""
    from torch.utils.flop_counter import FlopCounterMode

    with torch.device(device):
        model = build(spec)
    shapes: dict[str, tuple[int, ...]] = {}

    def hook(name: str) -> Any:
        def record(module: Any, inputs: Any, output: Any) -> None:
            tensor = output[0] if isinstance(output, tuple) else output
            shapes[name] = tuple(tensor.shape)

        return record

    params, buffers = {}, {}
    for node in spec.nodes:
        module = model.get_submodule(module_path(node.name))
        module.register_forward_hook(hook(node.name))
        params[node.name] = sum(p.numel() for p in module.parameters())
        buffers[node.name] = sum(b.numel() for b in module.buffers())
    x = example_input(spec, batch, device=device)
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(x)
    root = type(model).__name__
    flops = {"": sum(counter.get_flop_counts().get(root, {}).values())}
    for key, ops in counter.get_flop_counts().items():
        if key.startswith(root + "."):
            flops[key[len(root) + 1:]] = sum(ops.values())
    return _Run(shapes, params, buffers, flops)


def _fvcore(spec: Spec, batch: int) -> tuple[dict[str, int], dict[str, dict[str, int]], int]:
    """fvcore's per-module counts and unsupported operators, traced on real CPU tensors."""
    from fvcore.nn import FlopCountAnalysis

    model = build(spec)
    x = example_input(spec, batch)
    analysis = FlopCountAnalysis(model, x)
    analysis.unsupported_ops_warnings(False)
    analysis.uncalled_modules_warnings(False)
    analysis.tracer_warnings("none")
    with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
        warnings.simplefilter("ignore")
        logging.getLogger("fvcore").setLevel(logging.ERROR)
        by_module = analysis.by_module()
        unsupported = {}
        for node in spec.nodes:
            path = module_path(node.name)
            unsupported[node.name] = {op: n for op, n in analysis.unsupported_ops(path).items()}
    counts = {node.name: by_module.get(module_path(node.name), 0) for node in spec.nodes}
    return counts, unsupported, analysis.total()


def verify(spec: Spec, batch: int | None = None, use_fvcore: bool = True) -> Verification:
    """Compare every layer's shape, params, buffers, fvcore count and FlopCounterMode count."""
    batch = spec.batch if batch is None else batch
    report = analyze(spec, batch)
    notes = []
    try:
        run = _run(spec, batch, "meta")
        notes.append("shapes, parameters and FlopCounterMode ran on the meta device (no memory allocated)")
    except Exception as exc:  # some ops have no meta kernel or check data: fall back to real tensors
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        run = _run(spec, batch, "cpu")
        notes.append(f"the meta device could not run this network ({first[:120]}); "
                     "shapes, parameters and FlopCounterMode ran on real CPU tensors")
    fv_counts: dict[str, int] = {}
    fv_unsupported: dict[str, dict[str, int]] = {}
    fv_total = None
    fv_ran = False
    if use_fvcore:
        try:
            fv_counts, fv_unsupported, fv_total = _fvcore(spec, batch)
            fv_ran = True
            notes.append("fvcore traced the network with real tensors on the CPU (its tracer needs them)")
        except Exception as exc:  # its JIT tracer cannot trace some ops (max_unpool in torch 2.13)
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            notes.append(f"fvcore could not trace this network ({type(exc).__name__}: {first[:120]}); "
                         "its column is empty")

    layers = []
    fv_expected_total = fc_expected_total = 0
    per_sample = {"input": report.input[1:], **{layer.name: layer.output[1:] for layer in report.layers}}
    for node, row in zip(spec.nodes, report.layers):
        record = REGISTRY[node.kind]
        shapes_in = tuple(per_sample[name] for name in node.inputs)
        x = shapes_in if record.merge else shapes_in[0]
        fv_expected = record.fvcore(node.args, x, row.output[1:]) * batch
        fv_expected_total += fv_expected
        fc_expected_total += record.flop_counter(node.args, x, row.output[1:]) * batch
        checks = (
            Check("shape", row.output, run.shapes.get(node.name)),
            Check("params", row.params, run.params[node.name]),
            Check("buffers", row.buffers, run.buffers[node.name]),
            Check("fvcore", fv_expected, fv_counts.get(node.name) if fv_ran else None),
            Check("flop_counter", record.flop_counter(node.args, x, row.output[1:]) * batch,
                  run.flops.get(module_path(node.name), 0)),
        )
        layers.append(LayerCheck(row.index, node.name, node.kind, checks, fv_unsupported.get(node.name, {}),
                                 row.macs))
    total = (
        Check("params", report.total.params, sum(run.params.values())),
        Check("buffers", report.total.buffers, sum(run.buffers.values())),
        Check("fvcore", fv_expected_total, fv_total),
        Check("flop_counter", fc_expected_total, run.flops.get("", 0)),
    )
    return Verification(spec.name, spec.source, batch, tuple(layers), total, tuple(notes), _versions(),
                        report.total.macs, spec.args, spec.input, spec.input_given)


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    found = {"torch": torch.__version__}
    try:
        found["fvcore"] = version("fvcore")
    except PackageNotFoundError:
        found["fvcore"] = "not installed"
    return found
