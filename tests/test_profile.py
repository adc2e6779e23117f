"""`convcalc profile`: structure and sanity on the CPU (CI), the CUDA path where a GPU exists.

Timings are reported, never asserted: no test compares a time, a rate or a ratio of times with
a bound, because on a loaded machine any of them can be off by 100x (docs/testing.md). These
tests check that the numbers are there, positive and consistent with each other and with
convcalc's own counts, and that every refusal is one line with exit code 2.
"""

from __future__ import annotations

import json
import os

import pytest

torch = pytest.importorskip("torch")

from click.testing import CliRunner  # noqa: E402

import convcalc  # noqa: E402
import convcalc.profile as profiling  # noqa: E402
from convcalc.cli import cli  # noqa: E402
from convcalc.errors import UsageError  # noqa: E402
from convcalc.profile import LayerTime, Peaks  # noqa: E402

SPEC = "3x32x32 | conv 16 k3 p1 | bn | relu | conv 16 k3 p1 | gap | flatten | linear 10"
SEVEN = 7  # layers in SPEC: conv, bn, relu, conv, gap, flatten, linear
FAKE = Peaks(1e11, 1e10, "measured test")


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    """Each test has its own peaks cache, and calibrates briefly (0.05 s a rate, not 1 s)."""
    monkeypatch.setenv("CONVCALC_CACHE_DIR", str(tmp_path / "cache"))
    real = profiling.calibrate
    monkeypatch.setattr(profiling, "calibrate", lambda device, dtype: real(device, dtype, seconds=0.05))
    return tmp_path / "cache" / "peaks.json"


@pytest.fixture
def fake_peaks(monkeypatch):
    """Calibration that measures nothing: FAKE, and a count of the calls."""
    calls = []
    monkeypatch.setattr(profiling, "calibrate", lambda device, dtype: calls.append(dtype) or FAKE)
    return calls


def run(device="cpu", **options):
    kwargs = {"warmup": 1, "iters": 5, **options}
    return profiling.profile(convcalc.from_text(SPEC), device, **kwargs)


def invoke(*args):
    return CliRunner().invoke(cli, ["profile", *args], catch_exceptions=False)


def cpu_key(threads=None):
    return f"{profiling.device_name(torch.device('cpu'))}|float32|{threads or torch.get_num_threads()} threads"


def test_cpu_profile_structure_and_consistency():
    result = run(batches=(1, 2))
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
        assert b.layer_sum_s == pytest.approx(sum(layer.median_s for layer in b.layers))
        assert b.hook_overhead > 0
        for layer, row in zip(b.layers, report.layers):
            assert layer.median_s > 0 and layer.q1_s <= layer.median_s <= layer.q3_s
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


# -- timing method ----------------------------------------------------------------------------


def test_bare_and_hooked_forwards_alternate():
    """The regression behind whole/per-layer ratios of 0.003 and 169 on a loaded machine: all
    bare forwards ran first, then all hooked ones, so each series saw a different machine."""
    module = torch.nn.Identity()
    seen = []

    def model(x):
        seen.append("hooked" if module._forward_pre_hooks else "bare")
        return module(x)

    node = convcalc.from_text("3x4x4 | relu").nodes[0]
    whole, times = profiling._timed_runs([(node, module)], model, torch.zeros(1), warmup=2, iters=3,
                                         clock=profiling._CpuClock(None))
    assert seen == ["bare", "hooked"] * (2 + 3)  # warm-up iterations are run the same way
    assert len(whole) == 3 and len(times[node.name]) == 3  # and not kept
    assert not module._forward_pre_hooks and not module._forward_hooks  # no hook is left behind


