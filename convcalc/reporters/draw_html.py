"""A drawing as one self-contained HTML file: the layers and blocks as JSON, the layout library
(dagre, MIT, convcalc/assets/dagre.min.js with its licence) and convcalc's script and styles,
all inline. A Content-Security-Policy forbids every request, so the page works from `file://`,
offline, forever, and cannot reach the network even if a spec's text tried. It allows no inline
script or style but the page's own: each bundled script and the one style sheet is listed by its
sha256, computed from the exact text the page carries when it is built (`csp`), so markup that
a spec's text ever smuggled into the page would not run, and no element has a `style` attribute
(the legend's swatches are classes).

The page lays the graph out itself, because expanding or collapsing a block changes the layout;
everything it shows (lines of text, exact numbers, colours) is written here, from the Report.
`graph_parts` is shared with the report page (html_page.py).
"""

from __future__ import annotations

import base64
import hashlib
import os
from html import escape
from typing import Any

from ..diagram import METRIC_UNITS, Block, Model, block_node, input_node, layer_node, shape_text
from ..layers import REGISTRY
from ..printable import clean
from ..report import LayerReport, plain
from ..units import nbytes, number
from .drawing import KIND_COLOURS, RAMP, caption, family, fill, lines, value_text
from .jsonout import dumps

ASSETS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "assets")


def source_hash(text: str) -> str:
    """A CSP source for one inline <script> or <style>: the sha256 of its text, as browsers hash it."""
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


def csp(scripts: list[str], styles: list[str]) -> str:
    """The page's policy: nothing from anywhere, and exactly these inline scripts and styles."""
    return (f"default-src 'none'; style-src {' '.join(map(source_hash, styles))}; "
            f"script-src {' '.join(map(source_hash, scripts))}; img-src data:; "
            "font-src 'none'; connect-src 'none'; form-action 'none'; base-uri 'none'")


def asset(name: str) -> str:
    with open(os.path.join(ASSETS, name), encoding="utf-8") as handle:
        return handle.read()


def script_json(doc: dict[str, Any]) -> str:
    """JSON safe inside a <script> element: '<' written as \\u003c, so no '</script>' or '<!--'."""
    return dumps(doc).replace("<", "\\u003c")


def exact(n: int) -> str:
    return f"{n:,}"


def with_bytes(n: int) -> str:
    return f"{n:,} ({nbytes(n)})"


def field_text(layer: LayerReport) -> str:
    sizes = "x".join(number(axis[0]) for axis in layer.receptive_field) or "-"
    axes = "; ".join(f"size {number(size)} jump {number(plain(jump))} start {number(plain(start))}"
                     for size, jump, start in layer.receptive_field)
    return f"{sizes}{' + global' if layer.global_context else ''}" + (f" ({axes})" if axes else "")


def layer_tip(layer: LayerReport, model: Model) -> list[list[str]]:
    rows = [["layer", clean(layer.name)], ["kind", layer.kind], ["spec", clean(layer_node(layer).text)],
            ["index", f"#{layer.index}" + (f", line {layer.line}" if layer.line else "")],
            ["inputs", ", ".join(clean(name) for name in layer.inputs)],
            ["output", shape_text(layer.output)], ["params", exact(layer.params)], ["buffers", exact(layer.buffers)],
            ["MACs", exact(layer.macs)], ["FLOPs", exact(layer.flops)], ["output bytes", with_bytes(layer.output_bytes)],
            ["weight bytes", with_bytes(layer.weight_bytes)], ["receptive field", field_text(layer)]]
    sides = [clean(layer.args[arg]) for arg in REGISTRY[layer.kind].side_inputs if layer.args.get(arg)]
    if sides:
        rows.insert(5, ["side inputs", ", ".join(sides)])
    if model.metric is not None and model.metric.value not in ("macs", "params", "flops"):
        rows.append([METRIC_UNITS[model.metric], value_text(model.metric, model.layer_values[layer.index])])
    rows.extend(["warning", clean(w)] for w in layer.warnings)
    return rows


def block_tip(block: Block, value: float, model: Model) -> list[list[str]]:
    out = model.report.layers[block.last]
    rows = [["block", clean(block.name)],
            ["layers", f"{block.layers} (#{block.first}-#{block.last})" +
             (f": {block.repeat} instances of {block.layers // block.repeat}" if block.repeat > 1 else "")],
            ["kinds", block_node(block, model.report).text], ["output", shape_text(out.output)],
            ["params", exact(block.params)], ["buffers", exact(block.buffers)], ["MACs", exact(block.macs)],
            ["FLOPs", exact(block.flops)], ["weight bytes", with_bytes(block.weight_bytes)],
            ["activation bytes", with_bytes(block.activation_bytes) + ", its layers' outputs added up"]]
    if model.metric is not None and model.metric.value not in ("macs", "params", "flops"):
        rows.append([METRIC_UNITS[model.metric], value_text(model.metric, value)])
    rows.append(["", "click to expand; click its frame to collapse again"])
    return rows


