"""convcalc: shapes and costs of convolutional networks from a layer spec, without a model.

The Python API, for notebooks and scripts:

    >>> import convcalc
    >>> spec = convcalc.from_text("3x32x32 | conv 16 k3 p=same | relu | maxpool 2")
    >>> report = convcalc.analyze(spec)
    >>> report.output, report.total.params, report.total.macs
    ((1, 16, 16, 16), 448, 442368)

`analyze(x, input=..., batch=...)` takes what you have: an `nn.Module`, an ONNX path,
`onnx.ModelProto` or bytes, a `Spec`, a YAML path or text, a one-line spec, a library name or a
SOURCE, and returns the frozen `Report` (`report.to_dict()` is `convcalc shapes --format json`).
`memory`, `explain`, `compare`, `check`, `verify`, `profile`, `sweep`, `scale`, `draw`,
`report` are the commands of those names, `to_yaml` is `convcalc import`; `summary` is
torchinfo's call. In a notebook the results display as HTML tables. docs/api.md has them all.
`load(path)` reads a YAML spec (or ultralytics' model YAML), `loads(text)` a YAML string, `from_text(line)` the one-line form.
"""

from __future__ import annotations

__version__ = "0.1.0"

from .api import Page, analyze, draw, memory, spec_of, summary, to_yaml
from .errors import ConvcalcError, ShapeError, SpecError, UsageError
from .report import LayerReport, Report, Totals, TrainingReport
from .sources import load, loads  # a spec, or ultralytics' model YAML, as the CLI reads them
from .spec import Spec, from_text

__all__ = ["analyze", "memory", "explain", "compare", "check", "verify", "profile", "sweep", "scale", "draw",
           "report", "to_yaml", "summary", "spec_of", "Page",
           "load", "loads", "from_text", "Spec", "Report", "LayerReport", "Totals", "TrainingReport",
           "ConvcalcError", "SpecError", "ShapeError", "UsageError", "__version__"]


def __getattr__(name: str) -> object:
    """convcalc.explain, .compare, .check, .verify, .profile, .sweep and .scale: the modules of
    those commands, each callable as its function (api.COMMANDS), imported when first used so that
    `import convcalc` stays light (convcalc.report is imported with the package). verify and
    profile import torch: without it, the attribute is api's function, whose call says what to
    install."""
    from . import api

    if name in api.COMMANDS:
        import importlib

        try:
            return importlib.import_module(f".{name}", __name__)
        except ModuleNotFoundError as exc:
            if exc.name not in ("torch", "fvcore"):
                raise
            return getattr(api, name)
    raise AttributeError(f"module 'convcalc' has no attribute {name!r}")
