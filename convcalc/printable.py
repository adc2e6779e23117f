"""Making text from a spec safe to print: one visible line, nothing a terminal or CI runs.

Spec files, file names and `-e` text come from pull requests, so any of them may hold escape
sequences (which set a terminal's title or colours, even under NO_COLOR), newlines (which forge
extra lines, such as a GitHub Actions `::error` workflow command), or characters that JSON or
XML cannot carry. `clean` shows every such character as a visible escape (`\\x1b`, `\\n`), so a
report or an error message stays one honest line whatever the input held. Every renderer and the
error type pass text from a spec through here.
"""

from __future__ import annotations

import re
from typing import Any

# C0 and C1 controls, DEL, lone surrogates, the two non-characters XML refuses, the line and
# paragraph separators, and the bidirectional overrides and isolates that can reorder what a
# reader sees (the "Trojan Source" characters).
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def clean(text: Any) -> str:
    """`text` as one printable line: control and reordering characters shown as escapes."""
    text = str(text)
    return _UNSAFE.sub(_escape, text) if _UNSAFE.search(text) else text


# What JSON may carry raw but a terminal or a JavaScript parser should not see: C1 controls,
# the line and paragraph separators, the reordering characters and lone surrogates.
_JSON_UNSAFE = re.compile("[\x7f-\x9f\ud800-\udfff\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def json_safe(encoded: str) -> str:
    """Encoded JSON text with those characters written as \\uXXXX escapes: the same data, safe
    to print (JSON's own encoder already escapes C0 controls, but not these)."""
    if not _JSON_UNSAFE.search(encoded):
        return encoded
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", encoded)
