"""Reading specs: YAML files, YAML strings and the one-line text form, into a validated `Spec`.

    load(path)            a YAML spec file
    loads(text, source)   YAML text (source names it in error messages)
    from_text(line)       the one-line form: "3x224x224 | conv 64 k7 s2 p3 | bn | relu"

The top-level keys are the public contract documented in docs/spec.md.
"""

from __future__ import annotations

import math
import os
import re
from typing import Any, Iterable, Mapping, NamedTuple

from .. import limits
from ..errors import SpecError
from ..suggest import did_you_mean
from ..printable import clean
from .expand import Expander, templates
from .model import DTYPE_BYTES, Node, Spec
from .source import LList, LMap, parse, read_text

__all__ = ["load", "loads", "from_text", "Spec", "Node", "DTYPE_BYTES"]

TOP_KEYS = ("name", "input", "batch", "dtype", "layers", "blocks", "budget", "description", "args", "base", "set",
            "outputs")
BASE_KEYS = ("name", "description", "base", "set")  # a spec that is its base's at fixed args takes only these
_N = f"[0-9]{{1,{limits.MAX_NUMBER_CHARS}}}"
_DIMS = rf"\s*{_N}(\s*[xX×]\s*{_N})*\s*\Z"  # compiled on first use


class Overrides(NamedTuple):
    """What the command line changes in a spec before it is expanded: the input shape per sample
    (`--input`, same rank as the spec's own) and values of the spec's `args:` (`--set`)."""

    input: tuple[int, ...] | None = None
    sets: tuple[tuple[str, Any], ...] = ()
    allow_unknown: bool = False  # a SOURCE's operators no rule maps become opaque layers (`--allow-unknown`)

    def __bool__(self) -> bool:
        return self.input is not None or bool(self.sets)


class Document(NamedTuple):
    """A spec read and parsed but not yet built: build it once per set of overrides (a sweep)."""

    doc: Any
    source: str
    default_name: str

    def build(self, overrides: Overrides | None = None) -> Spec:
        return build(self.doc, self.source, self.default_name, overrides)


def read(path: str | os.PathLike[str], source: str | None = None) -> Document:
    """A YAML spec file, parsed (see `load`)."""
    path = os.fspath(path)
    text = read_text(path)
    stem = os.path.splitext(os.path.basename(path))[0]
    return Document(parse(text, source or path), source or path, stem)


def load(path: str | os.PathLike[str], source: str | None = None, overrides: Overrides | None = None) -> Spec:
    """`source` names the spec in reports and errors (default: the path; `library:resnet50` for
    the spec library, whose installed path differs from machine to machine)."""
    return read(path, source).build(overrides)


def reads(text: str, source: str = "<string>") -> Document:
    encoded = text.encode("utf-8")
    if len(encoded) > limits.MAX_FILE_BYTES:
        raise SpecError(f"spec is larger than the limit of {limits.MAX_FILE_BYTES} bytes", file=source)
    if "\x00" in text:
        raise SpecError("binary data (a NUL byte), not a YAML spec", file=source)
    return Document(parse(text, source), source, "spec")


def loads(text: str, source: str = "<string>", overrides: Overrides | None = None) -> Spec:
    return reads(text, source).build(overrides)


def read_line(line: str, source: str = "<text>") -> Document:
    from .text import parse_line

    return Document(parse_line(line, source), source, "text")


def from_text(line: str, source: str = "<text>", overrides: Overrides | None = None) -> Spec:
    return read_line(line, source).build(overrides)


def parse_input(value: Any, source: str, line: int | None) -> tuple[int, ...]:
    """[C, L] / [C, H, W] / [C, D, H, W] (or "3x32x32"); a flat [F] is allowed for MLP heads."""
    if isinstance(value, str) and re.match(_DIMS, value):
        value = [int(v) for v in re.split(r"[xX×]", value)]
    if (not isinstance(value, list) or not value
            or not all(type(v) is int for v in value)):
        shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:57] + "..."
        raise SpecError(f"input must be a list of integers like [3, 224, 224] or a string like \"3x224x224\", "
                        f"got {shown}", file=source, line=line)
    if len(value) > 4:
        raise SpecError(f"input {value} has {len(value) - 1} spatial axes; convcalc handles 1-D [C, L], "
                        "2-D [C, H, W] and 3-D [C, D, H, W] inputs (channels first, no batch)", file=source, line=line)
    for v in value:
        if v < 1:
            raise SpecError(f"input sizes must be positive, got {value}", file=source, line=line)
        if v > limits.MAX_SIZE:
            raise SpecError(f"input size {v} exceeds the limit of {limits.MAX_SIZE} (2^48)", file=source, line=line)
    return tuple(value)


