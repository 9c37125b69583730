"""The measuring plan: randomized balanced A/B order and adaptive escalation (Pinpoint's), cell by cell.

:func:`measure_cells` takes the cells and a ``pair(cell, order)`` function that measures one
pair in fresh processes (``order`` is ``"AB"`` or ``"BA"``: which side runs first, or, in duet
mode, which side gets which core) and returns ``(a, b)``. It runs in stages:

1. every cell gets ``start_pairs`` pairs (default 10), one cell after the other, so that both
   sides of a cell see the same minutes of the machine;
2. each cell's verdict is taken on its paired log-ratios (:mod:`.stats`); a cell whose
   interval still straddles the threshold (``undecided``) gets as many pairs again
   (10 -> 20 -> 40 -> 80, as Chromium's Pinpoint doubles its repeats), the others are done;
3. at ``max_pairs`` (or when ``max_seconds`` of measuring are spent) the remaining cells stay
   ``undecided``.

Every look is a chance of a false alarm, so each interval has confidence 0.998 by default:
with four looks the chance that a cell without change is called slower is at most
4 x 0.1% = 0.4% (Bonferroni). Simulated with per-process noise of sigma 3%, 5% and 10%
(log-normal, 3,000 unchanged cells each): 0.07%, 0.3% and 0.3% false alarms, against 0.4%,
1.0% and 1.2% with 0.99 per look. A 5% slowdown was called slower in 99.8% of 400 cells at
sigma 3% and 5% (43% at sigma 10%, the rest undecided at the cap); unchanged cells took 23, 53
and 80 pairs on average (at sigma 10% 95% of them end undecided at the cap).

Within every stage half of the pairs run A first and half B first, in a random order
(:func:`balanced_orders`): an order effect (the first process of a pair warming a cache for
the second, a drift during the pair) then cancels in the estimate instead of biasing it, and
the log-ratios are symmetric under "no change", which the exact interval relies on.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from .model import Cell, CellOutcome, Look, Measurement
from .stats import Interval, hodges_lehmann, verdict

__all__ = ["Plan", "balanced_orders", "cell_interval", "judge", "measure_cells"]

PairFn = Callable[[Cell, str], tuple[Measurement, Measurement]]
ProgressFn = Callable[[CellOutcome], None]


@dataclass(frozen=True)
class Plan:
    """How much to measure: threshold, confidence per look, first stage, cap and time budget."""

    threshold: float = 0.05
    confidence: float = 0.998
    start_pairs: int = 10
    max_pairs: int = 80
    max_seconds: float | None = None
    seed: int | None = None

    def __post_init__(self) -> None:
        if not (self.threshold > 0 and math.isfinite(self.threshold)):
            raise ValueError(f"threshold must be a positive number (0.05 = 5%), got {self.threshold}")
        if not 0.5 <= self.confidence < 1:
            raise ValueError(f"confidence must be at least 0.5 and below 1, got {self.confidence}")
        if self.start_pairs < 2 or self.start_pairs % 2:
            raise ValueError(f"the first stage needs an even number of pairs >= 2 (half AB, half BA), got {self.start_pairs}")
        if self.max_pairs < self.start_pairs:
            raise ValueError(f"max pairs ({self.max_pairs}) must be at least the first stage ({self.start_pairs})")
        if self.max_seconds is not None and not self.max_seconds > 0:
            raise ValueError(f"the time budget must be positive, got {self.max_seconds}")

    def stages(self) -> list[int]:
        """Cumulative pairs after each stage: start, doubled, ... up to ``max_pairs`` (kept even)."""
        cap = self.max_pairs - self.max_pairs % 2
        out = [self.start_pairs]
        while out[-1] < cap:
            out.append(min(out[-1] * 2, cap))
        return out


def balanced_orders(n: int, rng: random.Random) -> list[str]:
    """``n`` pair orders, half ``"AB"`` and half ``"BA"`` (one extra at random when ``n`` is odd), shuffled."""
    orders = ["AB", "BA"] * (n // 2)
    if n % 2:
        orders.append(rng.choice(("AB", "BA")))
    rng.shuffle(orders)
    return orders


def pair_log_ratio(a: Measurement, b: Measurement) -> float:
    """``log(b / a)`` of one pair: the median of its rounds' log-ratios where the samples were
    taken in lockstep rounds (each round's two samples on one CPU, moments apart), else the
    log-ratio of the two processes' values (asv's medians).

    Why rounds: on the reference VM a CPU's speed changes from second to second, so one
    process's samples can fall in two groups (2.9 and 4.6 us for the same calls) and its median
    in either; the two samples of a round fall in the same group.
    """
    if a.rounds and b.rounds and a.samples and b.samples:
        at = dict(zip(a.rounds, a.samples, strict=True))
        logs = [math.log(s / at[r]) for r, s in zip(b.rounds, b.samples, strict=True) if r in at and s > 0 and at[r] > 0]
        if logs:
            return float(np.median(logs))
    return math.log(b.value) - math.log(a.value)


def cell_interval(outcome: CellOutcome, confidence: float) -> Interval:
    """The interval of ``log(b / a)`` over the cell's pairs (:func:`pair_log_ratio`)."""
    return hodges_lehmann(np.array([pair_log_ratio(a, b) for a, b in zip(outcome.a, outcome.b, strict=True)]), confidence)


