"""What an importer gives: the model's layers as a spec's layer list, with what the trace saw.

`Imported.document()` is the layer list as the YAML reader would parse it (LMap/LList, flat:
every layer named, `from:` where the graph is not a chain), and `Imported.spec()` builds it with
`spec.build`, the YAML path's own validation. Then the built spec is held against the trace: every
layer's output shape, and the parameters and buffers of every module, must be what PyTorch (or
the ONNX graph) says, or the import fails naming the layer. An importer that maps an operator
wrongly is caught here, never shown as a number.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from ..errors import ConvcalcError
from ..spec import Spec, build
from ..spec.source import LList, LMap


class Layer(NamedTuple):
    name: str  # a dotted module path: layer1.0.conv1
    kind: str
    args: dict[str, Any]  # as a YAML spec writes them (ints, lists, words)
    inputs: tuple[str, ...]  # layer names; "input" is the model's input
    where: str  # what it came from, for messages: torch.nn.Conv2d, torch.cat, Conv
    shape: tuple[int, ...] | None = None  # the traced per-sample output shape (None: not observed)
    params: int | None = None  # the module's own parameters, when the trace knows them
    buffers: int | None = None  # and its buffers
    # tensors it shares with earlier layers, as a spec's `shares:` writes them: (tensor, layer),
    # or (("*", layer),) for a module called again (spec/expand.py)
    shares: tuple[tuple[str, str], ...] = ()


class Imported(NamedTuple):
    name: str
    source: str  # the SOURCE argument as given
    input: tuple[int, ...]  # per sample, channels first
    layers: tuple[Layer, ...]
    origin: tuple[str, ...]  # what the written spec's header says: source, input, versions
    modules: tuple[tuple[str, str], ...] = ()  # (module path, its class name): block templates' names
    not_run: tuple[tuple[str, int, int], ...] = ()  # (module path, params, buffers) the forward never runs
    # torch.nn.utils.prune: (layer, tensor, zeros in its mask, the mask's size); the layer counts the dense tensor
    pruned: tuple[tuple[str, str, int, int], ...] = ()
    # torch.nn.utils.parametrize: (layer, tensor, parametrizations, their params, their buffers, the tensor's size)
    parametrized: tuple[tuple[str, str, tuple[str, ...], int, int, int], ...] = ()
    # a model returning several tensors: the spec's `outputs:`, (name, layer), named (a dict) or a list
    outputs: tuple[tuple[str, str], ...] = ()
    outputs_named: bool = False

    def notes(self) -> list[str]:
        """The lines on what the layers do not show: modules never run, pruned and parametrized weights."""
        lines = [self.not_run_note()] if self.not_run else []
        for layer, tensor, zeros, size in self.pruned:
            lines.append(f"{layer}.{tensor} is pruned (torch.nn.utils.prune): {zeros / max(size, 1):.1%} zeros ({zeros:,} of "
                         f"{size:,} in its {tensor}_mask); counted dense, as {tensor}_orig, and the mask is no "
                         "parameter")
        for layer, tensor, names, params, buffers, size in self.parametrized:
            lines.append(f"{layer}.{tensor} is parametrized (torch.nn.utils.parametrize: {', '.join(names)}): counted "
                         f"as the dense {tensor}'s {size:,} parameters; the parametrization holds {params:,} "
                         f"parameters and {buffers:,} buffer values")
        return lines

    def not_run_note(self) -> str | None:
        """One line on what the model holds but its forward pass never runs (not in the spec)."""
        if not self.not_run:
            return None
        params = sum(p for _, p, _ in self.not_run)
        buffers = sum(b for _, _, b in self.not_run)
        shown = ", ".join(f"{path} ({p:,} parameters)" if p else f"{path} ({b:,} buffer values)"
                          for path, p, b in self.not_run[:6])
        more = f", ... ({len(self.not_run) - 6} more)" if len(self.not_run) > 6 else ""
        return (f"not counted: {params:,} parameters and {buffers:,} buffer values in modules the forward pass "
                f"never runs: {shown}{more}")

    def document(self) -> LMap:
        """The flat layer document, as `spec.source.parse` would return it for the YAML."""
        doc = LMap(None)  # type: ignore[arg-type]  # no source line: the model is the source
        doc["name"] = self.name
        doc["input"] = list(self.input)
        layers = LList(None)  # type: ignore[arg-type]
        previous = "input"
        for layer in self.layers:
            layers.append(entry(layer, previous))
            layers.lines.append(None)  # type: ignore[arg-type]
            previous = layer.name
        doc["layers"] = layers
        if self.outputs:
            doc["outputs"] = outputs_value(self.outputs, self.outputs_named)
        return doc

    def spec(self) -> Spec:
        built = build(self.document(), self.source, self.name)
        check(self, built)
        return built._replace(not_counted=self.not_run, pruned=self.pruned, parametrized=self.parametrized)


def entry(layer: Layer, previous: str) -> LMap:
    """One layer as a YAML mapping: `{kind: {args}, name: ..., from: ...}`."""
    item = LMap(None)  # type: ignore[arg-type]
    body = LMap(None)  # type: ignore[arg-type]
    body.update(layer.args)
    item[layer.kind] = body if layer.args else None
    item["name"] = layer.name
    if layer.inputs != (previous,):
        item["from"] = list(layer.inputs) if len(layer.inputs) > 1 else layer.inputs[0]
    if layer.shares:
        item["shares"] = shares_value(layer.shares)
    return item


def outputs_value(outputs: tuple[tuple[str, str], ...], named: bool) -> Any:
    """The spec's `outputs:` as the YAML reader would parse it: {name: layer}, or [layer, ...]."""
    if named:
        value: Any = LMap(None)  # type: ignore[arg-type]
        value.update(outputs)
        return value
    listed = LList(None)  # type: ignore[arg-type]
    for _, layer in outputs:
        listed.append(layer)
        listed.lines.append(None)  # type: ignore[arg-type]
    return listed


