"""Importers: models that live elsewhere (PyTorch code, ONNX files) as convcalc specs.

An importer is a front end, as the YAML reader is: it turns a model into the same layer document
a YAML file parses to (`model.Imported.document`), and that document goes through `spec.build`,
so kinds, arguments, names, limits and errors are the ones a hand-written spec has, and nothing
after the front end knows where a spec came from. The YAML writer (`writer.py`) renders the same
layers for a person to read and edit.

A SOURCE argument is one of:
    model.onnx                  an ONNX file (read without torch: onnx.py)
    package.module:callable     a callable returning a torch.nn.Module, or an nn.Module class (torch_fx.py)
    torchvision:NAME, timm:NAME a model of those packages, built without weights

Nothing here imports torch or onnx: `is_source` is a pattern match, and the importer modules are
imported only when a SOURCE is loaded.
"""

from __future__ import annotations

import os
import re
from typing import Any

ZOOS = ("torchvision:", "timm:")
LIBRARY = "library:"
# package.module:attribute (dotted on both sides), Python identifiers only
_PYTHON = r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*\Z"


def is_onnx(argument: str) -> bool:
    return argument.lower().endswith(".onnx")


def is_source(argument: str) -> bool:
    """Whether a SPEC argument names a model to import rather than a spec: an `.onnx` path, a
    `torchvision:`/`timm:` name, or `package.module:callable`. A path that exists is always a
    file (an ONNX file when it ends in `.onnx`, else a spec), whatever it looks like: a file named
    `torchvision:resnet18` is read, never imported. `library:NAME` is the spec library's, never a
    Python module."""
    if is_onnx(argument):
        return True
    if argument.startswith(LIBRARY) or os.path.lexists(argument):
        return False
    return argument.startswith(ZOOS) or re.match(_PYTHON, argument) is not None


def read(argument: str, input_shape: tuple[int, ...] | None = None, allow_unknown: bool = False) -> Any:
    """A SOURCE -> `model.Imported` (its layers, the traced shapes, where it came from)."""
    if is_onnx(argument):
        from . import onnx

        return onnx.read(argument, input_shape, allow_unknown)
    from . import torch_fx

    imported = torch_fx.read(argument, input_shape, allow_unknown)
    for note in imported.notes():  # on stderr, as every diagnostic: the report on stdout stays what the spec gives
        import sys

        from ..printable import clean

        sys.stderr.write(f"convcalc: note: {clean(argument)}: {clean(note)}\n")
    return imported


def load(argument: str, input_shape: tuple[int, ...] | None = None, allow_unknown: bool = False) -> Any:
    """A SOURCE -> a validated `Spec`, as a YAML spec of the same layers would give."""
    return read(argument, input_shape, allow_unknown).spec()
