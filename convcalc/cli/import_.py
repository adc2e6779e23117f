"""`convcalc import`: a PyTorch model or an ONNX file as a convcalc spec (docs/import.md)."""

from __future__ import annotations

import os

import click

from ..errors import UsageError
from ..printable import clean
from .options import allow_unknown, allow_unknown_option, parse_shape, write_output


MARK = "# imported from "  # the first line of every spec convcalc import writes


def check_target(path: str, source: str) -> None:
    """-o may name a new file, a spec this command wrote before (its first line says so), or a
    device or FIFO to stream to (fileio.check_output, the rule every output follows); never the
    SOURCE itself, a folder, or any other file."""
    from ..fileio import check_output

    if check_output(path, "-o", (source,)) != "file":
        return
    try:
        with open(path, "rb") as handle:
            first = handle.readline(200)
    except OSError as exc:
        raise UsageError(f"-o {clean(path)}: cannot read it to check what it is ({exc.strerror})") from None
    if not first.startswith(MARK.encode()):
        raise UsageError(f"-o {clean(path)} exists and is not a spec that convcalc import wrote; "
                         "remove it or choose another name")


@click.command("import")
@click.argument("source", metavar="SOURCE")
@click.option("--input", "input_", metavar="CxHxW", help="Input shape per sample, channels first (3x224x224): "
              "needed for a PyTorch module; for an ONNX file, it sets a dynamic input's sizes.")
@click.option("-o", "--output", metavar="FILE", help="Write the spec to FILE (a new file, or one convcalc import "
              "wrote) instead of standard output.")
@allow_unknown_option
@click.option("--flat", is_flag=True, help="Write every layer, without folding repeated structure into blocks.")
def import_(source: str, input_: str | None, output: str | None, flat: bool) -> None:
    """Write a convcalc spec equivalent to SOURCE: an ONNX file (model.onnx), a Python callable
    that returns a torch.nn.Module (package.module:build_net, or an nn.Module class), or
    torchvision:NAME / timm:NAME.

    Every layer is checked against the model (output shape, parameters and buffers) before the spec
    is written; an operator convcalc cannot map fails the import with the list of them, or becomes an
    opaque layer with --allow-unknown. Any command that takes a SPEC takes a SOURCE too.

    Exit codes: 0 written, 2 the model cannot be imported or bad usage."""
    from ..importers import is_source, read
    from ..importers.writer import render

    if not is_source(source):
        if os.path.lexists(source):  # a path that exists is a file, whatever it looks like (docs/import.md)
            raise UsageError(f"'{clean(source)}' is a file in this folder, not a model to import: an existing path "
                             "is always read as a file (rename it, or run from another folder)")
        raise UsageError(f"'{clean(source)}' is not a SOURCE: give model.onnx, package.module:callable, "
                         "torchvision:NAME or timm:NAME")
    if output is not None:
        check_target(output, source)
    imported = read(source, parse_shape(input_) if input_ is not None else None, allow_unknown())
    write_output(output, render(imported, folded=not flat), f"{len(imported.layers)} layers from {clean(source)}")
