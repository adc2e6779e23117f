"""`convcalc explain`: every number a layer's row reports, with its derivation.

An explanation is the record's rule with its working shown. For each layer asked, the rules of
its registry record (convcalc/layers/) run again, on `working.Term`s in place of ints: the inputs are
named in the course notes' notation (input C x H x W, or m per axis; kernel k; padding p; stride
s; dilation d; groups g; filters K), so each rule returns its formula, the formula with the
values substituted, and the value. The value is then checked against the one the Report holds:
what `convcalc shapes` reports, by construction (a mismatch is a bug, raised as AssertionError).
`convcalc shapes` never comes here and never builds a Term.

Per layer: the output size per axis (with the exact quotient where a stride does not fit),
padding words resolved (and the course notes' full/same/valid table), a transposed convolution
as the stride-1 convolution over its zero-stuffed input, parameters (and the fully connected
layer doing the same mapping), MACs (over input positions for a transposed conv; grouped,
depthwise and separable against the regular convolution, with `compare`'s closed form), FLOPs,
the receptive field recurrence, memory and the warnings. The layer values the walk carries
(shapes, fields, global-context flags) come from the Report, through graph.walk, so nothing is
computed twice.

Everything returned is frozen (NamedTuples); reporters/explanation.py renders it as text,
Markdown or JSON, and reporters/layer_drawing.py draws a window layer.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any, NamedTuple, Sequence

from . import working
from .analysis import output_memory, weight_memory
from .errors import UsageError
from .suggest import did_you_mean
from .graph import walk
from .layers import AXIS_NAMES, REGISTRY, Kind, numel, resolve_padding, same_field, window_out, effective
from .report import SCHEMAS, LayerReport, Report, plain
from .spec.model import DTYPE_BYTES, Spec
from .working import Term, sym

# Argument symbols in the course notes' notation (the rest keep their names: `pieces`, `size`).
SYMBOLS = {"out": "K", "groups": "g", "output_padding": "op", "multiplier": "mult", "offset_groups": "og",
           "factor": "r"}
NOT_TRACED = {"shape"}  # reshape's target shape: a list of sizes, not one value per axis


class Quantity(NamedTuple):
    """One number with its working: `symbol = formula = substituted = steps = value`.

    It holds the working itself (a working.Term, or a plain number where the rule has none, or
    for `global` the sentence that says why); its text and LaTeX forms are written when a
    reporter reads them, so that a format pays only for the forms it shows."""

    symbol: str  # H', params, MACs
    meaning: str  # what it is, in words
    term: Any  # the working (Term), a number, or a sentence
    value: Any  # int, Fraction, float or bool: for a reported number, the one the Report holds
    note: str = ""
    reported: bool = True  # a number convcalc shapes reports (checked), or one shown beside it
    skip: tuple[str, ...] = ()  # named intermediates explained elsewhere (no "where" line)

    @property
    def formula(self) -> str:
        return self.term if isinstance(self.term, str) else working.text(self.term)

    @property
    def substituted(self) -> str:
        return "" if isinstance(self.term, str) else working.text(self.term, values=True)

    @property
    def steps(self) -> str:
        return "" if isinstance(self.term, str) else working.steps(self.term)

    @property
    def latex(self) -> str:
        return "" if isinstance(self.term, str) else working.latex(self.term)

    @property
    def latex_substituted(self) -> str:
        return "" if isinstance(self.term, str) else working.latex(self.term, values=True)

    @property
    def latex_steps(self) -> str:
        return "" if isinstance(self.term, str) else working.steps(self.term, latex_=True)

    @property
    def shown(self) -> str:
        """The value for reading: 28, 86,400, 2.33; yes or no."""
        if isinstance(self.value, bool):
            return "yes" if self.value else "no"
        return working.decimal(self.value)

    @property
    def where(self) -> tuple["Quantity", ...]:
        """Named intermediates in the working (a padding total), each with its own working."""
        return tuple(Quantity(d.name, "", d.args[0], d.value, reported=False)
                     for d in working.definitions(self.term) if d.name not in self.skip and d.name != self.symbol)

    def to_dict(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"quantity": self.symbol, "meaning": self.meaning, "formula": self.formula,
                               "substituted": self.substituted, "value": plain(self.value), "reported": self.reported}
        if isinstance(self.value, Fraction) and self.value.denominator != 1:
            doc["exact"] = f"{self.value.numerator}/{self.value.denominator}"
        steps = self.steps
        if steps:
            doc["steps"] = steps
        doc["latex"] = self.latex
        where = self.where
        if where:
            doc["where"] = [w.to_dict() for w in where]
        if self.note:
            doc["note"] = self.note
        return doc


class Section(NamedTuple):
    title: str
    quantities: tuple[Quantity, ...]
    notes: tuple[str, ...] = ()
    table: tuple[tuple[str, ...], ...] = ()  # a header row, then rows (the padding schemes)

    def to_dict(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"title": self.title, "quantities": [q.to_dict() for q in self.quantities]}
        if self.notes:
            doc["notes"] = list(self.notes)
        if self.table:
            doc["table"] = [list(row) for row in self.table]
        return doc


class DrawAxis(NamedTuple):
    """One spatial axis of a window layer, as its drawing needs it. For a transposed kind the
    input is the zero-stuffed one: `n` positions, of which every `step`-th is one of the `source`
    real inputs; the window then slides at stride 1."""

    name: str
    n: int
    out: int
    k: int
    s: int
    d: int
    left: int  # negative: the stuffed input is cropped
    right: int
    source: int
    step: int


class LayerExplanation(NamedTuple):
    index: int
    name: str
    kind: str
    line: int | None
    layer: str  # the layer in the one-line form: conv 6 k5
    inputs: tuple[tuple[int, ...], ...]  # with the batch
    output: tuple[int, ...]
    sections: tuple[Section, ...]
    warnings: tuple[str, ...]
    drawing: tuple[DrawAxis, ...] | None  # the last one or two spatial axes of a window layer
    transposed: bool = False

    def section(self, title: str) -> Section:
        for section in self.sections:
            if section.title == title:
                return section
        raise KeyError(title)

    def quantity(self, symbol: str, section: str | None = None) -> Quantity:
        for s in self.sections:
            if section is None or s.title == section:
                for q in s.quantities:
                    if q.symbol == symbol:
                        return q
        raise KeyError(symbol)

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "name": self.name, "kind": self.kind, "line": self.line, "layer": self.layer,
                "inputs": [list(shape) for shape in self.inputs], "output": list(self.output),
                "sections": [s.to_dict() for s in self.sections],
                "warnings": [{"code": getattr(w, "code", ""), "text": str(w)} for w in self.warnings]}


class Explanation(NamedTuple):
    name: str
    source: str
    batch: int
    dtype: str
    layers: tuple[LayerExplanation, ...]

    def layer(self, name: str) -> LayerExplanation:
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise KeyError(name)

    def _repr_html_(self) -> str:
        from .reporters.notebook import text_html

        return text_html(self)

    def to_dict(self) -> dict[str, Any]:
        return {"schema": SCHEMAS["explain"], "name": self.name, "source": self.source, "batch": self.batch,
                "dtype": self.dtype, "layers": [layer.to_dict() for layer in self.layers]}


# --------------------------------------------------------------------------------------------
# The walk


def explain(spec: Spec, report: Report, wanted: Sequence[str] = ()) -> Explanation:
    """The layers of `report` named in `wanted` (all when empty), each with its derivations.
    A name may also be a layer's index (`0`); an unknown one is a UsageError."""
    chosen = select(report, wanted)
    values: dict[str, Any] = {"input": (spec.input, tuple((1, 1, 0) for _ in spec.input[1:]), False)}
    saved = _saved_for_backward(spec)
    layers = []
    for step, inputs in walk(spec.nodes, values):
        layer = report.layers[step.index]
        if layer.name in chosen:
            layers.append(_explain_layer(step.record, step.node.args, step.node.inputs, inputs, layer, report,
                                         saved.get(layer.name)))
        values[layer.name] = (layer.output[1:], layer.receptive_field, layer.global_context)
    return Explanation(report.name, report.source, report.batch, report.dtype, tuple(layers))


