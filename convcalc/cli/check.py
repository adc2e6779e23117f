"""`convcalc check`: budgets, expectations, warnings and baselines of specs, for CI."""

from __future__ import annotations

import click

from ..check import check_target, flag_limit, read_baseline, run, write_baseline
from ..errors import UsageError
from ..printable import clean
from ..reporters.checks import CheckFormat, render
from .options import WholeNumber, overrides, spec_options

_UNITS = "units: k M G T and KB MB GB TB (x1000), KiB MiB GiB TiB (x1024)"


@click.command()
@click.argument("specs", nargs=-1, metavar="SPEC...")
@click.option("--max-params", metavar="N", help=f"At most N parameters, e.g. 5M ({_UNITS}).")
@click.option("--max-macs", metavar="N", help="At most N multiply-accumulates, e.g. 600M.")
@click.option("--max-flops", metavar="N", help="At most N FLOPs, e.g. 1.2G.")
@click.option("--max-peak-memory", metavar="BYTES", help="At most this peak activation memory, e.g. 100MiB.")
@click.option("--max-weight-bytes", metavar="BYTES", help="At most this much parameter and buffer memory, e.g. 20MiB.")
@click.option("--strict", is_flag=True, help="Fail on warnings too (uncovered input, even kernels with 'same' "
              "padding, tensor-core alignment).")
@click.option("--align", type=WholeNumber(1), metavar="N", default=None,
              help="Warn when conv/linear channels are not a multiple of N (default: 8 for float16/bfloat16 "
                   "specs, off otherwise).")
@click.option("--baseline", "baseline_path", metavar="FILE", help="Fail when a total grows beyond --tolerance "
              "over this baseline.")
@click.option("--write-baseline", "write_path", metavar="FILE", help="Record every spec's totals in FILE (a new file "
              "or an older baseline, never anything else; see docs/ci.md).")
@click.option("--tolerance", default="0%", show_default=True, metavar="PCT",
              help="Allowed growth over the baseline: 0, 5%, 0.5%.")
@click.option("--format", "fmt", type=click.Choice([f.value for f in CheckFormat]), default=CheckFormat.TEXT.value,
              show_default=True, help="text for people; json, junit (XML) or github (workflow annotations) for CI.")
@spec_options
def check(specs: tuple[str, ...], max_params: str | None, max_macs: str | None, max_flops: str | None,
          max_peak_memory: str | None, max_weight_bytes: str | None, strict: bool, align: int | None,
          baseline_path: str | None, write_path: str | None, tolerance: str, fmt: str, input_: str | None,
          sets: tuple[str, ...]) -> None:
    """Check specs against their `budget:` (params, macs, flops, peak_activation_bytes,
    weight_bytes, expect_output), the --max-* limits (which override the spec's) and a baseline.

    SPEC is a YAML spec file (`-` reads standard input). Limits are inclusive. Warnings are
    printed always and fail only with --strict. An invalid spec is reported on stderr, one line,
    and as a failed spec in the output; the other specs are still checked. docs/ci.md has examples.

    Exit codes: 0 all pass; 1 a budget, expectation or baseline failed (or a warning under
    --strict); 2 a spec is invalid or the usage is wrong (2 wins over 1)."""
    if not specs:
        raise UsageError("give one or more spec files: convcalc check specs/*.yaml")
    given = {"params": max_params, "macs": max_macs, "flops": max_flops,
             "peak_activation_bytes": max_peak_memory, "weight_bytes": max_weight_bytes}
    flags = [flag_limit(key, text) for key, text in given.items() if text is not None]
    if write_path is not None:
        check_target(write_path, specs)  # before the run: `--write-baseline specs/*.yaml` is refused at once
    baseline = read_baseline(baseline_path) if baseline_path is not None else None
    result = run(specs, flags=flags, align=align, strict=strict, baseline=baseline, tolerance=tolerance,
                 overrides=overrides(input_, sets))
    for spec in result.results:
        if spec.error is not None:
            click.echo(f"convcalc: {clean(spec.error)}", err=True)  # a hostile spec's escapes, made visible
    click.echo(render(result, fmt), nl=False, color=True)  # the text reporter already decided on colour
    if write_path is not None:
        write_baseline(write_path, result)
        click.echo(f"wrote the baseline {clean(write_path)}: {len(result.results)} spec"
                   f"{'s' if len(result.results) != 1 else ''}", err=True)
    if result.exit_code:
        raise SystemExit(result.exit_code)
