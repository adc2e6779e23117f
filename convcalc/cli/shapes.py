"""`convcalc shapes`: the per-layer shape and cost report."""

from __future__ import annotations

import click

from ..analysis import analyze
from ..reporters import render
from .options import batch_option, format_option, load_specs


@click.command()
@click.argument("specs", nargs=-1, metavar="SPEC...")
@click.option("-e", "--expr", "expressions", multiple=True, metavar="TEXT",
              help='A one-line spec, e.g. "3x224x224 | conv 64 k7 s2 p3 | bn | relu | maxpool k3 s2 p1".')
@format_option()
@batch_option
@click.option("--exact", is_flag=True, help="Exact counts (1,234,567) in the table and markdown instead of rounded ones.")
def shapes(specs: tuple[str, ...], expressions: tuple[str, ...], fmt: str, batch: int | None, exact: bool) -> None:
    """Output shape, params, MACs, FLOPs, receptive field and warnings of every layer.

    SPEC is a YAML spec file (`-` reads standard input). Shapes include the batch, channels
    first, as PyTorch reports them. Table and markdown numbers are rounded for reading (12.3 M);
    json and csv keep them exact, and so does --exact. CSV ends each spec with a totals row."""
    reports = [analyze(spec, batch) for spec in load_specs(specs, expressions)]
    click.echo(render(reports, fmt, exact=exact), nl=False, color=True)  # the reporter already decided on colour
