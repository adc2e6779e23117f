"""Normalizations: `Norm` (layer, instance and group norm, which compute statistics at inference),
batch norm in eval mode, local response normalization and the learnable per-channel scale."""

from __future__ import annotations

from typing import Any

from ..args import Arg, boolean, choice, integer, number
from ..errors import LayerError
from .geometry import numel, same_field, spatial, spread
from .kind import ACT, BUFFER, FLOAT32, KEEP_INPUT, MIXED, PARAM, SAME, Args, Keep, Kind, Shape, new, register

# --------------------------------------------------------------------------------------------
# Normalization


class Norm(Kind):
    """Normalizations computing statistics at inference (layer, instance, group norm).

    FLOPs per element: 5 (mean: 1 add; variance: sub, square, add; normalize: 1 mul by the
    reciprocal std, reusing the subtraction) + 2 with the affine scale and shift; per
    normalized group: 4 (divide for the mean, divide for the variance, add eps, rsqrt).

    Statistics over the spatial axes are global context: the field of each position is its
    own, and every position also reads the mean and variance of them all.

    Training: each keeps its input and two statistics per normalized group (mean and reciprocal
    std), in the parameters' dtype when it has a weight (PyTorch's mixed-dtype kernels), else in
    the input's. Backward FLOPs per element, as for batch norm: 5 always (the normalized value
    recomputed: 2; the sums of dy and dy·x̂ that the input and the affine gradients share: 3) and
    4 for the input gradient (dy minus its mean, minus x̂ times the other mean, times the scale)."""

    backward_costs = ("4·X", "5·X (x̂ recomputed, Σdy and Σdy·x̂)")

    def norm_flops(self, x: Shape, groups: int, affine: bool) -> int:
        return numel(x) * (5 + (2 if affine else 0)) + 4 * groups

    def stats_dtype(self, a: Args) -> str:
        return PARAM if a.get("affine") else ACT

    def tensors(self, a: Args, x: Shape, y: Shape) -> tuple[int, ...]:
        half = self.params(a, x, y) // 2
        return (half, half) if half else ()  # weight and bias

    def backward_flops(self, a: Args, x: Shape, y: Shape) -> tuple[int, int]:
        return 4 * numel(x), 5 * numel(x)

    def sees_all(self, a: Args, x: Shape, y: Shape) -> bool:
        return spread(x[1:])

    def fvcore(self, a: Args, x: Shape, y: Shape) -> int:
        return numel(x) * (5 if a["affine"] else 4)  # fvcore's rough estimate for the norms

    def shape(self, a: Args, x: Shape) -> Shape:
        return x

    rf = same_field


@register
class BatchNorm(Kind):
    """Batch norm in eval mode: running stats fold into one scale and shift, 2 flops per
    element. Params 2C (affine), buffers 2C + 1 (running mean, running var, batch counter).

    Training: the batch statistics are computed (5 flops per element, 2 more for the affine
    scale and shift), and native_batch_norm keeps its input, the running mean and variance (its
    buffers) and the batch's mean and reciprocal std (C each, in the weight's dtype; without a
    weight in the input's). Backward
    FLOPs as the other norms (Norm)."""

    doc = "batch norm (eval mode)"
    name = "bn"
    examples = ("8x5x5 | bn", "8x5 | bn affine=false", "6 | bn", "4x3x3x3 | bn")
    costs = ("2C (affine)", "2C + 1", "", "2·X (eval: running stats fold into one scale and one shift)")
    saves = "its input, its running mean and variance (buffers), and the batch mean and 1/std (C each)"
    backward_costs = ("4·X", "5·X (x̂ recomputed, Σdy and Σdy·x̂)")
    draws = ("bn",)
    args = (Arg("affine", boolean, True), Arg("eps", number(0), 1e-5), Arg("momentum", number(0, 1), 0.1))

    def shape(self, a: Args, x: Shape) -> Shape:
        return x

    def params(self, a: Args, x: Shape, y: Shape) -> int:
        return 2 * x[0] if a["affine"] else 0

    def tensors(self, a: Args, x: Shape, y: Shape) -> tuple[int, ...]:
        return (x[0], x[0]) if a["affine"] else ()  # weight and bias

    def buffers(self, a: Args, x: Shape, y: Shape) -> int:
        return 2 * x[0] + 1

    def counters(self, a: Args, x: Shape, y: Shape) -> int:
        return 1  # num_batches_tracked

    def flops(self, a: Args, x: Shape, y: Shape) -> int:
        return 2 * numel(x)

    def fvcore(self, a: Args, x: Shape, y: Shape) -> int:
        return numel(x) * (2 if a["affine"] else 1)  # fvcore's eval-mode rule

    # training: mean (1 add), variance (subtract, square, add), normalize (1 multiply), and the
    # affine scale and shift; the per-channel arithmetic on the C statistics is not counted
    def train_flops(self, a: Args, x: Shape, y: Shape) -> int:
        return numel(x) * (5 + (2 if a["affine"] else 0))

    def saved(self, a: Args, x: Shape, y: Shape) -> tuple[Keep, ...]:
        c = x[0]
        stats = PARAM if a["affine"] else ACT  # the weight's dtype, or without one the input's
        return (KEEP_INPUT, Keep(BUFFER, c, PARAM, batched=False), Keep(BUFFER, c, PARAM, batched=False),
                new(c, stats, batched=False), new(c, stats, batched=False))

    def backward_flops(self, a: Args, x: Shape, y: Shape) -> tuple[int, int]:
        return 4 * numel(x), 5 * numel(x)

    rf = same_field

    def build(self, a: Args, x: Shape, y: Shape) -> Any:
        return self.torch("batch_norm", len(x) - 1, x[0], a["eps"], a["momentum"], a["affine"])


