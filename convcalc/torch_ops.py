"""PyTorch modules for the registry's `build` rules (imported only when a model is built).

Where PyTorch has a module, the factory functions here pick the 1-D/2-D/3-D variant. Where it
has none, the modules below build the exact equivalent from functional pieces: TensorFlow-style
"same" padding (an explicit asymmetric pad before the conv), padding in F.pad's modes, cropping,
U-Net's crop-and-concat, channel split, ShiftNet's shift, maxout, layer scale, channels-only layer
norm, bed-of-nails unpooling, a token embedding laid out channels first, and the merges; and attention
on PyTorch's math path (layers/attention.py), the path FlopCounterMode counts.
"""

from __future__ import annotations

import contextlib
from typing import Any, Iterator, Sequence

import torch
import torch.nn.functional as F
from torch import nn as _nn

Sequential = _nn.Sequential


def nn() -> Any:
    return _nn


def _variant(prefix: str, nd: int, flat: str | None = None) -> Any:
    if nd == 0 and flat:
        return getattr(_nn, flat)
    return getattr(_nn, f"{prefix}{max(nd, 1)}d")


class FftConv(_nn.Module):
    """Cross-correlation computed with real FFTs over the padded input: the same result (up to
    rounding) and the same parameters as a stride-1 convolution."""

    def __init__(self, nd: int, cin: int, cout: int, k, pads, bias: bool) -> None:
        super().__init__()
        self.nd, self.k, self.pads = nd, tuple(k), tuple(pads)
        reference = getattr(_nn, f"Conv{max(nd, 1)}d")(cin, cout, self.k, bias=bias)  # for its initialization
        self.weight = reference.weight
        self.bias = reference.bias

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.pad(x, tuple(v for pair in reversed(self.pads) for v in pair))
        size = x.shape[2:]
        dims = tuple(range(2, 2 + self.nd))
        spectrum = torch.fft.rfftn(x, s=size, dim=dims).unsqueeze(1)  # [N, 1, C, bins]
        kernels = torch.fft.rfftn(self.weight, s=size, dim=dims).conj()  # [out, C, bins]
        y = torch.fft.irfftn((spectrum * kernels).sum(2), s=size, dim=dims)  # [N, out, n']
        index = (slice(None), slice(None)) + tuple(slice(0, n - k + 1) for n, k in zip(size, self.k))
        y = y[index]
        if self.bias is not None:
            y = y + self.bias.view(1, -1, *([1] * self.nd))
        return y


class Pad(_nn.Module):
    """Zero padding with a (left, right) pair per spatial axis, first axis first."""

    def __init__(self, pads: Sequence[tuple[int, int]]) -> None:
        super().__init__()
        # F.pad wants the last axis first: (left_W, right_W, left_H, right_H, ...)
        self.pad = tuple(v for pair in reversed(pads) for v in pair)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.pad(x, self.pad)


def conv(nd: int, cin: int, cout: int, k, s, pads, d, groups: int, bias: bool) -> _nn.Module:
    symmetric = all(left == right for left, right in pads)
    layer = _variant("Conv", nd)(cin, cout, tuple(k), stride=tuple(s),
                                 padding=tuple(left for left, _ in pads) if symmetric else 0,
                                 dilation=tuple(d), groups=groups, bias=bias)
    return layer if symmetric else _nn.Sequential(Pad(pads), layer)


def deconv(nd: int, cin: int, cout: int, k, s, p, output_padding, groups: int, d, bias: bool) -> _nn.Module:
    return _variant("ConvTranspose", nd)(cin, cout, tuple(k), stride=tuple(s), padding=tuple(p),
                                         output_padding=tuple(output_padding), groups=groups, bias=bias,
                                         dilation=tuple(d))


def max_pool(nd: int, k, s, p, d, ceil_mode: bool) -> _nn.Module:
    return _variant("MaxPool", nd)(tuple(k), tuple(s), tuple(p), tuple(d), ceil_mode=ceil_mode)


def avg_pool(nd: int, k, s, p, ceil_mode: bool, count_include_pad: bool) -> _nn.Module:
    return _variant("AvgPool", nd)(tuple(k), tuple(s), tuple(p), ceil_mode=ceil_mode,
                                   count_include_pad=count_include_pad)


