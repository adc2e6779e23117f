"""Options and spec loading shared by the commands."""

from __future__ import annotations

import sys
from typing import Any, Callable

import click

from .. import library
from ..errors import UsageError
from ..reporters import Format
from ..spec import Spec, from_text, is_text_form, loads


def format_option(choices: tuple[str, ...] = tuple(f.value for f in Format)) -> Callable[[Any], Any]:
    return click.option("--format", "fmt", type=click.Choice(choices), default="table", show_default=True,
                        help="Output format: a table for people, json/csv/markdown for machines.")


def batch_option(f: Any) -> Any:
    return click.option("--batch", type=click.IntRange(min=1), default=None,
                        help="Batch size (overrides the spec's `batch`).")(f)


def load_specs(paths: tuple[str, ...], expressions: tuple[str, ...]) -> list[Spec]:
    """Specs from path arguments (`-` reads stdin; an argument with '|' that is not a file is the
    one-line form) and from -e expressions, in the order given."""
    specs = []
    for path in paths:
        if path == "-":
            specs.append(loads(sys.stdin.read(), "<stdin>"))
        elif is_text_form(path):
            specs.append(from_text(path))
        else:
            specs.append(library.load(path))  # a path, or a library name when no such file exists
    specs.extend(from_text(expression, "<-e>") for expression in expressions)
    if not specs:
        raise UsageError("give a spec file, or a one-line spec with -e \"3x32x32 | conv 16 k3 | relu\"")
    return specs
