"""The layer graph and its one walk.

A spec's nodes come in execution order, each naming the layers it reads. Everything that runs
over them goes through `walk`: the analysis (shapes, costs, receptive fields), the PyTorch model
(tensors), verify and profile. Per node it yields a `Step` and the node's main input gathered as
its record takes it: one value, or a tuple of values for a merge.

Side inputs are edges too: a record names the arguments that refer to other layers
(`Kind.side_inputs`, maxunpool's `indices` naming the maxpool whose positions it uses), and a
step lists them, so a caller fetches what it needs of them (the analysis the pool's facts, the
model the pool's indices) and the memory walk keeps them alive until their last reader.

`step.releases` names the values read for the last time at that step: a caller that keeps
only live values (the model, the memory simulation) drops them there. The network's output is
never released.
"""

from __future__ import annotations

from typing import Any, Iterator, NamedTuple

from .layers import REGISTRY, Kind
from .spec.model import Node


class Step(NamedTuple):
    index: int  # type: ignore[assignment]  # a field named index shadows tuple.index
    node: Node
    record: Kind
    side: tuple[tuple[str, str], ...]  # (argument, the layer it names), e.g. ("indices", "pool1")
    releases: tuple[str, ...]  # values whose last reader this step is

    @property
    def reads(self) -> tuple[str, ...]:
        """Everything the step reads: its inputs, then its side inputs."""
        return self.node.inputs + tuple(name for _, name in self.side)


def plan(nodes: tuple[Node, ...], outputs: tuple[str, ...] | None = None) -> tuple[Step, ...]:
    """The steps of a walk over `nodes`: records looked up, side inputs and last uses found once.
    `outputs` (default: the last node) survive the walk."""
    records = [REGISTRY[node.kind] for node in nodes]
    sides = [tuple((arg, node.args[arg]) for arg in record.side_inputs if node.args.get(arg))
             for node, record in zip(nodes, records)]
    last: dict[str, int] = {}
    for i, (node, side) in enumerate(zip(nodes, sides)):
        for name in node.inputs:
            last[name] = i
        for _, name in side:
            last[name] = i
    for name in outputs if outputs is not None else (nodes[-1].name,) if nodes else ():
        last[name] = len(nodes)  # the outputs survive the walk
    releases: list[list[str]] = [[] for _ in nodes]
    for name, i in last.items():
        if i < len(nodes):
            releases[i].append(name)
    for i, node in enumerate(nodes):
        if node.name not in last:  # nothing reads it: it dies where it is made
            releases[i].append(node.name)
    return tuple(Step(i, node, record, side, tuple(release))
                 for i, (node, record, side, release) in enumerate(zip(nodes, records, sides, releases)))


def gather(step: Step, values: dict[str, Any]) -> Any:
    """A step's main input from `values`: a tuple for a merge, else its one input's value."""
    node = step.node
    if step.record.merge:
        return tuple(values[name] for name in node.inputs)
    return values[node.inputs[0]]


def walk(nodes: tuple[Node, ...], values: dict[str, Any],
         outputs: tuple[str, ...] | None = None) -> Iterator[tuple[Step, Any]]:
    """Each step in order with its main input; the caller stores the step's value under
    `step.node.name` in `values` before asking for the next one ("input" starts it)."""
    for step in plan(nodes, outputs):
        yield step, gather(step, values)
