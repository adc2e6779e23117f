"""The box table's fitting: readable names first, optional columns dropped from the right, room
given back; the choice among layouts of the same rows (fit_layouts); and wrapping of the prose
under a table."""

from __future__ import annotations

from convcalc.textable import Column, Table, fit_layouts, render, wrap_lines

NAMES = ["layer1.b0.se.fc1", "layer4.b2.downsample.conv", "fc"]


def table() -> Table:
    t = Table([Column("#", "right"), Column("name", shrink=True, min_width=8, cut="middle"),
               Column("kind", optional=True), Column("params", "right"), Column("notes", optional=True)])
    for i, name in enumerate(NAMES):
        t.add_row(str(i), name, "conv", "1,234", "a long note about this layer")
    return t


def widths(text: str) -> set[int]:
    """Widths of the table's own lines (not the note under it)."""
    return {len(line) for line in text.splitlines() if line[:1] in "┌├│└"}


def note(text: str) -> str:
    return " ".join(line.strip() for line in text.splitlines() if line[:1] not in "┌├│└")


def test_a_pipe_keeps_the_natural_width():
    text = render(table())
    assert "layer4.b2.downsample.conv" in text and "a long note about this layer" in text


def test_optional_columns_go_before_names_are_cut():
    # natural: # 1, name 25, kind 4, params 6, notes 28 -> 5 cells of (w + 3) + 1 = 64 + 15 + 1 = 80
    text = render(table(), width=60)
    assert widths(text) == {(1 + 3) + (25 + 3) + (4 + 3) + (6 + 3) + 1}  # 49: notes dropped, kind kept
    assert "│ notes" not in text and "kind" in text
    assert "layer4.b2.downsample.conv" in text
    assert note(text) == ("(notes hidden to fit 60 columns: widen the terminal, set COLUMNS, "
                          "or use --format json, csv or markdown)")


def test_a_dropped_column_with_nothing_in_it_goes_unmentioned():
    t = Table([Column("name"), Column("notes", optional=True)])
    t.add_row("conv1", "")
    t.add_row("a-very-long-layer-name", "")
    text = render(t, width=30)
    assert "notes" not in text and note(text) == ""


def test_names_are_cut_in_the_middle_only_when_they_must_be():
    # without kind and notes: 1 + (1+3) + (name+3) + (6+3) = 17 + name <= 30 -> name 13
    text = render(table(), width=30)
    assert widths(text) == {30}
    assert "layer4…e.conv" in text  # 13 characters: 6 before the cut, 6 after
    assert "layer1.b0.se…" not in text
    assert note(text).startswith("(kind, notes hidden to fit 30 columns:")


def test_text_from_a_spec_is_escaped_in_cells_titles_and_headers():
    t = Table([Column("name\x1b[2J")], title="net\x1b]0;title\x07 (a.yaml)")
    t.add_row("conv\x1b[31m1\nforged")
    text = render(t)
    assert "\x1b" not in text and "\x07" not in text
    assert "net\\x1b]0;title\\x07 (a.yaml)" in text  # shown, escaped, on one line
    assert "conv\\x1b[31m1\\nforged" in text and "name\\x1b[2J" in text


def test_wrap_lines_indents_continuations_and_leaves_a_pipe_alone():
    line = "  conv1 (line 1): stride 2 does not fit axis H: the last 1 of 32 input positions are never covered"
    assert wrap_lines([line], None) == line + "\n"
    wrapped = wrap_lines([line], 40).splitlines()
    assert all(len(part) <= 40 for part in wrapped)
    assert wrapped[0].startswith("  conv1") and all(part.startswith("    ") for part in wrapped[1:])
    assert " ".join(part.strip() for part in wrapped) == line.strip()


# fit_layouts: the same rows written two ways, per-stage sums (wide) and totals (compact)
LAYOUT_COLUMNS = [Column("name", shrink=True, min_width=8, cut="middle"), Column("value", "right"),
                  Column("note", optional=True), Column("extra", optional=True)]
WIDE = [[("conv1.long.name.here", ""), ("1 + 2 + 3 = 6", ""), ("a note", ""), ("x", "")]]
COMPACT = [[("conv1.long.name.here", ""), ("6", ""), ("a note", ""), ("x", "")]]
# natural widths: name 20, value 13 (wide) or 5 (its header, compact), note 6, extra 5
WIDE_ALL = 1 + (20 + 3) + (13 + 3) + (6 + 3) + (5 + 3)  # 57
COMPACT_ALL = 1 + (20 + 3) + (5 + 3) + (6 + 3) + (5 + 3)  # 49


def headers(table) -> list[str]:
    return [column.header for column in table.columns]


def test_fit_layouts_keeps_the_first_layout_whole_in_a_pipe():
    table = fit_layouts(LAYOUT_COLUMNS, [WIDE, COMPACT], None)
    assert headers(table) == ["name", "value", "note", "extra"]
    assert table.rows[0][1][0] == "1 + 2 + 3 = 6"
    assert widths(render(table)) == {WIDE_ALL}


def test_fit_layouts_drops_optional_columns_before_it_changes_layout():
    # the wide layout without note and extra: 57 - 9 - 8 = 40, which fits 45
    assert WIDE_ALL - (6 + 3) - (5 + 3) == 40
    table = fit_layouts(LAYOUT_COLUMNS, [WIDE, COMPACT], 45)
    assert headers(table) == ["name", "value"] and table.rows[0][1][0] == "1 + 2 + 3 = 6"
    # what fit_layouts left out is named under the table, as what render drops itself
    assert note(render(table, width=45)) == ("(note, extra hidden to fit 45 columns: widen the terminal, set COLUMNS, "
                                             "or use --format json, csv or markdown)")


def test_fit_layouts_gives_back_what_fits_leftmost_first():
    # at 48: note (40 + 9 = 49) does not come back, extra (40 + 8 = 48) does
    table = fit_layouts(LAYOUT_COLUMNS, [WIDE, COMPACT], 48)
    assert headers(table) == ["name", "value", "extra"]
    assert widths(render(table, width=48)) == {48}


def test_fit_layouts_takes_the_next_layout_when_dropping_is_not_enough():
    # wide without every optional column is 40 > 35; compact without them is 49 - 17 = 32
    assert COMPACT_ALL - (6 + 3) - (5 + 3) == 32
    table = fit_layouts(LAYOUT_COLUMNS, [WIDE, COMPACT], 35)
    assert headers(table) == ["name", "value"] and table.rows[0][1][0] == "6"
    assert widths(render(table, width=35)) == {32}


def test_fit_layouts_cuts_names_in_the_middle_only_when_no_layout_fits():
    table = fit_layouts(LAYOUT_COLUMNS, [WIDE, COMPACT], 25)
    assert headers(table) == ["name", "value"] and table.rows[0][1][0] == "6"
    text = render(table, width=25)
    # the name gets 25 - (1 + (5 + 3)) - 3 = 13 characters: 6, '…', 6
    assert widths(text) == {25}
    assert "conv1.…e.here" in text
