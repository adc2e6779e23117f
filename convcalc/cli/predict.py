"""`convcalc predict`: per-layer latency on a catalogue device, on the plain roofline, uncalibrated."""

from __future__ import annotations

import click

from ..reporters.prediction import PredictFormat
from .options import load_specs, overrides, parse_batch, spec_options

DTYPES = ("float32", "bfloat16", "float16", "float64")


@click.command()
@click.argument("specs", nargs=-1, metavar="SPEC...")
@click.option("-e", "--expr", "expressions", multiple=True, metavar="TEXT", help="A one-line spec.")
@click.option("--device", "device_name", required=True, metavar="NAME",
              help="A device of the built-in catalogue (convcalc/devices.json), e.g. a100-sxm-80gb, h100-sxm, "
                   "rtx-4090, jetson-orin-nano-8gb.")
@click.option("--batch", "batch_text", metavar="N[,N...]", help="Batch sizes, e.g. 1,8,64.  [default: the spec's]")
@click.option("--dtype", type=click.Choice(DTYPES), help="Predict in this dtype.  [default: the spec's]")
@click.option("--format", "fmt", type=click.Choice([f.value for f in PredictFormat]),
              default=PredictFormat.TABLE.value, show_default=True,
              help="Output format: a table for people, json for machines.")
@spec_options
def predict(specs, expressions, device_name, batch_text, dtype, fmt, input_, sets):
    """Predicted latency and throughput of a spec on a device you do not have: per layer,
    max(FLOPs / the device's peak FLOP/s for the dtype, bytes moved / its memory bandwidth),
    summed over the layers, from the device's published spec sheet. Uncalibrated: a lower bound
    more than a forecast (docs/predict.md). Computed from the spec alone (no torch)."""
    from ..predict import device_named, peak_for, predict as predict_spec
    from ..reporters.prediction import render

    device = device_named(device_name)
    if dtype is not None:
        peak_for(device, dtype)
    batches = None
    if batch_text is not None:
        batches = tuple(parse_batch(part) for part in batch_text.split(","))
    results = [predict_spec(spec, device, dtype, batches)
               for spec in load_specs(specs, expressions, overrides(input_, sets))]
    click.echo(render(results, fmt), nl=False, color=True)
