"""Comparisons (`convcalc compare`): variants of one convolution side by side, and one spec
against another.

    variants.py   the variant catalogue: each variant makes layers from the shared settings
                  (`ConvSetup`), which are analyzed like any spec; ratios to the first one named
    specs.py      two reports side by side: totals with their differences, the layers that differ

Both return frozen records with `to_dict()` (the JSON documented in docs/compare.md) that
reporters/comparison.py renders without computing. Command-line values are parsed and checked
in convcalc/cli/compare.py; the functions here take typed values.
"""

from __future__ import annotations

from .specs import TOTAL_METRICS, Difference, LayerChange, SpecComparison, compare_specs
from .variants import (MAX_STACK, VARIANTS, ClosedForm, Layer, NotApplicable, ConvSetup, Stage, Variant, VariantComparison,
                       VariantRow, analyze_variant, compare_variants, describe, stack_depth)

__all__ = ["TOTAL_METRICS", "Difference", "LayerChange", "SpecComparison", "compare_specs", "MAX_STACK", "VARIANTS",
           "ClosedForm", "Layer", "NotApplicable", "ConvSetup", "Stage", "Variant", "VariantComparison", "VariantRow",
           "analyze_variant", "compare_variants", "describe", "stack_depth"]

from ..api import callable_module  # noqa: E402  (convcalc.compare(...) is api.compare: this module is callable)

callable_module(__name__)
