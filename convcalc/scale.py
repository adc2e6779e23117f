"""Compound scaling (EfficientNet, Tan and Le 2019) applied to a parametric spec, and measured.

The course notes' rule: depth d = alpha^phi, width w = beta^phi, resolution r = gamma^phi, with
alpha * beta^2 * gamma^2 ~ 2, so that FLOPs grow about 2^phi (a conv's MACs grow as depth x
width^2 x resolution^2). `scale` builds the spec at each phi with its depth and width arguments
set to alpha^phi and beta^phi and its input's spatial extents multiplied by gamma^phi (rounded to
whole pixels), analyzes it, and sets the measured MACs growth beside the 2^phi the constraint
promises and the (alpha beta^2 gamma^2)^phi these constants promise. Why they differ is measured
too, not asserted: the depth and width the spec really used (it rounds depths up and channels to
multiples of 8), the share of MACs in depthwise convolutions (which grow as width, not width^2) and
after global pooling (which do not grow with resolution).

`search` is the paper's step one: a grid over alpha, beta, gamma >= 1 with alpha * beta^2 *
gamma^2 within a tolerance of 2, each measured at phi = 1 and ranked by how close its MACs growth
is to 2. The paper chose among such candidates by ImageNet accuracy; accuracy is not convcalc's to
know, so the ranking is by cost alone.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple, Sequence

from . import limits
from .analysis import analyze
from .errors import UsageError
from .layers import REGISTRY
from .report import Report
from .spec import Document, Overrides

# The EfficientNet paper's B1-B7, (width, depth, resolution): hand-picked, not the formula's values.
PAPER = {0: (1.0, 1.0, 224), 1: (1.0, 1.1, 240), 2: (1.1, 1.2, 260), 3: (1.2, 1.4, 300), 4: (1.4, 1.8, 380),
         5: (1.6, 2.2, 456), 6: (1.8, 2.6, 528), 7: (2.0, 3.1, 600)}
ALPHA, BETA, GAMMA = 1.2, 1.1, 1.15  # the paper's constants (depth, width, resolution)


class Measured(NamedTuple):
    """What a built network really has, for the depth and width it used."""

    layers: int  # layers with MACs (convolutions and linear layers): its depth
    channels: int  # their output channels, summed: with `layers`, its mean width
    depthwise_macs: int  # MACs of depthwise convolutions (one group per channel)
    pointwise_macs: int  # MACs of layers on 1x1 or flat maps (squeeze-excite, classifier): not growing with resolution


class Row(NamedTuple):
    phi: int
    depth: float  # alpha^phi, as set
    width: float  # beta^phi, as set
    input: tuple[int, ...]  # per sample: the spatial extents times gamma^phi, rounded
    report: Report
    measured: Measured
    depth_used: float  # layers with MACs, relative to phi = 0
    width_used: float  # mean output channels of those layers, relative to phi = 0
    resolution_used: float  # the input's size relative to phi = 0, after rounding
    ratio: float  # MACs relative to phi = 0
    promised: float  # 2^phi
    formula: float  # (alpha beta^2 gamma^2)^phi

    @property
    def expected(self) -> float:
        """depth x width^2 x resolution^2 as used: what the rule gives after the spec's rounding."""
        return self.depth_used * self.width_used ** 2 * self.resolution_used ** 2


class Candidate(NamedTuple):
    alpha: float
    beta: float
    gamma: float
    ratio: float  # measured MACs at phi = 1 over phi = 0

    @property
    def constraint(self) -> float:
        return self.alpha * self.beta ** 2 * self.gamma ** 2


class Scaling(NamedTuple):
    name: str
    source: str
    depth_arg: str
    width_arg: str
    alpha: float
    beta: float
    gamma: float
    rows: tuple[Row, ...]
    notes: tuple[str, ...]
    search: tuple[Candidate, ...] | None  # ranked, best first
    searched: int  # candidates measured

    @property
    def constraint(self) -> float:
        return self.alpha * self.beta ** 2 * self.gamma ** 2

    def to_dict(self) -> dict[str, Any]:
        """`convcalc scale --format json`."""
        from .reporters.scaling import to_dict

        return to_dict(self)

    def _repr_html_(self) -> str:
        from .reporters.notebook import text_html

        return text_html(self)


def measure(report: Report) -> Measured:
    layers = channels = depthwise = after_pool = 0
    for layer in report.layers:
        if not layer.macs:
            continue
        layers += 1
        channels += layer.output[1]
        if REGISTRY[layer.kind].depthwise(layer.args, layer.output[1:]):
            depthwise += layer.macs
        if math.prod(layer.output[2:]) == 1:
            after_pool += layer.macs
    return Measured(layers, channels, depthwise, after_pool)


