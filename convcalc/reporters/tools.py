"""The tools' section of `convcalc verify --tools`: per tool and figure, what it printed, what
convcalc predicted, the residual, and the named terms by which the figure differs from
convcalc's own (docs/tools.md). It renders ToolsVerification records; it computes nothing."""

from __future__ import annotations

import sys
from typing import IO, Any

from ..textable import Column, Table, terminal_width, wants_color, wrap_lines
from ..textable import render as render_table
from .jsonout import dumps_all
from .verification import render as render_verification
from .verification import summary


def _terms(terms: dict[str, int]) -> str:
    return "; ".join(f"{'+' if amount >= 0 else '−'}{abs(amount):,} {term}" for term, amount in terms.items())


def rows(result: Any) -> list[tuple[str, ...]]:
    """One row per tool and figure: tool, version, figure, printed, predicted, residual, terms."""
    out: list[tuple[str, ...]] = []
    for tool in result.tools:
        if tool.error is not None:
            out.append((tool.name, tool.version, "", "crashed", "", "", tool.error))
            continue
        for key, predicted in tool.predicted.items():
            printed = tool.printed.get(key)
            residual = tool.residual.get(key)
            mark = "" if tool.exact else " (not exact)"
            out.append((tool.name, tool.version, key, f"{printed:,}" if isinstance(printed, int) else str(printed),
                        f"{predicted:,}", f"{residual:,}{mark}" if residual is not None else "",
                        f"{tool.reference[key]:,} convcalc {'params' if 'param' in key else 'MACs'}"
                        + (f"; {_terms(tool.terms[key])}" if tool.terms.get(key) else "")))
    return out


HEADERS = ("tool", "version", "figure", "printed", "predicted", "residual", "convcalc + named terms")


def _notes(result: Any) -> list[str]:
    notes = [f"{tool.name}: prediction not exact: {tool.why}" for tool in result.tools if tool.why]
    notes += [f"{tool.name}: operators it does not support: "
              + ", ".join(f"{op} ×{n}" for op, n in tool.extra.get("unsupported", {}).items())
              for tool in result.tools if tool.extra.get("unsupported")]
    if result.skipped:
        notes.append(f"not installed (skipped): {', '.join(result.skipped)} (pip install 'convcalc[tools]')")
    notes.append("residual: printed − predicted; each figure is convcalc's own plus the named terms (docs/tools.md)")
    return notes


def as_table(results: list[Any], stream: IO[str] | None = None, layers: bool = True) -> str:
    stream = stream or sys.stdout
    width, color = terminal_width(stream), wants_color(stream)
    parts = [render_verification([r.verification for r in results], "table", stream, layers)]
    for result in results:
        t = Table([Column(h, "right" if h in ("printed", "predicted", "residual") else "left",
                          shrink=h == HEADERS[-1], min_width=12 if h == HEADERS[-1] else 4) for h in HEADERS],
                  title=f"{result.verification.label}: other tools, predicted (batch {result.verification.batch})")
        for row in rows(result):
            bad = row[5] and not row[5].startswith("0") and "not exact" not in row[5]
            t.add_row(*row, style="red bold" if bad else "")
        parts.append(render_table(t, width=width, color=color, stream=stream) + wrap_lines(_notes(result), width))
    return "\n".join(parts)


def _cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def as_markdown(results: list[Any], stream: IO[str] | None = None, layers: bool = True) -> str:
    parts = []
    for result in results:  # verify's own check as its summary lines, then the tools' table
        lines = [f"**{_cell(result.verification.label)}**: other tools, predicted (batch {result.verification.batch})",
                 "", *[f"- {_cell(line)}" for line in summary(result.verification).splitlines()],
                 "", "| " + " | ".join(HEADERS) + " |", "|" + "---|" * len(HEADERS)]
        lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows(result)]
        lines += [""] + [f"- {_cell(n)}" for n in _notes(result)]
        parts.append("\n".join(lines) + "\n")
    return "\n".join(parts)


def as_json(results: list[Any], stream: IO[str] | None = None, layers: bool = True) -> str:
    return dumps_all([r.to_dict() for r in results])


RENDERERS = {"table": as_table, "markdown": as_markdown, "json": as_json}


def render(results: list[Any], fmt: str, stream: IO[str] | None = None, layers: bool = True) -> str:
    return RENDERERS[str(getattr(fmt, "value", fmt))](results, stream, layers)