def graph_data(model: Model) -> dict[str, Any]:
    report, metric = model.report, model.metric
    layers = []
    for layer in report.layers:
        node = layer_node(layer, model.layer_values[layer.index])
        record = REGISTRY[layer.kind]
        layers.append({"i": layer.index, "name": layer.name, "inputs": list(layer.inputs),
                       "side": [layer.args[arg] for arg in record.side_inputs if layer.args.get(arg)],
                       "shape": shape_text(layer.output), "lines": lines(node, metric), "family": family(node),
                       "fill": fill(node, metric, model.largest, model.smallest), "tip": layer_tip(layer, model)})
    blocks = []
    for block, value in zip(model.blocks, model.block_values):
        node = block_node(block, report, value)
        blocks.append({"name": block.name, "parent": block.parent, "first": block.first, "last": block.last,
                       "repeat": block.repeat, "lines": lines(node, metric), "family": "block",
                       "fill": fill(node, metric, model.largest, model.smallest), "tip": block_tip(block, value, model)})
    entry = input_node(report)
    return {
        "name": report.name, "caption": caption(report, metric),
        "input": {"shape": shape_text(report.input), "lines": lines(entry, metric), "family": "input",
                  "fill": fill(entry, metric, model.largest, model.smallest),
                  "tip": [["input", shape_text(report.input)], ["dtype", report.dtype], ["batch", str(report.batch)]]},
        "collapsed": sorted(model.collapsed),
        "blocks": blocks,
        "layers": layers,
    }


LEGEND = (("compute", "conv / linear"), ("norm", "with params"), ("merge", "merge"), ("other", "other"),
          ("block", "block"))


def graph_parts(model: Model, source_id: str) -> tuple[str, str]:
    """The graph's HTML (toolbar, svg, tooltip) and the <script> with its data."""
    if model.metric is None:
        legend = "".join(f'<span><i class="swatch-{key}"></i>{label}</span>' for key, label in LEGEND)
    else:
        legend = (f'<span>colour: {escape(METRIC_UNITS[model.metric])}, log scale: <i class="swatch-low"></i>'
                  f'{escape(value_text(model.metric, model.smallest))} to <i class="swatch-high"></i>'
                  f'{escape(value_text(model.metric, model.largest))}; white: 0</span>')
    html = f"""<div class="convcalc-graph" data-source="{source_id}" tabindex="0">
<div class="toolbar">
<input class="search" type="search" placeholder="find a layer (/)" aria-label="find a layer by name">
<button data-action="fit" title="fit the graph (0)">fit</button>
<button data-action="zoom-in" title="zoom in (+)">+</button>
<button data-action="zoom-out" title="zoom out (-)">&minus;</button>
<button data-action="expand-all">expand all</button>
<button data-action="repeats">collapse repeats</button>
<button data-action="collapse-all">collapse all</button>
<span class="legend">{legend}</span>
<span class="status" aria-live="polite"></span>
</div>
<svg class="graph" xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{escape(caption(model.report, model.metric))}">
<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#777"/></marker></defs>
<g class="viewport"></g></svg>
<div class="tip" hidden></div>
</div>"""
    data = f'<script type="application/json" id="{source_id}">{script_json(graph_data(model))}</script>'
    return html, data


def scripts() -> list[str]:
    """The bundled scripts' text, in page order: dagre with its licence, then convcalc's graph script."""
    licence = asset("dagre.LICENSE").replace("*/", "* /")
    return [f"/*! @dagrejs/dagre 3.1.3, bundled for offline use. Its licence:\n{licence}*/\n{asset('dagre.min.js')}",
            asset("graph.js")]


def script_tags(bodies: list[str]) -> str:
    return "\n".join(f"<script>{body}</script>" for body in bodies)


def style() -> str:
    """The page's one style sheet: page.css, and the legend's swatch colours as classes."""
    swatches = {**{key: KIND_COLOURS[key] for key, _ in LEGEND},
                "low": "#%02x%02x%02x" % RAMP[0], "high": "#%02x%02x%02x" % RAMP[-1]}
    return asset("page.css") + "".join(f".swatch-{key} {{ background: {colour}; }}\n" for key, colour in swatches.items())


def head(title: str, scripts: list[str]) -> str:
    """The page's head; `scripts` are the inline scripts its body carries, which the policy lists."""
    sheet = style()
    return (f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8">\n'
            f'<meta http-equiv="Content-Security-Policy" content="{csp(scripts, [sheet])}">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{escape(title)}</title>\n<style>{sheet}</style></head>\n")


def render(model: Model, **options: Any) -> str:
    html, data = graph_parts(model, "convcalc-data")
    title = f"{clean(model.report.name)}: convcalc draw"
    toolbar_caption = f'<span class="caption">{escape(caption(model.report, model.metric))}</span>'
    html = html.replace('<div class="toolbar">\n', f'<div class="toolbar">\n{toolbar_caption}\n', 1)
    bodies = scripts()
    return f'{head(title, bodies)}<body class="drawing">\n{html}\n{data}\n{script_tags(bodies)}\n</body></html>\n'
