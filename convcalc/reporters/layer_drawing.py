"""`convcalc explain --draw`: a picture of what one window layer does, on one spatial axis pair.

The input grid with its padding shaded, the kernel's footprint at the first position (its taps,
and the dilation holes between them), the next positions along each axis (the stride steps),
and the output grid with the cell that footprint produces highlighted. A transposed kind
(deconv, maxunpool) is drawn as what it equals: a stride-1 window over the zero-stuffed input,
the inserted zeros shown as such, beside the output; the two grids are labelled "input" and
"output" so nobody has to guess which is which. Small inputs draw every cell; a large one draws
a window of the first positions (which holds the first footprint and its steps) and says so.

A drawing is a list of shapes (rectangles, lines, text) laid out from the explanation's
`DrawAxis` geometry, then written as SVG directly (no library), or as PNG through matplotlib
(the `plot` extra), imported only then. Files are written whole or not at all
(fileio.write_atomic). Like every reporter this computes no count: the geometry comes from the
records' `window` and `zero_stuffed` facts, through explain.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from ..explain import DrawAxis, LayerExplanation
from ..printable import clean

CELL = 22  # px per grid cell
MAX_CELLS = 20  # positions per axis drawn whole; beyond, a window of them
MAX_WINDOW = 40  # the most positions drawn per axis, even for a wide kernel
MARGIN = 24
GAP = 90  # between the input and the output grid
FONT = "DejaVu Sans, Helvetica, Arial, sans-serif"

COLORS = {
    "input": "#d0e2f5", "pad": "#c8c8c8", "zero": "#ffffff", "cropped": "#eeeeee", "output": "#d3eedb",
    "produced": "#ffb77a", "grid": "#6b7b8c", "tap": "#d9480f", "step": "#1971c2", "text": "#222222",
    "dim": "#666666",
}


class Rect(NamedTuple):
    x: float
    y: float
    w: float
    h: float
    fill: str
    stroke: str
    width: float = 1.0
    dash: bool = False
    cls: str = ""
    label: str = ""  # drawn inside (an inserted zero's 0)


class Line(NamedTuple):
    x1: float
    y1: float
    x2: float
    y2: float
    stroke: str
    width: float = 1.5
    dash: bool = False
    arrow: bool = False


class Text(NamedTuple):
    x: float
    y: float
    text: str
    size: float = 12
    anchor: str = "start"  # start | middle | end
    bold: bool = False
    fill: str = COLORS["text"]


class Group(NamedTuple):
    """A named grid: its shapes and what the SVG says about it (data-rows, data-cols)."""

    id: str
    items: tuple[Any, ...]
    attrs: tuple[tuple[str, str], ...] = ()


# --------------------------------------------------------------------------------------------
# Layout


class _Axis(NamedTuple):
    """One drawn axis: the input positions shown (lo .. lo + count - 1, negative = padding), and
    how many output positions are shown."""

    a: DrawAxis
    lo: int
    count: int
    total: int  # positions the whole padded input spans
    out_count: int

    def kind(self, i: int) -> str:
        """What input position i (in the stuffed input's coordinates) holds."""
        a = self.a
        if i < 0 or i >= a.n:
            return "pad"
        if i < -a.left or i > a.n - 1 + a.right:
            return "cropped"  # a transposed conv's negative padding
        if a.step > 1 and i % a.step:
            return "zero"
        return "input"


def _axis(a: DrawAxis) -> _Axis:
    span = a.d * (a.k - 1) + 1
    lo = -max(a.left, 0)
    hi = max(a.n - 1 + max(a.right, 0), (a.out - 1) * a.s + span - 1 - a.left)
    total = hi - lo + 1
    count = total
    if total > MAX_CELLS:
        count = min(total, max(MAX_CELLS, min(span + 2 * a.s + 1, MAX_WINDOW)))
    return _Axis(a, lo, count, total, min(a.out, MAX_CELLS))


def _axes(layer: LayerExplanation) -> tuple[_Axis | None, _Axis]:
    drawn = layer.drawing
    if not drawn:
        raise ValueError(f"layer {layer.name!r} has no window to draw")
    if len(drawn) == 1:
        return None, _axis(drawn[0])
    return _axis(drawn[0]), _axis(drawn[1])


def _positions(axis: _Axis | None) -> range:
    return range(0, 1) if axis is None else range(axis.lo, axis.lo + axis.count)


def scene(layer: LayerExplanation, window: tuple[int, int] | None = None) -> tuple[int, int, list[Any]]:
    """(width, height, shapes) of the picture of `layer`: the footprint at the first position and
    the stride steps to the next ones; or, for a frame of the animation, the footprint at output
    position `window` (row, column) and the output cell it produces, without the steps."""
    rows, cols = _axes(layer)
    frame = window is not None
    wr, wc = window or (0, 0)
    n_rows = 1 if rows is None else rows.count
    top = MARGIN + 84
    left = MARGIN + 52  # room for the row step's label
    in_w, in_h = cols.count * CELL, n_rows * CELL
    out_rows = 1 if rows is None else rows.out_count
    out_w, out_h = cols.out_count * CELL, out_rows * CELL
    in_label = _input_label(rows, cols, layer.transposed)
    out_x = max(left + in_w + GAP, left + _text_width(in_label, 12) + 30)
    items: list[Any] = []

    def at(r: int, c: int) -> tuple[float, float]:
        """Top-left corner of input position (r, c)."""
        r0 = 0 if rows is None else r - rows.lo
        return left + (c - cols.lo) * CELL, top + r0 * CELL

    # the input grid
    cells = []
    for r in _positions(rows):
        for c in _positions(cols):
            kinds = {cols.kind(c)} | ({rows.kind(r)} if rows is not None else set())
            kind = next(k for k in ("pad", "cropped", "zero", "input") if k in kinds)
            x, y = at(r, c)
            cells.append(Rect(x, y, CELL, CELL, COLORS[kind], COLORS["grid"], 0.8, False, f"cell {kind}",
                              "0" if kind == "zero" else ""))
    in_rows = 1 if rows is None else rows.a.n
    items.append(Group("input", tuple(cells), (("data-rows", str(in_rows)), ("data-cols", str(cols.a.n)),
                                                ("data-shown-rows", str(n_rows)),
                                                ("data-shown-cols", str(cols.count)))))

    # the footprint at the first position: taps, dilation holes, the span; then the stride steps.
    # Only its drawn part is visited: a kernel as wide as the input costs what the window shows.
    foot = []
    (r0, r1, rd), (c0, c1, cd) = _footprint(rows, wr), _footprint(cols, wc)
    for r in _drawn(rows, r0, r1):
        for c in _drawn(cols, c0, c1):
            x, y = at(r, c)
            if (r - r0) % rd == 0 and (c - c0) % cd == 0:  # on the dilated grid of taps
                foot.append(Rect(x + 2, y + 2, CELL - 4, CELL - 4, "none", COLORS["tap"], 2.5, False, "tap"))
            else:
                foot.append(Rect(x + 7, y + 7, CELL - 14, CELL - 14, "none", COLORS["tap"], 1.2, True, "hole"))
    span_box = _span_box(rows, cols, wr, wc, at)
    if span_box is not None:
        foot.append(span_box._replace(cls="span"))
    steps = []
    for dr, dc in ((0, 1), (1, 0)) if not frame else ():
        axis = cols if dc else rows
        if axis is None or axis.a.out < 2:
            continue
        box = _span_box(rows, cols, dr, dc, at)
        if box is None:
            continue
        steps.append(box._replace(stroke=COLORS["step"], cls="step"))
        if span_box is not None:
            x1, y1 = (span_box.x + 4, span_box.y - 8) if dc else (span_box.x - 8, span_box.y + 4)
            x2, y2 = (box.x + 4, box.y - 8) if dc else (box.x - 8, box.y + 4)
            steps.append(Line(x1, y1, x2, y2, COLORS["step"], 1.5, False, True))
            label = f"s = {axis.a.s}"  # a transposed kind's window moves 1 over the stuffed input
            if dc:
                steps.append(Text((x1 + x2) / 2, y1 - 5, label, 11, "middle", fill=COLORS["step"]))
            else:
                steps.append(Text(x1 - 4, (y1 + y2) / 2 + 4, label, 11, "end", fill=COLORS["step"]))
    items.append(Group("footprint", tuple(foot)))
    items.append(Group("steps", tuple(steps)))

    # the output grid, the produced cell highlighted and the stepped ones outlined
    outs = []
    for r in range(out_rows):
        for c in range(cols.out_count):
            x, y = out_x + c * CELL, top + r * CELL
            produced = (r, c) == (wr, wc)
            outs.append(Rect(x, y, CELL, CELL, COLORS["produced" if produced else "output"],
                             COLORS["tap"] if produced else COLORS["grid"], 2.5 if produced else 0.8, False,
                             "cell output produced" if produced else "cell output"))
            if not frame and (r, c) in ((0, 1), (1, 0)):
                outs.append(Rect(x + 2, y + 2, CELL - 4, CELL - 4, "none", COLORS["step"], 1.5, True, "step"))
    out_total_rows = 1 if rows is None else rows.a.out
    items.append(Group("output", tuple(outs), (("data-rows", str(out_total_rows)), ("data-cols", str(cols.a.out)),
                                                ("data-shown-rows", str(out_rows)),
                                                ("data-shown-cols", str(cols.out_count)))))
    if span_box is not None:
        # to the output grid's edge, at the produced cell's row (never across the grid's cells)
        items.append(Line(span_box.x + span_box.w, span_box.y + span_box.h / 2, out_x - 4,
                          top + wr * CELL + CELL / 2, COLORS["tap"], 1.2, True, True))

    # a grid drawn in part ends in dots where it goes on
    for x0, w, h, more_cols, more_rows in (
            (left, in_w, in_h, cols.count < cols.total, rows is not None and rows.count < rows.total),
            (out_x, out_w, out_h, cols.out_count < cols.a.out, rows is not None and rows.out_count < rows.a.out)):
        if more_cols:
            items.append(Text(x0 + w + 5, top + h / 2 + 4, "…", 16, fill=COLORS["dim"]))
        if more_rows:
            items.append(Text(x0 + w / 2, top + h + 14, "⋮", 16, "middle", fill=COLORS["dim"]))

    # words
    transposed = layer.transposed
    items.append(Text(MARGIN, MARGIN + 4, clean(f"{layer.name}: {layer.layer}"), 15, bold=True))
    subtitle = _subtitle(rows, cols, transposed)
    if frame:
        subtitle = f"output position ({wr}, {wc})" if rows is not None else f"output position {wc}"
    items.append(Text(MARGIN, MARGIN + 22, subtitle, 11, fill=COLORS["dim"]))
    items.append(Text(left, top - 40, in_label, 12, bold=True))
    items.append(Text(out_x, top - 40, f"output {_dims(rows, cols, 'out')}", 12, bold=True))
    bottom = top + max(in_h, out_h) + 34
    lines = _window_notes(rows, cols)
    for line in lines:
        items.append(Text(left, bottom, line, 11, fill=COLORS["dim"]))
        bottom += 16
    bottom, right = _legend(items, MARGIN, bottom + 4, transposed,
                            any(a is not None and a.a.d > 1 for a in (rows, cols)), frame)
    widest = max(_text_width(t.text, t.size) + t.x for t in items if isinstance(t, Text))
    width = max(out_x + out_w + MARGIN, right + MARGIN, widest + MARGIN)
    return int(width), int(bottom + MARGIN), items


def _footprint(axis: _Axis | None, window: int) -> tuple[int, int, int]:
    """(first, last, dilation): the input positions output position `window` reads on one axis,
    first to last, one in every `dilation` a tap (a missing axis: the one position 0)."""
    if axis is None:
        return 0, 0, 1
    a = axis.a
    first = window * a.s - a.left
    return first, first + a.d * (a.k - 1), a.d


def _drawn(axis: _Axis | None, first: int, last: int) -> range:
    """The positions of first .. last that the picture shows: at most the drawn window's."""
    lo, hi = (0, 0) if axis is None else (axis.lo, axis.lo + axis.count - 1)
    return range(max(first, lo), min(last, hi) + 1)


def _text_width(text: str, size: float) -> float:
    """About how wide `text` is in a sans-serif font of `size` px (bold included)."""
    return len(text) * size * 0.6


def _span_box(rows: _Axis | None, cols: _Axis, dr: int, dc: int, at: Any) -> Rect | None:
    """The dashed box around window (dr, dc)'s span, clipped to what is drawn; None if unseen."""
    def extent(axis: _Axis | None, window: int) -> tuple[int, int] | None:
        first, last, _ = _footprint(axis, window)
        shown = _drawn(axis, first, last)
        return (shown.start, shown.stop - 1) if shown else None

    r, c = extent(rows, dr), extent(cols, dc)
    if r is None or c is None:
        return None
    x0, y0 = at(r[0], c[0])
    x1, y1 = at(r[1], c[1])
    return Rect(x0 - 1, y0 - 1, x1 - x0 + CELL + 2, y1 - y0 + CELL + 2, "none", COLORS["tap"], 1.5, True)


def _dims(rows: _Axis | None, cols: _Axis, what: str) -> str:
    values = [getattr(axis.a, what) for axis in (rows, cols) if axis is not None]
    return "x".join(map(str, values))


def _subtitle(rows: _Axis | None, cols: _Axis, transposed: bool) -> str:
    parts = []
    for axis in (rows, cols):
        if axis is None:
            continue
        a = axis.a
        if transposed:
            parts.append(f"{a.name}: {a.source} inputs, stride {a.step} -> {a.n} stuffed, k {a.k}, d {a.d}, "
                         f"zeros around {a.left}/{a.right}, {a.out} out")
        else:
            parts.append(f"{a.name}: n {a.n}, k {a.k}, s {a.s}, d {a.d}, padding {a.left}/{a.right}, {a.out} out")
    return "; ".join(parts)


def _input_label(rows: _Axis | None, cols: _Axis, transposed: bool) -> str:
    if transposed:
        source = "x".join(str(axis.a.source) for axis in (rows, cols) if axis is not None)
        return f"input {source}, zero-stuffed to {_dims(rows, cols, 'n')} (padding shaded)"
    pads = {(axis.a.left, axis.a.right) for axis in (rows, cols) if axis is not None}
    shaded = " (padding shaded)" if any(left or right for left, right in pads) else ""
    return f"input {_dims(rows, cols, 'n')}{shaded}"


def _window_notes(rows: _Axis | None, cols: _Axis) -> list[str]:
    """What a partly drawn grid leaves out, per axis (one line for axes alike)."""
    notes: dict[str, list[str]] = {}
    for axis in (rows, cols):
        if axis is None:
            continue
        a = axis.a
        parts = []
        if axis.count < axis.total:
            parts.append(f"showing {axis.count} of the {axis.total} padded input positions (from {axis.lo}), where "
                         "the first windows are; the rest repeats the pattern")
        if axis.out_count < a.out:
            parts.append(f"the first {axis.out_count} of {a.out} outputs")
        span = a.d * (a.k - 1) + 1
        if span > axis.count:
            parts.append(f"the window spans {span} positions, more than are drawn")
        if parts:
            notes.setdefault("; ".join(parts), []).append(a.name)
    return [f"{'axes' if len(names) > 1 else 'axis'} {' and '.join(names)}: {text}" for text, names in notes.items()]


def _legend(items: list[Any], x: float, y: float, transposed: bool, dilated: bool,
            frame: bool = False) -> tuple[float, float]:
    """Swatches and their words from (x, y), wrapped at 640 px: (the bottom, the right edge)."""
    entries = [("input", "input value"), ("pad", "padding (zeros)")]
    if transposed:
        entries += [("zero", "inserted zero (stride)")]
    entries += [("tap", "kernel tap" if frame else "kernel tap, first position")]
    if dilated:
        entries += [("hole", "dilation hole (skipped)")]
    if not frame:
        entries += [("step", "next positions (stride)")]
    entries += [("output", "output"), ("produced", "the output of this position" if frame
                                        else "output of the first position")]
    cx = right = x
    for kind, label in entries:
        width = 24 + 6.2 * len(label)
        if cx + width > x + 640:
            cx, y = x, y + 20
        if kind in ("tap", "hole", "step"):
            color = COLORS["tap"] if kind != "step" else COLORS["step"]
            items.append(Rect(cx, y - 11, 14, 14, "none", color, 2 if kind == "tap" else 1.3, kind != "tap", "legend"))
        else:
            items.append(Rect(cx, y - 11, 14, 14, COLORS[kind], COLORS["grid"], 0.8, False, "legend",
                              "0" if kind == "zero" else ""))
        items.append(Text(cx + 19, y, label, 11))
        cx += width
        right = max(right, cx)
    return y + 8, right


# --------------------------------------------------------------------------------------------
# SVG, written directly


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def _num(v: float) -> str:
    return f"{v:.1f}".rstrip("0").rstrip(".")


def _svg_item(item: Any) -> list[str]:
    if isinstance(item, Group):
        attrs = "".join(f' {k}="{_esc(v)}"' for k, v in item.attrs)
        return [f'<g id="{item.id}"{attrs}>'] + [line for sub in item.items for line in _svg_item(sub)] + ["</g>"]
    if isinstance(item, Rect):
        dash = ' stroke-dasharray="4 3"' if item.dash else ""
        cls = f' class="{item.cls}"' if item.cls else ""
        out = [f'<rect{cls} x="{_num(item.x)}" y="{_num(item.y)}" width="{_num(item.w)}" height="{_num(item.h)}" '
               f'fill="{item.fill}" stroke="{item.stroke}" stroke-width="{_num(item.width)}"{dash}/>']
        if item.label:
            out.append(f'<text x="{_num(item.x + item.w / 2)}" y="{_num(item.y + item.h / 2 + 4)}" font-size="10" '
                       f'text-anchor="middle" fill="{COLORS["dim"]}">{_esc(item.label)}</text>')
        return out
    if isinstance(item, Line):
        dash = ' stroke-dasharray="4 3"' if item.dash else ""
        arrow = ' marker-end="url(#arrow)"' if item.arrow else ""
        return [f'<line x1="{_num(item.x1)}" y1="{_num(item.y1)}" x2="{_num(item.x2)}" y2="{_num(item.y2)}" '
                f'stroke="{item.stroke}" stroke-width="{_num(item.width)}"{dash}{arrow}/>']
    weight = ' font-weight="bold"' if item.bold else ""
    return [f'<text x="{_num(item.x)}" y="{_num(item.y)}" font-size="{_num(item.size)}" text-anchor="{item.anchor}"'
            f'{weight} fill="{item.fill}">{_esc(item.text)}</text>']


def svg(layer: LayerExplanation) -> str:
    width, height, items = scene(layer)
    title = _esc(clean(f"{layer.name}: {layer.layer}"))
    head = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" font-family="{FONT}">',
            f"<title>{title}</title>",
            '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
            'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="context-stroke"/></marker></defs>',
            f'<rect width="{width}" height="{height}" fill="#ffffff"/>']
    body = [line for item in items for line in _svg_item(item)]
    return "\n".join(head + body + ["</svg>"]) + "\n"


