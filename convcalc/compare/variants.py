"""Variants of one convolution side by side: regular, depthwise-separable, ShuffleNet's unit, ...

Each variant is a function from the shared settings (`ConvSetup`: input, out, k, s, p, ...) to its
layers, as (kind, raw arguments) pairs, the values a YAML mapping would hold; they go through
the spec front end's validation (`spec.from_layers`) and `analyze()`, so a variant's numbers
are those of the registry, never recomputed here, and a variant can only be as wrong as the
registry. The one-line form of the same layers (`spec.text.write_line`) is what the row shows
as its spec, so `convcalc shapes -e` reproduces it. A variant that cannot apply to the settings
(a precondition such as out % in for depthwise, or a `ConvcalcError` from the spec, e.g. a
kernel larger than the input) becomes a row with the reason instead of a failure. Where the
course notes give a closed form for the ratio to the regular convolution (depthwise-separable:
1/N + 1/K²), the row carries it with the condition under which it is exact; tests check each
against the analyzed specs.

Settings arrive typed: parsing and checking command-line values is convcalc/cli/compare.py's.
Everything here returns frozen records (NamedTuples, as report.py) that reporters/comparison.py
renders without computing.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any, Callable, NamedTuple

from ..analysis import analyze
from ..errors import ConvcalcError, LayerError
from ..suggest import did_you_mean
from ..layers import REGISTRY
from ..report import SCHEMAS, LayerReport, Report, plain
from ..spec import from_layers
from ..spec.text import write_line

SUPERSCRIPT = {1: "", 2: "²", 3: "³"}
# The stacked variant builds (k-1)/2 convs: at most this many (k up to 2,001), so that a huge -k
# is a not-applicable row at once rather than a spec of millions of layers (docs/compare.md).
MAX_STACK = 1_000

Layer = tuple[str, dict[str, Any]]  # (kind, raw arguments), as spec.from_layers takes them


def stack_depth(k: int) -> int:
    """n = (k-1)/2: how many stacked 3x3 convs see as far as one k x k (VGG: 3 for 7)."""
    return (k - 1) // 2


class ConvSetup(NamedTuple):
    """The convolution the variants implement. Shapes are per sample, channels first."""

    input: tuple[int, ...]  # (C, *spatial)
    out: int  # N, the output channels
    k: int = 3  # K, the kernel size on every spatial axis
    s: int = 1
    p: str | int = "valid"  # valid | same | full | an int on every side
    d: int = 2  # the dilated variant's dilation (every other variant: 1)
    groups: int = 2  # the grouped and shuffled-grouped variants' groups (AlexNet's two)
    width: int | None = None  # bottleneck and ShuffleNet width; None: out // 4
    batch: int = 1
    dtype: str = "float32"
    bias: bool = False  # the notes count multiplies only

    @property
    def channels(self) -> int:
        return self.input[0]

    @property
    def nd(self) -> int:
        return len(self.input) - 1

    @property
    def mid(self) -> int:
        return self.width if self.width is not None else max(self.out // 4, 1)

    @property
    def stack_depth(self) -> int:
        """The stacked variant's n (its closed form's letter)."""
        return stack_depth(self.k)

    def to_dict(self) -> dict[str, Any]:
        return {"input": list(self.input), "out": self.out, "k": self.k, "s": self.s, "p": self.p, "d": self.d,
                "groups": self.groups, "width": self.mid, "batch": self.batch, "dtype": self.dtype, "bias": self.bias}


class NotApplicable(Exception):
    """A variant's precondition does not hold for the settings (the message says which)."""


class ClosedForm(NamedTuple):
    """The notes' ratio of a variant to the regular convolution, and when it is exact."""

    formula: str  # in the notes' letters: C input channels, N output channels, K kernel, G groups
    value: Fraction
    holds: str


class Variant(NamedTuple):
    name: str
    doc: str  # what it is, for --help and docs/compare.md
    layers: Callable[[ConvSetup], list[Layer]]
    closed_form: Callable[[ConvSetup], ClosedForm | None] | None = None
    note: Callable[[ConvSetup, Report], str] | None = None


VARIANTS: dict[str, Variant] = {}


def variant(name: str, doc: str, closed_form: Callable[[ConvSetup], ClosedForm | None] | None = None,
            note: Callable[[ConvSetup, Report], str] | None = None) -> Callable[[Callable[[ConvSetup], list[Layer]]], Callable]:
    """Register a variant; the order of registration is the order of --all."""

    def register(layers: Callable[[ConvSetup], list[Layer]]) -> Callable[[ConvSetup], list[Layer]]:
        if name in VARIANTS:
            raise TypeError(f"variant {name!r} is registered twice")
        VARIANTS[name] = Variant(name, doc, layers, closed_form, note)
        return layers

    return register


