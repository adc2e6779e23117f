"""Pooling and resampling: the sliding-window pools on `Pool` (maxpool, avgpool, lppool), global
and adaptive pooling, upsampling and max unpooling (a transposed window, reading a pool's indices
as a side input)."""

from __future__ import annotations

from fractions import Fraction
from math import gcd, prod
from typing import Any

from .. import limits
from ..args import Arg, axes, boolean, choice, number, scales, sizes, symmetric_padding, text
from ..errors import LayerError
from .geometry import (D1, K, axis_name, dims, effective, numel, pool_out, rf_collapse, rf_transposed, rf_window,
                       spatial, spread, uncovered_warnings)
from .kind import FLOAT32, INT64, KEEP_INPUT, RF, SAME, SIDE, Args, Keep, Kind, Note, Shape, Window, new, register

# --------------------------------------------------------------------------------------------
# Pooling


class Pool(Kind):
    """Sliding-window pools. Output size follows PyTorch exactly (`pool_out`), padding is
    symmetric and at most half the kernel (PyTorch's rule), stride defaults to the kernel."""

    positional = ("k",)
    dilated = False
    averaging_3d = False  # PyTorch's 3-D average pool (and LPPool3d, built on it) needs input >= kernel

    def prepare(self, a: Args, nd: int) -> Args:
        return {**a, "s": a["s"] if a["s"] is not None else a["k"]}

    def dilation(self, a: Args) -> Shape:
        return a["d"] if self.dilated else (1,) * len(a["k"])

    def shape(self, a: Args, x: Shape) -> Shape:
        c, n = spatial(x, self.name)
        out = []
        d = self.dilation(a)
        for i, (ni, ki, si, pi, di) in enumerate(zip(n, a["k"], a["s"], a["p"], d)):
            if pi > ki // 2:
                raise LayerError(f"padding {pi} is more than half the kernel {ki} on axis {axis_name(i, len(n))}")
            size = pool_out(ni, ki, si, pi, di, a.get("ceil_mode", False))
            if size < 1:
                raise LayerError(
                    f"output size {size} on axis {axis_name(i, len(n))} is below 1: kernel "
                    f"{effective(ki, di)} does not fit the input {ni} padded by {pi}"
                )
            out.append(size)
        if self.averaging_3d and len(n) == 3:
            for i, (ni, ki) in enumerate(zip(n, a["k"])):
                if ni < ki:
                    raise LayerError(f"input {ni} is smaller than the kernel {ki} on axis {axis_name(i, 3)}")
        return (c, *out)

    def rf(self, a: Args, x: Shape, y: Shape, r: RF) -> RF:
        k_eff = tuple(effective(k, d) for k, d in zip(a["k"], self.dilation(a)))
        return rf_window(r, k_eff, a["s"], a["p"])

    def window(self, a: Args, x: Shape) -> tuple[Window, ...] | None:
        return tuple(Window(k, s, d, p, p) for k, s, d, p in zip(a["k"], a["s"], self.dilation(a), a["p"]))

    def warnings(self, a: Args, x: Shape, y: Shape) -> tuple[Note, ...]:
        if a.get("ceil_mode"):
            return ()
        k_eff = tuple(effective(k, d) for k, d in zip(a["k"], self.dilation(a)))
        return uncovered_warnings(self.name, x[1:], k_eff, a["s"], tuple((p, p) for p in a["p"]), y[1:])


POOL_ARGS = (K, Arg("s", axes(), None, "stride (default: k)"), Arg("p", symmetric_padding, 0),)
CEIL = Arg("ceil_mode", boolean, False, "round the output size up (PyTorch's rule)")


