"""How fast `convcalc sweep` answers, as a whole process: 100 points of ResNet-50 (issue 15's
target: under 2 s), and what one point costs beyond `convcalc shapes`.

    python benchmarks/sweep_speed.py [--runs 10]

Prints the median, interquartile range and minimum (ms) of, round-robin:
  - `python -c pass` (the floor),
  - `convcalc shapes resnet50 --input 3x224x224` (one point, as shapes),
  - `convcalc sweep resnet50` over 100 inputs (3x64x64 to 3x460x460 in steps of 4), table and JSON,
  - `convcalc sweep efficientnet` over 100 points (25 widths x 4 resolutions),
and the cost per point: (100-point sweep - one-point shapes) / 99.
Measure an installed, byte-compiled package (`pip install .`), as benchmarks/shapes_speed.py says.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from shapes_speed import command, stats, timed  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    runs = parser.parse_args().runs
    cc = command()
    resnet = ["sweep", "resnet50", "--input", "3x64..460:4x64..460:4"]
    cmds = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "shapes resnet50 --input 3x224x224": [*cc, "shapes", "resnet50", "--input", "3x224x224"],
        "sweep resnet50, 100 inputs (table)": [*cc, *resnet],
        "sweep resnet50, 100 inputs (json)": [*cc, *resnet, "--format", "json"],
        "sweep efficientnet, 25 widths x 4 inputs (json)": [
            *cc, "sweep", "efficientnet", "--set", "width=1.0..2.2:0.05", "--input", "3x224x224,3x300x300,3x456x456,"
            "3x600x600", "--format", "json"],
    }
    times = timed(cmds, runs)
    print(f"{'command':<50} {'median':>8} {'q1-q3':>17} {'min':>8}   (ms, {runs} runs, {' '.join(cc)})")
    for label, values in times.items():
        median, q1, q3, low = stats(values)
        print(f"{label:<50} {median:8.1f} {q1:8.1f}-{q3:<8.1f} {low:8.1f}")
    one = stats(times["shapes resnet50 --input 3x224x224"])[0]
    sweep = stats(times["sweep resnet50, 100 inputs (json)"])[0]
    print(f"per point beyond one shapes run: {(sweep - one) / 99:.2f} ms")


if __name__ == "__main__":
    main()
