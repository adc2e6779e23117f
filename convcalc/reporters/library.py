"""`convcalc shapes --list`: the spec library, one line per spec, in every format of `shapes`.

The table is for reading: it fits the terminal, and 80 columns in a pipe (network titles are cut
with '…'), as every table does (textable.terminal_width); json, csv and markdown keep everything, with exact counts.
"""

from __future__ import annotations

import io
import sys
from typing import IO, Callable

from ..library import Entry
from ..printable import csv_writer, markdown, markdown_code
from ..report import SCHEMAS
from ..textable import Column, Table, render as render_table, terminal_width, wants_color, wrap_lines
from ..units import count
from . import Format
from .common import shape
from .jsonout import dumps

BASES = "= resnet: the spec is that parametric spec at fixed args (--format json and csv name them)"
FOOTER = ("a name works wherever a SPEC is asked: convcalc shapes resnet50, convcalc compare resnet50 se_resnet50; "
          "a file of that name in the current folder comes first (library:resnet50 always means the library's)")


def render(entries: list[Entry], fmt: Format | str, stream: IO[str] | None = None) -> str:
    """`convcalc shapes --list`: the library in the format of `shapes --format` (its `Format`)."""
    return RENDERERS[Format(fmt)](entries, stream)


def as_json(entries: list[Entry], stream: IO[str] | None = None) -> str:
    return dumps({"schema": SCHEMAS["library"], "specs": [_dict(e) for e in entries]}) + "\n"


def as_csv(entries: list[Entry], stream: IO[str] | None = None) -> str:
    out = io.StringIO()
    writer = csv_writer(out)
    writer.writerow(["name", "network", "is", "source", "input", "params", "macs", "flops", "peak_activation_bytes"])
    for e in entries:
        t = e.report.total
        writer.writerow([e.name, e.network, _base(e), e.report.source, shape(e.report.input[1:]), t.params, t.macs,
                         t.flops, t.peak_activation_bytes])
    return out.getvalue()


def as_markdown(entries: list[Entry], stream: IO[str] | None = None) -> str:
    lines = ["| name | network | input | params | MACs |", "|---|---|---|---:|---:|"]
    lines += [f"| {markdown_code(e.name, table=True)} | {markdown(e.network)} | {shape(e.report.input[1:])} "
              f"| {e.report.total.params:,} | {e.report.total.macs:,} |" for e in entries]
    return "\n".join(lines) + "\n"


def as_table(entries: list[Entry], stream: IO[str] | None = None) -> str:
    stream = stream or sys.stdout
    width, color = terminal_width(stream), wants_color(stream)
    table = Table([Column("name"), Column("network", shrink=True, min_width=12), 
                   Column("input"), Column("params", "right"), Column("MACs", "right"),
                   Column("FLOPs", "right", optional=True)],
                  title=f"the spec library: {len(entries)} specs, installed with convcalc")
    for e in entries:
        t = e.report.total
        network = f"= {e.base[0]}: {e.network}" if e.base else e.network
        table.add_row(e.name, network, shape(e.report.input[1:]), count(t.params), count(t.macs), count(t.flops))
    notes = [BASES] if any(e.base for e in entries) else []
    return render_table(table, width=width, color=color, stream=stream) + wrap_lines([*notes, FOOTER], width)


def _base(e: Entry) -> str:
    """'resnet depth=50': the parametric spec this one is a setting of."""
    if e.base is None:
        return ""
    return " ".join([e.base[0], *(f"{k}={v}" for k, v in e.base[1].items())])


def _dict(e: Entry) -> dict[str, object]:
    """A library spec in JSON: its name, its title, its source (`library:NAME`, which always
    names it), and its shapes and totals as `convcalc shapes --format json` gives them (with the
    batch, exact counts), for a parametric spec its `args:` at their defaults (what --set changes),
    and for one setting of a parametric spec that spec and its args (`base`; null otherwise)."""
    report = e.report.to_dict()
    return {"name": e.name, "network": e.network, "source": report["source"], "input": report["input"],
            "output": report["output"], "total": report["total"], "args": report.get("args", {}),
            "base": None if e.base is None else {"spec": e.base[0], "set": e.base[1]}}


RENDERERS: dict[Format, Callable[[list[Entry], "IO[str] | None"], str]] = {
    Format.TABLE: as_table,
    Format.JSON: as_json,
    Format.CSV: as_csv,
    Format.MARKDOWN: as_markdown,
}
