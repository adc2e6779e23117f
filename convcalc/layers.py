"""The layer registry: one record per layer kind, holding everything convcalc knows about it.

A record is a subclass of `Kind`, registered with `@register`. It declares its arguments (an
`Arg` schema, see args.py) and implements the rules, each a pure function of ints and tuples:

    shape(a, x)          -> y         output shape, or LayerError when PyTorch would refuse
    params(a, x, y)      -> int       trainable parameters, as PyTorch counts them
    buffers(a, x, y)     -> int       non-trainable state (BN running stats), as PyTorch counts it
    macs(a, x, y)        -> int       multiply-accumulates of convolutions and linear; bias excluded
    flops(a, x, y)       -> int       all floating-point work: 2 per MAC, bias adds, elementwise work
    rf(a, x, y, r)       -> rf        local receptive field per spatial axis: (size, jump, start)
    sees_all(a, x, y)    -> bool      some output unit also reads every position of an input axis
                                      (global context: global pooling, flatten, statistics norms,
                                      a broadcast merge input); the analysis carries it downstream
    warnings(a, x, y)    -> (str,...) things that are legal but probably not meant
    build(a, x, y)       -> nn.Module the equivalent PyTorch module (torch imported lazily)
    fvcore(a, x, y)      -> int       what fvcore's FlopCountAnalysis reports for it (its convention,
                                      for `convcalc verify`): MACs for conv/linear, its own rules for
                                      norms, 2-D adaptive pools and 2-D upsampling, 0 where it counts nothing
    flop_counter(a,x,y)  -> int       what torch's FlopCounterMode reports: 2 per MAC of conv/linear

Training (convcalc memory, docs/memory.md) adds:

    saved(a, x, y)       -> (Keep,..) what autograd keeps from the forward for this layer's backward,
                                      as PyTorch's derivative formulas say (a conv its input, a ReLU
                                      its output, batch norm its input and statistics)
    backward_flops(a,x,y)-> (int,int) FLOPs of the backward: (the part only the input's gradient needs,
                                      the part it always runs: weight gradients, shared terms)
    train_flops(a, x, y) -> int       FLOPs of the forward in training mode (batch norm computes
                                      its statistics, dropout multiplies by its mask)
    autocast(a, x, dev)  -> str       what PyTorch's autocast does with it under --amp (LOW, FLOAT32,
                                      SAME, PROMOTE, MIXED), on "cuda" or "cpu"
    tensors(a, x, y)     -> (int,...) its parameter tensors' sizes, in PyTorch's order
    grad_view(a,x,y,i)   -> bool      its backward hands input i the output's gradient (or a view)
    scratch(a, x, y)     -> (int,int) short-lived elements beside its output, and beside its input
                                      gradients, at its forward's and its backward's busiest moment
    flop_counter_backward(a, x, y, input_grad) -> int   what FlopCounterMode should count for its
                                      backward (convcalc verify --train)

Shapes are per sample, channels first, without the batch: `(C, *spatial)` for feature maps and
`(F,)` once flattened. `a` is the dict of normalized arguments, `x` the input shape (for merges,
the tuple of input shapes), `y` the output shape. Every count is per sample; the analysis
multiplies by the batch. docs/costs.md has the conventions as a table; each rule's comment says
exactly what it counts. Adding a layer kind means adding one record here: its examples and
property templates feed the tests, and its `doc` and `costs` are the docs' rows
(scripts/kind_tables.py writes them).
"""

from __future__ import annotations

from fractions import Fraction
from math import gcd, prod
from typing import Any, NamedTuple

from . import limits
from .args import (REQUIRED, Arg, axes, boolean, choice, int_list, integer, number, pad_amounts, padding, scales, sizes,
                   symmetric_padding, text)
from .errors import LayerError

Shape = tuple[int, ...]
Axis = tuple[Any, Any, Any]  # receptive field on one axis: (size, jump, start), ints or Fractions
RF = tuple[Axis, ...]

AXIS_NAMES = {1: ("L",), 2: ("H", "W"), 3: ("D", "H", "W")}

REGISTRY: dict[str, "Kind"] = {}


def register(cls: type["Kind"]) -> type["Kind"]:
    """Add a kind to the registry; refuse duplicates and records missing a rule."""
    record = cls()
    if not record.name or record.name in REGISTRY:
        raise TypeError(f"layer kind {record.name!r} is unnamed or registered twice")
    for rule in ("shape", "flops", "rf", "build", "saved", "backward_flops"):
        if getattr(cls, rule) is getattr(Kind, rule):
            raise TypeError(f"layer kind {record.name!r} does not define its {rule} rule")
    for fact in ("doc", "examples", "costs", "saves", "backward_costs"):
        if not getattr(record, fact):
            raise TypeError(f"layer kind {record.name!r} does not state its {fact}")
    record.schema = {arg.name: arg for arg in cls.args}
    REGISTRY[record.name] = record
    return cls


# Keep.source: where a tensor autograd keeps for a layer's backward comes from
INPUT, OUTPUT, NEW, BUFFER, WEIGHT, SIDE = "input", "output", "new", "buffer", "weight", "side"
# Keep.dtype tokens, resolved by convcalc.training for the run's dtypes and device
ACT = "act"  # the dtype the layer computes in (under --amp: the low dtype for LOW kinds)
PARAM = "param"  # its parameters' dtype (float32 under --amp)
MASK = "mask"  # dropout's mask: bool on CUDA (native_dropout), the activation dtype on the CPU
COMPLEX = "complex"  # complex of ACT (complex64 for float32)
INT64 = "int64"
BOOL = "bool"
UPCAST = "upcast"  # float32 where the layer computes in a lower precision on the CPU (attention's math path), else ACT
# Keep.name tags of a Keep that only one side of that upcast keeps (the math path keeps v itself, or its float32 copy)
WHEN_NATIVE, WHEN_UPCAST = "when-native", "when-upcast"
# What autocast (--amp) does with a kind: PyTorch's lists (torch/csrc/autograd/autocast_mode.cpp)
LOW = "low"  # on the lower-precision list: inputs cast to the low dtype, output in it (conv, linear)
FLOAT32 = "float32"  # on the float32 list: inputs cast to float32, output float32 (layer norm on CUDA)
SAME = "same"  # on no list: runs in its inputs' dtype (the widest of a merge's), no copies
PROMOTE = "promote"  # on the promote list (cat): inputs cast to the widest of them, output in it
MIXED = "mixed"  # on no list, but mixes its input with float32 (a parameter): output in the wider, no copies


class Keep(NamedTuple):
    """One tensor a layer's backward reads, which autograd keeps from the forward until then.

    `source`: INPUT (input number `index` as the layer reads it: under --amp a LOW kind reads a
    cast copy), OUTPUT, NEW (a tensor its forward makes for the backward: indices, statistics, an
    intermediate), BUFFER (one of its buffers: in memory anyway, but autograd keeps it too),
    WEIGHT (one of its parameters: free, except that under --amp a LOW kind keeps its
    low-precision copy) or SIDE (the tensor `name` of the layer its side input names: the pool
    indices maxunpool reuses). `elements`: of NEW, BUFFER and WEIGHT tensors, per sample when
    `batched`, else in all. `dtype`: ACT, PARAM, MASK, COMPLEX or INT64. `grad_of`: the input
    whose gradient alone needs it (a product keeps each factor for the other's gradient); None
    when the layer's backward always needs it. `name` names a NEW tensor other layers reuse;
    "padded" marks the input padded by a pad before the op (uneven conv padding): under --amp,
    autocast casts that, not the input."""

    source: str
    elements: int = 0
    dtype: str = ACT
    index: int = 0
    batched: bool = True
    grad_of: int | None = None
    name: str = ""


KEEP_INPUT = Keep(INPUT)
KEEP_OUTPUT = Keep(OUTPUT)


def new(elements: int, dtype: str = ACT, batched: bool = True, name: str = "") -> Keep:
    """A tensor the forward makes for the backward: `elements` per sample (or in all)."""
    return Keep(NEW, elements, dtype, batched=batched, name=name)


def weight(elements: int) -> Keep:
    """A parameter the backward reads: free in memory, but under --amp its low-precision copy."""
    return Keep(WEIGHT, elements, ACT, batched=False)


class Kind:
    """Base of every record. Defaults here are declarations, not guesses: no parameters, no
    buffers, no MACs (only convolutions and linear have them) and no warnings; training runs
    the inference forward (`train_flops`), autocast leaves the kind alone (SAME: PyTorch's rule
    for ops on none of its lists) and its backward writes a new input gradient. `shape`,
    `flops`, `rf`, `build`, `saved` and `backward_flops` have no default: each kind must state
    them."""

    name = ""
    doc = ""
    args: tuple[Arg, ...] = ()
    positional: tuple[str, ...] = ()  # arguments the one-line text form takes without a key
    merge = False  # takes two or more inputs (`from: [a, b, ...]`)
    view = False  # the output aliases the input's memory (no new activation memory)
    aligned = False  # a matrix-multiply kind whose channels tensor cores want in multiples of 8
    input_dtype: str | None = None  # what it reads when it is not the spec's dtype ("int64" token ids)
    side_inputs: tuple[str, ...] = ()  # arguments that name another layer it reads (graph.py's side edges)
    # Counts it cannot give ("macs", "flops"): the analysis reports them as unknown, never as 0, and
    # marks every total that includes one as partial (an imported operator convcalc cannot map).
    uncounted: tuple[str, ...] = ()
    train_view = False  # in training too its output aliases its input (dropout's does not: it draws a mask)
    # One-line specs that use the kind: tests/test_registry.py builds each in PyTorch and checks
    # every number against it. Every kind has at least one.
    examples: tuple[str, ...] = ()
    # Templates the property tests draw layers from ({c} channels, {k} kernel, {s} stride, {d}
    # dilation, {p} padding word or int, {pp} small int, {op} output padding, {m} small factor,
    # {idx} index below m, {mode} nearest|bilinear). Every kind has some, except merges (the
    # random graphs draw those) and kinds that read another input dtype (token ids).
    draws: tuple[str, ...] = ()
    # Its row of docs/costs.md, as formulas for people: params, buffers, MACs, FLOPs ('' for 0).
    # scripts/kind_tables.py writes the docs' tables from these and `doc`; a test keeps them current.
    costs: tuple[str, str, str, str] = ("", "", "", "")
    # Its rows of docs/memory.md, for people: what autograd keeps for its backward ('nothing' when
    # nothing), and the backward's FLOPs (input gradient; the rest), '' for 0.
    saves = ""
    backward_costs: tuple[str, str] = ("", "")
    schema: dict[str, Arg]

    def prepare(self, a: dict[str, Any], nd: int) -> dict[str, Any]:
        """Fill defaults that depend on other arguments (a pool's stride defaults to its kernel)
        and check what the schema alone cannot; `nd` is the spec's number of spatial axes."""
        return a

    def shape(self, a, x):
        raise NotImplementedError

    def params(self, a, x, y) -> int:
        return 0

    def buffers(self, a, x, y) -> int:
        return 0

    def tensors(self, a, x, y) -> tuple[int, ...]:
        """Its parameter tensors' sizes, in the order PyTorch's parameters() yields them (Adam's
        for-loop step allocates per tensor). One tensor or none unless the kind says otherwise
        (a bias is a second tensor); tests/test_training.py checks every kind against PyTorch."""
        params = self.params(a, x, y)
        return (params,) if params else ()

    def check_sides(self, a, x, sides: dict[str, "Side"]) -> None:
        """Check the layers its side inputs name (`sides`: argument -> that layer's kind, arguments
        and output shape); LayerError when they cannot serve."""

    def side_source(self, module: Any) -> None:
        """Make the torch module of a layer this kind names as a side input give what this kind
        reads from it (maxunpool: the pool's indices)."""
        raise NotImplementedError

    def counters(self, a, x, y) -> int:
        """How many of its buffers are int64 counters (BN's num_batches_tracked): 8 bytes each in
        memory, whatever the spec's dtype."""
        return 0

    def macs(self, a, x, y) -> int:
        return 0

    def flops(self, a, x, y) -> int:
        raise NotImplementedError

    def rf(self, a, x, y, r):
        raise NotImplementedError

    def sees_all(self, a, x, y) -> bool:
        """Local by declaration: each output unit reads a window of positions, not all of them."""
        return False

    def warnings(self, a, x, y) -> tuple["Note", ...]:
        return ()

    def window(self, a, x) -> tuple["Window", ...] | None:
        """Per spatial axis, the window it slides over its input (`convcalc explain --draw`); None
        for kinds that have none."""
        return None

    def zero_stuffed(self, a, x) -> tuple[tuple[Any, Any, Any, Any], ...] | None:
        """A transposed kind as the stride-1 convolution it equals: per axis (positions after
        inserting s - 1 zeros between neighbouring inputs, left padding, right padding, kernel
        span), for `convcalc explain`; None for every other kind."""
        return None

    def regular_equivalent(self, a, x) -> tuple[str, dict[str, Any]] | None:
        """For a cheaper convolution (grouped, depthwise, separable): its `convcalc compare`
        variant and the arguments of the `conv` (groups 1) that maps the same input to the same
        output, which explain's MACs divide by; None for every other kind."""
        return None

    def describe(self, a, omit: tuple[str, ...] = ()) -> str:
        """The layer in the one-line form's syntax, arguments at their defaults left out:
        'conv 128 k3 s2 g4'. The first positional argument is written bare (`conv 128`,
        `channel_shuffle 4`) unless it is per axis (`dwconv k3`), then the short forms k, s, p, d
        and g where they exist, anything else as key=value."""
        parts = [self.name]
        nd = _axes_of(a)
        for arg in self.args:
            if arg.name in omit or arg.name not in a:
                continue
            value = a[arg.name]
            if self.positional[:1] == (arg.name,) and not isinstance(value, tuple):
                parts.append(_written(value))
                continue
            if arg.default is not REQUIRED and value == _default(arg, nd):
                continue
            written = _written(value)
            # k3, s2x1, g4: the short forms take whole numbers per axis (lrn's k is a number, not a kernel)
            short = SHORT.get(arg.name) if isinstance(value, (tuple, int)) and not isinstance(value, bool) else None
            parts.append(f"{short}{written}" if short and written.replace("x", "").isdigit() else f"{arg.name}={written}")
        return " ".join(parts)

    def build(self, a, x, y):
        raise NotImplementedError

    def fvcore(self, a, x, y) -> int:
        """fvcore ignores or does not support most ops: it counts nothing for them."""
        return 0

    def flop_counter(self, a, x, y) -> int:
        """FlopCounterMode counts 2 per multiply-add of conv, transposed conv and matmul, the ops
        convcalc's MACs count; a kind whose products it does not see (fftconv's) overrides this."""
        return 2 * self.macs(a, x, y)

    def flop_counter_backward(self, a, x, y, input_grad: bool) -> int:
        """What FlopCounterMode should count for its backward (for `convcalc verify --train`): 2 per
        multiply-add of the convolutions and matmuls, one per gradient (the input's only when it
        needs one), groups respected; nothing for the other kinds (their MACs are 0)."""
        return 2 * self.macs(a, x, y) * (2 if input_grad else 1)

    def saved(self, a, x, y) -> tuple[Keep, ...]:
        raise NotImplementedError

    def backward_flops(self, a, x, y) -> tuple[int, int]:
        raise NotImplementedError

    def train_flops(self, a, x, y) -> int:
        """Training runs the same forward as inference, unless the kind says otherwise."""
        return self.flops(a, x, y)

    def autocast(self, a, x, device: str) -> str:
        """PyTorch's autocast leaves ops on none of its lists alone: they run in their inputs' dtype."""
        return SAME

    def grad_view(self, a, x, y, i: int) -> bool:
        """Whether its backward hands input i the output's gradient itself (or a view of it), making
        no new tensor: no, it computes a new input gradient, unless the kind says otherwise."""
        return False

    def scratch(self, a, x, y) -> tuple[tuple[Keep, ...], tuple[Keep, ...]]:
        """The short-lived tensors (NEW Keeps: elements and dtype) alive beside its output, and
        beside its input gradients, at the busiest moment of its forward and of its backward:
        none (it makes only its output and what it keeps, then only its gradients), unless the
        kind says otherwise."""
        return (), ()


class Side(NamedTuple):
    """What a side input's layer is, for `check_sides`."""

    kind: str
    args: dict[str, Any]
    shape: tuple[int, ...]


class Window(NamedTuple):
    """A sliding window on one spatial axis: kernel, stride, dilation and padding."""

    k: int
    s: int
    d: int
    left: int
    right: int


class Note(str):
    """A layer warning: the text people read (it is a str) and a stable `code` that tools group
    by (check's categories), so nothing has to recognise a warning by how its text begins."""

    code: str

    def __new__(cls, code: str, text: str) -> "Note":
        note = super().__new__(cls, text)
        note.code = code
        return note


# Warning codes and what check calls them.
NOTE_LABELS = {"uncovered-input": "uncovered input", "even-kernel-same": "even kernel with 'same' padding"}

# The one-line form's short argument names (spec/text.py reads the same letters).
SHORT = {"k": "k", "s": "s", "p": "p", "d": "d", "groups": "g"}


