"""Numbers a user writes are read as written, or refused (issue 11, section 5): ASCII digits only
in quantities and expressions, and range messages that name the bound that exists."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

import convcalc
from convcalc.args import integer, number
from convcalc.cli import cli
from convcalc.errors import LayerError
from convcalc.units import parse_quantity


@pytest.mark.parametrize("text", ["５M", "５", "1２", "٣k", "५", "5\u2003M", "²"])
def test_quantities_take_ascii_digits_only(text):
    # str.isdigit, \d and int() accept full-width and other scripts' digits; nobody means them.
    with pytest.raises(ValueError, match="must be a number with an optional unit"):
        parse_quantity(text, "--max-macs")


def test_full_width_digits_on_the_command_line_are_a_usage_error():
    result = CliRunner().invoke(cli, ["check", "3x8x8 | conv 4 k3", "--max-macs", "５M"])
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == ("convcalc: --max-macs must be a number with an optional unit (k, M, G, T, KB, MB, GB, "
                             "KiB, MiB, GiB), got '５M'\n")


def test_full_width_digits_in_a_budget_are_refused():
    from convcalc import check

    spec = convcalc.loads("input: [3, 8, 8]\nlayers: [relu]\nbudget: {macs: ５M}\n", "net.yaml")
    with pytest.raises(convcalc.ConvcalcError, match="must be a number with an optional unit"):
        check.spec_limits(spec)


@pytest.mark.parametrize("convert, value, message", [
    (number(0), -1, "eps must be at least 0, got -1"),
    (number(None, 1), 2.5, "eps must be at most 1, got 2.5"),
    (number(0, 1), 1.5, "eps must be between 0 and 1, got 1.5"),
    (integer(1), 0, "eps must be at least 1, got 0"),
    (integer(0, 3), 4, "eps must be between 0 and 3, got 4"),
])
def test_range_messages_name_only_the_bounds_that_exist(convert, value, message):
    with pytest.raises(LayerError) as caught:
        convert(value, 2, "eps")
    assert str(caught.value) == message


def test_bn_eps_below_zero():
    with pytest.raises(convcalc.ConvcalcError) as caught:
        convcalc.from_text("3x8x8 | bn eps=-1")
    assert str(caught.value) == "<text>:1: layer 'bn1' (bn): eps must be at least 0, got -1"


@pytest.mark.parametrize("segment", ["conv ５ k3", "conv 4 k３", "conv 4 k3 s=２"])
def test_the_text_form_takes_ascii_digits_only(segment):
    with pytest.raises(convcalc.ConvcalcError):
        convcalc.from_text(f"3x8x8 | {segment}")
