"""A small, fast box-drawn table for terminals and pipes.

Why not rich.table: rendering costs about 1.2 ms per row there (measured: 175 rows of
resnet50 take 250 ms, more than the whole 150 ms budget of `convcalc shapes`), because every
cell goes through rich's general layout engine. Here a table is columns of strings with an
alignment and an optional style per cell, rendered in one pass: about 1 ms for 175 rows.

Fitting: on a terminal the table is fitted to its width (`_fit`): columns marked `shrink` are
cut to a readable width (with '…', at the end or in the middle), columns marked `optional` are
dropped from the right, and what room is left is given back; in a pipe it keeps its full width. Colour is ANSI, only on a terminal, never with NO_COLOR set (https://no-color.org),
and forced with FORCE_COLOR.
"""

from __future__ import annotations

import os
import sys
from typing import IO

from .printable import clean

_SGR = {"bold": "1", "dim": "2", "red": "31", "green": "32", "yellow": "33", "blue": "34", "cyan": "36",
        "magenta": "35"}


class Column:
    def __init__(self, header: str, align: str = "left", shrink: bool = False, optional: bool = False,
                 min_width: int = 4, cut: str = "end") -> None:
        self.header = clean(header)  # compare's headers are spec names
        self.align = align  # left | right
        self.shrink = shrink  # may be truncated to fit a narrow terminal
        self.optional = optional  # may be dropped to fit a narrow terminal
        self.min_width = min_width
        self.cut = cut  # where a truncated cell loses its characters: "end", or "middle" for names and paths


class Table:
    def __init__(self, columns: list[Column], title: str = "") -> None:
        self.columns = columns
        self.title = "\n".join(map(clean, title.split("\n")))  # reporters may wrap titles themselves
        self.rows: list[list[tuple[str, str]]] = []  # cells: (text, style)
        self.rules: set[int] = set()  # a horizontal rule before these row indices

    def add_row(self, *cells: object, style: str = "") -> None:
        row = []
        for cell in cells:
            if isinstance(cell, tuple):
                row.append((clean(cell[0]), cell[1]))
            else:
                row.append(("" if cell is None else clean(cell), style))
        self.rows.append(row)

    def rule(self) -> None:
        self.rules.add(len(self.rows))


def wants_color(stream: IO[str]) -> bool:
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return hasattr(stream, "isatty") and stream.isatty() and os.environ.get("TERM") != "dumb"


def terminal_width(stream: IO[str]) -> int | None:
    """The width to fit, or None in a pipe (no limit)."""
    columns = os.environ.get("COLUMNS", "")
    if columns.isascii() and columns.isdigit():  # isdigit alone takes '²', which int() refuses
        return int(columns)
    if hasattr(stream, "isatty") and stream.isatty():
        # os, not shutil: shutil's import (bz2, lzma) costs 3 ms of the start-up budget
        try:
            return os.get_terminal_size(stream.fileno()).columns
        except (OSError, ValueError, AttributeError):
            return 100
    return None


def wrap_lines(lines: list[str], width: int | None) -> str:
    """Prose lines under a table, each wrapped to `width` with its continuations indented two
    more than the line itself, one per output line; unwrapped in a pipe (width None)."""
    import textwrap  # only when something is long enough to wrap

    out: list[str] = []
    for line in map(clean, lines):
        if not width or len(line) <= width:
            out.append(line)
            continue
        indent = " " * (len(line) - len(line.lstrip()) + 2)
        out += textwrap.wrap(line, width, subsequent_indent=indent, break_long_words=False, break_on_hyphens=False)
    return "".join(f"{line}\n" for line in out)


def _boxes(stream: IO[str] | None) -> str:
    encoding = (getattr(stream, "encoding", None) or "utf-8").lower().replace("-", "")
    # top, header rule, body rule, bottom: each (left, fill, join, right); then vertical bar
    return "unicode" if encoding.startswith("utf") else "ascii"


_BOX = {
    "unicode": {"top": "┌─┬┐", "head": "├─┼┤", "rule": "├─┼┤", "bottom": "└─┴┘", "bar": "│", "ellipsis": "…"},
    "ascii": {"top": "+-++", "head": "+=++", "rule": "+-++", "bottom": "+-++", "bar": "|", "ellipsis": "~"},
}


def cut_middle(text: str, width: int, ellipsis: str = "…") -> str:
    """`text` cut to `width` in the middle, where names like layer4.b.1.se.fc2 and paths repeat
    least: both the start and the leaf stay readable."""
    if len(text) <= width:
        return text
    head = (width - 1) // 2
    return text[:head] + ellipsis + text[len(text) - (width - 1 - head):]