def select(report: Report, wanted: Sequence[str]) -> set[str]:
    names = [layer.name for layer in report.layers]
    if not wanted:
        return set(names)
    chosen = set()
    for item in wanted:
        if item in names:
            chosen.add(item)
        elif item.isascii() and item.isdigit() and int(item) < len(names):
            chosen.add(names[int(item)])
        else:
            from .printable import clean

            raise UsageError(f"{clean(report.source)} has no layer '{clean(item)}'{did_you_mean(item, names)} "
                             f"(give a layer's name or its index, 0 to {len(names) - 1})")
    return chosen


def drawable(explanation: Explanation, wanted: Sequence[str] = ()) -> LayerExplanation:
    """The layer `--draw` pictures: the first one named, else the first that has a window."""
    if wanted:
        first = explanation.layers[0] if len(explanation.layers) == 1 else next(
            layer for layer in explanation.layers if wanted[0] in (layer.name, str(layer.index)))
        if first.drawing is None:
            from .printable import clean

            raise UsageError(f"--draw pictures a layer with a window (conv, dwconv, pwconv, sepconv, fftconv, "
                             f"deform_conv, the pools, deconv, maxunpool); '{clean(first.name)}' is a {first.kind}")
        return first
    for layer in explanation.layers:
        if layer.drawing is not None:
            return layer
    raise UsageError("--draw found no layer with a window to draw (conv, the pools, deconv, ...)")