# --------------------------------------------------------------------------------------------
# Layer fragments. Every convolution states its bias; padding words pass through to the spec.
# Arguments are in the order the one-line form writes them.


def _window(c: ConvSetup) -> dict[str, Any]:
    return {"k": c.k, "s": c.s, "p": c.p}


def _kpow(c: ConvSetup) -> str:
    return f"K{SUPERSCRIPT[c.nd]}"


def _rf(report: Report) -> str:
    return "x".join(str(axis[0]) for axis in report.receptive_field)


MACS_AT_EQUAL_SIZE = "params; MACs when the output sizes are equal (e.g. -p same)"


@variant("regular", "one k x k convolution from C to N channels: the baseline of the closed forms")
def _regular(c: ConvSetup) -> list[Layer]:
    return [("conv", {"out": c.out, **_window(c), "bias": c.bias, "name": "conv"})]


@variant("pointwise", "a 1x1 convolution to N channels at stride s (padding does not apply)",
         closed_form=lambda c: ClosedForm(f"1/{_kpow(c)}", Fraction(1, c.k ** c.nd), MACS_AT_EQUAL_SIZE))
def _pointwise(c: ConvSetup) -> list[Layer]:
    if c.s == 1:
        return [("pwconv", {"out": c.out, "bias": c.bias, "name": "pointwise"})]
    return [("conv", {"out": c.out, "k": 1, "s": c.s, "bias": c.bias, "name": "pointwise"})]


@variant("depthwise", "a k x k window per input channel (groups = C), N/C filters each: needs N a multiple of C",
         closed_form=lambda c: ClosedForm("1/C", Fraction(1, c.channels), MACS_AT_EQUAL_SIZE))
