"""Comparisons: variants of one convolution side by side, and one spec against another.

Variants. Each variant (regular, depthwise-separable, ShuffleNet's unit, ...) is a function from
the shared settings (`Setup`: input, out, k, s, p, ...) to the layers of a one-line spec; the
numbers are those of `analyze()` on that spec, never recomputed here, so a variant can only be
as wrong as the registry. A variant that cannot apply to the settings (a precondition such as
out % in for depthwise, or a `ConvcalcError` from the spec, e.g. a kernel larger than the input)
becomes a row with the reason instead of a failure. Where the course notes give a closed form
for the ratio to the regular convolution (depthwise-separable: 1/N + 1/K²), the row carries it
with the condition under which it is exact; tests check each against the analyzed specs.

Specs. Two reports side by side: totals with absolute and relative differences, and the layers
that differ, matched by name first and then, among the rest, by position within each kind (the
second unnamed linear of one spec with the second of the other). When the two sides
run at different batches, layers are compared per sample, so that a spec against itself at
another batch lists no layer and the totals show the scaling.

Everything here returns frozen records (NamedTuples, as report.py) that reporters/comparison.py
renders without computing.
"""

from __future__ import annotations

import os
from fractions import Fraction
from typing import Callable, NamedTuple

from . import library, limits
from .analysis import analyze
from .errors import ConvcalcError, UsageError, did_you_mean
from .layers import REGISTRY
from .report import LayerReport, Report
from .importers import is_source
from .spec import DTYPE_BYTES, Spec, from_text, is_text_form, parse_input

SUPERSCRIPT = {1: "", 2: "²", 3: "³"}
PAD_WORDS = ("valid", "same", "full")
# The stacked variant builds (k-1)/2 convs: at most this many (k up to 2,001), so that a huge -k
# is a not-applicable row at once rather than megabytes of spec text (docs/compare.md).
MAX_STACK = 1_000
FLAGS = {"out": "--out", "k": "-k", "s": "-s", "p": "-p", "d": "-d", "groups": "--groups", "width": "--width", "batch": "--batch"}


class Setup(NamedTuple):
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


def make_setup(input: str | None, out: int | None, k: int | None = None, s: int | None = None,
               p: str | None = None, d: int | None = None, groups: int | None = None, width: int | None = None,
               batch: int | None = None, dtype: str | None = None, bias: bool | None = None) -> Setup:
    """A Setup from command-line values (None: the default); UsageError names a wrong one."""
    if input is None or out is None:
        raise UsageError("variants need --input (channels first, e.g. 3x7x7) and --out (output channels)")
    try:
        shape = parse_input(input, "--input", None)
    except ConvcalcError as exc:
        raise UsageError(f"--input: {exc.message}") from None
    if len(shape) < 2:
        raise UsageError(f"--input {input} has no spatial axis: give channels first, then 1 to 3 sizes (3x7x7)")
    given = {"k": k, "s": s, "p": parse_padding(p), "d": d, "groups": groups, "width": width, "batch": batch,
             "dtype": dtype, "bias": bias}
    for name, value in (("out", out), *((name, given[name]) for name in ("k", "s", "p", "d", "groups", "width", "batch"))):
        if type(value) is not int:
            continue
        if not (0 if name == "p" else 1) <= value <= limits.MAX_SIZE:
            raise UsageError(f"{FLAGS[name]} must be between {0 if name == 'p' else 1} and {limits.MAX_SIZE} (2^48), "
                             f"got {value}")
    if dtype is not None and dtype not in DTYPE_BYTES:
        raise UsageError(f"--dtype must be one of {', '.join(DTYPE_BYTES)}, got '{dtype}'{did_you_mean(dtype, DTYPE_BYTES)}")
    return Setup(shape, out, **{name: value for name, value in given.items() if value is not None})


def parse_padding(p: str | int | None) -> str | int | None:
    if p is None or type(p) is int:
        return p
    word = str(p).strip().lower()
    if word in PAD_WORDS:
        return word
    if word.isascii() and word.isdigit():  # str.isdigit alone takes '²', which int() refuses
        return int(word)
    raise UsageError(f"-p must be valid, same, full or a non-negative integer, got '{p}'{did_you_mean(word, PAD_WORDS)}")


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
    layers: Callable[[Setup], list[str]]  # the one-line spec's layer segments
    closed_form: Callable[[Setup], ClosedForm | None] | None = None
    note: Callable[[Setup, Report], str] | None = None