def build(doc: Any, source: str, default_name: str, overrides: Overrides | None = None) -> Spec:
    """A parsed YAML document (or the text form's equivalent) -> Spec. `overrides` change it
    first: the input, and the values of its `args:`; the document itself is never changed."""
    if not isinstance(doc, LMap):
        raise SpecError("a spec is a mapping with at least 'input' and 'layers'", file=source,
                        line=getattr(doc, "line", 1))
    lines = dict(doc.lines)
    for key in doc:
        if key not in TOP_KEYS:
            raise SpecError(f"unknown top-level key '{key}'{did_you_mean(key, TOP_KEYS)}; a spec takes: "
                            f"{', '.join(TOP_KEYS)}", file=source, line=doc.lines.get(key))
    if "base" in doc or "set" in doc:
        return _based(doc, source, default_name, overrides)
    for key in ("input", "layers"):
        if key not in doc:
            raise SpecError(f"the spec has no '{key}'", file=source, line=doc.line)
    args = spec_args(doc.get("args"), source, lines.get("args"), overrides.sets if overrides else ())
    name, raw_input = doc.get("name", default_name), doc["input"]
    if args:  # the spec's arguments in its name and input too: name: "resnet${depth}"
        head = Expander(source, 0, {}, args)
        name = head.substitute(name, args, lines.get("name"), None)
        raw_input = head.substitute(raw_input, args, lines.get("input"), None)
    if not isinstance(name, str):
        name = str(name)
    shape = parse_input(raw_input, source, lines.get("input"))
    if overrides and overrides.input is not None:
        if len(overrides.input) != len(shape):
            raise SpecError(f"--input {'x'.join(map(str, overrides.input))} has {_axes(overrides.input)}, the "
                            f"spec's input {'x'.join(map(str, shape))} has {_axes(shape)}: give one of the same rank",
                            file=source, line=lines.get("input"))
        shape = overrides.input
    batch = doc.get("batch", 1)
    if type(batch) is not int or not 1 <= batch <= limits.MAX_SIZE:
        raise SpecError(f"batch must be a positive integer, got {batch!r}", file=source, line=lines.get("batch"))
    dtype = doc.get("dtype", "float32")
    if not isinstance(dtype, str) or dtype not in DTYPE_BYTES:
        raise SpecError(f"dtype must be one of {', '.join(DTYPE_BYTES)}, got {dtype!r}"
                        f"{did_you_mean(dtype, DTYPE_BYTES) if isinstance(dtype, str) else ''}", file=source, line=lines.get("dtype"))
    blocks = templates(doc.get("blocks"), source, lines.get("blocks"))
    expander = Expander(source, len(shape) - 1, blocks, args)
    nodes = expander.expand(doc["layers"], lines.get("layers"))
    outputs: tuple[tuple[str, str], ...] = ()
    raw: Any = None
    if "outputs" in doc:
        raw = doc["outputs"]
        if args:
            raw = Expander(source, 0, {}, args).substitute(raw, args, lines.get("outputs"), None)
        outputs = parse_outputs(raw, expander.full, source, lines.get("outputs"))
    return Spec(name=name, source=source, input=shape, batch=batch, dtype=dtype, nodes=nodes,
                budget=doc.get("budget"), lines=lines, args=args,
                input_given=bool(overrides) and overrides.input is not None,
                outputs=outputs, outputs_named=bool(outputs) and isinstance(raw, dict))


OUTPUTS_FORM = "a list of layers like [head.cls, head.seg] or a mapping of names to layers like {boxes: box, scores: cls}"


