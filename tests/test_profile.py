"""`convcalc profile`: structure and sanity on the CPU (CI), the CUDA path where a GPU exists.

Timings are never asserted as speeds (benchmarks/ measures speed); these tests check that the
numbers are there, positive, consistent with each other and with convcalc's own counts.
"""

from __future__ import annotations

import json

import pytest

torch = pytest.importorskip("torch")

import convcalc  # noqa: E402
from convcalc.cli import cli  # noqa: E402

SPEC = "3x32x32 | conv 16 k3 p1 | bn | relu | conv 16 k3 p1 | gap | flatten | linear 10"


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("CONVCALC_CACHE_DIR", str(tmp_path / "cache"))


def run(device="cpu", **options):
    from convcalc.profile import profile

    kwargs = {"warmup": 1, "iters": 5, **options}
    return profile(convcalc.from_text(SPEC), device, **kwargs)


def test_cpu_profile_structure_and_consistency():
    result = run(batches=(1, 2), iters=15)  # enough iterations that a scheduler hiccup cannot move the medians far
    spec = convcalc.from_text(SPEC)
    assert [b.batch for b in result.batches] == [1, 2]
    assert result.settings.device == "cpu" and result.settings.threads == torch.get_num_threads()
    assert result.peaks.flops > 0 and result.peaks.bandwidth > 0
    for b in result.batches:
        report = convcalc.analyze(spec, b.batch)
        assert [layer.name for layer in b.layers] == [node.name for node in spec.nodes]
        assert b.median_s > 0 and b.q1_s <= b.median_s <= b.q3_s
        assert b.throughput == pytest.approx(b.batch / b.median_s)
        assert sum(layer.share for layer in b.layers) == pytest.approx(1.0)
        # hooks add overhead but the per-layer sum stays within a sane factor of the whole
        assert 0.2 < b.layer_sum_s / b.median_s < 50
        for layer, row in zip(b.layers, report.layers):
            assert layer.median_s > 0
            assert layer.flops == row.flops  # convcalc's own counts at this batch
            assert layer.achieved == pytest.approx(layer.flops / layer.median_s)
            assert layer.bound == ("compute" if layer.intensity >= result.peaks.ridge else "memory")
            attainable = min(result.peaks.flops, layer.intensity * result.peaks.bandwidth)
            if attainable:
                assert layer.roofline == pytest.approx(layer.achieved / attainable)
        assert b.predicted_memory == report.total.weight_bytes + report.total.peak_activation_bytes
        assert b.peak_memory is None  # no allocator statistics on the CPU


def test_bytes_moved_are_inputs_weights_and_output():
    result = run()
    conv = result.batches[0].layers[0]
    # input 3x32x32 + weights 16*27 + 16 + output 16x32x32, float32
    assert conv.bytes == (3 * 32 * 32 + 16 * 27 + 16 + 16 * 32 * 32) * 4
    assert conv.intensity == pytest.approx(conv.flops / conv.bytes)


def test_peaks_are_measured_once_and_cached():
    from convcalc.profile import cache_path, peaks_for

    device = torch.device("cpu")
    first, measured = peaks_for(device, "float32", recalibrate=False)
    assert measured
    again, measured_again = peaks_for(device, "float32", recalibrate=False)
    assert (again, measured_again) == (first, False)
    with open(cache_path(), encoding="utf-8") as handle:
        assert any(key.endswith("|float32") for key in json.load(handle))


@pytest.mark.parametrize("name, label", [
    ("NVIDIA H100 80GB HBM3", "datasheet H100 SXM5"), ("NVIDIA H100 PCIe", "datasheet H100 PCIe"),
    ("NVIDIA H200", "datasheet H200 SXM"), ("NVIDIA A100-SXM4-80GB", "datasheet A100 SXM4 80GB"),
    ("NVIDIA A100-PCIE-40GB", "datasheet A100 PCIe 40GB"), ("NVIDIA L4", "datasheet L4"),
    ("NVIDIA GeForce RTX 4090", "datasheet GeForce RTX 4090"), ("NVIDIA L40S", None), ("Tesla T4", None),
])
def test_datasheet_matching(name, label):
    from convcalc.profile import datasheet_for

    peaks = datasheet_for(name, "bfloat16")
    assert (peaks.source if peaks else None) == label


def test_h100_datasheet_ridge():
    from convcalc.profile import datasheet_for

    # 989 TFLOP/s bf16 dense over 3.35 TB/s: about 295 FLOP per byte
    assert datasheet_for("NVIDIA H100 80GB HBM3", "bfloat16").ridge == pytest.approx(989e12 / 3.35e12)


def test_cli_json_csv_and_errors(tmp_path):
    from click.testing import CliRunner

    result = CliRunner().invoke(cli, ["profile", "-e", SPEC, "--iters", "3", "--warmup", "0", "--format", "json"])
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["settings"]["device"] == "cpu"
    assert [b["batch"] for b in data["batches"]] == [1]
    assert len(data["batches"][0]["layers"]) == 7  # conv, bn, relu, conv, gap, flatten, linear
    csv_out = CliRunner().invoke(cli, ["profile", "-e", SPEC, "--iters", "3", "--warmup", "0", "--format", "csv",
                                       "--batch", "1,2"])
    assert csv_out.exit_code == 0 and len(csv_out.stdout.splitlines()) == 1 + 2 * 7
    bad = CliRunner().invoke(cli, ["profile", "-e", SPEC, "--batch", "1,x"])
    assert (bad.exit_code, bad.stderr) == (2, "convcalc: --batch takes positive integers separated by commas, "
                                              "like 1,8,32; got '1,x'\n")
    plot = CliRunner().invoke(cli, ["profile", "-e", SPEC, "--plot", str(tmp_path / "x.jpg")])
    assert plot.exit_code == 2 and "--plot writes a .png or .svg" in plot.stderr


def test_cuda_unavailable_is_a_clear_error():
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    from click.testing import CliRunner

    result = CliRunner().invoke(cli, ["profile", "-e", SPEC, "--device", "cuda"])
    assert result.exit_code == 2
    assert result.stderr.startswith("convcalc: --device cuda: CUDA is not available here")


def test_plot_writes_an_image(tmp_path):
    pytest.importorskip("matplotlib")
    from convcalc.reporters.profiling import plot

    path = tmp_path / "roofline.png"
    plot([run()], str(path))
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_profile():
    result = run("cuda", batches=(1, 4), dtype="bfloat16")
    assert result.settings.cudnn_benchmark is True
    assert result.settings.device_name == torch.cuda.get_device_name()
    for b in result.batches:
        assert b.median_s > 0 and all(layer.median_s > 0 for layer in b.layers)
        assert b.peak_memory is not None and b.peak_memory > 0
