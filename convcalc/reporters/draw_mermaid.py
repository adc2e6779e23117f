"""A drawing as a Mermaid flowchart, which GitHub renders inside a ```mermaid block of Markdown
(a pull-request comment can show the network). Node ids are `n0`, `n1`, …; names and labels are
quoted strings in which `"`, `<`, `>` and `#` are written as Mermaid's entity codes, so text from
a spec cannot end a label or add markup."""

from __future__ import annotations

from typing import Any

from ..diagram import Diagram
from .drawing import caption, family, fill, lines

_ENTITIES = {"#": "#35;", '"': "#quot;", "<": "#lt;", ">": "#gt;", "`": "#96;"}


def text(value: str) -> str:
    return "".join(_ENTITIES.get(ch, ch) for ch in value)


def shaped(node_id: str, label: str, family_: str) -> str:
    if family_ == "input":
        return f'{node_id}[/"{label}"/]'
    if family_ == "block":
        return f'{node_id}[["{label}"]]'
    if family_ == "merge":
        return f'{node_id}(["{label}"])'
    return f'{node_id}["{label}"]'


def render(diagram: Diagram, **options: Any) -> str:
    ids = {node.id: f"n{i}" for i, node in enumerate(diagram.nodes)}
    out = [f"%% {text(caption(diagram.report, diagram.metric))}", "flowchart TD"]
    for node in diagram.nodes:
        label = "<br/>".join(text(line) for line in lines(node, diagram.metric))
        out.append("  " + shaped(ids[node.id], label, family(node)))
    for edge in diagram.edges:
        arrow = "-.->" if edge.side else "-->"
        out.append(f'  {ids[edge.source]} {arrow}|"{text(" | ".join(edge.shapes))}"| {ids[edge.target]}')
    for node in diagram.nodes:
        out.append(f"  style {ids[node.id]} fill:{fill(node, diagram.metric, diagram.largest, diagram.smallest)},stroke:#555555,color:#111111")
    return "\n".join(out) + "\n"
