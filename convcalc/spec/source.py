"""Safe YAML reading with source lines.

YAML arrives from pull requests, so it is treated as hostile: the text is size-limited and must
be UTF-8; values are built from libyaml's event stream by a loop (no recursion, so no stack
overflow on deep nesting), nesting depth and alias expansion are bounded *before* anything is
expanded (a billion-laughs document is refused, never built), only the plain YAML types are
accepted (any explicit tag, `!!python/...` included, is an error and is never constructed), and
duplicate keys are errors rather than silently overwritten.

Mappings and lists come back as `LMap`/`LList`, ordinary dicts and lists that also remember the
line of themselves and of each key or item, so later errors can point at the line.
"""

from __future__ import annotations

from typing import Any

import yaml

from .. import limits
from ..errors import SpecError

try:  # libyaml's C parser when available (it is in PyYAML's wheels); same events either way
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]


class LMap(dict):
    """A mapping that knows its line and the line of each key."""

    __slots__ = ("line", "lines")

    def __init__(self, line: int) -> None:
        super().__init__()
        self.line = line
        self.lines: dict[Any, int] = {}


class LList(list):
    """A list that knows its line and the line of each item."""

    __slots__ = ("line", "lines")

    def __init__(self, line: int) -> None:
        super().__init__()
        self.line = line
        self.lines: list[int] = []


_PLAIN_TAGS = {
    "tag:yaml.org,2002:str", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool", "tag:yaml.org,2002:null",
}
_NUMBER_TAGS = {"tag:yaml.org,2002:int", "tag:yaml.org,2002:float"}
_NUMBER_STARTS = frozenset("+-0123456789")
_CONTAINER_TAGS = {None, "!", "tag:yaml.org,2002:seq", "tag:yaml.org,2002:map"}
_MERGE_KEY = "<<"


def read_text(path: str) -> str:
    """Read a spec file: size-limited, UTF-8, text, never waiting forever (fileio.read_bounded:
    a regular file, a FIFO once its writer is there, or a descriptor of this process such as
    /dev/stdin; a directory, device or socket is refused)."""
    from ..fileio import NotAFile, read_bounded

    try:
        data = read_bounded(path, limits.MAX_FILE_BYTES)
    except FileNotFoundError:
        raise SpecError("no such file", file=path) from None
    except NotAFile as exc:
        if exc.kind == "a directory":
            raise SpecError("is a directory, not a spec file", file=path) from None
        if exc.kind.startswith("a FIFO"):
            raise SpecError(f"is {exc.kind}; start the program that writes it first, or pipe the spec "
                            "into '-'", file=path) from None
        raise SpecError(f"not a regular file ({exc.kind}); give a spec file, or '-' for standard input",
                        file=path) from None
    except IsADirectoryError:
        raise SpecError("is a directory, not a spec file", file=path) from None
    except OSError as exc:
        raise SpecError(f"cannot read: {exc.strerror}", file=path) from None
    return decode(data, path)


def decode(data: bytes, source: str) -> str:
    if len(data) > limits.MAX_FILE_BYTES:
        raise SpecError(f"spec is larger than the limit of {limits.MAX_FILE_BYTES} bytes", file=source)
    if b"\x00" in data:
        raise SpecError("binary data (a NUL byte), not a YAML spec", file=source,
                        line=data[: data.index(b"\x00")].count(b"\n") + 1)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise SpecError(f"not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start})",
                        file=source, line=line) from None


def parse(text: str, source: str) -> Any:
    """YAML text -> plain Python values (LMap, LList, str, int, float, bool, None)."""
    loader = _Loader(text)
    try:
        return _build(loader, source)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        if "nesting depth" in problem:  # libyaml's own bound (PyYAML >= 6.0.4), deeper than ours
            problem = f"YAML nesting is deeper than the limit of {limits.MAX_YAML_DEPTH}"
            raise SpecError(problem, file=source, line=mark.line + 1 if mark else None) from None
        raise SpecError(f"YAML syntax error: {problem}", file=source,
                        line=mark.line + 1 if mark else None) from None
    except yaml.YAMLError as exc:
        raise SpecError(f"YAML error: {exc}", file=source) from None
    finally:
        loader.dispose()


