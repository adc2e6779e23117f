"""Rendering `convcalc compare`: variants or spec-vs-spec, as a table, JSON, CSV or Markdown, and a plot.

Like the other reporters this only formats what convcalc/compare computed (ratios, shares,
differences and the JSON's dict included); `CompareFormat` names the formats and `RENDERERS`
holds each one's renderer of variants and of two specs. The table shows exact counts with
thousands separators, as the course notes print them (86,400; 675 + 9,600 = 10,275), and a
small bar per row: MACs as a share of the largest, in unicode eighth blocks, or '#' when the
stream cannot take them (and K^2 for K², -> for →). On a terminal (or with COLUMNS) the tables
fit its width (textable.fit_layouts): optional columns go first, from the right, while names
keep a readable width; then the per-stage MACs sums become plain totals; only then is the
shrinkable column (layers, layer names) cut, in the middle. The prose under a table is wrapped
to the same width and mentions only the columns shown. `plot` draws a grouped bar chart with
matplotlib, imported only there (the `plot` extra).
"""

from __future__ import annotations

import io
import json
import sys
import textwrap
from enum import Enum
from fractions import Fraction
from typing import IO, Any, Callable

from ..compare import SpecComparison, VariantComparison, VariantRow
from ..printable import csv_writer, markdown, markdown_code
from ..report import Report
from ..textable import (BAR_WIDTH, Column, Row, bar, fit_layouts, render as render_table, terminal_width, wants_color,
                        wrap_lines)
from ..units import nbytes, number, percent
from . import jsonout
from .common import CONVENTIONS, field, shape
from .plots import check_plot_path, literal, save_figure

NOT_APPLICABLE = "not applicable"
METRIC_NAMES = {"params": "params", "buffers": "buffers", "macs": "MACs", "flops": "FLOPs",
                "peak_activation_bytes": "peak activations", "weight_bytes": "weights (bytes)",
                "activation_bytes": "all activations"}
BYTE_METRICS = ("peak_activation_bytes", "weight_bytes", "activation_bytes")
# convcalc's own symbols, spelled in ASCII for a stream that cannot encode them
ASCII_SPELLING = (("²", "^2"), ("³", "^3"), ("·", "*"), ("→", "->"), ("Δ", "delta"), ("±", "+-"))


def exact(n: int) -> str:
    return f"{n:,}"


def ratio(value: Fraction | None) -> str:
    if value is None:
        return "-"
    v = float(value)
    return f"{v:,.0f}" if v >= 100 else f"{v:.3g}"


def signed(n: int) -> str:
    return f"{n:+,}"


def _unicode(stream: IO[str] | None) -> bool:
    encoding = (getattr(stream, "encoding", None) or "utf-8").lower().replace("-", "")
    return encoding.startswith("utf")


def _spelled(text: str, unicode: bool) -> str:
    if not unicode:
        for symbol, ascii_ in ASCII_SPELLING:
            text = text.replace(symbol, ascii_)
    return text


def _wrapped(lines: list[str], width: int | None, unicode: bool) -> str:
    """Prose lines in the stream's alphabet, each wrapped to `width` (textable.wrap_lines)."""
    return wrap_lines([_spelled(line, unicode) for line in lines], width)


def _fitted(title: str, columns: list[Column], layouts: list[list[Row | None]],
            stream: IO[str]) -> tuple[str, set[str]]:
    """A table rendered to fit the terminal (textable.fit_layouts: the first layout that fits by
    dropping optional columns), in the stream's alphabet, and the headers it shows."""
    width, unicode = terminal_width(stream), _unicode(stream)
    columns = [Column(_spelled(c.header, unicode), c.align, c.shrink, c.optional, c.min_width, c.cut, c.first)
               for c in columns]
    layouts = [[None if row is None else [(_spelled(text, unicode), style) for text, style in row] for row in layout]
               for layout in layouts]
    table = fit_layouts(columns, layouts, width, _spelled(title, unicode))  # render wraps the title
    text = render_table(table, width=width, color=wants_color(stream), stream=stream)
    return text, {column.header for column in table.columns}


