"""One spec against another: totals side by side, and the layers that differ.

Two reports side by side: totals with absolute and relative differences, and the layers that
differ, matched by name first and then, among the rest, by position within each kind (the
second unnamed linear of one spec with the second of the other). When the two sides run at
different batches, layers are compared per sample, so that a spec against itself at another
batch lists no layer and the totals show the scaling. Differences, ratios and the change of
receptive field are computed here; reporters/comparison.py only renders them.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any, NamedTuple

from ..analysis import analyze
from ..report import SCHEMAS, LayerReport, Report, args_dict, plain
from ..spec import Spec

# The totals compared, in the order shown (every field of report.Totals)
TOTAL_METRICS = ("params", "buffers", "macs", "flops", "peak_activation_bytes", "weight_bytes", "activation_bytes")


def _ratio(a: int, b: int) -> Fraction | None:
    return Fraction(a, b) if b else None


def _float(value: Fraction | None) -> float | None:
    return None if value is None else float(value)


class Difference(NamedTuple):
    metric: str
    a: int
    b: int

    @property
    def diff(self) -> int:
        return self.b - self.a

    @property
    def ratio(self) -> Fraction | None:
        """b / a; None where a is 0."""
        return _ratio(self.b, self.a)

    @property
    def relative(self) -> Fraction | None:
        """(b - a) / a, the change as a fraction of a; None where a is 0."""
        return None if self.ratio is None else self.ratio - 1

    def to_dict(self) -> dict[str, Any]:
        return {"metric": self.metric, "a": self.a, "b": self.b, "diff": self.diff, "ratio": _float(self.ratio)}


class LayerChange(NamedTuple):
    change: str  # added | removed | changed
    a: LayerReport | None
    b: LayerReport | None
    matched_by: str | None  # name | position; None for added and removed layers
    differs: tuple[str, ...]  # of name, kind, output, params, macs
    share: Fraction  # |Δ share_metric| over the largest |Δ| of the comparison

    def value(self, metric: str, side: str) -> int:
        layer = self.a if side == "a" else self.b
        return getattr(layer, metric) if layer is not None else 0

    def diff(self, metric: str) -> int:
        return self.value(metric, "b") - self.value(metric, "a")

    def ratio(self, metric: str) -> Fraction | None:
        """b's value over a's (an added layer's a is 0: None)."""
        return _ratio(self.value(metric, "b"), self.value(metric, "a"))

    def relative(self, metric: str) -> Fraction | None:
        ratio = self.ratio(metric)
        return None if ratio is None else ratio - 1

    def to_dict(self) -> dict[str, Any]:
        return {"change": self.change, "matched_by": self.matched_by, "differs": list(self.differs),
                "a": _layer_dict(self.a), "b": _layer_dict(self.b), "params_diff": self.diff("params"),
                "macs_diff": self.diff("macs"), "flops_diff": self.diff("flops"), "share": float(self.share)}


def _layer_dict(layer: LayerReport | None) -> dict[str, Any] | None:
    if layer is None:
        return None
    return {"name": layer.name, "kind": layer.kind, "output": list(layer.output), "params": layer.params,
            "macs": layer.macs, "flops": layer.flops}


def _report_dict(report: Report, label: str) -> dict[str, Any]:
    return {"label": label, "name": report.name, "source": report.source, "batch": report.batch,
            "dtype": report.dtype, "input": list(report.input), "output": list(report.output),
            "receptive_field": [[plain(v) for v in axis] for axis in report.receptive_field],
            "global": report.global_context, "total": report.total.to_dict(), "args": args_dict(report.args)}


class SpecComparison(NamedTuple):
    a: Report
    b: Report
    labels: tuple[str, str]
    totals: tuple[Difference, ...]
    layers: tuple[LayerChange, ...]  # only the layers that differ, in B's order (removed ones in place)
    by_name: int  # layers matched by name
    by_position: int  # layers matched by position among the rest
    per_sample: bool  # batches differ: layers compared per sample
    share_metric: str  # macs, or params when no layer's MACs differ
    # layers matched by position that differ only in name (a library spec against the same network
    # imported from PyTorch): (a's name, b's name), not rows of `layers`
    renamed: tuple[tuple[str, str], ...] = ()

    @property
    def added(self) -> int:
        return sum(change.change == "added" for change in self.layers)

    @property
    def removed(self) -> int:
        return sum(change.change == "removed" for change in self.layers)

    @property
    def changed(self) -> int:
        return sum(change.change == "changed" for change in self.layers)

    def total(self, metric: str) -> Difference:
        return next(d for d in self.totals if d.metric == metric)

    @property
    def receptive_field_delta(self) -> tuple[Any, ...] | None:
        """b's local receptive field minus a's, per axis; None when the ranks differ."""
        ra, rb = self.a.receptive_field, self.b.receptive_field
        return tuple(y[0] - x[0] for x, y in zip(ra, rb)) if len(ra) == len(rb) else None

    @property
    def global_change(self) -> str | None:
        """'gained' or 'lost' when one side's output sees every input position and the other's
        does not; None when both agree."""
        if self.a.global_context == self.b.global_context:
            return None
        return "gained" if self.b.global_context else "lost"

    def _repr_html_(self) -> str:
        from ..reporters.notebook import text_html

        return text_html(self)

    def to_dict(self) -> dict[str, Any]:
        """The JSON of `convcalc compare SPEC SPEC --format json` (docs/compare.md)."""
        return {
            "schema": SCHEMAS["compare"],
            "mode": "specs",
            "a": _report_dict(self.a, self.labels[0]),
            "b": _report_dict(self.b, self.labels[1]),
            "totals": [d.to_dict() for d in self.totals],
            "per_sample": self.per_sample,
            "matched": {"by_name": self.by_name, "by_position": self.by_position},
            "added": self.added,
            "removed": self.removed,
            "changed": self.changed,
            "renamed": [list(pair) for pair in self.renamed],
            "share_metric": self.share_metric,
            "layers": [change.to_dict() for change in self.layers],
        }


def _differs(a: LayerReport, b: LayerReport, batch_a: int, batch_b: int) -> tuple[str, ...]:
    """What differs between two matched layers, per sample (counts are batch-multiplied)."""
    fields = []
    if a.name != b.name:
        fields.append("name")
    if a.kind != b.kind:
        fields.append("kind")
    if a.output[1:] != b.output[1:]:
        fields.append("output")
    if a.params != b.params:
        fields.append("params")
    if a.macs * batch_b != b.macs * batch_a:
        fields.append("macs")
    if a.flops * batch_b != b.flops * batch_a:
        fields.append("flops")
    return tuple(fields)


def _labels(a: Report, b: Report) -> tuple[str, str]:
    la, lb = a.name, b.name
    if la == lb and a.batch != b.batch:
        la, lb = f"{a.name} @ batch {a.batch}", f"{b.name} @ batch {b.batch}"
    elif la == lb and a.source != b.source:
        la, lb = a.source, b.source
    elif la == lb:
        la, lb = f"{a.name} (a)", f"{b.name} (b)"
    return la, lb


def compare_specs(a: Spec, b: Spec, batch_a: int | None = None, batch_b: int | None = None) -> SpecComparison:
    """Totals and differing layers of `b` against `a` (the baseline)."""
    ra, rb = analyze(a, batch_a), analyze(b, batch_b)
    totals = tuple(Difference(m, getattr(ra.total, m), getattr(rb.total, m)) for m in TOTAL_METRICS)
    # Match by name, then the rest of each side by position among the layers of the same kind.
    names_b = {layer.name: layer for layer in rb.layers}
    partner: dict[int, LayerReport] = {}  # index in b -> matched layer of a
    how: dict[int, str] = {}
    rest_a = []
    for layer in ra.layers:
        if layer.name in names_b:
            partner[names_b[layer.name].index] = layer
            how[names_b[layer.name].index] = "name"
        else:
            rest_a.append(layer)
    rest_b = [layer for layer in rb.layers if layer.index not in partner]
    for kind in dict.fromkeys(layer.kind for layer in rest_a):
        # The i-th unmatched layer of a kind in a goes with the i-th unmatched one of that kind in b.
        for la, lb in zip([x for x in rest_a if x.kind == kind], [x for x in rest_b if x.kind == kind]):
            partner[lb.index] = la
            how[lb.index] = "position"
    # Rows in b's order; a removed layer goes right after the b layer matched to its predecessor in a.
    b_of_a = {la.index: index for index, la in partner.items()}
    keyed: list[tuple[tuple[int, int, int], tuple]] = []
    renamed: list[tuple[str, str]] = []
    for lb in rb.layers:
        la = partner.get(lb.index)
        if la is None:
            keyed.append(((lb.index, 0, 0), ("added", None, lb, None, ())))
            continue
        differs = _differs(la, lb, ra.batch, rb.batch)
        if differs == ("name",):
            renamed.append((la.name, lb.name))  # the same layer under another name: no row of its own
        elif differs:
            keyed.append(((lb.index, 0, 0), ("changed", la, lb, how[lb.index], differs)))
    after = -1
    for la in ra.layers:
        if la.index in b_of_a:
            after = b_of_a[la.index]
        else:
            keyed.append(((after, 1, la.index), ("removed", la, None, None, ())))
    raw = [entry for _, entry in sorted(keyed, key=lambda item: item[0])]

    def delta(entry: tuple, metric: str) -> int:
        _, la, lb, _, _ = entry
        return abs((getattr(lb, metric) if lb else 0) - (getattr(la, metric) if la else 0))

    metric = "macs" if any(delta(entry, "macs") for entry in raw) else "params"
    largest = max((delta(entry, metric) for entry in raw), default=0)
    changes = tuple(LayerChange(*entry, share=_ratio(delta(entry, metric), largest) or Fraction(0)) for entry in raw)
    return SpecComparison(ra, rb, _labels(ra, rb), totals, changes, sum(v == "name" for v in how.values()),
                          sum(v == "position" for v in how.values()), ra.batch != rb.batch, metric, tuple(renamed))
