"""Channel and spatial rearrangements, on kind.py's `Movement`: no arithmetic, nothing autograd
keeps (pixel shuffle and unshuffle, channel shuffle, shift, slice, split, crop), and padding, a
copy into a larger tensor."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from ..args import Arg, axes, choice, integer, number, pad_amounts
from ..errors import LayerError
from .geometry import axis_name, numel, rf_window, same_field, spatial
from .kind import FLOAT32, KEEP_INPUT, RF, SAME, Args, Keep, Kind, Movement, Shape, new, register

# --------------------------------------------------------------------------------------------
# Channel and spatial rearrangements (no arithmetic)


class PixelShuffleFamily(Movement):
    """Rearrangements between channels and space by a factor r on both axes of a 2-D map, as
    PyTorch's pixel_shuffle and pixel_unshuffle (ESPCN's sub-pixel convolution). No parameters,
    no FLOPs: every value is copied once. Training keeps nothing: the backward is the inverse
    rearrangement, a new tensor."""

    saves = "nothing (its backward is the inverse rearrangement)"
    backward_costs = ("", "")
    positional = ("factor",)
    args = (Arg("factor", integer(), doc="r: the upscale (shuffle) or downscale (unshuffle) factor"),)

    def prepare(self, a: Args, nd: int) -> Args:
        if nd != 2:
            raise LayerError(f"{self.name} rearranges a 2-D map [C, H, W], as PyTorch's: not a "
                             f"{'flat' if nd == 0 else f'{nd}-D'} one")
        return a

    def build(self, a: Args, x: Shape, y: Shape) -> Any:
        module = self.torch("nn").PixelShuffle if self.name == "pixel_shuffle" else self.torch("nn").PixelUnshuffle
        return module(a["factor"])


@register
class PixelShuffle(PixelShuffleFamily):
    doc = "sub-pixel upsampling: [C·r², H, W] → [C, H·r, W·r] (ESPCN), as `nn.PixelShuffle`"
    name = "pixel_shuffle"
    examples = ("8x3x3 | pixel_shuffle 2", "4x6x6 | conv 27 k3 p1 | pixel_shuffle 3 | conv 3 k3 p1",
                "18x2x5 | pixel_shuffle 3")
    draws = ("conv {m}x4 k1 | pixel_shuffle 2", "pixel_shuffle 1")
    costs = ("", "", "", "0 (data movement only)")

    def shape(self, a: Args, x: Shape) -> Shape:
        c, n = spatial(x, self.name)
        r = a["factor"]
        if c % (r * r):
            raise LayerError(f"channels {c} are not divisible by factor² = {r}² = {r * r}")
        return (c // (r * r), *(ni * r for ni in n))

    def rf(self, a: Args, x: Shape, y: Shape, r: RF) -> RF:
        # Output position o reads the input position o // r: like nearest upsampling by r.
        return tuple((size, jump / a["factor"] if type(jump) is not int else Fraction(jump, a["factor"]), start)
                     for size, jump, start in r)


@register
class PixelUnshuffle(PixelShuffleFamily):
    doc = "the inverse: [C, H, W] → [C·r², H/r, W/r] (space to depth), as `nn.PixelUnshuffle`"
    name = "pixel_unshuffle"
    examples = ("3x8x8 | pixel_unshuffle 2", "2x6x9 | pixel_unshuffle 3 | conv 4 k1", "4x4x4 | pixel_unshuffle 4")
    draws = ("pixel_unshuffle 1", "pad {pp} | crop 2 | pixel_unshuffle 2")
    costs = ("", "", "", "0 (data movement only)")

    def shape(self, a: Args, x: Shape) -> Shape:
        c, n = spatial(x, self.name)
        r = a["factor"]
        for i, ni in enumerate(n):
            if ni % r:
                raise LayerError(f"axis {axis_name(i, len(n))} of {ni} is not divisible by factor {r}")
        return (c * r * r, *(ni // r for ni in n))

    def rf(self, a: Args, x: Shape, y: Shape, r: RF) -> RF:
        # Output position o reads the r input positions r·o ... r·o + r - 1: a window r wide at stride r.
        k = (a["factor"],) * len(r)
        return rf_window(r, k, k, (0,) * len(r))


@register
class ChannelShuffle(Movement):
    doc = "ShuffleNet's channel interleave"
    name = "channel_shuffle"
    examples = ("8x4x4 | channel_shuffle 4",)
    costs = ("", "", "", "0 (data movement only)")
    saves = "nothing (views and a copy)"
    backward_costs = ("", "")
    draws = ("channel_shuffle {m}",)
    positional = ("groups",)
    args = (Arg("groups", integer()),)

    def shape(self, a: Args, x: Shape) -> Shape:
        if x[0] % a["groups"]:
            raise LayerError(f"channels {x[0]} are not divisible by groups {a['groups']}")
        return x

    rf = same_field

    def build(self, a: Args, x: Shape, y: Shape) -> Any:
        return self.torch("ChannelShuffle", a["groups"])


@register
class Shift(Movement):
    """ShiftNet's shift: the channels are split into prod(k) groups, each moved by one offset of
    a k-window (the remainder stays put); zeros fill in. No parameters, no FLOPs."""

    doc = ("ShiftNet's zero-FLOP spatial shift: the channels split into k·k groups, each moved by one offset of "
           "a k×k window")
    name = "shift"
    examples = ("9x6x6 | shift", "10x6x6 | shift k=3x1", "8x12 | shift 5")
    costs = ("", "", "", "0 (data movement only)")
    saves = "nothing (slice copies)"
    backward_costs = ("", "")
    draws = ("shift {k}",)
    positional = ("k",)
    args = (Arg("k", axes(), 3, "shift window"),)

    def shape(self, a: Args, x: Shape) -> Shape:
        spatial(x, self.name)
        return x

    def scratch(self, a: Args, x: Shape, y: Shape) -> tuple[tuple[Keep, ...], tuple[Keep, ...]]:
        # torch_ops.Shift copies slices into zeros: each copy's backward makes a gradient of the
        # whole input (zeros around its slice), summed into the others' into a new tensor
        return (), (new(2 * numel(x)),)

    def rf(self, a: Args, x: Shape, y: Shape, r: RF) -> RF:
        return rf_window(r, a["k"], (1,) * len(a["k"]), tuple(k // 2 for k in a["k"]))

    def build(self, a: Args, x: Shape, y: Shape) -> Any:
        return self.torch("Shift", a["k"], x[0])


class ChannelView(Movement):
    """A part of the channels, as a view: no work, nothing kept for the backward pass."""

    costs = ("", "", "", "0 (data movement only)")
    saves = "nothing (a view; its backward makes a gradient of the whole input, zeros elsewhere)"
    backward_costs = ("", "")
    view = train_view = True

    rf = same_field


@register
class Slice(ChannelView):
    doc = ("keeps channels `begin` to `end` (end excluded), any range: GhostNet's and DPN's "
           "`x[:, a:b]`; equal parts are `split`")
    name = "slice"
    examples = ("8x4x4 | slice 0 5", "9x5 | slice 3 9", "6x2x3x3 | slice 5 6")
    draws = ("slice 0 1",)
    positional = ("begin", "end")
    args = (Arg("begin", integer(0)), Arg("end", integer(1)))

    def shape(self, a: Args, x: Shape) -> Shape:
        if len(x) < 2:
            raise LayerError(f"slice needs a feature map [C, ...], got the flat [{x[0]}]" if x else
                             "slice needs a feature map [C, ...]")
        if not a["begin"] < a["end"] <= x[0]:
            raise LayerError(f"channels {a['begin']}:{a['end']} are not a range within the {x[0]} channels")
        return (a["end"] - a["begin"], *x[1:])

    def build(self, a: Args, x: Shape, y: Shape) -> Any:
        return self.torch("ChannelSlice", a["begin"], a["end"])


@register
class Split(ChannelView):
    doc = "keeps channel chunk `index` of `parts` equal chunks (ShuffleNetV2's split)"
    name = "split"
    examples = ("8x4x4 | split 2 1", "9x5 | split 3")
    draws = ("split {m} {idx}",)
    positional = ("parts", "index")
    args = (Arg("parts", integer()), Arg("index", integer(0), 0))

    def shape(self, a: Args, x: Shape) -> Shape:
        if x[0] % a["parts"]:
            raise LayerError(f"channels {x[0]} are not divisible into {a['parts']} parts")
        if a["index"] >= a["parts"]:
            raise LayerError(f"index {a['index']} is out of range for {a['parts']} parts")
        return (x[0] // a["parts"], *x[1:])

    def build(self, a: Args, x: Shape, y: Shape) -> Any:
        return self.torch("Split", a["parts"], a["index"])


@register
class Pad(Kind):
    """Explicit padding of the spatial axes, as F.pad (nn.ZeroPad/ConstantPad/ReflectionPad/
    ReplicationPad/CircularPad): axis i grows from n to left + n + right. It allocates a new
    tensor (a copy, not a view) and does no arithmetic: no parameters, no MACs, no FLOPs.

    PyTorch's refusals, per axis: `reflect` needs left < n and right < n (the mirror must not
    reach past the far edge), `circular` needs left <= n and right <= n (it wraps around at most
    once); `constant` and `replicate` take any pad. A fill `value` other than 0 is constant-only.
    The receptive field is the geometric one, as for a conv's zero padding: reflect, replicate
    and circular padding copy input positions there instead of zeros."""

    doc = ("explicit padding of the spatial axes, as `F.pad` and "
           "`nn.ZeroPad`/`ConstantPad`/`ReflectionPad`/`ReplicationPad`/`CircularPad`: n → left + n + right per "
           "axis. `p` takes conv's explicit forms (an int, a per-axis list, per-axis `[left, right]` pairs), not "
           "the words, and is never negative (write a crop as `crop`). As PyTorch: `reflect` needs each pad < n, "
           "`circular` each pad ≤ n; `value` fills `constant` padding only. A new tensor (a copy)")
    name = "pad"
    examples = (
        "3x6x6 | pad 1",
        "3x5x7 | pad 1:2x0:4 reflect",
        "2x9 | pad 2 replicate",
        "2x4x4x4 | pad 1x0x2 circular",
        "3x6x6 | pad 2 value=-1.5 | conv 4 k3",
        "2x3x5 | pad 0:3x5:1 circular | maxpool 2",
        "4x6x6 | pad 0:1x0:1 value=-inf | maxpool 3 s2",
    )
    costs = (
        "",
        "",
        "",
        "0 (a copy into a larger tensor: reflect, replicate and circular copy input values, constant writes the "
        "fill)",
    )
    saves = "nothing; `reflect` and `replicate` their input"
    backward_costs = ("Y − X for reflect, replicate, circular (the copied positions' gradients added back)", "")
    draws = (
        "pad {k}",
        "pad {pp} value={s}",
        "pad {k} reflect",
        "pad {k} replicate",
        "pad {s} circular | conv {c} k{k}",
    )
    positional = ("p", "mode")
    args = (Arg("p", pad_amounts, doc="padding: int, per-axis list or per-axis [left, right] pairs"),
            Arg("mode", choice("constant", "reflect", "replicate", "circular"), "constant"),
            Arg("value", number(infinite=True), 0.0,
                "fill value of constant padding (-.inf before a max pool: TensorFlow's uneven SAME padding)"))

    def prepare(self, a: Args, nd: int) -> Args:
        if a["mode"] != "constant" and a["value"] != 0:
            raise LayerError(f"value {a['value']} only applies to constant padding, not {a['mode']} "
                             f"(PyTorch refuses it too)")
        return a

    def shape(self, a: Args, x: Shape) -> Shape:
        c, n = spatial(x, self.name)
        for i, (ni, (left, right)) in enumerate(zip(n, a["p"])):
            if a["mode"] == "reflect" and max(left, right) >= ni:
                raise LayerError(f"reflect padding ({left}, {right}) must be smaller than the input {ni} "
                                 f"on axis {axis_name(i, len(n))}")
            if a["mode"] == "circular" and max(left, right) > ni:
                raise LayerError(f"circular padding ({left}, {right}) must be at most the input {ni} "
                                 f"on axis {axis_name(i, len(n))}: it would wrap around more than once")
        return (c, *(left + ni + right for ni, (left, right) in zip(n, a["p"])))

    def flops(self, a: Args, x: Shape, y: Shape) -> int:
        return 0  # a copy into a larger tensor

    # constant padding's backward is a slice and circular's (a cat of slices) one per piece;
    # reflection_pad and replication_pad keep their input
    def saved(self, a: Args, x: Shape, y: Shape) -> tuple[Keep, ...]:
        return (KEEP_INPUT,) if a["mode"] in ("reflect", "replicate") else ()

    def backward_flops(self, a: Args, x: Shape, y: Shape) -> tuple[int, int]:
        return (0 if a["mode"] == "constant" else numel(y) - numel(x)), 0

    def scratch(self, a: Args, x: Shape, y: Shape) -> tuple[tuple[Keep, ...], tuple[Keep, ...]]:
        # circular padding copies the input and its wrapped edges into slices of a new tensor: the
        # backward clones the output's gradient, and each copy's gradient is a whole-input tensor
        # summed into the others'
        return (), ((new(numel(y)), new(2 * numel(x))) if a["mode"] == "circular" else ())

    def autocast(self, a: Args, x: Shape, device: str) -> str:
        # the CPU's float32 list has reflection_pad1d/2d and replication_pad1d/2d/3d
        if device == "cpu" and (a["mode"] == "replicate" or (a["mode"] == "reflect" and len(x) < 4)):
            return FLOAT32
        return SAME

    def rf(self, a: Args, x: Shape, y: Shape, r: RF) -> RF:
        # output position i is input position i - left: start moves left by left * jump
        return tuple((size, jump, start - left * jump) for (size, jump, start), (left, _) in zip(r, a["p"]))

    def build(self, a: Args, x: Shape, y: Shape) -> Any:
        return self.torch("SpatialPad", a["p"], a["mode"], a["value"])


@register
class Crop(Movement):
    """A window of `size` positions per spatial axis: centred (offset (n - size) // 2, the rule
    `concat crop: true` uses, as U-Net and torchvision's CenterCrop) or from a fixed `offset`.
    Slicing: a view of the input, no parameters, no FLOPs."""

    doc = ("keeps `size` positions per spatial axis, from `offset` or from (n − size) // 2, the offset `concat "
           "crop: true` uses (U-Net, torchvision's `CenterCrop`); `size` > n or `offset` + `size` > n is an "
           "error. A view. Both importers map slices of spatial axes to it: a TCN's chomp `x[:, :, :-k]` is "
           "`crop n−k 0`")
    name = "crop"
    examples = (
        "3x12x12 | crop 8",
        "3x12x11 | crop 5x6 offset=7x0",
        "2x9 | crop 4 1",
        "2x5x6x7 | crop 3",
        "4x10x10 | conv 4 k3 | crop 5 | relu",
        "2x30 | conv 3 k3 p2 | crop 30 0 | relu",  # a TCN's chomp: x[:, :, :-2] after a causally padded conv
    )
    costs = ("", "", "", "0 (a view: slicing)")
    saves = "nothing (a view; its backward makes a gradient of the whole input, zeros elsewhere)"
    backward_costs = ("", "")
    draws = ("crop {k}", "crop {k} {pp}")
    view = train_view = True
    positional = ("size", "offset")
    args = (Arg("size", axes(), doc="output size per spatial axis"),
            Arg("offset", axes(0), None, "first kept position per axis (default: centred)"))

    def offsets(self, a: Args, x: Shape) -> Shape:
        if a["offset"] is not None:
            return a["offset"]
        return tuple((ni - si) // 2 for ni, si in zip(x[1:], a["size"]))

    def shape(self, a: Args, x: Shape) -> Shape:
        c, n = spatial(x, self.name)
        for i, (ni, si) in enumerate(zip(n, a["size"])):
            if si > ni:
                raise LayerError(f"crop size {si} is larger than the input {ni} on axis {axis_name(i, len(n))}")
        for i, (ni, si, oi) in enumerate(zip(n, a["size"], self.offsets(a, x))):
            if oi + si > ni:
                raise LayerError(f"offset {oi} + size {si} = {oi + si} reaches past the input {ni} "
                                 f"on axis {axis_name(i, len(n))}")
        return (c, *a["size"])

    def scratch(self, a: Args, x: Shape, y: Shape) -> tuple[tuple[Keep, ...], tuple[Keep, ...]]:
        # slicing one axis after the other, its backward rebuilds the input's gradient one axis at
        # a time: beside the whole, the one still cropped on the first axis (the output's gradient
        # is gone by then)
        extra = x[0] * y[1] * numel(x[2:]) - numel(y) if len(x) > 2 else 0
        return (), ((new(extra),) if extra > 0 else ())

    def rf(self, a: Args, x: Shape, y: Shape, r: RF) -> RF:
        # output position i is input position i + offset: start moves right by offset * jump
        return tuple((size, jump, start + o * jump) for (size, jump, start), o in zip(r, self.offsets(a, x)))

    def build(self, a: Args, x: Shape, y: Shape) -> Any:
        return self.torch("Crop", self.offsets(a, x), a["size"])
