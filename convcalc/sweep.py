"""Sweeps: one spec analyzed at many points (inputs, batches, argument values), and how its costs grow.

A sweep is many analyses, nothing more: every point is the spec built with that point's `--input`
and `--set` (spec.Overrides, the same change `convcalc shapes --input ... --set ...` makes) and
analyzed at that point's batch, so a point's numbers are by construction those of `shapes` at that
point. The spec is read and parsed once and built once per distinct (input, arguments).

Along each numeric axis (the input's size, an argument such as `width`) the growth of each total
is fitted as a power law: the least-squares slope of log(total) against log(size), for every line
of the sweep (the other axes held fixed). The size of an input is the geometric mean of its
spatial extents (224 for 3x224x224), so a fully convolutional 2-D network's MACs grow as size^2.
A fit whose points stray from the line by more than `POWER_LAW` is reported as not a power law,
with the part that does not grow at all (layers whose count is the same at every point of the
line, such as a classifier after global pooling) taken out and the rest fitted again: that is
usually what bends it.
"""

from __future__ import annotations

import itertools
import math
import re
from typing import Any, NamedTuple, Sequence

from . import limits
from .analysis import analyze
from .errors import UsageError
from .report import Report, Totals
from .spec import Document, Overrides, arg_value

POWER_LAW = 0.01  # a fit is a power law when every point is within 1% of it
METRICS = ("params", "macs", "flops", "peak_activation_bytes")


class Axis(NamedTuple):
    """One dimension of a sweep: `input` (shapes per sample), `batch` (sizes) or an argument's name."""

    name: str
    values: tuple[Any, ...]


class Point(NamedTuple):
    input: tuple[int, ...]  # per sample
    batch: int
    args: dict[str, Any]  # every argument of the spec at this point (the swept ones included)
    report: Report

    @property
    def total(self) -> Totals:
        return self.report.total


class PowerFit(NamedTuple):
    """How one total grows along one axis, on one line of the sweep."""

    axis: str  # "input" or an argument's name
    metric: str  # one of METRICS
    at: dict[str, Any]  # the other swept axes' values on this line
    sizes: tuple[float, ...]  # the axis' sizes (an input's geometric mean of its spatial extents)
    exponent: float | None  # None: the total is 0 somewhere (no power law to fit)
    deviation: float  # the largest |point / fit - 1|
    constant: int  # the part of the total that is the same at every point (layers that do not grow)
    exponent_rest: float | None  # the exponent of the rest, when a constant part was taken out
    deviation_rest: float

    @property
    def power_law(self) -> bool:
        return self.exponent is not None and self.deviation <= POWER_LAW and len(self.sizes) >= 3

    def to_dict(self) -> dict[str, Any]:
        return {"axis": self.axis, "metric": self.metric, "at": dict(self.at), "sizes": list(self.sizes),
                "exponent": self.exponent, "deviation": self.deviation, "power_law": self.power_law,
                "constant": self.constant, "exponent_without_constant": self.exponent_rest,
                "deviation_without_constant": self.deviation_rest}


class Sweep(NamedTuple):
    name: str
    source: str
    axes: tuple[Axis, ...]
    points: tuple[Point, ...]
    fits: tuple[PowerFit, ...]

    def to_dict(self) -> dict[str, Any]:
        """`convcalc sweep --format json`."""
        from .reporters.sweeps import to_dict

        return to_dict(self)

    def _repr_html_(self) -> str:
        from .reporters.notebook import text_html

        return text_html(self)


# -- the axes, as the command line writes them -------------------------------------------------

_RANGE = r"(-?[0-9.eE+-]+)\.\.(-?[0-9.eE+-]+?)(?::([0-9.eE+-]+))?\Z"


