"""The plots' shared pieces (convcalc/reporters/plots.py) and the compare plot's layout."""

from __future__ import annotations

import pytest

pytest.importorskip("matplotlib")

from convcalc.errors import UsageError  # noqa: E402
from convcalc.reporters.plots import check_plot_path, literal, save_figure  # noqa: E402


def saved_figures(monkeypatch):
    """Figures as they are saved, kept for inspection."""
    from matplotlib.figure import Figure

    figures = []
    save = Figure.savefig
    monkeypatch.setattr(Figure, "savefig", lambda self, *args, **kwargs: (figures.append(self),
                                                                          save(self, *args, **kwargs)))
    return figures


def test_literal_text_is_printable_and_not_tex():
    assert literal("a$x$\x1b") == "a\\$x\\$\\x1b"


def test_a_failed_save_keeps_the_old_plot(tmp_path, monkeypatch):
    from matplotlib.figure import Figure

    from convcalc.reporters import plots

    path = tmp_path / "p.png"
    path.write_bytes(b"old plot")

    def full_disk(target, data):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("convcalc.fileio.write_atomic", full_disk)
    with pytest.raises(UsageError, match=f"^--plot {path}: cannot write it: No space left on device$"):
        save_figure(Figure(), str(path))
    assert path.read_bytes() == b"old plot"
    assert plots.PLOT_SUFFIXES == (".png", ".svg")


@pytest.mark.parametrize("where, message", [
    ("x.pdf", "--plot writes a .png or .svg file, got 'x.pdf'"),
    ("", "--plot writes a .png or .svg file, got ''"),
    ("missing/x.png", "--plot {path}: there is no folder {tmp}/missing"),
    ("folder.png", "--plot {path}: is a folder, not a file"),
])
def test_check_plot_path(where, message, tmp_path):
    (tmp_path / "folder.png").mkdir()
    path = str(tmp_path / where) if where not in ("", "x.pdf") else where
    with pytest.raises(UsageError) as caught:
        check_plot_path(path)
    assert str(caught.value) == message.format(path=path, tmp=tmp_path)


@pytest.mark.parametrize("shape, out, k", [((64, 56, 56), 64, 3), ((3, 224, 224), 8, 1), ((3, 32, 32), 64, 3)])
def test_compare_plot_legend_covers_no_bar(shape, out, k, tmp_path, monkeypatch):
    """With the legend inside the axes (upper right) the first two covered the last bar, fft's."""
    pytest.importorskip("matplotlib")
    from convcalc.compare import VARIANTS, ConvSetup, compare_variants
    from convcalc.reporters.comparison import plot

    figures = saved_figures(monkeypatch)
    result = compare_variants(tuple(VARIANTS), ConvSetup(shape, out, k))
    plot(result, str(tmp_path / "c.png"))
    (figure,) = figures
    (axes,) = figure.axes
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    renderer = FigureCanvasAgg(figure).get_renderer()
    legend = axes.get_legend().get_window_extent(renderer)
    assert legend.x1 <= figure.bbox.width
    bars = [patch.get_window_extent(renderer) for patch in axes.patches]
    assert len(bars) == 2 * len(result.applicable)
    assert not any(legend.overlaps(bar) for bar in bars)


