"""Did-you-mean suggestions for a mistyped name: a layer kind, an argument key, a layer, a spec.

`did_you_mean(word, choices)` gives the hint an error message ends with: a PyTorch or Keras word
for one of convcalc's names (`BatchNorm2d` -> `bn`, `kernel_size` -> `k`), the same name but for
case, `_` and `2d`, the names one edit away, else difflib's closest. Bounded, as it runs on
hostile specs. The error types themselves are in errors.py.
"""

from __future__ import annotations


# PyTorch's and Keras' words for convcalc's kinds and argument keys, written as `_plain` writes
# them (lower case, no `_`, no `nn.` and no `2d`): a word suggests the first of its names that the
# place it was written takes, so `stride` means `s` for a conv and nothing for a relu. A foreign
# word that equals a convcalc name but for case, `_` and `2d` (`MaxPool2d`, `LeakyReLU`) needs no
# entry.
_FOREIGN = {
    # kinds
    "batchnorm": ("bn",), "batchnormalization": ("bn",), "layernorm": ("ln",), "layernormalization": ("ln",),
    "groupnorm": ("gn",), "groupnormalization": ("gn",), "instancenorm": ("in",),
    "instancenormalization": ("in",), "localresponsenorm": ("lrn",), "localresponsenormalization": ("lrn",),
    "dense": ("linear",), "fc": ("linear",), "fullyconnected": ("linear",),
    "convtranspose": ("deconv",), "transposedconv": ("deconv",), "deconvolution": ("deconv",),
    "depthwiseconv": ("dwconv",), "separableconv": ("sepconv",), "pointwiseconv": ("pwconv",),
    "maxpooling": ("maxpool",), "averagepooling": ("avgpool",), "avgpooling": ("avgpool",),
    "averagepool": ("avgpool",), "globalaveragepooling": ("gap",), "globalavgpool": ("gap",),
    "globalaveragepool": ("gap",), "globalmaxpooling": ("adaptive_maxpool",),
    "upsampling": ("upsample",), "interpolate": ("upsample",), "zeropadding": ("pad",), "zeropad": ("pad",),
    "constantpad": ("pad",), "reflectionpad": ("pad",), "replicationpad": ("pad",), "circularpad": ("pad",),
    "cropping": ("crop",), "centercrop": ("crop",), "concatenate": ("concat",), "cat": ("concat",),
    "multiply": ("mul",), "swish": ("silu",), "spatialdropout": ("dropout",), "view": ("reshape",),
    # argument keys
    "kernelsize": ("k",), "kernel": ("k",), "poolsize": ("k",), "stride": ("s",), "strides": ("s",),
    "padding": ("p",), "dilation": ("d",), "dilationrate": ("d",), "outchannels": ("out",),
    "outfeatures": ("out",), "filters": ("out",), "units": ("out",), "numgroups": ("groups",),
    "depthmultiplier": ("multiplier",), "rate": ("p",), "epsilon": ("eps",), "negativeslope": ("slope",),
    "scalefactor": ("scale",), "outputsize": ("size",), "numembeddings": ("vocab",), "inputdim": ("vocab",),
    "embeddingdim": ("dim",), "outputdim": ("dim",), "usebias": ("bias", "affine"), "bias": ("affine",),
    "paddingmode": ("mode",), "inputshape": ("input",), "inputsize": ("input",),
}
# Sizes PyTorch asks for and convcalc takes from the layer's input.
_INFERRED = ("inchannels", "infeatures", "numfeatures", "normalizedshape", "inputshape", "inputsize")
_MOST_CHARS = 80  # a longer word gets no suggestion, and longer choices are not compared
_MOST_CANDIDATES = 100  # choices compared by difflib; beyond, those next to the word in sort order


def _plain(word: str) -> str:
    """`nn.Conv2d` -> `conv`, `Conv2DTranspose` -> `convtranspose`, `kernel_size` -> `kernelsize`."""
    import re

    word = re.sub(r"^(torch\.)?(nn|layers|keras\.layers|tf\.keras\.layers)\.", "", word.lower())
    return re.sub(r"[123]d(?=$|transpose)", "", word).replace("_", "")


