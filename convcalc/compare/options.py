"""The options of `convcalc compare` as typed values, checked: a variant's settings (`make_setup`,
each message naming its flag as the command line writes it) and the batches of two specs
(`spec_batches`). The command (cli/compare.py) and the Python API (api.compare) both call these.
"""

from __future__ import annotations

from typing import Any

from .. import limits
from ..errors import ConvcalcError, UsageError
from ..suggest import did_you_mean
from ..spec import DTYPE_BYTES, parse_input
from .variants import ConvSetup

PAD_WORDS = ("valid", "same", "full")
FLAGS = {"out": "--out", "k": "-k", "s": "-s", "p": "-p", "d": "-d", "groups": "--groups", "width": "--width",
         "batch": "--batch"}


def parse_padding(p: str | int | None) -> str | int | None:
    """-p as written: a padding word or ASCII digits (None: not given)."""
    if p is None or type(p) is int:
        return p
    word = str(p).strip().lower()
    if word in PAD_WORDS:
        return word
    if word.isascii() and word.isdigit():  # str.isdigit alone takes '²', which int() refuses
        return int(word)
    raise UsageError(f"-p must be valid, same, full or a non-negative integer, got '{p}'{did_you_mean(word, PAD_WORDS)}")


def make_setup(input: str | None, out: int | None, k: int | None = None, s: int | None = None,
               p: str | int | None = None, d: int | None = None, groups: int | None = None, width: int | None = None,
               batch: int | None = None, dtype: str | None = None, bias: bool | None = None) -> ConvSetup:
    """A ConvSetup from command-line values (None: the default); UsageError names a wrong one."""
    if input is None or out is None:
        raise UsageError("variants need --input (channels first, e.g. 3x7x7) and --out (output channels)")
    try:
        shape = parse_input(input, "--input", None)
    except ConvcalcError as exc:
        raise UsageError(f"--input: {exc.message}") from None
    if len(shape) < 2:
        raise UsageError(f"--input {input} has no spatial axis: give channels first, then 1 to 3 sizes (3x7x7)")
    given = {"k": k, "s": s, "p": parse_padding(p), "d": d, "groups": groups, "width": width, "batch": batch,
             "dtype": dtype, "bias": bias}
    for name, value in (("out", out), *((name, given[name]) for name in ("k", "s", "p", "d", "groups", "width", "batch"))):
        if type(value) is not int:
            continue
        if not (0 if name == "p" else 1) <= value <= limits.MAX_SIZE:
            raise UsageError(f"{FLAGS[name]} must be between {0 if name == 'p' else 1} and {limits.MAX_SIZE} (2^48), "
                             f"got {value}")
    if dtype is not None and dtype not in DTYPE_BYTES:
        raise UsageError(f"--dtype must be one of {', '.join(DTYPE_BYTES)}, got '{dtype}'{did_you_mean(dtype, DTYPE_BYTES)}")
    settings: dict[str, Any] = {name: value for name, value in given.items() if value is not None}
    return ConvSetup(shape, out, **settings)


def spec_batches(count: int, batches: tuple[int, ...]) -> tuple[int | None, int | None, bool]:
    """(batch of a, batch of b, whether the one spec is compared with itself) from --batch values."""
    if count == 1:
        if len(batches) == 1:
            return None, batches[0], True
        if len(batches) == 2:
            return batches[0], batches[1], True
        raise UsageError("one spec compares with itself at another batch: give --batch N "
                         "(or --batch A --batch B); to compare two specs, give both")
    if count != 2:
        raise UsageError(f"compare takes two specs (the first is the baseline), got {count}")
    if len(batches) > 2:
        raise UsageError(f"--batch is given {len(batches)} times; give it once (both specs) or twice (one per spec)")
    if len(batches) == 2:
        return batches[0], batches[1], False
    return (batches[0], batches[0], False) if batches else (None, None, False)
