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
from typing import Any, Mapping, Sequence, Union

from .errors import ConvcalcError, SpecError, UsageError
from .report import Report, TrainingReport
from .spec import Overrides, Spec

__all__ = ["spec_of", "analyze", "memory", "explain", "compare", "check", "summary", "callable_module"]

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
    from .errors import did_you_mean
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
    shape = _shape(input) if input is not None else None
    overrides = Overrides(shape, _sets(set), bool(allow_unknown))
    if isinstance(x, Spec):
        if shape is not None or overrides.sets:
            raise UsageError("a built Spec takes no input= or set=: give them when it is built "
                             "(convcalc.loads(text, overrides=...)), or pass its text or path instead")
        spec = x
    elif _is_module(x):
        spec = _from_module(x, overrides)
    elif isinstance(x, (bytes, bytearray, memoryview)) or _is_model_proto(x):
        spec = _from_onnx_bytes(x, overrides)
    elif isinstance(x, (str, os.PathLike)):
        spec = _from_text(os.fspath(x), overrides)
    else:
        raise UsageError(f"convcalc cannot analyze a {type(x).__module__}.{type(x).__name__}: give {_KINDS}")
    text = _dtype(dtype)
    return spec._replace(dtype=text) if text is not None else spec


def _from_text(text: Any, overrides: Overrides) -> Spec:
    from .sources import load_argument, loads

    if not isinstance(text, str):  # a bytes path
        raise UsageError(f"give a path as text, not {type(text).__name__}")
    if "\n" in text.strip() or (text.lstrip().startswith("{") and not os.path.lexists(text)):
        return loads(text, "<string>", overrides)  # YAML text: a spec, or ultralytics' model YAML
    if text == "-":
        raise UsageError("'-' reads standard input on the command line; in Python, pass the spec's text")
    return load_argument(text, overrides)


def _no_sets(overrides: Overrides, source: str) -> None:
    if overrides.sets:
        raise SpecError("set= sets a spec's `args:`; an imported model has none", file=source)


def _notes(source: str, notes: list[str]) -> None:
    """What an import leaves out, on stderr as the CLI says it (importers.read)."""
    from .printable import clean

    for note in notes:
        sys.stderr.write(f"convcalc: note: {clean(source)}: {clean(note)}\n")


def _from_module(model: Any, overrides: Overrides) -> Spec:
    """An nn.Module through the torch.fx importer, traced in eval mode (its mode restored after)."""
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
    return imported.spec()


def _from_onnx_bytes(data: Any, overrides: Overrides) -> Spec:
    """An ONNX model in memory, read as `importers.onnx.read` reads a file."""
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
    return imported.spec()


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

COMMANDS = ("explain", "compare", "check")


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