@register
class LayerNorm(Norm):
    doc = ("layer norm over the channels at each position (ConvNeXt); `all` normalizes [C, H, W] whole, like "
           "`nn.LayerNorm([C, H, W])`; `last` over the last axis, like `nn.LayerNorm(C)` on tokens [N, C] (ViT)")
    name = "ln"
    examples = ("8x5x5 | ln", "8x5x5 | ln over=all", "8x10 | ln affine=false", "12 | ln", "6x10 | ln over=last",
                "3x4x5 | ln over=last affine=false")
    costs = ("2C (affine; `over: all`: 2X; `over: last`: 2·last axis)", "", "",
             "5·X + 2·X (affine) + 4 per normalized group")
    saves = "its input and 2 statistics per position (`over: all`: per sample; `over: last`: per row)"
    draws = ("ln", "ln over=all", "ln over=last")
    args = (Arg("over", choice("channels", "all", "last"), "channels"), Arg("affine", boolean, True), Arg("eps", number(0), 1e-5))

    def params(self, a: Args, x: Shape, y: Shape) -> int:
        if not a["affine"]:
            return 0
        return 2 * {"channels": x[0], "all": numel(x), "last": x[-1]}[a["over"]]

    def groups(self, a: Args, x: Shape) -> int:
        """How many groups it normalizes per sample: one per position, one in all, one per row."""
        return {"channels": numel(x[1:]), "all": 1, "last": numel(x[:-1])}[a["over"]]

    def flops(self, a: Args, x: Shape, y: Shape) -> int:
        return self.norm_flops(x, self.groups(a, x), a["affine"])

    # `last` over a spatial axis (a [C, L] map) mixes its positions; over tokens [N, C] it reads
    # one token's channels (tokens are already global context: see layers/attention.py)
    def sees_all(self, a: Args, x: Shape, y: Shape) -> bool:
        return (a["over"] == "all" and spread(x[1:])) or (a["over"] == "last" and len(x) > 1 and x[-1] > 1)

    def saved(self, a: Args, x: Shape, y: Shape) -> tuple[Keep, ...]:
        groups = self.groups(a, x)
        return KEEP_INPUT, new(groups, self.stats_dtype(a)), new(groups, self.stats_dtype(a))

    def autocast(self, a: Args, x: Shape, device: str) -> str:
        return FLOAT32 if device == "cuda" else SAME  # layer_norm is on CUDA's float32 list

    def build(self, a: Args, x: Shape, y: Shape) -> Any:
        if a["over"] == "channels":
            return self.torch("ChannelLayerNorm", x[0], a["eps"], a["affine"])
        shape = [x[-1]] if a["over"] == "last" else list(x)
        return self.torch("nn").LayerNorm(shape, eps=a["eps"], elementwise_affine=a["affine"])


