"""CSV: one row per layer of every spec, exact numbers; lists are JSON inside the cell.

New columns go at the end (`global`, beside the receptive field in JSON, came last), so a reader
that takes columns by position keeps working. A count a layer's kind cannot give (an imported
opaque layer's MACs and FLOPs) is an empty cell, never 0; the JSON says which totals are partial."""

from __future__ import annotations

import io
import json
from typing import IO

from ..printable import clean, csv_writer
from ..report import Report

HEADER = ["spec", "index", "name", "kind", "inputs", "output", "params", "buffers", "macs", "flops",
          "output_bytes", "weight_bytes", "receptive_field", "warnings", "line", "global"]


def render(reports: list[Report], stream: IO[str] | None = None, exact: bool = True) -> str:
    out = io.StringIO()
    writer = csv_writer(out)
    writer.writerow(HEADER)
    for report in reports:
        for layer in report.layers:
            d = layer.to_dict()
            writer.writerow([clean(report.name), layer.index, clean(layer.name), layer.kind, clean(";".join(layer.inputs)),
                             "x".join(map(str, layer.output)), layer.params, layer.buffers,
                             "" if "macs" in layer.unknown else layer.macs,
                             "" if "flops" in layer.unknown else layer.flops, layer.output_bytes, layer.weight_bytes, json.dumps(d["receptive_field"]),
                             clean(" | ".join(layer.warnings)), "" if layer.line is None else layer.line,
                             "true" if layer.global_context else "false"])
        # The totals row: what the table's total row and the JSON's "total" hold, every sum exact
        # (output_bytes: every layer's output added up; the peak is in the JSON).
        # Several outputs (`outputs:`): every output's shape in the cell, ";"-separated as `inputs` are
        t = report.total
        writer.writerow([clean(report.name), "", "total", "", "", ";".join("x".join(map(str, layer.output))
                                                                          for _, layer in report.heads), t.params,
                         t.buffers, t.macs, t.flops, t.activation_bytes, t.weight_bytes,
                         json.dumps(report.to_dict()["receptive_field"]), "", "",
                         "true" if report.global_context else "false"])
    return out.getvalue()
