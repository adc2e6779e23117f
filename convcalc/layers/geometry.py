"""Pure arithmetic on shapes that several families share: padding words resolved per axis, window
and pool output sizes, the uncovered-input warning, group checks, the receptive-field transforms
(a window, a transposed window, a collapse to global context, a merge's union) and the `Arg`s the
convolutions and pools declare alike. Ints and tuples in and out; explain runs the same code on
working.Terms (`per_group`, `at_least` and `named` are its hooks)."""

from __future__ import annotations

from fractions import Fraction
from math import gcd, prod
from typing import Any

from ..args import Arg, axes, boolean, integer, padding
from ..errors import LayerError
from .kind import RF, Kind, Note, Shape

AXIS_NAMES = {1: ("L",), 2: ("H", "W"), 3: ("D", "H", "W")}


# --------------------------------------------------------------------------------------------
# Shared helpers: pure arithmetic on shapes


def numel(shape: Shape) -> int:
    return prod(shape)


def spatial(x: Shape, kind: str) -> tuple[int, Shape]:
    """(channels, spatial dims) of a feature map; a flat input is an error."""
    if len(x) < 2:
        got = f"the flat [{x[0]}] (it comes after a flatten or linear)" if x else "a tensor with no axes"
        raise LayerError(f"{kind} needs a feature map [C, ...], got {got}")
    return x[0], x[1:]


def axis_name(i: int, nd: int) -> str:
    return AXIS_NAMES.get(nd, tuple(f"axis{j}" for j in range(nd)))[i]


def dims(shape: Shape) -> str:
    return "x".join(str(v) for v in shape)


def per_group(channels: int, groups: int) -> int:
    """channels // groups, which check_groups has made exact; `convcalc explain`'s working
    (working.Term) writes it C/g."""
    return channels // groups if type(channels) is int else channels.exact_div(groups)


def at_least(value: int, low: int) -> int:
    """max(value, low); explain's working keeps the max."""
    return max(value, low) if type(value) is int else value.at_least(low)


def named(name: str, value: int) -> int:
    """`value`; explain's working shows it under `name`, with its derivation on a line of its own."""
    return value if type(value) is int else value.named(name)


def effective(k: int, d: int) -> int:
    """Span of a dilated kernel: d*(k-1) + 1 input positions."""
    return d * (k - 1) + 1


