"""The result of an analysis: frozen, plain data that reporters render and never recompute.

The records are NamedTuples rather than frozen dataclasses: equally immutable, and about 1.5 ms
cheaper each to define at import, which matters for `convcalc shapes`' start-up budget.

`Report.to_dict()` is the JSON contract documented in docs/spec.md (keys are stable; new keys
may be added, `schema` is bumped when a key changes meaning).
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any, NamedTuple

# The JSON contracts (docs/spec.md), each with its version, in one place: a version is bumped
# when a key of that document changes meaning; new keys may be added without a bump.
SCHEMAS = {
    "shapes": 1,  # convcalc shapes --format json
    "library": 1,  # convcalc shapes --list --format json
    "verify": 1,  # convcalc verify --format json
    "compare": 1,  # convcalc compare --format json (variants and spec against spec)
    "profile": 1,  # convcalc profile --format json
    "check": 1,  # convcalc check --format json
    "baseline": 1,  # the file convcalc check --write-baseline writes
    "sweep": 1,  # convcalc sweep --format json
    "scale": 1,  # convcalc scale --format json
    "explain": 1,  # convcalc explain --format json
    "memory": 1,  # convcalc memory --format json
    "predict": 1,  # convcalc predict --format json
}
SCHEMA_VERSION = SCHEMAS["shapes"]


def plain(value: Any) -> Any:
    """An int when whole, a float otherwise (receptive fields can have fractional jumps)."""
    if type(value) is int:
        return value
    if isinstance(value, Fraction):
        return int(value) if value.denominator == 1 else float(value)
    return value


class Identity(NamedTuple):
    """Which spec a result is of, and at which arguments and input: its title and the `name`,
    `source`, `input` and `args` keys of its JSON. One type for verify's and profile's results (a
    `Report` holds the same facts as fields of its own, its input with the batch, and gives them
    as `Report.identity`)."""

    name: str
    source: str
    args: dict[str, Any] = {}  # the spec's `args:` values (--set), in declared order
    input: tuple[int, ...] = ()  # per sample
    input_given: bool = False  # from --input, not from the spec

    @classmethod
    def of(cls, spec: Any) -> Identity:
        """A spec's (`spec.model.Spec`) identity."""
        return cls(spec.name, spec.source, spec.args, spec.input, spec.input_given)

    @property
    def label(self) -> str:
        """A result's title: name and source, and for a parametric spec or an --input the
        arguments and the input per sample it was measured at ("efficientnet
        (library:efficientnet), width=1.2, depth=1.4, input 3x300x300"), so that a number is never
        quoted without them."""
        text = f"{self.name} ({self.source})"
        if self.args:
            text += ", " + ", ".join(f"{key}={arg_text(value)}" for key, value in self.args.items())
        if self.args or self.input_given:
            text += ", input " + "x".join(map(str, self.input))
        return text

    def named(self) -> dict[str, Any]:
        """The JSON's `name` and `source`, which open every document."""
        return {"name": self.name, "source": self.source}

    def measured_at(self) -> dict[str, Any]:
        """The JSON's `input` (per sample) and `args`."""
        return {"input": list(self.input), "args": args_dict(self.args)}


class LayerReport(NamedTuple):
    index: int  # type: ignore[assignment]  # a field named index shadows tuple.index
    name: str
    kind: str
    inputs: tuple[str, ...]
    output: tuple[int, ...]  # with the batch, channels first, as PyTorch reports it
    params: int
    buffers: int
    macs: int
    flops: int
    output_bytes: int
    weight_bytes: int  # its parameters and buffers in memory (counters such as BN's: 8 bytes)
    receptive_field: tuple[tuple[Any, Any, Any], ...]  # local field: (size, jump, start) per spatial axis
    warnings: tuple[str, ...]
    line: int | None
    args: dict[str, Any]
    global_context: bool = False  # also sees every position along some axis, beyond the local field
    unknown: tuple[str, ...] = ()  # counts its kind cannot give ("macs", "flops"): their fields hold 0
    # tensors it shares with earlier layers (`shares:`): (its tensor, the layer owning it); their
    # parameters and buffers are counted there, not in this row's params, buffers and weight_bytes
    shares: tuple[tuple[str, str], ...] = ()
    shared_params: int = 0
    shared_buffers: int = 0

    def to_dict(self) -> dict[str, Any]:
        extra: dict[str, Any] = {"unknown": list(self.unknown)} if self.unknown else {}
        if self.shares or self.shared_buffers:
            extra["shares"] = {tensor: owner for tensor, owner in self.shares}
            extra["shared_params"] = self.shared_params
            extra["shared_buffers"] = self.shared_buffers
        return {
            "name": self.name,
            "kind": self.kind,
            "inputs": list(self.inputs),
            "output": list(self.output),
            "params": self.params,
            "buffers": self.buffers,
            "macs": self.macs,
            "flops": self.flops,
            "output_bytes": self.output_bytes,
            "weight_bytes": self.weight_bytes,
            "receptive_field": [[plain(size), plain(jump), plain(start)] for size, jump, start in self.receptive_field],
            "global": self.global_context,
            "warnings": list(self.warnings),
            "line": self.line,
            **extra,
        }