@register
class MaxPool(Pool):
    doc = "max pooling; `s` defaults to `k`"
    name = "maxpool"
    examples = (
        "3x9x9 | maxpool 2",
        "3x9x9 | maxpool k3 s2 p1 ceil_mode=true",
        "3x20 | maxpool 3 d2",
        "2x7x7x7 | maxpool 2 ceil_mode=true",
    )
    costs = ("", "", "", "Y·(prod(k) − 1) compares")
    saves = "its input and the int64 position of each maximum (Y)"
    backward_costs = ("Y (each gradient added at its maximum)", "")
    draws = ("maxpool {k} s{s} p{pp}",)
    dilated = True
    args = POOL_ARGS + (D1, CEIL)

    # per output: prod(k) - 1 comparisons
    def flops(self, a: Args, x: Shape, y: Shape) -> int:
        return numel(y) * (prod(a["k"]) - 1)

    # max_pool*_with_indices saves its input and the indices (int64), which maxunpool may reuse
    def saved(self, a: Args, x: Shape, y: Shape) -> tuple[Keep, ...]:
        return KEEP_INPUT, new(numel(y), INT64, name="indices")

    def backward_flops(self, a: Args, x: Shape, y: Shape) -> tuple[int, int]:
        return numel(y), 0  # each output gradient added at its maximum's position

    def autocast(self, a: Args, x: Shape, device: str) -> str:
        return FLOAT32 if device == "cpu" and len(x) == 4 else SAME  # max_pool3d is on the CPU's float32 list

    def build(self, a: Args, x: Shape, y: Shape) -> Any:
        return self.torch("max_pool", len(x) - 1, a["k"], a["s"], a["p"], a["d"], a["ceil_mode"])


@register
class AvgPool(Pool):
    doc = "average pooling; `s` defaults to `k`"
    name = "avgpool"
    examples = (
        "3x9x9 | avgpool 3 s2 p1",
        "3x9x9 | avgpool 2 ceil_mode=true count_include_pad=false",
        "3x20 | avgpool 4",
        "2x6x7x8 | avgpool 2",
    )
    costs = ("", "", "", "Y·prod(k) (prod(k) − 1 adds, 1 divide)")
    saves = "its input"
    backward_costs = ("Y·prod(k) (each output gradient, divided, added over its window)", "")
    draws = ("avgpool {k} s{s} p{pp} ceil_mode=true",)
    args = POOL_ARGS + (CEIL, Arg("count_include_pad", boolean, True))
    averaging_3d = True

    # per output: prod(k) - 1 adds and 1 divide
    def flops(self, a: Args, x: Shape, y: Shape) -> int:
        return numel(y) * prod(a["k"])

    def saved(self, a: Args, x: Shape, y: Shape) -> tuple[Keep, ...]:
        return (KEEP_INPUT,)  # avg_pool*d's backward reads its input (for the shape checks and the padding)

    def backward_flops(self, a: Args, x: Shape, y: Shape) -> tuple[int, int]:
        return numel(y) * prod(a["k"]), 0

    def autocast(self, a: Args, x: Shape, device: str) -> str:
        return FLOAT32 if device == "cpu" and len(x) == 4 else SAME  # avg_pool3d: the CPU's float32 list

    def build(self, a: Args, x: Shape, y: Shape) -> Any:
        return self.torch("avg_pool", len(x) - 1, a["k"], a["s"], a["p"], a["ceil_mode"], a["count_include_pad"])


