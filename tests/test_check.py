"""`convcalc check`: budgets, expectations, warnings, baselines, output formats and exit codes.

The specs live in tests/assets/check/. budget.yaml's network has these totals (batch 1, float32):

    params  (3*9*16 + 16) + 2*16 + (16*9*8 + 8) + (200*10 + 10)       = 448 + 32 + 1160 + 2010 = 3650
    macs    32*32*16*27 + 5*5*8*144 + 200*10                           = 442368 + 28800 + 2000 = 473168
    flops   stem 2*442368 + 16*32*32, bn 2*16384, relu 16384, maxpool 3*16*16*16,
            conv1 2*28800 + 8*25, fc 2*2000 + 10                                              = 1024370
    peak    the stem's and bn's outputs alive together: 2 * 16*32*32*4                        = 131072
    weights (3650 params + 33 buffers - 1 counter) * 4 + 8 (bn's int64 counter)                = 14736

Broken budgets are in tests/assets/check/bad/, one file per mistake with its `.expect` line; to
add one, run `convcalc check tests/assets/check/bad/NAME.yaml 2> tests/assets/check/bad/NAME.yaml.expect`.
"""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from fractions import Fraction
from pathlib import Path

import pytest
from click.testing import CliRunner

import convcalc
from convcalc import check as lib
from convcalc.check import baseline as baselines, budgets
from convcalc.cli import cli
from convcalc.errors import UsageError
from convcalc.report import Totals
from convcalc.units import percent
from convcalc.reporters.checks import RENDERERS, CheckFormat

ROOT = Path(__file__).resolve().parent.parent
ASSETS = "tests/assets/check"
BUDGET, OVER, HALF, CLEAN = (f"{ASSETS}/{name}.yaml" for name in ("budget", "over_budget", "half", "clean"))
BAD = sorted((ROOT / "tests" / "assets" / "bad").glob("*.yaml"))
BAD_BUDGETS = sorted((ROOT / ASSETS / "bad").glob("*.yaml"))

PARAMS = (3 * 9 * 16 + 16) + 2 * 16 + (16 * 9 * 8 + 8) + (200 * 10 + 10)
MACS = 32 * 32 * 16 * 27 + 5 * 5 * 8 * 144 + 200 * 10
FLOPS = (2 * 442368 + 16 * 32 * 32) + 2 * 16384 + 16384 + 3 * 16 * 16 * 16 + (2 * 28800 + 8 * 25) + (2 * 2000 + 10)
PEAK = 2 * 16 * 32 * 32 * 4
WEIGHTS = (PARAMS + 33 - 1) * 4 + 8


pytestmark = pytest.mark.usefixtures("plain_terminal")  # tests/conftest.py


def check(*args: str, input: str | None = None):
    # A wide terminal: these tests read whole cells and lines (a pipe fits 80 columns;
    # tests/test_table_widths.py holds every command to that).
    return CliRunner().invoke(cli, ["check", *args], input=input, env={"COLUMNS": "1000"}, catch_exceptions=False)


def as_json(*args: str) -> dict:
    return json.loads(check(*args, "--format", "json").stdout)


def assert_only_invalid(stdout: str, *paths: str) -> None:
    """The text report of a run whose specs are all invalid: a failed `spec invalid` row for each
    (their one-line errors are on stderr), then the summary line, nothing else."""
    lines = stdout.splitlines()
    rows = [[cell.strip() for cell in line.split("│")[1:-1]] for line in lines if line.startswith("│")]
    assert rows == [["spec", "check", "value", "limit", "result"]] + [[p, "spec", "invalid", "", "FAIL"] for p in paths]
    n = len(paths)
    assert [line for line in lines if line[0] not in "┌├└│"] == [
        f"convcalc check: 0 passed, 0 failed, {n} invalid of {n} spec{'s' if n != 1 else ''}"]


def test_the_totals_in_the_docstring_are_the_analysis():
    total = convcalc.analyze(convcalc.load(BUDGET)).total
    assert (total.params, total.macs, total.flops, total.peak_activation_bytes, total.weight_bytes) == (
        PARAMS, MACS, FLOPS, PEAK, WEIGHTS) == (3650, 473168, 1024370, 131072, 14736)


# --------------------------------------------------------------------------------------------
# Budgets and expectations


def test_a_budget_within_every_limit_passes():
    data = as_json(BUDGET)
    assert data["exit_code"] == 0
    assert [(c["name"], c["ok"], c["message"]) for c in data["specs"][0]["checks"]] == [
        ("budget.params", True, "params 3,650 is within the budget of 5,000 (5k, line 5)"),
        ("budget.macs", True, "macs 473,168 is within the budget of 600,000 (600k, line 6)"),
        ("budget.flops", True, "flops 1,024,370 is within the budget of 1,200,000 (1.2M, line 7)"),
        ("budget.peak_activation_bytes", True, "peak_activation_bytes 131,072 is within the budget of 1,048,576 "
                                               "(1MiB, line 8)"),
        ("budget.weight_bytes", True, "weight_bytes 14,736 is within the budget of 20,480 (20KiB, line 9)"),
        ("expect_output", True, "output [10] is the expected [10] (line 10)"),
    ]


