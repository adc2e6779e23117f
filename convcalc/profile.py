"""Measured per-layer latency on CPU or CUDA, placed on the roofline.

Method (docs/profile.md has the details and the JSON keys):

1. Check, before anything runs, that every batch's predicted memory (weights + peak activations,
   convcalc's own analysis at that batch and dtype) fits what the device has available.
2. Build the spec's module on the device (eval mode, `torch.inference_mode`, random inputs), in
   the chosen dtype and optionally channels-last, with `threads` CPU threads when given.
3. Each iteration (warm-up ones included, then not kept) runs the network twice: once bare, timed
   as a whole, and once with forward pre/post hooks on every layer's module, timing each layer.
   Alternating puts both series under the same conditions; on a loaded machine series measured
   one after the other disagreed by up to 100x. On CUDA a mark is an event and the device is
   synchronized once per forward (never once per layer); on the CPU a mark is `perf_counter_ns`.
   Whole-network median and interquartile range, throughput in samples/s; each layer's median;
   the share of a forward spent in the layers, as the median over iterations of each hooked
   forward's layer sum over the bare forward before it (`paired_share`). When that is further
   from 1 than a factor RATIO_FAR, a warning says so and why it may be.
4. Roofline: each layer's FLOPs and bytes moved (input + weights + output) come from convcalc's
   own analysis; achieved FLOP/s, arithmetic intensity, compute- or memory-bound against the
   device's ridge point, and the percentage of the roofline bound reached (above 100%: a
   warning that the peaks are too low).

Peaks come from `calibrate`: a large matmul in the dtype (FLOP/s) and a large device-to-device
copy (bytes/s, read + write), cached per device name and dtype (and thread count on the CPU).
A datasheet table of common GPUs is shown beside the measured figures, never instead of them;
a cache entry that is not two positive finite rates is ignored with a warning and measured
again. torch is imported here: import this module lazily.
"""

from __future__ import annotations

import json
import math
import os
import platform
import re
import stat
import statistics
import time
from datetime import datetime, timezone
from typing import Any, Callable, NamedTuple

import torch

from .analysis import analyze
from .predict import layer_bytes as _layer_bytes  # the bytes predict's roofline counts too
from .errors import UsageError
from .fileio import write_atomic
from .printable import clean
from .report import SCHEMAS, Identity
from .spec.model import DTYPE_BYTES, Spec
from .torch_bridge import build, example_input, module_path
from .units import nbytes, rate

DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}
NOISY = 0.10  # interquartile range above 10% of the median: the run is too noisy to trust
MAX_CACHE_BYTES = 1 << 20  # a peaks cache larger than this is not convcalc's: ignored
MAX_SAMPLES = 10_000_000  # iterations x layers: per-layer times kept in memory (80 MB of floats)
MAX_THREADS = 1024  # --threads; torch's thread pool crashes far above this (100,000: a segfault)
OUT_OF_MEMORY = ("not enough memory", "out of memory", "can't allocate memory", "cannot allocate memory")
RATIO_FAR = 2.0  # whole-network time and per-layer sum further apart than this factor: a warning

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
    layer_sum_s: float  # sum of the per-layer medians (the shares' denominator)
    noisy: bool
    peak_memory: int | None  # measured (CUDA), bytes
    predicted_memory: int  # convcalc: weights + peak activations, bytes
    # Median over iterations of (sum of the layer times of a hooked forward) / (time of the bare
    # forward run just before it): below 1 by the time spent between layers, above 1 by what the
    # hooks add. Paired, so that both sides of each ratio saw the same machine. The JSON key is
    # `hook_overhead` (schema 1).
    hook_overhead: float


class Profile(NamedTuple):
    identity: Identity  # which spec, at which arguments and input
    settings: Settings
    peaks: Peaks
    datasheet: Peaks | None
    batches: tuple[BatchProfile, ...]
    warnings: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMAS["profile"], **self.identity.named(), "settings": self.settings._asdict(),
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
            **self.identity.measured_at(),
        }


