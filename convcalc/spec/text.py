"""The one-line text form: `3x224x224 | conv 64 k7 s2 p3 | bn | relu | maxpool k3 s2 p1`.

The first segment is the input shape, optionally followed by `batch=N`, `dtype=D`, `name=N`.
Each further segment is one layer: its kind, then any of

    key=value     any argument: k=3x1, p=same, p=2:0 (left:right per axis), from=a,b, repeat=3
    k3 s2 p1 d2   short forms of k, s, p, d (and g4 for groups); 3x1 gives one value per axis
    same|valid|full   the padding words
    64            a bare value fills the kind's next positional argument (conv's out, a pool's k)

Values: `3x1` or `3,1` are lists, `2:0x1:1` per-axis [left, right] pairs, `true`/`false`,
numbers and words as written. The result is the
same structure a YAML spec gives, so both go through the same validation. Blocks, residual and
parallel need YAML; everything else (merges with from=, names, repeat) is writable here.
`write_line` is the way back: layers given as (kind, raw arguments) in this form.
"""

from __future__ import annotations

import re
from typing import Any, Iterable, Mapping, Sequence

from .. import limits
from ..errors import LayerError, SpecError
from ..suggest import did_you_mean
from ..layers import REGISTRY
from .source import LList, LMap

_SHORT = re.compile(r"([kspdg])([0-9]+(?:x[0-9]+)*)\Z")
_SHORT_KEYS = {"k": "k", "s": "s", "p": "p", "d": "d", "g": "groups"}
_INTS = re.compile(r"-?[0-9]+(?:x-?[0-9]+)+\Z")
_INT = re.compile(r"-?[0-9]+\Z")
_PAIRS = re.compile(r"[0-9]+:[0-9]+(?:x[0-9]+:[0-9]+)*\Z")
_FLOAT = re.compile(r"-?([0-9]+\.[0-9]*|\.[0-9]+|[0-9]+(\.[0-9]*)?[eE][-+]?[0-9]+)\Z")


def value(token: str) -> Any:
    """One value as written on the command line."""
    if "," in token:
        return [value(part) for part in token.split(",")]
    if _PAIRS.match(token):  # per-axis [left, right] padding: 2:0 or 0:1x1:1
        return [[int(v) for v in pair.split(":")] for pair in token.split("x")]
    if _INTS.match(token):
        return [int(v) for v in token.split("x")]
    if _INT.match(token):
        return int(token)
    if _FLOAT.match(token):
        return float(token)
    lowered = token.lower()
    if lowered in ("inf", "-inf", ".inf", "-.inf"):  # a pad's fill before a max pool; arguments say where it may be
        return float(lowered.replace(".", ""))
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered in ("null", "none"):
        return None
    return token


def _entry(segment: str, index: int, source: str) -> LMap:
    tokens = segment.split()
    if not tokens:
        raise SpecError(f"layer {index} is empty (two '|' in a row?)", file=source, line=1)
    kind, rest = tokens[0], tokens[1:]
    if kind not in REGISTRY:
        raise SpecError(f"layer {index}: unknown layer kind '{kind}'{did_you_mean(kind, REGISTRY)}"
                        + (" (blocks, residual and parallel need a YAML spec)" if kind in ("block", "residual", "parallel") else ""),
                        file=source, line=1)
    record = REGISTRY[kind]
    args = LMap(1)
    positional = list(record.positional)

    def put(key: str, val: Any) -> None:
        if key in args:
            raise SpecError(f"layer {index} ({kind}): '{key}' is given twice", file=source, line=1)
        args[key] = val
        args.lines[key] = 1

    for token in rest:
        if "=" in token:
            key, _, raw = token.partition("=")
            put(key, value(raw))
            continue
        short = _SHORT.match(token)
        if short and _SHORT_KEYS[short.group(1)] in record.schema:
            put(_SHORT_KEYS[short.group(1)], value(short.group(2)))
        elif token in ("same", "valid", "full") and "p" in record.schema:
            put("p", token)
        elif positional:
            key = positional.pop(0)
            while key in args and positional:
                key = positional.pop(0)
            put(key, value(token))
        else:
            raise SpecError(f"layer {index} ({kind}): unexpected '{token}'; write key=value"
                            + (f" (keys: {', '.join(record.schema)})" if record.schema else ""), file=source, line=1)
    entry = LMap(1)
    entry[kind] = args
    entry.lines[kind] = 1
    return entry


def parse_line(line: str, source: str) -> LMap:
    """The text form -> the same LMap a YAML spec parses to."""
    long_number = re.search(r"[0-9]{%d,}" % (limits.MAX_NUMBER_CHARS + 1), line)
    if long_number:  # Python will not parse integers of more than 4,300 digits; no spec needs 40
        raise SpecError(f"the number '{long_number.group()[:12]}...' is {len(long_number.group())} digits long, "
                        f"over the limit of {limits.MAX_NUMBER_CHARS}", file=source, line=1)
    segments = line.split("|")
    head = segments[0].split()
    if not head:
        raise SpecError("the text form starts with the input shape, like '3x224x224 | conv 16 k3'", file=source, line=1)
    doc = LMap(1)
    doc["input"] = head[0]
    doc.lines["input"] = 1
    for token in head[1:]:
        key, eq, raw = token.partition("=")
        if not eq or key not in ("batch", "dtype", "name"):
            raise SpecError(f"after the input shape only batch=, dtype= and name= may follow, got '{token}'",
                            file=source, line=1)
        doc[key] = value(raw) if key == "batch" else raw
        doc.lines[key] = 1
    layers = LList(1)
    for index, segment in enumerate(segments[1:], start=1):
        layers.append(_entry(segment, index, source))
        layers.lines.append(1)
    doc["layers"] = layers
    doc.lines["layers"] = 1
    return doc


def _write(value: Any) -> str:
    """A raw argument value as `value` reads it back: 3x1, 2:0x1:1, a,b, true, null."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, (list, tuple)):
        if value and all(isinstance(v, (list, tuple)) for v in value):  # per-axis [left, right]
            return "x".join(":".join(map(str, pair)) for pair in value)
        if all(type(v) is int for v in value):
            return "x".join(map(str, value))
        return ",".join(map(_write, value))
    return str(value)


def _bare(kind: str, key: str, value: Any, nd: int) -> bool:
    """Whether an argument is written without its key: the kind's first positional argument when
    it is one number, not one per axis (`conv 64`, `channel_shuffle 2`; but `dwconv k=3`), as
    `describe` writes it."""
    record = REGISTRY[kind]
    if record.positional[:1] != (key,) or type(value) is not int:
        return False
    try:
        return not isinstance(record.schema[key].convert(value, nd, key), tuple)
    except LayerError:
        return False


def write_line(input: Sequence[int], layers: Iterable[tuple[str, Mapping[str, Any]]], **head: Any) -> str:
    """The one-line form of an input shape, head keys (batch, dtype, name; in the order given)
    and layers as (kind, raw arguments): every argument as key=value in the order given, but
    for a first positional one written bare."""
    nd = len(input) - 1
    segments = [" ".join(["x".join(map(str, input)), *(f"{key}={value}" for key, value in head.items())])]
    for kind, args in layers:
        parts = [kind]
        for i, (key, value) in enumerate(args.items()):
            parts.append(_write(value) if i == 0 and _bare(kind, key, value, nd) else f"{key}={_write(value)}")
        segments.append(" ".join(parts))
    return " | ".join(segments)
