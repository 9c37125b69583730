"""Re-measurement that noise cannot fool: ``tensorscope compare``, ``confirm`` and ``bisect``.

Old and new code run interleaved, in fresh processes, in randomized balanced order, on the same
machine in the same minutes (by default in lockstep: both processes of a pair alive at once,
taking turns on one CPU, one sample each), with pairs added only where the answer is still open (Chromium's
Pinpoint; randomized multiple interleaved trials, Abedi & Brecht 2017; duet benchmarking,
Bulej et al. 2020). Any asv project works: the commits are installed in asv's environments and
each measurement is asv's runner timing one cell.

Modules (the CLI commands are the modules with ``add_arguments``/``main``):

=============  ==========================================================================
runner         :class:`Project`: asv configuration, two environment slots, discovery, one fresh process per measurement
_child         the wrapper each measured process starts in (controls, lockstep turns, then asv's runner)
lockstep       :class:`~.lockstep.Broker`: hands the turn between a pair's two processes, pairs their samples by round
conditions     :class:`Controls` applied to every process; uncontrolled conditions recorded
design         :class:`Plan`, randomized balanced AB/BA order, adaptive escalation (:func:`measure_cells`)
stats          Hodges-Lehmann estimate of paired log-ratios, exact signed-rank interval, verdicts
model          :class:`Cell`, :class:`Measurement`, :class:`CellOutcome`, :class:`Comparison`
report         table, JSON and Markdown output
asv_write      timings written as asv results (API version 2)
compare        ``tensorscope compare A B``
bisect         ``tensorscope bisect GOOD BAD --bench CELL``
confirm        ``tensorscope confirm [RESULTS_DIR]``; :func:`load_confirmations` for the dashboard
=============  ==========================================================================
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .confirm import CONFIRMATION_COLUMNS, load_confirmations
    from .design import Plan, balanced_orders, measure_cells
    from .model import Cell, CellOutcome, Comparison, Measurement
    from .stats import Interval, hodges_lehmann, verdict

# imported on first use, so ``tensorscope compare --help`` does not pay for pandas
_LAZY = {
    "CONFIRMATION_COLUMNS": "confirm",
    "load_confirmations": "confirm",
    "Plan": "design",
    "balanced_orders": "design",
    "measure_cells": "design",
    "Cell": "model",
    "CellOutcome": "model",
    "Comparison": "model",
    "Measurement": "model",
    "Interval": "stats",
    "hodges_lehmann": "stats",
    "verdict": "stats",
}
__all__ = [
    "CONFIRMATION_COLUMNS",
    "Cell",
    "CellOutcome",
    "Comparison",
    "Interval",
    "Measurement",
    "Plan",
    "balanced_orders",
    "hodges_lehmann",
    "load_confirmations",
    "measure_cells",
    "verdict",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
