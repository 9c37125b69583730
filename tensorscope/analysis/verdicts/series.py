"""The verdict on one series: its code steps, the steps its run dates explain better, or that it is unstable.

:func:`analyse_series` takes one series' points in commit order (ties: several runs of one commit,
e.g. in a runner group) with each point's run rank and machine epoch (the environment shifts of its
machine split the history into epochs whose levels are never compared, see
:mod:`.environment`), and decides:

1. **Unstable?** (:mod:`.stability`) Values switching between two levels, or at the levels its
   bimodal runs show: the series gets no steps, only its levels.
2. Per epoch, the **code steps**: :func:`.steps.segment` over the points in commit order, against
   the epoch's noise but never less than the whole series' (a short epoch's few points may
   underestimate it), and in a runner group with the hosts' spread estimated over the whole series.
3. **Run time as an axis.** Where the epoch's runs were not made in commit order (older commits run
   later, partial re-runs), the same segmentation over the points in run order competes: a level
   change in run order whose two levels interleave in commit order (at least ``min_points`` points
   would have to be dropped to put one level's commits all before the other's: older commits run
   after the change show the new level) is the environment's when run order explains the series
   better (its penalised cost is lower by at least one step's penalty). Those run-order
   changes are reported as environment steps, and the code steps are then looked for within the
   stretches of runs between them. A step both orders place between the same two neighbouring
   points stays a code step: the history alone cannot tell it from a change of environment, and
   code is the default (machine-wide evidence may still say otherwise, see :mod:`.environment`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .stability import Modes, SampleModes, sample_modes, value_modes
from .steps import DEFAULT_ALPHA, DEFAULT_MIN_POINTS, NOISE_SE, Step, median, robust_noise, segment, steps_of

__all__ = ["SeriesInput", "SeriesVerdict", "analyse_series"]

_PENALTY = 2.0  # as steps._PROPOSAL_PENALTY: one step's worth of cost is 2 log n (sigma^2 units)
# the two value levels match the modes seen within runs when each is within 25%
_MODE_MATCH = math.log(1.25)


@dataclass
class SeriesInput:
    """One series' points in commit order (then run order): log values and what else decides its verdict."""

    logy: np.ndarray
    rel_ci: np.ndarray  # half-width of the 99% CI / value (NaN when unknown)
    commit: np.ndarray  # commit rank (equal for runs of one commit)
    run: np.ndarray  # run rank (time order of the runs)
    run_time: np.ndarray  # when each point was run (seconds; NaN unknown)
    epoch: np.ndarray  # machine epoch (environment shifts of the machine split the history)
    member: np.ndarray | None = None  # machine of each point, in a runner group (hosts differ a little)
    samples: np.ndarray | None = None  # raw samples of all points, flat
    sample_offsets: np.ndarray | None = None  # point i's samples: samples[offsets[i]:offsets[i + 1]]


@dataclass
class SeriesVerdict:
    """What :func:`analyse_series` found; step positions index the input points."""

    steps: list[Step] = field(default_factory=list)  # code steps
    env_steps: list[Step] = field(default_factory=list)  # level changes its run dates explain better
    modes: Modes | None = None  # set when the series is unstable
    bimodal_runs: int = 0  # points whose raw samples are bimodal within the run
    noise: float = math.nan


def _sigma(logy: np.ndarray, rel_ci: np.ndarray) -> float:
    """Noise of one point (log units) of a series."""
    return robust_noise(logy, rel_ci if np.isfinite(rel_ci).any() else None)


def _series_noise(logy: np.ndarray, epoch: np.ndarray) -> float:
    """Noise of one point from the successive differences within each epoch of the whole series (0 with fewer than 2).

    An epoch's own estimate rests on its few points and may be far too low (a z-test against it
    then passes noise for steps); the series' noise is no smaller in an epoch than over all of them,
    so each epoch is tested against the larger of the two.
    """
    same = epoch[1:] == epoch[:-1]
    d = np.abs(np.diff(logy))[same]
    if len(d) < 2:
        return 0.0
    return median(d) / 0.6744897501960817 / math.sqrt(2.0) * (1.0 + NOISE_SE / math.sqrt(len(d) + 1))