@register
class InstanceNorm(Norm):
    doc = "instance norm"
    name = "in"
    examples = ("8x5x5 | in", "8x5x5 | in affine=true track_running_stats=true", "4x6 | in", "4x3x3x3 | in")
    costs = (
        "2C (affine)",
        "2C + 1 with `track_running_stats`",
        "",
        "5·X + 2·X (affine) + 4 per normalized group; with `track_running_stats` 2·X + 2·X (affine), like bn",
    )
    saves = ("its input and 2 statistics per channel, as batch norm over [1, N·C, …]; the weight and running "
             "statistics repeated per sample (C each) when it has them")
    draws = ("in affine=true",)
    args = (Arg("affine", boolean, False), Arg("track_running_stats", boolean, False), Arg("eps", number(0), 1e-5))

    def shape(self, a: Args, x: Shape) -> Shape:
        _, n = spatial(x, self.name)
        if not a["track_running_stats"] and numel(n) == 1:
            raise LayerError("instance norm over a single position has no variance (PyTorch refuses it): "
                             "use track_running_stats or a larger input")
        return x

    def params(self, a: Args, x: Shape, y: Shape) -> int:
        return 2 * x[0] if a["affine"] else 0

    def buffers(self, a: Args, x: Shape, y: Shape) -> int:
        return 2 * x[0] + 1 if a["track_running_stats"] else 0

    def counters(self, a: Args, x: Shape, y: Shape) -> int:
        return 1 if a["track_running_stats"] else 0  # num_batches_tracked

    def flops(self, a: Args, x: Shape, y: Shape) -> int:
        if a["track_running_stats"]:  # eval mode with running stats: a scale and a shift, like bn
            return 2 * numel(x) + (2 * numel(x) if a["affine"] else 0)
        return self.norm_flops(x, x[0], a["affine"])

    def sees_all(self, a: Args, x: Shape, y: Shape) -> bool:
        return not a["track_running_stats"] and spread(x[1:])  # running stats are constants

    def train_flops(self, a: Args, x: Shape, y: Shape) -> int:
        return self.norm_flops(x, x[0], a["affine"])  # training normalizes by the sample's own statistics

    # instance_norm runs batch norm over [1, N*C, ...] with the weight and running stats repeated
    # N times (new tensors batch norm keeps); the statistics are in the weight's dtype when there
    # is a weight or running stats, else in the input's
    def saved(self, a: Args, x: Shape, y: Shape) -> tuple[Keep, ...]:
        c = x[0]
        stats = PARAM if a["affine"] or a["track_running_stats"] else ACT
        repeats = (1 if a["affine"] else 0) + (2 if a["track_running_stats"] else 0)
        return (KEEP_INPUT, *(new(c, PARAM) for _ in range(repeats)), new(c, stats), new(c, stats))

    def scratch(self, a: Args, x: Shape, y: Shape) -> tuple[tuple[Keep, ...], tuple[Keep, ...]]:
        return (), ((new(x[0], PARAM),) if a["affine"] else ())  # the repeated weight's gradient (N·C), then summed

    def build(self, a: Args, x: Shape, y: Shape) -> Any:
        return self.torch("instance_norm", len(x) - 1, x[0], a["eps"], a["affine"], a["track_running_stats"])


@register
class GroupNorm(Norm):
    doc = "group norm"
    name = "gn"
    examples = ("8x5x5 | gn 4", "8x10 | gn 2 affine=false")
    costs = ("2C (affine)", "", "", "5·X + 2·X (affine) + 4 per normalized group")
    saves = "its input and 2 statistics per group"
    draws = ("gn 1",)
    positional = ("groups",)
    args = (Arg("groups", integer()), Arg("affine", boolean, True), Arg("eps", number(0), 1e-5))

    def shape(self, a: Args, x: Shape) -> Shape:
        if x[0] % a["groups"]:
            raise LayerError(f"channels {x[0]} are not divisible by groups {a['groups']}")
        if x[0] // a["groups"] * numel(x[1:]) == 1:
            # PyTorch refuses this at batch 1; at any batch each group normalizes one value to 0
            raise LayerError(f"each of the {a['groups']} groups holds a single value, which has no variance")
        return x

    def params(self, a: Args, x: Shape, y: Shape) -> int:
        return 2 * x[0] if a["affine"] else 0

    def flops(self, a: Args, x: Shape, y: Shape) -> int:
        return self.norm_flops(x, a["groups"], a["affine"])

    def saved(self, a: Args, x: Shape, y: Shape) -> tuple[Keep, ...]:
        return KEEP_INPUT, new(a["groups"], self.stats_dtype(a)), new(a["groups"], self.stats_dtype(a))

    def autocast(self, a: Args, x: Shape, device: str) -> str:
        return FLOAT32 if device == "cuda" else SAME  # group_norm is on CUDA's float32 list

    def build(self, a: Args, x: Shape, y: Shape) -> Any:
        return self.torch("nn").GroupNorm(a["groups"], x[0], eps=a["eps"], affine=a["affine"])


