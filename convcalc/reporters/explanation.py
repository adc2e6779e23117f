"""Rendering `convcalc explain`: the derivations of convcalc/explain.py as a table for the terminal,
Markdown with LaTeX formulas (GitHub and notebooks render `$...$`), or JSON.

The table has one block of rows per section (output shape, padding, parameters, MACs, FLOPs,
receptive field, memory, warnings) and per quantity the lines `formula`, `= with the values`,
`= the top-level terms evaluated`, the value in its own column, and its "where" lines and notes.
On a terminal (or with COLUMNS) the working is wrapped to fit, never cut: a derivation that lost
its end would say nothing; in a pipe lines keep their length. Like every reporter this only
formats what explain computed.
"""

from __future__ import annotations

import sys
from enum import Enum
from typing import IO, Callable

from ..explain import Explanation, LayerExplanation, Quantity, Section
from .. import working
from ..printable import markdown as markdown_text, markdown_code
from ..textable import Column, Table, render as render_table, terminal_width, wants_color, wrap_lines
from . import jsonout
from .common import shape

ASCII_SPELLING = (("²", "^2"), ("³", "^3"), ("·", "*"), ("→", "->"), ("−", "-"), ("…", "..."), ("×", "x"),
                  ("∏", "prod"))
FOOTER = ("every value is the one convcalc shapes reports, worked out by the same rule (docs/explain.md); "
          "MACs and FLOPs follow docs/costs.md")
QUANTITY_WIDTH = 22  # the quantity column: symbol and meaning, wrapped


class ExplainFormat(str, Enum):
    TABLE = "table"
    JSON = "json"
    MARKDOWN = "markdown"


def render(explanation: Explanation, fmt: ExplainFormat | str, stream: IO[str] | None = None) -> str:
    return RENDERERS[ExplainFormat(fmt)](explanation, stream)


# --------------------------------------------------------------------------------------------
# The terminal


def _unicode(stream: IO[str]) -> bool:
    encoding = (getattr(stream, "encoding", None) or "utf-8").lower().replace("-", "")
    return encoding.startswith("utf")


def _spell(text: str, unicode: bool) -> str:
    if unicode:
        return text
    for char, ascii_ in ASCII_SPELLING:
        text = text.replace(char, ascii_)
    return text.encode("ascii", "replace").decode("ascii")


def _wrap(text: str, width: int | None, indent: str = "  ", hyphens: bool = False) -> list[str]:
    """`text` in lines of at most `width` (None: one line), breaking at spaces (and hyphens, for
    words), continuations indented; a formula's term longer than the width is kept whole."""
    if width is None or len(text) <= width:
        return [text]
    import textwrap

    return textwrap.wrap(text, width, subsequent_indent=indent, break_long_words=hyphens,
                         break_on_hyphens=hyphens) or [""]


def _heading(layer: LayerExplanation, explanation: Explanation) -> str:
    where = f" (line {layer.line})" if layer.line else ""
    inputs = " + ".join(shape(s) for s in layer.inputs)
    return f"#{layer.index} {layer.name}: {layer.layer}{where} · {inputs} → {shape(layer.output)}"


def _quantity_rows(q: Quantity, working_width: int | None, unicode: bool,
                   label_width: int = QUANTITY_WIDTH) -> list[tuple[str, str, str, str]]:
    """(quantity cell, working cell, value cell, style of the working) per output line."""
    formula, shown = q.formula, q.shown
    if q.symbol == "global":
        working = [(line, "") for line in _wrap(formula, working_width)]
    else:
        lines = [formula]
        substituted, steps = q.substituted, q.steps
        if substituted and substituted != formula and substituted != shown:
            lines.append(f"= {substituted}")
        if steps and steps != substituted and steps != shown:
            lines.append(f"= {steps}")
        working = [(wrapped, "") for line in lines for wrapped in _wrap(line, working_width)]
        for w in q.where:
            w_formula, w_substituted = w.formula, w.substituted
            text = f"where {w.symbol} = {w_formula}" + (f" = {w_substituted}" if w_substituted != w_formula else "")
            working += [(wrapped, "dim") for wrapped in _wrap(f"{text} = {w.shown}", working_width)]
    if q.note:
        working += [(wrapped, "dim") for wrapped in _wrap(_spell(q.note, unicode), working_width)]
    label = [q.symbol] + _wrap(q.meaning, label_width, indent="", hyphens=True) if q.meaning else [q.symbol]
    value_row = 0 if q.symbol == "global" else max(len([w for w in working if not w[1]]) - 1, 0)
    rows = []
    for i in range(max(len(label), len(working))):
        text_, style = working[i] if i < len(working) else ("", "")
        value = (shown if q.reported else f"({shown})") if i == value_row else ""
        rows.append((label[i] if i < len(label) else "", text_, value, style))
    return rows


