"""Spec -> torch.nn.Module: the network convcalc describes, built for real.

`build(spec, report)` returns a `SpecModel` whose submodules sit at the spec's layer names
(`model.get_submodule("layer1.b0.conv1")`), so per-layer results from hooks, fvcore and
PyTorch's flop counter can be matched to convcalc's rows by name. Each layer's module comes from
its registry record's `build` rule, fed the shapes of the spec's Report (pass the one you already
have: the analysis is not repeated). torch is imported here, so import this module lazily.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from .analysis import analyze
from .layers import REGISTRY
from .report import Report
from .spec.model import Spec

DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16,
          "float64": torch.float64, "int8": torch.float32}  # int8 specs run in float32 (byte counts only)


def module_path(name: str) -> str:
    """The attribute path of a layer's module: its spec name, with any part that would clash
    with an nn.Module attribute (a layer called `forward`) suffixed with '_'."""
    parts = []
    for part in name.split("."):
        parts.append(part + "_" if hasattr(nn.Module, part) else part)
    return ".".join(parts)


class SpecModel(nn.Module):
    """Runs the spec's layers in order, keeping each output only until its last reader."""

    def __init__(self, spec: Spec, report: Report) -> None:
        super().__init__()
        self.spec_name = spec.name
        self.order: list[tuple[str, str, tuple[str, ...], str | None]] = []
        last_use: dict[str, int] = {}
        indices_of: set[str] = set()
        for i, node in enumerate(spec.nodes):
            for name in node.inputs:
                last_use[name] = i
            if node.kind == "maxunpool" and node.args.get("indices"):
                indices_of.add(node.args["indices"])
                last_use[node.args["indices"]] = i
        shapes = {"input": spec.input}
        for node, layer in zip(spec.nodes, report.layers):
            record = REGISTRY[node.kind]
            x: Any = tuple(shapes[n] for n in node.inputs) if record.merge else shapes[node.inputs[0]]
            y = layer.output[1:]
            module = record.build(node.args, x, y)
            if node.name in indices_of:
                module.return_indices = True
            self._place(module_path(node.name), module)
            indices = node.args.get("indices") if node.kind == "maxunpool" else None
            self.order.append((node.name, module_path(node.name), node.inputs, indices))
            shapes[node.name] = y
        self.last_use = last_use
        self.returns_indices = indices_of
        self.output_name = spec.nodes[-1].name

    def _place(self, path: str, module: nn.Module) -> None:
        parent: nn.Module = self
        *heads, leaf = path.split(".")
        for head in heads:
            if not hasattr(parent, head):
                parent.add_module(head, nn.Module())
            parent = getattr(parent, head)
        parent.add_module(leaf, module)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        values: dict[str, Any] = {"input": x}
        positions: dict[str, Any] = {}
        for i, (name, path, inputs, indices) in enumerate(self.order):
            module = self.get_submodule(path)
            args = [values[n] for n in inputs]
            if indices is not None:
                args.append(positions[indices])
            out = module(*args)
            if name in self.returns_indices:
                out, positions[name] = out
            values[name] = out
            for n in set(inputs):
                if self.last_use.get(n) == i and n != self.output_name:
                    del values[n]
        return values[self.output_name]


def build(spec: Spec, report: Report | None = None) -> SpecModel:
    """The spec as an nn.Module in eval mode (batch norm uses running stats, dropout is off).
    `report` is `analyze(spec)` at any batch (only per-sample shapes are read); without it the
    spec is analysed here."""
    return SpecModel(spec, analyze(spec) if report is None else report).eval()


def example_input(spec: Spec, batch: int | None = None, device: Any = "cpu", dtype: Any = torch.float32) -> torch.Tensor:
    """A random input of the spec's shape; token ids for an embedding network."""
    shape = (spec.batch if batch is None else batch, *spec.input)
    if spec.nodes[0].kind == "embedding":
        vocab = spec.nodes[0].args["vocab"]
        return torch.randint(0, vocab, shape, device=device)
    return torch.randn(shape, device=device, dtype=dtype)
