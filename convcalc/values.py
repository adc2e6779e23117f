"""Values as the command line writes them and the core reads them: a batch size, an input shape
per sample, a spec argument's NAME=VALUE. The commands (convcalc/cli/) and the core that takes the
same values from a list (sweep's axes) parse them here, so the core never imports the CLI; each
mistake is a UsageError naming the option.
"""

from __future__ import annotations

import re
from typing import Any

from . import limits
from .errors import UsageError


def parse_batch(text: str, option: str = "--batch") -> int:
    """A batch size as written on the command line: ASCII digits, 1 to 2^48."""
    text = text.strip()
    shown = text if len(text) <= 24 else f"{text[:12]}... ({len(text)} characters)"
    if not (text.isascii() and text.isdigit()):
        raise UsageError(f"{option} takes a whole number like 8, got '{shown}'")
    if len(text) > limits.MAX_NUMBER_CHARS or not 1 <= int(text) <= limits.MAX_SIZE:
        raise UsageError(f"{option} must be from 1 to {limits.MAX_SIZE} (2^48), got {shown}")
    return int(text)


def parse_shape(text: str, option: str = "--input") -> tuple[int, ...]:
    """An input shape per sample as written on the command line: 3x224x224 (channels first, no
    batch), each size from 1 to 2^48."""
    from .errors import SpecError
    from .spec import parse_input

    shown = text if len(text) <= 40 else f"{text[:20]}... ({len(text)} characters)"
    try:
        return parse_input(text.strip(), option, None)
    except SpecError as exc:
        raise UsageError(f"{option} {shown}: {exc.message}") from None


def parse_set(text: str, option: str = "--set") -> tuple[str, Any]:
    """NAME=VALUE as `--set` takes it: the value is an integer, a decimal, true/false or a word."""
    from .spec import ARG_NAME, arg_value

    name, eq, value = text.partition("=")
    name, value = name.strip(), value.strip()
    shown = text if len(text) <= 40 else f"{text[:20]}... ({len(text)} characters)"
    if not eq or not re.match(ARG_NAME, name) or not value:
        raise UsageError(f"{option} takes NAME=VALUE, like --set width=0.75, got '{shown}'")
    return name, arg_value(value)
