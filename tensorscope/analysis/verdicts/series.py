"""The verdict on one series: its code steps, the steps its run dates explain better, and where it is unstable.

:func:`analyse_series` takes one series' points in commit order (ties: several runs of one commit,
e.g. in a runner group) with each point's run rank, its log values with what its machine's
environment shifts explain already removed (:func:`.environment.machine_shifts`: a shift explains
only its own size, so the series is analysed whole, across it), and decides:

1. **Segment first, label segments.** Values switching between two levels, or at the levels its
   bimodal runs show, are unstable (:mod:`.stability`). Such a series is first cut where its history
   separates cleanly (all points on one side but a few outliers beyond those of the other, at least
   ``min_points`` commits each side, and significant against the noisier side), unless the move is
   between the band's own two levels while a regime still switches: a 1.66x step before a regime
   that later switches 10% is a step, and the regime is unstable from there on; a new level between
   or beyond the band's levels, or two regimes that no longer switch once apart (a step whose few
   outliers made the band), are steps too. Each segment is then judged on its own (steps within it, or
   its band when it switches); only the switches within a band are not steps. Likewise the levels
   between the code steps of a series that is not unstable as a whole are labelled unstable when
   they switch.
2. The **code steps**: :func:`.steps.segment` over the points in commit order, against the series'
   noise, and in a runner group with the hosts' spread estimated over the whole series.
3. **Run time as an axis.** Where the runs were not made in commit order (older commits run
   later, partial re-runs), the same segmentation over the points in run order competes: a level
   change in run order whose two levels interleave in commit order (at least ``min_points`` points
   would have to be dropped to put one level's commits all before the other's: older commits run
   after the change show the new level) is the environment's when run order explains the series
   better (its penalised cost is lower by at least half a step's penalty). Those run-order
   changes are reported as environment steps; what they explain is removed (each stretch of runs
   between them expressed in the last one's terms), and the code steps
   are then looked for in the whole series in commit order. A step both orders place between the
   same two neighbouring points stays a code step: the history alone cannot tell it from a change
   of environment, and code is the default (machine-wide evidence may still say otherwise, see
   :mod:`.environment`).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from .stability import Modes, SampleModes, sample_modes, value_modes
from .steps import (
    DEFAULT_ALPHA,
    DEFAULT_MIN_POINTS,
    EXPLAINED,
    NOISE_SE,
    ONE_SITTING,
    Segmentation,
    Step,
    median,
    robust_noise,
    segment,
    shift_explains,
    steps_of,
    time_local,
)

__all__ = ["SeriesInput", "SeriesVerdict", "analyse_series"]

# a regime cut tolerates this share of outliers on each side (isolated visits to the other level)
_REGIME_OUTLIERS = 0.15
# a side's level within this share of the band's width of one of its two levels is at that level
_BAND_LEVEL = 0.25
_PENALTY = 2.0  # as steps._PROPOSAL_PENALTY: one step's worth of cost is 2 log n (sigma^2 units)
# run order must explain the series better than commit order by this share of one step's penalty
# (commit order is the default; a level run on its own day between two neighbours run together in a
# backfill is one run-order change, not a code change and its revert: geocat-comp-asv)
_RUN_ORDER_MARGIN = 0.5
# the two value levels match the modes seen within runs when each is within 25%
_MODE_MATCH = math.log(1.25)
# a regime of fewer points has its noise from its spread about its median (see _regime_noise)
_SHORT_REGIME = 8


@dataclass
class SeriesInput:
    """One series' points in commit order (then run order): log values and what else decides its verdict."""

    logy: np.ndarray  # log values, what the machine's environment shifts explain removed
    rel_ci: np.ndarray  # half-width of the 99% CI / value (NaN when unknown)
    commit: np.ndarray  # commit rank (equal for runs of one commit)
    run: np.ndarray  # run rank (time order of the runs)
    run_time: np.ndarray  # when each point was run (seconds; NaN unknown)
    member: np.ndarray | None = None  # machine of each point, in a runner group (hosts differ a little)
    band: tuple[np.ndarray, np.ndarray] | None = None  # what environment shifts explain of each change (steps.segment)
    samples: np.ndarray | None = None  # raw samples of all points, flat
    sample_offsets: np.ndarray | None = None  # point i's samples: samples[offsets[i]:offsets[i + 1]]