def _written(value: Any) -> str:
    """A normalized argument value in the one-line form: (3, 3) -> '3', (3, 1) -> '3x1',
    ((1, 1), (1, 1)) -> '1', ((1, 0), (1, 1)) -> '1:0x1:1'."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple) and value and isinstance(value[0], tuple):  # per-axis (left, right)
        if all(left == right for left, right in value):
            value = tuple(left for left, _ in value)
        else:
            return "x".join(f"{left}:{right}" for left, right in value)
    if isinstance(value, tuple) and None in value:  # adaptive pools keep an axis with null
        return ",".join("null" if v is None else str(v) for v in value)
    if isinstance(value, tuple):
        return str(value[0]) if len(set(value)) == 1 else "x".join(map(str, value))
    if isinstance(value, list):
        return ",".join(map(_written, value))
    return "null" if value is None else str(value)


def _axes_of(a: dict[str, Any]) -> int:
    """The number of spatial axes a normalized argument dict was made for (1 when it has none)."""
    for value in a.values():
        if isinstance(value, tuple) and value:
            return len(value)
    return 1


def _default(arg: Arg, nd: int) -> Any:
    """An argument's default as normalize() fills it in."""
    if arg.default is None or isinstance(arg.default, (str, bool, float)):
        return arg.default
    try:
        return arg.convert(arg.default, nd, arg.name)
    except LayerError:
        return arg.default


# --------------------------------------------------------------------------------------------
# Shared helpers: pure arithmetic on shapes


def numel(shape: Shape) -> int:
    return prod(shape)


def spatial(x: Shape, kind: str) -> tuple[int, Shape]:
    """(channels, spatial dims) of a feature map; a flat input is an error."""
    if len(x) < 2:
        got = f"the flat [{x[0]}] (it comes after a flatten or linear)" if x else "a tensor with no axes"
        raise LayerError(f"{kind} needs a feature map [C, ...], got {got}")
    return x[0], x[1:]


def axis_name(i: int, nd: int) -> str:
    return AXIS_NAMES.get(nd, tuple(f"axis{j}" for j in range(nd)))[i]


def dims(shape: Shape) -> str:
    return "x".join(str(v) for v in shape)


def per_group(channels: int, groups: int) -> int:
    """channels // groups, which check_groups has made exact; `convcalc explain`'s working
    (working.Term) writes it C/g."""
    return channels // groups if type(channels) is int else channels.exact_div(groups)


def at_least(value: int, low: int) -> int:
    """max(value, low); explain's working keeps the max."""
    return max(value, low) if type(value) is int else value.at_least(low)


def named(name: str, value: int) -> int:
    """`value`; explain's working shows it under `name`, with its derivation on a line of its own."""
    return value if type(value) is int else value.named(name)


def effective(k: int, d: int) -> int:
    """Span of a dilated kernel: d*(k-1) + 1 input positions."""
    return d * (k - 1) + 1


