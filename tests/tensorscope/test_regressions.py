"""tensorscope.analysis.regressions on synthetic series and on real asv result sets."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from asv_builder import ResultsTree, commit_date, commit_hash

from tensorscope.analysis.regressions import Direction, asv_steps, detect_changes, find_steps, improvements, latest_regressions, regressions
from tensorscope.results import load_results


def _noisy(levels: list[float], sigma: float = 0.01, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.asarray(levels) * np.exp(rng.normal(0, sigma, len(levels)))


def test_finds_a_step_at_the_right_commit() -> None:
    y = _noisy([1.0] * 15 + [1.2] * 15)
    steps = find_steps(y)
    assert len(steps) == 1
    assert (steps[0].before, steps[0].after) == (14, 15)
    assert steps[0].ratio == pytest.approx(1.2, rel=0.03)
    assert steps[0].pvalue < 1e-6


def test_no_change_outlier_and_missing_values() -> None:
    assert find_steps(_noisy([1.0] * 30, seed=1)) == []
    y = _noisy([1.0] * 30, seed=2)
    y[12] *= 3.0
    assert find_steps(y) == []
    y = _noisy([1.0] * 10 + [2.0] * 10, seed=3)
    y[[3, 10, 11]] = np.nan  # missing commits: the range spans them
    (step,) = find_steps(y)
    assert (step.before, step.after) == (9, 12)


def test_min_change_filters_small_steps() -> None:
    y = _noisy([1.0] * 15 + [1.03] * 15, sigma=0.001)
    assert len(find_steps(y)) == 1
    assert find_steps(y, min_change=0.05) == []


def test_asv_baseline_sees_big_steps_both_ways() -> None:
    up = asv_steps(_noisy([1.0] * 15 + [1.5] * 15))
    down = asv_steps(_noisy([1.5] * 15 + [1.0] * 15))
    assert [s.after for s in up] == [15] and up[0].ratio > 1
    assert [s.after for s in down] == [15] and down[0].ratio < 1


def test_direction_rules() -> None:
    d = Direction()
    assert d("b.time_x", "seconds", "time") == "lower"
    assert d("b.peakmem_x", "bytes", "peakmemory") == "lower"
    assert d("b.track_bw", "GB/s", "track") == "higher"
    assert d("b.track_flops", "GFLOP/s", "track") == "higher"
    assert d("b.track_count", "unit", "track") == "lower"
    assert Direction(higher_benchmarks=("b.track_count",))("b.track_count", "unit", "track") == "higher"
    assert Direction(rate_units=False)("b.track_bw", "GB/s", "track") == "lower"


def _history(tree: ResultsTree, n: int = 12) -> None:
    tree.add_benchmark("b.time_op", params=[["'numpy'", "'python'"]], param_names=["backend"])
    tree.add_benchmark("b.track_rate", unit="GB/s")
    rng = np.random.default_rng(0)
    for i in range(n):
        slow = 1.5 if i >= 6 else 1.0  # numpy regresses at commit 6
        rate = 10.0 if i < 8 else 20.0  # throughput doubles at commit 8: an improvement
        noise = np.exp(rng.normal(0, 0.005, 3))
        tree.add_run(
            "m",
            commit_hash(i),
            {"b.time_op": [1e-6 * slow * noise[0], 1e-3 * noise[1]], "b.track_rate": [rate * noise[2]]},
            date=commit_date(i),
        )


def test_detect_changes_on_a_tree(results_tree: ResultsTree) -> None:
    _history(results_tree)
    t = load_results(results_tree.root).results
    ch = detect_changes(t)
    reg = ch[ch.kind == "regression"]
    assert len(reg) == 1
    r = reg.iloc[0]
    assert r.benchmark == "b.time_op" and r.params == "backend='numpy'"
    assert (r.commit_before, r.commit_after) == (commit_hash(5), commit_hash(6))
    assert r.ratio == pytest.approx(1.5, rel=0.02) and r.factor == pytest.approx(1.5, rel=0.02)
    assert r.change == pytest.approx(0.5e-6, rel=0.05)
    assert r.confidence > 0.999
    imp = ch[ch.kind == "improvement"].iloc[0]
    assert imp.benchmark == "b.track_rate" and imp.better == "higher" and imp.factor == pytest.approx(0.5, rel=0.02)
    assert len(regressions(t, threshold=0.6)) == 0
    assert len(regressions(t, since=commit_hash(6)[:10])) == 0
    assert len(regressions(t, since=commit_hash(2))) == 1
    assert len(improvements(t)) == 1
    assert len(latest_regressions(t)) == 1
    with pytest.raises(KeyError):
        regressions(t, since="deadbeef")


def test_version_change_is_never_a_step(results_tree: ResultsTree) -> None:
    results_tree.add_benchmark("b.time_x", version="v2")
    for i in range(12):
        results_tree.add_run(
            "m", commit_hash(i), {"b.time_x": [1.0 if i < 6 else 3.0]}, date=commit_date(i), versions={"b.time_x": "v1" if i < 6 else "v2"}
        )
    assert detect_changes(load_results(results_tree.root).results).empty


@pytest.mark.parametrize("name", ["mjwarp-asv", "numpy-bench"])
def test_real_sets_run(shared_sets: Path, name: str) -> None:
    t = load_results(shared_sets / name / "results").results
    if name == "numpy-bench":
        t = t[t.benchmark.astype(str).str.startswith("bench_ufunc")]
    ch = detect_changes(t)
    assert set(ch["kind"]) <= {"regression", "improvement"}
    assert (ch["order_after"] > ch["order_before"]).all()
    assert (ch["pvalue"] < 1e-3).all()


def test_uncertain_step_position_is_reported_as_a_range() -> None:
    # a 10% step under 4% noise: the position is uncertain by a few commits; the range says so
    found = hits = widths = 0
    for seed in range(40):
        y = _noisy([1.0] * 20 + [1.1] * 20, sigma=0.04, seed=seed)
        for s in find_steps(y):
            found += 1
            widths += s.after - s.before
            hits += s.before <= 19 and s.after >= 20 and s.ratio > 1
    assert found >= 25 and hits == found and widths / found > 2.0
    # a clear step keeps its exact commit
    (step,) = find_steps(_noisy([1.0] * 20 + [1.5] * 20, sigma=0.01))
    assert (step.before, step.after) == (19, 20)


def test_false_alarm_rate_on_no_change_series() -> None:
    # 400 flat series of 40 commits at 3% noise, normal and heavy-tailed: alpha=1e-3 per series, well under 1%
    rng = np.random.default_rng(5)
    alarms = 0
    for i in range(400):
        noise = rng.normal(0, 0.03, 40) if i % 2 else rng.standard_t(3, 40) * 0.02
        alarms += bool(find_steps(np.exp(noise)))
    assert alarms <= 4


def test_wide_cis_do_not_hide_a_clear_step_in_a_long_series() -> None:
    # 99% CIs of a median from a few heavy-tailed samples span far more than the commits
    # actually move; a long series is judged on its own spread, a short one is held to its CIs
    y = _noisy([1.0] * 20 + [1.2] * 20, sigma=0.01, seed=7)
    wide_a, wide_b = y * 0.4, y * 1.6
    (step,) = find_steps(y, ci_a=wide_a, ci_b=wide_b)
    assert (step.before, step.after) == (19, 20)
    short = _noisy([1.0] * 3 + [1.2] * 3, sigma=0.01, seed=7)
    assert find_steps(short, ci_a=short * 0.4, ci_b=short * 1.6) == []
    assert len(find_steps(short)) == 1  # without CIs the same six points are a step
