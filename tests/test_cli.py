"""`convcalc shapes` end to end: formats (against golden files), options, exit codes, streams.

Golden files live in tests/golden/; after an intended change of output, regenerate them with
`CONVCALC_REGEN=1 pytest tests/test_cli.py` and review the diff.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from convcalc.cli import cli
from convcalc.reporters import FORMATS, RENDERERS, Format

ROOT = Path(__file__).resolve().parent.parent
TINY = "tests/assets/tiny.yaml"
GOLDEN = ROOT / "tests" / "golden"


pytestmark = pytest.mark.usefixtures("plain_terminal")  # tests/conftest.py


def shapes(*args: str, input: str | None = None):
    return CliRunner().invoke(cli, ["shapes", *args], input=input, catch_exceptions=False)


@pytest.mark.parametrize("fmt, suffix", [("table", "txt"), ("json", "json"), ("csv", "csv"), ("markdown", "md")])
def test_golden_output(fmt, suffix):
    result = shapes(TINY, "--format", fmt)
    assert result.exit_code == 0
    assert result.stderr == ""
    golden = GOLDEN / f"tiny.{suffix}"
    if os.environ.get("CONVCALC_REGEN"):
        golden.write_text(result.stdout, encoding="utf-8")
    assert result.stdout == golden.read_text(encoding="utf-8")


def test_every_format_has_a_reporter():
    assert set(FORMATS) == set(RENDERERS) == set(Format)
    for fmt in Format:
        assert shapes(TINY, "--format", fmt.value).exit_code == 0


def test_json_contract():
    data = json.loads(shapes(TINY, "--format", "json").stdout)
    assert {"name", "input", "layers", "total"} <= set(data)
    assert data["schema"] == 1
    assert data["input"] == [1, 3, 32, 32]
    layer_keys = {"name", "kind", "inputs", "output", "params", "buffers", "macs", "flops", "output_bytes",
                  "receptive_field", "global", "warnings"}
    for layer in data["layers"]:
        assert layer_keys <= set(layer)
    # the flatten of conv2's 5x5 map keeps one position's field and adds the global context
    assert [layer["global"] for layer in data["layers"]][-3:] == [False, True, True]
    assert data["global"] is True
    assert {"params", "buffers", "macs", "flops", "peak_activation_bytes"} <= set(data["total"])
    # per-row sums equal the totals
    for key in ("params", "buffers", "macs", "flops"):
        assert data["total"][key] == sum(layer[key] for layer in data["layers"])
    # the warning of the stride-3 conv: (16 - 3) % 3 = 1 column never covered
    conv2 = next(layer for layer in data["layers"] if layer["name"] == "conv2")
    assert conv2["warnings"] == ["stride 3 does not fit axis H: the last 1 of 16 input positions are never covered",
                                 "stride 3 does not fit axis W: the last 1 of 16 input positions are never covered"]


def test_json_is_deterministic():
    assert shapes(TINY, "--format", "json").stdout == shapes(TINY, "--format", "json").stdout


def test_several_specs_give_an_array_in_argument_order():
    result = shapes(TINY, "-e", "3x8x8 | relu", "--format", "json")
    data = json.loads(result.stdout)
    assert [d["name"] for d in data] == ["tiny", "text"]


def test_text_form_as_argument_and_stdin():
    assert json.loads(shapes("3x8x8 | conv 4 k3", "--format", "json").stdout)["layers"][0]["output"] == [1, 4, 6, 6]
    data = json.loads(shapes("-", "--format", "json", input="input: [1, 4]\nlayers: [relu]\n").stdout)
    assert (data["source"], data["layers"][0]["output"]) == ("<stdin>", [1, 1, 4])


def test_batch_option_overrides_the_spec():
    data = json.loads(shapes(TINY, "--batch", "8", "--format", "json").stdout)
    one = json.loads(shapes(TINY, "--format", "json").stdout)
    assert data["layers"][-1]["output"] == [8, 10]
    assert data["total"]["macs"] == 8 * one["total"]["macs"]
    assert data["total"]["params"] == one["total"]["params"]


def test_csv_is_one_row_per_layer_with_exact_numbers_and_a_totals_row():
    import csv

    rows = list(csv.DictReader(shapes(TINY, "--format", "csv").stdout.splitlines()))
    data = json.loads(shapes(TINY, "--format", "json").stdout)
    layers, total = rows[:-1], rows[-1]
    assert len(layers) == len(data["layers"])
    assert layers[0]["macs"] == str(data["layers"][0]["macs"])
    assert total["name"] == "total" and total["index"] == ""
    for key in ("params", "buffers", "macs", "flops", "output_bytes", "weight_bytes"):
        assert int(total[key]) == sum(int(row[key]) for row in layers)  # the sums of the rows above
    assert int(total["macs"]) == data["total"]["macs"]
    assert total["output"] == "x".join(map(str, data["output"]))


def test_exact_tables_show_every_digit():
    data = json.loads(shapes("specs/resnet50.yaml", "--format", "json").stdout)
    table = shapes("specs/resnet50.yaml", "--exact").stdout
    markdown = shapes("specs/resnet50.yaml", "--exact", "--format", "markdown").stdout
    total = data["total"]
    assert total["params"] == 25_557_032  # torchvision's resnet50, pinned in test_library.py
    assert f"{total['params']:,}" in table and f"{total['macs']:,}" in table and f"{total['flops']:,}" in table
    assert f"**{total['macs']:,}**" in markdown
    assert "25.6 M" not in table and "25.6 M" in shapes("specs/resnet50.yaml").stdout


def test_usage_errors_exit_2():
    result = shapes()
    assert result.exit_code == 2
    assert "give a spec file" in result.stderr
    assert shapes(TINY, "--format", "yaml").exit_code == 2
    assert shapes(TINY, "--batch", "0").exit_code == 2


@pytest.mark.parametrize("args, line", [
    (["shapes", TINY, "--format", "yaml"], "Invalid value for '--format': 'yaml' is not one of 'table', 'json', "
                                           "'csv', 'markdown' (see 'convcalc shapes --help')"),
    (["shapes", TINY, "--bogus"], "No such option '--bogus' (see 'convcalc shapes --help')"),
    (["frobnicate"], "No such command 'frobnicate' (see 'convcalc --help')"),
])
def test_click_usage_errors_are_one_line_too(args, line):
    result = CliRunner().invoke(cli, args, prog_name="convcalc")
    assert (result.exit_code, result.stdout, result.stderr) == (2, "", f"convcalc: {line}\n")


def test_colour_only_when_asked_and_never_with_no_color(monkeypatch):
    assert "\x1b[" not in shapes(TINY).stdout  # not a terminal
    monkeypatch.setenv("FORCE_COLOR", "1")
    assert "\x1b[" in shapes(TINY).stdout
    monkeypatch.setenv("NO_COLOR", "1")
    assert "\x1b[" not in shapes(TINY).stdout


def test_table_fits_a_narrow_terminal(monkeypatch):
    monkeypatch.setenv("COLUMNS", "70")
    lines = shapes("specs/resnet50.yaml").stdout.splitlines()
    table = [line for line in lines if line[:1] in "┌│├└"]
    assert max(len(line) for line in table) <= 70
    assert "layer1.b0.conv1"[:6] in "\n".join(table)
    # the summary, warnings and conventions under it wrap too
    warned = shapes("-e", "3x32x32 | conv 16 k3 s2 | conv 8 k4 p=same").stdout.splitlines()
    assert max(len(line) for line in warned) <= 70
    assert "  conv1 (line 1): stride 2 does not fit axis H: the last 1 of 32 input" in warned


def test_a_pipe_fits_80_columns_and_columns_widens_it(monkeypatch):
    monkeypatch.delenv("COLUMNS", raising=False)
    lines = shapes("-e", "3x32x32 | conv 16 k3 s2").stdout.splitlines()
    assert max(map(len, lines)) <= 80
    assert "conv1 (line 1): stride 2 does not fit axis H: the last 1 of 32 input positions are never covered" in (
        " ".join(" ".join(lines).split()))
    monkeypatch.setenv("COLUMNS", "1000")
    lines = shapes("-e", "3x32x32 | conv 16 k3 s2").stdout.splitlines()
    assert "  conv1 (line 1): stride 2 does not fit axis H: the last 1 of 32 input positions are never covered" in lines


def test_help_lists_commands_and_exit_codes():
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    assert "shapes" in result.stdout and "Exit codes" in result.stdout


def test_shapes_and_predict_never_import_heavy_modules():
    code = ("import sys\nfrom click.testing import CliRunner\nfrom convcalc.cli import cli\n"
            "for spec in ('specs/resnet50.yaml', 'specs/vit_b_16.yaml'):\n"
            "  for fmt in ('table', 'json', 'csv', 'markdown'):\n"
            "    r = CliRunner().invoke(cli, ['shapes', spec, '--format', fmt])\n"
            "    assert r.exit_code == 0, r.output\n"
            "for fmt in ('table', 'json'):\n"  # predict, as fast as shapes (docs/predict.md)
            "  r = CliRunner().invoke(cli, ['predict', 'specs/resnet50.yaml', '--device', 'a100-sxm-80gb', "
            "'--format', fmt])\n"
            "  assert r.exit_code == 0, r.output\n"
            "print(sorted(m for m in ('torch', 'numpy', 'fvcore', 'matplotlib', 'rich') if m in sys.modules))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_broken_pipe_is_quiet():
    done = subprocess.run(f"{sys.executable} -m convcalc shapes specs/resnet50.yaml | head -n 1",
                          shell=True, capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert done.stdout.count("\n") == 1
    assert "Traceback" not in done.stderr


def test_python_api_docstring():
    import doctest

    import convcalc

    assert doctest.testmod(convcalc).failed == 0