VARIANTS: dict[str, Variant] = {}


def variant(name: str, doc: str, closed_form: Callable[[Setup], ClosedForm | None] | None = None,
            note: Callable[[Setup, Report], str] | None = None) -> Callable[[Callable[[Setup], list[str]]], Callable]:
    """Register a variant; the order of registration is the order of --all."""

    def register(layers: Callable[[Setup], list[str]]) -> Callable[[Setup], list[str]]:
        if name in VARIANTS:
            raise TypeError(f"variant {name!r} is registered twice")
        VARIANTS[name] = Variant(name, doc, layers, closed_form, note)
        return layers

    return register


# --------------------------------------------------------------------------------------------
# Spec fragments. Every convolution states its bias; padding words pass through to the spec.


def _bias(c: Setup) -> str:
    return f"bias={'true' if c.bias else 'false'}"


def _window(c: Setup) -> str:
    return f"k={c.k} s={c.s} p={c.p}"


def _kpow(c: Setup) -> str:
    return f"K{SUPERSCRIPT[c.nd]}"


def _rf(report: Report) -> str:
    return "x".join(str(axis[0]) for axis in report.receptive_field)


MACS_AT_EQUAL_SIZE = "params; MACs when the output sizes are equal (e.g. -p same)"


@variant("regular", "one k x k convolution from C to N channels: the baseline of the closed forms")
def _regular(c: Setup) -> list[str]:
    return [f"conv {c.out} {_window(c)} {_bias(c)} name=conv"]


@variant("pointwise", "a 1x1 convolution to N channels at stride s (padding does not apply)",
         closed_form=lambda c: ClosedForm(f"1/{_kpow(c)}", Fraction(1, c.k ** c.nd), MACS_AT_EQUAL_SIZE))
def _pointwise(c: Setup) -> list[str]:
    if c.s == 1:
        return [f"pwconv {c.out} {_bias(c)} name=pointwise"]
    return [f"conv {c.out} k=1 s={c.s} {_bias(c)} name=pointwise"]


@variant("depthwise", "a k x k window per input channel (groups = C), N/C filters each: needs N a multiple of C",
         closed_form=lambda c: ClosedForm("1/C", Fraction(1, c.channels), MACS_AT_EQUAL_SIZE))
def _depthwise(c: Setup) -> list[str]:
    if c.out % c.channels:
        raise NotApplicable(f"out {c.out} is not a multiple of the {c.channels} input channels "
                            "(a depthwise conv gives each input channel the same number of filters)")
    return [f"dwconv {_window(c)} multiplier={c.out // c.channels} {_bias(c)} name=depthwise"]


@variant("depthwise-separable", "depthwise k x k per channel, then pointwise 1x1 to N (MobileNet)",
         closed_form=lambda c: ClosedForm(f"1/N + 1/{_kpow(c)}", Fraction(1, c.out) + Fraction(1, c.k ** c.nd),
                                          MACS_AT_EQUAL_SIZE))
def _depthwise_separable(c: Setup) -> list[str]:
    return [f"dwconv {_window(c)} {_bias(c)} name=depthwise", f"pwconv {c.out} {_bias(c)} name=pointwise"]


@variant("grouped", "a k x k convolution in G groups (--groups): each filter sees C/G channels",
         closed_form=lambda c: ClosedForm("1/G", Fraction(1, c.groups), "params and MACs"))
def _grouped(c: Setup) -> list[str]:
    return [f"conv {c.out} {_window(c)} groups={c.groups} {_bias(c)} name=grouped"]


@variant("shuffled-grouped",
         "ShuffleNet's unit: grouped 1x1 to the width (--width), channel shuffle, depthwise k x k, grouped 1x1 to N",
         note=lambda c, r: f"width {c.mid} (--width; default out // 4), {c.groups} groups (--groups); "
                           "the unit's batch norms, ReLUs and shortcut are left out")
