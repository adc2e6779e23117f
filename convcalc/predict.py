"""`convcalc predict`: per-layer latency on a device you do not have, from the spec alone.

This slice is the plain roofline against a built-in catalogue (devices.json) of published peaks,
uncalibrated: a layer takes max(FLOPs / peak FLOP/s of the dtype, bytes moved / memory
bandwidth), bound by whichever is larger; the network takes the sum of its layers; throughput is
batch / latency. What "bytes moved" counts is docs/predict.md's. Pure: no torch, no numpy, so
`predict` costs what `shapes` costs.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any, NamedTuple

from .analysis import analyze
from .errors import UsageError
from .graph import plan
from .report import SCHEMAS, Identity
from .spec.model import DTYPE_BYTES, Spec
from .suggest import did_you_mean


class Device(NamedTuple):
    name: str  # the catalogue's key, what --device takes
    label: str
    flops_per_s: dict[str, float]  # peak FLOP/s per dtype, dense, as published
    bytes_per_s: float  # memory bandwidth, as published
    source: str  # the spec sheet each figure comes from

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "label": self.label, "uncalibrated": True, "flops_per_s": dict(self.flops_per_s),
                "bytes_per_s": self.bytes_per_s, "source": self.source}


@lru_cache(maxsize=1)
def catalogue() -> dict[str, Device]:
    """The built-in devices, by name (convcalc/devices.json)."""
    doc = json.loads(resources.files("convcalc").joinpath("devices.json").read_text(encoding="utf-8"))
    return {name: Device(name, d["label"], d["flops_per_s"], d["bytes_per_s"], d["source"])
            for name, d in doc["devices"].items()}


def device_named(name: str) -> Device:
    devices = catalogue()
    if name not in devices:
        raise UsageError(f"--device: no device '{name}' in the catalogue{did_you_mean(name, devices)}; "
                         f"known: {', '.join(devices)}")
    return devices[name]


def peak_for(device: Device, dtype: str) -> float:
    if dtype not in device.flops_per_s:
        raise UsageError(f"--dtype: {device.label} has no published peak for {dtype} (it has "
                         f"{', '.join(device.flops_per_s)}): give --dtype one of those")
    return device.flops_per_s[dtype]


def layer_bytes(spec: Spec, report: Any, itemsize: int) -> dict[str, int]:
    """Bytes a layer moves at least once: its inputs (each distinct tensor once, side inputs
    included), its weights and buffers (the Report's weight_bytes: counters are int64 whatever
    the dtype), its output. Shared with `profile`'s roofline."""
    out = {"input": report.input and _numel(report.input) * itemsize}
    moved = {}
    for step, layer in zip(plan(spec.nodes), report.layers):
        read = sum(out[name] for name in set(step.reads))
        moved[step.node.name] = read + layer.weight_bytes + layer.output_bytes
        out[step.node.name] = layer.output_bytes
    return moved


def _numel(shape: tuple[int, ...]) -> int:
    n = 1
    for v in shape:
        n *= v
    return n


class LayerPrediction(NamedTuple):
    index: int  # type: ignore[assignment]
    name: str
    kind: str
    flops: int
    bytes: int
    compute_s: float  # flops / peak FLOP/s
    memory_s: float  # bytes / bandwidth
    latency_s: float  # the larger of the two
    bound: str  # "compute" or "memory"
    share: float  # of the network's latency
    flops_unknown: bool  # its kind cannot count its FLOPs: the time is its memory time only, a floor

    def to_dict(self) -> dict[str, Any]:
        d = self._asdict()
        if not self.flops_unknown:
            del d["flops_unknown"]
        return d


class BatchPrediction(NamedTuple):
    batch: int
    latency_s: float
    throughput_per_s: float
    layers: tuple[LayerPrediction, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"batch": self.batch, "latency_s": self.latency_s, "throughput_per_s": self.throughput_per_s,
                "layers": [layer.to_dict() for layer in self.layers]}


class Prediction(NamedTuple):
    identity: Identity
    dtype: str
    device: Device
    batches: tuple[BatchPrediction, ...]

    @property
    def partial(self) -> bool:
        return any(layer.flops_unknown for b in self.batches for layer in b.layers)

    def to_dict(self) -> dict[str, Any]:
        return {"schema": SCHEMAS["predict"], **self.identity.named(), "dtype": self.dtype,
                "model": "roofline", "device": self.device.to_dict(), "partial": self.partial,
                "batches": [b.to_dict() for b in self.batches]}


def predict_batch(spec: Spec, device: Device, batch: int) -> BatchPrediction:
    """One batch of `spec` (already in the dtype to predict) on `device`'s plain roofline."""
    peak, bandwidth = peak_for(device, spec.dtype), device.bytes_per_s
    report = analyze(spec, batch)
    moved = layer_bytes(spec, report, DTYPE_BYTES[spec.dtype])
    rows = []
    for layer in report.layers:
        compute_s, memory_s = layer.flops / peak, moved[layer.name] / bandwidth
        rows.append((layer, compute_s, memory_s, max(compute_s, memory_s)))
    total = sum(row[3] for row in rows)
    layers = tuple(LayerPrediction(layer.index, layer.name, layer.kind, layer.flops, moved[layer.name], compute_s,
                                   memory_s, latency, "compute" if compute_s > memory_s else "memory",
                                   latency / total if total else 0.0, "flops" in layer.unknown)
                   for layer, compute_s, memory_s, latency in rows)
    return BatchPrediction(batch, total, batch / total if total else 0.0, layers)


def predict(spec: Spec, device: Device | str, dtype: str | None = None,
            batches: tuple[int, ...] | None = None) -> Prediction:
    """The plain-roofline prediction of `spec` on a catalogue device, per batch (the spec's batch
    when none is given), in `dtype` (the spec's when None)."""
    device = device_named(device) if isinstance(device, str) else device
    dtype = dtype or spec.dtype
    peak_for(device, dtype)  # refuse before any work
    spec = spec._replace(dtype=dtype)
    return Prediction(Identity.of(spec), dtype, device,
                      tuple(predict_batch(spec, device, b) for b in (batches or (spec.batch,))))
