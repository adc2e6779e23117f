"""Small specs must not run away (issue 11, section 2): each pathological spec from tests/hostile.py
gets its answer in a fraction of a second, or one line and exit 2.

A regression here would make a test hang rather than fail, so each runs convcalc in a subprocess
with a generous hang guard (the fixed code answers in well under a second; before the fixes these
specs ran for minutes or forever), or counts the work instead of timing it. No test asserts a time.
benchmarks/hostile_specs.py times the same specs.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import convcalc
from convcalc import limits, suggest
from convcalc.errors import ConvcalcError, LayerError
from convcalc.suggest import did_you_mean
from convcalc.spec.expr import evaluate_expression

from . import hostile
from .conftest import HANG_GUARD_S

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = HANG_GUARD_S  # a hang guard (tests/conftest.py), not a time limit: the old code never ended


def convcalc_on(text: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "hostile.yaml"
    path.write_text(text, encoding="utf-8")
    return subprocess.run([sys.executable, "-m", "convcalc", "shapes", str(path), *args], capture_output=True,
                          text=True, timeout=TIMEOUT, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})


def one_line(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("convcalc: "), done.stderr
    return done.stderr


# -- expression values -------------------------------------------------------------------------


def test_expression_values_are_bounded_at_every_step():
    big = limits.MAX_EXPR_VALUE
    assert big == 2**96 == (2**48) * (2**48)  # the product of two sizes at the size limit
    assert evaluate_expression("x * x", {"x": 2**48}) == 2**96
    assert evaluate_expression("-x * x", {"x": 2**48}) == -(2**96)
    assert evaluate_expression("x * x // 4 * 2", {"x": 2**48}) == 2**95  # no intermediate above the bound
    for text, names in (("x * x * 2 // 4", {"x": 2**48}),  # the same value, through 2**97 on the way
                        ("x * x + 1", {"x": 2**48}), ("0 - x * x - 1", {"x": 2**48}),
                        ("x // 2", {"x": 2**97}),  # an argument beyond the bound, before any operation
                        (str(2**96 + 1) + " // 2", {})):  # a literal beyond it
        with pytest.raises(LayerError, match=r"outside the limit of -2\^96 to 2\^96"):
            evaluate_expression(text, names)


def test_nested_powers_of_a_39_digit_number_stop_at_once(tmp_path):
    # Before: each of 4 levels raised the last one's value to the 99th power; past 120 s.
    done = convcalc_on(hostile.expression_power(), tmp_path)
    assert "a value in expression 'x*x*x*" in one_line(done)
    assert "is outside the limit of -2^96 to 2^96 for expression values" in done.stderr


def test_a_value_of_over_4300_digits_never_becomes_a_name(tmp_path):
    # Before: ValueError from str(int) with more than 4,300 digits, a traceback.
    done = convcalc_on(hostile.huge_name(), tmp_path)
    assert "a value in expression 'x * x' is outside the limit" in one_line(done)


def test_full_width_digits_are_not_numbers_in_expressions():
    with pytest.raises(LayerError, match=r"unexpected '５ \+ 1' in expression"):
        evaluate_expression("５ + 1", {})


# -- the name-reserving walk --------------------------------------------------------------------


def test_shared_parallel_branches_are_walked_once(tmp_path):
    # 30 levels: 2**30 paths through one object per level (the walk took 73 s at 26 levels).
    done = convcalc_on(hostile.shared_parallel(30), tmp_path, "--format", "csv")
    assert done.returncode == 0, done.stderr
    rows = done.stdout.splitlines()
    assert len(rows) == 1 + 1 + 1  # header, the one relu left once every parallel repeats 0 times, totals
    assert rows[1].split(",")[2:4] == [".".join(f"p{n}1" for n in range(30)) + ".relu1", "relu"]


def test_shared_branches_that_expand_stop_at_the_layer_limit(tmp_path):
    # Without `repeat: 0` the 2**30 paths are layers: the expansion stops at the limit, in one line.
    done = convcalc_on(hostile.shared_parallel(30, expand=True), tmp_path)
    assert one_line(done).endswith(f"(parallel): the spec expands to more than {limits.MAX_LAYERS} layers\n")


def test_names_in_shared_branches_are_still_reserved():
    # Visiting each list once must not lose its names: q is reserved in the block's scope, so the
    # `from: q` before it is a forward reference, not an unknown name.
    spec = """\
        input: [1, 8]
        blocks:
          twice:
            args: {b: null}
            layers: [{relu: {from: q}}, {parallel: {branches: [$b, $b], repeat: 0}}]
        layers:
          - block: {use: twice, b: [{relu: {name: q}}]}
        """
    with pytest.raises(ConvcalcError, match="'from: q' points forward to line 7"):
        convcalc.loads(textwrap.dedent(spec), "shared.yaml")


# -- maxunpool's pool ---------------------------------------------------------------------------


class CountedNodes(tuple):
    """A spec's node tuple that counts how often it is walked."""

    walks = 0

    def __iter__(self):
        CountedNodes.walks += 1
        return super().__iter__()


