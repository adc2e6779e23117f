"""`convcalc explain --draw`: the SVG names its input and output grids, and their cells are the
layer's positions (padding, inserted zeros, kernel taps, dilation holes counted as the geometry
says); large inputs are drawn as a window that says so; PNG goes through matplotlib."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from click.testing import CliRunner

import convcalc
from convcalc.cli import cli
from convcalc.explain import explain
from convcalc.reporters.layer_drawing import MAX_CELLS, svg

SVG = "{http://www.w3.org/2000/svg}"


def drawing(text: str):
    spec = convcalc.from_text(text)
    result = explain(spec, convcalc.analyze(spec))
    layer = next(ly for ly in result.layers if ly.drawing is not None)
    return ET.fromstring(svg(layer))


def group(root, id_: str):
    (g,) = [g for g in root.iter(f"{SVG}g") if g.get("id") == id_]
    return g


def cells(root, cls: str) -> int:
    return sum(1 for r in root.iter(f"{SVG}rect") if cls in (r.get("class") or "").split())


def words(root) -> str:
    return " | ".join(t.text or "" for t in root.iter(f"{SVG}text"))


@pytest.mark.parametrize("text, n, p, out, taps, holes", [
    ("3x7x7 | conv 1 k3 s2", 7, 0, (7 - 3) // 2 + 1, 3 * 3, 0),
    ("3x7x7 | conv 1 k3 p1", 7, 1, (7 + 2 - 3) // 1 + 1, 3 * 3, 0),
    ("1x7x7 | conv 1 k3 d2", 7, 0, 7 - 2 * (3 - 1), 3 * 3, 5 * 5 - 3 * 3),  # a 3x3 covering 5x5
    ("2x9x9 | maxpool 3 s2 p1", 9, 1, (9 + 2 - 3) // 2 + 1, 3 * 3, 0),
])
def test_a_conv_draws_its_grids_cell_for_cell(text, n, p, out, taps, holes):
    root = drawing(text)
    assert (group(root, "input").get("data-rows"), group(root, "input").get("data-cols")) == (str(n), str(n))
    assert (group(root, "output").get("data-rows"), group(root, "output").get("data-cols")) == (str(out), str(out))
    assert cells(group(root, "input"), "input") == n * n
    assert cells(group(root, "input"), "pad") == (n + 2 * p) ** 2 - n * n
    assert cells(group(root, "output"), "output") == out * out
    assert cells(group(root, "output"), "produced") == 1
    assert cells(group(root, "footprint"), "tap") == taps
    assert cells(group(root, "footprint"), "hole") == holes
    assert cells(group(root, "steps"), "step") == 2  # one step along each axis
    assert f"input {n}x{n}" in words(root) and f"output {out}x{out}" in words(root)


def test_a_transposed_conv_draws_the_zero_stuffed_input_beside_the_output():
    # the notes' transposed 3x3 from a 2x2 input to 5x5: 2 inputs with 1 zero between make 3, and
    # 3 - 1 - 0 = 2 zeros around each side make the stride-1 window's input 7 wide
    root = drawing("1x2x2 | deconv 1 k3 s2")
    inputs = group(root, "input")
    assert cells(inputs, "input") == 2 * 2
    assert cells(inputs, "zero") == 3 * 3 - 2 * 2
    assert cells(inputs, "pad") == 7 * 7 - 3 * 3
    assert cells(group(root, "output"), "output") == 5 * 5
    text = words(root)
    assert "input 2x2, zero-stuffed to 3x3" in text and "output 5x5" in text
    assert "inserted zero (stride)" in text


def test_a_transposed_conv_with_more_padding_than_the_kernel_crops():
    # p 2 with k 3: 3 - 1 - 2 = 0 zeros around; p 3 would crop, which PyTorch allows while the output is >= 1
    root = drawing("1x4 | deconv 1 k3 s2 p2")
    inputs = group(root, "input")
    assert cells(inputs, "input") == 4 and cells(inputs, "zero") == (4 - 1) * 2 + 1 - 4
    assert cells(group(root, "output"), "output") == (4 - 1) * 2 - 2 * 2 + 3


def test_one_dimension_is_one_row():
    root = drawing("1x9 | conv 1 k3 s2 p1")
    assert group(root, "input").get("data-rows") == "1"
    assert cells(group(root, "input"), "input") == 9 and cells(group(root, "input"), "pad") == 2
    assert cells(group(root, "output"), "output") == (9 + 2 - 3) // 2 + 1


def test_a_large_input_is_drawn_as_a_window_that_says_so():
    root = drawing("3x224x224 | conv 64 k7 s2 p3")
    shown = group(root, "input")
    assert shown.get("data-rows") == "224" and int(shown.get("data-shown-rows")) == MAX_CELLS
    assert cells(shown, "cell") == MAX_CELLS * MAX_CELLS
    assert cells(group(root, "output"), "output") == MAX_CELLS * MAX_CELLS
    assert cells(group(root, "footprint"), "tap") == 7 * 7  # the first window is whole in the window
    assert "showing 20 of the 230 padded input positions (from -3)" in words(root)
    assert "the first 20 of 112 outputs" in words(root)


def test_text_is_escaped_and_printable():
    # spec names are words today; the drawing does not count on it
    spec = convcalc.from_text("3x7x7 | conv 1 k3")
    layer = explain(spec, convcalc.analyze(spec)).layers[0]._replace(name="a<b>&\x1b[31m")
    root = ET.fromstring(svg(layer))
    assert "a<b>&\\x1b[31m: conv 1 k3" in words(root)


def test_the_command_writes_svg_and_png(tmp_path):
    target = tmp_path / "layer.svg"
    result = CliRunner().invoke(cli, ["explain", "-e", "3x7x7 | conv 1 k3 s2 | relu", "--draw", str(target)],
                                catch_exceptions=False)
    assert result.exit_code == 0
    assert "drew layer 'conv1' (conv 1 k3 s2)" in result.stderr
    assert ET.parse(target).getroot().tag == f"{SVG}svg"
    pytest.importorskip("matplotlib")
    png = tmp_path / "layer.png"
    result = CliRunner().invoke(cli, ["explain", "-e", "1x2x2 | deconv 1 k3 s2", "deconv1", "--draw", str(png)],
                                catch_exceptions=False)
    assert result.exit_code == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# -- --animate: the sliding window as a GIF ------------------------------------------------------


def _layer(text: str):
    spec = convcalc.from_text(text)
    return next(ly for ly in explain(spec, convcalc.analyze(spec)).layers if ly.drawing is not None)


def _frames(path) -> list:
    from PIL import Image

    image = Image.open(path)
    out = []
    for i in range(image.n_frames):
        image.seek(i)
        out.append(image.convert("RGB").copy())
    return out


def _produced_cell(frame, layer) -> tuple[int, int]:
    """Where the highlighted output cell is: the (row, column) of the output grid whose centre has
    the 'produced' colour."""
    from convcalc.reporters import layer_drawing as ld

    width, height, items = ld.scene(layer, (0, 0))
    output = next(item for item in items if isinstance(item, ld.Group) and item.id == "output")
    cells = [r for r in output.items if r.cls.startswith("cell output")]
    x0, y0 = min(r.x for r in cells), min(r.y for r in cells)
    target = tuple(int(ld.COLORS["produced"][i:i + 2], 16) for i in (1, 3, 5))
    found = [(round((r.y - y0) / ld.CELL), round((r.x - x0) / ld.CELL)) for r in cells
             if all(abs(a - b) < 40 for a, b in zip(frame.getpixel((int(r.x + ld.CELL / 2), int(r.y + ld.CELL / 2))),
                                                    target))]
    assert len(found) == 1, found
    return found[0]


@pytest.mark.parametrize("text, rows, cols", [
    ("1x7x7 | conv 1 k3 s2 p1", 4, 4),   # (7 + 2*1 - 3) // 2 + 1 = 4 per axis: 16 frames
    ("1x2x2 | deconv 1 k3 s2", 5, 5),    # (2 - 1)*2 + 3 = 5: the transposed conv's 25 positions
    ("2x9 | conv 1 k3 d2", 1, 5),        # 1-D: 9 - 2*(3 - 1) = 5 positions in one row
])
def test_the_animation_visits_every_output_position_row_by_row(text, rows, cols, tmp_path):
    pytest.importorskip("matplotlib")
    path = tmp_path / "layer.gif"
    result = CliRunner().invoke(cli, ["explain", "-e", text, "--animate", str(path)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    layer = _layer(text)
    frames = _frames(path)
    assert len(frames) == rows * cols
    assert len({frame.size for frame in frames}) == 1
    visited = [_produced_cell(frame, layer) for frame in frames]
    assert visited == [(r, c) for r in range(rows) for c in range(cols)]


@pytest.mark.slow
def test_a_large_layer_animates_its_first_64_positions(tmp_path):
    pytest.importorskip("matplotlib")
    from convcalc.reporters.layer_drawing import MAX_FRAMES, frames

    layer = _layer("1x40x40 | conv 1 k3")  # 38 x 38 outputs, a window of them drawn
    assert len(frames(layer)) == MAX_FRAMES == 64
    path = tmp_path / "big.gif"
    CliRunner().invoke(cli, ["explain", "-e", "1x40x40 | conv 1 k3", "--animate", str(path)], catch_exceptions=False)
    assert len(_frames(path)) == 64


@pytest.mark.parametrize("argument, message", [
    ("layer.png", "--animate writes a .gif file, got 'layer.png'"),
    ("missing/layer.gif", "--animate missing/layer.gif: there is no folder missing"),
])
def test_animate_refuses_what_it_cannot_write_before_any_work(argument, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["explain", "-e", "1x7x7 | conv 1 k3", "--animate", argument])
    assert result.exit_code == 2 and result.output.count("\n") == 1
    assert message in result.output


def _lines_run(layer, window) -> int:  # type: ignore[no-untyped-def]
    """How many lines of layer_drawing.py drawing one frame runs: the work, counted, not timed."""
    import sys

    from convcalc.reporters import layer_drawing

    count = 0

    def local(frame, event, arg):  # type: ignore[no-untyped-def]
        nonlocal count
        count += event == "line"
        return local

    def calls(frame, event, arg):  # type: ignore[no-untyped-def]
        return local if frame.f_code.co_filename == layer_drawing.__file__ else None

    previous = sys.gettrace()
    sys.settrace(calls)
    try:
        layer_drawing.scene(layer, window)
    finally:
        sys.settrace(previous)
    return count


def test_a_frames_work_is_what_it_draws_not_the_kernel_or_the_input():
    """explain --animate on a 4096x4096 input: a frame's cost follows the drawn window (at most
    MAX_WINDOW positions per axis), so a 301-wide kernel costs what a 39-wide one does; before, each
    frame walked the whole footprint (301 x 301 positions, 4096 x 4096 for a kernel that wide)."""
    from convcalc.reporters.layer_drawing import MAX_WINDOW, frames, scene

    small, big = _layer("1x4096x4096 | conv 1 k39"), _layer("1x4096x4096 | conv 1 k301")
    for layer in (small, big):  # both draw the same window of the input: 40 x 40 positions
        groups = {item.id: item for item in scene(layer, frames(layer)[-1])[2] if hasattr(item, "id")}
        assert len(groups["input"].items) == MAX_WINDOW * MAX_WINDOW
        assert len(groups["footprint"].items) <= MAX_WINDOW * MAX_WINDOW + 1  # the cells shown, and the span box
    assert _lines_run(big, frames(big)[-1]) <= 2 * _lines_run(small, frames(small)[-1])
