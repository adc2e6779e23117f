"""The validated, expanded form of a spec: a list of layer nodes in execution order."""

from __future__ import annotations

from typing import Any, NamedTuple

DTYPE_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2, "int8": 1, "float64": 8}


class Node(NamedTuple):
    """One layer after expansion: a unique dotted name (`layer1.0.conv1`), its kind, its
    normalized arguments, the names of the nodes it reads (`input` is the spec's input), the
    spec line it came from and the weights it shares with earlier layers."""

    name: str
    kind: str
    args: dict[str, Any]
    inputs: tuple[str, ...]
    line: int | None
    # parameter tensors it reuses from earlier layers (`shares:`): (its tensor, the layer whose
    # tensor of that name it is), or ("*", layer) for all of them and its buffers (a module called twice)
    shares: tuple[tuple[str, str], ...] = ()


class Spec(NamedTuple):
    """A whole network: input shape per sample (channels first), batch, dtype and its nodes in
    an order where every node comes after the nodes it reads."""

    name: str
    source: str
    input: tuple[int, ...]
    batch: int
    dtype: str
    nodes: tuple[Node, ...]
    budget: Any = None  # the raw `budget:` mapping, for `convcalc check`
    lines: dict[str, int] = {}  # line of each top-level key (never mutated)
    args: dict[str, Any] = {}  # the values of the spec's `args:` it was built with (--set), in declared order
    input_given: bool = False  # the input came from --input, not from the spec
    # an imported model's modules its forward never runs: (module path, params, buffers), not layers
    not_counted: tuple[tuple[str, int, int], ...] = ()
    # an imported model's pruned and parametrized weights, counted dense (importers.model.Imported)
    pruned: tuple[tuple[str, str, int, int], ...] = ()
    parametrized: tuple[tuple[str, str, tuple[str, ...], int, int, int], ...] = ()
    # the spec's `outputs:`: (output name, the layer it is), in the order written; () without the
    # key, where the output is the last layer. `named`: written as a mapping (a dict in PyTorch)
    outputs: tuple[tuple[str, str], ...] = ()
    outputs_named: bool = False

    @property
    def output_layers(self) -> tuple[str, ...]:
        """The layers that are the network's outputs: the declared ones, else the last layer."""
        return tuple(layer for _, layer in self.outputs) if self.outputs else (self.nodes[-1].name,)

    @property
    def nd(self) -> int:
        """Number of spatial axes: 1, 2 or 3 (0 for a flat input)."""
        return len(self.input) - 1
