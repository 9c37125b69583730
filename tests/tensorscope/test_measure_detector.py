"""scripts/measure_detector.py: the between-run noise measured on runs of the same code."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest
from asv_builder import ResultsTree, commit_date, commit_hash

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
import measure_detector  # a script, not a package

_CI = 0.04  # the builder's samples: v * (1 + ci * k / 4), k = -2..2


def _two_runs(tree: ResultsTree, ratio: float, seed: int = 3) -> None:
    """Two runs of 400 cells whose values differ by ``ratio`` x the spread their samples predict."""
    sizes = [str(i) for i in range(200)]
    tree.add_benchmark("b.B.time_op", params=[["'numpy'", "'numba'"], sizes], param_names=["backend", "size"])
    tree.add_machine("box")
    rng = np.random.default_rng(seed)
    # the builder's five samples: IQR of log values ci/2, so a run median's spread is
    within = 1.2533 * (_CI / 2 / 1.349) / math.sqrt(5)
    base = rng.uniform(1e-5, 1e-3, 400)
    for i in range(2):
        # each run's median: its own samples' spread plus a between-run part ratio x that
        values = base * np.exp(rng.normal(0.0, math.hypot(1.0, ratio) * within, 400))
        tree.add_run("box", commit_hash(i), date=commit_date(i), ci=_CI, results={"b.B.time_op": values.tolist()})


@pytest.mark.parametrize("ratio", [0.0, 3.0])
def test_same_code_ratio_recovers_the_between_run_spread(results_tree: ResultsTree, ratio: float) -> None:
    _two_runs(results_tree, ratio)
    ratios, pairs = measure_detector.same_code_ratios([results_tree.root], [commit_hash(0)[:7], commit_hash(1)[:7]])
    assert pairs["all"] == 400 and pairs["numpy"] == 200 and pairs["numba"] == 200
    # runs that vary only as their samples predict give about 0; a 3x between-run part is found within 20%
    assert ratios["all"] == pytest.approx(ratio, abs=0.6)
    assert ratios["numpy"] == pytest.approx(ratio, abs=0.8)


def test_same_code_ratio_needs_two_of_the_commits(results_tree: ResultsTree) -> None:
    _two_runs(results_tree, 1.0)
    ratios, pairs = measure_detector.same_code_ratios([results_tree.root], [commit_hash(0)[:7], "fffffff"])
    assert ratios == {} and pairs == {}
