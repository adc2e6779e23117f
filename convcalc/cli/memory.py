"""`convcalc memory`: the memory and FLOPs of training a spec, and the largest batch that fits."""

from __future__ import annotations

import click

from ..errors import UsageError
from ..reporters.training import MemoryFormat
from .options import check_summary, load_specs, overrides, parse_batch, spec_options, summary_option

CHOICES = {"dtype": ("float32", "bfloat16", "float16", "float64"), "amp": ("bfloat16", "float16"),
           "optimizer": ("sgd", "momentum", "adam", "adamw"), "impl": ("for-loop", "foreach", "fused"),
           "device": ("cuda", "cpu")}


@click.command()
@click.argument("specs", nargs=-1, metavar="SPEC...")
@click.option("-e", "--expr", "expressions", multiple=True, metavar="TEXT", help="A one-line spec.")
@click.option("--batch", "batch_text", metavar="N[,N...]", help="Batch sizes, e.g. 1,8,64.  [default: the spec's]")
@click.option("--dtype", type=click.Choice(CHOICES["dtype"]),
              help="Train everything in this dtype (pure low precision).  [default: the spec's]")
@click.option("--amp", type=click.Choice(CHOICES["amp"]), is_flag=False, flag_value="bfloat16",
              help="Mixed precision as torch.autocast: float32 weights, conv and linear in bfloat16 (or float16).")
@click.option("--optimizer", type=click.Choice(CHOICES["optimizer"]), default="sgd", show_default=True,
              help="sgd, momentum (SGD with momentum), adam or adamw.")
@click.option("--impl", type=click.Choice(CHOICES["impl"]),
              help="The optimizer's implementation.  [default: PyTorch's for the device: foreach on cuda, for-loop on cpu]")
@click.option("--device", type=click.Choice(CHOICES["device"]), default="cuda", show_default=True,
              help="What to model: dropout's mask and the optimizer's default differ.")
@click.option("--fit", "fit_text", metavar="BYTES", help="Also find the largest batch whose training peak fits, e.g. 24GiB.")
@click.option("--format", "fmt", type=click.Choice([f.value for f in MemoryFormat]), default=MemoryFormat.TABLE.value,
              show_default=True, help="Output format: a table for people, json/csv/markdown for machines.")
@click.option("--exact", is_flag=True, help="Exact FLOPs (1,234,567) in the table and markdown instead of rounded ones.")
@summary_option
@spec_options
def memory(specs, expressions, batch_text, dtype, amp, optimizer, impl, device, fit_text, fmt, exact, summary_only,
           input_, sets):
    """Memory and FLOPs of training: what autograd keeps for the backward per layer, gradients,
    optimizer state and the peak of one steady-state iteration (forward, backward, optimizer
    step), beside the inference peak; forward and backward FLOPs per layer. --fit finds the
    largest batch whose peak fits a memory size, and answers for each batch, in the last lines,
    whether it fits. Computed from the spec alone (no torch), as
    PyTorch's autograd, autocast and optimizers do it (docs/memory.md)."""
    from ..reporters.training import render
    from ..training import reports, setup_for

    check_summary(summary_only, fmt)
    batches = None
    if batch_text is not None:
        batches = tuple(parse_batch(part) for part in batch_text.split(","))
    budget = None
    if fit_text is not None:
        from ..units import parse_quantity

        try:
            budget = parse_quantity(fit_text, "--fit")
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        if budget < 1:
            raise UsageError(f"--fit must be at least 1 byte, got '{fit_text}'")
    results = []
    for spec in load_specs(specs, expressions, overrides(input_, sets)):
        setup = setup_for(spec, dtype, amp, optimizer, impl, device)
        results += reports(spec, setup, batches or (spec.batch,), budget)
    click.echo(render(results, fmt, exact=exact, layers=not summary_only), nl=False, color=True)