@pytest.mark.parametrize("in_layers, expected", [
    (1 / 1.15, None),  # time between layers: the usual case
    (0.5, None), (2.0, None),  # the limits themselves pass
    (1 / 0.09, "batch 4: a whole forward took 0.09x the sum of its layers' times (median of 15 pairs): the "
               "per-layer times are inflated"),
    (1 / 9.74, "batch 4: a whole forward took 9.74x the sum of its layers' times (median of 15 pairs): most of "
               "the time goes between the layers"),
    (float("nan"), None), (0.0, None),
])
def test_ratio_far_from_one_is_a_warning(in_layers, expected):
    warning = profiling.ratio_warning(4, in_layers, 15, (5.3, 2))
    if expected is None:
        assert warning is None
    else:
        assert warning.startswith(expected)
        assert "load average 5.3 on 2 CPUs (the machine is busy)" in warning and "\n" not in warning


def test_the_share_in_layers_pairs_each_forward_with_its_hooked_twin():
    # Iteration 2 stalled in both runs (a busy machine): 10 ms bare, and 10 ms in layer b when
    # hooked. The per-layer medians miss the stall; the pairs keep it on both sides.
    whole = [1.0e-3, 1.0e-3, 10.0e-3]
    per_layer = {"a": [0.4e-3, 0.5e-3, 0.5e-3], "b": [0.4e-3, 0.3e-3, 9.0e-3]}
    # pairs: (0.4 + 0.4) / 1.0, (0.5 + 0.3) / 1.0, (0.5 + 9.0) / 10.0
    assert profiling.paired_share(whole, per_layer) == pytest.approx(0.8)
    assert profiling.paired_share([], {"a": []}) != profiling.paired_share([], {"a": []})  # nan: nothing to pair


@pytest.mark.parametrize("load, threads, warned", [
    ((2.5, 2), 2, True), ((2.0, 2), 4, True),
    ((1.9, 2), 2, False),  # some CPU is idle
    ((8.0, 2), 1, False),  # one thread waits for nobody
    ((8.0, 2), None, False), (None, 2, False),  # not a CPU run; no load average here
])
def test_a_busy_machine_with_several_threads_is_a_warning(load, threads, warned):
    warning = profiling.busy_warning(load, threads)
    assert (warning is not None) == warned
    if warned:
        assert warning.startswith(f"the machine is busy (load average {load[0]:.1f} on {load[1]} CPUs) and torch "
                                  f"runs {threads} threads: ")
        assert warning.endswith("; --threads 1 gives steadier figures")


def layer_time(name, roofline, bound="compute"):
    return LayerTime(name, "conv", 1e-3, 1e-3, 1e-3, 0.5, 10, 10, 1.0, 1e4, bound, roofline)


def test_beating_the_roofline_is_a_warning():
    rows = [layer_time("a", 0.5), layer_time("b", 1.46), layer_time("c", 1.01, "memory")]
    cached = profiling.roofline_warning(1, rows, FAKE, measured_now=False)
    assert cached == ("batch 1: 2 layers above 100% of the roofline (b 146%, c 101%): the cached peaks "
                      "(measured test) are too low for this device now: stale, or measured while the machine was "
                      "busy; measure them again with --calibrate; a memory-bound layer whose data stay in the CPU's "
                      "caches can also beat the memory roof; a convolution run as Winograd or FFT does fewer FLOPs "
                      "than the direct count convcalc uses")
    fresh = profiling.roofline_warning(1, rows[:2], FAKE, measured_now=True)
    assert fresh.startswith("batch 1: 1 layer above 100% of the roofline (b 146%): the peaks measured just now")
    assert profiling.roofline_warning(1, rows[:1], FAKE, measured_now=False) is None


def test_cli_warns_when_cached_peaks_are_beaten(private_cache):
    # Valid but absurdly low peaks (1 FLOP/s, 1 B/s): every layer with FLOPs beats them.
    private_cache.parent.mkdir()
    private_cache.write_text(json.dumps({cpu_key(): {"flops_per_s": 1, "bytes_per_s": 1, "source": "measured old"}}))
    result = invoke("-e", SPEC, "--iters", "2", "--warmup", "0", "--format", "json")
    assert result.exit_code == 0
    lines = [line for line in result.stderr.splitlines() if "above 100% of the roofline" in line]
    assert len(lines) == 1 and "the cached peaks (measured old) are too low" in lines[0]
    assert lines[0].removeprefix("convcalc: warning: ") in json.loads(result.stdout)["warnings"]


