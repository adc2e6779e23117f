"""Attention and token kinds (convcalc/layers/attention.py) against PyTorch built independently of
convcalc's builders, and the hand-written ViT-style encoder (tests/assets/vit_block.yaml) through
`convcalc verify` and the training memory's saved bytes. References run PyTorch's math path:
on the CPU FlopCounterMode counts 0 for nn.MultiheadAttention's fused fast path (eval mode) and
for F.scaled_dot_product_attention's CPU kernel (docs/costs.md)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import convcalc

ROOT = Path(__file__).resolve().parent.parent
VIT = ROOT / "tests" / "assets" / "vit_block.yaml"


def _flop_counter(fn, *xs):
    from torch.nn.attention import SDPBackend, sdpa_kernel
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter, sdpa_kernel(SDPBackend.MATH):
        fn(*xs)
    return counter.get_total_flops()


@pytest.mark.parametrize("n, e, heads, bias, add_bias_kv", [(5, 8, 2, True, False), (7, 12, 3, False, False),
                                                            (6, 8, 4, True, True), (197, 48, 3, True, False)])
def test_mha_params_and_macs_are_nn_multiheadattentions(n, e, heads, bias, add_bias_kv, torch):
    """params as PyTorch has them; MACs = FlopCounterMode / 2 of the module in training mode (its
    fast path off), per sample."""
    m = torch.nn.MultiheadAttention(e, heads, bias=bias, add_bias_kv=add_bias_kv, batch_first=True).train()
    x = torch.randn(2, n, e)
    layer = convcalc.analyze(convcalc.from_text(
        f"{n}x{e} | mha {heads} bias={str(bias).lower()} add_bias_kv={str(add_bias_kv).lower()}"), batch=2).layers[0]
    assert layer.params == sum(p.numel() for p in m.parameters())
    s = n + add_bias_kv
    assert layer.params == 3 * e * e + 3 * e * bias + 2 * e * add_bias_kv + e * e + e * bias
    assert layer.macs == 2 * (3 * n * e * e + n * s * e + n * s * e + n * e * e)  # batch 2
    assert 2 * layer.macs == _flop_counter(lambda t: m(t, t, t, need_weights=False), x)


@pytest.mark.parametrize("q, k, v, causal", [((3, 6, 8), (3, 6, 8), (3, 6, 8), True), ((3, 6, 8), (3, 6, 8), (3, 6, 8), False),
                                             ((12, 10), (12, 10), (12, 10), True)])
def test_sdpa_shape_and_macs_are_the_math_paths(q, k, v, causal, torch):
    import torch.nn.functional as F

    dims = ["x".join(map(str, s)) for s in (q, k, v)]
    text = (f"{dims[0]} | identity name=q | reshape shape={','.join(map(str, k))} from=input name=k | "
            f"reshape shape={','.join(map(str, v))} from=input name=v | sdpa from=q,k,v causal={str(causal).lower()}")
    layer = convcalc.analyze(convcalc.from_text(text)).layers[-1]
    xs = [torch.randn(1, *s) for s in (q, k, v)]
    assert layer.output == tuple(F.scaled_dot_product_attention(*xs, is_causal=causal).shape)
    assert 2 * layer.macs == _flop_counter(lambda *t: F.scaled_dot_product_attention(*t, is_causal=causal), *xs)


def test_sdpa_on_separate_inputs_counts_both_products(torch):
    """q [2, 5, 4], k [2, 7, 4], v [2, 7, 3] from three layers: MACs 2 heads · 5 · 7 · (4 + 3)."""
    import torch.nn.functional as F

    text = "2x5x4 | identity name=q | conv 2 k1 name=k0 | upsample size=7,4 name=k | sdpa from=q,k,k"
    layer = convcalc.analyze(convcalc.from_text(text)).layers[-1]
    assert layer.output == (1, 2, 5, 4)
    assert layer.macs == 2 * 5 * 7 * (4 + 4)
    xs = (torch.randn(1, 2, 5, 4), torch.randn(1, 2, 7, 4), torch.randn(1, 2, 7, 4))
    assert 2 * layer.macs == _flop_counter(F.scaled_dot_product_attention, *xs)


def test_matmul_broadcasts_as_torch_matmul(torch):
    """[2, 3, 4] @ [1, 4, 3] (broadcast over the heads) -> [2, 3, 3]: 2 · 3 · 3 · 4 MACs."""
    spec = "2x3x4 | relu name=a | conv 1 k1 | reshape shape=1,4,3 name=b | matmul from=a,b"
    layer = convcalc.analyze(convcalc.from_text(spec)).layers[-1]
    out = torch.matmul(torch.randn(1, 2, 3, 4), torch.randn(1, 1, 4, 3))
    assert layer.output == tuple(out.shape) and layer.macs == 2 * 3 * 3 * 4


def test_the_vit_block_shapes_are_pytorchs():
    """A 32x32 image in 4x4 patches is 8·8 = 64 tokens, plus the class token: 1x65x96 as PyTorch shows it."""
    report = convcalc.analyze(convcalc.load(str(VIT)))
    rows = {layer.name: layer for layer in report.layers}
    assert rows["tokens1"].output == (1, 8 * 8, 96)
    assert rows["cls_token1"].output == (1, 8 * 8 + 1, 96)
    assert rows["pos_embed1"].params == (8 * 8 + 1) * 96
    n, e = 8 * 8 + 1, 96
    assert rows["encoder.0.mha1"].macs == 4 * n * e * e + 2 * n * n * e
    assert rows["encoder.0.mha1"].params == 4 * e * e + 4 * e
    assert rows["norm"].params == 2 * e


def test_convcalc_verify_passes_on_the_vit_block(torch):
    pytest.importorskip("fvcore")
    result = subprocess.run([sys.executable, "-m", "convcalc", "verify", str(VIT)], capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "all 11 layers agree" in result.stdout


@pytest.mark.parametrize("dtype, amp", [("float32", None), ("bfloat16", None), ("float32", "bfloat16")])
def test_the_vit_blocks_saved_bytes_are_autograds(dtype, amp, torch):
    """What autograd keeps per layer (saved_tensors_hooks on fake CPU tensors) is what convcalc
    models, the math path's N×N probabilities per head included."""
    from convcalc import train_truth
    from convcalc.training import setup_for, timeline

    spec = convcalc.load(str(VIT))
    if amp:  # FakeTensorMode's layer_norm keeps bfloat16 statistics for a bfloat16 input with float32
        pytest.skip("weights (the real CPU kernel float32): the truth harness cannot check an amp ln after mha")
    t = timeline(spec, setup_for(spec, dtype=dtype, amp=amp, device="cpu"), input_grad=True)
    ours = {f.name: f.saved[0] + f.saved[1] * 2 for f in t.layers}
    assert ours == train_truth.saved(spec, 2, dtype, amp, input_grad=True)
    probabilities = 3 * 65 * 65 * 2 * 4  # heads · N · N · batch, in float32 (the CPU's math path upcasts bfloat16)
    assert ours["encoder.0.mha1"] > probabilities
