"""Baselines that never lose a file and never hang: `check --write-baseline` and `--baseline`.

Writing refuses a target that is not a convcalc baseline (the `--write-baseline specs/*.yaml`
mistake, where the shell puts the first spec there), a YAML name, a directory, and replaces the
file in one rename, so that a failed write keeps the old baseline; a device or FIFO is written as
a stream, never replaced (fileio's rule for every output). Reading refuses what cannot be
compared (an entry without every total, a misspelled total, a repeated key, a schema that is not
the number 1), a directory or device, and a FIFO whose writer does not come: it never blocks
forever. Tests that could hang run in a subprocess with a timeout.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from convcalc.check import baseline as baselines
from convcalc.cli import cli

from .conftest import HANG_GUARD_S

ROOT = Path(__file__).resolve().parent.parent
CLEAN = "tests/assets/check/clean.yaml"
# clean.yaml's totals: conv 8 -> 16 k3 p1 on 16x16, relu, gap, flatten, linear 16 -> 8; float32, no buffers
CONV, LINEAR = 16 * 16 * 16 * (8 * 9), 16 * 8  # MACs
PARAMS = (16 * 8 * 9 + 16) + (16 * 8 + 8)
TOTALS = {"params": PARAMS, "buffers": 0, "macs": CONV + LINEAR,
          "flops": (2 * CONV + 16 * 16 * 16) + 16 * 16 * 16 + 16 * 16 * 16 + (2 * LINEAR + 8),  # conv, relu, gap, fc
          "peak_activation_bytes": 2 * 16 * 16 * 16 * 4,  # conv's and relu's outputs alive together
          "weight_bytes": PARAMS * 4}
POSIX = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs and /dev/null are POSIX")


@pytest.fixture(autouse=True)
def at_root(monkeypatch):
    monkeypatch.chdir(ROOT)
    for var in ("NO_COLOR", "FORCE_COLOR", "COLUMNS"):
        monkeypatch.delenv(var, raising=False)


def check(*args: str):
    return CliRunner().invoke(cli, ["check", *args], catch_exceptions=False)


def one_line_exit_2(result, start: str, message: str) -> None:
    """exit 2, nothing on stdout, one line on stderr that starts with `start` and holds `message`."""
    assert (result.exit_code, result.stdout) == (2, ""), result.output
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith(start), result.stderr
    assert message in result.stderr, result.stderr


def baseline_doc(**entry_changes) -> dict:
    return {"schema": 1, "specs": {CLEAN: {"name": "clean", **TOTALS, **entry_changes}}}


def test_the_totals_here_are_the_analysis(tmp_path):
    path = tmp_path / "costs.json"
    assert check(CLEAN, "--write-baseline", str(path)).exit_code == 0
    assert json.loads(path.read_text(encoding="utf-8")) == baseline_doc()


# --------------------------------------------------------------------------------------------
# Writing: never over a file that is not a baseline


def test_write_baseline_with_a_glob_refuses_the_first_spec(tmp_path):
    # `convcalc check --write-baseline forgot/*.yaml`: the shell puts forgot/a.yaml after the option
    specs = tmp_path / "forgot"
    specs.mkdir()
    for name in ("a.yaml", "b.yaml"):
        shutil.copy(CLEAN, specs / name)
    before = (specs / "a.yaml").read_bytes()
    result = check("--write-baseline", str(specs / "a.yaml"), str(specs / "b.yaml"))
    one_line_exit_2(result, f"convcalc: {specs / 'a.yaml'}: ",
                    "refusing to write the baseline over a YAML file; name the baseline first, as in "
                    "--write-baseline costs.json specs/*.yaml")
    assert (specs / "a.yaml").read_bytes() == before


@pytest.mark.parametrize("name", ["new.yaml", "new.yml", "NEW.YAML", "costs.json.yml"])
def test_a_yaml_name_is_refused_even_when_it_does_not_exist(tmp_path, name):
    result = check(CLEAN, "--write-baseline", str(tmp_path / name))
    one_line_exit_2(result, f"convcalc: {tmp_path / name}: ", "refusing to write the baseline over a YAML file")
    assert not (tmp_path / name).exists()


NOT_BASELINES = {
    "a check report": None,  # `check --format json` output: "schema": 1, but "specs" is a list
    "empty": b"",
    "text": b"remember to update the budgets\n",
    "not JSON": b'{"schema": 1, "specs": {',
    "a JSON list": b"[1, 2]",
    "no specs": b'{"schema": 1}',
    "specs not a mapping": b'{"schema": 1, "specs": [1]}',
    "schema true": b'{"schema": true, "specs": {}}',
    "schema as text": b'{"schema": "1", "specs": {}}',
    "binary": bytes(range(256)),
}


@pytest.mark.parametrize("what", list(NOT_BASELINES))
def test_an_existing_file_that_is_not_a_baseline_is_left_alone(tmp_path, what):
    path = tmp_path / "costs.json"
    content = NOT_BASELINES[what]
    if content is None:
        content = check(CLEAN, "--format", "json").stdout.encode("utf-8")
    path.write_bytes(content)
    result = check(CLEAN, "--write-baseline", str(path))
    one_line_exit_2(result, f"convcalc: {path}: ", "refusing to overwrite a file that is not a convcalc baseline; "
                    "remove it first or give another name")
    assert path.read_bytes() == content


@pytest.mark.parametrize("old", [
    baseline_doc(macs=1),  # an out-of-date baseline: the usual case
    {"schema": 1, "specs": {}},
    {"schema": 1, "specs": {CLEAN: {}}},  # a broken entry: writing again is how it is repaired
])
def test_an_existing_baseline_is_replaced(tmp_path, old):
    path = tmp_path / "costs.json"
    path.write_text(json.dumps(old), encoding="utf-8")
    path.chmod(0o640)
    result = check(CLEAN, "--write-baseline", str(path))
    assert result.exit_code == 0 and result.stderr == f"wrote the baseline {path}: 1 spec\n"
    assert json.loads(path.read_text(encoding="utf-8")) == baseline_doc()
    assert stat.S_IMODE(path.stat().st_mode) == 0o640  # permission bits kept
    assert os.listdir(tmp_path) == ["costs.json"]  # no temporary file left behind


def test_a_directory_is_refused(tmp_path):
    result = check(CLEAN, "--write-baseline", str(tmp_path))
    one_line_exit_2(result, f"convcalc: {tmp_path}: ", "refusing to write the baseline over a directory; give a "
                    "file name, as in --write-baseline costs.json")
    assert os.listdir(tmp_path) == []


@POSIX
def test_a_device_is_written_as_a_stream_never_replaced():
    result = check(CLEAN, "--write-baseline", os.devnull)
    assert result.exit_code == 0, result.output
    assert stat.S_ISCHR(os.stat(os.devnull).st_mode)


def run_convcalc(*args: str, limit: str = "", timeout: float = 10) -> subprocess.CompletedProcess:
    """convcalc in a real process, under bash with `limit` (a ulimit command) when given; the
    timeout turns a hang into a failure instead of a stuck suite."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONDONTWRITEBYTECODE": "1"}
    command = [sys.executable, "-m", "convcalc", *args]
    if limit:
        command = ["bash", "-c", f'{limit}; exec "$@"', "bash", *command]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=ROOT, env=env)


