"""Weight sharing (`shares:`): which parameter tensors of a layer are an earlier layer's.

A module called twice (a siamese tower, a refinement step run in a loop) or two modules holding
one tensor (`conv2.weight = conv1.weight`) is one set of parameters used at several places. The
spec says so per layer: `shares: conv1` (every parameter tensor and buffer of conv1: the same
module again) or `shares: {weight: conv1}` (the named tensors only). PyTorch's `parameters()`
yields each tensor once, so convcalc counts each once too: at the layer that has it first (its
owner); a layer sharing it shows it in its notes and leaves it out of its params, its
weight_bytes and, in training, its gradient and optimizer state (one tensor, accumulated). MACs,
FLOPs and activations are per call: sharing changes none of them.

Tensors are named as a kind's record orders them (`Kind.tensors`, PyTorch's order): `weight`
then `bias` for every kind, except the few below whose tensors are others. Pure: no torch.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from .errors import LayerError

DEFAULT = ("weight", "bias")
NAMES = {  # kinds whose parameter tensors are not (weight, bias)
    "sepconv": ("depthwise", "pointwise", "bias"),
    "deform_conv": ("weight", "bias", "offset_weight", "offset_bias"),
    "layer_scale": ("gamma",),
}
WHOLE = "*"  # shares: LAYER, every tensor and buffer


def tensor_names(kind: str, a: dict[str, Any], count: int) -> tuple[str, ...]:
    """The names of a layer's `count` parameter tensors, in its record's (PyTorch's) order."""
    names = NAMES.get(kind, DEFAULT)
    if "bias" in names and not a.get("bias", True) and kind != "deform_conv":
        names = tuple(n for n in names if n != "bias")
    elif kind == "deform_conv" and not a.get("bias", True):
        names = ("weight", "offset_weight", "offset_bias")
    if len(names) < count:  # a kind this table does not know: numbered
        names = tuple(f"tensor{i}" for i in range(count))
    return names[:count]


class Held(NamedTuple):
    """What one layer holds, as the analysis walks: its tensors by name (size, and the layer that
    owns it: itself unless shared) and its buffers (count, owner)."""

    kind: str
    tensors: dict[str, tuple[int, str]]
    buffers: tuple[int, str]


class Shared(NamedTuple):
    """A layer's shared tensors, resolved: (tensor, the layer that owns it) pairs, with the
    parameters and buffers they are (counted at the owner, not here)."""

    pairs: tuple[tuple[str, str], ...]
    params: int
    buffers: int


NONE = Shared((), 0, 0)


def held(name: str, kind: str, a: dict[str, Any], sizes: tuple[int, ...], buffers: int) -> Held:
    """A layer that shares nothing: every tensor its own."""
    return Held(kind, {t: (size, name) for t, size in zip(tensor_names(kind, a, len(sizes)), sizes)}, (buffers, name))


def resolve(name: str, shares: tuple[tuple[str, str], ...], mine: Held, found: dict[str, Held]) -> tuple[Held, Shared]:
    """Check a layer's `shares:` against the layers it names (`found`: what each earlier layer
    holds) and resolve each tensor to its first owner. LayerError names what does not fit."""
    tensors = dict(mine.tensors)
    buffers = mine.buffers
    pairs: list[tuple[str, str]] = []
    shared_params = shared_buffers = 0
    for tensor, owner in shares:
        theirs = found.get(owner)
        if theirs is None:
            raise LayerError(f"shares: {owner}: {owner} has no parameters or buffers to share")
        if tensor == WHOLE:
            if not mine.tensors and not mine.buffers[0]:
                raise LayerError(f"shares: {owner}: a {mine.kind} like this one has no parameters or buffers to share")
            ours_sizes = {t: size for t, (size, _) in mine.tensors.items()}
            their_sizes = {t: size for t, (size, _) in theirs.tensors.items()}
            if ours_sizes != their_sizes or mine.buffers[0] != theirs.buffers[0]:
                raise LayerError(f"shares: {owner}: its parameters ({_sizes(ours_sizes, mine.buffers[0])}) are not "
                                 f"{owner}'s ({_sizes(their_sizes, theirs.buffers[0])}): a shared layer has the "
                                 "same arguments and input channels")
            names = list(mine.tensors)
            if mine.buffers[0]:
                shared_buffers += mine.buffers[0]
                buffers = theirs.buffers
        else:
            if tensor not in mine.tensors:
                has = ", ".join(mine.tensors) or "none"
                raise LayerError(f"shares: {{{tensor}: {owner}}}: a {mine.kind} like this one has no tensor "
                                 f"'{tensor}' (its parameter tensors: {has})")
            if tensor not in theirs.tensors:
                raise LayerError(f"shares: {{{tensor}: {owner}}}: {owner} has no tensor '{tensor}' "
                                 f"(its parameter tensors: {', '.join(theirs.tensors) or 'none'})")
            if mine.tensors[tensor][0] != theirs.tensors[tensor][0]:
                raise LayerError(f"shares: {{{tensor}: {owner}}}: its {tensor} has {mine.tensors[tensor][0]:,} values, "
                                 f"{owner}'s has {theirs.tensors[tensor][0]:,}: a shared tensor is one tensor")
            names = [tensor]
        for t in names:
            if tensors[t][1] != name:
                raise LayerError(f"shares: its {t} is shared twice")
            size, root = theirs.tensors[t]
            tensors[t] = (size, root)
            shared_params += size
            pairs.append((t, root))
    return Held(mine.kind, tensors, buffers), Shared(tuple(pairs), shared_params, shared_buffers)


def _sizes(sizes: dict[str, int], buffers: int) -> str:
    parts = [f"{t} {size:,}" for t, size in sizes.items()] + ([f"buffers {buffers:,}"] if buffers else [])
    return ", ".join(parts) or "none"
