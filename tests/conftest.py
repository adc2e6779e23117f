"""Shared helpers: analyze a one-line spec, load a YAML snippet, and hypothesis profiles.

Property tests run `CONVCALC_EXAMPLES` examples each (300 by default, as in CI); set it to
10000 for the local soak run documented in docs/testing.md.
"""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

import convcalc

ROOT = Path(__file__).resolve().parent.parent

# A guard against a hang, never a speed test: a subprocess that should answer in a second gets this
# long before the test gives up on it, so a loaded 2-core machine (CI, a parallel run) cannot fail a
# test that would pass alone. Tests that need to know a bound on work count the work instead.
HANG_GUARD_S = 300

try:
    from hypothesis import HealthCheck, settings

    settings.register_profile(
        "convcalc",
        max_examples=int(os.environ.get("CONVCALC_EXAMPLES", "300")),
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        derandomize=os.environ.get("CONVCALC_RANDOM") is None,
    )
    settings.load_profile("convcalc")
except ImportError:  # pragma: no cover - hypothesis is a test dependency
    pass


def pytest_configure(config: pytest.Config) -> None:
    """CI sets CONVCALC_REQUIRE_TORCH=1: there the agreement tests must run, never skip because
    an install went wrong."""
    if os.environ.get("CONVCALC_REQUIRE_TORCH"):
        import importlib.util

        missing = [m for m in ("torch", "fvcore", "hypothesis", "matplotlib", "onnx", "onnxruntime", "onnxscript")
                   if importlib.util.find_spec(m) is None]
        if missing:
            raise pytest.UsageError(f"CONVCALC_REQUIRE_TORCH is set but {', '.join(missing)} cannot be imported")


def run(text: str, batch: int | None = None) -> convcalc.Report:
    """Analyze a one-line spec."""
    return convcalc.analyze(convcalc.from_text(text), batch)


def yaml_spec(text: str, source: str = "test.yaml") -> convcalc.Spec:
    return convcalc.loads(textwrap.dedent(text), source)


def yaml_report(text: str) -> convcalc.Report:
    return convcalc.analyze(yaml_spec(text))


@pytest.fixture
def plain_terminal(monkeypatch):
    """The command line as a plain pipe sees it, from the repository's root: no colour settings,
    no COLUMNS (files using it say `pytestmark = pytest.mark.usefixtures("plain_terminal")`)."""
    monkeypatch.chdir(ROOT)
    for var in ("NO_COLOR", "FORCE_COLOR", "COLUMNS"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def torch():
    return pytest.importorskip("torch")
