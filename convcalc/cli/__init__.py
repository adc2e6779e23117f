"""The `convcalc` command: a click group whose subcommands live one per module.

Subcommand modules are imported only when their command runs (a lazy group), so `convcalc
shapes` never pays for verify's or profile's imports. A `ConvcalcError` from any command is
printed once, as one line on stderr, with exit code 2, and so is a click usage error (an unknown
option, a value of the wrong type); anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import errno
import importlib
import io
import os
import signal
import sys
from typing import Any

import click

from .. import __version__
from ..errors import ConvcalcError

COMMANDS = {
    "shapes": ("convcalc.cli.shapes", "shapes", "Output shape, params, MACs, FLOPs and receptive field per layer."),
    "verify": ("convcalc.cli.verify", "verify", "Cross-check every layer against PyTorch, fvcore and FlopCounterMode."),
    "compare": ("convcalc.cli.compare", "compare", "Compare convolution variants, or one spec against another."),
    "profile": ("convcalc.cli.profile", "profile", "Time every layer on CPU or CUDA and place it on the roofline."),
    "check": ("convcalc.cli.check", "check", "Check specs against budgets and baselines, for CI."),
    "draw": ("convcalc.cli.draw", "draw", "Draw the network: SVG, self-contained HTML, Graphviz DOT or Mermaid."),
    "report": ("convcalc.cli.report", "report", "One self-contained HTML page: summary, graph, table and plots."),
    "sweep": ("convcalc.cli.sweep", "sweep", "One spec at many inputs, batches and arguments; how its costs grow."),
    "scale": ("convcalc.cli.scale", "scale", "EfficientNet's compound scaling of a parametric spec, measured."),
    "explain": ("convcalc.cli.explain", "explain", "Every number of a layer with its derivation; --draw pictures it."),
    "import": ("convcalc.cli.import_", "import_", "Write a spec from a PyTorch model or an ONNX file."),
    "memory": ("convcalc.cli.memory", "memory", "Training memory and FLOPs, and the largest batch that fits."),
    "predict": ("convcalc.cli.predict", "predict", "Latency on a catalogue device, on the plain roofline (uncalibrated)."),
}


class UserError(click.ClickException):
    """A ConvcalcError on its way out: one line on stderr, exit code 2."""

    exit_code = 2

    def show(self, file: Any = None) -> None:
        click.echo(f"convcalc: {self.message}", err=True)


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        module, attr, _ = COMMANDS[name]
        return getattr(importlib.import_module(module), attr)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # Help lists the commands without importing them.
        with formatter.section("Commands"):
            formatter.write_dl([(name, help_) for name, (_, _, help_) in COMMANDS.items()])

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ConvcalcError as exc:
            raise UserError(str(exc)) from None
        except click.UsageError as exc:
            # click's own option errors ("Invalid value for '--batch'") in one line too, with a
            # pointer to the command's help instead of the usage block.
            command = exc.ctx.command_path if exc.ctx is not None else "convcalc"
            raise UserError(f"{exc.format_message().rstrip('.')} (see '{command} --help')") from None


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="convcalc")
def cli() -> None:
    """Shapes, parameters, MACs, FLOPs, memory and receptive fields of convolutional networks,
    from a YAML layer spec or a one-line text spec, without building a model.

    Exit codes: 0 success, 1 a check or comparison failed, 2 bad input or usage."""


def main() -> None:
    """The console entry point: exit codes 0, 1 and 2 as documented, 130 when interrupted (as
    shells and CI systems expect of SIGINT), and one line, never a traceback, when the report
    cannot be written (a full disk, a closed pipe)."""
    signal.signal(signal.SIGINT, _interrupted)  # past click, which would print a blank line and exit 1
    if sys.stdout is None:  # started with stdout closed (`>&-`): writing the report is what fails
        sys.stdout = _ClosedStdout()
    try:
        try:
            code = cli.main(prog_name="convcalc", standalone_mode=False)
        except click.ClickException as exc:
            exc.show()
            code = exc.exit_code
        sys.stdout.flush()
    except (Interrupted, KeyboardInterrupt):
        _quiet_stdout()
        click.echo("convcalc: interrupted", err=True)
        sys.exit(130)
    except BrokenPipeError:
        # The reader went away (`convcalc shapes ... | head`): stop quietly, as Unix tools do.
        _quiet_stdout()
        sys.exit(1)
    except OSError as exc:
        if exc.filename is not None:
            raise  # not the report's stream: a bug, keep its traceback
        _quiet_stdout()
        click.echo(f"convcalc: cannot write the report: {exc.strerror or exc}", err=True)
        sys.exit(2)
    sys.exit(code if isinstance(code, int) else 0)


class _ClosedStdout(io.TextIOBase):
    """Standard output when the process started without one: writing to it is an OSError (as
    writing to a closed descriptor is), which main reports in one line; flushing it is nothing."""

    encoding = "utf-8"
    errors = "strict"

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        raise OSError(errno.EBADF, "standard output is closed")


class Interrupted(BaseException):
    """SIGINT, raised as something click does not catch."""


def _interrupted(signum: int, frame: Any) -> None:
    raise Interrupted


def _quiet_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush cannot fail a second time."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass
