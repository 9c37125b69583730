"""Machine-wide shifts: many unrelated series of one machine and env moving together at one run boundary.

For every boundary between two consecutive runs of a machine (or runner group) and env, each series
measured on both sides is compared across it in run order: the median of its (up to) three points
before against the median of its three points after (few, so that a later change does not leak in),
as a z-score against the series' own noise (robust spread of its successive differences in run
order). Only series quiet enough to show a shift that matters count (the standard error of that
difference at most 5%: noisier ones cannot tell, whatever happened). A series **moved** when
``|z| >= 3``. The boundary is an **environment shift** when at least six series count and the
movement is broad:

* the same way in at least half of the benchmark classes measured across it, and in at least three
  of them (a class, ``module.Class`` of the benchmark name, moved when at least half of its series
  did: the benchmarks of one class test related code, so a code change often moves them together);
* the same way in at least 40% of all the series counted;
* by a median of at least 3%;

or, for shifts too small for each series to show alone, the same way by any amount in at least
80% of the series counted and of the series of at least half the classes (three at least), by a
median of at least 3%.

Times, memory and other tracked figures are judged apart (an environment may move one of them only:
a library's import footprint moves every peak memory and no time); a shift found in any of them is
the machine's, and splits the history of all its series.
Only series measured in one of the two runs next to the boundary count there. Neighbouring boundaries
that pass (each series' windows span a few runs) are one shift, placed where the movement is sharpest
(largest summed z of the window means).

A code change can also move much of a suite at once. Where another machine measured the same
benchmarks (by name: parameters may hold machine-specific paths) at the commits on both sides of the boundary, *in runs made on one side of its date*
(so that an environment change at that date cannot explain it), and most of them moved the same way
there at the same commits, the shift is the code's, not the environment's, and is dropped.

An environment shift **explains only what it is big enough to explain**; it never hides a series'
history. It explains a series' change across it anywhere between none and the shift's own factor,
widened on both sides by its **allowance** (:data:`ALLOWANCE` times the spread of the moved series'
changes around the factor, at least ``OWN_CHANGE - 1`` times the factor in log, and at least
:data:`MIN_SHIFT`): series of one machine move by different amounts when its environment changes. A
**uniform** shift, one that moved nearly every series counted across it by nearly its factor (at
most :data:`UNIFORM_NONE` of at least :data:`UNIFORM_SERIES` of them nearer none than its factor: a
nightly machine's new environment), explains only its factor widened by :data:`ALLOWANCE` times
the spread of all their changes around it: a series that moved much more or less than every other
there (or not at all) has a code step of its own at that boundary. A shift found in one kind of figure (times, memory, tracked figures) explains as much in either
direction of the other kinds. What :func:`machine_shifts` returns for every point
(:class:`Explained`):

* the **offset** that removes the shift's factor from the series' points before it (expressed in the
  environment after it), or nothing where the series' own change (the same window medians) is
  nearer none than the factor: a shift that passed that series by (never a uniform one). Never the few points' own
  estimate of the change, whose noise would be left behind as a step;
* the **band** of what is left of the series' change across the shift that is still the shift's
  (the explained range less what was removed; none where the series' runs on both sides of the
  shift interleave in commit order, a backfill), for :func:`.steps.segment`: a level change there
  within the band stays a boundary between levels (a series that moved far more or less than the
  machine, as after a hardware change, is not compared across it) but is not a step.

The series is then analysed whole, across the shift: what is left beyond its band is judged as a code
step like any other (the report names the shift beside it), and code steps near the shift keep every
point on both sides. In a runner group, a shift where the host changes may be the hosts' own
offsets, which end with their stints: nothing is removed there, and only the band applies. The shift
also numbers the **epochs** of its machine and env (a step whose two levels lie in different epochs
was at a shift).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .points import Points

__all__ = ["MEASURES", "Explained", "MachineShift", "machine_shifts", "unseen_elsewhere"]

# what a benchmark measures (points.measure): shifts are looked for in each apart
MEASURES = ("time", "memory", "other")
WINDOW = 3
Z_MOVE = 3.0
MIN_SHIFT = math.log(1.03)
# a series counts where a shift would show: the standard error of its window difference at most 5%
TESTABLE = 0.05
MIN_BENCHMARKS = 3
MIN_SERIES = 6
BENCHMARK_SHARE = 0.5
SERIES_SHARE = 0.4
# or: the same way (by any amount) in this share of the series counted and of the classes' series
AGREE_SHARE = 0.8
# a shift is uniform when at least this many series were counted across it and at most this share of
# them moved nearer none than its factor (synthetic machine-wide shifts: 1-18%; the shifts of the
# shared real sets, partial: 33-86%)
UNIFORM_SERIES = 20
UNIFORM_NONE = 0.25
# a shift explains a series' change within this many robust sds of the moved series' changes around
# its factor, and anything between no change and OWN_CHANGE times its factor (log): series of one
# machine move by very different amounts when its hardware or libraries change (an import time
# 0.72x where the suite moved 0.87x, geocat-comp-asv), but a 113x change is never the 5% shift's
ALLOWANCE = 3.0
OWN_CHANGE = 3.0
_MAD_SIGMA = 0.6744897501960817


@dataclass
class MachineShift:
    """One environment shift: between runs ``run`` and ``run + 1`` (global run ids of :class:`Points`)."""

    run: int
    moved: int  # series that moved
    tested: int  # series measured on both sides
    log_factor: float  # median log(after / before) of the moved series
    benchmarks: int  # benchmark classes that moved
    benchmarks_tested: int
    measure: int = 0  # what moved: MEASURES[measure]
    allowance: float = MIN_SHIFT  # log: how far beyond [0, factor] a series' change is still the shift's
    uniform: bool = False  # nearly every series moved by nearly its factor: it explains its factor +- allowance only


def _window_medians(y: np.ndarray, series: np.ndarray, forward: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(median, mean, count) of each point's window: the WINDOW points from it on (forward) or the WINDOW before it."""
    n = len(y)
    offsets = np.arange(WINDOW) if forward else np.arange(-WINDOW, 0)
    idx = np.arange(n)[:, None] + offsets[None, :]
    inside = (idx >= 0) & (idx < n)
    idx = np.clip(idx, 0, max(n - 1, 0))
    inside &= series[idx] == series[:, None]
    w = np.where(inside, y[idx], np.nan)
    count = inside.sum(axis=1)
    w.sort(axis=1)  # NaN last
    lo = np.clip((count - 1) // 2, 0, WINDOW - 1)
    hi = np.clip(count // 2, 0, WINDOW - 1)
    med = 0.5 * (np.take_along_axis(w, lo[:, None], 1)[:, 0] + np.take_along_axis(w, hi[:, None], 1)[:, 0])
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.nansum(w, axis=1) / count
    return med, mean, count


def _run_order_noise(y: np.ndarray, series: np.ndarray, n_series: int) -> np.ndarray:
    """Per series: robust sigma of one point from its successive differences (in the order given)."""
    same = series[1:] == series[:-1]
    d = np.abs(np.diff(y))[same]
    s = series[1:][same]
    sigma = np.zeros(n_series)
    if len(d):
        med = pd.Series(d).groupby(s).median()
        sigma[med.index.to_numpy()] = med.to_numpy() / _MAD_SIGMA / math.sqrt(2.0)
    counts = np.bincount(series, minlength=n_series)
    return np.maximum(sigma * (1.0 + 1.0 / np.sqrt(np.maximum(counts, 1))), 1e-4)


def _covering(n_boundaries: int, first: np.ndarray, last: np.ndarray, weight: np.ndarray, row: np.ndarray, n_rows: int) -> np.ndarray:
    """Sum of ``weight`` over the gaps next to each boundary, per ``row``: a (n_rows, n_boundaries) array.

    A gap between a series' points in runs ``first`` and ``last + 1`` counts at boundary ``first``
    (the series was measured in the run just before it) and at ``last`` (just after it), not at the
    boundaries in between: a series measured now and again months later says little about each run
    boundary in between.
    """
    out = np.zeros(n_rows * n_boundaries)
    np.add.at(out, row * n_boundaries + first, weight)
    other = last != first
    np.add.at(out, row[other] * n_boundaries + last[other], weight[other])
    return out.reshape(n_rows, n_boundaries)


@dataclass
class Explained:
    """Per point, what the environment shifts explain (see the module docstring)."""

    epoch: np.ndarray  # environment shifts of its machine and env before its run
    offset: np.ndarray  # log: logy + offset is the series with the shifts' factors removed
    band_lo: np.ndarray  # log: a change of (logy + offset) between the point before it in its series and
    band_hi: np.ndarray  # this one within [band_lo, band_hi] is the shifts' (NaN: no shift between them)


def machine_shifts(p: Points) -> tuple[list[MachineShift], Explained]:
    """The environment shifts of every machine/group and env, and what they explain of every point; see the module docstring."""
    n_runs = len(p.run_group)
    epoch = np.zeros(len(p.logy), dtype=np.int64)
    offset = np.zeros(len(p.logy))
    band_lo = np.full(len(p.logy), np.nan)
    band_hi = np.full(len(p.logy), np.nan)
    if n_runs < 2 or len(p.logy) == 0:
        return [], Explained(epoch, offset, band_lo, band_hi)
    # points of each series in run order
    perm = np.lexsort((p.run, p.series))
    y, run, series = p.logy[perm], p.run[perm], p.series[perm]
    sigma = _run_order_noise(y, series, p.n_series)[series]
    before_med, before_mean, nb = _window_medians(y, series, forward=False)
    after_med, after_mean, na = _window_medians(y, series, forward=True)
    gap = np.r_[False, series[1:] == series[:-1]]  # a gap between point i-1 and i of one series
    gap &= (nb >= 2) & (na >= 2)
    gap[1:] &= run[1:] > run[:-1]
    g = np.flatnonzero(gap)
    if len(g) == 0:
        return [], Explained(epoch, offset, band_lo, band_hi)
    scale = sigma[g] * 1.2533 * np.sqrt(1.0 / nb[g] + 1.0 / na[g])
    d = after_med[g] - before_med[g]
    z = d / scale
    z_mean = np.abs(after_mean[g] - before_mean[g]) / scale
    # series quiet enough to show a shift of the size that matters; noisier ones are not counted
    testable_all = scale <= TESTABLE
    first, last = run[g - 1], run[g] - 1  # boundaries b (between runs b and b+1) the gap covers
    kind = p.measure[perm][g]
    same_group = p.run_group[1:] == p.run_group[:-1]
    shifts: list[MachineShift] = []
    # times, memory and tracked figures apart: a new environment may move one of them only (a
    # library's import footprint moves every peak memory, not the times)
    class_codes, class_row = np.unique(p.bench_class[perm][g], return_inverse=True)
    n_c = len(class_codes)
    for measure in np.unique(kind):
        testable = testable_all & (kind == measure)
        tested = _covering(n_runs - 1, first, last, testable.astype(float), class_row, n_c)
        class_tested = (tested > 0).sum(axis=0)
        all_tested = tested.sum(axis=0)
        for sign in (1.0, -1.0):
            moved = testable & (z * sign >= Z_MOVE)
            moving = _covering(n_runs - 1, first, last, moved.astype(float), class_row, n_c)
            class_moved = ((moving >= BENCHMARK_SHARE * tested) & (tested > 0)).sum(axis=0)
            candidate = (
                same_group
                & (class_moved >= MIN_BENCHMARKS)
                & (class_moved >= BENCHMARK_SHARE * class_tested)
                & (moving.sum(axis=0) >= SERIES_SHARE * np.maximum(all_tested, 1))
                & (all_tested >= MIN_SERIES)
            )
            # or nearly every series moved the same way, each by too little to tell alone: a small shift
            # (5% at 2-3% noise) shows in how many agree, not in how far each moved
            agree = testable & (d * sign > 0)
            agreeing = _covering(n_runs - 1, first, last, agree.astype(float), class_row, n_c)
            class_agree = ((agreeing >= AGREE_SHARE * tested) & (tested > 0)).sum(axis=0)
            candidate |= (
                same_group
                & (class_agree >= MIN_BENCHMARKS)
                & (class_agree >= BENCHMARK_SHARE * class_tested)
                & (agreeing.sum(axis=0) >= AGREE_SHARE * np.maximum(all_tested, 1))
                & (all_tested >= MIN_SERIES)
            )
            class_moved = np.maximum(class_moved, class_agree)
            cand = np.flatnonzero(candidate)
            if len(cand) == 0:
                continue
            score = _covering(n_runs - 1, first, last, np.where(moved | agree, z_mean, 0.0), np.zeros(len(g), dtype=np.int64), 1)[0]
            # runs of neighbouring candidate boundaries are one shift, at its sharpest boundary
            breaks = np.flatnonzero(np.diff(cand) > 1) + 1
            for cluster in np.split(cand, breaks):
                b = int(cluster[np.argmax(score[cluster])])
                at = ((first == b) | (last == b)) & testable
                hit = at & moved
                if hit.sum() < SERIES_SHARE * at.sum():
                    hit = at & agree  # found by agreement: every series that moved its way
                factor = float(np.median(d[hit])) if hit.any() else 0.0
                if abs(factor) < MIN_SHIFT:
                    continue  # many series moved, but by less than matters
                shift = MachineShift(
                    run=b,
                    moved=int(hit.sum()),
                    tested=int(at.sum()),
                    log_factor=factor,
                    benchmarks=int(class_moved[b]),
                    benchmarks_tested=int(class_tested[b]),
                    measure=int(measure),
                )
                if not _confirmed_elsewhere(p, shift, series[g][hit], d[hit]):
                    spread = float(np.median(np.abs(d[hit] - factor))) / _MAD_SIGMA if hit.sum() >= 3 else abs(factor)
                    shift.allowance = max(ALLOWANCE * spread, (OWN_CHANGE - 1.0) * abs(factor), MIN_SHIFT)
                    counted = d[at]
                    if len(counted) >= UNIFORM_SERIES and np.mean(np.abs(counted) < np.abs(counted - factor)) <= UNIFORM_NONE:
                        # nearly every series moved, by nearly one factor: what a series moved beyond the
                        # spread of all of theirs is its own (a code step there), and none is not the shift's
                        shift.uniform = True
                        spread = float(np.median(np.abs(counted - factor))) / _MAD_SIGMA
                        shift.allowance = max(ALLOWANCE * spread, MIN_SHIFT)
                    shifts.append(shift)
    if shifts:
        cuts = np.array(sorted({s.run for s in shifts}))
        epoch = np.searchsorted(cuts, p.run, side="left").astype(np.int64)
        change = after_med - before_med  # each series' own change across the gap before each point (run order)
        enough = (nb >= 2) & (na >= 2)
        point_measure = p.measure[perm]
        run_member = np.zeros(n_runs, dtype=np.int64)
        run_member[p.run] = p.member
        same_series = np.r_[False, p.series[1:] == p.series[:-1]]  # point k and k-1 of one series (commit order)
        r_lo = np.minimum(p.run, np.r_[p.run[:1], p.run[:-1]])
        r_hi = np.maximum(p.run, np.r_[p.run[:1], p.run[:-1]])
        for sh in shifts:
            b = sh.run
            # the gaps of the series measured on both sides of the shift (runs of one machine and env are numbered together)
            across = np.flatnonzero(np.r_[False, (series[1:] == series[:-1]) & (run[:-1] <= b) & (run[1:] > b)])
            # in the kind of figure it was found in, a shift explains from no change to its factor and its
            # allowance beyond; in the others (an import footprint's shift moves import times too, by
            # an amount it cannot tell), as much either way
            same = point_measure[across] == sh.measure
            reach = abs(sh.log_factor) + sh.allowance
            near = sh.log_factor if sh.uniform else 0.0  # the end of the explained range next to no change
            lo = np.where(same, min(near, sh.log_factor) - sh.allowance, -reach)
            hi = np.where(same, max(near, sh.log_factor) + sh.allowance, reach)
            f = np.where(same, sh.log_factor, 0.0)
            # removed: the shift's factor, or nothing where the series' own change is nearer none (a
            # shift that passed some series by); never a few points' noisy estimate of its change
            d = change[across]
            if run_member[b] != run_member[b + 1]:
                # in a runner group, a shift where the host changes may be the hosts' own offsets, which
                # end with their stints: nothing is removed, and the change there within the band stays
                # a boundary between levels that is not a step
                removed = np.zeros(len(across))
            else:
                removed = np.where(enough[across] & (np.abs(d) < np.abs(d - f)) & (d >= lo) & (d <= hi), 0.0, f)
                if sh.uniform:
                    removed = np.where(same, f, removed)  # every series moved with its machine
            per_series = np.zeros(p.n_series)
            per_series[series[across]] = removed
            band_lo_s = np.full(p.n_series, np.nan)
            band_hi_s = np.full(p.n_series, np.nan)
            band_lo_s[series[across]] = lo - removed
            band_hi_s[series[across]] = hi - removed
            offset += np.where(p.run <= b, per_series[p.series], 0.0)
            # what is left of a series' change between two points the shift lies between is the shift's within its band
            at = same_series & (r_lo <= b) & (r_hi > b) & np.isfinite(band_lo_s[p.series])
            # where a series' commits run on both sides of the shift interleave (a backfill after it),
            # the shift lies between many pairs of its points: its factor removed, no band (a code step
            # next to any of them would pass for the shift's)
            crossings = np.bincount(p.series[at], minlength=p.n_series)
            at &= crossings[p.series] == 1
            band_lo[at] = np.where(np.isnan(band_lo[at]), 0.0, band_lo[at]) + band_lo_s[p.series[at]]
            band_hi[at] = np.where(np.isnan(band_hi[at]), 0.0, band_hi[at]) + band_hi_s[p.series[at]]
    return shifts, Explained(epoch, offset, band_lo, band_hi)


def _confirmed_elsewhere(p: Points, shift: MachineShift, moved_series: np.ndarray, moved_d: np.ndarray) -> bool:
    """Did the same cells move the same way at the same commits on another machine, in runs all on one side of the date?"""
    b = shift.run
    row_before, row_after = p.run_commit_row[b], p.run_commit_row[b + 1]
    orders = p.ok["commit_order"].to_numpy(dtype=np.int64)
    c_before, c_after = int(orders[row_before]), int(orders[row_after])
    if c_after <= c_before:
        return False  # the runs after are older commits: no commit boundary to check
    t0, t1 = p.run_first[b], p.run_first[b + 1]
    date = 0.5 * (t0 + t1) if np.isfinite(t0) and np.isfinite(t1) else np.nan
    here = p.dmachine[p.starts[moved_series]]
    # the same benchmark (any parameters: they may hold machine-specific text such as paths)
    sign = dict(zip(p.bench[p.starts[moved_series]].tolist(), np.sign(moved_d).tolist(), strict=True))
    this_machine = here[0] if len(here) else None
    checked = agreed = 0
    for s in range(p.n_series):
        lo, hi = int(p.starts[s]), int(p.starts[s + 1])
        cell = int(p.bench[lo])
        if cell not in sign or p.dmachine[lo] == this_machine:
            continue
        co = p.commit_order[lo:hi]
        i_b, i_a = int(np.searchsorted(co, c_before, side="right")), int(np.searchsorted(co, c_after, side="left"))
        before, after = slice(lo + max(0, i_b - WINDOW), lo + i_b), slice(lo + i_a, lo + min(hi - lo, i_a + WINDOW))
        if i_b - max(0, i_b - WINDOW) < 2 or min(hi - lo, i_a + WINDOW) - i_a < 2:
            continue
        times = np.r_[p.run_time[before], p.run_time[after]]
        if not np.isfinite(date) or not (np.all(times < date) or np.all(times >= date)):
            continue  # its runs straddle the date too: it cannot tell code from environment
        yb, ya = p.logy[before], p.logy[after]
        sig = max(float(np.median(np.abs(np.diff(p.logy[lo:hi])))) / _MAD_SIGMA / math.sqrt(2.0), 1e-4) if hi - lo >= 3 else 1e-4
        dd = float(np.median(ya) - np.median(yb))
        z = dd / (sig * 1.2533 * math.sqrt(1.0 / len(yb) + 1.0 / len(ya)))
        checked += 1
        agreed += abs(z) >= Z_MOVE and abs(dd) >= MIN_SHIFT and np.sign(dd) == sign[cell]
    return checked >= 3 and agreed >= 0.5 * checked


def unseen_elsewhere(p: Points, before: int, after: int, change: float) -> str:
    """The machine that measured the same cell at the same commits without a series' step ('' when none).

    ``before``, ``after``: the points around the step; ``change``: its log ratio.

    For a step the history alone cannot place (its old level run in one sitting: run time and commit
    order confounded): another machine that measured the same benchmark and parameters at the
    commits on both sides, and did not move, is evidence *against* the code; one that moved the
    same way, or did not measure both sides, leaves the step to the code.
    """
    cell, here = int(p.cell[before]), int(p.dmachine[before])
    c_before, c_after = int(p.commit_order[before]), int(p.commit_order[after])
    unmoved = ""
    for s in np.unique(p.series[(p.cell == cell) & (p.dmachine != here)]):
        lo, hi = int(p.starts[s]), int(p.starts[s + 1])
        co = p.commit_order[lo:hi]
        i_b, i_a = int(np.searchsorted(co, c_before, side="right")), int(np.searchsorted(co, c_after, side="left"))
        yb, ya = p.logy[lo + max(0, i_b - WINDOW) : lo + i_b], p.logy[lo + i_a : lo + min(hi - lo, i_a + WINDOW)]
        if len(yb) < 2 or len(ya) < 2:
            continue
        moved = float(np.median(ya) - np.median(yb))
        if abs(moved) >= 0.5 * abs(change) and np.sign(moved) == np.sign(change):
            return ""  # it moved there too: the code's
        if abs(moved) < 0.25 * abs(change):
            unmoved = unmoved or str(p.dm_names[p.dmachine[lo]])
    return unmoved