def _host_spread(logy: np.ndarray, member: np.ndarray | None, epoch: np.ndarray, sigma: float) -> float:
    """Spread of the hosts' own offsets in a runner group's series (0 when it is not one, or cannot tell).

    Hosts of one kind differ a little, and each keeps its offset for all its runs (a host measures a
    stretch of consecutive commits): the spread of the stints' means, beyond what their own points
    explain, is the hosts'. It is a property of the group, so it is estimated over the whole series
    (an epoch may hold too few stints to tell, and then its host changes would pass for steps);
    stints next to each other across an environment shift are not compared.
    """
    if member is None or len(member) < 2:
        return 0.0
    # the means of consecutive hosts' stints differ by their offsets plus what their own
    # points leave: var(difference) = 2 (host^2 + sigma^2 / points per stint), robustly
    starts = np.r_[0, np.flatnonzero((member[1:] != member[:-1]) | (epoch[1:] != epoch[:-1])) + 1]
    if len(starts) < 6:
        return 0.0
    counts = np.diff(np.r_[starts, len(logy)])
    means = np.add.reduceat(logy, starts) / counts
    same_epoch = epoch[starts[1:]] == epoch[starts[:-1]]
    d = np.abs(np.diff(means))[same_epoch]
    if len(d) < 5:
        return 0.0
    spread = median(d) / 0.6744897501960817 / math.sqrt(2.0)
    spread *= 1.0 + NOISE_SE / math.sqrt(len(d))
    return math.sqrt(max(spread * spread - sigma * sigma / float(np.median(counts)), 0.0))


def _unstable(inp: SeriesInput, sm: SampleModes | None) -> Modes | None:
    modes = value_modes(inp.logy)
    if modes is None:
        return None
    if modes.switching:
        # switching in commit order but not in run order: the level follows the run date (older
        # commits run later show the new level), which the run-order analysis below attributes
        ro = np.argsort(inp.run, kind="stable")
        in_runs = value_modes(inp.logy[ro])
        if in_runs is None or in_runs.switching:
            return modes
    # values at the two levels that the runs' own samples show: a median falls on either mode
    if sm is not None and int(sm.bimodal.sum()) >= 2:
        lo = float(np.median(sm.low[sm.bimodal]))
        hi = float(np.median(sm.high[sm.bimodal]))
        if abs(lo - modes.low) <= _MODE_MATCH and abs(hi - modes.high) <= _MODE_MATCH:
            return modes
    return None


def _interleaved(before: np.ndarray, after: np.ndarray, least: int) -> bool:
    """Do two levels in run order (their points' commit positions) interleave in commit order?

    True when at least ``least`` points must be dropped before one level's commits all precede the
    other's: only then does run order say something that commit order cannot.
    """
    pos = np.r_[before, after]
    label = np.r_[np.zeros(len(before), dtype=np.int64), np.ones(len(after), dtype=np.int64)][np.argsort(pos, kind="stable")]
    best = len(pos)
    for first in (0, 1):  # the level whose commits would come first
        late = np.r_[0, np.cumsum(label != first)]  # points of the other level before each cut
        early = np.r_[np.cumsum((label == first)[::-1])[::-1], 0]  # points of this level after it
        best = min(best, int((late + early).min()))
    return best >= least