@POSIX
def test_a_fifo_with_a_reader_gets_the_baseline_and_stays_a_fifo(tmp_path):
    import threading

    fifo = tmp_path / "costs.json"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()), daemon=True)
    reader.start()
    done = run_convcalc("check", CLEAN, "--write-baseline", str(fifo), timeout=60)
    reader.join(60)
    assert done.returncode == 0, done.stderr
    assert json.loads(received[0]) == baseline_doc()
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)


def test_the_refusal_comes_before_the_run(tmp_path):
    # the target is judged up front: no report for a run whose baseline could never be written
    result = check(CLEAN, "tests/assets/check/over_budget.yaml", "--write-baseline", str(tmp_path / "x.yml"))
    assert (result.exit_code, result.stdout) == (2, "")


# --------------------------------------------------------------------------------------------
# Writing: symbolic links are followed, the file they point to is replaced


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="symbolic links")
def test_a_symlinked_baseline_replaces_its_target_and_stays_a_link(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    target = shared / "costs.json"
    target.write_text(json.dumps(baseline_doc(macs=1)), encoding="utf-8")
    link = tmp_path / "costs.json"
    link.symlink_to(target)
    assert check(CLEAN, "--write-baseline", str(link)).exit_code == 0
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert json.loads(target.read_text(encoding="utf-8")) == baseline_doc()
    assert sorted(os.listdir(shared)) == ["costs.json"]  # the temporary file lived beside the target


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="symbolic links")
def test_a_link_to_a_spec_is_refused(tmp_path):
    spec = tmp_path / "model.yaml"
    shutil.copy(CLEAN, spec)
    link = tmp_path / "costs.json"
    link.symlink_to(spec)
    before = spec.read_bytes()
    one_line_exit_2(check(CLEAN, "--write-baseline", str(link)), f"convcalc: {link}: ",
                    "refusing to write the baseline over a YAML file")
    assert spec.read_bytes() == before and link.is_symlink()


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="symbolic links")
def test_a_dangling_link_creates_the_file_it_names(tmp_path):
    link = tmp_path / "costs.json"
    link.symlink_to(tmp_path / "real.json")
    assert check(CLEAN, "--write-baseline", str(link)).exit_code == 0
    assert json.loads((tmp_path / "real.json").read_text(encoding="utf-8")) == baseline_doc()
    assert link.is_symlink()