def _shuffled_grouped(c: Setup) -> list[str]:
    return [f"pwconv {c.mid} groups={c.groups} {_bias(c)} name=group_reduce",
            f"channel_shuffle {c.groups} name=shuffle",
            f"dwconv {_window(c)} {_bias(c)} name=depthwise",
            f"pwconv {c.out} groups={c.groups} {_bias(c)} name=group_expand"]


def _dilated_note(c: Setup, report: Report) -> str:
    return (f"dilation {c.d}: receptive field {_rf(report)} with the {report.total.params:,} weights of a "
            f"{'x'.join([str(c.k)] * c.nd)} kernel")


@variant("dilated", "the k x k convolution with dilation d (-d): a wider field of view for the same weights",
         closed_form=lambda c: ClosedForm("1", Fraction(1), MACS_AT_EQUAL_SIZE), note=_dilated_note)
def _dilated(c: Setup) -> list[str]:
    return [f"conv {c.out} {_window(c)} d={c.d} {_bias(c)} name=dilated"]


def _axis_values(nd: int, axis: int, value: object, other: object) -> str:
    return "x".join(str(value if i == axis else other) for i in range(nd))


def _spatially_separable_form(c: Setup) -> ClosedForm | None:
    if c.nd != 2:
        return None
    return ClosedForm("(C + N)/(max(C, N)·K)", Fraction(c.channels + c.out, max(c.channels, c.out) * c.k),
                      "params; MACs at stride 1 when the output sizes are equal (e.g. -p same)")


@variant("spatially-separable",
         "k x 1 then 1 x k (one k-long conv per spatial axis), through min(C, N) channels in between",
         closed_form=_spatially_separable_form,
         note=lambda c, r: f"{min(c.channels, c.out)} channels between the stages (min(C, N))")
def _spatially_separable(c: Setup) -> list[str]:
    if c.nd < 2:
        raise NotApplicable("a 1-D input has one spatial axis: there is nothing to separate")
    mid = min(c.channels, c.out)
    segments = []
    for axis in range(c.nd):
        k = _axis_values(c.nd, axis, c.k, 1)
        s = _axis_values(c.nd, axis, c.s, 1)
        p = c.p if isinstance(c.p, str) else _axis_values(c.nd, axis, c.p, 0)
        out = c.out if axis == c.nd - 1 else mid
        segments.append(f"conv {out} k={k} s={s} p={p} {_bias(c)} name=k{k}")
    return segments


def _stack_depth(c: Setup) -> int:
    """n = (k-1)/2, checked before any layer is built: the spec text and its analysis grow with n."""
    if c.k < 3 or c.k % 2 == 0:
        raise NotApplicable(f"a stack of 3x3 convs has an odd receptive field of at least 3; k={c.k} is not one")
    n = (c.k - 1) // 2
    if n > MAX_STACK:
        raise NotApplicable(f"k={c.k} takes {n:,} stacked 3x3 convs; this variant builds at most {MAX_STACK:,} "
                            f"(k up to {2 * MAX_STACK + 1:,})")
    return n


def _stacked_form(c: Setup) -> ClosedForm | None:
    if c.k < 3 or c.k % 2 == 0:
        return None
    n = (c.k - 1) // 2
    window = 3 ** c.nd
    # weights: C·N·3² for the first conv, N·N·3² for each of the other n-1, against C·N·K²
    value = Fraction(window * (c.channels + (n - 1) * c.out), c.channels * c.k ** c.nd)
    if c.channels == c.out:  # the notes' form
        return ClosedForm(f"n·{window}/{_kpow(c)}", value, MACS_AT_EQUAL_SIZE)
    return ClosedForm(f"{window}·(C + (n-1)·N)/(C·{_kpow(c)})", value, MACS_AT_EQUAL_SIZE)


def _stacked_note(c: Setup, report: Report) -> str:
    n = (c.k - 1) // 2
    if n == 1:
        return f"k={c.k}: the stack is a single 3x3 conv, the regular one"
    window = "x".join(["3"] * c.nd)
    return (f"{n} stacked {window} convs see {_rf(report)}, as one {'x'.join([str(c.k)] * c.nd)}: "
            f"{n * 3 ** c.nd} vs {c.k ** c.nd} weights per channel pair")


@variant("stacked", "n = (k-1)/2 stacked 3x3 convs with the receptive field of one k x k (VGG: 3 x 3x3 for 7x7)",
         closed_form=_stacked_form, note=_stacked_note)
