"""Rendering `convcalc verify` results: a table per spec (disagreements in red with both
values), or JSON. The MACs column is convcalc's own count, for reading beside the tools' columns,
each of which is compared under that tool's convention (docs/costs.md)."""

from __future__ import annotations

import sys
from enum import Enum
from typing import IO, Any, Callable

from ..printable import markdown
from ..textable import Column, Table, render as render_table, render_markdown, terminal_width, wants_color, wrap_lines
from ..units import count
from .common import shape
from .jsonout import dumps_all


def _cell(check: Any, human: Any = count) -> tuple[str, str]:
    if check is None or check.actual is None:
        return ("-", "dim")
    if check.ok:
        return (human(check.convcalc), "")
    return (f"{_exact(check.convcalc)} ≠ {_exact(check.actual)}", "red bold")


def _exact(value: Any) -> str:
    return shape(value) if isinstance(value, tuple) else str(value)


def table(result: Any, layers: bool = True) -> Table:
    """`layers`: False (--summary) keeps the header and the total row only."""
    t = Table(
        columns=[Column("#", "right"), Column("name", shrink=True, min_width=8, cut="middle"), Column("kind", optional=True),
                 Column("output"), Column("params", "right"), Column("buffers", "right", optional=True),
                 Column("MACs", "right"), Column("fvcore", "right"), Column("flop counter", "right"),
                 Column("fvcore unsupported", shrink=True, optional=True, min_width=8), Column("")],
        title=f"{result.identity.label}: convcalc vs torch {result.versions.get('torch')}, "
              f"fvcore {result.versions.get('fvcore')}, FlopCounterMode; batch {result.batch}",
    )
    for layer in result.layers if layers else ():
        unsupported = ", ".join(f"{op.removeprefix('aten::')}×{n}" for op, n in layer.unsupported.items())
        t.add_row(str(layer.index), (layer.name, "" if layer.ok else "red"), layer.kind,
                  _cell(layer.check("shape"), shape), _cell(layer.check("params")), _cell(layer.check("buffers")),
                  count(layer.macs), _cell(layer.check("fvcore")), _cell(layer.check("flop_counter")), (unsupported, "dim"),
                  ("ok", "green") if layer.ok else ("DIFFERS", "red bold"))
    if layers:
        t.rule()
    total = {c.metric: c for c in result.total}
    outputs = ""  # a spec with `outputs:`: every output's shape, as the model returned it
    if result.outputs:
        bad = [check for _, check in result.outputs if not check.ok]
        outputs = ((", ".join(f"{_exact(c.convcalc)} ≠ {_exact(c.actual)}" for c in bad), "red bold") if bad
                   else ", ".join(shape(c.convcalc) for _, c in result.outputs))
    t.add_row("", "total", "", outputs, _cell(total["params"]), _cell(total["buffers"]), count(result.macs),
              _cell(total["fvcore"]),
              _cell(total["flop_counter"]), "", ("ok", "green") if result.ok else ("DIFFERS", "red bold"),
              style="bold")
    return t


def summary(result: Any) -> str:
    bad = [layer.name for layer in result.layers if not layer.ok]
    lines = []
    fvcore_ran = any(c.metric == "fvcore" and c.actual is not None for c in result.total)
    tools = "FlopCounterMode" + (" and fvcore" if fvcore_ran else " (fvcore did not run)")
    if result.ok:
        lines.append(f"all {len(result.layers)} layers agree: shapes, params and buffers with torch, "
                     f"counts with {tools} under their conventions (docs/costs.md)")
    else:
        lines.append(f"{len(bad)} of {len(result.layers)} layers disagree: {', '.join(bad[:10])}"
                     + (" ..." if len(bad) > 10 else ""))
    if result.unsupported:
        ops = ", ".join(f"{op} ×{n}" for op, n in result.unsupported.items())
        lines.append(f"operators fvcore does not support (it counts them as 0): {ops}")
    if result.outputs:
        agree = all(check.ok for _, check in result.outputs)
        lines.append(f"outputs {'agree' if agree else 'DIFFER'} with what the model returns: "
                     + ", ".join(f"{name} {_exact(c.convcalc)}" + ("" if c.ok else f" ≠ {_exact(c.actual)}")
                                 for name, c in result.outputs))
    lines.extend(f"note: {note}" for note in result.notes)
    return "\n".join(lines) + "\n"


class VerifyFormat(str, Enum):
    TABLE = "table"
    JSON = "json"
    MARKDOWN = "markdown"


def as_json(results: list[Any], stream: IO[str] | None = None, layers: bool = True) -> str:
    return dumps_all([r.to_dict() for r in results])


def as_table(results: list[Any], stream: IO[str] | None = None, layers: bool = True) -> str:
    stream = stream or sys.stdout
    width, color = terminal_width(stream), wants_color(stream)
    return "\n".join(render_table(table(r, layers), width=width, color=color, stream=stream)
                     + wrap_lines(summary(r).splitlines(), width) for r in results)


def as_markdown(results: list[Any], stream: IO[str] | None = None, layers: bool = True) -> str:
    """For a pull request: the table as a pipe table, its summary lines as a list."""
    return "\n".join(render_markdown(table(r, layers)) + "\n" + "\n".join(f"- {markdown(line)}" for line in
                                                                     summary(r).splitlines()) + "\n"
                     for r in results)


# Each format's renderer; a test checks every member of VerifyFormat is covered.
RENDERERS: dict[VerifyFormat, Callable[[list[Any], "IO[str] | None", bool], str]] = {
    VerifyFormat.TABLE: as_table,
    VerifyFormat.JSON: as_json,
    VerifyFormat.MARKDOWN: as_markdown,
}


def render(results: list[Any], fmt: VerifyFormat | str, stream: IO[str] | None = None, layers: bool = True) -> str:
    """`layers`: False (--summary) leaves the per-layer rows out of the table (JSON holds them all)."""
    return RENDERERS[VerifyFormat(fmt)](results, stream, layers)
