"""convcalc's commands as Python functions, on whatever the user holds: a model object, a file,
a spec's text, a library name.

Each function takes the options of its command under the same names (`batch`, `input`, `set`,
`dtype`, `optimizer`, ...) and returns the frozen object that command's reporters render, whose
`to_dict()` is the command's `--format json` document. A mistake is a `ConvcalcError` with its
location, as the CLI would print it; nothing here prints a report or exits.

`spec_of` is the one front door: an `nn.Module` goes through the same torch.fx importer as
`convcalc import` (`importers.torch_fx.trace`: the same mapping, the same check of every layer
against the trace, the same refusal listing every operator it cannot map), ONNX bytes or an
`onnx.ModelProto` through the ONNX importer's own reader, and every string through
`sources.load_argument` as a command's SPEC or SOURCE argument. torch is imported only when the
value given is already a torch module (so torch is loaded by the caller, not by convcalc).
"""

from __future__ import annotations

import os
import sys
import types
from typing import Any, Mapping, NamedTuple, Sequence, Union

from .errors import ConvcalcError, SpecError, UsageError
from .report import Report, TrainingReport
from .spec import Document, Overrides, Spec

__all__ = ["spec_of", "analyze", "memory", "explain", "compare", "check", "verify", "profile", "sweep", "scale",
           "draw", "report", "to_yaml", "summary", "Page", "callable_module"]

# What `x` may be: an nn.Module, onnx.ModelProto or ONNX bytes, a Spec, a path, YAML or one-line
# text, a library name or a SOURCE string.
Model = Union[Any, bytes, Spec, str, "os.PathLike[str]"]
Shape = Union[Sequence[int], str]
_KINDS = ("a torch.nn.Module, an ONNX file's path, an onnx.ModelProto or its bytes, a convcalc Spec, a YAML "
          "spec's path or text, a one-line spec, a library name or a SOURCE (package.module:callable)")


# --------------------------------------------------------------------------------------------
# Arguments, checked where they enter (each mistake names the argument)


def _shape(value: Any, what: str = "input") -> tuple[int, ...]:
    """A shape per sample, channels first: (3, 224, 224), [3, 224, 224] or "3x224x224"."""
    from .values import parse_shape

    if isinstance(value, str):
        return parse_shape(value, what)
    if type(value) is int:
        value = (value,)
    if not isinstance(value, (tuple, list)) or not all(type(v) is int for v in value) or not value:
        shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:57] + "..."
        raise UsageError(f"{what} must be a shape per sample, channels first, like (3, 224, 224) or \"3x224x224\"; "
                         f"got {shown}")
    return parse_shape("x".join(map(str, value)), what)


def _batch(value: Any, what: str = "batch") -> int | None:
    from . import limits

    if value is None:
        return None
    if type(value) is not int or not 1 <= value <= limits.MAX_SIZE:
        raise UsageError(f"{what} must be a whole number from 1 to {limits.MAX_SIZE} (2^48), got {value!r}")
    return value


def _sets(values: Mapping[str, Any] | None) -> tuple[tuple[str, Any], ...]:
    """`set={"width": 0.75}` as `--set width=0.75` gives it, each through the same parser."""
    from .report import arg_text
    from .values import parse_set

    if values is None:
        return ()
    if not isinstance(values, Mapping):
        raise UsageError(f"set must be a mapping of the spec's `args:` to values, like {{'width': 0.75}}; got a "
                         f"{type(values).__name__}")
    pairs = []
    for name, value in values.items():
        if not isinstance(name, str) or not isinstance(value, (str, int, float, bool)):
            raise UsageError(f"set: {name!r}: give a name and a number, word or boolean, like {{'width': 0.75}}")
        pairs.append(parse_set(f"{name}={arg_text(value)}", "set"))
    return tuple(pairs)


def _dtype(value: Any) -> str | None:
    """A dtype by name ("float16") or as torch writes it (torch.float16)."""
    from .suggest import did_you_mean
    from .spec.model import DTYPE_BYTES

    if value is None:
        return None
    text = str(value).removeprefix("torch.")
    if text not in DTYPE_BYTES:
        raise UsageError(f"dtype must be one of {', '.join(DTYPE_BYTES)}, got {value!r}{did_you_mean(text, DTYPE_BYTES)}")
    return text


def _is_module(x: Any) -> bool:
    torch = sys.modules.get("torch")  # a torch module exists only where torch is imported already
    return torch is not None and isinstance(x, torch.nn.Module)