def shares_value(shares: tuple[tuple[str, str], ...]) -> Any:
    """A layer's `shares:` as a spec writes it: the layer's name, or {tensor: layer}."""
    if shares[0][0] == "*":
        return shares[0][1]
    value = LMap(None)  # type: ignore[arg-type]
    value.update(shares)
    return value


def check(imported: Imported, spec: Spec) -> None:
    """Hold the built spec against the trace: shapes, parameters and buffers, layer by layer."""
    from ..analysis import analyze

    report = analyze(spec, 1)
    for layer, row in zip(imported.layers, report.layers):
        where = {"file": imported.source, "layer": layer.name, "kind": layer.kind}
        if layer.shape is not None and row.output[1:] != layer.shape:
            raise ConvcalcError(f"cannot import {layer.where} exactly: convcalc's {layer.kind} gives "
                                f"[{_dims(row.output[1:])}], the model gives [{_dims(layer.shape)}]", **where)
        for what, ours, theirs in (("parameters", row.params, layer.params), ("buffers", row.buffers, layer.buffers)):
            if theirs is not None and ours != theirs:
                raise ConvcalcError(f"cannot import {layer.where} exactly: convcalc's {layer.kind} has {ours} "
                                    f"{what}, the model's has {theirs}", **where)


class LayerNames:
    """The names an importer gives its layers: each unique, and never the path of another layer's
    parent nor below another layer (a layer `mean` and a layer `mean.gap` could not both be
    modules of the PyTorch model verify builds)."""

    def __init__(self) -> None:
        self.names: set[str] = {"input"}
        self.parents: set[str] = set()  # every dotted prefix of a layer's name

    def unique(self, base: str) -> str:
        """`base`, or `base_1`, `base_2`, ...: the first that is free."""
        name, n = base, 0
        while name in self.names or name in self.parents or any(p in self.names for p in parents(name)):
            n += 1
            name = f"{base}_{n}"
        self.names.add(name)
        self.parents.update(parents(name))
        return name


def parents(name: str) -> list[str]:
    """The dotted prefixes of a layer name: layer1.0.conv1 -> layer1, layer1.0."""
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def spec_value(values: Any) -> Any:
    """A per-axis tuple as a spec writes it: 3 for (3, 3), [3, 1] for (3, 1); a number as itself."""
    if isinstance(values, (tuple, list)):
        values = list(values)
        return values[0] if len(set(values)) == 1 else values
    return values


def padding_arg(pairs: list[list[int]]) -> Any:
    """[[left, right], ...] per axis as a spec's `p`: one number when every side is equal, a list
    per axis when each axis is symmetric, else the pairs."""
    if all(left == right for left, right in pairs):
        return spec_value([left for left, _ in pairs])
    return pairs


def pad_args(pairs: list[list[int]], mode: str, value: Any) -> dict[str, Any]:
    """The pad kind's arguments (mode one of constant, reflect, replicate, circular)."""
    args: dict[str, Any] = {"p": padding_arg(pairs)}
    if mode != "constant":
        args["mode"] = mode
    elif value:
        args["value"] = float(value)
    return args


def slice_layers(shape: tuple[int, ...], ranges: list[tuple[int, int, int]]) -> list[tuple[str, dict[str, Any]]]:
    """Keeping positions start:stop:step of each axis of a per-sample `shape` (channels first; each
    range resolved as Python's `slice.indices` resolves it, negative ends counted from the end) as
    layers: a range of the channels is `split` where it is an equal part, else `slice`; ranges of
    the spatial axes are one `crop` (its size and offset per axis, the offset left out where it is
    the centred one); the whole tensor is no layer ([]). Unsupported where no kind keeps exactly
    those positions: a step other than 1, an empty range, a range of a flat tensor."""
    from ..layers import axis_name

    for i, ((start, stop, step), _n) in enumerate(zip(ranges, shape)):
        axis = "C" if i == 0 else axis_name(i - 1, len(shape) - 1)
        if step != 1:
            raise Unsupported(f"a slice with step {step} on axis {axis} (convcalc's slice and crop keep a range of "
                              "consecutive positions)")
        if stop <= start:
            raise Unsupported(f"an empty slice {start}:{stop} of axis {axis}")
    layers: list[tuple[str, dict[str, Any]]] = []
    (begin, end, _), channels = ranges[0], shape[0]
    if (begin, end) != (0, channels):
        if len(shape) < 2:
            raise Unsupported(f"a slice {begin}:{end} of a flat tensor (convcalc slices a feature map's channels)")
        size = end - begin
        layers.append(("split", {"parts": channels // size, "index": begin // size}) if channels % size == 0
                      and begin % size == 0 else ("slice", {"begin": begin, "end": end}))
    spatial, n = ranges[1:], shape[1:]
    if any((start, stop) != (0, ni) for (start, stop, _), ni in zip(spatial, n)):
        size, offset = [stop - start for start, stop, _ in spatial], [start for start, _, _ in spatial]
        args: dict[str, Any] = {"size": spec_value(size)}
        if offset != [(ni - si) // 2 for ni, si in zip(n, size)]:
            args["offset"] = spec_value(offset)
        layers.append(("crop", args))
    return layers


def _dims(shape: tuple[int, ...]) -> str:
    return "x".join(map(str, shape))


class Unsupported(Exception):
    """An operator or module an importer cannot map, with why (raised by a mapping rule)."""
