"""The core both importers share: the values a graph walk carries, rules declared as data, and
the mapper's common state (layer names, the layers made, the operators it could not map).

A rule is registered in its importer's table with what it needs from the dispatcher, declared
where it is registered (fvcore's handler table, torch's `register_flop_formula`):

    @function("Tensor.view", "Tensor.reshape", torch.reshape, shuffle="end", channels_last="flatten",
              param_view=True)
    def _view(c: Call) -> Any: ...

The table holds a `Rule` (the function and its declarations) per key, and the dispatchers read
only those declarations: no dispatcher tests which function a rule is. What each declaration
means, and which importer reads it, is on `Rule`'s fields; docs/architecture.md has the table.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

from ..errors import ConvcalcError
from .model import Layer, LayerNames


# --------------------------------------------------------------------------------------------
# Values while mapping (those of one importer alone are in its module)


class Ref(NamedTuple):
    """A tensor convcalc has: the layer that made it (or "input") and its per-sample shape. A name
    starting with "?" is what an operator convcalc could not map made."""

    name: str
    shape: tuple[int, ...]


class Mapped(NamedTuple):
    """A rule's result: layers in order (kind, YAML args), the last one giving the value, the first
    reading `inputs`."""

    layers: list[tuple[str, dict[str, Any]]]
    inputs: list[Ref]
    params: int | None = None  # ONNX: the initializers' elements these layers hold, checked against convcalc's
    widened: int | None = None  # ONNX: the result keeps a size-1 axis put in here (Widened), as its input did


class Pending(NamedTuple):
    """A step of ShuffleNet's channel shuffle (view or Reshape [C, ...] to [g, C/g, ...], then
    transpose(1, 2)): not a layer until the view back completes it. Only rules that declare
    `shuffle` may read it."""

    ref: Ref
    groups: int
    transposed: bool


class ChannelsLast(NamedTuple):
    """x.permute(0, 2, 3, 1) or Transpose [N, C, ...] -> [N, ..., C] of a tensor convcalc has
    (ConvNeXt's blocks): the same values with the channels last. Rules that declare `per_position`
    or `channels_last` read it as the channels-first layer they equal (ln, a 1x1 conv, the
    activation) until the permute back; any other operator reading it is unsupported."""

    ref: Ref  # the channels-first tensor it is a view of
    base: str = ""  # PyTorch: the permute's layer name, should an operator convcalc cannot map read the view
    what: str = ""
    shape: tuple[int, ...] = ()  # PyTorch: the view's traced per-sample shape


class Transposed(NamedTuple):
    """x.transpose(-2, -1) (or a permute swapping the last two axes) of a tensor convcalc has: not
    a layer until something reads it. A rule that declares `transposed` reads it (a product folds
    it into `transpose_b`: q @ kᵀ); for any other reader the dispatcher makes it the `transpose`
    layer it is (PyTorch's numbering, dim0 < dim1)."""

    ref: Ref
    dim0: int
    dim1: int
    base: str = ""  # the transpose's layer name, should it become one
    what: str = ""
    shape: tuple[int, ...] = ()  # the transposed per-sample shape


# --------------------------------------------------------------------------------------------
# Rules declared as data


CHANNELS_LAST = ("keep", "rule", "flatten")
SHUFFLE = ("keep", "rule", "end")


class Rule(NamedTuple):
    """A mapping rule and what it declares to the dispatcher. Left at their defaults, the rule
    reads plain tensors only: a channels-last view or a pending channel shuffle among its inputs
    makes the operator unsupported."""

    fn: Callable[[Any], Any] | None  # Call -> Mapped, a value, or raises Unsupported; None: no rule
    # Its layer acts on each position's channels alone, or on each value (activations, dropout):
    # on a channels-last view it is the same rule applied to the channels-first tensor.
    per_position: bool = False
    # On a channels-last view: "keep" (the view itself, no layer: x.contiguous()), "rule" (the rule
    # reads the view itself: the permute or Transpose back, ONNX's arithmetic), "flatten" (a flatten
    # of the view to one row is a flatten layer, Keras' order; another shape is unsupported), or a
    # function (mapper, call, x) -> Mapped giving the channels-first layers on the tensor x the view
    # is of (LayerNorm or Linear over the last axis: ln over the channels, a 1x1 conv).
    channels_last: str | Callable[[Any, Any, Ref], Mapped] | None = None
    # On a pending channel shuffle: "keep" (passed on unchanged), "rule" (the rule reads it: the
    # transpose, ONNX's Reshape back), "end" (the view back: the dispatcher makes the
    # channel_shuffle layer).
    shuffle: str | None = None
    # It reads a pending transpose of the last two axes (Transposed) itself: the product of two
    # activations, folding it into transpose_b. Left False, the dispatcher makes the transpose a layer first.
    transposed: bool = False
    param_view: bool = False  # PyTorch: a view of a parameter (gamma.reshape(1, -1, 1, 1)) is still the parameter
    folds_bias: bool = False  # ONNX: an Add of a stored bias after a bias_follows rule's layer is that layer's bias
    bias_follows: bool = False  # ONNX: its linear (or channels-last 1x1 conv) layer's bias may be the next Add


NO_RULE = Rule(None)
_SHARED = ("per_position", "channels_last", "shuffle", "transposed")


def rule_table(table: dict[Any, Rule], *reads: str) -> Callable[..., Callable[[Any], Any]]:
    """A decorator filling `table` (operator, module type or function -> its Rule): one rule may serve
    several keys (stacked decorators give keys their own declarations), a key given two rules is
    refused at import, as the layer registry refuses a kind registered twice, and so is a
    declaration this table's dispatcher does not read (`reads`: the importer's own, beside the
    shared per_position, channels_last, shuffle and transposed)."""
    known = set(_SHARED) | set(reads)

    def keys(*targets: Any, **declared: Any) -> Callable[[Any], Any]:
        unread = sorted(set(declared) - known)
        if unread:
            raise TypeError(f"this importer's dispatcher reads no {', '.join(unread)}")
        mode = declared.get("channels_last")
        if mode is not None and not callable(mode) and mode not in CHANNELS_LAST:
            raise TypeError(f"channels_last={mode!r}: one of {', '.join(CHANNELS_LAST)}, or a function")
        if mode is not None and declared.get("per_position"):
            raise TypeError("a per_position rule's channels-last form is the rule itself: declare one of the two")
        if declared.get("shuffle") not in (None, *SHUFFLE):
            raise TypeError(f"shuffle={declared['shuffle']!r}: one of {', '.join(SHUFFLE)}")

        def register(fn: Any) -> Any:
            for target in dict.fromkeys(targets):  # torch aliases some (F.channel_shuffle is torch.channel_shuffle)
                if target in table:
                    raise TypeError(f"{getattr(target, '__name__', target)} has two rules")
                table[target] = Rule(fn, **declared)
            return fn

        return register

    return keys


# --------------------------------------------------------------------------------------------
# What every mapper holds


class MapperBase:
    """The state a graph walk shares between importers: the layers made, their names (each unique,
    never a parent of another: model.LayerNames), and the operators no rule maps, with where they
    are. An importer's mapper adds its walk, `base` (a node's layer name) and `emit`."""

    def __init__(self, source: str, allow_unknown: bool) -> None:
        self.source = source
        self.allow_unknown = allow_unknown
        self.layers: list[Layer] = []
        self.naming = LayerNames()
        self.unsupported: dict[str, list[str]] = {}  # what (with why) -> the layer names it would have had

    def unique(self, base: str) -> str:
        return self.naming.unique(base)

    def listed(self, what: str, place: str) -> None:
        """An operator convcalc cannot map, at `place`: the import fails listing them all."""
        self.unsupported.setdefault(what, []).append(place)

    def check_mapped(self) -> None:
        """Every operator mapped, or one line listing those that are not, with their counts and places."""
        if self.unsupported:
            raise ConvcalcError(unsupported_message(self.source, self.unsupported), file=self.source)

    def chain(self, layers: list[tuple[str, dict[str, Any]]], inputs: tuple[str, ...], base: str, where: str,
              facts: Callable[[int, str, dict[str, Any]], tuple[Any, Any, Any, Any]]) -> str:
        """Append a rule's layers in order, each reading the one before, the last named `base` and
        the others `base_kind`; `facts(i, kind, args)` gives each one's (shape, params, buffers,
        shares) before it is named, and may raise (no layer is then added for it). The last name."""
        name = ""
        for i, (kind, args) in enumerate(layers):
            last = i == len(layers) - 1
            shape, params, buffers, shares = facts(i, kind, args)
            name = self.unique(base if last else f"{base}_{kind}")
            self.layers.append(Layer(name, kind, args, inputs, where, shape, params, buffers, shares))
            inputs = (name,)
        return name


def unsupported_message(source: str, found: dict[str, list[str]]) -> str:
    """One line listing every unsupported operator with its count and where it is."""
    parts = []
    for what, places in sorted(found.items(), key=lambda item: (-len(item[1]), item[0])):
        shown = ", ".join(places[:4]) + (f", ... ({len(places) - 4} more)" if len(places) > 4 else "")
        parts.append(f"{what} ×{len(places)} ({shown})")
    total = sum(len(places) for places in found.values())
    return (f"{total} operator{'s' if total != 1 else ''} convcalc cannot map: " + "; ".join(parts)
            + ". --allow-unknown imports each as an opaque layer whose costs are unknown (docs/import.md)")
