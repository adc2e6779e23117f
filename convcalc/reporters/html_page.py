"""`convcalc report`: one self-contained HTML page for a pull request or a design review.

The summary line, the interactive graph (draw_html's), the per-layer table (sortable,
filterable, exact numbers on hover), and plots drawn here as inline SVG: MACs and params by kind
and by stage, activation memory along the depth, receptive-field growth. With two specs, the
difference `convcalc compare` computes (compare.SpecComparison) comes first. Like the drawing,
the page makes no request (a Content-Security-Policy forbids it). Everything is rendered from the
Reports and the comparison; the sums by kind and stage come from diagram.py.
"""

from __future__ import annotations

import math
from fractions import Fraction
from html import escape
from typing import Any, Sequence

from ..diagram import Model, Share, by_kind, layer_text, shape_text, stages
from ..printable import clean
from ..report import Report
from ..units import count, nbytes, number
from .common import CONVENTIONS, summary
from .draw_html import asset, graph_parts, head, script_tags, scripts

PLOT_W, BAR_H = 460, 18


def _e(text: Any) -> str:
    return escape(clean(text))


def num_cell(n: int, text: str | None = None) -> str:
    """A number rounded for reading, its exact value on hover and for sorting."""
    return f'<td class="num" data-value="{n}" title="{n:,}">{escape(text if text is not None else count(n))}</td>'


def layer_table(report: Report, table_id: str) -> str:
    head_cells = ["#", "name", "kind", "layer", "output", "params", "MACs", "FLOPs", "output bytes", "RF", "notes"]
    numeric = {"#", "params", "MACs", "FLOPs", "output bytes"}
    out = [f'<input class="filter" type="search" data-table="{table_id}" placeholder="filter layers: name, kind, '
           f'spec words" aria-label="filter the layers"> <span class="count note" data-table="{table_id}">'
           f'{len(report.layers)} layers</span>',
           f'<div class="table-wrap"><table class="layers" id="{table_id}"><thead><tr>' +
           "".join(f'<th class="num">{h}</th>' if h in numeric else f"<th>{h}</th>" for h in head_cells) +
           "</tr></thead><tbody>"]
    for layer in report.layers:
        text = layer_text(layer)
        rf = "x".join(number(axis[0]) for axis in layer.receptive_field) or "-"
        rf_size = max((axis[0] for axis in layer.receptive_field), default=0)
        rf += " + global" if layer.global_context else ""
        search = f"{layer.name} {layer.kind} {text}".lower()
        out.append(
            f'<tr data-index="{layer.index}" data-search="{_e(search)}">'
            f'<td class="num" data-value="{layer.index}">{layer.index}</td><td class="mono">{_e(layer.name)}</td>'
            f"<td>{_e(layer.kind)}</td><td class=\"mono\">{_e(text)}</td><td class=\"mono\">{shape_text(layer.output)}</td>"
            f"{num_cell(layer.params)}{num_cell(layer.macs)}{num_cell(layer.flops)}"
            f"{num_cell(layer.output_bytes, nbytes(layer.output_bytes))}"
            f'<td data-value="{float(rf_size)}">{escape(rf)}</td><td>{_e("; ".join(layer.warnings))}</td></tr>')
    out.append("</tbody></table></div>")
    return "\n".join(out)


def bars(title: str, shares: Sequence[Share], metric: str, unit: str) -> str:
    """A horizontal bar chart of `metric` ('params' or 'macs') per share, exact values on hover."""
    shown = [s for s in shares if getattr(s, metric) > 0] or list(shares)
    largest = max((getattr(s, metric) for s in shown), default=0) or 1
    label_w = min(max((len(s.label) for s in shown), default=4) * 7.2 + 10, 200)
    total = sum(getattr(s, metric) for s in shown) or 1
    height = len(shown) * BAR_H + 10
    out = [f'<figure><figcaption>{escape(title)}</figcaption>'
           f'<svg xmlns="http://www.w3.org/2000/svg" width="{PLOT_W}" height="{height}" role="img" '
           f'aria-label="{escape(title)}">']
    room = PLOT_W - label_w - 110
    for i, s in enumerate(shown):
        value = getattr(s, metric)
        y = 5 + i * BAR_H
        w = max(value / largest * room, 1 if value else 0)
        label = s.label if len(s.label) * 7.2 <= label_w - 10 else s.label[: int((label_w - 10) / 7.2) - 1] + "…"
        out.append(f'<g><title>{_e(s.label)}: {value:,} {unit} ({100 * value / total:.1f}%), {s.layers} layers</title>'
                   f'<text x="{label_w - 6:.0f}" y="{y + 13}" text-anchor="end">{_e(label)}</text>'
                   f'<rect x="{label_w:.0f}" y="{y + 3}" width="{w:.1f}" height="{BAR_H - 6}" fill="#5b8fd6"/>'
                   f'<text x="{label_w + w + 4:.1f}" y="{y + 13}">{escape(count(value))} '
                   f'({100 * value / total:.1f}%)</text></g>')
    out.append("</svg></figure>")
    return "".join(out)


