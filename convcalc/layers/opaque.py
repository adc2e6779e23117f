"""Operators an importer could not map (`convcalc import --allow-unknown`): `Opaque`, whose shape
and parameters come from the model and whose counts are unknown, never zero."""

from __future__ import annotations

from typing import Any

from ..args import Arg, int_list, integer, text
from ..errors import LayerError
from .kind import RF, Args, Keep, Kind, Shape, register

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

    def prepare(self, a: Args, nd: int) -> Args:
        if any(v < 1 for v in a["shape"]):
            raise LayerError(f"shape sizes must be positive, got {list(a['shape'])}")
        return a

    def shape(self, a: Args, x: Shape) -> Shape:
        return tuple(a["shape"])

    def params(self, a: Args, x: Shape, y: Shape) -> int:
        return a["params"]

    def buffers(self, a: Args, x: Shape, y: Shape) -> int:
        return a["buffers"]

    def flops(self, a: Args, x: Shape, y: Shape) -> int:
        return 0  # unknown: `uncounted` says so

    def rf(self, a: Args, x: Shape, y: Shape, r: RF) -> RF:
        first = r[0] if self.merge else r
        return tuple((size, 0, start) for size, _, start in first)

    def sees_all(self, a: Args, x: Shape, y: Shape) -> bool:
        return True

    saves = "unknown: `convcalc memory` refuses a spec with an opaque layer"
    backward_costs = ("unknown", "unknown")

    def saved(self, a: Args, x: Shape, y: Shape) -> tuple[Keep, ...]:
        # Never a silent zero: what an unknown operator keeps for the backward is unknown.
        raise LayerError(f"what the imported operator '{a['op']}' keeps for the backward is unknown, so training "
                         "memory cannot be counted (map the operator, or leave it out of the model)")

    def backward_flops(self, a: Args, x: Shape, y: Shape) -> tuple[int, int]:
        raise LayerError(f"the backward of the imported operator '{a['op']}' is unknown")

    def build(self, a: Args, x: Shape, y: Shape) -> Any:
        return self.torch("Opaque", tuple(a["shape"]), a["params"], a["buffers"])


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