# -- threads --------------------------------------------------------------------------------


def test_threads_are_set_reported_and_restored(fake_peaks):
    before = torch.get_num_threads()
    result = invoke("-e", SPEC, "--iters", "2", "--warmup", "0", "--threads", "1", "--format", "json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["settings"]["threads"] == 1
    assert torch.get_num_threads() == before
    table = invoke("-e", SPEC, "--iters", "2", "--warmup", "0", "--threads", "1")
    assert ", float32, 1 thread, torch " in table.stdout.splitlines()[0]


@pytest.mark.parametrize("threads", ["0", "1025"])
def test_threads_out_of_range(threads, private_cache):
    result = invoke("-e", SPEC, "--threads", threads)
    assert (result.exit_code, result.stderr) == (2, f"convcalc: --threads must be between 1 and 1024, got {threads}\n")
    assert not private_cache.parent.exists()  # refused before the peaks were measured


def test_more_threads_than_cpus_is_a_warning(fake_peaks):
    cpus = profiling._cpu_count()
    result = run(threads=cpus + 1, iters=2, warmup=0)
    assert result.settings.threads == cpus + 1
    assert f"--threads {cpus + 1} is more than the {cpus} CPUs this process may use" in result.warnings[0]


def test_peaks_are_cached_per_thread_count(fake_peaks):
    cpu = torch.device("cpu")
    before = torch.get_num_threads()
    try:
        for threads in (1, 2, 1):
            torch.set_num_threads(threads)
            profiling.peaks_for(cpu, "float32", recalibrate=False)
    finally:
        torch.set_num_threads(before)
    assert len(fake_peaks) == 2  # one calibration per thread count; the third call found the first


# -- memory ---------------------------------------------------------------------------------


def test_predicted_memory_beyond_what_is_available_is_refused():
    report = convcalc.analyze(convcalc.from_text("3x32x32 | conv 16 k3 p1"))
    weights = (16 * 3 * 3 * 3 + 16) * 4
    activations = (3 * 32 * 32 + 16 * 32 * 32) * 4  # input and output are alive together
    profiling.check_memory({1: report}, "float32", (weights + activations, "test"))  # fits exactly
    with pytest.raises(UsageError, match=r"^batch 1 needs about 77\.8 KiB \(79,616 bytes: weights 1\.75 KiB \+ "
                                         r"peak activations 76\.0 KiB in float32\), more than the 77\.7 KiB "
                                         r"available \(test\); profile a smaller --batch or input$"):
        profiling.check_memory({1: report}, "float32", (weights + activations - 1, "test"))
    assert weights + activations == 79_616


@pytest.mark.parametrize("args", [["-e", SPEC, "--batch", "100000000"], ["-e", "3x100000x100000 | conv 8 k3"]])
def test_cli_refuses_a_batch_that_cannot_fit_before_running(args, monkeypatch, private_cache):
    monkeypatch.setattr(profiling, "available_memory", lambda device: (16 << 30, "MemAvailable in /proc/meminfo"))
    result = invoke(*args)
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.startswith("convcalc: batch ") and result.stderr.count("\n") == 1
    assert "more than the 16.0 GiB available (MemAvailable in /proc/meminfo)" in result.stderr
    assert not private_cache.parent.exists()  # nothing ran, not even the calibration


def test_available_memory_on_linux():
    if not os.path.exists("/proc/meminfo"):
        pytest.skip("no /proc/meminfo here")
    free, where = profiling.available_memory(torch.device("cpu"))
    assert free > 0 and where == "MemAvailable in /proc/meminfo"


@pytest.mark.parametrize("error, where, said", [
    (RuntimeError("[enforce fail at alloc_cpu.cpp:127] err == 0. DefaultCPUAllocator: not enough memory: you "
                  "tried to allocate 1228800000000 bytes."), "input",
     "out of memory on cpu at batch 1: DefaultCPUAllocator: not enough memory: you tried to allocate "
     "1228800000000 bytes; profile a smaller --batch or input"),
    (RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried to allocate 2400000000 bytes. Error code "
                  "12 (Cannot allocate memory)"), "input",
     "out of memory on cpu at batch 1: DefaultCPUAllocator: can't allocate memory: you tried to allocate 2400000000 "
     "bytes. Error code 12 (Cannot allocate memory); profile a smaller --batch or input"),
    (torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB\nmore detail"), "calibrate",
     "out of memory on cpu while measuring the peaks: CUDA out of memory. Tried to allocate 2.00 GiB; profile a "
     "smaller --batch or input"),
    (MemoryError(), "build", "out of memory on cpu while building the model: MemoryError; profile a smaller --batch "
                              "or input"),
])
def test_the_allocator_running_out_is_one_line(error, where, said, monkeypatch):
    def fail(*args, **kwargs):
        raise error

    monkeypatch.setattr(profiling, {"input": "example_input", "calibrate": "calibrate", "build": "build"}[where], fail)
    result = invoke("-e", SPEC, "--iters", "2")
    assert (result.exit_code, result.stderr) == (2, f"convcalc: {said}\n")