def _depthwise(c: ConvSetup) -> list[Layer]:
    if c.out % c.channels:
        raise NotApplicable(f"out {c.out} is not a multiple of the {c.channels} input channels "
                            "(a depthwise conv gives each input channel the same number of filters)")
    return [("dwconv", {**_window(c), "multiplier": c.out // c.channels, "bias": c.bias, "name": "depthwise"})]


@variant("depthwise-separable", "depthwise k x k per channel, then pointwise 1x1 to N (MobileNet)",
         closed_form=lambda c: ClosedForm(f"1/N + 1/{_kpow(c)}", Fraction(1, c.out) + Fraction(1, c.k ** c.nd),
                                          MACS_AT_EQUAL_SIZE))
def _depthwise_separable(c: ConvSetup) -> list[Layer]:
    return [("dwconv", {**_window(c), "bias": c.bias, "name": "depthwise"}),
            ("pwconv", {"out": c.out, "bias": c.bias, "name": "pointwise"})]


@variant("grouped", "a k x k convolution in G groups (--groups): each filter sees C/G channels",
         closed_form=lambda c: ClosedForm("1/G", Fraction(1, c.groups), "params and MACs"))
def _grouped(c: ConvSetup) -> list[Layer]:
    return [("conv", {"out": c.out, **_window(c), "groups": c.groups, "bias": c.bias, "name": "grouped"})]


@variant("shuffled-grouped",
         "ShuffleNet's unit: grouped 1x1 to the width (--width), channel shuffle, depthwise k x k, grouped 1x1 to N",
         note=lambda c, r: f"width {c.mid} (--width; default out // 4), {c.groups} groups (--groups); "
                           "the unit's batch norms, ReLUs and shortcut are left out")
def _shuffled_grouped(c: ConvSetup) -> list[Layer]:
    return [("pwconv", {"out": c.mid, "groups": c.groups, "bias": c.bias, "name": "group_reduce"}),
            ("channel_shuffle", {"groups": c.groups, "name": "shuffle"}),
            ("dwconv", {**_window(c), "bias": c.bias, "name": "depthwise"}),
            ("pwconv", {"out": c.out, "groups": c.groups, "bias": c.bias, "name": "group_expand"})]


def _dilated_note(c: ConvSetup, report: Report) -> str:
    return (f"dilation {c.d}: receptive field {_rf(report)} with the {report.total.params:,} weights of a "
            f"{'x'.join([str(c.k)] * c.nd)} kernel")


@variant("dilated", "the k x k convolution with dilation d (-d): a wider field of view for the same weights",
         closed_form=lambda c: ClosedForm("1", Fraction(1), MACS_AT_EQUAL_SIZE), note=_dilated_note)
def _dilated(c: ConvSetup) -> list[Layer]:
    return [("conv", {"out": c.out, **_window(c), "d": c.d, "bias": c.bias, "name": "dilated"})]


def _on_axis(nd: int, axis: int, value: int, other: int) -> list[int]:
    """One value per axis: `value` on `axis`, `other` on the rest."""
    return [value if i == axis else other for i in range(nd)]


def _spatially_separable_form(c: ConvSetup) -> ClosedForm | None:
    if c.nd != 2:
        return None
    return ClosedForm("(C + N)/(max(C, N)·K)", Fraction(c.channels + c.out, max(c.channels, c.out) * c.k),
                      "params; MACs at stride 1 when the output sizes are equal (e.g. -p same)")


@variant("spatially-separable",
         "k x 1 then 1 x k (one k-long conv per spatial axis), through min(C, N) channels in between",
         closed_form=_spatially_separable_form,
         note=lambda c, r: f"{min(c.channels, c.out)} channels between the stages (min(C, N))")
def _spatially_separable(c: ConvSetup) -> list[Layer]:
    if c.nd < 2:
        raise NotApplicable("a 1-D input has one spatial axis: there is nothing to separate")
    mid = min(c.channels, c.out)
    layers: list[Layer] = []
    for axis in range(c.nd):
        k = _on_axis(c.nd, axis, c.k, 1)
        # an integer padding goes to the axis the conv spans
        p = c.p if isinstance(c.p, str) else _on_axis(c.nd, axis, c.p, 0)
        layers.append(("conv", {"out": c.out if axis == c.nd - 1 else mid, "k": k, "s": _on_axis(c.nd, axis, c.s, 1),
                                "p": p, "bias": c.bias, "name": "k" + "x".join(map(str, k))}))
    return layers


def _stacked_depth(c: ConvSetup) -> int:
    """n, checked before any layer is built: the spec and its analysis grow with n."""
    if c.k < 3 or c.k % 2 == 0:
        raise NotApplicable(f"a stack of 3x3 convs has an odd receptive field of at least 3; k={c.k} is not one")
    if c.stack_depth > MAX_STACK:
        raise NotApplicable(f"k={c.k} takes {c.stack_depth:,} stacked 3x3 convs; this variant builds at most "
                            f"{MAX_STACK:,} (k up to {2 * MAX_STACK + 1:,})")
    return c.stack_depth


def _stacked_form(c: ConvSetup) -> ClosedForm | None:
    if c.k < 3 or c.k % 2 == 0:
        return None
    n = c.stack_depth
    window = 3 ** c.nd
    # weights: C·N·3² for the first conv, N·N·3² for each of the other n-1, against C·N·K²
    value = Fraction(window * (c.channels + (n - 1) * c.out), c.channels * c.k ** c.nd)
    if c.channels == c.out:  # the notes' form
        return ClosedForm(f"n·{window}/{_kpow(c)}", value, MACS_AT_EQUAL_SIZE)
    return ClosedForm(f"{window}·(C + (n-1)·N)/(C·{_kpow(c)})", value, MACS_AT_EQUAL_SIZE)


def _stacked_note(c: ConvSetup, report: Report) -> str:
    n = c.stack_depth
    if n == 1:
        return f"k={c.k}: the stack is a single 3x3 conv, the regular one"
    window = "x".join(["3"] * c.nd)
    return (f"{n} stacked {window} convs see {_rf(report)}, as one {'x'.join([str(c.k)] * c.nd)}: "
            f"{n * 3 ** c.nd} vs {c.k ** c.nd} weights per channel pair")


@variant("stacked", "n = (k-1)/2 stacked 3x3 convs with the receptive field of one k x k (VGG: 3 x 3x3 for 7x7)",
         closed_form=_stacked_form, note=_stacked_note)
def _stacked(c: ConvSetup) -> list[Layer]:
    # The stride and an integer padding go on the first conv; padding words apply to each.
    return [("conv", {"out": c.out, "k": [3] * c.nd, "s": c.s if i == 0 else 1,
                      "p": c.p if isinstance(c.p, str) or i == 0 else 0, "bias": c.bias, "name": f"stack{i + 1}"})
            for i in range(_stacked_depth(c))]


@variant("bottleneck", "1x1 reduce to the width (--width, default N/4), k x k, 1x1 expand to N (ResNet)",
         note=lambda c, r: f"width {c.mid} (--width; default out // 4)")
def _bottleneck(c: ConvSetup) -> list[Layer]:
    return [("pwconv", {"out": c.mid, "bias": c.bias, "name": "reduce"}),
            ("conv", {"out": c.mid, **_window(c), "bias": c.bias, "name": "conv"}),
            ("pwconv", {"out": c.out, "bias": c.bias, "name": "expand"})]


def _transposed_note(c: ConvSetup, report: Report) -> str:
    sizes = f"{'x'.join(map(str, c.input[1:]))} to {'x'.join(map(str, report.output[2:]))}"
    return f"upsamples {sizes}" if c.s > 1 else f"maps {sizes}: at stride 1 it does not upsample (try -s 2)"


@variant("transposed", "the transposed convolution with the same k, s, p (the regular one's adjoint): upsampling by s",
         note=_transposed_note)
def _transposed(c: ConvSetup) -> list[Layer]:
    try:
        p, extra = REGISTRY["deconv"].adjoint_padding(c.k, c.s, c.p)
    except LayerError as exc:
        raise NotApplicable(str(exc)) from None
    return [("deconv", {"out": c.out, "k": c.k, "s": c.s, "p": p, "output_padding": extra, "bias": c.bias,
                        "name": "transposed"})]


def _fft_note(c: ConvSetup, report: Report) -> str:
    layer = report.layers[0]
    record = REGISTRY["fftconv"]
    size = record.fft_size(layer.args, c.input)
    points = 1
    for n in size:
        points *= n
    return (f"FFT size {'x'.join(map(str, size))} (N = {points:,} points, M = {record.bins(layer.args, c.input):,} "
            "complex bins): MACs 4·out·C·M, FLOPs (C + out·C + out)·2.5·N·log2 N + 8·out·C·M (docs/costs.md)")


@variant("fft", "the convolution through the frequency domain: FFTs of input and kernels, complex products, "
                "inverse FFTs (stride 1)", note=_fft_note)
def _fft(c: ConvSetup) -> list[Layer]:
    if c.s != 1:
        raise NotApplicable(f"an FFT convolution computes every position: stride must be 1, got {c.s}")
    return [("fftconv", {"out": c.out, "k": c.k, "p": c.p, "bias": c.bias, "name": "fft"})]


# --------------------------------------------------------------------------------------------
# Variant rows


class Stage(NamedTuple):
    """One layer of a variant."""

    name: str
    kind: str
    description: str  # the layer in the one-line form's short syntax: "dwconv k3", "pwconv 128"
    output: tuple[int, ...]
    params: int
    macs: int
    flops: int


class VariantRow(NamedTuple):
    variant: str
    layers: tuple[Layer, ...]  # what it expands to (() when a precondition failed before building it)
    spec: str  # the same layers in the one-line form ('' likewise)
    report: Report | None  # None: not applicable
    reason: str = ""  # why not applicable
    closed_form: ClosedForm | None = None
    notes: tuple[str, ...] = ()
    params_ratio: Fraction | None = None  # to the baseline (the first applicable variant named)
    macs_ratio: Fraction | None = None
    flops_ratio: Fraction | None = None
    macs_share: Fraction = Fraction(0)  # MACs over the largest MACs of the comparison

    @property
    def applicable(self) -> bool:
        return self.report is not None

    @property
    def params(self) -> int:
        return self._report.total.params

    @property
    def macs(self) -> int:
        return self._report.total.macs

    @property
    def flops(self) -> int:
        return self._report.total.flops

    @property
    def output(self) -> tuple[int, ...]:
        return self._report.output

    @property
    def receptive_field(self) -> tuple:
        return self._report.receptive_field

    @property
    def output_bytes(self) -> int:
        return self._report.layers[-1].output_bytes

    @property
    def weight_bytes(self) -> int:
        return self._report.total.weight_bytes

    @property
    def peak_activation_bytes(self) -> int:
        return self._report.total.peak_activation_bytes

    @property
    def stages(self) -> tuple[Stage, ...]:
        return tuple(Stage(layer.name, layer.kind, describe(layer), layer.output, layer.params, layer.macs,
                           layer.flops) for layer in self._report.layers)

    @property
    def _report(self) -> Report:
        if self.report is None:
            raise ValueError(f"variant {self.variant} is not applicable: {self.reason}")
        return self.report

    def to_dict(self) -> dict[str, Any]:
        """One entry of `variants` in the JSON (docs/compare.md); the counts only when applicable."""
        form = self.closed_form
        d: dict[str, Any] = {
            "variant": self.variant,
            "applicable": self.applicable,
            "reason": self.reason or None,
            "spec": self.spec or None,
            "closed_form": None if form is None else {"formula": form.formula, "value": float(form.value),
                                                      "exact": str(form.value), "holds": form.holds},
            "notes": list(self.notes),
        }
        if not self.applicable:
            return d
        d.update({
            "layers": [{"name": s.name, "kind": s.kind, "description": s.description, "output": list(s.output),
                        "params": s.params, "macs": s.macs, "flops": s.flops} for s in self.stages],
            "output": list(self.output),
            "params": self.params,
            "macs": self.macs,
            "flops": self.flops,
            "receptive_field": [[plain(v) for v in axis] for axis in self.receptive_field],
            "output_bytes": self.output_bytes,
            "weight_bytes": self.weight_bytes,
            "peak_activation_bytes": self.peak_activation_bytes,
            "params_ratio": _float(self.params_ratio),
            "macs_ratio": _float(self.macs_ratio),
            "flops_ratio": _float(self.flops_ratio),
            "macs_share": float(self.macs_share),
        })
        return d


class VariantComparison(NamedTuple):
    setup: ConvSetup
    rows: tuple[VariantRow, ...]
    baseline: str | None  # the first applicable variant named: what the ratios divide by

    @property
    def applicable(self) -> tuple[VariantRow, ...]:
        return tuple(row for row in self.rows if row.applicable)

    @property
    def largest(self) -> VariantRow | None:
        """The applicable variant with the most MACs (the first of equals): what the bars divide by."""
        return max(self.applicable, key=lambda row: row.macs, default=None)

    def row(self, name: str) -> VariantRow:
        for row in self.rows:
            if row.variant == name:
                return row
        raise KeyError(name)

    def _repr_html_(self) -> str:
        from ..reporters.notebook import text_html

        return text_html(self)

    def to_dict(self) -> dict[str, Any]:
        """The JSON of `convcalc compare VARIANT... --format json` (docs/compare.md)."""
        return {"schema": SCHEMAS["compare"], "mode": "variants", "setup": self.setup.to_dict(),
                "baseline": self.baseline, "variants": [row.to_dict() for row in self.rows]}


def describe(layer: LayerReport) -> str:
    """A layer in the one-line form's short syntax, without padding and bias: 'conv 128 k3 d2'."""
    return REGISTRY[layer.kind].describe(layer.args, omit=("p", "bias"))


def analyze_variant(name: str, setup: ConvSetup) -> VariantRow:
    """One variant's row: its layers analyzed, or the reason it does not apply."""
    record = VARIANTS[name]
    closed_form = record.closed_form(setup) if record.closed_form else None
    try:
        layers = tuple(record.layers(setup))
    except NotApplicable as exc:
        return VariantRow(name, (), "", None, str(exc), closed_form)
    text = write_line(setup.input, layers, batch=setup.batch, dtype=setup.dtype, name=name)
    try:
        report = analyze(from_layers(setup.input, layers, f"<{name}>", name, setup.batch, setup.dtype))
    except ConvcalcError as exc:
        where = f"{exc.layer} ({exc.kind}): " if exc.layer else ""
        return VariantRow(name, layers, text, None, where + " ".join(exc.message.split()), closed_form)
    notes = (record.note(setup, report),) if record.note else ()
    return VariantRow(name, layers, text, report, "", closed_form, notes)


def _ratio(a: int, b: int) -> Fraction | None:
    return Fraction(a, b) if b else None


def _float(value: Fraction | None) -> float | None:
    return None if value is None else float(value)


def compare_variants(names: list[str] | tuple[str, ...], setup: ConvSetup) -> VariantComparison:
    """Rows in the order named (duplicates dropped); ratios to the first applicable one.
    ValueError for a name that is not a variant (the command refuses those first)."""
    for name in names:
        if name not in VARIANTS:
            raise ValueError(f"unknown variant '{name}'{did_you_mean(name, VARIANTS)}; variants: {', '.join(VARIANTS)}")
    rows = [analyze_variant(name, setup) for name in dict.fromkeys(names)]
    applicable = [row for row in rows if row.applicable]
    base = applicable[0] if applicable else None
    largest = max((row.macs for row in applicable), default=0)
    done = []
    for row in rows:
        if row.applicable and base is not None:
            row = row._replace(params_ratio=_ratio(row.params, base.params), macs_ratio=_ratio(row.macs, base.macs),
                               flops_ratio=_ratio(row.flops, base.flops),
                               macs_share=_ratio(row.macs, largest) or Fraction(0))
        done.append(row)
    return VariantComparison(setup, tuple(done), base.variant if base else None)
