"""How fast `convcalc shapes` answers, as a whole process (start-up, imports, parse, analysis,
rendering), and how its cost grows with the number of layers.

    python benchmarks/shapes_speed.py [--runs 30]

Prints the median and interquartile range of:
  - `python -c pass` (the floor: interpreter start-up),
  - `convcalc shapes specs/resnet50.yaml` as a table and as JSON, to a pipe,
  - generated chains of 1,000 to 20,000 layers (JSON), and the time per layer.
Targets (issue 2): ResNet-50 at most 150 ms median; 10,000 layers under 1 s, linear in layers.

Measure an installed package (`pip install .`), which pip byte-compiles: with an editable
install and PYTHONDONTWRITEBYTECODE set, every run recompiles convcalc's sources (~40 ms).
The script says which case it is measuring.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def command() -> list[str]:
    exe = Path(sys.executable).parent / "convcalc"
    found = str(exe) if exe.exists() else shutil.which("convcalc")
    return [found] if found else [sys.executable, "-m", "convcalc"]


def timed(cmd: list[str], runs: int) -> tuple[float, float, float]:
    """(median, q1, q3) wall time in ms of running cmd with stdout to a pipe."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        done = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        times.append((time.perf_counter() - start) * 1000)
        if done.returncode != 0:
            sys.exit(f"failed: {' '.join(cmd)}\n{done.stderr.decode()}")
    q = statistics.quantiles(times, n=4)
    return statistics.median(times), q[0], q[2]


def chain(layers: int) -> str:
    """A spec of `layers` layers: conv, bn, relu repeated on a small feature map."""
    kinds = ["  - conv: {out: 8, k: 3, p: 1, bias: false}\n", "  - bn\n", "  - relu\n"]
    body = "".join(kinds[i % 3] for i in range(layers))
    return f"name: chain{layers}\ninput: [8, 32, 32]\nlayers:\n{body}"


def byte_compiled() -> str:
    spec = importlib.util.find_spec("convcalc")
    if spec is None or spec.origin is None:
        return "convcalc is not installed"
    cached = importlib.util.cache_from_source(spec.origin)
    where = "installed" if "site-packages" in spec.origin else "from the source tree"
    return f"{where}, {'byte-compiled' if os.path.exists(cached) else 'NOT byte-compiled'} ({spec.origin})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    cmd = command()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cpus; convcalc {byte_compiled()}")
    print(f"command: {' '.join(cmd)}; {args.runs} runs each; median [q1-q3] ms\n")
    rows = [("python -c pass", [sys.executable, "-c", "pass"]),
            ("shapes resnet50 (table)", cmd + ["shapes", str(ROOT / "specs" / "resnet50.yaml")]),
            ("shapes resnet50 (json)", cmd + ["shapes", str(ROOT / "specs" / "resnet50.yaml"), "--format", "json"])]
    for label, c in rows:
        median, q1, q3 = timed(c, args.runs)
        print(f"{label:32} {median:8.1f}  [{q1:.1f}-{q3:.1f}]")
    print()
    with tempfile.TemporaryDirectory() as tmp:
        previous = None
        for layers in (1000, 2000, 5000, 10000, 20000):
            path = Path(tmp) / f"chain{layers}.yaml"
            path.write_text(chain(layers))
            median, q1, q3 = timed(cmd + ["shapes", str(path), "--format", "json"], max(5, args.runs // 3))
            if previous is None:
                base = median
            per = (median - base) / (layers - 1000) * 1000 if layers > 1000 else float("nan")
            print(f"{f'shapes {layers}-layer chain (json)':32} {median:8.1f}  [{q1:.1f}-{q3:.1f}]"
                  + (f"  {per:.1f} us/layer beyond 1,000" if layers > 1000 else ""))
            previous = median


if __name__ == "__main__":
    main()
