"""`convcalc draw`: the network as a graph, in SVG, self-contained HTML, Graphviz DOT or Mermaid."""

from __future__ import annotations

import click

from ..diagram import METRICS, metric_and_times  # noqa: F401 (cli/report.py takes them from here)
from ..errors import UsageError
from ..reporters.drawing import FORMAT_NAMES, DrawFormat, output_format  # noqa: F401
from .options import WholeNumber, batch_option, load_specs, overrides, spec_options, write_output

MERMAID_MAX = 50_000  # Mermaid's default maxTextSize, which GitHub keeps


def check_output(path: str, inputs: tuple[str, ...] = ()) -> None:
    """Fail before any work when -o cannot be written (fileio.check_output: the one rule for
    every output, which also refuses one of the `inputs`)."""
    from ..fileio import check_output as check

    check(path, "-o", inputs)


@click.command()
@click.argument("specs", nargs=-1, metavar="SPEC")
@click.option("-e", "--expr", "expressions", multiple=True, metavar="TEXT", help="A one-line spec instead of a file.")
@click.option("-o", "--output", "path", metavar="FILE", help="Write here: .svg, .html, .dot or .mmd picks the format.")
@click.option("--format", "fmt", type=click.Choice(FORMAT_NAMES), help="The format, when -o's suffix does not say "
              "it, or to write to standard output.")
@click.option("--expand", is_flag=True, help="One node per layer: no block is collapsed (the HTML page expands "
              "and collapses blocks itself).")
@click.option("--depth", type=WholeNumber(0), metavar="N", help="Collapse every block N dots deep into one node "
              "(0: the top-level blocks) as well as the repeats.")
@click.option("--by", type=click.Choice(METRICS), help="Colour nodes by this metric (log scale): macs, params, "
              "flops, memory (output bytes), rf (receptive field), time (needs --profile).")
@click.option("--profile", "profile_path", metavar="PROFILE.json", help="Per-layer times from `convcalc profile "
              "SPEC --format json`, for --by time.")
@batch_option
@spec_options
def draw(specs: tuple[str, ...], expressions: tuple[str, ...], path: str | None, fmt: str | None, expand: bool,
         depth: int | None, by: str | None, profile_path: str | None, batch: int | None, input_: str | None,
         sets: tuple[str, ...]) -> None:
    """Draw the network: one node per layer (kind, name, params, MACs), the tensors' shapes on
    the edges, merges visible, repeated blocks collapsed into one node marked x N.

    SVG is static (laid out by grandalf: pip install 'convcalc[draw]'); HTML is one
    self-contained page (pan, zoom, hover for every number, search, expand and collapse blocks)
    that makes no request; DOT is for Graphviz (dot -Tpng); Mermaid renders on GitHub in a
    ```mermaid block. docs/draw.md has the details."""
    from ..analysis import analyze
    from ..diagram import build, model
    from ..reporters.drawing import render

    if expand and depth is not None:
        raise UsageError("--expand draws every layer; --depth collapses blocks: give one of them")
    chosen = output_format(path, fmt)
    if path is not None:
        check_output(path, (*specs, *((profile_path,) if profile_path else ())))
    loaded = load_specs(specs, expressions, overrides(input_, sets))
    if len(loaded) != 1:
        raise UsageError(f"draw takes one spec, got {len(loaded)}")
    report = analyze(loaded[0], batch)
    metric, times = metric_and_times(by, profile_path, report)
    if chosen == "html":
        text = render(model(report, expand, depth, metric, times), chosen)  # type: ignore[arg-type]
    else:
        text = render(build(report, expand, depth, metric, times), chosen)  # type: ignore[arg-type]
    write_output(path, text, "the drawing")
    if chosen == "mermaid" and len(text) > MERMAID_MAX:
        click.echo(f"convcalc: note: Mermaid refuses diagrams over {MERMAID_MAX:,} characters unless told "
                   f"otherwise (maxTextSize); this one has {len(text):,}: --depth 0 draws a shorter one", err=True)