@register
class LpPool(Pool):
    doc = "power-average pooling (`norm: 2` is L2 pooling); `s` defaults to `k`"
    name = "lppool"
    examples = ("3x9x9 | lppool 2 3", "3x20 | lppool 3 k2", "2x4x6x6 | lppool 2 2")
    costs = ("", "", "", "X (powers) + Y·(prod(k) − 1) (sums) + Y (roots)")
    saves = "its input, its powers X, and 4·Y of F.lp_pool's tail (sign, relu, product, root)"
    backward_costs = ("3·X + Y·prod(k) + 6·Y", "")
    draws = ("lppool 2 {k} s{s}",)
    averaging_3d = True
    positional = ("norm", "k")
    args = (Arg("norm", number(), doc="the power p"), K, Arg("s", axes(), None, "stride (default: k)"), CEIL)

    def prepare(self, a: Args, nd: int) -> Args:
        a = super().prepare(a, nd)
        return {**a, "p": (0,) * len(a["k"])}

    # x^p once per input element, prod(k) - 1 adds per window, one root per output
    def flops(self, a: Args, x: Shape, y: Shape) -> int:
        return numel(x) + numel(y) * (prod(a["k"]) - 1) + numel(y)

    # F.lp_pool*d: avg_pool(x.pow(p)), then sign(out) * relu(abs(out)) * prod(k), then pow(1/p):
    # pow keeps x, avg_pool keeps x^p, abs keeps out, relu its result, the product both factors,
    # the root its input and result (which is the product): 4 distinct Y-sized tensors.
    def saved(self, a: Args, x: Shape, y: Shape) -> tuple[Keep, ...]:
        return KEEP_INPUT, new(numel(x)), new(4 * numel(y))

    # per output: the root's derivative (3), the sign-relu product (2), the scale (1); the
    # average's gradient over its window (Y * prod(k)); per input the power's derivative (3)
    def backward_flops(self, a: Args, x: Shape, y: Shape) -> tuple[int, int]:
        return 3 * numel(x) + numel(y) * prod(a["k"]) + 6 * numel(y), 0

    def scratch(self, a: Args, x: Shape, y: Shape) -> tuple[tuple[Keep, ...], tuple[Keep, ...]]:
        # the backward's busiest moment, measured on F.lp_pool2d/3d's chain: the pool's input
        # gradient, the power's derivative and their product (X each, one counted as the input
        # gradient), beside the Y-sized gradients of its tail (4 in 2-D, 3 in 3-D; lp_pool1d has none)
        if len(x) == 2:
            return (), ()
        return (), (new(numel(x) + (4 if len(x) == 3 else 3) * numel(y)),)

    def autocast(self, a: Args, x: Shape, device: str) -> str:
        if device == "cpu":
            return SAME if len(x) < 4 else FLOAT32  # avg_pool3d: the CPU's float32 list
        return FLOAT32  # pow is on CUDA's float32 list

    def build(self, a: Args, x: Shape, y: Shape) -> Any:
        return self.torch("lp_pool", len(x) - 1, a["norm"], a["k"], a["s"], a["ceil_mode"])


@register
class GlobalAvgPool(Kind):
    doc = "global average pooling: [C, …] → [C, 1, …]"
    name = "gap"
    examples = ("8x7x7 | gap", "8x10 | gap", "4x3x5x5 | gap")
    costs = ("", "", "", "X")
    saves = "nothing (PyTorch computes it as a mean, whose gradient needs only the shape)"
    backward_costs = ("X (each input gets its channel's gradient over the positions)", "")
    draws = ("gap",)

    def shape(self, a: Args, x: Shape) -> Shape:
        c, n = spatial(x, self.name)
        return (c,) + (1,) * len(n)

    # per channel: (positions - 1) adds and 1 divide
    def flops(self, a: Args, x: Shape, y: Shape) -> int:
        return numel(x)

    def saved(self, a: Args, x: Shape, y: Shape) -> tuple[Keep, ...]:
        return ()  # adaptive_avg_pool to size 1 is a mean: its backward needs only the shape

    def backward_flops(self, a: Args, x: Shape, y: Shape) -> tuple[int, int]:
        return numel(x), 0

    def autocast(self, a: Args, x: Shape, device: str) -> str:
        return FLOAT32 if device == "cpu" and len(x) == 4 else SAME  # adaptive_avg_pool3d: CPU float32 list

    def fvcore(self, a: Args, x: Shape, y: Shape) -> int:
        return numel(x) if len(x) == 3 else 0  # fvcore handles adaptive_avg_pool2d only: 1 per input

    def rf(self, a: Args, x: Shape, y: Shape, r: RF) -> RF:
        return rf_collapse(r, x[1:])

    def sees_all(self, a: Args, x: Shape, y: Shape) -> bool:
        return spread(x[1:])

    def build(self, a: Args, x: Shape, y: Shape) -> Any:
        return self.torch("adaptive_avg_pool", len(x) - 1, (1,) * (len(x) - 1))


def adaptive_windows(n: int, out: int) -> tuple[int, int]:
    """(sum of window sizes, largest window) of PyTorch's adaptive pooling on one axis.

    Window i is [floor(i*n/out), ceil((i+1)*n/out)). Their sizes sum to n + out - gcd(n, out)
    (each step overlaps where i*n/out is not whole). The largest is n/out when out divides n,
    else floor(n/out) + 2 when some window straddles two fractional ends (gcd < n mod out),
    else floor(n/out) + 1.
    """
    g = gcd(n, out)
    total = n + out - g
    r = n % out
    if r == 0:
        largest = n // out
    else:
        largest = n // out + (2 if g < r else 1)
    return total, largest


