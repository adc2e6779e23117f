"""The one error type convcalc raises for a user's mistake.

`ConvcalcError` carries where the mistake is: the file, the line, the layer's name and kind.
Library code raises it (or `LayerError`, a location-free message from a shape or cost rule that
the analysis re-raises with the layer's location); the CLI catches it once and prints
`str(error)`, a single line, with exit code 2. Anything else escaping is a bug in convcalc.
"""

from __future__ import annotations



class ConvcalcError(Exception):
    """A user error with its location: `file:line: layer 'name' (kind): message`."""

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        layer: str | None = None,
        kind: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.file = file
        self.line = line
        self.layer = layer
        self.kind = kind

    def __str__(self) -> str:
        parts = []
        if self.file is not None:
            parts.append(f"{self.file}:{self.line}" if self.line is not None else self.file)
        elif self.line is not None:
            parts.append(f"line {self.line}")
        if self.layer is not None:
            parts.append(f"layer '{self.layer}' ({self.kind})" if self.kind else f"layer '{self.layer}'")
        # One printable line, always, whatever the user's input contained: a file name or layer
        # with a newline or an escape sequence shows it escaped (convcalc.printable).
        from .printable import clean

        message = " ".join(self.message.split())
        return clean(": ".join(parts + [message]))


class SpecError(ConvcalcError):
    """The spec itself is malformed: syntax, unknown keys, wrong types, broken references."""


class ShapeError(ConvcalcError):
    """The spec is well formed but a layer cannot apply to its input (PyTorch would raise)."""


class LayerError(Exception):
    """Raised by a registry rule with a bare message; the analysis adds the location."""


class UsageError(ConvcalcError):
    """A command-line option or argument is wrong."""
