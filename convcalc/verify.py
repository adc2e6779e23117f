"""Cross-check convcalc against what PyTorch really does, layer by layer.

For each layer of a spec, convcalc's numbers are compared, under each tool's own convention,
with:

- **torch**: the output shape seen by a forward hook on the built module (batch included) and the
  module's real `parameters()` and `buffers()` counts;
- **fvcore**: `FlopCountAnalysis(...).by_module()`, which counts one per multiply-add of conv and
  linear (bias ignored), 2 per element for eval batch norm, and a few more ops (each registry
  record's `fvcore` rule says what fvcore should report); the operators fvcore does not support
  are collected per layer and reported, never dropped;
- **flop_counter**: `torch.utils.flop_counter.FlopCounterMode`, which counts 2 per multiply-add of
  conv, transposed conv and linear and nothing else: 2 x convcalc's MACs (each record's
  `flop_counter` rule; the FFT convolution has none).

fvcore's tracer needs real tensors, so it runs on the CPU. Shapes, parameters and FlopCounterMode
run on that same CPU model when the network is small (up to CPU_PASS_MACS), and otherwise on the
meta device when they can (no memory is allocated, so a 4K input or a huge model verifies in a
blink); the result says which. The spec is analysed once and the model built once per device.
torch and fvcore are imported here: import this module lazily.
"""

from __future__ import annotations

import contextlib
import gc
import io
import logging
import warnings
from typing import Any, Iterator, NamedTuple

import torch
from torch.overrides import TorchFunctionMode

from .analysis import analyze
from .graph import walk
from .report import SCHEMAS, Identity, Report
from .spec.model import Spec
from .torch_bridge import build, example_input, module_path


AGREEMENT_METRICS = ("shape", "params", "buffers", "fvcore", "flop_counter")


class Agreement(NamedTuple):
    """Whether convcalc's value of one metric agrees with what one tool reported."""

    metric: str  # one of AGREEMENT_METRICS
    convcalc: Any  # convcalc's value under the tool's convention
    actual: Any  # what the tool reported (None: the tool did not run)

    @property
    def ok(self) -> bool:
        return self.actual is None or self.convcalc == self.actual

    def to_dict(self) -> dict[str, Any]:
        return {"metric": self.metric, "convcalc": _jsonable(self.convcalc), "actual": _jsonable(self.actual),
                "ok": self.ok}


class LayerCheck(NamedTuple):
    index: int
    name: str
    kind: str
    checks: tuple[Agreement, ...]
    unsupported: dict[str, int]  # fvcore's unsupported operators in this layer -> times seen
    macs: int  # convcalc's own MACs (docs/costs.md), shown beside the tools' counts

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)

    def check(self, metric: str) -> Agreement | None:
        return next((c for c in self.checks if c.metric == metric), None)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "ok": self.ok, "macs": self.macs,
                "checks": [c.to_dict() for c in self.checks], "fvcore_unsupported": self.unsupported}


class Verification(NamedTuple):
    identity: Identity  # which spec, at which arguments and input
    batch: int
    layers: tuple[LayerCheck, ...]
    total: tuple[Agreement, ...]
    notes: tuple[str, ...]
    versions: dict[str, str]
    macs: int  # convcalc's total MACs
    # a spec with `outputs:`: each output's shape against what the built model returned under its name
    outputs: tuple[tuple[str, Agreement], ...] = ()

    @property
    def ok(self) -> bool:
        return (all(layer.ok for layer in self.layers) and all(check.ok for check in self.total)
                and all(check.ok for _, check in self.outputs))

    @property
    def unsupported(self) -> dict[str, int]:
        total: dict[str, int] = {}
        for layer in self.layers:
            for op, n in layer.unsupported.items():
                total[op] = total.get(op, 0) + n
        return dict(sorted(total.items()))

    def to_dict(self) -> dict[str, Any]:
        return {"schema": SCHEMAS["verify"], **self.identity.named(), "batch": self.batch, "ok": self.ok,
                "macs": self.macs,
                "layers": [layer.to_dict() for layer in self.layers],
                "total": [c.to_dict() for c in self.total],
                "fvcore_unsupported": self.unsupported, "notes": list(self.notes), "versions": self.versions,
                **self.identity.measured_at(),
                **({"outputs": [{"name": name, **check.to_dict()} for name, check in self.outputs]}
                   if self.outputs else {})}


