"""Grading methods, one module each, registered by the policy's ``method`` name.

Every module exposes ``compile(dim, spec, ctx) -> list[ColumnDef]``: the columns of one
dimension (label, score, next label, gap, explanation and internal helpers).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fenji.engine.context import ColumnDef, CompileContext
from fenji.engine.methods import bands, clusters, matrix, pareto, rfm, rules, scorecard, stars

Compiler = Callable[[str, Any, CompileContext], list[ColumnDef]]

METHODS: dict[str, Compiler] = {
    "bands": bands.compile,
    "rules": rules.compile,
    "scorecard": scorecard.compile,
    "rfm": rfm.compile,
    "stars": stars.compile,
    "matrix": matrix.compile,
    "pareto": pareto.compile,
    "clusters": clusters.compile,
}


def compile_dimension(dim: str, spec: Any, ctx: CompileContext) -> list[ColumnDef]:
    """Columns of dimension ``dim`` by its method."""
    try:
        compiler = METHODS[spec.method]
    except KeyError:
        from fenji.engine.dialects import UnsupportedFeature

        raise UnsupportedFeature(f"grading method '{spec.method}' is not available") from None
    return compiler(dim, spec, ctx)
