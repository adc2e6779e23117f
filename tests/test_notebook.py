"""Notebook display (reporters/notebook.py): a real notebook executed by nbclient on an ipykernel,
whose outputs are read back as a user sees them, and the HTML renderer's escaping.

The notebook builds a PyTorch model, calls `convcalc.summary` and `convcalc.memory` on the
object, and displays both results and the model's graph (`convcalc.draw`); the test reads the HTML
tables' totals rows out of the executed notebook and checks their numbers against arithmetic on
the model's layers, and finds the graph's page in a sandboxed iframe. The executed notebook's HTML
export (nbconvert) then loads in headless Chromium (as tests/test_draw_browser.py drives it): the
graph draws inside the iframe with no console error and no request but the file itself. Skipped
without nbclient, nbformat, ipykernel or torch (the `test` extra installs them and nbconvert); the
browser test without nbconvert, chromium or playwright, and it is marked slow.
"""

from __future__ import annotations

import html.parser
from pathlib import Path

import pytest

import convcalc

ROOT = Path(__file__).resolve().parent.parent

CELLS = [
    "import torch\nfrom torch import nn\nimport convcalc\n"
    "model = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(),\n"
    "                      nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 10))",
    "report = convcalc.summary(model, input_size=(2, 3, 32, 32))\nreport",
    "convcalc.memory(model, input=(3, 32, 32), batch=2, optimizer='adam')",
    "convcalc.draw(model, input=(3, 32, 32))",
]


