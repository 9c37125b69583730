"""scripts/measure_detector.py --scenarios: the nightly scenario and how the scenarios are scored.

The nightly history is checked on its own terms (one run a day in commit order, two machine-wide
shifts at run boundaries that move every series alike, code steps at and beside them); the scorer
is checked with stand-in analyses: one that reports exactly what was planted scores perfectly, one
that blames every shift on each series' code is caught as such.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tensorscope.analysis import regressions

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
import measure_detector  # a script, not a package

QUIET = [measure_detector.Noise(None, 1e-6, 10, 0.0)]  # next to no noise: the planted levels themselves


def _nightly(seed: int = 5) -> measure_detector.Scenario:
    return measure_detector.build_scenario("nightly", np.random.default_rng(seed), QUIET, 400, 40)


def test_nightly_runs_every_commit_once_in_order_with_two_machine_wide_shifts() -> None:
    sc = _nightly()
    assert "nightly" in measure_detector.SCENARIOS
    assert len(sc.env_runs) == 2 and all(len(runs) == 2 and runs[0] + 4 <= runs[1] for runs in sc.env_runs.values())
    t = sc.table
    for _, g in t.groupby("series", observed=True):
        assert list(g["commit_order"]) == list(range(40))  # every commit once
        days = g.sort_values("commit_order")["started_at"].diff().dt.total_seconds().dropna() / 86400
        assert ((days > 0.5) & (days < 1.5)).all()  # one run a day, in commit order
    flat = {tr.series for tr in sc.truth if tr.kind == "flat"}
    for machine, runs in sc.env_runs.items():
        mine = t[(t["machine"] == machine) & t["series"].isin(flat)]
        wide = np.log(mine.pivot_table(index="series", columns="commit_order", values="value", observed=True))
        for k in runs:
            moved = (wide[k] - wide[k - 1]).to_numpy()
            # every series by a similar factor of 5-20%
            assert math.log(1.04) < abs(float(np.median(moved))) < math.log(1.21)
            assert float(np.std(moved)) < 0.04
    near = [tr for tr in sc.truth if tr.kind == "step" and any(abs(tr.at - k) <= 1 for k in tr.boundaries())]
    assert len(near) >= 10  # code steps at a shift or beside it


class _Stand:
    """A stand-in for the analysis' verdicts."""

    def __init__(self, steps: list[dict[str, Any]], shifts: list[dict[str, Any]]) -> None:
        self.steps = pd.DataFrame(steps, columns=["series", "order_before", "order_after", "ratio"])
        self.environment_shifts = pd.DataFrame(shifts, columns=["machine", "commit_after"])
        self.unstable = pd.DataFrame({"series": []})

    def in_effect(self, threshold: float) -> pd.DataFrame:
        return pd.DataFrame({"series": [], "kind": []})


def _score(sc: measure_detector.Scenario, stand: _Stand, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setattr(regressions, "analyse", lambda *a, **k: stand)
    return measure_detector.score_scenario(sc)


def test_an_analysis_that_reports_what_was_planted_scores_perfectly(monkeypatch: pytest.MonkeyPatch) -> None:
    sc = _nightly()
    steps = [
        {"series": tr.series, "order_before": tr.at - 1, "order_after": tr.at, "ratio": (1 + tr.size) ** (1 if tr.up else -1)}
        for tr in sc.truth
        if tr.kind == "step"
    ]
    shifts = [{"machine": m, "commit_after": f"{k:040x}"} for m, runs in sc.env_runs.items() for k in runs]
    r = _score(sc, _Stand(steps, shifts), monkeypatch)
    assert all(found[0] == found[2] > 0 for found in r.found.values())  # every code step, at a shift or not
    assert r.at_env[0] == r.at_env[1] > 0
    assert r.false_steps[0] == 0 and r.moved[0] == 0 and r.moved[2] > 0
    assert r.shifts == [4, 4]


def test_an_analysis_that_blames_shifts_on_code_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    sc = _nightly()
    steps = [
        {"series": tr.series, "order_before": k - 1, "order_after": k, "ratio": 1.1}
        for tr in sc.truth
        if tr.kind in ("flat", "step")
        for k in tr.boundaries()
    ]
    r = _score(sc, _Stand(steps, []), monkeypatch)
    assert r.moved[0] == r.moved[2] > 0  # every moved series without a step of its own blamed on code
    assert r.false_steps[0] == 0  # (nothing away from the shifts)
    assert r.shifts[0] == 0
    assert sum(found[0] for found in r.found.values()) == r.at_env[0] <= r.at_env[1]  # no code step away from a shift found
