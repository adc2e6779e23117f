"""How long convcalc takes on the small pathological specs of issue 11 (section 2), as a whole
process, with an optional older checkout beside it for the figures before a fix.

    python benchmarks/hostile_specs.py [--base /path/to/old/tree] [--timeout 130]

The specs come from tests/hostile.py (the tests run the same ones under a timeout):
  - expression_power: blocks nested 4 deep, each raising its argument to the 99th power;
  - huge_name: a name interpolated from a value of more than 4,300 digits;
  - shared_parallel: 30 levels of block arguments that share parallel branches;
  - unpool_pairs: 50,000 maxpool/maxunpool pairs linked by `indices:`;
  - long_names_typo: a misspelt `from:` after 99,990 layers with 900-character names (and 60).
Each runs once per tree (these are minutes against seconds, not milliseconds); a run past the
timeout is shown as `>T s`. The exit code says how it ended (0 report, 1 traceback, 2 one line).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests import hostile  # noqa: E402

SPECS = {
    "expression_power": hostile.expression_power,
    "huge_name": hostile.huge_name,
    "shared_parallel (30 levels)": lambda: hostile.shared_parallel(30),
    "unpool_pairs (50,000)": hostile.unpool_pairs,
    "long_names_typo (900 chars)": hostile.long_names_typo,
    "long_names_typo (60 chars)": lambda: hostile.long_names_typo(99_990, 60),
}


def timed(tree: Path, path: str, timeout: float) -> str:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    start = time.perf_counter()
    try:
        # cwd too: `python -m` puts the working directory before PYTHONPATH on sys.path
        done = subprocess.run([sys.executable, "-m", "convcalc", "shapes", path, "--format", "csv"], env=env,
                              cwd=tree, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=timeout)
    except subprocess.TimeoutExpired:
        return f">{timeout:.0f} s"
    return f"{time.perf_counter() - start:.2f} s (exit {done.returncode})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", type=Path, help="an older tree (its convcalc/ is imported) to time beside this one")
    parser.add_argument("--timeout", type=float, default=130.0)
    args = parser.parse_args()
    trees = {"this tree": ROOT, **({"base": args.base.resolve()} if args.base else {})}
    with tempfile.TemporaryDirectory() as folder:
        print(f"{'spec':<30} {'bytes':>7}  " + "  ".join(f"{label:>20}" for label in trees))
        for label, make in SPECS.items():
            text = make()
            path = os.path.join(folder, "hostile.yaml")
            Path(path).write_text(text, encoding="utf-8")
            times = [timed(tree, path, args.timeout) for tree in trees.values()]
            print(f"{label:<30} {len(text):>7}  " + "  ".join(f"{t:>20}" for t in times), flush=True)


if __name__ == "__main__":
    main()
