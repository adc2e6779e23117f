"""Dense, reshaping and lookup layers: linear and embedding (the kinds with a weight per input
and output pair), and the views and pass-throughs around them (flatten, reshape, dropout,
identity). They sit together because the registry's order does (docs/spec.md's table)."""

from __future__ import annotations

from math import prod
from typing import Any

from ..args import Arg, int_list, integer, number
from ..errors import LayerError
from .geometry import BIAS, OUT, dims, numel, rf_collapse, same_field, spread
from .kind import KEEP_INPUT, LOW, MASK, RF, Args, Keep, Kind, Movement, Shape, new, register, weight

# --------------------------------------------------------------------------------------------
# Dense, reshaping and lookup layers


@register
class Linear(Kind):
    """Fully connected over the last axis, as nn.Linear: [..., F] -> [..., out], the same weights
    at each of the R = prod(leading axes) rows (R = 1 for a flat input [F]). params F*out + out
    (bias); macs R*F*out; flops 2*macs + R*out (bias)."""

    doc = ("fully connected over the last axis, as `nn.Linear`: [F] → [out], or [C, …, F] → [C, …, out] with the "
           "same weights for every row (per-token projections); R = the rows, 1 for a flat input")
    name = "linear"
    examples = ("3x4x4 | flatten | linear 10", "64 | linear 5 bias=false", "5x10 | linear 7",
                "4x5x3 | linear 6", "2x3x4x5 | linear 2 bias=false", "3x6x5 | conv 4 k3 | linear 8 | relu")
    costs = ("F·out + out·bias", "", "R·F·out (R: rows, the leading axes' positions)", "2·MACs + R·out·bias")
    saves = "its input and its weight"
    backward_costs = ("2·MACs", "2·MACs + R·out·bias")
    draws = ("flatten | linear {c}", "linear {c}")
    aligned = True
    features_last = True
    positional = ("out",)
    args = (OUT, BIAS)
    symbols = {"out": "out"}  # explain: its outputs are `out`, not the filters' K
    fully_connected = True

    def shape(self, a: Args, x: Shape) -> Shape:
        return (*x[:-1], a["out"])

    def params(self, a: Args, x: Shape, y: Shape) -> int:
        return x[-1] * a["out"] + (a["out"] if a["bias"] else 0)

    def tensors(self, a: Args, x: Shape, y: Shape) -> tuple[int, ...]:
        return (x[-1] * a["out"],) + ((a["out"],) if a["bias"] else ())

    # per row: F*out multiply-adds; the rows are the leading axes' positions
    def macs(self, a: Args, x: Shape, y: Shape) -> int:
        return numel(x[:-1]) * x[-1] * a["out"]

    def flops(self, a: Args, x: Shape, y: Shape) -> int:
        return 2 * self.macs(a, x, y) + (numel(y[:-1]) * a["out"] if a["bias"] else 0)

    def fvcore(self, a: Args, x: Shape, y: Shape) -> int:
        return self.macs(a, x, y)

    def saved(self, a: Args, x: Shape, y: Shape) -> tuple[Keep, ...]:
        return KEEP_INPUT, weight(x[-1] * a["out"])

    # dL/dx = dL/dy W and dL/dW = dL/dy^T x: one multiply-add per weight and row each; dL/db: one
    # add per output element (its rows summed)
    def backward_flops(self, a: Args, x: Shape, y: Shape) -> tuple[int, int]:
        macs = self.macs(a, x, y)
        return 2 * macs, 2 * macs + (numel(y[:-1]) * a["out"] if a["bias"] else 0)

    def autocast(self, a: Args, x: Shape, device: str) -> str:
        return LOW

    # A flat input has no positions left: what made it flat (flatten, gap) kept one position's
    # field and marked the rest global context, which every output here reads. On a feature map,
    # every output reads all positions of the last axis (the one it maps): that axis stops
    # moving, as after a global pool, and the rest of it is global context.
    def rf(self, a: Args, x: Shape, y: Shape, r: RF) -> RF:
        return r if len(x) < 2 else (*r[:-1], *rf_collapse(r[-1:], x[-1:]))

    def sees_all(self, a: Args, x: Shape, y: Shape) -> bool:
        return len(x) > 1 and x[-1] > 1

    def build(self, a: Args, x: Shape, y: Shape) -> Any:
        return self.torch("nn").Linear(x[-1], a["out"], bias=a["bias"])


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

    def grad_view(self, a: Args, x: Shape, y: Shape, i: int) -> bool:
        return True  # the gradient is viewed back to the input's shape

    def shape(self, a: Args, x: Shape) -> Shape:
        return (numel(x),)

    # The flat output has no positions to place a unit at: its field is one position's, and the
    # positions side by side in it are global context (a linear after it reads them all). Tokens
    # [N, C] carry the field of the map they were made from, whose axes are not theirs: the token
    # move already stopped it (jump 0, attention.py), so it passes unchanged.
    def rf(self, a: Args, x: Shape, y: Shape, r: RF) -> RF:
        return rf_collapse(r, x[1:]) if len(x) > 1 and len(x) - 1 == len(r) else r

    def sees_all(self, a: Args, x: Shape, y: Shape) -> bool:
        return spread(x[1:])

    def build(self, a: Args, x: Shape, y: Shape) -> Any:
        return self.torch("nn").Flatten(1)


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

    def grad_view(self, a: Args, x: Shape, y: Shape, i: int) -> bool:
        return True  # the gradient is viewed back to the input's shape
    args = (Arg("shape", int_list, doc="the new per-sample shape"),)

    def prepare(self, a: Args, nd: int) -> Args:
        target = a["shape"]  # any rank: a flat vector, a feature map, tokens [N, E] or heads [N, H, d]
        if target.count(-1) > 1 or any(v < 1 and v != -1 for v in target):
            raise LayerError(f"reshape sizes must be positive, with at most one -1, got {list(target)}")
        return a

    def shape(self, a: Args, x: Shape) -> Shape:
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
    def rf(self, a: Args, x: Shape, y: Shape, r: RF) -> RF:
        return rf_collapse(r, x[1:]) if self.sees_all(a, x, y) else r

    def sees_all(self, a: Args, x: Shape, y: Shape) -> bool:
        return len(x) > 1 and x[1:] != y[1:] and spread(x[1:])

    def build(self, a: Args, x: Shape, y: Shape) -> Any:
        return self.torch("Reshape", y)


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

    def shape(self, a: Args, x: Shape) -> Shape:
        if len(x) != 2 or x[0] != 1:
            raise LayerError(f"embedding needs token ids shaped [1, L], got [{dims(x)}]")
        return (a["dim"], x[1])

    def params(self, a: Args, x: Shape, y: Shape) -> int:
        return a["vocab"] * a["dim"]

    def flops(self, a: Args, x: Shape, y: Shape) -> int:
        return 0  # a table lookup

    def saved(self, a: Args, x: Shape, y: Shape) -> tuple[Keep, ...]:
        return (KEEP_INPUT,)  # embedding_backward scatters by the ids

    def backward_flops(self, a: Args, x: Shape, y: Shape) -> tuple[int, int]:
        return 0, numel(y)

    rf = same_field

    def build(self, a: Args, x: Shape, y: Shape) -> Any:
        return self.torch("TokenEmbedding", a["vocab"], a["dim"])


