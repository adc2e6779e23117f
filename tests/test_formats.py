"""Every command's output has one shape: a format enum, `RENDERERS` from each member to its
renderer, and `render(result, fmt, ...)` looking it up (docs/architecture.md, "A new output
format"). Each command's `--format` offers exactly its enum's members, and each member has its
renderer; what each renders is checked by the command's own tests and golden files."""

from __future__ import annotations

import importlib

import click
import pytest

from convcalc.cli import COMMANDS

# command -> (its reporter module, the name of its format enum there); report and import have one
# format each (a page of HTML, a YAML spec) and no --format.
REPORTERS = {
    "shapes": ("convcalc.reporters", "Format"),
    "verify": ("convcalc.reporters.verification", "VerifyFormat"),
    "compare": ("convcalc.reporters.comparison", "CompareFormat"),
    "profile": ("convcalc.reporters.profiling", "ProfileFormat"),
    "check": ("convcalc.reporters.checks", "CheckFormat"),
    "draw": ("convcalc.reporters.drawing", "DrawFormat"),
    "sweep": ("convcalc.reporters.sweeps", "SweepFormat"),
    "scale": ("convcalc.reporters.scaling", "ScaleFormat"),
    "explain": ("convcalc.reporters.explanation", "ExplainFormat"),
    "memory": ("convcalc.reporters.training", "MemoryFormat"),
    "predict": ("convcalc.reporters.prediction", "PredictFormat"),
}
# Outputs of an option of a command, in that command's formats (its enum).
ALSO = {
    "convcalc.reporters.library": "shapes",  # shapes --list
    "convcalc.reporters.verification_train": "verify",  # verify --train
}
WITHOUT_FORMAT = {"report", "import"}


def _enum(command: str) -> type:
    module, name = REPORTERS[command]
    return getattr(importlib.import_module(module), name)  # type: ignore[no-any-return]


def test_every_command_with_formats_is_listed():
    assert set(REPORTERS) | WITHOUT_FORMAT == set(COMMANDS)


@pytest.mark.parametrize("module", sorted({m for m, _ in REPORTERS.values()} | set(ALSO)))
def test_every_format_member_has_a_renderer(module):
    reporter = importlib.import_module(module)
    command = ALSO.get(module) or next(c for c, (m, _) in REPORTERS.items() if m == module)
    enum = _enum(command)
    assert set(reporter.RENDERERS) == set(enum), f"{module}: RENDERERS must cover {enum.__name__} exactly"
    for renderers in reporter.RENDERERS.values():  # compare's: one per result (variants, specs)
        assert all(map(callable, renderers if isinstance(renderers, tuple) else (renderers,)))
    assert callable(reporter.render)


@pytest.mark.parametrize("command", sorted(REPORTERS))
def test_the_format_option_offers_the_enum(command):
    module, attr, _ = COMMANDS[command]
    cli_command = getattr(importlib.import_module(module), attr)
    [option] = [p for p in cli_command.params if isinstance(p, click.Option) and "--format" in p.opts]
    assert isinstance(option.type, click.Choice)
    assert list(option.type.choices) == [member.value for member in _enum(command)]


@pytest.mark.parametrize("command", sorted(WITHOUT_FORMAT))
def test_single_format_commands_have_no_format_option(command):
    module, attr, _ = COMMANDS[command]
    cli_command = getattr(importlib.import_module(module), attr)
    assert not [p for p in cli_command.params if "--format" in getattr(p, "opts", ())]
