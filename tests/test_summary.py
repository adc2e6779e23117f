"""--summary on every command that prints a per-layer table (verify, verify --train, profile,
compare of two specs; shapes and memory in their own tests): the same lines as without it, less
the per-layer rows, and refused for the formats that always hold every layer."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from convcalc.cli import cli

SPEC = "3x16x16 | conv 8 k3 p1 | bn | relu | gap | flatten | linear 10"
NAMES = ("conv1", "bn1", "relu1", "gap1", "flatten1", "linear1")  # the layers SPEC's table lists


def run(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.fixture(autouse=True)
def wide(monkeypatch):
    monkeypatch.setenv("COLUMNS", "1000")  # nothing hidden, nothing wrapped


def rows(text: str) -> list[str]:
    """The table rows that name a layer of SPEC."""
    return [line for line in text.splitlines() if any(f" {name} " in line for name in NAMES)]


def test_verify_summary_keeps_the_total_row_and_every_line_under_the_table(torch):
    full = run("verify", "-e", SPEC, "--no-fvcore")
    short = run("verify", "-e", SPEC, "--no-fvcore", "--summary")
    assert len(rows(full)) == len(NAMES) and rows(short) == []
    def total(text: str) -> list[list[str]]:  # the total row's cells (the columns fit their rows)
        return [[cell.strip() for cell in line.split("│")] for line in text.splitlines() if " total " in line]
    assert total(short) == total(full) and len(total(full)) == 1
    under = full[full.rindex("┘\n") + 2:]  # "all 6 layers agree ..." and the notes
    assert short.endswith(under) and f"all {len(NAMES)} layers agree" in under


def test_verify_train_summary_is_the_title_and_the_answer(torch):
    full = run("verify", "-e", SPEC, "--train", "--summary")
    assert rows(full) == [] and "┌" not in full
    title, answer = full.splitlines()[:2]
    assert title.endswith("training, convcalc vs PyTorch; batch 1")
    assert answer.startswith(f"all {len(NAMES)} layers agree: saved bytes")
    assert "training peak with SGD" in full


def test_profile_summary_keeps_the_latency_and_memory_lines(torch, monkeypatch, tmp_path):
    import convcalc
    import convcalc.profile as profiling
    from convcalc.reporters.profiling import render

    monkeypatch.setenv("CONVCALC_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(profiling, "calibrate", lambda device, dtype: profiling.Peaks(1e11, 1e10, "measured test"))
    result = profiling.profile(convcalc.from_text(SPEC), "cpu", warmup=1, iters=2)
    for fmt in ("table", "markdown"):
        full, short = render([result], fmt), render([result], fmt, layers=False)
        assert len([line for line in full.splitlines() if "conv1" in line]) == 1
        assert "conv1" not in short and "batch 1: latency" in short and "memory: predicted" in short
        assert short.splitlines()[:4] == full.splitlines()[:4]  # the header: device, settings, peaks


def test_compare_summary_leaves_out_the_layers_that_differ():
    other = SPEC.replace("conv 8", "conv 16")
    for fmt, marker in (("table", "layers that differ"), ("markdown", "| change | layer |")):
        full = run("compare", SPEC, other, "--format", fmt)
        short = run("compare", SPEC, other, "--format", fmt, "--summary")
        assert marker in full and marker not in short
        # the totals and the matching line stay: every layer matched by name and changed (16
        # channels for 8 from conv1 to linear1's input)
        matching = f"layers: {len(NAMES)} matched by name, 0 by position; 0 added, 0 removed, {len(NAMES)} changed"
        assert matching in full and matching in short
        assert "+" in short and "params" in short


@pytest.mark.parametrize("args, message", [
    (["verify", "-e", SPEC, "--summary", "--format", "json"],
     "--summary leaves out the table of --format table or markdown; json always holds every layer"),
    (["profile", "-e", SPEC, "--summary", "--format", "csv"],
     "--summary leaves out the table of --format table or markdown; csv always holds every layer"),
    (["compare", SPEC, SPEC, "--batch", "2", "--summary", "--format", "json"],
     "--summary leaves out the table of --format table or markdown; json always holds every layer"),
    (["compare", "--all", "--summary"],
     "--summary leaves out the layers that differ between two specs; variants have no layer table"),
])
def test_summary_is_refused_where_there_is_no_table_to_leave_out(args, message):
    result = CliRunner().invoke(cli, args)
    assert (result.exit_code, result.output) == (2, f"convcalc: {message}\n")
