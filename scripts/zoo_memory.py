"""Training memory of imported torchvision models against PyTorch on the original modules:

    python scripts/zoo_memory.py resnet50 densenet121 ...   (where torchvision imports)

For each model: `convcalc memory torchvision:NAME --batch 8 --device cpu` (SGD, float32) against
MemTracker's peak over the second training iteration of torchvision's own module on fake CPU
tensors, the procedure of convcalc/train_truth.py (which runs convcalc's own builder instead).
Measured (docs/import.md): every model within one output-sized tensor ([8, 1000] float32 =
32,000 bytes for a classifier), which the original module holds once more than convcalc's model.
Models whose builder computes with tensors (RegNet, ConvNeXt's stochastic depth schedule) cannot be
built under fake tensors and are skipped.
"""

from __future__ import annotations

import os
import sys
import warnings

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def original_peak(name: str, shape: tuple[int, ...], batch: int) -> int:
    import torch
    import torchvision
    from torch._subclasses.fake_tensor import FakeTensorMode
    from torch.distributed._tools.mem_tracker import MemTracker

    from convcalc.train_truth import _NoModules, optimizer

    with FakeTensorMode():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = torchvision.models.get_model(name, weights=None).train()
        opt = optimizer("sgd", model.parameters())
        x = torch.randn(batch, *shape)

        def iteration() -> None:
            y = model(x)
            y = y["out"] if isinstance(y, dict) else y[0] if isinstance(y, tuple) else y
            y.sum().backward()
            opt.step()
            opt.zero_grad(set_to_none=True)

        iteration()  # the first makes the optimizer's state
        tracker = MemTracker()
        tracker.track_external(model, opt, x)
        tracker._mod_tracker = _NoModules()
        with tracker:
            iteration()
        return sum(device["Total"] for device in tracker.get_tracker_snapshot("peak").values())


def main() -> None:
    from convcalc.importers import read
    from convcalc.training import setup_for, train

    batch = 8
    for name in sys.argv[1:]:
        imported = read(f"torchvision:{name}")
        spec = imported.spec()
        ours = train(spec, setup_for(spec, device="cpu"), batch=batch).total.peak_bytes
        try:
            truth = original_peak(name, imported.input, batch)
        except Exception as exc:  # a builder that computes with tensors cannot run on fake ones
            print(f"{name:24} convcalc {ours:>14,}  (PyTorch: {type(exc).__name__}, skipped)", flush=True)
            continue
        print(f"{name:24} convcalc {ours:>14,}  PyTorch {truth:>14,}  {ours - truth:+,} B", flush=True)


if __name__ == "__main__":
    main()