def parse_outputs(raw: Any, layers: Mapping[str, str], source: str, line: int | None) -> tuple[tuple[str, str], ...]:
    """The spec's `outputs:`: a list of layer names (each output named as written), or a mapping of
    output names to layer names (a model returning a dict). Each resolves as a top-level `from:`
    does (a block's name is its last layer); -> (output name, layer), in the order written."""
    if isinstance(raw, dict) and raw:
        pairs = [(key, value, raw.lines.get(key, line) if isinstance(raw, LMap) else line) for key, value in raw.items()]
    elif isinstance(raw, list) and raw:
        pairs = [(value, value, raw.lines[i] if isinstance(raw, LList) and i < len(raw.lines) else line)
                 for i, value in enumerate(raw)]
    else:
        raise SpecError(f"'outputs' must be {OUTPUTS_FORM}, got {_short(raw)}", file=source, line=line)
    seen: dict[str, str] = {}  # layer -> the output that is it
    names: set[str] = set()
    outputs = []
    for name, ref, at in pairs:
        if not isinstance(ref, str):
            raise SpecError(f"{_output(name, ref)}must name a layer, got {_short(ref)}", file=source, line=at)
        if not isinstance(name, str) or not name.strip():
            raise SpecError(f"an output's name must be a non-empty string, got {_short(name)}", file=source, line=at)
        if clean(name) != name:  # it lands in tables, JSON keys, JUnit names and CI annotations
            raise SpecError(f"output name {_short(name)} holds control or reordering characters", file=source, line=at)
        if ref == "input":
            raise SpecError(f"{_output(name, ref)}is the spec's input, not a layer", file=source, line=at)
        if ref not in layers:
            raise SpecError(f"{_output(name, ref)}names no layer {_short(ref)}{did_you_mean(ref, layers)}",
                            file=source, line=at)
        if name in names:
            raise SpecError(f"output {_short(name)} is listed twice", file=source, line=at)
        layer = layers[ref]
        if layer in seen:
            raise SpecError(f"outputs {_short(seen[layer])} and {_short(name)} are the same layer {_short(layer)}; "
                            "each output is a different layer", file=source, line=at)
        names.add(name)
        seen[layer] = name
        outputs.append((name, layer))
    return tuple(outputs)


def _output(name: Any, ref: Any) -> str:
    """How an error names an output: 'output ' in a list (it is its layer), "output 'boxes' " in a mapping."""
    return "an output " if name is ref or not isinstance(name, str) else f"output {_short(name)} "


def _short(value: Any) -> str:
    shown = repr(value)
    return shown if len(shown) <= 60 else shown[:57] + "..."


def _based(doc: LMap, source: str, default_name: str, overrides: Overrides | None) -> Spec:
    """`base: resnet` with `set: {depth: 50}`: the library's parametric spec at those args, under
    this spec's name (the library's fixed networks are each one setting of their family, one
    definition). It declares no args of its own: --set on it is refused as on any spec without
    args. Its layers' lines are its base's, whose source is `library:NAME`."""
    from ..library import PREFIX, names, path

    lines = dict(doc.lines)
    extra = [key for key in doc if key not in BASE_KEYS]
    base, fixed = doc.get("base"), doc.get("set", {})
    if extra or not isinstance(base, str) or not isinstance(fixed, LMap) and fixed != {}:
        raise SpecError(f"a spec with 'base' names a library spec (base: resnet) and its args (set: {{depth: 50}}), "
                        f"and takes only {', '.join(BASE_KEYS)}" + (f"; got '{extra[0]}'" if extra else ""),
                        file=source, line=lines.get(extra[0] if extra else "base", doc.line))
    if base not in names():
        raise SpecError(f"base: no spec '{base}' in the library{did_you_mean(base, names())}", file=source,
                        line=lines.get("base"))
    spec_args(None, source, lines.get("set"), overrides.sets if overrides else ())  # refuses any --set
    document = read(path(base), PREFIX + base)
    if "base" in document.doc:
        raise SpecError(f"base: library spec '{base}' has a base itself", file=source, line=lines.get("base"))
    given = Overrides(overrides.input if overrides else None, tuple((k, v) for k, v in fixed.items()))
    spec_args(document.doc.get("args"), source, lines.get("set"), given.sets)  # a wrong `set:` is this file's
    spec = document.build(given)
    return spec._replace(name=str(doc.get("name", default_name)), source=source, args={},
                         input_given=bool(overrides) and overrides.input is not None)


def _axes(shape: tuple[int, ...]) -> str:
    n = len(shape) - 1
    return "no spatial axis" if n == 0 else f"{n} spatial axis" if n == 1 else f"{n} spatial axes"


