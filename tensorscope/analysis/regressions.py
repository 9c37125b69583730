"""Step changes (regressions and improvements) in every benchmark series.

Public API
==========

``detect_changes(table, *, alpha=1e-3, min_change=0.0, min_points=2, direction=None) -> DataFrame``
    Every significant step in every ``(series, version_segment)`` of the tidy table (ok rows only;
    a benchmark version change always starts a new segment, so old and new code are never compared).
    One row per step, columns:

    series, machine, env, benchmark, params, unit, version_segment,
    commit_before, commit_after   the commit range where it happened: last commit surely at the old
                                  level and first commit surely at the new one. Commits in between were
                                  not measured, or the noise cannot tell which of them made the step
                                  (99% confidence set of its position): bisect within the range;
    order_before, order_after, date_after,
    value_before, value_after     medians of the two levels;
    ratio                         value_after / value_before;
    change                        value_after - value_before (in ``unit``);
    better                        'lower' | 'higher' (see ``direction``);
    kind                          'regression' | 'improvement';
    factor                        how many times worse (>1) or better (<1) - ratio for lower-is-better,
                                  1/ratio for higher-is-better;
    pvalue, confidence            two-sided p-value of the step against the series' own noise, 1 - pvalue;
    noise                         relative noise level (sigma of log value) used for the test;
    n_before, n_after             points on each level.

``regressions(table, *, threshold=0.05, since=None, **kw)`` / ``improvements(...)``
    ``detect_changes`` filtered to one kind with ``|factor - 1| >= threshold`` and, with ``since``
    (a commit hash or prefix, or a commit_order), to steps after that commit.

``latest_regressions(table, **kw)``
    Regressions still in effect at each series' newest point (no later step back).

``find_steps(values, *, ci_a=None, ci_b=None, alpha=..., min_change=..., min_points=...) -> list[Step]``
    The detector on one series (values in commit order; NaN = missing).

``asv_steps(values, *, ci_a=None, ci_b=None, threshold=0.05) -> list[Step]``
    asv's own verdict on the same series (``asv.step_detect.detect_steps`` with asv's CI weights, then
    ``detect_regressions`` on the values and on their reciprocals for improvements), for comparison.

``Direction(higher_units=..., higher_patterns=..., higher_benchmarks=..., lower_benchmarks=...)``
    Which way is better: lower for time and memory; higher for ``track_`` benchmarks whose unit looks
    like a rate (GB/s, GFLOP/s, items/s, ``per second``, speedup, throughput) or whose name is listed.
    Callable as ``direction(benchmark, unit, type) -> 'lower' | 'higher'``.

How it works (measured in ``scripts/measure_detector.py``): least-squares binary segmentation
of the log values proposes level changes generously (penalty 2 sigma^2 log n);
each proposed boundary is then tested as a z-test of the difference between the two levels' medians
against the series' noise (robust: the median absolute successive difference, floored by the
measurements' own 99% CIs in series shorter than 8 points, and raised by one standard error of
that estimate, 1/sqrt(n), so an underestimated noise does not pass for a step),
Bonferroni-corrected for the places the boundary
could have been; the least significant boundary is merged away until every remaining one has
p < ``alpha``, at least ``min_points`` on each side and a change >= ``min_change``. One-off
outliers therefore never form a step. Each surviving step's position is reported as the set of
cuts whose two-level fit is within the 99% point of chi-squared(1) of the best one, so a step
whose exact commit the noise hides is given as a commit range that holds it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from asv import step_detect

__all__ = [
    "CHANGE_COLUMNS",
    "DEFAULT_ALPHA",
    "Direction",
    "Step",
    "asv_steps",
    "detect_changes",
    "find_steps",
    "improvements",
    "latest_regressions",
    "regressions",
]

DEFAULT_ALPHA = 1e-3
# sigma of a 99% normal CI half-width
_Z99 = 2.5758293035489004
CHANGE_COLUMNS = [
    "series",
    "machine",
    "env",
    "benchmark",
    "params",
    "unit",
    "version_segment",
    "commit_before",
    "commit_after",
    "order_before",
    "order_after",
    "date_after",
    "value_before",
    "value_after",
    "ratio",
    "change",
    "better",
    "kind",
    "factor",
    "pvalue",
    "confidence",
    "noise",
    "n_before",
    "n_after",
]

_RATE_UNIT = re.compile(
    r"(/\s*s(ec(ond)?)?\b|\bper\s*s(ec(ond)?)?\b|flop|throughput|speedup|bandwidth|\bhz\b|\bfps\b|\bops\b|it/s)", re.IGNORECASE
)


@dataclass(frozen=True)
class Direction:
    """Which direction is better for a benchmark; see the module docstring."""

    higher_units: Sequence[str] = ()
    higher_patterns: Sequence[str] = ()
    higher_benchmarks: Sequence[str] = ()
    lower_benchmarks: Sequence[str] = ()
    rate_units: bool = True

    def __call__(self, benchmark: str, unit: str | None, btype: str | None = None) -> str:
        if benchmark in self.lower_benchmarks:
            return "lower"
        if benchmark in self.higher_benchmarks or any(re.search(p, benchmark) for p in self.higher_patterns):
            return "higher"
        if btype not in (None, "track") or benchmark.rsplit(".", 1)[-1].startswith(("time", "mem_", "peakmem")):
            return "lower"
        unit = unit or ""
        if unit in self.higher_units or (self.rate_units and _RATE_UNIT.search(unit)):
            return "higher"
        return "lower"


DEFAULT_DIRECTION = Direction()


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
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float:
        return self.value_after / self.value_before if self.value_before else math.inf


# from this many points on, the series' own successive differences estimate its noise; the
# measurements' 99% CIs only floor it below that (or when the differences are all zero).
# asv's CI of a median from 5-10 samples spans nearly the whole sample range, so with
# heavy-tailed samples it overstates a commit's noise several times: as a floor on every
# series it cost recall (scripts/measure_detector.py --profile full --between-ratio 1:
# 10% steps found in 35.8% of series with it, 42.8% without, asv 37.0%; with 2000 series
# per row, 43.1% vs asv 34.2%, false alarms on no-change series 0.4% vs asv 0.9%).
_TRUST_SPREAD_FROM = 8


def _noise(logy: np.ndarray, rel_ci: np.ndarray | None) -> float:
    """Robust sigma of one point's log value: successive-difference MAD, floored by the CIs in short series."""
    sigma = 0.0
    if len(logy) >= 3:
        d = np.abs(np.diff(logy))
        sigma = float(np.median(d)) / 0.6744897501960817 / math.sqrt(2.0)
    if rel_ci is not None and (len(logy) < _TRUST_SPREAD_FROM or sigma == 0.0):
        finite = rel_ci[np.isfinite(rel_ci) & (rel_ci > 0)]
        if len(finite):
            sigma = max(sigma, float(np.median(finite)) / _Z99)
    # a robust scale from n points is itself uncertain by about 1/sqrt(n) (relative): testing
    # against an estimate one standard error high keeps the false-alarm rate at alpha
    # instead of letting an underestimated sigma pass noise for steps
    return max(sigma * (1.0 + 1.0 / math.sqrt(len(logy))), 1e-9)


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


