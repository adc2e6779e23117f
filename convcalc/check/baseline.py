"""Baselines: a JSON file of every checked spec's totals, and each total compared with it.

`--write-baseline` records the totals (`write_baseline`, whole or not at all, never over a file
that is not a baseline); `--baseline` reads one back (`read_baseline`, validated entry by entry,
never hanging on a FIFO) and `compare_totals` says which totals grew by more than the tolerance.
Baselines come from pull requests, so every limit of a hostile file (size, numbers, nesting,
repeated keys) is a one-line UsageError naming it.
"""

from __future__ import annotations

import json
import os
import re
from fractions import Fraction
from typing import TYPE_CHECKING, Any, NamedTuple, Sequence

from ..errors import UsageError
from ..suggest import did_you_mean
from ..fileio import NotAFile
from ..report import SCHEMAS, Totals, arg_text
from ..spec import is_text_form
from ..units import percent
from ._text import short

if TYPE_CHECKING:
    from . import CheckRun, SpecResult

BASELINE_METRICS = ("params", "buffers", "macs", "flops", "peak_activation_bytes", "weight_bytes")
ENTRY_KEYS = ("name", *BASELINE_METRICS)
BASELINE_SCHEMA = SCHEMAS["baseline"]
MAX_BASELINE_BYTES = 16 << 20  # baselines come from pull requests too; the limit of reading and of writing
MAX_BASELINE_NAME = 200  # characters of a spec's name kept in its entry (the name is for people; the key matches)
MAX_BASELINE_VALUE = 10**1000  # far above any total (sizes are below 2^48), far below Python's digit limit
_TOLERANCE = re.compile(r"([0-9]{1,12}(?:\.[0-9]{1,12})?)%\Z|0+(?:\.0+)?\Z")


class Change(NamedTuple):
    """One total against its baseline value."""

    metric: str
    old: int
    new: int
    growth: Fraction | None  # (new - old) / old; None when old is 0 and new is not (unbounded)
    regressed: bool  # grew by more than the tolerance
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"metric": self.metric, "old": self.old, "new": self.new, "change": percent(self.growth),
                "regressed": self.regressed, "message": self.message}


class Baseline(NamedTuple):
    path: str
    specs: dict[str, dict[str, Any]]  # key -> {"name", "params", "buffers", ...}


# --------------------------------------------------------------------------------------------
# Comparing totals


def parse_tolerance(text: str) -> Fraction:
    """'0', '5%', '0.5%' -> the allowed growth as a fraction (0, 1/20, 1/200); UsageError otherwise."""
    match = _TOLERANCE.match(text.strip())
    if not match:
        raise UsageError(f"--tolerance must be a percentage like 5% or 0.5% (or 0), got '{text}'")
    return Fraction(match.group(1) or 0) / 100


def compare_totals(totals: Totals, old: dict[str, Any], tolerance: Fraction,
                   tolerance_text: str) -> tuple[Change, ...]:
    """Every baseline total present in `old` against `totals`."""
    changes = []
    for metric in BASELINE_METRICS:
        if metric not in old:
            continue
        before, after = old[metric], getattr(totals, metric)
        growth = Fraction(after - before, before) if before else (None if after else Fraction(0))
        regressed = growth is None or growth > tolerance
        delta = after - before
        if delta == 0:
            message = f"{metric} unchanged at {after:,}"
        else:
            verb = "grew" if delta > 0 else "fell"
            moved = f"{metric} {verb} from {before:,} to {after:,} ({delta:+,}, {percent(growth)})"
            if delta < 0:
                message = moved
            elif regressed:
                message = f"{moved}, over the tolerance of {tolerance_text}"
            else:
                message = f"{moved}, within the tolerance of {tolerance_text}"
        changes.append(Change(metric, before, after, growth, regressed, message))
    return tuple(changes)


def baseline_key(argument: str, overrides: Any = None) -> str:
    """The spec's key in a baseline: its path with '/' separators, normalized; '-' and one-line
    specs as given; followed by the command line's --input and --set when given (a spec measured
    at another input or with other arguments is another entry, never compared with this one)."""
    key = argument if argument == "-" or is_text_form(argument) else os.path.normpath(argument).replace(os.sep, "/")
    if overrides:
        if overrides.input is not None:
            key += " --input " + "x".join(map(str, overrides.input))
        for name, value in sorted(overrides.sets, key=lambda pair: pair[0]):
            key += f" --set {name}={arg_text(value)}"
    return key


