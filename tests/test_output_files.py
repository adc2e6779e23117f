"""The files a command names (issue 21): one rule for every output, bounded reading of every input.

Every output option of every command writes a regular file or a new name atomically, a device or
FIFO as a stream (never replacing it), refuses a socket, directory or block device in one line,
and never writes over one of the command's inputs. Inputs named by path (specs, --profile,
--baseline) are read up to a limit, a FIFO once its writer is there, never waiting forever.
Devices are made with mknod (root only: skipped otherwise); tests that could hang run in a
subprocess with a generous timeout, or have a rescuer thread that unblocks the FIFO.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from convcalc import fileio, limits
from convcalc.check import baseline as baselines
from convcalc.cli import cli

ROOT = Path(__file__).resolve().parent.parent
LENET = str(ROOT / "specs/lenet5.yaml")
SMALL = "input: [3, 8, 8]\nlayers: [{conv: {out: 4, k: 3}}]\n"  # output 1x4x6x6: 8 - 3 + 1 = 6
EXPLAIN = ["explain", "-e", "1x7x7 | conv 1 k3"]
POSIX = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs are POSIX")
ROOT_ONLY = pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="mknod needs root")

pytestmark = pytest.mark.usefixtures("plain_terminal")  # tests/conftest.py


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def one_line(result, *fragments: str) -> str:
    assert result.exit_code == 2, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("convcalc: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def run(*args: str, wait: float = 0.5, **kwargs) -> subprocess.CompletedProcess:
    """convcalc in its own process, waiting `wait` seconds for a FIFO's other end."""
    code = ("import sys\nfrom convcalc import limits\nlimits.FIFO_WAIT_S = float(sys.argv[1])\n"
            "from convcalc.cli import main\nsys.argv = ['convcalc', *sys.argv[2:]]\nmain()\n")
    kwargs.setdefault("stdout", subprocess.PIPE)
    return subprocess.run([sys.executable, "-c", code, str(wait), *args], stderr=subprocess.PIPE, text=True,
                          timeout=120, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, **kwargs)


@pytest.fixture
def short_wait(monkeypatch):
    monkeypatch.setattr(limits, "FIFO_WAIT_S", 0.5)


def rescue(fifo: Path) -> None:
    """Unblock whoever waits on `fifo` after a minute, so that a regression fails instead of hanging."""
    def open_both_ends() -> None:
        if not done.wait(60):
            os.close(os.open(fifo, os.O_RDWR | os.O_NONBLOCK))
    done = threading.Event()
    threading.Thread(target=open_both_ends, daemon=True).start()
    rescuers.append(done)


rescuers: list[threading.Event] = []


@pytest.fixture(autouse=True)
def stop_rescuers():
    yield
    while rescuers:
        rescuers.pop().set()


def feed(fifo: Path, data: bytes) -> threading.Thread:
    """A writer for `fifo` (it blocks in open until a reader comes)."""
    def write() -> None:
        try:
            with open(fifo, "wb") as handle:
                handle.write(data)
        except BrokenPipeError:
            pass  # the reader stopped at its limit
    thread = threading.Thread(target=write, daemon=True)
    thread.start()
    return thread


def drain(fifo: Path, into: list[bytes]) -> threading.Thread:
    thread = threading.Thread(target=lambda: into.append(fifo.read_bytes()), daemon=True)
    thread.start()
    return thread


# -- 20: standard output closed ------------------------------------------------------------------

@pytest.mark.parametrize("args", [["shapes", LENET], ["shapes", LENET, "--format", "json"], [*EXPLAIN],
                                  ["compare", "regular", "--input", "3x8x8", "--out", "8"],
                                  ["draw", LENET, "--format", "svg"], ["check", LENET]])
def test_a_closed_stdout_is_one_line(args):
    done = run(*args, stdout=None, preexec_fn=lambda: os.close(1))
    assert (done.returncode, done.stderr) == (2, "convcalc: cannot write the report: standard output is closed\n")


def test_a_closed_stdout_is_fine_when_nothing_goes_there(tmp_path):
    done = run("draw", LENET, "-o", str(tmp_path / "net.svg"), stdout=None, preexec_fn=lambda: os.close(1))
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "net.svg").read_text().lstrip().startswith("<")


# -- 21: an empty name -----------------------------------------------------------------------------

