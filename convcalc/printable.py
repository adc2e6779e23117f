"""Making text from a spec safe to print: one visible line, nothing a terminal or CI runs.

Spec files, file names and `-e` text come from pull requests, so any of them may hold escape
sequences (which set a terminal's title or colours, even under NO_COLOR), newlines (which forge
extra lines, such as a GitHub Actions `::error` workflow command), or characters that JSON or
XML cannot carry. `clean` shows every such character as a visible escape (`\\x1b`, `\\n`), so a
report or an error message stays one honest line whatever the input held. Every renderer and the
error type pass text from a spec through here.

The same goes for the formats a report is pasted into: `csv_writer` is every CSV writer, so
no cell a spreadsheet opens is a formula (`=HYPERLINK(...)` as a spec name), and `markdown`
escapes text for a Markdown cell or heading, so a name renders as itself on GitHub, never as an
image, a link or raw HTML.
"""

from __future__ import annotations

import csv
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


# A spreadsheet reads a cell that starts with one of these as a formula (OWASP's CSV injection
# list): `=HYPERLINK(...)` as a spec name would be a live link, `@SUM(...)` a function call.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"(?a)[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?\Z")


def spreadsheet_cell(value: Any) -> Any:
    """A CSV cell no spreadsheet evaluates: text that starts like a formula gets a leading `'`
    (which spreadsheets show as nothing and read as "this is text"). Numbers stay as they are,
    `-3` included, whether they arrive as numbers or as the text of one."""
    if isinstance(value, str) and value.startswith(_FORMULA_START) and not _NUMBER.match(value):
        return "'" + value
    return value


class _CsvWriter:
    def __init__(self, stream: Any) -> None:
        self._writer = csv.writer(stream, lineterminator="\n")

    def writerow(self, row: Any) -> None:
        self._writer.writerow([spreadsheet_cell(cell) for cell in row])

    def writerows(self, rows: Any) -> None:
        for row in rows:
            self.writerow(row)


def csv_writer(stream: Any) -> _CsvWriter:
    """The one CSV writer of every CSV convcalc writes: `csv.writer`'s rows, `\\n` line ends, and
    every text cell passed through `spreadsheet_cell`."""
    return _CsvWriter(stream)


# Markdown (GitHub's): what in a name could become markup rather than text. `<`, `>` and `&` as
# HTML entities (no raw HTML: `<img>`, `<details>`, no entity of the spec's own); a backslash
# before the punctuation that forms links and images (`[`, `]`), code (`` ` ``), emphasis and
# strike-through (`*`, `~`, and `_` where it is not inside a word, the only place it is inert),
# table cells (`|`) and escapes (`\`); and the two autolinks GitHub makes of bare text, `scheme://`
# and `www.`, broken by an escaped character.
_MD_HTML = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_MD_MARKUP = re.compile(r"[\\`*\[\]~|]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])|(?<=:)/(?=/)|(?i:(?<=\bwww)\.)")


def markdown(text: Any) -> str:
    """`text` for a Markdown heading, paragraph or table cell: one printable line (`clean`) that
    renders as exactly itself, never as an image, a link, emphasis, HTML or a new cell."""
    line = "".join(_MD_HTML.get(char, char) for char in clean(text))
    return _MD_MARKUP.sub(lambda m: "\\" + m.group(), line)


def markdown_code(text: Any, table: bool = False) -> str:
    """`text` as a Markdown code span: fenced by more backticks than any run inside it (code spans
    take no escapes, so a backtick in a name cannot end it), `|` escaped in a table cell."""
    line = clean(text)
    longest = max((len(run) for run in re.findall("`+", line)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if line.startswith("`") or line.endswith("`") else ""
    body = f"{fence}{pad}{line}{pad}{fence}"
    return body.replace("|", "\\|") if table else body
