"""stats: the exact signed-rank distribution, the Hodges-Lehmann interval and the verdicts."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from tensorscope.remeasure.stats import Interval, hodges_lehmann, signed_rank_cdf, verdict


@pytest.mark.parametrize("n", [1, 2, 5, 8, 10])
def test_signed_rank_distribution_matches_enumeration(n: int) -> None:
    # every sign pattern of ranks 1..n is equally likely under the null
    counts = np.zeros(n * (n + 1) // 2 + 1)
    for signs in itertools.product((0, 1), repeat=n):
        counts[sum(r for r, s in zip(range(1, n + 1), signs, strict=True) if s)] += 1
    assert np.allclose(signed_rank_cdf(n), np.cumsum(counts) / 2**n)


def test_estimate_is_the_median_of_walsh_averages() -> None:
    d = [0.3, -0.1, 0.05, 0.2, 0.02, 0.4, -0.05]
    walsh = [(x + y) / 2 for x, y in itertools.combinations_with_replacement(d, 2)]
    assert hodges_lehmann(d, 0.9).estimate == pytest.approx(float(np.median(walsh)))


def test_widest_interval_with_ten_pairs_is_min_to_max() -> None:
    # P(T+ <= 0) = 1/1024 <= 0.001 < P(T+ <= 1) = 2/1024: drop one Walsh average on each side
    d = np.linspace(-0.02, 0.07, 10)
    iv = hodges_lehmann(d, 0.998)
    assert (iv.low, iv.high) == (pytest.approx(-0.02), pytest.approx(0.07))


def test_too_few_pairs_for_the_confidence_give_an_open_interval() -> None:
    iv = hodges_lehmann([0.1, 0.2, 0.3, 0.4], 0.99)  # best possible with 4 pairs: 87.5%
    assert iv.low == -math.inf and iv.high == math.inf
    assert verdict(iv, 0.05) == "undecided"


def test_interval_covers_the_centre_as_often_as_promised() -> None:
    rng = np.random.default_rng(7)
    reps, n, conf = 2000, 12, 0.95
    hits = 0
    for _ in range(reps):
        iv = hodges_lehmann(rng.standard_t(3, n) * 0.05 + 0.01, conf)  # heavy tails, centre 0.01
        hits += iv.low < 0.01 < iv.high
    # exact coverage is at least 95% (discrete); 2000 draws put the estimate within about +-1.2%
    assert 0.94 <= hits / reps <= 0.975


def test_bad_input_is_named() -> None:
    with pytest.raises(ValueError, match="finite"):
        hodges_lehmann([0.1, math.inf])
    with pytest.raises(ValueError, match="confidence"):
        hodges_lehmann([0.1], 1.0)


def _iv(ratio: float, low: float, high: float) -> Interval:
    return Interval(math.log(ratio), math.log(low), math.log(high), 20, 0.998)


@pytest.mark.parametrize(
    ("interval", "expected"),
    [
        (_iv(1.00, 0.98, 1.02), "same"),  # within +-5%
        (_iv(1.02, 1.01, 1.03), "same"),  # real but smaller than the threshold
        (_iv(1.10, 1.06, 1.15), "slower"),
        (_iv(1.05, 1.01, 1.09), "slower"),  # above 1, estimate beyond half the threshold
        (_iv(1.015, 1.001, 1.06), "undecided"),  # above 1 but the estimate is tiny and the interval wide
        (_iv(0.90, 0.85, 0.95), "faster"),
        (_iv(1.00, 0.93, 1.08), "undecided"),  # straddles the threshold
    ],
)
def test_verdicts(interval: Interval, expected: str) -> None:
    assert verdict(interval, 0.05) == expected
