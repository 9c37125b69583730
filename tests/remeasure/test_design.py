"""design: randomized balanced order and adaptive escalation, on a fake pair function (no processes)."""

from __future__ import annotations

import math
import random
from collections import Counter

import pytest
from fakes import FakePairs

from tensorscope.remeasure.design import Plan, balanced_orders, measure_cells
from tensorscope.remeasure.model import Cell, Measurement


@pytest.mark.parametrize("n", [0, 1, 2, 7, 10, 21])
def test_orders_are_balanced(n: int) -> None:
    orders = balanced_orders(n, random.Random(n))
    counts = Counter(orders)
    assert len(orders) == n
    assert abs(counts["AB"] - counts["BA"]) <= n % 2


def test_orders_are_randomized() -> None:
    seen = {tuple(balanced_orders(10, random.Random(seed))) for seed in range(20)}
    assert len(seen) > 15  # 252 balanced sequences of 10; a fixed pattern would give one


def test_every_stage_of_every_cell_is_balanced() -> None:
    cells = [Cell("clear"), Cell("borderline"), Cell("noisy")]
    pairs = FakePairs({"clear": 2.0, "borderline": 1.05, "noisy": 1.0}, {"clear": 0.01, "borderline": 0.05, "noisy": 0.3}, seed=1)
    outcomes = measure_cells(cells, pairs, Plan(seed=3))
    stages = Plan().stages()
    assert stages == [10, 20, 40, 80]
    for outcome in outcomes:
        done = 0
        for target in stages:
            block = outcome.orders[done:target]
            if not block:
                break
            assert Counter(block)["AB"] == Counter(block)["BA"] == len(block) // 2
            done = target
    # the calls are cell by cell: within a stage one cell's pairs are contiguous
    first_stage = pairs.calls[:30]
    assert [c for c, _ in first_stage] == ["clear"] * 10 + ["borderline"] * 10 + ["noisy"] * 10


def test_pairs_are_added_only_to_open_cells() -> None:
    cells = [Cell("big"), Cell("none"), Cell("small")]
    pairs = FakePairs({"big": 1.5, "none": 1.0, "small": 1.06}, {"big": 0.01, "none": 0.005, "small": 0.04}, seed=2)
    by_id = {o.cell.id: o for o in measure_cells(cells, pairs, Plan(seed=4))}
    assert by_id["big"].verdict == "slower" and by_id["big"].pairs == 10
    assert by_id["none"].verdict == "same" and by_id["none"].pairs == 10
    assert by_id["small"].verdict == "slower" and by_id["small"].pairs > 10  # needed escalation
    assert [look.pairs for look in by_id["small"].looks] == [10, 20, 40, 80][: len(by_id["small"].looks)]
    assert all(look.verdict == "undecided" for look in by_id["small"].looks[:-1])
    assert by_id["big"].interval is not None and by_id["big"].interval.ratio_low > 1.4


def test_cap_leaves_a_cell_undecided() -> None:
    pairs = FakePairs({"x": 1.05}, 0.5, seed=5)
    (outcome,) = measure_cells([Cell("x")], pairs, Plan(start_pairs=4, max_pairs=16, confidence=0.8, seed=1))
    assert outcome.verdict == "undecided"
    assert outcome.pairs == 16
    assert "cap of 16 pairs" in outcome.note


def test_time_budget_stops_measuring() -> None:
    now = [0.0]

    def clock() -> float:
        return now[0]

    inner = FakePairs({"a": 1.0, "b": 1.0, "c": 1.0}, 0.3, seed=6)

    def pair(cell: Cell, order: str) -> tuple[Measurement, Measurement]:
        now[0] += 1.0  # each pair takes a second
        return inner(cell, order)

    outcomes = measure_cells([Cell("a"), Cell("b"), Cell("c")], pair, Plan(max_seconds=15, seed=2), clock=clock)
    assert sum(o.pairs for o in outcomes) == 15
    assert outcomes[2].pairs == 0 and "before this cell was measured" in outcomes[2].note
    assert outcomes[1].pairs == 5 and "time budget" in outcomes[1].note


def test_skipped_and_failed_cells_stop_at_once() -> None:
    calls: list[str] = []

    def pair(cell: Cell, order: str) -> tuple[Measurement, Measurement]:
        calls.append(cell.id)
        if cell.id == "skip":
            return Measurement("skipped"), Measurement("skipped")
        if cell.id == "fail":
            return Measurement("ok", 1.0), Measurement("failed", output="Traceback ... ZeroDivisionError")
        return Measurement("ok", 1.0), Measurement("ok", 0.0)  # a zero time is not a measurement

    by_id = {o.cell.id: o for o in measure_cells([Cell("skip"), Cell("fail"), Cell("zero")], pair, Plan(seed=0))}
    assert Counter(calls) == {"skip": 1, "fail": 1, "zero": 1}
    assert by_id["skip"].verdict == "skipped"
    assert by_id["fail"].verdict == "failed" and "ZeroDivisionError" in by_id["fail"].note
    assert by_id["zero"].verdict == "skipped" and "B gave 0.0: a ratio needs positive values" in by_id["zero"].note


def test_higher_is_better_cells_are_slower_when_the_rate_falls() -> None:
    cell = Cell("rate", unit="GB/s", type="track", better="higher")
    (outcome,) = measure_cells([cell], FakePairs({"rate": 0.8}, 0.01, seed=3), Plan(seed=1))
    assert outcome.verdict == "slower"
    assert outcome.ratio == pytest.approx(0.8, rel=0.02)


def test_false_alarms_and_recall_on_simulated_noise() -> None:
    # 3% log-normal noise per process: the defaults' targets are <= 1% false alarms, >= 99% recall at 10%
    n = 300
    same = FakePairs({f"c{i}": 1.0 for i in range(n)}, 0.03, seed=11)
    slow = FakePairs({f"c{i}": 1.10 for i in range(n)}, 0.03, seed=12)
    cells = [Cell(f"c{i}") for i in range(n)]
    alarms = sum(o.verdict == "slower" for o in measure_cells(cells, same, Plan(seed=1)))
    found = sum(o.verdict == "slower" for o in measure_cells(cells, slow, Plan(seed=2)))
    assert alarms <= 3
    assert found >= 297


def test_plan_rejects_bad_settings() -> None:
    with pytest.raises(ValueError, match="even"):
        Plan(start_pairs=5)
    with pytest.raises(ValueError, match="threshold"):
        Plan(threshold=0)
    with pytest.raises(ValueError, match="max pairs"):
        Plan(start_pairs=10, max_pairs=4)
    assert Plan(start_pairs=10, max_pairs=50).stages() == [10, 20, 40, 50]
    assert math.isclose(Plan().threshold, 0.05)
