"""`ruff check` and `mypy` pass as pyproject.toml configures them ([tool.ruff], [tool.mypy]: the
rules chosen, each ignore with its reason, the modules mypy does not hold yet). Each runs when it
is installed (the `test` extra installs both) and is skipped, saying so, when it is not."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _run(tool: str, *args: str) -> subprocess.CompletedProcess[str]:
    if importlib.util.find_spec(tool) is None:
        pytest.skip(f"{tool} is not installed (pip install -e '.[test]' installs it)")
    return subprocess.run([sys.executable, "-m", tool, *args], cwd=ROOT, capture_output=True, text=True)


def test_ruff_check_passes():
    done = _run("ruff", "check", "--no-fix", "--output-format", "concise", ".")
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.slow  # a cold mypy run over the package takes half a minute
def test_mypy_passes():
    done = _run("mypy")  # files, scope and overrides from [tool.mypy]
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Success" in done.stdout


def test_the_lint_configuration_keeps_its_minimum():
    """The rule set stays worth running: pycodestyle's E4, E7, E9, pyflakes and bugbear, and every
    ignored rule is one this file's reviewers agreed to (docs/testing.md)."""
    tomllib = pytest.importorskip("tomllib", reason="tomllib is Python 3.11's")
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    lint = config["tool"]["ruff"]["lint"]
    assert {"E4", "E7", "E9", "F", "B"} <= set(lint["select"])
    assert set(lint.get("ignore", [])) <= {"B905"}
    assert set(config["tool"]["mypy"]["files"]) == {"convcalc"}
