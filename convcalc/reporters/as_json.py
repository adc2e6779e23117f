"""JSON: one report object, or an array of them for several specs, one layer per line."""

from __future__ import annotations

import json
from typing import IO, Any

from ..printable import json_safe
from ..report import Report


_encode = json.JSONEncoder(ensure_ascii=False).encode  # one encoder: json.dumps with options makes one per call


def _dumps(d: dict[str, Any]) -> str:
    parts = []
    for key, value in d.items():
        if key == "layers":
            inner = ",\n    ".join(map(_encode, value))
            parts.append(f'  "layers": [\n    {inner}\n  ]')
        else:
            parts.append(f"  {_encode(key)}: {_encode(value)}")
    return "{\n" + ",\n".join(parts) + "\n}"


def render(reports: list[Report], stream: IO[str] | None = None, exact: bool = True) -> str:
    docs = [json_safe(_dumps(report.to_dict())) for report in reports]
    if len(docs) == 1:
        return docs[0] + "\n"
    return "[\n" + ",\n".join(docs) + "\n]\n"