def resolve_padding(p: Any, n: Shape, k: Shape, s: Shape, d: Shape) -> tuple[tuple[int, int], ...]:
    """Per-axis (left, right) padding. `same` is TensorFlow's rule: output ceil(n/s), total
    padding max((out-1)*s + d*(k-1) + 1 - n, 0), the odd pixel on the right; legal at any
    stride. `full` pads d*(k-1) on each side, so every output sees at least one input."""
    if p == "same":
        pads = []
        for ni, ki, si, di in zip(n, k, s, d):
            out = -(-ni // si)
            total = named("total", at_least((out - 1) * si + effective(ki, di) - ni, 0))
            pads.append((total // 2, total - total // 2))
        return tuple(pads)
    if p == "full":
        return tuple((effective(ki, di) - 1,) * 2 for ki, di in zip(k, d))
    return p


def window_out(n: int, k_eff: int, s: int, left: int, right: int) -> int:
    """Positions of a k_eff-wide window sliding with stride s over n padded by left/right."""
    return (n + left + right - k_eff) // s + 1


def pool_out(n: int, k: int, s: int, p: int, d: int, ceil_mode: bool) -> int:
    """PyTorch's pooling output size, including its ceil-mode rule: the last window must start
    inside the input or the left padding, else it is dropped."""
    num = n + 2 * p - effective(k, d)
    out = (num + (s - 1 if ceil_mode else 0)) // s + 1
    if ceil_mode and (out - 1) * s >= n + p:
        out -= 1
    return out


def uncovered_warnings(kind_name: str, n: Shape, k_eff: Shape, s: Shape, pads, out: Shape) -> tuple[str, ...]:
    """The course notes' "does not fit": (n + pads - k_eff) / s is not whole and the input
    positions past the last window are real data, not padding. Skipped when the stride is
    wider than the window, where skipping input is the point (a 1x1 stride-2 projection)."""
    notes = []
    for i, (ni, ki, si, (left, _), oi) in enumerate(zip(n, k_eff, s, pads, out)):
        last_read = (oi - 1) * si + ki - 1  # in padded coordinates
        missed = left + ni - 1 - last_read
        if missed > 0 and si <= ki:
            notes.append(Note(
                "uncovered-input",
                f"stride {si} does not fit axis {axis_name(i, len(n))}: the last {missed} of {ni} "
                f"input positions are never covered"
            ))
    return tuple(notes)


def check_groups(channels: int, out: int, groups: int) -> None:
    if channels % groups:
        raise LayerError(f"input channels {channels} are not divisible by groups {groups}")
    if out % groups:
        raise LayerError(f"output channels {out} are not divisible by groups {groups}")


# Receptive-field transforms. An axis is (size, jump, start): an output unit sees `size` input
# positions, neighbouring outputs are `jump` input positions apart, and the first output's field
# starts at input position `start` (negative where it reaches into padding).


def same_field(self: "Kind", a: Any, x: Any, y: Any, r: RF) -> RF:
    """An `rf` rule: each output position sees exactly what the input at the same position saw
    (elementwise layers, channel operations, norms over channels)."""
    return r


def rf_window(r: RF, k_eff: Shape, s: Shape, left: Shape) -> RF:
    """A window of k_eff positions at stride s with `left` padding: size grows by (k_eff-1)*jump."""
    return tuple(
        (size + (ki - 1) * jump, jump * si, start - li * jump)
        for (size, jump, start), ki, si, li in zip(r, k_eff, s, left)
    )


def rf_transposed(r: RF, k: Shape, s: Shape, p: Shape, d: Shape) -> RF:
    """Transposed conv: output o takes input i through tap j when i*s - p + d*j = o. At most
    n = ceil(k*g/s) inputs reach one output (g = gcd(d, s)), spaced d/g inputs apart, so the
    field grows by (n-1)*d/g input steps: exact for one transposed layer, and the largest over
    output positions (which differ: the field is position dependent). Outputs are jump/s apart.
    The first output's first input is the smallest i = (p - d*j)/s that is whole."""
    out = []
    for (size, jump, start), ki, si, pi, di in zip(r, k, s, p, d):
        g = gcd(di, si)
        reach = -(-ki * g // si)  # ceil(k*g/s)
        # Taps j with d*j = p (mod s) are j0, j0 + s/g, ...; the smallest input comes from the
        # largest such tap below k. Solved with a modular inverse: k and s may be up to 2^48.
        period = si // g
        if pi % g == 0:
            j0 = (pi // g) * pow(int(di // g), -1, int(period)) % period  # int(): explain's Terms too
            taps = j0 < ki
        else:
            taps = False
        if taps:
            first = (pi - di * (j0 + (ki - 1 - j0) // period * period)) // si
        else:
            first = Fraction(pi - di * (ki - 1), si)
        out.append((size + (reach - 1) * Fraction(di, g) * jump,
                    Fraction(jump, si) if isinstance(jump, int) else jump / si, start + first * jump))
    return tuple(out)


def rf_collapse(r: RF, n: Shape) -> RF:
    """An axis whose n > 1 positions all feed every output (global pooling, flatten) stops moving:
    the field keeps one position's size and start, and its jump becomes 0. What those positions
    add is global context, which the analysis reports beside the field (see `sees_all`); the
    field no longer depends on the input size. An axis of one position passes unchanged."""
    return tuple((size, 0, start) if ni > 1 else (size, jump, start) for (size, jump, start), ni in zip(r, n))


def spread(n: Shape) -> bool:
    """More than one position on some axis."""
    return any(ni > 1 for ni in n)


def rf_union(rs: tuple[RF, ...], xs: tuple[Shape, ...], y: Shape) -> RF:
    """Through a merge, output position i sees the union of its inputs' local fields at i.

    An input that does not move with i on an axis is global context there, not part of the local
    field: one broadcast along the axis (size 1, like an SE gate [C, 1, 1]; the merge's
    `sees_all`) or one whose jump is 0 (it went through a global pool, then maybe an upsample;
    its own flag says so). So the field follows the feature-map path with the full-size inputs'
    jump, and SE-ResNet's field grows as ResNet's does. When every input is global on an axis,
    the field is their union at position 0, and it does not move either (jump 0).

    The union's ends are piecewise linear in i (its start concave, its end convex), so the field
    reported from its extents at the first and last positions contains the true union everywhere
    and equals it at both ends. When the fields are nested, as in residual and U-Net merges, this
    is the widest input's field."""
    out = []
    for a, axis in enumerate(zip(*rs)):
        # A flat input (after flatten or linear) keeps its field over the input's axes, but has one
        # position on each.
        n = y[1 + a] if 1 + a < len(y) else 1
        moving = [(start, size, jump) for (size, jump, start), x in zip(axis, xs)
                  if jump != 0 and (n == 1 or (1 + a < len(x) and x[1 + a] == n))]
        spans = moving or [(start, size, 0) for size, _, start in axis]

        def extent(i: int) -> tuple[Any, Any]:
            return (min(start + i * step for start, _, step in spans),
                    max(start + i * step + size - 1 for start, size, step in spans))

        lo, hi = extent(0)
        if n > 1 and moving:
            lo_last, hi_last = extent(n - 1)
            size = max(hi - lo, hi_last - lo_last) + 1
            jump = Fraction(lo_last - lo) / (n - 1)
            jump = int(jump) if jump.denominator == 1 else jump
        else:  # one position, or nothing moves: keep the widest moving input's jump for upsampling
            size = hi - lo + 1
            jump = max(spans, key=lambda span: span[1])[2]
        out.append((size, jump, lo))
    return tuple(out)


# --------------------------------------------------------------------------------------------
# Common argument definitions

K = Arg("k", axes(), doc="kernel size")
S1 = Arg("s", axes(), 1, "stride")
D1 = Arg("d", axes(), 1, "dilation")
P_CONV = Arg("p", padding(), 0, "padding: int, per-axis list, valid, same or full")
BIAS = Arg("bias", boolean, True)
OUT = Arg("out", integer(), doc="output channels")


# --------------------------------------------------------------------------------------------
# Convolutions


class ConvFamily(Kind):
    """Shared geometry of the convolutions: a k-window (dilation d) at stride s over padded input.

    Subclasses say how many output channels and groups they have (`channels`). Counts:
      params = out * (C/groups) * prod(k) + out (bias)
      macs   = out_elements * (C/groups) * prod(k)            # one MAC per weight use, bias excluded
      flops  = 2 * macs + out_elements (bias adds)
    Training: it keeps its input (for the weight gradient; the padded copy when the padding is
    uneven, which is a pad before the conv) and its weight; the backward is two convolutions of
    the same size as the forward, one per gradient: 2 * macs each, groups respected, plus one add
    per output element for the bias gradient.
    """

    positional = ("out",)
    aligned = True
    saves = "its input (the padded copy when the padding is uneven) and its weight"
    backward_costs = ("2·MACs", "2·MACs + Y·bias")

    def channels(self, a, c: int) -> tuple[int, int]:
        """(output channels, groups) for input channels c."""
        return a["out"], a["groups"]

    def geometry(self, a, x: Shape):
        c, n = spatial(x, self.name)
        k, s, d = a["k"], a["s"], a["d"]
        pads = resolve_padding(a["p"], n, k, s, d)
        k_eff = tuple(effective(ki, di) for ki, di in zip(k, d))
        return c, n, k_eff, pads

    def shape(self, a, x):
        c, n, k_eff, pads = self.geometry(a, x)
        out, groups = self.channels(a, c)
        check_groups(c, out, groups)
        sizes_ = []
        for i, (ni, ki, si, (left, right)) in enumerate(zip(n, k_eff, a["s"], pads)):
            if ni + left + right < ki:
                kernel = f"{ki} (kernel {a['k'][i]} at dilation {a['d'][i]})" if a["d"][i] > 1 else str(ki)
                raise LayerError(
                    f"kernel {kernel} is larger than the padded input {ni + left + right} "
                    f"({ni} + {left} + {right} padding) on axis {axis_name(i, len(n))}"
                )
            sizes_.append(window_out(ni, ki, si, left, right))
        return (out, *sizes_)

    def fan_in(self, a, c: int) -> int:
        """Weights per filter: (C/groups) * prod(k), the notes' F*F*C (for input channels c)."""
        return named("fan_in", per_group(c, self.channels(a, c)[1]) * prod(a["k"]))

    def params(self, a, x, y):
        # K filters of fan_in weights and a bias each: the notes' K*(F*F*C/g + 1)
        return self.channels(a, x[0])[0] * (self.fan_in(a, x[0]) + (1 if a["bias"] else 0))

    def tensors(self, a, x, y):
        out, groups = self.channels(a, x[0])
        return (out * (x[0] // groups) * prod(a["k"]),) + ((out,) if a["bias"] else ())

    def macs(self, a, x, y):
        return numel(y) * self.fan_in(a, x[0])  # one MAC per weight per output position

    def flops(self, a, x, y):
        return 2 * self.macs(a, x, y) + (numel(y) if a["bias"] else 0)

    def fvcore(self, a, x, y):
        return self.macs(a, x, y)  # one per multiply-add, bias ignored

    def read_input(self, a, x) -> Keep:
        """The input as the convolution reads it: uneven padding is a pad layer before it
        (torch_ops.conv), and the conv keeps the padded copy."""
        c, n, _, pads = self.geometry(a, x)
        if all(left == right for left, right in pads):
            return KEEP_INPUT
        return new(c * prod(ni + left + right for ni, (left, right) in zip(n, pads)), name="padded")

    def saved(self, a, x, y):
        out, groups = self.channels(a, x[0])
        return (self.read_input(a, x), weight(out * (x[0] // groups) * prod(a["k"])))

    # dL/dx: a transposed convolution of the output gradient with the same weights; dL/dw: a
    # convolution of the input with the output gradient: each one multiply-add per weight use,
    # as the forward (groups respected); dL/db: one add per output element.
    def backward_flops(self, a, x, y):
        macs = self.macs(a, x, y)
        return 2 * macs, 2 * macs + (numel(y) if a["bias"] else 0)

    def autocast(self, a, x, device):
        return LOW

    def rf(self, a, x, y, r):
        _, _, k_eff, pads = self.geometry(a, x)
        return rf_window(r, k_eff, a["s"], tuple(left for left, _ in pads))

    def warnings(self, a, x, y):
        _, n, k_eff, pads = self.geometry(a, x)
        notes = uncovered_warnings(self.name, n, k_eff, a["s"], pads, y[1:])
        # Only where the padding really is uneven: a dilated even kernel can span an odd width
        # (k 4, d 2 spans 7), and a strided one may need no padding at all (k 2, s 2 on 8).
        if a["p"] == "same" and any(ke % 2 == 0 and left != right for ke, (left, right) in zip(k_eff, pads)):
            notes += (Note("even-kernel-same", f"even kernel {dims(a['k'])} with 'same' padding pads unevenly: {pads}"),)
        return notes

    def window(self, a, x):
        _, _, _, pads = self.geometry(a, x)
        return tuple(Window(k, s, d, left, right) for k, s, d, (left, right) in zip(a["k"], a["s"], a["d"], pads))

    def regular_equivalent(self, a, x):
        return ("grouped", {**a, "groups": 1}) if a.get("groups", 1) > 1 else None

    def build(self, a, x, y):
        from . import torch_ops

        out, groups = self.channels(a, x[0])
        _, _, _, pads = self.geometry(a, x)
        return torch_ops.conv(len(x) - 1, x[0], out, a["k"], a["s"], pads, a["d"], groups, a["bias"])


@register
class Conv(ConvFamily):
    doc = "convolution (1-D/2-D/3-D, grouped when groups > 1)"
    name = "conv"
    examples = (
        "3x16x16 | conv 8 k3 s2 p1",
        "4x9x11 | conv 6 k=3x2 s=2x1 p=same d=1x2 g2",
        "2x20 | conv 4 k5 p=full bias=false",
        "2x6x7x8 | conv 4 k3 s2 p=same",
    )
    costs = ("out·(C/g)·prod(k) + out·bias", "", "Y·(C/g)·prod(k)", "2·MACs + Y·bias")
    draws = ("conv {c} k{k} s{s} p={p} d{d}",)
    args = (OUT, K, S1, P_CONV, D1, Arg("groups", integer(), 1), BIAS)


@register
class DepthwiseConv(ConvFamily):
    doc = "depthwise: groups = input channels, out = C × multiplier"
    name = "dwconv"
    examples = (
        "8x12x12 | dwconv 3 s2 p1",
        "4x10x10 | dwconv 5 multiplier=3 p=same bias=false",
        "4x30 | dwconv 3 d2",
    )
    costs = ("C·m·prod(k) + C·m·bias", "", "Y·prod(k)", "2·MACs + Y·bias")
    draws = ("dwconv {k} s{s} p={p} multiplier={m}",)
    positional = ("k",)
    args = (K, S1, P_CONV, D1, Arg("multiplier", integer(), 1, "output channels per input channel"), BIAS)

    def channels(self, a, c):
        return c * a["multiplier"], named("g", c)  # groups = C

    def regular_equivalent(self, a, x):
        return "depthwise", {**a, "out": x[0] * a["multiplier"], "groups": 1}


@register
class PointwiseConv(ConvFamily):
    doc = "pointwise 1x1 convolution"
    name = "pwconv"
    examples = ("16x8x8 | pwconv 4", "16x8x8 | pwconv 8 g4 bias=false", "6x5x5x5 | pwconv 3")
    costs = ("out·(C/g) + out·bias", "", "Y·(C/g)", "2·MACs + Y·bias")
    draws = ("pwconv {c}",)
    args = (OUT, BIAS, Arg("groups", integer(), 1))

    def prepare(self, a, nd):
        return {**a, "k": (1,) * nd, "s": (1,) * nd, "d": (1,) * nd, "p": ((0, 0),) * nd}


@register
class SeparableConv(ConvFamily):
    """Depthwise k x k (no bias), then pointwise 1x1 to `out` (with bias), like Keras'
    SeparableConv. Counts are the sum of the two convolutions:
      params = C*prod(k) + out*C + out (bias)
      macs   = C*prod(k)*mid_positions + out*C*out_positions   (mid = out positions: same grid)
    """

    doc = "depthwise k-window (no bias), then pointwise to `out` (with bias), as Keras' SeparableConv"
    name = "sepconv"
    examples = ("8x12x12 | sepconv 16 k3 p1", "4x9x9 | sepconv 6 k3 s2 p=same bias=false")
    costs = ("C·prod(k) + out·C + out·bias", "", "C·prod(k)·P + out·C·P (P: output positions)", "2·MACs + Y·bias")
    draws = ("sepconv {c} k{k} s{s} p={p}",)
    args = (OUT, K, S1, P_CONV, D1, BIAS)
    saves = "its input (padded copy when uneven), the depthwise output C·P, and both weights"
    backward_costs = ("2·C·prod(k)·P (the depthwise input gradient)", "2·MACs + 2·out·C·P + Y·bias")

    def channels(self, a, c):
        return a["out"], 1

    def regular_equivalent(self, a, x):
        return "depthwise-separable", {**a, "groups": 1}

    def params(self, a, x, y):
        c = x[0]
        return c * prod(a["k"]) + a["out"] * c + (a["out"] if a["bias"] else 0)

    def tensors(self, a, x, y):
        return (x[0] * prod(a["k"]), a["out"] * x[0]) + ((a["out"],) if a["bias"] else ())

    def macs(self, a, x, y):
        c, positions = x[0], numel(y[1:])
        return c * prod(a["k"]) * positions + a["out"] * c * positions

    def saved(self, a, x, y):
        c = x[0]
        return (self.read_input(a, x), weight(c * prod(a["k"])), new(c * numel(y[1:])), weight(a["out"] * c))

    def flop_counter_backward(self, a, x, y, input_grad):
        c, positions = x[0], numel(y[1:])
        depthwise, pointwise = c * prod(a["k"]) * positions, a["out"] * c * positions
        return 2 * (depthwise + pointwise) + 2 * pointwise + (2 * depthwise if input_grad else 0)

    # The depthwise input gradient only for the input; both weight gradients, and the pointwise
    # input gradient that the depthwise weights need, always.
    def backward_flops(self, a, x, y):
        c, positions = x[0], numel(y[1:])
        return (2 * c * prod(a["k"]) * positions,
                2 * self.macs(a, x, y) + 2 * a["out"] * c * positions + (numel(y) if a["bias"] else 0))

    def build(self, a, x, y):
        from . import torch_ops

        _, _, _, pads = self.geometry(a, x)
        nd = len(x) - 1
        depthwise = torch_ops.conv(nd, x[0], x[0], a["k"], a["s"], pads, a["d"], x[0], False)
        pointwise = torch_ops.conv(nd, x[0], a["out"], (1,) * nd, (1,) * nd, ((0, 0),) * nd, (1,) * nd, 1, a["bias"])
        return torch_ops.Sequential(depthwise, pointwise)


@register
class TransposedConv(Kind):
    """Transposed convolution (fractionally strided; "deconvolution" in some papers).

      out_size = (in-1)*s - 2p + d*(k-1) + output_padding + 1
      params   = C * (out/groups) * prod(k) + out (bias)
      macs     = in_elements * (out/groups) * prod(k)   # each input value meets each weight once
      flops    = 2 * macs + out_elements (bias adds)
    Counting over input positions is what makes this exact; tools that reuse the forward-conv
    formula over output positions overcount by s^2 (4x at stride 2 in 2-D). Training: it keeps
    its input and weight; the backward is a convolution per gradient, 2 * macs each.
    """

    doc = "transposed convolution: out (in-1)·s − 2p + d·(k−1) + output_padding + 1"
    name = "deconv"
    examples = (
        "8x5x5 | deconv 4 k3 s2 p1 output_padding=1",
        "4x6 | deconv 6 k4 s2 p1 g2",
        "4x3x4x5 | deconv 2 k3 s2 bias=false",
        "2x5x5 | deconv 2 k3 d2 s1 output_padding=1",
    )
    costs = ("C·(out/g)·prod(k) + out·bias", "", "**X**·(out/g)·prod(k)", "2·MACs + Y·bias")
    saves = "its input and its weight"
    backward_costs = ("2·MACs", "2·MACs + Y·bias")
    draws = ("deconv {c} k{k} s{s} p{pp} output_padding={op}",)
    positional = ("out",)
    aligned = True
    args = (OUT, K, S1, Arg("p", symmetric_padding, 0), Arg("output_padding", axes(0), 0), D1,
            Arg("groups", integer(), 1), BIAS)

    def shape(self, a, x):
        c, n = spatial(x, self.name)
        check_groups(c, a["out"], a["groups"])
        sizes_ = []
        for i, (ni, ki, si, pi, oi, di) in enumerate(zip(n, a["k"], a["s"], a["p"], a["output_padding"], a["d"])):
            if oi >= max(si, di):
                raise LayerError(f"output_padding {oi} must be smaller than either stride {si} or dilation {di}")
            size = (ni - 1) * si - 2 * pi + di * (ki - 1) + oi + 1
            if size < 1:
                raise LayerError(f"output size {size} on axis {axis_name(i, len(n))} is below 1: padding {pi} is too large")
            sizes_.append(size)
        return (a["out"], *sizes_)

    def adjoint_padding(self, k: int, s: int, p: str | int) -> tuple[int, int]:
        """(p, output_padding) on one axis of the transposed conv that is the adjoint of a conv
        with kernel k, stride s and padding p (an int on each side, or valid | same | full):
        valid is 0, full k-1, and 'same', whose conv maps n to ceil(n/s), maps n back to n·s,
        which takes 2p - output_padding = k - s. LayerError when that needs an output_padding
        of s or more, which the shape rule refuses at dilation 1."""
        if isinstance(p, int):
            return p, 0
        if p == "valid":
            return 0, 0
        if p == "full":
            return k - 1, 0
        total = k - s
        pad = max(-(-total // 2), 0)
        extra = 2 * pad - total
        if extra >= s:
            raise LayerError(f"'same' at k={k}, s={s} needs output_padding {extra}, and a transposed conv "
                             f"takes output_padding only below its stride {s}")
        return pad, extra

    def params(self, a, x, y):
        return x[0] * per_group(a["out"], a["groups"]) * prod(a["k"]) + (a["out"] if a["bias"] else 0)

    def tensors(self, a, x, y):
        return (x[0] * (a["out"] // a["groups"]) * prod(a["k"]),) + ((a["out"],) if a["bias"] else ())

    def macs(self, a, x, y):
        return numel(x) * per_group(a["out"], a["groups"]) * prod(a["k"])

    def flops(self, a, x, y):
        return 2 * self.macs(a, x, y) + (numel(y) if a["bias"] else 0)

    def fvcore(self, a, x, y):
        return self.macs(a, x, y)  # fvcore also counts a transposed conv over input positions

    def saved(self, a, x, y):
        return (KEEP_INPUT, weight(x[0] * (a["out"] // a["groups"]) * prod(a["k"])))

    def backward_flops(self, a, x, y):
        macs = self.macs(a, x, y)
        return 2 * macs, 2 * macs + (numel(y) if a["bias"] else 0)

    def autocast(self, a, x, device):
        return LOW

    def rf(self, a, x, y, r):
        return rf_transposed(r, a["k"], a["s"], a["p"], a["d"])

    def zero_stuffed(self, a, x):
        # n inputs with s - 1 zeros between neighbours: (n - 1)*s + 1 positions; a stride-1
        # window of span d*(k - 1) + 1 over them, padded by span - 1 - p (a crop where negative),
        # output_padding more on the right, gives the output size above.
        out = []
        for ni, ki, si, pi, oi, di in zip(x[1:], a["k"], a["s"], a["p"], a["output_padding"], a["d"]):
            span = effective(ki, di)
            out.append(((ni - 1) * si + 1, span - 1 - pi, span - 1 - pi + oi, span))
        return tuple(out)

    def build(self, a, x, y):
        from . import torch_ops

        return torch_ops.deconv(len(x) - 1, x[0], a["out"], a["k"], a["s"], a["p"], a["output_padding"],
                                a["groups"], a["d"], a["bias"])


def fft_flops(n: int) -> float:
    """Real-input FFT of n points: 2.5 n log2 n flops (half the classic 5 n log2 n complex count)."""
    import math

    return 2.5 * n * math.log2(n) if n > 1 else 0.0


@register
class FftConv(ConvFamily):
    """Convolution through the frequency domain (the course notes' "convolution by frequency
    domain conversion"): pad, FFT the input and the kernels, multiply spectra, inverse FFT.

    FFT size per axis: the padded input length n' = n + p_left + p_right, which is enough for
    the valid outputs (circular wrap-around only touches the positions cropped away). With
    N = prod(n') points and M = prod(n'[:-1]) * (n'[-1] // 2 + 1) complex bins of a real FFT:
      params = as conv (out*C*prod(k) + out)
      macs   = 4 * out * C * M        # a complex multiply-accumulate is 4 real MACs
      flops  = (C + out*C + out) * 2.5 N log2 N     # FFTs of input, kernels, inverse per output
               + 8 * out * C * M      # complex multiply (6) and accumulate (2)
               + out_elements (bias)
    Stride and dilation are 1 and there are no groups: the FFT computes every position anyway.
    Training (as torch_ops.FftConv runs it): the padded input and padded kernels, and both spectra
    (complex), are kept; the backward transforms the output gradient (out FFTs), multiplies it
    with each spectrum (8 * out * C * M each) and transforms back (C inverse FFTs for the input,
    out * C for the kernels). Autocast has no rule for FFTs, and PyTorch's CPU FFT refuses
    bfloat16.
    """

    doc = "the same convolution (stride 1) computed with FFTs; its costs are the FFT's (docs/costs.md)"
    name = "fftconv"
    examples = (
        "3x12x12 | fftconv 8 k3 p1",
        "2x9x10 | fftconv 4 k=3x2 p=same bias=false",
        "2x17 | fftconv 3 k5",
        "2x5x6x7 | fftconv 2 k3 p=full",
    )
    costs = (
        "as `conv`",
        "",
        "4·out·C·M (a complex MAC is 4 real ones)",
        "(C + out·C + out)·2.5·N·log2 N + 8·out·C·M + Y·bias",
    )
    draws = ("fftconv {c} k{k} p={p}",)
    args = (OUT, K, P_CONV, BIAS)
    saves = "the padded input C·N and kernels out·C·N (not per sample), and both spectra (complex: C·M, out·C·M)"
    backward_costs = ("C·2.5·N·log2 N + 8·out·C·M", "(out + out·C)·2.5·N·log2 N + 8·out·C·M + Y·bias")

    def prepare(self, a, nd):
        return {**a, "s": (1,) * nd, "d": (1,) * nd, "groups": 1}

    def fft_size(self, a, x) -> tuple[int, ...]:
        _, n, _, pads = self.geometry(a, x)
        return tuple(ni + left + right for ni, (left, right) in zip(n, pads))

    def bins(self, a, x) -> int:
        size = self.fft_size(a, x)
        return prod(size[:-1]) * (size[-1] // 2 + 1)

    def macs(self, a, x, y):
        return 4 * a["out"] * x[0] * self.bins(a, x)

    def flops(self, a, x, y):
        n = prod(self.fft_size(a, x))
        transforms = x[0] + a["out"] * x[0] + a["out"]
        return round(transforms * fft_flops(n)) + 8 * a["out"] * x[0] * self.bins(a, x) + (numel(y) if a["bias"] else 0)

    def fvcore(self, a, x, y):
        return 0  # fvcore has no rule for FFTs or complex products

    def flop_counter(self, a, x, y):
        return 0  # nor has FlopCounterMode

    def flop_counter_backward(self, a, x, y, input_grad):
        return 0

    def saved(self, a, x, y):
        n, bins = prod(self.fft_size(a, x)), self.bins(a, x)
        return (new(x[0] * n), new(a["out"] * x[0] * n, batched=False),
                new(a["out"] * x[0] * bins, COMPLEX, batched=False), new(x[0] * bins, COMPLEX))

    def backward_flops(self, a, x, y):
        n, bins, c, out = prod(self.fft_size(a, x)), self.bins(a, x), x[0], a["out"]
        return (round(c * fft_flops(n)) + 8 * out * c * bins,
                round((out + out * c) * fft_flops(n)) + 8 * out * c * bins + (numel(y) if a["bias"] else 0))

    def autocast(self, a, x, device):
        return SAME  # no autocast rule for FFTs

    def scratch(self, a, x, y):
        # the product of the spectra before its sum over the input channels, in the forward and
        # again in the backward, and the conjugated kernels' copy (not per sample)
        product = new(a["out"] * x[0] * self.bins(a, x), COMPLEX)
        conjugate = new(a["out"] * x[0] * self.bins(a, x), COMPLEX, batched=False)
        return (product, conjugate), (product,)

    def build(self, a, x, y):
        from . import torch_ops

        _, _, _, pads = self.geometry(a, x)
        return torch_ops.FftConv(len(x) - 1, x[0], a["out"], a["k"], pads, a["bias"])


@register
class DeformConv(ConvFamily):
    """Deformable convolution v1 (Dai et al., "Deformable Convolutional Networks", ICCV 2017) as
    torchvision.ops.DeformConv2d is used: an offset conv (same k, s, p, d, no groups, with bias)
    predicts 2*offset_groups*K offsets per output position (K = kh*kw, P = output positions), then
    the main conv reads each of its taps bilinearly at the offset position (0 outside the input).
      params = out*(C/g)*K + out (bias)  +  (2*og*K)*C*K + 2*og*K    # main conv + offset conv
      macs   = P*out*(C/g)*K  +  P*(2*og*K)*C*K                      # main conv + offset conv
      flops  = 2*macs + out*P (bias) + 2*og*K*P (offset bias)
               + 10 per sampling point (og*K*P of them: 2 adds to place it, 2 subtracts for the
                 fractions, 2 for their complements, 4 multiplies for the corner weights)
               + 7 per sampled value (C*K*P of them: 4 multiplies by the weights, 3 adds)
    Floors, bound checks and index arithmetic are integer work, not counted. 2-D only, as
    torchvision's. The receptive field reported is the nominal one, at zero offsets: the offsets
    are data, and can move the samples anywhere.

    Training, as torchvision's kernel does it (its autograd function saves input, weight, offset,
    mask and bias; without a mask, torchvision passes one zero per sample): the input, the offsets
    (O*P per sample), the mask, and the offset conv's input (the same tensor) and weight. The
    backward: the columns' gradient (2 * main MACs) scattered back through the bilinear sampling
    (7 per sampled value) for the input, the offset conv's input gradient (2 * offset MACs); always
    both weight gradients (2 * MACs), the biases (Y + P*O), and the offsets' gradient (14 per
    sampled value: the sampled value's derivative in both coordinates). convcalc's own PyTorch
    builder is a functional stand-in for torchvision's kernel (torch_ops.deform_conv2d) that keeps
    every intermediate of its sampling, so its saved tensors are not the kernel's.
    """

    doc = ("deformable convolution v1 (Dai et al. 2017), 2-D only: an offset conv (same `k`, `s`, `p`, `d`, with "
           "bias) predicts 2·`offset_groups`·prod(k) offsets per output position, and the convolution reads each "
           "tap bilinearly at its offset position (0 outside the input), as torchvision's `DeformConv2d`; input "
           "channels share offsets in `offset_groups` groups. Output shape as `conv`")
    name = "deform_conv"
    examples = (
        "8x16x16 | deform_conv 8 k3 p1",
        "4x9x9 | deform_conv 6 k3 s2 p1 bias=false",
        "4x11x10 | deform_conv 4 k3 d2 p2",
        "4x8x8 | deform_conv 6 k3 p1 g2",
        "4x8x7 | deform_conv 4 k=3x2 p=same offset_groups=2",
        "6x9x9 | deform_conv 4 k3 s2 d2 g2 offset_groups=3",
    )
    costs = (
        "out·(C/g)·prod(k) + out·bias + O·C·prod(k) + O (O = 2·og·prod(k) offset channels)",
        "",
        "P·out·(C/g)·prod(k) + P·O·C·prod(k) (main conv + offset conv; P: output positions)",
        "2·MACs + Y·bias + P·O + 10·og·prod(k)·P + 7·C·prod(k)·P (below)",
    )
    draws = ("deform_conv {c} k{k} s{s} p={p} d{d}",)
    aligned = False  # torchvision's kernel is no tensor-core matrix multiply
    saves = ("as torchvision's kernel: its input, the offsets O·P, a one-per-sample mask and both weights "
             "(convcalc's PyTorch stand-in keeps more)")
    backward_costs = ("2·MACs + 7·C·prod(k)·P", "2·MACs + Y·bias + P·O + 14·C·prod(k)·P")
    args = (OUT, K, S1, P_CONV, D1, Arg("groups", integer(), 1), Arg("offset_groups", integer(), 1), BIAS)

    def prepare(self, a, nd):
        if nd != 2:
            raise LayerError(f"deform_conv is 2-D only, as torchvision's DeformConv2d: it needs an input "
                             f"[C, H, W], not a {'flat' if nd == 0 else f'{nd}-D'} one")
        return a

    def shape(self, a, x):
        if x[0] % a["offset_groups"]:
            raise LayerError(f"input channels {x[0]} are not divisible by offset_groups {a['offset_groups']}")
        return super().shape(a, x)

    def offset_channels(self, a) -> int:
        return 2 * a["offset_groups"] * prod(a["k"])

    def params(self, a, x, y):
        off = self.offset_channels(a)
        return super().params(a, x, y) + off * x[0] * prod(a["k"]) + off

    def tensors(self, a, x, y):
        off = self.offset_channels(a)
        return super().tensors(a, x, y) + (off * x[0] * prod(a["k"]), off)  # its own, then the offset conv's

    def macs(self, a, x, y):
        return super().macs(a, x, y) + numel(y[1:]) * self.offset_channels(a) * x[0] * prod(a["k"])

    def flops(self, a, x, y):
        positions, taps = numel(y[1:]), prod(a["k"])
        points = a["offset_groups"] * taps * positions
        samples = x[0] * taps * positions
        return (2 * self.macs(a, x, y) + (numel(y) if a["bias"] else 0) + self.offset_channels(a) * positions
                + 10 * points + 7 * samples)

    def fvcore(self, a, x, y):
        # the offset conv (aten::_convolution) and the main product (aten::bmm), one per multiply-add;
        # the sampling's gather and floor are ignored, its arithmetic unsupported
        return self.macs(a, x, y)

    def flop_counter_backward(self, a, x, y, input_grad):
        # convcalc's stand-in builder: the offset conv's gradients, and the product of the columns
        # and the weight (both its gradients: the columns' carries the offsets' gradient)
        offset = numel(y[1:]) * self.offset_channels(a) * x[0] * prod(a["k"])
        main = self.macs(a, x, y) - offset
        return 2 * offset * (2 if input_grad else 1) + 4 * main

    def saved(self, a, x, y):
        off, positions, taps = self.offset_channels(a), numel(y[1:]), prod(a["k"])
        return (KEEP_INPUT, weight(off * x[0] * taps), new(off * positions), new(1),
                weight(a["out"] * (x[0] // a["groups"]) * taps))

    def backward_flops(self, a, x, y):
        macs, samples = self.macs(a, x, y), x[0] * prod(a["k"]) * numel(y[1:])
        return (2 * macs + 7 * samples,
                2 * macs + (numel(y) if a["bias"] else 0) + self.offset_channels(a) * numel(y[1:]) + 14 * samples)

    def autocast(self, a, x, device):
        return FLOAT32  # torchvision registers deform_conv2d to run in float32 under autocast

    def build(self, a, x, y):
        from . import torch_ops

        _, _, _, pads = self.geometry(a, x)
        return torch_ops.DeformConv2d(x[0], a["out"], a["k"], a["s"], pads, a["d"], a["groups"],
                                      a["offset_groups"], a["bias"])


# --------------------------------------------------------------------------------------------
# Pooling


class Pool(Kind):
    """Sliding-window pools. Output size follows PyTorch exactly (`pool_out`), padding is
    symmetric and at most half the kernel (PyTorch's rule), stride defaults to the kernel."""

    positional = ("k",)
    dilated = False
    averaging_3d = False  # PyTorch's 3-D average pool (and LPPool3d, built on it) needs input >= kernel

    def prepare(self, a, nd):
        return {**a, "s": a["s"] if a["s"] is not None else a["k"]}

    def dilation(self, a) -> Shape:
        return a["d"] if self.dilated else (1,) * len(a["k"])

    def shape(self, a, x):
        c, n = spatial(x, self.name)
        out = []
        d = self.dilation(a)
        for i, (ni, ki, si, pi, di) in enumerate(zip(n, a["k"], a["s"], a["p"], d)):
            if pi > ki // 2:
                raise LayerError(f"padding {pi} is more than half the kernel {ki} on axis {axis_name(i, len(n))}")
            size = pool_out(ni, ki, si, pi, di, a.get("ceil_mode", False))
            if size < 1:
                raise LayerError(
                    f"output size {size} on axis {axis_name(i, len(n))} is below 1: kernel "
                    f"{effective(ki, di)} does not fit the input {ni} padded by {pi}"
                )
            out.append(size)
        if self.averaging_3d and len(n) == 3:
            for i, (ni, ki) in enumerate(zip(n, a["k"])):
                if ni < ki:
                    raise LayerError(f"input {ni} is smaller than the kernel {ki} on axis {axis_name(i, 3)}")
        return (c, *out)

    def rf(self, a, x, y, r):
        k_eff = tuple(effective(k, d) for k, d in zip(a["k"], self.dilation(a)))
        return rf_window(r, k_eff, a["s"], a["p"])

    def window(self, a, x):
        return tuple(Window(k, s, d, p, p) for k, s, d, p in zip(a["k"], a["s"], self.dilation(a), a["p"]))

    def warnings(self, a, x, y):
        if a.get("ceil_mode"):
            return ()
        k_eff = tuple(effective(k, d) for k, d in zip(a["k"], self.dilation(a)))
        return uncovered_warnings(self.name, x[1:], k_eff, a["s"], tuple((p, p) for p in a["p"]), y[1:])


POOL_ARGS = (K, Arg("s", axes(), None, "stride (default: k)"), Arg("p", symmetric_padding, 0),)
CEIL = Arg("ceil_mode", boolean, False, "round the output size up (PyTorch's rule)")


@register
class MaxPool(Pool):
    doc = "max pooling; `s` defaults to `k`"
    name = "maxpool"
    examples = (
        "3x9x9 | maxpool 2",
        "3x9x9 | maxpool k3 s2 p1 ceil_mode=true",
        "3x20 | maxpool 3 d2",
        "2x7x7x7 | maxpool 2 ceil_mode=true",
    )
    costs = ("", "", "", "Y·(prod(k) − 1) compares")
    saves = "its input and the int64 position of each maximum (Y)"
    backward_costs = ("Y (each gradient added at its maximum)", "")
    draws = ("maxpool {k} s{s} p{pp}",)
    dilated = True
    args = POOL_ARGS + (D1, CEIL)

    # per output: prod(k) - 1 comparisons
    def flops(self, a, x, y):
        return numel(y) * (prod(a["k"]) - 1)

    # max_pool*_with_indices saves its input and the indices (int64), which maxunpool may reuse
    def saved(self, a, x, y):
        return KEEP_INPUT, new(numel(y), INT64, name="indices")

    def backward_flops(self, a, x, y):
        return numel(y), 0  # each output gradient added at its maximum's position

    def autocast(self, a, x, device):
        return FLOAT32 if device == "cpu" and len(x) == 4 else SAME  # max_pool3d is on the CPU's float32 list

    def build(self, a, x, y):
        from . import torch_ops

        return torch_ops.max_pool(len(x) - 1, a["k"], a["s"], a["p"], a["d"], a["ceil_mode"])


@register
class AvgPool(Pool):
    doc = "average pooling; `s` defaults to `k`"
    name = "avgpool"
    examples = (
        "3x9x9 | avgpool 3 s2 p1",
        "3x9x9 | avgpool 2 ceil_mode=true count_include_pad=false",
        "3x20 | avgpool 4",
        "2x6x7x8 | avgpool 2",
    )
    costs = ("", "", "", "Y·prod(k) (prod(k) − 1 adds, 1 divide)")
    saves = "its input"
    backward_costs = ("Y·prod(k) (each output gradient, divided, added over its window)", "")
    draws = ("avgpool {k} s{s} p{pp} ceil_mode=true",)
    args = POOL_ARGS + (CEIL, Arg("count_include_pad", boolean, True))
    averaging_3d = True

    # per output: prod(k) - 1 adds and 1 divide
    def flops(self, a, x, y):
        return numel(y) * prod(a["k"])

    def saved(self, a, x, y):
        return (KEEP_INPUT,)  # avg_pool*d's backward reads its input (for the shape checks and the padding)

    def backward_flops(self, a, x, y):
        return numel(y) * prod(a["k"]), 0

    def autocast(self, a, x, device):
        return FLOAT32 if device == "cpu" and len(x) == 4 else SAME  # avg_pool3d: the CPU's float32 list

    def build(self, a, x, y):
        from . import torch_ops

        return torch_ops.avg_pool(len(x) - 1, a["k"], a["s"], a["p"], a["ceil_mode"], a["count_include_pad"])


@register
class LpPool(Pool):
    doc = "power-average pooling (`norm: 2` is L2 pooling); `s` defaults to `k`"
    name = "lppool"
    examples = ("3x9x9 | lppool 2 3", "3x20 | lppool 3 k2", "2x4x6x6 | lppool 2 2")
    costs = ("", "", "", "X (powers) + Y·(prod(k) − 1) (sums) + Y (roots)")
    saves = "its input, its powers X, and 4·Y of F.lp_pool's tail (sign, relu, product, root)"
    backward_costs = ("3·X + Y·prod(k) + 6·Y", "")
    draws = ("lppool 2 {k} s{s}",)
    averaging_3d = True
    positional = ("norm", "k")
    args = (Arg("norm", number(), doc="the power p"), K, Arg("s", axes(), None, "stride (default: k)"), CEIL)

    def prepare(self, a, nd):
        a = super().prepare(a, nd)
        return {**a, "p": (0,) * len(a["k"])}

    # x^p once per input element, prod(k) - 1 adds per window, one root per output
    def flops(self, a, x, y):
        return numel(x) + numel(y) * (prod(a["k"]) - 1) + numel(y)

    # F.lp_pool*d: avg_pool(x.pow(p)), then sign(out) * relu(abs(out)) * prod(k), then pow(1/p):
    # pow keeps x, avg_pool keeps x^p, abs keeps out, relu its result, the product both factors,
    # the root its input and result (which is the product): 4 distinct Y-sized tensors.
    def saved(self, a, x, y):
        return KEEP_INPUT, new(numel(x)), new(4 * numel(y))

    # per output: the root's derivative (3), the sign-relu product (2), the scale (1); the
    # average's gradient over its window (Y * prod(k)); per input the power's derivative (3)
    def backward_flops(self, a, x, y):
        return 3 * numel(x) + numel(y) * prod(a["k"]) + 6 * numel(y), 0

    def scratch(self, a, x, y):
        # the backward's busiest moment, measured on F.lp_pool2d/3d's chain: the pool's input
        # gradient, the power's derivative and their product (X each, one counted as the input
        # gradient), beside the Y-sized gradients of its tail (4 in 2-D, 3 in 3-D; lp_pool1d has none)
        if len(x) == 2:
            return (), ()
        return (), (new(numel(x) + (4 if len(x) == 3 else 3) * numel(y)),)

    def autocast(self, a, x, device):
        if device == "cpu":
            return SAME if len(x) < 4 else FLOAT32  # avg_pool3d: the CPU's float32 list
        return FLOAT32  # pow is on CUDA's float32 list

    def build(self, a, x, y):
        from . import torch_ops

        return torch_ops.lp_pool(len(x) - 1, a["norm"], a["k"], a["s"], a["ceil_mode"])


@register
class GlobalAvgPool(Kind):
    doc = "global average pooling: [C, …] → [C, 1, …]"
    name = "gap"
    examples = ("8x7x7 | gap", "8x10 | gap", "4x3x5x5 | gap")
    costs = ("", "", "", "X")
    saves = "nothing (PyTorch computes it as a mean, whose gradient needs only the shape)"
    backward_costs = ("X (each input gets its channel's gradient over the positions)", "")
    draws = ("gap",)

    def shape(self, a, x):
        c, n = spatial(x, self.name)
        return (c,) + (1,) * len(n)

    # per channel: (positions - 1) adds and 1 divide
    def flops(self, a, x, y):
        return numel(x)

    def saved(self, a, x, y):
        return ()  # adaptive_avg_pool to size 1 is a mean: its backward needs only the shape

    def backward_flops(self, a, x, y):
        return numel(x), 0

    def autocast(self, a, x, device):
        return FLOAT32 if device == "cpu" and len(x) == 4 else SAME  # adaptive_avg_pool3d: CPU float32 list

    def fvcore(self, a, x, y):
        return numel(x) if len(x) == 3 else 0  # fvcore handles adaptive_avg_pool2d only: 1 per input

    def rf(self, a, x, y, r):
        return rf_collapse(r, x[1:])

    def sees_all(self, a, x, y):
        return spread(x[1:])

    def build(self, a, x, y):
        from . import torch_ops

        return torch_ops.adaptive_avg_pool(len(x) - 1, (1,) * (len(x) - 1))


def adaptive_windows(n: int, out: int) -> tuple[int, int]:
    """(sum of window sizes, largest window) of PyTorch's adaptive pooling on one axis.

    Window i is [floor(i*n/out), ceil((i+1)*n/out)). Their sizes sum to n + out - gcd(n, out)
    (each step overlaps where i*n/out is not whole). The largest is n/out when out divides n,
    else floor(n/out) + 2 when some window straddles two fractional ends (gcd < n mod out),
    else floor(n/out) + 1.
    """
    g = gcd(n, out)
    total = n + out - g
    r = n % out
    if r == 0:
        largest = n // out
    else:
        largest = n // out + (2 if g < r else 1)
    return total, largest


class AdaptivePool(Kind):
    positional = ("size",)
    args = (Arg("size", sizes, doc="output size per axis (null keeps the input's)"),)

    def shape(self, a, x):
        c, n = spatial(x, self.name)
        return (c, *(ni if si is None else si for ni, si in zip(n, a["size"])))

    def rf(self, a, x, y, r):
        out = []
        for (size, jump, start), ni, oi in zip(r, x[1:], y[1:]):
            if oi == 1 < ni:  # pooled whole, as gap: one position's field, no longer moving
                out.append((size, 0, start))
                continue
            largest = adaptive_windows(ni, oi)[1]
            step = Fraction(ni, oi)
            out.append((size + (largest - 1) * jump, jump * (step if step.denominator > 1 else int(step)), start))
        return tuple(out)

    def sees_all(self, a, x, y):
        return any(oi == 1 < ni for ni, oi in zip(x[1:], y[1:]))

    def window_sum(self, x, y) -> int:
        """Sum over output positions of the window size (product over axes)."""
        return prod(adaptive_windows(ni, oi)[0] for ni, oi in zip(x[1:], y[1:]))


@register
class AdaptiveAvgPool(AdaptivePool):
    doc = "adaptive average pooling to a fixed `size` per axis (`null` keeps the input's)"
    name = "adaptive_avgpool"
    examples = ("8x7x7 | adaptive_avgpool 3", "8x10 | adaptive_avgpool 4", "4x5x6x7 | adaptive_avgpool 2")
    costs = ("", "", "", "C·∏ over axes of (n + o − gcd(n, o)) (the sum of window sizes)")
    saves = "its input; nothing when every output size is 1 (a mean)"
    backward_costs = ("as its FLOPs (each output gradient, divided, added over its window)", "")
    draws = ("adaptive_avgpool {k}",)

    # per output: window - 1 adds and 1 divide, i.e. the window size
    def flops(self, a, x, y):
        return x[0] * self.window_sum(x, y)

    def saved(self, a, x, y):
        return () if all(o == 1 for o in y[1:]) else (KEEP_INPUT,)  # to size 1 PyTorch takes a mean

    def backward_flops(self, a, x, y):
        return self.flops(a, x, y), 0

    def autocast(self, a, x, device):
        return FLOAT32 if device == "cpu" and len(x) == 4 else SAME  # adaptive_avg_pool3d: CPU float32 list

    def fvcore(self, a, x, y):
        return numel(x) if len(x) == 3 else 0  # fvcore handles adaptive_avg_pool2d only: 1 per input

    def build(self, a, x, y):
        from . import torch_ops

        return torch_ops.adaptive_avg_pool(len(x) - 1, a["size"])


@register
class AdaptiveMaxPool(AdaptivePool):
    doc = "adaptive max pooling to a fixed `size` per axis (`null` keeps the input's)"
    name = "adaptive_maxpool"
    examples = ("8x7x7 | adaptive_maxpool size=3,null", "8x10 | adaptive_maxpool 3")
    costs = ("", "", "", "the same minus Y")
    saves = "its input and the int64 position of each maximum (Y)"
    backward_costs = ("Y", "")
    draws = ("adaptive_maxpool {k}",)

    # per output: window - 1 comparisons
    def flops(self, a, x, y):
        return x[0] * self.window_sum(x, y) - numel(y)

    def saved(self, a, x, y):
        return KEEP_INPUT, new(numel(y), INT64)

    def backward_flops(self, a, x, y):
        return numel(y), 0

    def build(self, a, x, y):
        from . import torch_ops

        return torch_ops.adaptive_max_pool(len(x) - 1, a["size"])


# --------------------------------------------------------------------------------------------
# Resampling


@register
class Upsample(Kind):
    """Resize by `scale` (output floor(in*scale), as PyTorch) or to `size`.

    `bilinear` means linear interpolation along every spatial axis (PyTorch's linear, bilinear
    or trilinear by rank). FLOPs per output element: nearest 0 (a copy); linear 3 per lerp
    (sub, mul, add) and 2^nd - 1 lerps: 3 in 1-D, 9 in 2-D, 21 in 3-D. Index and weight
    computation, shared along an axis, is not counted."""

    doc = ("resize by `scale` or to `size` (give one); `mode` nearest or bilinear, which is linear interpolation "
           "on every axis (linear/bilinear/trilinear)")
    name = "upsample"
    examples = (
        "3x5x5 | upsample 2",
        "3x5x5 | upsample 1.5 mode=bilinear",
        "3x6 | upsample size=10 mode=bilinear",
        "2x3x4x4 | upsample 2 mode=bilinear align_corners=true",
    )
    costs = (
        "",
        "",
        "",
        "nearest: 0 (a copy); linear: Y·3·(2^nd − 1): 3 flops per lerp, 1/3/7 lerps in 1-D/2-D/3-D",
    )
    saves = "nothing (its backward needs only the sizes)"
    backward_costs = ("nearest: Y adds; linear: 2·Y·2^nd (a weight and an add per corner)", "")
    draws = ("upsample {s} mode={mode}",)
    positional = ("scale",)
    args = (Arg("scale", scales, None), Arg("size", axes(), None),
            Arg("mode", choice("nearest", "bilinear", "linear", "trilinear"), "nearest"),
            Arg("align_corners", boolean, False))

    def prepare(self, a, nd):
        if (a["scale"] is None) == (a["size"] is None):
            raise LayerError("upsample takes exactly one of scale and size")
        if a["align_corners"] and a["mode"] == "nearest":
            raise LayerError("align_corners only applies to linear interpolation modes")
        return a

    def shape(self, a, x):
        c, n = spatial(x, self.name)
        if a["size"] is not None:
            return (c, *a["size"])
        import math

        for ni, si in zip(n, a["scale"]):
            if not float(ni) * float(si) <= limits.MAX_SIZE:  # also catches inf: 1e308 * 8
                raise LayerError(f"scale {si} takes an axis of {ni} beyond the size limit of {limits.MAX_SIZE} (2^48)")
        out = tuple(math.floor(ni * si) for ni, si in zip(n, a["scale"]))  # exact: both are at most 2^48
        if any(o < 1 for o in out):
            raise LayerError(f"output size {dims(out)} is below 1")
        return (c, *out)

    def flops(self, a, x, y):
        if a["mode"] == "nearest":
            return 0
        return numel(y) * 3 * (2 ** (len(x) - 1) - 1)

    def saved(self, a, x, y):
        return ()

    # each output gradient is added to the input it copied (nearest), or weighted and added to
    # the 2^nd inputs it interpolated (linear)
    def backward_flops(self, a, x, y):
        return (numel(y) if a["mode"] == "nearest" else 2 * numel(y) * 2 ** (len(x) - 1)), 0

    def fvcore(self, a, x, y):
        if len(x) != 3:
            return 0  # fvcore has rules for the 2-D upsampling ops only
        return numel(y) * (1 if a["mode"] == "nearest" else 4)

    def rf(self, a, x, y, r):
        # Each output reads the input position it maps to (nearest) or the two around it (linear).
        extra = 0 if a["mode"] == "nearest" else 1
        return tuple((size + extra * jump, jump * Fraction(ni, oi), start)
                     for (size, jump, start), ni, oi in zip(r, x[1:], y[1:]))

    def build(self, a, x, y):
        from . import torch_ops

        return torch_ops.upsample(len(x) - 1, a["size"], a["scale"], a["mode"], a["align_corners"])


@register
class MaxUnpool(Kind):
    """Inverse of max pooling: scatter each value to its window (output (in-1)*s - 2p + k).

    Takes its positions from `indices` (the name of a maxpool with the same k, s, p) when given;
    without it, each value goes to its window's first position (a "bed of nails")."""

    doc = ("max unpooling: out (in−1)·s − 2p + k; `s` defaults to `k`. `indices:` names the maxpool whose "
           "positions to use; without it each value goes to its window's first position (\"bed of nails\")")
    name = "maxunpool"
    examples = (
        "3x4x4 | maxunpool 2",
        "3x8x8 | maxpool 2 name=p | relu | maxunpool 2 indices=p",
        "3x5 | maxunpool 3 s2 p1",
    )
    costs = ("", "", "", "0 (a scatter)")
    saves = "the int64 positions: the pool's (`indices:`), kept once, or its own (X)"
    backward_costs = ("0 (a gather)", "")
    draws = ("maxunpool {k} s{s}",)
    positional = ("k",)
    args = (K, Arg("s", axes(), None, "stride (default: k)"), Arg("p", symmetric_padding, 0),
            Arg("indices", text, None, "name of the maxpool whose argmax positions to use"))
    side_inputs = ("indices",)

    def check_sides(self, a, x, sides):
        pool = sides["indices"]
        if pool.kind != "maxpool":
            raise LayerError(f"indices must name a maxpool, '{a['indices']}' is a {pool.kind}")
        if (pool.args["k"], pool.args["s"], pool.args["p"]) != (a["k"], a["s"], a["p"]):
            raise LayerError(f"k, s and p must match those of the maxpool '{a['indices']}'")
        if pool.shape != x:
            raise LayerError(f"the input must have the shape of the maxpool '{a['indices']}' output")

    def side_source(self, module):
        module.return_indices = True  # the pool also returns where each maximum was

    def prepare(self, a, nd):
        return {**a, "s": a["s"] if a["s"] is not None else a["k"]}

    def shape(self, a, x):
        c, n = spatial(x, self.name)
        out = tuple((ni - 1) * si - 2 * pi + ki for ni, si, pi, ki in zip(n, a["s"], a["p"], a["k"]))
        if any(o < 1 for o in out):
            raise LayerError(f"output size {dims(out)} is below 1")
        return (c, *out)

    def flops(self, a, x, y):
        return 0  # a scatter: no arithmetic

    # max_unpool*d's backward gathers with the indices: the pool's, or the bed of nails' own
    def saved(self, a, x, y):
        if a["indices"]:
            return (Keep(SIDE, name="indices"),)
        return (new(numel(x), INT64),)

    def backward_flops(self, a, x, y):
        return 0, 0

    def scratch(self, a, x, y):
        # without a pool's indices, torch_ops.MaxUnpool builds them: a position grid over the input's
        # positions and the last axis's offsets (int64, not per sample) before the expanded copy
        if a["indices"]:
            return (), ()
        return (new(numel(x[1:]) + x[-1], INT64, batched=False),), ()

    def autocast(self, a, x, device):
        return FLOAT32 if device == "cpu" else SAME  # max_unpool2d/3d: the CPU's float32 list

    def rf(self, a, x, y, r):
        return rf_transposed(r, a["k"], a["s"], a["p"], (1,) * len(a["k"]))

    def zero_stuffed(self, a, x):
        # as a transposed convolution with dilation 1 and no output padding: each value lands in
        # a k-window, windows s apart
        return tuple(((ni - 1) * si + 1, ki - 1 - pi, ki - 1 - pi, ki)
                     for ni, ki, si, pi in zip(x[1:], a["k"], a["s"], a["p"]))

    def build(self, a, x, y):
        from . import torch_ops

        return torch_ops.MaxUnpool(len(x) - 1, a["k"], a["s"], a["p"])


# --------------------------------------------------------------------------------------------
# Dense, reshaping and lookup layers


@register
class Linear(Kind):
    """Fully connected: params F*out + out (bias), macs F*out, flops 2*macs + out (bias)."""

    doc = "fully connected; the input must be flat (put `flatten` before it)"
    name = "linear"
    examples = ("3x4x4 | flatten | linear 10", "64 | linear 5 bias=false")
    costs = ("F·out + out·bias", "", "F·out", "2·MACs + out·bias")
    saves = "its input and its weight"
    backward_costs = ("2·MACs", "2·MACs + out·bias")
    draws = ("flatten | linear {c}",)
    aligned = True
    positional = ("out",)
    args = (OUT, BIAS)

    def shape(self, a, x):
        if len(x) != 1:
            raise LayerError(f"linear needs a flat input, got the feature map [{dims(x)}]: add `flatten` before it")
        return (a["out"],)

    def params(self, a, x, y):
        return x[0] * a["out"] + (a["out"] if a["bias"] else 0)

    def tensors(self, a, x, y):
        return (x[0] * a["out"],) + ((a["out"],) if a["bias"] else ())

    def macs(self, a, x, y):
        return x[0] * a["out"]

    def flops(self, a, x, y):
        return 2 * self.macs(a, x, y) + (a["out"] if a["bias"] else 0)

    def fvcore(self, a, x, y):
        return self.macs(a, x, y)

    def saved(self, a, x, y):
        return KEEP_INPUT, weight(x[0] * a["out"])

    # dL/dx = dL/dy W and dL/dW = dL/dy^T x: one multiply-add per weight each; dL/db: out adds
    def backward_flops(self, a, x, y):
        macs = self.macs(a, x, y)
        return 2 * macs, 2 * macs + (a["out"] if a["bias"] else 0)

    def autocast(self, a, x, device):
        return LOW

    # A flat input has no positions left: what made it flat (flatten, gap) kept one position's
    # field and marked the rest global context, which every output here reads.
    rf = same_field

    def build(self, a, x, y):
        from . import torch_ops

        return torch_ops.nn().Linear(x[0], a["out"], bias=a["bias"])


class Movement(Kind):
    """A kind that only moves or views values (flatten, reshape, a part of the channels, a
    shuffle, a crop): no arithmetic, nothing autograd keeps, no backward arithmetic. The records
    below add their own rules (shape, field, scratch); their `costs` say what the movement is."""

    def flops(self, a, x, y):
        return 0

    def saved(self, a, x, y):
        return ()

    def backward_flops(self, a, x, y):
        return 0, 0


@register
class Flatten(Movement):
    doc = "[C, …] → [C·…]"
    name = "flatten"
    examples = ("3x4x4 | flatten", "2x3x4x5 | flatten")
    costs = ("", "", "", "0 (data movement only)")
    saves = "nothing (a view)"
    backward_costs = ("", "")
    draws = ("flatten",)
    view = train_view = True

    def grad_view(self, a, x, y, i):
        return True  # the gradient is viewed back to the input's shape

    def shape(self, a, x):
        return (numel(x),)

    # The flat output has no positions to place a unit at: its field is one position's, and the
    # positions side by side in it are global context (a linear after it reads them all).
    def rf(self, a, x, y, r):
        return rf_collapse(r, x[1:]) if len(x) > 1 else r

    def sees_all(self, a, x, y):
        return spread(x[1:])

    def build(self, a, x, y):
        from . import torch_ops

        return torch_ops.nn().Flatten(1)


@register
class Reshape(Movement):
    doc = "a new per-sample shape, e.g. `[512, 1, 1]` (one entry may be −1)"
    name = "reshape"
    examples = ("3x4x4 | flatten | reshape shape=48,1,1", "4x6x6 | reshape shape=-1,3,3")
    costs = ("", "", "", "0 (data movement only)")
    draws = ("reshape shape=-1",)
    saves = "nothing (a view)"
    backward_costs = ("", "")
    view = train_view = True

    def grad_view(self, a, x, y, i):
        return True  # the gradient is viewed back to the input's shape
    args = (Arg("shape", int_list, doc="the new per-sample shape"),)

    def prepare(self, a, nd):
        target = a["shape"]
        if len(target) not in (1, nd + 1):
            raise LayerError(f"reshape must give a flat shape or a feature map of rank {nd + 1}, got {list(target)}")
        if target.count(-1) > 1 or any(v < 1 and v != -1 for v in target):
            raise LayerError(f"reshape sizes must be positive, with at most one -1, got {list(target)}")
        return a

    def shape(self, a, x):
        target = list(a["shape"])
        known = prod(v for v in target if v != -1)
        total = numel(x)
        if -1 in target:
            if total % known:
                raise LayerError(f"cannot reshape [{dims(x)}] ({total} elements) to {target}")
            target[target.index(-1)] = total // known
        if prod(target) != total:
            raise LayerError(f"cannot reshape [{dims(x)}] ({total} elements) to {target} ({prod(target)} elements)")
        return tuple(target)

    # New spatial axes reorder the positions: a unit no longer sits where its input did, so the
    # field is one position's and the rest is global context, as after a flatten.
    def rf(self, a, x, y, r):
        return rf_collapse(r, x[1:]) if self.sees_all(a, x, y) else r

    def sees_all(self, a, x, y):
        return len(x) > 1 and x[1:] != y[1:] and spread(x[1:])

    def build(self, a, x, y):
        from . import torch_ops

        return torch_ops.Reshape(y)


@register
class Embedding(Kind):
    doc = "token ids [1, L] → [dim, L], channels first for a 1-D conv"
    name = "embedding"
    examples = ("1x30 | embedding 100 16 | conv 8 k3",)
    costs = ("vocab·dim", "", "", "0 (a lookup)")
    saves = "its int64 token ids"
    backward_costs = ("none (token ids have no gradient)", "dim·L (each gradient added to its token's row)")
    input_dtype = "int64"  # token ids
    positional = ("vocab", "dim")
    args = (Arg("vocab", integer(), doc="vocabulary size"), Arg("dim", integer(), doc="embedding size"))

    def shape(self, a, x):
        if len(x) != 2 or x[0] != 1:
            raise LayerError(f"embedding needs token ids shaped [1, L], got [{dims(x)}]")
        return (a["dim"], x[1])

    def params(self, a, x, y):
        return a["vocab"] * a["dim"]

    def flops(self, a, x, y):
        return 0  # a table lookup

    def saved(self, a, x, y):
        return (KEEP_INPUT,)  # embedding_backward scatters by the ids

    def backward_flops(self, a, x, y):
        return 0, numel(y)

    rf = same_field

    def build(self, a, x, y):
        from . import torch_ops

        return torch_ops.TokenEmbedding(a["vocab"], a["dim"])


@register
class Dropout(Kind):
    """Identity at inference. In training it draws a mask and multiplies by it (scaled by
    1/(1-p)), a new tensor: on CUDA PyTorch's fused native_dropout keeps a bool mask, on the CPU
    dropout multiplies by a noise tensor of the input's dtype and keeps that (ATen's _dropout_impl
    takes the fused kernel only on CUDA and a few other devices)."""

    doc = "identity at inference"
    name = "dropout"
    examples = ("3x4x4 | dropout 0.3",)
    costs = ("", "", "", "0 (data movement only)")
    saves = "its mask X: bool on CUDA (1 byte), the activation dtype on the CPU (a noise tensor)"
    backward_costs = ("X (the gradient times the mask)", "")
    draws = ("dropout",)
    view = True
    positional = ("p",)
    args = (Arg("p", number(0, 1), 0.5, "drop probability"),)

    def shape(self, a, x):
        return x

    def flops(self, a, x, y):
        return 0  # inference: the input passes through

    def train_flops(self, a, x, y):
        return numel(x)  # one multiply by the scaled mask per element (drawing the mask not counted)

    def saved(self, a, x, y):
        return (new(numel(x), MASK),)

    def backward_flops(self, a, x, y):
        return numel(x), 0

    rf = same_field

    def build(self, a, x, y):
        from . import torch_ops

        return torch_ops.nn().Dropout(a["p"])


@register
class Identity(Movement):
    doc = "identity"
    name = "identity"
    examples = ("3x4x4 | identity",)
    costs = ("", "", "", "0 (data movement only)")
    saves = "nothing"
    backward_costs = ("", "")
    draws = ("identity",)
    view = train_view = True

    def grad_view(self, a, x, y, i):
        return True  # the gradient is viewed back to the input's shape

    def shape(self, a, x):
        return x

    rf = same_field

    def build(self, a, x, y):
        from . import torch_ops

        return torch_ops.nn().Identity()


# --------------------------------------------------------------------------------------------
# Normalization


class Norm(Kind):
    """Normalizations computing statistics at inference (layer, instance, group norm).

    FLOPs per element: 5 (mean: 1 add; variance: sub, square, add; normalize: 1 mul by the
    reciprocal std, reusing the subtraction) + 2 with the affine scale and shift; per
    normalized group: 4 (divide for the mean, divide for the variance, add eps, rsqrt).

    Statistics over the spatial axes are global context: the field of each position is its
    own, and every position also reads the mean and variance of them all.

    Training: each keeps its input and two statistics per normalized group (mean and reciprocal
    std), in the parameters' dtype when it has a weight (PyTorch's mixed-dtype kernels), else in
    the input's. Backward FLOPs per element, as for batch norm: 5 always (the normalized value
    recomputed: 2; the sums of dy and dy·x̂ that the input and the affine gradients share: 3) and
    4 for the input gradient (dy minus its mean, minus x̂ times the other mean, times the scale)."""

    backward_costs = ("4·X", "5·X (x̂ recomputed, Σdy and Σdy·x̂)")

    def norm_flops(self, x, groups: int, affine: bool) -> int:
        return numel(x) * (5 + (2 if affine else 0)) + 4 * groups

    def stats_dtype(self, a) -> str:
        return PARAM if a.get("affine") else ACT

    def tensors(self, a, x, y):
        half = self.params(a, x, y) // 2
        return (half, half) if half else ()  # weight and bias

    def backward_flops(self, a, x, y):
        return 4 * numel(x), 5 * numel(x)

    def sees_all(self, a, x, y):
        return spread(x[1:])

    def fvcore(self, a, x, y):
        return numel(x) * (5 if a["affine"] else 4)  # fvcore's rough estimate for the norms

    def shape(self, a, x):
        return x

    rf = same_field


@register
class BatchNorm(Kind):
    """Batch norm in eval mode: running stats fold into one scale and shift, 2 flops per
    element. Params 2C (affine), buffers 2C + 1 (running mean, running var, batch counter).

    Training: the batch statistics are computed (5 flops per element, 2 more for the affine
    scale and shift), and native_batch_norm keeps its input, the running mean and variance (its
    buffers) and the batch's mean and reciprocal std (C each, in the weight's dtype; without a
    weight in the input's). Backward
    FLOPs as the other norms (Norm)."""

    doc = "batch norm (eval mode)"
    name = "bn"
    examples = ("8x5x5 | bn", "8x5 | bn affine=false", "6 | bn", "4x3x3x3 | bn")
    costs = ("2C (affine)", "2C + 1", "", "2·X (eval: running stats fold into one scale and one shift)")
    saves = "its input, its running mean and variance (buffers), and the batch mean and 1/std (C each)"
    backward_costs = ("4·X", "5·X (x̂ recomputed, Σdy and Σdy·x̂)")
    draws = ("bn",)
    args = (Arg("affine", boolean, True), Arg("eps", number(0), 1e-5), Arg("momentum", number(0, 1), 0.1))

    def shape(self, a, x):
        return x

    def params(self, a, x, y):
        return 2 * x[0] if a["affine"] else 0

    def tensors(self, a, x, y):
        return (x[0], x[0]) if a["affine"] else ()  # weight and bias

    def buffers(self, a, x, y):
        return 2 * x[0] + 1

    def counters(self, a, x, y):
        return 1  # num_batches_tracked

    def flops(self, a, x, y):
        return 2 * numel(x)

    def fvcore(self, a, x, y):
        return numel(x) * (2 if a["affine"] else 1)  # fvcore's eval-mode rule

    # training: mean (1 add), variance (subtract, square, add), normalize (1 multiply), and the
    # affine scale and shift; the per-channel arithmetic on the C statistics is not counted
    def train_flops(self, a, x, y):
        return numel(x) * (5 + (2 if a["affine"] else 0))

    def saved(self, a, x, y):
        c = x[0]
        stats = PARAM if a["affine"] else ACT  # the weight's dtype, or without one the input's
        return (KEEP_INPUT, Keep(BUFFER, c, PARAM, batched=False), Keep(BUFFER, c, PARAM, batched=False),
                new(c, stats, batched=False), new(c, stats, batched=False))

    def backward_flops(self, a, x, y):
        return 4 * numel(x), 5 * numel(x)

    rf = same_field

    def build(self, a, x, y):
        from . import torch_ops

        return torch_ops.batch_norm(len(x) - 1, x[0], a["eps"], a["momentum"], a["affine"])


@register
class LayerNorm(Norm):
    doc = ("layer norm over the channels at each position (ConvNeXt); `all` normalizes [C, H, W] whole, like "
           "`nn.LayerNorm([C, H, W])`; `last` over the last axis, like `nn.LayerNorm(C)` on tokens [N, C] (ViT)")
    name = "ln"
    examples = ("8x5x5 | ln", "8x5x5 | ln over=all", "8x10 | ln affine=false", "12 | ln", "6x10 | ln over=last",
                "3x4x5 | ln over=last affine=false")
    costs = ("2C (affine; `over: all`: 2X; `over: last`: 2·last axis)", "", "",
             "5·X + 2·X (affine) + 4 per normalized group")
    saves = "its input and 2 statistics per position (`over: all`: per sample; `over: last`: per row)"
    draws = ("ln", "ln over=all", "ln over=last")
    args = (Arg("over", choice("channels", "all", "last"), "channels"), Arg("affine", boolean, True), Arg("eps", number(0), 1e-5))

    def params(self, a, x, y):
        if not a["affine"]:
            return 0
        return 2 * {"channels": x[0], "all": numel(x), "last": x[-1]}[a["over"]]

    def groups(self, a, x) -> int:
        """How many groups it normalizes per sample: one per position, one in all, one per row."""
        return {"channels": numel(x[1:]), "all": 1, "last": numel(x[:-1])}[a["over"]]

    def flops(self, a, x, y):
        return self.norm_flops(x, self.groups(a, x), a["affine"])

    # `last` over a spatial axis (a [C, L] map) mixes its positions; over tokens [N, C] it reads
    # one token's channels (tokens are already global context: see layers_attention)
    def sees_all(self, a, x, y):
        return (a["over"] == "all" and spread(x[1:])) or (a["over"] == "last" and len(x) > 1 and x[-1] > 1)

    def saved(self, a, x, y):
        groups = self.groups(a, x)
        return KEEP_INPUT, new(groups, self.stats_dtype(a)), new(groups, self.stats_dtype(a))

    def autocast(self, a, x, device):
        return FLOAT32 if device == "cuda" else SAME  # layer_norm is on CUDA's float32 list

    def build(self, a, x, y):
        from . import torch_ops

        if a["over"] == "channels":
            return torch_ops.ChannelLayerNorm(x[0], a["eps"], a["affine"])
        shape = [x[-1]] if a["over"] == "last" else list(x)
        return torch_ops.nn().LayerNorm(shape, eps=a["eps"], elementwise_affine=a["affine"])


@register
class InstanceNorm(Norm):
    doc = "instance norm"
    name = "in"
    examples = ("8x5x5 | in", "8x5x5 | in affine=true track_running_stats=true", "4x6 | in", "4x3x3x3 | in")
    costs = (
        "2C (affine)",
        "2C + 1 with `track_running_stats`",
        "",
        "5·X + 2·X (affine) + 4 per normalized group; with `track_running_stats` 2·X + 2·X (affine), like bn",
    )
    saves = ("its input and 2 statistics per channel, as batch norm over [1, N·C, …]; the weight and running "
             "statistics repeated per sample (C each) when it has them")
    draws = ("in affine=true",)
    args = (Arg("affine", boolean, False), Arg("track_running_stats", boolean, False), Arg("eps", number(0), 1e-5))

    def shape(self, a, x):
        _, n = spatial(x, self.name)
        if not a["track_running_stats"] and numel(n) == 1:
            raise LayerError("instance norm over a single position has no variance (PyTorch refuses it): "
                             "use track_running_stats or a larger input")
        return x

    def params(self, a, x, y):
        return 2 * x[0] if a["affine"] else 0

    def buffers(self, a, x, y):
        return 2 * x[0] + 1 if a["track_running_stats"] else 0

    def counters(self, a, x, y):
        return 1 if a["track_running_stats"] else 0  # num_batches_tracked

    def flops(self, a, x, y):
        if a["track_running_stats"]:  # eval mode with running stats: a scale and a shift, like bn
            return 2 * numel(x) + (2 * numel(x) if a["affine"] else 0)
        return self.norm_flops(x, x[0], a["affine"])

    def sees_all(self, a, x, y):
        return not a["track_running_stats"] and spread(x[1:])  # running stats are constants

    def train_flops(self, a, x, y):
        return self.norm_flops(x, x[0], a["affine"])  # training normalizes by the sample's own statistics

    # instance_norm runs batch norm over [1, N*C, ...] with the weight and running stats repeated
    # N times (new tensors batch norm keeps); the statistics are in the weight's dtype when there
    # is a weight or running stats, else in the input's
    def saved(self, a, x, y):
        c = x[0]
        stats = PARAM if a["affine"] or a["track_running_stats"] else ACT
        repeats = (1 if a["affine"] else 0) + (2 if a["track_running_stats"] else 0)
        return (KEEP_INPUT, *(new(c, PARAM) for _ in range(repeats)), new(c, stats), new(c, stats))

    def scratch(self, a, x, y):
        return (), ((new(x[0], PARAM),) if a["affine"] else ())  # the repeated weight's gradient (N·C), then summed

    def build(self, a, x, y):
        from . import torch_ops

        return torch_ops.instance_norm(len(x) - 1, x[0], a["eps"], a["affine"], a["track_running_stats"])


@register
class GroupNorm(Norm):
    doc = "group norm"
    name = "gn"
    examples = ("8x5x5 | gn 4", "8x10 | gn 2 affine=false")
    costs = ("2C (affine)", "", "", "5·X + 2·X (affine) + 4 per normalized group")
    saves = "its input and 2 statistics per group"
    draws = ("gn 1",)
    positional = ("groups",)
    args = (Arg("groups", integer()), Arg("affine", boolean, True), Arg("eps", number(0), 1e-5))

    def shape(self, a, x):
        if x[0] % a["groups"]:
            raise LayerError(f"channels {x[0]} are not divisible by groups {a['groups']}")
        if x[0] // a["groups"] * numel(x[1:]) == 1:
            # PyTorch refuses this at batch 1; at any batch each group normalizes one value to 0
            raise LayerError(f"each of the {a['groups']} groups holds a single value, which has no variance")
        return x

    def params(self, a, x, y):
        return 2 * x[0] if a["affine"] else 0

    def flops(self, a, x, y):
        return self.norm_flops(x, a["groups"], a["affine"])

    def saved(self, a, x, y):
        return KEEP_INPUT, new(a["groups"], self.stats_dtype(a)), new(a["groups"], self.stats_dtype(a))

    def autocast(self, a, x, device):
        return FLOAT32 if device == "cuda" else SAME  # group_norm is on CUDA's float32 list

    def build(self, a, x, y):
        from . import torch_ops

        return torch_ops.nn().GroupNorm(a["groups"], x[0], eps=a["eps"], affine=a["affine"])


@register
class LocalResponseNorm(Kind):
    """Local response normalization across channels (AlexNet), as PyTorch computes it:
    b_c = a_c / (k + alpha/size * sum of a_c'^2 over the `size` channels c - size//2 ..
    c + (size-1)//2, zero beyond the edges)^beta. No parameters or buffers; the spatial field is
    unchanged (the window runs over channels only).

    FLOPs per element: 1 square, size - 1 adds for the window sum (at every channel: the edge
    channels' zero padding is summed too, as PyTorch does and as the pools count their padding),
    1 multiply by alpha/size, 1 add of k, 1 power, 1 divide: size + 4.

    Training, as F.local_response_norm runs it: it keeps its input (for the square and the
    divide), the zero-padded squares the window average reads (N·(C + size − 1)·positions), and
    the power's input and result (X each). Under --amp the power runs in float32 (CUDA's list; on
    the CPU the 3-D average pool does), so the output and the last two are float32 while the
    input stays as it came (MIXED); convcalc then counts the padded squares in float32 too,
    which is what the CPU does and 2 bytes per element more than CUDA. Backward FLOPs per
    element: size + 5 (the direct term, and the window sum of dy·y/d scaled back)."""

    doc = ("local response normalization across channels (AlexNet), as `nn.LocalResponseNorm`: a / (k + "
           "alpha/size · Σ a²)^beta over `size` neighbouring channels; here `k` is the additive constant, not a "
           "kernel, and `alpha` is divided by `size` (the 2012 paper's alpha is not: its 1e-4 is `alpha: 5e-4` "
           "at size 5)")
    name = "lrn"
    examples = (
        "96x13x13 | lrn 5 alpha=5e-4 beta=0.75 k2",
        "6x20 | lrn 4 k=1.5",
        "3x4x5x6 | lrn 2 beta=0.5",
        "3x6x6 | lrn 7",
    )
    costs = (
        "",
        "",
        "",
        "X·(size + 4): 1 square, size − 1 adds for the window sum (at every channel, the zero padding past the "
        "first and last channels included, as PyTorch sums it and as the pools count their padding), 1 multiply "
        "by alpha/size, 1 add of k, 1 power, 1 divide",
    )
    saves = "its input, the padded squares N·(C + size − 1)·positions, and the power's input and result (X each)"
    backward_costs = ("X·(size + 5)", "")
    draws = ("lrn {k}",)
    positional = ("size",)
    args = (Arg("size", integer(), doc="channels in the window"), Arg("alpha", number(), 1e-4),
            Arg("beta", number(), 0.75), Arg("k", number(), 1.0, "additive constant"))

    def shape(self, a, x):
        spatial(x, self.name)  # PyTorch needs [N, C, ...]: a flat input is refused
        return x

    def flops(self, a, x, y):
        return numel(x) * (a["size"] + 4)

    def saved(self, a, x, y):
        positions = numel(x) // x[0]
        return KEEP_INPUT, new((x[0] + a["size"] - 1) * positions), new(numel(x)), new(numel(x))

    def backward_flops(self, a, x, y):
        return numel(x) * (a["size"] + 5), 0

    def scratch(self, a, x, y):
        # F.local_response_norm is a chain of elementwise ops: its forward's intermediates die as
        # the next is made (fewer than its output and what it keeps); its backward has three
        # beside the input gradient at its busiest
        return (), (new(3 * numel(x)),)

    def autocast(self, a, x, device):
        # its power runs in float32 on CUDA, and the output with it; on the CPU the 3-D average
        # pool (over [C, positions...] of a 2-D or 3-D map) does; a 1-D map's 2-D pool does not
        return SAME if device == "cpu" and len(x) == 2 else MIXED

    rf = same_field

    def build(self, a, x, y):
        from . import torch_ops

        return torch_ops.nn().LocalResponseNorm(a["size"], alpha=a["alpha"], beta=a["beta"], k=a["k"])


@register
class LayerScale(Kind):
    doc = "a learnable per-channel multiplier (C params)"
    name = "layer_scale"
    examples = ("8x5x5 | layer_scale", "8x10 | layer_scale init=0.1")
    costs = ("C", "", "", "X")
    saves = "its input (for the scale's gradient)"
    backward_costs = ("X", "2·X (Σ dy·x)")
    draws = ("layer_scale",)
    args = (Arg("init", number(), 1e-6, "initial value"),)

    def shape(self, a, x):
        return x

    def params(self, a, x, y):
        return x[0]

    def flops(self, a, x, y):
        return numel(x)

    def saved(self, a, x, y):
        return (KEEP_INPUT,)  # x * gamma keeps x for gamma's gradient (gamma is a parameter)

    def backward_flops(self, a, x, y):
        return numel(x), 2 * numel(x)

    def autocast(self, a, x, device):
        return MIXED  # a low-precision input times a float32 parameter is float32

    rf = same_field

    def build(self, a, x, y):
        from . import torch_ops

        return torch_ops.LayerScale(x[0], len(x) - 1, a["init"])


# --------------------------------------------------------------------------------------------
# Activations: same shape, no parameters, a fixed number of flops per element


class Activation(Kind):
    """Elementwise activations. `per_element` is the flop count per element, counting each
    elementary operation (compare, add, multiply, divide, exp, erf, tanh) as one.

    Training: each keeps its input or its output, whichever its derivative is written in
    (`keeps`: ReLU, sigmoid, tanh and the softmaxes their output, the others their input), and its
    backward costs `per_element_backward` per element, counted the same way."""

    per_element = -1
    per_element_backward = -1
    keeps = INPUT
    cuda_float32 = False  # on CUDA autocast's float32 list (softmax and log_softmax: their dtype set to float32)
    torch_name = ""

    def shape(self, a, x):
        return x

    def flops(self, a, x, y):
        return self.per_element * numel(x)

    def saved(self, a, x, y):
        return (KEEP_OUTPUT if self.keeps == OUTPUT else KEEP_INPUT,)

    def backward_flops(self, a, x, y):
        return self.per_element_backward * numel(x), 0

    def autocast(self, a, x, device):
        return FLOAT32 if self.cuda_float32 and device == "cuda" else SAME

    rf = same_field

    def build(self, a, x, y):
        from . import torch_ops

        return torch_ops.activation(self.torch_name, a)


def activation(name: str, torch_name: str, per_element: int, doc: str, *args: Arg, positional: tuple = (),
               examples: tuple[str, ...] = (), keeps: str = INPUT, back: tuple[int, str] = (1, ""),
               cuda_float32: bool = False) -> None:
    """Register an activation record: the registry entry is still one class, made here. Its
    examples default to one 2-D map; the property tests draw it bare. `keeps`: what its
    derivative reads (INPUT or OUTPUT); `back`: its backward's FLOPs per element and how."""
    register(type(name, (Activation,), {"name": name, "torch_name": torch_name, "per_element": per_element,
                                         "doc": doc, "args": args, "positional": positional,
                                         "examples": examples or (f"3x4x4 | {name}",), "draws": (name,),
                                         "costs": ("", "", "", f"{per_element}·X ({doc})"),
                                         "keeps": keeps, "per_element_backward": back[0], "cuda_float32": cuda_float32,
                                         "saves": f"its {keeps}", "backward_costs": (f"{back[0]}·X ({back[1]})", "")}))


activation("relu", "ReLU", 1, "max(0, x): 1 compare", keeps=OUTPUT, back=(1, "dy where y > 0"))
activation("relu6", "ReLU6", 2, "min(max(0, x), 6): 2 compares", back=(2, "dy where 0 < x < 6: 2 compares"))
activation("leakyrelu", "LeakyReLU", 2, "max(slope*x, x): 1 multiply, 1 compare",
           Arg("slope", number(), 0.01, "negative slope"), positional=("slope",), examples=("3x4x4 | leakyrelu 0.2",),
           back=(2, "compare, multiply"))
activation("elu", "ELU", 4, "x if x > 0 else alpha*(exp(x)-1): compare, exp, sub, mul",
           Arg("alpha", number(), 1.0), positional=("alpha",), back=(4, "compare, exp, multiply by alpha, by dy"))
activation("silu", "SiLU", 5, "x*sigmoid(x) (swish): sigmoid 4 + mul",
           back=(9, "sigmoid 4, then dy·s·(1 + x·(1 − s)): 5"))
activation("sigmoid", "Sigmoid", 4, "1/(1+exp(-x)): neg, exp, add, div", keeps=OUTPUT,
           back=(3, "dy·y·(1 − y)"))
activation("tanh", "Tanh", 1, "tanh: 1", keeps=OUTPUT, back=(3, "dy·(1 − y²)"))
activation("hardswish", "Hardswish", 5, "x*relu6(x+3)/6: add, 2 clamps, mul, div",
           back=(4, "2 compares, dy·(x/3 + 1/2)"))
activation("hardsigmoid", "Hardsigmoid", 4, "relu6(x+3)/6: add, 2 clamps, div", back=(3, "2 compares, dy/6"))
activation("mish", "Mish", 5, "x*tanh(softplus(x)): exp, add, log, tanh, mul",
           back=(14, "softplus 3, tanh, sigmoid 4, 1 − tanh² 2, products and sum 4"))


@register
class Softmax(Activation):
    """Softmax over one axis, as nn.Softmax(dim) computes it: dim 1 (the default) is the channels,
    -1 the last axis (attention's scores over the keys); the batch (dim 0) is refused. Per
    element: max (compare), subtract, exp, sum (add), divide: 5·X whatever the axis."""

    doc = ("over axis `dim` (PyTorch's numbering, the batch is 0: 1, the default, is the channels, -1 the last): "
           "max (compare), sub, exp, sum (add), div")
    name = "softmax"
    torch_name = "Softmax"
    per_element = 5
    per_element_backward = 4
    keeps = OUTPUT
    cuda_float32 = True
    examples = ("3x4x4 | softmax", "5x7 | softmax dim=-1", "2x5x7 | softmax dim=2")
    draws = ("softmax", "softmax dim=-1")
    costs = ("", "", "", "5·X (max (compare), sub, exp, sum (add), div)")
    saves = "its output"
    backward_costs = ("4·X (y·(dy − Σ dy·y): multiply, sum, subtract, multiply)", "")
    args = (Arg("dim", integer(-8, 8), 1, "the axis, as nn.Softmax(dim) numbers it (batch 0, −1 the last)"),)

    def shape(self, a, x):
        rank = len(x) + 1
        if not -rank <= a["dim"] < rank or a["dim"] % rank == 0:
            raise LayerError(f"softmax dim {a['dim']} is not an axis of [N, {dims(x)}] other than the batch (0)")
        return x

    def sees_all(self, a, x, y):
        """The sum runs along its axis: over a spatial axis, every position reads them all."""
        axis = a["dim"] % (len(x) + 1) - 1
        return axis > 0 and x[axis] > 1


@register
class LogSoftmax(Activation):
    """log(softmax(x)) over the channels at each position, as `nn.LogSoftmax(dim=1)` computes it:
    x - max - log(sum(exp(x - max))). Per element: max (compare), subtract, exp, sum (add),
    subtract the log-sum: 5; per position: 1 log. FLOPs = 5·X + X/C."""

    doc = "log of the softmax over the channels (wav2letter's and most classifiers' training head)"
    name = "log_softmax"
    examples = ("3x4x4 | log_softmax", "29x50 | log_softmax", "3x4x4 | flatten | linear 10 | log_softmax")
    draws = ("log_softmax",)
    costs = ("", "", "", "5·X + X/C (max, subtract, exp, sum, subtract per element; 1 log per position)")
    keeps = OUTPUT
    per_element_backward = 4
    cuda_float32 = True
    saves = "its output"
    backward_costs = ("4·X (dy − exp(y)·Σ dy: exp, multiply, sum, subtract)", "")

    def flops(self, a, x, y):
        return 5 * numel(x) + numel(x) // x[0]

    def build(self, a, x, y):
        from . import torch_ops

        return torch_ops.nn().LogSoftmax(dim=1)


@register
class Gelu(Activation):
    doc = ("0.5*x*(1+erf(x/sqrt 2)): mul, erf, add, 2 mul = 5; tanh form: cube (2), mul, add, mul, tanh, add, 2 "
           "mul = 9")
    name = "gelu"
    examples = ("3x4x4 | gelu", "3x4x4 | gelu approximate=tanh")
    costs = ("", "", "", "5·X (erf form); 9·X (tanh form)")
    saves = "its input"
    backward_costs = ("11·X (erf form: Φ(x) + x·φ(x), times dy); 16·X (tanh form)", "")
    draws = ("gelu",)
    torch_name = "GELU"
    args = (Arg("approximate", choice("none", "tanh"), "none"),)

    def flops(self, a, x, y):
        return (9 if a["approximate"] == "tanh" else 5) * numel(x)

    def backward_flops(self, a, x, y):
        return (16 if a["approximate"] == "tanh" else 11) * numel(x), 0


@register
class PReLU(Activation):
    doc = "learnable slope (1 or C params)"
    name = "prelu"
    examples = ("3x4x4 | prelu", "3x4x4 | prelu per_channel=true")
    costs = ("1 or C", "", "", "2·X")
    saves = "its input and its slope"
    backward_costs = ("2·X (compare, multiply)", "2·X (Σ dy·x where x < 0)")
    draws = ("prelu per_channel=true",)
    per_element = 2  # compare, multiply
    args = (Arg("per_channel", boolean, False),)

    def params(self, a, x, y):
        return x[0] if a["per_channel"] else 1

    def saved(self, a, x, y):
        return KEEP_INPUT, weight(self.params(a, x, y))

    def backward_flops(self, a, x, y):
        return 2 * numel(x), 2 * numel(x)

    def scratch(self, a, x, y):
        return (), (new(numel(x)),)  # _prelu_kernel_backward gives the slope's gradient per element, then sums it

    def autocast(self, a, x, device):
        return LOW  # prelu is on autocast's lower-precision lists

    def build(self, a, x, y):
        from . import torch_ops

        return torch_ops.nn().PReLU(x[0] if a["per_channel"] else 1)


@register
class Maxout(Kind):
    doc = "max over groups of `pieces` consecutive channels: C → C / pieces"
    name = "maxout"
    examples = ("8x4x4 | maxout 2", "9x5 | maxout 3")
    costs = ("", "", "", "Y·(pieces − 1) compares")
    saves = "its input and its output (amax's backward finds the maxima again)"
    backward_costs = ("X (dy spread to the maxima)", "")
    draws = ("maxout {m}",)
    positional = ("pieces",)
    args = (Arg("pieces", integer(2)),)

    def shape(self, a, x):
        if x[0] % a["pieces"]:
            raise LayerError(f"channels {x[0]} are not divisible by pieces {a['pieces']}")
        return (x[0] // a["pieces"], *x[1:])

    # per output: pieces - 1 comparisons
    def flops(self, a, x, y):
        return numel(y) * (a["pieces"] - 1)

    def saved(self, a, x, y):
        return KEEP_INPUT, KEEP_OUTPUT  # amax keeps its input and result

    def scratch(self, a, x, y):
        # amax's backward: where the input equals the maximum (bool), and how many do (int64)
        return (), (new(numel(x), BOOL), new(numel(y), INT64))

    def backward_flops(self, a, x, y):
        return numel(x), 0  # compare each input with its maximum, and select

    rf = same_field

    def build(self, a, x, y):
        from . import torch_ops

        return torch_ops.Maxout(a["pieces"])


# --------------------------------------------------------------------------------------------
# Channel and spatial rearrangements (no arithmetic)


class PixelShuffleFamily(Movement):
    """Rearrangements between channels and space by a factor r on both axes of a 2-D map, as
    PyTorch's pixel_shuffle and pixel_unshuffle (ESPCN's sub-pixel convolution). No parameters,
    no FLOPs: every value is copied once. Training keeps nothing: the backward is the inverse
    rearrangement, a new tensor."""

    saves = "nothing (its backward is the inverse rearrangement)"
    backward_costs = ("", "")
    positional = ("factor",)
    args = (Arg("factor", integer(), doc="r: the upscale (shuffle) or downscale (unshuffle) factor"),)

    def prepare(self, a, nd):
        if nd != 2:
            raise LayerError(f"{self.name} rearranges a 2-D map [C, H, W], as PyTorch's: not a "
                             f"{'flat' if nd == 0 else f'{nd}-D'} one")
        return a

    def build(self, a, x, y):
        from . import torch_ops

        module = torch_ops.nn().PixelShuffle if self.name == "pixel_shuffle" else torch_ops.nn().PixelUnshuffle
        return module(a["factor"])


@register
class PixelShuffle(PixelShuffleFamily):
    doc = "sub-pixel upsampling: [C·r², H, W] → [C, H·r, W·r] (ESPCN), as `nn.PixelShuffle`"
    name = "pixel_shuffle"
    examples = ("8x3x3 | pixel_shuffle 2", "4x6x6 | conv 27 k3 p1 | pixel_shuffle 3 | conv 3 k3 p1",
                "18x2x5 | pixel_shuffle 3")
    draws = ("conv {m}x4 k1 | pixel_shuffle 2", "pixel_shuffle 1")
    costs = ("", "", "", "0 (data movement only)")

    def shape(self, a, x):
        c, n = spatial(x, self.name)
        r = a["factor"]
        if c % (r * r):
            raise LayerError(f"channels {c} are not divisible by factor² = {r}² = {r * r}")
        return (c // (r * r), *(ni * r for ni in n))

    def rf(self, a, x, y, r):
        # Output position o reads the input position o // r: like nearest upsampling by r.
        return tuple((size, jump / a["factor"] if type(jump) is not int else Fraction(jump, a["factor"]), start)
                     for size, jump, start in r)


@register
class PixelUnshuffle(PixelShuffleFamily):
    doc = "the inverse: [C, H, W] → [C·r², H/r, W/r] (space to depth), as `nn.PixelUnshuffle`"
    name = "pixel_unshuffle"
    examples = ("3x8x8 | pixel_unshuffle 2", "2x6x9 | pixel_unshuffle 3 | conv 4 k1", "4x4x4 | pixel_unshuffle 4")
    draws = ("pixel_unshuffle 1", "pad {pp} | crop 2 | pixel_unshuffle 2")
    costs = ("", "", "", "0 (data movement only)")

    def shape(self, a, x):
        c, n = spatial(x, self.name)
        r = a["factor"]
        for i, ni in enumerate(n):
            if ni % r:
                raise LayerError(f"axis {axis_name(i, len(n))} of {ni} is not divisible by factor {r}")
        return (c * r * r, *(ni // r for ni in n))

    def rf(self, a, x, y, r):
        # Output position o reads the r input positions r·o ... r·o + r - 1: a window r wide at stride r.
        k = (a["factor"],) * len(r)
        return rf_window(r, k, k, (0,) * len(r))


@register
class ChannelShuffle(Movement):
    doc = "ShuffleNet's channel interleave"
    name = "channel_shuffle"
    examples = ("8x4x4 | channel_shuffle 4",)
    costs = ("", "", "", "0 (data movement only)")
    saves = "nothing (views and a copy)"
    backward_costs = ("", "")
    draws = ("channel_shuffle {m}",)
    positional = ("groups",)
    args = (Arg("groups", integer()),)

    def shape(self, a, x):
        if x[0] % a["groups"]:
            raise LayerError(f"channels {x[0]} are not divisible by groups {a['groups']}")
        return x

    rf = same_field

    def build(self, a, x, y):
        from . import torch_ops

        return torch_ops.ChannelShuffle(a["groups"])


@register
class Shift(Movement):
    """ShiftNet's shift: the channels are split into prod(k) groups, each moved by one offset of
    a k-window (the remainder stays put); zeros fill in. No parameters, no FLOPs."""

    doc = ("ShiftNet's zero-FLOP spatial shift: the channels split into k·k groups, each moved by one offset of "
           "a k×k window")
    name = "shift"
    examples = ("9x6x6 | shift", "10x6x6 | shift k=3x1", "8x12 | shift 5")
    costs = ("", "", "", "0 (data movement only)")
    saves = "nothing (slice copies)"
    backward_costs = ("", "")
    draws = ("shift {k}",)
    positional = ("k",)
    args = (Arg("k", axes(), 3, "shift window"),)

    def shape(self, a, x):
        spatial(x, self.name)
        return x

    def scratch(self, a, x, y):
        # torch_ops.Shift copies slices into zeros: each copy's backward makes a gradient of the
        # whole input (zeros around its slice), summed into the others' into a new tensor
        return (), (new(2 * numel(x)),)

    def rf(self, a, x, y, r):
        return rf_window(r, a["k"], (1,) * len(a["k"]), tuple(k // 2 for k in a["k"]))

    def build(self, a, x, y):
        from . import torch_ops

        return torch_ops.Shift(a["k"], x[0])


class ChannelView(Movement):
    """A part of the channels, as a view: no work, nothing kept for the backward pass."""

    costs = ("", "", "", "0 (data movement only)")
    saves = "nothing (a view; its backward makes a gradient of the whole input, zeros elsewhere)"
    backward_costs = ("", "")
    view = train_view = True

    rf = same_field


@register
class Slice(ChannelView):
    doc = ("keeps channels `begin` to `end` (end excluded), any range: GhostNet's and DPN's "
           "`x[:, a:b]`; equal parts are `split`")
    name = "slice"
    examples = ("8x4x4 | slice 0 5", "9x5 | slice 3 9", "6x2x3x3 | slice 5 6")
    draws = ("slice 0 1",)
    positional = ("begin", "end")
    args = (Arg("begin", integer(0)), Arg("end", integer(1)))

    def shape(self, a, x):
        if len(x) < 2:
            raise LayerError(f"slice needs a feature map [C, ...], got the flat [{x[0]}]" if x else
                             "slice needs a feature map [C, ...]")
        if not a["begin"] < a["end"] <= x[0]:
            raise LayerError(f"channels {a['begin']}:{a['end']} are not a range within the {x[0]} channels")
        return (a["end"] - a["begin"], *x[1:])

    def build(self, a, x, y):
        from . import torch_ops

        return torch_ops.ChannelSlice(a["begin"], a["end"])


@register
class Split(ChannelView):
    doc = "keeps channel chunk `index` of `parts` equal chunks (ShuffleNetV2's split)"
    name = "split"
    examples = ("8x4x4 | split 2 1", "9x5 | split 3")
    draws = ("split {m} {idx}",)
    positional = ("parts", "index")
    args = (Arg("parts", integer()), Arg("index", integer(0), 0))

    def shape(self, a, x):
        if x[0] % a["parts"]:
            raise LayerError(f"channels {x[0]} are not divisible into {a['parts']} parts")
        if a["index"] >= a["parts"]:
            raise LayerError(f"index {a['index']} is out of range for {a['parts']} parts")
        return (x[0] // a["parts"], *x[1:])

    def build(self, a, x, y):
        from . import torch_ops

        return torch_ops.Split(a["parts"], a["index"])


@register
class Pad(Kind):
    """Explicit padding of the spatial axes, as F.pad (nn.ZeroPad/ConstantPad/ReflectionPad/
    ReplicationPad/CircularPad): axis i grows from n to left + n + right. It allocates a new
    tensor (a copy, not a view) and does no arithmetic: no parameters, no MACs, no FLOPs.

    PyTorch's refusals, per axis: `reflect` needs left < n and right < n (the mirror must not
    reach past the far edge), `circular` needs left <= n and right <= n (it wraps around at most
    once); `constant` and `replicate` take any pad. A fill `value` other than 0 is constant-only.
    The receptive field is the geometric one, as for a conv's zero padding: reflect, replicate
    and circular padding copy input positions there instead of zeros."""

    doc = ("explicit padding of the spatial axes, as `F.pad` and "
           "`nn.ZeroPad`/`ConstantPad`/`ReflectionPad`/`ReplicationPad`/`CircularPad`: n → left + n + right per "
           "axis. `p` takes conv's explicit forms (an int, a per-axis list, per-axis `[left, right]` pairs), not "
           "the words, and is never negative (write a crop as `crop`). As PyTorch: `reflect` needs each pad < n, "
           "`circular` each pad ≤ n; `value` fills `constant` padding only. A new tensor (a copy)")
    name = "pad"
    examples = (
        "3x6x6 | pad 1",
        "3x5x7 | pad 1:2x0:4 reflect",
        "2x9 | pad 2 replicate",
        "2x4x4x4 | pad 1x0x2 circular",
        "3x6x6 | pad 2 value=-1.5 | conv 4 k3",
        "2x3x5 | pad 0:3x5:1 circular | maxpool 2",
        "4x6x6 | pad 0:1x0:1 value=-inf | maxpool 3 s2",
    )
    costs = (
        "",
        "",
        "",
        "0 (a copy into a larger tensor: reflect, replicate and circular copy input values, constant writes the "
        "fill)",
    )
    saves = "nothing; `reflect` and `replicate` their input"
    backward_costs = ("Y − X for reflect, replicate, circular (the copied positions' gradients added back)", "")
    draws = (
        "pad {k}",
        "pad {pp} value={s}",
        "pad {k} reflect",
        "pad {k} replicate",
        "pad {s} circular | conv {c} k{k}",
    )
    positional = ("p", "mode")
    args = (Arg("p", pad_amounts, doc="padding: int, per-axis list or per-axis [left, right] pairs"),
            Arg("mode", choice("constant", "reflect", "replicate", "circular"), "constant"),
            Arg("value", number(infinite=True), 0.0,
                "fill value of constant padding (-.inf before a max pool: TensorFlow's uneven SAME padding)"))

    def prepare(self, a, nd):
        if a["mode"] != "constant" and a["value"] != 0:
            raise LayerError(f"value {a['value']} only applies to constant padding, not {a['mode']} "
                             f"(PyTorch refuses it too)")
        return a

    def shape(self, a, x):
        c, n = spatial(x, self.name)
        for i, (ni, (left, right)) in enumerate(zip(n, a["p"])):
            if a["mode"] == "reflect" and max(left, right) >= ni:
                raise LayerError(f"reflect padding ({left}, {right}) must be smaller than the input {ni} "
                                 f"on axis {axis_name(i, len(n))}")
            if a["mode"] == "circular" and max(left, right) > ni:
                raise LayerError(f"circular padding ({left}, {right}) must be at most the input {ni} "
                                 f"on axis {axis_name(i, len(n))}: it would wrap around more than once")
        return (c, *(left + ni + right for ni, (left, right) in zip(n, a["p"])))

    def flops(self, a, x, y):
        return 0  # a copy into a larger tensor

    # constant padding's backward is a slice and circular's (a cat of slices) one per piece;
    # reflection_pad and replication_pad keep their input
    def saved(self, a, x, y):
        return (KEEP_INPUT,) if a["mode"] in ("reflect", "replicate") else ()

    def backward_flops(self, a, x, y):
        return (0 if a["mode"] == "constant" else numel(y) - numel(x)), 0

    def scratch(self, a, x, y):
        # circular padding copies the input and its wrapped edges into slices of a new tensor: the
        # backward clones the output's gradient, and each copy's gradient is a whole-input tensor
        # summed into the others'
        return (), ((new(numel(y)), new(2 * numel(x))) if a["mode"] == "circular" else ())

    def autocast(self, a, x, device):
        # the CPU's float32 list has reflection_pad1d/2d and replication_pad1d/2d/3d
        if device == "cpu" and (a["mode"] == "replicate" or (a["mode"] == "reflect" and len(x) < 4)):
            return FLOAT32
        return SAME

    def rf(self, a, x, y, r):
        # output position i is input position i - left: start moves left by left * jump
        return tuple((size, jump, start - left * jump) for (size, jump, start), (left, _) in zip(r, a["p"]))

    def build(self, a, x, y):
        from . import torch_ops

        return torch_ops.SpatialPad(a["p"], a["mode"], a["value"])


@register
class Crop(Movement):
    """A window of `size` positions per spatial axis: centred (offset (n - size) // 2, the rule
    `concat crop: true` uses, as U-Net and torchvision's CenterCrop) or from a fixed `offset`.
    Slicing: a view of the input, no parameters, no FLOPs."""

    doc = ("keeps `size` positions per spatial axis, from `offset` or from (n − size) // 2, the offset `concat "
           "crop: true` uses (U-Net, torchvision's `CenterCrop`); `size` > n or `offset` + `size` > n is an "
           "error. A view")
    name = "crop"
    examples = (
        "3x12x12 | crop 8",
        "3x12x11 | crop 5x6 offset=7x0",
        "2x9 | crop 4 1",
        "2x5x6x7 | crop 3",
        "4x10x10 | conv 4 k3 | crop 5 | relu",
    )
    costs = ("", "", "", "0 (a view: slicing)")
    saves = "nothing (a view; its backward makes a gradient of the whole input, zeros elsewhere)"
    backward_costs = ("", "")
    draws = ("crop {k}", "crop {k} {pp}")
    view = train_view = True
    positional = ("size", "offset")
    args = (Arg("size", axes(), doc="output size per spatial axis"),
            Arg("offset", axes(0), None, "first kept position per axis (default: centred)"))

    def offsets(self, a, x: Shape) -> Shape:
        if a["offset"] is not None:
            return a["offset"]
        return tuple((ni - si) // 2 for ni, si in zip(x[1:], a["size"]))

    def shape(self, a, x):
        c, n = spatial(x, self.name)
        for i, (ni, si) in enumerate(zip(n, a["size"])):
            if si > ni:
                raise LayerError(f"crop size {si} is larger than the input {ni} on axis {axis_name(i, len(n))}")
        for i, (ni, si, oi) in enumerate(zip(n, a["size"], self.offsets(a, x))):
            if oi + si > ni:
                raise LayerError(f"offset {oi} + size {si} = {oi + si} reaches past the input {ni} "
                                 f"on axis {axis_name(i, len(n))}")
        return (c, *a["size"])

    def scratch(self, a, x, y):
        # slicing one axis after the other, its backward rebuilds the input's gradient one axis at
        # a time: beside the whole, the one still cropped on the first axis (the output's gradient
        # is gone by then)
        extra = x[0] * y[1] * numel(x[2:]) - numel(y) if len(x) > 2 else 0
        return (), ((new(extra),) if extra > 0 else ())

    def rf(self, a, x, y, r):
        # output position i is input position i + offset: start moves right by offset * jump
        return tuple((size, jump, start + o * jump) for (size, jump, start), o in zip(r, self.offsets(a, x)))

    def build(self, a, x, y):
        from . import torch_ops

        return torch_ops.Crop(self.offsets(a, x), a["size"])


# --------------------------------------------------------------------------------------------
# Merges: two or more inputs


def broadcast(u: Shape, v: Shape) -> Shape:
    """The shape of u times v under broadcasting (equal ranks, as mul checks)."""
    return tuple(max(a, b) for a, b in zip(u, v))


class Merge(Kind):
    merge = True

    def rf(self, a, x, y, r):
        return rf_union(r, x, y)

    def sees_all(self, a, xs, y):
        """An input broadcast along an axis (size 1 there, an SE gate [C, 1, 1]) is read whole by
        every output position: global context, not part of the local field (see rf_union)."""
        return any(xi == 1 < yi for x in xs for xi, yi in zip(x[1:], y[1:]))


@register
class Add(Merge):
    doc = "elementwise sum of equal shapes"
    name = "add"
    examples = ("4x6x6 | conv 4 k3 p1 name=a | relu name=b | add from=a,b,input",)
    costs = ("", "", "", "(inputs − 1)·Y")
    saves = "nothing (its backward hands the gradient on to every input)"
    backward_costs = ("", "")

    def grad_view(self, a, x, y, i):
        return True

    def scratch(self, a, xs, y):
        # torch_ops.Add sums left to right: with three or more inputs, the next partial sum is
        # made while the previous one is alive
        return ((new(numel(y)),) if len(xs) > 2 else ()), ()

    def shape(self, a, xs):
        for other in xs[1:]:
            if other != xs[0]:
                raise LayerError(f"add needs equal shapes, got {' and '.join('[' + dims(s) + ']' for s in xs)}")
        return xs[0]

    # (inputs - 1) adds per output element
    def flops(self, a, xs, y):
        return (len(xs) - 1) * numel(y)

    def saved(self, a, xs, y):
        return ()

    def backward_flops(self, a, xs, y):
        return 0, 0

    def build(self, a, x, y):
        from . import torch_ops

        return torch_ops.Add()


@register
class Mul(Merge):
    doc = "elementwise product with broadcasting (an SE scale [C, 1, 1] times [C, H, W])"
    name = "mul"
    examples = ("4x6x6 | gap name=g | mul from=input,g", "4x6x6 | conv 4 k1 name=a | mul from=a,input,a")
    costs = ("", "", "", "(inputs − 1)·Y")
    saves = "each factor, for the other's gradient (with three or more, the running products)"
    backward_costs = ("per input: Y multiplies, and Y − X adds to sum a broadcast one back", "")

    def shape(self, a, xs):
        out = list(xs[0])
        for other in xs[1:]:
            if len(other) != len(out):
                raise LayerError(f"mul needs equal ranks, got {' and '.join('[' + dims(s) + ']' for s in xs)}")
            for i, (u, v) in enumerate(zip(out, other)):
                if u != v and 1 not in (u, v):
                    raise LayerError(f"mul cannot broadcast {' and '.join('[' + dims(s) + ']' for s in xs)}")
                out[i] = max(u, v)
        return tuple(out)

    # (inputs - 1) multiplies per output element
    def flops(self, a, xs, y):
        return (len(xs) - 1) * numel(y)

    # torch_ops.Mul multiplies left to right: product i = product i-1 times input i keeps both
    # factors, each for the other's gradient (the first product's left factor is input 0)
    def saved(self, a, xs, y):
        keeps: list[Keep] = [Keep(INPUT, index=0, grad_of=1), Keep(INPUT, index=1, grad_of=0)]
        running = broadcast(xs[0], xs[1])
        for i in range(2, len(xs)):
            keeps += [new(numel(running)), Keep(INPUT, index=i)]
            running = broadcast(running, xs[i])
        return tuple(keeps)

    # the gradient of each input: the output gradient times the other factors (one multiply per
    # output element), summed back over the axes it was broadcast along (Y - X adds)
    def backward_flops(self, a, xs, y):
        return sum(numel(y) + numel(y) - numel(x) for x in xs), 0

    def build(self, a, x, y):
        from . import torch_ops

        return torch_ops.Mul()


@register
class Concat(Merge):
    """Concatenate along channels. With `crop: true`, larger inputs are centre-cropped to the
    smallest spatial size first (U-Net's skip connections); offsets are (big - small) // 2."""

    doc = ("channel concatenation; `crop: true` centre-crops larger inputs to the smallest spatial size (U-Net); "
           "without it unequal sizes are an error")
    name = "concat"
    examples = (
        "4x6x6 | conv 2 k3 p1 name=a | concat from=input,a",
        "4x10x10 | conv 4 k3 name=a | conv 4 k3 name=b | concat from=input,a,b crop=true",
    )
    costs = ("", "", "", "0 (data movement only)")
    saves = "nothing (its backward hands each input its slice of the gradient)"
    backward_costs = ("", "")

    def grad_view(self, a, xs, y, i):
        # a slice of the output's gradient; an input cropped first gets a new gradient of its
        # whole size (zeros around the slice)
        return xs[i][1:] == y[1:]

    def scratch(self, a, xs, y):
        # a crop slices one axis after the other, so its gradient is rebuilt one axis at a time:
        # beside the whole-size gradient, the one still cropped on the first axis
        cropped = [x[0] * y[1] * numel(x[2:]) for x in xs if x[1:] != y[1:]]
        return (), ((new(max(cropped)),) if cropped else ())
    args = (Arg("crop", boolean, False),)

    def shape(self, a, xs):
        ranks = {len(s) for s in xs}
        if len(ranks) > 1:
            raise LayerError(f"concat needs equal ranks, got {' and '.join('[' + dims(s) + ']' for s in xs)}")
        sp = [s[1:] for s in xs]
        if a["crop"]:
            target = tuple(min(axis) for axis in zip(*sp))
        else:
            target = sp[0]
            if any(other != target for other in sp[1:]):
                raise LayerError(
                    f"concat needs equal spatial sizes, got {' and '.join('[' + dims(s) + ']' for s in xs)}"
                    " (use crop: true to centre-crop, as U-Net does)"
                )
        return (sum(s[0] for s in xs), *target)

    def flops(self, a, xs, y):
        return 0  # a copy

    def saved(self, a, xs, y):
        return ()

    def backward_flops(self, a, xs, y):
        return 0, 0

    def autocast(self, a, xs, device):
        return PROMOTE  # cat is on autocast's promote lists

    def rf(self, a, xs, y, r):
        shifted = []
        for s, field in zip(xs, r):
            shifted.append(tuple((size, jump, start + ((n - m) // 2) * jump)
                                 for (size, jump, start), n, m in zip(field, s[1:], y[1:])))
        return rf_union(tuple(shifted), tuple((s[0], *y[1:]) for s in xs), y)

    def build(self, a, x, y):
        from . import torch_ops

        return torch_ops.Concat(y[1:] if a["crop"] else None)


# --------------------------------------------------------------------------------------------
# Operators an importer could not map (`convcalc import --allow-unknown`)


class Opaque(Kind):
    """An operator of an imported model that convcalc cannot map: its output shape comes from the
    trace, its parameters and buffers from the model; its MACs and FLOPs are unknown (the rules
    return 0, `uncounted` says they are not counted, and the analysis reports them as unknown and
    the totals as partial). Its receptive field is unknown too: each output is taken to read every
    position (global context), the conservative answer."""

    costs = ("`params` (from the model)", "`buffers` (from the model)", "unknown", "unknown")
    uncounted = ("macs", "flops")
    args = (Arg("shape", int_list, doc="output shape per sample, from the trace"),
            Arg("op", text, "unknown", "the operator it stands for"),
            Arg("params", integer(0), 0, "the operator's parameters"),
            Arg("buffers", integer(0), 0, "the operator's buffers"))

    def prepare(self, a, nd):
        if any(v < 1 for v in a["shape"]):
            raise LayerError(f"shape sizes must be positive, got {list(a['shape'])}")
        return a

    def shape(self, a, x):
        return tuple(a["shape"])

    def params(self, a, x, y):
        return a["params"]

    def buffers(self, a, x, y):
        return a["buffers"]

    def flops(self, a, x, y):
        return 0  # unknown: `uncounted` says so

    def rf(self, a, x, y, r):
        first = r[0] if self.merge else r
        return tuple((size, 0, start) for size, _, start in first)

    def sees_all(self, a, x, y):
        return True

    saves = "unknown: `convcalc memory` refuses a spec with an opaque layer"
    backward_costs = ("unknown", "unknown")

    def saved(self, a, x, y):
        # Never a silent zero: what an unknown operator keeps for the backward is unknown.
        raise LayerError(f"what the imported operator '{a['op']}' keeps for the backward is unknown, so training "
                         "memory cannot be counted (map the operator, or leave it out of the model)")

    def backward_flops(self, a, x, y):
        raise LayerError(f"the backward of the imported operator '{a['op']}' is unknown")

    def build(self, a, x, y):
        from . import torch_ops

        return torch_ops.Opaque(tuple(a["shape"]), a["params"], a["buffers"])


@register
class OpaqueOne(Opaque):
    doc = ("an operator an importer could not map (`convcalc import --allow-unknown`): output `shape` from the trace, "
           "`params` and `buffers` from the model, MACs and FLOPs unknown (totals that include it are partial)")
    name = "opaque"
    examples = ("3x8x8 | opaque shape=5,4,4 op=mystery params=7", "3x8x8 | opaque shape=10 buffers=3 | linear 4")
    draws = ("opaque shape={c}",)


@register
class OpaqueMerge(Opaque):
    doc = "`opaque` reading two or more layers"
    name = "opaque_merge"
    merge = True
    examples = ("4x6x6 | conv 4 k3 p1 name=a | opaque_merge from=a,input shape=8,6,6 op=mystery",)


from . import layers_attention  # noqa: E402,F401  attention and token kinds (registered after the above)
