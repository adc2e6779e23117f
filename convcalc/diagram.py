"""The drawable view of a Report: blocks found in layer names, the nodes and edges a drawing
shows, and the sums a report page plots. Reporters (reporters/draw_*.py, reporters/html_page.py)
render this; they never compute.

Blocks come from the dotted names the spec's templates give (`layer1.b0.conv1`): every prefix
that two or more layers share and whose layers are contiguous in execution order is a block
(contiguous, so that drawing it as one node can never make a cycle). A block whose children are
`name.0 … name.N-1` (a `repeat:`), each with the same layers by relative name and kind, is a
repeat of N instances: the default drawing shows it as one node marked `x N`.

What is drawn: the layers, except those inside a collapsed block, which is one node with its
layers' totals; an edge per pair of drawn nodes that a tensor passes between, labelled with that
tensor's shape (the producing layer's output, batch first, as `shapes` prints it); an `input`
node with the spec's input. Side inputs (maxunpool's `indices`) are edges too, marked as such.

Metrics for colour (`--by`): `macs`, `params`, `flops` and `time` add up over a block's layers;
`memory` (the layer's output activation bytes) and `rf` (the largest local receptive-field size
over the spatial axes) take the block's largest.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from enum import Enum
from typing import Any, NamedTuple, Sequence

from .errors import UsageError
from .layers import REGISTRY
from .report import LayerReport, Report


class Metric(str, Enum):
    MACS = "macs"
    PARAMS = "params"
    FLOPS = "flops"
    MEMORY = "memory"
    RF = "rf"
    TIME = "time"


SUMMED = (Metric.MACS, Metric.PARAMS, Metric.FLOPS, Metric.TIME)
METRIC_UNITS = {Metric.MACS: "MACs", Metric.PARAMS: "params", Metric.FLOPS: "FLOPs",
                Metric.MEMORY: "output bytes", Metric.RF: "receptive field", Metric.TIME: "median time (s)"}

_INDEX = re.compile(r"(0|[1-9][0-9]*)")


class Block(NamedTuple):
    name: str  # the dotted prefix: "layer1.b"
    parent: str | None  # the block it is in, if any
    first: int  # index of its first layer
    last: int  # index of its last layer (its output)
    repeat: int  # N when it is N instances of one structure (name.0 … name.N-1), else 1
    layers: int  # how many layers it holds
    params: int
    buffers: int
    macs: int
    flops: int
    weight_bytes: int
    activation_bytes: int  # its layers' outputs, added up
    kinds: tuple[tuple[str, int], ...]  # per instance for a repeat, else of all its layers: (kind, count)

    @property
    def depth(self) -> int:
        return self.name.count(".")


class Node(NamedTuple):
    id: str  # the layer's or the block's name; "input" for the input
    kind: str  # the layer's kind, "block" or "input"
    text: str  # the layer in one-line spec syntax ('conv 64 k7 s2 p3'), or a block's kinds
    first: int  # layer index range it stands for (-1 for the input)
    last: int
    repeat: int
    merge: bool
    params: int
    macs: int
    flops: int
    output: tuple[int, ...]
    value: float  # the chosen metric (0 when none)


class Edge(NamedTuple):
    source: str
    target: str
    shapes: tuple[str, ...]  # the tensors' shapes, '1x64x56x56'
    side: bool  # a side input (maxunpool's indices), not data


class Diagram(NamedTuple):
    report: Report
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]
    metric: Metric | None
    largest: float  # the largest node value, for the colour scale
    smallest: float = 0.0  # the smallest value above zero


def shape_text(dims: Sequence[int]) -> str:
    return "x".join(str(d) for d in dims)


def blocks(report: Report) -> tuple[Block, ...]:
    """Every block of the report, outer ones before the blocks they hold, in layer order."""
    layers = report.layers
    spans: dict[str, list[int]] = {}  # prefix -> [first, last, count]
    for layer in layers:
        parts = layer.name.split(".")
        for end in range(1, len(parts)):
            prefix = ".".join(parts[:end])
            span = spans.get(prefix)
            if span is None:
                spans[prefix] = [layer.index, layer.index, 1]
            else:
                span[1] = layer.index
                span[2] += 1
    found = {prefix: span for prefix, span in spans.items()
             if span[2] >= 2 and span[1] - span[0] + 1 == span[2]}  # two or more layers, contiguous
    result = []
    for prefix, (first, last, count) in sorted(found.items(), key=lambda item: (item[1][0], -item[1][1])):
        parent = _parent(prefix, found)
        members = layers[first:last + 1]
        repeat = _repeat(prefix, members)
        instance = members[:count // repeat] if repeat > 1 else members
        kinds = tuple(Counter(layer.kind for layer in instance).items())
        result.append(Block(
            prefix, parent, first, last, repeat, count,
            sum(layer.params for layer in members), sum(layer.buffers for layer in members),
            sum(layer.macs for layer in members), sum(layer.flops for layer in members),
            sum(layer.weight_bytes for layer in members), sum(layer.output_bytes for layer in members), kinds))
    return tuple(result)


def _parent(prefix: str, found: dict[str, Any]) -> str | None:
    parts = prefix.split(".")
    for end in range(len(parts) - 1, 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in found:
            return candidate
    return None


def _repeat(prefix: str, members: Sequence[LayerReport]) -> int:
    """N when the layers under `prefix` are exactly `prefix.0 …`, `prefix.N-1` (N >= 2), each
    instance with the same layers (relative names and kinds) in the same order; else 1."""
    start = len(prefix) + 1
    instances: dict[str, list[tuple[str, str]]] = {}
    for layer in members:
        head, _, rest = layer.name[start:].partition(".")
        if not _INDEX.fullmatch(head):
            return 1
        instances.setdefault(head, []).append((rest, layer.kind))
    n = len(instances)
    if n < 2 or list(instances) != [str(i) for i in range(n)]:
        return 1
    shapes = list(instances.values())
    return n if all(shape == shapes[0] for shape in shapes) else 1


def kinds_text(kinds: tuple[tuple[str, int], ...]) -> str:
    """(("conv", 3), ("bn", 3), ("add", 1)) -> '3 conv · 3 bn · add'."""
    return " · ".join(f"{count} {kind}" if count > 1 else kind for kind, count in kinds)


def layer_text(layer: LayerReport) -> str:
    """The layer as the one-line spec form writes it: 'conv 64 k7 s2 p3 bias=false'."""
    return REGISTRY[layer.kind].describe(layer.args)


def collapsed_set(all_blocks: Sequence[Block], expand: bool = False, depth: int | None = None) -> frozenset[str]:
    """The blocks drawn as one node: none with `expand`; with `depth` D, every block D dots
    deep (D = 0: the top-level blocks); by default the repeats, or where there are none, the
    blocks one dot deep (PyTorch's numbering: ResNet's layer1.0, layer1.1, each a node)."""
    if expand:
        return frozenset()
    if depth is not None:
        return frozenset(b.name for b in all_blocks if b.depth == depth or (b.depth < depth and b.repeat > 1))
    repeats = frozenset(b.name for b in all_blocks if b.repeat > 1)
    return repeats or frozenset(b.name for b in all_blocks if b.depth == 1)


def layer_values(report: Report, metric: Metric | None, times: dict[str, float] | None = None) -> list[float]:
    """Each layer's value of `metric` (see the module's docstring); zeros without one."""
    if metric is None:
        return [0.0] * len(report.layers)
    if metric is Metric.TIME:
        if times is None:
            raise UsageError("--by time needs --profile PROFILE.json (from convcalc profile --format json)")
        return [times.get(layer.name, 0.0) for layer in report.layers]
    if metric is Metric.MEMORY:
        return [float(layer.output_bytes) for layer in report.layers]
    if metric is Metric.RF:
        return [float(max((axis[0] for axis in layer.receptive_field), default=0)) for layer in report.layers]
    return [float(getattr(layer, metric.value)) for layer in report.layers]


def combine(metric: Metric | None, values: Sequence[float]) -> float:
    if metric is None or not values:
        return 0.0
    return float(sum(values)) if metric in SUMMED else float(max(values))


def input_node(report: Report) -> Node:
    return Node("input", "input", "input", -1, -1, 1, False, 0, 0, 0, report.input, 0.0)


def layer_node(layer: LayerReport, value: float = 0.0) -> Node:
    return Node(layer.name, layer.kind, layer_text(layer), layer.index, layer.index, 1, REGISTRY[layer.kind].merge,
                layer.params, layer.macs, layer.flops, layer.output, value)


def block_node(block: Block, report: Report, value: float = 0.0) -> Node:
    text = kinds_text(block.kinds) + (" each" if block.repeat > 1 else "")
    return Node(block.name, "block", text, block.first, block.last, block.repeat, False, block.params, block.macs,
                block.flops, report.layers[block.last].output, value)


def build(report: Report, expand: bool = False, depth: int | None = None, metric: Metric | None = None,
          times: dict[str, float] | None = None) -> Diagram:
    """The nodes and edges a static drawing shows (see the module's docstring)."""
    all_blocks = blocks(report)
    collapsed = collapsed_set(all_blocks, expand, depth)
    values = layer_values(report, metric, times)
    owner: dict[int, Block] = {}  # layer index -> the outermost collapsed block holding it
    for block in all_blocks:  # outer blocks come first
        if block.name in collapsed:
            for i in range(block.first, block.last + 1):
                owner.setdefault(i, block)
    nodes = [input_node(report)]
    drawn: dict[str, str] = {"input": "input"}  # layer name -> the node that draws it
    for layer in report.layers:
        block = owner.get(layer.index)
        if block is None:
            drawn[layer.name] = layer.name
            nodes.append(layer_node(layer, values[layer.index]))
            continue
        drawn[layer.name] = block.name
        if layer.index == block.first:
            nodes.append(block_node(block, report, combine(metric, values[block.first:block.last + 1])))
    by_name = {layer.name: layer for layer in report.layers}
    edges: dict[tuple[str, str], tuple[list[str], bool]] = {}
    for layer in report.layers:
        target = drawn[layer.name]
        record = REGISTRY[layer.kind]
        reads = [(name, False) for name in layer.inputs]
        reads += [(layer.args[arg], True) for arg in record.side_inputs if layer.args.get(arg)]
        for name, side in reads:
            source = drawn[name]
            if source == target:
                continue
            shape = shape_text(report.input if name == "input" else by_name[name].output)
            shapes, was_side = edges.setdefault((source, target), ([], side))
            if shape not in shapes:
                shapes.append(shape)
            if not side and was_side:
                edges[(source, target)] = (shapes, False)
    largest = max((node.value for node in nodes), default=0.0)
    smallest = min((node.value for node in nodes if node.value > 0), default=0.0)
    return Diagram(report, tuple(nodes),
                   tuple(Edge(s, t, tuple(shapes), side) for (s, t), (shapes, side) in edges.items()),
                   metric, largest, smallest)


MAX_PROFILE_BYTES = 64 << 20  # a --profile file: far above any profile's JSON


def read_profile_times(path: str, report: Report) -> dict[str, float]:
    """Median seconds per layer name from `convcalc profile --format json` (its first batch),
    for `--by time`; a file that is not such a profile, or one of another network, is refused."""
    from .fileio import NotAFile, parse_json, read_bounded

    if not path:
        raise UsageError("--profile needs a file name, got ''")
    try:
        data = read_bounded(path, MAX_PROFILE_BYTES)  # a FIFO once its writer is there, never a hang
    except FileNotFoundError:
        raise UsageError("--profile: no such file", file=path) from None
    except NotAFile as exc:
        raise UsageError(f"--profile: {exc.strerror}", file=path) from None
    except OSError as exc:
        raise UsageError(f"--profile: cannot read it: {exc.strerror or exc}", file=path) from None
    doc = parse_json(data, path, "--profile", MAX_PROFILE_BYTES, "the JSON of convcalc profile --format json")
    docs = doc if isinstance(doc, list) else [doc]
    profiles = [d for d in docs if isinstance(d, dict) and isinstance(d.get("batches"), list) and d["batches"]]
    if not profiles:
        raise UsageError("--profile: not the JSON of convcalc profile --format json (no batches)", file=path)
    chosen = next((p for p in profiles if p.get("name") == report.name), profiles[0])
    batch = chosen["batches"][0]
    times: dict[str, float] = {}
    for entry in batch.get("layers") or []:
        if isinstance(entry, dict) and isinstance(entry.get("name"), str) and isinstance(entry.get("median_s"), (int, float)):
            value = float(entry["median_s"])
            if math.isfinite(value) and value >= 0:
                times[entry["name"]] = value
    names = {layer.name for layer in report.layers}
    if not names & set(times):
        from .printable import clean

        raise UsageError(f"--profile: none of its layers is a layer of '{clean(report.name)}' "
                         f"(it profiles '{clean(chosen.get('name'))}')", file=path)
    return times


class Model(NamedTuple):
    """What an interactive drawing needs: every layer and block with its metric value, and the
    blocks collapsed when the page opens (the page expands and collapses them itself)."""

    report: Report
    blocks: tuple[Block, ...]
    layer_values: tuple[float, ...]
    block_values: tuple[float, ...]
    collapsed: frozenset[str]
    metric: Metric | None
    largest: float
    smallest: float = 0.0


CROWDED = 120  # an interactive drawing opens with its top-level blocks collapsed above this many nodes


def visible_count(report: Report, all_blocks: Sequence[Block], collapsed: frozenset[str]) -> int:
    """How many nodes a drawing with these blocks collapsed shows (the input not counted)."""
    hidden = 0
    covered = -1  # the last layer index inside an outermost collapsed block seen so far
    for block in all_blocks:  # outer first, in layer order
        if block.name in collapsed and block.first > covered:
            hidden += block.layers - 1
            covered = block.last
    return len(report.layers) - hidden


def model(report: Report, expand: bool = False, depth: int | None = None, metric: Metric | None = None,
          times: dict[str, float] | None = None) -> Model:
    """The interactive drawing's data. It opens as the static drawing would (repeats collapsed,
    or as --expand or --depth say), except that without either option a drawing of more than
    CROWDED nodes opens with its top-level blocks collapsed too, so that it is read first as
    an overview (Inception v3: 23 nodes instead of 314); the page expands any block on a click."""
    all_blocks = blocks(report)
    values = layer_values(report, metric, times)
    block_values = [combine(metric, values[b.first:b.last + 1]) for b in all_blocks]
    largest = max([*values, *block_values], default=0.0)
    smallest = min((v for v in [*values, *block_values] if v > 0), default=0.0)
    collapsed = collapsed_set(all_blocks, expand, depth)
    if not expand and depth is None and visible_count(report, all_blocks, collapsed) > CROWDED:
        collapsed = collapsed_set(all_blocks, depth=0)
    return Model(report, all_blocks, tuple(values), tuple(block_values), collapsed, metric, largest, smallest)


class Share(NamedTuple):
    label: str
    layers: int
    params: int
    macs: int


def by_kind(report: Report) -> tuple[Share, ...]:
    """Params and MACs per layer kind, largest MACs first (then params, then name)."""
    sums: dict[str, list[int]] = {}
    for layer in report.layers:
        entry = sums.setdefault(layer.kind, [0, 0, 0])
        entry[0] += 1
        entry[1] += layer.params
        entry[2] += layer.macs
    shares = [Share(kind, n, params, macs) for kind, (n, params, macs) in sums.items()]
    return tuple(sorted(shares, key=lambda s: (-s.macs, -s.params, s.label)))


def stages(report: Report) -> tuple[Share, ...]:
    """Params and MACs per stage, in order: a stage is a top-level block (`layer1`), or a run of
    consecutive layers outside any block (`conv1…maxpool1`)."""
    out: list[Share] = []
    run: list[LayerReport] = []

    def close_run() -> None:
        if run:
            label = run[0].name if len(run) == 1 else f"{run[0].name}…{run[-1].name}"
            out.append(Share(label, len(run), sum(x.params for x in run), sum(x.macs for x in run)))
            run.clear()

    tops = {b.first: b for b in blocks(report) if b.parent is None}
    i = 0
    while i < len(report.layers):
        block = tops.get(i)
        if block is None:
            run.append(report.layers[i])
            i += 1
            continue
        close_run()
        out.append(Share(block.name, block.layers, block.params, block.macs))
        i = block.last + 1
    close_run()
    return tuple(out)


METRICS = ("macs", "params", "flops", "memory", "rf", "time")  # what --by colours a drawing by


def metric_and_times(by: str | None, profile_path: str | None, report: object) -> tuple[object, object]:
    if profile_path is not None and by is None:
        by = "time"
    if by == "time" and profile_path is None:
        raise UsageError("--by time needs --profile PROFILE.json (from convcalc profile SPEC --format json)")
    if profile_path is not None and by != "time":
        raise UsageError(f"--profile colours by time; it cannot go with --by {by}")
    metric = Metric(by) if by else None
    times = read_profile_times(profile_path, report) if profile_path is not None else None  # type: ignore[arg-type]
    return metric, times
