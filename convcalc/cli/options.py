"""Options and spec loading shared by the commands.

Every command that takes a batch size takes it through `BATCH` (and profile's list through
`parse_batch`), so the bound is the same everywhere: a whole number from 1 to 2^48 written in
ASCII digits (limits.MAX_SIZE; larger batches would overflow the exact float-free arithmetic
nothing needs them for).
"""

from __future__ import annotations

from typing import Any, Callable

import click

from .. import limits
from ..errors import UsageError
from ..reporters import Format
from ..spec import Spec, from_text, load_argument


def format_option(choices: tuple[str, ...] = tuple(f.value for f in Format)) -> Callable[[Any], Any]:
    return click.option("--format", "fmt", type=click.Choice(choices), default="table", show_default=True,
                        help="Output format: a table for people, json/csv/markdown for machines.")


def parse_batch(text: str, option: str = "--batch") -> int:
    """A batch size as written on the command line: ASCII digits, 1 to 2^48."""
    text = text.strip()
    shown = text if len(text) <= 24 else f"{text[:12]}... ({len(text)} characters)"
    if not (text.isascii() and text.isdigit()):
        raise UsageError(f"{option} takes a whole number like 8, got '{shown}'")
    if len(text) > limits.MAX_NUMBER_CHARS or not 1 <= int(text) <= limits.MAX_SIZE:
        raise UsageError(f"{option} must be from 1 to {limits.MAX_SIZE} (2^48), got {shown}")
    return int(text)


class BatchType(click.ParamType):
    name = "N"

    def convert(self, value: Any, param: Any, ctx: Any) -> int:
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        return parse_batch(str(value), param.opts[0] if param is not None else "--batch")


BATCH = BatchType()


class WholeNumber(click.ParamType):
    """An integer option written in ASCII digits (click's int takes '５' and '1_000', which no
    user means), at most limits.MAX_NUMBER_CHARS long, at least `minimum` when one is given."""

    name = "N"

    def __init__(self, minimum: int | None = None) -> None:
        self.minimum = minimum

    def convert(self, value: Any, param: Any, ctx: Any) -> int:
        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        else:
            text = str(value).strip()
            digits = text[1:] if text.startswith("-") else text
            if not (digits.isascii() and digits.isdigit()) or len(digits) > limits.MAX_NUMBER_CHARS:
                shown = text if len(text) <= 24 else f"{text[:12]}... ({len(text)} characters)"
                self.fail(f"'{shown}' is not a whole number in digits 0-9", param, ctx)
            number = int(text)
        if self.minimum is not None and number < self.minimum:
            self.fail(f"{number} is below the minimum of {self.minimum}", param, ctx)
        return number


def input_option(f: Any) -> Any:
    return click.option("--input", "input_", metavar="CxHxW", default=None,
                        help="The input a model being imported (a SOURCE: package.module:callable, torchvision:NAME, "
                             "model.onnx) is traced at, per sample and channels first: 3x224x224.")(f)


def input_shape(text: str | None, arguments: tuple[str, ...] = ()) -> tuple[int, ...] | None:
    """--input as `input:` reads it; it applies to the SOURCE arguments (a YAML spec states its own)."""
    if text is None:
        return None
    from ..importers import is_source
    from ..spec import parse_input

    if arguments and not any(is_source(argument) for argument in arguments):
        raise UsageError("--input sets the input of a model being imported (a SOURCE); a YAML spec states "
                         "its own input")
    return parse_input(text, "--input", None)


def batch_option(f: Any) -> Any:
    return click.option("--batch", type=BATCH, default=None,
                        help="Batch size, 1 to 2^48 (overrides the spec's `batch`).")(f)


def load_specs(paths: tuple[str, ...], expressions: tuple[str, ...],
               input_shape: tuple[int, ...] | None = None) -> list[Spec]:
    """Specs from path arguments (`-` reads stdin, YAML or the one-line form; an argument that
    starts with an input shape and has '|' is the one-line form; a SOURCE is a model to import,
    traced at `input_shape`) and from -e expressions, in the order given."""
    specs = [load_argument(path, input_shape) for path in paths]
    specs.extend(from_text(expression, "<-e>") for expression in expressions)
    if not specs:
        raise UsageError("give a spec file, or a one-line spec with -e \"3x32x32 | conv 16 k3 | relu\"")
    return specs
