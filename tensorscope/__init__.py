"""tensorscope: read and analyse asv results of tensor backends (the library), and its CLI.

The library never imports Streamlit; ``dashboard/`` is the app built on it.

Public surface (``__all__``; imported lazily, so ``tensorscope --help`` stays fast):

* :func:`load_results` / :class:`ResultSet` / :class:`Problem` - any asv results directory
  -> one tidy table (:mod:`tensorscope.results` documents the columns);
* :mod:`tensorscope.analysis` - ``regressions``, ``speedups``, ``roofline``, ``machines``;
* :func:`format_value` - a value with its asv unit as text (``1.2 ms``).

>>> import tensorscope
>>> rs = tensorscope.load_results("results")                     # doctest: +SKIP
>>> tensorscope.analysis.regressions.detect_changes(rs.table)      # doctest: +SKIP
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tensorscope import analysis, results
    from tensorscope.results import Problem, ResultSet, load_results
    from tensorscope.units import format_value

__all__ = ["Problem", "ResultSet", "analysis", "format_value", "load_results", "results"]

_LAZY = {
    "load_results": "tensorscope.results",
    "ResultSet": "tensorscope.results",
    "Problem": "tensorscope.results",
    "format_value": "tensorscope.units",
}


def __getattr__(name: str) -> Any:
    if name in ("analysis", "results"):
        return importlib.import_module(f"tensorscope.{name}")
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'tensorscope' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
