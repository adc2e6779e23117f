"""What PyTorch itself says about training a spec: the truth convcalc.training is checked against.

- `saved`: a forward in train mode under `torch.autograd.graph.saved_tensors_hooks`: every tensor
  autograd packs for the backward, each storage counted once (at the first layer that keeps it,
  as convcalc attributes it), parameters excluded (buffers, such as batch norm's running
  statistics, are included: autograd keeps them too). On fake tensors, so that a 3-D U-Net at
  batch 8 needs no 20 GB.
- `peak`: torch.distributed._tools.mem_tracker.MemTracker over the second training iteration
  (`loss = model(x).sum(); loss.backward(); optimizer.step(); optimizer.zero_grad(set_to_none=True)`;
  several outputs: the sum of their sums, `loss_of`)
  on fake tensors (FakeTensorMode: no memory is allocated, so VGG-16 at batch 64 runs on a
  laptop). MemTracker runs without its module tracking: its ModTracker registers a multi-grad
  hook on every module's inputs that keeps their gradients until all of them have arrived (a
  U-Net's concatenated skip gradients, for example), memory a plain training loop does not hold.
  Its storage accounting is used as is.
- `backward_flops`: FlopCounterMode's formulas over the backward, per layer.

torch is imported here: import this module lazily (tests, `convcalc verify --train`).
"""

from __future__ import annotations

import contextlib
from typing import Any

import torch

from .analysis import analyze
from .spec.model import Spec
from .torch_bridge import SpecModel, example_input, module_path

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16, "float64": torch.float64}


def loss_of(out: Any) -> Any:
    """The training loop's loss: the sum of the output, or of every output's sum (a tuple or dict
    of several, `outputs:`), as convcalc.training models it."""
    if isinstance(out, dict):
        out = tuple(out.values())
    if isinstance(out, tuple):
        total = out[0].sum()
        for t in out[1:]:
            total = total + t.sum()
        return total
    return out.sum()


def _model(spec: Spec, dtype: str) -> SpecModel:
    """The spec built in `dtype` (under the default dtype, so that fake parameters need no cast)."""
    old = torch.get_default_dtype()
    torch.set_default_dtype(DTYPES[dtype])
    try:
        return SpecModel(spec, analyze(spec)).train()
    finally:
        torch.set_default_dtype(old)


def _autocast(amp: str | None) -> Any:
    return torch.autocast("cpu", dtype=DTYPES[amp]) if amp else contextlib.nullcontext()


def saved(spec: Spec, batch: int, dtype: str = "float32", amp: str | None = None,
          input_grad: bool = False) -> dict[str, int]:
    """Bytes autograd keeps per layer in one train-mode forward on (fake) CPU tensors; each storage
    counted once, at the first layer that keeps it; parameters excluded."""
    from torch._subclasses.fake_tensor import FakeTensorMode

    current = [""]
    seen: set[int] = set()
    per_layer = {node.name: 0 for node in spec.nodes}
    with FakeTensorMode():
        model = _model(spec, dtype)
        parameters = {p.untyped_storage()._cdata for p in model.parameters()}  # the StorageImpl: one per storage
        x = example_input(spec, batch, dtype=DTYPES[dtype])
        if input_grad and x.is_floating_point():
            x.requires_grad_(True)
        for node in spec.nodes:
            def enter(module: Any, args: Any, name: str = node.name) -> None:
                current[0] = name
            model.get_submodule(module_path(node.name)).register_forward_pre_hook(enter)

        def pack(t: torch.Tensor) -> torch.Tensor:
            storage = t.untyped_storage()
            key = storage._cdata  # packed tensors stay alive, so no two of them share an address
            if key not in parameters and key not in seen:
                seen.add(key)
                per_layer[current[0]] += storage.nbytes()
            return t

        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t), _autocast(amp):
            model(x)
    return per_layer


