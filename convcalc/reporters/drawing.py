"""What every drawing format shares: the formats, each node's lines of text, and its colour.

Each format is one module (draw_svg, draw_html, draw_dot, draw_mermaid) with
`render(diagram, **options) -> str`; `FORMATS` names each `DrawFormat`'s module and `RENDERERS`
holds its renderer (imported when used); a test checks every member is covered. Colours come
from facts the records and the report hold: a matrix-multiply kind (the records' `aligned`) is blue, a merge yellow, a layer with parameters
that is not a matrix multiply (a norm) green, a view white, everything else grey; with a metric
(`--by`), a node's fill goes from pale to red on a log scale between
the smallest value above zero and the largest.
"""

from __future__ import annotations

import math
import os
from enum import Enum
from typing import Any, Callable

from ..diagram import METRIC_UNITS, Diagram, Metric, Node
from ..errors import UsageError
from ..layers import REGISTRY
from ..printable import clean
from ..report import Report
from ..units import count, nbytes
from . import lazy


class DrawFormat(str, Enum):
    SVG = "svg"
    HTML = "html"
    DOT = "dot"
    MERMAID = "mermaid"


FORMATS = {
    DrawFormat.SVG: "draw_svg",
    DrawFormat.HTML: "draw_html",
    DrawFormat.DOT: "draw_dot",
    DrawFormat.MERMAID: "draw_mermaid",
}
RENDERERS: dict[DrawFormat, Callable[..., str]] = {member: lazy(module) for member, module in FORMATS.items()}
SUFFIXES = {".svg": DrawFormat.SVG, ".html": DrawFormat.HTML, ".htm": DrawFormat.HTML,
            ".dot": DrawFormat.DOT, ".gv": DrawFormat.DOT, ".mmd": DrawFormat.MERMAID,
            ".mermaid": DrawFormat.MERMAID}

KIND_COLOURS = {"compute": "#cfe2f3", "norm": "#d9ead3", "merge": "#fff2cc", "view": "#ffffff",
                "other": "#eeeeee", "input": "#f4f4f4", "block": "#e6dcf2"}
RAMP = ((255, 247, 236), (253, 212, 158), (252, 141, 89), (239, 101, 72))  # pale to red
FONT = "DejaVu Sans Mono, Menlo, Consolas, monospace"


def render(diagram: Diagram, fmt: DrawFormat | str, **options: Any) -> str:
    return RENDERERS[DrawFormat(fmt)](diagram, **options)


def family(node: Node) -> str:
    """The colour family of a node, from its record's facts (see the module's docstring)."""
    if node.kind in ("input", "block"):
        return node.kind
    record = REGISTRY[node.kind]
    if record.aligned:
        return "compute"
    if record.merge:
        return "merge"
    if record.view:
        return "view"
    return "norm" if node.params else "other"


def fill(node: Node, metric: Metric | None, largest: float, smallest: float = 0.0) -> str:
    if metric is None or node.kind == "input":
        return KIND_COLOURS[family(node)]
    return ramp(node.value, largest, smallest)


def ramp(value: float, largest: float, smallest: float = 0.0) -> str:
    """A colour from pale (the smallest value above zero) to red (the largest), on a log scale
    of value / smallest, so that a span of 19 M to 700 M MACs still shows; zero is white."""
    if largest <= 0 or value <= 0:
        return "#ffffff"
    low = smallest if 0 < smallest < largest else largest / 1000
    t = math.log(max(value, low) / low) / math.log(largest / low) if largest > low else 1.0
    t = min(max(t, 0.0), 1.0) * (len(RAMP) - 1)
    i = min(int(t), len(RAMP) - 2)
    f = t - i
    rgb = (round(a + (b - a) * f) for a, b in zip(RAMP[i], RAMP[i + 1]))
    return "#%02x%02x%02x" % tuple(rgb)


def title(node: Node) -> str:
    if node.kind == "input":
        return "input"
    name = clean(node.id)
    return f"{name} \u00d7 {node.repeat}" if node.repeat > 1 else name


def costs(node: Node) -> str:
    """'params 9.41 k · MACs 118 M', only the counts that are not zero."""
    parts = []
    if node.params:
        parts.append(f"params {count(node.params)}")
    if node.macs:
        parts.append(f"MACs {count(node.macs)}")
    return " · ".join(parts)


def value_text(metric: Metric, value: float) -> str:
    if metric is Metric.TIME:
        ms = value * 1e3
        return f"{ms:.3g} ms" if ms < 999.5 else f"{ms:,.0f} ms"  # .3g would write 1,000 as 1e+03
    if metric is Metric.MEMORY:
        return nbytes(int(value))
    if metric is Metric.RF:
        return f"RF {int(value)}"
    return f"{count(int(value))} {METRIC_UNITS[metric]}"


def lines(node: Node, metric: Metric | None) -> list[str]:
    """A node's text: its name (with x N), what it is, its costs, and the metric's value when
    that is not among the costs."""
    if node.kind == "input":
        return ["input", "x".join(map(str, node.output))]
    out = [title(node), clean(node.text)]
    text = costs(node)
    if metric is not None and metric not in (Metric.MACS, Metric.PARAMS):
        text = " · ".join(filter(None, [text, value_text(metric, node.value)]))
    if text:
        out.append(text)
    return out


def caption(r: Report, metric: Metric | None) -> str:
    """The drawing's one-line title: network, input, totals."""
    t = r.total
    by = f" · colour: {METRIC_UNITS[metric]}" if metric is not None else ""
    return (f"{clean(r.name)} · input {'x'.join(map(str, r.input))} · params {count(t.params)} · "
            f"MACs {count(t.macs)} · peak activations {nbytes(t.peak_activation_bytes)}{by}")


FORMAT_NAMES = tuple(f.value for f in DrawFormat)


def output_format(path: str | None, fmt: str | None, choices: tuple[str, ...] = FORMAT_NAMES) -> str:
    """The format from --format, else from the -o file's suffix; a known suffix that disagrees
    with --format, or a YAML file as the output, is refused."""
    suffix = os.path.splitext(path)[1].lower() if path else ""
    if path == "":
        raise UsageError("-o needs a file name, got ''")
    if path is not None:
        if suffix in (".yaml", ".yml") or os.path.splitext(os.path.realpath(path))[1].lower() in (".yaml", ".yml"):
            raise UsageError("refusing to write a drawing over a YAML file (is the spec named twice?); "
                             "give -o NAME.html", file=path)
    by_suffix = SUFFIXES[suffix].value if suffix in SUFFIXES else None
    if fmt is not None:
        if by_suffix is not None and by_suffix != fmt:
            raise UsageError(f"-o {clean(path)} names a {by_suffix} file but --format is {fmt}")
        return fmt
    if path is None:
        raise UsageError("give -o FILE (.svg, .html, .dot or .mmd), or --format to write to standard output")
    if by_suffix is None or by_suffix not in choices:
        raise UsageError(f"-o {clean(path)}: cannot tell the format from the name; end it in "
                         f"{', '.join('.' + c if c != 'mermaid' else '.mmd' for c in choices)}, or give --format")
    return by_suffix
