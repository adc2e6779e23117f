"""Rendering `convcalc memory` reports: a per-layer table and the memory of one training step
(table, Markdown), or the exact numbers (JSON, CSV). Reporters never compute: every number here
is in the TrainingReport (convcalc.training)."""

from __future__ import annotations

import io
import sys
from enum import Enum
from typing import IO, Callable

from ..printable import clean, csv_writer, markdown
from ..report import TrainingReport
from ..textable import Column, Table, render as render_table, terminal_width, wants_color, wrap_lines
from ..units import nbytes
from .common import counter, shape
from .jsonout import dumps_all

PHASES = {"start": "before the forward", "forward": "in the forward", "backward": "in the backward",
          "optimizer": "in the optimizer step"}
IMPLS = {"for-loop": "for-loop", "foreach": "foreach", "fused": "fused"}
NOTE = ("saved: what autograd keeps for the backward, each tensor counted at the first layer keeping it. Peak: the "
        "most memory live at once in one steady-state iteration (forward, backward, optimizer step, "
        "zero_grad(set_to_none)); allocator caching, fragmentation, cuDNN workspaces and the CUDA context are not "
        "in it. See docs/memory.md.")


def title(r: TrainingReport) -> str:
    precision = f"autocast {r.amp} (float32 weights)" if r.amp else r.dtype
    optimizer = r.optimizer if r.optimizer in ("sgd", "momentum") and r.impl != "fused" else f"{r.optimizer} ({r.impl})"
    return f"{r.name} ({r.source}): training at batch {r.batch}, {precision}, {optimizer}, on {r.device}"


def summary(r: TrainingReport, exact: bool = False) -> list[str]:
    t = r.total
    fmt = counter(exact)
    where = PHASES[t.peak_phase] + (f" at {t.peak_layer}" if t.peak_layer else "")
    lines = [
        f"weights {nbytes(t.weight_bytes)} · buffers {nbytes(t.buffer_bytes)} · gradients {nbytes(t.grad_bytes)} · "
        f"optimizer state {nbytes(t.optimizer_bytes)} · input batch {nbytes(t.input_bytes)}",
        f"saved for the backward {nbytes(t.saved_bytes)}",
        f"training peak {nbytes(t.peak_bytes)} ({where})",
        f"inference peak {nbytes(t.inference_peak_bytes)} (eval without autograd: weights, buffers and the "
        f"largest set of live activations in {r.inference_dtype})",
        f"FLOPs per step: forward {fmt(t.forward_flops)} · backward {fmt(t.backward_flops)} · "
        f"total {fmt(t.forward_flops + t.backward_flops)}",
    ]
    return lines


def answer(r: TrainingReport, named: bool = False) -> str | None:
    """--fit's answer for this report's batch, in one line: 'batch 64: needs 48.3 GiB, does not fit
    in 24.0 GiB; the largest batch that fits is 31' (`named`: the spec's name first)."""
    if r.fit is None:
        return None
    f = r.fit
    verdict = "fits" if f.fits else "does not fit"
    largest = (f"the largest batch that fits is {f.max_batch:,} (needs {nbytes(f.peak_bytes)})" if f.max_batch
               else "not even batch 1 fits")
    return (f"{clean(r.name) + ', ' if named else ''}batch {r.batch:,}: needs {nbytes(r.total.peak_bytes)}, "
            f"{verdict} in {nbytes(f.memory)}; {largest}")


def answers(reports: list[TrainingReport]) -> list[str]:
    """One answer per report, each naming its spec when there are several specs."""
    named = len({(r.name, r.source) for r in reports}) > 1
    return [line for r in reports if (line := answer(r, named)) is not None]


def table(r: TrainingReport, exact: bool = False) -> Table:
    fmt = counter(exact)
    t = Table([Column("#", "right"), Column("name", shrink=True, min_width=8, cut="middle"),
               Column("kind", optional=True), Column("output"), Column("dtype", optional=True),
               Column("saved", "right"), Column("grads", "right", optional=True),
               Column("fwd FLOPs", "right", optional=True), Column("bwd FLOPs", "right", optional=True)],
              title=title(r))
    for layer in r.layers:
        t.add_row(str(layer.index), layer.name, layer.kind, shape(layer.output), layer.dtype,
                  nbytes(layer.saved_bytes), nbytes(layer.grad_bytes) if layer.grad_bytes else "",
                  fmt(layer.forward_flops), fmt(layer.backward_flops))
    t.rule()
    total = r.total
    t.add_row("", "total", "", "", "", nbytes(total.saved_bytes), nbytes(total.grad_bytes),
              fmt(total.forward_flops), fmt(total.backward_flops), style="bold")
    return t


