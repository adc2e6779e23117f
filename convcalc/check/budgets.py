"""A spec's limits and the warnings about its layers: what `check` holds one spec to.

Limits come from the spec's `budget:` mapping (params, macs, flops, peak_activation_bytes,
weight_bytes, expect_output, and the training budgets train_peak_bytes and min_fit_batch that
convcalc/train_budget.py parses and evaluates) and from the `--max-*` flags, which override or add to it. A limit
is inclusive: a total equal to its limit passes. Warnings (`Finding`) are the layers' own
(strides that leave input uncovered, even kernels with 'same' padding) plus the tensor-core
alignment computed here; they fail a spec only under `--strict`.
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple, Sequence

from ..errors import SpecError, UsageError
from ..suggest import did_you_mean
from ..layers import NOTE_LABELS, REGISTRY
from ..report import Report
from ..spec import Spec
from ..spec.source import LMap
from ..units import parse_quantity
from ._text import short

BUDGET_METRICS = ("params", "macs", "flops", "peak_activation_bytes", "weight_bytes")  # the totals a budget bounds
TRAINING = ("train_peak_bytes", "min_fit_batch")  # training budgets: convcalc/train_budget.py
BUDGET_KEYS = (*BUDGET_METRICS, "expect_output", *TRAINING)
FLAGS = {"params": "--max-params", "macs": "--max-macs", "flops": "--max-flops",
         "peak_activation_bytes": "--max-peak-memory", "weight_bytes": "--max-weight-bytes"}
HALF_PRECISION = ("float16", "bfloat16")  # tensor cores want channels in multiples of 8
HALF_ALIGNMENT = 8
MAX_QUANTITY_CHARS = 64  # a budget value as text: "600M", "1.5GiB"
_DIMS = re.compile(r"\s*[0-9]{1,15}(\s*[xX×]\s*[0-9]{1,15})*\s*\Z")

ALIGNMENT = "tensor-core alignment"


class Limit(NamedTuple):
    """One constraint: a budget total's upper bound, or the expected output shape."""

    key: str  # a BUDGET_KEYS member
    # int for a total; for expect_output a tuple of ints (no batch), or per named output
    # ((output, shape, line), ...) for the mapping form `expect_output: {boxes: [...], scores: [...]}`
    value: Any
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


class LimitCheck(NamedTuple):
    """One limit evaluated on one spec's report."""

    name: str  # "budget.params" (the spec's budget), "--max-params" (a flag's), "expect_output"
    ok: bool
    actual: Any  # the total, or the output shape without the batch
    limit: Limit
    message: str

    @property
    def line(self) -> int | None:
        return self.limit.line

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "ok": self.ok, "actual": _listed(self.actual), "limit": _listed(self.limit.value),
                "written": self.limit.written, "origin": self.limit.origin, "line": self.line,
                "message": self.message}


class Finding(NamedTuple):
    """A warning about one layer: legal, but probably not what was meant."""

    category: str  # "uncovered input", "even kernel with 'same' padding", "tensor-core alignment"
    layer: str
    kind: str
    line: int | None
    message: str

    def __str__(self) -> str:
        return f"layer '{self.layer}' ({self.kind}): {self.message}"

    def to_dict(self) -> dict[str, Any]:
        return {"category": self.category, "layer": self.layer, "kind": self.kind, "line": self.line,
                "message": self.message}


# --------------------------------------------------------------------------------------------
# Parsing limits


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


def _shape(value: Any, source: str, line: int | None) -> tuple[int, ...]:
    """expect_output: [1000], [64, 7, 7], "64x7x7" or 1000; per sample, without the batch."""
    if type(value) is int:
        value = [value]
    elif isinstance(value, str) and _DIMS.match(value):
        value = [int(v) for v in re.split(r"[xX×]", value)]
    if not isinstance(value, list) or not 1 <= len(value) <= 4 or not all(type(v) is int and v >= 1 for v in value):
        raise SpecError(f"budget: expect_output must be the output shape without the batch, like [1000] or "
                        f"[64, 7, 7], got {short(value)}", file=source, line=line)
    return tuple(value)


def _expected(spec: Spec, value: Any, line: int | None) -> Limit:
    """expect_output: one shape for a spec with one output; a mapping of output names to shapes
    names which output (several outputs must be named: one shape would be ambiguous)."""
    source = spec.source
    names = [name for name, _ in spec.outputs] or [spec.nodes[-1].name]
    if isinstance(value, dict):
        if not value:
            raise SpecError("budget: expect_output is an empty mapping; name outputs like "
                            f"{{{names[0]}: [...]}}", file=source, line=line)
        expected = []
        for name, shape in value.items():
            at = value.lines.get(name, line) if isinstance(value, LMap) else line
            if name not in names:
                raise SpecError(f"budget: expect_output names no output '{short(name, 40, repr_=False)}'"
                                f"{did_you_mean(name, names)}; the spec's outputs are: {', '.join(names)}",
                                file=source, line=at)
            expected.append((name, _shape(shape, source, at), at))
        return Limit("expect_output", tuple(expected), ", ".join(f"{n}: {_dims(s)}" for n, s, _ in expected),
                     "budget", line)
    if len(names) > 1:
        raise SpecError(f"budget: the spec has {len(names)} outputs ({', '.join(names)}); expect_output must name "
                        f"them, like {{{names[0]}: [...]}}", file=source, line=line)
    shape = _shape(value, source, line)
    return Limit("expect_output", shape, _dims(shape), "budget", line)