# --------------------------------------------------------------------------------------------
# Naming the inputs of the rules


def _axis_names(nd: int) -> tuple[str, ...]:
    return AXIS_NAMES.get(nd, tuple(f"axis{j}" for j in range(nd)))


def _per_axis(base: str, values: Sequence[Any], nd: int) -> tuple[Any, ...]:
    """One symbol per axis: the same name when every axis has the same value (k for a 3x3
    kernel), else one per axis (k_H, k_W)."""
    present = [v for v in values if v is not None]
    same = len(set(present)) <= 1
    names = _axis_names(nd)
    out = []
    for i, v in enumerate(values):
        if v is None:
            out.append(None)
            continue
        name = base if same else (f"{base},{names[i]}" if "_" in base else f"{base}_{names[i]}")
        out.append(sym(name, v))
    return tuple(out)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float, Fraction)) and not isinstance(v, bool)


def trace_args(record: Kind, a: dict[str, Any], nd: int) -> dict[str, Any]:
    """The layer's normalized arguments with every number a named symbol."""
    names = {**SYMBOLS, **record.symbols}
    traced = {}
    for key, value in a.items():
        traced[key] = value if key in NOT_TRACED else _trace_value(names.get(key, key), value, nd)
    return traced


def _trace_value(base: str, value: Any, nd: int) -> Any:
    if _is_number(value):
        return sym(base, value)
    if isinstance(value, tuple) and value and all(isinstance(v, tuple) and len(v) == 2 for v in value):
        # (left, right) padding per axis
        if all(left == right for left, right in value):
            return tuple((t, t) for t in _per_axis(base, [left for left, _ in value], nd))
        return tuple(zip(_per_axis(f"{base}_l", [left for left, _ in value], nd),
                         _per_axis(f"{base}_r", [right for _, right in value], nd)))
    if isinstance(value, tuple) and len(value) == nd and all(v is None or _is_number(v) for v in value):
        return _per_axis(base, value, nd)
    return value


def trace_shape(shape: tuple[int, ...], prime: str = "", suffix: str = "", channels: str = "C") -> tuple[Term, ...]:
    """(C, H, W) -> symbols C, H, W (an output: C', H', W'); a flat shape is F features."""
    if len(shape) == 1:
        return (sym(f"F{prime}{suffix}", shape[0]),)
    names = (channels if channels != "C" else f"C{prime}", *(f"{n}{prime}" for n in _axis_names(len(shape) - 1)))
    return tuple(sym(f"{n}{suffix}", v) for n, v in zip(names, shape))


def trace_field(field: tuple, suffix: str = "in") -> tuple:
    return tuple((sym(f"r_{suffix}", size), sym(f"j_{suffix}", jump), sym(f"start_{suffix}", start))
                 for size, jump, start in field)


# --------------------------------------------------------------------------------------------
# Quantities


def quantity(symbol: str, meaning: str, term: Any, expected: Any = None, note: str = "", reported: bool = True,
             skip: tuple[str, ...] = ()) -> Quantity:
    """A Quantity from a rule's result; `expected` (what the Report holds) must equal its value."""
    value = term.value if isinstance(term, Term) else term
    if isinstance(value, Fraction) and value.denominator == 1:
        value = value.numerator
    if reported and expected is not None and value != expected:
        raise AssertionError(f"explain: {symbol} works out to {value!r} but the report holds {expected!r}")
    return Quantity(symbol, meaning, term, value, note, reported, skip)


