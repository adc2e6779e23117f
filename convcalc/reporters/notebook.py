"""Notebook display: the shapes report and the training report as HTML tables (Jupyter's
`_repr_html_`), Markdown (`_repr_markdown_`) and the plain table (IPython's `_repr_pretty_`).

The HTML is the same `textable.Table` the terminal table is built from (as_table.table,
training.table), in exact counts (12,345,678: a notebook has the width a terminal may not), with
the summary lines and warnings under it. Every string from a spec or a model (names, kinds,
titles, warnings) is escaped with html.escape, quotes included, and the table carries no script
and no style sheet: one inline style per cell, which a notebook's sanitizer keeps.
"""

from __future__ import annotations

import html
import io
from typing import Any

from ..report import Report, TrainingReport
from ..textable import Table

_TABLE = "border-collapse:collapse;font-family:monospace;font-size:12px"
_CELL = "padding:1px 8px;border-bottom:1px solid #ddd"


def table_html(table: Table, lines: list[str]) -> str:
    """One `Table` as an HTML <table> (title as its caption, a rule as a border, bold rows bold),
    and `lines` as paragraphs under it."""
    out = [f'<div class="convcalc"><table style="{_TABLE}">']
    if table.title:
        title = "<br>".join(html.escape(part) for part in table.title.split("\n"))
        out.append(f'<caption style="text-align:left;font-weight:bold">{title}</caption>')
    aligns = [column.align for column in table.columns]
    out.append("<thead><tr>" + "".join(f'<th style="{_CELL};text-align:{align}">{html.escape(column.header)}</th>'
                                       for column, align in zip(table.columns, aligns)) + "</tr></thead><tbody>")
    for i, row in enumerate(table.rows):
        styles = ["border-top:2px solid #888"] if i in table.rules else []
        if row and all(style == "bold" for _, style in row):
            styles.append("font-weight:bold")
        cells = "".join(f'<td style="{_CELL};text-align:{align}">{html.escape(text)}</td>'
                        for (text, _), align in zip(row, aligns))
        out.append(f'<tr style="{";".join(styles)}">{cells}</tr>' if styles else f"<tr>{cells}</tr>")
    out.append("</tbody></table>")
    out += [f'<p style="font-family:monospace;font-size:12px;margin:2px 0">{html.escape(line)}</p>' for line in lines]
    out.append("</div>")
    return "\n".join(out)


def report_html(report: Report) -> str:
    from .as_table import table
    from .common import CONVENTIONS, summary, warnings

    notes = warnings(report)
    return table_html(table(report, exact=True),
                      [summary(report, exact=True), *(["warnings:"] if notes else []), *notes, CONVENTIONS])


def training_html(report: TrainingReport) -> str:
    from .training import NOTE, summary, table

    return table_html(table(report, exact=True), [*summary(report, exact=True), NOTE])


def report_markdown(report: Report) -> str:
    from .as_markdown import render

    return render([report], exact=True)


def training_markdown(report: TrainingReport) -> str:
    from .training import as_markdown

    return as_markdown([report], None, True)


def plain(report: Report | TrainingReport) -> str:
    """The terminal table without colour, at its full width (IPython's pretty printer)."""
    stream = io.StringIO()
    if isinstance(report, TrainingReport):
        from .training import as_table

        return as_table([report], stream, False)
    from .as_table import render

    return render([report], stream)


def pretty(report: Report | TrainingReport, printer: Any, cycle: bool) -> None:
    """IPython's `_repr_pretty_`: the plain table."""
    printer.text(plain(report) if not cycle else f"{type(report).__name__}(...)")


def text_html(result: Any) -> str:
    """A result whose table is laid out by its command's renderer (a comparison, a sweep, a
    scaling, an explanation) as that table at its full width, without colour, in a <pre>."""
    from ..compare import SpecComparison, VariantComparison

    stream = io.StringIO()
    if isinstance(result, (VariantComparison, SpecComparison)):
        from .comparison import render as compare_render

        text = compare_render(result, "table", stream)
    elif type(result).__name__ == "Explanation":
        from .explanation import render as explain_render

        text = explain_render(result, "table", stream)
    elif type(result).__name__ == "Sweep":
        from .sweeps import render as sweep_render

        text = sweep_render(result, "table", stream, exact=True)
    else:
        from .scaling import render as scale_render

        text = scale_render(result, "table", stream, exact=True)
    return f'<div class="convcalc"><pre style="{_PRE}">{html.escape(text)}</pre></div>'


_PRE = "font-family:monospace;font-size:12px;line-height:1.3;white-space:pre"


def page_html(fmt: str, text: str) -> str:
    """A drawing or page (`convcalc.draw`, `convcalc.report`) inline: HTML and SVG in an iframe
    whose document is `srcdoc` (the whole page, attribute-escaped) and whose sandbox allows
    scripts only: no same origin, so the page cannot reach the notebook, its cookies or storage,
    and the page itself makes no request (its script and styles are inline). DOT and Mermaid as
    their text."""
    if fmt not in ("html", "svg"):
        return f'<pre style="{_PRE}">{html.escape(text)}</pre>'
    return (f'<iframe class="convcalc-page" sandbox="allow-scripts" srcdoc="{html.escape(text, quote=True)}" '
            'style="width:100%;height:600px;border:1px solid #ddd" title="convcalc"></iframe>')


def _cell(value: Any) -> Any:
    """A JSON value as a DataFrame cell: lists (shapes, receptive fields) as tuples."""
    return tuple(_cell(v) for v in value) if isinstance(value, list) else value


def layers_frame(report: Report | TrainingReport) -> Any:
    """`report.to_pandas()`: one row per layer, its `to_dict()` as the columns, by name."""
    import importlib

    try:
        pandas = importlib.import_module("pandas")
    except ImportError:
        from ..errors import UsageError

        raise UsageError("to_pandas() needs pandas: pip install pandas") from None
    rows = [{key: _cell(value) for key, value in layer.to_dict().items()} for layer in report.layers]
    columns = list(rows[0]) if rows else ["name"]
    return pandas.DataFrame(rows, columns=columns).set_index("name")
