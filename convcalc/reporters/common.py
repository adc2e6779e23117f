"""Small shared pieces of the human-readable reporters (table and Markdown)."""

from __future__ import annotations

from ..report import LayerReport, Report
from ..units import count, nbytes, number

CONVENTIONS = ("MACs: multiply-accumulates of convolutions (all kinds), linear layers and products of two "
               "activations (attention's Q @ K^T and @ V), bias excluded. "
               "FLOPs: all floating-point work (2 per MAC, bias, norms, activations, pools, merges). "
               "See docs/costs.md.")


def shape(dims: tuple[int, ...] | list[int]) -> str:
    return "x".join(str(d) for d in dims)


def field(rf: tuple, global_context: bool = False) -> str:
    """Local receptive field sizes per axis, '7x7', and '427x427 + global' where the layer also
    sees global context (jumps and starts are in the machine formats)."""
    text = "x".join(number(axis[0]) for axis in rf) if rf else "-"
    return f"{text} + global" if global_context else text


def exact_count(n: int) -> str:
    """12345678 -> '12,345,678': every digit, grouped for reading."""
    return f"{n:,}"


def counter(exact: bool):  # type: ignore[no-untyped-def]
    """The count formatter a human reporter uses: rounded for reading, or exact."""
    return exact_count if exact else count


def cost(value: int, metric: str, unknown: tuple[str, ...], fmt) -> str:  # type: ignore[no-untyped-def]
    """A layer's count, or '?' where its kind cannot count it; a total that leaves such counts out
    is a lower bound: '≥ 1.2 M'."""
    return "?" if metric in unknown else fmt(value)


def total_cost(value: int, metric: str, partial: tuple[str, ...], fmt) -> str:  # type: ignore[no-untyped-def]
    return f"≥ {fmt(value)}" if metric in partial else fmt(value)


def output_shapes(report: Report) -> str:
    """The total row's output cell: the output's shape, or every output's, in declared order."""
    return ", ".join(shape(layer.output) for _, layer in report.heads)


def output_fields(report: Report) -> str:
    """The total row's receptive field cell: the output's, or every output's."""
    return ", ".join(field(layer.receptive_field, layer.global_context) for _, layer in report.heads)


def summary(report: Report, exact: bool = False) -> str:
    t = report.total
    fmt = counter(exact)
    heads = report.heads
    if len(heads) > 1:
        outputs = "outputs " + ", ".join(f"{name} {shape(layer.output)} (receptive field "
                                         f"{field(layer.receptive_field, layer.global_context)})" for name, layer in heads)
    else:
        outputs = f"output receptive field {field(report.receptive_field, report.global_context)}"
    text = (f"input {shape(report.input)} {report.dtype} · params {fmt(t.params)} "
            f"({nbytes(t.weight_bytes)} with buffers) · MACs {total_cost(t.macs, 'macs', t.partial, fmt)} · "
            f"FLOPs {total_cost(t.flops, 'flops', t.partial, fmt)} · "
            f"peak activations {nbytes(t.peak_activation_bytes)} · {outputs}")
    shared = sum(layer.shared_params for layer in report.layers)
    if shared:
        text += f" · {fmt(shared)} shared parameters counted once (notes)"
    if t.partial:
        opaque = sum(1 for layer in report.layers if layer.unknown)
        text += (f" · partial: {' and '.join(m.replace('macs', 'MACs').replace('flops', 'FLOPs') for m in t.partial)} "
                 f"leave out {opaque} opaque layer{'s' if opaque != 1 else ''} (?) whose counts are unknown")
    return text


def warnings(report: Report) -> list[str]:
    return [f"{layer.name}" + (f" (line {layer.line})" if layer.line else "") + f": {w}"
            for layer in report.layers for w in layer.warnings]


def row(layer: LayerReport, exact: bool = False) -> tuple[str, ...]:
    fmt = counter(exact)
    return (str(layer.index), layer.name, layer.kind, shape(layer.output), fmt(layer.params),
            cost(layer.macs, "macs", layer.unknown, fmt), cost(layer.flops, "flops", layer.unknown, fmt),
            field(layer.receptive_field, layer.global_context))


def sharing_notes(report: Report) -> dict[str, str]:
    """Per layer, the note on the weights it shares (`shares:`): a sharer names the tensors and
    the layer owning them ("weight of conv1"), an owner the layers sharing them ("shared by conv2")."""
    notes: dict[str, list[str]] = {}
    users: dict[str, list[str]] = {}
    for layer in report.layers:
        owners: dict[str, list[str]] = {}
        for tensor, owner in layer.shares:
            owners.setdefault(owner, []).append(tensor)
        for owner, tensors in owners.items():
            buffers = " and buffers" if layer.shared_buffers else ""
            notes.setdefault(layer.name, []).append(f"{', '.join(tensors)}{buffers} of {owner}")
            if layer.name not in users.setdefault(owner, []):
                users[owner].append(layer.name)
    for owner, sharers in users.items():
        notes.setdefault(owner, []).append("shared by " + ", ".join(sharers))
    return {name: "; ".join(parts) for name, parts in notes.items()}