# --------------------------------------------------------------------------------------------
# Writing: a failed write keeps the old baseline


@pytest.mark.parametrize("step", ["fsync", "replace"])
def test_a_failed_write_keeps_the_old_baseline(tmp_path, monkeypatch, step):
    path = tmp_path / "costs.json"
    old = json.dumps(baseline_doc(macs=1), indent=2)
    path.write_text(old, encoding="utf-8")

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, step, full_disk)
    result = check(CLEAN, "--write-baseline", str(path))
    monkeypatch.undo()
    # the report is printed first; the refusal is the last line on stderr, and the only one
    assert result.exit_code == 2
    assert result.stderr == f"convcalc: {path}: cannot write the baseline: No space left on device; the file is as it was\n"
    assert path.read_text(encoding="utf-8") == old
    assert os.listdir(tmp_path) == ["costs.json"]


def test_a_reader_sees_the_old_baseline_until_the_rename(tmp_path, monkeypatch):
    # the old code truncated the file first: a reader saw it empty while the run went on
    path = tmp_path / "costs.json"
    old = json.dumps(baseline_doc(macs=1))
    path.write_text(old, encoding="utf-8")
    seen = []
    real_fsync = os.fsync

    def fsync(fd):
        if stat.S_ISREG(os.fstat(fd).st_mode):  # the new file's flush, not the folder's after the rename
            seen.append(path.read_text(encoding="utf-8"))  # what a reader would see, mid-write
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    assert check(CLEAN, "--write-baseline", str(path)).exit_code == 0
    assert seen == [old]
    assert json.loads(path.read_text(encoding="utf-8")) == baseline_doc()


def test_a_missing_folder_is_refused_up_front(tmp_path):
    path = tmp_path / "no" / "costs.json"
    one_line_exit_2(check(CLEAN, "--write-baseline", str(path)), f"convcalc: {path}: ",
                    "cannot write the baseline: its folder does not exist")
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("name", ["", "newdir/"])
def test_a_target_that_names_no_file_is_refused(tmp_path, name):
    # '' would have made write_atomic aim at the current folder, 'newdir/' a file named newdir
    one_line_exit_2(check(CLEAN, "--write-baseline", f"{tmp_path}/{name}" if name else name), "convcalc: ",
                    "--write-baseline needs a file name, as in --write-baseline costs.json, got '")
    assert os.listdir(tmp_path) == []


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="symbolic links")
def test_a_symlink_loop_is_one_line(tmp_path):
    (tmp_path / "a.json").symlink_to(tmp_path / "b.json")
    (tmp_path / "b.json").symlink_to(tmp_path / "a.json")
    path = str(tmp_path / "a.json")
    one_line_exit_2(check(CLEAN, "--write-baseline", path), f"convcalc: {path}: ",
                    "cannot write the baseline: Too many levels of symbolic links")
    one_line_exit_2(check(CLEAN, "--baseline", path), f"convcalc: {path}: ",
                    "cannot read the baseline: Too many levels of symbolic links")


