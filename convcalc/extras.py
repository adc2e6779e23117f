"""The optional extras: a command that needs one checks for it here first, so a missing install is
one line naming the command and the pip extra, never an ImportError from deep inside."""

from __future__ import annotations

from .errors import UsageError


def require_torch(command: str, *modules: str) -> None:
    """Import check for the optional extras, with the command that installs them."""
    import importlib.util

    missing = [m for m in ("torch", *modules) if importlib.util.find_spec(m) is None]
    if missing:
        raise UsageError(f"convcalc {command} needs {' and '.join(missing)}: pip install 'convcalc[torch]'")