def _costs(record: Kind, column: int) -> str:
    """The record's row of docs/costs.md, for people: params, buffers, MACs or FLOPs."""
    text = record.costs[column].replace("**", "")  # the docs' emphasis
    return f"docs/costs.md: {text}" if text else ""


def _overrides(record: Kind, rule: str) -> bool:
    return getattr(type(record), rule) is not getattr(Kind, rule)


class _MacsNamed:
    """A record seen through its `macs` rule answering a named Term, so that a FLOPs rule that
    calls self.macs (2*MACs + bias) shows `MACs` instead of the whole product again."""

    def __init__(self, record: Kind, macs: Any) -> None:
        self._record, self._macs = record, macs

    def __getattr__(self, name: str) -> Any:
        return getattr(self._record, name)

    def macs(self, a: Any, x: Any, y: Any) -> Any:
        return self._macs


# --------------------------------------------------------------------------------------------
# One layer


def _saved_for_backward(spec: Spec) -> dict[str, tuple[int, int]]:
    """Per layer, the bytes autograd keeps for its backward as `convcalc memory` counts them
    (fixed, per sample; the spec's dtype, no autocast): {} where training is not modelled (an
    opaque layer)."""
    from .errors import ConvcalcError
    from .training import setup_for, timeline

    try:
        return {facts.name: facts.saved for facts in timeline(spec, setup_for(spec)).layers}
    except ConvcalcError:
        return {}


class _Layer(NamedTuple):
    """What the sections read: the record, arguments and shapes, plain and traced."""

    record: Kind
    a: dict[str, Any]
    ta: dict[str, Any]
    x: Any  # a shape, or for a merge the tuple of input shapes
    tx: Any
    y: tuple[int, ...]
    ty: tuple[Term, ...]
    nd: int
    layer: LayerReport
    report: Report
    saved: tuple[int, int] | None = None  # bytes kept for the backward: (fixed, per sample)


def _explain_layer(record: Kind, a: dict[str, Any], input_names: tuple[str, ...], inputs: Any, layer: LayerReport,
                   report: Report, saved: tuple[int, int] | None = None) -> LayerExplanation:
    y = layer.output[1:]
    if record.merge:
        x = tuple(value[0] for value in inputs)
        tx = tuple(trace_shape(s, suffix=f"_{i + 1}") for i, s in enumerate(x))
        tr = tuple(trace_field(value[1], str(i + 1)) for i, value in enumerate(inputs))
        inherited = [name for name, value in zip(input_names, inputs) if value[2]]
        nd = len(x[0]) - 1
        shapes = x
    else:
        x, field, seen = inputs
        tx, tr = trace_shape(x), trace_field(field)
        inherited = [input_names[0]] if seen else []
        nd = len(x) - 1
        shapes = (x,)
    out_symbol = "C"
    if "out" in a and len(y) > 1 and y[0] == a["out"]:
        out_symbol = {**SYMBOLS, **record.symbols}["out"]
    ty = trace_shape(y, prime="'", channels=out_symbol)
    if len(y) == 1 and "out" in a and y[0] == a["out"]:
        ty = (sym({**SYMBOLS, **record.symbols}["out"], y[0]),)
    c = _Layer(record, a, trace_args(record, a, max(nd, 0)), x, tx, y, ty, nd, layer, report, saved)
    sections = [_shape_section(c)]
    if isinstance(a.get("p"), str) and record.window(a, x) is not None:
        sections.append(_padding_section(c))
    if record.zero_stuffed(a, x) is not None:
        sections.append(_transposed_section(c))
    sections.append(_params_section(c))
    macs_section, macs_term = _macs_section(c)
    dense = _dense_section(c)
    sections += [macs_section, _flops_section(c, macs_term)]
    if dense is not None:
        sections.append(dense)
    sections += [_field_section(c, tr, inherited), _memory_section(c)]
    if layer.warnings:
        notes = tuple(f"[{getattr(w, 'code', 'warning')}] {w}" for w in layer.warnings)
        sections.append(Section("warnings", (), notes))
    batch = report.batch
    return LayerExplanation(layer.index, layer.name, layer.kind, layer.line, record.describe(a),
                            tuple((batch, *s) for s in shapes), layer.output, tuple(sections), layer.warnings,
                            _drawing(c), record.zero_stuffed(a, x) is not None)