class Totals(NamedTuple):
    params: int
    buffers: int
    macs: int
    flops: int
    peak_activation_bytes: int
    weight_bytes: int  # parameters and buffers in memory (buffers that are counters: 8 bytes)
    activation_bytes: int  # every layer's output added up (not what training keeps: convcalc memory counts that)
    partial: tuple[str, ...] = ()  # totals that leave out some layer's unknown count ("macs", "flops")

    def to_dict(self) -> dict[str, Any]:
        extra = {"partial": list(self.partial)} if self.partial else {}
        return {
            "params": self.params,
            "buffers": self.buffers,
            "macs": self.macs,
            "flops": self.flops,
            "peak_activation_bytes": self.peak_activation_bytes,
            "weight_bytes": self.weight_bytes,
            "activation_bytes": self.activation_bytes,
            **extra,
        }


class Report(NamedTuple):
    name: str
    source: str
    input: tuple[int, ...]  # with the batch
    batch: int
    dtype: str
    layers: tuple[LayerReport, ...]
    total: Totals
    args: dict[str, Any] = {}  # the spec's `args:` values it was analyzed with (--set), in declared order
    input_given: bool = False  # the input came from --input, not from the spec
    not_counted: tuple[tuple[str, int, int], ...] = ()  # an imported model's modules its forward never runs
    pruned: tuple[tuple[str, str, int, int], ...] = ()  # (layer, tensor, zeros, mask size): counted dense
    parametrized: tuple[tuple[str, str, tuple[str, ...], int, int, int], ...] = ()  # counted as the dense tensor
    outputs: tuple[tuple[str, str], ...] = ()  # the spec's `outputs:` (name, layer); () = its last layer

    @property
    def identity(self) -> Identity:
        """Its spec's identity, the input per sample."""
        return Identity(self.name, self.source, self.args, self.input[1:], self.input_given)

    @property
    def label(self) -> str:
        """The report's title (`Identity.label`)."""
        return self.identity.label

    @property
    def heads(self) -> tuple[tuple[str, LayerReport], ...]:
        """The network's outputs, (name, its layer's row), in the order the spec declares them;
        without `outputs:` the one output is the last layer, named by it."""
        if not self.outputs:
            return ((self.layers[-1].name, self.layers[-1]),)
        rows = {layer.name: layer for layer in self.layers}
        return tuple((name, rows[layer]) for name, layer in self.outputs)

    @property
    def output(self) -> tuple[int, ...]:
        """The output's shape; of several outputs, the first declared (PyTorch's `out[0]`)."""
        return self.heads[0][1].output

    @property
    def receptive_field(self) -> tuple[tuple[Any, Any, Any], ...]:
        return self.heads[0][1].receptive_field

    @property
    def global_context(self) -> bool:
        return self.heads[0][1].global_context

    def layer(self, name: str) -> LayerReport:
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise KeyError(name)

    # Notebook display (reporters/notebook.py renders; nothing is computed here)
    def _repr_html_(self) -> str:
        from .reporters.notebook import report_html

        return report_html(self)

    def _repr_markdown_(self) -> str:
        from .reporters.notebook import report_markdown

        return report_markdown(self)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        from .reporters.notebook import pretty

        pretty(self, printer, cycle)

    def to_pandas(self) -> Any:
        """The layers as a pandas DataFrame indexed by name, one column per key of a layer's
        `to_dict()` (shapes as tuples). Needs pandas, imported here and nowhere else."""
        from .reporters.notebook import layers_frame

        return layers_frame(self)

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA_VERSION,
            "name": self.name,
            "source": self.source,
            "input": list(self.input),
            "batch": self.batch,
            "dtype": self.dtype,
            "layers": [layer.to_dict() for layer in self.layers],
            "total": self.total.to_dict(),
            "output": list(self.output),
            "receptive_field": [[plain(v) for v in axis] for axis in self.receptive_field],
            "global": self.global_context,
            "args": args_dict(self.args),
            # only for a spec with `outputs:`: every output's shape and the layer it is, by output name
            **({"outputs": {name: list(layer.output) for name, layer in self.heads},
                "output_layers": {name: layer.name for name, layer in self.heads}} if self.outputs else {}),
            # only for an imported model that holds modules its forward never runs (GoogLeNet's
            # auxiliary heads): their parameters are in PyTorch's count, not in these totals
            **({"not_counted": [{"module": path, "params": p, "buffers": b} for path, p, b in self.not_counted]}
               if self.not_counted else {}),
            # an imported model's pruned weights (counted dense; the mask is no parameter) and parametrized ones
            **({"pruned": [{"layer": layer, "tensor": tensor, "mask": size, "zeros": zeros, "sparsity": zeros / max(size, 1)}
                           for layer, tensor, zeros, size in self.pruned]} if self.pruned else {}),
            **({"parametrized": [{"layer": layer, "tensor": tensor, "by": list(names), "params": params,
                                  "buffers": buffers, "dense": size}
                                 for layer, tensor, names, params, buffers, size in self.parametrized]}
               if self.parametrized else {}),
        }