def did_you_mean(word: str, choices: object) -> str:
    """' (did you mean 'x'?)' for the closest choice, or '' when none is close.

    Bounded, as it runs on hostile specs: a word longer than _MOST_CHARS gets no suggestion, only
    choices of a length difflib could find close are compared, and of those at most
    _MOST_CANDIDATES: the ones nearest the word in sort order and in sort order of their reversed
    text (a typo late in a name keeps its prefix, one early keeps its suffix). One misspelt
    `from:` among 100,000 layers with 900-character names took a minute before."""
    word = str(word)
    if len(word) > _MOST_CHARS:
        return ""
    names = list(map(str, choices))  # type: ignore[call-overload]
    plain = _plain(word)
    for name in _FOREIGN.get(plain, ()):
        if name in names:
            return f" (did you mean '{name}'?)"
    if plain in _INFERRED:
        return " (convcalc takes that size from the layer's input: leave it out)"
    # difflib's ratio is 2 * matches / (len(a) + len(b)): at 0.6 the shorter has >= 3/7 of the longer.
    shortest, longest = -(-3 * len(word) // 7), min(7 * len(word) // 3, _MOST_CHARS)
    pool = [name for name in names if shortest <= len(name) <= longest]
    if len(pool) > _MOST_CANDIDATES:
        pool = _nearest(word, pool)
    same = [name for name in pool if _plain(name) == plain]
    if same:
        return f" (did you mean '{min(same)}'?)"
    # One letter dropped, added, changed or two swapped: difflib's ratio misses some of these
    # (`bachnorm` is one letter from PyTorch's `batchnorm`, far from its name `bn`), so they are
    # looked for first, among the names and the foreign words the names answer to. Ties are all
    # named (`ad` is one letter from `add` and from `pad`), the most alike first, up to _MOST_TIES.
    import difflib  # only on the error path

    near = ({name for name in pool if _one_edit(plain, _plain(name))}
            | {name for foreign, ours in _FOREIGN.items() if _one_edit(plain, foreign)
               for name in ours[:1] if name in names})
    if near:  # the most alike first: `rn` is `lrn` with a letter lost before it is `bn` changed
        return _suggest(sorted(near, key=lambda name: (-difflib.SequenceMatcher(None, word, name).ratio(), name)))

    close = difflib.get_close_matches(word, pool, n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


_MOST_TIES = 4  # names suggested at once when several are one edit away


def _suggest(near: list[str]) -> str:
    """' (did you mean 'a'?)', ' (did you mean 'a' or 'b'?)', ' (did you mean 'a', 'b' or 'c'?)'."""
    quoted = [f"'{name}'" for name in near[:_MOST_TIES]]
    if len(near) > _MOST_TIES:
        return f" (did you mean {', '.join(quoted)} or another?)"
    ored = quoted[-1] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} or {quoted[-1]}"
    return f" (did you mean {ored}?)"


def _one_edit(a: str, b: str) -> bool:
    """Whether `a` and `b` differ by one edit: a letter dropped, added or changed, or two
    neighbours swapped (the optimal-string-alignment distance is 1). Linear in their length."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    start = 0
    while start < min(len(a), len(b)) and a[start] == b[start]:
        start += 1
    if len(a) != len(b):  # one letter dropped from the longer
        longer, shorter = (a, b) if len(a) > len(b) else (b, a)
        return longer[start + 1:] == shorter[start:]
    return (a[start + 1:] == b[start + 1:]  # one letter changed
            or (a[start + 2:] == b[start + 2:] and a[start:start + 2] == b[start:start + 2][::-1]))


def _nearest(word: str, pool: list[str]) -> list[str]:
    """The _MOST_CANDIDATES names of `pool` next to `word`: half by sort order, half by the sort
    order of the reversed names."""
    from bisect import bisect

    side = _MOST_CANDIDATES // 4
    ordered = sorted(pool)
    at = bisect(ordered, word)
    chosen = set(ordered[max(at - side, 0): at + side])
    ordered = sorted(name[::-1] for name in pool)
    at = bisect(ordered, word[::-1])
    chosen.update(name[::-1] for name in ordered[max(at - side, 0): at + side])
    return sorted(chosen)
