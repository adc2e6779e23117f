"""`convcalc scale`: EfficientNet's compound scaling applied to a parametric spec, and measured."""

from __future__ import annotations

import click

from ..reporters.scaling import ScaleFormat
from .options import overrides, spec_options


@click.command()
@click.argument("spec", metavar="SPEC")
@click.option("--phi", "phi_text", default="0..7", show_default=True, metavar="PHIS",
              help="The compound coefficients: 0..7 or 0,1,3.")
@click.option("--alpha", type=float, default=1.2, show_default=True, help="Depth grows as alpha^phi.")
@click.option("--beta", type=float, default=1.1, show_default=True, help="Width grows as beta^phi.")
@click.option("--gamma", type=float, default=1.15, show_default=True, help="Resolution grows as gamma^phi.")
@click.option("--depth-arg", default="depth", show_default=True, help="The spec's argument that is the depth multiplier.")
@click.option("--width-arg", default="width", show_default=True, help="The spec's argument that is the width multiplier.")
@click.option("--search", is_flag=True, help="Also rank a grid of alpha, beta, gamma with alpha*beta^2*gamma^2 near 2 "
              "by how close their measured MACs growth at phi = 1 is to 2.")
@click.option("--step", type=float, default=0.05, show_default=True, help="--search's grid step over [1, 2].")
@click.option("--tolerance", type=float, default=0.05, show_default=True,
              help="--search keeps alpha*beta^2*gamma^2 within this fraction of 2.")
@click.option("--top", type=click.IntRange(1, 1000), default=10, show_default=True, help="--search shows this many.")
@click.option("--format", "fmt", type=click.Choice([f.value for f in ScaleFormat]), default="table", show_default=True)
@click.option("--exact", is_flag=True, help="Exact counts in the table.")
@spec_options
def scale(spec: str, phi_text: str, alpha: float, beta: float, gamma: float, depth_arg: str, width_arg: str,
          search: bool, step: float, tolerance: float, top: int, fmt: str, exact: bool, input_: str | None,
          sets: tuple[str, ...]) -> None:
    """Compound scaling (EfficientNet): at each phi, set the spec's depth argument to alpha^phi and
    its width argument to beta^phi, multiply its input's spatial extents by gamma^phi, and measure.

    The course notes' constraint alpha * beta^2 * gamma^2 ~ 2 promises MACs growing as 2^phi; the
    table sets the measured growth beside it and the lines under it say, measured on the spec, why
    they differ. --input gives the resolution at phi = 0 (default: the spec's). docs/sweep.md."""
    from ..reporters.scaling import render
    from ..scale import check_factors, phis, scale as run
    from ..sources import read_argument

    check_factors(alpha, beta, gamma, tolerance)
    result = run(read_argument(spec), phis(phi_text), alpha, beta, gamma, depth_arg, width_arg,
                 overrides(input_, sets), step if search else None, tolerance, top)
    click.echo(render(result, fmt, exact=exact), nl=False, color=True)