def _markdown(r: TrainingReport, exact: bool, layers: bool = True) -> str:
    fmt = counter(exact)
    header = ["#", "name", "kind", "output", "dtype", "saved", "grads", "fwd FLOPs", "bwd FLOPs"]
    lines = [f"### {markdown(title(r))}", ""]
    if layers:
        lines += ["| " + " | ".join(header) + " |", "|---:|---|---|---|---|---:|---:|---:|---:|"]
        for layer in r.layers:
            cells = [str(layer.index), layer.name, layer.kind, shape(layer.output), layer.dtype,
                     nbytes(layer.saved_bytes), nbytes(layer.grad_bytes) if layer.grad_bytes else "",
                     fmt(layer.forward_flops), fmt(layer.backward_flops)]
            lines.append("| " + " | ".join(markdown(c) for c in cells) + " |")
        t = r.total
        lines.append(f"| | **total** | | | | **{nbytes(t.saved_bytes)}** | **{nbytes(t.grad_bytes)}** | "
                     f"**{fmt(t.forward_flops)}** | **{fmt(t.backward_flops)}** |")
        lines.append("")
    lines += [f"- {markdown(line)}" for line in summary(r, exact)]
    return "\n".join(lines) + "\n"



CSV_HEADER = ["spec", "batch", "index", "name", "kind", "output", "dtype", "saved_bytes", "activation_bytes",
              "grad_bytes", "optimizer_bytes", "forward_flops", "backward_flops", "peak_bytes",
              "inference_peak_bytes"]


def _csv(reports: list[TrainingReport]) -> str:
    out = io.StringIO()
    writer = csv_writer(out)
    writer.writerow(CSV_HEADER)
    for r in reports:
        for layer in r.layers:
            writer.writerow([clean(r.name), r.batch, layer.index, clean(layer.name), layer.kind,
                             "x".join(map(str, layer.output)), layer.dtype, layer.saved_bytes, layer.activation_bytes,
                             layer.grad_bytes, layer.optimizer_bytes, layer.forward_flops, layer.backward_flops, "", ""])
        t = r.total
        writer.writerow([clean(r.name), r.batch, "", "total", "", "", "", t.saved_bytes,
                         sum(layer.activation_bytes for layer in r.layers), t.grad_bytes, t.optimizer_bytes,
                         t.forward_flops, t.backward_flops, t.peak_bytes, t.inference_peak_bytes])
    return out.getvalue()


class MemoryFormat(str, Enum):
    TABLE = "table"
    JSON = "json"
    CSV = "csv"
    MARKDOWN = "markdown"


def as_json(reports: list[TrainingReport], stream: IO[str] | None, exact: bool, layers: bool = True) -> str:
    return dumps_all([r.to_dict() for r in reports])


def as_csv(reports: list[TrainingReport], stream: IO[str] | None, exact: bool, layers: bool = True) -> str:
    return _csv(reports)


def as_markdown(reports: list[TrainingReport], stream: IO[str] | None, exact: bool, layers: bool = True) -> str:
    found = answers(reports)
    return ("\n".join(_markdown(r, exact, layers) for r in reports) + "\n" + NOTE + "\n"
            + ("\n" + "\n".join(f"**{markdown(line)}**  " for line in found) + "\n" if found else ""))


def as_table(reports: list[TrainingReport], stream: IO[str] | None, exact: bool, layers: bool = True) -> str:
    """Each report's table (unless not `layers`) and summary, the note, and --fit's answers last,
    one line per batch, where a reader looks first."""
    stream = stream or sys.stdout
    width, color = terminal_width(stream), wants_color(stream)
    parts = [(render_table(table(r, exact), width=width, color=color, stream=stream) if layers
              else title(r) + "\n") + wrap_lines(summary(r, exact), width) for r in reports]
    # the answers stay one line each, whatever the width, for a reader's eye and for grep
    return "\n".join(parts) + wrap_lines([NOTE], width) + "".join(f"{clean(line)}\n" for line in answers(reports))


# Each format's renderer; a test checks every member of MemoryFormat is covered. `layers`: False
# leaves out the per-layer table (--summary) in the formats for people.
RENDERERS: dict[MemoryFormat, Callable[..., str]] = {
    MemoryFormat.TABLE: as_table,
    MemoryFormat.JSON: as_json,
    MemoryFormat.CSV: as_csv,
    MemoryFormat.MARKDOWN: as_markdown,
}


def render(reports: list[TrainingReport], fmt: MemoryFormat | str, stream: IO[str] | None = None,
           exact: bool = False, layers: bool = True) -> str:
    return RENDERERS[MemoryFormat(fmt)](reports, stream, exact, layers)
