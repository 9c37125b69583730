"""bisect: the binary search over adaptive comparisons finds the slow commit in at most 1 + ceil(log2 n) steps."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest

from tensorscope.remeasure.bisect import bisect_commits, format_table, pick_cell, to_json
from tensorscope.remeasure.design import Plan, measure_cells
from tensorscope.remeasure.model import Cell, CellOutcome, Measurement

CELL = Cell("bench.time_op", 0, ("1000",), ("size",))


def fake_compare(
    levels: list[float], sigma: float, seed: int, plan: Plan
) -> tuple[Callable[[str, str], CellOutcome], list[tuple[str, str]]]:
    """``compare(old, new)`` measuring commit ``c<i>`` at ``levels[i]`` with log-normal process noise."""
    rng = np.random.default_rng(seed)
    calls: list[tuple[str, str]] = []

    def compare(old: str, new: str) -> CellOutcome:
        calls.append((old, new))
        lo, hi = levels[int(old[1:])], levels[int(new[1:])]

        def pair(cell: Cell, order: str) -> tuple[Measurement, Measurement]:
            return Measurement("ok", lo * math.exp(rng.normal(0, sigma))), Measurement("ok", hi * math.exp(rng.normal(0, sigma)))

        return measure_cells([CELL], pair, plan)[0]

    return compare, calls


@pytest.mark.parametrize("slow_at", [1, 7, 16, 30, 31])
def test_finds_the_slow_commit_in_log2_steps(slow_at: int) -> None:
    commits = [f"c{i}" for i in range(32)]  # GOOD = c0, BAD = c31
    levels = [1.0 if i < slow_at else 1.10 for i in range(32)]
    compare, calls = fake_compare(levels, 0.02, seed=slow_at, plan=Plan(seed=slow_at))
    result = bisect_commits(commits, compare, subject=lambda c: f"commit {c}")
    assert result.first_bad == f"c{slow_at}"
    assert result.subject == f"commit c{slow_at}"
    assert result.comparisons == len(calls) <= 1 + math.ceil(math.log2(31))  # 6 for 32 commits
    assert calls[0] == ("c0", "c31")  # first: is there anything to find?
    assert all(step.by == "verdict" for step in result.steps)
    text = format_table(result)
    assert f"first slow commit: c{slow_at} 'commit c{slow_at}'" in text
    doc = to_json(result)
    assert doc["first_bad"] == f"c{slow_at}" and len(doc["steps"]) == len(result.steps)
    assert all("verdict" in step["evidence"] for step in doc["steps"])


def test_nothing_to_find_when_bad_is_not_slower() -> None:
    compare, calls = fake_compare([1.0] * 8, 0.01, seed=1, plan=Plan(seed=1))
    result = bisect_commits([f"c{i}" for i in range(8)], compare)
    assert result.first_bad is None and "not slower" in result.reason
    assert len(calls) == 1


def test_an_undecided_step_goes_by_its_estimate() -> None:
    # a step of 30% between c4 and c5, measured with so much noise that a 4-pair cap cannot decide
    levels = [1.0] * 5 + [1.3] * 4
    plan = Plan(start_pairs=4, max_pairs=4, confidence=0.8, seed=3)
    compare, _ = fake_compare(levels, 0.6, seed=3, plan=plan)
    check = Plan(start_pairs=40, max_pairs=40, confidence=0.8, seed=3)
    first, _ = fake_compare(levels, 0.05, seed=3, plan=check)
    calls = iter([first] + [compare] * 10)
    result = bisect_commits([f"c{i}" for i in range(9)], lambda a, b: next(calls)(a, b))
    assert result.check.verdict == "slower"
    assert any(step.by == "estimate" for step in result.steps)
    assert "by its estimate" in format_table(result)


def test_pick_cell_takes_a_name_or_a_regex_matching_one() -> None:
    cells = [Cell("b.time_op", i, (repr(s),), ("size",)) for i, s in enumerate((10, 100, 1000))]
    assert pick_cell(cells, "b.time_op(100)").index == 1  # the exact name, parentheses and all
    assert pick_cell(cells, r"time_op\(1000").index == 2
    with pytest.raises(ValueError, match="matches 3 cells"):
        pick_cell(cells, "time_op")
    with pytest.raises(ValueError, match="no benchmark cell matches"):
        pick_cell(cells, "time_nothing")