_PROPOSAL_PENALTY = 2.0
# 99% point of chi-squared with one degree of freedom: the step location's confidence set
_LOCATION_CHI2 = 6.6349


def _binary_segmentation(y: np.ndarray, pen: float) -> list[int]:
    """Split points proposed by least-squares binary segmentation (mean shifts), generously.

    Vectorised with cumulative sums (about 50x faster than ``ruptures.Binseg`` on 40 points,
    same proposals); the significance test that follows decides which proposals stand.
    """
    out: list[int] = []
    todo = [(0, len(y))]
    while todo:
        lo, hi = todo.pop()
        n = hi - lo
        if n < 2:
            continue
        seg = y[lo:hi]
        c = np.cumsum(seg)
        total = c[-1]
        k = np.arange(1, n)
        left = c[:-1]
        gain = left * left / k + (total - left) ** 2 / (n - k) - total * total / n
        best = int(np.argmax(gain))
        if gain[best] <= pen:
            continue
        cut = lo + best + 1
        out.append(cut)
        todo += [(lo, cut), (cut, hi)]
    return sorted(out)


def _plausible_cuts(seg: np.ndarray, sigma: float, cut: int) -> tuple[int, int]:
    """(first, last) cut positions in ``seg`` whose fit is within the location's 99% confidence of the best one.

    A cut at ``j`` puts ``seg[:j]`` on the old level and ``seg[j:]`` on the new one; its
    two-level sum of squares exceeds the best cut's by ``delta``; cuts with
    ``delta / sigma^2`` below the 99% point of chi-squared(1) are kept, so a step
    whose position noise cannot tell is reported over the commits it may have
    happened in (as a range to bisect), never at one arbitrary commit.
    """
    n = len(seg)
    c = np.cumsum(seg)
    total = c[-1]
    k = np.arange(1, n)
    left = c[:-1]
    gain = left * left / k + (total - left) ** 2 / (n - k)
    ok = np.flatnonzero(gain.max() - gain <= _LOCATION_CHI2 * sigma * sigma)
    return min(int(ok[0]) + 1, cut), max(int(ok[-1]) + 1, cut)