class AdaptivePool(Kind):
    positional = ("size",)
    args = (Arg("size", sizes, doc="output size per axis (null keeps the input's)"),)

    def shape(self, a: Args, x: Shape) -> Shape:
        c, n = spatial(x, self.name)
        return (c, *(ni if si is None else si for ni, si in zip(n, a["size"])))

    def rf(self, a: Args, x: Shape, y: Shape, r: RF) -> RF:
        out = []
        for (size, jump, start), ni, oi in zip(r, x[1:], y[1:]):
            if oi == 1 < ni:  # pooled whole, as gap: one position's field, no longer moving
                out.append((size, 0, start))
                continue
            largest = adaptive_windows(ni, oi)[1]
            step = Fraction(ni, oi)
            out.append((size + (largest - 1) * jump, jump * (step if step.denominator > 1 else int(step)), start))
        return tuple(out)

    def sees_all(self, a: Args, x: Shape, y: Shape) -> bool:
        return any(oi == 1 < ni for ni, oi in zip(x[1:], y[1:]))

    def window_sum(self, x: Shape, y: Shape) -> int:
        """Sum over output positions of the window size (product over axes)."""
        return prod(adaptive_windows(ni, oi)[0] for ni, oi in zip(x[1:], y[1:]))


@register
class AdaptiveAvgPool(AdaptivePool):
    doc = "adaptive average pooling to a fixed `size` per axis (`null` keeps the input's)"
    name = "adaptive_avgpool"
    examples = ("8x7x7 | adaptive_avgpool 3", "8x10 | adaptive_avgpool 4", "4x5x6x7 | adaptive_avgpool 2")
    costs = ("", "", "", "C·∏ over axes of (n + o − gcd(n, o)) (the sum of window sizes)")
    saves = "its input; nothing when every output size is 1 (a mean)"
    backward_costs = ("as its FLOPs (each output gradient, divided, added over its window)", "")
    draws = ("adaptive_avgpool {k}",)

    # per output: window - 1 adds and 1 divide, i.e. the window size
    def flops(self, a: Args, x: Shape, y: Shape) -> int:
        return x[0] * self.window_sum(x, y)

    def saved(self, a: Args, x: Shape, y: Shape) -> tuple[Keep, ...]:
        return () if all(o == 1 for o in y[1:]) else (KEEP_INPUT,)  # to size 1 PyTorch takes a mean

    def backward_flops(self, a: Args, x: Shape, y: Shape) -> tuple[int, int]:
        return self.flops(a, x, y), 0

    def autocast(self, a: Args, x: Shape, device: str) -> str:
        return FLOAT32 if device == "cpu" and len(x) == 4 else SAME  # adaptive_avg_pool3d: CPU float32 list

    def fvcore(self, a: Args, x: Shape, y: Shape) -> int:
        return numel(x) if len(x) == 3 else 0  # fvcore handles adaptive_avg_pool2d only: 1 per input

    def build(self, a: Args, x: Shape, y: Shape) -> Any:
        return self.torch("adaptive_avg_pool", len(x) - 1, a["size"])


@register
class AdaptiveMaxPool(AdaptivePool):
    doc = "adaptive max pooling to a fixed `size` per axis (`null` keeps the input's)"
    name = "adaptive_maxpool"
    examples = ("8x7x7 | adaptive_maxpool size=3,null", "8x10 | adaptive_maxpool 3")
    costs = ("", "", "", "the same minus Y")
    saves = "its input and the int64 position of each maximum (Y)"
    backward_costs = ("Y", "")
    draws = ("adaptive_maxpool {k}",)

    # per output: window - 1 comparisons
    def flops(self, a: Args, x: Shape, y: Shape) -> int:
        return x[0] * self.window_sum(x, y) - numel(y)

    def saved(self, a: Args, x: Shape, y: Shape) -> tuple[Keep, ...]:
        return KEEP_INPUT, new(numel(y), INT64)

    def backward_flops(self, a: Args, x: Shape, y: Shape) -> tuple[int, int]:
        return numel(y), 0

    def build(self, a: Args, x: Shape, y: Shape) -> Any:
        return self.torch("adaptive_max_pool", len(x) - 1, a["size"])


# --------------------------------------------------------------------------------------------
# Resampling


