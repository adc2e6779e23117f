"""Rendering `convcalc predict` results: a header naming the device, its published peaks and that
the prediction is uncalibrated, then per batch the whole-network latency and a per-layer table;
or JSON. Reporters never compute: every number is in the Prediction (convcalc.predict)."""

from __future__ import annotations

import sys
from enum import Enum
from typing import IO, Any, Callable

from ..printable import clean
from ..textable import Column, Table, render as render_table, terminal_width, wants_color, wrap_lines
from ..units import nbytes, rate
from .common import counter
from .jsonout import dumps_all

NOTE = ("uncalibrated: the plain roofline of the device's published peaks, max(FLOPs / peak FLOP/s, "
        "bytes / bandwidth) per layer, summed; real layers reach a fraction of the peaks, so real latency is "
        "higher (docs/predict.md)")


def _time(seconds: float) -> str:
    """Three significant figures in s, ms, µs or ns: predicted layers on a data-centre GPU take
    nanoseconds."""
    for scale, unit in ((1.0, "s"), (1e-3, "ms"), (1e-6, "µs")):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def header(p: Any) -> str:
    d = p.device
    return "\n".join([
        f"{clean(p.identity.label)} on {clean(d.label)} [{clean(d.name)}], {p.dtype}: predicted, uncalibrated",
        f"peaks (as published): {rate(d.flops_per_s[p.dtype], 'FLOP/s')} {p.dtype}, {rate(d.bytes_per_s, 'B/s')}; "
        f"source: {clean(d.source)}",
        NOTE,
    ]) + "\n"


def batch_line(p: Any, b: Any) -> str:
    line = f"batch {b.batch}: latency {_time(b.latency_s)}, {b.throughput_per_s:,.1f} samples/s (uncalibrated)"
    if any(layer.flops_unknown for layer in b.layers):
        line += "; some layers' FLOPs are unknown: their time is their memory time, a floor (marked ?)"
    return line + "\n"


def table(b: Any) -> Table:
    fmt = counter(False)
    t = Table([Column("#", "right"), Column("name", shrink=True, min_width=8, cut="middle"),
               Column("kind", optional=True), Column("time", "right"), Column("share", "right"),
               Column("FLOPs", "right", optional=True), Column("bytes", "right", optional=True), Column("bound")])
    for layer in b.layers:
        t.add_row(str(layer.index), clean(layer.name), clean(layer.kind),
                  _time(layer.latency_s) + ("?" if layer.flops_unknown else ""), f"{100 * layer.share:.1f}%",
                  fmt(layer.flops), nbytes(layer.bytes), (layer.bound, "yellow" if layer.bound == "memory" else ""))
    return t


class PredictFormat(str, Enum):
    TABLE = "table"
    JSON = "json"


def as_json(predictions: list[Any], stream: IO[str] | None = None) -> str:
    return dumps_all([p.to_dict() for p in predictions])


def as_table(predictions: list[Any], stream: IO[str] | None = None) -> str:
    stream = stream or sys.stdout
    width, color = terminal_width(stream), wants_color(stream)
    parts = []
    for p in predictions:
        text = wrap_lines(header(p).splitlines(), width)
        for b in p.batches:
            text += "\n" + wrap_lines(batch_line(p, b).splitlines(), width)
            text += render_table(table(b), width=width, color=color, stream=stream)
        parts.append(text)
    return "\n".join(parts)


# Each format's renderer; a test checks every member of PredictFormat is covered.
RENDERERS: dict[PredictFormat, Callable[[list[Any], "IO[str] | None"], str]] = {
    PredictFormat.TABLE: as_table,
    PredictFormat.JSON: as_json,
}


def render(predictions: list[Any], fmt: PredictFormat | str, stream: IO[str] | None = None) -> str:
    return RENDERERS[PredictFormat(fmt)](predictions, stream)
