"""convcalc: shapes and costs of convolutional networks from a layer spec, without a model.

The Python API, for notebooks and scripts:

    >>> import convcalc
    >>> spec = convcalc.from_text("3x32x32 | conv 16 k3 p=same | relu | maxpool 2")
    >>> report = convcalc.analyze(spec)
    >>> report.output, report.total.params, report.total.macs
    ((1, 16, 16, 16), 448, 442368)

`load(path)` reads a YAML spec, `loads(text)` a YAML string; `analyze(spec, batch=None)` returns a
frozen `Report` (`report.to_dict()` is the JSON of `convcalc shapes --format json`).
"""

from __future__ import annotations

__version__ = "0.1.0"

from .analysis import analyze
from .errors import ConvcalcError, ShapeError, SpecError
from .report import LayerReport, Report, Totals
from .spec import Spec, from_text, load, loads

__all__ = ["analyze", "load", "loads", "from_text", "Spec", "Report", "LayerReport", "Totals",
           "ConvcalcError", "SpecError", "ShapeError", "__version__"]
