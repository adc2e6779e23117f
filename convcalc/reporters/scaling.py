"""Renderers of a compound-scaling run (convcalc/scale.py): a table per phi with the growth against
2^phi, the reasons they differ, and the --search ranking; JSON and CSV. They compute nothing."""

from __future__ import annotations

import io
import sys
from enum import Enum
from typing import IO, Any, Callable

from ..printable import clean, csv_writer
from ..report import SCHEMAS
from ..scale import Scaling
from ..textable import Column, Table, render as render_table, terminal_width, wants_color, wrap_lines
from ..units import nbytes
from .common import counter, shape
from .jsonout import dumps

NOT_ACCURACY = ("convcalc knows costs, not accuracy: the paper chose alpha, beta and gamma among such candidates by "
                "ImageNet accuracy (a grid search on B0); this ranks them only by how close their measured MACs "
                "growth at phi = 1 is to 2")


def title(s: Scaling) -> str:
    return (f"compound scaling of {s.name} ({s.source}): {s.depth_arg} = {s.alpha:g}^phi, {s.width_arg} = "
            f"{s.beta:g}^phi, resolution x {s.gamma:g}^phi")


class ScaleFormat(str, Enum):
    TABLE = "table"
    JSON = "json"
    CSV = "csv"


def render(s: Scaling, fmt: ScaleFormat | str, stream: IO[str] | None = None, exact: bool = False) -> str:
    return RENDERERS[ScaleFormat(fmt)](s, stream, exact)


def as_table(s: Scaling, stream: IO[str] | None = None, exact: bool = False) -> str:
    stream = stream or sys.stdout
    width, color = terminal_width(stream), wants_color(stream)
    fmt_count = counter(exact)
    t = Table(columns=[Column("phi", "right"), Column(f"{s.depth_arg}", "right"), Column(f"{s.width_arg}", "right"),
                       Column("input"), Column("params", "right"), Column("MACs", "right"),
                       Column("peak act.", "right", optional=True), Column("MACs / phi=0", "right"),
                       Column("2^phi", "right"), Column("formula", "right", optional=True),
                       Column("d·w²·r² used", "right", optional=True)],
              title=title(s))
    for r in s.rows:
        t.add_row(str(r.phi), f"{r.depth:.3f}", f"{r.width:.3f}", shape(r.input), fmt_count(r.report.total.params),
                  fmt_count(r.report.total.macs), nbytes(r.report.total.peak_activation_bytes), f"{r.ratio:.3f}",
                  f"{r.promised:g}", f"{r.formula:.3f}", f"{r.expected:.3f}")
    text = render_table(t, width=width, color=color, stream=stream)
    lines = ["formula: (alpha * beta^2 * gamma^2)^phi; d·w²·r² used: the layers, mean channels and input size the "
             "spec really has, relative to phi = 0. Why the growth is not 2^phi:"]
    lines += [f"  - {note}" for note in s.notes]
    text += wrap_lines(lines, width)
    if s.search is not None:
        st = Table(columns=[Column("#", "right"), Column("alpha", "right"), Column("beta", "right"),
                            Column("gamma", "right"), Column("a·b²·g²", "right"), Column("MACs growth at phi=1", "right")],
                   title=f"--search: {s.searched} candidates with alpha * beta^2 * gamma^2 near 2, measured at phi = 1; "
                         f"the {len(s.search)} closest to 2")
        for i, c in enumerate(s.search, 1):
            st.add_row(str(i), f"{c.alpha:g}", f"{c.beta:g}", f"{c.gamma:g}", f"{c.constraint:.3f}", f"{c.ratio:.4f}")
        text += "\n" + render_table(st, width=width, color=color, stream=stream) + wrap_lines([NOT_ACCURACY], width)
    return text


def to_dict(s: Scaling) -> dict[str, Any]:
    return {
        "schema": SCHEMAS["scale"], "name": s.name, "source": s.source, "depth_arg": s.depth_arg,
        "width_arg": s.width_arg, "alpha": s.alpha, "beta": s.beta, "gamma": s.gamma, "constraint": s.constraint,
        "rows": [{"phi": r.phi, "depth": r.depth, "width": r.width, "input": list(r.input),
                  "total": r.report.total.to_dict(), "macs_ratio": r.ratio, "promised": r.promised,
                  "formula": r.formula, "depth_used": r.depth_used, "width_used": r.width_used,
                  "resolution_used": r.resolution_used, "expected_from_used": r.expected,
                  "depthwise_macs": r.measured.depthwise_macs, "macs_on_1x1_maps": r.measured.pointwise_macs}
                 for r in s.rows],
        "notes": list(s.notes),
        "search": None if s.search is None else {
            "candidates": s.searched, "note": NOT_ACCURACY,
            "best": [{"alpha": c.alpha, "beta": c.beta, "gamma": c.gamma, "constraint": c.constraint,
                      "macs_ratio": c.ratio} for c in s.search]},
    }


def to_csv(s: Scaling) -> str:
    out = io.StringIO()
    writer = csv_writer(out)
    writer.writerow(["spec", "phi", "depth", "width", "input", "params", "macs", "flops", "peak_activation_bytes",
                     "macs_ratio", "promised", "formula", "depth_used", "width_used", "resolution_used"])
    for r in s.rows:
        t = r.report.total
        writer.writerow([clean(s.name), r.phi, r.depth, r.width, shape(r.input), t.params, t.macs, t.flops,
                         t.peak_activation_bytes, r.ratio, r.promised, r.formula, r.depth_used, r.width_used,
                         r.resolution_used])
    return out.getvalue()


def as_json(s: Scaling, stream: IO[str] | None = None, exact: bool = False) -> str:
    return dumps(to_dict(s)) + "\n"


def as_csv(s: Scaling, stream: IO[str] | None = None, exact: bool = False) -> str:
    return to_csv(s)


RENDERERS: dict[ScaleFormat, Callable[[Scaling, "IO[str] | None", bool], str]] = {
    ScaleFormat.TABLE: as_table,
    ScaleFormat.JSON: as_json,
    ScaleFormat.CSV: as_csv,
}
