"""The one JSON writer of every command's report.

Layout: one top-level key per line, and one entry per line for lists of objects (layers,
variants, specs), so a diff of two reports shows the layers that changed and nothing else. Text
is kept exactly (ensure_ascii off), with the characters a terminal or a JavaScript parser could
misread, and lone surrogates (a file name with undecodable bytes), written as \\u escapes
(printable.json_safe). Each document carries its command's schema version (report.SCHEMAS).
"""

from __future__ import annotations

import json
from typing import Any, Sequence

from ..printable import json_safe

_encode = json.JSONEncoder(ensure_ascii=False).encode  # one encoder: json.dumps with options makes one per call


def dumps(doc: dict[str, Any]) -> str:
    """One document, without a final newline."""
    parts = []
    for key, value in doc.items():
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            inner = ",\n    ".join(map(_encode, value))
            parts.append(f"  {_encode(key)}: [\n    {inner}\n  ]")
        else:
            parts.append(f"  {_encode(key)}: {_encode(value)}")
    return json_safe("{\n" + ",\n".join(parts) + "\n}")


def dumps_all(docs: Sequence[dict[str, Any]]) -> str:
    """One document for one spec, an array for several, with a final newline."""
    texts = [dumps(doc) for doc in docs]
    return (texts[0] if len(texts) == 1 else "[\n" + ",\n".join(texts) + "\n]") + "\n"