COMFORTABLE = 20  # a shrinkable column is cut below this only when dropping optional columns was not enough


def _fit(specs: list[Column], columns: list[int], widths: dict[int, int], natural: list[int], width: int) -> None:
    """Fit `columns` (indices, edited in place) and `widths` into `width`: cut shrinkable columns
    to a readable width, drop optional columns from the right, cut further only if still too
    wide, then give back what room is left: dropped columns first, in order, then width to the
    cut columns."""

    def total() -> int:
        return sum(widths[c] + 3 for c in columns) + 1

    shrinkable = [c for c in columns if specs[c].shrink]
    for c in shrinkable:
        widths[c] = min(natural[c], max(specs[c].min_width, COMFORTABLE))
    dropped = []
    for c in reversed(list(columns)):
        if total() <= width:
            break
        if specs[c].optional:
            columns.remove(c)
            dropped.append(c)
    for c in sorted(shrinkable, key=lambda c: -widths[c]):  # still too wide: cut the widest first
        if total() <= width:
            break
        widths[c] = max(specs[c].min_width, widths[c] - (total() - width))
    for c in reversed(dropped):  # leftmost first
        if total() + widths[c] + 3 <= width:
            columns.append(c)
            columns.sort()
    for c in shrinkable:
        widths[c] += max(0, min(natural[c] - widths[c], width - total()))


def render(table: Table, width: int | None = None, color: bool = False, stream: IO[str] | None = None) -> str:
    box = _BOX[_boxes(stream or sys.stdout)]
    columns = list(range(len(table.columns)))
    natural = [max([len(table.columns[c].header)] + [len(row[c][0]) for row in table.rows if c < len(row)])
               for c in columns]
    widths = dict(zip(columns, natural))

    def total() -> int:
        return sum(widths[c] + 3 for c in columns) + 1

    if width is not None and total() > width:
        _fit(table.columns, columns, widths, natural, width)
    # Say what fitting hid (a column with something in it), and how to see it.
    hidden = [table.columns[c].header for c in range(len(table.columns)) if c not in columns
              and any(c < len(row) and row[c][0] for row in table.rows)]

    def paint(text: str, style: str) -> str:
        if not color or not style:
            return text
        codes = ";".join(_SGR[s] for s in style.split() if s in _SGR)
        return f"\x1b[{codes}m{text}\x1b[0m" if codes else text

    def cell(c: int, text: str, style: str) -> str:
        w = widths[c]
        if len(text) > w:
            if table.columns[c].cut == "middle" and w >= 5:  # keep both ends: "layer1.b0…se.fc1"
                text = cut_middle(text, w, box["ellipsis"])
            else:
                text = text[: max(w - 1, 0)] + box["ellipsis"]
        padded = text.rjust(w) if table.columns[c].align == "right" else text.ljust(w)
        return paint(padded, style)

    def line(kind: str) -> str:
        left, fill, join, right = box[kind]
        return left + join.join(fill * (widths[c] + 2) for c in columns) + right

    bar = box["bar"]
    out = []
    if table.title:
        out.extend(paint(line, "bold") for line in wrap_lines([table.title], width).splitlines())
    out.append(line("top"))
    out.append(bar + bar.join(" " + cell(c, table.columns[c].header, "bold") + " " for c in columns) + bar)
    out.append(line("head"))
    for i, row in enumerate(table.rows):
        if i in table.rules and i:
            out.append(line("rule"))
        out.append(bar + bar.join(" " + cell(c, *(row[c] if c < len(row) else ("", ""))) + " " for c in columns) + bar)
    out.append(line("bottom"))
    if hidden:
        note = (f"({', '.join(hidden)} hidden to fit {width} columns: widen the terminal, set COLUMNS, "
                "or use --format json, csv or markdown)")
        out.extend(paint(text, "dim") for text in wrap_lines([note], width).splitlines())
    return "\n".join(out) + "\n"


BAR_WIDTH = 10
EIGHTHS = " ▏▎▍▌▋▊▉█"


def bar(share: float, unicode: bool = True, width: int = BAR_WIDTH) -> str:
    """A bar of `width` cells for a share in [0, 1], in eighths of a cell ('#' without Unicode);
    a nonzero share shows at least a sliver, a share above 1 a full bar."""
    share = min(float(share), 1.0)
    if share <= 0:
        return ""
    if not unicode:
        return "#" * max(1, round(share * width))
    eighths = max(1, round(share * width * 8))
    return "█" * (eighths // 8) + (EIGHTHS[eighths % 8] if eighths % 8 else "")
