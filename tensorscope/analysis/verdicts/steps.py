"""Level changes in one series: our detector (:func:`find_steps`) and asv's (:func:`asv_steps`), for comparison.

How :func:`find_steps` works (measured in ``scripts/measure_detector.py``): least-squares binary
segmentation of the log values proposes level changes generously (penalty 2 sigma^2 log n); each
proposed boundary is then tested as a z-test of the difference between the two levels' medians
against the series' noise (robust: the median absolute successive difference, floored by the
measurements' own 99% CIs in series shorter than 8 points, and raised by one standard error of that
estimate, 1.3/sqrt(n), so an underestimated noise does not pass for a step), Bonferroni-corrected for
the places the boundary could have been; the least significant boundary is merged away until every
remaining one has p < ``alpha``, a change >= ``min_change`` and at least ``min_points`` commits on
each side. One-off outliers therefore never form a step, and a new level must hold for
``min_points`` commits (3 by default: a level of two points followed by a return is not a step; the
price is that a step at the newest commits is reported once it has held for three of them), a level
the series leaves again in the other direction (an excursion and a return) for :data:`RETURN_HOLD`
commits, or :data:`CLEAN_HOLD` when it is clean (every point of it beyond nearly all points of the
levels on either side: a 15x slowdown for four commits and its fix are two steps, a run day's busy
host is not), or ``min_points`` when it is strictly clean (every point of it beyond every point of
the levels on either side by :data:`STRICT_MARGIN` noise sigmas) and its runs span more than one
sitting. Where run times are known, a new level run in one sitting (within 12 hours, at least an
hour away from every run of the level before) holds only once it holds beyond that sitting; a step
whose *old* level was run in one sitting (a backfill, then nightly runs) stands, flagged
:data:`CONFOUNDED`: the history cannot tell that sitting's environment from the code, and nightly
benchmarking is like that, so the step is reported and the report says so (machine-wide movement at
that run boundary makes it an environment shift instead, see :mod:`.environment`). Each
surviving step's position is reported as the set of cuts whose two-level fit is within the 99%
point of chi-squared(1) of the best one, so a step whose exact commit the noise hides is given as a
commit range that holds it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from asv import step_detect

__all__ = [
    "CLEAN_HOLD",
    "CONFOUNDED",
    "DEFAULT_ALPHA",
    "DEFAULT_MIN_POINTS",
    "EXPLAINED",
    "ONE_SITTING",
    "STRICT_MARGIN",
    "Segmentation",
    "Step",
    "asv_steps",
    "find_steps",
    "median",
    "robust_noise",
    "segment",
    "shift_explains",
    "steps_of",
    "time_local",
]

DEFAULT_ALPHA = 1e-3
# commits a level must hold to count (see the module docstring)
DEFAULT_MIN_POINTS = 3
# sigma of a 99% normal CI half-width
_Z99 = 2.5758293035489004
# from this many points on, the series' own successive differences estimate its noise; the
# measurements' 99% CIs only floor it below that (or when the differences are all zero).
# asv's CI of a median from 5-10 samples spans nearly the whole sample range, so with
# heavy-tailed samples it overstates a commit's noise several times: as a floor on every
# series it cost recall (scripts/measure_detector.py --profile full --between-ratio 1:
# 10% steps found in 35.8% of series with it, 42.8% without, asv 37.0%).
_TRUST_SPREAD_FROM = 8
_PROPOSAL_PENALTY = 2.0
# 99% point of chi-squared with one degree of freedom: the step location's confidence set
_LOCATION_CHI2 = 6.6349
_MAD_SIGMA = 0.6744897501960817
# a level run within this many seconds, at least SITTING_GAP away from every run of the level next
# to it, may be one sitting's environment: a new level does not hold yet, an old one makes the step
# CONFOUNDED (see time_local)
LOCAL_SPAN = 12 * 3600.0
# commits a level must hold when the series returns from it (a step and a step back)
RETURN_HOLD = 5
SITTING_GAP = 3600.0
# Step.flags: a level of the step was run in one sitting apart from the other's (run time and commit
# order are confounded there: the step stands, and the report says so)
CONFOUNDED = 1
# Segmentation.flags: a level change that an environment shift explains (a boundary, not a step)
EXPLAINED = 2
# Step.flags of an environment step: a level that held only within the one sitting it was run in
ONE_SITTING = 4
# an environment shift explains a level change only within this many points of its best cut
_SHIFT_NEAR = 2
# an excursion shorter than RETURN_HOLD still stands when it is clean (every point of it beyond this
# quantile of the points of the levels on either side: a code change and its revert, not a run day)
# and holds CLEAN_HOLD commits
_CLEAN_QUANTILE = 0.9
CLEAN_HOLD = 4
# an excursion of min_points commits (shorter than CLEAN_HOLD) stands when it is strictly clean: every
# point of it beyond every point of the levels on either side by this many noise sigmas, and its runs
# span more than one sitting (LOCAL_SPAN): a code change reverted three commits later, not one night's
# busy host or a backfill's broken twenty minutes
STRICT_MARGIN = 3.0
# relative standard error of the successive-difference MAD sigma, times sqrt(n): 1.28-1.32 for
# n = 8..40 normal points (simulated; 20,000 series each). The median of |differences| is a
# less efficient scale than a standard deviation, and neighbouring differences share a point.
NOISE_SE = 1.3


@dataclass
class Step:
    """One level change in a series; positions index the input array."""

    before: int  # last position surely at the old level
    after: int  # first position surely at the new level (a range when the position is uncertain)
    value_before: float
    value_after: float
    pvalue: float
    noise: float
    n_before: int
    n_after: int
    cut: int = -1  # the best single cut: positions [.., cut) old level, [cut, ..) new level
    flags: int = 0  # CONFOUNDED: its old level was run in one sitting, apart from the new level's runs

    @property
    def ratio(self) -> float:
        return self.value_after / self.value_before if self.value_before else math.inf


@dataclass
class Segmentation:
    """The levels :func:`segment` kept: ``edges`` = [0, cut, ..., n] into the finite points; ``sigma`` the noise used."""

    edges: list[int]
    sigma: float
    pvalues: list[float]
    flags: list[int] = field(default_factory=list)  # per boundary (edges[1:-1]): CONFOUNDED, EXPLAINED or 0
    held_back: bool = False  # a significant level did not hold only because it was run in one sitting

    def cost(self, logy: np.ndarray, sigma: float) -> float:
        """Residual sum of squares around each level's mean in ``sigma`` units, plus the step penalty (BIC-like)."""
        sse = 0.0
        for lo, hi in zip(self.edges[:-1], self.edges[1:], strict=True):
            seg = logy[lo:hi]
            sse += float(np.sum((seg - seg.mean()) ** 2))
        n = len(logy)
        return sse / (sigma * sigma) + (len(self.edges) - 2) * _PROPOSAL_PENALTY * math.log(max(n, 2))


