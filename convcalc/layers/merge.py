"""Merges: `Merge` (two or more inputs, the union of their receptive fields, a broadcast input as
global context) and add, mul and concat."""

from __future__ import annotations

from typing import Any

from ..args import Arg, boolean
from ..errors import LayerError
from .geometry import dims, numel, rf_union
from .kind import INPUT, PROMOTE, RF, Args, Keep, Kind, Shape, Shapes, new, register

# --------------------------------------------------------------------------------------------
# Merges: two or more inputs


def broadcast(u: Shape, v: Shape) -> Shape:
    """The shape of u times v under broadcasting (equal ranks, as mul checks)."""
    return tuple(max(a, b) for a, b in zip(u, v))


class Merge(Kind):
    merge = True

    def rf(self, a: Args, x: Shapes, y: Shape, r: tuple[RF, ...]) -> RF:
        return rf_union(r, x, y)

    def sees_all(self, a: Args, xs: Shapes, y: Shape) -> bool:
        """An input broadcast along an axis (size 1 there, an SE gate [C, 1, 1]) is read whole by
        every output position: global context, not part of the local field (see rf_union)."""
        return any(xi == 1 < yi for x in xs for xi, yi in zip(x[1:], y[1:]))


@register
class Add(Merge):
    doc = "elementwise sum of equal shapes"
    name = "add"
    examples = ("4x6x6 | conv 4 k3 p1 name=a | relu name=b | add from=a,b,input",)
    costs = ("", "", "", "(inputs − 1)·Y")
    saves = "nothing (its backward hands the gradient on to every input)"
    backward_costs = ("", "")

    def grad_view(self, a: Args, x: Shapes, y: Shape, i: int) -> bool:
        return True

    def scratch(self, a: Args, xs: Shapes, y: Shape) -> tuple[tuple[Keep, ...], tuple[Keep, ...]]:
        # torch_ops.Add sums left to right: with three or more inputs, the next partial sum is
        # made while the previous one is alive
        return ((new(numel(y)),) if len(xs) > 2 else ()), ()

    def shape(self, a: Args, xs: Shapes) -> Shape:
        for other in xs[1:]:
            if other != xs[0]:
                raise LayerError(f"add needs equal shapes, got {' and '.join('[' + dims(s) + ']' for s in xs)}")
        return xs[0]

    # (inputs - 1) adds per output element
    def flops(self, a: Args, xs: Shapes, y: Shape) -> int:
        return (len(xs) - 1) * numel(y)

    def saved(self, a: Args, xs: Shapes, y: Shape) -> tuple[Keep, ...]:
        return ()

    def backward_flops(self, a: Args, xs: Shapes, y: Shape) -> tuple[int, int]:
        return 0, 0

    def build(self, a: Args, x: Shapes, y: Shape) -> Any:
        return self.torch("Add")


@register
class Mul(Merge):
    doc = "elementwise product with broadcasting (an SE scale [C, 1, 1] times [C, H, W])"
    name = "mul"
    examples = ("4x6x6 | gap name=g | mul from=input,g", "4x6x6 | conv 4 k1 name=a | mul from=a,input,a")
    costs = ("", "", "", "(inputs − 1)·Y")
    saves = "each factor, for the other's gradient (with three or more, the running products)"
    backward_costs = ("per input: Y multiplies, and Y − X adds to sum a broadcast one back", "")

    def shape(self, a: Args, xs: Shapes) -> Shape:
        out = list(xs[0])
        for other in xs[1:]:
            if len(other) != len(out):
                raise LayerError(f"mul needs equal ranks, got {' and '.join('[' + dims(s) + ']' for s in xs)}")
            for i, (u, v) in enumerate(zip(out, other)):
                if u != v and 1 not in (u, v):
                    raise LayerError(f"mul cannot broadcast {' and '.join('[' + dims(s) + ']' for s in xs)}")
                out[i] = max(u, v)
        return tuple(out)

    # (inputs - 1) multiplies per output element
    def flops(self, a: Args, xs: Shapes, y: Shape) -> int:
        return (len(xs) - 1) * numel(y)

    # torch_ops.Mul multiplies left to right: product i = product i-1 times input i keeps both
    # factors, each for the other's gradient (the first product's left factor is input 0)
    def saved(self, a: Args, xs: Shapes, y: Shape) -> tuple[Keep, ...]:
        keeps: list[Keep] = [Keep(INPUT, index=0, grad_of=1), Keep(INPUT, index=1, grad_of=0)]
        running = broadcast(xs[0], xs[1])
        for i in range(2, len(xs)):
            keeps += [new(numel(running)), Keep(INPUT, index=i)]
            running = broadcast(running, xs[i])
        return tuple(keeps)

    # the gradient of each input: the output gradient times the other factors (one multiply per
    # output element), summed back over the axes it was broadcast along (Y - X adds)
    def backward_flops(self, a: Args, xs: Shapes, y: Shape) -> tuple[int, int]:
        return sum(numel(y) + numel(y) - numel(x) for x in xs), 0

    def build(self, a: Args, x: Shapes, y: Shape) -> Any:
        return self.torch("Mul")


