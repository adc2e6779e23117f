"""Every layer kind in the registry has examples, and each example's real PyTorch module agrees
with convcalc: output shape, params and buffers, fvcore's count and FlopCounterMode's count,
each under its own convention (convcalc.verify). A new kind without an example fails here."""

from __future__ import annotations

import pytest

from convcalc.layers import REGISTRY

EXAMPLES: dict[str, list[str]] = {
    "conv": ["3x16x16 | conv 8 k3 s2 p1", "4x9x11 | conv 6 k=3x2 s=2x1 p=same d=1x2 g2",
             "2x20 | conv 4 k5 p=full bias=false", "2x6x7x8 | conv 4 k3 s2 p=same"],
    "dwconv": ["8x12x12 | dwconv 3 s2 p1", "4x10x10 | dwconv 5 multiplier=3 p=same bias=false", "4x30 | dwconv 3 d2"],
    "pwconv": ["16x8x8 | pwconv 4", "16x8x8 | pwconv 8 g4 bias=false", "6x5x5x5 | pwconv 3"],
    "sepconv": ["8x12x12 | sepconv 16 k3 p1", "4x9x9 | sepconv 6 k3 s2 p=same bias=false"],
    "fftconv": ["3x12x12 | fftconv 8 k3 p1", "2x9x10 | fftconv 4 k=3x2 p=same bias=false", "2x17 | fftconv 3 k5",
                "2x5x6x7 | fftconv 2 k3 p=full"],
    "deform_conv": ["8x16x16 | deform_conv 8 k3 p1", "4x9x9 | deform_conv 6 k3 s2 p1 bias=false",
                    "4x11x10 | deform_conv 4 k3 d2 p2", "4x8x8 | deform_conv 6 k3 p1 g2",
                    "4x8x7 | deform_conv 4 k=3x2 p=same offset_groups=2",
                    "6x9x9 | deform_conv 4 k3 s2 d2 g2 offset_groups=3"],
    "deconv": ["8x5x5 | deconv 4 k3 s2 p1 output_padding=1", "4x6 | deconv 6 k4 s2 p1 g2",
               "4x3x4x5 | deconv 2 k3 s2 bias=false", "2x5x5 | deconv 2 k3 d2 s1 output_padding=1"],
    "maxpool": ["3x9x9 | maxpool 2", "3x9x9 | maxpool k3 s2 p1 ceil_mode=true", "3x20 | maxpool 3 d2",
                "2x7x7x7 | maxpool 2 ceil_mode=true"],
    "avgpool": ["3x9x9 | avgpool 3 s2 p1", "3x9x9 | avgpool 2 ceil_mode=true count_include_pad=false",
                "3x20 | avgpool 4", "2x6x7x8 | avgpool 2"],
    "lppool": ["3x9x9 | lppool 2 3", "3x20 | lppool 3 k2", "2x4x6x6 | lppool 2 2"],
    "gap": ["8x7x7 | gap", "8x10 | gap", "4x3x5x5 | gap"],
    "adaptive_avgpool": ["8x7x7 | adaptive_avgpool 3", "8x10 | adaptive_avgpool 4", "4x5x6x7 | adaptive_avgpool 2"],
    "adaptive_maxpool": ["8x7x7 | adaptive_maxpool size=3,null", "8x10 | adaptive_maxpool 3"],
    "upsample": ["3x5x5 | upsample 2", "3x5x5 | upsample 1.5 mode=bilinear", "3x6 | upsample size=10 mode=bilinear",
                 "2x3x4x4 | upsample 2 mode=bilinear align_corners=true"],
    "maxunpool": ["3x4x4 | maxunpool 2", "3x8x8 | maxpool 2 name=p | relu | maxunpool 2 indices=p",
                  "3x5 | maxunpool 3 s2 p1"],
    "linear": ["3x4x4 | flatten | linear 10", "64 | linear 5 bias=false"],
    "flatten": ["3x4x4 | flatten", "2x3x4x5 | flatten"],
    "reshape": ["3x4x4 | flatten | reshape shape=48,1,1", "4x6x6 | reshape shape=-1,3,3"],
    "embedding": ["1x30 | embedding 100 16 | conv 8 k3"],
    "dropout": ["3x4x4 | dropout 0.3"],
    "identity": ["3x4x4 | identity"],
    "bn": ["8x5x5 | bn", "8x5 | bn affine=false", "6 | bn", "4x3x3x3 | bn"],
    "ln": ["8x5x5 | ln", "8x5x5 | ln over=all", "8x10 | ln affine=false", "12 | ln"],
    "in": ["8x5x5 | in", "8x5x5 | in affine=true track_running_stats=true", "4x6 | in", "4x3x3x3 | in"],
    "gn": ["8x5x5 | gn 4", "8x10 | gn 2 affine=false"],
    "lrn": ["96x13x13 | lrn 5 alpha=5e-4 beta=0.75 k2", "6x20 | lrn 4 k=1.5", "3x4x5x6 | lrn 2 beta=0.5",
            "3x6x6 | lrn 7"],
    "layer_scale": ["8x5x5 | layer_scale", "8x10 | layer_scale init=0.1"],
    "relu": ["3x4x4 | relu"], "relu6": ["3x4x4 | relu6"], "leakyrelu": ["3x4x4 | leakyrelu 0.2"],
    "elu": ["3x4x4 | elu"], "gelu": ["3x4x4 | gelu", "3x4x4 | gelu approximate=tanh"], "silu": ["3x4x4 | silu"],
    "sigmoid": ["3x4x4 | sigmoid"], "tanh": ["3x4x4 | tanh"], "hardswish": ["3x4x4 | hardswish"],
    "hardsigmoid": ["3x4x4 | hardsigmoid"], "mish": ["3x4x4 | mish"], "softmax": ["3x4x4 | softmax"],
    "prelu": ["3x4x4 | prelu", "3x4x4 | prelu per_channel=true"],
    "maxout": ["8x4x4 | maxout 2", "9x5 | maxout 3"],
    "channel_shuffle": ["8x4x4 | channel_shuffle 4"],
    "shift": ["9x6x6 | shift", "10x6x6 | shift k=3x1", "8x12 | shift 5"],
    "split": ["8x4x4 | split 2 1", "9x5 | split 3"],
    "pad": ["3x6x6 | pad 1", "3x5x7 | pad 1:2x0:4 reflect", "2x9 | pad 2 replicate", "2x4x4x4 | pad 1x0x2 circular",
            "3x6x6 | pad 2 value=-1.5 | conv 4 k3", "2x3x5 | pad 0:3x5:1 circular | maxpool 2"],
    "crop": ["3x12x12 | crop 8", "3x12x11 | crop 5x6 offset=7x0", "2x9 | crop 4 1", "2x5x6x7 | crop 3",
             "4x10x10 | conv 4 k3 | crop 5 | relu"],
    "add": ["4x6x6 | conv 4 k3 p1 name=a | relu name=b | add from=a,b,input"],
    "mul": ["4x6x6 | gap name=g | mul from=input,g"],
    "concat": ["4x6x6 | conv 2 k3 p1 name=a | concat from=input,a",
               "4x10x10 | conv 4 k3 name=a | conv 4 k3 name=b | concat from=input,a,b crop=true"],
}