def _axis_label(symbol: str, i: int, nd: int) -> str:
    return symbol if nd <= 1 else f"{symbol} ({_axis_names(nd)[i]})"


def _shape_section(c: _Layer) -> Section:
    record, a, ta = c.record, c.a, c.ta
    window = record.window(a, c.x)
    if isinstance(a.get("p"), str) and window is not None:
        # the padding word is resolved in its own section; here its amounts are symbols
        ta = {**ta, "p": _trace_value("p", tuple((w.left, w.right) for w in window), c.nd)}
    result = record.shape(ta, c.tx)
    quantities = []
    for i, (term, value, out) in enumerate(zip(result, c.y, c.ty)):
        meaning = "output channels" if i == 0 and len(c.y) > 1 else (
            "output features" if len(c.y) == 1 else f"output size on axis {_axis_names(len(c.y) - 1)[i - 1]}")
        fixed = not isinstance(term, Term) or not any(True for _ in working.symbols(term))
        quantities.append(quantity(out.name, meaning, term, value, skip=("total",),
                                   note=f"set by the layer: {record.doc}" if fixed else ""))
        exact = working.exact(term)
        if i > 0 and isinstance(exact, Term) and exact.value != value and not a.get("ceil_mode"):
            quantities.append(quantity(f"{out.name} exact", "the quotient before the floor", exact, reported=False,
                                       note=_fit_note(c, i - 1, window)))
    notes = []
    if window is not None and len(c.y) > 1:
        notes.append("the window spans d*(k - 1) + 1 input positions; it fits floor((padded - span) / s) + 1 times "
                     "(the notes' (m + 2p - k)/s + 1)")
    return Section("output shape", tuple(quantities), tuple(notes))


def _fit_note(c: _Layer, axis: int, window: Any) -> str:
    name = _axis_names(c.nd)[axis]
    for w in c.layer.warnings:
        if getattr(w, "code", "") == "uncovered-input" and f"axis {name}:" in w:
            return f"does not fit: {w}"
    if window is not None:
        w = window[axis]
        if w.s > effective(w.k, w.d):
            return "the stride is wider than the window: the positions between windows are skipped by design"
        return "the floor drops a last window that would read padding only: no input position is lost"
    return "the floor drops the fraction"


def _padding_section(c: _Layer) -> Section:
    a, x = c.a, c.x
    word = a["p"]
    window = c.record.window(a, x)
    n, k, s, d = x[1:], a["k"], a["s"], a["d"]
    pads = resolve_padding(word, c.tx[1:], c.ta["k"], c.ta["s"], c.ta["d"])
    quantities = []
    for i, ((left, right), w) in enumerate(zip(pads, window)):
        quantities.append(quantity(_axis_label("p_l", i, c.nd), "padding before the first position", left, w.left))
        quantities.append(quantity(_axis_label("p_r", i, c.nd), "padding after the last position", right, w.right,
                                   skip=("total",)))
    table: list[tuple[str, ...]] = [("axis", "scheme", "output", "left", "right", "total")]
    seen = set()
    for i, axis in enumerate(zip(n, k, s, d)):
        if axis in seen:
            continue
        seen.add(axis)
        ni, ki, si, di = axis
        for scheme in ("full", "same", "valid"):
            ((left, right),) = resolve_padding(scheme, (ni,), (ki,), (si,), (di,)) if scheme != "valid" else ((0, 0),)
            out = window_out(ni, effective(ki, di), si, left, right) if ni + left + right >= effective(ki, di) else 0
            table.append((_axis_names(c.nd)[i], scheme, str(out) if out > 0 else "none", str(left), str(right),
                          str(left + right)))
    notes = [f"'{word}' resolved per axis against the input size (m = {', '.join(map(str, n))}), kernel, stride and "
             "dilation, by the rule convcalc uses for every layer (layers.resolve_padding)",
             "same (TensorFlow's rule, at any stride): ceil(m/s) outputs, and the padding that takes split in two, "
             "floor(total/2) before and the rest after",
             "full: d*(k - 1) on each side, so that every input position is read by k windows, the edges too",
             "valid: no padding; the output shrinks by d*(k - 1)"]
    if any(w.left != w.right for w in window):
        notes.append("an even span at stride 1 needs an odd total, k - 1, which cannot split evenly: the extra "
                     "position goes after the input, as TensorFlow and PyTorch both do")
    return Section("padding", tuple(quantities), tuple(notes), tuple(table))