def judge(interval: Interval, threshold: float, better: str = "lower") -> str:
    """The verdict for a cell whose value improves in direction ``better`` ('lower' or 'higher').

    For a higher-is-better value (a rate) 'slower' means worse: the ratio fell.
    """
    if better == "higher":
        flipped = Interval(-interval.estimate, -interval.high, -interval.low, interval.n, interval.confidence)
        return verdict(flipped, threshold)
    return verdict(interval, threshold)


def measure_cells(
    cells: Sequence[Cell],
    pair: PairFn,
    plan: Plan,
    *,
    progress: ProgressFn | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> list[CellOutcome]:
    """Measure every cell in stages until its verdict is clear, the cap, or the time budget (see the module docstring)."""
    rng = random.Random(plan.seed)
    outcomes = [CellOutcome(cell) for cell in cells]
    open_ = list(range(len(cells)))
    deadline = None if plan.max_seconds is None else clock() + plan.max_seconds
    out_of_time = False
    for target in plan.stages():
        still_open = []
        for i in open_:
            outcome = outcomes[i]
            if out_of_time:
                still_open.append(i)
                continue
            for order in balanced_orders(target - outcome.pairs, rng):
                if deadline is not None and clock() >= deadline:
                    out_of_time = True
                    break
                started = clock()
                a, b = pair(outcome.cell, order)
                outcome.wall_seconds += clock() - started
                if not _record(outcome, order, a, b):
                    break
            if outcome.verdict not in ("skipped", "failed") and outcome.pairs > (outcome.looks[-1].pairs if outcome.looks else 0):
                interval = cell_interval(outcome, plan.confidence)
                outcome.interval = interval
                outcome.verdict = judge(interval, plan.threshold, outcome.cell.better)
                outcome.looks.append(Look(outcome.pairs, interval, outcome.verdict))
            _report(progress, outcome)
            if outcome.verdict == "undecided":
                still_open.append(i)
        open_ = still_open
        if out_of_time or not open_:
            break
    for i in open_:
        outcome = outcomes[i]
        if not outcome.pairs:
            outcome.note = "time budget spent before this cell was measured"
        elif out_of_time:
            outcome.note = f"time budget spent at {outcome.pairs} pairs"
        else:
            outcome.note = f"still undecided at the cap of {outcome.pairs} pairs"
    return outcomes


def _record(outcome: CellOutcome, order: str, a: Measurement, b: Measurement) -> bool:
    """Add one pair; False (and a final verdict) when a side did not give a usable value.

    A side that skipped the cell before any pair makes it ``skipped``; a failure, or a skip
    after pairs were taken, makes it ``failed``; a value that is not positive (a ``track_``
    benchmark returning 0) leaves no ratio to take: ``skipped``, saying why.
    """
    outcome.a.append(a)
    outcome.b.append(b)
    for side, m in (("A", a), ("B", b)):
        if m.status == "ok" and not (m.value > 0 and math.isfinite(m.value)):
            outcome.verdict = "skipped"
            outcome.note = f"{side} gave {m.value!r}: a ratio needs positive values"
            return False
        if m.status != "ok":
            outcome.verdict = "skipped" if m.status == "skipped" and outcome.pairs == 0 else "failed"
            what = "skipped" if m.status == "skipped" else "failed"
            outcome.note = f"{side} {what}" + (f": {_tail(m.output)}" if m.output.strip() and what == "failed" else "")
            return False
    outcome.orders.append(order)
    return True


def _tail(text: str, limit: int = 300) -> str:
    text = text.strip()
    return text if len(text) <= limit else "..." + text[-limit:]


def _report(progress: ProgressFn | None, outcome: CellOutcome) -> None:
    if progress is not None:
        progress(outcome)