class _NoModules:
    """Stands in for MemTracker's ModTracker: no per-module hooks (see the module docstring)."""

    parents: tuple[str, ...] = ()
    is_bw = False

    def register_user_hooks(self, *hooks: Any) -> None:
        pass

    def clear_user_hooks(self) -> None:
        pass

    def __enter__(self) -> "_NoModules":
        return self

    def __exit__(self, *args: Any) -> None:
        pass


def optimizer(name: str, params: Any, impl: str | None = None) -> Any:
    """PyTorch's optimizer for convcalc's name, in implementation `impl` (None: its default)."""
    kwargs: dict[str, Any] = {}
    if impl is not None:
        kwargs = {"foreach": impl == "foreach", "fused": impl == "fused"} if impl != "for-loop" else {"foreach": False}
    if name in ("sgd", "momentum"):
        return torch.optim.SGD(params, lr=0.1, momentum=0.9 if name == "momentum" else 0.0, **kwargs)
    return (torch.optim.Adam if name == "adam" else torch.optim.AdamW)(params, **kwargs)


def peak(spec: Spec, batch: int, optimizer_name: str = "sgd", dtype: str = "float32", amp: str | None = None,
         impl: str | None = None) -> int:
    """MemTracker's peak over the second training iteration, on fake CPU tensors."""
    from torch._subclasses.fake_tensor import FakeTensorMode

    with FakeTensorMode():
        model = _model(spec, dtype)
        opt = optimizer(optimizer_name, model.parameters(), impl)
        x = example_input(spec, batch, dtype=DTYPES[dtype])

        def loss() -> Any:
            with _autocast(amp):
                return loss_of(model(x))

        return tracked_peak(model, opt, x, loss)


def tracked_peak(model: Any, opt: Any, x: Any, loss: Any) -> int:
    """MemTracker's peak over the second of two iterations (loss().backward(), step, zero_grad
    to None: the first creates the optimizer's state), with module tracking off (docs/memory.md).
    Run it under the FakeTensorMode the model and input were made in."""
    from torch.distributed._tools.mem_tracker import MemTracker

    def iteration() -> None:
        loss().backward()
        opt.step()
        opt.zero_grad(set_to_none=True)

    iteration()
    tracker = MemTracker()
    tracker.track_external(model, opt, x)
    tracker._mod_tracker = _NoModules()
    with tracker:
        iteration()
    snapshot = tracker.get_tracker_snapshot("peak")
    return sum(device["Total"] for device in snapshot.values())


def backward_flops(spec: Spec, batch: int) -> dict[str, int]:
    """FlopCounterMode's count of the backward per layer, on the meta device: its formulas
    (torch.utils.flop_counter's registry) over every op of `loss.backward()`, each op counted for
    the layer whose output's gradient arrived last (a hook on every layer's output). Its own
    per-module attribution is not used: it keeps a module active until all of the module's input
    gradients have arrived, so a residual add would collect its whole branch's backward."""
    from torch.utils._python_dispatch import TorchDispatchMode
    from torch.utils.flop_counter import flop_registry

    with torch.device("meta"):
        model = SpecModel(spec, analyze(spec)).train()
        x = example_input(spec, batch, device="meta")
    current = [""]
    per_layer = {node.name: 0 for node in spec.nodes}

    def arrived(name: str) -> Any:
        def hook(grad: torch.Tensor) -> None:
            current[0] = name
        return hook

    for node in spec.nodes:
        def watch(module: Any, args: Any, out: Any, name: str = node.name) -> None:
            out = out[0] if isinstance(out, tuple) else out
            if out.requires_grad:
                out.register_hook(arrived(name))
        model.get_submodule(module_path(node.name)).register_forward_hook(watch)

    class Count(TorchDispatchMode):
        def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
            kwargs = kwargs or {}
            out = func(*args, **kwargs)
            formula = flop_registry.get(func._overloadpacket)
            if formula is not None and current[0]:
                per_layer[current[0]] += formula(*args, **kwargs, out_val=out)
            return out

    loss = loss_of(model(x))
    with Count():
        loss.backward()
    return per_layer
