"""How `check` quotes what a user wrote (a budget value, a baseline key) in its messages."""

from __future__ import annotations

from typing import Any


def short(value: Any, width: int = 60, repr_: bool = True) -> str:
    """A value as the user wrote it (YAML's and JSON's true/null), cut to `width` characters."""
    if value is None or isinstance(value, bool):
        return "null" if value is None else str(value).lower()
    text = repr(value) if repr_ else str(value)
    return text if len(text) <= width else text[: width - 3] + "..."
