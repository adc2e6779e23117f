"""A drawing as a static SVG file, laid out in Python by grandalf's Sugiyama layout (the optional
extra `convcalc[draw]`, imported here only), so no browser or system binary is needed.

grandalf places layered DAGs as Graphviz's `dot` does (ranks, crossing reduction by barycentres,
dummy nodes along long edges) and takes each node's width and height, which this module
estimates from its text in a monospace font (0.6 em per character), the one font property every
monospace font shares. Edges are polylines through the dummy nodes, labelled with the tensor's
shape where they leave their source; each node carries a <title> with its exact numbers, which
viewers show on hover. One `<g class="node">` per node, with `data-name` its layer or block.
"""

from __future__ import annotations

from typing import Any
from xml.sax.saxutils import escape, quoteattr

from ..diagram import Diagram, Node
from ..errors import UsageError
from .drawing import FONT, caption, family, fill, lines

FONT_SIZE = 11
CHAR = 0.6 * FONT_SIZE  # width of a monospace character
LINE = 14  # line height
PAD_X, PAD_Y = 10, 7
X_SPACE, Y_SPACE = 24, 42  # between nodes of a rank; between ranks (room for the edge's label)
MARGIN = 20
CAPTION = 30


def size(node: Node, diagram: Diagram) -> tuple[float, float]:
    text = lines(node, diagram.metric)
    return max(len(line) for line in text) * CHAR + 2 * PAD_X, len(text) * LINE + 2 * PAD_Y


MAX_NODES = 3000  # grandalf takes about 6 s for 3,000 nodes and grows faster than linearly


def layout(diagram: Diagram) -> tuple[dict[str, tuple[float, float, float, float]], dict[tuple[str, str], list]]:
    """Centre, width and height of each node, and each edge's points, from grandalf."""
    try:
        from grandalf.graphs import Edge, Graph, Vertex
        from grandalf.layouts import SugiyamaLayout
    except ImportError:
        raise UsageError("SVG drawings need grandalf for the layout: pip install 'convcalc[draw]' "
                         "(or write .html, .dot or .mmd, which need nothing more)") from None

    if len(diagram.nodes) > MAX_NODES:
        raise UsageError(f"an SVG of {len(diagram.nodes):,} nodes is past what its layout does in seconds "
                         f"({MAX_NODES:,}); collapse blocks with --depth 0, or write .html or .dot")

    class View:
        def __init__(self, w: float = 0.0, h: float = 0.0) -> None:
            self.w, self.h, self.xy, self.path = w, h, (0.0, 0.0), None

        def setpath(self, points: list) -> None:
            self.path = points

    vertices = {}
    for node in diagram.nodes:
        vertex = Vertex(node.id)
        vertex.view = View(*size(node, diagram))
        vertices[node.id] = vertex
    edges = []
    for e in diagram.edges:
        edge = Edge(vertices[e.source], vertices[e.target])
        edge.view = View()
        edges.append(edge)
    graph = Graph(list(vertices.values()), edges)
    offset = 0.0
    for component in graph.C:
        sugiyama = SugiyamaLayout(component)
        sugiyama.xspace, sugiyama.yspace = X_SPACE, Y_SPACE
        sugiyama.dw, sugiyama.dh = 12, 12  # dummy nodes of long edges: narrow, so they do not push nodes apart
        roots = [v for v in component.sV if not v.e_in()]
        sugiyama.init_all(roots=roots or None, inverted_edges=[])  # a spec's graph is acyclic: no feedback search
        sugiyama.draw(8)
        # Components side by side.
        xs = [v.view.xy[0] - v.view.w / 2 for v in component.sV]
        shift = offset - min(xs)
        for v in component.sV:
            v.view.xy = (v.view.xy[0] + shift, v.view.xy[1])
        for e in component.sE:
            if e.view.path:
                e.view.path = [(x + shift, y) for x, y in e.view.path]
        offset = max(v.view.xy[0] + v.view.w / 2 for v in component.sV) + 4 * X_SPACE
    boxes = {name: (v.view.xy[0], v.view.xy[1], v.view.w, v.view.h) for name, v in vertices.items()}
    paths = {(e.source, e.target): edge.view.path or [edge.v[0].view.xy, edge.v[1].view.xy]
             for e, edge in zip(diagram.edges, edges)}
    return boxes, paths


def _clip(points: list, source: tuple, target: tuple) -> list:
    """The edge from the source box's bottom (or top, if it runs upward) to the target's."""
    (sx, sy, _, sh), (tx, ty, _, th) = source, target
    down = ty >= sy
    first = (sx, sy + sh / 2) if down else (sx, sy - sh / 2)
    last = (tx, ty - th / 2) if down else (tx, ty + th / 2)
    return [first] + [tuple(p) for p in points[1:-1]] + [last]


