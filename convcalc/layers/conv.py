"""The convolutions: `ConvFamily` (a k-window at stride s over padded input, its counts and
training rules) and the kinds on it (conv, dwconv, pwconv, sepconv, fftconv), and the transposed
convolution (deconv), which counts over input positions. deform_conv, a ConvFamily too, is
deform.py's: its sampling is a kernel of its own."""

from __future__ import annotations

from math import prod
from typing import Any

from ..args import Arg, axes, integer, symmetric_padding
from ..errors import LayerError
from .geometry import (BIAS, D1, K, OUT, P_CONV, S1, axis_name, check_groups, dims, effective, named, numel, per_group,
                       resolve_padding, rf_transposed, rf_window, spatial, uncovered_warnings, window_out)
from .kind import (COMPLEX, KEEP_INPUT, LOW, REGISTRY, RF, SAME, Args, Keep, Kind, Note, Shape, Window, new,
                   register, weight)

# --------------------------------------------------------------------------------------------
# Convolutions


def grouped_per_channel(a: Args, y: Shape) -> bool:
    """A grouped convolution with as many groups (more than one) as output channels."""
    return bool(a.get("groups", 1) > 1 and a.get("groups") == y[0])


class ConvFamily(Kind):
    """Shared geometry of the convolutions: a k-window (dilation d) at stride s over padded input.

    Subclasses say how many output channels and groups they have (`channels`). Counts:
      params = out * (C/groups) * prod(k) + out (bias)
      macs   = out_elements * (C/groups) * prod(k)            # one MAC per weight use, bias excluded
      flops  = 2 * macs + out_elements (bias adds)
    Training: it keeps its input (for the weight gradient; the padded copy when the padding is
    uneven, which is a pad before the conv) and its weight; the backward is two convolutions of
    the same size as the forward, one per gradient: 2 * macs each, groups respected, plus one add
    per output element for the bias gradient.
    """

    positional = ("out",)
    aligned = True
    saves = "its input (the padded copy when the padding is uneven) and its weight"
    backward_costs = ("2·MACs", "2·MACs + Y·bias")

    def depthwise(self, a: Args, y: Shape) -> bool:
        """As many groups as output channels (more than one)."""
        return grouped_per_channel(a, y)

    def channels(self, a: Args, c: int) -> tuple[int, int]:
        """(output channels, groups) for input channels c."""
        return a["out"], a["groups"]

    def geometry(self, a: Args, x: Shape):
        c, n = spatial(x, self.name)
        k, s, d = a["k"], a["s"], a["d"]
        pads = resolve_padding(a["p"], n, k, s, d)
        k_eff = tuple(effective(ki, di) for ki, di in zip(k, d))
        return c, n, k_eff, pads

    def shape(self, a: Args, x: Shape) -> Shape:
        c, n, k_eff, pads = self.geometry(a, x)
        out, groups = self.channels(a, c)
        check_groups(c, out, groups)
        sizes_ = []
        for i, (ni, ki, si, (left, right)) in enumerate(zip(n, k_eff, a["s"], pads)):
            if ni + left + right < ki:
                kernel = f"{ki} (kernel {a['k'][i]} at dilation {a['d'][i]})" if a["d"][i] > 1 else str(ki)
                raise LayerError(
                    f"kernel {kernel} is larger than the padded input {ni + left + right} "
                    f"({ni} + {left} + {right} padding) on axis {axis_name(i, len(n))}"
                )
            sizes_.append(window_out(ni, ki, si, left, right))
        return (out, *sizes_)

    def fan_in(self, a: Args, c: int) -> int:
        """Weights per filter: (C/groups) * prod(k), the notes' F*F*C (for input channels c)."""
        return named("fan_in", per_group(c, self.channels(a, c)[1]) * prod(a["k"]))

    def params(self, a: Args, x: Shape, y: Shape) -> int:
        # K filters of fan_in weights and a bias each: the notes' K*(F*F*C/g + 1)
        return self.channels(a, x[0])[0] * (self.fan_in(a, x[0]) + (1 if a["bias"] else 0))

    def tensors(self, a: Args, x: Shape, y: Shape) -> tuple[int, ...]:
        out, groups = self.channels(a, x[0])
        return (out * (x[0] // groups) * prod(a["k"]),) + ((out,) if a["bias"] else ())

    def macs(self, a: Args, x: Shape, y: Shape) -> int:
        return numel(y) * self.fan_in(a, x[0])  # one MAC per weight per output position

    def flops(self, a: Args, x: Shape, y: Shape) -> int:
        return 2 * self.macs(a, x, y) + (numel(y) if a["bias"] else 0)

    def fvcore(self, a: Args, x: Shape, y: Shape) -> int:
        return self.macs(a, x, y)  # one per multiply-add, bias ignored

    def read_input(self, a: Args, x: Shape) -> Keep:
        """The input as the convolution reads it: uneven padding is a pad layer before it
        (torch_ops.conv), and the conv keeps the padded copy."""
        c, n, _, pads = self.geometry(a, x)
        if all(left == right for left, right in pads):
            return KEEP_INPUT
        return new(c * prod(ni + left + right for ni, (left, right) in zip(n, pads)), name="padded")

    def saved(self, a: Args, x: Shape, y: Shape) -> tuple[Keep, ...]:
        out, groups = self.channels(a, x[0])
        return (self.read_input(a, x), weight(out * (x[0] // groups) * prod(a["k"])))

    # dL/dx: a transposed convolution of the output gradient with the same weights; dL/dw: a
    # convolution of the input with the output gradient: each one multiply-add per weight use,
    # as the forward (groups respected); dL/db: one add per output element.
    def backward_flops(self, a: Args, x: Shape, y: Shape) -> tuple[int, int]:
        macs = self.macs(a, x, y)
        return 2 * macs, 2 * macs + (numel(y) if a["bias"] else 0)

    def flop_counter_backward_ungrouped(self, a: Args, x: Shape, y: Shape, input_grad: bool) -> int | None:
        groups = self.channels(a, x[0])[1]  # both gradients counted as if groups were 1: groups times the MACs
        return 2 * self.macs(a, x, y) * (groups + (1 if input_grad else 0)) if groups > 1 else None

    def autocast(self, a: Args, x: Shape, device: str) -> str:
        return LOW

    def rf(self, a: Args, x: Shape, y: Shape, r: RF) -> RF:
        _, _, k_eff, pads = self.geometry(a, x)
        return rf_window(r, k_eff, a["s"], tuple(left for left, _ in pads))

    def warnings(self, a: Args, x: Shape, y: Shape) -> tuple[Note, ...]:
        _, n, k_eff, pads = self.geometry(a, x)
        notes = uncovered_warnings(self.name, n, k_eff, a["s"], pads, y[1:])
        # Only where the padding really is uneven: a dilated even kernel can span an odd width
        # (k 4, d 2 spans 7), and a strided one may need no padding at all (k 2, s 2 on 8).
        if a["p"] == "same" and any(ke % 2 == 0 and left != right for ke, (left, right) in zip(k_eff, pads)):
            notes += (Note("even-kernel-same", f"even kernel {dims(a['k'])} with 'same' padding pads unevenly: {pads}"),)
        return notes

    def window(self, a: Args, x: Shape) -> tuple[Window, ...] | None:
        _, _, _, pads = self.geometry(a, x)
        return tuple(Window(k, s, d, left, right) for k, s, d, (left, right) in zip(a["k"], a["s"], a["d"], pads))

    def regular_equivalent(self, a: Args, x: Shape) -> tuple[str, Args] | None:
        return ("grouped", {**a, "groups": 1}) if a.get("groups", 1) > 1 else None

    def build(self, a: Args, x: Shape, y: Shape) -> Any:
        out, groups = self.channels(a, x[0])
        _, _, _, pads = self.geometry(a, x)
        return self.torch("conv", len(x) - 1, x[0], out, a["k"], a["s"], pads, a["d"], groups, a["bias"])


@register
class Conv(ConvFamily):
    doc = "convolution (1-D/2-D/3-D, grouped when groups > 1)"
    name = "conv"
    examples = (
        "3x16x16 | conv 8 k3 s2 p1",
        "4x9x11 | conv 6 k=3x2 s=2x1 p=same d=1x2 g2",
        "2x20 | conv 4 k5 p=full bias=false",
        "2x6x7x8 | conv 4 k3 s2 p=same",
    )
    costs = ("out·(C/g)·prod(k) + out·bias", "", "Y·(C/g)·prod(k)", "2·MACs + Y·bias")
    draws = ("conv {c} k{k} s{s} p={p} d{d}",)
    args = (OUT, K, S1, P_CONV, D1, Arg("groups", integer(), 1), BIAS)
    textbook_flops = True


@register
class DepthwiseConv(ConvFamily):
    doc = "depthwise: groups = input channels, out = C × multiplier"
    name = "dwconv"
    examples = (
        "8x12x12 | dwconv 3 s2 p1",
        "4x10x10 | dwconv 5 multiplier=3 p=same bias=false",
        "4x30 | dwconv 3 d2",
    )
    costs = ("C·m·prod(k) + C·m·bias", "", "Y·prod(k)", "2·MACs + Y·bias")
    draws = ("dwconv {k} s{s} p={p} multiplier={m}",)
    positional = ("k",)
    args = (K, S1, P_CONV, D1, Arg("multiplier", integer(), 1, "output channels per input channel"), BIAS)
    textbook_flops = True

    def depthwise(self, a: Args, y: Shape) -> bool:
        return True

    def channels(self, a: Args, c):
        return c * a["multiplier"], named("g", c)  # groups = C

    def regular_equivalent(self, a: Args, x: Shape) -> tuple[str, Args] | None:
        return "depthwise", {**a, "out": x[0] * a["multiplier"], "groups": 1}


@register
class PointwiseConv(ConvFamily):
    doc = "pointwise 1x1 convolution"
    name = "pwconv"
    examples = ("16x8x8 | pwconv 4", "16x8x8 | pwconv 8 g4 bias=false", "6x5x5x5 | pwconv 3")
    costs = ("out·(C/g) + out·bias", "", "Y·(C/g)", "2·MACs + Y·bias")
    draws = ("pwconv {c}",)
    args = (OUT, BIAS, Arg("groups", integer(), 1))
    textbook_flops = True

    def prepare(self, a: Args, nd: int) -> Args:
        return {**a, "k": (1,) * nd, "s": (1,) * nd, "d": (1,) * nd, "p": ((0, 0),) * nd}


@register
class SeparableConv(ConvFamily):
    """Depthwise k x k (no bias), then pointwise 1x1 to `out` (with bias), like Keras'
    SeparableConv. Counts are the sum of the two convolutions:
      params = C*prod(k) + out*C + out (bias)
      macs   = C*prod(k)*mid_positions + out*C*out_positions   (mid = out positions: same grid)
    """

    doc = "depthwise k-window (no bias), then pointwise to `out` (with bias), as Keras' SeparableConv"
    name = "sepconv"
    examples = ("8x12x12 | sepconv 16 k3 p1", "4x9x9 | sepconv 6 k3 s2 p=same bias=false")
    costs = ("C·prod(k) + out·C + out·bias", "", "C·prod(k)·P + out·C·P (P: output positions)", "2·MACs + Y·bias")
    draws = ("sepconv {c} k{k} s{s} p={p}",)
    args = (OUT, K, S1, P_CONV, D1, BIAS)
    saves = "its input (padded copy when uneven), the depthwise output C·P, and both weights"
    backward_costs = ("2·C·prod(k)·P (the depthwise input gradient)", "2·MACs + 2·out·C·P + Y·bias")

    def channels(self, a: Args, c):
        return a["out"], 1

    def regular_equivalent(self, a: Args, x: Shape) -> tuple[str, Args] | None:
        return "depthwise-separable", {**a, "groups": 1}

    def params(self, a: Args, x: Shape, y: Shape) -> int:
        c = x[0]
        return c * prod(a["k"]) + a["out"] * c + (a["out"] if a["bias"] else 0)

    def tensors(self, a: Args, x: Shape, y: Shape) -> tuple[int, ...]:
        return (x[0] * prod(a["k"]), a["out"] * x[0]) + ((a["out"],) if a["bias"] else ())

    def macs(self, a: Args, x: Shape, y: Shape) -> int:
        c, positions = x[0], numel(y[1:])
        return c * prod(a["k"]) * positions + a["out"] * c * positions

    def saved(self, a: Args, x: Shape, y: Shape) -> tuple[Keep, ...]:
        c = x[0]
        return (self.read_input(a, x), weight(c * prod(a["k"])), new(c * numel(y[1:])), weight(a["out"] * c))

    def flop_counter_backward(self, a: Args, x: Shape, y: Shape, input_grad: bool) -> int:
        c, positions = x[0], numel(y[1:])
        depthwise, pointwise = c * prod(a["k"]) * positions, a["out"] * c * positions
        return 2 * (depthwise + pointwise) + 2 * pointwise + (2 * depthwise if input_grad else 0)

    def flop_counter_backward_ungrouped(self, a: Args, x: Shape, y: Shape, input_grad: bool) -> int | None:
        # its depthwise convolution is grouped (C groups), the pointwise not
        depthwise = x[0] * prod(a["k"]) * numel(y[1:])
        return 2 * depthwise * (x[0] + (1 if input_grad else 0)) + 4 * (self.macs(a, x, y) - depthwise)

    # The depthwise input gradient only for the input; both weight gradients, and the pointwise
    # input gradient that the depthwise weights need, always.
    def backward_flops(self, a: Args, x: Shape, y: Shape) -> tuple[int, int]:
        c, positions = x[0], numel(y[1:])
        return (2 * c * prod(a["k"]) * positions,
                2 * self.macs(a, x, y) + 2 * a["out"] * c * positions + (numel(y) if a["bias"] else 0))

    def build(self, a: Args, x: Shape, y: Shape) -> Any:
        _, _, _, pads = self.geometry(a, x)
        nd = len(x) - 1
        depthwise = self.torch("conv", nd, x[0], x[0], a["k"], a["s"], pads, a["d"], x[0], False)
        pointwise = self.torch("conv", nd, x[0], a["out"], (1,) * nd, (1,) * nd, ((0, 0),) * nd, (1,) * nd, 1,
                               a["bias"])
        return self.torch("Sequential", depthwise, pointwise)


@register
class TransposedConv(Kind):
    """Transposed convolution (fractionally strided; "deconvolution" in some papers).

      out_size = (in-1)*s - 2p + d*(k-1) + output_padding + 1
      params   = C * (out/groups) * prod(k) + out (bias)
      macs     = in_elements * (out/groups) * prod(k)   # each input value meets each weight once
      flops    = 2 * macs + out_elements (bias adds)
    Counting over input positions is what makes this exact; tools that reuse the forward-conv
    formula over output positions overcount by s^2 (4x at stride 2 in 2-D). Training: it keeps
    its input and weight; the backward is a convolution per gradient, 2 * macs each.
    """

    doc = "transposed convolution: out (in-1)·s − 2p + d·(k−1) + output_padding + 1"
    name = "deconv"
    examples = (
        "8x5x5 | deconv 4 k3 s2 p1 output_padding=1",
        "4x6 | deconv 6 k4 s2 p1 g2",
        "4x3x4x5 | deconv 2 k3 s2 bias=false",
        "2x5x5 | deconv 2 k3 d2 s1 output_padding=1",
    )
    costs = ("C·(out/g)·prod(k) + out·bias", "", "**X**·(out/g)·prod(k)", "2·MACs + Y·bias")
    saves = "its input and its weight"
    backward_costs = ("2·MACs", "2·MACs + Y·bias")
    draws = ("deconv {c} k{k} s{s} p{pp} output_padding={op}",)
    positional = ("out",)
    aligned = True
    stuffed_note = ("a transposed convolution is a stride-1 convolution (the kernel flipped) over its input with s - 1 "
                    "zeros inserted between neighbouring values and d*(k - 1) - p zeros around it, output_padding more "
                    "after: the same output size as its own rule, checked here")
    args = (OUT, K, S1, Arg("p", symmetric_padding, 0), Arg("output_padding", axes(0), 0), D1,
            Arg("groups", integer(), 1), BIAS)

    def depthwise(self, a: Args, y: Shape) -> bool:
        """As many groups as output channels (more than one)."""
        return grouped_per_channel(a, y)

    def shape(self, a: Args, x: Shape) -> Shape:
        c, n = spatial(x, self.name)
        check_groups(c, a["out"], a["groups"])
        sizes_ = []
        for i, (ni, ki, si, pi, oi, di) in enumerate(zip(n, a["k"], a["s"], a["p"], a["output_padding"], a["d"])):
            if oi >= max(si, di):
                raise LayerError(f"output_padding {oi} must be smaller than either stride {si} or dilation {di}")
            size = (ni - 1) * si - 2 * pi + di * (ki - 1) + oi + 1
            if size < 1:
                raise LayerError(f"output size {size} on axis {axis_name(i, len(n))} is below 1: padding {pi} is too large")
            sizes_.append(size)
        return (a["out"], *sizes_)

    def adjoint_padding(self, k: int, s: int, p: str | int) -> tuple[int, int]:
        """(p, output_padding) on one axis of the transposed conv that is the adjoint of a conv
        with kernel k, stride s and padding p (an int on each side, or valid | same | full):
        valid is 0, full k-1, and 'same', whose conv maps n to ceil(n/s), maps n back to n·s,
        which takes 2p - output_padding = k - s. LayerError when that needs an output_padding
        of s or more, which the shape rule refuses at dilation 1."""
        if isinstance(p, int):
            return p, 0
        if p == "valid":
            return 0, 0
        if p == "full":
            return k - 1, 0
        total = k - s
        pad = max(-(-total // 2), 0)
        extra = 2 * pad - total
        if extra >= s:
            raise LayerError(f"'same' at k={k}, s={s} needs output_padding {extra}, and a transposed conv "
                             f"takes output_padding only below its stride {s}")
        return pad, extra

    def params(self, a: Args, x: Shape, y: Shape) -> int:
        return x[0] * per_group(a["out"], a["groups"]) * prod(a["k"]) + (a["out"] if a["bias"] else 0)

    def tensors(self, a: Args, x: Shape, y: Shape) -> tuple[int, ...]:
        return (x[0] * (a["out"] // a["groups"]) * prod(a["k"]),) + ((a["out"],) if a["bias"] else ())

    def macs(self, a: Args, x: Shape, y: Shape) -> int:
        return numel(x) * per_group(a["out"], a["groups"]) * prod(a["k"])

    def flops(self, a: Args, x: Shape, y: Shape) -> int:
        return 2 * self.macs(a, x, y) + (numel(y) if a["bias"] else 0)

    def fvcore(self, a: Args, x: Shape, y: Shape) -> int:
        return self.macs(a, x, y)  # fvcore also counts a transposed conv over input positions

    def macs_over_outputs(self, a: Args, x: Shape, y: Shape) -> int | None:
        return REGISTRY["conv"].macs(a, x, y)  # Y·(C/g)·prod(k): the forward formula, over output positions

    def flop_counter_backward_ungrouped(self, a: Args, x: Shape, y: Shape, input_grad: bool) -> int | None:
        groups = a["groups"]
        return 2 * self.macs(a, x, y) * (groups + (1 if input_grad else 0)) if groups > 1 else None

    def saved(self, a: Args, x: Shape, y: Shape) -> tuple[Keep, ...]:
        return (KEEP_INPUT, weight(x[0] * (a["out"] // a["groups"]) * prod(a["k"])))

    def backward_flops(self, a: Args, x: Shape, y: Shape) -> tuple[int, int]:
        macs = self.macs(a, x, y)
        return 2 * macs, 2 * macs + (numel(y) if a["bias"] else 0)

    def autocast(self, a: Args, x: Shape, device: str) -> str:
        return LOW

    def rf(self, a: Args, x: Shape, y: Shape, r: RF) -> RF:
        return rf_transposed(r, a["k"], a["s"], a["p"], a["d"])

    def zero_stuffed(self, a: Args, x: Shape):
        # n inputs with s - 1 zeros between neighbours: (n - 1)*s + 1 positions; a stride-1
        # window of span d*(k - 1) + 1 over them, padded by span - 1 - p (a crop where negative),
        # output_padding more on the right, gives the output size above.
        out = []
        for ni, ki, si, pi, oi, di in zip(x[1:], a["k"], a["s"], a["p"], a["output_padding"], a["d"]):
            span = effective(ki, di)
            out.append(((ni - 1) * si + 1, span - 1 - pi, span - 1 - pi + oi, span))
        return tuple(out)

    def build(self, a: Args, x: Shape, y: Shape) -> Any:
        return self.torch("deconv", len(x) - 1, x[0], a["out"], a["k"], a["s"], a["p"], a["output_padding"],
                                    a["groups"], a["d"], a["bias"])


def fft_flops(n: int) -> float:
    """Real-input FFT of n points: 2.5 n log2 n flops (half the classic 5 n log2 n complex count)."""
    import math

    return 2.5 * n * math.log2(n) if n > 1 else 0.0


@register
class FftConv(ConvFamily):
    """Convolution through the frequency domain (the course notes' "convolution by frequency
    domain conversion"): pad, FFT the input and the kernels, multiply spectra, inverse FFT.

    FFT size per axis: the padded input length n' = n + p_left + p_right, which is enough for
    the valid outputs (circular wrap-around only touches the positions cropped away). With
    N = prod(n') points and M = prod(n'[:-1]) * (n'[-1] // 2 + 1) complex bins of a real FFT:
      params = as conv (out*C*prod(k) + out)
      macs   = 4 * out * C * M        # a complex multiply-accumulate is 4 real MACs
      flops  = (C + out*C + out) * 2.5 N log2 N     # FFTs of input, kernels, inverse per output
               + 8 * out * C * M      # complex multiply (6) and accumulate (2)
               + out_elements (bias)
    Stride and dilation are 1 and there are no groups: the FFT computes every position anyway.
    Training (as torch_ops.FftConv runs it): the padded input and padded kernels, and both spectra
    (complex), are kept; the backward transforms the output gradient (out FFTs), multiplies it
    with each spectrum (8 * out * C * M each) and transforms back (C inverse FFTs for the input,
    out * C for the kernels). Autocast has no rule for FFTs, and PyTorch's CPU FFT refuses
    bfloat16.
    """

    doc = "the same convolution (stride 1) computed with FFTs; its costs are the FFT's (docs/costs.md)"
    name = "fftconv"
    examples = (
        "3x12x12 | fftconv 8 k3 p1",
        "2x9x10 | fftconv 4 k=3x2 p=same bias=false",
        "2x17 | fftconv 3 k5",
        "2x5x6x7 | fftconv 2 k3 p=full",
    )
    costs = (
        "as `conv`",
        "",
        "4·out·C·M (a complex MAC is 4 real ones)",
        "(C + out·C + out)·2.5·N·log2 N + 8·out·C·M + Y·bias",
    )
    draws = ("fftconv {c} k{k} p={p}",)
    args = (OUT, K, P_CONV, BIAS)
    saves = "the padded input C·N and kernels out·C·N (not per sample), and both spectra (complex: C·M, out·C·M)"
    backward_costs = ("C·2.5·N·log2 N + 8·out·C·M", "(out + out·C)·2.5·N·log2 N + 8·out·C·M + Y·bias")

    def prepare(self, a: Args, nd: int) -> Args:
        return {**a, "s": (1,) * nd, "d": (1,) * nd, "groups": 1}

    def fft_size(self, a: Args, x: Shape) -> tuple[int, ...]:
        _, n, _, pads = self.geometry(a, x)
        return tuple(ni + left + right for ni, (left, right) in zip(n, pads))

    def bins(self, a: Args, x: Shape) -> int:
        size = self.fft_size(a, x)
        return prod(size[:-1]) * (size[-1] // 2 + 1)

    def macs(self, a: Args, x: Shape, y: Shape) -> int:
        return 4 * a["out"] * x[0] * self.bins(a, x)

    def flops(self, a: Args, x: Shape, y: Shape) -> int:
        n = prod(self.fft_size(a, x))
        transforms = x[0] + a["out"] * x[0] + a["out"]
        return round(transforms * fft_flops(n)) + 8 * a["out"] * x[0] * self.bins(a, x) + (numel(y) if a["bias"] else 0)

    def fvcore(self, a: Args, x: Shape, y: Shape) -> int:
        return 0  # fvcore has no rule for FFTs or complex products

    def flop_counter(self, a: Args, x: Shape, y: Shape) -> int:
        return 0  # nor has FlopCounterMode

    def flop_counter_backward(self, a: Args, x: Shape, y: Shape, input_grad: bool) -> int:
        return 0

    def saved(self, a: Args, x: Shape, y: Shape) -> tuple[Keep, ...]:
        n, bins = prod(self.fft_size(a, x)), self.bins(a, x)
        return (new(x[0] * n), new(a["out"] * x[0] * n, batched=False),
                new(a["out"] * x[0] * bins, COMPLEX, batched=False), new(x[0] * bins, COMPLEX))

    def backward_flops(self, a: Args, x: Shape, y: Shape) -> tuple[int, int]:
        n, bins, c, out = prod(self.fft_size(a, x)), self.bins(a, x), x[0], a["out"]
        return (round(c * fft_flops(n)) + 8 * out * c * bins,
                round((out + out * c) * fft_flops(n)) + 8 * out * c * bins + (numel(y) if a["bias"] else 0))

    def autocast(self, a: Args, x: Shape, device: str) -> str:
        return SAME  # no autocast rule for FFTs

    def scratch(self, a: Args, x: Shape, y: Shape) -> tuple[tuple[Keep, ...], tuple[Keep, ...]]:
        # the product of the spectra before its sum over the input channels, in the forward and
        # again in the backward, and the conjugated kernels' copy (not per sample)
        product = new(a["out"] * x[0] * self.bins(a, x), COMPLEX)
        conjugate = new(a["out"] * x[0] * self.bins(a, x), COMPLEX, batched=False)
        return (product, conjugate), (product,)

    def build(self, a: Args, x: Shape, y: Shape) -> Any:
        _, _, _, pads = self.geometry(a, x)
        return self.torch("FftConv", len(x) - 1, x[0], a["out"], a["k"], pads, a["bias"])