def line_plot(title: str, values: Sequence[float], names: Sequence[str], label: Any, log: bool, note: str = "",
              mark: float | None = None, mark_label: str = "") -> str:
    """Values along the layers (x: layer index), each point's exact value on hover."""
    w, h, left, bottom, top = PLOT_W * 2 + 16, 220, 70, 30, 12
    n = max(len(values), 1)
    positive = [v for v in values if v > 0] + ([mark] if mark else [])
    hi = max(positive, default=1.0)
    lo = min(positive, default=1.0)

    def y_of(v: float) -> float:
        if log:
            if v <= 0:
                return h - bottom
            span = math.log10(hi) - math.log10(lo) or 1.0
            return h - bottom - (math.log10(v) - math.log10(lo)) / span * (h - bottom - top)
        return h - bottom - v / (hi or 1) * (h - bottom - top)

    def x_of(i: int) -> float:
        return left + (i + 0.5) / n * (w - left - 10)

    points = " ".join(f"{x_of(i):.1f},{y_of(v):.1f}" for i, v in enumerate(values))
    out = [f'<figure><figcaption>{escape(title)}</figcaption><svg xmlns="http://www.w3.org/2000/svg" '
           f'width="{w}" height="{h}" role="img" aria-label="{escape(title)}">',
           f'<line x1="{left}" y1="{h - bottom}" x2="{w - 10}" y2="{h - bottom}" stroke="#999"/>'
           f'<line x1="{left}" y1="{top}" x2="{left}" y2="{h - bottom}" stroke="#999"/>',
           f'<text x="{left - 6}" y="{top + 8}" text-anchor="end">{escape(label(hi))}</text>'
           f'<text x="{left - 6}" y="{h - bottom}" text-anchor="end">{escape(label(lo if log else 0))}</text>'
           f'<text x="{left}" y="{h - 8}">layer 0</text>'
           f'<text x="{w - 10}" y="{h - 8}" text-anchor="end">layer {len(values) - 1} · {escape(note)}</text>']
    if mark:
        out.append(f'<line x1="{left}" y1="{y_of(mark):.1f}" x2="{w - 10}" y2="{y_of(mark):.1f}" stroke="#d0453a" '
                   f'stroke-dasharray="5 4"/><text x="{w - 12}" y="{y_of(mark) - 4:.1f}" text-anchor="end" '
                   f'fill="#d0453a">{escape(mark_label)}</text>')
    out.append(f'<polyline points="{points}" fill="none" stroke="#5b8fd6" stroke-width="1.5"/>')
    if len(values) <= 2000:
        for i, (v, name) in enumerate(zip(values, names)):
            out.append(f'<circle cx="{x_of(i):.1f}" cy="{y_of(v):.1f}" r="2.2" fill="#5b8fd6">'
                       f"<title>#{i} {_e(name)}: {escape(label(v))}</title></circle>")
    out.append("</svg></figure>")
    return "".join(out)


def plots(report: Report) -> str:
    kinds, parts = by_kind(report), stages(report)
    memory = [float(layer.output_bytes) for layer in report.layers]
    rf = [float(max((axis[0] for axis in layer.receptive_field), default=0)) for layer in report.layers]
    names = [layer.name for layer in report.layers]
    peak = report.total.peak_activation_bytes
    return ('<div class="plots">' +
            bars("MACs by kind", kinds, "macs", "MACs") + bars("params by kind", kinds, "params", "params") +
            bars("MACs by stage", parts, "macs", "MACs") + bars("params by stage", parts, "params", "params") +
            line_plot("activation memory along the depth: each layer's output", memory, names,
                      lambda v: nbytes(int(v)), log=True, note="log scale", mark=float(peak),
                      mark_label=f"peak of the inference walk (all live outputs): {nbytes(peak)}") +
            line_plot("receptive field along the depth: the largest local size over the axes", rf, names,
                      lambda v: f"{v:g}", log=True, note="log scale") +
            "</div>")


def _ratio(value: Fraction | None) -> str:
    return "" if value is None else f"{float(value):.4g}x"


