"""Measured per-layer latency on CPU or CUDA, placed on the roofline.

Method (docs/profile.md has the details and the JSON keys):

1. Build the spec's module on the device (eval mode, `torch.inference_mode`, random inputs), in
   the chosen dtype and optionally channels-last; warm up.
2. Whole-network latency without any hooks: `iters` timed forwards; median and interquartile
   range, throughput in samples/s. On CUDA each forward is bracketed by two CUDA events and the
   device is synchronized once per iteration; on CPU a monotonic clock (`perf_counter_ns`).
3. Per-layer times from forward pre/post hooks on every layer's module: CUDA events recorded at
   each hook and read after one synchronize per iteration (never one per layer), or the monotonic
   clock on CPU. The sum of the per-layer medians against the whole-network median is the hook
   overhead, reported.
4. Roofline: each layer's FLOPs and bytes moved (input + weights + output) come from convcalc's
   own analysis; achieved FLOP/s, arithmetic intensity, compute- or memory-bound against the
   device's ridge point, and the percentage of the roofline bound reached.

Peaks come from `calibrate`: a large matmul in the dtype (FLOP/s) and a large device-to-device
copy (bytes/s, read + write), cached per device name and dtype. A datasheet table of common GPUs
is shown beside the measured figures, never instead of them. torch is imported here: import
this module lazily.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from datetime import datetime, timezone
from typing import Any, Callable, NamedTuple

import torch

from .analysis import analyze
from .errors import UsageError
from .spec.model import DTYPE_BYTES, Spec
from .torch_bridge import build, example_input, module_path

DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}
NOISY = 0.10  # interquartile range above 10% of the median: the run is too noisy to trust

# Datasheet peaks (dense, no sparsity): FLOP/s per dtype and memory bandwidth in bytes/s. float32
# is the non-tensor FP32 rate (TF32 tensor cores, which convolutions may use, are faster).
# Matched (regular expression) against torch.cuda.get_device_name(), most specific first.
_A100 = {"float32": 19.5e12, "float16": 312e12, "bfloat16": 312e12}
_HOPPER = {"float32": 67e12, "float16": 989e12, "bfloat16": 989e12}
DATASHEETS: list[tuple[str, str, dict[str, float], float]] = [
    (r"H100.*PCIe", "H100 PCIe", {"float32": 51e12, "float16": 756e12, "bfloat16": 756e12}, 2.0e12),
    (r"H100", "H100 SXM5", _HOPPER, 3.35e12),
    (r"H200", "H200 SXM", _HOPPER, 4.8e12),
    (r"A100.*PCIE.*40GB", "A100 PCIe 40GB", _A100, 1.555e12),
    (r"A100.*PCIE", "A100 PCIe 80GB", _A100, 1.935e12),
    (r"A100.*40GB", "A100 SXM4 40GB", _A100, 1.555e12),
    (r"A100", "A100 SXM4 80GB", _A100, 2.039e12),
    (r"\bL4\b", "L4", {"float32": 30.3e12, "float16": 121e12, "bfloat16": 121e12}, 300e9),
    (r"RTX 4090", "GeForce RTX 4090", {"float32": 82.6e12, "float16": 165.2e12, "bfloat16": 165.2e12}, 1008e9),
]


class Peaks(NamedTuple):
    flops: float  # FLOP/s
    bandwidth: float  # bytes/s
    source: str  # "measured <date>" or "datasheet <name>"

    @property
    def ridge(self) -> float:
        """Arithmetic intensity (FLOP/byte) where the two roofs meet."""
        return self.flops / self.bandwidth


class Settings(NamedTuple):
    torch: str
    device: str
    device_name: str
    dtype: str
    threads: int | None
    cudnn_benchmark: bool | None
    channels_last: bool
    warmup: int
    iters: int
    date: str


class LayerTime(NamedTuple):
    name: str
    kind: str
    median_s: float
    q1_s: float
    q3_s: float
    share: float  # of the sum of per-layer medians
    flops: int
    bytes: int  # input + weights + output
    intensity: float  # FLOP per byte
    achieved: float  # FLOP/s
    bound: str  # "compute" | "memory"
    roofline: float  # achieved / attainable at this intensity, 0..1 (ideally)


class BatchProfile(NamedTuple):
    batch: int
    median_s: float
    q1_s: float
    q3_s: float
    throughput: float  # samples/s
    layers: tuple[LayerTime, ...]
    layer_sum_s: float
    noisy: bool
    peak_memory: int | None  # measured (CUDA), bytes
    predicted_memory: int  # convcalc: weights + peak activations, bytes

    @property
    def hook_overhead(self) -> float:
        """Sum of per-layer medians over the whole-network median (1.0: no overhead)."""
        return self.layer_sum_s / self.median_s if self.median_s else float("nan")


class Profile(NamedTuple):
    name: str
    source: str
    settings: Settings
    peaks: Peaks
    datasheet: Peaks | None
    batches: tuple[BatchProfile, ...]
    warnings: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": 1, "name": self.name, "source": self.source, "settings": self.settings._asdict(),
            "peaks": {"flops_per_s": self.peaks.flops, "bytes_per_s": self.peaks.bandwidth,
                      "ridge_flops_per_byte": self.peaks.ridge, "source": self.peaks.source},
            "datasheet": None if self.datasheet is None else {
                "flops_per_s": self.datasheet.flops, "bytes_per_s": self.datasheet.bandwidth,
                "source": self.datasheet.source},
            "batches": [{
                "batch": b.batch, "latency_s": {"median": b.median_s, "q1": b.q1_s, "q3": b.q3_s},
                "throughput_per_s": b.throughput, "layer_sum_s": b.layer_sum_s, "hook_overhead": b.hook_overhead,
                "noisy": b.noisy, "peak_memory_bytes": b.peak_memory, "predicted_memory_bytes": b.predicted_memory,
                "layers": [layer._asdict() for layer in b.layers],
            } for b in self.batches],
            "warnings": list(self.warnings),
        }


# -- devices and timers ---------------------------------------------------------------------


def resolve_device(name: str) -> torch.device:
    if name == "cpu":
        return torch.device("cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise UsageError(f"--device {name}: CUDA is not available here (torch {torch.__version__}, "
                             f"torch.cuda.is_available() is False)")
        device = torch.device(name)
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise UsageError(f"--device {name}: there are {torch.cuda.device_count()} CUDA devices")
        return device
    raise UsageError(f"--device must be cpu, cuda or cuda:N, got '{name}'")


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "cpu"


class _CpuClock:
    """Monotonic wall clock; a mark is a time in ns."""

    def __init__(self, device: torch.device) -> None:
        pass

    def mark(self) -> int:
        return time.perf_counter_ns()

    def sync(self) -> None:
        pass

    @staticmethod
    def seconds(start: Any, end: Any) -> float:
        return (end - start) / 1e9


class _CudaClock:
    """CUDA events: a mark is an event recorded on the current stream; read after one sync."""

    def __init__(self, device: torch.device) -> None:
        self.device = device

    def mark(self) -> Any:
        event = torch.cuda.Event(enable_timing=True)
        event.record()
        return event

    def sync(self) -> None:
        torch.cuda.synchronize(self.device)

    @staticmethod
    def seconds(start: Any, end: Any) -> float:
        return start.elapsed_time(end) / 1e3


def _quartiles(values: list[float]) -> tuple[float, float, float]:
    if len(values) < 2:
        return values[0], values[0], values[0]
    q1, median, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return median, q1, q3


# -- calibration ----------------------------------------------------------------------------


def cache_path() -> str:
    base = os.environ.get("CONVCALC_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "convcalc")
    return os.path.join(base, "peaks.json")


def calibrate(device: torch.device, dtype: str, seconds: float = 1.0) -> Peaks:
    """Measure peak FLOP/s (square matmuls in `dtype`) and bandwidth (device-to-device copies,
    counting bytes read and written); the best of several repetitions, as peaks are."""
    clock = _CudaClock(device) if device.type == "cuda" else _CpuClock(device)
    torch_dtype = DTYPES[dtype]
    n = 8192 if device.type == "cuda" else 1024
    a = torch.randn(n, n, device=device, dtype=torch_dtype)
    b = torch.randn(n, n, device=device, dtype=torch_dtype)

    def best(run: Callable[[], Any], work: float) -> float:
        run()
        clock.sync()
        rates, deadline = [], time.perf_counter() + seconds / 2
        while len(rates) < 3 or (time.perf_counter() < deadline and len(rates) < 50):
            start = clock.mark()
            run()
            end = clock.mark()
            clock.sync()
            rates.append(work / max(clock.seconds(start, end), 1e-12))
        return max(rates)

    with torch.inference_mode():
        flops = best(lambda: torch.mm(a, b), 2.0 * n**3)
        del a, b
        size = (1 << 30) if device.type == "cuda" else (1 << 27)  # bytes per copy buffer
        src = torch.empty(size // 4, device=device, dtype=torch.float32)
        dst = torch.empty_like(src)
        src.fill_(1.0)
        bandwidth = best(lambda: dst.copy_(src), 2.0 * size)
    return Peaks(flops, bandwidth, f"measured {datetime.now(timezone.utc).date().isoformat()}")


def peaks_for(device: torch.device, dtype: str, recalibrate: bool) -> tuple[Peaks, bool]:
    """Cached measured peaks for this device and dtype (measured now when absent or asked)."""
    key = f"{device_name(device)}|{dtype}"
    path = cache_path()
    try:
        with open(path, encoding="utf-8") as handle:
            cache = json.load(handle)
    except (OSError, ValueError):
        cache = {}
    if not recalibrate and key in cache:
        entry = cache[key]
        return Peaks(entry["flops_per_s"], entry["bytes_per_s"], entry["source"]), False
    peaks = calibrate(device, dtype)
    cache[key] = {"flops_per_s": peaks.flops, "bytes_per_s": peaks.bandwidth, "source": peaks.source,
                  "torch": torch.__version__}
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(cache, handle, indent=1, sort_keys=True)
    except OSError:
        pass  # a read-only home: the peaks are still used for this run
    return peaks, True


def datasheet_for(name: str, dtype: str) -> Peaks | None:
    import re

    for pattern, label, flops, bandwidth in DATASHEETS:
        if re.search(pattern, name, re.IGNORECASE):
            return Peaks(flops[dtype], bandwidth, f"datasheet {label}")
    return None


# -- profiling ------------------------------------------------------------------------------


def _layer_bytes(spec: Spec, report: Any, itemsize: int) -> dict[str, int]:
    """Bytes a layer moves at least once: its inputs, its weights and buffers, its output."""
    out = {"input": report.input and _numel(report.input) * itemsize}
    moved = {}
    for node, layer in zip(spec.nodes, report.layers):
        inputs = sum(out[name] for name in set(node.inputs))
        moved[node.name] = inputs + (layer.params + layer.buffers) * itemsize + layer.output_bytes
        out[node.name] = layer.output_bytes
    return moved


def _numel(shape: tuple[int, ...]) -> int:
    n = 1
    for v in shape:
        n *= v
    return n


def profile(spec: Spec, device_spec: str = "cpu", dtype: str = "float32", batches: tuple[int, ...] = (1,),
            warmup: int = 10, iters: int = 50, channels_last: bool = False, recalibrate: bool = False,
            progress: Callable[[str], None] | None = None) -> Profile:
    device = resolve_device(device_spec)
    if dtype not in DTYPES:
        raise UsageError(f"--dtype must be one of {', '.join(DTYPES)}, got '{dtype}'")
    if iters < 2:
        raise UsageError("--iters must be at least 2 (the spread needs two measurements)")
    say = progress or (lambda message: None)
    warnings: list[str] = []
    cudnn = None
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # pick the fastest algorithms, as deployments do
        cudnn = True
    settings = Settings(
        torch=torch.__version__, device=str(device), device_name=device_name(device), dtype=dtype,
        threads=torch.get_num_threads() if device.type == "cpu" else None, cudnn_benchmark=cudnn,
        channels_last=channels_last, warmup=warmup, iters=iters,
        date=datetime.now(timezone.utc).isoformat(timespec="seconds"))
    say(f"peaks of {settings.device_name} in {dtype}")
    peaks, measured_now = peaks_for(device, dtype, recalibrate)
    if measured_now:
        warnings.append(f"peaks measured now ({_rate(peaks.flops)}FLOP/s, {_rate(peaks.bandwidth)}B/s) "
                        f"and cached in {cache_path()}")
    datasheet = datasheet_for(settings.device_name, dtype) if device.type == "cuda" else None

    torch_dtype = DTYPES[dtype]
    model = build(spec).to(device=device, dtype=torch_dtype)
    memory_format = None
    if channels_last:
        memory_format = {2: torch.channels_last, 3: torch.channels_last_3d}.get(spec.nd)
        if memory_format is None:
            warnings.append("--channels-last applies to 2-D and 3-D networks only; ignored")
        else:
            model = model.to(memory_format=memory_format)
    clock = _CudaClock(device) if device.type == "cuda" else _CpuClock(device)
    modules = [(node, model.get_submodule(module_path(node.name))) for node in spec.nodes]
    profiled_spec = spec._replace(dtype=dtype)
    itemsize = DTYPE_BYTES[dtype]
    results = []
    for batch in batches:
        say(f"batch {batch}: warm-up")
        x = example_input(spec, batch, device=device, dtype=torch_dtype)
        if memory_format is not None:
            x = x.contiguous(memory_format=memory_format)
        report = analyze(profiled_spec, batch)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
            torch.cuda.reset_peak_memory_stats(device)
        with torch.inference_mode():
            for _ in range(warmup):
                model(x)
            clock.sync()
            say(f"batch {batch}: {iters} timed runs")
            whole = []
            for _ in range(iters):
                start = clock.mark()
                model(x)
                end = clock.mark()
                clock.sync()
                whole.append(clock.seconds(start, end))
            say(f"batch {batch}: {iters} runs with per-layer hooks")
            per_layer = _per_layer(modules, model, x, iters, clock)
        peak_memory = torch.cuda.max_memory_allocated(device) if device.type == "cuda" else None
        median, q1, q3 = _quartiles(whole)
        moved = _layer_bytes(spec, report, itemsize)
        layer_medians = {name: _quartiles(times) for name, times in per_layer.items()}
        layer_sum = sum(m for m, _, _ in layer_medians.values())
        rows = []
        for node, layer in zip(spec.nodes, report.layers):
            m, lq1, lq3 = layer_medians[node.name]
            intensity = layer.flops / moved[node.name] if moved[node.name] else 0.0
            achieved = layer.flops / m if m > 0 else 0.0
            attainable = min(peaks.flops, intensity * peaks.bandwidth)
            rows.append(LayerTime(node.name, node.kind, m, lq1, lq3, m / layer_sum if layer_sum else 0.0,
                                  layer.flops, moved[node.name], intensity, achieved,
                                  "compute" if intensity >= peaks.ridge else "memory",
                                  achieved / attainable if attainable > 0 else 0.0))
        noisy = (q3 - q1) > NOISY * median
        if noisy:
            warnings.append(f"batch {batch}: the run is noisy (interquartile range {100 * (q3 - q1) / median:.0f}% "
                            f"of the median); close other work or raise --iters before trusting these figures")
        predicted = report.total.weight_bytes + report.total.peak_activation_bytes
        results.append(BatchProfile(batch, median, q1, q3, batch / median if median else 0.0, tuple(rows),
                                    layer_sum, noisy, peak_memory, predicted))
    return Profile(spec.name, spec.source, settings, peaks, datasheet, tuple(results), tuple(warnings))


def _per_layer(modules: list[tuple[Any, Any]], model: Any, x: Any, iters: int, clock: Any) -> dict[str, list[float]]:
    """Per-layer times from pre/post forward hooks; one device sync per iteration."""
    marks: dict[str, list[Any]] = {}
    handles = []
    for node, module in modules:
        def pre(mod: Any, args: Any, name: str = node.name) -> None:
            marks[name] = [clock.mark()]

        def post(mod: Any, args: Any, out: Any, name: str = node.name) -> None:
            marks[name].append(clock.mark())

        handles.append(module.register_forward_pre_hook(pre))
        handles.append(module.register_forward_hook(post))
    times: dict[str, list[float]] = {node.name: [] for node, _ in modules}
    try:
        for _ in range(iters):
            marks.clear()
            model(x)
            clock.sync()
            for name, (start, end) in marks.items():
                times[name].append(clock.seconds(start, end))
    finally:
        for handle in handles:
            handle.remove()
    return times


def _rate(value: float) -> str:
    for unit, scale in (("T", 1e12), ("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if value >= scale:
            return f"{value / scale:.3g} {unit}"
    return f"{value:.3g} "