# --------------------------------------------------------------------------------------------
# PNG, through matplotlib


def png(layer: LayerExplanation, window: tuple[int, int] | None = None) -> bytes:
    import io

    from matplotlib.collections import PatchCollection
    from matplotlib.figure import Figure
    from matplotlib.patches import FancyArrowPatch, Rectangle

    width, height, items = scene(layer, window)
    dpi = 100
    figure = Figure(figsize=(width / dpi, height / dpi), dpi=dpi)
    ax = figure.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, width)
    ax.set_ylim(height, 0)
    ax.axis("off")
    points = 72 / dpi  # matplotlib sizes text and lines in points
    # A run of cells is one PatchCollection, drawn in order in one call: a patch each (add_patch,
    # which also recomputes the data limits) was most of a frame's time, for thousands of cells.
    run: list[Any] = []

    def flush() -> None:
        if run:
            ax.add_collection(PatchCollection(run, match_original=True), autolim=False)
            run.clear()

    def draw(item: Any) -> None:
        if isinstance(item, Group):
            for sub in item.items:
                draw(sub)
        elif isinstance(item, Rect):
            run.append(Rectangle((item.x, item.y), item.w, item.h, facecolor=item.fill, edgecolor=item.stroke,
                                 linewidth=item.width * points, linestyle="--" if item.dash else "-"))
            if item.label:
                ax.text(item.x + item.w / 2, item.y + item.h / 2, item.label, fontsize=10 * points, ha="center",
                        va="center", color=COLORS["dim"])
        elif isinstance(item, Line):
            flush()  # the cells before it stay under it
            ax.add_artist(FancyArrowPatch((item.x1, item.y1), (item.x2, item.y2), color=item.stroke,
                                          linewidth=item.width * points, linestyle="--" if item.dash else "-",
                                          arrowstyle="-|>" if item.arrow else "-", mutation_scale=10))
        else:
            ax.text(item.x, item.y, item.text, fontsize=item.size * points, color=item.fill, va="baseline",
                    ha={"start": "left", "middle": "center", "end": "right"}[item.anchor],
                    fontweight="bold" if item.bold else "normal")

    for item in items:
        draw(item)
    flush()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


