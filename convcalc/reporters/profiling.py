"""Rendering `convcalc profile` results: a header with the settings, peaks and whole-network
figures, then a per-layer roofline table per batch size; or JSON, CSV, Markdown; or a plot."""

from __future__ import annotations

import io
import sys
from enum import Enum
from typing import IO, Any, Callable

from ..printable import clean, csv_writer, markdown
from ..textable import Column, Table, bar, cut_middle, render as render_table, terminal_width, wants_color, wrap_lines
from ..units import nbytes, rate
from .jsonout import dumps_all


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.3f}" if seconds < 0.01 else f"{seconds * 1e3:.2f}"


def header(p: Any) -> str:
    s = p.settings
    threads = f", {s.threads} thread{'s' if s.threads != 1 else ''}" if s.threads is not None else ""
    lines = [f"{clean(p.identity.label)} on {clean(s.device_name)} [{s.device}], {s.dtype}{threads}, "
             f"torch {s.torch}, {s.date}"]
    knobs = [f"warmup {s.warmup}", f"iters {s.iters}"]
    if s.cudnn_benchmark is not None:
        knobs.append(f"cudnn.benchmark {s.cudnn_benchmark}")
    knobs.append("channels-last" if s.channels_last else "contiguous (NCHW)")
    lines.append("settings: " + ", ".join(knobs))
    lines.append(f"peaks ({clean(p.peaks.source)}): {rate(p.peaks.flops, 'FLOP/s')}, {rate(p.peaks.bandwidth, 'B/s')}, "
                 f"ridge {p.peaks.ridge:.1f} FLOP/B")
    if p.datasheet is not None:
        lines.append(f"peaks ({p.datasheet.source}): {rate(p.datasheet.flops, 'FLOP/s')}, "
                     f"{rate(p.datasheet.bandwidth, 'B/s')}, ridge {p.datasheet.ridge:.1f} FLOP/B")
    return "\n".join(lines) + "\n"


def batch_lines(b: Any) -> str:
    lines = [f"batch {b.batch}: latency {_ms(b.median_s)} ms median [{_ms(b.q1_s)}-{_ms(b.q3_s)} IQR], "
             f"{b.throughput:,.1f} samples/s; per-layer sum {_ms(b.layer_sum_s)} ms "
             f"(the layers take {100 * b.hook_overhead:.0f}% of a forward)"]
    memory = f"predicted {nbytes(b.predicted_memory)} (weights + peak activations)"
    if b.peak_memory is not None:
        memory = f"measured peak {nbytes(b.peak_memory)} (torch.cuda.max_memory_allocated), " + memory
    lines.append("memory: " + memory)
    return "\n".join(lines) + "\n"


def table(b: Any) -> Table:
    t = Table([Column("#", "right"), Column("name", shrink=True, min_width=8, cut="middle"), Column("kind", optional=True),
               Column("time ms", "right"), Column("share", "right"), Column("time bar", optional=True),
               Column("achieved", "right"), Column("FLOP/B", "right", optional=True), Column("bound"),
               Column("roofline", "right")])
    slowest = max((layer.median_s for layer in b.layers), default=0.0) or 1.0
    for i, layer in enumerate(b.layers):
        t.add_row(str(i), clean(layer.name), clean(layer.kind), _ms(layer.median_s), f"{100 * layer.share:.1f}%",
                  (bar(layer.median_s / slowest), "cyan"), rate(layer.achieved, "FLOP/s"),
                  f"{layer.intensity:.1f}", (layer.bound, "yellow" if layer.bound == "memory" else ""),
                  f"{100 * layer.roofline:.1f}%")
    return t


class ProfileFormat(str, Enum):
    TABLE = "table"
    JSON = "json"
    CSV = "csv"
    MARKDOWN = "markdown"


def as_json(profiles: list[Any], stream: IO[str] | None = None, layers: bool = True) -> str:
    return dumps_all([p.to_dict() for p in profiles])


def as_csv(profiles: list[Any], stream: IO[str] | None = None, layers: bool = True) -> str:
    out = io.StringIO()
    writer = csv_writer(out)
    writer.writerow(["spec", "device", "dtype", "batch", "index", "name", "kind", "median_s", "q1_s", "q3_s",
                     "share", "flops", "bytes", "intensity", "achieved_flops_per_s", "bound", "roofline"])
    for p in profiles:
        for b in p.batches:
            for i, layer in enumerate(b.layers):
                writer.writerow([clean(p.identity.name), clean(p.settings.device_name), p.settings.dtype, b.batch, i,
                                 clean(layer.name), clean(layer.kind), layer.median_s, layer.q1_s, layer.q3_s, layer.share, layer.flops,
                                 layer.bytes, layer.intensity, layer.achieved, layer.bound, layer.roofline])
    return out.getvalue()


