"""`convcalc compare`: variants of one convolution side by side, or one spec against another.

The command's own part is which mode the arguments ask for (`classify`); the variants' settings
checked and typed (`make_setup`, each message naming its flag) and the batches of the two specs
(`spec_batches`) are in convcalc/compare/options.py, shared with the Python API. convcalc/compare does the comparing;
reporters/comparison.py renders the result.
"""

from __future__ import annotations

import os

import click

from .. import library
from ..compare import VARIANTS, compare_specs, compare_variants
from ..compare.options import FLAGS, PAD_WORDS, make_setup, parse_padding, spec_batches  # noqa: F401
from ..errors import UsageError
from ..suggest import did_you_mean
from ..importers import is_source
from ..reporters.comparison import CompareFormat, check_plot_path, plot, render
from ..spec import DTYPE_BYTES, is_text_form
from .options import (BATCH, WholeNumber, allow_unknown_option, check_summary, format_option, load_specs, overrides,
                      summary_option)

VARIANT_LIST = "\n".join(f"  {name:<20} {record.doc}" for name, record in VARIANTS.items())


def classify(arguments: tuple[str, ...], all_variants: bool) -> tuple[str, tuple[str, ...]]:
    """('variants', names) or ('specs', paths): variant names are words from VARIANTS; specs are
    existing files, '-' (stdin), one-line specs (with '|'), library names (`resnet50`), and paths
    (with a '/' or ending in .yaml/.yml) that will fail to load with "no such file"."""
    variants, specs = [], []
    for arg in arguments:
        if arg in VARIANTS:
            variants.append(arg)
        elif (arg == "-" or os.path.exists(arg) or is_text_form(arg) or arg.endswith((".yaml", ".yml"))
              or "/" in arg or os.sep in arg or arg.startswith(library.PREFIX)
              or library.find(arg) is not None or is_source(arg)):
            specs.append(arg)
        else:
            variant = did_you_mean(arg, VARIANTS)
            spec = "" if variant else did_you_mean(arg, library.names())  # a library name, mistyped
            raise UsageError(f"'{arg}' is neither a variant{variant} nor a spec file{spec}; "
                             f"variants: {', '.join(VARIANTS)}")
    if variants and specs:
        raise UsageError(f"give variant names or spec files, not both: '{variants[0]}' is a variant, "
                         f"'{specs[0]}' a spec")
    if specs:
        if all_variants:
            raise UsageError("--all runs every variant of one convolution; it does not take spec files")
        return "specs", tuple(specs)
    if all_variants:
        variants += [name for name in VARIANTS if name not in variants]
    if not variants:
        raise UsageError("give variant names (e.g. regular depthwise-separable) or --all with --input and --out, "
                         "or two specs to compare")
    return "variants", tuple(variants)


@click.command(epilog=f"\b\nVariants:\n{VARIANT_LIST}")
@click.argument("items", nargs=-1, metavar="VARIANT... | SPEC SPEC")
@click.option("--all", "all_variants", is_flag=True, help="Every variant (after those named).")
@click.option("--input", "input_", metavar="CxHxW", help="Input shape per sample, channels first: 3x7x7 "
              "(with specs: overrides each spec's input).")
@click.option("--set", "sets", multiple=True, metavar="NAME=VALUE",
              help="With specs: set an argument the specs declare in `args:` (repeatable).")
@click.option("--out", type=WholeNumber(), help="Output channels N.")
@click.option("-k", "--kernel", "k", type=WholeNumber(), help="Kernel size K on every axis.  [default: 3]")
@click.option("-s", "--stride", "s", type=WholeNumber(), help="Stride.  [default: 1]")
@click.option("-p", "--padding", "p", metavar="valid|same|full|N", help="Padding.  [default: valid]")
@click.option("-d", "--dilation", "d", type=WholeNumber(), help="The dilated variant's dilation.  [default: 2]")
@click.option("--groups", type=WholeNumber(), help="Groups G of grouped and shuffled-grouped.  [default: 2]")
@click.option("--width", type=WholeNumber(), help="Inner width of bottleneck and shuffled-grouped.  [default: out // 4]")
@click.option("--bias/--no-bias", default=None, help="Give every convolution a bias.  [default: no bias]")
@click.option("--dtype", type=click.Choice(list(DTYPE_BYTES)), help="Element type for byte counts.  [default: float32]")
@click.option("--batch", "batches", type=BATCH, multiple=True,
              help="Batch size. With one spec: compare it at its own batch and at this one; "
                   "given twice: one per spec.")
@format_option(tuple(f.value for f in CompareFormat))
@click.option("--plot", "plot_path", metavar="FILE.png|FILE.svg",
              help="Also draw params and MACs per variant on a log scale (needs matplotlib).")
@allow_unknown_option
@summary_option
def compare(items: tuple[str, ...], all_variants: bool, input_: str | None, sets: tuple[str, ...], out: int | None,
            k: int | None,
            s: int | None, p: str | None, d: int | None, groups: int | None, width: int | None, bias: bool | None,
            dtype: str | None, batches: tuple[int, ...], fmt: str, plot_path: str | None, summary_only: bool) -> None:
    """Compare variants of one convolution, or one spec against another.

    With variant names (or --all): each variant of the convolution given by --input, --out, -k,
    -s and -p is expanded into layers and analyzed; the table shows output, params, MACs (per
    stage for multi-layer variants), the ratio to the first variant named, the notes' closed
    form where there is one, FLOPs, receptive field and bytes. Convolutions are bias-free
    unless --bias. A variant that cannot apply is shown as not applicable, with the reason.

    With two specs (files, or one-line specs with '|'): totals side by side with differences,
    and the layers that differ, matched by name, then by position. One spec with --batch
    compares it with itself at that batch.

    Exit codes: 0 done, 1 no variant applies, 2 bad input or usage."""
    mode, names = classify(items, all_variants)
    check_summary(summary_only, fmt)
    if summary_only and mode == "variants":
        raise UsageError("--summary leaves out the layers that differ between two specs; variants have no layer table")
    if plot_path is not None:
        check_plot_path(plot_path, inputs=names if mode == "specs" else ())
    if mode == "variants":
        if len(batches) > 1:
            raise UsageError("--batch is given twice; variants take one batch")
        if sets:
            raise UsageError("--set is for specs with `args:`; variants take --input, --out, -k, -s and -p")
        setup = make_setup(input_, out, k, s, p, d, groups, width, batches[0] if batches else None, dtype, bias)
        result = compare_variants(names, setup)
    else:
        given = {"--out": out, "-k": k, "-s": s, "-p": p, "-d": d, "--groups": groups,
                 "--width": width, "--bias": bias, "--dtype": dtype}
        extra = [flag for flag, value in given.items() if value is not None]
        if extra:
            raise UsageError(f"{', '.join(extra)} {'is' if len(extra) == 1 else 'are'} for variants; "
                             "specs carry their own shapes")
        specs = load_specs(names, (), overrides(input_, sets))
        batch_a, batch_b, itself = spec_batches(len(specs), batches)
        a, b = (specs[0], specs[0]) if itself else (specs[0], specs[1])
        result = compare_specs(a, b, batch_a, batch_b)
    click.echo(render(result, fmt, layers=not summary_only), nl=False, color=True)  # the reporter already decided on colour
    if plot_path is not None and (mode == "specs" or result.applicable):
        plot(result, plot_path)
        click.echo(f"convcalc: wrote {plot_path}", err=True)
    if mode == "variants" and not result.applicable:
        click.echo("convcalc: no variant applies to these shapes", err=True)
        raise SystemExit(1)
