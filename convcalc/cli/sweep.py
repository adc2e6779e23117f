"""`convcalc sweep`: one spec at many inputs, batches and argument values, and how its costs grow."""

from __future__ import annotations

import click

from ..errors import UsageError
from ..printable import clean
from ..reporters.sweeps import SweepFormat
from .options import allow_unknown_option, overrides


@click.command()
@click.argument("spec", metavar="SPEC")
@click.option("--input", "inputs", metavar="SHAPES",
              help="Input shapes per sample: 3x128x128,3x224x224; a dimension may be a range START..STOP[:STEP] "
                   "(3x128..512:32x128..512:32: the ranged dimensions move together).")
@click.option("--batch", "batches", metavar="SIZES", help="Batch sizes: 1,8,64 or 1..64:8.")
@click.option("--set", "sets", multiple=True, metavar="NAME=VALUES",
              help="An argument the spec declares, at one value or several: --set width=0.5,0.75,1.0 "
                   "(or 0.5..1:0.25). Repeatable; several values make an axis.")
@click.option("--format", "fmt", type=click.Choice([f.value for f in SweepFormat]), default="table",
              show_default=True)
@click.option("--exact", is_flag=True, help="Exact counts in the table and markdown instead of rounded ones.")
@click.option("--plot", "plot_path", metavar="FILE.png|FILE.svg",
              help="Also draw params, MACs, FLOPs and peak activations against the swept size, log-log.")
@allow_unknown_option
def sweep(spec: str, inputs: str | None, batches: str | None, sets: tuple[str, ...], fmt: str, exact: bool,
          plot_path: str | None) -> None:
    """Analyze SPEC at every point of the product of the axes given (--input, --batch, --set with
    several values) and fit how params, MACs, FLOPs and peak activation memory grow with the
    input's size and with each numeric argument (a power law on log-log axes; where the points do
    not lie on one, it says so and fits again without the part that does not grow).

    A point's numbers are those of `convcalc shapes SPEC --input ... --set ... --batch ...` at that
    point. docs/sweep.md has the details."""
    from ..reporters.sweeps import plot, render
    from ..sources import read_argument
    from ..sweep import batch_axis, input_axis, run, set_axis

    if plot_path is not None:
        from ..reporters.plots import check_plot_path

        check_plot_path(plot_path, inputs=(spec,))
    axes = []
    if inputs is not None:
        axes.append(input_axis(inputs))
    if batches is not None:
        axes.append(batch_axis(batches))
    fixed = []
    for text in sets:
        axis = set_axis(text)
        if len(axis.values) > 1:
            axes.append(axis)
        else:
            fixed.append(text)
    if not axes:
        raise UsageError("give an axis to sweep: --input 3x128x128,3x224x224, --batch 1,8,64 or --set width=0.5,1.0")
    result = run(read_argument(spec), axes, overrides(None, tuple(fixed)))
    click.echo(render(result, fmt, exact=exact), nl=False, color=True)
    if plot_path is not None:
        plot(result, plot_path)
        click.echo(f"convcalc: wrote {clean(plot_path)}", err=True)
