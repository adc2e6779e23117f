"""The layer registry: one record per layer kind, holding everything convcalc knows about it.

A record is a subclass of `Kind` (kind.py), registered with `@register`, in the module of its
family: conv.py, pool.py (and resampling), dense.py (linear, embedding and the views around them),
norm.py, activation.py, movement.py, merge.py, opaque.py; geometry.py holds the arithmetic they
share. A record declares its arguments (an `Arg` schema, see args.py) and implements the rules,
each a pure function of ints and tuples. `a` is the dict of normalized arguments (`Args`), `x` the
input shape (`Shape`; for merges `xs`, the tuple of input shapes), `y` the output shape, `r` the
input's receptive field (`RF`: per spatial axis (size, jump, start)). The hook contract:

    prepare(a, nd)       -> Args      defaults that depend on other arguments, checks the schema cannot
    shape(a, x)          -> y         output shape, or LayerError when PyTorch would refuse
    check_sides(a,x,sides)-> None     LayerError when the layers its side inputs name cannot serve
    params(a, x, y)      -> int       trainable parameters, as PyTorch counts them
    buffers(a, x, y)     -> int       non-trainable state (BN running stats), as PyTorch counts it
    counters(a, x, y)    -> int       how many of the buffers are int64 counters (8 bytes each)
    macs(a, x, y)        -> int       multiply-accumulates of convolutions, linear and products of two activations; bias excluded
    flops(a, x, y)       -> int       all floating-point work: 2 per MAC, bias adds, elementwise work
    rf(a, x, y, r)       -> RF        local receptive field per spatial axis: (size, jump, start)
    field(a, x, y, r)    -> RF        the field as reported: rf's sizes made whole (default, not overridden)
    sees_all(a, x, y)    -> bool      some output unit also reads every position of an input axis
                                      (global context: global pooling, flatten, statistics norms,
                                      a broadcast merge input); the analysis carries it downstream
    warnings(a, x, y)    -> (Note,..) things that are legal but probably not meant, each with a code
    window(a, x)         -> (Window,..) | None   the window it slides per axis (explain --draw)
    zero_stuffed(a, x)   -> per axis | None      a transposed kind as the stride-1 conv it equals
    regular_equivalent(a, x) -> (variant, Args) | None   the groups-1 conv a cheaper conv compares with
    depthwise(a, y)      -> bool      each output channel reads one input channel (convcalc scale's share)
    macs_over_outputs(a, x, y) -> int | None     the forward conv formula's MACs (transposed conv)
    describe(a)          -> str       the layer in the one-line form ('conv 128 k3 s2 g4')
    build(a, x, y)       -> nn.Module the equivalent PyTorch module, through Kind.torch(builder, ...),
                                      which imports convcalc.torch_ops (and torch) only when called
    side_source(module)  -> None      make a layer this kind names as a side input give what it reads
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
    scratch(a, x, y)     -> (Keeps, Keeps)  short-lived tensors beside its output, and beside its input
                                      gradients, at its forward's and its backward's busiest moment
    backward_stages(a, x, y) -> (Stage,..)  its backward as moments in order: scratch alive, what it
                                      kept let go after each, parameter and input gradients made by
                                      then (default: one moment, `scratch`'s, with everything)
    flop_counter_backward(a, x, y, input_grad) -> int   what FlopCounterMode should count for its
                                      backward (convcalc verify --train)
    flop_counter_backward_ungrouped(a, x, y, input_grad) -> int | None   what FlopCounterMode
                                      counts instead where it ignores groups (a known disagreement)

Declarations (class attributes, defaults on Kind): name, doc, args, positional, merge, view,
train_view, aligned, features_last (its channels are the last axis: linear), input_dtype,
side_inputs, uncounted; the tests' examples and draws; the docs'
rows costs, saves and backward_costs; explain's symbols, textbook_flops, fully_connected and
stuffed_note. `shape`, `flops`, `rf`, `build`, `saved` and `backward_flops` have no default, and
`doc`, `examples`, `costs`, `saves` and `backward_costs` must be stated: `register` refuses a
record without them. Knowledge about one kind lives on its record, never in a test on its name
elsewhere.

Shapes are per sample, channels first, without the batch: `(C, *spatial)` for feature maps and
`(F,)` once flattened. Every count is per sample; the analysis multiplies by the batch.
docs/costs.md has the conventions as a table; each rule's comment says exactly what it counts.
Adding a layer kind means adding one record to its family's module: its examples and property
templates feed the tests, and its `doc` and `costs` are the docs' rows (scripts/kind_tables.py
writes them). docs/architecture.md maps the rest of the package.
"""

from __future__ import annotations

# Every name other modules import from convcalc.layers (the families import from kind and geometry).
from .geometry import (AXIS_NAMES, BIAS, D1, K, OUT, P_CONV, S1, at_least, axis_name, check_groups, dims, effective,
                       named, numel, per_group, pool_out, resolve_padding, rf_collapse, rf_transposed, rf_union,
                       rf_window, same_field, spatial, spread, uncovered_warnings, window_out)
from .kind import (ACT, BOOL, BUFFER, COMPLEX, FLOAT32, INPUT, INT64, KEEP_INPUT, KEEP_OUTPUT, LOW, MASK, MIXED, NEW,
                   NOTE_LABELS, OUTPUT, PARAM, PROMOTE, REGISTRY, RF, SAME, SHORT, SIDE, UPCAST, WEIGHT, WHEN_NATIVE,
                   WHEN_UPCAST, Args, Axis, Keep, Kind, Movement, Note, Shape, Shapes, Side, Stage, Window, new, register, weight)

# The families, imported in the registry's order (the docs' tables and every JSON list of kinds
# follow it). A new family is a module here, imported after the last whose kinds precede its own.
from . import conv, deform, pool, dense, norm, activation, movement, merge, opaque, attention  # noqa: F401, I001 (the order is the point)
from .pool import adaptive_windows

__all__ = [
    "ACT", "AXIS_NAMES", "BIAS", "BOOL", "BUFFER", "COMPLEX", "D1", "FLOAT32", "INPUT", "INT64", "K", "KEEP_INPUT",
    "KEEP_OUTPUT", "LOW", "MASK", "MIXED", "NEW", "NOTE_LABELS", "OUT", "OUTPUT", "PARAM", "PROMOTE", "P_CONV",
    "REGISTRY", "RF", "S1", "SAME", "SHORT", "SIDE", "UPCAST", "WEIGHT", "WHEN_NATIVE", "WHEN_UPCAST", "Args", "Axis", "Keep", "Kind", "Movement", "Note",
    "Shape", "Shapes", "Side", "Stage", "Window", "activation", "adaptive_windows", "at_least", "axis_name", "check_groups",
    "conv", "dense", "dims", "effective", "merge", "movement", "named", "new", "norm", "numel", "opaque",
    "per_group", "pool", "pool_out", "register", "resolve_padding", "rf_collapse", "rf_transposed", "rf_union",
    "rf_window", "same_field", "spatial", "spread", "uncovered_warnings", "weight", "window_out",
]
