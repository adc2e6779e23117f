"""How fast a model is imported, as whole processes, side by side with what they must import.

    python benchmarks/import_speed.py [--runs 5]

Rows (median, interquartile range and minimum of --runs, round-robin so a shared machine's load
falls on every row alike):
  - `python -c "import torch"`: the floor of any PyTorch import;
  - `convcalc import benchmarks.resnet50_model:resnet50 --input 3x224x224` (trace, run at
    batch 2, map, check, fold, write): issue 13's bar is the torch import + 1.5 s;
  - `python -c "import onnx"` and `onnx.load` of ResNet-50's ONNX file (weights included, about
    100 MB): what reading with the onnx package would cost;
  - `convcalc shapes resnet50.onnx`: issue 13's bar is 1 s, without torch.
The ONNX file is exported once (torch.onnx, TorchScript exporter, opset 13) into a temporary folder.
Run it from the repository root, with the `onnx` extra installed (`pip install '.[torch,onnx]'`).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def export(path: str) -> None:
    import torch

    sys.path.insert(0, str(ROOT))
    from benchmarks.resnet50_model import resnet50

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(resnet50().eval(), (torch.randn(1, 3, 224, 224),), path, dynamo=False, opset_version=13)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    folder = tempfile.mkdtemp()
    onnx_file = os.path.join(folder, "resnet50.onnx")
    export(onnx_file)
    convcalc = [sys.executable, "-m", "convcalc"]
    rows = {
        "python -c 'import torch'": [sys.executable, "-c", "import torch"],
        "convcalc import (PyTorch) ResNet-50": convcalc + ["import", "benchmarks.resnet50_model:resnet50", "--input",
                                                           "3x224x224"],
        "python -c 'import onnx'": [sys.executable, "-c", "import onnx"],
        "onnx.load(resnet50.onnx)": [sys.executable, "-c", f"import onnx; onnx.load({onnx_file!r})"],
        "convcalc shapes resnet50.onnx": convcalc + ["shapes", onnx_file],
    }
    times: dict[str, list[float]] = {name: [] for name in rows}
    cpu: dict[str, list[float]] = {name: [] for name in rows}  # user + system: steadier on a shared machine
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for _ in range(runs):
        for name, cmd in rows.items():
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            subprocess.run(cmd, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            times[name].append(time.perf_counter() - start)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu[name].append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    print(f"ResNet-50 ONNX file: {os.path.getsize(onnx_file) / 1e6:.1f} MB; {runs} runs each, seconds")
    print(f"{'command':<40} {'median':>8} {'IQR':>8} {'min':>8} {'CPU':>8}")
    for name, values in times.items():
        q = statistics.quantiles(values, n=4) if len(values) > 1 else [values[0]] * 3
        print(f"{name:<40} {statistics.median(values):8.2f} {q[2] - q[0]:8.2f} {min(values):8.2f} "
              f"{statistics.median(cpu[name]):8.2f}")


if __name__ == "__main__":
    main()