def numbers(text: str, option: str) -> list[Any]:
    """`1,8,64`, or a range `START..STOP[:STEP]` (STOP included, STEP 1 by default), of integers or
    decimals (a decimal range is rounded to 12 places, so 0.5..1:0.1 ends at 1.0, not 0.9999)."""
    out: list[Any] = []
    for part in text.split(","):
        match = re.match(_RANGE, part.strip())
        if not match:
            out.append(arg_value(part.strip()))
            continue
        start, stop = arg_value(match.group(1)), arg_value(match.group(2))
        step = arg_value(match.group(3)) if match.group(3) else 1
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (start, stop, step)) or step <= 0:
            raise UsageError(f"{option}: '{part}' is not a range START..STOP[:STEP] of numbers with a positive step")
        if not all(math.isfinite(v) for v in (start, stop, step)):
            raise UsageError(f"{option}: the range '{part}' needs finite numbers")
        if stop < start:
            raise UsageError(f"{option}: the range '{part}' is empty (STOP below START)")
        # How many steps fit, without ever making a count too large to hold: a tiny step (1e-320, a
        # denormal) makes the quotient infinite, and a huge one no float can turn into an integer.
        steps = (stop - start) / step
        if not steps < limits.MAX_SWEEP_POINTS:
            many = f"{math.floor(steps + 1e-9) + 1:,}" if steps < 1e18 else "more than 10^18"
            raise UsageError(f"{option}: the range '{part}' has {many} values, over the limit of "
                             f"{limits.MAX_SWEEP_POINTS:,} points")
        count = math.floor(steps + 1e-9) + 1
        if len(out) + count > limits.MAX_SWEEP_POINTS:
            raise UsageError(f"{option}: '{text if len(text) <= 40 else text[:37] + '...'}' has "
                             f"{len(out) + count:,} values, over the limit of {limits.MAX_SWEEP_POINTS:,} points")
        whole = all(type(v) is int for v in (start, stop, step))
        out.extend(start + i * step if whole else round(start + i * step, 12) for i in range(count))
    if len(out) > limits.MAX_SWEEP_POINTS:
        raise UsageError(f"{option}: {len(out):,} values, over the limit of {limits.MAX_SWEEP_POINTS:,} points")
    return out


def input_axis(text: str) -> Axis:
    """`--input 3x128x128,3x224x224`; a dimension may be a range (`3x128..512:32x128..512:32`):
    the ranged dimensions of one shape move together."""
    from .values import parse_shape

    shapes: list[tuple[int, ...]] = []
    for item in text.split(","):
        dims = item.strip().split("x")
        if not any(".." in d for d in dims):
            shapes.append(parse_shape(item))
            continue
        columns = [numbers(d, "--input") if ".." in d else None for d in dims]
        lengths = {len(c) for c in columns if c is not None}
        if len(lengths) != 1:
            raise UsageError(f"--input {item}: the ranged dimensions have different numbers of values "
                             f"({', '.join(map(str, sorted(lengths)))}); they move together")
        for i in range(lengths.pop()):
            shapes.append(parse_shape("x".join(str(c[i]) if c is not None else d for c, d in zip(columns, dims))))
    return Axis("input", tuple(shapes))


def batch_axis(text: str) -> Axis:
    from .values import parse_batch

    return Axis("batch", tuple(parse_batch(str(v)) for v in numbers(text, "--batch")))


def set_axis(text: str) -> Axis:
    """`--set width=0.5,0.75,1.0` (or `width=0.5..1:0.25`): an argument and its values."""
    from .values import parse_set

    name, _ = parse_set(text)
    values = numbers(text.partition("=")[2], f"--set {name}")
    return Axis(name, tuple(values))


# -- running ---------------------------------------------------------------------------------------


def size(shape: tuple[int, ...]) -> float:
    """An input's size for a growth exponent: the geometric mean of its spatial extents (the
    channels do not count; a flat input's size is its length)."""
    spatial = shape[1:] or shape
    return math.prod(spatial) ** (1 / len(spatial))