_PATTERNS: dict[str, Any] = {}


def _pattern(name: str) -> Any:
    """A scalar pattern, compiled on first use (start-up time matters)."""
    if not _PATTERNS:
        import re

        _PATTERNS.update({
            # YAML 1.2's floats with an exponent that YAML 1.1 (PyYAML) reads as strings: no dot
            # (`1e-5`) or an unsigned exponent (`1.5e3`).
            "float12": re.compile(r"[-+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)[eE][-+]?[0-9]+\Z"),
            # How a number is written in a spec: decimal, as in YAML 1.2, JSON and the text form.
            "decimal": re.compile(r"[-+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]+)?\Z"
                                  r"|[-+]?\.(inf|Inf|INF)\Z|\.(nan|NaN|NAN)\Z"),
            # Plain words that YAML 1.1 reads as numbers other than decimal, or that look like them.
            "base60": re.compile(r"[-+]?[0-9][0-9_]*(:[0-9_]+)+(\.[0-9_]*)?\Z"),
            "leading0": re.compile(r"[-+]?0[0-9_]+\Z"),
        })
    return _PATTERNS[name]


def _misread(value: str, number: Any) -> str | None:
    """Why the plain scalar `value` (which YAML 1.1 reads as `number`, or as a string when None)
    is not a number a spec may hold, or None when it is fine. YAML 1.1 reads `1:1` as 61 (base 60),
    `016` as 14 (octal), `0x10` as 16 and `1_000` as 1000, while YAML 1.2, JSON and the text form
    read none of them so; a spec says what it means in decimal, so they are errors, never a
    silent surprise."""
    if _pattern("base60").match(value):
        parts = [part.lstrip("+") for part in value.split(":")]
        reads = f"a base-60 number in YAML 1.1 ({number})" if number is not None else "text in YAML"
        pair = "[" + ", ".join(parts) + "]"
        return (f"'{value}' is {reads}, not the text form's left:right: write "
                + (f"[{pair}] for a [left, right] padding pair (one per axis), {pair} for a list"
                   if len(parts) == 2 else f"a list, {pair}")
                + ", or quote it if you mean text")
    bare = value.lstrip("+-")
    if bare[:2].lower() in ("0x", "0b", "0o"):
        base = {"x": "hexadecimal", "b": "binary", "o": "octal"}[bare[1].lower()]
        try:
            decimal = f": {int(value, 0)}"
        except ValueError:
            decimal = ""
        return f"'{value}' is {base}; write numbers in decimal{decimal}, or quote it if you mean text"
    if _pattern("leading0").match(value):
        decimal = value[: len(value) - len(bare)] + (bare.replace("_", "").lstrip("0") or "0")
        reads = f"YAML 1.1 reads as octal ({number})" if number is not None else "means octal in YAML 1.1"
        return f"'{value}' has a leading zero, which {reads}; write {decimal}, or quote it if you mean text"
    if number is not None and "_" in value:
        return f"'{value}' has a digit separator '_', which only YAML 1.1 accepts; write {value.replace('_', '')}"
    if number is not None and not _pattern("decimal").match(value):
        return f"'{value}' is not a decimal number (YAML 1.1 reads it as {number}); write numbers in decimal"
    return None


def _shown(tag: str) -> str:
    """A tag as the user wrote it: `!!python/object/apply:os.system`, not its long form."""
    prefix = "tag:yaml.org,2002:"
    return "!!" + tag[len(prefix):] if tag.startswith(prefix) else tag