def test_every_kind_has_an_example():
    assert set(EXAMPLES) == set(REGISTRY), set(REGISTRY) ^ set(EXAMPLES)


CASES = [(kind, text) for kind, texts in EXAMPLES.items() for text in texts]


@pytest.mark.parametrize("kind, text", CASES, ids=[f"{k}:{t}" for k, t in CASES])
def test_example_agrees_with_pytorch(kind, text, torch):
    pytest.importorskip("fvcore")
    import convcalc
    from convcalc.verify import verify

    spec = convcalc.from_text(text)
    assert kind in {node.kind for node in spec.nodes}
    result = verify(spec, batch=2)
    bad = {layer.name: [c for c in layer.checks if not c.ok] for layer in result.layers if not layer.ok}
    assert result.ok, bad


def test_meta_device_is_used_and_fvcore_needs_real_tensors(torch):
    pytest.importorskip("fvcore")
    import convcalc
    from convcalc.verify import verify

    result = verify(convcalc.from_text("3x4096x4096 | conv 8 k3 s2 | relu"), use_fvcore=False)
    assert result.ok
    assert result.notes == ("shapes, parameters and FlopCounterMode ran on the meta device (no memory allocated)",)
    assert result.layers[0].check("shape").actual == (1, 8, 2047, 2047)


@pytest.mark.parametrize("text", EXAMPLES["fftconv"])
def test_fft_convolution_computes_the_convolution(text, torch):
    """The FFT convolution gives the same numbers as the direct one with the same weights."""
    import convcalc
    from convcalc.torch_bridge import build

    torch.manual_seed(0)
    fft = build(convcalc.from_text(text)).double()
    direct = build(convcalc.from_text(text.replace("fftconv", "conv"))).double()
    conv = direct.get_submodule("conv1")
    conv = conv[1] if isinstance(conv, torch.nn.Sequential) else conv  # TF-same convs pad first
    conv.load_state_dict(fft.get_submodule("fftconv1").state_dict())
    x = torch.randn(2, *convcalc.from_text(text).input, dtype=torch.float64)
    assert torch.allclose(fft(x), direct(x), atol=1e-10)


def test_every_kind_is_documented_in_the_spec_and_cost_tables():
    """docs/spec.md's table of kinds and docs/costs.md's cost table name every registry kind, so
    a new record cannot land undocumented."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    for doc in ("docs/spec.md", "docs/costs.md"):
        rows = [line for line in (root / doc).read_text(encoding="utf-8").splitlines() if line.startswith("| ")]
        named = {kind for line in rows for kind in re.findall(r"`([a-z_0-9]+)`", line.split("|")[1])}
        missing = sorted(set(REGISTRY) - named)
        assert not missing, f"{doc} has no table row for {missing}"