def analyse_series(
    inp: SeriesInput, *, alpha: float = DEFAULT_ALPHA, min_change: float = 0.0, min_points: int = DEFAULT_MIN_POINTS
) -> SeriesVerdict:
    """Code steps, environment steps or instability of one series; see the module docstring."""
    out = SeriesVerdict()
    n = len(inp.logy)
    sm = None
    if inp.samples is not None and inp.sample_offsets is not None and len(inp.samples):
        sm = sample_modes(inp.samples, inp.sample_offsets)
        out.bimodal_runs = int(sm.bimodal.sum())
    out.noise = _sigma(inp.logy, inp.rel_ci) if n else math.nan
    modes = _unstable(inp, sm)
    if modes is not None:
        out.modes = modes
        return out
    kw: dict[str, Any] = {"alpha": alpha, "min_change": min_change, "min_points": min_points}
    host = _host_spread(inp.logy, inp.member, inp.epoch, out.noise) if n else 0.0
    whole = _series_noise(inp.logy, inp.epoch) if n else 0.0
    for e in np.unique(inp.epoch):
        pts = np.flatnonzero(inp.epoch == e)
        if len(pts) < 2 * min_points:
            continue
        y = inp.logy[pts]
        cut_c = np.r_[True, inp.commit[pts][1:] != inp.commit[pts][:-1]]
        members = None if inp.member is None else inp.member[pts]
        sigma_c = max(_sigma(y, inp.rel_ci[pts]), whole)
        times = inp.run_time[pts]
        seg_c = segment(y, sigma=sigma_c, cut_ok=cut_c, run_time=times, host=members, host_sigma=host, **kw)
        run = inp.run[pts]
        if np.all(run[1:] >= run[:-1]):
            out.steps += steps_of(seg_c, y, pts, cut_c)
            continue
        ro = np.argsort(run, kind="stable")
        yr = y[ro]
        cut_r = np.r_[True, run[ro][1:] != run[ro][:-1]]
        sigma_r = max(_sigma(yr, inp.rel_ci[pts][ro]), whole)
        seg_r = segment(
            yr, sigma=sigma_r, cut_ok=cut_r, run_time=times[ro], host=None if members is None else members[ro], host_sigma=host, **kw
        )
        unmatched = [
            m
            for i, m in enumerate(seg_r.edges[1:-1], 1)
            if _interleaved(ro[seg_r.edges[i - 1] : m], ro[m : seg_r.edges[i + 1]], min_points)
        ]
        sigma = min(sigma_c, sigma_r)
        if not unmatched or seg_r.cost(yr, sigma) + _PENALTY * math.log(len(y)) >= seg_c.cost(y, sigma):
            out.steps += steps_of(seg_c, y, pts, cut_c)
            continue
        # the environment's level changes, in run order
        for m in unmatched:
            i = seg_r.edges.index(m)
            lo, hi = seg_r.edges[i - 1], seg_r.edges[i + 1]
            out.env_steps.append(
                Step(
                    before=int(pts[ro[m - 1]]),
                    after=int(pts[ro[m]]),
                    value_before=math.exp(median(yr[lo:m])),
                    value_after=math.exp(median(yr[m:hi])),
                    pvalue=seg_r.pvalues[i - 1],
                    noise=sigma_r,
                    n_before=m - lo,
                    n_after=hi - m,
                    cut=int(pts[ro[m]]),
                )
            )
        # code steps within the stretches of runs between them, in commit order
        stretch = np.zeros(len(y), dtype=np.int64)
        stretch[ro] = np.searchsorted(np.asarray(unmatched), np.arange(len(y)), side="right")
        for s in np.unique(stretch):
            sub = np.flatnonzero(stretch == s)
            if len(sub) < 2 * min_points:
                continue
            ys = y[sub]
            cut_s = np.r_[True, inp.commit[pts][sub][1:] != inp.commit[pts][sub][:-1]]
            seg_s = segment(
                ys,
                sigma=sigma_r,
                cut_ok=cut_s,
                run_time=times[sub],
                host=None if members is None else members[sub],
                host_sigma=host,
                **kw,
            )
            out.steps += steps_of(seg_s, ys, pts[sub], cut_s)
    return out