def as_markdown(profiles: list[Any], stream: IO[str] | None = None, layers: bool = True) -> str:
    """`layers`: False (--summary) keeps each batch's latency and memory lines, not its table."""
    parts = []
    for p in profiles:
        parts.append(f"### {markdown(p.identity.name)}\n\n```\n{header(p)}```\n")
        for b in p.batches:
            if not layers:
                parts.append(f"```\n{batch_lines(b)}```\n")
                continue
            parts.append(f"```\n{batch_lines(b)}```\n\n| # | name | kind | time ms | share | achieved | FLOP/B "
                         f"| bound | roofline |\n|---:|---|---|---:|---:|---:|---:|---|---:|")
            for i, layer in enumerate(b.layers):
                parts.append(f"| {i} | {markdown(layer.name)} | {markdown(layer.kind)} | {_ms(layer.median_s)} | "
                             f"{100 * layer.share:.1f}% | {rate(layer.achieved, 'FLOP/s')} | "
                             f"{layer.intensity:.1f} | {layer.bound} | {100 * layer.roofline:.1f}% |")
            parts.append("")
    return "\n".join(parts) + "\n"


def as_table(profiles: list[Any], stream: IO[str] | None = None, layers: bool = True) -> str:
    """`layers`: False (--summary) keeps each batch's latency and memory lines, not its table."""
    stream = stream or sys.stdout
    width, color = terminal_width(stream), wants_color(stream)
    parts = []
    for p in profiles:
        text = wrap_lines(header(p).splitlines(), width)
        for b in p.batches:
            text += ("\n" + wrap_lines(batch_lines(b).splitlines(), width)
                     + (render_table(table(b), width=width, color=color, stream=stream) if layers else ""))
        parts.append(text)
    return "\n".join(parts)


# Each format's renderer; a test checks every member of ProfileFormat is covered.
RENDERERS: dict[ProfileFormat, Callable[[list[Any], "IO[str] | None", bool], str]] = {
    ProfileFormat.TABLE: as_table,
    ProfileFormat.JSON: as_json,
    ProfileFormat.CSV: as_csv,
    ProfileFormat.MARKDOWN: as_markdown,
}


def render(profiles: list[Any], fmt: ProfileFormat | str, stream: IO[str] | None = None, layers: bool = True) -> str:
    """`layers`: False (--summary) leaves the per-layer tables out (json and csv hold every layer)."""
    return RENDERERS[ProfileFormat(fmt)](profiles, stream, layers)


PLOT_BARS = 25  # the per-layer chart shows at most this many layers, the slowest
PLOT_LABELS = 8  # the roofline names at most this many points, the slowest layers
PLOT_NAME = 36  # characters of a layer name in a plot, cut in the middle beyond


def _spread(wanted: list[float], gap: float) -> list[float]:
    """Positions in 0..1, as close to the ascending `wanted` as they can be while at least `gap`
    apart: where the roofline's labels go in the margin, so that none overlaps another."""
    placed: list[float] = []
    for y in wanted:
        placed.append(max(y, placed[-1] + gap) if placed else max(y, 0.0))
    top = 1.0
    for i in range(len(placed) - 1, -1, -1):
        placed[i] = min(placed[i], top)
        top = placed[i] - gap
    return placed


