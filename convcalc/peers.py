"""Other tools' conventions, written down: what thop, ptflops, torchinfo, fvcore and torch's
FlopCounterMode will print for a network, predicted from convcalc's own per-layer analysis.

One small record per tool, like the layer registry: its name, the versions whose source this
model was read from and checked against, and the figures it prints (under its own names), each
with the convcalc figure it is an account of (`reference`: MACs or parameters) and a per-layer
rule. A rule takes one layer's facts (`Layer`: kind, arguments, per-sample shapes, batch, its
MACs and parameters) and returns what the tool counts for it *beyond* convcalc's reference, as
named terms: {"bias adds": +n, "modules it has no rule for (counted 0)": -macs}. The prediction
is the reference plus every term, so the difference between a tool's number and convcalc's is
always a sum of named parts (docs/tools.md has one section per tool).

A kind a tool's model has no rule for is not guessed: the prediction is marked `exact: False`
with the kinds it could not model. Nothing here imports torch: the real runs are
convcalc.peer_run's, in child processes.
"""

from __future__ import annotations

from collections.abc import Callable
from math import prod
from typing import Any, NamedTuple

from .graph import walk
from .layers import REGISTRY

# Named terms: the parts by which a tool's figure differs from convcalc's reference figure.
TWO_PER_MAC = "2 FLOPs per MAC"
BIAS = "bias adds"
NORM = "norm work"
NORM_PARAMS = "norm parameters times the batch"
ACTIVATION = "activation work"
POOL = "pool and upsample work"
NOT_COUNTED = "modules it has no rule for (counted 0)"
SUBCLASS = "subclass of a counted module, looked up by exact type (counted 0)"
FUNCTIONAL = "functional calls it patches, counted again over the whole batch"
TRANSPOSED = "transposed convolution counted over output positions (inserted zeros)"
PER_SAMPLE_LINEAR = "linear on tokens counted once per sample, not per token"
UNHOOKED_PARAMS = "parameters of modules it has no rule for"
NOT_LEAF = "a module with children is not a leaf: its own work counted 0"
UNSUPPORTED = "operators it does not support (counted 0)"
OTHER_OPS = "other operators it counts"


class Layer(NamedTuple):
    """One layer's facts, as a rule sees them: per-sample shapes (a merge's `x` is a tuple of
    shapes), the batch, and convcalc's own MACs and parameters of one sample."""

    kind: str
    args: dict[str, Any]
    x: Any
    y: tuple[int, ...]
    batch: int
    macs: int  # one sample
    params: int
    fvcore: int  # the registry's fvcore rule, one sample
    flop_counter: int  # the registry's FlopCounterMode rule, one sample

    @property
    def first(self) -> tuple[int, ...]:
        return self.x[0] if REGISTRY[self.kind].merge else self.x

    @property
    def n_in(self) -> int:
        """Elements of the (first) input, batch included."""
        return self.batch * prod(self.first)

    @property
    def n_out(self) -> int:
        return self.batch * prod(self.y)


Rule = Callable[[Layer], dict[str, float]]


class Figure(NamedTuple):
    """One figure a tool prints: its name there, the convcalc figure it accounts for ("macs":
    MACs at the run's batch, "macs1": of one sample, "params"), and its rules by kind."""

    key: str
    reference: str
    rules: dict[str, Rule]
    fallback: Rule | None = None  # for kinds not in `rules`; None: such a kind is not modelled


class Tool(NamedTuple):
    name: str
    versions: str  # the versions this model was read from and checked against
    doc: str  # one line: what its main figure is
    figures: tuple[Figure, ...]


def _none(layer: Layer) -> dict[str, float]:
    return {}


def _missed(term: str) -> Rule:
    """The tool counts nothing for the layer: minus its MACs, under `term`."""
    return lambda layer: {term: -layer.macs * layer.batch} if layer.macs else {}


def _rules(kinds: str, rule: Rule) -> dict[str, Rule]:
    return {kind: rule for kind in kinds.split()}


CONVS = "conv dwconv pwconv"
FREE = ("relu relu6 leakyrelu maxpool adaptive_maxpool dropout pixel_shuffle flatten identity add mul concat "
        "reshape tokens transpose cls_token pos_embed gelu silu sigmoid tanh hardswish hardsigmoid elu mish pad "
        "crop slice split channel_shuffle pixel_unshuffle layer_scale log_softmax maxout shift")