def resolve_padding(p: Any, n: Shape, k: Shape, s: Shape, d: Shape) -> tuple[tuple[int, int], ...]:
    """Per-axis (left, right) padding. `same` is TensorFlow's rule: output ceil(n/s), total
    padding max((out-1)*s + d*(k-1) + 1 - n, 0), the odd pixel on the right; legal at any
    stride. `full` pads d*(k-1) on each side, so every output sees at least one input."""
    if p == "same":
        pads = []
        for ni, ki, si, di in zip(n, k, s, d):
            out = -(-ni // si)
            total = named("total", at_least((out - 1) * si + effective(ki, di) - ni, 0))
            pads.append((total // 2, total - total // 2))
        return tuple(pads)
    if p == "full":
        return tuple((effective(ki, di) - 1,) * 2 for ki, di in zip(k, d))
    return p


def window_out(n: int, k_eff: int, s: int, left: int, right: int) -> int:
    """Positions of a k_eff-wide window sliding with stride s over n padded by left/right."""
    return (n + left + right - k_eff) // s + 1


def pool_out(n: int, k: int, s: int, p: int, d: int, ceil_mode: bool) -> int:
    """PyTorch's pooling output size, including its ceil-mode rule: the last window must start
    inside the input or the left padding, else it is dropped."""
    num = n + 2 * p - effective(k, d)
    out = (num + (s - 1 if ceil_mode else 0)) // s + 1
    if ceil_mode and (out - 1) * s >= n + p:
        out -= 1
    return out


def uncovered_warnings(kind_name: str, n: Shape, k_eff: Shape, s: Shape, pads, out: Shape) -> tuple[str, ...]:
    """The course notes' "does not fit": (n + pads - k_eff) / s is not whole and the input
    positions past the last window are real data, not padding. Skipped when the stride is
    wider than the window, where skipping input is the point (a 1x1 stride-2 projection)."""
    notes = []
    for i, (ni, ki, si, (left, _), oi) in enumerate(zip(n, k_eff, s, pads, out)):
        last_read = (oi - 1) * si + ki - 1  # in padded coordinates
        missed = left + ni - 1 - last_read
        if missed > 0 and si <= ki:
            notes.append(Note(
                "uncovered-input",
                f"stride {si} does not fit axis {axis_name(i, len(n))}: the last {missed} of {ni} "
                f"input positions are never covered"
            ))
    return tuple(notes)


def check_groups(channels: int, out: int, groups: int) -> None:
    if channels % groups:
        raise LayerError(f"input channels {channels} are not divisible by groups {groups}")
    if out % groups:
        raise LayerError(f"output channels {out} are not divisible by groups {groups}")


# Receptive-field transforms. An axis is (size, jump, start): an output unit sees `size` input
# positions, neighbouring outputs are `jump` input positions apart, and the first output's field
# starts at input position `start` (negative where it reaches into padding).


def same_field(self: "Kind", a: Any, x: Any, y: Any, r: RF) -> RF:
    """An `rf` rule: each output position sees exactly what the input at the same position saw
    (elementwise layers, channel operations, norms over channels)."""
    return r


def rf_window(r: RF, k_eff: Shape, s: Shape, left: Shape) -> RF:
    """A window of k_eff positions at stride s with `left` padding: size grows by (k_eff-1)*jump."""
    return tuple(
        (size + (ki - 1) * jump, jump * si, start - li * jump)
        for (size, jump, start), ki, si, li in zip(r, k_eff, s, left)
    )


def rf_transposed(r: RF, k: Shape, s: Shape, p: Shape, d: Shape) -> RF:
    """Transposed conv: output o takes input i through tap j when i*s - p + d*j = o. At most
    n = ceil(k*g/s) inputs reach one output (g = gcd(d, s)), spaced d/g inputs apart, so the
    field grows by (n-1)*d/g input steps: exact for one transposed layer, and the largest over
    output positions (which differ: the field is position dependent). Outputs are jump/s apart.
    The first output's first input is the smallest i = (p - d*j)/s that is whole."""
    out = []
    for (size, jump, start), ki, si, pi, di in zip(r, k, s, p, d):
        g = gcd(di, si)
        reach = -(-ki * g // si)  # ceil(k*g/s)
        # Taps j with d*j = p (mod s) are j0, j0 + s/g, ...; the smallest input comes from the
        # largest such tap below k. Solved with a modular inverse: k and s may be up to 2^48.
        period = si // g
        if pi % g == 0:
            j0 = (pi // g) * pow(int(di // g), -1, int(period)) % period  # int(): explain's Terms too
            taps = j0 < ki
        else:
            taps = False
        if taps:
            first = (pi - di * (j0 + (ki - 1 - j0) // period * period)) // si
        else:
            first = Fraction(pi - di * (ki - 1), si)
        out.append((size + (reach - 1) * Fraction(di, g) * jump,
                    Fraction(jump, si) if isinstance(jump, int) else jump / si, start + first * jump))
    return tuple(out)


def rf_collapse(r: RF, n: Shape) -> RF:
    """An axis whose n > 1 positions all feed every output (global pooling, flatten) stops moving:
    the field keeps one position's size and start, and its jump becomes 0. What those positions
    add is global context, which the analysis reports beside the field (see `sees_all`); the
    field no longer depends on the input size. An axis of one position passes unchanged."""
    return tuple((size, 0, start) if ni > 1 else (size, jump, start) for (size, jump, start), ni in zip(r, n))


def spread(n: Shape) -> bool:
    """More than one position on some axis."""
    return any(ni > 1 for ni in n)


def rf_union(rs: tuple[RF, ...], xs: tuple[Shape, ...], y: Shape) -> RF:
    """Through a merge, output position i sees the union of its inputs' local fields at i.

    An input that does not move with i on an axis is global context there, not part of the local
    field: one broadcast along the axis (size 1, like an SE gate [C, 1, 1]; the merge's
    `sees_all`) or one whose jump is 0 (it went through a global pool, then maybe an upsample;
    its own flag says so). So the field follows the feature-map path with the full-size inputs'
    jump, and SE-ResNet's field grows as ResNet's does. When every input is global on an axis,
    the field is their union at position 0, and it does not move either (jump 0).

    The union's ends are piecewise linear in i (its start concave, its end convex), so the field
    reported from its extents at the first and last positions contains the true union everywhere
    and equals it at both ends. When the fields are nested, as in residual and U-Net merges, this
    is the widest input's field."""
    out = []
    for a, axis in enumerate(zip(*rs)):
        # A flat input (after flatten or linear) keeps its field over the input's axes, but has one
        # position on each.
        n = y[1 + a] if 1 + a < len(y) else 1
        moving = [(start, size, jump) for (size, jump, start), x in zip(axis, xs)
                  if jump != 0 and (n == 1 or (1 + a < len(x) and x[1 + a] == n))]
        spans = moving or [(start, size, 0) for size, _, start in axis]

        def extent(i: int, spans: list[tuple[Any, Any, Any]] = spans) -> tuple[Any, Any]:
            return (min(start + i * step for start, _, step in spans),
                    max(start + i * step + size - 1 for start, size, step in spans))

        lo, hi = extent(0)
        if n > 1 and moving:
            lo_last, hi_last = extent(n - 1)
            size = max(hi - lo, hi_last - lo_last) + 1
            jump = Fraction(lo_last - lo) / (n - 1)
            jump = int(jump) if jump.denominator == 1 else jump
        else:  # one position, or nothing moves: keep the widest moving input's jump for upsampling
            size = hi - lo + 1
            jump = max(spans, key=lambda span: span[1])[2]
        out.append((size, jump, lo))
    return tuple(out)


# --------------------------------------------------------------------------------------------
# Common argument definitions

K = Arg("k", axes(), doc="kernel size")
S1 = Arg("s", axes(), 1, "stride")
D1 = Arg("d", axes(), 1, "dilation")
P_CONV = Arg("p", padding(), 0, "padding: int, per-axis list, valid, same or full")
BIAS = Arg("bias", boolean, True)
OUT = Arg("out", integer(), doc="output channels")