def _is_model_proto(x: Any) -> bool:
    return type(x).__name__ == "ModelProto" and callable(getattr(x, "SerializeToString", None))


# --------------------------------------------------------------------------------------------
# The front door


def spec_of(x: Model, input: Shape | None = None, set: Mapping[str, Any] | None = None, dtype: Any = None,
            allow_unknown: bool = False) -> Spec:
    """The validated `Spec` of `x` (see the module's docstring), with `input` (per sample, channels
    first), the spec's `args:` values in `set`, and `dtype` (the element type of every byte count)."""
    overrides = Overrides(_shape(input) if input is not None else None, _sets(set), bool(allow_unknown))
    spec = _build(x, overrides)
    text = _dtype(dtype)
    return spec._replace(dtype=text) if text is not None else spec


def _build(x: Model, overrides: Overrides) -> Spec:
    """`x` as a Spec with `overrides` applied (checked already)."""
    if isinstance(x, Spec):
        if overrides:
            raise UsageError("a built Spec takes no input= or set=: give them when it is built "
                             "(convcalc.loads(text, overrides=...)), or pass its text or path instead")
        return x
    if _is_module(x):
        return _from_module(x, overrides).spec()
    if isinstance(x, (bytes, bytearray, memoryview)) or _is_model_proto(x):
        return _from_onnx_bytes(x, overrides).spec()
    if isinstance(x, (str, os.PathLike)):
        return _from_text(os.fspath(x), overrides)
    raise UsageError(f"convcalc cannot analyze a {type(x).__module__}.{type(x).__name__}: give {_KINDS}")


def _read(text: Any) -> Document | None:
    """A string as the spec document a command's SPEC argument reads (YAML text as well); None
    for a SOURCE, a model to import."""
    from .importers import is_source
    from .sources import front_end, read_argument
    from .spec import reads

    if not isinstance(text, str):  # a bytes path
        raise UsageError(f"give a path as text, not {type(text).__name__}")
    if "\n" in text.strip() or (text.lstrip().startswith("{") and not os.path.lexists(text)):
        return front_end(reads(text, "<string>"), "<string>")  # YAML text: a spec, or ultralytics' model YAML
    if text == "-":
        raise UsageError("'-' reads standard input on the command line; in Python, pass the spec's text")
    return None if is_source(text) else read_argument(text)


def _from_text(text: str, overrides: Overrides) -> Spec:
    from .sources import load_argument

    document = _read(text)
    return load_argument(text, overrides) if document is None else document.build(overrides)


class _Rebuilt(NamedTuple):
    """What is not a spec document (a model object, ONNX bytes, a Spec, a SOURCE) standing for
    one where a command builds a spec at many overrides (sweep, scale): built again at each."""

    x: Any
    allow_unknown: bool

    def build(self, overrides: Overrides | None = None) -> Spec:
        given = overrides or Overrides()
        return _build(self.x, given._replace(allow_unknown=self.allow_unknown))


def _document_of(x: Model, allow_unknown: bool) -> Any:
    """`x` as something with `.build(overrides)` (spec.Document's interface)."""
    if isinstance(x, (str, os.PathLike)):
        document = _read(os.fspath(x))
        if document is not None:
            return document
    return _Rebuilt(x, bool(allow_unknown))


def _no_sets(overrides: Overrides, source: str) -> None:
    if overrides.sets:
        raise SpecError("set= sets a spec's `args:`; an imported model has none", file=source)


def _notes(source: str, notes: list[str]) -> None:
    """What an import leaves out, on stderr as the CLI says it (importers.read)."""
    from .printable import clean

    for note in notes:
        sys.stderr.write(f"convcalc: note: {clean(source)}: {clean(note)}\n")


def _from_module(model: Any, overrides: Overrides) -> Any:
    """An nn.Module through the torch.fx importer, traced in eval mode (its mode restored after):
    the `importers.model.Imported`."""
    from .importers import torch_fx

    name = type(model).__name__
    source = f"<{name}>"
    _no_sets(overrides, source)
    if overrides.input is None:
        raise UsageError(f"{source}: give input=, per sample and channels first, like (3, 224, 224): a PyTorch module "
                         "does not say what input it takes")
    training = model.training
    model.eval()
    try:
        imported = torch_fx.trace(model, overrides.input, source, name, overrides.allow_unknown)
    finally:
        model.train(training)
    _notes(source, imported.notes())
    return imported


