"""`convcalc check`: budgets, expectations, warnings and baselines of specs, for CI.

Each SPEC argument is loaded, analysed once and held to its limits and warnings (budgets.py) and,
when a baseline is given, its totals compared with the baseline's (baseline.py). An invalid spec
becomes a result carrying its error, so the other specs are still checked. Everything here
returns frozen records (`CheckRun`) that reporters/checks.py renders; nothing here prints.

Exit codes (`CheckRun.exit_code`): 0 all pass, 1 a budget, expectation or baseline failed (or a
warning under --strict), 2 a spec is invalid; usage errors raise `UsageError` (also 2).
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any, NamedTuple, Sequence

from ..analysis import analyze
from ..errors import ConvcalcError
from ..report import SCHEMAS, Totals, args_dict
from ..sources import load_argument
from ..spec import Overrides, Spec
from .baseline import (BASELINE_METRICS, Baseline, Change, baseline_key, baseline_text, check_target, compare_totals,
                       parse_tolerance, read_baseline, write_baseline)
from .budgets import (BUDGET_KEYS, BUDGET_METRICS, FLAGS, TRAINING, Finding, Limit, LimitCheck, evaluate_limits,
                      findings, flag_limit, spec_limits)


class SpecResult(NamedTuple):
    """Everything `check` found about one SPEC argument."""

    argument: str  # as given on the command line
    key: str  # its baseline key: the path, normalized ("./a.yaml" and "a.yaml" are one spec)
    name: str | None
    error: ConvcalcError | None  # the spec is invalid; nothing else was evaluated
    totals: Totals | None
    output: tuple[int, ...] | None  # without the batch
    checks: tuple[LimitCheck, ...]
    warnings: tuple[Finding, ...]
    changes: tuple[Change, ...] | None  # None: no baseline, or the spec is not in it
    in_baseline: bool | None  # None: no baseline given
    strict: bool
    args: dict[str, Any] = {}  # the spec's `args:` as measured (--set)
    input: tuple[int, ...] | None = None  # per sample, as measured (--input or the spec's)

    @property
    def failed_checks(self) -> tuple[LimitCheck, ...]:
        return tuple(c for c in self.checks if not c.ok)

    @property
    def regressions(self) -> tuple[Change, ...]:
        return tuple(c for c in self.changes or () if c.regressed)

    @property
    def status(self) -> str:
        """'invalid', 'fail' or 'pass'."""
        if self.error is not None:
            return "invalid"
        if self.failed_checks or self.regressions or (self.strict and self.warnings):
            return "fail"
        return "pass"

    def to_dict(self) -> dict[str, Any]:
        error = None
        if self.error is not None:
            error = {"message": str(self.error), "file": self.error.file, "line": self.error.line,
                     "layer": self.error.layer, "kind": self.error.kind}
        baseline = None
        if self.changes is not None:
            baseline = {"status": "compared", "changes": [c.to_dict() for c in self.changes]}
        elif self.in_baseline is False:
            baseline = {"status": "added"}
        return {
            "spec": self.argument,
            "key": self.key,
            "name": self.name,
            "status": self.status,
            "error": error,
            "totals": self.totals.to_dict() if self.totals is not None else None,
            "output": list(self.output) if self.output is not None else None,
            "input": list(self.input) if self.input is not None else None,
            "args": args_dict(self.args),
            "checks": [c.to_dict() for c in self.checks],
            "warnings": [w.to_dict() for w in self.warnings],
            "baseline": baseline,
        }


class CheckRun(NamedTuple):
    """Every SPEC argument's result, in the order given, and the run's settings."""

    results: tuple[SpecResult, ...]
    strict: bool
    baseline: str | None  # its path, when comparing
    tolerance: str  # as given: "0%", "5%"
    removed: tuple[str, ...]  # in the baseline, not checked

    @property
    def exit_code(self) -> int:
        statuses = {r.status for r in self.results}
        return 2 if "invalid" in statuses else 1 if "fail" in statuses else 0

    @property
    def summary(self) -> str:
        """'convcalc check: 1 passed, 1 failed, 1 invalid of 3 specs; 2 warnings (not failing without --strict)'."""
        statuses = [r.status for r in self.results]
        n = len(statuses)
        text = (f"convcalc check: {statuses.count('pass')} passed, {statuses.count('fail')} failed, "
                f"{statuses.count('invalid')} invalid of {n} spec{'s' if n != 1 else ''}")
        warnings = sum(len(r.warnings) for r in self.results)
        if warnings:
            text += f"; {warnings} warning{'s' if warnings != 1 else ''}"
            text += "" if self.strict else " (not failing without --strict)"
        if self.baseline is not None:
            added = sum(1 for r in self.results if r.in_baseline is False)
            if added or self.removed:
                text += f"; baseline: {added} added, {len(self.removed)} removed"
        return text

    def to_dict(self) -> dict[str, Any]:
        """{"schema", "exit_code", "strict", "baseline", "tolerance", "specs": [...], "removed": [...],
        "summary"}: `convcalc check --format json`."""
        return {
            "schema": SCHEMAS["check"],
            "exit_code": self.exit_code,
            "strict": self.strict,
            "baseline": self.baseline,
            "tolerance": self.tolerance,
            "specs": [r.to_dict() for r in self.results],
            "removed": list(self.removed),
            "summary": self.summary,
        }


def check_spec(spec: Spec, *, flags: Sequence[Limit] = (), align: int | None = None, strict: bool = False,
               baseline: Baseline | None = None, tolerance: Fraction = Fraction(0), tolerance_text: str = "0%",
               argument: str | None = None, overrides: Overrides | None = None) -> SpecResult:
    """Analyze `spec` and evaluate its constraints; ConvcalcError when the spec is invalid."""
    limits = spec_limits(spec)
    limits.update({limit.key: limit for limit in flags})
    report = analyze(spec)
    argument = spec.source if argument is None else argument
    key = baseline_key(argument, overrides)
    changes, in_baseline = None, None
    if baseline is not None:
        in_baseline = key in baseline.specs
        if in_baseline:
            changes = compare_totals(report.total, baseline.specs[key], tolerance, tolerance_text)
    checks = evaluate_limits(report, limits)
    if any(k in limits for k in TRAINING):
        from .. import train_budget

        checks += tuple(train_budget.checks(spec, limits, LimitCheck))
    return SpecResult(argument, key, report.name, None, report.total, report.output[1:], checks,
                      findings(report, align), changes, in_baseline, strict, spec.args, spec.input)


def run(arguments: Sequence[str], *, flags: Sequence[Limit] = (), align: int | None = None, strict: bool = False,
        baseline: Baseline | None = None, tolerance: str = "0%", overrides: Overrides | None = None) -> CheckRun:
    """Check every SPEC argument (with `overrides`: --input and --set); an invalid spec becomes a
    result with its error, never an exception."""
    allowed = parse_tolerance(tolerance)
    results = []
    for argument in arguments:
        try:
            spec = load_argument(argument, overrides)
            results.append(check_spec(spec, flags=flags, align=align, strict=strict, baseline=baseline,
                                      tolerance=allowed, tolerance_text=tolerance, argument=argument,
                                      overrides=overrides))
        except ConvcalcError as exc:
            results.append(SpecResult(argument, baseline_key(argument, overrides), None, exc, None, None, (), (), None,
                                      None, strict))
    checked = {r.key for r in results}
    removed = tuple(sorted(k for k in baseline.specs if k not in checked)) if baseline else ()
    return CheckRun(tuple(results), strict, baseline.path if baseline else None, tolerance, removed)


__all__ = ["run", "check_spec", "CheckRun", "SpecResult",
           "spec_limits", "flag_limit", "evaluate_limits", "findings", "Limit", "LimitCheck", "Finding",
           "BUDGET_KEYS", "BUDGET_METRICS", "FLAGS",
           "read_baseline", "write_baseline", "check_target", "baseline_text", "baseline_key", "compare_totals",
           "parse_tolerance", "Baseline", "Change", "BASELINE_METRICS"]

from ..api import callable_module  # noqa: E402  (convcalc.check(...) is api.check: this module is callable)

callable_module(__name__)