def _transposed_section(c: _Layer) -> Section:
    stuffed = c.record.zero_stuffed(c.ta, c.tx)
    quantities = []
    for i, (positions, left, right, span) in enumerate(stuffed):
        z = positions.named("z" if c.nd == 1 else f"z_{_axis_names(c.nd)[i]}")
        q_l, q_r = left.named("q_l"), right.named("q_r")
        quantities.append(quantity(z.name, "zero-stuffed input: s - 1 zeros between neighbours", positions,
                                   reported=False))
        quantities.append(quantity(_axis_label("q_l", i, c.nd), "zeros before it (negative: cropped)", left,
                                   reported=False))
        quantities.append(quantity(_axis_label("q_r", i, c.nd), "zeros after it (with output_padding)", right,
                                   reported=False))
        out = window_out(z, span, 1, q_l, q_r)
        quantities.append(quantity(c.ty[i + 1].name, "the stride-1 convolution over it", out,
                                   c.y[i + 1], skip=(z.name, "q_l", "q_r")))
    notes = (c.record.stuffed_note,) if c.record.stuffed_note else ()
    return Section("transposed", tuple(quantities), notes)


def _params_section(c: _Layer) -> Section:
    record, layer = c.record, c.layer
    quantities = []
    if _overrides(record, "params"):
        quantities.append(quantity("params", "trainable parameters", record.params(c.ta, c.tx, c.ty), layer.params,
                                   note=_costs(record, 0)))
    else:
        quantities.append(quantity("params", "trainable parameters", 0, layer.params,
                                   note=f"none: the kind {record.name} learns nothing (by declaration)"))
    if _overrides(record, "buffers") or layer.buffers:
        quantities.append(quantity("buffers", "non-trainable state", record.buffers(c.ta, c.tx, c.ty), layer.buffers,
                                   note=_costs(record, 1)))
    return Section("parameters", tuple(quantities))


def _macs_section(c: _Layer) -> tuple[Section, Any]:
    record, layer, batch = c.record, c.layer, c.report.batch
    quantities, notes = [], []
    if _overrides(record, "macs"):
        macs = record.macs(c.ta, c.tx, c.ty)
        quantities.append(quantity("MACs", "multiply-accumulates per sample", macs, layer.macs // batch,
                                   note=_costs(record, 2)))
    else:
        macs = 0
        quantities.append(quantity("MACs", "multiply-accumulates per sample", 0, layer.macs // batch,
                                   note="none: MACs count only conv, deconv and linear (docs/costs.md)"))
    if batch > 1:
        named = macs.named("MACs") if isinstance(macs, Term) else macs
        quantities.append(quantity("MACs x batch", "for the whole batch", named * sym("batch", batch), layer.macs,
                                   skip=("MACs",)))
    direct = record.macs_over_outputs(c.ta, c.tx, c.ty)  # the forward formula, over output positions
    if direct is not None:
        ratio = Fraction(direct.value, macs.value)
        quantities.append(quantity("MACs over outputs", "as a conv over the zero-stuffed input would count", direct,
                                   reported=False,
                                   note=f"{_ratio(ratio)} times the real count: the extra multiplications "
                                        "are by inserted zeros, which tools reusing the forward formula count"))
        notes.append("counted over input positions: each input value meets each of its (K/g)*k*k weights exactly "
                     "once (docs/costs.md, as fvcore counts)")
    equivalent = record.regular_equivalent(c.ta, c.tx)
    if equivalent is not None and isinstance(macs, Term):
        variant, regular_args = equivalent
        regular = REGISTRY["conv"].macs(regular_args, c.tx, c.ty)
        ratio = Fraction(macs.value, regular.value)
        quantities.append(quantity("regular MACs", "the regular convolution doing the same mapping (groups 1)",
                                   regular, reported=False,
                                   note=f"ratio {macs.value:,} / {regular.value:,} = {_ratio(ratio)}"
                                        + _closed_form(c, variant, ratio)))
    return Section("MACs", tuple(quantities), tuple(notes)), macs


def _ratio(value: Fraction) -> str:
    """A ratio for reading, to 3 significant digits as compare shows them: 0.119, 5.44, 3,136."""
    v = float(value)
    return f"{v:,.0f}" if v >= 100 else f"{v:.3g}"


