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
from ..sources import load_argument
from ..values import parse_batch, parse_set, parse_shape  # noqa: F401 (the commands import them from here)
from ..spec import Overrides, Spec, from_text


FORMAT_CHOICES = tuple(f.value for f in Format)  # shapes' --format


def format_option(choices: tuple[str, ...] = FORMAT_CHOICES) -> Callable[[Any], Any]:
    return click.option("--format", "fmt", type=click.Choice(choices), default="table", show_default=True,
                        help="Output format: a table for people, json/csv/markdown for machines.")


class BatchType(click.ParamType):
    name = "N"

    def convert(self, value: Any, param: Any, ctx: Any) -> int:
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        return parse_batch(str(value), param.opts[0] if param is not None else "--batch")


BATCH = BatchType()


class WholeNumber(click.ParamType):
    """An integer option written in ASCII digits (click's int takes '５' and '1_000', which no
    user means), at most limits.MAX_NUMBER_CHARS long, within `minimum` and `maximum` when given."""

    name = "N"

    def __init__(self, minimum: int | None = None, maximum: int | None = None) -> None:
        self.minimum = minimum
        self.maximum = maximum

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
        if self.maximum is not None and number > self.maximum:
            self.fail(f"{number} is above the maximum of {self.maximum:,}", param, ctx)
        return number


def batch_option(f: Any) -> Any:
    return click.option("--batch", type=BATCH, default=None,
                        help="Batch size, 1 to 2^48 (overrides the spec's `batch`).")(f)


def summary_option(f: Any) -> Any:
    """--summary, on every command that prints a per-layer table: the totals and the answer
    without the table."""
    return click.option("--summary", "summary_only", is_flag=True,
                        help="The totals and summary lines without the per-layer table (table and markdown).")(f)


def check_summary(summary_only: bool, fmt: str) -> None:
    if summary_only and fmt not in ("table", "markdown"):
        raise UsageError(f"--summary leaves out the table of --format table or markdown; {fmt} always holds every layer")


ALLOW_UNKNOWN = "convcalc.allow_unknown"  # where --allow-unknown is kept: the click context's meta


def allow_unknown_option(f: Any) -> Any:
    """--allow-unknown, for every command that takes a SOURCE: an operator an importer cannot map
    becomes an opaque layer instead of failing the import (docs/import.md). The flag is kept in the
    click context, so `overrides()` carries it to the importer without each command passing it on."""

    def keep(ctx: click.Context, param: Any, value: bool) -> bool:
        ctx.meta[ALLOW_UNKNOWN] = value
        return value

    return click.option("--allow-unknown", is_flag=True, expose_value=False, callback=keep,
                        help="For a model to import (a SOURCE): import operators convcalc cannot map as opaque "
                             "layers (shape from the model, costs unknown, totals partial) instead of failing.")(f)


def allow_unknown() -> bool:
    """Whether the command at hand was given --allow-unknown."""
    ctx = click.get_current_context(silent=True)
    return bool(ctx is not None and ctx.meta.get(ALLOW_UNKNOWN))


def spec_options(f: Any) -> Any:
    """--input, --set and --allow-unknown: change a spec before it is analyzed (docs/spec.md,
    "Arguments"), and say how a SOURCE imports."""
    f = allow_unknown_option(f)
    f = click.option("--set", "sets", multiple=True, metavar="NAME=VALUE",
                     help="Set an argument the spec declares in `args:` (repeatable): --set width=0.75.")(f)
    return click.option("--input", "input_", metavar="SHAPE",
                        help="Input shape per sample, channels first, e.g. 3x512x512 (overrides the spec's "
                             "`input`; same rank).")(f)


def overrides(input_: str | None, sets: tuple[str, ...]) -> Overrides:
    """The command line's --input and --set, checked, as the change they make to every spec, and
    its --allow-unknown for the SOURCEs among them."""
    pairs = tuple(parse_set(text) for text in sets)
    names = [name for name, _ in pairs]
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise UsageError(f"--set {twice[0]} is given twice")
    return Overrides(parse_shape(input_) if input_ is not None else None, pairs, allow_unknown())


def load_specs(paths: tuple[str, ...], expressions: tuple[str, ...], changes: Overrides | None = None) -> list[Spec]:
    """Specs from path arguments (`-` reads stdin, YAML or the one-line form; an argument that
    starts with an input shape and has '|' is the one-line form) and from -e expressions, in the
    order given, with the command line's --input and --set (`changes`) applied to each."""
    specs = [load_argument(path, changes) for path in paths]
    specs.extend(from_text(expression, "<-e>", changes) for expression in expressions)
    if not specs:
        raise UsageError("give a spec file, or a one-line spec with -e \"3x32x32 | conv 16 k3 | relu\"")
    return specs


def write_output(path: str | None, text: str, what: str) -> None:
    """A command's output: to stdout without a path, else written whole or not at all
    (fileio.write_atomic), with one line on stderr saying what was written, or why it could not be."""
    if path is None:
        click.echo(text, nl=False)
        return
    from ..fileio import write_atomic
    from ..printable import clean

    try:
        write_atomic(path, text)
    except OSError as exc:
        raise UsageError(f"cannot write it: {exc.strerror or exc}", file=path) from None
    click.echo(f"convcalc: wrote {clean(path)}: {what} ({len(text.encode('utf-8')):,} bytes)", err=True)
