"""`convcalc draw`: each format parses as its language and has one node per drawn node; options,
refusals and streams. The HTML's behaviour in a real browser is in test_draw_browser.py."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner

import convcalc
from convcalc import library
from convcalc.cli import cli
from convcalc.diagram import build, model
from convcalc.reporters.drawing import FORMATS, RENDERERS, SUFFIXES, DrawFormat, render

ROOT = Path(__file__).resolve().parent.parent
SVG = "{http://www.w3.org/2000/svg}"
# A spec whose name tries to end every quoting the formats use.
HOSTILE = 'name: "x\\" ] --> </script><!-- #quot; `\\\\"\ninput: [3, 8, 8]\nlayers: [{conv: {out: 4, k: 3}}, relu]\n'


def draw(*args: str, input: str | None = None):
    return CliRunner().invoke(cli, ["draw", *args], input=input, catch_exceptions=False)


def report(name: str) -> convcalc.Report:
    return convcalc.analyze(convcalc.load(library.path(name)))


def test_every_format_has_a_renderer_and_a_suffix():
    assert set(FORMATS) == set(RENDERERS) == set(DrawFormat)
    assert set(SUFFIXES.values()) == set(DrawFormat)


def svg_nodes(text: str) -> list[ET.Element]:
    root = ET.fromstring(text)
    return [g for g in root.iter(f"{SVG}g") if g.get("class") == "node"]


def test_svg_is_xml_with_one_node_per_drawn_node():
    pytest.importorskip("grandalf")
    r = report("resnet50")
    text = render(build(r), "svg")
    nodes = svg_nodes(text)
    assert len(nodes) == 1 + 4 + (3 + 4 + 6 + 3) + 3  # input, stem, each bottleneck a node, head
    assert nodes[0].get("data-name") == "input"
    block = next(g for g in nodes if g.get("data-name") == "layer3.1")
    texts = [t.text for t in block.iter(f"{SVG}text")]
    assert texts[0] == "layer3.1"
    # one bottleneck at width 256: 1x1 1024->256, 3x3 256->256, 1x1 256->1024 and their BNs
    params = 1024 * 256 + 2 * 256 + 256 * 256 * 9 + 2 * 256 + 256 * 1024 + 2 * 1024
    macs = 14 * 14 * (1024 * 256 + 256 * 256 * 9 + 256 * 1024)
    assert texts[2] == "params 1.12 M · MACs 218 M"
    assert f"params {params:,} · MACs {macs:,} · FLOPs " in block.find(f"{SVG}title").text
    expanded = svg_nodes(render(build(r, expand=True), "svg"))
    assert [g.get("data-name") for g in expanded] == ["input"] + [layer.name for layer in r.layers]
    edge_labels = [t.text for g in ET.fromstring(text).iter(f"{SVG}g") if g.get("class") == "shapes"
                   for t in g.iter(f"{SVG}text")]
    assert edge_labels[0] == "1x3x224x224" and "1x64x112x112" in edge_labels


@pytest.mark.parametrize("name", library.names())
def test_svg_of_every_library_spec(name):
    pytest.importorskip("grandalf")
    r = report(name)
    d = build(r)
    nodes = svg_nodes(render(d, "svg"))
    assert [g.get("data-name") for g in nodes] == [n.id for n in d.nodes]


def test_svg_without_grandalf_says_what_to_install(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "grandalf", None)
    monkeypatch.setitem(sys.modules, "grandalf.graphs", None)
    result = CliRunner().invoke(cli, ["draw", "lenet5", "-o", str(tmp_path / "x.svg")])
    assert result.exit_code == 2
    assert result.output == ("convcalc: SVG drawings need grandalf for the layout: pip install 'convcalc[draw]' "
                             "(or write .html, .dot or .mmd, which need nothing more)\n")
    assert not (tmp_path / "x.svg").exists()


def dot_check(text: str) -> None:
    """Parsed by pydot (a DOT grammar in Python), and by Graphviz itself when it is installed."""
    pydot = pytest.importorskip("pydot")
    graphs = pydot.graph_from_dot_data(text)
    assert graphs and len(graphs) == 1
    if shutil.which("dot"):
        done = subprocess.run(["dot", "-Tsvg"], input=text.encode(), capture_output=True, timeout=120)
        assert done.returncode == 0, done.stderr.decode()
        assert b"Warning" not in done.stderr and b"Error" not in done.stderr, done.stderr.decode()


def test_dot_has_every_node_and_edge():
    r = report("unet")
    d = build(r)
    text = render(d, "dot")
    dot_check(text)
    import pydot

    graph = pydot.graph_from_dot_data(text)[0]
    names = sorted(n.get_name().strip('"') for n in graph.get_nodes() if n.get_name() not in ("node", "edge", "graph"))
    assert names == sorted(n.id for n in d.nodes)
    edges = {(e.get_source().strip('"'), e.get_destination().strip('"')) for e in graph.get_edges()}
    assert ("enc1.relu2", "dec1.concat1") in edges  # U-Net's skip connection, the merge visible
    assert len(edges) == len(d.edges)


@pytest.mark.parametrize("name", ["resnet50", "inception_v3", "densenet121", "r3d_18", "tcn"])
def test_dot_of_library_specs_parses(name):
    dot_check(render(build(report(name)), "dot"))


# Mermaid's flowchart grammar, as far as convcalc writes it: a `%%` comment, `flowchart TD`, node
# statements with a quoted label in one of four shapes, edges with a quoted label, style lines.
# Inside quotes Mermaid ends the label at `"`; `#...;` are its entity codes.
_LABEL = r'"[^"\n]*"'
_NODE = re.compile(rf'  (n\d+)(\[/{_LABEL}/\]|\[\[{_LABEL}\]\]|\(\[{_LABEL}\]\)|\[{_LABEL}\])')
_EDGE = re.compile(rf'  (n\d+) (-->|-\.->)\|{_LABEL}\| (n\d+)')
_STYLE = re.compile(r"  style (n\d+) fill:#[0-9a-f]{6},stroke:#[0-9a-f]{6},color:#[0-9a-f]{6}")


def mermaid_check(text: str) -> tuple[list[str], list[tuple[str, str]]]:
    lines = text.splitlines()
    assert lines[0].startswith("%% ") and lines[1] == "flowchart TD"
    nodes: list[str] = []
    edges = []
    for line in lines[2:]:
        if m := _NODE.fullmatch(line):
            nodes.append(m.group(1))
        elif m := _EDGE.fullmatch(line):
            edges.append((m.group(1), m.group(3)))
        elif m := _STYLE.fullmatch(line):
            assert m.group(1) in nodes
        else:
            raise AssertionError(f"not Mermaid flowchart syntax: {line!r}")
    assert len(set(nodes)) == len(nodes)
    assert all(a in nodes and b in nodes for a, b in edges)
    # Mermaid reads some words as keywords when they start an id; ours are n0, n1, ...
    return nodes, edges


def test_mermaid_follows_the_grammar():
    d = build(report("densenet121"))
    nodes, edges = mermaid_check(render(d, "mermaid"))
    assert len(nodes) == len(d.nodes) and len(edges) == len(d.edges)
    text = render(d, "mermaid")
    # torchvision's names (features.denseblock1.denselayer1 ... denselayer6) are not a repeat the
    # drawing folds: the block is one node holding its 6 layers of 2 bn, 2 relu, 2 conv and a concat
    assert f'n5[["features.denseblock1<br/>{6 * 2} bn · {6 * 2} relu · {6 * 2} conv · 6 concat<br/>' in text


def test_hostile_names_stay_inside_their_quotes(tmp_path):
    spec = tmp_path / "hostile.yaml"
    spec.write_text(HOSTILE)
    r = convcalc.analyze(convcalc.load(str(spec)))
    mermaid_check(render(build(r), "mermaid"))
    dot_check(render(build(r), "dot"))
    html = render(model(r), "html")
    assert "</script><!--" not in html.split("<body", 1)[1].replace("</script>\n<script", "")
    data = re.search(r'<script type="application/json" id="convcalc-data">(.*?)</script>', html, re.S).group(1)
    assert json.loads(data)["name"] == r.name
    pytest.importorskip("grandalf")
    root = ET.fromstring(render(build(r), "svg"))
    assert root.find(f"{SVG}title").text.startswith(r.name)


def test_html_is_self_contained():
    html = render(model(report("resnet50")), "html")
    assert '<meta http-equiv="Content-Security-Policy" content="default-src \'none\';' in html
    # no URL at all but the SVG namespace (a name, not a request)
    assert set(re.findall(r"[a-z]+://[^\s\"'<>)]+", html)) == {"http://www.w3.org/2000/svg"}
    assert "<link" not in html and "@import" not in html and "src=" not in html
    assert "Copyright (c) 2012-2014 Chris Pettitt" in html  # dagre's licence travels with its code


def test_suffix_picks_the_format(tmp_path):
    for suffix, tag in ((".html", "<!doctype html>"), (".dot", 'digraph "lenet5"'), (".mmd", "%% lenet5")):
        out = tmp_path / f"net{suffix}"
        result = draw("lenet5", "-o", str(out))
        assert result.exit_code == 0, result.output
        assert out.read_text().startswith(tag) or tag in out.read_text()[:200]
        assert result.output.startswith(f"convcalc: wrote {out}: the drawing (")


def test_format_to_stdout():
    result = draw("lenet5", "--format", "mermaid")
    assert result.exit_code == 0
    nodes, _ = mermaid_check(result.output)
    assert len(nodes) == 1 + 12  # the input and LeNet-5's 12 layers


@pytest.mark.parametrize("args, message", [
    (["lenet5"], "give -o FILE (.svg, .html, .dot or .mmd), or --format to write to standard output"),
    (["lenet5", "-o", "net.png"], "-o net.png: cannot tell the format from the name; end it in .svg, .html, .dot, "
                                  ".mmd, or give --format"),
    (["lenet5", "-o", "net.svg", "--format", "html"], "-o net.svg names a svg file but --format is html"),
    (["lenet5", "-o", "specs/lenet5.yaml", "--format", "html"],
     "specs/lenet5.yaml: refusing to write a drawing over a YAML file (is the spec named twice?); give -o NAME.html"),
    (["lenet5", "--format", "html", "--expand", "--depth", "1"],
     "--expand draws every layer; --depth collapses blocks: give one of them"),
    (["lenet5", "--format", "dot", "--by", "time"],
     "--by time needs --profile PROFILE.json (from convcalc profile SPEC --format json)"),
    (["lenet5", "resnet50", "--format", "dot"], "draw takes one spec, got 2"),
    (["lenet5", "-o", "nowhere/net.html"], "-o nowhere/net.html: there is no folder nowhere"),
])
def test_refusals_are_one_line(args, message, monkeypatch):
    monkeypatch.chdir(ROOT)
    result = draw(*args)
    assert result.exit_code == 2
    assert result.output == f"convcalc: {message}\n"


def test_colour_by_metric_and_by_profile_time(tmp_path):
    profile = {"schema": 1, "name": "lenet5", "batches": [{"batch": 1, "layers": [
        {"name": "c1", "median_s": 0.004}, {"name": "c3", "median_s": 0.001}]}]}
    path = tmp_path / "profile.json"
    path.write_text(json.dumps(profile))
    result = draw("lenet5", "--format", "dot", "--profile", str(path))
    assert result.exit_code == 0, result.output
    assert "colour: median time (s)" in result.output
    c1 = next(line for line in result.output.splitlines() if line.startswith('  "c1"'))
    assert "4 ms" in c1 and 'fillcolor="#ef6548"' in c1  # the slowest layer: the top of the ramp
    result = draw("lenet5", "--format", "mermaid", "--by", "params")
    assert "style n1 fill:#" in result.output


def test_draw_never_imports_torch():
    code = ("import sys\nfrom convcalc.cli import main\nsys.argv = ['convcalc', 'draw', 'resnet50', '--format', 'html']\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in ('torch', 'numpy', 'matplotlib', 'grandalf') if m in sys.modules), file=sys.stderr)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert done.stderr.strip().splitlines()[-1] == "[]"
    assert done.stdout.startswith("<!doctype html>")


def test_an_svg_too_large_to_lay_out_is_refused(monkeypatch, tmp_path):
    pytest.importorskip("grandalf")
    from convcalc.reporters import draw_svg

    monkeypatch.setattr(draw_svg, "MAX_NODES", 10)
    result = draw("lenet5", "-o", str(tmp_path / "x.svg"))
    assert result.exit_code == 2
    assert result.output == ("convcalc: an SVG of 13 nodes is past what its layout does in seconds (10); "
                             "collapse blocks with --depth 0, or write .html or .dot\n")


def test_a_long_mermaid_drawing_gets_a_note(tmp_path):
    out = tmp_path / "dense.mmd"
    result = draw("densenet121", "--expand", "-o", str(out))
    assert result.exit_code == 0
    size = len(out.read_text())
    assert size > 50_000
    assert result.output.splitlines()[-1] == (
        f"convcalc: note: Mermaid refuses diagrams over 50,000 characters unless told otherwise (maxTextSize); "
        f"this one has {size:,}: --depth 0 draws a shorter one")
    assert len(draw("densenet121", "--format", "mermaid").output) < 50_000


@pytest.mark.parametrize("args, message", [
    (["resnet50", "-o", "r.svg"], "r.svg: the report is an HTML page: give -o NAME.html"),
    (["resnet50", "-o", "specs/resnet50.yaml"], "specs/resnet50.yaml: the report is an HTML page: give -o NAME.html"),
    (["lenet5", "resnet18", "resnet50", "-o", "r.html"], "report takes one spec, or two to compare, got 3"),
])
def test_report_refusals(args, message, monkeypatch):
    monkeypatch.chdir(ROOT)
    result = CliRunner().invoke(cli, ["report", *args], catch_exceptions=False)
    assert result.exit_code == 2
    assert result.output == f"convcalc: {message}\n"


def test_report_to_stdout_has_both_specs_and_their_difference():
    result = CliRunner().invoke(cli, ["report", "resnet50", "se_resnet50"], catch_exceptions=False)
    assert result.exit_code == 0
    page = result.output
    assert page.startswith("<!doctype html>")
    assert page.count('class="convcalc-graph"') == 2
    assert "175 layers matched by name, 0 by position; 96 added, 0 removed, 0 changed" in page
    params = 28_088_024 - 25_557_032  # SE-ResNet-50 over ResNet-50, as the library pins them
    assert f'title="{params:+,}"' in page
