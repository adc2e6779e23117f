"""A small, fast box-drawn table for terminals and pipes.

Why not rich.table: rendering costs about 1.2 ms per row there (measured: 175 rows of
resnet50 take 250 ms, more than the whole 150 ms budget of `convcalc shapes`), because every
cell goes through rich's general layout engine. Here a table is columns of strings with an
alignment and an optional style per cell, rendered in one pass: about 1 ms for 175 rows.

Fitting, one policy for every table and the prose under it (`terminal_width`): the width is
COLUMNS when set, else the terminal's, else 80 (a pipe, a file, a test). The table is fitted to
it (`_fit`): columns marked `shrink` are cut to a readable width (with '…', at the end or in the
middle), columns marked `optional` are dropped from the right (those marked `first` before the
others), and what room is left is given back; a note under the table names every column that was dropped. COLUMNS=1000 (or json, csv,
markdown) gives everything.
A table whose rows can be written more or less compactly (compare's per-stage sums, or plain
totals) is fitted by `fit_layouts`, which takes the first layout that fits by dropping columns,
with the same rules. Colour is ANSI, only on a terminal, never with NO_COLOR set
(https://no-color.org), and forced with FORCE_COLOR.
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
                 min_width: int = 4, cut: str = "end", first: int = 0) -> None:
        self.header = clean(header)  # compare's headers are spec names
        self.align = align  # left | right
        self.shrink = shrink  # may be truncated to fit a narrow terminal
        self.optional = optional  # may be dropped to fit a narrow terminal
        self.first = first  # optional columns of a higher `first` are dropped before the others
        self.min_width = min_width
        self.cut = cut  # where a truncated cell loses its characters: "end", or "middle" for names and paths


Row = list[tuple[str, str]]  # cells: (text, style)


class Table:
    def __init__(self, columns: list[Column], title: str = "") -> None:
        self.columns = columns
        self.title = "\n".join(map(clean, title.split("\n")))  # reporters may wrap titles themselves
        self.rows: list[Row] = []
        self.rules: set[int] = set()  # a horizontal rule before these row indices
        self.hidden: list[str] = []  # headers of columns left out to fit (fit_layouts), named under it

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

    def natural(self) -> list[int]:
        """Each column's width with nothing cut: its header or its longest cell."""
        return [max([len(column.header)] + [len(row[c][0]) for row in self.rows if c < len(row)])
                for c, column in enumerate(self.columns)]

    def only(self, columns: list[int]) -> "Table":
        """The same table with only these columns (indices, in order); the others that had
        something in them are `hidden`."""
        table = Table([self.columns[c] for c in columns])
        table.title, table.rules = self.title, set(self.rules)
        table.hidden = self.hidden + [self.columns[c].header for c in range(len(self.columns)) if c not in columns
                                      and any(c < len(row) and row[c][0] for row in self.rows)]
        table.rows = [[row[c] if c < len(row) else ("", "") for c in columns] for row in self.rows]
        return table


def wants_color(stream: IO[str]) -> bool:
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return hasattr(stream, "isatty") and stream.isatty() and os.environ.get("TERM") != "dumb"


PIPE_WIDTH = 80  # the width of a pipe or a file, unless COLUMNS says otherwise


def terminal_width(stream: IO[str]) -> int:
    """The width to fit: COLUMNS when set (a whole number, at least 1), else the terminal's, else
    PIPE_WIDTH."""
    columns = os.environ.get("COLUMNS", "")
    if columns.isascii() and columns.isdigit() and int(columns) > 0:  # isdigit alone takes '²', which int() refuses
        return int(columns)
    if hasattr(stream, "isatty") and stream.isatty():
        # os, not shutil: shutil's import (bz2, lzma) costs 3 ms of the start-up budget
        try:
            return os.get_terminal_size(stream.fileno()).columns
        except (OSError, ValueError, AttributeError):
            return 100
    return PIPE_WIDTH


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


def _total(columns: list[int], widths: dict[int, int]) -> int:
    return sum(widths[c] + 3 for c in columns) + 1