def walks_to_analyze(pairs: int) -> int:
    spec = convcalc.loads(hostile.unpool_pairs(pairs), "unpool.yaml")
    spec = spec._replace(nodes=CountedNodes(spec.nodes))
    CountedNodes.walks = 0
    report = convcalc.analyze(spec)
    assert report.output == (1, 1, 4, 4) and len(report.layers) == 2 * pairs
    return CountedNodes.walks


def test_unpool_finds_its_pool_without_a_scan_per_unpool():
    # Before: every unpool scanned the nodes for its pool, so the walks grew with the pairs
    # (50,000 pairs ran past 300 s); now the analysis walks the node list a fixed number of times.
    assert walks_to_analyze(300) == walks_to_analyze(3)


def test_unpool_checks_still_apply():
    spec = """\
        input: [1, 4, 4]
        layers:
          - maxpool: {k: 2, name: p}
          - maxunpool: {k: 2, s: 1, indices: p}
        """
    with pytest.raises(ConvcalcError, match="k, s and p must match those of the maxpool 'p'"):
        convcalc.analyze(convcalc.loads(textwrap.dedent(spec), "unpool.yaml"))


# -- did you mean ---------------------------------------------------------------------------------


def test_a_typo_after_99990_long_names_is_answered_at_once(tmp_path):
    # Before: difflib against 99,990 names of 900 characters, 60-71 s. A word that long gets no
    # suggestion.
    done = convcalc_on(hostile.long_names_typo(), tmp_path)
    assert one_line(done).endswith("names no earlier layer\n")


def test_a_typo_among_99990_names_still_gets_its_suggestion(tmp_path):
    done = convcalc_on(hostile.long_names_typo(99_990, 60), tmp_path)
    assert one_line(done).endswith(f"names no earlier layer (did you mean '{'n' * 60}.99989'?)\n")


def test_did_you_mean_compares_a_bounded_number_of_candidates(monkeypatch):
    import difflib

    compared = []

    class Counting(difflib.SequenceMatcher):
        def set_seq1(self, a):
            compared.append(a)
            super().set_seq1(a)

    monkeypatch.setattr(difflib, "SequenceMatcher", Counting)
    names = {f"layer{i}.conv{j}" for i in range(20_000) for j in range(5)}
    assert did_you_mean("layer1234.cnv3", names) == " (did you mean 'layer1234.conv3'?)"  # typo late
    assert 0 < len(compared) <= suggest._MOST_CANDIDATES + 1  # (+1: difflib's matcher starts with '')
    compared.clear()
    assert did_you_mean("lyer1234.conv3", names) == " (did you mean 'layer1234.conv3'?)"  # typo early
    assert 0 < len(compared) <= suggest._MOST_CANDIDATES + 1
    compared.clear()
    assert did_you_mean("x" * (suggest._MOST_CHARS + 1), names) == ""
    assert compared == []


# -- files that never end -----------------------------------------------------------------------


def test_a_fifo_without_a_writer_is_refused_not_waited_on_forever(tmp_path):
    fifo = tmp_path / "spec.yaml"
    os.mkfifo(fifo)
    done = subprocess.run([sys.executable, "-m", "convcalc", "shapes", str(fifo)], capture_output=True, text=True,
                          timeout=TIMEOUT + limits.FIFO_WAIT_S, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert one_line(done) == (f"convcalc: {fifo}: is a FIFO with no writer (none came in {limits.FIFO_WAIT_S} seconds); "
                              "start the program that writes it first, or pipe the spec into '-'\n")


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_a_device_is_refused():
    with pytest.raises(ConvcalcError, match=r"^/dev/zero: not a regular file \(a device\)"):
        convcalc.load("/dev/zero")


@pytest.mark.skipif(not os.path.exists("/dev/stdin"), reason="needs /dev/stdin")
def test_dev_stdin_still_reads_a_pipe_and_a_redirected_file(tmp_path):
    spec = "input: [3, 8, 8]\nlayers: [{conv: {out: 4, k: 3}}]\n"
    command = [sys.executable, "-m", "convcalc", "shapes", "/dev/stdin", "--format", "csv"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    piped = subprocess.run(command, input=spec, capture_output=True, text=True, timeout=TIMEOUT, cwd=ROOT, env=env)
    path = tmp_path / "spec.yaml"
    path.write_text(spec)
    with open(path) as handle:
        redirected = subprocess.run(command, stdin=handle, capture_output=True, text=True, timeout=TIMEOUT, cwd=ROOT,
                                    env=env)
    for done in (piped, redirected):
        assert done.returncode == 0, done.stderr
        assert ",conv1,conv,input,1x4x6x6," in done.stdout