def _from_onnx_bytes(data: Any, overrides: Overrides) -> Any:
    """An ONNX model in memory, read as `importers.onnx.read` reads a file: the `Imported`."""
    from . import limits
    from .importers import onnx
    from .importers.protobuf import ProtobufError, model as parse_model

    source = "<onnx>"
    _no_sets(overrides, source)
    if _is_model_proto(data):
        data = data.SerializeToString()
    data = bytes(data)
    if not data:
        raise SpecError("is empty, not an ONNX model", file=source)
    if len(data) > limits.MAX_FILE_BYTES * 1024:
        raise SpecError("is larger than an ONNX model convcalc reads from memory; save it and give its path",
                        file=source)
    try:
        found = onnx._detach(parse_model(data), data, os.getcwd())  # external data: beside the current folder
    except ProtobufError as exc:
        raise SpecError(f"not an ONNX model: {exc}", file=source) from None
    except (TypeError, ValueError, IndexError, OverflowError) as exc:
        raise SpecError(f"not an ONNX model: a tensor does not read as its type says ({type(exc).__name__})",
                        file=source) from None
    try:
        imported = onnx.Mapper(found, source, overrides.input, overrides.allow_unknown).run()
    except (TypeError, ValueError, IndexError, KeyError, AttributeError, OverflowError) as exc:
        raise ConvcalcError(f"the graph does not read as ONNX defines it ({type(exc).__name__}: "
                            f"{str(exc)[:80]})", file=source) from None
    return imported


# --------------------------------------------------------------------------------------------
# The commands


def analyze(x: Model, batch: int | None = None, *, input: Shape | None = None, dtype: Any = None,
            set: Mapping[str, Any] | None = None, allow_unknown: bool = False) -> Report:
    """`convcalc shapes`: every layer's shape, params, MACs, FLOPs, memory and receptive field.

    `analyze(spec, batch)` as before, and `analyze(model, input=(3, 224, 224))` on anything
    `spec_of` takes. `report.to_dict()` is `convcalc shapes --format json`."""
    from .analysis import analyze as run

    return run(spec_of(x, input, set, dtype, allow_unknown), _batch(batch))


def memory(x: Model, batch: int | Sequence[int] | None = None, *, dtype: Any = None, amp: str | None = None,
           optimizer: str = "sgd", impl: str | None = None, device: str = "cuda", fit: int | str | None = None,
           input: Shape | None = None, set: Mapping[str, Any] | None = None,
           allow_unknown: bool = False) -> TrainingReport | tuple[TrainingReport, ...]:
    """`convcalc memory`: training memory and FLOPs over one iteration, and with `fit` (bytes, or
    "24GiB") the largest batch whose peak fits. One batch (or none: the spec's) gives one
    `TrainingReport`; a list of batches a tuple of them, as the command's JSON array."""
    from .training import reports, setup_for

    spec = spec_of(x, input, set, None, allow_unknown)
    several = isinstance(batch, (list, tuple))
    batches = tuple(_batch(b) for b in batch) if several else (_batch(batch) or spec.batch,)  # type: ignore[union-attr]
    if several and not batches:
        raise UsageError("batch: give at least one batch size")
    budget = None
    if fit is not None:
        from .units import parse_quantity

        try:
            budget = fit if type(fit) is int else parse_quantity(str(fit), "fit")
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        if budget < 1:
            raise UsageError(f"fit must be at least 1 byte, got {fit!r}")
    setup = setup_for(spec, _dtype(dtype), amp, optimizer, impl, device)
    results = reports(spec, setup, batches, budget)  # type: ignore[arg-type]
    return tuple(results) if several else results[0]


def explain(x: Model, *layers: str | int, batch: int | None = None, input: Shape | None = None,
            set: Mapping[str, Any] | None = None, allow_unknown: bool = False) -> Any:
    """`convcalc explain`: every number of the layers named (by name or index; all when none),
    with its derivation. Returns the `Explanation`; `to_dict()` is `--format json`."""
    from . import explain as explaining
    from .analysis import analyze as run

    spec = spec_of(x, input, set, None, allow_unknown)
    return explaining.explain(spec, run(spec, _batch(batch)), tuple(str(name) for name in layers))