@pytest.mark.parametrize("args", [
    ["draw", LENET, "-o", ""], ["draw", LENET, "--format", "svg", "-o", ""], ["report", LENET, "-o", ""],
    ["compare", LENET, LENET, "--plot", ""], ["compare", "regular", "--input", "3x8x8", "--out", "8", "--plot", ""],
    ["sweep", LENET, "--batch", "1,2", "--plot", ""], ["profile", LENET, "--plot", ""],
    [*EXPLAIN, "--draw", ""], [*EXPLAIN, "--animate", ""], ["import", "missing.onnx", "-o", ""],
    ["check", LENET, "--write-baseline", ""], ["check", LENET, "--baseline", ""],
    ["draw", LENET, "--format", "dot", "--profile", ""],
])
def test_an_empty_file_name_is_refused(args, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    one_line(invoke(*args), "''")
    assert os.listdir(tmp_path) == []


# -- 22: a baseline convcalc writes is one it reads ------------------------------------------------

def test_a_baseline_of_long_names_is_written_so_that_it_reads_back(tmp_path):
    # 40 specs named with 430,000 characters each: 40 * 430_000 bytes of names alone is over 16 MiB
    assert 40 * 430_000 > baselines.MAX_BASELINE_BYTES
    specs = []
    for i in range(40):
        path = tmp_path / f"s{i}.yaml"
        path.write_text(f"name: {'n' * 430_000}{i}\n{SMALL}")
        specs.append(str(path))
    written = tmp_path / "costs.json"
    assert invoke("check", *specs, "--write-baseline", str(written)).exit_code == 0
    assert invoke("check", *specs, "--baseline", str(written)).exit_code == 0
    names = [entry["name"] for entry in json.loads(written.read_text())["specs"].values()]
    assert {len(name) for name in names} == {baselines.MAX_BASELINE_NAME}


def test_a_baseline_too_large_to_read_is_not_written(tmp_path, monkeypatch):
    written = tmp_path / "costs.json"
    assert invoke("check", LENET, "--write-baseline", str(written)).exit_code == 0
    old = written.read_bytes()
    monkeypatch.setattr(baselines, "MAX_BASELINE_BYTES", len(old) - 1)  # one constant: reading and writing
    one_line(invoke("check", LENET, "--baseline", str(written)), f"larger than the limit of {len(old) - 1} bytes")
    one_line(invoke("check", LENET, "--write-baseline", str(tmp_path / "new.json")),
             f"it would be {len(old):,} bytes, over the limit of {len(old) - 1:,} bytes that --baseline reads")
    assert os.listdir(tmp_path) == ["costs.json"]


# -- 23, 32: FIFOs as inputs -------------------------------------------------------------------------

@POSIX
def test_a_fifo_with_a_writer_is_read_as_a_spec(tmp_path):
    fifo = tmp_path / "spec.yaml"
    os.mkfifo(fifo)
    rescue(fifo)
    feed(fifo, SMALL.encode())
    result = invoke("shapes", str(fifo), "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["output"] == [1, 4, 8 - 3 + 1, 8 - 3 + 1]


@POSIX
def test_a_fifo_is_read_only_up_to_the_file_limit(tmp_path):
    fifo = tmp_path / "spec.yaml"
    os.mkfifo(fifo)
    rescue(fifo)
    feed(fifo, b"#" * (limits.MAX_FILE_BYTES + 4096))
    one_line(invoke("shapes", str(fifo)), f"larger than the limit of {limits.MAX_FILE_BYTES} bytes")


@POSIX
def test_process_substitution_still_reads(tmp_path):
    (tmp_path / "spec.yaml").write_text(SMALL)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(["bash", "-c", f'"{sys.executable}" -m convcalc shapes <(cat spec.yaml) --format csv'],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert ",1x4x6x6," in done.stdout


@POSIX
@pytest.mark.parametrize("args, start", [
    (["shapes", "{fifo}"], "convcalc: {fifo}: is a FIFO with no writer (none came in 0.5 seconds); start the program"),
    (["check", LENET, "--baseline", "{fifo}"], "convcalc: {fifo}: baseline is a FIFO with no writer (none came in 0.5"),
    (["draw", LENET, "--format", "dot", "--profile", "{fifo}"],
     "convcalc: {fifo}: --profile: is a FIFO with no writer (none came in 0.5 seconds), not a file"),
])
def test_a_fifo_with_no_writer_is_refused_after_a_bounded_wait(args, start, tmp_path):
    fifo = tmp_path / "input.json"
    os.mkfifo(fifo)
    done = run(*(a.format(fifo=fifo) for a in args))
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.count("\n") == 1 and done.stderr.startswith(start.format(fifo=fifo)), done.stderr


@POSIX
def test_draw_reads_a_profile_from_a_fifo(tmp_path):
    fifo = tmp_path / "profile.json"
    os.mkfifo(fifo)
    rescue(fifo)
    feed(fifo, json.dumps({"name": "lenet5", "batches": [{"layers": [{"name": "c1", "median_s": 0.5}]}]}).encode())
    result = invoke("draw", LENET, "--format", "dot", "--profile", str(fifo))
    assert result.exit_code == 0, result.output


# -- 33: deep JSON, denormal steps ---------------------------------------------------------------------

@pytest.mark.parametrize("args", [["draw", LENET, "--format", "dot", "--profile", "{deep}"],
                                  ["check", LENET, "--baseline", "{deep}"]])
def test_deep_json_is_one_line_from_the_one_reader(args, tmp_path):
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    one_line(invoke(*(a.format(deep=deep) for a in args)), "nesting too deep")


@pytest.mark.parametrize("args, option", [
    (["sweep", LENET, "--set", "width=0..1:1e-320"], "--set width"),
    (["sweep", LENET, "--batch", "1..2:1e-320"], "--batch"),
    (["sweep", LENET, "--input", "1x32..64:1e-320x32"], "--input"),
    (["sweep", LENET, "--set", "width=-1e308..1e308:1e-300"], "--set width"),  # STOP - START is infinite
    (["scale", LENET, "--phi", "0..1:1e-320"], "--phi"),
])
def test_a_range_with_a_tiny_step_is_refused_by_its_count(args, option):
    one_line(invoke(*args), f"{option}: the range", f"over the limit of {limits.MAX_SWEEP_POINTS:,} points")


def test_the_values_of_one_option_are_capped_together():
    half = limits.MAX_SWEEP_POINTS // 2 + 1
    one_line(invoke("sweep", LENET, "--batch", f"1..{half},1..{half}"),
             f"{2 * half:,} values, over the limit of {limits.MAX_SWEEP_POINTS:,} points")


# -- 24: devices, FIFOs and sockets as outputs ---------------------------------------------------------

WRITERS = {  # every output option, with the name its target must have
    "draw -o": (lambda out: ["draw", LENET, "--format", "svg", "-o", out], "net.svg"),
    "report -o": (lambda out: ["report", LENET, "-o", out], "net.html"),
    "explain --draw": (lambda out: [*EXPLAIN, "--draw", out], "layer.svg"),
    "explain --animate": (lambda out: [*EXPLAIN, "--animate", out], "layer.gif"),
    "sweep --plot": (lambda out: ["sweep", LENET, "--batch", "1,2", "--plot", out], "sweep.png"),
    "compare --plot": (lambda out: ["compare", "regular", "--input", "3x8x8", "--out", "8", "--plot", out],
                       "compare.svg"),
    "check --write-baseline": (lambda out: ["check", LENET, "--write-baseline", out], "costs.json"),
}


def make_null(path: Path) -> None:
    try:
        os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, 3))  # what /dev/null is
    except PermissionError:
        pytest.skip("this container refuses mknod")


@ROOT_ONLY
@pytest.mark.parametrize("writer", WRITERS)
def test_a_device_as_output_is_written_as_a_stream_never_replaced(writer, tmp_path):
    args, name = WRITERS[writer]
    make_null(tmp_path / name)
    link = "link" + os.path.splitext(name)[1]
    (tmp_path / link).symlink_to(tmp_path / name)
    for target in (tmp_path / name, tmp_path / link):
        result = invoke(*args(str(target)))
        assert result.exit_code == 0, result.output
        assert stat.S_ISCHR(os.lstat(tmp_path / name).st_mode) and os.path.islink(tmp_path / link)
    assert sorted(os.listdir(tmp_path)) == sorted([name, link])  # no temporary file left
    assert stat.S_ISCHR(os.stat(os.devnull).st_mode)


@POSIX
@pytest.mark.parametrize("writer", WRITERS)
def test_a_fifo_as_output_is_written_to_its_reader(writer, tmp_path):
    args, name = WRITERS[writer]
    fifo = tmp_path / name
    os.mkfifo(fifo)
    rescue(fifo)
    received: list[bytes] = []
    reader = drain(fifo, received)
    result = invoke(*args(str(fifo)))
    reader.join(60)
    assert result.exit_code == 0, result.output
    assert received and len(received[0]) > 0
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)


