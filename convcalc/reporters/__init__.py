"""Renderers: every command's output in every format it has, one shape for all.

Each command's reporter module (this one for `shapes`; checks, comparison, drawing, explanation,
library, profiling, scaling, sweeps, training, verification, verification_train) declares the
command's format enum, `RENDERERS`, from each member to the function that renders it, and
`render(result, fmt, stream=None, ...)`, which looks the member up; tests/test_formats.py checks
that every member has a renderer and that every command offers its enum's members. A command's
renderers live in its module, except where one format is a unit of its own: `shapes`' formats
(as_table, as_json, as_csv, as_markdown; the notebook display builds on as_table) and `draw`'s
(draw_svg, draw_html, draw_dot, draw_mermaid), whose tables hold `lazy(module)`.

Reporters only format what is in the result; they never compute a count.
"""

from __future__ import annotations

import importlib
from enum import Enum
from typing import IO, Any, Callable, Sequence

from ..report import Report


class Format(str, Enum):
    TABLE = "table"
    JSON = "json"
    CSV = "csv"
    MARKDOWN = "markdown"


def lazy(module: str) -> Callable[..., str]:
    """The `render` of reporters/`module`.py, imported when a format is asked for (only the
    format used is loaded)."""

    def renderer(*args: Any, **options: Any) -> str:
        return importlib.import_module(f"{__name__}.{module}").render(*args, **options)  # type: ignore[no-any-return]

    renderer.__qualname__ = renderer.__name__ = f"{module}.render"
    return renderer


FORMATS = {
    Format.TABLE: "as_table",
    Format.JSON: "as_json",
    Format.CSV: "as_csv",
    Format.MARKDOWN: "as_markdown",
}
RENDERERS: dict[Format, Callable[..., str]] = {member: lazy(module) for member, module in FORMATS.items()}


def render(reports: Sequence[Report], fmt: Format | str, stream: IO[str] | None = None, exact: bool = False,
           layers: bool = True) -> str:
    """`exact`: counts in full (1,234,567) in the formats that round for reading (table, markdown);
    json and csv are always exact. `layers`: False (--summary) leaves the per-layer table out of
    those two; json and csv always hold every layer."""
    if Format(fmt) in (Format.TABLE, Format.MARKDOWN):
        return RENDERERS[Format(fmt)](list(reports), stream, exact, layers)
    return RENDERERS[Format(fmt)](list(reports), stream, exact)