@register
class Concat(Merge):
    """Concatenate along channels. With `crop: true`, larger inputs are centre-cropped to the
    smallest spatial size first (U-Net's skip connections); offsets are (big - small) // 2."""

    doc = ("channel concatenation; `crop: true` centre-crops larger inputs to the smallest spatial size (U-Net); "
           "without it unequal sizes are an error")
    name = "concat"
    examples = (
        "4x6x6 | conv 2 k3 p1 name=a | concat from=input,a",
        "4x10x10 | conv 4 k3 name=a | conv 4 k3 name=b | concat from=input,a,b crop=true",
    )
    costs = ("", "", "", "0 (data movement only)")
    saves = "nothing (its backward hands each input its slice of the gradient)"
    backward_costs = ("", "")

    def grad_view(self, a: Args, xs: Shapes, y: Shape, i: int) -> bool:
        # a slice of the output's gradient; an input cropped first gets a new gradient of its
        # whole size (zeros around the slice)
        return xs[i][1:] == y[1:]

    def scratch(self, a: Args, xs: Shapes, y: Shape) -> tuple[tuple[Keep, ...], tuple[Keep, ...]]:
        # a crop slices one axis after the other, so its gradient is rebuilt one axis at a time:
        # beside the whole-size gradient, the one still cropped on the first axis
        cropped = [x[0] * y[1] * numel(x[2:]) for x in xs if x[1:] != y[1:]]
        return (), ((new(max(cropped)),) if cropped else ())
    args = (Arg("crop", boolean, False),)

    def shape(self, a: Args, xs: Shapes) -> Shape:
        ranks = {len(s) for s in xs}
        if len(ranks) > 1:
            raise LayerError(f"concat needs equal ranks, got {' and '.join('[' + dims(s) + ']' for s in xs)}")
        sp = [s[1:] for s in xs]
        if a["crop"]:
            target = tuple(min(axis) for axis in zip(*sp))
        else:
            target = sp[0]
            if any(other != target for other in sp[1:]):
                raise LayerError(
                    f"concat needs equal spatial sizes, got {' and '.join('[' + dims(s) + ']' for s in xs)}"
                    " (use crop: true to centre-crop, as U-Net does)"
                )
        return (sum(s[0] for s in xs), *target)

    def flops(self, a: Args, xs: Shapes, y: Shape) -> int:
        return 0  # a copy

    def saved(self, a: Args, xs: Shapes, y: Shape) -> tuple[Keep, ...]:
        return ()

    def backward_flops(self, a: Args, xs: Shapes, y: Shape) -> tuple[int, int]:
        return 0, 0

    def autocast(self, a: Args, xs: Shapes, device: str) -> str:
        return PROMOTE  # cat is on autocast's promote lists

    def rf(self, a: Args, xs: Shapes, y: Shape, r: tuple[RF, ...]) -> RF:
        shifted = []
        for s, field in zip(xs, r):
            shifted.append(tuple((size, jump, start + ((n - m) // 2) * jump)
                                 for (size, jump, start), n, m in zip(field, s[1:], y[1:])))
        return rf_union(tuple(shifted), tuple((s[0], *y[1:]) for s in xs), y)

    def build(self, a: Args, x: Shapes, y: Shape) -> Any:
        return self.torch("Concat", y[1:] if a["crop"] else None)
