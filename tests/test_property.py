"""Property-based agreement with PyTorch (hypothesis).

A. Random single-layer configurations of the kinds PyTorch has modules for, valid or not. The
   PyTorch module is built here, directly from the configuration (not with convcalc's builder),
   and run on zeros: convcalc must reject exactly the configurations PyTorch rejects, and where
   both accept, output shapes, parameters and buffers must be equal and MACs must equal
   fvcore's count.
B. Random single layers of every registry kind through convcalc's own builder (`convcalc verify`):
   shapes, params, buffers, fvcore and FlopCounterMode agree.
C. Random small graphs (chains, residual adds, concats, SE-style products) verified the same way.

Each property runs CONVCALC_EXAMPLES examples (300 by default; docs/testing.md has the 10,000
example soak run).
"""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("fvcore")
pytestmark = pytest.mark.slow  # hypothesis draws hundreds of PyTorch builds: the slow tier
hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, strategies as st  # noqa: E402

import convcalc  # noqa: E402
from convcalc.errors import ConvcalcError  # noqa: E402
from convcalc.layers import REGISTRY  # noqa: E402
from convcalc.verify import verify  # noqa: E402

nn = torch.nn
F = torch.nn.functional


def axes(values) -> str:
    """Per-axis values in the text form: 3 or 3x1x2."""
    return "x".join(str(v) for v in values)


def convcalc_outcome(text: str):
    try:
        return convcalc.analyze(convcalc.from_text(text))
    except ConvcalcError as exc:
        return exc


def torch_outcome(build, x_shape):
    """(module, output shape) or the exception PyTorch raised while building or running.

    An empty output counts as a rejection: PyTorch's transposed convolution returns a tensor with
    a zero-size axis where every other layer raises, and convcalc refuses both (docs/testing.md).
    """
    try:
        module = build()
        with torch.no_grad():
            y = module(torch.zeros(x_shape))
    except (RuntimeError, ValueError) as exc:
        return exc
    if 0 in y.shape:
        return ValueError(f"empty output {tuple(y.shape)}")
    return module, tuple(y.shape)


def fvcore_count(module, x_shape) -> int:
    from fvcore.nn import FlopCountAnalysis

    analysis = FlopCountAnalysis(module, torch.zeros(x_shape))
    analysis.unsupported_ops_warnings(False)
    analysis.uncalled_modules_warnings(False)
    return analysis.total()


def agree(text: str, build, x_shape, macs_from_fvcore: bool = False, geometry=None) -> None:
    ours = convcalc_outcome(text)
    theirs = torch_outcome(build, x_shape)
    hypothesis.event("both reject" if isinstance(theirs, Exception) else "both accept")
    if isinstance(ours, ConvcalcError) or isinstance(theirs, Exception):
        if geometry is not None and broken(geometry) and isinstance(ours, ConvcalcError):
            # convcalc always refuses a kernel, stride or dilation below 1; PyTorch refuses them
            # too, except on paths that skip its checks (a transposed conv on a 1-element input
            # accepts dilation 0): docs/testing.md lists this deliberate strictness.
            return
        assert isinstance(ours, ConvcalcError) == isinstance(theirs, Exception), (text, ours, theirs)
        return
    module, shape = theirs
    layer = ours.layers[-1]
    assert layer.output == shape, text
    assert layer.params == sum(p.numel() for p in module.parameters()), text
    assert layer.buffers == sum(b.numel() for b in module.buffers()), text
    if macs_from_fvcore:
        assert layer.macs == fvcore_count(module, x_shape), text


# -- A. independent PyTorch modules ------------------------------------------------------------


def broken(geo) -> bool:
    """Whether a drawn geometry has a kernel, stride or dilation below 1 (see `geometry`)."""
    _, _, k, s, d = geo
    return min(*k, *s, *d) < 1


