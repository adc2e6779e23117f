"""`convcalc report`: one self-contained HTML page (summary, graph, table, plots; with two specs,
their difference as compare computes it)."""

from __future__ import annotations

import click

from ..errors import UsageError
from .draw import METRICS, check_output, metric_and_times, output_format
from .options import batch_option, load_specs, overrides, spec_options, write_output


@click.command()
@click.argument("specs", nargs=-1, metavar="SPEC [SPEC]")
@click.option("-e", "--expr", "expressions", multiple=True, metavar="TEXT", help="A one-line spec instead of a file.")
@click.option("-o", "--output", "path", metavar="FILE.html", help="Write the page here (default: standard output).")
@click.option("--by", type=click.Choice([m for m in METRICS if m != "time"]),
              help="Colour the graph's nodes by this metric: macs, params, flops, memory, rf.")
@click.option("--expand", is_flag=True, help="Open the graph with every block expanded.")
@batch_option
@spec_options
def report(specs: tuple[str, ...], expressions: tuple[str, ...], path: str | None, by: str | None, expand: bool,
           batch: int | None, input_: str | None, sets: tuple[str, ...]) -> None:
    """Write one HTML page about a network: the summary line, the graph (pan, zoom, hover, search,
    expand and collapse blocks), the per-layer table (sortable, filterable, exact numbers on
    hover) and plots of where MACs and params go by kind and by stage, activation memory along
    the depth and receptive-field growth.

    With two specs (the first is the baseline), the page starts with their difference as
    `convcalc compare A B` computes it, then shows both networks. The page makes no request:
    it opens from file://, offline."""
    from ..analysis import analyze
    from ..compare import compare_specs
    from ..diagram import model
    from ..reporters.html_page import render

    if path is not None:
        check_output(path, specs)
        if not path.lower().endswith((".html", ".htm")):
            raise UsageError("the report is an HTML page: give -o NAME.html", file=path)
        output_format(path, "html", ("html",))  # refuses a YAML file behind a link
    loaded = load_specs(specs, expressions, overrides(input_, sets))
    if len(loaded) > 2:
        raise UsageError(f"report takes one spec, or two to compare, got {len(loaded)}")
    comparison = None
    if len(loaded) == 2:
        comparison = compare_specs(loaded[0], loaded[1], batch, batch)
        reports = [comparison.a, comparison.b]
    else:
        reports = [analyze(loaded[0], batch)]
    models = []
    for r in reports:
        metric, times = metric_and_times(by, None, r)
        models.append(model(r, expand, None, metric, times))  # type: ignore[arg-type]
    write_output(path, render(models, comparison), "the report")
