"""`convcalc check`: budgets, expectations, warnings and baselines of specs, for CI.

A spec's constraints come from its `budget:` mapping (params, macs, flops, peak_activation_bytes,
weight_bytes, expect_output, and the training budgets train_peak_bytes and min_fit_batch, which
convcalc/train_budget.py parses and evaluates) and from command-line limits, which override or add to it. A limit
is inclusive: a total equal to its limit passes. Warnings are the layers' own (strides that leave
input uncovered, even kernels with 'same' padding) plus the tensor-core alignment computed here;
they fail a spec only under `--strict`. A baseline is a JSON file of every spec's totals; a total
that grows by more than the tolerance fails. Everything here returns frozen records (`CheckRun`)
that reporters/checks.py renders; nothing here prints.

Exit codes (`CheckRun.exit_code`): 0 all pass, 1 a budget, expectation or baseline failed (or a
warning under --strict), 2 a spec is invalid; usage errors raise `UsageError` (also 2).
"""

from __future__ import annotations

import json
import os
import re
import stat
from fractions import Fraction
from typing import Any, NamedTuple, Sequence

from .analysis import analyze
from .errors import ConvcalcError, SpecError, UsageError, did_you_mean
from .layers import NOTE_LABELS, REGISTRY
from .report import SCHEMAS, Report, Totals
from .spec import Spec, is_text_form, load_argument
from .spec.source import LMap
from .units import parse_quantity, percent

METRICS = ("params", "macs", "flops", "peak_activation_bytes", "weight_bytes")  # budgetable totals
TRAINING = ("train_peak_bytes", "min_fit_batch")  # convcalc/train_budget.py
BUDGET_KEYS = (*METRICS, "expect_output", *TRAINING)
BASELINE_METRICS = ("params", "buffers", "macs", "flops", "peak_activation_bytes", "weight_bytes")
FLAGS = {"params": "--max-params", "macs": "--max-macs", "flops": "--max-flops",
         "peak_activation_bytes": "--max-peak-memory", "weight_bytes": "--max-weight-bytes"}
HALF_PRECISION = ("float16", "bfloat16")  # tensor cores want channels in multiples of 8
HALF_ALIGNMENT = 8
BASELINE_SCHEMA = SCHEMAS["baseline"]
MAX_BASELINE_BYTES = 16 << 20  # baselines come from pull requests too
MAX_BASELINE_VALUE = 10**1000  # far above any total (sizes are below 2^48), far below Python's digit limit
MAX_QUANTITY_CHARS = 64  # a budget value as text: "600M", "1.5GiB"
_TOLERANCE = re.compile(r"([0-9]{1,12}(?:\.[0-9]{1,12})?)%\Z|0+(?:\.0+)?\Z")
_DIMS = re.compile(r"\s*[0-9]{1,15}(\s*[xX×]\s*[0-9]{1,15})*\s*\Z")

ALIGNMENT = "tensor-core alignment"


class Limit(NamedTuple):
    """One constraint: a budget total's upper bound, or the expected output shape."""

    key: str  # a BUDGET_KEYS member
    value: Any  # int for a total, tuple of ints (no batch) for expect_output
    written: str  # as given: "5M", "5000000", "[1000]"
    origin: str  # "budget" (the spec's) or the flag that set it, "--max-params"
    line: int | None  # the budget key's line in the spec; None for a flag

    @property
    def where(self) -> str:
        """'5M, line 4' / 'line 4' / '--max-params 5M': where the limit was set, for messages."""
        if self.origin != "budget":
            return f"{self.origin} {self.written}"
        parts = [self.written] if self.key != "expect_output" and self.written != str(self.value) else []
        parts += [f"line {self.line}"] if self.line is not None else []
        return ", ".join(parts) or "budget"


class Check(NamedTuple):
    """A constraint evaluated on one spec."""

    name: str  # "budget.params" (the spec's budget), "--max-params" (a flag's), "expect_output"
    ok: bool
    actual: Any  # the total, or the output shape without the batch
    limit: Limit
    message: str

    @property
    def line(self) -> int | None:
        return self.limit.line