@pytest.mark.parametrize("name, ok, message", [
    ("budget.params", False, f"params 3,650 is over the budget of 3,649 (line 6) by {PARAMS - 3649}"),
    ("budget.macs", True, "macs 473,168 is within the budget of 473,168 (line 7)"),  # inclusive
    ("budget.flops", False, f"flops 1,024,370 is over the budget of 1,000,000 (1M, line 8) by {FLOPS - 10**6:,}"),
    ("budget.peak_activation_bytes", True, f"peak_activation_bytes 131,072 is within the budget of {128 * 1024:,} "
                                           "(128KiB, line 9)"),
    ("budget.weight_bytes", False, f"weight_bytes 14,736 is over the budget of {14 * 1024:,} (14KiB, line 10) "
                                   f"by {WEIGHTS - 14 * 1024}"),
    ("expect_output", False, "output [10] is not the expected [1000] (line 11)"),
])
def test_each_limit_at_and_over_its_edge(name, ok, message):
    checks = {c["name"]: c for c in as_json(OVER)["specs"][0]["checks"]}
    assert (checks[name]["ok"], checks[name]["message"]) == (ok, message)


def test_flags_override_and_add_to_the_spec_budget():
    result = check(BUDGET, "--max-params", "3649", "--max-macs", "473k", "--max-flops", "2M",
                   "--max-peak-memory", "128KiB", "--max-weight-bytes", "14.7KB", "--format", "json")
    assert result.exit_code == 1
    checks = {c["name"]: c for c in json.loads(result.stdout)["specs"][0]["checks"]}
    # a limit is labelled by where it came from: the flag that set it, or the spec's budget
    assert list(checks) == ["--max-params", "--max-macs", "--max-flops", "--max-peak-memory", "--max-weight-bytes",
                            "expect_output"]
    assert checks["--max-params"]["message"] == "params 3,650 is over the budget of 3,649 (--max-params 3649) by 1"
    assert checks["--max-macs"]["message"] == (f"macs 473,168 is over the budget of 473,000 (--max-macs 473k) "
                                               f"by {MACS - 473_000}")
    assert checks["--max-flops"]["message"] == "flops 1,024,370 is within the budget of 2,000,000 (--max-flops 2M)"
    assert checks["--max-peak-memory"]["ok"] is True  # 128 * 1024 = 131072, equal
    assert checks["--max-weight-bytes"]["message"] == (f"weight_bytes 14,736 is over the budget of 14,700 "
                                                       f"(--max-weight-bytes 14.7KB) by {WEIGHTS - 14_700}")
    assert checks["expect_output"]["ok"] is True  # still the spec's
    assert checks["--max-params"]["origin"] == "--max-params" and checks["--max-params"]["line"] is None


def test_flag_limits_and_spec_budgets_are_labelled_apart():
    # --max-macs replaces the spec's macs budget (600k, line 6); the spec's other budgets stay budget.*
    result = check(BUDGET, "--max-macs", "473k")
    assert result.exit_code == 1
    rows = [[cell.strip() for cell in line.split("│")[1:-1]] for line in result.stdout.splitlines()
            if line.startswith("│")]
    assert [row[1:] for row in rows[1:]] == [
        ["budget.params", "3,650", "5,000 (5k)", "ok"],
        ["--max-macs", "473,168", "473,000 (473k)", "FAIL"],
        ["budget.flops", "1,024,370", "1,200,000 (1.2M)", "ok"],
        ["budget.peak_activation_bytes", "131,072", "1,048,576 (1MiB)", "ok"],
        ["budget.weight_bytes", "14,736", "20,480 (20KiB)", "ok"],
        ["expect_output", "[10]", "[10]", "ok"],
        ["warnings", "2", "", "warn"],
    ]
    junit = ET.fromstring(check(BUDGET, "--max-macs", "473k", "--format", "junit").stdout.split("\n", 1)[1])
    assert [c.get("name") for c in junit][:3] == ["valid", "budget.params", "--max-macs"]


@pytest.mark.parametrize("text, value", [
    ("7", 7), ("5k", 5 * 10**3), ("5K", 5 * 10**3), ("5M", 5 * 10**6), ("1.2G", 12 * 10**8), ("2T", 2 * 10**12),
    ("1.5k", 1500), ("5 M", 5 * 10**6),  # a space before the unit is allowed
    ("1KB", 10**3), ("3MB", 3 * 10**6), ("100MiB", 100 * 2**20), ("1KiB", 2**10), ("2GiB", 2 * 2**30),
    ("0.5KiB", 2**9),
])
def test_units_parse_strictly(text, value):
    assert budgets.flag_limit("params", text).value == value


