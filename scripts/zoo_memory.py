"""Training memory of imported torchvision models against PyTorch on the original modules:

    python scripts/zoo_memory.py resnet50 densenet121 ...   (where torchvision imports)

For each model: `convcalc memory torchvision:NAME --batch 8 --device cpu` (SGD, float32) against
MemTracker's peak over the second training iteration of torchvision's own module on fake CPU
tensors, the procedure of convcalc/train_truth.py (which runs convcalc's own builder instead).
Measured (docs/import.md): to the byte for 11 models, EfficientNet-B0 288 bytes under
(stochastic depth's training noise).
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

    from convcalc.train_truth import optimizer, tracked_peak

    with FakeTensorMode():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = torchvision.models.get_model(name, weights=None).train()
        opt = optimizer("sgd", model.parameters())
        x = torch.randn(batch, *shape)

        def loss() -> torch.Tensor:
            y = model(x)
            return (y["out"] if isinstance(y, dict) else y[0] if isinstance(y, tuple) else y).sum()

        return tracked_peak(model, opt, x, loss)


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