def test_other_runtime_errors_are_not_called_memory(monkeypatch):
    def fail(*args, **kwargs):
        raise RuntimeError("a bug in convcalc")

    monkeypatch.setattr(profiling, "example_input", fail)
    with pytest.raises(RuntimeError, match="^a bug in convcalc$"):
        run()


# -- peaks cache ----------------------------------------------------------------------------


def test_peaks_are_measured_once_and_cached(private_cache):
    device = torch.device("cpu")
    first, measured, warnings = profiling.peaks_for(device, "float32", recalibrate=False)
    assert measured and warnings == [f"peaks measured now ({profiling._rate(first.flops)}FLOP/s, "
                                     f"{profiling._rate(first.bandwidth)}B/s) and cached in {private_cache}"]
    again = profiling.peaks_for(device, "float32", recalibrate=False)
    assert again == (first, False, [])
    assert list(json.loads(private_cache.read_text())) == [cpu_key()]


GOOD = {"flops_per_s": 2e11, "bytes_per_s": 4e10, "source": "measured 2024-01-01"}


@pytest.mark.parametrize("cache, problem", [
    ("[]", "holds list, not a mapping"),
    ("null", "holds null, not a mapping"),
    ("{not json", "is not valid JSON"),
    ("[" * 100_000 + "]" * 100_000, "is not valid JSON"),  # deeper than the parser's recursion
    ({"KEY": []}, "the entry is list, not a mapping"),
    ({"KEY": None}, "the entry is null, not a mapping"),
    ({"KEY": {}}, "'flops_per_s' is missing"),
    ({"KEY": {**GOOD, "bytes_per_s": None}}, "'bytes_per_s' is null, not a number"),
    ({"KEY": {**GOOD, "flops_per_s": 0}}, "'flops_per_s' is 0, not a positive finite number"),
    ({"KEY": {**GOOD, "flops_per_s": -1e9}}, "'flops_per_s' is -1000000000.0, not a positive finite number"),
    ({"KEY": {**GOOD, "flops_per_s": "1e12"}}, "'flops_per_s' is \"1e12\", not a number"),
    ({"KEY": {**GOOD, "flops_per_s": True}}, "'flops_per_s' is true, not a number"),
    ({"KEY": {**GOOD, "bytes_per_s": float("nan")}}, "'bytes_per_s' is nan, not a positive finite number"),
    ({"KEY": {**GOOD, "bytes_per_s": float("inf")}}, "'bytes_per_s' is inf, not a positive finite number"),
    ({"KEY": {**GOOD, "flops_per_s": 10 ** 400}}, "'flops_per_s' is 1000000000000000000000000000000000000..., "
                                                  "not a positive finite number"),
    ({"KEY": {**GOOD, "source": 5}}, "'source' is missing or not text"),
])
def test_a_corrupted_cache_is_ignored_with_a_warning_and_remeasured(cache, problem, private_cache, fake_peaks):
    private_cache.parent.mkdir()
    text = cache if isinstance(cache, str) else json.dumps({cpu_key() if k == "KEY" else k: v for k, v in cache.items()})
    private_cache.write_text(text)
    peaks, measured, warnings = profiling.peaks_for(torch.device("cpu"), "float32", recalibrate=False)
    assert (peaks, measured, len(fake_peaks)) == (FAKE, True, 1)
    if isinstance(cache, str):
        assert warnings[0] == f"ignoring the peaks cache: {private_cache} {problem}; measuring the peaks again"
    else:
        assert warnings[0] == (f"ignoring the cached peaks of {cpu_key()} in {private_cache}: {problem}; "
                               "measuring them again")
    assert warnings[1].endswith(f"and cached in {private_cache}")
    assert json.loads(private_cache.read_text())[cpu_key()]["flops_per_s"] == FAKE.flops  # repaired


