"""Rendering `convcalc verify --train` results: per layer convcalc's saved bytes and backward
FLOPs beside PyTorch's (a disagreement in red with both values, a known one in yellow with both),
the peak against MemTracker; or JSON."""

from __future__ import annotations

import sys
from typing import IO, Any, Callable

from ..printable import markdown
from ..textable import Column, Table, render as render_table, render_markdown, terminal_width, wants_color, wrap_lines
from ..units import count, nbytes
from .jsonout import dumps_all
from .verification import VerifyFormat


def _cell(check: Any, human: Any) -> tuple[str, str]:
    if check.actual is None:
        return ("-", "dim")
    if check.convcalc == check.actual:
        return (human(check.convcalc), "")
    return (f"{check.convcalc} ≠ {check.actual}", "yellow" if check.known else "red bold")


def table(result: Any) -> Table:
    t = Table([Column("#", "right"), Column("name", shrink=True, min_width=8, cut="middle"), Column("kind", optional=True),
               Column("saved", "right"), Column("backward (flop counter)", "right"), Column("")],
              title=f"{result.name} ({result.source}): training, convcalc vs PyTorch; batch {result.batch}")
    for layer in result.layers:
        flops = layer.check("flop_counter_backward")
        status = ("ok", "green") if flops.convcalc == flops.actual or not layer.ok else ("known", "yellow")
        if not layer.ok:
            status = ("DIFFERS", "red bold")
        t.add_row(str(layer.index), (layer.name, "" if layer.ok else "red"), layer.kind,
                  _cell(layer.check("saved_bytes"), nbytes), _cell(flops, count), status)
    return t


def summary(result: Any) -> list[str]:
    lines = []
    bad = [layer.name for layer in result.layers if not layer.ok]
    known = [layer.name for layer in result.layers if layer.ok and any(c.known and c.convcalc != c.actual
                                                                        for c in layer.checks)]
    if bad:
        lines.append(f"{len(bad)} of {len(result.layers)} layers disagree: {', '.join(bad[:10])}"
                     + (" ..." if len(bad) > 10 else ""))
    else:
        lines.append(f"all {len(result.layers)} layers agree: saved bytes with saved_tensors_hooks, backward FLOPs "
                     f"with FlopCounterMode" + (" (but for the known disagreements below)" if known else ""))
    if known:
        lines.append(f"known: {len(known)} grouped layers ({', '.join(known[:5])}{' ...' if len(known) > 5 else ''}): "
                     "FlopCounterMode ignores groups in the backward in torch 2.13, counting groups + 1 times the "
                     "forward; convcalc counts 2 per multiply-add of each gradient (docs/costs.md)")
    p = result.peak
    if p.actual is not None:
        extra = p.convcalc - p.actual
        verdict = "agrees" if 0 <= extra <= result.output_gradient else "DIFFERS"
        lines.append(f"training peak with SGD: convcalc {nbytes(p.convcalc)} ({p.convcalc:,} B), MemTracker "
                     f"{nbytes(p.actual)} ({p.actual:,} B): {verdict}"
                     + (f" (+{extra:,} B: the output's gradient, a sum's is a view)" if extra > 0 and verdict == "agrees"
                        else ""))
    lines += [f"note: {note}" for note in result.notes]
    return lines


def render(results: list[Any], fmt: VerifyFormat | str, stream: IO[str] | None = None, layers: bool = True) -> str:
    """`convcalc verify --train`, in the formats of `verify --format` (its `VerifyFormat`); `layers`:
    False (--summary) prints each table's title instead of the table (JSON holds every layer)."""
    return RENDERERS[VerifyFormat(fmt)](results, stream, layers)


def as_json(results: list[Any], stream: IO[str] | None = None, layers: bool = True) -> str:
    return dumps_all([r.to_dict() for r in results])


def as_table(results: list[Any], stream: IO[str] | None = None, layers: bool = True) -> str:
    stream = stream or sys.stdout
    width, color = terminal_width(stream), wants_color(stream)
    return "\n".join((render_table(table(r), width=width, color=color, stream=stream) if layers
                      else wrap_lines([table(r).title], width)) + wrap_lines(summary(r), width)
                     for r in results)


def as_markdown(results: list[Any], stream: IO[str] | None = None, layers: bool = True) -> str:
    """For a pull request: the table as a pipe table (its title alone with --summary), the verdict lines as a list."""
    return "\n".join((render_markdown(table(r)) if layers else f"### {markdown(table(r).title)}\n") + "\n"
                     + "\n".join(f"- {markdown(line)}" for line in summary(r)) + "\n" for r in results)


RENDERERS: dict[VerifyFormat, Callable[[list[Any], "IO[str] | None", bool], str]] = {
    VerifyFormat.TABLE: as_table,
    VerifyFormat.JSON: as_json,
    VerifyFormat.MARKDOWN: as_markdown,
}
