"""The HTML drawing and report in a real browser: Debian's chromium driven by playwright (which
drives an installed browser through `executable_path`; its own browser builds are never
downloaded). Every spec in specs/ loads with no console error and no request but the file
itself, every layer name is findable, blocks collapse and expand, a screenshot is not blank.

Skipped, with the reason, where chromium or playwright is missing; CI sets
CONVCALC_REQUIRE_BROWSER=1 (.ci/run installs both), and then a missing one fails instead.
Marked slow: `pytest -m "not slow"` leaves them out.
"""

from __future__ import annotations

import os
import shutil
import zlib
from pathlib import Path

import pytest

import convcalc
from convcalc import library
from convcalc.diagram import build, model
from convcalc.reporters.drawing import render

pytestmark = pytest.mark.slow

CHROMIUM = next((p for p in (os.environ.get("CONVCALC_CHROMIUM"), shutil.which("chromium"),
                             shutil.which("chromium-browser")) if p), None)


def _missing() -> str | None:
    if CHROMIUM is None:
        return "no chromium on PATH (apt-get install chromium, or set CONVCALC_CHROMIUM)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "no playwright (pip install 'convcalc[browser]')"
    return None


@pytest.fixture(scope="module")
def browser():
    reason = _missing()
    if reason is not None:
        if os.environ.get("CONVCALC_REQUIRE_BROWSER"):
            pytest.fail(f"CONVCALC_REQUIRE_BROWSER is set but {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        yield b
        b.close()


class Page:
    """A page with every console message, page error and request recorded."""

    def __init__(self, browser, path: Path) -> None:
        self.page = browser.new_page(viewport={"width": 1400, "height": 1000})
        self.problems: list[str] = []
        self.requests: list[str] = []
        self.page.on("console", lambda m: self.problems.append(f"{m.type}: {m.text}") if m.type in ("error", "warning") else None)
        self.page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.url = path.as_uri()
        self.page.goto(self.url)
        self.page.wait_for_function("window.convcalcGraphs && window.convcalcGraphs.length > 0", timeout=60_000)

    def names(self) -> list[str]:
        return self.page.evaluate("[...document.querySelectorAll('svg.graph g.node')].map(g => g.dataset.name)")

    def clean(self) -> None:
        assert self.problems == []
        assert self.requests == [self.url]  # the file itself, nothing else

    def close(self) -> None:
        self.page.close()


def write(tmp_path: Path, name: str) -> tuple[convcalc.Report, Path]:
    report = convcalc.analyze(convcalc.load(library.path(name)))
    path = tmp_path / f"{name}.html"
    path.write_text(render(model(report), "html"), encoding="utf-8")
    return report, path


def not_blank(png: bytes) -> int:
    """How many distinct pixel rows a PNG screenshot has: 1 for a blank page. Decodes the PNG
    with zlib alone (8-bit RGB or RGBA, as Chromium writes it)."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks, width, channels = 8, [], 0, 0
    while pos < len(png):
        length = int.from_bytes(png[pos:pos + 4], "big")
        kind, data = png[pos + 4:pos + 8], png[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, channels = int.from_bytes(data[:4], "big"), {2: 3, 6: 4}[data[9]]
        elif kind == b"IDAT":
            chunks.append(data)
        pos += 12 + length
    raw = zlib.decompress(b"".join(chunks))
    stride = width * channels + 1
    # Rows differ by their filter byte and bytes; a blank page's rows are all the same after row 1.
    return len({raw[i:i + stride][1:] for i in range(stride, len(raw), stride)})


@pytest.mark.parametrize("name", library.names())
def test_every_library_spec_loads_and_every_layer_is_findable(browser, tmp_path, name):
    report, path = write(tmp_path, name)
    page = Page(browser, path)
    try:
        opened = page.names()
        assert opened[0] == "input" and len(opened) >= 2
        # Expand everything: one node per layer, each findable by its name.
        page.page.click("button[data-action=expand-all]")
        assert page.names() == ["input"] + [layer.name for layer in report.layers]
        # Collapse everything: fewer nodes where the spec has blocks, and the layers still findable by search.
        page.page.click("button[data-action=collapse-all]")
        collapsed = page.names()
        tops = [b for b in model(report).blocks if b.parent is None]
        assert len(collapsed) == 1 + len(report.layers) - sum(b.layers - 1 for b in tops)
        probe = report.layers[len(report.layers) // 2].name
        page.page.fill("input.search", probe)
        page.page.press("input.search", "Enter")
        hit = page.page.evaluate("[...document.querySelectorAll('g.node.hit')].map(g => g.dataset.name)")
        assert hit == [probe]
        assert not_blank(page.page.screenshot()) > 50
        page.clean()
    finally:
        page.close()


def test_blocks_expand_and_collapse_on_click(browser, tmp_path):
    report, path = write(tmp_path, "resnet50")
    page = Page(browser, path)
    try:
        before = page.names()
        assert "layer2.1" in before and "layer2.1.conv1" not in before
        page.page.evaluate("window.convcalcGraphs[0].centre('layer2.1')")  # as a user pans to it
        page.page.click("g.node.block[data-name='layer2.1']")
        after = page.names()
        assert "layer2.1" not in after
        assert len(after) == len(before) - 1 + 10  # the bottleneck's node, replaced by its 10 layers
        page.page.click("g.cluster[data-block='layer2.1'] text")
        assert page.names() == before
        # hovering shows every number of the layer, exact
        page.page.click("button[data-action=fit]")  # back to the top, where conv1 is
        page.page.hover("g.node[data-name='conv1']")
        tip = page.page.inner_text(".tip")
        assert "params\t9,408" in tip and f"MACs\t{64 * 3 * 7 * 7 * 112 * 112:,}" in tip
        page.clean()
    finally:
        page.close()


INSIDE = """() => { const g = window.convcalcGraphs[0], box = g.svg.getBoundingClientRect();
  const nodes = [...g.svg.querySelectorAll('g.node')];
  const inside = nodes.filter((n) => { const r = n.getBoundingClientRect();
    return r.left >= box.left - 0.5 && r.right <= box.right + 0.5 && r.top >= box.top - 0.5 && r.bottom <= box.bottom + 0.5; });
  return [inside.length, nodes.length, g.scale]; }"""


def test_the_drawing_opens_fitted_and_fit_shows_every_node_in_every_state(browser, tmp_path):
    # Before: it opened at 100% with 10 of 59 nodes in the window, and fit did not zoom out the
    # expanded drawing (its floor was 75%).
    report, path = write(tmp_path, "resnet50")
    page = Page(browser, path)
    try:
        inside, shown, opened = page.page.evaluate(INSIDE)
        assert inside == shown > 1
        states = {"collapsed": "button[data-action=collapse-all]", "expanded": "button[data-action=expand-all]",
                  "repeats": "button[data-action=repeats]"}
        for state, button in states.items():
            page.page.click(button)
            page.page.click("button[data-action=fit]")
            inside, shown, scale = page.page.evaluate(INSIDE)
            assert inside == shown, state
        page.page.click("button[data-action=expand-all]")
        page.page.click("button[data-action=fit]")
        assert page.page.evaluate(INSIDE)[:2] == [1 + len(report.layers)] * 2  # every layer, all in the window
        # after a block's collapse (a click on its frame) and its expansion (a click on its node)
        page.page.evaluate("window.convcalcGraphs[0].toggle('layer3')")
        page.page.click("button[data-action=fit]")
        inside, shown, _ = page.page.evaluate(INSIDE)
        assert inside == shown == 1 + len(report.layers) - (sum(1 for x in report.layers if x.name.startswith("layer3.")) - 1)
        page.page.evaluate("window.convcalcGraphs[0].toggle('layer3')")
        page.page.click("button[data-action=fit]")
        assert page.page.evaluate(INSIDE)[:2] == [1 + len(report.layers)] * 2
        # the opening scale is one a person reads (11 px text at 45% or more is 5 px and up)
        assert opened >= 0.4
        page.clean()
        page.page.reload()  # as it opens, for a person to look at: CONVCALC_SCREENSHOT=path.png keeps it
        page.page.wait_for_function("window.convcalcGraphs && window.convcalcGraphs.length > 0")
        shot = Path(os.environ.get("CONVCALC_SCREENSHOT") or tmp_path / "resnet50.png")
        page.page.screenshot(path=str(shot))
        assert not_blank(shot.read_bytes()) > 50
    finally:
        page.close()


def test_search_walks_through_matches(browser, tmp_path):
    report, path = write(tmp_path, "densenet121")
    page = Page(browser, path)
    try:
        page.page.fill("input.search", "denseblock3.denselayer24.conv2")
        page.page.press("input.search", "Enter")
        assert page.page.inner_text(".status") == "1 of 1: features.denseblock3.denselayer24.conv2"
        page.page.fill("input.search", "transition")
        page.page.press("input.search", "Enter")
        status = page.page.inner_text(".status")
        assert status.startswith("2 of 12: ")  # 3 transitions of 4 layers; the input event found the first
        page.page.fill("input.search", "no-such-layer")
        assert page.page.inner_text(".status") == "no layer named like 'no-such-layer'"
        page.clean()
    finally:
        page.close()


def test_pan_and_zoom_move_the_view(browser, tmp_path):
    _, path = write(tmp_path, "unet")
    page = Page(browser, path)
    try:
        transform = lambda: page.page.get_attribute("svg.graph g.viewport", "transform")  # noqa: E731
        start = transform()
        page.page.mouse.move(700, 500)
        page.page.mouse.wheel(0, -300)
        zoomed = transform()
        assert zoomed != start
        page.page.mouse.down()
        page.page.mouse.move(600, 400, steps=4)
        page.page.mouse.up()
        assert transform() != zoomed
        page.page.click("button[data-action=fit]")
        assert transform() == start
        page.clean()
    finally:
        page.close()


def test_a_thousand_layer_spec_opens(browser, tmp_path):
    text = "3x32x32 | " + " | ".join("conv 8 k3 p1 | relu" for _ in range(500))
    report = convcalc.analyze(convcalc.from_text(text))
    path = tmp_path / "long.html"
    path.write_text(render(model(report), "html"), encoding="utf-8")
    page = Page(browser, path)
    try:
        assert len(page.names()) == 1 + 1000
        page.page.mouse.move(700, 500)
        page.page.mouse.wheel(0, 400)
        page.clean()
    finally:
        page.close()


@pytest.mark.parametrize("specs", [("resnet50",), ("resnet50", "se_resnet50")])
def test_report_page(browser, tmp_path, specs):
    from click.testing import CliRunner

    from convcalc.cli import cli

    out = tmp_path / "report.html"
    result = CliRunner().invoke(cli, ["report", *specs, "-o", str(out)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    page = Page(browser, out)
    try:
        assert len(page.page.query_selector_all(".convcalc-graph")) == len(specs)
        inside, shown, _ = page.page.evaluate(INSIDE)
        assert inside == shown > 1  # the graph panel opens fitted to its box
        rows = page.page.query_selector_all("table#layers-0 tbody tr")
        assert len(rows) == 175
        page.page.fill("input.filter[data-table=layers-0]", "layer3 conv")
        shown = page.page.evaluate("[...document.querySelectorAll('#layers-0 tbody tr')].filter(r => !r.hidden).length")
        assert shown == 1 + 6 * 3  # layer3's projection conv and 3 convs in each of its 6 bottlenecks
        page.page.fill("input.filter[data-table=layers-0]", "")
        page.page.click("#layers-0 th:nth-child(7)")  # MACs, largest first
        first = page.page.evaluate("document.querySelector('#layers-0 tbody tr').cells[1].textContent")
        macs = max(convcalc.analyze(convcalc.load(library.path("resnet50"))).layers, key=lambda x: x.macs)
        assert first == macs.name
        assert page.page.get_attribute("#layers-0 tbody tr td:nth-child(7)", "title") == f"{macs.macs:,}"
        assert len(page.page.query_selector_all(".plots figure")) == 6 * len(specs)
        if len(specs) == 2:
            assert "96 added, 0 removed, 0 changed" in page.page.inner_text("section")
        page.clean()
    finally:
        page.close()


def test_a_drawing_too_large_to_lay_out_says_so(browser, tmp_path):
    text = "3x8x8 | " + " | ".join("relu" for _ in range(4001))
    report = convcalc.analyze(convcalc.from_text(text))
    path = tmp_path / "huge.html"
    path.write_text(render(model(report), "html"), encoding="utf-8")
    page = Page(browser, path)
    try:
        assert page.names() == []
        assert page.page.inner_text(".status") == "4001 nodes: not laid out"
        page.page.fill("input.search", "relu4000")
        page.page.press("input.search", "Enter")
        assert page.page.inner_text(".status") == "relu4000: #3999, in a drawing too large to lay out"
        page.clean()
    finally:
        page.close()


@pytest.mark.skipif(not os.environ.get("CONVCALC_MERMAID_JS"),
                    reason="set CONVCALC_MERMAID_JS to a mermaid.min.js (npm pack mermaid) to render with Mermaid itself")
@pytest.mark.parametrize("name", ["densenet121", "tcn", "inception_v3"])
def test_mermaid_itself_renders_the_drawing(browser, name):
    text = render(build(convcalc.analyze(convcalc.load(library.path(name)))), "mermaid")
    page = browser.new_page()
    try:
        page.set_content("<html><body></body></html>")
        page.add_script_tag(path=os.environ["CONVCALC_MERMAID_JS"])
        page.evaluate("mermaid.initialize({startOnLoad: false, maxTextSize: 100000})")
        result = page.evaluate("async (t) => { try { await mermaid.parse(t); return (await mermaid.render('g', t)).svg.length; }"
                               " catch (e) { return 'error: ' + e.message; } }", text)
        assert isinstance(result, int) and result > 1000, result
    finally:
        page.close()


def test_the_policy_runs_the_pages_own_scripts_and_styles_and_nothing_else(browser, tmp_path):
    """The Content-Security-Policy lists the bundled scripts and the style sheet by sha256, with no
    'unsafe-inline': the drawing still renders its nodes and colours its legend, while an inline
    script, an event handler and a style attribute slipped into the page (as a name would be if an
    escape ever failed) are refused."""
    report, path = write(tmp_path, "lenet5")
    html = path.read_text(encoding="utf-8")
    assert "unsafe-inline" not in html
    planted = ('<script>document.title = "ran"</script><img src="data:," onerror="document.title = \'ran\'">'
               '<b id="planted" style="color: rgb(255, 0, 0)">x</b>')
    path.write_text(html.replace('<div class="tip" hidden></div>', '<div class="tip" hidden></div>' + planted, 1),
                    encoding="utf-8")
    page = Page(browser, path)
    try:
        assert page.names() == ["input"] + [layer.name for layer in report.layers]  # lenet5 has no blocks
        assert page.page.title() != "ran"
        colour = page.page.evaluate("getComputedStyle(document.querySelector('.legend i.swatch-compute')).backgroundColor")
        assert colour == "rgb(207, 226, 243)"  # KIND_COLOURS["compute"], #cfe2f3, from the hashed style sheet
        assert page.page.evaluate("getComputedStyle(document.getElementById('planted')).color") != "rgb(255, 0, 0)"
        refused = [p for p in page.problems if "Content Security Policy" in p]
        assert len(refused) == len(page.problems) >= 2  # the planted ones, and only they
        assert page.requests == [page.url]
    finally:
        page.close()
