"""Deformable convolution (deform_conv): a ConvFamily whose taps are sampled at learned offsets,
as torchvision.ops.DeformConv2d computes it; in its own module because its sampling (bilinear
interpolation per tap, the offset conv beside the main one) is a kernel of its own."""

from __future__ import annotations

from math import prod
from typing import Any

from ..args import Arg, integer
from ..errors import LayerError
from .conv import ConvFamily
from .geometry import (BIAS, D1, K, OUT, P_CONV, S1, numel)
from .kind import (FLOAT32, KEEP_INPUT, Args, Keep, Shape, new,
                   register, weight)


@register
class DeformConv(ConvFamily):
    """Deformable convolution v1 (Dai et al., "Deformable Convolutional Networks", ICCV 2017) as
    torchvision.ops.DeformConv2d is used: an offset conv (same k, s, p, d, no groups, with bias)
    predicts 2*offset_groups*K offsets per output position (K = kh*kw, P = output positions), then
    the main conv reads each of its taps bilinearly at the offset position (0 outside the input).
      params = out*(C/g)*K + out (bias)  +  (2*og*K)*C*K + 2*og*K    # main conv + offset conv
      macs   = P*out*(C/g)*K  +  P*(2*og*K)*C*K                      # main conv + offset conv
      flops  = 2*macs + out*P (bias) + 2*og*K*P (offset bias)
               + 10 per sampling point (og*K*P of them: 2 adds to place it, 2 subtracts for the
                 fractions, 2 for their complements, 4 multiplies for the corner weights)
               + 7 per sampled value (C*K*P of them: 4 multiplies by the weights, 3 adds)
    Floors, bound checks and index arithmetic are integer work, not counted. 2-D only, as
    torchvision's. The receptive field reported is the nominal one, at zero offsets: the offsets
    are data, and can move the samples anywhere.

    Training, as torchvision's kernel does it (its autograd function saves input, weight, offset,
    mask and bias; without a mask, torchvision passes one zero per sample): the input, the offsets
    (O*P per sample), the mask, and the offset conv's input (the same tensor) and weight. The
    backward: the columns' gradient (2 * main MACs) scattered back through the bilinear sampling
    (7 per sampled value) for the input, the offset conv's input gradient (2 * offset MACs); always
    both weight gradients (2 * MACs), the biases (Y + P*O), and the offsets' gradient (14 per
    sampled value: the sampled value's derivative in both coordinates). convcalc's own PyTorch
    builder is a functional stand-in for torchvision's kernel (torch_ops.deform_conv2d) that keeps
    every intermediate of its sampling, so its saved tensors are not the kernel's.
    """

    doc = ("deformable convolution v1 (Dai et al. 2017), 2-D only: an offset conv (same `k`, `s`, `p`, `d`, with "
           "bias) predicts 2·`offset_groups`·prod(k) offsets per output position, and the convolution reads each "
           "tap bilinearly at its offset position (0 outside the input), as torchvision's `DeformConv2d`; input "
           "channels share offsets in `offset_groups` groups. Output shape as `conv`")
    name = "deform_conv"
    examples = (
        "8x16x16 | deform_conv 8 k3 p1",
        "4x9x9 | deform_conv 6 k3 s2 p1 bias=false",
        "4x11x10 | deform_conv 4 k3 d2 p2",
        "4x8x8 | deform_conv 6 k3 p1 g2",
        "4x8x7 | deform_conv 4 k=3x2 p=same offset_groups=2",
        "6x9x9 | deform_conv 4 k3 s2 d2 g2 offset_groups=3",
    )
    costs = (
        "out·(C/g)·prod(k) + out·bias + O·C·prod(k) + O (O = 2·og·prod(k) offset channels)",
        "",
        "P·out·(C/g)·prod(k) + P·O·C·prod(k) (main conv + offset conv; P: output positions)",
        "2·MACs + Y·bias + P·O + 10·og·prod(k)·P + 7·C·prod(k)·P (below)",
    )
    draws = ("deform_conv {c} k{k} s{s} p={p} d{d}",)
    aligned = False  # torchvision's kernel is no tensor-core matrix multiply
    saves = ("as torchvision's kernel: its input, the offsets O·P, a one-per-sample mask and both weights "
             "(convcalc's PyTorch stand-in keeps more)")
    backward_costs = ("2·MACs + 7·C·prod(k)·P", "2·MACs + Y·bias + P·O + 14·C·prod(k)·P")
    args = (OUT, K, S1, P_CONV, D1, Arg("groups", integer(), 1), Arg("offset_groups", integer(), 1), BIAS)

    def prepare(self, a: Args, nd: int) -> Args:
        if nd != 2:
            raise LayerError(f"deform_conv is 2-D only, as torchvision's DeformConv2d: it needs an input "
                             f"[C, H, W], not a {'flat' if nd == 0 else f'{nd}-D'} one")
        return a

    def shape(self, a: Args, x: Shape) -> Shape:
        if x[0] % a["offset_groups"]:
            raise LayerError(f"input channels {x[0]} are not divisible by offset_groups {a['offset_groups']}")
        return super().shape(a, x)

    def offset_channels(self, a: Args) -> int:
        return 2 * a["offset_groups"] * prod(a["k"])

    def params(self, a: Args, x: Shape, y: Shape) -> int:
        off = self.offset_channels(a)
        return super().params(a, x, y) + off * x[0] * prod(a["k"]) + off

    def tensors(self, a: Args, x: Shape, y: Shape) -> tuple[int, ...]:
        off = self.offset_channels(a)
        return super().tensors(a, x, y) + (off * x[0] * prod(a["k"]), off)  # its own, then the offset conv's

    def macs(self, a: Args, x: Shape, y: Shape) -> int:
        return super().macs(a, x, y) + numel(y[1:]) * self.offset_channels(a) * x[0] * prod(a["k"])

    def flops(self, a: Args, x: Shape, y: Shape) -> int:
        positions, taps = numel(y[1:]), prod(a["k"])
        points = a["offset_groups"] * taps * positions
        samples = x[0] * taps * positions
        return (2 * self.macs(a, x, y) + (numel(y) if a["bias"] else 0) + self.offset_channels(a) * positions
                + 10 * points + 7 * samples)

    def fvcore(self, a: Args, x: Shape, y: Shape) -> int:
        # the offset conv (aten::_convolution) and the main product (aten::bmm), one per multiply-add;
        # the sampling's gather and floor are ignored, its arithmetic unsupported
        return self.macs(a, x, y)

    def flop_counter_backward(self, a: Args, x: Shape, y: Shape, input_grad: bool) -> int:
        # convcalc's stand-in builder: the offset conv's gradients, and the product of the columns
        # and the weight (both its gradients: the columns' carries the offsets' gradient)
        offset = numel(y[1:]) * self.offset_channels(a) * x[0] * prod(a["k"])
        main = self.macs(a, x, y) - offset
        return 2 * offset * (2 if input_grad else 1) + 4 * main

    def flop_counter_backward_ungrouped(self, a: Args, x: Shape, y: Shape, input_grad: bool) -> int | None:
        # the offset conv has no groups, and the grouped product is a bmm per group
        # (torch_ops.deform_conv2d): FlopCounterMode counts both right
        return None

    def saved(self, a: Args, x: Shape, y: Shape) -> tuple[Keep, ...]:
        off, positions, taps = self.offset_channels(a), numel(y[1:]), prod(a["k"])
        return (KEEP_INPUT, weight(off * x[0] * taps), new(off * positions), new(1),
                weight(a["out"] * (x[0] // a["groups"]) * taps))

    def backward_flops(self, a: Args, x: Shape, y: Shape) -> tuple[int, int]:
        macs, samples = self.macs(a, x, y), x[0] * prod(a["k"]) * numel(y[1:])
        return (2 * macs + 7 * samples,
                2 * macs + (numel(y) if a["bias"] else 0) + self.offset_channels(a) * numel(y[1:]) + 14 * samples)

    def autocast(self, a: Args, x: Shape, device: str) -> str:
        return FLOAT32  # torchvision registers deform_conv2d to run in float32 under autocast

    def build(self, a: Args, x: Shape, y: Shape) -> Any:
        _, _, _, pads = self.geometry(a, x)
        return self.torch("DeformConv2d", x[0], a["out"], a["k"], a["s"], pads, a["d"], a["groups"],
                                          a["offset_groups"], a["bias"])
