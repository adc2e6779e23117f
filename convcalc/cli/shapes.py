"""`convcalc shapes`: the per-layer shape and cost report, and the list of the spec library."""

from __future__ import annotations

import click

from ..analysis import analyze
from ..errors import UsageError
from ..reporters import render
from .options import batch_option, check_summary, format_option, load_specs, overrides, spec_options, summary_option


@click.command()
@click.argument("specs", nargs=-1, metavar="SPEC...")
@click.option("-e", "--expr", "expressions", multiple=True, metavar="TEXT",
              help='A one-line spec, e.g. "3x224x224 | conv 64 k7 s2 p3 | bn | relu | maxpool k3 s2 p1".')
@click.option("--list", "list_library", is_flag=True,
              help="List the spec library (the names a SPEC may be) with each network's input, params and MACs.")
@format_option()
@batch_option
@spec_options
@click.option("--exact", is_flag=True, help="Exact counts (1,234,567) in the table and markdown instead of rounded ones.")
@summary_option
def shapes(specs: tuple[str, ...], expressions: tuple[str, ...], list_library: bool, fmt: str,
           batch: int | None, input_: str | None, sets: tuple[str, ...], exact: bool, summary_only: bool) -> None:
    """Output shape, params, MACs, FLOPs, receptive field and warnings of every layer.

    SPEC is a YAML spec file (`-` reads standard input, YAML or a one-line spec), a one-line spec,
    or the name of a spec in the library that comes with convcalc (`convcalc shapes resnet50`;
    --list shows them) when no such file exists. Shapes include the batch, channels first, as
    PyTorch reports them. Table and markdown numbers are rounded for reading (12.3 M); json and
    csv keep them exact, and so does --exact. CSV ends each spec with a totals row."""
    if list_library:
        if specs or expressions or batch is not None or input_ is not None or sets or summary_only:
            raise UsageError("--list takes no SPEC, -e, --batch or --summary: it lists the library's specs as they are")
        from .. import library
        from ..reporters.library import render as render_library

        click.echo(render_library(library.entries(), fmt), nl=False, color=True)
        return
    check_summary(summary_only, fmt)
    changes = overrides(input_, sets)
    reports = [analyze(spec, batch) for spec in load_specs(specs, expressions, changes)]
    click.echo(render(reports, fmt, exact=exact, layers=not summary_only), nl=False, color=True)  # the reporter already decided on colour