def render(result: VariantComparison | SpecComparison, fmt: CompareFormat | str, stream: IO[str] | None = None,
           layers: bool = True) -> str:
    """`layers`: False (--summary) leaves out the spec-vs-spec table of the layers that differ
    (variants have no per-layer table; json and csv hold every layer)."""
    variants, specs = RENDERERS[CompareFormat(fmt)]
    renderer = variants if isinstance(result, VariantComparison) else specs
    return renderer(result, stream or sys.stdout, layers)


# --------------------------------------------------------------------------------------------
# Variants


def _setup_line(result: VariantComparison) -> str:
    c = result.setup
    return (f"input {shape(c.input)}, out {c.out}, k {c.k}, s {c.s}, p {c.p} "
            f"(batch {c.batch}, {c.dtype}, {'with' if c.bias else 'no'} bias)")


def _macs_cell(row: VariantRow, stages: bool = True) -> str:
    """'86,400', or the per-stage sum '675 + 9,600 = 10,275' (stages without MACs left out)."""
    parts = [exact(stage.macs) for stage in row.stages if stage.macs]
    return exact(row.macs) if len(parts) < 2 or not stages else f"{' + '.join(parts)} = {exact(row.macs)}"


def _closed_form_cell(row: VariantRow) -> str:
    if row.closed_form is None:
        return ""
    value = ratio(row.closed_form.value)
    return row.closed_form.formula if row.closed_form.formula == value else f"{row.closed_form.formula} = {value}"


def _layers_cell(row: VariantRow) -> str:
    return " | ".join(stage.description for stage in row.stages)


def _footer(result: VariantComparison, shown: set[str] | None = None) -> list[str]:
    """The lines under the table; `shown`: the headers of the columns shown (None: all)."""
    c = result.setup
    lines = []
    notes = []
    for row in result.rows:
        if not row.applicable:
            notes.append(f"  {row.variant}: {NOT_APPLICABLE}: {row.reason}")
        notes += [f"  {row.variant}: {note}" for note in row.notes]
    if notes:
        lines += ["notes:", *notes]
    largest = result.largest
    if result.baseline:
        bars = largest is not None and (shown is None or "MACs bar" in shown)
        lines.append(f"ratios: to {result.baseline}, the first variant named"
                     + (f"; bar: MACs as a share of the largest ({largest.variant})" if bars else ""))
    if any(row.closed_form for row in result.applicable) and (shown is None or "closed form" in shown):
        names = {row.variant for row in result.applicable if row.closed_form}
        letters = [f"C = {c.channels} input channels", f"N = {c.out} output channels", f"K = {c.k}"]
        letters += [f"G = {c.groups}"] if "grouped" in names else []
        letters += [f"n = (K-1)/2 = {c.stack_depth}"] if "stacked" in names else []
        lines.append(f"closed forms: the notes' ratio to regular, with {', '.join(letters)}; exact for params, and "
                     "for MACs when the output sizes are equal (e.g. -p same)")
    lines.append("counts are bias-free unless --bias is given (the course notes count multiplies only). "
                 + CONVENTIONS)
    return lines


def _variant_cells(result: VariantComparison, row: VariantRow, unicode: bool, stages: bool) -> Row:
    if not row.applicable:
        # output, params, MACs (n/a: still there when the layers column is not), ratio; bar, closed form; the rest
        empty = ["-", "-", "n/a", "-", "", "", "-", "-", "-", "-", "-"]
        return [(row.variant, "dim"), (NOT_APPLICABLE, "yellow"), *[(cell, "dim") for cell in empty]]
    return [(row.variant, "bold" if row.variant == result.baseline else ""), (_layers_cell(row), ""),
            (shape(row.output), ""), (exact(row.params), ""), (_macs_cell(row, stages), ""),
            (ratio(row.macs_ratio), ""), (bar(row.macs_share, unicode), "cyan"), (_closed_form_cell(row), ""),
            (ratio(row.params_ratio), ""), (exact(row.flops), ""), (field(row.receptive_field), ""),
            (nbytes(row.weight_bytes), ""), (nbytes(row.output_bytes), "")]