@register
class Upsample(Kind):
    """Resize by `scale` (output floor(in*scale), as PyTorch) or to `size`.

    `bilinear` means linear interpolation along every spatial axis (PyTorch's linear, bilinear
    or trilinear by rank). FLOPs per output element: nearest 0 (a copy); linear 3 per lerp
    (sub, mul, add) and 2^nd - 1 lerps: 3 in 1-D, 9 in 2-D, 21 in 3-D. Index and weight
    computation, shared along an axis, is not counted."""

    doc = ("resize by `scale` or to `size` (give one); `mode` nearest or bilinear, which is linear interpolation "
           "on every axis (linear/bilinear/trilinear)")
    name = "upsample"
    examples = (
        "3x5x5 | upsample 2",
        "3x5x5 | upsample 1.5 mode=bilinear",
        "3x6 | upsample size=10 mode=bilinear",
        "2x3x4x4 | upsample 2 mode=bilinear align_corners=true",
    )
    costs = (
        "",
        "",
        "",
        "nearest: 0 (a copy); linear: Y·3·(2^nd − 1): 3 flops per lerp, 1/3/7 lerps in 1-D/2-D/3-D",
    )
    saves = "nothing (its backward needs only the sizes)"
    backward_costs = ("nearest: Y adds; linear: 2·Y·2^nd (a weight and an add per corner)", "")
    draws = ("upsample {s} mode={mode}",)
    positional = ("scale",)
    args = (Arg("scale", scales, None), Arg("size", axes(), None),
            Arg("mode", choice("nearest", "bilinear", "linear", "trilinear"), "nearest"),
            Arg("align_corners", boolean, False))

    def prepare(self, a: Args, nd: int) -> Args:
        if (a["scale"] is None) == (a["size"] is None):
            raise LayerError("upsample takes exactly one of scale and size")
        if a["align_corners"] and a["mode"] == "nearest":
            raise LayerError("align_corners only applies to linear interpolation modes")
        return a

    def shape(self, a: Args, x: Shape) -> Shape:
        c, n = spatial(x, self.name)
        if a["size"] is not None:
            return (c, *a["size"])
        import math

        for ni, si in zip(n, a["scale"]):
            if not float(ni) * float(si) <= limits.MAX_SIZE:  # also catches inf: 1e308 * 8
                raise LayerError(f"scale {si} takes an axis of {ni} beyond the size limit of {limits.MAX_SIZE} (2^48)")
        out = tuple(math.floor(ni * si) for ni, si in zip(n, a["scale"]))  # exact: both are at most 2^48
        if any(o < 1 for o in out):
            raise LayerError(f"output size {dims(out)} is below 1")
        return (c, *out)

    def flops(self, a: Args, x: Shape, y: Shape) -> int:
        if a["mode"] == "nearest":
            return 0
        return numel(y) * 3 * (2 ** (len(x) - 1) - 1)

    def saved(self, a: Args, x: Shape, y: Shape) -> tuple[Keep, ...]:
        return ()

    # each output gradient is added to the input it copied (nearest), or weighted and added to
    # the 2^nd inputs it interpolated (linear)
    def backward_flops(self, a: Args, x: Shape, y: Shape) -> tuple[int, int]:
        return (numel(y) if a["mode"] == "nearest" else 2 * numel(y) * 2 ** (len(x) - 1)), 0

    def fvcore(self, a: Args, x: Shape, y: Shape) -> int:
        if len(x) != 3:
            return 0  # fvcore has rules for the 2-D upsampling ops only
        return numel(y) * (1 if a["mode"] == "nearest" else 4)

    def rf(self, a: Args, x: Shape, y: Shape, r: RF) -> RF:
        # Each output reads the input position it maps to (nearest) or the two around it (linear).
        extra = 0 if a["mode"] == "nearest" else 1
        return tuple((size + extra * jump, jump * Fraction(ni, oi), start)
                     for (size, jump, start), ni, oi in zip(r, x[1:], y[1:]))

    def build(self, a: Args, x: Shape, y: Shape) -> Any:
        return self.torch("upsample", len(x) - 1, a["size"], a["scale"], a["mode"], a["align_corners"])


