"""`convcalc profile`: measured per-layer latency on CPU or CUDA, against the roofline."""

from __future__ import annotations

import sys

import click

from ..printable import clean
from ..reporters.profiling import ProfileFormat
from .options import (
    WholeNumber,
    check_summary,
    load_specs,
    overrides,
    parse_batch,
    spec_options,
    summary_option,
)
from ..extras import require_torch


def batches(text: str) -> tuple[int, ...]:
    """Batch sizes separated by commas (1,8,32), each as every --batch is read (values.parse_batch)."""
    return tuple(parse_batch(part) for part in text.split(","))


@click.command()
@click.argument("specs", nargs=-1, metavar="SPEC...")
@click.option("-e", "--expr", "expressions", multiple=True, metavar="TEXT", help="A one-line spec.")
@click.option("--device", default="cpu", show_default=True, help="cpu, cuda or cuda:N.")
@click.option("--dtype", type=click.Choice(["float32", "float16", "bfloat16"]), default="float32", show_default=True)
@click.option("--batch", "batch_text", default="1", show_default=True, help="Batch sizes, e.g. 1,8,32.")
@click.option("--warmup", type=WholeNumber(0, 100_000), default=10, show_default=True)
@click.option("--iters", type=WholeNumber(2, 100_000), default=50, show_default=True)
@click.option("--threads", type=WholeNumber(), metavar="N",
              help="CPU threads for torch (torch.set_num_threads), 1 to 1024.  [default: torch's own]")
@click.option("--channels-last", is_flag=True, help="Run 2-D/3-D networks in channels-last memory format.")
@click.option("--calibrate", is_flag=True, help="Measure the device's peak FLOP/s and bandwidth again (cached per device).")
@click.option("--format", "fmt", type=click.Choice([f.value for f in ProfileFormat]), default=ProfileFormat.TABLE.value,
              show_default=True)
@click.option("--plot", "plot_path", metavar="FILE", help="Also draw the roofline and per-layer times (.png or .svg).")
@spec_options
@summary_option
def profile(specs, expressions, device, dtype, batch_text, warmup, iters, threads, channels_last, calibrate, fmt,
            plot_path, input_, sets, summary_only):
    """Time every layer on the device and place it on the roofline.

    Whole-network latency (median and interquartile range, no hooks) and throughput per batch
    size; per-layer times from forward hooks (CUDA events on a GPU, one synchronize per
    iteration); each layer's achieved FLOP/s, bytes moved and arithmetic intensity from
    convcalc's own counts, whether it is compute- or memory-bound, and how close it gets to the
    roofline. Peaks are measured (--calibrate) and cached per device. A batch whose predicted
    memory exceeds what the device has is refused before anything runs. See docs/profile.md."""
    from ..reporters.plots import check_plot_path

    if plot_path is not None:
        check_plot_path(plot_path, inputs=specs)  # before the run, which can take minutes
    sizes = batches(batch_text)
    changes = overrides(input_, sets)
    check_summary(summary_only, fmt)
    require_torch("profile")
    from ..profile import profile as run
    from ..reporters.profiling import plot, render

    status = _status()
    try:
        results = [run(spec, device, dtype, sizes, warmup, iters, channels_last, calibrate, progress=status,
                       threads=threads) for spec in load_specs(specs, expressions, changes)]
    finally:
        status(None)
    for result in results:
        for warning in result.warnings:
            click.echo(f"convcalc: warning: {clean(warning)}", err=True)
    click.echo(render(results, fmt, layers=not summary_only), nl=False, color=True)
    if plot_path is not None:
        plot(results, plot_path)
        click.echo(f"convcalc: wrote {clean(plot_path)}", err=True)


def _status():
    """A spinner with the current step on stderr when it is a terminal (rich), else nothing."""
    if not sys.stderr.isatty():
        return lambda message: None
    from rich.console import Console

    console = Console(stderr=True, markup=False, highlight=False)
    holder: dict[str, object] = {}

    def update(message: str | None) -> None:
        if message is None:
            if "status" in holder:
                holder.pop("status").stop()  # type: ignore[attr-defined]
            return
        if "status" not in holder:
            holder["status"] = console.status(message)
            holder["status"].start()  # type: ignore[attr-defined]
        holder["status"].update(message)  # type: ignore[attr-defined]

    return update