@dataclass
class SeriesVerdict:
    """What :func:`analyse_series` found; step positions index the input points."""

    steps: list[Step] = field(default_factory=list)  # code steps
    env_steps: list[Step] = field(default_factory=list)  # level changes its run dates explain better
    modes: Modes | None = None  # set when the series (its newest unstable segment) switches between two levels
    bimodal_runs: int = 0  # points whose raw samples are bimodal within the run
    noise: float = math.nan


def _sigma(logy: np.ndarray, rel_ci: np.ndarray) -> float:
    """Noise of one point (log units) of a series."""
    return robust_noise(logy, rel_ci if np.isfinite(rel_ci).any() else None)


def _host_spread(logy: np.ndarray, member: np.ndarray | None, sigma: float) -> float:
    """Spread of the hosts' own offsets in a runner group's series (0 when it is not one, or cannot tell).

    Hosts of one kind differ a little, and each keeps its offset for all its runs (a host measures a
    stretch of consecutive commits): the spread of the stints' means, beyond what their own points
    explain, is the hosts'. It is a property of the group, so it is estimated over the whole series.
    """
    if member is None or len(member) < 2:
        return 0.0
    # the means of consecutive hosts' stints differ by their offsets plus what their own
    # points leave: var(difference) = 2 (host^2 + sigma^2 / points per stint), robustly
    starts = np.r_[0, np.flatnonzero(member[1:] != member[:-1]) + 1]
    if len(starts) < 6:
        return 0.0
    counts = np.diff(np.r_[starts, len(logy)])
    means = np.add.reduceat(logy, starts) / counts
    d = np.abs(np.diff(means))
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


def _subset(inp: SeriesInput, lo: int, hi: int) -> SeriesInput:
    """Points lo..hi-1 of a series, as a series of their own."""
    samples = offsets = None
    if inp.samples is not None and inp.sample_offsets is not None:
        a, b = int(inp.sample_offsets[lo]), int(inp.sample_offsets[hi])
        samples, offsets = inp.samples[a:b], inp.sample_offsets[lo : hi + 1] - a
    return SeriesInput(
        logy=inp.logy[lo:hi],
        rel_ci=inp.rel_ci[lo:hi],
        commit=inp.commit[lo:hi],
        run=inp.run[lo:hi],
        run_time=inp.run_time[lo:hi],
        member=None if inp.member is None else inp.member[lo:hi],
        band=None if inp.band is None else (inp.band[0][lo:hi], inp.band[1][lo:hi]),
        samples=samples,
        sample_offsets=offsets,
    )


def _regime_cut(y: np.ndarray, cut_ok: np.ndarray, min_points: int, alpha: float) -> int:
    """Where ``y`` separates cleanly into two regimes (0 when nowhere): see step 1 of the module docstring.

    All points on one side but its few outliers (up to :data:`_REGIME_OUTLIERS` of them) lie beyond all
    points on the other but its own, each side holds ``min_points`` commits, and the difference of
    the sides' medians is significant against the noisier side's own noise (Bonferroni over the cuts
    tried); of such cuts, the one with the widest gap.
    """
    n = len(y)
    commit_no = np.cumsum(cut_ok) - 1
    best, best_gap, tried = 0, 0.0, 0
    for cut in range(1, n):
        if not cut_ok[cut] or commit_no[cut] < min_points or commit_no[-1] - commit_no[cut] + 1 < min_points:
            continue
        tried += 1
        left, right = np.sort(y[:cut]), np.sort(y[cut:])
        a, b = int(_REGIME_OUTLIERS * len(left)), int(_REGIME_OUTLIERS * len(right))
        gap = max(right[b] - left[-1 - a], left[a] - right[-1 - b])
        if gap > best_gap:
            best, best_gap = cut, gap
    if best == 0:
        return 0
    _, z = _regimes_z(y[:best], y[best:])
    return best if math.erfc(z / math.sqrt(2.0)) * tried < alpha else 0


def _regime_noise(y: np.ndarray) -> float:
    """Noise of one regime's points: as :func:`.steps.robust_noise`, but about the median in short regimes.

    In a regime of a few points one outlier spoils two of its few successive differences (a 5-point
    regime with one outlier read 10x its noise); a regime is one level, so its spread about its median
    is the noise there, and one outlier spoils one deviation.
    """
    if len(y) >= _SHORT_REGIME:
        return robust_noise(y)
    sigma = median(np.abs(y - median(y))) / 0.6744897501960817 if len(y) >= 3 else 0.0
    return max(sigma * (1.0 + NOISE_SE / math.sqrt(max(len(y), 1))), 1e-9)