def test_a_corrupted_cache_through_the_cli(private_cache, fake_peaks):
    private_cache.parent.mkdir()
    private_cache.write_text(json.dumps({cpu_key(): {**GOOD, "flops_per_s": float("nan")}}))
    result = invoke("-e", SPEC, "--iters", "2", "--warmup", "0")
    assert result.exit_code == 0 and "nan" not in result.stdout
    assert result.stderr.splitlines()[0] == (f"convcalc: warning: ignoring the cached peaks of {cpu_key()} in "
                                             f"{private_cache}: 'flops_per_s' is nan, not a positive finite "
                                             "number; measuring them again")


def test_a_cache_entry_with_escapes_is_printed_clean(private_cache):
    private_cache.parent.mkdir()
    private_cache.write_text(json.dumps({cpu_key(): {**GOOD, "source": "measured \x1b]0;owned\x07"}}))
    result = invoke("-e", SPEC, "--iters", "2", "--warmup", "0")
    assert "\x1b" not in result.stdout and "peaks (measured \\x1b]0;owned\\x07): " in result.stdout


def test_a_cache_that_cannot_be_written_is_not_called_cached(tmp_path, monkeypatch, fake_peaks):
    (tmp_path / "file").write_text("")
    monkeypatch.setenv("CONVCALC_CACHE_DIR", str(tmp_path / "file" / "cache"))  # a folder under a file
    peaks, measured, warnings = profiling.peaks_for(torch.device("cpu"), "float32", recalibrate=False)
    assert (peaks, measured) == (FAKE, True)
    assert warnings == [f"peaks measured now (100 GFLOP/s, 10 GB/s) but not cached: cannot write "
                        f"{tmp_path / 'file' / 'cache' / 'peaks.json'} (Not a directory)"]
    result = invoke("-e", SPEC, "--iters", "2", "--warmup", "0")
    assert "cached in" not in result.stderr and result.stderr.count("but not cached: cannot write") == 1


@pytest.mark.parametrize("kind", ["fifo", "folder", "link to /dev/zero"])
def test_a_cache_that_is_not_a_regular_file_is_neither_read_nor_replaced(kind, private_cache, fake_peaks):
    private_cache.parent.mkdir()
    if kind == "fifo":
        if not hasattr(os, "mkfifo"):
            pytest.skip("no FIFOs here")
        os.mkfifo(private_cache)  # with no writer: opening it to read would block forever
    elif kind == "folder":
        private_cache.mkdir()
    else:
        private_cache.symlink_to("/dev/zero")
    peaks, measured, warnings = profiling.peaks_for(torch.device("cpu"), "float32", recalibrate=False)
    assert (peaks, measured) == (FAKE, True)
    assert warnings == [f"ignoring the peaks cache: {private_cache} is not a regular file; measuring the peaks again",
                        f"peaks measured now (100 GFLOP/s, 10 GB/s) but not cached: cannot write {private_cache} "
                        f"({private_cache} is not a regular file)"]
    assert not private_cache.is_file()  # left as it was