# --------------------------------------------------------------------------------------------
# Writing


def baseline_text(results: Sequence[SpecResult]) -> str:
    """The baseline JSON of the valid results: sorted keys, one total per line, a final newline;
    a name longer than MAX_BASELINE_NAME characters is cut there (ending in '...')."""
    specs = {}
    for r in results:
        if r.totals is not None:
            name = r.name if len(r.name) <= MAX_BASELINE_NAME else r.name[:MAX_BASELINE_NAME - 3] + "..."
            specs[r.key] = {"name": name, **{m: getattr(r.totals, m) for m in BASELINE_METRICS}}
    return json.dumps({"schema": BASELINE_SCHEMA, "specs": specs}, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_baseline(path: str, run_: CheckRun) -> None:
    """Record every spec's totals in `path`, whole or not at all (fileio.write_atomic: a failed
    write leaves the old baseline as it was). Refused (UsageError) when a spec is invalid, since the
    baseline would silently lose it, and when `path` is not ours to replace (`check_target`)."""
    invalid = [r.argument for r in run_.results if r.error is not None]
    if invalid:
        raise UsageError(f"baseline not written: {len(invalid)} spec{'s are' if len(invalid) > 1 else ' is'} "
                         f"invalid ({', '.join(invalid)})", file=path)
    check_target(path)
    from ..fileio import write_atomic

    text = baseline_text(run_.results)
    size = len(text.encode("utf-8"))
    if size > MAX_BASELINE_BYTES:  # never write a baseline that --baseline would refuse to read
        raise UsageError(f"baseline not written: it would be {size:,} bytes, over the limit of "
                         f"{MAX_BASELINE_BYTES:,} bytes that --baseline reads; check fewer specs per baseline",
                         file=path)
    try:
        write_atomic(path, text)
    except OSError as exc:
        raise UsageError(f"cannot write the baseline: {exc.strerror or exc}; the file is as it was",
                         file=path) from None


def check_target(path: str, inputs: Sequence[str] = ()) -> None:
    """Refuse a --write-baseline target that is not ours to replace: a name ending in .yaml or
    .yml (`--write-baseline specs/*.yaml` puts the shell's first spec there), one of the specs
    (`inputs`), a directory, socket or other special file, or an existing file that is not a
    convcalc baseline. A missing file is fine, and so is a device or FIFO, which is written as a
    stream and never replaced (fileio's rule for every output); a symbolic link is judged by the
    file it points to, which is the one written."""
    from ..fileio import check_output, target_kind

    if not path or path.endswith(tuple(filter(None, (os.sep, os.altsep)))):
        raise UsageError(f"--write-baseline needs a file name, as in --write-baseline costs.json, got '{path}'")
    for name in (path, os.path.realpath(path)):
        if os.path.splitext(name)[1].lower() in (".yaml", ".yml"):
            raise UsageError("refusing to write the baseline over a YAML file; name the baseline first, as in "
                             "--write-baseline costs.json specs/*.yaml", file=path)
    try:
        kind = target_kind(path)
    except NotAFile as exc:
        raise UsageError(f"refusing to write the baseline over {exc.kind}; give a file name, as in "
                         "--write-baseline costs.json", file=path) from None
    except OSError as exc:
        raise UsageError(f"cannot write the baseline: {exc.strerror or exc}", file=path) from None
    if kind == "new" and not os.path.isdir(os.path.dirname(os.path.realpath(path))):
        raise UsageError("cannot write the baseline: its folder does not exist", file=path)
    check_output(path, "--write-baseline", inputs)
    if kind != "file":
        return
    try:
        data = _read_regular(path)
    except NotAFile as exc:
        raise UsageError(f"refusing to write the baseline over {exc.kind}; give a file name, as in "
                         "--write-baseline costs.json", file=path) from None
    except OSError as exc:
        raise UsageError(f"cannot write the baseline: {exc.strerror or exc}", file=path) from None
    try:
        doc = _parse(data, path)
    except UsageError:
        doc = None
    if not (isinstance(doc, dict) and type(doc.get("schema")) is int and isinstance(doc.get("specs"), dict)):
        raise UsageError("refusing to overwrite a file that is not a convcalc baseline; remove it first or give "
                         "another name", file=path)


# --------------------------------------------------------------------------------------------
# Reading


def _read_regular(path: str) -> bytes:
    """The first MAX_BASELINE_BYTES + 1 bytes of the file (fileio.read_bounded: a FIFO once its
    writer is there, never waiting forever; a directory, device or socket refused with NotAFile)."""
    from ..fileio import read_bounded

    return read_bounded(path, MAX_BASELINE_BYTES)


class _Pairs(dict):
    """A JSON object in which a key appeared twice (`duplicate`); json itself keeps the last."""

    duplicate: str


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    duplicate = None
    for key, value in pairs:
        if key in doc and duplicate is None:
            duplicate = key
        doc[key] = value
    if duplicate is None:
        return doc
    flagged = _Pairs(doc)
    flagged.duplicate = duplicate
    return flagged


def _parse(data: bytes, path: str) -> Any:
    """A baseline's bytes as JSON (fileio.parse_json), objects with a repeated key marked; UsageError."""
    from ..fileio import parse_json

    return parse_json(data, path, "baseline", MAX_BASELINE_BYTES, "a convcalc baseline", object_pairs_hook=_object)


def read_baseline(path: str) -> Baseline:
    """A baseline file, validated: UsageError naming the file (and the line or the entry) for
    anything wrong. Every entry must hold every total, so that each one can be compared."""
    if not path:
        raise UsageError("--baseline needs a file name, as in --baseline costs.json, got ''")
    try:
        data = _read_regular(path)
    except FileNotFoundError:
        raise UsageError("no such baseline file; record one with --write-baseline", file=path) from None
    except NotAFile as exc:
        raise UsageError(f"baseline is {exc.kind}, not a file", file=path) from None
    except OSError as exc:
        raise UsageError(f"cannot read the baseline: {exc.strerror or exc}", file=path) from None
    doc = _parse(data, path)
    expected = f'expected {{"schema": {BASELINE_SCHEMA}, "specs": {{...}}}} as written by --write-baseline'
    if not isinstance(doc, dict):
        raise UsageError(f"not a convcalc baseline: {expected}", file=path)
    if isinstance(doc, _Pairs):
        raise UsageError(f"baseline has the key '{short(doc.duplicate, 60, repr_=False)}' twice", file=path)
    unknown = [key for key in doc if key not in ("schema", "specs")]
    if unknown:
        raise UsageError(f"not a convcalc baseline: unknown key '{short(unknown[0], 60, repr_=False)}'; {expected}",
                         file=path)
    schema = doc.get("schema")
    if type(schema) is not int or schema != BASELINE_SCHEMA:
        got = "no schema" if "schema" not in doc else f'"schema": {short(schema)}'
        raise UsageError(f"not a convcalc baseline: {expected}, got {got}", file=path)
    specs = doc.get("specs")
    if not isinstance(specs, dict):
        raise UsageError(f"not a convcalc baseline: {expected}, got \"specs\": {short(specs)}", file=path)
    if isinstance(specs, _Pairs):
        raise UsageError(f"baseline lists the spec '{short(specs.duplicate, 60, repr_=False)}' twice", file=path)
    for key, entry in specs.items():
        _check_entry(f"baseline entry '{short(key, 60, repr_=False)}'", entry, path)
    return Baseline(path, dict(specs))


def _check_entry(where: str, entry: Any, path: str) -> None:
    """One spec's totals: every BASELINE_METRICS key, each a non-negative integer, and an
    optional name; nothing else (a misspelled total would otherwise pass as unchanged)."""
    if not isinstance(entry, dict):
        raise UsageError(f"{where} is not a mapping of totals", file=path)
    if isinstance(entry, _Pairs):
        raise UsageError(f"{where} has '{short(entry.duplicate, 60, repr_=False)}' twice", file=path)
    for key in entry:
        if key not in ENTRY_KEYS:
            raise UsageError(f"{where}: unknown key '{short(key, 40, repr_=False)}'{did_you_mean(key, ENTRY_KEYS)}; "
                             f"an entry holds {', '.join(ENTRY_KEYS)}", file=path)
    for metric in BASELINE_METRICS:
        value = entry.get(metric, 0)  # a missing total is named below, after the wrong ones
        if type(value) is not int or not 0 <= value < MAX_BASELINE_VALUE:
            raise UsageError(f"{where}: {metric} must be a non-negative integer, got {short(value)}", file=path)
    missing = [metric for metric in BASELINE_METRICS if metric not in entry]
    if missing:
        raise UsageError(f"{where} lacks {', '.join(missing)}, so it cannot be compared; write the baseline again "
                         "with --write-baseline", file=path)
    name = entry.get("name")
    if name is not None and not isinstance(name, str):
        raise UsageError(f"{where}: name must be a string, got {short(name)}", file=path)