def variants_table(result: VariantComparison, stream: IO[str] | None = None, layers: bool = True) -> str:
    stream = stream or sys.stdout
    base = result.baseline or "-"
    unicode = _unicode(stream)
    # Dropped from the right to fit: output bytes first, ..., the output shape, then the layers.
    columns = [Column("variant"), Column("layers", shrink=True, optional=True, cut="middle"), Column("output", optional=True),
               Column("params", "right"), Column("MACs", "right"), Column(f"MACs / {base}", "right"),
               Column("MACs bar", optional=True, min_width=BAR_WIDTH), Column("closed form", optional=True),
               Column(f"params / {base}", "right", optional=True), Column("FLOPs", "right", optional=True),
               Column("RF", "right", optional=True), Column("weights", "right", optional=True),
               Column("output bytes", "right", optional=True)]
    # Too wide without any optional column: the MACs as plain totals, not per-stage sums.
    layouts = [[_variant_cells(result, row, unicode, stages) for row in result.rows] for stages in (True, False)]
    text, shown = _fitted(f"convolution variants: {_setup_line(result)}", columns, layouts, stream)
    return text + _wrapped(_footer(result, shown), terminal_width(stream), unicode)


def as_json(result: VariantComparison | SpecComparison, stream: IO[str] | None = None, layers: bool = True) -> str:
    return jsonout.dumps(result.to_dict()) + "\n"


VARIANT_CSV = ["variant", "applicable", "reason", "layers", "output", "params", "macs", "flops", "stage_macs",
               "receptive_field", "output_bytes", "weight_bytes", "peak_activation_bytes", "params_ratio",
               "macs_ratio", "closed_form", "closed_form_value", "spec"]


def variants_csv(result: VariantComparison, stream: IO[str] | None = None, layers: bool = True) -> str:
    out = io.StringIO()
    writer = csv_writer(out)
    writer.writerow(VARIANT_CSV)
    for row in result.rows:
        form = row.closed_form
        common = [form.formula if form else "", float(form.value) if form else "", row.spec]
        if not row.applicable:
            writer.writerow([row.variant, "false", row.reason, *[""] * 12, *common])
            continue
        d = row.to_dict()
        writer.writerow([row.variant, "true", "", _layers_cell(row), shape(row.output), row.params, row.macs,
                         row.flops, " + ".join(str(s.macs) for s in row.stages),
                         json.dumps(d["receptive_field"]), row.output_bytes, row.weight_bytes,
                         row.peak_activation_bytes, d["params_ratio"], d["macs_ratio"], *common])
    return out.getvalue()


def variants_markdown(result: VariantComparison, stream: IO[str] | None = None, layers: bool = True) -> str:
    base = result.baseline or "-"
    header = ["variant", "layers", "output", "params", "MACs", f"MACs / {base}", "MACs bar", "closed form",
              f"params / {base}", "FLOPs", "RF", "weight bytes", "output bytes"]
    right = {3, 4, 5, 8, 9, 10, 11, 12}
    lines = [f"### Convolution variants: {markdown(_setup_line(result))}", "", "| " + " | ".join(header) + " |",
             "|" + "|".join("---:" if i in right else "---" for i in range(len(header))) + "|"]
    for row in result.rows:
        if not row.applicable:
            cells = [row.variant, f"{NOT_APPLICABLE}: {row.reason}", *[""] * 11]
        else:
            cells = [row.variant, "", shape(row.output), exact(row.params), _macs_cell(row),
                     ratio(row.macs_ratio), bar(row.macs_share), _closed_form_cell(row), ratio(row.params_ratio),
                     exact(row.flops), field(row.receptive_field), exact(row.weight_bytes), exact(row.output_bytes)]
        text = [markdown(cell) for cell in cells]
        if row.applicable:  # the layers as code, which takes no escapes: a code span of its own
            text[1] = markdown_code(_layers_cell(row), table=True)
        lines.append("| " + " | ".join(text) + " |")
    footer = [line.strip() for line in _footer(result) if line != "notes:"]
    return "\n".join(lines) + "\n\n" + "\n".join(f"- {markdown(line)}" for line in footer) + "\n"


