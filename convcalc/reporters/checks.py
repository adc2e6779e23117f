"""Renderers of `convcalc check` results: text for people, json, junit XML and GitHub annotations.

Each renderer takes the frozen `CheckRun` and returns a string; none of them computes anything.
`RENDERERS` maps every `CheckFormat` to its function, and a test checks each member is covered.
Spec files come from pull requests, so every string that came from a spec is cleaned of control
characters (terminal escapes, characters XML cannot hold) before it is written.

An invalid spec's one-line error goes to stderr (the command prints it); every format also
carries the invalid spec itself (a failed row in the text table, `"status": "invalid"`, an
`<error>` case, an `::error` annotation), so neither a person nor a CI dashboard misses one.
"""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from enum import Enum
from typing import IO, Any, Callable

from ..check import CheckRun, SpecResult
from ..printable import clean
from ..textable import Column, Table, render as render_table, terminal_width, wants_color
from .jsonout import dumps


class CheckFormat(str, Enum):
    TEXT = "text"
    JSON = "json"
    JUNIT = "junit"
    GITHUB = "github"


def location_free(error: Any) -> str:
    """An error's message with its layer but without file and line (annotations carry those)."""
    layer = ""
    if error.layer is not None:
        layer = f"layer '{error.layer}' ({error.kind}): " if error.kind else f"layer '{error.layer}': "
    return clean(layer + " ".join(error.message.split()))


def summary(run: CheckRun) -> str:
    """'convcalc check: 1 passed, 1 failed, 1 invalid of 3 specs; 2 warnings (not failing without --strict)'."""
    return run.summary


def _line(line: int | None) -> str:
    return f":{line}" if line is not None else ""


def _value(value: Any) -> str:
    if isinstance(value, tuple):
        return "[" + ", ".join(map(str, value)) + "]"
    return f"{value:,}"


def _limit(check: Any) -> str:
    limit = check.limit
    exact = _value(limit.value)
    if limit.key == "expect_output" or limit.written == str(limit.value):
        return exact
    return f"{exact} ({clean(limit.written)})"


# --------------------------------------------------------------------------------------------
# text


def text(run: CheckRun, stream: IO[str] | None = None) -> str:
    """A table of every constraint of every spec (an invalid one as a failed `spec invalid` row),
    then the failures (baseline regressions among them) and warnings as `file:line: message`
    (clickable in editors), the other baseline movements, and a summary line."""
    stream = stream or sys.stdout
    table = Table([Column("spec", shrink=True, min_width=12, cut="middle"), Column("check"), Column("value", "right"),
                   Column("limit", "right", optional=True), Column("result")])
    ok, fail, warn = ("ok", "green"), ("FAIL", "red bold"), ("warn", "yellow")
    failures, warnings, moves = [], [], []
    for i, r in enumerate(run.results):
        if i:
            table.rule()
        spec = clean(r.argument)
        if r.error is not None:  # its one-line error is on stderr; here, that it failed
            table.add_row(spec, "spec", "invalid", "", fail)
            continue
        rows: list[tuple[Any, ...]] = []
        for check in r.checks:
            rows.append((check.name, _value(check.actual), _limit(check), ok if check.ok else fail))
            if not check.ok:
                failures.append(f"{spec}{_line(check.line)}: {clean(check.message)}")
        if r.warnings:
            rows.append(("warnings", str(len(r.warnings)), "0" if r.strict else "", fail if r.strict else warn))
            warnings.extend(f"{spec}{_line(w.line)}: {clean(w)}" for w in r.warnings)
        if r.changes is not None:
            moved = [c for c in r.changes if c.new != c.old]
            regressed = r.regressions
            rows.append(("baseline", f"{len(moved)} moved", f"+{run.tolerance}", fail if regressed else ok))
            # a regression is listed once, with the failures; the baseline notes hold the rest
            failures.extend(f"{spec}: {clean(c.message)}" for c in regressed)
            moves.extend(f"{spec}: {clean(c.message)}" for c in moved if not c.regressed)
        elif r.in_baseline is False:
            rows.append(("baseline", "added", "", ok))
            moves.append(f"{spec}: not in the baseline (added)")
        if not rows:
            rows.append(("(no budget)", "", "", ok))
        for j, row in enumerate(rows):
            table.add_row(spec if j == 0 else "", *row)
    moves.extend(f"{clean(key)}: in the baseline but not checked (removed)" for key in run.removed)
    parts = [render_table(table, width=terminal_width(stream), color=wants_color(stream), stream=stream)]
    if failures:
        parts.append("failures:\n" + "".join(f"  {line}\n" for line in failures))
    if warnings:
        title = "warnings (failing: --strict)" if run.strict else "warnings"
        parts.append(f"{title}:\n" + "".join(f"  {line}\n" for line in warnings))
    if moves:
        parts.append(f"baseline {clean(run.baseline)} (tolerance {run.tolerance}):\n"
                     + "".join(f"  {line}\n" for line in moves))
    parts.append(summary(run) + "\n")
    return "".join(parts)


# --------------------------------------------------------------------------------------------
# json


def as_json(run: CheckRun, stream: IO[str] | None = None) -> str:
    """The run's own record (`CheckRun.to_dict`: schema, exit code, every spec, the summary line);
    deterministic."""
    return dumps(run.to_dict()) + "\n"