def compare(*items: Any, all: bool = False, input: Shape | None = None, set: Mapping[str, Any] | None = None,
            out: int | None = None, k: int | None = None, s: int | None = None, p: str | int | None = None,
            d: int | None = None, groups: int | None = None, width: int | None = None, bias: bool | None = None,
            dtype: str | None = None, batch: int | Sequence[int] | None = None, allow_unknown: bool = False) -> Any:
    """`convcalc compare`: variants of one convolution (`compare("regular", "depthwise-separable",
    input=(64, 56, 56), out=128)`, or `all=True`), or one model against another
    (`compare(a, b)`, or `compare(a, batch=8)`: a with itself at another batch). Returns the
    `VariantComparison` or `SpecComparison`; `to_dict()` is `--format json`."""
    from .compare import VARIANTS, compare_specs, compare_variants
    from .compare.options import make_setup, spec_batches

    batches = () if batch is None else tuple(batch) if isinstance(batch, (list, tuple)) else (batch,)
    batches = tuple(_batch(b) for b in batches)  # type: ignore[misc]
    names = [item for item in items if isinstance(item, str) and item in VARIANTS]
    if all or (items and len(names) == len(items)):
        if len(names) != len(items):
            raise UsageError("all=True runs every variant of one convolution; it takes variant names only")
        if len(batches) > 1:
            raise UsageError("batch: variants take one batch")
        if set:
            raise UsageError("set is for specs with `args:`; variants take input, out, k, s and p")
        if all:
            names += [name for name in VARIANTS if name not in names]
        shape = "x".join(map(str, _shape(input))) if input is not None else None
        setup = make_setup(shape, out, k, s, p, d, groups, width, batches[0] if batches else None, dtype, bias)
        return compare_variants(tuple(names), setup)
    if not items:
        raise UsageError("give variant names (compare('regular', 'depthwise-separable', input=..., out=...)), "
                         "or two models to compare")
    given = {"out": out, "k": k, "s": s, "p": p, "d": d, "groups": groups, "width": width, "bias": bias,
             "dtype": dtype}
    extra = [name for name, value in given.items() if value is not None]
    if extra:
        raise UsageError(f"{', '.join(extra)} {'is' if len(extra) == 1 else 'are'} for variants; specs carry their "
                         "own shapes")
    specs = [spec_of(item, input, set, None, allow_unknown) for item in items]
    batch_a, batch_b, itself = spec_batches(len(specs), batches)  # type: ignore[arg-type]
    a, b = (specs[0], specs[0]) if itself else (specs[0], specs[1])
    return compare_specs(a, b, batch_a, batch_b)


def check(*models: Model, max_params: int | str | None = None, max_macs: int | str | None = None,
          max_flops: int | str | None = None, max_peak_memory: int | str | None = None,
          max_weight_bytes: int | str | None = None, strict: bool = False, align: int | None = None,
          baseline: str | os.PathLike[str] | None = None, tolerance: str = "0%", input: Shape | None = None,
          set: Mapping[str, Any] | None = None, allow_unknown: bool = False) -> Any:
    """`convcalc check`: budgets (`max_*`, and the spec's `budget:`), expectations, warnings and a
    baseline. Returns the `CheckRun` (its `exit_code` is the command's); `to_dict()` is `--format
    json`. An invalid model raises its `ConvcalcError` (the command reports it as a failed spec)."""
    from .check import check_spec, flag_limit, parse_tolerance, read_baseline

    if not models:
        raise UsageError("give one or more models or specs to check")
    given = {"params": max_params, "macs": max_macs, "flops": max_flops, "peak_activation_bytes": max_peak_memory,
             "weight_bytes": max_weight_bytes}
    flags = [flag_limit(key, str(value)) for key, value in given.items() if value is not None]
    if align is not None:
        _batch(align, "align")
    found = read_baseline(os.fspath(baseline)) if baseline is not None else None
    allowed = parse_tolerance(tolerance)
    overrides = Overrides(_shape(input) if input is not None else None, _sets(set), bool(allow_unknown))
    results = []
    for x in models:
        spec = spec_of(x, input, set, None, allow_unknown)
        argument = os.fspath(x) if isinstance(x, (str, os.PathLike)) else spec.source
        results.append(check_spec(spec, flags=flags, align=align, strict=strict, baseline=found, tolerance=allowed,
                                  tolerance_text=tolerance, argument=argument, overrides=overrides))
    from .check import CheckRun

    checked = {r.key for r in results}
    removed = tuple(sorted(key for key in found.specs if key not in checked)) if found else ()
    return CheckRun(tuple(results), strict, found.path if found else None, tolerance, removed)