def _conservative(seg: np.ndarray, other: float) -> tuple[float, float]:
    """(level, spread factor) of a segment for the step test; see find_steps."""
    if len(seg) >= 5:
        return float(np.median(seg)), 1.2533
    nearest = float(seg[int(np.argmin(np.abs(seg - other)))])
    return nearest, math.sqrt(len(seg))  # one point: sigma itself


def find_steps(
    values: Sequence[float] | np.ndarray,
    *,
    ci_a: Sequence[float] | np.ndarray | None = None,
    ci_b: Sequence[float] | np.ndarray | None = None,
    alpha: float = DEFAULT_ALPHA,
    min_change: float = 0.0,
    min_points: int = 2,
) -> list[Step]:
    """Significant level changes in one series (values in commit order, NaN/<=0 = missing)."""
    y_all = np.asarray(values, dtype=float)
    ok = np.isfinite(y_all) & (y_all > 0)
    idx = np.flatnonzero(ok)
    if len(idx) < 2 * min_points:
        return []
    y = y_all[idx]
    logy = np.log(y)
    a = None if ci_a is None else np.asarray(ci_a, dtype=float)[idx]
    b = None if ci_b is None else np.asarray(ci_b, dtype=float)[idx]
    rel_ci = None if a is None or b is None else (b - a) / 2.0 / y
    sigma = _noise(logy, rel_ci)
    if float(np.max(logy) - np.min(logy)) < max(math.log1p(min_change), 2.0 * sigma) and len(idx) > 2:
        return []  # everything within noise: nothing to segment
    bounds = _binary_segmentation(logy, pen=_PROPOSAL_PENALTY * sigma * sigma * math.log(len(logy)))
    edges = [0, *bounds, len(y)]
    min_step = math.log1p(min_change) if min_change > 0 else 0.0

    def test(i: int) -> tuple[float, float, float, float]:
        """(p, |log ratio|, left median, right median) of the boundary between segment i and i+1."""
        left = logy[edges[i] : edges[i + 1]]
        right = logy[edges[i + 1] : edges[i + 2]]
        ml, mr = float(np.median(left)), float(np.median(right))
        # short levels (< 5 points) are judged by their point nearest the other level, so a
        # one-off outlier next to a normal point cannot pass for a new level
        tl, fl = _conservative(left, mr)
        tr, fr = _conservative(right, ml)
        se = sigma * math.sqrt(fl * fl / len(left) + fr * fr / len(right))
        ml_t, mr_t = (tl, tr)
        if (mr - ml) * (mr_t - ml_t) <= 0:
            return 1.0, 0.0, ml, mr
        z = abs(mr_t - ml_t) / se
        # the boundary was chosen as the best of len(left) + len(right) - 1 places: Bonferroni
        p = min(1.0, math.erfc(z / math.sqrt(2.0)) * (len(left) + len(right) - 1))
        return p, abs(mr - ml), ml, mr

    while len(edges) > 2:
        worst, worst_key = -1, (-1.0, 0.0)
        for i in range(len(edges) - 2):
            n_left, n_right = edges[i + 1] - edges[i], edges[i + 2] - edges[i + 1]
            p, d, _, _ = test(i)
            short = n_left < min_points or n_right < min_points
            weak = p >= alpha or d < min_step
            if short or weak:
                key = (2.0 if short else 1.0, p)
                if key > worst_key:
                    worst, worst_key = i, key
        if worst < 0:
            break
        del edges[worst + 1]
    steps = []
    for i in range(len(edges) - 2):
        p, _, ml, mr = test(i)
        first, last = _plausible_cuts(logy[edges[i] : edges[i + 2]], sigma, edges[i + 1] - edges[i])
        steps.append(
            Step(
                before=int(idx[edges[i] + first - 1]),
                after=int(idx[edges[i] + last]),
                value_before=math.exp(ml),
                value_after=math.exp(mr),
                pvalue=p,
                noise=sigma,
                n_before=edges[i + 1] - edges[i],
                n_after=edges[i + 2] - edges[i + 1],
            )
        )
    return steps


