"""`convcalc compare`: variants of one convolution side by side, or one spec against another."""

from __future__ import annotations

import click

from ..compare import VARIANTS, classify, compare_specs, compare_variants, make_setup, spec_batches
from ..errors import UsageError
from ..spec import DTYPE_BYTES
from .options import BATCH, WholeNumber, format_option, input_shape, load_specs

VARIANT_LIST = "\n".join(f"  {name:<20} {record.doc}" for name, record in VARIANTS.items())


@click.command(epilog=f"\b\nVariants:\n{VARIANT_LIST}")
@click.argument("items", nargs=-1, metavar="VARIANT... | SPEC SPEC")
@click.option("--all", "all_variants", is_flag=True, help="Every variant (after those named).")
@click.option("--input", "input_", metavar="CxHxW", help="Input shape per sample, channels first: 3x7x7.")
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
@format_option()
@click.option("--plot", "plot_path", metavar="FILE.png|FILE.svg",
              help="Also draw params and MACs per variant on a log scale (needs matplotlib).")
def compare(items: tuple[str, ...], all_variants: bool, input_: str | None, out: int | None, k: int | None,
            s: int | None, p: str | None, d: int | None, groups: int | None, width: int | None, bias: bool | None,
            dtype: str | None, batches: tuple[int, ...], fmt: str, plot_path: str | None) -> None:
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
    from ..reporters.comparison import check_plot_path, plot, render

    mode, names = classify(items, all_variants)
    if plot_path:
        check_plot_path(plot_path)
    if mode == "variants":
        if len(batches) > 1:
            raise UsageError("--batch is given twice; variants take one batch")
        setup = make_setup(input_, out, k, s, p, d, groups, width, batches[0] if batches else None, dtype, bias)
        result = compare_variants(names, setup)
    else:
        from ..importers import is_source

        sources = any(is_source(name) for name in names)  # --input is the input a model is imported at
        given = {"--input": None if sources else input_, "--out": out, "-k": k, "-s": s, "-p": p, "-d": d, "--groups": groups,
                 "--width": width, "--bias": bias, "--dtype": dtype}
        extra = [flag for flag, value in given.items() if value is not None]
        if extra:
            raise UsageError(f"{', '.join(extra)} {'is' if len(extra) == 1 else 'are'} for variants; "
                             "specs carry their own shapes")
        specs = load_specs(names, (), input_shape(input_) if sources else None)
        batch_a, batch_b, itself = spec_batches(len(specs), batches)
        a, b = (specs[0], specs[0]) if itself else (specs[0], specs[1])
        result = compare_specs(a, b, batch_a, batch_b)
    click.echo(render(result, fmt), nl=False, color=True)  # the reporter already decided on colour
    if plot_path and (mode == "specs" or result.applicable):
        plot(result, plot_path)
        click.echo(f"convcalc: wrote {plot_path}", err=True)
    if mode == "variants" and not result.applicable:
        click.echo("convcalc: no variant applies to these shapes", err=True)
        raise SystemExit(1)
