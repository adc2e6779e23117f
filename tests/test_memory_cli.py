"""`convcalc memory` end to end: formats (golden files), the JSON contract, --fit, options and
their errors, and that it never imports torch.

After an intended change of output, regenerate the golden files with
`CONVCALC_REGEN=1 pytest tests/test_memory_cli.py` and review the diff.
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
from convcalc.report import SCHEMAS

ROOT = Path(__file__).resolve().parent.parent
TINY = "tests/assets/tiny.yaml"
GOLDEN = ROOT / "tests" / "golden"


pytestmark = pytest.mark.usefixtures("plain_terminal")  # tests/conftest.py


def memory(*args: str):
    return CliRunner().invoke(cli, ["memory", *args], catch_exceptions=False)


@pytest.mark.parametrize("fmt, suffix", [("table", "txt"), ("json", "json"), ("csv", "csv"), ("markdown", "md")])
def test_golden_output(fmt, suffix):
    result = memory(TINY, "--batch", "1,8", "--optimizer", "adam", "--fit", "1GiB", "--format", fmt)
    assert result.exit_code == 0
    path = GOLDEN / f"memory_tiny.{suffix}"
    if os.environ.get("CONVCALC_REGEN"):
        path.write_text(result.stdout, encoding="utf-8")
    assert result.stdout == path.read_text(encoding="utf-8")


def test_json_is_the_documented_contract():
    doc = json.loads(memory(TINY, "--format", "json", "--fit", "24GiB").stdout)
    assert doc["schema"] == SCHEMAS["memory"] == 1
    assert set(doc["total"]) >= {"weight_bytes", "buffer_bytes", "grad_bytes", "optimizer_bytes", "saved_bytes",
                                 "peak_bytes", "inference_peak_bytes", "forward_flops", "backward_flops"}
    assert all(set(layer) >= {"name", "saved_bytes", "forward_flops", "backward_flops"} for layer in doc["layers"])
    assert set(doc["fit"]) == {"memory", "fits", "max_batch", "peak_bytes"} and doc["fit"]["memory"] == 24 * 2**30
    assert doc["total"]["saved_bytes"] == sum(layer["saved_bytes"] for layer in doc["layers"])
    assert doc["total"]["backward_flops"] == sum(layer["backward_flops"] for layer in doc["layers"])


def test_several_batches_are_an_array_and_only_activations_grow():
    docs = json.loads(memory(TINY, "--format", "json", "--batch", "1,4").stdout)
    assert [d["batch"] for d in docs] == [1, 4]
    assert docs[0]["total"]["weight_bytes"] == docs[1]["total"]["weight_bytes"]
    # what is kept per sample grows with the batch; the two batch norms' statistics (running mean
    # and variance, batch mean and 1/std: 4 x 16 channels x 4 bytes each) do not
    fixed = 2 * 4 * 16 * 4
    assert docs[1]["total"]["saved_bytes"] == fixed + 4 * (docs[0]["total"]["saved_bytes"] - fixed)


def test_fit_is_the_largest_batch_whose_peak_fits():
    doc = json.loads(memory(TINY, "--format", "json", "--fit", "100MiB").stdout)
    best = doc["fit"]["max_batch"]
    at = json.loads(memory(TINY, "--format", "json", "--batch", f"{best},{best + 1}").stdout)
    assert at[0]["total"]["peak_bytes"] == doc["fit"]["peak_bytes"] <= 100 * 2**20 < at[1]["total"]["peak_bytes"]


def test_fit_answers_each_batch_in_its_last_lines_and_in_json():
    # A batch at the largest that fits, and one past it: the last lines say so, one per batch.
    best = json.loads(memory(TINY, "--format", "json", "--fit", "100MiB").stdout)["fit"]["max_batch"]
    batches = f"{best},{best + 1}"
    docs = json.loads(memory(TINY, "--format", "json", "--batch", batches, "--fit", "100MiB").stdout)
    assert [d["fit"]["fits"] for d in docs] == [True, False]
    assert [d["fit"]["max_batch"] for d in docs] == [best, best]
    from convcalc.units import nbytes

    need = [nbytes(d["total"]["peak_bytes"]) for d in docs]
    largest = f"the largest batch that fits is {best:,} (needs {need[0]})"
    expected = [f"batch {best:,}: needs {need[0]}, fits in 100 MiB; {largest}",
                f"batch {best + 1:,}: needs {need[1]}, does not fit in 100 MiB; {largest}"]
    for args in ((), ("--summary",)):
        lines = memory(TINY, "--batch", batches, "--fit", "100MiB", *args).stdout.splitlines()
        assert lines[-2:] == expected
    markdown = memory(TINY, "--batch", batches, "--fit", "100MiB", "--format", "markdown").stdout.splitlines()
    assert markdown[-2:] == [f"**{line}**  " for line in expected]


def test_not_even_batch_1_fits():
    result = memory(TINY, "--fit", "1KiB")
    assert result.stdout.splitlines()[-1].endswith(", does not fit in 1.00 KiB; not even batch 1 fits")


def test_summary_leaves_out_the_table_only(monkeypatch):
    monkeypatch.setenv("COLUMNS", "1000")  # nothing hidden, nothing wrapped
    full = memory(TINY, "--batch", "8", "--fit", "1GiB").stdout
    short = memory(TINY, "--batch", "8", "--fit", "1GiB", "--summary").stdout
    assert "┌" not in short and "conv1" not in short
    # the same title, summary lines, note and answer as under the table
    table_end = full.index("┘\n") + 2
    assert short == full.splitlines(keepends=True)[0] + full[table_end:]


@pytest.mark.parametrize("command", ["memory", "shapes"])
def test_summary_is_for_the_formats_for_people(command):
    result = CliRunner().invoke(cli, [command, TINY, "--summary", "--format", "json"])
    assert (result.exit_code, result.output) == (
        2, "convcalc: --summary leaves out the table of --format table or markdown; json always holds every layer\n")


def test_amp_halves_what_conv_keeps_and_keeps_float32_weights():
    fp32 = json.loads(memory(TINY, "--format", "json").stdout)
    amp = json.loads(memory(TINY, "--format", "json", "--amp").stdout)
    assert amp["amp"] == "bfloat16" and amp["dtype"] == "float32"
    assert amp["total"]["weight_bytes"] == fp32["total"]["weight_bytes"]
    assert amp["layers"][0]["dtype"] == "bfloat16"
    # stem keeps a bfloat16 copy of the float32 input (3x32x32) and of its weight (16x3x3x3)
    assert amp["layers"][0]["saved_bytes"] == 3 * 32 * 32 * 2 + 16 * 3 * 3 * 3 * 2


@pytest.mark.parametrize("args, message", [
    (["--fit", "lots"], "--fit must be a number with an optional unit"),
    (["--fit", "0"], "--fit must be at least 1 byte, got '0'"),
    (["--amp", "--dtype", "bfloat16"], "--amp keeps float32 master weights"),
    (["--batch", "0"], "--batch must be from 1 to"),
    (["--optimizer", "lion"], "Invalid value for '--optimizer'"),
])
def test_bad_options_are_one_line_and_exit_2(args, message):
    done = subprocess.run([sys.executable, "-m", "convcalc", "memory", TINY, *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=60)
    assert done.returncode == 2
    assert message in done.stderr and done.stderr.count("\n") == 1, done.stderr


def test_an_int8_spec_names_the_way_out():
    done = subprocess.run([sys.executable, "-m", "convcalc", "memory", "-e", "3x8x8 | conv 4 k3"], capture_output=True,
                          text=True, cwd=ROOT, timeout=60)
    assert done.returncode == 0
    text = "input: [3, 8, 8]\ndtype: int8\nlayers: [{conv: {out: 4, k: 3}}]\n"
    done = subprocess.run([sys.executable, "-m", "convcalc", "memory", "-"], input=text, capture_output=True,
                          text=True, cwd=ROOT, timeout=60)
    assert done.returncode == 2 and "training in int8 is not modelled" in done.stderr


def test_memory_never_imports_heavy_modules():
    code = ("import sys\nfrom click.testing import CliRunner\nfrom convcalc.cli import cli\n"
            "for spec in ('specs/resnet50.yaml', 'specs/vit_b_16.yaml'):\n"
            "  for fmt in ('table', 'json', 'csv', 'markdown'):\n"
            "    r = CliRunner().invoke(cli, ['memory', spec, '--batch', '1,64', '--fit', '24GiB', '--format', fmt])\n"
            "    assert r.exit_code == 0, r.output\n"
            "print(sorted(m for m in ('torch', 'numpy', 'fvcore', 'matplotlib', 'rich') if m in sys.modules))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