# --------------------------------------------------------------------------------------------
# junit


def junit(run: CheckRun, stream: IO[str] | None = None) -> str:
    """One <testsuite> for the run; per spec a testcase 'valid' (an <error> when the spec is
    invalid), one per constraint ('budget.params', 'expect_output'), 'warnings', and one per
    baseline total ('baseline.macs'); a spec removed from the baseline is a <skipped> case."""
    suite = ET.Element("testsuite", name="convcalc check")
    counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}

    def case(r: SpecResult | None, name: str, classname: str, line: int | None = None) -> ET.Element:
        attrs = {"classname": clean(classname), "name": name}
        if r is not None:
            attrs["file"] = clean(r.argument)
        if line is not None:
            attrs["line"] = str(line)
        counts["tests"] += 1
        return ET.SubElement(suite, "testcase", attrs)

    def fail(element: ET.Element, message: str, kind: str, lines: list[str] | None = None) -> None:
        counts["failures"] += 1
        body = "\n".join(clean(line) for line in lines or [message])
        ET.SubElement(element, "failure", message=clean(message), type=kind).text = body

    def out(element: ET.Element, lines: list[str]) -> None:
        ET.SubElement(element, "system-out").text = "\n".join(clean(line) for line in lines)

    for r in run.results:
        spec = r.argument
        valid = case(r, "valid", spec, r.error.line if r.error is not None else None)
        if r.error is not None:
            counts["errors"] += 1
            message = clean(r.error)
            ET.SubElement(valid, "error", message=message, type=type(r.error).__name__).text = message
            continue
        for check in r.checks:
            element = case(r, check.name, spec, check.line)
            if not check.ok:
                fail(element, check.message, "expectation" if check.name.startswith("expect_output") else "budget")
            else:
                out(element, [check.message])
        if r.warnings:
            element = case(r, "warnings", spec, r.warnings[0].line)
            lines = [f"{spec}{_line(w.line)}: {w}" for w in r.warnings]
            if r.strict:
                fail(element, f"{len(r.warnings)} warning{'s' if len(r.warnings) != 1 else ''} (--strict)",
                     "warning", lines)
            else:
                out(element, lines)
        if r.changes is not None:
            for change in r.changes:
                element = case(r, f"baseline.{change.metric}", spec)
                if change.regressed:
                    fail(element, change.message, "baseline")
                else:
                    out(element, [change.message])
        elif r.in_baseline is False:
            out(case(r, "baseline", spec), [f"{spec}: not in the baseline {run.baseline} (added)"])
    for key in run.removed:
        element = case(None, "baseline", key)
        counts["skipped"] += 1
        ET.SubElement(element, "skipped", message=clean(f"in the baseline {run.baseline} but not checked (removed)"))
    for key, value in counts.items():
        suite.set(key, str(value))
    ET.indent(suite)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suite, encoding="unicode") + "\n"


# --------------------------------------------------------------------------------------------
# github


def _data(text: str) -> str:
    """GitHub workflow-command message escaping: %, CR, LF."""
    return clean(text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A"))


def _property(text: str) -> str:
    """Workflow-command property escaping: also ':' and ','."""
    return _data(text).replace(":", "%3A").replace(",", "%2C")


def _command(level: str, message: str, file: str | None = None, line: int | None = None) -> str:
    props = []
    if file is not None:
        props += [f"file={_property(file)}", f"line={line or 1}"]
    props.append("title=convcalc check")
    return f"::{level} {','.join(props)}::{_data(message)}"


def github(run: CheckRun, stream: IO[str] | None = None) -> str:
    """`::error` for failures and invalid specs, `::warning` for warnings, `::notice` for baseline
    improvements and added or removed specs, each at its spec line; then a plain summary line."""
    lines = []
    for r in run.results:
        spec = r.argument
        if r.error is not None:
            lines.append(_command("error", location_free(r.error), r.error.file or spec, r.error.line))
            continue
        lines.extend(_command("error", c.message, spec, c.line) for c in r.failed_checks)
        level = "error" if r.strict else "warning"
        lines.extend(_command(level, str(w), spec, w.line) for w in r.warnings)
        for change in r.changes or ():
            if change.regressed:
                lines.append(_command("error", change.message, spec, 1))
            elif change.new != change.old:
                lines.append(_command("notice", change.message, spec, 1))
        if r.in_baseline is False:
            lines.append(_command("notice", f"not in the baseline {run.baseline} (added)", spec, 1))
    lines.extend(_command("notice", f"{key} is in the baseline {run.baseline} but was not checked (removed)")
                 for key in run.removed)
    lines.append(summary(run))
    return "\n".join(lines) + "\n"


RENDERERS: dict[CheckFormat, Callable[[CheckRun, IO[str] | None], str]] = {
    CheckFormat.TEXT: text,
    CheckFormat.JSON: as_json,
    CheckFormat.JUNIT: junit,
    CheckFormat.GITHUB: github,
}


def render(run: CheckRun, fmt: CheckFormat | str, stream: IO[str] | None = None) -> str:
    return RENDERERS[CheckFormat(fmt)](run, stream)