class Finding(NamedTuple):
    """A warning about one layer: legal, but probably not what was meant."""

    category: str  # "uncovered input", "even kernel with 'same' padding", "tensor-core alignment"
    layer: str
    kind: str
    line: int | None
    message: str

    def __str__(self) -> str:
        return f"layer '{self.layer}' ({self.kind}): {self.message}"


class Change(NamedTuple):
    """One total against its baseline value."""

    metric: str
    old: int
    new: int
    growth: Fraction | None  # (new - old) / old; None when old is 0 and new is not (unbounded)
    regressed: bool  # grew by more than the tolerance
    message: str


class SpecResult(NamedTuple):
    """Everything `check` found about one SPEC argument."""

    argument: str  # as given on the command line
    key: str  # its baseline key: the path, normalized ("./a.yaml" and "a.yaml" are one spec)
    name: str | None
    error: ConvcalcError | None  # the spec is invalid; nothing else was evaluated
    totals: Totals | None
    output: tuple[int, ...] | None  # without the batch
    checks: tuple[Check, ...]
    warnings: tuple[Finding, ...]
    changes: tuple[Change, ...] | None  # None: no baseline, or the spec is not in it
    in_baseline: bool | None  # None: no baseline given
    strict: bool

    @property
    def failed_checks(self) -> tuple[Check, ...]:
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


class Baseline(NamedTuple):
    path: str
    specs: dict[str, dict[str, Any]]  # key -> {"name", "params", "buffers", ...}


class CheckRun(NamedTuple):
    results: tuple[SpecResult, ...]
    strict: bool
    baseline: str | None  # its path, when comparing
    tolerance: str  # as given: "0%", "5%"
    removed: tuple[str, ...]  # in the baseline, not checked

    @property
    def exit_code(self) -> int:
        statuses = {r.status for r in self.results}
        return 2 if "invalid" in statuses else 1 if "fail" in statuses else 0


# --------------------------------------------------------------------------------------------
# Parsing limits and options


def _quantity(value: Any, what: str) -> tuple[int, str]:
    """An int, or a string with a unit ("5M", "100MiB"), -> (value, as written). ValueError."""
    if type(value) is int:
        if value < 0:
            raise ValueError(f"{what} must not be negative, got {value}")
        return value, str(value)
    if not isinstance(value, str):
        raise ValueError(f"{what} must be an integer or a number with a unit like 5M or 100MiB, got {value!r}")
    if len(value) > MAX_QUANTITY_CHARS:
        raise ValueError(f"{what} is longer than {MAX_QUANTITY_CHARS} characters")
    return parse_quantity(value, what), value.strip()


def flag_limit(key: str, text: str) -> Limit:
    """A command-line limit (`--max-macs 600M`), strictly parsed; UsageError otherwise."""
    flag = FLAGS[key]
    try:
        value, written = _quantity(text, flag)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    return Limit(key, value, written, flag, None)


def parse_tolerance(text: str) -> Fraction:
    """'0', '5%', '0.5%' -> the allowed growth as a fraction (0, 1/20, 1/200); UsageError otherwise."""
    match = _TOLERANCE.match(text.strip())
    if not match:
        raise UsageError(f"--tolerance must be a percentage like 5% or 0.5% (or 0), got '{text}'")
    return Fraction(match.group(1) or 0) / 100


def _shape(value: Any, source: str, line: int | None) -> tuple[int, ...]:
    """expect_output: [1000], [64, 7, 7], "64x7x7" or 1000; per sample, without the batch."""
    if type(value) is int:
        value = [value]
    elif isinstance(value, str) and _DIMS.match(value):
        value = [int(v) for v in re.split(r"[xX×]", value)]
    if not isinstance(value, list) or not 1 <= len(value) <= 4 or not all(type(v) is int and v >= 1 for v in value):
        raise SpecError(f"budget: expect_output must be the output shape without the batch, like [1000] or "
                        f"[64, 7, 7], got {_short(value)}", file=source, line=line)
    return tuple(value)