def _section_rows(section: Section, t: Table, working_width: int | None, unicode: bool, label_width: int) -> None:
    t.rule()
    t.add_row((section.title, "bold"), "", "")
    for q in section.quantities:
        for i, (label, text_, value, style) in enumerate(_quantity_rows(q, working_width, unicode, label_width)):
            t.add_row((label, "" if i == 0 else "dim"), (text_, style), value)
    if section.table:
        widths = [max(len(row[i]) for row in section.table) for i in range(len(section.table[0]))]
        for j, row in enumerate(section.table):
            line = "  ".join(cell.ljust(w) if i < 2 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths)))
            t.add_row("", (line.rstrip(), "bold" if j == 0 else ""), "")
    for note in section.notes:
        for wrapped in _wrap(_spell(note, unicode), working_width):
            t.add_row("", (wrapped, "dim"), "")


def table(explanation: Explanation, stream: IO[str]) -> str:
    width, color, unicode = terminal_width(stream), wants_color(stream), _unicode(stream)
    parts = []
    for layer in explanation.layers:
        value_width = max([5] + [len(working.decimal(q.value)) + 2 for s in layer.sections for q in s.quantities
                                 if not isinstance(q.value, bool)])
        label_width = QUANTITY_WIDTH if width is None or width >= 100 else max(14, QUANTITY_WIDTH - (100 - width) // 4)
        quantities = [q for s in layer.sections for q in s.quantities]
        longest = max([len(s.title) for s in layer.sections] + [len(q.symbol) for q in quantities]
                      + [len(w.symbol) + 6 for q in quantities for w in q.where])
        label_width = max(label_width, longest)
        working_width = None if width is None else max(20, width - label_width - value_width - 10)
        t = Table([Column("quantity"), Column("working"), Column("value", "right")])
        for section in layer.sections:
            _section_rows(section, t, working_width, unicode, label_width)
        heading = wrap_lines([_spell(_heading(layer, explanation), unicode)], width)
        if color:
            heading = "".join(f"\x1b[1m{line}\x1b[0m\n" for line in heading.splitlines())
        parts.append(heading + render_table(t, width=None, color=color, stream=stream))
    source = f"{explanation.name} ({explanation.source}), batch {explanation.batch}, {explanation.dtype}"
    footer = [f"{source}: {len(explanation.layers)} layer{'s' if len(explanation.layers) != 1 else ''} explained",
              "(in parentheses: a number shown beside the report, not one it holds)", FOOTER]
    return "\n".join(parts) + wrap_lines([_spell(line, unicode) for line in footer], width)


# --------------------------------------------------------------------------------------------
# Markdown



def _math(latex: str) -> str:
    return f"${latex}$" if latex else ""


def _md_quantity(q: Quantity) -> list[str]:
    if q.symbol == "global":
        return [f"| global context | {markdown_text(q.formula)} | | {q.shown} |"]
    formula, substituted, steps, shown = q.formula, q.substituted, q.steps, q.shown
    working_ = _math(q.latex)
    if substituted not in (formula, shown):
        working_ += f" $= {q.latex_substituted}$"
    if steps and steps not in (substituted, shown):
        working_ += f" $= {q.latex_steps}$"
    value = shown if q.reported else f"({shown})"
    rows = [f"| {markdown_code(q.symbol, table=True)} | {working_} | {markdown_text(q.meaning)} | {value} |"]
    for w in q.where:
        rows.append(f"| where {markdown_code(w.symbol, table=True)} | {_math(w.latex)} $= {w.latex_substituted}$ | | {w.shown} |")
    if q.note:
        rows.append(f"| | {markdown_text(q.note)} | | |")
    return rows


def markdown(explanation: Explanation) -> str:
    lines = [f"## {markdown_text(explanation.name)} ({markdown_text(explanation.source)})", "",
             f"batch {explanation.batch}, {explanation.dtype}; {FOOTER}. A value in parentheses is shown beside "
             "the report, not one it holds.", ""]
    for layer in explanation.layers:
        where = f" (line {layer.line})" if layer.line else ""
        inputs = " + ".join(shape(s) for s in layer.inputs)
        lines += [f"### {layer.index}. {markdown_text(layer.name)}: {markdown_code(layer.layer)}{where}", "",
                  f"{inputs} → {shape(layer.output)}", ""]
        for section in layer.sections:
            lines += [f"**{section.title}**", ""]
            if section.quantities:
                lines += ["| quantity | working | meaning | value |", "|---|---|---|---:|"]
                for q in section.quantities:
                    lines += _md_quantity(q)
                lines.append("")
            if section.table:
                header, *rows = section.table
                lines += ["| " + " | ".join(header) + " |",
                          "|" + "|".join("---" if i < 2 else "---:" for i in range(len(header))) + "|"]
                lines += ["| " + " | ".join(row) + " |" for row in rows]
                lines.append("")
            lines += [f"- {markdown_text(note)}" for note in section.notes]
            if section.notes:
                lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


def as_table(explanation: Explanation, stream: IO[str] | None = None) -> str:
    return table(explanation, stream or sys.stdout)


def as_json(explanation: Explanation, stream: IO[str] | None = None) -> str:
    return jsonout.dumps_all([explanation.to_dict()])


def as_markdown(explanation: Explanation, stream: IO[str] | None = None) -> str:
    return markdown(explanation)


RENDERERS: dict[ExplainFormat, Callable[[Explanation, "IO[str] | None"], str]] = {
    ExplainFormat.TABLE: as_table,
    ExplainFormat.JSON: as_json,
    ExplainFormat.MARKDOWN: as_markdown,
}
