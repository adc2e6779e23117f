"""One width policy for every table a command prints (textable.terminal_width): COLUMNS when set,
else the terminal's width, else 80 (a pipe). Every line fits, and every column the table shows at
full width (COLUMNS=1000) but left out to fit is named in the note under it."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from convcalc.cli import cli

pytestmark = pytest.mark.usefixtures("plain_terminal")  # tests/conftest.py: no COLUMNS, the repo's root

LENET = "specs/lenet5.yaml"
COMMANDS = {  # a command with a per-layer (or per-row) table, and arguments that make it wide
    "shapes": ["shapes", "specs/resnet50.yaml"],
    "shapes --list": ["shapes", "--list"],
    "memory": ["memory", "resnet50", "--batch", "1,64", "--fit", "24GiB"],
    "compare specs": ["compare", "specs/resnet50.yaml", "specs/se_resnet50.yaml"],
    "compare specs, other names": ["compare", "resnet50", "resnet18"],
    "compare variants": ["compare", "--all", "--input", "64x56x56", "--out", "64", "-k", "7", "-p", "same",
                         "--groups", "4"],
    "check": ["check", "--max-params", "2k", "specs/lenet5.yaml", "specs/mobilenet_v2.yaml"],
    "sweep": ["sweep", "resnet50", "--input", "3x128x128,3x224x224,3x320x320"],
    "scale": ["scale", "efficientnet", "--phi", "0..3"],
    "explain": ["explain", "-e", "3x7x7 | sepconv 128 k3 bias=false"],
    "verify": ["verify", LENET],
    "profile": ["profile", LENET, "--device", "cpu", "--batch", "1", "--iters", "2", "--warmup", "1"],
}
NEEDS_TORCH = {"verify", "profile"}
NOTE = re.compile(r"\(([^()]*) hidden to fit (\d+) columns")


def run(args: list[str], columns: str | None) -> str:
    if args[0] in NEEDS_TORCH:
        pytest.importorskip("torch")
    env = {"COLUMNS": columns} if columns else {}
    result = CliRunner().invoke(cli, args, env=env, catch_exceptions=False)
    assert result.exit_code in (0, 1), result.output  # check's budget is meant to fail
    return result.stdout


def headers(text: str) -> list[list[tuple[str, bool]]]:
    """Each table's columns, in order: the header in the row under its top border, and whether
    any row below has something in that column."""
    lines = text.splitlines()
    tables = []
    for top, line in enumerate(lines):
        if not line.startswith("┌"):
            continue
        bottom = next(i for i in range(top, len(lines)) if lines[i].startswith("└"))
        rows = [[cell.strip() for cell in row.strip("│").split("│")] for row in lines[top + 1:bottom]
                if row.startswith("│")]
        tables.append([(header, any(row[c] for row in rows[1:])) for c, header in enumerate(rows[0])])
    return tables


@pytest.mark.parametrize("columns, width", [(None, 80), ("120", 120)])
@pytest.mark.parametrize("name", COMMANDS)
def test_every_table_fits_and_names_what_it_hid(name, columns, width):
    text = run(COMMANDS[name], columns)
    # every line but check's findings and memory's answers, which stay one line each for grep and CI logs
    too_wide = [line for line in text.splitlines() if len(line) > width
                and not (name == "check" and line.startswith("  ") or name == "memory" and line.startswith("batch "))]
    assert not too_wide, f"{name}: {len(too_wide)} lines wider than {width}, like {too_wide[0]!r}"
    full = headers(run(COMMANDS[name], "1000"))
    shown = headers(text)
    assert len(shown) == len(full) > 0
    named = {header.strip() for match in NOTE.finditer(" ".join(text.split())) for header in match[1].split(", ")}
    for all_of, these in zip(full, shown):
        kept = [header.rstrip("…") for header, _ in these]
        hidden = [header for header, filled in all_of if filled and header not in kept
                  and not any(k.endswith("…") and header.startswith(k[:-1]) for k, _ in these)]
        assert set(hidden) <= named, f"{name}: {sorted(set(hidden) - named)} hidden without a word"
