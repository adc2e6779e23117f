"""`convcalc explain`: every number of the layers asked, with its derivation; `--draw` pictures one."""

from __future__ import annotations

import click

from ..analysis import analyze
from ..errors import UsageError
from ..printable import clean
from ..reporters.explanation import ExplainFormat
from .options import batch_option, load_specs, overrides, spec_options

FORMATS = tuple(f.value for f in ExplainFormat)


@click.command()
@click.argument("arguments", nargs=-1, metavar="SPEC [LAYER...]")
@click.option("-e", "--expr", "expression", metavar="TEXT",
              help='A one-line spec instead of SPEC, e.g. "3x7x7 | conv 1 k3 s2"; then every argument is a LAYER.')
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True,
              help="table for people, markdown (with LaTeX formulas) for pull requests and notebooks, json for tools.")
@batch_option
@click.option("--draw", "draw", metavar="FILE.svg|FILE.png", default=None,
              help="Draw one layer (the first LAYER named, else the first with a window): input grid with padding, "
                   "the kernel's footprint and stride steps, dilation holes, output grid; .png needs matplotlib.")
@click.option("--animate", "animate", metavar="FILE.gif", default=None,
              help="The same layer's sliding window as an animated GIF: one frame per output position drawn "
                   "(row by row, at most 64), the footprint and the output cell it produces; needs matplotlib.")
@spec_options
def explain(arguments: tuple[str, ...], expression: str | None, fmt: str, batch: int | None, draw: str | None,
            animate: str | None, input_: str | None, sets: tuple[str, ...]) -> None:
    """Every number `convcalc shapes` reports for a layer, with its derivation: the formula, the
    formula with the values substituted, and the value, in the course notes' notation (input
    C x H x W, kernel k, padding p, stride s, dilation d, groups g, filters K).

    SPEC is a spec file, a one-line spec or a library name, as for `convcalc shapes`; LAYER is a
    layer's name or index (all layers when none is named). Output size (and the exact quotient
    where a stride does not fit), padding words resolved, transposed convolution as the
    convolution over its zero-stuffed input, parameters and the dense layer they replace, MACs
    and FLOPs, receptive field, memory and warnings (docs/explain.md)."""
    from .. import explain as explaining
    from ..reporters.explanation import render

    if expression is not None:
        specs, names = load_specs((), (expression,), overrides(input_, sets)), arguments
    elif not arguments:
        raise UsageError('give a spec and optionally layer names, or a one-line spec with -e "3x7x7 | conv 1 k3 s2"')
    else:
        specs, names = load_specs(arguments[:1], (), overrides(input_, sets)), arguments[1:]
    if draw is not None:
        from ..reporters.layer_drawing import check_draw_path

        check_draw_path(draw, arguments[:1] if expression is None else ())
    if animate is not None:
        from ..reporters.layer_drawing import check_animate_path

        check_animate_path(animate, arguments[:1] if expression is None else ())
    spec = specs[0]
    report = analyze(spec, batch)
    result = explaining.explain(spec, report, names)
    for path, verb in ((draw, "drew"), (animate, "animated")):
        if path is None:
            continue
        from ..reporters.layer_drawing import draw_layer

        layer = explaining.drawable(result, names)
        draw_layer(layer, path)
        click.echo(clean(f"convcalc: {verb} layer '{layer.name}' ({layer.layer}) to {path}"), err=True)
    click.echo(render(result, fmt), nl=False, color=True)
