"""Lockstep scheduling (compare's default) and the malloc control, on the toy project and in units.

End to end: the toy suite's ``Turns.time_turn`` logs every timed call (process, start, end, the
CPUs its thread may use), so the tests can see what the two processes of a pair did: take
turns, never overlap, and sample on the same single CPU.
"""

from __future__ import annotations

import itertools
import math
import os
import sys
from pathlib import Path

import pytest
from test_commands import compare_first_two, toy  # noqa: F401  (toy: the module's fixture)

from tensorscope.remeasure.design import pair_log_ratio
from tensorscope.remeasure.lockstep import Broker
from tensorscope.remeasure.model import Measurement

pytestmark = [
    pytest.mark.filterwarnings(r"ignore:os\.fork\(\) was called:RuntimeWarning"),
    pytest.mark.filterwarnings("ignore:Exception ignored in. <function _at_fork:pytest.PytestUnraisableExceptionWarning"),
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="lockstep pins threads and reads /proc: Linux only"),
]


def _windows(log: Path) -> list[tuple[int, float, float, str]]:
    rows = [line.split() for line in log.read_text().splitlines()]
    return sorted(((int(pid), float(t0), float(t1), cpus) for pid, t0, t1, cpus in rows), key=lambda r: r[1])


@pytest.mark.parametrize("schedule", ["lockstep", "sequential"])
def test_lockstep_pairs_take_turns_on_one_cpu(
    toy: tuple[Path, list[str]],  # noqa: F811
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    schedule: str,
) -> None:
    log = tmp_path / "turns.log"
    monkeypatch.setenv("TOY_TURN_LOG", str(log))
    code, doc, err = compare_first_two(capsys, toy, "time_turn", "--schedule", schedule)
    assert code == 0, err
    assert doc["mode"] == schedule
    windows = _windows(log)
    pids = [w[0] for w in windows]
    assert len(set(pids)) == 4  # 2 pairs, a fresh process per side
    # no two timed calls overlap, whatever the schedule
    assert all(prev[2] <= nxt[1] for prev, nxt in itertools.pairwise(windows))
    switches = sum(a != b for a, b in itertools.pairwise(pids))
    if schedule == "sequential":
        assert switches == 3  # one process after the other
        return
    # lockstep: the two processes of a pair alternate sample by sample ...
    assert switches >= 8
    # ... and each pair samples on one CPU, the same for both of its processes
    by_pid: dict[int, set[str]] = {}
    for pid, _, _, cpus in windows:
        by_pid.setdefault(pid, set()).add(cpus)
    assert all(len(c) == 1 and "," not in next(iter(c)) for c in by_pid.values()), by_pid
    first_pair = [p for p in dict.fromkeys(pids)][:2]
    assert by_pid[first_pair[0]] == by_pid[first_pair[1]]
    [cell] = doc["cells"]
    assert cell["pairs"] == 2


def test_freed_memory_is_kept_unless_malloc_default(
    toy: tuple[Path, list[str]],  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    # 3 x 24 MB freed: kept under the fixed thresholds (so a benchmark that reallocates them in
    # setup does not page-fault in one process and not in another), handed back under glibc's
    # adaptive ones; the 64 MiB trim threshold used before handed them back too
    kept = {}
    for option in ([], ["--malloc", "default"]):
        code, doc, err = compare_first_two(capsys, toy, "track_freed_memory_kept", *option)
        assert code == 0, err
        [cell] = doc["cells"]
        kept[option[-1] if option else "fixed"] = cell["a_median"] - 1.0
    assert kept["fixed"] > 60, kept
    assert kept["default"] < 10, kept


def _m(samples: list[float] | None, rounds: list[int] | None = None) -> Measurement:
    value = sorted(samples)[len(samples) // 2] if samples else math.nan
    return Measurement("ok", value, samples, 1, rounds=rounds)


def test_pair_log_ratio_pairs_samples_by_round() -> None:
    # A's samples fall in two speed groups (the CPU's speed changed mid-process) and so do B's,
    # round by round: the medians (1.0 vs 2.0) say 2x, the rounds say 1.1x
    a = _m([1.0, 1.0, 2.0, 2.0, 1.0], [5, 6, 7, 8, 9])
    b = _m([2.2, 2.2, 1.1, 1.1, 2.2], [7, 8, 9, 10, 11])
    assert math.exp(math.log(b.value) - math.log(a.value)) == pytest.approx(2.2)
    assert math.exp(pair_log_ratio(a, b)) == pytest.approx(1.1)  # rounds 7, 8, 9: 1.1 each


def test_pair_log_ratio_falls_back_to_the_values() -> None:
    a, b = _m([1.0, 1.0, 1.0]), _m([1.5, 1.5, 1.5])
    assert math.exp(pair_log_ratio(a, b)) == pytest.approx(1.5)
    # rounds recorded but none in common: the values again
    a.rounds, b.rounds = [1, 2, 3], [7, 8, 9]
    assert math.exp(pair_log_ratio(a, b)) == pytest.approx(1.5)


def test_broker_matches_asv_samples_to_the_last_timings(tmp_path: Path) -> None:
    with Broker("AB", 0, folder=str(tmp_path)) as broker:
        # calibration timings (rounds 0-2), then asv's three samples (rounds 3-5)
        broker.timings["A"] = [(0, 5e-6), (1, 4e-6), (2, 3e-6), (3, 3.1e-6), (4, 3.2e-6), (5, 3.0e-6)]
        assert broker.rounds_of("A", [3.1e-6, 3.2e-6, 3.0e-6]) == [3, 4, 5]
        # samples that are not the last timings (asv changed them, or a timing was lost): no rounds
        assert broker.rounds_of("A", [3.1e-6, 3.3e-6, 3.0e-6]) is None
        assert broker.rounds_of("A", [1.0] * 7) is None
        assert broker.rounds_of("B", [3.0e-6]) is None
    assert not os.path.exists(broker.address)


def test_broker_goes_on_when_a_side_never_connects(tmp_path: Path) -> None:
    with Broker("BA", 1, folder=str(tmp_path)) as broker:
        broker.run(lambda side: True)  # both processes ended before connecting
    assert broker.turns == {"A": 0, "B": 0}