def _closed_form(c: _Layer, variant: str, ratio: Fraction) -> str:
    """`convcalc compare`'s closed form for the ratio, where the kernel is the same on every axis."""
    k = c.a["k"]
    if len(set(k)) != 1:
        return ""
    from .compare import VARIANTS, ConvSetup

    form = VARIANTS[variant].closed_form
    if form is None:
        return ""
    closed = form(ConvSetup(tuple(c.x), c.y[0], k[0], groups=c.a.get("groups", 1) if variant == "grouped" else 2))
    if closed is None:
        return ""
    agree = "equal" if closed.value == ratio else f"against {_ratio(ratio)} here"
    return f"; compare's closed form for {variant}: {closed.formula} = {_ratio(closed.value)} ({agree})"


def _flops_section(c: _Layer, macs: Any) -> Section:
    record, layer, batch = c.record, c.layer, c.report.batch
    named = macs.named("MACs") if isinstance(macs, Term) and macs.value else macs
    try:
        flops = type(record).flops(_MacsNamed(record, named), c.ta, c.tx, c.ty)  # type: ignore[arg-type]
    except TypeError:  # a rule that needs the record itself (super()): its working without the name
        flops = record.flops(c.ta, c.tx, c.ty)
    quantities = [quantity("FLOPs", "floating-point operations per sample", flops, layer.flops // batch,
                           note=_costs(record, 3), skip=("MACs",))]
    if batch > 1:
        quantities.append(quantity("FLOPs x batch", "for the whole batch", flops.named("FLOPs") * sym("batch", batch)
                                   if isinstance(flops, Term) else flops * batch, layer.flops, skip=("FLOPs",)))
    if record.textbook_flops and not c.a.get("bias") and isinstance(named, Term):
        textbook = 2 * named - numel(c.ty)
        quantities.append(quantity("FLOPs textbook", "k multiplies and k - 1 adds per output", textbook,
                                   reported=False, skip=("MACs",),
                                   note="Goodfellow et al.'s count (the edge detector's 267,960): the first "
                                        "product of each sum is not added to anything (docs/costs.md)"))
    return Section("FLOPs", tuple(quantities))


def _dense_section(c: _Layer) -> Section | None:
    """The fully connected layer that maps the same input to the same output (the notes'
    (W*H*C + 1)*(W'*H'*K)), through the linear record's own rules."""
    if not _overrides(c.record, "macs") or c.record.fully_connected or c.record.merge or len(c.x) < 2 or len(c.y) < 2:
        return None
    linear = REGISTRY["linear"]
    a = {"out": numel(c.ty), "bias": c.a.get("bias", True)}
    x, y = (numel(c.tx),), (numel(c.ty),)
    params, macs = linear.params(a, x, y), linear.macs(a, x, y)
    flops = linear.flops(a, x, y)
    p, m = c.layer.params, c.layer.macs // c.report.batch
    quantities = [
        quantity("dense params", "a linear layer from every input value to every output value", params, reported=False,
                 note=f"weight sharing: {working.decimal(params.value)} against {p:,}, "
                      f"{_ratio(Fraction(params.value, p)) if p else 'infinitely many'} times as many"
                      + (f" ({params.value - p:,} saved)" if p else "")),
        quantity("dense MACs", "every output reads every input", macs, reported=False,
                 note=f"{_ratio(Fraction(macs.value, m))} times the convolution's {m:,}" if m else ""),
        quantity("dense FLOPs", "2 per MAC, plus its bias", flops, reported=False),
    ]
    return Section("dense equivalent", tuple(quantities),
                   ("sparse interactions and parameter sharing: each output reads a window, with weights shared "
                    "across positions",))


def _field_section(c: _Layer, tr: Any, inherited: list[str]) -> Section:
    record, layer = c.record, c.layer
    field = record.field(c.ta, c.tx, c.ty, tr)
    quantities = []
    nf = len(field)  # the input's spatial axes, also after a flatten
    for i, ((size, jump, start), reported) in enumerate(zip(field, layer.receptive_field)):
        quantities.append(quantity(_axis_label("r_out", i, nf), "input positions one output sees", size, reported[0]))
        quantities.append(quantity(_axis_label("j_out", i, nf), "input distance between neighbouring outputs",
                                   jump, reported[1]))
        quantities.append(quantity(_axis_label("start_out", i, nf), "first input position of the first output",
                                   start, reported[2]))
    sees_all = record.sees_all(c.a, c.x, c.y)
    if inherited:
        reason = f"inherited from {', '.join(repr(n) for n in inherited)}, which saw every position of an axis"
    elif sees_all:
        reason = ("an input broadcast along an axis is read whole by every output" if record.merge else
                  f"every output of this {record.name} reads all positions of an axis")
    else:
        reason = "every output sees a local window only"
    if (bool(inherited) or bool(sees_all)) != layer.global_context:
        raise AssertionError(f"explain: global context works out to {bool(inherited) or bool(sees_all)} "
                             f"but the report holds {layer.global_context}")
    quantities.append(Quantity("global", "also sees global context beyond the local field", reason,
                               layer.global_context))
    return Section("receptive field", tuple(quantities), (_field_note(c),) if _field_note(c) else ())