def spec_args(raw: Any, source: str, line: int | None, sets: tuple[tuple[str, Any], ...] = ()) -> dict[str, Any]:
    """The spec's `args:` (name -> default; null: it must be set) with the `--set` values in
    place, in the order the spec declares them."""
    if raw is None:
        declared: dict[str, Any] = {}
    elif not isinstance(raw, LMap) or not all(isinstance(k, str) and re.match(ARG_NAME, k) for k in raw):
        raise SpecError("'args' must map argument names (letters, digits and _) to defaults, like "
                        "{width: 1.0, depth: 50} (null: the argument must be given with --set)", file=source, line=line)
    else:
        declared = dict(raw)
    choices = {key: _choices(key, default, source, line) for key, default in declared.items()
               if isinstance(default, LMap)}
    declared.update((key, default.get("default")) for key, default in declared.items() if key in choices)
    values = dict(declared)
    for key, value in sets:
        if key not in declared:
            takes = f"its args are {', '.join(declared)}" if declared else "it declares no args"
            raise SpecError(f"--set {key}: the spec has no argument '{key}'{did_you_mean(key, declared)}; {takes}",
                            file=source, line=line)
        default = declared[key]
        if key in choices and value not in choices[key]:
            raise SpecError(f"--set {key}={value}: {key} is one of {', '.join(map(str, choices[key]))}"
                            f"{did_you_mean(value, choices[key]) if isinstance(value, str) else ''}",
                            file=source, line=line)
        if _is_number(default) and not _is_number(value):
            raise SpecError(f"--set {key}={value}: {key} takes a number (its default is {default!r})",
                            file=source, line=line)
        values[key] = value
    missing = [key for key, value in values.items() if value is None]
    if missing:
        raise SpecError(f"the spec needs {', '.join(f'--set {key}=...' for key in missing)} (args with no default)",
                        file=source, line=line)
    return values


def _choices(key: str, declared: LMap, source: str, line: int | None) -> tuple[Any, ...]:
    """An argument declared as `{default: 50, choices: [18, 34, 50, 101, 152]}`: its choices
    (numbers, words or booleans; the default, unless null, among them)."""
    choices = declared.get("choices")
    if (set(declared) - {"default", "choices"} or not isinstance(choices, LList) or not choices
            or not all(type(c) in (int, float, str, bool) for c in choices)
            or declared.get("default") is not None and declared.get("default") not in choices):
        raise SpecError(f"args: {key} must be a default, or {{default: ..., choices: [...]}} with the default "
                        "among the choices (numbers, words or true/false)", file=source, line=line)
    return tuple(choices)


def _is_number(value: Any) -> bool:
    return type(value) is int or type(value) is float


ARG_NAME = r"[A-Za-z_][A-Za-z0-9_]*\Z"  # what ${...} can name


def arg_value(text: str) -> Any:
    """A value as `--set NAME=VALUE` writes it: an integer (digits), a decimal number, true or
    false, else the text itself (a word such as an activation's kind)."""
    if re.match(r"[-+]?[0-9]{1,%d}\Z" % limits.MAX_NUMBER_CHARS, text):
        return int(text)
    if re.match(r"[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?\Z", text) and len(text) <= limits.MAX_NUMBER_CHARS:
        number = float(text)
        if math.isfinite(number):
            return number
    if text in ("true", "false"):
        return text == "true"
    return text


def from_layers(input: Iterable[int], layers: Iterable[tuple[str, Mapping[str, Any]]], source: str = "<layers>",
                name: str | None = None, batch: int = 1, dtype: str = "float32") -> Spec:
    """A Spec from an input shape and layers given as (kind, raw arguments) pairs, the values as a
    YAML mapping holds them (`{"out": 64, "k": [3, 1], "p": "same", "name": "conv1"}`): for front
    ends that make layers rather than text (compare's variants). They become the mapping a YAML
    spec parses to and go through the same validation, so an error reads as it would for the
    one-line form of the same layers (every line is 1)."""

    def put(mapping: LMap, key: str, value: Any) -> None:
        mapping[key] = value
        mapping.lines[key] = 1

    doc = LMap(1)
    put(doc, "input", list(input))
    put(doc, "batch", batch)
    put(doc, "dtype", dtype)
    if name is not None:
        put(doc, "name", name)
    entries = LList(1)
    for kind, args in layers:
        raw, entry = LMap(1), LMap(1)
        for key, value in args.items():
            put(raw, key, list(value) if isinstance(value, tuple) else value)
        put(entry, kind, raw)
        entries.append(entry)
        entries.lines.append(1)
    put(doc, "layers", entries)
    return build(doc, source, "layers")


# The one-line form begins with its input shape: "3x224x224 | ..." or "3x32x32 batch=8 | ...".
_TEXT_HEAD = r"\s*[0-9]+(\s*[xX×]\s*[0-9]+)*\s*(\||\s)"


def is_text_form(value: str) -> bool:
    """Whether a command-line SPEC argument is the one-line form rather than a path: it has a
    '|', starts with an input shape, and names no existing file."""
    return "|" in value and re.match(_TEXT_HEAD, value) is not None and not os.path.exists(value)


__all__ += ["LMap", "LList", "parse_input", "build", "from_layers", "is_text_form",
            "Overrides", "Document", "read", "reads", "read_line", "spec_args", "arg_value"]