@register
class Dropout(Kind):
    """Identity at inference. In training it draws a mask and multiplies by it (scaled by
    1/(1-p)), a new tensor: on CUDA PyTorch's fused native_dropout keeps a bool mask, on the CPU
    dropout multiplies by a noise tensor of the input's dtype and keeps that (ATen's _dropout_impl
    takes the fused kernel only on CUDA and a few other devices). With p = 0 (torchvision's ViT
    default) it is the identity in training too: the fused kernel needs 0 < p < 1 and
    _dropout_impl returns the input itself for p = 0, on every device, keeping nothing."""

    doc = "identity at inference, and in training with p = 0"
    name = "dropout"
    examples = ("3x4x4 | dropout 0.3", "3x4x4 | conv 2 k1 | dropout 0 | relu")
    costs = ("", "", "", "0 (data movement only)")
    saves = "its mask X: bool on CUDA (1 byte), the activation dtype on the CPU (a noise tensor); nothing at p = 0"
    backward_costs = ("X (the gradient times the mask; 0 at p = 0)", "")
    draws = ("dropout",)
    view = True
    positional = ("p",)
    args = (Arg("p", number(0, 1), 0.5, "drop probability"),)

    def shape(self, a: Args, x: Shape) -> Shape:
        return x

    def flops(self, a: Args, x: Shape, y: Shape) -> int:
        return 0  # inference: the input passes through

    def trains_as_view(self, a: Args) -> bool:
        return a["p"] == 0

    def train_flops(self, a: Args, x: Shape, y: Shape) -> int:
        # one multiply by the scaled mask per element (drawing the mask not counted); none at p = 0
        return numel(x) if a["p"] else 0

    def saved(self, a: Args, x: Shape, y: Shape) -> tuple[Keep, ...]:
        return (new(numel(x), MASK),) if a["p"] else ()

    def backward_flops(self, a: Args, x: Shape, y: Shape) -> tuple[int, int]:
        return (numel(x) if a["p"] else 0), 0

    def grad_view(self, a: Args, x: Shape, y: Shape, i: int) -> bool:
        return a["p"] == 0  # p = 0: no backward of its own, the gradient is the output's

    rf = same_field

    def build(self, a: Args, x: Shape, y: Shape) -> Any:
        return self.torch("nn").Dropout(a["p"])


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

    def grad_view(self, a: Args, x: Shape, y: Shape, i: int) -> bool:
        return True  # the gradient is viewed back to the input's shape

    def shape(self, a: Args, x: Shape) -> Shape:
        return x

    rf = same_field

    def build(self, a: Args, x: Shape, y: Shape) -> Any:
        return self.torch("nn").Identity()
