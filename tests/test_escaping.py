"""Hostile text in every output format (issue 21): a string from a spec, a model or a file name
lands in YAML, CSV, Markdown, DOT, Mermaid, SVG and HTML as text, never as structure of the format:
no forged YAML keys, no spreadsheet formula, no Markdown image or link, no DOT line."""

from __future__ import annotations

import pytest

from convcalc.errors import ConvcalcError
from convcalc.importers import writer
from convcalc.importers.model import Imported, Layer
from convcalc.spec import loads, reads

# What ends a YAML comment and starts a new line: YAML's line breaks (PyYAML also takes NEL and
# the Unicode line and paragraph separators).
BREAKS = ["\n", "\r", "\r\n", "\x85", "\u2028", "\u2029"]


def forged(brk: str) -> str:
    """Three spec lines a hostile string would add, joined by one kind of line break."""
    return brk.join(["budget: {params: 1}", "batch: 64", "dtype: float16"])


def imported(origin: tuple[str, ...], name: str = "net") -> Imported:
    layers = (Layer("fc", "linear", {"out": 4}, ("input",), "Gemm", (4,), 8 * 4 + 4),)
    return Imported(name, "net.onnx", (8,), layers, origin)


def read_back(text: str):  # type: ignore[no-untyped-def]
    return reads(text, "net.yaml").doc, loads(text, "net.yaml")


@pytest.mark.parametrize("brk", BREAKS, ids=repr)
def test_a_header_comment_cannot_forge_spec_keys(brk):
    hostile = f"imported from x by convcalc (made by evil{brk}{forged(brk)})"
    text = writer.render(imported((hostile, "input 8 per sample")))
    doc, spec = read_back(text)
    assert list(doc) == ["name", "input", "layers"]
    assert (spec.budget, spec.batch, spec.dtype) == (None, 1, "float32")  # the defaults, nothing forged
    lines = text.split("\n")[:-1]
    assert text.splitlines() == lines  # \r, NEL, U+2028 stay inside their line, escaped
    assert [line for line in lines if line.startswith("#")] == [writer.comment(hostile), "# input 8 per sample"]


def test_the_self_check_compares_the_whole_document(monkeypatch):
    """The second line of defence: with the comment escaping taken away, the forged keys reach the
    text, and the self-check (which reads back every top-level key, not only the layers) refuses."""
    monkeypatch.setattr(writer, "comment", lambda text: f"# {text}")
    with pytest.raises(ConvcalcError, match="cannot write a spec that reads back as the import: its top-level keys"):
        writer.render(imported(("made by evil\n" + forged("\n"),)))
    monkeypatch.setattr(writer, "comment", lambda text: f"# {text}".replace("\u2028", "\u2028batch: 3\u2028"))
    with pytest.raises(ConvcalcError, match="line break other than"):  # caught even where YAML would not mind
        writer.render(imported(("a\u2028b",)))


@pytest.mark.parametrize("text", ["a\u2028b", "a\x85b", "x\ny: 1", "\u202eevil", "'quoted'", "#not a comment"])
def test_a_quoted_scalar_reads_back_as_itself_on_one_line(text):
    written = writer.scalar(text)
    assert written.splitlines() == [written]
    assert reads(f"name: {written}\ninput: [8]\nlayers: []\n", "t.yaml").doc["name"] == text


@pytest.mark.parametrize("brk", ["\n", "\r", "\x85", "\u2028"], ids=repr)
def test_an_onnx_file_cannot_forge_the_spec_it_imports_to(brk, tmp_path):
    """The producer name and the file name of a real ONNX file go into the header comment."""
    pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    from convcalc.importers import read

    node = helper.make_node("Relu", ["x"], ["y"])
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 8, 8])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)],
                              producer_name=f"evil{brk}{forged(brk)}")
    path = tmp_path / f"m{brk}budget: {{macs: 1}}.onnx"
    path.write_bytes(model.SerializeToString())
    text = writer.render(read(str(path)))
    doc, spec = read_back(text)
    assert list(doc) == ["name", "input", "layers"]
    assert (spec.budget, spec.batch, spec.dtype) == (None, 1, "float32")
    assert text.splitlines() == text.split("\n")[:-1]
    assert sum(line.startswith("#") for line in text.splitlines()) == 2  # the two origin lines, each one line


def _page(kind: str) -> str:
    import convcalc
    from convcalc import library
    from convcalc.diagram import model
    from convcalc.reporters import html_page
    from convcalc.reporters.drawing import render

    report = convcalc.analyze(convcalc.load(library.path("resnet18")))
    return render(model(report), "html") if kind == "draw" else html_page.render([model(report)])


@pytest.mark.parametrize("kind", ["draw", "report"])
def test_the_html_policy_lists_exactly_the_pages_scripts_and_style_by_hash(kind):
    import base64
    import hashlib
    import re

    html = _page(kind)
    policy = dict(part.strip().split(" ", 1) for part in
                  re.search(r'http-equiv="Content-Security-Policy" content="([^"]*)"', html).group(1).split(";"))

    def hashes(bodies):  # type: ignore[no-untyped-def]
        return {"'sha256-" + base64.b64encode(hashlib.sha256(b.encode()).digest()).decode() + "'" for b in bodies}

    scripts = re.findall(r"<script>(.*?)</script>", html, re.S)  # the executable ones: no type attribute
    assert len(scripts) == (2 if kind == "draw" else 3)  # dagre, graph.js (and the report's page.js)
    assert set(policy["script-src"].split()) == hashes(scripts)
    assert set(policy["style-src"].split()) == hashes(re.findall(r"<style>(.*?)</style>", html, re.S))
    assert policy["default-src"] == "'none'" and "unsafe" not in html.split("</head>")[0]
    assert " style=" not in html  # a style attribute would need 'unsafe-inline'
