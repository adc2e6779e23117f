"""convcalc/scale.py and `convcalc scale`: EfficientNet's compound scaling of a parametric spec, the
course notes' constraint alpha * beta^2 * gamma^2 ~ 2, why real networks grow otherwise, and the
--search grid (ranked by cost alone)."""

from __future__ import annotations

import json
import textwrap
from fractions import Fraction

import pytest
from click.testing import CliRunner

from convcalc.cli import cli
from convcalc.sources import read_argument
from convcalc.spec import reads
from convcalc.scale import PAPER, phis, scale


def cli_run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


# A stack of equal convs whose depth, width and input channels follow the arguments: every MAC
# grows as depth x width^2 x resolution^2, exactly when the rounding is exact.
STACK = textwrap.dedent("""\
    args: {depth: 1.0, width: 1.0}
    input: "${round(16 * width)}x32x32"
    layers:
      - conv: {out: "${round(16 * width)}", k: 3, p: 1, bias: false, repeat: "${round(4 * depth)}"}
""")


def test_the_course_notes_constraint_is_what_macs_grow_by_when_nothing_rounds():
    # The notes: d = alpha^phi, w = beta^phi, r = gamma^phi, s.t. alpha * beta^2 * gamma^2 ~ 2.
    # With alpha 1.5, beta 1.25, gamma 1.25 everything is exact: depth 4 -> 6 -> 9, width 16 -> 20 -> 25,
    # resolution 32 -> 40 -> 50, so MACs grow by exactly (1.5 * 1.25^2 * 1.25^2)^phi.
    result = scale(reads(STACK, "stack.yaml"), [0, 1, 2], alpha=1.5, beta=1.25, gamma=1.25)
    constraint = Fraction(3, 2) * Fraction(5, 4) ** 2 * Fraction(5, 4) ** 2
    assert result.constraint == float(constraint) == 3.662109375
    base = result.rows[0].report.total.macs
    assert base == 4 * (16 * 16 * 9) * (32 * 32)
    for row, (n, c, r) in zip(result.rows, [(4, 16, 32), (6, 20, 40), (9, 25, 50)]):
        assert row.input == (c, r, r)
        assert row.report.total.macs == n * (c * c * 9) * (r * r)
        assert Fraction(row.report.total.macs, base) == constraint ** row.phi
        assert row.expected == pytest.approx(row.ratio, rel=1e-12)


def test_the_papers_constants_promise_1_92_not_2():
    result = scale(read_argument("efficientnet"), [0, 1])
    assert result.constraint == pytest.approx(1.2 * 1.1 ** 2 * 1.15 ** 2) == pytest.approx(1.92027)
    assert result.notes[0].startswith("the constraint: alpha * beta^2 * gamma^2 = 1.2 * 1.1^2 * 1.15^2 = 1.9203 "
                                      "(the course notes: ~ 2)")
    assert [row.formula for row in result.rows] == [1.0, pytest.approx(1.92027)]


def test_a_row_is_shapes_at_its_depth_width_and_resolution():
    row = scale(read_argument("efficientnet"), [0, 1]).rows[1]
    assert (row.depth, row.width, row.input) == (1.2, 1.1, (3, 258, 258))  # 224 * 1.15 = 257.6 -> 258
    shown = json.loads(cli_run("shapes", "efficientnet", "--set", "depth=1.2", "--set", "width=1.1", "--input",
                               "3x258x258", "--format", "json").stdout)
    assert row.report.total.to_dict() == shown["total"]
    assert row.ratio == shown["total"]["macs"] / 385_814_752  # B0's MACs at 224


def test_why_efficientnet_grows_otherwise_is_measured():
    result = scale(read_argument("efficientnet"), [0, 7])
    last = result.rows[-1]
    assert last.depth_used > last.depth  # ceil rounds each stage's depth up
    text = "\n".join(result.notes)
    assert "are depthwise convolutions: they grow as width x resolution^2" in text
    assert "the paper's B1-B7 are not this formula" in text and "B7 2/3.1/600" in text
    assert "phi=7 1.95/3.58/596" in text  # beta^7 = 1.95, alpha^7 = 3.58, 224 * 1.15^7 = 596
    assert PAPER[3] == (1.2, 1.4, 300)


def test_search_ranks_candidates_by_their_measured_growth():
    result = scale(reads(STACK, "stack.yaml"), [0], search_step=0.25, tolerance=0.05, top=50)
    # the grid 1, 1.25, ..., 2 in each of alpha, beta, gamma: three products lie within 5% of 2,
    # 2 * 1 * 1 = 2 and 1.25 * 1.25^2 = 1.25 * 1.25^2 = 1.953125; depth 4 * 1.25 = 5 and width
    # 16 * 1.25 = 20 or resolution 32 * 1.25 = 40 are exact, so their growth is their product
    assert [(c.alpha, c.beta, c.gamma, c.ratio) for c in result.search] == [
        (2.0, 1.0, 1.0, 2.0), (1.25, 1.0, 1.25, 1.953125), (1.25, 1.25, 1.0, 1.953125)]
    assert result.searched == 3


def test_search_says_accuracy_is_not_convcalcs_to_know():
    result = cli_run("scale", "efficientnet", "--phi", "0,1", "--search", "--step", "0.25")
    assert result.exit_code == 0, result.output
    assert "convcalc knows costs, not accuracy" in result.stdout
    data = json.loads(cli_run("scale", "efficientnet", "--phi", "0,1", "--search", "--step", "0.25",
                              "--format", "json").stdout)
    assert data["search"]["note"].startswith("convcalc knows costs, not accuracy")
    assert data["rows"][1]["input"] == [3, 258, 258] and data["constraint"] == pytest.approx(1.92027)


@pytest.mark.parametrize("args, message", [
    (["resnet50"], "convcalc: library:resnet50: scale sets the spec's 'depth' argument, which it does not declare "
                   "(its args: none); name the right one with --depth-arg"),
    (["mobilenetv2"], "convcalc: library:mobilenetv2: scale sets the spec's 'depth' argument"),
    (["efficientnet", "--phi", "0..40"], "convcalc: --phi takes whole numbers from 0 to 16"),
    (["efficientnet", "--alpha", "0.5"], "convcalc: --alpha must be from 1 to 4, got 0.5"),
    (["efficientnet", "--search", "--step", "0.001"], "convcalc: --step must be from 0.01 to 0.5, got 0.001"),
    (["efficientnet", "--search", "--step", "0.01", "--tolerance", "0.5"], "convcalc: --search would measure "),
])
def test_mistakes_are_one_line(args, message):
    result = CliRunner().invoke(cli, ["scale", *args])
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.startswith(message) and result.stderr.count("\n") == 1


def test_phis():
    assert phis("0..7") == list(range(8)) and phis("0,2,5") == [0, 2, 5]