@pytest.mark.parametrize("text", ["5Mb", "5m", "5mb", "5Mi", "-5M", "5e6", "1.2345k", "M", "", "5 M B", "0x10",
                                  "1" * 70])
def test_anything_else_is_a_usage_error(text):
    with pytest.raises(UsageError, match="--max-macs"):
        budgets.flag_limit("macs", text)


def test_a_bad_flag_is_one_line_and_exit_2():
    result = check(CLEAN, "--max-params", "5Mb")
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == ("convcalc: --max-params must be a number with an optional unit (k, M, G, T, KB, MB, "
                             "GB, KiB, MiB, GiB), got '5Mb'\n")


@pytest.mark.parametrize("written", ["[10]", "10", "'10'", "[1, 10]"])
def test_expect_output_forms(written):
    spec = convcalc.loads(f"input: [3, 8, 8]\nbudget: {{expect_output: {written}}}\nlayers: [flatten, "
                          "{linear: {out: 10}}]\n", "x.yaml")
    (result,) = lib.check_spec(spec).checks
    assert result.ok is (written != "[1, 10]")
    assert result.limit.value == ((1, 10) if written == "[1, 10]" else (10,))


@pytest.mark.parametrize("path", BAD_BUDGETS, ids=[p.name for p in BAD_BUDGETS])
def test_a_bad_budget_exits_2_with_its_one_line(path):
    relative = str(path.relative_to(ROOT))
    expected = Path(f"{path}.expect").read_text(encoding="utf-8")
    result = check(relative)
    assert (result.exit_code, result.stderr) == (2, expected)
    assert expected.count("\n") == 1 and expected.startswith(f"convcalc: {relative}:")
    assert_only_invalid(result.stdout, relative)


def test_budget_mistakes_name_the_line_and_suggest():
    with pytest.raises(convcalc.SpecError, match=r"unknown budget key 'parms' \(did you mean 'params'\?\)") as info:
        budgets.spec_limits(convcalc.load(f"{ASSETS}/bad/unknown_budget_key.yaml"))
    assert info.value.line == 4


# --------------------------------------------------------------------------------------------
# Hostile and broken specs: every case of tests/assets/bad/ is the same one line under check


@pytest.mark.parametrize("path", BAD, ids=[p.name for p in BAD])
def test_every_bad_spec_exits_2_with_the_same_line_under_check(path):
    relative = str(path.relative_to(ROOT))
    expected = Path(f"{path}.expect").read_text(encoding="utf-8")
    result = check(relative)
    assert (result.exit_code, result.stderr) == (2, expected)
    assert_only_invalid(result.stdout, relative)


def test_bad_specs_in_a_real_process_print_no_traceback():
    paths = [f"tests/assets/bad/{name}" for name in ("deep_nesting.yaml", "alias_bomb.yaml", "binary.yaml")]
    done = subprocess.run([sys.executable, "-m", "convcalc", "check", *paths], capture_output=True, text=True,
                          timeout=60, cwd=ROOT)
    assert done.returncode == 2
    assert done.stderr == "".join(Path(f"{ROOT / p}.expect").read_text(encoding="utf-8") for p in paths)
    assert_only_invalid(done.stdout, *paths)


def test_control_characters_from_a_spec_never_reach_the_terminal(tmp_path):
    path = tmp_path / "esc.yaml"
    path.write_text('input: [3, 8, 8]\nlayers: [{relu: {"\\e[2J": 1}}]\n', encoding="utf-8")
    for fmt in CheckFormat:
        result = check(str(path), "--format", fmt.value)
        assert result.exit_code == 2
        assert "\x1b" not in result.stdout + result.stderr
        assert "unknown key '\\x1b[2J' for relu" in result.stderr


# --------------------------------------------------------------------------------------------
# Warnings and --strict


def test_warnings_are_printed_but_fail_only_under_strict():
    result = check(BUDGET)
    assert result.exit_code == 0
    assert ("  tests/assets/check/budget.yaml:16: layer 'conv1' (conv): stride 3 does not fit axis H: the last 1 of "
            "16 input positions are never covered\n") in result.stdout
    strict = check(BUDGET, "--strict")
    assert strict.exit_code == 1
    assert "convcalc check: 0 passed, 1 failed, 0 invalid of 1 spec; 2 warnings\n" in strict.stdout


def test_each_kind_of_warning_is_named():
    warnings = as_json(HALF)["specs"][0]["warnings"]
    assert [(w["layer"], w["category"], w["message"]) for w in warnings] == [
        ("conv1", "even kernel with 'same' padding", "even kernel 2x2 with 'same' padding pads unevenly: "
                                                     "((0, 1), (0, 1))"),
        ("conv1", "tensor-core alignment", "tensor-core alignment: input channels 3 and output channels 12 are not "
                                           "multiples of 8 (float16 tensor cores want multiples of 8)"),
        ("conv2", "tensor-core alignment", "tensor-core alignment: input channels 12 is not a multiple of 8 "
                                           "(float16 tensor cores want multiples of 8)"),
        ("linear1", "tensor-core alignment", "tensor-core alignment: output features 10 is not a multiple of 8 "
                                             "(float16 tensor cores want multiples of 8)"),
    ]
    assert [w["category"] for w in as_json(BUDGET)["specs"][0]["warnings"]] == ["uncovered input"] * 2
    assert check(HALF, "--strict").exit_code == 1


