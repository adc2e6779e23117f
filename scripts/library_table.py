"""Generate the README's table of the spec library with convcalc itself.

    python scripts/library_table.py           # print the table
    python scripts/library_table.py --write   # rewrite it in README.md between the markers

tests/test_library.py fails when README.md's table differs from what this prints.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from convcalc import library  # noqa: E402
from convcalc.reporters.common import field  # noqa: E402
from convcalc.units import count, nbytes  # noqa: E402

START, END = "<!-- library:start -->", "<!-- library:end -->"


def table() -> str:
    """One row per library spec: its name (what `convcalc shapes NAME` takes), linked to its file
    in the package (GitHub does not follow the specs/ symlink in links), and its totals."""
    rows = ["| spec | network | input | params | MACs | FLOPs | peak activations | output RF |",
            "|---|---|---|---:|---:|---:|---:|---:|"]
    for entry in library.entries():
        report, t = entry.report, entry.report.total
        rf = field(report.receptive_field, report.global_context)
        args = ", ".join(f"{key}={value}" for key, value in report.args.items())
        network = f"{entry.network} (`--set` {args}; shown: the defaults)" if args else entry.network
        rows.append(f"| [{entry.name}](convcalc/specs/{entry.name}.yaml) | {network} "
                    f"| {'x'.join(map(str, report.input[1:]))} "
                    f"| {t.params:,} | {count(t.macs)} | {count(t.flops)} | {nbytes(t.peak_activation_bytes)} | {rf} |")
    return "\n".join(rows) + "\n"


def replaced(readme: str, new_table: str) -> str:
    head, _, rest = readme.partition(START)
    _, _, tail = rest.partition(END)
    return f"{head}{START}\n{new_table}{END}{tail}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="update README.md in place")
    args = parser.parse_args()
    text = table()
    if args.write:
        readme = ROOT / "README.md"
        readme.write_text(replaced(readme.read_text(encoding="utf-8"), text), encoding="utf-8")
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