@POSIX
def test_a_fifo_with_no_reader_as_output_is_refused_after_a_bounded_wait(tmp_path, short_wait):
    fifo = tmp_path / "net.svg"
    os.mkfifo(fifo)
    rescue(fifo)
    one_line(invoke("draw", LENET, "--format", "svg", "-o", str(fifo)),
             "is a FIFO with no reader (none came in 0.5 seconds), not a file")
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)


def make_socket(path: Path) -> socket.socket:
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    return server


@pytest.mark.parametrize("kind", ["socket", "folder", "block device"])
@pytest.mark.parametrize("writer", WRITERS)
def test_a_socket_folder_or_block_device_as_output_is_refused(writer, kind, tmp_path):
    args, name = WRITERS[writer]
    target = tmp_path / name
    if kind == "socket":
        server = make_socket(target)
    elif kind == "folder":
        target.mkdir()
    else:
        if not hasattr(os, "geteuid") or os.geteuid() != 0:
            pytest.skip("mknod needs root")
        os.mknod(target, stat.S_IFBLK | 0o600, os.makedev(7, 0))
    if "baseline" in writer:  # its own words, as before
        words = {"socket": "over a socket", "folder": "over a directory", "block device": "over a block device"}
    else:
        words = {"socket": "is a socket, not a file", "folder": "is a folder, not a file",
                 "block device": "is a block device, not a file"}
    one_line(invoke(*args(str(target))), words[kind])
    mode = os.lstat(target).st_mode
    assert {"socket": stat.S_ISSOCK, "folder": stat.S_ISDIR, "block device": stat.S_ISBLK}[kind](mode)
    if kind == "socket":
        server.close()