# --------------------------------------------------------------------------------------------
# GIF: the sliding window, one frame per output position drawn


MAX_FRAMES = 64  # at most this many positions (row by row); a bigger grid animates its first ones
FRAME_MS = 700


def frames(layer: LayerExplanation) -> list[tuple[int, int]]:
    """The output positions the animation visits, row by row, among those the picture shows."""
    rows, cols = _axes(layer)
    out_rows = 1 if rows is None else rows.out_count
    return [(r, c) for r in range(out_rows) for c in range(cols.out_count)][:MAX_FRAMES]


def gif(layer: LayerExplanation) -> bytes:
    """The animation: each frame the PNG of one position (matplotlib), joined by Pillow (which
    matplotlib requires), looping."""
    import io

    from PIL import Image

    def frame(window: tuple[int, int]) -> Any:  # 64 colours, a byte a pixel
        return Image.open(io.BytesIO(png(layer, window))).convert("RGB").quantize(colors=64,
                                                                                method=Image.Quantize.MEDIANCUT)

    # The frames are made while Pillow writes them (it keeps only what changed from one to the
    # next), so the whole animation is never in memory at once.
    first, *rest = frames(layer)
    buffer = io.BytesIO()
    frame(first).save(buffer, format="GIF", save_all=True, append_images=(frame(w) for w in rest),
                      duration=FRAME_MS, loop=0, optimize=True)
    return buffer.getvalue()