# --------------------------------------------------------------------------------------------
# One spec against another


def _value(metric: str, n: int) -> str:
    return nbytes(n) if metric in BYTE_METRICS else exact(n)


def _diff(metric: str, n: int) -> str:
    if metric in BYTE_METRICS:
        return ("+" if n > 0 else "-" if n < 0 else "±") + nbytes(abs(n))
    return signed(n)


def _percent(relative: Fraction | None) -> str:
    """b as a change from a, as a percentage; '-' where a is 0."""
    return "-" if relative is None else percent(relative)


def _rf_diff(result: SpecComparison) -> str:
    """b's local field minus a's per axis ('same' when equal), and global context gained or lost."""
    delta = result.receptive_field_delta
    if delta is None:
        text = "-"
    elif not any(delta):
        text = "same"
    else:
        text = "x".join(("+" if d >= 0 else "") + number(d) for d in delta)
    if result.global_change:
        text += " + global" if result.global_change == "gained" else " - global"
    return text


def _field(report: Report) -> str:
    return field(report.receptive_field, report.global_context)


def _rf_delta(result: SpecComparison) -> str:
    """b's receptive field minus a's per axis, '-380x-380' ('' when the ranks differ)."""
    delta = result.receptive_field_delta
    return "" if delta is None else "x".join(map(number, delta))


def _csv_number(value: Fraction | None) -> float | str:
    """A ratio or relative change for CSV: '' where a is 0."""
    return "" if value is None else float(value)


def _matching_line(result: SpecComparison) -> str:
    line = (f"layers: {result.by_name} matched by name, {result.by_position} by position; {result.added} added, "
            f"{result.removed} removed, {result.changed} changed")
    if result.renamed:
        line += (f"; {len(result.renamed)} differ only in name (same kind, output and counts), e.g. "
                 + ", ".join(f"{a} → {b}" for a, b in result.renamed[:2]))
    if result.per_sample:
        line += (f" (batches {result.a.batch} and {result.b.batch}: layers are compared per sample; "
                 "the totals include the batch)")
    return line


def _side(change: Any, metric: str) -> str:
    a, b = change.value(metric, "a"), change.value(metric, "b")
    if change.a is None or change.b is None or a == b:
        return exact(b if change.b is not None else a)
    return f"{exact(a)} → {exact(b)}"


def _name_cells(change: Any) -> tuple[str, str, str]:
    a, b = change.a, change.b
    name = (a or b).name if a is None or b is None or a.name == b.name else f"{a.name} → {b.name}"
    kind = (a or b).kind if a is None or b is None or a.kind == b.kind else f"{a.kind} → {b.kind}"
    if a is None or b is None or a.output == b.output:
        out = shape((b or a).output)
    else:
        out = f"{shape(a.output)} → {shape(b.output)}"
    return name, kind, out


def _change_label(change: Any) -> str:
    return change.change if change.matched_by != "position" else "changed (by position)"