def test_an_empty_baseline_name_is_refused():
    one_line_exit_2(check(CLEAN, "--baseline", ""), "convcalc: --baseline needs a file name", "got ''")


@pytest.mark.skipif(shutil.which("bash") is None or not hasattr(os, "mkfifo"), reason="bash's ulimit")
def test_a_file_size_limit_keeps_the_old_baseline(tmp_path):
    # `(ulimit -f 2; convcalc check many/*.yaml --write-baseline costs.json)` used to leave the
    # first 2,048 bytes of the new baseline. Forty specs give a baseline of about 40 * 250 bytes.
    specs = [tmp_path / f"spec{i:02d}.yaml" for i in range(40)]
    for spec in specs:
        shutil.copy(CLEAN, spec)
    path = tmp_path / "costs.json"
    assert run_convcalc("check", str(specs[0]), "--write-baseline", str(path), timeout=60).returncode == 0
    old = path.read_bytes()
    assert len(old) < 2 * 1024
    done = run_convcalc("check", *map(str, specs), "--write-baseline", str(path), limit="ulimit -f 2", timeout=60)
    assert done.returncode == 2
    assert done.stderr == f"convcalc: {path}: cannot write the baseline: File too large; the file is as it was\n"
    assert "Traceback" not in done.stdout
    assert path.read_bytes() == old
    assert sorted(os.listdir(tmp_path)) == sorted([p.name for p in specs] + ["costs.json"])


# --------------------------------------------------------------------------------------------
# Reading: an entry that cannot be compared is an error


@pytest.mark.parametrize("content, message", [
    ({"schema": 1, "specs": {CLEAN: {}}},
     f"baseline entry '{CLEAN}' lacks params, buffers, macs, flops, peak_activation_bytes, weight_bytes, so it cannot "
     "be compared; write the baseline again with --write-baseline"),
    (baseline_doc(mac=1), f"baseline entry '{CLEAN}': unknown key 'mac' (did you mean 'macs'?); an entry holds name, "
                          "params, buffers, macs, flops, peak_activation_bytes, weight_bytes"),
    ({"schema": 1, "specs": {CLEAN: {k: v for k, v in TOTALS.items() if k != "flops"}}},
     f"baseline entry '{CLEAN}' lacks flops, so it cannot be compared"),
    (baseline_doc(macs="295168"), f"baseline entry '{CLEAN}': macs must be a non-negative integer, got '295168'"),
    (baseline_doc(macs=None), "macs must be a non-negative integer, got null"),
    (baseline_doc(macs=2.0), "macs must be a non-negative integer, got 2.0"),
    (baseline_doc(name=7), f"baseline entry '{CLEAN}': name must be a string, got 7"),
    ({"schema": True, "specs": {}}, 'not a convcalc baseline: expected {"schema": 1, "specs": {...}} as written by '
                                    '--write-baseline, got "schema": true'),
    ({"schema": 2, "specs": {}}, 'got "schema": 2'),
    ({"schema": 1.0, "specs": {}}, 'got "schema": 1.0'),
    ({"specs": {}}, "got no schema"),
    ({"schema": 1, "specs": []}, 'got "specs": []'),
    ({"schema": 1, "specs": {}, "notes": "x"}, "not a convcalc baseline: unknown key 'notes'"),
    ("just text", 'not a convcalc baseline: expected {"schema": 1'),
    (None, 'not a convcalc baseline: expected {"schema": 1'),
    (42, 'not a convcalc baseline: expected {"schema": 1'),
])
def test_a_baseline_that_cannot_be_compared_is_one_line_and_exit_2(tmp_path, content, message):
    path = tmp_path / "costs.json"
    path.write_text(json.dumps(content), encoding="utf-8")
    one_line_exit_2(check(CLEAN, "--baseline", str(path)), f"convcalc: {path}: ", message)


ENTRY = ", ".join(f'"{k}": {v}' for k, v in TOTALS.items())


