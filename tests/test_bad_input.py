"""Broken and hostile specs: each file in tests/assets/bad/ exits 2 with exactly the one line in
its `.expect` file on stderr, and prints nothing else (no traceback, nothing on stdout).

To add a case: write `tests/assets/bad/NAME.yaml`, run
`convcalc shapes tests/assets/bad/NAME.yaml 2> tests/assets/bad/NAME.yaml.expect`, and read the
message: it must name the file, the line and (where there is one) the layer, and say why.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from convcalc.cli import cli

ROOT = Path(__file__).resolve().parent.parent
BAD = sorted((ROOT / "tests" / "assets" / "bad").glob("*.yaml"))


@pytest.fixture(autouse=True)
def at_root(monkeypatch):
    monkeypatch.chdir(ROOT)


@pytest.mark.parametrize("path", BAD, ids=[p.name for p in BAD])
def test_bad_spec_exits_2_with_its_one_line(path):
    relative = str(path.relative_to(ROOT))
    expected = Path(f"{path}.expect").read_text(encoding="utf-8")
    result = CliRunner().invoke(cli, ["shapes", relative])
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert result.stderr == expected
    assert expected.count("\n") == 1 and expected.startswith(f"convcalc: {relative}:")


def test_every_case_has_its_expectation():
    assert len(BAD) >= 50
    for path in BAD:
        assert Path(f"{path}.expect").is_file(), path.name


def test_python_tags_never_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in ("python_tag.yaml", "python_tag_nested.yaml"):
        result = CliRunner().invoke(cli, ["shapes", str(ROOT / "tests" / "assets" / "bad" / name)])
        assert result.exit_code == 2
    assert not (tmp_path / "convcalc-was-here").exists()


@pytest.mark.parametrize("name", ["deep_nesting.yaml", "alias_bomb.yaml", "binary.yaml", "kernel_too_large.yaml"])
def test_real_process_prints_one_line_and_no_traceback(name):
    path = f"tests/assets/bad/{name}"
    done = subprocess.run([sys.executable, "-m", "convcalc", "shapes", path], capture_output=True, text=True,
                          timeout=60, env={**os.environ, "PYTHONFAULTHANDLER": "1"})
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr == Path(f"{path}.expect").read_text(encoding="utf-8")


def test_oversized_file_is_refused_before_parsing(tmp_path):
    from convcalc import limits

    path = tmp_path / "big.yaml"
    path.write_text("input: [3, 8, 8]\nlayers:\n" + "  - relu\n" * (limits.MAX_FILE_BYTES // 8 + 1))
    result = CliRunner().invoke(cli, ["shapes", str(path)])
    assert result.exit_code == 2
    assert result.stderr == f"convcalc: {path}: spec is larger than the limit of {limits.MAX_FILE_BYTES} bytes\n"


def test_missing_file_and_directory(tmp_path):
    result = CliRunner().invoke(cli, ["shapes", str(tmp_path / "nope.yaml")])
    assert (result.exit_code, result.stderr) == (2, f"convcalc: {tmp_path / 'nope.yaml'}: no such file\n")
    result = CliRunner().invoke(cli, ["shapes", str(tmp_path)])
    assert (result.exit_code, result.stderr) == (2, f"convcalc: {tmp_path}: is a directory, not a spec file\n")


def test_huge_but_legal_dimensions_are_exact():
    # 10^12 positions: exact integer arithmetic, no overflow
    result = CliRunner().invoke(cli, ["shapes", "-e", "1x1000000000000 | conv 2 k3 bias=false", "--format", "csv"])
    assert result.exit_code == 0
    row = result.stdout.splitlines()[1].split(",")
    outputs = 10**12 - 2
    assert row[5] == f"1x2x{outputs}"
    assert int(row[8]) == outputs * 2 * 3  # MACs: out_elements * C * k


def test_layer_limit_counts_expanded_layers():
    from convcalc import limits

    blocks = "blocks:\n  ten:\n    layers: [{relu: {repeat: 10}}]\n"
    text = f"input: [1, 4]\n{blocks}layers:\n  - block: {{use: ten, repeat: {limits.MAX_LAYERS // 10 + 1}}}\n"
    result = CliRunner().invoke(cli, ["shapes", "-"], input=text)
    assert result.exit_code == 2
    assert f"more than {limits.MAX_LAYERS} layers" in result.stderr
