"""PyTorch modules as convcalc layers, through torch.fx.

The model is traced with `torch.fx` (symbolic tracing; torch.nn's own modules are leaves, so a
user's blocks are traced through into the modules and functional operators they call) and run
once on a random input at batch 1 under an fx Interpreter that records every value's shape. Each
graph node then maps to convcalc layers by a rule in one of two tables:

    MODULES    leaf module type -> rule   (nn.Conv2d -> conv, nn.BatchNorm2d -> bn, ...)
    FUNCTIONS  function or method -> rule (torch.cat -> concat, operator.add -> add, x.mean -> gap, ...)

Every node is in exactly one group: mapped by a rule; shape arithmetic (`x.size(0)`, which
makes no tensor and no layer); a free alias (`x.contiguous()`); or unsupported, which is counted
and reported with where it is, never dropped and never a zero: the import fails listing them all,
or, with `allow_unknown`, each becomes an `opaque` layer whose shape comes from the trace and whose
costs are unknown. A rule raises `Unsupported` with the reason when its case is not exact (a
LayerNorm over the last axis only, an add that broadcasts a constant). Every tensor must keep
dim 0 = 1, the batch: an operator that moves positions into the batch is refused (one that folds
the batch into another axis, `x.view(1, -1)`, cannot be told apart at batch 1: convcalc takes every
operator to work per sample). torch is imported here: import this module lazily.
"""

from __future__ import annotations

import importlib
import inspect
import math
import operator
import os
import re
import sys
import warnings
from typing import Any, NamedTuple

import torch
import torch.fx as fx
import torch.nn.functional as F
from torch import nn

from ..errors import ConvcalcError, SpecError, UsageError
from ..sharing import tensor_names
from .mapping import NO_RULE, ChannelsLast, MapperBase, Mapped, Pending, Ref, Rule, Transposed, rule_table
from .model import Imported, Layer, Unsupported, pad_args, padding_arg, slice_layers, spec_value

BATCH = 1  # the traced batch: every tensor must keep dim 0 = 1 (an operator that moves positions into it is refused)
DEFAULT_INPUT = (3, 224, 224)  # torchvision's and timm's classifiers, when --input is not given


# --------------------------------------------------------------------------------------------
# Finding the model


def read(argument: str, input_shape: tuple[int, ...] | None, allow_unknown: bool) -> Imported:
    model, name, default = build_model(argument)
    shape = input_shape or default
    if shape is None:
        raise UsageError(f"{argument}: give --input, per sample and channels first (3x224x224): a PyTorch "
                         "module does not say what input it takes")
    return trace(model, shape, argument, name, allow_unknown)


def build_model(argument: str) -> tuple[nn.Module, str, tuple[int, ...] | None]:
    """(model in eval mode, its name, the input its zoo documents or None) for a SOURCE."""
    zoo, _, name = argument.partition(":")
    if zoo == "torchvision":
        return _torchvision(argument, name)
    if zoo == "timm":
        return _timm(argument, name)
    module_name, attribute = zoo, name
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())  # as `python -c` does: the current folder's packages import
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and (module_name == exc.name or module_name.startswith(exc.name + ".")):
            raise SpecError(f"no Python module '{exc.name}' (a SOURCE package.module:callable imports it from "
                            "the current folder or the installed packages)", file=argument) from None
        raise _failed(argument, f"importing {module_name}", exc) from None
    except (Exception, SystemExit) as exc:  # the user's module raised (or called exit) on import
        raise _failed(argument, f"importing {module_name}", exc) from None
    target: Any = module
    for part in attribute.split("."):
        if not hasattr(target, part):
            raise SpecError(f"module '{module_name}' has no attribute '{attribute}'", file=argument)
        target = getattr(target, part)
    return _instantiate(argument, target, attribute), attribute.rsplit(".", 1)[-1], None


def _instantiate(argument: str, target: Any, what: str) -> nn.Module:
    if isinstance(target, nn.Module):
        model = target
    elif callable(target):
        try:
            model = target()
        except (Exception, SystemExit) as exc:
            raise _failed(argument, f"{what}()", exc) from None
    else:
        raise SpecError(f"'{what}' is a {type(target).__name__}, not a callable that returns a torch.nn.Module",
                        file=argument)
    if not isinstance(model, nn.Module):
        raise SpecError(f"{what}() returned a {type(model).__name__}, not a torch.nn.Module", file=argument)
    return model.eval()


def _failed(argument: str, what: str, exc: BaseException) -> ConvcalcError:
    text = str(exc).strip().splitlines()
    return ConvcalcError(f"{what} failed: {type(exc).__name__}" + (f": {text[0][:200]}" if text else ""),
                         file=argument)


def _zoo_import(argument: str, package: str) -> Any:
    """`package` imported (torchvision.models, timm), or one line on why not: a torchvision built
    for another torch fails with `RuntimeError: operator torchvision::nms does not exist`, which
    says what to install, not what went wrong."""
    try:
        with warnings.catch_warnings():  # torchvision's warning about its image extension, on the way to the error
            warnings.simplefilter("ignore")
            return importlib.import_module(package)
    except Exception as exc:
        if isinstance(exc, RuntimeError) and re.search(r"operator torchvision::\w+ does not exist", str(exc)):
            raise ConvcalcError(
                f"torchvision {_version('torchvision')} does not match torch {torch.__version__} (importing it "
                f"fails: {str(exc).strip().splitlines()[0][:120]}): install a matching pair, such as pip install "
                f"--upgrade torch=={torch.__version__.split('+')[0]} torchvision, which picks the torchvision built for "
                "that torch (for a +cpu build add --index-url https://download.pytorch.org/whl/cpu)",
                file=argument) from None
        raise _failed(argument, f"importing {package}", exc) from None


def _version(distribution: str) -> str:
    from importlib import metadata

    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "(version unknown)"


def _torchvision(argument: str, name: str) -> tuple[nn.Module, str, tuple[int, ...] | None]:
    models = _zoo_import(argument, "torchvision.models")
    try:
        builder = models.get_model_builder(name)
    except ValueError:
        names = models.list_models()
        from ..suggest import did_you_mean

        raise SpecError(f"torchvision has no model '{name}'{did_you_mean(name, names)}", file=argument) from None
    options: dict[str, Any] = {"weights": None}
    if "weights_backbone" in inspect.signature(builder).parameters:
        options["weights_backbone"] = None  # segmentation models would download ImageNet weights for the backbone
    try:
        with warnings.catch_warnings():  # torchvision's FutureWarnings about its weight initialization
            warnings.simplefilter("ignore")
            model = builder(**options)
    except Exception as exc:
        raise _failed(argument, f"torchvision.models.{name}(weights=None)", exc) from None
    return model.eval(), name, _torchvision_input(models, name, builder.__module__)


def _torchvision_input(models: Any, name: str, where: str) -> tuple[int, ...]:
    """The input torchvision's published numbers are for: the crop size of the model's default
    weights' transforms (224 for most, 299 for Inception v3, 600 for EfficientNet-B7, 384 for
    regnet_y_128gf's SWAG weights), the resize size for segmentation (520), and 16 frames for video."""
    try:
        transforms = models.get_model_weights(name).DEFAULT.transforms()
    except Exception:
        transforms = None
    size = getattr(transforms, "crop_size", None) or getattr(transforms, "resize_size", None) or [224]
    size = list(size) * 2 if len(size) == 1 else list(size)
    return (3, 16, *size) if ".video." in where else (3, *size)


def _timm(argument: str, name: str) -> tuple[nn.Module, str, tuple[int, ...] | None]:
    timm = _zoo_import(argument, "timm")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = timm.create_model(name, pretrained=False)
    except Exception as exc:
        raise _failed(argument, f"timm.create_model('{name}')", exc) from None
    size = getattr(model, "pretrained_cfg", {}).get("input_size")
    return model.eval(), name, tuple(size) if size else DEFAULT_INPUT


# --------------------------------------------------------------------------------------------
# Tracing


class _Tracer(fx.Tracer):
    """torch.nn's modules are leaves (fx's default), and so is a subclass of one that a rule maps
    and whose `forward` is its base's (torchvision's Conv3DSimple is an nn.Conv3d with a helper
    method); every other module is traced through."""

    def is_leaf_module(self, m: nn.Module, module_qualified_name: str) -> bool:
        return super().is_leaf_module(m, module_qualified_name) or _mapped_type(m) is not None


def _mapped_type(m: nn.Module) -> type | None:
    """The torch.nn class whose rule maps `m`: its own type, or the first base with a rule when `m`
    does not override that base's forward (a subclass with its own forward is traced through)."""
    for cls in type(m).__mro__:
        if cls in MODULES:
            return cls if type(m).forward is cls.forward else None
    return None


class _Recorder(fx.Interpreter):
    """Runs the traced graph and keeps a summary of every node's value (shapes, not tensors)."""

    def __init__(self, module: fx.GraphModule) -> None:
        super().__init__(module)
        self.seen: dict[fx.Node, Any] = {}

    def run_node(self, n: fx.Node) -> Any:
        result = super().run_node(n)
        self.seen[n] = _summary(result)
        return result


# Inputs larger than this many values are traced on the meta device (shapes without arithmetic):
# a segmentation net at 3x1024x2048 is over a TMAC, minutes on a CPU, for shapes alone.
META_ABOVE = 3 * 1024 * 1024


def _run(module: fx.GraphModule, shape: tuple[int, ...], source: str) -> _Recorder:
    """Run the graph once at batch 1, recording shapes: on real CPU tensors (at batch 2 a ResNet-50
    costs 2 s of CPU time here, at 1 about 0.4 s), or for an input of more than META_ABOVE values
    on the meta device, where nothing is computed (batch norm's decomposition imports 3 s of torch's
    Python references the first time, which a large input more than repays). The model's weights
    do not matter for shapes: on the meta device they are dropped."""
    what = f"running the model on an input of {'x'.join(map(str, shape))}"
    if math.prod(shape) > META_ABOVE:
        recorder = _Recorder(module.to("meta"))
        with torch.no_grad():
            try:
                recorder.run(torch.empty(BATCH, *shape, device="meta"))
                return recorder
            except Exception:  # an operator without a meta kernel: compute after all, on the CPU
                module.to_empty(device="cpu")
    recorder = _Recorder(module)
    with torch.no_grad():
        try:
            recorder.run(torch.randn(BATCH, *shape))
        except Exception as exc:
            raise _failed(source, what, exc) from None
    return recorder


class TensorInfo(NamedTuple):
    shape: tuple[int, ...]  # with the batch


