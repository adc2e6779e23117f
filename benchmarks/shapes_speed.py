"""How fast `convcalc shapes` answers, as a whole process (start-up, imports, parse, analysis,
rendering), and how its cost grows with the number of layers.

    python benchmarks/shapes_speed.py [--runs 30]

Prints the median, interquartile range and minimum of:
  - `python -c pass` (the floor: interpreter start-up),
  - `convcalc shapes specs/resnet50.yaml` as a table and as JSON, to a pipe,
  - `convcalc explain specs/resnet50.yaml`, one layer and all of them,
  - generated chains of 1,000 to 20,000 layers (JSON), and a least-squares fit of the time per
    layer (linear growth means the per-layer figure falls towards the fit as start-up amortizes).
The commands of each group run round-robin, so that a shared machine's drifting load falls on
every row alike.
Targets (issue 2): ResNet-50 at most 150 ms median (issue 23: ViT-B/16 too); 10,000 layers under 1 s, linear in layers.

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


def run_once(cmd: list[str]) -> float:
    """Wall time in ms of running cmd with stdout to a pipe."""
    start = time.perf_counter()
    done = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    elapsed = (time.perf_counter() - start) * 1000
    if done.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{done.stderr.decode()}")
    return elapsed


def timed(cmds: dict[str, list[str]], runs: int) -> dict[str, list[float]]:
    """Every command `runs` times, round-robin: on a shared machine the load drifts, and
    interleaving spreads the drift over all rows alike instead of biasing whichever ran last."""
    times: dict[str, list[float]] = {label: [] for label in cmds}
    for _ in range(runs):
        for label, cmd in cmds.items():
            times[label].append(run_once(cmd))
    return times


def stats(times: list[float]) -> tuple[float, float, float, float]:
    """(median, q1, q3, min) in ms."""
    q = statistics.quantiles(times, n=4)
    return statistics.median(times), q[0], q[2], min(times)


def slope(points: list[tuple[int, float]]) -> float:
    """Least-squares ms per layer through (layers, median ms)."""
    mx = statistics.fmean(x for x, _ in points)
    my = statistics.fmean(y for _, y in points)
    return sum((x - mx) * (y - my) for x, y in points) / sum((x - mx) ** 2 for x, _ in points)


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
    print(f"command: {' '.join(cmd)}; {args.runs} runs each, interleaved; median [q1-q3] (min) ms\n")
    resnet = str(ROOT / "specs" / "resnet50.yaml")
    rows = {"python -c pass": [sys.executable, "-c", "pass"],
            "shapes resnet50 (table)": cmd + ["shapes", resnet],
            "shapes resnet50 (json)": cmd + ["shapes", resnet, "--format", "json"],
            # a vision transformer (issue 23: under 150 ms, never importing torch): 141 layers on tokens
            "shapes vit_b_16 (table)": cmd + ["shapes", str(ROOT / "specs" / "vit_b_16.yaml")],
            # explain (issue 16): one layer should answer as shapes does; all 175 layers print ~12,700 lines
            "explain resnet50 conv1 (table)": cmd + ["explain", resnet, "conv1"],
            "explain resnet50, all (table)": cmd + ["explain", resnet],
            "explain resnet50, all (json)": cmd + ["explain", resnet, "--format", "json"]}
    for label, times in timed(rows, args.runs).items():
        median, q1, q3, low = stats(times)
        print(f"{label:32} {median:8.1f}  [{q1:.1f}-{q3:.1f}]  ({low:.1f})")
    print()
    with tempfile.TemporaryDirectory() as tmp:
        sizes = (1000, 2000, 5000, 10000, 20000)
        chains = {}
        for layers in sizes:
            path = Path(tmp) / f"chain{layers}.yaml"
            path.write_text(chain(layers))
            chains[f"shapes {layers}-layer chain (json)"] = cmd + ["shapes", str(path), "--format", "json"]
        results = timed(chains, max(5, args.runs // 3))
        points = []
        for layers, (label, times) in zip(sizes, results.items()):
            median, q1, q3, low = stats(times)
            points.append((layers, median))
            print(f"{label:32} {median:8.1f}  [{q1:.1f}-{q3:.1f}]  ({low:.1f})  {median / layers * 1000:.1f} us/layer")
        print(f"\nleast-squares fit over the chains: {slope(points) * 1000:.1f} us per layer")


if __name__ == "__main__":
    main()
