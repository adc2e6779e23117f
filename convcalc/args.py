"""Argument schemas: how a layer's YAML arguments are checked and normalized, once, at parse time.

Each layer kind in the registry lists its `Arg`s. `normalize` turns the raw mapping a user wrote
into a plain dict of canonical values: per-axis arguments become tuples with one entry per
spatial axis (`k: 3` in a 2-D net is `(3, 3)`), padding becomes `((left, right), ...)` or one of
the words `same`/`full`, defaults are filled in. Types are strict: `3.0` is not an integer and
`1` is not a boolean. Every failure is a `LayerError` naming the argument and what was expected.
"""

from __future__ import annotations

from typing import Any, Callable

from .errors import LayerError
from .suggest import did_you_mean

REQUIRED = object()
"""Marks an argument without a default."""

PAD_WORDS = ("valid", "same", "full")


def _is_int(value: object) -> bool:
    return type(value) is int  # bool is an int subclass; it never counts as one here


def _describe(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 40 else text[:37] + "..."


class Arg:
    """One argument: its name, a converter to the canonical value, a default, and a help line."""

    __slots__ = ("name", "convert", "default", "doc")

    def __init__(self, name: str, convert: Callable[[Any, int, str], Any], default: Any = REQUIRED, doc: str = "") -> None:
        self.name = name
        self.convert = convert
        self.default = default
        self.doc = doc


# Converters: (value, nd, argument name) -> canonical value. `nd` is the number of spatial axes.


def _range(minimum: float | None, maximum: float | None) -> str:
    """'at least 0', 'at most 1' or 'between 0 and 1': a range in words, open sides left out."""
    if maximum is None:
        return f"at least {minimum}"
    if minimum is None:
        return f"at most {maximum}"
    return f"between {minimum} and {maximum}"


def integer(minimum: int = 1, maximum: int | None = None) -> Callable[[Any, int, str], int]:
    def convert(value: Any, nd: int, name: str) -> int:
        if not _is_int(value):
            raise LayerError(f"{name} must be an integer, got {_describe(value)}")
        if value < minimum or (maximum is not None and value > maximum):
            raise LayerError(f"{name} must be {_range(minimum, maximum)}, got {value}")
        return value

    convert.__doc__ = f"an integer >= {minimum}"
    return convert


def number(minimum: float | None = None, maximum: float | None = None,
           infinite: bool = False) -> Callable[[Any, int, str], float]:
    def convert(value: Any, nd: int, name: str) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise LayerError(f"{name} must be a number, got {_describe(value)}")
        if value != value or not infinite and value in (float("inf"), float("-inf")):
            raise LayerError(f"{name} must be a finite number, got {_describe(value)}")
        if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
            raise LayerError(f"{name} must be {_range(minimum, maximum)}, got {_describe(value)}")
        return value

    return convert


def boolean(value: Any, nd: int, name: str) -> bool:
    if not isinstance(value, bool):
        raise LayerError(f"{name} must be true or false, got {_describe(value)}")
    return value


def choice(*options: str) -> Callable[[Any, int, str], str]:
    def convert(value: Any, nd: int, name: str) -> str:
        if value not in options:
            raise LayerError(
                f"{name} must be one of {', '.join(options)}, got {_describe(value)}"
                + (did_you_mean(value, options) if isinstance(value, str) else "")
            )
        return value

    return convert


def axes(minimum: int = 1) -> Callable[[Any, int, str], tuple[int, ...]]:
    """An int for every spatial axis, or a list with one int per axis."""

    def convert(value: Any, nd: int, name: str) -> tuple[int, ...]:
        if _is_int(value):
            values = (value,) * nd
        elif isinstance(value, list) and len(value) == nd and all(_is_int(v) for v in value):
            values = tuple(value)
        else:
            raise LayerError(
                f"{name} must be an integer or a list of {nd} integers (one per spatial axis), got {_describe(value)}"
            )
        for v in values:
            if v < minimum:
                raise LayerError(f"{name} must be at least {minimum}, got {_describe(value)}")
        return values

    return convert


def padding(words: tuple[str, ...] = PAD_WORDS) -> Callable[[Any, int, str], Any]:
    """Padding: an int, a per-axis list of ints or [left, right] pairs, or one of `words`.

    Canonical form: `((left, right), ...)` per axis, or the word `same`/`full` (resolved
    against the input size by the shape rule); `valid` is zero padding.
    """

    def convert(value: Any, nd: int, name: str) -> Any:
        if isinstance(value, str):
            if value not in words:
                raise LayerError(f"{name} must be an integer, a list, or one of {', '.join(words)}, got {_describe(value)}"
                                 + did_you_mean(value, words))
            return ((0, 0),) * nd if value == "valid" else value
        if _is_int(value):
            pairs = ((value, value),) * nd
        elif isinstance(value, list) and len(value) == nd:
            pairs = []
            for v in value:
                if _is_int(v):
                    pairs.append((v, v))
                elif isinstance(v, list) and len(v) == 2 and all(_is_int(e) for e in v):
                    pairs.append((v[0], v[1]))
                else:
                    break
            else:
                pairs = tuple(pairs)
            if isinstance(pairs, list):
                raise LayerError(f"{name}: each axis takes an integer or a [left, right] pair, got {_describe(value)}")
        else:
            raise LayerError(
                f"{name} must be an integer, a list of {nd} (one per spatial axis) or one of "
                f"{', '.join(words)}, got {_describe(value)}"
            )
        if any(v < 0 for pair in pairs for v in pair):
            raise LayerError(f"{name} must not be negative, got {_describe(value)}")
        return pairs

    return convert


def pad_amounts(value: Any, nd: int, name: str) -> tuple[tuple[int, int], ...]:
    """`pad`'s p: the explicit forms of conv's padding (an int, a per-axis list, per-axis
    [left, right] pairs), as `((left, right), ...)`. The words same/valid/full depend on a kernel,
    which a pad has not; a negative pad (a crop in F.pad) is refused in favour of `crop`."""
    expected = f"{name} must be an integer or a list of {nd} (an integer or a [left, right] pair per spatial axis)"
    if value in PAD_WORDS:
        raise LayerError(f"{expected}, got {_describe(value)}: a pad has no kernel for same, valid or full to refer to")
    if type(value) is not int and not (isinstance(value, list) and len(value) == nd):
        raise LayerError(f"{expected}, got {_describe(value)}")
    flat = value if isinstance(value, list) else [value]
    flat = [v for item in flat for v in (item if isinstance(item, list) else [item])]
    if any(type(v) is int and v < 0 for v in flat):
        raise LayerError(f"{name} must not be negative, got {_describe(value)}: F.pad crops with a negative pad, "
                         f"convcalc writes that as `crop`")
    return padding(())(value, nd, name)


def symmetric_padding(value: Any, nd: int, name: str) -> tuple[int, ...]:
    """Pools and unpooling take one symmetric pad per axis, as PyTorch does."""
    return axes(minimum=0)(value, nd, name)


def sizes(value: Any, nd: int, name: str) -> tuple[int | None, ...]:
    """Adaptive-pool output size: an int, or a per-axis list where null keeps the input size."""
    if _is_int(value):
        values: tuple = (value,) * nd
    elif isinstance(value, list) and len(value) == nd and all(v is None or _is_int(v) for v in value):
        values = tuple(value)
    else:
        raise LayerError(f"{name} must be an integer or a list of {nd} integers or nulls, got {_describe(value)}")
    if any(v is not None and v < 1 for v in values):
        raise LayerError(f"{name} must be at least 1, got {_describe(value)}")
    return values


def scales(value: Any, nd: int, name: str) -> tuple[float, ...]:
    """Upsampling factors: a positive number or one per axis."""
    one = number()
    if isinstance(value, list):
        if len(value) != nd:
            raise LayerError(f"{name} must be a number or a list of {nd} numbers, got {_describe(value)}")
        values = tuple(one(v, nd, name) for v in value)
    else:
        values = (one(value, nd, name),) * nd
    if any(v <= 0 for v in values):
        raise LayerError(f"{name} must be positive, got {_describe(value)}")
    return values


def int_list(value: Any, nd: int, name: str) -> tuple[int, ...]:
    if _is_int(value):
        value = [value]
    if not isinstance(value, list) or not value or not all(_is_int(v) for v in value):
        raise LayerError(f"{name} must be a non-empty list of integers, got {_describe(value)}")
    return tuple(value)


def text(value: Any, nd: int, name: str) -> str:
    if not isinstance(value, str):
        raise LayerError(f"{name} must be a string, got {_describe(value)}")
    return value


def normalize(schema: dict[str, Arg], raw: dict[str, Any], nd: int, kind: str) -> dict[str, Any]:
    """Check `raw` against `schema`; return canonical values with defaults filled in."""
    for key in raw:
        if key not in schema:
            known = ", ".join(schema) or "none"
            raise LayerError(f"unknown key '{key}' for {kind}{did_you_mean(key, schema)}; {kind} takes: {known}")
    out: dict[str, Any] = {}
    for name, arg in schema.items():
        if name in raw and raw[name] is not None:
            out[name] = arg.convert(raw[name], nd, name)
        elif arg.default is REQUIRED:
            raise LayerError(f"{kind} needs '{name}'" + (f" ({arg.doc})" if arg.doc else ""))
        elif arg.default is None or isinstance(arg.default, (str, bool, float)):
            out[name] = arg.default
        else:  # an int default, or a per-axis default spelled as an int
            out[name] = arg.convert(arg.default, nd, name)
    return out
