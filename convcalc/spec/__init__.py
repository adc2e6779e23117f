"""Reading specs: YAML files, YAML strings and the one-line text form, into a validated `Spec`.

    load(path)            a YAML spec file
    loads(text, source)   YAML text (source names it in error messages)
    from_text(line)       the one-line form: "3x224x224 | conv 64 k7 s2 p3 | bn | relu"

The top-level keys are the public contract documented in docs/spec.md.
"""

from __future__ import annotations

import os
import re
from typing import Any

from .. import limits
from ..errors import SpecError, did_you_mean
from .expand import Expander, templates
from .model import DTYPE_BYTES, Node, Spec
from .source import LList, LMap, decode, parse, read_text

__all__ = ["load", "loads", "from_text", "Spec", "Node", "DTYPE_BYTES"]

TOP_KEYS = ("name", "input", "batch", "dtype", "layers", "blocks", "budget", "description")
_N = f"[0-9]{{1,{limits.MAX_NUMBER_CHARS}}}"
_DIMS = rf"\s*{_N}(\s*[xX×]\s*{_N})*\s*\Z"  # compiled on first use


def load(path: str | os.PathLike[str], source: str | None = None) -> Spec:
    """`source` names the spec in reports and errors (default: the path; `library:resnet50` for
    the spec library, whose installed path differs from machine to machine)."""
    path = os.fspath(path)
    text = read_text(path)
    stem = os.path.splitext(os.path.basename(path))[0]
    return build(parse(text, source or path), source or path, stem)


def loads(text: str, source: str = "<string>") -> Spec:
    encoded = text.encode("utf-8")
    if len(encoded) > limits.MAX_FILE_BYTES:
        raise SpecError(f"spec is larger than the limit of {limits.MAX_FILE_BYTES} bytes", file=source)
    if "\x00" in text:
        raise SpecError("binary data (a NUL byte), not a YAML spec", file=source)
    return build(parse(text, source), source, "spec")


def from_text(line: str, source: str = "<text>") -> Spec:
    from .text import parse_line

    return build(parse_line(line, source), source, "text")


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


def build(doc: Any, source: str, default_name: str) -> Spec:
    """A parsed YAML document (or the text form's equivalent) -> Spec."""
    if not isinstance(doc, LMap):
        raise SpecError("a spec is a mapping with at least 'input' and 'layers'", file=source,
                        line=getattr(doc, "line", 1))
    lines = dict(doc.lines)
    for key in doc:
        if key not in TOP_KEYS:
            raise SpecError(f"unknown top-level key '{key}'{did_you_mean(key, TOP_KEYS)}; a spec takes: "
                            f"{', '.join(TOP_KEYS)}", file=source, line=doc.lines.get(key))
    for key in ("input", "layers"):
        if key not in doc:
            raise SpecError(f"the spec has no '{key}'", file=source, line=doc.line)
    name = doc.get("name", default_name)
    if not isinstance(name, str):
        name = str(name)
    shape = parse_input(doc["input"], source, lines.get("input"))
    batch = doc.get("batch", 1)
    if type(batch) is not int or not 1 <= batch <= limits.MAX_SIZE:
        raise SpecError(f"batch must be a positive integer, got {batch!r}", file=source, line=lines.get("batch"))
    dtype = doc.get("dtype", "float32")
    if not isinstance(dtype, str) or dtype not in DTYPE_BYTES:
        raise SpecError(f"dtype must be one of {', '.join(DTYPE_BYTES)}, got {dtype!r}"
                        f"{did_you_mean(dtype, DTYPE_BYTES) if isinstance(dtype, str) else ''}", file=source, line=lines.get("dtype"))
    blocks = templates(doc.get("blocks"), source, lines.get("blocks"))
    nodes = Expander(source, len(shape) - 1, blocks).expand(doc["layers"], lines.get("layers"))
    return Spec(name=name, source=source, input=shape, batch=batch, dtype=dtype, nodes=nodes,
                budget=doc.get("budget"), lines=lines)


# The one-line form begins with its input shape: "3x224x224 | ..." or "3x32x32 batch=8 | ...".
_TEXT_HEAD = r"\s*[0-9]+(\s*[xX×]\s*[0-9]+)*\s*(\||\s)"


def is_text_form(value: str) -> bool:
    """Whether a command-line SPEC argument is the one-line form rather than a path: it has a
    '|', starts with an input shape, and names no existing file."""
    return "|" in value and re.match(_TEXT_HEAD, value) is not None and not os.path.exists(value)


def read_stdin() -> str:
    """Standard input as spec text, under the same size limit and UTF-8 rule as files."""
    import sys

    stream = sys.stdin
    buffer = getattr(stream, "buffer", None)
    try:
        if buffer is not None:
            data = buffer.read(limits.MAX_FILE_BYTES + 1)
        elif stream is not None:
            data = stream.read(limits.MAX_FILE_BYTES + 1).encode("utf-8", "surrogateescape")
        else:
            raise SpecError("standard input is closed; give a spec file or pipe one in", file="<stdin>")
    except (OSError, ValueError) as exc:  # a closed or unreadable descriptor
        reason = getattr(exc, "strerror", None) or "it is closed"
        raise SpecError(f"cannot read standard input: {reason}", file="<stdin>") from None
    return decode(data, "<stdin>")


def load_argument(argument: str, input_shape: tuple[int, ...] | None = None) -> Spec:
    """A SPEC argument as every command takes it: `-` is standard input (YAML, or the one-line
    form on one line), the one-line form itself, a model to import (a SOURCE: `model.onnx`,
    `package.module:callable`, `torchvision:NAME`, `timm:NAME`; `input_shape` is the input it is
    traced at, where it does not say), or the path of a YAML file."""
    if argument == "-":
        text = read_stdin()
        stripped = text.strip()
        if "\n" not in stripped and re.match(_TEXT_HEAD, stripped):
            return from_text(stripped, "<stdin>")
        return loads(text, "<stdin>")
    if is_text_form(argument):
        return from_text(argument)
    if "|" in argument and not os.path.lexists(argument):
        raise SpecError("no such file (a one-line spec starts with its input shape, like \"3x32x32 | conv 8 k3\")",
                        file=argument)
    from ..importers import is_source  # a pattern match: torch and onnx load only for a SOURCE

    if is_source(argument):
        from ..importers import load as load_source

        return load_source(argument, input_shape)
    from ..library import load as load_named  # here: convcalc.library imports this module

    return load_named(argument)  # a path, or a library name when no such file exists


__all__ += ["LMap", "LList", "parse_input", "build", "is_text_form", "load_argument", "read_stdin"]