def _stacked(c: Setup) -> list[str]:
    n = _stack_depth(c)
    three = "x".join(["3"] * c.nd)
    segments = []
    for i in range(n):
        # The stride and an integer padding go on the first conv; padding words apply to each.
        s = c.s if i == 0 else 1
        p = c.p if isinstance(c.p, str) or i == 0 else 0
        segments.append(f"conv {c.out} k={three} s={s} p={p} {_bias(c)} name=stack{i + 1}")
    return segments


@variant("bottleneck", "1x1 reduce to the width (--width, default N/4), k x k, 1x1 expand to N (ResNet)",
         note=lambda c, r: f"width {c.mid} (--width; default out // 4)")
def _bottleneck(c: Setup) -> list[str]:
    return [f"pwconv {c.mid} {_bias(c)} name=reduce",
            f"conv {c.mid} {_window(c)} {_bias(c)} name=conv",
            f"pwconv {c.out} {_bias(c)} name=expand"]


def _transposed_padding(c: Setup) -> tuple[int, int]:
    """(p, output_padding) of the transposed conv that is the adjoint of the regular one."""
    if isinstance(c.p, int):
        return c.p, 0
    if c.p == "valid":
        return 0, 0
    if c.p == "full":
        return c.k - 1, 0
    total = c.k - c.s  # 'same': the output is n*s, so 2p - output_padding = k - s
    p = max(-(-total // 2), 0)
    extra = 2 * p - total
    if extra >= c.s:
        raise NotApplicable(f"'same' at k={c.k}, s={c.s} needs output_padding {extra}, and a transposed conv "
                            f"takes output_padding only below its stride {c.s}")
    return p, extra


def _transposed_note(c: Setup, report: Report) -> str:
    sizes = f"{'x'.join(map(str, c.input[1:]))} to {'x'.join(map(str, report.output[2:]))}"
    return f"upsamples {sizes}" if c.s > 1 else f"maps {sizes}: at stride 1 it does not upsample (try -s 2)"


@variant("transposed", "the transposed convolution with the same k, s, p (the regular one's adjoint): upsampling by s",
         note=_transposed_note)
def _transposed(c: Setup) -> list[str]:
    p, extra = _transposed_padding(c)
    return [f"deconv {c.out} k={c.k} s={c.s} p={p} output_padding={extra} {_bias(c)} name=transposed"]


def _fft_note(c: Setup, report: Report) -> str:
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
def _fft(c: Setup) -> list[str]:
    if c.s != 1:
        raise NotApplicable(f"an FFT convolution computes every position: stride must be 1, got {c.s}")
    return [f"fftconv {c.out} k={c.k} p={c.p} {_bias(c)} name=fft"]


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
    spec: str  # the one-line spec it expands to ('' when a precondition failed before building it)
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


class VariantComparison(NamedTuple):
    setup: Setup
    rows: tuple[VariantRow, ...]
    baseline: str | None  # the first applicable variant named: what the ratios divide by

    @property
    def applicable(self) -> tuple[VariantRow, ...]:
        return tuple(row for row in self.rows if row.applicable)

    def row(self, name: str) -> VariantRow:
        for row in self.rows:
            if row.variant == name:
                return row
        raise KeyError(name)


def describe(layer: LayerReport) -> str:
    """A layer in the one-line form's short syntax, without padding and bias: 'conv 128 k3 d2'."""
    return REGISTRY[layer.kind].describe(layer.args, omit=("p", "bias"))


def evaluate(name: str, setup: Setup) -> VariantRow:
    """One variant's row: its spec analyzed, or the reason it does not apply."""
    record = VARIANTS[name]
    closed_form = record.closed_form(setup) if record.closed_form else None
    try:
        segments = record.layers(setup)
    except NotApplicable as exc:
        return VariantRow(name, "", None, str(exc), closed_form)
    head = f"{'x'.join(map(str, setup.input))} batch={setup.batch} dtype={setup.dtype} name={name}"
    text = " | ".join([head, *segments])
    try:
        report = analyze(from_text(text, f"<{name}>"))
    except ConvcalcError as exc:
        where = f"{exc.layer} ({exc.kind}): " if exc.layer else ""
        return VariantRow(name, text, None, where + " ".join(exc.message.split()), closed_form)
    notes = (record.note(setup, report),) if record.note else ()
    return VariantRow(name, text, report, "", closed_form, notes)


def _ratio(a: int, b: int) -> Fraction | None:
    return Fraction(a, b) if b else None


def compare_variants(names: list[str] | tuple[str, ...], setup: Setup) -> VariantComparison:
    """Rows in the order named (duplicates dropped); ratios to the first applicable one."""
    for name in names:
        if name not in VARIANTS:
            raise UsageError(f"unknown variant '{name}'{did_you_mean(name, VARIANTS)}; variants: {', '.join(VARIANTS)}")
    rows = [evaluate(name, setup) for name in dict.fromkeys(names)]
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


# --------------------------------------------------------------------------------------------
# Command-line arguments: variant names or specs


def classify(arguments: tuple[str, ...], all_variants: bool) -> tuple[str, tuple[str, ...]]:
    """('variants', names) or ('specs', paths): variant names are words from VARIANTS; specs are
    existing files, '-' (stdin), one-line specs (with '|'), library names (`resnet50`), and paths
    (with a '/' or ending in .yaml/.yml) that will fail to load with "no such file"."""
    variants, specs = [], []
    for arg in arguments:
        if arg in VARIANTS:
            variants.append(arg)
        elif (arg == "-" or os.path.exists(arg) or is_text_form(arg) or arg.endswith((".yaml", ".yml"))
              or "/" in arg or os.sep in arg or arg.startswith(library.PREFIX)
              or library.find(arg) is not None or is_source(arg)):
            specs.append(arg)
        else:
            variant = did_you_mean(arg, VARIANTS)
            spec = "" if variant else did_you_mean(arg, library.names())  # a library name, mistyped
            raise UsageError(f"'{arg}' is neither a variant{variant} nor a spec file{spec}; "
                             f"variants: {', '.join(VARIANTS)}")
    if variants and specs:
        raise UsageError(f"give variant names or spec files, not both: '{variants[0]}' is a variant, "
                         f"'{specs[0]}' a spec")
    if specs:
        if all_variants:
            raise UsageError("--all runs every variant of one convolution; it does not take spec files")
        return "specs", tuple(specs)
    if all_variants:
        variants += [name for name in VARIANTS if name not in variants]
    if not variants:
        raise UsageError("give variant names (e.g. regular depthwise-separable) or --all with --input and --out, "
                         "or two specs to compare")
    return "variants", tuple(variants)


# --------------------------------------------------------------------------------------------
# One spec against another

METRICS = ("params", "buffers", "macs", "flops", "peak_activation_bytes", "weight_bytes", "activation_bytes")


class Difference(NamedTuple):
    metric: str
    a: int
    b: int

    @property
    def diff(self) -> int:
        return self.b - self.a

    @property
    def ratio(self) -> Fraction | None:
        return _ratio(self.b, self.a)


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
    totals = tuple(Difference(m, getattr(ra.total, m), getattr(rb.total, m)) for m in METRICS)
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
    for lb in rb.layers:
        la = partner.get(lb.index)
        if la is None:
            keyed.append(((lb.index, 0, 0), ("added", None, lb, None, ())))
            continue
        differs = _differs(la, lb, ra.batch, rb.batch)
        if differs:
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
                          sum(v == "position" for v in how.values()), ra.batch != rb.batch, metric)


def spec_batches(count: int, batches: tuple[int, ...]) -> tuple[int | None, int | None, bool]:
    """(batch of a, batch of b, whether the one spec is compared with itself) from --batch values."""
    if count == 1:
        if len(batches) == 1:
            return None, batches[0], True
        if len(batches) == 2:
            return batches[0], batches[1], True
        raise UsageError("one spec compares with itself at another batch: give --batch N "
                         "(or --batch A --batch B); to compare two specs, give both")
    if count != 2:
        raise UsageError(f"compare takes two specs (the first is the baseline), got {count}")
    if len(batches) > 2:
        raise UsageError(f"--batch is given {len(batches)} times; give it once (both specs) or twice (one per spec)")
    if len(batches) == 2:
        return batches[0], batches[1], False
    return (batches[0], batches[0], False) if batches else (None, None, False)
