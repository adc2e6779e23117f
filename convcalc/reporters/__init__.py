"""Renderers of analysis reports: each format is one module with `render(reports, stream, exact) -> str`.

Reporters only format what is in the `Report`; they never compute a count. `FORMATS` maps each
`Format` to its module (imported when used), and a test checks every member is covered.
"""

from __future__ import annotations

import importlib
from enum import Enum
from typing import IO, Sequence

from ..report import Report


class Format(str, Enum):
    TABLE = "table"
    JSON = "json"
    CSV = "csv"
    MARKDOWN = "markdown"


FORMATS = {
    Format.TABLE: "as_table",
    Format.JSON: "as_json",
    Format.CSV: "as_csv",
    Format.MARKDOWN: "as_markdown",
}


def render(reports: Sequence[Report], fmt: Format | str, stream: IO[str] | None = None, exact: bool = False,
           layers: bool = True) -> str:
    """`exact`: counts in full (1,234,567) in the formats that round for reading (table, markdown);
    json and csv are always exact. `layers`: False (--summary) leaves the per-layer table out of
    those two; json and csv always hold every layer."""
    module = importlib.import_module(f"{__name__}.{FORMATS[Format(fmt)]}")
    if Format(fmt) in (Format.TABLE, Format.MARKDOWN):
        return module.render(list(reports), stream, exact, layers)
    return module.render(list(reports), stream, exact)