def asv_steps(
    values: Sequence[float] | np.ndarray,
    *,
    ci_a: Sequence[float] | np.ndarray | None = None,
    ci_b: Sequence[float] | np.ndarray | None = None,
    threshold: float = 0.05,
) -> list[Step]:
    """asv's own verdicts on one series: regressions (upward steps) and, on 1/values, improvements."""
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


def detect_changes(
    table: pd.DataFrame,
    *,
    alpha: float = DEFAULT_ALPHA,
    min_change: float = 0.0,
    min_points: int = 2,
    direction: Callable[[str, str | None, str | None], str] | None = None,
) -> pd.DataFrame:
    """Every significant step of every series; see the module docstring for the columns."""
    direction = direction or DEFAULT_DIRECTION
    rows: list[dict[str, Any]] = []
    ok = table[(table["status"] == "ok") & (table["value"] > 0)] if "status" in table.columns else table[table["value"] > 0]
    if ok.empty:
        return _empty_changes()
    series_codes = (
        pd.factorize(ok["series"].astype(str))[0]
        if not isinstance(ok["series"].dtype, pd.CategoricalDtype)
        else ok["series"].cat.codes.to_numpy()
    )
    seg = ok["version_segment"].to_numpy() if "version_segment" in ok.columns else np.zeros(len(ok), dtype=np.int64)
    order = ok["commit_order"].to_numpy()
    perm = np.lexsort((order, seg, series_codes))
    sc, sg = np.asarray(series_codes)[perm], seg[perm]
    starts = np.flatnonzero(np.r_[True, (sc[1:] != sc[:-1]) | (sg[1:] != sg[:-1])])
    ends = np.r_[starts[1:], len(perm)]
    values = ok["value"].to_numpy(dtype=float)[perm]
    has_ci = "ci_99_a" in ok.columns
    ci_a = ok["ci_99_a"].to_numpy(dtype=float)[perm] if has_ci else None
    ci_b = ok["ci_99_b"].to_numpy(dtype=float)[perm] if has_ci else None
    need = 2 * min_points
    hits: list[tuple[int, int, list[Step]]] = []
    for lo, hi in zip(starts.tolist(), ends.tolist(), strict=True):
        if hi - lo < need:
            continue
        v = values[lo:hi]
        if float(v.max()) <= float(v.min()) * (1.0 + min_change):
            continue
        steps = find_steps(
            v,
            ci_a=None if ci_a is None else ci_a[lo:hi],
            ci_b=None if ci_b is None else ci_b[lo:hi],
            alpha=alpha,
            min_change=min_change,
            min_points=min_points,
        )
        if steps:
            hits.append((lo, hi, steps))
    if not hits:
        return _empty_changes()
    rows_idx = perm  # positions into ok
    col = {
        c: ok[c].to_numpy()
        for c in ("series", "machine", "env", "benchmark", "params", "unit", "commit", "commit_order")
        if c in ok.columns
    }
    dates = ok["commit_date"].to_numpy() if "commit_date" in ok.columns else np.full(len(ok), None)
    types = ok["type"].to_numpy() if "type" in ok.columns else np.full(len(ok), None)
    for lo, _hi, steps in hits:
        first = rows_idx[lo]
        benchmark, unit = str(col["benchmark"][first]), str(col["unit"][first])
        better = direction(benchmark, unit, None if types[first] is None else str(types[first]))
        for s in steps:
            ib, ia = rows_idx[lo + s.before], rows_idx[lo + s.after]
            ratio = s.ratio
            factor = ratio if better == "lower" else (1.0 / ratio if ratio else math.inf)
            rows.append(
                {
                    "series": str(col["series"][first]),
                    "machine": str(col["machine"][first]),
                    "env": str(col["env"][first]),
                    "benchmark": benchmark,
                    "params": str(col["params"][first]),
                    "unit": unit,
                    "version_segment": int(seg[first]),
                    "commit_before": str(col["commit"][ib]),
                    "commit_after": str(col["commit"][ia]),
                    "order_before": int(col["commit_order"][ib]),
                    "order_after": int(col["commit_order"][ia]),
                    "date_after": dates[ia],
                    "value_before": s.value_before,
                    "value_after": s.value_after,
                    "ratio": ratio,
                    "change": s.value_after - s.value_before,
                    "better": better,
                    "kind": "regression" if factor > 1 else "improvement",
                    "factor": factor,
                    "pvalue": s.pvalue,
                    "confidence": 1.0 - s.pvalue,
                    "noise": s.noise,
                    "n_before": s.n_before,
                    "n_after": s.n_after,
                }
            )
    frame = pd.DataFrame(rows, columns=CHANGE_COLUMNS)
    return frame.sort_values(["order_after", "series"], kind="stable").reset_index(drop=True)


