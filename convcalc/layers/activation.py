"""Activations: `Activation` (same shape, a fixed number of FLOPs per element, its derivative
written in its input or its output), the `activation()` table of simple ones, and the records that
need more (log_softmax, gelu, prelu, maxout)."""

from __future__ import annotations

from typing import Any

from ..args import Arg, boolean, choice, integer, number
from ..errors import LayerError
from .geometry import dims, numel, same_field
from .kind import (BOOL, FLOAT32, INPUT, INT64, KEEP_INPUT, KEEP_OUTPUT, LOW, OUTPUT, SAME, Args, Keep, Kind, Shape,
                   new, register, weight)

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

    def shape(self, a: Args, x: Shape) -> Shape:
        return x

    def flops(self, a: Args, x: Shape, y: Shape) -> int:
        return self.per_element * numel(x)

    def saved(self, a: Args, x: Shape, y: Shape) -> tuple[Keep, ...]:
        return (KEEP_OUTPUT if self.keeps == OUTPUT else KEEP_INPUT,)

    def backward_flops(self, a: Args, x: Shape, y: Shape) -> tuple[int, int]:
        return self.per_element_backward * numel(x), 0

    def autocast(self, a: Args, x: Shape, device: str) -> str:
        return FLOAT32 if self.cuda_float32 and device == "cuda" else SAME

    rf = same_field

    def build(self, a: Args, x: Shape, y: Shape) -> Any:
        return self.torch("activation", self.torch_name, a)


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
class Scale(Activation):
    """x times a constant number, `x * 0.5` or attention's `(q @ kᵀ) * d ** -0.5` (a division by a
    number is a product with its inverse): one multiply per element, no parameters. Its backward
    multiplies the gradient by the same number and keeps nothing (autograd keeps the number)."""

    doc = "times a constant number `by` (`x * by`; `x / c` is by=1/c): one multiply per element, no parameters"
    name = "scale"
    examples = ("3x4x4 | scale 0.5", "2x5x5 | scale by=-0.125", "4x6 | matmul from=input,input transpose_b=true | scale 0.5")
    draws = ("scale 0.5",)
    costs = ("", "", "", "X (one multiply per element)")
    saves = "nothing (its backward multiplies by the number)"
    backward_costs = ("X (dy times the number)", "")
    per_element = 1
    per_element_backward = 1
    positional = ("by",)
    args = (Arg("by", number()),)

    def saved(self, a: Args, x: Shape, y: Shape) -> tuple[Keep, ...]:
        return ()

    def build(self, a: Args, x: Shape, y: Shape) -> Any:
        return self.torch("Scale", a["by"])


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
    costs = ("", "", "", "5·X: max (compare), sub, exp, sum (add), div")
    saves = "its output"
    backward_costs = ("4·X (y·(dy − Σ dy·y): multiply, sum, subtract, multiply)", "")
    args = (Arg("dim", integer(-8, 8), 1, "the axis, as nn.Softmax(dim) numbers it (batch 0, −1 the last)"),)

    def shape(self, a: Args, x: Shape) -> Shape:
        rank = len(x) + 1
        if not -rank <= a["dim"] < rank or a["dim"] % rank == 0:
            raise LayerError(f"softmax dim {a['dim']} is not an axis of [N, {dims(x)}] other than the batch (0)")
        return x

    def sees_all(self, a: Args, x: Shape, y: Shape) -> bool:
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

    def flops(self, a: Args, x: Shape, y: Shape) -> int:
        return 5 * numel(x) + numel(x) // x[0]

    def build(self, a: Args, x: Shape, y: Shape) -> Any:
        return self.torch("nn").LogSoftmax(dim=1)


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

    def flops(self, a: Args, x: Shape, y: Shape) -> int:
        return (9 if a["approximate"] == "tanh" else 5) * numel(x)

    def backward_flops(self, a: Args, x: Shape, y: Shape) -> tuple[int, int]:
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

    def params(self, a: Args, x: Shape, y: Shape) -> int:
        return x[0] if a["per_channel"] else 1

    def saved(self, a: Args, x: Shape, y: Shape) -> tuple[Keep, ...]:
        return KEEP_INPUT, weight(self.params(a, x, y))

    def backward_flops(self, a: Args, x: Shape, y: Shape) -> tuple[int, int]:
        return 2 * numel(x), 2 * numel(x)

    def scratch(self, a: Args, x: Shape, y: Shape) -> tuple[tuple[Keep, ...], tuple[Keep, ...]]:
        return (), (new(numel(x)),)  # _prelu_kernel_backward gives the slope's gradient per element, then sums it

    def autocast(self, a: Args, x: Shape, device: str) -> str:
        return LOW  # prelu is on autocast's lower-precision lists

    def build(self, a: Args, x: Shape, y: Shape) -> Any:
        return self.torch("nn").PReLU(x[0] if a["per_channel"] else 1)


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

    def shape(self, a: Args, x: Shape) -> Shape:
        if x[0] % a["pieces"]:
            raise LayerError(f"channels {x[0]} are not divisible by pieces {a['pieces']}")
        return (x[0] // a["pieces"], *x[1:])

    # per output: pieces - 1 comparisons
    def flops(self, a: Args, x: Shape, y: Shape) -> int:
        return numel(y) * (a["pieces"] - 1)

    def saved(self, a: Args, x: Shape, y: Shape) -> tuple[Keep, ...]:
        return KEEP_INPUT, KEEP_OUTPUT  # amax keeps its input and result

    def scratch(self, a: Args, x: Shape, y: Shape) -> tuple[tuple[Keep, ...], tuple[Keep, ...]]:
        # amax's backward: where the input equals the maximum (bool), and how many do (int64)
        return (), (new(numel(x), BOOL), new(numel(y), INT64))

    def backward_flops(self, a: Args, x: Shape, y: Shape) -> tuple[int, int]:
        return numel(x), 0  # compare each input with its maximum, and select

    rf = same_field

    def build(self, a: Args, x: Shape, y: Shape) -> Any:
        return self.torch("Maxout", a["pieces"])