@pytest.mark.skipif(not os.path.exists("/dev/stdout"), reason="needs /dev/stdout")
def test_dev_stdout_as_output_is_the_stream_itself():
    done = run("draw", LENET, "--format", "svg", "-o", "/dev/stdout")
    assert done.returncode == 0, done.stderr
    assert "<svg" in done.stdout


@ROOT_ONLY
def test_write_atomic_never_replaces_a_device(tmp_path):
    make_null(tmp_path / "null")
    fileio.write_atomic(tmp_path / "null", "gone")
    assert stat.S_ISCHR(os.stat(tmp_path / "null").st_mode)
    assert os.listdir(tmp_path) == ["null"]


# -- 30: a signal during a write -----------------------------------------------------------------------

@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_a_signal_during_a_write_leaves_no_temporary_file(signum, tmp_path):
    target = tmp_path / "costs.json"
    target.write_text("old")
    # a writer that says when it is in the middle of the write (at the flush to disk) and waits there
    code = ("import os, sys, time\nfrom convcalc import fileio\n"
            "def slow(fd):\n    print('writing', flush=True)\n    time.sleep(600)\n"
            "os.fsync = slow\nfileio.write_atomic(sys.argv[1], 'new')\n")
    child = subprocess.Popen([sys.executable, "-c", code, str(target)], stdout=subprocess.PIPE, text=True,
                             env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        assert child.stdout.readline() == "writing\n"
        assert len(os.listdir(tmp_path)) == 2  # the target and the temporary file
        child.send_signal(signum)
        assert child.wait(120) == -signum  # ended by the signal, as it would have been
    finally:
        child.kill()
        child.wait()
    assert os.listdir(tmp_path) == ["costs.json"]
    assert target.read_text() == "old"


# -- 31: never write over an input ----------------------------------------------------------------------

def spec_named(tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    path.write_text(SMALL)
    return path


@pytest.mark.parametrize("build", [
    lambda s, o: ["explain", s, "conv1", "--draw", o],
    lambda s, o: ["explain", s, "conv1", "--animate", o],
    lambda s, o: ["sweep", s, "--batch", "1,2", "--plot", o],
    lambda s, o: ["compare", s, LENET, "--plot", o],
    lambda s, o: ["profile", s, "--plot", o],
    lambda s, o: ["draw", s, "--format", "svg", "-o", o],
    lambda s, o: ["report", s, "-o", o],
    lambda s, o: ["check", s, "--write-baseline", o],
], ids=["explain --draw", "explain --animate", "sweep --plot", "compare --plot", "profile --plot", "draw -o",
        "report -o", "check --write-baseline"])
@pytest.mark.parametrize("how", ["same name", "symbolic link", "hard link"])
def test_no_output_overwrites_an_input(build, how, tmp_path):
    suffix = {"--draw": ".svg", "--animate": ".gif", "--plot": ".png", "-o": ".html", "--write-baseline": ".json"}
    option = build("S", "O")[-2]
    if build("S", "O")[0] == "draw":
        option = "--draw"  # an SVG
    spec = spec_named(tmp_path, "spec" + suffix[option])
    out = tmp_path / ("out" + suffix[option])
    if how == "same name":
        out = spec
    elif how == "symbolic link":
        out.symlink_to(spec)
    else:
        os.link(spec, out)
    one_line(invoke(*build(str(spec), str(out))), "is the input", "would destroy the input")
    assert spec.read_text() == SMALL


def test_import_never_writes_over_its_model(tmp_path):
    model = tmp_path / "model.onnx"
    model.write_bytes(b"not read: the target is refused first")
    os.link(model, tmp_path / "net.yaml")
    one_line(invoke("import", str(model), "-o", str(tmp_path / "net.yaml")), "is the input")
    assert model.read_bytes() == b"not read: the target is refused first"


def test_draw_never_writes_over_its_profile(tmp_path):
    profile = tmp_path / "profile.svg"
    profile.write_text("{}")
    one_line(invoke("draw", LENET, "--format", "svg", "--profile", str(profile), "-o", str(profile)), "is the input")
    assert profile.read_text() == "{}"