def spec_limits(spec: Spec) -> dict[str, Limit]:
    """The limits of the spec's `budget:` mapping, by key; SpecError for anything malformed."""
    budget, source = spec.budget, spec.source
    if budget is None:
        return {}
    if not isinstance(budget, LMap):
        raise SpecError(f"budget must be a mapping like {{params: 5M, macs: 600M}}, got {_short(budget)}",
                        file=source, line=spec.lines.get("budget"))
    limits = {}
    for key, value in budget.items():
        line = budget.lines.get(key, budget.line)
        if key not in BUDGET_KEYS:
            raise SpecError(f"unknown budget key '{_short(key, 40, repr_=False)}'{did_you_mean(key, BUDGET_KEYS)}; "
                            f"a budget takes: {', '.join(BUDGET_KEYS)}", file=source, line=line)
        if key == "expect_output":
            shape = _shape(value, source, line)
            limits[key] = Limit(key, shape, _dims(shape), "budget", line)
            continue
        if key in TRAINING:
            from . import train_budget

            limits[key] = Limit(key, *train_budget.limit(key, value, source, line, _quantity), "budget", line)
            continue
        try:
            number, written = _quantity(value, f"budget: {key}")
        except ValueError as exc:
            raise SpecError(str(exc), file=source, line=line) from None
        limits[key] = Limit(key, number, written, "budget", line)
    return limits


# --------------------------------------------------------------------------------------------
# Evaluating one spec


def evaluate(report: Report, limits: dict[str, Limit]) -> tuple[Check, ...]:
    """Each limit against the report, in BUDGET_KEYS order."""
    checks = []
    for key in BUDGET_KEYS:
        limit = limits.get(key)
        if limit is None or key in TRAINING:  # evaluated on the spec by train_budget.checks
            continue
        if key == "expect_output":
            actual = report.output[1:]
            ok = actual == limit.value
            message = (f"output {_dims(actual)} {'is' if ok else 'is not'} the expected {_dims(limit.value)} "
                       f"({limit.where})")
            checks.append(Check(key, ok, actual, limit, message))
            continue
        actual = getattr(report.total, key)
        ok = actual <= limit.value
        if ok:
            message = f"{key} {actual:,} is within the budget of {limit.value:,} ({limit.where})"
        else:
            message = (f"{key} {actual:,} is over the budget of {limit.value:,} ({limit.where}) "
                       f"by {actual - limit.value:,}")
        # labelled by where the limit came from: the spec's budget, or the flag that set it
        checks.append(Check(f"budget.{key}" if limit.origin == "budget" else limit.origin, ok, actual, limit, message))
    return tuple(checks)


def findings(report: Report, align: int | None = None) -> tuple[Finding, ...]:
    """The layers' warnings and, when `align` is given or the dtype is half precision, layers of
    the conv and linear families whose channels are not a multiple of the alignment."""
    if align is None and report.dtype in HALF_PRECISION:
        align = HALF_ALIGNMENT
    why = (f"{report.dtype} tensor cores want multiples of {align}" if align == HALF_ALIGNMENT
           and report.dtype in HALF_PRECISION else f"--align {align}")
    outputs = {layer.name: layer.output for layer in report.layers}
    outputs["input"] = report.input
    found = []
    for layer in report.layers:
        for text in layer.warnings:
            category = NOTE_LABELS.get(getattr(text, "code", ""), "layer warning")
            found.append(Finding(category, layer.name, layer.kind, layer.line, text))
        if align is None or not REGISTRY[layer.kind].aligned:
            continue
        # [N, C, ...] -> C; a linear layer's [N, F] -> F
        unit = "features" if layer.kind == "linear" else "channels"
        sizes = ((f"input {unit}", outputs[layer.inputs[0]][1]), (f"output {unit}", layer.output[1]))
        off = [f"{what} {size}" for what, size in sizes if size % align]
        if off:
            verb = "is not a multiple" if len(off) == 1 else "are not multiples"
            found.append(Finding(ALIGNMENT, layer.name, layer.kind, layer.line,
                                 f"{ALIGNMENT}: {' and '.join(off)} {verb} of {align} ({why})"))
    return tuple(found)


