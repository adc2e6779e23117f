"""The spec library: the networks in convcalc/specs/, installed with the package, found by name.

A SPEC argument is a path first: an existing file always wins, so a user's own `resnet50` or
`resnet50.yaml` in the current folder is never shadowed. Only when no such file exists does a bare
name (`resnet50`, or `resnet50.yaml`) mean the library's spec; `library:resnet50` always means it.
A library spec's source, in reports and errors, is `library:resnet50`, the same on every machine
(its installed path is not). `load` is the one place that decides, for every command that takes a
SPEC. Nothing here touches the disk at import: the folder is listed only when an argument names no
file, and for `convcalc shapes --list`.
"""

from __future__ import annotations

import os
from typing import NamedTuple

from .errors import SpecError
from .suggest import did_you_mean
from .report import Report
from .spec import Overrides, Spec, load as load_path

PREFIX = "library:"
FOLDER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "specs")


def names() -> list[str]:
    """The library's spec names, sorted: what `convcalc shapes NAME` accepts."""
    try:
        files = os.listdir(FOLDER)
    except OSError:  # an install without its package data: an empty library, not a crash
        return []
    return sorted(f[: -len(".yaml")] for f in files if f.endswith(".yaml"))


def path(name: str) -> str:
    """The installed file of a library spec."""
    return os.path.join(FOLDER, f"{name}.yaml")


def find(argument: str) -> str | None:
    """The library name a SPEC argument means, or None when it means a path: `library:NAME`, or a
    bare `NAME` / `NAME.yaml` (no folder in it) when no file of that name exists; `library:NAME`
    may end in .yaml too."""
    if argument.startswith(PREFIX):
        name = argument[len(PREFIX):]
    elif os.path.lexists(argument) or "/" in argument or os.sep in argument:
        return None
    else:
        name = argument
    name = name[: -len(".yaml")] if name.endswith(".yaml") else name
    return name if name in names() else None


def locate(argument: str) -> tuple[str, str | None]:
    """The file a SPEC argument that is a path or a library name means, and the source to name it
    by (None: the path itself). A missing path that is neither says "no such file", with the
    closest library name when one is close."""
    name = find(argument)
    if name is not None:
        return path(name), PREFIX + name
    if argument.startswith(PREFIX):
        wanted = argument[len(PREFIX):]
        raise SpecError(f"no spec '{wanted}' in the library{did_you_mean(wanted, names())}; "
                        "'convcalc shapes --list' shows it")
    if not os.path.lexists(argument):
        stem = os.path.basename(argument)
        stem = stem.rsplit(".", 1)[0] if stem.endswith((".yaml", ".yml")) else stem
        raise SpecError(f"no such file{did_you_mean(stem, names())}", file=argument)
    return argument, None


def load(argument: str, overrides: Overrides | None = None) -> Spec:
    """A SPEC argument that is a path or a library name -> Spec (see `locate`)."""
    file, source = locate(argument)
    return load_path(file, source, overrides)


def title(file: str) -> str:
    """A library spec's network, from its first comment line up to the first full stop:
    '# ResNet-50. He, Zhang, ...' -> 'ResNet-50'."""
    with open(file, encoding="utf-8") as handle:
        first = handle.readline()
    return first.lstrip("# ").rstrip().split(". ")[0].rstrip(".")


class Entry(NamedTuple):
    name: str  # what a SPEC argument may say: resnet50
    network: str  # the spec file's title
    report: Report  # the analysis at the spec's own batch and dtype
    base: tuple[str, dict[str, object]] | None = None  # (resnet, {depth: 50}): one setting of that spec


def base(name: str) -> tuple[str, dict[str, object]] | None:
    """The parametric library spec a fixed one is a setting of (`base:` and `set:`), or None."""
    from .spec import read

    doc = read(path(name), PREFIX + name).doc
    return (str(doc["base"]), dict(doc.get("set") or {})) if "base" in doc else None


def entries() -> list[Entry]:
    """Every library spec, analyzed (about 0.1 s for the whole library)."""
    from .analysis import analyze

    return [Entry(name, title(path(name)), analyze(load(PREFIX + name)), base(name)) for name in names()]
