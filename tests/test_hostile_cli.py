"""Hostile and careless input at the command line: one line on stderr and the documented exit
code, never a traceback, never raw control characters on the terminal (issue 11, sections 3, 4
and 8). Each case is the smallest input that broke an earlier version."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from convcalc import limits
from convcalc.cli import cli

from .conftest import HANG_GUARD_S

ROOT = Path(__file__).resolve().parent.parent
LENET = "specs/lenet5.yaml"
EVIL_NAME = "\x1b]0;pwned\x07\x1b[31mred\u202e"  # sets the terminal title, paints red, reverses text


pytestmark = pytest.mark.usefixtures("plain_terminal")  # tests/conftest.py


def invoke(*args: str, input: str | bytes | None = None):
    return CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)


def one_line_error(result, *fragments: str) -> None:
    assert result.exit_code == 2, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("convcalc: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0]


def process(*args: str, **kwargs):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    kwargs.setdefault("stdout", subprocess.PIPE)
    return subprocess.run([sys.executable, "-m", "convcalc", *args], cwd=ROOT, env=env, stderr=subprocess.PIPE,
                          timeout=60, **kwargs)


# -- batch: one bound, from one place, on every command ----------------------------------------

BAD_BATCHES = [
    ("0", "from 1 to 281474976710656"),
    (str(limits.MAX_SIZE + 1), "got 281474976710657"),  # 2^48 + 1
    ("99999999999999999999", "got 99999999999999999999"),
    ("9" * 4299, "(4299 characters)"),  # past Python's int-to-text limit: was a ValueError
    ("9" * 310, "(310 characters)"),  # a float overflow in the table
    ("５", "takes a whole number"),  # full-width digit: int() accepts it, a user did not mean it
    ("-3", "takes a whole number"),
]


@pytest.mark.parametrize("command", [["shapes", LENET], ["shapes", LENET, "--format", "json"],
                                     ["verify", LENET], ["compare", LENET, LENET]])
@pytest.mark.parametrize("batch, fragment", BAD_BATCHES)
def test_batch_is_bounded_the_same_everywhere(command, batch, fragment):
    one_line_error(invoke(*command, "--batch", batch), "--batch", fragment)


def test_the_largest_batch_is_exact():
    data = json.loads(invoke("shapes", LENET, "--format", "json", "--batch", str(2**48)).stdout)
    # conv c1: 6 filters of 5x5 over 1 channel at 28x28 positions, per sample, times the batch
    assert data["layers"][0]["macs"] == 6 * 28 * 28 * (5 * 5 * 1) * 2**48
    assert invoke("shapes", LENET, "--batch", str(2**48)).exit_code == 0  # the table too


# -- standard input --------------------------------------------------------------------------

def test_stdin_takes_the_one_line_form():
    result = invoke("shapes", "-", "--format", "json", input="3x32x32 | conv 8 k3 | relu\n")
    data = json.loads(result.stdout)
    assert data["source"] == "<stdin>" and data["output"] == [1, 8, 32 - 3 + 1, 32 - 3 + 1]


def test_stdin_still_takes_yaml():
    result = invoke("shapes", "-", "--format", "json", input="input: [3, 8, 8]\nlayers: [{conv: {out: 4, k: 3}}]\n")
    assert json.loads(result.stdout)["output"] == [1, 4, 8 - 3 + 1, 8 - 3 + 1]


def test_stdin_that_is_not_utf8():
    one_line_error(invoke("shapes", "-", input=b"input: [3, 8, 8]\n\xff\xfe"), "<stdin>:2", "not UTF-8")


def test_stdin_has_the_file_size_limit():
    one_line_error(invoke("shapes", "-", input="y\n" * (limits.MAX_FILE_BYTES // 2 + 1)),
                   f"larger than the limit of {limits.MAX_FILE_BYTES} bytes")


def test_closed_stdin():
    result = process("shapes", "-", stdin=subprocess.DEVNULL, preexec_fn=lambda: os.close(0))
    assert result.returncode == 2 and result.stderr.decode().splitlines() == [
        "convcalc: <stdin>: standard input is closed; give a spec file or pipe one in"]


def test_a_missing_path_with_a_bar_is_a_missing_file_not_a_spec():
    one_line_error(invoke("shapes", "nets/a|b.yaml"), "nets/a|b.yaml: no such file")


# -- the report's stream and interrupts --------------------------------------------------------

def test_a_full_disk_on_stdout_is_one_line():
    with open("/dev/full", "w") as full:
        result = process("shapes", LENET, stdout=full)
    assert result.returncode == 2
    assert result.stderr.decode() == "convcalc: cannot write the report: No space left on device\n"


def wait_until_reading(pid: int) -> None:
    """Until the process blocks reading its stdin pipe (Linux's /proc says where it sleeps)."""
    wchan = Path(f"/proc/{pid}/wchan")
    for _ in range(600):
        if not wchan.exists():
            time.sleep(3)  # no /proc: give it time to start
            return
        if "pipe_read" in wchan.read_text():  # pipe_read, or anon_pipe_read on newer kernels
            return
        time.sleep(0.05)


def test_sigint_exits_130():
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    # stdin is a pipe nobody writes to, so the command waits until it is interrupted
    proc = subprocess.Popen([sys.executable, "-m", "convcalc", "shapes", "-"], cwd=ROOT, env=env,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        wait_until_reading(proc.pid)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=HANG_GUARD_S)
    finally:
        proc.kill()
    assert proc.returncode == 130
    assert err.decode() == "convcalc: interrupted\n"


# -- nothing from a spec reaches the terminal raw ----------------------------------------------

def evil_spec(tmp_path: Path) -> str:
    path = tmp_path / "evil.yaml"
    path.write_text(json.dumps({"name": EVIL_NAME, "input": [3, 8, 8], "layers": [{"conv": {"out": 4, "k": 3}}]}))
    return str(path)


@pytest.mark.parametrize("fmt", ["table", "markdown", "csv", "json"])
def test_shapes_escapes_spec_text(tmp_path, fmt):
    result = invoke("shapes", evil_spec(tmp_path), "--format", fmt)
    assert result.exit_code == 0
    for raw in ("\x1b", "\x07", "\u202e"):
        assert raw not in result.stdout
    shown = "\\x1b]0;pwned\\x07\\x1b[31mred\\u202e"
    if fmt == "json":
        assert json.loads(result.stdout)["name"] == EVIL_NAME  # the data is kept, exactly
    elif fmt == "markdown":  # Markdown escapes the escapes, so that they render as shown
        assert shown.replace("\\", "\\\\").replace("[", "\\[").replace("]", "\\]") in result.stdout
    else:
        assert shown in result.stdout


def test_compare_escapes_spec_names(tmp_path):
    result = invoke("compare", evil_spec(tmp_path), LENET)
    assert result.exit_code == 0 and "\x1b" not in result.stdout and "\\x1b]0;pwned" in result.stdout


def test_one_line_text_escapes_its_name():
    result = invoke("shapes", "-e", "3x8x8 name=\x1b[31mx | conv 4 k3")
    assert "\x1b" not in result.stdout and "\\x1b[31mx (<-e>)" in result.stdout


def test_a_file_name_with_a_newline_cannot_forge_a_workflow_command(tmp_path):
    path = tmp_path / "x\n::error file=forged.yaml::owned.yaml"
    path.write_text("input: [3, 8, 8]\nlayers: [{conv: {out: 4, k: 9}}]\n")
    for command in (["shapes"], ["compare", LENET], ["verify"]):
        result = invoke(*command, str(path))
        one_line_error(result, "\\n::error file=forged.yaml::owned.yaml:2")
        assert "\n::error" not in result.stderr


def test_verify_json_has_a_schema_version():
    pytest.importorskip("torch")
    pytest.importorskip("fvcore")
    data = json.loads(invoke("verify", LENET, "--format", "json", "--no-fvcore").stdout)
    assert data["schema"] == 1 and data["ok"] is True


@pytest.mark.parametrize("args", [
    ["compare", "regular", "--input", "3x8x8", "--out", "５"],  # full-width 5: click's int takes it
    ["compare", "regular", "--input", "3x8x8", "--out", "8", "-k", "1_000"],  # so does Python's int()
    ["check", LENET, "--align", "٨"],  # Arabic-Indic 8
])
def test_integer_options_take_ascii_digits_only(args):
    one_line_error(invoke(*args), "is not a whole number in digits 0-9")
