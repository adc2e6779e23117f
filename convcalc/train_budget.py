"""The training budgets of `convcalc check` (docs/ci.md): `train_peak_bytes` and `min_fit_batch`.

    budget:
      train_peak_bytes: 8GiB                        # at the spec's batch, SGD, its dtype, on CUDA
      train_peak_bytes: {max: 8GiB, batch: 64, optimizer: adam, amp: bfloat16}
      min_fit_batch: {batch: 64, memory: 24GiB, optimizer: adamw}   # batch 64 must fit in 24 GiB

A training setting takes `optimizer`, `dtype`, `amp`, `impl` and `device` as `convcalc memory`
does (convcalc.training.setup_for checks them). check.py parses the keys here and adds the checks
this returns to the others.
"""

from __future__ import annotations

from typing import Any

from .errors import ConvcalcError, SpecError
from .spec.model import Spec

KEYS = ("train_peak_bytes", "min_fit_batch")
SETTINGS = ("optimizer", "dtype", "amp", "impl", "device")
FIELDS = {"train_peak_bytes": ("max", "batch", *SETTINGS), "min_fit_batch": ("batch", "memory", *SETTINGS)}


class TrainBudget(int):
    """The bound (train_peak_bytes: the most bytes; min_fit_batch: the least batch), an int as
    check's reporters show every limit, carrying its setting: `memory` (min_fit_batch: what the
    batch must fit), `batch` (train_peak_bytes: None for the spec's) and `settings` ((setting,
    value) pairs: optimizer, dtype, amp, impl, device)."""

    memory: int | None
    batch: int | None
    settings: tuple[tuple[str, str], ...]

    def __new__(cls, bound: int, memory: int | None, batch: int | None,
                settings: tuple[tuple[str, str], ...]) -> "TrainBudget":
        self = super().__new__(cls, bound)
        self.memory, self.batch, self.settings = memory, batch, settings
        return self


def limit(key: str, value: Any, source: str, line: int | None, quantity: Any) -> tuple[TrainBudget, str]:
    """A budget value of `key` -> (TrainBudget, as written); SpecError naming the line otherwise.
    `quantity` parses a number with a unit (check._quantity)."""
    def bad(message: str) -> SpecError:
        return SpecError(f"budget: {key}: {message}", file=source, line=line)

    if key == "train_peak_bytes" and not isinstance(value, dict):
        value = {"max": value}
    if not isinstance(value, dict):
        raise bad("must be a mapping like {batch: 64, memory: 24GiB}")
    unknown = [k for k in value if k not in FIELDS[key]]
    if unknown:
        raise bad(f"unknown key '{unknown[0]}'; it takes {', '.join(FIELDS[key])}")
    required = ("max",) if key == "train_peak_bytes" else ("batch", "memory")
    missing = [k for k in required if k not in value]
    if missing:
        raise bad(f"needs {' and '.join(missing)}")
    try:
        numbers = {k: quantity(value[k], f"budget: {key}: {k}")[0] for k in ("max", "batch", "memory") if k in value}
    except ValueError as exc:
        raise SpecError(str(exc), file=source, line=line) from None
    if numbers.get("batch") == 0:
        raise bad("batch must be at least 1")
    settings = []
    for k in SETTINGS:
        if k in value:
            if not isinstance(value[k], str):
                raise bad(f"{k} must be a name like adam or bfloat16, got {value[k]!r}")
            settings.append((k, value[k]))
    written = str(value["max"]) if key == "train_peak_bytes" else f"batch {value['batch']} in {value['memory']}"
    if key == "train_peak_bytes":
        return TrainBudget(numbers["max"], None, numbers.get("batch"), tuple(settings)), written
    return TrainBudget(numbers["batch"], numbers["memory"], None, tuple(settings)), written


def checks(spec: Spec, limits: dict[str, Any], check_type: Any) -> list[Any]:
    """The training budgets among `limits` evaluated on `spec`, as check.Check records."""
    from .training import fit, reports, setup_for, timeline
    from .units import nbytes

    out = []
    for key in KEYS:
        lim = limits.get(key)
        if lim is None:
            continue
        budget: TrainBudget = lim.value
        settings = dict(budget.settings)
        try:
            setup = setup_for(spec, settings.get("dtype"), settings.get("amp"), settings.get("optimizer", "sgd"),
                              settings.get("impl"), settings.get("device", "cuda"))
        except ConvcalcError as exc:
            raise SpecError(f"budget: {key}: {exc.message}", file=spec.source, line=lim.line) from None
        how = (f"{setup.optimizer}, {('autocast ' + setup.amp) if setup.amp else setup.dtype}, {setup.device}")
        if key == "train_peak_bytes":
            batch = budget.batch or spec.batch
            actual = reports(spec, setup, (batch,))[0].total.peak_bytes
            ok = actual <= budget
            verdict = "within" if ok else "over"
            message = (f"training peak {actual:,} at batch {batch} ({how}) is {verdict} the budget of "
                       f"{budget:,} ({lim.where})" + ("" if ok else f" by {actual - budget:,}"))
        else:
            found = fit(timeline(spec, setup), budget.memory)
            actual = found.max_batch
            ok = actual >= budget
            message = (f"the largest batch whose training peak fits {nbytes(budget.memory)} is {actual:,} ({how}): "
                       f"{'at least' if ok else 'below'} the {budget:,} wanted ({lim.where})")
        name = f"budget.{key}" if lim.origin == "budget" else lim.origin
        out.append(check_type(name, ok, actual, lim, message))
    return out