def plot(profiles: list[Any], path: str) -> None:
    """For the first spec's first batch size: the roofline (log-log: the roofs, a point per layer
    sized by its share of the time, coloured by bound; the slowest layers named in the right
    margin, each joined to its point, so no two labels overlap) above a bar chart of per-layer
    times with the layers' names (the PLOT_BARS slowest when there are more, in spec order, and
    the title says so)."""
    import math

    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    from .plots import literal, save_figure

    p = profiles[0]
    b = p.batches[0]
    memory_colour, compute_colour = "tab:orange", "tab:blue"
    indexed = list(enumerate(b.layers))
    shown = sorted(sorted(indexed, key=lambda pair: -pair[1].median_s)[:PLOT_BARS], key=lambda pair: pair[0])

    def label(i: int, name: str) -> str:
        return f"#{i} {literal(cut_middle(name, PLOT_NAME))}"

    bar_inches = 0.28 * len(shown) + 1.2
    figure = Figure(figsize=(12, 6.5 + bar_inches))
    roof, bars = figure.subplots(2, 1, gridspec_kw={"height_ratios": [6.5, bar_inches]})

    points = [(i, layer) for i, layer in indexed if layer.flops > 0 and layer.median_s > 0]
    lo = min([layer.intensity for _, layer in points] + [p.peaks.ridge / 100])
    hi = max([layer.intensity for _, layer in points] + [p.peaks.ridge * 100])
    xs = [lo / 2, p.peaks.ridge, hi * 2]
    roof.plot(xs, [min(p.peaks.flops, x * p.peaks.bandwidth) for x in xs], color="black",
              label=f"roofline ({literal(p.peaks.source)})")
    if p.datasheet is not None:
        roof.plot(xs, [min(p.datasheet.flops, x * p.datasheet.bandwidth) for x in xs], color="gray",
                  linestyle="--", label=f"roofline ({literal(p.datasheet.source)})")
    roof.scatter([layer.intensity for _, layer in points], [layer.achieved for _, layer in points],
                 s=[20 + 2000 * layer.share for _, layer in points], alpha=0.6, edgecolors="none",
                 c=[memory_colour if layer.bound == "memory" else compute_colour for _, layer in points])
    roof.set_xscale("log")
    roof.set_yscale("log")
    roof.set_xlabel("arithmetic intensity (FLOP / byte)")
    roof.set_ylabel("achieved FLOP/s")
    roof.set_title(f"{literal(cut_middle(p.identity.name, 60))}: {literal(p.settings.device_name)}, {p.settings.dtype}, "
                   f"batch {b.batch}" + (f", {p.settings.threads} threads" if p.settings.threads else "")
                   + "\npoint area = share of the time; the slowest layers are named on the right", fontsize=10)
    handles, _ = roof.get_legend_handles_labels()
    handles += [Patch(color=compute_colour, alpha=0.6, label="compute-bound layer"),
                Patch(color=memory_colour, alpha=0.6, label="memory-bound layer")]
    roof.legend(handles=handles, loc="upper left", fontsize=8)
    # Names in the margin, in the order of their points' heights, spread apart, each joined to its point.
    (x0, x1), (y0, y1) = roof.get_xlim(), roof.get_ylim()
    roof.set_xlim(x0, x1)
    roof.set_ylim(y0, y1)
    named = sorted(sorted(points, key=lambda pair: -pair[1].median_s)[:PLOT_LABELS],
                   key=lambda pair: pair[1].achieved)
    heights = [(math.log(layer.achieved) - math.log(y0)) / (math.log(y1) - math.log(y0)) for _, layer in named]
    for (i, layer), height in zip(named, _spread(heights, 1 / max(PLOT_LABELS + 1, len(named) + 1))):
        roof.annotate(f"{label(i, layer.name)} ({100 * layer.share:.0f}%)", (layer.intensity, layer.achieved),
                      xytext=(1.02, height), textcoords="axes fraction", va="center", fontsize=8,
                      arrowprops={"arrowstyle": "-", "color": "0.5", "linewidth": 0.6})

    ys = list(range(len(shown)))[::-1]  # the first layer at the top
    times = [layer.median_s * 1e3 for _, layer in shown]
    bars.barh(ys, times, color=[memory_colour if layer.bound == "memory" else compute_colour for _, layer in shown])
    bars.set_yticks(ys)
    bars.set_yticklabels([label(i, layer.name) for i, layer in shown], fontsize=8)
    bars.set_ylim(-0.6, len(shown) - 0.4)
    bars.set_xlim(0, max(times, default=1.0) * 1.18 or 1.0)
    for y, time_ms, (_, layer) in zip(ys, times, shown):
        bars.text(time_ms, y, f" {_ms(layer.median_s)} ms, {100 * layer.share:.1f}%", va="center", fontsize=7)
    bars.set_xlabel("median time (ms)")
    which = (f"all {len(b.layers)} layers" if len(shown) == len(b.layers)
             else f"the {len(shown)} slowest of {len(b.layers)} layers")
    bars.set_title(f"per-layer time: {which}, in spec order (blue compute-bound, orange memory-bound)",
                   fontsize=10)
    figure.tight_layout()
    save_figure(figure, path)