def _summary(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return TensorInfo(tuple(value.shape))
    if isinstance(value, torch.Size):
        return tuple(value)
    if isinstance(value, (tuple, list)):
        return type(value)(_summary(v) for v in value) if not hasattr(value, "_fields") else tuple(_summary(v) for v in value)
    if isinstance(value, dict):
        return {k: _summary(v) for k, v in value.items()}
    return value


def _has_tensor(value: Any) -> bool:
    if isinstance(value, TensorInfo):
        return True
    if isinstance(value, (tuple, list)):
        return any(_has_tensor(v) for v in value)
    if isinstance(value, dict):
        return any(_has_tensor(v) for v in value.values())
    return False


def trace(model: nn.Module, shape: tuple[int, ...], source: str, name: str, allow_unknown: bool) -> Imported:
    """The layers of `model` on a per-sample input `shape`."""
    if isinstance(model, torch.jit.ScriptModule):  # compiled: no Python forward for torch.fx to trace
        raise SpecError("the model is a TorchScript module (torch.jit.script or torch.jit.trace), which torch.fx cannot "
                        "trace: pass the eager "
                        "torch.nn.Module it was made from, or export it to ONNX (torch.onnx.export) and import the "
                        ".onnx file", file=source)
    tracer = _Tracer()
    if _mapped_type(model) is not None:  # a bare layer as the whole model: one layer, not its forward traced
        model = _Whole(name, model)
    try:
        graph = tracer.trace(model, concrete_args=_defaults(model))
    except Exception as exc:
        raise _failed(source, "tracing the model with torch.fx", exc) from None
    module = fx.GraphModule(tracer.root, graph)
    # which parameters are one tensor, before a run on the meta device makes each its own copy
    tensor_ids = {path: id(p) for path, p in module.named_parameters(remove_duplicate=False)}
    weights = _reparametrized(model)  # before the run: on the meta device the masks' values are gone
    recorder = _run(module, shape, source)
    mapper = _Mapper(module, recorder.seen, shape, source, allow_unknown)
    mapper.tensor_ids = tensor_ids
    mapper.weights = weights
    mapper.root = model
    fixed = _defaults(model) or {}
    try:
        names = list(inspect.signature(model.forward).parameters)[1:]
    except (TypeError, ValueError):
        names = []
    mapper.fixed = [fixed.get(name, _NOT_FIXED) for name in names]
    layers = mapper.run()
    origin = (f"imported from {source} by convcalc (torch {torch.__version__}, torch.fx)",
              f"input {'x'.join(map(str, shape))} per sample, channels first")
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", name) or "model"
    modules = tuple((path, type(m).__name__) for path, m in model.named_modules() if path)
    return Imported(safe, source, tuple(shape), tuple(layers), origin, modules, _not_run(model, graph),
                    tuple(mapper.pruned), tuple(mapper.parametrized), mapper.outputs, mapper.outputs_named)


class Reparametrized(NamedTuple):
    """A module's tensor that its forward computes from others: pruned (torch.nn.utils.prune:
    `weight_orig` times the `weight_mask` buffer, in a forward pre-hook) or parametrized
    (torch.nn.utils.parametrize: `parametrizations.weight.original*`). The layer counts the dense
    tensor; these are the module's parameters and buffers that stand for it."""

    tensor: str
    size: int  # the dense tensor's values
    params: int  # the module's parameters that stand for it (weight_orig; the parametrization's)
    buffers: int  # and buffers (the mask; spectral norm's u and v)
    zeros: int | None  # pruned: the mask's zeros
    names: tuple[str, ...]  # parametrized: the parametrizations' classes


def _reparametrized(model: nn.Module) -> dict[str, list[Reparametrized]]:
    """Module path -> its pruned and parametrized tensors."""
    from torch.nn.utils import parametrize, prune

    found: dict[str, list[Reparametrized]] = {}
    for path, m in model.named_modules():
        for hook in m._forward_pre_hooks.values():
            methods = getattr(hook, "_pruning_methods", (hook,)) if isinstance(hook, prune.BasePruningMethod) else ()
            for name in dict.fromkeys(method._tensor_name for method in methods):
                mask, orig = getattr(m, f"{name}_mask"), getattr(m, f"{name}_orig")
                found.setdefault(path, []).append(Reparametrized(name, orig.numel(), orig.numel(), mask.numel(),
                                                                 int((mask == 0).sum()), ()))
        if parametrize.is_parametrized(m):
            for name, held in m.parametrizations.items():
                with torch.no_grad():
                    size = getattr(m, name).numel()
                found.setdefault(path, []).append(Reparametrized(
                    name, size, sum(p.numel() for p in held.parameters()), sum(b.numel() for b in held.buffers()),
                    None, tuple(type(p).__name__ for p in held)))
    return found


_NOT_FIXED = object()


class _Whole(nn.Module):
    """A layer convcalc maps (nn.BatchNorm2d, nn.ConvTranspose2d) returned as the whole model, held
    as its one child, named after the SOURCE's callable: a leaf like any other, where tracing the
    layer's own forward would meet batch norm's control flow or a functional call."""

    def __init__(self, name: str, layer: nn.Module) -> None:
        super().__init__()
        self.child = re.sub(r"\W", "_", name) or "layer"
        self.add_module(self.child, layer)

    def forward(self, x: torch.Tensor) -> Any:
        return getattr(self, self.child)(x)


def _defaults(model: nn.Module) -> dict[str, Any] | None:
    """The forward's optional arguments after the input, at their defaults (timm's `attn_mask=None`):
    traced as constants, so the model takes one input."""
    try:
        parameters = list(inspect.signature(model.forward).parameters.values())
    except (TypeError, ValueError):
        return None
    fixed = {p.name: p.default for p in parameters[1:]
             if p.default is not inspect.Parameter.empty and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    return fixed or None


def _not_run(model: nn.Module, graph: fx.Graph) -> tuple[tuple[str, int, int], ...]:
    """(module path, parameters, buffers) of the modules the forward pass never runs, such as
    GoogLeNet's auxiliary classifiers in eval mode: PyTorch's `model.parameters()` counts them, the
    traced network does not. Whole modules where a module is unused, else single tensors."""
    used: set[str] = set()
    prefixes: list[str] = []
    for node in graph.nodes:
        if node.op == "call_module":
            prefixes.append(f"{node.target}.")
        elif node.op == "get_attr":
            used.add(str(node.target))
    for name in list(used):  # F.batch_norm reads the running statistics, not the counter the bn kind holds
        if name.endswith("running_mean"):
            used.add(name[: -len("running_mean")] + "num_batches_tracked")
    tensors = {name: t.numel() for name, t in [*model.named_parameters(), *model.named_buffers()]}
    unused = {name for name in tensors if name not in used and not name.startswith(tuple(prefixes))}
    if not unused:
        return ()
    params = {name for name, _ in model.named_parameters()}
    found: list[tuple[str, int, int]] = []
    covered: set[str] = set()
    for path, m in model.named_modules():
        names = [f"{path}.{n}" if path else n for n, _ in [*m.named_parameters(), *m.named_buffers()]]
        if not path or not names or not set(names) <= unused or set(names) <= covered:
            continue
        covered.update(names)
        found.append((path, sum(tensors[n] for n in names if n in params),
                      sum(tensors[n] for n in names if n not in params)))
    for name in sorted(unused - covered):
        found.append((name, tensors[name] if name in params else 0, 0 if name in params else tensors[name]))
    return tuple(found)


# --------------------------------------------------------------------------------------------
# Values while mapping




class Param(NamedTuple):
    """A parameter or buffer read directly (get_attr): its attribute path and full shape."""

    target: str
    shape: tuple[int, ...]


class Chunks(NamedTuple):
    """x.chunk(n, dim): n equal chunks of `ref` along a per-sample axis (0: the channels, a split
    layer each; another, a crop: q, k, v of a packed projection on tokens), picked by indexing."""

    ref: Ref
    parts: int
    axis: int = 0






class Call(NamedTuple):
    """What a rule sees of one graph node."""

    node: fx.Node
    what: str  # torch.nn.Conv2d, torch.cat, Tensor.view
    module: nn.Module | None
    args: tuple[Any, ...]  # resolved: Ref, Param, Chunks, constants
    kwargs: dict[str, Any]
    out: tuple[int, ...] | None  # the per-sample output shape, when the result is one tensor
    nd: int  # the network's spatial axes

    def bind(self, *names: str, **defaults: Any) -> dict[str, Any]:
        """The arguments by name: positional in the order of `names`, then keywords, then defaults."""
        bound = dict(defaults)
        for key, value in zip(names, self.args):
            bound[key] = value
        for key, value in self.kwargs.items():
            if key in names or key in defaults:
                bound[key] = value
        return bound

    def x(self) -> Ref:
        """The first argument, which must be a tensor convcalc has."""
        first = self.args[0] if self.args else next(iter(self.kwargs.values()), None)
        if not isinstance(first, Ref):
            raise Unsupported("its input is not an activation tensor")
        return first

    def dim(self, value: int, ref: Ref) -> int:
        """A dim argument in full indexing (batch = 0), negatives resolved."""
        return value % (len(ref.shape) + 1)



def _per_axis(value: Any, nd: int) -> list[int]:
    return list(value) if isinstance(value, (tuple, list)) else [value] * nd


def one(kind: str, args: dict[str, Any] | None = None, *inputs: Ref) -> Mapped:
    return Mapped([(kind, args or {})], list(inputs))


# --------------------------------------------------------------------------------------------
# Module rules


MODULES: dict[type, Rule] = {}


module = rule_table(MODULES, "param_view")


def _check_nd(c: Call, m_nd: int) -> None:
    if m_nd != c.nd:
        raise Unsupported(f"a {m_nd}-D layer in a {c.nd}-D network")


def _pairs(reversed_twice: Any, nd: int) -> list[list[int]]:
    """F.pad's order (last axis first, left then right) -> [[left, right], ...] first axis first."""
    flat = list(reversed_twice)
    return [[flat[2 * (nd - 1 - i)], flat[2 * (nd - 1 - i) + 1]] for i in range(nd)]


@module(nn.Conv1d, nn.Conv2d, nn.Conv3d)
def _conv(c: Call) -> Mapped:
    m = c.module
    _check_nd(c, len(m.kernel_size))
    x = c.x()
    args: dict[str, Any] = {"out": m.out_channels, "k": spec_value(m.kernel_size)}
    if spec_value(m.stride) != 1:
        args["s"] = spec_value(m.stride)
    layers: list[tuple[str, dict[str, Any]]] = []
    pairs = _pairs(m._reversed_padding_repeated_twice, c.nd)
    if m.padding_mode != "zeros":
        if any(v for pair in pairs for v in pair):  # reflect, replicate or circular: a pad layer first
            layers.append(("pad", pad_args(pairs, m.padding_mode, 0)))
    elif m.padding == "same":
        args["p"] = "same"
    elif any(v for pair in pairs for v in pair):
        args["p"] = padding_arg(pairs)
    if spec_value(m.dilation) != 1:
        args["d"] = spec_value(m.dilation)
    if m.groups != 1:
        args["groups"] = m.groups
    if m.bias is None:
        args["bias"] = False
    return Mapped(layers + [("conv", args)], [x])


@module(nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)
def _deconv(c: Call) -> Mapped:
    m = c.module
    _check_nd(c, len(m.kernel_size))
    if m.padding_mode != "zeros":
        raise Unsupported(f"padding_mode {m.padding_mode}")
    args: dict[str, Any] = {"out": m.out_channels, "k": spec_value(m.kernel_size)}
    for key, value, default in (("s", m.stride, 1), ("p", m.padding, 0), ("output_padding", m.output_padding, 0),
                                ("d", m.dilation, 1)):
        if spec_value(value) != default:
            args[key] = spec_value(value)
    if m.groups != 1:
        args["groups"] = m.groups
    if m.bias is None:
        args["bias"] = False
    return one("deconv", args, c.x())


@module(nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)
def _bn(c: Call) -> Mapped:
    m = c.module
    if not m.track_running_stats or m.running_mean is None:
        raise Unsupported("batch norm without running statistics (it normalizes with the batch's at inference)")
    args: dict[str, Any] = {}
    if not m.affine:
        args["affine"] = False
    if m.eps != 1e-5:
        args["eps"] = m.eps
    if m.momentum is not None and m.momentum != 0.1:
        args["momentum"] = m.momentum
    return one("bn", args, c.x())


def _ln_channels_last(mapper: Any, c: Call, x: Ref) -> Mapped:
    m = c.module
    return _channel_ln(x, tuple(m.normalized_shape), m.elementwise_affine, m.bias is not None, m.eps)


@module(nn.LayerNorm, channels_last=_ln_channels_last)
def _ln(c: Call) -> Mapped:
    m, x = c.module, c.x()
    if m.elementwise_affine and m.bias is None:
        raise Unsupported("layer norm without a bias")
    args: dict[str, Any] = {} if m.elementwise_affine else {"affine": False}
    if m.eps != 1e-5:
        args["eps"] = m.eps
    args.update(_ln_over(tuple(m.normalized_shape), x))
    return one("ln", args, x)


def _ln_over(normalized: tuple[int, ...], x: Ref) -> dict[str, Any]:
    """Which axes a layer norm over the trailing `normalized` axes of `x` normalizes, as ln's `over`:
    the whole sample (`all`; nothing for a flat one), or the last axis (`last`: tokens [N, E])."""
    if normalized == x.shape:
        return {"over": "all"} if len(x.shape) > 1 else {}
    if normalized == x.shape[-1:]:
        return {"over": "last"}
    raise Unsupported(f"layer norm over the last axes {list(normalized)} of [{'x'.join(map(str, x.shape))}] "
                      "(convcalc's ln normalizes the channels at each position, the last axis, or the whole sample)")


def _channel_ln(x: Ref, normalized: tuple[int, ...], affine: bool, bias: bool, eps: float) -> Mapped:
    """A layer norm over the last axis of a channels-last view: convcalc's ln over the channels."""
    if normalized != (x.shape[0],):
        raise Unsupported(f"layer norm over {list(normalized)} of a channels-last view of {x.shape[0]} channels")
    if affine and not bias:
        raise Unsupported("layer norm without a bias")
    args: dict[str, Any] = {} if affine else {"affine": False}
    if eps != 1e-5:
        args["eps"] = eps
    return one("ln", args, x)


@module(nn.GroupNorm)
def _gn(c: Call) -> Mapped:
    m = c.module
    args: dict[str, Any] = {"groups": m.num_groups}
    if not m.affine:
        args["affine"] = False
    if m.eps != 1e-5:
        args["eps"] = m.eps
    return one("gn", args, c.x())


@module(nn.InstanceNorm1d, nn.InstanceNorm2d, nn.InstanceNorm3d)
def _in(c: Call) -> Mapped:
    m = c.module
    args: dict[str, Any] = {}
    if m.affine:
        args["affine"] = True
    if m.track_running_stats:
        args["track_running_stats"] = True
    if m.eps != 1e-5:
        args["eps"] = m.eps
    return one("in", args, c.x())


def _pool_args(c: Call, k: Any, s: Any, p: Any) -> dict[str, Any]:
    args: dict[str, Any] = {"k": spec_value(_per_axis(k, c.nd))}
    stride = _per_axis(s if s not in (None, []) else k, c.nd)
    if stride != _per_axis(k, c.nd):
        args["s"] = spec_value(stride)
    if spec_value(_per_axis(p, c.nd)) != 0:
        args["p"] = spec_value(_per_axis(p, c.nd))
    return args


class Indices:
    """The positions a max pool returns with return_indices=True (its second output): the pool's
    layer, and its window per axis, which a max unpool reading them must share. Not a tuple, so
    that it stays one value where arguments are flattened."""

    def __init__(self, pool: str, window: tuple[list[int], list[int], list[int]]) -> None:
        self.pool = pool  # the maxpool layer's name
        self.window = window  # (k, s, p) per axis


class WithIndices(NamedTuple):
    """A max pool that also returns its indices: the maxpool layer, then the pair (values, indices)."""

    mapped: Mapped
    window: tuple[list[int], list[int], list[int]]


def _window(c: Call, k: Any, s: Any, p: Any) -> tuple[list[int], list[int], list[int]]:
    return _per_axis(k, c.nd), _per_axis(s if s not in (None, []) else k, c.nd), _per_axis(p, c.nd)


def _maxpool(c: Call, k: Any, s: Any, p: Any, d: Any, ceil_mode: bool, return_indices: bool,
             nd: int | None) -> Mapped | WithIndices:
    if nd is not None:
        _check_nd(c, nd)
    args = _pool_args(c, k, s, p)
    if spec_value(_per_axis(d, c.nd)) != 1:
        args["d"] = spec_value(_per_axis(d, c.nd))
    if ceil_mode:
        args["ceil_mode"] = True
    if return_indices:  # the maxpool kind keeps its argmax positions for a maxunpool that names it
        return WithIndices(one("maxpool", args, c.x()), _window(c, k, s, p))
    return one("maxpool", args, c.x())


def _maxunpool(c: Call, k: Any, s: Any, p: Any, nd: int | None) -> Mapped:
    """Max unpooling with the indices of a max pool of the same window: `maxunpool` naming it."""
    if nd is not None:
        _check_nd(c, nd)
    b = c.bind("input", "indices", "output_size", output_size=None)
    x, indices = c.x(), b.get("indices")
    if not isinstance(indices, Indices):
        raise Unsupported("max unpooling whose indices are not a max pool's")
    window = _window(c, k, s, p)
    if window != indices.window:
        raise Unsupported(f"max unpooling with k, s, p {window} on the indices of a max pool with {indices.window}")
    size = [(n - 1) * si - 2 * pi + ki for n, ki, si, pi in zip(x.shape[1:], *window)]
    if c.out is None or list(c.out[1:]) != size:
        raise Unsupported(f"max unpooling to an output_size other than (in - 1)·s - 2p + k = {size}")
    args = _pool_args(c, k, s, p)
    args["indices"] = indices.pool
    return one("maxunpool", args, x)


def _avgpool(c: Call, k: Any, s: Any, p: Any, ceil_mode: bool, count_include_pad: bool, divisor: Any,
             nd: int | None) -> Mapped:
    if nd is not None:
        _check_nd(c, nd)
    if divisor is not None:
        raise Unsupported("average pooling with divisor_override")
    args = _pool_args(c, k, s, p)
    if ceil_mode:
        args["ceil_mode"] = True
    if not count_include_pad:
        args["count_include_pad"] = False
    return one("avgpool", args, c.x())


_ND = {nn.MaxPool1d: 1, nn.MaxPool2d: 2, nn.MaxPool3d: 3, nn.MaxUnpool1d: 1, nn.MaxUnpool2d: 2, nn.MaxUnpool3d: 3,
       nn.AvgPool1d: 1, nn.AvgPool2d: 2, nn.AvgPool3d: 3,
       nn.AdaptiveAvgPool1d: 1, nn.AdaptiveAvgPool2d: 2, nn.AdaptiveAvgPool3d: 3, nn.AdaptiveMaxPool1d: 1,
       nn.AdaptiveMaxPool2d: 2, nn.AdaptiveMaxPool3d: 3, nn.LPPool1d: 1, nn.LPPool2d: 2}


@module(nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d)
def _maxpool_module(c: Call) -> Mapped:
    m = c.module
    return _maxpool(c, m.kernel_size, m.stride, m.padding, m.dilation, m.ceil_mode, m.return_indices, _ND[_mapped_type(m)])


@module(nn.MaxUnpool1d, nn.MaxUnpool2d, nn.MaxUnpool3d)
def _maxunpool_module(c: Call) -> Mapped:
    m = c.module
    return _maxunpool(c, m.kernel_size, m.stride, m.padding, _ND[_mapped_type(m)])


@module(nn.AvgPool1d, nn.AvgPool2d, nn.AvgPool3d)
def _avgpool_module(c: Call) -> Mapped:
    m = c.module
    return _avgpool(c, m.kernel_size, m.stride, m.padding, m.ceil_mode, m.count_include_pad,
                    getattr(m, "divisor_override", None), _ND[_mapped_type(m)])


def _adaptive(c: Call, kind: str, return_indices: bool = False, nd: int | None = None) -> Mapped:
    if nd is not None:
        _check_nd(c, nd)
    if return_indices:
        raise Unsupported("adaptive max pooling that returns its indices")
    size = list(c.out[1:])
    if kind == "adaptive_avgpool" and all(v == 1 for v in size):
        return one("gap", {}, c.x())
    return one(kind, {"size": spec_value(size)}, c.x())


@module(nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.AdaptiveAvgPool3d)
def _adaptive_avg_module(c: Call) -> Mapped:
    return _adaptive(c, "adaptive_avgpool", nd=_ND[_mapped_type(c.module)])


@module(nn.AdaptiveMaxPool1d, nn.AdaptiveMaxPool2d, nn.AdaptiveMaxPool3d)
def _adaptive_max_module(c: Call) -> Mapped:
    return _adaptive(c, "adaptive_maxpool", c.module.return_indices, _ND[_mapped_type(c.module)])


@module(nn.LPPool1d, nn.LPPool2d)
def _lppool(c: Call) -> Mapped:
    m = c.module
    _check_nd(c, _ND[_mapped_type(m)])
    args = {"norm": m.norm_type, "k": spec_value(_per_axis(m.kernel_size, c.nd))}
    if m.stride is not None and _per_axis(m.stride, c.nd) != _per_axis(m.kernel_size, c.nd):
        args["s"] = spec_value(_per_axis(m.stride, c.nd))
    if m.ceil_mode:
        args["ceil_mode"] = True
    return one("lppool", args, c.x())


def _linear_channels_last(mapper: Any, c: Call, x: Ref) -> Mapped:
    """nn.Linear over the channels of a channels-last view: a 1x1 conv."""
    m, channels = c.module, x.shape[0]
    args: dict[str, Any] = {"out": m.out_features, "k": 1}
    if m.bias is None:
        args["bias"] = False
    if m.in_features != channels:
        raise Unsupported(f"a linear layer of {m.in_features} inputs on {channels} channels")
    return one("conv", args, x)


@module(nn.Linear, channels_last=_linear_channels_last)
def _linear(c: Call) -> Mapped:
    m, x = c.module, c.x()  # over the last axis, flat or not (nn.Linear on [N, ..., F])
    args: dict[str, Any] = {"out": m.out_features}
    if m.bias is None:
        args["bias"] = False
    return one("linear", args, x)


@module(nn.Flatten, channels_last="flatten")
def _flatten_module(c: Call) -> Mapped:
    return _flatten(c, c.module.start_dim, c.module.end_dim)


@module(nn.Unflatten)
def _unflatten(c: Call) -> Mapped:
    return _reshape(c)


@module(nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d, nn.AlphaDropout, nn.FeatureAlphaDropout,
        per_position=True)
def _dropout_module(c: Call) -> Mapped:
    return one("dropout", {"p": c.module.p} if c.module.p != 0.5 else {}, c.x())


@module(nn.Identity, per_position=True)
def _identity(c: Call) -> Mapped:
    return one("identity", {}, c.x())


_ACTIVATIONS = {nn.ReLU: "relu", nn.ReLU6: "relu6", nn.SiLU: "silu", nn.Sigmoid: "sigmoid", nn.Tanh: "tanh",
                nn.Hardswish: "hardswish", nn.Hardsigmoid: "hardsigmoid", nn.Mish: "mish"}


@module(*_ACTIVATIONS, per_position=True)
def _activation_module(c: Call) -> Mapped:
    return one(_ACTIVATIONS[_mapped_type(c.module)], {}, c.x())


@module(nn.LeakyReLU, per_position=True)
def _leaky(c: Call) -> Mapped:
    slope = c.module.negative_slope
    return one("leakyrelu", {"slope": slope} if slope != 0.01 else {}, c.x())


@module(nn.ELU, per_position=True)
def _elu(c: Call) -> Mapped:
    alpha = c.module.alpha
    return one("elu", {"alpha": alpha} if alpha != 1.0 else {}, c.x())


@module(nn.GELU, per_position=True)
def _gelu(c: Call) -> Mapped:
    approximate = c.module.approximate
    return one("gelu", {"approximate": approximate} if approximate != "none" else {}, c.x())


@module(nn.PReLU)
def _prelu(c: Call) -> Mapped:
    x, n = c.x(), c.module.num_parameters
    if n not in (1, x.shape[0]):
        raise Unsupported(f"PReLU with {n} slopes for {x.shape[0]} channels")
    return one("prelu", {"per_channel": True} if n > 1 else {}, x)


def _softmax(c: Call, kind: str, dim: Any) -> Mapped:
    """softmax over any axis but the batch (`dim` as PyTorch numbers it: -1 for the last, as
    attention's scores over the keys); log_softmax over the channels only."""
    x = c.x()
    if dim is None or c.dim(dim, x) == 0 or (kind == "log_softmax" and c.dim(dim, x) != 1):
        raise Unsupported(f"{kind} over dim {dim} (convcalc's is over the channels, dim 1"
                          + (", or any axis but the batch)" if kind == "softmax" else ")"))
    at = c.dim(dim, x)
    return one(kind, {} if at == 1 else {"dim": -1 if at == len(x.shape) else at}, x)


@module(nn.Softmax)
def _softmax_module(c: Call) -> Mapped:
    return _softmax(c, "softmax", c.module.dim)


@module(nn.LogSoftmax)
def _log_softmax_module(c: Call) -> Mapped:
    return _softmax(c, "log_softmax", c.module.dim)


@module(nn.Softmax2d)
def _softmax2d(c: Call) -> Mapped:
    return one("softmax", {}, c.x())


def _upsample(c: Call, size: Any, scale: Any, mode: str, align_corners: Any) -> Mapped:
    if mode not in ("nearest", "linear", "bilinear", "trilinear"):
        raise Unsupported(f"interpolation mode {mode}")
    args: dict[str, Any] = {}
    if scale is not None:
        scales = [float(v) for v in _per_axis(scale, c.nd)]
        args["scale"] = spec_value([int(v) if v.is_integer() else v for v in scales])
    else:
        args["size"] = spec_value(list(c.out[1:]))
    if mode != "nearest":
        args["mode"] = mode
    if align_corners:
        args["align_corners"] = True
    return one("upsample", args, c.x())


@module(nn.Upsample, nn.UpsamplingNearest2d, nn.UpsamplingBilinear2d)
def _upsample_module(c: Call) -> Mapped:
    m = c.module
    align = m.align_corners if not isinstance(m, nn.UpsamplingBilinear2d) else True
    return _upsample(c, m.size, m.scale_factor, m.mode, align)


@module(nn.PixelShuffle)
def _pixel_shuffle(c: Call) -> Mapped:
    return one("pixel_shuffle", {"factor": c.module.upscale_factor}, c.x())


@module(nn.PixelUnshuffle)
def _pixel_unshuffle(c: Call) -> Mapped:
    return one("pixel_unshuffle", {"factor": c.module.downscale_factor}, c.x())


@module(nn.ChannelShuffle)
def _channel_shuffle_module(c: Call) -> Mapped:
    return one("channel_shuffle", {"groups": c.module.groups}, c.x())


def _pad(c: Call, pad: Any, mode: str, value: Any) -> Mapped:
    flat = list(pad)
    if len(flat) % 2 or len(flat) // 2 > c.nd:
        raise Unsupported(f"a pad of {len(flat)} values on {c.nd} spatial axes")
    if any(v < 0 for v in flat):
        raise Unsupported("negative padding (a crop)")
    flat += [0] * (2 * c.nd - len(flat))
    pairs = _pairs(flat, c.nd)
    if mode not in ("constant", "reflect", "replicate", "circular"):
        raise Unsupported(f"padding mode {mode}")
    return one("pad", pad_args(pairs, mode, value), c.x())


@module(nn.ZeroPad1d, nn.ZeroPad2d, nn.ZeroPad3d, nn.ConstantPad1d, nn.ConstantPad2d, nn.ConstantPad3d,
        nn.ReflectionPad1d, nn.ReflectionPad2d, nn.ReflectionPad3d, nn.ReplicationPad1d, nn.ReplicationPad2d,
        nn.ReplicationPad3d, nn.CircularPad1d, nn.CircularPad2d, nn.CircularPad3d)
def _pad_module(c: Call) -> Mapped:
    m = c.module
    name = _mapped_type(m).__name__
    mode = ("reflect" if name.startswith("Reflection") else "replicate" if name.startswith("Replication")
            else "circular" if name.startswith("Circular") else "constant")
    return _pad(c, m.padding, mode, getattr(m, "value", 0))


@module(nn.LocalResponseNorm)
def _lrn(c: Call) -> Mapped:
    m = c.module
    return one("lrn", {"size": m.size, "alpha": m.alpha, "beta": m.beta, "k": float(m.k)}, c.x())


# --------------------------------------------------------------------------------------------
# Function and method rules (methods are keyed "Tensor.name")


FUNCTIONS: dict[Any, Rule] = {}


function = rule_table(FUNCTIONS, "param_view")


class Alias(NamedTuple):
    """A node that is its input (x.contiguous()): no layer."""

    ref: Ref


@function(operator.add, operator.iadd, torch.add, "Tensor.add", "Tensor.add_", "Tensor.__add__")
def _add(c: Call) -> Mapped:
    bound = c.bind("input", "other", alpha=1)
    a, b = bound.get("input"), bound.get("other")
    if bound["alpha"] != 1:
        raise Unsupported("an add with alpha")
    x, p = (a, b) if isinstance(a, Ref) else (b, a)
    if isinstance(x, Ref) and isinstance(p, Param) and p.shape in (x.shape, (1, *x.shape)):
        # ViT's x + self.pos_embedding: a learned parameter of the sample's shape, added (emit counts it)
        _learned(c, p, "a position embedding")
        return one("pos_embed", {}, x)
    if not (isinstance(a, Ref) and isinstance(b, Ref)):
        raise Unsupported("adds a number or a parameter, not another activation")
    if a.shape != b.shape:
        raise Unsupported("a broadcasting add")
    return Mapped([("add", {})], [a, b])


@function(operator.mul, operator.imul, torch.mul, "Tensor.mul", "Tensor.mul_", "Tensor.__mul__")
def _mul(c: Call) -> Any:
    bound = c.bind("input", "other")
    a, b = bound.get("input"), bound.get("other")
    if isinstance(a, Ref) and isinstance(b, Ref):
        if len(a.shape) != len(b.shape):
            raise Unsupported("a product of tensors of different ranks")
        return Mapped([("mul", {})], [a, b])
    x, p = (a, b) if isinstance(a, Ref) else (b, a)
    if isinstance(x, Ref) and isinstance(p, Param):
        wanted = (x.shape[0],) + (1,) * (len(x.shape) - 1)
        if p.shape == wanted or p.shape == (1,) + wanted:
            return LayerScale(x, p)
        raise Unsupported(f"a product with a parameter of shape {list(p.shape)}")
    if isinstance(x, Ref) and _is_number(p):
        return one("scale", {"by": float(p)}, x)  # attention's scores * d ** -0.5, x * 0.5
    raise Unsupported("multiplies by something that is neither an activation, a parameter nor a number")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


@function(operator.truediv, operator.itruediv, torch.div, torch.true_divide, "Tensor.div", "Tensor.div_",
          "Tensor.__truediv__", "Tensor.true_divide")
def _div(c: Call) -> Mapped:
    """x / c for a number c: a product with 1 / c (one multiply per element, as PyTorch's
    division is one operation per element)."""
    bound = c.bind("input", "other", rounding_mode=None)
    x, d = bound.get("input"), bound.get("other")
    if not isinstance(x, Ref) or not _is_number(d) or d == 0 or bound["rounding_mode"] is not None:
        raise Unsupported("a division that is not of an activation by a nonzero number")
    return one("scale", {"by": 1 / float(d)}, x)


def _learned(c: Call, p: Param, what: str) -> None:
    """`p` must be a parameter: a buffer (a fixed sinusoidal table) is no learned tensor convcalc's kind counts."""
    if not _is_parameter(c.node.graph.owning_module, p.target):
        raise Unsupported(f"{what} that is a buffer ({p.target}), not a parameter (convcalc's counts a learned one)")


class LayerScale(NamedTuple):
    """x * gamma with gamma a [C, 1, ...] parameter (ConvNeXt): the layer_scale kind."""

    ref: Ref
    param: Param


@function(torch.cat, torch.concat, torch.concatenate)
def _cat(c: Call) -> Any:
    bound = c.bind("tensors", "dim", dim=0)
    tensors = bound.get("tensors")
    if (isinstance(tensors, (list, tuple)) and len(tensors) == 2 and isinstance(tensors[0], Param)
            and isinstance(tensors[1], Ref)):
        # ViT's torch.cat([self.class_token.expand(B, -1, -1), x], dim=1): a learned token in front
        token, x = tensors
        if len(x.shape) != 2 or c.dim(bound["dim"], x) != 1 or token.shape != (1, 1, x.shape[1]):
            raise Unsupported(f"concatenates a parameter of shape {list(token.shape)} (a class token is [1, 1, E], "
                              "in front of tokens [N, E] along dim 1)")
        _learned(c, token, "a class token")
        return one("cls_token", {}, x)
    if not isinstance(tensors, (list, tuple)) or not all(isinstance(t, Ref) for t in tensors):
        raise Unsupported("concatenates something that is not an activation")
    if c.dim(bound["dim"], tensors[0]) != 1:
        raise Unsupported(f"concatenation along dim {bound['dim']} (convcalc's concat is along the channels)")
    if len(tensors) == 1:
        return Alias(tensors[0])
    return Mapped([("concat", {})], list(tensors))


_ELEMENTWISE = {
    "relu": (F.relu, torch.relu, "Tensor.relu", F.relu_, torch.relu_, "Tensor.relu_"),
    "relu6": (F.relu6,),
    "silu": (F.silu,),
    "sigmoid": (torch.sigmoid, F.sigmoid, "Tensor.sigmoid", "Tensor.sigmoid_"),
    "tanh": (torch.tanh, F.tanh, "Tensor.tanh"),
    "hardswish": (F.hardswish,),
    "hardsigmoid": (F.hardsigmoid,),
    "mish": (F.mish,),
}
_KIND_OF = {target: kind for kind, targets in _ELEMENTWISE.items() for target in targets}


@function(*_KIND_OF, per_position=True)
def _elementwise(c: Call) -> Mapped:
    return one(_KIND_OF[c.node.target if c.node.op == "call_function" else f"Tensor.{c.node.target}"], {}, c.x())


@function(F.hardtanh, per_position=True)
def _hardtanh(c: Call) -> Mapped:
    bound = c.bind("input", "min_val", "max_val", min_val=-1.0, max_val=1.0)
    if (bound["min_val"], bound["max_val"]) != (0.0, 6.0):
        raise Unsupported("hardtanh other than relu6")
    return one("relu6", {}, c.x())


@function(F.leaky_relu, per_position=True)
def _leaky_function(c: Call) -> Mapped:
    slope = c.bind("input", "negative_slope", negative_slope=0.01)["negative_slope"]
    return one("leakyrelu", {"slope": slope} if slope != 0.01 else {}, c.x())


@function(F.elu, per_position=True)
def _elu_function(c: Call) -> Mapped:
    alpha = c.bind("input", "alpha", alpha=1.0)["alpha"]
    return one("elu", {"alpha": alpha} if alpha != 1.0 else {}, c.x())


@function(F.gelu, per_position=True)
def _gelu_function(c: Call) -> Mapped:
    approximate = c.bind("input", approximate="none")["approximate"]
    return one("gelu", {"approximate": approximate} if approximate != "none" else {}, c.x())


@function(F.softmax, torch.softmax, "Tensor.softmax")
def _softmax_function(c: Call) -> Mapped:
    return _softmax(c, "softmax", c.bind("input", "dim", dim=None)["dim"])


@function(F.log_softmax, torch.log_softmax, "Tensor.log_softmax")
def _log_softmax_function(c: Call) -> Mapped:
    return _softmax(c, "log_softmax", c.bind("input", "dim", dim=None)["dim"])


def _layer_norm_channels_last(mapper: Any, c: Call, x: Ref) -> Mapped:
    b = c.bind("input", "normalized_shape", "weight", "bias", "eps", weight=None, bias=None, eps=1e-5)
    mapped = _channel_ln(x, tuple(b["normalized_shape"]), b["weight"] is not None, b["bias"] is not None, b["eps"])
    mapper.read_params.update(p.target for p in (b["weight"], b["bias"]) if isinstance(p, Param))
    return mapped


@function(F.layer_norm, channels_last=_layer_norm_channels_last)
def _layer_norm_function(c: Call) -> Mapped:
    b = c.bind("input", "normalized_shape", "weight", "bias", "eps", weight=None, bias=None, eps=1e-5)
    x, normalized = c.x(), tuple(b["normalized_shape"])
    over = _ln_over(normalized, x)
    if b["weight"] is not None and b["bias"] is None:
        raise Unsupported("layer norm without a bias")
    if any(isinstance(p, Param) and p.shape != normalized for p in (b["weight"], b["bias"])):
        raise Unsupported("layer norm with weights of another shape")
    args: dict[str, Any] = {} if b["weight"] is not None else {"affine": False}
    if b["eps"] != 1e-5:
        args["eps"] = b["eps"]
    return one("ln", {**args, **over}, x)


@function(F.batch_norm)
def _batch_norm_function(c: Call) -> Mapped:
    """F.batch_norm with the module's running statistics (timm's BatchNormAct2d calls it)."""
    b = c.bind("input", "running_mean", "running_var", "weight", "bias", "training", "momentum", "eps",
               weight=None, bias=None, training=False, momentum=0.1, eps=1e-5)
    if b["training"] or not isinstance(b.get("running_mean"), Param) or not isinstance(b.get("running_var"), Param):
        raise Unsupported("batch norm without running statistics (it normalizes with the batch's at inference)")
    if (b["weight"] is None) != (b["bias"] is None):
        raise Unsupported("batch norm with a weight and no bias, or a bias and no weight")
    args: dict[str, Any] = {} if b["weight"] is not None else {"affine": False}
    if b["eps"] != 1e-5:
        args["eps"] = b["eps"]
    return one("bn", args, c.x())


def _linear_function_channels_last(mapper: Any, c: Call, x: Ref) -> Mapped:
    """F.linear over the channels of a channels-last view: a 1x1 conv."""
    b = c.bind("input", "weight", "bias", bias=None)
    weight = b.get("weight")
    if not isinstance(weight, Param) or len(weight.shape) != 2 or weight.shape[1] != x.shape[0]:
        raise Unsupported("a linear layer whose weight is not a parameter")
    return one("conv", {"out": weight.shape[0], "k": 1} if b["bias"] is not None
               else {"out": weight.shape[0], "k": 1, "bias": False}, x)


@function(F.linear, channels_last=_linear_function_channels_last)
def _linear_function(c: Call) -> Mapped:
    """F.linear(x, weight, bias) with the module's parameters (timm's Linear calls it)."""
    b = c.bind("input", "weight", "bias", bias=None)
    x, weight = c.x(), b.get("weight")
    if not isinstance(weight, Param) or len(weight.shape) != 2 or weight.shape[1] != x.shape[-1]:
        raise Unsupported("a linear layer whose weight is not a parameter")
    return one("linear", {"out": weight.shape[0]} if b["bias"] is not None else {"out": weight.shape[0], "bias": False},
               x)


@function(F.conv1d, F.conv2d, F.conv3d)
def _conv_function(c: Call) -> Mapped:
    """F.conv*d with a parameter as its weight (timm's Conv2dSame: F.pad, then F.conv2d)."""
    b = c.bind("input", "weight", "bias", "stride", "padding", "dilation", "groups", bias=None, stride=1, padding=0,
               dilation=1, groups=1)
    x, weight = c.x(), b.get("weight")
    if not isinstance(weight, Param) or len(weight.shape) != c.nd + 2:
        raise Unsupported("a convolution whose weight is not a parameter (computed in the forward pass)")
    if isinstance(b["padding"], str) and b["padding"] != "valid" and b["padding"] != "same":
        raise Unsupported(f"padding {b['padding']}")
    args: dict[str, Any] = {"out": weight.shape[0], "k": spec_value(list(weight.shape[2:]))}
    for key, value, default in (("s", b["stride"], 1), ("p", b["padding"], 0), ("d", b["dilation"], 1)):
        value = value if isinstance(value, str) else spec_value(_per_axis(value, c.nd))
        if value not in (default, "valid"):
            args[key] = value
    if b["groups"] != 1:
        args["groups"] = b["groups"]
    if b["bias"] is None:
        args["bias"] = False
    return one("conv", args, x)


@function(F.conv_transpose1d, F.conv_transpose2d, F.conv_transpose3d)
def _deconv_function(c: Call) -> Mapped:
    """F.conv_transpose*d with a parameter as its weight, [C_in, out / groups, *k]."""
    b = c.bind("input", "weight", "bias", "stride", "padding", "output_padding", "groups", "dilation", bias=None,
               stride=1, padding=0, output_padding=0, groups=1, dilation=1)
    x, weight = c.x(), b.get("weight")
    if not isinstance(weight, Param) or len(weight.shape) != c.nd + 2:
        raise Unsupported("a transposed convolution whose weight is not a parameter (computed in the forward pass)")
    args: dict[str, Any] = {"out": weight.shape[1] * b["groups"], "k": spec_value(list(weight.shape[2:]))}
    for key, default in (("stride", 1), ("padding", 0), ("output_padding", 0), ("dilation", 1)):
        value = spec_value(_per_axis(b[key], c.nd))
        if value != default:
            args[{"stride": "s", "padding": "p", "dilation": "d"}.get(key, key)] = value
    if b["groups"] != 1:
        args["groups"] = b["groups"]
    if b["bias"] is None:
        args["bias"] = False
    return one("deconv", args, x)


@function(F.dropout, F.dropout1d, F.dropout2d, F.dropout3d, F.alpha_dropout, F.feature_alpha_dropout,
          per_position=True)
def _dropout_function(c: Call) -> Mapped:
    p = c.bind("input", "p", p=0.5)["p"]
    return one("dropout", {"p": p} if p != 0.5 else {}, c.x())


def _flatten(c: Call, start: int, end: int) -> Mapped:
    x = c.x()
    rank = len(x.shape) + 1
    if start % rank == 1 and end % rank == rank - 1:
        return one("flatten", {}, x)
    return _reshape(c)


@function(torch.flatten, "Tensor.flatten", channels_last="flatten")
def _flatten_function(c: Call) -> Mapped:
    bound = c.bind("input", "start_dim", "end_dim", start_dim=0, end_dim=-1)
    return _flatten(c, bound["start_dim"], bound["end_dim"])


def _reshape(c: Call) -> Any:
    x, out = c.x(), c.out
    if out == x.shape:
        return Alias(x)
    if len(out) == 1 and len(x.shape) > 1:
        return one("flatten", {}, x)
    # any per-sample shape of the same size: heads [N, E] -> [N, H, d] and back, [C, H, W] -> [C, H·W]
    return one("reshape", {"shape": list(out)}, x)


@function("Tensor.view", "Tensor.reshape", torch.reshape, shuffle="end", channels_last="flatten", param_view=True)
def _view(c: Call) -> Any:
    x = c.x()
    out = c.out
    # ShuffleNet's channel shuffle: view [C, ...] as [g, C/g, ...], transpose(1, 2), view back.
    if (len(out) == len(x.shape) + 1 and 1 < out[0] < x.shape[0] and out[0] * out[1] == x.shape[0]
            and out[2:] == x.shape[1:]):
        return Pending(x, out[0], False)
    return _reshape(c)


@function("Tensor.expand", param_view=True)
def _expand(c: Call) -> Any:
    """self.class_token.expand(B, -1, -1) is still the parameter (the dispatcher's param_view); an
    activation broadcast to more positions is no kind of convcalc's."""
    raise Unsupported("an expand of an activation")


@function("Tensor.contiguous", shuffle="keep", channels_last="keep")
def _contiguous(c: Call) -> Any:
    return Alias(c.x())


@function("Tensor.mean", torch.mean)
def _mean(c: Call) -> Mapped:
    bound = c.bind("input", "dim", "keepdim", dim=None, keepdim=False)
    x, dims = c.x(), bound["dim"]
    dims = [dims] if isinstance(dims, int) else list(dims or [])
    if len(x.shape) < 2 or sorted(c.dim(d, x) for d in dims) != list(range(2, len(x.shape) + 1)):
        raise Unsupported(f"a mean over dims {dims} (a mean over every spatial axis is global average pooling)")
    if bound["keepdim"]:
        return one("gap", {}, x)
    return Mapped([("gap", {}), ("flatten", {})], [x])


@function(F.interpolate, F.upsample, F.upsample_nearest, F.upsample_bilinear)
def _interpolate(c: Call) -> Mapped:
    bound = c.bind("input", "size", "scale_factor", "mode", "align_corners", "recompute_scale_factor", "antialias",
                   size=None, scale_factor=None, mode="nearest", align_corners=None, antialias=False)
    if bound["antialias"]:
        raise Unsupported("antialiased interpolation")
    mode = bound["mode"]
    if c.node.target is F.upsample_bilinear:
        mode, bound["align_corners"] = "bilinear", True
    return _upsample(c, bound["size"], bound["scale_factor"], mode, bound["align_corners"])


@function(F.adaptive_avg_pool1d, F.adaptive_avg_pool2d, F.adaptive_avg_pool3d)
def _adaptive_avg_function(c: Call) -> Mapped:
    return _adaptive(c, "adaptive_avgpool")


@function(F.adaptive_max_pool1d, F.adaptive_max_pool2d, F.adaptive_max_pool3d)
def _adaptive_max_function(c: Call) -> Mapped:
    return _adaptive(c, "adaptive_maxpool", c.bind("input", "output_size", "return_indices",
                                                   return_indices=False)["return_indices"])


_WITH_INDICES = (F.max_pool1d_with_indices, F.max_pool2d_with_indices, F.max_pool3d_with_indices)


@function(F.max_pool1d, F.max_pool2d, F.max_pool3d, *_WITH_INDICES)
def _maxpool_function(c: Call) -> Mapped | WithIndices:
    b = c.bind("input", "kernel_size", "stride", "padding", "dilation", "ceil_mode", "return_indices",
               stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False)
    # F.max_pool2d(..., return_indices=True) is traced as max_pool2d_with_indices, which returns them whatever it is passed
    return _maxpool(c, b["kernel_size"], b["stride"], b["padding"], b["dilation"], b["ceil_mode"],
                    b["return_indices"] or c.node.target in _WITH_INDICES, None)


@function(F.max_unpool1d, F.max_unpool2d, F.max_unpool3d)
def _maxunpool_function(c: Call) -> Mapped:
    b = c.bind("input", "indices", "kernel_size", "stride", "padding", stride=None, padding=0)
    return _maxunpool(c, b["kernel_size"], b["stride"], b["padding"], None)


@function(F.avg_pool1d, F.avg_pool2d, F.avg_pool3d)
def _avgpool_function(c: Call) -> Mapped:
    b = c.bind("input", "kernel_size", "stride", "padding", "ceil_mode", "count_include_pad", "divisor_override",
               stride=None, padding=0, ceil_mode=False, count_include_pad=True, divisor_override=None)
    return _avgpool(c, b["kernel_size"], b["stride"], b["padding"], b["ceil_mode"], b["count_include_pad"],
                    b["divisor_override"], None)


@function(F.pad)
def _pad_function(c: Call) -> Mapped:
    b = c.bind("input", "pad", "mode", "value", mode="constant", value=None)
    return _pad(c, b["pad"], b["mode"], b["value"])


@function(F.pixel_shuffle)
def _pixel_shuffle_function(c: Call) -> Mapped:
    return one("pixel_shuffle", {"factor": c.bind("input", "upscale_factor")["upscale_factor"]}, c.x())


@function(F.pixel_unshuffle)
def _pixel_unshuffle_function(c: Call) -> Mapped:
    return one("pixel_unshuffle", {"factor": c.bind("input", "downscale_factor")["downscale_factor"]}, c.x())


@function(F.channel_shuffle, torch.channel_shuffle)
def _channel_shuffle_function(c: Call) -> Mapped:
    return one("channel_shuffle", {"groups": c.bind("input", "groups")["groups"]}, c.x())


@function(operator.getitem)
def _getitem(call: Call) -> Any:
    """x.chunk(2, 1)[0] (a split layer), a tuple's item, or x[:, a:b] (slice, split, crop)."""
    container, index = call.args[0], call.args[1]
    if isinstance(container, Chunks) and isinstance(index, int) and container.axis == 0:
        return Mapped([("split", {"parts": container.parts, "index": index % container.parts})], [container.ref])
    if isinstance(container, Chunks) and isinstance(index, int):
        # along another axis (q, k, v of a packed projection on tokens [N, 3E]): that axis swapped
        # with the first, the split, and back; views, as the chunk is (crop takes every spatial axis)
        swap = ("transpose", {"dim0": 1, "dim1": container.axis + 1})
        split = ("split", {"parts": container.parts, "index": index % container.parts})
        return Mapped([swap, split, swap], [container.ref])
    if isinstance(container, (tuple, list)) and isinstance(index, int):
        return Alias(container[index])
    if isinstance(container, Ref) and isinstance(index, (tuple, slice)):
        return _ranges(container, index if isinstance(index, tuple) else (index,))
    raise Unsupported("indexing or slicing a tensor")


@function("Tensor.chunk", torch.chunk)
def _chunk(c: Call) -> Chunks:
    b = c.bind("input", "chunks", "dim", dim=0)
    x = c.x()
    axis = c.dim(b["dim"], x) - 1
    if axis < 0 or x.shape[axis] % b["chunks"] or (axis > 0 and len(x.shape) < 2):
        raise Unsupported("chunks that are not equal parts of an axis other than the batch")
    return Chunks(x, b["chunks"], axis)


@function("Tensor.split", torch.split)
def _split(c: Call) -> Chunks:
    b = c.bind("input", "split_size_or_sections", "dim", dim=0)
    x, size = c.x(), b["split_size_or_sections"]
    sizes = list(size) if isinstance(size, (list, tuple)) else None
    if sizes is not None and len(set(sizes)) == 1:
        size = sizes[0]
    if c.dim(b["dim"], x) != 1 or not isinstance(size, int) or x.shape[0] % size:
        raise Unsupported("a split into parts that are not equal parts of the channels")
    return Chunks(x, x.shape[0] // size)


@function("Tensor.transpose", torch.transpose, shuffle="rule")
def _transpose(c: Call) -> Any:
    b = c.bind("input", "dim0", "dim1")
    x = b.get("input")
    if isinstance(x, Pending) and not x.transposed and sorted((b["dim0"], b["dim1"])) == [1, 2]:
        return x._replace(transposed=True)
    if not isinstance(x, Ref):
        raise Unsupported("a transpose of something that is not an activation")
    rank = len(x.shape) + 1
    return _swap(c, x, *sorted((b["dim0"] % rank, b["dim1"] % rank)))


def _swap(c: Call, x: Ref, i: int, j: int) -> Any:
    """Axes i < j of x swapped (PyTorch's numbering): nothing when they are one axis; the last two
    pending (Transposed: a product folds it into transpose_b, another reader gets the layer); any
    other two a `transpose` layer. The batch stays."""
    if i == j:
        return Alias(x)
    if i == 0:
        raise Unsupported("a transpose of the batch axis")
    if (i, j) == (len(x.shape) - 1, len(x.shape)):
        return Transposed(x, i, j, shape=c.out or ())
    return one("transpose", {"dim0": i, "dim1": j}, x)


@function("torchvision.ops.stochastic_depth.stochastic_depth", per_position=True)
def _stochastic_depth(c: Call) -> Mapped:
    """torchvision's stochastic depth (EfficientNet, ConvNeXt): the identity at inference; in
    training it drops whole samples of the residual branch."""
    b = c.bind("input", "p", "mode", "training", training=True)
    if b["training"] and b.get("p", 1) != 0:
        raise Unsupported("stochastic depth in training mode")
    return one("identity", {}, c.x())




def _last_first(nd: int) -> list[int]:
    return [0, *range(2, nd + 2), 1]


@function("Tensor.permute", torch.permute, channels_last="rule")
def _permute(c: Call) -> Any:
    x = c.args[0] if c.args else c.kwargs.get("input")
    dims = list(c.args[1:]) or c.kwargs.get("dims")
    if dims and len(dims) == 1 and isinstance(dims[0], (tuple, list)):
        dims = list(dims[0])
    dims = list(dims or [])
    # channels last of a feature map with spatial axes (ConvNeXt); of a [C, L] map it is a swap (tokens), below
    if isinstance(x, Ref) and not x.name.startswith("?") and len(x.shape) > 2 and dims == _last_first(len(x.shape) - 1):
        return ChannelsLast(x)
    if isinstance(x, ChannelsLast) and dims == [0, len(x.ref.shape), *range(1, len(x.ref.shape))]:
        return Alias(x.ref)
    if isinstance(x, Ref) and len(dims) == len(x.shape) + 1:
        moved = [i for i, d in enumerate(dims) if d % len(dims) != i]
        if not moved:
            return Alias(x)
        if len(moved) == 2 and dims[moved[0]] % len(dims) == moved[1]:  # two axes swapped: tokens, heads
            return _swap(c, x, *moved)
    raise Unsupported("a permute other than to channels-last and back, or of two axes")


# --------------------------------------------------------------------------------------------
# Attention


@function(operator.matmul, torch.matmul, torch.bmm, "Tensor.matmul", "Tensor.bmm", "Tensor.__matmul__",
          transposed=True)
def _matmul(c: Call) -> Mapped:
    """a @ b of two activations (q @ k.transpose(-2, -1): transpose_b), both of one rank, 2 axes or
    more per sample; a product with a parameter is a linear layer's, not this."""
    b = c.bind("input", "other")
    u, v = b.get("input"), b.get("other")
    if isinstance(u, Transposed):
        raise Unsupported("a product whose first factor is transposed (convcalc's matmul transposes the second)")
    args = {"transpose_b": True} if isinstance(v, Transposed) else {}
    v = v.ref if isinstance(v, Transposed) else v
    if not (isinstance(u, Ref) and isinstance(v, Ref)):
        raise Unsupported("a product with a parameter or a number, not of two activations")
    if len(u.shape) != len(v.shape) or len(u.shape) < 2:
        raise Unsupported(f"a product of [{'x'.join(map(str, u.shape))}] and [{'x'.join(map(str, v.shape))}] "
                          "(convcalc's matmul multiplies tensors of one rank, 2 axes or more per sample)")
    return Mapped([("matmul", args)], [u, v])


@function(F.scaled_dot_product_attention)
def _sdpa(c: Call) -> Mapped:
    """F.scaled_dot_product_attention(q, k, v, attn_mask, dropout_p, is_causal, scale): sdpa on
    q, k, v (and an activation mask). Any `scale`: the math path scales q and k by √scale, the same work."""
    b = c.bind("query", "key", "value", "attn_mask", "dropout_p", "is_causal", "scale", attn_mask=None,
               dropout_p=0.0, is_causal=False, scale=None, enable_gqa=False)
    q, k, v, mask = b["query"], b["key"], b["value"], b["attn_mask"]
    if not all(isinstance(t, Ref) for t in (q, k, v)):
        raise Unsupported("q, k or v is not an activation")
    if b["dropout_p"]:
        raise Unsupported(f"attention dropout {b['dropout_p']} (convcalc's sdpa has none)")
    if b["enable_gqa"]:
        raise Unsupported("grouped-query attention (enable_gqa)")
    if mask is not None and not isinstance(mask, Ref):
        raise Unsupported("a mask that is not an activation (a parameter or buffer: convcalc's sdpa reads a mask "
                          "layer)")
    return Mapped([("sdpa", {"causal": True} if b["is_causal"] else {})], [q, k, v, *([mask] if mask is not None else [])])


class FirstOf(NamedTuple):
    """A module returning a tuple whose first item is the layer (nn.MultiheadAttention's (output,
    weights)); the others are these values (None: the weights nothing reads)."""

    mapped: Mapped
    rest: tuple[Any, ...]


@module(nn.MultiheadAttention)
def _mha(c: Call) -> FirstOf:
    """nn.MultiheadAttention(E, heads, bias, add_bias_kv, batch_first=True) as self-attention,
    q = k = v one tensor of tokens [N, E], no masks, no attention dropout (or in eval mode). The
    module returns (output, weights): the dispatcher's tuple gives [0] the layer; reading the
    weights is unsupported (convcalc's mha counts no averaged weights)."""
    m = c.module
    b = c.bind("query", "key", "value", "key_padding_mask", "need_weights", "attn_mask", "average_attn_weights",
               "is_causal", key_padding_mask=None, need_weights=True, attn_mask=None, average_attn_weights=True,
               is_causal=False)
    if not m.batch_first:
        raise Unsupported("batch_first=False (tokens as [N, B, E]; convcalc's mha reads [B, N, E], batch_first=True)")
    q, k, v = b["query"], b["key"], b["value"]
    if not (isinstance(q, Ref) and q == k == v):
        raise Unsupported("cross-attention (q, k and v not one tensor; convcalc's mha is self-attention)")
    if b["key_padding_mask"] is not None or b["attn_mask"] is not None or b["is_causal"]:
        raise Unsupported("a mask (convcalc's mha takes none: sdpa takes one)")
    if not m._qkv_same_embed_dim:
        raise Unsupported("kdim or vdim other than embed_dim")
    if m.dropout and m.training:
        raise Unsupported(f"attention dropout {m.dropout} in training mode")
    if len(q.shape) != 2:
        raise Unsupported(f"input [{'x'.join(map(str, q.shape))}] (convcalc's mha reads tokens [N, E])")
    if m.add_zero_attn:
        raise Unsupported("add_zero_attn")
    if b["need_weights"] and any(user.target is not operator.getitem or user.args[1] != 0 for user in c.node.users):
        raise Unsupported("its attention weights read (need_weights; convcalc's mha gives the output alone)")
    args: dict[str, Any] = {"heads": m.num_heads}
    if m.in_proj_bias is None:
        args["bias"] = False
    if m.bias_k is not None:
        args["add_bias_kv"] = True
    return FirstOf(Mapped([("mha", args)], [q]), (None,))


# --------------------------------------------------------------------------------------------
# The mapping walk


def _describe(node: fx.Node, owner: nn.Module | None) -> str:
    """A node's operator as people write it: torch.nn.Conv2d, torch.cat, F.relu, Tensor.view."""
    if node.op == "call_module":
        cls = type(owner)
        if getattr(nn, cls.__name__, None) is cls:
            return f"torch.nn.{cls.__name__}"
        return f"{cls.__module__}.{cls.__qualname__}"
    if node.op == "call_method":
        return f"Tensor.{node.target}"
    target = node.target
    name = getattr(target, "__name__", str(target))
    module_name = getattr(target, "__module__", None) or ""
    if module_name in ("_operator", "operator"):
        return f"operator.{name}"
    if module_name.startswith("torch.nn.functional") or getattr(F, name, None) is target:
        return f"torch.nn.functional.{name}"
    if getattr(torch, name, None) is target:
        return f"torch.{name}"
    return f"{module_name}.{name}" if module_name else name


_NAME_PART = re.compile(r"[^A-Za-z0-9_-]")


class _Mapper(MapperBase):
    def __init__(self, module: fx.GraphModule, seen: dict[fx.Node, Any], shape: tuple[int, ...], source: str,
                 allow_unknown: bool) -> None:
        super().__init__(source, allow_unknown)
        self.module = module
        self.seen = seen
        self.shape = shape
        self.nd = len(shape) - 1
        self.values: dict[fx.Node, Any] = {}
        self.called: dict[str, str] = {}  # module path -> the layer its first call made (a second call shares it)
        self.owners: dict[int, tuple[str, str, str]] = {}  # id(parameter) -> (layer, tensor, kind) holding it first
        self.tensor_ids: dict[str, int] = {}  # parameter path -> id of its tensor before the run (meta breaks ties)
        self.read_params: set[str] = set()
        self.views: dict[str, Ref] = {}  # channels-last views made real by an unsupported reader
        self.swapped: dict[int, Ref] = {}  # id(Transposed) -> its transpose layer, made for a reader that does not fold it
        self.root: nn.Module = module  # the traced model itself, for the modules a function runs in
        self.fixed: list[Any] = []  # per forward argument after the input: its default, or _NOT_FIXED
        self.weights: dict[str, list[Reparametrized]] = {}  # module path -> its pruned and parametrized tensors
        self.pruned: list[tuple[str, str, int, int]] = []
        self.parametrized: list[tuple[str, str, tuple[str, ...], int, int, int]] = []

    def counts(self, call: Call, layer: str | None) -> tuple[int, int]:
        """A module's parameters and buffers as its layer counts them: a pruned or parametrized tensor
        as the dense tensor it computes (the mask and the parametrization's own are stated, for `layer`)."""
        params = sum(p.numel() for p in call.module.parameters())
        buffers = sum(b.numel() for b in call.module.buffers())
        for w in self.weights.get(str(call.node.target), ()):
            params += w.size - w.params
            buffers -= w.buffers
            if layer is not None and w.zeros is not None:
                self.pruned.append((layer, w.tensor, w.zeros, w.buffers))
            elif layer is not None:
                self.parametrized.append((layer, w.tensor, w.names, w.params, w.buffers, w.size))
        return params, buffers

    def run(self) -> list[Layer]:
        output: Any = None
        placeholders = seen_placeholders = 0
        for node in self.module.graph.nodes:
            if node.op == "placeholder":
                position = seen_placeholders
                seen_placeholders += 1
                if position and position - 1 < len(self.fixed) and self.fixed[position - 1] is not _NOT_FIXED:
                    self.values[node] = self.fixed[position - 1]  # an optional argument at its default
                    continue
                placeholders += 1
                if placeholders > 1:
                    raise ConvcalcError(f"the model's forward takes more than one input ('{node.target}'); convcalc "
                                        "imports models with one input tensor", file=self.source)
                self.values[node] = Ref("input", tuple(self.shape))
            elif node.op == "get_attr":
                seen = self.seen.get(node)
                self.values[node] = Param(node.target, seen.shape) if isinstance(seen, TensorInfo) else seen
            elif node.op == "output":
                output = fx.node.map_arg(node.args[0], lambda n: self.values[n])
            else:
                self.values[node] = self.call(node)
        self.check_mapped()
        return self.finish(output)

    # the spec's `outputs:` where the model returns several tensors: (name, layer), and whether
    # they are named (a dict, a namedtuple, or nested) rather than a flat tuple or list
    outputs: tuple[tuple[str, str], ...] = ()
    outputs_named = False

    def finish(self, output: Any) -> list[Layer]:
        refs = _refs(output)
        if not refs:
            raise ConvcalcError("the model returns no tensor", file=self.source)
        if len(refs) > 1:
            self.outputs, self.outputs_named = self.several(output)
            return self.layers
        out = refs[0]
        if out.name == "input" or not self.layers:
            raise ConvcalcError("the model has no layers: it returns its input", file=self.source)
        if self.layers[-1].name != out.name:
            at = next(i for i, layer in enumerate(self.layers) if layer.name == out.name)
            if any(out.name in layer.inputs for layer in self.layers[at + 1:]):
                raise ConvcalcError(f"the model returns '{out.name}', which later layers read; a convcalc spec's "
                                    "output is its last layer", file=self.source)
            self.layers.append(self.layers.pop(at))
        return self.layers

    def several(self, output: Any) -> tuple[tuple[tuple[str, str], ...], bool]:
        """A model's several outputs as a spec's `outputs:`: a flat tuple or list of tensors is a
        list of layers; a dict (string keys), a namedtuple, or a tuple holding those (one level of
        nesting) is named, each output by its path of keys and positions: `aux`, `0`, `heads.boxes`."""
        def items(value: Any) -> list[tuple[str, Any]]:
            if isinstance(value, dict):
                bad = next((k for k in value if not isinstance(k, str)), None)
                if bad is not None:
                    raise ConvcalcError(f"the model returns a dict with the key {bad!r}; convcalc names outputs by "
                                        "string keys", file=self.source)
                return list(value.items())
            fields = getattr(value, "_fields", None)
            return list(zip(fields, value)) if fields else [(str(i), v) for i, v in enumerate(value)]

        flat = isinstance(output, (tuple, list)) and not hasattr(output, "_fields") and \
            all(isinstance(v, Ref) or not _refs(v) for v in output)
        found: list[tuple[str, Ref]] = []
        for key, value in items(output):
            if isinstance(value, Ref):  # a NamedTuple itself: before the containers
                found.append((key, value))
            elif isinstance(value, (tuple, list, dict)):
                for inner, leaf in items(value):
                    if _refs(leaf) and not isinstance(leaf, Ref):
                        raise ConvcalcError(f"the model returns tensors nested more than two levels deep (in "
                                            f"'{key}.{inner}'); convcalc maps a tuple, list or dict of tensors, or "
                                            "one of those holding more", file=self.source)
                    if isinstance(leaf, Ref):
                        found.append((f"{key}.{inner}", leaf))
        pairs: list[tuple[str, str]] = []
        seen: dict[str, str] = {}
        for key, ref in found:
            name = ref.name if flat else key
            if ref.name == "input":
                raise ConvcalcError(f"the model returns its input as output {key}; a convcalc spec's outputs are "
                                    "layers", file=self.source)
            if ref.name in seen:
                raise ConvcalcError(f"the model returns the same tensor ('{ref.name}') as outputs {seen[ref.name]} "
                                    f"and {key}; a convcalc spec's outputs are different layers", file=self.source)
            seen[ref.name] = key
            pairs.append((name, ref.name))
        return tuple(pairs), not flat

    # -- one node -------------------------------------------------------------------------------

    def call(self, node: fx.Node) -> Any:
        seen = self.seen.get(node)
        if not _has_tensor(seen):
            return seen  # shape arithmetic (x.size(0), len(...)): a value, no layer
        owner = self.module.get_submodule(node.target) if node.op == "call_module" else None
        args = fx.node.map_arg(node.args, lambda n: self.values[n])
        kwargs = fx.node.map_arg(node.kwargs, lambda n: self.values[n])
        what = _describe(node, owner)
        base = self.base(node)
        out = None
        if isinstance(seen, TensorInfo):
            out = seen.shape[1:]
        if node.op == "call_module":
            mapped = _mapped_type(owner)
            rule = MODULES[mapped] if mapped is not None else NO_RULE
        elif node.op == "call_method":
            rule = FUNCTIONS.get(f"Tensor.{node.target}", NO_RULE)
        else:
            found = FUNCTIONS.get(node.target) if _hashable(node.target) else None
            rule = found or FUNCTIONS.get(what, NO_RULE)  # a function of another package (torchvision.ops), by name
        call = Call(node, what, owner, tuple(args), dict(kwargs), out, self.nd)
        try:
            if isinstance(seen, TensorInfo) and seen.shape[:1] != (BATCH,):
                raise Unsupported("it changes the batch dimension")
            pending = [v for v in _flat(args) if isinstance(v, Pending)]
            if pending:  # the middle of a channel shuffle: only the steps its rules declare may read it
                if rule.shuffle == "keep":
                    return pending[0]
                if rule.shuffle == "rule":
                    return rule.fn(call)
                if rule.shuffle == "end":
                    return self.end_shuffle(call, pending[0], base)
                raise Unsupported("a view of the channels as two axes")
            if rule.param_view and args and isinstance(args[0], Param) and isinstance(seen, TensorInfo):
                return Param(args[0].target, seen.shape)  # gamma.reshape(1, -1, 1, 1): still the parameter
            if not rule.transposed and any(isinstance(v, Transposed) for v in _flat((args, kwargs))):
                # a pending transpose read by a rule that does not fold it: the transpose layer first
                args, kwargs = self.transposes(args), self.transposes(kwargs)
                call = call._replace(args=tuple(args), kwargs=dict(kwargs))
            views = [v for v in _flat((args, kwargs)) if isinstance(v, ChannelsLast)]
            if views:
                return self.channels_last(call, rule, views[0], base)
            if rule.fn is None:
                raise Unsupported("")
            try:
                result = rule.fn(call)
            except (TypeError, ValueError, IndexError, KeyError, AttributeError) as exc:
                # arguments of a form no rule expects (a user's own code can pass anything):
                # listed as unsupported, never a traceback
                raise Unsupported(f"arguments convcalc cannot read ({type(exc).__name__})") from None
            if isinstance(result, Alias):
                return result.ref
            if isinstance(result, (ChannelsLast, Transposed)):
                return result._replace(base=base, what=what, shape=out)
            if isinstance(result, FirstOf):  # (the layer's value, the other items)
                return (self.emit(call._replace(out=seen[0].shape[1:]), result.mapped, base), *result.rest)
            if isinstance(result, (Chunks, Pending)):
                return result
            if isinstance(result, LayerScale):
                return self.layer_scale(call, result, base)
            if isinstance(result, WithIndices):  # (values, indices): the pool's layer, then its positions
                ref = self.emit(call._replace(out=seen[0].shape[1:]), result.mapped, base)
                return (ref, Indices(ref.name, result.window))
            return self.emit(call, result, base)
        except Unsupported as exc:
            return self.unknown(call, str(exc), base, seen)

    def base(self, node: fx.Node) -> str:
        """The layer name: the module path for a module, the enclosing module's path and the
        operator for a function (`layer1.0.add`); a second call of a module gets `_1`."""
        if node.op == "call_module":
            path = str(node.target)
        elif node.target is operator.getitem and isinstance(node.args[0], fx.Node) and isinstance(node.args[1], int):
            index = node.args[1]  # x.chunk(2, 1)[0] -> chunk.0; [-1] -> chunk.last (a name part is a word)
            path = f"{self.base(node.args[0])}.{index if index >= 0 else 'last' if index == -1 else f'last{-index}'}"
        else:
            stack = node.meta.get("nn_module_stack") or {}
            scope = list(stack.values())[-1][0] if stack else ""
            op = node.target if node.op == "call_method" else getattr(node.target, "__name__", "op")
            op = str(op).strip("_") or "op"
            path = f"{scope}.{op}" if scope else op
            try:  # the model's own module (the GraphModule keeps only what the graph calls or reads)
                owner = self.root.get_submodule(scope) if scope else None
            except AttributeError:
                owner = None
            if isinstance(owner, (nn.modules.conv._ConvNd, nn.Linear)):
                # a conv or linear module with its own forward (timm's Conv2dSame: F.pad, F.conv2d):
                # its weighted operator is the module, the others are named beside it (conv_pad)
                weight = node.args[1] if len(node.args) > 1 else node.kwargs.get("weight")
                mine = isinstance(weight, fx.Node) and weight.op == "get_attr" and weight.target == f"{scope}.weight"
                path = scope if mine else f"{scope}_{op}"
        parts = [_NAME_PART.sub("_", part) or "_" for part in path.split(".")]
        return ".".join(parts)

    def emit(self, call: Call, mapped: Mapped, base: str) -> Ref:
        params = buffers = None
        kind, args = mapped.layers[-1]
        tensors: list[torch.Tensor] = []
        shares: tuple[tuple[str, str], ...] = ()
        again = None
        if call.module is not None:
            tensors = [n for n, _ in call.module.named_parameters(prefix=str(call.node.target), remove_duplicate=False)]
            again = self.called.get(str(call.node.target))
            if again is not None and (tensors or list(call.module.buffers())):
                shares, params, buffers, tensors = (("*", again),), 0, 0, []  # the same module again
            elif str(call.node.target) in self.weights:
                # pruned or parametrized: the dense tensors it computes (docs/import.md: ties of such
                # tensors are not followed)
                params, buffers = self.counts(call, None)
                tensors = []
            else:
                shares, params = self.tied(tensors, kind, args)
                buffers = sum(b.numel() for b in call.module.buffers())
        else:  # a function reading parameters (F.conv2d(x, self.weight)): its own count is convcalc's
            tensors = [v.target for v in _flat((call.args, call.kwargs))
                       if isinstance(v, Param) and _is_parameter(self.module, v.target)]
            shares, _ = self.tied(tensors, kind, args)
        last = len(mapped.layers) - 1  # the layer that gives the value, and holds the module's tensors
        name = self.chain(mapped.layers, tuple(ref.name for ref in mapped.inputs), base, call.what,
                          lambda i, _kind, _args: (call.out, params, buffers, shares) if i == last else
                          (None, None, None, ()))
        if call.module is not None:
            if again is None:
                self.counts(call, name)  # its pruned and parametrized tensors, stated for the layer that counts them
            self.called.setdefault(str(call.node.target), name)
        shared = {tensor for tensor, _ in shares}
        for tensor, path in zip(tensor_names(kind, args, len(tensors)), tensors):
            if tensor not in shared:
                self.owners.setdefault(self.tensor_ids[path], (name, tensor, kind))
        return Ref(name, call.out)

    def tied(self, tensors: list[str], kind: str, args: dict[str, Any]) -> tuple[tuple[tuple[str, str], ...], int]:
        """The tensors (`tensors`: their paths in the model) of a layer an earlier layer already
        holds (`conv2.weight = conv1.weight`), as `shares:` pairs, and the parameters left that are
        its own: PyTorch's parameters() yields a tied tensor once, and so does the spec."""
        pairs, own = [], 0
        for tensor, path in zip(tensor_names(kind, args, len(tensors)), tensors):
            owner = self.owners.get(self.tensor_ids[path])
            if owner is None:
                own += self.module.get_parameter(path).numel()
                continue
            layer, theirs, their_kind = owner
            if theirs != tensor or their_kind != kind:
                raise Unsupported(f"its {tensor} is {layer}'s {theirs} (a {their_kind}): convcalc's shares: ties "
                                  "a tensor of one name between layers of one kind")
            pairs.append((tensor, layer))
        return tuple(pairs), own

    def channels_last(self, call: Call, rule: Rule, view: ChannelsLast, base: str) -> Any:
        """An operator reading a channels-last view, as its rule declares: the view kept (`keep`), the
        rule reading it (`rule`: the permute back), the rule's channels-last form or a per-position
        rule on the channels-first tensor (then still a view), or a flatten of it; else unsupported."""
        if rule.channels_last == "keep":
            return view
        if rule.channels_last == "rule":
            result = rule.fn(call)
            return result.ref if isinstance(result, Alias) else result
        x = view.ref
        if len([v for v in _flat((call.args, call.kwargs)) if isinstance(v, (Ref, ChannelsLast))]) != 1:
            raise Unsupported("an operator on a channels-last view and another tensor")
        out = (call.out[-1], *call.out[:-1]) if call.out else None
        first = call._replace(args=(x, *call.args[1:]), out=out)
        if callable(rule.channels_last):
            mapped = rule.channels_last(self, call, x)
        elif rule.per_position:
            mapped = rule.fn(first)
        elif rule.channels_last == "flatten" and call.out == (math.prod(x.shape),):
            # flattening the channels-last view (Keras' order): the same values, the same count
            return self.emit(call._replace(args=(x,), kwargs={}), one("flatten", {}, x), base)
        else:
            raise Unsupported("an operator on a channels-last view (after a permute)")
        return ChannelsLast(self.emit(first, mapped, base))

    def transposes(self, value: Any) -> Any:
        """`value` (args or kwargs) with each pending transpose made its `transpose` layer, once per transpose."""
        if isinstance(value, Transposed):
            done = self.swapped.get(id(value))
            if done is None:
                name = self.chain([("transpose", {"dim0": value.dim0, "dim1": value.dim1})], (value.ref.name,),
                                  value.base, value.what, lambda *_: (value.shape, None, None, ()))
                done = self.swapped[id(value)] = Ref(name, value.shape)
            return done
        if isinstance(value, list):  # fx's immutable_list too
            return [self.transposes(v) for v in value]
        if isinstance(value, tuple) and not hasattr(value, "_fields"):  # not a Ref, Param or other value
            return tuple(self.transposes(v) for v in value)
        if isinstance(value, dict):
            return {k: self.transposes(v) for k, v in value.items()}
        return value

    def layer_scale(self, call: Call, scale: LayerScale, base: str) -> Ref:
        if scale.param.target in self.read_params:
            raise Unsupported("a parameter read twice (shared weights)")
        self.read_params.add(scale.param.target)
        name = self.unique(base)
        self.layers.append(Layer(name, "layer_scale", {}, (scale.ref.name,), call.what, call.out,
                                 scale.ref.shape[0], 0))
        return Ref(name, call.out)

    def end_shuffle(self, call: Call, pending: Pending, base: str) -> Ref:
        if not pending.transposed or call.out != pending.ref.shape:
            raise Unsupported("a view of the channels as two axes")
        name = self.unique(base)
        self.layers.append(Layer(name, "channel_shuffle", {"groups": pending.groups}, (pending.ref.name,),
                                 "channel shuffle (view, transpose, view)", call.out))
        return Ref(name, call.out)

    def materialize(self, view: ChannelsLast) -> Ref:
        """A channels-last view read by an operator convcalc cannot map: its permute is unsupported
        too (an opaque layer with allow_unknown), once per view."""
        done = self.views.get(view.base)
        if done is not None:
            return done
        what = f"{view.what} (a channels-last view read by an operator convcalc cannot map)"
        if not self.allow_unknown:
            self.listed(what, view.base)
            ref = Ref(f"?{view.base}", view.shape)
        else:
            name = self.unique(view.base)
            self.layers.append(Layer(name, "opaque", {"shape": list(view.shape), "op": view.what}, (view.ref.name,),
                                     view.what, view.shape, 0, 0))
            ref = Ref(name, view.shape)
        self.views[view.base] = ref
        return ref

    def unknown(self, call: Call, reason: str, base: str, seen: Any) -> Any:
        """An operator no rule maps: listed, or with allow_unknown an opaque layer per tensor it makes."""
        views = {id(v): v for v in _flat((call.args, call.kwargs)) if isinstance(v, ChannelsLast)}
        if views:  # the permute that made a view is then a layer too: listed, or an opaque layer
            made = {key: self.materialize(view) for key, view in views.items()}
            swap = lambda v: made[id(v)] if isinstance(v, ChannelsLast) else v  # noqa: E731
            call = call._replace(args=tuple(swap(v) for v in call.args),
                                 kwargs={k: swap(v) for k, v in call.kwargs.items()})
        what = call.what + (f" ({reason})" if reason else "")
        self.listed(what, base)
        outputs = [seen] if isinstance(seen, TensorInfo) else [v for v in _flat(seen) if isinstance(v, TensorInfo)]
        if not self.allow_unknown:
            refs = [Ref(f"?{base}", info.shape[1:]) for info in outputs]
            return refs[0] if isinstance(seen, TensorInfo) else _rebuild(seen, iter(refs))
        del self.unsupported[what][-1]
        if not self.unsupported[what]:
            del self.unsupported[what]
        inputs = tuple(dict.fromkeys(ref.name for ref in _refs((call.args, call.kwargs)))) or ("input",)
        params = buffers = 0
        if call.module is not None:
            params, buffers = self.counts(call, base)
        for value in _flat((call.args, call.kwargs)):
            if isinstance(value, Param) and value.target not in self.read_params:
                self.read_params.add(value.target)
                tensor = self.module.get_parameter(value.target) if _is_parameter(self.module, value.target) else None
                if tensor is not None:
                    params += tensor.numel()
                else:
                    buffers += _numel(value.shape)
        refs = []
        for i, info in enumerate(outputs):
            name = self.unique(base)
            shape = info.shape[1:]
            if info.shape[:1] != (BATCH,):
                raise ConvcalcError(f"cannot import {call.what} even as an opaque layer: it changes the batch "
                                    "dimension", file=self.source, layer=base)
            args: dict[str, Any] = {"shape": list(shape) or [1], "op": call.what}
            if i == 0 and params:
                args["params"] = params
            if i == 0 and buffers:
                args["buffers"] = buffers
            kind = "opaque_merge" if len(inputs) > 1 else "opaque"
            self.layers.append(Layer(name, kind, args, inputs, call.what, shape,
                                     params if i == 0 else 0, buffers if i == 0 else 0))
            refs.append(Ref(name, shape))
        return refs[0] if isinstance(seen, TensorInfo) else _rebuild(seen, iter(refs))


def _ranges(x: Ref, index: tuple[Any, ...]) -> Any:
    """x[:, a:b], x[:, :, :-k], x[..., a:b, c:d]: a range of positions on each axis (`...` for the
    axes it skips, the batch kept whole), as the layers `slice_layers` gives (slice, split, crop);
    the whole range is x itself."""
    if (len(index) == 2 and index[0] == slice(None) and type(index[1]) is int and len(x.shape) >= 2
            and -x.shape[0] <= index[1] < x.shape[0]):
        # x[:, 0]: ViT's class token, one position of the first axis with that axis dropped
        at = index[1] % x.shape[0]
        rest = x.shape[1:]
        drop = ("flatten", {}) if len(rest) == 1 else ("reshape", {"shape": list(rest)})
        return Mapped([*slice_layers(x.shape, [(at, at + 1, 1), *((0, n, 1) for n in rest)]), drop], [x])
    if any(not isinstance(v, slice) and v is not Ellipsis for v in index):
        raise Unsupported("indexing a tensor by other than ranges (an integer, None or a tensor drops or adds "
                          "an axis)")
    rank = len(x.shape) + 1
    if Ellipsis in index:
        at = index.index(Ellipsis)
        index = index[:at] + (slice(None),) * (rank - len(index) + 1) + index[at + 1:]
    bounds = [v for s in index if isinstance(s, slice) for v in (s.start, s.stop, s.step)]
    if Ellipsis in index or len(index) > rank or any(v is not None and type(v) is not int for v in bounds):
        raise Unsupported("a slice convcalc cannot read (more than one `...`, more ranges than axes, or bounds "
                          "that are not whole numbers)")
    index = index + (slice(None),) * (rank - len(index))
    if (index[0].start or 0, index[0].stop, index[0].step or 1) != (0, None, 1):  # x[:1] is not x at batch 2
        raise Unsupported("a slice of the batch axis")
    layers = slice_layers(x.shape, [s.indices(n) for s, n in zip(index[1:], x.shape)])
    return Mapped(layers, [x]) if layers else Alias(x)


def _hashable(target: Any) -> bool:
    try:
        hash(target)
    except TypeError:
        return False
    return True


def _is_parameter(module: nn.Module, target: str) -> bool:
    try:
        module.get_parameter(target)
    except AttributeError:
        return False
    return True


def _numel(shape: tuple[int, ...]) -> int:
    n = 1
    for v in shape:
        n *= v
    return n


def _flat(value: Any) -> list[Any]:
    if isinstance(value, (tuple, list)) and not isinstance(value, (Ref, Param, Chunks, Pending, ChannelsLast, Transposed,
                                                                    TensorInfo)):
        return [v for item in value for v in _flat(item)]
    if isinstance(value, dict):
        return [v for item in value.values() for v in _flat(item)]
    return [value]


def _refs(value: Any) -> list[Ref]:
    return [v for v in _flat(value) if isinstance(v, Ref)]


def _rebuild(value: Any, refs: Any) -> Any:
    if isinstance(value, TensorInfo):
        return next(refs)
    if isinstance(value, (tuple, list)):
        return tuple(_rebuild(v, refs) for v in value)
    if isinstance(value, dict):
        return {k: _rebuild(v, refs) for k, v in value.items()}
    return value