# Plain scalars YAML 1.1 reads as booleans or null; any other plain word is a string.
_WORDS = {w: True for w in ("true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON")}
_WORDS.update({w: False for w in ("false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF")})
_WORDS.update({w: None for w in ("null", "Null", "NULL", "~", "")})


def _scalar(loader: Any, event: Any, source: str, line: int) -> Any:
    """A scalar event's value with YAML 1.1's implicit types (what PyYAML's safe loader gives)."""
    value = event.value
    if event.tag is None:
        if not event.implicit[0]:
            return value  # quoted: a string
        # Fast paths for what specs are made of: words and plain decimal integers.
        if value in _WORDS:
            return _WORDS[value]
        first = value[:1]
        if first.isalpha() or first == "_":
            return value  # no implicit YAML type starts with a letter or _, except the words above
        if value.isascii() and value.isdigit() and (first != "0" or len(value) == 1) \
                and len(value) <= limits.MAX_NUMBER_CHARS:
            return int(value)  # (a leading 0 means octal in YAML 1.1: the general path below)
    tag = event.tag
    if tag is None or tag == "!":
        tag = loader.resolve(yaml.ScalarNode, value, event.implicit)
    if tag == "tag:yaml.org,2002:str" and event.implicit[0] and _pattern("float12").match(value):
        # YAML 1.1 (PyYAML) reads `1e-5` and `1.5e3` as strings (no dot, no exponent sign);
        # YAML 1.2, JSON and every user writing `eps: 1e-5` mean a number.
        tag = "tag:yaml.org,2002:float"
    if tag in _NUMBER_TAGS and len(value) > limits.MAX_NUMBER_CHARS:
        # Python refuses to parse (or print) integers of more than 4,300 digits; nothing in a
        # spec needs more than a few dozen.
        raise SpecError(f"the number '{value[:12]}...' is {len(value)} characters long, over the limit of "
                        f"{limits.MAX_NUMBER_CHARS}", file=source, line=line)
    if tag == "tag:yaml.org,2002:merge":
        return _MERGE_KEY
    if tag not in _PLAIN_TAGS:
        raise SpecError(f"YAML tag '{_shown(event.tag or tag)}' is not allowed (only plain values, lists and mappings)",
                        file=source, line=line)
    node = yaml.ScalarNode(tag, value)
    if tag == "tag:yaml.org,2002:str":
        if event.implicit[0] and value[:1] in _NUMBER_STARTS:
            problem = _misread(value, None)  # `08` and `0:1` are strings to YAML 1.1; 016 and 1:1 numbers
            if problem:
                raise SpecError(problem, file=source, line=line)
        return value
    if tag in _NUMBER_TAGS:
        number = loader.construct_yaml_int(node) if tag == "tag:yaml.org,2002:int" else loader.construct_yaml_float(node)
        problem = _misread(value, number)
        if problem:
            raise SpecError(problem, file=source, line=line)
        return number
    if tag == "tag:yaml.org,2002:bool":
        return loader.construct_yaml_bool(node)
    return None


class _Frame:
    """An open list or mapping while its events arrive."""

    __slots__ = ("value", "key", "key_line", "size", "anchor", "merged")

    def __init__(self, value: Any, anchor: str | None) -> None:
        self.value = value
        self.merged: set[Any] = set()  # keys that came from `<<` and may be overridden
        self.key: Any = _NO_KEY
        self.key_line = 0
        self.size = 1  # values it holds once aliases are expanded, itself included
        self.anchor = anchor


class _NoKey:
    __slots__ = ()


_NO_KEY = _NoKey()