def run(document: Document, axes: Sequence[Axis], fixed: Overrides = Overrides()) -> Sweep:
    """Every point of the product of `axes`, in order (the last axis varies fastest), with the
    `fixed` --input and --set applied where no axis sets them."""
    names = [axis.name for axis in axes]
    if len(set(names)) != len(names):
        twice = next(n for n in names if names.count(n) > 1)
        raise UsageError(f"the axis {'--' + twice if twice in ('input', 'batch') else '--set ' + twice} is given twice")
    total = math.prod(len(axis.values) for axis in axes)
    if total > limits.MAX_SWEEP_POINTS:
        raise UsageError(f"the sweep has {total:,} points, over the limit of {limits.MAX_SWEEP_POINTS:,}")
    swept = {axis.name for axis in axes if axis.name not in ("input", "batch")}
    base_sets = tuple((k, v) for k, v in fixed.sets if k not in swept)
    built: dict[Any, Any] = {}
    points = []
    for values in itertools.product(*(axis.values for axis in axes)):
        at = dict(zip(names, values))
        shape = at.get("input", fixed.input)
        sets = base_sets + tuple((k, v) for k, v in at.items() if k not in ("input", "batch"))
        key = (shape, sets)
        if key not in built:
            built[key] = document.build(Overrides(shape, sets))
        spec = built[key]
        report = analyze(spec, at.get("batch"))
        points.append(Point(spec.input, report.batch, spec.args, report))
    first = points[0].report
    return Sweep(first.name, first.source, tuple(axes), tuple(points), fits(axes, points))


def fits(axes: Sequence[Axis], points: Sequence[Point]) -> tuple[PowerFit, ...]:
    """The growth of each total along each numeric axis other than the batch, per line."""
    out = []
    names = [axis.name for axis in axes]
    for axis in axes:
        if axis.name == "batch" or len(set(axis.values)) < 2:
            continue
        if axis.name != "input" and not all(type(v) in (int, float) and v > 0 for v in axis.values):
            continue  # words (an activation's name) and non-positive values have no growth exponent
        others = [n for n in names if n != axis.name]
        lines: dict[tuple, list[tuple[Any, Point]]] = {}
        for values, point in zip(itertools.product(*(a.values for a in axes)), points):
            at = dict(zip(names, values))
            lines.setdefault(tuple(_hashable(at[n]) for n in others), []).append((at[axis.name], point))
        for key, line in lines.items():
            at = {n: _plain(v) for n, v in zip(others, key)}
            sizes = tuple(size(v) if axis.name == "input" else float(v) for v, _ in line)
            for metric in METRICS:
                out.append(_fit(axis.name, metric, at, sizes, [p for _, p in line]))
    return tuple(out)


def _fit(axis: str, metric: str, at: dict[str, Any], sizes: tuple[float, ...], line: list[Point]) -> PowerFit:
    totals = [getattr(p.total, metric) for p in line]
    exponent, deviation = _power_law(sizes, totals)
    constant, exponent_rest, deviation_rest = 0, None, 0.0
    if metric in ("macs", "flops", "params"):
        constant = _constant_part(line, metric)
        if constant:
            exponent_rest, deviation_rest = _power_law(sizes, [t - constant for t in totals])
    return PowerFit(axis, metric, at, sizes, exponent, deviation, constant, exponent_rest, deviation_rest)


def _power_law(sizes: Sequence[float], totals: Sequence[int]) -> tuple[float | None, float]:
    """Least-squares slope of log(total) on log(size), and the largest relative miss."""
    if any(t <= 0 for t in totals) or len(set(sizes)) < 2:
        return None, 0.0
    xs = [math.log(s) for s in sizes]
    ys = [math.log(t) for t in totals]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)
    deviation = max(abs(math.exp(y - (my + slope * (x - mx))) - 1) for x, y in zip(xs, ys))
    return slope, deviation


def _constant_part(line: list[Point], metric: str) -> int:
    """The sum of `metric` over the layers that have it unchanged at every point of the line
    (matched by name); 0 when the points do not have the same layers."""
    first = line[0].report.layers
    names = [layer.name for layer in first]
    if any([layer.name for layer in p.report.layers] != names for p in line[1:]):
        return 0
    return sum(getattr(layer, metric) for i, layer in enumerate(first)
               if getattr(layer, metric) and all(getattr(p.report.layers[i], metric) == getattr(layer, metric)
                                                 for p in line[1:]))


def _hashable(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


from .api import callable_module  # noqa: E402  (convcalc.sweep(...) is api.sweep: this module is callable)

callable_module(__name__)