def spec_limits(spec: Spec) -> dict[str, Limit]:
    """The limits of the spec's `budget:` mapping, by key; SpecError for anything malformed."""
    budget, source = spec.budget, spec.source
    if budget is None:
        return {}
    if not isinstance(budget, LMap):
        raise SpecError(f"budget must be a mapping like {{params: 5M, macs: 600M}}, got {short(budget)}",
                        file=source, line=spec.lines.get("budget"))
    limits = {}
    for key, value in budget.items():
        line = budget.lines.get(key, budget.line)
        if key not in BUDGET_KEYS:
            raise SpecError(f"unknown budget key '{short(key, 40, repr_=False)}'{did_you_mean(key, BUDGET_KEYS)}; "
                            f"a budget takes: {', '.join(BUDGET_KEYS)}", file=source, line=line)
        if key == "expect_output":
            limits[key] = _expected(spec, value, line)
            continue
        if key in TRAINING:
            from .. import train_budget

            limits[key] = Limit(key, *train_budget.limit(key, value, source, line, _quantity), "budget", line)
            continue
        try:
            number, written = _quantity(value, f"budget: {key}")
        except ValueError as exc:
            raise SpecError(str(exc), file=source, line=line) from None
        limits[key] = Limit(key, number, written, "budget", line)
    return limits


# --------------------------------------------------------------------------------------------
# Evaluating them


def evaluate_limits(report: Report, limits: dict[str, Limit]) -> tuple[LimitCheck, ...]:
    """Each limit against the report, in BUDGET_KEYS order."""
    checks = []
    for key in BUDGET_KEYS:
        limit = limits.get(key)
        if limit is None or key in TRAINING:  # evaluated on the spec by train_budget.checks
            continue
        if key == "expect_output" and limit.value and isinstance(limit.value[0], tuple):  # per named output
            heads = dict(report.heads)
            for name, shape, line in limit.value:
                actual = heads[name].output[1:]
                ok = actual == shape
                one = Limit(key, shape, _dims(shape), limit.origin, line)
                message = (f"output {name} {_dims(actual)} {'is' if ok else 'is not'} the expected {_dims(shape)} "
                           f"({one.where})")
                checks.append(LimitCheck(f"{key}.{name}", ok, actual, one, message))
            continue
        if key == "expect_output":
            actual = report.output[1:]
            ok = actual == limit.value
            message = (f"output {_dims(actual)} {'is' if ok else 'is not'} the expected {_dims(limit.value)} "
                       f"({limit.where})")
            checks.append(LimitCheck(key, ok, actual, limit, message))
            continue
        actual = getattr(report.total, key)
        ok = actual <= limit.value
        if key in report.total.partial:  # the total leaves out counts nobody knows: undecidable
            opaque = sum(1 for layer in report.layers if key in layer.unknown)
            message = (f"{key} cannot be checked: {opaque} opaque layer{'s' if opaque != 1 else ''} "
                       f"{'have' if opaque != 1 else 'has'} unknown {key}, the rest add up to {actual:,} "
                       f"(budget {limit.value:,}, {limit.where})")
            checks.append(LimitCheck(f"budget.{key}" if limit.origin == "budget" else limit.origin, False, actual,
                                     limit, message))
            continue
        if ok:
            message = f"{key} {actual:,} is within the budget of {limit.value:,} ({limit.where})"
        else:
            message = (f"{key} {actual:,} is over the budget of {limit.value:,} ({limit.where}) "
                       f"by {actual - limit.value:,}")
        # labelled by where the limit came from: the spec's budget, or the flag that set it
        name = f"budget.{key}" if limit.origin == "budget" else limit.origin
        checks.append(LimitCheck(name, ok, actual, limit, message))
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
        record = REGISTRY[layer.kind]
        if align is None or not record.aligned:
            continue
        # [N, C, ...] -> C; a record with its features last ([N, ..., F], linear) -> F
        unit, axis = ("features", -1) if record.features_last else ("channels", 1)
        sizes = ((f"input {unit}", outputs[layer.inputs[0]][axis]), (f"output {unit}", layer.output[axis]))
        off = [f"{what} {size}" for what, size in sizes if size % align]
        if off:
            verb = "is not a multiple" if len(off) == 1 else "are not multiples"
            found.append(Finding(ALIGNMENT, layer.name, layer.kind, layer.line,
                                 f"{ALIGNMENT}: {' and '.join(off)} {verb} of {align} ({why})"))
    return tuple(found)


def _dims(shape: Sequence[int]) -> str:
    return "[" + ", ".join(str(v) for v in shape) + "]"


def _listed(value: Any) -> Any:
    """A shape (a tuple) as a JSON list; a total as it is."""
    return list(value) if isinstance(value, tuple) else value