def args_dict(args: dict[str, Any]) -> dict[str, Any]:
    """The `args` of a JSON report: each argument's value as JSON holds it."""
    return {key: _jsonable(value) for key, value in args.items()}


def arg_text(value: Any) -> str:
    """An argument's value as `--set` writes it: 1.2, 50, relu, true."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _jsonable(value: Any) -> Any:
    """An argument's value in JSON: numbers, text, booleans and lists of them as they are."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return str(value)  # a mapping in a list-valued argument: shown, not interpreted


# --------------------------------------------------------------------------------------------
# Training memory and cost (convcalc memory, convcalc.training)


class TrainLayer(NamedTuple):
    index: int  # type: ignore[assignment]  # a field named index shadows tuple.index
    name: str
    kind: str
    output: tuple[int, ...]  # with the batch
    dtype: str  # its output's dtype in training (under --amp: the low dtype after conv and linear)
    saved_bytes: int  # what autograd keeps for the backward, each storage counted at the first layer keeping it
    activation_bytes: int  # its forward output (0 for a view)
    grad_bytes: int  # its parameters' gradients
    optimizer_bytes: int  # its parameters' optimizer state
    forward_flops: int  # training mode (batch norm computes statistics, dropout multiplies)
    backward_flops: int  # input gradient (when a layer before it needs one) and weight gradients

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "output": list(self.output), "dtype": self.dtype,
                "saved_bytes": self.saved_bytes, "activation_bytes": self.activation_bytes,
                "grad_bytes": self.grad_bytes, "optimizer_bytes": self.optimizer_bytes,
                "forward_flops": self.forward_flops, "backward_flops": self.backward_flops}


class TrainTotals(NamedTuple):
    weight_bytes: int  # parameters
    buffer_bytes: int  # buffers (running statistics; int64 counters 8 bytes)
    grad_bytes: int  # parameter gradients
    optimizer_bytes: int  # optimizer state (momentum: 1, Adam: 2 per parameter)
    saved_bytes: int  # everything autograd keeps for the backward, each storage once
    input_bytes: int  # the input batch
    peak_bytes: int  # the most memory live at once in one steady-state training iteration
    inference_peak_bytes: int  # weights, buffers and the inference walk's peak activations
    forward_flops: int
    backward_flops: int
    peak_phase: str  # where the peak falls: forward, backward or optimizer
    peak_layer: str  # the layer running then ('' in the optimizer step)

    def to_dict(self) -> dict[str, int]:
        return {"weight_bytes": self.weight_bytes, "buffer_bytes": self.buffer_bytes, "grad_bytes": self.grad_bytes,
                "optimizer_bytes": self.optimizer_bytes, "saved_bytes": self.saved_bytes,
                "input_bytes": self.input_bytes, "peak_bytes": self.peak_bytes,
                "inference_peak_bytes": self.inference_peak_bytes, "forward_flops": self.forward_flops,
                "backward_flops": self.backward_flops}


class Fit(NamedTuple):
    memory: int  # the budget in bytes
    max_batch: int  # the largest batch whose training peak fits (0: not even one sample)
    peak_bytes: int | None  # the training peak at that batch
    fits: bool | None = None  # whether the report's own batch fits (its training peak <= memory)

    def to_dict(self) -> dict[str, Any]:
        return {"memory": self.memory, "fits": self.fits, "max_batch": self.max_batch, "peak_bytes": self.peak_bytes}


class TrainingReport(NamedTuple):
    name: str
    source: str
    batch: int
    dtype: str  # the parameters' dtype
    amp: str | None  # autocast's low dtype, None without --amp
    optimizer: str
    impl: str  # the optimizer implementation modelled: for-loop, foreach or fused
    device: str  # cuda or cpu
    layers: tuple[TrainLayer, ...]
    total: TrainTotals
    fit: Fit | None
    inference_dtype: str  # the activations' dtype of the inference peak

    def to_dict(self) -> dict[str, Any]:
        doc = {"schema": SCHEMAS["memory"], "name": self.name, "source": self.source, "batch": self.batch,
               "dtype": self.dtype, "amp": self.amp, "optimizer": self.optimizer, "impl": self.impl,
               "device": self.device, "layers": [layer.to_dict() for layer in self.layers],
               "total": self.total.to_dict(),
               "peak_at": {"phase": self.total.peak_phase, "layer": self.total.peak_layer}}
        if self.fit is not None:
            doc["fit"] = self.fit.to_dict()
        return doc

    # Notebook display (reporters/notebook.py renders; nothing is computed here)
    def _repr_html_(self) -> str:
        from .reporters.notebook import training_html

        return training_html(self)

    def _repr_markdown_(self) -> str:
        from .reporters.notebook import training_markdown

        return training_markdown(self)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        from .reporters.notebook import pretty

        pretty(self, printer, cycle)

    def to_pandas(self) -> Any:
        """The layers as a pandas DataFrame indexed by name, one column per key of a layer's
        `to_dict()` (shapes as tuples). Needs pandas, imported here and nowhere else."""
        from .reporters.notebook import layers_frame

        return layers_frame(self)