def test_alignment_is_off_for_float32_unless_asked():
    assert [w["category"] for w in as_json(BUDGET)["specs"][0]["warnings"]] == ["uncovered input"] * 2
    aligned = [(w["layer"], w["message"]) for w in as_json(BUDGET, "--align", "8")["specs"][0]["warnings"]
               if w["category"] == "tensor-core alignment"]
    # stem 3 -> 16, conv1 16 -> 8, fc 200 -> 10: 3 and 10 are not multiples of 8 (200 = 25 * 8 is)
    assert aligned == [("stem", "tensor-core alignment: input channels 3 is not a multiple of 8 (--align 8)"),
                       ("fc", "tensor-core alignment: output features 10 is not a multiple of 8 (--align 8)")]


def test_align_overrides_the_half_precision_default():
    by_4 = [w["message"] for w in as_json(HALF, "--align", "4")["specs"][0]["warnings"][1:]]
    # conv1 3 -> 12 (12 = 3 * 4), conv2 12 -> 16, linear 16 -> 10
    assert by_4 == ["tensor-core alignment: input channels 3 is not a multiple of 4 (--align 4)",
                    "tensor-core alignment: output features 10 is not a multiple of 4 (--align 4)"]
    assert [w["category"] for w in as_json(HALF, "--align", "1")["specs"][0]["warnings"]] == [
        "even kernel with 'same' padding"]


def test_bfloat16_wants_alignment_too():
    data = as_json("8x8x8 dtype=bfloat16 | conv 12 k3 p1 | conv 16 k3 p1")
    assert [w["message"] for w in data["specs"][0]["warnings"]] == [
        "tensor-core alignment: output channels 12 is not a multiple of 8 (bfloat16 tensor cores want multiples of 8)",
        "tensor-core alignment: input channels 12 is not a multiple of 8 (bfloat16 tensor cores want multiples of 8)"]


def test_a_spec_without_warnings_passes_strict():
    result = check(CLEAN, "--strict", "--align", "8")
    assert result.exit_code == 0
    assert result.stdout.endswith("convcalc check: 1 passed, 0 failed, 0 invalid of 1 spec\n")


# --------------------------------------------------------------------------------------------
# Baselines

CLEAN_BASELINE = """\
{
  "schema": 1,
  "specs": {
    "tests/assets/check/clean.yaml": {
      "buffers": 0,
      "flops": 602376,
      "macs": 295040,
      "name": "clean",
      "params": 1304,
      "peak_activation_bytes": 32768,
      "weight_bytes": 5216
    }
  }
}
"""


def test_write_baseline_is_deterministic_sorted_json(tmp_path):
    path = tmp_path / "costs.json"
    result = check("./" + CLEAN, "--write-baseline", str(path))
    assert result.exit_code == 0
    assert result.stderr == f"wrote the baseline {path}: 1 spec\n"
    assert path.read_text(encoding="utf-8") == CLEAN_BASELINE
    # clean.yaml: conv 8 -> 16 k3 (16*8*9 + 16 params, 16*16*16 positions * 72 MACs) and linear 16 -> 8
    assert json.loads(CLEAN_BASELINE)["specs"][CLEAN]["params"] == (16 * 8 * 9 + 16) + (16 * 8 + 8)
    assert json.loads(CLEAN_BASELINE)["specs"][CLEAN]["macs"] == 16 * 16 * 16 * 72 + 16 * 8
    check(CLEAN, "--write-baseline", str(tmp_path / "again.json"))
    assert (tmp_path / "again.json").read_text(encoding="utf-8") == CLEAN_BASELINE


def test_an_unchanged_spec_passes_its_baseline(tmp_path):
    path = tmp_path / "costs.json"
    check(BUDGET, CLEAN, "--write-baseline", str(path))
    result = check(CLEAN, BUDGET, "--baseline", str(path))
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert not any(line.startswith("baseline ") for line in lines)  # nothing moved, added or removed
    assert lines[-1] == ("convcalc check: 2 passed, 0 failed, 0 invalid of 2 specs; "
                         "2 warnings (not failing without --strict)")


def _baseline(tmp_path, **changes) -> str:
    doc = json.loads(CLEAN_BASELINE)
    doc["specs"][CLEAN].update(changes)
    path = tmp_path / "costs.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return str(path)


def test_growth_fails_and_says_what_moved(tmp_path):
    path = _baseline(tmp_path, macs=295040 - 40, flops=602376 + 76)
    result = check(CLEAN, "--baseline", path)
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    # +40 / 295000 = 0.01356% ; -76 / 602452 = -0.01261%
    assert f"  {CLEAN}: macs grew from 295,000 to 295,040 (+40, +0.014%), over the tolerance of 0%" in lines
    assert f"  {CLEAN}: flops fell from 602,452 to 602,376 (-76, -0.013%)" in lines
    assert lines[-1] == "convcalc check: 0 passed, 1 failed, 0 invalid of 1 spec"


