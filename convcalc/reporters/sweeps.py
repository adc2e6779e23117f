"""Renderers of a sweep (convcalc/sweep.py): a table with one row per point and the fitted growth
under it, JSON, CSV and a log-log plot. They format what the `Sweep` holds and compute nothing."""

from __future__ import annotations

import io
import json
import sys
from enum import Enum
from typing import IO, Any, Callable

from ..printable import clean, csv_writer, markdown
from ..report import SCHEMAS, arg_text, args_dict, plain
from ..sweep import POWER_LAW, PowerFit, Sweep
from ..textable import Column, Table, render as render_table, terminal_width, wants_color, wrap_lines
from ..units import nbytes
from .common import CONVENTIONS, counter, field, shape
from .jsonout import dumps

SHOWN = {"params": "params", "macs": "MACs", "flops": "FLOPs", "peak_activation_bytes": "peak activations"}


def title(sweep: Sweep) -> str:
    swept = {axis.name for axis in sweep.axes}
    fixed = {k: v for k, v in sweep.points[0].args.items() if k not in swept}
    text = f"sweep of {sweep.name} ({sweep.source}): {len(sweep.points)} point{'s' if len(sweep.points) != 1 else ''}"
    if fixed:
        text += ", " + ", ".join(f"{k}={arg_text(v)}" for k, v in fixed.items())
    if "input" not in swept:
        text += ", input " + shape(sweep.points[0].input)
    return text


def _cells(sweep: Sweep, point: Any, fmt: Any) -> list[str]:
    cells = []
    for axis in sweep.axes:
        if axis.name == "input":
            cells.append(shape(point.input))
        elif axis.name == "batch":
            cells.append(str(point.batch))
        else:
            cells.append(arg_text(point.args[axis.name]))
    t = point.total
    return cells + [fmt(t.params), fmt(t.macs), fmt(t.flops), nbytes(t.peak_activation_bytes),
                    field(point.report.receptive_field, point.report.global_context)]


def _pct(value: float) -> str:
    return f"{max(value, 0.001):.1%}"  # "within 0.1%" when closer: the digits below say nothing more


def _what(fit: PowerFit) -> str:
    return "size" if fit.axis == "input" else fit.axis


def growth(fit: PowerFit, exact: bool = False) -> str:
    """One fit in words: 'MACs ~ size^2.00 (every point within 0.3%: a power law)'."""
    name, x = SHOWN[fit.metric], _what(fit)
    if fit.exponent is None:
        return f"{name}: 0 at some point, no power law"
    if abs(fit.exponent) < 5e-7 and fit.deviation == 0:
        return f"{name}: the same at every {x}"
    head = f"{name} ~ {x}^{fit.exponent:.2f}"
    if len(fit.sizes) < 3:
        return f"{head} (2 points: a slope, not a test of a power law)"
    if fit.power_law:
        return f"{head} (every point within {_pct(fit.deviation)} of it: a power law)"
    text = f"{head}, not a power law (a point is {fit.deviation:.1%} off the fitted line)"
    if fit.constant and fit.exponent_rest is not None:
        text += (f"; without the {counter(exact)(fit.constant)} {name} that are the same at every {x} (layers that "
                 f"do not grow with it, such as a classifier after global pooling), ~ {x}^{fit.exponent_rest:.2f}")
        text += (f" (within {_pct(fit.deviation_rest)})" if fit.deviation_rest <= POWER_LAW else
                 f", still {fit.deviation_rest:.1%} off ({_bends(fit)})")
    elif not fit.constant:
        text += f": {_bends(fit)}"
    return text


def _bends(fit: PowerFit) -> str:
    """What else bends a growth curve, by axis."""
    if fit.axis == "input":
        return "sizes that strided layers round down, or parts that grow at other rates"
    return f"values the spec rounds ({fit.axis} through make_divisible, ceil, ...), or parts that grow at other rates"


def growth_lines(sweep: Sweep, exact: bool = False) -> list[str]:
    lines: list[str] = []
    axes = []
    for fit in sweep.fits:
        if fit.axis not in axes:
            axes.append(fit.axis)
    for axis in axes:
        fits = [f for f in sweep.fits if f.axis == axis]
        what = ("the input's size (the geometric mean of its spatial extents)" if axis == "input" else axis)
        lines.append(f"growth with {what}, fitted on log-log axes:")
        groups: dict[str, list[PowerFit]] = {}
        for fit in fits:
            groups.setdefault(", ".join(f"{k}={arg_text(shape(v) if isinstance(v, list) else v)}" for k, v in fit.at.items()),
                              []).append(fit)
        many = len(groups) > 2  # several lines: only MACs on each (the JSON has every fit)
        for at, group in groups.items():
            if many:
                group = [fit for fit in group if fit.metric == "macs"]
            indent = "  "
            if at:
                lines.append(f"  at {at}:")
                indent = "    "
            lines.extend(indent + growth(fit, exact) for fit in group)
    return lines


class SweepFormat(str, Enum):
    TABLE = "table"
    JSON = "json"
    CSV = "csv"
    MARKDOWN = "markdown"


def render(sweep: Sweep, fmt: SweepFormat | str, stream: IO[str] | None = None, exact: bool = False) -> str:
    return RENDERERS[SweepFormat(fmt)](sweep, stream, exact)