def _jsonable(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


class _Run(NamedTuple):
    shapes: dict[str, tuple[int, ...]]
    params: dict[str, int]
    buffers: dict[str, int]
    flops: dict[str, int]  # FlopCounterMode per layer, and "" for the whole model
    total_params: int = 0  # the model's parameters() and buffers(): each tensor once, as torch counts
    total_buffers: int = 0
    returned: dict[str, Any] = {}  # the shape of each output the model returned, by the spec's output name


# Up to this many MACs (batch included) a network runs on the CPU model fvcore traces anyway,
# rather than on the meta device, and on one thread: the meta device's Python kernels import
# sympy on first use (torch._check), about 0.5 s, about what one thread takes for 10 G MACs; and
# below that a thread pool hardly pays off, while on a busy machine its threads spin waiting for
# each other (ResNet-50's passes took 3-5 s instead of 0.3-0.4 s, 2 threads on 2 shared cores).
CPU_PASS_MACS = 10**10


class _ZeroInit(TorchFunctionMode):
    """Every torch.nn.init call fills zeros instead of drawing random numbers: verify compares
    shapes and counts, never values, and drawing ResNet-50's 25 M random weights took as long as
    running it. (torch.nn.init's functions can be overridden through __torch_function__; the
    tensor they fill is their first argument.)"""

    def __torch_function__(self, func: Any, types: Any, args: tuple = (), kwargs: Any = None) -> Any:
        kwargs = kwargs or {}
        if getattr(func, "__module__", None) == "torch.nn.init":
            with torch.no_grad():
                return (args[0] if args else kwargs["tensor"]).zero_()
        return func(*args, **kwargs)


def _model(spec: Spec, report: Report, batch: int, device: str) -> tuple[Any, torch.Tensor]:
    """The built network (weights all zero) and a random example input on `device`."""
    with torch.device(device), _ZeroInit():
        model = build(spec, report)
    return model, example_input(spec, batch, device=device)


@contextlib.contextmanager
def _old_objects_set_aside() -> Iterator[None]:
    """The garbage collector leaves the objects that exist now alone for a while.

    torch and fvcore leave about 170,000 objects that live until exit; building, running and
    tracing a model allocates enough to make the collector walk them all (0.1 s at a time in a
    ResNet-50 verify) to find next to nothing. gc.freeze() sets them aside, while new garbage is
    still collected; gc.unfreeze() puts them back after. Objects the caller froze are left as
    they were (nothing is set aside then)."""
    if gc.get_freeze_count():
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


@contextlib.contextmanager
def _one_thread() -> Iterator[None]:
    """torch on one CPU thread for a while; the caller's setting is restored after."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


@contextlib.contextmanager
def _flop_counter() -> Iterator[Any]:
    """torch's FlopCounterMode, without the import of torch._dynamo that its first use triggers.

    Its dispatch method is wrapped by torch._disable_dynamo, which imports torch._dynamo (about
    a second: sympy, inductor, distributed) on the first call, only so that torch.compile does
    not trace into the method. Nothing here compiles, so while the counter runs, the method is
    marked with the attribute in which the wrapper caches its work; the mark is removed
    afterwards, so that a later torch.compile in this process gets the real wrapper. Should torch
    rename the attribute, the import merely happens again, with the same counts."""
    from torch.utils import flop_counter

    method = getattr(flop_counter, "_FlopCounterMode", object).__dict__.get("__torch_dispatch__")
    raw = getattr(method, "__wrapped__", None)
    marked = raw is not None and not hasattr(raw, "__dynamo_disable")
    if marked:
        setattr(raw, "__dynamo_disable", raw)
    try:
        with flop_counter.FlopCounterMode(display=False) as counter:
            yield counter
    finally:
        if marked:
            delattr(raw, "__dynamo_disable")


def _run(spec: Spec, model: Any, x: torch.Tensor) -> _Run:
    """One forward pass with shape hooks under FlopCounterMode; the hooks are removed after."""
    shapes: dict[str, tuple[int, ...]] = {}

    def hook(name: str) -> Any:
        def record(module: Any, inputs: Any, output: Any) -> None:
            tensor = output[0] if isinstance(output, tuple) else output
            shapes[name] = tuple(tensor.shape)

        return record

    params, buffers, handles = {}, {}, []
    counted: set[int] = set()  # tensors already counted: a shared one (`shares:`) at its first layer, as torch's parameters() does
    for node in spec.nodes:
        module = model.get_submodule(module_path(node.name))
        handles.append(module.register_forward_hook(hook(node.name)))
        params[node.name] = sum(p.numel() for p in module.parameters() if _first(p, counted))
        buffers[node.name] = sum(b.numel() for b in module.buffers() if _first(b, counted))
    try:
        with torch.no_grad(), _flop_counter() as counter:
            out = model(x)
    finally:
        for handle in handles:
            handle.remove()
    root = type(model).__name__
    counts = counter.get_flop_counts()
    flops = {"": sum(counts.get(root, {}).values())}
    for key, ops in counts.items():
        if key.startswith(root + "."):
            flops[key[len(root) + 1:]] = sum(ops.values())
    return _Run(shapes, params, buffers, flops, sum(p.numel() for p in model.parameters()),
                sum(b.numel() for b in model.buffers()), _returned(spec, out))


def _returned(spec: Spec, out: Any) -> dict[str, Any]:
    """What the model returned, by the spec's output names: a dict by key, a tuple by position."""
    names = [name for name, _ in spec.outputs]
    if isinstance(out, dict):
        found = dict(out)
    elif isinstance(out, (tuple, list)):
        found = dict(zip(names, out))
    else:
        found = {names[0] if names else "": out}
    return {name: tuple(t.shape) if isinstance(t, torch.Tensor) else "nothing" for name, t in
            ((name, found.get(name)) for name in names)}


def _first(tensor: torch.Tensor, counted: set[int]) -> bool:
    """Whether `tensor` is met here for the first time (and mark it met)."""
    if id(tensor) in counted:
        return False
    counted.add(id(tensor))
    return True


def _fvcore(spec: Spec, model: Any, x: torch.Tensor) -> tuple[dict[str, int], dict[str, dict[str, int]], int]:
    """fvcore's per-module counts and unsupported operators, traced on real CPU tensors."""
    from fvcore.nn import FlopCountAnalysis

    analysis = FlopCountAnalysis(model, x)
    analysis.unsupported_ops_warnings(False)
    analysis.uncalled_modules_warnings(False)
    analysis.tracer_warnings("none")
    with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
        warnings.simplefilter("ignore")
        logging.getLogger("fvcore").setLevel(logging.ERROR)
        by_module = analysis.by_module()
        unsupported = {}
        for node in spec.nodes:
            path = module_path(node.name)
            unsupported[node.name] = {op: n for op, n in analysis.unsupported_ops(path).items()}
    counts = {node.name: by_module.get(module_path(node.name), 0) for node in spec.nodes}
    return counts, unsupported, analysis.total()


def _passes(spec: Spec, report: Report, batch: int, use_fvcore: bool) -> tuple[_Run, Any, list[str]]:
    """The hooked pass under FlopCounterMode and fvcore's trace (None when it did not run), each
    on the device that suits the network, with notes that say which ran where.

    With fvcore, a network of up to CPU_PASS_MACS is built once, on the CPU, and that one model
    serves both; a larger one, or any without fvcore, makes its hooked pass on the meta device."""
    notes = []
    real = None  # the CPU model and input, once built
    if use_fvcore and report.total.macs <= CPU_PASS_MACS:
        real = _model(spec, report, batch, "cpu")
        run = _run(spec, *real)
        notes.append("shapes, parameters and FlopCounterMode ran on real CPU tensors "
                     "(for a small network, quicker than starting the meta device)")
    else:
        try:
            run = _run(spec, *_model(spec, report, batch, "meta"))
            notes.append("shapes, parameters and FlopCounterMode ran on the meta device (no memory allocated)")
        except Exception as exc:  # some ops have no meta kernel or check data: fall back to real tensors
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            real = _model(spec, report, batch, "cpu")
            run = _run(spec, *real)
            notes.append(f"the meta device could not run this network ({first[:120]}); "
                         "shapes, parameters and FlopCounterMode ran on real CPU tensors")
    fv = None
    if use_fvcore:
        try:
            fv = _fvcore(spec, *(real or _model(spec, report, batch, "cpu")))
            notes.append("fvcore traced the network with real tensors on the CPU (its tracer needs them)")
        except Exception as exc:  # its JIT tracer cannot trace some ops (max_unpool in torch 2.13)
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            notes.append(f"fvcore could not trace this network ({type(exc).__name__}: {first[:120]}); "
                         "its column is empty")
    return run, fv, notes


def verify(spec: Spec, batch: int | None = None, use_fvcore: bool = True) -> Verification:
    """Compare every layer's shape, params, buffers, fvcore count and FlopCounterMode count.
    The spec is analysed once; its Report feeds the builder and the expected values."""
    with _old_objects_set_aside():
        return _verify(spec, spec.batch if batch is None else batch, use_fvcore)


def _verify(spec: Spec, batch: int, use_fvcore: bool) -> Verification:
    report = analyze(spec, batch)
    with _one_thread() if report.total.macs <= CPU_PASS_MACS else contextlib.nullcontext():
        run, fv, notes = _passes(spec, report, batch, use_fvcore)
    fv_counts, fv_unsupported, fv_total = fv or ({}, {}, None)
    fv_ran = fv is not None

    layers = []
    fv_expected_total = fc_expected_total = 0
    per_sample: dict[str, Any] = {"input": report.input[1:]}
    for (step, x), row in zip(walk(spec.nodes, per_sample), report.layers):
        node, record = step.node, step.record
        per_sample[node.name] = row.output[1:]
        fv_expected = record.fvcore(node.args, x, row.output[1:]) * batch
        fv_expected_total += fv_expected
        fc_expected_total += record.flop_counter(node.args, x, row.output[1:]) * batch
        checks = (
            Agreement("shape", row.output, run.shapes.get(node.name)),
            Agreement("params", row.params, run.params[node.name]),
            Agreement("buffers", row.buffers, run.buffers[node.name]),
            Agreement("fvcore", fv_expected, fv_counts.get(node.name) if fv_ran else None),
            Agreement("flop_counter", record.flop_counter(node.args, x, row.output[1:]) * batch,
                  run.flops.get(module_path(node.name), 0)),
        )
        layers.append(LayerCheck(row.index, node.name, node.kind, checks, fv_unsupported.get(node.name, {}),
                                 row.macs))
    total = (
        Agreement("params", report.total.params, run.total_params),
        Agreement("buffers", report.total.buffers, run.total_buffers),
        Agreement("fvcore", fv_expected_total, fv_total),
        Agreement("flop_counter", fc_expected_total, run.flops.get("", 0)),
    )
    outputs = tuple((name, Agreement("shape", layer.output, run.returned.get(name, "nothing")))
                    for name, layer in report.heads) if spec.outputs else ()
    return Verification(Identity.of(spec), batch, tuple(layers), total, tuple(notes), _versions(),
                        report.total.macs, outputs)


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    found = {"torch": torch.__version__}
    try:
        found["fvcore"] = version("fvcore")
    except PackageNotFoundError:
        found["fvcore"] = "not installed"
    return found


from .api import callable_module  # noqa: E402  (convcalc.verify(...) is api.verify: this module is callable)

callable_module(__name__)
