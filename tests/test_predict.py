"""`convcalc predict`: the plain roofline of a catalogue device, each figure worked by hand from
the catalogue's numbers (convcalc/devices.json); bad input; the JSON document; no torch."""

from __future__ import annotations

import json
import pytest
from click.testing import CliRunner

from convcalc.cli import cli
from convcalc.predict import catalogue, predict
from convcalc.spec import from_text

A100 = catalogue()["a100-sxm-80gb"]


def run(*args: str):
    return CliRunner().invoke(cli, ["predict", *args], catch_exceptions=False)


def test_the_catalogue_holds_the_published_figures():
    # as the brief and each sheet state them; a typo in devices.json fails here
    assert A100.flops_per_s["float32"] == 19.5e12 and A100.flops_per_s["bfloat16"] == 312e12
    assert A100.bytes_per_s == 2039e9
    h100 = catalogue()["h100-sxm"]
    assert h100.flops_per_s["float32"] == 67e12 and h100.flops_per_s["bfloat16"] == 1979e12 / 2
    assert h100.bytes_per_s == 3.35e12
    assert catalogue()["jetson-orin-nano-8gb"].flops_per_s == {"float32": 1024 * 2 * 625e6}
    for device in catalogue().values():
        assert device.source and device.bytes_per_s > 0 and device.flops_per_s


def test_a_compute_bound_conv_by_hand():
    # 64x56x56 -> conv 64 k3 p1: output 64x56x56, MACs = 64*56*56 * 64*3*3 per sample, FLOPs
    # = 2*MACs + the bias add per output element. Bytes: input + output at 4 bytes + weights
    # (64*64*3*3 + 64 bias) at 4 bytes.
    p = predict(from_text("64x56x56 | conv 64 k3 p1"), A100, "float32", (1,))
    [conv] = p.batches[0].layers
    macs = 64 * 56 * 56 * 64 * 3 * 3
    flops = 2 * macs + 64 * 56 * 56
    moved = 64 * 56 * 56 * 4 + 64 * 56 * 56 * 4 + (64 * 64 * 3 * 3 + 64) * 4
    assert (conv.flops, conv.bytes) == (flops, moved)
    compute_s, memory_s = flops / 19.5e12, moved / 2039e9
    assert compute_s > memory_s  # 3.7e9 FLOPs vs 1.8 MB: compute-bound on an A100
    assert conv.latency_s == pytest.approx(compute_s) and conv.bound == "compute"
    assert p.batches[0].latency_s == pytest.approx(compute_s)
    assert p.batches[0].throughput_per_s == pytest.approx(1 / compute_s)


def test_a_memory_bound_relu_by_hand_and_dtype_halves_the_bytes():
    # relu on 64x56x56: 1 FLOP per element; reads and writes every element.
    n = 64 * 56 * 56
    for dtype, size, peak in (("float32", 4, 19.5e12), ("bfloat16", 2, 312e12)):
        [relu] = predict(from_text("64x56x56 | relu"), A100, dtype, (1,)).batches[0].layers
        assert (relu.flops, relu.bytes) == (n, 2 * n * size)
        assert n / peak < 2 * n * size / 2039e9
        assert relu.latency_s == pytest.approx(2 * n * size / 2039e9) and relu.bound == "memory"


def test_network_latency_is_the_sum_and_batch_scales_activations_not_weights():
    p = predict(from_text("3x32x32 | conv 16 k3 | relu | flatten | linear 10"), A100, "float32", (1, 8))
    one, eight = p.batches
    assert [b.batch for b in p.batches] == [1, 8]
    for b in p.batches:
        assert b.latency_s == pytest.approx(sum(layer.latency_s for layer in b.layers))
        assert b.throughput_per_s == pytest.approx(b.batch / b.latency_s)
        assert sum(layer.share for layer in b.layers) == pytest.approx(1)
    linear1, linear8 = one.layers[-1], eight.layers[-1]
    weights = (16 * 30 * 30 * 10 + 10) * 4
    activations = (16 * 30 * 30 + 10) * 4  # its input and output per sample
    assert (linear1.bytes, linear8.bytes) == (weights + activations, weights + 8 * activations)
    assert linear8.flops == 8 * linear1.flops


def test_json_mirrors_profiles_document():
    result = run("-e", "3x32x32 | conv 16 k3 | relu", "--device", "rtx-4090", "--batch", "1,4", "--format", "json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    from convcalc.report import SCHEMAS

    assert doc["schema"] == SCHEMAS["predict"] and doc["dtype"] == "float32" and doc["partial"] is False
    assert doc["device"]["name"] == "rtx-4090" and doc["device"]["uncalibrated"] is True
    assert "Ada Lovelace" in doc["device"]["source"]
    assert [b["batch"] for b in doc["batches"]] == [1, 4]
    for b in doc["batches"]:
        assert isinstance(b["latency_s"], float) and b["throughput_per_s"] == pytest.approx(b["batch"] / b["latency_s"])
        assert [layer["name"] for layer in b["layers"]] == ["conv1", "relu1"]
        for layer in b["layers"]:
            assert {"name", "kind", "latency_s", "bound", "flops", "bytes"} <= set(layer)
            assert layer["bound"] in ("compute", "memory")
            assert layer["latency_s"] == max(layer["flops"] / 82.6e12, layer["bytes"] / 1008e9)


def test_the_table_says_uncalibrated_and_names_the_source():
    out = run("-e", "3x32x32 | conv 16 k3", "--device", "h100-sxm", "--dtype", "bfloat16").stdout
    assert "uncalibrated" in out and "H100" in out and "989.5" in out


@pytest.mark.parametrize("args, message", [
    (["--device", "rtx-4909"], "no device 'rtx-4909' in the catalogue (did you mean 'rtx-4090'?)"),
    (["--device", "jetson-orin-nano-8gb", "--dtype", "bfloat16"], "has no published peak for bfloat16"),
    (["--device", "rtx-4090", "--dtype", "float64"], "has no published peak for float64"),
    (["--device", "a100-sxm-80gb", "--batch", "0"], "--batch must be from 1"),
])
def test_bad_input_is_one_line_exit_2(args, message):
    result = run("-e", "3x8x8 | relu", *args)
    assert result.exit_code == 2
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


# That predict never imports torch or numpy is checked beside shapes, in
# tests/test_cli.py::test_shapes_and_predict_never_import_heavy_modules.