def test_a_regression_is_listed_once_with_the_failures(tmp_path):
    path = _baseline(tmp_path, macs=295040 - 40, flops=602376 + 76)
    stdout = check(CLEAN, "--baseline", path).stdout
    grew = f"  {CLEAN}: macs grew from 295,000 to 295,040 (+40, +0.014%), over the tolerance of 0%\n"
    fell = f"  {CLEAN}: flops fell from 602,452 to 602,376 (-76, -0.013%)\n"
    assert stdout.count(grew) == 1 and stdout.count(fell) == 1
    # the regression under failures, the improvement under the baseline's other movements
    assert f"failures:\n{grew}baseline {path} (tolerance 0%):\n{fell}convcalc check: " in stdout


def test_tolerance_is_inclusive(tmp_path):
    path = _baseline(tmp_path, params=1304 - 4)  # +4 / 1300 = 0.3077%
    assert check(CLEAN, "--baseline", path, "--tolerance", "0.3%").exit_code == 1
    result = check(CLEAN, "--baseline", path, "--tolerance", "0.5%")
    assert result.exit_code == 0
    assert f"  {CLEAN}: params grew from 1,300 to 1,304 (+4, +0.31%), within the tolerance of 0.5%\n" in result.stdout


@pytest.mark.parametrize("old, new, tolerance, regressed, change", [
    (100, 105, "5%", False, "+5%"),  # 5 / 100 = 5%: at the tolerance, passes
    (100, 105, "4.99%", True, "+5%"),
    (100, 100, "0", False, "0%"),
    (300, 200, "0", False, "-33.33%"),  # -100 / 300
    (0, 1, "1000%", True, "+inf%"),  # anything from nothing is unbounded growth
    (0, 0, "0", False, "0%"),
    (10**9, 10**9 + 1, "0", True, "+0.0000001%"),  # 1 / 10^9 = 10^-7 %
])
def test_compare_totals_table(old, new, tolerance, regressed, change):
    totals = Totals(new, 0, 0, 0, 0, 0, 0)
    (params,) = baselines.compare_totals(totals, {"params": old}, baselines.parse_tolerance(tolerance), tolerance)
    assert (params.regressed, percent(params.growth)) == (regressed, change)


@pytest.mark.parametrize("text, value", [("0", 0), ("0%", 0), ("5%", Fraction(5, 100)), ("0.5%", Fraction(5, 1000)),
                                         ("100%", 1)])
def test_tolerance_parses(text, value):
    assert baselines.parse_tolerance(text) == value


@pytest.mark.parametrize("text", ["5", "-5%", "5 %", "5%%", "abc", "1e2%", "0.5", "%", ""])
def test_a_bad_tolerance_is_a_usage_error(text):
    with pytest.raises(UsageError, match="--tolerance must be a percentage"):
        baselines.parse_tolerance(text)


def test_added_and_removed_specs_are_notes_not_failures(tmp_path):
    doc = json.loads(CLEAN_BASELINE)
    doc["specs"]["specs/gone.yaml"] = doc["specs"].pop(CLEAN)
    path = tmp_path / "costs.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    result = check(CLEAN, "--baseline", str(path))
    assert result.exit_code == 0
    assert (f"baseline {path} (tolerance 0%):\n  {CLEAN}: not in the baseline (added)\n"
            "  specs/gone.yaml: in the baseline but not checked (removed)\n") in result.stdout
    assert result.stdout.endswith("; baseline: 1 added, 1 removed\n")


@pytest.mark.parametrize("content, message", [
    (None, "no such baseline file; record one with --write-baseline"),
    ('{"schema": 1,\n "specs": {,}}', "2: baseline is not valid JSON: Expecting property name enclosed in "
                                      "double quotes"),
    ('{"schema": 2, "specs": {}}', 'not a convcalc baseline: expected {"schema": 1, "specs": {...}} as written by '
                                   "--write-baseline"),
    ("[1, 2]", 'not a convcalc baseline: expected {"schema": 1'),
    ('{"schema": 1, "specs": {"a.yaml": 3}}', "baseline entry 'a.yaml' is not a mapping of totals"),
    ('{"schema": 1, "specs": {"a.yaml": {"macs": -1}}}',
     "baseline entry 'a.yaml': macs must be a non-negative integer"),
    ('{"schema": 1, "specs": {"a.yaml": {"macs": true}}}', "macs must be a non-negative integer, got true"),
    ('{"schema": 1, "specs": {"a.yaml": {"macs": 1.5}}}', "macs must be a non-negative integer, got 1.5"),
    ("[" * 100_000, "baseline is not a convcalc baseline (numbers too long or nesting too deep)"),
    ('{"schema": 1, "specs": {"a": {"macs": 1' + "0" * 5000 + "}}}", "numbers too long or nesting too deep"),
    (b"\xff\xfe", "baseline is not UTF-8 text"),
])
def test_a_broken_baseline_is_a_usage_error(tmp_path, content, message):
    path = tmp_path / "costs.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content, encoding="utf-8")
    result = check(CLEAN, "--baseline", str(path))
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr.startswith(f"convcalc: {path}") and message in result.stderr
    assert result.stderr.count("\n") == 1


