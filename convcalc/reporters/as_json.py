"""JSON: one report object, or an array of them for several specs, one layer per line."""

from __future__ import annotations

from typing import IO

from ..report import Report
from .jsonout import dumps_all


def render(reports: list[Report], stream: IO[str] | None = None, exact: bool = True) -> str:
    return dumps_all([report.to_dict() for report in reports])