def _regimes_z(left: np.ndarray, right: np.ndarray) -> tuple[float, float]:
    """(sigma, z) of the difference of two regimes' medians, against the noisier regime's own noise."""
    sigma = max(_regime_noise(left), _regime_noise(right))
    z = abs(median(right) - median(left)) / (sigma * 1.2533 * math.sqrt(1.0 / len(left) + 1.0 / len(right)))
    return sigma, z


def analyse_series(
    inp: SeriesInput, *, alpha: float = DEFAULT_ALPHA, min_change: float = 0.0, min_points: int = DEFAULT_MIN_POINTS
) -> SeriesVerdict:
    """Code steps, environment steps and unstable stretches of one series; see the module docstring."""
    out = SeriesVerdict()
    n = len(inp.logy)
    sm = None
    if inp.samples is not None and inp.sample_offsets is not None and len(inp.samples):
        sm = sample_modes(inp.samples, inp.sample_offsets)
        out.bimodal_runs = int(sm.bimodal.sum())
    out.noise = _sigma(inp.logy, inp.rel_ci) if n else math.nan
    kw: dict[str, Any] = {"alpha": alpha, "min_change": min_change, "min_points": min_points}
    modes = _unstable(inp, sm)
    if modes is None:
        _steps(inp, out, kw)
        # label the levels between its steps too: a regime that switches after a step is unstable from there on
        cuts = [0, *sorted(s.cut for s in out.steps), n]
        for lo, hi in itertools.pairwise(cuts):
            level = value_modes(inp.logy[lo:hi]) if len(cuts) > 2 else None
            if level is not None and level.switching:
                out.modes = level
        return out
    # unstable as a whole: cut it where it separates cleanly, and judge each regime on its own
    cut_c = np.r_[True, inp.commit[1:] != inp.commit[:-1]]
    cut = _regime_cut(inp.logy, cut_c, min_points, alpha)
    if cut == 0:
        out.modes = modes
        return out
    sides = (median(inp.logy[:cut]), median(inp.logy[cut:]))
    parts = [(lo, analyse_series(_subset(inp, lo, hi), **kw)) for lo, hi in ((0, cut), (cut, n))]
    # a move between the band's own two levels is the band's (a median may fall on either): the band
    # of a regime that still switches, or the whole series' band where runs' own samples show both
    # levels on both sides of the cut; a regime at a level of its own, or two regimes that no longer
    # switch once apart (a step whose outliers made the band), are steps
    bands = [part.modes for _, part in parts if part.modes is not None]
    if sm is not None and bool(sm.bimodal[:cut].any()) and bool(sm.bimodal[cut:].any()):
        bands.append(modes)

    def at(band: Modes) -> bool:
        near = _BAND_LEVEL * (band.high - band.low)
        return all(min(abs(m - band.low), abs(m - band.high)) <= near for m in sides)

    if any(at(band) for band in bands) or abs(sides[1] - sides[0]) < math.log1p(min_change):
        out.modes = modes
        return out
    for lo, part in parts:
        out.steps += [_moved(s, lo) for s in part.steps]
        out.env_steps += [_moved(s, lo) for s in part.env_steps]
        out.modes = part.modes or out.modes  # the newest unstable regime's band
    if inp.band is not None and shift_explains(
        inp.logy, out.noise, cut_c, inp.band, np.flatnonzero(np.isfinite(inp.band[0])), 0, cut, n, sides[1] - sides[0], near_best=True
    ):
        return out  # the regimes are the environment's: a shift where they part explains the move
    sigma, z = _regimes_z(inp.logy[:cut], inp.logy[cut:])
    between = Step(
        before=cut - 1,
        after=cut,
        value_before=math.exp(sides[0]),
        value_after=math.exp(sides[1]),
        pvalue=min(1.0, math.erfc(z / math.sqrt(2.0)) * (n - 1)),
        noise=sigma,
        n_before=cut,
        n_after=n - cut,
        cut=cut,
    )
    out.steps = sorted([*out.steps, between], key=lambda s: s.cut)
    return out


def _moved(step: Step, by: int) -> Step:
    """``step`` of a part of a series that starts at point ``by``, in the positions of the whole."""
    return replace(step, before=step.before + by, after=step.after + by, cut=step.cut + by)