def test_an_oversized_baseline_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(baselines, "MAX_BASELINE_BYTES", 64)
    path = tmp_path / "costs.json"
    path.write_text(CLEAN_BASELINE, encoding="utf-8")
    with pytest.raises(UsageError, match="baseline is larger than the limit of 64 bytes"):
        baselines.read_baseline(str(path))


def test_no_baseline_is_written_when_a_spec_is_invalid(tmp_path):
    path = tmp_path / "costs.json"
    result = check(CLEAN, "tests/assets/bad/empty.yaml", "--write-baseline", str(path))
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1] == (f"convcalc: {path}: baseline not written: 1 spec is invalid "
                                              "(tests/assets/bad/empty.yaml)")
    assert not path.exists()


def test_paths_are_one_key_however_written():
    assert baselines.baseline_key("./specs/../specs/a.yaml") == baselines.baseline_key("specs/a.yaml") == "specs/a.yaml"
    assert baselines.baseline_key("3x8 | relu") == "3x8 | relu"


# --------------------------------------------------------------------------------------------
# Formats


def test_every_format_has_a_renderer():
    assert set(RENDERERS) == set(CheckFormat)
    for fmt in CheckFormat:
        assert check(OVER, "--format", fmt.value).exit_code == 1


def test_text_output():
    result = check(CLEAN, "--max-params", "1k")
    assert result.exit_code == 1
    assert result.stdout == """\
┌───────────────────────────────┬──────────────┬───────┬────────────┬────────┐
│ spec                          │ check        │ value │      limit │ result │
├───────────────────────────────┼──────────────┼───────┼────────────┼────────┤
│ tests/assets/check/clean.yaml │ --max-params │ 1,304 │ 1,000 (1k) │ FAIL   │
└───────────────────────────────┴──────────────┴───────┴────────────┴────────┘
failures:
  tests/assets/check/clean.yaml: params 1,304 is over the budget of 1,000 (--max-params 1k) by 304
convcalc check: 0 passed, 1 failed, 0 invalid of 1 spec
"""
    assert result.stderr == ""


GITHUB_OVER = [
    "::error file=tests/assets/check/over_budget.yaml,line=6,title=convcalc check::params 3,650 is over the budget "
    "of 3,649 (line 6) by 1",
    "::error file=tests/assets/check/over_budget.yaml,line=8,title=convcalc check::flops 1,024,370 is over the budget "
    "of 1,000,000 (1M, line 8) by 24,370",
    "::error file=tests/assets/check/over_budget.yaml,line=10,title=convcalc check::weight_bytes 14,736 is over the "
    "budget of 14,336 (14KiB, line 10) by 400",
    "::error file=tests/assets/check/over_budget.yaml,line=11,title=convcalc check::output [10] is not the expected "
    "[1000] (line 11)",
    "::warning file=tests/assets/check/over_budget.yaml,line=17,title=convcalc check::layer 'conv1' (conv): stride 3 "
    "does not fit axis H: the last 1 of 16 input positions are never covered",
    "::warning file=tests/assets/check/over_budget.yaml,line=17,title=convcalc check::layer 'conv1' (conv): stride 3 "
    "does not fit axis W: the last 1 of 16 input positions are never covered",
]


def test_github_annotations_point_at_the_budget_lines():
    result = check(OVER, "--format", "github")
    assert result.exit_code == 1
    assert result.stdout.splitlines() == GITHUB_OVER + [
        "convcalc check: 0 passed, 1 failed, 0 invalid of 1 spec; 2 warnings (not failing without --strict)"]


def test_github_strict_warnings_are_errors_and_invalid_specs_are_annotated():
    result = check(BUDGET, "tests/assets/bad/kernel_too_large.yaml", "--strict", "--format", "github")
    assert result.exit_code == 2
    assert result.stdout.splitlines() == [
        "::error file=tests/assets/check/budget.yaml,line=16,title=convcalc check::layer 'conv1' (conv): stride 3 does "
        "not fit axis H: the last 1 of 16 input positions are never covered",
        "::error file=tests/assets/check/budget.yaml,line=16,title=convcalc check::layer 'conv1' (conv): stride 3 does "
        "not fit axis W: the last 1 of 16 input positions are never covered",
        "::error file=tests/assets/bad/kernel_too_large.yaml,line=4,title=convcalc check::layer 'big' (conv): kernel 7 "
        "is larger than the padded input 6 (6 + 0 + 0 padding) on axis H",
        "convcalc check: 0 passed, 1 failed, 1 invalid of 2 specs; 2 warnings",
    ]
    assert result.stderr == Path("tests/assets/bad/kernel_too_large.yaml.expect").read_text(encoding="utf-8")


