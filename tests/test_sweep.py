"""convcalc/sweep.py and `convcalc sweep`: a point is `shapes` at that point, the axes' product and
their spellings, the fitted growth exponents and where the growth is not a power law."""

from __future__ import annotations

import csv
import io
import json

import pytest
from click.testing import CliRunner

from convcalc.cli import cli
from convcalc.errors import UsageError
from convcalc.sources import read_argument
from convcalc.spec import Overrides, read_line
from convcalc.sweep import Axis, numbers, input_axis, run, size


def cli_run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def shapes_json(*args: str) -> dict:
    result = cli_run("shapes", *args, "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.mark.parametrize("spec, sweep_args, points", [
    ("resnet50", ["--input", "3x128x128,3x512x512", "--batch", "1,8"],
     [(["--input", "3x128x128", "--batch", "1"]), (["--input", "3x128x128", "--batch", "8"]),
      (["--input", "3x512x512", "--batch", "1"]), (["--input", "3x512x512", "--batch", "8"])]),
    ("efficientnet", ["--set", "width=1.0,1.2", "--set", "depth=1.4", "--input", "3x300x300"],
     [(["--set", "width=1.0", "--set", "depth=1.4", "--input", "3x300x300"]),
      (["--set", "width=1.2", "--set", "depth=1.4", "--input", "3x300x300"])]),
])
def test_a_point_is_shapes_at_that_point(spec, sweep_args, points):
    result = cli_run("sweep", spec, *sweep_args, "--format", "json")
    assert result.exit_code == 0, result.output
    swept = json.loads(result.stdout)["points"]
    assert len(swept) == len(points)
    for point, args in zip(swept, points):
        shown = shapes_json(spec, *args)
        assert point["total"] == shown["total"]
        assert [point["batch"], *point["input"]] == shown["input"]
        assert point["args"] == shown["args"]
        assert point["output"] == shown["output"] and point["receptive_field"] == shown["receptive_field"]


def test_the_last_axis_varies_fastest_and_batch_multiplies():
    result = run(read_argument("lenet5"), [Axis("input", ((1, 32, 32), (1, 36, 36))), Axis("batch", (1, 4))])
    assert [(p.input, p.batch) for p in result.points] == [((1, 32, 32), 1), ((1, 32, 32), 4), ((1, 36, 36), 1),
                                                            ((1, 36, 36), 4)]
    assert result.points[1].total.macs == 4 * result.points[0].total.macs
    assert result.points[1].total.params == result.points[0].total.params


# A conv whose MACs grow as size^2 (16 * (3 * 3 * 3) per output position, padding keeps the size),
# then a global pool and a linear 16 -> 1000 whose 16,000 MACs never change.
HEADED = "3x8x8 | conv 16 k3 p1 bias=false | gap | flatten | linear 1000"


def test_a_constant_head_bends_the_power_law_and_is_taken_out():
    sizes = (8, 16, 32, 64)
    result = run(read_line(HEADED), [Axis("input", tuple((3, s, s) for s in sizes))])
    macs = next(f for f in result.fits if f.metric == "macs")
    assert [p.total.macs for p in result.points] == [16 * 27 * s * s + 16 * 1000 for s in sizes]
    assert not macs.power_law and macs.deviation > 0.01
    assert macs.constant == 16 * 1000
    assert macs.exponent_rest == pytest.approx(2, abs=1e-12)  # 432 * s^2 exactly
    assert macs.deviation_rest == pytest.approx(0, abs=1e-12)
    params = next(f for f in result.fits if f.metric == "params")
    assert params.exponent == pytest.approx(0, abs=1e-12) and params.power_law


def test_resnet50_grows_as_size_squared_without_its_classifier():
    # at multiples of 32 every feature map is size / 2^k exactly, so the convs' MACs are c * size^2
    result = run(read_argument("resnet50"), [Axis("input", tuple((3, 32 * k, 32 * k) for k in (2, 4, 7, 16)))])
    macs = next(f for f in result.fits if f.metric == "macs")
    assert macs.constant == 2048 * 1000  # the fc after global pooling
    assert macs.exponent_rest == pytest.approx(2, abs=1e-9)
    memory = next(f for f in result.fits if f.metric == "peak_activation_bytes")
    assert memory.exponent == pytest.approx(2, abs=1e-9) and memory.power_law