def test_a_failed_cache_write_keeps_the_old_cache(private_cache, monkeypatch, fake_peaks):
    private_cache.parent.mkdir()
    old = json.dumps({"other device|float32": GOOD})
    private_cache.write_text(old)

    def full_disk(path, data):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(profiling, "write_atomic", full_disk)
    _, _, warnings = profiling.peaks_for(torch.device("cpu"), "float32", recalibrate=False)
    assert warnings[-1].endswith("but not cached: cannot write " f"{private_cache} (No space left on device)")
    assert private_cache.read_text() == old


# -- datasheets -------------------------------------------------------------------------------


@pytest.mark.parametrize("name, label", [
    ("NVIDIA H100 80GB HBM3", "datasheet H100 SXM5"), ("NVIDIA H100 PCIe", "datasheet H100 PCIe"),
    ("NVIDIA H200", "datasheet H200 SXM"), ("NVIDIA A100-SXM4-80GB", "datasheet A100 SXM4 80GB"),
    ("NVIDIA A100-PCIE-40GB", "datasheet A100 PCIe 40GB"), ("NVIDIA L4", "datasheet L4"),
    ("NVIDIA GeForce RTX 4090", "datasheet GeForce RTX 4090"), ("NVIDIA L40S", None), ("Tesla T4", None),
])
def test_datasheet_matching(name, label):
    peaks = profiling.datasheet_for(name, "bfloat16")
    assert (peaks.source if peaks else None) == label


def test_h100_datasheet_ridge():
    # 989 TFLOP/s bf16 dense over 3.35 TB/s: about 295 FLOP per byte
    assert profiling.datasheet_for("NVIDIA H100 80GB HBM3", "bfloat16").ridge == pytest.approx(989e12 / 3.35e12)


# -- CLI ------------------------------------------------------------------------------------