def median(x: np.ndarray) -> float:
    """Median of a small 1-d array (np.median's checks cost more than the sort on tens of points)."""
    s = np.sort(x)
    n = len(s)
    return float(s[(n - 1) // 2] + s[n // 2]) * 0.5


def robust_noise(logy: np.ndarray, rel_ci: np.ndarray | None = None) -> float:
    """Robust sigma of one point's log value: successive-difference MAD, floored by the CIs in short series."""
    sigma = 0.0
    if len(logy) >= 3:
        d = np.abs(np.diff(logy))
        sigma = median(d) / _MAD_SIGMA / math.sqrt(2.0)
    if rel_ci is not None and (len(logy) < _TRUST_SPREAD_FROM or sigma == 0.0):
        finite = rel_ci[np.isfinite(rel_ci) & (rel_ci > 0)]
        if len(finite):
            sigma = max(sigma, median(finite) / _Z99)
    # this robust scale from n points is itself uncertain by NOISE_SE / sqrt(n) (relative): testing
    # against an estimate one standard error high keeps the false-alarm rate near alpha
    # instead of letting an underestimated sigma pass noise for steps
    return max(sigma * (1.0 + NOISE_SE / math.sqrt(max(len(logy), 1))), 1e-9)


def _gains(seg: np.ndarray) -> np.ndarray:
    """Two-level least-squares gain of every cut 1..n-1 of ``seg`` (index k-1 = cut k)."""
    n = len(seg)
    c = np.cumsum(seg)
    total = c[-1]
    k = np.arange(1, n)
    left = c[:-1]
    return left * left / k + (total - left) ** 2 / (n - k) - total * total / n


def _binary_segmentation(y: np.ndarray, pen: float, cut_ok: np.ndarray) -> list[int]:
    """Split points proposed by least-squares binary segmentation (mean shifts), generously.

    Vectorised with cumulative sums; the significance test that follows decides which proposals
    stand. ``cut_ok[k]``: a level may change between points k-1 and k (not between two
    measurements of one commit).
    """
    out: list[int] = []
    todo = [(0, len(y))]
    while todo:
        lo, hi = todo.pop()
        if hi - lo < 2:
            continue
        gain = np.where(cut_ok[lo + 1 : hi], _gains(y[lo:hi]), -np.inf)
        best = int(np.argmax(gain))
        if not gain[best] > pen:
            continue
        cut = lo + best + 1
        out.append(cut)
        todo += [(lo, cut), (cut, hi)]
    return sorted(out)


def _plausible_cuts(seg: np.ndarray, sigma: float, cut: int, cut_ok: np.ndarray) -> tuple[int, int]:
    """(first, last) cut positions in ``seg`` whose fit is within the location's 99% confidence of the best one.

    A cut at ``j`` puts ``seg[:j]`` on the old level and ``seg[j:]`` on the new one; cuts whose
    two-level sum of squares exceeds the best one's by less than the 99% point of chi-squared(1)
    (in sigma^2) are kept, so a step whose position the noise cannot tell is reported over the
    commits it may have happened in (as a range to bisect), never at one arbitrary commit.
    """
    first, last, _ = _cut_range(seg, sigma, cut_ok)
    return min(first, cut), max(last, cut)


def _cut_range(seg: np.ndarray, sigma: float, cut_ok: np.ndarray) -> tuple[int, int, int]:
    """(first, last, best): the cuts of ``seg`` within the location's 99% confidence of the best two-level cut, and that one."""
    gain = np.where(cut_ok[1:], _gains(seg), -np.inf)
    ok = np.flatnonzero(gain.max() - gain <= _LOCATION_CHI2 * sigma * sigma)
    return int(ok[0]) + 1, int(ok[-1]) + 1, int(np.argmax(gain)) + 1


def shift_explains(
    logy: np.ndarray,
    sigma: float,
    cut_ok: np.ndarray,
    band: tuple[np.ndarray, np.ndarray],
    shift_cuts: np.ndarray,
    lo: int,
    mid: int,
    hi: int,
    change: float,
    near_best: bool = False,
) -> bool:
    """Does an environment shift explain the level change ``change`` (log) at ``mid`` between levels [lo, mid) and [mid, hi)?

    ``band``: per point, the range of log changes from the point before that a shift between them
    explains (NaN where none; ``shift_cuts`` = where it is finite). One shift does when it lies where
    the step may be (its plausible cuts), next to the step's cut (a level's outliers can widen the
    plausible range a lot), and its band holds the change. ``near_best``: next to the best two-level
    cut will do too (for a cut not chosen by least squares, such as a regime cut that tolerates
    outliers, which can lie a few points from the shift; not for a segmentation's own cuts, where a
    far outlier can pull the best cut onto a shift that a real step lies three commits from).
    """
    inside = shift_cuts[(shift_cuts > lo) & (shift_cuts < hi)]
    if len(inside) == 0:
        return False
    first, last, best = _cut_range(logy[lo:hi], sigma, cut_ok[lo:hi])
    first, last = min(first, mid - lo), max(last, mid - lo)
    near = inside[(inside >= lo + first) & (inside <= lo + last)]
    return any(
        (abs(k - mid) <= _SHIFT_NEAR or (near_best and abs(k - lo - best) <= _SHIFT_NEAR)) and band[0][k] <= change <= band[1][k]
        for k in near
    )


def _conservative(seg: np.ndarray, other: float) -> tuple[float, float]:
    """(level, spread factor) of a level for the step test: how far it surely is from ``other``.

    Long levels (10+ points) by their median. Short ones by the quartile on the side of the other
    level (5-9 points), or their point nearest to it (fewer): a few outliers grouped with points
    that sit at the other level cannot pass for a new level, as they can with a median.
    """
    n = len(seg)
    if n >= 10:
        return median(seg), 1.2533
    if n >= 5:
        s = np.sort(seg)
        k = (n - 1) / 4.0  # the quartile toward the other level
        pos = k if other < median(seg) else (n - 1) - k
        lo = math.floor(pos)
        frac = pos - lo
        value = float(s[lo] + (s[min(lo + 1, n - 1)] - s[lo]) * frac)
        return value, 1.3626  # a quartile's standard error, in sigma / sqrt(n)
    nearest = float(seg[int(np.argmin(np.abs(seg - other)))])
    return nearest, math.sqrt(n)


def time_local(times: np.ndarray, lo: int, mid: int, hi: int) -> int:
    """Which of the two levels [lo, mid) and [mid, hi) was run in one short sitting, apart from all of the other's runs?

    0: neither; 1: the level before; 2: the level after (when both, 2). Such a level may be that
    sitting's environment (a busy host, a different runner that day) as well as the code: it spans
    less than :data:`LOCAL_SPAN` of run time and shares none of its time with the other level's runs.
    """
    found = 0
    for side, a, b in ((1, times[lo:mid], times[mid:hi]), (2, times[mid:hi], times[lo:mid])):
        if not (np.isfinite(a).all() and np.isfinite(b).all()):
            continue
        first, last = float(a.min()), float(a.max())
        if last - first >= LOCAL_SPAN:
            continue
        distance = np.maximum(first - b, b - last)
        if float(distance.min()) >= SITTING_GAP:
            found = side
    return found


def segment(
    logy: np.ndarray,
    *,
    sigma: float,
    cut_ok: np.ndarray | None = None,
    alpha: float = DEFAULT_ALPHA,
    min_change: float = 0.0,
    min_points: int = DEFAULT_MIN_POINTS,
    run_time: np.ndarray | None = None,
    host: np.ndarray | None = None,
    host_sigma: float = 0.0,
    band: tuple[np.ndarray, np.ndarray] | None = None,
    hold_rules: bool = True,
) -> Segmentation:
    """The significant levels of ``logy`` (finite log values in order) at noise ``sigma``; see the module docstring.

    ``run_time``: when each point was run (seconds; NaN unknown): a new level run in one short sitting,
    apart from the old level's runs, does not hold yet; a step whose old level was is flagged
    :data:`CONFOUNDED` (see :func:`time_local`). ``host``, ``host_sigma``:
    the machine of each point of a runner group and the spread of the hosts' own offsets: a level's
    median is then as uncertain as its few hosts make it, not only its many points. ``band``: per point,
    the range of log changes from the point before it that an environment shift between them explains
    (NaN where none, see :class:`.environment.Explained`): a level change within it, where the shift lies
    among the places the change may have happened, stays a boundary between levels (flagged
    :data:`EXPLAINED`) but is not a step. ``hold_rules=False``: a level need only last ``min_points``
    commits (no sitting or excursion rule; what those rules held back, see :attr:`Segmentation.held_back`).
    """
    n = len(logy)
    ok_cut = np.ones(n, dtype=bool) if cut_ok is None else cut_ok
    # commits, not points, must hold a level: runs of one commit (a runner group) count once
    commit_no = np.cumsum(ok_cut) - (1 if ok_cut[0] else 0)
    min_step = math.log1p(min_change) if min_change > 0 else 0.0
    if n < 2 or commit_no[-1] + 1 < 2 * min_points:
        return Segmentation([0, n], sigma, [])
    if float(np.max(logy) - np.min(logy)) < max(min_step, 2.0 * sigma) and n > 2:
        return Segmentation([0, n], sigma, [])  # everything within noise: nothing to segment
    edges = [0, *_binary_segmentation(logy, _PROPOSAL_PENALTY * sigma * sigma * math.log(n), ok_cut), n]
    memo: dict[tuple[int, int, int], tuple[float, float]] = {}
    host_runs = np.r_[0, np.cumsum(host[1:] != host[:-1])] if host is not None and host_sigma > 0 else None

    def hosts(lo: int, hi: int) -> int:
        """Stints of hosts among points lo..hi-1 (a host measures consecutive commits)."""
        return 1 if host_runs is None else int(host_runs[hi - 1] - host_runs[lo]) + 1

    shift_cuts = np.flatnonzero(np.isfinite(band[0])) if band is not None else np.zeros(0, dtype=np.int64)

    def explained(lo: int, mid: int, hi: int, change: float) -> bool:
        """Is the change at ``mid`` an environment shift's: one lies where the step may be, and explains that much?"""
        return band is not None and shift_explains(logy, sigma, ok_cut, band, shift_cuts, lo, mid, hi, change)

    def test(lo: int, mid: int, hi: int) -> tuple[float, float]:
        """(p, |log ratio|) of the boundary ``mid`` between levels [lo, mid) and [mid, hi)."""
        key = (lo, mid, hi)
        if key in memo:
            return memo[key]
        left, right = logy[lo:mid], logy[mid:hi]
        ml, mr = median(left), median(right)
        tl, fl = _conservative(left, mr)
        tr, fr = _conservative(right, ml)
        se = sigma * math.sqrt(fl * fl / len(left) + fr * fr / len(right))
        if host_sigma > 0:
            # each host's offset is shared by all its points: a level's mean varies with its number of hosts
            k_left, k_right = hosts(lo, mid), hosts(mid, hi)
            se = math.sqrt(se * se + host_sigma * host_sigma * (1.0 / k_left + 1.0 / k_right))
        if (mr - ml) * (tr - tl) <= 0:
            out = (1.0, 0.0)  # no change beyond the levels' own spread
        else:
            z = abs(tr - tl) / se
            # the boundary was chosen as the best of len(left) + len(right) - 1 places: Bonferroni
            out = (min(1.0, math.erfc(z / math.sqrt(2.0)) * (hi - lo - 1)), abs(mr - ml))
        memo[key] = out
        return out

    def commits(lo: int, hi: int) -> int:
        return int(commit_no[hi - 1] - commit_no[lo]) + 1

    local: dict[tuple[int, int, int], int] = {}

    def sitting(lo: int, mid: int, hi: int) -> int:
        """time_local of the boundary (0 without run times)."""
        if run_time is None:
            return 0
        key = (lo, mid, hi)
        if key not in local:
            local[key] = time_local(run_time, lo, mid, hi)
        return local[key]

    held_back = [False]  # a level that would hold but for the one sitting it was run in

    def held(lo: int, mid: int, hi: int) -> bool:
        # a new level holds once it has held min_points commits beyond the one sitting they were run in
        if commits(lo, mid) < min_points or commits(mid, hi) < min_points:
            return False
        if hold_rules and sitting(lo, mid, hi) == 2:
            held_back[0] = True
            return False
        return True

    signs: dict[tuple[int, int, int], float] = {}

    def up(lo: int, mid: int, hi: int) -> float:
        key = (lo, mid, hi)
        if key not in signs:
            signs[key] = float(np.sign(median(logy[mid:hi]) - median(logy[lo:mid])))
        return signs[key]

    def clean(i: int) -> bool:
        """Does every point of level i lie beyond nearly all points of the levels on either side of it?"""
        visit = logy[edges[i] : edges[i + 1]]
        around = np.r_[logy[edges[i - 1] : edges[i]], logy[edges[i + 1] : edges[i + 2]]]
        if median(visit) > median(around):
            return bool(visit.min() > np.quantile(around, _CLEAN_QUANTILE))
        return bool(visit.max() < np.quantile(around, 1.0 - _CLEAN_QUANTILE))

    def strict(i: int) -> bool:
        """Do level i's runs span more than a sitting, every point of it beyond every point of the levels on either side by STRICT_MARGIN sigmas?"""
        if run_time is None:
            return False
        # runs of one stretch (a backfill's twenty minutes, a night) cannot tell a short level from that stretch's machine
        when = run_time[edges[i] : edges[i + 1]]
        if not np.isfinite(when).all() or float(when.max() - when.min()) < LOCAL_SPAN:
            return False
        visit = logy[edges[i] : edges[i + 1]]
        around = np.r_[logy[edges[i - 1] : edges[i]], logy[edges[i + 1] : edges[i + 2]]]
        gap = float(visit.min() - around.max()) if median(visit) > median(around) else float(around.min() - visit.max())
        return gap > STRICT_MARGIN * sigma

    def excursion(i: int) -> bool:
        """Is level i (edges[i]:edges[i + 1]) a short visit between two steps of opposite direction (and not a clean one)?"""
        if i < 1 or i > len(edges) - 3 or not hold_rules:
            return False
        visit = commits(edges[i], edges[i + 1])
        if visit >= RETURN_HOLD or up(edges[i - 1], edges[i], edges[i + 1]) * up(edges[i], edges[i + 1], edges[i + 2]) >= 0:
            return False
        if visit < CLEAN_HOLD:
            return visit < min_points or not strict(i)
        return not clean(i)

    while len(edges) > 2:
        worst, worst_key = -1, (-1.0, 0.0)
        for i in range(len(edges) - 2):
            lo, mid, hi = edges[i], edges[i + 1], edges[i + 2]
            holds = held(lo, mid, hi)  # first: it notes a level held back by its sitting (held_back)
            tiny = commits(lo, mid) < min_points or commits(mid, hi) < min_points or excursion(i) or excursion(i + 1)
            short = tiny or not holds
            p, d = test(lo, mid, hi)
            if short or p >= alpha or d < min_step:
                # a level too short for any rule (an outlier, a short excursion) merges before a level
                # held back only by the sitting rule, which judges a level once its outliers are merged
                # (a new level's first three commits run in one night, an outlier, a fourth commit the
                # next night: a step; scipy-bench's QAP case at 9fede948)
                key = (3.0 if tiny else 2.0 if short else 1.0, p)
                if key > worst_key:
                    worst, worst_key = i, key
        if worst < 0:
            break
        del edges[worst + 1]
    pvalues = [test(edges[i], edges[i + 1], edges[i + 2])[0] for i in range(len(edges) - 2)]
    flags = []
    for i in range(len(edges) - 2):
        lo, mid, hi = edges[i], edges[i + 1], edges[i + 2]
        change = median(logy[mid:hi]) - median(logy[lo:mid])
        # a level change an environment shift explains stays a boundary (the levels on either side
        # are not compared) but is not a step
        flags.append((EXPLAINED if explained(lo, mid, hi, change) else 0) | (CONFOUNDED if sitting(lo, mid, hi) else 0))
    return Segmentation(edges, sigma, pvalues, flags, held_back[0])


def find_steps(
    values: Sequence[float] | np.ndarray,
    *,
    ci_a: Sequence[float] | np.ndarray | None = None,
    ci_b: Sequence[float] | np.ndarray | None = None,
    alpha: float = DEFAULT_ALPHA,
    min_change: float = 0.0,
    min_points: int = DEFAULT_MIN_POINTS,
    cut_ok: Sequence[bool] | np.ndarray | None = None,
    sigma: float | None = None,
) -> list[Step]:
    """Significant level changes in one series (values in commit order, NaN/<=0 = missing).

    ``cut_ok[k]`` False: points k-1 and k belong to one commit (never split). ``sigma``: the
    noise to test against (default: estimated from the series).
    """
    y_all = np.asarray(values, dtype=float)
    ok = np.isfinite(y_all) & (y_all > 0)
    idx = np.flatnonzero(ok)
    if len(idx) < 2 * min_points:
        return []
    logy = np.log(y_all[idx])
    cuts = np.ones(len(idx), dtype=bool)
    if cut_ok is not None:
        # commit number of every input point; a cut between two kept points is allowed when they differ
        commit_id = np.cumsum(np.asarray(cut_ok, dtype=bool))[idx]
        cuts[1:] = commit_id[1:] != commit_id[:-1]
    if sigma is None:
        rel_ci = None
        if ci_a is not None and ci_b is not None:
            rel_ci = (np.asarray(ci_b, dtype=float)[idx] - np.asarray(ci_a, dtype=float)[idx]) / 2.0 / y_all[idx]
        sigma = robust_noise(logy, rel_ci)
    seg = segment(logy, sigma=sigma, cut_ok=cuts, alpha=alpha, min_change=min_change, min_points=min_points)
    return steps_of(seg, logy, idx, cuts)


def steps_of(seg: Segmentation, logy: np.ndarray, idx: np.ndarray, cut_ok: np.ndarray) -> list[Step]:
    """The :class:`Step` list of a segmentation of ``logy`` (= log of the points at positions ``idx``)."""
    edges = seg.edges
    steps = []
    for i in range(len(edges) - 2):
        if seg.flags and seg.flags[i] & EXPLAINED:
            continue
        lo, mid, hi = edges[i], edges[i + 1], edges[i + 2]
        first, last = _plausible_cuts(logy[lo:hi], seg.sigma, mid - lo, cut_ok[lo:hi])
        steps.append(
            Step(
                before=int(idx[lo + first - 1]),
                after=int(idx[lo + last]),
                value_before=math.exp(median(logy[lo:mid])),
                value_after=math.exp(median(logy[mid:hi])),
                pvalue=seg.pvalues[i],
                noise=seg.sigma,
                n_before=mid - lo,
                n_after=hi - mid,
                cut=int(idx[mid]),
                flags=seg.flags[i] if seg.flags else 0,
            )
        )
    return steps


def _asv_weights(values: np.ndarray, ci_a: np.ndarray | None, ci_b: np.ndarray | None) -> list[float | None] | None:
    if ci_a is None or ci_b is None:
        return None
    w: list[float | None] = []
    for a, b in zip(ci_a.tolist(), ci_b.tolist(), strict=True):
        if not (math.isfinite(a) and math.isfinite(b)) or a == b:
            w.append(None)  # asv: infinite or empty interval -> weight missing
        else:
            w.append(2.0 / abs(b - a))
    return w


def asv_steps(
    values: Sequence[float] | np.ndarray,
    *,
    ci_a: Sequence[float] | np.ndarray | None = None,
    ci_b: Sequence[float] | np.ndarray | None = None,
    threshold: float = 0.05,
) -> list[Step]:
    """asv's own verdicts on one series: regressions (upward steps) and, on 1/values, improvements.

    ``asv.step_detect.detect_steps`` with asv's CI weights, then ``detect_regressions`` (as
    ``asv publish`` runs them): these are the jumps that explain the latest value against the best.
    """
    y_all = np.asarray(values, dtype=float)
    ok = np.isfinite(y_all) & (y_all > 0)
    idx = np.flatnonzero(ok)
    if len(idx) < 2:
        return []
    y = y_all[idx]
    a = None if ci_a is None else np.asarray(ci_a, dtype=float)[idx]
    b = None if ci_b is None else np.asarray(ci_b, dtype=float)[idx]
    out: list[Step] = []
    for sign in (1, -1):
        yy = y if sign == 1 else 1.0 / y
        # improvements: asv's detector on the reciprocal values, with the reciprocal CIs
        w = _asv_weights(y, a, b) if sign == 1 or a is None or b is None else _asv_weights(yy, 1.0 / b, 1.0 / a)
        steps = step_detect.detect_steps(yy.tolist(), w)
        _, _, jumps = step_detect.detect_regressions(steps, threshold)
        for before, after, v_before, v_after in jumps or []:
            if before is None or after is None:
                continue
            vb, va = (v_before, v_after) if sign == 1 else (1.0 / v_before, 1.0 / v_after)
            out.append(Step(int(idx[before]), int(idx[after]), vb, va, float("nan"), float("nan"), 0, 0))
    out.sort(key=lambda s: s.after)
    return out
