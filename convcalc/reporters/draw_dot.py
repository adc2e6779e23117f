"""A drawing as Graphviz DOT: `dot -Tsvg net.dot > net.svg` lays it out (no binary is needed to
write it). Every string, the graph's name, node names and labels alike, is one `quote`: the text
made one printable line (`printable.clean`: newlines, controls and the bidi reordering characters
shown as escapes), then a quoted DOT string with `"` and `\\` escaped, so names from a spec
cannot break out of it, start a new line or reorder what a reader sees."""

from __future__ import annotations

from typing import Any

from ..diagram import Diagram
from ..printable import clean
from .drawing import FONT, caption, family, fill, lines

SHAPES = {"input": "parallelogram", "block": "box3d", "merge": "ellipse"}


def _inner(text: str) -> str:
    return clean(text).replace("\\", "\\\\").replace('"', '\\"')


def quote(text: str) -> str:
    """`text` as a DOT string: one line, nothing that ends the quotes."""
    return f'"{_inner(text)}"'


def render(diagram: Diagram, **options: Any) -> str:
    out = [f"digraph {quote(diagram.report.name)} {{",
           f"  graph [rankdir=TB, fontname={quote(FONT)}, fontsize=12, labelloc=t, label={quote(caption(diagram.report, diagram.metric))}];",
           f'  node [shape=box, style="rounded,filled", fontname={quote(FONT)}, fontsize=10, color="#555555"];',
           f'  edge [fontname={quote(FONT)}, fontsize=9, color="#777777"];']
    for node in diagram.nodes:
        shape = SHAPES.get(family(node), "box")
        label = "\\n".join(_inner(text) for text in lines(node, diagram.metric))  # DOT's \n escape: the label's next line
        style = "filled" if shape != "box" else "rounded,filled"
        out.append(f'  {quote(node.id)} [label="{label}", shape={shape}, style="{style}", '
                   f'fillcolor="{fill(node, diagram.metric, diagram.largest, diagram.smallest)}"];')
    for edge in diagram.edges:
        attrs = [f"label={quote(' | '.join(edge.shapes))}"]
        if edge.side:
            attrs.append("style=dashed")
        out.append(f"  {quote(edge.source)} -> {quote(edge.target)} [{', '.join(attrs)}];")
    out.append("}")
    return "\n".join(out) + "\n"
