"""Unstable series: values that switch between two levels, and runs whose samples are bimodal.

A series is **unstable** when its values fall into two tight, well separated levels (the gap between
their medians at least five times the wider level's spread, by interquartile range, whatever a few
outliers beyond them do) and it goes back and forth between them: the less common level appears in
at least ``max(3, 10%)`` of the points, the series changes level at least three times, and at least two of its visits to the less
common level last one or two points (a code change and its revert hold for longer). Its switches are
not steps: a step test on such a series only says which level the last runs happened to hit.

Where raw samples were recorded, a run is **bimodal within the run** when its sorted samples have a
gap at least three times wider than the spread on either side of it (at least two samples and a
fifth of them on each side, the gap at least 20%). A series whose values sit at the two levels
its bimodal runs show (a median can fall on either mode) is unstable too, even if its values
changed level only once or twice: the raw samples show both levels on both sides of the "step".
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["Modes", "SampleModes", "sample_modes", "value_modes"]

# the gap between the two levels, in units of the wider level's spread
_SEPARATION = 5.0
# smallest gap between the levels worth calling two levels (3%)
_MIN_GAP = math.log(1.03)
# within a run: gap vs spread on either side, and the smallest gap (20%)
_SAMPLE_SEPARATION = 3.0
_SAMPLE_MIN_GAP = math.log(1.2)


@dataclass
class Modes:
    """Two levels of a series (log values) and how its points move between them."""

    low: float
    high: float
    share_high: float  # of the points at the high level
    switches: int  # level changes in commit order
    short_visits: int  # visits of one or two points to the less common level
    minority: int  # points at the less common level

    @property
    def switching(self) -> bool:
        """The series goes back and forth between the levels (see the module docstring)."""
        return self.switches >= 3 and self.short_visits >= 2


# Fewest points in which two levels can be told apart (at least three on each).
MIN_MODE_POINTS = 6


def value_modes(logy: np.ndarray, floor: float = 0.0) -> Modes | None:
    """The two levels of ``logy`` (log values in commit order), or None when they are not two tight, separated levels.

    ``floor``: the smallest spread to assume for a level (e.g. the measurements' own noise).
    """
    n = len(logy)
    if n < MIN_MODE_POINTS:
        return None
    s = np.sort(logy)
    # every cut of the sorted values into a low and a high group of at least max(3, 10%) points,
    # scored by the gap between their medians over the wider group's spread (interquartile range,
    # read off the sorted values): the cut that best separates two tight groups, however few
    # outliers lie beyond them
    least = max(3, math.ceil(0.1 * n))
    k = np.arange(least, n - least + 1)  # low group = s[:k]
    if len(k) == 0:
        return None

    def q(lo: np.ndarray, hi: np.ndarray, f: float) -> np.ndarray:
        pos = lo + (hi - lo - 1) * f
        a = np.floor(pos).astype(np.int64)
        return s[a] + (s[np.minimum(a + 1, n - 1)] - s[a]) * (pos - a)

    zero, end = np.zeros_like(k), np.full_like(k, n)
    med_lo, med_hi = q(zero, k, 0.5), q(k, end, 0.5)
    iqr = np.maximum(q(zero, k, 0.75) - q(zero, k, 0.25), q(k, end, 0.75) - q(k, end, 0.25)) / 1.349
    spread_all = np.maximum(iqr, max(floor, 1e-9))
    score = (med_hi - med_lo) / spread_all
    best = int(np.argmax(score))
    c_lo, c_hi = float(med_lo[best]), float(med_hi[best])
    gap = c_hi - c_lo
    if gap < _MIN_GAP or score[best] < _SEPARATION:
        return None
    labels = logy > 0.5 * (c_lo + c_hi)
    minority_label = bool(labels.sum() * 2 < n)
    change = np.flatnonzero(labels[1:] != labels[:-1]) + 1
    starts = np.r_[0, change]
    lengths = np.diff(np.r_[starts, n])
    visits = lengths[labels[starts] == minority_label]
    return Modes(
        low=c_lo,
        high=c_hi,
        share_high=float(labels.mean()),
        switches=len(change),
        short_visits=int((visits <= 2).sum()),
        minority=int((labels == minority_label).sum()),
    )


@dataclass
class SampleModes:
    """Per run (point): whether its raw samples are bimodal, and the two modes (log; NaN when not)."""

    bimodal: np.ndarray  # bool
    low: np.ndarray
    high: np.ndarray


def sample_modes(flat: np.ndarray, offsets: np.ndarray) -> SampleModes:
    """Bimodality of each run's raw samples: ``flat[offsets[i]:offsets[i + 1]]`` are run i's samples (any order)."""
    m = len(offsets) - 1
    counts = np.diff(offsets)
    bimodal = np.zeros(m, dtype=bool)
    low = np.full(m, np.nan)
    high = np.full(m, np.nan)
    width = int(counts.max()) if m else 0
    if width < 4:
        return SampleModes(bimodal, low, high)
    # one row per run, padded with +inf so that sorting keeps the samples first
    grid = np.full((m, width), np.inf)
    rows = np.repeat(np.arange(m), counts)
    cols = np.arange(len(flat)) - np.repeat(offsets[:-1], counts)
    with np.errstate(divide="ignore", invalid="ignore"):
        logs = np.log(flat)
    grid[rows, cols] = np.where(np.isfinite(logs), logs, np.inf)
    grid.sort(axis=1)
    n = np.isfinite(grid).sum(axis=1)
    j = np.arange(width - 1)  # split after sorted sample j: left = 0..j, right = j+1..n-1
    gap = grid[:, 1:] - grid[:, :-1]
    left_n = j[None, :] + 1
    right_n = n[:, None] - left_n
    need = np.maximum(2, np.ceil(0.2 * n))[:, None]
    first = grid[:, :1]
    last = np.take_along_axis(grid, np.clip(n - 1, 0, width - 1)[:, None], axis=1)
    with np.errstate(invalid="ignore"):
        left_range = grid[:, :-1] - first
        right_range = last - grid[:, 1:]
        wide = np.maximum(left_range, right_range)
        ok = (left_n >= need) & (right_n >= need) & (gap >= _SAMPLE_MIN_GAP) & (gap >= _SAMPLE_SEPARATION * wide)
    hit = ok.any(axis=1)
    if hit.any():
        split = np.argmax(np.where(ok, gap, -np.inf), axis=1)
        for i in np.flatnonzero(hit):
            s = int(split[i])
            bimodal[i] = True
            low[i] = float(np.median(grid[i, : s + 1]))
            high[i] = float(np.median(grid[i, s + 1 : n[i]]))
    return SampleModes(bimodal, low, high)