@register
class LocalResponseNorm(Kind):
    """Local response normalization across channels (AlexNet), as PyTorch computes it:
    b_c = a_c / (k + alpha/size * sum of a_c'^2 over the `size` channels c - size//2 ..
    c + (size-1)//2, zero beyond the edges)^beta. No parameters or buffers; the spatial field is
    unchanged (the window runs over channels only).

    FLOPs per element: 1 square, size - 1 adds for the window sum (at every channel: the edge
    channels' zero padding is summed too, as PyTorch does and as the pools count their padding),
    1 multiply by alpha/size, 1 add of k, 1 power, 1 divide: size + 4.

    Training, as F.local_response_norm runs it: it keeps its input (for the square and the
    divide), the zero-padded squares the window average reads (N·(C + size − 1)·positions), and
    the power's input and result (X each). Under --amp the power runs in float32 (CUDA's list; on
    the CPU the 3-D average pool does), so the output and the last two are float32 while the
    input stays as it came (MIXED); convcalc then counts the padded squares in float32 too,
    which is what the CPU does and 2 bytes per element more than CUDA. Backward FLOPs per
    element: size + 5 (the direct term, and the window sum of dy·y/d scaled back)."""

    doc = ("local response normalization across channels (AlexNet), as `nn.LocalResponseNorm`: a / (k + "
           "alpha/size · Σ a²)^beta over `size` neighbouring channels; here `k` is the additive constant, not a "
           "kernel, and `alpha` is divided by `size` (the 2012 paper's alpha is not: its 1e-4 is `alpha: 5e-4` "
           "at size 5)")
    name = "lrn"
    examples = (
        "96x13x13 | lrn 5 alpha=5e-4 beta=0.75 k2",
        "6x20 | lrn 4 k=1.5",
        "3x4x5x6 | lrn 2 beta=0.5",
        "3x6x6 | lrn 7",
    )
    costs = (
        "",
        "",
        "",
        "X·(size + 4): 1 square, size − 1 adds for the window sum (at every channel, the zero padding past the "
        "first and last channels included, as PyTorch sums it and as the pools count their padding), 1 multiply "
        "by alpha/size, 1 add of k, 1 power, 1 divide",
    )
    saves = "its input, the padded squares N·(C + size − 1)·positions, and the power's input and result (X each)"
    backward_costs = ("X·(size + 5)", "")
    draws = ("lrn {k}",)
    positional = ("size",)
    args = (Arg("size", integer(), doc="channels in the window"), Arg("alpha", number(), 1e-4),
            Arg("beta", number(), 0.75), Arg("k", number(), 1.0, "additive constant"))

    def shape(self, a: Args, x: Shape) -> Shape:
        spatial(x, self.name)  # PyTorch needs [N, C, ...]: a flat input is refused
        return x

    def flops(self, a: Args, x: Shape, y: Shape) -> int:
        return numel(x) * (a["size"] + 4)

    def saved(self, a: Args, x: Shape, y: Shape) -> tuple[Keep, ...]:
        positions = numel(x) // x[0]
        return KEEP_INPUT, new((x[0] + a["size"] - 1) * positions), new(numel(x)), new(numel(x))

    def backward_flops(self, a: Args, x: Shape, y: Shape) -> tuple[int, int]:
        return numel(x) * (a["size"] + 5), 0

    def scratch(self, a: Args, x: Shape, y: Shape) -> tuple[tuple[Keep, ...], tuple[Keep, ...]]:
        # F.local_response_norm is a chain of elementwise ops: its forward's intermediates die as
        # the next is made (fewer than its output and what it keeps); its backward has three
        # beside the input gradient at its busiest
        return (), (new(3 * numel(x)),)

    def autocast(self, a: Args, x: Shape, device: str) -> str:
        # its power runs in float32 on CUDA, and the output with it; on the CPU the 3-D average
        # pool (over [C, positions...] of a 2-D or 3-D map) does; a 1-D map's 2-D pool does not
        return SAME if device == "cpu" and len(x) == 2 else MIXED

    rf = same_field

    def build(self, a: Args, x: Shape, y: Shape) -> Any:
        return self.torch("nn").LocalResponseNorm(a["size"], alpha=a["alpha"], beta=a["beta"], k=a["k"])


@register
class LayerScale(Kind):
    doc = "a learnable per-channel multiplier (C params)"
    name = "layer_scale"
    examples = ("8x5x5 | layer_scale", "8x10 | layer_scale init=0.1")
    costs = ("C", "", "", "X")
    saves = "its input (for the scale's gradient)"
    backward_costs = ("X", "2·X (Σ dy·x)")
    draws = ("layer_scale",)
    args = (Arg("init", number(), 1e-6, "initial value"),)

    def shape(self, a: Args, x: Shape) -> Shape:
        return x

    def params(self, a: Args, x: Shape, y: Shape) -> int:
        return x[0]

    def flops(self, a: Args, x: Shape, y: Shape) -> int:
        return numel(x)

    def saved(self, a: Args, x: Shape, y: Shape) -> tuple[Keep, ...]:
        return (KEEP_INPUT,)  # x * gamma keeps x for gamma's gradient (gamma is a parameter)

    def backward_flops(self, a: Args, x: Shape, y: Shape) -> tuple[int, int]:
        return numel(x), 2 * numel(x)

    def autocast(self, a: Args, x: Shape, device: str) -> str:
        return MIXED  # a low-precision input times a float32 parameter is float32

    rf = same_field

    def build(self, a: Args, x: Shape, y: Shape) -> Any:
        return self.torch("LayerScale", x[0], len(x) - 1, a["init"])