class Rows(html.parser.HTMLParser):
    """The cells of every <tr> of an HTML document, as text."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self.cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list) -> None:  # type: ignore[type-arg]
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self.cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self.cell is not None:
            self.rows[-1].append("".join(self.cell))
            self.cell = None

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell.append(data)


def rows(document: str) -> list[list[str]]:
    parser = Rows()
    parser.feed(document)
    return parser.rows


def total_row(document: str) -> dict[str, str]:
    table = rows(document)
    header = table[0]
    (total,) = [row for row in table if len(row) > 1 and row[1] == "total"]
    return dict(zip(header, total))


@pytest.fixture(scope="module")
def executed() -> list:  # type: ignore[type-arg]
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    pytest.importorskip("torch")
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code) for code in CELLS])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    client = nbclient.NotebookClient(notebook, timeout=600, kernel_name="python3",
                                     resources={"metadata": {"path": str(ROOT)}})
    client.execute()
    return notebook.cells


def test_summary_displays_its_totals(executed: list) -> None:  # type: ignore[type-arg]
    outputs = executed[1].outputs
    printed = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "conv" in printed and "total" in printed  # summary printed the table
    (shown,) = [o for o in outputs if o.output_type == "execute_result"]
    total = total_row(shown.data["text/html"])
    # conv 3->16 k3 with bias; bn's weight and bias; linear 16->10 with bias
    assert total["params"] == f"{(16 * 3 * 3 * 3 + 16) + 2 * 16 + (16 * 10 + 10):,}"
    # batch 2: the conv's 16x32x32 outputs each 27 MACs, the linear's 16 x 10
    assert total["MACs"] == f"{2 * (16 * 32 * 32 * 27 + 16 * 10):,}"
    assert total["output"] == "2x10"
    assert "text/markdown" in shown.data and "text/plain" in shown.data


def test_memory_displays_its_totals(executed: list) -> None:  # type: ignore[type-arg]
    from torch import nn

    (shown,) = [o for o in executed[2].outputs if o.output_type == "execute_result"]
    document = shown.data["text/html"]
    model = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
                          nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 10))
    here = convcalc.memory(model, input=(3, 32, 32), batch=2, optimizer="adam").total
    total = total_row(document)
    assert total["fwd FLOPs"] == f"{here.forward_flops:,}"
    assert total["bwd FLOPs"] == f"{here.backward_flops:,}"
    assert "adam" in document and "training at batch 2" in document


def test_html_escapes_every_string() -> None:
    """Hostile names (a spec's, a layer's as an importer could hold them) render as text in the
    HTML, never as markup: the renderer escapes whatever the Report holds."""
    report = convcalc.analyze("name: '<img src=x onerror=alert(1)>'\ninput: [3, 8, 8]\nlayers:\n  - conv: {out: 4, k: 3}\n")
    layer = report.layers[0]._replace(name='<script>alert("x")</script>', kind="a&b")
    document = report._replace(layers=(layer,))._repr_html_()
    assert "<script>" not in document and "<img" not in document
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in document
    assert "&lt;img src=x onerror=alert(1)&gt;" in document and "a&amp;b" in document
    assert [row[1] for row in rows(document)[1:]] == ['<script>alert("x")</script>', "total"]


def test_training_report_displays() -> None:
    report = convcalc.memory("3x16x16 | conv 8 k3 | relu | gap | linear 4")
    total = total_row(report._repr_html_())
    assert total["fwd FLOPs"] == f"{report.total.forward_flops:,}"
    assert report._repr_markdown_().startswith("###")


def iframe(document: str) -> dict[str, str]:
    """The attributes of the one <iframe> in `document` (html.parser unescapes srcdoc)."""

    class Frames(html.parser.HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.found: list[dict[str, str]] = []

        def handle_starttag(self, tag: str, attrs: list) -> None:  # type: ignore[type-arg]
            if tag == "iframe":
                self.found.append({k: v or "" for k, v in attrs})

    parser = Frames()
    parser.feed(document)
    (frame,) = parser.found
    return frame


def test_draw_displays_the_graph_inline(executed: list) -> None:  # type: ignore[type-arg]
    from torch import nn

    (shown,) = [o for o in executed[3].outputs if o.output_type == "execute_result"]
    frame = iframe(shown.data["text/html"])
    assert frame["sandbox"] == "allow-scripts"  # scripts, but no same origin: the notebook is out of its reach
    model = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
                          nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 10))
    # the page `convcalc draw -o x.html` writes, whole, as the iframe's document
    assert frame["srcdoc"] == convcalc.draw(model, input=(3, 32, 32)).text
    assert frame["srcdoc"].lower().startswith("<!doctype html>") and "<script src" not in frame["srcdoc"]


def test_page_html_escapes_the_page() -> None:
    """A hostile spec name stays inside the srcdoc attribute: one iframe, its document whole."""
    spec = "name: '</iframe><script>alert(1)</script>\" onload=\"x'\ninput: [3, 8, 8]\nlayers:\n  - conv: {out: 4, k: 3}\n"
    page = convcalc.draw(spec)
    document = page._repr_html_()
    assert iframe(document)["srcdoc"] == page.text
    assert document.count("<iframe") == 1 and "<script" not in document.split("srcdoc=")[0]


@pytest.mark.slow
def test_exported_notebook_draws_in_chromium(executed: list, tmp_path: Path) -> None:  # type: ignore[type-arg]
    """The executed notebook exported to HTML by nbconvert (its basic template: the cells and
    their outputs, no page chrome from a CDN), opened from file:// in headless Chromium: the graph
    draws in the iframe, every layer a node, with no console error and no request but the file."""
    nbformat = pytest.importorskip("nbformat")
    nbconvert = pytest.importorskip("nbconvert")
    from tests.test_draw_browser import CHROMIUM, _missing

    reason = _missing()
    if reason is not None:
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    notebook = nbformat.v4.new_notebook(cells=executed)
    body, _ = nbconvert.HTMLExporter(template_name="basic").from_notebook_node(notebook)
    path = tmp_path / "notebook.html"
    path.write_text(f"<!DOCTYPE html><html><head><meta charset='utf-8'></head><body>{body}</body></html>")
    problems: list[str] = []
    requests: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page()
            page.on("console", lambda m: problems.append(f"{m.type}: {m.text}") if m.type in ("error", "warning") else None)
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            page.on("request", lambda r: requests.append(r.url))
            page.goto(path.as_uri())
            frames = [f for f in page.frames if f is not page.main_frame]
            assert len(frames) == 1
            frames[0].wait_for_function("window.convcalcGraphs && window.convcalcGraphs.length > 0", timeout=60_000)
            names = frames[0].evaluate("[...document.querySelectorAll('svg.graph g.node')].map(g => g.dataset.name)")
        finally:
            browser.close()
    assert problems == []
    assert requests == [path.as_uri()]  # the file itself; the iframe's srcdoc is no request
    # the input, then the six modules of the Sequential by their paths (conv, bn, relu, pool, flatten, linear)
    assert names == ["input", *(str(i) for i in range(6))]


def test_comparisons_sweeps_and_explanations_display() -> None:
    """Each shows its command's table, exact where the command can be, in a <pre>, escaped."""
    specs = convcalc.compare("resnet18", "resnet50")
    document = specs._repr_html_()
    assert f"{specs.a.total.macs:,}" in document and f"{specs.b.total.params:,}" in document
    variants = convcalc.compare("regular", "depthwise-separable", input=(8, 8, 8), out=16)
    assert "depthwise-separable" in variants._repr_html_()
    hostile = "name: '<b>x</b>'\ninput: [3, 16, 16]\nlayers:\n  - conv: {out: 4, k: 3}\n"
    swept = convcalc.sweep(hostile, batch=[1, 2])
    document = swept._repr_html_()
    assert "<b>" not in document and "&lt;b&gt;x&lt;/b&gt;" in document
    # conv 3->4 k3 on 16x16: 14x14 outputs of 27 MACs each, times the batch
    assert all(f"{b * 4 * 14 * 14 * 27:,}" in document for b in (1, 2))
    why = convcalc.explain("3x7x7 | conv 1 k3 s2", 0)._repr_html_()
    assert why.startswith('<div class="convcalc"><pre') and "floor((7 + 0 + 0 - 1*(3 - 1) - 1) / 2) + 1" in why
    scaled = convcalc.scale("efficientnet", phi=[0, 1])._repr_html_()
    assert "<pre" in scaled and "<script" not in scaled
