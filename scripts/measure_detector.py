"""Measure the step detector's accuracy against asv's own step detection on synthetic histories.

Histories have steps of known size (5, 10, 20, 50%) at known commits, up or down, plus series
with slow drift, with one-off outliers and with no change at all. Their noise is taken, series by
series, from a real asv results directory (``--noise-from``):

* within a run: the benchmark's own raw samples (their log deviations from the run's median are
  resampled, so skew and heavy tails are kept), or, without raw samples, a normal spread from
  the quartiles; as many samples per commit as the real runs took;
* between runs: what the series' successive commits vary beyond the within-run spread (series
  with >= 4 commits); series with fewer commits get the median between/within ratio of the
  series that have them, from the same directory or, when it has none, from the shared sets.
  A history also holds real code changes, so this overstates the noise; ``--same-code A B ...``
  instead measures it where nothing changed: on runs of commits whose benchmarked code is the
  same (e.g. two full runs at commits that differ only in documentation), per backend, as
  the spread of the differences between those runs beyond what their own samples explain,
  and gives every series its backend's ratio; the within-run noise then comes from those
  runs too.

``--env PATTERN`` keeps the runs of matching environments only (e.g. ``THREADS1``).

Each synthetic commit's value and 99% CI are computed from its samples with asv's own
statistics (``asv_runner.statistics.compute_stats``), so both detectors see what asv would store.

    .venv/bin/python scripts/measure_detector.py [--noise-from DIR ... | --noise-cv 0.03 [--samples 10]]
        [--profile full] [--env PATTERN] [--between-ratio R | --same-code COMMIT COMMIT ...]
        [--series 400] [--commits 40] [--seed 1]

Default noise source: the repo's ``results/`` when it holds runs, else the shared sets
(``../shared/asv-results/{own-example-tinypkg,numpy-bench}/results``).

Reports recall by step size (a hit = a step in the right direction whose commit range holds the
true step commit, +-1 commit), how often a step history also gets a spurious step (a step
elsewhere or in the wrong direction), the mean width of the reported commit ranges, false alarms
per series on no-change series, and how often drift and outlier series produce a step.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from asv_runner.statistics import compute_stats

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tensorscope.analysis.regressions import DEFAULT_ALPHA, Step, asv_steps, find_steps
from tensorscope.results import load_results

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "asv-results"
DEFAULT_SETS = ("own-example-tinypkg", "numpy-bench")
_IQR_SIGMA = 1.349  # interquartile range of a unit normal


def _median_spread(sigma_within: float, n_samples: float) -> float:
    """Sigma of a run's median (log units) from its samples' sigma and count (1.2533: the median's efficiency)."""
    return 1.2533 * sigma_within / math.sqrt(n_samples)


def _iqr_sigma(residuals: np.ndarray) -> float:
    """Normal-equivalent sigma of ``residuals`` from their interquartile range."""
    q25, q75 = np.percentile(residuals, [25, 75])
    return float(q75 - q25) / _IQR_SIGMA


@dataclass
class Noise:
    """One real series' noise: within-run log deviations (or sigma), samples per run, between-run sigma."""

    residuals: np.ndarray | None  # log(sample / run median), pooled over the series' runs
    sigma_within: float
    n_samples: int
    sigma_between: float  # NaN until known
    backend: str = "-"

    def median_spread(self) -> float:
        """Sigma of one run's median (log units), from the within-run spread."""
        return _median_spread(self.sigma_within, self.n_samples)

    def commit_sigma(self) -> float:
        """Sigma of one commit's value (log units): between-run plus the median's own spread."""
        return math.hypot(self.sigma_between, self.median_spread())


def _timed_runs(root: Path, profile: str | None = None, env: str | None = None, commits: list[str] | None = None) -> pd.DataFrame:
    """The ok timing rows of ``root``; only runs of ``profile`` (by provenance), of envs matching ``env``, at ``commits``."""
    rs = load_results(root)
    t = rs.results
    t = t[(t.status == "ok") & (t.type == "time") & (t.value > 0)]
    if profile is not None:
        # only the runs our provenance says that profile produced (others are another noise)
        column = "env.TENSORSCOPE_PROFILE"
        prov = rs.provenance
        runs = prov[prov[column] == profile] if column in prov.columns else prov.iloc[0:0]
        keys = set(zip(runs["machine"], runs["commit"], runs["env"], strict=True))
        t = t[[k in keys for k in zip(t["machine"], t["commit"], t["env"], strict=True)]]
    if env is not None:
        t = t[t["env"].astype(str).str.contains(env, regex=True)]
    if commits is not None:
        t = t[[any(str(c).startswith(p) for p in commits) for c in t["commit"]]]
    return t


def _within(samples: object) -> np.ndarray | None:
    """log(sample / median) of one run's raw samples (None without 3 or more)."""
    if isinstance(samples, list | np.ndarray) and len(samples) >= 3:
        s = np.asarray(samples, dtype=float)
        s = s[np.isfinite(s) & (s > 0)]
        if len(s) >= 3:
            return np.log(s / np.median(s))
    return None


def _backend(g: pd.DataFrame) -> str:
    return str(g["param_backend"].iloc[0]).strip("'") if "param_backend" in g.columns else "-"


def _series_noise(root: Path, profile: str | None = None, env: str | None = None, commits: list[str] | None = None) -> list[Noise]:
    t = _timed_runs(root, profile, env, commits)
    out: list[Noise] = []
    for _, g in t.groupby(["series", "version_segment"], observed=True, sort=False):
        g = g.sort_values("commit_order")
        res = [r for r in map(_within, g["samples"]) if r is not None]
        if res:
            pool = np.concatenate(res)
            sw, n, residuals = _iqr_sigma(pool), int(np.median([len(r) for r in res])), pool
        else:
            iqr = ((g["q_75"] - g["q_25"]) / g["value"]).to_numpy(dtype=float)
            iqr = iqr[np.isfinite(iqr) & (iqr >= 0)]
            rep = g["repeat"].to_numpy(dtype=float)
            rep = rep[np.isfinite(rep) & (rep >= 1)]
            sw = float(np.median(iqr)) / _IQR_SIGMA if len(iqr) else 0.0
            n, residuals = (int(np.median(rep)) if len(rep) else 10), None
        sb = math.nan
        if len(g) >= 4:
            d = np.abs(np.diff(np.log(g["value"].to_numpy(dtype=float))))
            total = float(np.median(d)) / 0.6745 / math.sqrt(2.0)
            sb = math.sqrt(max(total * total - _median_spread(sw, n) ** 2, 0.0))
        out.append(Noise(residuals, sw, max(n, 1), sb, _backend(g)))
    return out


def same_code_ratios(
    roots: list[Path], commits: list[str], profile: str | None = None, env: str | None = None
) -> tuple[dict[str, float], dict[str, int]]:
    """Between-run sigma / spread of a run's median, per backend, from runs of the same code at ``commits``.

    For every series run at two of those commits (same benchmark version), the difference of the
    two log values is divided by what the two runs' own samples explain
    (``sqrt(s_a^2 + s_b^2)``, ``s`` = 1.2533 sigma_within / sqrt(n) each); with a between-run
    part ``r * s`` the result spreads as ``sqrt(1 + r^2)``, so ``r`` follows from its robust
    spread (MAD). Returns (ratio, pairs) per backend and ``"all"``.
    """
    z_by: dict[str, list[float]] = {}
    for root in roots:
        t = _timed_runs(root, profile, env, commits)
        for _, g in t.groupby(["series", "version_segment"], observed=True, sort=False):
            if g["commit"].nunique() < 2:
                continue
            g = g.sort_values("commit_order").drop_duplicates("commit")
            spreads = []
            for samples, q25, q75, value, repeat in zip(g["samples"], g["q_25"], g["q_75"], g["value"], g["repeat"], strict=True):
                r = _within(samples)
                if r is not None:
                    spreads.append(_median_spread(_iqr_sigma(r), len(r)))
                else:  # quartiles only: the sample count asv recorded (10, the full profile's most, if none)
                    n = repeat if repeat == repeat and repeat >= 1 else 10
                    spreads.append(math.nan if not value else _median_spread(float(q75 - q25) / _IQR_SIGMA / value, n))
            logs = np.log(g["value"].to_numpy(dtype=float))
            for i in range(len(logs) - 1):
                scale = math.hypot(spreads[i], spreads[i + 1])
                if scale > 0 and math.isfinite(scale):
                    z = float((logs[i + 1] - logs[i]) / scale)
                    z_by.setdefault(_backend(g), []).append(z)
                    z_by.setdefault("all", []).append(z)
    ratios, pairs = {}, {}
    for key, zs in z_by.items():
        spread = float(np.median(np.abs(zs))) / 0.6745
        ratios[key], pairs[key] = math.sqrt(max(spread * spread - 1.0, 0.0)), len(zs)
    return ratios, pairs


def _between_ratio(rows: list[Noise]) -> float:
    """Median of sigma_between / (spread of one run's median) over the series that have both."""
    r = [x.sigma_between / x.median_spread() for x in rows if x.sigma_between == x.sigma_between and x.sigma_within > 0]
    return float(np.median(r)) if r else math.nan


def real_noise(
    sets: list[Path], between_ratio: float | None = None, rows: list[Noise] | None = None, ratio_source: str = "--between-ratio"
) -> tuple[list[Noise], str]:
    """Noise rows of every timed series of ``sets`` (or ``rows``), between-run sigma filled in; and how it was."""
    rows = rows if rows is not None else [r for root in sets for r in _series_noise(root)]
    missing = [r for r in rows if r.sigma_between != r.sigma_between]
    how = f"between-run spread measured on {len(rows) - len(missing)} of {len(rows)} series"
    if missing:
        ratio, source = (between_ratio, ratio_source) if between_ratio is not None else (_between_ratio(rows), "the same results")
        if ratio != ratio:
            shared = [SHARED / s / "results" for s in DEFAULT_SETS if (SHARED / s / "results").is_dir()]
            ratio, source = _between_ratio([r for root in shared for r in _series_noise(root)]), "the shared sets"
        if ratio != ratio:
            ratio, source = 1.0, "a default"
        for r in missing:
            r.sigma_between = ratio * r.median_spread()
        how += f"; the other {len(missing)} get {ratio:.2f} x their run median's spread (ratio from {source})"
    return rows or [Noise(None, 0.01, 10, 0.01)], how


def default_noise_dirs() -> list[Path]:
    """The repo's results/ when it holds runs, else the shared sets."""
    own = REPO / "results"
    if own.is_dir() and any(p.name != "machine.json" for p in own.glob("*/*.json")):
        return [own]
    return [SHARED / s / "results" for s in DEFAULT_SETS]


def history(
    rng: np.random.Generator, noise: Noise, n: int, kind: str, size: float = 0.0, at: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """values, ci_a, ci_b for one synthetic series (asv's statistics of simulated samples)."""
    level = np.full(n, 1e-4)
    if kind == "step":
        level[at:] *= size
    elif kind == "drift":
        level *= np.exp(np.linspace(0.0, math.log(1.15), n))  # +15% over the whole history
    m = noise.n_samples
    # resampled real deviations keep the samples' skew and tails; without them, a normal spread
    within = rng.choice(noise.residuals, (n, m)) if noise.residuals is not None else rng.normal(0.0, noise.sigma_within, (n, m))
    samples = level[:, None] * np.exp(rng.normal(0.0, noise.sigma_between, (n, 1)) + within)
    values, a, b = np.empty(n), np.empty(n), np.empty(n)
    for i in range(n):
        v, st = compute_stats(samples[i].tolist(), 1)
        values[i], a[i], b[i] = v, st["ci_99_a"], st["ci_99_b"]
    if kind == "outlier":
        k = rng.integers(1, n - 1)
        f = rng.uniform(1.3, 3.0)
        values[k] *= f
        a[k] *= f
        b[k] *= f
    return values, a, b


def hit(steps: list[Step], at: int, up: bool) -> bool:
    return any(s.before - 1 <= at - 1 and s.after + 1 >= at and (s.value_after > s.value_before) == up for s in steps)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--series", type=int, default=400, help="series per row (default 400)")
    ap.add_argument("--commits", type=int, default=40, help="commits per history (default 40)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--alpha", type=float, default=DEFAULT_ALPHA)
    ap.add_argument("--noise-from", "--sets", dest="sets", nargs="+", type=Path, default=None, help="asv results directories")
    ap.add_argument(
        "--noise-cv",
        type=float,
        default=None,
        metavar="CV",
        help="instead of real results: every series has this within-run sample CV (e.g. 0.03, the full profile's target)",
    )
    ap.add_argument("--samples", type=int, default=10, help="samples per run with --noise-cv (default 10, the full profile's most)")
    ap.add_argument(
        "--between-ratio",
        type=float,
        default=None,
        help="between-run sigma / spread of a run's median, for series whose history cannot tell (default: measured)",
    )
    ap.add_argument(
        "--same-code",
        nargs="+",
        metavar="COMMIT",
        default=None,
        help="measure the between-run spread, per backend, on the runs of these commits (whose benchmarked code is "
        "the same) instead of from histories; every series gets its backend's ratio",
    )
    ap.add_argument("--env", default=None, metavar="PATTERN", help="only runs of asv environments matching this regex (e.g. THREADS1)")
    ap.add_argument(
        "--profile",
        default=None,
        help="model the within-run noise on the runs of this tensorscope profile only (e.g. full); "
        "the between-run ratio then comes from all runs of the same directories",
    )
    args = ap.parse_args(argv)
    if args.noise_cv is not None:
        sets: list[Path] = []
        noise, how = real_noise([], args.between_ratio, [Noise(None, args.noise_cv, args.samples, math.nan)])
        print(f"noise model: within-run sample CV {args.noise_cv:.1%}, {args.samples} samples per run")
    else:
        sets = [p for p in (args.sets or default_noise_dirs()) if p.is_dir()]
        if not sets:
            print("no results directory found for the noise model", file=sys.stderr)
            return 2
        if args.same_code:
            if args.between_ratio is not None:
                print("--same-code and --between-ratio are alternatives: give one", file=sys.stderr)
                return 2
            ratios, pairs = same_code_ratios(sets, args.same_code, args.profile, args.env)
            if not ratios:
                print(f"no series was run at two of {' '.join(args.same_code)} (with --profile/--env as given)", file=sys.stderr)
                return 2
            # the noise model is that of those runs: within-run spread from them too
            rows = [r for root in sets for r in _series_noise(root, args.profile, args.env, args.same_code)]
            for r in rows:
                ratio = ratios.get(r.backend, ratios["all"])
                r.sigma_between = ratio * r.median_spread()
            noise = rows
            how = (
                f"between-run spread measured on runs of the same code at {' '.join(args.same_code)}, per backend: "
                + ", ".join(f"{k} {v:.2f} x ({pairs[k]} pairs)" for k, v in sorted(ratios.items()))
                + " the run median's spread; within-run noise from the same runs"
            )
        elif args.profile is None and args.env is None:
            noise, how = real_noise(sets, args.between_ratio)
        else:
            ratio = args.between_ratio
            if ratio is None:
                ratio = _between_ratio([r for root in sets for r in _series_noise(root)])
            rows = [r for root in sets for r in _series_noise(root, args.profile, args.env)]
            if not rows:
                print(f"no runs of profile {args.profile!r} / env {args.env!r} in {', '.join(map(str, sets))}", file=sys.stderr)
                return 2
            source = "--between-ratio" if args.between_ratio is not None else "all runs of the same results"
            noise, how = real_noise([], None if ratio != ratio else ratio, rows, source)
            how += f" (within-run noise from the {args.profile!r} profile's runs only)"
        print(f"noise model: {len(noise)} real timed series from {', '.join(str(p) for p in sets)}")
    print(f"  {how}")
    sw = np.array([r.sigma_within for r in noise])
    sb = np.array([r.sigma_between for r in noise])
    ns = np.array([r.n_samples for r in noise])
    q = lambda x: " ".join(f"{v:.3f}" for v in np.percentile(x, [10, 50, 90]))  # noqa: E731 - local formatter
    print(f"  p10/p50/p90 within-run sigma: {q(sw)}; between-run sigma: {q(sb)}; samples per run: {q(ns)}")
    rng = np.random.default_rng(args.seed)
    n = args.commits
    bands = [(0.0, 0.02, "< 2%"), (0.02, 0.05, "2-5%"), (0.05, 0.10, "5-10%"), (0.10, math.inf, ">= 10%")]
    totals = np.array([r.commit_sigma() for r in noise])
    shares = [float(np.mean((totals >= lo) & (totals < hi))) for lo, hi, _ in bands]
    print("  per-commit noise bands (share of real series): " + ", ".join(f"{b[2]}: {sh:.0%}" for b, sh in zip(bands, shares, strict=True)))
    kinds = [
        ("step 5%", "step", 0.05),
        ("step 10%", "step", 0.10),
        ("step 20%", "step", 0.20),
        ("step 50%", "step", 0.50),
        ("no change", "flat", 0.0),
        ("drift +15%", "drift", 0.0),
        ("one outlier", "outlier", 0.0),
    ]
    # result[label][band] = [ours, asv, extra_ours, extra_asv, count, range_ours, range_asv]
    result: dict[str, dict[str, list[float]]] = {k[0]: {b[2]: [0, 0, 0, 0, 0, 0, 0] for b in bands} for k in kinds}
    t_ours = t_asv = 0.0
    calls = 0
    for label, kind, size in kinds:
        for _ in range(args.series):
            row = noise[int(rng.integers(len(noise)))]
            band = next(b[2] for b in bands if b[0] <= row.commit_sigma() < b[1])
            up = bool(rng.integers(2))
            at = int(rng.integers(n // 4, 3 * n // 4))
            factor = (1 + size) if up else 1 / (1 + size)
            values, a, b = history(rng, row, n, kind, factor, at)
            t0 = time.perf_counter()
            s1 = find_steps(values, ci_a=a, ci_b=b, alpha=args.alpha)
            t1 = time.perf_counter()
            s2 = asv_steps(values, ci_a=a, ci_b=b)
            t2 = time.perf_counter()
            t_ours += t1 - t0
            t_asv += t2 - t1
            calls += 1
            cell = result[label][band]
            cell[4] += 1
            if kind == "step":
                h1, h2 = hit(s1, at, up), hit(s2, at, up)
                cell[0] += h1
                cell[1] += h2
                cell[2] += len(s1) > int(h1)
                cell[3] += len(s2) > int(h2)
                cell[5] += sum(x.after - x.before for x in s1 if hit([x], at, up))
                cell[6] += sum(x.after - x.before for x in s2 if hit([x], at, up))
            else:
                cell[0] += bool(s1)
                cell[1] += bool(s2)

    def pct(x: float, c: float) -> str:
        return f"{x / c:.1%}" if c else "-"

    print(f"\n{args.series} series per row (noise drawn from the real series), {n} commits each, alpha={args.alpha}")
    print("tensorscope / asv; recall = step found at the right commit (+-1) in the right direction\n")
    print("| history | measure | all | " + " | ".join(f"noise {b[2]}" for b in bands) + " |")
    print("|---|---|---|" + "---|" * len(bands))
    for label, kind, _ in kinds:
        cells = result[label]
        tot = [sum(cells[b[2]][k] for b in bands) for k in range(7)]
        what = "recall" if kind == "step" else ("false alarms" if kind in ("flat", "outlier") else "flagged")
        line = f"| {label} | {what} | {pct(tot[0], tot[4])} / {pct(tot[1], tot[4])} | "
        line += " | ".join(
            f"{pct(cells[b[2]][0], cells[b[2]][4])} / {pct(cells[b[2]][1], cells[b[2]][4])} (n={cells[b[2]][4]})" for b in bands
        )
        print(line + " |")
        if kind == "step":
            print(
                f"| {label} | extra spurious step | {pct(tot[2], tot[4])} / {pct(tot[3], tot[4])} | " + " | ".join("" for _ in bands) + " |"
            )
            width = f"{tot[5] / tot[0]:.2f} / {tot[6] / tot[1]:.2f}" if tot[0] and tot[1] else "-"
            print(f"| {label} | commits per found range | {width} | " + " | ".join("" for _ in bands) + " |")
    print(f"\ntime per series: tensorscope {t_ours / calls * 1e3:.2f} ms, asv {t_asv / calls * 1e3:.2f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