def lp_pool(nd: int, norm: float, k, s, ceil_mode: bool) -> _nn.Module:
    return _variant("LPPool", nd)(norm, tuple(k) if nd > 1 else k[0], tuple(s) if nd > 1 else s[0],
                                  ceil_mode=ceil_mode)


def adaptive_avg_pool(nd: int, size) -> _nn.Module:
    return _variant("AdaptiveAvgPool", nd)(tuple(size) if nd > 1 else size[0])


def adaptive_max_pool(nd: int, size) -> _nn.Module:
    return _variant("AdaptiveMaxPool", nd)(tuple(size) if nd > 1 else size[0])


def upsample(nd: int, size, scale, mode: str, align_corners: bool) -> _nn.Module:
    if mode != "nearest":
        mode = {1: "linear", 2: "bilinear", 3: "trilinear"}[nd]
    return _nn.Upsample(size=tuple(size) if size else None,
                        scale_factor=tuple(float(v) for v in scale) if scale else None,
                        mode=mode, align_corners=align_corners if mode != "nearest" else None)


def batch_norm(nd: int, channels: int, eps: float, momentum: float, affine: bool) -> _nn.Module:
    return _variant("BatchNorm", nd, "BatchNorm1d")(channels, eps=eps, momentum=momentum, affine=affine)


def instance_norm(nd: int, channels: int, eps: float, affine: bool, track: bool) -> _nn.Module:
    return _variant("InstanceNorm", nd)(channels, eps=eps, affine=affine, track_running_stats=track)


def activation(torch_name: str, a: dict[str, Any]) -> _nn.Module:
    if torch_name == "LeakyReLU":
        return _nn.LeakyReLU(a["slope"])
    if torch_name == "ELU":
        return _nn.ELU(a["alpha"])
    if torch_name == "GELU":
        return _nn.GELU(approximate=a["approximate"])
    if torch_name == "Softmax":
        return _nn.Softmax(dim=a["dim"])
    return getattr(_nn, torch_name)()


class ChannelLayerNorm(_nn.Module):
    """LayerNorm over the channels at each position (ConvNeXt's channels-first LayerNorm)."""

    def __init__(self, channels: int, eps: float, affine: bool) -> None:
        super().__init__()
        self.norm = _nn.LayerNorm(channels, eps=eps, elementwise_affine=affine)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 2:
            return self.norm(x)
        return self.norm(x.movedim(1, -1)).movedim(-1, 1)


class LayerScale(_nn.Module):
    def __init__(self, channels: int, nd: int, init: float) -> None:
        super().__init__()
        self.gamma = _nn.Parameter(torch.full((channels,), float(init)))
        self.view = (1, channels) + (1,) * nd

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gamma.view(self.view)


