"""What every `--plot` shares: checking the path before any work, and saving a figure whole.

`check_plot_path` runs before a command does anything costly (a profile can take minutes), so a
plot that could never be written fails at once, as one line, instead of after the run.
`save_figure` renders the figure in memory and writes it with `fileio.write_atomic`: a failed
write leaves any old plot as it was. matplotlib itself is imported by the callers, lazily.
"""

from __future__ import annotations

import io
import os
from typing import Any

from ..errors import UsageError

PLOT_SUFFIXES = (".png", ".svg")


def check_plot_path(path: str, option: str = "--plot", matplotlib_for: tuple[str, ...] = PLOT_SUFFIXES,
                    inputs: tuple[str, ...] = ()) -> None:
    """Fail before any work when the plot cannot be written: wrong suffix, a folder that is not
    there or not writable, a folder in the file's place, or no matplotlib where the suffix needs
    it (`explain --draw` writes SVG itself and needs matplotlib for PNG only), or one of the
    command's `inputs` (fileio.check_output, the rule every output follows)."""
    import importlib.util

    from ..fileio import check_output

    if not path.lower().endswith(PLOT_SUFFIXES):
        raise UsageError(f"{option} writes a .png or .svg file, got '{path}'")
    check_output(path, option, inputs)
    if path.lower().endswith(matplotlib_for) and importlib.util.find_spec("matplotlib") is None:
        raise UsageError(f"{option} needs matplotlib: pip install 'convcalc[plot]'")


def literal(text: str) -> str:
    """Text from a spec as matplotlib shows it literally: one printable line (printable.clean),
    and a '$' escaped, so that a name like `a$x$` is not read as TeX (or fails as bad TeX)."""
    from ..printable import clean

    return clean(text).replace("$", r"\$")


def save_figure(figure: Any, path: str) -> None:
    """Write a matplotlib figure to `path` (its format from the suffix), whole or not at all."""
    from ..fileio import write_atomic

    buffer = io.BytesIO()
    try:
        figure.savefig(buffer, format=os.path.splitext(path)[1][1:].lower())
        write_atomic(path, buffer.getvalue())
    except OSError as exc:
        raise UsageError(f"--plot {path}: cannot write it: {exc.strerror or exc}") from None