def test_github_escapes_percent_newlines_and_property_separators(tmp_path):
    spec = tmp_path / "a,b:c.yaml"
    spec.write_text("input: [8, 4]\nlayers: [{conv: {out: 8, k: 1}}]\n", encoding="utf-8")
    baseline = tmp_path / "costs.json"
    total = convcalc.analyze(convcalc.load(str(spec))).total
    entry = {**{m: getattr(total, m) for m in baselines.BASELINE_METRICS}, "params": 60}  # only params moved
    baseline.write_text(json.dumps({"schema": 1, "specs": {str(spec): entry}}), encoding="utf-8")
    result = check(str(spec), "--baseline", str(baseline), "--format", "github")
    assert result.exit_code == 1
    escaped = str(spec).replace(",", "%2C").replace(":", "%3A")
    # params 8*8 + 8 = 72 against 60: +12 / 60 = +20%
    assert result.stdout.splitlines()[0] == (f"::error file={escaped},line=1,title=convcalc check::params grew from 60 "
                                             "to 72 (+12, +20%25), over the tolerance of 0%25")
    from convcalc.reporters.checks import _data, _property

    assert _data("50%\r\nnext") == "50%25%0D%0Anext"
    assert _property("a,b:c%") == "a%2Cb%3Ac%25"


def test_junit_has_a_case_per_spec_and_constraint(tmp_path):
    doc = json.loads(CLEAN_BASELINE)
    doc["specs"]["specs/gone.yaml"] = doc["specs"][CLEAN]
    doc["specs"][CLEAN] = dict(doc["specs"][CLEAN], macs=295040 - 1)
    baseline = tmp_path / "costs.json"
    baseline.write_text(json.dumps(doc), encoding="utf-8")
    result = check(OVER, CLEAN, "tests/assets/bad/duplicate_name.yaml", "--baseline", str(baseline),
                   "--format", "junit")
    assert result.exit_code == 2
    assert result.stdout.startswith('<?xml version="1.0" encoding="UTF-8"?>\n')
    suite = ET.fromstring(result.stdout.split("\n", 1)[1])
    assert suite.tag == "testsuite"
    cases = [(c.get("classname"), c.get("name"), c.get("line"), [child.tag for child in c]) for c in suite]
    assert cases == [
        (OVER, "valid", None, []),
        (OVER, "budget.params", "6", ["failure"]),
        (OVER, "budget.macs", "7", ["system-out"]),
        (OVER, "budget.flops", "8", ["failure"]),
        (OVER, "budget.peak_activation_bytes", "9", ["system-out"]),
        (OVER, "budget.weight_bytes", "10", ["failure"]),
        (OVER, "expect_output", "11", ["failure"]),
        (OVER, "warnings", "17", ["system-out"]),
        (OVER, "baseline", None, ["system-out"]),  # added
        (CLEAN, "valid", None, []),
        *[(CLEAN, f"baseline.{m}", None, ["failure" if m == "macs" else "system-out"]) for m in baselines.BASELINE_METRICS],
        ("tests/assets/bad/duplicate_name.yaml", "valid", "4", ["error"]),
        ("specs/gone.yaml", "baseline", None, ["skipped"]),
    ]
    # 9 cases of over_budget.yaml, 7 of clean.yaml, 1 invalid spec, 1 removed; failures 4 + 1
    assert {k: suite.get(k) for k in ("tests", "failures", "errors", "skipped")} == {
        "tests": str(9 + 7 + 1 + 1), "failures": str(4 + 1), "errors": "1", "skipped": "1"}
    failure = suite.find("testcase[@name='budget.params']/failure")
    assert failure.get("message") == "params 3,650 is over the budget of 3,649 (line 6) by 1"
    error = suite.find("testcase[@classname='tests/assets/bad/duplicate_name.yaml']/error")
    assert error.get("message") == Path("tests/assets/bad/duplicate_name.yaml.expect").read_text(
        encoding="utf-8").removeprefix("convcalc: ").rstrip("\n")
    assert error.get("type") == "SpecError"


def test_junit_strict_warnings_fail_with_one_line_each():
    suite = ET.fromstring(check(HALF, "--strict", "--format", "junit").stdout.split("\n", 1)[1])
    failure = suite.find("testcase[@name='warnings']/failure")
    assert failure.get("message") == "4 warnings (--strict)"
    assert failure.text.splitlines()[0] == ("tests/assets/check/half.yaml:9: layer 'conv1' (conv): even kernel 2x2 "
                                            "with 'same' padding pads unevenly: ((0, 1), (0, 1))")
    assert len(failure.text.splitlines()) == 4