def _drop(specs: list[Column], columns: list[int], widths: dict[int, int], natural: list[int], width: int) -> None:
    """The first steps of fitting (`columns` and `widths` edited in place): count shrinkable
    columns at a readable width, drop optional columns from the right until the table fits,
    then give back the dropped ones that fit after all, leftmost first."""
    for c in columns:
        if specs[c].shrink:
            widths[c] = min(natural[c], max(specs[c].min_width, COMFORTABLE))
    dropped = []
    for c in sorted(columns, key=lambda c: (-specs[c].first, -c)):  # from the right, `first` ones before
        if _total(columns, widths) <= width:
            break
        if specs[c].optional:
            columns.remove(c)
            dropped.append(c)
    kept_out = None  # the lowest `first` of a column still out: none of a higher one comes back
    for c in reversed(dropped):  # the last dropped first: leftmost, among those dropped last
        if kept_out is None or specs[c].first <= kept_out:
            if _total(columns, widths) + widths[c] + 3 <= width:
                columns.append(c)
                columns.sort()
            else:
                kept_out = specs[c].first if kept_out is None else min(kept_out, specs[c].first)


def _fit(specs: list[Column], columns: list[int], widths: dict[int, int], natural: list[int], width: int) -> None:
    """Fit `columns` (indices, edited in place) and `widths` into `width`: cut shrinkable columns
    to a readable width and drop optional columns from the right (`_drop`), cut further only if
    still too wide, then give what room is left to the cut columns."""
    _drop(specs, columns, widths, natural, width)
    shrinkable = [c for c in columns if specs[c].shrink]
    for c in sorted(shrinkable, key=lambda c: -widths[c]):  # still too wide: cut the widest first
        if _total(columns, widths) <= width:
            break
        widths[c] = max(specs[c].min_width, widths[c] - (_total(columns, widths) - width))
    for c in shrinkable:
        widths[c] += max(0, min(natural[c] - widths[c], width - _total(columns, widths)))


def fit_layouts(columns: list[Column], layouts: list[list[Row | None]], width: int | None, title: str = "") -> Table:
    """A table of the first layout that fits `width` by dropping optional columns (shrinkable
    ones counted at a readable width), or of the last when none does. Layouts are the same rows
    written more or less compactly (compare's per-stage MACs sums, then plain totals); a row is
    its cells, or None for a rule. The columns dropped are left out of the table, so that the
    caller can word what it writes under it by the columns it has, and `render` fits the rest:
    it cuts shrinkable columns to the room they have. In a pipe (width None): the first layout,
    whole."""
    if not layouts:
        raise ValueError("fit_layouts needs at least one layout")
    for layout in layouts:
        table = Table(columns, title)
        for row in layout:
            if row is None:
                table.rule()
            else:
                table.add_row(*row)
        kept = list(range(len(columns)))
        if width is None:
            return table
        natural = table.natural()
        widths = dict(enumerate(natural))
        _drop(columns, kept, widths, natural, width)
        if _total(kept, widths) <= width:
            break
    return table.only(kept)


def render(table: Table, width: int | None = None, color: bool = False, stream: IO[str] | None = None) -> str:
    box = _BOX[_boxes(stream or sys.stdout)]
    columns = list(range(len(table.columns)))
    natural = table.natural()
    widths = dict(zip(columns, natural))
    if width is not None and _total(columns, widths) > width:
        _fit(table.columns, columns, widths, natural, width)
    # Say what fitting hid (a column with something in it), and how to see it.
    hidden = table.hidden + [table.columns[c].header for c in range(len(table.columns)) if c not in columns
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


def render_markdown(table: Table) -> str:
    """The table as a Markdown pipe table under its title as a heading (for pull requests): every
    cell escaped (printable.markdown), right-aligned columns marked `---:`, no colour."""
    from .printable import markdown

    lines = [f"### {markdown(table.title)}", ""] if table.title else []
    lines.append("| " + " | ".join(markdown(c.header) for c in table.columns) + " |")
    lines.append("|" + "|".join("---:" if c.align == "right" else "---" for c in table.columns) + "|")
    for row in table.rows:
        cells = [row[c][0] if c < len(row) else "" for c in range(len(table.columns))]
        lines.append("| " + " | ".join(markdown(cell) for cell in cells) + " |")
    return "\n".join(lines) + "\n"
