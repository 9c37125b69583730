"""scripts/label_steps.py: candidate true steps from the raw series, and any series' step at any commit.

A small generated history: twenty cells of one benchmark over twelve commits, one of which doubles
at commit 6 after two commits 1% above its old level (so the first clean window of four points is
found two commits early, at commit 4, as ``../shared/tools/clean_steps.py`` finds it).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from asv_builder import ResultsTree, commit_date, commit_hash

from tensorscope.results import load_results

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
import label_steps  # a script, not a package

STEPPED = "size=7"


def _history(tree: ResultsTree) -> None:
    tree.add_benchmark("b.B.time_op", params=[[str(i) for i in range(20)]], param_names=["size"])
    tree.add_machine("box")
    for c in range(12):
        values = [1e-3 * (1 + i) * (1 + 0.001 * ((c * 7 + i) % 3)) for i in range(20)]
        values[7] = 8e-3 * (1.0 if c < 4 else 1.01 if c < 6 else 2.0)
        tree.add_run("box", commit_hash(c), date=commit_date(c), results={"b.B.time_op": values})


def test_clean_steps_finds_the_step_where_the_level_changes(results_tree: ResultsTree) -> None:
    _history(results_tree)
    t = load_results(results_tree.root).results
    found = label_steps.clean_steps(t, k=4, ratio=1.3)
    assert len(found) == 1
    step = found.iloc[0]
    assert step["params"] == STEPPED
    assert step["commit_before"] == commit_hash(5) and step["commit_after"] == commit_hash(6)
    assert step["ratio"] == pytest.approx(2.0 / 1.01, rel=0.01)
    # the flat cells' 0.2% wobble is no step at a lower ratio either
    assert set(label_steps.clean_steps(t, k=4, ratio=1.05)["params"]) == {STEPPED}


def test_step_at_any_commit_and_its_record(results_tree: ResultsTree) -> None:
    _history(results_tree)
    t = load_results(results_tree.root).results
    series = str(t[t["params"].astype(str) == STEPPED]["series"].iloc[0])
    step = label_steps.step_at(t, series, commit_hash(6)[:8])
    assert step["order_before"] == 5 and step["order_after"] == 6
    assert step["value_before"] == pytest.approx(8.04e-3, rel=0.01) and step["value_after"] == pytest.approx(16e-3)
    record = label_steps.true_step_record("tiny", step)
    assert record["commit_after"] == commit_hash(6) and record["params"] == STEPPED and record["label"] == ""
    with pytest.raises(KeyError):
        label_steps.step_at(t, series, commit_hash(0)[:8])  # no point before the first
    # the evidence for any series and commit, without the detector's verdict
    lines = label_steps.evidence(t, step, None)
    assert any("|6:" in line for line in lines) and not any("detector" in line for line in lines)