def specs_table(result: SpecComparison, stream: IO[str] | None = None, layers: bool = True) -> str:
    """`layers`: False (--summary) leaves out the table of the layers that differ."""
    stream = stream or sys.stdout
    la, lb = result.labels
    unicode = _unicode(stream)
    totals: list[Row | None] = []
    for d in result.totals:
        style = "green" if d.diff < 0 else "red" if d.diff > 0 else ""
        totals.append([(METRIC_NAMES[d.metric], ""), (_value(d.metric, d.a), ""), (_value(d.metric, d.b), ""),
                       (_diff(d.metric, d.diff), style), (_percent(d.relative), ""), (ratio(d.ratio), "")])
    totals += [None,
               [("output", ""), (shape(result.a.output), ""), (shape(result.b.output), ""),
                ("same" if result.a.output == result.b.output else "", ""), ("", ""), ("", "")],
               [("receptive field", ""), (_field(result.a), ""), (_field(result.b), ""),
                (_rf_diff(result), ""), ("", ""), ("", "")]]
    columns = [Column("metric"), Column(la, "right"), Column(lb, "right"), Column("difference", "right"),
               Column("relative", "right", optional=True), Column("ratio", "right", optional=True)]
    parts = [_fitted(f"{la} vs {lb}", columns, [totals], stream)[0]]
    if layers and result.layers:
        # Dropped to fit: the bar, the output, the kind, then both sides' MACs and params (the
        # differences stay).
        columns = [Column("change"), Column("layer", shrink=True, min_width=8, cut="middle"),
                   Column("kind", optional=True, first=1), Column("output", optional=True, first=1),
                   Column("params", "right", optional=True), Column("Δ params", "right"),
                   Column("MACs", "right", optional=True), Column("Δ MACs", "right"),
                   Column(f"Δ {METRIC_NAMES[result.share_metric]} bar", optional=True, min_width=BAR_WIDTH, first=2)]
        rows: list[Row | None] = []
        for change in result.layers:
            style = {"added": "green", "removed": "red", "changed": "yellow"}[change.change]
            name, kind, out = _name_cells(change)
            rows.append([(_change_label(change), style), (name, ""), (kind, ""), (out, ""),
                         (_side(change, "params"), ""), (signed(change.diff("params")), ""),
                         (_side(change, "macs"), ""), (signed(change.diff("macs")), ""),
                         (bar(change.share, unicode), "cyan")])
        parts.append(_fitted("layers that differ", columns, [rows], stream)[0])
    elif layers:
        parts.append("no layer differs\n")
    return "".join(parts) + _wrapped([_matching_line(result), CONVENTIONS], terminal_width(stream), unicode)


SPEC_CSV = ["section", "name_a", "name_b", "change", "metric", "a", "b", "diff", "relative", "ratio"]


def specs_csv(result: SpecComparison, stream: IO[str] | None = None, layers: bool = True) -> str:
    out = io.StringIO()
    writer = csv_writer(out)
    writer.writerow(SPEC_CSV)
    names = ["total", result.a.name, result.b.name, ""]
    for d in result.totals:
        writer.writerow([*names, d.metric, d.a, d.b, d.diff, _csv_number(d.relative), _csv_number(d.ratio)])
    writer.writerow([*names, "output", shape(result.a.output), shape(result.b.output), "", "", ""])
    writer.writerow([*names, "receptive_field", _field(result.a), _field(result.b), _rf_delta(result), "", ""])
    for c in result.layers:
        name_a, name_b = (c.a.name if c.a else ""), (c.b.name if c.b else "")
        for metric in ("params", "macs", "flops"):
            writer.writerow(["layer", name_a, name_b, c.change, metric, c.value(metric, "a"), c.value(metric, "b"),
                             c.diff(metric), _csv_number(c.relative(metric)), _csv_number(c.ratio(metric))])
        writer.writerow(["layer", name_a, name_b, c.change, "output", shape(c.a.output) if c.a else "",
                         shape(c.b.output) if c.b else "", "", "", ""])
    return out.getvalue()