def _build(loader: Any, source: str) -> Any:
    stack: list[_Frame] = []
    anchors: dict[str, tuple[Any, int]] = {}  # anchor -> (value, expanded size)
    open_anchors: set[str] = set()
    total = 0  # expanded size of the whole document so far
    documents = 0
    root: Any = None

    def count(size: int, line: int) -> None:
        nonlocal total
        total += size
        if total > limits.MAX_YAML_NODES:
            raise SpecError(f"the spec expands to more than {limits.MAX_YAML_NODES} YAML values "
                            "(an alias bomb?); refusing to expand it", file=source, line=line)

    def place(value: Any, size: int, line: int) -> None:
        """Put a complete value into the open container (or make it the document)."""
        nonlocal root
        if not stack:
            root = value
            return
        frame = stack[-1]
        frame.size += size
        container = frame.value
        if isinstance(container, LList):
            container.append(value)
            container.lines.append(line)
        elif frame.key is _NO_KEY:
            if isinstance(value, (LMap, LList)):
                raise SpecError("a mapping key must be a plain value, not a list or mapping", file=source, line=line)
            frame.key, frame.key_line = value, line
        else:
            key, key_line = frame.key, frame.key_line
            frame.key = _NO_KEY
            if key == _MERGE_KEY:
                frame.merged.update(_merge(container, value, source, key_line))
            elif key in container and key not in frame.merged:
                raise SpecError(f"duplicate key '{key}' (first on line {container.lines[key]})",
                                file=source, line=key_line)
            else:
                frame.merged.discard(key)
                container[key] = value
                container.lines[key] = key_line

    scalar_event, sequence_start, mapping_start = yaml.ScalarEvent, yaml.SequenceStartEvent, yaml.MappingStartEvent
    ends = (yaml.SequenceEndEvent, yaml.MappingEndEvent)
    while True:
        event = loader.get_event()
        kind = type(event)
        line = event.start_mark.line + 1
        if kind is scalar_event:
            value = _scalar(loader, event, source, line)
            count(1, line)
            if event.anchor:
                anchors[event.anchor] = (value, 1)
            place(value, 1, line)
        elif kind is sequence_start or kind is mapping_start:
            if event.tag not in _CONTAINER_TAGS:
                raise SpecError(f"YAML tag '{_shown(event.tag)}' is not allowed (only plain values, lists and mappings)",
                                file=source, line=line)
            if len(stack) >= limits.MAX_YAML_DEPTH:
                raise SpecError(f"YAML nesting is deeper than the limit of {limits.MAX_YAML_DEPTH}",
                                file=source, line=line)
            count(1, line)
            stack.append(_Frame(LList(line) if kind is sequence_start else LMap(line), event.anchor))
            if event.anchor:
                open_anchors.add(event.anchor)
        elif kind in ends:
            frame = stack.pop()
            if frame.anchor:
                open_anchors.discard(frame.anchor)
                anchors[frame.anchor] = (frame.value, frame.size)
            place(frame.value, frame.size, frame.value.line)
        elif kind is yaml.AliasEvent:
            if event.anchor in open_anchors:
                raise SpecError(f"alias '*{event.anchor}' refers to a collection that contains it",
                                file=source, line=line)
            if event.anchor not in anchors:
                raise SpecError(f"alias '*{event.anchor}' has no anchor", file=source, line=line)
            value, size = anchors[event.anchor]
            count(size, line)
            place(value, size, line)
        elif kind is yaml.DocumentStartEvent:
            documents += 1
            if documents > 1:
                raise SpecError("more than one YAML document; a spec is one document", file=source, line=line)
        elif kind is yaml.StreamEndEvent:
            break
    if root is None:
        raise SpecError("the spec is empty", file=source, line=1)
    return root


def _merge(container: LMap, value: Any, source: str, line: int) -> list[Any]:
    """YAML's `<<: *defaults` merge key: copy the keys the mapping has not set itself (keys it
    sets later override them); return the keys copied."""
    sources = value if isinstance(value, LList) else [value]
    copied = []
    for item in sources:
        if not isinstance(item, LMap):
            raise SpecError("'<<' merges mappings only", file=source, line=line)
        for key, val in item.items():
            if key not in container:
                container[key] = val
                container.lines[key] = item.lines.get(key, line)
                copied.append(key)
    return copied
