"""`convcalc verify`: convcalc's numbers against PyTorch, fvcore and FlopCounterMode."""

from __future__ import annotations

import click

from ..errors import UsageError
from ..extras import require_torch
from ..reporters.verification import VerifyFormat
from .options import (
    batch_option,
    check_summary,
    load_specs,
    overrides,
    spec_options,
    summary_option,
)


@click.command()
@click.argument("specs", nargs=-1, metavar="SPEC...")
@click.option("-e", "--expr", "expressions", multiple=True, metavar="TEXT", help="A one-line spec.")
@click.option("--format", "fmt", type=click.Choice([f.value for f in VerifyFormat]),
              default=VerifyFormat.TABLE.value, show_default=True, help="Output format: a table, JSON, or Markdown for a pull request.")
@click.option("--fvcore/--no-fvcore", "use_fvcore", default=True, show_default=True,
              help="Also trace with fvcore (needs real tensors: slow on very large inputs).")
@click.option("--tools", "tools", metavar="LIST",
              help="Also run these tools for real and predict each one's figures (docs/tools.md): "
                   "fvcore,flopcounter,thop,ptflops,torchinfo.")
@click.option("--train", is_flag=True,
              help="Check training instead: saved bytes, backward FLOPs and the SGD peak (docs/memory.md).")
@batch_option
@spec_options
@summary_option
def verify(specs: tuple[str, ...], expressions: tuple[str, ...], fmt: str, use_fvcore: bool, batch: int | None,
           train: bool, input_: str | None, sets: tuple[str, ...], summary_only: bool, tools: str | None) -> None:
    """Cross-check every layer against a real PyTorch build: output shapes (forward hooks) and
    parameter and buffer counts, fvcore's FlopCountAnalysis and torch's FlopCounterMode, each under
    its own convention (docs/costs.md). Disagreements are shown in red with both values.

    With --train: what autograd keeps per layer (saved_tensors_hooks), the backward's FLOPs
    (FlopCounterMode) and the peak of an SGD training step (MemTracker), against convcalc memory's.

    Exit codes: 0 all agree, 1 something disagrees, 2 bad input or torch/fvcore missing."""
    changes = overrides(input_, sets)
    check_summary(summary_only, fmt)
    if tools is not None and train:
        raise UsageError("--tools and --train do not go together")
    if train:
        require_torch("verify --train")
        from ..reporters.verification_train import render as render_train
        from ..verify_train import verify_train

        checked = [verify_train(spec, batch) for spec in load_specs(specs, expressions, changes)]
        click.echo(render_train(checked, fmt, layers=not summary_only), nl=False, color=True)
        if not all(r.ok for r in checked):
            raise SystemExit(1)
        return
    require_torch("verify", *(("fvcore",) if use_fvcore else ()))
    from ..reporters.verification import render
    from ..verify import verify as run

    loaded = load_specs(specs, expressions, changes)
    if tools is not None:
        from ..reporters.tools import render as render_tools
        from ..verify_tools import parse_tools, verify_tools

        names = parse_tools(tools)
        with_tools = [verify_tools(run(spec, batch, use_fvcore), spec, batch, names) for spec in loaded]
        click.echo(render_tools(with_tools, fmt, layers=not summary_only), nl=False, color=True)
        if not all(r.ok for r in with_tools):
            raise SystemExit(1)
        return
    results = [run(spec, batch, use_fvcore) for spec in loaded]
    click.echo(render(results, fmt, layers=not summary_only), nl=False, color=True)
    if not all(r.ok for r in results):
        raise SystemExit(1)