def scaled_input(base: tuple[int, ...], gamma: float, phi: int) -> tuple[int, ...]:
    return (base[0], *(max(1, round(s * gamma ** phi)) for s in base[1:]))


def _build(document: Document, fixed: Overrides, depth_arg: str, width_arg: str, depth: float, width: float,
           base: tuple[int, ...], gamma: float, phi: int) -> tuple[tuple[int, ...], Report]:
    sets = tuple((k, v) for k, v in fixed.sets if k not in (depth_arg, width_arg))
    sets += ((depth_arg, _clean(depth)), (width_arg, _clean(width)))
    shape = scaled_input(base, gamma, phi)
    if fixed.input is None and "$" in str(document.doc.get("input")):
        # the spec's input channels follow its arguments (input: "${16 * width}x32x32"): keep them
        shape = (document.build(Overrides(None, sets)).input[0], *shape[1:])
    spec = document.build(Overrides(shape, sets))
    return shape, analyze(spec)


def _clean(value: float) -> float:
    """alpha^phi rounded to 12 places: 1.1^2 is 1.2100000000000002 in floats, which a spec's
    ceil(n * d) would round up past what the user means by 1.21."""
    return round(value, 12)


def base_input(document: Document, fixed: Overrides, depth_arg: str, width_arg: str) -> tuple[int, ...]:
    """The input at phi = 0: --input, or the spec's own; and a check that the spec has the arguments."""
    spec = document.build(Overrides(None, fixed.sets))
    for arg, option in ((depth_arg, "--depth-arg"), (width_arg, "--width-arg")):
        if arg not in spec.args:
            takes = ", ".join(spec.args) or "none"
            raise UsageError(f"{spec.source}: scale sets the spec's '{arg}' argument, which it does not declare "
                             f"(its args: {takes}); name the right one with {option}")
    return fixed.input or spec.input


def check_factors(alpha: float, beta: float, gamma: float, tolerance: float) -> None:
    """The factors and --search's tolerance, checked before anything is built (the CLI and the API)."""
    for name, value in (("--alpha", alpha), ("--beta", beta), ("--gamma", gamma)):
        if not 1.0 <= value <= 4.0:
            raise UsageError(f"{name} must be from 1 to 4, got {value:g}")
    if not 0 < tolerance < 1:
        raise UsageError(f"--tolerance must be between 0 and 1, got {tolerance:g}")


def scale(document: Document, phis: Sequence[int], alpha: float = ALPHA, beta: float = BETA, gamma: float = GAMMA,
          depth_arg: str = "depth", width_arg: str = "width", fixed: Overrides = Overrides(),
          search_step: float | None = None, tolerance: float = 0.05, top: int = 10) -> Scaling:
    if search_step is not None and not 0.01 <= search_step <= 0.5:  # before anything is built
        raise UsageError(f"--step must be from 0.01 to 0.5, got {search_step:g}")
    base = base_input(document, fixed, depth_arg, width_arg)
    if len(base) < 2:
        raise UsageError("scale needs an input with spatial axes: the resolution is one of the three it scales")
    rows = []
    zero: tuple[Report, Measured] | None = None
    for phi in sorted(set(phis) | {0}):
        depth, width = alpha ** phi, beta ** phi
        shape, report = _build(document, fixed, depth_arg, width_arg, depth, width, base, gamma, phi)
        m = measure(report)
        if zero is None:
            zero = (report, m)
        r0, m0 = zero
        rows.append(Row(phi, depth, width, shape, report, m, m.layers / m0.layers,
                        (m.channels / m.layers) / (m0.channels / m0.layers),
                        _size(shape) / _size(r0.input[1:]), report.total.macs / r0.total.macs, 2.0 ** phi,
                        (alpha * beta ** 2 * gamma ** 2) ** phi))
    shown = tuple(r for r in rows if r.phi in set(phis))
    candidates, searched = (None, 0)
    if search_step is not None:
        candidates, searched = search(document, fixed, depth_arg, width_arg, base, zero[0], search_step, tolerance, top)
    first = rows[0].report
    return Scaling(first.name, first.source, depth_arg, width_arg, alpha, beta, gamma, shown,
                   notes(rows, alpha, beta, gamma), candidates, searched)


def _size(shape: tuple[int, ...]) -> float:
    spatial = shape[1:]
    return math.prod(spatial) ** (1 / len(spatial))


