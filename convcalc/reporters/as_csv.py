"""CSV: one row per layer of every spec, exact numbers; lists are JSON inside the cell.

New columns go at the end (`global`, beside the receptive field in JSON, came last), so a reader
that takes columns by position keeps working."""

from __future__ import annotations

import csv
import io
import json
from typing import IO

from ..report import Report

HEADER = ["spec", "index", "name", "kind", "inputs", "output", "params", "buffers", "macs", "flops",
          "output_bytes", "weight_bytes", "receptive_field", "warnings", "line", "global"]


def render(reports: list[Report], stream: IO[str] | None = None) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    for report in reports:
        for layer in report.layers:
            d = layer.to_dict()
            writer.writerow([report.name, layer.index, layer.name, layer.kind, ";".join(layer.inputs),
                             "x".join(map(str, layer.output)), layer.params, layer.buffers, layer.macs,
                             layer.flops, layer.output_bytes, layer.weight_bytes, json.dumps(d["receptive_field"]),
                             " | ".join(layer.warnings), "" if layer.line is None else layer.line,
                             "true" if layer.global_context else "false"])
    return out.getvalue()