def compare(totals: Totals, old: dict[str, Any], tolerance: Fraction, tolerance_text: str) -> tuple[Change, ...]:
    """Every baseline total present in `old` against `totals`."""
    changes = []
    for metric in BASELINE_METRICS:
        if metric not in old:
            continue
        before, after = old[metric], getattr(totals, metric)
        growth = Fraction(after - before, before) if before else (None if after else Fraction(0))
        regressed = growth is None or growth > tolerance
        delta = after - before
        if delta == 0:
            message = f"{metric} unchanged at {after:,}"
        else:
            verb = "grew" if delta > 0 else "fell"
            moved = f"{metric} {verb} from {before:,} to {after:,} ({delta:+,}, {percent(growth)})"
            if delta < 0:
                message = moved
            elif regressed:
                message = f"{moved}, over the tolerance of {tolerance_text}"
            else:
                message = f"{moved}, within the tolerance of {tolerance_text}"
        changes.append(Change(metric, before, after, growth, regressed, message))
    return tuple(changes)


def check_spec(spec: Spec, *, flags: Sequence[Limit] = (), align: int | None = None, strict: bool = False,
               baseline: Baseline | None = None, tolerance: Fraction = Fraction(0), tolerance_text: str = "0%",
               argument: str | None = None) -> SpecResult:
    """Analyze `spec` and evaluate its constraints; ConvcalcError when the spec is invalid."""
    limits = spec_limits(spec)
    limits.update({limit.key: limit for limit in flags})
    report = analyze(spec)
    argument = spec.source if argument is None else argument
    key = baseline_key(argument)
    changes, in_baseline = None, None
    if baseline is not None:
        in_baseline = key in baseline.specs
        if in_baseline:
            changes = compare(report.total, baseline.specs[key], tolerance, tolerance_text)
    checks = evaluate(report, limits)
    if any(k in limits for k in TRAINING):
        from . import train_budget

        checks += tuple(train_budget.checks(spec, limits, Check))
    return SpecResult(argument, key, report.name, None, report.total, report.output[1:], checks,
                      findings(report, align), changes, in_baseline, strict)


def run(arguments: Sequence[str], *, flags: Sequence[Limit] = (), align: int | None = None, strict: bool = False,
        baseline: Baseline | None = None, tolerance: str = "0%") -> CheckRun:
    """Check every SPEC argument; an invalid spec becomes a result with its error, never an exception."""
    allowed = parse_tolerance(tolerance)
    results = []
    for argument in arguments:
        try:
            spec = load_argument(argument)
            results.append(check_spec(spec, flags=flags, align=align, strict=strict, baseline=baseline,
                                      tolerance=allowed, tolerance_text=tolerance, argument=argument))
        except ConvcalcError as exc:
            results.append(SpecResult(argument, baseline_key(argument), None, exc, None, None, (), (), None, None,
                                      strict))
    checked = {r.key for r in results}
    removed = tuple(sorted(k for k in baseline.specs if k not in checked)) if baseline else ()
    return CheckRun(tuple(results), strict, baseline.path if baseline else None, tolerance, removed)


# --------------------------------------------------------------------------------------------
# Baselines


def baseline_key(argument: str) -> str:
    """The spec's key in a baseline: its path with '/' separators, normalized; '-' and one-line
    specs as given."""
    if argument == "-" or is_text_form(argument):
        return argument
    return os.path.normpath(argument).replace(os.sep, "/")