def test_text_says_where_it_is_not_a_power_law(monkeypatch):
    monkeypatch.setenv("COLUMNS", "1000")  # each finding on one line
    text = cli_run("sweep", HEADED, "--input", "3x8x8,3x16x16,3x32x32").stdout
    # 432 * s^2 + 16,000 at s = 8, 16, 32: 43,648, 126,592, 458,368
    assert ("MACs ~ size^1.70, not a power law (a point is 7.1% off the fitted line); without the 16.0 k MACs that "
            "are the same at every size") in text
    assert "~ size^2.00 (within 0.1%)" in text
    assert "params: the same at every size" in text


@pytest.mark.parametrize("text, values", [
    ("1,8,64", [1, 8, 64]),
    ("1..4", [1, 2, 3, 4]),
    ("8..64:8", [8, 16, 24, 32, 40, 48, 56, 64]),
    ("0.5..1:0.25", [0.5, 0.75, 1.0]),
    ("0.5..1:0.1", [0.5, 0.6, 0.7, 0.8, 0.9, 1.0]),  # rounded to 12 places: 1.0 is in, not 0.9999999999999999
    ("1,2..3", [1, 2, 3]),
])
def test_numbers_and_ranges(text, values):
    assert numbers(text, "--batch") == values


def test_ranged_input_dimensions_move_together():
    assert input_axis("3x128..512:128x128..512:128,1x7x7").values == (
        (3, 128, 128), (3, 256, 256), (3, 384, 384), (3, 512, 512), (1, 7, 7))
    assert size((3, 128, 512)) == pytest.approx(256)  # the geometric mean of the spatial extents


@pytest.mark.parametrize("args, message", [
    (["--batch", "4..1"], "convcalc: --batch: the range '4..1' is empty (STOP below START)"),
    (["--batch", "1..100000"], "convcalc: --batch: the range '1..100000' has 100,000 values, over the limit of 10,000"),
    (["--input", "3x8..16x8..32"], "convcalc: --input 3x8..16x8..32: the ranged dimensions have different numbers "
                                   "of values (9, 25); they move together"),
    (["--input", "3x1..100x1..100", "--batch", "1..101"], "convcalc: the sweep has 10,100 points, over the limit"),
    (["--set", "width=1,2"], "convcalc: <text>: --set width: the spec has no argument 'width'; it declares no args"),
    ([], "convcalc: give an axis to sweep: --input 3x128x128,3x224x224, --batch 1,8,64 or --set width=0.5,1.0"),
    (["--batch", "1..8:0"], "convcalc: --batch: '1..8:0' is not a range START..STOP[:STEP] of numbers with a "
                            "positive step"),
])
def test_mistakes_are_one_line(args, message):
    result = CliRunner().invoke(cli, ["sweep", "3x8x8 | conv 4 k3", *args])
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.startswith(message) and result.stderr.count("\n") == 1


def test_an_axis_given_twice_is_refused():
    with pytest.raises(UsageError, match="the axis --set width is given twice"):
        run(read_argument("efficientnet"), [Axis("width", (1.0,)), Axis("width", (1.1,))])


def test_csv_is_one_row_per_point_and_markdown_a_table():
    result = cli_run("sweep", "efficientnet", "--set", "width=1.0,1.1", "--batch", "2", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [json.loads(r["args"])["width"] for r in rows] == [1.0, 1.1]
    assert rows[0]["macs"] == str(2 * 385_814_752) and rows[0]["batch"] == "2"
    markdown = cli_run("sweep", "efficientnet", "--set", "width=1.0,1.1", "--format", "markdown").stdout
    assert markdown.startswith("### sweep of efficientnet (library:efficientnet): 2 points, depth=1.0, "
                               "input 3x224x224\n")
    assert "| 1.1 | 6.12 M | 443 M |" in markdown  # wider than B0 (B2's width), at B0's depth


def test_plot_is_written(tmp_path):
    pytest.importorskip("matplotlib")
    path = tmp_path / "growth.png"
    result = cli_run("sweep", "resnet50", "--input", "3x128x128,3x224x224,3x320x320", "--plot", str(path))
    assert result.exit_code == 0, result.output
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert result.stderr == f"convcalc: wrote {path}\n"


def test_fixed_overrides_apply_where_no_axis_sets_them():
    result = run(read_argument("efficientnet"), [Axis("input", ((3, 240, 240),))],
                 Overrides(sets=(("depth", 1.1),)))
    assert result.points[0].args == {"width": 1.0, "depth": 1.1}
    assert result.points[0].total.params == 7_794_184  # B1
