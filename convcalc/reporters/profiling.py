"""Rendering `convcalc profile` results: a header with the settings, peaks and whole-network
figures, then a per-layer roofline table per batch size; or JSON, CSV, Markdown; or a plot."""

from __future__ import annotations

import csv
import io
import json
import sys
from typing import IO, Any

from ..textable import Column, Table, bar, render as render_table, terminal_width, wants_color
from ..units import nbytes



def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.3f}" if seconds < 0.01 else f"{seconds * 1e3:.2f}"


def _rate(value: float, unit: str) -> str:
    for prefix, scale in (("T", 1e12), ("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if value >= scale:
            return f"{value / scale:.3g} {prefix}{unit}"
    return f"{value:.3g} {unit}"


def header(p: Any) -> str:
    s = p.settings
    lines = [f"{p.name} ({p.source}) on {s.device_name} [{s.device}], {s.dtype}, torch {s.torch}, {s.date}"]
    knobs = [f"warmup {s.warmup}", f"iters {s.iters}"]
    if s.threads is not None:
        knobs.append(f"threads {s.threads}")
    if s.cudnn_benchmark is not None:
        knobs.append(f"cudnn.benchmark {s.cudnn_benchmark}")
    knobs.append("channels-last" if s.channels_last else "contiguous (NCHW)")
    lines.append("settings: " + ", ".join(knobs))
    lines.append(f"peaks ({p.peaks.source}): {_rate(p.peaks.flops, 'FLOP/s')}, {_rate(p.peaks.bandwidth, 'B/s')}, "
                 f"ridge {p.peaks.ridge:.1f} FLOP/B")
    if p.datasheet is not None:
        lines.append(f"peaks ({p.datasheet.source}): {_rate(p.datasheet.flops, 'FLOP/s')}, "
                     f"{_rate(p.datasheet.bandwidth, 'B/s')}, ridge {p.datasheet.ridge:.1f} FLOP/B")
    return "\n".join(lines) + "\n"


def batch_lines(b: Any) -> str:
    lines = [f"batch {b.batch}: latency {_ms(b.median_s)} ms median [{_ms(b.q1_s)}-{_ms(b.q3_s)} IQR], "
             f"{b.throughput:,.1f} samples/s; per-layer sum {_ms(b.layer_sum_s)} ms "
             f"(hooks x{b.hook_overhead:.2f} of the whole)"]
    memory = f"predicted {nbytes(b.predicted_memory)} (weights + peak activations)"
    if b.peak_memory is not None:
        memory = f"measured peak {nbytes(b.peak_memory)} (torch.cuda.max_memory_allocated), " + memory
    lines.append("memory: " + memory)
    return "\n".join(lines) + "\n"


def table(b: Any) -> Table:
    t = Table([Column("#", "right"), Column("name", shrink=True, min_width=8, cut="middle"), Column("kind", optional=True),
               Column("time ms", "right"), Column("share", "right"), Column("", optional=True),
               Column("achieved", "right"), Column("FLOP/B", "right", optional=True), Column("bound"),
               Column("roofline", "right")])
    slowest = max((layer.median_s for layer in b.layers), default=0.0) or 1.0
    for i, layer in enumerate(b.layers):
        t.add_row(str(i), layer.name, layer.kind, _ms(layer.median_s), f"{100 * layer.share:.1f}%",
                  (bar(layer.median_s / slowest), "cyan"), _rate(layer.achieved, "FLOP/s"),
                  f"{layer.intensity:.1f}", (layer.bound, "yellow" if layer.bound == "memory" else ""),
                  f"{100 * layer.roofline:.1f}%")
    return t


def render(profiles: list[Any], fmt: str, stream: IO[str] | None = None) -> str:
    if fmt == "json":
        docs = [json.dumps(p.to_dict(), indent=1) for p in profiles]
        return (docs[0] if len(docs) == 1 else "[\n" + ",\n".join(docs) + "\n]") + "\n"
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["spec", "device", "dtype", "batch", "index", "name", "kind", "median_s", "q1_s", "q3_s",
                         "share", "flops", "bytes", "intensity", "achieved_flops_per_s", "bound", "roofline"])
        for p in profiles:
            for b in p.batches:
                for i, layer in enumerate(b.layers):
                    writer.writerow([p.name, p.settings.device_name, p.settings.dtype, b.batch, i, layer.name,
                                     layer.kind, layer.median_s, layer.q1_s, layer.q3_s, layer.share, layer.flops,
                                     layer.bytes, layer.intensity, layer.achieved, layer.bound, layer.roofline])
        return out.getvalue()
    if fmt == "markdown":
        parts = []
        for p in profiles:
            parts.append(f"### {p.name}\n\n```\n{header(p)}```\n")
            for b in p.batches:
                parts.append(f"```\n{batch_lines(b)}```\n\n| # | name | kind | time ms | share | achieved | FLOP/B "
                             f"| bound | roofline |\n|---:|---|---|---:|---:|---:|---:|---|---:|")
                for i, layer in enumerate(b.layers):
                    parts.append(f"| {i} | {layer.name} | {layer.kind} | {_ms(layer.median_s)} | "
                                 f"{100 * layer.share:.1f}% | {_rate(layer.achieved, 'FLOP/s')} | "
                                 f"{layer.intensity:.1f} | {layer.bound} | {100 * layer.roofline:.1f}% |")
                parts.append("")
        return "\n".join(parts) + "\n"
    stream = stream or sys.stdout
    width, color = terminal_width(stream), wants_color(stream)
    parts = []
    for p in profiles:
        text = header(p)
        for b in p.batches:
            text += "\n" + batch_lines(b) + render_table(table(b), width=width, color=color, stream=stream)
        parts.append(text)
    return "\n".join(parts)


def plot(profiles: list[Any], path: str) -> None:
    """Roofline (log-log: the two roofs, a point per layer sized by its time share, the slowest
    layers labelled) and per-layer time bars, for the first spec's first batch size."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    p = profiles[0]
    b = p.batches[0]
    fig, (roof, bars) = plt.subplots(2, 1, figsize=(11, 10), gridspec_kw={"height_ratios": [3, 2]})
    layers = [layer for layer in b.layers if layer.flops > 0 and layer.median_s > 0]
    lo = min([layer.intensity for layer in layers] + [p.peaks.ridge / 100])
    hi = max([layer.intensity for layer in layers] + [p.peaks.ridge * 100])
    xs = [lo / 2, p.peaks.ridge, hi * 2]
    roof.plot(xs, [min(p.peaks.flops, x * p.peaks.bandwidth) for x in xs], color="black",
              label=f"roofline ({p.peaks.source})")
    if p.datasheet is not None:
        roof.plot(xs, [min(p.datasheet.flops, x * p.datasheet.bandwidth) for x in xs], color="gray",
                  linestyle="--", label=f"roofline ({p.datasheet.source})")
    colors = ["tab:orange" if layer.bound == "memory" else "tab:blue" for layer in layers]
    roof.scatter([layer.intensity for layer in layers], [layer.achieved for layer in layers],
                 s=[20 + 2000 * layer.share for layer in layers], c=colors, alpha=0.6, edgecolors="none")
    for layer in sorted(layers, key=lambda layer: -layer.median_s)[:8]:
        roof.annotate(layer.name, (layer.intensity, layer.achieved), fontsize=7, xytext=(4, 4),
                      textcoords="offset points")
    roof.set_xscale("log")
    roof.set_yscale("log")
    roof.set_xlabel("arithmetic intensity (FLOP / byte)")
    roof.set_ylabel("achieved FLOP/s")
    roof.set_title(f"{p.name}: {p.settings.device_name}, {p.settings.dtype}, batch {b.batch} "
                   "(blue compute-bound, orange memory-bound; area = share of time)")
    roof.legend(loc="lower right", fontsize=8)
    bars.bar(range(len(b.layers)), [layer.median_s * 1e3 for layer in b.layers],
             color=["tab:orange" if layer.bound == "memory" else "tab:blue" for layer in b.layers])
    bars.set_xlabel("layer (spec order)")
    bars.set_ylabel("median time (ms)")
    bars.set_title("per-layer time")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
