"""`convcalc import` of attention models (tests/import_models.ATTENTION), from PyTorch and from both
torch ONNX exporters, against PyTorch: parameters and buffers, MACs as FlopCounterMode / 2 with
nn.MultiheadAttention's fused fast path off (training mode: its math path runs, which
FlopCounterMode counts; docs/costs.md) and SDPA on its math backend, the output shape; the written
spec passes `convcalc verify`. A product with a number is
the scale kind; what has no kind (batch_first=False) is refused with the list, never a number."""

from __future__ import annotations

import pytest

from tests import import_models

ATTENTION = import_models.ATTENTION


def truth(model, shape):
    """(params, buffers, MACs, per-sample output) of the module on PyTorch's math path: in training
    mode (dropout is p=0 in these models: the same values) so nn.MultiheadAttention skips its fused
    fast path, and SDPA on the math backend (two counted batched products)."""
    import torch
    from torch.nn.attention import SDPBackend, sdpa_kernel
    from torch.utils.flop_counter import FlopCounterMode

    model.train()
    with torch.no_grad(), sdpa_kernel(SDPBackend.MATH), FlopCounterMode(display=False) as counter:
        y = model(torch.randn(1, *shape))
    flops = counter.get_total_flops()
    assert flops % 2 == 0
    return (sum(p.numel() for p in model.parameters()), sum(b.numel() for b in model.buffers()), flops // 2,
            tuple(y.shape[1:]))


@pytest.mark.parametrize("builder", list(ATTENTION))
def test_an_attention_model_imports_as_the_module(builder, torch):
    import convcalc
    from convcalc.importers import read

    shape = ATTENTION[builder]
    report = convcalc.analyze(read(f"tests.import_models:{builder}", shape).spec())
    params, buffers, macs, out = truth(getattr(import_models, builder)(), shape)
    assert (report.total.params, report.total.buffers, report.total.macs, report.output[1:]) == \
        (params, buffers, macs, out)


def test_the_vit_is_torchvisions_layers_with_attentions_products_counted(torch):
    """The replica of torchvision's VisionTransformer (image 32, patch 8: 16 patches + the class
    token = 17 tokens of 48, 3 heads, MLP 96, 2 layers, 10 classes) as the library's vit spec
    writes it, and its MACs by hand: the patch conv, per layer the four projections, QKᵀ and the
    product with V, the MLP; the head."""
    import convcalc
    from convcalc.importers import read

    report = convcalc.analyze(read("tests.import_models:build_vit", (3, 32, 32)).spec())
    kinds = {layer.name: layer.kind for layer in report.layers}
    assert kinds["conv_proj"] == "conv" and kinds["encoder.layers.encoder_layer_0.self_attention"] == "mha"
    assert [layer.kind for layer in report.layers][1:6] == ["reshape", "transpose", "cls_token", "pos_embed", "dropout"]
    assert kinds["encoder.layers.encoder_layer_1.ln_2"] == "ln" and kinds["heads.head"] == "linear"
    n, e, mlp = 16 + 1, 48, 96
    per_layer = 4 * n * e * e + 2 * n * n * e + 2 * n * e * mlp
    assert report.total.macs == 16 * e * 3 * 8 * 8 + 2 * per_layer + e * 10
    assert report.total.params == (e * 3 * 8 * 8 + e) + e + n * e + 2 * (
        2 * 2 * e + 4 * e * e + 4 * e + (e * mlp + mlp) + (mlp * e + e)) + 2 * e + (e * 10 + 10)


@pytest.mark.parametrize("builder", list(ATTENTION))
def test_the_written_attention_spec_verifies(builder, torch):
    pytest.importorskip("fvcore")
    import convcalc
    from convcalc.importers import read
    from convcalc.importers.writer import render
    from convcalc.verify import verify

    imported = read(f"tests.import_models:{builder}", ATTENTION[builder])
    written = convcalc.loads(render(imported), "written.yaml")
    result = verify(written, batch=2)
    assert result.ok, [(layer.name, [c for c in layer.checks if not c.ok]) for layer in result.layers if not layer.ok]


def test_products_with_numbers_are_scale_layers_of_one_multiply_per_element(torch):
    """x * 0.5, 3 * x, x / 4 and torch.mul(x, -2) on the stem's 4x6x6 map: four scale layers, the
    number as written (a division is its inverse), X FLOPs each, nothing learned."""
    import convcalc
    from convcalc.importers import read

    imported = read("tests.import_models:build_scaled_by_numbers", (3, 8, 8))
    report = convcalc.analyze(imported.spec())
    scales = [layer for layer in report.layers if layer.kind == "scale"]
    assert [layer.args["by"] for layer in imported.spec().nodes if layer.kind == "scale"] == [0.5, 3.0, 1 / 4, -2.0]
    assert [layer.flops for layer in scales] == [4 * 6 * 6] * 4
    assert report.total.params == 4 * 3 * 3 * 3 + 4


@pytest.mark.parametrize("builder, shape, listed", [
    ("build_sequence_first", (3, 8, 8), "torch.nn.MultiheadAttention (batch_first=False (tokens as [N, B, E]; "
                                        "convcalc's mha reads [B, N, E], batch_first=True)) ×1 (attn)"),
])
def test_what_attention_has_no_kind_for_is_listed(builder, shape, listed, torch):
    from convcalc.errors import ConvcalcError
    from convcalc.importers import read

    with pytest.raises(ConvcalcError, match="convcalc cannot map") as error:
        read(f"tests.import_models:{builder}", shape)
    assert listed in str(error.value)
