"""Markdown: a pipe table per spec with a totals row, for pull requests and docs. Every name, label
and note is `printable.markdown` text: it renders as itself, never as an image, a link or HTML."""

from __future__ import annotations

from typing import IO

from ..printable import markdown
from ..report import Report
from .common import CONVENTIONS, counter, output_fields, output_shapes, row, sharing_notes, summary, total_cost, warnings

HEADER = ["#", "name", "kind", "output", "params", "MACs", "FLOPs", "RF", "notes"]
RIGHT = {"#", "params", "MACs", "FLOPs", "RF"}


def render(reports: list[Report], stream: IO[str] | None = None, exact: bool = False, layers: bool = True) -> str:
    """`layers`: False (--summary) leaves out the pipe table: the heading and the summary."""
    fmt = counter(exact)
    parts = []
    for report in reports:
        heading = report.label if report.args or report.input_given else report.name
        lines = [f"### {markdown(heading)}"]
        if layers:
            lines += ["", "| " + " | ".join(HEADER) + " |", "|" + "|".join("---:" if h in RIGHT else "---" for h in HEADER) + "|"]
            shared = sharing_notes(report)
            for layer in report.layers:
                cells = [*row(layer, exact), "; ".join(filter(None, (shared.get(layer.name), *layer.warnings)))]
                lines.append("| " + " | ".join(markdown(c) for c in cells) + " |")
            t = report.total
            lines.append(f"| | **total** | | {output_shapes(report)} | **{fmt(t.params)}** | "
                         f"**{total_cost(t.macs, 'macs', t.partial, fmt)}** | "
                         f"**{total_cost(t.flops, 'flops', t.partial, fmt)}** | {output_fields(report)} | |")
        lines += ["", markdown(summary(report, exact))]
        notes = warnings(report)
        if notes:
            lines += ["", "Warnings:", ""] + [f"- {markdown(n)}" for n in notes]
        parts.append("\n".join(lines) + "\n")
    return "\n".join(parts) + "\n" + CONVENTIONS + "\n"