def _empty_changes() -> pd.DataFrame:
    frame = pd.DataFrame({c: pd.Series(dtype="object") for c in CHANGE_COLUMNS})
    for c in ("value_before", "value_after", "ratio", "change", "factor", "pvalue", "confidence", "noise"):
        frame[c] = frame[c].astype(float)
    for c in ("version_segment", "order_before", "order_after", "n_before", "n_after"):
        frame[c] = frame[c].astype("int64")
    return frame


def _since_order(table: pd.DataFrame, since: str | int | None) -> int | None:
    if since is None:
        return None
    if isinstance(since, int | np.integer):
        return int(since)
    commits = table[["commit", "commit_order"]].drop_duplicates()
    hits = commits[commits["commit"].astype(str).str.startswith(str(since))]
    if hits.empty:
        raise KeyError(f"commit {since!r} is not in these results")
    return int(hits["commit_order"].min())


def _filtered(table: pd.DataFrame, kind: str, threshold: float, since: str | int | None, **kw: Any) -> pd.DataFrame:
    changes = detect_changes(table, **kw)
    order = _since_order(table, since)
    keep = (changes["kind"] == kind) & (
        (changes["factor"] - 1.0).abs() >= threshold if kind == "regression" else (1.0 - changes["factor"]) >= threshold / (1 + threshold)
    )
    if order is not None:
        keep &= changes["order_after"] > order
    return changes[keep].reset_index(drop=True)


def regressions(table: pd.DataFrame, *, threshold: float = 0.05, since: str | int | None = None, **kw: Any) -> pd.DataFrame:
    """Steps that made a benchmark worse by at least ``threshold`` (0.05 = 5%), after ``since``."""
    return _filtered(table, "regression", threshold, since, **kw)


def improvements(table: pd.DataFrame, *, threshold: float = 0.05, since: str | int | None = None, **kw: Any) -> pd.DataFrame:
    """Steps that made a benchmark better by at least ``threshold`` (factor <= 1/(1+threshold)), after ``since``."""
    return _filtered(table, "improvement", threshold, since, **kw)


def latest_regressions(table: pd.DataFrame, *, threshold: float = 0.05, **kw: Any) -> pd.DataFrame:
    """Regressions whose level still holds at the newest point of their series (net of later steps)."""
    changes = detect_changes(table, **kw)
    if changes.empty:
        return changes
    keep = []
    for _, g in changes.groupby(["series", "version_segment"], sort=False):
        g = g.sort_values("order_after")
        for i, row in enumerate(g.itertuples()):
            if row.kind != "regression":
                continue
            net = g.iloc[-1]["value_after"] / row.value_before
            net_factor = net if row.better == "lower" else 1.0 / net
            if net_factor - 1.0 >= threshold and i >= 0:
                keep.append(row.Index)
    return changes.loc[keep].reset_index(drop=True)