def _signed(n: int, metric: str) -> str:
    shown = nbytes(abs(n)) if metric.endswith("bytes") else count(abs(n))
    return ("+" if n > 0 else "−" if n < 0 else "±") + shown


def difference(result: Any) -> str:
    """The spec-vs-spec difference as compare computes it: totals, then the layers that differ."""
    la, lb = result.labels
    out = [f'<p class="note">{_e(lb)} against {_e(la)} (the baseline): {result.by_name} layers matched by name, '
           f"{result.by_position} by position; {result.added} added, {result.removed} removed, "
           f"{result.changed} changed"
           + (f", {len(result.renamed)} differ only in name" if result.renamed else "")
           + (" (per sample: the batches differ)" if result.per_sample else "") + "</p>",
           f'<table class="diff"><thead><tr><th>total</th><th class="num">{_e(la)}</th><th class="num">{_e(lb)}</th>'
           '<th class="num">difference</th><th class="num">ratio</th></tr></thead><tbody>']
    for d in result.totals:
        is_bytes = d.metric.endswith("bytes")
        fmt = nbytes if is_bytes else count
        cls = "up" if d.diff > 0 else "down" if d.diff < 0 else ""
        out.append(f"<tr><td>{escape(d.metric)}</td>{num_cell(d.a, fmt(d.a))}{num_cell(d.b, fmt(d.b))}"
                   f'<td class="num {cls}" data-value="{d.diff}" title="{d.diff:+,}">{_signed(d.diff, d.metric)}</td>'
                   f'<td class="num">{_ratio(d.ratio)}</td></tr>')
    out.append("</tbody></table>")
    if result.layers:
        out.append('<h3>layers that differ</h3><div class="table-wrap"><table class="diff"><thead><tr><th>change</th>'
                   f'<th>{_e(la)}</th><th>{_e(lb)}</th><th>kind</th><th>output</th><th class="num">params</th>'
                   '<th class="num">MACs</th><th>what differs</th></tr></thead><tbody>')
        for change in result.layers:
            a, b = change.a, change.b
            kind = " → ".join(dict.fromkeys(x.kind for x in (a, b) if x is not None))
            shapes = " → ".join(dict.fromkeys(shape_text(x.output) for x in (a, b) if x is not None))
            cells = []
            for metric in ("params", "macs"):
                n = change.diff(metric)
                cls = "up" if n > 0 else "down" if n < 0 else ""
                cells.append(f'<td class="num {cls}" title="{change.value(metric, "a"):,} → '
                             f'{change.value(metric, "b"):,}">{_signed(n, metric)}</td>')
            how = f" (matched by {change.matched_by})" if change.matched_by else ""
            out.append(f"<tr><td>{change.change}{how}</td><td class=\"mono\">{_e(a.name) if a else ''}</td>"
                       f"<td class=\"mono\">{_e(b.name) if b else ''}</td><td>{_e(kind)}</td>"
                       f"<td class=\"mono\">{escape(shapes)}</td>{''.join(cells)}<td>{escape(', '.join(change.differs))}</td></tr>")
        out.append("</tbody></table></div>")
    return "\n".join(out)


def render(models: Sequence[Model], comparison: Any = None) -> str:
    """The page for one report, or for two with their comparison."""
    reports = [m.report for m in models]
    title = " vs ".join(clean(r.name) for r in reports)
    labels = comparison.labels if comparison is not None else [r.name for r in reports]
    bodies = [*scripts(), asset("page.js")]  # what the policy in the head lists by hash
    out = [head(f"{title}: convcalc report", bodies), "<body>", '<header class="page">',
           f"<h1>{_e(title)}</h1>"]
    for report in reports:
        out.append(f'<div class="summary"><b>{_e(report.name)}</b> ({_e(report.source)}): {escape(summary(report))}</div>')
    out.append(f'<div class="note">{escape(CONVENTIONS)} Hover a number for every digit.</div></header><main>')
    if comparison is not None:
        out.append(f"<section><h2>difference</h2>{difference(comparison)}</section>")
    data = []
    for i, (m, label) in enumerate(zip(models, labels)):
        suffix = f": {_e(label)}" if len(models) > 1 else ""
        html, script = graph_parts(m, f"graph-data-{i}")
        data.append(script)
        out.append(f"<section><h2>graph{suffix}</h2>{html}</section>")
        out.append(f"<section><h2>where the costs go{suffix}</h2>{plots(m.report)}</section>")
        out.append(f"<section><h2>layers{suffix}</h2>{layer_table(m.report, f'layers-{i}')}</section>")
    out.append("</main>")
    out.extend(data)
    out.append(script_tags(bodies))
    out.append("</body></html>\n")
    return "\n".join(out)