def _steps(inp: SeriesInput, out: SeriesVerdict, kw: dict[str, Any]) -> None:
    """Code steps (and run-order environment steps) of a series that is not unstable, into ``out``."""
    n = len(inp.logy)
    if n < 2 * kw["min_points"]:
        return
    y = inp.logy
    cut_c = np.r_[True, inp.commit[1:] != inp.commit[:-1]]
    host = _host_spread(y, inp.member, out.noise)
    sigma_c = _sigma(y, inp.rel_ci)
    seg_c = segment(y, sigma=sigma_c, cut_ok=cut_c, run_time=inp.run_time, host=inp.member, host_sigma=host, band=inp.band, **kw)
    run = inp.run
    if np.all(run[1:] >= run[:-1]):
        _found(inp, out, seg_c, y, cut_c, host, kw)
        return
    ro = np.argsort(run, kind="stable")
    yr = y[ro]
    cut_r = np.r_[True, run[ro][1:] != run[ro][:-1]]
    sigma_r = _sigma(yr, inp.rel_ci[ro])
    members_r = None if inp.member is None else inp.member[ro]
    seg_r = segment(yr, sigma=sigma_r, cut_ok=cut_r, run_time=inp.run_time[ro], host=members_r, host_sigma=host, **kw)
    unmatched = [
        m
        for i, m in enumerate(seg_r.edges[1:-1], 1)
        if _interleaved(ro[seg_r.edges[i - 1] : m], ro[m : seg_r.edges[i + 1]], kw["min_points"])
    ]
    sigma = min(sigma_c, sigma_r)
    if not unmatched or seg_r.cost(yr, sigma) + _RUN_ORDER_MARGIN * _PENALTY * math.log(n) >= seg_c.cost(y, sigma):
        _found(inp, out, seg_c, y, cut_c, host, kw)
        return
    # the environment's level changes, in run order
    changes = []
    for m in unmatched:
        i = seg_r.edges.index(m)
        lo, hi = seg_r.edges[i - 1], seg_r.edges[i + 1]
        before, after = median(yr[lo:m]), median(yr[m:hi])
        changes.append(after - before)
        out.env_steps.append(
            Step(
                before=int(ro[m - 1]),
                after=int(ro[m]),
                value_before=math.exp(before),
                value_after=math.exp(after),
                pvalue=seg_r.pvalues[i - 1],
                noise=sigma_r,
                n_before=m - lo,
                n_after=hi - m,
                cut=int(ro[m]),
            )
        )
    # what they explain removed (each stretch of runs in the last one's terms), then the code steps
    # of the whole series in commit order
    stretch = np.zeros(n, dtype=np.int64)
    stretch[ro] = np.searchsorted(np.asarray(unmatched), np.arange(n), side="right")
    later = np.r_[np.cumsum(np.asarray(changes)[::-1])[::-1], 0.0]  # stretch s: the changes after it
    y2 = y + later[stretch]
    seg = segment(
        y2,
        sigma=min(sigma_c, _sigma(y2, inp.rel_ci)),
        cut_ok=cut_c,
        run_time=inp.run_time,
        host=inp.member,
        host_sigma=host,
        band=inp.band,
        **kw,
    )
    _found(inp, out, seg, y2, cut_c, host, kw)


def _found(
    inp: SeriesInput, out: SeriesVerdict, seg: Segmentation, y: np.ndarray, cut_c: np.ndarray, host: float, kw: dict[str, Any]
) -> None:
    """The code steps of the segmentation ``seg`` of ``y`` into ``out``, and, as environment steps, the levels that
    held only within the one sitting they were run in, and the way back from them (named, not hidden: a run
    day's environment)."""
    pts = np.arange(len(y))
    out.steps += steps_of(seg, y, pts, cut_c)
    if not seg.held_back:
        return
    relaxed = segment(
        y, sigma=seg.sigma, cut_ok=cut_c, run_time=inp.run_time, host=inp.member, host_sigma=host, band=inp.band, hold_rules=False, **kw
    )
    kept = seg.edges[1:-1]
    named = -1  # the start of the last level named: its end (back from that sitting) is named too
    for i, mid in enumerate(relaxed.edges[1:-1], 1):
        lo, hi = relaxed.edges[i - 1], relaxed.edges[i + 1]
        if relaxed.flags[i - 1] & EXPLAINED or any(abs(mid - k) <= 1 for k in kept):
            continue
        side = time_local(inp.run_time, lo, mid, hi)
        if not (side == 2 or (side == 1 and lo == named)):
            continue
        named = mid
        out.env_steps.append(
            Step(
                before=mid - 1,
                after=mid,
                value_before=math.exp(median(y[lo:mid])),
                value_after=math.exp(median(y[mid:hi])),
                pvalue=relaxed.pvalues[i - 1],
                noise=seg.sigma,
                n_before=mid - lo,
                n_after=hi - mid,
                cut=mid,
                flags=ONE_SITTING,
            )
        )