def notes(rows: Sequence[Row], alpha: float, beta: float, gamma: float) -> tuple[str, ...]:
    """Why the measured growth is not 2^phi, each reason measured on these rows."""
    constraint = alpha * beta ** 2 * gamma ** 2
    out = [f"the constraint: alpha * beta^2 * gamma^2 = {alpha:g} * {beta:g}^2 * {gamma:g}^2 = {constraint:.4f} "
           f"(the course notes: ~ 2), so these constants promise {constraint:.3f}^phi, not 2^phi"
           + (f" (at phi = {rows[-1].phi}: {rows[-1].formula:.3g} against {rows[-1].promised:.3g})" if rows[-1].phi else "")]
    last = rows[-1]
    if last.phi:
        out.append(f"depth: the spec rounds it (each stage's layers up, with ceil): at phi = {last.phi} it has "
                   f"{last.depth_used:.3f}x the layers with MACs, where alpha^phi = {last.depth:.3f}")
        out.append(f"width: channels are rounded (to multiples of 8 by make_divisible, in torchvision's specs): at "
                   f"phi = {last.phi} the mean channel count is {last.width_used:.3f}x, where beta^phi = {last.width:.3f}")
        out.append(f"resolution: rounded to whole pixels: {last.resolution_used:.3f}x at phi = {last.phi}, where "
                   f"gamma^phi = {gamma ** last.phi:.3f}")
        out.append(f"depth x width^2 x resolution^2 with the values used gives {last.expected:.3g}x at phi = "
                   f"{last.phi}; the network measures {last.ratio:.3g}x")
    zero = rows[0]
    total = zero.report.total.macs
    if zero.measured.depthwise_macs:
        out.append(f"{zero.measured.depthwise_macs / total:.1%} of the MACs at phi = 0 are depthwise convolutions: "
                   "they grow as width x resolution^2, not width^2 x resolution^2")
    if zero.measured.pointwise_macs:
        out.append(f"{zero.measured.pointwise_macs / total:.1%} of the MACs at phi = 0 are on 1x1 or flat maps "
                   "(after a global pool: squeeze-excite, the classifier): they do not grow with resolution")
    stem = next((layer for layer in zero.report.layers if layer.macs), None)
    if stem is not None and stem.name:
        out.append(f"the first layer ({stem.name}) reads the input's {zero.input[0]} channels, which do not scale: its "
                   f"{stem.macs / total:.1%} of the MACs grow as width, not width^2")
    paper = [f"B{phi} {PAPER[phi][0]:g}/{PAPER[phi][1]:g}/{PAPER[phi][2]}" for phi in range(1, 8)]
    formula = [f"phi={phi} {beta ** phi:.2f}/{alpha ** phi:.2f}/{round(224 * gamma ** phi)}" for phi in range(1, 8)]
    out.append("the paper's B1-B7 are not this formula: their width/depth/resolution were chosen by hand ("
               + ", ".join(paper) + "); the formula from B0 at 224 gives " + ", ".join(formula))
    return tuple(out)


def grid(step: float) -> list[float]:
    count = int(math.floor(1.0 / step + 1e-9)) + 1
    return [round(1.0 + i * step, 12) for i in range(count)]


def search(document: Document, fixed: Overrides, depth_arg: str, width_arg: str, base: tuple[int, ...],
           zero: Report, step: float, tolerance: float, top: int) -> tuple[tuple[Candidate, ...], int]:
    """Every alpha, beta, gamma in [1, 2] on a grid of `step` with alpha beta^2 gamma^2 within
    `tolerance` (relative) of 2, measured at phi = 1, ranked by |MACs growth - 2|."""
    if not 0.01 <= step <= 0.5:  # at 0.01 the grid has 101^3 points to filter, a fraction of a second
        raise UsageError(f"--step must be from 0.01 to 0.5, got {step:g}")
    values = grid(step)
    chosen = [(a, b, g) for a in values for b in values for g in values
              if abs(a * b * b * g * g / 2 - 1) <= tolerance]
    if len(chosen) > limits.MAX_SWEEP_POINTS:
        raise UsageError(f"--search would measure {len(chosen):,} candidates, over the limit of "
                         f"{limits.MAX_SWEEP_POINTS:,}: a larger --step or a smaller --tolerance")
    found = []
    for a, b, g in chosen:
        shape, report = _build(document, fixed, depth_arg, width_arg, a, b, base, g, 1)
        found.append(Candidate(a, b, g, report.total.macs / zero.total.macs))
    found.sort(key=lambda c: (abs(c.ratio - 2), abs(c.constraint - 2), c.alpha, c.beta, c.gamma))
    return tuple(found[:top]), len(found)


def phis(text: str) -> list[int]:
    """`--phi 0..7` or `0,1,3`."""
    from .sweep import numbers

    values = numbers(text, "--phi")
    if not all(type(v) is int and 0 <= v <= 16 for v in values):
        raise UsageError(f"--phi takes whole numbers from 0 to 16 (0..7, or 0,1,3), got '{text}'")
    return values


from .api import callable_module  # noqa: E402  (convcalc.scale(...) is api.scale: this module is callable)

callable_module(__name__)