@register
class MaxUnpool(Kind):
    """Inverse of max pooling: scatter each value to its window (output (in-1)*s - 2p + k).

    Takes its positions from `indices` (the name of a maxpool with the same k, s, p) when given;
    without it, each value goes to its window's first position (a "bed of nails")."""

    doc = ("max unpooling: out (in−1)·s − 2p + k; `s` defaults to `k`. `indices:` names the maxpool whose "
           "positions to use; without it each value goes to its window's first position (\"bed of nails\")")
    name = "maxunpool"
    examples = (
        "3x4x4 | maxunpool 2",
        "3x8x8 | maxpool 2 name=p | relu | maxunpool 2 indices=p",
        "3x5 | maxunpool 3 s2 p1",
    )
    costs = ("", "", "", "0 (a scatter)")
    saves = "the int64 positions: the pool's (`indices:`), kept once, or its own (X)"
    backward_costs = ("0 (a gather)", "")
    draws = ("maxunpool {k} s{s}",)
    positional = ("k",)
    args = (K, Arg("s", axes(), None, "stride (default: k)"), Arg("p", symmetric_padding, 0),
            Arg("indices", text, None, "name of the maxpool whose argmax positions to use"))
    side_inputs = ("indices",)
    stuffed_note = ("max unpooling scatters each value into its k-window, windows s apart: the geometry of a "
                    "transposed convolution (dilation 1, no output padding)")

    def check_sides(self, a: Args, x: Shape, sides) -> None:
        pool = sides["indices"]
        if pool.kind != "maxpool":
            raise LayerError(f"indices must name a maxpool, '{a['indices']}' is a {pool.kind}")
        if (pool.args["k"], pool.args["s"], pool.args["p"]) != (a["k"], a["s"], a["p"]):
            raise LayerError(f"k, s and p must match those of the maxpool '{a['indices']}'")
        if pool.shape != x:
            raise LayerError(f"the input must have the shape of the maxpool '{a['indices']}' output")

    def side_source(self, module) -> None:
        module.return_indices = True  # the pool also returns where each maximum was

    def prepare(self, a: Args, nd: int) -> Args:
        return {**a, "s": a["s"] if a["s"] is not None else a["k"]}

    def shape(self, a: Args, x: Shape) -> Shape:
        c, n = spatial(x, self.name)
        out = tuple((ni - 1) * si - 2 * pi + ki for ni, si, pi, ki in zip(n, a["s"], a["p"], a["k"]))
        if any(o < 1 for o in out):
            raise LayerError(f"output size {dims(out)} is below 1")
        return (c, *out)

    def flops(self, a: Args, x: Shape, y: Shape) -> int:
        return 0  # a scatter: no arithmetic

    # max_unpool*d's backward gathers with the indices: the pool's, or the bed of nails' own
    def saved(self, a: Args, x: Shape, y: Shape) -> tuple[Keep, ...]:
        if a["indices"]:
            return (Keep(SIDE, name="indices"),)
        return (new(numel(x), INT64),)

    def backward_flops(self, a: Args, x: Shape, y: Shape) -> tuple[int, int]:
        return 0, 0

    def scratch(self, a: Args, x: Shape, y: Shape) -> tuple[tuple[Keep, ...], tuple[Keep, ...]]:
        # without a pool's indices, torch_ops.MaxUnpool builds them: a position grid over the input's
        # positions and the last axis's offsets (int64, not per sample) before the expanded copy
        if a["indices"]:
            return (), ()
        return (new(numel(x[1:]) + x[-1], INT64, batched=False),), ()

    def autocast(self, a: Args, x: Shape, device: str) -> str:
        return FLOAT32 if device == "cpu" else SAME  # max_unpool2d/3d: the CPU's float32 list

    def rf(self, a: Args, x: Shape, y: Shape, r: RF) -> RF:
        return rf_transposed(r, a["k"], a["s"], a["p"], (1,) * len(a["k"]))

    def zero_stuffed(self, a: Args, x: Shape):
        # as a transposed convolution with dilation 1 and no output padding: each value lands in
        # a k-window, windows s apart
        return tuple(((ni - 1) * si + 1, ki - 1 - pi, ki - 1 - pi, ki)
                     for ni, ki, si, pi in zip(x[1:], a["k"], a["s"], a["p"]))

    def build(self, a: Args, x: Shape, y: Shape) -> Any:
        return self.torch("MaxUnpool", len(x) - 1, a["k"], a["s"], a["p"])