# -- devices and timers ---------------------------------------------------------------------


def resolve_device(name: str) -> torch.device:
    """`cpu`, `cuda` or `cuda:N`, checked before torch parses it (torch raises on `cuda:x`)."""
    if name == "cpu":
        return torch.device("cpu")
    match = re.fullmatch(r"cuda(?::([0-9]{1,6}))?", name)
    if match is None:
        raise UsageError(f"--device must be cpu, cuda or cuda:N, got '{name}'")
    if not torch.cuda.is_available():
        raise UsageError(f"--device {name}: CUDA is not available here (torch {torch.__version__}, "
                         f"torch.cuda.is_available() is False)")
    if match.group(1) is None:
        return torch.device("cuda")
    index = int(match.group(1))
    if index >= torch.cuda.device_count():
        raise UsageError(f"--device {name}: there are {torch.cuda.device_count()} CUDA devices")
    return torch.device("cuda", index)


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

    def matmuls() -> float:
        """The matmul rate; its two n x n operands are freed when it returns, before the copies."""
        a = torch.randn(n, n, device=device, dtype=torch_dtype)
        b = torch.randn(n, n, device=device, dtype=torch_dtype)
        with torch.inference_mode():
            return best(lambda: torch.mm(a, b), 2.0 * n**3)

    flops = matmuls()
    with torch.inference_mode():
        size = (1 << 30) if device.type == "cuda" else (1 << 27)  # bytes per copy buffer
        src = torch.empty(size // 4, device=device, dtype=torch.float32)
        dst = torch.empty_like(src)
        src.fill_(1.0)
        bandwidth = best(lambda: dst.copy_(src), 2.0 * size)
    return Peaks(flops, bandwidth, f"measured {datetime.now(timezone.utc).date().isoformat()}")


def cache_key(device: torch.device, dtype: str) -> str:
    """Peaks are kept per device name and dtype, and on the CPU per thread count: a matmul on one
    thread reaches about half the FLOP/s of two."""
    key = f"{device_name(device)}|{dtype}"
    return key + f"|{torch.get_num_threads()} threads" if device.type == "cpu" else key


def _entry_problem(entry: Any) -> str | None:
    """Why a cached peaks entry cannot be used, or None: both rates must be positive, finite
    numbers and the source text."""
    if not isinstance(entry, dict):
        return f"the entry is {type(entry).__name__ if entry is not None else 'null'}, not a mapping"
    for key in ("flops_per_s", "bytes_per_s"):
        if key not in entry:
            return f"'{key}' is missing"
        value = entry[key]
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return f"'{key}' is {_brief(value)}, not a number"
        try:
            usable = math.isfinite(value) and value > 0
        except OverflowError:  # an integer too large for a float
            usable = False
        if not usable:
            return f"'{key}' is {_brief(value)}, not a positive finite number"
    if not isinstance(entry.get("source"), str):
        return "'source' is missing or not text"
    return None


def _brief(value: Any) -> str:
    text = json.dumps(value) if not isinstance(value, float) else repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _special(path: str) -> bool:
    """Whether `path` (followed through links) exists and is not a regular file."""
    try:
        return not stat.S_ISREG(os.stat(path).st_mode)
    except (OSError, ValueError):
        return False


def _read_cache(path: str) -> tuple[dict[str, Any], str | None]:
    """The peaks cache as a mapping, and why it was ignored (None: read, or simply absent)."""
    if _special(path):  # a FIFO would block the read forever, /dev/zero never end it
        return {}, f"{path} is not a regular file"
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read(MAX_CACHE_BYTES + 1)
    except (FileNotFoundError, NotADirectoryError):  # no cache yet (or a file where its folder goes)
        return {}, None
    except (OSError, UnicodeDecodeError) as exc:
        return {}, f"cannot read {path} ({getattr(exc, 'strerror', None) or exc})"
    if len(text) > MAX_CACHE_BYTES:
        return {}, f"{path} is larger than {MAX_CACHE_BYTES} bytes"
    try:
        cache = json.loads(text)
    except (ValueError, RecursionError):
        return {}, f"{path} is not valid JSON"
    if not isinstance(cache, dict):
        return {}, f"{path} holds {type(cache).__name__ if cache is not None else 'null'}, not a mapping"
    return cache, None


def peaks_for(device: torch.device, dtype: str, recalibrate: bool) -> tuple[Peaks, bool, list[str]]:
    """Cached measured peaks for this device and dtype (measured now when absent, unusable or
    asked for), whether they were measured now, and warnings about the cache.

    A cache that cannot be read or parsed, or whose entry for this device is not two positive
    finite rates and a source, is ignored with a warning and the peaks are measured again; the
    new entry replaces it (written whole, `fileio.write_atomic`). A cache that cannot be written
    is said so, and the peaks are still used for this run."""
    key = cache_key(device, dtype)
    path = cache_path()
    cache, problem = _read_cache(path)
    warnings = [] if problem is None else [f"ignoring the peaks cache: {problem}; measuring the peaks again"]
    if not recalibrate and key in cache:
        entry_problem = _entry_problem(cache[key])
        if entry_problem is None:
            entry = cache[key]
            return Peaks(float(entry["flops_per_s"]), float(entry["bytes_per_s"]), clean(entry["source"])), False, []
        warnings.append(f"ignoring the cached peaks of {key} in {path}: {entry_problem}; measuring them again")
    peaks = calibrate(device, dtype)
    measured = f"peaks measured now ({_rate(peaks.flops)}FLOP/s, {_rate(peaks.bandwidth)}B/s)"
    cache[key] = {"flops_per_s": peaks.flops, "bytes_per_s": peaks.bandwidth, "source": peaks.source,
                  "torch": torch.__version__}
    try:
        if _special(path):  # never replace a device or a FIFO (write_atomic would rename over it)
            raise OSError(f"{path} is not a regular file")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        write_atomic(path, json.dumps(cache, indent=1, sort_keys=True) + "\n")
    except OSError as exc:  # a read-only home, a full disk: the peaks are still used for this run
        warnings.append(f"{measured} but not cached: cannot write {path} ({exc.strerror or exc})")
    else:
        warnings.append(f"{measured} and cached in {path}")
    return peaks, True, warnings


def datasheet_for(name: str, dtype: str) -> Peaks | None:
    for pattern, label, flops, bandwidth in DATASHEETS:
        if re.search(pattern, name, re.IGNORECASE):
            return Peaks(flops[dtype], bandwidth, f"datasheet {label}")
    return None


# -- profiling ------------------------------------------------------------------------------


def available_memory(device: torch.device) -> tuple[int, str] | None:
    """Bytes a run may still allocate on the device and where that figure comes from; None when
    it cannot be known (a CPU without /proc/meminfo)."""
    if device.type == "cuda":
        free, _total = torch.cuda.mem_get_info(device)
        return free, "free on the device (torch.cuda.mem_get_info)"
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024, "MemAvailable in /proc/meminfo"
    except (OSError, ValueError, IndexError):
        pass
    return None


def check_memory(reports: dict[int, Any], dtype: str, available: tuple[int, str] | None) -> None:
    """Refuse, before anything runs, a batch whose predicted memory (weights + peak activations,
    from convcalc's own analysis at that batch and dtype) exceeds what is available."""
    if available is None:
        return
    free, where = available
    for batch, report in reports.items():
        weights, activations = report.total.weight_bytes, report.total.peak_activation_bytes
        if weights + activations > free:
            raise UsageError(
                f"batch {batch} needs about {nbytes(weights + activations)} ({weights + activations:,} bytes: weights "
                f"{nbytes(weights)} + peak activations {nbytes(activations)} in {dtype}), more than the "
                f"{nbytes(free)} available ({where}); profile a smaller --batch or input")


def _out_of_memory(exc: BaseException) -> bool:
    """torch's allocators fail with OutOfMemoryError (CUDA) or a RuntimeError saying so (CPU)."""
    if isinstance(exc, MemoryError) or isinstance(exc, getattr(torch, "OutOfMemoryError", ())):
        return True
    text = str(exc).lower()
    return isinstance(exc, RuntimeError) and any(words in text for words in OUT_OF_MEMORY)


def profile(spec: Spec, device_spec: str = "cpu", dtype: str = "float32", batches: tuple[int, ...] = (1,),
            warmup: int = 10, iters: int = 50, channels_last: bool = False, recalibrate: bool = False,
            progress: Callable[[str], None] | None = None, threads: int | None = None) -> Profile:
    """Profile `spec` at each batch size; see the module docstring for the method.

    `threads` sets torch's intra-op threads for the run (torch.set_num_threads), restored after;
    None leaves torch's default. Every batch's predicted memory is checked against what the device
    has before anything runs, and an allocator that still runs out is a UsageError, one line."""
    device = resolve_device(device_spec)
    if dtype not in DTYPES:
        raise UsageError(f"--dtype must be one of {', '.join(DTYPES)}, got '{dtype}'")
    if iters < 2:
        raise UsageError("--iters must be at least 2 (the spread needs two measurements)")
    if iters * len(spec.nodes) > MAX_SAMPLES:
        raise UsageError(f"--iters {iters} with {len(spec.nodes):,} layers would keep {iters * len(spec.nodes):,} "
                         f"per-layer times, more than the limit of {MAX_SAMPLES:,}; lower --iters")
    if threads is not None and not 1 <= threads <= MAX_THREADS:
        raise UsageError(f"--threads must be between 1 and {MAX_THREADS}, got {threads}")
    profiled_spec = spec._replace(dtype=dtype)
    reports = {batch: analyze(profiled_spec, batch) for batch in batches}
    check_memory(reports, dtype, available_memory(device))
    saved_threads = torch.get_num_threads()
    stage = ["while measuring the peaks"]  # where an allocator failure happened, for its message
    try:
        if threads is not None:
            torch.set_num_threads(threads)
        return _profile(spec, device, dtype, reports, warmup, iters, channels_last, recalibrate,
                        progress or (lambda message: None), threads, stage)
    except (RuntimeError, MemoryError) as exc:
        if not _out_of_memory(exc):
            raise
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        first = re.sub(r"^\[enforce fail at [^\]]*\]\s*err == 0\.\s*", "", first)  # the CPU allocator's prefix
        first = first.rstrip(". ")
        raise UsageError(f"out of memory on {device} {stage[0]}: {first[:300]}; profile a smaller --batch "
                         "or input") from None
    finally:
        torch.set_num_threads(saved_threads)


def _profile(spec: Spec, device: torch.device, dtype: str, reports: dict[int, Any], warmup: int, iters: int,
             channels_last: bool, recalibrate: bool, say: Callable[[str], None], threads: int | None,
             stage: list[str]) -> Profile:
    warnings: list[str] = []
    cudnn = None
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # pick the fastest algorithms, as deployments do
        cudnn = True
    cpus = _cpu_count()
    if threads is not None and threads > cpus:
        warnings.append(f"--threads {threads} is more than the {cpus} CPUs this process may use: "
                        "the threads take turns, and the times show it")
    settings = Settings(
        torch=torch.__version__, device=str(device), device_name=device_name(device), dtype=dtype,
        threads=torch.get_num_threads() if device.type == "cpu" or threads is not None else None,
        cudnn_benchmark=cudnn, channels_last=channels_last, warmup=warmup, iters=iters,
        date=datetime.now(timezone.utc).isoformat(timespec="seconds"))
    busy = busy_warning(_load(), settings.threads) if device.type == "cpu" else None
    say(f"peaks of {settings.device_name} in {dtype}")
    peaks, measured_now, cache_warnings = peaks_for(device, dtype, recalibrate)
    warnings.extend(cache_warnings)
    datasheet = datasheet_for(settings.device_name, dtype) if device.type == "cuda" else None
    if busy:
        warnings.append(busy)

    torch_dtype = DTYPES[dtype]
    stage[0] = "while building the model"
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
    itemsize = DTYPE_BYTES[dtype]
    results = []
    for batch, report in reports.items():
        stage[0] = f"at batch {batch}"
        say(f"batch {batch}: {warmup} warm-up and {iters} timed runs, with and without per-layer hooks")
        x = example_input(spec, batch, device=device, dtype=torch_dtype)
        if memory_format is not None:
            x = x.contiguous(memory_format=memory_format)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
            torch.cuda.reset_peak_memory_stats(device)
        with torch.inference_mode():
            whole, per_layer = _timed_runs(modules, model, x, warmup, iters, clock)
        peak_memory = torch.cuda.max_memory_allocated(device) if device.type == "cuda" else None
        del x
        median, q1, q3 = _quartiles(whole)
        moved = _layer_bytes(spec, report, itemsize)
        layer_medians = {name: _quartiles(times) for name, times in per_layer.items()}
        layer_sum = sum(m for m, _, _ in layer_medians.values())
        in_layers = paired_share(whole, per_layer)
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
        ratio = ratio_warning(batch, in_layers, iters, _load())
        if ratio:
            warnings.append(ratio)
        beaten = roofline_warning(batch, rows, peaks, measured_now)
        if beaten:
            warnings.append(beaten)
        predicted = report.total.weight_bytes + report.total.peak_activation_bytes
        results.append(BatchProfile(batch, median, q1, q3, batch / median if median else 0.0, tuple(rows),
                                    layer_sum, noisy, peak_memory, predicted, in_layers))
    return Profile(Identity.of(spec), settings, peaks, datasheet, tuple(results), tuple(warnings))


def _timed_runs(modules: list[tuple[Any, Any]], model: Any, x: Any, warmup: int, iters: int,
                clock: Any) -> tuple[list[float], dict[str, list[float]]]:
    """Whole-network times (no hooks) and per-layer times (pre/post forward hooks), taken in
    alternation: each iteration runs the network once bare and once hooked, so both series see
    the same machine. Measured one after the other, a burst of other work (or a stalled thread
    pool) that hit one series and not the other made whole and per-layer times disagree by 100x
    on a loaded machine. The first `warmup` iterations are run the same way and not kept. One
    device sync per forward, never one per layer."""
    marks: dict[str, list[Any]] = {}

    def pre(mod: Any, args: Any, name: str) -> None:
        marks[name] = [clock.mark()]

    def post(mod: Any, args: Any, out: Any, name: str) -> None:
        marks[name].append(clock.mark())

    whole: list[float] = []
    times: dict[str, list[float]] = {node.name: [] for node, _ in modules}
    for i in range(warmup + iters):
        start = clock.mark()
        model(x)
        end = clock.mark()
        clock.sync()
        if i >= warmup:
            whole.append(clock.seconds(start, end))
        handles = []
        try:
            for node, module in modules:
                handles.append(module.register_forward_pre_hook(
                    lambda mod, args, name=node.name: pre(mod, args, name)))
                handles.append(module.register_forward_hook(
                    lambda mod, args, out, name=node.name: post(mod, args, out, name)))
            marks.clear()
            model(x)
            clock.sync()
        finally:
            for handle in handles:
                handle.remove()
        if i >= warmup:
            for name, (begin, finish) in marks.items():
                times[name].append(clock.seconds(begin, finish))
    return whole, times


def paired_share(whole: list[float], per_layer: dict[str, list[float]]) -> float:
    """Median over iterations of the sum of a hooked forward's layer times over the time of the
    bare forward before it (`_timed_runs` keeps them in step: one of each per iteration).

    Not the sum of per-layer medians over the whole-network median: on a busy machine a stall
    (a thread pool waiting for a CPU) lands on a different layer in each forward, so it is in
    every whole-network time but in no layer's median, and that quotient reached 96x where this
    one stayed within 0.9-2.2 (docs/profile.md)."""
    sums = [sum(times[i] for times in per_layer.values()) for i in range(len(whole))]
    ratios = [s / w for s, w in zip(sums, whole) if w > 0]
    return statistics.median(ratios) if ratios else float("nan")


def ratio_warning(batch: int, in_layers: float, pairs: int, load: tuple[float, int] | None) -> str | None:
    """A warning when a whole forward and the sum of its layers' times are far apart (more than
    RATIO_FAR either way; `in_layers` is their paired ratio, layers over whole), saying which way
    and what usually causes it."""
    if not in_layers > 0 or math.isinf(in_layers):
        return None
    ratio = 1 / in_layers
    if 1 / RATIO_FAR <= ratio <= RATIO_FAR:
        return None
    busy = ""
    if load is not None:
        busy = f"; load average {load[0]:.1f} on {load[1]} CPUs" + (" (the machine is busy)" if load[0] >= load[1] else "")
    head = f"batch {batch}: a whole forward took {ratio:.2f}x the sum of its layers' times (median of {pairs} pairs)"
    if ratio > RATIO_FAR:
        why = ("most of the time goes between the layers (Python dispatch around very short layers), or the "
               "whole-network runs were slowed by other work")
    else:
        why = ("the per-layer times are inflated, by the hooks' cost on very short layers or by other work "
               "slowing the hooked runs (a thread pool waiting for a busy CPU)")
    return f"{head}: {why}{busy}; the shares still rank the layers; try --threads 1 or more --iters"


def busy_warning(load: tuple[float, int] | None, threads: int | None) -> str | None:
    """A warning when other work already keeps the CPUs busy and torch runs several threads.

    Each parallel operation then waits for all its threads to get a CPU: on a 2-CPU machine
    with a load average of 5, a MobileNetV2 forward took 133-3,507 ms with 2 threads and 33-46
    ms with 1 (docs/profile.md)."""
    if load is None or threads is None or threads < 2 or load[0] < load[1]:
        return None
    return (f"the machine is busy (load average {load[0]:.1f} on {load[1]} CPUs) and torch runs {threads} threads: "
            "each parallel operation waits for its threads to get a CPU, so times vary widely and whole and "
            "per-layer figures may disagree; --threads 1 gives steadier figures")


def roofline_warning(batch: int, rows: list[LayerTime], peaks: Peaks, measured_now: bool) -> str | None:
    """A warning when layers beat the roofline (over 100%): the peaks are too low for this device
    now, so the percentages cannot be read as headroom."""
    over = sorted((row for row in rows if row.roofline > 1.0), key=lambda row: -row.roofline)
    if not over:
        return None
    named = ", ".join(f"{row.name} {100 * row.roofline:.0f}%" for row in over[:3])
    more = f" and {len(over) - 3} more" if len(over) > 3 else ""
    if measured_now:
        cause = ("the peaks measured just now are too low (the machine may have been busy while they were "
                 "measured): run again, or with --calibrate when it is idle")
    else:
        cause = (f"the cached peaks ({peaks.source}) are too low for this device now: stale, or measured while "
                 "the machine was busy; measure them again with --calibrate")
    cache = ("; a memory-bound layer whose data stay in the CPU's caches can also beat the memory roof"
             if any(row.bound == "memory" for row in over) else "")
    fewer = ("; a convolution run as Winograd or FFT does fewer FLOPs than the direct count convcalc uses"
             if any(row.bound == "compute" and "conv" in row.kind for row in over) else "")
    return (f"batch {batch}: {len(over)} layer{'s' if len(over) > 1 else ''} above 100% of the roofline "
            f"({named}{more}): {cause}{cache}{fewer}")


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _load() -> tuple[float, int] | None:
    """The 1-minute load average and the CPUs this process may use; None where unknown."""
    try:
        return os.getloadavg()[0], _cpu_count()
    except (AttributeError, OSError):
        return None


def _rate(value: float) -> str:
    """'1.23 T' (the unit follows): three significant digits, the rounding carrying into the prefix."""
    return rate(value)


from .api import callable_module  # noqa: E402  (convcalc.profile(...) is api.profile: this module is callable)

callable_module(__name__)
