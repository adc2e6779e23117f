"""How fast `convcalc verify` answers as a whole process, against the floor its imports set:
`python -c "import torch, fvcore.nn"`, which every verify run pays before it can do anything.

    python benchmarks/verify_speed.py [--runs 7] [SPEC ...]

Prints, for the floor and for `python -m convcalc verify SPEC` (default: specs/lenet5.yaml and
specs/resnet50.yaml), the median, interquartile range and minimum wall time, and each verify's
median divided by the floor's median. The commands run round-robin, so that a shared machine's
drifting load falls on every row alike; read the ratio, not the absolute figures.
Target (issue 12): at most 1.5x the floor on lenet5 and on resnet50.

`python -m convcalc` measures the convcalc that `python` imports (set PYTHONPATH to a source
tree to measure that tree; the script says which one it ran, and whether it is byte-compiled:
with PYTHONDONTWRITEBYTECODE set and no __pycache__, every run recompiles convcalc, ~40 ms).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FLOOR = "import torch, fvcore.nn"


def run_once(cmd: list[str]) -> float:
    """Wall time in ms of running cmd with stdout to a pipe."""
    start = time.perf_counter()
    done = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    elapsed = (time.perf_counter() - start) * 1000
    if done.returncode != 0:
        sys.exit(f"failed ({done.returncode}): {' '.join(cmd)}\n{done.stderr.decode()}")
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


def versions() -> str:
    out = subprocess.run([sys.executable, "-c", "import torch, importlib.metadata as m; "
                          "print(torch.__version__, m.version('fvcore'), torch.get_num_threads())"],
                         stdout=subprocess.PIPE, text=True, check=True).stdout.split()
    return f"torch {out[0]}, fvcore {out[1]}, {out[2]} torch threads"


def byte_compiled() -> str:
    spec = importlib.util.find_spec("convcalc")
    if spec is None or spec.origin is None:
        return "convcalc is not importable"
    cached = importlib.util.cache_from_source(spec.origin)
    return f"convcalc from {spec.origin}, {'byte-compiled' if os.path.exists(cached) else 'NOT byte-compiled'}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("specs", nargs="*", default=[str(ROOT / "specs" / "lenet5.yaml"),
                                                     str(ROOT / "specs" / "resnet50.yaml")])
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cpus, {versions()}; {byte_compiled()}")
    print(f"{args.runs} runs each, interleaved; median [q1-q3] (min) ms, and the median over the floor's\n")
    rows = {f"python -c '{FLOOR}' (floor)": [sys.executable, "-c", FLOOR]}
    for spec in args.specs:
        rows[f"verify {Path(spec).stem}"] = [sys.executable, "-m", "convcalc", "verify", spec]
    floor = None
    for label, times in timed(rows, args.runs).items():
        median, q1, q3, low = stats(times)
        floor = floor or median
        print(f"{label:45} {median:8.0f}  [{q1:.0f}-{q3:.0f}]  ({low:.0f})  {median / floor:.2f}x")


if __name__ == "__main__":
    main()
