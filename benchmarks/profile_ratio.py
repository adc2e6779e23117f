"""How far `convcalc profile`'s whole-network time and the sum of its layers' times drift apart,
over many runs, on whatever load the machine has (docs/profile.md, "Whole network against its
layers").

    python benchmarks/profile_ratio.py [SPEC] [--runs 20] [--iters 15] [--threads N]

Each run profiles SPEC (a file or a one-line spec; default the spec of tests/test_profile.py)
at batches 1 and 2 with one warm-up pair and --iters timed pairs, and keeps each batch's
whole / layers ratio (1 / `hook_overhead`). Prints the load average before and after, the
minimum, median and maximum ratio, and how many fall outside [0.5, 2], the band beyond which
profile warns. To load the machine as the issue did, start one busy loop per CPU first:
`python3 -c "while True: pass" &` (and stop them by their process ids afterwards).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import convcalc  # noqa: E402
from convcalc.profile import profile  # noqa: E402
from convcalc.spec import is_text_form  # noqa: E402

SPEC = "3x32x32 | conv 16 k3 p1 | bn | relu | conv 16 k3 p1 | gap | flatten | linear 10"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("spec", nargs="?", default=SPEC)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--iters", type=int, default=15)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    spec = convcalc.from_text(args.spec) if is_text_form(args.spec) else convcalc.load(args.spec)
    before = os.getloadavg()[0]
    ratios = []
    for _ in range(args.runs):
        result = profile(spec, "cpu", batches=(1, 2), warmup=1, iters=args.iters, threads=args.threads)
        ratios += [1 / b.hook_overhead for b in result.batches]
    outside = sum(1 for ratio in ratios if not 0.5 <= ratio <= 2.0)
    print(f"{spec.name}, threads {result.settings.threads}, load average {before:.1f} -> {os.getloadavg()[0]:.1f} "
          f"on {os.cpu_count()} CPUs: whole/layers over {len(ratios)} batches: min {min(ratios):.4g}, "
          f"median {statistics.median(ratios):.3g}, max {max(ratios):.4g}; outside [0.5, 2]: {outside}")


if __name__ == "__main__":
    main()