def verify(x: Model, batch: int | None = None, *, fvcore: bool = True, train: bool = False,
           input: Shape | None = None, set: Mapping[str, Any] | None = None, allow_unknown: bool = False) -> Any:
    """`convcalc verify`: every layer against a real PyTorch build (shapes, params, buffers),
    fvcore's count (`fvcore=False` skips it) and FlopCounterMode; with `train=True`, the saved
    bytes, backward FLOPs and SGD peak against PyTorch's. Returns the `Verification` (or
    `TrainVerification`); `.ok` is whether everything agrees, `to_dict()` is `--format json`."""
    from .extras import require_torch

    spec = spec_of(x, input, set, None, allow_unknown)
    size = _batch(batch)
    if train:
        require_torch("verify --train")
        from .verify_train import verify_train

        return verify_train(spec, size)
    require_torch("verify", *(("fvcore",) if fvcore else ()))
    from .verify import verify as run

    return run(spec, size, bool(fvcore))


def _whole(value: Any, what: str, low: int, high: int) -> int:
    if type(value) is not int or not low <= value <= high:
        raise UsageError(f"{what} must be a whole number from {low} to {high:,}, got {value!r}")
    return value


def profile(x: Model, batch: int | Sequence[int] = 1, *, device: str = "cpu", dtype: str = "float32",
            warmup: int = 10, iters: int = 50, threads: int | None = None, channels_last: bool = False,
            calibrate: bool = False, input: Shape | None = None, set: Mapping[str, Any] | None = None,
            allow_unknown: bool = False) -> Any:
    """`convcalc profile`: every layer timed on `device` ("cpu", "cuda", "cuda:N") at each batch
    (one, or a list), placed on the roofline. Returns the `Profile`; `to_dict()` is `--format
    json`. Its warnings are on stderr, as the command prints them, and in `.warnings`."""
    from .extras import require_torch
    from .printable import clean

    sizes = tuple(_batch(b) for b in (batch if isinstance(batch, (list, tuple)) else (batch,)))
    if not sizes:
        raise UsageError("batch: give at least one batch size")
    if _dtype(dtype) not in ("float32", "float16", "bfloat16"):
        raise UsageError(f"dtype must be one of float32, float16, bfloat16 (what profile runs in), got {dtype!r}")
    _whole(warmup, "warmup", 0, 100_000)
    _whole(iters, "iters", 2, 100_000)
    if threads is not None:
        _whole(threads, "threads", 1, 1024)
    spec = spec_of(x, input, set, None, allow_unknown)
    require_torch("profile")
    from .profile import profile as run

    result = run(spec, str(device), _dtype(dtype), sizes, warmup, iters, bool(channels_last), bool(calibrate),  # type: ignore[arg-type]
                 threads=threads)
    for warning in result.warnings:
        sys.stderr.write(f"convcalc: warning: {clean(warning)}\n")
    return result


def _axis_text(value: Any, what: str) -> str:
    """A sweep axis as the command line writes it: text as it is ("1..64:8", "3x128x128,3x224x224"),
    a number, a shape (3, 224, 224), or a list of them."""
    from .report import arg_text

    def one(item: Any) -> str:
        if isinstance(item, str):
            return item
        if isinstance(item, (tuple, list)) and what == "input":
            return "x".join(map(str, _shape(item)))
        if isinstance(item, (int, float)):
            return arg_text(item)
        raise UsageError(f"{what}: give a value, a list of values or their text (\"1,8,64\", \"1..64:8\"), "
                         f"got a {type(item).__name__}")

    if isinstance(value, (tuple, list)) and not (what == "input" and all(type(v) is int for v in value)):
        if not value:
            raise UsageError(f"{what}: give at least one value")
        return ",".join(one(item) for item in value)
    return one(value)