def _field_note(c: _Layer) -> str:
    record = c.record
    if record.window(c.a, c.x) is not None:
        return ("the window adds (span - 1) steps of j_in to the field, its outputs are s steps of j_in apart, and "
                "the first window starts p_l steps of j_in before the input (Araujo et al., Distill 2019)")
    if record.zero_stuffed(c.a, c.x) is not None:
        return ("transposed: at most ceil(k*gcd(d, s)/s) inputs reach one output, d/gcd(d, s) inputs apart; "
                "outputs are j_in/s apart")
    if record.merge:
        return "a merge: the union of its inputs' local fields at each position"
    if type(record).rf is same_field:
        return "each output position sees what the input position under it saw"
    if record.sees_all(c.a, c.x, c.y):
        return "all positions of an axis feed every output: the field keeps one position's, its jump becomes 0"
    return ""


def _memory_section(c: _Layer) -> Section:
    layer, report = c.layer, c.report
    itemsize = DTYPE_BYTES[report.dtype]
    values = numel(c.ty)
    counters = c.record.counters(c.a, c.x, c.y)
    batch_ = sym("batch", report.batch)
    size = sym("bytes", itemsize)
    quantities = [
        quantity("values", "output values per sample (the neurons of the layer)", values, numel(c.y)),
        quantity("output bytes", f"its output in {report.dtype}", output_memory(c.ty, batch_, size),
                 layer.output_bytes),
        quantity("weight bytes", "its parameters and buffers in memory",
                 weight_memory(sym("params", layer.params) if layer.params else 0,
                               sym("buffers", layer.buffers) if layer.buffers else 0,
                               sym("counters", counters) if counters else 0, size),
                 layer.weight_bytes,
                 note="an int64 counter (bn's num_batches_tracked) takes 8 bytes" if counters else ""),
    ]
    notes: tuple[str, ...] = ()
    if c.saved is not None:
        fixed, per_sample = c.saved
        quantities.append(quantity(
            "saved bytes", "kept for its backward pass",
            sym("kept", per_sample) * batch_ + (sym("fixed", fixed) if fixed else 0),
            note=(f"in training, at batch {report.batch} in {report.dtype}, autograd keeps what no earlier layer "
                  f"keeps already: the {c.record.name} kind keeps {c.record.saves}"), reported=False))
        notes = ("`convcalc memory` adds these over the forward pass, with gradients and optimizer state, for the "
                 "training peak (docs/memory.md)",)
    return Section("memory", tuple(quantities), notes)


def _drawing(c: _Layer) -> tuple[DrawAxis, ...] | None:
    """The last one or two spatial axes of a window layer, as its drawing needs them."""
    if c.record.merge or c.nd < 1:
        return None
    axes = range(max(c.nd - 2, 0), c.nd)
    names = _axis_names(c.nd)
    stuffed = c.record.zero_stuffed(c.a, c.x)
    if stuffed is not None:
        k, s = c.a["k"], c.a["s"]
        d = c.a.get("d", (1,) * c.nd)
        return tuple(DrawAxis(names[i], stuffed[i][0], c.y[1 + i], k[i], 1, d[i], stuffed[i][1], stuffed[i][2],
                              c.x[1 + i], s[i]) for i in axes)
    window = c.record.window(c.a, c.x)
    if window is None:
        return None
    return tuple(DrawAxis(names[i], c.x[1 + i], c.y[1 + i], window[i].k, window[i].s, window[i].d, window[i].left,
                          window[i].right, c.x[1 + i], 1) for i in axes)

from .api import callable_module  # noqa: E402  (convcalc.explain(...) is api.explain: this module is callable)

callable_module(__name__)
