"""SPEC and SOURCE arguments as every command takes them: `-` (standard input), the one-line
form, a YAML file, a library name, or a model to import (`model.onnx`, `package.module:callable`,
`torchvision:NAME`, `timm:NAME`).

This module sits above both front ends: convcalc.spec reads documents and convcalc.importers
turns models into specs, and neither needs the other; resolving a command-line argument needs
both, and the spec library, so it lives here (the importers load torch or onnx only for a SOURCE).
"""

from __future__ import annotations

import os
import re
from typing import Any

from . import limits
from .errors import SpecError
from .spec import _TEXT_HEAD, Document, Overrides, Spec, is_text_form, read, read_line, reads
from .spec.source import LMap, decode

__all__ = ["read_stdin", "read_argument", "load_argument", "load", "loads", "front_end"]


def front_end(document: Document, name: str) -> Document:
    """A parsed YAML document as the front end that reads it: ultralytics' model YAML (`backbone`
    and `head`, no `layers`) is its own (`name`'s scale letter picks the row, as ultralytics
    does); anything else is a spec document. The importer is loaded only for such a file, so a
    spec's reading pays nothing for it."""
    if not is_ultralytics(document.doc):
        return document
    from .importers.ultralytics import UltralyticsDocument  # plain Python: no torch

    return UltralyticsDocument(document.doc, document.source, name)


def is_ultralytics(doc: Any) -> bool:
    """Whether a parsed YAML document is an ultralytics model file rather than a convcalc spec:
    it has ultralytics' `backbone` and `head` lists and no convcalc `layers`."""
    return isinstance(doc, LMap) and "backbone" in doc and "head" in doc and "layers" not in doc


def load(path: str | os.PathLike[str], source: str | None = None, overrides: Overrides | None = None) -> Spec:
    """A YAML file built with `overrides`: a spec, or ultralytics' model YAML as the CLI reads it
    (`yolov8n.yaml` read from `yolov8.yaml` beside it at scale n). `source` names it in reports
    and errors (default: the path)."""
    text = _ultralytics_path(os.fspath(path))
    stem = os.path.splitext(os.path.basename(os.fspath(path)))[0]
    return front_end(read(text, source), stem).build(overrides)


def loads(text: str, source: str = "<string>", overrides: Overrides | None = None) -> Spec:
    """YAML text built with `overrides`: a spec, or ultralytics' model YAML (its scale: a `scale:`
    key, `--set scale=`, else the first row of `scales:`)."""
    return front_end(reads(text, source), source).build(overrides)


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


def read_argument(argument: str) -> Document:
    """A SPEC argument as every command takes it, parsed: `-` is standard input (YAML, or the
    one-line form on one line), the one-line form itself, or the path of a YAML file (or a
    library name). A model to import (a SOURCE) is not a document: `load_argument` imports it."""
    if argument == "-":
        text = read_stdin()
        stripped = text.strip()
        if "\n" not in stripped and re.match(_TEXT_HEAD, stripped):
            return read_line(stripped, "<stdin>")
        return front_end(reads(text, "<stdin>"), "<stdin>")
    if is_text_form(argument):
        return read_line(argument)
    if "|" in argument and not os.path.lexists(argument):
        raise SpecError("no such file (a one-line spec starts with its input shape, like \"3x32x32 | conv 8 k3\")",
                        file=argument)
    from .importers import is_source  # a pattern match: torch and onnx load only for a SOURCE

    if is_source(argument):
        raise SpecError("a model to import, not a spec document: import it first "
                        "(convcalc import SOURCE -o spec.yaml), then use the spec", file=argument)
    from .library import locate

    path, source = locate(_ultralytics_path(argument))  # a path, or a library name when no such file exists
    # ultralytics' model YAML (backbone, head) has its own front end; yolov8n: its letter picks the scale
    return front_end(read(path, source), os.path.splitext(os.path.basename(argument))[0])


def _ultralytics_path(argument: str) -> str:
    """`yolov8n.yaml` where only `yolov8.yaml` exists beside it: that file (ultralytics reads
    every scale from it; the name's letter still picks the row)."""
    if os.path.lexists(argument) or not argument.endswith((".yaml", ".yml")):
        return argument
    from .importers.ultralytics import unified

    general = unified(argument)
    return general if general is not None and os.path.isfile(general) else argument


def load_argument(argument: str, overrides: Overrides | None = None) -> Spec:
    """A SPEC argument as every command takes it (`read_argument`), built with `overrides`; or a
    model to import (a SOURCE: `model.onnx`, `package.module:callable`, `torchvision:NAME`,
    `timm:NAME`), traced at `overrides.input` where the model does not say its input."""
    from .importers import is_source  # a pattern match: torch and onnx load only for a SOURCE

    if is_source(argument):
        if overrides and overrides.sets:
            raise SpecError("--set sets a spec's `args:`; an imported model has none", file=argument)
        from .importers import load as load_source

        return load_source(argument, overrides.input if overrides else None,
                           overrides.allow_unknown if overrides is not None else False)
    return read_argument(argument).build(overrides)