def test_json_reports_every_spec_with_its_status():
    result = check(CLEAN, OVER, "tests/assets/bad/from_forward.yaml", "--format", "json")
    data = json.loads(result.stdout)
    assert data["exit_code"] == result.exit_code == 2
    assert [(s["spec"], s["status"]) for s in data["specs"]] == [
        (CLEAN, "pass"), (OVER, "fail"), ("tests/assets/bad/from_forward.yaml", "invalid")]
    error = data["specs"][2]["error"]
    assert (error["file"], error["line"]) == ("tests/assets/bad/from_forward.yaml", 3)
    assert data["specs"][0]["totals"]["params"] == 1304
    assert data["specs"][1]["output"] == [10]


# --------------------------------------------------------------------------------------------
# Exit codes and usage


def test_exit_codes():
    assert check(CLEAN).exit_code == 0
    assert check(OVER).exit_code == 1
    assert check("tests/assets/bad/empty.yaml").exit_code == 2
    assert check(OVER, "tests/assets/bad/empty.yaml").exit_code == 2  # 2 wins over 1


def test_an_invalid_spec_does_not_hide_the_others():
    result = check("tests/assets/bad/empty.yaml", OVER, CLEAN)
    assert result.exit_code == 2
    assert result.stderr == Path("tests/assets/bad/empty.yaml.expect").read_text(encoding="utf-8")
    # --help promises an invalid spec appears as a failed spec: a row of the table, before the others
    rows = [[cell.strip() for cell in line.split("│")[1:-1]] for line in result.stdout.splitlines()
            if line.startswith("│")]
    assert rows[1] == ["tests/assets/bad/empty.yaml", "spec", "invalid", "", "FAIL"]
    assert rows[2][:2] == [OVER, "budget.params"]
    assert "tests/assets/check/over_budget.yaml:6: params 3,650 is over the budget" in result.stdout
    assert result.stdout.endswith("convcalc check: 1 passed, 1 failed, 1 invalid of 3 specs; "
                                  "2 warnings (not failing without --strict)\n")


@pytest.mark.parametrize("args, message", [
    ((), "convcalc: give one or more spec files: convcalc check specs/*.yaml\n"),
    ((CLEAN, "--tolerance", "5"), "convcalc: --tolerance must be a percentage like 5% or 0.5% (or 0), got '5'\n"),
    ((CLEAN, "--max-flops", "1e9"), "convcalc: --max-flops must be a number with an optional unit"),
])
def test_usage_errors_are_one_line_and_exit_2(args, message):
    result = check(*args)
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr.startswith(message) and result.stderr.count("\n") == 1


@pytest.mark.parametrize("args", [(CLEAN, "--format", "xml"), (CLEAN, "--align", "0")])
def test_click_usage_errors_exit_2(args):
    assert check(*args).exit_code == 2


def test_stdin_and_one_line_specs():
    result = check("-", "3x8x8 | conv 8 k3", "--format", "json", input="input: [1, 4]\nlayers: [relu]\n")
    assert [(s["spec"], s["status"], s["output"]) for s in json.loads(result.stdout)["specs"]] == [
        ("-", "pass", [1, 4]), ("3x8x8 | conv 8 k3", "pass", [8, 6, 6])]


def test_help_documents_the_exit_codes():
    result = CliRunner().invoke(cli, ["check", "--help"])
    assert result.exit_code == 0
    text = " ".join(result.stdout.split())
    assert ("Exit codes: 0 all pass; 1 a budget, expectation or baseline failed (or a warning under --strict); "
            "2 a spec is invalid or the usage is wrong (2 wins over 1).") in text


def test_check_never_imports_heavy_modules():
    code = ("import sys\nfrom click.testing import CliRunner\nfrom convcalc.cli import cli\n"
            "for fmt in ('text', 'json', 'junit', 'github'):\n"
            f"    r = CliRunner().invoke(cli, ['check', 'specs/resnet50.yaml', '{OVER}', '--format', fmt])\n"
            "    assert r.exit_code == 1, r.output\n"
            "print(sorted(m for m in ('torch', 'numpy', 'fvcore', 'matplotlib', 'rich') if m in sys.modules))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_the_pre_commit_hook_runs_check_on_specs():
    import yaml

    (hook,) = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    assert (hook["id"], hook["entry"], hook["language"]) == ("convcalc-check", "convcalc check", "python")
    assert hook["require_serial"] is True  # one run, one summary, one exit code


def test_a_linear_on_a_feature_map_is_aligned_by_the_axis_it_maps(tmp_path):
    """linear on [N, 16, 5, 12] maps its last axis, 12 -> 10: those are its features (16 and 5 are not)."""
    spec = tmp_path / "rows.yaml"
    spec.write_text("input: [16, 5, 12]\nlayers:\n  - linear: {out: 10}\n")
    aligned = [w["message"] for w in as_json(str(spec), "--align", "8")["specs"][0]["warnings"]]
    assert aligned == ["tensor-core alignment: input features 12 and output features 10 are not multiples of 8 "
                       "(--align 8)"]
