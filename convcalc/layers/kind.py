"""The registry's base: `REGISTRY` and `register`, the `Kind` every record subclasses (its hooks
and their defaults), and what the hooks return: `Keep` (a tensor autograd keeps) with its source
and dtype tokens, the autocast tokens, `Note` (a warning with a code), `Window` and `Side`. Also
`Movement`, the base of the kinds that only move values, which two families share (dense.py's
views and movement.py's rearrangements). The hook contract is convcalc/layers/__init__.py's
docstring."""

from __future__ import annotations

from math import ceil
from typing import Any, NamedTuple

from ..args import REQUIRED, Arg
from ..errors import LayerError

Args = dict[str, Any]  # a layer's normalized arguments (args.py's schema, filled by `prepare`)
Shape = tuple[int, ...]  # per sample, channels first: (C, *spatial), or (F,) once flat
Shapes = tuple[Shape, ...]  # a merge's input shapes
Axis = tuple[Any, Any, Any]  # receptive field on one axis: (size, jump, start), ints or Fractions
RF = tuple[Axis, ...]


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
    index: int = 0  # type: ignore[assignment]  # a field named index shadows tuple.index
    batched: bool = True
    grad_of: int | None = None
    name: str = ""


class Stage(NamedTuple):
    """One moment of a backward that runs as a chain of steps, each freeing what it kept as it
    goes (attention's). `scratch`: the NEW Keeps alive at this moment beside the gradients made so
    far (the intermediate gradients; one with `grad_of` only where that input needs a gradient);
    `frees`: the indices, in the layer's `saved` tuple, of the tensors let go after this moment;
    `params`: the indices, in its `tensors` order, of the parameter gradients made by this moment
    (None: all); `inputs`: whether its input gradients exist by this moment."""

    scratch: tuple[Keep, ...] = ()
    frees: tuple[int, ...] = ()
    params: tuple[int, ...] | None = None
    inputs: bool = True


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
    features_last = False  # its channels are the last axis (linear maps [..., F]); else axis 0 (C first)
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
    # What `convcalc explain` shows beside its working: argument symbols of its own (linear's `out`
    # is out, not the filters' K), whether the textbook's FLOP count of one convolution applies
    # (k multiplies, k - 1 adds per output), whether it is already fully connected (no dense
    # equivalent to compare with), and the sentence on the stride-1 convolution it equals (the
    # kinds with `zero_stuffed`).
    symbols: dict[str, str] = {}
    textbook_flops = False
    fully_connected = False
    stuffed_note = ""
    schema: dict[str, Arg]

    def prepare(self, a: Args, nd: int) -> Args:
        """Fill defaults that depend on other arguments (a pool's stride defaults to its kernel)
        and check what the schema alone cannot; `nd` is the spec's number of spatial axes."""
        return a

    def shape(self, a: Args, x: Shape) -> Shape:
        raise NotImplementedError

    def params(self, a: Args, x: Shape, y: Shape) -> int:
        return 0

    def buffers(self, a: Args, x: Shape, y: Shape) -> int:
        return 0

    def tensors(self, a: Args, x: Shape, y: Shape) -> tuple[int, ...]:
        """Its parameter tensors' sizes, in the order PyTorch's parameters() yields them (Adam's
        for-loop step allocates per tensor). One tensor or none unless the kind says otherwise
        (a bias is a second tensor); tests/test_training.py checks every kind against PyTorch."""
        params = self.params(a, x, y)
        return (params,) if params else ()

    def check_sides(self, a: Args, x: Shape, sides: dict[str, "Side"]) -> None:
        """Check the layers its side inputs name (`sides`: argument -> that layer's kind, arguments
        and output shape); LayerError when they cannot serve."""

    def side_source(self, module: Any) -> None:
        """Make the torch module of a layer this kind names as a side input give what this kind
        reads from it (maxunpool: the pool's indices)."""
        raise NotImplementedError

    def counters(self, a: Args, x: Shape, y: Shape) -> int:
        """How many of its buffers are int64 counters (BN's num_batches_tracked): 8 bytes each in
        memory, whatever the spec's dtype."""
        return 0

    def macs(self, a: Args, x: Shape, y: Shape) -> int:
        return 0

    def flops(self, a: Args, x: Shape, y: Shape) -> int:
        raise NotImplementedError

    def rf(self, a: Args, x: Shape, y: Shape, r: RF) -> RF:
        raise NotImplementedError

    def field(self, a: Args, x: Shape, y: Shape, r: RF) -> RF:
        """The receptive field as reported: `rf`, each size made a whole number of input positions
        (after fractional jumps a window spans a fractional width; it can touch at most its
        ceiling). Jumps and starts stay exact fractions."""
        field = self.rf(a, x, y, r)
        if all(type(axis[0]) is int for axis in field):
            return field
        return tuple((size if type(size) is int else ceil(size), jump, start) for size, jump, start in field)

    def sees_all(self, a: Args, x: Shape, y: Shape) -> bool:
        """Local by declaration: each output unit reads a window of positions, not all of them."""
        return False

    def warnings(self, a: Args, x: Shape, y: Shape) -> tuple["Note", ...]:
        return ()

    def window(self, a: Args, x: Shape) -> tuple["Window", ...] | None:
        """Per spatial axis, the window it slides over its input (`convcalc explain --draw`); None
        for kinds that have none."""
        return None

    def zero_stuffed(self, a: Args, x: Shape) -> tuple[tuple[Any, Any, Any, Any], ...] | None:
        """A transposed kind as the stride-1 convolution it equals: per axis (positions after
        inserting s - 1 zeros between neighbouring inputs, left padding, right padding, kernel
        span), for `convcalc explain`; None for every other kind."""
        return None

    def depthwise(self, a: Args, y: Shape) -> bool:
        """Whether each output channel reads only its own group of one input channel (a depthwise
        convolution): `convcalc scale` reports the MACs of these apart. False for every kind that
        is no grouped convolution."""
        return False

    def regular_equivalent(self, a: Args, x: Shape) -> tuple[str, Args] | None:
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

    def build(self, a: Args, x: Shape, y: Shape) -> Any:
        raise NotImplementedError

    @staticmethod
    def torch(builder: str, *args: Any, **kwargs: Any) -> Any:
        """convcalc.torch_ops' `builder` called with these arguments (`torch("nn")` is torch.nn):
        the one place a record's `build` reaches torch, imported here, so that only the commands
        that build a model load it."""
        from .. import torch_ops

        return getattr(torch_ops, builder)(*args, **kwargs)

    def cost_symbols(self, a: Args, x: Shape | Shapes, y: Shape) -> dict[str, int]:
        """The symbols its `costs` strings use beyond docs/costs.md's common ones (C, X, F, Y, P and
        its arguments by name), with their values for this layer: tests/test_registry.py evaluates
        each string with them against the rule, so a formula cannot drift from the code."""
        return {}

    def fvcore(self, a: Args, x: Shape, y: Shape) -> int:
        """fvcore ignores or does not support most ops: it counts nothing for them."""
        return 0

    def flop_counter(self, a: Args, x: Shape, y: Shape) -> int:
        """FlopCounterMode counts 2 per multiply-add of conv, transposed conv and matmul, the ops
        convcalc's MACs count; a kind whose products it does not see (fftconv's) overrides this."""
        return 2 * self.macs(a, x, y)

    def flop_counter_backward(self, a: Args, x: Shape, y: Shape, input_grad: bool) -> int:
        """What FlopCounterMode should count for its backward (for `convcalc verify --train`): 2 per
        multiply-add of the convolutions and matmuls, one per gradient (the input's only when it
        needs one), groups respected; nothing for the other kinds (their MACs are 0)."""
        return 2 * self.macs(a, x, y) * (2 if input_grad else 1)

    def flop_counter_backward_ungrouped(self, a: Args, x: Shape, y: Shape, input_grad: bool) -> int | None:
        """What FlopCounterMode in torch 2.13 counts for its backward, which takes every output
        channel of a grouped convolution to read every input channel (docs/costs.md): `convcalc
        verify --train` shows that disagreement as known. None for kinds with no grouped
        convolution, whose count it gets right."""
        return None

    def macs_over_outputs(self, a: Args, x: Shape, y: Shape) -> int | None:
        """The MACs that the forward convolution's formula gives over its output positions, for a
        kind whose own count runs over its inputs (a transposed convolution: tools that reuse the
        forward formula count the inserted zeros; `convcalc explain` shows the two); None for
        every other kind."""
        return None

    def saved(self, a: Args, x: Shape, y: Shape) -> tuple[Keep, ...]:
        raise NotImplementedError

    def backward_flops(self, a: Args, x: Shape, y: Shape) -> tuple[int, int]:
        raise NotImplementedError

    def train_flops(self, a: Args, x: Shape, y: Shape) -> int:
        """Training runs the same forward as inference, unless the kind says otherwise."""
        return self.flops(a, x, y)

    def autocast(self, a: Args, x: Shape, device: str) -> str:
        """PyTorch's autocast leaves ops on none of its lists alone: they run in their inputs' dtype."""
        return SAME

    def trains_as_view(self, a: Args) -> bool:
        """Whether in training too its output is its input or a view of it (no new activation):
        `train_view`, unless the kind's arguments decide (dropout with p = 0)."""
        return self.train_view

    def grad_view(self, a: Args, x: Shape, y: Shape, i: int) -> bool:
        """Whether its backward hands input i the output's gradient itself (or a view of it), making
        no new tensor: no, it computes a new input gradient, unless the kind says otherwise."""
        return False

    def scratch(self, a: Args, x: Shape, y: Shape) -> tuple[tuple[Keep, ...], tuple[Keep, ...]]:
        """The short-lived tensors (NEW Keeps: elements and dtype) alive beside its output, and
        beside its input gradients, at the busiest moment of its forward and of its backward:
        none (it makes only its output and what it keeps, then only its gradients), unless the
        kind says otherwise."""
        return (), ()

    def backward_stages(self, a: Args, x: Shape, y: Shape) -> tuple[Stage, ...]:
        """Its backward as moments in order (`Stage`): one, where every gradient, its backward
        `scratch` and all it kept are alive together, unless the kind says otherwise."""
        return (Stage(self.scratch(a, x, y)[1]),)


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


class Movement(Kind):
    """A kind that only moves or views values (flatten, reshape, a part of the channels, a
    shuffle, a crop): no arithmetic, nothing autograd keeps, no backward arithmetic. The records
    on it (dense.py's views, movement.py's rearrangements) add their own rules (shape, field,
    scratch); their `costs` say what the movement is."""

    def flops(self, a: Args, x: Shape, y: Shape) -> int:
        return 0

    def saved(self, a: Args, x: Shape, y: Shape) -> tuple[Keep, ...]:
        return ()

    def backward_flops(self, a: Args, x: Shape, y: Shape) -> tuple[int, int]:
        return 0, 0
