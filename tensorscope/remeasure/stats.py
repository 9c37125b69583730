"""Statistics of one A/B cell: the Hodges-Lehmann estimate of the paired log-ratios and its exact interval.

Each pair ``i`` gives one process's value of A (``a_i``) and one of B (``b_i``), measured back to
back in a random order (or at the same time, ``--duet``); the comparison works on the paired
log-ratios ``d_i = log(b_i / a_i)``.

Why Hodges-Lehmann with the Wilcoxon signed-rank interval, and not the bootstrap:

* **Exact with few pairs.** A verdict should need few processes, so the first look is at 10
  pairs. The percentile bootstrap is too narrow at such sizes: its 99.8% interval of the mean of
  10 normal values missed the true centre in 1.65% of 2,000 simulated cases (8 times the nominal
  0.2%), where the signed-rank interval missed it in 0.1%; its coverage is exact for any ``n``
  whenever the ``d_i`` are symmetric about their centre.
* **The design supplies the symmetry.** Under "no change", A and B are exchangeable and the
  order of each pair (AB or BA) is drawn at random, so ``d_i`` and ``-d_i`` are equally likely
  even when the first process of a pair is systematically slower (an order effect) or the
  machine drifts: the null distribution is symmetric by construction, which is what the exact
  interval needs.
* **Robust.** The estimate is the median of the Walsh averages ``(d_i + d_j) / 2`` (breakdown
  point 29%): a process that stalled (a page-cache miss, a noisy neighbour) moves it little,
  unlike a mean, while it uses the data more efficiently than the median of ``d_i`` (95% of
  the mean's efficiency under normal noise, against 64%).

Verdicts (:func:`verdict`) compare the interval with the threshold ``t`` on the log scale
(``delta = log(1 + t)``):

``same``       the whole interval lies within ``(-delta, delta)``: any change is smaller than the threshold;
``slower``     the interval lies above 0 (B is slower, with confidence) and the estimate is at least
               half the threshold (``ratio >= sqrt(1 + t)``), so a real but tiny slowdown measured
               early is not called a regression; it gets more pairs and ends as ``same``;
``faster``     the mirror image;
``undecided``  anything else: more pairs are needed (or the cap was reached).

A true change of exactly ``t`` is therefore called ``slower`` unless its interval falls below
``delta`` (probability at most ``(1 - confidence) / 2`` per look) or the cap is reached first.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

__all__ = ["VERDICTS", "Interval", "hodges_lehmann", "signed_rank_cdf", "verdict"]

VERDICTS = ("slower", "faster", "same", "undecided")


@dataclass(frozen=True)
class Interval:
    """Estimate and confidence interval of the log-ratio (``exp`` of each is the ratio B/A)."""

    estimate: float
    low: float
    high: float
    n: int
    confidence: float

    @property
    def ratio(self) -> float:
        return math.exp(self.estimate) if math.isfinite(self.estimate) else math.nan

    @property
    def ratio_low(self) -> float:
        return math.exp(self.low) if math.isfinite(self.low) else (0.0 if self.low < 0 else math.inf)

    @property
    def ratio_high(self) -> float:
        return math.exp(self.high) if math.isfinite(self.high) else (math.inf if self.high > 0 else 0.0)


@lru_cache(maxsize=256)
def signed_rank_cdf(n: int) -> np.ndarray:
    """``P(T+ <= k)`` for ``k = 0 .. n(n+1)/2`` under the null: the exact Wilcoxon signed-rank distribution.

    ``T+`` is the sum of the ranks of the positive differences; under the null each rank
    ``1..n`` is included with probability 1/2 independently, so the distribution is the
    convolution of ``n`` two-point distributions (computed in probabilities, so no counts overflow).
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    top = n * (n + 1) // 2
    pmf = np.zeros(top + 1)
    pmf[0] = 1.0
    for rank in range(1, n + 1):
        shifted = np.zeros_like(pmf)
        shifted[rank:] = pmf[:-rank]
        pmf = 0.5 * (pmf + shifted)
    return np.cumsum(pmf)


def _trim(n: int, confidence: float) -> int:
    """How many Walsh averages to drop on each side: the largest ``k`` with ``P(T+ <= k - 1) <= alpha / 2``.

    0 means that no interval of this confidence exists with ``n`` pairs.
    """
    alpha_half = (1.0 - confidence) / 2.0
    cdf = signed_rank_cdf(n)
    # cdf[k - 1] <= alpha/2  <=>  k - 1 < first index whose cdf exceeds alpha/2
    return int(np.searchsorted(cdf, alpha_half, side="right"))


def hodges_lehmann(d: np.ndarray | list[float], confidence: float = 0.998) -> Interval:
    """Hodges-Lehmann estimate of the centre of ``d`` and its exact signed-rank ``confidence`` interval.

    With too few values for the requested confidence (fewer than 10 at 0.998, 8 at 0.99) the interval is
    ``(-inf, inf)``; an empty ``d`` gives a NaN estimate.
    """
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence}")
    x = np.asarray(d, dtype=float)
    if not np.all(np.isfinite(x)):
        raise ValueError("log-ratios must be finite (a process reported no time, or zero)")
    n = len(x)
    if n == 0:
        return Interval(math.nan, -math.inf, math.inf, 0, confidence)
    i, j = np.triu_indices(n)
    walsh = np.sort((x[i] + x[j]) / 2.0)
    estimate = float(np.median(walsh))
    k = _trim(n, confidence)
    if k == 0:
        return Interval(estimate, -math.inf, math.inf, n, confidence)
    return Interval(estimate, float(walsh[k - 1]), float(walsh[len(walsh) - k]), n, confidence)


def verdict(interval: Interval, threshold: float) -> str:
    """``slower``, ``faster``, ``same`` or ``undecided`` for a lower-is-better value (see the module docstring)."""
    if not threshold > 0:
        raise ValueError(f"threshold must be > 0, got {threshold}")
    delta = math.log1p(threshold)
    if interval.n == 0:
        return "undecided"
    if -delta < interval.low and interval.high < delta:
        return "same"
    if interval.low > 0 and interval.estimate >= delta / 2:
        return "slower"
    if interval.high < 0 and interval.estimate <= -delta / 2:
        return "faster"
    return "undecided"
