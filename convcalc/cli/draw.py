"""`convcalc draw`: the network as a graph, in SVG, self-contained HTML, Graphviz DOT or Mermaid."""

from __future__ import annotations

import os

import click

from ..errors import UsageError
from ..printable import clean
from ..reporters.drawing import DrawFormat
from .options import WholeNumber, batch_option, load_specs, overrides, spec_options, write_output

METRICS = ("macs", "params", "flops", "memory", "rf", "time")
FORMAT_NAMES = tuple(f.value for f in DrawFormat)
MERMAID_MAX = 50_000  # Mermaid's default maxTextSize, which GitHub keeps


def output_format(path: str | None, fmt: str | None, choices: tuple[str, ...] = FORMAT_NAMES) -> str:
    """The format from --format, else from the -o file's suffix; a known suffix that disagrees
    with --format, or a YAML file as the output, is refused."""
    from ..reporters.drawing import SUFFIXES

    suffix = os.path.splitext(path)[1].lower() if path else ""
    if path == "":
        raise UsageError("-o needs a file name, got ''")
    if path is not None:
        if suffix in (".yaml", ".yml") or os.path.splitext(os.path.realpath(path))[1].lower() in (".yaml", ".yml"):
            raise UsageError("refusing to write a drawing over a YAML file (is the spec named twice?); "
                             "give -o NAME.html", file=path)
    by_suffix = SUFFIXES[suffix].value if suffix in SUFFIXES else None
    if fmt is not None:
        if by_suffix is not None and by_suffix != fmt:
            raise UsageError(f"-o {clean(path)} names a {by_suffix} file but --format is {fmt}")
        return fmt
    if path is None:
        raise UsageError("give -o FILE (.svg, .html, .dot or .mmd), or --format to write to standard output")
    if by_suffix is None or by_suffix not in choices:
        raise UsageError(f"-o {clean(path)}: cannot tell the format from the name; end it in "
                         f"{', '.join('.' + c if c != 'mermaid' else '.mmd' for c in choices)}, or give --format")
    return by_suffix


def check_output(path: str, inputs: tuple[str, ...] = ()) -> None:
    """Fail before any work when -o cannot be written (fileio.check_output: the one rule for
    every output, which also refuses one of the `inputs`)."""
    from ..fileio import check_output as check

    check(path, "-o", inputs)


def metric_and_times(by: str | None, profile_path: str | None, report: object) -> tuple[object, object]:
    from ..diagram import Metric, read_profile_times

    if profile_path is not None and by is None:
        by = "time"
    if by == "time" and profile_path is None:
        raise UsageError("--by time needs --profile PROFILE.json (from convcalc profile SPEC --format json)")
    if profile_path is not None and by != "time":
        raise UsageError(f"--profile colours by time; it cannot go with --by {by}")
    metric = Metric(by) if by else None
    times = read_profile_times(profile_path, report) if profile_path is not None else None  # type: ignore[arg-type]
    return metric, times


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
