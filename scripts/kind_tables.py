"""Generate the per-kind tables of docs/spec.md, docs/costs.md and docs/memory.md from the layer registry.

    python scripts/kind_tables.py           # print both tables
    python scripts/kind_tables.py --write   # rewrite them in the docs, between their markers

Each record in convcalc/layers/ states its arguments (its schema), what it is (`doc`) and its
cost formulas (`costs`), what it keeps for the backward and what its backward costs (`saves`,
`backward_costs`); the docs show exactly that, so a new kind is documented by its record
alone. tests/test_registry.py fails when a doc's table differs from what this prints.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from convcalc.args import REQUIRED  # noqa: E402
from convcalc.layers import REGISTRY  # noqa: E402

TABLES = {"docs/spec.md": "kinds", "docs/costs.md": "costs", "docs/memory.md": "memory"}


def _default(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def arguments(record) -> str:  # type: ignore[no-untyped-def]
    """`out`, `k`, `s=1`, ...: required arguments bare, the others with their default (one filled
    in from other arguments, like a pool's stride, bare too; `doc` says what it becomes)."""
    cells = []
    for arg in record.args:
        if arg.default is REQUIRED or arg.default is None:
            cells.append(f"`{arg.name}`")
        else:
            cells.append(f"`{arg.name}={_default(arg.default)}`")
    if record.merge:
        cells.insert(0, "`from: [a, b, …]`")
    return ", ".join(cells) or "—"


def kinds_table() -> str:
    rows = ["| kind | arguments | what it is |", "|---|---|---|"]
    rows += [f"| `{name}` | {arguments(r)} | {r.doc} |" for name, r in REGISTRY.items()]
    return "\n".join(rows) + "\n"


def costs_table() -> str:
    rows = ["| kind | params | buffers | MACs | FLOPs |", "|---|---|---|---|---|"]
    rows += [f"| `{name}` | " + " | ".join(r.costs) + " |" for name, r in REGISTRY.items()]
    return "\n".join(rows) + "\n"


def memory_table() -> str:
    rows = ["| kind | kept for the backward | backward FLOPs: input gradient | backward FLOPs: the rest |",
            "|---|---|---|---|"]
    rows += [f"| `{name}` | {r.saves} | " + " | ".join(r.backward_costs) + " |" for name, r in REGISTRY.items()]
    return "\n".join(rows) + "\n"


def table(marker: str) -> str:
    return {"kinds": kinds_table, "costs": costs_table, "memory": memory_table}[marker]()


def replaced(text: str, marker: str, new_table: str) -> str:
    start, end = f"<!-- {marker}:start -->", f"<!-- {marker}:end -->"
    head, found, rest = text.partition(start)
    if not found:
        raise SystemExit(f"no {start} marker")
    _, _, tail = rest.partition(end)
    return f"{head}{start}\n{new_table}{end}{tail}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="update the docs in place")
    args = parser.parse_args()
    for doc, marker in TABLES.items():
        if args.write:
            path = ROOT / doc
            path.write_text(replaced(path.read_text(encoding="utf-8"), marker, table(marker)), encoding="utf-8")
        else:
            sys.stdout.write(table(marker) + "\n")


if __name__ == "__main__":
    main()