@st.composite
def geometry(draw, max_n=10):
    nd = draw(st.integers(1, 3))
    top = max_n if nd < 3 else 6
    n = tuple(draw(st.integers(1, top)) for _ in range(nd))
    k = tuple(draw(st.integers(1, 5)) for _ in range(nd))
    s = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    d = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    if draw(st.integers(0, 9)) == 0:  # one example in ten: a zero or negative k, s or d on one axis
        which, axis, value = draw(st.integers(0, 2)), draw(st.integers(0, nd - 1)), draw(st.integers(-1, 0))
        k, s, d = (tuple(value if (j, i) == (which, axis) else v for i, v in enumerate(t))
                   for j, t in enumerate((k, s, d)))
    return nd, n, k, s, d


@given(geometry(), st.integers(1, 6), st.integers(1, 6), st.sampled_from([1, 1, 2, 3]),
       st.one_of(st.sampled_from(["valid", "same", "full"]), st.lists(st.integers(0, 3), min_size=3, max_size=3)),
       st.booleans())
def test_conv(geo, cin, out, groups, pad, bias):
    nd, n, k, s, d = geo
    if isinstance(pad, list):
        pad = tuple(pad[:nd])
    text = f"{cin}x{axes(n)} | conv {out} k={axes(k)} s={axes(s)} d={axes(d)} groups={groups} bias={bias}"
    text += f" p={pad if isinstance(pad, str) else axes(pad)}"

    def build():
        Conv = getattr(nn, f"Conv{nd}d")
        if pad == "same":
            # TensorFlow's rule, as documented: output ceil(n/s), the odd pixel on the right
            pads = []
            for ni, ki, si, di in zip(n, k, s, d):
                # (a stride of 0 pads as 1 here; the convolution itself then refuses it)
                total = max((math.ceil(ni / max(si, 1)) - 1) * si + di * (ki - 1) + 1 - ni, 0)
                pads.append((total // 2, total - total // 2))
            flat = [v for pair in reversed(pads) for v in pair]
            conv = Conv(cin, out, k, s, 0, d, groups, bias)
            return nn.Sequential(_Pad(flat), conv)
        padding = {"valid": 0, "full": tuple(di * (ki - 1) for ki, di in zip(k, d))}.get(pad, pad)
        return Conv(cin, out, k, s, padding, d, groups, bias)

    agree(text, build, (1, cin, *n), macs_from_fvcore=True, geometry=geo)


class _Pad(nn.Module):
    def __init__(self, flat):
        super().__init__()
        self.flat = flat

    def forward(self, x):
        return F.pad(x, self.flat)


@given(geometry(max_n=6), st.integers(1, 6), st.integers(1, 6), st.sampled_from([1, 1, 2, 3]),
       st.lists(st.integers(0, 3), min_size=3, max_size=3), st.lists(st.integers(0, 3), min_size=3, max_size=3),
       st.booleans())
def test_transposed_conv(geo, cin, out, groups, pad, output_padding, bias):
    nd, n, k, s, d = geo
    p, op = tuple(pad[:nd]), tuple(output_padding[:nd])
    text = (f"{cin}x{axes(n)} | deconv {out} k={axes(k)} s={axes(s)} p={axes(p)} output_padding={axes(op)} "
            f"d={axes(d)} groups={groups} bias={bias}")
    build = lambda: getattr(nn, f"ConvTranspose{nd}d")(cin, out, k, s, p, op, groups, bias, d)  # noqa: E731
    agree(text, build, (1, cin, *n), macs_from_fvcore=True, geometry=geo)


@given(geometry(), st.sampled_from(["maxpool", "avgpool"]), st.lists(st.integers(0, 3), min_size=3, max_size=3),
       st.booleans(), st.booleans(), st.booleans())
def test_pools(geo, kind, pad, ceil_mode, default_stride, include_pad):
    nd, n, k, s, d = geo
    p = tuple(pad[:nd])
    stride = k if default_stride else s
    text = f"2x{axes(n)} | {kind} k={axes(k)} p={axes(p)} ceil_mode={ceil_mode}"
    text += "" if default_stride else f" s={axes(s)}"
    if kind == "maxpool":
        text += f" d={axes(d)}"
        build = lambda: getattr(nn, f"MaxPool{nd}d")(k, stride, p, d, ceil_mode=ceil_mode)  # noqa: E731
    else:
        text += f" count_include_pad={include_pad}"
        build = lambda: getattr(nn, f"AvgPool{nd}d")(k, stride, p, ceil_mode=ceil_mode,  # noqa: E731
                                                    count_include_pad=include_pad)
    agree(text, build, (1, 2, *n), geometry=geo)


@given(geometry(), st.sampled_from([1, 2, 3, 1.5]), st.booleans())
def test_lp_pool(geo, norm, ceil_mode):
    nd, n, k, s, _ = geo
    text = f"2x{axes(n)} | lppool {norm} k={axes(k)} s={axes(s)} ceil_mode={ceil_mode}"
    kernel, stride = (k[0], s[0]) if nd == 1 else (k, s)
    agree(text, lambda: getattr(nn, f"LPPool{nd}d")(norm, kernel, stride, ceil_mode=ceil_mode), (1, 2, *n),
          geometry=geo)


@given(st.integers(1, 3), st.data(), st.sampled_from(["avg", "max"]))
def test_adaptive_pools(nd, data, kind):
    n = tuple(data.draw(st.integers(1, 12 if nd < 3 else 6)) for _ in range(nd))
    size = tuple(data.draw(st.integers(1, 9)) for _ in range(nd))
    text = f"3x{axes(n)} | adaptive_{kind}pool size={','.join(map(str, size))}"
    Pool = getattr(nn, f"Adaptive{kind.title()}Pool{nd}d")
    agree(text, lambda: Pool(size if nd > 1 else size[0]), (1, 3, *n))


@given(st.integers(1, 3), st.data(), st.booleans(), st.sampled_from(["nearest", "bilinear"]))
def test_upsample(nd, data, by_size, mode):
    n = tuple(data.draw(st.integers(1, 8)) for _ in range(nd))
    if by_size:
        size = tuple(data.draw(st.integers(1, 12)) for _ in range(nd))
        text = f"2x{axes(n)} | upsample size={axes(size)} mode={mode}"
        kwargs = {"size": size}
    else:
        scale = data.draw(st.sampled_from([1, 2, 3, 0.5, 1.5, 2.5]))
        text = f"2x{axes(n)} | upsample {scale} mode={mode}"
        kwargs = {"scale_factor": float(scale)}
    torch_mode = "nearest" if mode == "nearest" else {1: "linear", 2: "bilinear", 3: "trilinear"}[nd]
    agree(text, lambda: nn.Upsample(mode=torch_mode, **kwargs), (1, 2, *n))


@given(st.integers(1, 64), st.integers(1, 64), st.booleans())
def test_linear(features, out, bias):
    agree(f"{features} | linear {out} bias={bias}", lambda: nn.Linear(features, out, bias), (1, features),
          macs_from_fvcore=True)


@given(st.integers(1, 3), st.data(), st.sampled_from(["bn", "in", "gn"]), st.booleans())
def test_norms(nd, data, kind, affine):
    c = data.draw(st.integers(1, 8))
    n = tuple(data.draw(st.integers(1, 5)) for _ in range(nd))
    if kind == "bn":
        text, build = f"{c}x{axes(n)} | bn affine={affine}", lambda: getattr(nn, f"BatchNorm{nd}d")(c, affine=affine)
    elif kind == "in":
        text = f"{c}x{axes(n)} | in affine={affine}"
        build = lambda: getattr(nn, f"InstanceNorm{nd}d")(c, affine=affine)  # noqa: E731
    else:
        groups = data.draw(st.integers(1, 4))
        text, build = f"{c}x{axes(n)} | gn {groups} affine={affine}", lambda: nn.GroupNorm(groups, c, affine=affine)
    agree(text, lambda: build().eval(), (1, c, *n))


# -- B. every kind through convcalc's builder ----------------------------------------------------

KINDS = st.sampled_from([template for record in REGISTRY.values() for template in record.draws])
def test_part_b_draws_every_kind():
    """Every kind is drawn here, except those part B cannot feed: merges need two inputs (part C's
    graphs draw them), and a kind reading another dtype (token ids) gets no float tensor
    (tests/test_registry.py verifies it)."""
    drawn = {part.split()[0] for template in KINDS.elements for part in template.split("|")}
    elsewhere = {kind for kind, record in REGISTRY.items() if record.merge or record.input_dtype}
    assert elsewhere == {"add", "mul", "concat", "embedding", "opaque_merge", "sdpa", "matmul"}
    assert drawn | elsewhere == set(REGISTRY)


@given(st.integers(1, 3), st.data(), KINDS)
def test_every_kind_through_the_builder(nd, data, template):
    m = data.draw(st.integers(1, 3))
    channels = m * data.draw(st.integers(1, 3))
    n = tuple(data.draw(st.integers(3, 9 if nd < 3 else 5)) for _ in range(nd))
    k, s = data.draw(st.integers(1, 3)), data.draw(st.integers(1, 2))
    text = f"{channels}x{axes(n)} | " + template.format(
        c=data.draw(st.integers(1, 6)), k=k, s=s, d=data.draw(st.integers(1, 2)), m=m, pp=data.draw(st.integers(0, k // 2)),
        p=data.draw(st.sampled_from(["same", "valid", "full", 0, 1])), op=data.draw(st.integers(0, s - 1)),
        mode=data.draw(st.sampled_from(["nearest", "bilinear"])), idx=data.draw(st.integers(0, m - 1)))
    try:
        spec = convcalc.from_text(text)
        convcalc.analyze(spec)
    except ConvcalcError:
        hypothesis.assume(False)
    result = verify(spec, batch=2)
    assert result.ok, (text, {layer.name: [c for c in layer.checks if not c.ok] for layer in result.layers})


# -- C. random small graphs -------------------------------------------------------------------

@st.composite
def graphs(draw):
    """A small graph as a one-line spec: each step appends a layer that reads the current tensor
    and sometimes an earlier one, keeping shapes compatible."""
    nd = draw(st.integers(1, 3))
    c = draw(st.integers(1, 4))
    size = draw(st.integers(4, 12 if nd < 3 else 6))
    parts = [f"{c}x{axes((size,) * nd)}"]
    tensors = [("input", c, size)]  # (name, channels, spatial size)
    for i in range(draw(st.integers(1, 7))):
        name, c, size = tensors[-1]
        op = draw(st.sampled_from(["conv", "conv", "down", "bn", "relu", "add", "concat", "se", "dw"]))
        new = f"t{i}"
        if op == "conv":
            c2, k = draw(st.integers(1, 6)), draw(st.sampled_from([1, 3, 5]))
            parts.append(f"conv {c2} k{k} p={k // 2} from={name} name={new}")
            c = c2
        elif op == "down" and size >= 2:
            parts.append(f"conv {c} k3 s2 p1 from={name} name={new}")
            size = (size - 1) // 2 + 1
        elif op == "dw":
            parts.append(f"dwconv 3 p1 from={name} name={new}")
        elif op == "bn":
            parts.append(f"bn from={name} name={new}")
        elif op in ("add", "concat"):
            same = [t for t in tensors[:-1] if t[2] == size and (op == "concat" or t[1] == c)]
            if not same:
                parts.append(f"relu from={name} name={new}")
            else:
                other = draw(st.sampled_from(same))
                parts.append(f"{op} from={name},{other[0]} name={new}")
                c = c + other[1] if op == "concat" else c
        elif op == "se":
            mid = max(1, c // 2)
            parts += [f"gap from={name} name={new}g", f"conv {mid} k1 name={new}r", "relu", f"conv {c} k1",
                      f"sigmoid name={new}s", f"mul from={name},{new}s name={new}"]
        else:
            parts.append(f"relu from={name} name={new}")
        tensors.append((new, c, size))
    return " | ".join(parts)


@given(graphs())
def test_random_graphs(text):
    result = verify(convcalc.from_text(text), batch=2)
    assert result.ok, (text, {layer.name: [c for c in layer.checks if not c.ok] for layer in result.layers})
