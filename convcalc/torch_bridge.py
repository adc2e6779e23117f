"""Spec -> torch.nn.Module: the network convcalc describes, built for real.

`build(spec, report)` returns a `SpecModel` whose submodules sit at the spec's layer names
(`model.get_submodule("layer1.b0.conv1")`) and whose forward returns the output (several
`outputs:` as a tuple, or a dict where they are named), so per-layer results from hooks, fvcore and
PyTorch's flop counter can be matched to convcalc's rows by name. Each layer's module comes from
its registry record's `build` rule, fed the shapes of the spec's Report (pass the one you already
have: the analysis is not repeated). torch is imported here, so import this module lazily.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from .analysis import analyze
from .graph import gather, plan, walk
from .layers import REGISTRY
from .report import Report
from .sharing import WHOLE, tensor_names
from .spec.model import Spec


def module_path(name: str) -> str:
    """The attribute path of a layer's module: its spec name, with any part that would clash
    with an nn.Module attribute (a layer called `forward`) suffixed with '_'."""
    parts = []
    for part in name.split("."):
        parts.append(part + "_" if hasattr(nn.Module, part) else part)
    return ".".join(parts)


class SpecModel(nn.Module):
    """Runs the spec's layers in order (graph.py's walk), keeping each output only until its
    last reader. A layer named as another's side input (a maxpool whose indices a maxunpool
    reads) is asked by the reader's record to give that too (`Kind.side_source`)."""

    def __init__(self, spec: Spec, report: Report) -> None:
        super().__init__()
        self.spec_name = spec.name
        self.steps = plan(spec.nodes, spec.output_layers)
        readers = {name: step.record for step in self.steps for _, name in step.side}  # side source -> its reader
        shapes: dict[str, Any] = {"input": spec.input}
        owners = {owner for node in spec.nodes for _, owner in node.shares}
        made: dict[str, tuple[nn.Module, dict[str, str]]] = {}  # owner -> its module, its tensors' attribute paths
        for (step, x), layer in zip(walk(spec.nodes, shapes), report.layers):
            y = layer.output[1:]
            module = step.record.build(step.node.args, x, y)
            if step.node.name in readers:
                readers[step.node.name].side_source(module)
            if step.node.shares:
                self._tie(module, step, x, y, made)
            if step.node.name in owners:
                made[step.node.name] = (module, _tensors(module, step.node, step.record.tensors(step.node.args, x, y)))
            self._place(module_path(step.node.name), module)
            shapes[step.node.name] = y
        self.paths = tuple(module_path(step.node.name) for step in self.steps)
        self.side_sources = frozenset(readers)
        self.output_name = spec.output_layers[0]
        # the spec's `outputs:`: a tuple (a list of several layers) or a dict (named outputs)
        self.outputs = spec.outputs if spec.outputs_named or len(spec.outputs) > 1 else ()
        self.outputs_named = spec.outputs_named

    def _tie(self, module: nn.Module, step: Any, x: Any, y: Any, made: dict[str, tuple[nn.Module, Any]]) -> None:
        """Make a sharing layer's module hold the Parameter objects of the layers it names
        (`shares:`), so that `parameters()` yields each once, as convcalc counts them. The i-th of
        a kind's `sharing.tensor_names` is the i-th of its module's `named_parameters()` (the
        record's order, which tests/test_training.py holds against PyTorch's); `shares: LAYER`
        ties the buffers too."""
        node = step.node
        mine = _tensors(module, node, step.record.tensors(node.args, x, y))
        for tensor, owner in node.shares:
            theirs, their_names = made[owner]
            if tensor == WHOLE:
                pairs = [(mine[t], their_names[t]) for t in mine]
                for (name, _), (_, buffer) in zip(list(module.named_buffers()), list(theirs.named_buffers())):
                    _set(module, name, buffer)
            else:
                pairs = [(mine[tensor], their_names[tensor])]
            for name, their in pairs:
                _set(module, name, theirs.get_parameter(their))

    def _place(self, path: str, module: nn.Module) -> None:
        parent: nn.Module = self
        *heads, leaf = path.split(".")
        for head in heads:
            if not hasattr(parent, head):
                parent.add_module(head, nn.Module())
            parent = getattr(parent, head)
        parent.add_module(leaf, module)

    def forward(self, x: torch.Tensor) -> Any:
        values: dict[str, Any] = {"input": x}
        sides: dict[str, Any] = {}  # what side sources give their readers (a pool's indices)
        for step, path in zip(self.steps, self.paths):
            main = gather(step, values)
            args = [*main] if step.record.merge else [main]
            args += [sides[name] for _, name in step.side]
            out = self.get_submodule(path)(*args)
            name = step.node.name
            if name in self.side_sources:
                out, sides[name] = out
            values[name] = out
            for done in step.releases:
                values.pop(done, None)
                sides.pop(done, None)
        if self.outputs_named:
            return {name: values[layer] for name, layer in self.outputs}
        if self.outputs:
            return tuple(values[layer] for _, layer in self.outputs)
        return values[self.output_name]


def _tensors(module: nn.Module, node: Any, sizes: tuple[int, ...]) -> dict[str, str]:
    """A layer's tensor names (sharing.tensor_names) -> their paths in its module."""
    names = [n for n, _ in module.named_parameters(remove_duplicate=False)]
    return dict(zip(tensor_names(node.kind, node.args, len(sizes)), names))


def _set(module: nn.Module, path: str, tensor: Any) -> None:
    """Put `tensor` (a Parameter or a buffer) at `path` in `module`, in place of its own."""
    *heads, leaf = path.split(".")
    holder = module.get_submodule(".".join(heads)) if heads else module
    if isinstance(tensor, nn.Parameter):
        holder._parameters[leaf] = tensor
    else:
        holder._buffers[leaf] = tensor


def build(spec: Spec, report: Report | None = None) -> SpecModel:
    """The spec as an nn.Module in eval mode (batch norm uses running stats, dropout is off).
    `report` is `analyze(spec)` at any batch (only per-sample shapes are read); without it the
    spec is analysed here."""
    return SpecModel(spec, analyze(spec) if report is None else report).eval()


def example_input(spec: Spec, batch: int | None = None, device: Any = "cpu", dtype: Any = torch.float32) -> torch.Tensor:
    """A random input of the spec's shape; token ids for an embedding network."""
    shape = (spec.batch if batch is None else batch, *spec.input)
    if REGISTRY[spec.nodes[0].kind].input_dtype == "int64":
        vocab = spec.nodes[0].args["vocab"]
        return torch.randint(0, vocab, shape, device=device)
    return torch.randn(shape, device=device, dtype=dtype)
