"""Notebook display (reporters/notebook.py): a real notebook executed by nbclient on an ipykernel,
whose outputs are read back as a user sees them, and the HTML renderer's escaping.

The notebook builds a PyTorch model, calls `convcalc.summary` and `convcalc.memory` on the
object, and displays both results; the test reads the HTML tables' totals rows out of the executed
notebook and checks their numbers against arithmetic on the model's layers. Skipped without
nbclient, nbformat, ipykernel or torch (the `test` extra installs the first three).
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