# ---- thop 0.1.1 (thop/profile.py, thop/vision/basic_hooks.py) ----

def _thop_norm(layer: Layer) -> dict[str, float]:
    # calculate_norm: 2 per input element, doubled when affine (elementwise_affine for LayerNorm)
    return {NORM: 2 * layer.n_in * (2 if layer.args.get("affine") else 1)}


def _thop_deconv(layer: Layer) -> dict[str, float]:
    # calculate_conv2d_flops: output elements x (input channels / groups) x kernel, as for a conv
    a = layer.args
    over_outputs = layer.n_out * (layer.x[0] // a["groups"]) * prod(a["k"])
    return {TRANSPOSED: over_outputs - layer.macs * layer.batch}


def _thop_adaptive_avg(layer: Layer) -> dict[str, float]:
    # count_adap_avgpool: (prod(input / output spatial, in float64) + 1) x output elements, truncated
    kernel = 1.0
    for i, o in zip(layer.first[1:], layer.y[1:]):
        kernel *= i / o
    return {POOL: int((kernel + 1) * layer.n_out)}


def _thop_upsample(layer: Layer) -> dict[str, float]:
    # calculate_upsample: per output element 1 (nearest), 5 (linear), 11 (bilinear); trilinear is
    # filtered out before it is reached (a warning and 0)
    per = {"nearest": 1, "linear": 5, "bilinear": 11, "trilinear": 0}[layer.args["mode"]]
    return {POOL: per * layer.n_out} if per else {}


THOP_COUNTED = CONVS + " deconv bn in ln relu relu6 leakyrelu prelu maxpool adaptive_maxpool avgpool gap " \
                       "adaptive_avgpool linear dropout upsample pixel_shuffle"

THOP = Tool("thop", "thop 0.1.1 (0.1.1.post2209072238, the registry's `thop`)",
            "multiply-accumulates of the modules in its table, found by exact type; bias excluded",
            (Figure("macs", "macs", {
                **_rules(CONVS + " linear " + FREE, _none),
                **_rules("bn in ln", _thop_norm),
                "deconv": _thop_deconv,
                "prelu": lambda layer: {ACTIVATION: layer.n_in},
                "avgpool": lambda layer: {POOL: layer.n_out},
                **_rules("gap adaptive_avgpool", _thop_adaptive_avg),
                "upsample": _thop_upsample,
                "mha": _missed(SUBCLASS),
                **_rules("matmul sdpa gn lrn lppool", _missed(NOT_COUNTED)),
            }),
             # count_parameters is hooked only on the modules in its table, and only when they run
             Figure("params", "params", {}, lambda layer: {} if layer.kind in THOP_COUNTED.split()
                    else ({UNHOOKED_PARAMS: -layer.params} if layer.params else {}))))


# ---- ptflops 0.7.5, pytorch backend (ptflops/pytorch_engine.py, pytorch_ops.py) ----
# Its total is (sum of module hooks) / batch + (sum of patched functional calls): the module part
# is per image, the functional part over the whole batch. Its reference is convcalc's MACs of one
# sample; a functional term is multiplied by the batch.

def _pt_bias(layer: Layer) -> dict[str, float]:
    return {BIAS: prod(layer.y)} if layer.args.get("bias") else {}


def _pt_act(functional: bool) -> Rule:
    # relu_flops_counter_hook: output elements; nn.ReLU, ELU, PReLU and GELU call F.relu, F.elu,
    # F.prelu, F.gelu, which it patches: counted again, over the batch
    def rule(layer: Layer) -> dict[str, float]:
        terms: dict[str, float] = {ACTIVATION: prod(layer.y)}
        if functional:
            terms[FUNCTIONAL] = layer.n_out
        return terms
    return rule


def _pt_pool(layer: Layer) -> dict[str, float]:
    # pool_flops_counter_hook: input elements; the module calls F.*pool*, patched: again, over the batch
    return {POOL: prod(layer.first), FUNCTIONAL: layer.n_in}


def _pt_norm(layer: Layer) -> dict[str, float]:
    # bn_flops_counter_hook: input elements, doubled when the module has `affine` set (BatchNorm,
    # InstanceNorm, GroupNorm; LayerNorm's flag is elementwise_affine, so it is never doubled)
    doubled = layer.kind != "ln" and layer.args.get("affine")
    return {NORM: prod(layer.first) * (2 if doubled else 1)}


def _pt_upsample(layer: Layer) -> dict[str, float]:
    # upsample_flops_counter_hook: output elements; F.interpolate, patched: input elements x
    # scale ** axes (or N x C x prod(size)), over the batch
    a, first = layer.args, layer.first
    if a.get("size") is not None:
        functional = layer.batch * first[0] * prod(a["size"])
    else:
        scale = a["scale"]
        functional = layer.n_in * (prod(scale) if isinstance(scale, tuple) and len(scale) == len(first) - 1
                                   else scale ** (len(first) - 1))
    return {POOL: prod(layer.y), FUNCTIONAL: functional}


PTFLOPS = Tool("ptflops", "ptflops 0.7.5 (pytorch backend)",
               "MACs of its module hooks per image (bias included, activations, pools and norms per "
               "element), plus its patched functional calls over the whole batch",
               (Figure("macs", "macs1", {
                   **_rules(CONVS + " deconv linear", _pt_bias),
                   **_rules("relu elu prelu gelu", _pt_act(True)),
                   **_rules("relu6 leakyrelu", _pt_act(False)),
                   "silu": lambda layer: {FUNCTIONAL: layer.n_out},  # nn.SiLU is not in its table; F.silu is patched
                   "softmax": lambda layer: {FUNCTIONAL: layer.n_in},  # likewise nn.Softmax and F.softmax
                   **_rules("maxpool avgpool adaptive_maxpool adaptive_avgpool gap", _pt_pool),
                   **_rules("bn in gn ln", _pt_norm),
                   "upsample": _pt_upsample,
                   "mha": lambda layer: {SUBCLASS: -layer.macs} if layer.macs else {},
                   "sdpa": lambda layer: {NOT_COUNTED: -layer.macs} if layer.macs else {},
                   # torch.matmul is patched: the product, counted over the batch, instead of per image
                   "matmul": lambda layer: {FUNCTIONAL: layer.macs * (layer.batch - 1)} if layer.macs else {},
                   **_rules(" ".join(k for k in FREE.split() if k not in ["relu", "relu6", "leakyrelu", "elu", "gelu", "silu", "maxpool", "adaptive_maxpool"]), _none),
               }),
                Figure("params", "params", {}, _none)))  # sum(p.numel() for p in model.parameters())


# ---- torchinfo 1.8.0 (torchinfo/layer_info.py, calculate_macs) ----
# Per leaf module that ran, per parameter named exactly "weight" or "bias": when "Conv" is in the
# class name, parameters x batch x output positions; otherwise output_size[0] (the batch) x parameters.

def _ti_conv(layer: Layer) -> dict[str, float]:
    return {BIAS: layer.n_out} if layer.args.get("bias") else {}


def _ti_deconv(layer: Layer) -> dict[str, float]:
    a = layer.args
    weights = layer.x[0] * (layer.y[0] // a["groups"]) * prod(a["k"])
    terms: dict[str, float] = {TRANSPOSED: weights * layer.batch * prod(layer.y[1:]) - layer.macs * layer.batch}
    if a.get("bias"):
        terms[BIAS] = layer.n_out
    return terms


def _ti_linear(layer: Layer) -> dict[str, float]:
    lead = prod(layer.y[:-1])  # per-sample leading positions (tokens): counted once
    terms: dict[str, float] = {PER_SAMPLE_LINEAR: layer.macs * layer.batch // lead - layer.macs * layer.batch} if lead > 1 else {}
    if layer.args.get("bias"):
        terms[BIAS] = layer.batch * layer.y[-1]
    return terms


TORCHINFO = Tool("torchinfo", "torchinfo 1.8.0",
                 "mult-adds from each leaf module's weight and bias sizes: convolutions per output "
                 "position, everything else once per sample",
                 (Figure("total_mult_adds", "macs", {
                     **_rules(CONVS, _ti_conv),
                     "deconv": _ti_deconv,
                     "linear": _ti_linear,
                     **_rules("bn gn ln in prelu", lambda layer: {NORM_PARAMS: layer.batch * layer.params}
                              if layer.params else {}),
                     # nn.MultiheadAttention has a child (out_proj) that never runs as a module
                     "mha": _missed(NOT_LEAF),
                     **_rules("matmul sdpa", _missed(NOT_COUNTED)),
                     **_rules(FREE + " maxpool avgpool adaptive_avgpool gap softmax upsample", _none),
                 }),
                  Figure("total_params", "params", {}, _none),
                  Figure("trainable_params", "params", {}, _none)))


# ---- fvcore and FlopCounterMode: the registry's own rules (each record's fvcore and flop_counter) ----

def _fvcore(layer: Layer) -> dict[str, float]:
    delta = (layer.fvcore - layer.macs) * layer.batch
    if not delta:
        return {}
    if layer.fvcore == 0:
        return {UNSUPPORTED: delta}
    return {NORM if layer.kind in ("bn", "in", "gn", "ln") else OTHER_OPS: delta}


def _flop_counter(layer: Layer) -> dict[str, float]:
    terms: dict[str, float] = {TWO_PER_MAC: layer.macs * layer.batch} if layer.macs else {}
    rest = (layer.flop_counter - 2 * layer.macs) * layer.batch
    if rest:
        terms[UNSUPPORTED] = rest
    return terms


FVCORE = Tool("fvcore", "fvcore 0.1.5.post20221221",
              "one per multiply-add of conv, linear and matmul (bias ignored), plus the few ops it handles",
              (Figure("flops", "macs", {}, _fvcore),))
FLOPCOUNTER = Tool("flopcounter", "torch 2.13 (torch.utils.flop_counter.FlopCounterMode)",
                   "2 per multiply-add of conv, transposed conv, matmul and attention's products; nothing else",
                   (Figure("flops", "macs", {}, _flop_counter),))

TOOLS: dict[str, Tool] = {t.name: t for t in (FVCORE, FLOPCOUNTER, THOP, PTFLOPS, TORCHINFO)}


class Prediction(NamedTuple):
    """What convcalc predicts one tool prints: per figure its value, the reference it starts from
    and the named terms; `exact` is False, with `why`, when some layer's kind is not modelled."""

    tool: str
    predicted: dict[str, int]
    reference: dict[str, int]
    terms: dict[str, dict[str, int]]
    exact: bool
    why: str


def layers(spec: Any, report: Any) -> list[Layer]:
    """Every layer's facts, from the spec and its Report at the run's batch."""
    per_sample: dict[str, Any] = {"input": report.input[1:]}
    batch = report.input[0]
    found = []
    for (step, x), row in zip(walk(spec.nodes, per_sample), report.layers):
        node, record = step.node, step.record
        y = row.output[1:]
        per_sample[node.name] = y
        found.append(Layer(node.kind, dict(node.args), x, y, batch, record.macs(node.args, x, y), row.params,
                           record.fvcore(node.args, x, y), record.flop_counter(node.args, x, y)))
    return found


def predict(tool: Tool, spec: Any, report: Any) -> Prediction:
    """The tool's figures as convcalc predicts them, each the reference plus its named terms."""
    facts = layers(spec, report)
    references = {"macs": report.total.macs, "macs1": sum(f.macs for f in facts), "params": report.total.params}
    predicted, reference, terms = {}, {}, {}
    unmodelled: set[str] = set()
    for figure in tool.figures:
        parts: dict[str, float] = {}
        for fact in facts:
            rule = figure.rules.get(fact.kind, figure.fallback)
            if rule is None:
                unmodelled.add(fact.kind)
                continue
            for term, amount in rule(fact).items():
                parts[term] = parts.get(term, 0) + amount
        reference[figure.key] = references[figure.reference]
        predicted[figure.key] = int(reference[figure.key] + sum(parts.values()))
        terms[figure.key] = {term: _whole(amount) for term, amount in sorted(parts.items()) if amount}
    why = ""
    if unmodelled:
        why = f"no model of how {tool.name} counts: {', '.join(sorted(unmodelled))}"
    elif tool.name not in ("fvcore", "flopcounter") and any(node.shares for node in spec.nodes):
        why = f"shared modules (`shares:`): not modelled for {tool.name}"
    return Prediction(tool.name, predicted, reference, terms, not why, why)


def _whole(value: float) -> Any:
    return int(value) if float(value).is_integer() else value