def as_markdown(sweep: Sweep, stream: IO[str] | None = None, exact: bool = False) -> str:
    fmt_count = counter(exact)
    header = [axis.name for axis in sweep.axes] + ["params", "MACs", "FLOPs", "peak activations", "RF"]
    lines = [f"### {markdown(title(sweep))}", "", "| " + " | ".join(markdown(h) for h in header) + " |",
             "|" + "|".join("---" if i < len(sweep.axes) else "---:" for i in range(len(header))) + "|"]
    lines += ["| " + " | ".join(markdown(c) for c in _cells(sweep, p, fmt_count)) + " |" for p in sweep.points]
    lines += [""] + [f"{markdown(line.strip())}  " if not line.startswith("  ") else f"- {markdown(line.strip())}"
                     for line in growth_lines(sweep, exact)]
    return "\n".join(lines) + "\n\n" + CONVENTIONS + "\n"


def as_table(sweep: Sweep, stream: IO[str] | None = None, exact: bool = False) -> str:
    fmt_count = counter(exact)
    stream = stream or sys.stdout
    width, color = terminal_width(stream), wants_color(stream)
    t = Table(columns=[Column(axis.name, "right" if axis.name != "input" else "left") for axis in sweep.axes]
              + [Column("params", "right"), Column("MACs", "right"), Column("FLOPs", "right", optional=True),
                 Column("peak act.", "right", optional=True), Column("RF", "right", optional=True)],
              title=title(sweep))
    for point in sweep.points:
        t.add_row(*_cells(sweep, point, fmt_count))
    text = render_table(t, width=width, color=color, stream=stream)
    return text + wrap_lines([*growth_lines(sweep, exact), CONVENTIONS], width)


def as_json(sweep: Sweep, stream: IO[str] | None = None, exact: bool = False) -> str:
    return dumps(to_dict(sweep)) + "\n"


def as_csv(sweep: Sweep, stream: IO[str] | None = None, exact: bool = False) -> str:
    return to_csv(sweep)


def to_dict(sweep: Sweep) -> dict[str, Any]:
    return {
        "schema": SCHEMAS["sweep"],
        "name": sweep.name,
        "source": sweep.source,
        "axes": [{"name": axis.name, "values": [_plain(v) for v in axis.values]} for axis in sweep.axes],
        "points": [{"input": list(p.input), "batch": p.batch, "args": args_dict(p.args), "output": list(p.report.output),
                    "total": p.total.to_dict(),
                    "receptive_field": [[plain(v) for v in axis] for axis in p.report.receptive_field],
                    "global": p.report.global_context} for p in sweep.points],
        "fits": [fit.to_dict() for fit in sweep.fits],
    }


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


CSV_HEADER = ["spec", "input", "batch", "args", "params", "buffers", "macs", "flops", "peak_activation_bytes",
              "weight_bytes", "activation_bytes", "output", "receptive_field", "global"]


def to_csv(sweep: Sweep) -> str:
    """One row per point, exact; `args` is the point's arguments as JSON."""
    out = io.StringIO()
    writer = csv_writer(out)
    writer.writerow(CSV_HEADER)
    for p in sweep.points:
        t = p.total
        writer.writerow([clean(sweep.name), shape(p.input), p.batch, clean(json.dumps(args_dict(p.args))), t.params,
                         t.buffers, t.macs, t.flops, t.peak_activation_bytes, t.weight_bytes, t.activation_bytes,
                         shape(p.report.output),
                         json.dumps([[plain(v) for v in axis] for axis in p.report.receptive_field]),
                         "true" if p.report.global_context else "false"])
    return out.getvalue()


RENDERERS: dict[SweepFormat, Callable[[Sweep, "IO[str] | None", bool], str]] = {
    SweepFormat.TABLE: as_table,
    SweepFormat.JSON: as_json,
    SweepFormat.CSV: as_csv,
    SweepFormat.MARKDOWN: as_markdown,
}


def plot(sweep: Sweep, path: str) -> None:
    """Params, MACs, FLOPs and peak activations against the first numeric axis, log-log, one line
    per combination of the other axes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .plots import literal, save_figure

    fits = [f for f in sweep.fits if f.metric == "macs"]
    figure, panels = plt.subplots(2, 2, figsize=(10, 7), constrained_layout=True)
    axis = fits[0].axis if fits else sweep.axes[0].name
    for panel, metric in zip(panels.flat, SHOWN):
        lines = [f for f in sweep.fits if f.metric == metric and f.axis == axis]
        if lines:
            for fit in lines:
                values = [_total(sweep, fit, i, metric) for i in range(len(fit.sizes))]
                label = ", ".join(f"{k}={v}" for k, v in fit.at.items()) or None
                exponent = "" if fit.exponent is None else f" (~{'size' if axis == 'input' else axis}^{fit.exponent:.2f})"
                panel.plot(fit.sizes, values, marker="o", markersize=3,
                           label=literal((label + exponent) if label else exponent.strip(" ()")) or None)
            panel.set_xscale("log")
            panel.set_xlabel("input size (geometric mean of spatial extents)" if axis == "input" else literal(axis))
        else:  # no numeric axis: one bar per point
            panel.bar(range(len(sweep.points)), [getattr(p.total, metric) for p in sweep.points])
            panel.set_xlabel("point")
        panel.set_yscale("log")
        panel.set_title(SHOWN[metric])
        if lines and any(f.at for f in lines) or (lines and lines[0].exponent is not None):
            panel.legend(fontsize=7)
    figure.suptitle(literal(title(sweep)), fontsize=9)
    save_figure(figure, path)
    plt.close(figure)


def _total(sweep: Sweep, fit: PowerFit, i: int, metric: str) -> int:
    """The i-th point of a fit's line (its points are in sweep order)."""
    matching = [p for p in sweep.points if all(_value(sweep, p, k) == v for k, v in fit.at.items())]
    return getattr(matching[i].total, metric)


def _value(sweep: Sweep, point: Any, name: str) -> Any:
    if name == "input":
        return list(point.input)
    if name == "batch":
        return point.batch
    return point.args[name]
