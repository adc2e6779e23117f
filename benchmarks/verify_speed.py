"""How fast `convcalc verify` answers as a whole process, against the floor its imports set:
`python -c "import torch, fvcore.nn"`, which every verify run pays before it can do anything.

    python benchmarks/verify_speed.py [--runs 7] [SPEC ...]

Prints, for the floor and for `python -m convcalc verify SPEC` (default: specs/lenet5.yaml and
specs/resnet50.yaml), the median, interquartile range and minimum wall time, and each verify's
median divided by the floor's median. The commands run round-robin, so that a shared machine's
drifting load falls on every row alike; read the ratio, not the absolute figures.
Target (issue 12): at most 1.5x the floor on lenet5 and on resnet50.

The commands run in an empty directory (`python -m` puts the working directory first on
sys.path), so the convcalc measured is the installed one or PYTHONPATH's: set PYTHONPATH to a
source tree to measure that tree. The script says which one it ran and whether it is
byte-compiled (with PYTHONDONTWRITEBYTECODE set and no __pycache__, every run recompiles
convcalc, about 40 ms).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FLOOR = "import torch, fvcore.nn"
PROBE = ("import importlib.metadata as m, importlib.util as u, os, torch, convcalc; "
         "print(torch.__version__, m.version('fvcore'), torch.get_num_threads(), convcalc.__file__, "
         "'byte-compiled' if os.path.exists(u.cache_from_source(convcalc.__file__)) else 'NOT-byte-compiled')")


def run_once(cmd: list[str], where: str) -> float:
    """Wall time in ms of running cmd in directory `where` with stdout to a pipe."""
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=where, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    elapsed = (time.perf_counter() - start) * 1000
    if done.returncode != 0:
        sys.exit(f"failed ({done.returncode}): {' '.join(cmd)}\n{done.stderr.decode()}")
    return elapsed


def timed(cmds: dict[str, list[str]], runs: int, where: str) -> dict[str, list[float]]:
    """Every command `runs` times, round-robin: on a shared machine the load drifts, and
    interleaving spreads the drift over all rows alike instead of biasing whichever ran last."""
    times: dict[str, list[float]] = {label: [] for label in cmds}
    for _ in range(runs):
        for label, cmd in cmds.items():
            times[label].append(run_once(cmd, where))
    return times


def stats(times: list[float]) -> tuple[float, float, float, float]:
    """(median, q1, q3, min) in ms."""
    q = statistics.quantiles(times, n=4)
    return statistics.median(times), q[0], q[2], min(times)


def probe(where: str) -> str:
    """torch's and fvcore's versions, torch's threads, and the convcalc a command run in
    `where` imports."""
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=where, stdout=subprocess.PIPE, text=True,
                         check=True).stdout.split()
    return f"torch {out[0]}, fvcore {out[1]}, {out[2]} torch threads; convcalc from {out[3]}, {out[4]}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("specs", nargs="*", default=[str(ROOT / "specs" / "lenet5.yaml"),
                                                     str(ROOT / "specs" / "resnet50.yaml")])
    args = parser.parse_args()
    rows = {f"python -c '{FLOOR}' (floor)": [sys.executable, "-c", FLOOR]}
    for spec in args.specs:
        rows[f"verify {Path(spec).stem}"] = [sys.executable, "-m", "convcalc", "verify", str(Path(spec).resolve())]
    with tempfile.TemporaryDirectory(prefix="verify_speed-") as where:
        print(f"python {sys.version.split()[0]}, {os.cpu_count()} cpus, {probe(where)}")
        print(f"{args.runs} runs each, interleaved; median [q1-q3] (min) ms, and the median over the floor's\n")
        floor = None
        for label, times in timed(rows, args.runs, where).items():
            median, q1, q3, low = stats(times)
            floor = floor or median
            print(f"{label:45} {median:8.0f}  [{q1:.0f}-{q3:.0f}]  ({low:.0f})  {median / floor:.2f}x")


if __name__ == "__main__":
    main()