def sweep(x: Model, *, input: Any = None, batch: Any = None, set: Mapping[str, Any] | None = None,
          allow_unknown: bool = False) -> Any:
    """`convcalc sweep`: `x` at every point of the product of the axes given, and how its costs
    grow. `input=[(3, 128, 128), (3, 224, 224)]` (or "3x128..512:32x128..512:32"),
    `batch=[1, 8, 64]` (or "1..64:8"), `set={"width": [0.5, 1.0]}`; an `args:` value alone is
    fixed. Returns the `Sweep`; `to_dict()` is `--format json`."""
    from .sweep import batch_axis, input_axis, run, set_axis

    if set is not None and not isinstance(set, Mapping):
        raise UsageError(f"set must be a mapping of the spec's `args:` to values, like {{'width': [0.5, 1.0]}}; "
                         f"got a {type(set).__name__}")
    axes = []
    if input is not None:
        axes.append(input_axis(_axis_text(input, "input")))
    if batch is not None:
        axes.append(batch_axis(_axis_text(batch, "batch")))
    fixed = []
    for name, values in (set or {}).items():
        if not isinstance(name, str):
            raise UsageError(f"set: {name!r}: the names are the spec's `args:`, as text")
        axis = set_axis(f"{name}={_axis_text(values, 'set ' + name)}")
        if len(axis.values) > 1:
            axes.append(axis)
        else:
            fixed.append((axis.name, axis.values[0]))
    if not axes:
        raise UsageError("give an axis to sweep: input=[(3, 128, 128), (3, 224, 224)], batch=[1, 8, 64] or "
                         "set={'width': [0.5, 1.0]}")
    return run(_document_of(x, allow_unknown), axes, Overrides(None, tuple(fixed), bool(allow_unknown)))


def scale(x: Model, *, phi: str | Sequence[int] = "0..7", alpha: float = 1.2, beta: float = 1.1,
          gamma: float = 1.15, depth_arg: str = "depth", width_arg: str = "width", search: bool = False,
          step: float = 0.05, tolerance: float = 0.05, top: int = 10, input: Shape | None = None,
          set: Mapping[str, Any] | None = None, allow_unknown: bool = False) -> Any:
    """`convcalc scale`: EfficientNet's compound scaling of a spec with depth and width
    arguments, at each `phi` ("0..7", or a list), measured; `search=True` ranks a grid of alpha,
    beta, gamma. Returns the `Scaling`; `to_dict()` is `--format json`."""
    from .scale import check_factors, phis
    from .scale import scale as run

    if isinstance(phi, (list, tuple)):
        phi = ",".join(str(_whole(p, "phi", 0, 10**6)) for p in phi)
    if not isinstance(phi, str):
        raise UsageError(f"phi must be text (\"0..7\", \"0,1,3\") or a list of whole numbers, got {phi!r}")
    for name, value in (("alpha", alpha), ("beta", beta), ("gamma", gamma), ("step", step), ("tolerance", tolerance)):
        if type(value) not in (int, float):
            raise UsageError(f"{name} must be a number, got {value!r}")
    check_factors(alpha, beta, gamma, tolerance)
    _whole(top, "top", 1, 1000)
    overrides = Overrides(_shape(input) if input is not None else None, _sets(set), bool(allow_unknown))
    return run(_document_of(x, allow_unknown), phis(phi), float(alpha), float(beta), float(gamma), depth_arg,
               width_arg, overrides, float(step) if search else None, float(tolerance), top)


# --------------------------------------------------------------------------------------------
# Pages: draw and report