def specs_markdown(result: SpecComparison, stream: IO[str] | None = None, layers: bool = True) -> str:
    """`layers`: False (--summary) leaves out the table of the layers that differ."""
    la, lb = result.labels
    lines = [f"### {markdown(la)} vs {markdown(lb)}", "", f"| metric | {markdown(la)} | {markdown(lb)} | difference | relative | ratio |",
             "|---|---:|---:|---:|---:|---:|"]
    for d in result.totals:
        lines.append(f"| {METRIC_NAMES[d.metric]} | {exact(d.a)} | {exact(d.b)} | {signed(d.diff)} | "
                     f"{_percent(d.relative)} | {ratio(d.ratio)} |")
    lines.append(f"| output | {shape(result.a.output)} | {shape(result.b.output)} | | | |")
    lines.append(f"| receptive field | {_field(result.a)} | {_field(result.b)} | {_rf_diff(result)} | | |")
    if result.layers and layers:
        lines += ["", f"| change | layer | kind | output | params | Δ params | MACs | Δ MACs | "
                      f"Δ {METRIC_NAMES[result.share_metric]} bar |",
                  "|---|---|---|---|---:|---:|---:|---:|---|"]
        for c in result.layers:
            name, kind, out = _name_cells(c)
            lines.append(f"| {_change_label(c)} | {markdown(name)} | {markdown(kind)} | {out} | {_side(c, 'params')} | "
                         f"{signed(c.diff('params'))} | {_side(c, 'macs')} | {signed(c.diff('macs'))} | "
                         f"{bar(c.share)} |")
    return "\n".join(lines) + "\n\n" + markdown(_matching_line(result)) + "\n\n" + CONVENTIONS + "\n"


# --------------------------------------------------------------------------------------------
# The formats


class CompareFormat(str, Enum):
    TABLE = "table"
    JSON = "json"
    CSV = "csv"
    MARKDOWN = "markdown"


Renderer = Callable[[Any, "IO[str] | None", bool], str]
# Each format's renderer of variants and of two specs; a test checks every member is covered.
RENDERERS: dict[CompareFormat, tuple[Renderer, Renderer]] = {
    CompareFormat.TABLE: (variants_table, specs_table),
    CompareFormat.JSON: (as_json, as_json),
    CompareFormat.CSV: (variants_csv, specs_csv),
    CompareFormat.MARKDOWN: (variants_markdown, specs_markdown),
}


# --------------------------------------------------------------------------------------------
# Plot


def plot_data(result: VariantComparison | SpecComparison) -> tuple[list[str], list[int], list[int]]:
    """(labels, params, MACs) of the bars: applicable variants, or the two specs."""
    if isinstance(result, VariantComparison):
        rows = result.applicable
        return [row.variant for row in rows], [row.params for row in rows], [row.macs for row in rows]
    return list(result.labels), [result.a.total.params, result.b.total.params], [result.a.total.macs,
                                                                                 result.b.total.macs]


def plot(result: VariantComparison | SpecComparison, path: str) -> None:
    """A grouped bar chart of params and MACs per variant (or spec) on a log scale; the legend
    sits outside the axes, on the right, where no bar can be under it."""
    check_plot_path(path)
    from matplotlib.figure import Figure

    labels, params, macs = plot_data(result)
    inches = max(6.0, 1.0 * len(labels) + 2)
    figure = Figure(figsize=(inches + 1.2, 4.8))  # 1.2 inches more for the legend
    axes = figure.subplots()
    width = 0.4
    xs = list(range(len(labels)))
    axes.bar([x - width / 2 for x in xs], params, width, label="params")
    axes.bar([x + width / 2 for x in xs], macs, width, label="MACs")
    axes.set_yscale("log")
    axes.set_xticks(xs)
    axes.set_xticklabels([literal(label) for label in labels], rotation=30, ha="right")
    axes.set_ylabel("count (log scale)")
    if isinstance(result, VariantComparison):
        title = f"convolution variants: {_setup_line(result)}"
    else:
        title = f"{result.labels[0]} vs {result.labels[1]}"
    # Wrapped to the axes (about 11 characters an inch at 9 points), which tight_layout then fits.
    axes.set_title("\n".join(textwrap.wrap(literal(title), int(inches * 11))), fontsize=9)
    axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)
    figure.tight_layout()
    save_figure(figure, path)