class Maxout(_nn.Module):
    """Max over groups of `pieces` consecutive channels."""

    def __init__(self, pieces: int) -> None:
        super().__init__()
        self.pieces = pieces

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c = x.shape[:2]
        return x.view(n, c // self.pieces, self.pieces, *x.shape[2:]).amax(dim=2)


class ChannelShuffle(_nn.Module):
    def __init__(self, groups: int) -> None:
        super().__init__()
        self.groups = groups

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c = x.shape[:2]
        return x.view(n, self.groups, c // self.groups, *x.shape[2:]).transpose(1, 2).reshape(x.shape)


class Shift(_nn.Module):
    """ShiftNet: channel group g moves by the g-th offset of a k-window; the rest stay put.

    Slices use only Python ints (negative ends rather than `size - offset`), so a traced graph
    (fvcore's) holds the copies and no index arithmetic that would read as uncounted work."""

    def __init__(self, k: Sequence[int], channels: int) -> None:
        super().__init__()
        offsets = [()]
        for size in k:
            offsets = [o + (i - size // 2,) for o in offsets for i in range(size)]
        self.offsets = offsets
        self.per = channels // len(offsets)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.zeros_like(x)
        per = self.per
        for g, offset in enumerate(self.offsets):
            lo, hi = g * per, (g + 1) * per
            src, dst = [slice(None), slice(lo, hi)], [slice(None), slice(lo, hi)]
            for o in offset:  # move by o: out[o:] = x[:-o] for o > 0, out[:o] = x[-o:] for o < 0
                src.append(slice(max(-o, 0), -o if o > 0 else None))
                dst.append(slice(max(o, 0), o if o < 0 else None))
            out[tuple(dst)] = x[tuple(src)]
        rest = per * len(self.offsets)
        out[:, rest:] = x[:, rest:]
        return out


class Split(_nn.Module):
    def __init__(self, parts: int, index: int) -> None:
        super().__init__()
        self.parts, self.index = parts, index

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.chunk(self.parts, dim=1)[self.index]


class ChannelSlice(_nn.Module):
    def __init__(self, start: int, end: int) -> None:
        super().__init__()
        self.start, self.end = start, end

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, self.start:self.end]


class SpatialPad(_nn.Module):
    """F.pad of the spatial axes in any of its modes, with a (left, right) pair per spatial axis,
    first axis first; `value` fills constant padding (F.pad refuses it for the other modes)."""

    def __init__(self, pads: Sequence[tuple[int, int]], mode: str, value: float) -> None:
        super().__init__()
        # F.pad wants the last axis first: (left_W, right_W, left_H, right_H, ...)
        self.pad = tuple(v for pair in reversed(pads) for v in pair)
        self.mode = mode
        self.value = float(value) if mode == "constant" else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.pad(x, self.pad, mode=self.mode, value=self.value)


class Crop(_nn.Module):
    """`size` positions from `offset` on each spatial axis, by slicing: a view, no copy."""

    def __init__(self, offset: Sequence[int], size: Sequence[int]) -> None:
        super().__init__()
        self.index = (slice(None), slice(None)) + tuple(slice(o, o + s) for o, s in zip(offset, size))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[self.index]


class Reshape(_nn.Module):
    def __init__(self, shape: Sequence[int]) -> None:
        super().__init__()
        self.shape = tuple(shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.reshape(x.shape[0], *self.shape)


class TokenEmbedding(_nn.Module):
    """[N, 1, L] token ids -> [N, dim, L] (channels first, for a 1-D conv)."""

    def __init__(self, vocab: int, dim: int) -> None:
        super().__init__()
        self.embedding = _nn.Embedding(vocab, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.embedding(x[:, 0].long()).transpose(1, 2)


class MaxUnpool(_nn.Module):
    """MaxUnpool with the positions of a maxpool, or each window's first position without one."""

    def __init__(self, nd: int, k, s, p) -> None:
        super().__init__()
        self.nd, self.k, self.s, self.p = nd, tuple(k), tuple(s), tuple(p)
        self.unpool = _variant("MaxUnpool", nd)(self.k, self.s, self.p)

    def forward(self, x: torch.Tensor, indices: torch.Tensor | None = None) -> torch.Tensor:
        if indices is None:
            out = [(n - 1) * s - 2 * p + k for n, s, p, k in zip(x.shape[2:], self.s, self.p, self.k)]
            flat = torch.zeros((), dtype=torch.long, device=x.device)
            for axis, (n, s, p) in enumerate(zip(x.shape[2:], self.s, self.p)):
                pos = (torch.arange(n, device=x.device) * s - p).clamp(min=0)
                stride = 1
                for later in out[axis + 1:]:
                    stride *= later
                flat = flat.unsqueeze(-1) + pos * stride  # [n_0, ..., n_axis]
            indices = flat.expand(x.shape).contiguous()
        return self.unpool(x, indices)


class Add(_nn.Module):
    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        out = xs[0]
        for x in xs[1:]:
            out = out + x
        return out


class Scale(_nn.Module):
    """x times a constant number."""

    def __init__(self, by: float) -> None:
        super().__init__()
        self.by = by

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.by


class Mul(_nn.Module):
    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        out = xs[0]
        for x in xs[1:]:
            out = out * x
        return out


class Concat(_nn.Module):
    """torch.cat on channels, centre-cropping each input to `crop` (spatial) first when given."""

    def __init__(self, crop: Sequence[int] | None) -> None:
        super().__init__()
        self.crop = tuple(crop) if crop is not None else None

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        if self.crop is not None:
            cropped = []
            for x in xs:
                index = [slice(None), slice(None)]
                for n, m in zip(x.shape[2:], self.crop):
                    start = (n - m) // 2
                    index.append(slice(start, start + m))
                cropped.append(x[tuple(index)])
            xs = tuple(cropped)
        return torch.cat(xs, dim=1)


def deform_conv2d(x: torch.Tensor, offset: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None,
                  stride: Sequence[int], pads: Sequence[tuple[int, int]], dilation: Sequence[int],
                  groups: int, offset_groups: int) -> torch.Tensor:
    """Deformable convolution v1 (Dai et al. 2017) with torchvision.ops.deform_conv2d's semantics,
    from functional pieces.

    Tap (i, j) of output position (oy, ox) reads the input at
    (oy*s_h - top + i*d_h + dy, ox*s_w - left + j*d_w + dx), where (dy, dx) is offset channel pair
    2*(i*kw + j) of its offset group, channels first: [N, OG*K*2, Ho, Wo] with K = kh*kw. The
    value there is bilinear in the 4 surrounding pixels; a pixel outside the input reads 0 (so a
    position at -1 or beyond, or at H or beyond, reads 0). Input channel c uses offset group
    c // (C / OG). The sampled columns are then multiplied with the weight as a grouped matmul.
    The bottom and right padding only set the output size, which comes with the offsets (Ho, Wo).
    """
    n, c, h, w = x.shape
    cout, _, kh, kw = weight.shape
    ho, wo = offset.shape[2:]
    k, positions, og = kh * kw, ho * wo, offset_groups
    (sh, sw), (top, left), (dh, dw) = stride, (pads[0][0], pads[1][0]), dilation
    dev, dtype = x.device, x.dtype
    # base sampling grid [K, Ho, Wo]: tap (i, j) at output (oy, ox)
    ty = (torch.arange(kh, device=dev, dtype=dtype) * dh).view(kh, 1, 1, 1)
    tx = (torch.arange(kw, device=dev, dtype=dtype) * dw).view(1, kw, 1, 1)
    oy = (torch.arange(ho, device=dev, dtype=dtype) * sh - top).view(1, 1, ho, 1)
    ox = (torch.arange(wo, device=dev, dtype=dtype) * sw - left).view(1, 1, 1, wo)
    base_y = (ty + oy).expand(kh, kw, ho, wo).reshape(k, ho, wo)
    base_x = (tx + ox).expand(kh, kw, ho, wo).reshape(k, ho, wo)
    off = offset.view(n, og, k, 2, ho, wo)
    py = base_y + off[:, :, :, 0]  # [N, OG, K, Ho, Wo]
    px = base_x + off[:, :, :, 1]
    y0, x0 = py.floor(), px.floor()
    ly, lx = py - y0, px - x0  # fractional parts: the weights of the far corners
    hy, hx = 1 - ly, 1 - lx
    cols = None
    flat = x.reshape(n, og, c // og, h * w)
    for cy, wy in ((y0, hy), (y0 + 1, ly)):
        for cx, wx in ((x0, hx), (x0 + 1, lx)):
            inside = (cy >= 0) & (cy <= h - 1) & (cx >= 0) & (cx <= w - 1)
            index = (cy.clamp(0, h - 1) * w + cx.clamp(0, w - 1)).long().view(n, og, 1, k * positions)
            corner = torch.where(inside, wy * wx, 0.0).view(n, og, 1, k * positions)  # 0 outside the input
            value = flat.gather(3, index.expand(n, og, c // og, k * positions)) * corner  # [N, OG, C/OG, K*P]
            cols = value if cols is None else cols + value
    # [N, C, K, P] -> per group [N*G, (C/G)*K, P]; weight [out, C/G, kh, kw] -> [G, out/G, (C/G)*K]
    cols = cols.reshape(n * groups, (c // groups) * k, positions)
    kernel = weight.reshape(1, groups, cout // groups, (c // groups) * k).expand(n, -1, -1, -1)
    y = torch.bmm(kernel.reshape(n * groups, cout // groups, (c // groups) * k), cols)  # [N*G, out/G, P]
    y = y.reshape(n, cout, ho, wo)
    if bias is not None:
        y = y + bias.view(1, cout, 1, 1)
    return y


class DeformConv2d(_nn.Module):
    """A deformable convolution block as it is used with torchvision.ops.DeformConv2d: `offset`, a
    plain convolution with the same kernel, stride, padding and dilation, predicts
    2*offset_groups*kh*kw offsets per output position (zero-initialized, as in Dai et al., so a
    fresh block is the plain convolution); `weight` and `bias` are the deformable convolution's."""

    def __init__(self, cin: int, cout: int, k, s, pads, d, groups: int, offset_groups: int, bias: bool) -> None:
        super().__init__()
        self.s, self.pads, self.d = tuple(s), tuple(pads), tuple(d)
        self.groups, self.offset_groups = groups, offset_groups
        self.offset = conv(2, cin, 2 * offset_groups * k[0] * k[1], k, s, pads, d, 1, True)
        for p in self.offset.parameters():
            _nn.init.zeros_(p)
        reference = _nn.Conv2d(cin, cout, tuple(k), groups=groups, bias=bias)  # for its initialization
        self.weight = reference.weight
        self.bias = reference.bias

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return deform_conv2d(x, self.offset(x), self.weight, self.bias, self.s, self.pads, self.d, self.groups,
                             self.offset_groups)


@contextlib.contextmanager
def _math_attention() -> Iterator[None]:
    """scaled_dot_product_attention on its math backend and nn.MultiheadAttention's fused fast
    path off while the block runs (the caller's settings are restored after): the fused CPU
    kernels are what FlopCounterMode counts 0 for in torch 2.13, the math path its two products."""
    from torch.nn.attention import SDPBackend, sdpa_kernel

    fast = torch.backends.mha.get_fastpath_enabled()
    torch.backends.mha.set_fastpath_enabled(False)
    try:
        with sdpa_kernel(SDPBackend.MATH):
            yield
    finally:
        torch.backends.mha.set_fastpath_enabled(fast)


class SelfAttention(_nn.MultiheadAttention):
    """nn.MultiheadAttention(batch_first=True) on tokens [B, N, E] as self-attention (q = k = v),
    on the math path; its parameters are nn.MultiheadAttention's own."""

    def __init__(self, embed: int, heads: int, bias: bool, add_bias_kv: bool) -> None:
        super().__init__(embed, heads, bias=bias, add_bias_kv=add_bias_kv, batch_first=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        with _math_attention():
            return super().forward(x, x, x, need_weights=False)[0]


class Sdpa(_nn.Module):
    """F.scaled_dot_product_attention(q, k, v, attn_mask, is_causal) on the math path."""

    def __init__(self, causal: bool) -> None:
        super().__init__()
        self.causal = causal

    def forward(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: Any = None) -> torch.Tensor:
        with _math_attention():
            return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=self.causal)


class MatMul(_nn.Module):
    def __init__(self, transpose_b: bool) -> None:
        super().__init__()
        self.transpose_b = transpose_b

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return torch.matmul(a, b.transpose(-2, -1) if self.transpose_b else b)


class Tokens(_nn.Module):
    """[B, C, *spatial] -> [B, H·W·…, C]: ViT's x.flatten(2).transpose(1, 2)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.flatten(2).transpose(1, 2)


class Transpose(_nn.Module):
    def __init__(self, dim0: int, dim1: int) -> None:
        super().__init__()
        self.dims = (dim0, dim1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.transpose(*self.dims)


class ClsToken(_nn.Module):
    """ViT's class token: a [1, 1, C] parameter put in front of the tokens of every sample."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.token = _nn.Parameter(torch.zeros(1, 1, channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.token.expand(x.shape[0], -1, -1), x], dim=1)


class PosEmbed(_nn.Module):
    """A learned position embedding [1, *shape], added (ViT's pos_embedding)."""

    def __init__(self, shape: Sequence[int]) -> None:
        super().__init__()
        self.pos = _nn.Parameter(torch.zeros(1, *shape))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.pos


class Opaque(_nn.Module):
    """A stand-in for an operator an importer could not map: it holds as many parameters and
    buffers as the operator had and returns zeros of its output shape (no arithmetic: convcalc
    does not know what it computes)."""

    def __init__(self, shape: tuple[int, ...], params: int, buffers: int) -> None:
        super().__init__()
        self.shape = shape
        self.weight = _nn.Parameter(torch.zeros(params)) if params else None
        if buffers:
            self.register_buffer("state", torch.zeros(buffers))

    def forward(self, x: torch.Tensor, *others: torch.Tensor) -> torch.Tensor:
        return x.new_zeros((x.shape[0], *self.shape))

