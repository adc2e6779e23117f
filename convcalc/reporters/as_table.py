"""The human table: one row per layer, a totals row, a summary line and the warnings."""

from __future__ import annotations

import sys
from typing import IO

from ..report import Report
from ..textable import Column, Table, render as render_table, terminal_width, wants_color, wrap_lines
from .common import CONVENTIONS, counter, output_fields, output_shapes, row, sharing_notes, summary, total_cost, warnings


def table(report: Report, exact: bool = False) -> Table:
    t = Table(
        columns=[Column("#", "right"), Column("name", shrink=True, min_width=8, cut="middle"), Column("kind", optional=True),
                 Column("output"), Column("params", "right"), Column("MACs", "right"),
                 Column("FLOPs", "right", optional=True), Column("RF", "right", optional=True),
                 Column("notes", shrink=True, optional=True, min_width=6)],
        title=report.label,
    )
    shared = sharing_notes(report)
    for layer in report.layers:
        count_ = len(layer.warnings)
        note = f"{count_} warning{'s' if count_ > 1 else ''}" if count_ else ""  # listed under the table
        if layer.name in shared:
            t.add_row(*row(layer, exact), "; ".join(filter(None, (shared[layer.name], note))))
        else:
            t.add_row(*row(layer, exact), (note, "yellow"))
    t.rule()
    total = report.total
    fmt = counter(exact)
    t.add_row("", "total", "", output_shapes(report), fmt(total.params), total_cost(total.macs, "macs", total.partial, fmt),
              total_cost(total.flops, "flops", total.partial, fmt), output_fields(report), "", style="bold")
    return t


def render(reports: list[Report], stream: IO[str] | None = None, exact: bool = False, layers: bool = True) -> str:
    """`layers`: False (--summary) prints each report's title instead of its table."""
    stream = stream or sys.stdout
    width, color = terminal_width(stream), wants_color(stream)
    parts = []
    for report in reports:
        text = (render_table(table(report, exact), width=width, color=color, stream=stream) if layers
                else wrap_lines([report.label], width))
        notes = warnings(report)
        text += wrap_lines([summary(report, exact), *(["warnings:"] if notes else []), *(f"  {n}" for n in notes)], width)
        parts.append(text)
    return "\n".join(parts) + wrap_lines([CONVENTIONS], width)