def test_cli_json_csv_and_errors(tmp_path, fake_peaks):
    result = invoke("-e", SPEC, "--iters", "3", "--warmup", "0", "--format", "json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["settings"]["device"] == "cpu"
    assert [b["batch"] for b in data["batches"]] == [1]
    assert len(data["batches"][0]["layers"]) == SEVEN
    csv_out = invoke("-e", SPEC, "--iters", "3", "--warmup", "0", "--format", "csv", "--batch", "1,2")
    assert csv_out.exit_code == 0 and len(csv_out.stdout.splitlines()) == 1 + 2 * SEVEN
    plot = invoke("-e", SPEC, "--plot", str(tmp_path / "x.jpg"))
    assert plot.exit_code == 2 and "--plot writes a .png or .svg" in plot.stderr


@pytest.mark.parametrize("batch, bad_part", [
    ("1,x", "x"), ("", ""), ("1,,2", ""), ("-1", "-1"), ("1_000", "1_000"), ("１", "１"), ("1e3", "1e3"),
])
def test_bad_batch_lists(batch, bad_part):
    """Each size of the list is read as every --batch is (values.parse_batch), and the one
    that is not a whole number is named."""
    bad = invoke("-e", SPEC, "--batch", batch)
    assert (bad.exit_code, bad.stderr) == (2, f"convcalc: --batch takes a whole number like 8, got '{bad_part}'\n")


def test_batch_beyond_the_size_limit():
    for batch, bad_part in (("1," + str(2 ** 48 + 1), str(2 ** 48 + 1)), ("0", "0"),
                            ("9" * 5000, "999999999999... (5000 characters)")):
        bad = invoke("-e", SPEC, "--batch", batch)
        assert (bad.exit_code, bad.stderr) == (2, f"convcalc: --batch must be from 1 to {2 ** 48} (2^48), got {bad_part}\n")


@pytest.mark.parametrize("where, message", [
    ("missing/x.png", "--plot {path}: there is no folder {tmp}/missing"),
    ("folder.png", "--plot {path}: is a folder, not a file"),
    ("", "--plot writes a .png or .svg file, got ''"),
])
def test_plot_path_is_checked_before_the_run(where, message, tmp_path, private_cache):
    (tmp_path / "folder.png").mkdir()
    path = str(tmp_path / where) if where else ""
    result = invoke("-e", SPEC, "--plot", path)
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == f"convcalc: {message.format(path=path, tmp=tmp_path)}\n"
    assert not private_cache.parent.exists()  # nothing ran, not even the calibration


def test_cuda_unavailable_is_a_clear_error():
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    result = invoke("-e", SPEC, "--device", "cuda")
    assert result.exit_code == 2
    assert result.stderr.startswith("convcalc: --device cuda: CUDA is not available here")


@pytest.mark.parametrize("flag, value, message", [
    ("--iters", "100001", "Invalid value for '--iters': 100001 is above the maximum of 100,000"),
    ("--iters", "1", "Invalid value for '--iters': 1 is below the minimum of 2"),
    ("--warmup", "99999999999999999999", "Invalid value for '--warmup': 99999999999999999999 is above the maximum "
                                         "of 100,000"),
    ("--threads", "４", "Invalid value for '--threads': '４' is not a whole number in digits 0-9"),
])
def test_iteration_counts_are_bounded(flag, value, message):
    result = invoke("-e", SPEC, flag, value)
    assert result.exit_code == 2 and result.stderr.count("\n") == 1
    assert result.stderr.startswith(f"convcalc: {message} (see '")


def test_iterations_times_layers_are_bounded(private_cache):
    layers = 201
    spec = convcalc.from_text("3x4x4" + " | relu" * layers)
    iters = profiling.MAX_SAMPLES // layers + 1
    with pytest.raises(UsageError, match=rf"^--iters {iters} with {layers} layers would keep {iters * layers:,} "
                                         rf"per-layer times, more than the limit of 10,000,000; lower --iters$"):
        profiling.profile(spec, iters=iters)
    assert not private_cache.parent.exists()


@pytest.mark.parametrize("device", ["cudax", "cuda:x", "cuda:-1", "cuda:1:2", "", "mps", "CPU", "cuda:" + "9" * 7])
def test_a_malformed_device_is_refused_before_torch_parses_it(device, private_cache):
    result = invoke("-e", SPEC, "--device", device)
    assert (result.exit_code, result.stderr) == (2, f"convcalc: --device must be cpu, cuda or cuda:N, got '{device}'\n")
    assert not private_cache.parent.exists()


def test_names_from_a_spec_are_printed_clean(tmp_path, fake_peaks):
    from convcalc.reporters.profiling import render

    result = run(iters=2, warmup=0)
    result = result._replace(identity=result.identity._replace(name="evil\x1b]0;title\x07"))
    for fmt in ("table", "csv", "markdown", "json"):
        text = render([result], fmt)
        assert "\x1b" not in text and "\x07" not in text, fmt


# -- plots ----------------------------------------------------------------------------------


def saved_figures(monkeypatch):
    """Figures as they are saved, kept for inspection."""
    from matplotlib.figure import Figure

    figures = []
    save = Figure.savefig
    monkeypatch.setattr(Figure, "savefig", lambda self, *args, **kwargs: (figures.append(self),
                                                                          save(self, *args, **kwargs)))
    return figures


def tick_names(axes):
    """The bar chart's layer labels, top to bottom."""
    ticks = sorted(zip(axes.get_yticks(), axes.get_yticklabels()), key=lambda pair: -pair[0])
    return [label.get_text() for _, label in ticks]


def boxes(figure, texts):
    """Where the texts are drawn, without an annotation's leader line."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.text import Text

    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    return [Text.get_window_extent(text, canvas.get_renderer()) for text in texts]


def test_plot_writes_an_image(tmp_path, fake_peaks):
    pytest.importorskip("matplotlib")
    from convcalc.reporters.profiling import plot

    path = tmp_path / "roofline.png"
    plot([run()], str(path))
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_names_every_bar_and_its_labels_do_not_overlap(tmp_path, monkeypatch, fake_peaks):
    pytest.importorskip("matplotlib")
    from convcalc.reporters.profiling import PLOT_LABELS, plot

    figures = saved_figures(monkeypatch)
    result = run(iters=2, warmup=0)
    plot([result], str(tmp_path / "p.png"))
    (figure,) = figures
    roof, bars = figure.axes
    names = [f"#{i} {layer.name}" for i, layer in enumerate(result.batches[0].layers)]
    assert tick_names(bars) == names  # in spec order, the first layer on top
    assert bars.get_title().startswith(f"per-layer time: all {SEVEN} layers, in spec order")
    labels = [text for text in roof.texts]
    with_flops = [layer for layer in result.batches[0].layers if layer.flops > 0]
    assert len(labels) == min(PLOT_LABELS, len(with_flops))
    placed = boxes(figure, labels)
    for i, a in enumerate(placed):
        assert 0 <= a.x0 and a.x1 <= figure.bbox.width and 0 <= a.y0 and a.y1 <= figure.bbox.height
        for b in placed[i + 1:]:
            assert not a.overlaps(b)


def test_plot_of_many_layers_shows_the_slowest_and_says_so(tmp_path, monkeypatch, fake_peaks):
    pytest.importorskip("matplotlib")
    from convcalc.reporters.profiling import PLOT_BARS, PLOT_LABELS, plot

    layers = 3 * PLOT_BARS  # more bars than fit; every relu has FLOPs, so more points than labels
    figures = saved_figures(monkeypatch)
    spec = convcalc.from_text("4x8x8" + " | relu" * layers)
    result = profiling.profile(spec, warmup=0, iters=2)
    plot([result], str(tmp_path / "p.png"))
    (figure,) = figures
    roof, bars = figure.axes
    assert len(bars.get_yticklabels()) == PLOT_BARS
    assert bars.get_title().startswith(f"per-layer time: the {PLOT_BARS} slowest of {layers} layers, in spec order")
    slowest = sorted(range(layers), key=lambda i: -result.batches[0].layers[i].median_s)[:PLOT_BARS]
    shown = [int(name.split()[0][1:]) for name in tick_names(bars)]
    assert shown == sorted(slowest)
    placed = boxes(figure, roof.texts)
    assert len(placed) == PLOT_LABELS
    assert not any(a.overlaps(b) for i, a in enumerate(placed) for b in placed[i + 1:])


def test_plot_of_a_spec_named_like_tex(tmp_path, fake_peaks):
    pytest.importorskip("matplotlib")
    path = tmp_path / "a$\\frac$ \x1b.yaml"
    path.write_text("input: [3, 8, 8]\nlayers:\n  - conv: {out: 4, k: 3}\n")
    result = invoke(str(path), "--iters", "2", "--warmup", "0", "--plot", str(tmp_path / "p.png"))
    assert result.exit_code == 0, result.stderr
    assert (tmp_path / "p.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_profile():
    result = run("cuda", batches=(1, 4), dtype="bfloat16")
    assert result.settings.cudnn_benchmark is True
    assert result.settings.device_name == torch.cuda.get_device_name()
    for b in result.batches:
        assert b.median_s > 0 and all(layer.median_s > 0 for layer in b.layers)
        assert b.peak_memory is not None and b.peak_memory > 0


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_memory_check_uses_the_device():
    free, where = profiling.available_memory(torch.device("cuda"))
    assert free > 0 and where == "free on the device (torch.cuda.mem_get_info)"
    with pytest.raises(UsageError, match=r"^batch \d+ needs about .* available \(free on the device"):
        profiling.profile(convcalc.from_text("3x100000x100000 | conv 8 k3"), "cuda", warmup=0, iters=2)


def test_every_profile_format_has_a_renderer():
    from convcalc.reporters.profiling import RENDERERS, ProfileFormat

    assert set(RENDERERS) == set(ProfileFormat)