# --------------------------------------------------------------------------------------------
# Files


def check_draw_path(path: str, inputs: tuple[str, ...] = ()) -> None:
    """Fail before any work when the drawing cannot be written (plots.check_plot_path's checks;
    matplotlib is needed for .png only)."""
    from .plots import check_plot_path

    check_plot_path(path, "--draw", matplotlib_for=(".png",), inputs=inputs)


def check_animate_path(path: str, inputs: tuple[str, ...] = ()) -> None:
    """Fail before any work when the animation cannot be written: a .gif, in a folder that is
    there and writable, with matplotlib (and so Pillow) installed."""
    import importlib.util

    from ..errors import UsageError
    from ..fileio import check_output

    if not path.lower().endswith(".gif"):
        raise UsageError(f"--animate writes a .gif file, got '{path}'")
    check_output(path, "--animate", inputs)
    if importlib.util.find_spec("matplotlib") is None:
        raise UsageError("--animate needs matplotlib: pip install 'convcalc[plot]'")
    if importlib.util.find_spec("PIL") is None:
        raise UsageError("--animate needs Pillow, which matplotlib installs: pip install 'convcalc[plot]'")


def draw_layer(layer: LayerExplanation, path: str) -> None:
    """Write the picture of `layer` to `path`, SVG, PNG or an animated GIF by its suffix, whole or
    not at all."""
    from ..errors import UsageError
    from ..fileio import write_atomic

    lowered = path.lower()
    data: str | bytes = png(layer) if lowered.endswith(".png") else gif(layer) if lowered.endswith(".gif") \
        else svg(layer)
    try:
        write_atomic(path, data)
    except OSError as exc:
        option = "--animate" if lowered.endswith(".gif") else "--draw"
        raise UsageError(f"{option} {path}: cannot write it: {exc.strerror or exc}") from None

