"""`convcalc check`'s training budgets (convcalc/train_budget.py): train_peak_bytes and
min_fit_batch, against convcalc memory's own numbers, and their mistakes as one line."""

from __future__ import annotations

import json
import textwrap

import pytest
from click.testing import CliRunner

import convcalc
from convcalc.cli import cli
from convcalc.training import fit, reports, setup_for, timeline

SPEC = """\
    name: budgeted
    input: [3, 64, 64]
    batch: 32
    layers:
      - conv: {out: 32, k: 3, p: 1}
      - bn
      - relu
      - maxpool: {k: 2}
      - conv: {out: 64, k: 3, p: 1}
      - relu
      - gap
      - flatten
      - linear: {out: 10}
    budget:
"""


def _check(tmp_path, budget: str):
    path = tmp_path / "spec.yaml"
    path.write_text(textwrap.dedent(SPEC) + textwrap.indent(budget, "  "), encoding="utf-8")
    result = CliRunner().invoke(cli, ["check", str(path), "--format", "json"], catch_exceptions=False)
    return result, path


def test_train_peak_bytes_is_convcalc_memorys_peak(tmp_path):
    spec = convcalc.loads(textwrap.dedent(SPEC).replace("budget:\n", ""))
    peak = reports(spec, setup_for(spec, optimizer="adam"), (32,))[0].total.peak_bytes
    result, _ = _check(tmp_path, f"train_peak_bytes: {{max: {peak}, optimizer: adam}}\n")
    assert result.exit_code == 0
    result, _ = _check(tmp_path, f"train_peak_bytes: {{max: {peak - 1}, optimizer: adam}}\n")
    assert result.exit_code == 1
    (found,) = json.loads(result.stdout)["specs"][0]["checks"]
    assert (found["name"], found["actual"], found["limit"]) == ("budget.train_peak_bytes", peak, peak - 1)
    assert "over the budget" in found["message"] and "by 1" in found["message"]


def test_min_fit_batch_fails_below_the_largest_batch_that_fits(tmp_path):
    spec = convcalc.loads(textwrap.dedent(SPEC).replace("budget:\n", ""))
    best = fit(timeline(spec, setup_for(spec, amp="bfloat16")), 2**30).max_batch
    result, _ = _check(tmp_path, f"min_fit_batch: {{batch: {best}, memory: 1GiB, amp: bfloat16}}\n")
    assert result.exit_code == 0
    result, _ = _check(tmp_path, f"min_fit_batch: {{batch: {best + 1}, memory: 1GiB, amp: bfloat16}}\n")
    assert result.exit_code == 1
    (found,) = json.loads(result.stdout)["specs"][0]["checks"]
    assert found["actual"] == best and found["written"] == f"batch {best + 1} in 1GiB"


@pytest.mark.parametrize("budget, message", [
    ("min_fit_batch: {batch: 64}\n", "budget: min_fit_batch: needs memory"),
    ("train_peak_bytes: {max: 1GiB, optimiser: adam}\n", "unknown key 'optimiser'; it takes max, batch"),
    ("train_peak_bytes: {max: 1GiB, optimizer: lion}\n", "budget: train_peak_bytes: --optimizer takes sgd"),
    ("train_peak_bytes: lots\n", "budget: train_peak_bytes: max must be a number"),
    ("min_fit_batch: 64\n", "min_fit_batch: must be a mapping"),
])
def test_a_bad_training_budget_is_one_line_with_its_line(tmp_path, budget, message):
    result, path = _check(tmp_path, budget)
    assert result.exit_code == 2
    line = result.stderr.strip()
    assert "\n" not in line and message in line and f"{path}:15:" in line, line
