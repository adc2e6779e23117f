"""Every layer kind in the registry has examples, and each example's real PyTorch module agrees
with convcalc: output shape, params and buffers, fvcore's count and FlopCounterMode's count,
each under its own convention (convcalc.verify). A new kind without an example fails here."""

from __future__ import annotations

import pytest

from convcalc.layers import REGISTRY

EXAMPLES = {kind: record.examples for kind, record in REGISTRY.items()}  # each record carries its own


def test_every_kind_has_an_example():
    assert not [kind for kind, examples in EXAMPLES.items() if not examples]


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


def test_the_docs_kind_tables_are_the_records():
    """docs/spec.md's table of kinds and docs/costs.md's cost table are generated from the records
    (scripts/kind_tables.py), so a new record is documented by itself and the docs cannot drift."""
    import importlib.util
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    module_spec = importlib.util.spec_from_file_location("kind_tables", root / "scripts" / "kind_tables.py")
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    for doc, marker in module.TABLES.items():
        text = (root / doc).read_text(encoding="utf-8")
        assert module.replaced(text, marker, module.table(marker)) == text, "run: python scripts/kind_tables.py --write"
        for kind in REGISTRY:
            assert f"| `{kind}` |" in text


def test_every_record_states_its_facts():
    for kind, record in REGISTRY.items():
        assert record.doc and record.examples and len(record.costs) == 4, kind
        assert record.draws or record.merge or record.input_dtype, kind


@pytest.mark.parametrize("kind, text", CASES, ids=[f"{k}:{t}" for k, t in CASES])
def test_describe_writes_the_layer_back_in_the_one_line_form(kind, text):
    """A record's `describe` (what compare shows for a variant's layers) reads back as the same
    layer: the same normalized arguments, so the same shape and costs."""
    import convcalc

    report = convcalc.analyze(convcalc.from_text(text))
    shapes = {"input": report.input[1:], **{layer.name: layer.output[1:] for layer in report.layers}}
    for layer in report.layers:
        record = REGISTRY[layer.kind]
        if record.merge or layer.args.get("indices"):
            continue  # they name other layers: not a layer on its own
        x = shapes[layer.inputs[0]]
        if len(x) != len(report.input) - 1:
            continue  # a flat input in a spatial spec: the spec's rank is part of the arguments' meaning
        again = convcalc.from_text(f"{'x'.join(map(str, x))} | {record.describe(layer.args)}").nodes[0]
        assert again.kind == layer.kind and again.args == layer.args, record.describe(layer.args)