def tooltip(node: Node, diagram: Diagram) -> str:
    """Every number of the node, exact."""
    r = diagram.report
    if node.kind == "input":
        return f"input {'x'.join(map(str, r.input))} {r.dtype}"
    out = [" ".join(lines(node, diagram.metric)[:2])]
    out.append(f"layers {node.first}-{node.last}" if node.first != node.last else f"layer #{node.first}")
    out.append(f"output {'x'.join(map(str, node.output))}")
    out.append(f"params {node.params:,} · MACs {node.macs:,} · FLOPs {node.flops:,}")
    return "\n".join(out)


def render(diagram: Diagram, **options: Any) -> str:
    boxes, paths = layout(diagram)
    left = min(x - w / 2 for x, _, w, _ in boxes.values()) - MARGIN
    top = min(y - h / 2 for _, y, _, h in boxes.values()) - MARGIN - CAPTION
    right = max(x + w / 2 for x, _, w, _ in boxes.values()) + MARGIN
    bottom = max(y + h / 2 for _, y, _, h in boxes.values()) + MARGIN
    head = caption(diagram.report, diagram.metric)
    right = max(right, left + len(head) * 0.6 * (FONT_SIZE + 2) + 2 * MARGIN)
    width, height = right - left, bottom - top
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="{left:.1f} {top:.1f} {width:.1f} {height:.1f}" '
           f'width="{width:.0f}" height="{height:.0f}" font-family={quoteattr(FONT)} font-size="{FONT_SIZE}">',
           f"<title>{escape(head)}</title>",
           "<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"7\" "
           "markerHeight=\"7\" orient=\"auto-start-reverse\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"#777\"/></marker></defs>",
           f'<rect x="{left:.1f}" y="{top:.1f}" width="{width:.1f}" height="{height:.1f}" fill="#ffffff"/>',
           f'<text x="{left + MARGIN:.1f}" y="{top + MARGIN:.1f}" font-size="{FONT_SIZE + 2}" '
           f'font-weight="bold">{escape(head)}</text>',
           '<g class="edges" fill="none" stroke="#777" stroke-width="1.2">']
    labels = []
    for edge in diagram.edges:
        points = _clip(paths[(edge.source, edge.target)], boxes[edge.source], boxes[edge.target])
        d = "M" + " L".join(f"{x:.1f},{y:.1f}" for x, y in points)
        dash = ' stroke-dasharray="5,4"' if edge.side else ""
        out.append(f'<path d="{d}" marker-end="url(#arrow)"{dash}/>')
        (x0, y0), (x1, y1) = points[0], points[1]
        lx, ly = x0 + (x1 - x0) * 0.45 + 4, y0 + (y1 - y0) * 0.45 + 4
        labels.append(f'<text x="{lx:.1f}" y="{ly:.1f}">{escape(" | ".join(edge.shapes))}</text>')
    out.append("</g>")
    out.append(f'<g class="shapes" font-size="{FONT_SIZE - 1}" fill="#444" stroke="#fff" stroke-width="3" '
               f'paint-order="stroke">')
    out.extend(labels)
    out.append("</g>")
    for node in diagram.nodes:
        x, y, w, h = boxes[node.id]
        kind = family(node)
        rx = h / 2 if kind == "merge" else 2 if kind == "input" else 6
        out.append(f'<g class="node" data-name={quoteattr(node.id)} data-kind={quoteattr(node.kind)}>')
        out.append(f"<title>{escape(tooltip(node, diagram))}</title>")
        stroke = ' stroke-width="2.5"' if node.repeat > 1 else ""
        if node.repeat > 1:  # a stack: the instances behind it
            out.append(f'<rect x="{x - w / 2 + 5:.1f}" y="{y - h / 2 - 5:.1f}" width="{w:.1f}" height="{h:.1f}" '
                       f'rx="{rx}" fill="{fill(node, diagram.metric, diagram.largest, diagram.smallest)}" stroke="#555"/>')
        out.append(f'<rect x="{x - w / 2:.1f}" y="{y - h / 2:.1f}" width="{w:.1f}" height="{h:.1f}" rx="{rx}" '
                   f'fill="{fill(node, diagram.metric, diagram.largest, diagram.smallest)}" stroke="#555"{stroke}/>')
        text = lines(node, diagram.metric)
        y0 = y - (len(text) - 1) * LINE / 2 + 4
        for i, line in enumerate(text):
            weight = ' font-weight="bold"' if i == 0 else ""
            out.append(f'<text x="{x:.1f}" y="{y0 + i * LINE:.1f}" text-anchor="middle"{weight}>{escape(line)}</text>')
        out.append("</g>")
    out.append("</svg>")
    return "\n".join(out) + "\n"
