"""`convcalc verify --tools`: every named tool run for real on the spec's model, each in its own
process (convcalc.peer_run), beside convcalc's prediction of what it prints (convcalc.peers) and
the residual, printed minus predicted, per figure.

A tool that is not installed is skipped with a note; one that crashes is reported with its
message (`error`), never as 0. A prediction marked `exact: False` (a kind its model does not
cover) is shown, but its residual does not fail the run; an exact prediction with a residual
does (exit 1, like any disagreement of verify)."""

from __future__ import annotations

from typing import Any, NamedTuple

from .analysis import analyze
from .errors import UsageError
from .peers import TOOLS, predict

NAMES = tuple(TOOLS)


class ToolCheck(NamedTuple):
    name: str
    version: str
    printed: dict[str, Any]
    predicted: dict[str, int]
    reference: dict[str, int]
    residual: dict[str, Any]
    terms: dict[str, dict[str, int]]
    exact: bool
    why: str
    error: str | None
    extra: dict[str, Any]  # what the tool printed beside its figures (fvcore's unsupported operators)

    @property
    def ok(self) -> bool:
        return self.error is not None or not self.exact or not any(self.residual.values())

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "version": self.version, "printed": self.printed,
                               "predicted": self.predicted, "reference": self.reference, "residual": self.residual,
                               "terms": self.terms, "exact": self.exact}
        if self.why:
            out["why"] = self.why
        if self.error is not None:
            out["error"] = self.error
        out.update(self.extra)
        return out


class ToolsVerification(NamedTuple):
    """A Verification with the tools' checks beside it; `to_dict` is verify's JSON plus `tools`."""

    verification: Any
    tools: tuple[ToolCheck, ...]
    skipped: tuple[str, ...]  # named but not installed

    @property
    def ok(self) -> bool:
        return self.verification.ok and all(t.ok for t in self.tools)

    def to_dict(self) -> dict[str, Any]:
        out = self.verification.to_dict()
        out["tools"] = [t.to_dict() for t in self.tools]
        if self.skipped:
            out["tools_not_installed"] = list(self.skipped)
        return out


def parse_tools(text: str) -> tuple[str, ...]:
    """`--tools fvcore,thop`: known names, in order, each once."""
    names = tuple(dict.fromkeys(n.strip() for n in text.split(",") if n.strip()))
    unknown = [n for n in names if n not in TOOLS]
    if unknown or not names:
        raise UsageError(f"--tools: unknown tool {unknown[0]!r}; choose from {', '.join(NAMES)}" if unknown
                         else f"--tools: name at least one of {', '.join(NAMES)}")
    return names


def check_tools(spec: Any, batch: int, names: tuple[str, ...]) -> tuple[tuple[ToolCheck, ...], tuple[str, ...]]:
    """Each installed tool of `names` run on the spec's model and predicted; the others skipped."""
    from . import peer_run

    report = analyze(spec, batch)
    checks, skipped = [], []
    for name in names:
        if not peer_run.installed(name):
            skipped.append(name)
            continue
        got = peer_run.run(name, spec, batch)
        prediction = predict(TOOLS[name], spec, report)
        printed = dict(got.get("printed", {}))
        extra = {"unsupported": printed.pop("unsupported")} if "unsupported" in printed else {}
        residual = {key: printed[key] - value for key, value in prediction.predicted.items() if key in printed}
        checks.append(ToolCheck(name, got.get("version", ""), printed, prediction.predicted, prediction.reference,
                                residual, prediction.terms, prediction.exact, prediction.why, got.get("error"), extra))
    return tuple(checks), tuple(skipped)


def verify_tools(verification: Any, spec: Any, batch: int | None, names: tuple[str, ...]) -> ToolsVerification:
    checks, skipped = check_tools(spec, spec.batch if batch is None else batch, names)
    return ToolsVerification(verification, checks, skipped)