@pytest.mark.parametrize("text, message", [
    (f'{{"schema": 1, "specs": {{"{CLEAN}": {{{ENTRY}}}, "{CLEAN}": {{{ENTRY}}}}}}}',
     f"baseline lists the spec '{CLEAN}' twice"),
    (f'{{"schema": 1, "specs": {{"{CLEAN}": {{{ENTRY}, "macs": 0}}}}}}', f"baseline entry '{CLEAN}' has 'macs' twice"),
    (f'{{"schema": 2, "schema": 1, "specs": {{"{CLEAN}": {{{ENTRY}}}}}}}', "baseline has the key 'schema' twice"),
])
def test_a_repeated_key_is_an_error_not_the_last_one_wins(tmp_path, text, message):
    path = tmp_path / "costs.json"
    path.write_text(text, encoding="utf-8")
    json.loads(text)  # valid JSON to a plain reader, which keeps the last value silently
    one_line_exit_2(check(CLEAN, "--baseline", str(path)), f"convcalc: {path}: ", message)


def test_an_empty_entry_no_longer_passes_as_unchanged(tmp_path):
    # it used to read as "0 moved ... ok": nothing compared, everything passing
    path = tmp_path / "costs.json"
    path.write_text(json.dumps({"schema": 1, "specs": {CLEAN: {}}}), encoding="utf-8")
    assert check(CLEAN, "--baseline", str(path)).exit_code == 2


def test_a_byte_order_mark_is_accepted(tmp_path):
    path = tmp_path / "costs.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(baseline_doc()).encode("utf-8"))
    assert baselines.read_baseline(str(path)).specs == baseline_doc()["specs"]
    assert check(CLEAN, "--baseline", str(path)).exit_code == 0


def test_an_entry_name_with_escapes_is_shown_escaped(tmp_path):
    path = tmp_path / "costs.json"
    path.write_text(json.dumps({"schema": 1, "specs": {"a\x1b]0;owned\x07\n.yaml": {}}}), encoding="utf-8")
    result = check(CLEAN, "--baseline", str(path))
    one_line_exit_2(result, f"convcalc: {path}: ", "baseline entry 'a\\x1b]0;owned\\x07 .yaml' lacks params")
    assert "\x1b" not in result.stderr


# --------------------------------------------------------------------------------------------
# Reading: only regular files, never blocking


def test_a_directory_as_baseline_is_refused(tmp_path):
    one_line_exit_2(check(CLEAN, "--baseline", str(tmp_path)), f"convcalc: {tmp_path}: ",
                    "baseline is a directory, not a file")


@POSIX
def test_a_device_as_baseline_is_refused():
    one_line_exit_2(check(CLEAN, "--baseline", os.devnull), f"convcalc: {os.devnull}: ",
                    "baseline is a device, not a file")


@POSIX
def test_a_fifo_with_no_writer_as_baseline_does_not_block(tmp_path):
    fifo = tmp_path / "costs.json"
    os.mkfifo(fifo)
    done = run_convcalc("check", CLEAN, "--baseline", str(fifo), timeout=60)  # it waits 5 s for a writer
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == f"convcalc: {fifo}: baseline is a FIFO with no writer (none came in 5 seconds), not a file\n"


@POSIX
def test_a_fifo_swapped_in_after_the_check_is_opened_without_blocking(tmp_path):
    # os.stat says "regular file" (as if the FIFO replaced the file just after): the non-blocking
    # open and the second look at the open file still see the FIFO, and wait for its writer only so long
    fifo = tmp_path / "costs.json"
    os.mkfifo(fifo)
    code = ("import os, stat, sys\nfrom convcalc.check import baseline\nfrom convcalc.errors import UsageError\n"
            "from convcalc import limits\nlimits.FIFO_WAIT_S = 0.5\n"
            "real = os.stat\n"
            "class Regular:\n    st_mode = stat.S_IFREG | 0o644\n"
            "os.stat = lambda path, *a, **k: Regular() if path == sys.argv[1] else real(path, *a, **k)\n"
            "try:\n    baseline.read_baseline(sys.argv[1])\nexcept UsageError as exc:\n    print(exc)\n")
    done = subprocess.run([sys.executable, "-c", code, str(fifo)], capture_output=True, text=True, timeout=HANG_GUARD_S,
                          cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == f"{fifo}: baseline is a FIFO with no writer (none came in 0.5 seconds), not a file\n"