class Page(NamedTuple):
    """What `draw` and `report` make: the text of a drawing or page in its format (`html`,
    `svg`, `dot`, `mermaid`). In a notebook an HTML page or SVG displays inline, in a sandboxed
    iframe (`srcdoc`, scripts only: it makes no request); DOT and Mermaid as their text."""

    format: str
    text: str

    def __str__(self) -> str:
        return self.text

    def _repr_html_(self) -> str:
        from .reporters.notebook import page_html

        return page_html(self.format, self.text)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(self.text if self.format in ("dot", "mermaid") else f"<convcalc {self.format} page, "
                     f"{len(self.text.encode('utf-8')):,} bytes: display it in a notebook or save it>")

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the text to `path` whole or not at all (fileio.write_atomic, as the CLI's -o)."""
        _write(os.fspath(path), self.text)


def _write(path: str, text: str) -> None:
    from .fileio import check_output, write_atomic

    check_output(path, "path")
    try:
        write_atomic(path, text)
    except OSError as exc:
        raise UsageError(f"cannot write it: {exc.strerror or exc}", file=path) from None


def draw(x: Model, path: str | os.PathLike[str] | None = None, format: str | None = None, *, expand: bool = False,
         depth: int | None = None, by: str | None = None, profile: str | os.PathLike[str] | None = None,
         batch: int | None = None, input: Shape | None = None, set: Mapping[str, Any] | None = None,
         allow_unknown: bool = False) -> Page:
    """`convcalc draw`: the network as a graph. Without `path` or `format`, the self-contained
    HTML page (`convcalc draw -o x.html`), which a notebook displays inline; with `path`, written
    there in the format its suffix names, as `-o` is. `by` colours by a metric, `profile` (a
    `convcalc profile --format json` file) by time. Returns the `Page`."""
    from .analysis import analyze as run
    from .diagram import METRICS, metric_and_times
    from .fileio import check_output
    from .reporters.drawing import output_format
    from .diagram import build, model
    from .reporters.drawing import render

    target = os.fspath(path) if path is not None else None
    chosen = output_format(target, format if format is not None or target is not None else "html")
    if expand and depth is not None:
        raise UsageError("expand draws every layer; depth collapses blocks: give one of them")
    if depth is not None:
        _whole(depth, "depth", 0, 10**6)
    if by is not None and by not in METRICS:
        raise UsageError(f"by must be one of {', '.join(METRICS)}, got {by!r}")
    times_path = os.fspath(profile) if profile is not None else None
    if target is not None:
        check_output(target, "path", tuple(p for p in (times_path, x if isinstance(x, str) else None) if p))
    report = run(spec_of(x, input, set, None, allow_unknown), _batch(batch))
    metric, times = metric_and_times(by, times_path, report)
    drawn = model if chosen == "html" else build
    page = Page(chosen, render(drawn(report, bool(expand), depth, metric, times), chosen))  # type: ignore[arg-type]
    if target is not None:
        _write(target, page.text)
    return page


def report(*models: Model, path: str | os.PathLike[str] | None = None, by: str | None = None,
           expand: bool = False, batch: int | None = None, input: Shape | None = None,
           set: Mapping[str, Any] | None = None, allow_unknown: bool = False) -> Page:
    """`convcalc report`: one self-contained HTML page about a network (summary, graph, table,
    plots), or two (the first the baseline) with their difference first. Written to `path` when
    given; returned as the `Page`, which a notebook displays inline."""
    from .analysis import analyze as run
    from .diagram import METRICS
    from .compare import compare_specs
    from .diagram import Metric, model
    from .reporters.html_page import render

    if not 1 <= len(models) <= 2:
        raise UsageError(f"report takes one model, or two to compare, got {len(models)}")
    if by is not None and (by not in METRICS or by == "time"):
        raise UsageError(f"by must be one of {', '.join(m for m in METRICS if m != 'time')}, got {by!r}")
    target = os.fspath(path) if path is not None else None
    if target is not None and not target.lower().endswith((".html", ".htm")):
        raise UsageError("the report is an HTML page: give path='NAME.html'", file=target)
    specs = [spec_of(m, input, set, None, allow_unknown) for m in models]
    size = _batch(batch)
    comparison = compare_specs(specs[0], specs[1], size, size) if len(specs) == 2 else None
    reports = [comparison.a, comparison.b] if comparison is not None else [run(specs[0], size)]
    metric = Metric(by) if by else None
    page = Page("html", render([model(r, bool(expand), None, metric, None) for r in reports], comparison))
    if target is not None:
        _write(target, page.text)
    return page


# --------------------------------------------------------------------------------------------
# convcalc import


def to_yaml(model: Model, input: Shape | None = None, *, flat: bool = False, allow_unknown: bool = False) -> str:
    """`convcalc import`: the YAML spec equivalent to `model` (an nn.Module, ONNX bytes or
    `ModelProto`, an ONNX path or a SOURCE), every layer checked against the model first, repeated
    structure folded into blocks unless `flat`. Returns the text; `convcalc.loads(text)` reads it."""
    from .importers import is_source, read
    from .importers.writer import render

    shape = _shape(input) if input is not None else None
    overrides = Overrides(shape, (), bool(allow_unknown))
    if _is_module(model):
        imported = _from_module(model, overrides)
    elif isinstance(model, (bytes, bytearray, memoryview)) or _is_model_proto(model):
        imported = _from_onnx_bytes(model, overrides)
    elif isinstance(model, (str, os.PathLike)) and is_source(os.fspath(model)):
        imported = read(os.fspath(model), shape, bool(allow_unknown))
    else:
        shown = repr(model) if isinstance(model, (str, os.PathLike)) else type(model).__name__
        raise UsageError(f"to_yaml imports a model: give a torch.nn.Module, an ONNX file's path, an onnx.ModelProto "
                         f"or its bytes, or a SOURCE (package.module:callable); {shown[:80]} is not one "
                         "(a spec is YAML already)")
    return render(imported, folded=not flat)


# --------------------------------------------------------------------------------------------
# torchinfo's call

# torchinfo's column names -> what convcalc's shapes table shows for them
COLUMNS = ("input_size", "output_size", "num_params", "params_percent", "kernel_size", "mult_adds", "trainable")


def summary(model: Model, input_size: Sequence[Any] | None = None, *, input_data: Any = None, batch_dim: int | None = 0,
            dtypes: Sequence[Any] | None = None, device: Any = None, depth: int | None = None,
            col_names: Sequence[str] | None = None, verbose: int = 1, file: Any = None,
            allow_unknown: bool = False) -> Report:
    """torchinfo's `summary(model, input_size=(1, 3, 224, 224))`, answered by convcalc: prints the
    shapes table (sized to the terminal) and returns the `Report`.

    As torchinfo, `input_size` includes the batch at `batch_dim` (0; None: it has none, batch 1);
    `input_data` is a tensor whose shape stands for it; `dtypes` the input's dtype (one); `verbose=0`
    prints nothing. `device`, `depth` and `col_names` are accepted for torchinfo's calls: convcalc
    traces on the CPU, shows every layer, and its columns are always its own (docs/api.md)."""
    if input_data is not None:
        if input_size is not None:
            raise UsageError("give input_size or input_data, not both")
        shape = getattr(input_data, "shape", None)
        if shape is None:
            raise UsageError(f"input_data must be a tensor (something with a .shape), got a {type(input_data).__name__}")
        input_size = tuple(int(n) for n in shape)
    if col_names is not None:
        unknown = [name for name in col_names if name not in COLUMNS]
        if unknown:
            raise UsageError(f"col_names: {unknown[0]!r} is not one of torchinfo's columns ({', '.join(COLUMNS)})")
    if depth is not None and (type(depth) is not int or depth < 0):
        raise UsageError(f"depth must be a whole number, got {depth!r}")
    if dtypes is not None and (not isinstance(dtypes, (list, tuple)) or len(dtypes) != 1):
        raise UsageError("dtypes: give one dtype, for the model's one input, like [torch.float16]")
    batch, per_sample = 1, None
    if input_size is not None:
        if isinstance(input_size, str) or not isinstance(input_size, (list, tuple)):
            raise UsageError(f"input_size must be a tuple with the batch, like (1, 3, 224, 224), got {input_size!r}")
        dims = list(input_size)
        if batch_dim is not None:
            if type(batch_dim) is not int or not 0 <= batch_dim < len(dims):
                raise UsageError(f"batch_dim {batch_dim!r} is not an axis of input_size {tuple(dims)}")
            batch = dims.pop(batch_dim)
        per_sample = tuple(dims)
    report = analyze(model, _batch(batch, "the batch in input_size"), input=per_sample,
                     dtype=dtypes[0] if dtypes else None, allow_unknown=allow_unknown)
    if verbose:
        from .reporters import render

        stream = file if file is not None else sys.stdout
        stream.write(render([report], "table", stream))
    return report


# --------------------------------------------------------------------------------------------
# convcalc.explain, convcalc.compare and convcalc.check are modules of the package as well as
# functions of its API. A package's submodule is bound as its attribute when it is imported, so
# a function of the same name could not stay there: instead each of those modules is made
# callable (`callable_module`, at the end of the module), and calling it calls the function here.
# `from convcalc.compare import VARIANTS` and `convcalc.compare(a, b)` both work.

COMMANDS = ("explain", "compare", "check", "verify", "profile", "sweep", "scale", "report")


class CommandModule(types.ModuleType):
    """A convcalc module that is also its command's function (api.COMMANDS)."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return globals()[self.__name__.rpartition(".")[2]](*args, **kwargs)


def callable_module(name: str) -> None:
    """Make the module `name` (convcalc.compare) call api's function of its last name when called;
    inspect.signature and help() follow `__wrapped__` to that function."""
    module = sys.modules[name]
    module.__class__ = CommandModule
    module.__wrapped__ = globals()[name.rpartition(".")[2]]  # type: ignore[attr-defined]


# convcalc.report, the module of the frozen results, is imported above (before the function is
# defined), so it is made callable here rather than at its own end.
callable_module(f"{__package__}.report")