def baseline_text(results: Sequence[SpecResult]) -> str:
    """The baseline JSON of the valid results: sorted keys, one total per line, a final newline."""
    specs = {}
    for r in results:
        if r.totals is not None:
            specs[r.key] = {"name": r.name, **{m: getattr(r.totals, m) for m in BASELINE_METRICS}}
    return json.dumps({"schema": BASELINE_SCHEMA, "specs": specs}, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_baseline(path: str, run_: CheckRun) -> None:
    """Record every spec's totals in `path`, whole or not at all (fileio.write_atomic: a failed
    write leaves the old baseline as it was). Refused (UsageError) when a spec is invalid, since the
    baseline would silently lose it, and when `path` is not ours to replace (`check_target`)."""
    invalid = [r.argument for r in run_.results if r.error is not None]
    if invalid:
        raise UsageError(f"baseline not written: {len(invalid)} spec{'s are' if len(invalid) > 1 else ' is'} "
                         f"invalid ({', '.join(invalid)})", file=path)
    check_target(path)
    from .fileio import write_atomic  # tempfile's imports, on the rare path only

    try:
        write_atomic(path, baseline_text(run_.results))
    except OSError as exc:
        raise UsageError(f"cannot write the baseline: {exc.strerror or exc}; the file is as it was",
                         file=path) from None


def check_target(path: str) -> None:
    """Refuse a --write-baseline target that is not ours to replace: a name ending in .yaml or
    .yml (`--write-baseline specs/*.yaml` puts the shell's first spec there), a directory, FIFO or
    device, or an existing file that is not a convcalc baseline. A missing file is fine; a
    symbolic link is judged by the file it points to, which is the one written."""
    if not path or path.endswith(tuple(filter(None, (os.sep, os.altsep)))):
        raise UsageError(f"--write-baseline needs a file name, as in --write-baseline costs.json, got '{path}'")
    for name in (path, os.path.realpath(path)):
        if os.path.splitext(name)[1].lower() in (".yaml", ".yml"):
            raise UsageError("refusing to write the baseline over a YAML file; name the baseline first, as in "
                             "--write-baseline costs.json specs/*.yaml", file=path)
    try:
        data = _read_regular(path)
    except FileNotFoundError:
        if not os.path.isdir(os.path.dirname(os.path.realpath(path))):
            raise UsageError("cannot write the baseline: its folder does not exist", file=path) from None
        return
    except _Irregular as exc:
        raise UsageError(f"refusing to write the baseline over {exc}; give a file name, as in "
                         "--write-baseline costs.json", file=path) from None
    except OSError as exc:
        raise UsageError(f"cannot write the baseline: {exc.strerror or exc}", file=path) from None
    try:
        doc = _parse(data, path)
    except UsageError:
        doc = None
    if not (isinstance(doc, dict) and type(doc.get("schema")) is int and isinstance(doc.get("specs"), dict)):
        raise UsageError("refusing to overwrite a file that is not a convcalc baseline; remove it first or give "
                         "another name", file=path)


class _Irregular(Exception):
    """A path that is not a regular file; str() says what it is: 'a directory'."""


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "something other than a regular file"


def _read_regular(path: str) -> bytes:
    """The first MAX_BASELINE_BYTES + 1 bytes of a regular file. A directory, FIFO or device is
    refused (_Irregular) before it is opened, since opening a FIFO with no writer blocks forever;
    it is opened non-blocking and checked again, in case it was swapped in between. OSError when
    it cannot be read."""
    mode = os.stat(path).st_mode
    if not stat.S_ISREG(mode):
        raise _Irregular(_kind(mode))
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    with os.fdopen(fd, "rb") as handle:
        mode = os.fstat(handle.fileno()).st_mode
        if not stat.S_ISREG(mode):
            raise _Irregular(_kind(mode))
        return handle.read(MAX_BASELINE_BYTES + 1)


class _Pairs(dict):
    """A JSON object in which a key appeared twice (`duplicate`); json itself keeps the last."""

    duplicate: str


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    duplicate = None
    for key, value in pairs:
        if key in doc and duplicate is None:
            duplicate = key
        doc[key] = value
    if duplicate is None:
        return doc
    flagged = _Pairs(doc)
    flagged.duplicate = duplicate
    return flagged


def _parse(data: bytes, path: str) -> Any:
    """A baseline's bytes as JSON (a BOM allowed), objects with a repeated key marked; UsageError."""
    if len(data) > MAX_BASELINE_BYTES:
        raise UsageError(f"baseline is larger than the limit of {MAX_BASELINE_BYTES} bytes", file=path)
    try:
        return json.loads(data.decode("utf-8-sig"), object_pairs_hook=_object)
    except UnicodeDecodeError:
        raise UsageError("baseline is not UTF-8 text", file=path) from None
    except json.JSONDecodeError as exc:
        raise UsageError(f"baseline is not valid JSON: {exc.msg}", file=path, line=exc.lineno) from None
    except (ValueError, RecursionError):  # a number beyond Python's digit limit; absurd nesting
        raise UsageError("baseline is not a convcalc baseline (numbers too long or nesting too deep)",
                         file=path) from None


ENTRY_KEYS = ("name", *BASELINE_METRICS)


def read_baseline(path: str) -> Baseline:
    """A baseline file, validated: UsageError naming the file (and the line or the entry) for
    anything wrong. Every entry must hold every total, so that each one can be compared."""
    if not path:
        raise UsageError("--baseline needs a file name, as in --baseline costs.json, got ''")
    try:
        data = _read_regular(path)
    except FileNotFoundError:
        raise UsageError("no such baseline file; record one with --write-baseline", file=path) from None
    except _Irregular as exc:
        raise UsageError(f"baseline is {exc}, not a file", file=path) from None
    except OSError as exc:
        raise UsageError(f"cannot read the baseline: {exc.strerror or exc}", file=path) from None
    doc = _parse(data, path)
    expected = f'expected {{"schema": {BASELINE_SCHEMA}, "specs": {{...}}}} as written by --write-baseline'
    if not isinstance(doc, dict):
        raise UsageError(f"not a convcalc baseline: {expected}", file=path)
    if isinstance(doc, _Pairs):
        raise UsageError(f"baseline has the key '{_short(doc.duplicate, 60, repr_=False)}' twice", file=path)
    unknown = [key for key in doc if key not in ("schema", "specs")]
    if unknown:
        raise UsageError(f"not a convcalc baseline: unknown key '{_short(unknown[0], 60, repr_=False)}'; {expected}",
                         file=path)
    schema = doc.get("schema")
    if type(schema) is not int or schema != BASELINE_SCHEMA:
        got = "no schema" if "schema" not in doc else f'"schema": {_short(schema)}'
        raise UsageError(f"not a convcalc baseline: {expected}, got {got}", file=path)
    specs = doc.get("specs")
    if not isinstance(specs, dict):
        raise UsageError(f"not a convcalc baseline: {expected}, got \"specs\": {_short(specs)}", file=path)
    if isinstance(specs, _Pairs):
        raise UsageError(f"baseline lists the spec '{_short(specs.duplicate, 60, repr_=False)}' twice", file=path)
    for key, entry in specs.items():
        _check_entry(f"baseline entry '{_short(key, 60, repr_=False)}'", entry, path)
    return Baseline(path, dict(specs))


def _check_entry(where: str, entry: Any, path: str) -> None:
    """One spec's totals: every BASELINE_METRICS key, each a non-negative integer, and an
    optional name; nothing else (a misspelled total would otherwise pass as unchanged)."""
    if not isinstance(entry, dict):
        raise UsageError(f"{where} is not a mapping of totals", file=path)
    if isinstance(entry, _Pairs):
        raise UsageError(f"{where} has '{_short(entry.duplicate, 60, repr_=False)}' twice", file=path)
    for key in entry:
        if key not in ENTRY_KEYS:
            raise UsageError(f"{where}: unknown key '{_short(key, 40, repr_=False)}'{did_you_mean(key, ENTRY_KEYS)}; "
                             f"an entry holds {', '.join(ENTRY_KEYS)}", file=path)
    for metric in BASELINE_METRICS:
        value = entry.get(metric, 0)  # a missing total is named below, after the wrong ones
        if type(value) is not int or not 0 <= value < MAX_BASELINE_VALUE:
            raise UsageError(f"{where}: {metric} must be a non-negative integer, got {_short(value)}", file=path)
    missing = [metric for metric in BASELINE_METRICS if metric not in entry]
    if missing:
        raise UsageError(f"{where} lacks {', '.join(missing)}, so it cannot be compared; write the baseline again "
                         "with --write-baseline", file=path)
    name = entry.get("name")
    if name is not None and not isinstance(name, str):
        raise UsageError(f"{where}: name must be a string, got {_short(name)}", file=path)


# --------------------------------------------------------------------------------------------
# Formatting helpers shared with the reporters


def _dims(shape: Sequence[int]) -> str:
    return "[" + ", ".join(str(v) for v in shape) + "]"


def _short(value: Any, width: int = 60, repr_: bool = True) -> str:
    """A value as the user wrote it (YAML's true/null), cut to `width` characters."""
    if value is None or isinstance(value, bool):
        return "null" if value is None else str(value).lower()
    text = repr(value) if repr_ else str(value)
    return text if len(text) <= width else text[: width - 3] + "..."


__all__ = ["run", "check_spec", "spec_limits", "evaluate", "findings", "compare", "flag_limit", "parse_tolerance",
           "read_baseline", "write_baseline", "check_target", "baseline_text", "baseline_key", "load_argument",
           "CheckRun", "SpecResult", "Check", "Limit", "Finding", "Change", "Baseline"]
